#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Raw generic netlink requests to the "colo" family, for the bad-input
selftest: coloctl validates its arguments itself, so only a raw client can
show what the kernel does with missing, out-of-range, unknown or malformed
attributes.  Standard library only.

request CMD [ATTR...]
    CMD is a number or a name (instance_new, instance_del, instance_get,
    checkpoint, failover, divergence_ntf, ...).  Each ATTR is NAME:TYPE=VALUE
    with NAME an attribute name (instance, timeout_ms, max_queue, max_bytes,
    failopen_ms, ...) or number, TYPE one of u8 u16 u32 u64 str bin(hex)
    flag nest(empty).  Prints one JSON object:
      {"errno": 0|N, "error": "EINVAL"..., "msg": extack message or null,
       "bad_attr_offset": N or null, "missing_attr": attribute type the
       kernel reported missing or null, "replies": number of data messages}
    and exits 0 (the test judges the result).

batch
    Like request, one request per line of stdin ("CMD ATTR..."), one JSON
    line out per request (one process: python starts slowly in a guest).

subscribe
    Join the "events" multicast group; prints {"errno": ..., "error": ...}.

overrun N ID [broadcast-error]
    A listener on "events" with the smallest receive buffer that reads
    nothing while N checkpoints of instance ID are requested from another
    socket, then reads what it got.  Prints {"sent": N, "delivered": D,
    "enobufs": true if its socket reported ENOBUFS}.  With broadcast-error
    the listener sets NETLINK_BROADCAST_ERROR, as coloctl monitor does: the
    kernel then tells the sender each event it had no room for, even when
    another listener got it.
