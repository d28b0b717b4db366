#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Deterministic TCP and UDP traffic for the COLO failover selftests.

The same server runs in both guests; both see the same client requests (the
secondary through the mirror), so both answer with the same bytes.  Unlike
colo_tcp.py this tool is built for transfers that live through a host
failure: the client records how far it got (for "cut the host halfway"),
says exactly how its socket failed if it did (a reset is a failure), and
the server logs what it really sent and received per connection, so a test
can compare the client's bytes with the secondary guest's own stream.

TCP protocol, one request line per connection:
    GET <nbytes> <seed>\\n   server sends pattern(nbytes, seed), then closes
    PUT <nbytes> <seed>\\n   client sends nbytes; server answers
                            "OK <len> <sha256>\\n" and closes

Commands:
  serve    --port P [--write-size W] [--rate BPS] [--fin-wait SEC]
           [--log FILE]
           TCP server (one thread per connection).  Logs one JSON line per
           connection: op, len, seed, client port, sha256 of the bytes it
           passed to the socket (GET) or received (PUT), error if any
           ("timeout": no FIN from the client within SEC, 120 by default,
           of its acknowledging the last byte).
  get      --host H --port P --bytes N [--seed S] [--progress FILE]
           [--timeout SEC]
  put      --host H --port P --bytes N [--seed S] [--write-size W]
           [--rate BPS] [--progress FILE] [--timeout SEC]
           put's progress is the number of bytes the server acknowledged
           (bytes written minus SIOCOUTQ).
  multi    --host H --port P --conns K --bytes N [--seed-base S]
           [--progress FILE] [--timeout SEC]
           K concurrent GETs (seeds S, S+1, ...); progress is the sum of
           bytes received, PROGRESS.done the number of connections that
           ended; prints one JSON line per connection and a
           summary; exit 0 only if every connection got exactly its stream.
  udp-serve --port P [--log FILE]
           UDP echo.
  udp-send --host H --port P [--interval-ms MS] [--size S] [--seed S]
           [--progress FILE] --stop-file FILE [--timeout SEC]
           One datagram every MS (payload: index + seeded filler) until
           STOP-FILE exists, then waits up to a second for late answers.
           Progress: "sent answered last_answered_index".  Prints a JSON
           summary: sent, answered, wrong (answers unequal to the datagram
           they echo), duplicates (a datagram answered twice),
           out_of_order (answers older than one already received, the
           first ones listed in "reordered"), answered indexes as ranges;
           exit 0 only if all three are zero.

