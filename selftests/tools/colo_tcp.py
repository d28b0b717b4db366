#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Deterministic TCP server and client for the COLO comparator selftests.

The same server runs in the primary and the secondary guest.  Both see the
same client requests (the secondary through the mirror), so both must answer
with the same bytes; only the server options (write size, deliberate
corruption) differ, which is how a test makes the two guests segment
differently or diverge on purpose.

Protocol, one request line per connection from the client:
    GET <nbytes> <seed>\\n   server sends pattern(nbytes, seed), then closes
    PUT <nbytes> <seed>\\n   client sends nbytes; server answers
                            "OK <len> <sha256>\\n" and closes
    STEP <nbytes> <seed> <chunk>\\n
                            server sends pattern(nbytes, seed); with
                            --lockstep chunk by chunk, each after a one-byte
                            request from the client, else all at once (the
                            requests are ignored): the same bytes, but the
                            lockstep server waits for the client

Commands:
    serve   --port P [--write-size W] [--write-gap-ms MS] [--corrupt-at K]
            [--short-by K] [--lockstep] [--log FILE] [--ready FILE]
            (--write-gap-ms: a pause between two writes of a GET stream,
             a guest slower than the other at producing the same bytes)
    get     --host H --port P --bytes N [--seed S] [--progress FILE]
            [--digest FILE] [--save FILE] [--timeout SEC] [--sport PORT]
            [--rst]  (close with a reset instead of a FIN: no TIME_WAIT
                      anywhere, so the next connection on the same
                      addresses and ports gets fresh sequence numbers)
    put     --host H --port P --bytes N [--seed S] [--write-size W]
            [--timeout SEC] [--sport PORT]
    step    --host H --port P --bytes N --chunk C [--seed S]
            [--progress FILE] [--timeout SEC] [--sport PORT]
    pattern --bytes N [--seed S] [--offset O] [--length L]  (hex dump, debug)
            [--sha256]  (the whole pattern's sha256 instead)

Client commands print one JSON object on stdout and exit 0 only when the
received data is exactly the expected data; on a mismatch they say where.
"""

import argparse
import hashlib
import json
import os
import random
import socket
import struct
import sys
import threading
import time


def pattern(nbytes, seed):
    """The deterministic payload: a seeded PRNG stream (no short period, so
    a misaligned comparison cannot match by accident)."""
    return random.Random(seed).randbytes(nbytes)


def atomic_write(path, text):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def log_line(path, obj):
    if not path:
        return
    with open(path, "a") as f:
        f.write(json.dumps(obj, sort_keys=True) + "\n")
        f.flush()


def read_line(conn, limit=256):
    buf = b""
    while not buf.endswith(b"\n"):
        c = conn.recv(1)
        if not c:
            break
        buf += c
        if len(buf) > limit:
            break
    return buf.decode("ascii", "replace").strip()


def recv_exact(conn, n):
    got = bytearray()
    h = hashlib.sha256()
    while len(got) < n:
        chunk = conn.recv(min(65536, n - len(got)))
        if not chunk:
            break
        got += chunk
    h.update(got)
    return bytes(got), h.hexdigest()


def serve_one(conn, peer, args):
    try:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        req = read_line(conn).split()
        if (len(req) != 3 or req[0] not in ("GET", "PUT")) and \
                (len(req) != 4 or req[0] != "STEP"):
            log_line(args.log, {"op": "bad", "req": req, "peer": peer})
            return
        op, n, seed = req[0], int(req[1]), int(req[2])
        if op == "STEP":
            # n bytes in chunks; with --lockstep the next chunk only after
            # the client's one-byte request for it, otherwise all at once
            # (the client's requests are read and ignored).
            chunk = max(int(req[3]), 1)
            data = pattern(n, seed)
            if args.lockstep:
                off = 0
                while off < n:
                    if off and not conn.recv(1):
                        break
                    conn.sendall(data[off:off + chunk])
                    off += chunk
                n = min(off, n)
            else:
                off = 0
                while off < n:
                    conn.sendall(data[off:off + args.write_size])
                    off += args.write_size
            log_line(args.log, {"op": "step", "len": n, "seed": seed,
                                "chunk": chunk, "lockstep": args.lockstep,
                                "peer": peer})
        elif op == "GET":
            data = bytearray(pattern(n, seed))
            if args.corrupt_at is not None and 0 <= args.corrupt_at < n:
                data[args.corrupt_at] ^= 0x5a
            if args.short_by:
                del data[max(n - args.short_by, 0):]
                n = len(data)
            off = 0
            while off < n:
                if off and args.write_gap_ms:
                    time.sleep(args.write_gap_ms / 1000.0)
                conn.sendall(data[off:off + args.write_size])
                off += args.write_size
            log_line(args.log, {"op": "get", "len": n, "seed": seed,
                                "peer": peer})
        else:
            data, digest = recv_exact(conn, n)
            conn.sendall(("OK %d %s\n" % (len(data), digest)).encode())
            log_line(args.log, {"op": "put", "len": len(data),
                                "sha256": digest, "peer": peer})
        conn.shutdown(socket.SHUT_WR)
        # Wait for the client's FIN so our FIN is not followed by a RST.
        conn.settimeout(30)
        while conn.recv(65536):
            pass
    except OSError as e:
        log_line(args.log, {"op": "error", "error": str(e), "peer": peer})
    finally:
        conn.close()


def cmd_serve(args):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", args.port))
    s.listen(16)
    if args.ready:
        atomic_write(args.ready, "%d\n" % os.getpid())
    while True:
        conn, addr = s.accept()
        peer = addr[0]
        if peer.startswith("::ffff:"):
            peer = peer[7:]
        threading.Thread(target=serve_one, args=(conn, peer, args),
                         daemon=True).start()


def connect(host, port, timeout, sport=0):
    """sport: a fixed source port, so that the same client running in both
    guests opens the same 5-tuple (the comparator pairs flows by it)."""
    src = ("", sport) if sport else None
    if not sport:
        return socket.create_connection((host, port), timeout=timeout)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.settimeout(timeout)
    s.bind(src)
    s.connect((host, port))
    return s


def first_difference(a, b):
    for i in range(min(len(a), len(b))):
        if a[i] != b[i]:
            return i
    return None if len(a) == len(b) else min(len(a), len(b))


def receive(c, deadline, got, on_chunk):
    """Append what c receives to got until EOF (None) or the deadline
    ("timeout"), calling on_chunk(chunk) after each piece."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return "timeout"
        c.settimeout(left)
        chunk = c.recv(262144)
        if not chunk:
            return None
        got += chunk
        on_chunk(chunk)


def cmd_get(args):
    expected = pattern(args.bytes, args.seed)
    deadline = time.monotonic() + args.timeout
    got = bytearray()
    result = {"op": "get", "expected_len": args.bytes}
    err = None
    running = hashlib.sha256()
    try:
        c = connect(args.host, args.port, args.timeout, args.sport)
        c.sendall(("GET %d %d\n" % (args.bytes, args.seed)).encode())

        def on_chunk(chunk):
            running.update(chunk)
            if args.progress:
                atomic_write(args.progress, "%d\n" % len(got))
            if args.digest:
                atomic_write(args.digest, "%d %s\n" % (len(got),
                                                       running.hexdigest()))
        err = receive(c, deadline, got, on_chunk)
        if args.rst:
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         struct.pack("ii", 1, 0))
        c.close()
    except OSError as e:
        err = str(e)
    if args.progress:
        atomic_write(args.progress, "%d\n" % len(got))
    if args.save:
        with open(args.save, "wb") as f:
            f.write(got)
    result["len"] = len(got)
    result["sha256"] = hashlib.sha256(got).hexdigest()
    result["expected_sha256"] = hashlib.sha256(expected).hexdigest()
    result["first_difference"] = first_difference(bytes(got), expected)
    result["prefix_ok"] = expected[:len(got)] == bytes(got)
    result["error"] = err
    ok = err is None and bytes(got) == expected
    result["ok"] = ok
    print(json.dumps(result, sort_keys=True), flush=True)
    return 0 if ok else 1


