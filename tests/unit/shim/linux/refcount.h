/* SPDX-License-Identifier: GPL-2.0-only */
/* User-space shim (tests/unit). */
#ifndef _SHIM_LINUX_REFCOUNT_H
#define _SHIM_LINUX_REFCOUNT_H

#include <linux/types.h>

typedef struct {
	atomic_t refs;
} refcount_t;

#endif
