#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# colo-quick brings a protected pair up from one config file per host:
#   - what `colo-quick up` sets up on each host is what the README's setup
#     page (and the other selftests, by hand) sets up: the instance, the
#     rules of both families, the mirror, the ARP drop, the guest's
#     neighbours, the br_netfilter sysctls;
#   - a bad file is refused with file, line and reason before anything
#     changes; `up` twice is refused and adds nothing;
#   - the pair is protected: a client gets its answers, compared, and a
#     divergence is answered by the helper the config names;
#   - after a firewall reload (nft flush ruleset), `sync-all` puts back
#     exactly what went; `sync` puts back nothing when nothing is missing,
#     and the one rule that is when one is;
#   - a step that fails undoes the steps before it;
#   - `down` removes what `up` added and nothing else;
#   - with the config made invalid or deleted after `up`, `show` and `down`
#     work from the state file and say so; a piece `down` cannot remove
#     stays in the state file, and a second `down` removes it;
#   - after a firewall reload, `sync` and `sync-all` put back what is up
#     with the config made invalid, deleted, or given another Id since
#     `up` (the rules of the instance that is up, never the file's), and say
#     the config was not used; `show` shows the instance that is up;
#   - an edit of any other key (Timeout, Address) is named by sync, show
#     and down, which act on what up applied; comments are no edit;
#   - with the tap gone first (the VM destroyed: the usual order at
#     shutdown), `show` works and `down` removes what is left, names what it
#     skipped, and leaves alone a new device that took the tap's name.

source "$(dirname "$0")/lib/topology.sh"
source "$(dirname "$0")/lib/quick.sh"

PORT=5011
QUICK=$COLO_TOP/userspace/colo-quick
export COLOCTL

colo_require
trap colo_topology_cleanup EXIT

# --- the setup by hand, as the other selftests do it
colo_topology_setup || fail "expected the two-host topology to come up"
colo_setup_protection || fail "expected instance $COLO_ID and the rules by hand"
hand_p=$(colo_snapshot "$NS_PHOST")
hand_s=$(colo_snapshot "$NS_SHOST")
log "$hand_p"
colo_topology_cleanup
COLO_TMP=

# --- the same topology without protection; colo-quick adds it
COLO_TOPOLOGY_BARE=1 colo_topology_setup || fail "expected the bare topology to come up"
bare_p=$(colo_snapshot "$NS_PHOST")
bare_s=$(colo_snapshot "$NS_SHOST")
CONF=$COLO_TMP/etc
mkdir -p "$CONF"
colo_quick_helper "$COLO_TMP/do-checkpoint" || fail "expected the helper script"
cat >"$CONF/pri.conf" <<EOF
# the primary host of the selftests' pair
[Instance]
Role = primary
Id = $COLO_ID

[Host]
Tap = ptap
Link = cable

[Guest]
Address = $PG4, $PG6
MAC = $GUESTMAC

[Helper]
Exec = $COLO_TMP/do-checkpoint
EOF
cat >"$CONF/sec.conf" <<EOF
[Instance]
Role = secondary
Id = $COLO_ID

[Host]
Tap = stap
Link = cable
EOF
cat >"$CONF/bad.conf" <<EOF
[Instance]
Role = primary
Id = $COLO_ID
MaxBytes = lots
[Host]
Tap = ptap
Link = nosuch
[Guest]
Address = $PG4
EOF
export COLO_QUICK_CONFIG_DIR=$CONF COLO_QUICK_STATE_DIR=$COLO_TMP/run

out=$(ip netns exec "$NS_PHOST" "$QUICK" up bad 2>&1)
rc=$?
expect_eq "a bad file is refused" 1 "$rc"
expect_match "the refusal names file, line and reason" \
	"^$CONF/bad.conf:4: MaxBytes must be a byte count" "$out"
expect_match "every problem of the file at once" \
	"^$CONF/bad.conf:7: Link: no device \"nosuch\"" "$out"
expect_match "and what is missing" "Address needs the guest's MAC" "$out"
same_as "a refused file changes nothing" "$bare_p" "$(colo_snapshot "$NS_PHOST")"

expect_ok "colo-quick up pri on the primary host" \
	ip netns exec "$NS_PHOST" "$QUICK" up pri
expect_ok "colo-quick up sec on the secondary host" \
	ip netns exec "$NS_SHOST" "$QUICK" up sec
