/* SPDX-License-Identifier: (GPL-2.0-only WITH Linux-syscall-note) OR MIT */
/*
 * xt_COLO: in-kernel COLO packet comparator. The one header shared by the
 * kernel module, coloctl and the iptables extension library.
 *
 * 1. The xtables target "COLO", revision 0 (struct xt_colo_tginfo).
 *
 *    --primary         steal the primary guest's output and hold it until
 *                      the secondary guest has produced the same output
 *                      (table mangle, chain PREROUTING)
 *    --secondary       steal the secondary guest's output arriving from the
 *                      secondary host, compare it, drop it
 *                      (table raw, chain PREROUTING)
 *    --rewrite         secondary host: the secondary guest's output; shift
 *                      its TCP sequence numbers into the primary's space
 *                      (table mangle, chain PREROUTING)
 *    --rewrite-client  secondary host: the client's mirrored packets on their
 *                      way to the secondary guest; learns the offset and
 *                      shifts their acks back (table mangle, PREROUTING)
 *
 * 2. The generic netlink family "colo" (COLO_GENL_NAME), version 1, and its
 *    multicast group "events" (COLO_GENL_MCGRP_EVENTS). Every command needs
 *    CAP_NET_ADMIN in the network namespace's user namespace; everything is
 *    per network namespace. Subscribing to "events" needs CAP_NET_ADMIN too.
 *
 *    COLO_CMD_INSTANCE_NEW - create an instance
 *      [COLO_A_INSTANCE]     u32 id, required, 1 .. 2^32-1
 *      [COLO_A_TIMEOUT_MS]   u32, optional, 10 .. 3600000 (default 3000)
 *      [COLO_A_MAX_QUEUE]    u32, optional, 1 .. 65536 packets per flow and
 *                            side (default 1024)
 *      [COLO_A_MAX_BYTES]    u64, optional, 65536 .. 2^40 bytes held per
 *                            instance and side (default 32 MiB), counted as
 *                            the memory the packets occupy (their truesize:
 *                            buffers and metadata), not their length
 *      [COLO_A_FAILOPEN_MS]  u32, optional, 0 (never) .. 3600000: time from
 *                            a checkpoint request to fail-open when no
 *                            checkpoint comes (default 10000)
 *      [COLO_A_MAX_FLOWS]    u32, optional, 1 .. 2^24 flows the instance
 *                            tracks (default 65536); a packet of a new flow
 *                            finding the table full is refused (primary:
 *                            dropped; secondary: consumed), counted in
 *                            COLO_STATS_A_FLOWS_FULL, and flows holding
 *                            nothing are reclaimed at once
 *      In a network namespace owned by a user namespace other than the
 *      initial one, max-bytes, max-flows, the timeout and fail-open are
 *      capped (module parameters userns_*), given values above a cap and
 *      fail-open 0 are refused (EPERM), and all such instances together may
 *      hold no more than the budget userns_budget (else ENOSPC).
 *    COLO_CMD_INSTANCE_DEL - delete an instance: [COLO_A_INSTANCE] required.
 *      Refused with EBUSY while rules use it.
 *    COLO_CMD_INSTANCE_GET - [COLO_A_INSTANCE] for one, or a dump for all.
 *      Reply: COLO_A_INSTANCE, COLO_A_TIMEOUT_MS, COLO_A_MAX_QUEUE,
 *      COLO_A_MAX_BYTES, COLO_A_FAILOPEN_MS, COLO_A_MAX_FLOWS, COLO_A_ROLE, COLO_A_STATE,
 *      COLO_A_RULES, COLO_A_PENDING, COLO_A_STATS (nest of COLO_STATS_A_*,
 *      each u64).
 *    COLO_CMD_CHECKPOINT - a checkpoint of the guest pair: [COLO_A_INSTANCE],
 *      [COLO_A_PHASE] u8, enum colo_checkpoint_phase, optional:
 *      COLO_CHECKPOINT_NOW (absent) - the checkpoint completed: flush and
 *        re-base at once (primary host), reset the rewriter (secondary host);
 *      COLO_CHECKPOINT_BEGIN - the guests have stopped for a checkpoint:
 *        primary host: flush now, then release primary packets still
 *        arriving (the guest produced them before it stopped) and drop the
 *        secondary's, until END (state COLO_STATE_CHECKPOINT); secondary
 *        host: the rewriter keeps its offsets until END;
 *      COLO_CHECKPOINT_END - the checkpoint is over, before the guests run
 *        again: the rest of NOW (primary: flush, re-base, compare again;
 *        secondary: offsets to zero). Without END the window closes by
 *        itself after the instance's timeout.
 *    COLO_CMD_FAILOVER - stop protecting, pass traffic: [COLO_A_INSTANCE].
 *
 *    Notifications on "events" (all carry COLO_A_INSTANCE):
 *    COLO_CMD_DIVERGENCE_NTF - checkpoint request: COLO_A_REASON, COLO_A_FLOW
 *      (nest of COLO_FLOW_A_*; absent for instance-wide reasons), and for TCP
 *      COLO_A_OFFSET (u64 stream offset of the first differing byte).
 *    COLO_CMD_CHECKPOINT_NTF - a checkpoint was applied.
 *    COLO_CMD_FAILOPEN_NTF - no checkpoint came within the fail-open bound;
 *      traffic now passes uncompared until the next checkpoint.
 *    COLO_CMD_FAILOVER_NTF - failover was applied.
 */
