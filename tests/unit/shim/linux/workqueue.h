/* SPDX-License-Identifier: GPL-2.0-only */
/* User-space shim (tests/unit): types only. */
#ifndef _SHIM_LINUX_WORKQUEUE_H
#define _SHIM_LINUX_WORKQUEUE_H

#include <linux/types.h>

struct work_struct {
	atomic64_t data;
	struct list_head entry;
	void (*func)(struct work_struct *work);
};

struct timer_list {
	struct hlist_node entry;
	unsigned long expires;
	void (*function)(struct timer_list *timer);
	u32 flags;
};

struct delayed_work {
	struct work_struct work;
	struct timer_list timer;
	int cpu;
};

#endif
