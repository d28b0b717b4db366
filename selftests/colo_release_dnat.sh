#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# A released packet continues its path as if the COLO target had accepted
# it (issue 3, test 8, first half; colo_bridged_tap.sh has the second):
# the guests talk to 10.9.9.9 / fd00:9::9, which the primary host DNATs (nat
# PREROUTING, after mangle where the primary rule steals) to the client.
# Both guests open the same connection (same source port) and download from
# a server in the client namespace: the primary's download completes, the
# client's server saw exactly one connection, from the guest's address (so
# the released SYN met the DNAT rule, whose counter moved, and the
# secondary's copy never left the host); the same with UDP echoes (exactly
# 10 datagrams reach the client's echo server, not 20).  The secondary
# guest's side of the connection, rewritten on the secondary host,
# completes too (a guest-initiated connection: the rewriter learns the
# offset from the mirrored SYN-ACK); the secondary's client starts only once
# the primary's SYN is held, so the secondary lags as it usually does.  No
# divergence.
# The instance timeout is 10 s: the two guests' clients start as two
# separate processes, and an emulated machine may start one late.

source "$(dirname "$0")/lib/topology.sh"

colo_require
require_cmd ping
trap colo_topology_cleanup EXIT

# rule_packets TABLE CHAIN PATTERN [ip6tables]: packet counter of the rule
rule_packets()
{
	on_phost "${4:-iptables}" -t "$1" -L "$2" -v -x -n | awk -v p="$3" '$0 ~ p { print $1; exit }'
}

colo_topology_setup || fail "expected the two-host topology to come up"
colo_setup_protection timeout 10000 failopen 0 ||
	fail "expected instance $COLO_ID and the COLO rules on both hosts"
for ipt in iptables ip6tables; do
	if [ $ipt = iptables ]; then vip=10.9.9.9 dst=$CL4; else vip=fd00:9::9 dst="[$CL6]"; fi
	on_phost $ipt -t nat -A PREROUTING -i ptap -d $vip -p tcp --dport 7000 \
		-j DNAT --to-destination "$dst:7000" || fail "expected the $ipt DNAT rule"
	on_phost $ipt -t nat -A PREROUTING -i ptap -d $vip -p udp --dport 7001 \
		-j DNAT --to-destination "$dst:7001" || fail "expected the $ipt DNAT rule"
done
tcp_serve "$NS_CLIENT" cl_tcp 7000 || fail "expected the TCP server in the client namespace"
udp_serve "$NS_CLIENT" cl_udp 7001 || fail "expected the UDP server in the client namespace"
EV=$COLO_TMP/events
colo_monitor_start "$EV" || fail "expected coloctl monitor -j to subscribe"

sport=41000
for fam in 4 6; do
	if [ $fam = 4 ]; then vip=10.9.9.9 ipt=iptables; else vip=fd00:9::9 ipt=ip6tables; fi
	f=ipv$fam
	sport=$((sport + 1))
	gets0=$(grep -c '"op": "get"' "$COLO_TMP/cl_tcp.log" 2>/dev/null)
	# The secondary guest's client starts once the primary's SYN is held:
	# the secondary lagging behind, as it usually does (and as it must be
	# allowed to).
	h0=$(colo_stat primary_packets)
	_bg "$NS_PGUEST" pgget$fam python3 "$COLO_TOOLS/colo_tcp.py" get --host $vip --port 7000 \
		--bytes 300000 --seed $((fam + 40)) --sport $sport --timeout 30
	busywait 20000 stat_is primary_held_packets -ge 1 >/dev/null ||
		log "$f: the primary's SYN was not seen held (primary_packets was $h0)"
	_bg "$NS_SGUEST" sgget$fam python3 "$COLO_TOOLS/colo_tcp.py" get --host $vip --port 7000 \
		--bytes 300000 --seed $((fam + 40)) --sport $sport --timeout 30
	bg_wait pgget$fam 45000
	rc=$?
	expect_eq "$f: primary guest downloads from the DNATed address $vip" "0 true" \
		"$rc $(json_out pgget$fam ok)" || log "$(cat "$COLO_TMP/pgget$fam.out")"
	bg_wait sgget$fam 30000
	rc=$?
	expect_eq "$f: the secondary guest's side of that connection completes too" "0 true" \
		"$rc $(json_out sgget$fam ok)" || log "$(cat "$COLO_TMP/sgget$fam.out")"
	gets=$(grep '"op": "get"' "$COLO_TMP/cl_tcp.log" | tail -n +$((gets0 + 1)))
	peer=$PG4
	[ $fam = 6 ] && peer=$PG6
	expect_eq "$f: the client's server saw one connection, from the guest (DNAT applied once)" \
		"1 $peer" "$(grep -c . <<<"$gets") $(sed -n 's/.*"peer": "\([^"]*\)".*/\1/p' <<<"$gets" | sort -u | tr '\n' ' ' | sed 's/ $//')"
	expect_ge "$f: the TCP DNAT rule's counter moved" 1 \
		"$(rule_packets nat PREROUTING 'dpt:7000' $ipt)"

	sport=$((sport + 1))
	recv0=$(grep -c '"op": "recv"' "$COLO_TMP/cl_udp.log" 2>/dev/null)
	for g in pg sg; do
		ns=$NS_PGUEST
		[ $g = sg ] && ns=$NS_SGUEST
		_bg "$ns" ${g}udp$fam python3 "$COLO_TOOLS/colo_udp.py" send --host $vip --port 7001 \
			--count 10 --interval-ms 20 --sport $sport --timeout 30
	done
	bg_wait pgudp$fam 60000
	rc=$?
	expect_eq "$f: primary guest's UDP to the DNATed address is answered" "0 true" \
		"$rc $(json_out pgudp$fam ok)" || log "$(cat "$COLO_TMP/pgudp$fam.out")"
	bg_wait sgudp$fam 30000
	recv=$(grep -c '"op": "recv"' "$COLO_TMP/cl_udp.log")
	expect_eq "$f: exactly 10 datagrams reached the client's echo server" 10 $((recv - recv0))
	expect_ge "$f: the UDP DNAT rule's counter moved" 1 \
		"$(rule_packets nat PREROUTING 'dpt:7001' $ipt)"
done
expect_eq "DNAT: no divergence event" 0 "$(events_count "$EV" --event divergence --instance "$COLO_ID")" ||
	log "events: $(cat "$EV")"

ktap_finished