quick_p=$(colo_snapshot "$NS_PHOST")
quick_s=$(colo_snapshot "$NS_SHOST")
same_as "primary host: colo-quick set up what the hand-written setup does" "$hand_p" "$quick_p"
same_as "secondary host: colo-quick set up what the hand-written setup does" "$hand_s" "$quick_s"

out=$(ip netns exec "$NS_PHOST" "$QUICK" up pri 2>&1)
rc=$?
expect_eq "up twice is an error" 1 "$rc"
expect_match "saying it is up" "pri is up already" "$out"
same_as "up twice adds nothing" "$quick_p" "$(colo_snapshot "$NS_PHOST")"
expect_match "show lists what is up, each piece present" \
	"rule iptables raw PREROUTING -i cable" \
	"$(ip netns exec "$NS_PHOST" "$QUICK" show pri 2>&1)"

# --- the pair is protected (the secondary alters its 8th answer)
colo_quick_traffic $PORT

# --- what nft shows of iptables-nft's COLO rules, and why a dump is no backup
log "nft list table ip raw, primary host:"
log "$(on_phost nft list table ip raw 2>&1)"
on_phost nft list table ip raw >"$COLO_TMP/ruleset.nft"
expect_match "nft lists the COLO rules as xtables targets" 'xt target COLO$' \
	"$(cat "$COLO_TMP/ruleset.nft")"
out=$(ip netns exec "$NS_CLIENT" nft -f "$COLO_TMP/ruleset.nft" 2>&1)
rc=$?
log "nft -f of that table (in a namespace without it): exit $rc: $(head -c 400 <<<"$out")"
expect_match "nft -f cannot recreate them from a dump (README: use colo-quick sync or iptables-save)" \
	"exit [1-9].*unsupported xtables compat expression" "exit $rc: $out"
ip netns exec "$NS_CLIENT" nft flush ruleset 2>/dev/null

# --- a firewall reload
on_phost nft flush ruleset
on_shost nft flush ruleset
expect_match "nft flush ruleset took the rules away" "(missing)" \
	"$(ip netns exec "$NS_PHOST" "$QUICK" show pri 2>&1)"
expect_ok "colo-quick sync-all on the primary host" ip netns exec "$NS_PHOST" "$QUICK" sync-all
expect_ok "colo-quick sync-all on the secondary host" ip netns exec "$NS_SHOST" "$QUICK" sync-all
same_as "primary host: sync-all put back exactly what went" "$quick_p" "$(colo_snapshot "$NS_PHOST")"
same_as "secondary host: sync-all put back exactly what went" "$quick_s" "$(colo_snapshot "$NS_SHOST")"
expect_match "sync with nothing missing puts nothing back" "in sync \\(0 put back\\)" \
	"$(ip netns exec "$NS_PHOST" "$QUICK" sync pri 2>&1)"
# one rule of each host gone, the others there: sync finds which
on_phost ip6tables -w -t raw -D PREROUTING -i cable -m comment --comment "colo-quick pri" \
	-j COLO --instance "$COLO_ID" --secondary
on_shost iptables -w -t mangle -D PREROUTING -m physdev --physdev-in stap \
	-m comment --comment "colo-quick sec" -j COLO --instance "$COLO_ID" --rewrite
expect_match "one rule deleted on the primary host: sync puts back that one" "in sync \\(1 put back\\)" \
	"$(ip netns exec "$NS_PHOST" "$QUICK" sync pri 2>&1)"
expect_match "one on the secondary host (its --rewrite beside --rewrite-client)" "in sync \\(1 put back\\)" \
	"$(ip netns exec "$NS_SHOST" "$QUICK" sync sec 2>&1)"
same_as "primary host: as up left it" "$quick_p" "$(colo_snapshot "$NS_PHOST")"
same_as "secondary host: as up left it" "$quick_s" "$(colo_snapshot "$NS_SHOST")"

# --- down
helper=$(sed -n 's/^helper //p' "$COLO_QUICK_STATE_DIR"/net*/pri.state 2>/dev/null | head -n 1)
expect_ok "colo-quick down pri" ip netns exec "$NS_PHOST" "$QUICK" down pri
expect_ok "colo-quick down sec" ip netns exec "$NS_SHOST" "$QUICK" down sec
same_as "primary host: down removed what up added and nothing else" "$bare_p" "$(colo_snapshot "$NS_PHOST")"
same_as "secondary host: down removed what up added and nothing else" "$bare_s" "$(colo_snapshot "$NS_SHOST")"
expect_ok "down stopped the helper (pid ${helper:-none})" \
	busywait 5000 test -n "$helper" -a ! -d "/proc/${helper:-0}"
