/* SPDX-License-Identifier: GPL-2.0-only */
/* User-space shim (tests/unit): min/max and friends. */
#ifndef _SHIM_LINUX_KERNEL_H
#define _SHIM_LINUX_KERNEL_H

#include <string.h>
#include <linux/types.h>

/* Like the kernel's: comparing different types is a (-Werror) warning. */
#define min(x, y) ({					\
	__typeof__(x) _min1 = (x);			\
	__typeof__(y) _min2 = (y);			\
	(void)(&_min1 == &_min2);			\
	_min1 < _min2 ? _min1 : _min2; })

#define max(x, y) ({					\
	__typeof__(x) _max1 = (x);			\
	__typeof__(y) _max2 = (y);			\
	(void)(&_max1 == &_max2);			\
	_max1 > _max2 ? _max1 : _max2; })

#define min3(x, y, z)	min(min(x, y), z)

/* The engine asks only about options the shim's world does not have. */
#define IS_ENABLED(option)	0

#define min_t(type, x, y) ({				\
	type _mint1 = (x);				\
	type _mint2 = (y);				\
	_mint1 < _mint2 ? _mint1 : _mint2; })

#define max_t(type, x, y) ({				\
	type _maxt1 = (x);				\
	type _maxt2 = (y);				\
	_maxt1 > _maxt2 ? _maxt1 : _maxt2; })

#define BIT(nr)		(1UL << (nr))
#define BIT_ULL(nr)	(1ULL << (nr))
#define ARRAY_SIZE(arr)	(sizeof(arr) / sizeof((arr)[0]))
#define BUILD_BUG_ON(cond) _Static_assert(!(cond), #cond)
#define DIV_ROUND_UP(n, d)	(((n) + (d) - 1) / (d))
#define round_up(x, y)	((((x) - 1) | ((__typeof__(x))((y) - 1))) + 1)
#define sizeof_field(TYPE, MEMBER) sizeof((((TYPE *)0)->MEMBER))

#endif
