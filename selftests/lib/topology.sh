# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# Two-host COLO topology in network namespaces, shared by the comparator
# selftests (selftests/colo_*.sh) and the demo (demo/demo.sh).  Source it,
# call colo_topology_setup, and `trap colo_topology_cleanup EXIT`.
#
#                    primary host ($NS_PHOST, a router)
#   client           +---------------------------------------------+
#   ($NS_CLIENT)     |  cli 10.0.1.1       ptap 10.0.0.1 (GWMAC)   |   primary guest
#   eth0 ------------+- fd00:1::1          fd00::1  ---------------+-- eth0 ($NS_PGUEST)
#   10.0.1.2         |                     tc egress: mirror        |   10.0.0.2 fd00::2
#   fd00:1::2        |                     to cable                 |   GUESTMAC
#                    |  mangle PREROUTING -i ptap    COLO --primary |
#                    |  raw    PREROUTING -i cable   COLO --secondary
#                    |  cable (GWMAC, no address) ---+              |
#                    +-------------------------------|--------------+
#                                                    |
#                    secondary host ($NS_SHOST)      |
#                    +-------------------------------|--------------+
#                    |  br0 = cable + stap (br_netfilter)           |   secondary guest
#                    |  mangle PREROUTING physdev-in stap  --rewrite|-- eth0 ($NS_SGUEST)
#                    |  mangle PREROUTING physdev-in cable          |   same addresses
#                    |                          --rewrite-client    |   and same MAC
#                    +----------------------------------------------+
#
# Everything the primary host sends to the primary guest (the client's
# traffic) is mirrored down the cable; the secondary guest's answers come back
# up the cable addressed to GWMAC, so they arrive as host traffic and meet the
# --secondary rule in raw PREROUTING, which consumes them.  ARP arriving on the
# cable is dropped by an nft netdev ingress chain; IPv6 ND/MLD is left to the
# module (passed uncompared on the primary side, dropped on the secondary).
#
# With COLO_BRIDGED_PRIMARY=1 the primary host puts ptap into a bridge "brp"
# (GWMAC, the gateway addresses) with br_netfilter, and the primary rule is
# `-m physdev --physdev-in ptap`.
#
# With COLO_GUEST_DEVS="PDEV SDEV" the guests are real virtual machines
# (selftests/qemu-colo): there are no guest namespaces, and the existing
# devices PDEV and SDEV, wired to the primary and the secondary guest's
# NICs, become ptap on the primary host and stap on the secondary host.
#
# Besides the topology this file holds what the colo_* tests share on top
# of selftests/lib.sh (KTAP, expect_*, busywait): numeric checks, servers
# and clients in the guests (tools/), coloctl counters (colo_stat,
# colo_stats, stat_is), event capture with a subscription barrier
# (colo_monitor_start, events_count, wait_events), faults (secondary_silence,
# primary_silence, secondary_delay) and kernel log noise (kmsg_noise).

COLO_SELFTESTS=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COLO_TOP=$(cd "$COLO_SELFTESTS/.." && pwd)
COLO_TOOLS=$COLO_SELFTESTS/tools

GWMAC=02:c0:10:00:00:01
GUESTMAC=02:c0:10:00:00:02
PTAPMAC_BRIDGED=02:c0:10:00:00:03
CLIMAC=02:c0:10:00:01:01	# primary host, client side
CLIENTMAC=02:c0:10:00:01:02

PG4=10.0.0.2
PG6=fd00::2
CL4=10.0.1.2
CL6=fd00:1::2

: "${COLO_ID:=1}"
: "${COLO_SYNC_ID:=4242}"
: "${COLO_BRIDGED_PRIMARY:=0}"
# 1: the hosts and guests only, without what protecting the pair adds (the
# guest neighbours, the ARP drop, the mirror, the br_netfilter sysctls):
# colo-quick's test lets colo-quick add those
: "${COLO_TOPOLOGY_BARE:=0}"
: "${COLO_VERBOSE:=0}"

