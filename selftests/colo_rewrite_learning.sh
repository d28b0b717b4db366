#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The secondary host's rewriter learns a connection's sequence offset only
# from the client packet that must acknowledge the guest's ISN, and afresh
# for each connection on a 4-tuple.  For IPv4 and IPv6, the client
# downloading from the guests:
#   - a blind spoofed ack: while the client waits for the SYN-ACK (the
#     primary guest's output is cut off, the secondary's SYN-ACK has passed
#     the rewriter and is held by the comparator), a segment with ACK set,
#     the connection's addresses and ports and made-up sequence and ack
#     numbers goes from the client namespace through the primary host and
#     the mirror to the secondary host.  Both guests drop it (an nft rule
#     matching its TTL): what they would answer is the comparator's
#     business; this test is about what the rewriter learns from it.  It
#     must not: the secondary guest's output would be shifted wrongly for
#     the connection's life.  Checked directly: once the spoof has passed
#     the secondary host (the secondary guest's rule counted it), its
#     instance has given no flow an offset (rewritten_flows); then by the
#     captures.  The spoof comes after the client has retransmitted its
#     SYN (the primary guest is cut off for longer than the client's 1 s
#     SYN timeout) and the secondary guest its SYN-ACK for it: conntrack on
#     the secondary host re-synchronises on that SYN-ACK and drops the
#     window-liberal flag from the client's direction.  Unless the rewriter
#     sets it again (colo_rewrite_liberal()), the spoof, its numbers made
#     up, is INVALID there and reaches the rule without a conntrack entry:
#     nothing is learned from it whatever the rule, which is why this part
#     passed on the module from before the rule, and with the rule
#     reverted, until the rewriter kept its flows liberal.
#   - one 4-tuple three times: a connection closed with FINs (the guests,
#     closing first, keep it in TIME_WAIT), a second one reopening it from
#     there, closed with a reset, and a third one.  Each has an offset of
#     its own (the guests' ISNs move with the clock; the third must differ
#     from the second, else the test could not tell).  A rewriter that keeps
#     what it learned for the 4-tuple learns nothing for the second and
#     third, whose new conntrack entries start with no offset.
# Each download must complete byte for byte with no divergence event, and
# the captures on the primary host (tools/tcp_seq_pcap.py) must show, for
# every connection, the secondary guest's first data segment and FIN
# leaving the rewriter at the primary guest's sequence numbers; for the
# spoofed one, the spoof must have reached the rewriter between the
# secondary's SYN-ACK and the client's real ack (else it proved nothing).
# Reclaiming an idle rewriter flow (600 s) is not exercised.

source "$(dirname "$0")/lib/topology.sh"

colo_require
require_cmd tcpdump
trap colo_topology_cleanup EXIT

SPORT=7300		# the guests' server
SPOOF_TTL=7		# the spoof's TTL as sent; the guests see one less
SPOOF_SEQ=0x0badc0de
BYTES=150000

colo_topology_setup || fail "expected the two-host topology to come up"
# the secondary's SYN-ACK waits for the primary's while the primary guest
# is cut off: under load that takes longer than the default timeout
colo_setup_protection timeout 60000 failopen 0 ||
	fail "expected instance $COLO_ID and the COLO rules on both hosts"
guests_tcp_serve $SPORT "" "" || fail "expected the TCP servers to listen in both guests"
for ns in "$NS_PGUEST" "$NS_SGUEST"; do
	ip netns exec "$ns" nft -f - <<-EOF || fail "expected the guests' nft rule for the spoof"
	table netdev colo_spoof {
		chain ingress {
			type filter hook ingress device "eth0" priority 0; policy accept;
			ip ttl $((SPOOF_TTL - 1)) counter drop
			ip6 hoplimit $((SPOOF_TTL - 1)) counter drop
		}
	}
	EOF
done
EV=$COLO_TMP/events
colo_monitor_start "$EV" || fail "expected coloctl monitor -j to subscribe"
{ colo_pcap_start prim "$NS_PHOST" ptap &&
  colo_pcap_start sec "$NS_PHOST" cable; } ||
	fail "expected tcpdump on the primary host's ports to the guest and the secondary host"

# spoof_drops NS: packets the guest's spoof rule dropped
spoof_drops()
{
	ip netns exec "$1" nft list chain netdev colo_spoof ingress |
		awk '{ for (i = 1; i < NF; i++) if ($i == "packets") n += $(i + 1) }
		     END { print n + 0 }'
}

# spoof_drops_ge NS N: the guest's spoof rule dropped more than N
spoof_drops_ge()
{
	[ "$(spoof_drops "$1")" -gt "$2" ]
}

# no_socket PORT: the client holds no socket on that local port any more
no_socket()
{
	! on_client ss -Htan "sport = :$1" | grep -q .
}

# drained: the primary host's comparator holds nothing
drained()
{
	[ "$(colo_stats primary_held_packets secondary_held_packets)" = \
		"primary_held_packets=0 secondary_held_packets=0" ]
}

# get NAME HOST CPORT SEED [colo_tcp.py get options]: one download, checked
get()
{
	local name=$1 host=$2 cport=$3 seed=$4
	shift 4
	busywait 20000 no_socket "$cport" ||
		log "$name: the client still has a socket on port $cport: $(on_client ss -Htan "sport = :$cport")"
	# the previous connection's last packets have left the comparator
	busywait 20000 drained ||
		log "$name: still held before it starts: $(colo_stats primary_held_packets secondary_held_packets)"
	_bg "$NS_CLIENT" "$name" python3 "$COLO_TOOLS/colo_tcp.py" get --host "$host" \
		--port $SPORT --bytes $BYTES --seed "$seed" --sport "$cport" --timeout 40 "$@"
}

