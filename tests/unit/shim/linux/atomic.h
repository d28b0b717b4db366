/* SPDX-License-Identifier: GPL-2.0-only */
/* User-space shim (tests/unit). */
#ifndef _SHIM_LINUX_ATOMIC_H
#define _SHIM_LINUX_ATOMIC_H

#include <linux/types.h>

typedef struct {
	long counter;
} atomic_long_t;

#endif
