#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The rewriter on the secondary host shifts TCP timestamps as it shifts
# sequence numbers: what the secondary guest sends leaves in the primary's
# timestamp space, and the client's echoes reach the secondary guest in its
# own.  For IPv4 and IPv6, two connections each:
#   - guest as server: the client downloads from the guests; the client's
#     packets reach the secondary guest 50 ms late (netem on the secondary
#     host's port to it), so its SYN-ACK is stamped after the primary's;
#   - guest-initiated, the secondary's SYN deliberately late: its client
#     starts only once the primary's SYN is held, so the client's SYN-ACK
#     echoes a TSval older than the secondary's SYN; unshifted, the
#     secondary guest's PAWS check resets the connection.
# Checked from captures on the secondary guest's interface and on the
# secondary host's link (tools/tcp_ts_pcap.py): the client's first ACK
# reaches the secondary guest echoing exactly the TSval of its SYN(-ACK);
# every later TSval of the secondary leaves shifted by the learned offset
# and every TSecr of the client arrives shifted back by it.  Both guests'
# transfers complete, the secondary guest counts no PAWS rejection, and no
# divergence is reported.

source "$(dirname "$0")/lib/topology.sh"

colo_require
require_cmd tcpdump
trap colo_topology_cleanup EXIT

SPORT=7200		# the guests' server
CPORT=7000		# the client's server

# paws_active NS: TcpExt PAWSActive (SYN-ACKs rejected by PAWS) of a netns
paws_active()
{
	# shellcheck disable=SC2016 # an awk program: its $i are awk's
	ip netns exec "$1" awk '/^TcpExt:/ {
		if (!h) { for (i = 1; i <= NF; i++) n[i] = $i; h = 1; next }
		for (i = 1; i <= NF; i++) if (n[i] == "PAWSActive") print $i }' /proc/net/netstat
}

colo_topology_setup || fail "expected the two-host topology to come up"
colo_setup_protection timeout 10000 failopen 0 ||
	fail "expected instance $COLO_ID and the COLO rules on both hosts"
guests_tcp_serve $SPORT "" "" || fail "expected the TCP servers to listen in both guests"
tcp_serve "$NS_CLIENT" cl_tcp $CPORT || fail "expected the TCP server in the client namespace"
EV=$COLO_TMP/events
colo_monitor_start "$EV" || fail "expected coloctl monitor -j to subscribe"
{ colo_pcap_start inner "$NS_SGUEST" eth0 &&
  colo_pcap_start outer "$NS_SHOST" cable; } ||
	fail "expected tcpdump on the secondary guest and the secondary host's link"
paws0=$(paws_active "$NS_SGUEST")
modprobe -q sch_netem
on_shost tc qdisc replace dev stap root netem delay 50ms limit 10000 ||
	fail "expected netem on the secondary host's port to the secondary guest"

sport=42000
for fam in 4 6; do
	f=ipv$fam
	guest=PG$fam
	guest=${!guest}
	client=CL$fam
	client=${!client}

	_bg "$NS_CLIENT" clget$fam python3 "$COLO_TOOLS/colo_tcp.py" get --host "$guest" \
		--port $SPORT --bytes 200000 --seed $((fam + 50)) --timeout 30
	bg_wait clget$fam 45000
	rc=$?
	expect_eq "$f: the client downloads from the guests (guest as server)" "0 true" \
		"$rc $(json_out clget$fam ok)" || log "$(cat "$COLO_TMP/clget$fam.out")"

	sport=$((sport + 1))
	h0=$(colo_stat primary_held_packets)
	_bg "$NS_PGUEST" pgget$fam python3 "$COLO_TOOLS/colo_tcp.py" get --host "$client" \
		--port $CPORT --bytes 200000 --seed $((fam + 60)) --sport $sport --timeout 30
	# the secondary's SYN is stamped only once the primary's is held
	busywait 20000 stat_is primary_held_packets -gt "$h0" >/dev/null ||
		log "$f: the primary's SYN was not seen held"
	_bg "$NS_SGUEST" sgget$fam python3 "$COLO_TOOLS/colo_tcp.py" get --host "$client" \
		--port $CPORT --bytes 200000 --seed $((fam + 60)) --sport $sport --timeout 30
	bg_wait pgget$fam 45000
	rc=$?
	expect_eq "$f: the primary guest's download completes (guest-initiated)" "0 true" \
		"$rc $(json_out pgget$fam ok)" || log "$(cat "$COLO_TMP/pgget$fam.out")"
	bg_wait sgget$fam 30000
	rc=$?
	expect_eq "$f: the secondary guest's side of it completes, its SYN late" "0 true" \
		"$rc $(json_out sgget$fam ok)" || log "$(cat "$COLO_TMP/sgget$fam.out")"
done
expect_eq "the secondary guest rejected no SYN-ACK by PAWS" 0 \
	$(($(paws_active "$NS_SGUEST") - paws0))

# the captures are complete once tcpdump has exited
bg_stop pcap_inner
bg_stop pcap_outer
for fam in 4 6; do
	f=ipv$fam
	guest=PG$fam
	guest=${!guest}
	for port in $SPORT $CPORT; do
		what="guest as server"
		[ "$port" = $CPORT ] && what="guest-initiated"
		out=$(python3 "$COLO_TOOLS/tcp_ts_pcap.py" check --inner "$COLO_TMP/inner.pcap" \
			--outer "$COLO_TMP/outer.pcap" --guest "$guest" --port "$port" 2>&1)
		rc=$?
		expect_eq "$f, $what: timestamps shifted exactly by the learned offset" 0 "$rc"
		log "$out"
		off=$(event_field "$(grep -m 1 '^{' <<<"$out")" off)
		expect_ge "$f, $what: the secondary's SYN(-ACK) was stamped after the primary's (offset, ms)" \
			1 "$off"
	done
done
expect_eq "no divergence event" 0 "$(events_count "$EV" --event divergence --instance "$COLO_ID")" ||
	log "events: $(cat "$EV")"

ktap_finished
