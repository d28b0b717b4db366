#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Teardown and state changes while packets are held and traffic flows: every
# held packet is released or counted, nothing leaks, no kernel report.
# STRESS_HELD (2000) primary datagrams are held (the secondary guest is
# silent) and, for teardowns, as many secondary datagrams on other flows;
# meanwhile the primary guest keeps sending (STRESS_LIFE_RATE, 300/s). An
# nft chain after mangle (the sink) counts what leaves the comparator.
#   1. rules deleted, then the instance: every datagram the primary guest
#      sent reached the sink or was counted dropped by the instance;
#   2. rules deleted, then `modprobe -r xt_COLO` with the instance and its
#      packets still there: the same, and the module loads again with no
#      instance;
#   3. `coloctl failover`: the held packets leave, later ones pass
#      uncompared, the counters add up, the sink saw every one;
#   4. fail-open (timeout 200 ms, failopen 1000 ms, no checkpoint ever
#      answered): the same, and a checkpoint makes it compare again;
#   5. the primary guest's veth deleted on the primary host: it returns at
#      once, the held packets are dropped and counted, skbuff_head_cache
#      comes back;
#   6. `ip netns del` of the primary host's namespace with packets held on
#      both sides: skbuff_head_cache comes back, and once the topology is
#      gone the module unloads (the namespace's instance let go of it).

source "$(dirname "$0")/lib/stress.sh"

HELD=${STRESS_HELD:-2000}
RATE=${STRESS_LIFE_RATE:-300}

