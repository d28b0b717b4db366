// SPDX-License-Identifier: GPL-2.0-only
/*
 * xt_COLO: the COLO xtables target.
 *
 * --primary (mangle PREROUTING): the primary guest's output is stolen and
 * held per flow until the secondary guest produced the same, then released
 * into the rest of its path (colo_reinject()).
 * --secondary (raw PREROUTING, before conntrack so the secondary's copies
 * never touch the primary's conntrack entries): compared and consumed.
 * --rewrite / --rewrite-client: see rewrite.c.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/skbuff.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <linux/netfilter.h>
#include <linux/netfilter/x_tables.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/tcp.h>
#include <net/netfilter/nf_conntrack.h>
#include "colo.h"

static void __maybe_unused colo_cb_check(void)
{
	BUILD_BUG_ON(sizeof(struct inet_skb_parm) > COLO_CB_OFFSET);
	BUILD_BUG_ON(sizeof(struct inet6_skb_parm) > COLO_CB_OFFSET);
	BUILD_BUG_ON(COLO_CB_OFFSET + sizeof(struct colo_skb_cb) >
		     sizeof_field(struct sk_buff, cb));
}

/*
 * IPv6 neighbour discovery and MLD are link-local housekeeping whose timing
 * differs between the guests: passed uncompared from the primary, dropped
 * from the secondary.
 */
static bool colo_icmpv6_local(u8 type)
{
	switch (type) {
	case ICMPV6_MGM_QUERY:
	case ICMPV6_MGM_REPORT:
	case ICMPV6_MGM_REDUCTION:
	case NDISC_ROUTER_SOLICITATION:
	case NDISC_ROUTER_ADVERTISEMENT:
	case NDISC_NEIGHBOUR_SOLICITATION:
	case NDISC_NEIGHBOUR_ADVERTISEMENT:
	case NDISC_REDIRECT:
	case ICMPV6_MLD2_REPORT:
		return true;
	}
	return false;
}

enum colo_parse {
	COLO_PARSE_OK,
	COLO_PARSE_BAD,		/* malformed: dropped and counted */
	COLO_PARSE_LOCAL,	/* IPv6 ND/MLD: not compared */
};

/* The SACK blocks and timestamp echo of an ack with options. */
static void colo_parse_ack_info(const struct sk_buff *skb, unsigned int thoff,
				const struct tcphdr *th,
				struct colo_ack_info *info)
{
	unsigned int optlen = th->doff * 4 - sizeof(*th);
	u8 _opt[MAX_TCP_OPTION_SPACE];
	const u8 *opt;

	info->n = 0;
	info->ts = false;
	if (!th->ack || optlen < TCPOLEN_TIMESTAMP)
		return;
	opt = skb_header_pointer(skb, thoff + sizeof(*th), optlen, _opt);
	if (opt)
		colo_tcp_ack_info_parse(opt, optlen, info);
}

/*
 * colo_parse - fill the flow key and COLO_CB() of a packet
 *
 * Lengths come from the IP header (the stack trimmed the skb to it before
 * PREROUTING), never from the frame, so Ethernet padding is not payload.
 * Extension headers are walked for IPv6. Works on non-linear skbs. With
 * @info, a TCP ack's SACK blocks and timestamps are read into it (with
 * @pure_only, a pure ack's only).
 */
static enum colo_parse colo_parse(struct sk_buff *skb,
				  struct colo_flow_key *key,
				  struct colo_ack_info *info, bool pure_only)
{
	struct colo_skb_cb *cb = COLO_CB(skb);
	unsigned int nhoff = skb_network_offset(skb);
	unsigned int thoff, end;
	u8 proto;

	memset(key, 0, sizeof(*key));
	memset(cb, 0, sizeof(*cb));

