#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The COLO target can be put into rules and taken out again with iptables and
# ip6tables (iptables-nft), in each role where the design places it:
#
#   primary host (netns PRI), instance 1
#     mangle PREROUTING -i colo-pri   -j COLO --instance 1 --primary
#     raw    PREROUTING -i colo-cable -j COLO --instance 1 --secondary
#   secondary host (netns SEC), instance 1 (another netns, another instance)
#     mangle PREROUTING -i colo-sec   -j COLO --instance 1 --rewrite
#     mangle PREROUTING -i colo-cable -j COLO --instance 1 --rewrite-client
#
# iptables -S prints each rule back as it was given, -D deletes it by that
# spec, iptables-save output restores to the same rules, a rule naming an
# instance that does not exist or a role in the wrong table is refused, an
# instance in use cannot be deleted, and a namespace holding COLO rules can be
# deleted, after which the module unloads.

source "$(dirname "$0")/lib.sh"

require_root
require_cmd ip iptables ip6tables iptables-save iptables-restore coloctl modprobe

# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	cleanup_all_ns
	colo_module_unload 2>/dev/null
}
trap cleanup EXIT

colo_module_load
setup_ns PRI SEC

# Rules are checked per table; "$ns $ipt" runs iptables or ip6tables there.
colo_rules() {
	ip netns exec "$1" "$2" -t "$3" -S PREROUTING | grep -- '-j COLO' || true
}

# "table rule" for each COLO rule iptables-save prints.
colo_saved() {
	ip netns exec "$1" "$2-save" | awk '/^\*/ { t = substr($0, 2) } /-j COLO/ { print t, $0 }'
}

expect_ok "PRI: coloctl instance add 1" ip netns exec "$PRI" coloctl instance add 1
expect_ok "SEC: coloctl instance add 1" ip netns exec "$SEC" coloctl instance add 1

PRI_RULES=("mangle -i colo-pri -j COLO --instance 1 --primary"
	   "raw -i colo-cable -j COLO --instance 1 --secondary")
SEC_RULES=("mangle -i colo-sec -j COLO --instance 1 --rewrite"
	   "mangle -i colo-cable -j COLO --instance 1 --rewrite-client")

for ipt in iptables ip6tables; do
	for ns_rules in "PRI:${PRI_RULES[0]}" "PRI:${PRI_RULES[1]}" \
			"SEC:${SEC_RULES[0]}" "SEC:${SEC_RULES[1]}"; do
		var=${ns_rules%%:*}
		ns=${!var}
		read -r table spec <<<"${ns_rules#*:}"
		# shellcheck disable=SC2086 # $ipt: one word; $spec: the rule, several words
		expect_ok "$var $ipt: -t $table -A PREROUTING $spec" \
			ip netns exec "$ns" $ipt -t "$table" -A PREROUTING $spec
		expect_match "$var $ipt: -t $table -S prints it back" \
			"^-A PREROUTING $spec\$" "$(colo_rules "$ns" "$ipt" "$table")"
	done

	expect_fail "PRI $ipt: instance in use cannot be deleted" \
		ip netns exec "$PRI" coloctl instance del 1
	expect_fail "PRI $ipt: a rule naming missing instance 2 is refused" \
		ip netns exec "$PRI" $ipt -t mangle -A PREROUTING -i colo-x -j COLO --instance 2 --primary
	expect_fail "PRI $ipt: --primary outside the mangle table is refused" \
		ip netns exec "$PRI" $ipt -t raw -A PREROUTING -i colo-x -j COLO --instance 1 --primary
	expect_fail "SEC $ipt: --primary on a secondary-host instance is refused" \
		ip netns exec "$SEC" $ipt -t mangle -A PREROUTING -i colo-x -j COLO --instance 1 --primary

	# iptables-save of the COLO rules restores to the same rules.
	for var in PRI SEC; do
		ns=${!var}
		before=$(colo_saved "$ns" "$ipt")
		# shellcheck disable=SC2013 # table names, one word each
		for table in $(awk '{ print $1 }' <<<"$before" | sort -u); do
			ip netns exec "$ns" "$ipt" -t "$table" -F PREROUTING
		done
		expect_ok "$var $ipt: $ipt-restore takes $ipt-save's COLO rules" \
			ip netns exec "$ns" "$ipt-restore" --noflush \
			< <(awk '{ t = $1; sub(/^[^ ]+ /, ""); print "*" t "\n" $0 "\nCOMMIT" }' <<<"$before")
		expect_eq "$var $ipt: restored rules save the same" "$before" \
			"$(colo_saved "$ns" "$ipt")"
	done

	for ns_rules in "PRI:${PRI_RULES[0]}" "PRI:${PRI_RULES[1]}" \
			"SEC:${SEC_RULES[0]}" "SEC:${SEC_RULES[1]}"; do
		var=${ns_rules%%:*}
		ns=${!var}
		read -r table spec <<<"${ns_rules#*:}"
		# shellcheck disable=SC2086 # $ipt: one word; $spec: the rule, several words
		expect_ok "$var $ipt: -t $table -D PREROUTING $spec" \
			ip netns exec "$ns" $ipt -t "$table" -D PREROUTING $spec
	done
	for var in PRI SEC; do
		ns=${!var}
		expect_eq "$var $ipt: no COLO rule left" "" \
			"$(colo_rules "$ns" "$ipt" mangle; colo_rules "$ns" "$ipt" raw)"
	done
done

expect_ok "PRI: coloctl instance del 1 once no rule uses it" \
	ip netns exec "$PRI" coloctl instance del 1

# A namespace that still holds COLO rules and an instance goes away whole.
ip netns exec "$PRI" coloctl instance add 1
# shellcheck disable=SC2086 # the saved rule, several words
ip netns exec "$PRI" iptables -t mangle -A PREROUTING ${PRI_RULES[0]#mangle }
# shellcheck disable=SC2086 # the saved rule, several words
ip netns exec "$PRI" ip6tables -t raw -A PREROUTING ${PRI_RULES[1]#raw }
expect_ok "a netns with COLO rules is deleted" ip netns del "$PRI"
expect_ok "the other netns with its instance is deleted" ip netns del "$SEC"
NS_LIST=()
expect_ok "xt_COLO unloads after (no reference left behind)" \
	busywait 10000 modprobe -r xt_COLO

ktap_finished
