#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The Debian packages of `make deb` (build/deb/) install on a system: in the
# test guest (its root is an overlay, so dpkg -i changes nothing on the
# host), `dpkg -i` of xt-colo-dkms and xt-colo-tools has DKMS build
# xt_COLO.ko for the running kernel, that module (the one DKMS installed,
# not the tree's: the harness gives this guest none) loads, the installed
# coloctl creates, shows and deletes an instance, iptables puts a
# -j COLO rule in through the installed libxt_COLO.so, and the man pages
# are found. Each of those is first shown to be absent, so that what passes
# after the install is the packages' doing. Under make check-deb-tools
# (CI) xt-colo-tools alone, with the tree's module (selftests/deb/lib.sh).
#
# The packages stay installed: deb_pair.sh protects a pair with them, and
# deb_purge.sh purges them (selftests/deb/lib.sh). Run by make check-deb
# and make check-deb-tools (selftests/qemu/run --dir selftests/deb); make
# check does not run it.

source "$(dirname "$0")/../lib.sh"

require_root
require_cmd dpkg dpkg-deb dkms modinfo modprobe iptables man ip

source "$(dirname "$0")/lib.sh"

for deb in "${DEBS[@]}"; do
	# shellcheck disable=SC2012 # ls only to show the directory in the message
	[ -f "$deb" ] || fail "expected $deb (make deb), saw: $(ls "$DEBDIR" 2>&1 | tr '\n' ' ')"
done

# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	cleanup_all_ns
	[ -d /sys/module/xt_COLO ] && modprobe -r xt_COLO
}
trap cleanup EXIT

echo "# kernel $KVER, packages $VERSION: ${DEBS[*]##*/}"

# --- before: nothing of it on the system ---------------------------------
for p in "${PACKAGES[@]}"; do
	expect_eq "before: $p not installed" not-installed "$(pkg_state "$p")"
done
if [ "$DEB_DKMS" = 1 ]; then
	expect_eq "before: no xt_COLO registered with DKMS" "" "$(dkms status xt_COLO 2>&1)"
	expect_eq "before: no xt_COLO.ko under /lib/modules/$KVER" "" "$(modules_found)"
	expect_fail "before: modprobe xt_COLO fails" modprobe xt_COLO
else
	expect_eq "before: the tree's xt_COLO.ko the only one under /lib/modules/$KVER" \
		"$TREE_MODULE" "$(modules_found)"
fi
for f in "${FILES[@]}"; do
	expect_fail "before: no $f" test -e "$f"
done
expect_no_match "before: iptables -j COLO -h shows no COLO options" '^COLO target options' \
	"$(iptables -j COLO -h 2>&1)"
expect_fail "before: man -w xt_COLO finds nothing" man -w xt_COLO

# --- install (DKMS builds the module for the running kernel) --------------
# dpkg's output as it comes, each line with the seconds since the start
# (under TCG DKMS's build takes many minutes: this shows where they go).
start=$(date +%s%N)
rc=0
dpkg -i "${DEBS[@]}" 2>&1 | while IFS= read -r line; do
	echo "#   [$(secs_since "$start") s] $line"
done
rc=${PIPESTATUS[0]}
expect_eq "dpkg -i ${PACKAGES[*]} exits 0" 0 "$rc" ||
	fail "the packages did not install"
echo "# dpkg -i took $(secs_since "$start") s"

for p in "${PACKAGES[@]}"; do
	expect_eq "$p installed" installed "$(pkg_state "$p")"
done
for f in "${FILES[@]}"; do
	expect_ok "installed: $f" test -f "$f"
done

built=$(modinfo -n xt_COLO 2>&1)
if [ "$DEB_DKMS" = 1 ]; then
	expect_match "dkms status: xt_COLO/$VERSION installed for $KVER" \
		"^xt_COLO/$VERSION, $KVER, [^:]*: installed" "$(dkms status xt_COLO 2>&1)"
	expect_match "modinfo: the module is DKMS's, under /lib/modules/$KVER/updates/dkms" \
		"^/lib/modules/$KVER/updates/dkms/xt_COLO\.ko(\.[a-z]+)?$" "$built"
	expect_eq "exactly one xt_COLO.ko under /lib/modules/$KVER" "$built" "$(modules_found)"
	expect_eq "the built module's version is kernel/version.h's" "$VERSION" \
		"$(modinfo -F version xt_COLO 2>&1)"
	expect_match "the built module's vermagic is the running kernel's" "^$KVER " \
		"$(modinfo -F vermagic xt_COLO 2>&1)"
else
	expect_eq "modinfo: the module is still the tree's" "$TREE_MODULE" "$built"
fi

# --- the module (DKMS's, or the tree's), and the installed tools ----------
expect_ok "modprobe xt_COLO" modprobe xt_COLO || fail "the module does not load: $OUT"
expect_eq "the loaded module's version" "$VERSION" "$(cat /sys/module/xt_COLO/version 2>&1)"
want=$(readelf -n "$built" 2>/dev/null | sed -n 's/.*Build ID: //p')
expect_eq "the loaded module is $built (GNU build-id)" \
	"$want" "$(colo_build_id /sys/module/xt_COLO/notes/.note.gnu.build-id)"

expect_match "/usr/sbin/coloctl --version" "^coloctl $VERSION " "$(/usr/sbin/coloctl --version 2>&1)"
setup_ns NS
expect_ok "coloctl instance add 7" ip netns exec "$NS" /usr/sbin/coloctl instance add 7 timeout 2000
expect_match "coloctl instance show 7" '^instance 7$' \
	"$(ip netns exec "$NS" /usr/sbin/coloctl instance show 7 2>&1)"
expect_match "coloctl instance show 7: its timeout" '^  timeout: 2000 ms$' \
	"$(ip netns exec "$NS" /usr/sbin/coloctl instance show 7 2>&1)"
expect_match "iptables -j COLO -h shows the installed extension's options" '^COLO target options' \
	"$(iptables -j COLO -h 2>&1)"
expect_ok "iptables -j COLO through the installed libxt_COLO.so" \
	ip netns exec "$NS" iptables -t mangle -A PREROUTING -i colo-pri -j COLO --instance 7 --primary
expect_match "iptables -S prints the rule back" '^-A PREROUTING -i colo-pri -j COLO --instance 7 --primary$' \
	"$(ip netns exec "$NS" iptables -t mangle -S PREROUTING 2>&1)"
expect_match "the instance counts the rule" '^  rules: 1$' \
	"$(ip netns exec "$NS" /usr/sbin/coloctl instance show 7 2>&1)"
expect_ok "iptables -D the rule" \
	ip netns exec "$NS" iptables -t mangle -D PREROUTING -i colo-pri -j COLO --instance 7 --primary
expect_ok "coloctl instance del 7" ip netns exec "$NS" /usr/sbin/coloctl instance del 7
expect_fail "coloctl instance show 7 after del" ip netns exec "$NS" /usr/sbin/coloctl instance show 7
cleanup_all_ns
expect_eq "man -w xt_COLO" /usr/share/man/man8/xt_COLO.8.gz "$(man -w xt_COLO 2>&1)"
expect_eq "man -w coloctl" /usr/share/man/man8/coloctl.8.gz "$(man -w coloctl 2>&1)"
expect_eq "man -w colo-quick" /usr/share/man/man8/colo-quick.8.gz "$(man -w colo-quick 2>&1)"
expect_ok "modprobe -r xt_COLO" busywait 10000 modprobe -r xt_COLO

ktap_finished
