#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Sum up the NET_RX softirq's tracepoints: how long it waited, how long it ran.

softirq.py SCRIPT

SCRIPT is `perf script -F cpu,time,event,trace --ns` of a recording of
irq:softirq_raise, irq:softirq_entry and irq:softirq_exit filtered on
vec == 3 (NET_RX), as the flush of bench/bench.sh takes it, one event a
line: "[001] 123.456789012: irq:softirq_entry: vec=3 [action=NET_RX]".

Per CPU, the wait is the time from the first raise while none was
pending (the first since the last entry) to the next entry: how long
packets queued to that CPU's backlog, and NAPI contexts scheduled there,
waited for the softirq, e.g. while a release ran with bottom halves off.
The run is entry to exit: one pass of net_rx_action(), bounded by
net.core.netdev_budget and netdev_budget_usecs. Prints one JSON object:
{"waits": {"n", "p50_us", "p99_us", "max_us"}, "runs": {...}}.
"""

import json
import re
import sys

LINE = re.compile(r"\[(\d+)\]\s+(\d+)\.(\d+):\s+irq:softirq_(raise|entry|exit):")


def summary(values):
    """n, p50, p99 and max of a list of microseconds."""
    if not values:
        return {"n": 0, "p50_us": None, "p99_us": None, "max_us": None}
    v = sorted(values)

    def pct(p):
        return round(v[min(len(v) - 1, int(p * len(v)))], 1)

    return {"n": len(v), "p50_us": pct(0.50), "p99_us": pct(0.99), "max_us": round(v[-1], 1)}


def main():
    pending = {}    # cpu: time of the first raise since its last entry
    entered = {}    # cpu: time of the entry being run
    waits, runs = [], []
    with open(sys.argv[1], encoding="utf-8", errors="replace") as f:
        for line in f:
            m = LINE.search(line)
            if not m:
                continue
            cpu = int(m.group(1))
            frac = m.group(3)
            t = int(m.group(2)) * 1e6 + int(frac) / 10 ** (len(frac) - 6)
            ev = m.group(4)
            if ev == "raise":
                pending.setdefault(cpu, t)
            elif ev == "entry":
                if cpu in pending:
                    waits.append(t - pending.pop(cpu))
                entered[cpu] = t
            elif cpu in entered:
                runs.append(t - entered.pop(cpu))
    print(json.dumps({"waits": summary(waits), "runs": summary(runs)}))


if __name__ == "__main__":
    main()
