// SPDX-License-Identifier: GPL-2.0-only
/*
 * Host-side harness for kernel/compare.c: the driver (target.c's call
 * sequence) and the world (one flow, logs and bookkeeping checks).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"

/* ------------------------------------------------------------------ */
/*
 * The driver: kernel/step.c, the module's own packet path from the flow
 * lock on, with what it needs from segment.c (which handles real skbs)
 * provided here instead.
 */

/*
 * segment.c colo_tcp_piece(): a copy of payload [sent, to). The front of a
 * retransmission is copied before the segment is queued (it leaves at
 * once); the matched front of the head while it is in the queue.
 */
struct sk_buff *colo_tcp_piece(struct sk_buff *skb, u32 to)
{
	struct sk_buff *n = malloc(sizeof(*n));

	if (!n) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	*n = *skb;
	n->next = n->prev = NULL;
	n->data = malloc(skb->len - skb->data_len ? skb->len - skb->data_len : 1);
	memcpy(n->data, skb->data, skb->len - skb->data_len);
	n->frag = NULL;
	if (skb->data_len) {
		n->frag = malloc(skb->data_len);
		memcpy(n->frag, skb->frag, skb->data_len);
	}
	n->shim_piece = skb->next ? 1 : 2;
	n->shim_from = COLO_CB(skb)->sent;
	n->shim_to = to;
	return n;
}

/* segment.c colo_tcp_lower_ack(): the blocks go into its header */
int colo_tcp_lower_ack(struct sk_buff *skb, const struct colo_ack_info *info)
{
	unsigned int i;

	if (!COLO_CB(skb)->ack_lowered || info->n > COLO_SACK_MAX) {
		fprintf(stderr, "engine: lowered #%llu, ack_lowered %d, %u SACK blocks\n",
			(unsigned long long)skb->shim_id,
			COLO_CB(skb)->ack_lowered, info->n);
		abort();
	}
	skb->shim_nsack = info->n;
	for (i = 0; i < info->n; i++) {
		skb->shim_sack[2 * i] = info->blk[i].start;
		skb->shim_sack[2 * i + 1] = info->blk[i].end;
	}
	skb->shim_ts = info->ts;
	skb->shim_ecr = info->ecr;
	return 0;
}

/* The instance's bounds from @lim (0: the most an instance may have). */
static void drv_limits_apply(struct colo_instance *inst,
			     const struct drv_limits *lim)
{
	inst->max_queue = lim->max_queue ? lim->max_queue : ~0U;
	/* the most netlink.c lets an instance have */
	inst->max_bytes = lim->max_bytes ? lim->max_bytes : COLO_MAX_BYTES_LIMIT;
}

/* What colo_step_*() decided, as the tests see it. */
static void drv_take(struct colo_step *st, enum colo_fate fate, int side,
		     struct sk_buff_head *rel, struct sk_buff_head *drop,
		     struct drv_result *res)
{
	memset(res, 0, sizeof(*res));
	skb_queue_splice_tail_init(&st->rel, rel);
	skb_queue_splice_tail_init(&st->drop, drop);
	switch (fate) {
	case COLO_FATE_HELD:
		res->fate = DRV_HELD;
		break;
	case COLO_FATE_PASSED:
		res->fate = DRV_PASSED;
		break;
	case COLO_FATE_FULL:
		/* target.c asks for a checkpoint (QUEUE_FULL) instead */
		res->queue_full = true;
		res->fate = side == COLO_PRI ? DRV_DROPPED : DRV_CONSUMED;
		return;
	case COLO_FATE_CONSUMED:
		res->fate = DRV_CONSUMED;
		break;
	}
	res->v = st->v;
	res->busy = st->busy;
}

void drv_primary(struct colo_instance *inst, struct colo_flow *flow,
		 const struct drv_limits *lim, struct sk_buff *skb,
		 struct sk_buff_head *rel, struct sk_buff_head *drop,
		 struct drv_result *res)
{
	struct colo_step st;
	enum colo_fate fate;

	drv_limits_apply(inst, lim);
	colo_step_init(&st);
	fate = colo_step_primary(inst, flow, skb, lim->window, &st);
	drv_take(&st, fate, COLO_PRI, rel, drop, res);
}

