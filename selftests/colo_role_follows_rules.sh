#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# An instance's role (primary-host comparator or secondary-host rewriter)
# follows the rules that exist, not the rules that were ever checked:
#   1. With iptables-nft-restore and iptables-legacy-restore (each in a
#      namespace of its own), a batch whose valid COLO --rewrite rule is
#      followed by a rule the kernel refuses (a missing instance) fails as
#      a whole. xt_COLO's checkentry had taken the first rule; its destroy
#      undoes it: no rule is left, the role is none again, and a --primary
#      rule for the same instance is then taken. Deleting that rule (no
#      packet came, so no flow) makes the role none again and a --rewrite
#      rule is taken.
#   2. Flows of the last rules' role remain after those rules are deleted
#      (here a comparator's held ping): the role stays, a rule of the other
#      role is refused with a kernel log line that says what to do, and
#      after coloctl instance del and add the other role is taken.

source "$(dirname "$0")/lib/topology.sh"

colo_require
require_cmd iptables-nft-restore ping
cleanup()
{
	cleanup_all_ns
	rm -rf "$COLO_TMP"
}
trap cleanup EXIT
ID=$COLO_ID
RULE="-i colo-v -j COLO --instance $ID"

# role NS: the instance's role and rule count, "none 0"
role()
{
	colo_show "$1" "$ID" || { echo "error: $(cat "$COLO_TMP/show.err")"; return; }
	echo "$(_json_get "$COLO_TMP/show.json" role) $(_json_get "$COLO_TMP/show.json" rules)"
}

# colo_rules NS IPT: the COLO rules in mangle PREROUTING
colo_rules()
{
	ip netns exec "$1" "$2" -t mangle -S PREROUTING | grep -- '-j COLO'
}

# failed_batch VARIANT: part 1 with iptables-VARIANT in a namespace of its own
failed_batch()
{
	local v=$1 ns ipt=iptables-$1 mark
	setup_ns "NS_$v"
	ns=NS_$v
	ns=${!ns}
	colo_ctl "$ns" instance add "$ID" >/dev/null ||
		fail "$v: expected coloctl instance add $ID to succeed"
	if ! ip netns exec "$ns" "$ipt" -t mangle -S >/dev/null 2>&1; then
		ktap_test_skip "$v: a failed batch leaves no role" "$ipt cannot list mangle here"
		return
	fi
	expect_eq "$v: a new instance has no role" "none 0" "$(role "$ns")"
	mark=$(kmsg_mark)
	expect_fail "$v: a batch of a --rewrite rule and a rule for missing instance 77 fails" \
		ip netns exec "$ns" "$ipt-restore" --noflush <<-EOF
		*mangle
		-A PREROUTING $RULE --rewrite
		-A PREROUTING -i colo-v -j COLO --instance 77 --primary
		COMMIT
		EOF
	expect_match "$v: the kernel log names the missing instance" \
		'xt_COLO: instance 77 does not exist' "$(kmsg_since "$mark")"
	expect_eq "$v: no COLO rule left" "" "$(colo_rules "$ns" "$ipt")"
	expect_eq "$v: the instance has no role after the failed batch" "none 0" "$(role "$ns")"
	# shellcheck disable=SC2086 # the rule is words
	expect_ok "$v: a --primary rule is taken then" \
		ip netns exec "$ns" "$ipt" -t mangle -A PREROUTING $RULE --primary
	expect_eq "$v: the instance is a primary-host one with 1 rule" "primary 1" "$(role "$ns")"
	# shellcheck disable=SC2086
	expect_ok "$v: the --primary rule is deleted" \
		ip netns exec "$ns" "$ipt" -t mangle -D PREROUTING $RULE --primary
	expect_eq "$v: no rule and no flow: no role" "none 0" "$(role "$ns")"
	# shellcheck disable=SC2086
	expect_ok "$v: a --rewrite rule is taken then" \
		ip netns exec "$ns" "$ipt" -t mangle -A PREROUTING $RULE --rewrite
	expect_eq "$v: the instance is a secondary-host one with 1 rule" "secondary 1" "$(role "$ns")"
	# shellcheck disable=SC2086
	ip netns exec "$ns" "$ipt" -t mangle -D PREROUTING $RULE --rewrite
}

# --- 1. a failed batch leaves no role behind
failed_batch nft
if command -v iptables-legacy-restore >/dev/null; then
	failed_batch legacy
else
	ktap_test_skip "legacy: a failed batch leaves no role" "no iptables-legacy-restore"
fi

# --- 2. flows of the last rules' role keep it
setup_ns H PEER
ip link add colo-v netns "$H" type veth peer name colo-p netns "$PEER" ||
	fail "expected a veth pair between the namespaces"
ip -n "$H" addr add 10.99.0.1/24 dev colo-v
ip -n "$PEER" addr add 10.99.0.2/24 dev colo-p
ip -n "$H" link set colo-v up
ip -n "$PEER" link set colo-p up
colo_ctl "$H" instance add "$ID" timeout 60000 failopen 0 >/dev/null ||
	fail "expected coloctl instance add $ID timeout 60000 failopen 0 to succeed"
# shellcheck disable=SC2086
ip netns exec "$H" iptables-nft -t mangle -A PREROUTING $RULE --primary ||
	fail "expected the --primary rule to be taken"
ip netns exec "$PEER" ping -c 1 -W 1 10.99.0.1 >/dev/null 2>&1
expect_ok "the comparator holds the peer's ping (the secondary is silent)" \
	busywait 20000 stat_is primary_held_packets -ge 1 "$H"
# shellcheck disable=SC2086
expect_ok "the --primary rule is deleted" \
	ip netns exec "$H" iptables-nft -t mangle -D PREROUTING $RULE --primary
expect_eq "no rule, but a flow: the role stays" "primary 0" "$(role "$H")"
mark=$(kmsg_mark)
# shellcheck disable=SC2086
expect_fail "a --rewrite rule is refused while the flow remains" \
	ip netns exec "$H" iptables-nft -t mangle -A PREROUTING $RULE --rewrite
expect_match "the kernel log says why and what to do" \
	"xt_COLO: instance $ID has no rules but [0-9]+ flows of its primary-host role.*coloctl instance del $ID" \
	"$(kmsg_since "$mark")"
expect_eq "no COLO rule left" "" "$(colo_rules "$H" iptables-nft)"
expect_ok "coloctl instance del $ID (no rules)" colo_ctl "$H" instance del "$ID"
expect_ok "coloctl instance add $ID" colo_ctl "$H" instance add "$ID"
# shellcheck disable=SC2086
expect_ok "a --rewrite rule is taken by the new instance" \
	ip netns exec "$H" iptables-nft -t mangle -A PREROUTING $RULE --rewrite
expect_eq "the instance is a secondary-host one" "secondary 1" "$(role "$H")"

ktap_finished
