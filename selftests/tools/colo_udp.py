#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Deterministic UDP echo server and client for the COLO comparator selftests.

serve  --port P [--lag N] [--alter-index I] [--dstopts] [--log FILE]
       [--ready FILE]
    Echo every datagram back to its sender, unchanged.  --lag N holds the
    last N datagrams and answers each one only when N more have arrived (or
    the socket has been idle for --flush-ms), so this guest's answers trail
    the other guest's by N datagrams while staying in the same order.
    --alter-index I flips one byte of the answer to the I-th datagram
    (counted from 0 since the server started): a deliberate divergence.

send   --host H --port P --count K [--size S] [--interval-ms MS]
       [--timeout SEC] [--progress FILE] [--sport PORT]
       [--first-send-file FILE]
    Send K datagrams (payload: index + seeded filler, S bytes), collect the
    answers until all came or the timeout, and print a JSON summary.  Exits
    0 only if every answer came back, equal to what was sent, in order.
"""

import argparse
import collections
import json
import os
import random
import select
import socket
import struct
import sys
import time

IPV6_DSTOPTS = getattr(socket, "IPV6_DSTOPTS", 59)


def atomic_write(path, text):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def log_line(path, obj):
    if path:
        with open(path, "a") as f:
            f.write(json.dumps(obj, sort_keys=True) + "\n")


def payload(index, size, seed):
    filler = random.Random(seed * 1000003 + index).randbytes(max(size - 8, 0))
    return (struct.pack("!II", 0xC0105EED, index) + filler)[:max(size, 8)]


def cmd_serve(args):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", args.port))
    if args.dstopts:
        # next header (kernel fills it), length 0 (8 bytes), PadN of 4
        opt = bytes([0, 0, 1, 4, 0, 0, 0, 0])
        s.setsockopt(socket.IPPROTO_IPV6, IPV6_DSTOPTS, opt)
    if args.ready:
        atomic_write(args.ready, "%d\n" % os.getpid())
    held = collections.deque()
    seen = 0

    def answer(item):
        idx, data, addr = item
        if idx == args.alter_index and data:
            data = bytearray(data)
            data[-1] ^= 0x5a
            data = bytes(data)
            log_line(args.log, {"op": "altered", "index": idx})
        s.sendto(data, addr)

    while True:
        timeout = args.flush_ms / 1000.0 if held else None
        r, _, _ = select.select([s], [], [], timeout)
        if not r:
            while held:
                answer(held.popleft())
            continue
        data, addr = s.recvfrom(65535)
        held.append((seen, data, addr))
        log_line(args.log, {"op": "recv", "index": seen, "len": len(data)})
        seen += 1
        while len(held) > args.lag:
            answer(held.popleft())


def cmd_send(args):
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    if args.sport:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("", args.sport))
    s.connect((args.host, args.port))
    sent = [payload(i, args.size, args.seed) for i in range(args.count)]
    got = []
    deadline = None
    err = None
    nxt = 0
    next_send = time.monotonic()
    while True:
        now = time.monotonic()
        if nxt < args.count and now >= next_send:
            s.send(sent[nxt])
            if nxt == 0 and args.first_send_file:
                atomic_write(args.first_send_file, "%.6f\n" %
                             time.clock_gettime(time.CLOCK_BOOTTIME))
            nxt += 1
            next_send = now + args.interval_ms / 1000.0
            if nxt == args.count:
                deadline = time.monotonic() + args.timeout
            continue
        if nxt == args.count and len(got) >= args.count:
            break
        if deadline is not None and now >= deadline:
            err = "timeout"
            break
        wait = (next_send - now) if nxt < args.count else (deadline - now)
        r, _, _ = select.select([s], [], [], max(wait, 0))
        if r:
            try:
                got.append(s.recv(65535))
            except OSError as e:
                err = str(e)
                break
            if args.progress:
                atomic_write(args.progress, "%d\n" % len(got))
    if args.progress:
        atomic_write(args.progress, "%d\n" % len(got))
    bad = []
    for i, d in enumerate(got):
        if i >= len(sent) or d != sent[i]:
            idx = struct.unpack("!I", d[4:8])[0] if len(d) >= 8 else None
            bad.append({"position": i, "index_in_answer": idx,
                        "len": len(d)})
    res = {"sent": args.count, "received": len(got), "bad": bad[:10],
           "nbad": len(bad), "error": err}
    res["ok"] = err is None and len(got) == args.count and not bad
    print(json.dumps(res, sort_keys=True), flush=True)
    return 0 if res["ok"] else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--lag", type=int, default=0)
    s.add_argument("--flush-ms", type=int, default=300)
    s.add_argument("--alter-index", type=int, default=None)
    s.add_argument("--dstopts", action="store_true",
                   help="IPv6 answers carry a destination options header")
    s.add_argument("--log")
    s.add_argument("--ready")
    c = sub.add_parser("send")
    c.add_argument("--host", required=True)
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--count", type=int, default=20)
    c.add_argument("--size", type=int, default=200)
    c.add_argument("--seed", type=int, default=1)
    c.add_argument("--interval-ms", type=float, default=10)
    c.add_argument("--timeout", type=float, default=10)
    c.add_argument("--progress")
    c.add_argument("--first-send-file",
                   help="write the CLOCK_BOOTTIME of the first send here")
    c.add_argument("--sport", type=int, default=0,
                   help="fixed source port (same flow from both guests)")
    args = p.parse_args()
    return cmd_serve(args) if args.cmd == "serve" else cmd_send(args)


if __name__ == "__main__":
    sys.exit(main())
