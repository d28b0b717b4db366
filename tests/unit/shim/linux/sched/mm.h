/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * User-space shim (tests/unit): the active memory cgroup, which
 * set_active_memcg() makes the target of __GFP_ACCOUNT charges. One task:
 * the harness's slab shim records whether an allocation was charged.
 */
#ifndef _SHIM_LINUX_SCHED_MM_H
#define _SHIM_LINUX_SCHED_MM_H

struct mem_cgroup;

extern struct mem_cgroup *shim_active_memcg;

static inline struct mem_cgroup *set_active_memcg(struct mem_cgroup *memcg)
{
	struct mem_cgroup *old = shim_active_memcg;

	shim_active_memcg = memcg;
	return old;
}

#endif
