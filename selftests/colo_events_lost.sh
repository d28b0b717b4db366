#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# An event a listener does not get is counted in events_lost, one that
# nobody listens for is not:
#   1. A lone listener on the events group with the smallest receive buffer
#      reads nothing while 40 checkpoints are requested: its buffer fills,
#      it reads ENOBUFS afterwards, and every checkpoint event it did not
#      get is counted (events_lost = 40 - delivered), and said once in the
#      kernel log.
#   2. With no listener, checkpoint events go nowhere and count nothing.
#   3. Two listeners: coloctl monitor -j reading promptly, and the listener
#      of part 1 beside it, N checkpoints each time. The monitor gets all N
#      and loses nothing. The slow listener misses most of them, and whether
#      the kernel can count that depends on the slow listener alone:
#      netlink_broadcast() reports an overrun to the sender only when no
#      listener got the event or when the listener that had no room set
#      NETLINK_BROADCAST_ERROR. So
#      a. without it, the monitor got every event and netlink says nothing:
#         events_lost does not move (the slow listener reads ENOBUFS);
#      b. with it (as coloctl monitor sets it), every event the slow
#         listener did not get is counted: events_lost grows by N - delivered.
# selftests/fault/fault_lost.sh fails the event's allocation itself.

source "$(dirname "$0")/lib/topology.sh"

N=40
colo_require
cleanup()
{
	colo_topology_cleanup	# the monitor of part 3 and COLO_TMP
	cleanup_all_ns
}
trap cleanup EXIT
setup_ns NS
ID=$COLO_ID
NS_PHOST=$NS	# where colo_monitor_start runs coloctl monitor

lost()
{
	colo_stat events_lost "$NS" "$ID"
}

colo_ctl "$NS" instance add "$ID" >/dev/null ||
	fail "expected coloctl instance add $ID to succeed"
expect_eq "a new instance lost no event" 0 "$(lost)"
expect_match "coloctl instance show prints the counter" '^  events lost: 0$' \
	"$(colo_ctl "$NS" instance show "$ID")"

# --- 1. a listener that does not read
mark=$(kmsg_mark)
out=$(ip netns exec "$NS" python3 "$COLO_TOOLS/colo_genl.py" overrun $N "$ID" 2>&1)
log "listener: $out"
sent=$(jq -r .sent <<<"$out" 2>/dev/null)
delivered=$(jq -r .delivered <<<"$out" 2>/dev/null)
expect_eq "$N checkpoints requested" "$N" "$sent"
expect_eq "the listener's socket reported ENOBUFS" true "$(jq -r .enobufs <<<"$out" 2>/dev/null)"
expect_le "its buffer took fewer than $N events" $((N - 1)) "${delivered:-$N}"
expect_eq "every event it did not get is counted: events_lost = $N - $delivered" \
	$((N - ${delivered:-0})) "$(lost)"
expect_eq "checkpoints counted" "$N" "$(colo_stat checkpoints "$NS" "$ID")"
expect_match "the kernel log says an event was lost" \
	"xt_COLO: instance $ID: an event was lost \(-[0-9]+\), counted in events_lost" \
	"$(kmsg_since "$mark")"

# --- 2. nobody listens
before=$(lost)
expect_ok "coloctl checkpoint $ID with no listener" colo_ctl "$NS" checkpoint "$ID"
expect_eq "an event nobody listens for is not lost" "$before" "$(lost)"

# --- 3. a listener that reads and one that does not
EV=$COLO_TMP/events.jsonl

got()
{
	events_count "$EV" --event checkpoint --instance "$ID"
}

# two_listeners WHAT [broadcast-error]: part 1's listener (with
# NETLINK_BROADCAST_ERROR when asked) beside the running monitor; sets
# MISSED (events the slow listener did not get) and LOST (what events_lost
# grew by meanwhile)
two_listeners()
{
	local what=$1 before after got0 out sent delivered n
	shift
	before=$(lost)
	got0=$(got)
	out=$(ip netns exec "$NS" python3 "$COLO_TOOLS/colo_genl.py" overrun \
		$N "$ID" "$@" 2>&1)
	log "$what: slow listener: $out"
	sent=$(jq -r .sent <<<"$out" 2>/dev/null)
	delivered=$(jq -r .delivered <<<"$out" 2>/dev/null)
	expect_eq "$what: $N checkpoints requested" "$N" "$sent"
	expect_eq "$what: the slow listener's socket reported ENOBUFS" true \
		"$(jq -r .enobufs <<<"$out" 2>/dev/null)"
	expect_le "$what: the slow listener's buffer took fewer than $N events" \
		$((N - 1)) "${delivered:-$N}"
	n=$(wait_events 30000 "$EV" $((got0 + N)) --event checkpoint \
		--instance "$ID" >/dev/null; got)
	expect_eq "$what: the monitor got all $N checkpoint events" \
		"$N" $((n - got0))
	MISSED=$((N - ${delivered:-0}))
	after=$(lost)
	if [[ "$before$after" =~ ^[0-9]+$ ]]; then
		LOST=$((after - before))
	else
		LOST="events_lost $before before, $after after"
	fi
}

colo_monitor_start "$EV" ||
	fail "expected coloctl monitor -j in $NS to report a checkpoint"

two_listeners "3a. slow listener without NETLINK_BROADCAST_ERROR"
expect_eq "3a. the monitor got every event: netlink tells the sender nothing of the $MISSED the slow listener missed, none counted" \
	0 "$LOST"

two_listeners "3b. slow listener with NETLINK_BROADCAST_ERROR" broadcast-error
expect_eq "3b. every event the slow listener did not get is counted: events_lost grew by $N - delivered" \
	"$MISSED" "$LOST"

expect_no_match "the monitor lost no event" "events were lost" \
	"$(cat "$EV.stderr")"
if kill -0 "$COLO_MONITOR_PID" 2>/dev/null; then m=running
else m="exited: $(cat "$EV.stderr")"; fi
expect_eq "the monitor is still running" running "$m"
colo_monitor_stop

ktap_finished
