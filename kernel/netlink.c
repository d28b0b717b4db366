// SPDX-License-Identifier: GPL-2.0-only
/*
 * xt_COLO generic netlink family "colo": instance configuration, counters,
 * checkpoint and failover commands, and the "events" multicast group.
 * The attribute tree of every command is documented in uapi xt_COLO.h.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/user_namespace.h>
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

static struct netlink_range_validation colo_flows_range = {
	.min = 1, .max = COLO_MAX_FLOWS_LIMIT,
};

static const struct nla_policy colo_policy[COLO_A_MAX + 1] = {
	[COLO_A_MAX_FLOWS] = NLA_POLICY_FULL_RANGE(NLA_U32, &colo_flows_range),
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

/*
 * Instances of network namespaces owned by a user namespace other than the
 * initial one: anyone may create those (unshare -Urn), so their limits are
 * capped and all of them together hold at most a budget of memory, taken
 * when one is created (both sides' max-bytes) and given back when it is
 * freed. Root in the initial user namespace sets these.
 */
static unsigned int userns_max_bytes = 4 << 20;
module_param(userns_max_bytes, uint, 0644);
MODULE_PARM_DESC(userns_max_bytes,
		 "max-bytes cap of an instance in a non-initial user namespace (default 4 MiB)");

static unsigned int userns_max_flows = 4096;
module_param(userns_max_flows, uint, 0644);
MODULE_PARM_DESC(userns_max_flows,
		 "max-flows cap of an instance in a non-initial user namespace (default 4096)");

static unsigned int userns_max_ms = 60000;
module_param(userns_max_ms, uint, 0644);
MODULE_PARM_DESC(userns_max_ms,
		 "timeout and fail-open cap (ms) of an instance in a non-initial user namespace; fail-open 0 (never) is refused there (default 60000)");

static unsigned long userns_budget = 64 << 20;
module_param(userns_budget, ulong, 0644);
MODULE_PARM_DESC(userns_budget,
		 "bytes all instances in non-initial user namespaces may hold together (default 64 MiB)");

static atomic64_t colo_userns_reserved = ATOMIC64_INIT(0);

void colo_userns_unreserve(u64 bytes)
{
	if (bytes)
		atomic64_sub(bytes, &colo_userns_reserved);
}

/* Why a setting is refused in a non-initial user namespace. */
static void colo_userns_msg(int attr, struct netlink_ext_ack *extack)
{
	switch (attr) {
	case COLO_A_MAX_BYTES:
		NL_SET_ERR_MSG_MOD(extack,
				   "max-bytes above the cap for a non-initial user namespace (module parameter userns_max_bytes)");
		break;
	case COLO_A_MAX_FLOWS:
		NL_SET_ERR_MSG_MOD(extack,
				   "max-flows above the cap for a non-initial user namespace (module parameter userns_max_flows)");
		break;
	case COLO_A_TIMEOUT_MS:
		NL_SET_ERR_MSG_MOD(extack,
				   "timeout above the cap for a non-initial user namespace (module parameter userns_max_ms)");
		break;
	default:
		NL_SET_ERR_MSG_MOD(extack,
				   "failopen above the cap for a non-initial user namespace (module parameter userns_max_ms)");
		break;
	}
}

/* A setting above its cap: refused if given, else it takes the cap. */
static int colo_userns_cap(u64 *v, u64 cap, struct genl_info *info, int attr)
{
	if (*v <= cap)
		return 0;
	if (info->attrs[attr]) {
		colo_userns_msg(attr, info->extack);
		NL_SET_BAD_ATTR(info->extack, info->attrs[attr]);
		return -EPERM;
	}
	*v = cap;
	return 0;
}

static int colo_userns_cap32(u32 *v, u32 cap, struct genl_info *info,
			     int attr)
{
	u64 v64 = *v;
	int ret = colo_userns_cap(&v64, cap, info, attr);

	*v = v64;
	return ret;
}

