// SPDX-License-Identifier: GPL-2.0-only
/*
 * xt_COLO generic netlink family "colo": instance configuration, counters,
 * checkpoint and failover commands, and the "events" multicast group.
 * The attribute tree of every command is documented in uapi xt_COLO.h.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <net/genetlink.h>
#include <net/netlink.h>
#include "colo.h"

static struct genl_family colo_genl_family;

enum colo_mcgrp {
	COLO_MCGRP_EVENTS,
};

static const struct genl_multicast_group colo_mcgrps[] = {
	/* events carry flow addresses */
	[COLO_MCGRP_EVENTS] = { .name = COLO_GENL_MCGRP_EVENTS,
				.flags = GENL_MCAST_CAP_NET_ADMIN, },
};

static struct netlink_range_validation colo_timeout_range = {
	.min = 10, .max = COLO_MAX_TIMEOUT_MS,
};

static struct netlink_range_validation colo_failopen_range = {
	.min = 0, .max = COLO_MAX_TIMEOUT_MS,
};

static struct netlink_range_validation colo_queue_range = {
	.min = 1, .max = COLO_MAX_QUEUE_LIMIT,
};

static struct netlink_range_validation colo_bytes_range = {
	.min = COLO_MIN_BYTES, .max = COLO_MAX_BYTES_LIMIT,
};

static const struct nla_policy colo_policy[COLO_A_MAX + 1] = {
	[COLO_A_INSTANCE] = NLA_POLICY_MIN(NLA_U32, 1),
	[COLO_A_TIMEOUT_MS] = NLA_POLICY_FULL_RANGE(NLA_U32,
						    &colo_timeout_range),
	[COLO_A_MAX_QUEUE] = NLA_POLICY_FULL_RANGE(NLA_U32, &colo_queue_range),
	[COLO_A_MAX_BYTES] = NLA_POLICY_FULL_RANGE(NLA_U64, &colo_bytes_range),
	[COLO_A_FAILOPEN_MS] = NLA_POLICY_FULL_RANGE(NLA_U32,
						     &colo_failopen_range),
	[COLO_A_PHASE] = NLA_POLICY_MAX(NLA_U8, COLO_CHECKPOINT_MAX),
};

static struct colo_instance *colo_nl_instance(struct colo_net *cn,
					      struct genl_info *info)
{
	struct colo_instance *inst;
	u32 id;

	if (GENL_REQ_ATTR_CHECK(info, COLO_A_INSTANCE))
		return ERR_PTR(-EINVAL);
	id = nla_get_u32(info->attrs[COLO_A_INSTANCE]);
	inst = colo_instance_find(cn, id);
	if (!inst) {
		NL_SET_ERR_MSG_MOD(info->extack, "instance does not exist");
		NL_SET_BAD_ATTR(info->extack, info->attrs[COLO_A_INSTANCE]);
		return ERR_PTR(-ENOENT);
	}
	return inst;
}

static int colo_nl_instance_new(struct sk_buff *skb, struct genl_info *info)
{
	struct colo_net *cn = colo_pernet(genl_info_net(info));
	u32 timeout = COLO_DEFAULT_TIMEOUT_MS, queue = COLO_DEFAULT_MAX_QUEUE;
	u32 failopen = COLO_DEFAULT_FAILOPEN_MS;
	u64 bytes = COLO_DEFAULT_MAX_BYTES;
	struct colo_instance *inst;
	u32 id;
	int ret = 0;

	if (GENL_REQ_ATTR_CHECK(info, COLO_A_INSTANCE))
		return -EINVAL;
	id = nla_get_u32(info->attrs[COLO_A_INSTANCE]);
	if (info->attrs[COLO_A_TIMEOUT_MS])
		timeout = nla_get_u32(info->attrs[COLO_A_TIMEOUT_MS]);
	if (info->attrs[COLO_A_MAX_QUEUE])
		queue = nla_get_u32(info->attrs[COLO_A_MAX_QUEUE]);
	if (info->attrs[COLO_A_MAX_BYTES])
		bytes = nla_get_u64(info->attrs[COLO_A_MAX_BYTES]);
	if (info->attrs[COLO_A_FAILOPEN_MS])
		failopen = nla_get_u32(info->attrs[COLO_A_FAILOPEN_MS]);

	mutex_lock(&cn->lock);
	if (colo_instance_find(cn, id)) {
		NL_SET_ERR_MSG_MOD(info->extack, "instance already exists");
		NL_SET_BAD_ATTR(info->extack, info->attrs[COLO_A_INSTANCE]);
		ret = -EEXIST;
		goto out;
	}
	inst = colo_instance_create(genl_info_net(info), id, timeout, queue,
				    bytes, failopen);
	if (IS_ERR(inst)) {
		ret = PTR_ERR(inst);
		goto out;
	}
	list_add_tail_rcu(&inst->list, &cn->instances);
out:
	mutex_unlock(&cn->lock);
	return ret;
}

