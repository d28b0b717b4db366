/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The subcommands of coloctl, one file each. Each takes the arguments from
 * its own name on and returns the process's exit code (EXIT_OK, EXIT_ERROR,
 * EXIT_USAGE).
 */
#ifndef COLOCTL_SUBCOMMANDS_H
#define COLOCTL_SUBCOMMANDS_H

#include <stdio.h>

int instance_main(int argc, char *argv[]);
int checkpoint_main(int argc, char *argv[]);
int failover_main(int argc, char *argv[]);
int monitor_main(int argc, char *argv[]);
int qemu_main(int argc, char *argv[]);

/* The synopsis lines and the detailed help of each subcommand. */
extern const char instance_synopsis[];
extern const char checkpoint_synopsis[];
extern const char failover_synopsis[];
extern const char monitor_synopsis[];
extern const char qemu_synopsis[];

/* checkpoint ID, failover ID: one instance, one command */
int instance_cmd_main(int argc, char *argv[], unsigned char cmd,
		      unsigned char phase, const char *synopsis,
		      void (*help)(FILE *f));

void instance_help(FILE *f);
void checkpoint_help(FILE *f);
void failover_help(FILE *f);
void monitor_help(FILE *f);
void qemu_help(FILE *f);

#endif
