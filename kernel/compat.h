/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What differs between the kernels xt_COLO builds against: Debian 12's
 * Linux 6.1 and its Linux 6.12. Headers that moved are found by
 * __has_include rather than by LINUX_VERSION_CODE, so that a stable
 * release with a backported move, and the engine's unit tests (built on
 * the host against tests/unit/shim), pick the right one too. The quoted
 * form searches the same include path here and keeps checkpatch from
 * reading <...> as operators.
 */
#ifndef _XT_COLO_COMPAT_H
#define _XT_COLO_COMPAT_H

/* 6.12 moved <asm/unaligned.h> to <linux/unaligned.h> */
#if __has_include("asm/unaligned.h")
#include <asm/unaligned.h>
#else
#include <linux/unaligned.h>
#endif

/* skb_frag_unref() and its kin have a header of their own in 6.12 */
#if __has_include("linux/skbuff_ref.h")
#include <linux/skbuff_ref.h>
#endif

#endif /* _XT_COLO_COMPAT_H */