static int colo_nl_instance_del(struct sk_buff *skb, struct genl_info *info)
{
	struct colo_net *cn = colo_pernet(genl_info_net(info));
	struct colo_instance *inst;
	int ret = 0;

	mutex_lock(&cn->lock);
	inst = colo_nl_instance(cn, info);
	if (IS_ERR(inst)) {
		ret = PTR_ERR(inst);
		goto out;
	}
	if (atomic_read(&inst->rules)) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "instance is used by rules: delete them first");
		ret = -EBUSY;
		goto out;
	}
	list_del_rcu(&inst->list);
	colo_instance_teardown(inst, true);
out:
	mutex_unlock(&cn->lock);
	return ret;
}

static int colo_nl_fill(struct sk_buff *msg, struct colo_instance *inst,
			u32 portid, u32 seq, int flags)
{
	u64 v[__COLO_STATS_A_MAX];
	struct nlattr *nest;
	void *hdr;
	int i;

	hdr = genlmsg_put(msg, portid, seq, &colo_genl_family, flags,
			  COLO_CMD_INSTANCE_GET);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u32(msg, COLO_A_INSTANCE, inst->id) ||
	    nla_put_u32(msg, COLO_A_TIMEOUT_MS, inst->timeout_ms) ||
	    nla_put_u32(msg, COLO_A_MAX_QUEUE, inst->max_queue) ||
	    nla_put_u64_64bit(msg, COLO_A_MAX_BYTES, inst->max_bytes,
			      COLO_A_PAD) ||
	    nla_put_u32(msg, COLO_A_FAILOPEN_MS, inst->failopen_ms) ||
	    nla_put_u8(msg, COLO_A_ROLE, inst->role) ||
	    nla_put_u8(msg, COLO_A_STATE, READ_ONCE(inst->state)) ||
	    nla_put_u32(msg, COLO_A_RULES, atomic_read(&inst->rules)) ||
	    nla_put_u8(msg, COLO_A_PENDING, test_bit(0, &inst->pending)))
		goto nla_put_failure;

	colo_stats_read(inst, v);
	nest = nla_nest_start(msg, COLO_A_STATS);
	if (!nest)
		goto nla_put_failure;
	for (i = COLO_STATS_A_PAD + 1; i < __COLO_STATS_A_MAX; i++)
		if (nla_put_u64_64bit(msg, i, v[i], COLO_STATS_A_PAD))
			goto nla_put_failure;
	nla_nest_end(msg, nest);
	genlmsg_end(msg, hdr);
	return 0;

nla_put_failure:
	genlmsg_cancel(msg, hdr);
	return -EMSGSIZE;
}

static int colo_nl_instance_get(struct sk_buff *skb, struct genl_info *info)
{
	struct colo_net *cn = colo_pernet(genl_info_net(info));
	struct colo_instance *inst;
	struct sk_buff *msg;
	int ret;

	msg = nlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	mutex_lock(&cn->lock);
	inst = colo_nl_instance(cn, info);
	if (IS_ERR(inst)) {
		ret = PTR_ERR(inst);
		goto err;
	}
	ret = colo_nl_fill(msg, inst, info->snd_portid, info->snd_seq, 0);
	if (ret)
		goto err;
	mutex_unlock(&cn->lock);
	return genlmsg_reply(msg, info);
err:
	mutex_unlock(&cn->lock);
	nlmsg_free(msg);
	return ret;
}

/* cb->args[0]: id of the last instance dumped (ids are never 0). */
static int colo_nl_instance_dump(struct sk_buff *skb,
				 struct netlink_callback *cb)
{
	struct colo_net *cn = colo_pernet(sock_net(skb->sk));
	struct colo_instance *inst;
	u32 last = cb->args[0];
	bool skip = last != 0;

	mutex_lock(&cn->lock);
	list_for_each_entry(inst, &cn->instances, list) {
		if (skip) {
			if (inst->id == last)
				skip = false;
			continue;
		}
		if (colo_nl_fill(skb, inst, NETLINK_CB(cb->skb).portid,
				 cb->nlh->nlmsg_seq, NLM_F_MULTI))
			break;
		cb->args[0] = inst->id;
	}
	mutex_unlock(&cn->lock);
	return skb->len;
}

/*
 * checkpoint and failover: look up the instance and act on it under the
 * config lock; neither applies to an instance that has failed over.
 */
static int colo_nl_act(struct genl_info *info, bool failover)
{
	struct colo_net *cn = colo_pernet(genl_info_net(info));
	u8 phase = COLO_CHECKPOINT_NOW;
	struct colo_instance *inst;
	int ret = 0;

	if (info->attrs[COLO_A_PHASE])
		phase = nla_get_u8(info->attrs[COLO_A_PHASE]);

	mutex_lock(&cn->lock);
	inst = colo_nl_instance(cn, info);
	if (IS_ERR(inst)) {
		ret = PTR_ERR(inst);
		goto out;
	}
	if (inst->state == COLO_STATE_FAILED_OVER) {
		if (failover) {
			NL_SET_ERR_MSG_MOD(info->extack,
					   "instance has failed over already");
			ret = -EALREADY;
		} else {
			NL_SET_ERR_MSG_MOD(info->extack,
					   "instance has failed over: nothing to checkpoint");
			ret = -EINVAL;
		}
		goto out;
	}
	if (failover)
		colo_instance_failover(inst);
	else
		colo_instance_checkpoint(inst, phase);
out:
	mutex_unlock(&cn->lock);
	return ret;
}

