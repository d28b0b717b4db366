// SPDX-License-Identifier: GPL-2.0-only
/*
 * xt_COLO flow table and packet release.
 *
 * Flows live in a per-instance rhashtable keyed by the IP 5-tuple seen from
 * the guest. Conntrack cannot carry our state (no extension ids left for
 * modules), so like nf_conncount the table is ours, and the GC work item in
 * instance.c checks with nf_conntrack_find_get() whether a flow's conntrack
 * entry still exists.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/delay.h>
#include <linux/memcontrol.h>
#include <linux/sched/mm.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/netfilter_bridge.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include "colo.h"

static const struct rhashtable_params colo_flow_params = {
	.head_offset = offsetof(struct colo_flow, node),
	.key_offset = offsetof(struct colo_flow, key),
	.key_len = sizeof(struct colo_flow_key),
	.automatic_shrinking = true,
};

/*
 * Flows come from a cache of their own: their size is not a kmalloc size
 * class (it would take the next one up), and there may be max-flows of
 * them per instance. So do the packet queues of the flows holding packets
 * (struct colo_held, step.c colo_held_get()), one at most per flow.
 */
static struct kmem_cache *colo_flow_cache __read_mostly;
struct kmem_cache *colo_held_cache __read_mostly;

int colo_flow_cache_init(void)
{
	colo_flow_cache = KMEM_CACHE(colo_flow, 0);
	if (!colo_flow_cache)
		return -ENOMEM;
	colo_held_cache = KMEM_CACHE(colo_held, 0);
	if (!colo_held_cache) {
		kmem_cache_destroy(colo_flow_cache);
		return -ENOMEM;
	}
	return 0;
}

/* Module exit, after rcu_barrier(): every flow is freed. */
void colo_flow_cache_exit(void)
{
	kmem_cache_destroy(colo_held_cache);
	kmem_cache_destroy(colo_flow_cache);
}

/*
 * An idle flow has given its queues back (colo_held_put()) before its lock
 * was let go, so @flow has none; should one be left all the same, nobody
 * can use it any more: the flow is out of the table and idle.
 */
static void colo_flow_free(struct colo_flow *flow)
{
	if (flow->held)
		kmem_cache_free(colo_held_cache, flow->held);
	kmem_cache_free(colo_flow_cache, flow);
}

static void colo_flow_free_rcu(struct rcu_head *head)
{
	colo_flow_free(container_of(head, struct colo_flow, rcu));
}

int colo_flows_init(struct colo_instance *inst)
{
	return rhashtable_init(&inst->flows, &colo_flow_params);
}

static void colo_flow_free_cb(void *ptr, void *arg)
{
	struct colo_flow *flow = ptr;

	/* queues were emptied by the caller of colo_flows_destroy() */
	WARN_ON_ONCE(!colo_flow_idle(flow));
	colo_flow_free(flow);
}

/* No packet path can reach the table any more (RCU grace period passed). */
void colo_flows_destroy(struct colo_instance *inst)
{
	rhashtable_free_and_destroy(&inst->flows, colo_flow_free_cb, NULL);
}

/*
 * colo_flow_get - find or create the flow for @key
 *
 * Called under rcu_read_lock() (netfilter hooks run under it). A new flow
 * counts against the instance's max-flows before it is allocated, so the
 * bound holds exactly however many CPUs race; its memory is charged to the
 * memory cgroup of whoever created the instance (inst->memcg), not to the
 * task a softirq happens to interrupt. Returns ERR_PTR(-ENOSPC) when the
 * table is full (GC is asked to reclaim idle flows at once) and
 * ERR_PTR(-ENOMEM) when memory is short.
 */