#ifndef _UAPI_LINUX_XT_COLO_H
#define _UAPI_LINUX_XT_COLO_H

#include <linux/types.h>

/* xtables target */
enum xt_colo_role {
	XT_COLO_ROLE_UNSPEC,
	XT_COLO_ROLE_PRIMARY,
	XT_COLO_ROLE_SECONDARY,
	XT_COLO_ROLE_REWRITE,
	XT_COLO_ROLE_REWRITE_CLIENT,
	__XT_COLO_ROLE_MAX
};

#define XT_COLO_ROLE_MAX (__XT_COLO_ROLE_MAX - 1)

struct colo_instance;

struct xt_colo_tginfo {
	__u32 instance;		/* instance id, not 0 */
	__u8 role;		/* enum xt_colo_role */
	__u8 flags;		/* reserved, must be 0 */
	__u16 reserved;		/* must be 0 */

	/* Used internally by the kernel, not copied to user space. */
	union {
		struct colo_instance *inst;
		__aligned_u64 inst_pad;	/* same size for 32-bit users */
	};
};

/* generic netlink */
#define COLO_GENL_NAME		"colo"
#define COLO_GENL_VERSION	1
#define COLO_GENL_MCGRP_EVENTS	"events"

enum colo_cmd {
	COLO_CMD_UNSPEC,
	COLO_CMD_INSTANCE_NEW,
	COLO_CMD_INSTANCE_DEL,
	COLO_CMD_INSTANCE_GET,
	COLO_CMD_CHECKPOINT,
	COLO_CMD_FAILOVER,
	COLO_CMD_DIVERGENCE_NTF,
	COLO_CMD_CHECKPOINT_NTF,
	COLO_CMD_FAILOPEN_NTF,
	COLO_CMD_FAILOVER_NTF,
	__COLO_CMD_MAX
};

#define COLO_CMD_MAX (__COLO_CMD_MAX - 1)

enum colo_attr {
	COLO_A_UNSPEC,
	COLO_A_PAD,
	COLO_A_INSTANCE,	/* u32 */
	COLO_A_TIMEOUT_MS,	/* u32 */
	COLO_A_MAX_QUEUE,	/* u32 */
	COLO_A_MAX_BYTES,	/* u64 */
	COLO_A_FAILOPEN_MS,	/* u32 */
	COLO_A_ROLE,		/* u8, enum colo_role (read only) */
	COLO_A_STATE,		/* u8, enum colo_state (read only) */
	COLO_A_RULES,		/* u32, rules using the instance (read only) */
	COLO_A_PENDING,		/* u8, 1 while a checkpoint request is out */
	COLO_A_STATS,		/* nest, COLO_STATS_A_* (read only) */
	COLO_A_REASON,		/* u8, enum colo_reason */
	COLO_A_FLOW,		/* nest, COLO_FLOW_A_* */
	COLO_A_OFFSET,		/* u64 */
	COLO_A_PHASE,		/* u8, enum colo_checkpoint_phase */
	COLO_A_MAX_FLOWS,	/* u32 */
	__COLO_A_MAX
};

