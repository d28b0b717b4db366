/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * User-space shim (tests/unit): one CPU, so a percpu_counter is its
 * count, and every comparison is exact (the kernel's is exact near @rhs).
 */
#ifndef _SHIM_LINUX_PERCPU_COUNTER_H
#define _SHIM_LINUX_PERCPU_COUNTER_H

#include <linux/types.h>

struct percpu_counter {
	s64 count;
};

static inline void percpu_counter_add_batch(struct percpu_counter *fbc,
					    s64 amount, s32 batch)
{
	(void)batch;
	fbc->count += amount;
}

static inline s64 percpu_counter_sum(struct percpu_counter *fbc)
{
	return fbc->count;
}

static inline int __percpu_counter_compare(struct percpu_counter *fbc,
					   s64 rhs, s32 batch)
{
	(void)batch;
	return fbc->count > rhs ? 1 : fbc->count < rhs ? -1 : 0;
}

#endif
