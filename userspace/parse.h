/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Command line parsing helpers. The parse_* functions are pure (unit tested
 * in tests/test-parse.c); the arg_* wrappers print coloctl's messages.
 */
#ifndef COLOCTL_PARSE_H
#define COLOCTL_PARSE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes of coloctl, documented in coloctl(8). */
#define EXIT_OK		0
#define EXIT_ERROR	1
#define EXIT_USAGE	2

extern const char *PROG_NAME;

/*
 * Decimal digits only: no sign, no spaces, no hex. Returns 0, -EINVAL when
 * @s is not a number, -ERANGE when it is outside [min, max].
 */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);

/*
 * A byte count: decimal digits, optionally followed by K, M, G or T (powers
 * of 1024, either case), optionally followed by "iB". Returns 0, -EINVAL or
 * -ERANGE (does not fit in 64 bits).
 */
int parse_size(const char *s, uint64_t *out);

/* An instance id, 1 .. 4294967295. */
int parse_instance(const char *s, uint32_t *id);

/*
 * The same with coloctl's messages on stderr; @what names the argument
 * ("timeout", "instance ID"). Return 0 or -1.
 */
int arg_u32(const char *what, const char *s, uint32_t min, uint32_t max,
	    uint32_t *out);
int arg_size(const char *what, const char *s, uint64_t *out);
int arg_instance(const char *s, uint32_t *id);

/*
 * "Usage: coloctl <line 1>", "       coloctl <line 2>", ... for the lines of
 * a subcommand's synopsis.
 */
void print_synopsis(FILE *f, const char *synopsis);

/* "-j" or "--json" */
bool arg_is_json(const char *s);
/* coloctl -j: every command that can print JSON does */
extern bool opt_json;
/* "-h" or "--help" */
bool arg_is_help(const char *s);

#endif
