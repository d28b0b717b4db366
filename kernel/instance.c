// SPDX-License-Identifier: GPL-2.0-only
/*
 * xt_COLO instances: configuration, checkpoints, timeouts, fail-open,
 * failover, flow garbage collection and teardown.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/netdevice.h>
#include <linux/memcontrol.h>
#include <linux/netfilter_bridge.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_core.h>
#include <net/netfilter/nf_conntrack_tuple.h>
#include "colo.h"

/* Every instance of every netns, for module-wide events (module unload). */
DEFINE_MUTEX(colo_all_lock);
LIST_HEAD(colo_all);

static const u8 colo_reason_stat[] = {
	[COLO_REASON_PAYLOAD] = COLO_STATS_A_DIV_PAYLOAD,
	[COLO_REASON_LENGTH] = COLO_STATS_A_DIV_LENGTH,
	[COLO_REASON_TCP_FLAGS] = COLO_STATS_A_DIV_TCP_FLAGS,
	[COLO_REASON_TIMEOUT] = COLO_STATS_A_DIV_TIMEOUT,
	[COLO_REASON_QUEUE_FULL] = COLO_STATS_A_DIV_QUEUE_FULL,
	[COLO_REASON_HEADER] = COLO_STATS_A_DIV_HEADER,
};

struct colo_instance *colo_instance_find(struct colo_net *cn, u32 id)
{
	struct colo_instance *inst;

	lockdep_assert_held(&cn->lock);
	list_for_each_entry(inst, &cn->instances, list)
		if (inst->id == id)
			return inst;
	return NULL;
}

/*
 * colo_request_checkpoint - a divergence: ask user space for a checkpoint
 *
 * At most one request is outstanding per instance: later divergences until
 * the next checkpoint are counted but not sent. Any context.
 */
void colo_request_checkpoint(struct colo_instance *inst, u8 reason,
			     const struct colo_flow_key *key, bool has_off,
			     u64 off)
{
	if (reason < ARRAY_SIZE(colo_reason_stat) && colo_reason_stat[reason])
		colo_stat_inc(inst, colo_reason_stat[reason]);
	if (test_and_set_bit(0, &inst->pending)) {
		colo_stat_inc(inst, COLO_STATS_A_CKPT_SUPPRESSED);
		return;
	}
	WRITE_ONCE(inst->pending_since, jiffies);
	colo_stat_inc(inst, COLO_STATS_A_CKPT_REQUESTS);
	colo_notify(inst, COLO_CMD_DIVERGENCE_NTF, reason, key, has_off, off);
}

/* Flows flushed between two chances to reschedule (colo_flush_all()). */
#define COLO_FLUSH_BATCH	128

/*
 * Empty every flow: secondary packets are dropped; primary packets are
 * released in order behind what the flow is releasing already (@release),
 * or dropped. The flows' comparison state starts afresh, so every flow is
 * visited, idle ones too (their stream bases and acks are forgotten).
 *
 * Process context. The walk lets go of RCU and may reschedule every
 * COLO_FLUSH_BATCH flows, as GC's does: a table of max-flows flows (up to
 * 2^24) is not flushed in one stretch without a scheduling point. The walk
 * finds its place again by the flow it paused after; were that flow freed
 * meanwhile, the one behind it in its bucket could be missed, so it is
 * marked used now, and GC frees no flow used within COLO_FLOW_GRACE. A
 * flow may be visited twice across a table resize; flushing it again is
 * what a visit later would have done.
 */
