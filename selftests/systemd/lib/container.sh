# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# A systemd container in one namespace of the selftests' topology, shared
# by selftests/systemd/*.sh (source it after lib/topology.sh, set CT_NETNS
# to the namespace, call ct_root, then ct_start and ct_booted). Everything
# runs inside the QEMU test guest (make check-systemd): the container's
# root is an overlay over the guest's own root, in a mktemp -d directory
# under the guest's /tmp, with the tools and units installed by
# `make -C userspace install`. What nspawn needs there: cgroup2 on
# /sys/fs/cgroup, --register=no --keep-unit (no systemd outside to ask),
# --console=pipe (no getty), and the previous boot's cgroups removed
# (cg_gone). Its /sys shows the guest's own namespace, not the
# container's: colo-quick must not look for devices there.

CT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
CT_NETNS=
CT_BASE=
CT_DIR=
CT_LEADER=
CT_PID=
CT_BOOT=0
CT_START=0

log_tail()
{
	[ -n "$CT_BASE" ] && [ -f "$CT_BASE/boot$CT_BOOT.log" ] &&
		tail -n "${2:-40}" "$CT_BASE/boot$CT_BOOT.log" | sed "s/^/# $1: /"
	return 0
}

# in_ct CMD...: CMD in the container (all its namespaces), clean environment
in_ct()
{
	nsenter -t "$CT_LEADER" -a env -i PATH="$CT_PATH" "$@"
}

# the container's systemd: PID 1 in a PID namespace of its own (one awk
# over every process: forks are dear in the emulated guest)
ct_leader()
{
	awk 'FNR == 1 { n = "" }
	     /^Name:/ { n = $2 }
	     /^NSpid:/ && NF == 3 && $3 == 1 && n == "systemd" {
		f = FILENAME; sub("^/proc/", "", f); sub("/status$", "", f)
		print f; found = 1; exit
	     }
	     END { exit !found }' /proc/[0-9]*/status 2>/dev/null
}

ct_has_bus() { in_ct test -S /run/systemd/private; }

# The container's cgroup: with --keep-unit, nspawn puts it in "payload"
# under its own (the guest's root cgroup). The container's systemd enables
# controllers there, and the tree it leaves behind refuses the next boot
# (EBUSY: a cgroup with enabled controllers takes no process): remove it,
# innermost first, once its processes are gone.
CG_PAYLOAD=/sys/fs/cgroup/payload
cg_gone()
{
	[ -d "$CG_PAYLOAD" ] || return 0
	find "$CG_PAYLOAD" -depth -type d -exec rmdir {} + 2>/dev/null
	[ ! -d "$CG_PAYLOAD" ]
}

