#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `make bench`, the guest side: what xt_COLO costs, measured in the two-host
# topology of the selftests (selftests/lib/topology.sh) inside the test
# guest. Every figure the host compares is a ratio of two measurements of
# this one run, taken interleaved. Results are printed as lines
# "BENCH <json>" for bench/run (the host), which makes the table, the JSON
# file and the plots; everything else is commentary.
#
# Modes of the primary host (the secondary host always has its instance and
# the rewriter rules, so the secondary guest carries every TCP stream, as in
# a deployment):
#   protected  the README's rules: --primary (mangle) and --secondary (raw)
#   plain      no COLO rule; the secondary's copies arriving on the cable
#              are dropped by a plain `iptables -t raw ... -j DROP`
#
# Phases (BENCH_PHASES, default all, in this order):
#   throughput  TCP download and upload of BENCH_TCP_BYTES between the client
#               and both guests (colo_load tcp-serve in each guest, the same
#               bytes); UDP request streams of 64 and 1400 bytes
#               (BENCH_UDP_COUNT answers, BENCH_UDP_WINDOW outstanding)
#   pairs       the same UDP frame pairs fed to QEMU's colo-compare (run in
#               this guest) and to xt_COLO (packet sockets on the primary
#               and secondary side), and the plain mode for the baseline
#   latency     UDP ping-pong (64 bytes, one outstanding) protected vs
#               plain; the same with tcpdump on the primary host, split
#               at its interfaces (bench/ping_path.py: BENCH_PATH_PING
#               round trips); divergence-to-event latency, end to end and
#               split at the primary host beside the guest's floor of a
#               packet-to-process read (bench/div_path.py); checkpoint
#               flush of BENCH_HELD held datagrams
#   after_checkpoint (not by default) protected TCP downloads before and
#               after one checkpoint of the primary host
#   profile     (not by default) perf samples of the whole guest during
#               protected and plain downloads and frame pairs, and QEMU's
#               colo-compare fed the same pairs (bench/profile.py)
#   scaling     (not by default: 11 min for one repetition with 50000
#               pairs and three depths at load average 12-14) protected only, 64-byte UDP pairs from
#               colo_pairs (packet sockets, as in pairs): for each N of
#               BENCH_SCALING_FLOWS, a fresh instance (max-flows N + N/4 +
#               1024) whose N flows are made live by one pair each (the
#               "prime", its pairs/s a figure of flow set-up), then the
#               module's slab (colo_flow, colo_held) against the flow
#               count, the guest's busy CPU and the traced wall time of the
#               GC and the timeout scan (function_graph on colo_gc_work,
#               colo_scan_work; bench/ftrace_sum.py) over BENCH_SCALING_IDLE
#               seconds with the N flows idle, then BENCH_SCALING_PAIRS
#               measured pairs spread round robin over the N flows (guest
#               busy CPU per pair, pairs/s, the work's traced time); then
#               for each D of BENCH_SCALING_DEPTHS, the same pairs over
#               BENCH_SCALING_DEPTH_FLOWS flows with D primary copies held
#               per flow when a secondary copy comes (colo_pairs --depth,
#               max-queue 1024: D up to 1024 less two windows). Repeated
#               BENCH_SCALING_REPS times (default BENCH_REPS), N ascending
#               in odd repetitions, descending in even ones; the prime
#               keeps BENCH_SCALING_PRIME_WINDOW pairs outstanding, the
#               measured streams BENCH_PAIR_WINDOW.
# Each measurement is repeated BENCH_REPS times, the modes alternating.
# BENCH_CLIENT_RMEM sets the client's largest TCP receive buffer (below).
# BENCH_TESTS names the measurements to take (default all: tcp-down tcp-up
# udp-64 udp-1400 pairs-64 pairs-1400 ping-64), e.g. BENCH_TESTS=tcp-down with
# BENCH_PHASES=throughput for the download alone.

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../selftests/lib/topology.sh
source "$BENCH_DIR/../selftests/lib/topology.sh"

LOAD=$BENCH_DIR/colo_load
PAIRS=$BENCH_DIR/colo_pairs
QEMU=${BENCH_QEMU:-qemu-system-x86_64}

: "${BENCH_PHASES:=throughput pairs latency}"
: "${BENCH_REPS:=3}"
: "${BENCH_TESTS:=tcp-down tcp-up udp-64 udp-1400 pairs-64 pairs-1400 ping-64}"
: "${BENCH_TCP_BYTES:=33554432}"
: "${BENCH_UDP_COUNT:=5000}"
: "${BENCH_UDP_WINDOW:=32}"
: "${BENCH_PAIRS:=10000}"
: "${BENCH_PAIR_WINDOW:=32}"
: "${BENCH_PING:=1000}"
: "${BENCH_PATH_PING:=200}"
: "${BENCH_DIVERGENCES:=5}"
: "${BENCH_HELD:=10000}"
: "${BENCH_PROFILE_REPS:=2}"
: "${BENCH_PROFILE_HZ:=1000}"
: "${BENCH_PROFILE_TESTS:=tcp-down pairs-64}"
: "${BENCH_SCALING_FLOWS:=1 1000 10000 100000}"
: "${BENCH_SCALING_PAIRS:=20000}"
: "${BENCH_SCALING_IDLE:=10}"
: "${BENCH_SCALING_DEPTHS:=1 16 128 960}"
: "${BENCH_SCALING_DEPTH_FLOWS:=1}"
: "${BENCH_SCALING_PRIME_WINDOW:=64}"
: "${BENCH_SCALING_REPS:=$BENCH_REPS}"

TCP_PORT=8000
UDP_PORT=8001
DIV_PORT=8002
FLOOR_PORT=8003
PHOST_CLI4=10.0.1.1
SINK_PORT=7000
DIV_FROM=1000000
TRACE=/sys/kernel/tracing

cleanup()
{
	[ -n "${QEMU_PID:-}" ] && kill "$QEMU_PID" 2>/dev/null
	[ "${TRACING:-0}" = 1 ] && trace_off
	helper_stop
	colo_topology_cleanup
}
trap cleanup EXIT

# emit JSON: one result line for the host
emit()
{
	echo "BENCH $*"
}

note()
{
	echo "# $*"
}

die()
{
	emit "{\"error\": \"$*\"}"
	echo "bench: $*" >&2
	exit 1
}

# ------------------------------------------------------------ modes ----

MODE=none

drop_rules()
{
	local ipt
	for ipt in iptables ip6tables; do
		on_phost $ipt -t raw "$1" PREROUTING -i cable -j DROP || return 1
	done
}

set_mode()
{
	[ "$MODE" = "$1" ] && return 0
	case $MODE in
	protected) colo_rules -D primary secondary || die "removing the COLO rules" ;;
	plain) drop_rules -D || die "removing the DROP rules" ;;
	esac
	case $1 in
	protected) colo_rules -A primary secondary || die "adding the COLO rules" ;;
	plain) drop_rules -A || die "adding the DROP rules" ;;
	esac
	MODE=$1
}