static void colo_flush_all(struct colo_instance *inst, bool release)
{
	struct rhashtable_iter iter;
	struct sk_buff_head drop, pdrop;
	struct colo_flow *flow;
	unsigned int n = 0;
	bool pause;

	/*
	 * A secondary-host instance holds nothing, and its flows keep the
	 * rewriter's state where a comparator's would be (colo.h).
	 */
	if (inst->role == COLO_ROLE_SECONDARY)
		return;
	__skb_queue_head_init(&drop);
	__skb_queue_head_init(&pdrop);
	rhashtable_walk_enter(&inst->flows, &iter);
	rhashtable_walk_start(&iter);
	while ((flow = rhashtable_walk_next(&iter))) {
		if (IS_ERR(flow))
			continue;	/* -EAGAIN: resize, walk goes on */
		spin_lock_bh(&flow->lock);
		/* not at a flow GC took out already: gone from its bucket */
		pause = ++n >= COLO_FLUSH_BATCH && !flow->dead;
		if (pause) {	/* kept from GC until the walk goes on */
			flow->last_used = jiffies;
			n = 0;
		}
		/*
		 * marks TCP duplicates, which the release frees; a flow
		 * without queues holds nothing, and only its state is reset
		 */
		colo_step_flush(flow, release && flow->held ? &flow->held->out :
			       &pdrop, &drop);
		if (release) {
			colo_flow_release(inst, flow);	/* unlocks */
		} else {
			colo_held_put(flow);
			spin_unlock_bh(&flow->lock);
		}
		if (pause) {
			rhashtable_walk_stop(&iter);
			cond_resched();
			rhashtable_walk_start(&iter);
		}
	}
	rhashtable_walk_stop(&iter);
	rhashtable_walk_exit(&iter);
	colo_drop_list(inst, &drop, COLO_SEC);
	colo_drop_list(inst, &pdrop, COLO_PRI);
}

/*
 * The end of a checkpoint (or all of it at once): the guests are copies
 * of each other again. Primary host: every held primary packet leaves in
 * order, every held secondary packet is dropped, flows start comparing
 * afresh, and a fail-open instance or one in a checkpoint window compares
 * again. Secondary host: the rewriter's offsets go back to zero.
 */
static void colo_checkpoint_end(struct colo_instance *inst)
{
	if (inst->role == COLO_ROLE_SECONDARY) {
		colo_rewrite_reset(inst);
	} else {
		/*
		 * Also releases what a CPU that still saw the state before
		 * BEGIN held after BEGIN's flush had passed its flow.
		 */
		colo_flush_all(inst, true);
	}
	if (inst->state != COLO_STATE_FAILED_OVER)
		WRITE_ONCE(inst->state, COLO_STATE_ACTIVE);
	clear_bit(0, &inst->pending);
	local_bh_disable();
	colo_stat_inc(inst, COLO_STATS_A_CHECKPOINTS);
	local_bh_enable();
	colo_notify(inst, COLO_CMD_CHECKPOINT_NTF, 0, NULL, false, 0);
}

/*
 * colo_instance_checkpoint - a checkpoint of the guest pair
 * @phase: COLO_CHECKPOINT_NOW, _BEGIN or _END
 *
 * NOW: a checkpoint completed (colo_checkpoint_end()).
 *
 * BEGIN: both guests have stopped for a checkpoint, and what they sent
 * before stopping may still be on its way. Primary host: everything held
 * is flushed as by a checkpoint, and until END (state CHECKPOINT) primary
 * packets leave as they arrive (target.c), secondary packets are dropped:
 * all of it was produced before the guests stopped, and the checkpoint
 * makes the secondary a copy of the primary that produced it. The
 * outstanding request is answered. Secondary host: nothing changes until
 * END, so the secondary guest's last packets are still shifted by the
 * offsets they were produced under.
 *
 * END: before the guests run again, colo_checkpoint_end(). Packets sent
 * after that are compared in the new epoch. A window that no END closes is
 * closed by the scan after the instance's timeout.
 *
 * Process context, colo_net->lock held; never for a failed-over instance.
 */
void colo_instance_checkpoint(struct colo_instance *inst, u8 phase)
{
	if (phase != COLO_CHECKPOINT_BEGIN) {
		colo_checkpoint_end(inst);
		return;
	}
	if (inst->role != COLO_ROLE_SECONDARY)
		colo_flush_all(inst, true);
	WRITE_ONCE(inst->ckpt_since, jiffies);
	WRITE_ONCE(inst->state, COLO_STATE_CHECKPOINT);
	clear_bit(0, &inst->pending);
}

/*
 * Failover: stop protecting. Everything held leaves and traffic passes
 * from now on. On the secondary host the rewriter keeps the offsets of
 * existing connections. Process context, colo_net->lock held.
 */
void colo_instance_failover(struct colo_instance *inst)
{
	WRITE_ONCE(inst->state, COLO_STATE_FAILED_OVER);
	/*
	 * A packet path that read the old state may still hold a packet;
	 * once every one has finished the flush finds all of them, and
	 * nothing holds after it (target.c reads the state once).
	 */
	synchronize_net();
	if (inst->role != COLO_ROLE_SECONDARY)
		colo_flush_all(inst, true);
	clear_bit(0, &inst->pending);
	colo_notify(inst, COLO_CMD_FAILOVER_NTF, 0, NULL, false, 0);
}

