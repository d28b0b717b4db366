#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The "colo" generic netlink family survives random and mutated requests
# (colo_nlfuzz, seeded: STRESS_SEED reproduces a run).
#   1. STRESS_NL_REQUESTS (100000) requests from one client, in a namespace
#      where instances 7 and 9 are pinned by rules: valid ones checked
#      against a model of the instances (exists, failed over, rules), valid
#      ones with one thing mutated, random commands (unknown ones included)
#      with random attribute types, lengths and nesting, truncated
#      attributes and lying lengths, garbage behind a netlink header,
#      batches, requests without an ack, dumps (half of them interrupted),
#      while `coloctl monitor -j` listens to the events.
#   2. Two clients at once (a tenth of the requests each, no model): the
#      family's lock against itself.
#   3. A dump that loses the instance its cursor stands on (deleted between
#      two parts: the second part is only peeked at, so the kernel has not
#      built the third) still names every other instance.
# Then: no kernel report, `coloctl instance show` (and -j) work, the
# pinned instances still have their rules, every instance the fuzz left
# can be deleted, a normal setup (add with every setting, rules,
# checkpoint, failover, delete) works, and the module unloads (no leaked
# reference) and loads again.

source "$(dirname "$0")/lib/stress.sh"

N=${STRESS_NL_REQUESTS:-100000}
SEED=$STRESS_SEED

stress_require
cleanup()
{
	[ -n "${MPID:-}" ] && kill "$MPID" 2>/dev/null && wait "$MPID" 2>/dev/null
	cleanup_all_ns
	rm -rf "$COLO_TMP"
}
trap cleanup EXIT
setup_ns NS
ip -n "$NS" link add colo-x type dummy
ip -n "$NS" link set colo-x up

ctl()
{
	ip netns exec "$NS" "$COLOCTL" "$@"
}

rules()
{
	ip netns exec "$NS" iptables -t mangle "$1" PREROUTING -i colo-x -j COLO --instance 7 --primary &&
	ip netns exec "$NS" iptables -t raw "$1" PREROUTING -i colo-x -j COLO --instance 7 --secondary &&
	ip netns exec "$NS" ip6tables -t mangle "$1" PREROUTING -i colo-x -j COLO --instance 9 --rewrite
}

{ ctl instance add 7 >/dev/null && ctl instance add 9 >/dev/null && rules -A; } ||
	fail "expected instances 7 and 9 and the rules pinning them"
log "seed $SEED (STRESS_SEED=$SEED reproduces this run), $N requests"
mark=$(kmsg_mark)
ip netns exec "$NS" "$COLOCTL" monitor -j >"$COLO_TMP/mon.out" 2>"$COLO_TMP/mon.err" &
MPID=$!

# --- 1. one client, with the model
t0=$(now_ms)
expect_ok "$N requests: every answer came and the model held" \
	ip netns exec "$NS" "$NLFUZZ" fuzz --seed "$SEED" --count "$N" --ids 64 --quiet
el=$(($(now_ms) - t0))
__diag "$OUT"
log "$N requests in $el ms ($((N * 1000 / (el + 1))) per second)"
expect_match "the fuzz sent what it was told to" "^requests=$N " "$OUT"
expect_match "no model mismatch, no malformed reply" "model_mismatches=0 bad_replies=0" "$OUT"

# --- 2. two clients at once
log "at ${SECONDS}s: two clients"
n2=$((N / 10))
ip netns exec "$NS" "$NLFUZZ" fuzz --seed $((SEED + 1)) --count $n2 --ids 64 --no-model --quiet \
	>"$COLO_TMP/p1.out" 2>&1 &
p1=$!
ip netns exec "$NS" "$NLFUZZ" fuzz --seed $((SEED + 2)) --count $n2 --ids 64 --no-model --quiet \
	>"$COLO_TMP/p2.out" 2>&1 &
