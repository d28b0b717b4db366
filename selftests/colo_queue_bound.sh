#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Held packets stay bounded (issue 3, test 6).  With one side silent the
# other side's packets can only wait; the bounds decide how many:
#   1. `max-queue 16`, secondary silent, 40 UDP answers from the primary:
#      16 held, a queue-full divergence event (one, however many do not
#      fit), the rest dropped and counted as primary_dropped, the counters
#      add up (held + released + passed + dropped = primary packets seen);
#      the checkpoint releases the 16 to the client.
#   2. `max-bytes 65536`, 80 answers of 1428 bytes: held memory never above
#      65536, counted by what each packet occupies (its buffer: more than
#      its 1428 bytes), one queue-full event, the same accounting.
#   3. `max-queue 16`, primary silent: the secondary's answers are bounded
#      the same way (secondary_held_packets 16, a queue-full event) and the
#      checkpoint drops them.
# Timeouts are set to 60 s and fail-open off so that only the bounds act.

source "$(dirname "$0")/lib/topology.sh"

PORT=5006

colo_require
trap colo_topology_cleanup EXIT
colo_topology_setup || fail "expected the two-host topology to come up"
colo_setup_protection max-queue 16 timeout 60000 failopen 0 ||
	fail "expected instance $COLO_ID (max-queue 16) and the rules"
guests_udp_serve $PORT "" "" || fail "expected the UDP servers in both guests"
EV=$COLO_TMP/events
colo_monitor_start "$EV" || fail "expected coloctl monitor -j to subscribe"

nqf()
{
	events_count "$EV" --event divergence --instance "$COLO_ID" --reason queue-full
}

# accounting DESC: every primary packet seen is held, released, passed,
# dropped or freed as a duplicate (partial copies are extra packets among
# the released ones)
accounting()
{
	local s
	s=$(colo_stats primary_packets primary_held_packets released released_partial passed primary_dropped primary_duplicates)
	eval "$(tr ' ' '\n' <<<"$s" | sed 's/^/local st_/')"
	# shellcheck disable=SC2154 # st_*: set by the eval above
	expect_eq "$1: held + released - partial copies + passed + dropped + duplicates = primary packets seen" \
		"$st_primary_packets" \
		"$((st_primary_held_packets + st_released - st_released_partial + st_passed + st_primary_dropped + st_primary_duplicates))" ||
		log "$s"
}

# --- 1. packet bound on the primary side
secondary_silence on || fail "expected the secondary guest's output to be cut"
_bg "$NS_CLIENT" udp1 python3 "$COLO_TOOLS/colo_udp.py" send --host $PG4 --port $PORT \
	--count 40 --interval-ms 5 --timeout 90 --progress "$COLO_TMP/udp1.progress"
expect_ok "max-queue 16: a queue-full divergence event arrives" \
	wait_events 30000 "$EV" 1 --event divergence --instance "$COLO_ID" --reason queue-full
expect_ok "max-queue 16: the comparator saw all 40 answers" \
	busywait 30000 stat_is primary_packets -ge 40
log "$(colo_stats primary_packets primary_held_packets primary_dropped divergence_queue_full checkpoint_requests checkpoint_suppressed)"
expect_eq "max-queue 16: 16 held, 24 dropped and counted" \
	"primary_held_packets=16 primary_dropped=24" \
	"$(colo_stats primary_held_packets primary_dropped)"
expect_eq "max-queue 16: exactly one queue-full event, one checkpoint request" \
	"1 checkpoint_requests=1" "$(nqf) $(colo_stats checkpoint_requests)"
expect_ge "max-queue 16: divergence_queue_full counted" 1 "$(colo_stat divergence_queue_full)"
e=$(events_last "$EV" --event divergence --instance "$COLO_ID")
expect_eq "max-queue 16: the event names the flow" "udp 10.0.0.2 $PORT" \
	"$(event_field "$e" proto) $(event_field "$e" saddr) $(event_field "$e" sport)"
accounting "max-queue 16"
expect_eq "max-queue 16: the client has nothing yet" 0 "$(progress_of "$COLO_TMP/udp1.progress")"
expect_ok "max-queue 16: coloctl checkpoint $COLO_ID" colo_ctl "$NS_PHOST" checkpoint "$COLO_ID"
expect_ok "max-queue 16: the checkpoint released the 16 held answers to the client" \
	busywait 20000 _progress_ge "$COLO_TMP/udp1.progress" 16
expect_eq "max-queue 16: nothing held" 0 "$(colo_stat primary_held_packets)"
bg_stop udp1