# The built tools: `make check` puts userspace/ first on PATH and sets
# XTABLES_LIBDIR; the demo may run from a tree without that.
if [ -z "${COLOCTL:-}" ]; then
	COLOCTL=$(command -v coloctl 2>/dev/null)
	[ -n "$COLOCTL" ] || COLOCTL=$COLO_TOP/userspace/coloctl
fi
if [ -z "${XTABLES_LIBDIR:-}" ] && [ -e "$COLO_TOP/userspace/libxt_COLO.so" ]; then
	_sysxt=$(pkg-config --variable=xtlibdir xtables 2>/dev/null)
	[ -n "$_sysxt" ] || _sysxt=/usr/lib/x86_64-linux-gnu/xtables
	export XTABLES_LIBDIR=$COLO_TOP/userspace:$_sysxt
fi

# The project's test library (KTAP, expect_*, busywait, kmsg_mark,
# colo_module_load); its fail() ends the test at once, for setup failures.
# shellcheck source=../lib.sh
source "$COLO_SELFTESTS/lib.sh"

# ------------------------------------------------------------- checks ----

# log MSG: a diagnostic line in the KTAP stream
log()
{
	echo "# $*"
}

# expect_ge DESC MIN SEEN / expect_le DESC MAX SEEN: integer bounds
expect_ge()
{
	if [ "$3" -ge "$2" ] 2>/dev/null; then
		ktap_test_pass "$1"
		return 0
	fi
	ktap_test_fail "$1"
	echo "#   expected: >= $2"
	echo "#   saw:      $3"
	return 1
}

expect_le()
{
	if [ "$3" -le "$2" ] 2>/dev/null; then
		ktap_test_pass "$1"
		return 0
	fi
	ktap_test_fail "$1"
	echo "#   expected: <= $2"
	echo "#   saw:      $3"
	return 1
}

# expect_between DESC MIN MAX SEEN: MIN <= SEEN <= MAX, decimals allowed
expect_between()
{
	if awk -v a="$2" -v b="$3" -v x="$4" 'BEGIN { exit !(x != "" && x + 0 >= a + 0 && x + 0 <= b + 0) }'; then
		ktap_test_pass "$1"
		return 0
	fi
	ktap_test_fail "$1"
	echo "#   expected: between $2 and $3"
	echo "#   saw:      $4"
	return 1
}

now_ms()
{
	date +%s%3N
}

# uptime_s: CLOCK_BOOTTIME seconds, the clock of the event time stamps
uptime_s()
{
	local up _
	read -r up _ </proc/uptime
	echo "$up"
}

# seconds_since T: uptime_s - T
seconds_since()
{
	awk -v a="$1" -v b="$(uptime_s)" 'BEGIN { printf "%.2f", b - a }'
}

# ------------------------------------------------------------ namespaces ---

on_client() { ip netns exec "$NS_CLIENT" "$@"; }
on_phost() { ip netns exec "$NS_PHOST" "$@"; }
on_pguest() { ip netns exec "$NS_PGUEST" "$@"; }
on_shost() { ip netns exec "$NS_SHOST" "$@"; }
on_sguest() { ip netns exec "$NS_SGUEST" "$@"; }

# colo_require: skip or fail the test when the machine cannot run it
colo_require()
{
	require_root
	require_cmd ip tc nft iptables ip6tables python3 ss modprobe "$COLOCTL"
	colo_module_load
	local m
	for m in veth bridge br_netfilter nf_tables nft_compat nf_conntrack \
		 sch_ingress act_mirred cls_matchall xt_physdev; do
		modprobe -q $m 2>/dev/null
	done
	: "${COLO_TMP:=$(mktemp -d /tmp/colo.XXXXXX)}"
}

_colo_ns_init()
{
	ip netns add "$1" || return 1
	ip netns exec "$1" sysctl -qw \
		net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0 \
		net.ipv6.conf.all.dad_transmits=0 \
		net.ipv6.conf.default.dad_transmits=0 \
		net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0 >/dev/null
	ip -n "$1" link set lo up
}

