// SPDX-License-Identifier: GPL-2.0-only
/*
 * xt_COLO comparison engine.
 *
 * Everything here runs with flow->lock held and touches only the flow, its
 * queues (flow->held, NULL while it holds nothing: step.c, not the engine,
 * takes them before a packet is held) and the packets' payload (through
 * skb_header_pointer()), so it can be lifted into a user-space harness for
 * fuzzing. It never releases or frees a packet itself: it moves packets to
 * the caller's @rel (primary packets to release) and @drop (secondary
 * packets that were compared) lists, and reports a divergence in @v. A
 * primary packet on @rel may be marked to leave with a lowered ack
 * (COLO_CB()->ack_lowered) or to be freed as a duplicate (->dup); the
 * caller does either (segment.c).
 *
 * TCP: each side's output is a stream of sequence space measured from that
 * side's own base (its ISN, or for flows first seen mid-stream a base shared
 * by both sides). Offset 0 is the SYN, data starts at syn_len, the FIN takes
 * one unit after the data. flow->matched is the relative offset up to which
 * both streams are equal; comparison walks both queues from there, so
 * segmentation, coalescing and retransmission never matter.
 *
 * A side whose base comes from a SYN re-takes it from its first non-SYN
 * segment (seq - syn_len): the rewriter on the secondary host can only shift
 * the secondary's sequence numbers once it has learned the offset, which is
 * after the secondary's SYN-ACK went out unshifted.
 */
#include <linux/kernel.h>
#include <linux/skbuff.h>
#include <net/tcp.h>
#include "colo.h"

#define COLO_CMP_CHUNK	128

enum colo_unit {
	COLO_UNIT_SYN,
	COLO_UNIT_DATA,
	COLO_UNIT_FIN,
};

static inline u32 colo_syn(const struct colo_skb_cb *cb)
{
	return (cb->flags & TCPHDR_SYN) ? 1 : 0;
}

static inline u32 colo_fin(const struct colo_skb_cb *cb)
{
	return (cb->flags & TCPHDR_FIN) ? 1 : 0;
}

static inline u32 colo_rel(const struct colo_side *s, const struct sk_buff *skb)
{
	return COLO_CB(skb)->seq - s->base;
}

/* Relative end of the sequence space a segment takes (SYN, data, FIN). */
static inline u32 colo_rel_end(const struct colo_side *s,
			       const struct sk_buff *skb)
{
	const struct colo_skb_cb *cb = COLO_CB(skb);

	return colo_rel(s, skb) + colo_syn(cb) + cb->len + colo_fin(cb);
}

/*
 * The ack rule: a primary segment may not acknowledge client data the
 * secondary (@s) has not acknowledged; that data would be lost on failover.
 */
static inline bool colo_ack_covered(const struct colo_side *s,
				    const struct colo_skb_cb *cb)
{
	return !(cb->flags & TCPHDR_ACK) ||
	       (s->ack_valid && !after(cb->ack, s->max_ack));
}

/*
 * colo_payload_diff_copy - colo_payload_diff() chunk by chunk: each
 * chunk's bytes are found from the packet's start (skb_header_pointer()),
 * copied when they are not linear.
 */
static u32 colo_payload_diff_copy(const struct sk_buff *a, u32 aoff,
				  const struct sk_buff *b, u32 boff, u32 n)
{
	u8 abuf[COLO_CMP_CHUNK], bbuf[COLO_CMP_CHUNK];
	u32 done = 0;

	while (done < n) {
		u32 c = min_t(u32, n - done, COLO_CMP_CHUNK);
		const u8 *pa, *pb;
		u32 i;

		pa = skb_header_pointer(a, aoff + done, c, abuf);
		pb = skb_header_pointer(b, boff + done, c, bbuf);
		if (!pa || !pb)	/* cannot happen: lengths were checked */
			return done;
		if (memcmp(pa, pb, c)) {
			for (i = 0; i < c; i++)
				if (pa[i] != pb[i])
					return done + i;
		}
		done += c;
	}
	return n;
}

/*
 * colo_payload_diff - compare payload bytes of two packets
 * @a: first packet, @aoff: offset of the first byte to compare in @a
 * @b: second packet, @boff: offset in @b
 * @n: number of bytes
 *
 * Works on non-linear and GSO packets: one pass over each packet's linear
 * part, page fragments and frag_list (skb_seq_read()), comparing their
 * contiguous blocks in place as they line up. Returns the index of the
 * first differing byte, or @n when the ranges are equal.
 *
 * The two readers map one fragment each at a time and release them out
 * of order; with HIGHMEM, kmap_atomic() mappings must be released in the
 * reverse order of their making, so there the chunks are copied instead.
 */
static u32 colo_payload_diff(struct sk_buff *a, u32 aoff,
			     struct sk_buff *b, u32 boff, u32 n)
{
	struct skb_seq_state sa, sb;
	const u8 *pa = NULL, *pb = NULL;
	u32 la = 0, lb = 0, done = 0;

