#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Malformed and random frames on both sides of a protected instance
# (colo_frames fuzz, seeded: STRESS_SEED reproduces a run).
#   1. STRESS_FRAMES (1000000) frames in rounds of STRESS_FUZZ_ROUND (50000)
#      per side: the same frames from the primary guest's device (the
#      --primary path) and from the secondary host's end of the cable (the
#      --secondary path), IPv4 rounds (fragments included), IPv6 rounds
#      without and with fragment headers. The secondary guest is silenced
#      and an nft chain after mangle (the "sink") counts and drops every
#      packet that leaves the comparator, so the primary host answers
#      nothing and its counters see only the fuzz. Each round:
#        - every frame sent reached the primary host, and its IP layer;
#        - the frames that reached the COLO rules are exactly those the IP
#          layer let through: InReceives - InHdrErrors - InTruncatedPkts -
#          InDiscards - (ReasmReqds - ReasmOKs) for IPv4 and IPv6 =
#          primary_packets + secondary_packets (up to conntrack's drops);
#          in IPv6 rounds with fragment headers, which nf_defrag_ipv6 may
#          take or drop without a counter, at most that;
#        - after a checkpoint nothing is held, every packet the comparator
#          let go (released + passed) reached the sink, and the counters
#          add up (held + released - partial + passed + dropped +
#          duplicates = primary packets; held + dropped = secondary).
#   2. STRESS_CHAOS_FRAMES (100000) per side from both guests with the
#      secondary's output not silenced and no sink: the rewriter on the
#      secondary host and the primary host's routing see the fuzz too;
#      afterwards nothing is held on either host and the counters add up.
#   3. The module still works: UDP echoes and a TCP download, IPv4 and
#      IPv6, compared without a divergence.
# No kernel report in the guest log (the harness checks it; this test
# checks the lines since its start too).

source "$(dirname "$0")/lib/stress.sh"

TOTAL=${STRESS_FRAMES:-1000000}
ROUND=${STRESS_FUZZ_ROUND:-50000}
CHAOS=${STRESS_CHAOS_FRAMES:-100000}
SEED=$STRESS_SEED

stress_require
trap colo_topology_cleanup EXIT
colo_topology_setup || fail "expected the two-host topology to come up"
colo_setup_protection timeout 60000 failopen 0 ||
	fail "expected instance $COLO_ID and the COLO rules on both hosts"
secondary_silence on || fail "expected the secondary guest's output cut"
sink_on || fail "expected the sink chain on the primary host"
blackhole_peers || fail "expected blackhole routes for the fuzz peers"
log "seed $SEED (STRESS_SEED=$SEED reproduces this run); $TOTAL frames in rounds of $ROUND per side"
log "memory before: $(mem_kv)"
mark=$(kmsg_mark)