/*
 * Apply the caps to @cfg for an instance of @net; @given tells which
 * settings the request gave. Given values above a cap are refused, absent
 * ones take the cap when the default is above it. Returns the bytes to
 * reserve (0 in the initial user namespace) or a negative errno.
 */
static s64 colo_userns_limit(struct net *net, struct colo_config *cfg,
			     struct genl_info *info)
{
	struct nlattr **a = info->attrs;
	u64 bytes;

	if (net->user_ns == &init_user_ns)
		return 0;
	if (colo_userns_cap(&cfg->max_bytes,
			    max_t(u64, READ_ONCE(userns_max_bytes), COLO_MIN_BYTES),
			    info, COLO_A_MAX_BYTES) ||
	    colo_userns_cap32(&cfg->max_flows,
			      max_t(u32, READ_ONCE(userns_max_flows), 1),
			      info, COLO_A_MAX_FLOWS) ||
	    colo_userns_cap32(&cfg->timeout_ms,
			      max_t(u32, READ_ONCE(userns_max_ms), 10),
			      info, COLO_A_TIMEOUT_MS) ||
	    colo_userns_cap32(&cfg->failopen_ms,
			      max_t(u32, READ_ONCE(userns_max_ms), 10),
			      info, COLO_A_FAILOPEN_MS))
		return -EPERM;
	if (cfg->failopen_ms == 0) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "failopen 0 (never) is not allowed in a non-initial user namespace");
		NL_SET_BAD_ATTR(info->extack, a[COLO_A_FAILOPEN_MS]);
		return -EPERM;
	}
	bytes = 2 * cfg->max_bytes;
	if (atomic64_add_return(bytes, &colo_userns_reserved) >
	    READ_ONCE(userns_budget)) {
		atomic64_sub(bytes, &colo_userns_reserved);
		NL_SET_ERR_MSG_MOD(info->extack,
				   "the memory budget of instances in non-initial user namespaces is taken (parameter userns_budget)");
		return -ENOSPC;
	}
	return bytes;
}

