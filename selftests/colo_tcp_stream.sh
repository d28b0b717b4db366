#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Identical TCP streams pass the comparator intact, however the two guests
# segment them (issue 3, tests 1 and 4).
#
# Two-host topology (lib/topology.sh): the client downloads a multi-megabyte
# seeded stream from the guest pair, then uploads one, over IPv4 and IPv6.
# The primary guest's server writes 1000 bytes at a time, the secondary's
# 64 KiB (GSO super-packets), so the segments never line up; the secondary
# guest's ISN differs and only the rewriter on the secondary host lets its
# handshake and acks line up with the client's mirrored packets.
#
# Proves: the client gets every byte exactly (sha256), both guests' servers
# saw the whole conversation, `coloctl instance show -j` counts zero
# divergences and no checkpoint request while compared/released/dropped
# counters moved, nothing stays held afterwards, no event was sent, and the
# rewriter gave each flow an offset.

source "$(dirname "$0")/lib/topology.sh"

BYTES=${COLO_TCP_BYTES:-4194304}
UP_BYTES=${COLO_TCP_UP_BYTES:-2097152}
PORT=5001

colo_require
trap colo_topology_cleanup EXIT
colo_topology_setup || fail "expected the two-host topology to come up"
colo_setup_protection || fail "expected instance $COLO_ID and the COLO rules on both hosts"
guests_tcp_serve $PORT "--write-size 1000" "--write-size 65536" ||
	fail "expected the TCP servers to listen in both guests"
colo_monitor_start "$COLO_TMP/events" ||
	fail "expected coloctl monitor -j to subscribe to the events group"
# Headers on the secondary host's cable and in the secondary guest, printed
# only when a check on the secondary's side fails.
colo_pcap_start cable "$NS_SHOST" cable
colo_pcap_start sg "$NS_SGUEST" eth0
colo_pcap_start cl "$NS_CLIENT" eth0
colo_pcap_start ptap "$NS_PHOST" ptap

# secondary_diag: why the secondary guest's side stalled
secondary_diag()
{
	colo_diag "$COLO_TMP/events"
	colo_diag_more
	colo_pcap_tail cable 40 tcp port $PORT
	colo_pcap_tail sg 40 tcp port $PORT
	colo_pcap_tail cl 40 tcp port $PORT
	colo_pcap_tail ptap 40 tcp port $PORT
}

DIVS="divergence_payload divergence_length divergence_tcp_flags divergence_timeout divergence_queue_full divergence_header"

for fam in 4 6; do
	host=PG$fam
	host=${!host}
	before=$(colo_stats compared_equal released secondary_dropped)

	t0=$(now_ms)
	expect_ok "ipv$fam: client downloads $BYTES bytes intact (primary writes 1000 B, secondary 64 KiB)" \
		on_client python3 "$COLO_TOOLS/colo_tcp.py" get --host "$host" --port $PORT \
		--bytes "$BYTES" --seed $fam --timeout 75 || colo_diag "$COLO_TMP/events"
	log "ipv$fam download: $(($(now_ms) - t0)) ms"

	t0=$(now_ms)
	expect_ok "ipv$fam: client uploads $UP_BYTES bytes (3000 B writes) and gets the right checksum back" \
		on_client python3 "$COLO_TOOLS/colo_tcp.py" put --host "$host" --port $PORT \
		--bytes "$UP_BYTES" --seed $((fam + 10)) --write-size 3000 --timeout 45 ||
		colo_diag "$COLO_TMP/events"
	log "ipv$fam upload: $(($(now_ms) - t0)) ms"
	want_sha=$(grep -o '"sha256": "[0-9a-f]*"' <<<"$OUT" | head -n 1 | cut -d'"' -f4)

	# The secondary guest lived through the same conversation: it sent the
	# whole download and received the whole upload through the rewriter.
	expect_ok "ipv$fam: secondary guest's server sent the whole download" \
		busywait 10000 grep -q "\"len\": $BYTES, \"op\": \"get\".*\"seed\": $fam" \
		"$COLO_TMP/sg_tcp$PORT.log" || secondary_diag
	expect_match "ipv$fam: secondary guest's server received the whole upload, same sha256" \
		"\"len\": $UP_BYTES, \"op\": \"put\".*\"sha256\": \"$want_sha\"" \
		"$(cat "$COLO_TMP/sg_tcp$PORT.log")" || secondary_diag
	expect_eq "ipv$fam: no divergence or fail-open event so far" 0 \
		"$(grep -cE '"event": "(divergence|fail-open)"' "$COLO_TMP/events")"

	after=$(colo_stats compared_equal released secondary_dropped)
	log "ipv$fam counters before: $before; after: $after"
	for k in compared_equal released secondary_dropped; do
		b=$(sed -n "s/.*$k=\([0-9]*\).*/\1/p" <<<"$before")
		a=$(sed -n "s/.*$k=\([0-9]*\).*/\1/p" <<<"$after")
		expect_ge "ipv$fam: counter $k moved" $((${b:-0} + 1)) "${a:-missing}"
	done
done

expect_ok "nothing stays held once the transfers are over" \
	busywait 10000 stat_is primary_held_packets -eq 0
expect_eq "secondary side holds nothing either" 0 "$(colo_stat secondary_held_packets)"

# shellcheck disable=SC2086 # $DIVS: the counters' names, several words
seen=$(colo_stats $DIVS checkpoint_requests checkpoint_suppressed)
expect_eq "zero divergences, no checkpoint request" \
	"divergence_payload=0 divergence_length=0 divergence_tcp_flags=0 divergence_timeout=0 divergence_queue_full=0 divergence_header=0 checkpoint_requests=0 checkpoint_suppressed=0" \
	"$seen"
expect_eq "instance state" "active" "$(colo_stat state)"
expect_eq "no divergence event on the events group" 0 \
	"$(events_count "$COLO_TMP/events" --event divergence)" ||
	log "events: $(grep -vE "\"instance\": ${COLO_SYNC_ID}[,}]" "$COLO_TMP/events")"
expect_ge "rewriter on the secondary host gave the 4 flows an offset" 4 \
	"$(colo_stat rewritten_flows "$NS_SHOST")"

colo_show
log "final: $(cat "$COLO_TMP/show.json")"
ktap_finished