# round_eval SENT EXACT: the figures of the round so far (H0/S0 before);
# 0 when they add up
# shellcheck disable=SC2154 # H*_, S*_: set by load_stats/kv_load (printf -v)
round_eval()
{
	local sent=$1 exact=$2
	kv_load H1 "$(host_counters "$NS_PHOST")"
	load_stats S1 || return 1
	R_rx=$((H1_rx_ptap - H0_rx_ptap + H1_rx_cable - H0_rx_cable))
	R_in=$((H1_v4_InReceives - H0_v4_InReceives + H1_v6_InReceives - H0_v6_InReceives))
	R_pre4=$((H1_v4_InHdrErrors - H0_v4_InHdrErrors + H1_v4_InTruncatedPkts - H0_v4_InTruncatedPkts +
		H1_v4_InDiscards - H0_v4_InDiscards))
	R_reasm4=$((H1_v4_ReasmReqds - H0_v4_ReasmReqds - (H1_v4_ReasmOKs - H0_v4_ReasmOKs)))
	R_pre6=$((H1_v6_InHdrErrors - H0_v6_InHdrErrors + H1_v6_InTruncatedPkts - H0_v6_InTruncatedPkts +
		H1_v6_InDiscards - H0_v6_InDiscards))
	R_arr=$((R_in - R_pre4 - R_reasm4 - R_pre6))
	R_hook=$((S1_primary_packets - S0_primary_packets + S1_secondary_packets - S0_secondary_packets))
	R_ct=$((H1_ct_drop - H0_ct_drop))
	# the guests' own stacks (IPv6 housekeeping) and the host's own
	# packets to itself over lo (ICMP errors to a fuzzed source that is
	# one of its addresses) are the background, a few per round
	R_bg=$((R_rx - sent))
	R_other=$((R_in - R_rx))
	R_fig="sent=$sent rx=$R_rx (background $R_bg) ip_in=$R_in (other devices $R_other) pre_hook_v4=$R_pre4 frag_v4_held_or_merged=$R_reasm4 pre_hook_v6=$R_pre6 arrivals=$R_arr hooked=$R_hook ct_drop=$R_ct txdrop=$((H1_txdrop_ptap + H1_txdrop_cable)) malformed=$((S1_malformed - S0_malformed))"
	[ "$R_bg" -ge 0 ] && [ "$R_bg" -le 16 ] && [ "$R_other" -ge 0 ] && [ "$R_other" -le 16 ] ||
		return 1
	if [ "$exact" = 1 ]; then
		[ "$R_hook" -le "$R_arr" ] && [ $((R_arr - R_hook)) -le $((R_ct + R_other)) ]
	else
		[ "$R_hook" -le "$R_arr" ]
	fi
}

_round_ok()
{
	round_eval "$@"
}

# _sink_matches SINK0 RELEASED0 PASSED0: since then, the sink counted as
# many packets as the comparator released and passed
# shellcheck disable=SC2154 # K_*: set by load_stats/kv_load (printf -v)
_sink_matches()
{
	local n
	n=$(sink_count)
	load_stats K || return 1
	K_sink=$((n - $1))
	K_left=$((K_released - $2 + K_passed - $3))
	[ "$K_sink" -eq "$K_left" ]
}