# The primary host's part of protecting the pair, beside the instance and
# the rules: ARP from the secondary host dropped, the guest's input mirrored
# to the secondary host (README, "Setup on one page").
_colo_protect_primary_host()
{
	on_phost nft -f - <<-EOF || return 1
	table netdev colo_cable {
		chain ingress {
			type filter hook ingress device "cable" priority 0; policy accept;
			meta protocol arp drop
		}
	}
	EOF
	on_phost tc qdisc add dev ptap clsact || return 1
	# matchall as in a real deployment; u32 only where a kernel lacks it
	on_phost tc filter add dev ptap egress matchall \
		action mirred egress mirror dev cable 2>/dev/null ||
	on_phost tc filter add dev ptap egress protocol all u32 match u32 0 0 \
		action mirred egress mirror dev cable || return 1
}

# colo_topology_setup: namespaces, links, addresses, mirror, no COLO rules
# yet (colo_instances_add and colo_rules_add do those).
colo_topology_setup()
{
	local sfx
	sfx=$(mktemp -u XXXXXX)
	NS_CLIENT=colo-cl-$sfx
	NS_PHOST=colo-ph-$sfx
	NS_PGUEST=colo-pg-$sfx
	NS_SHOST=colo-sh-$sfx
	NS_SGUEST=colo-sg-$sfx
	COLO_NAMESPACES="$NS_CLIENT $NS_PHOST $NS_PGUEST $NS_SHOST $NS_SGUEST"
	local pdev='' sdev=''
	if [ -n "${COLO_GUEST_DEVS:-}" ]; then
		read -r pdev sdev <<<"$COLO_GUEST_DEVS"
		NS_PGUEST='' NS_SGUEST=''
		COLO_NAMESPACES="$NS_CLIENT $NS_PHOST $NS_SHOST"
	fi
	: "${COLO_TMP:=$(mktemp -d /tmp/colo.XXXXXX)}"
	COLO_PIDS=
	local ns
	for ns in $COLO_NAMESPACES; do
		_colo_ns_init "$ns" || return 1
	done

	# client <-> primary host
	ip -n "$NS_PHOST" link add cli address $CLIMAC type veth \
		peer name eth0 address $CLIENTMAC netns "$NS_CLIENT" || return 1
	# permanent neighbours: no resolution delays in the timings
	ip -n "$NS_CLIENT" link set eth0 up
	ip -n "$NS_PHOST" link set cli up
	ip -n "$NS_CLIENT" neigh replace 10.0.1.1 lladdr $CLIMAC dev eth0 nud permanent
	ip -n "$NS_CLIENT" neigh replace fd00:1::1 lladdr $CLIMAC dev eth0 nud permanent
	ip -n "$NS_PHOST" neigh replace $CL4 lladdr $CLIENTMAC dev cli nud permanent
	ip -n "$NS_PHOST" neigh replace $CL6 lladdr $CLIENTMAC dev cli nud permanent
	ip -n "$NS_CLIENT" addr add $CL4/24 dev eth0
	ip -n "$NS_CLIENT" addr add $CL6/64 dev eth0 nodad
	ip -n "$NS_CLIENT" link set eth0 up
	ip -n "$NS_CLIENT" route add default via 10.0.1.1
	ip -n "$NS_CLIENT" -6 route add default via fd00:1::1
	ip -n "$NS_PHOST" addr add 10.0.1.1/24 dev cli
	ip -n "$NS_PHOST" addr add fd00:1::1/64 dev cli nodad
	ip -n "$NS_PHOST" link set cli up
	on_phost sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 >/dev/null

	# primary host <-> primary guest; the host side carries GWMAC
	local ptapmac=$GWMAC gwdev=ptap
	[ "$COLO_BRIDGED_PRIMARY" = 1 ] && ptapmac=$PTAPMAC_BRIDGED && gwdev=brp
	if [ -n "$pdev" ]; then
		ip link set dev "$pdev" netns "$NS_PHOST" &&
		ip -n "$NS_PHOST" link set dev "$pdev" name ptap address $ptapmac ||
			return 1
	else
		ip -n "$NS_PHOST" link add ptap address $ptapmac type veth \
			peer name eth0 address $GUESTMAC netns "$NS_PGUEST" || return 1
	fi
	ip -n "$NS_PHOST" link set ptap addrgenmode none
	if [ "$COLO_BRIDGED_PRIMARY" = 1 ]; then
		modprobe -q br_netfilter
		ip -n "$NS_PHOST" link add brp address $GWMAC type bridge \
			forward_delay 0 stp_state 0 || return 1
		ip -n "$NS_PHOST" link set ptap master brp
		ip -n "$NS_PHOST" link set brp up
		[ "$COLO_TOPOLOGY_BARE" = 1 ] ||
		on_phost sysctl -qw net.bridge.bridge-nf-call-iptables=1 \
			net.bridge.bridge-nf-call-ip6tables=1 >/dev/null || return 1
	fi
	ip -n "$NS_PHOST" addr add 10.0.0.1/24 dev $gwdev
	ip -n "$NS_PHOST" addr add fd00::1/64 dev $gwdev nodad
	ip -n "$NS_PHOST" link set ptap up
	if [ "$COLO_TOPOLOGY_BARE" != 1 ]; then
		ip -n "$NS_PHOST" neigh replace $PG4 lladdr $GUESTMAC dev $gwdev nud permanent
		ip -n "$NS_PHOST" neigh replace $PG6 lladdr $GUESTMAC dev $gwdev nud permanent
	fi

	# primary host <-> secondary host: the cable, same MAC as the gateway
	ip -n "$NS_PHOST" link add cable address $GWMAC type veth \
		peer name cable netns "$NS_SHOST" || return 1
	ip -n "$NS_PHOST" link set cable addrgenmode none
	ip -n "$NS_PHOST" link set cable up
	[ "$COLO_TOPOLOGY_BARE" = 1 ] || _colo_protect_primary_host || return 1

	# secondary host: bridge joining the cable and the secondary guest
	if [ -n "$sdev" ]; then
		ip link set dev "$sdev" netns "$NS_SHOST" &&
		ip -n "$NS_SHOST" link set dev "$sdev" name stap || return 1
	else
		ip -n "$NS_SHOST" link add stap type veth peer name eth0 \
			address $GUESTMAC netns "$NS_SGUEST" || return 1
	fi
	ip -n "$NS_SHOST" link add br0 type bridge forward_delay 0 stp_state 0 || return 1
	local d
	for d in br0 cable stap; do
		ip -n "$NS_SHOST" link set $d addrgenmode none
	done
	ip -n "$NS_SHOST" link set cable master br0
	ip -n "$NS_SHOST" link set stap master br0
	for d in cable stap br0; do
		ip -n "$NS_SHOST" link set $d up
	done
	modprobe -q br_netfilter
	[ "$COLO_TOPOLOGY_BARE" = 1 ] ||
	on_shost sysctl -qw net.bridge.bridge-nf-call-iptables=1 \
		net.bridge.bridge-nf-call-ip6tables=1 >/dev/null || return 1

	# the two guests: same addresses, same MAC, permanent gateway neighbour
	for ns in ${NS_PGUEST:+"$NS_PGUEST"} ${NS_SGUEST:+"$NS_SGUEST"}; do
		ip -n "$ns" addr add $PG4/24 dev eth0
		ip -n "$ns" addr add $PG6/64 dev eth0 nodad
		ip -n "$ns" link set eth0 up
		ip -n "$ns" route add default via 10.0.0.1
		ip -n "$ns" -6 route add default via fd00::1
		ip -n "$ns" neigh replace 10.0.0.1 lladdr $GWMAC dev eth0 nud permanent
		ip -n "$ns" neigh replace fd00::1 lladdr $GWMAC dev eth0 nud permanent
	done
	return 0
}