out=$(ip netns exec "$NS_PHOST" "$QUICK" down pri 2>&1)
expect_match "down of what is not up is an error" "pri is not up" "$out"

# --- down and show need only the state file: a config deleted or made
# invalid after up does not keep down from removing what up added
expect_ok "up pri (its config to be made invalid)" ip netns exec "$NS_PHOST" "$QUICK" up pri
helper=$(sed -n 's/^helper //p' "$COLO_QUICK_STATE_DIR"/net*/pri.state 2>/dev/null | head -n 1)
cp "$CONF/pri.conf" "$COLO_TMP/pri.conf.saved"
sed -i 's/^Id = .*/Id = none/' "$CONF/pri.conf"
out=$(ip netns exec "$NS_PHOST" "$QUICK" show pri 2>&1)
rc=$?
expect_eq "show with an invalid config succeeds" 0 "$rc" || log "$out"
expect_match "saying the config is not usable and the state file is used" \
	"^colo-quick: pri: cannot use $CONF/pri.conf: showing what the state file .*pri.state records$" "$out"
expect_match "with the config's mistake" "^$CONF/pri.conf:4: Id must be an instance number" "$out"
expect_match "the role and instance from the state file" \
	"^pri: up \(primary host, instance $COLO_ID\)$" "$out"
expect_match "each piece" "^  rule iptables raw PREROUTING -i cable .* --secondary$" "$out"
expect_match "and the instance (coloctl instance show)" "^instance $COLO_ID$" "$out"
out=$(ip netns exec "$NS_PHOST" "$QUICK" down pri 2>&1)
rc=$?
expect_eq "down with an invalid config succeeds" 0 "$rc" || log "$out"
expect_match "saying the config is not usable and the state file is used" \
	"^colo-quick: pri: cannot use $CONF/pri.conf: removing what the state file .*pri.state records$" "$out"
expect_match "and that pri is down" "^colo-quick: pri: down$" "$out"
same_as "down with an invalid config removed what up added" "$bare_p" "$(colo_snapshot "$NS_PHOST")"
expect_ok "and stopped the helper (pid ${helper:-none})" \
	busywait 5000 test -n "$helper" -a ! -d "/proc/${helper:-0}"
out=$(ip netns exec "$NS_PHOST" "$QUICK" down pri 2>&1)
rc=$?
expect_eq "down twice with an invalid config: the second is an error" 1 "$rc"
expect_match "saying pri is not up" "pri is not up" "$out"

cp "$COLO_TMP/pri.conf.saved" "$CONF/pri.conf"
expect_ok "up pri (its config to be deleted)" ip netns exec "$NS_PHOST" "$QUICK" up pri
rm "$CONF/pri.conf"
out=$(ip netns exec "$NS_PHOST" "$QUICK" show 2>&1)
rc=$?
expect_eq "show of every name with a config deleted succeeds" 0 "$rc" || log "$out"
expect_match "saying it cannot read the config" \
	"^colo-quick: .*pri.conf: cannot read it: No such file or directory$" "$out"
expect_match "and that it shows the state file" \
	"^colo-quick: pri: cannot use .*pri.conf: showing what the state file .*pri.state records$" "$out"
expect_match "and showing pri from its state file" "^pri: up \(primary host, instance $COLO_ID\)$" "$out"
out=$(ip netns exec "$NS_PHOST" "$QUICK" down pri 2>&1)
rc=$?
expect_eq "down with the config deleted succeeds" 0 "$rc" || log "$out"
expect_match "saying it cannot read the config and uses the state file" \
	"^colo-quick: pri: cannot use $CONF/pri.conf: removing what the state file .*pri.state records$" "$out"
expect_match "and that pri is down" "^colo-quick: pri: down$" "$out"
same_as "down with the config deleted removed what up added" "$bare_p" "$(colo_snapshot "$NS_PHOST")"
out=$(ip netns exec "$NS_PHOST" "$QUICK" down pri 2>&1)
rc=$?
expect_eq "down twice with the config deleted: the second is an error" 1 "$rc"
expect_match "saying pri is not up" "pri is not up" "$out"
cp "$COLO_TMP/pri.conf.saved" "$CONF/pri.conf"