void drv_secondary(struct colo_instance *inst, struct colo_flow *flow,
		   const struct drv_limits *lim, struct sk_buff *skb,
		   struct sk_buff_head *rel, struct sk_buff_head *drop,
		   struct drv_result *res)
{
	struct colo_ack_info info = {};
	struct colo_step st;
	enum colo_fate fate;
	unsigned int i;

	/* colo_parse(): what the options say, at most COLO_SACK_MAX */
	for (i = 0; i < skb->shim_nsack && i < COLO_SACK_MAX; i++) {
		info.blk[i].start = skb->shim_sack[2 * i];
		info.blk[i].end = skb->shim_sack[2 * i + 1];
	}
	info.n = i;
	info.ts = skb->shim_ts;
	info.ecr = skb->shim_ecr;
	drv_limits_apply(inst, lim);
	colo_step_init(&st);
	fate = colo_step_secondary(inst, flow, skb, &info, &st);
	drv_take(&st, fate, COLO_SEC, rel, drop, res);
}

/* instance.c colo_flush_all() for one flow. */
void drv_checkpoint(struct colo_flow *flow, struct sk_buff_head *rel,
		    struct sk_buff_head *drop)
{
	colo_step_flush(flow, rel, drop);
}

/* ------------------------------------------------------------------ */
/*
 * The flows' packet queues (struct colo_held) come from flow.c's cache in
 * the module; here from this one, which counts what is taken and given
 * back, records whether the allocation was charged (__GFP_ACCOUNT with
 * the instance's memcg active), and fails while ->fail says so.
 */
static struct kmem_cache shim_held_cache = {
	.size = sizeof(struct colo_held),
};
struct kmem_cache *colo_held_cache = &shim_held_cache;
struct mem_cgroup *shim_active_memcg;

void *kmem_cache_alloc(struct kmem_cache *cache, gfp_t gfp)
{
	void *obj;

	cache->gfp = gfp;
	cache->charged = (gfp & __GFP_ACCOUNT) && shim_active_memcg;
	if (cache->fail) {
		cache->fail--;
		return NULL;
	}
	/* not zeroed: the engine must initialise what it uses */
	obj = malloc(cache->size);
	if (!obj) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	memset(obj, 0xa5, cache->size);
	cache->objects++;
	cache->allocs++;
	return obj;
}

void kmem_cache_free(struct kmem_cache *cache, void *obj)
{
	if (!obj)
		return;
	cache->objects--;
	free(obj);
}

/* ------------------------------------------------------------------ */
/* Packets */

struct sk_buff *skb_build(const struct skb_shape *sh, const u8 *payload,
			  u32 len)
{
	u32 total = sh->hdrlen + len + sh->pad;
	u32 headlen = (sh->linear && sh->linear < total) ? sh->linear : total;
	struct sk_buff *skb;
	u8 *all;
	u32 i;

	skb = calloc(1, sizeof(*skb));
	all = malloc(total ? total : 1);
	if (!skb || !all) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	for (i = 0; i < sh->hdrlen; i++)
		all[i] = (u8)(sh->fill + i * 7);
	if (len)
		memcpy(all + sh->hdrlen, payload, len);
	for (i = 0; i < sh->pad; i++)
		all[sh->hdrlen + len + i] = (u8)(~sh->fill - i);

	/* separate allocations of the exact sizes: ASan sees any overrun */
	skb->len = total;
	skb->truesize = total;	/* tests that need more set it */
	skb->data_len = total - headlen;
	skb->data = malloc(headlen ? headlen : 1);
	memcpy(skb->data, all, headlen);
	if (skb->data_len) {
		skb->frag = malloc(skb->data_len);
		memcpy(skb->frag, all + headlen, skb->data_len);
	}
	free(all);

	/* what colo_parse() leaves for the engine */
	memset(COLO_CB(skb), 0, sizeof(struct colo_skb_cb));
	COLO_CB(skb)->poff = (u16)sh->hdrlen;
	COLO_CB(skb)->len = len;
	return skb;
}

void skb_free(struct sk_buff *skb)
{
	free(skb->data);
	free(skb->frag);
	free(skb);
}

