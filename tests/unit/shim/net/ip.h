/* SPDX-License-Identifier: GPL-2.0-only */
/* User-space shim (tests/unit): ip_send_check() of include/net/ip.h. */
#ifndef _SHIM_NET_IP_H
#define _SHIM_NET_IP_H

#include <linux/ip.h>
#include <net/checksum.h>

static inline void ip_send_check(struct iphdr *iph)
{
	iph->check = 0;
	iph->check = csum_fold(csum_partial(iph, iph->ihl * 4, 0));
}

#endif
