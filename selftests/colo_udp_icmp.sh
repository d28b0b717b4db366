#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# UDP and ICMP are compared datagram by datagram, first in first out per
# flow (issue 3, tests 3 and 4), over IPv4 and IPv6:
#   - identical UDP echoes: every answer reaches the client in order, the
#     comparisons count as equal, no divergence;
#   - the secondary guest's UDP server answering 5 datagrams late: still no
#     divergence, answers in order (QEMU's colo-compare pairs last in first
#     out and fails this);
#   - identical pings, and pings while the secondary guest's output is
#     delayed 100 ms by netem (so it runs ~10 echo replies behind): all
#     answered, no divergence, and every round trip took at least the
#     secondary's delay (the primary's replies waited for their twins);
#   - one UDP answer altered in the secondary: exactly one divergence event
#     (reason payload, the flow's ports), the client gets the answers before
#     it and nothing after it until `coloctl checkpoint`, then all of them;
#   - one echo reply altered in the secondary (an nft rule rewrites a data
#     byte of one sequence number): one divergence, ping completes after
#     the checkpoint;
#   - IPv6 only: UDP answers carrying a destination options header are
#     compared as UDP (extension headers walked): equal ones pass, an altered
#     one is reported with the UDP ports.

source "$(dirname "$0")/lib/topology.sh"

PORT=5004

colo_require
require_cmd ping
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

# ping_received OUTPUT: the number of replies ping counted (with -w it keeps
# sending until -c replies came, so "transmitted" may exceed -c)
ping_received()
{
	sed -n 's/.* \([0-9]*\) received.*/\1/p' <<<"$1"
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

	# -- identical ICMP echo
	out=$(on_client ping -$fam -c 20 -i 0.05 -w 30 "$host" 2>&1)
	expect_ge "$f: 20 pings answered" 20 "$(ping_received "$out")" || log "$out"
	expect_eq "$f: ICMP identical: no divergence event" "$d0" "$(ndiv)"

	# -- ICMP with the secondary's output delayed 100 ms (~10 replies behind)
	secondary_delay 100 || fail "expected netem on the secondary guest"
	out=$(on_client ping -$fam -c 30 -i 0.01 -w 30 "$host" 2>&1)
	secondary_delay off
	expect_ge "$f: 30 pings 10 ms apart with the secondary 100 ms late, all answered" \
		30 "$(ping_received "$out")" || log "$out"
	rtt_min=$(sed -n 's|^rtt min/avg/max/mdev = \([0-9.]*\)/.*|\1|p' <<<"$out")
	expect_between "$f: every round trip waited for the secondary's reply (min rtt, ms)" \
		95 10000 "$rtt_min"
	expect_eq "$f: ICMP lagging secondary: no divergence event" "$d0" "$(ndiv)"

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

	# -- one echo reply differs: the secondary rewrites a data byte of
	#    sequence 5 (past ping's 16-byte time stamp, where -p fills 0xaa)
	d1=$(ndiv)
	if [ $fam = 4 ]; then
		rule="icmp type echo-reply icmp sequence 5 @th,192,8 set 0x55"
		table="ip colo_alter"
	else
		rule="icmpv6 type echo-reply icmpv6 sequence 5 @th,192,8 set 0x55"
		table="ip6 colo_alter"
	fi
	on_sguest nft -f - <<-EOF || fail "expected the nft rule altering one echo reply"
	table $table {
		chain out {
			type filter hook output priority 0; policy accept;
			$rule
		}
	}
	EOF
	_bg "$NS_CLIENT" ping$fam ping -$fam -c 10 -i 0.2 -p aa -w 90 "$host"
	expect_ok "$f: echo reply 5 altered: a divergence event arrives" \
		wait_events 30000 "$EV" $((d1 + 1)) --event divergence --instance "$COLO_ID"
	e=$(events_last "$EV" --event divergence --instance "$COLO_ID")
	log "$f: event $e"
	icmp=icmp
	[ $fam = 6 ] && icmp=icmpv6
	expect_eq "$f: ICMP divergence: reason and flow" "payload ipv$fam $icmp $host" \
		"$(event_field "$e" reason) $(event_field "$e" family) $(event_field "$e" proto) $(event_field "$e" saddr)"
	expect_ok "$f: ping is still waiting" bg_running ping$fam
	expect_ok "$f: ICMP: coloctl checkpoint $COLO_ID" colo_ctl "$NS_PHOST" checkpoint "$COLO_ID"
	bg_wait ping$fam 90000
	expect_ge "$f: after the checkpoint ping has its 10 replies" 10 \
		"$(ping_received "$(cat "$COLO_TMP/ping$fam.out")")" ||
		log "$(tail -n 3 "$COLO_TMP/ping$fam.out")"
	expect_eq "$f: exactly one more divergence event" $((d1 + 1)) "$(ndiv)"
	on_sguest nft delete table $table

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