rounds=$(((TOTAL + 2 * ROUND - 1) / (2 * ROUND)))
bad=0
sent_p=0 sent_s=0 hooked=0 arrivals=0 pre=0 ct=0 inexact=0
: >"$COLO_TMP/bad"
load_stats T0 || fail "expected instance $COLO_ID readable"
t0=$(now_ms)
for ((r = 0; r < rounds; r++)); do
	case $((r % 4)) in
	0 | 2) fam=4 frag=any exact=1 ;;
	1) fam=6 frag=no exact=1 ;;
	3) fam=6 frag=only exact=0 ;;
	esac
	kv_load H0 "$(host_counters "$NS_PHOST")"
	load_stats S0 || fail "expected instance $COLO_ID readable"
	sink0=$(sink_count)
	frames "$NS_PGUEST" eth0 fuzz --seed "$SEED" --first $((r * ROUND)) --count "$ROUND" \
		--family "$fam" --frag "$frag" >"$COLO_TMP/p.out" 2>&1 &
	pp=$!
	frames "$NS_SHOST" cable fuzz --seed "$SEED" --first $((r * ROUND)) --count "$ROUND" \
		--family "$fam" --frag "$frag" >"$COLO_TMP/s.out" 2>&1 &
	ps=$!
	wait $pp
	wait $ps
	kv_load P "$(cat "$COLO_TMP/p.out")"
	kv_load Q "$(cat "$COLO_TMP/s.out")"
	sent=$((${P_sent:-0} + ${Q_sent:-0}))
	sent_p=$((sent_p + ${P_sent:-0}))
	sent_s=$((sent_s + ${Q_sent:-0}))
	why=
	busywait 20000 _round_ok "$sent" "$exact" >/dev/null || why="counters do not add up"
	round_eval "$sent" "$exact"
	hooked=$((hooked + R_hook))
	arrivals=$((arrivals + R_arr))
	pre=$((pre + R_pre4 + R_pre6 + R_reasm4))
	ct=$((ct + R_ct))
	[ "$exact" = 1 ] || inexact=$((inexact + R_arr - R_hook))
	if ! colo_checkpoint; then
		why="$why; checkpoint refused"
	elif ! busywait 20000 _nothing_held >/dev/null; then
		why="$why; still held after the checkpoint: $(stats_kv | grep -o '[a-z]*_held_[a-z]*=[0-9]*' | tr '\n' ' ')"
	fi
	# shellcheck disable=SC2154 # S0_*, K_*: set by load_stats/kv_load (printf -v)
	busywait 10000 _sink_matches "$sink0" "$S0_released" "$S0_passed" >/dev/null ||
		why="$why; sink counted $K_sink, released + passed $K_left"
	load_stats S1
	# shellcheck disable=SC2154 # S1_*: set by load_stats/kv_load (printf -v)
	a=$((S1_primary_held_packets + S1_released - S1_released_partial + S1_passed + S1_primary_dropped + S1_primary_duplicates))
	# shellcheck disable=SC2154 # S1_*: set by load_stats/kv_load (printf -v)
	[ "$a" -eq "$S1_primary_packets" ] ||
		why="$why; primary accounting $a != primary_packets $S1_primary_packets"
	# shellcheck disable=SC2154 # S1_*: set by load_stats/kv_load (printf -v)
	[ $((S1_secondary_held_packets + S1_secondary_dropped)) -eq "$S1_secondary_packets" ] ||
		why="$why; secondary accounting"
	[ "${P_errors:-1}${Q_errors:-1}" = 00 ] || why="$why; send errors: $(cat "$COLO_TMP/p.out" "$COLO_TMP/s.out")"
	if [ -n "$why" ]; then
		bad=$((bad + 1))
		echo "round $r (ipv$fam, fragments $frag, frames $((r * ROUND))..$(((r + 1) * ROUND - 1))): ${why#; }: $R_fig" >>"$COLO_TMP/bad"
	fi
	if [ $((r % 4)) = 0 ] || [ -n "$why" ]; then
		# shellcheck disable=SC2154 # P_*, S1_*: set by load_stats/kv_load (printf -v)
		log "round $r/$rounds ipv$fam frag=$frag at $((($(now_ms) - t0) / 1000))s (senders ${P_ms}/${Q_ms} ms): $R_fig flows=$S1_flows"
	fi
done
el=$((($(now_ms) - t0) / 1000))
load_stats T1
log "primary: $(cut -d' ' -f4- "$COLO_TMP/p.out" | head -c 400)"
log "sent $sent_p frames from the primary guest, $sent_s from the secondary's link, in ${el}s ($(((sent_p + sent_s) / (el + 1))) per second)"
log "reached the COLO rules: $hooked; stopped by the IP layer before them (header errors, truncated, discards, fragments held or merged): $pre; conntrack drops: $ct; IPv6 fragment rounds, taken by defragmentation uncounted: $inexact"
# shellcheck disable=SC2154 # T0_*, T1_*: set by load_stats/kv_load (printf -v)
log "comparator: primary_packets +$((T1_primary_packets - T0_primary_packets)) secondary_packets +$((T1_secondary_packets - T0_secondary_packets)) malformed +$((T1_malformed - T0_malformed)) released +$((T1_released - T0_released)) passed +$((T1_passed - T0_passed)) primary_dropped +$((T1_primary_dropped - T0_primary_dropped)) compared_equal +$((T1_compared_equal - T0_compared_equal)) checkpoint_requests +$((T1_checkpoint_requests - T0_checkpoint_requests)) flows now $T1_flows"
expect_ge "at least $TOTAL frames sent" "$TOTAL" $((sent_p + sent_s))
expect_eq "every round: frames all received, counters explain every frame, nothing held after its checkpoint, the sink saw every released packet" \
	0 "$bad" || __diag "$(head -n 10 "$COLO_TMP/bad")"
