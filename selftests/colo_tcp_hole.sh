#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The secondary guest misses client segments (issue 3: the ack rule must
# not stall the client).  The client uploads to the guest pair while the
# secondary host drops mirrored client packets before they reach the
# secondary guest.  The primary guest has everything and acks beyond the
# hole; under the ack rule none of those acks may reach the client.  Held
# acks leave as the secondary's instead (`acks_lowered`): its ack, its SACK
# blocks, its timestamp echo (docs/design.md, "Lowered acks"), and the
# client resends the hole at once.  The upload must complete within the
# instance timeout (10 s here).
#
# The drop is an iptables connbytes rule on the secondary host's cable, in
# front of the rewriter, matching packets of the flow from the client (a
# packet there may be several segments, merged by GRO on the cable); the
# client sends one segment per packet (TSO and GSO off on its interface);
# the rule's packet counter proves the hole was made.  Two cases: two
# packets in a row (about ten segments), and a lossy link: every tenth of
# two hundred packets, retransmissions included.  (Forty packets in a row
# would be an outage, not a hole: the client's resent segments are lost
# too, the secondary can ack nothing, and the timeout is the right answer.)
#
# Checks, over IPv4 and IPv6: the upload completes with the right sha256 at
# the client's end (the primary's answer) and in the secondary guest's
# server; no divergence (no timeout) and no fail-open; the rule dropped
# exactly the hole; acks were lowered, and the client saw a SACK block
# above an ack from the guest.

source "$(dirname "$0")/lib/topology.sh"

PORT=5030
UP_BYTES=2097152
# the client's packets of the flow that the secondary host drops (SYN = 1):
# FIRST:LAST[/EVERY], every EVERYth from FIRST on
HOLES="300:301 300:500/10"

colo_require
require_cmd tcpdump
trap colo_topology_cleanup EXIT
colo_topology_setup || fail "expected the two-host topology to come up"
# The instance's timeout bounds how long the secondary may take to get the
# hole resent: without lowered acks the client is never told and the upload
# stalls until it, whatever it is. 10 s (scaled like the tests' bounds)
# rather than the default 3 s: under TCG on a loaded host one round of
# recovery can take seconds (a CI run saw the first upload take 15.6 s
# with two timeouts, their reasons not recorded then; they are printed on
# failure now).
colo_setup_protection timeout "$(colo_scaled 10000)" ||
	fail "expected instance $COLO_ID and the COLO rules on both hosts"
guests_tcp_serve $PORT "--write-size 1000" "--write-size 65536" ||
	fail "expected the TCP servers to listen in both guests"
colo_monitor_start "$COLO_TMP/events" ||
	fail "expected coloctl monitor -j to subscribe to the events group"
on_client ethtool -K eth0 tso off gso off >/dev/null ||
	fail "expected TSO and GSO off on the client's interface"
colo_pcap_start cl "$NS_CLIENT" eth0
colo_pcap_start sg "$NS_SGUEST" eth0

# hole_rule ACT IPT RANGE [EVERY]: the drop rule on the secondary host's
# cable
hole_rule()
{
	local nth=()
	[ -n "$4" ] && nth=(-m statistic --mode nth --every "$4" --packet 0)
	on_shost "$2" -t mangle "$1" PREROUTING -m physdev --physdev-in cable \
		-p tcp --dport $PORT -m connbytes --connbytes "$3" \
		--connbytes-dir original --connbytes-mode packets "${nth[@]}" -j DROP
}

# hole_dropped IPT: packets the drop rule dropped
hole_dropped()
{
	on_shost "$1" -t mangle -L PREROUTING -v -x -n |
		awk '/connbytes/ && $3 == "DROP" { print $1; exit }'
}

# sack_above_ack HOST PORT: guest packets to the client's PORT that carry
# a SACK block starting above their ack (tcpdump's relative numbers)
sack_above_ack()
{
	tcpdump -n -r "$COLO_TMP/cl.pcap" "src host $1 and tcp src port $PORT and tcp dst port $2" 2>/dev/null |
		awk '{
			ack = ""; blk = ""
			for (i = 1; i < NF; i++) {
				if ($i == "ack") ack = $(i + 1)
				if ($i ~ /sack$/) blk = $(i + 2)
			}
			sub(",", "", ack)
			if (blk == "") next
			sub("{", "", blk); split(blk, b, ":")
			if (b[1] + 0 > ack + 0) n++
		} END { print n + 0 }'
}

seed=40
for fam in 4 6; do
	host=PG$fam
	host=${!host}
	ipt=iptables
	[ "$fam" = 6 ] && ipt=ip6tables
	for hole in $HOLES; do
		seed=$((seed + 1))
		cport=$((41000 + seed))
		what="ipv$fam, client packets $hole lost on the way to the secondary"
		every=
		case $hole in */*) every=${hole#*/}; hole=${hole%/*} ;; esac
		first=${hole%:*}
		last=${hole#*:}
		drops=$(((last - first) / ${every:-1} + 1))
		lowered=$(colo_stat acks_lowered)
		# shellcheck disable=SC2086 # $every: a number, or no argument at all
		hole_rule -I "$ipt" "$hole" $every ||
			fail "expected the connbytes drop rule on the secondary host"

		t0=$(now_ms)
		expect_ok "$what: the upload completes with the right sha256" \
			on_client python3 "$COLO_TOOLS/colo_tcp.py" put --host "$host" \
			--port $PORT --bytes $UP_BYTES --seed $seed --write-size 3000 \
			--sport "$cport" --timeout 45 || {
			colo_diag "$COLO_TMP/events"
			colo_pcap_tail cl 30 tcp port $PORT
			colo_pcap_tail sg 30 tcp port $PORT
		}
		log "$what: upload $(($(now_ms) - t0)) ms"
		want_sha=$(grep -o '"sha256": "[0-9a-f]*"' <<<"$OUT" | head -n 1 | cut -d'"' -f4)
		expect_ok "$what: the secondary guest's server received it all, same sha256" \
			busywait 10000 grep -q "\"len\": $UP_BYTES, \"op\": \"put\".*\"sha256\": \"$want_sha\"" \
			"$COLO_TMP/sg_tcp$PORT.log"
		expect_eq "$what: the rule dropped the hole" $drops \
			"$(hole_dropped "$ipt")"
		# shellcheck disable=SC2086 # $every: a number, or no argument at all
		hole_rule -D "$ipt" "$hole" $every || fail "expected the drop rule to go"
		expect_ge "$what: acks were lowered (acks_lowered was $lowered)" \
			$((lowered + 1)) "$(colo_stat acks_lowered)"
		expect_ge "$what: the client was told the hole (guest acks with a SACK block above the ack)" \
			1 "$(sack_above_ack "$host" "$cport")"
		expect_eq "$what: no divergence or fail-open event" 0 \
			"$(grep -cE '"event": "(divergence|fail-open)"' "$COLO_TMP/events")" ||
			grep -E '"event": "(divergence|fail-open)"' "$COLO_TMP/events" | sed 's/^/# event: /'
	done
done

expect_ok "nothing stays held once the uploads are over" \
	busywait 10000 stat_is primary_held_packets -eq 0
expect_eq "instance state" "active" "$(colo_stat state)"
colo_show
log "final: $(cat "$COLO_TMP/show.json")"
ktap_finished
