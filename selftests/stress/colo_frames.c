// SPDX-License-Identifier: GPL-2.0-only
/*
 * colo_frames: raw Ethernet frames for the stress tests (AF_PACKET), fast
 * enough for an emulated guest where Python is the bottleneck.
 *
 *   colo_frames fuzz  --dev DEV --smac MAC --dmac MAC --seed S --count N
 *                     [--first I] [--family 4|6|46] [--frag any|no|only]
 *   colo_frames flows --dev DEV --smac MAC --dmac MAC --flows F
 *                     [--first-flow K] [--per-flow P | --count N]
 *                     [--family 4|6] [--size B] [--rate PPS] [--dport P]
 *                     [--order rr|flow] [--keep-going]
 *
 * fuzz: frame I (I = first .. first+count-1) is a function of (seed, I)
 * only, so two senders with the same seed send the same frames, and a run
 * is reproduced by its seed. Malformed and random IPv4/IPv6 frames: bad
 * versions, IHLs, total and payload lengths, checksums, IPv4 options,
 * TCP data offsets and options (MSS, SACK, timestamps with bad lengths),
 * UDP lengths, short ICMP/ICMPv6, IPv6 extension header chains (hop-by-hop,
 * routing, fragment, destination options, AH, bad lengths), fragments
 * (pairs that reassemble, and loose ones), truncated frames, random bytes.
 * The source is the guest's address and the destination a peer in
 * 198.51.100.0/24 or 2001:db8:1::/64 in most frames. --frag no leaves out
 * the IPv6 frames whose extension header chain, walked as nf_defrag_ipv6
 * walks it, reaches a fragment header (they may be taken or dropped by
 * defragmentation without any counter); --frag only sends only those.
 *
 * flows: valid UDP datagrams from the guest (10.0.0.2 / fd00::2) to
 * 198.18.0.0/15 / 2001:db8:1::/64, flow f = (peer f mod 131072, source port
 * 20000 + f / 131072); packet i goes to flow first + i mod F, round robin,
 * with a payload that is a function of (flow, i / F): two senders send the
 * same datagrams. --order flow sends the P packets of one flow after the
 * other instead (flow first + i / P): flows come and go, for churn.
 * --count 0 sends until SIGTERM or SIGINT.
 *
 * Prints one line "key=value ..." on exit: sent, errors, ms and per class
 * counts for fuzz. Exit 0, or 1 on a setup error.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FRAME_MAX 1514
#define BATCH 32

/* ------------------------------------------------------------ PRNG --- */

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static uint32_t rnd(uint64_t *s, uint32_t n)	/* 0 .. n-1 */
{
	return n ? (uint32_t)(splitmix(s) % n) : 0;
}

static int chance(uint64_t *s, unsigned int percent)
{
	return rnd(s, 100) < percent;
}

static void rbytes(uint64_t *s, uint8_t *p, size_t n)
{
	while (n) {
		uint64_t v = splitmix(s);
		size_t k = n < 8 ? n : 8;

		memcpy(p, &v, k);
		p += k;
		n -= k;
	}
}

/* ------------------------------------------------------- checksums --- */

