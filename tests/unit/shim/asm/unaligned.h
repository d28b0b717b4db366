/* SPDX-License-Identifier: GPL-2.0-only */
/* User-space shim (tests/unit): the big-endian accessors of
 * include/asm-generic/unaligned.h.
 */
#ifndef _SHIM_ASM_UNALIGNED_H
#define _SHIM_ASM_UNALIGNED_H

#include <string.h>
#include <linux/types.h>

static inline u32 get_unaligned_be32(const void *p)
{
	u32 v;

	memcpy(&v, p, sizeof(v));
	return __builtin_bswap32(v);
}

static inline void put_unaligned_be32(u32 val, void *p)
{
	val = __builtin_bswap32(val);
	memcpy(p, &val, sizeof(val));
}

#endif
