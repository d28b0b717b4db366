# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# Failover on the two-host COLO topology (issue 4): helpers shared by the
# colo_failover_*.sh selftests and demo/failover.sh.  Source it after
# lib/topology.sh, call colo_topology_setup, then failover_topology_extend.
#
# ---------------------------------------------------------------------------
# THE FAILOVER PROCEDURE (what a user does; failover_secondary_takeover and
# failover_primary_continue below do exactly this, nothing more)
#
# A. The secondary host is lost (the primary host goes on alone).
#    On the primary host:
#        coloctl failover ID
#    Everything the comparator holds is released at once; from now on the
#    primary guest's packets pass uncompared (counted as "passed") and
#    anything still arriving from the secondary host is freed.  State
#    "failed-over", event {"event":"failover","instance":ID}.  Then remove
#    the mirror toward the dead host (tc filter del dev TAP egress) so the
#    primary host stops copying traffic into a dead link.  Without any
#    action, the instance fails open by itself: a held packet waits
#    `timeout` ms, raises a checkpoint request, and `failopen` ms later
#    (instance add ... failopen MS, default 10000) everything is released
#    and traffic passes uncompared (state "fail-open") until the next
#    checkpoint (`failopen 0`: never).  ARP/ND: nothing changes for
#    clients or the guest.
#
# B. The primary host is lost (the secondary host takes over).
#    On the secondary host, in this order:
#     1. coloctl failover ID
#        The rewriter keeps the sequence offsets of every existing TCP
#        connection (they live in conntrack's SEQADJ extension, which keeps
#        shifting whether packets are bridged or routed) and gives none to
#        new connections: they are the secondary guest's own.  TCP
#        timestamps it leaves alone from now on, in both directions: the
#        client's packets will arrive by the uplink, past the
#        --rewrite-client rule that shifted their echoes (kernel/rewrite.c).
#     2. Fence the replication link: take it out of the guest's bridge
#        (ip link set LINK nomaster; ip link set LINK down), so nothing of
#        the old primary (a half-dead host, a late mirrored frame) reaches
#        the guest any more.
#     3. Become the guest's gateway: give the bridge the gateway's MAC
#        address (the one the guest has a neighbour entry for, here the
#        primary host's guest-facing MAC) and the gateway addresses:
#            ip link set br0 address GWMAC
#            ip addr add 10.0.0.1/24 dev br0
#            ip addr add fd00::1/64 dev br0 nodad
#            ip neigh replace 10.0.0.2 lladdr GUESTMAC dev br0 nud permanent
#            ip neigh replace fd00::2 lladdr GUESTMAC dev br0 nud permanent
#            sysctl -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
#        The guest changes nothing: same gateway address, same MAC.  The
#        permanent neighbour entries for the guest are the ones the README
#        asks for on the primary host; on the secondary host they are also
#        what lets IPv6 work when the bridge has no link-local address
#        (the kernel sends no neighbour solicitation from a device without
#        one when it forwards).
#     4. Take over the client-network address on the uplink and announce
#        it, because the clients' ARP and neighbour caches still point at
#        the dead primary host's MAC:
#            sysctl -w net.ipv6.conf.UPLINK.ndisc_notify=1 \
#                      net.ipv6.conf.UPLINK.accept_dad=1 \
#                      net.ipv6.conf.UPLINK.dad_transmits=1
#            ip addr add 10.0.1.1/24 dev UPLINK
#            ip addr add fd00:1::1/64 dev UPLINK
#            arping -U -c 2 -I UPLINK 10.0.1.1      (gratuitous ARP;
#                     busybox or iputils arping)
#        IPv6: with ndisc_notify=1 the kernel sends an unsolicited
#        neighbour advertisement (override flag set) for the address as
#        soon as duplicate address detection finishes (about a second);
#        clients update their existing neighbour entries from it, as they
#        do from the gratuitous ARP.  Clients with a static (permanent)
#        neighbour entry for the gateway ignore both: give the uplink the
#        primary host's client-facing MAC instead (ip link set UPLINK
#        address MAC, before adding the addresses).
#    The guest's existing TCP connections continue without a reset: the
#    client only ever received data and acks the secondary guest had also
#    produced (the comparator released nothing earlier), and the guest
#    retransmits what was lost with the primary host.  They resume when
#    the secondary guest's next retransmission timer fires, so the pause
#    the client sees grows with the time from the failure to step 4
#    (TCP's backoff doubles the timer each time).  That guarantee holds
#    only while the primary host's instance was comparing: an instance
#    that had failed open (no checkpoint within `failopen` ms) passed the
#    primary's output uncompared, a client may then hold data the
#    secondary guest never sent, and such connections can stall after the
#    failover.  Deployments that rely on failover keep the checkpoint
#    helper running, or create the instance with `failopen 0`.
# ---------------------------------------------------------------------------
#
# What this file adds to the topology of lib/topology.sh: the client network
# becomes a bridge "lan" in the client namespace joining the existing link to
# the primary host (eth0) and a new link (eth1) to the secondary host's
# uplink "uplink".  The client's addresses move to lan; its neighbour
# entries for the gateway are ordinary ones (the topology's are permanent)
# so that the announcement of step B.4 can move them.  The uplink is up but
# has no address until failover.
#
#     client ($NS_CLIENT)                      primary host ($NS_PHOST)
#     lan 10.0.1.2 fd00:1::2 (CLIENTMAC)
#      +-- eth0 -------------------------------- cli 10.0.1.1 (CLIMAC)
#      +-- eth1 -------------+
#                            |                 secondary host ($NS_SHOST)
#                            +------------------ uplink (FO_UPMAC), no address;
#                                                after takeover 10.0.1.1/24,
#                                                fd00:1::1/64
#                                                br0 (stap [+ cable]); after
#                                                takeover GWMAC, 10.0.0.1/24,
#                                                fd00::1/64, forwarding
#
# A host cut (failover_cut_primary / failover_cut_secondary) looks to the
# others as a dead host does: all its links lose carrier at once, its
# processes (servers, coloctl) die without a word on the wire, and with
# mode "del" its namespaces (and so its end of every link) disappear.

