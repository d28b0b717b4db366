/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * User-space shim (tests/unit): just enough of the kernel's headers for
 * kernel/compare.c to compile unmodified on the host. Not the kernel's
 * definitions; only what the comparison engine and colo.h need.
 */
#ifndef _SHIM_LINUX_COMPILER_TYPES_H
#define _SHIM_LINUX_COMPILER_TYPES_H

#define __percpu
#define __rcu
#define __iomem
#define __force
#define __bitwise
#define __must_check		__attribute__((warn_unused_result))
#define __maybe_unused		__attribute__((unused))
#define __always_unused		__attribute__((unused))
#define __aligned(x)		__attribute__((aligned(x)))
#define __read_mostly
#define ____cacheline_aligned_in_smp
#define __acquires(x)
#define __releases(x)
#define likely(x)		__builtin_expect(!!(x), 1)
#define unlikely(x)		__builtin_expect(!!(x), 0)
#define READ_ONCE(x)		(*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, val)	(*(volatile __typeof__(x) *)&(x) = (val))

#endif