void tcp_cb_set(struct sk_buff *skb, u32 seq, u32 ack, u8 flags)
{
	struct colo_skb_cb *cb = COLO_CB(skb);

	cb->seq = seq;
	cb->ack = ack;
	cb->flags = flags;
}

void dgram_cb_set(struct sk_buff *skb)
{
	COLO_CB(skb)->flags = 0;
}

const char *skb_state_name(int state)
{
	static const char *const names[] = {
		[SKB_NEW] = "new",
		[SKB_QUEUED] = "queued",
		[SKB_RELEASED] = "released",
		[SKB_PASSED] = "passed",
		[SKB_FLUSHED] = "flushed",
		[SKB_DROPPED] = "dropped",
		[SKB_COMPARED] = "compared",
		[SKB_CONSUMED] = "consumed",
		[SKB_DUPLICATE] = "duplicate",
	};

	if (state < 0 || state >= (int)ARRAY_SIZE(names) || !names[state])
		return "?";
	return names[state];
}

const char *reason_name(u8 reason)
{
	switch (reason) {
	case 0:
		return "none";
	case COLO_REASON_PAYLOAD:
		return "payload";
	case COLO_REASON_LENGTH:
		return "length";
	case COLO_REASON_TCP_FLAGS:
		return "tcp-flags";
	case COLO_REASON_TIMEOUT:
		return "timeout";
	case COLO_REASON_QUEUE_FULL:
		return "queue-full";
	case COLO_REASON_HEADER:
		return "header";
	}
	return "?";
}

/* ------------------------------------------------------------------ */
/* The world */