#define COLO_A_MAX (__COLO_A_MAX - 1)

enum colo_flow_attr {
	COLO_FLOW_A_UNSPEC,
	COLO_FLOW_A_FAMILY,	/* u8, AF_INET or AF_INET6 */
	COLO_FLOW_A_PROTO,	/* u8, IPPROTO_* */
	COLO_FLOW_A_SADDR,	/* binary, 4 or 16 bytes: the guest's address */
	COLO_FLOW_A_DADDR,	/* binary, 4 or 16 bytes: the peer's address */
	COLO_FLOW_A_SPORT,	/* u16, host order (TCP/UDP/SCTP...) */
	COLO_FLOW_A_DPORT,	/* u16, host order */
	COLO_FLOW_A_ICMP_ID,	/* u16, host order (ICMP echo) */
	__COLO_FLOW_A_MAX
};

#define COLO_FLOW_A_MAX (__COLO_FLOW_A_MAX - 1)

enum colo_role {
	COLO_ROLE_NONE,		/* no rule uses the instance, and no flow
				 * of an earlier rule remains: the next
				 * rule may give it either role
				 */
	COLO_ROLE_PRIMARY,	/* comparator on the primary host */
	COLO_ROLE_SECONDARY,	/* rewriter on the secondary host */
	__COLO_ROLE_MAX
};

enum colo_state {
	COLO_STATE_ACTIVE,	/* comparing (or rewriting) */
	COLO_STATE_FAILOPEN,	/* no checkpoint came: passing uncompared */
	COLO_STATE_FAILED_OVER,	/* failover: passing, protection stopped */
	COLO_STATE_CHECKPOINT,	/* between checkpoint BEGIN and END */
	__COLO_STATE_MAX
};

enum colo_checkpoint_phase {
	COLO_CHECKPOINT_NOW,	/* begin and end at once */
	COLO_CHECKPOINT_BEGIN,	/* the guests have stopped */
	COLO_CHECKPOINT_END,	/* before the guests run again */
	__COLO_CHECKPOINT_MAX
};

#define COLO_CHECKPOINT_MAX (__COLO_CHECKPOINT_MAX - 1)

enum colo_reason {
	COLO_REASON_UNSPEC,
	COLO_REASON_PAYLOAD,	/* payload bytes differ */
	COLO_REASON_LENGTH,	/* datagram/stream lengths differ */
	COLO_REASON_TCP_FLAGS,	/* SYN/FIN/RST at different positions */
	COLO_REASON_TIMEOUT,	/* a primary packet waited too long */
	COLO_REASON_QUEUE_FULL,	/* a flow queue or the byte bound is full */
	COLO_REASON_HEADER,	/* ICMP type/code or other header field */
	__COLO_REASON_MAX
};

#define COLO_REASON_MAX (__COLO_REASON_MAX - 1)

