#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The report of `make bench`: table, JSON and plots from one run.

report.py --guest FILE --host FILE [--engine FILE] --out DIR [--meta K=V]...

FILE holds the output of bench/bench.sh in the guest (and of bench/run's
host part): lines "BENCH <json>", one per measurement. Every ratio is taken
between measurements of this run: per repetition (the modes alternate
within one), then the median over repetitions, with the spread (min..max)
of the per-repetition figures. Writes DIR/bench.json (meta, summary, every
measurement), DIR/table.txt (what is printed) and DIR/*.png (gnuplot).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys


def read_lines(path):
    out = []
    if not path or not os.path.exists(path):
        return out
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if not line.startswith("BENCH "):
                continue
            try:
                out.append(json.loads(line[6:]))
            except ValueError:
                out.append({"unparsed": line[6:]})
    return out


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def spread(xs):
    xs = [x for x in xs if x is not None]
    return [min(xs), max(xs)] if xs else None


def stat(xs):
    xs = [x for x in xs if x is not None]
    return {"median": med(xs), "min": min(xs) if xs else None,
            "max": max(xs) if xs else None, "n": len(xs)}


def by(records, **kw):
    return [r for r in records if all(r.get(k) == v for k, v in kw.items())]


def per_rep(records, key):
    """{rep: value} of a result key"""
    out = {}
    for r in records:
        v = r.get("result", {}).get(key)
        if v is not None and r.get("rc", 0) == 0:
            out[r["rep"]] = v
    return out


def ratio_per_rep(a, b):
    return [a[k] / b[k] for k in sorted(a) if k in b and b[k]]


def fmt(x, nd=1):
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.{nd}f}"
    return str(x)


def fmt_stat(s, nd=1):
    if not s or s["median"] is None:
        return "-"
    return f"{fmt(s['median'], nd)} ({fmt(s['min'], nd)}..{fmt(s['max'], nd)})"


def profile_summary(prof):
    """One profiled test, per mode; for frame pairs also the busy CPU per
    pair (one cpu-clock sample is 1/HZ s of one CPU) and what protection
    adds to plain forwarding a pair, by symbol."""
    out = {}
    per_pair = {}
    for mode in ("protected", "plain", "qemu"):
        rs = [r for r in prof if r["mode"] == mode and r.get("result", {}).get("samples")]
        if not rs:
            continue
        row = {k: stat([r["result"][k] for r in rs])
               for k in ("xt_colo_pct", "idle_pct", "lock_spin_pct", "user_pct")}
        row["samples"] = sum(r["result"]["samples"] for r in rs)
        run = [r.get("run") or r.get("download") or {} for r in rs]
        row["mbit_s"] = stat([x.get("mbit_s") for x in run])
        row["pairs_per_s"] = stat([x.get("pairs_per_s") for x in run])
        row["top"] = rs[0]["result"]["top"]
        row["xt_colo_top"] = rs[0]["result"].get("xt_colo_top", [])
        # per pair for colo_pairs' runs only (a download has no pairs)
        pairs = sum((x.get("expected") or 0) + (x.get("window") or 0) for x in run
                    if str(x.get("tool", "")).startswith("colo_pairs"))
        if pairs and all("syms" in r["result"] for r in rs):
            us = 1e6 / (rs[0].get("hz") or 1000) / pairs
            busy = sum(r["result"]["samples"] - r["result"]["idle_samples"] for r in rs)
            row["busy_us_per_pair"] = round(busy * us, 2)
            row["xt_colo_us_per_pair"] = round(
                sum(r["result"]["xt_colo_samples"] for r in rs) * us, 3)
            syms = {}
            for r in rs:
                for sym, n in r["result"]["syms"].items():
                    syms[sym] = syms.get(sym, 0) + n * us
            per_pair[mode] = syms
        out[mode] = row
    if "protected" in per_pair and "plain" in per_pair and \
            "busy_us_per_pair" in out["plain"]:
        a, b = per_pair["protected"], per_pair["plain"]
        delta = {sym: a.get(sym, 0) - b.get(sym, 0) for sym in set(a) | set(b)}
        added = out["protected"]["busy_us_per_pair"] - out["plain"]["busy_us_per_pair"]
        out["added"] = {
            "busy_us_per_pair": round(added, 2),
            "xt_colo_us_per_pair": out["protected"]["xt_colo_us_per_pair"],
            "xt_colo_share_pct": round(100.0 * out["protected"]["xt_colo_us_per_pair"] / added, 1)
            if added > 0 else None,
            "top": [[sym, round(v, 2)] for sym, v in
                    sorted(delta.items(), key=lambda kv: -kv[1])[:12] if v > 0],
        }
    return out


def summarize(guest, host):
    summ = {"throughput": {}, "pairs": {}, "latency": {}, "validity": {}}

    # --- throughput: protected vs plain
    tp = by(guest, phase="throughput")
    for test in ("tcp-down", "tcp-up", "udp-64", "udp-1400"):
        prot = by(tp, test=test, mode="protected")
        plain = by(tp, test=test, mode="plain")
        row = {}
        for key in ("mbit_s", "pps"):
            a, b = per_rep(prot, key), per_rep(plain, key)
            if not a and not b:
                continue
            row[key] = {"protected": stat(list(a.values())),
                        "plain": stat(list(b.values())),
                        "ratio": stat(ratio_per_rep(a, b))}
        # guest CPU per MB delivered, and what the secondary guest sent
        cpu = {}
        for name, recs in (("protected", prot), ("plain", plain)):
            cpu[name] = {}
            for r in recs:
                res = r.get("result", {})
                mb = res.get("mbit_s", 0) * res.get("secs", 0) / 8
                if r.get("rc", 0) == 0 and mb and "guest_cpu_ms" in r:
                    cpu[name][r["rep"]] = r["guest_cpu_ms"] / mb
        if cpu["protected"] or cpu["plain"]:
            row["guest_cpu_ms_per_mb"] = {
                "protected": stat(list(cpu["protected"].values())),
                "plain": stat(list(cpu["plain"].values())),
                "ratio": stat(ratio_per_rep(cpu["protected"], cpu["plain"]))}
        # the machine's busy CPU during the transfer itself (the client's
        # reading), per MB delivered: no process start-up in it
        busy = {}
        for name, recs in (("protected", prot), ("plain", plain)):
            busy[name] = {}
            for r in recs:
                res = r.get("result", {})
                mb = res.get("bytes", 0) / 1e6
                if r.get("rc", 0) == 0 and mb and res.get("busy_cpu_ms", -1) >= 0:
                    busy[name][r["rep"]] = res["busy_cpu_ms"] / mb
        if busy["protected"] or busy["plain"]:
            row["busy_cpu_ms_per_mb"] = {
                "protected": stat(list(busy["protected"].values())),
                "plain": stat(list(busy["plain"].values())),
                "ratio": stat(ratio_per_rep(busy["protected"], busy["plain"]))}
        # what limited the primary guest's sender (TCP_INFO at its end)
        snd = {}
        for name, recs in (("protected", prot), ("plain", plain)):
            rep = [r["sender"]["primary"] for r in recs
                   if r.get("rc", 0) == 0 and (r.get("sender") or {}).get("primary")]
            if rep:
                snd[name] = {
                    "rtt_us": stat([x["rtt_us"] for x in rep]),
                    "rwnd_limited_share": stat([x["rwnd_limited_us"] / x["busy_us"]
                                                for x in rep if x["busy_us"]]),
                    "retrans": stat([x["total_retrans"] for x in rep])}
        if snd:
            row["primary_sender"] = snd
        # the client's longest wait for data in a download
        waits = {name: [r["result"]["longest_wait_ms"] for r in recs
                        if r.get("rc", 0) == 0 and "longest_wait_ms" in r.get("result", {})]
                 for name, recs in (("protected", prot), ("plain", plain))}
        if waits["protected"] or waits["plain"]:
            row["longest_wait_ms"] = {k: stat(v) for k, v in waits.items()}
        if test.startswith("tcp"):
            row["secondary_guest_segments"] = {
                name: stat([r["tcp_out_segs"]["secondary"] for r in recs
                            if "tcp_out_segs" in r])
                for name, recs in (("protected", prot), ("plain", plain))}
        row["tool"] = next((r["result"].get("tool") for r in prot + plain
                            if r.get("result")), None)
        row["failed_runs"] = sum(1 for r in prot + plain if r.get("rc"))
        row["protected_checkpoint_requests"] = sum(r.get("checkpoint_requests", 0)
                                                   for r in prot)
        row["protected_passed_uncompared"] = sum(r.get("passed", 0) for r in prot)
        summ["throughput"][test] = row

    # --- pairs: QEMU colo-compare vs xt_COLO
    pp = by(guest, phase="pairs")
    hp = by(host, phase="pairs")
    for size in (64, 1400):
        test = f"pairs-{size}"
        q = by(pp, test=test, mode="qemu")
        kp = by(pp, test=test, mode="protected")
        kb = by(pp, test=test, mode="plain")
        hq = by(hp, test=test, mode="qemu")
        row = {}
        qr, kr, br = (per_rep(x, "pairs_per_s") for x in (q, kp, kb))
        row["pairs_per_s"] = {"qemu_guest": stat(list(qr.values())),
                              "xt_colo": stat(list(kr.values())),
                              "plain": stat(list(br.values())),
                              "qemu_host": stat(list(per_rep(hq, "pairs_per_s").values())),
                              "xt_colo_over_qemu": stat(ratio_per_rep(kr, qr))}
        qc = per_rep(q, "cpu_qemu_us_per_pair")
        qm = per_rep(q, "cpu_machine_us_per_pair")
        km = per_rep(kp, "cpu_machine_us_per_pair")
        bm = per_rep(kb, "cpu_machine_us_per_pair")
        marg = {k: km[k] - bm[k] for k in km if k in bm}
        row["cpu_us_per_pair"] = {
            "qemu_process": stat(list(qc.values())),
            "qemu_machine": stat(list(qm.values())),
            "xt_colo_machine": stat(list(km.values())),
            "plain_machine": stat(list(bm.values())),
            "xt_colo_added": stat(list(marg.values())),
            "qemu_process_over_xt_colo_added": stat(ratio_per_rep(qc, marg)),
            "qemu_machine_over_xt_colo_machine": stat(ratio_per_rep(qm, km)),
            "qemu_host_process": stat(list(per_rep(hq, "cpu_qemu_us_per_pair").values())),
        }
        row["failed_runs"] = sum(1 for r in q + kp + kb if r.get("rc"))
        summ["pairs"][test] = row

    # --- latency
    lat = by(guest, phase="latency")
    pings = by(lat, test="ping-64")
    row = {}
    for pct in ("p50", "p99"):
        a = {r["rep"]: r["result"]["rtt_us"][pct] for r in pings
             if r["mode"] == "protected" and "rtt_us" in r.get("result", {})}
        b = {r["rep"]: r["result"]["rtt_us"][pct] for r in pings
             if r["mode"] == "plain" and "rtt_us" in r.get("result", {})}
        row[pct] = {"protected_us": stat(list(a.values())), "plain_us": stat(list(b.values())),
                    "added_us": stat([a[k] - b[k] for k in a if k in b])}
    summ["latency"]["ping-64"] = row
    # the round trip split at the primary host's interfaces (ping_path.py)
    paths = by(lat, test="ping-path")
    row = {}
    for mode, keys in (("protected", ("release_us", "secondary_us")),
                       ("plain", ("forward_us",))):
        for key in keys:
            for pct in ("p50", "p99"):
                row[f"{mode}_{key}_{pct}"] = stat(
                    [r["result"][key][pct] for r in paths
                     if r["mode"] == mode and key in r.get("result", {})])
    summ["latency"]["ping-path"] = row
    div = []
    for r in by(lat, test="divergence-event"):
        res = r.get("result", {})
        sent = max(res.get("primary_sent_ns", 0), res.get("secondary_sent_ns", 0))
        if res.get("event_ns") and sent:
            div.append((res["event_ns"] - sent) / 1e6)
    summ["latency"]["divergence_event_ms"] = stat(div)
    # the same events split at the primary host, beside the guest's floor
    # of a packet-to-process read (div_path.py)
    ev_us, floor_us = [], []
    for r in by(lat, test="divergence-path"):
        ev_us += r.get("result", {}).get("event_us", [])
        floor_us += r.get("result", {}).get("floor_us", [])
    summ["latency"]["divergence_path"] = {"event_us": stat(ev_us), "floor_us": stat(floor_us)}
    fl, cmd, rate, held = [], [], [], []
    got, dropped, waits, runs, bh_max, bh_calls = [], [], [], [], [], []
    for r in by(lat, test="checkpoint-flush"):
        res = r.get("result") or {}
        got.append(res.get("got"))
        dropped.append(r.get("softnet_dropped"))
        if r.get("traced"):
            # perf's tracing slows the release: its flushes give the
            # softirq figures, the others the times
            sirq = r.get("softirq") or {}
            waits.append((sirq.get("waits") or {}).get("max_us"))
            runs.append((sirq.get("runs") or {}).get("max_us"))
            rel = (r.get("release_calls") or {}).get("colo_flow_release_some") or {}
            bh_max.append(rel.get("max_us"))
            bh_calls.append(rel.get("calls"))
            continue
        c = (r.get("checkpoint_cmd") or "").split()
        if len(c) >= 4 and res.get("last_ns") and res.get("got") == res.get("count"):
            start, end = int(c[1]), int(c[3])
            fl.append((res["last_ns"] - start) / 1e6)
            cmd.append((end - start) / 1e6)
            rate.append(r["held"] / ((res["last_ns"] - start) / 1e9))
            held.append(r["held"])
    summ["latency"]["checkpoint_flush"] = {"held": stat(held), "to_last_packet_ms": stat(fl),
                                           "command_ms": stat(cmd),
                                           "released_per_s": stat(rate),
                                           "client_got": stat(got),
                                           "softnet_dropped": stat(dropped),
                                           "net_rx_wait_max_us": stat(waits),
                                           "net_rx_run_max_us": stat(runs),
                                           "release_list_max_us": stat(bh_max),
                                           "release_list_calls": stat(bh_calls)}
    # --- profile (perf samples during downloads and pairs, profile.py)
    prof = by(guest, phase="profile")
    if prof:
        summ["profile"] = {}
        for test in sorted({r.get("test", "tcp-down") for r in prof}):
            summ["profile"][test] = profile_summary(
                [r for r in prof if r.get("test", "tcp-down") == test])
    sc = by(guest, phase="scaling")
    if any(r.get("test") for r in sc):
        summ["scaling"] = scaling_summary(sc)
    final = next((r["final_stats"] for r in guest if "final_stats" in r), None)
    summ["validity"] = {
        "guest_done": any(r.get("done") for r in guest),
        "errors": [r["error"] for r in guest if "error" in r],
        "failed_runs": sum(1 for r in guest if r.get("rc")),
        "protected_runs_with_checkpoint_requests":
            sum(1 for r in guest if r.get("mode") == "protected" and r.get("checkpoint_requests")),
        "final_stats": final,
    }
    return summ


def slab_bytes(mem, cache, what="object"):
    """bytes a slab cache's objects take: their own size ("object"), their
    room in the slab, slub_debug's metadata included ("slab"), or the
    cache's slabs' pages ("pages")"""
    c = (mem or {}).get(cache)
    if not c or c.get("objects") is None:
        return None
    if what == "pages":
        return c["slabs"] * (4096 << c["order"])
    return c["objects"] * c["slab_size" if what == "slab" else "object_size"]


def scaling_summary(recs):
    """Per-packet cost, memory and the periodic work against flows, and
    per-packet cost against queue depth (bench.sh phase_scaling); ratios
    per repetition against the smallest N (depth) of that repetition."""
    out = {"flows": {}, "depth": {}}
    setup = next((r["setup"] for r in recs if "setup" in r), {})
    out["tracing"] = setup.get("tracing")
    out["sleep_excluded"] = setup.get("sleep_excluded")
    flows = [r for r in by(recs, test="flows")]
    ns = sorted({r["n"] for r in flows})
    base = {}   # rep -> us/pair at the smallest N
    for r in flows:
        if r["n"] == ns[0] and r.get("rc", 0) == 0:
            base[r["rep"]] = r["result"].get("cpu_machine_us_per_pair")
    base_idle, base_tick, base_gc = {}, {}, {}
    for r in flows:
        if r["n"] == ns[0]:
            i = r.get("idle") or {}
            if i.get("wall_ms"):
                base_idle[r["rep"]] = i["busy_ms"] / i["wall_ms"] * 1000
                if i.get("tick_busy_ms") is not None:
                    base_tick[r["rep"]] = i["tick_busy_ms"] / i["wall_ms"] * 1000
                g = (i.get("trace") or {}).get("colo_gc_work")
                if g:
                    base_gc[r["rep"]] = g["total_us"] / (i["wall_ms"] / 1000)
    for n in ns:
        rs = [r for r in flows if r["n"] == n]
        ok = [r for r in rs if r.get("rc", 0) == 0]
        row = {"us_per_pair": stat([r["result"].get("cpu_machine_us_per_pair") for r in ok]),
               "pairs_per_s": stat([r["result"].get("pairs_per_s") for r in ok]),
               "ratio_to_smallest": stat([r["result"]["cpu_machine_us_per_pair"] / base[r["rep"]]
                                          for r in ok if base.get(r["rep"])
                                          and r["result"].get("cpu_machine_us_per_pair")]),
               "flows": stat([r.get("flows") for r in rs]),
               "prime_pairs_per_s": stat([(r.get("prime") or {}).get("pairs_per_s") for r in rs]),
               "prime_us_per_pair": stat([(r.get("prime") or {}).get("cpu_machine_us_per_pair")
                                          for r in rs]),
               "failed_runs": sum(1 for r in rs if r.get("rc") or r.get("prime_rc")),
               "checkpoint_requests": sum(r.get("checkpoint_requests", 0) for r in rs)}
        # memory: the module's caches grown from the fresh instance to N
        # flows made live (and idle), per flow
        per = {"object": [], "slab": [], "pages": []}
        guest = []
        for r in rs:
            f = r.get("flows")
            m0, m1 = r.get("mem_before"), r.get("mem_after")
            if not f or not m0 or not m1:
                continue
            caches = [c for c in ("colo_flow", "colo_held")
                      if slab_bytes(m0, c) is not None and slab_bytes(m1, c) is not None]
            if caches:
                for what in per:
                    per[what].append(sum(slab_bytes(m1, c, what) - slab_bytes(m0, c, what)
                                         for c in caches) / f)
            guest.append((m1["slab_kb"] - m0["slab_kb"]) * 1024 / f)
        row["bytes_per_flow_objects"] = stat(per["object"])
        row["bytes_per_flow_in_slab"] = stat(per["slab"])
        row["bytes_per_flow_pages"] = stat(per["pages"])
        m = next((r.get("mem_after") for r in rs if r.get("mem_after")), {})
        row["slab_size"] = {c: (m.get(c) or {}).get("slab_size") for c in ("colo_flow", "colo_held")}
        row["object_size"] = {c: (m.get(c) or {}).get("object_size")
                              for c in ("colo_flow", "colo_held")}
        row["guest_slab_bytes_per_flow"] = stat(guest)
        row["merged"] = next((((r.get("mem_after") or {}).get("colo_flow") or {}).get("merged")
                              for r in rs), None)
        # the periodic work with the N flows idle, and during the stream
        busy, added, gc, gc_call, scan, scan_call, sgc, sscan = [], [], [], [], [], [], [], []
        tick, tick_added, gc_added, gc_max = [], [], [], []
        for r in rs:
            i = r.get("idle") or {}
            if i.get("wall_ms"):
                b = i["busy_ms"] / i["wall_ms"] * 1000
                busy.append(b)
                if r["rep"] in base_idle:
                    added.append(b - base_idle[r["rep"]])
                if i.get("tick_busy_ms") is not None:
                    tb = i["tick_busy_ms"] / i["wall_ms"] * 1000
                    tick.append(tb)
                    if r["rep"] in base_tick:
                        tick_added.append(tb - base_tick[r["rep"]])
                t = i.get("trace") or {}
                secs = i["wall_ms"] / 1000
                if t.get("colo_gc_work"):
                    gc.append(t["colo_gc_work"]["total_us"] / secs)
                    gc_call.append(t["colo_gc_work"]["p50_us"])
                    gc_max.append(t["colo_gc_work"]["max_us"])
                    if r["rep"] in base_gc:
                        gc_added.append(t["colo_gc_work"]["total_us"] / secs - base_gc[r["rep"]])
                if t.get("colo_scan_work"):
                    scan.append(t["colo_scan_work"]["total_us"] / secs)
                    scan_call.append(t["colo_scan_work"]["p50_us"])
            st = r.get("stream_trace") or {}
            secs = (r.get("result") or {}).get("secs")
            if st and secs:
                if st.get("colo_gc_work"):
                    sgc.append(st["colo_gc_work"]["total_us"] / secs)
                if st.get("colo_scan_work"):
                    sscan.append(st["colo_scan_work"]["total_us"] / secs)
        row["idle_busy_ms_per_s"] = stat(busy)
        row["idle_busy_added_ms_per_s"] = stat(added)
        row["idle_tick_busy_ms_per_s"] = stat(tick)
        row["idle_tick_busy_added_ms_per_s"] = stat(tick_added)
        row["idle_gc_added_us_per_s"] = stat(gc_added)
        row["idle_gc_max_us_per_call"] = stat(gc_max)
        row["idle_gc_us_per_s"] = stat(gc)
        row["idle_gc_us_per_call"] = stat(gc_call)
        # a GC pass visits an eighth of the table, at least 1024 flows
        # (kernel/instance.c, COLO_GC_PASSES, COLO_GC_MIN)
        f = row["flows"]["median"]
        visited = min(f, max(f // 8, 1024)) if f else None
        row["idle_gc_flows_per_call"] = visited
        # every instance's GC is traced (both hosts'): the one call a
        # second of this instance's is the longest with many flows
        row["idle_gc_ns_per_flow"] = stat([c * 1000 / visited for c in gc_max if visited])
        row["idle_scan_us_per_s"] = stat(scan)
        row["idle_scan_us_per_call"] = stat(scan_call)
        row["stream_gc_us_per_s"] = stat(sgc)
        row["stream_scan_us_per_s"] = stat(sscan)
        out["flows"][str(n)] = row
    deps = by(recs, test="depth")
    ds = sorted({r["depth"] for r in deps})
    dbase = {r["rep"]: r["result"].get("cpu_machine_us_per_pair") for r in deps
             if ds and r["depth"] == ds[0] and r.get("rc", 0) == 0}
    for d in ds:
        rs = [r for r in deps if r["depth"] == d]
        ok = [r for r in rs if r.get("rc", 0) == 0]
        out["depth"][str(d)] = {
            "flows": rs[0].get("flows"),
            "us_per_pair": stat([r["result"].get("cpu_machine_us_per_pair") for r in ok]),
            "pairs_per_s": stat([r["result"].get("pairs_per_s") for r in ok]),
            "ratio_to_smallest": stat([r["result"]["cpu_machine_us_per_pair"] / dbase[r["rep"]]
                                       for r in ok if dbase.get(r["rep"])
                                       and r["result"].get("cpu_machine_us_per_pair")]),
            "held_sample": stat([r.get("held_sample") for r in rs]),
            "failed_runs": sum(1 for r in rs if r.get("rc")),
            "checkpoint_requests": sum(r.get("checkpoint_requests", 0) for r in rs)}
    # the targets
    t = {}
    if len(ns) > 1:
        big = out["flows"][str(ns[-1])]
        t["cost_ratio_largest_to_smallest"] = {
            "flows": [ns[0], ns[-1]], "ratio": big["ratio_to_smallest"], "target": 1.3,
            "met": big["ratio_to_smallest"]["max"] is not None
            and big["ratio_to_smallest"]["max"] <= 1.3}
    if ns:
        b = out["flows"][str(ns[-1])]["bytes_per_flow_objects"]
        t["bytes_per_idle_flow"] = {"flows": ns[-1], "bytes": b, "target": 256, "pahole": 232,
                                    "met": b["max"] is not None and b["max"] <= 256}
    if len(ds) > 1:
        r = out["depth"][str(ds[-1])]["ratio_to_smallest"]
        t["cost_ratio_deepest_to_shallowest"] = {"depth": [ds[0], ds[-1]], "ratio": r}
    out["targets"] = t
    return out


def scaling_table(sc):
    L = ["Scaling (protected; 64-byte UDP pairs fed by colo_pairs, spread round robin"
         " over N live flows):"]
    L.append(f"  {'flows':>7} {'made':>7} {'us/pair':<20} {'ratio to 1st':<18} {'pairs/s':<20}"
             f" {'new flows/s':<12} {'B/flow':<7} {'in slab':<8} {'pages':<8}")
    for n, r in sc["flows"].items():
        L.append(f"  {n:>7} {fmt(r['flows']['median'], 0):>7} {fmt_stat(r['us_per_pair']):<20}"
                 f" {fmt_stat(r['ratio_to_smallest'], 2):<18} {fmt_stat(r['pairs_per_s'], 0):<20}"
                 f" {fmt(r['prime_pairs_per_s']['median'], 0):<12}"
                 f" {fmt(r['bytes_per_flow_objects']['median'], 0):<7}"
                 f" {fmt(r['bytes_per_flow_in_slab']['median'], 0):<8}"
                 f" {fmt(r['bytes_per_flow_pages']['median'], 0):<8}")
    last = list(sc["flows"].values())[-1] if sc["flows"] else None
    if last:
        sizes = ", ".join(f"{c} {last['object_size'][c]} (in its slab {last['slab_size'][c]})"
                          for c in ("colo_flow", "colo_held"))
        L.append(f"  (bytes an object: {sizes}; guest command line: {sc.get('cmdline') or '?'})")
    L.append("  idle flows: guest busy CPU, GC and timeout scan (function_graph, wall time of"
             " the calls" + (", time scheduled out not counted):" if sc.get("sleep_excluded")
                             else ", interrupts and time scheduled out included):"))
    L.append(f"  {'flows':>7} {'busy ms/s':<10} {'tick ms/s':<10} {'over 1st':<9} {'GC us/s':<9}"
             f" {'over 1st':<9} {'GC max us':<10} {'ns/flow':<8} {'scan us/s':<10} {'scan us/call':<12}"
             f" {'streaming: GC, scan us/s'}")
    for n, r in sc["flows"].items():
        L.append(f"  {n:>7} {fmt(r['idle_busy_ms_per_s']['median']):<10}"
                 f" {fmt(r['idle_tick_busy_ms_per_s']['median']):<10}"
                 f" {fmt(r['idle_tick_busy_added_ms_per_s']['median']):<9}"
                 f" {fmt(r['idle_gc_us_per_s']['median']):<9}"
                 f" {fmt(r['idle_gc_added_us_per_s']['median']):<9}"
                 f" {fmt(r['idle_gc_max_us_per_call']['median']):<10}"
                 f" {fmt(r['idle_gc_ns_per_flow']['median'], 0):<8}"
                 f" {fmt(r['idle_scan_us_per_s']['median']):<10}"
                 f" {fmt(r['idle_scan_us_per_call']['median']):<12}"
                 f" {fmt(r['stream_gc_us_per_s']['median'])}, {fmt(r['stream_scan_us_per_s']['median'])}")
    if sc["depth"]:
        L.append("  queue depth: D primary copies held per flow when the secondary's comes:")
        L.append(f"  {'depth':>7} {'held@1s':>8} {'us/pair':<20} {'ratio to 1st':<18} {'pairs/s':<20}")
        for d, r in sc["depth"].items():
            L.append(f"  {d:>7} {fmt(r['held_sample']['median'], 0):>8} {fmt_stat(r['us_per_pair']):<20}"
                     f" {fmt_stat(r['ratio_to_smallest'], 2):<18} {fmt_stat(r['pairs_per_s'], 0):<20}")
    t = sc["targets"]
    if "cost_ratio_largest_to_smallest" in t:
        x = t["cost_ratio_largest_to_smallest"]
        L.append(f"  target: us/pair at {x['flows'][1]} flows <= 1.3 x at {x['flows'][0]}:"
                 f" {fmt_stat(x['ratio'], 2)}, {'met' if x['met'] else 'not met'}")
    if "bytes_per_idle_flow" in t:
        x = t["bytes_per_idle_flow"]
        L.append(f"  target: <= 256 bytes per idle flow (slab objects of colo_flow and colo_held,"
                 f" {x['flows']} flows): {fmt_stat(x['bytes'], 0)}, {'met' if x['met'] else 'not met'}"
                 f" (pahole: 232)")
    if "cost_ratio_deepest_to_shallowest" in t:
        x = t["cost_ratio_deepest_to_shallowest"]
        L.append(f"  target: us/pair independent of depth: depth {x['depth'][1]} / depth"
                 f" {x['depth'][0]} {fmt_stat(x['ratio'], 2)}")
    fails = sum(r["failed_runs"] for r in list(sc["flows"].values()) + list(sc["depth"].values()))
    reqs = sum(r["checkpoint_requests"] for r in list(sc["flows"].values())
               + list(sc["depth"].values()))
    L.append(f"  (us/pair: the guest's busy CPU per released pair, feeder included; B/flow: bytes"
             f" of the colo_flow and colo_held objects per flow made (object_size), in slab: the"
             f" room they take in their slabs (slub_debug's red zones and tracking included),"
             f" pages: their slabs' pages;"
             f" busy ms/s: the guest's busy CPU per second with the flows idle (wall time less"
             f" /proc/stat idle), tick ms/s: the same from the busy fields (sampled at the"
             f" tick), over 1st: less that with the fewest flows; GC us/s: every instance's GC"
             f" (both hosts'), over 1st: less that with the fewest flows, max us: the longest"
             f" call, ns/flow: that over the flows a pass visits, an eighth of the table, at"
             f" least 1024; failed measurements {fails}, checkpoint requests {reqs})")
    return L


def table(meta, summ):
    L = []
    L.append(f"xt_COLO bench, {meta.get('revision')} at {meta.get('started')}")
    L.append(f"guest: {meta.get('guest_kernel')} on {meta.get('accel')}, {meta.get('guest_cpus')} vCPUs"
             f" ({meta.get('guest_cpu')}); host: {meta.get('host_cpu')}, {meta.get('host_cpus')} CPUs,"
             f" load {meta.get('load_start')} -> {meta.get('load_end')}")
    L.append("figures: median (min..max) over repetitions; ratios per repetition, then median")
    L.append("")
    L.append("Throughput, protected (README rules) vs plain forwarding, both guests serving:")
    L.append(f"  {'test':<10} {'unit':<8} {'protected':<26} {'plain':<26} {'ratio':<20}")
    for test, row in summ["throughput"].items():
        for key, unit in (("mbit_s", "Mbit/s"), ("pps", "pps"), ("busy_cpu_ms_per_mb", "busyms/MB"),
                          ("guest_cpu_ms_per_mb", "CPUms/MB")):
            if key in row:
                r = row[key]
                L.append(f"  {test:<10} {unit:<8} {fmt_stat(r['protected']):<26} "
                         f"{fmt_stat(r['plain']):<26} {fmt_stat(r['ratio'], 3):<20}")
        if "secondary_guest_segments" in row:
            r = row["secondary_guest_segments"]
            L.append(f"  {test:<10} {'sec.segs':<8} {fmt_stat(r['protected'], 0):<26} "
                     f"{fmt_stat(r['plain'], 0):<26}")
        if "longest_wait_ms" in row:
            r = row["longest_wait_ms"]
            L.append(f"  {test:<10} {'wait ms':<8} {fmt_stat(r['protected']):<26} "
                     f"{fmt_stat(r['plain']):<26}")
        ps = row.get("primary_sender") or {}
        for key, unit, nd in (("rtt_us", "rtt us", 0), ("rwnd_limited_share", "rwnd lim", 2),
                              ("retrans", "retrans", 0)):
            if any(key in v for v in ps.values()):
                L.append(f"  {test:<10} {unit:<8} "
                         f"{fmt_stat(ps.get('protected', {}).get(key), nd):<26} "
                         f"{fmt_stat(ps.get('plain', {}).get(key), nd):<26}")
    L.append("  (TCP: colo_load tcp-get, application bytes; UDP: colo_load udp-get, request"
             " stream with a window, payload bits; busyms/MB: the guest's busy CPU time during"
             " the transfer per MB delivered; CPUms/MB: the same around the whole measurement,"
             " client start-up included; sec.segs: TCP segments the secondary guest sent, which"
             " in the plain mode stop after its first window; rtt us, rwnd lim, retrans: the"
             " primary guest's sender at the end of a download (TCP_INFO): its smoothed RTT,"
             " the share of its busy time the client's receive window held it back, its"
             " retransmissions; wait ms: the client's longest wait for data in a download)")
    L.append("")
    L.append("Frame pairs: QEMU colo-compare (in the guest) vs xt_COLO (packet sockets), UDP:")
    for test, row in summ["pairs"].items():
        p, c = row["pairs_per_s"], row["cpu_us_per_pair"]
        L.append(f"  {test}: pairs/s  QEMU {fmt_stat(p['qemu_guest'])}  xt_COLO {fmt_stat(p['xt_colo'])}"
                 f"  plain {fmt_stat(p['plain'])}  xt_COLO/QEMU {fmt_stat(p['xt_colo_over_qemu'], 2)}")
        L.append(f"  {'':<10} CPU us/pair  QEMU process {fmt_stat(c['qemu_process'])}"
                 f"  xt_COLO added (protected-plain, machine) {fmt_stat(c['xt_colo_added'])}"
                 f"  ratio {fmt_stat(c['qemu_process_over_xt_colo_added'], 2)}")
        L.append(f"  {'':<10} machine us/pair (feeder included)  QEMU {fmt_stat(c['qemu_machine'])}"
                 f"  xt_COLO {fmt_stat(c['xt_colo_machine'])}  plain {fmt_stat(c['plain_machine'])}"
                 f"  QEMU/xt_COLO {fmt_stat(c['qemu_machine_over_xt_colo_machine'], 2)}")
        if p["qemu_host"]["n"]:
            L.append(f"  {'':<10} host QEMU (no emulation): pairs/s {fmt_stat(p['qemu_host'])},"
                     f" process us/pair {fmt_stat(c['qemu_host_process'])}")
    ev = summ.get("engine_vs_qemu") or {}
    for test, r in ev.items():
        if r["qemu_over_engine"]:
            L.append(f"  {test}: on the host, the engine alone {fmt(r['engine_ns'])} ns/pair against"
                     f" QEMU's process {fmt(r['qemu_host_process_us'])} us/pair:"
                     f" QEMU/engine {fmt(r['qemu_over_engine'], 0)}")
    L.append("")
    lat = summ["latency"]
    L.append("Latency:")
    for pct in ("p50", "p99"):
        r = lat["ping-64"][pct]
        L.append(f"  UDP ping-pong 64 B {pct}: protected {fmt_stat(r['protected_us'])} us,"
                 f" plain {fmt_stat(r['plain_us'])} us, added {fmt_stat(r['added_us'])} us")
    pp = lat["ping-path"]
    for pct in ("p50", "p99"):
        L.append(f"  on the primary host, {pct}: the later answer in to the release out"
                 f" {fmt_stat(pp[f'protected_release_us_{pct}'])} us (protected),"
                 f" the answer in to out {fmt_stat(pp[f'plain_forward_us_{pct}'])} us (plain);"
                 f" the secondary's answer after the primary's"
                 f" {fmt_stat(pp[f'protected_secondary_us_{pct}'])} us")
    L.append(f"  divergence to coloctl monitor event: {fmt_stat(lat['divergence_event_ms'], 2)} ms"
             f" (n={lat['divergence_event_ms']['n']})")
    dp = lat.get("divergence_path")
    if dp:
        L.append(f"  on the primary host: the later differing answer in to the event read by"
                 f" coloctl {fmt_stat(dp['event_us'], 0)} us (n={dp['event_us']['n']});"
                 f" a datagram in to its read by a process there {fmt_stat(dp['floor_us'], 0)} us"
                 f" (n={dp['floor_us']['n']})")
    f = lat["checkpoint_flush"]
    L.append(f"  checkpoint flush of {fmt_stat(f['held'], 0)} held datagrams: last one at the client"
             f" {fmt_stat(f['to_last_packet_ms'])} ms after `coloctl checkpoint` started"
             f" (command {fmt_stat(f['command_ms'])} ms; {fmt_stat(f['released_per_s'], 0)} released/s)")
    if f.get("softnet_dropped", {}).get("n"):
        L.append(f"    the client got {fmt_stat(f['client_got'], 0)}; backlogs dropped"
                 f" {fmt_stat(f['softnet_dropped'], 0)}; NET_RX softirq's longest wait"
                 f" {fmt_stat(f['net_rx_wait_max_us'], 0)} us, longest run"
                 f" {fmt_stat(f['net_rx_run_max_us'], 0)} us")
        L.append(f"    releases with bottom halves off (colo_flow_release_some):"
                 f" {fmt_stat(f['release_list_calls'], 0)} calls, the longest"
                 f" {fmt_stat(f['release_list_max_us'], 0)} us")
    for test, prof in summ.get("profile", {}).items():
        for mode, p in prof.items():
            if mode == "added":
                continue
            L.append("")
            rate = (f"{fmt_stat(p['mbit_s'])} Mbit/s" if test == "tcp-down"
                    else f"{fmt_stat(p['pairs_per_s'], 0)} pairs/s")
            L.append(f"Profile, {test}, {mode} ({p['samples']} samples, {rate}):"
                     f" xt_COLO {fmt_stat(p['xt_colo_pct'], 2)} %,"
                     f" idle {fmt_stat(p['idle_pct'])} %, lock spinning {fmt_stat(p['lock_spin_pct'])} %,"
                     f" user {fmt_stat(p['user_pct'])} %"
                     + (f"; busy CPU {p['busy_us_per_pair']} us a pair" if "busy_us_per_pair" in p
                        else ""))
            L.append("  top: " + ", ".join(f"{s} {v}" for s, v in p["top"][:10]))
            if p["xt_colo_top"]:
                L.append("  xt_COLO: " + ", ".join(f"{s} {v}" for s, v in p["xt_colo_top"]))
        a = prof.get("added")
        if a:
            L.append(f"  {test}: protection adds {a['busy_us_per_pair']} us of busy CPU a pair to plain"
                     f" forwarding, xt_COLO's own functions {a['xt_colo_us_per_pair']} us of it"
                     f" ({fmt(a['xt_colo_share_pct'], 1)} %)"
                     + (f"; QEMU's colo-compare run: {prof['qemu']['busy_us_per_pair']} us a pair"
                        if "busy_us_per_pair" in prof.get("qemu", {}) else ""))
            L.append("  added, by symbol (us a pair): "
                     + ", ".join(f"{s} {v}" for s, v in a["top"]))
    if summ.get("scaling"):
        L.append("")
        L += scaling_table(summ["scaling"])
    v = summ["validity"]
    L.append("")
    L.append(f"validity: guest finished {v['guest_done']}, failed measurements {v['failed_runs']},"
             f" protected runs with a checkpoint request {v['protected_runs_with_checkpoint_requests']}"
             + (f", errors {v['errors']}" if v["errors"] else ""))
    return "\n".join(L) + "\n"



def cost_plot(name, against, xlabel, title):
    """gnuplot for NAME.dat: guest CPU per pair and pairs/s against X."""
    return f"""
set output '{name}.png'
set title "Per-pair cost and pairs/s against {against} (median, min..max)\\n{title}"
set logscale x
set xlabel '{xlabel}'
set ylabel 'guest CPU us per pair'
set y2label 'pairs/s'
unset logscale y
set yrange [0:*]
set y2range [0:*]
set ytics nomirror
set y2tics
plot '{name}.dat' using 1:2:3:4 with yerrorlines title 'us per pair', \\
     '' using 1:5:6:7 axes x1y2 with yerrorlines title 'pairs/s'
unset logscale x
unset xlabel
unset y2label
unset y2tics
set ytics mirror
"""

def plots(out, summ, meta):
    gp = shutil.which("gnuplot")
    if not gp:
        return ["gnuplot not found: no plots (make bench installs gnuplot-nox)"]
    notes = []
    title = f"{meta.get('revision')}, {meta.get('guest_kernel')} {meta.get('accel')}"

    # throughput ratios with spread
    with open(os.path.join(out, "throughput.dat"), "w") as f:
        f.write("# test ratio_median min max\n")
        for test, row in summ["throughput"].items():
            key = "mbit_s"
            r = row.get(key, {}).get("ratio")
            if r and r["median"] is not None:
                f.write(f"{test} {r['median']} {r['min']} {r['max']}\n")
    # pairs per second
    with open(os.path.join(out, "pairs.dat"), "w") as f:
        f.write("# test qemu qmin qmax xt xmin xmax plain pmin pmax\n")
        for test, row in summ["pairs"].items():
            p = row["pairs_per_s"]
            vals = []
            for k in ("qemu_guest", "xt_colo", "plain"):
                s = p[k]
                vals += [s["median"] or 0, s["min"] or 0, s["max"] or 0]
            f.write(test + " " + " ".join(str(v) for v in vals) + "\n")
    with open(os.path.join(out, "cpu.dat"), "w") as f:
        f.write("# test (median min max) of: qemu_process qemu_machine xt_colo_machine plain_machine\n")
        for test, row in summ["pairs"].items():
            c = row["cpu_us_per_pair"]
            vals = []
            for k in ("qemu_process", "qemu_machine", "xt_colo_machine", "plain_machine"):
                s = c[k]
                vals += [s["median"] or 0, s["min"] or 0, s["max"] or 0]
            f.write(test + " " + " ".join(str(v) for v in vals) + "\n")
    with open(os.path.join(out, "latency.dat"), "w") as f:
        f.write("# pct protected pmin pmax plain bmin bmax\n")
        for pct in ("p50", "p99"):
            r = summ["latency"]["ping-64"][pct]
            vals = []
            for k in ("protected_us", "plain_us"):
                s = r[k]
                vals += [s["median"] or 0, s["min"] or 0, s["max"] or 0]
            f.write(pct + " " + " ".join(str(v) for v in vals) + "\n")
    sc = summ.get("scaling") or {"flows": {}, "depth": {}}
    with open(os.path.join(out, "scaling.dat"), "w") as f:
        f.write("# flows us_per_pair min max pairs_per_s min max\n")
        for n, r in sc["flows"].items():
            u, p = r["us_per_pair"], r["pairs_per_s"]
            if u["median"] is not None:
                f.write(f"{n} {u['median']} {u['min']} {u['max']}"
                        f" {p['median']} {p['min']} {p['max']}\n")
    with open(os.path.join(out, "depth.dat"), "w") as f:
        f.write("# depth us_per_pair min max pairs_per_s min max\n")
        for d, r in sc["depth"].items():
            u, p = r["us_per_pair"], r["pairs_per_s"]
            if u["median"] is not None:
                f.write(f"{d} {u['median']} {u['min']} {u['max']}"
                        f" {p['median']} {p['min']} {p['max']}\n")
    head = f"""
set terminal pngcairo size 900,500 font ',10' noenhanced
set style data histograms
set style histogram errorbars gap 2 lw 1
set style fill solid 0.6 border -1
set grid ytics
set key top right
"""
    blocks = [("throughput.dat", f"""
set output 'throughput.png'
set title "Throughput protected / plain (median, min..max)\\n{title}"
set ylabel 'ratio'
unset logscale y
set yrange [0:*]
plot 'throughput.dat' using 2:3:4:xtic(1) title 'protected / plain'
"""), ("pairs.dat", f"""
set output 'pairs.png'
set title "Frame pairs released per second (median, min..max)\\n{title}"
set ylabel 'pairs/s'
set logscale y
set yrange [*:*]
plot 'pairs.dat' using 2:3:4:xtic(1) title 'QEMU colo-compare (guest)', \\
     '' using 5:6:7 title 'xt_COLO', '' using 8:9:10 title 'plain forwarding'
"""), ("cpu.dat", f"""
set output 'cpu.png'
set title "CPU per pair, us (median, min..max)\\n{title}"
set ylabel 'us per pair'
unset logscale y
set yrange [0:*]
plot 'cpu.dat' using 2:3:4:xtic(1) title 'QEMU colo-compare process', \\
     '' using 5:6:7 title 'machine, QEMU colo-compare + feeder', \\
     '' using 8:9:10 title 'machine, xt_COLO + feeder', \\
     '' using 11:12:13 title 'machine, plain forwarding + feeder'
"""), ("latency.dat", f"""
set output 'latency.png'
set title "UDP ping-pong round trip, us (median, min..max)\\n{title}"
set ylabel 'us'
set logscale y
set yrange [*:*]
plot 'latency.dat' using 2:3:4:xtic(1) title 'protected', '' using 5:6:7 title 'plain'
"""), ("scaling.dat", cost_plot("scaling", "live flows", "flows", title)),
              ("depth.dat", cost_plot("depth", "primary packets held per flow",
                                      "primary copies held per flow when the secondary copy comes",
                                      title))]
    script = head
    for dat, block in blocks:
        # a partial run (BENCH_PHASES) leaves some without data: no plot
        with open(os.path.join(out, dat)) as f:
            rows = [ln for ln in f if not ln.startswith("#") and
                    any(float(x) for x in ln.split()[1:])]
        if rows:
            script += block
        else:
            notes.append(f"no data for {dat[:-4]}.png (phase not run)")
    with open(os.path.join(out, "plots.gp"), "w") as f:
        f.write(script)
    r = subprocess.run([gp, "plots.gp"], cwd=out, capture_output=True, text=True)
    if r.returncode != 0:
        notes.append("gnuplot failed: " + r.stderr.strip())
    return notes


def engine_vs_qemu(summ, engine):
    """The comparison step alone against QEMU's colo-compare, both on the
    host without emulation: the engine's ns per UDP pair (bench/engine, the
    module's own compare.c and step.c) against the CPU time QEMU's process
    took per pair of the same size (bench/run's host run)."""
    out = {}
    res = (engine or {}).get("results") or {}
    for size in (64, 1400):
        e = (res.get(f"udp_pair_{size}") or {}).get("current", {}).get("median")
        q = summ["pairs"].get(f"pairs-{size}", {}).get("cpu_us_per_pair", {}) \
            .get("qemu_host_process", {}).get("median")
        out[f"pairs-{size}"] = {"engine_ns": e, "qemu_host_process_us": q,
                                "qemu_over_engine": q * 1000 / e if e and q else None}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--guest", required=True)
    ap.add_argument("--host")
    ap.add_argument("--engine")
    ap.add_argument("--out", required=True)
    ap.add_argument("--meta", action="append", default=[])
    a = ap.parse_args()

    guest = read_lines(a.guest)
    host = read_lines(a.host)
    meta = dict(m.split("=", 1) for m in a.meta)
    g = next((r["guest"] for r in guest if "guest" in r), {})
    meta["guest_kernel"] = g.get("kernel")
    meta["guest_cpu"] = g.get("cpu_model")
    meta["guest_cpus"] = g.get("cpus")
    meta["parameters"] = {k: v for k, v in g.items() if k not in ("kernel", "cpu_model", "cpus")}
    meta["qemu_in_guest"] = next((r["qemu_version"] for r in guest if "qemu_version" in r), None)
    accel = None
    with open(a.guest, errors="replace") as f:
        for line in f:
            if line.startswith("# host: accel "):
                accel = line.split()[3].rstrip(",")
    meta["accel"] = accel

    summ = summarize(guest, host)
    if summ.get("scaling"):
        summ["scaling"]["cmdline"] = g.get("cmdline")
    engine = None
    if a.engine and os.path.exists(a.engine):
        with open(a.engine) as f:
            try:
                engine = json.load(f)
            except ValueError as e:
                engine = {"error": f"unreadable: {e}"}

    summ["engine_vs_qemu"] = engine_vs_qemu(summ, engine)

    os.makedirs(a.out, exist_ok=True)
    text = table(meta, summ)
    notes = plots(a.out, summ, meta)
    with open(os.path.join(a.out, "bench.json"), "w") as f:
        json.dump({"meta": meta, "summary": summ, "engine": engine,
                   "measurements": {"guest": guest, "host": host}}, f, indent=1)
        f.write("\n")
    with open(os.path.join(a.out, "table.txt"), "w") as f:
        f.write(text)
    sys.stdout.write("\n" + text)
    for n in notes:
        print("# " + n)
    print(f"# results in {a.out}")
    v = summ["validity"]
    return 0 if v["guest_done"] and not v["errors"] and not v["failed_runs"] else 1


if __name__ == "__main__":
    sys.exit(main())
