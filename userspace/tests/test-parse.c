// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of coloctl's command line parsing helpers (parse.c).
 */
#include <errno.h>
#include <stdint.h>

#include "parse.h"
#include "tap.h"

const char *PROG_NAME = "coloctl";

static void test_u32(const char *s, uint32_t min, uint32_t max, int want_ret,
		     uint32_t want)
{
	uint32_t v = 0;
	int ret = parse_u32(s, min, max, &v);

	ok(ret == want_ret && (ret || v == want),
	   "parse_u32(\"%s\", %u, %u) gives %d/%u (seen %d/%u)",
	   s, min, max, want_ret, want, ret, v);
}

static void test_size(const char *s, int want_ret, uint64_t want)
{
	uint64_t v = 0;
	int ret = parse_size(s, &v);

	ok(ret == want_ret && (ret || v == want),
	   "parse_size(\"%s\") gives %d/%llu (seen %d/%llu)", s, want_ret,
	   (unsigned long long)want, ret, (unsigned long long)v);
}

int main(void)
{
	struct capture cap;
	uint32_t id;
	char *out;

	test_u32("0", 0, UINT32_MAX, 0, 0);
	test_u32("3000", 0, UINT32_MAX, 0, 3000);
	test_u32("007", 0, UINT32_MAX, 0, 7);
	test_u32("4294967295", 0, UINT32_MAX, 0, UINT32_MAX);
	test_u32("4294967296", 0, UINT32_MAX, -ERANGE, 0);
	test_u32("99999999999999999999999", 0, UINT32_MAX, -ERANGE, 0);
	test_u32("99999999999999999999999x", 0, UINT32_MAX, -EINVAL, 0);
	test_u32("", 0, UINT32_MAX, -EINVAL, 0);
	test_u32("-1", 0, UINT32_MAX, -EINVAL, 0);
	test_u32("+1", 0, UINT32_MAX, -EINVAL, 0);
	test_u32(" 1", 0, UINT32_MAX, -EINVAL, 0);
	test_u32("1 ", 0, UINT32_MAX, -EINVAL, 0);
	test_u32("0x10", 0, UINT32_MAX, -EINVAL, 0);
	test_u32("12ms", 0, UINT32_MAX, -EINVAL, 0);
	test_u32("5", 10, 20, -ERANGE, 0);
	test_u32("21", 10, 20, -ERANGE, 0);
	test_u32("10", 10, 20, 0, 10);

	ok(parse_instance("0", &id) == -ERANGE, "instance 0 is out of range");
	ok(parse_instance("1", &id) == 0 && id == 1, "instance 1 is valid");
	ok(parse_instance("4294967295", &id) == 0 && id == UINT32_MAX,
	   "instance 4294967295 is valid");
	ok(parse_instance("4294967296", &id) == -ERANGE,
	   "instance 4294967296 is out of range");

	test_size("0", 0, 0);
	test_size("65536", 0, 65536);
	test_size("64K", 0, 65536);
	test_size("64k", 0, 65536);
	test_size("32M", 0, 32ULL << 20);
	test_size("32MiB", 0, 32ULL << 20);
	test_size("1G", 0, 1ULL << 30);
	test_size("1T", 0, 1ULL << 40);
	test_size("1t", 0, 1ULL << 40);
	test_size("16777215T", 0, 16777215ULL << 40);
	test_size("16777216T", -ERANGE, 0);
	test_size("18446744073709551615", 0, UINT64_MAX);
	test_size("18446744073709551616", -ERANGE, 0);
	test_size("32MB", -EINVAL, 0);
	test_size("32Mi", -EINVAL, 0);
	test_size("32X", -EINVAL, 0);
	test_size("M", -EINVAL, 0);
	test_size("1.5M", -EINVAL, 0);
	test_size("", -EINVAL, 0);
	test_size("-1", -EINVAL, 0);

	ok(arg_is_json("-j") && arg_is_json("--json") && !arg_is_json("-J"),
	   "-j and --json mean JSON");
	ok(arg_is_help("-h") && arg_is_help("--help") && !arg_is_help("help"),
	   "-h and --help mean help");

	capture_start(&cap, STDERR_FILENO);
	ok(arg_u32("timeout", "abc", 0, UINT32_MAX, &id) == -1, "arg_u32 fails");
	arg_u32("max-queue", "4294967296", 0, UINT32_MAX, &id);
	arg_instance("0", &id);
	arg_size("max-bytes", "12Q", (uint64_t *)&cap);
	out = capture_end(&cap);
	is_str(out,
	       "coloctl: timeout: \"abc\" is not a number\n"
	       "coloctl: max-queue: 4294967296 is out of range (0..4294967295)\n"
	       "coloctl: instance ID: 0 is out of range (1..4294967295)\n"
	       "coloctl: max-bytes: \"12Q\" is not a byte count (a number, optionally followed by K, M, G or T)\n",
	       "argument errors name the argument and the problem");
	free(out);

	capture_start(&cap, STDOUT_FILENO);
	print_synopsis(stdout, "instance add ID\ninstance del ID\n");
	out = capture_end(&cap);
	is_str(out,
	       "Usage: coloctl instance add ID\n"
	       "       coloctl instance del ID\n",
	       "print_synopsis aligns the lines under Usage:");
	free(out);

	return tap_done();
}
