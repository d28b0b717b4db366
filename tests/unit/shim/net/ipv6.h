/* SPDX-License-Identifier: GPL-2.0-only */
/* User-space shim (tests/unit): ipv6_skip_exthdr() of include/net/ipv6.h,
 * for packets without extension headers (all the shim builds).
 */
#ifndef _SHIM_NET_IPV6_H
#define _SHIM_NET_IPV6_H

#include <linux/in.h>
#include <linux/ipv6.h>
#include <linux/skbuff.h>

static inline int ipv6_skip_exthdr(const struct sk_buff *skb, int start,
				   u8 *nexthdrp, __be16 *frag_offp)
{
	(void)skb;
	*frag_offp = 0;
	if (*nexthdrp != IPPROTO_TCP)
		shim_bug("ipv6_skip_exthdr(): extension header %u", *nexthdrp);
	return start;
}

#endif
