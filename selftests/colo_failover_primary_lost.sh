#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The primary host dies in the middle of a transfer and the secondary host
# takes over: the client's connection survives (issue 4, tests 1 and 2).
#
# Two-host topology (lib/topology.sh) with a client network that reaches
# both hosts (lib/failover.sh).  The same deterministic server runs in both
# guests (the primary writes 1000 bytes at a time, the secondary 64 KiB, so
# their segments never line up), protected by the comparator on the primary
# host and the rewriter on the secondary host.
#
#  1. Download: the client GETs a seeded stream (20 MiB).  Once it has half,
#     the primary host is cut off as a dead host is: its links lose carrier,
#     its processes die, its namespaces (and its ends of every link) are
#     deleted.  The secondary host then runs the user's failover procedure
#     (failover_secondary_takeover: coloctl failover, fence the cable, take
#     the gateway addresses and MAC, take and announce the client-network
#     address).
#     Proves: the download completes byte-identical (sha256 of the whole
#     stream), the client's socket never failed (no reset, no timeout), the
#     client's bytes are exactly what the secondary guest's server says it
#     sent, no RST reached the client, and, from packet captures on the
#     secondary guest and on the client, every data byte the client received
#     (before and after the failover) had been sent by the secondary guest
#     earlier.  The secondary host's instance shows role secondary, state
#     failed-over.  The announcements moved the client's ARP and neighbour
#     entries to the secondary host's uplink; IPv6 and new connections work
#     after failover (a new connection gets no rewriter offset).  The
#     secondary guest answers the client's SYN LAG ms after the primary
#     (netem toward it while the connection opens), so the rewriter has a
#     timestamp offset to apply: after the takeover every ack that moves
#     the client's cumulative ack past what the client had received before
#     must reach the secondary guest echoing a TSval the guest sent (an ack
#     of older data, such as the client's duplicate ack for the secondary's
#     first retransmission, echoes the primary's TSval of the segment that
#     brought it, shifted: right, and what a slow cut shows).  Shifting its TSvals down while the client's
#     acks, now routed past the --rewrite-client rule, came back unshifted
#     gave it echoes of times before its retransmissions: every RTO looked
#     spurious (Eifel) and was undone, and the download crawled one segment
#     per RTO.
#  2. Upload: the same with the client PUTting a stream; this time the
#     primary host's links go down and its processes die but its namespaces
#     stay (a powered-off host still cabled).  Proves: the secondary guest's
#     server received the whole upload (its sha256, reported back to the
#     client and in its log, equals the client's), no error, no RST, and
#     every ack the client received acknowledged no more than the secondary
#     guest had acknowledged by then.

source "$(dirname "$0")/lib/topology.sh"
# shellcheck source=lib/failover.sh
source "$COLO_SELFTESTS/lib/failover.sh"

BYTES=${COLO_FAILOVER_BYTES:-20971520}
UP_BYTES=${COLO_FAILOVER_UP_BYTES:-20971520}
# Both servers (and the uploading client) send at most RATE bytes/s, so that
# the transfer is still running when the cut, which takes seconds under TCG,
# lands: 20 MiB take at least 40 s (COLO_TIMEOUT_SCALE times that on a debug
# kernel, where the cut takes seconds more).
RATE=$(colo_slowed 524288)
PORT=5101
# How much later the secondary guest sees the client's SYN (ms), so that
# the timestamp offset is not left to chance: at 0 ms (both SYN-ACKs
# stamped in the same millisecond) there is nothing to get wrong.
LAG=40
FLOWS=$COLO_TOOLS/failover_flows.py

colo_require
require_cmd tcpdump busybox ping
cleanup()
{
	local p
	for p in down1 up2; do
		failover_capture_stop "snd_$p" >/dev/null
		failover_capture_stop "rcv_$p" >/dev/null
	done
	colo_topology_cleanup
}
trap cleanup EXIT
mark=$(kmsg_mark)

