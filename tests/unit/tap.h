/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * TAP for the host-side unit tests (test_compare.c, test_segment.c): the
 * counters, fail() and the expect_*() checks, each failure saying what was
 * expected and what was seen; and their random numbers.
 */
#ifndef _COLO_UNIT_TAP_H
#define _COLO_UNIT_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <linux/types.h>

static int t_num, t_passed, t_failed, t_fail_now;

static void __attribute__((format(printf, 1, 2))) fail(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	char *line, *save = NULL;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (t_fail_now++ > 20)
		return;		/* enough */
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		printf("#   %s\n", line);
}

#define expect_eq(what, exp, seen) do {					\
	unsigned long long _e = (exp), _s = (seen);			\
	if (_e != _s)							\
		fail("%s: expected %llu, seen %llu (%s:%d)", (what),	\
		     _e, _s, __FILE__, __LINE__);			\
} while (0)

#define expect_true(what, cond) do {					\
	if (!(cond))							\
		fail("%s: expected true, seen false (%s:%d)", (what),	\
		     __FILE__, __LINE__);				\
} while (0)

/* A seeded xorshift: the tests' data are random but repeatable. */
static u32 rng_state = 1;

static u32 rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

#endif