FO_UPMAC=02:c0:10:00:02:01	# secondary host's uplink, its own MAC

# Set by the steps below for the tests' timings (ms, now_ms clock).
FO_CUT_T=0
FO_CUT_UP=0	# the same moment on the events' clock (CLOCK_BOOTTIME s)
FO_WATCH=	# progress files (progress_of) to read the moment the links go down
FO_AT_CUT=	# ... and what they said then, in the same order
FO_TAKEOVER_T=0
FO_TAKEOVER_DONE_T=0

# ------------------------------------------------------------ topology ---

failover_topology_extend()
{
	ip -n "$NS_CLIENT" link add lan address "$CLIENTMAC" type bridge \
		forward_delay 0 stp_state 0 || return 1
	# the client is an ordinary host: no iptables on its bridge
	on_client sysctl -qw net.bridge.bridge-nf-call-iptables=0 \
		net.bridge.bridge-nf-call-ip6tables=0 >/dev/null 2>&1
	ip -n "$NS_CLIENT" addr flush dev eth0 scope global || return 1
	ip -n "$NS_CLIENT" link set eth0 master lan || return 1
	ip -n "$NS_SHOST" link add uplink address "$FO_UPMAC" type veth \
		peer name eth1 netns "$NS_CLIENT" || return 1
	ip -n "$NS_CLIENT" link set eth1 master lan || return 1
	ip -n "$NS_CLIENT" link set eth1 up || return 1
	ip -n "$NS_CLIENT" link set lan up || return 1
	ip -n "$NS_CLIENT" addr add "$CL4/24" dev lan || return 1
	ip -n "$NS_CLIENT" addr add "$CL6/64" dev lan nodad || return 1
	ip -n "$NS_CLIENT" route replace default via 10.0.1.1 || return 1
	ip -n "$NS_CLIENT" -6 route replace default via fd00:1::1 || return 1
	# ordinary (not permanent) entries: an announcement can move them
	ip -n "$NS_CLIENT" neigh replace 10.0.1.1 lladdr "$CLIMAC" dev lan nud reachable || return 1
	ip -n "$NS_CLIENT" neigh replace fd00:1::1 lladdr "$CLIMAC" dev lan nud reachable router || return 1
	ip -n "$NS_SHOST" link set uplink up || return 1
	{ busywait 5000 _fo_bridge_forwarding "$NS_CLIENT" eth0 &&
	  busywait 5000 _fo_bridge_forwarding "$NS_CLIENT" eth1; } ||
		{ log "client bridge ports not forwarding: $(ip -n "$NS_CLIENT" -d link show master lan)"; return 1; }
}

