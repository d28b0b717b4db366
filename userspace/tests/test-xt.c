// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of libxt_COLO.so, loaded by libxtables the way iptables loads
 * it (XTABLES_LIBDIR): option parsing and its errors, the final check,
 * print and save, the sizes the kernel compares.
 */
#include <getopt.h>
#include <setjmp.h>
#include <stddef.h>
#include <xtables.h>

#include <linux/xt_COLO.h>

#include "tap.h"

static jmp_buf exit_jmp;
static char exit_msg[512];

static void __attribute__((noreturn, format(printf, 2, 3)))
test_exit_err(enum xtables_exittype status, const char *msg, ...)
{
	va_list ap;

	(void)status;
	va_start(ap, msg);
	vsnprintf(exit_msg, sizeof(exit_msg), msg, ap);
	va_end(ap);
	longjmp(exit_jmp, 1);
}

/* No kernel here: every revision counts as supported. */
static int test_compat_rev(const char *name, uint8_t rev, int opt)
{
	(void)name;
	(void)rev;
	(void)opt;
	return 1;
}

static struct xtables_globals globals = {
	.program_name = "test-xt",
	.program_version = "0",
	.exit_err = test_exit_err,
	.compat_rev = test_compat_rev,
};

static struct xtables_target *target;

/* What iptables does with the target's options; errors longjmp out. */
static void parse_all(const char *const *args, struct xt_colo_tginfo *info)
{
	const struct xt_option_entry *e;
	unsigned int flags = 0;
	struct xt_option_call cb;
	struct xt_fcheck_call fc;

	for (; *args; args++) {
		bool invert = !strcmp(*args, "!");

		if (invert)
			args++;
		for (e = target->x6_options; e->name; e++)
			if (!strcmp(*args + 2, e->name))
				break;
		if (!e->name)
			test_exit_err(PARAMETER_PROBLEM, "unknown option %s", *args);
		memset(&cb, 0, sizeof(cb));
		cb.entry = e;
		cb.ext_name = target->name;
		cb.data = info;
		cb.xflags = flags;
		cb.invert = invert;
		cb.arg = NULL;
		if (e->type != XTTYPE_NONE && args[1])
			cb.arg = *++args;
		optarg = (char *)cb.arg;
		target->x6_parse(&cb);
		flags = cb.xflags;
	}
	memset(&fc, 0, sizeof(fc));
	fc.ext_name = target->name;
	fc.data = info;
	fc.xflags = flags;
	target->x6_fcheck(&fc);
}

/*
 * Run the options in @args ("--instance", "1", "--primary", NULL) through
 * the extension as iptables would, then the final check. Returns "" on
 * success (with *@info filled) or the error message.
 */
static const char *run(const char *const *args, struct xt_colo_tginfo *info)
{
	memset(info, 0, sizeof(*info));
	exit_msg[0] = 0;
	if (setjmp(exit_jmp))
		return exit_msg;
	parse_all(args, info);
	return "";
}

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static char *print_or_save(const struct xt_colo_tginfo *info, bool save)
{
	struct {
		struct xt_entry_target t;
		struct xt_colo_tginfo info;
	} entry;
	struct capture cap;

	memset(&entry, 0, sizeof(entry));
	entry.info = *info;
	capture_start(&cap, STDOUT_FILENO);
	if (save)
		target->save(NULL, &entry.t);
	else
		target->print(NULL, &entry.t, 0);
	return capture_end(&cap);
}

static void test_ok(const char *const *args, uint32_t id, uint8_t role,
		    const char *print, const char *save)
{
	struct xt_colo_tginfo info;
	const char *err = run(args, &info);
	char *out;

	ok(!*err && info.instance == id && info.role == role && !info.flags &&
	   !info.reserved,
	   "%s %s: instance %u role %u (seen instance %u role %u%s%s)",
	   args[0], args[2] ? args[2] : args[1], id, role, info.instance,
	   info.role, *err ? ", error " : "", err);
	out = print_or_save(&info, false);
	is_str(out, print, "print of %s", print);
	free(out);
	out = print_or_save(&info, true);
	is_str(out, save, "save of %s", save);
	free(out);
}

