#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# colo-quick's units for the secondary host's role, and its drop-in for
# netfilter-persistent, under a real systemd: the test guest boots a
# container (lib/container.sh) whose network namespace is the secondary
# host of the selftests' topology (the primary host is set up by hand, as
# the other selftests do it), its firewall both nftables.service (an
# /etc/nftables.conf that flushes the ruleset) and Debian's
# netfilter-persistent.service (rules.v4 and rules.v6 with a mangle table
# of their own, which iptables-restore replaces whole). It checks:
#   - `systemctl enable --now colo-quick@sec` sets up the rewriter's rules
#     of both families once and the instance;
#   - the setup works: a TCP download through the pair completes, the
#     primary sees no divergence and asks for no checkpoint, and the
#     secondary's instance gave the connection a sequence offset (its
#     rewritten_flows counter moved): without the rewriter the secondary
#     guest's ISN would differ;
#   - `systemctl restart nftables` and `systemctl reload nftables`, then
#     `systemctl restart netfilter-persistent`: each leaves every piece
#     there once, its own rules too, and the journal says what went back;
#   - `netfilter-persistent reload` run by hand (not through systemd) takes
#     the rules out and nothing puts them back; `systemctl reload
#     netfilter-persistent` (the drop-in's colo-quick sync-all) does;
#   - `systemctl reboot` of the container (netfilter-persistent its only
#     firewall by then) leaves the namespace bare between the boots, and
#     the next boot sets everything up once, working;
#   - `systemctl stop colo-quick@sec` leaves the namespace as it was.

source "$(dirname "$0")/../lib/topology.sh"
source "$(dirname "$0")/lib/container.sh"
set -u

NAME=sec
PORT=5101
ROUND=0
: "${COLO_PIDS:=}"

colo_require
require_cmd systemd-nspawn nsenter make mount umount
modprobe -q xt_comment 2>/dev/null
modprobe -q nft_compat 2>/dev/null
[ -x /usr/sbin/netfilter-persistent ] ||
	skip "needs Debian's iptables-persistent (make check-systemd installs it)"

# the COLO pieces in the secondary host's namespace, counted from outside;
# the firewall's own mangle rules (comment "fw"), the br_netfilter sysctls
pieces()
{
	local save rules inst=0
	save=$({ on_shost iptables-save; on_shost ip6tables-save; } 2>/dev/null)
	rules=$(grep -c -e '-j COLO --instance' <<<"$save")
	on_shost "$COLOCTL" instance show "$COLO_ID" >/dev/null 2>&1 && inst=1
	echo "rules=$rules instance=$inst"
}
fw_rules() { { on_shost iptables-save; on_shost ip6tables-save; } 2>/dev/null | grep -c -e '--comment fw'; }
BARE="rules=0 instance=0"
FULL="rules=4 instance=1"

# works WHY: a TCP download through the pair, compared equal: no
# divergence, no checkpoint request, and the rewriter gave it an offset
works()
{
	local why=$1 fam host flows divs
	ROUND=$((ROUND + 1))
	fam=$((ROUND % 2 == 1 ? 4 : 6))
	host=PG$fam
	host=${!host}
	flows=$(colo_stat rewritten_flows "$NS_SHOST")
	divs=$(colo_stats divergence_payload divergence_length divergence_tcp_flags \
		divergence_timeout divergence_header checkpoint_requests)
	expect_ok "$why: ipv$fam: the client downloads 65536 bytes intact through the pair" \
		on_client python3 "$COLO_TOOLS/colo_tcp.py" get --host "$host" --port "$PORT" \
		--bytes 65536 --seed "$ROUND" --timeout 60
	expect_eq "$why: the primary saw no divergence and asked for no checkpoint" \
		"$divs" "$(colo_stats divergence_payload divergence_length divergence_tcp_flags \
		divergence_timeout divergence_header checkpoint_requests)"
	expect_ge "$why: the secondary's rewriter gave the connection an offset (rewritten_flows was $flows)" \
		$((flows + 1)) "$(colo_stat rewritten_flows "$NS_SHOST")"
}

trap ct_cleanup EXIT

# --- the pair: the primary host by hand, the secondary host bare ----------
COLO_TOPOLOGY_BARE=1 colo_topology_setup || fail "expected the bare topology to come up"
_colo_protect_primary_host || fail "expected the mirror and the ARP drop on the primary host"
on_phost ip neigh replace "$PG4" lladdr "$GUESTMAC" dev ptap nud permanent
on_phost ip neigh replace "$PG6" lladdr "$GUESTMAC" dev ptap nud permanent
out=$(colo_ctl "$NS_PHOST" instance add "$COLO_ID") || fail "expected the primary's instance: $out"
colo_rules -A primary secondary || fail "expected the primary host's rules"
guests_tcp_serve "$PORT" "--write-size 1000" "--write-size 65536" ||
	fail "expected the TCP servers in both guests"
NFCALL=$(on_shost sysctl -n net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables | tr '\n' ' ')
expect_eq "before: the secondary host's namespace is bare" "$BARE" "$(pieces)"

CT_NETNS=$NS_SHOST
ct_root
cat >"$CT_DIR/etc/colo/$NAME.conf" <<EOF
# the secondary host of the selftests' pair
[Instance]
Role = secondary
Id = $COLO_ID

