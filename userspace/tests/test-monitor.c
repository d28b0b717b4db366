// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the checkpoint helper of "coloctl monitor --exec": the
 * command's environment and output, checkpoint after success, the log of a
 * failure, requests that went stale, one command per instance at a time,
 * the resync after lost events, printing events, and the module going away
 * and coming back.
 *
 * monitor.c is included to reach its static functions; the requests it
 * makes are stubbed with ld --wrap (info_get, colo_nl_instance_cmd,
 * colo_nl_subscribe), so no module is needed.
 */
#include "../monitor.c"

#include <time.h>
#include <netinet/in.h>

#include "tap.h"

const char *PROG_NAME = "coloctl";

#define FAMILY_ID 0x1c
#define BUFSZ 4096

/* The instances the fake kernel knows. */
static struct {
	uint32_t id;
	bool pending;
} fake[8];
static size_t nfake;

/* Checkpoints sent through the fake kernel. */
static uint32_t ckpts[16];
static size_t nckpts;
static int subscribed;

int __wrap_info_get(struct colo_nl *c, const uint32_t *id,
		    struct colo_info **infos, size_t *n);
int __wrap_colo_nl_instance_cmd(struct colo_nl *c, uint8_t cmd, uint32_t id);
int __wrap_colo_nl_subscribe(struct colo_nl *c);

int __wrap_info_get(struct colo_nl *c, const uint32_t *id,
		    struct colo_info **infos, size_t *n)
{
	size_t i;

	*infos = calloc(nfake + 1, sizeof(**infos));
	*n = 0;
	for (i = 0; i < nfake; i++) {
		if (id && fake[i].id != *id)
			continue;
		(*infos)[*n].instance = fake[i].id;
		(*infos)[*n].has = INFO_HAS_PENDING;
		(*infos)[*n].pending = fake[i].pending;
		(*n)++;
	}
	if (id && !*n) {
		snprintf(c->ext.msg, sizeof(c->ext.msg),
			 "instance %u does not exist", *id);
		return -ENOENT;
	}
	return 0;
}

int __wrap_colo_nl_instance_cmd(struct colo_nl *c, uint8_t cmd, uint32_t id)
{
	size_t i;

	(void)c;
	if (cmd != COLO_CMD_CHECKPOINT)
		return -EINVAL;
	if (nckpts < 16)
		ckpts[nckpts++] = id;
	for (i = 0; i < nfake; i++)
		if (fake[i].id == id)
			fake[i].pending = false;
	return 0;
}

int __wrap_colo_nl_subscribe(struct colo_nl *c)
{
	subscribed = c->events_group;
	return 0;
}

static void reset(struct monitor *m, const char *exec)
{
	free(m->children);
	memset(m, 0, sizeof(*m));
	sigprocmask(SIG_BLOCK, NULL, &m->oldmask);
	m->exec = exec;
	m->ev.family = FAMILY_ID;
	m->req.family = FAMILY_ID;
	nfake = 0;
	nckpts = 0;
}

static void add_fake(uint32_t id, bool pending)
{
	fake[nfake].id = id;
	fake[nfake].pending = pending;
	nfake++;
}

/* Reap until no command is running (at most 5 s). */
static void wait_children(struct monitor *m)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int i;

	for (i = 0; i < 500 && m->nchildren; i++) {
		reap_children(m);
		if (m->nchildren)
			nanosleep(&ts, NULL);
	}
}

static struct colo_event tcp_event(uint32_t id)
{
	struct colo_event ev = {
		.cmd = COLO_CMD_DIVERGENCE_NTF,
		.instance = id,
		.has_reason = true,
		.reason = COLO_REASON_PAYLOAD,
		.has_offset = true,
		.offset = 1234,
		.flow = {
			.present = true,
			.has_family = true, .family = AF_INET,
			.has_proto = true, .proto = IPPROTO_TCP,
			.has_saddr = true, .saddr = { 10, 0, 0, 2 },
			.has_daddr = true, .daddr = { 10, 0, 1, 2 },
			.has_sport = true, .sport = 5001,
			.has_dport = true, .dport = 41234,
		},
	};

	return ev;
}

static const char env_cmd[] =
	"echo \"env $COLO_INSTANCE $COLO_REASON $COLO_FAMILY $COLO_PROTO "
	"$COLO_SADDR $COLO_DADDR $COLO_SPORT $COLO_DPORT $COLO_OFFSET "
	"${COLO_ICMP_ID-no-icmp-id}\"; read x && echo \"stdin not empty\"; exit 0";

