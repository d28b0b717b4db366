#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Every allocation of every configuration command fails once, in turn:
# coloctl instance add, show, checkpoint, failover and del, and the COLO
# rules added and deleted through iptables and ip6tables (nf_tables,
# nft_compat, the module's checkentry and destroy). For each command,
# failnth.so arms /proc/thread-self/fail-nth around the command's netlink
# calls; the walk fails the 1st, 2nd, ... point (failslab and
# fail_page_alloc, sleeping allocations included) until the command runs
# through without one failing. After each try:
#   - a command that failed said why (an error message) and left the state
#     as it was before, or, when the failure came after the change was
#     made (the reply lost), exactly as a success leaves it: the instance
#     list with settings, role, state, rule count and counters (coloctl
#     instance show -j) and the module's reference count (a rule holds
#     one), never something in between; the ruleset (nft list ruleset,
#     which nf_tables changes in one transaction) is compared at the ends
#     of each walk and wherever the module's state was amiss;
#   - a command that succeeded left the state a success leaves;
#   - nothing crashed or hung, the kernel reported nothing.
# At the end the module unloads. The harness then checks the kernel log and
# kmemleak (make check-fault runs on make check-debug's kernel).
# FAULT_MAX_POINTS (3000) bounds each walk. The whole test runs inside one
# network namespace of its own, and a try costs two execs (the command and
# coloctl to read the state): a loaded emulated debug kernel took 19-25 s
# a try even so.

if [ "${FAULT_IN_NS:-}" != 1 ]; then
	ns=colo-fault-$(mktemp -u XXXXXX)
	ip netns add "$ns" || { echo "FAIL: expected 'ip netns add $ns' to succeed"; exit 1; }
	rc=0
	FAULT_IN_NS=1 ip netns exec "$ns" bash "$0" "$@" || rc=$?
	ip netns del "$ns"
	exit $rc
fi

source "$(dirname "$0")/lib/fault.sh"

MAX_POINTS=${FAULT_MAX_POINTS:-3000}
# FAULT_WALKS: the walks to run, a comma-separated list of parts of their
# names ("iptables -A,failover"); default all
WALKS=${FAULT_WALKS:-}
# FAULT_LAST=1 walks only the points of each command's last request and
# its answer (coloctl's command, iptables' nf_tables batch: where the
# change is made), not those of resolving the family or filling iptables'
# cache before it: for a machine too slow for every point
LAST=${FAULT_LAST:-0}
ID=7

fault_require
ip link set lo up
cleanup()
{
	fault_off
	rm -f "$REPORT"
}
REPORT=$(mktemp /tmp/failnth.XXXXXX)
trap cleanup EXIT

# snap: the module's side of the state a command may change, one text:
# the instances with settings, role, state, rule count and counters, and
# the module's reference count (one per rule). Read at every try.
SNAP_STATS=1
snap()
{
	local ref
	if [ "$SNAP_STATS" = 1 ]; then
		"$COLOCTL" instance show -j 2>&1
	else
		"$COLOCTL" instance show -j 2>&1 | sed 's/"stats":{[^}]*}//g'
	fi
	read -r ref </sys/module/xt_COLO/refcnt
	echo "xt_COLO refcnt $ref"
}

# snap_all: with the ruleset (nft list ruleset): an exec more, so only at
# the ends of a walk and where snap saw something amiss
snap_all()
{
	snap
	nft list ruleset 2>&1
}

# walk_selected DESC: DESC is one of FAULT_WALKS (or that is empty)
walk_selected()
{
	local w IFS=,
	[ -n "$WALKS" ] || return 0
	for w in $WALKS; do
		[[ $1 == *"$w"* ]] && return 0
	done
	return 1
}

