#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# colo-quick on the build host, without the module: the config checks (file,
# line, reason; every mistake at once), the shipped examples, the command
# line, down, sync and show from the state file alone, and the systemd units
# (systemd-analyze verify). The setup itself
# needs the module: selftests/colo_quick.sh runs it in the test guest.
# Output: TAP lines, counted by tests/run.sh.

cd "$(dirname "$0")/.." || exit 1

n=0
pass() { n=$((n + 1)); echo "ok $n - $1"; }
fail() { n=$((n + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
skip() { n=$((n + 1)); echo "ok $n - $1 # skip $2"; }

tmp=$(mktemp -d)
ns=colo-quick-test-$$
trap 'ip netns del "$ns" 2>/dev/null; rm -rf "$tmp"' EXIT

# devices for the examples and the checks, in a namespace of our own
if [ "$(id -u)" = 0 ] && ip netns add "$ns" 2>/dev/null &&
   ip -n "$ns" link add tap0 type veth peer name cable0 &&
   ip -n "$ns" link add tap1 type veth peer name peer1 &&
   ip -n "$ns" link add br0 type bridge 2>/dev/null &&
   ip -n "$ns" link set tap1 master br0; then
	IN=(ip netns exec "$ns")
else
	skip "colo-quick checks" "needs root, network namespaces, veth and bridge"
	echo "1..$n"
	exit 0
fi
# (cable0 cannot be a bridge port and the primary's link at once: the
# secondary example gets a namespace of its own)
ns2=$ns-2
trap 'ip netns del "$ns" 2>/dev/null; ip netns del "$ns2" 2>/dev/null; rm -rf "$tmp"' EXIT
ip netns add "$ns2" && ip -n "$ns2" link add br0 type bridge &&
	ip -n "$ns2" link add tap1 type veth peer name cable0 &&
	ip -n "$ns2" link set tap1 master br0 && ip -n "$ns2" link set cable0 master br0

# check NAME EXIT PATTERN NS -- ARGS: colo-quick's exit status and a fixed
# string its output must contain ("" for no check)
check() {
	local name=$1 want_rc=$2 want=$3 where=$4 out rc
	shift 5
	out=$(ip netns exec "$where" ./colo-quick "$@" 2>&1)
	rc=$?
	if [ "$rc" != "$want_rc" ]; then
		fail "$name" "colo-quick $* exited $rc, expected $want_rc" "output: $out"
	elif [ -n "$want" ] && ! grep -qF -- "$want" <<<"$out"; then
		fail "$name" "expected: $want" "saw: $out"
	else
		pass "$name"
	fi
}

check "the primary example is a valid file" 0 "examples/primary.conf: ok" "$ns" -- check examples/primary.conf
check "the secondary example is a valid file" 0 "examples/secondary.conf: ok" "$ns2" -- check examples/secondary.conf
check "no command is a usage error" 2 "Usage: colo-quick up CONFIG" "$ns" --
check "an unknown command" 2 'colo-quick: unknown command "start"' "$ns" -- start x
check "an unexpected argument" 2 'colo-quick: unexpected argument "--force"' "$ns" -- check examples/primary.conf --force
check "a missing file" 1 "$tmp/none.conf: cannot read it: No such file or directory" "$ns" -- check "$tmp/none.conf"
COLO_QUICK_CONFIG_DIR=$tmp check "a name is looked up in COLO_QUICK_CONFIG_DIR" 1 "$tmp/none.conf: cannot read it" "$ns" -- check none
mkdir "$tmp/bad name"
cp examples/primary.conf "$tmp/bad name/x y.conf"
check "a name that cannot be a name" 1 'the name "x y" (from the file name)' "$ns" -- check "$tmp/bad name/x y.conf"

# conf NAME LINES...: a file in $tmp
conf() { local f=$tmp/$1.conf; shift; printf '%s\n' "$@" >"$f"; }
conf bad1 "[Instance]" "Role = tertiary" "Id = 0" "Id = 2" "Colour = red" \
	"[Host]" "Tap = nosuch" "Link" "Families = ipv4, ipx" \
	"[Guest]" "Address = 10.0.0.300, fd00::zz" "[Helper]" "Exec = x" "QMP = /q" \
	"[Disk]" "Size = 1"
out=$(COLO_QUICK_CONFIG_DIR=$tmp "${IN[@]}" ./colo-quick check bad1 2>&1)
want="$tmp/bad1.conf: Link missing in [Host]
$tmp/bad1.conf:2: Role must be primary or secondary, not \"tertiary\"
$tmp/bad1.conf:3: Id must be an instance number from 1 to 4294967295, not \"0\"
$tmp/bad1.conf:4: Id given twice (first on line 3)
$tmp/bad1.conf:5: unknown key Colour in [Instance] (known: Role Id Timeout MaxQueue MaxBytes FailOpen MaxFlows)
$tmp/bad1.conf:7: Tap: no device \"nosuch\" in this network namespace
$tmp/bad1.conf:8: expected \"Key = value\" or \"[Section]\", saw \"Link\"
$tmp/bad1.conf:9: Families: \"ipx\" is not ipv4 or ipv6
$tmp/bad1.conf:11: Address: \"10.0.0.300\" is not an IPv4 or IPv6 address
$tmp/bad1.conf:11: Address: \"fd00::zz\" is not an IPv4 or IPv6 address
$tmp/bad1.conf:11: Address needs the guest's MAC (MAC = ...)
$tmp/bad1.conf:14: Exec and QMP are two kinds of helper: give one
$tmp/bad1.conf:15: unknown section [Disk] (known: Instance Host Guest Helper)"
if [ "$out" = "$want" ]; then
	pass "every mistake of a file at once, in line order, with file, line and reason"
else
	fail "every mistake of a file at once, in line order, with file, line and reason" \
		"diff expected seen:" "$(diff <(echo "$want") <(echo "$out") | tr '\n' '|')"
fi
conf bad2 "Role = primary" "[Instance]" "Role = secondary" "Id = 1" "Timeout = soon" \
	"MaxBytes = 3X" "[Host]" "Tap = tap0" "Link = tap0" "Bridged = maybe" "[Guest]" \
	"Address = 10.0.0.2" "MAC = 52:54:00:12:34" "[Helper]" "Drain = 60001"
out=$(COLO_QUICK_CONFIG_DIR=$tmp "${IN[@]}" ./colo-quick check bad2 2>&1)
for w in "bad2.conf:1: Role outside a section" \
	 'bad2.conf:5: Timeout must be a decimal number, not "soon"' \
	 'bad2.conf:6: MaxBytes must be a byte count (e.g. 32M), not "3X"' \
	 "bad2.conf:9: Link must not be the Tap" \
	 'bad2.conf:10: Bridged must be yes or no, not "maybe"' \
	 "bad2.conf:10: Bridged is for the primary host (Role = primary)" \
	 "bad2.conf:12: Address is for the primary host (Role = primary)" \
	 'bad2.conf:13: MAC must be six hex bytes with colons, not "52:54:00:12:34"' \
	 "bad2.conf:15: Drain must be 0 to 60000 ms, not 60001" \
	 "bad2.conf:15: Drain goes with QMP" \
	 'bad2.conf:8: Tap: "tap0" must be a port of the bridge'; do
	if grep -qF -- "$w" <<<"$out"; then
		pass "refused: ${w#*: }"
	else
		fail "refused: ${w#*: }" "saw: $out"
	fi
done
conf addrs "[Instance]" "Role = primary" "Id = 1" "[Host]" "Tap = tap0" "Link = cable0" "[Guest]" \
	"Address = 10.0.0.2, fd00::2, ::ffff:10.0.0.1, 1:2:3:4:5:6:7:8, 1:2:3:4:5:6:7, fe80::1:2:3:4:5:6:7, 1::2::3, 12345::1, 10.1.2.256, ::1" \
	"MAC = 52:54:00:12:34:56"
out=$(COLO_QUICK_CONFIG_DIR=$tmp "${IN[@]}" ./colo-quick check addrs 2>&1)
bad=$(sed -n 's/.*Address: "\([^"]*\)" is not.*/\1/p' <<<"$out" | tr '\n' ' ')
if [ "$bad" = "1:2:3:4:5:6:7 fe80::1:2:3:4:5:6:7 1::2::3 12345::1 10.1.2.256 " ]; then
	pass "Address: each malformed IPv4 and IPv6 address refused, the good ones taken"
else
	fail "Address: each malformed IPv4 and IPv6 address refused, the good ones taken" \
		"expected refused: 1:2:3:4:5:6:7 fe80::1:2:3:4:5:6:7 1::2::3 12345::1 10.1.2.256" "saw: $out"
fi
conf bridged "[Instance]" "Role = primary" "Id = 1" "[Host]" "Tap = tap0" "Link = cable0" "Bridged = yes"
check "Bridged = yes for a tap in no bridge" 1 'Bridged = yes, but "tap0" is in no bridge' "$ns" -- check "$tmp/bridged.conf"
check "down of a name that is not up" 1 "is not up" "$ns" -- down examples/primary.conf

# down and show from the state file alone (a config deleted or made invalid
# after up), and a piece down cannot remove kept for a second down; a fake
# coloctl stands for the module's instance
run=$tmp/run
netdir=$run/net$("${IN[@]}" stat -L -c %i /proc/self/ns/net)
mkdir -p "$netdir"
cat >"$tmp/fakectl" <<EOF
#!/bin/sh
echo "\$*" >>"$tmp/fakectl.log"
[ "\$1 \$2" = "instance del" ] && [ -n "\$FAIL_DEL" ] && { echo "refused" >&2; exit 1; }
[ "\$1 \$2" = "instance show" ] && echo "instance \$3"
exit 0
EOF
chmod +x "$tmp/fakectl"
rule="rule iptables mangle PREROUTING -i tap0 -m comment --comment 'colo-quick gone' -j COLO --instance 5 --primary"
printf '%s\n' "# config $tmp/gone.conf" "instance 5" "$rule" >"$netdir/gone.state"
# quick WANT_RC NAME ARGS...: check's, with the fake coloctl and state dir
quick() {
	local want_rc=$1 name=$2
	shift 2
	COLO_QUICK_CONFIG_DIR=$tmp COLO_QUICK_STATE_DIR=$run COLOCTL=$tmp/fakectl \
		check "$name" "$want_rc" "$@"
}
quick 0 "show with the config gone: from the state file" \
	"colo-quick: gone: cannot use $tmp/gone.conf: showing what the state file $netdir/gone.state records" \
	"$ns" -- show gone
quick 0 "show with the config gone: role and instance from the state file" \
	"gone: up (primary host, instance 5)" "$ns" -- show gone
: >"$tmp/fakectl.log"
FAIL_DEL=1 quick 1 "down with a failing step: fails, naming it" \
	'colo-quick: gone: could not undo "instance 5": refused' "$ns" -- down gone
want="# config $tmp/gone.conf
instance 5"
seen=$(cat "$netdir/gone.state" 2>&1)
if [ "$seen" = "$want" ]; then
	pass "down with a failing step keeps that piece in the state file, not the rule that is not there"
else
	fail "down with a failing step keeps that piece in the state file, not the rule that is not there" \
		"expected: $(tr '\n' '|' <<<"$want")" "saw: $(tr '\n' '|' <<<"$seen")"
fi
quick 0 "a second down removes what is left, without the config" \
	"colo-quick: gone: cannot use $tmp/gone.conf: removing what the state file $netdir/gone.state records" \
	"$ns" -- down gone
if [ "$(grep -c '^instance del 5$' "$tmp/fakectl.log")" = 2 ] && [ ! -e "$netdir/gone.state" ]; then
	pass "the second down deleted the instance and the state file"
else
	fail "the second down deleted the instance and the state file" \
		"coloctl ran: $(tr '\n' '|' <"$tmp/fakectl.log")" "state: $(ls "$netdir")"
fi
quick 1 "down twice without the config: not up" "gone is not up" "$ns" -- down gone
conf inval "[Instance]" "Role = primary" "Id = none"
printf '%s\n' "# config $tmp/inval.conf" "instance 6" >"$netdir/inval.state"
quick 0 "down with an invalid config works from the state file" \
	"colo-quick: inval: cannot use $tmp/inval.conf: removing what the state file" "$ns" -- down inval
quick 1 "show of a name down without a config is the config's error" \
	"$tmp/gone.conf: cannot read it" "$ns" -- show gone

# sync from the state file alone: fake iptables-save/-restore and nft log
# what sync puts back (iptables-save shows no rule: all are missing)
mkdir -p "$tmp/bin"
for b in iptables ip6tables; do
	printf '%s\n' '#!/bin/sh' 'echo "*raw"; echo COMMIT' >"$tmp/bin/$b-save"
	printf '%s\n' '#!/bin/sh' "cat >>\"$tmp/restore.log\"" >"$tmp/bin/$b-restore"
done
# shellcheck disable=SC2016 # $1 is the fake nft's
printf '%s\n' '#!/bin/sh' '[ "$1" = list ] && exit 1' "cat >>\"$tmp/nft.log\"" >"$tmp/bin/nft"
chmod +x "$tmp/bin"/*
cm="'-m' 'comment' '--comment' 'colo-quick sy'"
sy_state() # the state of sy: instance 5 up with its Link cable0; $1: its nft line
{
	printf '%s\n' "# config $tmp/sy.conf" "instance 5" \
		"rule iptables mangle PREROUTING -i tap0 $cm -j COLO --instance 5 --primary" \
		"rule iptables raw PREROUTING -i cable0 $cm -j COLO --instance 5 --secondary" \
		"$1" >"$netdir/sy.state"
	: >"$tmp/restore.log"
	: >"$tmp/nft.log"
}
# putback NAME: did sync put back instance 5's rules and the table on cable0?
putback() {
	if grep -qx -- "-A PREROUTING -i cable0 -m comment --comment \"colo-quick sy\" -j COLO --instance 5 --secondary" \
		"$tmp/restore.log" && ! grep -q -- "--instance [^5]" "$tmp/restore.log" &&
	   grep -q 'table netdev colo_sy' "$tmp/nft.log" && grep -q 'device "cable0"' "$tmp/nft.log"; then
		pass "$1"
	else
		fail "$1" "restore: $(tr '\n' '|' <"$tmp/restore.log")" "nft: $(tr '\n' '|' <"$tmp/nft.log")"
	fi
}
sy_state "nft colo_sy cable0"
PATH=$tmp/bin:$PATH quick 0 "sync with the config gone: from the state file" \
	"colo-quick: sy: cannot use $tmp/sy.conf: putting back what the state file $netdir/sy.state records" \
	"$ns" -- sync sy
putback "sync with the config gone put back the rules and the table up recorded"
sy_state "nft colo_sy cable0"
conf sy "[Instance]" "Role = primary" "Id = 6" "[Host]" "Tap = tap0" "Link = cable0" "Families = ipv4"
PATH=$tmp/bin:$PATH quick 0 "sync with the config's Id changed since up: from the state file" \
	"colo-quick: sy: $tmp/sy.conf is not what is up: putting back what the state file $netdir/sy.state records" \
	"$ns" -- sync sy
putback "sync with the config's Id changed put back instance 5's rules, not 6's"
quick 0 "show with the config's Id changed: the instance that is up" \
	"sy: up (primary host, instance 5)" "$ns" -- show sy
quick 0 "show with the config's Id changed says so" \
	"colo-quick: sy: $tmp/sy.conf is not what is up: showing what the state file" "$ns" -- show sy
conf sy "[Instance]" "Role = primary" "Id = 5" "[Host]" "Tap = tap0" "Link = cable0" "Families = ipv4"
out=$(COLO_QUICK_CONFIG_DIR=$tmp COLO_QUICK_STATE_DIR=$run COLOCTL=$tmp/fakectl PATH=$tmp/bin:$PATH \
	"${IN[@]}" ./colo-quick sync sy 2>&1)
want="colo-quick: sy: $netdir/sy.state, of an older colo-quick, records no config: of $tmp/sy.conf only Id, Role, Tap, Link, Bridged and Families were compared with what is up (an edit of another key goes unseen until down and up)
colo-quick: sy: in sync (3 put back)"
if [ "$out" = "$want" ]; then
	pass "sync of an older state file with the config that is up: only that its edit check is partial"
else
	fail "sync of an older state file with the config that is up: only that its edit check is partial" \
		"expected: $(tr '\n' '|' <<<"$want")" "saw: $(tr '\n' '|' <<<"$out")"
fi
conf sy "[Instance]" "Role = primary" "Id = 6" "[Host]" "Tap = tap0" "Link = cable0" \
	"Families = ipv4" "[Helper]" "Exec = true"
: >"$tmp/fakectl.log"
quick 0 "helper with the config's Id changed since up says so" \
	"colo-quick: sy: $tmp/sy.conf says Id 6, but instance 5 is up: serving 5" "$ns" -- helper sy
if [ "$(cat "$tmp/fakectl.log")" = "monitor --instance 5 --exec true" ]; then
	pass "helper with the config's Id changed serves the instance that is up"
else
	fail "helper with the config's Id changed serves the instance that is up" \
		"expected coloctl to run: monitor --instance 5 --exec true" "saw: $(tr '\n' '|' <"$tmp/fakectl.log")"
fi
rm "$tmp/sy.conf"
sy_state "nft colo_sy"
PATH=$tmp/bin:$PATH quick 0 "sync of an older state file (its nft line without the device)" \
	"colo-quick: sy: in sync (3 put back)" "$ns" -- sync sy
putback "the table goes on the link of the state's rule"
sed -i '/ raw /d' "$netdir/sy.state"
PATH=$tmp/bin:$PATH quick 1 "an older state file without the link's rule: sync says what to do" \
	"the nft table colo_sy is missing, and $netdir/sy.state (of an older colo-quick) does not say its device: colo-quick down sy, then up" \
	"$ns" -- sync sy
rm -f "$netdir/sy.state"

# up on the build host (fake modprobe, iptables, tc, nft, ip neigh: they
# log what they are asked to do; the devices are the namespace's), then
# the config edited: up records every key it was given, and sync, show,
# check and helper name each key that differs from what up applied, and
# act on that; down removes what up added whatever the edit
ub=$tmp/upbin
mkdir -p "$ub"
realip=$(command -v ip)
cat >"$ub/fake" <<EOF2
#!/bin/bash
me=\${0##*/}
[ "\$me" = ip ] && [ "\$1" != neigh ] && exec "$realip" "\$@"
echo "\$me \$*" >>"$tmp/up.log"
case "\$me \$1 \$2" in
"nft -f -") cat >>"$tmp/up.log" ;;
"iptables-restore -w" | "ip6tables-restore -w") cat >>"$tmp/up.log" ;;
"iptables-save "* | "ip6tables-save "*) echo "*raw"; echo COMMIT ;;
"tc qdisc show") echo "qdisc clsact ffff: parent ffff:fff1" ;;
"tc filter show") echo "filter protocol all pref 49152 matchall" ;;
"ip neigh show") echo "\$3 PERMANENT" ;;
"sysctl -n "*) echo 1 ;;
esac
exit 0
EOF2
chmod +x "$ub/fake"
for b in modprobe iptables ip6tables iptables-save ip6tables-save iptables-restore \
	 ip6tables-restore tc nft sysctl ip; do
	ln -s fake "$ub/$b"
