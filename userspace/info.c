// SPDX-License-Identifier: GPL-2.0-only
/*
 * Parsing and printing COLO_CMD_INSTANCE_GET replies.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <linux/genetlink.h>

#include <linux/xt_COLO.h>

#include "info.h"
#include "json.h"
#include "names.h"
#include "netlink.h"

static int info_attr_cb(const struct nlattr *attr, void *data)
{
	static const enum mnl_attr_data_type types[COLO_A_MAX + 1] = {
		[COLO_A_INSTANCE] = MNL_TYPE_U32,
		[COLO_A_TIMEOUT_MS] = MNL_TYPE_U32,
		[COLO_A_MAX_QUEUE] = MNL_TYPE_U32,
		[COLO_A_MAX_BYTES] = MNL_TYPE_U64,
		[COLO_A_FAILOPEN_MS] = MNL_TYPE_U32,
		[COLO_A_MAX_FLOWS] = MNL_TYPE_U32,
		[COLO_A_ROLE] = MNL_TYPE_U8,
		[COLO_A_STATE] = MNL_TYPE_U8,
		[COLO_A_RULES] = MNL_TYPE_U32,
		[COLO_A_PENDING] = MNL_TYPE_U8,
		[COLO_A_STATS] = MNL_TYPE_NESTED,
	};

	return colo_attr_store(attr, data, COLO_A_MAX, types);
}

static int stats_attr_cb(const struct nlattr *attr, void *data)
{
	struct colo_info *info = data;
	unsigned int type = mnl_attr_get_type(attr);

	if (type == COLO_STATS_A_UNSPEC || type == COLO_STATS_A_PAD ||
	    type >= INFO_STATS_SLOTS)
		return MNL_CB_OK;
	/* Every counter is a u64, also those a newer kernel adds. */
	if (mnl_attr_validate(attr, MNL_TYPE_U64) < 0) {
		errno = EPROTO;
		return MNL_CB_ERROR;
	}
	info->stats[type] = mnl_attr_get_u64(attr);
	info->stat_present[type] = true;
	return MNL_CB_OK;
}

int info_parse(const struct nlmsghdr *nlh, struct colo_info *info)
{
	const struct nlattr *tb[COLO_A_MAX + 1] = {};

	memset(info, 0, sizeof(*info));
	if (mnl_attr_parse(nlh, GENL_HDRLEN, info_attr_cb, tb) < 0)
		return -EPROTO;
	if (!tb[COLO_A_INSTANCE])
		return -EPROTO;
	info->instance = mnl_attr_get_u32(tb[COLO_A_INSTANCE]);
	if (tb[COLO_A_TIMEOUT_MS]) {
		info->has |= INFO_HAS_TIMEOUT;
		info->timeout_ms = mnl_attr_get_u32(tb[COLO_A_TIMEOUT_MS]);
	}
	if (tb[COLO_A_MAX_QUEUE]) {
		info->has |= INFO_HAS_MAX_QUEUE;
		info->max_queue = mnl_attr_get_u32(tb[COLO_A_MAX_QUEUE]);
	}
	if (tb[COLO_A_MAX_BYTES]) {
		info->has |= INFO_HAS_MAX_BYTES;
		info->max_bytes = mnl_attr_get_u64(tb[COLO_A_MAX_BYTES]);
	}
	if (tb[COLO_A_FAILOPEN_MS]) {
		info->has |= INFO_HAS_FAILOPEN;
		info->failopen_ms = mnl_attr_get_u32(tb[COLO_A_FAILOPEN_MS]);
	}
	if (tb[COLO_A_MAX_FLOWS]) {
		info->has |= INFO_HAS_MAX_FLOWS;
		info->max_flows = mnl_attr_get_u32(tb[COLO_A_MAX_FLOWS]);
	}
	if (tb[COLO_A_ROLE]) {
		info->has |= INFO_HAS_ROLE;
		info->role = mnl_attr_get_u8(tb[COLO_A_ROLE]);
	}
	if (tb[COLO_A_STATE]) {
		info->has |= INFO_HAS_STATE;
		info->state = mnl_attr_get_u8(tb[COLO_A_STATE]);
	}
	if (tb[COLO_A_RULES]) {
		info->has |= INFO_HAS_RULES;
		info->rules = mnl_attr_get_u32(tb[COLO_A_RULES]);
	}
	if (tb[COLO_A_PENDING]) {
		info->has |= INFO_HAS_PENDING;
		info->pending = mnl_attr_get_u8(tb[COLO_A_PENDING]);
	}
	if (tb[COLO_A_STATS]) {
		info->has |= INFO_HAS_STATS;
		if (mnl_attr_parse_nested(tb[COLO_A_STATS], stats_attr_cb,
					  info) < 0)
			return -EPROTO;
	}
	return 0;
}