	if (IS_ENABLED(CONFIG_HIGHMEM))
		return colo_payload_diff_copy(a, aoff, b, boff, n);

	skb_prepare_seq_read(a, aoff, aoff + n, &sa);
	skb_prepare_seq_read(b, boff, boff + n, &sb);
	while (done < n) {
		u32 c, i;

		if (!la) {
			la = skb_seq_read(done, &pa, &sa);
			if (!la)	/* cannot happen: lengths were checked */
				break;
		}
		if (!lb) {
			lb = skb_seq_read(done, &pb, &sb);
			if (!lb)
				break;
		}
		c = min3(la, lb, n - done);
		if (memcmp(pa, pb, c)) {
			for (i = 0; pa[i] == pb[i]; i++)
				;
			done += i;
			break;
		}
		pa += c;
		pb += c;
		la -= c;
		lb -= c;
		done += c;
	}
	skb_abort_seq_read(&sa);
	skb_abort_seq_read(&sb);
	return done;
}

/*
 * The secondary's first non-SYN segment: is it in its own sequence space
 * (no rewriter) or in the primary's (the rewriter on the secondary host
 * shifts everything after the secondary's SYN-ACK, which went out unshifted
 * before the offset was known)? Taking it as offset syn_len in its own space
 * would shift the whole stream if the segment before it was lost; so:
 * a segment exactly where either space expects the first one is in that
 * space; otherwise the ISNs tell. Random ISNs are far apart and a segment is
 * near the base of its own space. ISNs close together mean the secondary
 * guest is a memory copy of the primary (same ISN secret, ISNs apart only by
 * the time between the SYN-ACKs), which is COLO with the rewriter: the
 * primary's space.
 */
static bool colo_tcp_primary_space(const struct colo_side *s,
				   const struct colo_side *p, u32 seq)
{
	u32 own = seq - s->base, pri = seq - p->base;
	s32 gap = p->base - s->base;

	if (own == s->syn_len)
		return false;
	if (pri == p->syn_len)
		return true;
	if (abs(gap) < (1 << 20))
		return true;
	return pri < own;
}

/*
 * What the secondary's latest ack with its highest ack so far, @ack, tells
 * the client (see colo_compare_tcp()): the SACK blocks of what it holds
 * of the client's stream above a hole, and its timestamp echo. Kept:
 * well-formed blocks above @ack (not a D-SACK of data below it).
 */
static void colo_tcp_sack_note(struct colo_flow *flow, u32 ack,
			       const struct colo_ack_info *info)
{
	struct colo_ack_info now = {};
	unsigned int i, n = info ? min_t(unsigned int, info->n,
					 COLO_SACK_MAX) : 0;

	for (i = 0; i < n; i++) {
		u32 start = info->blk[i].start, end = info->blk[i].end;

		if (!after(start, ack) || !after(end, start) ||
		    end - start > COLO_SACK_SPAN)
			continue;
		now.blk[now.n].start = start;
		now.blk[now.n].end = end;
		now.n++;
	}
	if (info && info->ts) {
		now.ts = true;
		now.ecr = info->ecr;
	}
	if (now.n != flow->sec_info.n ||
	    memcmp(now.blk, flow->sec_info.blk, now.n * sizeof(now.blk[0])))
		flow->sack_new = now.n > 0;
	flow->sec_info = now;
}

/* The TCP walk resumes at the head of @side's queue, if there is one. */
static void colo_skip_reset(struct colo_flow *flow, int side)
{
	if (flow->held)
		flow->held->side[side].skip = NULL;
}

/*
 * Put a secondary SYN just before @base, the start of the stream the
 * primary is already in: its relative end is 0, so it is compared with
 * nothing and dropped as done with (colo_compare_tcp()).
 */
static void colo_tcp_stale_syn(struct colo_skb_cb *cb, u32 base)
{
	cb->seq = base - (colo_syn(cb) + cb->len + colo_fin(cb));
}

/*
 * colo_tcp_note - account a TCP segment's header for its side
 * @flow: the flow, locked
 * @side: COLO_PRI or COLO_SEC
 * @skb: the segment, COLO_CB() filled in
 * @info: the SACK blocks and timestamp echo of a secondary segment's
 *	  options, or NULL
 *
 * Sets the side's stream base, tracks each side's highest ack, the
 * secondary's SACK blocks, and RSTs. Returns a COLO_REASON_* when the
 * segment alone proves a divergence.
 */
static u8 __colo_tcp_note(struct colo_flow *flow, int side,
			  struct sk_buff *skb, const struct colo_ack_info *info)
{
	struct colo_side *s = &flow->side[side];
	struct colo_side *o = &flow->side[!side];
	struct colo_skb_cb *cb = COLO_CB(skb);

