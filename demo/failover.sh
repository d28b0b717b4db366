#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The last act of `make demo`: a live failover.  A client downloads from the
# protected guest pair; halfway, the primary host dies (its links go dark,
# its processes and namespaces vanish); the secondary host runs the failover
# procedure, shown command by command as an operator types it; the download
# finishes, byte-identical, on the same TCP connection.
#
# demo/demo.sh sources this file at its end: it reuses the demo's topology
# and instance and its say/note helpers, and starts its own paced servers
# in both guests.  Run on its own (as root, xt_COLO built) it builds a
# protected pair first:
#     demo/failover.sh
# Environment: DEMO_FAILOVER_BYTES (default 16 MiB).

FO_DEMO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [ -z "${NS_SHOST:-}" ]; then
	# standalone: the pieces demo.sh would have set up
	# shellcheck source=../selftests/lib/topology.sh
	source "$FO_DEMO_DIR/../selftests/lib/topology.sh"
	if [ -t 1 ]; then
		B=$'\e[1m' D=$'\e[2m' G=$'\e[32m' R=$'\e[31m' N=$'\e[0m'
	else
		B='' D='' G='' R='' N=''
	fi
	step=0
	say()
	{
		step=$((step + 1))
		echo
		echo "${B}== $step. $*${N}"
	}
	note()
	{
		echo "   $*"
	}
	trap colo_topology_cleanup EXIT
	echo "${B}xt_COLO failover demo${N}"
	colo_require
	colo_topology_setup || { echo "the topology did not come up"; exit 1; }
	colo_setup_protection || { echo "protection did not come up"; exit 1; }
	note "A protected pair is running: instance $COLO_ID on both hosts."
fi
# shellcheck source=../selftests/lib/failover.sh
source "$FO_DEMO_DIR/../selftests/lib/failover.sh"

FO_BYTES=${DEMO_FAILOVER_BYTES:-16777216}
FO_PORT=8001
FO_RATE=1048576		# bytes/s: slow enough to watch, 16 MiB in 16 s

# fo_demo_show HOST CMD...: the command as the operator types it
fo_demo_show()
{
	local host=$1 cmd
	shift
	cmd=$*
	echo "   ${D}[$host]${N} \$ ${cmd/"$COLOCTL"/coloctl}"
}

fo_mib()
{
	awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'
}

# fo_demo_watch UNTIL_BYTES MAX_S: print the client's progress once a second
# until it reached UNTIL_BYTES, the client ended, or MAX_S seconds passed
fo_demo_watch()
{
	local until=$1 max=$2 i=0 p last=-1
	while [ $i -lt "$max" ]; do
		p=$(progress_of "$COLO_TMP/fo_dl.progress")
		if [ "$p" = "$last" ]; then
			note "client: $(fo_mib "$p") received  ${R}(stalled)${N}"
		else
			note "client: $(fo_mib "$p") received"
		fi
		last=$p
		[ "$p" -ge "$until" ] && return 0
		bg_running fo_dl || return 0
		# the demo's pace for the eye; the tests wait on conditions instead
		sleep 1
		i=$((i + 1))
	done
}

fo_demo()
{
	say "Failover: the primary host dies in the middle of a download"
	note "The client network gets a second link: a bridge in the client joins the"
	note "primary host and the secondary host's uplink (which has no address yet)."
	failover_topology_extend || { note "${R}the client network did not come up${N}"; return 1; }
	note "Both guests serve a stream on port $FO_PORT, paced to $(fo_mib "$FO_RATE")/s so"
	note "that you can watch; the client starts downloading $(fo_mib "$FO_BYTES")."
	local ns w
	for ns in "$NS_PGUEST:1000" "$NS_SGUEST:16384"; do
		w=${ns#*:}
		_bg "${ns%%:*}" "fo_srv_$w" python3 "$COLO_TOOLS/failover_flows.py" serve \
			--port $FO_PORT --write-size "$w" --rate $FO_RATE
		busywait 20000 _listening "${ns%%:*}" t $FO_PORT >/dev/null ||
			{ note "${R}a server did not start${N}"; return 1; }
	done
	_bg "$NS_CLIENT" fo_dl python3 "$COLO_TOOLS/failover_flows.py" get --host "$PG4" \
		--port $FO_PORT --bytes "$FO_BYTES" --seed 77 \
		--progress "$COLO_TMP/fo_dl.progress" --timeout 600
	fo_demo_watch $((FO_BYTES / 2)) 300

	say "The primary host loses power"
	note "All its links go dark at once, its processes die, its namespaces vanish."
	failover_cut_primary del || { note "${R}the cut failed${N}"; return 1; }
	note "The client's TCP connection is still open; its data now only exists in"
	note "the secondary guest, which has sent every byte the client got."
	fo_demo_watch "$FO_BYTES" 2

	say "On the secondary host: the failover procedure"
	note "1. tell the rewriter; 2. fence the replication link; 3. become the guest's"
	note "gateway (same address and MAC as before); 4. take the client-network"
	note "address and announce it (gratuitous ARP; IPv6: unsolicited NA)."
	exec {FO_SHOW_FD}>&1
	FO_SHOW=fo_demo_show failover_secondary_takeover ||
		{ note "${R}the takeover failed${N}"; return 1; }
	exec {FO_SHOW_FD}>&-

	say "The download continues on the same connection"
	fo_demo_watch "$FO_BYTES" 300
	local rc=0
	bg_wait fo_dl 300000 || rc=$?
	if [ $rc -eq 0 ]; then
		note "${G}client: $(fo_mib "$FO_BYTES") received, sha256 matches the stream, no reset:"
		note "the TCP connection lived through the failover${N}"
	else
		note "${R}client: the download failed: $(cat "$COLO_TMP/fo_dl.out")${N}"
	fi
	note "The secondary host's instance:"
	fo_demo_show secondary-host coloctl instance show "$COLO_ID"
	on_shost "$COLOCTL" instance show "$COLO_ID" | grep -E 'instance|role|state|rewrit' |
		sed 's/^ */   | /'
	note "The client's ARP entry for its gateway now names the secondary host's uplink:"
	note "  $(ip -n "$NS_CLIENT" neigh show 10.0.1.1 dev lan)"
	echo
	if [ $rc -eq 0 ]; then
		echo "${G}${B}failover demo: ok${N} - the client never noticed the primary host die"
	else
		echo "${R}failover demo: the download did not survive the failover${N}"
	fi
	return $rc
}

fo_demo
fo_rc=$?
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	exit $fo_rc
fi
return $fo_rc
