// SPDX-License-Identifier: GPL-2.0-only
/*
 * Command line parsing helpers for coloctl.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "parse.h"

static int digits(const char *s, const char **end, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = s;

	if (!(*p >= '0' && *p <= '9'))
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned int d = *p - '0';

		if (v > (UINT64_MAX - d) / 10) {
			/* keep scanning so "99999999999999999999x" is -EINVAL */
			while (*p >= '0' && *p <= '9')
				p++;
			*end = p;
			return -ERANGE;
		}
		v = v * 10 + d;
	}
	*end = p;
	*out = v;
	return 0;
}

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	const char *end;
	uint64_t v;
	int ret;

	ret = digits(s, &end, &v);
	if (*end)
		return -EINVAL;
	if (ret)
		return ret;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t v;
	int ret;

	ret = parse_u64(s, min, max, &v);
	if (!ret)
		*out = v;
	return ret;
}

int parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGT";
	const char *end, *u;
	unsigned int shift = 0;
	uint64_t v;
	int ret;

	ret = digits(s, &end, &v);
	if (ret == -EINVAL)
		return ret;
	if (*end) {
		char c = *end;

		if (c >= 'a' && c <= 'z')
			c -= 'a' - 'A';
		u = strchr(units, c);
		if (!u)
			return -EINVAL;
		shift = 10 * (u - units + 1);
		end++;
		if (*end && strcmp(end, "iB"))
			return -EINVAL;
	}
	if (ret)
		return ret;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
}

int parse_instance(const char *s, uint32_t *id)
{
	return parse_u32(s, 1, UINT32_MAX, id);
}

int arg_u32(const char *what, const char *s, uint32_t min, uint32_t max,
	    uint32_t *out)
{
	int ret = parse_u32(s, min, max, out);

	if (ret == -EINVAL)
		fprintf(stderr, "%s: %s: \"%s\" is not a number\n",
			PROG_NAME, what, s);
	else if (ret == -ERANGE)
		fprintf(stderr, "%s: %s: %s is out of range (%u..%u)\n",
			PROG_NAME, what, s, min, max);
	return ret ? -1 : 0;
}

int arg_size(const char *what, const char *s, uint64_t *out)
{
	int ret = parse_size(s, out);

	if (ret == -EINVAL)
		fprintf(stderr,
			"%s: %s: \"%s\" is not a byte count (a number, optionally followed by K, M, G or T)\n",
			PROG_NAME, what, s);
	else if (ret == -ERANGE)
		fprintf(stderr, "%s: %s: %s does not fit in 64 bits\n",
			PROG_NAME, what, s);
	return ret ? -1 : 0;
}

int arg_instance(const char *s, uint32_t *id)
{
	return arg_u32("instance ID", s, 1, UINT32_MAX, id);
}

bool opt_json;

bool arg_is_json(const char *s)
{
	return !strcmp(s, "-j") || !strcmp(s, "--json");
}

bool arg_is_help(const char *s)
{
	return !strcmp(s, "-h") || !strcmp(s, "--help");
}

void print_synopsis(FILE *f, const char *synopsis)
{
	const char *line, *end;
	const char *lead = "Usage:";

	for (line = synopsis; *line; line = end + 1) {
		end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line) - 1;
		fprintf(f, "%s %s %.*s\n", lead, PROG_NAME, (int)(end - line),
			line);
		lead = "      ";
	}
}
