#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Bad control input is refused with a message that says what is wrong
# (issue 3, test 10, the netlink half; colo_bad_rules.sh has the rules):
#   1. coloctl: out-of-range and malformed values, unknown arguments, a
#      missing instance, a duplicate add, deleting an instance a rule still
#      uses: non-zero exit and a message naming the problem.
#   2. The kernel, through raw generic netlink requests (tools/colo_genl.py;
#      coloctl would refuse these before sending): a missing, out-of-range,
#      unknown or wrongly sized attribute fails with EINVAL/ERANGE and an
#      extack message with the offending attribute's offset, or the missing
#      attribute named (NLMSGERR_ATTR_MISS_TYPE); an unknown command or a
#      notification sent as a request is not supported; a missing instance
#      is ENOENT with a message.  None of them creates an instance.
#   3. An unprivileged caller (uid 65534, no capabilities): coloctl add,
#      show, checkpoint, del and monitor fail with a "not permitted" message
#      (monitor at once, not blocking), the raw requests get EPERM, and
#      joining the events group is refused.

source "$(dirname "$0")/lib/topology.sh"

colo_require
require_cmd setpriv timeout
cleanup()
{
	cleanup_all_ns
	rm -rf "$COLO_TMP"
}
trap cleanup EXIT
setup_ns NS
ip -n "$NS" link add colo-x type dummy
ip -n "$NS" link set colo-x up
ID=$COLO_ID

ctl()
{
	ip netns exec "$NS" "$COLOCTL" "$@"
}

genl()
{
	ip netns exec "$NS" python3 "$COLO_TOOLS/colo_genl.py" "$@"
}

# expect_imatch DESC REGEX TEXT: expect_match, case-insensitive
expect_imatch()
{
	expect_match "$1" "$(tr '[:upper:]' '[:lower:]' <<<"$2")" \
		"$(tr '[:upper:]' '[:lower:]' <<<"$3")"
}

# refused DESC REGEX ARGS...: coloctl ARGS fails with a message matching
# REGEX (case-insensitive)
refused()
{
	local desc=$1 re=$2 out rc=0
	shift 2
	out=$(ctl "$@" 2>&1) || rc=$?
	if [ $rc -eq 0 ]; then
		ktap_test_fail "coloctl $*: $desc"
		echo "#   expected: failure with a message matching /$re/"
		echo "#   saw:      success: $out"
		return 1
	fi
	expect_imatch "coloctl $*: $desc" "$re" "$out"
}

# --- 1. coloctl
refused "instance 0 is out of range" 'instance' instance add 0
refused "instance 2^32 is out of range" 'instance' instance add 4294967296
refused "timeout below 10 ms" 'timeout.*(10|range)' instance add "$ID" timeout 5
refused "timeout above 3600000 ms" 'timeout.*(3600000|range)' instance add "$ID" timeout 3600001
refused "timeout not a number" 'timeout' instance add "$ID" timeout abc
refused "max-queue 0" 'max-queue.*(1|range)' instance add "$ID" max-queue 0
refused "max-queue above 65536" 'max-queue.*(65536|range)' instance add "$ID" max-queue 65537
refused "max-bytes below 65536" 'max-bytes.*(65536|64|range)' instance add "$ID" max-bytes 1000
refused "failopen above 3600000 ms" 'failopen.*(3600000|range)' instance add "$ID" failopen 3600001
refused "unknown argument" 'bogus' instance add "$ID" bogus 5
refused "missing instance: show" 'no such|not found|does not exist|no instance' instance show 77
refused "missing instance: del" 'no such|not found|does not exist|no instance' instance del 77
refused "missing instance: checkpoint" 'no such|not found|does not exist|no instance' checkpoint 77
refused "missing instance: failover" 'no such|not found|does not exist|no instance' failover 77
expect_eq "none of that created an instance" "" "$(ctl instance show 2>/dev/null)"
expect_ok "coloctl instance add $ID" ctl instance add "$ID"
refused "duplicate add" 'exist' instance add "$ID"
ip netns exec "$NS" iptables -t mangle -A PREROUTING -i colo-x -j COLO --instance "$ID" --primary ||
	fail "expected a COLO rule using instance $ID"
refused "delete while a rule uses it" 'rule|in use|busy' instance del "$ID"
ip netns exec "$NS" iptables -t mangle -D PREROUTING -i colo-x -j COLO --instance "$ID" --primary
expect_ok "instance del once no rule uses it" ctl instance del "$ID"

# --- 2. the kernel's own checks
EPERM=1 ENOENT=2 EINVAL=22 EOPNOTSUPP=95 ERANGE=34

