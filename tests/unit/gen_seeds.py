#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Write the fuzzer's seed inputs (the encoding fuzz_compare.c decodes).

Usage: gen_seeds.py DIR

Each seed is a well-formed scenario: a handshake and a stream with
different segmentation on the two sides, the rewriter's sequence spaces,
a mid-stream flow, a one-byte change, retransmissions, RSTs, GSO-sized
segments, datagrams with lag, loss and changes. The fuzzer mutates from
there; `make replay` runs them through the oracle as a regression test.
"""
import os
import struct
import sys

PRI, SEC = 0, 1

# first byte: the run and its options (fuzz_compare.c run(), *_init())
RUN_TCP, RUN_DGRAM, RUN_RAW_TCP, RUN_RAW_DGRAM = 0, 1, 2, 3
LOSS, MIDSTREAM, REWRITER, SAME_ISN, SEC_LEN, LONG = 0x04, 0x08, 0x10, 0x20, 0x40, 0x80


def shape(nonlinear=False, split=0):
    if nonlinear:
        return bytes([0x40 | 3]) + struct.pack(">H", split)
    return bytes([1])


def length(n):
    if n == 65000:
        return bytes([0xFF])
    if n < 0x80:
        return bytes([n])
    hi, lo = divmod(n, 97)
    if hi > 0x7E or lo > 255:
        raise ValueError(n)
    return bytes([0x80 | hi, lo])


class Tcp:
    def __init__(self, cfg, isn_p, isn_s, client, n, content=0, sec_len=None, lim=0):
        self.b = bytearray([RUN_TCP | cfg, lim])
        self.b += struct.pack(">IIBIH", isn_p, isn_s, content, client, n)
        if cfg & SEC_LEN:
            self.b.append(sec_len)

    def seg(self, side, n, fin=False, noack=False, nonlinear=False):
        op = side | (0x40 if fin else 0) | (0x80 if noack else 0)
        self.b += bytes([op]) + length(n) + shape(nonlinear, n // 3)
        return self

    def window(self, side, off, n, fin=False):
        op = side | (2 << 1) | (0x40 if fin else 0)
        self.b += bytes([op]) + struct.pack(">HB", off & 0xFFFF, off >> 16)
        self.b += length(n) + shape()
        return self

    def pure_ack(self, side, more=0):
        self.b += bytes([side | (3 << 1), more]) + shape()
        return self

    def syn(self, side):
        self.b += bytes([side | (4 << 1)]) + shape()
        return self

    def rst(self, side):
        self.b += bytes([side | (5 << 1)]) + shape()
        return self

    def acks_more(self, side, more):
        self.b += bytes([side | (6 << 1), more])
        return self

    def checkpoint(self):
        self.b += bytes([(6 << 1) | 0x70])
        return self

    def change(self, off, xor=0):
        self.b += bytes([SEC | (7 << 1) | (xor << 4)]) + struct.pack(">H", off)
        return self

    def stream(self, total, psz, ssz, fin=True, order="alt"):
        """Both sides send [0, total) in order, cut differently."""
        p = []
        s = []
        for sizes, out in ((psz, p), (ssz, s)):
            off = i = 0
            while off < total:
                n = min(sizes[i % len(sizes)], total - off)
                out.append(n)
                off += n
                i += 1
        i = j = 0
        while i < len(p) or j < len(s):
            take_p = j >= len(s) or (i < len(p) and (
                order == "alt" and i <= j or order == "pri" or
                order == "sec" and j >= len(s)))
            if take_p:
                self.seg(PRI, p[i], fin=fin and i == len(p) - 1, nonlinear=i % 3 == 1)
                i += 1
            else:
                self.seg(SEC, s[j], fin=fin and j == len(s) - 1, nonlinear=j % 4 == 2)
                j += 1
        return self


def dgram(cfg, ops, lim=0, first=b""):
    b = bytearray([RUN_DGRAM | cfg, lim]) + first
    for side, n in ops:
        if side == "lost":
            b += bytes([(2 << 1) | 0x80])
        elif side == "change":
            b += bytes([2 << 1, n])
        elif side == "ckpt":
            b += bytes([(3 << 1) | 0xF0])
        else:
            b += bytes([side, n]) + shape()
    return bytes(b)


def seeds():
    yield "tcp-handshake-segmentation", Tcp(0, 1000, 5000, 77, 3000).syn(PRI).syn(SEC) \
        .stream(3000, [100, 120, 1], [150, 7, 90]).b
    yield "tcp-secondary-first", Tcp(0, 0xFFFFFF00, 5, 0xFFFFFFF0, 2000).syn(SEC).syn(PRI) \
        .stream(2000, [100], [73, 1, 120], order="sec").b
    yield "tcp-rewriter-gso", Tcp(REWRITER | LONG, 4242, 99999, 1, 65000).syn(PRI).syn(SEC) \
        .stream(65000, [65000], [1448], fin=False, order="sec").b
    yield "tcp-midstream", Tcp(MIDSTREAM | SAME_ISN, 123, 123, 9, 2000).pure_ack(SEC) \
        .stream(2000, [127, 128], [129]).b
    yield "tcp-one-byte-change", Tcp(0, 1, 2, 3, 3000, content=1).change(1500, 2).syn(PRI).syn(SEC) \
        .stream(3000, [100], [90]).checkpoint().stream(0, [1], [1]).b
    t = Tcp(0, 10, 20, 30, 1000).syn(PRI).syn(SEC).stream(500, [100], [50], fin=False)
    t.window(PRI, 0, 100).window(SEC, 100, 200).acks_more(PRI, 5).window(PRI, 100, 100)
    t.pure_ack(PRI, 3).pure_ack(SEC, 9).rst(SEC).rst(PRI)
    yield "tcp-retransmit-ack-rst", t.b
    yield "tcp-loss-periodic", Tcp(LOSS | SEC_LEN, 7, 8, 9, 2000, content=2 | (5 << 2), sec_len=3) \
        .syn(PRI).syn(SEC).window(SEC, 300, 100).stream(2000, [100], [100]).b
    yield "tcp-checkpoint-midway", Tcp(SAME_ISN, 555, 555, 1, 1000).syn(PRI).syn(SEC) \
        .stream(400, [100], [40], fin=False).checkpoint().seg(PRI, 100).seg(SEC, 50).seg(SEC, 50).b
    # the copy refusing, with a RST, what was shifted before the checkpoint
    yield "tcp-checkpoint-rst-reply", Tcp(0, 1000, 5000, 77, 1000).syn(PRI).syn(SEC) \
        .checkpoint().rst(SEC).seg(PRI, 200).seg(SEC, 200).seg(PRI, 300).seg(SEC, 300).b
    yield "udp-lag", dgram(0, [(PRI, 10)] * 5 + [(SEC, 10)] * 5 + [(PRI, 20), (SEC, 20)] * 3)
    yield "icmp-change-lost", dgram(1 << 2 | 0x40, [(PRI, 4), ("change", 3), (SEC, 4), (PRI, 9),
                                                    ("lost", 0), (SEC, 9), ("ckpt", 0),
                                                    (PRI, 5), (SEC, 5)])
    yield "udp-bounded", dgram(0x80, [(PRI, 1)] * 6 + [(SEC, 1)] * 6, lim=1 | (3 << 2),
                               first=bytes([2, 1]))
    yield "raw-tcp", bytes([RUN_RAW_TCP, 0]) + bytes(range(1, 200))
    yield "raw-dgram", bytes([RUN_RAW_DGRAM | (2 << 2), 0]) + bytes(range(200, 0, -1))
    # 0xfc: the next allocation of the flow's packet queues fails
    yield "raw-tcp-nomem", bytes([RUN_RAW_TCP, 0, 0xfc]) + bytes(range(1, 120)) + \
        bytes([0xfd]) + bytes(range(120, 240))
    yield "raw-dgram-nomem", bytes([RUN_RAW_DGRAM, 0, 0xfc]) + bytes(range(1, 100)) + \
        bytes([0xfc]) + bytes(range(100, 0, -1))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, data in seeds():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
