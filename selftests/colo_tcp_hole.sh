#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The secondary guest misses client segments (issue 3: the ack rule must
# not stall the client).  The client uploads to the guest pair while the
# secondary host drops two consecutive mirrored client segments before they
# reach the secondary guest.  The primary guest has everything and acks
# beyond the hole; under the ack rule none of those acks may reach the
# client, which resends one segment per retransmission timeout; the
# secondary's ack moves up by that one segment, and held acks leave with
# their ack lowered to it (`acks_lowered`).  The upload must complete
# within the instance timeout.
#
# The drop is an iptables connbytes rule on the secondary host's cable, in
# front of the rewriter, matching the flow's 300th and 301st packets from
# the client; the client sends one segment per packet (TSO and GSO off on
# its interface); the rule's packet counter proves the hole was made.
#
# Checks, over IPv4 and IPv6: the upload completes with the right sha256 at
# the client's end (the primary's answer) and in the secondary guest's
# server; no divergence (no timeout) and no fail-open; the rule dropped
# exactly the hole; acks were lowered.
#
# A known failure (selftests/settings, README "Known failures"): over IPv6
# the upload has outlasted the timeout, the client recovering one segment
# per retransmission timeout with backoff.

source "$(dirname "$0")/lib/topology.sh"

PORT=5030
UP_BYTES=2097152
# the client's packets of the flow that the secondary host drops (SYN = 1)
HOLES="300:301"

colo_require
require_cmd tcpdump
trap colo_topology_cleanup EXIT
colo_topology_setup || fail "expected the two-host topology to come up"
colo_setup_protection || fail "expected instance $COLO_ID and the COLO rules on both hosts"
guests_tcp_serve $PORT "--write-size 1000" "--write-size 65536" ||
	fail "expected the TCP servers to listen in both guests"
colo_monitor_start "$COLO_TMP/events" ||
	fail "expected coloctl monitor -j to subscribe to the events group"
on_client ethtool -K eth0 tso off gso off >/dev/null ||
	fail "expected TSO and GSO off on the client's interface"
colo_pcap_start cl "$NS_CLIENT" eth0
colo_pcap_start sg "$NS_SGUEST" eth0

# hole_rule ACT IPT RANGE: the drop rule on the secondary host's cable
hole_rule()
{
	on_shost "$2" -t mangle "$1" PREROUTING -m physdev --physdev-in cable \
		-p tcp --dport $PORT -m connbytes --connbytes "$3" \
		--connbytes-dir original --connbytes-mode packets -j DROP
}

# hole_dropped IPT: packets the drop rule dropped
hole_dropped()
{
	on_shost "$1" -t mangle -L PREROUTING -v -x -n |
		awk '/connbytes/ && $3 == "DROP" { print $1; exit }'
}

seed=40
for fam in 4 6; do
	host=PG$fam
	host=${!host}
	ipt=iptables
	[ "$fam" = 6 ] && ipt=ip6tables
	for hole in $HOLES; do
		seed=$((seed + 1))
		what="ipv$fam, client packets $hole lost on the way to the secondary"
		first=${hole%:*}
		last=${hole#*:}
		lowered=$(colo_stat acks_lowered)
		hole_rule -I "$ipt" "$hole" ||
			fail "expected the connbytes drop rule on the secondary host"

		t0=$(now_ms)
		expect_ok "$what: the upload completes with the right sha256" \
			on_client python3 "$COLO_TOOLS/colo_tcp.py" put --host "$host" \
			--port $PORT --bytes $UP_BYTES --seed $seed --write-size 3000 \
			--timeout 45 || {
			colo_diag "$COLO_TMP/events"
			colo_pcap_tail cl 30 tcp port $PORT
			colo_pcap_tail sg 30 tcp port $PORT
		}
		log "$what: upload $(($(now_ms) - t0)) ms"
		want_sha=$(grep -o '"sha256": "[0-9a-f]*"' <<<"$OUT" | head -n 1 | cut -d'"' -f4)
		expect_ok "$what: the secondary guest's server received it all, same sha256" \
			busywait 10000 grep -q "\"len\": $UP_BYTES, \"op\": \"put\".*\"sha256\": \"$want_sha\"" \
			"$COLO_TMP/sg_tcp$PORT.log"
		expect_eq "$what: the rule dropped the hole" $((last - first + 1)) \
			"$(hole_dropped "$ipt")"
		hole_rule -D "$ipt" "$hole" || fail "expected the drop rule to go"
		expect_ge "$what: acks were lowered (acks_lowered was $lowered)" \
			$((lowered + 1)) "$(colo_stat acks_lowered)"
		expect_eq "$what: no divergence or fail-open event" 0 \
			"$(grep -cE '"event": "(divergence|fail-open)"' "$COLO_TMP/events")"
	done
done

expect_ok "nothing stays held once the uploads are over" \
	busywait 10000 stat_is primary_held_packets -eq 0
expect_eq "instance state" "active" "$(colo_stat state)"
colo_show
log "final: $(cat "$COLO_TMP/show.json")"
ktap_finished
