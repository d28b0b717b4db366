// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of kernel/segment.c, built as it is against the shims: lowered
 * acks on the wire (colo_tcp_lower_ack()). Each test runs twice: with the
 * headers in the linear part, and with the TCP header ending in the skb's
 * fragment. test_compare.c drives the engine (compare.c, step.c) with
 * stand-ins for these functions; this binary proves the real ones.
 *
 * Output: TAP, then a last line "N passed, N failed". Exit status 1 when a
 * test failed.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <net/ip.h>
#include <net/ip6_checksum.h>
#include <asm/unaligned.h>
#include <linux/kernel.h>
#include <linux/skbuff.h>
#include <net/tcp.h>
#include "colo.h"
#include "tap.h"

/* ------------------------------------------------------------------ */
/* TAP */

static int t_mode;		/* 0: linear headers, 1: header in the fragment */

/* ------------------------------------------------------------------ */
/* Lowered acks on the wire: segment.c colo_tcp_lower_ack() */

/*
 * A primary pure ack as it reaches colo_tcp_lower_ack(): IPv4 or IPv6,
 * TCP options @opt (@optlen bytes, a multiple of 4), checksums correct,
 * COLO_CB() filled in as colo_parse() and the engine leave it.
 */
static struct sk_buff *wire_ack(bool v6, const u8 *opt, unsigned int optlen,
				u32 lowered, bool ts, u32 tsval)
{
	unsigned int nhlen = v6 ? 40 : 20, thlen = 20 + optlen;
	unsigned int total = nhlen + thlen, headlen = total;
	/* non-linear: the header ends in the fragment, at an odd offset */
	struct sk_buff *skb = calloc(1, sizeof(*skb));
	u8 *p = calloc(1, total);
	struct tcphdr *th = (struct tcphdr *)(p + nhlen);
	unsigned int i;

	if (!skb || !p) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	if (v6) {
		struct ipv6hdr *ip6h = (struct ipv6hdr *)p;

		ip6h->version = 6;
		ip6h->payload_len = htons(thlen);
		ip6h->nexthdr = IPPROTO_TCP;
		ip6h->hop_limit = 64;
		for (i = 0; i < 16; i++) {
			ip6h->saddr.in6_u.u6_addr8[i] = (u8)(0x20 + i);
			ip6h->daddr.in6_u.u6_addr8[i] = (u8)(0xfd - i);
		}
	} else {
		struct iphdr *iph = (struct iphdr *)p;

		iph->version = 4;
		iph->ihl = 5;
		iph->tot_len = htons(total);
		iph->ttl = 64;
		iph->protocol = IPPROTO_TCP;
		iph->saddr = htonl(0x0a000002);
		iph->daddr = htonl(0x0a000101);
		ip_send_check(iph);
	}
	th->source = htons(7000);
	th->dest = htons(40000);
	th->seq = htonl(0x10000);
	th->ack_seq = htonl(lowered + 5000);	/* the primary's full ack */
	th->doff = thlen / 4;
	th->ack = 1;
	th->window = htons(501);
	memcpy(th + 1, opt, optlen);
	if (v6) {
		struct ipv6hdr *ip6h = (struct ipv6hdr *)p;

		th->check = tcp_v6_check(thlen, &ip6h->saddr, &ip6h->daddr,
					 csum_partial(th, thlen, 0));
	} else {
		struct iphdr *iph = (struct iphdr *)p;

		th->check = tcp_v4_check(thlen, iph->saddr, iph->daddr,
					 csum_partial(th, thlen, 0));
	}

	if (t_mode == 1 && total > nhlen + 23)
		headlen = nhlen + 23;
	skb->head = p;
	skb->data = p;
	skb->end = headlen;
	skb->len = total;
	skb->data_len = total - headlen;
	if (skb->data_len) {
		skb->frag = malloc(skb->data_len);
		memcpy(skb->frag, p + headlen, skb->data_len);
	}
	skb->network_header = 0;
	skb->transport_header = 0xffff;
	skb->mac_header = 0xffff;
	skb->protocol = htons(v6 ? ETH_P_IPV6 : ETH_P_IP);
	skb->ip_summed = CHECKSUM_NONE;
	COLO_CB(skb)->poff = (u16)total;
	COLO_CB(skb)->flags = TCPHDR_ACK;
	COLO_CB(skb)->ack = lowered;
	COLO_CB(skb)->ack_lowered = 1;
	COLO_CB(skb)->ts = ts;
	COLO_CB(skb)->tsval = tsval;
	return skb;
}