colo_topology_cleanup()
{
	local p
	for p in $COLO_PIDS; do
		kill "$p" 2>/dev/null
	done
	for p in $COLO_PIDS; do
		wait "$p" 2>/dev/null
	done
	COLO_PIDS=
	local ns
	for ns in ${COLO_NAMESPACES:-}; do
		ip netns del "$ns" 2>/dev/null
	done
	COLO_NAMESPACES=
	if [ -n "${COLO_TMP:-}" ] && [ "${COLO_KEEP_TMP:-0}" != 1 ]; then
		rm -rf "$COLO_TMP"
	fi
}

# ------------------------------------------------------------ coloctl ----

# colo_ctl NS ARGS...: coloctl in a namespace, stderr folded into stdout
colo_ctl()
{
	local ns=$1
	shift
	ip netns exec "$ns" "$COLOCTL" "$@" 2>&1
}

# colo_primary_rule_spec: the match part of the primary rule
_colo_primary_match()
{
	if [ "$COLO_BRIDGED_PRIMARY" = 1 ]; then
		echo "-m physdev --physdev-in ptap"
	else
		echo "-i ptap"
	fi
}

# colo_rules ACTION(-A|-D) [which: primary secondary rewriter]
colo_rules()
{
	local act=$1
	shift
	local which=${*:-primary secondary rewriter}
	local ipt w rc=0 pm
	pm=$(_colo_primary_match)
	for ipt in iptables ip6tables; do
		for w in $which; do
			case $w in
			primary)
				# shellcheck disable=SC2086 # $pm: the match, several words
				on_phost "$ipt" -t mangle "$act" PREROUTING $pm \
					-j COLO --instance "$COLO_ID" --primary || rc=1
				;;
			secondary)
				on_phost "$ipt" -t raw "$act" PREROUTING -i cable \
					-j COLO --instance "$COLO_ID" --secondary || rc=1
				;;
			rewriter)
				on_shost "$ipt" -t mangle "$act" PREROUTING \
					-m physdev --physdev-in stap \
					-j COLO --instance "$COLO_ID" --rewrite || rc=1
				on_shost "$ipt" -t mangle "$act" PREROUTING \
					-m physdev --physdev-in cable \
					-j COLO --instance "$COLO_ID" --rewrite-client || rc=1
				;;
			esac
		done
	done
	return $rc
}

