// SPDX-License-Identifier: GPL-2.0-only
/*
 * Names for the numbers of the colo generic netlink family.
 *
 * Values this version does not know (a newer kernel) print as a number
 * rather than failing, so an old coloctl keeps working.
 */
#include <stdio.h>
#include <netinet/in.h>

#include <linux/xt_COLO.h>

#include "names.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *lookup(const char *const *names, size_t n, unsigned int v,
			  char buf[NAME_BUFSZ], const char *unknown_fmt)
{
	if (v < n && names[v])
		return names[v];
	snprintf(buf, NAME_BUFSZ, unknown_fmt, v);
	return buf;
}

static const char *const roles[] = {
	[COLO_ROLE_NONE] = "none",
	[COLO_ROLE_PRIMARY] = "primary",
	[COLO_ROLE_SECONDARY] = "secondary",
};

const char *role_name(uint8_t role, char buf[NAME_BUFSZ])
{
	return lookup(roles, ARRAY_SIZE(roles), role, buf, "role-%u");
}

static const char *const states[] = {
	[COLO_STATE_ACTIVE] = "active",
	[COLO_STATE_FAILOPEN] = "fail-open",
	[COLO_STATE_FAILED_OVER] = "failed-over",
	[COLO_STATE_CHECKPOINT] = "checkpoint",
};

const char *state_name(uint8_t state, char buf[NAME_BUFSZ])
{
	return lookup(states, ARRAY_SIZE(states), state, buf, "state-%u");
}

static const char *const reasons[] = {
	[COLO_REASON_PAYLOAD] = "payload",
	[COLO_REASON_LENGTH] = "length",
	[COLO_REASON_TCP_FLAGS] = "tcp-flags",
	[COLO_REASON_TIMEOUT] = "timeout",
	[COLO_REASON_QUEUE_FULL] = "queue-full",
	[COLO_REASON_HEADER] = "header",
};

const char *reason_name(uint8_t reason, char buf[NAME_BUFSZ])
{
	return lookup(reasons, ARRAY_SIZE(reasons), reason, buf, "reason-%u");
}

/*
 * A fixed table rather than getprotobynumber(): the output must not depend
 * on /etc/protocols being installed (test guests, minimal hosts).
 */
static const char *const protos[] = {
	[IPPROTO_ICMP] = "icmp",
	[IPPROTO_IGMP] = "igmp",
	[IPPROTO_TCP] = "tcp",
	[IPPROTO_UDP] = "udp",
	[IPPROTO_DCCP] = "dccp",
	[IPPROTO_GRE] = "gre",
	[IPPROTO_ESP] = "esp",
	[IPPROTO_AH] = "ah",
	[IPPROTO_ICMPV6] = "icmpv6",
	[IPPROTO_SCTP] = "sctp",
	[IPPROTO_UDPLITE] = "udplite",
};

const char *proto_name(uint8_t proto, char buf[NAME_BUFSZ])
{
	return lookup(protos, ARRAY_SIZE(protos), proto, buf, "%u");
}

static const char *const events[] = {
	[COLO_CMD_DIVERGENCE_NTF] = "divergence",
	[COLO_CMD_CHECKPOINT_NTF] = "checkpoint",
	[COLO_CMD_FAILOPEN_NTF] = "fail-open",
	[COLO_CMD_FAILOVER_NTF] = "failover",
};

const char *event_name(uint8_t cmd, char buf[NAME_BUFSZ])
{
	return lookup(events, ARRAY_SIZE(events), cmd, buf, "event-%u");
}

static const char *const stat_keys[] = {
	[COLO_STATS_A_PRI_PACKETS] = "primary_packets",
	[COLO_STATS_A_PRI_BYTES] = "primary_bytes",
	[COLO_STATS_A_SEC_PACKETS] = "secondary_packets",
	[COLO_STATS_A_SEC_BYTES] = "secondary_bytes",
	[COLO_STATS_A_RELEASED] = "released",
	[COLO_STATS_A_RELEASED_BYTES] = "released_bytes",
	[COLO_STATS_A_PASSED] = "passed",
	[COLO_STATS_A_SEC_DROPPED] = "secondary_dropped",
	[COLO_STATS_A_PRI_DROPPED] = "primary_dropped",
	[COLO_STATS_A_COMPARED_EQUAL] = "compared_equal",
	[COLO_STATS_A_DIV_PAYLOAD] = "divergence_payload",
	[COLO_STATS_A_DIV_LENGTH] = "divergence_length",
	[COLO_STATS_A_DIV_TCP_FLAGS] = "divergence_tcp_flags",
	[COLO_STATS_A_DIV_TIMEOUT] = "divergence_timeout",
	[COLO_STATS_A_DIV_QUEUE_FULL] = "divergence_queue_full",
	[COLO_STATS_A_DIV_HEADER] = "divergence_header",
	[COLO_STATS_A_CKPT_REQUESTS] = "checkpoint_requests",
	[COLO_STATS_A_CKPT_SUPPRESSED] = "checkpoint_suppressed",
	[COLO_STATS_A_CHECKPOINTS] = "checkpoints",
	[COLO_STATS_A_FAILOPENS] = "fail_opens",
	[COLO_STATS_A_MALFORMED] = "malformed",
	[COLO_STATS_A_PRI_HELD_PACKETS] = "primary_held_packets",
	[COLO_STATS_A_PRI_HELD_BYTES] = "primary_held_bytes",
	[COLO_STATS_A_SEC_HELD_PACKETS] = "secondary_held_packets",
	[COLO_STATS_A_SEC_HELD_BYTES] = "secondary_held_bytes",
	[COLO_STATS_A_FLOWS] = "flows",
	[COLO_STATS_A_REWRITTEN] = "rewritten_flows",
	[COLO_STATS_A_REWRITE_PACKETS] = "rewrite_packets",
	[COLO_STATS_A_RELEASED_PARTIAL] = "released_partial",
	[COLO_STATS_A_ACKS_LOWERED] = "acks_lowered",
	[COLO_STATS_A_PRI_DUPLICATES] = "primary_duplicates",
	[COLO_STATS_A_CKPT_RELEASED] = "checkpoint_released",
	[COLO_STATS_A_CKPT_EXPIRED] = "checkpoint_expired",
	[COLO_STATS_A_FLOWS_FULL] = "flows_full",
	[COLO_STATS_A_FLOWS_RECLAIMS] = "flows_reclaims",
	[COLO_STATS_A_SEC_EXPIRED] = "secondary_expired",
	[COLO_STATS_A_HOLD_NOMEM] = "hold_nomem",
	[COLO_STATS_A_EVENTS_LOST] = "events_lost",
	[COLO_STATS_A_FLOWS_NOMEM] = "flows_nomem",
};

const char *stat_key(unsigned int type, char buf[NAME_BUFSZ])
{
	return lookup(stat_keys, ARRAY_SIZE(stat_keys), type, buf, "stat_%u");
}
