#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# A bridged primary tap works like a routed one (issue 3, test 8, second
# half; colo_release_dnat.sh has the first): the primary host puts the tap
# into a bridge with br_netfilter and the primary rule matches `-m physdev
# --physdev-in ptap`; a 1 MiB download, UDP echoes and pings over IPv4 and
# IPv6 pass intact with no divergence, through that rule (its counter
# moved, comparisons counted), and nothing stays held.

source "$(dirname "$0")/lib/topology.sh"

colo_require
require_cmd ping
trap colo_topology_cleanup EXIT

# rule_packets TABLE CHAIN PATTERN [ip6tables]: packet counter of the rule
rule_packets()
{
	on_phost "${4:-iptables}" -t "$1" -L "$2" -v -x -n | awk -v p="$3" '$0 ~ p { print $1; exit }'
}

COLO_BRIDGED_PRIMARY=1
colo_topology_setup || fail "expected the topology with a bridged primary tap"
colo_setup_protection || fail "expected instance $COLO_ID and the physdev primary rule"
expect_match "bridged: the primary rule matches the bridge port" \
	'-m physdev --physdev-in ptap .*-j COLO --instance 1 --primary' \
	"$(on_phost iptables -t mangle -S PREROUTING)"
guests_tcp_serve 5009 "--write-size 1000" "--write-size 65536" || fail "expected the TCP servers"
guests_udp_serve 5010 "" "" || fail "expected the UDP servers"
EV=$COLO_TMP/events
colo_monitor_start "$EV" || fail "expected coloctl monitor -j to subscribe"
for fam in 4 6; do
	host=PG$fam
	host=${!host}
	f="bridged ipv$fam"
	expect_ok "$f: 1 MiB download intact" \
		on_client python3 "$COLO_TOOLS/colo_tcp.py" get --host "$host" --port 5009 \
		--bytes 1048576 --seed $((fam + 50)) --timeout 60 || colo_diag "$EV"
	expect_ok "$f: 20 UDP echoes answered in order" \
		on_client python3 "$COLO_TOOLS/colo_udp.py" send --host "$host" --port 5010 \
		--count 20 --interval-ms 5 --timeout 30
	expect_match "$f: 10 pings answered" ' [1-9][0-9] received' \
		"$(on_client ping -$fam -c 10 -i 0.05 -w 30 "$host" 2>&1)"
done
expect_ge "bridged: the physdev primary rule saw the guest's packets" 100 \
	"$(rule_packets mangle PREROUTING 'PHYSDEV match --physdev-in ptap')"
expect_ge "bridged: comparisons counted equal" 100 "$(colo_stat compared_equal)"
expect_eq "bridged: no divergence" "0 checkpoint_requests=0" \
	"$(events_count "$EV" --event divergence --instance "$COLO_ID") $(colo_stats checkpoint_requests)" ||
	log "events: $(cat "$EV")"
expect_ok "bridged: nothing stays held" busywait 10000 stat_is primary_held_packets -eq 0

ktap_finished