# --- sync, too, needs only the state file: after a firewall reload it puts
# back what is up, also when the config was made invalid, deleted or
# edited since up (another Id: the rules of the instance that is up, not of
# the file's)
OTHER_ID=$((COLO_ID + 1))
# reload_sync WHAT ARGS...: a firewall reload, then colo-quick ARGS, into
# out and rc; the rules and the table are back as up made them
reload_sync()
{
	local what=$1
	shift
	on_phost nft flush ruleset
	out=$(ip netns exec "$NS_PHOST" "$QUICK" "$@" 2>&1)
	rc=$?
	expect_eq "$* with $what succeeds" 0 "$rc" || log "$out"
	same_as "$* with $what put back what is up" "$quick_p" "$(colo_snapshot "$NS_PHOST")"
}
expect_ok "up pri (its config to be made invalid, then sync)" \
	ip netns exec "$NS_PHOST" "$QUICK" up pri
sed -i 's/^Id = .*/Id = none/' "$CONF/pri.conf"
reload_sync "an invalid config" sync pri
expect_match "with the config's mistake" "^$CONF/pri.conf:4: Id must be an instance number" "$out"
expect_match "saying the config is not usable and the state file is used" \
	"^colo-quick: pri: cannot use $CONF/pri.conf: putting back what the state file .*pri.state records$" "$out"
expect_match "and what it put back" "^colo-quick: pri: in sync \([1-9][0-9]* put back\)$" "$out"
cp "$COLO_TMP/pri.conf.saved" "$CONF/pri.conf"
expect_ok "down pri" ip netns exec "$NS_PHOST" "$QUICK" down pri

expect_ok "up pri (its config to be deleted, then sync-all)" \
	ip netns exec "$NS_PHOST" "$QUICK" up pri
rm "$CONF/pri.conf"
reload_sync "the config deleted" sync-all
expect_match "saying it cannot read the config" \
	"^colo-quick: .*pri.conf: cannot read it: No such file or directory$" "$out"
expect_match "and that it puts back what the state file records" \
	"^colo-quick: pri: cannot use $CONF/pri.conf: putting back what the state file .*pri.state records$" "$out"
cp "$COLO_TMP/pri.conf.saved" "$CONF/pri.conf"
expect_ok "down pri" ip netns exec "$NS_PHOST" "$QUICK" down pri

expect_ok "up pri (its Id to be changed, then sync)" \
	ip netns exec "$NS_PHOST" "$QUICK" up pri
sed -i "s/^Id = .*/Id = $OTHER_ID/" "$CONF/pri.conf"
reload_sync "the config's Id changed to $OTHER_ID" sync pri
expect_match "saying the config changed since up (its Id) and the state file is used" \
	"^colo-quick: pri: $CONF/pri.conf changed since up \(Id\): putting back what up applied, which the state file .*pri.state records; apply the file with: colo-quick down pri && colo-quick up pri$" "$out"
expect_no_match "no rule for instance $OTHER_ID, the file's" "--instance $OTHER_ID " \
	"$(on_phost iptables-save; on_phost ip6tables-save)"
out=$(ip netns exec "$NS_PHOST" "$QUICK" show pri 2>&1)
expect_match "show: the instance that is up, not the file's" \
	"^pri: up \(primary host, instance $COLO_ID\)$" "$out"
expect_match "and coloctl's view of it" "^instance $COLO_ID$" "$out"
expect_match "saying the config changed since up (its Id)" \
	"^colo-quick: pri: $CONF/pri.conf changed since up \(Id\): showing what up applied, which the state file .*pri.state records; " "$out"
expect_ok "down pri with the Id changed" ip netns exec "$NS_PHOST" "$QUICK" down pri
same_as "down with the Id changed removed what up added" "$bare_p" "$(colo_snapshot "$NS_PHOST")"
cp "$COLO_TMP/pri.conf.saved" "$CONF/pri.conf"

# --- an edit that leaves the instance, rules and table as they are (a
# Timeout added, an Address dropped) is seen too: sync and show name the
# keys, nothing of the file's is applied, and down removes what up added;
# comments alone are no edit
expect_ok "up pri (its Timeout and Address to be edited)" \
	ip netns exec "$NS_PHOST" "$QUICK" up pri
