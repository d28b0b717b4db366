// SPDX-License-Identifier: GPL-2.0-only
/*
 * coloctl instance add | del | show
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/xt_COLO.h>

#include "info.h"
#include "netlink.h"
#include "parse.h"
#include "subcommands.h"

const char instance_synopsis[] =
	"instance add ID [timeout MS] [max-queue N] [max-bytes BYTES] [failopen MS]\n"
	"             [max-flows N]\n"
	"instance del ID\n"
	"instance show [ID] [-j]\n";

void instance_help(FILE *f)
{
	print_synopsis(f, instance_synopsis);
	fprintf(f,
		"\n"
		"  add   create comparator instance ID (1..4294967295) in this network namespace\n"
		"          timeout MS       ask for a checkpoint when a primary packet has waited\n"
		"                           MS milliseconds (10..3600000, default 3000)\n"
		"          max-queue N      packets held per flow and side (1..65536, default 1024)\n"
		"          max-bytes BYTES  memory held per side of the instance (the packets'\n"
		"                           buffers), a number with an optional K, M, G or T\n"
		"                           suffix (64K..1T, default 32M)\n"
		"          failopen MS      pass traffic uncompared when no checkpoint comes\n"
		"                           MS milliseconds after a request (0 = never,\n"
		"                           up to 3600000, default 10000)\n"
		"          max-flows N      flows tracked (1..16777216, default 65536); packets\n"
		"                           of new flows beyond are refused and counted\n"
		"        in a user namespace other than the initial one the limits are capped\n"
		"        and failopen 0 is refused (see coloctl(8))\n"
		"  del   delete instance ID; refused while rules use it\n"
		"  show  settings, role, state and counters of instance ID, or of all\n"
		"        instances; -j (or --json) prints JSON\n");
}

static int usage_error(void)
{
	print_synopsis(stderr, instance_synopsis);
	fprintf(stderr, "Run '%s instance --help' for details.\n", PROG_NAME);
	return EXIT_USAGE;
}

/* The optional settings of "instance add", in the order of the synopsis. */
enum add_opt { ADD_TIMEOUT, ADD_MAX_QUEUE, ADD_MAX_BYTES, ADD_FAILOPEN,
	       ADD_MAX_FLOWS, ADD_OPTS };

static const char *const add_keywords[ADD_OPTS] = {
	[ADD_TIMEOUT] = "timeout",
	[ADD_MAX_QUEUE] = "max-queue",
	[ADD_MAX_BYTES] = "max-bytes",
	[ADD_FAILOPEN] = "failopen",
	[ADD_MAX_FLOWS] = "max-flows",
};

static int instance_add(int argc, char *argv[])
{
	char buf[COLO_NL_TXBUF];
	bool given[ADD_OPTS] = {};
	uint32_t id, u32[ADD_OPTS] = {};
	uint64_t max_bytes = 0;
	struct nlmsghdr *nlh;
	struct colo_nl c;
	int i, opt, ret;

	if (argc < 2)
		return usage_error();
	if (arg_instance(argv[1], &id))
		return EXIT_USAGE;
	for (i = 2; i < argc; i += 2) {
		for (opt = 0; opt < ADD_OPTS; opt++)
			if (!strcmp(argv[i], add_keywords[opt]))
				break;
		if (opt == ADD_OPTS) {
			fprintf(stderr, "%s: instance add: unknown keyword \"%s\"\n",
				PROG_NAME, argv[i]);
			return usage_error();
		}
		if (given[opt]) {
			fprintf(stderr, "%s: instance add: %s given twice\n",
				PROG_NAME, argv[i]);
			return EXIT_USAGE;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "%s: instance add: %s needs a value\n",
				PROG_NAME, argv[i]);
			return usage_error();
		}
		given[opt] = true;
		/*
		 * Only the width of each attribute is checked here: the
		 * kernel owns the valid ranges and says so in its extack.
		 */
		if (opt == ADD_MAX_BYTES)
			ret = arg_size(argv[i], argv[i + 1], &max_bytes);
		else
			ret = arg_u32(argv[i], argv[i + 1], 0, UINT32_MAX,
				      &u32[opt]);
		if (ret)
			return EXIT_USAGE;
	}

	if (colo_nl_open(&c))
		return EXIT_ERROR;
	nlh = colo_nl_msg(&c, buf, COLO_CMD_INSTANCE_NEW, NLM_F_ACK);
	mnl_attr_put_u32(nlh, COLO_A_INSTANCE, id);
	if (given[ADD_TIMEOUT])
		mnl_attr_put_u32(nlh, COLO_A_TIMEOUT_MS, u32[ADD_TIMEOUT]);
	if (given[ADD_MAX_QUEUE])
		mnl_attr_put_u32(nlh, COLO_A_MAX_QUEUE, u32[ADD_MAX_QUEUE]);
	if (given[ADD_MAX_BYTES])
		mnl_attr_put_u64(nlh, COLO_A_MAX_BYTES, max_bytes);
	if (given[ADD_FAILOPEN])
		mnl_attr_put_u32(nlh, COLO_A_FAILOPEN_MS, u32[ADD_FAILOPEN]);
	if (given[ADD_MAX_FLOWS])
		mnl_attr_put_u32(nlh, COLO_A_MAX_FLOWS, u32[ADD_MAX_FLOWS]);
	ret = colo_nl_request(&c, nlh, NULL, NULL);
	if (ret)
		colo_nl_perror(&c, ret, "cannot create instance %u", id);
	colo_nl_close(&c);
	return ret ? EXIT_ERROR : EXIT_OK;
}

