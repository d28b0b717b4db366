#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# A silent secondary: one `timeout` divergence after about the instance
# timeout, never a storm; `checkpoint` releases what was held; with a
# fail-open bound the instance fails open by itself (issue 3, test 5).
#
# The secondary host drops everything the secondary guest sends (nft
# ingress on its tap), as a dead secondary looks from the primary host.
# The client sends UDP datagrams to the guest pair; the primary's answers
# can only wait.
#   1. `instance add 1 timeout 500 failopen 0` (never fail open): the first
#      timeout event comes between 0.5 s and 3 s after the first answer was
#      held; 10 answers sent 200 ms apart all time out, yet one event and one
#      checkpoint request only, no fail-open; the client has nothing; then
#      `coloctl checkpoint` releases all 10 to the client.
#   2. `timeout 500 failopen 1500`: timeout event, then a fail-open event
#      about 1.5 s later, state fail-open, fail_opens 1, the held answers
#      reach the client without any checkpoint, new traffic passes
#      uncompared (counted as passed); a checkpoint makes the instance active
#      again and traffic is compared again once the secondary speaks.

source "$(dirname "$0")/lib/topology.sh"

PORT=5005

colo_require
trap colo_topology_cleanup EXIT
colo_topology_setup || fail "expected the two-host topology to come up"
colo_setup_protection timeout 500 failopen 0 ||
	fail "expected instance $COLO_ID (timeout 500 failopen 0) and the rules"
guests_udp_serve $PORT "" "" || fail "expected the UDP servers in both guests"
EV=$COLO_TMP/events
colo_monitor_start "$EV" || fail "expected coloctl monitor -j to subscribe"
secondary_silence on || fail "expected the secondary guest's output to be cut"

# event_time FILTERS...: t_boot of the last matching event
event_time()
{
	event_field "$(events_last "$EV" "$@")" t_boot
}

_uptime_ge()
{
	awk -v a="$(uptime_s)" -v b="$1" 'BEGIN { exit !(a >= b) }'
}

# --- 1. timeout, no fail-open, checkpoint releases
udp_first=$COLO_TMP/first1
_bg "$NS_CLIENT" udp1 python3 "$COLO_TOOLS/colo_udp.py" send --host $PG4 --port $PORT \
	--count 10 --interval-ms 200 --timeout 60 --progress "$COLO_TMP/udp1.progress" \
	--first-send-file "$udp_first"
expect_ok "timeout 500: a timeout divergence event arrives" \
	wait_events 15000 "$EV" 1 --event divergence --instance "$COLO_ID" --reason timeout
t_first=$(cat "$udp_first")
t_ev=$(event_time --event divergence --instance "$COLO_ID" --reason timeout)
el=$(awk -v a="$t_first" -v b="$t_ev" 'BEGIN { printf "%.2f", b - a }')
expect_between "timeout 500: the event came 0.5-3 s after the first datagram (s)" 0.45 3 "$el"
e=$(events_last "$EV" --event divergence --instance "$COLO_ID")
log "event: $e"

# Every answer has now waited past the timeout by at least 1.5 s.
busywait 20000 _uptime_ge "$(awk -v a="$t_first" 'BEGIN { print a + 1.8 + 0.5 + 1.5 }')"
expect_eq "timeout 500: still one divergence event after all 10 answers timed out" 1 \
	"$(events_count "$EV" --event divergence --instance "$COLO_ID")" ||
	log "events: $(cat "$EV")"
expect_eq "timeout 500: one checkpoint request, pending, active, all 10 held" \
	"checkpoint_requests=1 pending=true state=active fail_opens=0 primary_held_packets=10" \
	"$(colo_stats checkpoint_requests pending state fail_opens primary_held_packets)"
log "divergence_timeout=$(colo_stat divergence_timeout) checkpoint_suppressed=$(colo_stat checkpoint_suppressed)"
expect_eq "failopen 0: no fail-open event" 0 \
	"$(events_count "$EV" --event fail-open --instance "$COLO_ID")"
expect_eq "the client has received nothing" 0 "$(progress_of "$COLO_TMP/udp1.progress")"
expect_ok "coloctl checkpoint $COLO_ID" colo_ctl "$NS_PHOST" checkpoint "$COLO_ID"
bg_wait udp1 30000
rc=$?
expect_eq "the checkpoint released all 10 answers to the client, in order" \
	"0 true" "$rc $(json_out udp1 ok)" || log "udp1: $(cat "$COLO_TMP/udp1.out")"
expect_eq "nothing held, request no longer pending" "primary_held_packets=0 pending=false checkpoints=1" \
	"$(colo_stats primary_held_packets pending checkpoints)"

# --- 2. fail-open after the bound
colo_reset_primary_instance timeout 500 failopen 1500 ||
	fail "expected instance $COLO_ID re-created with failopen 1500"
n0=$(events_count "$EV" --event divergence --instance "$COLO_ID")
_bg "$NS_CLIENT" udp2 python3 "$COLO_TOOLS/colo_udp.py" send --host $PG4 --port $PORT \
	--count 5 --interval-ms 50 --timeout 60 --progress "$COLO_TMP/udp2.progress"
expect_ok "failopen 1500: a timeout divergence event arrives" \
	wait_events 15000 "$EV" $((n0 + 1)) --event divergence --instance "$COLO_ID" --reason timeout
expect_ok "failopen 1500: a fail-open event follows" \
	wait_events 15000 "$EV" 1 --event fail-open --instance "$COLO_ID"
t_div=$(event_time --event divergence --instance "$COLO_ID" --reason timeout)
t_fo=$(event_time --event fail-open --instance "$COLO_ID")
el=$(awk -v a="$t_div" -v b="$t_fo" 'BEGIN { printf "%.2f", b - a }')
expect_between "failopen 1500: fail-open 1.5-4 s after the checkpoint request (s)" 1.4 4 "$el"
expect_eq "failopen 1500: state fail-open, counted once" "state=fail-open fail_opens=1" \
	"$(colo_stats state fail_opens)"
bg_wait udp2 30000
rc=$?
expect_eq "failopen 1500: the held answers reached the client without a checkpoint" \
	"0 true" "$rc $(json_out udp2 ok)" || log "udp2: $(cat "$COLO_TMP/udp2.out")"
p0=$(colo_stat passed)
expect_ok "fail-open: new traffic flows uncompared while the secondary is silent" \
	on_client python3 "$COLO_TOOLS/colo_udp.py" send --host $PG4 --port $PORT \
	--count 10 --interval-ms 5 --timeout 30
expect_ge "fail-open: the new answers were counted as passed" $((p0 + 10)) "$(colo_stat passed)"
expect_eq "fail-open: nothing held" 0 "$(colo_stat primary_held_packets)"

secondary_silence off
expect_ok "coloctl checkpoint $COLO_ID ends fail-open" colo_ctl "$NS_PHOST" checkpoint "$COLO_ID"
expect_eq "after the checkpoint the instance is active again" active "$(colo_stat state)"
eq0=$(colo_stat compared_equal)
expect_ok "active again: traffic with a speaking secondary passes" \
	on_client python3 "$COLO_TOOLS/colo_udp.py" send --host $PG4 --port $PORT \
	--count 10 --interval-ms 5 --timeout 30
expect_ge "active again: the answers were compared" $((eq0 + 10)) "$(colo_stat compared_equal)"
expect_eq "one fail-open event in all" 1 "$(events_count "$EV" --event fail-open --instance "$COLO_ID")"

ktap_finished
