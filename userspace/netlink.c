// SPDX-License-Identifier: GPL-2.0-only
/*
 * Talking to the colo generic netlink family with libmnl.
 *
 * The family id and the "events" group id are dynamic: they are resolved by
 * name through the generic netlink controller (CTRL_CMD_GETFAMILY), as in
 * libmnl's examples/genl/genl-family-get.c and iproute2's lib/libgenl.c.
 * Control messages (errors, dump ends) get our own callbacks instead of
 * libmnl's defaults so that the kernel's extended ack is not lost.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include <linux/xt_COLO.h>

#include "netlink.h"
#include "parse.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The prefix NL_SET_ERR_MSG_MOD() puts in front of the module's messages. */
#define KERNEL_MSG_PREFIX "xt_COLO: "

/* Receive buffer of a monitoring socket: room for a burst of events. */
#define EVENTS_RCVBUF (1 << 20)

int colo_attr_store(const struct nlattr *attr, const struct nlattr **tb,
		    unsigned int max, const enum mnl_attr_data_type *types)
{
	unsigned int type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, max) < 0)
		return MNL_CB_OK;
	if (types && types[type] != MNL_TYPE_UNSPEC &&
	    mnl_attr_validate(attr, types[type]) < 0) {
		errno = EPROTO;
		return MNL_CB_ERROR;
	}
	tb[type] = attr;
	return MNL_CB_OK;
}

/* The keywords of coloctl's command line, for the kernel's bad attributes. */
static const char *const attr_keywords[COLO_A_MAX + 1] = {
	[COLO_A_INSTANCE] = "instance",
	[COLO_A_TIMEOUT_MS] = "timeout",
	[COLO_A_MAX_QUEUE] = "max-queue",
	[COLO_A_MAX_BYTES] = "max-bytes",
	[COLO_A_FAILOPEN_MS] = "failopen",
	[COLO_A_MAX_FLOWS] = "max-flows",
};

static const char *attr_keyword(unsigned int type)
{
	if (type < ARRAY_SIZE(attr_keywords) && attr_keywords[type])
		return attr_keywords[type];
	return NULL;
}

/*
 * NLMSGERR_ATTR_OFFS is the offset of the offending attribute from the
 * start of our request: find which attribute of the request starts there.
 */
static void extack_resolve_offset(struct colo_extack *ext,
				  const struct nlmsghdr *req, uint32_t offs)
{
	const struct nlattr *attr;

	if (!req)
		return;
	mnl_attr_for_each(attr, req, GENL_HDRLEN) {
		const char *kw;

		if ((const char *)attr - (const char *)req != (long)offs)
			continue;
		kw = attr_keyword(mnl_attr_get_type(attr));
		if (kw)
			snprintf(ext->attr, sizeof(ext->attr), "%s", kw);
		else
			snprintf(ext->attr, sizeof(ext->attr), "attribute %u",
				 mnl_attr_get_type(attr));
		return;
	}
}

static int policy_attr_cb(const struct nlattr *attr, void *data)
{
	static const enum mnl_attr_data_type types[NL_POLICY_TYPE_ATTR_MAX + 1] = {
		[NL_POLICY_TYPE_ATTR_MIN_VALUE_S] = MNL_TYPE_U64,
		[NL_POLICY_TYPE_ATTR_MAX_VALUE_S] = MNL_TYPE_U64,
		[NL_POLICY_TYPE_ATTR_MIN_VALUE_U] = MNL_TYPE_U64,
		[NL_POLICY_TYPE_ATTR_MAX_VALUE_U] = MNL_TYPE_U64,
	};

	return colo_attr_store(attr, data, NL_POLICY_TYPE_ATTR_MAX, types);
}

