#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# ICMP echo replies are compared (type, code, the whole body), first in
# first out per flow (issue 3, tests 3 and 4; colo_udp_compare.sh has UDP),
# over IPv4 and IPv6:
#   - identical pings: all answered, no divergence;
#   - pings 10 ms apart while the secondary guest's output is delayed 100 ms
#     by netem (so it runs ~10 echo replies behind): all answered, no
#     divergence, and every round trip took at least the secondary's delay
#     (the primary's replies waited for their twins);
#   - one echo reply altered in the secondary (an nft rule rewrites a data
#     byte of one sequence number): one divergence event (reason payload,
#     the ICMP flow), ping completes after the checkpoint.

source "$(dirname "$0")/lib/topology.sh"

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

for fam in 4 6; do
	host=PG$fam
	host=${!host}
	f=ipv$fam

	d0=$(ndiv)
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
	# shellcheck disable=SC2086 # $table: the family and the name, two words
	on_sguest nft delete table $table

done

colo_show
log "final: $(cat "$COLO_TMP/show.json")"
ktap_finished
