#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Flows and the secondary's held packets are bounded and reclaimed:
#   1. `max-flows 8`, 24 clients (one UDP source port each) ask the guests
#      at once: the instance never tracks more than 8 flows, the packets of
#      flows beyond are refused and counted (flows_full, in primary_dropped
#      or secondary_dropped), the kernel log says so, and the full table
#      makes the instance reclaim flows that hold nothing. Flows whose two
#      sides were not both let in diverge (timeout); after a checkpoint a
#      new client's request makes GC reclaim the idle flows, and once the
#      divergence that request may cause is checkpointed, a client asking
#      later gets its answers.
#   2. The primary silent, the secondary answering: its answers are not held
#      for ever. After the timeout they are dropped and counted
#      (secondary_expired), a timeout divergence asks for a checkpoint, and
#      the flows that held only them are freed.

source "$(dirname "$0")/lib/topology.sh"

PORT=5007

colo_require
trap colo_topology_cleanup EXIT
colo_topology_setup || fail "expected the two-host topology to come up"
colo_setup_protection max-flows 8 timeout 1000 failopen 0 ||
	fail "expected instance $COLO_ID (max-flows 8) and the rules"
expect_eq "max-flows is shown" 8 "$(colo_stat max_flows)"
guests_udp_serve $PORT "" "" || fail "expected the UDP servers in both guests"
EV=$COLO_TMP/events
colo_monitor_start "$EV" || fail "expected coloctl monitor -j to subscribe"

# --- 1. the flow bound
nlog0=$(dmesg | grep -c "instance $COLO_ID: flow table full (max-flows 8)")
for i in $(seq 0 23); do
	_bg "$NS_CLIENT" "c$i" python3 "$COLO_TOOLS/colo_udp.py" send --host $PG4 --port $PORT \
		--sport $((41000 + i)) --count 3 --interval-ms 200 --timeout 8 \
		--progress "$COLO_TMP/c$i.progress"
done
# each poll notes the flows tracked (busywait runs it in a subshell)
flows_seen()
{
	colo_stat flows >>"$COLO_TMP/flows.seen" || return 1
	[ "$(colo_stat flows_full)" -gt 0 ] 2>/dev/null
}
# (24 python clients start slowly in an emulated guest)
expect_ok "max-flows 8: packets of flows beyond the bound are refused and counted" \
	busywait 240000 flows_seen
s=$(colo_stats flows flows_full flows_reclaims primary_dropped secondary_dropped)
log "$s"
for i in 1 2 3 4 5 6 7 8 9 10; do
	colo_stat flows >>"$COLO_TMP/flows.seen"
done
expect_le "max-flows 8: never more than 8 flows tracked" 8 \
	"$(sort -n "$COLO_TMP/flows.seen" | tail -n 1)"
nlog()
{
	[ "$(dmesg | grep -c "instance $COLO_ID: flow table full (max-flows 8)")" -gt "$nlog0" ]
}
expect_ok "max-flows 8: the kernel log names the full table" busywait 10000 nlog
expect_ok "max-flows 8: the full table made the instance reclaim idle flows" \
	busywait 20000 stat_is flows_reclaims -ge 1
for i in $(seq 0 23); do
	bg_wait "c$i" 60000 >/dev/null 2>&1 || true
done
flows_full=$(colo_stat flows_full)
pd=$(colo_stats primary_dropped secondary_dropped)
eval "$(tr ' ' '\n' <<<"$pd" | sed 's/^/st_/')"
# shellcheck disable=SC2154 # st_*: set by the eval above
expect_ge "max-flows 8: refused packets are among the dropped ones" "$flows_full" \
	"$((st_primary_dropped + st_secondary_dropped))"
# held packets of half-refused flows go; then the flows hold nothing, and
# a new client's first packet finds the table full, which reclaims them
expect_ok "max-flows 8: coloctl checkpoint $COLO_ID" colo_checkpoint
on_client python3 "$COLO_TOOLS/colo_udp.py" send --host $PG4 --port $PORT \
	--sport 42000 --count 1 --timeout 1 >/dev/null 2>&1
expect_ok "max-flows 8: a new client's request makes room (idle flows reclaimed)" \
	busywait 20000 stat_is flows -lt 8
# That request's two answers may have fallen on both sides of the reclaim:
# one refused, the other let in alone. That is a divergence, which the
# checkpoint helper would answer; so does the test.
expect_ok "max-flows 8: coloctl checkpoint $COLO_ID after the reclaim" colo_checkpoint
expect_ok "max-flows 8: once idle flows are reclaimed a new client gets all its answers" \
	on_client python3 "$COLO_TOOLS/colo_udp.py" send --host $PG4 --port $PORT \
		--sport 42001 --count 3 --interval-ms 100 --timeout 5
expect_le "max-flows 8: still at most 8 flows" 8 "$(colo_stat flows)"

# --- 2. the secondary's packets time out
colo_reset_primary_instance timeout 500 failopen 0 ||
	fail "expected instance $COLO_ID re-created with timeout 500"
primary_silence on || fail "expected the primary guest's output to be cut"
n0=$(events_count "$EV" --event divergence --instance "$COLO_ID" --reason timeout)
on_client python3 "$COLO_TOOLS/colo_udp.py" send --host $PG4 --port $PORT \
	--sport 43000 --count 5 --interval-ms 20 --timeout 2 >/dev/null 2>&1
expect_ok "secondary timeout: the comparator saw the secondary's 5 answers" \
	busywait 20000 stat_is secondary_packets -ge 5
expect_ok "secondary timeout: they are dropped after the timeout and counted" \
	busywait 20000 stat_is secondary_expired -ge 5
s=$(colo_stats secondary_packets secondary_held_packets secondary_held_bytes secondary_expired secondary_dropped)
log "$s"
expect_eq "secondary timeout: nothing of the secondary's held" \
	"secondary_held_packets=0 secondary_held_bytes=0" \
	"$(colo_stats secondary_held_packets secondary_held_bytes)"
expect_ok "secondary timeout: a timeout divergence asks for a checkpoint" \
	wait_events 10000 "$EV" $((n0 + 1)) --event divergence --instance "$COLO_ID" --reason timeout
expect_ok "secondary timeout: the flow that held only the secondary's packets is freed" \
	busywait 30000 stat_is flows -eq 0
primary_silence off

ktap_finished