/* A counter for humans: its value, or "-" when the kernel did not send it. */
static const char *stat(const struct colo_info *info, unsigned int type,
			char buf[24])
{
	if (type >= INFO_STATS_SLOTS || !info->stat_present[type])
		return "-";
	snprintf(buf, 24, "%" PRIu64, info->stats[type]);
	return buf;
}

static void print_setting(FILE *f, const struct colo_info *info,
			  unsigned int has, const char *label, uint64_t v,
			  const char *unit)
{
	if (info->has & has)
		fprintf(f, "  %s: %" PRIu64 "%s\n", label, v, unit);
}

void info_print(FILE *f, const struct colo_info *info)
{
	char b1[24], b2[24], b3[24], b4[24], b5[24], b6[24];
	char name[NAME_BUFSZ];
	unsigned int t;

	fprintf(f, "instance %" PRIu32 "\n", info->instance);
	if (info->has & INFO_HAS_ROLE)
		fprintf(f, "  role: %s\n", role_name(info->role, name));
	if (info->has & INFO_HAS_STATE)
		fprintf(f, "  state: %s\n", state_name(info->state, name));
	print_setting(f, info, INFO_HAS_RULES, "rules", info->rules, "");
	if (info->has & INFO_HAS_PENDING)
		fprintf(f, "  checkpoint request: %s\n",
			info->pending ? "pending" : "none");
	print_setting(f, info, INFO_HAS_TIMEOUT, "timeout", info->timeout_ms,
		      " ms");
	print_setting(f, info, INFO_HAS_MAX_QUEUE, "max-queue", info->max_queue,
		      " packets per flow and side");
	print_setting(f, info, INFO_HAS_MAX_BYTES, "max-bytes", info->max_bytes,
		      " bytes per side");
	if ((info->has & INFO_HAS_FAILOPEN) && !info->failopen_ms)
		fprintf(f, "  failopen: never\n");
	else
		print_setting(f, info, INFO_HAS_FAILOPEN, "failopen",
			      info->failopen_ms, " ms");
	print_setting(f, info, INFO_HAS_MAX_FLOWS, "max-flows", info->max_flows,
		      " flows");
	if (!(info->has & INFO_HAS_STATS))
		return;

	fprintf(f, "  primary: %s packets, %s bytes, %s dropped, %s duplicates freed\n",
		stat(info, COLO_STATS_A_PRI_PACKETS, b1),
		stat(info, COLO_STATS_A_PRI_BYTES, b2),
		stat(info, COLO_STATS_A_PRI_DROPPED, b3),
		stat(info, COLO_STATS_A_PRI_DUPLICATES, b4));
	fprintf(f, "  secondary: %s packets, %s bytes, %s dropped (%s unmatched within the timeout)\n",
		stat(info, COLO_STATS_A_SEC_PACKETS, b1),
		stat(info, COLO_STATS_A_SEC_BYTES, b2),
		stat(info, COLO_STATS_A_SEC_DROPPED, b3),
		stat(info, COLO_STATS_A_SEC_EXPIRED, b4));
	fprintf(f, "  released: %s packets, %s bytes (%s partial copies, %s acks lowered)\n",
		stat(info, COLO_STATS_A_RELEASED, b1),
		stat(info, COLO_STATS_A_RELEASED_BYTES, b2),
		stat(info, COLO_STATS_A_RELEASED_PARTIAL, b3),
		stat(info, COLO_STATS_A_ACKS_LOWERED, b4));
	fprintf(f, "  passed uncompared: %s packets\n",
		stat(info, COLO_STATS_A_PASSED, b1));
	fprintf(f, "  compared equal: %s\n",
		stat(info, COLO_STATS_A_COMPARED_EQUAL, b1));
	fprintf(f, "  divergences: %s payload, %s length, %s tcp-flags, %s timeout, %s queue-full, %s header\n",
		stat(info, COLO_STATS_A_DIV_PAYLOAD, b1),
		stat(info, COLO_STATS_A_DIV_LENGTH, b2),
		stat(info, COLO_STATS_A_DIV_TCP_FLAGS, b3),
		stat(info, COLO_STATS_A_DIV_TIMEOUT, b4),
		stat(info, COLO_STATS_A_DIV_QUEUE_FULL, b5),
		stat(info, COLO_STATS_A_DIV_HEADER, b6));
	fprintf(f, "  checkpoint requests: %s sent, %s suppressed\n",
		stat(info, COLO_STATS_A_CKPT_REQUESTS, b1),
		stat(info, COLO_STATS_A_CKPT_SUPPRESSED, b2));
	fprintf(f, "  events lost: %s\n",
		stat(info, COLO_STATS_A_EVENTS_LOST, b1));
	fprintf(f, "  checkpoints: %s (%s packets released uncompared in their windows, %s windows closed by the timeout)\n",
		stat(info, COLO_STATS_A_CHECKPOINTS, b1),
		stat(info, COLO_STATS_A_CKPT_RELEASED, b2),
		stat(info, COLO_STATS_A_CKPT_EXPIRED, b3));
	fprintf(f, "  fail-opens: %s\n", stat(info, COLO_STATS_A_FAILOPENS, b1));
	fprintf(f, "  malformed packets: %s\n",
		stat(info, COLO_STATS_A_MALFORMED, b1));
	fprintf(f, "  held now: %s primary packets (%s bytes), %s secondary packets (%s bytes)\n",
		stat(info, COLO_STATS_A_PRI_HELD_PACKETS, b1),
		stat(info, COLO_STATS_A_PRI_HELD_BYTES, b2),
		stat(info, COLO_STATS_A_SEC_HELD_PACKETS, b3),
		stat(info, COLO_STATS_A_SEC_HELD_BYTES, b4));
	fprintf(f, "  flows: %s (%s packets refused with the table full, %s without memory, %s reclaims)\n",
		stat(info, COLO_STATS_A_FLOWS, b1),
		stat(info, COLO_STATS_A_FLOWS_FULL, b2),
		stat(info, COLO_STATS_A_FLOWS_NOMEM, b3),
		stat(info, COLO_STATS_A_FLOWS_RECLAIMS, b4));
	fprintf(f, "  no memory for a flow's packet queues: %s packets refused\n",
		stat(info, COLO_STATS_A_HOLD_NOMEM, b1));
	fprintf(f, "  rewriter: %s flows rewritten, %s packets\n",
		stat(info, COLO_STATS_A_REWRITTEN, b1),
		stat(info, COLO_STATS_A_REWRITE_PACKETS, b2));

	/* Counters of a newer kernel, by number. */
	for (t = COLO_STATS_A_MAX + 1; t < INFO_STATS_SLOTS; t++)
		if (info->stat_present[t])
			fprintf(f, "  %s: %" PRIu64 "\n", stat_key(t, name),
				info->stats[t]);
}

