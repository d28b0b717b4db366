/* SPDX-License-Identifier: GPL-2.0-only */
/* User-space shim (tests/unit): uapi linux/in6.h, the parts used. */
#ifndef _SHIM_LINUX_IN6_H
#define _SHIM_LINUX_IN6_H

#include <linux/types.h>

#define IPPROTO_ICMPV6	58

struct in6_addr {
	union {
		__u8 u6_addr8[16];
		__be16 u6_addr16[8];
		__be32 u6_addr32[4];
	} in6_u;
};

#endif
