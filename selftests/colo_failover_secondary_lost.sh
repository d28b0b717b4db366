#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The secondary host dies in the middle of transfers and the primary goes on
# alone; its clients see no error (issue 4, test 3).
#
# Two-host topology (lib/topology.sh) with two comparator instances on the
# primary host: IPv4 is protected by instance 1 (default timeout, never
# fails open), IPv6 by instance 2 (timeout 4000 ms, failopen 1000 ms); the
# secondary host's rewriter has the same split.  The client downloads a
# seeded stream over each family at once; when both are past 30% the
# secondary host is cut off as a dead host is (links lose carrier, processes
# die, namespaces deleted, so the primary host's end of the cable vanishes).
# Then:
#   - instance 1 gets `coloctl failover 1` on the primary host (procedure A):
#     event failover, state failed-over, held packets released, the IPv4
#     download completes byte-identical without error, and its packets now
#     count as passed;
#   - instance 2 is left alone: a held packet times out, a checkpoint
#     request goes out, no checkpoint comes, and after the fail-open bound
#     it fails open by itself (event fail-open, state fail-open, counted);
#     the IPv6 download completes byte-identical without error;
#   - failing over instance 1 did not touch instance 2 (still active until
#     its own fail-open); nothing stays held; no kernel warning.

source "$(dirname "$0")/lib/topology.sh"
# shellcheck source=lib/failover.sh
source "$COLO_SELFTESTS/lib/failover.sh"

BYTES=${COLO_FAILOVER_BYTES:-10485760}
# both servers send at most RATE bytes/s per connection: the downloads last
# at least 40 s, so that they are still running when the cut lands (on a
# debug kernel, where the cut takes seconds more, COLO_TIMEOUT_SCALE times
# longer)
RATE=$(colo_slowed 262144)
PORT=5102
FLOWS=$COLO_TOOLS/failover_flows.py
ID4=1
ID6=2
EV=

colo_require
require_cmd jq
trap colo_topology_cleanup EXIT
mark=$(kmsg_mark)

colo_topology_setup || fail "expected the two-host topology to come up"
# instance 1 never fails open (only coloctl failover ends its comparing);
# instance 2 asks for a checkpoint after 4 s and fails open 1 s later (a
# timeout of 1.5 s expired before the cut under load 5-8: a secondary guest
# lagging that much is no divergence, and the wait for the fail-open below
# has room for 4 s); all three times COLO_TIMEOUT_SCALE on a debug kernel
TMO4=$(colo_scaled 3000)
TMO6=$(colo_scaled 4000)
FAILOPEN6=$(colo_scaled 1000)
out=$(colo_ctl "$NS_PHOST" instance add $ID4 timeout "$TMO4" failopen 0 &&
	colo_ctl "$NS_PHOST" instance add $ID6 timeout "$TMO6" failopen "$FAILOPEN6" &&
	colo_ctl "$NS_SHOST" instance add $ID4 && colo_ctl "$NS_SHOST" instance add $ID6) ||
	fail "expected instances $ID4 and $ID6 on both hosts, saw: $out"
rules()
{
	local ipt=$1 id=$2
	on_phost "$ipt" -t mangle -A PREROUTING -i ptap -j COLO --instance "$id" --primary &&
	on_phost "$ipt" -t raw -A PREROUTING -i cable -j COLO --instance "$id" --secondary &&
	on_shost "$ipt" -t mangle -A PREROUTING -m physdev --physdev-in stap \
		-j COLO --instance "$id" --rewrite &&
	on_shost "$ipt" -t mangle -A PREROUTING -m physdev --physdev-in cable \
		-j COLO --instance "$id" --rewrite-client
}
{ rules iptables $ID4 && rules ip6tables $ID6; } ||
	fail "expected the COLO rules: IPv4 on instance $ID4, IPv6 on instance $ID6"
serve()
{
	_bg "$1" "$2" python3 "$FLOWS" serve --port $PORT --write-size "$3" --rate "$RATE" \
		--fin-wait "$(colo_scaled 120)" --log "$COLO_TMP/$2.log"
	busywait 20000 _listening "$1" t $PORT ||
		fail "expected $2 to listen: $(cat "$COLO_TMP/$2.out")"
}
serve "$NS_PGUEST" pg 1000
serve "$NS_SGUEST" sg 65536
EV=$COLO_TMP/events
colo_monitor_start "$EV" || fail "expected coloctl monitor -j to subscribe to the events group"

t0=$(now_ms)
_bg "$NS_CLIENT" dl4 python3 "$FLOWS" get --host $PG4 --port $PORT --bytes "$BYTES" \
	--seed 41 --progress "$COLO_TMP/dl4.progress" --timeout "$(colo_scaled 300)"
_bg "$NS_CLIENT" dl6 python3 "$FLOWS" get --host $PG6 --port $PORT --bytes "$BYTES" \
	--seed 61 --progress "$COLO_TMP/dl6.progress" --timeout "$(colo_scaled 300)"
both_past()
{
	_progress_ge "$COLO_TMP/dl4.progress" "$1" && _progress_ge "$COLO_TMP/dl6.progress" "$1"
}
if ! busywait 180000 both_past $((BYTES * 3 / 10)) >/dev/null; then
	failover_evidence "downloads did not reach 30%"
	fail "expected both downloads past $((BYTES * 3 / 10)) bytes, saw IPv4 $(progress_of "$COLO_TMP/dl4.progress"), IPv6 $(progress_of "$COLO_TMP/dl6.progress")"
