/* SPDX-License-Identifier: GPL-2.0-only */
/* User-space shim (tests/unit): tcp_v6_check() of
 * include/net/ip6_checksum.h, with lib/checksum.c's csum_ipv6_magic().
 */
#ifndef _SHIM_NET_IP6_CHECKSUM_H
#define _SHIM_NET_IP6_CHECKSUM_H

#include <linux/in.h>
#include <linux/in6.h>
#include <net/checksum.h>

static inline __sum16 csum_ipv6_magic(const struct in6_addr *saddr,
				      const struct in6_addr *daddr, u32 len,
				      u8 proto, __wsum csum)
{
	u64 s = csum;
	int i;

	for (i = 0; i < 4; i++) {
		s += saddr->in6_u.u6_addr32[i];
		s += daddr->in6_u.u6_addr32[i];
	}
	s += __builtin_bswap32(len);
	s += __builtin_bswap32(proto);
	return csum_fold(shim_csum_fold64(s));
}

static inline __sum16 tcp_v6_check(int len, const struct in6_addr *saddr,
				   const struct in6_addr *daddr, __wsum base)
{
	return csum_ipv6_magic(saddr, daddr, len, IPPROTO_TCP, base);
}

#endif
