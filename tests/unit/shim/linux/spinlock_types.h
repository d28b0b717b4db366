/* SPDX-License-Identifier: GPL-2.0-only */
/* User-space shim (tests/unit): the harness is single-threaded; the
 * engine runs "under flow->lock", which here is just a field.
 */
#ifndef _SHIM_LINUX_SPINLOCK_TYPES_H
#define _SHIM_LINUX_SPINLOCK_TYPES_H

typedef struct {
	int locked;
} spinlock_t;

#endif
