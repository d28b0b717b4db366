# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# Shared by the make check-stress tests (selftests/stress/*.sh): the
# selftests' two-host topology (../../lib/topology.sh, which brings
# ../../lib.sh), the C tools of this directory, and counters read in one
# go: the primary host's IP and conntrack counters, an instance's stats as
# shell variables, memory figures, and an nft "sink" that counts and drops
# whatever the primary host would route on after the COLO rule.
#
# Scale: STRESS_SEED (the PRNG seed, printed; random by default),
# STRESS_FRAMES, STRESS_NL_REQUESTS, STRESS_FLOWS, STRESS_CHURN_SECS... (each
# test says which it reads); selftests/qemu/run passes STRESS_* into the
# guest.

STRESS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../../lib/topology.sh
source "$STRESS_DIR/../lib/topology.sh"

FRAMES=$STRESS_DIR/colo_frames
NLFUZZ=$STRESS_DIR/colo_nlfuzz
: "${STRESS_SEED:=$(( ($(date +%s%N) / 1000) % 4294967296 ))}"

# stress_require: what colo_require checks, the tools, and room in the
# guest's global tables for many flows
stress_require()
{
	colo_require
	require_cmd jq nft
	{ [ -x "$FRAMES" ] && [ -x "$NLFUZZ" ]; } ||
		skip "the C tools are not built (make -C selftests/stress, done by make check-stress)"
	sysctl -qw net.core.netdev_max_backlog=100000 >/dev/null
	modprobe -q nf_conntrack
	sysctl -qw net.netfilter.nf_conntrack_max=1048576 >/dev/null 2>&1
	sysctl -qw net.netfilter.nf_conntrack_buckets=262144 >/dev/null 2>&1
	return 0
}

# kv_load PREFIX "k=v k=v...": set PREFIX_k=v for each pair
kv_load()
{
	local pfx=$1 kv
	shift
	# shellcheck disable=SC2048 # split the "k=v k=v..." argument into pairs
	for kv in $*; do
		case $kv in
		*=*) printf -v "${pfx}_${kv%%=*}" '%s' "${kv#*=}" ;;
		esac
	done
}

# stats_kv [NS] [ID]: every counter, setting and the state of an instance
# as "k=v ..." (one coloctl call: a consistent snapshot)
stats_kv()
{
	ip netns exec "${1:-$NS_PHOST}" "$COLOCTL" instance show "${2:-$COLO_ID}" -j 2>&1 |
		jq -r '(.stats | to_entries[] | "\(.key)=\(.value)"),
			"state=\(.state)", "pending=\(.pending)", "max_bytes=\(.max_bytes)",
			"max_queue=\(.max_queue)", "max_flows=\(.max_flows // "none")"' 2>/dev/null |
		tr '\n' ' '
}

# load_stats PREFIX [NS] [ID]: stats_kv into PREFIX_* variables
load_stats()
{
	local s
	s=$(stats_kv "${2:-$NS_PHOST}" "${3:-$COLO_ID}")
	[ -n "$s" ] || return 1
	kv_load "$1" "$s"
}

# host_counters NS: IPv4/IPv6 input counters, conntrack drops, rx packets
# of every device of a namespace, as "k=v ..."
host_counters()
{
	# shellcheck disable=SC2016 # the script is the inner bash's to expand
	ip netns exec "$1" bash -c '
		awk "/^Ip: [0-9]/ { split(hdr, h); for (i = 2; i <= NF; i++) printf \"v4_%s=%s \", h[i], \$i }
		     /^Ip: [A-Z]/ { hdr = \$0 }" /proc/net/snmp
		awk "/^IpExt: [0-9]/ { split(hdr, h); for (i = 2; i <= NF; i++) printf \"v4_%s=%s \", h[i], \$i }
		     /^IpExt: [A-Z]/ { hdr = \$0 }" /proc/net/netstat
		awk "/^Ip6(InReceives|InHdrErrors|InTruncatedPkts|InDiscards|ReasmReqds|ReasmOKs|ReasmFails|InNoRoutes|InAddrErrors) / { printf \"v6_%s=%s \", substr(\$1, 4), \$2 }" /proc/net/snmp6
		if [ -r /proc/net/stat/nf_conntrack ]; then
			# hex columns, one line per CPU (mawk has no strtonum)
			{ read -r hdr; d=0; inv=0; ef=0
			  set -- $hdr; i=0; for c; do i=$((i + 1)); eval "col_$c=$i"; done
			  while read -r line; do
				set -- $line
				eval "d=\$((d + 16#\${$col_drop}))"
				eval "inv=\$((inv + 16#\${$col_invalid}))"
				eval "ef=\$((ef + 16#\${$col_insert_failed}))"
			  done
			  printf "ct_drop=%d ct_invalid=%d ct_insert_failed=%d " $d $inv $ef
			} </proc/net/stat/nf_conntrack
		fi
		for d in /sys/class/net/*; do
			n=${d##*/}
			printf "rx_%s=%s tx_%s=%s txdrop_%s=%s " "$n" "$(cat $d/statistics/rx_packets)" \
				"$n" "$(cat $d/statistics/tx_packets)" "$n" "$(cat $d/statistics/tx_dropped)"
		done'
}