static void colo_failopen(struct colo_instance *inst)
{
	WRITE_ONCE(inst->state, COLO_STATE_FAILOPEN);
	synchronize_net();	/* as for failover */
	colo_flush_all(inst, true);
	local_bh_disable();
	colo_stat_inc(inst, COLO_STATS_A_FAILOPENS);
	local_bh_enable();
	pr_info_ratelimited("instance %u: no checkpoint within %u ms, passing traffic uncompared\n",
			    inst->id, inst->failopen_ms);
	colo_notify(inst, COLO_CMD_FAILOPEN_NTF, 0, NULL, false, 0);
}

/*
 * Move @flow's secondary packets held longer than @tmo to @stale, if the
 * primary sent no stream data on the flow for as long either; flow->lock
 * held. Returns whether any did.
 *
 * A secondary ahead of a live primary is no divergence: two TCP senders
 * fed the same acks grow their congestion windows apart, and the one with
 * the larger runs ahead of the other by up to the difference, seconds
 * when the path is slow. Its lead waits for the primary's data for as long
 * as the primary keeps sending some within the timeout, bounded like any
 * held packet by max-queue and max-bytes (refused beyond, a queue-full
 * divergence). Dropped as unmatched, that lead would make the primary's
 * same bytes wait a timeout for a copy the secondary already sent. What
 * the primary never sends at all (it went silent, or the secondary talks
 * on a flow the primary does not) still goes after the timeout.
 *
 * The head's hold time is the oldest of the queue, so only the head is
 * looked at, and what follows it while that expired too: O(1) per flow
 * and scan, besides the packets that go (each once). Datagrams queue in
 * arrival order; TCP segments in stream order, but one queued in front of
 * an older one takes that one's time (compare.c colo_tcp_insert()), so
 * times do not decrease from head to tail there either. (Packets are
 * stamped before their flow lock is taken: two CPUs' may queue a jiffy out
 * of order, and the younger-stamped one then expires a scan late.)
 */
static bool colo_sec_expire(struct colo_flow *flow, u32 now, u32 tmo,
			    struct sk_buff_head *stale)
{
	struct colo_queue *s;
	struct sk_buff *skb;
	bool any = false;

	if (!flow->held || now - flow->held->side[COLO_PRI].seen <= tmo)
		return false;
	s = &flow->held->side[COLO_SEC];
	while ((skb = skb_peek(&s->q)) && now - COLO_CB(skb)->time > tmo) {
		colo_side_unlink(s, skb);
		__skb_queue_tail(stale, skb);
		any = true;
	}
	return any;
}

/* Busy flows visited per hold of busy_lock (BH off), and between two
 * chances to reschedule.
 */
#define COLO_BUSY_BATCH	64

typedef void (*colo_busy_fn_t)(struct colo_flow *flow, void *arg);

/*
 * colo_busy_walk - call @fn on every flow of @inst's busy list
 *
 * Each call runs with flow->lock (and busy_lock) held; afterwards a flow
 * that holds nothing leaves the list, and gives its queues back if it is
 * idle (colo_held_put(): not while a CPU releases its packets). A flow on
 * the list may have no queues: a release gave them back before a walk
 * came by. busy_lock, and with it BH, is let go every COLO_BUSY_BATCH
 * flows, and the walk may reschedule then: the list is taken private for
 * the walk, the flows put back one by one. A flow being marked busy
 * meanwhile (colo_flow_mark_busy()) finds its list entry in use and
 * leaves it, so it is visited and put back too. Walkers are
 * serialised by inst->walk_lock: a second one would miss what the first
 * has taken. Process context; takes walk_lock, so not under busy_lock.
 */