fi
# counters before the cut (instance 2 may fail open while the cut runs)
before4=$(colo_stat passed "$NS_PHOST" $ID4)
before6=$(colo_stat passed "$NS_PHOST" $ID6)
# the guests' TCP state just before the cut, for a failure report
pre_cut="primary guest: $(on_pguest ss -Htni | tr '\n\t' '  ') | secondary guest: $(on_sguest ss -Htni | tr '\n\t' '  ') | instances: $(colo_ctl "$NS_PHOST" instance show -j | tr -d '\n')"
FO_WATCH="$COLO_TMP/dl4.progress $COLO_TMP/dl6.progress"
fo_step "secondary host cut off: links down, processes killed, namespaces deleted" \
	failover_cut_secondary del || failover_evidence "cut"
read -r at4 at6 <<<"$FO_AT_CUT"
log "both downloads had passed 30% $((FO_CUT_T - t0)) ms after they started"
expect_eq "no divergence while both hosts were alive" 0 \
	"$(failover_events_before_cut "$EV" divergence)" || {
	log "events: $(grep -v "\"instance\": $COLO_SYNC_ID" "$EV")"
	log "just before the cut: $pre_cut"
}
log "when the links went down: IPv4 $at4, IPv6 $at6 of $BYTES bytes (the cut took $(($(now_ms) - FO_CUT_T)) ms more)"
expect_between "IPv4 download mid-transfer at the cut" $((BYTES / 10)) $((BYTES * 95 / 100)) "$at4"
expect_between "IPv6 download mid-transfer at the cut" $((BYTES / 10)) $((BYTES * 95 / 100)) "$at6"

# A: coloctl failover on the primary host, for instance 1 only
fo_step "coloctl failover $ID4 on the primary host" failover_primary_continue $ID4
expect_ok "event failover for instance $ID4" \
	wait_events 10000 "$EV" 1 --event failover --instance $ID4
expect_eq "instance $ID4: role and state" "primary failed-over" \
	"$(colo_stat role "$NS_PHOST" $ID4) $(colo_stat state "$NS_PHOST" $ID4)"
st6=$(colo_stat state "$NS_PHOST" $ID6)
expect_match "instance $ID6 not touched by the failover of $ID4 (active, or already fail-open)" \
	'^(active|fail-open)$' "$st6"
expect_ok "instance $ID4: the IPv4 download moves again" \
	busywait 30000 fo_progress_gt "$COLO_TMP/dl4.progress" "$at4"
log "IPv4 moving again $(($(now_ms) - FO_TAKEOVER_DONE_T)) ms after coloctl failover"

# fail-open: instance 2 on its own
expect_ok "instance $ID6 fails open by itself (event fail-open)" \
	wait_events 20000 "$EV" 1 --event fail-open --instance $ID6
log "instance $ID6 failed open $(($(now_ms) - FO_CUT_T)) ms after the cut began"
expect_eq "instance $ID6: role and state" "primary fail-open" \
	"$(colo_stat role "$NS_PHOST" $ID6) $(colo_stat state "$NS_PHOST" $ID6)"
expect_ge "instance $ID6: a checkpoint request (timeout) came first" 1 \
	"$(events_count "$EV" --event divergence --instance $ID6 --reason timeout)"
expect_eq "instance $ID6: fail-opens counted" 1 "$(colo_stat fail_opens "$NS_PHOST" $ID6)"
expect_eq "instance $ID4: no fail-open (it never fails open; failover ended it)" 0 \
	"$(events_count "$EV" --event fail-open --instance $ID4)"
fo_step "the mirror toward the dead secondary host is removed" failover_primary_unmirror

for fam in 4 6; do
	rc=0
	bg_wait dl$fam 240000 || rc=$?
	log "IPv$fam: $(cat "$COLO_TMP/dl$fam.out")"
	expect_eq "IPv$fam: client exit status (0: whole stream, byte-identical)" 0 "$rc" ||
		failover_evidence "IPv$fam download"
	expect_eq "IPv$fam: the client's socket never failed" null "$(json_out dl$fam error)"
	expect_eq "IPv$fam: sha256 of the $BYTES bytes received" \
		"$(json_out dl$fam expected_sha256)" "$(json_out dl$fam sha256)"
done
log "downloads: $(($(now_ms) - t0)) ms in all"

after4=$(colo_stat passed "$NS_PHOST" $ID4)
after6=$(colo_stat passed "$NS_PHOST" $ID6)
expect_ge "instance $ID4: the rest of the download passed uncompared" $((before4 + 10)) "$after4"
expect_ge "instance $ID6: the rest of the download passed uncompared" $((before6 + 10)) "$after6"
for id in $ID4 $ID6; do
	expect_eq "instance $id: nothing held" "0 0" \
		"$(colo_stat primary_held_packets "$NS_PHOST" "$id") $(colo_stat secondary_held_packets "$NS_PHOST" "$id")"
done
expect_ok "a new connection after failover completes (1 MiB)" \
	on_client python3 "$FLOWS" get --host $PG4 --port $PORT --bytes 1048576 --seed 42 --timeout "$(colo_scaled 60)"

colo_show "$NS_PHOST" $ID6
log "instance $ID6: $(tr -d '\n' <"$COLO_TMP/show.json")"
noise=$(kmsg_noise "$mark" | grep -v "instance $ID6: no checkpoint within $FAILOPEN6 ms, passing traffic uncompared")
expect_eq "no kernel warnings or module messages besides instance $ID6's fail-open notice" "" "$noise"
ktap_finished
