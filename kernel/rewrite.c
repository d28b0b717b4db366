// SPDX-License-Identifier: GPL-2.0-only
/*
 * xt_COLO rewriter, on the secondary host (QEMU's filter-rewriter).
 *
 * The two guests pick different initial sequence numbers. The client only
 * ever talks to the primary's sequence space, so per TCP flow the secondary
 * guest's output is shifted into it, and the client's acks (mirrored to the
 * secondary) are shifted back. Conntrack's SEQADJ extension does the
 * shifting (seq, ack and SACK blocks, at confirm time); we only learn the
 * offset:
 *   --rewrite        sees the secondary guest's SYN or SYN-ACK: its ISN;
 *   --rewrite-client sees the client's first ACK of that ISN's
 *                    connection: it acks the primary's ISN + 1.
 * SEQADJ must be added while the conntrack entry is unconfirmed, so both
 * rules add it to every new TCP flow. The offset is learned one packet
 * after conntrack's window check saw that packet, so those flows are made
 * window-liberal (IP_CT_TCP_FLAG_BE_LIBERAL) instead of patching the kernel.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/tcp.h>
#include <linux/netfilter/x_tables.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_core.h>
#include <net/netfilter/nf_conntrack_seqadj.h>
#include <net/netfilter/nf_conntrack_zones.h>
#include "colo.h"

static void colo_rewrite_key(const struct nf_conn *ct,
			     enum ip_conntrack_dir dir, bool from_guest,
			     struct colo_flow_key *key)
{
	const struct nf_conntrack_tuple *t = &ct->tuplehash[dir].tuple;

	memset(key, 0, sizeof(*key));
	key->family = t->src.l3num;
	key->proto = IPPROTO_TCP;
	if (from_guest) {
		key->saddr = t->src.u3;
		key->daddr = t->dst.u3;
		key->sport = t->src.u.all;
		key->dport = t->dst.u.all;
	} else {
		key->saddr = t->dst.u3;
		key->daddr = t->src.u3;
		key->sport = t->dst.u.all;
		key->dport = t->src.u.all;
	}
}

unsigned int colo_rewrite(struct colo_instance *inst, struct sk_buff *skb,
			  const struct xt_action_param *par, u8 role)
{
	enum ip_conntrack_info ctinfo;
	struct colo_flow_key key;
	enum ip_conntrack_dir dir;
	const struct tcphdr *th;
	struct colo_flow *flow;
	struct tcphdr _th;
	struct nf_conn *ct;
	bool learn = false;
	s32 off = 0;

	colo_stat_inc(inst, COLO_STATS_A_REWRITE_PACKETS);
	ct = nf_ct_get(skb, &ctinfo);
	if (!ct || nf_ct_protonum(ct) != IPPROTO_TCP || par->fragoff)
		return XT_CONTINUE;
	th = skb_header_pointer(skb, par->thoff, sizeof(_th), &_th);
	if (!th)
		return XT_CONTINUE;

	if (!nf_ct_is_confirmed(ct)) {
		/* after failover new connections are left alone */
		if (READ_ONCE(inst->state) != COLO_STATE_ACTIVE)
			return XT_CONTINUE;
		if (!nfct_seqadj(ct) && !nfct_seqadj_ext_add(ct))
			return XT_CONTINUE;
		spin_lock_bh(&ct->lock);
		ct->proto.tcp.seen[0].flags |= IP_CT_TCP_FLAG_BE_LIBERAL;
		ct->proto.tcp.seen[1].flags |= IP_CT_TCP_FLAG_BE_LIBERAL;
		spin_unlock_bh(&ct->lock);
	}
	if (!nfct_seqadj(ct))
		return XT_CONTINUE;	/* the flow predates the rules */

	dir = CTINFO2DIR(ctinfo);
	colo_rewrite_key(ct, dir, role == XT_COLO_ROLE_REWRITE, &key);
	flow = colo_flow_get(inst, &key);
	if (!flow)
		return XT_CONTINUE;

	spin_lock_bh(&flow->lock);
	if (flow->dead)
		goto out;
	flow->last_used = jiffies;
	if (!flow->has_ct) {
		flow->zone = *nf_ct_zone(ct);
		flow->has_ct = 1;
	}
	if (flow->learned)
		goto out;
	if (role == XT_COLO_ROLE_REWRITE) {
		if (th->syn) {
			flow->isn_s = ntohl(th->seq);
			flow->isn_known = 1;
			flow->guest_dir = dir;
		}
	} else if (th->ack && !th->rst && flow->isn_known &&
		   READ_ONCE(inst->state) == COLO_STATE_ACTIVE) {
		/* the client acks the primary's ISN + 1 */
		off = (s32)(ntohl(th->ack_seq) - 1 - flow->isn_s);
		flow->learned = 1;
		learn = true;
		dir = flow->guest_dir;
	}
out:
	spin_unlock_bh(&flow->lock);

	if (learn) {
		/* applied to this very packet's ack at confirm time */
		nf_ct_seqadj_init(ct, dir == IP_CT_DIR_ORIGINAL ?
				  IP_CT_ESTABLISHED : IP_CT_ESTABLISHED_REPLY,
				  off);
		colo_stat_inc(inst, COLO_STATS_A_REWRITTEN);
	}
	return XT_CONTINUE;
}

/*
 * Checkpoint on the secondary host: the secondary guest is now a copy of
 * the primary, sequence numbers included, so every offset goes to zero.
 * Process context.
 */
void colo_rewrite_reset(struct colo_instance *inst)
{
	struct rhashtable_iter iter;
	struct colo_flow *flow;

	rhashtable_walk_enter(&inst->flows, &iter);
	rhashtable_walk_start(&iter);
	while ((flow = rhashtable_walk_next(&iter))) {
		struct nf_conntrack_tuple_hash *h;
		struct nf_conntrack_tuple t = {};
		struct nf_conn_seqadj *seqadj;
		struct nf_conn *ct;

		if (IS_ERR(flow) || !flow->has_ct)
			continue;
		t.src.l3num = flow->key.family;
		t.src.u3 = flow->key.saddr;
		t.dst.u3 = flow->key.daddr;
		t.src.u.all = flow->key.sport;
		t.dst.u.all = flow->key.dport;
		t.dst.protonum = IPPROTO_TCP;
		h = nf_conntrack_find_get(inst->net, &flow->zone, &t);
		if (!h)
			continue;
		ct = nf_ct_tuplehash_to_ctrack(h);
		seqadj = nfct_seqadj(ct);
		if (seqadj) {
			spin_lock_bh(&ct->lock);
			memset(seqadj->seq, 0, sizeof(seqadj->seq));
			spin_unlock_bh(&ct->lock);
		}
		nf_ct_put(ct);
		spin_lock_bh(&flow->lock);
		flow->learned = 1;	/* copies now: nothing to learn */
		spin_unlock_bh(&flow->lock);
	}
	rhashtable_walk_stop(&iter);
	rhashtable_walk_exit(&iter);
}