done
edconf=("[Instance]" "Role = primary" "Id = 7" "Timeout = 100" "MaxQueue = 64" \
	"MaxBytes = 1M" "FailOpen = 2000" "MaxFlows = 100" "[Host]" "Tap = tap0" \
	"Link = cable0" "Families = ipv4, ipv6" "[Guest]" "Address = 10.0.0.2, fd00::2" \
	"MAC = 52:54:00:12:34:56" "[Helper]" "QMP = /run/ed.qmp" "Drain = 20" \
	"Takeover = /bin/true")
edstate=$netdir/ed.state
# ed_conf [SED]: the config ed, edited by SED
ed_conf() { conf ed "${edconf[@]}"; [ -z "$1" ] || sed -i "$1" "$tmp/ed.conf"; }
# upq WANT_RC NAME WANT ARGS...: quick with the fakes
upq() { PATH=$ub:$PATH quick "$@"; }
ed_conf
upq 0 "up of a config with every key (fakes for the tools)" \
	"colo-quick: ed: up (primary host, instance 7)" "$ns" -- up ed --no-helper
want="cfg Role=primary
cfg Id=7
cfg Timeout=100
cfg MaxQueue=64
cfg MaxBytes=1M
cfg FailOpen=2000
cfg MaxFlows=100
cfg Tap=tap0
cfg Link=cable0
cfg Bridged=no
cfg Families=ipv4,ipv6
cfg Address=10.0.0.2,fd00::2
cfg MAC=52:54:00:12:34:56
cfg QMP=/run/ed.qmp
cfg Drain=20
cfg Takeover=/bin/true"
seen=$(grep '^cfg ' "$edstate" 2>&1)
if [ "$seen" = "$want" ]; then
	pass "up records every key of the config in the state file, normalised"
