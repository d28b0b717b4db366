/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Notifications of the "events" group: parsing, printing for humans or as
 * JSON, and the environment of the checkpoint helper command.
 */
#ifndef COLOCTL_EVENT_H
#define COLOCTL_EVENT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <libmnl/libmnl.h>

struct colo_flow {
	bool present;
	bool has_family, has_proto, has_saddr, has_daddr;
	bool has_sport, has_dport, has_icmp_id;
	uint8_t family;		/* AF_INET or AF_INET6 */
	uint8_t proto;		/* IPPROTO_* */
	unsigned char saddr[16], daddr[16];
	uint16_t sport, dport, icmp_id;
};

struct colo_event {
	uint8_t cmd;		/* COLO_CMD_*_NTF */
	uint32_t instance;
	bool has_reason, has_offset;
	uint8_t reason;		/* enum colo_reason */
	uint64_t offset;
	struct colo_flow flow;
	bool has_time;		/* when coloctl read it (monitor -t) */
	struct timespec time;	/* CLOCK_REALTIME */
};

/*
 * Parse one notification. Returns 0, or -EPROTO when it is malformed (no
 * instance, an address that does not fit its family).
 */
int event_parse(const struct nlmsghdr *nlh, struct colo_event *ev);

/*
 * One line for humans, with the newline; with @ev->has_time it begins
 * "[2026-12-03T22:58:01.123456Z] ".
 */
void event_print(FILE *f, const struct colo_event *ev);

/* One JSON object, with the newline; "time" first with @ev->has_time. */
void event_print_json(FILE *f, const struct colo_event *ev);

/*
 * Set COLO_INSTANCE, COLO_REASON and the flow's COLO_* variables of @ev in
 * this process's environment, and unset those that do not apply. Meant for
 * the child that runs the helper command. Returns 0 or -1 (errno set).
 */
int event_setenv(const struct colo_event *ev);

#endif
