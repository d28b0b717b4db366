#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Check from two packet captures that a COLO client never got ahead of the
secondary guest.

    failover_pcap.py causal --sender PCAP --receiver PCAP --port P
                            --what data|ack [--cport C]
    failover_pcap.py timeline --sender PCAP --receiver PCAP --port P
                              --cport C [--max N] [--last N] [--tags A,B]
                              [--raw]
                              [--boot-offset B] [--events FILE]
    failover_pcap.py echo --sender PCAP --receiver PCAP --port P
                          [--cport C] --after T

SENDER is a capture on the secondary guest's own interface (what the
secondary guest produced, and when), RECEIVER one on the client (what the
client got, and when); both taken by tcpdump in the same kernel, so their
time stamps come from one clock.  P is the server's TCP port; every TCP
connection to it found in both captures is checked (or only client port C).

  --what data  download direction: every data segment the client received
               must end at or before the highest stream offset the
               secondary guest had sent by then (offsets counted from each
               side's own ISN, so the rewriter's shift does not matter).
  --what ack   upload direction: every ack the client received must
               acknowledge no more of the client's stream than the
               secondary guest had acknowledged by then.

A comparator that lets the primary's data or acks out before the secondary
produced the same would break this: data the client has but the secondary
never sent is lost on failover; data acked by the primary only is never
retransmitted.  Prints one JSON line per connection (packets checked, the
first violation, resets the client received, highest offsets) and exits 0
only if every connection was seen in both captures and none broke the rule.

