/* SPDX-License-Identifier: GPL-2.0-only */
/* User-space shim (tests/unit). */
#ifndef _SHIM_NF_CONNTRACK_ZONES_H
#define _SHIM_NF_CONNTRACK_ZONES_H

#include <linux/types.h>

struct nf_conntrack_zone {
	u16 id;
	u8 flags;
	u8 dir;
};

#endif
