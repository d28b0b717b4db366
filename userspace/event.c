// SPDX-License-Identifier: GPL-2.0-only
/*
 * Notifications of the "events" group.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <linux/genetlink.h>

#include <linux/xt_COLO.h>

#include "event.h"
#include "json.h"
#include "names.h"
#include "netlink.h"

static int event_attr_cb(const struct nlattr *attr, void *data)
{
	static const enum mnl_attr_data_type types[COLO_A_MAX + 1] = {
		[COLO_A_INSTANCE] = MNL_TYPE_U32,
		[COLO_A_REASON] = MNL_TYPE_U8,
		[COLO_A_FLOW] = MNL_TYPE_NESTED,
		[COLO_A_OFFSET] = MNL_TYPE_U64,
	};

	return colo_attr_store(attr, data, COLO_A_MAX, types);
}

static int flow_attr_cb(const struct nlattr *attr, void *data)
{
	static const enum mnl_attr_data_type types[COLO_FLOW_A_MAX + 1] = {
		[COLO_FLOW_A_FAMILY] = MNL_TYPE_U8,
		[COLO_FLOW_A_PROTO] = MNL_TYPE_U8,
		[COLO_FLOW_A_SADDR] = MNL_TYPE_BINARY,
		[COLO_FLOW_A_DADDR] = MNL_TYPE_BINARY,
		[COLO_FLOW_A_SPORT] = MNL_TYPE_U16,
		[COLO_FLOW_A_DPORT] = MNL_TYPE_U16,
		[COLO_FLOW_A_ICMP_ID] = MNL_TYPE_U16,
	};

	return colo_attr_store(attr, data, COLO_FLOW_A_MAX, types);
}

static unsigned int addr_len(uint8_t family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

/* Copy an address attribute, which must be as long as its family says. */
static int get_addr(const struct nlattr *attr, uint8_t family,
		    unsigned char *addr)
{
	unsigned int len = addr_len(family);

	if (!len || mnl_attr_get_payload_len(attr) != len)
		return -EPROTO;
	memcpy(addr, mnl_attr_get_payload(attr), len);
	return 0;
}

static int flow_parse(const struct nlattr *nest, struct colo_flow *flow)
{
	const struct nlattr *tb[COLO_FLOW_A_MAX + 1] = {};

	if (mnl_attr_parse_nested(nest, flow_attr_cb, tb) < 0)
		return -EPROTO;
	flow->present = true;
	if (tb[COLO_FLOW_A_FAMILY]) {
		flow->has_family = true;
		flow->family = mnl_attr_get_u8(tb[COLO_FLOW_A_FAMILY]);
	}
	if (tb[COLO_FLOW_A_PROTO]) {
		flow->has_proto = true;
		flow->proto = mnl_attr_get_u8(tb[COLO_FLOW_A_PROTO]);
	}
	if (tb[COLO_FLOW_A_SADDR]) {
		if (get_addr(tb[COLO_FLOW_A_SADDR], flow->family, flow->saddr))
			return -EPROTO;
		flow->has_saddr = true;
	}
	if (tb[COLO_FLOW_A_DADDR]) {
		if (get_addr(tb[COLO_FLOW_A_DADDR], flow->family, flow->daddr))
			return -EPROTO;
		flow->has_daddr = true;
	}
	if (tb[COLO_FLOW_A_SPORT]) {
		flow->has_sport = true;
		flow->sport = mnl_attr_get_u16(tb[COLO_FLOW_A_SPORT]);
	}
	if (tb[COLO_FLOW_A_DPORT]) {
		flow->has_dport = true;
		flow->dport = mnl_attr_get_u16(tb[COLO_FLOW_A_DPORT]);
	}
	if (tb[COLO_FLOW_A_ICMP_ID]) {
		flow->has_icmp_id = true;
		flow->icmp_id = mnl_attr_get_u16(tb[COLO_FLOW_A_ICMP_ID]);
	}
	return 0;
}

int event_parse(const struct nlmsghdr *nlh, struct colo_event *ev)
{
	const struct genlmsghdr *genl = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[COLO_A_MAX + 1] = {};

	memset(ev, 0, sizeof(*ev));
	if (mnl_nlmsg_get_payload_len(nlh) < GENL_HDRLEN)
		return -EPROTO;
	ev->cmd = genl->cmd;
	if (mnl_attr_parse(nlh, GENL_HDRLEN, event_attr_cb, tb) < 0)
		return -EPROTO;
	if (!tb[COLO_A_INSTANCE])
		return -EPROTO;
	ev->instance = mnl_attr_get_u32(tb[COLO_A_INSTANCE]);
	if (tb[COLO_A_REASON]) {
		ev->has_reason = true;
		ev->reason = mnl_attr_get_u8(tb[COLO_A_REASON]);
	}
	if (tb[COLO_A_OFFSET]) {
		ev->has_offset = true;
		ev->offset = mnl_attr_get_u64(tb[COLO_A_OFFSET]);
	}
	if (tb[COLO_A_FLOW] && flow_parse(tb[COLO_A_FLOW], &ev->flow))
		return -EPROTO;
	return 0;
}

static const char *family_name(uint8_t family, char buf[NAME_BUFSZ])
{
	if (family == AF_INET)
		return "ipv4";
	if (family == AF_INET6)
		return "ipv6";
	snprintf(buf, NAME_BUFSZ, "family-%u", family);
	return buf;
}