expect_ge "the comparator saw malformed frames" 1 $((T1_malformed - T0_malformed))
expect_ge "the comparator released some (frames equal on both sides)" 1 $((T1_released - T0_released))
expect_eq "no kernel report after the rounds" "" "$(stress_noise "$mark")"
log "memory after the rounds: $(mem_kv)"

# --- 2. both guests, through the rewriter and the primary host's routing
sink_off
secondary_silence off
load_stats C0 "$NS_SHOST"
frames "$NS_PGUEST" eth0 fuzz --seed $((SEED + 1)) --count "$CHAOS" --family 46 --frag any \
	>"$COLO_TMP/p.out" 2>&1 &
pp=$!
frames "$NS_SGUEST" eth0 fuzz --seed $((SEED + 1)) --count "$CHAOS" --family 46 --frag any \
	>"$COLO_TMP/s.out" 2>&1 &
ps=$!
wait $pp
wait $ps
log "chaos: primary guest $(cut -d' ' -f1-3 "$COLO_TMP/p.out"), secondary guest $(cut -d' ' -f1-3 "$COLO_TMP/s.out")"
load_stats C1 "$NS_SHOST"
# shellcheck disable=SC2154 # C0_*, C1_*: set by load_stats/kv_load (printf -v)
expect_ge "chaos: the rewriter on the secondary host saw the secondary guest's frames" 1 \
	$((C1_rewrite_packets - C0_rewrite_packets))
expect_ok "chaos: checkpoint on both hosts" sh -c "ip netns exec $NS_PHOST $COLOCTL checkpoint $COLO_ID && ip netns exec $NS_SHOST $COLOCTL checkpoint $COLO_ID"
expect_ok "chaos: nothing held afterwards" busywait 20000 _nothing_held
accounting_check "chaos"
log "chaos: $(stats_kv | tr ' ' '\n' | grep -E '^(primary_packets|secondary_packets|malformed|released|passed|primary_dropped|compared_equal|flows)=' | tr '\n' ' ')"
# shellcheck disable=SC2154 # C0_*, C1_*: set by load_stats/kv_load (printf -v)
log "chaos: secondary host: rewrite_packets +$((C1_rewrite_packets - C0_rewrite_packets)) rewritten_flows $C1_rewritten_flows malformed +$((C1_malformed - C0_malformed))"
expect_eq "no kernel report after the chaos run" "" "$(stress_noise "$mark")"

# --- 3. the module still works
colo_checkpoint
guests_udp_serve 5012 "" "" || fail "expected the UDP servers in both guests"
guests_tcp_serve 5013 "--write-size 1000" "--write-size 8192" || fail "expected the TCP servers"
load_stats W0
for fam in 4 6; do
	host=PG$fam
	host=${!host}
	expect_ok "afterwards, ipv$fam: 20 UDP echoes, compared" \
		on_client python3 "$COLO_TOOLS/colo_udp.py" send --host "$host" --port 5012 \
		--count 20 --interval-ms 5 --timeout 30
	expect_ok "afterwards, ipv$fam: a 200000-byte TCP download, compared" \
		on_client python3 "$COLO_TOOLS/colo_tcp.py" get --host "$host" --port 5013 \
		--bytes 200000 --seed $((fam + 60)) --timeout 60
done
load_stats W1
# shellcheck disable=SC2154 # W0_*, W1_*: set by load_stats/kv_load (printf -v)
expect_eq "afterwards: no checkpoint request from the ordinary traffic" 0 \
	$((W1_checkpoint_requests - W0_checkpoint_requests + W1_checkpoint_suppressed - W0_checkpoint_suppressed))
# shellcheck disable=SC2154 # W0_*, W1_*: set by load_stats/kv_load (printf -v)
expect_ge "afterwards: the ordinary traffic was compared" 40 $((W1_compared_equal - W0_compared_equal))
expect_eq "no kernel report at the end" "" "$(stress_noise "$mark")"
log "memory at the end: $(mem_kv)"

ktap_finished