static void test_err(const char *const *args, const char *want,
		     const char *name)
{
	struct xt_colo_tginfo info;

	is_str(run(args, &info), want, "%s", name);
}

int main(void)
{
	if (!getenv("XTABLES_LIBDIR")) {
		printf("not ok 1 - XTABLES_LIBDIR must name the directory of libxt_COLO.so\n");
		return 1;
	}
	if (xtables_init_all(&globals, NFPROTO_IPV4) < 0) {
		printf("not ok 1 - xtables_init_all\n");
		return 1;
	}
	target = xtables_find_target("COLO", XTF_TRY_LOAD);
	ok(target != NULL, "libxtables finds the COLO target");
	if (!target)
		return tap_done();
	is_int(target->revision, 0, "revision 0");
	is_int(target->family, NFPROTO_UNSPEC, "for IPv4 and IPv6");
	is_int(target->size, XT_ALIGN(sizeof(struct xt_colo_tginfo)),
	       "size is XT_ALIGN(sizeof(struct xt_colo_tginfo))");
	is_int(target->userspacesize, offsetof(struct xt_colo_tginfo, inst),
	       "userspacesize stops at the kernel's pointer");

	test_ok(ARGS("--instance", "1", "--primary"), 1, XT_COLO_ROLE_PRIMARY,
		" COLO instance 1 primary", " --instance 1 --primary");
	test_ok(ARGS("--secondary", "--instance", "4294967295"), 4294967295u,
		XT_COLO_ROLE_SECONDARY, " COLO instance 4294967295 secondary",
		" --instance 4294967295 --secondary");
	test_ok(ARGS("--instance", "7", "--rewrite"), 7, XT_COLO_ROLE_REWRITE,
		" COLO instance 7 rewrite", " --instance 7 --rewrite");
	test_ok(ARGS("--instance", "007", "--rewrite-client"), 7,
		XT_COLO_ROLE_REWRITE_CLIENT, " COLO instance 7 rewrite-client",
		" --instance 7 --rewrite-client");

	test_err(ARGS("--primary"), "COLO: --instance ID is required",
		 "missing --instance");
	test_err(ARGS("--instance", "1"),
		 "COLO: a role is required: --primary, --secondary, --rewrite or --rewrite-client",
		 "missing role");
	test_err(ARGS("--instance", "1", "--primary", "--secondary"),
		 "COLO: --primary and --secondary: give exactly one role",
		 "two roles");
	test_err(ARGS("--instance", "1", "--rewrite", "--rewrite-client"),
		 "COLO: --rewrite and --rewrite-client: give exactly one role",
		 "rewrite and rewrite-client");
	test_err(ARGS("--instance", "0", "--primary"),
		 "COLO: --instance: \"0\" is not an instance id (1..4294967295)",
		 "instance 0");
	test_err(ARGS("--instance", "4294967296", "--primary"),
		 "COLO: --instance: \"4294967296\" is not an instance id (1..4294967295)",
		 "instance too large");
	test_err(ARGS("--instance", "0x10", "--primary"),
		 "COLO: --instance: \"0x10\" is not an instance id (1..4294967295)",
		 "instance in hex");
	test_err(ARGS("--instance", "-1", "--primary"),
		 "COLO: --instance: \"-1\" is not an instance id (1..4294967295)",
		 "negative instance");
	test_err(ARGS("--instance", "", "--primary"),
		 "COLO: --instance: \"\" is not an instance id (1..4294967295)",
		 "empty instance");
	test_err(ARGS("--instance", "1", "--instance", "2", "--primary"),
		 "COLO: option \"--instance\" can only be used once.\n",
		 "--instance twice");
	test_err(ARGS("--instance", "1", "!", "--primary"),
		 "COLO: option \"--primary\" cannot be inverted.\n",
		 "inverted role");

	return tap_done();
}