sed -i -e "s/^Address = .*/Address = $PG4 # edited/" -e '/^Id = /a Timeout = 4000' "$CONF/pri.conf"
reload_sync "Timeout and Address edited" sync pri
expect_match "saying which keys changed since up" \
	"^colo-quick: pri: $CONF/pri.conf changed since up \(Timeout, Address\): putting back what up applied, .*; apply the file with: colo-quick down pri && colo-quick up pri$" "$out"
out=$(ip netns exec "$NS_PHOST" "$QUICK" show pri 2>&1)
expect_match "show names them" "^colo-quick: pri: $CONF/pri.conf changed since up \(Timeout, Address\): showing what up applied" "$out"
expect_match "and the addresses up applied" "^  cfg Address=$PG4,$PG6\$" "$out"
out=$(ip netns exec "$NS_PHOST" "$QUICK" down pri 2>&1)
rc=$?
expect_eq "down after the edit succeeds" 0 "$rc" || log "$out"
expect_match "naming the keys" "^colo-quick: pri: $CONF/pri.conf changed since up \(Timeout, Address\): removing what up applied" "$out"
same_as "down after the edit removed what up added" "$bare_p" "$(colo_snapshot "$NS_PHOST")"
{ echo "# comments and blank lines only"; echo; cat "$COLO_TMP/pri.conf.saved"; } >"$CONF/pri.conf"
expect_ok "up pri (its comments to be edited)" ip netns exec "$NS_PHOST" "$QUICK" up pri
sed -i -e 's/^\(Link = .*\)/\1   # the link/' -e '1i # another comment' "$CONF/pri.conf"
out=$(ip netns exec "$NS_PHOST" "$QUICK" sync pri 2>&1)
expect_eq "an edit of comments alone: sync says only that it is in sync" \
	"colo-quick: pri: in sync (0 put back)" "$out"
expect_ok "down pri" ip netns exec "$NS_PHOST" "$QUICK" down pri
cp "$COLO_TMP/pri.conf.saved" "$CONF/pri.conf"

# --- a piece down cannot remove stays in the state file, and a second down
# tries it again: coloctl refusing the instance's deletion, and a rule
# someone else deleted meanwhile (not there: nothing left to undo)
cat >"$COLO_TMP/coloctl-nodel" <<EOF
#!/bin/sh
[ "\$1 \$2" = "instance del" ] && { echo "refused for the test" >&2; exit 1; }
exec "$COLOCTL" "\$@"
EOF
chmod +x "$COLO_TMP/coloctl-nodel"
expect_ok "up pri (its instance's deletion to fail)" ip netns exec "$NS_PHOST" "$QUICK" up pri
on_phost ip6tables -w -t raw -D PREROUTING -i cable -m comment --comment "colo-quick pri" \
	-j COLO --instance "$COLO_ID" --secondary
out=$(COLOCTL=$COLO_TMP/coloctl-nodel ip netns exec "$NS_PHOST" "$QUICK" down pri 2>&1)
rc=$?
expect_eq "down with a step failing fails" 1 "$rc" || log "$out"
expect_match "naming the piece it could not remove" \
	"^colo-quick: pri: could not undo \"instance $COLO_ID\": refused for the test$" "$out"
expect_match "and the rule that was not there" \
	"^colo-quick: pri: could not undo \"rule ip6tables raw PREROUTING -i cable .*\": .* \(not there: nothing left to undo\)$" "$out"
expect_match "saying the state file keeps what is left" \
	"^colo-quick: pri: kept what could not be undone in .*pri.state: colo-quick down pri tries it again$" "$out"
expect_no_match "not saying pri is down" "pri: down$" "$out"
expect_no_match "the rest is removed: no rule of pri is left" "colo-quick pri" \
	"$(on_phost iptables-save; on_phost ip6tables-save)"
expect_fail "the nft table colo_pri is gone" on_phost nft list table netdev colo_pri
expect_ok "instance $COLO_ID is there still" on_phost "$COLOCTL" instance show "$COLO_ID"
out=$(ip netns exec "$NS_PHOST" "$QUICK" show pri 2>&1)
# (the pieces: the lines between show's first and coloctl's "instance N",
# but the config up applied, which is kept)
expect_eq "show lists the instance alone as left" "  instance $COLO_ID" \
	"$(sed -n '2,/^instance /{/^  cfg /d;/^  /p}' <<<"$out")"