	if (skb->protocol == htons(ETH_P_IP)) {
		struct iphdr _iph;
		const struct iphdr *iph;

		iph = skb_header_pointer(skb, nhoff, sizeof(_iph), &_iph);
		if (!iph || iph->ihl < 5)
			return COLO_PARSE_BAD;
		if (ip_is_fragment(iph))
			return COLO_PARSE_BAD;	/* nf_defrag reassembles */
		end = nhoff + ntohs(iph->tot_len);
		thoff = nhoff + iph->ihl * 4;
		proto = iph->protocol;
		key->family = NFPROTO_IPV4;
		key->saddr.ip = iph->saddr;
		key->daddr.ip = iph->daddr;
	} else if (skb->protocol == htons(ETH_P_IPV6)) {
		struct ipv6hdr _ip6h;
		const struct ipv6hdr *ip6h;
		__be16 frag_off;
		int off;

		ip6h = skb_header_pointer(skb, nhoff, sizeof(_ip6h), &_ip6h);
		if (!ip6h)
			return COLO_PARSE_BAD;
		end = ntohs(ip6h->payload_len);
		end = end ? nhoff + sizeof(*ip6h) + end : skb->len; /* jumbo */
		proto = ip6h->nexthdr;
		off = ipv6_skip_exthdr(skb, nhoff + sizeof(*ip6h), &proto,
				       &frag_off);
		if (off < 0 || (frag_off & htons(~0x7)))
			return COLO_PARSE_BAD;
		thoff = off;
		key->family = NFPROTO_IPV6;
		key->saddr.in6 = ip6h->saddr;
		key->daddr.in6 = ip6h->daddr;
	} else {
		return COLO_PARSE_BAD;
	}
	if (end > skb->len || thoff > end)
		return COLO_PARSE_BAD;
	key->proto = proto;

	switch (proto) {
	case IPPROTO_TCP: {
		struct tcphdr _th;
		const struct tcphdr *th;

		th = skb_header_pointer(skb, thoff, sizeof(_th), &_th);
		if (!th || th->doff < 5 || thoff + th->doff * 4 > end)
			return COLO_PARSE_BAD;
		key->sport = th->source;
		key->dport = th->dest;
		cb->seq = ntohl(th->seq);
		cb->ack = ntohl(th->ack_seq);
		cb->flags = tcp_flag_byte(th);
		cb->poff = thoff + th->doff * 4 - nhoff;
		cb->len = end - thoff - th->doff * 4;
		/* the primary's: only a pure ack's timestamps are kept */
		if (info && (!pure_only || colo_pure_ack(cb)))
			colo_parse_ack_info(skb, thoff, th, info);
		break;
	}
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE: {
		struct udphdr _uh;
		const struct udphdr *uh;

		uh = skb_header_pointer(skb, thoff, sizeof(_uh), &_uh);
		if (!uh || thoff + sizeof(_uh) > end)
			return COLO_PARSE_BAD;
		key->sport = uh->source;
		key->dport = uh->dest;
		cb->poff = thoff + sizeof(_uh) - nhoff;
		cb->len = end - thoff - sizeof(_uh);
		break;
	}
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6: {
		u8 _h[8];
		const u8 *h;

		if (thoff + 4 > end)
			return COLO_PARSE_BAD;
		h = skb_header_pointer(skb, thoff, 4, _h);
		if (!h)
			return COLO_PARSE_BAD;
		if (proto == IPPROTO_ICMPV6 && colo_icmpv6_local(h[0]))
			return COLO_PARSE_LOCAL;
		/* echo request/reply: the id is part of the flow */
		if (thoff + 8 <= end &&
		    ((proto == IPPROTO_ICMP &&
		      (h[0] == ICMP_ECHO || h[0] == ICMP_ECHOREPLY)) ||
		     (proto == IPPROTO_ICMPV6 &&
		      (h[0] == ICMPV6_ECHO_REQUEST ||
		       h[0] == ICMPV6_ECHO_REPLY)))) {
			h = skb_header_pointer(skb, thoff, 8, _h);
			if (!h)
				return COLO_PARSE_BAD;
			memcpy(&key->sport, h + 4, 2);
		}
		cb->poff = thoff - nhoff;	/* the whole message */
		cb->len = end - thoff;
		break;
	}
	default:
		cb->poff = thoff - nhoff;
		cb->len = end - thoff;
		break;
	}
	return COLO_PARSE_OK;
}

/*
 * The secondary's packets carry the guest's address as source, like the
 * primary's: both use the same key. Nothing to swap.
 */

/*
 * With the flow lock held: what the step decided leaves, in order behind
 * what the flow has on its way out already. Drops the lock. Then events,
 * counters and drops.
 */
