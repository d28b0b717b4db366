// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of what coloctl makes of the kernel's messages: instance
 * replies (human and JSON), events (human, JSON, helper environment) and
 * errors with extended acks. The messages are built here with libmnl the
 * way the kernel lays them out, so no module is needed.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include <linux/xt_COLO.h>

#include "event.h"
#include "info.h"
#include "json.h"
#include "netlink.h"
#include "parse.h"
#include "tap.h"

const char *PROG_NAME = "coloctl";

#define FAMILY_ID 0x1c	/* what the controller would have said */
#define BUFSZ 4096

static struct nlmsghdr *genl_msg(char *buf, uint8_t cmd)
{
	struct nlmsghdr *nlh;
	struct genlmsghdr *genl;

	memset(buf, 0, BUFSZ);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = FAMILY_ID;
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = cmd;
	genl->version = COLO_GENL_VERSION;
	return nlh;
}

/* An instance as the kernel would describe it, every counter set. */
static struct nlmsghdr *instance_msg(char *buf, uint32_t id, uint32_t failopen)
{
	struct nlmsghdr *nlh = genl_msg(buf, COLO_CMD_INSTANCE_GET);
	struct nlattr *nest;
	unsigned int t;

	mnl_attr_put_u32(nlh, COLO_A_INSTANCE, id);
	mnl_attr_put_u32(nlh, COLO_A_TIMEOUT_MS, 3000);
	mnl_attr_put_u32(nlh, COLO_A_MAX_QUEUE, 1024);
	/* nla_put_u64_64bit() may put a pad attribute first */
	mnl_attr_put(nlh, COLO_A_PAD, 0, NULL);
	mnl_attr_put_u64(nlh, COLO_A_MAX_BYTES, 33554432);
	mnl_attr_put_u32(nlh, COLO_A_FAILOPEN_MS, failopen);
	mnl_attr_put_u32(nlh, COLO_A_MAX_FLOWS, 65536);
	mnl_attr_put_u8(nlh, COLO_A_ROLE, COLO_ROLE_PRIMARY);
	mnl_attr_put_u8(nlh, COLO_A_STATE, COLO_STATE_ACTIVE);
	mnl_attr_put_u32(nlh, COLO_A_RULES, 2);
	mnl_attr_put_u8(nlh, COLO_A_PENDING, 0);
	nest = mnl_attr_nest_start(nlh, COLO_A_STATS);
	mnl_attr_put(nlh, COLO_STATS_A_PAD, 0, NULL);
	for (t = COLO_STATS_A_PRI_PACKETS; t <= COLO_STATS_A_MAX; t++)
		mnl_attr_put_u64(nlh, t, 100 + t);
	mnl_attr_nest_end(nlh, nest);
	return nlh;
}

static const char instance_human[] =
	"instance 1\n"
	"  role: primary\n"
	"  state: active\n"
	"  rules: 2\n"
	"  checkpoint request: none\n"
	"  timeout: 3000 ms\n"
	"  max-queue: 1024 packets per flow and side\n"
	"  max-bytes: 33554432 bytes per side\n"
	"  failopen: 10000 ms\n"
	"  max-flows: 65536 flows\n"
	"  primary: 102 packets, 103 bytes, 110 dropped, 132 duplicates freed\n"
	"  secondary: 104 packets, 105 bytes, 109 dropped (137 unmatched within the timeout)\n"
	"  released: 106 packets, 107 bytes (130 partial copies, 131 acks lowered)\n"
	"  passed uncompared: 108 packets\n"
	"  compared equal: 111\n"
	"  divergences: 112 payload, 113 length, 114 tcp-flags, 115 timeout, 116 queue-full, 117 header\n"
	"  checkpoint requests: 118 sent, 119 suppressed\n"
	"  events lost: 139\n"
	"  checkpoints: 120 (133 packets released uncompared in their windows, 134 windows closed by the timeout)\n"
	"  fail-opens: 121\n"
	"  malformed packets: 122\n"
	"  held now: 123 primary packets (124 bytes), 125 secondary packets (126 bytes)\n"
	"  flows: 127 (135 packets refused with the table full, 140 without memory, 136 reclaims)\n"
	"  no memory for a flow's packet queues: 138 packets refused\n"
	"  rewriter: 128 flows rewritten, 129 packets\n";

