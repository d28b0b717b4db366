/* SPDX-License-Identifier: GPL-2.0-only */
/* User-space shim (tests/unit): struct ipv6hdr (little-endian bit fields). */
#ifndef _SHIM_LINUX_IPV6_H
#define _SHIM_LINUX_IPV6_H

#include <linux/types.h>
#include <linux/in6.h>
#include <linux/skbuff.h>

struct ipv6hdr {
	__u8 priority:4,
	     version:4;
	__u8 flow_lbl[3];
	__be16 payload_len;
	__u8 nexthdr;
	__u8 hop_limit;
	struct in6_addr saddr;
	struct in6_addr daddr;
};

static inline struct ipv6hdr *ipv6_hdr(const struct sk_buff *skb)
{
	return (struct ipv6hdr *)skb_network_header(skb);
}

#endif