p2=$!
rc1=0 rc2=0
wait $p1 || rc1=$?
wait $p2 || rc2=$?
expect_eq "two clients at once, $n2 requests each: both finished, every answer came" "0 0" "$rc1 $rc2" ||
	{ __diag "$(cat "$COLO_TMP/p1.out")"; __diag "$(cat "$COLO_TMP/p2.out")"; }
log "client 1: $(head -c 600 "$COLO_TMP/p1.out" | tr '\n' ' ')"
log "client 2: $(head -c 600 "$COLO_TMP/p2.out" | tr '\n' ' ')"

log "at ${SECONDS}s: dump check"
# --- 3. a dump whose cursor instance goes away between two parts
setup_ns NS2
expect_ok "a dump still names every other instance when the one its cursor stands on is deleted between parts" \
	ip netns exec "$NS2" "$NLFUZZ" dump-check --instances 300 --base 1000
__diag "$OUT"

expect_ok "coloctl monitor is still running" kill -0 "$MPID"
kill "$MPID" 2>/dev/null
wait "$MPID" 2>/dev/null
MPID=
log "events seen by coloctl monitor: $(wc -l <"$COLO_TMP/mon.out"); its stderr: $(head -c 300 "$COLO_TMP/mon.err")"
expect_eq "no kernel report" "" "$(stress_noise "$mark")"

# --- consistency afterwards
log "at ${SECONDS}s: consistency"
expect_ok "coloctl instance show works" ctl instance show
log "instances left: $(grep -c '^instance ' <<<"$OUT")"
expect_ok "coloctl instance show -j is a JSON array" \
	sh -c "ip netns exec '$NS' '$COLOCTL' instance show -j | jq -e 'type == \"array\"'"
json=$(ctl instance show -j 2>&1)
expect_eq "instance 7 still has its 2 rules, instance 9 its 1" "2 1" \
	"$(jq -r '[(.[] | select(.instance == 7) | .rules), (.[] | select(.instance == 9) | .rules)] | join(" ")' <<<"$json")"
expect_ok "the rules come out" rules -D
undeletable=
for id in $(jq -r '.[].instance' <<<"$json"); do
	out=$(ctl instance del "$id" 2>&1) || undeletable="$undeletable $id($out)"
done
expect_eq "every instance the fuzz left can be deleted" "" "$undeletable"
expect_eq "none left" "[]" "$(ctl instance show -j 2>&1)"

# --- a normal setup
log "at ${SECONDS}s: a normal setup"
expect_ok "instance add with every setting" \
	ctl instance add 1 timeout 3000 max-queue 1024 max-bytes 32M failopen 10000
expect_ok "a --primary rule on it" \
	ip netns exec "$NS" iptables -t mangle -A PREROUTING -i colo-x -j COLO --instance 1 --primary
expect_eq "shown as a primary-host instance, active, 1 rule" "primary active 1 3000 1024 33554432" \
	"$(ctl instance show 1 -j | jq -r '"\(.role) \(.state) \(.rules) \(.timeout_ms) \(.max_queue) \(.max_bytes)"')"
expect_ok "checkpoint" ctl checkpoint 1
expect_ok "checkpoint begin / end" sh -c "ip netns exec '$NS' '$COLOCTL' checkpoint 1 begin && ip netns exec '$NS' '$COLOCTL' checkpoint 1 end"
expect_ok "failover" ctl failover 1
expect_eq "failed over" "failed-over" "$(ctl instance show 1 -j | jq -r .state)"
ip netns exec "$NS" iptables -t mangle -D PREROUTING -i colo-x -j COLO --instance 1 --primary
expect_ok "instance del" ctl instance del 1
cleanup_all_ns
expect_ok "the module unloads (nothing kept a reference)" busywait 15000 modprobe -r xt_COLO
colo_module_load
expect_eq "no kernel report at the end" "" "$(stress_noise "$mark")"

ktap_finished
