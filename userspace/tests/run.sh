#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Runs the host-side tests of userspace/ (make -C userspace test) and ends
# with one line "userspace: N passed, N failed, N skipped". Exit 0 when
# nothing failed. MEMCHECK=1 runs them under valgrind.

cd "$(dirname "$0")/.." || exit 1

VG=()
if [ -n "$MEMCHECK" ]; then
	if ! command -v valgrind >/dev/null; then
		echo "MEMCHECK needs valgrind (apt-get install valgrind)" >&2
		exit 1
	fi
	VG=(valgrind -q --leak-check=full --show-leak-kinds=all
	    --errors-for-leak-kinds=all --error-exitcode=99)
fi

passed=0 failed=0 skipped=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run() {
	local name=$1 rc
	shift
	echo "# $name"
	"$@" >"$log" 2>&1
	rc=$?
	cat "$log"
	passed=$((passed + $(grep -c '^ok ' "$log") - $(grep -c '^ok .*# skip' "$log")))
	skipped=$((skipped + $(grep -c '^ok .*# skip' "$log")))
	failed=$((failed + $(grep -c '^not ok ' "$log")))
	# a crash or a valgrind error is a failure of its own
	if [ $rc -ne 0 ] && ! grep -q '^not ok ' "$log"; then
		echo "not ok - $name exited $rc"
		failed=$((failed + 1))
	fi
}

run test-parse "${VG[@]}" ./tests/test-parse
run test-output "${VG[@]}" ./tests/test-output
run test-monitor "${VG[@]}" ./tests/test-monitor
run test-qmp "${VG[@]}" ./tests/test-qmp
# libxtables keeps what it loads for the life of the process: no leak check
XTABLES_LIBDIR=$PWD run test-xt ${VG:+valgrind -q --error-exitcode=99} ./tests/test-xt
run cli ./tests/cli.sh
run colo-quick ./tests/quick.sh

echo "userspace: $passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
