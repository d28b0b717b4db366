/* SPDX-License-Identifier: GPL-2.0-only */
/* User-space shim (tests/unit). */
#ifndef _SHIM_LINUX_MUTEX_H
#define _SHIM_LINUX_MUTEX_H

struct mutex {
	int locked;
};

#endif