enum colo_stats_attr {
	COLO_STATS_A_UNSPEC,
	COLO_STATS_A_PAD,
	COLO_STATS_A_PRI_PACKETS,	/* primary packets seen */
	COLO_STATS_A_PRI_BYTES,
	COLO_STATS_A_SEC_PACKETS,	/* secondary packets seen */
	COLO_STATS_A_SEC_BYTES,
	COLO_STATS_A_RELEASED,		/* primary packets released */
	COLO_STATS_A_RELEASED_BYTES,
	COLO_STATS_A_PASSED,		/* primary packets passed uncompared
					 * (fail-open, failover, retransmits)
					 */
	COLO_STATS_A_SEC_DROPPED,	/* secondary packets consumed */
	COLO_STATS_A_PRI_DROPPED,	/* primary packets dropped: queue full,
					 * device gone, malformed
					 */
	COLO_STATS_A_COMPARED_EQUAL,	/* comparisons that matched */
	COLO_STATS_A_DIV_PAYLOAD,
	COLO_STATS_A_DIV_LENGTH,
	COLO_STATS_A_DIV_TCP_FLAGS,
	COLO_STATS_A_DIV_TIMEOUT,
	COLO_STATS_A_DIV_QUEUE_FULL,
	COLO_STATS_A_DIV_HEADER,
	COLO_STATS_A_CKPT_REQUESTS,	/* divergence events sent */
	COLO_STATS_A_CKPT_SUPPRESSED,	/* divergences while one was pending */
	COLO_STATS_A_CHECKPOINTS,
	COLO_STATS_A_FAILOPENS,
	COLO_STATS_A_MALFORMED,		/* packets too short/bad to parse */
	COLO_STATS_A_PRI_HELD_PACKETS,	/* gauges: held now (bytes: the
					 * memory they occupy, truesize)
					 */
	COLO_STATS_A_PRI_HELD_BYTES,
	COLO_STATS_A_SEC_HELD_PACKETS,
	COLO_STATS_A_SEC_HELD_BYTES,
	COLO_STATS_A_FLOWS,
	COLO_STATS_A_REWRITTEN,		/* rewriter: flows given an offset */
	COLO_STATS_A_REWRITE_PACKETS,	/* rewriter: packets seen */
	COLO_STATS_A_RELEASED_PARTIAL,	/* matched prefixes of held TCP
					 * segments released as copies
					 * (also in RELEASED[_BYTES])
					 */
	COLO_STATS_A_ACKS_LOWERED,	/* primary pure acks released with
					 * the ack lowered to the
					 * secondary's (also in RELEASED)
					 */
	COLO_STATS_A_PRI_DUPLICATES,	/* primary retransmissions freed:
					 * released together with their
					 * original
					 */
	COLO_STATS_A_CKPT_RELEASED,	/* primary packets released inside a
					 * checkpoint window (also in
					 * RELEASED[_BYTES])
					 */
	COLO_STATS_A_CKPT_EXPIRED,	/* checkpoint windows closed by the
					 * timeout: no END came
					 */
	COLO_STATS_A_FLOWS_FULL,	/* packets of new flows refused: the
					 * flow table was full (also in
					 * PRI_DROPPED or SEC_DROPPED)
					 */
	COLO_STATS_A_FLOWS_RECLAIMS,	/* reclaims of idle flows because the
					 * table was full
					 */
	COLO_STATS_A_SEC_EXPIRED,	/* secondary packets the primary did
					 * not match within the timeout, nor
					 * sent anything on their flow:
					 * dropped, a checkpoint requested
					 * (also in SEC_DROPPED)
					 */
	COLO_STATS_A_HOLD_NOMEM,	/* packets refused because their
					 * flow's packet queues could not be
					 * allocated (also in PRI_DROPPED or
					 * SEC_DROPPED, like a full queue)
					 */
	COLO_STATS_A_EVENTS_LOST,	/* events on the "events" group that
					 * listeners did not get: no memory
					 * for the message, or no listener
					 * took it (receive buffers full), or
					 * one with NETLINK_BROADCAST_ERROR
					 * had no room. Not: no listener
					 */
	COLO_STATS_A_FLOWS_NOMEM,	/* packets of new flows whose flow
					 * state could not be allocated
					 * (comparator: also in PRI_DROPPED or
					 * SEC_DROPPED; rewriter: left
					 * unshifted)
					 */
	__COLO_STATS_A_MAX
};

#define COLO_STATS_A_MAX (__COLO_STATS_A_MAX - 1)

#endif /* _UAPI_LINUX_XT_COLO_H */
