/* SPDX-License-Identifier: GPL-2.0-only */
/* User-space shim (tests/unit): the Internet checksum helpers of
 * include/net/checksum.h and lib/checksum.c, little-endian, in the
 * kernel's representation (a 32-bit partial sum of native 16-bit words).
 */
#ifndef _SHIM_NET_CHECKSUM_H
#define _SHIM_NET_CHECKSUM_H

#include <string.h>
#include <linux/types.h>

static inline u32 shim_csum_fold64(u64 s)
{
	while (s >> 32)
		s = (s & 0xffffffff) + (s >> 32);
	return (u32)s;
}

static inline __wsum csum_add(__wsum a, __wsum b)
{
	return shim_csum_fold64((u64)a + b);
}

static inline __wsum csum_sub(__wsum a, __wsum b)
{
	return csum_add(a, ~b);
}

static inline __wsum csum_partial(const void *buff, int len, __wsum sum)
{
	const u8 *p = buff;
	u64 s = sum;
	u16 w;

	for (; len > 1; len -= 2, p += 2) {
		memcpy(&w, p, 2);
		s += w;
	}
	if (len)
		s += *p;	/* little-endian: the odd byte is the low one */
	return shim_csum_fold64(s);
}

static inline __sum16 csum_fold(__wsum csum)
{
	u32 s = (csum & 0xffff) + (csum >> 16);

	s = (s & 0xffff) + (s >> 16);
	return (__sum16)~s;
}

static inline __wsum csum_unfold(__sum16 n)
{
	return n;
}

static inline void csum_replace_by_diff(__sum16 *sum, __wsum diff)
{
	*sum = csum_fold(csum_add(diff, ~csum_unfold(*sum)));
}

static inline __wsum csum_tcpudp_nofold(__be32 saddr, __be32 daddr, u32 len,
					u8 proto, __wsum sum)
{
	u64 s = sum;

	s += saddr;
	s += daddr;
	s += (u32)(proto + len) << 8;
	return shim_csum_fold64(s);
}

#endif