static void colo_busy_walk(struct colo_instance *inst, colo_busy_fn_t fn,
			   void *arg)
{
	LIST_HEAD(todo);
	unsigned int n = 0;

	mutex_lock(&inst->walk_lock);
	spin_lock_bh(&inst->busy_lock);
	list_splice_init(&inst->busy, &todo);
	while (!list_empty(&todo)) {
		struct colo_flow *flow = list_first_entry(&todo,
							  struct colo_flow,
							  busy);

		spin_lock(&flow->lock);
		fn(flow, arg);
		if (colo_flow_held_empty(flow)) {
			list_del_init(&flow->busy);
			flow->on_busy = 0;
			colo_held_put(flow);
		} else {
			list_move_tail(&flow->busy, &inst->busy);
		}
		spin_unlock(&flow->lock);
		if (++n % COLO_BUSY_BATCH == 0) {
			spin_unlock_bh(&inst->busy_lock);
			cond_resched();
			spin_lock_bh(&inst->busy_lock);
		}
	}
	spin_unlock_bh(&inst->busy_lock);
	mutex_unlock(&inst->walk_lock);
}

struct colo_scan {
	u32 now;
	u32 tmo;
	bool expired;
	struct colo_flow_key key;	/* the first expired flow's */
	struct sk_buff_head stale;	/* expired secondary packets */
};

/*
 * The timeout scan's look at one busy flow; flow->lock held. O(1) but for
 * the secondary packets that expire: each queue's head is its oldest
 * (colo_sec_expire()).
 */
static void colo_scan_flow(struct colo_flow *flow, void *arg)
{
	struct colo_scan *sc = arg;
	struct sk_buff *skb, *ack;

	if (!flow->held)
		return;		/* released meanwhile: holds nothing */
	/* the oldest of the first held data and the first pure ack */
	skb = skb_peek(&flow->held->side[COLO_PRI].q);
	ack = skb_peek(&flow->held->acks);
	if (!skb || (ack && (s32)(COLO_CB(ack)->time -
				   COLO_CB(skb)->time) < 0))
		skb = ack;
	if (skb && !sc->expired && sc->now - COLO_CB(skb)->time > sc->tmo) {
		sc->expired = true;
		sc->key = flow->key;
	}
	/*
	 * The secondary's output that the primary never matched within the
	 * timeout, while the primary sent nothing on the flow: the guests
	 * differ. It goes (nothing will compare it), and a checkpoint is
	 * asked for.
	 */
	if (colo_sec_expire(flow, sc->now, sc->tmo, &sc->stale) &&
	    !sc->expired) {
		sc->expired = true;
		sc->key = flow->key;
	}
}

static unsigned long colo_scan_interval(const struct colo_instance *inst)
{
	unsigned long j = msecs_to_jiffies(inst->timeout_ms) / 4;

	return clamp_t(unsigned long, j, 1, HZ / 2);
}

/*
 * Timeouts: the oldest held primary packet of each flow on the busy list
 * is its queue head. Only flows that held something since the last scan
 * are visited, a batch at a time (colo_busy_walk()).
 */
static void colo_scan_work(struct work_struct *work)
{
	struct colo_instance *inst = container_of(to_delayed_work(work),
						  struct colo_instance,
						  scan_work);
	u32 tmo = msecs_to_jiffies(inst->timeout_ms);
	struct colo_scan sc = { .now = jiffies, .tmo = tmo };

	if (test_bit(0, &inst->pending) && inst->failopen_ms &&
	    READ_ONCE(inst->state) == COLO_STATE_ACTIVE &&
	    time_after(jiffies, READ_ONCE(inst->pending_since) +
		       msecs_to_jiffies(inst->failopen_ms))) {
		struct colo_net *cn = colo_pernet(inst->net);

		/*
		 * Decide under the config lock so a checkpoint cannot clear
		 * the request between our test and the fail-open. Trylock:
		 * teardown cancels this work with the lock held; we come back
		 * next period.
		 */
		if (mutex_trylock(&cn->lock)) {
			if (test_bit(0, &inst->pending) &&
			    inst->state == COLO_STATE_ACTIVE)
				colo_failopen(inst);
			mutex_unlock(&cn->lock);
		}
	}

	if (READ_ONCE(inst->state) == COLO_STATE_CHECKPOINT &&
	    time_after(jiffies, READ_ONCE(inst->ckpt_since) + tmo)) {
		struct colo_net *cn = colo_pernet(inst->net);

		/* as for fail-open above: decided under the config lock */
		if (mutex_trylock(&cn->lock)) {
			if (inst->state == COLO_STATE_CHECKPOINT) {
				local_bh_disable();
				colo_stat_inc(inst, COLO_STATS_A_CKPT_EXPIRED);
				local_bh_enable();
				pr_info_ratelimited("instance %u: no checkpoint end within %u ms of its begin, comparing again\n",
						    inst->id, inst->timeout_ms);
				colo_checkpoint_end(inst);
			}
			mutex_unlock(&cn->lock);
		}
	}

	__skb_queue_head_init(&sc.stale);
	colo_busy_walk(inst, colo_scan_flow, &sc);

	local_bh_disable();
	if (!skb_queue_empty(&sc.stale)) {
		colo_stat_add(inst, COLO_STATS_A_SEC_EXPIRED,
			      skb_queue_len(&sc.stale));
		colo_drop_list(inst, &sc.stale, COLO_SEC);
	}
	if (sc.expired && READ_ONCE(inst->state) == COLO_STATE_ACTIVE)
		colo_request_checkpoint(inst, COLO_REASON_TIMEOUT, &sc.key,
					false, 0);
	local_bh_enable();
	queue_delayed_work(system_power_efficient_wq, &inst->scan_work,
			   colo_scan_interval(inst));
}