def cmd_step(args):
    """Download in lockstep: after each chunk, ask for the next one."""
    expected = pattern(args.bytes, args.seed)
    deadline = time.monotonic() + args.timeout
    got = bytearray()
    result = {"op": "step", "expected_len": args.bytes, "chunk": args.chunk}
    err = None
    asked = 1
    try:
        c = connect(args.host, args.port, args.timeout, args.sport)
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.sendall(("STEP %d %d %d\n" % (args.bytes, args.seed,
                                         args.chunk)).encode())

        def on_chunk(_chunk):
            nonlocal asked
            if args.progress:
                atomic_write(args.progress, "%d\n" % len(got))
            while len(got) >= asked * args.chunk and \
                    asked * args.chunk < args.bytes:
                c.sendall(b"n")
                asked += 1
        err = receive(c, deadline, got, on_chunk)
        c.close()
    except OSError as e:
        err = str(e)
    if args.progress:
        atomic_write(args.progress, "%d\n" % len(got))
    result["len"] = len(got)
    result["requests"] = asked - 1
    result["first_difference"] = first_difference(bytes(got), expected)
    result["error"] = err
    ok = err is None and bytes(got) == expected
    result["ok"] = ok
    print(json.dumps(result, sort_keys=True), flush=True)
    return 0 if ok else 1