static void test_success(void)
{
	struct capture out, err;
	struct monitor m = {};
	struct colo_event ev = tcp_event(1);
	char *o, *e;

	reset(&m, env_cmd);
	add_fake(1, true);
	setenv("COLO_ICMP_ID", "stale", 1);
	capture_start(&out, STDOUT_FILENO);
	capture_start(&err, STDERR_FILENO);
	serve_request(&m, &ev, false);
	wait_children(&m);
	e = capture_end(&err);
	o = capture_end(&out);
	unsetenv("COLO_ICMP_ID");
	is_str(e,
	       "env 1 payload ipv4 tcp 10.0.0.2 10.0.1.2 5001 41234 1234 no-icmp-id\n"
	       "coloctl: checkpoint command for instance 1 succeeded; checkpoint sent\n",
	       "the command sees the event's variables, its output goes to stderr, success sends the checkpoint");
	is_str(o, "", "standard output carries events only");
	ok(nckpts == 1 && ckpts[0] == 1, "one checkpoint for instance 1 (seen %zu)",
	   nckpts);
	free(o);
	free(e);
	free(m.children);
}

static void test_failure(void)
{
	struct monitor m = {};
	struct colo_event ev = tcp_event(2);
	struct capture err;
	char *e;

	reset(&m, "exit 3");
	add_fake(2, true);
	capture_start(&err, STDERR_FILENO);
	serve_request(&m, &ev, false);
	wait_children(&m);
	e = capture_end(&err);
	is_str(e,
	       "coloctl: checkpoint command for instance 2 failed with status 3; request stays outstanding\n",
	       "a failing command is logged");
	ok(nckpts == 0 && fake[0].pending, "no checkpoint after a failure");
	free(e);

	reset(&m, "kill -9 $$");
	add_fake(2, true);
	capture_start(&err, STDERR_FILENO);
	serve_request(&m, &ev, false);
	wait_children(&m);
	e = capture_end(&err);
	is_str(e,
	       "coloctl: checkpoint command for instance 2 was killed by signal 9; request stays outstanding\n",
	       "a killed command is logged");
	ok(nckpts == 0, "no checkpoint after a kill");
	free(e);
	free(m.children);
}

static void test_stale(void)
{
	struct monitor m = {};
	struct colo_event ev = tcp_event(3);
	struct capture err;
	char *e;

	reset(&m, "exit 0");
	add_fake(3, false);
	capture_start(&err, STDERR_FILENO);
	serve_request(&m, &ev, false);
	e = capture_end(&err);
	is_str(e,
	       "coloctl: instance 3 has no checkpoint request outstanding any more; not running the command\n",
	       "an answered request does not run the command");
	ok(m.nchildren == 0 && nckpts == 0, "nothing run, nothing sent");
	free(e);

	reset(&m, "exit 0");
	capture_start(&err, STDERR_FILENO);
	serve_request(&m, &ev, false);
	e = capture_end(&err);
	is_str(e, "coloctl: instance 3 does not exist (No such file or directory)\n",
	       "a deleted instance does not run the command");
	ok(m.nchildren == 0 && nckpts == 0, "nothing run for a deleted instance");
	free(e);
	free(m.children);
}

static void test_one_at_a_time(void)
{
	struct monitor m = {};
	struct colo_event ev = tcp_event(4), ev5 = tcp_event(5);
	struct capture err;
	char *e;

	reset(&m, "sleep 0.3");
	add_fake(4, true);
	add_fake(5, true);
	capture_start(&err, STDERR_FILENO);
	serve_request(&m, &ev, false);
	serve_request(&m, &ev5, false);
	serve_request(&m, &ev, false);
	ok(m.nchildren == 2, "commands for two instances run side by side (seen %zu)",
	   m.nchildren);
	wait_children(&m);
	e = capture_end(&err);
	ok(strstr(e, "coloctl: checkpoint command for instance 4 still running; its checkpoint answers this request too\n") != NULL,
	   "a second request while the command runs is not run again");
	ok(nckpts == 2, "one checkpoint per instance (seen %zu)", nckpts);
	free(e);
	free(m.children);
}

