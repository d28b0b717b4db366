#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `dpkg --purge` of xt-colo-tools and xt-colo-dkms takes away everything
# the install brought: the module DKMS built, its DKMS registration, the
# sources, every installed file (selftests/deb/lib.sh's FILES), iptables'
# COLO extension and the man pages. Under make check-deb-tools, of
# xt-colo-tools alone: its files, and the tree's module stays.
#
# Run by make check-deb and make check-deb-tools last, after deb_install.sh
# installed the packages and deb_pair.sh used them (selftests/deb/lib.sh).

source "$(dirname "$0")/../lib.sh"

require_root
require_cmd dpkg dkms modinfo modprobe iptables man

source "$(dirname "$0")/lib.sh"

deb_require_installed

# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	dpkg --purge "${PACKAGES[@]}" >/dev/null 2>&1
}
trap cleanup EXIT

# the module is not in use (deb_pair.sh took its pair down)
if [ -d /sys/module/xt_COLO ]; then
	expect_ok "modprobe -r xt_COLO" busywait 10000 modprobe -r xt_COLO
fi

start=$(date +%s%N)
rc=0
dpkg --purge "${PACKAGES[@]}" 2>&1 | while IFS= read -r line; do
	echo "#   [$(secs_since "$start") s] $line"
done
rc=${PIPESTATUS[0]}
expect_eq "dpkg --purge ${PACKAGES[*]} exits 0" 0 "$rc"
echo "# dpkg --purge took $(secs_since "$start") s"
for p in "${PACKAGES[@]}"; do
	expect_eq "purged: $p" not-installed "$(pkg_state "$p")"
done
if [ "$DEB_DKMS" = 1 ]; then
	expect_eq "purged: no xt_COLO in dkms status" "" "$(dkms status xt_COLO 2>&1)"
	expect_fail "purged: no /var/lib/dkms/xt_COLO" test -e /var/lib/dkms/xt_COLO
	expect_eq "purged: no xt_COLO.ko under /lib/modules/$KVER" "" "$(modules_found)"
	expect_fail "purged: modinfo xt_COLO finds none" modinfo xt_COLO
	expect_fail "purged: no /usr/src/xt_COLO-$VERSION" test -e "/usr/src/xt_COLO-$VERSION"
else
	expect_eq "purged: the tree's xt_COLO.ko still the only one" "$TREE_MODULE" "$(modules_found)"
fi
for f in "${FILES[@]}"; do
	expect_fail "purged: no $f" test -e "$f"
done
expect_no_match "purged: iptables -j COLO -h shows no COLO options" '^COLO target options' \
	"$(iptables -j COLO -h 2>&1)"
expect_fail "purged: man -w xt_COLO finds nothing" man -w xt_COLO

ktap_finished