static bool colo_flow_ct_alive(struct colo_instance *inst,
			       const struct colo_flow *flow)
{
	struct nf_conntrack_tuple_hash *h;
	struct nf_conntrack_tuple t = {};

	t.src.l3num = flow->key.family;
	t.src.u3 = flow->key.saddr;
	t.dst.u3 = flow->key.daddr;
	t.src.u.all = flow->key.sport;
	t.dst.u.all = flow->key.dport;
	t.dst.protonum = flow->key.proto;
	h = nf_conntrack_find_get(inst->net, &flow->zone, &t);
	if (!h)
		return false;
	nf_ct_put(nf_ct_tuplehash_to_ctrack(h));
	return true;
}

static bool colo_flow_expired(struct colo_instance *inst,
			      const struct colo_flow *flow, bool reclaim)
{
	unsigned long idle = jiffies - flow->last_used;
	/* the rewriter's state shares its room with the comparator's */
	bool learned = inst->role == COLO_ROLE_SECONDARY && flow->isn_known;

	if (flow->on_busy || !colo_flow_idle(flow))
		return false;
	/*
	 * A rewriter flow (secondary host) holds its connection's learned
	 * offsets: it goes with the conntrack entry, however long the
	 * connection sits idle, or timestamps stop being shifted; a full
	 * table does not reclaim it either.
	 */
	if (idle > COLO_FLOW_IDLE && !learned)
		return true;
	if (idle < COLO_FLOW_GRACE)
		return false;
	/*
	 * The table is full: a flow that held nothing for the grace time
	 * goes even while its connection lives. Its comparison state is
	 * lost; should it talk again it starts afresh as after a
	 * checkpoint, and a difference that causes is a divergence.
	 */
	if (reclaim && !learned)
		return true;
	switch (flow->key.proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		if (flow->has_ct)
			return !colo_flow_ct_alive(inst, flow);
		return true;
	default:
		return idle > 30 * HZ;
	}
}

/* Flows walked between two chances to reschedule. */
#define COLO_GC_BATCH	256
/*
 * A pass looks at an eighth of the table, at least COLO_GC_MIN flows, from
 * where the last one stopped: a table of up to COLO_GC_MIN flows is swept
 * every pass (every second), a larger one in about COLO_GC_PASSES, so the
 * work of a pass, a conntrack lookup for each flow idle past the grace
 * time among it, stays an eighth of what the table holds.
 */
#define COLO_GC_PASSES	8
#define COLO_GC_MIN	1024

/* The next GC pass starts at the table's beginning. */
static void colo_gc_restart(struct colo_instance *inst)
{
	rhashtable_walk_exit(&inst->gc_iter);
	rhashtable_walk_enter(&inst->flows, &inst->gc_iter);
}

/*
 * Free flows whose conntrack entry died, or that sat idle too long, or,
 * when the table filled up (colo_instance_reclaim()), that hold nothing.
 * A reclaim sweeps the whole table at once; other passes go on from where
 * the last one stopped (inst->gc_iter: the walk only compares the flow it
 * stopped at with those in its bucket, so that flow may be freed meanwhile).
 */