# got DESC NAME: the download NAME completed with the expected bytes
got()
{
	local rc
	bg_wait "$2" 60000
	rc=$?
	expect_eq "$1" "0 true" "$rc $(json_out "$2" ok)" ||
		{ log "$(cat "$COLO_TMP/$2.out")"; colo_diag "$EV"; }
}

for fam in 4 6; do
	f=ipv$fam
	guest=PG$fam
	guest=${!guest}
	client=CL$fam
	client=${!client}
	spoof_ack=$((0x5eed0000 + fam))

	# a spoofed ack before the client's own
	cport=$((45000 + fam))
	secondary_held=$(colo_stat secondary_held_packets)
	rewritten=$(colo_stat rewritten_flows "$NS_SHOST")
	sdrops=$(spoof_drops "$NS_SGUEST")
	primary_silence on || fail "expected to cut off the primary guest's output"
	get spoofed$fam "$guest" $cport $((fam * 10 + 1))
	wait_held=0
	busywait 30000 stat_is secondary_held_packets -gt "$secondary_held" >/dev/null ||
		wait_held=1
	expect_eq "$f: the secondary's SYN-ACK reached the comparator before the primary's" \
		0 $wait_held
	out=$(on_client python3 "$COLO_TOOLS/colo_raw.py" segment --dev eth0 \
		--src-mac "$CLIENTMAC" --dst-mac "$CLIMAC" --src "$client" --dst "$guest" \
		--sport $cport --dport $SPORT --seq $SPOOF_SEQ --ack $spoof_ack \
		--flags A --ttl $SPOOF_TTL 2>&1)
	expect_eq "$f: the spoofed ack was sent" 1 "$out"
	# Once the secondary guest's rule dropped it, the spoof has been
	# through the secondary host's rewriter; the client cannot have acked
	# yet (the primary guest is cut off): no offset may have been learned.
	expect_ok "$f: the spoof went through the rewriter to the secondary guest" \
		busywait 30000 spoof_drops_ge "$NS_SGUEST" "$sdrops"
	expect_eq "$f: the spoofed ack taught the rewriter no offset (rewritten_flows)" \
		"$rewritten" "$(colo_stat rewritten_flows "$NS_SHOST")"
	primary_silence off || fail "expected the primary guest's output back"
	got "$f: the download with a spoofed ack before the client's completes" spoofed$fam

	# one 4-tuple, three connections
	cport=$((46000 + fam))
	get reuse${fam}a "$guest" $cport $((fam * 10 + 2))
	got "$f: the first connection on a 4-tuple completes" reuse${fam}a
	get reuse${fam}b "$guest" $cport $((fam * 10 + 3)) --rst
	got "$f: a second connection reopening it from TIME_WAIT completes" reuse${fam}b
	get reuse${fam}c "$guest" $cport $((fam * 10 + 4))
	got "$f: a third one, after the second's reset, completes" reuse${fam}c
done

for ns in "$NS_PGUEST" "$NS_SGUEST"; do
	expect_eq "the spoofed acks never reached the guest ($ns)" 2 "$(spoof_drops "$ns")"
done

# the captures are complete once tcpdump has exited
bg_stop pcap_prim
bg_stop pcap_sec
for fam in 4 6; do
	f=ipv$fam
	guest=PG$fam
	guest=${!guest}
	spoof_ack=$((0x5eed0000 + fam))

	out=$(python3 "$COLO_TOOLS/tcp_seq_pcap.py" check --primary "$COLO_TMP/prim.pcap" \
		--secondary "$COLO_TMP/sec.pcap" --guest "$guest" --port $SPORT \
		--client-port $((45000 + fam)) --spoof-ack $spoof_ack 2>&1)
	rc=$?
	log "$out"
	expect_eq "$f: the spoof reached the rewriter before the client's real ack" \
		between "$(event_field "$(grep -m 1 '^{' <<<"$out")" spoof)"
	expect_eq "$f: after the spoof the secondary's data and FIN carry the primary's sequence numbers" \
		0 "$rc"

	out=$(python3 "$COLO_TOOLS/tcp_seq_pcap.py" check --primary "$COLO_TMP/prim.pcap" \
		--secondary "$COLO_TMP/sec.pcap" --guest "$guest" --port $SPORT \
		--client-port $((46000 + fam)) 2>&1)
	rc=$?
	log "$out"
	expect_eq "$f: three connections on the 4-tuple seen in both captures" 3 \
		"$(grep -c '"conn"' <<<"$out")"
	expect_eq "$f: in each the secondary's data and FIN carry the primary's sequence numbers" \
		0 "$rc"
	off2=$(event_field "$(sed -n 2p <<<"$out")" off)
	off3=$(event_field "$(sed -n 3p <<<"$out")" off)
	if [ "$off2" != "$off3" ]; then
		ktap_test_pass "$f: the third connection's offset differs from the second's"
	else
		ktap_test_fail "$f: the third connection's offset differs from the second's"
		echo "#   expected: an offset other than $off2"
		echo "#   saw:      $off3"
	fi
done
expect_eq "no divergence event" 0 "$(events_count "$EV" --event divergence --instance "$COLO_ID")" ||
	log "events: $(cat "$EV")"

ktap_finished