static const char instance_json[] =
	"{\"instance\":1,\"timeout_ms\":3000,\"max_queue\":1024,"
	"\"max_bytes\":33554432,\"failopen_ms\":10000,\"max_flows\":65536,\"role\":\"primary\","
	"\"state\":\"active\",\"rules\":2,\"pending\":false,\"stats\":{"
	"\"primary_packets\":102,\"primary_bytes\":103,"
	"\"secondary_packets\":104,\"secondary_bytes\":105,"
	"\"released\":106,\"released_bytes\":107,\"passed\":108,"
	"\"secondary_dropped\":109,\"primary_dropped\":110,"
	"\"compared_equal\":111,\"divergence_payload\":112,"
	"\"divergence_length\":113,\"divergence_tcp_flags\":114,"
	"\"divergence_timeout\":115,\"divergence_queue_full\":116,"
	"\"divergence_header\":117,\"checkpoint_requests\":118,"
	"\"checkpoint_suppressed\":119,\"checkpoints\":120,\"fail_opens\":121,"
	"\"malformed\":122,\"primary_held_packets\":123,"
	"\"primary_held_bytes\":124,\"secondary_held_packets\":125,"
	"\"secondary_held_bytes\":126,\"flows\":127,\"rewritten_flows\":128,"
	"\"rewrite_packets\":129,\"released_partial\":130,"
	"\"acks_lowered\":131,\"primary_duplicates\":132,"
	"\"checkpoint_released\":133,\"checkpoint_expired\":134,"
	"\"flows_full\":135,\"flows_reclaims\":136,\"secondary_expired\":137,"
	"\"hold_nomem\":138,\"events_lost\":139,\"flows_nomem\":140}}";

static char *print_info(const struct colo_info *info, bool json)
{
	struct capture cap;

	capture_start(&cap, STDOUT_FILENO);
	if (json)
		info_print_json(stdout, info);
	else
		info_print(stdout, info);
	return capture_end(&cap);
}

static void test_instance(void)
{
	char buf[BUFSZ], want[256];
	struct colo_info info;
	struct nlmsghdr *nlh;
	struct nlattr *nest;
	char *out;

	ok(info_parse(instance_msg(buf, 1, 10000), &info) == 0,
	   "a full instance reply parses");
	out = print_info(&info, false);
	is_str(out, instance_human, "instance show prints every setting and counter");
	free(out);
	out = print_info(&info, true);
	is_str(out, instance_json, "instance show -j prints every setting and counter");
	free(out);

	info_parse(instance_msg(buf, 1, 0), &info);
	out = print_info(&info, false);
	ok(strstr(out, "  failopen: never\n") != NULL,
	   "failopen 0 shows as never");
	free(out);

	/* A newer kernel: unknown role, state, attribute and counter. */
	nlh = genl_msg(buf, COLO_CMD_INSTANCE_GET);
	mnl_attr_put_u32(nlh, COLO_A_INSTANCE, 4294967295u);
	mnl_attr_put_u8(nlh, COLO_A_ROLE, 7);
	mnl_attr_put_u8(nlh, COLO_A_STATE, 9);
	mnl_attr_put_u8(nlh, COLO_A_PENDING, 1);
	mnl_attr_put_u32(nlh, COLO_A_MAX + 5, 1);
	nest = mnl_attr_nest_start(nlh, COLO_A_STATS);
	mnl_attr_put_u64(nlh, COLO_STATS_A_FLOWS, 3);
	mnl_attr_put_u64(nlh, COLO_STATS_A_MAX + 2, 42);
	mnl_attr_nest_end(nlh, nest);
	ok(info_parse(nlh, &info) == 0, "unknown attributes are skipped");
	out = print_info(&info, true);
	snprintf(want, sizeof(want),
		 "{\"instance\":4294967295,\"role\":\"role-7\",\"state\":\"state-9\","
		 "\"pending\":true,\"stats\":{\"flows\":3,\"stat_%d\":42}}",
		 COLO_STATS_A_MAX + 2);
	is_str(out, want,
	       "unknown values and counters print by number, absent ones not at all");
	free(out);
	out = print_info(&info, false);
	snprintf(want, sizeof(want), "  stat_%d: 42\n", COLO_STATS_A_MAX + 2);
	ok(strstr(out, "  checkpoint request: pending\n") &&
	   strstr(out, "  flows: 3 (- packets refused with the table full, - without memory, - reclaims)\n") &&
	   strstr(out, want) &&
	   strstr(out, "  primary: - packets, - bytes, - dropped, - duplicates freed\n"),
	   "humans see pending, new counters, and - for absent counters");
	free(out);

	nlh = genl_msg(buf, COLO_CMD_INSTANCE_GET);
	mnl_attr_put_u32(nlh, COLO_A_TIMEOUT_MS, 3000);
	ok(info_parse(nlh, &info) == -EPROTO, "a reply without instance is refused");

	nlh = genl_msg(buf, COLO_CMD_INSTANCE_GET);
	mnl_attr_put_u8(nlh, COLO_A_INSTANCE, 1);
	ok(info_parse(nlh, &info) == -EPROTO, "a short instance attribute is refused");

	nlh = genl_msg(buf, COLO_CMD_INSTANCE_GET);
	mnl_attr_put_u32(nlh, COLO_A_INSTANCE, 1);
	nest = mnl_attr_nest_start(nlh, COLO_A_STATS);
	mnl_attr_put_u32(nlh, COLO_STATS_A_FLOWS, 3);
	mnl_attr_nest_end(nlh, nest);
	ok(info_parse(nlh, &info) == -EPROTO, "a counter that is not a u64 is refused");
}