# colo_setup_protection [INSTANCE ARGS...]: instance on both hosts + rules
colo_setup_protection()
{
	local out
	out=$(colo_ctl "$NS_PHOST" instance add "$COLO_ID" "$@") ||
		{ log "primary: coloctl instance add $COLO_ID $*: $out"; return 1; }
	out=$(colo_ctl "$NS_SHOST" instance add "$COLO_ID") ||
		{ log "secondary: coloctl instance add $COLO_ID: $out"; return 1; }
	colo_rules -A || return 1
}

# colo_reset_primary_instance [INSTANCE ARGS...]: new settings on the primary
# host (the rules come out, the instance is re-created, the rules go back)
colo_reset_primary_instance()
{
	local out
	colo_rules -D primary secondary || return 1
	out=$(colo_ctl "$NS_PHOST" instance del "$COLO_ID") ||
		{ log "coloctl instance del $COLO_ID: $out"; return 1; }
	out=$(colo_ctl "$NS_PHOST" instance add "$COLO_ID" "$@") ||
		{ log "coloctl instance add $COLO_ID $*: $out"; return 1; }
	colo_rules -A primary secondary
}

# colo_checkpoint [NS]: a checkpoint completed (primary host by default)
colo_checkpoint()
{
	local out
	out=$(colo_ctl "${1:-$NS_PHOST}" checkpoint "$COLO_ID") ||
		{ log "coloctl checkpoint $COLO_ID: $out"; return 1; }
}

# colo_show [NS] [ID]: `instance show -j` into $COLO_TMP/show.json
colo_show()
{
	ip netns exec "${1:-$NS_PHOST}" "$COLOCTL" instance show "${2:-$COLO_ID}" -j \
		>"$COLO_TMP/show.json" 2>"$COLO_TMP/show.err"
}

# colo_stat KEY [NS] [ID]: one counter or setting of an instance
colo_stat()
{
	colo_show "${2:-$NS_PHOST}" "${3:-$COLO_ID}" || {
		echo "error:$(cat "$COLO_TMP/show.err")"
		return 1
	}
	_json_get "$COLO_TMP/show.json" "$1"
}

