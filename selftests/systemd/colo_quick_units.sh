#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# colo-quick's systemd units under a real systemd: the test guest boots a
# container (systemd-nspawn --boot) whose network namespace is the primary
# host of the selftests' topology, with the tools and units installed by
# `make -C userspace install`, and checks:
#   - `systemctl enable --now colo-quick@pri` sets up every piece once
#     (rules of both families, the nft table, the mirror, the neighbours,
#     the instance) and starts colo-quick-helper@pri;
#   - a divergence is answered by the helper with a checkpoint;
#   - kill -9 of the helper: systemd restarts it (NRestarts=1) and it
#     answers the next divergence; a request made while no helper ran is
#     served by the next one;
#   - `systemctl restart nftables` and `systemctl reload nftables` with an
#     /etc/nftables.conf that flushes the ruleset: the drop-in puts the COLO
#     rules and table back, once, and the journal says so;
#   - `systemctl reboot` of the container: its shutdown leaves the namespace
#     bare; when the guest's tap appears only after the next boot, the unit
#     retries until it is there; then every piece is there exactly once and
#     the helper answers;
#   - `systemctl stop colo-quick@pri` leaves the namespace bare; so does
#     a stop after the guest's tap was deleted (the VM went first), and
#     the unit is inactive, not failed.
# The container: lib/container.sh. colo_quick_secondary.sh does the same
# for the secondary host's role, and netfilter-persistent.

source "$(dirname "$0")/../lib/topology.sh"
source "$(dirname "$0")/lib/container.sh"
set -u

NAME=pri
BARE="rules=0 nft=0 qdisc=0 mirror=0 neigh=0 instance=0"
FULL="rules=4 nft=1 qdisc=1 mirror=1 neigh=2 instance=1"
ROUND=0
: "${COLO_PIDS:=}"

colo_require
require_cmd systemd-nspawn nsenter make mount umount
modprobe -q xt_comment 2>/dev/null
modprobe -q nft_compat 2>/dev/null

# the COLO pieces in the primary host's namespace, counted from outside
pieces()
{
	local rules nft qdisc mirror neigh inst=0
	rules=$({ on_phost iptables-save; on_phost ip6tables-save; } 2>/dev/null | grep -c -e '-j COLO')
	nft=$(on_phost nft list tables netdev 2>/dev/null | grep -c 'colo_')
	qdisc=$(on_phost tc qdisc show dev ptap 2>/dev/null | grep -c '^qdisc clsact')
	mirror=$(on_phost tc filter show dev ptap egress 2>/dev/null | grep -c 'Mirror to device cable')
	neigh=$(on_phost ip neigh show nud permanent dev ptap 2>/dev/null |
		grep -cE "^($PG4|$PG6) ")
	on_phost "$COLOCTL" instance show "$COLO_ID" >/dev/null 2>&1 && inst=1
	echo "rules=$rules nft=$nft qdisc=$qdisc mirror=$mirror neigh=$neigh instance=$inst"
}

helper_runs() { grep -c "^$COLO_ID " "$CT_DIR/var/lib/colo-test/helper.ran" 2>/dev/null; }
# shellcheck disable=SC2317 # run by busywait, by name
helper_ran() { [ "$(helper_runs)" -ge "$1" ]; }

# divergence: a fresh pair of UDP servers, the secondary's alters its third
# answer; the client gets its 5 answers, and the helper ran once more and
# sent its checkpoint
divergence()
{
	local why=$1 before cps port
	ROUND=$((ROUND + 1))
	port=$((5010 + ROUND))
	before=$(helper_runs)
	cps=$(colo_stat checkpoints)
	guests_udp_serve "$port" "" "--alter-index 2" || fail "expected the UDP servers on port $port"
	expect_ok "$why: the client gets its 5 answers though the secondary altered one" \
		on_client python3 "$COLO_TOOLS/colo_udp.py" send --host "$PG4" --port "$port" \
			--count 5 --interval-ms 50 --timeout 60
	expect_ok "$why: the helper ran for the divergence (runs before: $before)" \
		busywait 20000 helper_ran $((before + 1))
	expect_ok "$why: and its checkpoint reached the instance (checkpoints before: $cps)" \
		busywait 20000 stat_is checkpoints -gt "$cps"
	guests_stop "udp$port"
}

trap ct_cleanup EXIT

# --- the primary host, bare; the container's root -----------------------
COLO_TOPOLOGY_BARE=1 colo_topology_setup || fail "expected the bare topology to come up"
expect_eq "before: the primary host's namespace is bare" "$BARE" "$(pieces)"
CT_NETNS=$NS_PHOST
ct_root
mkdir -p "$CT_DIR/var/lib/colo-test"
: >"$CT_DIR/var/lib/colo-test/helper.ran"
cat >"$CT_DIR/etc/colo/do-checkpoint" <<'EOF'
#!/bin/sh
echo "$COLO_INSTANCE $COLO_REASON" >>/var/lib/colo-test/helper.ran
EOF
chmod +x "$CT_DIR/etc/colo/do-checkpoint"
cat >"$CT_DIR/etc/colo/$NAME.conf" <<EOF
# the primary host of the selftests' pair
[Instance]
Role = primary
Id = $COLO_ID
# never fail open: every divergence waits for the helper
FailOpen = 0

