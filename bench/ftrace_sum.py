#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Sum up a function_graph trace: per traced function, its calls and time.

ftrace_sum.py TRACE [FUNCTION...]

TRACE is /sys/kernel/tracing/trace as the scaling phase of bench/bench.sh
leaves it: the function_graph tracer with set_ftrace_filter naming only the
module's periodic work (colo_gc_work, colo_scan_work) and funcgraph-tail
on, so each call is one line with its duration, "NNN.NNN us |
colo_gc_work [xt_COLO]();", or its closing brace "} /* colo_gc_work */".
The duration is the call's wall time, interrupts included; with the
tracer's sleep-time option off, as the bench sets it where the kernel has
it, less the time it was scheduled out (cond_resched()).
Prints one JSON object: {FUNCTION: {"calls", "total_us", "p50_us",
"max_us"}}, every FUNCTION named (default the two) present, calls 0 when
the trace holds none; "lost" when the trace says events were lost.
"""

import json
import re
import statistics
import sys

LINE = re.compile(r"([0-9]+\.[0-9]+) us\s*\|\s*(?:\}\s*/\*\s*(\w+)|(\w+)(?:\s*\[\w+\])?\(\);)")


def main():
    path = sys.argv[1]
    names = sys.argv[2:] or ["colo_gc_work", "colo_scan_work"]
    durs = {n: [] for n in names}
    lost = False
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("#"):
                if "LOST" in line:
                    lost = True
                continue
            m = LINE.search(line)
            if not m:
                continue
            name = m.group(2) or m.group(3)
            if name in durs:
                durs[name].append(float(m.group(1)))
    out = {}
    for n, d in durs.items():
        out[n] = {"calls": len(d), "total_us": round(sum(d), 3),
                  "p50_us": round(statistics.median(d), 3) if d else None,
                  "max_us": round(max(d), 3) if d else None}
    if lost:
        out["lost"] = True
    print(json.dumps(out))


if __name__ == "__main__":
    main()