# walk DESC UNDO CMD...: the walk over CMD's points. UNDO (a command line,
# run with eval) takes the state a success leaves back to the one before.
walk()
{
	local desc=$1 undo=$2
	shift 2
	if ! walk_selected "$desc"; then
		log "$desc: not in FAULT_WALKS"
		return 0
	fi
	local before after before_all s n points last_send t0 ms
	local failed=0 applied=0 absorbed=0 bad=0 done=0 msg_bad=0

	inject 0 "$@"
	[ "$INJ_RC" = 0 ] || fail "$desc: expected success without faults, saw exit $INJ_RC: $INJ_OUT"
	eval "$undo" >/dev/null 2>&1 || fail "$desc: expected '$undo' to succeed"
	before_all=$(snap_all)
	before=$(snap)
	inject 0 "$@"
	[ "$INJ_RC" = 0 ] || fail "$desc: expected success without faults, saw exit $INJ_RC: $INJ_OUT"
	after=$(snap)
	read -r _ points last_send <<<"$INJ_REPORT"
	eval "$undo" >/dev/null 2>&1 || fail "$desc: expected '$undo' to succeed"
	[ "$(snap_all)" = "$before_all" ] || fail "$desc: expected '$undo' to restore the state"

	local first=1 tries=0
	[ "$LAST" = 1 ] && first=$((last_send + 1))
	log "$desc: $points points, the last request's from $((last_send + 1)); walking from $first"
	mark=$(kmsg_mark)
	t0=$(now_ms)
	for ((n = first; n <= MAX_POINTS; n++)); do
		((tries % 25 || !tries)) || log "$desc: at point $n, $tries tries, $(($(now_ms) - t0)) ms"
		tries=$((tries + 1))
		inject "$n" "$@"
		s=$(snap)
		case $INJ_REPORT in
		none*)
			done=1
			if [ "$INJ_RC" != 0 ] || [ "$s" != "$after" ]; then
				bad=$((bad + 1))
				log "$desc: no failure injected at point $n, yet exit $INJ_RC: $INJ_OUT"
			fi
			break
			;;
		esac
		if [ "$INJ_RC" -ge 124 ] || [ "$INJ_REPORT" = "no report" ]; then
			bad=$((bad + 1))
			log "$desc: point $n: crashed or hung (exit $INJ_RC, $INJ_REPORT): $INJ_OUT"
		elif [ "$INJ_RC" = 0 ]; then
			if [ "$s" = "$after" ]; then
				absorbed=$((absorbed + 1))
			else
				bad=$((bad + 1))
				log "$desc: point $n: succeeded, but the state is not a success's:"
				diff <(echo "$after") <(echo "$s") | sed 's/^/#     /'
			fi
		else
			[ -n "$INJ_OUT" ] || {
				msg_bad=$((msg_bad + 1))
				log "$desc: point $n: exit $INJ_RC without a message"
			}
			if [ "$s" = "$before" ]; then
				failed=$((failed + 1))
				[ $failed -le 2 ] && log "$desc: point $n: $(echo "$INJ_OUT" | head -n 2 | tr '\n' ' ')"
			elif [ "$s" = "$after" ]; then
				applied=$((applied + 1))
				[ $applied -le 3 ] && log "$desc: point $n: failed after the change was made: $(echo "$INJ_OUT" | head -n 2 | tr '\n' ' ')"
			else
				bad=$((bad + 1))
				log "$desc: point $n: half state after '$INJ_OUT' (before -> seen):"
				diff <(echo "$before_all") <(snap_all) | sed 's/^/#     /'
			fi
		fi
		if [ "$s" != "$before" ]; then
			eval "$undo" >/dev/null 2>&1
			s=$(snap)
			if [ "$s" != "$before" ]; then
				log "$desc: point $n: '$undo' cannot restore the state; stopping the walk"
				diff <(echo "$before") <(echo "$s") | sed 's/^/#     /'
				bad=$((bad + 1))
				break
			fi
		fi
	done
	ms=$(($(now_ms) - t0))
	# the last try succeeded: back to the state before, for the next walk
	[ "$(snap)" = "$before" ] || eval "$undo" >/dev/null 2>&1
	s=$(snap_all)
	[ "$s" = "$before_all" ] || {
		bad=$((bad + 1))
		log "$desc: at the end, the state (with the ruleset) is not back to the one before:"
		diff <(echo "$before_all") <(echo "$s") | sed 's/^/#     /'
	}
	log "$desc: $points points; $failed failed cleanly, $applied failed after the change, $absorbed absorbed, $tries tries in $ms ms"
	expect_eq "$desc: the walk reached a run without a failure (at most $MAX_POINTS points)" 1 "$done"
	expect_eq "$desc: no half state, crash or hang" 0 "$bad"
	expect_eq "$desc: every failure said why" 0 "$msg_bad"
	expect_eq "$desc: no kernel report" "" "$(fault_reports "$mark")"
}

fault_nth_mode

IPT_PRI="PREROUTING -t mangle -i ptap -j COLO --instance $ID --primary"
IPT_SEC="PREROUTING -t raw -i cable -j COLO --instance $ID --secondary"
ADD="$COLOCTL instance add $ID timeout 500 max-queue 64 max-bytes 1048576 failopen 2000 max-flows 100"

# shellcheck disable=SC2086 # $ADD, $IPT_*: commands and rules, several words
{
walk "instance add" "$COLOCTL instance del $ID" $ADD
$ADD >/dev/null || fail "expected instance $ID"
walk "iptables -A primary" "iptables -D $IPT_PRI" iptables -A $IPT_PRI
iptables -A $IPT_PRI || fail "expected the primary rule"
walk "iptables -A secondary" "iptables -D $IPT_SEC" iptables -A $IPT_SEC
walk "iptables -D primary" "iptables -A $IPT_PRI" iptables -D $IPT_PRI
iptables -D $IPT_PRI || fail "expected the primary rule deleted"
walk "instance del" "$ADD" "$COLOCTL" instance del "$ID"
# the walk leaves the state as before it: the instance is there
"$COLOCTL" instance show "$ID" >/dev/null || fail "expected instance $ID"
walk "instance show" "true" "$COLOCTL" instance show "$ID" -j
walk "instance show (dump)" "true" "$COLOCTL" instance show
walk "ip6tables -A primary" "ip6tables -D $IPT_PRI" ip6tables -A $IPT_PRI
# checkpoint and failover count in the stats: compare without them
SNAP_STATS=0
walk "checkpoint" "true" "$COLOCTL" checkpoint "$ID"
walk "failover" "$COLOCTL instance del $ID && $ADD" "$COLOCTL" failover "$ID"
}

fault_off
"$COLOCTL" instance del "$ID" >/dev/null
nft flush ruleset
expect_ok "the module unloads" busywait 30000 modprobe -r xt_COLO
colo_module_load

ktap_finished