	if (cb->flags & TCPHDR_SYN) {
		if (s->base_state == COLO_BASE_SET && cb->seq != s->base) {
			/* a new connection on the same 5-tuple */
			if (!colo_flow_held_empty(flow))
				return COLO_REASON_TCP_FLAGS;
			colo_tcp_reset(flow);
			flow->ts_out_valid = 0;	/* another TSval clock */
		}
		if (s->base_state == COLO_BASE_NONE) {
			if (o->base_state != COLO_BASE_NONE &&
			    flow->shared_space) {
				if (side == COLO_PRI || !flow->checkpointed)
					return COLO_REASON_TCP_FLAGS;
				/*
				 * After a checkpoint, the secondary's handshake
				 * behind the stream the primary is in: a
				 * SYN-ACK it sent before the checkpoint made it
				 * a copy of the primary, still on its way (the
				 * primary's went before the checkpoint). Not a
				 * divergence: what the copy sends next is
				 * compared.
				 */
				colo_tcp_stale_syn(cb, o->base);
				s->base = o->base;
				s->base_state = COLO_BASE_SET;
				colo_skip_reset(flow, side);
				goto note;
			}
			s->base = cb->seq;
			s->syn_len = 1 + cb->len;
			s->base_state = COLO_BASE_SYN;
			colo_skip_reset(flow, side);
		}
		/* A SYN is offset 0 whatever sequence space it is in. */
		cb->seq = s->base;
	} else if (s->base_state == COLO_BASE_SYN) {
		s->base_state = COLO_BASE_SET;
		if (side == COLO_SEC && o->base_state != COLO_BASE_NONE &&
		    colo_tcp_primary_space(s, o, cb->seq)) {
			struct sk_buff *q;

			s->base = o->base;
			if (flow->held)		/* queued SYNs */
				skb_queue_walk(&flow->held->side[side].q, q)
					COLO_CB(q)->seq = s->base;
			colo_skip_reset(flow, side);
		}
	} else if (s->base_state == COLO_BASE_NONE) {
		/*
		 * First seen mid-stream: after a checkpoint both guests are
		 * copies, so both sides share one sequence space. Its base is
		 * the primary's first segment (local, in order); the
		 * secondary's may come first, or after a lost one.
		 */
		if (side == COLO_PRI && o->base_state == COLO_BASE_SYN &&
		    !flow->shared_space && flow->checkpointed) {
			struct sk_buff *q;

			/*
			 * The primary is past the handshake the secondary
			 * is still sending (as above, in the other order):
			 * its SYNs, all it holds, go before the base.
			 */
			if (flow->held)
				skb_queue_walk(&flow->held->side[!side].q, q)
					colo_tcp_stale_syn(COLO_CB(q), cb->seq);
			o->base_state = COLO_BASE_NONE;
			o->syn_len = 0;
		}
		if (o->base_state != COLO_BASE_NONE && !flow->shared_space)
			return COLO_REASON_TCP_FLAGS;
		if (side == COLO_PRI || o->base_state == COLO_BASE_NONE) {
			if (o->base_state != COLO_BASE_NONE) {
				/* what the secondary sent moves with the base */
				o->next += o->base - cb->seq;
				o->rst_at += o->base - cb->seq;
			} else {
				o->next = 0;
			}
			s->base = cb->seq;
			o->base = cb->seq;
			flow->matched = 0;
			flow->shared_space = 1;
			/* offsets moved under them */
			colo_skip_reset(flow, !side);
		} else {
			s->base = o->base;
		}
		s->base_state = COLO_BASE_SET;
		colo_skip_reset(flow, side);
	}

note:
	if ((cb->flags & TCPHDR_ACK) &&
	    (!s->ack_valid || !before(cb->ack, s->max_ack))) {
		s->max_ack = cb->ack;
		s->ack_valid = 1;
		if (side == COLO_SEC)
			colo_tcp_sack_note(flow, cb->ack, info);
	}
	if (s->base_state != COLO_BASE_NONE &&
	    after(colo_rel_end(s, skb), s->next))
		s->next = colo_rel_end(s, skb);
	if (cb->flags & TCPHDR_RST) {
		s->rst_seen = 1;
		s->rst_at = colo_rel(s, skb);
		/*
		 * A RST without ACK answers a segment the guest could not
		 * accept. After a checkpoint, before anything was compared,
		 * the secondary's may answer a client segment the secondary
		 * host's rewriter shifted for the guest before the
		 * checkpoint and the copy read after it: its handshake's
		 * request socket then refuses the client's ack, and is still
		 * there for the client's next segment. Whether it is that or
		 * a reset the primary makes too, the primary tells
		 * (colo_tcp_check_rst()).
		 */
		if (side == COLO_SEC)
			flow->sec_rst_reply = flow->checkpointed &&
					      !flow->matched &&
					      !(cb->flags & TCPHDR_ACK);
	}
	return 0;
}

