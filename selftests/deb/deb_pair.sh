#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The installed packages protect a pair as the README's setup page says:
# one config file a host, made from the example the package ships for
# that host's role with only the host's own values changed (Tap, Link,
# the guest's Address and MAC, the helper), and `colo-quick up` on each
# host of the selftests' two-host topology (selftests/lib/topology.sh,
# without protection). Only what the packages installed takes part: their
# colo-quick, the coloctl it finds on PATH, the libxt_COLO.so iptables
# finds, and the module DKMS built (deb_install.sh; under make
# check-deb-tools, the tree's module the harness installed). Then the pair passes
# colo_quick.sh's traffic checks (selftests/lib/quick.sh): a client's
# answers compared and released, a divergence made in the secondary guest
# answered by the helper the primary host's config names, its checkpoint
# sent; and `colo-quick down` on both hosts removes everything `up` added,
# the helper too.
#
# Run by make check-deb and make check-deb-tools after deb_install.sh,
# before deb_purge.sh (selftests/deb/lib.sh).

# the installed coloctl for the checks too (topology.sh would take the
# first on PATH, which the harness makes the tree's)
COLOCTL=/usr/sbin/coloctl
source "$(dirname "$0")/../lib/topology.sh"
source "$(dirname "$0")/../lib/quick.sh"
source "$(dirname "$0")/lib.sh"

PORT=5012
QUICK=/usr/sbin/colo-quick
NAME=guest1	# the examples' name, /etc/colo/guest1.conf

deb_require_installed
# colo_require loads the module and checks it is this file (build-id)
want=$TREE_MODULE
[ "$DEB_DKMS" = 0 ] || want=/lib/modules/$KVER/updates/dkms/xt_COLO.ko
COLO_MODULE=$(modinfo -n xt_COLO 2>&1)
[ "$COLO_MODULE" = "$want" ] || fail "expected the module $want, saw $COLO_MODULE"
colo_require
require_cmd "$QUICK"

# on_quick p|s ARGS...: the installed colo-quick on the primary or the
# secondary host, each host with its own /etc/colo
on_quick()
{
	local ns=$NS_PHOST dir=$COLO_TMP/primary
	[ "$1" = s ] && ns=$NS_SHOST dir=$COLO_TMP/secondary
	shift
	COLO_QUICK_CONFIG_DIR=$dir ip netns exec "$ns" "$QUICK" "$@"
}

# shellcheck disable=SC2317 # run by the EXIT trap
cleanup()
{
	if [ -n "${NS_PHOST:-}" ]; then
		on_quick p down "$NAME" >/dev/null 2>&1
		on_quick s down "$NAME" >/dev/null 2>&1
	fi
	colo_topology_cleanup
}
trap cleanup EXIT

# from_example EXAMPLE OUT KEY=VALUE|-KEY...: OUT is EXAMPLE with the line
# "KEY = ..." of each KEY=VALUE set to VALUE and that of each -KEY
# deleted; a check for each that the example has that line, once, so that
# a change to the examples' keys fails here rather than going unseen
from_example()
{
	local example=$1 out=$2 kv key n
	shift 2
	cp "$example" "$out" || return 1
	for kv in "$@"; do
		key=${kv%%=*}
		key=${key#-}
		n=$(grep -c "^$key = " "$out")
		expect_eq "${example##*/}: one \"$key = \" line to change" 1 "$n" || continue
		if [[ $kv == -* ]]; then
			sed -i "/^$key = /d" "$out"
		else
			sed -i "s|^$key = .*|$key = ${kv#*=}|" "$out"
		fi
	done
	log "${out#"$COLO_TMP"/}: $(diff "$example" "$out" | grep '^[<>]' | tr '\n' ' ')"
}

# state_of p|s: the file colo-quick keeps what up added in (its default
# place: a directory per network namespace under /run/colo-quick)
state_of()
{
	local ns=$NS_PHOST
	[ "$1" = s ] && ns=$NS_SHOST
	echo "/run/colo-quick/net$(ip netns exec "$ns" stat -L -c %i /proc/self/ns/net)/$NAME.state"
}

COLO_TOPOLOGY_BARE=1 colo_topology_setup || fail "expected the bare topology to come up"
bare_p=$(colo_snapshot "$NS_PHOST")
bare_s=$(colo_snapshot "$NS_SHOST")

# --- one config a host, from the installed examples
mkdir -p "$COLO_TMP/primary" "$COLO_TMP/secondary"
colo_quick_helper "$COLO_TMP/do-checkpoint" || fail "expected the helper script"
for f in primary secondary; do
	expect_ok "the package ships $EXAMPLES/$f.conf" test -f "$EXAMPLES/$f.conf" ||
		fail "no example for the $f host"
done
from_example "$EXAMPLES/primary.conf" "$COLO_TMP/primary/$NAME.conf" \
	Tap=ptap Link=cable "Address=$PG4, $PG6" "MAC=$GUESTMAC" \
	"Exec=$COLO_TMP/do-checkpoint"
# (no QEMU here: the secondary host runs no helper)
from_example "$EXAMPLES/secondary.conf" "$COLO_TMP/secondary/$NAME.conf" \
	Tap=stap Link=cable -QMP
# the checks look at the instance the primary's config names
COLO_ID=$(sed -n 's/^Id = //p' "$COLO_TMP/primary/$NAME.conf")
expect_match "the primary's config names an instance" '^[0-9]+$' "$COLO_ID" ||
	fail "no Id in the primary host's config"

# --- up
expect_ok "colo-quick up $NAME on the primary host" on_quick p up "$NAME"
log "$OUT"
expect_ok "colo-quick up $NAME on the secondary host" on_quick s up "$NAME"
log "$OUT"
expect_match "show: up as the primary host's config says" \
	"^$NAME: up \(primary host, instance $COLO_ID\)$" "$(on_quick p show "$NAME" 2>&1)"
expect_match "show: up as the secondary host's config says" \
	"^$NAME: up \(secondary host, instance $COLO_ID\)$" "$(on_quick s show "$NAME" 2>&1)"
expect_match "iptables-save prints the rules back (the installed libxt_COLO.so)" \
	"-j COLO --instance $COLO_ID --secondary$" "$(on_phost iptables-save 2>&1)"
helper=$(sed -n 's/^helper //p' "$(state_of p)" 2>/dev/null | head -n 1)
# (up returns as soon as the helper is started: it may not be coloctl yet)
# shellcheck disable=SC2317 # run by busywait
helper_is()
{
	local exe
	exe=$(readlink "/proc/${helper:-0}/exe" 2>&1)
	echo "pid ${helper:-none}: $exe"
	[ "$exe" = "$1" ]
}
expect_ok "the primary host's helper is the installed coloctl" \
	busywait 10000 helper_is /usr/sbin/coloctl

# --- the pair is protected (the secondary alters its 8th answer)
colo_quick_traffic $PORT

# --- down
expect_ok "colo-quick down $NAME on the primary host" on_quick p down "$NAME"
expect_ok "colo-quick down $NAME on the secondary host" on_quick s down "$NAME"
same_as "primary host: down removed what up added and nothing else" \
	"$bare_p" "$(colo_snapshot "$NS_PHOST")"
same_as "secondary host: down removed what up added and nothing else" \
	"$bare_s" "$(colo_snapshot "$NS_SHOST")"
expect_ok "down stopped the helper (pid ${helper:-none})" \
	busywait 5000 test -n "$helper" -a ! -d "/proc/${helper:-0}"
expect_fail "no state left on the primary host" test -e "$(state_of p)"
expect_fail "no state left on the secondary host" test -e "$(state_of s)"

ktap_finished
