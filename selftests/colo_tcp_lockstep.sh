#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Liveness: the secondary guest waits for the client before it sends more,
# while the primary guest has already sent everything (issue 3, the release
# rule).
#
# The client downloads 20 chunks of 1000 bytes and asks for each next chunk
# with one byte once it has the previous one. The primary guest's server
# sends all 20000 bytes at once (segments of up to 64 KiB, never on a chunk
# boundary: 1000 is no multiple of the MSS); the secondary's sends one chunk
# per request. So the stream compared equal ends inside a held primary
# segment after every chunk. Holding that segment until the secondary
# covers all of it deadlocks: the client never gets the chunk, never asks for
# the next, and the secondary never sends it. The comparator must release
# the matched front of the segment as a partial copy.
#
# Proves, for IPv4 and IPv6, with fail-open off (a deadlock cannot hide
# behind it): the download completes intact within its timeout, the
# secondary's server answered every request, zero divergences (no timeout),
# partial copies were released, nothing stays held.

source "$(dirname "$0")/lib/topology.sh"

BYTES=20000
CHUNK=1000
PORT=5021
DIVS="divergence_payload divergence_length divergence_tcp_flags divergence_timeout divergence_queue_full divergence_header"

colo_require
trap colo_topology_cleanup EXIT
colo_topology_setup || fail "expected the two-host topology to come up"
colo_setup_protection failopen 0 ||
	fail "expected instance $COLO_ID (failopen 0) and the COLO rules on both hosts"
guests_tcp_serve $PORT "--write-size 65536" "--lockstep" ||
	fail "expected the TCP servers to listen in both guests"
colo_monitor_start "$COLO_TMP/events" ||
	fail "expected coloctl monitor -j to subscribe to the events group"
# Headers as the client, the primary guest and the secondary's cable see
# them, printed only when the download fails.
colo_pcap_start cl "$NS_CLIENT" eth0
colo_pcap_start ptap "$NS_PHOST" ptap
colo_pcap_start cable "$NS_PHOST" cable

lockstep_diag()
{
	colo_diag "$COLO_TMP/events"
	log "client: $OUT"
	colo_pcap_tail cl 30 tcp port $PORT
	colo_pcap_tail ptap 30 tcp port $PORT
	colo_pcap_tail cable 30 tcp port $PORT
}

for fam in 4 6; do
	host=PG$fam
	host=${!host}
	before=$(colo_stat released_partial)
	t0=$(now_ms)
	expect_ok "ipv$fam: lockstep download of $((BYTES / CHUNK)) chunks of $CHUNK bytes completes intact" \
		on_client python3 "$COLO_TOOLS/colo_tcp.py" step --host "$host" --port $PORT \
		--bytes $BYTES --chunk $CHUNK --seed $((fam + 40)) --timeout 60 ||
		lockstep_diag
	log "ipv$fam lockstep download: $(($(now_ms) - t0)) ms"
	expect_ok "ipv$fam: the secondary guest's server sent every chunk on request" \
		busywait 10000 grep -q "\"len\": $BYTES, \"lockstep\": true, \"op\": \"step\", \"peer\": \"[^\"]*\", \"seed\": $((fam + 40))" \
		"$COLO_TMP/sg_tcp$PORT.log" ||
		log "secondary server log: $(cat "$COLO_TMP/sg_tcp$PORT.log")"
	after=$(colo_stat released_partial)
	expect_ge "ipv$fam: partial copies released (counter released_partial $before before)" \
		$((before + 1)) "$after"
done

expect_ok "nothing stays held once the downloads are over" \
	busywait 10000 stat_is primary_held_packets -eq 0
# shellcheck disable=SC2086 # $DIVS: the counters' names, several words
expect_eq "zero divergences, no checkpoint request" \
	"divergence_payload=0 divergence_length=0 divergence_tcp_flags=0 divergence_timeout=0 divergence_queue_full=0 divergence_header=0 checkpoint_requests=0" \
	"$(colo_stats $DIVS checkpoint_requests)"
expect_eq "no divergence event on the events group" 0 \
	"$(events_count "$COLO_TMP/events" --event divergence)"
colo_show
log "final: $(cat "$COLO_TMP/show.json")"
ktap_finished