u8 colo_tcp_note(struct colo_flow *flow, int side, struct sk_buff *skb,
		 const struct colo_ack_info *info)
{
	u8 reason = __colo_tcp_note(flow, side, skb, info);

	if (!reason || flow->diverged)
		return 0;
	flow->diverged = 1;
	return reason;
}

/*
 * A primary segment whose sequence space was all compared already (a
 * retransmission) and whose ack the secondary has reached may leave at
 * once, ahead of anything still queued.
 */
bool colo_tcp_is_retransmit(struct colo_flow *flow, struct sk_buff *skb)
{
	const struct colo_side *p = &flow->side[COLO_PRI];
	const struct colo_side *s = &flow->side[COLO_SEC];
	const struct colo_skb_cb *cb = COLO_CB(skb);

	if (flow->diverged || colo_pure_ack(cb) || (cb->flags & TCPHDR_RST))
		return false;
	if (p->base_state == COLO_BASE_NONE)
		return false;
	if (after(colo_rel_end(p, skb), flow->matched))
		return false;
	return colo_ack_covered(s, cb);
}

/*
 * colo_tcp_retransmit_front - how much of a primary segment's payload,
 * from its start, was compared already (0: none, or not to send)
 *
 * A retransmission whose front was compared (it, or a partial copy of it,
 * went out and may have been lost) but which reaches past what was
 * compared: its front leaves at once as a partial copy, like a whole
 * retransmission would, and the segment is held for the rest. Without it
 * a lost partial copy would only be sent again once the secondary's
 * stream covered the whole retransmission, which may never happen.
 * Called before the segment is queued; the ack rule applies.
 */
u32 colo_tcp_retransmit_front(struct colo_flow *flow, struct sk_buff *skb)
{
	const struct colo_side *p = &flow->side[COLO_PRI];
	const struct colo_side *s = &flow->side[COLO_SEC];
	const struct colo_skb_cb *cb = COLO_CB(skb);
	u32 start;

	if (flow->diverged || !cb->len || (cb->flags & (TCPHDR_SYN | TCPHDR_RST)))
		return 0;
	if (p->base_state == COLO_BASE_NONE)
		return 0;
	start = colo_rel(p, skb);
	if (!before(start, flow->matched) || !colo_ack_covered(s, cb))
		return 0;
	return min(flow->matched - start, cb->len);
}

/*
 * Queue a segment of stream @s in relative sequence order into @hq
 * (usually: at the tail). One that lands among the segments the walk
 * skips (colo_tcp_find()) and ends past @matched (a retransmission
 * reaching into held data) moves the walk's cursor back in front of it.
 *
 * One that lands in front of others takes the hold time of the one behind
 * it when that is older: so the times never decrease from the head of the
 * queue to its tail, and the head's is the oldest (the timeout scan,
 * instance.c, looks at the head only). Such a segment may expire before
 * its own time is up, with the older one behind it: by then the
 * secondary's stream has a hole where that one was, the comparison cannot
 * get past it, and the timeout's checkpoint drops both anyway.
 */
static void colo_tcp_insert(const struct colo_side *s, struct colo_queue *hq,
			    struct sk_buff *skb, u32 matched)
{
	u32 rel = colo_rel(s, skb);
	struct sk_buff *pos;
	bool skipped = false;

	skb_queue_reverse_walk(&hq->q, pos) {
		if (!after(colo_rel(s, pos), rel))
			break;
		if (pos == hq->skip)
			skipped = true;
	}
	/* @pos: the last segment not after @skb, or the queue's head */
	__skb_queue_after(&hq->q, pos, skb);
	if (skipped && after(colo_rel_end(s, skb), matched))
		hq->skip = pos == (struct sk_buff *)&hq->q ? NULL : pos;
	if (!skb_queue_is_last(&hq->q, skb) &&
	    (s32)(COLO_CB(skb->next)->time - COLO_CB(skb)->time) < 0)
		COLO_CB(skb)->time = COLO_CB(skb->next)->time;
	hq->bytes += skb->len;
}

/* flow->held exists: step.c took it before holding @skb. */
void colo_tcp_queue(struct colo_flow *flow, int side, struct sk_buff *skb)
{
	struct colo_held *h = flow->held;

	/* the primary's pure acks wait apart (see colo_compare_tcp()) */
	if (side == COLO_PRI && colo_pure_ack(COLO_CB(skb))) {
		__skb_queue_tail(&h->acks, skb);
		h->side[COLO_PRI].bytes += skb->len;
		return;
	}
	colo_tcp_insert(&flow->side[side], &h->side[side], skb, flow->matched);
}

/* In arrival order; flow->held exists, as for colo_tcp_queue(). */
void colo_dgram_queue(struct colo_flow *flow, int side, struct sk_buff *skb)
{
	struct colo_queue *hq = &flow->held->side[side];

	__skb_queue_tail(&hq->q, skb);
	hq->bytes += skb->len;
}