Client commands print one JSON object (the last line) and exit 0 only when
the exchange was exactly right.  "error" names the errno (ECONNRESET,
ETIMEDOUT...) when the socket failed.
"""

import argparse
import errno
import fcntl
import hashlib
import json
import os
import random
import socket
import struct
import sys
import threading
import time

SIOCOUTQ = 0x5411


def pattern(nbytes, seed):
    """A seeded PRNG stream: no short period, so a misaligned stream can
    never match by accident."""
    return random.Random(seed).randbytes(nbytes)


def atomic_write(path, text):
    tmp = "%s.tmp.%d.%d" % (path, os.getpid(), threading.get_ident())
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


_log_lock = threading.Lock()


def log_line(path, obj):
    if not path:
        return
    with _log_lock, open(path, "a") as f:
        f.write(json.dumps(obj, sort_keys=True) + "\n")


def err_name(e):
    if isinstance(e, socket.timeout):
        return "timeout"
    if getattr(e, "errno", None):
        return errno.errorcode.get(e.errno, str(e.errno))
    return str(e)


class Pacer:
    """Sleep so that at most rate bytes per second go out (0: no limit)."""

    def __init__(self, rate):
        self.rate = rate
        self.start = time.monotonic()
        self.done = 0

    def account(self, n):
        self.done += n
        if self.rate:
            ahead = self.done / self.rate - (time.monotonic() - self.start)
            if ahead > 0:
                time.sleep(ahead)


def read_line(conn, limit=256):
    buf = b""
    while not buf.endswith(b"\n") and len(buf) <= limit:
        c = conn.recv(1)
        if not c:
            break
        buf += c
    return buf.decode("ascii", "replace").strip()


def outq(conn):
    """Bytes written to the socket and not yet acknowledged (SIOCOUTQ)."""
    return struct.unpack("i", fcntl.ioctl(conn.fileno(), SIOCOUTQ,
                                          b"\0" * 4))[0]


def wait_fin(conn, limit):
    """Wait for the client's FIN so that ours is not followed by a RST.
    The bound counts from the moment the client had acknowledged all our
    bytes: the pacer and the socket buffer let a GET's writes end long
    before a slow path (a debug kernel, a failover) has delivered them."""
    conn.settimeout(1)
    idle_since = time.monotonic()
    while True:
        try:
            if not conn.recv(65536):
                return
            idle_since = time.monotonic()
        except socket.timeout:
            if outq(conn):
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > limit:
                raise


def serve_one(conn, addr, args):
    rec = {"peer": addr[0].removeprefix("::ffff:"), "cport": addr[1]}
    try:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        req = read_line(conn).split()
        if len(req) != 3 or req[0] not in ("GET", "PUT"):
            rec.update(op="bad", req=req)
            return
        op, n, seed = req[0].lower(), int(req[1]), int(req[2])
        rec.update(op=op, len=0, seed=seed, want=n)
        if op == "get":
            data = pattern(n, seed)
            h = hashlib.sha256()
            pacer = Pacer(args.rate)
            off = 0
            while off < n:
                chunk = data[off:off + args.write_size]
                conn.sendall(chunk)
                h.update(chunk)
                off += len(chunk)
                rec["len"] = off
                pacer.account(len(chunk))
            rec["sha256"] = h.hexdigest()
        else:
            h = hashlib.sha256()
            got = 0
            while got < n:
                chunk = conn.recv(min(262144, n - got))
                if not chunk:
                    break
                h.update(chunk)
                got += len(chunk)
            rec["len"] = got
            rec["sha256"] = h.hexdigest()
            conn.sendall(("OK %d %s\n" % (got, rec["sha256"])).encode())
        conn.shutdown(socket.SHUT_WR)
        wait_fin(conn, args.fin_wait)
    except OSError as e:
        rec["error"] = err_name(e)
    finally:
        conn.close()
        log_line(args.log, rec)


def cmd_serve(args):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", args.port))
    s.listen(128)
    while True:
        conn, addr = s.accept()
        threading.Thread(target=serve_one, args=(conn, addr, args),
                         daemon=True).start()


def first_difference(a, b):
    for i in range(min(len(a), len(b))):
        if a[i] != b[i]:
            return i
    return None if len(a) == len(b) else min(len(a), len(b))


def get_one(host, port, nbytes, seed, timeout, progress_cb):
    """One GET; returns the result dict."""
    expected = pattern(nbytes, seed)
    got = bytearray()
    err = None
    cport = None
    deadline = time.monotonic() + timeout
    try:
        c = socket.create_connection((host, port), timeout=timeout)
        cport = c.getsockname()[1]
        c.sendall(("GET %d %d\n" % (nbytes, seed)).encode())
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                err = "timeout"
                break
            c.settimeout(left)
            chunk = c.recv(262144)
            if not chunk:
                break
            got += chunk
            progress_cb(len(chunk))
        c.close()
    except OSError as e:
        err = err_name(e)
    got = bytes(got)
    return {
        "op": "get", "seed": seed, "cport": cport,
        "len": len(got), "expected_len": nbytes,
        "sha256": hashlib.sha256(got).hexdigest(),
        "expected_sha256": hashlib.sha256(expected).hexdigest(),
        "first_difference": first_difference(got, expected),
        "error": err,
        "ok": err is None and got == expected,
    }


def cmd_get(args):
    total = [0]
    last = [0.0]

    def progress(n):
        total[0] += n
        now = time.monotonic()
        if args.progress and now - last[0] > 0.02:
            last[0] = now
            atomic_write(args.progress, "%d\n" % total[0])

    res = get_one(args.host, args.port, args.bytes, args.seed, args.timeout,
                  progress)
    if args.progress:
        atomic_write(args.progress, "%d\n" % res["len"])
    print(json.dumps(res, sort_keys=True), flush=True)
    return 0 if res["ok"] else 1


def cmd_put(args):
    data = pattern(args.bytes, args.seed)
    digest = hashlib.sha256(data).hexdigest()
    want = "OK %d %s" % (args.bytes, digest)
    res = {"op": "put", "len": args.bytes, "sha256": digest,
           "expected_reply": want, "cport": None}
    err = None
    reply = ""
    last = [0.0]

    def progress(c, written, force=False):
        if not args.progress:
            return
        now = time.monotonic()
        if not force and now - last[0] < 0.02:
            return
        last[0] = now
        atomic_write(args.progress, "%d\n" % max(0, written - outq(c)))

    try:
        c = socket.create_connection((args.host, args.port),
                                     timeout=args.timeout)
        res["cport"] = c.getsockname()[1]
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        hdr = ("PUT %d %d\n" % (args.bytes, args.seed)).encode()
        c.sendall(hdr)
        pacer = Pacer(args.rate)
        off = 0
        while off < len(data):
            chunk = data[off:off + args.write_size]
            c.sendall(chunk)
            off += len(chunk)
            progress(c, len(hdr) + off)
            pacer.account(len(chunk))
        c.shutdown(socket.SHUT_WR)
        # the reply comes once the server has every byte
        reply = read_line(c)
        progress(c, len(hdr) + off, True)
        c.close()
    except OSError as e:
        err = err_name(e)
    res["reply"] = reply
    res["error"] = err
    res["ok"] = err is None and reply == want
    print(json.dumps(res, sort_keys=True), flush=True)
    return 0 if res["ok"] else 1


def cmd_multi(args):
    lock = threading.Lock()
    total = [0]
    last = [0.0]
    results = [None] * args.conns

    def progress(n):
        with lock:
            total[0] += n
            now = time.monotonic()
            if args.progress and now - last[0] > 0.02:
                last[0] = now
                atomic_write(args.progress, "%d\n" % total[0])

    def run(i):
        results[i] = get_one(args.host, args.port, args.bytes,
                             args.seed_base + i, args.timeout, progress)
        if args.progress:
            with lock:
                done = sum(1 for r in results if r is not None)
                atomic_write(args.progress + ".done", "%d\n" % done)

    threads = [threading.Thread(target=run, args=(i,))
               for i in range(args.conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if args.progress:
        atomic_write(args.progress, "%d\n" % total[0])
    for r in results:
        print(json.dumps(r, sort_keys=True))
    bad = [r["seed"] for r in results if not r["ok"]]
    print(json.dumps({"op": "multi", "conns": args.conns, "ok_count":
                      args.conns - len(bad), "bad_seeds": bad,
                      "ok": not bad}, sort_keys=True), flush=True)
    return 0 if not bad else 1


def cmd_udp_serve(args):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", args.port))
    while True:
        data, addr = s.recvfrom(65535)
        s.sendto(data, addr)


def udp_payload(i, size, seed):
    head = struct.pack("!I", i)
    return head + random.Random(seed * 1000003 + i).randbytes(
        max(0, size - len(head)))


def ranges(idx):
    out = []
    for i in sorted(idx):
        if out and out[-1][1] == i - 1:
            out[-1][1] = i
        else:
            out.append([i, i])
    return ["%d-%d" % (a, b) if a != b else "%d" % a for a, b in out]


def cmd_udp_send(args):
    fam = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.connect((args.host, args.port))
    s.setblocking(False)
    sent = 0
    answered = set()
    wrong = 0
    out_of_order = 0
    duplicates = 0
    anomalies = []
    last = -1
    start = time.monotonic()
    deadline = start + args.timeout
    stop_at = None
    nxt = start
    while True:
        now = time.monotonic()
        if stop_at is None and (os.path.exists(args.stop_file) or
                                now > deadline):
            stop_at = now + 1.0
        if stop_at is not None and (now > stop_at or len(answered) == sent):
            break
        if stop_at is None and now >= nxt:
            try:
                s.send(udp_payload(sent, args.size, args.seed))
            except OSError:
                pass	# no route during the failover: lost like on a wire
            sent += 1
            nxt += args.interval_ms / 1000.0
        try:
            while True:
                data = s.recv(65535)
                if len(data) < 4:
                    wrong += 1
                    continue
                i = struct.unpack("!I", data[:4])[0]
                if i >= sent or data != udp_payload(i, args.size, args.seed):
                    wrong += 1
                    continue
                if i in answered:
                    duplicates += 1
                elif i < last:
                    out_of_order += 1
                    if len(anomalies) < 10:
                        anomalies.append({"index": i, "after": last, "t":
                                          round(time.monotonic() - start, 3)})
                last = max(last, i)
                answered.add(i)
        except (BlockingIOError, ConnectionRefusedError):
            pass
        if args.progress:
            atomic_write(args.progress, "%d %d %d\n" % (sent, len(answered),
                                                        last))
        time.sleep(0.005)
    res = {"op": "udp", "sent": sent, "answered": len(answered),
           "wrong": wrong, "duplicates": duplicates,
           "out_of_order": out_of_order, "reordered": anomalies,
           "answered_ranges": ranges(answered), "last_answered": last}
    res["ok"] = wrong == 0 and duplicates == 0 and out_of_order == 0
    if args.progress:
        atomic_write(args.progress, "%d %d %d\n" % (sent, len(answered), last))
    print(json.dumps(res, sort_keys=True), flush=True)
    return 0 if res["ok"] else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("serve")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--write-size", type=int, default=65536)
    s.add_argument("--rate", type=int, default=0)
    s.add_argument("--fin-wait", type=float, default=120,
                   help="seconds to wait for the client's FIN once it has "
                   "acknowledged every byte")
    s.add_argument("--log")

    for name in ("get", "put", "multi"):
        c = sub.add_parser(name)
        c.add_argument("--host", required=True)
        c.add_argument("--port", type=int, required=True)
        c.add_argument("--bytes", type=int, required=True)
        c.add_argument("--progress")
        c.add_argument("--timeout", type=float, default=120)
        if name == "multi":
            c.add_argument("--conns", type=int, required=True)
            c.add_argument("--seed-base", type=int, default=100)
        else:
            c.add_argument("--seed", type=int, default=1)
        if name == "put":
            c.add_argument("--write-size", type=int, default=65536)
            c.add_argument("--rate", type=int, default=0)

    u = sub.add_parser("udp-serve")
    u.add_argument("--port", type=int, required=True)

    u = sub.add_parser("udp-send")
    u.add_argument("--host", required=True)
    u.add_argument("--port", type=int, required=True)
    u.add_argument("--interval-ms", type=float, default=50)
    u.add_argument("--size", type=int, default=200)
    u.add_argument("--seed", type=int, default=1)
    u.add_argument("--progress")
    u.add_argument("--stop-file", required=True)
    u.add_argument("--timeout", type=float, default=300)

    args = p.parse_args()
    if getattr(args, "write_size", 1) <= 0:
        p.error("--write-size must be positive")
    return {"serve": cmd_serve, "get": cmd_get, "put": cmd_put,
            "multi": cmd_multi, "udp-serve": cmd_udp_serve,
            "udp-send": cmd_udp_send}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