# setup PHASE: topology, protection, servers, captures
setup()
{
	colo_topology_setup || fail "$1: expected the two-host topology to come up"
	failover_topology_extend || fail "$1: expected the client network to reach both hosts"
	# never fail open: an instance that fails open stops protecting (and
	# under TCG a starved secondary guest can lag past the timeout)
	colo_setup_protection timeout "$(colo_scaled 3000)" failopen 0 ||
		fail "$1: expected instance $COLO_ID and the COLO rules on both hosts"
	{ _fo_serve "$NS_PGUEST" "pg_$1" 1000 && _fo_serve "$NS_SGUEST" "sg_$1" 65536; } ||
		fail "$1: expected the servers to listen in both guests"
	{ failover_capture_start "snd_$1" "$NS_SGUEST" eth0 "tcp port $PORT" &&
	  failover_capture_start "rcv_$1" "$NS_CLIENT" lan "tcp port $PORT"; } ||
		fail "$1: expected tcpdump to capture on the secondary guest and the client"
	expect_eq "$1: secondary host's instance before the failure" "secondary active" \
		"$(colo_stat role "$NS_SHOST") $(colo_stat state "$NS_SHOST")"
}

_fo_serve()
{
	_bg "$1" "$2" python3 "$FLOWS" serve --port $PORT --write-size "$3" \
		--rate "$RATE" --fin-wait "$(colo_scaled 120)" --log "$COLO_TMP/$2.log"
	busywait 20000 _listening "$1" t $PORT ||
		{ log "$2: server did not start: $(cat "$COLO_TMP/$2.out")"; return 1; }
}

teardown()
{
	failover_capture_stop "snd_$1" >/dev/null
	failover_capture_stop "rcv_$1" >/dev/null
	COLO_KEEP_TMP=1 colo_topology_cleanup
}

# cut_halfway PHASE PROGRESS_FILE TOTAL MODE: wait for half, cut the primary
cut_halfway()
{
	local phase=$1 prog=$2 total=$3 mode=$4 t0
	t0=$(now_ms)
	if ! busywait 180000 _progress_ge "$prog" $((total / 2)) >/dev/null; then
		failover_evidence "$phase: transfer did not reach half"
		fail "$phase: expected the client to reach $((total / 2)) bytes, saw $(progress_of "$prog") after $(($(now_ms) - t0)) ms"
	fi
	log "$phase: half of $total bytes after $(($(now_ms) - t0)) ms; cutting the primary host ($mode)"
	local what="links down, processes killed"
	[ "$mode" = del ] && what="$what, namespaces deleted"
	FO_WATCH=$prog
	fo_step "$phase: primary host cut off: $what" \
		failover_cut_primary "$mode" || failover_evidence "$phase: cut"
	AT_CUT=$FO_AT_CUT
	log "$phase: client at $AT_CUT of $total bytes when the links went down (the cut took $(($(now_ms) - FO_CUT_T)) ms more)"
	expect_between "$phase: the cut came mid-transfer (client between 10% and 95%)" \
		$((total / 10)) $((total * 95 / 100)) "$AT_CUT"
}

# takeover PHASE PROGRESS_FILE: the user's procedure, then the client resumes
takeover()
{
	local phase=$1 prog=$2
	fo_step "$phase: takeover on the secondary host (coloctl failover, fence, gateway, announce)" \
		failover_secondary_takeover || failover_evidence "$phase: takeover"
	log "$phase: takeover took $((FO_TAKEOVER_DONE_T - FO_TAKEOVER_T)) ms"
	expect_eq "$phase: secondary host's instance after coloctl failover" "secondary failed-over" \
		"$(colo_stat role "$NS_SHOST") $(colo_stat state "$NS_SHOST")"
	if busywait 60000 fo_progress_gt "$prog" "$AT_CUT" >/dev/null; then
		log "$phase: client moving again $(($(now_ms) - FO_TAKEOVER_DONE_T)) ms after the takeover, $(($(now_ms) - FO_CUT_T)) ms after the cut began"
	fi
}

