#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Shared helpers for the xt_COLO selftests, in the manner of the kernel's
# tools/testing/selftests/net/lib.sh and kselftest/ktap_helpers.sh. Source it
# from a test:  source "$(dirname "$0")/lib.sh"
#
# Conventions: exit 0 pass, 1 fail, 4 (ksft_skip) skip; random netns names;
# `trap cleanup EXIT`; wait on conditions with busywait, never a bare sleep;
# every failure says what was expected and what was seen.
#
# Each check of a test is a KTAP subtest:
#   expect_ok "description" cmd...      cmd must succeed
#   expect_fail "description" cmd...    cmd must fail; its output is in $OUT
#   expect_eq "description" expected seen
#   expect_match "description" regex text    (grep -E)
#   expect_no_match "description" regex text
# and ktap_finished ends the test with the verdict. fail "expected X, saw Y"
# stops a test at once (for setup that cannot go on); skip "why" skips it.

ksft_pass=0
ksft_fail=1
ksft_skip=4

KTAP_TESTNO=1
KTAP_CNT_PASS=0
KTAP_CNT_FAIL=0
KTAP_CNT_SKIP=0
KTAP_PLAN=
OUT=

ktap_print_header() {
	echo "TAP version 13"
}

ktap_set_plan() {
	KTAP_PLAN=$1
	echo "1..$KTAP_PLAN"
}

__ktap_test() {
	echo "$1 $KTAP_TESTNO $2${3:+ $3}"
	KTAP_TESTNO=$((KTAP_TESTNO + 1))
}

ktap_test_pass() {
	__ktap_test ok "$1"
	KTAP_CNT_PASS=$((KTAP_CNT_PASS + 1))
}

ktap_test_skip() {
	__ktap_test ok "$1" "# SKIP${2:+ $2}"
	KTAP_CNT_SKIP=$((KTAP_CNT_SKIP + 1))
}

ktap_test_fail() {
	__ktap_test "not ok" "$1"
	KTAP_CNT_FAIL=$((KTAP_CNT_FAIL + 1))
}

# Print the totals and exit: fail if any subtest failed (or none ran), skip if
# all were skipped, else pass.
ktap_finished() {
	local run=$((KTAP_TESTNO - 1))

	[ -n "$KTAP_PLAN" ] || echo "1..$run"
	echo "# Totals: pass:$KTAP_CNT_PASS fail:$KTAP_CNT_FAIL xfail:0 xpass:0 skip:$KTAP_CNT_SKIP error:0"
	if [ "$KTAP_CNT_FAIL" -ne 0 ] || [ "$run" -eq 0 ]; then
		exit $ksft_fail
	elif [ -n "$KTAP_PLAN" ] && [ "$run" -ne "$KTAP_PLAN" ]; then
		echo "# planned $KTAP_PLAN subtests, ran $run"
		exit $ksft_fail
	elif [ "$KTAP_CNT_PASS" -eq 0 ]; then
		exit $ksft_skip
	fi
	exit $ksft_pass
}

# Print each line of $1 as a KTAP diagnostic, indented.
__diag() {
	[ -n "$1" ] && printf '%s\n' "$1" | sed 's/^/#   /'
	return 0
}

fail() {
	echo "FAIL: $*"
	exit $ksft_fail
}

skip() {
	echo "SKIP: $*"
	exit $ksft_skip
}

expect_ok() {
	local desc=$1 rc=0
	shift
	OUT=$("$@" 2>&1) || rc=$?
	if [ $rc -eq 0 ]; then
		ktap_test_pass "$desc"
		return 0
	fi
	ktap_test_fail "$desc"
	echo "#   expected success of: $*"
	echo "#   saw exit $rc, output:"
	__diag "$OUT"
	return 1
}

expect_fail() {
	local desc=$1 rc=0
	shift
	OUT=$("$@" 2>&1) || rc=$?
	if [ $rc -ne 0 ]; then
		ktap_test_pass "$desc"
		return 0
	fi
	ktap_test_fail "$desc"
	echo "#   expected failure of: $*"
	echo "#   saw success, output:"
	__diag "$OUT"
	return 1
}

expect_eq() {
	if [ "$2" = "$3" ]; then
		ktap_test_pass "$1"
		return 0
	fi
	ktap_test_fail "$1"
	echo "#   expected: $2"
	echo "#   saw:      $3"
	return 1
}