[Host]
Tap = ptap
Link = cable

[Guest]
Address = $PG4, $PG6
MAC = $GUESTMAC

[Helper]
Exec = /etc/colo/do-checkpoint
EOF
# a firewall of the usual kind: its start and reload flush the ruleset
cat >"$CT_DIR/etc/nftables.conf" <<'EOF'
flush ruleset
table inet filter {
	chain input {
		type filter hook input priority filter; policy accept;
	}
}
EOF

# the secondary host's side, by hand as the other selftests do it
out=$(colo_ctl "$NS_SHOST" instance add "$COLO_ID") || fail "expected the secondary's instance: $out"
colo_rules -A rewriter || fail "expected the rewriter rules on the secondary host"
on_shost sysctl -qw net.bridge.bridge-nf-call-iptables=1 \
	net.bridge.bridge-nf-call-ip6tables=1 >/dev/null

# --- boot 1 ---------------------------------------------------------------
ct_start
ct_booted
expect_eq "boot 1: the container's boot left the namespace bare" "$BARE" "$(pieces)"
expect_ok "systemctl enable --now nftables" in_ct systemctl enable --now nftables
expect_ok "systemctl enable --now colo-quick@$NAME" in_ct systemctl enable --now "colo-quick@$NAME"
if ! expect_eq "colo-quick@$NAME is active" active "$(unit_prop "colo-quick@$NAME" ActiveState)"; then
	unit_diag "colo-quick@$NAME"
	fail "expected colo-quick@$NAME up: the rest needs it"
fi
expect_ok "colo-quick-helper@$NAME is running" \
	busywait 30000 unit_is "colo-quick-helper@$NAME" SubState running
expect_eq "every piece is there once" "$FULL" "$(pieces)"
expect_match "colo-quick show lists each piece present" "rule iptables raw PREROUTING -i cable" \
	"$(in_ct colo-quick show "$NAME" 2>&1)"
divergence "boot 1"

# --- the helper dies --------------------------------------------------------
pid=$(unit_prop "colo-quick-helper@$NAME" MainPID)
expect_ok "kill -9 of the helper (pid $pid in the container)" in_ct kill -9 "$pid"
expect_ok "systemd restarted the helper (NRestarts=1)" \
	busywait 30000 unit_is "colo-quick-helper@$NAME" NRestarts 1
expect_ok "and it runs again" busywait 30000 unit_is "colo-quick-helper@$NAME" SubState running
newpid=$(unit_prop "colo-quick-helper@$NAME" MainPID)
expect_ok "as another process (was $pid, now $newpid)" test "$newpid" != "$pid" -a "$newpid" != 0
divergence "after the restart"

# --- a request made while no helper runs: the next helper serves it -------
# (stop and start stand for a death and the restart 1 s later, without the
# race: the request is made in the gap for certain)
expect_ok "systemctl stop colo-quick-helper@$NAME" in_ct systemctl stop "colo-quick-helper@$NAME"
ROUND=$((ROUND + 1))
port=$((5010 + ROUND))
before=$(helper_runs)
cps=$(colo_stat checkpoints)
guests_udp_serve "$port" "" "--alter-index 2" || fail "expected the UDP servers on port $port"
_bg "$NS_CLIENT" gapclient python3 "$COLO_TOOLS/colo_udp.py" send --host "$PG4" --port "$port" \
	--count 5 --interval-ms 50 --timeout 120
expect_ok "with no helper running, the divergence leaves a request pending" \
	busywait 60000 stat_is pending = true
expect_eq "and no helper ran for it" "$before" "$(helper_runs)"
expect_ok "systemctl start colo-quick-helper@$NAME" in_ct systemctl start "colo-quick-helper@$NAME"
expect_ok "the new helper served the request made before it started" \
	busywait 30000 helper_ran $((before + 1))
expect_ok "its checkpoint reached the instance (checkpoints before: $cps)" \
	busywait 20000 stat_is checkpoints -gt "$cps"
expect_ok "and the client got its 5 answers" bg_wait gapclient 60000
guests_stop "udp$port"

# --- firewall restart and reload ------------------------------------------
n=$(synced nftables "$NAME" 5)
expect_ok "systemctl restart nftables" in_ct systemctl restart nftables
expect_eq "after the restart every piece is there once" "$FULL" "$(pieces)"
expect_ok "the journal says the 5 went back (lines before: $n)" busywait 20000 synced_ge nftables "$NAME" 5 $((n + 1))
expect_ok "the firewall's own table is there too" on_phost nft list table inet filter
on_phost nft flush ruleset
expect_eq "nft flush ruleset (the reload's first line) takes rules and table" \
	"rules=0 nft=0 qdisc=1 mirror=1 neigh=2 instance=1" "$(pieces)"