out=$(ip netns exec "$NS_PHOST" "$QUICK" up pri 2>&1)
rc=$?
expect_eq "up meanwhile is an error" 1 "$rc"
expect_match "saying pri is up" "pri is up already" "$out"
out=$(ip netns exec "$NS_PHOST" "$QUICK" down pri 2>&1)
rc=$?
expect_eq "a second down, the deletion allowed, succeeds" 0 "$rc" || log "$out"
expect_match "saying pri is down" "^colo-quick: pri: down$" "$out"
same_as "and removed the rest" "$bare_p" "$(colo_snapshot "$NS_PHOST")"
expect_match "show says pri is down" "^pri: down$" "$(ip netns exec "$NS_PHOST" "$QUICK" show pri 2>&1)"

# --- a step that fails undoes the ones before it: a filter of someone
# else's where the mirror goes
on_phost tc qdisc add dev ptap clsact
on_phost tc filter add dev ptap egress pref 49152 protocol all u32 match u32 0 0 action pass
before=$(colo_snapshot "$NS_PHOST")
out=$(ip netns exec "$NS_PHOST" "$QUICK" up pri 2>&1)
rc=$?
expect_eq "up fails when its mirror cannot go in" 1 "$rc"
expect_match "saying which step failed" "the mirror from ptap to cable failed" "$out"
same_as "and undid the instance and the rules it had added" "$before" "$(colo_snapshot "$NS_PHOST")"
expect_ok "after which up is possible again" test ! -e "$COLO_QUICK_STATE_DIR"/net*/pri.state

# --- down after the VM went first (its tap deleted: the usual order at
# shutdown). down removes what up added that is still there, says what it
# skipped because its device is gone, and leaves alone what is not its own.
on_phost tc filter del dev ptap egress pref 49152
on_phost tc qdisc del dev ptap clsact
# what is not colo-quick's: rules on the same devices, an instance, a
# permanent neighbour, an nft netdev table
FOREIGN_ID=77
foreign_rule() # NS ACTION(-A/-C) DEV
{
	local ipt rc=0
	for ipt in iptables ip6tables; do
		ip netns exec "$1" "$ipt" -w -t mangle "$2" PREROUTING -i "$3" \
			-m comment --comment "not colo-quick" -j ACCEPT || rc=1
	done
	return $rc
}
foreign_rule "$NS_PHOST" -A ptap
foreign_rule "$NS_SHOST" -A stap
on_phost "$COLOCTL" instance add $FOREIGN_ID >/dev/null
on_shost "$COLOCTL" instance add $FOREIGN_ID >/dev/null
on_phost ip neigh replace 10.0.1.77 lladdr 02:c0:10:00:01:77 dev cli nud permanent
on_phost nft -f - <<-EOT
table netdev foreign {
	chain ingress {
		type filter hook ingress device "cli" priority 0; policy accept;
	}
}
EOT
before_p=$(colo_snapshot "$NS_PHOST")
before_s=$(colo_snapshot "$NS_SHOST")
expect_ok "up pri again (its tap to be deleted)" ip netns exec "$NS_PHOST" "$QUICK" up pri
expect_ok "up sec again (its tap to be deleted)" ip netns exec "$NS_SHOST" "$QUICK" up sec
helper=$(sed -n 's/^helper //p' "$COLO_QUICK_STATE_DIR"/net*/pri.state 2>/dev/null | head -n 1)
# the VMs are destroyed: their taps go
on_phost ip link del ptap
on_shost ip link del stap

out=$(ip netns exec "$NS_PHOST" "$QUICK" show pri 2>&1)
rc=$?
expect_eq "show with the tap gone succeeds" 0 "$rc" || log "$out"
expect_match "and shows the mirror missing" "^  filter ptap 49152 \(missing" "$out"
expect_match "and the rules on the tap there" \
	"^  rule iptables mangle PREROUTING -i ptap .* --primary$" "$out"

out=$(ip netns exec "$NS_PHOST" "$QUICK" down pri 2>&1)
rc=$?
expect_eq "down pri with the tap gone succeeds" 0 "$rc" || log "$out"
for piece in "filter ptap 49152" "qdisc ptap" "neigh $PG4 ptap" "neigh $PG6 ptap"; do
	expect_match "down says it skipped \"$piece\", gone with the tap" \
		"^colo-quick: pri: skipped \"$piece\": ptap is gone" "$out"