# the modes of repetition REP: alternating which goes first
modes_of()
{
	if [ $(($1 % 2)) -eq 1 ]; then echo protected plain; else echo plain protected; fi
}

# stats_json: the primary instance's counters as one JSON object
stats_json()
{
	colo_show "$NS_PHOST" "$COLO_ID" && tr -d '\n' <"$COLO_TMP/show.json"
}

# after a protected measurement: no checkpoint request may have been
# raised (a divergence would let the instance fail open and pass traffic
# uncompared); returns the requests and passed packets since $1 $2
REQ0=0
PASSED0=0
protected_begin()
{
	REQ0=$(colo_stat checkpoint_requests)
	PASSED0=$(colo_stat passed)
}

protected_end()
{
	local req passed
	req=$(colo_stat checkpoint_requests)
	passed=$(colo_stat passed)
	CLEAN_JSON="\"checkpoint_requests\": $((req - REQ0)), \"passed\": $((passed - PASSED0))"
	if [ "$req" != "$REQ0" ]; then
		note "checkpoint requested during the measurement: $(stats_json)"
		[ -n "${HELPER_PID:-}" ] || colo_checkpoint
	fi
}

# The checkpoint helper of a deployment (`coloctl monitor --exec`): a
# divergence in a protected measurement (under load the emulated links
# drop packets, and a request the secondary missed is a divergence) is
# checkpointed as it would be in production, instead of failing the
# instance open 10 s later and passing traffic uncompared. Each result
# carries the checkpoint requests its measurement raised.
helper_start()
{
	[ -n "${HELPER_PID:-}" ] && return 0
	ip netns exec "$NS_PHOST" "$COLOCTL" monitor --exec true \
		>"$COLO_TMP/helper.out" 2>&1 &
	HELPER_PID=$!
	COLO_PIDS="$COLO_PIDS $HELPER_PID"
}

helper_stop()
{
	[ -n "${HELPER_PID:-}" ] || return 0
	kill "$HELPER_PID" 2>/dev/null
	wait "$HELPER_PID" 2>/dev/null
	HELPER_PID=
}

# ----------------------------------------------------------- phases ----

# guest_cpu_ms: how long the guest's CPUs have been busy, all together
# (user, nice, system, irq, softirq; /proc/stat counts in USER_HZ, 100)
guest_cpu_ms()
{
	awk '$1 == "cpu" { print ($2 + $3 + $4 + $7 + $8) * 10 }' /proc/stat
}

# tcp_snmp NS FIELD: a counter of NS's TCP (its /proc/net/snmp): OutSegs,
# the segments it sent; RetransSegs, those it sent again
tcp_snmp()
{
	# shellcheck disable=SC2016 # an awk program: its $1, $i, $c are awk's
	ip netns exec "$1" awk -v f="$2" '$1 == "Tcp:" && !h { for (i = 1; i <= NF; i++) if ($i == f) c = i; h = 1; next }
		$1 == "Tcp:" { print $c }' /proc/net/snmp
}

# What TCP did about loss, per guest: tail loss probes, retransmission
# timeouts (and those undone as spurious), fast retransmits, D-SACKs the
# sender received (its retransmission was not needed); and what the
# client's TCP dropped or queued out of order as a receiver
TCP_LOSS_FIELDS="TCPLossProbes TCPTimeouts TCPSpuriousRTOs TCPFastRetrans TCPDSACKRecv TCPSackRecovery"
TCP_RCV_FIELDS="TCPRcvQDrop TCPBacklogDrop TCPOFODrop TCPRcvPruned TCPOFOQueue TCPZeroWindowDrop"

# tcp_ext NS FIELDS: those TcpExt counters of NS (its /proc/net/netstat),
# one line of numbers in FIELDS's order
tcp_ext()
{
	# shellcheck disable=SC2016 # an awk program: its $1, $i, $col are awk's
	ip netns exec "$1" awk -v want="$2" '
		$1 == "TcpExt:" && !h { for (i = 2; i <= NF; i++) col[$i] = i; h = 1; next }
		$1 == "TcpExt:" { n = split(want, w, " "); out = "";
			for (k = 1; k <= n; k++) out = out (k > 1 ? " " : "") ((w[k] in col) ? $col[w[k]] : 0);
			print out }' /proc/net/netstat
}

# delta_json FIELDS BEFORE AFTER: {"field": after - before, ...}
delta_json()
{
	local -a f b a
	local i out=
	read -r -a f <<<"$1"
	read -r -a b <<<"$2"
	read -r -a a <<<"$3"
	for i in "${!f[@]}"; do
		out="$out${out:+, }\"${f[$i]}\": $((a[i] - b[i]))"
	done
	echo "{$out}"
}

# link_drops: the packets every interface of the bench's namespaces
# counted as dropped, received or sent (ip -s link), all together
link_drops()
{
	local ns
	for ns in "$NS_CLIENT" "$NS_PHOST" "$NS_SHOST" "$NS_PGUEST" "$NS_SGUEST"; do
		ip -n "$ns" -s link show
	done | awk '/^ *[RT]X:/ { for (i = 1; i <= NF; i++) if ($i == "dropped") c = i - 1; grab = 1; next }
		grab { n += $c; grab = 0 } END { print n + 0 }'
}

