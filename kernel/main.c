// SPDX-License-Identifier: GPL-2.0-only
/*
 * xt_COLO: in-kernel COLO packet comparator.
 *
 * Module setup: per-network-namespace state, the netdevice notifier that
 * lets go of packets held from a device that goes away, the generic
 * netlink family and the xtables target.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <net/genetlink.h>
#include "colo.h"
#include "version.h"

static unsigned int colo_net_id __read_mostly;
/*
 * Set on module exit before the netdevice notifier goes: unregistering it
 * replays NETDEV_DOWN/UNREGISTER for every device, which must not drop the
 * packets that the per-netns exit is about to release.
 */
static bool colo_unloading;

struct colo_net *colo_pernet(struct net *net)
{
	return net_generic(net, colo_net_id);
}

static int __net_init colo_net_init(struct net *net)
{
	struct colo_net *cn = colo_pernet(net);

	mutex_init(&cn->lock);
	INIT_LIST_HEAD(&cn->instances);
	return 0;
}

/*
 * Runs for every netns when the module goes (rules are gone then: each
 * holds a module reference) and for a netns being dismantled. Held primary
 * packets are released in the first case and dropped in the second: a
 * dying netns has nowhere to send them.
 */
static void __net_exit colo_net_exit(struct net *net)
{
	struct colo_net *cn = colo_pernet(net);
	struct colo_instance *inst, *tmp;
	bool release = check_net(net);

	mutex_lock(&cn->lock);
	list_for_each_entry_safe(inst, tmp, &cn->instances, list) {
		list_del_rcu(&inst->list);
		colo_instance_teardown(inst, release);
	}
	mutex_unlock(&cn->lock);
}

static struct pernet_operations colo_net_ops = {
	.init = colo_net_init,
	.exit = colo_net_exit,
	.id = &colo_net_id,
	.size = sizeof(struct colo_net),
};

static int colo_netdev_event(struct notifier_block *nb, unsigned long event,
			     void *ptr)
{
	struct net_device *dev = netdev_notifier_info_to_dev(ptr);
	struct colo_net *cn = colo_pernet(dev_net(dev));
	struct colo_instance *inst;

	if (event != NETDEV_DOWN && event != NETDEV_UNREGISTER)
		return NOTIFY_DONE;
	if (READ_ONCE(colo_unloading))
		return NOTIFY_DONE;
	mutex_lock(&cn->lock);
	list_for_each_entry(inst, &cn->instances, list)
		colo_instance_dev_gone(inst, dev);
	mutex_unlock(&cn->lock);
	return NOTIFY_DONE;
}

static struct notifier_block colo_netdev_notifier = {
	.notifier_call = colo_netdev_event,
};

/*
 * A module (br_netfilter) whose okfn held packets would resume into is
 * going away: its hooks are unregistered already, its code not yet freed.
 */
static int colo_module_event(struct notifier_block *nb, unsigned long event,
			     void *data)
{
	struct colo_instance *inst;
	unsigned long mask;

	if (event != MODULE_STATE_GOING)
		return NOTIFY_DONE;
	mask = colo_okfns_forget(data);
	if (!mask)
		return NOTIFY_DONE;
	mutex_lock(&colo_all_lock);
	list_for_each_entry(inst, &colo_all, all)
		colo_instance_okfn_gone(inst, mask);
	mutex_unlock(&colo_all_lock);
	return NOTIFY_DONE;
}

static struct notifier_block colo_module_notifier = {
	.notifier_call = colo_module_event,
};

static int __init colo_init(void)
{
	int ret;

	ret = colo_flow_cache_init();
	if (ret)
		return ret;
	colo_pacer_init();
	ret = register_pernet_subsys(&colo_net_ops);
	if (ret)
		goto err_pacer;
	ret = register_netdevice_notifier(&colo_netdev_notifier);
	if (ret)
		goto err_pernet;
	ret = register_module_notifier(&colo_module_notifier);
	if (ret)
		goto err_netdev;
	ret = colo_genl_init();
	if (ret)
		goto err_module;
	ret = colo_target_init();
	if (ret)
		goto err_genl;
	return 0;

err_genl:
	colo_genl_exit();
err_module:
	unregister_module_notifier(&colo_module_notifier);
err_netdev:
	unregister_netdevice_notifier(&colo_netdev_notifier);
err_pernet:
	unregister_pernet_subsys(&colo_net_ops);
err_pacer:
	colo_pacer_exit();
	colo_flow_cache_exit();
	return ret;
}

static void __exit colo_exit(void)
{
	colo_target_exit();
	colo_genl_exit();
	unregister_module_notifier(&colo_module_notifier);
	WRITE_ONCE(colo_unloading, true);
	unregister_netdevice_notifier(&colo_netdev_notifier);
	unregister_pernet_subsys(&colo_net_ops);
	colo_pacer_exit();	/* no instance left to pace */
	rcu_barrier();	/* instance and flow frees */
	colo_flow_cache_exit();
}

module_init(colo_init);
module_exit(colo_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Xtables: COLO packet comparator and TCP rewriter");
MODULE_AUTHOR("xt_COLO developers");
MODULE_ALIAS("ipt_COLO");
MODULE_ALIAS("ip6t_COLO");
MODULE_ALIAS_GENL_FAMILY(COLO_GENL_NAME);
MODULE_VERSION(XT_COLO_VERSION);