static void colo_step_finish(struct colo_instance *inst,
			     struct colo_flow *flow, struct colo_step *st)
	__releases(&flow->lock)
{
	u32 ndrop = skb_queue_len(&st->drop);

	/* packets to release: the flow has its queues (step.c) */
	if (!skb_queue_empty(&st->rel))
		skb_queue_splice_tail_init(&st->rel, &flow->held->out);
	colo_flow_release(inst, flow);		/* unlocks */

	if (st->v.reason)
		colo_request_checkpoint(inst, st->v.reason, &flow->key,
					st->v.has_off, st->v.off);
	if (st->busy)
		colo_flow_mark_busy(inst, flow);
	colo_drop_list(inst, &st->drop, COLO_SEC);
	if (ndrop && st->equal)
		colo_stat_add(inst, COLO_STATS_A_COMPARED_EQUAL, ndrop);
}

/*
 * A held packet keeps its device (released packets resume from it; held
 * ones are purged when it goes, instance.c) and, should it have one
 * already (bridged), its route: it outlives the RCU section it came in.
 */
static void colo_hold_refs(struct sk_buff *skb)
{
	dev_hold(skb->dev);
	skb_dst_force(skb);
}

static unsigned int colo_primary(struct colo_instance *inst,
				 struct sk_buff *skb,
				 const struct nf_hook_state *state)
{
	struct colo_ack_info info = {};
	struct colo_flow_key key;
	struct colo_flow *flow;
	enum ip_conntrack_info ctinfo;
	struct colo_step st;
	struct nf_conn *ct;
	int okfn, retried = 0;
	u8 istate;

	colo_stat_inc(inst, COLO_STATS_A_PRI_PACKETS);
	colo_stat_add(inst, COLO_STATS_A_PRI_BYTES, skb->len);

	/*
	 * Read once: failover and fail-open set a new state, wait until no
	 * packet path can still act on the old one (synchronize_net()), then
	 * flush every flow. A packet held under the old state is found by
	 * that flush.
	 */
	istate = READ_ONCE(inst->state);
	if (istate != COLO_STATE_ACTIVE && istate != COLO_STATE_CHECKPOINT) {
		colo_stat_inc(inst, COLO_STATS_A_PASSED);
		return XT_CONTINUE;
	}

	switch (colo_parse(skb, &key, &info, true)) {
	case COLO_PARSE_OK:
		break;
	case COLO_PARSE_LOCAL:
		colo_stat_inc(inst, COLO_STATS_A_PASSED);
		return XT_CONTINUE;
	default:
		colo_stat_inc(inst, COLO_STATS_A_MALFORMED);
		colo_stat_inc(inst, COLO_STATS_A_PRI_DROPPED);
		return NF_DROP;
	}

	okfn = colo_okfn_index(state->okfn);
	if (unlikely(okfn < 0)) {
		colo_stat_inc(inst, COLO_STATS_A_PRI_DROPPED);
		return NF_DROP;
	}
	COLO_CB(skb)->okfn = okfn;
	if (info.ts) {		/* a lowered ack may need it (compare.c) */
		COLO_CB(skb)->tsval = info.tsval;
		COLO_CB(skb)->ts = 1;
	}
	COLO_CB(skb)->time = (u32)jiffies;

	colo_step_init(&st);
again:
	flow = colo_flow_find(inst, &key);
	if (!flow) {
		colo_stat_inc(inst, COLO_STATS_A_PRI_DROPPED);
		return NF_DROP;
	}
	spin_lock_bh(&flow->lock);
	if (unlikely(flow->dead)) {
		spin_unlock_bh(&flow->lock);
		if (!retried++)
			goto again;
		colo_stat_inc(inst, COLO_STATS_A_PRI_DROPPED);
		return NF_DROP;
	}
	flow->last_used = jiffies;
	if (!flow->has_ct) {
		ct = nf_ct_get(skb, &ctinfo);
		if (ct) {
			flow->zone = *nf_ct_zone(ct);
			flow->has_ct = 1;
		}
	}
	switch (colo_step_primary(inst, flow, skb,
				  istate == COLO_STATE_CHECKPOINT, &st)) {
	case COLO_FATE_PASSED:
		spin_unlock_bh(&flow->lock);
		colo_stat_inc(inst, COLO_STATS_A_PASSED);
		return XT_CONTINUE;
	case COLO_FATE_FULL:
		spin_unlock_bh(&flow->lock);
		colo_request_checkpoint(inst, COLO_REASON_QUEUE_FULL, &key,
					false, 0);
		colo_stat_inc(inst, COLO_STATS_A_PRI_DROPPED);
		return NF_DROP;
	default:
		break;
	}
	/*
	 * Even when this packet is the only one to go it is reinjected, not
	 * let continue from here: another CPU may be releasing this flow's
	 * earlier packets, and it must not overtake them.
	 */
	colo_hold_refs(skb);
	colo_step_finish(inst, flow, &st);	/* unlocks */
	return NF_STOLEN;
}