struct colo_flow *colo_flow_get(struct colo_instance *inst,
				const struct colo_flow_key *key)
{
	struct colo_flow *flow, *old;
	struct mem_cgroup *memcg;

	flow = rhashtable_lookup(&inst->flows, key, colo_flow_params);
	if (flow)
		return flow;

	if (atomic_inc_return(&inst->nflows) > inst->max_flows) {
		atomic_dec(&inst->nflows);
		colo_instance_reclaim(inst);
		return ERR_PTR(-ENOSPC);
	}
	memcg = set_active_memcg(inst->memcg);
	flow = kmem_cache_zalloc(colo_flow_cache, GFP_ATOMIC | __GFP_ACCOUNT);
	set_active_memcg(memcg);
	if (!flow) {
		atomic_dec(&inst->nflows);
		return ERR_PTR(-ENOMEM);
	}
	flow->key = *key;
	flow->inst = inst;
	spin_lock_init(&flow->lock);
	INIT_LIST_HEAD(&flow->pace);
	INIT_LIST_HEAD(&flow->busy);
	/* no packet queues until it holds a packet (colo_held_get()) */
	flow->last_used = jiffies;

	old = rhashtable_lookup_get_insert_fast(&inst->flows, &flow->node,
						colo_flow_params);
	if (old) {
		colo_flow_free(flow);
		atomic_dec(&inst->nflows);
		return old;	/* another CPU's, or an error */
	}
	return flow;
}

/*
 * colo_flow_find - colo_flow_get() for the packet path
 *
 * The flow of @key, or NULL: the table is full (counted in flows_full and
 * logged) or no memory (counted in flows_nomem), for
 * the comparator and the rewriter alike. GC
 * marks a flow dead and takes it out of the table under its lock, so a
 * packet that finds its flow dead looks once more and gets a new one
 * instead of being lost (callers).
 */
struct colo_flow *colo_flow_find(struct colo_instance *inst,
				 const struct colo_flow_key *key)
{
	struct colo_flow *flow = colo_flow_get(inst, key);

	if (!IS_ERR(flow))
		return flow;
	if (PTR_ERR(flow) == -ENOSPC) {
		colo_stat_inc(inst, COLO_STATS_A_FLOWS_FULL);
		pr_info_ratelimited("instance %u: flow table full (max-flows %u): new flows refused\n",
				    inst->id, inst->max_flows);
	} else {
		colo_stat_inc(inst, COLO_STATS_A_FLOWS_NOMEM);
	}
	return NULL;
}

/*
 * GC: @flow holds nothing and is being marked dead under its lock, which
 * the caller holds: a packet path that finds it dead after taking the lock
 * can no longer find it in the table, and looks up a new one.
 */
void colo_flow_remove(struct colo_instance *inst, struct colo_flow *flow)
{
	lockdep_assert_held(&flow->lock);
	flow->dead = 1;
	rhashtable_remove_fast(&inst->flows, &flow->node, colo_flow_params);
	atomic_dec(&inst->nflows);
	/* not kfree_rcu(): rcu_barrier() at module exit waits for this */
	call_rcu(&flow->rcu, colo_flow_free_rcu);
}

/*
 * colo_flow_mark_busy - make sure the timeout scan sees @flow
 *
 * Called without flow->lock after setting flow->on_busy under it: the scan
 * only takes a flow off the list (under both locks) when it holds nothing,
 * and GC never frees a flow with on_busy set.
 */
void colo_flow_mark_busy(struct colo_instance *inst, struct colo_flow *flow)
{
	spin_lock_bh(&inst->busy_lock);
	if (list_empty(&flow->busy) && !flow->dead)
		list_add_tail(&flow->busy, &inst->busy);
	spin_unlock_bh(&inst->busy_lock);
}

/*
 * okfns seen at PREROUTING (ip_rcv_finish, ip6_rcv_finish, and the
 * br_netfilter ones for bridged taps), kept in a small table so that a held
 * packet needs one byte for its okfn in skb->cb. A module whose okfn we
 * remember may go away while packets that came through it are held:
 * colo_module_event() drops those packets once the module's hooks are gone
 * and before its code is freed.
 */
#define COLO_OKFNS	16
static colo_okfn_t colo_okfns[COLO_OKFNS];
static DEFINE_SPINLOCK(colo_okfn_lock);