stress_require
# shellcheck disable=SC2034 # read by colo_topology_cleanup (lib/topology.sh)
COLO_KEEP_TMP=1	# the topology is built twice; $COLO_TMP stays
cleanup()
{
	colo_topology_cleanup
	rm -rf "$COLO_TMP"
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

rx_ptap()
{
	on_phost cat /sys/class/net/ptap/statistics/rx_packets
}

# setup: the topology, protection, the silent secondary, the sink
setup()
{
	colo_topology_setup || fail "expected the two-host topology to come up"
	colo_setup_protection timeout 60000 failopen 0 ||
		fail "expected instance $COLO_ID and the COLO rules on both hosts"
	secondary_silence on || fail "expected the secondary guest's output cut"
	sink_on || fail "expected the sink chain on the primary host"
}

# hold DESC [secondary|seen]: HELD primary datagrams held (and HELD
# secondary ones on other flows; or only seen by the comparator); starts
# the primary guest's background traffic
hold()
{
	load_stats H0
	SINK0=$(sink_count)
	RX0=$(rx_ptap)
	pri --flows 100 --count "$HELD" >/dev/null
	if [ "${2:-}" = seen ]; then	# they may leave by themselves (fail-open)
		# shellcheck disable=SC2154 # H0_*, K_*, L_*: set by load_stats (printf -v)
		expect_ok "$1: $HELD primary datagrams seen" \
			busywait 60000 stat_is primary_packets -ge $((H0_primary_packets + HELD))
	else
		# shellcheck disable=SC2154 # H0_*, K_*, L_*: set by load_stats (printf -v)
		expect_ok "$1: $HELD primary datagrams held" \
			busywait 60000 stat_is primary_held_packets -ge $((H0_primary_held_packets + HELD))
	fi
	if [ "${2:-}" = secondary ]; then
		sec --flows 100 --first-flow 10000 --count "$HELD" >/dev/null
		expect_ok "$1: $HELD secondary datagrams held" \
			busywait 60000 stat_is secondary_held_packets -ge "$HELD"
	fi
	_bg "$NS_PGUEST" traffic "$FRAMES" flows --dev eth0 --smac "$GUESTMAC" --dmac "$GWMAC" \
		--flows 100 --first-flow 5000 --count 0 --rate "$RATE" --keep-going
	busywait 10000 stat_is primary_packets -gt $((H0_primary_packets + HELD)) >/dev/null
	log "$1: held: $(stats_kv | tr ' ' '\n' | grep -E '_held_' | tr '\n' ' ')"
}

traffic_stop()
{
	bg_stop traffic
	log "traffic: $(cat "$COLO_TMP/traffic.out" 2>/dev/null)"
}

# _all_arrived DROPPED: every frame the primary guest's device delivered
# since RX0 reached the sink or was dropped by the instance (DROPPED)
_all_arrived()
{
	local rx sink
	rx=$(($(rx_ptap) - RX0))
	sink=$(($(sink_count) - SINK0))
	AR_fig="delivered on ptap $rx, sink $sink, dropped by the instance $1"
	[ "$rx" -eq $((sink + $1)) ]
}

# _sink_matches: the sink counted what the instance released and passed
_sink_matches()
{
	local n
	n=$(sink_count)
	load_stats K || return 1
	K_sink=$((n - SINK0))
	# shellcheck disable=SC2154 # H0_*, K_*, L_*: set by load_stats (printf -v)
	K_left=$((K_released - H0_released + K_passed - H0_passed))
	[ "$K_sink" -eq "$K_left" ]
}

slab_skbs()
{
	echo 1 >/sys/kernel/slab/skbuff_head_cache/shrink 2>/dev/null
	cut -d' ' -f1 /sys/kernel/slab/skbuff_head_cache/objects
}

_skbs_le()
{
	[ "$(slab_skbs)" -le "$1" ]
}

setup
mark=$(kmsg_mark)

# --- 1. rules, then the instance, deleted while traffic flows
hold "instance del" secondary
expect_ok "instance del: the rules come out with traffic flowing" colo_rules -D primary secondary
load_stats L
expect_ok "instance del: coloctl instance del $COLO_ID" colo_ctl "$NS_PHOST" instance del "$COLO_ID"
traffic_stop
# shellcheck disable=SC2154 # H0_*, K_*, L_*: set by load_stats (printf -v)
dropped=$((L_primary_dropped - H0_primary_dropped))
expect_ok "instance del: every frame of the primary guest reached the sink or was counted dropped" \
	busywait 20000 _all_arrived "$dropped"
_all_arrived "$dropped"
# shellcheck disable=SC2154 # H0_*, K_*, L_*: set by load_stats (printf -v)
log "instance del: $AR_fig; held when deleted: $L_primary_held_packets primary, $L_secondary_held_packets secondary"
expect_eq "instance del: no kernel report" "" "$(stress_noise "$mark")"

# --- 2. rules deleted, then the module unloaded while traffic flows
{ colo_ctl "$NS_PHOST" instance add "$COLO_ID" timeout 60000 failopen 0 >/dev/null &&
	colo_rules -A primary secondary; } || fail "expected instance $COLO_ID and the rules again"
hold "rmmod" secondary
expect_ok "rmmod: the rules come out with traffic flowing" colo_rules -D
load_stats L
# the other host's instance goes with the module too
expect_ok "rmmod: modprobe -r xt_COLO with the instances and their packets there" \
	busywait 15000 modprobe -r xt_COLO ||
	log "refcnt $(cat /sys/module/xt_COLO/refcnt 2>&1)"
traffic_stop
dropped=$((L_primary_dropped - H0_primary_dropped))
expect_ok "rmmod: every frame of the primary guest reached the sink or was counted dropped" \
	busywait 20000 _all_arrived "$dropped"
_all_arrived "$dropped"
log "rmmod: $AR_fig; held at the unload: $L_primary_held_packets primary, $L_secondary_held_packets secondary"
expect_eq "rmmod: no kernel report" "" "$(stress_noise "$mark")"
colo_module_load
expect_fail "rmmod: no instance survived the unload" colo_ctl "$NS_PHOST" instance show "$COLO_ID"

# --- 3. failover
colo_setup_protection timeout 60000 failopen 0 ||
	fail "expected the instances and the rules again"
hold "failover"
expect_ok "failover: coloctl failover $COLO_ID" colo_ctl "$NS_PHOST" failover "$COLO_ID"
expect_ok "failover: nothing held" busywait 20000 _nothing_held
expect_eq "failover: state" "failed-over" "$(colo_stat state)"
p0=$(colo_stat passed)
expect_ok "failover: later packets pass uncompared" busywait 20000 stat_is passed -gt "$p0"
traffic_stop
expect_ok "failover: the sink got every packet released or passed" busywait 20000 _sink_matches ||
	log "sink $K_sink, released + passed $K_left"
accounting_check "failover"
expect_eq "failover: no kernel report" "" "$(stress_noise "$mark")"

# --- 4. fail-open: nobody answers the checkpoint request
colo_reset_primary_instance timeout 200 failopen 1000 ||
	fail "expected instance $COLO_ID with timeout 200 failopen 1000"
hold "fail-open" seen
expect_ok "fail-open: the instance fails open by itself" busywait 30000 stat_is fail_opens -ge 1
expect_eq "fail-open: state" "fail-open" "$(colo_stat state)"
expect_ok "fail-open: nothing held" busywait 20000 _nothing_held
traffic_stop
expect_ok "fail-open: the sink got every packet released or passed" busywait 20000 _sink_matches ||
	log "sink $K_sink, released + passed $K_left"
accounting_check "fail-open"
expect_ok "fail-open: a checkpoint makes it compare again" colo_checkpoint
expect_eq "fail-open: state after the checkpoint" "active" "$(colo_stat state)"
log "fail-open: $(stats_kv | tr ' ' '\n' | grep -E '^(fail_opens|divergence_timeout|checkpoint_requests|released|passed|primary_dropped)=' | tr '\n' ' ')"
expect_eq "fail-open: no kernel report" "" "$(stress_noise "$mark")"

# --- 5. the primary guest's device goes away
colo_reset_primary_instance timeout 60000 failopen 0 ||
	fail "expected instance $COLO_ID with timeout 60000"
base=$(slab_skbs)
hold "device del"
t0=$(now_ms)
expect_ok "device del: ip link del ptap returns" timeout 60 ip -n "$NS_PHOST" link del ptap
el=$(($(now_ms) - t0))
log "device del: took $el ms"
# A device a held packet still referenced would keep unregister_netdevice
# waiting 10 s and more; the rest of the time is ip(8) in the emulated
# guest, which a debug kernel slows several times (colo_teardown.sh has the
# measurements), so the bound grows with COLO_TIMEOUT_SCALE as busywait's do.
expect_le "device del: without waiting for device references (ms)" \
	"$(colo_scaled 5000)" "$el"
expect_ok "device del: nothing held" busywait 20000 _nothing_held
bg_wait traffic 20000 >/dev/null || bg_stop traffic
log "traffic: $(cat "$COLO_TMP/traffic.out" 2>/dev/null)"
accounting_check "device del"
load_stats L
expect_ge "device del: the held packets were counted as dropped" $((H0_primary_dropped + HELD)) "$L_primary_dropped"
expect_ok "device del: skbuff_head_cache back to $base (+64)" busywait 20000 _skbs_le $((base + 64))
expect_eq "device del: no kernel report" "" "$(stress_noise "$mark")"
colo_topology_cleanup

# --- 6. the primary host's namespace goes away
setup
base=$(slab_skbs)
hold "netns del" secondary
nsp=$NS_PHOST
t0=$(now_ms)
expect_ok "netns del: ip netns del with packets held on both sides" ip netns del "$nsp"
log "netns del: took $(($(now_ms) - t0)) ms"
bg_wait traffic 30000 >/dev/null || bg_stop traffic
log "traffic: $(cat "$COLO_TMP/traffic.out" 2>/dev/null)"
COLO_NAMESPACES=${COLO_NAMESPACES//$nsp/}
expect_ok "netns del: skbuff_head_cache back to $base (+64)" busywait 60000 _skbs_le $((base + 64)) ||
	log "skbuff_head_cache: $(slab_skbs)"
colo_topology_cleanup
expect_ok "netns del: the module unloads once the namespaces are gone" busywait 30000 modprobe -r xt_COLO ||
	log "refcnt $(cat /sys/module/xt_COLO/refcnt 2>&1)"
colo_module_load
expect_eq "netns del: no kernel report" "" "$(stress_noise "$mark")"

ktap_finished