_fo_bridge_forwarding()
{
	ip -n "$1" -d link show dev "$2" | grep -q 'state forwarding'
}

# fo_step DESC CMD...: a KTAP check of a step that runs in this shell (its
# variables stay set, its diagnostics print as they come)
fo_step()
{
	local desc=$1
	shift
	if "$@"; then
		ktap_test_pass "$desc"
		return 0
	fi
	ktap_test_fail "$desc"
	echo "#   expected success of: $*"
	return 1
}

# ------------------------------------------------------------- failures ---

# _fo_kill_ns NS...: every process in the namespaces dies at once (SIGKILL,
# as with a power cut: no orderly close), and is reaped
_fo_kill_ns()
{
	local ns pids=
	for ns in "$@"; do
		pids="$pids $(ip netns pids "$ns" 2>/dev/null)"
	done
	local p
	# our own background jobs among them die quietly (no "Killed" notice)
	for p in $pids; do
		disown "$p" 2>/dev/null
	done
	# shellcheck disable=SC2086 # $pids: one word per process
	[ -n "${pids// /}" ] && kill -KILL $pids 2>/dev/null
	for p in $pids; do
		busywait 5000 _not_running "$p" >/dev/null
	done
	return 0
}

_fo_gone()
{
	! ip -n "$1" link show dev "$2" >/dev/null 2>&1
}

_fo_no_carrier()
{
	ip -n "$1" link show dev "$2" 2>/dev/null | grep -q 'NO-CARRIER\|state DOWN' ||
		_fo_gone "$1" "$2"
}

