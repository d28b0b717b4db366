/* SPDX-License-Identifier: GPL-2.0-only */
/* User-space shim (tests/unit): one CPU. */
#ifndef _SHIM_LINUX_PERCPU_H
#define _SHIM_LINUX_PERCPU_H

#define this_cpu_add(pcp, val)	((pcp) += (val))
#define this_cpu_inc(pcp)	((pcp)++)
#define this_cpu_dec(pcp)	((pcp)--)

#endif