void info_print_json(FILE *f, const struct colo_info *info)
{
	char name[NAME_BUFSZ];
	struct json j;
	unsigned int t;

	json_init(&j, f);
	json_obj_start(&j, NULL);
	json_u64(&j, "instance", info->instance);
	if (info->has & INFO_HAS_TIMEOUT)
		json_u64(&j, "timeout_ms", info->timeout_ms);
	if (info->has & INFO_HAS_MAX_QUEUE)
		json_u64(&j, "max_queue", info->max_queue);
	if (info->has & INFO_HAS_MAX_BYTES)
		json_u64(&j, "max_bytes", info->max_bytes);
	if (info->has & INFO_HAS_FAILOPEN)
		json_u64(&j, "failopen_ms", info->failopen_ms);
	if (info->has & INFO_HAS_MAX_FLOWS)
		json_u64(&j, "max_flows", info->max_flows);
	if (info->has & INFO_HAS_ROLE)
		json_str(&j, "role", role_name(info->role, name));
	if (info->has & INFO_HAS_STATE)
		json_str(&j, "state", state_name(info->state, name));
	if (info->has & INFO_HAS_RULES)
		json_u64(&j, "rules", info->rules);
	if (info->has & INFO_HAS_PENDING)
		json_bool(&j, "pending", info->pending);
	if (info->has & INFO_HAS_STATS) {
		json_obj_start(&j, "stats");
		for (t = 0; t < INFO_STATS_SLOTS; t++)
			if (info->stat_present[t])
				json_u64(&j, stat_key(t, name), info->stats[t]);
		json_obj_end(&j);
	}
	json_obj_end(&j);
}