int colo_okfn_index(colo_okfn_t okfn)
{
	int i;

	/* all slots: a module going away leaves holes (colo_okfns_forget()) */
	for (i = 0; i < COLO_OKFNS; i++)
		if (READ_ONCE(colo_okfns[i]) == okfn)
			return i;

	/* Slow path, a handful of times per module lifetime. */
	spin_lock_bh(&colo_okfn_lock);
	for (i = 0; i < COLO_OKFNS; i++) {
		if (colo_okfns[i] == okfn)
			goto out;
	}
	for (i = 0; i < COLO_OKFNS; i++) {
		if (!colo_okfns[i]) {
			WRITE_ONCE(colo_okfns[i], okfn);
			goto out;
		}
	}
	i = -ENOSPC;
out:
	spin_unlock_bh(&colo_okfn_lock);
	return i;
}

/* Which remembered okfns live in @mod; they are forgotten. */
unsigned long colo_okfns_forget(const struct module *mod)
{
	unsigned long mask = 0;
	int i;

	spin_lock_bh(&colo_okfn_lock);
	for (i = 0; i < COLO_OKFNS; i++) {
		if (colo_okfns[i] &&
		    within_module((unsigned long)colo_okfns[i], mod)) {
			mask |= BIT(i);
			WRITE_ONCE(colo_okfns[i], NULL);
		}
	}
	spin_unlock_bh(&colo_okfn_lock);
	return mask;
}

static struct nf_hook_entries *colo_hook_entries(struct net *net, u8 pf)
{
	switch (pf) {
	case NFPROTO_IPV4:
		return rcu_dereference(net->nf.hooks_ipv4[NF_INET_PRE_ROUTING]);
	case NFPROTO_IPV6:
		return rcu_dereference(net->nf.hooks_ipv6[NF_INET_PRE_ROUTING]);
	}
	return NULL;
}

/*
 * colo_reinject - continue a stolen primary packet's path
 * @skb: a packet stolen by a --primary rule (mangle PREROUTING)
 *
 * Resumes like nf_reinject() does for NFQUEUE: the hooks registered at
 * PREROUTING after the mangle table's priority run (nat's DNAT, other
 * tables, ...), then the okfn the packet came with. Hooks are looked up
 * now, not when the packet was stolen, so tables added or removed in the
 * meantime are honoured. Base chains registered at exactly the mangle
 * priority besides the one holding the COLO rule are not run again.
 *
 * Runs with BH disabled and no locks held; drops the device reference
 * taken when the packet was held.
 */
void colo_reinject(struct sk_buff *skb)
{
	struct net_device *dev = skb->dev;
	struct net *net = dev_net(dev);
	const struct nf_hook_entries *e;
	struct nf_hook_state state;
	colo_okfn_t okfn;
	u8 pf;
	int ret = 1;

	okfn = READ_ONCE(colo_okfns[COLO_CB(skb)->okfn]);
	if (unlikely(!okfn)) {	/* cannot happen: see colo_okfns_forget() */
		kfree_skb(skb);
		dev_put(dev);
		return;
	}
	pf = skb->protocol == htons(ETH_P_IPV6) ? NFPROTO_IPV6 : NFPROTO_IPV4;
	memset(COLO_CB(skb), 0, sizeof(struct colo_skb_cb));

	nf_hook_state_init(&state, NF_INET_PRE_ROUTING, pf, dev, NULL, NULL,
			   net, okfn);
	rcu_read_lock();
	e = colo_hook_entries(net, pf);
	if (e) {
		struct nf_hook_ops **ops = nf_hook_entries_get_hook_ops(e);
		unsigned int i;

		/* NF_IP_PRI_MANGLE == NF_IP6_PRI_MANGLE */
		for (i = 0; i < e->num_hook_entries; i++)
			if (ops[i]->priority > NF_IP_PRI_MANGLE)
				break;
		if (i < e->num_hook_entries)
			ret = nf_hook_slow(skb, &state, e, i);
	}
	if (ret == 1)
		okfn(net, NULL, skb);
	rcu_read_unlock();
	dev_put(dev);
}

