/* SPDX-License-Identifier: GPL-2.0-only */
/* User-space shim (tests/unit): types only; the harness has no table. */
#ifndef _SHIM_LINUX_RHASHTABLE_H
#define _SHIM_LINUX_RHASHTABLE_H

#include <linux/types.h>
#include <linux/mutex.h>

struct rhash_head {
	struct rhash_head __rcu *next;
};

struct rhashtable {
	void *tbl;
	unsigned int key_len;
	unsigned int max_elems;
	struct mutex mutex;
};

struct rhashtable_iter {
	struct rhashtable *ht;
	struct rhash_head *p;
	unsigned int slot;
	unsigned int skip;
	bool end_of_table;
};

#endif