/* A divergence event, its flow nest left open in *@nest for ports. */
static struct nlmsghdr *flow_event(char *buf, uint8_t reason, int family,
				   uint8_t proto, const char *saddr,
				   const char *daddr, struct nlattr **nest)
{
	struct nlmsghdr *nlh = genl_msg(buf, COLO_CMD_DIVERGENCE_NTF);
	unsigned char addr[16];
	int len = family == AF_INET ? 4 : 16;

	mnl_attr_put_u32(nlh, COLO_A_INSTANCE, 1);
	mnl_attr_put_u8(nlh, COLO_A_REASON, reason);
	*nest = mnl_attr_nest_start(nlh, COLO_A_FLOW);
	mnl_attr_put_u8(nlh, COLO_FLOW_A_FAMILY, family);
	mnl_attr_put_u8(nlh, COLO_FLOW_A_PROTO, proto);
	inet_pton(family, saddr, addr);
	mnl_attr_put(nlh, COLO_FLOW_A_SADDR, len, addr);
	inet_pton(family, daddr, addr);
	mnl_attr_put(nlh, COLO_FLOW_A_DADDR, len, addr);
	return nlh;
}

static void check_event(const struct nlmsghdr *nlh, const char *human,
			const char *json, const char *name)
{
	struct colo_event ev;
	struct capture cap;
	char *out;

	if (event_parse(nlh, &ev)) {
		ok(false, "%s: parses", name);
		return;
	}
	capture_start(&cap, STDOUT_FILENO);
	event_print(stdout, &ev);
	out = capture_end(&cap);
	is_str(out, human, "%s: human line", name);
	free(out);
	capture_start(&cap, STDOUT_FILENO);
	event_print_json(stdout, &ev);
	out = capture_end(&cap);
	is_str(out, json, "%s: JSON line", name);
	free(out);
}

