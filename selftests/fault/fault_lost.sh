#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# What an allocation failure loses is counted:
#   1. events_lost: with coloctl monitor listening, `coloctl checkpoint`
#      runs with the 1st, 2nd, ... fault-injection point of its checkpoint
#      request failing (failnth.so, /proc/thread-self/fail-nth) until a
#      failure lands in colo_notify()'s allocation of the checkpoint event:
#      the checkpoint is made (the command succeeds), events_lost goes up by
#      one, and the listener never sees that event (it sees the next one).
#   2. flows_nomem: on a secondary-host instance, failslab fails every
#      allocation from the module's flow cache (cache-filter: colo_flow
#      alone is flagged, by make check-fault's slub_debug=...A,colo_flow)
#      while a TCP connection is tried through the --rewrite rule:
#      the packets go on, each one that found no flow is counted in
#      flows_nomem, and no flow exists; with the faults off the next
#      connection counts nothing.

source "$(dirname "$0")/lib/fault.sh"

fault_require
require_cmd timeout
cleanup()
{
	fault_off
	[ -n "${MON_PID:-}" ] && kill "$MON_PID" 2>/dev/null
	cleanup_all_ns
	rm -f "$REPORT"
	rm -rf "$COLO_TMP"
}
REPORT=$(mktemp /tmp/failnth.XXXXXX)
trap cleanup EXIT
ID=$COLO_ID
setup_ns H PEER

stat_of()
{
	colo_stat "$1" "$H" "$ID"
}

# events: checkpoint events coloctl monitor printed
events()
{
	grep -c '"event": *"checkpoint"' "$COLO_TMP/mon.json"
}

events_gt()
{
	[ "$(events)" -gt "$1" ]
}

# --- 1. an event whose allocation fails
colo_ctl "$H" instance add "$ID" >/dev/null || fail "expected coloctl instance add $ID"
ip netns exec "$H" "$COLOCTL" -j monitor >"$COLO_TMP/mon.json" 2>"$COLO_TMP/mon.err" &
MON_PID=$!
busywait 30000 bash -c "ip netns exec $H $COLOCTL checkpoint $ID >/dev/null &&
	grep -q checkpoint $COLO_TMP/mon.json" >/dev/null ||
	fail "expected coloctl monitor to print a checkpoint event, saw: $(cat "$COLO_TMP/mon.json" "$COLO_TMP/mon.err")"
cmd=(ip netns exec "$H" "$COLOCTL" checkpoint "$ID")
fault_nth_mode
inject 0 "${cmd[@]}"
read -r _ points last_send <<<"$INJ_REPORT"
log "coloctl checkpoint: $points points, its request's from $((last_send + 1))"
found=0 t0=$(now_ms)
lost=$(stat_of events_lost)
# from the checkpoint request's first point until one loses the event, or
# until the command runs through without a failure injected
for ((n = last_send + 1; n <= 200; n++)); do
	lost0=$lost
	ev0=$(events)
	inject "$n" "${cmd[@]}"
	lost=$(stat_of events_lost)
	if [ "$lost" != "$lost0" ]; then
		found=$n
		break
	fi
	case $INJ_REPORT in none*) break ;; esac
	[ "$INJ_RC" = 0 ] || log "point $n: the checkpoint failed: $INJ_OUT"
done
fault_off
log "walked to point $n ($INJ_REPORT), the event lost at point $found, in $(($(now_ms) - t0)) ms"
expect_ge "a failure at some point of the request lost the checkpoint event" 1 "$found"
if [ "$found" -ge 1 ]; then
	expect_eq "the checkpoint itself was made (coloctl checkpoint exit 0)" 0 "$INJ_RC"
	expect_eq "events_lost went up by one" $((lost0 + 1)) "$lost"
	expect_ok "coloctl checkpoint $ID without faults" "${cmd[@]}"
	expect_ok "the monitor sees that checkpoint's event" busywait 20000 events_gt "$ev0"
	expect_eq "and only that one: the lost event never came" $((ev0 + 1)) "$(events)"
	expect_eq "events_lost stays" "$lost" "$(stat_of events_lost)"
	expect_match "the kernel log says an event was lost" \
		"xt_COLO: instance $ID: an event was lost \(-12\)" "$(dmesg | tail -n 200)"
fi
kill "$MON_PID" 2>/dev/null
wait "$MON_PID" 2>/dev/null
MON_PID=
colo_ctl "$H" instance del "$ID" >/dev/null

# --- 2. the rewriter's flow allocation fails
# failslab's cache-filter takes caches flagged at their creation (SLUB's
# sysfs knob is read-only since 5.14): make check-fault boots with
# slub_debug=FZPU;FZPUA,colo_flow
if [ "$(cat /sys/kernel/slab/colo_flow/failslab 2>/dev/null)" != 1 ]; then
	ktap_test_skip "the rewriter's flow allocation fails" \
		"colo_flow is not flagged for failslab: boot with slub_debug=FZPUA,colo_flow"
	ktap_finished
fi
ip link add colo-v netns "$H" type veth peer name colo-p netns "$PEER" ||
	fail "expected a veth pair between the namespaces"
ip -n "$H" addr add 10.99.0.1/24 dev colo-v
ip -n "$PEER" addr add 10.99.0.2/24 dev colo-p
ip -n "$H" link set colo-v up
ip -n "$PEER" link set colo-p up
colo_ctl "$H" instance add "$ID" >/dev/null || fail "expected coloctl instance add $ID"
ip netns exec "$H" iptables -t mangle -A PREROUTING -i colo-v -j COLO --instance "$ID" --rewrite ||
	fail "expected the --rewrite rule"
# connect: a SYN to a closed port of H, answered with a RST
connect()
{
	ip netns exec "$PEER" timeout 5 bash -c "echo >/dev/tcp/10.99.0.1/$1" 2>/dev/null
	return 0
}
fault_gfp Y N 0
fault_knob "$FAILSLAB" cache-filter Y
fault_knob "$FAILSLAB" times -1
fault_knob "$FAILSLAB" probability 100
connect 5001
fault_off
nomem=$(stat_of flows_nomem)
expect_ge "the rewriter counted the packets that found no flow (flows_nomem)" 1 "$nomem"
expect_eq "and no flow exists" 0 "$(stat_of flows)"
expect_ge "the rewriter saw them" 1 "$(stat_of rewrite_packets)"
seen=$(stat_of rewrite_packets)
connect 5002
# (its flow may be gone by the time coloctl runs: the RST ends its conntrack
# entry and GC frees such a flow idle for 2 s)
expect_ge "with the faults off the rewriter sees the next connection" \
	$((seen + 1)) "$(stat_of rewrite_packets)"
expect_eq "and counts nothing in flows_nomem" "$nomem" "$(stat_of flows_nomem)"
ip netns exec "$H" iptables -t mangle -D PREROUTING -i colo-v -j COLO --instance "$ID" --rewrite

ktap_finished
