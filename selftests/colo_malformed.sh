#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Truncated and malformed packets never crash, hold or leak anything, and
# are counted (issue 3, "Bad input").  Raw frames (tools/colo_raw.py) with
# valid IP headers and broken transport parts -- TCP headers cut short or
# with impossible data offsets, bogus TCP options, short UDP headers and UDP
# length fields that lie, truncated ICMP, IPv6 extension headers cut short
# or running past the packet, hop-by-hop out of place -- are sent over IPv4
# and IPv6 by the primary guest (the --primary path), the secondary guest
# (the --rewrite path on the secondary host, then --secondary) and the client
# (mirrored through --rewrite-client).  Then:
#   - the primary host's `malformed` counter counts at least the 12 frames
#     of the primary guest that cannot be parsed, and every primary packet
#     seen is accounted for (held + released + passed + dropped +
#     duplicates freed, partial copies not counting as packets seen);
#   - nothing stays held, the kernel log has no warning, and the
#     skbuff_head_cache slab goes back to where it was;
#   - ordinary UDP, ping and TCP traffic afterwards passes without a
#     divergence.

source "$(dirname "$0")/lib/topology.sh"

CACHE=skbuff_head_cache
# What the module cannot parse (kernel/target.c colo_parse): a TCP header
# cut short or with an impossible data offset, a UDP header cut short, ICMP
# shorter than 4 bytes, a broken IPv6 extension header chain.  A lying UDP
# length field is not among them: lengths come from the IP header, so such
# a datagram is compared like any other.
UNPARSEABLE_PER_FAMILY=5	# tcp-truncated/doff-small/doff-beyond, udp-truncated, icmp-truncated
UNPARSEABLE_V6_ONLY=2		# dstopt-truncated, dstopt-len-beyond

colo_require
require_cmd ping
trap colo_topology_cleanup EXIT
colo_topology_setup || fail "expected the two-host topology to come up"
colo_setup_protection timeout 1000 failopen 0 ||
	fail "expected instance $COLO_ID and the COLO rules on both hosts"
guests_udp_serve 5012 "" "" || fail "expected the UDP servers in both guests"
guests_tcp_serve 5013 "--write-size 1000" "--write-size 8192" || fail "expected the TCP servers"
EV=$COLO_TMP/events
colo_monitor_start "$EV" || fail "expected coloctl monitor -j to subscribe"

slab_objects()
{
	echo 1 >/sys/kernel/slab/$CACHE/shrink 2>/dev/null
	cut -d' ' -f1 /sys/kernel/slab/$CACHE/objects 2>/dev/null
}

_slab_near()
{
	[ "$(slab_objects)" -le $(($1 + $2)) ]
}

# send_from WHO FAMILY: all malformed frames of that family from a guest or
# the client
send_from()
{
	local who=$1 fam=$2 ns smac dmac src dst
	case $who in
	primary) ns=$NS_PGUEST smac=$GUESTMAC dmac=$GWMAC ;;
	secondary) ns=$NS_SGUEST smac=$GUESTMAC dmac=$GWMAC ;;
	client) ns=$NS_CLIENT smac=$CLIENTMAC dmac=$CLIMAC ;;
	esac
	if [ "$who" = client ]; then
		if [ "$fam" = 4 ]; then src=$CL4 dst=$PG4; else src=$CL6 dst=$PG6; fi
	else
		if [ "$fam" = 4 ]; then src=$PG4 dst=$CL4; else src=$PG6 dst=$CL6; fi
	fi
	ip netns exec "$ns" python3 "$COLO_TOOLS/colo_raw.py" send --dev eth0 \
		--src-mac "$smac" --dst-mac "$dmac" --src "$src" --dst "$dst"
}

base=$(slab_objects)
mark=$(kmsg_mark)
m0=$(colo_stat malformed)
r0=$(colo_stat rewrite_packets "$NS_SHOST")

n=0
for fam in 4 6; do
	sent=$(send_from primary $fam)
	expect_ge "ipv$fam: the primary guest sent its malformed frames" 9 "${sent:-0}"
	n=$((n + ${sent:-0}))
done
want=$((2 * UNPARSEABLE_PER_FAMILY + UNPARSEABLE_V6_ONLY))
expect_ok "primary: at least $want of its $n frames counted as malformed" \
	busywait 10000 stat_is malformed -ge $((m0 + want))
log "malformed: $m0 -> $(colo_stat malformed)"

for who in secondary client; do
	for fam in 4 6; do
		sent=$(send_from $who $fam)
		expect_ge "ipv$fam: the $who sent its malformed frames" 9 "${sent:-0}"
	done
done
expect_ok "the rewriter on the secondary host saw the frames" \
	busywait 10000 stat_is rewrite_packets -gt "$r0" "$NS_SHOST"

# Whatever parsed as a packet is now released, passed or dropped.
expect_ok "nothing held on the primary side" \
	busywait 15000 stat_is primary_held_packets -eq 0
expect_ok "nothing held on the secondary side" \
	busywait 15000 stat_is secondary_held_packets -eq 0
s=$(colo_stats primary_packets primary_held_packets released released_partial passed primary_dropped primary_duplicates malformed)
log "$s"
eval "$(tr ' ' '\n' <<<"$s" | sed 's/^/st_/')"
# shellcheck disable=SC2154 # st_*: set by the eval above
expect_eq "every primary packet is accounted for (held + released - partial copies + passed + dropped + duplicates)" \
	"$st_primary_packets" \
	"$((st_primary_held_packets + st_released - st_released_partial + st_passed + st_primary_dropped + st_primary_duplicates))"

noise=$(kmsg_since "$mark" | grep -E 'WARNING|BUG|Call Trace|RIP:|refcount_t|general protection|Oops|use-after-free|Redzone|Poison|corruption')
expect_eq "no warning in the kernel log" "" "$noise"
expect_ok "$CACHE back to $base (+8)" busywait 10000 _slab_near "$base" 8

# Ordinary traffic still works and is compared.
d0=$(events_count "$EV" --event divergence --instance "$COLO_ID")
for fam in 4 6; do
	host=PG$fam
	host=${!host}
	expect_ok "ipv$fam: UDP echoes afterwards" \
		on_client python3 "$COLO_TOOLS/colo_udp.py" send --host "$host" --port 5012 \
		--count 10 --interval-ms 5 --timeout 30
	expect_match "ipv$fam: pings afterwards" ' ([5-9]|[1-9][0-9]) received' \
		"$(on_client ping -$fam -c 5 -i 0.1 -w 30 "$host" 2>&1)"
	expect_ok "ipv$fam: a TCP download afterwards" \
		on_client python3 "$COLO_TOOLS/colo_tcp.py" get --host "$host" --port 5013 \
		--bytes 200000 --seed $((fam + 60)) --timeout 60
done
expect_eq "no divergence from the ordinary traffic" "$d0" \
	"$(events_count "$EV" --event divergence --instance "$COLO_ID")" ||
	log "events: $(cat "$EV")"
log "divergence events during the malformed frames: $d0"

ktap_finished