# Each line: DESC|ERRNOS|CHECK|REQUEST.  ERRNOS lists the acceptable errno
# values, comma-separated; CHECK is "offset" (an extack message and the offending
# attribute's offset), "msg" (a message), "miss" (the missing attribute
# named in NLMSGERR_ATTR_MISS_TYPE: COLO_A_INSTANCE is 2) or "-".
CASES="new without an instance id|$EINVAL|miss|instance_new timeout_ms:u32=100
instance 0|$EINVAL,$ERANGE|offset|instance_new instance:u32=0
timeout_ms 5|$EINVAL,$ERANGE|offset|instance_new instance:u32=$ID timeout_ms:u32=5
timeout_ms 3600001|$EINVAL,$ERANGE|offset|instance_new instance:u32=$ID timeout_ms:u32=3600001
max_queue 0|$EINVAL,$ERANGE|offset|instance_new instance:u32=$ID max_queue:u32=0
max_queue 65537|$EINVAL,$ERANGE|offset|instance_new instance:u32=$ID max_queue:u32=65537
max_bytes 1000|$EINVAL,$ERANGE|offset|instance_new instance:u32=$ID max_bytes:u64=1000
failopen_ms 3600001|$EINVAL,$ERANGE|offset|instance_new instance:u32=$ID failopen_ms:u32=3600001
unknown attribute type 200|$EINVAL|offset|instance_new instance:u32=$ID 200:u32=1
instance as a 16-bit attribute|$EINVAL,$ERANGE|offset|instance_new instance:u16=$ID
max_bytes as a 32-bit attribute|$EINVAL,$ERANGE|offset|instance_new instance:u32=$ID max_bytes:u32=100000
unknown command 200|$EOPNOTSUPP|-|200 instance:u32=$ID
a notification sent as a request|$EOPNOTSUPP,$EINVAL|-|divergence_ntf instance:u32=$ID
checkpoint of a missing instance|$ENOENT|msg|checkpoint instance:u32=77
delete of a missing instance|$ENOENT|msg|instance_del instance:u32=77
get of a missing instance|$ENOENT|msg|instance_get instance:u32=77
delete without an instance id|$EINVAL|miss|instance_del
checkpoint without an instance id|$EINVAL|miss|checkpoint"

replies=$(cut -d'|' -f4 <<<"$CASES" | genl batch 2>&1)
i=0
while IFS='|' read -r desc errs check _; do
	i=$((i + 1))
	r=$(sed -n "${i}p" <<<"$replies")
	e=$(event_field "$r" errno)
	expect_match "kernel: $desc: errno" "^(${errs//,/|})\$" "$e" || log "reply: $r"
	case $check in
	offset | msg)
		expect_no_match "kernel: $desc: extack message ($(event_field "$r" msg))" \
			'^(null|missing|)$' "$(event_field "$r" msg)"
		;;&
	offset)
		expect_no_match "kernel: $desc: offending attribute's offset" \
			'^(null|missing|)$' "$(event_field "$r" bad_attr_offset)"
		;;
	miss)
		expect_eq "kernel: $desc: the missing attribute is named" 2 \
			"$(event_field "$r" missing_attr)" || log "reply: $r"
		;;
	esac
done <<<"$CASES"
expect_eq "kernel: no bad request created an instance" "" "$(ctl instance show 2>/dev/null)"

# --- 3. an unprivileged caller
ctl instance add "$ID" >/dev/null || fail "expected instance $ID for the unprivileged checks"
UNPRIV=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all)
# The tree may sit where uid 65534 cannot read it (a clone under /root): the
# unprivileged caller runs copies, so that what refuses it is the kernel,
# not a file's mode.
UNPRIV_DIR=$COLO_TMP/unpriv
mkdir -p "$UNPRIV_DIR"
cp "$COLOCTL" "$COLO_TOOLS/colo_genl.py" "$UNPRIV_DIR/"
chmod 755 "$COLO_TMP" "$UNPRIV_DIR"
chmod 755 "$UNPRIV_DIR/coloctl"
chmod 644 "$UNPRIV_DIR/colo_genl.py"
d=$COLO_TMP
while [ "$d" != / ]; do
	setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$d" ||
		fail "expected uid 65534 to reach $UNPRIV_DIR, $d is closed to it: $(ls -ld "$d")"
	d=$(dirname "$d")
done

unpriv_refused()
{
	local desc=$1 out rc=0
	shift
	out=$(ip netns exec "$NS" timeout 10 "${UNPRIV[@]}" "$UNPRIV_DIR/coloctl" "$@" 2>&1) || rc=$?
	if [ $rc -eq 0 ] || [ $rc -eq 124 ]; then
		ktap_test_fail "unprivileged coloctl $*: $desc"
		echo "#   expected: a prompt failure saying CAP_NET_ADMIN is needed"
		echo "#   saw:      exit $rc: $out"
		return 1
	fi
	# coloctl's own words for EPERM (not an exec's "Permission denied")
	expect_imatch "unprivileged coloctl $*: $desc" 'cap_net_admin' "$out"
}

unpriv_refused "refused" instance add 5
unpriv_refused "refused" instance show "$ID"
unpriv_refused "refused" checkpoint "$ID"
unpriv_refused "refused" instance del "$ID"
unpriv_refused "refused, not blocking" monitor
out=$(ip netns exec "$NS" "${UNPRIV[@]}" python3 "$UNPRIV_DIR/colo_genl.py" request instance_new instance:u32=5 2>&1)
expect_eq "unprivileged raw instance_new: EPERM" "$EPERM" "$(event_field "$out" errno)" || log "$out"
out=$(ip netns exec "$NS" "${UNPRIV[@]}" python3 "$UNPRIV_DIR/colo_genl.py" request instance_get instance:u32="$ID" 2>&1)
expect_eq "unprivileged raw instance_get: EPERM" "$EPERM" "$(event_field "$out" errno)" || log "$out"
out=$(ip netns exec "$NS" "${UNPRIV[@]}" python3 "$UNPRIV_DIR/colo_genl.py" subscribe 2>&1)
expect_eq "unprivileged: joining the events group is refused" "$EPERM" \
	"$(event_field "$out" errno)" || log "$out"
expect_fail "instance 5 was not created" ctl instance show 5
expect_ok "instance $ID is still there" ctl instance show "$ID"

ktap_finished