static uint32_t sum16(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;

	while (len > 1) {
		sum += (uint32_t)p[0] << 8 | p[1];
		p += 2;
		len -= 2;
	}
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* --------------------------------------------------------- classes --- */

enum cls {
	C_TCP, C_TCP_DOFF, C_TCP_OPTS, C_UDP, C_UDP_SHORT, C_ICMP, C_ICMP_SHORT,
	C_OTHER, C_IP_BAD, C_IP_OPTS, C_FRAG, C_FRAG_PAIR, C_RANDOM,
	C_EXTHDR, C_ND, C_TRUNC, C_LEN_LIE, __C_MAX
};

static const char *const cls_name[__C_MAX] = {
	"tcp", "tcp_doff", "tcp_opts", "udp", "udp_short", "icmp", "icmp_short",
	"other_proto", "ip_bad", "ip_opts", "frag", "frag_pair", "random",
	"exthdr", "nd_mld", "truncated", "len_lie",
};

static unsigned long cls_count[__C_MAX];

/* ----------------------------------------------------- L4 builders --- */

/* TCP options, some of them broken; returns the length written (<= 40) */
static size_t tcp_options(uint64_t *s, uint8_t *o, int broken)
{
	size_t n = 0, room = 40 - 4 * rnd(s, 6);
	int k = 1 + rnd(s, 5);

	while (k-- && n + 2 <= room) {
		size_t len;

		switch (rnd(s, 8)) {
		case 0:		/* MSS */
			o[n] = 2;
			len = 4;
			break;
		case 1:		/* window scale */
			o[n] = 3;
			len = 3;
			break;
		case 2:		/* SACK permitted */
			o[n] = 4;
			len = 2;
			break;
		case 3:		/* SACK, 1..4 blocks */
			o[n] = 5;
			len = 2 + 8 * (1 + rnd(s, 4));
			break;
		case 4:		/* timestamps */
			o[n] = 8;
			len = 10;
			break;
		case 5:		/* NOPs */
			o[n] = 1;
			len = 1;
			break;
		case 6:		/* EOL, then garbage */
			o[n] = 0;
			len = 1;
			break;
		default:	/* unknown kind */
			o[n] = 9 + rnd(s, 247);
			len = 2 + rnd(s, 8);
			break;
		}
		if (broken && chance(s, 40)) {
			switch (rnd(s, 5)) {
			case 0: len = 0; break;	/* length 0 */
			case 1: len = 1; break;	/* length 1 */
			case 2: len = 255; break;	/* runs past */
			case 3: len = len + 1 + rnd(s, 7); break;
			default: len = rnd(s, 41); break;
			}
		}
		if (len == 1 || o[n] <= 1) {
			n++;
			continue;
		}
		o[n + 1] = (uint8_t)len;
		if (len < 2)
			len = 2;
		if (n + len > room)
			len = room - n;
		rbytes(s, o + n + 2, len - 2);
		n += len;
	}
	while (n % 4)
		o[n++] = chance(s, 50) ? 1 : (uint8_t)rnd(s, 256);
	return n;
}

static const uint16_t ports[] = { 7, 9, 22, 53, 80, 443, 5001, 5012, 40000 };

static size_t build_tcp(uint64_t *s, uint8_t *p, size_t room, enum cls c,
			int *cls)
{
	size_t optlen = 0, plen, hl;
	uint8_t doff;

	memset(p, 0, 20);
	*(uint16_t *)p = htons(ports[rnd(s, 9)]);
	*(uint16_t *)(p + 2) = htons(30000 + rnd(s, 8));
	*(uint32_t *)(p + 4) = htonl(chance(s, 50) ? rnd(s, 4096) : (uint32_t)splitmix(s));
	*(uint32_t *)(p + 8) = htonl(chance(s, 50) ? rnd(s, 4096) : (uint32_t)splitmix(s));
	p[13] = chance(s, 60) ? 0x10 | (uint8_t)rnd(s, 0x10) : (uint8_t)rnd(s, 256);
	*(uint16_t *)(p + 14) = htons((uint16_t)rnd(s, 65536));
	if (c == C_TCP_OPTS || chance(s, 30))
		optlen = tcp_options(s, p + 20, c == C_TCP_OPTS);
	hl = 20 + optlen;
	doff = (uint8_t)(hl / 4);
	if (c == C_TCP_DOFF)
		doff = chance(s, 50) ? (uint8_t)rnd(s, 5) : (uint8_t)(doff + 1 + rnd(s, 15 - doff + 1));
	p[12] = (uint8_t)((doff & 0xf) << 4);
	plen = chance(s, 50) ? 0 : rnd(s, 300);
	if (hl + plen > room)
		plen = room > hl ? room - hl : 0;
	rbytes(s, p + hl, plen);
	*cls = c;
	return hl + plen;
}

static size_t build_udp(uint64_t *s, uint8_t *p, size_t room, enum cls c,
			int *cls)
{
	size_t plen = rnd(s, 200), len;

	if (c == C_UDP_SHORT) {
		len = rnd(s, 8);
		rbytes(s, p, len);
		*cls = c;
		return len;
	}
	if (8 + plen > room)
		plen = room - 8;
	*(uint16_t *)p = htons(ports[rnd(s, 9)]);
	*(uint16_t *)(p + 2) = htons(30000 + rnd(s, 8));
	*(uint16_t *)(p + 4) = htons((uint16_t)(8 + plen));
	if (chance(s, 15)) {	/* a length field that lies */
		*(uint16_t *)(p + 4) = htons((uint16_t)rnd(s, 65536));
		*cls = C_LEN_LIE;
	} else {
		*cls = c;
	}
	*(uint16_t *)(p + 6) = chance(s, 50) ? 0 : (uint16_t)splitmix(s);
	rbytes(s, p + 8, plen);
	return 8 + plen;
}

static size_t build_icmp(uint64_t *s, uint8_t *p, size_t room, int v6,
			 enum cls c, int *cls)
{
	static const uint8_t t4[] = { 0, 8, 3, 11, 12, 5, 13, 14, 255 };
	static const uint8_t t6[] = { 128, 129, 1, 2, 3, 4, 200, 100 };
	static const uint8_t nd[] = { 130, 131, 132, 133, 134, 135, 136, 137, 143 };
	size_t len;

	*cls = c;
	if (c == C_ICMP_SHORT) {
		len = rnd(s, 8);
		rbytes(s, p, len);
		if (len)
			p[0] = v6 ? t6[rnd(s, sizeof(t6))] : t4[rnd(s, sizeof(t4))];
		return len;
	}
	len = 8 + rnd(s, 120);
	if (len > room)
		len = room;
	rbytes(s, p, len);
	if (c == C_ND)
		p[0] = nd[rnd(s, sizeof(nd))];
	else
		p[0] = v6 ? t6[rnd(s, sizeof(t6))] : t4[rnd(s, sizeof(t4))];
	p[1] = (uint8_t)rnd(s, 4);
	if (p[0] == 8 || p[0] == 0 || p[0] == 128 || p[0] == 129)
		p[4] = 0, p[5] = (uint8_t)rnd(s, 4);	/* few echo ids */
	if (!v6 && (p[0] == 3 || p[0] == 11 || p[0] == 12) && len >= 28) {
		p[8] = 0x45 ^ (chance(s, 20) ? (uint8_t)rnd(s, 256) : 0);
		p[17] = chance(s, 50) ? 6 : 17;	/* embedded header */
	}
	if (v6 && p[0] < 128 && len >= 48) {
		p[8] = 0x60;
		p[14] = chance(s, 50) ? 6 : 17;
	}
	return len;
}

/* The transport part of a frame; proto is set. */
static size_t build_l4(uint64_t *s, uint8_t *p, size_t room, int v6,
		       uint8_t *proto, int *cls)
{
	uint32_t r = rnd(s, 100);

	if (room < 48) {
		*proto = 17;
		return build_udp(s, p, room, C_UDP_SHORT, cls);
	}
	if (r < 14) {
		*proto = 6;
		return build_tcp(s, p, room, C_TCP, cls);
	}
	if (r < 24) {
		*proto = 6;
		return build_tcp(s, p, room, C_TCP_DOFF, cls);
	}
	if (r < 44) {
		*proto = 6;
		return build_tcp(s, p, room, C_TCP_OPTS, cls);
	}
	if (r < 56) {
		*proto = 17;
		return build_udp(s, p, room, C_UDP, cls);
	}
	if (r < 62) {
		*proto = chance(s, 80) ? 17 : 6;	/* short transport headers */
		if (*proto == 6) {
			size_t len = rnd(s, 20);

			rbytes(s, p, len);
			*cls = C_UDP_SHORT;
			return len;
		}
		return build_udp(s, p, room, C_UDP_SHORT, cls);
	}
	if (r < 74) {
		*proto = v6 ? 58 : 1;
		return build_icmp(s, p, room, v6, C_ICMP, cls);
	}
	if (r < 80) {
		*proto = v6 ? 58 : 1;
		return build_icmp(s, p, room, v6, C_ICMP_SHORT, cls);
	}
	if (v6 && r < 86) {
		*proto = 58;
		return build_icmp(s, p, room, v6, C_ND, cls);
	}
	{
		static const uint8_t other[] = { 47, 132, 136, 50, 51, 4, 41, 0, 255, 2 };
		size_t len = rnd(s, 100);

		*proto = other[rnd(s, sizeof(other))];
		if (len > room)
			len = room;
		rbytes(s, p, len);
		*cls = C_OTHER;
		return len;
	}
}

/* --------------------------------------------------------- IPv4 ---- */

static uint32_t src4 = 0x0a000002, dst4_net = 0xc6336400;	/* 10.0.0.2, 198.51.100.0 */

static void ip4_addrs(uint64_t *s, uint8_t *ip)
{
	uint32_t src = src4, dst = dst4_net | rnd(s, 16);
	uint32_t r = rnd(s, 100);

	if (r < 3)
		src = (uint32_t)splitmix(s);
	else if (r < 6)
		src = 0x0a000000 | rnd(s, 256);
	r = rnd(s, 100);
	if (r < 3)
		dst = (uint32_t)splitmix(s);
	else if (r < 5)
		dst = 0xe0000000 | rnd(s, 256);	/* multicast */
	else if (r < 6)
		dst = 0xffffffff;
	else if (r < 8)
		dst = 0x0a000001;		/* the gateway */
	*(uint32_t *)(ip + 12) = htonl(src);
	*(uint32_t *)(ip + 16) = htonl(dst);
}

/* A fragment of a datagram of pair key k: part 0 or 1. */
static size_t frag4_pair(uint64_t *s, uint8_t *ip, uint64_t k, int part)
{
	uint64_t ks = k * 0x2545F4914F6CDD1DULL;
	uint8_t l4[512] = { 0 };
	size_t first = 8 * (1 + rnd(&ks, 8)), total = first + 8 + rnd(&ks, 200);
	size_t off = part ? first : 0, len = part ? total - first : first;
	int cls;
	uint8_t proto;

	(void)s;
	build_l4(&ks, l4, sizeof(l4) < total ? sizeof(l4) : total, 0, &proto, &cls);
	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[8] = 64;
	ip[9] = proto;
	*(uint16_t *)(ip + 4) = htons((uint16_t)(0x4000 + (k & 0x3fff)));
	*(uint16_t *)(ip + 6) = htons((uint16_t)((part ? 0 : 0x2000) | (off / 8)));
	ip4_addrs(&ks, ip);
	memcpy(ip + 20, l4 + off, len);
	*(uint16_t *)(ip + 2) = htons((uint16_t)(20 + len));
	*(uint16_t *)(ip + 10) = fold(sum16(ip, 20, 0));
	return 20 + len;
}

static size_t build4(uint64_t *s, uint8_t *ip, size_t room, uint64_t idx,
		     int fragmode, int *cls)
{
	size_t ihl = 20, l4len, tot;
	uint8_t proto;
	uint32_t r = rnd(s, 100);

	(void)idx;
	if (r < 12) {		/* random bytes, sometimes a plausible header */
		size_t len = rnd(s, (uint32_t)room + 1);

		rbytes(s, ip, len);
		if (len >= 20 && chance(s, 50)) {
			ip[0] = 0x45;
			*(uint16_t *)(ip + 2) = htons((uint16_t)len);
			*(uint16_t *)(ip + 10) = 0;
			*(uint16_t *)(ip + 10) = fold(sum16(ip, 20, 0));
		}
		*cls = C_RANDOM;
		return len;
	}
	memset(ip, 0, 20);
	if (r < 20) {		/* options: random bytes, sometimes real ones */
		ihl = 24 + 4 * rnd(s, 10);
		rbytes(s, ip + 20, ihl - 20);
		if (chance(s, 50)) {
			ip[20] = chance(s, 50) ? 7 : 68;	/* RR, timestamp */
			ip[21] = (uint8_t)rnd(s, 44);
			ip[22] = (uint8_t)rnd(s, 44);
		}
	}
	l4len = build_l4(s, ip + ihl, room - ihl, 0, &proto, cls);
	if (ihl > 20)
		*cls = C_IP_OPTS;
	ip[0] = (uint8_t)(0x40 | ihl / 4);
	ip[1] = (uint8_t)rnd(s, 256);
	*(uint16_t *)(ip + 4) = (uint16_t)splitmix(s);
	ip[8] = chance(s, 90) ? 64 : (uint8_t)rnd(s, 3);
	ip[9] = proto;
	ip4_addrs(s, ip);
	tot = ihl + l4len;
	*(uint16_t *)(ip + 2) = htons((uint16_t)tot);
	if (fragmode && r >= 20 && r < 30) {	/* a loose fragment */
		*(uint16_t *)(ip + 6) = htons((uint16_t)((chance(s, 50) ? 0x2000 : 0) |
							rnd(s, 0x2000)));
		*(uint16_t *)(ip + 4) = htons((uint16_t)(0x4000 + rnd(s, 64)));
		*cls = C_FRAG;
	} else if (chance(s, 20)) {
		*(uint16_t *)(ip + 6) = htons(0x4000);	/* DF */
	}
	if (chance(s, 10)) {	/* header fields that lie */
		switch (rnd(s, 5)) {
		case 0: ip[0] = (uint8_t)(0x40 | rnd(s, 5)); break;	/* ihl < 5 */
		case 1: ip[0] = (uint8_t)(rnd(s, 16) << 4 | 5); break;	/* version */
		case 2: *(uint16_t *)(ip + 2) = htons((uint16_t)rnd(s, 65536)); break;
		case 3: *(uint16_t *)(ip + 2) = htons((uint16_t)rnd(s, (uint32_t)ihl)); break;
		default: ip[0] = (uint8_t)(0x40 | (5 + rnd(s, 11))); break;	/* ihl past */
		}
		*cls = C_IP_BAD;
	}
	*(uint16_t *)(ip + 10) = fold(sum16(ip, ihl, 0));
	if (chance(s, 3)) {
		*(uint16_t *)(ip + 10) ^= htons(1 + rnd(s, 0xfffe));
		*cls = C_IP_BAD;
	}
	if (chance(s, 6)) {	/* the frame cut short */
		tot = rnd(s, (uint32_t)tot + 1);
		*cls = C_TRUNC;
	} else if (chance(s, 4)) {
		size_t pad = rnd(s, 64);	/* trailing bytes past tot_len */

		if (tot + pad > room)
			pad = room - tot;
		rbytes(s, ip + tot, pad);
		tot += pad;
	}
	return tot;
}

/* --------------------------------------------------------- IPv6 ---- */

static const uint8_t src6[16] = { 0xfd, 0, [15] = 2 };	/* fd00::2 */

static void ip6_addrs(uint64_t *s, uint8_t *ip)
{
	uint8_t *src = ip + 8, *dst = ip + 24;
	uint32_t r = rnd(s, 100);

	memcpy(src, src6, 16);
	if (r < 3) {
		rbytes(s, src, 16);
	} else if (r < 5) {
		src[0] = 0xfe, src[1] = 0x80;	/* link-local */
		memset(src + 2, 0, 6);
	} else if (r < 6) {
		src[0] = 0xff;			/* multicast source */
	}
	memset(dst, 0, 16);
	dst[0] = 0x20, dst[1] = 0x01, dst[2] = 0x0d, dst[3] = 0xb8, dst[5] = 1;
	dst[15] = (uint8_t)rnd(s, 16);
	r = rnd(s, 100);
	if (r < 3) {
		rbytes(s, dst, 16);
	} else if (r < 6) {
		memset(dst, 0, 16);
		dst[0] = 0xff, dst[1] = (uint8_t)rnd(s, 16), dst[15] = 1;
	} else if (r < 7) {
		memset(dst, 0, 16);
		dst[15] = 1;			/* ::1 */
	} else if (r < 9) {
		memset(dst, 0, 16);
		dst[0] = 0xfd, dst[15] = 1;	/* the gateway */
	}
}

/* TLV options for hop-by-hop / destination options, some broken */
static void tlv_fill(uint64_t *s, uint8_t *p, size_t len, int broken)
{
	static const uint8_t types[] = { 0, 1, 5, 0xc2, 0xc9, 7, 0x3e, 0x7f, 0xbf, 0xff, 0x1e, 0x63 };
	size_t n = 0;

	while (n < len) {
		uint8_t t = types[rnd(s, sizeof(types))];
		size_t room = len - n, l;

		if (t == 0 || room < 2) {
			p[n++] = 0;
			continue;
		}
		l = t == 1 ? rnd(s, 6) : t == 5 ? 2 : t == 0xc2 ? 4 : rnd(s, 8);
		if (broken && chance(s, 30))
			l = rnd(s, 256);
		p[n] = t;
		p[n + 1] = (uint8_t)l;
		if (l > room - 2)
			l = room - 2;
		rbytes(s, p + n + 2, l);
		if (t == 5 && l == 2)
			p[n + 2] = 0, p[n + 3] = (uint8_t)rnd(s, 3);
		n += 2 + l;
	}
}

/*
 * The walk of nf_defrag_ipv6's find_prev_fhdr() over a packet of
 * payload_len bytes after the fixed header: does it reach a fragment
 * header? (Then defragmentation may steal or drop it uncounted.)
 */
static int v6_reaches_frag(const uint8_t *ip, size_t iplen)
{
	uint16_t plen = ntohs(*(const uint16_t *)(ip + 4));
	size_t start = 40;
	long len;
	uint8_t nh = ip[6];

	if (plen == 0 || 40 + (size_t)plen > iplen)
		return 0;	/* jumbo or truncated: not gathered */
	len = plen;
	while (nh != 44) {
		size_t hl;

		if (nh != 0 && nh != 43 && nh != 51 && nh != 59 && nh != 60)
			return 0;
		if (nh == 59 || len < 2)
			return 0;
		hl = nh == 51 ? ((size_t)ip[start + 1] + 2) << 2 :
				 ((size_t)ip[start + 1] + 1) << 3;
		nh = ip[start];
		len -= (long)hl;
		start += hl;
		if (start + 2 > iplen && nh != 44)
			return 0;
	}
	return 1;
}

/* A fragment of an IPv6 datagram of pair key k, part 0 (>= 1280 bytes) or 1 */
static size_t frag6_pair(uint8_t *ip, uint64_t k, int part)
{
	uint64_t ks = k * 0x9E3779B97F4A7C15ULL + 7;
	size_t first = 1232, rest = 8 + rnd(&ks, 200);
	size_t len = part ? rest : first;
	uint8_t *fh = ip + 40;

	memset(ip, 0, 48);
	ip[0] = 0x60;
	ip[7] = 64;
	ip6_addrs(&ks, ip);
	ip[6] = 44;
	fh[0] = chance(&ks, 50) ? 17 : 6;
	*(uint16_t *)(fh + 2) = htons((uint16_t)((part ? first : 0) | (part ? 0 : 1)));
	*(uint32_t *)(fh + 4) = htonl((uint32_t)(0x60000 + (k & 0xffff)));
	rbytes(&ks, fh + 8, len);
	if (!part && fh[0] == 17) {
		*(uint16_t *)(fh + 12) = htons((uint16_t)(8 + first + rest - 8));
	} else if (!part) {
		fh[8 + 12] = 0x50;	/* TCP doff 5 */
	}
	*(uint16_t *)(ip + 4) = htons((uint16_t)(8 + len));
	return 40 + 8 + len;
}

static size_t build6_once(uint64_t *s, uint8_t *ip, size_t room, uint64_t idx,
			  int fragmode, int *cls)
{
	uint8_t *nhp = ip + 6, proto;
	size_t off = 40, l4len, tot;
	uint32_t r = rnd(s, 100);

	(void)idx;
	if (r < 8) {
		size_t len = rnd(s, (uint32_t)room + 1);

		rbytes(s, ip, len);
		if (len >= 40 && chance(s, 60)) {
			ip[0] = (uint8_t)(0x60 | (ip[0] & 0xf));
			*(uint16_t *)(ip + 4) = htons((uint16_t)(len - 40));
		}
		*cls = C_RANDOM;
		return len;
	}
	memset(ip, 0, 40);
	ip[0] = 0x60 | (uint8_t)rnd(s, 16);
	ip[1] = (uint8_t)rnd(s, 256);
	ip[7] = chance(s, 90) ? 64 : (uint8_t)rnd(s, 3);
	ip6_addrs(s, ip);
	*cls = -1;
	if (r < 55) {		/* an extension header chain */
		int n = 1 + rnd(s, 4), i;

		for (i = 0; i < n && off + 64 < room; i++) {
			static const uint8_t kinds[] = { 0, 43, 60, 44, 51, 60, 43, 0 };
			uint8_t kind = kinds[rnd(s, sizeof(kinds))];
			size_t hl;

			if (i == 0 && chance(s, 40))
				kind = 0;	/* hop-by-hop first */
			if (fragmode == 2 && i == n - 1)
				kind = 44;
			*nhp = kind;
			nhp = ip + off;
			if (kind == 44) {
				hl = 8;
				rbytes(s, ip + off, 8);
				ip[off + 1] = 0;
				if (chance(s, 40))	/* atomic fragment */
					*(uint16_t *)(ip + off + 2) = 0;
			} else if (kind == 51) {
				hl = (2 + rnd(s, 4)) * 4;
				rbytes(s, ip + off, hl);
				ip[off + 1] = (uint8_t)(hl / 4 - 2);
			} else {
				hl = 8 * (1 + rnd(s, 4));
				ip[off + 1] = (uint8_t)(hl / 8 - 1);
				if (kind == 43) {
					rbytes(s, ip + off + 2, hl - 2);
					ip[off + 2] = (uint8_t)rnd(s, 5);	/* type 0..4 */
					ip[off + 3] = (uint8_t)rnd(s, 4);	/* segments left */
				} else {
					tlv_fill(s, ip + off + 2, hl - 2, 1);
				}
			}
			if (chance(s, 12))	/* a length that runs past */
				ip[off + 1] = (uint8_t)rnd(s, 256);
			off += hl;
		}
		*cls = C_EXTHDR;
	}
	if (chance(s, 4)) {
		*nhp = 59;	/* no next header, then garbage */
		l4len = rnd(s, 40);
		rbytes(s, ip + off, l4len);
	} else {
		int c;

		l4len = build_l4(s, ip + off, room - off, 1, &proto, &c);
		*nhp = proto;
		if (*cls < 0)
			*cls = c;
	}
	tot = off + l4len;
	*(uint16_t *)(ip + 4) = htons((uint16_t)(tot - 40));
	if (chance(s, 8)) {
		switch (rnd(s, 3)) {
		case 0: *(uint16_t *)(ip + 4) = htons((uint16_t)rnd(s, 65536)); break;
		case 1: *(uint16_t *)(ip + 4) = 0; break;
		default: *(uint16_t *)(ip + 4) = htons((uint16_t)rnd(s, (uint32_t)(tot - 40 + 1))); break;
		}
		*cls = C_LEN_LIE;
	}
	if (chance(s, 2)) {
		ip[0] = (uint8_t)(rnd(s, 16) << 4);
		*cls = C_IP_BAD;
	}
	if (chance(s, 6)) {
		tot = rnd(s, (uint32_t)tot + 1);
		*cls = C_TRUNC;
	}
	return tot;
}

static size_t build6(uint64_t *s, uint8_t *ip, size_t room, uint64_t idx,
		     int fragmode, int *cls)
{
	int tries;

	for (tries = 0; tries < 200; tries++) {
		size_t len = build6_once(s, ip, room, idx, fragmode, cls);
		int f = v6_reaches_frag(ip, len);

		if (fragmode == 0 && !f)
			return len;
		if (fragmode == 2 && f) {
			if (*cls != C_FRAG_PAIR)
				*cls = C_FRAG;
			return len;
		}
		if (fragmode == 1) {
			if (f && *cls != C_FRAG_PAIR)
				*cls = C_FRAG;
			return len;
		}
	}
	/* give up: an empty UDP datagram of the guest */
	memset(ip, 0, 48);
	ip[0] = 0x60;
	ip[6] = 17;
	ip[7] = 64;
	ip6_addrs(s, ip);
	*(uint16_t *)(ip + 4) = htons(8);
	*(uint16_t *)(ip + 44) = htons(8);
	*cls = C_UDP;
	return 48;
}

/* --------------------------------------------------------- sending --- */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int parse_mac(const char *s, uint8_t *mac)
{
	unsigned int m[6];
	int i;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6)
		return -1;
	for (i = 0; i < 6; i++)
		mac[i] = (uint8_t)m[i];
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

struct opts {
	const char *mode, *dev;
	uint8_t smac[6], dmac[6];
	uint64_t seed, first, count;
	int family, frag, keep_going, size, flow_major;
	uint64_t flows, first_flow, per_flow;
	double rate;
	uint16_t dport;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: colo_frames fuzz --dev DEV --smac MAC --dmac MAC --seed S --count N\n"
		"                        [--first I] [--family 4|6|46] [--frag any|no|only]\n"
		"       colo_frames flows --dev DEV --smac MAC --dmac MAC --flows F\n"
		"                        [--first-flow K] [--per-flow P | --count N] [--family 4|6]\n"
		"                        [--size B] [--rate PPS] [--dport P] [--order rr|flow]\n"
		"                        [--keep-going]\n");
	exit(1);
}