static void colo_gc_work(struct work_struct *work)
{
	struct colo_instance *inst = container_of(to_delayed_work(work),
						  struct colo_instance,
						  gc_work);
	struct rhashtable_iter *iter = &inst->gc_iter;
	struct colo_flow *flow = NULL;
	unsigned int n = 0, budget;
	bool reclaim;

	reclaim = test_and_clear_bit(COLO_RECLAIM, &inst->flags);
	if (reclaim) {
		colo_gc_restart(inst);
		budget = UINT_MAX;
	} else {
		budget = max_t(unsigned int,
			       atomic_read(&inst->nflows) / COLO_GC_PASSES,
			       COLO_GC_MIN);
	}
	rhashtable_walk_start(iter);
	while (n < budget && (flow = rhashtable_walk_next(iter))) {
		if (IS_ERR(flow))
			continue;
		spin_lock_bh(&flow->lock);
		if (!flow->dead && colo_flow_expired(inst, flow, reclaim))
			colo_flow_remove(inst, flow);
		spin_unlock_bh(&flow->lock);
		if (++n % COLO_GC_BATCH == 0) {
			rhashtable_walk_stop(iter);
			cond_resched();
			rhashtable_walk_start(iter);
		}
	}
	rhashtable_walk_stop(iter);
	if (!flow)
		colo_gc_restart(inst);	/* the sweep reached the end */
	if (reclaim)
		colo_stat_inc(inst, COLO_STATS_A_FLOWS_RECLAIMS);
	WRITE_ONCE(inst->gc_last, jiffies);
	queue_delayed_work(system_power_efficient_wq, &inst->gc_work,
			   COLO_GC_INTERVAL);
}

/*
 * colo_instance_reclaim - the flow table is full: GC soon, and this time
 * let flows that hold nothing go (colo_flow_expired()). Any context; one
 * request at a time, whatever the packet rate.
 */
void colo_instance_reclaim(struct colo_instance *inst)
{
	if (test_and_set_bit(COLO_RECLAIM, &inst->flags))
		return;
	/*
	 * At once, unless GC walked the table very recently: a spray of new
	 * flows must not keep it walking. The next periodic pass (at most
	 * COLO_GC_INTERVAL away) reclaims then.
	 */
	if (time_after(jiffies, READ_ONCE(inst->gc_last) + COLO_RECLAIM_GAP))
		mod_delayed_work(system_power_efficient_wq, &inst->gc_work, 0);
}

/*
 * The batch of the held byte counts (colo.h): 1/16 of max-bytes spread
 * over the possible CPUs, so that the exact sum, which takes the counter's
 * lock and reads every CPU's part, is needed only within 1/16 of the
 * bound; at most 256 KiB, so that what the shared count misses stays
 * small beside the memory it bounds. A packet's truesize is 768 bytes to
 * 64 KiB and more: with the default 32 MiB and up to 8 CPUs, a CPU folds
 * once in 256 KiB of holds or releases.
 */
#define COLO_HELD_BATCH_MAX	(256 << 10)

static s32 colo_held_batch(u64 max_bytes)
{
	u64 batch = div64_u64(max_bytes, 16ULL * num_possible_cpus());

	return clamp_t(u64, batch, 1, COLO_HELD_BATCH_MAX);
}

/*
 * colo_instance_create - a new instance of @net with @cfg
 * @reserved: bytes of the budget for instances of non-initial user
 *	      namespaces it takes (netlink.c); given back when it is freed
 *
 * Process context (the creator's): its memory cgroup is charged for the
 * instance and its flows.
 */