# softnet_drops: packets the guest's CPUs dropped because their backlog
# (net.core.netdev_max_backlog) was full, all namespaces together (the
# second column of /proc/net/softnet_stat, hexadecimal, one line per CPU)
softnet_drops()
{
	local n=0 line
	while read -r _ line _; do
		n=$((n + 16#$line))
	done </proc/net/softnet_stat
	echo $n
}

# secondary_reset: after a plain measurement, close the secondary guest's
# connections to the TCP server. It cannot finish them (the client acked
# the primary's bytes, ahead of its own) and would retransmit into the
# next measurements; in a deployment the checkpoint that follows such a
# divergence makes the secondary a copy of the primary.
secondary_reset()
{
	ip netns exec "$NS_SGUEST" ss -K -tn state established "( sport = :$TCP_PORT )" >/dev/null 2>&1
	ip netns exec "$NS_SGUEST" ss -K -tn state close-wait "( sport = :$TCP_PORT )" >/dev/null 2>&1
	return 0
}

# sender_report GUEST PORT WAIT_MS: the line a guest's TCP server printed
# after the download to client port PORT (colo_load's tcp_sender_report:
# what limited it), or null; GUEST is pg or sg
sender_report()
{
	local log=$COLO_TMP/$1_tcp.out pat="\"peer_port\": $2,"
	busywait "$3" grep -q "$pat" "$log" 2>/dev/null
	grep -h "$pat" "$log" 2>/dev/null | tail -n 1 | grep '^{' || echo null
}

# measure NAME MODE REP CMD...: run a client command, emit its JSON result
# with the guest's CPU time and the segments each guest sent meanwhile
# (in the plain mode the secondary guest's stream stops after its first
# window: the client acks the primary's bytes, which are ahead of its own)
measure()
{
	local name=$1 mode=$2 rep=$3 out rc=0 cpu pseg sseg pre sre drops ploss sloss crcv ldrops
	local senders port
	shift 3
	case " $BENCH_TESTS " in *" $name "*) ;; *) return 0 ;; esac
	set_mode "$mode"
	CLEAN_JSON="\"checkpoint_requests\": 0, \"passed\": 0"
	[ "$mode" = protected ] && protected_begin
	cpu=$(guest_cpu_ms)
	pseg=$(tcp_snmp "$NS_PGUEST" OutSegs)
	sseg=$(tcp_snmp "$NS_SGUEST" OutSegs)
	pre=$(tcp_snmp "$NS_PGUEST" RetransSegs)
	sre=$(tcp_snmp "$NS_SGUEST" RetransSegs)
	drops=$(softnet_drops)
	ploss=$(tcp_ext "$NS_PGUEST" "$TCP_LOSS_FIELDS")
	sloss=$(tcp_ext "$NS_SGUEST" "$TCP_LOSS_FIELDS")
	crcv=$(tcp_ext "$NS_CLIENT" "$TCP_RCV_FIELDS")
	ldrops=$(link_drops)
	out=$("$@" 2>&1) || rc=$?
	drops=$(($(softnet_drops) - drops))
	ldrops=$(($(link_drops) - ldrops))
	ploss=$(delta_json "$TCP_LOSS_FIELDS" "$ploss" "$(tcp_ext "$NS_PGUEST" "$TCP_LOSS_FIELDS")")
	sloss=$(delta_json "$TCP_LOSS_FIELDS" "$sloss" "$(tcp_ext "$NS_SGUEST" "$TCP_LOSS_FIELDS")")
	crcv=$(delta_json "$TCP_RCV_FIELDS" "$crcv" "$(tcp_ext "$NS_CLIENT" "$TCP_RCV_FIELDS")")
	cpu=$(($(guest_cpu_ms) - cpu))
	pseg=$(($(tcp_snmp "$NS_PGUEST" OutSegs) - pseg))
	sseg=$(($(tcp_snmp "$NS_SGUEST" OutSegs) - sseg))
	pre=$(($(tcp_snmp "$NS_PGUEST" RetransSegs) - pre))
	sre=$(($(tcp_snmp "$NS_SGUEST" RetransSegs) - sre))
	[ "$mode" = protected ] && protected_end
	[ "$mode" = plain ] && secondary_reset
	out=$(printf '%s\n' "$out" | grep '^{' | tail -n 1)
	[ -n "$out" ] || out='{}'
	senders=
	port=$(printf '%s\n' "$out" | sed -n 's/.*"port": \([0-9][0-9]*\).*/\1/p')
	if [ -n "$port" ] && [ "$name" = tcp-down ]; then
		# the secondary's stream of a plain download never ends (above)
		senders="\"sender\": {\"primary\": $(sender_report pg "$port" 5000),"
		senders="$senders \"secondary\": $(sender_report sg "$port" \
			"$([ "$mode" = protected ] && echo 5000 || echo 0)")},"
	fi
	emit "{\"phase\": \"$PHASE\", \"test\": \"$name\", \"mode\": \"$mode\", \"rep\": $rep," \
		"\"rc\": $rc, $CLEAN_JSON, \"guest_cpu_ms\": $cpu," \
		"\"tcp_out_segs\": {\"primary\": $pseg, \"secondary\": $sseg}," \
		"\"tcp_retrans_segs\": {\"primary\": $pre, \"secondary\": $sre}," \
		"\"tcp_loss\": {\"primary\": $ploss, \"secondary\": $sloss}," \
		"\"client_tcp\": $crcv, \"softnet_drops\": $drops, \"link_drops\": $ldrops," \
		"$senders \"result\": $out}"
}

phase_throughput()
{
	PHASE=throughput
	local rep mode
	for rep in $(seq 1 "$BENCH_REPS"); do
		for mode in $(modes_of "$rep"); do
			measure tcp-down "$mode" "$rep" on_client "$LOAD" tcp-get --host $PG4 \
				--port $TCP_PORT --bytes "$BENCH_TCP_BYTES" --dir down --timeout 300
			measure tcp-up "$mode" "$rep" on_client "$LOAD" tcp-get --host $PG4 \
				--port $TCP_PORT --bytes "$BENCH_TCP_BYTES" --dir up --timeout 300
			measure udp-64 "$mode" "$rep" on_client "$LOAD" udp-get --host $PG4 \
				--port $UDP_PORT --size 64 --count "$BENCH_UDP_COUNT" \
				--window "$BENCH_UDP_WINDOW" --resend-ms 1000 --timeout 300
			measure udp-1400 "$mode" "$rep" on_client "$LOAD" udp-get --host $PG4 \
				--port $UDP_PORT --size 1400 --count "$BENCH_UDP_COUNT" \
				--window "$BENCH_UDP_WINDOW" --resend-ms 1000 --timeout 300
		done
		note "throughput repetition $rep of $BENCH_REPS done"
	done
}

# Not in the default phases: protected TCP downloads before and after one
# checkpoint of the primary host (the helper's, without a divergence), to
# tell whether a checkpoint alone changes what later connections cost.
phase_after_checkpoint()
{
	PHASE=after_checkpoint
	local rep
	for rep in 1 2; do
		measure tcp-down-before protected "$rep" on_client "$LOAD" tcp-get --host $PG4 \
			--port $TCP_PORT --bytes "$BENCH_TCP_BYTES" --dir down --timeout 300
	done
	colo_checkpoint || die "checkpoint"
	for rep in 1 2; do
		measure tcp-down-after protected "$rep" on_client "$LOAD" tcp-get --host $PG4 \
			--port $TCP_PORT --bytes "$BENCH_TCP_BYTES" --dir down --timeout 300
	done
}