/*
 * A primary packet the engine marked (compare.c): a duplicate is freed, a
 * lowered ack (its header written under the flow lock, target.c) leaves
 * unless that failed. Returns whether it still leaves.
 */
static bool colo_release_special(struct colo_instance *inst,
				 struct sk_buff *skb)
{
	const struct colo_skb_cb *cb = COLO_CB(skb);
	int stat = COLO_STATS_A_PRI_DUPLICATES;

	if (!cb->dup) {
		if (!cb->discard) {
			colo_stat_inc(inst, COLO_STATS_A_ACKS_LOWERED);
			return true;
		}
		stat = COLO_STATS_A_PRI_DROPPED;
	}
	colo_stat_inc(inst, stat);
	dev_put(skb->dev);
	kfree_skb(skb);
	return false;
}

void colo_release_list(struct colo_instance *inst, struct sk_buff_head *list)
{
	struct sk_buff *skb;
	u64 bytes = 0;
	u32 n = 0;

	if (skb_queue_empty(list))
		return;
	local_bh_disable();
	while ((skb = __skb_dequeue(list))) {
		struct colo_skb_cb *cb = COLO_CB(skb);

		colo_hold_unaccount(inst, COLO_PRI, skb);
		if (unlikely(cb->dup || cb->ack_lowered)) {
			if (!colo_release_special(inst, skb))
				continue;
		}
		n++;
		/* a partial copy took the front already (segment.c) */
		if (unlikely(cb->len && cb->sent))
			colo_tcp_cut_sent(skb);
		bytes += skb->len;
		colo_reinject(skb);
	}
	colo_stat_add(inst, COLO_STATS_A_RELEASED, n);
	colo_stat_add(inst, COLO_STATS_A_RELEASED_BYTES, bytes);
	local_bh_enable();
}

/*
 * Releases are paced. One release lets at most COLO_RELEASE_INLINE packets
 * go inline, in the hook or command that decided them; the rest of the
 * flow's @out continues from this CPU's pacer, a NAPI context that the
 * networking core polls with a budget among the devices' own. So a
 * secondary ack or a checkpoint that lets thousands of held packets go
 * neither pushes them all through forwarding nested in one hook with BH
 * off, nor overflows the next device's backlog: the core drains that
 * between two polls. The flow stays ->releasing until its @out is empty,
 * so packets decided meanwhile, on any CPU, join @out and still leave in
 * order. GC leaves such a flow alone (colo_flow_idle()); teardown waits
 * for inst->paced to drop to 0 (colo_pacer_wait()).
 */
#ifndef COLO_RELEASE_INLINE	/* make bench-unpaced: -DCOLO_RELEASE_INLINE=U32_MAX */
#define COLO_RELEASE_INLINE	64
#endif

struct colo_pacer {
	struct napi_struct napi;
	struct list_head flows;		/* flows with packets left in @out;
					 * this CPU's, touched with BH off
					 */
};

static DEFINE_PER_CPU(struct colo_pacer, colo_pacers);
/* NAPI contexts need a device; this one is never registered */
static struct net_device colo_pacer_dev;

/*
 * Release up to @quota packets of @flow's held->out, in order. flow->lock
 * held (dropped and taken again), ->releasing ours: that keeps flow->held
 * from being given back meanwhile (colo_held_put() wants an idle flow).
 * Returns how many went.
 */
static u32 colo_flow_release_some(struct colo_instance *inst,
				  struct colo_flow *flow, u32 quota)
{
	struct sk_buff_head batch;
	struct sk_buff *skb;
	u32 n = 0;

	__skb_queue_head_init(&batch);
	while (n < quota && !skb_queue_empty(&flow->held->out)) {
		while (n < quota && (skb = __skb_dequeue(&flow->held->out))) {
			__skb_queue_tail(&batch, skb);
			n++;
		}
		spin_unlock_bh(&flow->lock);
		colo_release_list(inst, &batch);
		spin_lock_bh(&flow->lock);
	}
	return n;
}

