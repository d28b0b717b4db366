/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * An instance as COLO_CMD_INSTANCE_GET describes it: parsing the reply and
 * printing it for humans or as JSON. Kept apart from the socket code so the
 * unit tests can feed it messages they build themselves.
 */
#ifndef COLOCTL_INFO_H
#define COLOCTL_INFO_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <libmnl/libmnl.h>

/* Counter slots: COLO_STATS_A_* of this version and of a few newer ones. */
#define INFO_STATS_SLOTS 64

enum info_has {
	INFO_HAS_TIMEOUT	= 1 << 0,
	INFO_HAS_MAX_QUEUE	= 1 << 1,
	INFO_HAS_MAX_BYTES	= 1 << 2,
	INFO_HAS_FAILOPEN	= 1 << 3,
	INFO_HAS_ROLE		= 1 << 4,
	INFO_HAS_STATE		= 1 << 5,
	INFO_HAS_RULES		= 1 << 6,
	INFO_HAS_PENDING	= 1 << 7,
	INFO_HAS_STATS		= 1 << 8,
	INFO_HAS_MAX_FLOWS	= 1 << 9,
};

struct colo_info {
	unsigned int has;	/* enum info_has */
	uint32_t instance;
	uint32_t timeout_ms;
	uint32_t max_queue;
	uint64_t max_bytes;
	uint32_t failopen_ms;
	uint32_t max_flows;
	uint8_t role;
	uint8_t state;
	uint32_t rules;
	bool pending;
	bool stat_present[INFO_STATS_SLOTS];
	uint64_t stats[INFO_STATS_SLOTS];
};

/*
 * Parse one COLO_CMD_INSTANCE_GET reply. Returns 0, or -EPROTO when the
 * message is malformed or lacks COLO_A_INSTANCE.
 */
int info_parse(const struct nlmsghdr *nlh, struct colo_info *info);

/* "instance 1" and its settings and counters, indented, for humans. */
void info_print(FILE *f, const struct colo_info *info);

/* One JSON object, without a newline. */
void info_print_json(FILE *f, const struct colo_info *info);

struct colo_nl;

/*
 * COLO_CMD_INSTANCE_GET for instance *@id, or a dump of all instances when
 * @id is NULL, sorted by id. *@infos is malloc'ed (free it also on error).
 * Returns 0 or a negative errno; errors are not reported (c->ext holds the
 * kernel's message for colo_nl_perror()).
 */
int info_get(struct colo_nl *c, const uint32_t *id, struct colo_info **infos,
	     size_t *n);

#endif
