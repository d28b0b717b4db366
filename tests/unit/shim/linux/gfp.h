/* SPDX-License-Identifier: GPL-2.0-only */
/* User-space shim (tests/unit): allocation flags, recorded, not obeyed. */
#ifndef _SHIM_LINUX_GFP_H
#define _SHIM_LINUX_GFP_H

typedef unsigned int gfp_t;

#define GFP_ATOMIC	0x1u
#define GFP_KERNEL	0x2u
#define __GFP_ACCOUNT	0x4u

#endif
