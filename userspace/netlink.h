/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Talking to the colo generic netlink family with libmnl: resolving the
 * family and its "events" group through the controller, requests with
 * acks, dumps, and the kernel's extended ack messages.
 */
#ifndef COLOCTL_NETLINK_H
#define COLOCTL_NETLINK_H

#include <stdbool.h>
#include <stdint.h>
#include <libmnl/libmnl.h>

/* Receive buffer: large enough for any dump part the kernel sends. */
#define COLO_NL_RXBUF	32768
/* Requests are small: a few u32/u64 attributes. */
#define COLO_NL_TXBUF	512

/* What the kernel said about the last failed request. */
struct colo_extack {
	char msg[256];		/* NLMSGERR_ATTR_MSG, "" if none */
	char attr[32];		/* keyword of the attribute at NLMSGERR_ATTR_OFFS */
	bool has_policy;	/* NLMSGERR_ATTR_POLICY: a policy check failed */
	bool has_umin, has_umax, has_smin, has_smax;
	uint64_t umin, umax;
	int64_t smin, smax;
	bool has_miss;		/* NLMSGERR_ATTR_MISS_TYPE */
	uint32_t miss_type;
};

/* A generic netlink family as the controller describes it. */
struct colo_family {
	char name[16];		/* GENL_NAMSIZ */
	uint16_t id;
	uint32_t version;
	uint32_t group;		/* id of the multicast group asked for, or 0 */
};

struct colo_nl {
	struct mnl_socket *nl;
	unsigned int portid;
	unsigned int seq;
	uint16_t family;	/* generic netlink id of "colo" */
	uint32_t version;	/* the kernel's family version */
	uint32_t events_group;	/* multicast group id of "events", 0 if none */
	char *rxbuf;
	struct colo_extack ext;
};

/*
 * Open a generic netlink socket, ask for extended acks and resolve the colo
 * family. Prints its own message on failure (a missing family says how to
 * load the module). Returns 0 or a negative errno.
 */
int colo_nl_open(struct colo_nl *c);
void colo_nl_close(struct colo_nl *c);

/*
 * Join the "events" multicast group and enlarge the receive buffer. Prints
 * its own message on failure. Returns 0 or a negative errno.
 */
int colo_nl_subscribe(struct colo_nl *c);

/*
 * Join the controller's "notify" group on a subscribed socket, to learn when
 * the colo family goes away and comes back (module reload). Prints its own
 * message on failure, which is not fatal: only reloads go unnoticed.
 * Returns 0 or a negative errno.
 */
int colo_nl_subscribe_ctrl(struct colo_nl *c);

/*
 * Parse a controller message (a CTRL_CMD_GETFAMILY reply or a NEWFAMILY /
 * DELFAMILY notification); @group names the multicast group whose id is
 * wanted (NULL: none). Returns 0 or -EPROTO.
 */
int colo_nl_parse_family(const struct nlmsghdr *nlh, const char *group,
			 struct colo_family *fam);

/* Use @fam (the colo family, e.g. after a module reload) on @c. */
void colo_nl_set_family(struct colo_nl *c, const struct colo_family *fam);

/* Start a colo request of @cmd in @buf (COLO_NL_TXBUF bytes). */
struct nlmsghdr *colo_nl_msg(struct colo_nl *c, void *buf, uint8_t cmd,
			     uint16_t flags);

/*
 * Send @nlh and run @cb (may be NULL) on every colo message of the reply
 * until the ack, the error or the end of the dump. Returns 0 or a negative
 * errno; on a kernel error c->ext holds its extended ack. -EINTR means a
 * dump was interrupted by a change; its rest has been read and dropped, so
 * it may simply be retried.
 */
int colo_nl_request(struct colo_nl *c, struct nlmsghdr *nlh, mnl_cb_t cb,
		    void *data);

/*
 * Run the callbacks over @len bytes of reply @buf to request @req, as
 * colo_nl_request() does for each part it receives. Returns 1 when more
 * is to come, 0 at the ack or the end of the dump, or a negative errno
 * (with c->ext filled from the kernel's extended ack).
 */
int colo_nl_run(struct colo_nl *c, const struct nlmsghdr *req,
		const void *buf, size_t len, mnl_cb_t cb, void *data);

/*
 * Report a failed request: the kernel's own message when it gave one,
 * otherwise "coloctl: <context>: <strerror>".
 */
void colo_nl_perror(const struct colo_nl *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Send one of the simple per-instance commands (COLO_CMD_INSTANCE_DEL,
 * COLO_CMD_CHECKPOINT, COLO_CMD_FAILOVER) for @id on an open socket.
 * Returns 0 or a negative errno, with the error already reported.
 */
int colo_nl_instance_cmd(struct colo_nl *c, uint8_t cmd, uint32_t id);

/*
 * COLO_CMD_CHECKPOINT with @phase (enum colo_checkpoint_phase;
 * COLO_CHECKPOINT_NOW sends no phase, as older modules expect). Prints its
 * own message on failure.
 */
int colo_nl_checkpoint(struct colo_nl *c, uint32_t id, uint8_t phase);

/*
 * Helpers for mnl_attr_parse() callbacks: store @attr in @tb after checking
 * its type against @types (MNL_TYPE_UNSPEC: no check); attribute types
 * above @max are skipped (a newer kernel). Malformed attributes fail with
 * errno EPROTO.
 */
int colo_attr_store(const struct nlattr *attr, const struct nlattr **tb,
		    unsigned int max, const enum mnl_attr_data_type *types);

#endif