# ct_root: the container's root (overlay, the build machine's enabled
# services left out, colo-quick installed), in CT_DIR
ct_root()
{
	local d f out
	if ! mountpoint -q /sys/fs/cgroup; then
		mount -t cgroup2 cgroup2 /sys/fs/cgroup || fail "expected to mount cgroup2 on /sys/fs/cgroup"
	fi
	CT_BASE=$(mktemp -d /tmp/colo-sysd.XXXXXX) || fail "expected mktemp -d"
	[ -n "$CT_BASE" ] || fail "expected a directory from mktemp -d"
	mkdir "$CT_BASE/upper" "$CT_BASE/work" "$CT_BASE/root"
	mount -t overlay -o "lowerdir=/,upperdir=$CT_BASE/upper,workdir=$CT_BASE/work" \
		colo-sysd "$CT_BASE/root" || fail "expected the container's overlay root"
	CT_DIR=$CT_BASE/root

	# the build machine's enabled services stay out of the container
	for d in "$CT_DIR"/etc/systemd/system/*.wants; do
		[ -d "$d" ] && rm -rf "${d:?}"
	done
	out=$(make -s -C "$COLO_TOP/userspace" install DESTDIR="$CT_DIR" PREFIX=/usr/local 2>&1) ||
		fail "expected make -C userspace install DESTDIR=$CT_DIR to succeed, saw: $out"
	for f in usr/local/sbin/colo-quick usr/local/sbin/coloctl \
		 usr/local/lib/systemd/system/colo-quick@.service \
		 usr/local/lib/systemd/system/colo-quick-helper@.service \
		 usr/local/lib/systemd/system/nftables.service.d/colo-quick.conf \
		 usr/local/lib/systemd/system/netfilter-persistent.service.d/colo-quick.conf; do
		[ -e "$CT_DIR/$f" ] || fail "expected make install to install /$f"
	done
	mkdir -p "$CT_DIR/etc/colo"
}

# ct_start: boot the container in CT_NETNS; return once its systemd
# listens (the boot goes on)
ct_start()
{
	busywait 60000 cg_gone ||
		fail "expected the last boot's cgroups to go, saw: $(find "$CG_PAYLOAD" -name cgroup.procs -exec cat {} + 2>&1 | head -c 300)"
	CT_BOOT=$((CT_BOOT + 1))
	CT_START=$(date +%s)
	systemd-nspawn --boot --directory="$CT_DIR" --machine="colo-sysd-$CT_BOOT" \
		--register=no --keep-unit --console=pipe \
		--capability=CAP_NET_ADMIN \
		--network-namespace-path="/run/netns/$CT_NETNS" \
		</dev/null >"$CT_BASE/boot$CT_BOOT.log" 2>&1 &
	CT_PID=$!
	CT_LEADER=$(busywait 180000 ct_leader) ||
		{ log_tail "boot $CT_BOOT"; fail "expected the container's systemd within 180 s"; }
	busywait 240000 ct_has_bus >/dev/null ||
		{ log_tail "boot $CT_BOOT"; fail "expected /run/systemd/private in the container within 240 s"; }
}

# ct_booted: wait until the container says its boot is finished
ct_booted()
{
	local state
	state=$(in_ct timeout 600 systemctl is-system-running --wait 2>&1)
	log "boot $CT_BOOT: $state after $(($(date +%s) - CT_START)) s (leader pid $CT_LEADER)"
	case $state in
	running | degraded) ;;
	*) log_tail "boot $CT_BOOT"; fail "expected the container's boot to finish, saw \"$state\"" ;;
	esac
	[ "$state" = running ] ||
		in_ct systemctl --failed --no-legend 2>&1 | sed 's/^/#   failed: /'
}

# ct_reboot: `systemctl reboot` in the container; nspawn exits 133
ct_reboot()
{
	local rc=0
	expect_ok "systemctl reboot of the container" in_ct systemctl reboot
	busywait 240000 _not_running "$CT_PID" >/dev/null || rc=timeout
	if [ "$rc" = timeout ]; then
		log_tail "boot $CT_BOOT"
		fail "expected systemd-nspawn to exit on the container's reboot within 240 s"
	fi
	wait "$CT_PID"
	rc=$?
	CT_PID=
	expect_eq "systemd-nspawn exits 133 on the container's reboot" 133 "$rc"
}

# unit_diag UNIT: what the container says about a unit that misbehaved
unit_diag()
{
	in_ct journalctl -b -o cat -u "$1" 2>&1 | tail -n 20 | sed "s/^/#   journal $1: /"
	in_ct systemctl status --no-pager "$1" 2>&1 | head -n 12 | sed "s/^/#   status: /"
	echo "#   devices in the container (netlink): $(in_ct ip -br link 2>&1 | tr '\n' ' ')"
	echo "#   in its /sys/class/net: $(in_ct ls /sys/class/net 2>&1 | tr '\n' ' ')"
}

# unit_prop UNIT PROPERTY
unit_prop() { in_ct systemctl show -p "$2" --value "$1" 2>&1; }

unit_is() { [ "$(unit_prop "$1" "$2")" = "$3" ]; }

# synced UNIT NAME N: how often UNIT's journal says colo-quick put N of
# NAME's back
synced() { in_ct journalctl -o cat -u "$1" 2>/dev/null | grep -c "colo-quick: $2: in sync ($3 put back)"; }
synced_ge() { [ "$(synced "$1" "$2" "$3")" -ge "$4" ]; }

ct_stop()
{
	local leader=$CT_LEADER
	[ -n "$CT_PID" ] || return 0
	if kill -0 "$CT_PID" 2>/dev/null; then
		# nspawn turns SIGTERM into a shutdown request to the container
		kill -TERM "$CT_PID" 2>/dev/null
		busywait 120000 _not_running "$CT_PID" >/dev/null ||
			{ [ -n "$leader" ] && kill -KILL "$leader" 2>/dev/null; kill -KILL "$CT_PID" 2>/dev/null; }
	fi
	wait "$CT_PID" 2>/dev/null
	CT_PID=
}

ct_cleanup()
{
	ct_stop
	colo_topology_cleanup
	if [ -n "$CT_BASE" ]; then
		# remove nothing that may still be the overlay
		if ! mountpoint -q "$CT_BASE/root" || umount "$CT_BASE/root" || umount -l "$CT_BASE/root"; then
			rm -rf "${CT_BASE:?}"
		fi
	fi
}

# gap UNIT NAME: seconds from UNIT's last "Reloading"/"Starting" line in
# the journal to colo-quick's last "NAME: in sync" after it: an upper
# bound of the time the COLO rules were out
gap()
{
	in_ct journalctl -o short-monotonic -u "$1" 2>/dev/null |
		awk -v n="colo-quick: $2: in sync" '
		{ t = substr($0, 2, index($0, "]") - 2) + 0 }
		/ (Reloading|Starting) / { s = t; e = "" }
		index($0, n) && s != "" { e = t }
		END { if (e != "") printf "%.1f\n", e - s; else print "?" }'
}
