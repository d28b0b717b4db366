#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Read coloctl's JSON output for the COLO selftests.

get FILE KEY [KEY...]
    FILE holds `coloctl instance show ID -j`.  Print the value of each KEY
    (a counter name such as primary_held_packets, or a setting such as
    state), one per line.  A key is looked up at any depth, so the test does
    not care whether counters sit at the top or in a "stats" object; a
    missing key prints "missing" and makes the exit status 1.

events FILE [--event NAME] [--instance N] [--reason R] [--match KEY=VALUE]...
       [--count|--last|--all]
    FILE holds `coloctl monitor -j` output captured through `stamp`: one
    JSON object per line.  Select events and print their number (--count,
    default), the last one (--last) or all of them (--all).

stamp
    Copy stdin to stdout line by line, adding "t_boot" (CLOCK_BOOTTIME
    seconds, the clock of /proc/uptime, which the shell can read cheaply)
    to each JSON object, flushing every line: event times for the timeout
    tests.  Non-JSON lines are wrapped as {"raw": line}.

now
    Print CLOCK_BOOTTIME seconds (same clock as stamp).
"""

import json
import sys
import time


def boottime():
    return time.clock_gettime(time.CLOCK_BOOTTIME)


def norm(k):
    return str(k).lower().replace("-", "_")


def find(obj, key):
    """Depth-first search for key; returns (found, value)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if norm(k) == key:
                return True, v
        for v in obj.values():
            ok, val = find(v, key)
            if ok:
                return ok, val
    elif isinstance(obj, list):
        for v in obj:
            ok, val = find(v, key)
            if ok:
                return ok, val
    return False, None


def load_show(path):
    with open(path) as f:
        text = f.read().strip()
    try:
        return json.loads(text)
    except ValueError:
        # One object per line (a dump of several instances).
        return [json.loads(l) for l in text.splitlines() if l.strip()]


def cmd_get(argv):
    obj = load_show(argv[0])
    rc = 0
    for key in argv[1:]:
        ok, val = find(obj, norm(key))
        if not ok:
            print("missing")
            rc = 1
        elif isinstance(val, (dict, list)):
            print(json.dumps(val, sort_keys=True))
        else:
            print(val)
    return rc


def load_events(path):
    out = []
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    out.append(json.loads(line))
                except ValueError:
                    out.append({"raw": line})
    except FileNotFoundError:
        pass
    return out


def event_name(ev):
    for k in ("event", "type", "cmd", "name"):
        ok, v = find(ev, k)
        if ok and isinstance(v, str):
            return norm(v)
    return None


def cmd_events(argv):
    path = argv[0]
    want = {"event": None, "instance": None, "reason": None}
    match = []
    mode = "count"
    i = 1
    while i < len(argv):
        a = argv[i]
        if a in ("--event", "--instance", "--reason"):
            want[a[2:]] = argv[i + 1]
            i += 2
            continue
        if a == "--match":
            k, _, v = argv[i + 1].partition("=")
            match.append((norm(k), v))
            i += 2
            continue
        mode = a[2:]
        i += 1
    sel = []
    for ev in load_events(path):
        if want["event"] and event_name(ev) != norm(want["event"]):
            continue
        if want["instance"] is not None:
            ok, v = find(ev, "instance")
            if not ok or str(v) != want["instance"]:
                continue
        if want["reason"]:
            ok, v = find(ev, "reason")
            if not ok or norm(v) != norm(want["reason"]):
                continue
        if any(str(find(ev, k)[1]) != v for k, v in match):
            continue
        sel.append(ev)
    if mode == "count":
        print(len(sel))
    elif mode == "last":
        print(json.dumps(sel[-1], sort_keys=True) if sel else "none")
    else:
        for ev in sel:
            print(json.dumps(ev, sort_keys=True))
    return 0


def cmd_stamp(_argv):
    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                obj = {"value": obj}
        except ValueError:
            obj = {"raw": line}
        obj["t_boot"] = boottime()
        sys.stdout.write(json.dumps(obj, sort_keys=True) + "\n")
        sys.stdout.flush()
    return 0


def main():
    if len(sys.argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    cmd, argv = sys.argv[1], sys.argv[2:]
    if cmd == "get":
        return cmd_get(argv)
    if cmd == "events":
        return cmd_events(argv)
    if cmd == "stamp":
        return cmd_stamp(argv)
    if cmd == "now":
        print("%.6f" % boottime())
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
