#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Check from two captures on the secondary host that the rewriter shifts
TCP timestamps into the primary's timestamp space.

    tcp_ts_pcap.py check --inner PCAP --outer PCAP --guest ADDR --port P

INNER is a capture on the secondary guest's own interface (the TSvals it
stamped, the TSecrs it was given), OUTER one on the secondary host's link
to the primary host (the client's packets as mirrored, before the
rewriter; the secondary guest's packets as they leave, after it).  Every
TCP connection of ADDR with port P on either end is checked:

  S     the TSval of the guest's last SYN or SYN-ACK (inner);
  E     the TSecr of the client's first packet with ACK set (outer): the
        primary's TSval on its SYN or SYN-ACK, echoed;
  off   S - E (u32), the offset the rewriter must have learned;
  echo  the TSecr of that packet as the guest got it (inner) must be S
        (a guest-initiated connection is reset by PAWS otherwise);
  tsval every TSval the guest sent after its SYN(-ACK) left the host as
        TSval - off (each outer value matches one inner value);
  tsecr every TSecr of the client's ACKs reached the guest as TSecr + off.

Prints one JSON line per connection (off as signed, counts, the first
mismatch with expected and seen) and exits 0 only if at least one
connection with timestamps was found and every check held.
"""

import argparse
import collections
import ipaddress
import json
import sys

from colo_pcap import tcp_packets, tcp_ts

MASK = 0xffffffff
SYN, RST, ACK = 0x02, 0x04, 0x10


def read_pcap(path):
    """Yield (src, dst, sport, dport, flags, tsval, tsecr) per TCP packet of
    an Ethernet pcap; tsval and tsecr are None without the option."""
    for p in tcp_packets(path):
        ts = tcp_ts(p.opts) if p.opts is not None else None
        yield (p.src, p.dst, p.sport, p.dport, p.flags,
               ts[0] if ts else None, ts[1] if ts else None)


def by_conn(path, guest, port):
    """{(guest port, peer port): [(from_guest, flags, tsval, tsecr)]}"""
    conns = collections.defaultdict(list)
    for src, dst, sport, dport, flags, tsval, tsecr in read_pcap(path):
        if src == guest and port in (sport, dport):
            conns[(sport, dport)].append((True, flags, tsval, tsecr))
        elif dst == guest and port in (sport, dport):
            conns[(dport, sport)].append((False, flags, tsval, tsecr))
    return conns


def s32(x):
    x &= MASK
    return x - (1 << 32) if x & 0x80000000 else x


def subset(expect, seen):
    """The first value of SEEN not matched by one of EXPECT, or None."""
    left = collections.Counter(expect)
    for v in seen:
        if left[v] <= 0:
            return v
        left[v] -= 1
    return None


def check(inner, outer):
    res = {"ok": False}
    syns = [p for p in inner if p[0] and p[1] & SYN and p[2] is not None]
    first = [p for p in outer if not p[0] and p[1] & ACK
             and not p[1] & RST]
    if not syns or not first or first[0][3] is None:
        res["error"] = "no timestamps: guest SYN %d, client ACK %s" % (
            len(syns), "none" if not first else "without the option")
        return res
    s, e = syns[-1][2], first[0][3]
    off = (s - e) & MASK
    res.update(syn_tsval=s, client_echo=e, off=s32(off))
    ok = True
    # the client's first ACK as the guest got it
    got = [p for p in inner if not p[0] and p[1] & ACK and not p[1] & RST]
    res["echo"] = {"expected": s, "seen": got[0][3] if got else None}
    ok &= bool(got) and got[0][3] == s
    # the guest's TSvals after its SYN(-ACK), shifted by -off
    sent = [p[2] for p in inner if p[0] and not p[1] & SYN and p[2] is not None]
    out = [p[2] for p in outer if p[0] and not p[1] & SYN and p[2] is not None]
    bad = subset([(v - off) & MASK for v in sent], out)
    res["tsval"] = {"inner": len(sent), "outer": len(out)}
    if bad is not None or not out:
        res["tsval"].update(first_unmatched=bad,
                            expected="inner TSval - off, e.g. %s" %
                            ([(v - off) & MASK for v in sent[:3]]),
                            seen=out[:3])
        ok = False
    # the client's TSecrs, shifted by +off
    echoed = [p[3] for p in outer if not p[0] and p[1] & ACK and p[3] is not None]
    recv = [p[3] for p in inner if not p[0] and p[1] & ACK and p[3] is not None]
    bad = subset([(v + off) & MASK for v in echoed], recv)
    res["tsecr"] = {"outer": len(echoed), "inner": len(recv)}
    if bad is not None or not recv:
        res["tsecr"].update(first_unmatched=bad,
                            expected="outer TSecr + off, e.g. %s" %
                            ([(v + off) & MASK for v in echoed[:3]]),
                            seen=recv[:3])
        ok = False
    res["ok"] = ok
    return res


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check")
    c.add_argument("--inner", required=True)
    c.add_argument("--outer", required=True)
    c.add_argument("--guest", required=True)
    c.add_argument("--port", type=int, required=True)
    args = ap.parse_args()
    guest = ipaddress.ip_address(args.guest)
    inner = by_conn(args.inner, guest, args.port)
    outer = by_conn(args.outer, guest, args.port)
    keys = sorted(set(inner) | set(outer))
    ok = bool(keys)
    for k in keys:
        res = check(inner.get(k, []), outer.get(k, []))
        res.update(guest_port=k[0], peer_port=k[1])
        print(json.dumps(res, sort_keys=True))
        ok &= res["ok"]
    if not keys:
        print(json.dumps({"ok": False, "error": "no connection seen"}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