# Not in the default phases: where the guest's CPU time goes, in each test
# of BENCH_PROFILE_TESTS, BENCH_PROFILE_REPS times: a TCP download
# (tcp-down), protected and plain (the modes alternating), and the frame
# pairs of the pairs phase (pairs-SIZE), protected, plain and through
# QEMU's colo-compare. `perf record -a -e cpu-clock` of the whole guest at
# BENCH_PROFILE_HZ, summed up by bench/profile.py (xt_COLO's own share,
# idle, lock spinning, the top symbols, the samples per symbol for the
# host's per-pair comparison). perf is Debian's linux-perf.
phase_profile()
{
	PHASE=profile
	local rep test mode size
	command -v perf >/dev/null || die "perf not found (Debian package linux-perf)"
	for rep in $(seq 1 "$BENCH_PROFILE_REPS"); do
		for test in $BENCH_PROFILE_TESTS; do
			case $test in
			tcp-down)
				for mode in $(modes_of "$rep"); do
					set_mode "$mode"
					profile_one "$test" "$mode" "$rep" tcp_down_feed
					[ "$mode" = plain ] && secondary_reset
				done
				;;
			pairs-*)
				size=${test#pairs-}
				if command -v "$QEMU" >/dev/null && qemu_start; then
					profile_one "$test" qemu "$rep" qemu_feed "$size"
					qemu_stop
				fi
				for mode in $(modes_of "$rep"); do
					set_mode "$mode"
					profile_one "$test" "$mode" "$rep" kernel_feed "$size"
				done
				;;
			*) die "BENCH_PROFILE_TESTS: no profile for '$test' (tcp-down, pairs-SIZE)" ;;
			esac
		done
	done
}

# tcp_down_feed [CMD...]: one download of BENCH_TCP_BYTES by the client
# (run by CMD if given, as the pairs' feeds are)
tcp_down_feed()
{
	"$@" ip netns exec "$NS_CLIENT" "$LOAD" tcp-get --host $PG4 --port $TCP_PORT \
		--bytes "$BENCH_TCP_BYTES" --dir down --timeout 300
}

# profile_one TEST MODE REP FEED ARGS...: FEED ARGS run under perf record
# (FEED runs the command it is given after its own arguments), one
# "profile" result: what the feed printed last (its JSON) and the profile
profile_one()
{
	local test=$1 mode=$2 rep=$3 data out rc=0
	shift 3
	data=$COLO_TMP/perf.$test.$mode.$rep
	out=$("$@" perf record -q -a -e cpu-clock -F "$BENCH_PROFILE_HZ" -o "$data" -- \
		2>/dev/null) || rc=$?
	out=$(printf '%s\n' "$out" | grep '^{' | tail -n 1)
	perf report -i "$data" --stdio --no-children -n --sort sym >"$data.txt" 2>/dev/null
	emit "{\"phase\": \"profile\", \"test\": \"$test\", \"mode\": \"$mode\"," \
		"\"rep\": $rep, \"rc\": $rc, \"hz\": $BENCH_PROFILE_HZ, \"run\": ${out:-null}," \
		"\"result\": $("$BENCH_DIR/profile.py" "$data.txt" /proc/kallsyms || echo '{}')}"
	rm -f "$data" "$data.txt"
}

# ---------------------------------------------------------- scaling ----

# slab_json CACHE: a slab cache of /sys/kernel/slab (SLUB) as JSON: objects
# in use, slabs, the bytes an object takes in its slab (slab_size) and its
# own (object_size), the slab order; "merged" names the cache it shares
# when SLUB merged it with another (its figures are then the sum of both)
slab_json()
{
	local d=/sys/kernel/slab/$1 link=null f v out=
	[ -d "$d" ] || { echo null; return; }
	[ -L "$d" ] && link="\"$(basename "$(readlink "$d")")\""
	for f in objects slabs slab_size object_size order objs_per_slab aliases; do
		v=$(cut -d' ' -f1 "$d/$f" 2>/dev/null)
		out="$out\"$f\": ${v:-null}, "
	done
	echo "{$out\"merged\": $link}"
}

# mem_json: the module's caches and the guest's slab and free memory
mem_json()
{
	echo "{\"colo_flow\": $(slab_json colo_flow), \"colo_held\": $(slab_json colo_held)," \
		"$(awk '/^Slab:/ { s = $2 } /^MemAvailable:/ { a = $2 } /^VmallocUsed:/ { v = $2 }
			END { printf "\"slab_kb\": %d, \"mem_avail_kb\": %d, \"vmalloc_kb\": %d", s, a, v }' /proc/meminfo)}"
}

# machine_idle_cs: the idle and iowait time of all CPUs (/proc/stat, in
# USER_HZ, 100: the kernel's precise idle accounting, unlike the busy
# fields, which are sampled at the tick)
machine_idle_cs()
{
	awk '$1 == "cpu" { print $5 + $6 }' /proc/stat
}

