/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Just enough TAP for the host-side unit tests: "ok N - name" or
 * "not ok N - name" with the expected and the seen value as comments.
 * tests/run.sh counts the lines.
 */
#ifndef COLOCTL_TAP_H
#define COLOCTL_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int tap_count, tap_failed;

static inline void __attribute__((format(printf, 2, 3)))
ok(bool pass, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d - ", pass ? "ok" : "not ok", ++tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!pass)
		tap_failed++;
}

static inline void tap_comment(const char *label, const char *text)
{
	const char *line, *end;

	printf("#   %s:\n", label);
	for (line = text; *line; line = end + 1) {
		end = strchr(line, '\n');
		if (!end) {
			printf("#     %s\n", line);
			break;
		}
		printf("#     %.*s\n", (int)(end - line), line);
	}
}

/* Pass when @got equals @want; show both otherwise. */
static inline void __attribute__((format(printf, 3, 4)))
is_str(const char *got, const char *want, const char *fmt, ...)
{
	char name[256];
	bool pass = got && !strcmp(got, want);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	ok(pass, "%s", name);
	if (!pass) {
		tap_comment("expected", want);
		tap_comment("seen", got ? got : "(nothing)");
	}
}

static inline void __attribute__((format(printf, 3, 4)))
is_int(long long got, long long want, const char *fmt, ...)
{
	char name[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	ok(got == want, "%s", name);
	if (got != want)
		printf("#   expected %lld, seen %lld\n", want, got);
}

/*
 * Capture what is written to file descriptor @fd (1 or 2) between
 * capture_start() and capture_end(), which returns it (free it).
 */
struct capture {
	int fd, saved;
	FILE *tmp;
};

static inline void capture_start(struct capture *cap, int fd)
{
	fflush(NULL);
	cap->fd = fd;
	cap->tmp = tmpfile();
	cap->saved = dup(fd);
	if (!cap->tmp || cap->saved < 0 || dup2(fileno(cap->tmp), fd) < 0) {
		perror("capture");
		exit(2);
	}
}

static inline char *capture_end(struct capture *cap)
{
	long len;
	char *buf;

	fflush(NULL);
	dup2(cap->saved, cap->fd);
	close(cap->saved);
	/* The writes went through the descriptor, which shares the offset. */
	len = lseek(fileno(cap->tmp), 0, SEEK_END);
	if (len < 0)
		len = 0;
	buf = calloc(1, len + 1);
	rewind(cap->tmp);
	if (!buf || fread(buf, 1, len, cap->tmp) != (size_t)len) {
		perror("capture");
		exit(2);
	}
	fclose(cap->tmp);
	return buf;
}

static inline int tap_done(void)
{
	printf("1..%d\n", tap_count);
	return tap_failed ? 1 : 0;
}

#endif
