#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Where the guest's CPU time goes during a download, from perf samples.

profile.py REPORT KALLSYMS

REPORT is what `perf report --stdio --no-children -n --sort sym` printed
for a `perf record -a -e cpu-clock` of the whole guest; KALLSYMS is the
guest's /proc/kallsyms, read while xt_COLO was loaded (its symbols are
tagged [xt_COLO]). Prints one JSON object: the samples, the share of
them in xt_COLO's own functions, in the idle loop, in spinning on a
contended lock, in user space, the top symbols, and the samples of the
SYMS most sampled symbols outside the idle loop ("syms", for comparing
two profiles per unit of work: bench/report.py's pairs profile).

Under TCG the cpu-clock sample is an hrtimer interrupt, taken only where
interrupts are enabled: time spent with them disabled is charged to the
place that enables them again (_raw_spin_unlock_irqrestore and the
like), so read those as "somewhere with interrupts off".
"""

import json
import re
import sys

IDLE = {"native_safe_halt", "default_idle", "default_idle_call", "cpu_idle_poll",
        "acpi_idle_do_entry", "mwait_idle", "intel_idle", "do_idle"}
SPIN = {"native_queued_spin_lock_slowpath", "queued_spin_lock_slowpath",
        "__pv_queued_spin_lock_slowpath", "queued_read_lock_slowpath",
        "queued_write_lock_slowpath"}
SYMS = 60
LINE = re.compile(r"^\s*([0-9.]+)%\s+(\d+)\s+\[([k.])\]\s+(\S+)")


def main():
    module = set()
    with open(sys.argv[2], errors="replace") as f:
        for line in f:
            w = line.split()
            if len(w) >= 4 and w[3] == "[xt_COLO]":
                module.add(w[2])
    rows = []
    with open(sys.argv[1], errors="replace") as f:
        for line in f:
            m = LINE.match(line)
            if m:
                rows.append((m.group(4), int(m.group(2)), m.group(3)))
    total = sum(n for _, n, _ in rows)
    if not total:
        print(json.dumps({"samples": 0}))
        return

    def count(pred):
        return sum(n for s, n, k in rows if pred(s, k))

    def share(pred):
        return round(100.0 * count(pred) / total, 2)

    out = {
        "samples": total,
        "xt_colo_pct": share(lambda s, k: s in module),
        "idle_pct": share(lambda s, k: s in IDLE),
        "lock_spin_pct": share(lambda s, k: s in SPIN),
        "user_pct": share(lambda s, k: k == "."),
        "xt_colo_top": [[s, round(100.0 * n / total, 2)]
                        for s, n, _ in sorted(rows, key=lambda r: -r[1]) if s in module][:8],
        "top": [[s, round(100.0 * n / total, 2)]
                for s, n, _ in sorted(rows, key=lambda r: -r[1])[:15]],
        "xt_colo_samples": count(lambda s, k: s in module),
        "idle_samples": count(lambda s, k: s in IDLE),
        "syms": {("[xt_COLO] " if s in module else "") + s: n
                 for s, n, _ in [r for r in sorted(rows, key=lambda r: -r[1])
                                 if r[0] not in IDLE][:SYMS]},
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
