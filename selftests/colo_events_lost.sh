#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# An event a listener does not get is counted in events_lost, one that
# nobody listens for is not:
#   1. A lone listener on the events group with the smallest receive buffer
#      reads nothing while 40 checkpoints are requested: its buffer fills,
#      it reads ENOBUFS afterwards, and every checkpoint event it did not
#      get is counted (events_lost = 40 - delivered), and said once in the
#      kernel log.
#   2. With no listener, checkpoint events go nowhere and count nothing.
# selftests/fault/fault_lost.sh fails the event's allocation itself.

source "$(dirname "$0")/lib/topology.sh"

N=40
colo_require
cleanup()
{
	cleanup_all_ns
	rm -rf "$COLO_TMP"
}
trap cleanup EXIT
setup_ns NS
ID=$COLO_ID

lost()
{
	colo_stat events_lost "$NS" "$ID"
}

colo_ctl "$NS" instance add "$ID" >/dev/null ||
	fail "expected coloctl instance add $ID to succeed"
expect_eq "a new instance lost no event" 0 "$(lost)"
expect_match "coloctl instance show prints the counter" '^  events lost: 0$' \
	"$(colo_ctl "$NS" instance show "$ID")"

# --- 1. a listener that does not read
mark=$(kmsg_mark)
out=$(ip netns exec "$NS" python3 "$COLO_TOOLS/colo_genl.py" overrun $N "$ID" 2>&1)
log "listener: $out"
sent=$(jq -r .sent <<<"$out" 2>/dev/null)
delivered=$(jq -r .delivered <<<"$out" 2>/dev/null)
expect_eq "$N checkpoints requested" "$N" "$sent"
expect_eq "the listener's socket reported ENOBUFS" true "$(jq -r .enobufs <<<"$out" 2>/dev/null)"
expect_le "its buffer took fewer than $N events" $((N - 1)) "${delivered:-$N}"
expect_eq "every event it did not get is counted: events_lost = $N - $delivered" \
	$((N - ${delivered:-0})) "$(lost)"
expect_eq "checkpoints counted" "$N" "$(colo_stat checkpoints "$NS" "$ID")"
expect_match "the kernel log says an event was lost" \
	"xt_COLO: instance $ID: an event was lost \(-[0-9]+\), counted in events_lost" \
	"$(kmsg_since "$mark")"

# --- 2. nobody listens
before=$(lost)
expect_ok "coloctl checkpoint $ID with no listener" colo_ctl "$NS" checkpoint "$ID"
expect_eq "an event nobody listens for is not lost" "$before" "$(lost)"

ktap_finished
