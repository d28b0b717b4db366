#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Divergence to event at the primary host, against the guest's floor.

div_path.py CAPTURE MONITOR FLOOR DIV_PORT FLOOR_PORT

CAPTURE is what `tcpdump -i any -n -tt -l` printed in the primary host's
namespace for UDP ports DIV_PORT and FLOOR_PORT, in the topology of
selftests/lib/topology.sh; MONITOR what `coloctl monitor -j -t` printed
(each line may carry a prefix before its JSON object); FLOOR what
`colo_load udp-recv --stamp` printed on the primary host for FLOOR_PORT.
All three read CLOCK_REALTIME.

For each divergence event, in order:
  event_us  the later of the two differing answers in (the primary
            guest's on "ptap", the secondary's on "cable") -> the event
            read by coloctl monitor (its "time")
and for each datagram sent to the primary host itself on FLOOR_PORT:
  floor_us  in on "cli" -> read by a process on that host: what any
            packet-to-process path costs in this guest, the same wakeup
            the monitor's read waits for
Prints one JSON object with both lists.
"""

import datetime
import json
import sys


def capture(path, div_port, floor_port):
    pri, sec, floor = [], [], []
    with open(path, errors="replace") as f:
        for line in f:
            w = line.split()
            if len(w) < 7:
                continue
            try:
                t = float(w[0]) * 1e6
            except ValueError:
                continue
            dev, way, dst = w[1], w[2], w[6].rstrip(":")
            port = dst.rsplit(".", 1)[-1]
            src_port = w[4].rsplit(".", 1)[-1]
            if way != "In":
                continue
            if src_port == div_port and dev == "ptap":
                pri.append(t)
            elif src_port == div_port and dev == "cable":
                sec.append(t)
            elif port == floor_port and dev == "cli":
                floor.append(t)
    return pri, sec, floor


def events(path):
    out = []
    with open(path, errors="replace") as f:
        for line in f:
            i = line.find("{")
            if i < 0:
                continue
            try:
                ev = json.loads(line[i:])
            except ValueError:
                continue
            if ev.get("event") != "divergence" or "time" not in ev:
                continue
            t = datetime.datetime.strptime(ev["time"], "%Y-%m-%dT%H:%M:%S.%fZ")
            out.append(t.replace(tzinfo=datetime.timezone.utc).timestamp() * 1e6)
    return out


def main():
    cap, mon, flr, div_port, floor_port = sys.argv[1:6]
    pri, sec, floor_in = capture(cap, div_port, floor_port)
    event_us = []
    for e in events(mon):
        p = [t for t in pri if t <= e]
        s = [t for t in sec if t <= e]
        if p and s:
            event_us.append(round(e - max(p[-1], s[-1]), 1))
    reads = []
    with open(flr, errors="replace") as f:
        for line in f:
            w = line.split()
            if len(w) == 2 and w[0] == "recv":
                reads.append(int(w[1]) / 1e3)
    floor_us = [round(r - t, 1) for t, r in zip(floor_in, reads)]
    print(json.dumps({"event_us": event_us, "floor_us": floor_us}))


if __name__ == "__main__":
    main()