else
	fail "up records every key of the config in the state file, normalised" \
		"diff expected seen: $(diff <(echo "$want") <(echo "$seen") | tr '\n' '|')"
fi
upq 0 "show lists the config up applied" "  cfg Timeout=100" "$ns" -- show ed
# comments, blank lines, spaces, the order of sections and keys, a
# default spelt out, case and leading zeros: not an edit
conf ed "# ed, rewritten" "" "[Helper]" "Takeover=/bin/true # same" "Drain = 020" \
	"QMP   =   /run/ed.qmp" "[Guest]" "MAC = 52:54:00:12:34:56" \
	"Address = 10.0.0.2,fd00::2" "[Host]" "   Families = ipv4   ipv6" "Bridged = no" \
	"Link = cable0" "Tap = tap0" "" "[Instance]" "MaxFlows = 100" "FailOpen = 2000" \
	"MaxBytes = 1M" "MaxQueue = 64" "Timeout = 0100  # ms" "Id = 7" "Role = primary"
for c in sync show check; do
	out=$(COLO_QUICK_CONFIG_DIR=$tmp COLO_QUICK_STATE_DIR=$run COLOCTL=$tmp/fakectl \
		PATH=$ub:$PATH "${IN[@]}" ./colo-quick $c ed 2>&1 >/dev/null)
	if [ -z "$out" ]; then
		pass "$c: an edit of comments, spaces and order only is no change"
	else
		fail "$c: an edit of comments, spaces and order only is no change" "saw: $out"
	fi
