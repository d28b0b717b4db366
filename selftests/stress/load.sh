#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Load on a protected instance: flows, held bytes and memory stay within
# the instance's bounds (colo_frames flows: valid UDP from the primary
# guest's device and the same datagrams from the secondary's link; what
# the comparator lets go ends in the sink chain after mangle).
#   a. STRESS_FLOWS (100000) concurrent flows: one datagram each from the
#      primary, all held (one flow each), then the secondary's: all
#      released. Flows, held bytes, slab and MemAvailable deltas printed;
#      the flows go away once idle and the memory comes back.
#   b. Churn for STRESS_CHURN_SECS (60) at STRESS_CHURN_RATE (1000)
#      datagrams per second per side, 4 per flow, one flow after the
#      other: the flow count and held bytes stay bounded while it runs,
#      nothing is held and the flows go away afterwards.
#   With max-bytes 1 MiB (and, where the tree has it, max-flows 1000):
#   c. the secondary floods (STRESS_FLOOD, 100000 datagrams over 64 flows)
#      while the primary is silent: secondary held bytes within max-bytes,
#      the rest consumed and counted;
#   d. the secondary is silent while the primary sends as many: primary
#      held bytes within max-bytes, the rest dropped and counted, the
#      counters add up;
#   e. the primary floods the full instance as much again: nothing more is
#      held, memory does not grow; with max-flows, a flood over 200000
#      flows keeps at most 1000 (flows_full counts the rest; "needs
#      max-flows" skip otherwise).
# After each: a checkpoint releases everything to the sink (sink = released
# + passed), nothing stays held, no kernel report.

source "$(dirname "$0")/lib/stress.sh"

FLOWS=${STRESS_FLOWS:-100000}
CHURN_SECS=${STRESS_CHURN_SECS:-60}
CHURN_RATE=${STRESS_CHURN_RATE:-1000}
FLOOD=${STRESS_FLOOD:-100000}
SMALL_BYTES=1048576

stress_require
trap colo_topology_cleanup EXIT
colo_topology_setup || fail "expected the two-host topology to come up"
HAVE_MAX_FLOWS=0
max_flows_supported && HAVE_MAX_FLOWS=1
mf_big=
[ $HAVE_MAX_FLOWS = 1 ] && mf_big="max-flows $((FLOWS + 10000))"
# held bytes are truesize (about 700 bytes for one of these datagrams):
# room for all of them, 2 KiB each
# shellcheck disable=SC2086 # $mf_big: "max-flows N" or nothing
colo_setup_protection timeout 60000 failopen 0 max-bytes $((FLOWS * 2048 > 65536 ? FLOWS * 2048 : 65536)) $mf_big ||
	fail "expected instance $COLO_ID and the COLO rules on both hosts"
secondary_silence on || fail "expected the secondary guest's output cut"
sink_on || fail "expected the sink chain on the primary host"
mark=$(kmsg_mark)

pri()
{
	frames "$NS_PGUEST" eth0 flows "$@"
}

sec()
{
	frames "$NS_SHOST" cable flows "$@"
}

# mem_delta M0: the growth since mem_kv output M0 (and slab_snap into
# $COLO_TMP/slab0): MD_* figures, and MD_text to print
# shellcheck disable=SC2154 # MA_*, MB_*: set by kv_load (printf -v)
mem_delta()
{
	kv_load MA "$1"
	kv_load MB "$(mem_kv)"
	MD_kmalloc=$((MB_kmalloc_bytes - MA_kmalloc_bytes))
	MD_slab_kb=$((MB_slab_kb - MA_slab_kb))
	MD_avail_kb=$((MA_mem_avail_kb - MB_mem_avail_kb))
	MD_skbs=$((MB_skb_objs - MA_skb_objs))
	MD_text="kmalloc +$((MD_kmalloc / 1024)) KiB, slab +$MD_slab_kb KiB, MemAvailable -$MD_avail_kb KiB, skbuff_head_cache +$MD_skbs; grew most: $(slab_top "$COLO_TMP/slab0")"
}

mem_mark()
{
	m0=$(mem_kv)
	slab_snap "$COLO_TMP/slab0"
}

# release_all DESC: checkpoint; nothing held; the sink saw every released
# and passed packet since SINK0/REL0/PASS0
SINK0=0 REL0=0 PASS0=0
sink_mark()
{
	SINK0=$(sink_count)
	load_stats Z
	# shellcheck disable=SC2154 # set by load_stats/kv_load (printf -v)
	REL0=$Z_released PASS0=$Z_passed
}

