#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# What is held when the instance or its devices change under traffic is
# released or counted, never stranded:
#   1. Failover during a flood the comparator holds (the secondary silent):
#      afterwards nothing is held, and every primary packet seen was
#      released, passed or dropped (the counters add up), while the flood
#      keeps arriving on other CPUs as the state changes.
#   2. The device the secondary's packets came in through is deleted while
#      they are held (they keep a reference to it): the deletion completes
#      at once and they are dropped and counted.

source "$(dirname "$0")/lib/topology.sh"

PORT=5009

colo_require
trap colo_topology_cleanup EXIT
colo_topology_setup || fail "expected the two-host topology to come up"
colo_setup_protection max-queue 65536 timeout 60000 failopen 0 ||
	fail "expected instance $COLO_ID and the rules"
guests_udp_serve $PORT "" "" || fail "expected the UDP servers in both guests"

accounting()
{
	local s
	s=$(colo_stats primary_packets primary_held_packets released released_partial passed primary_dropped primary_duplicates)
	log "$s"
	eval "$(tr ' ' '\n' <<<"$s" | sed 's/^/local st_/')"
	# shellcheck disable=SC2154 # st_*: set by the eval above
	expect_eq "$1: held + released - partial copies + passed + dropped + duplicates = primary packets seen" \
		"$st_primary_packets" \
		"$((st_primary_held_packets + st_released - st_released_partial + st_passed + st_primary_dropped + st_primary_duplicates))"
}

# --- 1. failover in a flood
secondary_silence on || fail "expected the secondary guest's output to be cut"
for i in 0 1 2 3; do
	_bg "$NS_CLIENT" "f$i" python3 "$COLO_TOOLS/colo_udp.py" send --host $PG4 --port $PORT \
		--sport $((44000 + i)) --count 1500 --size 200 --interval-ms 0 --timeout 60
done
# (four python clients start and send slowly in a loaded emulated guest)
expect_ok "flood: the comparator holds the primary's answers" \
	busywait 180000 stat_is primary_held_packets -ge 200
expect_ok "coloctl failover $COLO_ID in the middle of the flood" \
	colo_ctl "$NS_PHOST" failover "$COLO_ID"
for i in 0 1 2 3; do
	bg_wait "f$i" 120000 >/dev/null 2>&1
done
expect_eq "after failover nothing is held" 0 "$(colo_stat primary_held_packets)"
expect_ge "after failover the rest of the flood passed uncompared" 1 "$(colo_stat passed)"
accounting "failover in a flood"
secondary_silence off

# --- 2. the secondary's device goes while its packets are held
colo_reset_primary_instance timeout 60000 failopen 0 ||
	fail "expected instance $COLO_ID re-created"
primary_silence on || fail "expected the primary guest's output to be cut"
on_client python3 "$COLO_TOOLS/colo_udp.py" send --host $PG4 --port $PORT \
	--sport 45000 --count 20 --interval-ms 10 --timeout 2 >/dev/null 2>&1
expect_ok "the secondary's 20 answers are held" \
	busywait 30000 stat_is secondary_held_packets -ge 20
d0=$(colo_stat secondary_dropped)
expect_ok "ip link del cable completes while they are held" \
	timeout 20 ip -n "$NS_PHOST" link del cable
expect_eq "the held secondary packets were dropped with their device" \
	"secondary_held_packets=0 secondary_held_bytes=0" \
	"$(colo_stats secondary_held_packets secondary_held_bytes)"
expect_ge "and counted" $((d0 + 20)) "$(colo_stat secondary_dropped)"
primary_silence off

ktap_finished
