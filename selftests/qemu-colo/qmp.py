#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""A test-side QMP client for the QEMU COLO test (the product's QMP client
is coloctl qemu, in C with jansson; this one only drives and inspects the
QEMUs in tests).

    qmp.py ADDR CMD ['{json arguments}']   run one command; print its
                                           "return" as JSON; exit 0, or 2
                                           with QEMU's error on stderr
    qmp.py ADDR --events FILE              append every event to FILE, one
                                           JSON object per line, until QEMU
                                           closes the socket

ADDR is a UNIX socket path or HOST:PORT for TCP.
"""
import json
import socket
import sys
import time


def connect(addr, timeout=30):
    deadline = time.time() + timeout
    while True:
        try:
            if ":" in addr and not addr.startswith("/"):
                host, port = addr.rsplit(":", 1)
                s = socket.create_connection((host, int(port)), timeout=10)
            else:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(addr)
            break
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.2)
    s.settimeout(None)
    f = s.makefile("rw")
    json.loads(f.readline())  # the greeting
    execute(f, "qmp_capabilities")
    return s, f


def execute(f, cmd, args=None):
    req = {"execute": cmd}
    if args is not None:
        req["arguments"] = args
    f.write(json.dumps(req) + "\n")
    f.flush()
    while True:
        line = f.readline()
        if not line:
            raise ConnectionError("QEMU closed the connection")
        r = json.loads(line)
        if "return" in r or "error" in r:
            return r


def main():
    addr = sys.argv[1]
    if sys.argv[2] == "--events":
        s, f = connect(addr)
        with open(sys.argv[3], "a", buffering=1) as out:
            for line in f:
                m = json.loads(line)
                if "event" in m:
                    out.write(json.dumps(m) + "\n")
        return 0
    args = json.loads(sys.argv[3]) if len(sys.argv) > 3 else None
    s, f = connect(addr)
    r = execute(f, sys.argv[2], args)
    if "error" in r:
        print("QMP %s: %s" % (sys.argv[2], r["error"].get("desc")), file=sys.stderr)
        return 2
    print(json.dumps(r["return"]))
    return 0


sys.exit(main())
