// SPDX-License-Identifier: GPL-2.0-only
/*
 * xt_COLO: one packet through the engine, from the flow lock on.
 *
 * target.c parses a packet, finds its flow and takes the flow lock; from
 * there to the packet's fate (held, passed, refused, consumed) everything
 * is here: the bounds, the instance's accounting, the engine's calls in
 * their order and what the caller must release, drop and report. The
 * host-side unit tests and the fuzzer (tests/unit) build this file as it
 * is, so they prove the module's own packet path. What needs the real
 * stack, the copies and header writes of segment.c, the harness provides
 * in its own way; the caller does what needs the stack (device references,
 * release, events) after the step.
 */
#include <linux/kernel.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/sched/mm.h>
#include <net/tcp.h>
#include "colo.h"

void colo_step_init(struct colo_step *st)
{
	__skb_queue_head_init(&st->rel);
	__skb_queue_head_init(&st->drop);
	memset(&st->v, 0, sizeof(st->v));
	st->busy = false;
	st->equal = false;
}

/*
 * Room for @skb on @side: the flow's queue bound (packets) and the
 * instance's memory bound (the truesize of everything held on that side).
 */
static bool colo_fits(struct colo_instance *inst,
		      const struct colo_flow *flow, int side,
		      const struct sk_buff *skb)
{
	if ((side == COLO_PRI ? colo_flow_pri_len(flow) :
	     colo_flow_sec_len(flow)) >= inst->max_queue)
		return false;
	/* held + truesize <= max_bytes (colo.h: exact near the bound) */
	return __percpu_counter_compare(&inst->held_bytes[side],
					(s64)inst->max_bytes - skb->truesize,
					inst->held_batch) <= 0;
}

/**
 * colo_held_get - make sure @flow has its packet queues (struct colo_held)
 * @inst: its instance, whose creator's memory cgroup is charged
 * @flow: the flow, locked (BH off)
 * @now: the packet's time (jiffies): a new block's primary counts as seen
 *	then (struct colo_queue, seen)
 *
 * Before a packet is held. A flow that holds nothing has no block: one is
 * taken now, once for a burst of held packets, and given back when the
 * flow is idle again (colo_held_put()). Charged like the flow itself
 * (flow.c colo_flow_get()) to the memory cgroup of whoever created the
 * instance; one per flow at most, so max-flows bounds the blocks as it
 * bounds the flows. Returns false when memory is short, counted in
 * hold_nomem: the caller refuses the packet as if its queue were full
 * (COLO_FATE_FULL), never silently.
 */
bool colo_held_get(struct colo_instance *inst, struct colo_flow *flow,
		   u32 now)
{
	struct mem_cgroup *memcg;
	struct colo_held *h;
	int i;

	if (likely(flow->held))
		return true;
	memcg = set_active_memcg(inst->memcg);
	h = kmem_cache_alloc(colo_held_cache, GFP_ATOMIC | __GFP_ACCOUNT);
	set_active_memcg(memcg);
	if (unlikely(!h)) {
		colo_stat_inc(inst, COLO_STATS_A_HOLD_NOMEM);
		return false;
	}
	for (i = COLO_PRI; i <= COLO_SEC; i++) {
		__skb_queue_head_init(&h->side[i].q);
		h->side[i].skip = NULL;
		h->side[i].bytes = 0;
		h->side[i].seen = now;
	}
	__skb_queue_head_init(&h->acks);
	__skb_queue_head_init(&h->out);
	flow->held = h;
	return true;
}

/**
 * colo_held_put - give back @flow's packet queues if it is idle
 * @flow: the flow, locked
 *
 * Called, before the lock goes, by whatever may have left the flow
 * holding nothing: the end of a release (flow.c), the busy walks and
 * checkpoint flushes (instance.c). Only an idle flow's block goes (no
 * packet queued, none on its way out, no CPU releasing: colo_flow_idle()),
 * so none goes from under a releaser or a packet path (colo.h, struct
 * colo_held).
 */
void colo_held_put(struct colo_flow *flow)
{
	if (flow->held && colo_flow_idle(flow)) {
		kmem_cache_free(colo_held_cache, flow->held);
		flow->held = NULL;
	}
}

/*
 * A partial copy (segment.c) of @skb's payload up to @to, after what
 * earlier copies took, onto @rel. It counts as held until it leaves, like
 * the packets it goes out with.
 */