# causal PHASE WHAT: the captures say the client never got ahead
causal()
{
	local phase=$1 what=$2 counts
	counts="$(failover_capture_stop "snd_$phase") / $(failover_capture_stop "rcv_$phase")"
	log "$phase: tcpdump secondary guest / client: $counts"
	local cport
	if ! expect_ok "$phase: client never received $what the secondary guest had not produced before (packet captures)" \
		python3 "$COLO_TOOLS/failover_pcap.py" causal --sender "$COLO_TMP/snd_$phase.pcap" \
		--receiver "$COLO_TMP/rcv_$phase.pcap" --port $PORT --what "$what"; then
		cport=$(grep -o '"cport": [0-9]*' <<<"$OUT" | head -n 1 | grep -o '[0-9]*$')
		log "$phase: both captures of the connection (client port $cport):"
		python3 "$COLO_TOOLS/failover_pcap.py" timeline --sender "$COLO_TMP/snd_$phase.pcap" \
			--receiver "$COLO_TMP/rcv_$phase.pcap" --port $PORT --cport "${cport:-0}" --max 200 |
			sed 's/^/#     /'
	fi
	log "$phase: $OUT"
	expect_eq "$phase: no RST reached the client" 0 \
		"$(grep -o '"rst_to_client": [0-9]*' <<<"$OUT" | awk '{ s += $2 } END { print s + 0 }')"
}

# lag on|off: the secondary guest gets everything LAG ms late (netem on
# the secondary host's port toward it)
lag()
{
	if [ "$1" = on ]; then
		modprobe -q sch_netem
		on_shost tc qdisc replace dev stap root netem delay "${LAG}ms" limit 10000
	else
		on_shost tc qdisc del dev stap root
	fi
}

# echo_check PHASE: the acks the secondary guest got after the takeover
# echo its own TSvals
echo_check()
{
	local phase=$1
	expect_ok "$phase: after the takeover, the client's acks of new data reach the secondary guest echoing TSvals it sent" \
		python3 "$COLO_TOOLS/failover_pcap.py" echo --sender "$COLO_TMP/snd_$phase.pcap" \
		--receiver "$COLO_TMP/rcv_$phase.pcap" --port $PORT \
		--after "$((FO_TAKEOVER_T / 1000)).$(printf %03d $((FO_TAKEOVER_T % 1000)))"
	log "$phase: $OUT"
	expect_ge "$phase: the rewriter had a timestamp offset to apply (ts_off, ms)" 1 \
		"$(grep -o '"ts_off": -*[0-9]*' <<<"$OUT" | grep -o -- '-*[0-9]*$')"
}

# ---------------------------------------------------------------- 1 ----
setup down1
expect_ok "down1: the secondary guest's input delayed by $LAG ms" lag on
t0=$(now_ms)
_bg "$NS_CLIENT" dl python3 "$FLOWS" get --host $PG4 --port $PORT --bytes "$BYTES" \
	--seed 7 --progress "$COLO_TMP/dl.progress" --timeout "$(colo_scaled 600)"
busywait 60000 fo_progress_gt "$COLO_TMP/dl.progress" 0 >/dev/null
expect_ok "down1: the delay lifted once the download runs" lag off
cut_halfway down1 "$COLO_TMP/dl.progress" "$BYTES" del
takeover down1 "$COLO_TMP/dl.progress"
rc=0
bg_wait dl 300000 || rc=$?
log "download: $(($(now_ms) - t0)) ms in all; client: $(cat "$COLO_TMP/dl.out")"
expect_eq "download: client exit status (0: whole stream, byte-identical)" 0 "$rc" ||
	failover_evidence "download did not complete"
expect_eq "download: the client's socket never failed (no reset, no timeout)" null "$(json_out dl error)"
expect_eq "download: sha256 of the $BYTES bytes received" "$(json_out dl expected_sha256)" "$(json_out dl sha256)"
# the secondary guest's server logs its connection once it closes
busywait 20000 grep -q '"op": "get"' "$COLO_TMP/sg_down1.log" >/dev/null
sglog=$(grep '"op": "get"' "$COLO_TMP/sg_down1.log" | tail -n 1)
expect_eq "download: the secondary guest's server sent the whole stream, without error" \
	"len=$BYTES error=missing" "len=$(event_field "$sglog" len) error=$(event_field "$sglog" error)"
