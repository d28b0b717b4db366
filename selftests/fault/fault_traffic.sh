#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Atomic allocations fail at random while the comparator carries traffic:
# failslab and fail_page_alloc with ignore-gfp-wait, so what fails is what
# softirq and the packet path allocate (the module's flows, the event
# messages, skb clones and heads, conntrack entries, the flow table's
# buckets), FAULT_SLAB_PROB (5) and FAULT_PAGE_PROB (1) percent of them.
# Meanwhile, for FAULT_ROUNDS (3) rounds, on the two-host topology with
# the secondary guest silent and datagrams sent by colo_frames from the
# primary guest and onto the secondary's cable:
#   - FAULT_FRAMES (1000) datagrams on 50 flows from both sides, compared
#     and released on a match;
#   - as many again from the primary only (held: their timeout divergence
#     asks for a checkpoint; failopen is off) and from the secondary only
#     on other flows (held too);
#   - a checkpoint (coloctl, retried while an allocation fails it);
# then more held primary datagrams and a failover. With the faults off
# again: nothing stays held; every primary datagram the instance saw is
# held, released, passed, dropped or a duplicate and every secondary one
# held or dropped (the counters add up); an nft chain after mangle saw
# exactly what was released or passed; some allocations did fail (the
# injection was real); no kernel report; the module unloads. The harness
# checks kmemleak afterwards (make check-fault).

source "$(dirname "$0")/lib/fault.sh"

FRAMES_N=${FAULT_FRAMES:-1000}
ROUNDS=${FAULT_ROUNDS:-3}
SLAB_PROB=${FAULT_SLAB_PROB:-5}
PAGE_PROB=${FAULT_PAGE_PROB:-1}
TIMES=100000000

fault_require
stress_require
cleanup()
{
	fault_off
	colo_topology_cleanup
}
trap cleanup EXIT

pri()
{
	frames "$NS_PGUEST" eth0 flows "$@"
}

sec()
{
	frames "$NS_SHOST" cable flows "$@"
}

# stress.sh's sink with an anonymous counter: a named one needs
# nft_objref, which the debug kernel does not have
sink_on()
{
	on_phost nft -f - <<-EOF
	table inet colo_sink {
		chain pre {
			type filter hook prerouting priority -140; policy accept;
			iifname "ptap" counter drop
		}
	}
	EOF
}

sink_count()
{
	on_phost nft list chain inet colo_sink pre 2>/dev/null |
		sed -n 's/.*counter packets \([0-9]*\).*/\1/p'
}

# faults_on / faults_off: the random failures of atomic allocations
faults_on()
{
	fault_gfp Y N 0
	fault_knob $FAILSLAB times $TIMES
	fault_knob $FAILPAGE times $TIMES
	fault_knob $FAILPAGE probability "$PAGE_PROB"
	fault_knob $FAILSLAB probability "$SLAB_PROB"
}

# injected DIR: failures injected since faults_on
injected()
{
	echo $((TIMES - $(cat "$1/times")))
}

# coloctl, again while an allocation of its own fails it
ctl_retry()
{
	busywait 30000 colo_ctl "$NS_PHOST" "$@"
}

colo_topology_setup || fail "expected the two-host topology to come up"
colo_setup_protection timeout 1000 failopen 0 ||
	fail "expected instance $COLO_ID and the COLO rules on both hosts"
secondary_silence on || fail "expected the secondary guest's output cut"
sink_on || fail "expected the sink chain on the primary host"
blackhole_peers || fail "expected blackhole routes for the peers"
load_stats H0 || fail "expected instance $COLO_ID readable"
SINK0=$(sink_count)

mark=$(kmsg_mark)
t0=$(now_ms)
faults_on
for ((r = 0; r < ROUNDS; r++)); do
	f=$((r * 10000))
	# compared: the same datagrams from both sides, at once
	pri --flows 50 --first-flow "$f" --count "$FRAMES_N" >"$COLO_TMP/pri.out" 2>&1 &
	p1=$!
	sec --flows 50 --first-flow "$f" --count "$FRAMES_N" >"$COLO_TMP/sec.out" 2>&1 &
	p2=$!
	wait $p1 $p2
	# held: each side alone, on flows of its own
	pri --flows 50 --first-flow $((f + 1000)) --count "$FRAMES_N" >/dev/null 2>&1
	sec --flows 50 --first-flow $((f + 2000)) --count "$FRAMES_N" >/dev/null 2>&1
	ctl_retry checkpoint "$COLO_ID" >/dev/null ||
		log "round $r: coloctl checkpoint kept failing"
	log "round $r: $(stats_kv | tr ' ' '\n' | grep -E '^(primary_packets|secondary_packets|released|primary_dropped|secondary_dropped|primary_held_packets|secondary_held_packets|checkpoint_requests|flows)=' | tr '\n' ' ')"
done
pri --flows 50 --first-flow 90000 --count "$FRAMES_N" >/dev/null 2>&1
ctl_retry failover "$COLO_ID" >/dev/null || log "coloctl failover kept failing"
slab_n=$(injected $FAILSLAB)
page_n=$(injected $FAILPAGE)
fault_off
log "faults on for $(($(now_ms) - t0)) ms: $slab_n slab and $page_n page allocations failed"

expect_ge "failslab failed allocations" 1 "$slab_n"
expect_eq "the instance failed over" "failed-over" "$(colo_stat state)"
expect_ok "nothing held after the failover" busywait 20000 _nothing_held
accounting_check "after the faults"
load_stats K
sink=$(($(sink_count) - SINK0))
# shellcheck disable=SC2154 # K_*, H0_*: set by load_stats (printf -v)
left=$((K_released - H0_released + K_passed - H0_passed))
expect_eq "the sink saw what was released and passed" "$left" "$sink"
# shellcheck disable=SC2154 # K_*, H0_*: set by load_stats (printf -v)
log "seen: primary $K_primary_packets, secondary $K_secondary_packets; released $K_released, passed $K_passed, dropped $K_primary_dropped + $K_secondary_dropped, flows_full $K_flows_full"
expect_ge "the comparator released packets under faults" 1 "$K_released"
expect_ok "a new instance works after the faults" \
	colo_reset_primary_instance timeout 60000 failopen 0
expect_eq "no kernel report" "" "$(fault_reports "$mark")"
colo_topology_cleanup
expect_ok "the module unloads" busywait 30000 modprobe -r xt_COLO
colo_module_load

ktap_finished
