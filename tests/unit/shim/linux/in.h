/* SPDX-License-Identifier: GPL-2.0-only */
/* User-space shim (tests/unit): the kernel's IPPROTO_* (uapi linux/in.h). */
#ifndef _SHIM_LINUX_IN_H
#define _SHIM_LINUX_IN_H

#include <linux/types.h>

enum {
	IPPROTO_IP = 0,
	IPPROTO_ICMP = 1,
	IPPROTO_TCP = 6,
	IPPROTO_UDP = 17,
	IPPROTO_GRE = 47,
	IPPROTO_SCTP = 132,
	IPPROTO_UDPLITE = 136,
};

struct in_addr {
	__be32 s_addr;
};

#endif
