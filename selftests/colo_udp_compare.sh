#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# UDP is compared datagram by datagram, first in first out per flow (issue
# 3, tests 3 and 4; colo_icmp_compare.sh has ICMP), over IPv4 and IPv6:
#   - identical UDP echoes: every answer reaches the client in order, the
#     comparisons count as equal, no divergence;
#   - the secondary guest's UDP server answering 5 datagrams late: still no
#     divergence, answers in order (QEMU's colo-compare pairs last in first
#     out and fails this);
#   - one UDP answer altered in the secondary: exactly one divergence event
#     (reason payload, the flow's ports), the client gets the answers before
#     it and nothing after it until `coloctl checkpoint`, then all of them;
#   - IPv6 only: UDP answers carrying a destination options header are
#     compared as UDP (extension headers walked): equal ones pass, an altered
#     one is reported with the UDP ports.

source "$(dirname "$0")/lib/topology.sh"

PORT=5004

colo_require
trap colo_topology_cleanup EXIT
colo_topology_setup || fail "expected the two-host topology to come up"
colo_setup_protection failopen 60000 ||
	fail "expected instance $COLO_ID and the COLO rules on both hosts"
EV=$COLO_TMP/events
colo_monitor_start "$EV" || fail "expected coloctl monitor -j to subscribe"

ndiv()
{
	events_count "$EV" --event divergence --instance "$COLO_ID"
}

# udp_run NAME HOST COUNT [send options]: the UDP client in the background
udp_run()
{
	local name=$1 host=$2 count=$3
	shift 3
	_bg "$NS_CLIENT" "$name" python3 "$COLO_TOOLS/colo_udp.py" send --host "$host" \
		--port $PORT --count "$count" --progress "$COLO_TMP/$name.progress" "$@"
}

# checkpoint_and_finish NAME DESC: checkpoint, then the client must finish
checkpoint_and_finish()
{
	expect_ok "$2: coloctl checkpoint $COLO_ID" colo_ctl "$NS_PHOST" checkpoint "$COLO_ID"
	bg_wait "$1" 60000
	local rc=$?
	expect_eq "$2: after the checkpoint the client has every answer, in order" \
		"0 true" "$rc $(json_out "$1" ok)" || log "$1: $(cat "$COLO_TMP/$1.out")"
	expect_ok "$2: nothing held after the checkpoint" \
		busywait 10000 stat_is primary_held_packets -eq 0
}

for fam in 4 6; do
	host=PG$fam
	host=${!host}
	f=ipv$fam

	# -- identical UDP
	guests_udp_serve $PORT "" "" || fail "expected the UDP servers in both guests"
	d0=$(ndiv)
	eq0=$(colo_stat compared_equal)
	expect_ok "$f: 50 UDP echoes, identical in both guests, all answered in order" \
		on_client python3 "$COLO_TOOLS/colo_udp.py" send --host "$host" --port $PORT \
		--count 50 --interval-ms 5 --timeout 30
	eq1=$(colo_stat compared_equal)
	expect_ge "$f: UDP: at least 50 comparisons counted equal" $((eq0 + 50)) "$eq1"
	expect_eq "$f: UDP identical: no divergence event" "$d0" "$(ndiv)"
	guests_stop udp$PORT

	# -- UDP, secondary 5 datagrams behind
	guests_udp_serve $PORT "" "--lag 5" || fail "expected the UDP servers in both guests"
	expect_ok "$f: 50 UDP echoes with the secondary answering 5 datagrams late, all in order" \
		on_client python3 "$COLO_TOOLS/colo_udp.py" send --host "$host" --port $PORT \
		--count 50 --interval-ms 5 --timeout 30
	expect_eq "$f: UDP lagging secondary: no divergence event" "$d0" "$(ndiv)"
	guests_stop udp$PORT

	# -- one UDP answer differs
	guests_udp_serve $PORT "" "--alter-index 7" || fail "expected the UDP servers in both guests"
	udp_run udp$fam "$host" 20 --interval-ms 10 --timeout 90 --sport 40000
	expect_ok "$f: UDP answer 7 altered: a divergence event arrives" \
		wait_events 30000 "$EV" $((d0 + 1)) --event divergence --instance "$COLO_ID"
	expect_ok "$f: the primary's answers from 7 on are held (13)" \
		busywait 30000 stat_is primary_held_packets -ge 13
	busywait 5000 _progress_ge "$COLO_TMP/udp$fam.progress" 7 >/dev/null
	expect_eq "$f: the client got answers 0-6 and nothing after" 7 \
		"$(progress_of "$COLO_TMP/udp$fam.progress")"
	expect_eq "$f: exactly one divergence event" $((d0 + 1)) "$(ndiv)"
	e=$(events_last "$EV" --event divergence --instance "$COLO_ID")
	log "$f: event $e"
	expect_eq "$f: UDP divergence: reason and flow" "payload ipv$fam udp $host $PORT 40000" \
		"$(event_field "$e" reason) $(event_field "$e" family) $(event_field "$e" proto) $(event_field "$e" saddr) $(event_field "$e" sport) $(event_field "$e" dport)"
	checkpoint_and_finish udp$fam "$f: UDP"
	guests_stop udp$PORT

	# -- IPv6 extension headers: answers with a destination options header
	if [ $fam = 6 ]; then
		guests_udp_serve $PORT "--dstopts" "--dstopts" ||
			fail "expected the UDP servers in both guests"
		d2=$(ndiv)
		expect_ok "$f: 20 UDP echoes behind a destination options header, all answered" \
			on_client python3 "$COLO_TOOLS/colo_udp.py" send --host "$host" --port $PORT \
			--count 20 --interval-ms 5 --timeout 30
		expect_eq "$f: destination options: no divergence event" "$d2" "$(ndiv)"
		guests_stop udp$PORT
		guests_udp_serve $PORT "--dstopts" "--dstopts --alter-index 3" ||
			fail "expected the UDP servers in both guests"
		udp_run udpx "$host" 10 --interval-ms 10 --timeout 90 --sport 40001
		expect_ok "$f: destination options, answer 3 altered: a divergence event" \
			wait_events 30000 "$EV" $((d2 + 1)) --event divergence --instance "$COLO_ID"
		e=$(events_last "$EV" --event divergence --instance "$COLO_ID")
		log "$f: event $e"
		expect_eq "$f: the event names the UDP flow behind the extension header" \
			"payload udp $PORT 40001" \
			"$(event_field "$e" reason) $(event_field "$e" proto) $(event_field "$e" sport) $(event_field "$e" dport)"
		checkpoint_and_finish udpx "$f: destination options"
		guests_stop udp$PORT
	fi
done

colo_show
log "final: $(cat "$COLO_TMP/show.json")"
ktap_finished