echo (same SENDER and RECEIVER; C: the sender's first connection unless
given): every ack of the client that moved the cumulative ack on,
reached the secondary guest after T (s since the epoch) and acknowledges
more than the client had received before T echoes, in its TSecr, a TSval
the secondary guest had put on a packet: what its TCP takes for its own
time.  (An ack of what the client already had, such as its duplicate ack
for the secondary's retransmission of old data, rightly echoes the
primary's TSval of the segment that brought the data.)  Also
prints ts_off, the guest's SYN-ACK TSval minus the one the client got
(the primary's): the rewriter's timestamp offset.

order --pcap PCAP --udp-port P lists, for the answers of a UDP echo flow
from port P and for ICMP echo replies (IPv4), how often and where one left
after a later one: run on captures along the path it says where order broke.

timeline prints one connection's packets from both captures in time order
("sec" = seen on the secondary guest, "cli" = seen on the client, or the
two names of --tags; the first --max rows, of the last --last if given),
with seq and ack relative to each side's ISN (its
first SYN in that capture; --raw adds the sequence number itself): the
evidence for a failure report.  With --boot-offset B (the realtime clock
minus CLOCK_BOOTTIME) times are printed as CLOCK_BOOTTIME, and --events
FILE (coloctl monitor -j lines) merges the instance's events into the rows
by their t_boot.
"""

import argparse
import bisect
import json
import struct
import sys

from colo_pcap import tcp_ts

MASK = 0xffffffff


def read_pcap(path, with_ts=False):
    """Yield (time, ip_version, src, dst, sport, dport, seq, ack, flags,
    payload_len) for each TCP packet of an Ethernet pcap; with_ts adds
    (TSval, TSecr) or None."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xa1b2c3d4, 0xa1b23c4d):
        end = "<"
    else:
        end = ">"
        magic = struct.unpack(">I", data[:4])[0]
    div = 1e9 if magic == 0xa1b23c4d else 1e6
    linktype = struct.unpack(end + "I", data[20:24])[0]
    if linktype != 1:
        raise SystemExit("%s: link type %d, expected Ethernet" %
                         (path, linktype))
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack(end + "IIII",
                                              data[off:off + 16])
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        t = sec + frac / div
        if len(pkt) < 14:
            continue
        eth = struct.unpack("!H", pkt[12:14])[0]
        l3 = 14
        if eth == 0x8100 and len(pkt) >= 18:
            eth = struct.unpack("!H", pkt[16:18])[0]
            l3 = 18
        if eth == 0x0800:
            if len(pkt) < l3 + 20:
                continue
            ihl = (pkt[l3] & 0xf) * 4
            tot = struct.unpack("!H", pkt[l3 + 2:l3 + 4])[0]
            if pkt[l3 + 9] != 6:
                continue
            src, dst = pkt[l3 + 12:l3 + 16], pkt[l3 + 16:l3 + 20]
            l4 = l3 + ihl
            l4len = tot - ihl
            ver = 4
        elif eth == 0x86dd:
            if len(pkt) < l3 + 40 or pkt[l3 + 6] != 6:
                continue
            plen = struct.unpack("!H", pkt[l3 + 4:l3 + 6])[0]
            src, dst = pkt[l3 + 8:l3 + 24], pkt[l3 + 24:l3 + 40]
            l4 = l3 + 40
            l4len = plen
            ver = 6
        else:
            continue
        if len(pkt) < l4 + 14:
            continue
        sport, dport, seq, ack = struct.unpack("!HHII", pkt[l4:l4 + 12])
        doff = (pkt[l4 + 12] >> 4) * 4
        flags = pkt[l4 + 13]
        row = (t, ver, src, dst, sport, dport, seq, ack, flags,
               max(0, l4len - doff))
        if with_ts:
            row += (tcp_ts(pkt[l4 + 20:l4 + doff]),)
        yield row


def read_dgrams(path, udp_port):
    """Yield (time, kind, number) for each UDP datagram from udp_port (kind
    "udp", number = the index failover_flows.py udp-send put in its first
    4 bytes) and each ICMP echo reply (kind "icmp", number = sequence)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    end = "<" if struct.unpack("<I", data[:4])[0] in (0xa1b2c3d4,
                                                      0xa1b23c4d) else ">"
    div = 1e9 if struct.unpack(end + "I", data[:4])[0] == 0xa1b23c4d else 1e6
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack(end + "IIII",
                                              data[off:off + 16])
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if len(pkt) < 34 or struct.unpack("!H", pkt[12:14])[0] != 0x0800:
            continue
        l4 = 14 + (pkt[14] & 0xf) * 4
        proto = pkt[23]
        t = sec + frac / div
        if proto == 17 and len(pkt) >= l4 + 12:
            if struct.unpack("!H", pkt[l4:l4 + 2])[0] == udp_port:
                yield t, "udp", struct.unpack("!I", pkt[l4 + 8:l4 + 12])[0]
        elif proto == 1 and len(pkt) >= l4 + 8 and pkt[l4] == 0:
            yield t, "icmp", struct.unpack("!H", pkt[l4 + 6:l4 + 8])[0]


def cmd_order(args):
    """Where answers of a UDP echo flow and echo replies went out of order."""
    last = {}
    count = {}
    inv = {}
    for t, kind, n in read_dgrams(args.pcap, args.udp_port):
        if args.until and t >= args.until:
            break
        count[kind] = count.get(kind, 0) + 1
        if kind in last and n < last[kind]:
            inv.setdefault(kind, []).append({"n": n, "after": last[kind],
                                             "t": round(t, 6)})
        last[kind] = max(last.get(kind, n), n)
    res = {"pcap": args.pcap, "counts": count,
           "inversions": {k: len(v) for k, v in inv.items()},
           "first_inversions": {k: v[:5] for k, v in inv.items()},
           "order": {k: ["%d<%d" % (x["n"], x["after"]) for x in v]
                     for k, v in inv.items()}}
    print(json.dumps(res, sort_keys=True))
    return 0


SYN, RST, ACK = 0x02, 0x04, 0x10


def connections(path, port):
    """Per client port: the server's ISN, the client's ISN and the
    server-to-client packets as (time, seq, ack, flags, len)."""
    conns = {}
    for (t, _v, _s, _d, sport, dport, seq, ack, flags,
         plen) in read_pcap(path):
        if sport == port:
            c = conns.setdefault(dport, {"isn_s": None, "isn_c": None,
                                         "pkts": [], "rst_from_client": 0})
            if flags & SYN and c["isn_s"] is None:
                c["isn_s"] = seq
            c["pkts"].append((t, seq, ack, flags, plen))
        elif dport == port:
            c = conns.setdefault(sport, {"isn_s": None, "isn_c": None,
                                         "pkts": [], "rst_from_client": 0})
            if flags & SYN and not flags & ACK and c["isn_c"] is None:
                c["isn_c"] = seq
            if flags & RST:
                c["rst_from_client"] += 1
    return conns


def rel(x, base):
    """x - base in 32-bit sequence space, as a signed number."""
    d = (x - base) & MASK
    return d - (1 << 32) if d >= 1 << 31 else d


def values(conn, what):
    """(time, offset) for each packet that carries data (data) or an ack
    (ack), offsets relative to the stream start."""
    out = []
    for t, seq, ack, flags, plen in conn["pkts"]:
        if what == "data":
            if plen > 0 and conn["isn_s"] is not None:
                out.append((t, rel(seq, conn["isn_s"] + 1) + plen))
        elif flags & ACK and not flags & RST and conn["isn_c"] is not None:
            out.append((t, rel(ack, conn["isn_c"] + 1)))
    return out


def check(sender, receiver, what):
    s_vals = sorted(values(sender, what))
    r_vals = sorted(values(receiver, what))
    times, best = [], []
    m = None
    for t, v in s_vals:
        m = v if m is None else max(m, v)
        times.append(t)
        best.append(m)
    res = {"checked": len(r_vals), "sender_packets": len(s_vals),
           "violations": 0, "first_violation": None,
           "receiver_max": max((v for _, v in r_vals), default=None),
           "sender_max": best[-1] if best else None,
           "rst_to_client": sum(1 for p in receiver["pkts"] if p[3] & RST),
           "rst_from_client": receiver["rst_from_client"],
           "rst_from_secondary": sum(1 for p in sender["pkts"]
                                     if p[3] & RST),
           "rst_to_secondary": sender["rst_from_client"]}
    for t, v in r_vals:
        i = bisect.bisect_right(times, t)
        had = best[i - 1] if i else None
        if had is None or v > had:
            res["violations"] += 1
            if res["first_violation"] is None:
                res["first_violation"] = {
                    "time": round(t, 6), "client_got_up_to": v,
                    "secondary_had_sent_up_to": had}
    return res


def cmd_timeline(args):
    """Both captures of one connection merged in time order, offsets
    relative to each side's ISNs, for a failure report."""
    rows = []
    tags = args.tags.split(",")
    for tag, path in zip(tags, (args.sender, args.receiver)):
        isn_s = isn_c = None
        pkts = []
        for (t, _v, _s, _d, sport, dport, seq, ack, flags,
             plen) in read_pcap(path):
            if args.cport not in (sport, dport) or args.port not in (sport,
                                                                     dport):
                continue
            to_client = sport == args.port
            if flags & SYN:
                if to_client and isn_s is None:
                    isn_s = seq
                if not to_client and not flags & ACK and isn_c is None:
                    isn_c = seq
            pkts.append((t, to_client, seq, ack, flags, plen))
        for t, to_client, seq, ack, flags, plen in pkts:
            mine, theirs = (isn_s, isn_c) if to_client else (isn_c, isn_s)
            f = "".join(c for b, c in ((SYN, "S"), (0x01, "F"), (RST, "R"),
                                       (0x08, "P"), (ACK, "."))
                        if flags & b)
            rows.append((t - args.boot_offset, "%s %s %-3s seq %s%s ack %s len %d" % (
                tag, "guest->client" if to_client else "client->guest", f,
                rel(seq, mine + 1) if mine is not None else "?",
                " (%08x)" % seq if args.raw else "",
                rel(ack, theirs + 1) if theirs is not None and flags & ACK
                else "-", plen)))
    if args.events:
        with open(args.events) as f:
            for line in f:
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                if "t_boot" not in ev:
                    continue
                what = " ".join("%s=%s" % (k, ev[k]) for k in sorted(ev)
                                if k not in ("event", "t_boot"))
                rows.append((ev["t_boot"], "event %s %s" % (ev.get("event"),
                                                            what)))
    rows.sort()
    t0 = 0 if args.boot_offset else (rows[0][0] if rows else 0)
    if args.events and rows:
        # from just before the connection's first packet on
        first = min((r for r in rows if not r[1].startswith("event ")),
                    default=rows[0])
        rows = [r for r in rows if r[0] >= first[0] - 1]
    if args.last:
        if len(rows) > args.last:
            print("... %d before" % (len(rows) - args.last))
        rows = rows[-args.last:]
    for t, line in rows[:args.max]:
        print("%10.6f %s" % (t - t0, line))
    if len(rows) > args.max:
        print("... %d more" % (len(rows) - args.max))
    return 0


def cmd_echo(args):
    """After --after, every client ack that moves the cumulative ack on,
    as the secondary guest received it, echoes a TSval the guest sent."""
    sent, isn_s = set(), None
    if not args.cport:
        # the first connection of the sender capture
        args.cport = next((d for (_t, _v, _s, _d, sp, d, _q, _a, _f,
                                  _l) in read_pcap(args.sender)
                           if sp == args.port), 0)
    res = {"cport": args.cport, "checked": 0, "bad": 0, "first_bad": None,
           "ts_off": None}
    syn_ack = {}
    for tag, path in (("sec", args.sender), ("cli", args.receiver)):
        for (t, _v, _s, _d, sport, dport, seq, ack, flags, plen,
             ts) in read_pcap(path, with_ts=True):
            if sport == args.port and dport == args.cport and \
                    flags & SYN and flags & ACK and ts and tag not in syn_ack:
                syn_ack[tag] = ts[0]
    if len(syn_ack) == 2:
        # the secondary guest's SYN-ACK TSval minus the one the client got
        res["ts_off"] = rel(syn_ack["sec"], syn_ack["cli"])
    # How much of the stream the client had received before T: an ack of
    # no more than that acknowledges the primary's segments, and a
    # duplicate ack the client sends for an old retransmission echoes
    # TS.Recent, the primary's TSval (RFC 7323, 4.3), shifted by the
    # rewriter into the secondary's clock but never one it sent.
    cli = connections(args.receiver, args.port).get(args.cport)
    got = max((off for t, off in values(cli, "data") if t < args.after),
              default=0) if cli else 0
    res["received_before"] = got
    high = None
    for (t, _v, _s, _d, sport, dport, seq, ack, flags, plen,
         ts) in read_pcap(args.sender, with_ts=True):
        if sport == args.port and dport == args.cport:
            if flags & SYN:
                isn_s = seq
            if ts:
                sent.add(ts[0])
            continue
        if dport != args.port or sport != args.cport or not flags & ACK \
                or isn_s is None:
            continue
        a = rel(ack, isn_s + 1)
        moved = high is not None and a > high
        high = a if high is None else max(high, a)
        if t < args.after or not moved or not ts or a <= got:
            continue
        res["checked"] += 1
        if ts[1] not in sent:
            res["bad"] += 1
            if res["first_bad"] is None:
                res["first_bad"] = {"time": round(t, 6), "ack": a,
                                    "tsecr": ts[1],
                                    "highest_tsval_sent": max(sent)}
    res["ok"] = res["checked"] > 0 and res["bad"] == 0
    print(json.dumps(res, sort_keys=True))
    return 0 if res["ok"] else 1


def cmd_causal(args):
    snd = connections(args.sender, args.port)
    rcv = connections(args.receiver, args.port)
    ports = [args.cport] if args.cport else sorted(set(snd) | set(rcv))
    ok = bool(ports)
    if not ports:
        print(json.dumps({"error": "no connection to port %d in either "
                          "capture" % args.port}))
    for cp in ports:
        if cp not in snd or cp not in rcv:
            print(json.dumps({"cport": cp, "ok": False, "error":
                              "connection missing from the %s capture" %
                              ("sender" if cp not in snd else "receiver")}))
            ok = False
            continue
        res = check(snd[cp], rcv[cp], args.what)
        res["cport"] = cp
        res["what"] = args.what
        res["ok"] = res["violations"] == 0 and res["checked"] > 0
        ok = ok and res["ok"]
        print(json.dumps(res, sort_keys=True))
    return 0 if ok else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("causal")
    c.add_argument("--sender", required=True)
    c.add_argument("--receiver", required=True)
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--what", choices=("data", "ack"), required=True)
    c.add_argument("--cport", type=int, default=0)
    t = sub.add_parser("timeline")
    t.add_argument("--sender", required=True)
    t.add_argument("--receiver", required=True)
    t.add_argument("--port", type=int, required=True)
    t.add_argument("--cport", type=int, required=True)
    t.add_argument("--max", type=int, default=80)
    t.add_argument("--last", type=int, default=0,
                   help="only the connection's last N rows (its end)")
    t.add_argument("--tags", default="sec,cli",
                   help="names of the two captures in the rows")
    t.add_argument("--raw", action="store_true",
                   help="print each sequence number too")
    t.add_argument("--boot-offset", type=float, default=0.0,
                   help="realtime minus CLOCK_BOOTTIME: print boot times")
    t.add_argument("--events",
                   help="coloctl monitor -j output to merge by t_boot")
    e = sub.add_parser("echo")
    e.add_argument("--sender", required=True)
    e.add_argument("--receiver", required=True)
    e.add_argument("--port", type=int, required=True)
    e.add_argument("--cport", type=int, default=0)
    e.add_argument("--after", type=float, required=True,
                   help="only acks after this time (s since the epoch)")
    o = sub.add_parser("order")
    o.add_argument("--pcap", required=True)
    o.add_argument("--udp-port", type=int, required=True)
    o.add_argument("--until", type=float, default=0,
                   help="only packets before this time (s since the epoch)")
    args = p.parse_args()
    return {"causal": cmd_causal, "timeline": cmd_timeline,
            "echo": cmd_echo, "order": cmd_order}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