done
out=$(COLO_QUICK_CONFIG_DIR=$tmp COLO_QUICK_STATE_DIR=$run COLOCTL=$tmp/fakectl \
	PATH=$ub:$PATH "${IN[@]}" ./colo-quick sync ed 2>&1)
if [ "$out" = "colo-quick: ed: in sync (4 put back)" ]; then
	pass "sync with the config that is up says nothing of the state file"
else
	fail "sync with the config that is up says nothing of the state file" "saw: $out"
fi
# each key edited (KEYS the keys named|SED)
for e in "Role, Address, MAC|s/^Role = .*/Role = secondary/;/^Address/d;/^MAC/d" \
	 "Id|s/^Id = 7/Id = 8/" "Timeout|s/^Timeout = 100/Timeout = 150/" \
	 "MaxQueue|s/^MaxQueue = 64/MaxQueue = 65/" "MaxBytes|s/^MaxBytes = 1M/MaxBytes = 2M/" \
	 "FailOpen|s/^FailOpen = 2000/FailOpen = 0/" "MaxFlows|/^MaxFlows/d" \
	 "Tap|s/^Tap = tap0/Tap = tap9/" "Link|s/^Link = cable0/Link = cable9/" \
	 "Bridged|/^Families/i Bridged = yes" "Families|s/^Families = .*/Families = ipv4/" \
	 "Address|s/10.0.0.2,/10.0.0.3,/" "MAC|s/:56\$/:57/" "QMP|s|^QMP = .*|QMP = /run/x.qmp|" \
	 "Drain|s/^Drain = 20/Drain = 30/" "Takeover|s|^Takeover = .*|Takeover = /bin/false|" \
	 "Exec, QMP, Drain, Takeover|s|^QMP = .*|Exec = /bin/true|;/^Drain/d;/^Takeover/d" \
	 "Timeout, Address|s/^Timeout = 100/Timeout = 1/;s/fd00::2/fd00::3/"; do
	ed_conf "${e#*|}"
	upq 0 "sync names the keys edited since up: ${e%%|*}" \
		"colo-quick: ed: $tmp/ed.conf changed since up (${e%%|*}): putting back what up applied, which the state file $edstate records; apply the file with: colo-quick down ed && colo-quick up ed" \
		"$ns" -- sync ed
	upq 0 "show names them: ${e%%|*}" \
		"colo-quick: ed: $tmp/ed.conf changed since up (${e%%|*}): showing what up applied" \
		"$ns" -- show ed