# --- 2. byte bound on the primary side
colo_reset_primary_instance max-bytes 65536 timeout 60000 failopen 0 ||
	fail "expected instance $COLO_ID re-created with max-bytes 65536"
n0=$(nqf)
_bg "$NS_CLIENT" udp2 python3 "$COLO_TOOLS/colo_udp.py" send --host $PG4 --port $PORT \
	--count 80 --size 1400 --interval-ms 5 --timeout 90 --progress "$COLO_TMP/udp2.progress"
expect_ok "max-bytes 65536: a queue-full divergence event arrives" \
	wait_events 30000 "$EV" $((n0 + 1)) --event divergence --instance "$COLO_ID" --reason queue-full
expect_ok "max-bytes 65536: the comparator saw all 80 answers" \
	busywait 30000 stat_is primary_packets -ge 80
s=$(colo_stats primary_held_packets primary_held_bytes primary_dropped)
log "$s"
hb=$(sed -n 's/.*primary_held_bytes=\([0-9]*\).*/\1/p' <<<"$s")
hp=$(sed -n 's/.*primary_held_packets=\([0-9]*\).*/\1/p' <<<"$s")
hd=$(sed -n 's/.*primary_dropped=\([0-9]*\).*/\1/p' <<<"$s")
expect_le "max-bytes 65536: held memory within the bound" 65536 "$hb"
expect_ge "max-bytes 65536: the bound was used (less than a packet's buffer left)" \
	$((65536 - 4096 + 1)) "$hb"
expect_ge "max-bytes 65536: each held answer counts its buffer, more than its 1428 bytes" \
	$((hp * (1428 + 256))) "$hb"
expect_eq "max-bytes 65536: every answer held or dropped" 80 $((hp + hd))
expect_eq "max-bytes 65536: exactly one queue-full event" $((n0 + 1)) "$(nqf)"
accounting "max-bytes 65536"
expect_ok "max-bytes 65536: coloctl checkpoint $COLO_ID" colo_ctl "$NS_PHOST" checkpoint "$COLO_ID"
expect_ok "max-bytes 65536: the checkpoint released the $hp held answers" \
	busywait 20000 _progress_ge "$COLO_TMP/udp2.progress" "$hp"
bg_stop udp2
secondary_silence off

# --- 3. packet bound on the secondary side
colo_reset_primary_instance max-queue 16 timeout 60000 failopen 0 ||
	fail "expected instance $COLO_ID re-created with max-queue 16"
n0=$(nqf)
primary_silence on || fail "expected the primary guest's output to be cut"
_bg "$NS_CLIENT" udp3 python3 "$COLO_TOOLS/colo_udp.py" send --host $PG4 --port $PORT \
	--count 40 --interval-ms 5 --timeout 90 --progress "$COLO_TMP/udp3.progress"
expect_ok "secondary side, max-queue 16: a queue-full divergence event arrives" \
	wait_events 30000 "$EV" $((n0 + 1)) --event divergence --instance "$COLO_ID" --reason queue-full
expect_ok "secondary side: the comparator saw all 40 secondary answers" \
	busywait 30000 stat_is secondary_packets -ge 40
s=$(colo_stats secondary_packets secondary_held_packets secondary_dropped primary_held_packets)
log "$s"
eval "$(tr ' ' '\n' <<<"$s" | sed 's/^/st_/')"
expect_eq "secondary side: 16 held, nothing of the primary's" \
	"secondary_held_packets=16 primary_held_packets=0" \
	"$(colo_stats secondary_held_packets primary_held_packets)"
# shellcheck disable=SC2154 # st_*: set by the eval above
expect_ge "secondary side: the 24 that did not fit were consumed and counted" 24 "$st_secondary_dropped"
# shellcheck disable=SC2154 # st_*: set by the eval above
expect_eq "secondary side: held + dropped = secondary packets seen" "$st_secondary_packets" \
	"$((st_secondary_held_packets + st_secondary_dropped))"
expect_eq "secondary side: exactly one queue-full event" $((n0 + 1)) "$(nqf)"
expect_ok "secondary side: coloctl checkpoint $COLO_ID" colo_ctl "$NS_PHOST" checkpoint "$COLO_ID"
expect_eq "secondary side: the checkpoint dropped the held secondary packets" \
	"secondary_held_packets=0 secondary_held_bytes=0" \
	"$(colo_stats secondary_held_packets secondary_held_bytes)"
expect_eq "secondary side: the client got nothing (the primary never answered)" 0 \
	"$(progress_of "$COLO_TMP/udp3.progress")"
bg_stop udp3
primary_silence off

ktap_finished