# colo_stats KEY... : several counters of the primary instance, one line
# "key=value key=value" (one coloctl call, consistent snapshot)
colo_stats()
{
	colo_show "$NS_PHOST" "$COLO_ID" || { echo "error"; return 1; }
	local k out=
	for k in "$@"; do
		out="$out$k=$(_json_get "$COLO_TMP/show.json" "$k") "
	done
	echo "${out% }"
}

# _json_get FILE KEY: a key at any depth of a JSON document (jq when there,
# python otherwise: python starts slowly in an emulated guest)
_json_get()
{
	if command -v jq >/dev/null; then
		local v
		v=$(jq -r --arg k "$2" \
			'[.. | objects | select(has($k)) | .[$k]] | if length > 0 then .[0] else "missing" end' \
			"$1" 2>/dev/null)
		echo "${v:-missing}"
	else
		python3 "$COLO_TOOLS/colo_json.py" get "$1" "$2"
	fi
}

# stat_is KEY OP VALUE [NS]: for busywait (e.g. busywait 5000 stat_is
# primary_held_packets -ge 3); the primary host's instance by default
stat_is()
{
	local v
	v=$(colo_stat "$1" "${4:-$NS_PHOST}") || return 1
	# test, not [ ]: the same builtin, but shellcheck cannot parse a
	# bracketed test whose operator is a parameter
	test "$v" "$2" "$3" 2>/dev/null
}

# ------------------------------------------------------------- events ----

# colo_monitor_start FILE [coloctl monitor args...]: capture events (JSON
# lines with a monotonic time stamp) from the primary host, and return only
# once the subscription demonstrably works: a checkpoint of a spare "sync"
# instance must show up in FILE.
colo_monitor_start()
{
	local file=$1
	shift
	: >"$file"
	# A FIFO rather than >(...): the guest has no /dev/fd.
	rm -f "$file.fifo"
	mkfifo "$file.fifo" || return 1
	python3 "$COLO_TOOLS/colo_json.py" stamp <"$file.fifo" >"$file" &
	COLO_PIDS="$COLO_PIDS $!"
	ip netns exec "$NS_PHOST" "$COLOCTL" monitor -j "$@" \
		>"$file.fifo" 2>"$file.stderr" &
	COLO_MONITOR_PID=$!
	COLO_PIDS="$COLO_PIDS $COLO_MONITOR_PID"
	if ! colo_ctl "$NS_PHOST" instance show "$COLO_SYNC_ID" >/dev/null; then
		colo_ctl "$NS_PHOST" instance add "$COLO_SYNC_ID" >/dev/null ||
			{ log "cannot add sync instance $COLO_SYNC_ID"; return 1; }
	fi
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		colo_ctl "$NS_PHOST" checkpoint "$COLO_SYNC_ID" >/dev/null
		busywait 1000 _events_ge "$file" 1 --event checkpoint \
			--instance "$COLO_SYNC_ID" && return 0
		kill -0 "$COLO_MONITOR_PID" 2>/dev/null || break
	done
	log "coloctl monitor did not report a checkpoint of the sync instance; stderr: $(cat "$file.stderr")"
	return 1
}

colo_monitor_stop()
{
	[ -n "${COLO_MONITOR_PID:-}" ] || return 0
	kill "$COLO_MONITOR_PID" 2>/dev/null
	wait "$COLO_MONITOR_PID" 2>/dev/null
	COLO_MONITOR_PID=
}

# events_count FILE [--event E] [--instance N] [--reason R]
events_count()
{
	python3 "$COLO_TOOLS/colo_json.py" events "$@" --count
}

events_last()
{
	python3 "$COLO_TOOLS/colo_json.py" events "$@" --last
}

_events_ge()
{
	local file=$1 n=$2
	shift 2
	[ "$(events_count "$file" "$@")" -ge "$n" ]
}

# wait_events TIMEOUT_MS FILE N [filters]: at least N matching events
wait_events()
{
	local t=$1 file=$2 n=$3
	shift 3
	busywait "$t" _events_ge "$file" "$n" "$@"
}

# event_field JSON KEY: one field of an event object
event_field()
{
	local f
	f=$(mktemp "$COLO_TMP/ev.XXXXXX")
	printf '%s\n' "$1" >"$f"
	_json_get "$f" "$2"
	rm -f "$f"
}