/*
 * colo_flow_release - release what @flow->held->out holds, in order
 *
 * Called with flow->lock held (spin_lock_bh()); returns with it dropped.
 * One CPU at a time releases a flow's packets: if another is at it, or the
 * pacer has the flow, that one takes what was just queued too. The lock is
 * not held while packets go back into the stack. Whoever finishes the
 * release gives the flow's queues back if it holds nothing any more
 * (colo_held_put()); a flow without them has nothing to release.
 */
void colo_flow_release(struct colo_instance *inst, struct colo_flow *flow)
	__releases(&flow->lock)
{
	struct colo_pacer *p;

	if (flow->releasing || !flow->held) {
		spin_unlock_bh(&flow->lock);
		return;
	}
	flow->releasing = 1;
	colo_flow_release_some(inst, flow, COLO_RELEASE_INLINE);
	if (skb_queue_empty(&flow->held->out)) {
		flow->releasing = 0;
		colo_held_put(flow);
		spin_unlock_bh(&flow->lock);
		return;
	}
	/* BH is off: this CPU's pacer, which cannot run before we leave */
	p = this_cpu_ptr(&colo_pacers);
	atomic_inc(&inst->paced);
	list_add_tail(&flow->pace, &p->flows);
	napi_schedule(&p->napi);
	spin_unlock_bh(&flow->lock);
}

static int colo_pacer_poll(struct napi_struct *napi, int budget)
{
	struct colo_pacer *p = container_of(napi, struct colo_pacer, napi);
	int done = 0;

	while (done < budget && !list_empty(&p->flows)) {
		struct colo_flow *flow = list_first_entry(&p->flows,
							  struct colo_flow,
							  pace);
		struct colo_instance *inst = flow->inst;

		/* off the list while released: a nested release may pace */
		list_del_init(&flow->pace);
		spin_lock_bh(&flow->lock);
		done += colo_flow_release_some(inst, flow, budget - done);
		if (!skb_queue_empty(&flow->held->out)) {
			list_add_tail(&flow->pace, &p->flows);
			spin_unlock_bh(&flow->lock);
			continue;
		}
		flow->releasing = 0;
		colo_held_put(flow);
		spin_unlock_bh(&flow->lock);
		/* the last touch: teardown may free flow and instance now */
		atomic_dec(&inst->paced);
	}
	if (done < budget && list_empty(&p->flows))
		napi_complete_done(napi, done);
	return done;
}

void colo_pacer_init(void)
{
	int cpu;

	init_dummy_netdev(&colo_pacer_dev);
	for_each_possible_cpu(cpu) {
		struct colo_pacer *p = per_cpu_ptr(&colo_pacers, cpu);

		INIT_LIST_HEAD(&p->flows);
		netif_napi_add(&colo_pacer_dev, &p->napi, colo_pacer_poll);
		napi_enable(&p->napi);
	}
}

/* Module exit, with every instance gone: nothing is paced any more. */
void colo_pacer_exit(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct colo_pacer *p = per_cpu_ptr(&colo_pacers, cpu);

		napi_disable(&p->napi);
		netif_napi_del(&p->napi);
		WARN_ON_ONCE(!list_empty(&p->flows));
	}
}

/*
 * Teardown: wait until the pacers let go of @inst's flows. They poll as
 * the core schedules them, so this takes a few softirq rounds at most.
 */
void colo_pacer_wait(struct colo_instance *inst)
{
	while (atomic_read(&inst->paced))
		usleep_range(1000, 2000);
}

/*
 * Free held packets. @side tells whose accounting they leave; each drops
 * the device reference taken when it was held.
 */
void colo_drop_list(struct colo_instance *inst, struct sk_buff_head *list,
		    int side)
{
	struct sk_buff *skb;
	u32 n = 0;

	while ((skb = __skb_dequeue(list))) {
		n++;
		colo_hold_unaccount(inst, side, skb);
		dev_put(skb->dev);
		kfree_skb(skb);
	}
	if (n)
		colo_stat_add(inst, side == COLO_PRI ? COLO_STATS_A_PRI_DROPPED :
			      COLO_STATS_A_SEC_DROPPED, n);
}