done
expect_match "and that pri is down" "^colo-quick: pri: down$" "$out"
# (the snapshot before had the tap, without anything on it)
same_as "primary host: down removed what was left of up and nothing else" \
	"$(grep -vx "# tc ptap" <<<"$before_p")" "$(colo_snapshot "$NS_PHOST")"
expect_fail "instance $COLO_ID is gone (coloctl)" on_phost "$COLOCTL" instance show "$COLO_ID"
expect_ok "instance $FOREIGN_ID, not colo-quick's, is there" \
	on_phost "$COLOCTL" instance show $FOREIGN_ID
expect_no_match "no rule of pri is left (iptables-save, ip6tables-save)" "colo-quick pri" \
	"$(on_phost iptables-save; on_phost ip6tables-save)"
expect_ok "the rules on ptap that are not colo-quick's are there" \
	foreign_rule "$NS_PHOST" -C ptap
expect_fail "the nft table colo_pri is gone" on_phost nft list table netdev colo_pri
expect_ok "the helper is stopped (pid ${helper:-none})" \
	busywait 5000 test -n "$helper" -a ! -d "/proc/${helper:-0}"
expect_ok "no state is left" test ! -e "$COLO_QUICK_STATE_DIR"/net*/pri.state
out=$(ip netns exec "$NS_PHOST" "$QUICK" down pri 2>&1)
rc=$?
expect_eq "down twice: the second is an error" 1 "$rc"
expect_match "saying pri is not up" "pri is not up" "$out"

out=$(ip netns exec "$NS_SHOST" "$QUICK" down sec 2>&1)
rc=$?
expect_eq "down sec with the tap gone succeeds" 0 "$rc" || log "$out"
same_as "secondary host: down removed what up added, sysctls set back, nothing else" \
	"$(grep -vx "# tc stap" <<<"$before_s")" "$(colo_snapshot "$NS_SHOST")"
expect_fail "instance $COLO_ID is gone on the secondary host" \
	on_shost "$COLOCTL" instance show "$COLO_ID"
expect_no_match "no rule of sec is left" "colo-quick sec" \
	"$(on_shost iptables-save; on_shost ip6tables-save)"
expect_ok "the rules on stap that are not colo-quick's are there" \
	foreign_rule "$NS_SHOST" -C stap

# --- the tap's name taken by another device (another VM's tap) and the
# link gone too: down leaves the new device's qdisc, filter and neighbours
new_tap()
{
	on_phost ip link add ptap type veth peer name ptap-peer &&
	on_phost ip link set ptap up
}
new_tap || fail "expected a new device ptap"
expect_ok "up pri on a new ptap" ip netns exec "$NS_PHOST" "$QUICK" up pri
on_phost ip link del ptap
on_phost ip link del cable
new_tap || fail "expected another new device ptap"
on_phost tc qdisc add dev ptap clsact
on_phost tc filter add dev ptap egress pref 49152 protocol all u32 match u32 0 0 action pass
on_phost ip neigh replace $PG4 lladdr 02:c0:10:00:00:77 dev ptap nud permanent
out=$(ip netns exec "$NS_PHOST" "$QUICK" down pri 2>&1)
rc=$?
expect_eq "down pri with ptap another device and the link gone succeeds" 0 "$rc" || log "$out"
expect_match "down says it left the new ptap's filter alone" \
	"^colo-quick: pri: skipped \"filter ptap 49152\": ptap is another device now" "$out"
expect_match "the filter of the new ptap is there" "pref 49152 u32" \
	"$(on_phost tc filter show dev ptap egress)"
expect_match "its permanent neighbour too" "^$PG4 lladdr 02:c0:10:00:00:77 PERMANENT" \
	"$(on_phost ip neigh show $PG4 dev ptap nud permanent)"
expect_fail "the nft table colo_pri on the gone link is gone" \
	on_phost nft list table netdev colo_pri
expect_fail "instance $COLO_ID is gone" on_phost "$COLOCTL" instance show "$COLO_ID"
expect_no_match "no rule of pri is left" "colo-quick pri" \
	"$(on_phost iptables-save; on_phost ip6tables-save)"

ktap_finished
