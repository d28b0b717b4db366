#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The rewriter's flows (secondary host) are bounded by max-flows as the
# comparator's are: with `max-flows 2` on the secondary host's instance,
# client SYNs on four 4-tuples (three IPv4, one IPv6) reach the
# --rewrite-client rule. Two get a flow; the packets of the others pass the
# rewriter as they are, counted in flows_full and named in the kernel log,
# and the rule goes on working. (The rewriter took colo_flow_get()'s
# ERR_PTR(-ENOSPC) for a flow and locked it: a kernel oops in softirq at the
# first packet beyond the bound, or at an atomic allocation that failed.)
# The SYNs are raw segments from the client's namespace, where no socket
# answers the guests' SYN-ACKs and an nft rule keeps the client's kernel
# from resetting them: each connection stays half open, its conntrack entry
# alive, and the two tracked flows (the guest's ISN learned) are not
# reclaimed while the test runs.

source "$(dirname "$0")/lib/topology.sh"

colo_require
trap colo_topology_cleanup EXIT

SPORT=7310
MAX=2

colo_topology_setup || fail "expected the two-host topology to come up"
out=$(colo_ctl "$NS_PHOST" instance add "$COLO_ID") ||
	fail "expected instance $COLO_ID on the primary host: $out"
out=$(colo_ctl "$NS_SHOST" instance add "$COLO_ID" max-flows $MAX) ||
	fail "expected instance $COLO_ID (max-flows $MAX) on the secondary host: $out"
colo_rules -A || fail "expected the COLO rules on both hosts"
guests_tcp_serve $SPORT "" "" || fail "expected the TCP servers to listen in both guests"
on_client nft -f - <<-EOF || fail "expected the client's nft rule against its resets"
	table inet colo_norst {
		chain output {
			type filter hook output priority 0; policy accept;
			tcp dport $SPORT counter drop
		}
	}
	EOF
mark=$(kmsg_mark)

# syn FAMILY CPORT: one client SYN to the guest on port SPORT
syn()
{
	local dst=$PG4 src=$CL4
	[ "$1" = 6 ] && { dst=$PG6; src=$CL6; }
	on_client python3 "$COLO_TOOLS/colo_raw.py" segment --dev eth0 \
		--src-mac "$CLIENTMAC" --dst-mac "$CLIMAC" --src "$src" --dst "$dst" \
		--sport "$2" --dport $SPORT --seq $((0x10000 + $2)) --ack 0 \
		--flags S 2>&1
}

# sstat KEY: a counter of the secondary host's instance
sstat()
{
	colo_stat "$1" "$NS_SHOST"
}

rewrite_seen()
{
	[ "$(sstat rewrite_packets)" -ge "$1" ] 2>/dev/null
}

# the bound's flows, one after the other: the SYN and the secondary
# guest's SYN-ACK (at least two packets more) through the rewriter
n=0
for cport in 47001 47002; do
	n=$((n + 1))
	expect_eq "SYN $n (IPv4, port $cport) was sent" 1 "$(syn 4 $cport)"
	expect_ok "SYN $n and its SYN-ACK went through the rewriter" \
		busywait 20000 rewrite_seen $((2 * n))
done
expect_eq "two flows tracked on the secondary host" "$MAX" "$(sstat flows)"
expect_eq "no packet refused while within the bound" 0 "$(sstat flows_full)"

# beyond it
seen=$(sstat rewrite_packets)
expect_eq "SYN 3 (IPv4) was sent" 1 "$(syn 4 47003)"
expect_eq "SYN 4 (IPv6) was sent" 1 "$(syn 6 47004)"
expect_ok "SYNs 3 and 4 reached the rewriter" busywait 20000 rewrite_seen $((seen + 2))
full_ge()
{
	[ "$(sstat flows_full)" -ge "$1" ] 2>/dev/null
}
expect_ok "the packets of flows beyond max-flows $MAX are refused and counted (flows_full >= 2)" \
	busywait 20000 full_ge 2 ||
	log "secondary host: flows $(sstat flows), flows_full $(sstat flows_full)"
expect_le "never more than $MAX flows tracked" $MAX "$(sstat flows)"
full_logged()
{
	kmsg_since "$mark" | grep -q "instance $COLO_ID: flow table full (max-flows $MAX)"
}
expect_ok "the kernel log names the full table" busywait 10000 full_logged

# the rule goes on working: a packet of a tracked flow is still seen
seen=$(sstat rewrite_packets)
expect_eq "SYN 1 again was sent" 1 "$(syn 4 47001)"
expect_ok "the rewriter still sees packets" busywait 20000 rewrite_seen $((seen + 1))
log "secondary host: flows $(sstat flows), flows_full $(sstat flows_full), rewrite_packets $(sstat rewrite_packets)"

noise=$(kmsg_noise "$mark" | grep -vE 'flow table full|callbacks suppressed')
expect_eq "no kernel report" "" "$noise"

ktap_finished
