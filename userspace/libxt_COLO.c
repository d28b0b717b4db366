// SPDX-License-Identifier: GPL-2.0-only
/*
 * libxt_COLO: the iptables/ip6tables extension for the COLO target of
 * xt_COLO, the in-kernel COLO packet comparator.
 *
 *   -j COLO --instance ID { --primary | --secondary | --rewrite |
 *                           --rewrite-client }
 *
 * The options are checked here with clear messages, and again by the
 * kernel's checkentry (which also checks the table and chain).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <xtables.h>

#include <linux/xt_COLO.h>

enum {
	O_INSTANCE,
	O_PRIMARY,
	O_SECONDARY,
	O_REWRITE,
	O_REWRITE_CLIENT,
};

#define F_INSTANCE	(1 << O_INSTANCE)
#define F_ROLES		((1 << O_PRIMARY) | (1 << O_SECONDARY) | \
			 (1 << O_REWRITE) | (1 << O_REWRITE_CLIENT))

/* Option names by role, for messages, print and save. */
static const char *const role_options[] = {
	[XT_COLO_ROLE_PRIMARY] = "primary",
	[XT_COLO_ROLE_SECONDARY] = "secondary",
	[XT_COLO_ROLE_REWRITE] = "rewrite",
	[XT_COLO_ROLE_REWRITE_CLIENT] = "rewrite-client",
};

static const char *role_option(unsigned int role)
{
	if (role < sizeof(role_options) / sizeof(role_options[0]) &&
	    role_options[role])
		return role_options[role];
	return NULL;
}

/*
 * Each option is parsed by colo_tg_parse() itself (XTTYPE_STRING without
 * XTOPT_PUT for --instance) so that every mistake gets a message that names
 * the target and says what is expected.
 */
static const struct xt_option_entry colo_tg_opts[] = {
	{ .name = "instance", .id = O_INSTANCE, .type = XTTYPE_STRING },
	{ .name = "primary", .id = O_PRIMARY, .type = XTTYPE_NONE },
	{ .name = "secondary", .id = O_SECONDARY, .type = XTTYPE_NONE },
	{ .name = "rewrite", .id = O_REWRITE, .type = XTTYPE_NONE },
	{ .name = "rewrite-client", .id = O_REWRITE_CLIENT, .type = XTTYPE_NONE },
	XTOPT_TABLEEND,
};

static void colo_tg_help(void)
{
	printf(
"COLO target options:\n"
"  --instance ID       comparator instance (1..4294967295, see coloctl(8))\n"
"and exactly one role:\n"
"  --primary           primary host: hold the primary guest's output until\n"
"                      the secondary guest produced the same (mangle PREROUTING)\n"
"  --secondary         primary host: the secondary guest's output arriving from\n"
"                      the secondary host, compared and dropped (raw PREROUTING)\n"
"  --rewrite           secondary host: the secondary guest's output, TCP\n"
"                      sequence numbers shifted into the primary's (mangle\n"
"                      PREROUTING)\n"
"  --rewrite-client    secondary host: the client's mirrored packets to the\n"
"                      secondary guest, acks shifted back (mangle PREROUTING)\n");
}

/* Decimal digits only, 1 .. 2^32-1: what coloctl accepts for an id. */
static int parse_instance(const char *s, uint32_t *id)
{
	uint64_t v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
		if (v > UINT32_MAX)
			return -1;
	}
	if (!v)
		return -1;
	*id = v;
	return 0;
}

static void colo_tg_parse(struct xt_option_call *cb)
{
	struct xt_colo_tginfo *info = cb->data;
	unsigned int role;

	/* Once-only use, inversion and missing arguments. */
	xtables_option_parse(cb);

	switch (cb->entry->id) {
	case O_INSTANCE:
		if (parse_instance(cb->arg, &info->instance))
			xtables_error(PARAMETER_PROBLEM,
				      "COLO: --instance: \"%s\" is not an instance id (1..4294967295)",
				      cb->arg);
		return;
	case O_PRIMARY:
		role = XT_COLO_ROLE_PRIMARY;
		break;
	case O_SECONDARY:
		role = XT_COLO_ROLE_SECONDARY;
		break;
	case O_REWRITE:
		role = XT_COLO_ROLE_REWRITE;
		break;
	case O_REWRITE_CLIENT:
		role = XT_COLO_ROLE_REWRITE_CLIENT;
		break;
	default:
		return;
	}
	if (info->role != XT_COLO_ROLE_UNSPEC)
		xtables_error(PARAMETER_PROBLEM,
			      "COLO: --%s and --%s: give exactly one role",
			      role_option(info->role), role_option(role));
	info->role = role;
}

static void colo_tg_check(struct xt_fcheck_call *cb)
{
	if (!(cb->xflags & F_INSTANCE))
		xtables_error(PARAMETER_PROBLEM,
			      "COLO: --instance ID is required");
	if (!(cb->xflags & F_ROLES))
		xtables_error(PARAMETER_PROBLEM,
			      "COLO: a role is required: --primary, --secondary, --rewrite or --rewrite-client");
}

static void colo_tg_save(const void *ip, const struct xt_entry_target *target)
{
	const struct xt_colo_tginfo *info = (const void *)target->data;
	const char *role = role_option(info->role);

	(void)ip;
	printf(" --instance %u", info->instance);
	if (role)
		printf(" --%s", role);
}

static void colo_tg_print(const void *ip, const struct xt_entry_target *target,
			  int numeric)
{
	const struct xt_colo_tginfo *info = (const void *)target->data;
	const char *role = role_option(info->role);

	(void)ip;
	(void)numeric;
	printf(" COLO instance %u", info->instance);
	if (role)
		printf(" %s", role);
	else
		printf(" role %u", info->role);
}

static struct xtables_target colo_tg_reg = {
	.family		= NFPROTO_UNSPEC,
	.name		= "COLO",
	.revision	= 0,
	.version	= XTABLES_VERSION,
	.size		= XT_ALIGN(sizeof(struct xt_colo_tginfo)),
	/* The kernel's instance pointer is not compared or saved. */
	.userspacesize	= offsetof(struct xt_colo_tginfo, inst),
	.help		= colo_tg_help,
	.print		= colo_tg_print,
	.save		= colo_tg_save,
	.x6_parse	= colo_tg_parse,
	.x6_fcheck	= colo_tg_check,
	.x6_options	= colo_tg_opts,
};

static __attribute__((constructor)) void colo_tg_ldr(void)
{
	xtables_register_target(&colo_tg_reg);
}
