// SPDX-License-Identifier: GPL-2.0-only
/*
 * coloctl failover ID: stop protecting, pass traffic.
 */
#include <linux/xt_COLO.h>

#include "parse.h"
#include "subcommands.h"

const char failover_synopsis[] = "failover ID\n";

void failover_help(FILE *f)
{
	print_synopsis(f, failover_synopsis);
	fprintf(f,
		"\n"
		"Fail instance ID over. On the primary host (the secondary is lost): release\n"
		"everything held, stop comparing and pass the primary guest's traffic from\n"
		"then on. On the secondary host (the primary is lost): let the secondary\n"
		"guest's output go to the client network, keeping the rewriter's offsets so\n"
		"existing connections continue. The state becomes \"failed-over\".\n");
}

int failover_main(int argc, char *argv[])
{
	return instance_cmd_main(argc, argv, COLO_CMD_FAILOVER,
				 COLO_CHECKPOINT_NOW, failover_synopsis,
				 failover_help);
}