/*
 * First segment queued in @hq whose sequence space (in stream @s)
 * contains relative offset @m, flow->matched. Segments that end at or
 * before it stay queued while the ack rule holds them (the primary's) or
 * until the walk is done (the secondary's); the walk resumes behind them
 * (@hq->skip), not at the queue's head, so a step costs O(1) amortised,
 * not O(queue).
 */
static struct sk_buff *colo_tcp_find(const struct colo_side *s,
				     struct colo_queue *hq, u32 m)
{
	struct sk_buff *skb = hq->skip ? hq->skip->next : hq->q.next;

	for (; skb != (struct sk_buff *)&hq->q; skb = skb->next) {
		if (!after(colo_rel_end(s, skb), m)) {
			hq->skip = skb;
			continue;
		}
		if (after(colo_rel(s, skb), m))
			return NULL;	/* a hole: wait for it */
		return skb;
	}
	return NULL;
}

static enum colo_unit colo_tcp_unit(const struct colo_side *s,
				    const struct sk_buff *skb, u32 m)
{
	const struct colo_skb_cb *cb = COLO_CB(skb);
	u32 rel = colo_rel(s, skb);

	if (colo_syn(cb) && m == rel)
		return COLO_UNIT_SYN;
	if (colo_fin(cb) && m == rel + colo_syn(cb) + cb->len)
		return COLO_UNIT_FIN;
	return COLO_UNIT_DATA;
}

/* Data offset (0 = first data byte) of the unit at flow->matched. */
static u64 colo_tcp_report_off(const struct colo_flow *flow)
{
	return flow->matched_total;
}

static void colo_diverge(struct colo_flow *flow, struct colo_verdict *v,
			 u8 reason, bool has_off, u64 off)
{
	flow->diverged = 1;
	v->reason = reason;
	v->has_off = has_off;
	v->off = off;
}

/*
 * Compare the two streams from flow->matched as far as both reach;
 * flow->held exists.
 */
static void colo_tcp_walk(struct colo_flow *flow, struct colo_verdict *v)
{
	struct colo_side *P = &flow->side[COLO_PRI];
	struct colo_side *S = &flow->side[COLO_SEC];
	struct colo_held *h = flow->held;

	while (!flow->diverged) {
		u32 m = flow->matched;
		struct sk_buff *p, *s;
		enum colo_unit up, us;
		u32 pstart, sstart, pend, send, n, k;

		p = colo_tcp_find(P, &h->side[COLO_PRI], m);
		s = colo_tcp_find(S, &h->side[COLO_SEC], m);
		if (!p || !s)
			return;
		up = colo_tcp_unit(P, p, m);
		us = colo_tcp_unit(S, s, m);
		if (up != us) {
			colo_diverge(flow, v, COLO_REASON_TCP_FLAGS, true,
				     colo_tcp_report_off(flow));
			return;
		}
		if (up != COLO_UNIT_DATA) {
			flow->matched = m + 1;
			continue;
		}
		pstart = colo_rel(P, p) + colo_syn(COLO_CB(p));
		sstart = colo_rel(S, s) + colo_syn(COLO_CB(s));
		pend = pstart + COLO_CB(p)->len;
		send = sstart + COLO_CB(s)->len;
		n = min(pend - m, send - m);
		k = colo_payload_diff(p, COLO_CB(p)->poff + (m - pstart),
				      s, COLO_CB(s)->poff + (m - sstart), n);
		if (k < n) {
			flow->matched_total += k;
			flow->matched = m + k;
			colo_diverge(flow, v, COLO_REASON_PAYLOAD, true,
				     flow->matched_total);
			return;
		}
		flow->matched = m + n;
		flow->matched_total += n;
	}
}

/* A primary pure ack leaves: the client will have seen its TSval. */
static void colo_tcp_ts_out(struct colo_flow *flow,
			    const struct colo_skb_cb *cb)
{
	if (cb->ts && (!flow->ts_out_valid || after(cb->tsval, flow->ts_out))) {
		flow->ts_out = cb->tsval;
		flow->ts_out_valid = 1;
	}
}

/*
 * A primary TCP packet leaves: note the highest ack, and the highest TSval
 * of a pure ack, released.
 */
static void colo_tcp_out(struct colo_flow *flow, struct sk_buff *skb,
			 struct sk_buff_head *rel)
{
	const struct colo_skb_cb *cb = COLO_CB(skb);

	if ((cb->flags & TCPHDR_ACK) &&
	    (!flow->ack_out_valid || after(cb->ack, flow->ack_out))) {
		flow->ack_out = cb->ack;
		flow->ack_out_valid = 1;
	}
	colo_tcp_ts_out(flow, cb);
	__skb_queue_tail(rel, skb);
}

