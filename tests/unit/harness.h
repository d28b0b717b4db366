/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Host-side harness for kernel/compare.c.
 *
 * The driver (drv_*) calls kernel/step.c, the module's own packet path from
 * the flow lock on (target.c calls the same functions), and provides what
 * step.c needs from segment.c. What is not the engine's business stays
 * out: parsing (the caller fills COLO_CB() the way colo_parse() does),
 * conntrack, events and the release/drop machinery (packets end up on the
 * caller's lists instead, and leave the instance's accounting there).
 *
 * The world (world_*) wraps one flow and the driver, keeps a log of every
 * packet's fate and every divergence, and checks the bookkeeping (each
 * packet in exactly one place, byte counters) after every step.
 */
#ifndef _COLO_UNIT_HARNESS_H
#define _COLO_UNIT_HARNESS_H

#include <linux/kernel.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/sched/mm.h>
#include <net/tcp.h>
#include "colo.h"

/*
 * The instance's bounds, as step.c applies them (0: the most an instance
 * may have), and its state as target.c reads it.
 */
struct drv_limits {
	u32 max_queue;		/* packets per flow and side */
	u64 max_bytes;		/* truesize held per side (one flow here) */
	bool window;		/* the instance is in a checkpoint window:
				 * primary packets leave uncompared
				 */
};

/* What became of a packet handed to the driver. */
enum drv_fate {
	DRV_HELD,		/* queued (maybe already released/compared) */
	DRV_PASSED,		/* primary: XT_CONTINUE, a retransmission */
	DRV_DROPPED,		/* primary: NF_DROP, queue full */
	DRV_CONSUMED,		/* secondary: consumed without queueing */
};

struct drv_result {
	enum drv_fate fate;
	struct colo_verdict v;	/* divergence reported (v.reason != 0) */
	bool queue_full;	/* a queue-full checkpoint request */
	bool busy;		/* the flow went on the busy list */
};

void drv_primary(struct colo_instance *inst, struct colo_flow *flow,
		 const struct drv_limits *lim, struct sk_buff *skb,
		 struct sk_buff_head *rel, struct sk_buff_head *drop,
		 struct drv_result *res);
void drv_secondary(struct colo_instance *inst, struct colo_flow *flow,
		   const struct drv_limits *lim, struct sk_buff *skb,
		   struct sk_buff_head *rel, struct sk_buff_head *drop,
		   struct drv_result *res);
void drv_checkpoint(struct colo_flow *flow, struct sk_buff_head *rel,
		    struct sk_buff_head *drop);

/* skb->shim_state: where a packet is. */
enum skb_state {
	SKB_NEW,
	SKB_QUEUED,		/* in the flow's queue */
	SKB_RELEASED,		/* primary: released after comparison */
	SKB_PASSED,		/* primary: passed at once (retransmission) */
	SKB_FLUSHED,		/* primary released / secondary dropped by a
				 * checkpoint
				 */
	SKB_DROPPED,		/* primary: dropped, queue full */
	SKB_COMPARED,		/* secondary: dropped after comparison */
	SKB_CONSUMED,		/* secondary: consumed, never queued */
	SKB_DUPLICATE,		/* primary: freed on release, a duplicate of
				 * the segment released before it
				 */
};

const char *skb_state_name(int state);

/*
 * Packets. Payload @len bytes after @hdrlen bytes of "headers" filled with
 * @fill (the engine must never look at them), then @pad bytes of trailing
 * junk (Ethernet padding: not payload). With @linear non-zero only that
 * many bytes are in the linear part, the rest in the shim's fragment.
 */
struct skb_shape {
	u32 hdrlen;
	u32 pad;
	u32 linear;
	u8 fill;
};

struct sk_buff *skb_build(const struct skb_shape *sh, const u8 *payload,
			  u32 len);
void skb_free(struct sk_buff *skb);
void tcp_cb_set(struct sk_buff *skb, u32 seq, u32 ack, u8 flags);
void dgram_cb_set(struct sk_buff *skb);

#define WORLD_MAX_DIV	64

struct world_div {
	u8 reason;
	bool has_off;
	u64 off;
	u64 step;
	int side;		/* the packet that revealed it */
};

struct world;
typedef void (*world_rel_fn)(struct world *w, struct sk_buff *skb);

struct world {
	struct colo_instance inst;	/* its bounds come from @lim */
	struct colo_stats stats;
	struct colo_flow flow;
	struct drv_limits lim;
	bool busy;		/* the flow was put on the busy list */
	u64 step;
	u64 nsent[2];
	/* logs: every primary packet that left, in order; every secondary
	 * packet done with, in order (primary packets dropped for a full
	 * queue are freed and counted)
	 */
	struct sk_buff_head out;	/* with partial copies (shim_piece) */
	struct sk_buff_head sec_done;
	struct sk_buff_head none;	/* world_q() while the flow has no queues */
	bool keep;		/* keep logged packets (else freed at once) */
	unsigned int ndiv;	/* divergences reported (may exceed the array) */
	struct world_div div[WORLD_MAX_DIV];
	unsigned int nfull;	/* queue-full requests */
	u64 nout, nsec_done, ndropped;
	u64 npieces;		/* partial copies (not in nout) */
	u64 ndup;		/* duplicates freed on release (not in nout) */
	u64 nlowered;		/* pure acks released with a lowered ack */
	/* called for each primary packet as it leaves, before logging */
	world_rel_fn on_release;
	void *priv;
	/* first bookkeeping error, if any (message) */
	char err[512];
};

void world_init(struct world *w, u8 proto);
void world_fini(struct world *w);
struct drv_result world_pri(struct world *w, struct sk_buff *skb);
struct drv_result world_sec(struct world *w, struct sk_buff *skb);
void world_checkpoint(struct world *w);
/*
 * The flow's queue of @side, its held pure acks: an empty list while the
 * flow has no packet queues (struct colo_held).
 */
struct sk_buff_head *world_q(struct world *w, int side);
struct sk_buff_head *world_acks(struct world *w);
/* Bookkeeping invariants; returns false and fills w->err on failure. */
bool world_check(struct world *w);

const char *reason_name(u8 reason);

#endif