static size_t build_flow(const struct opts *o, uint8_t *f, uint64_t i)
{
	uint64_t flow = o->first_flow + i % o->flows, k = i / o->flows;

	if (o->flow_major) {	/* one flow after the other: churn */
		flow = o->first_flow + i / o->per_flow;
		k = i % o->per_flow;
	}
	uint64_t ps;
	uint8_t *ip = f + 14, *udp;
	size_t iphl = o->family == 6 ? 40 : 20, len = 8 + (size_t)o->size;
	uint32_t sum;

	ps = flow * 0x9E3779B97F4A7C15ULL ^ (k + 1) * 0xD1B54A32D192ED03ULL;
	if (o->family == 6) {
		memset(ip, 0, 40);
		ip[0] = 0x60;
		ip[6] = 17;
		ip[7] = 64;
		memcpy(ip + 8, src6, 16);
		ip[24] = 0x20, ip[25] = 0x01, ip[26] = 0x0d, ip[27] = 0xb8, ip[29] = 1;
		*(uint32_t *)(ip + 36) = htonl((uint32_t)(flow % 131072) + 1);
		*(uint16_t *)(ip + 4) = htons((uint16_t)len);
	} else {
		memset(ip, 0, 20);
		ip[0] = 0x45;
		*(uint16_t *)(ip + 2) = htons((uint16_t)(20 + len));
		*(uint16_t *)(ip + 4) = htons((uint16_t)k);
		ip[8] = 64;
		ip[9] = 17;
		*(uint32_t *)(ip + 12) = htonl(src4);
		*(uint32_t *)(ip + 16) = htonl(0xc6120000 + (uint32_t)(flow % 131072));
		*(uint16_t *)(ip + 10) = fold(sum16(ip, 20, 0));
	}
	udp = ip + iphl;
	*(uint16_t *)udp = htons((uint16_t)(20000 + (flow / 131072) % 40000));
	*(uint16_t *)(udp + 2) = htons(o->dport);
	*(uint16_t *)(udp + 4) = htons((uint16_t)len);
	*(uint16_t *)(udp + 6) = 0;
	*(uint64_t *)(udp + 8) = htobe64(flow);
	*(uint64_t *)(udp + 16) = htobe64(k);
	if (o->size > 16)
		rbytes(&ps, udp + 24, (size_t)o->size - 16);
	/* the pseudo header sum, then the datagram */
	if (o->family == 6)
		sum = sum16(ip + 8, 32, 0) + (uint32_t)len + 17;
	else
		sum = sum16(ip + 12, 8, 0) + (uint32_t)len + 17;
	sum = sum16(udp, len, sum);
	*(uint16_t *)(udp + 6) = fold(sum);
	if (!*(uint16_t *)(udp + 6))
		*(uint16_t *)(udp + 6) = 0xffff;
	f[12] = o->family == 6 ? 0x86 : 0x08;
	f[13] = o->family == 6 ? 0xdd : 0x00;
	return 14 + iphl + len;
}