_sink_matches()
{
	local n
	n=$(sink_count)
	load_stats K || return 1
	K_sink=$((n - SINK0))
	# shellcheck disable=SC2154 # set by load_stats/kv_load (printf -v)
	K_left=$((K_released - REL0 + K_passed - PASS0))
	# busywait runs this in a subshell: the figures go to a file
	echo "sink $K_sink, released + passed $K_left" >"$COLO_TMP/sink.last"
	[ "$K_sink" -eq "$K_left" ]
}

release_all()
{
	expect_ok "$1: checkpoint" colo_checkpoint
	expect_ok "$1: nothing held afterwards" busywait 30000 _nothing_held
	expect_ok "$1: the sink got every packet released or passed" busywait 60000 _sink_matches ||
		log "$(cat "$COLO_TMP/sink.last" 2>/dev/null)"
	accounting_check "$1"
}

_flows_le()
{
	[ "$(colo_stat flows)" -le "$1" ]
}

# --- a. concurrent flows
log "a. $FLOWS concurrent flows$([ $HAVE_MAX_FLOWS = 1 ] && echo ", max-flows $((FLOWS + 10000))")"
load_stats A0
mem_mark
sink_mark
t0=$(now_ms)
out=$(pri --flows "$FLOWS" --per-flow 1)
log "primary: $out in $(($(now_ms) - t0)) ms"
# shellcheck disable=SC2154 # set by load_stats/kv_load (printf -v)
expect_ok "a: the comparator saw the $FLOWS datagrams" \
	busywait 60000 stat_is primary_packets -ge $((A0_primary_packets + FLOWS))
load_stats A1
# shellcheck disable=SC2154 # set by load_stats/kv_load (printf -v)
log "a: flows=$A1_flows primary_held_packets=$A1_primary_held_packets primary_held_bytes=$A1_primary_held_bytes primary_dropped=+$((A1_primary_dropped - A0_primary_dropped)) max_bytes=$A1_max_bytes"
mem_delta "$m0"
log "a: memory with $FLOWS flows held: $MD_text"
[ "$A1_flows" -gt 0 ] && log "a: per flow with its datagram held: $((MD_kmalloc / A1_flows)) bytes of kmalloc, $((MD_slab_kb * 1024 / A1_flows)) bytes of slab, $((MD_avail_kb * 1024 / A1_flows)) bytes of MemAvailable"
expect_ge "a: $FLOWS flows tracked" "$FLOWS" "$A1_flows"
expect_eq "a: every datagram held (one per flow)" "$FLOWS" "$A1_primary_held_packets"
expect_le "a: held bytes within max-bytes" "$A1_max_bytes" "$A1_primary_held_bytes"
[ $HAVE_MAX_FLOWS = 1 ] && expect_le "a: flows within max-flows" $((FLOWS + 10000)) "$A1_flows"
t0=$(now_ms)
out=$(sec --flows "$FLOWS" --per-flow 1)
log "secondary: $out in $(($(now_ms) - t0)) ms"
# shellcheck disable=SC2154 # set by load_stats/kv_load (printf -v)
expect_ok "a: the secondary's datagrams released all $FLOWS" \
	busywait 60000 stat_is released -ge $((A0_released + FLOWS))
release_all "a"
load_stats A2
# shellcheck disable=SC2154 # set by load_stats/kv_load (printf -v)
log "a: compared_equal +$((A2_compared_equal - A0_compared_equal)), checkpoint requests +$((A2_checkpoint_requests - A0_checkpoint_requests))"
t0=$(now_ms)
expect_ok "a: the idle flows go away" busywait 180000 _flows_le 0
mem_delta "$m0"
log "a: flows gone in $(($(now_ms) - t0)) ms; memory then: $MD_text"
expect_le "a: kmalloc back within 4 MiB of before" 4194304 "$MD_kmalloc"

# --- b. churn
n=$((CHURN_RATE * CHURN_SECS))
log "b. churn: $n datagrams per side at $CHURN_RATE/s, 4 per flow, $((n / 4)) flows"
load_stats B0
mem_mark
sink_mark
pri --flows $((n / 4)) --per-flow 4 --order flow --first-flow 1000000 --rate "$CHURN_RATE" \
	>"$COLO_TMP/bp.out" 2>&1 &