expect_match() {
	if printf '%s\n' "$3" | grep -qE -- "$2"; then
		ktap_test_pass "$1"
		return 0
	fi
	ktap_test_fail "$1"
	echo "#   expected a line matching: $2"
	echo "#   saw:"
	__diag "${3:-(nothing)}"
	return 1
}

expect_no_match() {
	local lines

	lines=$(printf '%s\n' "$3" | grep -E -- "$2")
	if [ -z "$lines" ]; then
		ktap_test_pass "$1"
		return 0
	fi
	ktap_test_fail "$1"
	echo "#   expected no line matching: $2"
	echo "#   saw:"
	__diag "$lines"
	return 1
}

require_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
}

require_cmd() {
	local cmd

	for cmd in "$@"; do
		command -v "$cmd" >/dev/null || skip "$cmd not found"
	done
}

# colo_scaled N: N times COLO_TIMEOUT_SCALE (1 unless the harness runs a slow,
# debug, kernel), for the times a test sets in the module (an instance's
# timeout and fail-open bound) and plans its transfers around
colo_scaled() {
	echo $(($1 * ${COLO_TIMEOUT_SCALE:-1}))
}

# colo_slowed RATE: RATE divided by COLO_TIMEOUT_SCALE, for a pace a test
# plans its timing around (a transfer that must outlast a slow step)
colo_slowed() {
	echo $(($1 / ${COLO_TIMEOUT_SCALE:-1}))
}

# busywait TIMEOUT_MS cmd...: run cmd until it succeeds or TIMEOUT_MS passed;
# returns its last status and prints its last output. On a slow (debug)
# kernel the harness sets COLO_TIMEOUT_SCALE and the bound grows with it.
busywait() {
	local timeout_ms=$(($1 * ${COLO_TIMEOUT_SCALE:-1})) start out rc
	shift

	start=$(date +%s%3N)
	while :; do
		rc=0
		out=$("$@" 2>&1) || rc=$?
		if [ $rc -eq 0 ] || [ $(($(date +%s%3N) - start)) -gt "$timeout_ms" ]; then
			printf '%s' "$out"
			return $rc
		fi
		sleep 0.05
	done
}

# setup_ns NAME...: create a network namespace per NAME with a random name,
# store that name in the variable NAME, bring its loopback up. cleanup_all_ns
# (called by lib.sh's default cleanup) deletes them.
NS_LIST=()

setup_ns() {
	local var ns

	for var in "$@"; do
		ns="$var-$(mktemp -u XXXXXX)"
		ip netns add "$ns" || fail "expected 'ip netns add $ns' to succeed"
		NS_LIST+=("$ns")
		ip -n "$ns" link set lo up
		printf -v "$var" '%s' "$ns"
	done
}

cleanup_all_ns() {
	local ns

	for ns in "${NS_LIST[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	NS_LIST=()
}

# Tests that define their own cleanup call cleanup_all_ns from it.
cleanup() {
	cleanup_all_ns
}

# Kernel log: kmsg_mark prints a unique tag after writing it to the kernel
# log; kmsg_since TAG prints the kernel log lines after it.
kmsg_mark() {
	local tag

	tag="colo-selftest-mark-$(mktemp -u XXXXXXXX)"
	echo "$tag" >/dev/kmsg
	echo "$tag"
}

kmsg_since() {
	dmesg | sed -n "/$1/,\$p" | tail -n +2
}

# The module under test: loaded with plain modprobe; when the harness names the
# freshly built file ($COLO_MODULE), the loaded module must be that build (the
# GNU build-id note of the file equals the one in /sys/module/xt_COLO/notes).
colo_build_id() {
	od -An -v -tx1 "$1" 2>/dev/null | tr -d ' \n' | tail -c 40
}

colo_module_load() {
	local want have

	modprobe xt_COLO || fail "expected 'modprobe xt_COLO' to load the module, saw exit $?"
	if [ -n "${COLO_MODULE:-}" ]; then
		want=$(readelf -n "$COLO_MODULE" | sed -n 's/.*Build ID: //p')
		have=$(colo_build_id /sys/module/xt_COLO/notes/.note.gnu.build-id)
		{ [ -n "$want" ] && [ "$want" = "$have" ]; } ||
			fail "expected the built $COLO_MODULE (build-id $want) loaded, saw build-id '$have'"
	fi
}

colo_module_unload() {
	[ -d /sys/module/xt_COLO ] || return 0
	modprobe -r xt_COLO
}