# _fo_cut NS_HOST NS_GUEST MODE "HOST LINKS" "PEER_NS:DEV ...": the host's
# links go down in one batch, then its guest's, processes die, and with
# MODE del the namespaces are deleted; returns once every peer end has lost
# carrier (down) or is gone (del)
_fo_cut()
{
	local host=$1 guest=$2 mode=$3 links=$4 peers=$5 d
	# The cut begins before the first link goes down: taking the links
	# down can last seconds in an emulated guest, and the survivor may
	# see (and time out on) the first dead link meanwhile.
	# shellcheck disable=SC2034 # read by the tests (timings)
	FO_CUT_T=$(now_ms)
	FO_CUT_UP=$(uptime_s)
	{
		for d in $links; do
			echo "link set dev $d down"
		done
	} | ip -n "$host" -force -batch - 2>/dev/null
	local f
	FO_AT_CUT=
	for f in ${FO_WATCH:-}; do
		FO_AT_CUT="$FO_AT_CUT $(progress_of "$f")"
	done
	FO_AT_CUT=${FO_AT_CUT# }
	ip -n "$guest" link set dev eth0 down 2>/dev/null
	_fo_kill_ns "$guest" "$host"
	if [ "$mode" = del ]; then
		ip netns del "$guest" 2>/dev/null
		ip netns del "$host" 2>/dev/null
	fi
	local p ns dev
	for p in $peers; do
		ns=${p%%:*}
		dev=${p#*:}
		if [ "$mode" = del ]; then
			busywait 20000 _fo_gone "$ns" "$dev" >/dev/null ||
				{ log "after deleting $host: $dev still in $ns"; return 1; }
		else
			busywait 5000 _fo_no_carrier "$ns" "$dev" >/dev/null ||
				{ log "after cutting $host: $dev in $ns still has carrier"; return 1; }
		fi
	done
}

# failover_cut_primary [del|down]: the primary host dies (default del)
failover_cut_primary()
{
	_fo_cut "$NS_PHOST" "$NS_PGUEST" "${1:-del}" "cli cable ptap" \
		"$NS_CLIENT:eth0 $NS_SHOST:cable"
}

# failover_cut_secondary [del|down]: the secondary host dies (default del;
# with del the primary host's end of the cable disappears with it)
failover_cut_secondary()
{
	local peers="$NS_PHOST:cable"
	ip -n "$NS_SHOST" link show dev uplink >/dev/null 2>&1 && peers="$peers $NS_CLIENT:eth1"
	_fo_cut "$NS_SHOST" "$NS_SGUEST" "${1:-del}" "cable uplink stap br0" "$peers"
}

# ------------------------------------------------------------ takeover ---

# _fo_sh CMD...: a step of the procedure on the secondary host; with
# FO_SHOW=FUNCTION (the demo) `FUNCTION secondary-host CMD...` shows it
# first, on file descriptor FO_SHOW_FD (default 2: some steps' output is
# captured, so the demo opens a descriptor on its own stdout)
_fo_sh()
{
	[ -n "${FO_SHOW:-}" ] && "$FO_SHOW" secondary-host "$@" >&"${FO_SHOW_FD:-2}"
	ip netns exec "$NS_SHOST" "$@"
}

# failover_secondary_takeover [ID]: procedure B on the secondary host
failover_secondary_takeover()
{
	local id=${1:-$COLO_ID} out
	FO_TAKEOVER_T=$(now_ms)
	out=$(_fo_sh "$COLOCTL" failover "$id" 2>&1) ||
		{ log "secondary host: coloctl failover $id: $out"; return 1; }
	if ip -n "$NS_SHOST" link show dev cable >/dev/null 2>&1; then
		{ _fo_sh ip link set dev cable nomaster &&
		  _fo_sh ip link set dev cable down; } ||
			{ log "secondary host: cannot fence the cable"; return 1; }
	fi
	{ _fo_sh ip link set dev br0 address "$GWMAC" &&
	  _fo_sh ip addr add 10.0.0.1/24 dev br0 &&
	  _fo_sh ip addr add fd00::1/64 dev br0 nodad &&
	  _fo_sh ip neigh replace "$PG4" lladdr "$GUESTMAC" dev br0 nud permanent &&
	  _fo_sh ip neigh replace "$PG6" lladdr "$GUESTMAC" dev br0 nud permanent &&
	  _fo_sh sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1; } ||
		{ log "secondary host: cannot become the guest's gateway"; return 1; }
	{ _fo_sh sysctl -qw net.ipv6.conf.uplink.ndisc_notify=1 \
		net.ipv6.conf.uplink.accept_dad=1 \
		net.ipv6.conf.uplink.dad_transmits=1 &&
	  _fo_sh ip addr add 10.0.1.1/24 dev uplink &&
	  _fo_sh ip addr add fd00:1::1/64 dev uplink; } ||
		{ log "secondary host: cannot take the client-network addresses"; return 1; }
	out=$(_fo_sh busybox arping -U -c 2 -I uplink 10.0.1.1 2>&1) ||
		{ log "secondary host: gratuitous ARP failed: $out"; return 1; }
	FO_TAKEOVER_DONE_T=$(now_ms)
	return 0
}

# failover_ipv6_announced: the IPv6 address finished DAD (and so the kernel
# sent its unsolicited NA)
failover_ipv6_announced()
{
	ip -n "$NS_SHOST" -6 addr show dev uplink | grep 'fd00:1::1/64' | grep -qv tentative
}

# failover_client_neigh ADDR: the client's neighbour entry for ADDR (lladdr)
failover_client_neigh()
{
	ip -n "$NS_CLIENT" neigh show "$1" dev lan | sed -n 's/.*lladdr \([0-9a-f:]*\).*/\1/p'
}

# failover_primary_continue [ID]: procedure A on the primary host
failover_primary_continue()
{
	local id=${1:-$COLO_ID} out
	# shellcheck disable=SC2034 # read by the tests (timings)
	FO_TAKEOVER_T=$(now_ms)
	out=$(colo_ctl "$NS_PHOST" failover "$id") ||
		{ log "primary host: coloctl failover $id: $out"; return 1; }
	# shellcheck disable=SC2034 # read by the tests (timings)
	FO_TAKEOVER_DONE_T=$(now_ms)
}

# failover_primary_unmirror: procedure A, last step: no more copies toward
# the dead secondary host
failover_primary_unmirror()
{
	on_phost tc filter del dev ptap egress
}

# fo_progress_gt FILE N: a progress file (lib/topology.sh's progress_of) > N
fo_progress_gt()
{
	[ "$(progress_of "$1")" -gt "$2" ]
}

# failover_events_before_cut FILE EVENT: events of that kind captured by
# colo_monitor_start before the cut
failover_events_before_cut()
{
	jq -s --arg e "$2" --argjson t "$FO_CUT_UP" \
		'[.[] | select(.event == $e and .t_boot < $t)] | length' "$1"
}

# ------------------------------------------------------------ captures ---

# failover_capture_start NAME NS DEV FILTER: tcpdump (headers only, ns time
# stamps) into $COLO_TMP/NAME.pcap; returns once it captures
failover_capture_start()
{
	local name=$1 ns=$2 dev=$3 filter=$4
	# -U: every packet reaches the file at once, so a capture on a host
	# that gets cut (SIGKILL) keeps everything up to the cut
	_bg "$ns" "cap_$name" tcpdump -U -Z root -n -i "$dev" -s 128 -B 16384 \
		--time-stamp-precision=nano -w "$COLO_TMP/$name.pcap" "$filter"
	busywait 20000 grep -q 'listening on' "$COLO_TMP/cap_$name.out" >/dev/null ||
		{ log "tcpdump on $dev: $(cat "$COLO_TMP/cap_$name.out")"; return 1; }
}

# failover_capture_stop NAME: stop and flush; prints tcpdump's counts
failover_capture_stop()
{
	local v="COLO_PID_cap_$1"
	[ -n "${!v:-}" ] || return 0
	kill -INT "${!v}" 2>/dev/null
	busywait 20000 _not_running "${!v}" >/dev/null
	wait "${!v}" 2>/dev/null
	eval "$v="
	grep -E 'captured|dropped' "$COLO_TMP/cap_$1.out" | tr '\n' ' '
}

# ------------------------------------------------------------ evidence ---

# _fo_evidence_captures: the handshake and the latest packets of every
# capture still running (tcpdump -U has written them), with their options
_fo_evidence_captures()
{
	local v name f
	for v in ${!COLO_PID_cap_*}; do
		[ -n "${!v}" ] || continue
		name=${v#COLO_PID_cap_}
		f=$COLO_TMP/$name.pcap
		[ -s "$f" ] || continue
		log "capture $name: first 4 and last 40 packets:"
		{ tcpdump -r "$f" -n -tt -v -c 4 2>/dev/null
		  echo "..."
		  tcpdump -r "$f" -n -tt -v 2>/dev/null | tail -n 80; } |
			sed 's/^/#     /'
	done
}

# failover_evidence WHY: everything that explains a failure, as diagnostics
failover_evidence()
{
	log "---- evidence: $1"
	local ns
	for ns in "$NS_PHOST" "$NS_SHOST"; do
		ip netns list | grep -q "^$ns\b" || { log "$ns: gone"; continue; }
		log "$ns: coloctl instance show -j: $(colo_ctl "$ns" instance show "$COLO_ID" -j | tr -d '\n')"
		log "$ns: conntrack (tcp, first 20):"
		ip netns exec "$ns" sh -c 'grep -h tcp /proc/net/nf_conntrack 2>/dev/null | head -n 20' | sed 's/^/#     /'
	done
	for ns in "$NS_CLIENT" "$NS_SGUEST" "$NS_PGUEST"; do
		ip netns list | grep -q "^$ns\b" || continue
		log "$ns: ss -tni:"
		ip netns exec "$ns" ss -tni 2>&1 | head -n 30 | sed 's/^/#     /'
	done
	for ns in "$NS_CLIENT" "$NS_SGUEST"; do
		ip netns list | grep -q "^$ns\b" || continue
		log "$ns: nstat (TCP counters that are not zero):"
		ip netns exec "$ns" nstat -asz 2>&1 | awk '$2 != 0 && /Tcp/' | head -n 60 | sed 's/^/#     /'
	done
	log "client neighbours: $(ip -n "$NS_CLIENT" neigh show dev lan 2>&1 | tr '\n' ';')"
	_fo_evidence_captures
	log "dmesg (last 20):"
	dmesg | tail -n 20 | sed 's/^/#     /'
	log "---- end of evidence"
}
