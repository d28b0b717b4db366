#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# SYN, FIN and RST must stand at the same stream position on both sides
# (issue 3, comparison rules): the secondary guest's server ends its stream
# one byte early, so its FIN comes where the primary still sends data.  One
# divergence (tcp-flags, or length) at the offset of that FIN; the client
# stays short of the last byte until `coloctl checkpoint`, then gets the
# primary's whole stream.  Fail-open is pushed to 60 s so that it cannot
# release the held data while the test looks.

source "$(dirname "$0")/lib/topology.sh"

colo_require
trap colo_topology_cleanup EXIT
colo_topology_setup || fail "expected the two-host topology to come up"
colo_setup_protection failopen 60000 ||
	fail "expected instance $COLO_ID and the COLO rules on both hosts"

# A stream that ends early: the secondary's FIN comes where the primary
# still sends data (a SYN/FIN/RST position difference, or a length one).
SHORT=50000
guests_tcp_serve 5014 "--write-size 1000" "--write-size 4096 --short-by 1" ||
	fail "expected the TCP servers for the short stream"
ev=$COLO_TMP/events_short
# Headers at the client and on the primary guest's tap, printed only when
# the client misses something after the checkpoint.
colo_pcap_start cl "$NS_CLIENT" eth0
colo_pcap_start ptap "$NS_PHOST" ptap
colo_monitor_start "$ev" || fail "expected coloctl monitor -j to subscribe"
_bg "$NS_CLIENT" short python3 "$COLO_TOOLS/colo_tcp.py" get --host $PG4 --port 5014 \
	--bytes $SHORT --seed 33 --progress "$COLO_TMP/progress_short" --timeout 120
expect_ok "short stream: a divergence event arrives" \
	wait_events 30000 "$ev" 1 --event divergence --instance "$COLO_ID"
e=$(events_last "$ev" --event divergence --instance "$COLO_ID")
log "short stream: event $e"
expect_match "short stream: reason tcp-flags or length" '^(tcp-flags|length)$' \
	"$(event_field "$e" reason)"
expect_eq "short stream: offset where the secondary's FIN stands" $((SHORT - 1)) \
	"$(event_field "$e" offset)"
expect_ok "short stream: the primary's last segment and FIN are held" \
	busywait 30000 stat_is primary_held_packets -ge 1
expect_le "short stream: the client does not have the last byte" $((SHORT - 1)) \
	"$(progress_of "$COLO_TMP/progress_short")"
expect_ok "short stream: coloctl checkpoint $COLO_ID" colo_ctl "$NS_PHOST" checkpoint "$COLO_ID"
bg_wait short 60000
rc=$?
expect_eq "short stream: after the checkpoint the client has the primary's whole stream" \
	"0 true $SHORT" "$rc $(json_out short ok) $(json_out short len)" || {
	colo_ctl "$NS_PHOST" instance show "$COLO_ID" | sed 's/^/# diag: /'
	colo_pcap_tail cl 30 tcp port 5014
	colo_pcap_tail ptap 30 tcp port 5014
}
colo_monitor_stop

ktap_finished