# softnet_dropped: frames the backlog queues dropped, all CPUs
softnet_dropped()
{
	local a b rest n=0
	while read -r a b rest; do
		n=$((n + 16#$b))
	done </proc/net/softnet_stat
	echo $n
}

# mem_kv: memory figures: MemAvailable, Slab, SUnreclaim (kB), bytes in
# all kmalloc caches (kmalloc-cg-* too: socket buffers are charged to a
# cgroup) and skbuff_head_cache objects, after a shrink of those caches
mem_kv()
{
	local c
	for c in /sys/kernel/slab/kmalloc-* /sys/kernel/slab/skbuff_head_cache; do
		[ -w "$c/shrink" ] && echo 1 >"$c/shrink" 2>/dev/null
	done
	awk '/^MemAvailable:/ { printf "mem_avail_kb=%d ", $2 }
	     /^Slab:/ { printf "slab_kb=%d ", $2 }
	     /^SUnreclaim:/ { printf "sunreclaim_kb=%d ", $2 }' /proc/meminfo
	awk '$1 ~ /^kmalloc-/ { k += $3 * $4 }
	     $1 == "skbuff_head_cache" { s = $2 }
	     END { printf "kmalloc_bytes=%d skb_objs=%d\n", k, s }' /proc/slabinfo
}

# slab_snap FILE: bytes per slab cache; slab_top FILE: the five caches
# that grew most since, as "name +KiB ..."
slab_snap()
{
	awk 'NR > 2 { print $1, $3 * $4 }' /proc/slabinfo >"$1"
}

slab_top()
{
	awk 'NR == FNR { b[$1] = $2; next } NR > FNR && FNR > 2 { d = $3 * $4 - b[$1]; if (d > 0) print d, $1 }' \
		"$1" /proc/slabinfo | sort -rn | head -n 5 |
		awk '{ printf "%s +%d KiB, ", $2, $1 / 1024 }'
}

# sink_on / sink_off / sink_count: an inet table on the primary host whose
# prerouting chain, after mangle (-150) and so after the COLO rule, counts
# and drops every packet from the primary guest's device: released and
# passed primary packets end there, and the host never answers the fuzz.
sink_on()
{
	on_phost nft -f - <<-EOF
	table inet colo_sink {
		counter sink { }
		chain pre {
			type filter hook prerouting priority -140; policy accept;
			iifname "ptap" counter name sink drop
		}
	}
	EOF
}

sink_off()
{
	on_phost nft delete table inet colo_sink 2>/dev/null
}

sink_count()
{
	on_phost nft list counter inet colo_sink sink 2>/dev/null |
		sed -n 's/.*packets \([0-9]*\).*/\1/p'
}

# blackhole_peers: the peers of the fuzz and flow senders go nowhere
# (198.51.100.0/24, 198.18.0.0/15, 2001:db8:1::/64), silently
blackhole_peers()
{
	on_phost ip route add blackhole 198.51.100.0/24 &&
	on_phost ip route add blackhole 198.18.0.0/15 &&
	on_phost ip -6 route add blackhole 2001:db8:1::/64
}

# frames NS DEV ARGS...: colo_frames ARGS on a device of a namespace, the
# guest's MAC to the gateway's
frames()
{
	local ns=$1 dev=$2 mode=$3
	shift 3
	ip netns exec "$ns" "$FRAMES" "$mode" --dev "$dev" --smac "$GUESTMAC" --dmac "$GWMAC" "$@"
}

# the instance's held gauges are 0 on the primary host
_nothing_held()
{
	local s
	s=$(stats_kv)
	case " $s " in
	*" primary_held_packets=0 "*" secondary_held_packets=0 "*) return 0 ;;
	esac
	echo "$s"
	return 1
}

# accounting_check DESC [NS]: held + released - partial copies + passed +
# dropped + duplicates = primary packets seen, and held + dropped =
# secondary packets seen
# shellcheck disable=SC2154 # A_*: set by load_stats (printf -v)
accounting_check()
{
	local a
	load_stats A "${2:-$NS_PHOST}" || { ktap_test_fail "$1: instance readable"; return 1; }
	a=$((A_primary_held_packets + A_released - A_released_partial + A_passed + A_primary_dropped + A_primary_duplicates))
	expect_eq "$1: primary: held + released - partial + passed + dropped + duplicates = packets seen" \
		"$A_primary_packets" "$a" ||
		log "held=$A_primary_held_packets released=$A_released partial=$A_released_partial passed=$A_passed dropped=$A_primary_dropped duplicates=$A_primary_duplicates"
	expect_eq "$1: secondary: held + dropped = packets seen" "$A_secondary_packets" \
		"$((A_secondary_held_packets + A_secondary_dropped))"
}

# max_flows_supported: `coloctl instance add ID max-flows N` is known to
# this tree (coloctl and kernel)
max_flows_supported()
{
	local ns out rc=0
	ns=colo-mf-$(mktemp -u XXXXXX)
	ip netns add "$ns" || return 1
	out=$(ip netns exec "$ns" "$COLOCTL" instance add 1 max-flows 1000 2>&1) || rc=$?
	ip netns del "$ns"
	[ $rc -eq 0 ] || { log "max-flows not supported here: coloctl said: $out"; return 1; }
}

# stress_noise TAG: kmsg_noise (lib/topology.sh) without the lines that
# bad input is expected to cause: the kernel's rate-limited netlink parser
# notices, and the module's note on a checkpoint window that no end closed
# (the fuzz sends begin without end), and the one on failing open
stress_noise()
{
	kmsg_noise "$1" |
	grep -vE 'bytes leftover after parsing attributes|has an invalid length|no checkpoint end within [0-9]+ ms of its begin|no checkpoint within [0-9]+ ms, passing traffic uncompared|flow table full \(max-flows [0-9]+\): new flows refused|colo_flow_find: [0-9]+ callbacks suppressed'
}