static const char *addr_str(uint8_t family, const unsigned char *addr,
			    char buf[INET6_ADDRSTRLEN])
{
	if (!inet_ntop(family, addr, buf, INET6_ADDRSTRLEN))
		snprintf(buf, INET6_ADDRSTRLEN, "?");
	return buf;
}

/* "10.0.0.2:5001", "[fd00::2]:5001" or just the address */
static void print_endpoint(FILE *f, const struct colo_flow *flow,
			   const unsigned char *addr, bool has_port,
			   uint16_t port)
{
	char buf[INET6_ADDRSTRLEN];

	addr_str(flow->family, addr, buf);
	if (!has_port)
		fputs(buf, f);
	else if (flow->family == AF_INET6)
		fprintf(f, "[%s]:%u", buf, port);
	else
		fprintf(f, "%s:%u", buf, port);
}

/* RFC 3339, UTC, microseconds: 2026-12-03T22:58:01.123456Z */
#define TIME_BUFSZ 32

static const char *time_str(const struct timespec *ts, char *buf)
{
	struct tm tm;

	if (!gmtime_r(&ts->tv_sec, &tm) ||
	    !strftime(buf, TIME_BUFSZ, "%Y-%m-%dT%H:%M:%S", &tm))
		return "?";
	snprintf(buf + strlen(buf), TIME_BUFSZ - strlen(buf), ".%06ldZ",
		 ts->tv_nsec / 1000);
	return buf;
}

void event_print(FILE *f, const struct colo_event *ev)
{
	const struct colo_flow *flow = &ev->flow;
	char name[NAME_BUFSZ];
	char when[TIME_BUFSZ];

	if (ev->has_time)
		fprintf(f, "[%s] ", time_str(&ev->time, when));
	fprintf(f, "%s instance %" PRIu32, event_name(ev->cmd, name),
		ev->instance);
	if (ev->has_reason)
		fprintf(f, " reason %s", reason_name(ev->reason, name));
	if (flow->present) {
		if (flow->has_family)
			fprintf(f, " %s", family_name(flow->family, name));
		if (flow->has_proto)
			fprintf(f, " %s", proto_name(flow->proto, name));
		if (flow->has_saddr) {
			fputc(' ', f);
			print_endpoint(f, flow, flow->saddr, flow->has_sport,
				       flow->sport);
		}
		if (flow->has_daddr) {
			fputs(" -> ", f);
			print_endpoint(f, flow, flow->daddr, flow->has_dport,
				       flow->dport);
		}
		if (flow->has_icmp_id)
			fprintf(f, " id %u", flow->icmp_id);
	}
	if (ev->has_offset)
		fprintf(f, " offset %" PRIu64, ev->offset);
	fputc('\n', f);
}

void event_print_json(FILE *f, const struct colo_event *ev)
{
	const struct colo_flow *flow = &ev->flow;
	char addr[INET6_ADDRSTRLEN];
	char name[NAME_BUFSZ];
	char when[TIME_BUFSZ];
	struct json j;

	json_init(&j, f);
	json_obj_start(&j, NULL);
	if (ev->has_time)
		json_str(&j, "time", time_str(&ev->time, when));
	json_str(&j, "event", event_name(ev->cmd, name));
	json_u64(&j, "instance", ev->instance);
	if (ev->has_reason)
		json_str(&j, "reason", reason_name(ev->reason, name));
	if (flow->has_family)
		json_str(&j, "family", family_name(flow->family, name));
	if (flow->has_proto)
		json_str(&j, "proto", proto_name(flow->proto, name));
	if (flow->has_saddr)
		json_str(&j, "saddr", addr_str(flow->family, flow->saddr, addr));
	if (flow->has_daddr)
		json_str(&j, "daddr", addr_str(flow->family, flow->daddr, addr));
	if (flow->has_sport)
		json_u64(&j, "sport", flow->sport);
	if (flow->has_dport)
		json_u64(&j, "dport", flow->dport);
	if (flow->has_icmp_id)
		json_u64(&j, "icmp_id", flow->icmp_id);
	if (ev->has_offset)
		json_u64(&j, "offset", ev->offset);
	json_obj_end(&j);
	fputc('\n', f);
}

/* Set @var to @value when @has, unset it otherwise. */
static int env(const char *var, bool has, const char *value)
{
	return has ? setenv(var, value, 1) : unsetenv(var);
}

static int env_u64(const char *var, bool has, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return env(var, has, buf);
}

int event_setenv(const struct colo_event *ev)
{
	const struct colo_flow *flow = &ev->flow;
	char addr[INET6_ADDRSTRLEN];
	char name[NAME_BUFSZ];

	if (env_u64("COLO_INSTANCE", true, ev->instance) ||
	    env("COLO_REASON", ev->has_reason, reason_name(ev->reason, name)) ||
	    env("COLO_FAMILY", flow->has_family,
		family_name(flow->family, name)) ||
	    env("COLO_PROTO", flow->has_proto, proto_name(flow->proto, name)) ||
	    env("COLO_SADDR", flow->has_saddr,
		addr_str(flow->family, flow->saddr, addr)) ||
	    env("COLO_DADDR", flow->has_daddr,
		addr_str(flow->family, flow->daddr, addr)) ||
	    env_u64("COLO_SPORT", flow->has_sport, flow->sport) ||
	    env_u64("COLO_DPORT", flow->has_dport, flow->dport) ||
	    env_u64("COLO_ICMP_ID", flow->has_icmp_id, flow->icmp_id) ||
	    env_u64("COLO_OFFSET", ev->has_offset, ev->offset))
		return -1;
	return 0;
}