static unsigned int colo_secondary(struct colo_instance *inst,
				   struct sk_buff *skb)
{
	struct colo_ack_info info = {};
	struct colo_flow_key key;
	struct colo_flow *flow;
	struct colo_step st;
	int retried = 0;

	colo_stat_inc(inst, COLO_STATS_A_SEC_PACKETS);
	colo_stat_add(inst, COLO_STATS_A_SEC_BYTES, skb->len);

	if (READ_ONCE(inst->state) != COLO_STATE_ACTIVE)
		goto consume;

	switch (colo_parse(skb, &key, &info, false)) {
	case COLO_PARSE_OK:
		break;
	case COLO_PARSE_LOCAL:
		goto consume;
	default:
		colo_stat_inc(inst, COLO_STATS_A_MALFORMED);
		goto consume;
	}
	COLO_CB(skb)->time = (u32)jiffies;

	colo_step_init(&st);
again:
	flow = colo_flow_find(inst, &key);
	if (!flow)
		goto consume;
	spin_lock_bh(&flow->lock);
	if (unlikely(flow->dead)) {
		spin_unlock_bh(&flow->lock);
		if (!retried++)
			goto again;
		goto consume;
	}
	flow->last_used = jiffies;
	switch (colo_step_secondary(inst, flow, skb, &info, &st)) {
	case COLO_FATE_HELD:
		colo_hold_refs(skb);
		colo_step_finish(inst, flow, &st);	/* unlocks */
		return NF_STOLEN;
	case COLO_FATE_FULL:
		spin_unlock_bh(&flow->lock);
		colo_request_checkpoint(inst, COLO_REASON_QUEUE_FULL, &key,
					false, 0);
		goto consume;
	default:
		colo_step_finish(inst, flow, &st);	/* unlocks */
		goto consume;
	}

consume:
	colo_stat_inc(inst, COLO_STATS_A_SEC_DROPPED);
	consume_skb(skb);
	return NF_STOLEN;
}

static unsigned int colo_tg(struct sk_buff *skb,
			    const struct xt_action_param *par)
{
	const struct xt_colo_tginfo *info = par->targinfo;
	struct colo_instance *inst = info->inst;

	/* the netns is being dismantled under a rule that still exists */
	if (unlikely(READ_ONCE(inst->dead)))
		return NF_DROP;

	switch (info->role) {
	case XT_COLO_ROLE_PRIMARY:
		return colo_primary(inst, skb, par->state);
	case XT_COLO_ROLE_SECONDARY:
		return colo_secondary(inst, skb);
	default:
		return colo_rewrite(inst, skb, par, info->role);
	}
}

static const char *const colo_role_names[] = {
	[XT_COLO_ROLE_PRIMARY] = "--primary",
	[XT_COLO_ROLE_SECONDARY] = "--secondary",
	[XT_COLO_ROLE_REWRITE] = "--rewrite",
	[XT_COLO_ROLE_REWRITE_CLIENT] = "--rewrite-client",
};

static const char *const colo_host_names[] = {
	[COLO_ROLE_PRIMARY] = "primary",
	[COLO_ROLE_SECONDARY] = "secondary",
};

/*
 * The instance takes the role of the rule's host (colo_instance_role():
 * unless rules or flows of the other one remain). Should the rest of the
 * table change fail, the rule's destroy undoes it.
 */
