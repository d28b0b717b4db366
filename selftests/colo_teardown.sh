#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Teardown with primary packets held: nothing is lost,
# nothing leaks, the kernel log stays quiet.
#   1. `coloctl instance del` (after removing the rules) with 200 primary
#      UDP answers held: the client receives all 200; the skbuff_head_cache
#      slab goes back to where it was before the traffic (the held packets
#      showed up there, so a leak would too); no kernel log lines.
#   2. Module unload (`modprobe -r xt_COLO` once every rule is gone, the
#      instances still existing) with 200 answers held: the same; the module
#      then loads again with no instance left behind.
#   3. The primary tap is deleted while 50 answers are held: the deletion
#      does not hang on device references, the held packets are dropped and
#      counted, the slab goes back, the kernel log stays quiet.
# The secondary guest is silenced (nft on the secondary host) so that the
# primary's answers can only be held; timeout 60 s, fail-open off.
# Slab counts are read after writing /sys/kernel/slab/<cache>/shrink, which
# flushes the per-CPU slabs: `objects` is then the number in use.

source "$(dirname "$0")/lib/topology.sh"

PORT=5011
CACHE=skbuff_head_cache
HELD=200

colo_require
trap colo_topology_cleanup EXIT
[ -w /sys/kernel/slab/$CACHE/shrink ] || skip "no /sys/kernel/slab/$CACHE (SLUB sysfs)"

slab_objects()
{
	echo 1 >/sys/kernel/slab/$CACHE/shrink
	cut -d' ' -f1 /sys/kernel/slab/$CACHE/objects
}

# slab_settles BASE SLACK: the cache comes back within SLACK of BASE
_slab_near()
{
	[ "$(slab_objects)" -le $(($1 + $2)) ]
}

# hold N NAME SPORT DESC: the client sends N datagrams (in the background);
# all N answers must end up held by the primary
hold()
{
	_bg "$NS_CLIENT" "$2" python3 "$COLO_TOOLS/colo_udp.py" send --host $PG4 --port $PORT \
		--count "$1" --size 100 --interval-ms 2 --sport "$3" --timeout 120 \
		--progress "$COLO_TMP/$2.progress"
	expect_ok "$4" busywait 60000 stat_is primary_held_packets -ge "$1"
}

protect()
{
	colo_setup_protection timeout 60000 failopen 0
}

colo_topology_setup || fail "expected the two-host topology to come up"
protect || fail "expected instance $COLO_ID and the COLO rules"
guests_udp_serve $PORT "" "" || fail "expected the UDP servers in both guests"
secondary_silence on || fail "expected the secondary guest's output cut"
# warm up: the first datagrams of a namespace allocate lasting objects
hold 5 warm 40200 "warm-up: 5 primary answers held"
colo_checkpoint
bg_wait warm 30000 >/dev/null

# --- 1. instance del
base=$(slab_objects)
hold $HELD udp1 40201 "instance del: $HELD primary answers held"
held=$(slab_objects)
log "$CACHE: $base objects before, $held with the answers held"
expect_ge "instance del: the held packets show in $CACHE (so would a leak)" \
	$((base + HELD * 3 / 4)) "$held"
mark=$(kmsg_mark)
expect_ok "instance del: the rules come out" colo_rules -D primary secondary
expect_eq "instance del: removing the rules kept the held packets" $HELD \
	"$(colo_stat primary_held_packets)"
expect_ok "instance del: coloctl instance del $COLO_ID" colo_ctl "$NS_PHOST" instance del "$COLO_ID"
expect_ok "instance del: the client receives all $HELD answers" \
	busywait 30000 _progress_ge "$COLO_TMP/udp1.progress" $HELD
bg_wait udp1 30000
rc=$?
expect_eq "instance del: in order, intact" "0 true" "$rc $(json_out udp1 ok)"
expect_ok "instance del: $CACHE back to $base (+8)" busywait 10000 _slab_near "$base" 8
log "$CACHE after: $(slab_objects)"
expect_eq "instance del: no kernel log lines" "" "$(kmsg_noise "$mark")"

# --- 2. module unload
{ colo_ctl "$NS_PHOST" instance add "$COLO_ID" timeout 60000 failopen 0 >/dev/null &&
	colo_rules -A primary secondary; } || fail "expected instance $COLO_ID and the rules again"
base=$(slab_objects)
hold $HELD udp2 40202 "unload: $HELD primary answers held"
held=$(slab_objects)
expect_ge "unload: the held packets show in $CACHE" $((base + HELD * 3 / 4)) "$held"
mark=$(kmsg_mark)
expect_ok "unload: every COLO rule comes out" colo_rules -D
# nf_tables frees deleted rules (and their module references) from a work
# item after the commit: give it a moment, as rules.sh does.
expect_ok "unload: modprobe -r xt_COLO with the instances and $HELD packets still there" \
	busywait 10000 modprobe -r xt_COLO ||
	log "xt_COLO refcnt: $(cat /sys/module/xt_COLO/refcnt 2>&1); namespaces: $(ip netns list | tr '\n' ' ')"
expect_ok "unload: the client receives all $HELD answers" \
	busywait 30000 _progress_ge "$COLO_TMP/udp2.progress" $HELD
bg_wait udp2 30000
rc=$?
expect_eq "unload: in order, intact" "0 true" "$rc $(json_out udp2 ok)"
expect_ok "unload: $CACHE back to $base (+8)" busywait 10000 _slab_near "$base" 8
log "$CACHE after: $(slab_objects)"
expect_eq "unload: no kernel log lines" "" "$(kmsg_noise "$mark")"
colo_module_load
expect_fail "reload: no instance survived the unload" \
	colo_ctl "$NS_PHOST" instance show "$COLO_ID"

# --- 3. the primary tap goes away with packets held
protect || fail "expected instance $COLO_ID and the rules again"
base=$(slab_objects)
hold 50 udp3 40203 "tap deleted: 50 primary answers held"
mark=$(kmsg_mark)
t0=$(now_ms)
expect_ok "tap deleted: ip link del ptap returns" timeout 60 ip -n "$NS_PHOST" link del ptap
el=$(($(now_ms) - t0))
# A device still referenced (a held packet's skb->dev) would keep
# unregister_netdevice waiting, 10 s and more with its "waiting for ptap to
# become free" line. What else this measures is mostly ip(8) itself: on
# the debug kernel under TCG and load (make check-debug), deleting a bare
# veth took 13.7 s and an `ip link show` right after it 15.3 s, while
# xt_COLO's notifier took 35-319 ms over all its calls of a deletion with 50
# packets held (kprobes). So the bound grows with COLO_TIMEOUT_SCALE as
# busywait's do; there the waiting line fails the run anyway.
expect_le "tap deleted: without waiting for device references (ms)" \
	"$(colo_scaled 5000)" "$el"
s=$(colo_stats primary_held_packets primary_dropped)
log "$s"
expect_eq "tap deleted: nothing held any more" 0 "$(colo_stat primary_held_packets)"
expect_ge "tap deleted: the held packets were counted as dropped" 50 "$(colo_stat primary_dropped)"
bg_stop udp3
expect_ok "tap deleted: $CACHE back to $base (+8)" busywait 10000 _slab_near "$base" 8
expect_eq "tap deleted: no kernel log lines" "" "$(kmsg_noise "$mark")"

ktap_finished
