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

static bool colo_fits(struct colo_instance *inst, struct colo_flow *flow,
		      int side, const struct sk_buff *skb)
{
	if ((side == COLO_PRI ? colo_flow_pri_len(flow) :
	     skb_queue_len(&flow->side[side].q)) >= inst->max_queue)
		return false;
	if (atomic_long_read(&inst->held_bytes[side]) + skb->len >
	    inst->max_bytes)
		return false;
	return true;
}

static void colo_account_hold(struct colo_instance *inst, int side,
			      const struct sk_buff *skb)
{
	atomic_long_add(skb->len, &inst->held_bytes[side]);
	atomic_inc(&inst->held_pkts[side]);
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
	colo_account_hold(inst, COLO_PRI, piece);
	colo_stat_inc(inst, COLO_STATS_A_RELEASED_PARTIAL);
	__skb_queue_tail(rel, piece);
}

static void colo_compare(struct colo_instance *inst, struct colo_flow *flow,
			 struct sk_buff_head *rel, struct sk_buff_head *drop,
			 struct colo_verdict *v)
{
	if (flow->key.proto != IPPROTO_TCP) {
		colo_compare_dgram(flow, rel, drop, v);
		return;
	}
	colo_compare_tcp(flow, rel, drop, v);
	if (v->lowered) {
		struct sk_buff *skb = v->lowered;
		unsigned int len = skb->len;

		/* held bytes follow a header that grew */
		if (colo_tcp_lower_ack(skb, &v->info))
			COLO_CB(skb)->discard = 1;
		else
			atomic_long_add(skb->len - len,
					&inst->held_bytes[COLO_PRI]);
		v->lowered = NULL;
	}
	if (v->part) {
		/* the head's matched front, behind what the walk released */
		colo_piece(inst, v->part, v->part_to, rel);
		v->part = NULL;
	}
}

/*
 * With the flow lock held: what was decided leaves, in order behind what
 * the flow has on its way out already. Drops the lock.
 */
static void colo_release(struct colo_instance *inst, struct colo_flow *flow,
			 struct sk_buff_head *rel)
	__releases(&flow->lock)
{
	skb_queue_splice_tail_init(rel, &flow->out);
	colo_flow_release(inst, flow);
}

/* After the flow lock is dropped: events, counters and drops. */
static void colo_finish(struct colo_instance *inst, struct colo_flow *flow,
			struct sk_buff_head *drop, struct colo_verdict *v,
			bool busy, bool equal)
{
	u32 ndrop = skb_queue_len(drop);

	if (v->reason)
		colo_request_checkpoint(inst, v->reason, &flow->key,
					v->has_off, v->off);
	if (busy)
		colo_flow_mark_busy(inst, flow);
	colo_drop_list(inst, drop, COLO_SEC);
	if (ndrop && equal)
		colo_stat_add(inst, COLO_STATS_A_COMPARED_EQUAL, ndrop);
}

/*
 * A primary packet inside a checkpoint window (instance.c): the guest sent
 * it before it stopped, so it leaves uncompared, behind whatever the flow
 * still held: a CPU that saw the state before the window may have held a
 * packet after BEGIN's flush passed this flow. The flow's comparison state
 * is left alone; END starts it afresh. With the flow lock held; drops it.
 */
static void colo_ckpt_window(struct colo_instance *inst,
			     struct colo_flow *flow, struct sk_buff *skb)
	__releases(&flow->lock)
{
	struct sk_buff_head rel;

	__skb_queue_head_init(&rel);
	if (!colo_flow_pri_empty(flow))
		colo_compare_flush(flow, &rel);
	dev_hold(skb->dev);
	colo_account_hold(inst, COLO_PRI, skb);
	__skb_queue_tail(&rel, skb);
	colo_stat_inc(inst, COLO_STATS_A_CKPT_RELEASED);
	colo_release(inst, flow, &rel);
}

