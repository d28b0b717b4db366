#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `coloctl monitor --exec CMD` end to end (issue 3, test 7): the helper that
# turns a checkpoint request into a checkpoint.
#   1. A UDP answer differs: CMD runs once with COLO_INSTANCE, COLO_REASON
#      and the flow fields in its environment (checked against the flow),
#      exits 0, coloctl sends the checkpoint itself (a checkpoint event, the
#      checkpoints counter, nothing pending) and the held answers reach the
#      client; later traffic flows without running CMD again.
#   2. A TCP stream differs at byte 5000: COLO_PROTO=tcp and COLO_OFFSET=5000
#      reach CMD, the download completes after coloctl's checkpoint.
#   3. CMD exits 1: coloctl says so on stderr, no checkpoint is sent, the
#      request stays pending and the client stays blocked; the monitor keeps
#      running; a manual checkpoint then lets the traffic through.

source "$(dirname "$0")/lib/topology.sh"

UPORT=5007
TPORT=5008

colo_require
trap colo_topology_cleanup EXIT
colo_topology_setup || fail "expected the two-host topology to come up"
colo_setup_protection failopen 0 || fail "expected instance $COLO_ID and the COLO rules"

H=$COLO_TMP/helper
mkdir -p "$H"
echo 0 >"$H/rc"
cat >"$H/helper.sh" <<EOF
#!/bin/sh
# test helper: record the environment of each run, exit with \$(cat rc)
n=\$(( \$(cat "$H/runs" 2>/dev/null || echo 0) + 1 ))
env | grep '^COLO_' | sort >"$H/env.\$n"
echo \$n >"$H/runs"
exit \$(cat "$H/rc")
EOF
chmod +x "$H/helper.sh"

EV=$COLO_TMP/events
colo_monitor_start "$EV" --exec "$H/helper.sh" ||
	fail "expected coloctl monitor -j --exec to subscribe"
EXEC_PID=$COLO_MONITOR_PID

runs()
{
	cat "$H/runs" 2>/dev/null || echo 0
}

_runs_ge()
{
	[ "$(runs)" -ge "$1" ]
}

ckpts()
{
	events_count "$EV" --event checkpoint --instance "$COLO_ID"
}

# --- 1. UDP divergence, helper exits 0
guests_udp_serve $UPORT "" "--alter-index 3" || fail "expected the UDP servers"
_bg "$NS_CLIENT" udp1 python3 "$COLO_TOOLS/colo_udp.py" send --host $PG4 --port $UPORT \
	--count 10 --interval-ms 10 --timeout 90 --sport 40100 --progress "$COLO_TMP/udp1.progress"
expect_ok "UDP: the helper runs for the checkpoint request" busywait 30000 _runs_ge 1
env1=$(cat "$H/env.1" 2>/dev/null)
log "helper environment: $(tr '\n' ' ' <<<"$env1")"
for kv in COLO_INSTANCE=$COLO_ID COLO_REASON=payload COLO_FAMILY=ipv4 COLO_PROTO=udp \
	  COLO_SADDR=$PG4 COLO_DADDR=$CL4 COLO_SPORT=$UPORT COLO_DPORT=40100; do
	expect_match "UDP: helper environment has $kv" "^$kv\$" "$env1"
done
expect_no_match "UDP: no COLO_OFFSET for a datagram flow" '^COLO_OFFSET=' "$env1"
expect_ok "UDP: coloctl sent the checkpoint (checkpoint event)" \
	busywait 15000 _events_ge "$EV" 1 --event checkpoint --instance "$COLO_ID"
expect_eq "UDP: counters after the helper's checkpoint" "checkpoints=1 pending=false" \
	"$(colo_stats checkpoints pending)"
bg_wait udp1 60000
rc=$?
expect_eq "UDP: the held answers reached the client" "0 true" "$rc $(json_out udp1 ok)"
expect_ok "UDP: later traffic flows" \
	on_client python3 "$COLO_TOOLS/colo_udp.py" send --host $PG4 --port $UPORT \
	--count 10 --interval-ms 5 --timeout 30
expect_eq "UDP: the helper ran once" 1 "$(runs)"
guests_stop udp$UPORT

# --- 2. TCP divergence at byte 5000
guests_tcp_serve $TPORT "--write-size 1000" "--write-size 4096 --corrupt-at 5000" ||
	fail "expected the TCP servers"
expect_ok "TCP: the download completes through the helper's checkpoint" \
	on_client python3 "$COLO_TOOLS/colo_tcp.py" get --host $PG4 --port $TPORT \
	--bytes 20000 --seed 9 --timeout 90
# (after the checkpoint the old connection may diverge again and run the
# helper once more: the namespaces cannot copy the primary guest into the
# secondary, see issue 3; the first TCP run is the one checked)
expect_ge "TCP: the helper ran for the TCP divergence" 2 "$(runs)"
env2=$(cat "$H/env.2" 2>/dev/null)
log "helper environment: $(tr '\n' ' ' <<<"$env2")"
for kv in COLO_REASON=payload COLO_PROTO=tcp COLO_OFFSET=5000 COLO_SPORT=$TPORT; do
	expect_match "TCP: helper environment has $kv" "^$kv\$" "$env2"
done
expect_eq "TCP: one checkpoint per helper run" "$(runs)" "$(colo_stat checkpoints)"
guests_stop tcp$TPORT

# --- 3. the helper fails
expect_ok "no checkpoint request pending before the failing run" \
	busywait 10000 stat_is pending = false
echo 1 >"$H/rc"
c0=$(ckpts)
r0=$(runs)
k0=$(colo_stat checkpoints)
guests_udp_serve $UPORT "" "--alter-index 3" || fail "expected the UDP servers"
_bg "$NS_CLIENT" udp3 python3 "$COLO_TOOLS/colo_udp.py" send --host $PG4 --port $UPORT \
	--count 10 --interval-ms 10 --timeout 90 --sport 40102 --progress "$COLO_TMP/udp3.progress"
expect_ok "failing helper: it runs" busywait 30000 _runs_ge $((r0 + 1))
expect_ok "failing helper: coloctl reports the failure on stderr" \
	busywait 10000 grep -qiE 'fail.* 1|status 1' "$EV.stderr"
log "monitor stderr: $(tail -n 3 "$EV.stderr" | tr '\n' ' ')"
expect_eq "failing helper: no checkpoint sent, request still pending" \
	"checkpoints=$k0 pending=true" "$(colo_stats checkpoints pending)"
expect_eq "failing helper: no checkpoint event" "$c0" "$(ckpts)"
busywait 5000 _progress_ge "$COLO_TMP/udp3.progress" 3 >/dev/null
expect_eq "failing helper: the client is blocked after answer 2" 3 \
	"$(progress_of "$COLO_TMP/udp3.progress")"
expect_ok "failing helper: the monitor keeps running" kill -0 "$EXEC_PID"
expect_ok "manual coloctl checkpoint $COLO_ID" colo_ctl "$NS_PHOST" checkpoint "$COLO_ID"
bg_wait udp3 60000
rc=$?
expect_eq "after the manual checkpoint the client has every answer" "0 true" \
	"$rc $(json_out udp3 ok)"

ktap_finished
