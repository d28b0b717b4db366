#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Check from two captures on the primary host that the secondary guest's
TCP output, shifted by the secondary host's rewriter, is in the primary
guest's sequence space, connection by connection on one 4-tuple.

    tcp_seq_pcap.py check --primary PCAP --secondary PCAP --guest ADDR
                          --port P --client-port C [--spoof-ack N]

PRIMARY is a capture on the primary host's port to the primary guest (what
the primary guest sends), SECONDARY one on its link to the secondary host
(the secondary guest's packets as the rewriter left them; the client's
packets as mirrored, before the rewriter).  Packets between ADDR port P and
a client port C are split into connections at each new SYN of the client
(a retransmitted SYN, with the same sequence number, is no new one), so a
4-tuple reused after a close gives several.  Per connection and capture:

  isn    the guest's ISN, from its first SYN-ACK (the secondary's leaves
         unshifted, a retransmission after the rewriter learned does not)
  data   the sequence number of the guest's first segment with data
  fin    the sequence number of the guest's FIN (after any data on it)
  off    primary isn - secondary isn (u32, shown signed): what the rewriter
         had to learn for this connection

The connection is ok when the secondary's data and fin equal the
primary's (both seen).  With --spoof-ack, client segments with ACK set,
no SYN and that ack number are looked for in SECONDARY and placed in the
connection's order: "between" when one came after the secondary guest's
first SYN-ACK and before the client's first ack that starts its stream
(sequence number ISN + 1), i.e. when the rewriter could have learned from
it.

Prints one JSON line per connection and exits 0 only if at least one
connection was found and every one was ok.
"""

import argparse
import ipaddress
import json
import sys

from colo_pcap import tcp_packets

MASK = 0xffffffff
FIN, SYN, RST, ACK = 0x01, 0x02, 0x04, 0x10


def read_pcap(path):
    """Yield (src, dst, sport, dport, flags, seq, ack, payload length) per
    TCP packet of an Ethernet pcap (lengths from the IP header: the capture
    may be cut short)."""
    for p in tcp_packets(path):
        yield (p.src, p.dst, p.sport, p.dport, p.flags, p.seq, p.ack, p.plen)


def connections(path, guest, port, cport):
    """[[(from_guest, flags, seq, ack, len)]], one list per connection."""
    conns, isn = [], None
    for src, dst, sport, dport, flags, seq, ack, dlen in read_pcap(path):
        if src == guest and (sport, dport) == (port, cport):
            mine = True
        elif dst == guest and (sport, dport) == (cport, port):
            mine = False
        else:
            continue
        if not mine and flags & SYN and not flags & ACK and seq != isn:
            conns.append([])
            isn = seq
        if conns:
            conns[-1].append((mine, flags, seq, ack, dlen))
    return conns


def s32(x):
    x &= MASK
    return x - (1 << 32) if x & 0x80000000 else x


def summary(pkts):
    res = {"isn": None, "data": None, "fin": None, "packets": len(pkts)}
    for mine, flags, seq, _ack, dlen in pkts:
        if not mine:
            continue
        if flags & SYN:
            if res["isn"] is None:
                res["isn"] = seq
            continue
        if dlen and res["data"] is None:
            res["data"] = seq
        if flags & FIN and res["fin"] is None:
            res["fin"] = (seq + dlen) & MASK	# after the data it rides on
    return res


def spoof_place(pkts, spoof_ack):
    """Where the client segments acking spoof_ack came, in pkts' order."""
    synack = spoof = start = None
    isn = pkts[0][2] if pkts else None
    for i, (mine, flags, seq, ack, _dlen) in enumerate(pkts):
        if mine and flags & SYN and synack is None:
            synack = i
        elif not mine and flags & ACK and not flags & (SYN | RST):
            if ack == spoof_ack and spoof is None:
                spoof = i
            elif seq == (isn + 1) & MASK and start is None:
                start = i
    if spoof is None:
        return "absent"
    if synack is None or spoof < synack:
        return "before the secondary's SYN-ACK"
    if start is not None and spoof > start:
        return "after the client's first ack"
    return "between"


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check")
    c.add_argument("--primary", required=True)
    c.add_argument("--secondary", required=True)
    c.add_argument("--guest", required=True)
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--client-port", type=int, required=True)
    c.add_argument("--spoof-ack", type=lambda v: int(v, 0))
    args = ap.parse_args()
    guest = ipaddress.ip_address(args.guest)
    prim = connections(args.primary, guest, args.port, args.client_port)
    sec = connections(args.secondary, guest, args.port, args.client_port)
    ok = bool(prim) and len(prim) == len(sec)
    for i in range(max(len(prim), len(sec))):
        p = summary(prim[i]) if i < len(prim) else None
        s = summary(sec[i]) if i < len(sec) else None
        res = {"conn": i + 1, "client_port": args.client_port,
               "primary": p, "secondary": s}
        good = bool(p and s) and p["data"] is not None and \
            p["fin"] is not None and (p["data"], p["fin"]) == \
            (s["data"], s["fin"])
        if p and s and p["isn"] is not None and s["isn"] is not None:
            res["off"] = s32(p["isn"] - s["isn"])
        if args.spoof_ack is not None and i < len(sec):
            res["spoof"] = spoof_place(sec[i], args.spoof_ack)
        res["ok"] = good
        print(json.dumps(res, sort_keys=True))
        ok &= good
    if not prim and not sec:
        print(json.dumps({"ok": False, "error": "no connection seen"}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