# ------------------------------------------------------------ servers ----

# _bg NS NAME CMD...: a background process in a namespace, logged
_bg()
{
	local ns=$1 name=$2
	shift 2
	ip netns exec "$ns" "$@" >"$COLO_TMP/$name.out" 2>&1 &
	local pid=$!
	COLO_PIDS="$COLO_PIDS $pid"
	eval "COLO_PID_${name//[^A-Za-z0-9_]/_}=$pid"
}

# bg_stop NAME
bg_stop()
{
	local v="COLO_PID_${1//[^A-Za-z0-9_]/_}"
	local pid=${!v:-}
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	eval "$v="
}

# bg_running NAME: the background process is still alive
bg_running()
{
	local v="COLO_PID_${1//[^A-Za-z0-9_]/_}"
	[ -n "${!v:-}" ] && kill -0 "${!v}" 2>/dev/null
}

# bg_wait NAME TIMEOUT_MS: wait for a background process; its status
bg_wait()
{
	local v="COLO_PID_${1//[^A-Za-z0-9_]/_}"
	local pid=${!v:-}
	[ -n "$pid" ] || return 127
	busywait "$2" _not_running "$pid" || return 124
	wait "$pid"
	local rc=$?
	eval "$v="
	return $rc
}

_not_running()
{
	! kill -0 "$1" 2>/dev/null
}

_listening()
{
	ip netns exec "$1" ss -Hln"$2" "sport = :$3" | grep -q .
}

# tcp_serve NS NAME PORT [colo_tcp.py serve options]
tcp_serve()
{
	local ns=$1 name=$2 port=$3
	shift 3
	_bg "$ns" "$name" python3 "$COLO_TOOLS/colo_tcp.py" serve --port "$port" \
		--log "$COLO_TMP/$name.log" "$@"
	busywait 20000 _listening "$ns" t "$port" ||
		{ log "$name: TCP server on port $port did not start: $(cat "$COLO_TMP/$name.out")"; return 1; }
}

# udp_serve NS NAME PORT [colo_udp.py serve options]
udp_serve()
{
	local ns=$1 name=$2 port=$3
	shift 3
	_bg "$ns" "$name" python3 "$COLO_TOOLS/colo_udp.py" serve --port "$port" \
		--log "$COLO_TMP/$name.log" "$@"
	busywait 20000 _listening "$ns" u "$port" ||
		{ log "$name: UDP server on port $port did not start: $(cat "$COLO_TMP/$name.out")"; return 1; }
}

# guests_tcp_serve PORT "PRIMARY OPTS" "SECONDARY OPTS"
guests_tcp_serve()
{
	# shellcheck disable=SC2086 # the OPTS are several words each
	tcp_serve "$NS_PGUEST" "pg_tcp$1" "$1" $2 &&
	tcp_serve "$NS_SGUEST" "sg_tcp$1" "$1" $3
}

guests_udp_serve()
{
	# shellcheck disable=SC2086 # the OPTS are several words each
	udp_serve "$NS_PGUEST" "pg_udp$1" "$1" $2 &&
	udp_serve "$NS_SGUEST" "sg_udp$1" "$1" $3
}

guests_stop()
{
	bg_stop "pg_$1"
	bg_stop "sg_$1"
}

# progress_of FILE: bytes/datagrams a client has received so far
progress_of()
{
	local v
	v=$(cat "$1" 2>/dev/null)
	echo "${v:-0}"
}

_progress_ge()
{
	[ "$(progress_of "$1")" -ge "$2" ]
}

# json_out NAME KEY: a field of a client's JSON result ($COLO_TMP/NAME.out)
json_out()
{
	local line
	line=$(grep '^{' "$COLO_TMP/$1.out" | tail -n 1)
	[ -n "$line" ] || { echo "no-result"; return 1; }
	event_field "$line" "$2"
}

# ------------------------------------------------------------- faults ----