struct colo_instance *colo_instance_create(struct net *net, u32 id,
					   const struct colo_config *cfg,
					   u64 reserved)
{
	struct colo_instance *inst;
	int ret;

	inst = kzalloc(sizeof(*inst), GFP_KERNEL_ACCOUNT);
	if (!inst)
		return ERR_PTR(-ENOMEM);
	inst->stats = alloc_percpu_gfp(struct colo_stats, GFP_KERNEL_ACCOUNT);
	if (!inst->stats) {
		ret = -ENOMEM;
		goto err_free;
	}
	ret = percpu_counter_init(&inst->held_bytes[COLO_PRI], 0,
				  GFP_KERNEL_ACCOUNT);
	if (ret)
		goto err_stats;
	ret = percpu_counter_init(&inst->held_bytes[COLO_SEC], 0,
				  GFP_KERNEL_ACCOUNT);
	if (ret)
		goto err_held_pri;
	ret = colo_flows_init(inst);
	if (ret)
		goto err_held_sec;
	rhashtable_walk_enter(&inst->flows, &inst->gc_iter);

	refcount_set(&inst->ref, 1);
	inst->net = net;
	inst->id = id;
	inst->timeout_ms = cfg->timeout_ms;
	inst->max_queue = cfg->max_queue;
	inst->max_bytes = cfg->max_bytes;
	inst->held_batch = colo_held_batch(cfg->max_bytes);
	inst->failopen_ms = cfg->failopen_ms;
	inst->max_flows = cfg->max_flows;
	inst->reserved = reserved;
	inst->memcg = get_mem_cgroup_from_mm(current->mm);
	mutex_init(&inst->walk_lock);
	spin_lock_init(&inst->busy_lock);
	INIT_LIST_HEAD(&inst->busy);
	INIT_DELAYED_WORK(&inst->scan_work, colo_scan_work);
	INIT_DELAYED_WORK(&inst->gc_work, colo_gc_work);
	queue_delayed_work(system_power_efficient_wq, &inst->scan_work,
			   colo_scan_interval(inst));
	queue_delayed_work(system_power_efficient_wq, &inst->gc_work,
			   COLO_GC_INTERVAL);
	mutex_lock(&colo_all_lock);
	list_add(&inst->all, &colo_all);
	mutex_unlock(&colo_all_lock);
	return inst;

err_held_sec:
	percpu_counter_destroy(&inst->held_bytes[COLO_SEC]);
err_held_pri:
	percpu_counter_destroy(&inst->held_bytes[COLO_PRI]);
err_stats:
	free_percpu(inst->stats);
err_free:
	kfree(inst);
	return ERR_PTR(ret);
}

/*
 * colo_instance_teardown - take an instance out of service
 * @inst: unlinked from its netns list by the caller
 * @release: release held primary packets (delete, module unload) rather
 *	     than drop them (the netns is going away)
 *
 * Afterwards only rules still pointing at it (netns exit) may see it, and
 * they drop packets because of ->dead. Drops the list's reference.
 */
void colo_instance_teardown(struct colo_instance *inst, bool release)
{
	mutex_lock(&colo_all_lock);
	list_del(&inst->all);
	mutex_unlock(&colo_all_lock);
	WRITE_ONCE(inst->dead, true);
	/*
	 * Packet paths that saw ->dead == false have finished: none can
	 * hold a packet or queue GC (colo_instance_reclaim()) any more.
	 */
	synchronize_rcu();
	cancel_delayed_work_sync(&inst->scan_work);
	cancel_delayed_work_sync(&inst->gc_work);
	rhashtable_walk_exit(&inst->gc_iter);
	colo_flush_all(inst, release);
	/* flows still releasing from a pacer are not freed under it */
	colo_pacer_wait(inst);
	colo_flows_destroy(inst);
	colo_instance_put(inst);
}

static void colo_instance_free_rcu(struct rcu_head *head)
{
	struct colo_instance *inst = container_of(head, struct colo_instance,
						  rcu);

	colo_userns_unreserve(inst->reserved);
	mem_cgroup_put(inst->memcg);
	percpu_counter_destroy(&inst->held_bytes[COLO_SEC]);
	percpu_counter_destroy(&inst->held_bytes[COLO_PRI]);
	free_percpu(inst->stats);
	kfree(inst);
}

void colo_instance_put(struct colo_instance *inst)
{
	if (refcount_dec_and_test(&inst->ref))
		call_rcu(&inst->rcu, colo_instance_free_rcu);
}

typedef bool (*colo_match_t)(const struct sk_buff *skb, const void *arg);

/* Move the packets of @q that @match picks to @drop; flow->lock held. */
static void colo_queue_purge(struct colo_queue *p, struct sk_buff_head *q,
			     colo_match_t match, const void *arg,
			     struct sk_buff_head *drop)
{
	struct sk_buff *skb, *tmp;