static void test_events(void)
{
	struct colo_event ev;
	struct nlattr *nest;
	struct nlmsghdr *nlh;
	char buf[BUFSZ];

	nlh = flow_event(buf, COLO_REASON_PAYLOAD, AF_INET, IPPROTO_TCP,
			 "10.0.0.2", "10.0.1.2", &nest);
	mnl_attr_put_u16(nlh, COLO_FLOW_A_SPORT, 5001);
	mnl_attr_put_u16(nlh, COLO_FLOW_A_DPORT, 41234);
	mnl_attr_nest_end(nlh, nest);
	mnl_attr_put_u64(nlh, COLO_A_OFFSET, 1234);
	check_event(nlh,
		    "divergence instance 1 reason payload ipv4 tcp 10.0.0.2:5001 -> 10.0.1.2:41234 offset 1234\n",
		    "{\"event\":\"divergence\",\"instance\":1,\"reason\":\"payload\",\"family\":\"ipv4\",\"proto\":\"tcp\",\"saddr\":\"10.0.0.2\",\"daddr\":\"10.0.1.2\",\"sport\":5001,\"dport\":41234,\"offset\":1234}\n",
		    "TCP payload divergence");

	ok(event_setenv(&(struct colo_event){}) == 0, "setenv of an empty event");
	setenv("COLO_ICMP_ID", "stale", 1);
	event_parse(nlh, &ev);
	event_setenv(&ev);
	ok(!strcmp(getenv("COLO_INSTANCE"), "1") &&
	   !strcmp(getenv("COLO_REASON"), "payload") &&
	   !strcmp(getenv("COLO_FAMILY"), "ipv4") &&
	   !strcmp(getenv("COLO_PROTO"), "tcp") &&
	   !strcmp(getenv("COLO_SADDR"), "10.0.0.2") &&
	   !strcmp(getenv("COLO_DADDR"), "10.0.1.2") &&
	   !strcmp(getenv("COLO_SPORT"), "5001") &&
	   !strcmp(getenv("COLO_DPORT"), "41234") &&
	   !strcmp(getenv("COLO_OFFSET"), "1234") &&
	   !getenv("COLO_ICMP_ID"),
	   "the helper's environment has the event's fields and no stale ones");

	nlh = flow_event(buf, COLO_REASON_LENGTH, AF_INET6, IPPROTO_UDP,
			 "fd00::2", "fd00:1::2", &nest);
	mnl_attr_put_u16(nlh, COLO_FLOW_A_SPORT, 53);
	mnl_attr_put_u16(nlh, COLO_FLOW_A_DPORT, 40000);
	mnl_attr_nest_end(nlh, nest);
	check_event(nlh,
		    "divergence instance 1 reason length ipv6 udp [fd00::2]:53 -> [fd00:1::2]:40000\n",
		    "{\"event\":\"divergence\",\"instance\":1,\"reason\":\"length\",\"family\":\"ipv6\",\"proto\":\"udp\",\"saddr\":\"fd00::2\",\"daddr\":\"fd00:1::2\",\"sport\":53,\"dport\":40000}\n",
		    "UDP over IPv6 length divergence");
	event_parse(nlh, &ev);
	event_setenv(&ev);
	ok(!getenv("COLO_OFFSET") && !strcmp(getenv("COLO_SADDR"), "fd00::2"),
	   "no COLO_OFFSET without an offset");

	nlh = flow_event(buf, COLO_REASON_HEADER, AF_INET, IPPROTO_ICMP,
			 "10.0.0.2", "10.0.1.2", &nest);
	mnl_attr_put_u16(nlh, COLO_FLOW_A_ICMP_ID, 77);
	mnl_attr_nest_end(nlh, nest);
	check_event(nlh,
		    "divergence instance 1 reason header ipv4 icmp 10.0.0.2 -> 10.0.1.2 id 77\n",
		    "{\"event\":\"divergence\",\"instance\":1,\"reason\":\"header\",\"family\":\"ipv4\",\"proto\":\"icmp\",\"saddr\":\"10.0.0.2\",\"daddr\":\"10.0.1.2\",\"icmp_id\":77}\n",
		    "ICMP header divergence");

	nlh = flow_event(buf, COLO_REASON_TCP_FLAGS, AF_INET6, IPPROTO_ICMPV6,
			 "fd00::2", "fd00:1::2", &nest);
	mnl_attr_nest_end(nlh, nest);
	check_event(nlh,
		    "divergence instance 1 reason tcp-flags ipv6 icmpv6 fd00::2 -> fd00:1::2\n",
		    "{\"event\":\"divergence\",\"instance\":1,\"reason\":\"tcp-flags\",\"family\":\"ipv6\",\"proto\":\"icmpv6\",\"saddr\":\"fd00::2\",\"daddr\":\"fd00:1::2\"}\n",
		    "names of reasons and protocols");

	nlh = flow_event(buf, 42, AF_INET, 200, "10.0.0.2", "10.0.1.2", &nest);
	mnl_attr_nest_end(nlh, nest);
	check_event(nlh,
		    "divergence instance 1 reason reason-42 ipv4 200 10.0.0.2 -> 10.0.1.2\n",
		    "{\"event\":\"divergence\",\"instance\":1,\"reason\":\"reason-42\",\"family\":\"ipv4\",\"proto\":\"200\",\"saddr\":\"10.0.0.2\",\"daddr\":\"10.0.1.2\"}\n",
		    "unknown reasons and protocols by number");

	nlh = genl_msg(buf, COLO_CMD_DIVERGENCE_NTF);
	mnl_attr_put_u32(nlh, COLO_A_INSTANCE, 3);
	mnl_attr_put_u8(nlh, COLO_A_REASON, COLO_REASON_TIMEOUT);
	check_event(nlh, "divergence instance 3 reason timeout\n",
		    "{\"event\":\"divergence\",\"instance\":3,\"reason\":\"timeout\"}\n",
		    "instance-wide divergence without a flow");
	nlh = genl_msg(buf, COLO_CMD_DIVERGENCE_NTF);
	mnl_attr_put_u32(nlh, COLO_A_INSTANCE, 3);
	mnl_attr_put_u8(nlh, COLO_A_REASON, COLO_REASON_QUEUE_FULL);
	check_event(nlh, "divergence instance 3 reason queue-full\n",
		    "{\"event\":\"divergence\",\"instance\":3,\"reason\":\"queue-full\"}\n",
		    "queue-full divergence");

	nlh = genl_msg(buf, COLO_CMD_CHECKPOINT_NTF);
	mnl_attr_put_u32(nlh, COLO_A_INSTANCE, 1);
	check_event(nlh, "checkpoint instance 1\n",
		    "{\"event\":\"checkpoint\",\"instance\":1}\n", "checkpoint event");
	nlh = genl_msg(buf, COLO_CMD_FAILOPEN_NTF);
	mnl_attr_put_u32(nlh, COLO_A_INSTANCE, 1);
	check_event(nlh, "fail-open instance 1\n",
		    "{\"event\":\"fail-open\",\"instance\":1}\n", "fail-open event");
	nlh = genl_msg(buf, COLO_CMD_FAILOVER_NTF);
	mnl_attr_put_u32(nlh, COLO_A_INSTANCE, 1);
	check_event(nlh, "failover instance 1\n",
		    "{\"event\":\"failover\",\"instance\":1}\n", "failover event");
	nlh = genl_msg(buf, 99);
	mnl_attr_put_u32(nlh, COLO_A_INSTANCE, 1);
	check_event(nlh, "event-99 instance 1\n",
		    "{\"event\":\"event-99\",\"instance\":1}\n", "unknown event");

	nlh = genl_msg(buf, COLO_CMD_CHECKPOINT_NTF);
	ok(event_parse(nlh, &ev) == -EPROTO, "an event without instance is refused");

	nlh = genl_msg(buf, COLO_CMD_DIVERGENCE_NTF);
	mnl_attr_put_u32(nlh, COLO_A_INSTANCE, 1);
	nest = mnl_attr_nest_start(nlh, COLO_A_FLOW);
	mnl_attr_put_u8(nlh, COLO_FLOW_A_FAMILY, AF_INET);
	mnl_attr_put(nlh, COLO_FLOW_A_SADDR, 16, "0123456789abcdef");
	mnl_attr_nest_end(nlh, nest);
	ok(event_parse(nlh, &ev) == -EPROTO,
	   "an address longer than its family's is refused");

	nlh = genl_msg(buf, COLO_CMD_DIVERGENCE_NTF);
	mnl_attr_put_u32(nlh, COLO_A_INSTANCE, 1);
	nest = mnl_attr_nest_start(nlh, COLO_A_FLOW);
	mnl_attr_put(nlh, COLO_FLOW_A_SADDR, 4, "\x0a\0\0\x02");
	mnl_attr_nest_end(nlh, nest);
	ok(event_parse(nlh, &ev) == -EPROTO,
	   "an address without family is refused");
}