static void test_resync(void)
{
	struct monitor m = {};
	struct capture err;
	char *e;

	reset(&m, "echo \"run $COLO_INSTANCE $COLO_REASON ${COLO_SADDR-no-flow}\"");
	add_fake(1, true);
	add_fake(2, false);
	add_fake(3, true);
	capture_start(&err, STDERR_FILENO);
	resync(&m, "after lost events");
	wait_children(&m);
	e = capture_end(&err);
	ok(strstr(e, "run 1 unknown no-flow\n") && strstr(e, "run 3 unknown no-flow\n") &&
	   !strstr(e, "run 2"),
	   "after lost events the command runs for each outstanding request");
	if (!strstr(e, "run 1 unknown"))
		tap_comment("seen", e);
	ok(nckpts == 2, "and their checkpoints are sent (seen %zu)", nckpts);
	free(e);
	free(m.children);
}

static struct nlmsghdr *genl_msg(char *buf, uint16_t type, uint8_t cmd)
{
	struct nlmsghdr *nlh;
	struct genlmsghdr *genl;

	memset(buf, 0, BUFSZ);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = cmd;
	genl->version = 1;
	return nlh;
}

static struct nlmsghdr *ctrl_msg(char *buf, uint8_t cmd, const char *name,
				 uint16_t id, uint32_t group)
{
	struct nlmsghdr *nlh = genl_msg(buf, GENL_ID_CTRL, cmd);
	struct nlattr *groups, *grp;

	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, name);
	mnl_attr_put_u16(nlh, CTRL_ATTR_FAMILY_ID, id);
	mnl_attr_put_u32(nlh, CTRL_ATTR_VERSION, 1);
	groups = mnl_attr_nest_start(nlh, CTRL_ATTR_MCAST_GROUPS);
	grp = mnl_attr_nest_start(nlh, 1);
	mnl_attr_put_strz(nlh, CTRL_ATTR_MCAST_GRP_NAME, "events");
	mnl_attr_put_u32(nlh, CTRL_ATTR_MCAST_GRP_ID, group);
	mnl_attr_nest_end(nlh, grp);
	mnl_attr_nest_end(nlh, groups);
	return nlh;
}

static struct nlmsghdr *genl_msg_instance(char *buf, uint8_t cmd, uint32_t id)
{
	struct nlmsghdr *nlh = genl_msg(buf, FAMILY_ID, cmd);

	mnl_attr_put_u32(nlh, COLO_A_INSTANCE, id);
	return nlh;
}

/*
 * "[T] checkpoint instance 1\n{"time":"T","event":"checkpoint",...}\n",
 * both T the same form and no more than a second from now.
 */
static bool is_time_line(const char *o)
{
	char t1[32], t2[32], rest[64];
	struct tm tm = {};
	const char *end;
	time_t now = time(NULL), t;

	if (!o || sscanf(o, "[%31[^]]] checkpoint instance 1\n{\"time\":\"%31[^\"]\",%63s",
			 t1, t2, rest) != 3)
		return false;
	if (strlen(t1) != 27 || strcmp(t1 + 26, "Z"))
		return false;
	if (strcmp(rest, "\"event\":\"checkpoint\",\"instance\":1}"))
		return false;
	end = strptime(t1, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end || *end != '.' || strspn(end + 1, "0123456789") != 6)
		return false;
	t = timegm(&tm);
	if (t > now || now - t > 1)
		return false;
	end = strptime(t2, "%Y-%m-%dT%H:%M:%S", &tm);
	return end && strlen(t2) == 27 && timegm(&tm) - t <= 1;
}