done
ed_conf "s/^Timeout = 100/Timeout = 150/"
upq 0 "show after an edit: the value up applied" "  cfg Timeout=100" "$ns" -- show ed
upq 0 "check names the keys edited since up" \
	"colo-quick: ed: $tmp/ed.conf changed since up (Timeout): ed runs what up applied" \
	"$ns" -- check ed
ed_conf "s|^QMP = .*|QMP = /run/x.qmp|;s/^Id = 7/Id = 8/"
: >"$tmp/fakectl.log"
upq 0 "helper names the keys edited since up" \
	"colo-quick: ed: $tmp/ed.conf changed since up (Id, QMP): running the helper of what up applied" \
	"$ns" -- helper ed
if [ "$(cat "$tmp/fakectl.log")" = "qemu watch 7 --qmp /run/ed.qmp --drain 20 --takeover /bin/true" ]; then
	pass "helper after an edit runs the helper up applied"
else
	fail "helper after an edit runs the helper up applied" \
		"expected coloctl to run: qemu watch 7 --qmp /run/ed.qmp --drain 20 --takeover /bin/true" \
		"saw: $(tr '\n' '|' <"$tmp/fakectl.log")"
fi
# down: what it undoes with the config as up had it, and after an edit
ed_conf
: >"$tmp/up.log"
: >"$tmp/fakectl.log"
upq 0 "down of the config as it was up" "colo-quick: ed: down" "$ns" -- down ed
undo_same=$(cat "$tmp/up.log" "$tmp/fakectl.log")
upq 0 "up again (its config to be edited)" "colo-quick: ed: up" "$ns" -- up ed --no-helper
ed_conf "s/^Id = 7/Id = 8/;s/^Tap = tap0/Tap = tap1/;s/^Link = cable0/Link = peer1/;s/10.0.0.2,/10.0.0.3,/;s/^Timeout = 100/Timeout = 1/;s/^Families = .*/Families = ipv6/"
: >"$tmp/up.log"
: >"$tmp/fakectl.log"
upq 0 "down after an edit says which keys differ" \
	"colo-quick: ed: $tmp/ed.conf changed since up (Id, Timeout, Tap, Link, Families, Address): removing what up applied, which the state file $edstate records; colo-quick up ed then applies the file" \
	"$ns" -- down ed