/*
 * What a lowered ack tells the client beyond its ack number: the
 * secondary's SACK blocks, cut to client data the primary acknowledged
 * too (its highest ack): both guests hold those bytes, so the client may
 * never resend them and a failover still loses none; and the secondary's
 * timestamp echo. The primary's would be older than the
 * client's retransmissions that moved the secondary's ack: taking the ack
 * for one the original segment caused, the client would undo its
 * recovery (RFC 3522 Eifel detection) and stop resending the hole.
 */
static void colo_tcp_sack_out(const struct colo_flow *flow,
			      struct colo_ack_info *out)
{
	const struct colo_side *P = &flow->side[COLO_PRI];
	const struct colo_ack_info *in = &flow->sec_info;
	unsigned int i;

	out->n = 0;
	out->ts = in->ts;
	out->ecr = in->ecr;
	if (!P->ack_valid)
		return;
	for (i = 0; i < in->n; i++) {
		u32 start = in->blk[i].start, end = in->blk[i].end;

		/* above S->max_ack already (colo_tcp_sack_note()) */
		if (!before(start, P->max_ack))
			continue;
		if (after(end, P->max_ack))
			end = P->max_ack;
		out->blk[out->n].start = start;
		out->blk[out->n].end = end;
		out->n++;
	}
}

/*
 * Is @skb, released right after @prev in the same pass, a duplicate of
 * it: data or FIN all inside @prev (whose front may have left earlier as
 * partial copies)? Such a retransmission is freed, not sent:
 * - a duplicate FIN has the client ack it twice, and the primary guest,
 *   its socket closed by the first ack, answers the second with a RST the
 *   secondary never sends;
 * - a retransmission carries a newer TCP timestamp than the originals
 *   queued after it (the queue is in sequence order, not arrival order):
 *   the client takes it as its most recent timestamp, and its PAWS check
 *   then drops the older segments that follow, the FIN included.
 */
static bool colo_tcp_dup(const struct colo_side *P, const struct sk_buff *prev,
			 const struct sk_buff *skb)
{
	const struct colo_skb_cb *cb = COLO_CB(skb), *pcb = COLO_CB(prev);

	if ((cb->flags & (TCPHDR_SYN | TCPHDR_RST)) ||
	    (pcb->flags & TCPHDR_RST) || !(cb->len || colo_fin(cb)))
		return false;
	return !before(colo_rel(P, skb), colo_rel(P, prev) + colo_syn(pcb)) &&
	       !after(colo_rel_end(P, skb), colo_rel_end(P, prev));
}

/* A primary RST may leave once the secondary reset at the same place. */
static bool colo_tcp_rst_ok(const struct colo_flow *flow,
			    const struct sk_buff *skb)
{
	const struct colo_side *P = &flow->side[COLO_PRI];
	const struct colo_side *S = &flow->side[COLO_SEC];
	u32 r = colo_rel(P, skb);

	return !after(r, flow->matched) && S->rst_seen && S->rst_at == r;
}

/*
 * A side's stream ends at its RST. Once everything before a RST matched,
 * the other side resetting elsewhere, or sending anything (data, FIN) at
 * or past that place, is a divergence. But for the secondary's answer to
 * a segment shifted for the guest before the checkpoint
 * (flow->sec_rst_reply): the primary going on past it without a reset of
 * its own says the copy's connection goes on too, and the RST is
 * forgotten; what the copy sends next is compared.
 */
static void colo_tcp_check_rst(struct colo_flow *flow, struct colo_verdict *v)
{
	int i;

	for (i = 0; i < 2 && !flow->diverged; i++) {
		struct colo_side *s = &flow->side[i];
		const struct colo_side *o = &flow->side[!i];

		if (!s->rst_seen || o->base_state == COLO_BASE_NONE ||
		    after(s->rst_at, flow->matched))
			continue;
		if (o->rst_seen ? o->rst_at == s->rst_at :
				  !after(o->next, s->rst_at))
			continue;
		if (i == COLO_SEC && flow->sec_rst_reply && !o->rst_seen) {
			s->rst_seen = 0;
			flow->sec_rst_reply = 0;
			continue;
		}
		colo_diverge(flow, v, COLO_REASON_TCP_FLAGS, true,
			     colo_tcp_report_off(flow));
	}
}

void colo_compare_tcp(struct colo_flow *flow, struct sk_buff_head *rel,
		      struct sk_buff_head *drop, struct colo_verdict *v)
{
	struct colo_side *P = &flow->side[COLO_PRI];
	struct colo_side *S = &flow->side[COLO_SEC];
	struct colo_held *h = flow->held;
	struct colo_queue *PQ, *SQ;
	struct sk_buff *skb, *prev = NULL;

	if (P->base_state != COLO_BASE_NONE &&
	    S->base_state != COLO_BASE_NONE) {
		if (h)
			colo_tcp_walk(flow, v);
		colo_tcp_check_rst(flow, v);
	}
	/* a secondary ack or RST with nothing held: nothing to let go */
	if (!h)
		return;
	PQ = &h->side[COLO_PRI];
	SQ = &h->side[COLO_SEC];

