#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# xt_COLO loads and unloads cleanly, several times over: `modprobe xt_COLO`
# registers the COLO target for IPv4 and IPv6 and the "colo" generic netlink
# family, a network namespace can come and go while it is loaded, and
# `modprobe -r` takes all of it away again. Loading taints the kernel with at
# most the out-of-tree/unsigned-module flags (O, E), and neither loading nor
# unloading logs a line about xt_COLO but the kernel's own unsigned-module
# notice.

source "$(dirname "$0")/lib.sh"

require_root
require_cmd modprobe ip dmesg

# Taint bits allowed to appear: TAINT_OOT_MODULE (O) and TAINT_UNSIGNED_MODULE (E).
TAINT_ALLOWED=$(((1 << 12) | (1 << 13)))
# What the kernel itself says about the first unsigned module it loads.
KERNEL_NOTICE='loading out-of-tree module taints kernel|module verification failed: signature and/or required key missing'

# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	cleanup_all_ns
	colo_module_unload 2>/dev/null
}
trap cleanup EXIT

# The families the generic netlink controller knows, one "Name: x" a line.
genl_families() {
	genl ctrl list 2>&1 | grep '^Name: '
}

colo_module_unload || fail "expected xt_COLO to unload before the test, saw modprobe -r fail"
# /proc/net/ip{,6}_tables_targets exist once x_tables knows the families.
modprobe -a x_tables ip_tables ip6_tables || fail "expected x_tables, ip_tables and ip6_tables to load"
taint_before=$(cat /proc/sys/kernel/tainted)
VERSION=$(sed -n 's/^#define XT_COLO_VERSION "\(.*\)"/\1/p' \
	"$(dirname "$0")/../kernel/version.h")
[ -n "$VERSION" ] || fail "expected XT_COLO_VERSION in kernel/version.h"

for round in 1 2 3; do
	mark=$(kmsg_mark)

	colo_module_load
	ktap_test_pass "round $round: modprobe xt_COLO loads the built module"
	expect_match "round $round: /proc/modules lists xt_COLO live" '^xt_COLO .* Live ' \
		"$(cat /proc/modules)"
	expect_eq "round $round: the module's version is kernel/version.h's" \
		"$VERSION" "$(cat /sys/module/xt_COLO/version 2>&1)"
	expect_match "round $round: COLO target registered for IPv4" '^COLO$' \
		"$(cat /proc/net/ip_tables_targets)"
	expect_match "round $round: COLO target registered for IPv6" '^COLO$' \
		"$(cat /proc/net/ip6_tables_targets)"
	expect_match "round $round: generic netlink family colo registered" '^Name: colo$' \
		"$(genl_families)"

	# Per-netns state must be set up and torn down with the namespace.
	setup_ns NS
	expect_ok "round $round: netns $NS deleted while loaded" ip netns del "$NS"
	NS_LIST=()

	expect_ok "round $round: modprobe -r xt_COLO unloads" modprobe -r xt_COLO
	expect_ok "round $round: /sys/module/xt_COLO gone" test ! -e /sys/module/xt_COLO
	expect_no_match "round $round: COLO target unregistered" '^COLO$' \
		"$(cat /proc/net/ip_tables_targets /proc/net/ip6_tables_targets)"
	expect_no_match "round $round: generic netlink family colo unregistered" '^Name: colo$' \
		"$(genl_families)"
	expect_no_match "round $round: no kernel log lines from load or unload" \
		"." "$(kmsg_since "$mark" | grep -i colo | grep -vE "$KERNEL_NOTICE|colo-selftest-mark")"
done

taint_after=$(cat /proc/sys/kernel/tainted)
new_taint=$((taint_after & ~taint_before))
expect_eq "no taint beyond O/E (tainted was $taint_before, is $taint_after)" \
	0 $((new_taint & ~TAINT_ALLOWED))

ktap_finished