undo_edit=$(cat "$tmp/up.log" "$tmp/fakectl.log")
if [ "$undo_edit" = "$undo_same" ] && [ ! -e "$edstate" ] &&
   grep -q "^instance del 7$" <<<"$undo_edit" &&
   grep -q "^ip neigh del 10.0.0.2 dev tap0$" <<<"$undo_edit" &&
   grep -q "^ip6tables -w -t raw -D PREROUTING -i cable0 " <<<"$undo_edit" &&
   grep -q "^nft delete table netdev colo_ed$" <<<"$undo_edit"; then
	pass "down after an edit removes exactly what up added (as without the edit)"
else
	fail "down after an edit removes exactly what up added (as without the edit)" \
		"without the edit: $(tr '\n' '|' <<<"$undo_same")" "after it: $(tr '\n' '|' <<<"$undo_edit")"
fi
# a state file of an older colo-quick (no cfg lines): today's comparison of
# the instance, rules and table, and a word that it is only that
ed_conf
upq 0 "up (its state to be made an older colo-quick's)" "colo-quick: ed: up" "$ns" -- up ed --no-helper
sed -i '/^cfg /d' "$edstate"
older="colo-quick: ed: $edstate, of an older colo-quick, records no config: of $tmp/ed.conf only Id, Role, Tap, Link, Bridged and Families were compared with what is up"
ed_conf "s/^Timeout = 100/Timeout = 150/"
upq 0 "sync of an older state file says the edit check is partial" "$older" "$ns" -- sync ed
upq 0 "show of an older state file says it too" "$older" "$ns" -- show ed
ed_conf "s/^Id = 7/Id = 8/"
upq 0 "an older state file: an edited Id is still seen" \
	"colo-quick: ed: $tmp/ed.conf is not what is up: putting back what the state file $edstate records" \
	"$ns" -- sync ed
