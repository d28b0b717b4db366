#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Many concurrent TCP connections, a UDP flow and pings, all across one
# primary-lost failover (issue 4, test 4).
#
# Two-host topology with the client network reaching both hosts
# (lib/failover.sh).  The client opens 24 concurrent downloads of 512 KiB
# (each paced to 64 KiB/s by both guests' servers, so that all are in flight
# at once), runs a UDP echo exchange (one datagram every 50 ms) and pings the
# guest every 200 ms.  With 40% of the TCP bytes delivered and no connection
# finished, the primary host is cut off (links down, processes killed,
# namespaces deleted) and the secondary host takes over.
#
# Proves: no TCP divergence while both hosts lived; every one of the 24
# connections completes byte-identical (sha256) with no socket error, each
# connection's bytes are the ones the secondary guest's server logged for
# it, the packet captures show no connection receiving data the secondary
# guest had not produced first, and no RST; the UDP flow and the pings,
# answered through the comparator before the cut, are answered again
# through the secondary host after the takeover, every UDP answer equal to
# its datagram and none twice, no duplicate echo reply.  A UDP/ICMP
# divergence before the cut passes only when captures where the two sides
# enter the primary host show their answers arrived in different orders
# (the test network reordered them; the comparator was right); reordering
# seen by the client is traced along the path and logged.

source "$(dirname "$0")/lib/topology.sh"
# shellcheck source=lib/failover.sh
source "$COLO_SELFTESTS/lib/failover.sh"

CONNS=24
BYTES=524288
# 8 s per connection at least (COLO_TIMEOUT_SCALE times that on a debug
# kernel, so that the cut, seconds longer there, still comes mid-transfer)
RATE=$(colo_slowed 65536)
PORT=5103
UPORT=5104
FLOWS=$COLO_TOOLS/failover_flows.py

colo_require
require_cmd tcpdump busybox ping jq
# The guest's per-CPU input backlog (veth delivers through it) drops
# packets beyond net.core.netdev_max_backlog (1000); 24 bursting flows can
# overrun it under TCG, and a datagram lost on one side only shifts the
# comparator's first-in-first-out pairing of that UDP flow (a payload
# divergence, as designed).  Give the backlog room for this test and log
# the drops that happened anyway.
BACKLOG=$(sysctl -n net.core.netdev_max_backlog)
cleanup()
{
	failover_capture_stop snd >/dev/null
	failover_capture_stop rcv >/dev/null
	failover_capture_stop pri >/dev/null
	failover_capture_stop ppri >/dev/null
	failover_capture_stop psec >/dev/null
	colo_topology_cleanup
	sysctl -qw net.core.netdev_max_backlog="$BACKLOG"
}
trap cleanup EXIT
sysctl -qw net.core.netdev_max_backlog=10000
mark=$(kmsg_mark)

