#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Malformed frames and single TCP segments for the COLO selftests.

send --dev DEV --src-mac MAC --dst-mac MAC --src IP --dst IP [--case NAME]...
    Send one Ethernet frame per case out of DEV (AF_PACKET), IPv4 or IPv6
    after the addresses.  Every frame has a valid IP header (the stack's
    ip_rcv/ipv6_rcv checks pass, so the frame reaches PREROUTING) and a
    broken transport part.  Without --case, every case of the family.
list [--family 4|6]
    Print the case names, one a line.
segment --dev DEV --src-mac MAC --dst-mac MAC --src IP --dst IP
        --sport P --dport P --seq N --ack N [--flags A] [--ttl N]
    Send one well-formed TCP segment (no options, no data, valid
    checksums) out of DEV: a packet anyone who knows a connection's
    addresses and ports can put on the wire (colo_rewrite_learning.sh).
    --flags is a string of F S R P A U; --ttl sets the IPv4 TTL or the
    IPv6 hop limit, so that a test can recognise the segment later.

Cases (the name says what is wrong):
  IPv4/IPv6: tcp-truncated (8 of 20 header bytes), tcp-doff-small (data
  offset 3), tcp-doff-beyond (data offset 15, 20 bytes present),
  tcp-opt-zero-len (an option of length 0), tcp-opt-overrun (a timestamp
  option running past the header), udp-truncated (4 bytes), udp-len-small
  (length field 4), udp-len-beyond (length field 1000, 12 bytes present),
  icmp-truncated (2 bytes)
  IPv6 only: dstopt-truncated (a destination options header cut short),
  dstopt-len-beyond (header length far past the packet), hbh-after-dstopt
  (hop-by-hop after another extension header)
"""

import argparse
import ipaddress
import socket
import struct
import sys

ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
PORT_SRC = 40999
PORT_DST = 5012


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def mac(s):
    return bytes(int(x, 16) for x in s.split(":"))


def ipv4(src, dst, proto, payload, ttl=64):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0x1234,
                      0, ttl, proto, 0, src.packed, dst.packed)
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + payload


def ipv6(src, dst, nexthdr, payload, hlim=64):
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), nexthdr, hlim,
                       src.packed, dst.packed) + payload


def tcp(doff=5, opts=b"", data=b"", truncate=None):
    h = struct.pack("!HHIIBBHHH", PORT_SRC, PORT_DST, 1000, 0, doff << 4,
                    0x18, 65535, 0, 0) + opts + data
    return h[:truncate] if truncate is not None else h


def udp(length, body):
    return struct.pack("!HHHH", PORT_SRC, PORT_DST, length, 0) + body


COMMON = {
    "tcp-truncated": (6, tcp(truncate=8)),
    "tcp-doff-small": (6, tcp(doff=3, data=b"x" * 8)),
    "tcp-doff-beyond": (6, tcp(doff=15)),
    "tcp-opt-zero-len": (6, tcp(doff=6, opts=bytes([2, 0, 0, 0]),
                                 data=b"payload")),
    "tcp-opt-overrun": (6, tcp(doff=6, opts=bytes([1, 1, 8, 10]),
                                data=b"payload")),
    "udp-truncated": (17, udp(12, b"")[:4]),
    "udp-len-small": (17, udp(4, b"abcd")),
    "udp-len-beyond": (17, udp(1000, b"abcd")),
    "icmp-truncated": (None, b"\x08\x00"),
}

V6_ONLY = {
    # destination options (60) claiming 8 bytes, 4 present
    "dstopt-truncated": (60, bytes([17, 0, 1, 2])),
    # header length 255 (2048 bytes) in a 16-byte packet
    "dstopt-len-beyond": (60, bytes([17, 255, 1, 4, 0, 0, 0, 0]) + b"\0" * 8),
    # hop-by-hop may only come first
    "hbh-after-dstopt": (60, bytes([0, 0, 1, 4, 0, 0, 0, 0]) +
                         bytes([17, 0, 1, 4, 0, 0, 0, 0]) + udp(12, b"abcd")),
}


def frame(case, src, dst, smac, dmac):
    v6 = src.version == 6
    if case in COMMON:
        proto, payload = COMMON[case]
        if proto is None:
            proto = 58 if v6 else 1
    elif v6 and case in V6_ONLY:
        proto, payload = V6_ONLY[case]
    else:
        raise SystemExit("unknown case %s for IPv%d" % (case, src.version))
    if v6:
        return dmac + smac + struct.pack("!H", ETH_P_IPV6) + \
            ipv6(src, dst, proto, payload)
    return dmac + smac + struct.pack("!H", ETH_P_IP) + \
        ipv4(src, dst, proto, payload)


TCP_FLAGS = {"F": 0x01, "S": 0x02, "R": 0x04, "P": 0x08, "A": 0x10,
             "U": 0x20}


def segment(a):
    """One valid TCP segment in an Ethernet frame, its checksum over the
    pseudo-header (conntrack and the receiver drop a bad one)."""
    src, dst = ipaddress.ip_address(a.src), ipaddress.ip_address(a.dst)
    flags = 0
    for f in a.flags:
        flags |= TCP_FLAGS[f]
    th = struct.pack("!HHIIBBHHH", a.sport, a.dport, a.seq & 0xFFFFFFFF,
                     a.ack & 0xFFFFFFFF, 5 << 4, flags, 65535, 0, 0)
    if src.version == 6:
        pseudo = src.packed + dst.packed + struct.pack("!IxxxB", len(th), 6)
    else:
        pseudo = src.packed + dst.packed + struct.pack("!xBH", 6, len(th))
    th = th[:16] + struct.pack("!H", csum(pseudo + th)) + th[18:]
    if src.version == 6:
        return mac(a.dst_mac) + mac(a.src_mac) + \
            struct.pack("!H", ETH_P_IPV6) + ipv6(src, dst, 6, th, a.ttl)
    return mac(a.dst_mac) + mac(a.src_mac) + struct.pack("!H", ETH_P_IP) + \
        ipv4(src, dst, 6, th, a.ttl)


def cases(family):
    names = list(COMMON)
    if family == 6:
        names += list(V6_ONLY)
    return names


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("send")
    s.add_argument("--dev", required=True)
    s.add_argument("--src-mac", required=True)
    s.add_argument("--dst-mac", required=True)
    s.add_argument("--src", required=True)
    s.add_argument("--dst", required=True)
    s.add_argument("--case", action="append")
    lst = sub.add_parser("list")
    lst.add_argument("--family", type=int, default=4)
    g = sub.add_parser("segment")
    for opt in ("--dev", "--src-mac", "--dst-mac", "--src", "--dst"):
        g.add_argument(opt, required=True)
    for opt in ("--sport", "--dport", "--seq", "--ack"):
        g.add_argument(opt, type=lambda v: int(v, 0), required=True)
    g.add_argument("--flags", default="A")
    g.add_argument("--ttl", type=int, default=64)
    a = p.parse_args()
    if a.cmd == "list":
        print("\n".join(cases(a.family)))
        return 0
    if a.cmd == "segment":
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        sock.bind((a.dev, 0))
        sock.send(segment(a))
        print(1)
        return 0
    src = ipaddress.ip_address(a.src)
    dst = ipaddress.ip_address(a.dst)
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((a.dev, 0))
    n = 0
    for c in a.case or cases(src.version):
        sock.send(frame(c, src, dst, mac(a.src_mac), mac(a.dst_mac)))
        n += 1
    print(n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
