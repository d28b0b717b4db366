#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# xt_COLO protecting a real QEMU COLO pair, in lock step with QEMU's own
# checkpoints (make check-qemu-colo; selftests/qemu-colo/run starts the two
# QEMUs on the host, this runs in the test guest).
#
# The guests' NICs are wired into the selftests' two-host topology as the
# README's setup page says: the primary guest's NIC is the primary host's
# "tap" (ptap), the secondary guest's is in the secondary host's bridge
# (stap); no colo-compare, filter-mirror, filter-redirector or
# filter-rewriter object exists in either QEMU. On each host
# `coloctl qemu watch` follows its QEMU over QMP. It proves:
#   - a download of 24 MB (IPv4) and 4 MB (IPv6) through QEMU's periodic
#     checkpoints (x-checkpoint-delay 300 ms) arrives byte-identical, with
#     at least 20 of QEMU's checkpoints during the 24 MB, each one seen by
#     both hosts' instances, and no divergence, timeout or fail-open;
#   - twenty short downloads, each a new connection, through the same
#     checkpoints arrive byte-identical with no divergence (a connection
#     opened just before a checkpoint: the copy may refuse what the
#     secondary host shifted for the guest before it);
#   - a divergence made inside the secondary guest (its UDP echo answers in
#     capitals once told so, on the secondary host only) makes QEMU
#     checkpoint at once (QEMU's own trace, with the period raised to 60 s),
#     the held answer goes out, and traffic goes on undisturbed;
#   - kill -9 of the primary QEMU in the middle of a download: the helper
#     on the secondary host fails over (x-colo-lost-heartbeat, coloctl
#     failover, the network takeover) and the download completes
#     byte-identical;
#   - kill -9 of the secondary QEMU (a new pair, its primary helper run
#     with --no-failover): the helper reports COLO's end, the operator's one
#     command `coloctl qemu failover` does the rest, the primary goes on
#     uncompared (state failed-over, "passed" grows, mirror gone) and the
#     download completes byte-identical.

source "$(dirname "$0")/../lib/topology.sh"
source "$(dirname "$0")/../lib/failover.sh"

ENV=$COLO_TOP/build/qemu-colo/env
[ -r "$ENV" ] || skip "no $ENV: run through selftests/qemu-colo/run (make check-qemu-colo)"
# shellcheck source=/dev/null
source "$ENV"

HOSTIP=10.0.2.2		# the host's loopback, from QEMU's user network
HERE=$COLO_SELFTESTS/qemu-colo
QDIR=/run/qemu-colo
VM=$COLO_TOP/build/qemu-colo/colo_vm
DELAY=300
BIG=$((24 << 20))

require_cmd socat tcpdump jq
colo_require
mkdir -p "$QDIR"

# shellcheck disable=SC2317 # run by the EXIT trap
qemu_colo_cleanup()
{
	local p
	for p in ${QC_PIDS:-}; do
		kill "$p" 2>/dev/null
	done
	colo_topology_cleanup
	pair stop >/dev/null 2>&1
}
trap qemu_colo_cleanup EXIT

# pair CMD...: the pair manager on the host (selftests/qemu-colo/pair);
# prints its answer; true when it begins with "ok"
pair()
{
	local out
	out=$(echo "$*" | socat -t 900 -T 900 - "TCP:$HOSTIP:$CTL_PORT" 2>&1)
	echo "$out"
	[[ $out == ok* ]]
}

# qmp SIDE CMD [ARGS]: a command on a QEMU's test QMP socket
qmp()
{
	local port=$P_QMP_TEST
	[ "$1" = secondary ] && port=$S_QMP_TEST
	python3 "$HERE/qmp.py" "$HOSTIP:$port" "${@:2}"
}

# trace_count SIDE TEXT: lines of a QEMU's colo trace holding TEXT
trace_count()
{
	local out
	out=$(pair count "$1" "$2") || { echo -1; return; }
	echo "${out#ok }"
}