# backlog_drops: packets dropped by the input backlogs so far (all CPUs)
backlog_drops()
{
	local sum=0 _p d _r
	while read -r _p d _r; do
		sum=$((sum + 16#$d))
	done </proc/net/softnet_stat
	echo $sum
}
drops0=$(backlog_drops)

colo_topology_setup || fail "expected the two-host topology to come up"
failover_topology_extend || fail "expected the client network to reach both hosts"
# timeout 10 s, never fail open: an instance that fails open stops
# protecting, and under TCG a starved secondary guest can lag a few seconds
colo_setup_protection timeout "$(colo_scaled 10000)" failopen 0 ||
	fail "expected instance $COLO_ID and the COLO rules on both hosts"
serve()
{
	_bg "$1" "$2" python3 "$FLOWS" serve --port $PORT --write-size "$3" --rate "$RATE" \
		--fin-wait "$(colo_scaled 120)" --log "$COLO_TMP/$2.log"
	_bg "$1" "u$2" python3 "$FLOWS" udp-serve --port $UPORT
	{ busywait 20000 _listening "$1" t "$PORT" && busywait 20000 _listening "$1" u "$UPORT"; } ||
		fail "expected the servers in $2 to listen: $(cat "$COLO_TMP/$2.out" "$COLO_TMP/u$2.out")"
}
serve "$NS_PGUEST" pg 1000
serve "$NS_SGUEST" sg 16384
EV=$COLO_TMP/events
colo_monitor_start "$EV" || fail "expected coloctl monitor -j to subscribe to the events group"
DGRAMS="udp port $UPORT or icmp"
{ failover_capture_start snd "$NS_SGUEST" eth0 "tcp port $PORT or $DGRAMS" &&
  failover_capture_start rcv "$NS_CLIENT" lan "tcp port $PORT or $DGRAMS" &&
  failover_capture_start pri "$NS_PGUEST" eth0 "$DGRAMS" &&
  failover_capture_start ppri "$NS_PHOST" ptap "$DGRAMS" &&
  failover_capture_start psec "$NS_PHOST" cable "$DGRAMS"; } ||
	fail "expected tcpdump to capture on both guests, the client and the primary host"

# dgram_order: where the UDP answers and echo replies went out of order,
# along the path (each guest's output, what the client received)
dgram_order()
{
	local c
	for c in pri snd ppri psec rcv; do
		log "$c: $(python3 "$COLO_TOOLS/failover_pcap.py" order --pcap "$COLO_TMP/$c.pcap" --udp-port $UPORT)"
	done
}

replies()
{
	grep -c 'bytes from' "$COLO_TMP/ping.out"
}

_udp_answered()
{
	local _s a _l
	read -r _s a _l <"$COLO_TMP/udp.progress" 2>/dev/null
	echo "${a:-0}"
}

_udp_answered_ge()
{
	[ "$(_udp_answered)" -ge "$1" ]
}

_replies_ge()
{
	[ "$(replies)" -ge "$1" ]
}

t0=$(now_ms)
_bg "$NS_CLIENT" ping ping -i 0.2 -O $PG4
_bg "$NS_CLIENT" udp python3 "$FLOWS" udp-send --host $PG4 --port $UPORT --interval-ms 50 \
	--progress "$COLO_TMP/udp.progress" --stop-file "$COLO_TMP/udp.stop"
_bg "$NS_CLIENT" multi python3 "$FLOWS" multi --host $PG4 --port $PORT --conns $CONNS \
	--bytes $BYTES --seed-base 300 --progress "$COLO_TMP/multi.progress" --timeout "$(colo_scaled 400)"
total=$((CONNS * BYTES))
if ! busywait 240000 _progress_ge "$COLO_TMP/multi.progress" $((total * 4 / 10)) >/dev/null; then
	failover_evidence "transfers did not reach 40%"
	fail "expected $((total * 4 / 10)) bytes over $CONNS connections, saw $(progress_of "$COLO_TMP/multi.progress")"
fi
log "40% of $total bytes after $(($(now_ms) - t0)) ms"
expect_eq "no connection finished before the cut (all $CONNS in flight)" 0 \
	"$(progress_of "$COLO_TMP/multi.progress.done")"
expect_ge "UDP answered through the comparator before the cut" 5 "$(_udp_answered)"
expect_ge "pings answered through the comparator before the cut" 3 "$(replies)"

colo_show "$NS_PHOST"
pre_cut_show=$(tr -d '\n' <"$COLO_TMP/show.json")
FO_WATCH="$COLO_TMP/multi.progress"
fo_step "primary host cut off: links down, processes killed, namespaces deleted" \
	failover_cut_primary del || failover_evidence "cut"
# Datagrams: the test network itself may reorder packets (veths deliver
# through per-CPU backlogs; under TCG a stalled vCPU lets a later packet
# overtake), on the way to the guests or from them to the comparator.  When
# the primary's answers reach the comparator in another order than the
# secondary's, first-in-first-out pairing differs and a divergence of that
# UDP/ICMP flow is the right verdict.  Captures where the two sides enter
# the primary host (ptap, cable) say whether that happened before the cut.
udp_div=$(jq -s --argjson t "$FO_CUT_UP" '[.[] | select(.event == "divergence" and .t_boot < $t and (.proto == "udp" or .proto == "icmp"))] | length' "$EV")
if [ "$udp_div" -gt 0 ]; then
	until=$(awk -v ms="$FO_CUT_T" 'BEGIN { printf "%.3f", ms / 1000 }')
	o_pri=$(python3 "$COLO_TOOLS/failover_pcap.py" order --pcap "$COLO_TMP/ppri.pcap" --udp-port $UPORT --until "$until" | jq -c .order)
	o_sec=$(python3 "$COLO_TOOLS/failover_pcap.py" order --pcap "$COLO_TMP/psec.pcap" --udp-port $UPORT --until "$until" | jq -c .order)
	log "$udp_div UDP/ICMP divergence(s) before the cut; answers out of order on arrival at the primary host: from the primary guest $o_pri, from the secondary host $o_sec"
	expect_ok "UDP/ICMP divergences before the cut are explained: the two sides' answers reached the comparator in different orders" \
		test "$o_pri" != "$o_sec" || dgram_order
fi
if ! expect_eq "the comparator saw no TCP divergence while both hosts were alive (events)" 0 \
	"$(jq -s --argjson t "$FO_CUT_UP" '[.[] | select(.event == "divergence" and .t_boot < $t and .proto != "udp" and .proto != "icmp")] | length' "$EV")"; then
	log "events: $(grep -v "\"instance\": $COLO_SYNC_ID" "$EV")"
	log "input backlog drops since the start: $(($(backlog_drops) - drops0))"
	log "order of UDP answers and echo replies (primary guest, secondary guest, client):"
	dgram_order
	log "primary host's instance just before the cut: $pre_cut_show"
	cport=$(grep '"divergence"' "$EV" | grep '"tcp"' | head -n 1 | jq -r .dport)
	[ -n "$cport" ] &&
	log "both captures of the diverged connection (client port $cport) so far:" &&
	python3 "$COLO_TOOLS/failover_pcap.py" timeline --sender "$COLO_TMP/snd.pcap" \
		--receiver "$COLO_TMP/rcv.pcap" --port $PORT --cport "$cport" --max 150 | sed 's/^/#     /'
fi
log "when the links went down: $FO_AT_CUT of $total bytes; after the cut $(_udp_answered) UDP answers, $(replies) ping replies"
fo_step "takeover on the secondary host" failover_secondary_takeover ||
	failover_evidence "takeover"
u0=$(_udp_answered)
r0=$(replies)

expect_ok "UDP answered again after the takeover (10 more answers)" \
	busywait 60000 _udp_answered_ge $((u0 + 10))
log "UDP answering again $(($(now_ms) - FO_TAKEOVER_DONE_T)) ms after the takeover"
expect_ok "pings answered again after the takeover (5 more replies)" \
	busywait 60000 _replies_ge $((r0 + 5))

rc=0
bg_wait multi 200000 || rc=$?
log "TCP: $(($(now_ms) - t0)) ms in all; $(tail -n 1 "$COLO_TMP/multi.out")"
expect_eq "all $CONNS connections completed byte-identical (client exit status)" 0 "$rc" ||
	failover_evidence "connections failed"
expect_eq "connections with the whole stream, right sha256, no error" "$CONNS" \
	"$(grep '"op": "get"' "$COLO_TMP/multi.out" | jq -s '[.[] | select(.ok and .error == null and .sha256 == .expected_sha256)] | length')"
bad=$(grep '"op": "get"' "$COLO_TMP/multi.out" | jq -c 'select(.ok | not) | {seed, cport, len, error, first_difference}')
[ -z "$bad" ] || log "failed connections: $bad"

# each connection's bytes are what the secondary guest's server sent on it
busywait 20000 sh -c "[ \$(grep -c '\"op\": \"get\"' '$COLO_TMP/sg.log') -ge $CONNS ]" >/dev/null
mismatch=$(jq -s -r --slurpfile s "$COLO_TMP/sg.log" '
	[.[] | select(.op == "get")] as $c |
	[$c[] | . as $x | ([$s[] | select(.cport == $x.cport)] | last) as $y |
	 select($y == null or $y.sha256 != $x.sha256 or $y.len != $x.len or $y.error != null) |
	 "cport \($x.cport): client \($x.len) \($x.sha256[0:12]), secondary \($y.len // "none") \(($y.sha256 // "none")[0:12]) \($y.error // "")"] |
	.[]' < <(grep '^{' "$COLO_TMP/multi.out"))
if ! expect_eq "every connection's bytes equal the secondary guest's server's stream for it" "" "$mismatch"; then
	cport=$(head -n 1 <<<"$mismatch" | awk '{ print $2 }' | tr -d :)
	log "the end of both captures of client port $cport:"
	python3 "$COLO_TOOLS/failover_pcap.py" timeline --sender "$COLO_TMP/snd.pcap" \
		--receiver "$COLO_TMP/rcv.pcap" --port $PORT --cport "$cport" --last 40 | sed 's/^/#     /'
fi

touch "$COLO_TMP/udp.stop"
rc=0
bg_wait udp 20000 || rc=$?
log "UDP: $(cat "$COLO_TMP/udp.out")"
expect_eq "UDP: every answer equal to its datagram, none answered twice" "0 0" \
	"$(json_out udp wrong) $(json_out udp duplicates)"
if [ "$(json_out udp out_of_order)" != 0 ]; then
	log "UDP answers reached the client out of order; where (primary guest, secondary guest, client):"
	dgram_order
fi
# shellcheck disable=SC2154 # set by _bg (lib/topology.sh) through eval
kill -INT "$COLO_PID_ping" 2>/dev/null
bg_wait ping 10000
log "ping: $(grep -E 'transmitted' "$COLO_TMP/ping.out")"
expect_eq "ICMP: no duplicate echo reply" 0 "$(grep -c 'DUP!' "$COLO_TMP/ping.out")"

counts="$(failover_capture_stop snd) / $(failover_capture_stop rcv)"
log "tcpdump secondary guest / client: $counts"
if ! expect_ok "no connection received data the secondary guest had not produced before (packet captures)" \
	python3 "$COLO_TOOLS/failover_pcap.py" causal --sender "$COLO_TMP/snd.pcap" \
	--receiver "$COLO_TMP/rcv.pcap" --port $PORT --what data; then
	cport=$(jq -s -r '[.[] | select(.ok | not)] | sort_by(.sender_max) | .[0].cport' <<<"$OUT")
	log "both captures of the connection that lagged most (client port $cport):"
	python3 "$COLO_TOOLS/failover_pcap.py" timeline --sender "$COLO_TMP/snd.pcap" \
		--receiver "$COLO_TMP/rcv.pcap" --port $PORT --cport "$cport" --max 150 | sed 's/^/#     /'
fi
log "$(jq -s -c '{connections: length, checked: (map(.checked) | add), violations: (map(.violations) | add), rst_to_client: (map(.rst_to_client) | add)}' <<<"$OUT" 2>/dev/null)"
expect_eq "no RST reached the client" 0 "$(jq -s 'map(.rst_to_client // 0) | add' <<<"$OUT")"
expect_eq "secondary host's instance" "secondary failed-over" \
	"$(colo_stat role "$NS_SHOST") $(colo_stat state "$NS_SHOST")"

log "input backlog drops during the test: $(($(backlog_drops) - drops0))"
noise=$(kmsg_noise "$mark")
expect_eq "no kernel warnings or module messages" "" "$noise"
ktap_finished