# trace_on [FUNCTION...]: the function_graph tracer on FUNCTIONs only (by
# default the module's periodic work, colo_gc_work and colo_scan_work);
# fails when tracefs or the functions are not there. A call's time is its
# wall time, interrupts included; with the tracer's sleep-time option off
# (TRACE_SLEEP_OUT=1, where the kernel has it: Debian 12's 6.1 does) the
# time it was scheduled out in cond_resched() is left out
TRACE_SLEEP_OUT=0
trace_on()
{
	local f
	[ -w "$TRACE/set_ftrace_filter" ] || return 1
	echo 0 >"$TRACE/tracing_on"
	echo nop >"$TRACE/current_tracer"
	: >"$TRACE/set_ftrace_filter"
	[ $# -gt 0 ] || set -- colo_gc_work colo_scan_work
	for f in "$@"; do
		echo "$f" >>"$TRACE/set_ftrace_filter" 2>/dev/null || return 1
	done
	[ -w "$TRACE/options/sleep-time" ] && echo 0 >"$TRACE/options/sleep-time" &&
		TRACE_SLEEP_OUT=1
	echo 1 >"$TRACE/options/funcgraph-tail" 2>/dev/null
	echo function_graph >"$TRACE/current_tracer" || return 1
	: >"$TRACE/trace"
	echo 1 >"$TRACE/tracing_on"
}

trace_off()
{
	[ -w "$TRACE/tracing_on" ] || return 0
	echo 0 >"$TRACE/tracing_on"
	echo nop >"$TRACE/current_tracer"
	: >"$TRACE/set_ftrace_filter"
}

# trace_take [FUNCTION...]: the traced calls since the last take, as JSON
# (ftrace_sum.py; FUNCTIONs as given to trace_on)
trace_take()
{
	[ "$TRACING" = 1 ] || { echo null; return; }
	cp "$TRACE/trace" "$COLO_TMP/trace.txt"
	: >"$TRACE/trace"
	"$BENCH_DIR/ftrace_sum.py" "$COLO_TMP/trace.txt" "$@" || echo null
}

# scaling_pairs OUT ARGS...: colo_pairs kernel, 64-byte pairs, into OUT
# (its JSON line, or {}); returns its status
scaling_pairs()
{
	local out=$1 rc=0
	shift
	"$PAIRS" kernel --pri-ns "$NS_PGUEST" --pri-dev eth0 --sec-ns "$NS_SHOST" \
		--sec-dev cable --out-ns "$NS_CLIENT" --out-port 6000 --size 64 \
		--timeout 600 "$@" >"$out.raw" 2>&1 || rc=$?
	grep '^{' "$out.raw" | tail -n 1 >"$out"
	[ -s "$out" ] || echo '{}' >"$out"
	return $rc
}

# scaling_reset ARGS...: a fresh primary instance (no flows) with ARGS,
# once the last one's flows have gone back to the slab (RCU), within 20 s
SLAB_FLOWS0=0
scaling_reset()
{
	colo_reset_primary_instance "$@" || die "instance for the scaling phase: $*"
	busywait 20000 _flow_objects_le $((SLAB_FLOWS0 + 256)) ||
		note "colo_flow still holds $(cut -d' ' -f1 /sys/kernel/slab/colo_flow/objects) objects"
}

_flow_objects_le()
{
	[ "$(cut -d' ' -f1 /sys/kernel/slab/colo_flow/objects 2>/dev/null || echo 0)" -le "$1" ]
}

# scaling_flows N REP: N flows made live, then idle, then a measured stream
scaling_flows()
{
	local n=$1 rep=$2 rc=0 prc=0 mem0 mem1 flows busy idle0 t0 wall gc stream held tick
	scaling_reset max-flows $((n + n / 4 + 1024))
	mem0=$(mem_json)
	protected_begin
	# every flow one pair, a window at a time
	scaling_pairs "$COLO_TMP/prime.json" --flows "$n" --count "$n" --warmup 0 \
		--window "$BENCH_SCALING_PRIME_WINDOW" || prc=$?
	busywait 30000 stat_is primary_held_packets -eq 0
	sleep 2 # by design: every flow idle past the GC's grace time (2 s)
	flows=$(colo_stat flows)
	held=$(colo_stat primary_held_packets)
	mem1=$(mem_json)
	# the N flows idle: what the GC and the timeout scan cost meanwhile
	trace_take >/dev/null
	idle0=$(machine_idle_cs)
	tick=$(guest_cpu_ms)
	t0=$(date +%s%N)
	sleep "$BENCH_SCALING_IDLE"
	wall=$((($(date +%s%N) - t0) / 1000000))
	busy=$((wall * $(nproc) - ($(machine_idle_cs) - idle0) * 10))
	tick=$(($(guest_cpu_ms) - tick))
	gc=$(trace_take)
	# the measured stream, spread over the N flows
	scaling_pairs "$COLO_TMP/stream.json" --flows "$n" --count "$BENCH_SCALING_PAIRS" \
		--window "$BENCH_PAIR_WINDOW" || rc=$?
	stream=$(trace_take)
	protected_end
	emit "{\"phase\": \"scaling\", \"test\": \"flows\", \"n\": $n, \"rep\": $rep, \"rc\": $rc," \
		"$CLEAN_JSON, \"prime_rc\": $prc, \"prime\": $(cat "$COLO_TMP/prime.json")," \
		"\"flows\": ${flows:-null}, \"held_after_prime\": ${held:-null}," \
		"\"mem_before\": $mem0, \"mem_after\": $mem1," \
		"\"idle\": {\"secs\": $BENCH_SCALING_IDLE, \"wall_ms\": $wall, \"busy_ms\": $busy, \"tick_busy_ms\": $tick," \
		"\"cpus\": $(nproc), \"trace\": $gc}, \"stream_trace\": $stream," \
		"\"flows_after\": $(colo_stat flows), \"result\": $(cat "$COLO_TMP/stream.json")}"
}

# scaling_depth D REP: the measured stream with D primary copies held per
# flow when the secondary's comes; the primary's held packets sampled 1 s in
scaling_depth()
{
	local d=$1 rep=$2 rc=0 pid held
	scaling_reset timeout 30000 max-queue 1024
	protected_begin
	scaling_pairs "$COLO_TMP/depth.json" --flows "$BENCH_SCALING_DEPTH_FLOWS" --depth "$d" \
		--count "$BENCH_SCALING_PAIRS" --window "$BENCH_PAIR_WINDOW" &
	pid=$!
	sleep 1 # a sample while the stream runs
	held=$(colo_stat primary_held_packets)
	wait "$pid" || rc=$?
	protected_end
	emit "{\"phase\": \"scaling\", \"test\": \"depth\", \"depth\": $d," \
		"\"flows\": $BENCH_SCALING_DEPTH_FLOWS, \"rep\": $rep, \"rc\": $rc, $CLEAN_JSON," \
		"\"held_sample\": ${held:-null}, \"primary_dropped\": $(colo_stat primary_dropped)," \
		"\"result\": $(cat "$COLO_TMP/depth.json")}"
}

# sysctl_set NS KEY VALUE: set a sysctl (in NS, or the guest's own with
# "-"), remembering its value for sysctl_restore
SYSCTL_SAVED=()
sysctl_set()
{
	local old
	if [ "$1" = - ]; then
		old=$(sysctl -n "$2" 2>/dev/null) || return 1
		sysctl -qw "$2=$3" || return 1
	else
		old=$(ip netns exec "$1" sysctl -n "$2" 2>/dev/null) || return 1
		ip netns exec "$1" sysctl -qw "$2=$3" || return 1
	fi
	SYSCTL_SAVED+=("$1 $2 $old")
}

sysctl_restore()
{
	local e ns key old
	for e in "${SYSCTL_SAVED[@]}"; do
		read -r ns key old <<<"$e"
		if [ "$ns" = - ]; then
			sysctl -qw "$key=$old"
		else
			ip netns exec "$ns" sysctl -qw "$key=$old"
		fi
	done
	SYSCTL_SAVED=()
}

# Not in the default phases (above, and README "Performance"): per-packet
# cost, memory, GC and timeout-scan cost against the number of flows, and
# per-packet cost against the queue depth, on the real module
phase_scaling()
{
	PHASE=scaling
	local rep n d list
	set_mode protected
	modprobe -q nf_conntrack
	# room for the flows: conntrack's table (the guest's, global), the
	# backlog the prime's window fills, and conntrack entries that outlive
	# the biggest prime (unreplied UDP: 30 s by default, after which GC
	# would free the first flows before the measurement)
	sysctl_set - net.netfilter.nf_conntrack_max 1048576 || note "nf_conntrack_max not set"
	sysctl_set - net.netfilter.nf_conntrack_buckets 262144 || note "nf_conntrack_buckets not set"
	sysctl_set - net.core.netdev_max_backlog 10000 || note "netdev_max_backlog not set"
	sysctl_set "$NS_PHOST" net.netfilter.nf_conntrack_udp_timeout 600 ||
		die "nf_conntrack_udp_timeout on the primary host"
	sysctl_set "$NS_PHOST" net.netfilter.nf_conntrack_udp_timeout_stream 600 ||
		note "nf_conntrack_udp_timeout_stream not set"
	TRACING=0
	if trace_on; then
		TRACING=1
	else
		note "no function_graph on colo_gc_work/colo_scan_work: GC and scan time not traced"
		trace_off
	fi
	SLAB_FLOWS0=$(cut -d' ' -f1 /sys/kernel/slab/colo_flow/objects 2>/dev/null || echo 0)
	emit "{\"phase\": \"scaling\", \"setup\": {\"tracing\": $TRACING, \"sleep_excluded\": $TRACE_SLEEP_OUT," \
		"\"colo_flow_objects_at_start\": $SLAB_FLOWS0, \"flows\": \"$BENCH_SCALING_FLOWS\"," \
		"\"depths\": \"$BENCH_SCALING_DEPTHS\", \"pairs\": $BENCH_SCALING_PAIRS," \
		"\"window\": $BENCH_PAIR_WINDOW, \"idle_s\": $BENCH_SCALING_IDLE}}"
	for rep in $(seq 1 "$BENCH_SCALING_REPS"); do
		list=$BENCH_SCALING_FLOWS
		[ $((rep % 2)) -eq 0 ] && list=$(tr ' ' '\n' <<<"$list" | sort -rn)
		for n in $list; do
			scaling_flows "$n" "$rep"
			note "scaling: $n flows, repetition $rep done"
		done
		list=$BENCH_SCALING_DEPTHS
		[ $((rep % 2)) -eq 0 ] && list=$(tr ' ' '\n' <<<"$list" | sort -rn)
		for d in $list; do
			scaling_depth "$d" "$rep"
		done
		note "scaling: depths, repetition $rep done"
	done
	trace_off
	colo_reset_primary_instance || die "instance after the scaling phase"
	sysctl_restore
}

# qemu_start: QEMU's colo-compare in this guest (QEMU_PID), its three
# sockets in QEMU_DIR
qemu_start()
{
	QEMU_DIR=$(mktemp -d "$COLO_TMP/qemu.XXXXXX")
	"$QEMU" -M none -nodefaults -display none -monitor none \
		-object iothread,id=t \
		-chardev "socket,id=pri_in,path=$QEMU_DIR/pri,server=on,wait=off" \
		-chardev "socket,id=sec_in,path=$QEMU_DIR/sec,server=on,wait=off" \
		-chardev "socket,id=outdev,path=$QEMU_DIR/out,server=on,wait=off" \
		-object colo-compare,id=c,primary_in=pri_in,secondary_in=sec_in,outdev=outdev,iothread=t \
		>"$QEMU_DIR/qemu.log" 2>&1 &
	QEMU_PID=$!
	busywait 60000 test -S "$QEMU_DIR/out" ||
		{ note "QEMU did not start: $(cat "$QEMU_DIR/qemu.log")"; qemu_stop; return 1; }
}

qemu_stop()
{
	kill "$QEMU_PID" 2>/dev/null
	wait "$QEMU_PID" 2>/dev/null
	QEMU_PID=
}

# qemu_feed SIZE [CMD...]: colo_pairs feeding the started QEMU BENCH_PAIRS
# pairs (run by CMD, e.g. perf record ... --, if given)
qemu_feed()
{
	local size=$1
	shift
	"$@" "$PAIRS" qemu --pri "$QEMU_DIR/pri" --sec "$QEMU_DIR/sec" --out "$QEMU_DIR/out" \
		--qemu-pid "$QEMU_PID" --size "$size" --count "$BENCH_PAIRS" \
		--window "$BENCH_PAIR_WINDOW" --timeout 300
}

# kernel_feed SIZE [CMD...]: colo_pairs feeding the topology BENCH_PAIRS
# pairs (run by CMD if given)
kernel_feed()
{
	local size=$1
	shift
	"$@" "$PAIRS" kernel --pri-ns "$NS_PGUEST" --pri-dev eth0 \
		--sec-ns "$NS_SHOST" --sec-dev cable \
		--out-ns "$NS_CLIENT" --out-port 6000 --size "$size" \
		--count "$BENCH_PAIRS" --window "$BENCH_PAIR_WINDOW" --timeout 300
}

# qemu_pairs SIZE REP: QEMU's colo-compare in this guest, fed the pairs
qemu_pairs()
{
	local size=$1 rep=$2 out rc=0
	qemu_start || return 1
	out=$(qemu_feed "$size" 2>&1) || rc=$?
	qemu_stop
	out=$(printf '%s\n' "$out" | grep '^{' | tail -n 1)
	emit "{\"phase\": \"pairs\", \"test\": \"pairs-$size\", \"mode\": \"qemu\", \"rep\": $rep," \
		"\"rc\": $rc, \"result\": ${out:-{\}}}"
}

phase_pairs()
{
	PHASE=pairs
	local rep size mode qemu_ok=1
	if ! command -v "$QEMU" >/dev/null; then
		note "no $QEMU in the guest: QEMU's colo-compare is measured on the host only"
		qemu_ok=0
	else
		emit "{\"phase\": \"pairs\", \"qemu_version\": \"$("$QEMU" --version | head -n 1)\"}"
	fi
	for rep in $(seq 1 "$BENCH_REPS"); do
		for size in 64 1400; do
			[ $qemu_ok = 1 ] && qemu_pairs "$size" "$rep"
			for mode in $(modes_of "$rep"); do
				measure "pairs-$size" "$mode" "$rep" kernel_feed "$size"
			done
		done
		note "pairs repetition $rep of $BENCH_REPS done"
	done
}

# divergence-to-event: a secondary that answers request DIV_FROM + k with
# one byte changed. Two figures per event: the event's arrival at
# `coloctl monitor -j` (stamped with CLOCK_MONOTONIC as coloctl writes it)
# against the later of the two guests' send times of that answer (the
# secondary's way to the primary host included); and, split at the
# primary host by tcpdump, the later of the two answers in to the event
# read by coloctl (its -t time), beside the floor of that read: after
# each event the client sends a datagram to the primary host itself
# (FLOOR_PORT), and the time from its arrival to its read by a process
# there is what waking a process costs in this guest (bench/div_path.py)
phase_divergence()
{
	PHASE=latency
	local k ev pri sec seq line n fifo=$COLO_TMP/monitor.fifo out
	set_mode protected
	mkfifo "$fifo" || die "mkfifo"
	"$LOAD" stamp <"$fifo" >"$COLO_TMP/monitor.out" 2>&1 &
	COLO_PIDS="$COLO_PIDS $!"
	_bg "$NS_PHOST" divdump tcpdump -i any -n -tt -l udp port $DIV_PORT or udp port $FLOOR_PORT
	busywait 20000 grep -q "listening on" "$COLO_TMP/divdump.out" ||
		die "tcpdump did not start: $(cat "$COLO_TMP/divdump.out")"
	_bg "$NS_PHOST" floor "$LOAD" udp-recv --port $FLOOR_PORT --count "$BENCH_DIVERGENCES" \
		--stamp --timeout 3600
	busywait 20000 _listening "$NS_PHOST" u $FLOOR_PORT || die "floor receiver"
	ip netns exec "$NS_PHOST" "$COLOCTL" monitor -j -t >"$fifo" 2>"$COLO_TMP/monitor.err" &
	local monitor=$!
	COLO_PIDS="$COLO_PIDS $monitor"
	# subscribed once a checkpoint of a spare instance shows up
	colo_ctl "$NS_PHOST" instance add "$COLO_SYNC_ID" >/dev/null || die "sync instance"
	for _ in $(seq 1 20); do
		colo_ctl "$NS_PHOST" checkpoint "$COLO_SYNC_ID" >/dev/null
		busywait 1000 _events_of checkpoint 1 && break
	done
	_events_of checkpoint 1 || die "coloctl monitor: no event: $(cat "$COLO_TMP/monitor.err")"
	_bg "$NS_PGUEST" pg_div "$LOAD" udp-serve --port $DIV_PORT --mark-from $DIV_FROM
	_bg "$NS_SGUEST" sg_div "$LOAD" udp-serve --port $DIV_PORT --mark-from $DIV_FROM \
		--corrupt-from $DIV_FROM
	busywait 20000 _listening "$NS_PGUEST" u $DIV_PORT || die "divergence server (primary)"
	busywait 20000 _listening "$NS_SGUEST" u $DIV_PORT || die "divergence server (secondary)"
	for k in $(seq 1 "$BENCH_DIVERGENCES"); do
		seq=$((DIV_FROM + k))
		# no resend before the checkpoint: one answer pair, one event
		_bg "$NS_CLIENT" div_get "$LOAD" udp-get --host $PG4 --port $DIV_PORT --size 64 \
			--count 1 --first $seq --timeout 60 --resend-ms 30000
		busywait 30000 _events_of divergence "$k" ||
			{ note "no divergence event $k: $(cat "$COLO_TMP/monitor.out")"; break; }
		colo_checkpoint
		bg_wait div_get 30000
		on_client "$LOAD" udp-send --host $PHOST_CLI4 --port $FLOOR_PORT --size 64 --count 1 \
			>/dev/null || note "floor datagram $k not sent"
		busywait 10000 _recvs "$k" || note "floor datagram $k not read"
		line=$(grep -E '"event": *"divergence"' "$COLO_TMP/monitor.out" | sed -n "${k}p")
		ev=${line%% *}
		n=${line#* }
		pri=$(awk -v s=$seq '$1 == "sent" && $2 == s { print $3; exit }' "$COLO_TMP/pg_div.out")
		sec=$(awk -v s=$seq '$1 == "sent" && $2 == s { print $3; exit }' "$COLO_TMP/sg_div.out")
		emit "{\"phase\": \"latency\", \"test\": \"divergence-event\", \"mode\": \"protected\"," \
			"\"rep\": $k, \"rc\": 0, \"result\": {\"tool\": \"colo_load udp-serve --mark-from; coloctl monitor -j | colo_load stamp\"," \
			"\"event_ns\": ${ev:-0}, \"primary_sent_ns\": ${pri:-0}, \"secondary_sent_ns\": ${sec:-0}," \
			"\"event\": ${n:-null}}}"
	done
	kill "$monitor" 2>/dev/null
	bg_stop pg_div
	bg_stop sg_div
	bg_stop floor
	bg_stop divdump
	out=$("$BENCH_DIR/div_path.py" "$COLO_TMP/divdump.out" "$COLO_TMP/monitor.out" \
		"$COLO_TMP/floor.out" $DIV_PORT $FLOOR_PORT) || out='{}'
	emit "{\"phase\": \"latency\", \"test\": \"divergence-path\", \"mode\": \"protected\"," \
		"\"rep\": 1, \"rc\": 0, \"result\": $out}"
}

# _recvs N: the floor receiver read at least N datagrams
_recvs()
{
	[ "$(grep -c '^recv ' "$COLO_TMP/floor.out")" -ge "$1" ]
}

# _events_of NAME N: at least N events NAME seen by the monitor
_events_of()
{
	[ "$(grep -cE "\"event\": *\"$1\"" "$COLO_TMP/monitor.out" 2>/dev/null)" -ge "$2" ]
}

# checkpoint flush: BENCH_HELD datagrams of 1400 bytes from the primary
# guest held (the secondary guest sends nothing), then `coloctl checkpoint`: the time
# from the command's start to the client's last datagram, the packets the
# guest's backlogs dropped meanwhile (softnet_drops). Three flushes so, then
# two more under perf (where it is there): the NET_RX softirq's waits and
# runs during the release (bench/softirq.py), and the function_graph
# tracer's time of each colo_flow_release_some() call, the span one batch of
# releases runs with bottom halves off (bench/ftrace_sum.py). A release
# done inline shows as one long call and a full backlog's drops, a paced
# one as short calls. BENCH_PHASES=flush takes it alone.
phase_flush()
{
	PHASE=latency
	local rep held out t rc d0 data traced bhoff
	set_mode protected
	colo_reset_primary_instance timeout 120000 failopen 0 max-queue 65536 \
		max-bytes 268435456 || die "instance for the flush"
	for rep in $(seq 1 5); do
		traced=false
		[ "$rep" -gt 3 ] && command -v perf >/dev/null && traced=true
		_bg "$NS_CLIENT" sink "$LOAD" udp-recv --port $SINK_PORT --count "$BENCH_HELD" --timeout 60
		busywait 20000 grep -q listening "$COLO_TMP/sink.out" || die "sink did not start"
		on_pguest "$LOAD" udp-send --host $CL4 --port $SINK_PORT --size 1400 \
			--count "$BENCH_HELD" >"$COLO_TMP/send.out" 2>&1
		busywait 60000 stat_is primary_held_packets -ge "$BENCH_HELD"
		held=$(colo_stat primary_held_packets)
		data=$COLO_TMP/softirq.data
		if [ $traced = true ]; then
			softirq_record_start "$data"
			TRACING=0
			trace_on colo_flow_release_some && TRACING=1
		fi
		d0=$(softnet_drops)
		out=$(ip netns exec "$NS_PHOST" "$LOAD" timecmd "$COLOCTL" checkpoint "$COLO_ID" 2>&1 >/dev/null)
		# the sink's verdict (all held ones got?) is a figure here, its
		# result line the measurement: a release may lose packets
		bg_wait sink 120000 >/dev/null 2>&1
		d0=$(($(softnet_drops) - d0))
		SIRQ=null
		bhoff=null
		if [ $traced = true ]; then
			softirq_record_take "$data"
			bhoff=$(trace_take colo_flow_release_some)
			trace_off
		fi
		t=$(grep '^{"tool' "$COLO_TMP/sink.out" | tail -n 1)
		rc=0
		[ -n "$t" ] || rc=1
		emit "{\"phase\": \"latency\", \"test\": \"checkpoint-flush\", \"mode\": \"protected\"," \
			"\"rep\": $rep, \"rc\": $rc, \"held\": $held, \"traced\": $traced," \
			"\"checkpoint_cmd\": \"$out\", \"sender\": $(grep '^{' "$COLO_TMP/send.out" || echo null)," \
			"\"softnet_dropped\": $d0, \"softirq\": $SIRQ, \"release_calls\": $bhoff, \"result\": ${t:-null}}"
	done
	colo_reset_primary_instance || die "instance after the flush"
}

# softirq_record_start DATA: perf records the NET_RX softirq's raise,
# entry and exit on every CPU into DATA, in the background, from when it
# returns (perf writes DATA's header once its events are open)
softirq_record_start()
{
	local ev args=()
	rm -f "$1"
	for ev in raise entry exit; do
		args+=(-e "irq:softirq_$ev" --filter 'vec == 3')
	done
	_bg "$NS_PHOST" softirq perf record -q -a "${args[@]}" -o "$1"
	busywait 20000 test -s "$1" || note "perf record did not start: $(cat "$COLO_TMP/softirq.out")"
}

# softirq_record_take DATA: stop the recording; SIRQ its summary as JSON
# (null without one, and a note saying why)
softirq_record_take()
{
	SIRQ=null
	bg_stop softirq
	if [ ! -s "$1" ]; then
		note "perf record left no data: $(tail -n 3 "$COLO_TMP/softirq.out")"
	elif ! perf script -i "$1" -F cpu,time,event,trace --ns >"$1.txt" 2>"$1.err"; then
		note "perf script failed: $(tail -n 3 "$1.err")"
	elif ! SIRQ=$("$BENCH_DIR/softirq.py" "$1.txt" 2>&1); then
		note "softirq.py failed: $SIRQ"
		SIRQ=null
	fi
	rm -f "$1" "$1.txt" "$1.err"
}

phase_latency()
{
	PHASE=latency
	local rep mode
	for rep in $(seq 1 "$BENCH_REPS"); do
		for mode in $(modes_of "$rep"); do
			measure ping-64 "$mode" "$rep" on_client "$LOAD" udp-get --host $PG4 \
				--port $UDP_PORT --size 64 --count "$BENCH_PING" --window 1 \
				--rtt --first $((rep * 100000)) --resend-ms 1000 --timeout 300
		done
	done
	for rep in $(seq 1 "$BENCH_REPS"); do
		for mode in $(modes_of "$rep"); do
			ping_path "$mode" "$rep"
		done
	done
	helper_stop
	phase_divergence
	phase_flush
}

# ping_path MODE REP: a shorter ping-pong with tcpdump on the primary host;
# bench/ping_path.py splits each round trip at the host's interfaces, so
# the comparator's own delay (the later answer in to the release out)
# stands apart from the secondary's lag and the guests' scheduling, which
# dominate the round trip in an emulated guest on a loaded machine
ping_path()
{
	local mode=$1 rep=$2 cap=$COLO_TMP/path.$1.$2 out
	set_mode "$mode"
	_bg "$NS_PHOST" tcpdump tcpdump -i any -n -tt -l udp port $UDP_PORT
	busywait 20000 grep -q "listening on" "$COLO_TMP/tcpdump.out" ||
		{ note "tcpdump did not start: $(cat "$COLO_TMP/tcpdump.out")"; bg_stop tcpdump; return; }
	on_client "$LOAD" udp-get --host $PG4 --port $UDP_PORT --size 64 \
		--count "$BENCH_PATH_PING" --window 1 --first $((rep * 100000 + 50000)) \
		--resend-ms 1000 --timeout 300 >/dev/null 2>&1
	bg_stop tcpdump
	grep -v "listening on" "$COLO_TMP/tcpdump.out" >"$cap"
	out=$("$BENCH_DIR/ping_path.py" "$cap") || out='{}'
	emit "{\"phase\": \"latency\", \"test\": \"ping-path\", \"mode\": \"$mode\", \"rep\": $rep," \
		"\"rc\": 0, \"result\": $out}"
}

# ------------------------------------------------------------- main ----

colo_require
{ [ -x "$LOAD" ] && [ -x "$PAIRS" ]; } || die "bench tools not built (make -C bench)"
colo_topology_setup || die "topology"
colo_ctl "$NS_SHOST" instance add "$COLO_ID" >/dev/null || die "secondary instance"
colo_rules -A rewriter || die "rewriter rules"
colo_ctl "$NS_PHOST" instance add "$COLO_ID" >/dev/null || die "primary instance"
for ns in "$NS_PGUEST" "$NS_SGUEST"; do
	n=${ns:5:2}
	_bg "$ns" "${n}_tcp" "$LOAD" tcp-serve --port $TCP_PORT
	_bg "$ns" "${n}_udp" "$LOAD" udp-serve --port $UDP_PORT
	busywait 20000 _listening "$ns" t $TCP_PORT || die "TCP server in $ns"
	busywait 20000 _listening "$ns" u $UDP_PORT || die "UDP server in $ns"
done

# BENCH_CLIENT_RMEM: the client's largest TCP receive buffer (tcp_rmem's
# third field, per namespace), to see how much of a download's gap is its
# receive window: holding adds the secondary's lag to every round trip
if [ -n "${BENCH_CLIENT_RMEM:-}" ]; then
	ip netns exec "$NS_CLIENT" sysctl -qw net.ipv4.tcp_rmem="4096 131072 $BENCH_CLIENT_RMEM" ||
		die "client tcp_rmem"
fi
rmem=$(ip netns exec "$NS_CLIENT" sysctl -n net.ipv4.tcp_rmem | awk '{ print $3 }')

emit "{\"guest\": {\"kernel\": \"$(uname -r)\", \"cpus\": $(nproc)," \
	"\"cpu_model\": \"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)\"," \
	"\"reps\": $BENCH_REPS, \"tcp_bytes\": $BENCH_TCP_BYTES, \"udp_count\": $BENCH_UDP_COUNT," \
	"\"udp_window\": $BENCH_UDP_WINDOW, \"pairs\": $BENCH_PAIRS, \"pair_window\": $BENCH_PAIR_WINDOW," \
	"\"ping\": $BENCH_PING, \"held\": $BENCH_HELD, \"client_rmem_max\": $rmem," \
	"\"cmdline\": \"$(tr -d '\042\134' </proc/cmdline)\"}}"

helper_start
for p in $BENCH_PHASES; do
	start=$(date +%s)
	note "phase $p"
	"phase_$p"
	note "phase $p took $(($(date +%s) - start)) s"
done
helper_stop
set_mode protected
emit "{\"final_stats\": $(stats_json || echo null)}"
colo_show "$NS_SHOST" "$COLO_ID" &&
	emit "{\"final_stats_secondary_host\": $(tr -d '\n' <"$COLO_TMP/show.json")}"
emit '{"done": true}'