"""

import errno
import json
import os
import socket
import struct
import sys

NETLINK_GENERIC = 16
SOL_NETLINK = 270
NETLINK_ADD_MEMBERSHIP = 1
NETLINK_BROADCAST_ERROR = 4
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11

NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_DUMP = 0x300
NLM_F_ACK_TLVS = 0x200
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLMSGERR_ATTR_MSG = 1
NLMSGERR_ATTR_OFFS = 2
NLMSGERR_ATTR_MISS_TYPE = 5

GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_ID = 1
CTRL_ATTR_FAMILY_NAME = 2
CTRL_ATTR_MCAST_GROUPS = 7
CTRL_ATTR_MCAST_GRP_NAME = 1
CTRL_ATTR_MCAST_GRP_ID = 2

# Mirrors kernel/uapi/linux/xt_COLO.h (enum colo_cmd, enum colo_attr).
CMDS = ["unspec", "instance_new", "instance_del", "instance_get",
        "checkpoint", "failover", "divergence_ntf", "checkpoint_ntf",
        "failopen_ntf", "failover_ntf"]
ATTRS = ["unspec", "pad", "instance", "timeout_ms", "max_queue", "max_bytes",
         "failopen_ms", "role", "state", "rules", "pending", "stats",
         "reason", "flow", "offset"]


def align4(n):
    return (n + 3) & ~3


def nla(atype, payload):
    hdr = struct.pack("=HH", 4 + len(payload), atype)
    return hdr + payload + b"\0" * (align4(len(payload)) - len(payload))


def parse_attrs(buf):
    out = {}
    off = 0
    while off + 4 <= len(buf):
        ln, t = struct.unpack_from("=HH", buf, off)
        if ln < 4:
            break
        out.setdefault(t & 0x3fff, buf[off + 4:off + ln])
        off += align4(ln)
    return out


class Genl:
    def __init__(self):
        self.s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW,
                               NETLINK_GENERIC)
        self.s.bind((0, 0))
        self.s.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        self.s.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
        self.seq = 1

    def send(self, family, cmd, attrs, flags=NLM_F_REQUEST | NLM_F_ACK,
             version=1):
        payload = struct.pack("=BBH", cmd, version, 0) + attrs
        self.seq += 1
        msg = struct.pack("=IHHII", 16 + len(payload), family, flags,
                          self.seq, 0) + payload
        self.s.send(msg)
        return self.seq

    def recv_until_ack(self, seq):
        """Returns (errno, msg, offset, data messages); self.miss_type is
        the missing attribute the kernel named (NLMSGERR_ATTR_MISS_TYPE)."""
        self.miss_type = None
        data = []
        while True:
            buf = self.s.recv(65536)
            off = 0
            while off + 16 <= len(buf):
                ln, t, fl, sq, _ = struct.unpack_from("=IHHII", buf, off)
                body = buf[off + 16:off + ln]
                off += align4(ln)
                if sq != seq:
                    continue
                if t == NLMSG_ERROR:
                    err = -struct.unpack_from("=i", body, 0)[0]
                    msg = None
                    boff = None
                    if fl & NLM_F_ACK_TLVS:
                        # CAP_ACK: only the request's header is echoed
                        tl = parse_attrs(body[4 + 16:])
                        if NLMSGERR_ATTR_MSG in tl:
                            msg = tl[NLMSGERR_ATTR_MSG].rstrip(b"\0") \
                                .decode("utf-8", "replace")
                        if NLMSGERR_ATTR_MISS_TYPE in tl:
                            self.miss_type = struct.unpack(
                                "=I", tl[NLMSGERR_ATTR_MISS_TYPE][:4])[0]
                        if NLMSGERR_ATTR_OFFS in tl:
                            boff = struct.unpack("=I",
                                                 tl[NLMSGERR_ATTR_OFFS][:4])[0]
                    return err, msg, boff, data
                if t == NLMSG_DONE:
                    return 0, None, None, data
                data.append(body)

    def resolve(self, name):
        seq = self.send(GENL_ID_CTRL, CTRL_CMD_GETFAMILY,
                        nla(CTRL_ATTR_FAMILY_NAME, name.encode() + b"\0"))
        err, msg, _, data = self.recv_until_ack(seq)
        if err or not data:
            raise OSError(err or errno.ENOENT,
                          "family %s: %s" % (name, msg or os.strerror(err or 2)))
        at = parse_attrs(data[0][4:])
        fam = struct.unpack("=H", at[CTRL_ATTR_FAMILY_ID][:2])[0]
        groups = {}
        if CTRL_ATTR_MCAST_GROUPS in at:
            for g in parse_attrs(at[CTRL_ATTR_MCAST_GROUPS]).values():
                ga = parse_attrs(g)
                gname = ga[CTRL_ATTR_MCAST_GRP_NAME].rstrip(b"\0").decode()
                groups[gname] = struct.unpack(
                    "=I", ga[CTRL_ATTR_MCAST_GRP_ID][:4])[0]
        return fam, groups


def encode(spec):
    name, _, rest = spec.partition(":")
    typ, _, val = rest.partition("=")
    atype = int(name) if name.isdigit() else ATTRS.index(name)
    if typ == "u8":
        p = struct.pack("=B", int(val))
    elif typ == "u16":
        p = struct.pack("=H", int(val))
    elif typ == "u32":
        p = struct.pack("=I", int(val))
    elif typ == "u64":
        p = struct.pack("=Q", int(val))
    elif typ == "str":
        p = val.encode() + b"\0"
    elif typ == "bin":
        p = bytes.fromhex(val)
    elif typ in ("flag", "nest"):
        p = b""
    else:
        raise SystemExit("unknown attribute type %r" % typ)
    if typ == "nest":
        atype |= 0x8000
    return nla(atype, p)


def errname(e):
    return errno.errorcode.get(e, str(e)) if e else "OK"


def main():
    if len(sys.argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    g = Genl()
    try:
        fam, groups = g.resolve(os.environ.get("COLO_GENL_FAMILY", "colo"))
    except OSError as e:
        print(json.dumps({"errno": e.errno, "error": errname(e.errno),
                          "msg": str(e), "stage": "resolve"}))
        return 0
    if sys.argv[1] == "subscribe":
        res = {"group_id": groups.get("events")}
        try:
            g.s.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP,
                           groups["events"])
            res.update(errno=0, error="OK")
        except OSError as e:
            res.update(errno=e.errno, error=errname(e.errno))
        except KeyError:
            res.update(errno=errno.ENOENT, error="ENOENT",
                       msg="no events group")
        print(json.dumps(res, sort_keys=True))
        return 0
    if sys.argv[1] == "overrun" and (
            len(sys.argv) == 4 or
            (len(sys.argv) == 5 and sys.argv[4] == "broadcast-error")):
        return overrun(g, fam, groups, int(sys.argv[2]), int(sys.argv[3]),
                       len(sys.argv) == 5)
    if sys.argv[1] == "batch":
        # one request per line of stdin, one JSON line out for each
        for line in sys.stdin:
            words = line.split()
            if words:
                request(g, fam, words[0], words[1:])
        return 0
    if sys.argv[1] != "request" or len(sys.argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    request(g, fam, sys.argv[2], sys.argv[3:])
    return 0


def overrun(g, fam, groups, n, inst, broadcast_error=False):
    lis = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
    lis.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 0)  # the minimum
    if broadcast_error:
        lis.setsockopt(SOL_NETLINK, NETLINK_BROADCAST_ERROR, 1)
    lis.bind((0, 0))
    lis.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, groups["events"])
    ntf = CMDS.index("checkpoint_ntf")
    sent = 0
    for _ in range(n):
        seq = g.send(fam, CMDS.index("checkpoint"),
                     encode("instance:u32=%d" % inst))
        err = g.recv_until_ack(seq)[0]
        if err:
            print(json.dumps({"sent": sent, "error": errname(err)}))
            return 1
        sent += 1
    delivered = 0
    enobufs = False
    lis.setblocking(False)
    while True:
        try:
            buf = lis.recv(65536)
        except BlockingIOError:
            break
        except OSError as e:
            if e.errno != errno.ENOBUFS:
                raise
            enobufs = True
            continue
        off = 0
        while off + 20 <= len(buf):
            ln, t = struct.unpack_from("=IH", buf, off)
            if t == fam and buf[off + 16] == ntf:
                delivered += 1
            off += align4(ln)
    print(json.dumps({"sent": sent, "delivered": delivered,
                      "enobufs": enobufs}, sort_keys=True))
    return 0


def request(g, fam, c, specs):
    cmd = int(c) if c.isdigit() else CMDS.index(c)
    attrs = b"".join(encode(a) for a in specs)
    seq = g.send(fam, cmd, attrs)
    err, msg, boff, data = g.recv_until_ack(seq)
    print(json.dumps({"errno": err, "error": errname(err), "msg": msg,
                      "bad_attr_offset": boff, "missing_attr": g.miss_type,
                      "replies": len(data)},
                     sort_keys=True), flush=True)


if __name__ == "__main__":
    sys.exit(main())