static void colo_piece(struct colo_instance *inst, struct sk_buff *skb,
		       u32 to, struct sk_buff_head *rel)
{
	struct sk_buff *piece = colo_tcp_piece(skb, to);

	if (!piece)
		return;
	COLO_CB(skb)->sent = to;
	colo_hold_account(inst, COLO_PRI, piece);
	colo_stat_inc(inst, COLO_STATS_A_RELEASED_PARTIAL);
	__skb_queue_tail(rel, piece);
}

static void colo_compare(struct colo_instance *inst, struct colo_flow *flow,
			 struct colo_step *st)
{
	struct colo_verdict *v = &st->v;

	if (flow->key.proto != IPPROTO_TCP) {
		colo_compare_dgram(flow, &st->rel, &st->drop, v);
		return;
	}
	colo_compare_tcp(flow, &st->rel, &st->drop, v);
	if (v->lowered) {
		struct sk_buff *skb = v->lowered;
		unsigned int truesize = skb->truesize;

		/* the held memory follows a header that had to grow */
		if (colo_tcp_lower_ack(skb, &v->info))
			COLO_CB(skb)->discard = 1;
		else
			colo_held_add(inst, COLO_PRI,
				      (s64)skb->truesize - truesize);
		v->lowered = NULL;
	}
	if (v->part) {
		/* the head's matched front, behind what the walk released */
		colo_piece(inst, v->part, v->part_to, &st->rel);
		v->part = NULL;
	}
}

/* The flow holds something the timeout scan must watch: @st->busy. */
static void colo_step_done(struct colo_flow *flow, struct colo_step *st)
{
	if (!flow->on_busy && !colo_flow_held_empty(flow)) {
		flow->on_busy = 1;
		st->busy = true;
	}
	st->equal = !flow->diverged;
}

/*
 * A primary packet inside a checkpoint window (instance.c): the guest sent
 * it before it stopped, so it leaves uncompared, behind whatever the flow
 * still held: a CPU that saw the state before the window may have held a
 * packet after BEGIN's flush passed this flow. The flow's comparison state
 * is left alone; END starts it afresh. It leaves through the flow's
 * release (flow.c), which keeps the flow's order across CPUs, so the flow
 * needs its queues for it, like any packet held.
 */
static enum colo_fate colo_step_window(struct colo_instance *inst,
				       struct colo_flow *flow,
				       struct sk_buff *skb,
				       struct colo_step *st)
{
	if (!colo_held_get(inst, flow, COLO_CB(skb)->time))
		return COLO_FATE_FULL;
	if (!colo_flow_pri_empty(flow))
		colo_compare_flush(flow, &st->rel);
	colo_hold_account(inst, COLO_PRI, skb);
	__skb_queue_tail(&st->rel, skb);
	colo_stat_inc(inst, COLO_STATS_A_CKPT_RELEASED);
	return COLO_FATE_HELD;
}

/*
 * The primary sent stream data on @flow (any datagram; a TCP segment with
 * data, SYN or FIN, a retransmission too, not a pure ack): it is alive,
 * and the secondary's packets ahead of it wait for it (instance.c
 * colo_sec_expire()). Without queues the flow holds nothing to expire.
 */
static void colo_pri_seen(struct colo_flow *flow, const struct sk_buff *skb)
{
	const struct colo_skb_cb *cb = COLO_CB(skb);

	if (flow->held &&
	    (flow->key.proto != IPPROTO_TCP || cb->len ||
	     (cb->flags & (TCPHDR_SYN | TCPHDR_FIN))))
		flow->held->side[COLO_PRI].seen = cb->time;
}

/**
 * colo_step_primary - a primary packet, with flow->lock held
 * @inst: its instance
 * @flow: its flow, locked and not dead
 * @skb: the packet, COLO_CB() filled by the parser
 * @window: the instance is in a checkpoint window
 * @st: from colo_step_init(): what the caller releases and reports
 *
 * COLO_FATE_HELD: @skb is accounted and queued, or already on @st->rel;
 * the caller takes the device reference, then releases @st->rel (which
 * drops the lock) and handles @st->drop, @st->v and @st->busy.
 * COLO_FATE_PASSED: a retransmission of data released already; it goes on
 * uncompared. COLO_FATE_FULL: no room (the flow's queue or the
 * instance's bytes are full, or its queues could not be allocated,
 * colo_held_get()); @st is untouched but for @st->v, which the caller
 * ignores (it asks for a checkpoint instead).
 */
