/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xt_COLO internals shared by the module's files.
 *
 * Objects and lifetimes
 * ---------------------
 * struct colo_net        per network namespace (net_generic): the config
 *                        mutex and the list of instances.
 * struct colo_instance   one protected guest pair. Created and deleted over
 *                        generic netlink under colo_net->lock. Referenced by
 *                        the list (one ref) and by every rule using it (one
 *                        ref each, taken in checkentry, dropped in destroy),
 *                        freed with kfree_rcu when the last ref goes. Its flow
 *                        table, timers and held packets are torn down when it
 *                        leaves the list (colo_instance_teardown()), which
 *                        only happens with no rules left, or when the netns
 *                        dies (then ->dead stops late packets).
 * struct colo_flow       per flow (IP 5-tuple from the guest's point of view)
 *                        in the instance's rhashtable. Readers find it under
 *                        RCU; everything in it is protected by flow->lock.
 *                        Freed with kfree_rcu after removal from the table
 *                        (GC, checkpoint of a dead flow, teardown).
 * struct colo_held       a flow's packet queues, only while it holds
 *                        packets: taken and given back under flow->lock
 *                        (see the struct).
 *
 * Locking order: colo_net->lock (mutex), colo_all_lock (mutex) >
 * inst->walk_lock (mutex) > inst->busy_lock > flow->lock.
 * Nothing calls into the stack (release) with a flow or instance lock held.
 */
#ifndef _XT_COLO_INTERNAL_H
#define _XT_COLO_INTERNAL_H

#include <linux/types.h>
#include <linux/skbuff.h>
#include <linux/rhashtable.h>
#include <linux/workqueue.h>
#include <linux/percpu_counter.h>
#include <linux/netfilter.h>
#include <net/netfilter/nf_conntrack_zones.h>
#include <net/tcp.h>
#include <linux/xt_COLO.h>

#define COLO_DEFAULT_TIMEOUT_MS		3000
#define COLO_DEFAULT_MAX_QUEUE		1024
#define COLO_DEFAULT_MAX_BYTES		(32ULL << 20)
#define COLO_DEFAULT_FAILOPEN_MS	10000
#define COLO_MAX_TIMEOUT_MS		3600000
#define COLO_MAX_QUEUE_LIMIT		65536
#define COLO_MIN_BYTES			65536ULL
#define COLO_MAX_BYTES_LIMIT		BIT_ULL(40)
#define COLO_DEFAULT_MAX_FLOWS		65536
#define COLO_MAX_FLOWS_LIMIT		BIT(24)
/* A flow with nothing held and no conntrack entry left is freed after this. */
#define COLO_FLOW_GRACE			(2 * HZ)
/*
 * A flow with nothing held is freed after this much idle time even if its
 * conntrack entry lives, unless the rewriter learned an offset for it.
 */
#define COLO_FLOW_IDLE			(600 * HZ)
#define COLO_GC_INTERVAL		(HZ)
/* A full table reclaims at once only this long after GC's last pass. */
#define COLO_RECLAIM_GAP		(HZ / 10)

enum colo_side_id {
	COLO_PRI,
	COLO_SEC,
};

/*
 * Per-packet metadata of a held packet, kept in skb->cb *behind* the IP
 * layer's control block: at PREROUTING, IPCB()/IP6CB() (and the bridge's
 * input cb, which br_netfilter overwrites with IPCB before the IPv4 hooks)
 * occupy the first COLO_CB_OFFSET bytes and are still needed when the packet
 * is released; nothing uses the rest of cb until the packet leaves the
 * PREROUTING hook. colo_reinject() clears our part again. The compile-time
 * checks in colo_cb_check() keep this honest if the structures grow.
 */
struct colo_skb_cb {
	u32 seq;	/* TCP: sequence number of the first byte (SYN incl.) */
	u32 ack;	/* TCP: ack field, valid with TCPHDR_ACK in flags */
	u32 len;	/* payload bytes (L4 payload, from the IP header) */
	u32 time;	/* jiffies when held */
	u16 poff;	/* payload offset from skb->data */
	u8 flags;	/* TCP flags (TCPHDR_*), 0 for other protocols */
	u8 okfn:4,	/* index into colo_okfns[] */
	   ack_lowered:1,	/* TCP pure ack: leaves with ->ack written
				 * into its header (compare.c)
				 */
	   dup:1,	/* TCP: a duplicate of the segment released just
			 * before it: freed instead (compare.c)
			 */
	   discard:1,	/* TCP: a lowered ack whose header could not be
			 * written: freed and counted, never sent
			 */
	   ts:1;	/* TCP pure ack: ->tsval holds its TSval */
	union {
		u32 sent;	/* TCP data: payload bytes already released as
				 * a partial copy (colo_tcp_piece()); cut off
				 * at release
				 */
		u32 tsval;	/* TCP pure ack with ->ts: its TSval
				 * (RFC 7323); a lowered ack's may be raised
				 */
	};
};

#define COLO_CB_OFFSET	24
#define COLO_CB(skb) \
	((struct colo_skb_cb *)((skb)->cb + COLO_CB_OFFSET))

/* A TCP segment that only acknowledges: no payload, SYN, FIN or RST. */
static inline bool colo_pure_ack(const struct colo_skb_cb *cb)
{
	return cb->len == 0 &&
	       !(cb->flags & (TCPHDR_SYN | TCPHDR_FIN | TCPHDR_RST));
}

/* Flow key: from the guest's point of view (saddr = guest). */
struct colo_flow_key {
	union nf_inet_addr saddr;
	union nf_inet_addr daddr;
	__be16 sport;		/* or ICMP echo id */
	__be16 dport;
	u8 family;		/* NFPROTO_IPV4 / NFPROTO_IPV6 */
	u8 proto;
	u16 pad;
};

/*
 * What an ack tells the client about its stream beyond the ack number: SACK
 * blocks (RFC 2018, in the client's sequence space) and the timestamp echo
 * (RFC 7323). Read from the secondary's acks, written into lowered acks
 * (compare.c).
 */
#define COLO_SACK_MAX	4	/* what fits in the TCP option space */
#define COLO_SACK_SPAN	BIT(30)		/* a longer block is bogus */

struct colo_ack_info {
	u8 n;			/* SACK blocks */
	bool ts;		/* @tsval and @ecr are set: the ack had
				 * timestamps
				 */
	u32 tsval;		/* TSval */
	u32 ecr;		/* TSecr: a client TSval, echoed */
	struct {
		u32 start;	/* first byte */
		u32 end;	/* one past the last */
	} blk[COLO_SACK_MAX];
};

/*
 * One side's held packets, in the flow's struct colo_held: its queue, the
 * TCP walk's cursor into it and the bytes it holds.
 */
struct colo_queue {
	struct sk_buff_head q;	/* held packets, in stream/arrival order;
				 * the queue's own lock is not used:
				 * flow->lock protects it
				 */
	/*
	 * TCP: where the walk resumes (compare.c colo_tcp_find()): every
	 * segment up to and including this one in @q ends at or before
	 * flow->matched; NULL: start at the head. Whatever unlinks a
	 * packet from @q keeps it valid (colo_side_unlink()) or resets it.
	 */
	struct sk_buff *skip;
	u32 bytes;		/* bytes held */
	/*
	 * side[COLO_PRI] only: when the primary last sent stream data on
	 * the flow (jiffies; from the block's creation on). The
	 * secondary's lead waits while the primary is that recent
	 * (instance.c colo_sec_expire()). In the room the queue's
	 * alignment leaves.
	 */
	u32 seen;
};

/* One side's TCP stream, as far as the comparison has seen it. */
struct colo_side {
	u32 base;		/* seq of stream offset 0 */
	u32 next;		/* relative end of contiguous data seen */
	u32 max_ack;		/* highest ack seen */
	u32 syn_len;		/* seq space taken by the SYN (1 + TFO data) */
	u32 rst_at;		/* relative seq of a RST seen */
	u8 base_state;		/* COLO_BASE_* */
	u8 ack_valid:1,
	   rst_seen:1;
};

/*
 * What a flow holds: its packet queues, taken out of struct colo_flow so
 * that an idle flow (most of a table) does not carry them.
 *
 * Lifetime. A flow has a block exactly while it holds a packet or a CPU
 * releases its packets. colo_held_get() (step.c) takes one from
 * colo_held_cache, under flow->lock, when a packet is about to be held by
 * a flow that has none: once per burst of held packets, not per packet.
 * GFP_ATOMIC, charged like the flow to the memory cgroup of the
 * instance's creator; a flow has at most one, so the blocks are bounded
 * by max-flows as the flows are. When none can be had, the packet is
 * refused like one that finds its queue full (step.c; also counted in
 * hold_nomem).
 *
 * colo_held_put() (step.c) gives it back, under flow->lock, and only when
 * the flow is idle (colo_flow_idle()): all four queues empty and no CPU
 * releasing. Nothing refers to it then: packets taken off its queues are
 * on the callers' own lists, ->skip points into its queues only, the
 * engine uses it only under flow->lock, and the releaser (flow.c), which
 * drops the lock while packets go, keeps flow->releasing set until ->out
 * is empty, so the block cannot go from under it. Whoever may leave a
 * flow idle puts the block before letting the lock go: the end of a
 * release (colo_flow_release(), the pacer), colo_busy_walk() (expiry,
 * purges) and colo_flush_all() when it drops. GC frees only idle flows,
 * which have no block by then; colo_flow_free() gives back one left over
 * all the same. A secondary-host instance's flows (the rewriter's) never
 * hold packets, so never have one; the block is outside the union that
 * the rewriter's state shares with the comparator's.
 */
struct colo_held {
	struct colo_queue side[2];
	/*
	 * TCP: the primary's pure acks, in arrival order, apart from its
	 * data in side[COLO_PRI].q: only the ack rule holds them, so they
	 * never wait behind held data (side[COLO_PRI].bytes counts them)
	 */
	struct sk_buff_head acks;
	/*
	 * Primary packets on their way out, in the order they were decided.
	 * Whoever puts packets here (a comparison, a checkpoint) releases
	 * them, unless another CPU is releasing this flow's packets already
	 * (flow->releasing): that one takes them too. So a flow's packets
	 * leave in order whichever CPUs decided them. Counted as held until
	 * they leave.
	 */
	struct sk_buff_head out;
};

enum {
	COLO_BASE_NONE,		/* nothing seen on this side yet */
	COLO_BASE_SYN,		/* base from the SYN, re-taken at first non-SYN */
	COLO_BASE_SET,
};

/*
 * One per flow, from colo_flow_cache (flow.c), so a flow takes
 * sizeof(struct colo_flow) rounded to 8 bytes, not a kmalloc size class.
 * Fields are ordered to leave no holes; docs/design.md ("Flows") shows
 * the sizes.
 */
struct colo_flow {
	struct rhash_head node;
	struct colo_flow_key key;
	union {
		/*
		 * On a CPU's pacer list while @releasing (flow.c); a flow is
		 * freed only when it is not (colo_flow_idle()), after its
		 * removal from the table: then @rcu takes the room.
		 */
		struct list_head pace;
		struct rcu_head rcu;
	};
	struct list_head busy;	/* on inst->busy while on_busy */
	struct colo_instance *inst;
	unsigned long last_used;	/* jiffies */
	spinlock_t lock;	/* everything below, the held block */
	struct nf_conntrack_zone zone;
	u16 dead:1,		/* removed from the table */
	   on_busy:1,		/* on (or being put on) inst->busy, or
				 * on a walk's list (colo_busy_walk())
				 */
	   diverged:1,		/* waiting for a checkpoint */
	   shared_space:1,	/* TCP: both sides share one base */
	   has_ct:1,		/* zone valid, a conntrack entry was seen */
	   ack_out_valid:1,	/* TCP: ack_out is set */
	   releasing:1,		/* a CPU is releasing @out (colo_flow_release()) */
	   sack_new:1,		/* TCP: @sec_info's SACK blocks changed
				 * since a lowered ack last carried them
				 */
	   ts_out_valid:1,	/* TCP: ts_out is set */
	   checkpointed:1,	/* TCP: the state was reset by a checkpoint
				 * (colo_step_flush()), not by a new
				 * connection on the 5-tuple
				 */
	   sec_rst_reply:1;	/* TCP: the secondary's RST answered a
				 * segment it could not accept, first
				 * thing after a checkpoint (compare.c)
				 */
	/* TCP comparison */
	u32 matched;		/* relative offset compared equal so far */
	u64 matched_total;	/* for reporting: bytes matched since start */
	u32 ack_out;		/* highest ack the engine released */
	u32 ts_out;		/* highest TSval of a pure ack released */
	/*
	 * The held packets' queues, NULL while the flow holds nothing and
	 * nothing of it is on its way out (struct colo_held says who takes
	 * and gives it back)
	 */
	struct colo_held *held;
	struct colo_side side[2];
	/*
	 * A primary-host instance's flows compare, a secondary-host
	 * instance's flows rewrite (rewrite.c), never both: an instance's
	 * role is set by a rule while it has no flow, and changes only while
	 * it has neither rules nor flows (colo_instance_role()). So the two
	 * share their room.
	 */
	union {
		/*
		 * TCP comparison: from the secondary's latest ack, its SACK
		 * blocks above its max_ack, and its timestamp echo
		 */
		struct colo_ack_info sec_info;
		/* rewriter (secondary host) */
		struct {
			u32 isn_s;
			u32 cli_next;	/* the client's sequence number after
					 * its SYN
					 */
			s32 seq_off;	/* the learned sequence offset */
			u32 ts_s;	/* secondary guest's TSval on its
					 * SYN(-ACK)
					 */
			u32 ts_off;	/* TSval offset, secondary - primary */
			u8 isn_known:1,
			   learned:1,
			   guest_dir:1,
			   ts_seen:1,	/* ts_s valid: the SYN(-ACK) had
					 * timestamps
					 */
			   ts_on:1,	/* ts_off learned: shift timestamps */
			   cli_syn:1;	/* cli_next valid: the client sent
					 * the SYN
					 */
		};
	};
};

struct colo_stats {
	u64 v[__COLO_STATS_A_MAX];
};

struct colo_instance {
	struct list_head list;		/* colo_net->instances, RCU */
	struct list_head all;		/* colo_all, under colo_all_lock */
	struct rcu_head rcu;
	refcount_t ref;
	atomic_t rules;
	struct net *net;
	u32 id;
	u64 seq;			/* creation number in its netns */
	u8 role;			/* enum colo_role: of its last rules,
					 * colo_instance_role() says whether
					 * it still holds
					 */
	u8 state;			/* enum colo_state */
	bool dead;

	u32 timeout_ms;
	u32 max_queue;
	u64 max_bytes;
	u32 failopen_ms;
	u32 max_flows;
	/*
	 * Created from a user namespace other than the initial one: its
	 * limits were capped and @reserved bytes of the module-wide budget
	 * for such instances are its own until it is freed (netlink.c).
	 */
	u64 reserved;
	struct mem_cgroup *memcg;	/* its creator's: flows and their
					 * packet queues are charged
					 */
	unsigned long flags;		/* COLO_RECLAIM */
	unsigned long gc_last;		/* jiffies: GC's last pass ended */

	struct rhashtable flows;
	atomic_t nflows;
	atomic_t paced;			/* flows the pacers release (flow.c) */

	unsigned long pending;		/* bit 0: checkpoint request out */
	unsigned long pending_since;	/* jiffies */
	unsigned long ckpt_since;	/* jiffies: checkpoint BEGIN */

	struct mutex walk_lock;		/* one walk of @busy at a time */
	spinlock_t busy_lock;		/* busy, flows' busy and on_busy */
	struct list_head busy;		/* flows holding packets (either
					 * side's), until a walk finds them
					 * holding nothing
					 */
	struct delayed_work scan_work;	/* timeouts and fail-open */
	struct delayed_work gc_work;	/* idle and dead flows */
	struct rhashtable_iter gc_iter;	/* where GC's sweep goes on */

	struct colo_stats __percpu *stats;

	/*
	 * The truesize of what each side holds, the memory bound that
	 * colo_fits() (step.c) checks for every packet: per-CPU counts
	 * folded into the shared one a batch at a time (colo_held_batch()),
	 * so holds and releases, which happen on every CPU, write a shared
	 * cache line once per batch instead of once per packet. Its own
	 * cache line: the fields above are read by every packet. How many
	 * packets are held is a per-CPU gauge in @stats (colo_held_stat()).
	 */
	struct percpu_counter held_bytes[2] ____cacheline_aligned_in_smp;
	s32 held_batch;
};

/* inst->flags */
#define COLO_RECLAIM	0	/* the flow table filled up: GC reclaims */

/* An instance's settings (netlink.c checks them, instance.c applies). */
struct colo_config {
	u32 timeout_ms;
	u32 max_queue;
	u64 max_bytes;
	u32 failopen_ms;
	u32 max_flows;
};

struct colo_net {
	struct mutex lock;		/* instances list, config, rules */
	struct list_head instances;	/* in creation order */
	u64 seq;			/* creation numbers given */
};

/* main.c */
struct colo_net *colo_pernet(struct net *net);

/* instance.c */
struct colo_instance *colo_instance_find(struct colo_net *cn, u32 id);
struct colo_instance *colo_instance_create(struct net *net, u32 id,
					   const struct colo_config *cfg,
					   u64 reserved);
void colo_instance_reclaim(struct colo_instance *inst);
void colo_instance_teardown(struct colo_instance *inst, bool release);
void colo_instance_put(struct colo_instance *inst);
void colo_instance_checkpoint(struct colo_instance *inst, u8 phase);
void colo_instance_failover(struct colo_instance *inst);
void colo_instance_dev_gone(struct colo_instance *inst,
			    const struct net_device *dev);
void colo_instance_okfn_gone(struct colo_instance *inst, unsigned long mask);
extern struct mutex colo_all_lock;
extern struct list_head colo_all;
void colo_request_checkpoint(struct colo_instance *inst, u8 reason,
			     const struct colo_flow_key *key, bool has_off,
			     u64 off);
void colo_stats_read(struct colo_instance *inst, u64 *v);

/*
 * Held packets are counted by what they really cost, their truesize, so
 * that max-bytes bounds memory. Whatever changes a held packet's truesize
 * adjusts the count (step.c colo_compare()).
 *
 * The count is a percpu_counter: each CPU adds to its own part and folds
 * it into the shared count when it reaches inst->held_batch either way, so
 * the shared count is within held_batch x online CPUs of the truth. A
 * packet is checked against max-bytes from the shared count alone while
 * that is farther from the bound than this, and from the exact sum of all
 * parts (__percpu_counter_compare()) nearer: the bound is as exact as with
 * one shared counter (the packets that other CPUs admit at the same
 * instant, one each, may pass it) and the common path writes no shared
 * cache line. instance.c colo_held_batch() sizes the batch.
 */
/* The per-CPU gauge of @side's held packets in inst->stats. */
static inline int colo_held_stat(int side)
{
	return side == COLO_PRI ? COLO_STATS_A_PRI_HELD_PACKETS :
				  COLO_STATS_A_SEC_HELD_PACKETS;
}

static inline void colo_held_add(struct colo_instance *inst, int side,
				 s64 bytes)
{
	percpu_counter_add_batch(&inst->held_bytes[side], bytes,
				 inst->held_batch);
}

/* Exact; takes the counter's lock: for reports and tests, not packets. */
static inline s64 colo_held_bytes(struct colo_instance *inst, int side)
{
	return percpu_counter_sum(&inst->held_bytes[side]);
}

/*
 * Each CPU's gauge counts what it held less what it released; only their
 * sum (colo_stats_read()) means anything.
 */
static inline void colo_hold_account(struct colo_instance *inst, int side,
				     const struct sk_buff *skb)
{
	colo_held_add(inst, side, skb->truesize);
	this_cpu_inc(inst->stats->v[colo_held_stat(side)]);
}

static inline void colo_hold_unaccount(struct colo_instance *inst, int side,
				       const struct sk_buff *skb)
{
	colo_held_add(inst, side, -(s64)skb->truesize);
	this_cpu_dec(inst->stats->v[colo_held_stat(side)]);
}

/*
 * colo_instance_role - the role @inst has now
 *
 * The role of its rules while it has any, or while flows of theirs remain
 * (a comparator's held packets and comparison state, a rewriter's learned
 * offsets: they share their room in struct colo_flow). With neither, none:
 * the next rule may give it either role. So a rule whose table change
 * failed after its checkentry, which its destroy undoes, leaves nothing
 * behind. Flows come only from rules' packet paths, and a rule's destroy
 * runs after the last of those ended: with no rules left the flow count
 * only falls. Under colo_net->lock for a decision (colo_tg_check()).
 */
static inline u8 colo_instance_role(const struct colo_instance *inst)
{
	if (!atomic_read(&inst->rules) && !atomic_read(&inst->nflows))
		return COLO_ROLE_NONE;
	return READ_ONCE(inst->role);
}

static inline void colo_stat_add(struct colo_instance *inst, int i, u64 n)
{
	this_cpu_add(inst->stats->v[i], n);
}

static inline void colo_stat_inc(struct colo_instance *inst, int i)
{
	this_cpu_inc(inst->stats->v[i]);
}

/* Nothing held from the primary (data or pure acks); flow->lock held. */
static inline bool colo_flow_pri_empty(const struct colo_flow *flow)
{
	const struct colo_held *h = flow->held;

	return !h || (skb_queue_empty(&h->side[COLO_PRI].q) &&
		      skb_queue_empty(&h->acks));
}

/* Nothing held from either side: the timeout scan can forget the flow. */
static inline bool colo_flow_held_empty(const struct colo_flow *flow)
{
	return colo_flow_pri_empty(flow) &&
	       (!flow->held || skb_queue_empty(&flow->held->side[COLO_SEC].q));
}

/*
 * ... and nothing on its way out either: the flow needs no struct
 * colo_held (colo_held_put()), and GC may free it.
 */
static inline bool colo_flow_idle(const struct colo_flow *flow)
{
	return !flow->releasing && colo_flow_held_empty(flow) &&
	       (!flow->held || skb_queue_empty(&flow->held->out));
}

/*
 * Take a held packet off its side's queue, keeping the TCP walk's cursor
 * valid; flow->lock held.
 */
static inline void colo_side_unlink(struct colo_queue *s, struct sk_buff *skb)
{
	if (s->skip == skb)
		s->skip = skb->prev == (struct sk_buff *)&s->q ? NULL :
							       skb->prev;
	__skb_unlink(skb, &s->q);
	s->bytes -= skb->len;
}

/* Packets held from the primary (data and pure acks), or the secondary. */
static inline u32 colo_flow_pri_len(const struct colo_flow *flow)
{
	const struct colo_held *h = flow->held;

	return h ? skb_queue_len(&h->side[COLO_PRI].q) +
		   skb_queue_len(&h->acks) : 0;
}

static inline u32 colo_flow_sec_len(const struct colo_flow *flow)
{
	return flow->held ? skb_queue_len(&flow->held->side[COLO_SEC].q) : 0;
}

/* flow.c */
extern struct kmem_cache *colo_held_cache;
int colo_flow_cache_init(void);
void colo_flow_cache_exit(void);
int colo_flows_init(struct colo_instance *inst);
void colo_flows_destroy(struct colo_instance *inst);
struct colo_flow *colo_flow_get(struct colo_instance *inst,
				const struct colo_flow_key *key);
struct colo_flow *colo_flow_find(struct colo_instance *inst,
				 const struct colo_flow_key *key);
void colo_flow_remove(struct colo_instance *inst, struct colo_flow *flow);
void colo_flow_mark_busy(struct colo_instance *inst, struct colo_flow *flow);
typedef int (*colo_okfn_t)(struct net *, struct sock *, struct sk_buff *);
int colo_okfn_index(colo_okfn_t okfn);
void colo_reinject(struct sk_buff *skb);
void colo_release_list(struct colo_instance *inst, struct sk_buff_head *list);
void colo_flow_release(struct colo_instance *inst, struct colo_flow *flow)
	__releases(&flow->lock);
void colo_drop_list(struct colo_instance *inst, struct sk_buff_head *list,
		    int side);
unsigned long colo_okfns_forget(const struct module *mod);
void colo_pacer_init(void);
void colo_pacer_exit(void);
void colo_pacer_wait(struct colo_instance *inst);

/* compare.c */
struct colo_verdict {
	u8 reason;		/* COLO_REASON_*, 0 when none */
	bool has_off;
	u64 off;
	/*
	 * TCP: the primary's head segment @part stays held, but its payload
	 * up to @part_to is matched and may leave as a copy (see
	 * colo_compare_tcp()). The caller makes the copy under the flow lock,
	 * queues it after @rel and sets COLO_CB(part)->sent = part_to when it
	 * could.
	 */
	struct sk_buff *part;
	u32 part_to;
	/*
	 * TCP: @lowered, on @rel, is a pure ack leaving with its ack lowered
	 * to COLO_CB(lowered)->ack, and the SACK blocks and timestamp echo
	 * of @info. The caller writes them into its header under the flow
	 * lock (colo_tcp_lower_ack()), or marks it ->discard when it cannot.
	 */
	struct sk_buff *lowered;
	struct colo_ack_info info;
};

void colo_compare_tcp(struct colo_flow *flow, struct sk_buff_head *rel,
		      struct sk_buff_head *drop, struct colo_verdict *v);
void colo_compare_dgram(struct colo_flow *flow, struct sk_buff_head *rel,
			struct sk_buff_head *drop, struct colo_verdict *v);
u8 colo_tcp_note(struct colo_flow *flow, int side, struct sk_buff *skb,
		 const struct colo_ack_info *info);
void colo_tcp_reset(struct colo_flow *flow);
void colo_compare_flush(struct colo_flow *flow, struct sk_buff_head *rel);
void colo_tcp_queue(struct colo_flow *flow, int side, struct sk_buff *skb);
void colo_dgram_queue(struct colo_flow *flow, int side, struct sk_buff *skb);
bool colo_tcp_is_retransmit(struct colo_flow *flow, struct sk_buff *skb);
u32 colo_tcp_retransmit_front(struct colo_flow *flow, struct sk_buff *skb);

/* step.c */
enum colo_fate {
	COLO_FATE_HELD,		/* accounted, queued or on its way */
	COLO_FATE_PASSED,	/* primary: a retransmission, goes on */
	COLO_FATE_FULL,		/* no room: refused */
	COLO_FATE_CONSUMED,	/* secondary: nothing to hold, freed */
};

struct colo_step {
	struct sk_buff_head rel;	/* primary packets to release */
	struct sk_buff_head drop;	/* secondary packets done with */
	struct colo_verdict v;		/* a divergence to report */
	bool busy;			/* the flow must go on the busy list */
	bool equal;			/* @drop's packets compared equal */
};

void colo_step_init(struct colo_step *st);
enum colo_fate colo_step_primary(struct colo_instance *inst,
				 struct colo_flow *flow, struct sk_buff *skb,
				 bool window, struct colo_step *st);
enum colo_fate colo_step_secondary(struct colo_instance *inst,
				   struct colo_flow *flow, struct sk_buff *skb,
				   const struct colo_ack_info *info,
				   struct colo_step *st);
void colo_step_flush(struct colo_flow *flow, struct sk_buff_head *rel,
		     struct sk_buff_head *drop);
bool colo_held_get(struct colo_instance *inst, struct colo_flow *flow,
		   u32 now);
void colo_held_put(struct colo_flow *flow);

/* segment.c */
struct sk_buff *colo_tcp_piece(struct sk_buff *skb, u32 to);
int colo_tcp_cut_sent(struct sk_buff *skb);
int colo_tcp_lower_ack(struct sk_buff *skb, const struct colo_ack_info *info);
void colo_tcp_ack_info_parse(const u8 *opt, unsigned int len,
			     struct colo_ack_info *info);
int colo_tcp_opt_next(const u8 *opt, unsigned int len, unsigned int i,
		      u8 kind);

/* target.c */
int colo_target_init(void);
void colo_target_exit(void);

/* rewrite.c */
unsigned int colo_rewrite(struct colo_instance *inst, struct sk_buff *skb,
			  const struct xt_action_param *par, u8 role);
void colo_rewrite_reset(struct colo_instance *inst);

/* netlink.c */
int colo_genl_init(void);
void colo_userns_unreserve(u64 bytes);
void colo_genl_exit(void);
void colo_notify(struct colo_instance *inst, u8 cmd, u8 reason,
		 const struct colo_flow_key *key, bool has_off, u64 off);

#endif /* _XT_COLO_INTERNAL_H */