/* What a receiver's tcp_parse_options() (6.1) takes from the options. */
struct wire_opts {
	bool ts;
	u32 tsval, tsecr;
	unsigned int nsack;
	u32 sack[2 * COLO_SACK_MAX];
	bool stopped;		/* the walk ended before the last byte */
	/* every option but NOP and SACK, in order, as bytes */
	u8 other[MAX_TCP_OPTION_SPACE];
	unsigned int nother;
};

static void wire_parse(const u8 *p, unsigned int length, struct wire_opts *o)
{
	memset(o, 0, sizeof(*o));
	while (length > 0) {
		unsigned int opsize, i;
		u8 opcode = *p++;

		if (opcode == TCPOPT_EOL) {
			o->stopped = true;
			return;
		}
		if (opcode == TCPOPT_NOP) {
			length--;
			continue;
		}
		if (length < 2) {
			o->stopped = true;
			return;
		}
		opsize = *p++;
		if (opsize < 2 || opsize > length) {
			o->stopped = true;
			return;
		}
		if (opcode == TCPOPT_TIMESTAMP && opsize == TCPOLEN_TIMESTAMP) {
			o->ts = true;
			o->tsval = get_unaligned_be32(p);
			o->tsecr = get_unaligned_be32(p + 4);
		}
		if (opcode == TCPOPT_SACK &&
		    opsize >= TCPOLEN_SACK_BASE + TCPOLEN_SACK_PERBLOCK &&
		    !((opsize - TCPOLEN_SACK_BASE) % TCPOLEN_SACK_PERBLOCK)) {
			o->nsack = (opsize - TCPOLEN_SACK_BASE) /
				   TCPOLEN_SACK_PERBLOCK;
			for (i = 0; i < 2 * o->nsack && i < 2 * COLO_SACK_MAX;
			     i++)
				o->sack[i] = get_unaligned_be32(p + 4 * i);
		}
		if (opcode != TCPOPT_SACK) {
			o->other[o->nother++] = opcode;
			o->other[o->nother++] = (u8)opsize;
			memcpy(o->other + o->nother, p, opsize - 2);
			o->nother += opsize - 2;
		}
		p += opsize - 2;
		length -= opsize;
	}
}

/*
 * Lower @skb with @info and check the packet on the wire: lengths and
 * checksums valid, the ack lowered, the options parsing to @info's SACK
 * blocks (the first @nsack_min to @nsack of them) and to the expected
 * timestamps, the other
 * options of @in kept byte for byte (TSval and TSecr excepted). Frees
 * @skb. Returns the new option length.
 */