static void extack_parse_policy(struct colo_extack *ext,
				const struct nlattr *nest)
{
	const struct nlattr *tb[NL_POLICY_TYPE_ATTR_MAX + 1] = {};

	if (mnl_attr_parse_nested(nest, policy_attr_cb, tb) < 0)
		return;
	ext->has_policy = true;
	if (tb[NL_POLICY_TYPE_ATTR_MIN_VALUE_U]) {
		ext->has_umin = true;
		ext->umin = mnl_attr_get_u64(tb[NL_POLICY_TYPE_ATTR_MIN_VALUE_U]);
	}
	if (tb[NL_POLICY_TYPE_ATTR_MAX_VALUE_U]) {
		ext->has_umax = true;
		ext->umax = mnl_attr_get_u64(tb[NL_POLICY_TYPE_ATTR_MAX_VALUE_U]);
	}
	if (tb[NL_POLICY_TYPE_ATTR_MIN_VALUE_S]) {
		ext->has_smin = true;
		ext->smin = (int64_t)mnl_attr_get_u64(tb[NL_POLICY_TYPE_ATTR_MIN_VALUE_S]);
	}
	if (tb[NL_POLICY_TYPE_ATTR_MAX_VALUE_S]) {
		ext->has_smax = true;
		ext->smax = (int64_t)mnl_attr_get_u64(tb[NL_POLICY_TYPE_ATTR_MAX_VALUE_S]);
	}
}

static int extack_attr_cb(const struct nlattr *attr, void *data)
{
	static const enum mnl_attr_data_type types[NLMSGERR_ATTR_MAX + 1] = {
		[NLMSGERR_ATTR_MSG] = MNL_TYPE_NUL_STRING,
		[NLMSGERR_ATTR_OFFS] = MNL_TYPE_U32,
		[NLMSGERR_ATTR_POLICY] = MNL_TYPE_NESTED,
		[NLMSGERR_ATTR_MISS_TYPE] = MNL_TYPE_U32,
		[NLMSGERR_ATTR_MISS_NEST] = MNL_TYPE_U32,
	};

	return colo_attr_store(attr, data, NLMSGERR_ATTR_MAX, types);
}

struct request_ctx {
	struct colo_nl *c;
	const struct nlmsghdr *req;
	mnl_cb_t cb;
	void *data;
	int error;		/* negative errno reported by the kernel */
};

/*
 * Parse the extended ack TLVs that follow an error (at @offset of the
 * payload) into the socket's colo_extack. A malformed extended ack is
 * ignored: the errno alone is still reported.
 */
static void extack_parse(struct request_ctx *ctx, const struct nlmsghdr *nlh,
			 unsigned int offset)
{
	struct colo_extack *ext = &ctx->c->ext;
	const struct nlattr *tb[NLMSGERR_ATTR_MAX + 1] = {};
	const char *msg;

	memset(ext, 0, sizeof(*ext));
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (mnl_nlmsg_get_payload_len(nlh) < offset)
		return;
	if (mnl_attr_parse(nlh, offset, extack_attr_cb, tb) < 0)
		return;
	if (tb[NLMSGERR_ATTR_MSG]) {
		msg = mnl_attr_get_str(tb[NLMSGERR_ATTR_MSG]);
		/* NL_SET_ERR_MSG_MOD() names the module; we speak for it. */
		if (!strncmp(msg, KERNEL_MSG_PREFIX, strlen(KERNEL_MSG_PREFIX)))
			msg += strlen(KERNEL_MSG_PREFIX);
		snprintf(ext->msg, sizeof(ext->msg), "%s", msg);
	}
	/* Offsets name our keywords only in requests to the colo family. */
	if (tb[NLMSGERR_ATTR_OFFS] && ctx->c->family &&
	    ctx->req->nlmsg_type == ctx->c->family)
		extack_resolve_offset(ext, ctx->req,
				      mnl_attr_get_u32(tb[NLMSGERR_ATTR_OFFS]));
	if (tb[NLMSGERR_ATTR_POLICY])
		extack_parse_policy(ext, tb[NLMSGERR_ATTR_POLICY]);
	if (tb[NLMSGERR_ATTR_MISS_TYPE]) {
		ext->has_miss = true;
		ext->miss_type = mnl_attr_get_u32(tb[NLMSGERR_ATTR_MISS_TYPE]);
	}
}

/* Replies to a request carry the request's type: the family's id. */
static int data_cb(const struct nlmsghdr *nlh, void *data)
{
	struct request_ctx *ctx = data;

	if (nlh->nlmsg_type != ctx->req->nlmsg_type || !ctx->cb)
		return MNL_CB_OK;
	return ctx->cb(nlh, ctx->data);
}

static int noop_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	return MNL_CB_OK;
}