bp=$!
sec --flows $((n / 4)) --per-flow 4 --order flow --first-flow 1000000 --rate "$CHURN_RATE" \
	>"$COLO_TMP/bs.out" 2>&1 &
bs=$!
maxflows=0 maxheld=0 samples=0
while kill -0 $bp 2>/dev/null || kill -0 $bs 2>/dev/null; do
	load_stats B
	[ "${B_flows:-0}" -gt "$maxflows" ] && maxflows=$B_flows
	[ "${B_primary_held_bytes:-0}" -gt "$maxheld" ] && maxheld=$B_primary_held_bytes
	samples=$((samples + 1))
	sleep 1	# a sampling period, not a wait for a condition
done
wait $bp
wait $bs
log "b: primary $(cat "$COLO_TMP/bp.out"); secondary $(cat "$COLO_TMP/bs.out")"
load_stats B1
# shellcheck disable=SC2154 # set by load_stats/kv_load (printf -v)
log "b: $samples samples: at most $maxflows flows and $maxheld held bytes at once; released +$((B1_released - B0_released)) compared_equal +$((B1_compared_equal - B0_compared_equal)) checkpoint_requests +$((B1_checkpoint_requests - B0_checkpoint_requests)) divergence_timeout +$((B1_divergence_timeout - B0_divergence_timeout))"
mem_delta "$m0"
log "b: memory at the end of the churn: $MD_text"
# idle flows go after 2 s (conntrack entry gone) and the GC runs each
# second: at the churn's rate no more than about 10 s worth may exist
# shellcheck disable=SC2017 # flows per second (4 datagrams each), times 10 s
expect_le "b: flows stayed bounded by about 10 s of churn" $((CHURN_RATE / 4 * 10 + 1000)) "$maxflows"
expect_le "b: held bytes stayed small" 1048576 "$maxheld"
release_all "b"
expect_ok "b: the flows go away" busywait 120000 _flows_le 0
mem_delta "$m0"
log "b: memory after: $MD_text"
expect_le "b: kmalloc back within 4 MiB" 4194304 "$MD_kmalloc"

# --- c, d, e: a small instance
mf_small=
[ $HAVE_MAX_FLOWS = 1 ] && mf_small="max-flows 1000"
# shellcheck disable=SC2086 # $mf_small: "max-flows N" or nothing
colo_reset_primary_instance timeout 60000 failopen 0 max-bytes $SMALL_BYTES $mf_small ||
	fail "expected instance $COLO_ID re-created with max-bytes $SMALL_BYTES"
sink_mark

# --- c. the secondary floods, the primary is silent
log "c. the secondary floods $FLOOD datagrams over 64 flows, max-bytes $SMALL_BYTES"
load_stats C0
mem_mark
out=$(sec --flows 64 --count "$FLOOD" --size 200)
log "c: secondary: $out"
# shellcheck disable=SC2154 # set by load_stats/kv_load (printf -v)
expect_ok "c: the comparator saw them" busywait 60000 stat_is secondary_packets -ge $((C0_secondary_packets + FLOOD))
load_stats C1
# shellcheck disable=SC2154 # set by load_stats/kv_load (printf -v)
log "c: secondary_held_packets=$C1_secondary_held_packets secondary_held_bytes=$C1_secondary_held_bytes secondary_dropped=+$((C1_secondary_dropped - C0_secondary_dropped)) divergence_queue_full=+$((C1_divergence_queue_full - C0_divergence_queue_full)) sec_expired=${C1_sec_expired:-n/a} flows=$C1_flows"
mem_delta "$m0"
log "c: memory: $MD_text"
expect_le "c: secondary held bytes within max-bytes" $SMALL_BYTES "$C1_secondary_held_bytes"
expect_ge "c: the bound was reached (within one datagram's buffer)" $((SMALL_BYTES - 4096)) "$C1_secondary_held_bytes"
# max-bytes is the bound on memory (coloctl.8: "Bytes held per side of the
# whole instance, bounding its memory"): what the held packets take in
# the slab must stay within it, give or take the skb overhead of
# MTU-sized packets (x4)
log "c: slab per held byte: $((MD_slab_kb * 1024 / (C1_secondary_held_bytes + 1))) (slab +$MD_slab_kb KiB for $C1_secondary_held_bytes held bytes in $C1_secondary_held_packets packets)"
expect_le "c: slab growth with the instance full within 4 x max-bytes (KiB)" $((4 * SMALL_BYTES / 1024)) "$MD_slab_kb"
release_all "c"