dev_by_mac()
{
	local d
	for d in /sys/class/net/*; do
		[ "$(cat "$d/address")" = "$1" ] && { basename "$d"; return 0; }
	done
	return 1
}

# wire_dev MAC NAME: the test guest's NIC on a guest's wire, by its MAC or,
# after a first topology renamed it (and gave it the gateway's MAC), NAME
wire_dev()
{
	dev_by_mac "$1" || { [ -e "/sys/class/net/$2" ] && echo "$2"; }
}

# helper_log SIDE: the log of that host's coloctl qemu watch
helper_log() { echo "$COLO_TMP/helper-$1.log"; }
helper_count() { grep -c "$2" "$(helper_log "$1")" 2>/dev/null; }
# shellcheck disable=SC2317 # run by busywait, by name
helper_has() { grep -q "$2" "$(helper_log "$1")" 2>/dev/null; }
checkpoints_logged() { helper_count "$1" ': checkpoint [0-9]*: guest stopped'; }
# shellcheck disable=SC2317 # run by busywait, by name
checkpoints_ge() { [ "$(checkpoints_logged "$1")" -ge "$2" ]; }

# Bring the pair and the protection up: QEMUs booted, topology, instances
# and rules, a helper per host, then COLO started.
pair_up()
{
	local out pdev sdev
	out=$(pair boot) || fail "expected the pair manager to boot both QEMUs: $out"
	log "host: $out"
	# a second time the NICs come back from the namespaces of the first
	# (asynchronously, as those are dismantled), named ptap and stap
	{ busywait 30000 wire_dev 52:54:00:c0:10:11 ptap >/dev/null &&
	  busywait 30000 wire_dev 52:54:00:c0:10:12 stap >/dev/null; } ||
		fail "expected the test guest's NICs on the guests' wires"
	pdev=$(wire_dev 52:54:00:c0:10:11 ptap)
	sdev=$(wire_dev 52:54:00:c0:10:12 stap)
	COLO_GUEST_DEVS="$pdev $sdev" colo_topology_setup ||
		fail "expected the two-host topology around the QEMU guests"
	failover_topology_extend || fail "expected the client network with the secondary uplink"
	colo_setup_protection timeout 3000 failopen 30000 ||
		fail "expected instance $COLO_ID and the COLO rules on both hosts"
	colo_monitor_start "$COLO_TMP/events" || fail "expected coloctl monitor -j to subscribe"

	socat "UNIX-LISTEN:$QDIR/primary.qmp,fork,unlink-early" "TCP:$HOSTIP:$P_QMP_WATCH" &
	QC_PIDS="$QC_PIDS $!"
	socat "UNIX-LISTEN:$QDIR/secondary.qmp,fork,unlink-early" "TCP:$HOSTIP:$S_QMP_WATCH" &
	QC_PIDS="$QC_PIDS $!"
	# for commands by hand, beside the helper's connection
	socat "UNIX-LISTEN:$QDIR/primary-cmd.qmp,fork,unlink-early" "TCP:$HOSTIP:$P_QMP_TEST" &
	QC_PIDS="$QC_PIDS $!"
	busywait 10000 test -S "$QDIR/primary.qmp" -a -S "$QDIR/secondary.qmp" \
		-a -S "$QDIR/primary-cmd.qmp" ||
		fail "expected the QMP bridges"
	: >"$(helper_log primary)"
	: >"$(helper_log secondary)"
	# shellcheck disable=SC2086 # the extra arguments, several words or none
	ip netns exec "$NS_PHOST" "$COLOCTL" qemu watch "$COLO_ID" ${QC_PWATCH_ARGS:-} \
		--qmp "$QDIR/primary.qmp" --takeover "tc filter del dev ptap egress" \
		>>"$(helper_log primary)" 2>&1 &
	QC_PIDS="$QC_PIDS $!"
	ip netns exec "$NS_SHOST" "$COLOCTL" qemu watch "$COLO_ID" \
		--qmp "$QDIR/secondary.qmp" --takeover "$HERE/takeover $GWMAC $GUESTMAC" \
		>>"$(helper_log secondary)" 2>&1 &
	QC_PIDS="$QC_PIDS $!"
	{ busywait 30000 helper_has primary "watching QEMU" &&
	  busywait 30000 helper_has secondary "watching QEMU"; } ||
		fail "expected both helpers to watch their QEMU: $(cat "$(helper_log primary)" "$(helper_log secondary)")"

	out=$(pair colo $DELAY) || fail "expected the pair to enter COLO: $out"
	log "host: $out"
	# the helpers see COLO start as a checkpoint, then the periodic ones
	{ busywait 60000 checkpoints_ge primary 2 && busywait 60000 checkpoints_ge secondary 2; } ||
		fail "expected both helpers to follow QEMU's checkpoints: $(tail -n 5 "$(helper_log primary)")"
}

# checkpoints_pause: x-checkpoint-delay 60 s; setting it checkpoints at
# once (QEMU 7.2's migrate_params_apply() calls colo_checkpoint_notify()):
# wait until both helpers have seen that checkpoint through
checkpoints_pause()
{
	local n m
	n=$(checkpoints_logged primary)
	m=$(checkpoints_logged secondary)
	qmp primary migrate-set-parameters '{"x-checkpoint-delay": 60000}' >/dev/null ||
		{ log "QEMU refused x-checkpoint-delay"; return 1; }
	{ busywait 30000 checkpoints_ge primary $((n + 1)) &&
	  busywait 30000 checkpoints_ge secondary $((m + 1)); } ||
		{ log "no checkpoint after setting x-checkpoint-delay: $(tail -n 3 "$(helper_log primary)")"; return 1; }
}

pair_down()
{
	local p
	for p in $QC_PIDS; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	QC_PIDS=
	COLO_KEEP_TMP=1 colo_topology_cleanup
	pair stop >/dev/null
}

stat_on() { colo_stat "$2" "$1"; }

# download FAMILY_HOST BYTES SEED NAME: colo_vm get in the background
download()
{
	_bg "$NS_CLIENT" "$4" "$VM" get "$1" 8080 "$2" "$3" "$COLO_TMP/$4.progress"
}

# shellcheck disable=SC2317 # run by busywait, by name
bg_stopped() { ! bg_running "$1"; }
# shellcheck disable=SC2317 # run by busywait, by name
progress_ge() { _progress_ge "$COLO_TMP/$1.progress" "$2"; }

expect_download()
{
	local name=$1 bytes=$2 out
	expect_ok "$name: the download ends" busywait 600000 bg_stopped "$name"
	out=$(cat "$COLO_TMP/$name.out")
	log "$name: $out"
	expect_match "$name: all $bytes bytes arrived, byte-identical" \
		"\"bytes\":$bytes,\"expected\":$bytes,\"ok\":true" "$out"
}

modprobe -q virtio_net
busywait 10000 dev_by_mac 52:54:00:c0:10:10 >/dev/null || fail "expected the management NIC"
MGMT=$(dev_by_mac 52:54:00:c0:10:10)
ip addr add 10.0.2.15/24 dev "$MGMT"
ip link set "$MGMT" up

# ------------------------------------------------ periodic checkpoints ----
pair_up
log "primary QEMU: $(qmp primary query-colo-status)"
expect_eq "the secondary QEMU is a COLO secondary" '"mode": "secondary"' \
	"$(qmp secondary query-colo-status | grep -o '"mode": "[a-z]*"')"
expect_eq "the guest answers through the comparator" "echo hello" \
	"$(on_client "$VM" udp $PG4 7 hello 5000)"

# Counters are read while QEMU is told not to checkpoint (a 60 s period;
# setting it checkpoints once, which must reach both instances first), so
# that QEMU's count and the instances' can be compared exactly.
checkpoints_pause || fail "expected the periodic checkpoints to pause"
q0=$(trace_count primary "Send 'checkpoint-request'")
c0=$(stat_on "$NS_PHOST" checkpoints)
s0=$(stat_on "$NS_SHOST" checkpoints)
qmp primary migrate-set-parameters "{\"x-checkpoint-delay\": $DELAY}" >/dev/null
# What each guest sent, as it reached the primary host (the primary
# guest's on ptap, the secondary's on cable): a TCP divergence is shown
# with both sides' packets of its connection and the checkpoints around it.
{ failover_capture_start cpri "$NS_PHOST" ptap "tcp port 8080" &&
  failover_capture_start csec "$NS_PHOST" cable "tcp port 8080"; } ||
	fail "expected tcpdump on the primary host's ptap and cable"
t0=$(now_ms)
download $PG4 $BIG 11 big4
expect_download big4 $BIG
log "tcpdump ptap / cable: $(failover_capture_stop cpri) / $(failover_capture_stop csec)"
# RSTs the secondary guest sent on the download (a copy refusing client
# segments shifted for the guest before a checkpoint: compare.c forgets
# them when the primary goes on)
log "RSTs from the secondary guest during the download: $(tcpdump -n -r "$COLO_TMP/csec.pcap" \
	'src port 8080 and tcp[tcpflags] & tcp-rst != 0' 2>/dev/null | wc -l)"
secs=$((($(now_ms) - t0) / 1000))
checkpoints_pause || fail "expected the periodic checkpoints to pause"
q1=$(trace_count primary "Send 'checkpoint-request'")
c1=$(stat_on "$NS_PHOST" checkpoints)
s1=$(stat_on "$NS_SHOST" checkpoints)
log "24 MiB in ${secs}s: QEMU checkpoints $((q1 - q0)) (its trace), primary host $((c1 - c0)), secondary host $((s1 - s0))"
log "primary helper, last lines: $(tail -n 3 "$(helper_log primary)" | tr '\n' '|')"
expect_ge "at least 20 QEMU checkpoints during the download" 20 $((q1 - q0))
expect_eq "the primary host's instance saw every checkpoint QEMU took" \
	$((q1 - q0)) $((c1 - c0))
expect_eq "the secondary host's instance too" $((q1 - q0)) $((s1 - s0))
# Every reason a request can have is listed, so that a failure says which.
NO_DIVERGENCE="checkpoint_requests divergence_payload divergence_length divergence_tcp_flags divergence_timeout divergence_queue_full divergence_header secondary_expired fail_opens checkpoint_expired"
expect_eq "no divergence, no timeout, no fail-open, no window left open" \
	"$(for k in $NO_DIVERGENCE; do printf '%s=0 ' "$k"; done | sed 's/ $//')" \
	"$(
		# shellcheck disable=SC2086 # the list of counter names, one word each
		colo_stats $NO_DIVERGENCE
	)"
log "divergence events so far: $(grep '"divergence"' "$COLO_TMP/events" | tail -n 3 | tr '\n' '|')"
cport=$(grep '"divergence"' "$COLO_TMP/events" | grep '"tcp"' | head -n 1 | jq -r .dport)
if [ -n "$cport" ]; then
	boot_off=$(python3 -c 'import time; print(time.time() - time.clock_gettime(time.CLOCK_BOOTTIME))')
	log "the first TCP divergence's connection (client port $cport) as it reached the primary host, times since boot:"
	python3 "$COLO_TOOLS/failover_pcap.py" timeline --sender "$COLO_TMP/cpri.pcap" \
		--receiver "$COLO_TMP/csec.pcap" --tags pri,sec --raw --port 8080 --cport "$cport" \
		--boot-offset "$boot_off" --events "$COLO_TMP/events" --max 120 | sed 's/^/#     /'
fi
qmp primary migrate-set-parameters "{\"x-checkpoint-delay\": $DELAY}" >/dev/null
log "primary host: $(colo_stats released released_partial checkpoint_released primary_dropped passed)"
log "helper: $(helper_count primary 'at the resume') of $(checkpoints_logged primary) checkpoints ended at the resume"

download $PG6 $((4 << 20)) 12 big6
expect_download big6 $((4 << 20))
expect_eq "IPv6: still no divergence" "checkpoint_requests=0 fail_opens=0" \
	"$(colo_stats checkpoint_requests fail_opens)"

# ---------------------------------- connections opened across checkpoints ----
# Short downloads one after another, each a new connection, through the
# 300 ms checkpoints: some open just before one, so that the copy gets
# client segments the secondary host shifted for the guest before it
# (docs/design.md, "Checkpoints of a QEMU COLO pair").
SHORT=20
failover_capture_start cshort "$NS_PHOST" cable "tcp port 8080" ||
	fail "expected tcpdump on the primary host's cable"
good=0
for i in $(seq 1 $SHORT); do
	download $PG4 $((256 << 10)) $((100 + i)) short
	busywait 120000 bg_stopped short >/dev/null
	grep -q "\"bytes\":$((256 << 10)),\"expected\":$((256 << 10)),\"ok\":true" \
		"$COLO_TMP/short.out" && good=$((good + 1))
done
log "tcpdump cable: $(failover_capture_stop cshort); RSTs from the secondary guest: $(tcpdump -n \
	-r "$COLO_TMP/cshort.pcap" 'src port 8080 and tcp[tcpflags] & tcp-rst != 0' 2>/dev/null | wc -l)"
expect_eq "$SHORT short downloads, each a new connection, all byte-identical" $SHORT $good
expect_eq "connections opened across checkpoints: no divergence" \
	"checkpoint_requests=0 fail_opens=0" "$(colo_stats checkpoint_requests fail_opens)"

# ---------------------------------------------------------- divergence ----
# A long period, so that only the divergence can explain a checkpoint.
checkpoints_pause || fail "expected the periodic checkpoints to pause"
q0=$(trace_count primary "Send 'checkpoint-request'")
ip -n "$NS_SHOST" addr add 10.0.0.9/24 dev br0
ip -n "$NS_SHOST" neigh replace $PG4 lladdr $GUESTMAC dev br0 nud permanent
on_shost "$VM" udp $PG4 9 diverge 300 >/dev/null 2>&1
ip -n "$NS_SHOST" addr del 10.0.0.9/24 dev br0
t0=$(now_ms)
got=$(on_client "$VM" udp $PG4 7 first 20000)
dt=$(($(now_ms) - t0))
expect_eq "the client gets the primary's answer, after the checkpoint" "echo first" "$got"
expect_ok "a divergence event (payload) for the echo flow" \
	wait_events 10000 "$COLO_TMP/events" 1 --event divergence --instance "$COLO_ID"
expect_ok "the helper asked QEMU for a checkpoint" \
	busywait 10000 helper_has primary "QEMU checkpoints now"
q1=$(trace_count primary "Send 'checkpoint-request'")
expect_ge "QEMU checkpointed on the request (its trace), long before its 60 s period" 1 $((q1 - q0))
log "divergence to answer: ${dt} ms; QEMU checkpoints in that time: $((q1 - q0))"
expect_eq "traffic goes on: the next echo is answered alike by both" "echo second" \
	"$(on_client "$VM" udp $PG4 7 second 5000)"
expect_eq "one request only: the checkpoint made the guests alike again" 1 \
	"$(colo_stat checkpoint_requests)"
qmp primary migrate-set-parameters "{\"x-checkpoint-delay\": $DELAY}" >/dev/null

# ------------------------------------------------- primary QEMU killed ----
download $PG4 $BIG 13 kill1
expect_ok "the download is under way" busywait 120000 progress_ge kill1 $((4 << 20))
t0=$(now_ms)
out=$(pair kill primary)
log "host: $out"
expect_ok "the secondary's helper fails over by itself" \
	busywait 60000 helper_has secondary "takeover command done"
log "primary killed -> takeover done: $(($(now_ms) - t0)) ms"
log "secondary helper: $(tr '\n' '|' <"$(helper_log secondary)" | tail -c 600)"
expect_ok "it told QEMU first" helper_has secondary "x-colo-lost-heartbeat: QEMU"
expect_eq "the secondary host's instance has failed over" failed-over \
	"$(colo_stat state "$NS_SHOST")"
expect_match "the secondary QEMU runs on alone" '"status": "running"' \
	"$(qmp secondary query-status)"
expect_download kill1 $BIG
log "secondary QEMU: $(qmp secondary query-colo-status)"

# ----------------------------------------------- secondary QEMU killed ----
# This time the primary's helper leaves the failover to the operator, who
# runs the one command for it.
pair_down
QC_PWATCH_ARGS=--no-failover pair_up
download $PG4 $BIG 14 kill2
expect_ok "the download is under way" busywait 120000 progress_ge kill2 $((4 << 20))
p0=$(colo_stat passed)
t0=$(now_ms)
out=$(pair kill secondary)
log "host: $out"
expect_ok "the primary's helper sees COLO end with an error" \
	busywait 60000 helper_has primary "QEMU left COLO (mode primary, reason error)"
out=$(ip netns exec "$NS_PHOST" "$COLOCTL" qemu failover "$COLO_ID" \
	--qmp "$QDIR/primary-cmd.qmp" --takeover "tc filter del dev ptap egress" 2>&1)
rc=$?
log "secondary killed -> coloctl qemu failover done: $(($(now_ms) - t0)) ms"
log "coloctl qemu failover: $(tr '\n' '|' <<<"$out")"
expect_eq "coloctl qemu failover succeeds" 0 $rc
expect_match "it told QEMU, failed the instance over and moved the network" \
	"goes on alone.*instance $COLO_ID failed over.*takeover command done" "$(tr '\n' ' ' <<<"$out")"
expect_eq "the primary host's instance says so: failed-over" failed-over "$(colo_stat state)"
expect_eq "the mirror to the dead secondary host is gone" "" \
	"$(on_phost tc filter show dev ptap egress)"
expect_download kill2 $BIG
expect_ge "the rest went uncompared (passed; $p0 before the kill)" $((p0 + 100)) \
	"$(colo_stat passed)"
expect_match "the primary QEMU runs on alone" '"status": "running"' \
	"$(qmp primary query-status)"

ktap_finished
