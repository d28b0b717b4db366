#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# COLO rules the module cannot honour are refused, and the kernel log says
# why (issue 3, test 10, the rules half; colo_bad_netlink.sh has the rest):
# a missing instance, and each role in a table or chain where it cannot
# work (--primary in raw, filter INPUT and mangle POSTROUTING; --secondary
# in mangle; --rewrite in raw), with iptables and ip6tables: the command
# fails, no rule is left behind, and a kernel log line from xt_COLO (or
# x_tables, for a hook the target never allows) explains it. Through
# nft_compat (tools/nft_target, libnftnl), a table of another family named
# like the right one is refused too: bridge "mangle", inet "mangle" at
# priority -300 (before conntrack) and inet "raw"; the same rule in an ip
# table "mangle" at -150 is taken.

source "$(dirname "$0")/lib/topology.sh"

colo_require
cleanup()
{
	cleanup_all_ns
	rm -rf "$COLO_TMP"
}
trap cleanup EXIT
setup_ns NS
ip -n "$NS" link add colo-x type dummy
ip -n "$NS" link set colo-x up
ID=$COLO_ID

ctl()
{
	ip netns exec "$NS" "$COLOCTL" "$@"
}

ctl instance add "$ID" >/dev/null || fail "expected instance $ID for the rule checks"

# rule_refused DESC IPT TABLE CHAIN ROLE [INSTANCE]
rule_refused()
{
	local desc=$1 ipt=$2 table=$3 chain=$4 role=$5 inst=${6:-$ID} mark out rc=0 dev=-i
	case $chain in OUTPUT | POSTROUTING) dev=-o ;; esac
	mark=$(kmsg_mark)
	out=$(ip netns exec "$NS" "$ipt" -t "$table" -A "$chain" $dev colo-x \
		-j COLO --instance "$inst" "$role" 2>&1) || rc=$?
	if [ $rc -eq 0 ]; then
		ktap_test_fail "$ipt: $desc: refused"
		echo "#   expected: $ipt -t $table -A $chain ... $role to fail"
		echo "#   saw:      success"
		ip netns exec "$NS" "$ipt" -t "$table" -D "$chain" $dev colo-x \
			-j COLO --instance "$inst" "$role" 2>/dev/null
		return 1
	fi
	ktap_test_pass "$ipt: $desc: refused"
	expect_eq "$ipt: $desc: no rule left" "" \
		"$(ip netns exec "$NS" "$ipt" -t "$table" -S "$chain" | grep -- '-j COLO')"
	# the module's own line, or x_tables' for a hook the target never allows
	expect_match "$ipt: $desc: the kernel log explains it" 'xt_COLO|COLO target' \
		"$(kmsg_since "$mark")" || log "$ipt said: $out"
	log "$ipt said: $(head -n 1 <<<"$out"); kernel: $(kmsg_since "$mark" | grep -E 'xt_COLO|COLO target' | head -n 1)"
}

for ipt in iptables ip6tables; do
	rule_refused "a missing instance (77)" $ipt mangle PREROUTING --primary 77
	rule_refused "--primary in raw" $ipt raw PREROUTING --primary
	rule_refused "--primary in filter" $ipt filter INPUT --primary
	rule_refused "--primary in mangle POSTROUTING" $ipt mangle POSTROUTING --primary
	rule_refused "--secondary in mangle" $ipt mangle PREROUTING --secondary
	rule_refused "--rewrite in raw" $ipt raw PREROUTING --rewrite
done

# nft_refused DESC FAMILY TABLE PRIORITY ROLE: nft_compat refuses it
# (a namespace of their own: iptables-nft made ip mangle and raw in $NS)
NFT_TARGET=$COLO_TOOLS/nft_target
setup_ns NS2
ip netns exec "$NS2" "$COLOCTL" instance add "$ID" >/dev/null ||
	fail "expected instance $ID in a second namespace"
nft_refused()
{
	local desc=$1 mark out rc=0
	mark=$(kmsg_mark)
	out=$(ip netns exec "$NS2" "$NFT_TARGET" "$2" "$3" "$4" "$5" "$ID" 2>&1) || rc=$?
	if [ $rc -eq 0 ]; then
		ktap_test_fail "nft: $desc: refused"
		echo "#   expected: a $2 table $3 (priority $4) with --$5 to be refused"
		echo "#   saw:      success"
		ip netns exec "$NS2" nft delete table "$2" "$3" 2>/dev/null
		return 1
	fi
	ktap_test_pass "nft: $desc: refused"
	expect_eq "nft: $desc: nothing left" "" \
		"$(ip netns exec "$NS2" nft list table "$2" "$3" 2>/dev/null)"
	expect_match "nft: $desc: the kernel log explains it" \
		"xt_COLO: --$5 works only in ip and ip6 tables" "$(kmsg_since "$mark")" ||
		log "nft_target said: $out"
}
[ -x "$NFT_TARGET" ] || fail "expected $NFT_TARGET (make tools)"
nft_refused "bridge table mangle" bridge mangle -150 primary
nft_refused "inet table mangle at priority -300" inet mangle -300 primary
nft_refused "inet table raw" inet raw -300 secondary
expect_ok "nft: ip table mangle at -150 with --primary is taken" \
	ip netns exec "$NS2" "$NFT_TARGET" ip mangle -150 primary "$ID"
expect_match "nft: nft list shows the rule" "PREROUTING" \
	"$(ip netns exec "$NS2" nft list table ip mangle 2>&1)"
ip netns exec "$NS2" nft delete table ip mangle

ktap_finished