static unsigned int colo_primary(struct colo_instance *inst,
				 struct sk_buff *skb,
				 const struct nf_hook_state *state)
{
	struct sk_buff_head rel, drop;
	struct colo_verdict v = {};
	struct colo_ack_info info = {};
	struct colo_flow_key key;
	struct colo_flow *flow;
	enum ip_conntrack_info ctinfo;
	struct nf_conn *ct;
	bool busy = false, equal;
	u8 istate;
	int okfn;

	colo_stat_inc(inst, COLO_STATS_A_PRI_PACKETS);
	colo_stat_add(inst, COLO_STATS_A_PRI_BYTES, skb->len);

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
	flow = okfn < 0 ? NULL : colo_flow_get(inst, &key);
	if (!flow) {
		colo_stat_inc(inst, COLO_STATS_A_PRI_DROPPED);
		return NF_DROP;
	}
	COLO_CB(skb)->okfn = okfn;
	if (info.ts) {		/* a lowered ack may need it (compare.c) */
		COLO_CB(skb)->tsval = info.tsval;
		COLO_CB(skb)->ts = 1;
	}
	COLO_CB(skb)->time = (u32)jiffies;

	__skb_queue_head_init(&rel);
	__skb_queue_head_init(&drop);

	spin_lock_bh(&flow->lock);
	if (unlikely(flow->dead)) {
		/* lost a race with GC: rare, the peer retransmits */
		spin_unlock_bh(&flow->lock);
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
	if (unlikely(istate == COLO_STATE_CHECKPOINT)) {
		colo_ckpt_window(inst, flow, skb);	/* unlocks */
		return NF_STOLEN;
	}
	if (key.proto == IPPROTO_TCP) {
		v.reason = colo_tcp_note(flow, COLO_PRI, skb, NULL);
		if (!v.reason && colo_tcp_is_retransmit(flow, skb)) {
			spin_unlock_bh(&flow->lock);
			colo_stat_inc(inst, COLO_STATS_A_PASSED);
			return XT_CONTINUE;
		}
	}
	if (!colo_fits(inst, flow, COLO_PRI, skb)) {
		spin_unlock_bh(&flow->lock);
		colo_request_checkpoint(inst, COLO_REASON_QUEUE_FULL, &key,
					false, 0);
		colo_stat_inc(inst, COLO_STATS_A_PRI_DROPPED);
		return NF_DROP;
	}

	dev_hold(skb->dev);
	colo_account_hold(inst, COLO_PRI, skb);
	if (key.proto == IPPROTO_TCP) {
		u32 n = colo_tcp_retransmit_front(flow, skb);

		/* a retransmission's compared front goes at once (segment.c) */
		if (n)
			colo_piece(inst, skb, n, &rel);
		colo_tcp_queue(flow, COLO_PRI, skb);
	} else {
		colo_dgram_queue(flow, COLO_PRI, skb);
	}
	colo_compare(inst, flow, &rel, &drop, &v);
	if (!colo_flow_pri_empty(flow) && !flow->on_busy) {
		flow->on_busy = 1;
		busy = true;
	}
	/*
	 * Even when this packet is the only one to go it is reinjected, not
	 * let continue from here: another CPU may be releasing this flow's
	 * earlier packets, and it must not overtake them.
	 */
	equal = !flow->diverged;
	colo_release(inst, flow, &rel);		/* unlocks */

	colo_finish(inst, flow, &drop, &v, busy, equal);
	return NF_STOLEN;
}

static unsigned int colo_secondary(struct colo_instance *inst,
				   struct sk_buff *skb)
{
	struct sk_buff_head rel, drop;
	struct colo_verdict v = {};
	struct colo_ack_info info = {};
	struct colo_flow_key key;
	struct colo_flow *flow;
	const struct colo_skb_cb *cb;
	bool busy = false, equal;

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
	cb = COLO_CB(skb);

	flow = colo_flow_get(inst, &key);
	if (!flow)
		goto consume;

	__skb_queue_head_init(&rel);
	__skb_queue_head_init(&drop);

	spin_lock_bh(&flow->lock);
	if (unlikely(flow->dead)) {
		spin_unlock_bh(&flow->lock);
		goto consume;
	}
	flow->last_used = jiffies;
	if (key.proto == IPPROTO_TCP) {
		v.reason = colo_tcp_note(flow, COLO_SEC, skb, &info);
		/* pure acks, RSTs and copies of compared data: nothing to
		 * hold, but the ack may let primary packets go
		 */
		if (flow->diverged ||
		    (cb->len == 0 && !(cb->flags & (TCPHDR_SYN | TCPHDR_FIN)))) {
			colo_compare(inst, flow, &rel, &drop, &v);
			equal = !flow->diverged;
			colo_release(inst, flow, &rel);	/* unlocks */
			colo_finish(inst, flow, &drop, &v, false, equal);
			goto consume;
		}
	} else if (flow->diverged) {
		spin_unlock_bh(&flow->lock);
		goto consume;
	}
	if (!colo_fits(inst, flow, COLO_SEC, skb)) {
		if (!flow->diverged)
			flow->diverged = 1;
		spin_unlock_bh(&flow->lock);
		colo_request_checkpoint(inst, COLO_REASON_QUEUE_FULL, &key,
					false, 0);
		goto consume;
	}
	colo_account_hold(inst, COLO_SEC, skb);
	if (key.proto == IPPROTO_TCP)
		colo_tcp_queue(flow, COLO_SEC, skb);
	else
		colo_dgram_queue(flow, COLO_SEC, skb);
	colo_compare(inst, flow, &rel, &drop, &v);
	if (!colo_flow_pri_empty(flow) && !flow->on_busy) {
		flow->on_busy = 1;
		busy = true;
	}
	equal = !flow->diverged;
	colo_release(inst, flow, &rel);		/* unlocks */

	colo_finish(inst, flow, &drop, &v, busy, equal);
	return NF_STOLEN;

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

static int colo_tg_check(const struct xt_tgchk_param *par)
{
	struct xt_colo_tginfo *info = par->targinfo;
	struct colo_net *cn = colo_pernet(par->net);
	struct colo_instance *inst;
	const char *table;
	u8 role;
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
	if (inst->role != COLO_ROLE_NONE && inst->role != role) {
		pr_info_ratelimited("instance %u is a %s-host instance: %s does not fit\n",
				    info->instance,
				    inst->role == COLO_ROLE_PRIMARY ?
				    "primary" : "secondary",
				    colo_role_names[info->role]);
		ret = -EINVAL;
		goto err;
	}
	inst->role = role;
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
	 * itself stays until its last reference. Its role stays what the
	 * first rule made it.
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