static int colo_nl_instance_new(struct sk_buff *skb, struct genl_info *info)
{
	struct net *net = genl_info_net(info);
	struct colo_net *cn = colo_pernet(net);
	struct colo_config cfg = {
		.timeout_ms = COLO_DEFAULT_TIMEOUT_MS,
		.max_queue = COLO_DEFAULT_MAX_QUEUE,
		.max_bytes = COLO_DEFAULT_MAX_BYTES,
		.failopen_ms = COLO_DEFAULT_FAILOPEN_MS,
		.max_flows = COLO_DEFAULT_MAX_FLOWS,
	};
	struct nlattr **a = info->attrs;
	struct colo_instance *inst;
	s64 reserved;
	u32 id;
	int ret = 0;

	if (GENL_REQ_ATTR_CHECK(info, COLO_A_INSTANCE))
		return -EINVAL;
	id = nla_get_u32(a[COLO_A_INSTANCE]);
	if (a[COLO_A_TIMEOUT_MS])
		cfg.timeout_ms = nla_get_u32(a[COLO_A_TIMEOUT_MS]);
	if (a[COLO_A_MAX_QUEUE])
		cfg.max_queue = nla_get_u32(a[COLO_A_MAX_QUEUE]);
	if (a[COLO_A_MAX_BYTES])
		cfg.max_bytes = nla_get_u64(a[COLO_A_MAX_BYTES]);
	if (a[COLO_A_FAILOPEN_MS])
		cfg.failopen_ms = nla_get_u32(a[COLO_A_FAILOPEN_MS]);
	if (a[COLO_A_MAX_FLOWS])
		cfg.max_flows = nla_get_u32(a[COLO_A_MAX_FLOWS]);

	mutex_lock(&cn->lock);
	if (colo_instance_find(cn, id)) {
		NL_SET_ERR_MSG_MOD(info->extack, "instance already exists");
		NL_SET_BAD_ATTR(info->extack, a[COLO_A_INSTANCE]);
		ret = -EEXIST;
		goto out;
	}
	reserved = colo_userns_limit(net, &cfg, info);
	if (reserved < 0) {
		ret = reserved;
		goto out;
	}
	inst = colo_instance_create(net, id, &cfg, reserved);
	if (IS_ERR(inst)) {
		colo_userns_unreserve(reserved);
		ret = PTR_ERR(inst);
		goto out;
	}
	inst->seq = ++cn->seq;
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
	    nla_put_u32(msg, COLO_A_MAX_FLOWS, inst->max_flows) ||
	    nla_put_u8(msg, COLO_A_ROLE, colo_instance_role(inst)) ||
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

/*
 * cb->args[0]: creation number (inst->seq) of the last instance dumped.
 * The list is in creation order, so the dump resumes behind it even when
 * that instance was deleted in the meantime.
 */
static int colo_nl_instance_dump(struct sk_buff *skb,
				 struct netlink_callback *cb)
{
	struct colo_net *cn = colo_pernet(sock_net(skb->sk));
	struct colo_instance *inst;
	u64 last = cb->args[0];

	mutex_lock(&cn->lock);
	list_for_each_entry(inst, &cn->instances, list) {
		if (inst->seq <= last)
			continue;
		if (colo_nl_fill(skb, inst, NETLINK_CB(cb->skb).portid,
				 cb->nlh->nlmsg_seq, NLM_F_MULTI))
			break;
		cb->args[0] = inst->seq;
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

/* An event a listener did not get; any context. */
static void colo_event_lost(struct colo_instance *inst, int err)
{
	local_bh_disable();
	colo_stat_inc(inst, COLO_STATS_A_EVENTS_LOST);
	local_bh_enable();
	pr_info_ratelimited("instance %u: an event was lost (%d), counted in events_lost\n",
			    inst->id, err);
}

/*
 * colo_notify - send an event on the "events" group of the instance's netns
 *
 * Any context (GFP_ATOMIC). An event that listeners exist for but do not
 * get counts in events_lost: no memory for it, or their receive buffers
 * full (each sees ENOBUFS on its socket too). netlink_broadcast() tells
 * the sender of a full buffer only as -ENOBUFS, when that listener set
 * NETLINK_BROADCAST_ERROR (coloctl does), or as -ESRCH, when no listener
 * got the event. A full listener without the flag beside one that got the
 * event yields 0: there is no per-listener result, so that loss cannot be
 * seen here and is not counted (the listener's ENOBUFS is its trace).
 * With listeners seen just before, -ESRCH is a lone helper too slow to
 * read, and counts; the rare other cause, the last listener leaving in
 * between, then counts as well, which errs on the side of looking. No
 * listener at all is no loss: nobody is there to miss the event, and what
 * matters is kept for the next one (a checkpoint request stays pending,
 * COLO_A_PENDING, and a helper that starts reads it).
 */
void colo_notify(struct colo_instance *inst, u8 cmd, u8 reason,
		 const struct colo_flow_key *key, bool has_off, u64 off)
{
	struct sk_buff *msg;
	void *hdr;
	int ret;

	if (!genl_has_listeners(&colo_genl_family, inst->net,
				COLO_MCGRP_EVENTS))
		return;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_ATOMIC);
	if (!msg) {
		colo_event_lost(inst, -ENOMEM);
		return;
	}
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
	ret = genlmsg_multicast_netns(&colo_genl_family, inst->net, msg, 0,
				      COLO_MCGRP_EVENTS, GFP_ATOMIC);
	if (ret)
		colo_event_lost(inst, ret);
	return;
err:
	nlmsg_free(msg);
	colo_event_lost(inst, -EMSGSIZE);
}

int colo_genl_init(void)
{
	return genl_register_family(&colo_genl_family);
}

void colo_genl_exit(void)
{
	genl_unregister_family(&colo_genl_family);
}