static int error_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
	struct request_ctx *ctx = data;
	unsigned int offset = sizeof(*err);

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*err))) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (err->error == 0)
		return MNL_CB_STOP;	/* the ack */

	/* Without NETLINK_CAP_ACK the request is echoed before the TLVs. */
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		offset += mnl_nlmsg_get_payload_len(&err->msg);
	extack_parse(ctx, nlh, offset);
	ctx->error = err->error < 0 ? err->error : -err->error;
	errno = -ctx->error;
	return MNL_CB_ERROR;
}

/* The end of a dump carries the dump's error, if any, and its extack. */
static int done_cb(const struct nlmsghdr *nlh, void *data)
{
	struct request_ctx *ctx = data;
	int error;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(int))
		return MNL_CB_STOP;
	memcpy(&error, mnl_nlmsg_get_payload(nlh), sizeof(error));
	if (error == 0)
		return MNL_CB_STOP;
	extack_parse(ctx, nlh, sizeof(int));
	ctx->error = error < 0 ? error : -error;
	errno = -ctx->error;
	return MNL_CB_ERROR;
}

static int overrun_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	errno = ENOBUFS;
	return MNL_CB_ERROR;
}

static mnl_cb_t ctl_cbs[NLMSG_MIN_TYPE] = {
	[NLMSG_NOOP] = noop_cb,
	[NLMSG_ERROR] = error_cb,
	[NLMSG_DONE] = done_cb,
	[NLMSG_OVERRUN] = overrun_cb,
};

/* Whether @len bytes of messages in @buf contain the end of a dump. */
static bool has_end(const void *buf, ssize_t len)
{
	const struct nlmsghdr *nlh = buf;
	int left = len;

	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left))
		if (nlh->nlmsg_type == NLMSG_DONE ||
		    nlh->nlmsg_type == NLMSG_ERROR)
			return true;
	return false;
}

/*
 * Drop the rest of an interrupted dump, whose first @len bytes are in the
 * receive buffer, so the socket can be used again.
 */
static int drain(struct colo_nl *c, ssize_t len)
{
	while (!has_end(c->rxbuf, len)) {
		len = mnl_socket_recvfrom(c->nl, c->rxbuf, COLO_NL_RXBUF);
		if (len < 0)
			return -errno;
	}
	return 0;
}

int colo_nl_run(struct colo_nl *c, const struct nlmsghdr *req,
		const void *buf, size_t len, mnl_cb_t cb, void *data)
{
	struct request_ctx ctx = {
		.c = c, .req = req, .cb = cb, .data = data,
	};
	int ret;

	ret = mnl_cb_run2(buf, len, req->nlmsg_seq, c->portid, data_cb, &ctx,
			  ctl_cbs, ARRAY_SIZE(ctl_cbs));
	if (ret < 0)
		return ctx.error ? ctx.error : -errno;
	return ret == MNL_CB_STOP ? 0 : 1;
}

