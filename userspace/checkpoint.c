// SPDX-License-Identifier: GPL-2.0-only
/*
 * coloctl checkpoint ID: tell the module a checkpoint has completed.
 */
#include <string.h>

#include <linux/xt_COLO.h>

#include "netlink.h"
#include "parse.h"
#include "subcommands.h"

const char checkpoint_synopsis[] = "checkpoint ID [begin | end]\n";

void checkpoint_help(FILE *f)
{
	print_synopsis(f, checkpoint_synopsis);
	fprintf(f,
		"\n"
		"Tell instance ID that a checkpoint of the guest pair has completed: on the\n"
		"primary host every held primary packet is released in order and every held\n"
		"secondary packet dropped, and the outstanding checkpoint request is answered;\n"
		"on the secondary host the rewriter's offsets are reset.\n"
		"\n"
		"  begin  the guests have stopped for a checkpoint: on the primary host flush\n"
		"         now, then let the primary's packets still arriving go and drop the\n"
		"         secondary's (both were sent before the guests stopped) until \"end\"\n"
		"         (state \"checkpoint\"); the request is answered\n"
		"  end    the checkpoint is over and the guests have not run yet: as without\n"
		"         an argument; without it the window ends after the instance timeout\n"
		"\n"
		"coloctl qemu watch sends both around each checkpoint of a QEMU COLO pair.\n");
}

/*
 * The shape of "checkpoint ID [begin | end]" and "failover ID": @phase is
 * COLO_CHECKPOINT_NOW but for a checkpoint's begin or end.
 */
int instance_cmd_main(int argc, char *argv[], unsigned char cmd,
		      unsigned char phase, const char *synopsis,
		      void (*help)(FILE *f))
{
	struct colo_nl c;
	uint32_t id;
	int ret;

	if (argc == 2 && (arg_is_help(argv[1]) || !strcmp(argv[1], "help"))) {
		help(stdout);
		return EXIT_OK;
	}
	if (argc != 2) {
		print_synopsis(stderr, synopsis);
		return EXIT_USAGE;
	}
	if (arg_instance(argv[1], &id))
		return EXIT_USAGE;
	if (colo_nl_open(&c))
		return EXIT_ERROR;
	if (phase == COLO_CHECKPOINT_NOW)
		ret = colo_nl_instance_cmd(&c, cmd, id);
	else
		ret = colo_nl_checkpoint(&c, id, phase);
	colo_nl_close(&c);
	return ret ? EXIT_ERROR : EXIT_OK;
}

int checkpoint_main(int argc, char *argv[])
{
	uint8_t phase = COLO_CHECKPOINT_NOW;

	if (argc == 3) {
		if (!strcmp(argv[2], "begin")) {
			phase = COLO_CHECKPOINT_BEGIN;
		} else if (!strcmp(argv[2], "end")) {
			phase = COLO_CHECKPOINT_END;
		} else {
			fprintf(stderr, "%s: checkpoint: expected \"begin\" or \"end\", not \"%s\"\n",
				PROG_NAME, argv[2]);
			print_synopsis(stderr, checkpoint_synopsis);
			return EXIT_USAGE;
		}
		argc--;
	}
	return instance_cmd_main(argc, argv, COLO_CMD_CHECKPOINT, phase,
				 checkpoint_synopsis, checkpoint_help);
}