# secondary_silence on|off: the secondary guest's output never reaches the
# cable (a dead secondary as seen from the primary host)
secondary_silence()
{
	if [ "$1" = on ]; then
		on_shost nft -f - <<-EOF
		table netdev colo_silence {
			chain ingress {
				type filter hook ingress device "stap" priority 0; policy drop;
			}
		}
		EOF
	else
		on_shost nft delete table netdev colo_silence
	fi
}

# primary_silence on|off: the primary guest's output never reaches the
# comparator (dropped at the primary host's tap ingress)
primary_silence()
{
	if [ "$1" = on ]; then
		on_phost nft -f - <<-EOF
		table netdev colo_psilence {
			chain ingress {
				type filter hook ingress device "ptap" priority 0; policy drop;
			}
		}
		EOF
	else
		on_phost nft delete table netdev colo_psilence
	fi
}

# secondary_delay MS|off: netem on the secondary guest's output
secondary_delay()
{
	modprobe -q sch_netem
	if [ "$1" = off ]; then
		on_sguest tc qdisc del dev eth0 root
	else
		on_sguest tc qdisc replace dev eth0 root netem delay "${1}ms" limit 10000
	fi
}

# colo_diag [EVENTS_FILE]: what a failure report needs, as KTAP diagnostics:
# the events, both instances' counters, the guests' TCP sockets
colo_diag()
{
	local f
	if [ -n "${1:-}" ] && [ -s "$1" ]; then
		grep -v "\"instance\": $COLO_SYNC_ID," "$1" | sed 's/^/# diag: event /'
	fi
	for f in "$NS_PHOST" "$NS_SHOST"; do
		echo "# diag: $f: $(ip netns exec "$f" "$COLOCTL" instance show "$COLO_ID" -j 2>&1)"
	done
	for f in "$NS_PGUEST" "$NS_SGUEST"; do
		ip netns exec "$f" ss -tni 2>&1 | sed "s/^/# diag: $f: /"
	done
}

# colo_pcap_start NAME NS DEV: capture headers on DEV into $COLO_TMP/NAME.pcap
colo_pcap_start()
{
	command -v tcpdump >/dev/null || return 0
	_bg "$2" "pcap_$1" tcpdump -U -n -s 128 -i "$3" -w "$COLO_TMP/$1.pcap"
	busywait 5000 test -e "$COLO_TMP/$1.pcap" >/dev/null
}

# colo_pcap_tail NAME LINES [FILTER...]: the last packets of a capture
colo_pcap_tail()
{
	local name=$1 lines=$2
	shift 2
	[ -e "$COLO_TMP/$name.pcap" ] || return 0
	tcpdump -n -r "$COLO_TMP/$name.pcap" "$@" 2>/dev/null | tail -n "$lines" |
		sed "s/^/# diag: $name: /"
}

# colo_diag_more: kernel-wide drop counters that explain a lost packet
colo_diag_more()
{
	local ns
	local a b c rest line=
	while read -r a b c rest; do
		line="$line$((16#$a)) $((16#$b)) $((16#$c)); "
	done </proc/net/softnet_stat
	echo "# diag: softnet_stat (processed dropped squeezed, per CPU): $line"
	for ns in "$NS_PHOST" "$NS_SHOST"; do
		echo "# diag: $ns nf_conntrack stats: $(ip netns exec "$ns" sh -c 'head -n 2 /proc/net/stat/nf_conntrack' 2>/dev/null | tr '\n' '|')"
	done
}

# --------------------------------------------------------------- dmesg ---

# kmsg_noise TAG: kernel lines since kmsg_mark's TAG that point at a bug or
# a leak, or that the module printed (a quiet module prints nothing on the
# paths the tests take unless told to refuse something); the kernel's own
# notices about loading an unsigned out-of-tree module are not noise.
kmsg_noise()
{
	kmsg_since "$1" |
	grep -vE 'loading out-of-tree module taints kernel|module verification failed' |
	grep -E 'WARNING|BUG|Call Trace|RIP:|refcount_t|leak|still has objects|unregister_netdevice|waiting for .* to become free|general protection|Oops|use-after-free|Redzone|Poison|double free|corruption|xt_COLO|colo'
}
