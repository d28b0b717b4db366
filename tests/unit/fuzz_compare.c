// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for the comparison engine (kernel/compare.c), driven
 * through harness.c the way target.c drives it.
 *
 * The input is decoded into a flow and a sequence of primary/secondary
 * packets and checkpoints. Two kinds of run, chosen by the first byte:
 *
 *  model  Each guest sends windows of its own byte stream (the secondary's
 *         equal to the primary's except where the input mutates it), with
 *         SYN/FIN/RST, acks of a client stream, in any order, with
 *         retransmissions, overlaps, holes, GSO-sized segments, and the
 *         sequence spaces of issue 3 (own ISNs, the rewriter's, mid-stream,
 *         near 2^32). Or datagrams (UDP/ICMP) with lag, loss and changes.
 *         Every primary packet that leaves is checked against the model:
 *           - the COLO guarantee: every unit (SYN, data byte, FIN) it
 *             carries was produced identically by the secondary at the
 *             same stream position (since the last checkpoint); a RST only
 *             where the secondary reset; a datagram only paired with an
 *             identical secondary one, first in first out;
 *           - the ack rule: its ack is not ahead of the secondary's acks;
 *           - in order: a packet released after comparison leaves only when
 *             everything before it in the primary's stream has left.
 *  raw    Arbitrary sequence numbers, acks, flags, lengths and bytes, and
 *         allocations of the flow's packet queues that fail: the engine
 *         must not crash or misbehave (ASan, UBSan, the shim's kernel-API
 *         checks).
 *
 * Both check after every step that each packet is in exactly one place
 * (queued, released, passed, dropped, compared), that nothing leaves twice,
 * and that the queues' byte counters equal what they hold (harness.c).
 * The model sends what guests and links can: a guest's SYN first, nothing
 * from the secondary before the primary's SYN (COLO_FUZZ_ANY_ORDER=1 lifts
 * that), and it avoids the packet orders of known engine bugs
 * (README.md) unless COLO_FUZZ_KNOWN=1. A violation prints the decoded
 * steps and aborts; COLO_FUZZ_TRACE=1 prints them as they run.
 *
 * With -DFUZZ_REPLAY this builds as a plain program running the files
 * named on its command line (make replay).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"

#define PRI	COLO_PRI
#define SEC	COLO_SEC

#define MAX_OPS		3000
#define MAX_DATA	70000		/* stream bytes per side */
#define MAX_UNITS	(MAX_DATA + 16)	/* SYN + data + FIN, and slack */
#define MAX_DGRAMS	512
#define GSO_LEN		65000

static bool trace, any_order, known_rebase, known_isn;

/* ------------------------------------------------------------------ */
/* Input */

struct rd {
	const u8 *p;
	size_t n;
};

static u8 rd8(struct rd *r)
{
	if (!r->n)
		return 0;
	r->n--;
	return *r->p++;
}

static u16 rd16(struct rd *r)
{
	u16 v = rd8(r);

	return (u16)(v << 8 | rd8(r));
}

static u32 rd32(struct rd *r)
{
	u32 v = rd16(r);

	return v << 16 | rd16(r);
}

/* ------------------------------------------------------------------ */
/* Reporting */

#define LOG_MAX 200
static char logbuf[LOG_MAX][160];
static unsigned int nlog;

static void __attribute__((format(printf, 1, 2))) note(const char *fmt, ...)
{
	char *line = logbuf[nlog % LOG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(logbuf[0]), fmt, ap);
	va_end(ap);
	nlog++;
	if (trace)
		fprintf(stderr, "  %s\n", line);
}