static void test_events(void)
{
	struct monitor m = {};
	struct capture out, err;
	struct nlmsghdr *nlh;
	char buf[BUFSZ], *o, *e;
	int ret;

	reset(&m, NULL);
	nlh = genl_msg(buf, FAMILY_ID, COLO_CMD_CHECKPOINT_NTF);
	mnl_attr_put_u32(nlh, COLO_A_INSTANCE, 1);
	capture_start(&out, STDOUT_FILENO);
	event_cb(nlh, &m);
	m.json = true;
	event_cb(nlh, &m);
	nlh->nlmsg_type = FAMILY_ID + 1;
	event_cb(nlh, &m);
	o = capture_end(&out);
	is_str(o, "checkpoint instance 1\n{\"event\":\"checkpoint\",\"instance\":1}\n",
	       "events print as lines, other families' messages do not");
	free(o);

	/* -t: the time it was read, UTC, to the microsecond, in both forms */
	m.timestamp = true;
	m.json = false;
	capture_start(&out, STDOUT_FILENO);
	event_cb(genl_msg_instance(buf, COLO_CMD_CHECKPOINT_NTF, 1), &m);
	m.json = true;
	event_cb(genl_msg_instance(buf, COLO_CMD_CHECKPOINT_NTF, 1), &m);
	o = capture_end(&out);
	ok(is_time_line(o), "-t: lines begin [YYYY-MM-DDTHH:MM:SS.uuuuuuZ] within a second of now, JSON has it as \"time\"");
	if (!is_time_line(o))
		tap_comment("saw", o ? o : "(nothing)");
	free(o);
	m.timestamp = false;

	nlh = genl_msg(buf, FAMILY_ID, COLO_CMD_CHECKPOINT_NTF);
	capture_start(&out, STDOUT_FILENO);
	capture_start(&err, STDERR_FILENO);
	ret = event_cb(nlh, &m);
	e = capture_end(&err);
	o = capture_end(&out);
	is_int(ret, MNL_CB_OK, "a malformed event does not stop the monitor");
	is_str(e, "coloctl: ignoring a malformed event\n", "a malformed event is reported");
	is_str(o, "", "a malformed event prints no line");
	free(o);
	free(e);

	/* The module goes away and comes back with new ids. */
	capture_start(&err, STDERR_FILENO);
	event_cb(ctrl_msg(buf, CTRL_CMD_DELFAMILY, "other", 0x30, 9), &m);
	ok(!m.gone, "other families going away do not matter");
	event_cb(ctrl_msg(buf, CTRL_CMD_DELFAMILY, "colo", FAMILY_ID, 5), &m);
	ok(m.gone, "the colo family going away is noticed");
	nlh = genl_msg(buf, FAMILY_ID, COLO_CMD_CHECKPOINT_NTF);
	mnl_attr_put_u32(nlh, COLO_A_INSTANCE, 1);
	capture_start(&out, STDOUT_FILENO);
	event_cb(nlh, &m);
	o = capture_end(&out);
	is_str(o, "", "nothing is printed while the family is gone");
	free(o);
	event_cb(ctrl_msg(buf, CTRL_CMD_NEWFAMILY, "colo", FAMILY_ID + 2, 7), &m);
	e = capture_end(&err);
	ok(!m.gone && m.ev.family == FAMILY_ID + 2 && m.ev.events_group == 7 &&
	   subscribed == 7,
	   "the new family and group are used and subscribed to");
	is_str(e,
	       "coloctl: the colo family went away (xt_COLO unloaded); waiting for it to come back\n"
	       "coloctl: the colo family is back; monitoring again\n",
	       "going away and coming back are reported on stderr");
	free(e);
	free(m.children);
}

/* --instance 3: other instances' events, requests and lost requests pass by */
static void test_only(void)
{
	struct monitor m = {};
	struct capture out, err;
	char buf[BUFSZ], *o, *e;

	reset(&m, "echo \"run $COLO_INSTANCE\"");
	m.only = 3;
	add_fake(1, true);
	add_fake(3, true);
	capture_start(&out, STDOUT_FILENO);
	capture_start(&err, STDERR_FILENO);
	event_cb(genl_msg_instance(buf, COLO_CMD_DIVERGENCE_NTF, 1), &m);
	event_cb(genl_msg_instance(buf, COLO_CMD_CHECKPOINT_NTF, 1), &m);
	event_cb(genl_msg_instance(buf, COLO_CMD_DIVERGENCE_NTF, 3), &m);
	wait_children(&m);
	fake[1].pending = true;		/* instance 3 asks again; events lost */
	resync(&m, "after lost events");
	wait_children(&m);
	e = capture_end(&err);
	o = capture_end(&out);
	is_str(o, "divergence instance 3\n", "--instance 3 prints instance 3's events only");
	ok(e && !strstr(e, "run 1") && strstr(e, "run 3"),
	   "--instance 3 runs the command for instance 3's requests only");
	if (!e || strstr(e, "run 1") || !strstr(e, "run 3"))
		tap_comment("stderr", e ? e : "(nothing)");
	ok(nckpts == 2 && ckpts[0] == 3 && ckpts[1] == 3,
	   "and sends checkpoints for instance 3 only (seen %zu)", nckpts);
	free(o);
	free(e);
	free(m.children);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_success();
	test_only();
	test_failure();
	test_stale();
	test_one_at_a_time();
	test_resync();
	test_events();
	return tap_done();
}