static void world_fail(struct world *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void world_fail(struct world *w, const char *fmt, ...)
{
	va_list ap;

	if (w->err[0])
		return;		/* keep the first */
	va_start(ap, fmt);
	vsnprintf(w->err, sizeof(w->err), fmt, ap);
	va_end(ap);
}

/* Stands in for the creator's memory cgroup (instance.c). */
static char shim_memcg;

void world_init(struct world *w, u8 proto)
{
	memset(w, 0, sizeof(*w));
	w->inst.stats = &w->stats;
	w->inst.memcg = (struct mem_cgroup *)&shim_memcg;
	/* as flow.c's colo_flow_get(): no packet queues until one is held */
	w->flow.key.family = NFPROTO_IPV4;
	w->flow.key.proto = proto;
	__skb_queue_head_init(&w->none);
	__skb_queue_head_init(&w->out);
	__skb_queue_head_init(&w->sec_done);
	w->keep = true;
}

static void free_list(struct sk_buff_head *list)
{
	struct sk_buff *skb;

	while ((skb = __skb_dequeue(list)))
		skb_free(skb);
}

void world_fini(struct world *w)
{
	struct colo_held *h = w->flow.held;

	if (h) {
		free_list(&h->side[COLO_PRI].q);
		free_list(&h->acks);
		free_list(&h->side[COLO_SEC].q);
		free_list(&h->out);
		kmem_cache_free(colo_held_cache, h);
		w->flow.held = NULL;
	}
	free_list(&w->out);
	free_list(&w->sec_done);
}

struct sk_buff_head *world_q(struct world *w, int side)
{
	return w->flow.held ? &w->flow.held->side[side].q : &w->none;
}

struct sk_buff_head *world_acks(struct world *w)
{
	return w->flow.held ? &w->flow.held->acks : &w->none;
}

static void world_out(struct world *w, struct sk_buff *skb, int state)
{
	int expect = state == SKB_PASSED ? SKB_NEW : SKB_QUEUED;

	if (skb->shim_side != COLO_PRI)
		world_fail(w, "step %llu: secondary packet #%llu released as primary",
			   (unsigned long long)w->step,
			   (unsigned long long)skb->shim_id);
	if (skb->shim_state != expect)
		world_fail(w, "step %llu: primary packet #%llu leaves (%s) but was %s, expected %s",
			   (unsigned long long)w->step,
			   (unsigned long long)skb->shim_id,
			   skb_state_name(state),
			   skb_state_name(skb->shim_state),
			   skb_state_name(expect));
	skb->shim_state = state;
	skb->next = skb->prev = NULL;
	/* colo_release_list() cuts off what partial copies took */
	skb->shim_from = COLO_CB(skb)->len ? COLO_CB(skb)->sent : 0;
	skb->shim_to = COLO_CB(skb)->len;
	if (COLO_CB(skb)->dup) {
		/* colo_release_list() frees it (but the oracle sees it) */
		if ((state != SKB_RELEASED && state != SKB_FLUSHED) ||
		    COLO_CB(skb)->ack_lowered)
			world_fail(w, "step %llu: primary packet #%llu marked duplicate, leaving %s",
				   (unsigned long long)w->step,
				   (unsigned long long)skb->shim_id,
				   skb_state_name(state));
		skb->shim_state = SKB_DUPLICATE;
		if (w->on_release)
			w->on_release(w, skb);
		w->ndup++;
		skb_free(skb);
		return;
	}
	if (COLO_CB(skb)->ack_lowered) {
		const struct colo_skb_cb *cb = COLO_CB(skb);

		if (state != SKB_RELEASED || cb->len || !(cb->flags & TCPHDR_ACK) ||
		    (cb->flags & (TCPHDR_SYN | TCPHDR_FIN | TCPHDR_RST)))
			world_fail(w, "step %llu: primary packet #%llu (flags 0x%x, %u bytes) leaves (%s) with a lowered ack",
				   (unsigned long long)w->step,
				   (unsigned long long)skb->shim_id, cb->flags,
				   cb->len, skb_state_name(state));
		w->nlowered++;
	}
	if (w->on_release)
		w->on_release(w, skb);
	w->nout++;
	if (w->keep)
		__skb_queue_tail(&w->out, skb);
	else
		skb_free(skb);
}

/*
 * A partial copy of a primary segment leaves: of the head (after @rel,
 * state SKB_RELEASED), or the front of a retransmission (first, at once:
 * SKB_PASSED).
 */
static void world_piece(struct world *w, struct sk_buff *skb, int state)
{
	if (skb->shim_side != COLO_PRI || skb->shim_state != SKB_QUEUED)
		world_fail(w, "step %llu: partial copy of %s packet #%llu in state %s",
			   (unsigned long long)w->step,
			   skb->shim_side == COLO_PRI ? "primary" : "secondary",
			   (unsigned long long)skb->shim_id,
			   skb_state_name(skb->shim_state));
	if (skb->shim_from >= skb->shim_to ||
	    skb->shim_to > COLO_CB(skb)->len)
		world_fail(w, "step %llu: partial copy of primary packet #%llu: bytes [%u, %u) of %u",
			   (unsigned long long)w->step,
			   (unsigned long long)skb->shim_id, skb->shim_from,
			   skb->shim_to, COLO_CB(skb)->len);
	if (COLO_CB(skb)->flags & (TCPHDR_SYN | TCPHDR_RST))
		world_fail(w, "step %llu: partial copy of a SYN or RST, primary packet #%llu",
			   (unsigned long long)w->step,
			   (unsigned long long)skb->shim_id);
	skb->shim_state = state;
	if (w->on_release)
		w->on_release(w, skb);
	w->npieces++;
	if (w->keep)
		__skb_queue_tail(&w->out, skb);
	else
		skb_free(skb);
}

static void world_sec_done(struct world *w, struct sk_buff *skb, int state)
{
	int expect = state == SKB_CONSUMED ? SKB_NEW : SKB_QUEUED;

	if (skb->shim_side != COLO_SEC)
		world_fail(w, "step %llu: primary packet #%llu dropped as secondary",
			   (unsigned long long)w->step,
			   (unsigned long long)skb->shim_id);
	if (skb->shim_state != expect)
		world_fail(w, "step %llu: secondary packet #%llu done (%s) but was %s, expected %s",
			   (unsigned long long)w->step,
			   (unsigned long long)skb->shim_id,
			   skb_state_name(state),
			   skb_state_name(skb->shim_state),
			   skb_state_name(expect));
	skb->shim_state = state;
	w->nsec_done++;
	if (w->keep)
		__skb_queue_tail(&w->sec_done, skb);
	else
		skb_free(skb);
}

static void world_lists(struct world *w, struct sk_buff_head *rel,
			struct sk_buff_head *drop, int rel_state,
			int drop_state)
{
	struct sk_buff *skb;

	/* flow.c colo_drop_list() and colo_release_list() */
	while ((skb = __skb_dequeue(drop))) {
		colo_hold_unaccount(&w->inst, COLO_SEC, skb);
		world_sec_done(w, skb, drop_state);
	}
	while ((skb = __skb_dequeue(rel))) {
		colo_hold_unaccount(&w->inst, COLO_PRI, skb);
		if (skb->shim_piece)
			world_piece(w, skb, skb->shim_piece == 2 ? SKB_PASSED :
				    rel_state);
		else
			world_out(w, skb, rel_state);
	}
}

static void world_verdict(struct world *w, const struct drv_result *res,
			  int side)
{
	if (res->queue_full)
		w->nfull++;
	if (!res->v.reason)
		return;
	if (w->ndiv < WORLD_MAX_DIV) {
		struct world_div *d = &w->div[w->ndiv];

		d->reason = res->v.reason;
		d->has_off = res->v.has_off;
		d->off = res->v.off;
		d->step = w->step;
		d->side = side;
	}
	w->ndiv++;
}

static struct drv_result world_send(struct world *w, int side,
				    struct sk_buff *skb)
{
	struct sk_buff_head rel, drop;
	struct drv_result res;

	__skb_queue_head_init(&rel);
	__skb_queue_head_init(&drop);
	w->step++;
	skb->shim_side = side;
	skb->shim_id = w->nsent[side]++;
	skb->shim_state = SKB_QUEUED;	/* if the driver queues it */
	if (side == COLO_PRI)
		drv_primary(&w->inst, &w->flow, &w->lim, skb, &rel, &drop,
			    &res);
	else
		drv_secondary(&w->inst, &w->flow, &w->lim, skb, &rel, &drop,
			      &res);
	if (res.busy)		/* flow.c colo_flow_mark_busy() */
		w->busy = true;
	world_verdict(w, &res, side);
	world_lists(w, &rel, &drop, SKB_RELEASED, SKB_COMPARED);
	/*
	 * target.c releases @rel through the flow's queues (flow.c), and
	 * the release's end gives them back if the flow holds nothing
	 */
	colo_held_put(&w->flow);

	switch (res.fate) {
	case DRV_HELD:
		break;
	case DRV_PASSED:
		skb->shim_state = SKB_NEW;
		world_out(w, skb, SKB_PASSED);
		break;
	case DRV_DROPPED:
		skb->shim_state = SKB_DROPPED;
		w->ndropped++;
		skb_free(skb);
		break;
	case DRV_CONSUMED:
		skb->shim_state = SKB_NEW;
		world_sec_done(w, skb, SKB_CONSUMED);
		break;
	}
	world_check(w);
	return res;
}

struct drv_result world_pri(struct world *w, struct sk_buff *skb)
{
	return world_send(w, COLO_PRI, skb);
}

struct drv_result world_sec(struct world *w, struct sk_buff *skb)
{
	return world_send(w, COLO_SEC, skb);
}

void world_checkpoint(struct world *w)
{
	struct sk_buff_head rel, drop;

	__skb_queue_head_init(&rel);
	__skb_queue_head_init(&drop);
	w->step++;
	drv_checkpoint(&w->flow, &rel, &drop);
	world_lists(w, &rel, &drop, SKB_FLUSHED, SKB_FLUSHED);
	colo_held_put(&w->flow);	/* as colo_flush_all()'s release */
	world_check(w);
}

static bool colo_pure_ack_shim(const struct sk_buff *skb)
{
	const struct colo_skb_cb *cb = COLO_CB(skb);

	return cb->len == 0 &&
	       !(cb->flags & (TCPHDR_SYN | TCPHDR_FIN | TCPHDR_RST));
}

/* Each queued packet is where it says, and the byte counters add up. */
bool world_check(struct world *w)
{
	u64 queued[2] = { 0, 0 }, held[2] = { 0, 0 }, truesize[2] = { 0, 0 };
	struct sk_buff_head *queues[3] = {
		world_q(w, COLO_PRI), world_acks(w), world_q(w, COLO_SEC),
	};
	const struct colo_held *h = w->flow.held;
	static const int sides[3] = { COLO_PRI, COLO_PRI, COLO_SEC };
	int i, side;

	for (i = 0; i < 3; i++) {
		struct sk_buff_head *q = queues[i];
		struct sk_buff *skb, *prev = (struct sk_buff *)q;
		u64 bytes = 0, n = 0;

		side = sides[i];
		if (i == 1)
			skb_queue_walk(q, skb)
				if (skb->shim_side == COLO_PRI &&
				    !colo_pure_ack_shim(skb))
					world_fail(w, "step %llu: primary packet #%llu with data or flags among the pure acks",
						   (unsigned long long)w->step,
						   (unsigned long long)skb->shim_id);

		skb_queue_walk(q, skb) {
			if (skb->prev != prev) {
				world_fail(w, "step %llu: side %d queue links broken",
					   (unsigned long long)w->step, side);
				return false;
			}
			prev = skb;
			if (skb->shim_side != side ||
			    skb->shim_state != SKB_QUEUED)
				world_fail(w, "step %llu: side %d queue holds side %d packet #%llu in state %s",
					   (unsigned long long)w->step, side,
					   skb->shim_side,
					   (unsigned long long)skb->shim_id,
					   skb_state_name(skb->shim_state));
			bytes += skb->len;
			truesize[side] += skb->truesize;
			if (++n > q->qlen + 1)
				break;
		}
		if (n != q->qlen)
			world_fail(w, "step %llu: side %d queue length %u, %llu packets linked",
				   (unsigned long long)w->step, side, q->qlen,
				   (unsigned long long)n);
		held[side] += bytes;
		queued[side] += n;
	}
	for (side = 0; side < 2; side++)
		if (truesize[side] != (u64)colo_held_bytes(&w->inst, side) ||
		    queued[side] != w->stats.v[colo_held_stat(side)])
			world_fail(w, "step %llu: side %d: the instance counts %lld bytes in %lld packets held, its queues hold %llu in %llu",
				   (unsigned long long)w->step, side,
				   (long long)colo_held_bytes(&w->inst, side),
				   (long long)w->stats.v[colo_held_stat(side)],
				   (unsigned long long)truesize[side],
				   (unsigned long long)queued[side]);
	/* something held: the flow went on the timeout scan's list */
	if ((queued[COLO_PRI] || queued[COLO_SEC]) && !w->flow.on_busy)
		world_fail(w, "step %llu: the flow holds %llu primary and %llu secondary packets but is not on the busy list",
			   (unsigned long long)w->step,
			   (unsigned long long)queued[COLO_PRI],
			   (unsigned long long)queued[COLO_SEC]);
	for (side = 0; side < 2; side++)
		if (held[side] != (h ? h->side[side].bytes : 0))
			world_fail(w, "step %llu: side %d byte counter %u, queued packets hold %llu",
				   (unsigned long long)w->step, side,
				   h ? h->side[side].bytes : 0,
				   (unsigned long long)held[side]);
	/* the queues exist exactly while the flow holds something */
	if (h && !queued[COLO_PRI] && !queued[COLO_SEC])
		world_fail(w, "step %llu: the flow holds nothing but kept its packet queues",
			   (unsigned long long)w->step);
	if (h && !skb_queue_empty(&h->out))
		world_fail(w, "step %llu: %u packets left on the flow's way out",
			   (unsigned long long)w->step, skb_queue_len(&h->out));
	/* primary: out + duplicates + dropped + queued == sent; secondary likewise */
	if (w->nout + w->ndup + w->ndropped + queued[COLO_PRI] !=
	    w->nsent[COLO_PRI])
		world_fail(w, "step %llu: primary: %llu sent, but %llu out + %llu duplicates + %llu dropped + %llu queued",
			   (unsigned long long)w->step,
			   (unsigned long long)w->nsent[COLO_PRI],
			   (unsigned long long)w->nout,
			   (unsigned long long)w->ndup,
			   (unsigned long long)w->ndropped,
			   (unsigned long long)queued[COLO_PRI]);
	if (w->nsec_done + queued[COLO_SEC] != w->nsent[COLO_SEC])
		world_fail(w, "step %llu: secondary: %llu sent, but %llu done + %llu queued",
			   (unsigned long long)w->step,
			   (unsigned long long)w->nsent[COLO_SEC],
			   (unsigned long long)w->nsec_done,
			   (unsigned long long)queued[COLO_SEC]);
	return !w->err[0];
}
