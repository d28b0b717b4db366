#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# A large release does not overrun the path's queues. With the secondary
# silent the primary's 3000 answers to one client are all held; one
# checkpoint then lets them go at once. The module releases 64 of them in
# the checkpoint itself and paces the rest from a NAPI context the
# networking core polls with a budget, so the next device's backlog
# (net.core.netdev_max_backlog, 1000) is drained in between: no packet is
# dropped on the way (/proc/net/softnet_stat) and the client gets every
# answer.

source "$(dirname "$0")/lib/topology.sh"

PORT=5008
N=3000

colo_require
rmem0=$(sysctl -n net.core.rmem_default)
backlog0=$(sysctl -n net.core.netdev_max_backlog)
cleanup()
{
	sysctl -qw net.core.rmem_default="$rmem0"
	colo_topology_cleanup
}
trap cleanup EXIT
# the client's socket must not be what drops them
sysctl -qw net.core.rmem_default=$((32 << 20))
expect_eq "the next device's backlog holds 1000 packets" 1000 "$backlog0"
colo_topology_setup || fail "expected the two-host topology to come up"
colo_setup_protection max-queue 4096 timeout 60000 failopen 0 ||
	fail "expected instance $COLO_ID (max-queue 4096) and the rules"
guests_udp_serve $PORT "" "" || fail "expected the UDP servers in both guests"
secondary_silence on || fail "expected the secondary guest's output to be cut"

_bg "$NS_CLIENT" burst python3 "$COLO_TOOLS/colo_udp.py" send --host $PG4 --port $PORT \
	--count $N --size 64 --interval-ms 0 --timeout 300 --progress "$COLO_TMP/burst.progress"
expect_ok "all $N answers are held" busywait 180000 stat_is primary_held_packets -ge $N
expect_eq "the client has none yet" 0 "$(progress_of "$COLO_TMP/burst.progress")"

# softnet_dropped: packets the backlogs of all CPUs dropped so far
softnet_dropped()
{
	local sum=0 d
	# shellcheck disable=SC2013 # one hex number per CPU, no spaces
	for d in $(awk '{ print $2 }' /proc/net/softnet_stat); do
		sum=$((sum + 16#$d))
	done
	echo $sum
}
d0=$(softnet_dropped)
r0=$(colo_stat released)
expect_ok "coloctl checkpoint $COLO_ID releases them" colo_checkpoint
bg_wait burst 120000 >/dev/null 2>&1
log "$(cat "$COLO_TMP/burst.out")"
# (the order is the engine's, proved by the unit tests; here the client's
# own sends may reach the guests out of order when it moves between CPUs)
expect_eq "the client got all $N answers" "$N" \
	"$(sed -n 's/.*"received": \([0-9]*\).*/\1/p' "$COLO_TMP/burst.out")"
expect_eq "released: $N" $N $(($(colo_stat released) - r0))
expect_eq "no packet dropped by a backlog on the way (softnet_stat)" 0 $(($(softnet_dropped) - d0))
expect_eq "nothing held" 0 "$(colo_stat primary_held_packets)"
secondary_silence off

ktap_finished
