#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Anyone can make a network namespace of their own (unshare -Urn) and be
# CAP_NET_ADMIN in it, so instances there are limited (coloctl(8)):
#   1. An unprivileged user (uid 65534) in a user namespace of their own:
#      max-bytes, max-flows, timeout and fail-open above the caps are
#      refused with EPERM and a message, fail-open 0 (never) too; an
#      instance without settings gets the capped ones.
#   2. All such instances together hold no more than the budget: with
#      userns_budget 16 MiB, two instances of 4 MiB (both sides: 8 MiB
#      each) fit, a third is refused with ENOSPC; deleting one makes room.
#   3. A flood held by a --primary rule in such a namespace stays within the
#      capped max-bytes, counted by what the packets occupy.
#   4. Root in the initial user namespace is not capped.

source "$(dirname "$0")/lib/topology.sh"

colo_require
require_cmd setpriv unshare
PARAMS=/sys/module/xt_COLO/parameters
[ -w $PARAMS/userns_budget ] || fail "expected the module parameter $PARAMS/userns_budget"
budget0=$(cat $PARAMS/userns_budget)
cleanup()
{
	echo "$budget0" >$PARAMS/userns_budget
	cleanup_all_ns
	rm -rf "$COLO_TMP"
}
trap cleanup EXIT
chmod 0755 "$COLO_TMP"

# as_user SCRIPT: run SCRIPT with sh as uid 65534 in a new user and network
# namespace (root there); COLOCTL and COLO_TOOLS are passed on
as_user()
{
	setpriv --reuid 65534 --regid 65534 --clear-groups \
		env COLOCTL="$COLOCTL" COLO_TOOLS="$COLO_TOOLS" PATH="$PATH" \
		unshare -Urn sh -c "$1" 2>&1
}

out=$(as_user 'id -u') ||
	skip "an unprivileged user cannot create a user namespace here: $out"
expect_eq "the unprivileged user is root in its own user namespace" 0 "$out"

# --- 1. caps
refused()
{
	local desc=$1 re=$2 out rc=0
	out=$(as_user "\"\$COLOCTL\" instance add 1 $3") || rc=$?
	if [ $rc -eq 0 ]; then
		ktap_test_fail "$desc: expected a refusal, seen success: $out"
		return
	fi
	expect_match "$desc" "$re" "$out"
}
refused "max-bytes above the cap" "max-bytes.*above the cap for a non-initial user namespace.*Operation not permitted" \
	"max-bytes 1T"
refused "max-flows above the cap" "max-flows.*above the cap.*Operation not permitted" \
	"max-flows 100000"
refused "timeout above the cap" "timeout.*above the cap.*Operation not permitted" \
	"timeout 3600000"
refused "failopen above the cap" "failopen.*above the cap.*Operation not permitted" \
	"failopen 3600000"
refused "failopen 0 (never)" "failopen 0 \(never\) is not allowed in a non-initial user namespace" \
	"failopen 0"
# shellcheck disable=SC2016 # the script is the user's shell's to expand
out=$(as_user '"$COLOCTL" instance add 1 && "$COLOCTL" instance show 1 -j')
log "$out"
expect_match "an instance without settings gets the caps" \
	'"timeout_ms":3000,"max_queue":1024,"max_bytes":4194304,"failopen_ms":10000,"max_flows":4096' \
	"$out"
# shellcheck disable=SC2016 # the script is the user's shell's to expand
out=$(as_user '"$COLOCTL" instance add 1 max-bytes 1M max-flows 10 timeout 500 failopen 2000 &&
	"$COLOCTL" instance show 1 -j')
expect_match "settings within the caps are taken" \
	'"timeout_ms":500,"max_queue":1024,"max_bytes":1048576,"failopen_ms":2000,"max_flows":10' \
	"$out"

# --- 2. the budget: all of a user's instances live in one namespace here
# (namespaces of earlier steps are freed in the background: retried until
# their reservations are back)
echo $((16 << 20)) >$PARAMS/userns_budget
budget()
{
	# shellcheck disable=SC2016 # the script is the user's shell's to expand
	as_user '"$COLOCTL" instance add 1 max-bytes 4M || exit 11
		"$COLOCTL" instance add 2 max-bytes 4M || exit 12
		"$COLOCTL" instance add 3 max-bytes 4M && exit 13
		"$COLOCTL" instance del 2 || exit 14
		"$COLOCTL" instance add 3 max-bytes 4M || exit 15
		echo budget-ok' >"$COLO_TMP/budget.out"
}
expect_ok "budget 16 MiB: two 4 MiB instances fit, a third is refused, deleting one makes room" \
	busywait 30000 budget
log "$(cat "$COLO_TMP/budget.out")"
expect_match "budget 16 MiB: the refusal names the budget" \
	"memory budget of instances in non-initial user namespaces is taken.*No space left" \
	"$(cat "$COLO_TMP/budget.out")"
two()
{
	# shellcheck disable=SC2016 # the script is the user's shell's to expand
	as_user '"$COLOCTL" instance add 1 max-bytes 4M && "$COLOCTL" instance add 2 max-bytes 4M'
}
expect_ok "the budget is given back when the namespace goes" busywait 30000 two
echo "$budget0" >$PARAMS/userns_budget

# --- 3. a flood held in such a namespace stays within the capped max-bytes
# The user's namespace: a veth pair, packets to 10.9.1.1 leave through
# colo_b and come in through colo_a, where a --primary rule holds them (nothing ever
# compares them: no secondary).
# shellcheck disable=SC2016 # the script is the user's shell's to expand
out=$(as_user '
	set -e
	ip link set lo up
	ip link add colo_a type veth peer name colo_b
	ip addr add 10.9.0.2/24 dev colo_b
	ip link set colo_a up; ip link set colo_b up
	ip route add 10.9.1.0/24 dev colo_b
	mac=$(ip -o link show colo_a | sed -n "s|.*link/ether \([0-9a-f:]*\).*|\1|p")
	ip neigh add 10.9.1.1 lladdr "$mac" dev colo_b
	"$COLOCTL" instance add 1 max-queue 65536 failopen 60000 timeout 60000
	iptables -t mangle -A PREROUTING -i colo_a -j COLO --instance 1 --primary
	python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(8000):
    s.sendto(bytes(1400), (\"10.9.1.1\", 9000 + i % 4))
"
	"$COLOCTL" instance show 1 -j
')
log "$(tail -n 1 <<<"$out")"
j=$(tail -n 1 <<<"$out")
echo "$j" >"$COLO_TMP/flood.json"
held=$(_json_get "$COLO_TMP/flood.json" primary_held_bytes)
pkts=$(_json_get "$COLO_TMP/flood.json" primary_held_packets)
dropped=$(_json_get "$COLO_TMP/flood.json" primary_dropped)
expect_le "flood: held memory within the capped max-bytes (4 MiB)" $((4 << 20)) "$held"
expect_ge "flood: the bound was reached (packets dropped)" 1 "$dropped"
expect_ge "flood: each held packet counts at least its 1428 bytes plus its buffer's overhead" \
	$((pkts * (1428 + 256))) "$held"

# --- 4. root in the initial user namespace is not capped
setup_ns NS
expect_ok "root: max-bytes 1T failopen 0 is accepted" \
	ip netns exec "$NS" "$COLOCTL" instance add 7 max-bytes 1T failopen 0 max-flows 1000000
ip netns exec "$NS" "$COLOCTL" instance del 7 >/dev/null 2>&1

ktap_finished
