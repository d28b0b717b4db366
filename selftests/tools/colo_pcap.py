# SPDX-License-Identifier: GPL-2.0-only
"""The TCP packets of an Ethernet pcap and their timestamp option, for the
selftests' capture checkers (tcp_seq_pcap.py, tcp_ts_pcap.py,
failover_pcap.py)."""

import collections
import ipaddress
import struct

Tcp = collections.namedtuple(
    "Tcp", "src dst sport dport seq ack flags plen opts")
Tcp.__doc__ = """One TCP packet: addresses as ipaddress objects, the flags
byte, the payload length from the IP header (the capture may be cut short)
and the option bytes as captured."""


def tcp_packets(path):
    """Yield a Tcp per IPv4 or IPv6 TCP packet of the Ethernet pcap PATH."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = struct.unpack("<I", data[:4])[0]
    end = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
    if struct.unpack(end + "I", data[20:24])[0] != 1:
        raise SystemExit("%s: not an Ethernet capture" % path)
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack(end + "I", data[off + 8:off + 12])[0]
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if len(pkt) < 14:
            continue
        eth, l3 = struct.unpack("!H", pkt[12:14])[0], 14
        if eth == 0x0800 and len(pkt) >= l3 + 20 and pkt[l3 + 9] == 6:
            src, dst = pkt[l3 + 12:l3 + 16], pkt[l3 + 16:l3 + 20]
            ihl = (pkt[l3] & 0xf) * 4
            l4 = l3 + ihl
            l4len = struct.unpack("!H", pkt[l3 + 2:l3 + 4])[0] - ihl
        elif eth == 0x86dd and len(pkt) >= l3 + 40 and pkt[l3 + 6] == 6:
            src, dst = pkt[l3 + 8:l3 + 24], pkt[l3 + 24:l3 + 40]
            l4 = l3 + 40
            l4len = struct.unpack("!H", pkt[l3 + 4:l3 + 6])[0]
        else:
            continue
        if len(pkt) < l4 + 20:
            continue
        sport, dport, seq, ack = struct.unpack("!HHII", pkt[l4:l4 + 12])
        doff = (pkt[l4 + 12] >> 4) * 4
        yield Tcp(ipaddress.ip_address(src), ipaddress.ip_address(dst),
                  sport, dport, seq, ack, pkt[l4 + 13],
                  max(l4len - doff, 0),
                  pkt[l4 + 20:l4 + doff] if doff >= 20 else None)


def tcp_ts(opts):
    """The last well-formed timestamp option, as the kernel parses it."""
    i, found = 0, None
    while i < len(opts):
        kind = opts[i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        if len(opts) - i < 2:
            break
        size = opts[i + 1]
        if size < 2 or size > len(opts) - i:
            break
        if kind == 8 and size == 10:
            found = struct.unpack("!II", opts[i + 2:i + 10])
        i += size
    return found