struct get_ctx {
	struct colo_info *infos;
	size_t n, cap;
};

static int get_cb(const struct nlmsghdr *nlh, void *data)
{
	struct get_ctx *ctx = data;
	struct colo_info *infos;

	if (ctx->n == ctx->cap) {
		size_t cap = ctx->cap ? 2 * ctx->cap : 4;

		infos = realloc(ctx->infos, cap * sizeof(*infos));
		if (!infos)
			return MNL_CB_ERROR;
		ctx->infos = infos;
		ctx->cap = cap;
	}
	if (info_parse(nlh, &ctx->infos[ctx->n])) {
		errno = EPROTO;
		return MNL_CB_ERROR;
	}
	ctx->n++;
	return MNL_CB_OK;
}

static int cmp_info(const void *a, const void *b)
{
	const struct colo_info *x = a, *y = b;

	return x->instance < y->instance ? -1 : x->instance > y->instance;
}

/* A dump interrupted by concurrent changes is retried this often. */
#define DUMP_TRIES 5

int info_get(struct colo_nl *c, const uint32_t *id, struct colo_info **infos,
	     size_t *n)
{
	struct get_ctx ctx = {};
	char buf[COLO_NL_TXBUF];
	struct nlmsghdr *nlh;
	int tries, ret;

	for (tries = 0; tries < DUMP_TRIES; tries++) {
		ctx.n = 0;
		if (id) {
			nlh = colo_nl_msg(c, buf, COLO_CMD_INSTANCE_GET,
					  NLM_F_ACK);
			mnl_attr_put_u32(nlh, COLO_A_INSTANCE, *id);
		} else {
			nlh = colo_nl_msg(c, buf, COLO_CMD_INSTANCE_GET,
					  NLM_F_DUMP);
		}
		ret = colo_nl_request(c, nlh, get_cb, &ctx);
		if (ret != -EINTR)
			break;
	}
	if (!ret && id && ctx.n != 1)
		ret = -EPROTO;
	if (!ret)
		qsort(ctx.infos, ctx.n, sizeof(*ctx.infos), cmp_info);
	*infos = ctx.infos;
	*n = ctx.n;
	return ret;
}