static int colo_tg_check(const struct xt_tgchk_param *par)
{
	struct xt_colo_tginfo *info = par->targinfo;
	struct colo_net *cn = colo_pernet(par->net);
	struct colo_instance *inst;
	const char *table;
	u8 role, cur;
	int ret;

	if (info->flags || info->reserved || info->instance == 0) {
		pr_info_ratelimited("invalid target options (instance 0 or reserved bits set)\n");
		return -EINVAL;
	}
	if (info->role == XT_COLO_ROLE_UNSPEC ||
	    info->role > XT_COLO_ROLE_MAX) {
		pr_info_ratelimited("unknown role %u\n", info->role);
		return -EINVAL;
	}
	/*
	 * Only ip and ip6 tables: the packet path parses IP headers and
	 * resumes a held packet at the IPv4/IPv6 PREROUTING hooks. Through
	 * nft_compat an inet, bridge, arp or netdev table could name itself
	 * "mangle" too; an inet chain may also sit at any priority, before
	 * conntrack, where releasing would skip it.
	 */
	if (par->family != NFPROTO_IPV4 && par->family != NFPROTO_IPV6) {
		pr_info_ratelimited("%s works only in ip and ip6 tables (iptables, ip6tables), not in family %u\n",
				    colo_role_names[info->role], par->family);
		return -EINVAL;
	}
	table = info->role == XT_COLO_ROLE_SECONDARY ? "raw" : "mangle";
	if (strcmp(par->table, table) ||
	    par->hook_mask != (1 << NF_INET_PRE_ROUTING)) {
		pr_info_ratelimited("%s works only in the %s table, chain PREROUTING (rule in table %s)\n",
				    colo_role_names[info->role], table,
				    par->table);
		return -EINVAL;
	}
	role = info->role <= XT_COLO_ROLE_SECONDARY ? COLO_ROLE_PRIMARY :
						     COLO_ROLE_SECONDARY;

	ret = nf_ct_netns_get(par->net, par->family);
	if (ret < 0) {
		pr_info_ratelimited("cannot load conntrack for family %u\n",
				    par->family);
		return ret;
	}

	mutex_lock(&cn->lock);
	inst = colo_instance_find(cn, info->instance);
	if (!inst) {
		pr_info_ratelimited("instance %u does not exist (coloctl instance add %u)\n",
				    info->instance, info->instance);
		ret = -ENOENT;
		goto err;
	}
	cur = colo_instance_role(inst);
	if (cur != COLO_ROLE_NONE && cur != role) {
		if (atomic_read(&inst->rules))
			pr_info_ratelimited("instance %u is a %s-host instance: %s does not fit\n",
					    info->instance,
					    colo_host_names[cur],
					    colo_role_names[info->role]);
		else
			pr_info_ratelimited("instance %u has no rules but %d flows of its %s-host role: %s does not fit until they are gone (coloctl instance del %u, then add)\n",
					    info->instance,
					    atomic_read(&inst->nflows),
					    colo_host_names[cur],
					    colo_role_names[info->role],
					    info->instance);
		ret = -EINVAL;
		goto err;
	}
	WRITE_ONCE(inst->role, role);
	atomic_inc(&inst->rules);
	refcount_inc(&inst->ref);
	info->inst = inst;
	mutex_unlock(&cn->lock);
	return 0;
err:
	mutex_unlock(&cn->lock);
	nf_ct_netns_put(par->net, par->family);
	return ret;
}

static void colo_tg_destroy(const struct xt_tgdtor_param *par)
{
	struct xt_colo_tginfo *info = par->targinfo;
	struct colo_instance *inst = info->inst;

	/*
	 * No mutex here: destroy also runs from the table's netns exit,
	 * possibly after our own per-netns state is gone. The instance
	 * itself stays until its last reference. Its role stays, and holds
	 * while rules or flows remain (colo_instance_role()): a rule whose
	 * table change failed after its checkentry leaves none behind.
	 */
	atomic_dec(&inst->rules);
	colo_instance_put(inst);
	nf_ct_netns_put(par->net, par->family);
}

static struct xt_target colo_tg_reg __read_mostly = {
	.name		= "COLO",
	.revision	= 0,
	.family		= NFPROTO_UNSPEC,
	.target		= colo_tg,
	.targetsize	= sizeof(struct xt_colo_tginfo),
	.usersize	= offsetof(struct xt_colo_tginfo, inst),
	.checkentry	= colo_tg_check,
	.destroy	= colo_tg_destroy,
	.hooks		= 1 << NF_INET_PRE_ROUTING,
	.me		= THIS_MODULE,
};

int colo_target_init(void)
{
	return xt_register_target(&colo_tg_reg);
}

void colo_target_exit(void)
{
	xt_unregister_target(&colo_tg_reg);
}
