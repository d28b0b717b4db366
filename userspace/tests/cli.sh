#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# coloctl's and libxt_COLO's command lines on the build host, without the
# module: usage, exit codes (0 ok, 1 error, 2 usage), argument errors, the
# message for a missing colo family, the man page in step with --help, and
# iptables/ip6tables refusing bad COLO options before the kernel is asked.
# MEMCHECK=1 runs every coloctl under valgrind (leaks and errors fail).
# Output: TAP lines, counted by tests/run.sh.

cd "$(dirname "$0")/.." || exit 1

COLOCTL=(./coloctl)
if [ -n "$MEMCHECK" ]; then
	COLOCTL=(valgrind -q --leak-check=full --show-leak-kinds=all
		 --errors-for-leak-kinds=all --error-exitcode=99 ./coloctl)
fi

n=0
out=$(mktemp)
err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT

pass() { n=$((n + 1)); echo "ok $n - $1"; }
fail() { n=$((n + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
skip() { n=$((n + 1)); echo "ok $n - $1 # skip $2"; }

# check NAME EXIT STDOUT-PATTERN STDERR-PATTERN -- ARGS...
# Patterns are fixed strings that must occur ("" = no check; "-" = empty).
check() {
	local name=$1 want_rc=$2 want_out=$3 want_err=$4 rc
	shift 5
	"${COLOCTL[@]}" "$@" >"$out" 2>"$err"
	rc=$?
	if [ "$rc" != "$want_rc" ]; then
		fail "$name" "coloctl $* exited $rc, expected $want_rc" \
			"stderr: $(head -c 300 "$err")"
		return
	fi
	if [ "$want_out" = - ] && [ -s "$out" ]; then
		fail "$name" "expected no output, saw: $(head -c 300 "$out")"
		return
	fi
	if [ -n "$want_out" ] && [ "$want_out" != - ] &&
	   ! grep -qF -- "$want_out" "$out"; then
		fail "$name" "expected on stdout: $want_out" "saw: $(head -c 300 "$out")"
		return
	fi
	if [ "$want_err" = - ] && [ -s "$err" ]; then
		fail "$name" "expected nothing on stderr, saw: $(head -c 300 "$err")"
		return
	fi
	if [ -n "$want_err" ] && [ "$want_err" != - ] &&
	   ! grep -qF -- "$want_err" "$err"; then
		fail "$name" "expected on stderr: $want_err" "saw: $(head -c 300 "$err")"
		return
	fi
	pass "$name"
}

# usage and help
check "no command is a usage error" 2 - "Usage: coloctl [-n NETNS] [-j] <command>" -- 
check "--help prints usage" 0 "  instance show [ID] [-j]" - -- --help
check "-h prints usage" 0 "  monitor [-j] [-t] [--instance ID] [--exec CMD]" - -- -h
check "help prints usage" 0 "  checkpoint ID" - -- help
check "help instance" 0 "Usage: coloctl instance add ID" - -- help instance
check "help monitor" 0 "COLO_OFFSET" - -- help monitor
check "help of an unknown command" 2 - 'help: unknown command "frob"' -- help frob
check "help with two commands" 2 - 'help: unexpected argument "monitor"' -- help instance monitor
check "--version is the one in kernel/version.h" 0 "coloctl $(sed -n 's/^#define XT_COLO_VERSION "\(.*\)"/\1/p' ../kernel/version.h) " - -- --version
check "unknown command" 2 - 'coloctl: unknown command "frob"' -- frob
check "-n without a namespace" 2 - "coloctl: -n needs a network namespace" -- -n
check "-n with an empty name" 2 - 'coloctl: -n: "" is not a network namespace name' -- -n "" instance show
check "-n naming no namespace" 1 - 'coloctl: cannot open network namespace "/run/netns/colo-no-such-ns": No such file or directory' -- -n colo-no-such-ns instance show
check "-n with a path that is no namespace" 1 - 'coloctl: cannot enter network namespace "/dev/null": Invalid argument' -- -n /dev/null instance show
check "-j then an unknown command" 2 - 'coloctl: unknown command "frob"' -- -j frob
check "monitor -t takes no value" 2 - 'coloctl: monitor: unexpected argument "5"' -- monitor -t 5
check "instance without subcommand" 2 - "Usage: coloctl instance add" -- instance
check "instance --help" 0 "failopen MS" - -- instance --help
check "instance add --help" 0 "max-bytes BYTES" - -- instance add --help
check "instance show --help" 0 "coloctl instance show [ID] [-j]" - -- instance show --help
check "checkpoint --help" 0 "Usage: coloctl checkpoint ID" - -- checkpoint --help
check "failover --help" 0 "Usage: coloctl failover ID" - -- failover --help
check "monitor --help" 0 "Usage: coloctl monitor [-j] [-t] [--instance ID] [--exec CMD]" - -- monitor --help
check "unknown instance subcommand" 2 - 'instance: unknown command "list"' -- instance list

# argument errors: exit 2 before any netlink
check "instance add without ID" 2 - "Usage: coloctl instance add" -- instance add
check "instance add with a word for ID" 2 - 'coloctl: instance ID: "one" is not a number' -- instance add one
check "instance add 0" 2 - "coloctl: instance ID: 0 is out of range (1..4294967295)" -- instance add 0
check "instance add 2^32" 2 - "coloctl: instance ID: 4294967296 is out of range (1..4294967295)" -- instance add 4294967296
check "instance add, keyword without value" 2 - "coloctl: instance add: timeout needs a value" -- instance add 1 timeout
check "instance add, keyword twice" 2 - "coloctl: instance add: timeout given twice" -- instance add 1 timeout 10 timeout 20
check "instance add, unknown keyword" 2 - 'coloctl: instance add: unknown keyword "queue"' -- instance add 1 queue 10
check "instance add, timeout not a number" 2 - 'coloctl: timeout: "3s" is not a number' -- instance add 1 timeout 3s
check "instance add, max-queue too wide" 2 - "coloctl: max-queue: 4294967296 is out of range (0..4294967295)" -- instance add 1 max-queue 4294967296
check "instance add, failopen negative" 2 - 'coloctl: failopen: "-1" is not a number' -- instance add 1 failopen -1
check "instance add, max-bytes bad suffix" 2 - 'coloctl: max-bytes: "32MB" is not a byte count' -- instance add 1 max-bytes 32MB
check "instance add, max-bytes too large" 2 - "coloctl: max-bytes: 16777216T does not fit in 64 bits" -- instance add 1 max-bytes 16777216T
check "instance del without ID" 2 - "Usage: coloctl instance add" -- instance del
check "instance del with two IDs" 2 - "Usage: coloctl instance add" -- instance del 1 2
check "instance show with two IDs" 2 - 'instance show: unexpected argument "2"' -- instance show 1 2
check "instance show with an unknown option" 2 - 'instance show: unexpected argument "-x"' -- instance show -x
check "checkpoint without ID" 2 - "Usage: coloctl checkpoint ID" -- checkpoint
check "checkpoint with a bad ID" 2 - 'coloctl: instance ID: "x" is not a number' -- checkpoint x
check "failover with two IDs" 2 - "Usage: coloctl failover ID" -- failover 1 2
check "monitor --exec without command" 2 - "coloctl: monitor: --exec needs a command" -- monitor --exec
check "monitor --exec= empty" 2 - "coloctl: monitor: --exec needs a command" -- monitor --exec=
check "monitor with an unknown option" 2 - 'coloctl: monitor: unexpected argument "-x"' -- monitor -x
check "checkpoint with a bad phase" 2 - 'coloctl: checkpoint: expected "begin" or "end", not "now"' -- checkpoint 1 now
check "qemu without a command" 2 - "Usage: coloctl qemu watch ID --qmp SOCKET" -- qemu
check "qemu with an unknown command" 2 - 'coloctl: qemu: unknown command "start"' -- qemu start
check "qemu watch without ID" 2 - "coloctl: qemu watch: an instance ID is needed" -- qemu watch
check "qemu watch without --qmp" 2 - "coloctl: qemu watch: --qmp SOCKET is needed" -- qemu watch 1
check "qemu watch with a bad drain" 2 - "--drain" -- qemu watch 1 --qmp /x --drain 70000
check "qemu watch --qmp without value" 2 - "coloctl: qemu watch: --qmp needs a value" -- qemu watch 1 --qmp
check "qemu failover takes no --drain" 2 - 'coloctl: qemu failover: unexpected argument "--drain"' -- qemu failover 1 --qmp /x --drain 5
check "qemu checkpoint takes no ID" 2 - 'coloctl: qemu checkpoint: unexpected argument "1"' -- qemu checkpoint 1 --qmp /x
check "qemu checkpoint without QEMU" 1 - "coloctl: cannot connect to QEMU's QMP socket /nonexistent/qmp: No such file or directory" -- qemu checkpoint --qmp /nonexistent/qmp

# a real QEMU, not in COLO: the QMP client gets through the greeting, the
# capabilities and query-colo-status, and coloctl refuses to ask it for a
# checkpoint
if command -v qemu-system-x86_64 >/dev/null; then
	qmpdir=$(mktemp -d)
	qemu-system-x86_64 -M none -nodefaults -display none \
		-qmp "unix:$qmpdir/qmp,server=on,wait=off" </dev/null >/dev/null 2>&1 &
	qpid=$!
	for _ in $(seq 100); do [ -S "$qmpdir/qmp" ] && break; sleep 0.05; done
	check "qemu checkpoint to a QEMU not in COLO" 1 - \
		"QEMU is not a COLO primary (COLO mode none): only the primary checkpoints" \
		-- qemu checkpoint --qmp "$qmpdir/qmp"
	kill "$qpid" 2>/dev/null
	wait "$qpid" 2>/dev/null
	rm -rf "$qmpdir"
else
	skip "qemu checkpoint to a QEMU not in COLO" "qemu-system-x86_64 not installed"
fi

# no colo family on this host: each command says how to get it
missing="coloctl: the colo generic netlink family is not available: is xt_COLO loaded? (modprobe xt_COLO)"
./coloctl instance show >/dev/null 2>"$err"
if grep -qF "$missing" "$err"; then
	check "instance show without the module" 1 - "$missing" -- instance show
	check "instance show -j without the module" 1 - "$missing" -- instance show 1 -j
	check "instance add without the module" 1 - "$missing" -- instance add 1 timeout 5 max-bytes 1G
	check "instance del without the module" 1 - "$missing" -- instance del 1
	check "checkpoint without the module" 1 - "$missing" -- checkpoint 1
	check "failover without the module" 1 - "$missing" -- failover 1
	check "monitor without the module" 1 - "$missing" -- monitor -j --exec true
else
	skip "commands without the module" "the colo family is present"
fi

# bash completion: commands, keywords, instance ids (from -j instance show
# of the same program, in the -n namespace)
stub=$(mktemp)
cat >"$stub" <<'STUB'
#!/bin/sh
[ "$1" = -n ] && { echo "[{\"instance\":99}]"; exit 0; }
echo '[{"instance":7},{"instance":12}]'
STUB
chmod +x "$stub"
complete_check() {
	local name=$1 want=$2 got
	shift 2
	got=$(bash -c 'source completion/coloctl
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _coloctl
		echo "${COMPREPLY[*]}"' _ "$@" 2>&1)
	if [ "$got" = "$want" ]; then
		pass "completion: $name"
	else
		fail "completion: $name" "words: $*" "expected: $want" "saw: $got"
	fi
}
complete_check "the commands" "instance" "$stub" ins
complete_check "instance's subcommands" "add del show --help" "$stub" instance ""
complete_check "instance add's unused keywords" "max-queue max-bytes failopen max-flows" \
	"$stub" instance add 1 timeout 5 ""
complete_check "no keyword where a value goes" "" "$stub" instance add 1 max-bytes ""
complete_check "checkpoint's instance ids" "7 12 --help" "$stub" checkpoint ""
complete_check "instance ids in the -n namespace" "99 --help" "$stub" -n ns1 -j failover ""
complete_check "checkpoint's phases" "begin end" "$stub" checkpoint 7 ""
complete_check "monitor's options" "--timestamp" "$stub" monitor -j --t
complete_check "monitor's --instance" "--instance" "$stub" monitor -t --in
complete_check "monitor --instance's ids" "7 12" "$stub" monitor --instance ""
complete_check "instance del takes no -j" "7 12" "$stub" instance del ""
complete_check "qemu watch's options" "--qmp --drain --takeover --no-failover" "$stub" qemu watch 7 --
rm -f "$stub"

# both man pages render without a warning
for page in coloctl.8 xt_COLO.8; do
	if ! command -v man >/dev/null; then
		skip "$page renders without warnings" "man not installed"
		continue
	fi
	w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null)
	if [ -s "$page" ] && [ -z "$w" ]; then
		pass "$page renders without warnings"
	else
		fail "$page renders without warnings" "saw: ${w:-an empty page}"
	fi
done
if grep -qF -- "\\-\\-rewrite\\-client" xt_COLO.8 && grep -qF ".TH XT_COLO 8" xt_COLO.8; then
	pass "xt_COLO.8 is libxt_COLO.man under its own title"
else
	fail "xt_COLO.8 is libxt_COLO.man under its own title" "saw: $(head -3 xt_COLO.8)"
fi

# the man page documents what --help says
man=$(sed -e 's/\\f[BIRP]//g' -e 's/\\-/-/g' -e 's/\\(em/-/g' coloctl.8)
# (every word of the commands' lines; the names of the options before them)
{
	./coloctl --help | sed -n '/^Commands:/,/^$/s/^  //p'
	./coloctl --help | sed -n '/^Options before/,/^$/s/^  \(-[^ ,]*\)\(, \(-[^ ]*\)\)\{0,1\}.*/\1 \3/p'
} | while IFS= read -r line; do
	case "$line" in *"<command>"*) continue ;; esac
	for word in ${line//[\[\]|,]/ }; do
		grep -qF -- "$word" <<<"$man" || echo "$line: $word"
	done
done >"$out"
if [ -s "$out" ]; then
	fail "coloctl.8 documents every usage line" "missing: $(tr '\n' ';' <"$out")"
else
	pass "coloctl.8 documents every usage line"
fi
for key in timeout_ms max_queue max_bytes failopen_ms max_flows role state rules pending stats \
	   $(sed -n 's/.*= "\([a-z_]*\)",$/\1/p' names.c | grep _) \
	   time event reason family proto saddr daddr sport dport icmp_id offset \
	   COLO_INSTANCE COLO_REASON COLO_FAMILY COLO_PROTO COLO_SADDR COLO_DADDR \
	   COLO_SPORT COLO_DPORT COLO_ICMP_ID COLO_OFFSET; do
	grep -qF -- "$key" <<<"$man" || echo "$key"
done >"$out"
if [ -s "$out" ]; then
	fail "coloctl.8 documents every JSON key and helper variable" "missing: $(tr '\n' ' ' <"$out")"
else
	pass "coloctl.8 documents every JSON key and helper variable"
fi

# iptables and ip6tables with the extension: errors before the kernel
ipt_check() {
	local name=$1 want=$2 cmd=$3 rc
	shift 3
	XTABLES_LIBDIR=$PWD:$(pkg-config --variable=xtlibdir xtables) \
		unshare -n "$cmd" "$@" >"$out" 2>"$err"
	rc=$?
	if [ $rc -ne 2 ] || ! grep -qF -- "$want" "$err" "$out"; then
		fail "$name" "$cmd $* exited $rc (expected 2), expected: $want" \
			"saw: $(cat "$err" "$out" | grep -v '^Warning' | head -c 300)"
	else
		pass "$name"
	fi
}
if [ "$(id -u)" != 0 ] || ! unshare -n true 2>/dev/null ||
   ! command -v iptables >/dev/null || ! command -v ip6tables >/dev/null; then
	skip "iptables with libxt_COLO" "needs root, unshare, iptables and ip6tables"
else
	XTABLES_LIBDIR=$PWD:$(pkg-config --variable=xtlibdir xtables) \
		unshare -n iptables -t mangle -A PREROUTING -j COLO --help >"$out" 2>&1
	if grep -qF -- "--rewrite-client" "$out"; then
		pass "iptables -j COLO --help lists the options"
	else
		fail "iptables -j COLO --help lists the options" "saw: $(tail -c 300 "$out")"
	fi
	ipt_check "iptables: missing --instance" "COLO: --instance ID is required" \
		iptables -t mangle -A PREROUTING -j COLO --primary
	ipt_check "iptables: missing role" "COLO: a role is required: --primary, --secondary, --rewrite or --rewrite-client" \
		iptables -t mangle -A PREROUTING -j COLO --instance 1
	ipt_check "iptables: two roles" "COLO: --primary and --secondary: give exactly one role" \
		iptables -t mangle -A PREROUTING -j COLO --instance 1 --primary --secondary
	ipt_check "iptables: bad instance" 'COLO: --instance: "x1" is not an instance id (1..4294967295)' \
		iptables -t raw -A PREROUTING -j COLO --instance x1 --secondary
	ipt_check "ip6tables: instance 0" 'COLO: --instance: "0" is not an instance id (1..4294967295)' \
		ip6tables -t mangle -A PREROUTING -j COLO --instance 0 --rewrite
	ipt_check "ip6tables: missing role" "COLO: a role is required" \
		ip6tables -t raw -A PREROUTING -j COLO --instance 1
fi

echo "1..$n"