static unsigned int wire_lower(const char *what, struct sk_buff *skb,
			       const u8 *in, unsigned int inlen,
			       const struct colo_ack_info *info,
			       unsigned int nsack_min, unsigned int nsack,
			       u32 tsval, u32 tsecr)
{
	unsigned int nhlen = skb->protocol == htons(ETH_P_IPV6) ? 40 : 20;
	struct wire_opts want, seen;
	unsigned int tlen, optlen, i;
	struct tcphdr *th;
	__wsum pseudo;
	int err;

	err = colo_tcp_lower_ack(skb, info);
	if (err) {
		fail("%s: colo_tcp_lower_ack() returned %d", what, err);
		kfree_skb(skb);
		return 0;
	}
	expect_eq("linear after the rewrite", 0, skb->data_len);
	th = (struct tcphdr *)(skb->data + nhlen);
	tlen = skb->len - nhlen;
	optlen = th->doff * 4 - sizeof(*th);
	expect_eq("payload offset follows the header", skb->len,
		  COLO_CB(skb)->poff);
	expect_eq("option length a multiple of 4", 0, optlen % 4);
	expect_eq("ack lowered", COLO_CB(skb)->ack, ntohl(th->ack_seq));
	if (nhlen == 20) {
		struct iphdr *iph = (struct iphdr *)skb->data;

		expect_eq("IPv4 total length", skb->len, ntohs(iph->tot_len));
		expect_eq("IPv4 header checksum", 0,
			  csum_fold(csum_partial(iph, 20, 0)));
		pseudo = csum_tcpudp_nofold(iph->saddr, iph->daddr, tlen,
					    IPPROTO_TCP, 0);
	} else {
		struct ipv6hdr *ip6h = (struct ipv6hdr *)skb->data;

		expect_eq("IPv6 payload length", tlen,
			  ntohs(ip6h->payload_len));
		pseudo = ~csum_unfold(csum_ipv6_magic(&ip6h->saddr,
						      &ip6h->daddr, tlen,
						      IPPROTO_TCP, 0));
	}
	if (skb->ip_summed == CHECKSUM_PARTIAL) {
		/* what the offload does: fold the rest into the field */
		expect_eq("checksum start", nhlen,
			  skb->csum_start - (skb->data - skb->head));
		expect_eq("checksum offset", offsetof(struct tcphdr, check),
			  skb->csum_offset);
		expect_eq("pseudo-header sum in the field",
			  (u16)~csum_fold(pseudo), th->check);
		th->check = csum_fold(csum_partial(th, tlen, 0));
	}
	expect_eq("TCP checksum", 0,
		  csum_fold(csum_partial(th, tlen, pseudo)));

	wire_parse(in, inlen, &want);
	wire_parse((u8 *)(th + 1), optlen, &seen);
	expect_true("the options parse to their end", !seen.stopped);
	expect_eq("timestamp option", want.ts, seen.ts);
	expect_eq("TSval", tsval, seen.tsval);
	expect_eq("TSecr", tsecr, seen.tsecr);
	if (seen.nsack < nsack_min || seen.nsack > nsack)
		fail("SACK blocks: expected %u to %u, seen %u", nsack_min,
		     nsack, seen.nsack);
	for (i = 0; i < 2 * seen.nsack && i < 2 * COLO_SACK_MAX; i++)
		expect_eq("SACK edge", i % 2 ? info->blk[i / 2].end :
			  info->blk[i / 2].start, seen.sack[i]);
	/* the other options: the input's, timestamps as expected */
	if (want.ts) {
		for (i = 0; i + TCPOLEN_TIMESTAMP <= want.nother; ) {
			if (want.other[i] == TCPOPT_TIMESTAMP) {
				put_unaligned_be32(tsval, want.other + i + 2);
				put_unaligned_be32(tsecr, want.other + i + 6);
			}
			i += want.other[i + 1];
		}
	}
	expect_eq("other options' bytes", want.nother, seen.nother);
	expect_true("other options kept byte for byte",
		    want.nother == seen.nother &&
		    !memcmp(want.other, seen.other, want.nother));
	if (t_fail_now) {
		char hex[3 * MAX_TCP_OPTION_SPACE + 1] = "";

		for (i = 0; i < optlen; i++)
			sprintf(hex + 3 * i, "%02x ", ((u8 *)(th + 1))[i]);
		fail("%s: options on the wire: %s", what, hex);
	}
	kfree_skb(skb);
	return optlen;
}

/* Linux's layout: NOP NOP TS, then NOP NOP SACK when it has blocks. */
static unsigned int linux_opts(u8 *o, u32 tsval, u32 tsecr, unsigned int n,
			       u32 first)
{
	unsigned int k = 0, i;

	o[k++] = TCPOPT_NOP;
	o[k++] = TCPOPT_NOP;
	o[k++] = TCPOPT_TIMESTAMP;
	o[k++] = TCPOLEN_TIMESTAMP;
	put_unaligned_be32(tsval, o + k);
	put_unaligned_be32(tsecr, o + k + 4);
	k += 8;
	if (n) {
		o[k++] = TCPOPT_NOP;
		o[k++] = TCPOPT_NOP;
		o[k++] = TCPOPT_SACK;
		o[k++] = (u8)(TCPOLEN_SACK_BASE + n * TCPOLEN_SACK_PERBLOCK);
		for (i = 0; i < 2 * n; i++, k += 4)
			put_unaligned_be32(first + 1000 * i, o + k);
	}
	return k;
}

/*
 * The primary's SACK option goes from a lowered ack: only the NOP options
 * before it may go with it. Timestamp values whose bytes are 0x01 (a NOP's
 * value) must stay whole, or the option no longer parses (or the client
 * reads the SACK option's bytes as timestamps): about one lowered ack in
 * 256 carries a TSecr ending in 0x01.
 */