static size_t build_fuzz(const struct opts *o, uint8_t *f, uint64_t i, int *cls)
{
	uint64_t s = o->seed ^ (i + 1) * 0xD6E8FEB86659FD93ULL;
	uint64_t ps = o->seed ^ (i / 2 + 1) * 0xA0761D6478BD642FULL;
	int v6;
	size_t len;

	splitmix(&s);
	splitmix(&ps);
	/* frames 2k and 2k+1 may be the two fragments of one datagram */
	v6 = o->family == 6 || (o->family == 46 && chance(&ps, 50));
	if (o->frag && chance(&ps, o->frag == 2 && v6 ? 25 : 8)) {
		uint64_t key = o->seed ^ i / 2;

		*cls = C_FRAG_PAIR;
		if (!v6) {
			len = frag4_pair(&s, f + 14, key, (int)(i & 1));
			f[12] = 0x08, f[13] = 0x00;
			return 14 + len;
		}
		len = frag6_pair(f + 14, key, (int)(i & 1));
		f[12] = 0x86, f[13] = 0xdd;
		return 14 + len;
	}
	v6 = o->family == 6 || (o->family == 46 && chance(&s, 50));
	if (v6)
		len = build6(&s, f + 14, FRAME_MAX - 14, i, o->frag, cls);
	else
		len = build4(&s, f + 14, FRAME_MAX - 14, i, o->frag != 0, cls);
	f[12] = v6 ? 0x86 : 0x08;
	f[13] = v6 ? 0xdd : 0x00;
	return 14 + len;
}