enum colo_fate colo_step_primary(struct colo_instance *inst,
				 struct colo_flow *flow, struct sk_buff *skb,
				 bool window, struct colo_step *st)
{
	struct colo_verdict *v = &st->v;

	if (unlikely(window))
		return colo_step_window(inst, flow, skb, st);
	if (flow->key.proto == IPPROTO_TCP) {
		v->reason = colo_tcp_note(flow, COLO_PRI, skb, NULL);
		if (!v->reason && colo_tcp_is_retransmit(flow, skb)) {
			colo_pri_seen(flow, skb);
			return COLO_FATE_PASSED;
		}
	}
	if (!colo_fits(inst, flow, COLO_PRI, skb) ||
	    !colo_held_get(inst, flow, COLO_CB(skb)->time))
		return COLO_FATE_FULL;
	colo_pri_seen(flow, skb);

	colo_hold_account(inst, COLO_PRI, skb);
	if (flow->key.proto == IPPROTO_TCP) {
		u32 n = colo_tcp_retransmit_front(flow, skb);

		/* a retransmission's compared front goes at once (segment.c) */
		if (n)
			colo_piece(inst, skb, n, &st->rel);
		colo_tcp_queue(flow, COLO_PRI, skb);
	} else {
		colo_dgram_queue(flow, COLO_PRI, skb);
	}
	colo_compare(inst, flow, st);
	colo_step_done(flow, st);
	return COLO_FATE_HELD;
}

/**
 * colo_step_secondary - a secondary packet, with flow->lock held
 * @inst: its instance
 * @flow: its flow, locked and not dead
 * @skb: the packet, COLO_CB() filled by the parser
 * @info: a TCP ack's SACK blocks and timestamp echo, as parsed
 * @st: from colo_step_init()
 *
 * COLO_FATE_HELD: @skb is accounted and queued or already on @st->drop;
 * the caller takes the device reference and goes on as for the primary.
 * COLO_FATE_CONSUMED: nothing to hold (a pure ack or RST, a copy of
 * compared data, or the flow diverged): the caller frees @skb after
 * handling @st as for HELD. COLO_FATE_FULL: no room (as for the primary);
 * the flow is marked diverged, its stream now has a hole, and the caller
 * asks for a checkpoint and frees @skb.
 */
enum colo_fate colo_step_secondary(struct colo_instance *inst,
				   struct colo_flow *flow, struct sk_buff *skb,
				   const struct colo_ack_info *info,
				   struct colo_step *st)
{
	const struct colo_skb_cb *cb = COLO_CB(skb);

	if (flow->key.proto == IPPROTO_TCP) {
		st->v.reason = colo_tcp_note(flow, COLO_SEC, skb, info);
		/*
		 * pure acks, RSTs and copies of compared data: nothing to
		 * hold, but the ack may let primary packets go
		 */
		if (flow->diverged ||
		    (cb->len == 0 && !(cb->flags & (TCPHDR_SYN | TCPHDR_FIN)))) {
			colo_compare(inst, flow, st);
			st->equal = !flow->diverged;
			return COLO_FATE_CONSUMED;
		}
	} else if (flow->diverged) {
		return COLO_FATE_CONSUMED;
	}
	if (!colo_fits(inst, flow, COLO_SEC, skb) ||
	    !colo_held_get(inst, flow, cb->time)) {
		flow->diverged = 1;
		return COLO_FATE_FULL;
	}
	colo_hold_account(inst, COLO_SEC, skb);
	if (flow->key.proto == IPPROTO_TCP)
		colo_tcp_queue(flow, COLO_SEC, skb);
	else
		colo_dgram_queue(flow, COLO_SEC, skb);
	colo_compare(inst, flow, st);
	colo_step_done(flow, st);
	return COLO_FATE_HELD;
}

/**
 * colo_step_flush - a checkpoint empties a flow, with flow->lock held
 * @flow: the flow
 * @rel: where its primary packets go, in order (TCP duplicates marked)
 * @drop: where its secondary packets go
 *
 * Its comparison state starts afresh, also when it holds nothing. Its
 * queues stay: the caller releases @rel through them, or puts them
 * (colo_held_put()).
 */
void colo_step_flush(struct colo_flow *flow, struct sk_buff_head *rel,
		     struct sk_buff_head *drop)
{
	struct colo_held *h = flow->held;

	colo_compare_flush(flow, rel);
	if (h) {
		skb_queue_splice_tail_init(&h->side[COLO_SEC].q, drop);
		h->side[COLO_SEC].bytes = 0;
		h->side[COLO_SEC].skip = NULL;
	}
	colo_tcp_reset(flow);
	flow->checkpointed = 1;
}