	/*
	 * Secondary segments entirely compared are done with; none before
	 * the primary set the base, which may still move under them.
	 */
	while ((P->base_state != COLO_BASE_NONE || flow->diverged) &&
	       (skb = skb_peek(&SQ->q))) {
		if (!flow->diverged &&
		    after(colo_rel_end(S, skb), flow->matched))
			break;
		colo_side_unlink(SQ, skb);
		__skb_queue_tail(drop, skb);
	}

	/* Primary segments leave in order once matched and acked. */
	while ((skb = skb_peek(&PQ->q))) {
		struct colo_skb_cb *cb = COLO_CB(skb);

		if (cb->flags & TCPHDR_RST) {
			if (!colo_tcp_rst_ok(flow, skb))
				break;
		} else if (P->base_state == COLO_BASE_NONE ||
			   after(colo_rel_end(P, skb), flow->matched)) {
			break;	/* (pure acks wait in h->acks, below) */
		}
		if (!colo_ack_covered(S, cb))
			break;
		colo_side_unlink(PQ, skb);
		if (prev && colo_tcp_dup(P, prev, skb)) {
			cb->dup = 1;	/* freed, not sent: its ack neither */
			__skb_queue_tail(rel, skb);
			continue;
		}
		prev = skb;
		colo_tcp_out(flow, skb, rel);
	}

	/*
	 * Pure acks carry no stream data: each leaves once the secondary
	 * acknowledged as far, ahead of data still held. Kept in order
	 * behind held data, none would reach the client while a segment
	 * waits; its unacknowledged data would fill its congestion window
	 * and it would stop sending what the secondary waits for (a
	 * deadlock). A pure ack's sequence number is within the client's
	 * window, so the client takes its ack out of order.
	 */
	while ((skb = skb_peek(&h->acks))) {
		if (!colo_ack_covered(S, COLO_CB(skb)))
			break;
		__skb_unlink(skb, &h->acks);
		PQ->bytes -= skb->len;
		colo_tcp_out(flow, skb, rel);
	}

	/*
	 * Liveness of the client's stream: a secondary that missed client
	 * segments (lost on the way to the secondary host) acks less than
	 * the primary, and every held primary ack may lie beyond its hole.
	 * Acked nothing, the client would retransmit one segment per
	 * timeout, with backoff, and stall past the instance timeout. So the
	 * oldest held ack leaves as the secondary's ack, what both guests
	 * have: its ack lowered to the secondary's, with the secondary's
	 * SACK blocks cut to what the primary acked (colo_tcp_sack_out()).
	 * Those tell the client which segments are missing, and it resends
	 * them all at once (fast retransmit, RACK) instead of one per
	 * timeout. One leaves whenever the secondary's ack passes everything
	 * released, or its SACK blocks change; the newest held ack stays to
	 * carry the primary's full ack once the secondary reaches it.
	 */
	skb = skb_peek(&h->acks);
	if (skb && !skb_queue_is_last(&h->acks, skb) && S->ack_valid) {
		struct colo_skb_cb *cb = COLO_CB(skb);

		colo_tcp_sack_out(flow, &v->info);
		if (!flow->ack_out_valid || after(S->max_ack, flow->ack_out) ||
		    (flow->sack_new && v->info.n)) {
			/* not covered (above): cb->ack is after S->max_ack */
			__skb_unlink(skb, &h->acks);
			PQ->bytes -= skb->len;
			cb->ack = S->max_ack;
			cb->ack_lowered = 1;
			/*
			 * Not older than a TSval the client has seen: acks
			 * reach the host from several CPUs, out of order, and
			 * the client's PAWS check would drop this one.
			 */
			if (cb->ts && flow->ts_out_valid &&
			    after(flow->ts_out, cb->tsval))
				cb->tsval = flow->ts_out;
			flow->sack_new = 0;
			v->lowered = skb;
			colo_tcp_out(flow, skb, rel);
		}
	}

	/*
	 * Liveness: with different segmentation flow->matched can stop
	 * inside the head segment. The secondary may be waiting for the
	 * client to ack what it sent (congestion window, Nagle) before it
	 * sends the rest, and the client cannot ack bytes it never got: the
	 * matched prefix not yet sent may leave as a copy of the head cut
	 * down to it. Not for SYN or RST segments; the ack rule above holds.
	 */
	skb = skb_peek(&PQ->q);
	if (skb && P->base_state != COLO_BASE_NONE) {
		const struct colo_skb_cb *cb = COLO_CB(skb);
		u32 start = colo_rel(P, skb);

		if (cb->len && !(cb->flags & (TCPHDR_SYN | TCPHDR_RST)) &&
		    after(flow->matched, start + cb->sent) &&
		    colo_ack_covered(S, cb)) {
			v->part = skb;
			v->part_to = min(flow->matched - start, cb->len);
		}
	}
}

