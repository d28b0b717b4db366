#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The rewriter learns a connection's offset although the client had to
# retransmit its SYN. The primary host delays what goes to the primary
# guest by 1.5 s (netem on ptap; the mirror copies before the qdisc), so:
#   - the secondary guest answers the client's SYN at once, the primary
#     guest 1.5 s later, its ISN that much later in the ISN clock (about
#     23 million higher: offsets this large are what two real guests have,
#     where the selftests' guests, two namespaces of one kernel, pick ISNs
#     a few milliseconds apart);
#   - the client retransmits its SYN after 1 s, the secondary guest its
#     SYN-ACK for it, and the secondary host's conntrack re-synchronises
#     its window tracking on that SYN-ACK, replacing the client
#     direction's flags: the IP_CT_TCP_FLAG_BE_LIBERAL the rewriter set is
#     gone, and the client's ack of the primary's ISN + 1 lies far beyond
#     the secondary guest's window. Unless the rewriter makes the flow
#     liberal again, conntrack marks that ack INVALID, the rewriter sees it
#     without its conntrack entry and learns nothing, and the secondary
#     guest, acked at a number it never sent, resets the connection.
# For IPv4 and IPv6: the client's SYN went out twice (counted in the
# secondary guest), the rewriter learned an offset for the connection
# (rewritten_flows), the download completes byte for byte, and no
# divergence event is seen.

source "$(dirname "$0")/lib/topology.sh"

colo_require
trap colo_topology_cleanup EXIT

SPORT=7320
DELAY=1500		# ms: beyond the client's initial SYN timeout (1 s)
BYTES=20000

colo_topology_setup || fail "expected the two-host topology to come up"
# the secondary's output waits for the delayed primary's
colo_setup_protection timeout 60000 failopen 0 ||
	fail "expected instance $COLO_ID and the COLO rules on both hosts"
guests_tcp_serve $SPORT "" "" || fail "expected the TCP servers to listen in both guests"
on_sguest nft -f - <<-EOF || fail "expected the secondary guest's SYN counter"
	table inet colo_syns {
		chain input {
			type filter hook input priority 0; policy accept;
			tcp dport $SPORT tcp flags & (syn | ack) == syn counter
		}
	}
	EOF
modprobe -q sch_netem
on_phost tc qdisc replace dev ptap root netem delay "${DELAY}ms" limit 10000 ||
	fail "expected netem on the primary host's port to the primary guest"
EV=$COLO_TMP/events
colo_monitor_start "$EV" || fail "expected coloctl monitor -j to subscribe"

# syns: the client SYNs the secondary guest received
syns()
{
	on_sguest nft list chain inet colo_syns input |
		awk '{ for (i = 1; i < NF; i++) if ($i == "packets") n += $(i + 1) }
		     END { print n + 0 }'
}

rewritten_gt()
{
	[ "$(colo_stat rewritten_flows "$NS_SHOST")" -gt "$1" ] 2>/dev/null
}

for fam in 4 6; do
	f=ipv$fam
	guest=PG$fam
	guest=${!guest}
	cport=$((47100 + fam))
	syns0=$(syns)
	rewritten=$(colo_stat rewritten_flows "$NS_SHOST")

	_bg "$NS_CLIENT" get$fam python3 "$COLO_TOOLS/colo_tcp.py" get --host "$guest" \
		--port $SPORT --bytes $BYTES --seed $((fam * 10 + 5)) --sport $cport --timeout 90
	expect_ok "$f: the rewriter learned the connection's offset (rewritten_flows)" \
		busywait 60000 rewritten_gt "$rewritten" ||
		log "$f: rewritten_flows $(colo_stat rewritten_flows "$NS_SHOST"), was $rewritten"
	bg_wait get$fam 120000
	rc=$?
	expect_eq "$f: the download completes byte for byte" "0 true" "$rc $(json_out get$fam ok)" ||
		{ log "$(cat "$COLO_TMP/get$fam.out")"; colo_diag "$EV"; }
	expect_ge "$f: the client's SYN was retransmitted (SYNs at the secondary guest)" \
		$((syns0 + 2)) "$(syns)"
done
on_phost tc qdisc del dev ptap root
expect_eq "no divergence event" 0 "$(events_count "$EV" --event divergence --instance "$COLO_ID")" ||
	log "events: $(cat "$EV")"

ktap_finished