static void t_tcp_lowered_ack_option_bytes(void)
{
	static const u32 vals[] = {
		0x12345601, 0x12010101, 0x01010101, 0x00000101, 0x00000001,
		0x01000000, 0x80000001, 0x0101017f,
	};
	struct colo_ack_info info = {
		.n = 2, .ts = true, .ecr = 0x01010101,
		.blk = { { 0x01010101, 0x01010201 },
			 { 0x01010301, 0x01010401 } },
	};
	u8 o[MAX_TCP_OPTION_SPACE];
	unsigned int a, b, v6, n, len, out;
	char what[128];

	for (v6 = 0; v6 < 2; v6++)
		for (a = 0; a < ARRAY_SIZE(vals); a++)
			for (b = 0; b < ARRAY_SIZE(vals); b++)
				for (n = 0; n <= 3; n++) {
					u32 tsval = vals[a], tsecr = vals[b];
					struct colo_ack_info in = info;
					struct sk_buff *skb;

					snprintf(what, sizeof(what),
						 "%s TSval %#x TSecr %#x, %u primary SACK blocks",
						 v6 ? "ipv6" : "ipv4", tsval,
						 tsecr, n);
					len = linux_opts(o, tsval, tsecr, n,
							 0x01010101);
					/* the secondary's echo: as the TSecr */
					in.ecr = tsecr;
					/* and a raised TSval */
					skb = wire_ack(v6, o, len, 0x01000001,
						       true, tsval + 0x100);
					out = wire_lower(what, skb, o, len, &in,
							 2, 2, tsval + 0x100,
							 tsecr);
					/* 12 + 4 + 16: grows to 32 */
					expect_eq(what, max(len, 32u), out);
					if (t_fail_now)
						return;
				}

	/* no blocks to carry: the primary's go, the TS stays */
	for (b = 0; b < ARRAY_SIZE(vals); b++) {
		struct colo_ack_info in = { .ts = true, .ecr = vals[b] };

		snprintf(what, sizeof(what), "no blocks, TSecr %#x", vals[b]);
		len = linux_opts(o, 7, vals[b], 1, 0x01010101);
		out = wire_lower(what, wire_ack(false, o, len, 1, false, 0),
				 o, len, &in, 0, 0, 7, vals[b]);
		expect_eq(what, len, out);
	}

	/* four blocks: three fit beside the timestamps (40 bytes) */
	info.n = 4;
	info.blk[2].start = 0x01010501;
	info.blk[2].end = 0x01010601;
	info.blk[3].start = 0x01010701;
	info.blk[3].end = 0x01010801;
	len = linux_opts(o, 0x01010101, 0x01010101, 1, 5);
	out = wire_lower("four blocks offered",
			 wire_ack(false, o, len, 1, true, 0x01010101),
			 o, len, &info, 3, 3, 0x01010101, 0x01010101);
	expect_eq("four blocks offered: header at its maximum", 40, out);
}

/*
 * Random option layouts (NOP, timestamps, SACK, unknown options, their
 * bytes often 0x01) through a lowered ack: whatever the layout, only the
 * SACK options and NOP options go, every other option stays byte for
 * byte, the timestamps carry the expected values and the new SACK
 * blocks parse.
 */
