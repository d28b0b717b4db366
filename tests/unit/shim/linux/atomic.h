/* SPDX-License-Identifier: GPL-2.0-only */
/* User-space shim (tests/unit). */
#ifndef _SHIM_LINUX_ATOMIC_H
#define _SHIM_LINUX_ATOMIC_H

#include <linux/types.h>

typedef struct {
	long counter;
} atomic_long_t;

/* One thread: plain arithmetic, with the kernel's names. */
#define atomic_read(v)		((v)->counter)
#define atomic_inc(v)		((void)((v)->counter++))
#define atomic_dec(v)		((void)((v)->counter--))
#define atomic_long_read(v)	((v)->counter)
#define atomic_long_add(i, v)	((void)((v)->counter += (i)))
#define atomic_long_sub(i, v)	((void)((v)->counter -= (i)))

#endif