def cmd_put(args):
    data = pattern(args.bytes, args.seed)
    digest = hashlib.sha256(data).hexdigest()
    result = {"op": "put", "len": args.bytes, "sha256": digest}
    err = None
    reply = ""
    try:
        c = connect(args.host, args.port, args.timeout, args.sport)
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.settimeout(args.timeout)
        c.sendall(("PUT %d %d\n" % (args.bytes, args.seed)).encode())
        off = 0
        while off < len(data):
            c.sendall(data[off:off + args.write_size])
            off += args.write_size
        c.shutdown(socket.SHUT_WR)
        reply = read_line(c)
        c.close()
    except OSError as e:
        err = str(e)
    want = "OK %d %s" % (args.bytes, digest)
    result["reply"] = reply
    result["expected_reply"] = want
    result["error"] = err
    result["ok"] = err is None and reply == want
    print(json.dumps(result, sort_keys=True), flush=True)
    return 0 if result["ok"] else 1


def cmd_pattern(args):
    data = pattern(args.bytes, args.seed)
    if args.sha256:
        sys.stdout.write(hashlib.sha256(data).hexdigest() + "\n")
        return 0
    sys.stdout.write(data[args.offset:args.offset + args.length].hex() + "\n")
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("serve")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--write-size", type=int, default=65536)
    s.add_argument("--write-gap-ms", type=int, default=0,
                   help="pause between two writes of a GET stream")
    s.add_argument("--corrupt-at", type=int, default=None,
                   help="flip one byte at this offset of every GET stream")
    s.add_argument("--short-by", type=int, default=0,
                   help="end every GET stream this many bytes early")
    s.add_argument("--lockstep", action="store_true",
                   help="STEP: one chunk per client request")
    s.add_argument("--log", help="append one JSON line per request")
    s.add_argument("--ready", help="written once the socket listens")

    g = sub.add_parser("get")
    g.add_argument("--host", required=True)
    g.add_argument("--port", type=int, required=True)
    g.add_argument("--bytes", type=int, required=True)
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--progress", help="file updated with bytes received")
    g.add_argument("--save", help="write the received bytes here")
    g.add_argument("--digest",
                   help="file updated with '<bytes> <sha256 of them>'")
    g.add_argument("--timeout", type=float, default=60)
    g.add_argument("--sport", type=int, default=0)
    g.add_argument("--rst", action="store_true",
                   help="close with a reset (SO_LINGER 0)")

    u = sub.add_parser("put")
    u.add_argument("--host", required=True)
    u.add_argument("--port", type=int, required=True)
    u.add_argument("--bytes", type=int, required=True)
    u.add_argument("--seed", type=int, default=1)
    u.add_argument("--write-size", type=int, default=65536)
    u.add_argument("--timeout", type=float, default=60)
    u.add_argument("--sport", type=int, default=0)

    st = sub.add_parser("step")
    st.add_argument("--host", required=True)
    st.add_argument("--port", type=int, required=True)
    st.add_argument("--bytes", type=int, required=True)
    st.add_argument("--chunk", type=int, required=True)
    st.add_argument("--seed", type=int, default=1)
    st.add_argument("--progress", help="file updated with bytes received")
    st.add_argument("--timeout", type=float, default=60)
    st.add_argument("--sport", type=int, default=0)

    t = sub.add_parser("pattern")
    t.add_argument("--bytes", type=int, required=True)
    t.add_argument("--seed", type=int, default=1)
    t.add_argument("--offset", type=int, default=0)
    t.add_argument("--length", type=int, default=16)
    t.add_argument("--sha256", action="store_true",
                   help="print the sha256 of the whole pattern instead")

    args = p.parse_args()
    if getattr(args, "write_size", 1) <= 0:
        p.error("--write-size must be positive")
    if getattr(args, "chunk", 1) <= 0:
        p.error("--chunk must be positive")
    return {"serve": cmd_serve, "get": cmd_get, "put": cmd_put,
            "step": cmd_step, "pattern": cmd_pattern}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