	skb_queue_walk_safe(q, skb, tmp) {
		if (!match(skb, arg))
			continue;
		if (q == &p->q) {
			colo_side_unlink(p, skb);
		} else {
			__skb_unlink(skb, q);
			p->bytes -= skb->len;
		}
		__skb_queue_tail(drop, skb);
	}
}

struct colo_purge {
	colo_match_t match;
	const void *arg;
	bool sec;
	struct sk_buff_head drop;	/* primary packets */
	struct sk_buff_head sdrop;	/* secondary packets */
};

/* colo_instance_purge()'s look at one busy flow; flow->lock held. */
static void colo_purge_flow(struct colo_flow *flow, void *arg)
{
	struct colo_held *h = flow->held;
	struct colo_purge *pu = arg;
	struct colo_queue *p;

	if (!h)
		return;		/* released meanwhile: holds nothing */
	p = &h->side[COLO_PRI];
	colo_queue_purge(p, &p->q, pu->match, pu->arg, &pu->drop);
	colo_queue_purge(p, &h->acks, pu->match, pu->arg, &pu->drop);
	if (pu->sec)
		colo_queue_purge(&h->side[COLO_SEC], &h->side[COLO_SEC].q,
				 pu->match, pu->arg, &pu->sdrop);
}

/*
 * Drop held primary packets, and with @sec secondary ones too, for which
 * @match says so. Only flows holding packets are visited: every one is on
 * the busy list (step.c puts it there before its packet path ends, and
 * only a walk that finds it holding nothing takes it off). Process
 * context.
 */
static void colo_instance_purge(struct colo_instance *inst,
				colo_match_t match, const void *arg, bool sec)
{
	struct colo_purge pu = { .match = match, .arg = arg, .sec = sec };

	__skb_queue_head_init(&pu.drop);
	__skb_queue_head_init(&pu.sdrop);
	colo_busy_walk(inst, colo_purge_flow, &pu);
	local_bh_disable();
	colo_drop_list(inst, &pu.drop, COLO_PRI);
	colo_drop_list(inst, &pu.sdrop, COLO_SEC);
	local_bh_enable();
}

static bool colo_match_dev(const struct sk_buff *skb, const void *arg)
{
	const struct net_device *dev = arg;

	return skb->dev == dev || nf_bridge_get_physinif(skb) == dev->ifindex;
}

/*
 * A device goes away: held packets that came in through it go too, the
 * secondary's as well (they hold a reference to it). For NETDEV_UNREGISTER
 * the core has waited for every packet path that could still hold one
 * (synchronize_net() after the device left the device list), so each flow
 * holding one is on the busy list by then.
 */
void colo_instance_dev_gone(struct colo_instance *inst,
			    const struct net_device *dev)
{
	colo_instance_purge(inst, colo_match_dev, dev, true);
}

static bool colo_match_okfn(const struct sk_buff *skb, const void *arg)
{
	const unsigned long *mask = arg;

	return *mask & BIT(COLO_CB(skb)->okfn);
}

/* A module whose okfns are in @mask is going: its packets cannot resume. */
void colo_instance_okfn_gone(struct colo_instance *inst, unsigned long mask)
{
	colo_instance_purge(inst, colo_match_okfn, &mask, false);
}

void colo_stats_read(struct colo_instance *inst, u64 *v)
{
	int cpu, i;

	memset(v, 0, sizeof(u64) * __COLO_STATS_A_MAX);
	for_each_possible_cpu(cpu) {
		const struct colo_stats *s = per_cpu_ptr(inst->stats, cpu);

		for (i = 0; i < __COLO_STATS_A_MAX; i++)
			v[i] += READ_ONCE(s->v[i]);
	}
	/*
	 * The held packet gauges' per-CPU parts add up above; those and the
	 * byte counts are read CPU by CPU while packets move, so a packet
	 * held on one CPU and released on another may be seen released only:
	 * never report less than nothing.
	 */
	for (i = COLO_PRI; i <= COLO_SEC; i++) {
		int pkts = colo_held_stat(i);

		if ((s64)v[pkts] < 0)
			v[pkts] = 0;
		v[i == COLO_PRI ? COLO_STATS_A_PRI_HELD_BYTES :
		  COLO_STATS_A_SEC_HELD_BYTES] =
			max_t(s64, colo_held_bytes(inst, i), 0);
	}
	v[COLO_STATS_A_FLOWS] = atomic_read(&inst->nflows);
}