static void t_tcp_lowered_ack_random_options(void)
{
	unsigned int iter;

	rng_state = 0x5eed0001;
	for (iter = 0; iter < 4000 && !t_fail_now; iter++) {
		struct colo_ack_info info = {};
		u8 o[MAX_TCP_OPTION_SPACE];
		unsigned int k = 0, i, kept = 0, nops = 0, ts_at = 0;
		unsigned int nmin, nmax;
		bool ts = false, v6 = rnd() & 1;
		u32 tsval = 0, tsecr = 0;
		char what[64];

		while (k < MAX_TCP_OPTION_SPACE) {
			unsigned int kind = rnd() % 5, size, left;

			left = MAX_TCP_OPTION_SPACE - k;
			if (kind == 0 || left < 4) {
				o[k++] = TCPOPT_NOP;
				nops++;
				continue;
			}
			if (kind == 1 && !ts && left >= TCPOLEN_TIMESTAMP) {
				ts = true;
				ts_at = k;
				o[k++] = TCPOPT_TIMESTAMP;
				o[k++] = TCPOLEN_TIMESTAMP;
				for (i = 0; i < 8; i++)
					o[k++] = rnd() % 3 ? 0x01 : (u8)rnd();
				kept += TCPOLEN_TIMESTAMP;
				continue;
			}
			if (kind == 2 && left >= 10) {
				size = TCPOLEN_SACK_BASE + TCPOLEN_SACK_PERBLOCK *
				       (1 + rnd() % ((left - 2) / 8));
				o[k++] = TCPOPT_SACK;
				o[k++] = (u8)size;
				for (i = 2; i < size; i++)
					o[k++] = rnd() % 3 ? 0x01 : (u8)rnd();
				continue;
			}
			if (kind == 4 && rnd() % 4)
				break;	/* end: NOPs pad below */
			/* an option nobody here knows (kind 30, MPTCP) */
			size = 2 + rnd() % (min(left, 8u) - 1);
			o[k++] = 30;
			o[k++] = (u8)size;
			for (i = 2; i < size; i++)
				o[k++] = rnd() % 3 ? 0x01 : (u8)rnd();
			kept += size;
		}
		while (k % 4) {
			o[k++] = TCPOPT_NOP;
			nops++;
		}
		if (ts) {
			tsval = get_unaligned_be32(o + ts_at + 2);
			tsecr = get_unaligned_be32(o + ts_at + 6);
		}
		info.n = rnd() % (COLO_SACK_MAX + 1);
		for (i = 0; i < info.n; i++) {
			info.blk[i].start = rnd() % 2 ? 0x01010101 * i : rnd();
			info.blk[i].end = info.blk[i].start + 0x101;
		}
		info.ts = ts && rnd() % 2;
		info.ecr = rnd() % 2 ? 0x01010101 : rnd();
		/*
		 * the blocks that fit: after the kept options (and at most
		 * every NOP), NOP NOP SACK, rounded up; a pure ack's header
		 * grows to 60 bytes
		 */
		for (nmax = info.n; nmax; nmax--)
			if (round_up(kept + TCPOLEN_SACK_BASE_ALIGNED +
				     nmax * TCPOLEN_SACK_PERBLOCK, 4u) <=
			    MAX_TCP_OPTION_SPACE)
				break;
		for (nmin = info.n; nmin; nmin--)
			if (round_up(kept + nops + TCPOLEN_SACK_BASE_ALIGNED +
				     nmin * TCPOLEN_SACK_PERBLOCK, 4u) <=
			    MAX_TCP_OPTION_SPACE)
				break;
		snprintf(what, sizeof(what), "random layout %u", iter);
		wire_lower(what, wire_ack(v6, o, k, rnd(), ts, tsval + 1),
			   o, k, &info, nmin, nmax, ts ? tsval + 1 : 0,
			   info.ts ? info.ecr : tsecr);
	}
}

/* ------------------------------------------------------------------ */
/* ------------------------------------------------------------------ */

struct test {
	const char *name;
	void (*fn)(void);
};

static const struct test tests[] = {
	{ "tcp: a lowered ack loses the primary's SACK option and its NOPs, no timestamp byte that looks like one",
	  t_tcp_lowered_ack_option_bytes },
	{ "tcp: lowered acks of random option layouts keep every other option byte for byte",
	  t_tcp_lowered_ack_random_options },
};

static const char *const mode_names[] = {
	"linear headers",
	"TCP header ending in the fragment",
};

int main(void)
{
	unsigned int i, ntests = ARRAY_SIZE(tests);

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n1..%u\n", ntests * 2);
	for (t_mode = 0; t_mode < 2; t_mode++) {
		for (i = 0; i < ntests; i++) {
			t_fail_now = 0;
			tests[i].fn();
			t_num++;
			printf("%s %d - %s (%s)\n", t_fail_now ? "not ok" : "ok",
			       t_num, tests[i].name, mode_names[t_mode]);
			if (t_fail_now)
				t_failed++;
			else
				t_passed++;
		}
	}
	printf("%d passed, %d failed\n", t_passed, t_failed);
	return t_failed ? 1 : 0;
}