static void __attribute__((format(printf, 1, 2), noreturn))
violation(const char *fmt, ...)
{
	unsigned int i = nlog > LOG_MAX ? nlog - LOG_MAX : 0;
	va_list ap;

	if (!trace) {
		fprintf(stderr, "steps%s:\n", i ? " (last ones)" : "");
		for (; i < nlog; i++)
			fprintf(stderr, "  %s\n", logbuf[i % LOG_MAX]);
	}
	fprintf(stderr, "INVARIANT VIOLATED: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

static const char *flag_str(u8 f)
{
	static char b[16];
	char *p = b;

	if (f & TCPHDR_SYN)
		*p++ = 'S';
	if (f & TCPHDR_FIN)
		*p++ = 'F';
	if (f & TCPHDR_RST)
		*p++ = 'R';
	if (f & TCPHDR_PSH)
		*p++ = 'P';
	if (f & TCPHDR_ACK)
		*p++ = '.';
	if (p == b)
		*p++ = '-';
	*p = 0;
	return b;
}

/* ------------------------------------------------------------------ */
/* The model */

static struct world W;

enum { RUN_TCP, RUN_DGRAM, RUN_RAW_TCP, RUN_RAW_DGRAM };

/* skb->shim_tag[] of a modelled packet */
enum {
	TAG_MODEL,	/* 1: modelled */
	TAG_U0,		/* TCP: first unit; datagram: index */
	TAG_NUNITS,	/* TCP: units carried (SYN, data, FIN) */
	TAG_ACK,	/* ack offset + 1, 0: no ACK flag */
	TAG_RST,	/* 1: RST */
	TAG_RANK,	/* datagram: rank among the secondary's since reset */
};

struct mside {
	u32 syn_seq;		/* sequence number on the SYN */
	u32 dseq0;		/* sequence number of unit 0 for the rest */
	u32 len;		/* data bytes in the stream */
	u32 cursor;		/* next data offset sent in order */
	u32 ack_off;		/* client bytes acked */
	bool fin_sent;		/* later pure acks and RSTs follow the FIN */
	bool syn_sent;		/* or lost */
	bool syn_wire;		/* sent, not lost */
	bool rst_sent;		/* since the last checkpoint: then only RSTs */
	bool data_sent;		/* anything but a SYN sent (or lost) */
	u8 *stream;
};

static struct {
	int run;
	bool hs;		/* streams start with a SYN */
	bool shared;		/* the engine will use one base for both */
	bool sec_loss;		/* the secondary's segments may skip ahead */
	bool settled[2];	/* the side sent a non-SYN since the reset */
	bool sec_first;		/* in a shared space, before the primary */
	u32 sec_first_u;
	u8 proto;
	u32 client;		/* client sequence number of ack offset 0 */
	struct mside s[2];
	u32 span;		/* units (and stream bytes) in use */

	/* oracle, since the last checkpoint unless said otherwise */
	bool sec_rst_any, pri_rst_any;
	u32 sec_rst_last, pri_rst_last;	/* where each side reset last */
	bool ckpt;			/* a checkpoint came (all time) */
	bool sec_rst_reply;		/* the secondary's last RST had no
					 * ACK, after a checkpoint: the
					 * engine forgets it if the primary
					 * goes on past it first
					 * (compare.c, sec_rst_reply)
					 */
	u32 nfull_reset;		/* W.nfull at the last checkpoint */
	u32 ckpt_u;			/* units the primary produced before
					 * the last checkpoint: the secondary
					 * has them from the checkpoint
					 */
	bool sec_ack_seen;		/* all time */
	bool sec_ack_reset;		/* since the last checkpoint */
	u32 sec_max_ack_reset;
	u32 sec_max_ack;		/* all time, offset */
	/* SACK: every block the secondary reported (client offsets) */
	u32 sec_sack[256][2];
	unsigned int n_sec_sack;
	u32 pri_max_ack;		/* all time, offset */
	bool pri_ack_seen;
	u32 sec_ecr_next;		/* the secondary's acks echo 1, 2... */
	u32 pri_ts;			/* the primary's TSval clock */
	u32 ts_out_max;			/* highest TSval of a pure ack out */
	bool ts_out_any;
	/* blocks for the next packet tcp_model_send() sends */
	u32 next_sack[8];
	u8 next_nsack;
	bool base_known;
	u32 base_u;			/* first unit the primary sent: the
					 * engine's base (a SYN, or in a
					 * shared space its first segment)
					 */
	u32 sec_hi;			/* secondary units < sec_hi may have
					 * been emitted (all time)
					 */

	/* datagrams */
	u32 dlen[MAX_DGRAMS];
	bool dlen_set[MAX_DGRAMS];
	u8 dmut[MAX_DGRAMS];		/* secondary: 0 same, 1 length+1,
					 * 2 a byte, 3 type/code, 4 checksum
					 */
	u32 dnext[2];			/* next datagram index per side */
	u32 d_sec_rank[MAX_DGRAMS * 4];	/* secondary datagram index by rank
					 * since reset
					 */
	u32 d_sec_n;			/* secondary datagrams since reset */
	u32 d_pri_n;			/* primary datagrams left since reset */
	u32 d_last_out;
	bool d_any_out;

	/* big ones last: cleared only as far as M.span */
	u8 P[MAX_DATA + 16], S[MAX_DATA + 16];
	u8 sec_emit[MAX_UNITS];		/* 1: the secondary sent this unit */
	u8 sec_rst[MAX_UNITS];		/* 1: the secondary reset here */
	u8 pri_emit[MAX_UNITS];		/* 1: the engine took this primary
					 * unit (queued or passed)
					 */
	u8 pri_out[MAX_UNITS];		/* 1: a primary packet carrying it
					 * left (all time)
					 */
} M;

/* Units: SYN at 0 (with a handshake), data offset d at d + hs, FIN after. */
static u32 unit_of_data(u32 d)
{
	return d + (M.hs ? 1 : 0);
}

/* Value of unit @u on @side: a data byte, or 0x100 SYN, 0x200 FIN. */
static int unit_val(int side, u32 u)
{
	const struct mside *s = &M.s[side];
	u32 d;

	if (M.hs && u == 0)
		return 0x100;
	d = u - (M.hs ? 1 : 0);
	if (d < s->len)
		return (side == PRI ? M.P : M.S)[d];
	if (d == s->len)
		return 0x200;
	return -1;		/* nothing there */
}

static void fill_stream(u8 *buf, u32 n, u8 mode, u32 seed)
{
	u32 x = seed | 1, i;

	for (i = 0; i < n; i++) {
		switch (mode & 3) {
		case 0:
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			buf[i] = (u8)x;
			break;
		case 1:
			buf[i] = 0;
			break;
		default:	/* periodic: matches at the wrong offset */
			buf[i] = (u8)(i % (1 + (mode >> 2) % 16));
			break;
		}
	}
}

/* ------------------------------------------------------------------ */
/* Packets */

static struct skb_shape shape_from(struct rd *r, int side, u32 len)
{
	u8 b = rd8(r);
	struct skb_shape sh = {
		.hdrlen = 20 + (b & 7) * 4 + (side == SEC ? 12 : 0),
		.pad = (b >> 3) & 7,
		.fill = (u8)(side * 0x55 + b),
	};

	if (b & 0x40)	/* non-linear: split somewhere in the payload */
		sh.linear = sh.hdrlen + rd16(r) % (len + 1);
	return sh;
}

/* ------------------------------------------------------------------ */
/* Oracle */

static void check_world_now(void)
{
	if (W.err[0])
		violation("bookkeeping: %s", W.err);
}

/*
 * A lowered ack's SACK blocks tell the client what both guests hold: each
 * above the lowered ack @low, inside what the primary acked and inside a
 * block the secondary reported. Its timestamp echo is one of the
 * secondary's.
 */
static void oracle_sack(const struct sk_buff *skb, u32 low)
{
	unsigned int i, j;

	if (skb->shim_nsack > COLO_SACK_MAX)
		violation("lowered ack #%llu: %u SACK blocks",
			  (unsigned long long)skb->shim_id, skb->shim_nsack);
	if (!skb->shim_ts || !skb->shim_ecr ||
	    skb->shim_ecr > M.sec_ecr_next)
		violation("lowered ack #%llu: timestamp echo %s%u, the secondary's acks echoed 1..%u",
			  (unsigned long long)skb->shim_id,
			  skb->shim_ts ? "" : "none, ", skb->shim_ecr,
			  M.sec_ecr_next);
	for (i = 0; i < skb->shim_nsack; i++) {
		u32 s = skb->shim_sack[2 * i] - M.client;
		u32 e = skb->shim_sack[2 * i + 1] - M.client;
		bool inside = false;

		for (j = 0; j < M.n_sec_sack && !inside; j++)
			inside = s >= M.sec_sack[j][0] &&
				 e <= M.sec_sack[j][1];
		if (s <= low || e <= s || !M.pri_ack_seen ||
		    e > M.pri_max_ack || (!inside && M.n_sec_sack < 256))
			violation("lowered ack #%llu to client offset %u: SACK block [%u, %u) %s",
				  (unsigned long long)skb->shim_id, low, s, e,
				  s <= low || e <= s ? "not above the ack" :
				  !M.pri_ack_seen || e > M.pri_max_ack ?
				  "past what the primary acked" :
				  "not reported by the secondary");
	}
}

static void oracle_tcp(struct sk_buff *skb)
{
	const u32 *tag = skb->shim_tag;
	u32 u0 = tag[TAG_U0], n = tag[TAG_NUNITS], u;
	bool after_div = W.ndiv > 0;

	if (!tag[TAG_MODEL])
		return;
	/* partial copies and what is left of their segment (no SYN) */
	if (skb->shim_piece) {
		u0 += skb->shim_from;
		n = skb->shim_to - skb->shim_from;
	} else if (skb->shim_from) {
		u0 += skb->shim_from;
		n -= skb->shim_from;
	}
	/* PAWS: a lowered ack's TSval is not below one the client has */
	if (COLO_CB(skb)->ts && !COLO_CB(skb)->len) {
		u32 ts = COLO_CB(skb)->tsval;

		if (COLO_CB(skb)->ack_lowered && M.ts_out_any &&
		    (s32)(ts - M.ts_out_max) < 0)
			violation("PAWS: lowered ack #%llu with TSval %u after a pure ack with %u left",
				  (unsigned long long)skb->shim_id, ts,
				  M.ts_out_max);
		if (!M.ts_out_any || (s32)(ts - M.ts_out_max) > 0)
			M.ts_out_max = ts;
		M.ts_out_any = true;
	}
	if (skb->shim_state == SKB_FLUSHED)
		goto mark;	/* a checkpoint releases everything */
	if (skb->shim_state == SKB_DUPLICATE) {
		/* freed: what it carries left just before it */
		for (u = u0; u < u0 + n && u < MAX_UNITS; u++)
			if (!M.pri_out[u])
				violation("lost: primary packet #%llu (units %u..%u) freed as a duplicate, unit %u never left",
					  (unsigned long long)skb->shim_id,
					  u0, u0 + n - 1, u);
		return;
	}

	/* the ack rule */
	if (tag[TAG_ACK]) {
		u32 ack = tag[TAG_ACK] - 1;

		if (COLO_CB(skb)->ack_lowered) {
			u32 low = COLO_CB(skb)->ack - M.client;

			if (low >= ack)
				violation("lowered ack: primary packet #%llu acks client offset %u, lowered to %u",
					  (unsigned long long)skb->shim_id,
					  ack, low);
			ack = low;
		}

		if (COLO_CB(skb)->ack_lowered)
			oracle_sack(skb, ack);

		if (!M.sec_ack_seen || ack > M.sec_max_ack)
			violation("ack rule: primary packet #%llu (%s) acks client offset %u, the secondary acked %s%u",
				  (unsigned long long)skb->shim_id,
				  skb_state_name(skb->shim_state), ack,
				  M.sec_ack_seen ? "" : "nothing, ",
				  M.sec_max_ack);
	}
	/* RST only where the secondary reset */
	if (tag[TAG_RST] && !M.sec_rst[u0])
		violation("COLO guarantee: primary RST #%llu at unit %u released, the secondary did not reset there",
			  (unsigned long long)skb->shim_id, u0);
	/*
	 * Every unit produced identically by the secondary, the first time it
	 * leaves: a retransmission of released data may go at once.
	 */
	for (u = u0; u < u0 + n; u++) {
		if (M.pri_out[u] || u < M.ckpt_u)
			continue;
		if (!M.sec_emit[u] || unit_val(SEC, u) != unit_val(PRI, u))
			violation("COLO guarantee%s: primary packet #%llu (%s, units %u..%u) released, unit %u (%s 0x%x) %s",
				  after_div ? " (after a divergence)" : "",
				  (unsigned long long)skb->shim_id,
				  skb_state_name(skb->shim_state), u0,
				  u0 + n - 1, u,
				  M.hs && !u ? "SYN" : "data/FIN",
				  unit_val(PRI, u),
				  !M.sec_emit[u] ?
				  "was never sent by the secondary (since the checkpoint)" :
				  "differs on the secondary");
	}
	/* in order: everything before it in the stream has left */
	if (skb->shim_state == SKB_RELEASED && n && M.base_known) {
		/* what came before the checkpoint may be gone already */
		for (u = M.base_u > M.ckpt_u ? M.base_u : M.ckpt_u; u < u0;
		     u++)
			if (!M.pri_out[u])
				violation("order: primary packet #%llu (units %u..%u) released before unit %u left",
					  (unsigned long long)skb->shim_id,
					  u0, u0 + n - 1, u);
	}
mark:
	for (u = u0; u < u0 + n && u < MAX_UNITS; u++)
		M.pri_out[u] = 1;
}

static void dgram_payload(u8 *buf, u32 i, u32 len, int side);

static u32 dgram_len(int side, u32 i)
{
	return M.dlen[i] + (side == SEC && M.dmut[i] == 1);
}

/* Does the primary's datagram @i equal the secondary's datagram @j? */
static bool dgram_equal(u32 i, u32 j)
{
	static u8 a[2048], b[2048];
	bool icmp = M.proto == IPPROTO_ICMP || M.proto == IPPROTO_ICMPV6;
	u32 len = dgram_len(PRI, i);

	if (len != dgram_len(SEC, j))
		return false;
	dgram_payload(a, i, len, PRI);
	dgram_payload(b, j, len, SEC);
	if (icmp)
		return !memcmp(a, b, 2) && !memcmp(a + 4, b + 4, len - 4);
	return !memcmp(a, b, len);
}

static void oracle_dgram(struct sk_buff *skb)
{
	const u32 *tag = skb->shim_tag;
	u32 i = tag[TAG_U0], rank, j;

	if (!tag[TAG_MODEL])
		return;
	if (skb->shim_state == SKB_FLUSHED)
		return;
	if (M.d_any_out && i <= M.d_last_out)
		violation("order: primary datagram %u left after %u", i,
			  M.d_last_out);
	M.d_any_out = true;
	M.d_last_out = i;
	/* first in, first out: the k-th since the checkpoint on each side */
	rank = M.d_pri_n++;
	if (rank >= M.d_sec_n)
		violation("COLO guarantee: primary datagram %u released as number %u since the checkpoint, the secondary sent %u",
			  i, rank, M.d_sec_n);
	j = M.d_sec_rank[rank];
	if (!dgram_equal(i, j))
		violation("COLO guarantee: primary datagram %u released, paired with a different secondary datagram %u (change %u)",
			  i, j, M.dmut[j]);
}

static void on_release(struct world *w, struct sk_buff *skb)
{
	(void)w;
	note("    -> primary #%llu %s", (unsigned long long)skb->shim_id,
	     skb_state_name(skb->shim_state));
	if (M.run == RUN_TCP)
		oracle_tcp(skb);
	else if (M.run == RUN_DGRAM)
		oracle_dgram(skb);
}

static void after_step(const struct drv_result *r)
{
	if (r->v.reason)
		note("    divergence %s%s%llu", reason_name(r->v.reason),
		     r->v.has_off ? " at " : "",
		     r->v.has_off ? (unsigned long long)r->v.off : 0ULL);
	if (r->queue_full)
		note("    queue full");
	check_world_now();
}

static void checkpoint(void)
{
	note("checkpoint");
	if (M.run == RUN_TCP) {
		u32 u = unit_of_data(M.s[PRI].cursor) + M.s[PRI].fin_sent;

		if (u > M.ckpt_u)
			M.ckpt_u = u;
	}
	world_checkpoint(&W);
	check_world_now();
	memset(M.sec_emit, 0, M.span);
	memset(M.sec_rst, 0, M.span);
	memset(M.pri_emit, 0, M.span);
	M.sec_rst_any = M.pri_rst_any = false;
	M.ckpt = true;
	M.sec_rst_reply = false;
	M.sec_ack_reset = false;
	M.nfull_reset = W.nfull;
	M.base_known = false;
	M.settled[PRI] = M.settled[SEC] = false;
	M.sec_first = false;
	M.shared = true;
	W.ndiv = 0;
	/* the secondary is now a copy of the primary */
	M.s[SEC].syn_seq = M.s[PRI].syn_seq;
	M.s[SEC].dseq0 = M.s[PRI].dseq0;
	M.s[SEC].len = M.s[PRI].len;
	M.s[SEC].cursor = M.s[PRI].cursor;
	M.s[SEC].fin_sent = M.s[PRI].fin_sent;
	M.s[PRI].syn_sent = M.s[SEC].syn_sent = true;
	M.s[PRI].rst_sent = M.s[SEC].rst_sent = false;
	M.s[PRI].data_sent = M.s[SEC].data_sent = true;
	memcpy(M.S, M.P, M.span);
	M.sec_hi = 0;
	M.dnext[SEC] = M.dnext[PRI];
	M.d_sec_n = 0;
	M.d_pri_n = 0;
}

/* ------------------------------------------------------------------ */
/* TCP, modelled */

/*
 * Known engine bugs (README.md), avoided unless COLO_FUZZ_KNOWN is 1 (or
 * "all") or names them ("rebase", "isn"):
 * - in a shared space the primary's first segment moves the base under
 *   what the secondary sent before it: its RST position and extent keep
 *   the old base, and its segments before the old base were dropped;
 * - (a documented limit, not a bug) the secondary's base after its SYN:
 *   with ISNs close together the engine takes the primary's space (a
 *   memory copy of the primary means COLO with the rewriter); a secondary
 *   in its own space with close ISNs whose first non-SYN segment is not
 *   the first one (loss) is compared from the wrong base. Without the
 *   rewriter such a secondary cannot complete a handshake anyway.
 */
static bool known_bug_avoided(int side, u32 u0, u32 n, bool syn, bool rst)
{
	bool sec_first_now = side == SEC && M.shared && !M.settled[PRI];

	if (syn)
		return false;
	if (!known_isn && side == SEC && M.hs && !M.shared &&
	    !M.settled[SEC] && M.s[SEC].syn_wire &&
	    M.s[SEC].syn_seq != M.s[PRI].syn_seq) {
		/* which base the engine picks, and which is right */
		u32 seq = M.s[SEC].dseq0 + u0;
		/* colo_tcp_primary_space() */
		u32 own = seq - M.s[SEC].syn_seq, pri = seq - M.s[PRI].syn_seq;
		s32 gap = M.s[PRI].syn_seq - M.s[SEC].syn_seq;
		bool pick_pri = own == 1 ? false : pri == 1 ? true :
				(gap < (1 << 20) && gap > -(1 << 20)) ? true :
				pri < own;
		bool in_pri = M.s[SEC].dseq0 == M.s[PRI].dseq0;

		if (pick_pri != in_pri)
			return true;
	}
	if (known_rebase)
		return false;
	if (rst && (M.sec_first || sec_first_now))
		return true;
	if (side == SEC && M.sec_first && !M.settled[PRI] &&
	    u0 + n <= M.sec_first_u)
		return true;
	return false;
}

static bool tcp_model_send(struct rd *r, int side, u32 u0, u32 len, bool syn,
			   bool fin, bool rst, bool ack)
{
	struct mside *s = &M.s[side];
	u32 d0 = syn ? 0 : u0 - (M.hs ? 1 : 0);
	u32 seq = syn ? s->syn_seq : s->dseq0 + u0;
	u32 ackv = M.client + s->ack_off;
	u8 flags = (syn ? TCPHDR_SYN : 0) | (fin ? TCPHDR_FIN : 0) |
		   (rst ? TCPHDR_RST : 0) | (ack ? TCPHDR_ACK : 0) |
		   (len ? TCPHDR_PSH : 0);
	struct skb_shape sh = shape_from(r, side, len);
	const u8 *data = (side == PRI ? M.P : M.S) + d0;
	struct sk_buff *skb = skb_build(&sh, data, len);
	u32 n = (syn ? 1 : 0) + len + (fin ? 1 : 0), u;
	struct drv_result res;

	if (known_bug_avoided(side, u0, n, syn, rst)) {
		skb_free(skb);
		return false;
	}
	if (syn)
		s->syn_wire = true;

	tcp_cb_set(skb, seq, ack ? ackv : 0, flags);
	if (side == SEC && ack && M.next_nsack) {
		for (u = 0; u < 2 * M.next_nsack; u++)
			skb->shim_sack[u] = M.client + M.next_sack[u];
		skb->shim_nsack = M.next_nsack;
		for (u = 0; u < M.next_nsack && M.n_sec_sack < 256; u++) {
			M.sec_sack[M.n_sec_sack][0] = M.next_sack[2 * u];
			M.sec_sack[M.n_sec_sack][1] = M.next_sack[2 * u + 1];
			M.n_sec_sack++;
		}
		note("  SACK %u blocks, first [%u, %u)", M.next_nsack,
		     M.next_sack[0], M.next_sack[1]);
	}
	M.next_nsack = 0;
	if (side == SEC && ack) {
		skb->shim_ts = 1;
		skb->shim_ecr = ++M.sec_ecr_next;
	}
	if (side == PRI && ack && !len && !syn && !fin && !rst) {
		/* a pure ack's TSval; acks reach the host out of order */
		M.pri_ts += 1 + rd8(r) % 4;
		COLO_CB(skb)->ts = 1;
		COLO_CB(skb)->tsval = 1000 + M.pri_ts - rd8(r) % 3;
	}
	if (side == PRI && ack &&
	    (!M.pri_ack_seen || s->ack_off > M.pri_max_ack)) {
		M.pri_max_ack = s->ack_off;
		M.pri_ack_seen = true;
	}
	skb->shim_tag[TAG_MODEL] = 1;
	skb->shim_tag[TAG_U0] = u0;
	skb->shim_tag[TAG_NUNITS] = rst ? 0 : n;
	skb->shim_tag[TAG_ACK] = ack ? s->ack_off + 1 : 0;
	skb->shim_tag[TAG_RST] = rst;
	note("%s #%llu seq %u (unit %u) len %u %s ack %u (offset %u)%s",
	     side == PRI ? "P" : "S", (unsigned long long)W.nsent[side], seq,
	     u0, len, flag_str(flags), ack ? ackv : 0, s->ack_off,
	     sh.linear ? " non-linear" : "");

	if (!M.base_known && side == PRI) {
		M.base_known = true;
		M.base_u = u0;
	}
	if (!syn) {
		if (side == SEC && M.shared && !M.settled[PRI] &&
		    !M.sec_first) {
			M.sec_first = true;
			M.sec_first_u = u0;
		}
		M.settled[side] = true;
	}
	if (side == SEC) {
		/* what the secondary produced: the engine may use it now */
		if (ack && (!M.sec_ack_seen || s->ack_off > M.sec_max_ack)) {
			M.sec_max_ack = s->ack_off;
			M.sec_ack_seen = true;
		}
		if (ack && (!M.sec_ack_reset ||
			    s->ack_off > M.sec_max_ack_reset)) {
			M.sec_max_ack_reset = s->ack_off;
			M.sec_ack_reset = true;
		}
		if (rst) {
			M.sec_rst[u0] = 1;
			M.sec_rst_any = true;
			M.sec_rst_last = u0;
			M.sec_rst_reply = M.ckpt && !ack;
		} else {
			for (u = u0; u < u0 + n && u < MAX_UNITS; u++)
				M.sec_emit[u] = 1;
		}
		if (u0 + n > M.sec_hi)
			M.sec_hi = u0 + n;
		res = world_sec(&W, skb);
	} else {
		res = world_pri(&W, skb);
		if (res.fate == DRV_HELD || res.fate == DRV_PASSED) {
			if (rst) {
				M.pri_rst_any = true;
				M.pri_rst_last = u0;
			} else {
				for (u = u0; u < u0 + n && u < MAX_UNITS; u++)
					M.pri_emit[u] = 1;
			}
		}
	}
	after_step(&res);
	return true;
}

static u32 pick_len(struct rd *r, u32 room)
{
	u8 b = rd8(r);
	u32 len;

	if (b == 0xff)
		len = GSO_LEN;
	else if (b & 0x80)
		len = (b & 0x7f) * 97 + rd8(r);
	else
		len = b;
	return len < room ? len : room;
}

static void tcp_model_op(struct rd *r)
{
	u8 op = rd8(r);
	int side = op & 1;
	struct mside *s = &M.s[side];
	bool ack = !(op & 0x80), fin;
	u32 room, len, d, u;
	int kind = (op >> 1) & 7;

	/*
	 * A guest sends its SYN before anything else and only retransmits it
	 * before sending anything else. The primary's output is never lost;
	 * the secondary's SYN may be, in loss mode. Nothing from the
	 * secondary but its SYN can come before the primary's SYN: the peer
	 * must have had that first. (With COLO_FUZZ_ANY_ORDER anything goes.)
	 */
	if (M.hs && !any_order && side == SEC && kind <= 5 && kind != 4 &&
	    !M.s[PRI].syn_sent) {
		tcp_model_send(r, PRI, 0, 0, true, false, false, true);
		M.s[PRI].syn_sent = true;
	}
	if (M.hs && !any_order && kind <= 5) {
		if (kind == 4 && s->data_sent)
			return;
		if (kind != 4 && !s->syn_sent) {
			if (side == PRI || !M.sec_loss)
				tcp_model_send(r, side, 0, 0, true, false,
					       false, true);
			s->syn_sent = true;
		}
	}
	/* after its RST a guest's connection is gone: at most RSTs again */
	if (s->rst_sent && kind <= 4 && !any_order)
		return;
	if (kind <= 5 && kind != 4)
		s->data_sent = true;

	switch (kind) {
	case 0:
	case 1:		/* the next segment in order, maybe with FIN */
		room = s->len - s->cursor;
		len = pick_len(r, room);
		d = s->cursor;
		s->cursor += len;
		fin = (op & 0x40) && s->cursor == s->len;
		s->fin_sent |= fin;
		tcp_model_send(r, side, unit_of_data(d), len, false, fin,
			       false, ack);
		break;
	case 2:		/* any window: retransmission, reordering, holes */
		d = rd16(r) | (u32)(rd8(r) & 1) << 16;
		if (d > s->len)
			d = s->len;
		/*
		 * The primary's output comes from a local tap, in order: it
		 * only goes back (retransmits). The secondary's crosses a
		 * link and may be lost, which the model lets it skip ahead
		 * for.
		 */
		if (d > s->cursor && (side == PRI || !M.sec_loss))
			d = s->cursor;
		len = pick_len(r, s->len - d);
		if (side == PRI && d + len > s->cursor)
			s->cursor = d + len;
		fin = (op & 0x40) && d + len == s->len;
		s->fin_sent |= fin && s->cursor == s->len;
		tcp_model_send(r, side, unit_of_data(d), len, false, fin,
			       false, ack);
		break;
	case 3:		/* pure ack at the cursor, acking more client data */
		s->ack_off += rd8(r) % 64;
		if (side == SEC && (op & 0x40)) {
			/* SACK blocks above a hole, or a D-SACK below */
			u32 at = s->ack_off, k;

			M.next_nsack = 1 + rd8(r) % 4;
			for (k = 0; k < M.next_nsack; k++) {
				u8 b = rd8(r);
				u32 st = (b & 0x80) && at > 64 ?
					 at - 64 + b % 32 :
					 at + 1 + (b & 0x7f) * 8;

				M.next_sack[2 * k] = st;
				M.next_sack[2 * k + 1] = st + 1 + rd8(r) * 4;
			}
		}
		tcp_model_send(r, side, unit_of_data(s->cursor) + s->fin_sent,
			       0, false, false, false, true);
		break;
	case 4:		/* SYN(-ACK), maybe again */
		if (!M.hs)
			break;
		s->syn_sent = true;
		tcp_model_send(r, side, 0, 0, true, false, false, ack);
		break;
	case 5:		/* RST after what the side sent (or anywhere before) */
		u = unit_of_data(s->cursor) + s->fin_sent;
		if ((op & 0x40) && any_order)
			u = unit_of_data(0) + rd16(r) % (u + 1 - unit_of_data(0));
		if (tcp_model_send(r, side, u, 0, false, false, true,
				   ack && (op & 0x20)))
			s->rst_sent = true;
		break;
	case 6:
		if ((op & 0x70) == 0x70)
			checkpoint();
		else		/* this side acks more client data */
			s->ack_off += 1 + rd8(r) % 200;
		break;
	case 7:		/* change a secondary byte it has not sent yet */
		d = rd16(r) % (M.s[SEC].len ? M.s[SEC].len : 1);
		if (unit_of_data(d) >= M.sec_hi && M.s[SEC].len) {
			M.S[d] ^= 1 + (op >> 4);
			note("secondary byte %u changed", d);
		}
		break;
	}
}

static void tcp_model_init(struct rd *r, u8 cfg)
{
	u32 isn_p = rd32(r), isn_s = rd32(r), len;
	u8 content = rd8(r);
	int i;

	M.hs = !(cfg & 0x08);
	M.sec_loss = cfg & 0x04;
	M.shared = !M.hs;
	M.client = rd32(r);
	len = rd16(r);
	if (cfg & 0x80)
		len += 4096;	/* room for GSO-sized segments */
	len %= MAX_DATA;
	if (cfg & 0x20)
		isn_s = isn_p;
	fill_stream(M.P, len, content, isn_p ^ isn_s);
	memcpy(M.S, M.P, len);
	for (i = 0; i < 2; i++) {
		M.s[i].len = len;
		M.s[i].stream = i == PRI ? M.P : M.S;
	}
	M.s[PRI].syn_seq = M.s[PRI].dseq0 = isn_p;
	M.s[SEC].syn_seq = isn_s;
	/* the rewriter shifts all but the secondary's SYN */
	M.s[SEC].dseq0 = (cfg & 0x10) ? isn_p : isn_s;
	if (!M.hs)	/* mid-stream: one sequence space */
		M.s[SEC].dseq0 = isn_p;
	/* the secondary's stream may end elsewhere */
	if (cfg & 0x40) {
		u8 d = rd8(r);

		if (d & 0x80)
			M.s[SEC].len = len > (d & 0x7fu) ? len - (d & 0x7f) : 0;
		else
			M.s[SEC].len = len + d < MAX_DATA ? len + d : len;
		if (M.s[SEC].len > len)
			fill_stream(M.S + len, M.s[SEC].len - len, 0, 77);
	}
	M.span = (len > M.s[SEC].len ? len : M.s[SEC].len) + 16;
	memset(M.sec_emit, 0, M.span);
	memset(M.sec_rst, 0, M.span);
	memset(M.pri_emit, 0, M.span);
	memset(M.pri_out, 0, M.span);
	note("tcp model: hs %d, loss %d, isn %u/%u, secondary data from %u, client %u, length %u/%u, content %u",
	     M.hs, M.sec_loss, isn_p, isn_s, M.s[SEC].dseq0, M.client, M.s[PRI].len,
	     M.s[SEC].len, content);
}

/* ------------------------------------------------------------------ */
/* Datagrams, modelled */

static void dgram_payload(u8 *buf, u32 i, u32 len, int side)
{
	u32 x = i * 2654435761u + 1, k;

	for (k = 0; k < len; k++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[k] = M.s[PRI].stream ? (u8)x : 0;
	}
	if (M.proto == IPPROTO_ICMP || M.proto == IPPROTO_ICMPV6) {
		buf[0] = 8;
		buf[1] = 0;
		buf[2] = (u8)(side * 17);	/* checksums differ */
		buf[3] = (u8)i;
	}
	if (side == SEC && i < MAX_DGRAMS) {
		switch (M.dmut[i]) {
		case 2:
			buf[len - 1] ^= 0x10;
			break;
		case 3:
			buf[(M.proto == IPPROTO_ICMP ||
			     M.proto == IPPROTO_ICMPV6) ? 1 : 0] ^= 1;
			break;
		case 4:
			buf[2 < len ? 2 : 0] ^= 0x80;
			break;
		}
	}
}

static void dgram_model_op(struct rd *r)
{
	static u8 buf[2048];
	u8 op = rd8(r);
	int side = op & 1;
	u32 i, len;
	struct skb_shape sh;
	struct sk_buff *skb;
	struct drv_result res;

	switch ((op >> 1) & 3) {
	case 0:
	case 1:		/* next datagram */
		i = M.dnext[side];
		if (i >= MAX_DGRAMS)
			return;
		len = 4 + rd8(r) * (op & 0x80 ? 7 : 1);
		if (!M.dlen_set[i]) {	/* the first side to send it decides */
			M.dlen[i] = len;
			M.dlen_set[i] = true;
		}
		len = M.dlen[i];
		if (side == SEC && M.dmut[i] == 1)
			len++;
		dgram_payload(buf, i, len, side);
		sh = shape_from(r, side, len);
		skb = skb_build(&sh, buf, len);
		dgram_cb_set(skb);
		skb->shim_tag[TAG_MODEL] = 1;
		skb->shim_tag[TAG_U0] = i;
		M.dnext[side]++;
		note("%s #%llu datagram %u len %u%s%s",
		     side == PRI ? "P" : "S", (unsigned long long)W.nsent[side],
		     i, len, side == SEC && M.dmut[i] ? " changed" : "",
		     sh.linear ? " non-linear" : "");
		if (side == SEC) {
			if (M.d_sec_n < ARRAY_SIZE(M.d_sec_rank))
				M.d_sec_rank[M.d_sec_n++] = i;
			res = world_sec(&W, skb);
		} else {
			res = world_pri(&W, skb);
		}
		after_step(&res);
		break;
	case 2:		/* the secondary's next datagram is lost on the way */
		if (op & 0x80) {
			note("secondary datagram %u lost", M.dnext[SEC]);
			M.dnext[SEC]++;
		} else if (M.dnext[SEC] < MAX_DGRAMS) {
			/* or will differ */
			M.dmut[M.dnext[SEC]] = 1 + rd8(r) % 4;
		}
		break;
	case 3:
		if ((op & 0xf0) == 0xf0)
			checkpoint();
		break;
	}
}

/*
 * At the end of a modelled TCP run with no divergence and no full queue
 * since the last checkpoint: the engine found every difference in the
 * part both sides produced from the common start, and holds nothing it
 * could release (a held packet here would only leave on a timeout: a false
 * checkpoint).
 */
static void tcp_final_checks(void)
{
	struct sk_buff *skb;
	u32 u, end;
	bool all_ok = true;

	if (W.ndiv || W.nfull != M.nfull_reset || !M.base_known)
		return;
	for (u = M.base_u; u < M.span; u++) {
		if (!M.pri_emit[u] || !M.sec_emit[u])
			break;
		if (unit_val(PRI, u) != unit_val(SEC, u))
			violation("missed divergence: unit %u is 0x%x on the primary, 0x%x on the secondary, both sides complete from unit %u",
				  u, unit_val(PRI, u), unit_val(SEC, u),
				  M.base_u);
	}
	end = u;	/* both sides produced [base_u, end) identically */
	if (M.sec_rst_any && !M.sec_rst_reply && M.sec_rst_last >= M.base_u &&
	    M.sec_rst_last <= end && M.pri_emit[M.sec_rst_last])
		violation("missed divergence: the secondary reset at unit %u, the primary sent that unit",
			  M.sec_rst_last);
	if (M.pri_rst_any && M.pri_rst_last >= M.base_u &&
	    M.pri_rst_last <= end && M.sec_emit[M.pri_rst_last] &&
	    !(M.sec_rst_any && M.sec_rst_last == M.pri_rst_last))
		violation("missed divergence: the primary reset at unit %u, the secondary sent that unit",
			  M.pri_rst_last);
	if (M.pri_rst_any && M.sec_rst_any && !M.sec_rst_reply &&
	    M.pri_rst_last != M.sec_rst_last &&
	    M.pri_rst_last >= M.base_u && M.pri_rst_last <= end)
		violation("missed divergence: the primary reset at unit %u, the secondary at %u",
			  M.pri_rst_last, M.sec_rst_last);

	/* liveness: is every held primary packet releasable? */
	skb_queue_walk(world_q(&W, PRI), skb) {
		const u32 *tag = skb->shim_tag;
		u32 u0 = tag[TAG_U0], n = tag[TAG_NUNITS];

		if (!tag[TAG_MODEL] || u0 < M.base_u) {
			all_ok = false;
			break;
		}
		if (tag[TAG_ACK] && (!M.sec_ack_reset ||
				     tag[TAG_ACK] - 1 > M.sec_max_ack_reset))
			all_ok = false;
		else if (tag[TAG_RST] &&
			 !(M.sec_rst_any && M.sec_rst_last == u0 && u0 <= end))
			all_ok = false;
		else if (u0 + n > end)
			all_ok = false;
		if (!all_ok)
			break;
	}
	if (all_ok && skb_queue_len(world_q(&W, PRI)))
		violation("stuck: %u primary packets held (first #%llu), all produced identically by the secondary and acked",
			  skb_queue_len(world_q(&W, PRI)),
			  (unsigned long long)skb_peek(world_q(&W, PRI))->shim_id);
}

/* ------------------------------------------------------------------ */
/* Raw */

static void raw_op(struct rd *r, bool tcp)
{
	static u8 buf[GSO_LEN + 16];
	static u32 last_seq[2], last_ack[2];
	u8 op = rd8(r);
	int side = op & 1;
	u32 len, seq, ack, k;
	u8 flags = 0;
	struct skb_shape sh;
	struct sk_buff *skb;
	struct drv_result res;

	if ((op & 0xfe) == 0xfe) {
		checkpoint();
		return;
	}
	if ((op & 0xfe) == 0xfc) {
		/* memory short: the flow's queues cannot be had (step.c) */
		note("the next allocation of the flow's queues fails");
		colo_held_cache->fail = 1;
		return;
	}
	len = pick_len(r, GSO_LEN);
	if (!tcp && (M.proto == IPPROTO_ICMP || M.proto == IPPROTO_ICMPV6) &&
	    len < 4)
		len = 4;	/* colo_parse() guarantees the ICMP header */
	for (k = 0; k < len; k++)
		buf[k] = (op & 0x80) ? 0 : (u8)(k * 31 + op);
	if (len && (op & 0x40))
		buf[rd16(r) % len] = rd8(r);
	sh = shape_from(r, side, len);
	skb = skb_build(&sh, buf, len);
	if (tcp) {
		flags = rd8(r);
		seq = (op & 0x20) ? rd32(r) : last_seq[side] + (s16)rd16(r);
		ack = (op & 0x10) ? rd32(r) : last_ack[side] + (s8)rd8(r);
		last_seq[side] = seq + len;
		last_ack[side] = ack;
		tcp_cb_set(skb, seq, ack, flags);
	} else {
		dgram_cb_set(skb);
		seq = ack = 0;
	}
	note("%s #%llu raw seq %u ack %u len %u %s%s",
	     side == PRI ? "P" : "S", (unsigned long long)W.nsent[side], seq,
	     ack, len, flag_str(flags), sh.linear ? " non-linear" : "");
	res = side == PRI ? world_pri(&W, skb) : world_sec(&W, skb);
	after_step(&res);
}

/* ------------------------------------------------------------------ */

static void run(const u8 *data, size_t size)
{
	static const u8 dprotos[] = {
		IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_GRE,
	};
	struct rd r = { data, size };
	u8 cfg = rd8(&r), lim = rd8(&r);
	unsigned int ops;

	memset(&M, 0, offsetof(__typeof__(M), P));
	nlog = 0;
	colo_held_cache->fail = 0;	/* an earlier input's, unused */
	M.run = cfg & 3;
	M.proto = (M.run == RUN_TCP || M.run == RUN_RAW_TCP) ? IPPROTO_TCP :
		  dprotos[(cfg >> 2) & 3];
	world_init(&W, M.proto);
	W.keep = false;
	W.on_release = on_release;
	switch (lim & 3) {
	case 1:
		W.lim.max_queue = 1 + (lim >> 2) % 16;
		break;
	case 2:
		W.lim.max_bytes = 1000 + (u64)(lim >> 2) * 1500;
		break;
	}
	note("run %d proto %u max_queue %u max_bytes %llu", M.run, M.proto,
	     W.lim.max_queue, (unsigned long long)W.lim.max_bytes);

	if (M.run == RUN_TCP) {
		tcp_model_init(&r, cfg);
	} else if (M.run == RUN_DGRAM) {
		M.s[PRI].stream = (cfg & 0x40) ? NULL : M.P; /* zeros */
		if (cfg & 0x80)
			M.dmut[rd8(&r) % 64] = 1 + rd8(&r) % 4;
	}

	for (ops = 0; r.n && ops < MAX_OPS; ops++) {
		switch (M.run) {
		case RUN_TCP:
			tcp_model_op(&r);
			break;
		case RUN_DGRAM:
			dgram_model_op(&r);
			break;
		default:
			raw_op(&r, M.run == RUN_RAW_TCP);
			break;
		}
	}
	if (M.run == RUN_TCP)
		tcp_final_checks();
	/* a final checkpoint releases and drops everything still held */
	checkpoint();
	if (skb_queue_len(world_q(&W, PRI)) ||
	    skb_queue_len(world_q(&W, SEC)))
		violation("packets held after the final checkpoint");
	if (W.flow.held)
		violation("the flow kept its packet queues after the final checkpoint");
	if (W.nout + W.ndup + W.ndropped != W.nsent[PRI])
		violation("primary: %llu sent, %llu out, %llu duplicates, %llu dropped",
			  (unsigned long long)W.nsent[PRI],
			  (unsigned long long)W.nout,
			  (unsigned long long)W.ndup,
			  (unsigned long long)W.ndropped);
	world_fini(&W);
}

static void init_env(void)
{
	const char *s;

	s = getenv("COLO_FUZZ_TRACE");
	trace = s && *s && strcmp(s, "0");
	s = getenv("COLO_FUZZ_ANY_ORDER");
	any_order = s && *s && strcmp(s, "0");
	s = getenv("COLO_FUZZ_KNOWN");	/* 1 or all, or rebase,isn */
	if (s && (!strcmp(s, "1") || !strcmp(s, "all"))) {
		known_rebase = known_isn = true;
	} else if (s) {
		known_rebase = strstr(s, "rebase");
		known_isn = strstr(s, "isn");
	}
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);
int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	static bool inited;

	if (!inited) {
		init_env();
		inited = true;
	}
	run(data, size);
	return 0;
}

#ifdef FUZZ_REPLAY
int main(int argc, char **argv)
{
	static u8 buf[1 << 20];
	int i;

	for (i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		size_t n;

		if (!f) {
			perror(argv[i]);
			return 2;
		}
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		if (trace || getenv("COLO_FUZZ_TRACE"))
			fprintf(stderr, "%s:\n", argv[i]);
		LLVMFuzzerTestOneInput(buf, n);
	}
	printf("%d input(s) replayed\n", argc - 1);
	return 0;
}
#endif
