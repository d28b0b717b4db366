# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# What the tests of colo-quick on the two-host topology share: the tree's
# colo-quick (selftests/colo_quick.sh) and the installed package's
# (selftests/deb/deb_pair.sh). Source it after selftests/lib/topology.sh.
#
#   colo_snapshot NS            everything protecting the pair adds to a
#                               host, in a form the hand-written setup and
#                               colo-quick's share
#   same_as DESC EXPECTED SEEN  a check: equal, or the difference
#   colo_quick_helper FILE      writes FILE, a checkpoint helper for a
#                               config's [Helper] Exec that records each run
#   colo_quick_helper_ran       it ran for a divergence of instance $COLO_ID
#   colo_quick_traffic PORT     the pair is protected: a client's answers are
#                               compared and released, and a divergence made
#                               in the secondary guest has the helper run

# colo_snapshot NS: what protection added to NS (colo-quick's rules carry a
# comment and its nft table the config's name: both are taken out)
colo_snapshot()
{
	# shellcheck disable=SC2016 # the script is the inner bash's to expand
	ip netns exec "$1" bash -c '
		echo "# rules"
		{ iptables-save; ip6tables-save; } | grep -e "-j COLO" | sort
		echo "# netdev tables"
		nft list ruleset netdev
		for d in ptap stap cable; do
			[ -e /sys/class/net/$d ] || continue
			echo "# tc $d"
			tc qdisc show dev $d | grep clsact
			tc filter show dev $d egress
		done
		echo "# permanent neighbours"
		ip neigh show nud permanent | sort
		echo "# br_netfilter"
		sysctl -n net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables 2>&1
		echo "# instances"
		"$1" -j instance show | grep -o "\"\(instance\|role\|state\|timeout_ms\|max_queue\|max_bytes\|failopen_ms\|max_flows\)\":[^,}]*"
	' _ "$COLOCTL" | sed -e 's/ -m comment --comment "colo-quick [A-Za-z0-9_.-]*"//' \
		-e 's/table netdev colo_[A-Za-z0-9_.-]* {/table netdev colo_cable {/' \
		-e '/^$/d'
}

# same_as DESC EXPECTED SEEN: equal, or the difference
same_as()
{
	if [ "$2" = "$3" ]; then
		ktap_test_pass "$1"
		return 0
	fi
	ktap_test_fail "$1"
	diff <(echo "$2") <(echo "$3") | sed 's/^/#   expected < > seen: /'
	return 1
}

# colo_quick_helper FILE: a checkpoint helper (coloctl monitor --exec runs
# it for each request) that appends "INSTANCE REASON" to
# $COLO_TMP/helper.ran and succeeds, so that the checkpoint follows
colo_quick_helper()
{
	cat >"$1" <<-EOF || return 1
	#!/bin/sh
	echo "\$COLO_INSTANCE \$COLO_REASON" >>"$COLO_TMP/helper.ran"
	EOF
	chmod +x "$1"
}

colo_quick_helper_ran()
{
	grep -q "^$COLO_ID payload" "$COLO_TMP/helper.ran" 2>/dev/null
}

# colo_quick_traffic PORT: on a pair that colo-quick protects, with
# colo_quick_helper as the primary host's helper: UDP echo servers on PORT
# in both guests, the secondary's altering its 8th answer; a client's 5
# answers are compared and released; the next client's 5 arrive too, the
# altered one after the helper ran for the divergence and its checkpoint
# released the primary's
colo_quick_traffic()
{
	local port=$1
	guests_udp_serve "$port" "" "--alter-index 7" || fail "expected the UDP servers"
	expect_ok "a client gets its 5 answers through the comparator" \
		on_client python3 "$COLO_TOOLS/colo_udp.py" send --host "$PG4" --port "$port" \
			--count 5 --interval-ms 50 --timeout 10
	expect_ok "the answers were compared" busywait 10000 stat_is primary_packets -ge 5
	expect_ok "the secondary's answers were found equal" \
		busywait 10000 stat_is compared_equal -ge 5
	expect_ok "and the primary's released" busywait 10000 stat_is released -ge 5
	expect_ok "the next client gets all 5 answers though the secondary altered one" \
		on_client python3 "$COLO_TOOLS/colo_udp.py" send --host "$PG4" --port "$port" \
			--count 5 --interval-ms 50 --timeout 60
	expect_ok "the divergence asked for a checkpoint" \
		busywait 10000 stat_is checkpoint_requests -ge 1
	expect_ok "the config's helper ran for the divergence" \
		busywait 10000 colo_quick_helper_ran
	expect_ok "and its checkpoint was sent" busywait 10000 stat_is checkpoints -ge 1
}
