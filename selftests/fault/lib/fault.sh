# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# Shared by the make check-fault tests (selftests/fault/*.sh): the
# selftests' topology and make check-stress's tools and counters
# (../../stress/lib/stress.sh, which brings ../../lib/topology.sh and
# ../../lib.sh), the failslab and fail_page_alloc knobs in debugfs
# (Documentation/fault-injection/fault-injection.rst), and the scan of the
# kernel log for reports.

FAULT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../../stress/lib/stress.sh
source "$FAULT_DIR/../stress/lib/stress.sh"

FAILNTH_SO=$FAULT_DIR/failnth.so
DBG=/sys/kernel/debug
FAILSLAB=$DBG/failslab
FAILPAGE=$DBG/fail_page_alloc

# fault_require: root, the module, a kernel with fault injection in
# debugfs (make check-debug's), the shim
fault_require()
{
	colo_require
	require_cmd jq nft
	[ -d "$DBG/failslab" ] || mount -t debugfs debugfs "$DBG" 2>/dev/null
	{ [ -d "$FAILSLAB" ] && [ -d "$FAILPAGE" ]; } ||
		skip "no $FAILSLAB or $FAILPAGE: a kernel with CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC and CONFIG_FAULT_INJECTION_DEBUG_FS (make check-fault boots one)"
	[ -e /proc/self/fail-nth ] ||
		skip "no /proc/self/fail-nth: a kernel with CONFIG_FAULT_INJECTION"
	[ -f "$FAILNTH_SO" ] ||
		skip "$FAILNTH_SO is not built (make -C selftests/fault, done by make check-fault)"
}

# fault_knob DIR FILE VALUE: set one knob, or fail the test
fault_knob()
{
	echo "$3" >"$1/$2" 2>/dev/null ||
		fail "expected to write '$3' to $1/$2"
}

# fault_quiet: no failure by probability; a failure that is injected
# prints nothing (verbose 2 would dump a stack trace for each one, which
# the harness takes for a kernel report); every cache may fail
fault_quiet()
{
	local d
	for d in "$FAILSLAB" "$FAILPAGE"; do
		fault_knob "$d" probability 0
		fault_knob "$d" interval 1
		fault_knob "$d" times -1
		fault_knob "$d" space 0
		fault_knob "$d" verbose 0
		fault_knob "$d" task-filter N
	done
	fault_knob "$FAILSLAB" cache-filter N
}

# fault_gfp WAIT HIGHMEM ORDER: no failure by probability yet, and which
# allocations may fail: sleeping ones (GFP_KERNEL) unless WAIT is Y, highmem
# pages unless HIGHMEM is Y, pages of order ORDER and up
fault_gfp()
{
	fault_quiet
	fault_knob $FAILSLAB ignore-gfp-wait "$1"
	fault_knob $FAILPAGE ignore-gfp-wait "$1"
	fault_knob $FAILPAGE ignore-gfp-highmem "$2"
	fault_knob $FAILPAGE min-order "$3"
}

# fault_nth_mode: for fail-nth walks: every allocation counts, sleeping
# ones (GFP_KERNEL) and single pages included
fault_nth_mode()
{
	fault_gfp N N 0
}

# fault_off: back to the kernel's defaults, nothing fails
fault_off()
{
	fault_gfp Y Y 1
	return 0
}

# fault_reports TAG: kernel reports in the log since kmsg_mark TAG (the
# harness's pattern, plus lockdep's and kmemleak's words)
fault_reports()
{
	kmsg_since "$1" |
	grep -E 'WARNING:|BUG:|^BUG |] BUG |Oops|general protection fault|refcount_t:|list_add corruption|list_del corruption|soft lockup|hung task|blocked for more than|rcu.*detected stall|KASAN|UBSAN|Kernel panic|kernel BUG|Call Trace:|ref_tracker:|ODEBUG:|unregister_netdevice: waiting|possible recursive locking|possible circular locking|inconsistent lock state|suspicious RCU usage|sleeping function called|memory leak'
}

# inject N CMD...: CMD with the Nth point of its netlink calls failing (0:
# none), failnth.so reporting into the caller's $REPORT; sets INJ_RC,
# INJ_OUT and INJ_REPORT. No timeout(1) around it, to spare an exec per
# try: a hang is the test's timeout.
# shellcheck disable=SC2034 # INJ_RC and INJ_OUT are the calling test's
inject()
{
	local n=$1
	shift
	: >"$REPORT"
	INJ_RC=0
	INJ_OUT=$(LD_PRELOAD="$FAILNTH_SO" FAILNTH="$n" FAILNTH_REPORT="$REPORT" "$@" 2>&1) ||
		INJ_RC=$?
	INJ_REPORT=
	read -r INJ_REPORT <"$REPORT"
	: "${INJ_REPORT:=no report}"
}