: >"$tmp/fakectl.log"
upq 0 "down of an older state file after an edit" "colo-quick: ed: down" "$ns" -- down ed
if grep -qx "instance del 7" "$tmp/fakectl.log" && [ ! -e "$edstate" ]; then
	pass "down of an older state file removed instance 7, the one up added"
else
	fail "down of an older state file removed instance 7, the one up added" \
		"coloctl ran: $(tr '\n' '|' <"$tmp/fakectl.log")" "state: $(ls "$netdir")"
fi

# the systemd units, as installed, with this tree's colo-quick
if command -v systemd-analyze >/dev/null; then
	for u in colo-quick@ colo-quick-helper@; do
		sed "s|@SBINDIR@|$PWD|g" "systemd/$u.service" >"$tmp/${u}g1.service"
	done
	out=$(SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no \
		"$tmp/colo-quick@g1.service" "$tmp/colo-quick-helper@g1.service" 2>&1)
	if [ -z "$out" ]; then
		pass "systemd-analyze verify finds nothing in the units"
	else
		fail "systemd-analyze verify finds nothing in the units" "saw: $out"
	fi
else
	skip "systemd-analyze verify finds nothing in the units" "no systemd-analyze"
fi

# the man page: every key and command it must document
man=$(sed -e 's/\\f[BIRP]//g' -e 's/\\-/-/g' colo-quick.8)
for w in up down sync sync-all show check helper --no-helper Role Id Timeout MaxQueue \
	 MaxBytes FailOpen MaxFlows Tap Link Bridged Families Address MAC Exec QMP Drain \
	 Takeover colo-quick@NAME.service colo-quick-helper@NAME.service; do
	grep -qF -- "$w" <<<"$man" || echo "$w"
done >"$tmp/missing"
if [ -s "$tmp/missing" ]; then
	fail "colo-quick.8 documents every command and key" "missing: $(tr '\n' ' ' <"$tmp/missing")"
else
	pass "colo-quick.8 documents every command and key"
fi
w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l colo-quick.8 2>&1 >/dev/null)
if [ -z "$w" ]; then
	pass "colo-quick.8 renders without warnings"
else
	fail "colo-quick.8 renders without warnings" "saw: $w"
fi
echo "1..$n"
