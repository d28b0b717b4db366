#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# A COLO rule with bad options is refused by the iptables extension library
# itself (libxt_COLO.so), before anything reaches the kernel, with a message
# that names the problem: no --instance, --instance 0 or out of range or not a
# number, no role, two roles, an unknown option. Nothing is added, and the
# kernel log stays quiet (the kernel's own "Run `dmesg'" hint would mean the
# library let the rule through).

source "$(dirname "$0")/lib.sh"

require_root
require_cmd ip iptables ip6tables coloctl modprobe

# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	cleanup_all_ns
	colo_module_unload 2>/dev/null
}
trap cleanup EXIT

colo_module_load
setup_ns NS
ip netns exec "$NS" coloctl instance add 1 ||
	fail "expected 'coloctl instance add 1' to succeed, saw exit $?"

# refused DESCRIPTION REGEX OPTIONS...: iptables and ip6tables both refuse
# "-t mangle -A PREROUTING -j COLO OPTIONS" with a message matching REGEX
# (case-insensitive) that comes from the library, not the kernel.
refused() {
	local desc=$1 regex=$2 ipt rc
	shift 2

	for ipt in iptables ip6tables; do
		rc=0
		OUT=$(ip netns exec "$NS" $ipt -t mangle -A PREROUTING -i colo-x -j COLO "$@" 2>&1) ||
			rc=$?
		if [ $rc -eq 0 ]; then
			ktap_test_fail "$ipt: $desc"
			echo "#   expected '$ipt ... -j COLO $*' refused, saw it accepted"
		elif printf '%s\n' "$OUT" | grep -q "Run \`dmesg'"; then
			ktap_test_fail "$ipt: $desc"
			echo "#   expected the extension library to refuse '-j COLO $*',"
			echo "#   saw the kernel refuse it:"
			__diag "$OUT"
		elif ! printf '%s\n' "$OUT" | grep -qiE -- "$regex"; then
			ktap_test_fail "$ipt: $desc"
			echo "#   expected a message matching /$regex/ for '-j COLO $*', saw:"
			__diag "$OUT"
		else
			ktap_test_pass "$ipt: $desc"
			echo "#   $(printf '%s' "$OUT" | head -n 1)"
		fi
	done
}

mark=$(kmsg_mark)

refused "no --instance" 'instance' --primary
refused "--instance 0" 'instance' --instance 0 --primary
refused "--instance 4294967296 (over 32 bits)" 'instance' --instance 4294967296 --primary
refused "--instance -1" 'instance' --instance -1 --primary
refused "--instance abc" 'instance' --instance abc --primary
refused "no role" 'primary|secondary|rewrite|role' --instance 1
refused "two roles: --primary --secondary" 'primary|secondary|role' --instance 1 --primary --secondary
refused "two roles: --rewrite --rewrite-client" 'rewrite|role' --instance 1 --rewrite --rewrite-client
refused "the same role twice" 'primary|once|twice|role' --instance 1 --primary --primary
refused "--instance twice" 'instance' --instance 1 --instance 2 --primary
refused "an unknown option" 'unknown option|bogus' --instance 1 --primary --bogus

for ipt in iptables ip6tables; do
	expect_eq "$ipt: no COLO rule was added" "" \
		"$(ip netns exec "$NS" $ipt -t mangle -S PREROUTING | grep -- '-j COLO')"
done
expect_no_match "the kernel log stays quiet (the library refused everything)" 'xt_COLO|COLO' \
	"$(kmsg_since "$mark")"

ktap_finished