int colo_nl_request(struct colo_nl *c, struct nlmsghdr *nlh, mnl_cb_t cb,
		    void *data)
{
	ssize_t len;
	int ret;

	memset(&c->ext, 0, sizeof(c->ext));
	nlh->nlmsg_seq = ++c->seq;
	if (mnl_socket_sendto(c->nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	do {
		len = mnl_socket_recvfrom(c->nl, c->rxbuf, COLO_NL_RXBUF);
		if (len < 0) {
			ret = -errno;
			goto out;
		}
		ret = colo_nl_run(c, nlh, c->rxbuf, len, cb, data);
	} while (ret > 0);
	/* NLM_F_DUMP_INTR: the dump saw a change, it may be retried */
	if (ret == -EINTR && (nlh->nlmsg_flags & NLM_F_DUMP))
		ret = drain(c, len) ?: -EINTR;
out:
	return ret;
}

static int group_attr_cb(const struct nlattr *attr, void *data)
{
	static const enum mnl_attr_data_type types[CTRL_ATTR_MCAST_GRP_MAX + 1] = {
		[CTRL_ATTR_MCAST_GRP_NAME] = MNL_TYPE_NUL_STRING,
		[CTRL_ATTR_MCAST_GRP_ID] = MNL_TYPE_U32,
	};

	return colo_attr_store(attr, data, CTRL_ATTR_MCAST_GRP_MAX, types);
}

static int family_attr_cb(const struct nlattr *attr, void *data)
{
	static const enum mnl_attr_data_type types[CTRL_ATTR_MAX + 1] = {
		[CTRL_ATTR_FAMILY_ID] = MNL_TYPE_U16,
		[CTRL_ATTR_FAMILY_NAME] = MNL_TYPE_NUL_STRING,
		[CTRL_ATTR_VERSION] = MNL_TYPE_U32,
		[CTRL_ATTR_MCAST_GROUPS] = MNL_TYPE_NESTED,
	};

	return colo_attr_store(attr, data, CTRL_ATTR_MAX, types);
}

int colo_nl_parse_family(const struct nlmsghdr *nlh, const char *group,
			 struct colo_family *fam)
{
	const struct nlattr *tb[CTRL_ATTR_MAX + 1] = {};
	const struct nlattr *pos;

	memset(fam, 0, sizeof(*fam));
	if (mnl_attr_parse(nlh, GENL_HDRLEN, family_attr_cb, tb) < 0)
		return -EPROTO;
	if (!tb[CTRL_ATTR_FAMILY_ID] || !tb[CTRL_ATTR_FAMILY_NAME])
		return -EPROTO;
	fam->id = mnl_attr_get_u16(tb[CTRL_ATTR_FAMILY_ID]);
	snprintf(fam->name, sizeof(fam->name), "%s",
		 mnl_attr_get_str(tb[CTRL_ATTR_FAMILY_NAME]));
	if (tb[CTRL_ATTR_VERSION])
		fam->version = mnl_attr_get_u32(tb[CTRL_ATTR_VERSION]);
	if (!tb[CTRL_ATTR_MCAST_GROUPS] || !group)
		return 0;
	mnl_attr_for_each_nested(pos, tb[CTRL_ATTR_MCAST_GROUPS]) {
		const struct nlattr *gtb[CTRL_ATTR_MCAST_GRP_MAX + 1] = {};

		if (mnl_attr_parse_nested(pos, group_attr_cb, gtb) < 0)
			return -EPROTO;
		if (gtb[CTRL_ATTR_MCAST_GRP_NAME] && gtb[CTRL_ATTR_MCAST_GRP_ID] &&
		    !strcmp(mnl_attr_get_str(gtb[CTRL_ATTR_MCAST_GRP_NAME]),
			    group))
			fam->group = mnl_attr_get_u32(gtb[CTRL_ATTR_MCAST_GRP_ID]);
	}
	return 0;
}

struct family_req {
	const char *group;
	struct colo_family *fam;
	bool found;
};

static int family_cb(const struct nlmsghdr *nlh, void *data)
{
	struct family_req *req = data;

	if (colo_nl_parse_family(nlh, req->group, req->fam)) {
		errno = EPROTO;
		return MNL_CB_ERROR;
	}
	req->found = true;
	return MNL_CB_OK;
}

/* CTRL_CMD_GETFAMILY for @name; @group names the multicast group wanted. */
static int get_family(struct colo_nl *c, const char *name, const char *group,
		      struct colo_family *fam)
{
	struct family_req req = { .group = group, .fam = fam };
	char buf[COLO_NL_TXBUF];
	struct nlmsghdr *nlh;
	struct genlmsghdr *genl;
	int ret;

	/* Attribute padding goes out too: no stack garbage in it. */
	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = GENL_ID_CTRL;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = CTRL_CMD_GETFAMILY;
	genl->version = 1;
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, name);
	ret = colo_nl_request(c, nlh, family_cb, &req);
	if (!ret && !req.found)
		ret = -EPROTO;
	return ret;
}

void colo_nl_set_family(struct colo_nl *c, const struct colo_family *fam)
{
	c->family = fam->id;
	c->version = fam->version;
	c->events_group = fam->group;
}

int colo_nl_open(struct colo_nl *c)
{
	struct colo_family fam;
	int one = 1;
	int ret;

	memset(c, 0, sizeof(*c));
	c->rxbuf = malloc(COLO_NL_RXBUF);
	if (!c->rxbuf) {
		ret = -errno;
		fprintf(stderr, "%s: %s\n", PROG_NAME, strerror(-ret));
		goto out;
	}
	/* Not inherited by the helper commands monitor --exec runs. */
	c->nl = mnl_socket_open2(NETLINK_GENERIC, SOCK_CLOEXEC);
	if (!c->nl) {
		ret = -errno;
		fprintf(stderr, "%s: cannot open a generic netlink socket: %s\n",
			PROG_NAME, strerror(-ret));
		goto out;
	}
	/*
	 * Extended acks carry the kernel's explanation of an error; capped
	 * acks spare us the echo of our own request. Kernels without either
	 * still work, with terser errors.
	 */
	mnl_socket_setsockopt(c->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(c->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	if (mnl_socket_bind(c->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		fprintf(stderr, "%s: cannot bind a generic netlink socket: %s\n",
			PROG_NAME, strerror(-ret));
		goto out;
	}
	c->portid = mnl_socket_get_portid(c->nl);
	c->seq = time(NULL);

	ret = get_family(c, COLO_GENL_NAME, COLO_GENL_MCGRP_EVENTS, &fam);
	if (!ret)
		colo_nl_set_family(c, &fam);
	if (ret == -ENOENT) {
		fprintf(stderr,
			"%s: the %s generic netlink family is not available: is xt_COLO loaded? (modprobe xt_COLO)\n",
			PROG_NAME, COLO_GENL_NAME);
		goto out;
	}
	if (ret) {
		colo_nl_perror(c, ret, "cannot resolve the %s generic netlink family",
			       COLO_GENL_NAME);
		goto out;
	}
out:
	if (ret)
		colo_nl_close(c);
	return ret;
}

void colo_nl_close(struct colo_nl *c)
{
	if (c->nl)
		mnl_socket_close(c->nl);
	c->nl = NULL;
	free(c->rxbuf);
	c->rxbuf = NULL;
}

static int join(struct colo_nl *c, uint32_t group)
{
	if (mnl_socket_setsockopt(c->nl, NETLINK_ADD_MEMBERSHIP, &group,
				  sizeof(group)) < 0)
		return -errno;
	return 0;
}

int colo_nl_subscribe(struct colo_nl *c)
{
	int fd = mnl_socket_get_fd(c->nl);
	int size = EVENTS_RCVBUF, one = 1;
	int ret;

	if (!c->events_group) {
		fprintf(stderr,
			"%s: the %s family has no \"%s\" multicast group: does xt_COLO match this coloctl?\n",
			PROG_NAME, COLO_GENL_NAME, COLO_GENL_MCGRP_EVENTS);
		return -ENOENT;
	}
	/*
	 * Events come in bursts (a checkpoint of many instances); a larger
	 * buffer makes overruns rare. SO_RCVBUFFORCE passes rmem_max for
	 * CAP_NET_ADMIN, which monitoring needs anyway; failing both is fine.
	 */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	/*
	 * An event that finds this socket's buffer full then fails the
	 * module's multicast (ENOBUFS), which counts it in events_lost even
	 * when another listener got it; without, netlink tells the sender
	 * only when no listener got it.
	 */
	mnl_socket_setsockopt(c->nl, NETLINK_BROADCAST_ERROR, &one,
			      sizeof(one));

	ret = join(c, c->events_group);
	if (ret)
		fprintf(stderr,
			"%s: cannot subscribe to the %s \"%s\" group: %s%s\n",
			PROG_NAME, COLO_GENL_NAME, COLO_GENL_MCGRP_EVENTS,
			strerror(-ret),
			ret == -EPERM ? " (monitoring needs CAP_NET_ADMIN)" : "");
	return ret;
}

int colo_nl_subscribe_ctrl(struct colo_nl *c)
{
	struct colo_family fam;
	int ret;

	ret = get_family(c, "nlctrl", "notify", &fam);
	if (!ret && !fam.group)
		ret = -ENOENT;
	if (!ret)
		ret = join(c, fam.group);
	if (ret)
		fprintf(stderr,
			"%s: cannot follow the generic netlink controller (%s): a reload of xt_COLO will go unnoticed\n",
			PROG_NAME, strerror(-ret));
	return ret;
}

struct nlmsghdr *colo_nl_msg(struct colo_nl *c, void *buf, uint8_t cmd,
			     uint16_t flags)
{
	struct nlmsghdr *nlh;
	struct genlmsghdr *genl;

	/* Attribute padding goes out too: no stack garbage in it. */
	memset(buf, 0, COLO_NL_TXBUF);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = c->family;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = cmd;
	genl->version = COLO_GENL_VERSION;
	return nlh;
}

static void print_range(const struct colo_extack *ext)
{
	if (ext->has_umin && ext->has_umax)
		fprintf(stderr, ", valid range %llu..%llu",
			(unsigned long long)ext->umin,
			(unsigned long long)ext->umax);
	else if (ext->has_umin)
		fprintf(stderr, ", minimum %llu",
			(unsigned long long)ext->umin);
	else if (ext->has_umax)
		fprintf(stderr, ", maximum %llu",
			(unsigned long long)ext->umax);
	else if (ext->has_smin && ext->has_smax)
		fprintf(stderr, ", valid range %lld..%lld",
			(long long)ext->smin, (long long)ext->smax);
}

void colo_nl_perror(const struct colo_nl *c, int err, const char *fmt, ...)
{
	const struct colo_extack *ext = &c->ext;
	const char *hint = "";
	va_list ap;

	if (err == -EPERM)
		hint = " (CAP_NET_ADMIN is required)";

	fprintf(stderr, "%s: ", PROG_NAME);
	if (ext->msg[0]) {
		/*
		 * A policy failure's message is generic ("integer out of
		 * range"): say which argument it was about and what the
		 * policy allows. A message of the module's own is complete.
		 */
		if (ext->has_policy && ext->attr[0])
			fprintf(stderr, "%s: ", ext->attr);
		fputs(ext->msg, stderr);
		/* The policy's range explains ERANGE, not a bad length. */
		if (ext->has_policy && err == -ERANGE)
			print_range(ext);
		fprintf(stderr, " (%s)\n", strerror(-err));
		return;
	}

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (ext->has_miss) {
		const char *kw = attr_keyword(ext->miss_type);

		if (kw)
			fprintf(stderr, ": the kernel wants %s", kw);
		else
			fprintf(stderr, ": the kernel wants attribute %u",
				ext->miss_type);
	} else if (ext->attr[0]) {
		fprintf(stderr, ": bad %s", ext->attr);
		if (ext->has_policy && err == -ERANGE)
			print_range(ext);
	}
	fprintf(stderr, ": %s%s\n", strerror(-err), hint);
}

/* @cmd for instance @id, with a checkpoint @phase unless NOW; @what for errors. */
static int instance_request(struct colo_nl *c, uint8_t cmd, uint32_t id,
			    uint8_t phase, const char *what)
{
	char buf[COLO_NL_TXBUF];
	struct nlmsghdr *nlh;
	int ret;

	nlh = colo_nl_msg(c, buf, cmd, NLM_F_ACK);
	mnl_attr_put_u32(nlh, COLO_A_INSTANCE, id);
	if (phase != COLO_CHECKPOINT_NOW)
		mnl_attr_put_u8(nlh, COLO_A_PHASE, phase);
	ret = colo_nl_request(c, nlh, NULL, NULL);
	if (ret)
		colo_nl_perror(c, ret, "cannot %s instance %u", what, id);
	return ret;
}

int colo_nl_instance_cmd(struct colo_nl *c, uint8_t cmd, uint32_t id)
{
	static const char *const what[] = {
		[COLO_CMD_INSTANCE_DEL] = "delete",
		[COLO_CMD_CHECKPOINT] = "checkpoint",
		[COLO_CMD_FAILOVER] = "fail over",
	};

	return instance_request(c, cmd, id, COLO_CHECKPOINT_NOW,
				cmd < ARRAY_SIZE(what) && what[cmd] ?
				what[cmd] : "change");
}

int colo_nl_checkpoint(struct colo_nl *c, uint32_t id, uint8_t phase)
{
	static const char *const what[] = {
		[COLO_CHECKPOINT_NOW] = "checkpoint",
		[COLO_CHECKPOINT_BEGIN] = "begin a checkpoint of",
		[COLO_CHECKPOINT_END] = "end a checkpoint of",
	};

	return instance_request(c, COLO_CMD_CHECKPOINT, id, phase,
				phase < ARRAY_SIZE(what) ? what[phase] :
				"checkpoint");
}