expect_eq "download: the client's bytes are the stream the secondary guest sent (sha256)" \
	"$(event_field "$sglog" sha256)" "$(json_out dl sha256)"
causal down1 data
echo_check down1

# the announcements moved the client's caches; IPv6 and new flows work
expect_eq "gratuitous ARP: client's entry for 10.0.1.1 points at the secondary host's uplink" \
	"$FO_UPMAC" "$(busywait 5000 sh -c "[ \"\$(ip -n $NS_CLIENT neigh show 10.0.1.1 dev lan | grep -o $FO_UPMAC)\" ] && echo $FO_UPMAC || ip -n $NS_CLIENT neigh show 10.0.1.1 dev lan")"
expect_ok "IPv6: the uplink's address left DAD (unsolicited NA sent)" busywait 10000 failover_ipv6_announced
expect_eq "unsolicited NA: client's entry for fd00:1::1 points at the secondary host's uplink" \
	"$FO_UPMAC" "$(busywait 5000 sh -c "[ \"\$(ip -n $NS_CLIENT neigh show fd00:1::1 dev lan | grep -o $FO_UPMAC)\" ] && echo $FO_UPMAC || ip -n $NS_CLIENT neigh show fd00:1::1 dev lan")"
expect_ok "IPv6: the client pings the guest through the secondary host" \
	on_client ping -6 -c 2 -i 0.2 -w 10 $PG6
rw_before=$(colo_stat rewritten_flows "$NS_SHOST")
expect_ok "a new connection after failover completes (1 MiB)" \
	on_client python3 "$FLOWS" get --host $PG4 --port $PORT --bytes 1048576 --seed 8 --timeout "$(colo_scaled 60)"
expect_eq "the new connection got no rewriter offset" "$rw_before" "$(colo_stat rewritten_flows "$NS_SHOST")"
teardown down1

# ---------------------------------------------------------------- 2 ----
setup up2
t0=$(now_ms)
_bg "$NS_CLIENT" ul python3 "$FLOWS" put --host $PG4 --port $PORT --bytes "$UP_BYTES" \
	--seed 9 --write-size 3000 --rate "$RATE" --progress "$COLO_TMP/ul.progress" --timeout "$(colo_scaled 600)"
cut_halfway up2 "$COLO_TMP/ul.progress" "$UP_BYTES" down
takeover up2 "$COLO_TMP/ul.progress"
rc=0
bg_wait ul 300000 || rc=$?
log "upload: $(($(now_ms) - t0)) ms in all; client: $(cat "$COLO_TMP/ul.out")"
expect_eq "upload: client exit status (0: the server's checksum is the client's)" 0 "$rc" ||
	failover_evidence "upload did not complete"
expect_eq "upload: the client's socket never failed (no reset, no timeout)" null "$(json_out ul error)"
expect_eq "upload: the secondary guest's server answered with the client's length and sha256" \
	"$(json_out ul expected_reply)" "$(json_out ul reply)"
busywait 20000 grep -q '"op": "put"' "$COLO_TMP/sg_up2.log" >/dev/null
sglog=$(grep '"op": "put"' "$COLO_TMP/sg_up2.log" | tail -n 1)
expect_eq "upload: the secondary guest's server log: whole upload, client's sha256, no error" \
	"len=$UP_BYTES sha256=$(json_out ul sha256) error=missing" \
	"len=$(event_field "$sglog" len) sha256=$(event_field "$sglog" sha256) error=$(event_field "$sglog" error)"
causal up2 ack
teardown up2

noise=$(kmsg_noise "$mark")
expect_eq "no kernel warnings or module messages" "" "$noise"
ktap_finished
