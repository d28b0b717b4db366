#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# A secondary ahead of a slow but live primary is no divergence: its
# output waits for the primary's as long as the primary keeps sending on
# the flow, whatever the instance's timeout (bounded by max-queue and
# max-bytes like anything held). Two guests fed the same requests answer
# at their own pace; two TCP senders fed the same acks grow their
# congestion windows apart, and the faster runs ahead by seconds on a slow
# path. Taken for a divergence, the lead was dropped after the timeout,
# and the primary's same bytes then waited a timeout of their own for a
# copy the secondary had already sent: one checkpoint request after
# another, the transfer crawling.
#   1. UDP: the primary guest's output limited to about 10 answers a second
#      (netem rate), the secondary's not: 30 requests at once are answered
#      by the secondary at once and by the primary over 3 s, with the
#      instance's timeout at 1 s. All answered, all compared equal, nothing
#      expired, no divergence.
#   2. TCP: a 512 KiB download, the primary guest's server writing 8 KiB
#      every 100 ms, the secondary's all at once, with a fresh instance's
#      timeout at 300 ms: the secondary's TCP runs ahead by the client's
#      window, most of a second at the primary's pace. Intact, nothing
#      expired, no divergence, and the secondary guest sent the whole
#      download.
# colo_flow_bound.sh has the other half: the primary silent, the
# secondary's answers expire after the timeout.

source "$(dirname "$0")/lib/topology.sh"

UPORT=5011
TPORT=5012
BYTES=524288
DIVS=(divergence_payload divergence_length divergence_tcp_flags divergence_timeout divergence_queue_full divergence_header)

colo_require
require_cmd tc
trap colo_topology_cleanup EXIT
colo_topology_setup || fail "expected the two-host topology to come up"
colo_setup_protection timeout 1000 failopen 0 ||
	fail "expected instance $COLO_ID (timeout 1000) and the rules"
guests_udp_serve $UPORT "" "" || fail "expected the UDP servers in both guests"
guests_tcp_serve $TPORT "--write-size 8192 --write-gap-ms 100" "--write-size 65536" ||
	fail "expected the TCP servers in both guests"
EV=$COLO_TMP/events
colo_monitor_start "$EV" || fail "expected coloctl monitor -j to subscribe"
modprobe -q sch_netem

ndiv()
{
	events_count "$EV" --event divergence --instance "$COLO_ID"
}

# primary_rate RATE|off: netem's rate limit on the primary guest's output
primary_rate()
{
	if [ "$1" = off ]; then
		on_pguest tc qdisc del dev eth0 root
	else
		on_pguest tc qdisc replace dev eth0 root netem rate "$1" limit 10000
	fi
}

# --- 1. UDP: 30 answers, the primary's paced over 3 s
primary_rate 8kbit || fail "expected netem on the primary guest's output"
d0=$(ndiv)
s0=$(colo_stats compared_equal secondary_expired)
t0=$(now_ms)
expect_ok "udp: 30 requests at once, the primary answering ~10 a second: all answered" \
	on_client python3 "$COLO_TOOLS/colo_udp.py" send --host $PG4 --port $UPORT \
	--sport 44000 --count 30 --interval-ms 5 --timeout 20 ||
	colo_diag "$EV"
took=$(($(now_ms) - t0))
log "udp: $took ms; before: $s0; after: $(colo_stats compared_equal secondary_expired secondary_held_packets)"
primary_rate off
expect_ge "udp: the primary's answers spread past the timeout (ms)" 1500 "$took"
eval "$(tr ' ' '\n' <<<"$s0" | sed 's/^/b_/')"
# shellcheck disable=SC2154 # b_*: set by the eval above
expect_eq "udp: every answer compared equal" $((b_compared_equal + 30)) \
	"$(colo_stat compared_equal)"
# shellcheck disable=SC2154
expect_eq "udp: none of the secondary's answers expired" "$b_secondary_expired" \
	"$(colo_stat secondary_expired)" || colo_diag "$EV"
expect_eq "udp: no divergence event" "$d0" "$(ndiv)"
expect_eq "udp: no divergence counted" \
	"divergence_payload=0 divergence_length=0 divergence_tcp_flags=0 divergence_timeout=0 divergence_queue_full=0 divergence_header=0" \
	"$(colo_stats "${DIVS[@]}")"

# --- 2. TCP: a download, the primary guest's server the slower writer
colo_reset_primary_instance timeout 300 failopen 0 ||
	fail "expected instance $COLO_ID re-created with timeout 300"
d0=$(ndiv)
x0=$(colo_stat secondary_expired)
t0=$(now_ms)
expect_ok "tcp: $BYTES bytes downloaded intact, the primary's server 8 KiB each 100 ms" \
	on_client python3 "$COLO_TOOLS/colo_tcp.py" get --host $PG4 --port $TPORT \
	--bytes $BYTES --seed 7 --timeout 60 || colo_diag "$EV"
log "tcp: $(($(now_ms) - t0)) ms; $(colo_stats secondary_expired secondary_held_packets released_partial checkpoint_requests)"
expect_eq "tcp: none of the secondary's segments expired" "$x0" \
	"$(colo_stat secondary_expired)" || colo_diag "$EV"
expect_eq "tcp: no divergence event" "$d0" "$(ndiv)"
expect_eq "tcp: no divergence counted" \
	"divergence_payload=0 divergence_length=0 divergence_tcp_flags=0 divergence_timeout=0 divergence_queue_full=0 divergence_header=0" \
	"$(colo_stats "${DIVS[@]}")"
expect_ok "tcp: the secondary guest's server sent the whole download" \
	busywait 10000 grep -q "\"len\": $BYTES, \"op\": \"get\".*\"seed\": 7" \
	"$COLO_TMP/sg_tcp$TPORT.log"

ktap_finished
