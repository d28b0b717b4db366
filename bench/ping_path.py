#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Where a ping-pong's round trip goes on the primary host.

ping_path.py FILE

FILE is what `tcpdump -i any -n -tt -l udp port P` printed in the primary
host's namespace during a UDP ping-pong (one request outstanding), in the
topology of selftests/lib/topology.sh: requests come in on "cli", the
primary guest's answer on "ptap", the secondary guest's on "cable", and
what the client gets leaves on "cli". For each round trip (a request in,
then the first answer out) it takes:
  primary_us    request in on cli -> the primary guest's answer in on ptap
  secondary_us  the primary's answer in -> the secondary's answer in
                (negative when the secondary answered first)
  release_us    the later of the two answers in -> the answer out on cli:
                what the comparator adds on top of forwarding (protected)
  forward_us    the primary's answer in -> out on cli (plain: no
                comparator, the host's forwarding alone)
and prints one JSON object with the count and p50/p99 of each.
"""

import json
import sys


def pct(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(len(xs) * p / 100))], 1)


def main():
    rounds = []
    cur = None
    with open(sys.argv[1], errors="replace") as f:
        for line in f:
            w = line.split()
            if len(w) < 3:
                continue
            try:
                t = float(w[0]) * 1e6
            except ValueError:
                continue
            dev, way = w[1], w[2]
            if dev == "cli" and way == "In":
                cur = {"req": t}
            elif cur is None:
                continue
            elif dev == "ptap" and way == "In":
                cur.setdefault("pri", t)
            elif dev == "cable" and way == "In":
                cur.setdefault("sec", t)
            elif dev == "cli" and way == "Out":
                cur["out"] = t
                rounds.append(cur)
                cur = None
    keys = {"primary_us": [], "secondary_us": [], "release_us": [],
            "forward_us": []}
    for r in rounds:
        if "pri" not in r:
            continue
        keys["primary_us"].append(r["pri"] - r["req"])
        keys["forward_us"].append(r["out"] - r["pri"])
        if "sec" in r:
            keys["secondary_us"].append(r["sec"] - r["pri"])
            keys["release_us"].append(r["out"] - max(r["pri"], r["sec"]))
    out = {"rounds": len(rounds)}
    for k, xs in keys.items():
        out[k] = {"n": len(xs), "p50": pct(xs, 50), "p99": pct(xs, 99)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
