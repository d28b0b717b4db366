/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What differs between the kernels xt_COLO builds against: Debian 12's
 * Linux 6.1 and its Linux 6.12. Headers that moved are detected by Kbuild
 * (the COLO_HAVE_* flags, set when the kernel tree has the header) rather
 * than by LINUX_VERSION_CODE, so that a stable release with a backported
 * move picks the right one too; the engine's unit tests (host shims) set
 * none and get the 6.1 layout. Not __has_include: sparse 0.6.4 (Debian
 * 12's, make lint) cannot parse it.
 */
#ifndef _XT_COLO_COMPAT_H
#define _XT_COLO_COMPAT_H

/* 6.12 moved <asm/unaligned.h> to <linux/unaligned.h> */
#ifdef COLO_HAVE_LINUX_UNALIGNED_H
#include <linux/unaligned.h>
#else
#include <asm/unaligned.h>
#endif

/* skb_frag_unref() and its kin have a header of their own in 6.12 */
#ifdef COLO_HAVE_SKBUFF_REF_H
#include <linux/skbuff_ref.h>
#endif

#endif /* _XT_COLO_COMPAT_H */