# --- d. the secondary is silent, the primary sends
log "d. the primary sends $FLOOD datagrams over 64 flows, the secondary silent"
load_stats D0
mem_mark
out=$(pri --flows 64 --count "$FLOOD" --size 200)
log "d: primary: $out"
# shellcheck disable=SC2154 # set by load_stats/kv_load (printf -v)
expect_ok "d: the comparator saw them" busywait 60000 stat_is primary_packets -ge $((D0_primary_packets + FLOOD))
load_stats D1
# shellcheck disable=SC2154 # set by load_stats/kv_load (printf -v)
log "d: primary_held_packets=$D1_primary_held_packets primary_held_bytes=$D1_primary_held_bytes primary_dropped=+$((D1_primary_dropped - D0_primary_dropped)) divergence_queue_full=+$((D1_divergence_queue_full - D0_divergence_queue_full)) checkpoint_requests=+$((D1_checkpoint_requests - D0_checkpoint_requests)) flows=$D1_flows"
mem_delta "$m0"
log "d: memory: $MD_text"
expect_le "d: primary held bytes within max-bytes" $SMALL_BYTES "$D1_primary_held_bytes"
expect_ge "d: the bound was reached (within one datagram's buffer)" $((SMALL_BYTES - 4096)) "$D1_primary_held_bytes"
expect_eq "d: the rest dropped and counted" $((FLOOD - D1_primary_held_packets)) \
	$((D1_primary_dropped - D0_primary_dropped))
log "d: slab per held byte: $((MD_slab_kb * 1024 / (D1_primary_held_bytes + 1)))"
expect_le "d: slab growth with the instance full within 4 x max-bytes (KiB)" $((4 * SMALL_BYTES / 1024)) "$MD_slab_kb"
accounting_check "d: while full"
md=$MD_kmalloc

# --- e. the primary floods the full instance
log "e. the primary floods the full instance with $FLOOD more"
out=$(pri --flows 64 --count "$FLOOD" --size 200 --first-flow 64)
log "e: primary: $out"
# shellcheck disable=SC2154 # set by load_stats/kv_load (printf -v)
expect_ok "e: the comparator saw them" busywait 60000 stat_is primary_packets -ge $((D1_primary_packets + FLOOD))
load_stats E1
# shellcheck disable=SC2154 # set by load_stats/kv_load (printf -v)
log "e: primary_held_packets=$E1_primary_held_packets primary_held_bytes=$E1_primary_held_bytes primary_dropped=+$((E1_primary_dropped - D1_primary_dropped)) flows=$E1_flows"
mem_delta "$m0"
log "e: memory: $MD_text"
expect_le "e: still within max-bytes" $SMALL_BYTES "$E1_primary_held_bytes"
expect_eq "e: nothing more held: all $FLOOD dropped and counted" "$FLOOD" \
	$((E1_primary_dropped - D1_primary_dropped))
expect_le "e: memory did not grow with the flood (kmalloc within 2 MiB of the full instance's)" \
	2097152 $((MD_kmalloc - md))
release_all "e"
if [ $HAVE_MAX_FLOWS = 1 ]; then
	load_stats F0
	out=$(pri --flows 200000 --per-flow 1 --first-flow 2000000)
	log "e: a flood over 200000 flows: $out"
	# shellcheck disable=SC2154 # set by load_stats/kv_load (printf -v)
	expect_ok "e: the comparator saw them" busywait 60000 stat_is primary_packets -ge $((F0_primary_packets + 200000))
	load_stats F1
	# shellcheck disable=SC2154 # set by load_stats/kv_load (printf -v)
	log "e: flows=$F1_flows flows_full=+$((F1_flows_full - F0_flows_full)) primary_dropped=+$((F1_primary_dropped - F0_primary_dropped))"
	expect_le "e: at most max-flows 1000 flows" 1000 "$F1_flows"
	# shellcheck disable=SC2154 # set by load_stats/kv_load (printf -v)
	expect_ge "e: flows_full counted the flows refused" $((200000 - 1000 - F0_flows)) $((F1_flows_full - F0_flows_full))
	release_all "e, max-flows"
else
	ktap_test_skip "e: at most max-flows flows under a flood over 200000 flows" "needs max-flows"
fi
expect_eq "no kernel report" "" "$(stress_noise "$mark")"

ktap_finished