/* Errors: the reply to @req, an NLMSG_ERROR with extended ack TLVs. */
static struct nlmsghdr *error_msg(char *buf, const struct nlmsghdr *req,
				  int error, bool capped)
{
	struct nlmsghdr *nlh;
	struct nlmsgerr *err;

	memset(buf, 0, BUFSZ);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_seq = req->nlmsg_seq;
	nlh->nlmsg_flags = NLM_F_ACK_TLVS | (capped ? NLM_F_CAPPED : 0);
	err = mnl_nlmsg_put_extra_header(nlh, sizeof(*err));
	err->error = error;
	err->msg = *req;
	if (!capped) {
		/* the whole request is echoed */
		void *p = mnl_nlmsg_put_extra_header(nlh, req->nlmsg_len -
						     sizeof(*req));

		memcpy(p, (const char *)req + sizeof(*req),
		       req->nlmsg_len - sizeof(*req));
	}
	return nlh;
}

static char *perror_of(struct colo_nl *c, int ret, uint32_t id)
{
	struct capture cap;

	capture_start(&cap, STDERR_FILENO);
	colo_nl_perror(c, ret, "cannot create instance %u", id);
	return capture_end(&cap);
}

static int count_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(*(int *)data)++;
	return MNL_CB_OK;
}

static void test_errors(void)
{
	struct colo_nl c = { .family = FAMILY_ID };
	char req_buf[COLO_NL_TXBUF], buf[BUFSZ];
	struct nlmsghdr *req, *nlh;
	struct nlattr *timeout, *nest;
	int ret, n;
	char *out;

	req = colo_nl_msg(&c, req_buf, COLO_CMD_INSTANCE_NEW, NLM_F_ACK);
	req->nlmsg_seq = 42;
	mnl_attr_put_u32(req, COLO_A_INSTANCE, 1);
	timeout = mnl_nlmsg_get_payload_tail(req);
	mnl_attr_put_u32(req, COLO_A_TIMEOUT_MS, 5);

	/* A policy range check, as NLA_POLICY_RANGE reports it. */
	nlh = error_msg(buf, req, -ERANGE, true);
	mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, "integer out of range");
	mnl_attr_put_u32(nlh, NLMSGERR_ATTR_OFFS,
			 (char *)timeout - (char *)req);
	nest = mnl_attr_nest_start(nlh, NLMSGERR_ATTR_POLICY);
	mnl_attr_put_u32(nlh, NL_POLICY_TYPE_ATTR_TYPE, NL_ATTR_TYPE_U32);
	mnl_attr_put_u64(nlh, NL_POLICY_TYPE_ATTR_MIN_VALUE_U, 10);
	mnl_attr_put_u64(nlh, NL_POLICY_TYPE_ATTR_MAX_VALUE_U, 3600000);
	mnl_attr_nest_end(nlh, nest);
	ret = colo_nl_run(&c, req, buf, nlh->nlmsg_len, NULL, NULL);
	is_int(ret, -ERANGE, "the kernel's errno is returned");
	out = perror_of(&c, ret, 1);
	is_str(out,
	       "coloctl: timeout: integer out of range, valid range 10..3600000 (Numerical result out of range)\n",
	       "a policy failure names the argument and the valid range");
	free(out);

	/* The module's own message, the request echoed (no NETLINK_CAP_ACK). */
	nlh = error_msg(buf, req, -ENOENT, false);
	mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG,
			  "xt_COLO: instance 7 does not exist");
	ret = colo_nl_run(&c, req, buf, nlh->nlmsg_len, NULL, NULL);
	out = perror_of(&c, ret, 7);
	is_str(out, "coloctl: instance 7 does not exist (No such file or directory)\n",
	       "the module's message is printed with the errno");
	free(out);

	/* No extended ack at all. */
	nlh = error_msg(buf, req, -EPERM, true);
	nlh->nlmsg_flags &= ~NLM_F_ACK_TLVS;
	ret = colo_nl_run(&c, req, buf, nlh->nlmsg_len, NULL, NULL);
	out = perror_of(&c, ret, 7);
	is_str(out,
	       "coloctl: cannot create instance 7: Operation not permitted (CAP_NET_ADMIN is required)\n",
	       "without a message: context, errno and a hint for EPERM");
	free(out);

	/* A required attribute missing (NL_REQ_ATTR_CHECK). */
	nlh = error_msg(buf, req, -EINVAL, true);
	mnl_attr_put_u32(nlh, NLMSGERR_ATTR_MISS_TYPE, COLO_A_INSTANCE);
	ret = colo_nl_run(&c, req, buf, nlh->nlmsg_len, NULL, NULL);
	out = perror_of(&c, ret, 1);
	is_str(out,
	       "coloctl: cannot create instance 1: the kernel wants instance: Invalid argument\n",
	       "a missing attribute is named");
	free(out);

	/* An offset without message or policy. */
	nlh = error_msg(buf, req, -EINVAL, true);
	mnl_attr_put_u32(nlh, NLMSGERR_ATTR_OFFS,
			 (char *)timeout - (char *)req);
	ret = colo_nl_run(&c, req, buf, nlh->nlmsg_len, NULL, NULL);
	out = perror_of(&c, ret, 1);
	is_str(out, "coloctl: cannot create instance 1: bad timeout: Invalid argument\n",
	       "a bad attribute without message is named");
	free(out);

	/* The ack. */
	nlh = error_msg(buf, req, 0, true);
	is_int(colo_nl_run(&c, req, buf, nlh->nlmsg_len, NULL, NULL), 0,
	       "an ack ends a request");

	/* A dump: two instances (and a stranger), then the end. */
	req->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh = instance_msg(buf, 1, 0);
	nlh->nlmsg_seq = 42;
	nlh->nlmsg_flags = NLM_F_MULTI;
	n = 0;
	is_int(colo_nl_run(&c, req, buf, nlh->nlmsg_len, count_cb, &n), 1,
	       "a dump part asks for more");
	nlh->nlmsg_type = FAMILY_ID + 1;
	colo_nl_run(&c, req, buf, nlh->nlmsg_len, count_cb, &n);
	is_int(n, 1, "messages of other families are not handed on");
	memset(buf, 0, BUFSZ);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = NLMSG_DONE;
	nlh->nlmsg_seq = 42;
	nlh->nlmsg_flags = NLM_F_MULTI;
	*(int *)mnl_nlmsg_put_extra_header(nlh, sizeof(int)) = 0;
	is_int(colo_nl_run(&c, req, buf, nlh->nlmsg_len, count_cb, &n), 0,
	       "NLMSG_DONE ends a dump");

	/* A dump that fails at its end, with a message. */
	nlh->nlmsg_flags |= NLM_F_ACK_TLVS;
	*(int *)mnl_nlmsg_get_payload(nlh) = -EPERM;
	mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, "xt_COLO: not in this namespace");
	ret = colo_nl_run(&c, req, buf, nlh->nlmsg_len, count_cb, &n);
	is_int(ret, -EPERM, "an error at the end of a dump is returned");
	out = perror_of(&c, ret, 1);
	is_str(out,
	       "coloctl: not in this namespace (Operation not permitted)\n",
	       "an error at the end of a dump is explained");
	free(out);

	/* A reply to an older request. */
	nlh = error_msg(buf, req, 0, true);
	nlh->nlmsg_seq = 41;
	is_int(colo_nl_run(&c, req, buf, nlh->nlmsg_len, NULL, NULL), -EPROTO,
	       "a reply with another sequence number is refused");
}

static void test_json(void)
{
	struct capture cap;
	struct json j;
	char *out;

	capture_start(&cap, STDOUT_FILENO);
	json_init(&j, stdout);
	json_obj_start(&j, NULL);
	json_str(&j, "a", "quote \" backslash \\ tab \t nl \n");
	json_obj_start(&j, "b");
	json_obj_end(&j);
	json_bool(&j, "c", false);
	json_u64(&j, "d", UINT64_MAX);
	json_obj_end(&j);
	out = capture_end(&cap);
	is_str(out,
	       "{\"a\":\"quote \\\" backslash \\\\ tab \\u0009 nl \\u000a\",\"b\":{},\"c\":false,\"d\":18446744073709551615}",
	       "JSON strings are escaped, objects nest");
	free(out);
}

int main(void)
{
	test_instance();
	test_events();
	test_errors();
	test_json();
	return tap_done();
}