[Host]
Tap = stap
Link = cable
EOF
cat >"$CT_DIR/etc/nftables.conf" <<'EOF'
flush ruleset
table inet filter {
	chain input {
		type filter hook input priority filter; policy accept;
	}
}
EOF
# as `netfilter-persistent save` writes them on a host whose firewall has
# a mangle table (the COLO rules are not in them: see colo-quick(8))
mkdir -p "$CT_DIR/etc/iptables"
for f in v4 v6; do
	cat >"$CT_DIR/etc/iptables/rules.$f" <<'EOF'
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A FORWARD -m comment --comment fw
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
COMMIT
EOF
done

# --- boot 1 ---------------------------------------------------------------
ct_start
ct_booted
expect_eq "boot 1: the container's boot left the namespace bare" "$BARE" "$(pieces)"
# one after the other: nftables' flush would take the other's rules
expect_ok "systemctl enable --now nftables" in_ct systemctl enable --now nftables
expect_ok "systemctl enable --now netfilter-persistent" \
	in_ct systemctl enable --now netfilter-persistent
expect_eq "netfilter-persistent loaded its rules (one per family)" 2 "$(fw_rules)"
expect_ok "systemctl enable --now colo-quick@$NAME" in_ct systemctl enable --now "colo-quick@$NAME"
if ! expect_eq "colo-quick@$NAME is active" active "$(unit_prop "colo-quick@$NAME" ActiveState)"; then
	unit_diag "colo-quick@$NAME"
	fail "expected colo-quick@$NAME up: the rest needs it"
fi
expect_eq "every piece is there once" "$FULL" "$(pieces)"
expect_eq "the br_netfilter sysctls are on" "1 1 " \
	"$(on_shost sysctl -n net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables | tr '\n' ' ')"
expect_match "colo-quick show lists the rewriter's rules" "rule ip6tables mangle PREROUTING -m physdev --physdev-in cable" \
	"$(in_ct colo-quick show "$NAME" 2>&1)"
expect_match "the secondary's instance is a secondary one" "role: secondary" \
	"$(colo_ctl "$NS_SHOST" instance show "$COLO_ID")"
works "boot 1"

# --- nftables restart and reload --------------------------------------------
n=$(synced nftables "$NAME" 4)
expect_ok "systemctl restart nftables" in_ct systemctl restart nftables
expect_eq "after the restart every piece is there once" "$FULL" "$(pieces)"
expect_ok "the journal says the 4 went back (lines before: $n)" \
	busywait 20000 synced_ge nftables "$NAME" 4 $((n + 1))
expect_ok "systemctl reload nftables" in_ct systemctl reload nftables
expect_eq "after the reload every piece is there once" "$FULL" "$(pieces)"
expect_ok "the journal says so" busywait 20000 synced_ge nftables "$NAME" 4 $((n + 2))
log "systemctl reload nftables: the COLO rules were out at most $(gap nftables "$NAME") s (journal: reload start to colo-quick's line)"
works "after the nftables reload"

# --- netfilter-persistent ---------------------------------------------------
# (its restart flushes nothing but the tables its files name: mangle here;
# the nftables restart above took its rules too)
expect_ok "systemctl restart netfilter-persistent" in_ct systemctl restart netfilter-persistent
expect_eq "after its restart every piece is there once" "$FULL" "$(pieces)"
expect_eq "and its own rules, once" 2 "$(fw_rules)"
expect_ok "its journal says the 4 went back" \
	busywait 20000 synced_ge netfilter-persistent "$NAME" 4 1
log "systemctl restart netfilter-persistent: the COLO rules were out at most $(gap netfilter-persistent "$NAME") s"
works "after the netfilter-persistent restart"
out=$(in_ct netfilter-persistent reload 2>&1)
log "netfilter-persistent reload: $(tr '\n' ' ' <<<"$out")"
expect_eq "netfilter-persistent reload by hand (no systemd: no drop-in) takes the rules out" \
	"rules=0 instance=1" "$(pieces)"
expect_ok "systemctl reload netfilter-persistent" in_ct systemctl reload netfilter-persistent
expect_eq "puts them back, once" "$FULL" "$(pieces)"
expect_eq "and leaves its own rules as they were" 2 "$(fw_rules)"
works "after systemctl reload netfilter-persistent"

# --- reboot -----------------------------------------------------------------
# one firewall at boot: nftables.service and netfilter-persistent.service
# are not ordered, and nftables' flush would take the other's rules or not
expect_ok "systemctl disable nftables (netfilter-persistent is the firewall from here)" \
	in_ct systemctl disable nftables
ct_reboot
expect_eq "between boots the namespace is bare" "$BARE" "$(pieces)"
ct_start
ct_booted
expect_eq "boot 2: colo-quick@$NAME is active" active "$(unit_prop "colo-quick@$NAME" ActiveState)" ||
	unit_diag "colo-quick@$NAME"
expect_eq "after boot 2 every piece is there exactly once" "$FULL" "$(pieces)"
expect_eq "and the firewall's own rules, once" 2 "$(fw_rules)"
log "boot 2, colo-quick@$NAME:"
in_ct journalctl -b -o short-monotonic -u "colo-quick@$NAME" 2>&1 | tail -n 4 | sed 's/^/#   /'
works "after boot 2"

# --- stop -------------------------------------------------------------------
expect_ok "systemctl stop colo-quick@$NAME" in_ct systemctl stop "colo-quick@$NAME"
expect_eq "the namespace is bare again" "$BARE" "$(pieces)"
expect_eq "the br_netfilter sysctls are as they were" "$NFCALL" \
	"$(on_shost sysctl -n net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables | tr '\n' ' ')"
expect_eq "and the firewall's own rules stayed" 2 "$(fw_rules)"

ktap_finished