int main(int argc, char **argv)
{
	static uint8_t frames[BATCH][FRAME_MAX];
	struct opts o = { .family = 46, .frag = 1, .size = 18, .per_flow = 1,
			  .dport = 9, .flows = 1 };
	struct sockaddr_ll sll = { 0 };
	struct mmsghdr msg[BATCH];
	struct iovec iov[BATCH];
	int slot_cls[BATCH];
	uint64_t sent = 0, errors = 0, i, t0, total;
	int fd, k, have_count = 0, last_errno = 0;

	if (argc < 2)
		usage();
	o.mode = argv[1];
	for (k = 2; k < argc; k++) {
		const char *a = argv[k], *v = k + 1 < argc ? argv[k + 1] : NULL;

		if (!strcmp(a, "--keep-going")) {
			o.keep_going = 1;
			continue;
		}
		if (!v)
			usage();
		k++;
		if (!strcmp(a, "--dev"))
			o.dev = v;
		else if (!strcmp(a, "--smac") && !parse_mac(v, o.smac))
			;
		else if (!strcmp(a, "--dmac") && !parse_mac(v, o.dmac))
			;
		else if (!strcmp(a, "--seed"))
			o.seed = strtoull(v, NULL, 0);
		else if (!strcmp(a, "--first"))
			o.first = strtoull(v, NULL, 0);
		else if (!strcmp(a, "--count"))
			o.count = strtoull(v, NULL, 0), have_count = 1;
		else if (!strcmp(a, "--family"))
			o.family = atoi(v);
		else if (!strcmp(a, "--frag"))
			o.frag = !strcmp(v, "no") ? 0 : !strcmp(v, "only") ? 2 : 1;
		else if (!strcmp(a, "--flows"))
			o.flows = strtoull(v, NULL, 0);
		else if (!strcmp(a, "--first-flow"))
			o.first_flow = strtoull(v, NULL, 0);
		else if (!strcmp(a, "--per-flow"))
			o.per_flow = strtoull(v, NULL, 0);
		else if (!strcmp(a, "--size"))
			o.size = atoi(v);
		else if (!strcmp(a, "--rate"))
			o.rate = atof(v);
		else if (!strcmp(a, "--order"))
			o.flow_major = !strcmp(v, "flow");
		else if (!strcmp(a, "--dport"))
			o.dport = (uint16_t)atoi(v);
		else
			usage();
	}
	if (!o.dev || (strcmp(o.mode, "fuzz") && strcmp(o.mode, "flows")) ||
	    (o.family != 4 && o.family != 6 && o.family != 46) || !o.flows ||
	    o.size < 16 || o.size > 1400)
		usage();
	if (!strcmp(o.mode, "flows") && o.family == 46)
		o.family = 4;
	total = have_count ? o.count : o.flows * o.per_flow;

	fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0) {
		perror("socket(AF_PACKET)");
		return 1;
	}
	sll.sll_family = AF_PACKET;
	sll.sll_ifindex = (int)if_nametoindex(o.dev);
	sll.sll_halen = 6;
	memcpy(sll.sll_addr, o.dmac, 6);
	if (!sll.sll_ifindex) {
		fprintf(stderr, "colo_frames: no device %s\n", o.dev);
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);

	t0 = now_ns();
	for (i = 0; (!total || i < total) && !stop;) {
		int n = 0, r;

		for (; n < BATCH && (!total || i + (uint64_t)n < total); n++) {
			uint64_t idx = o.first + i + (uint64_t)n;
			uint8_t *f = frames[n];
			int cls = C_UDP;

			memcpy(f, o.dmac, 6);
			memcpy(f + 6, o.smac, 6);
			iov[n].iov_base = f;
			if (!strcmp(o.mode, "fuzz")) {
				iov[n].iov_len = build_fuzz(&o, f, idx, &cls);
			} else {
				iov[n].iov_len = build_flow(&o, f, idx);
			}
			slot_cls[n] = cls;
			memset(&msg[n], 0, sizeof(msg[n]));
			msg[n].msg_hdr.msg_name = &sll;
			msg[n].msg_hdr.msg_namelen = sizeof(sll);
			msg[n].msg_hdr.msg_iov = &iov[n];
			msg[n].msg_hdr.msg_iovlen = 1;
		}
		if (o.rate > 0) {	/* pace: never ahead of rate */
			uint64_t due = t0 + (uint64_t)((double)i * 1e9 / o.rate);
			uint64_t now = now_ns();

			if (due > now) {
				struct timespec ts = { (time_t)((due - now) / 1000000000ULL),
						       (long)((due - now) % 1000000000ULL) };
				nanosleep(&ts, NULL);
			}
		}
		r = sendmmsg(fd, msg, (unsigned int)n, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			last_errno = errno;
			/* the frame could not go (e.g. EMSGSIZE): count, skip it */
			errors++;
			i++;
			if (errno == ENXIO || errno == ENODEV || errno == ENETDOWN) {
				if (!o.keep_going)
					break;
				if (errors > 1000)
					break;
				usleep(1000);
			}
			continue;
		}
		sent += (uint64_t)r;
		for (k = 0; k < r; k++)
			if (slot_cls[k] >= 0 && slot_cls[k] < __C_MAX)
				cls_count[slot_cls[k]]++;
		i += (uint64_t)(r ? r : 1);
	}
	printf("sent=%llu errors=%llu ms=%llu", (unsigned long long)sent,
	       (unsigned long long)errors,
	       (unsigned long long)((now_ns() - t0) / 1000000));
	if (last_errno)
		printf(" last_error=%s", strerror(last_errno));
	if (!strcmp(o.mode, "fuzz"))
		for (k = 0; k < __C_MAX; k++)
			printf(" %s=%lu", cls_name[k], cls_count[k]);
	printf("\n");
	return 0;
}