static int instance_del(int argc, char *argv[])
{
	struct colo_nl c;
	uint32_t id;
	int ret;

	if (argc != 2)
		return usage_error();
	if (arg_instance(argv[1], &id))
		return EXIT_USAGE;
	if (colo_nl_open(&c))
		return EXIT_ERROR;
	ret = colo_nl_instance_cmd(&c, COLO_CMD_INSTANCE_DEL, id);
	colo_nl_close(&c);
	return ret ? EXIT_ERROR : EXIT_OK;
}

static int instance_show(int argc, char *argv[])
{
	bool json = opt_json, have_id = false;
	struct colo_info *infos = NULL;
	struct colo_nl c;
	uint32_t id = 0;
	size_t k, n = 0;
	int i, ret;

	for (i = 1; i < argc; i++) {
		if (arg_is_json(argv[i])) {
			json = true;
		} else if (!have_id && argv[i][0] != '-') {
			if (arg_instance(argv[i], &id))
				return EXIT_USAGE;
			have_id = true;
		} else {
			fprintf(stderr, "%s: instance show: unexpected argument \"%s\"\n",
				PROG_NAME, argv[i]);
			return usage_error();
		}
	}

	if (colo_nl_open(&c))
		return EXIT_ERROR;
	ret = info_get(&c, have_id ? &id : NULL, &infos, &n);
	if (ret) {
		if (have_id)
			colo_nl_perror(&c, ret, "cannot show instance %u", id);
		else
			colo_nl_perror(&c, ret, "cannot list instances");
		goto out;
	}

	if (json && !have_id)
		fputs(n ? "[\n" : "[", stdout);
	for (k = 0; k < n; k++) {
		if (json) {
			info_print_json(stdout, &infos[k]);
			if (!have_id && k + 1 < n)
				fputc(',', stdout);
			fputc('\n', stdout);
		} else {
			if (k)
				fputc('\n', stdout);
			info_print(stdout, &infos[k]);
		}
	}
	if (json && !have_id)
		fputs("]\n", stdout);
out:
	colo_nl_close(&c);
	free(infos);
	if (!ret && (fflush(stdout) || ferror(stdout))) {
		fprintf(stderr, "%s: cannot write the output: %s\n", PROG_NAME,
			strerror(errno));
		ret = -EIO;
	}
	return ret ? EXIT_ERROR : EXIT_OK;
}

int instance_main(int argc, char *argv[])
{
	if (argc < 2)
		return usage_error();
	if (arg_is_help(argv[1]) || !strcmp(argv[1], "help")) {
		instance_help(stdout);
		return EXIT_OK;
	}
	/* "instance add --help" and the like */
	for (int i = 2; i < argc; i++) {
		if (arg_is_help(argv[i])) {
			instance_help(stdout);
			return EXIT_OK;
		}
	}
	if (!strcmp(argv[1], "add"))
		return instance_add(argc - 1, argv + 1);
	if (!strcmp(argv[1], "del"))
		return instance_del(argc - 1, argv + 1);
	if (!strcmp(argv[1], "show"))
		return instance_show(argc - 1, argv + 1);
	fprintf(stderr, "%s: instance: unknown command \"%s\"\n", PROG_NAME,
		argv[1]);
	return usage_error();
}
