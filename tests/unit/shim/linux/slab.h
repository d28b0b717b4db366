/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * User-space shim (tests/unit): slab caches, for the flows' packet queues
 * (struct colo_held, step.c). The harness (harness.c) provides the cache
 * and counts what is taken and given back; shim_slab_fail makes the next
 * allocations fail, as GFP_ATOMIC ones may under memory pressure.
 */
#ifndef _SHIM_LINUX_SLAB_H
#define _SHIM_LINUX_SLAB_H

#include <linux/types.h>
#include <linux/gfp.h>

struct kmem_cache {
	size_t size;		/* object size */
	long objects;		/* taken and not given back */
	long allocs;		/* taken, ever */
	gfp_t gfp;		/* the last allocation's flags */
	bool charged;		/* it happened with an active memcg */
	unsigned int fail;	/* fail this many allocations (then work) */
};

void *kmem_cache_alloc(struct kmem_cache *cache, gfp_t gfp);
void kmem_cache_free(struct kmem_cache *cache, void *obj);

#endif
