// SPDX-License-Identifier: GPL-2.0-only
/*
 * coloctl: configure and watch xt_COLO, the in-kernel COLO packet
 * comparator, over its generic netlink family "colo".
 *
 * A table of subcommands, one file each, in the manner of wireguard-tools.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <linux/xt_COLO.h>

#include "parse.h"
#include "subcommands.h"

#ifndef COLOCTL_VERSION
#define COLOCTL_VERSION "unknown"
#endif

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

const char *PROG_NAME = "coloctl";

static const struct {
	const char *name;
	int (*main)(int argc, char *argv[]);
	const char *synopsis;
	void (*help)(FILE *f);
} subcommands[] = {
	{ "instance", instance_main, instance_synopsis, instance_help },
	{ "checkpoint", checkpoint_main, checkpoint_synopsis, checkpoint_help },
	{ "failover", failover_main, failover_synopsis, failover_help },
	{ "monitor", monitor_main, monitor_synopsis, monitor_help },
	{ "qemu", qemu_main, qemu_synopsis, qemu_help },
};

static void show_usage(FILE *f)
{
	const char *line, *end;
	size_t i;

	fprintf(f, "Usage: %s [-n NETNS] [-j] <command> [<arguments>]\n\nCommands:\n",
		PROG_NAME);
	for (i = 0; i < ARRAY_SIZE(subcommands); i++) {
		for (line = subcommands[i].synopsis; *line; line = end + 1) {
			end = strchr(line, '\n');
			fprintf(f, "  %.*s\n", (int)(end - line), line);
		}
	}
	fprintf(f,
		"  help [<command>]\n"
		"  -h, --help\n"
		"  --version\n"
		"\n"
		"Options before the command:\n"
		"  -n, --netns NETNS  run in network namespace NETNS: a name from\n"
		"                     'ip netns' (/run/netns/NETNS) or a path\n"
		"  -j, --json         JSON output, as each command's own -j\n"
		"\n"
		"Run '%s <command> --help' for one command's details; see coloctl(8).\n",
		PROG_NAME);
}

static int find_subcommand(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(subcommands); i++)
		if (!strcmp(name, subcommands[i].name))
			return i;
	return -1;
}

static int help_main(int argc, char *argv[])
{
	int i;

	if (argc < 2) {
		show_usage(stdout);
		return EXIT_OK;
	}
	if (argc > 2) {
		fprintf(stderr, "%s: help: unexpected argument \"%s\"\n",
			PROG_NAME, argv[2]);
		show_usage(stderr);
		return EXIT_USAGE;
	}
	i = find_subcommand(argv[1]);
	if (i < 0) {
		fprintf(stderr, "%s: help: unknown command \"%s\"\n", PROG_NAME,
			argv[1]);
		show_usage(stderr);
		return EXIT_USAGE;
	}
	subcommands[i].help(stdout);
	return EXIT_OK;
}

/*
 * Enter the network namespace @name: a name from "ip netns" (iproute2 keeps
 * them in /run/netns) or, with a slash in it, any nsfs path such as
 * /proc/PID/ns/net. Every socket coloctl opens afterwards is in it.
 */
static int enter_netns(const char *name)
{
	char path[PATH_MAX];
	int fd, ret;

	if (!*name || !strcmp(name, ".") || !strcmp(name, "..")) {
		fprintf(stderr, "%s: -n: \"%s\" is not a network namespace name\n",
			PROG_NAME, name);
		return EXIT_USAGE;
	}
	if (strchr(name, '/'))
		ret = snprintf(path, sizeof(path), "%s", name);
	else
		ret = snprintf(path, sizeof(path), "/run/netns/%s", name);
	if (ret < 0 || (size_t)ret >= sizeof(path)) {
		fprintf(stderr, "%s: -n: name too long\n", PROG_NAME);
		return EXIT_USAGE;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "%s: cannot open network namespace \"%s\": %s\n",
			PROG_NAME, path, strerror(errno));
		return EXIT_ERROR;
	}
	ret = setns(fd, CLONE_NEWNET);
	if (ret < 0)
		fprintf(stderr, "%s: cannot enter network namespace \"%s\": %s\n",
			PROG_NAME, path, strerror(errno));
	close(fd);
	return ret < 0 ? EXIT_ERROR : EXIT_OK;
}

int main(int argc, char *argv[])
{
	int i, ret;

	/* options before the command, as in ip(8): -n NETNS, -j */
	while (argc > 1) {
		if (!strcmp(argv[1], "-n") || !strcmp(argv[1], "--netns")) {
			if (argc < 3) {
				fprintf(stderr, "%s: %s needs a network namespace\n",
					PROG_NAME, argv[1]);
				show_usage(stderr);
				return EXIT_USAGE;
			}
			ret = enter_netns(argv[2]);
			if (ret)
				return ret;
			argc -= 2;
			argv += 2;
		} else if (arg_is_json(argv[1])) {
			opt_json = true;
			argc--;
			argv++;
		} else {
			break;
		}
	}
	if (argc < 2) {
		show_usage(stderr);
		return EXIT_USAGE;
	}
	if (arg_is_help(argv[1]) || !strcmp(argv[1], "help"))
		return help_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "--version")) {
		printf("%s %s (generic netlink family \"%s\" version %d)\n",
		       PROG_NAME, COLOCTL_VERSION, COLO_GENL_NAME,
		       COLO_GENL_VERSION);
		return EXIT_OK;
	}
	i = find_subcommand(argv[1]);
	if (i < 0) {
		fprintf(stderr, "%s: unknown command \"%s\"\n", PROG_NAME,
			argv[1]);
		show_usage(stderr);
		return EXIT_USAGE;
	}
	return subcommands[i].main(argc - 1, argv + 1);
}