static int colo_nl_checkpoint(struct sk_buff *skb, struct genl_info *info)
{
	return colo_nl_act(info, false);
}

static int colo_nl_failover(struct sk_buff *skb, struct genl_info *info)
{
	return colo_nl_act(info, true);
}

static const struct genl_ops colo_genl_ops[] = {
	{
		.cmd = COLO_CMD_INSTANCE_NEW,
		.doit = colo_nl_instance_new,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = COLO_CMD_INSTANCE_DEL,
		.doit = colo_nl_instance_del,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = COLO_CMD_INSTANCE_GET,
		.doit = colo_nl_instance_get,
		.dumpit = colo_nl_instance_dump,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = COLO_CMD_CHECKPOINT,
		.doit = colo_nl_checkpoint,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = COLO_CMD_FAILOVER,
		.doit = colo_nl_failover,
		.flags = GENL_UNS_ADMIN_PERM,
	},
};

static struct genl_family colo_genl_family __ro_after_init = {
	.name = COLO_GENL_NAME,
	.version = COLO_GENL_VERSION,
	.maxattr = COLO_A_MAX,
	.policy = colo_policy,
	.netnsok = true,
	.parallel_ops = false,
	.module = THIS_MODULE,
	.ops = colo_genl_ops,
	.n_ops = ARRAY_SIZE(colo_genl_ops),
	.resv_start_op = COLO_CMD_FAILOVER + 1,
	.mcgrps = colo_mcgrps,
	.n_mcgrps = ARRAY_SIZE(colo_mcgrps),
};

static int colo_put_flow(struct sk_buff *msg, const struct colo_flow_key *key)
{
	int alen = key->family == NFPROTO_IPV4 ? 4 : 16;
	struct nlattr *nest;

	nest = nla_nest_start(msg, COLO_A_FLOW);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u8(msg, COLO_FLOW_A_FAMILY,
		       key->family == NFPROTO_IPV4 ? AF_INET : AF_INET6) ||
	    nla_put_u8(msg, COLO_FLOW_A_PROTO, key->proto) ||
	    nla_put(msg, COLO_FLOW_A_SADDR, alen, &key->saddr) ||
	    nla_put(msg, COLO_FLOW_A_DADDR, alen, &key->daddr))
		return -EMSGSIZE;
	switch (key->proto) {
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if (key->sport &&
		    nla_put_u16(msg, COLO_FLOW_A_ICMP_ID, ntohs(key->sport)))
			return -EMSGSIZE;
		break;
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
		if (nla_put_u16(msg, COLO_FLOW_A_SPORT, ntohs(key->sport)) ||
		    nla_put_u16(msg, COLO_FLOW_A_DPORT, ntohs(key->dport)))
			return -EMSGSIZE;
		break;
	}
	nla_nest_end(msg, nest);
	return 0;
}

/*
 * colo_notify - send an event on the "events" group of the instance's netns
 *
 * Any context (GFP_ATOMIC). A lost event is counted by netlink as a
 * listener overrun (ENOBUFS on the socket).
 */
void colo_notify(struct colo_instance *inst, u8 cmd, u8 reason,
		 const struct colo_flow_key *key, bool has_off, u64 off)
{
	struct sk_buff *msg;
	void *hdr;

	if (!genl_has_listeners(&colo_genl_family, inst->net,
				COLO_MCGRP_EVENTS))
		return;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_ATOMIC);
	if (!msg)
		return;
	hdr = genlmsg_put(msg, 0, 0, &colo_genl_family, 0, cmd);
	if (!hdr)
		goto err;
	if (nla_put_u32(msg, COLO_A_INSTANCE, inst->id))
		goto err;
	if (reason && nla_put_u8(msg, COLO_A_REASON, reason))
		goto err;
	if (key && colo_put_flow(msg, key))
		goto err;
	if (has_off && nla_put_u64_64bit(msg, COLO_A_OFFSET, off, COLO_A_PAD))
		goto err;
	genlmsg_end(msg, hdr);
	genlmsg_multicast_netns(&colo_genl_family, inst->net, msg, 0,
				COLO_MCGRP_EVENTS, GFP_ATOMIC);
	return;
err:
	nlmsg_free(msg);
}

int colo_genl_init(void)
{
	return genl_register_family(&colo_genl_family);
}

void colo_genl_exit(void)
{
	genl_unregister_family(&colo_genl_family);
}