/*
 * colo_compare_flush - a checkpoint (or fail-open, failover, teardown):
 * every held primary packet goes onto @rel, in queue order (for TCP:
 * sequence order, the pure acks after them). A TCP retransmission of the
 * segment before it is marked a duplicate (freed on release, see
 * colo_tcp_dup()).
 */
void colo_compare_flush(struct colo_flow *flow, struct sk_buff_head *rel)
{
	struct colo_side *P = &flow->side[COLO_PRI];
	struct colo_held *h = flow->held;
	struct sk_buff *skb, *prev = NULL;

	if (!h)
		return;
	while ((skb = __skb_dequeue(&h->side[COLO_PRI].q))) {
		if (flow->key.proto == IPPROTO_TCP) {
			if (prev && colo_tcp_dup(P, prev, skb))
				COLO_CB(skb)->dup = 1;
			else
				prev = skb;
		}
		__skb_queue_tail(rel, skb);
	}
	h->side[COLO_PRI].skip = NULL;
	skb_queue_walk(&h->acks, skb)
		colo_tcp_ts_out(flow, COLO_CB(skb));
	skb_queue_splice_tail_init(&h->acks, rel);
	h->side[COLO_PRI].bytes = 0;
}

/*
 * Forget a flow's comparison state: after a checkpoint, and when a new
 * connection reuses the 5-tuple. Both queues are empty.
 */
void colo_tcp_reset(struct colo_flow *flow)
{
	u64 total = flow->matched_total;
	int i;

	/*
	 * After a checkpoint the secondary is a copy of the primary: the
	 * next segment on either side sets one base shared by both.
	 */
	for (i = 0; i < 2; i++) {
		struct colo_side *s = &flow->side[i];

		s->base = 0;
		s->next = 0;
		s->max_ack = 0;
		s->syn_len = 0;
		s->rst_at = 0;
		s->base_state = COLO_BASE_NONE;
		s->ack_valid = 0;
		s->rst_seen = 0;
		colo_skip_reset(flow, i);	/* the queues are empty */
	}
	flow->matched = 0;
	flow->matched_total = total;
	flow->shared_space = 0;
	flow->checkpointed = 0;
	flow->sec_rst_reply = 0;
	flow->diverged = 0;
	flow->ack_out = 0;
	flow->ack_out_valid = 0;
	/* ts_out stays: a checkpoint does not change the client's PAWS */
	memset(&flow->sec_info, 0, sizeof(flow->sec_info));
	flow->sack_new = 0;
}

/* Datagram protocols: pair first in, first out and compare whole bodies. */
void colo_compare_dgram(struct colo_flow *flow, struct sk_buff_head *rel,
			struct sk_buff_head *drop, struct colo_verdict *v)
{
	struct colo_queue *P, *S;
	bool icmp = flow->key.proto == IPPROTO_ICMP ||
		    flow->key.proto == IPPROTO_ICMPV6;

	if (!flow->held)
		return;		/* nothing held, nothing to pair */
	P = &flow->held->side[COLO_PRI];
	S = &flow->held->side[COLO_SEC];
	while (!flow->diverged && !skb_queue_empty(&P->q) &&
	       !skb_queue_empty(&S->q)) {
		struct sk_buff *p = skb_peek(&P->q);
		struct sk_buff *s = skb_peek(&S->q);
		const struct colo_skb_cb *pc = COLO_CB(p), *sc = COLO_CB(s);

		if (pc->len != sc->len) {
			colo_diverge(flow, v, COLO_REASON_LENGTH, false, 0);
			break;
		}
		if (icmp) {
			/* type and code; the checksum is ignored */
			if (colo_payload_diff(p, pc->poff, s, sc->poff, 2) < 2) {
				colo_diverge(flow, v, COLO_REASON_HEADER,
					     false, 0);
				break;
			}
			if (pc->len > 4 &&
			    colo_payload_diff(p, pc->poff + 4, s, sc->poff + 4,
					      pc->len - 4) < pc->len - 4) {
				colo_diverge(flow, v, COLO_REASON_PAYLOAD,
					     false, 0);
				break;
			}
		} else if (colo_payload_diff(p, pc->poff, s, sc->poff,
					     pc->len) < pc->len) {
			colo_diverge(flow, v, COLO_REASON_PAYLOAD, false, 0);
			break;
		}
		__skb_unlink(p, &P->q);
		P->bytes -= p->len;
		__skb_queue_tail(rel, p);
		__skb_unlink(s, &S->q);
		S->bytes -= s->len;
		__skb_queue_tail(drop, s);
	}
	if (flow->diverged) {
		/* nothing more to compare against: secondary copies go */
		while ((skb_peek(&S->q))) {
			struct sk_buff *s = __skb_dequeue(&S->q);

			S->bytes -= s->len;
			__skb_queue_tail(drop, s);
		}
	}
}