expect_ok "systemctl reload nftables" in_ct systemctl reload nftables
expect_eq "after the reload every piece is there once" "$FULL" "$(pieces)"
expect_ok "the journal says so (lines before: $((n + 1)))" busywait 20000 synced_ge nftables "$NAME" 5 $((n + 2))
log "systemctl reload nftables: the COLO rules were out at most $(gap nftables "$NAME") s (journal: reload start to colo-quick's line)"
log "journal of nftables.service:"
in_ct journalctl -o short-monotonic -u nftables 2>&1 | tail -n 8 | sed 's/^/#   /'
divergence "after the firewall reload"

# --- reboot -----------------------------------------------------------------
ct_reboot
expect_eq "between boots the namespace is bare" "$BARE" "$(pieces)"

# the guest's tap comes up only after the boot (as a VM's tap does)
on_phost sysctl -qw net.ipv6.conf.ptap.keep_addr_on_down=1
on_phost ip link set ptap down
on_phost ip link set ptap name ptapx || fail "expected to rename ptap"
ct_start
# shellcheck disable=SC2317 # run by busywait, by name
nodev() { in_ct journalctl -b -o cat -u "colo-quick@$NAME" 2>/dev/null | grep -q 'no device "ptap"'; }
expect_ok "boot 2 without the tap: colo-quick@$NAME says the tap is missing" busywait 300000 nodev
# shellcheck disable=SC2317 # run by busywait, by name
nrestarts_ge() { [ "$(unit_prop "colo-quick@$NAME" NRestarts)" -ge "$1" ] 2>/dev/null; }
expect_ok "and tries again (NRestarts reaches 2)" busywait 120000 nrestarts_ge 2
expect_eq "without failing" activating "$(unit_prop "colo-quick@$NAME" ActiveState)"
log "meanwhile the boot is $(in_ct systemctl is-system-running 2>&1)"
expect_eq "nothing is set up meanwhile" "$BARE" "$(pieces)"
on_phost ip link set ptapx name ptap || fail "expected to rename ptapx back"
on_phost ip link set ptap up
expect_ok "once the tap is there, colo-quick@$NAME comes up" \
	busywait 120000 unit_is "colo-quick@$NAME" ActiveState active
ct_booted
expect_ok "colo-quick-helper@$NAME is running" \
	busywait 30000 unit_is "colo-quick-helper@$NAME" SubState running
expect_eq "after boot 2 every piece is there exactly once" "$FULL" "$(pieces)"
expect_eq "nftables.service ran at boot (its table is there)" 0 \
	"$(on_phost nft list table inet filter >/dev/null 2>&1; echo $?)"
log "boot 2, colo-quick@$NAME:"
in_ct journalctl -b -o short-monotonic -u "colo-quick@$NAME" 2>&1 | tail -n 8 | sed 's/^/#   /'
divergence "after boot 2"

# --- stop -------------------------------------------------------------------
expect_ok "systemctl stop colo-quick@$NAME" in_ct systemctl stop "colo-quick@$NAME"
expect_eq "the namespace is bare again" "$BARE" "$(pieces)"
expect_eq "and the helper stopped with it" inactive \
	"$(unit_prop "colo-quick-helper@$NAME" ActiveState)"

# --- stop after the VM went first (its tap deleted: the usual order at
# shutdown): the stop succeeds and leaves nothing of colo-quick behind
expect_ok "systemctl start colo-quick@$NAME again" in_ct systemctl start "colo-quick@$NAME"
expect_eq "every piece is there once" "$FULL" "$(pieces)"
expect_ok "colo-quick-helper@$NAME is running" \
	busywait 30000 unit_is "colo-quick-helper@$NAME" SubState running
on_phost ip link del ptap || fail "expected to delete ptap"
expect_ok "systemctl stop colo-quick@$NAME with the tap gone" in_ct systemctl stop "colo-quick@$NAME"
if ! expect_eq "colo-quick@$NAME is inactive, not failed" inactive \
	"$(unit_prop "colo-quick@$NAME" ActiveState)"; then
	unit_diag "colo-quick@$NAME"
fi
expect_eq "the namespace is bare again (rules, nft table, instance)" "$BARE" "$(pieces)"
expect_eq "and the helper stopped with it" inactive \
	"$(unit_prop "colo-quick-helper@$NAME" ActiveState)"
expect_match "no state is left: colo-quick show says $NAME is down" "^$NAME: down$" \
	"$(in_ct colo-quick show "$NAME" 2>&1)"
# shellcheck disable=SC2317 # run by busywait, by name
skipped() { in_ct journalctl -b -o cat -u "colo-quick@$NAME" 2>/dev/null | grep -qF "$1"; }
expect_ok "the journal says the mirror was skipped, gone with the tap" \
	busywait 20000 skipped "colo-quick: $NAME: skipped \"filter ptap 49152\": ptap is gone"

ktap_finished
