// SPDX-License-Identifier: GPL-2.0-only
/*
 * colo_nlfuzz: random and mutated generic netlink requests to the "colo"
 * family (libmnl), seeded and reproducible.
 *
 *   colo_nlfuzz fuzz --seed S --count N [--ids MAX] [--no-model] [--quiet]
 *   colo_nlfuzz dump-check [--instances N] [--base ID]
 *
 * fuzz: N requests, each one of
 *   valid    a well-formed request (new, del, get, dump, checkpoint with or
 *            without a phase, failover) on instance 1..MAX; its result is
 *            checked against a model of the instances (exists, failed over,
 *            rules using it) unless --no-model;
 *   mutated  a valid request with one thing broken: an attribute's type,
 *            length, value (out of range), nla_len lying, a duplicate or
 *            unknown attribute, the genl version, the flags;
 *   random   a random command (unknown ones included) with random
 *            attributes, random lengths and random nesting;
 *   garbage  random bytes behind a netlink header of the family, lengths
 *            that lie, a genl header cut short;
 *   batch    2-4 requests in one datagram;
 *   no-ack   a request without NLM_F_ACK;
 *   dump     an instance dump, half of them interrupted (one read, then the
 *            socket is closed); complete dumps are checked against the
 *            model.
 * After each datagram a NOOP with NLM_F_ACK is the barrier: everything the
 * kernel answered comes before its ack. A second socket listens to the
 * "events" group. The model is re-read from a dump whenever a request it
 * cannot predict succeeded.
 *
 * dump-check: N instances, a dump read one part at a time; after the first
 * part the last instance it named is deleted from another socket; the dump
 * must still name every other instance.
 *
 * Prints "key=value ..." lines; exits 1 on a model mismatch, a missing
 * answer (no barrier ack within 5 s) or a malformed reply.
 */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/xt_COLO.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUFSZ 65536
#define MAXID_LIMIT 4096

static uint64_t rs;

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static uint32_t rnd(uint32_t n)
{
	return n ? (uint32_t)(splitmix(&rs) % n) : 0;
}

static int chance(unsigned int pct)
{
	return rnd(100) < pct;
}

static void rbytes(void *p, size_t n)
{
	uint8_t *b = p;

	while (n--)
		*b++ = (uint8_t)splitmix(&rs);
}

/* ------------------------------------------------------- sockets --- */

static struct mnl_socket *nl, *ev;
static uint16_t fam;
static uint32_t seq = 1;
static int quiet;

static struct mnl_socket *nl_open(void)
{
	struct mnl_socket *s = mnl_socket_open(NETLINK_GENERIC);
	struct timeval tv = { 5, 0 };
	int one = 1, big = 1 << 20;

	if (!s || mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) {
		perror("colo_nlfuzz: netlink socket");
		exit(1);
	}
	setsockopt(mnl_socket_get_fd(s), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(mnl_socket_get_fd(s), SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	mnl_socket_setsockopt(s, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(s, NETLINK_CAP_ACK, &one, sizeof(one));
	return s;
}

struct famres {
	uint16_t id;
	uint32_t grp;
};

static int fam_grp_cb(const struct nlattr *a, void *data)
{
	struct famres *r = data;
	const struct nlattr *g;

	mnl_attr_for_each_nested(g, a) {
		const struct nlattr *x, *name = NULL, *id = NULL;

		mnl_attr_for_each_nested(x, g) {
			if (mnl_attr_get_type(x) == CTRL_ATTR_MCAST_GRP_NAME)
				name = x;
			else if (mnl_attr_get_type(x) == CTRL_ATTR_MCAST_GRP_ID)
				id = x;
		}
		if (name && id && !strcmp(mnl_attr_get_str(name), COLO_GENL_MCGRP_EVENTS))
			r->grp = mnl_attr_get_u32(id);
	}
	return MNL_CB_OK;
}

static int fam_cb(const struct nlmsghdr *nlh, void *data)
{
	struct famres *r = data;
	struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		if (mnl_attr_get_type(a) == CTRL_ATTR_FAMILY_ID)
			r->id = mnl_attr_get_u16(a);
		else if (mnl_attr_get_type(a) == CTRL_ATTR_MCAST_GROUPS)
			fam_grp_cb(a, r);
	}
	return MNL_CB_OK;
}

static void resolve(struct famres *r)
{
	char buf[BUFSZ];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g;
	int n;

	nlh->nlmsg_type = GENL_ID_CTRL;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq++;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = CTRL_CMD_GETFAMILY;
	g->version = 1;
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, COLO_GENL_NAME);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		perror("colo_nlfuzz: sendto");
		exit(1);
	}
	while ((n = (int)mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0) {
		n = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, 0, fam_cb, r);
		if (n <= 0)
			break;
	}
	if (!r->id) {
		fprintf(stderr, "colo_nlfuzz: no generic netlink family %s (xt_COLO loaded?)\n",
			COLO_GENL_NAME);
		exit(1);
	}
}

/* ----------------------------------------------------- messages --- */

struct msg {
	char buf[4096];
	size_t len;
};

static struct nlmsghdr *msg_start(struct msg *m, uint8_t cmd, uint16_t flags)
{
	struct nlmsghdr *nlh;
	struct genlmsghdr *g;

	memset(m->buf, 0, sizeof(m->buf));
	nlh = mnl_nlmsg_put_header(m->buf);
	nlh->nlmsg_type = fam;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = seq++;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = COLO_GENL_VERSION;
	return nlh;
}

static void msg_end(struct msg *m)
{
	m->len = ((struct nlmsghdr *)m->buf)->nlmsg_len;
}

/* ------------------------------------------------------- the model --- */

struct inst_model {
	uint8_t exists, failed_over;
	uint32_t rules;
};

static struct inst_model model[MAXID_LIMIT + 1];
static int model_on = 1, model_dirty = 1;
static uint32_t maxid = 64;

static unsigned long st_ops[8], st_err[256], st_ok, st_data, st_done, st_other,
	st_events, st_mismatch, st_dumps, st_dumps_cut, st_resync, st_multi_stale,
	st_datagrams, st_bad_reply;

static const char *const op_name[8] = {
	"valid", "mutated", "random", "garbage", "batch", "noack", "dump", "-",
};

static void mismatch(const char *what, uint32_t id, int want, int got)
{
	st_mismatch++;
	if (st_mismatch <= 20)
		fprintf(stderr, "colo_nlfuzz: model mismatch: %s instance %u: expected %d (%s), kernel said %d (%s)\n",
			what, id, want, want < 0 ? strerror(-want) : "ok", got,
			got < 0 ? strerror(-got) : "ok");
}

struct dump_res {
	int ids;
	uint32_t last;
	struct inst_model seen[MAXID_LIMIT + 1];
	uint8_t outside;	/* an id beyond maxid */
};

static int check_inst_attrs(const struct nlmsghdr *nlh, uint32_t *id,
			    uint8_t *state, uint32_t *rules)
{
	struct nlattr *tb[COLO_A_MAX + 1] = { 0 };
	struct nlattr *a;

	if (nlh->nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN)
		return -1;
	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		uint16_t t = mnl_attr_get_type(a);

		if (t <= COLO_A_MAX)
			tb[t] = a;
	}
	if (!tb[COLO_A_INSTANCE] || !tb[COLO_A_STATE] || !tb[COLO_A_RULES] ||
	    !tb[COLO_A_STATS] || !tb[COLO_A_TIMEOUT_MS] ||
	    mnl_attr_validate(tb[COLO_A_INSTANCE], MNL_TYPE_U32) < 0 ||
	    mnl_attr_validate(tb[COLO_A_STATE], MNL_TYPE_U8) < 0 ||
	    mnl_attr_validate(tb[COLO_A_RULES], MNL_TYPE_U32) < 0)
		return -1;
	/* every counter a u64 */
	mnl_attr_for_each_nested(a, tb[COLO_A_STATS])
		if (mnl_attr_get_type(a) != COLO_STATS_A_PAD &&
		    mnl_attr_validate(a, MNL_TYPE_U64) < 0)
			return -1;
	*id = mnl_attr_get_u32(tb[COLO_A_INSTANCE]);
	*state = mnl_attr_get_u8(tb[COLO_A_STATE]);
	*rules = mnl_attr_get_u32(tb[COLO_A_RULES]);
	return 0;
}

/*
 * A full dump on its own socket, read to NLMSG_DONE. With cut_after_first,
 * call cut() once after the first datagram.
 */
static int dump_all(struct dump_res *r, void (*cut)(uint32_t last))
{
	struct mnl_socket *s = nl_open();
	char *buf = malloc(BUFSZ);
	struct msg m;
	int done = 0, first = 1, rc = 0;

	memset(r, 0, sizeof(*r));
	msg_start(&m, COLO_CMD_INSTANCE_GET, NLM_F_REQUEST | NLM_F_DUMP);
	msg_end(&m);
	if (mnl_socket_sendto(s, m.buf, m.len) < 0)
		rc = -1;
	while (!rc && !done) {
		int n = (int)mnl_socket_recvfrom(s, buf, BUFSZ);
		struct nlmsghdr *nlh = (struct nlmsghdr *)buf;

		if (n <= 0) {
			fprintf(stderr, "colo_nlfuzz: dump: no answer (%s)\n", strerror(errno));
			rc = -1;
			break;
		}
		for (; mnl_nlmsg_ok(nlh, n); nlh = mnl_nlmsg_next(nlh, &n)) {
			uint32_t id, rules;
			uint8_t state;

			if (nlh->nlmsg_type == NLMSG_DONE) {
				done = 1;
				break;
			}
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				fprintf(stderr, "colo_nlfuzz: dump: error %d\n",
					((struct nlmsgerr *)mnl_nlmsg_get_payload(nlh))->error);
				rc = -1;
				break;
			}
			if (check_inst_attrs(nlh, &id, &state, &rules)) {
				st_bad_reply++;
				rc = -1;
				break;
			}
			r->ids++;
			r->last = id;
			if (id <= MAXID_LIMIT) {
				r->seen[id].exists = 1;
				r->seen[id].failed_over = state == COLO_STATE_FAILED_OVER;
				r->seen[id].rules = rules;
			} else {
				r->outside = 1;
			}
		}
		if (first && cut && !done) {
			cut(r->last);
			first = 0;
		}
	}
	free(buf);
	mnl_socket_close(s);
	return rc;
}

static void resync(void)
{
	static struct dump_res r;

	if (dump_all(&r, NULL)) {
		fprintf(stderr, "colo_nlfuzz: cannot read the instances\n");
		exit(1);
	}
	memcpy(model, r.seen, sizeof(model));
	model_dirty = 0;
	st_resync++;
}

static int model_count(void)
{
	uint32_t i;
	int n = 0;

	for (i = 1; i <= MAXID_LIMIT; i++)
		n += model[i].exists;
	return n;
}

/* -------------------------------------------------- send / receive --- */

struct pending {
	uint32_t seq;
	int result;	/* 1 while no answer came */
	int data;	/* GET replies */
	uint32_t reply_id;
	uint8_t reply_state;
};

static struct pending pend[8];
static int npend;

static void events_drain(void)
{
	char buf[BUFSZ];

	for (;;) {
		int n = (int)recv(mnl_socket_get_fd(ev), buf, sizeof(buf), MSG_DONTWAIT);

		if (n <= 0) {
			if (n < 0 && errno == ENOBUFS)
				continue;	/* overrun: keep draining */
			return;
		}
		st_events++;
	}
}

/* Send one datagram then the barrier; collect answers into pend[]. */
static int exchange(struct mnl_socket *s, const void *data, size_t len)
{
	static char buf[BUFSZ];
	char bar[NLMSG_HDRLEN];
	struct nlmsghdr *b = (struct nlmsghdr *)bar;
	uint32_t bseq;
	int i;

	st_datagrams++;
	for (i = 0; i < npend; i++)
		pend[i].result = 1;
	if (sendto(mnl_socket_get_fd(s), data, len, 0,
		   (struct sockaddr *)&(struct sockaddr_nl){ .nl_family = AF_NETLINK },
		   sizeof(struct sockaddr_nl)) < 0) {
		/* e.g. a length the socket refuses: counted as an errno */
		st_err[errno & 0xff]++;
		return 0;
	}
	memset(bar, 0, sizeof(bar));
	b->nlmsg_len = NLMSG_HDRLEN;
	b->nlmsg_type = NLMSG_NOOP;
	b->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	b->nlmsg_seq = bseq = seq++;
	if (mnl_socket_sendto(s, bar, sizeof(bar)) < 0) {
		perror("colo_nlfuzz: barrier");
		return -1;
	}
	for (;;) {
		int n = (int)mnl_socket_recvfrom(s, buf, sizeof(buf));
		struct nlmsghdr *nlh = (struct nlmsghdr *)buf;

		if (n <= 0) {
			fprintf(stderr, "colo_nlfuzz: no answer to the barrier within 5 s (%s)\n",
				n < 0 ? strerror(errno) : "eof");
			return -1;
		}
		for (; mnl_nlmsg_ok(nlh, n); nlh = mnl_nlmsg_next(nlh, &n)) {
			struct pending *p = NULL;

			for (i = 0; i < npend; i++)
				if (pend[i].seq == nlh->nlmsg_seq)
					p = &pend[i];
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

				if (nlh->nlmsg_seq == bseq)
					return 0;
				if (e->error)
					st_err[(-e->error) & 0xff]++;
				else
					st_ok++;
				if (p)
					p->result = e->error;
			} else if (nlh->nlmsg_type == NLMSG_DONE) {
				st_done++;
			} else if (nlh->nlmsg_type == fam) {
				st_data++;
				if (nlh->nlmsg_flags & NLM_F_MULTI && !p) {
					st_multi_stale++;	/* a dump still running */
				} else if (p) {
					uint32_t rules;

					if (check_inst_attrs(nlh, &p->reply_id, &p->reply_state, &rules)) {
						st_bad_reply++;
						fprintf(stderr, "colo_nlfuzz: malformed instance reply\n");
					}
					p->data++;
				}
			} else {
				st_other++;
			}
		}
	}
}

/* -------------------------------------------------------- requests --- */

static uint32_t rand_id(void)
{
	return 1 + rnd(maxid);
}

/* A valid request for cmd on id with random optional attributes. */
static void valid_req(struct msg *m, uint8_t cmd, uint32_t id, uint16_t flags,
		      int *phase)
{
	struct nlmsghdr *nlh = msg_start(m, cmd, flags);

	*phase = -1;
	mnl_attr_put_u32(nlh, COLO_A_INSTANCE, id);
	if (cmd == COLO_CMD_INSTANCE_NEW) {
		if (chance(50))
			mnl_attr_put_u32(nlh, COLO_A_TIMEOUT_MS, 10 + rnd(100000));
		if (chance(50))
			mnl_attr_put_u32(nlh, COLO_A_MAX_QUEUE, 1 + rnd(65536));
		if (chance(50))
			mnl_attr_put_u64(nlh, COLO_A_MAX_BYTES, 65536 + rnd(1 << 30));
		if (chance(50))
			mnl_attr_put_u32(nlh, COLO_A_FAILOPEN_MS, rnd(100000));
	}
	if (cmd == COLO_CMD_CHECKPOINT && chance(50)) {
		*phase = (int)rnd(COLO_CHECKPOINT_MAX + 1);
		mnl_attr_put_u8(nlh, COLO_A_PHASE, (uint8_t)*phase);
	}
	msg_end(m);
}

static int expect_of(uint8_t cmd, uint32_t id)
{
	const struct inst_model *x = &model[id];

	switch (cmd) {
	case COLO_CMD_INSTANCE_NEW:
		return x->exists ? -EEXIST : 0;
	case COLO_CMD_INSTANCE_DEL:
		return !x->exists ? -ENOENT : x->rules ? -EBUSY : 0;
	case COLO_CMD_INSTANCE_GET:
		return x->exists ? 0 : -ENOENT;
	case COLO_CMD_CHECKPOINT:
		return !x->exists ? -ENOENT : x->failed_over ? -EINVAL : 0;
	case COLO_CMD_FAILOVER:
		return !x->exists ? -ENOENT : x->failed_over ? -EALREADY : 0;
	}
	return 0;
}

static void apply(uint8_t cmd, uint32_t id)
{
	switch (cmd) {
	case COLO_CMD_INSTANCE_NEW:
		model[id].exists = 1;
		model[id].failed_over = 0;
		model[id].rules = 0;
		break;
	case COLO_CMD_INSTANCE_DEL:
		memset(&model[id], 0, sizeof(model[id]));
		break;
	case COLO_CMD_FAILOVER:
		model[id].failed_over = 1;
		break;
	}
}

static const uint8_t valid_cmds[] = {
	COLO_CMD_INSTANCE_NEW, COLO_CMD_INSTANCE_NEW, COLO_CMD_INSTANCE_DEL,
	COLO_CMD_INSTANCE_GET, COLO_CMD_CHECKPOINT, COLO_CMD_CHECKPOINT,
	COLO_CMD_FAILOVER,
};

static int op_valid(int ack)
{
	struct msg m;
	uint8_t cmd = valid_cmds[rnd(sizeof(valid_cmds))];
	uint32_t id = rand_id();
	static int dirty_skips;
	int phase, want, got, check;

	/* a dump per valid request after every unpredictable success costs
	 * more than the rest of the fuzz: re-read the model every 8th time,
	 * and check only requests made on a model just read
	 */
	if (model_on && model_dirty && ++dirty_skips >= 8) {
		resync();
		dirty_skips = 0;
	}
	check = model_on && !model_dirty;
	valid_req(&m, cmd, id, NLM_F_REQUEST | (ack ? NLM_F_ACK : 0), &phase);
	npend = 1;
	pend[0].seq = ((struct nlmsghdr *)m.buf)->nlmsg_seq;
	pend[0].data = 0;
	if (exchange(nl, m.buf, m.len))
		return -1;
	got = pend[0].result;
	if (got == 1 && ack) {
		mismatch("no ack for", id, 0, 1);
		return 0;
	}
	if (got == 1)	/* no ack asked, none came: success */
		got = 0;
	if (!check)
		return 0;
	want = expect_of(cmd, id);
	if (want != got) {
		mismatch(cmd == COLO_CMD_INSTANCE_NEW ? "new" :
			 cmd == COLO_CMD_INSTANCE_DEL ? "del" :
			 cmd == COLO_CMD_INSTANCE_GET ? "get" :
			 cmd == COLO_CMD_CHECKPOINT ? "checkpoint" : "failover",
			 id, want, got);
		model_dirty = 1;
		return 0;
	}
	if (cmd == COLO_CMD_INSTANCE_GET && !got) {
		if (pend[0].data != 1 || pend[0].reply_id != id ||
		    (pend[0].reply_state == COLO_STATE_FAILED_OVER) != model[id].failed_over)
			mismatch("get reply", id, 1, pend[0].data);
	}
	if (!got)
		apply(cmd, id);
	return 0;
}

/* random attributes, nested up to depth */
static void rand_attrs(struct nlmsghdr *nlh, int depth, size_t room)
{
	int n = (int)rnd(6), i;

	for (i = 0; i < n && nlh->nlmsg_len + 64 < room; i++) {
		uint16_t type = chance(80) ? (uint16_t)rnd(COLO_A_MAX + 4) : (uint16_t)rnd(65536);
		uint8_t val[32];
		size_t len = chance(50) ? (size_t)(1u << rnd(4)) : rnd(33);

		if (depth < 3 && chance(20)) {
			struct nlattr *nest = mnl_attr_nest_start(nlh, type & 0x3fff);

			rand_attrs(nlh, depth + 1, room);
			mnl_attr_nest_end(nlh, nest);
			continue;
		}
		rbytes(val, sizeof(val));
		if (len > sizeof(val))
			len = sizeof(val);
		mnl_attr_put(nlh, type, len, val);
	}
}

static void mutate(struct msg *m)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)m->buf;
	struct genlmsghdr *g = mnl_nlmsg_get_payload(nlh);
	struct nlattr *a = NULL, *x;
	int n = 0, pick;

	mnl_attr_for_each(x, nlh, sizeof(*g))
		n++;
	pick = n ? (int)rnd((uint32_t)n) : 0;
	n = 0;
	mnl_attr_for_each(x, nlh, sizeof(*g))
		if (n++ == pick)
			a = x;
	switch (rnd(10)) {
	case 0:		/* attribute type */
		if (a)
			a->nla_type = chance(50) ? (uint16_t)rnd(COLO_A_MAX + 8) :
				(uint16_t)(rnd(65536) | (chance(50) ? NLA_F_NESTED : 0));
		break;
	case 1:		/* shorter payload, nla_len follows */
		if (a && a->nla_len > NLA_HDRLEN) {
			a->nla_len = (uint16_t)(NLA_HDRLEN + rnd(a->nla_len - NLA_HDRLEN));
			nlh->nlmsg_len = (uint32_t)((char *)a - m->buf) + MNL_ALIGN(a->nla_len);
		}
		break;
	case 2:		/* nla_len lying: past the message, or below the header */
		if (a)
			a->nla_len = chance(50) ? (uint16_t)(a->nla_len + 4 + rnd(200)) :
				(uint16_t)rnd(NLA_HDRLEN);
		break;
	case 3:		/* value out of range */
		if (a && mnl_attr_get_payload_len(a) >= 4)
			memcpy(mnl_attr_get_payload(a),
			       &(uint32_t){ chance(30) ? 0 : chance(50) ? 0xffffffffu : 3600001u }, 4);
		break;
	case 4:		/* a duplicate */
		if (a && nlh->nlmsg_len + MNL_ALIGN(a->nla_len) < sizeof(m->buf)) {
			size_t l = MNL_ALIGN(a->nla_len);

			memcpy(m->buf + nlh->nlmsg_len, a, l);
			nlh->nlmsg_len += (uint32_t)l;
		}
		break;
	case 5:		/* an unknown attribute */
		mnl_attr_put_u32(nlh, (uint16_t)(COLO_A_MAX + 1 + rnd(100)), (uint32_t)splitmix(&rs));
		break;
	case 6:		/* genl version / reserved */
		g->version = (uint8_t)rnd(256);
		g->reserved = (uint16_t)rnd(65536);
		break;
	case 7:		/* flags */
		nlh->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | rnd(65536));
		break;
	case 8:		/* trailing bytes inside the message */
		rbytes(m->buf + nlh->nlmsg_len, 3);
		nlh->nlmsg_len += 1 + rnd(3);
		break;
	default:	/* wrong size for its type */
		if (a) {
			size_t l = mnl_attr_get_payload_len(a);

			a->nla_len = (uint16_t)(NLA_HDRLEN + (l == 4 ? 8 : l == 8 ? 4 : 2));
			nlh->nlmsg_len = (uint32_t)((char *)a - m->buf) + MNL_ALIGN(a->nla_len);
		}
		break;
	}
	m->len = nlh->nlmsg_len < sizeof(m->buf) ? nlh->nlmsg_len : sizeof(m->buf);
}

static int run_one(struct msg *ms, int nmsg, const uint8_t *cmds)
{
	static char buf[4 * 4096];
	size_t len = 0;
	int i;

	npend = nmsg;
	for (i = 0; i < nmsg; i++) {
		memcpy(buf + len, ms[i].buf, ms[i].len);
		len += NLMSG_ALIGN(ms[i].len);
		pend[i].seq = ((struct nlmsghdr *)ms[i].buf)->nlmsg_seq;
		pend[i].data = 0;
	}
	if (exchange(nl, buf, len))
		return -1;
	for (i = 0; i < nmsg; i++)
		/*
		 * Something we cannot predict may have changed the instances:
		 * a success, or no answer at all (mutated flags without
		 * NLM_F_ACK: a success is silent then)
		 */
		if (pend[i].result >= 0 && cmds[i] != COLO_CMD_INSTANCE_GET)
			model_dirty = 1;
	return 0;
}

static void make_mutated(struct msg *m, uint8_t *cmd)
{
	int phase;

	*cmd = valid_cmds[rnd(sizeof(valid_cmds))];
	valid_req(m, *cmd, rand_id(), NLM_F_REQUEST | NLM_F_ACK, &phase);
	mutate(m);
}

static void make_random(struct msg *m, uint8_t *cmd)
{
	struct nlmsghdr *nlh;

	*cmd = chance(50) ? (uint8_t)rnd(COLO_CMD_MAX + 3) : (uint8_t)rnd(256);
	nlh = msg_start(m, *cmd, (uint16_t)(NLM_F_REQUEST | NLM_F_ACK |
					    (chance(20) ? rnd(65536) : 0)));
	if (chance(50))
		mnl_attr_put_u32(nlh, COLO_A_INSTANCE, rand_id());
	rand_attrs(nlh, 0, sizeof(m->buf) - 256);
	msg_end(m);
}

static int op_garbage(void)
{
	struct msg m;
	struct nlmsghdr *nlh = (struct nlmsghdr *)m.buf;
	size_t body = rnd(200);

	memset(m.buf, 0, sizeof(m.buf));
	rbytes(m.buf + NLMSG_HDRLEN, body);
	nlh->nlmsg_type = chance(80) ? fam : (uint16_t)rnd(65536);
	nlh->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | NLM_F_ACK | (chance(30) ? rnd(65536) : 0));
	nlh->nlmsg_seq = seq++;
	switch (rnd(4)) {
	case 0: nlh->nlmsg_len = (uint32_t)(NLMSG_HDRLEN + rnd(GENL_HDRLEN)); break; /* genl header cut */
	case 1: nlh->nlmsg_len = (uint32_t)(NLMSG_HDRLEN + body + 1 + rnd(1000)); break; /* past the datagram */
	case 2: nlh->nlmsg_len = rnd(NLMSG_HDRLEN); break;	/* below the header */
	default: nlh->nlmsg_len = (uint32_t)(NLMSG_HDRLEN + body); break;
	}
	m.len = NLMSG_HDRLEN + body;
	npend = 1;
	pend[0].seq = nlh->nlmsg_seq;
	if (exchange(nl, m.buf, m.len))
		return -1;
	if (pend[0].result >= 0)
		model_dirty = 1;
	return 0;
}

static int op_dump(void)
{
	static struct dump_res r;

	st_dumps++;
	if (chance(50)) {	/* interrupted: one read, then the socket goes */
		struct mnl_socket *s = nl_open();
		char buf[2048];
		struct msg m;

		msg_start(&m, COLO_CMD_INSTANCE_GET,
			  (uint16_t)(NLM_F_REQUEST | NLM_F_DUMP | (chance(50) ? NLM_F_ACK : 0)));
		if (chance(30))
			mnl_attr_put_u32((struct nlmsghdr *)m.buf, COLO_A_INSTANCE, rand_id());
		msg_end(&m);
		if (mnl_socket_sendto(s, m.buf, m.len) >= 0 && chance(70))
			(void)recv(mnl_socket_get_fd(s), buf, sizeof(buf), 0);
		mnl_socket_close(s);
		st_dumps_cut++;
		return 0;
	}
	if (dump_all(&r, NULL))
		return -1;
	if (model_on && !model_dirty) {
		uint32_t i;

		for (i = 1; i <= MAXID_LIMIT; i++)
			if (r.seen[i].exists != model[i].exists) {
				mismatch("dump: exists", i, model[i].exists, r.seen[i].exists);
				break;
			} else if (r.seen[i].failed_over != model[i].failed_over) {
				mismatch("dump: failed over", i, model[i].failed_over,
					 r.seen[i].failed_over);
				break;
			}
	}
	memcpy(model, r.seen, sizeof(model));
	model_dirty = 0;
	return 0;
}

static int fuzz(uint64_t seed, unsigned long count)
{
	unsigned long i;
	struct famres fr = { 0 };

	nl = nl_open();
	resolve(&fr);
	fam = fr.id;
	ev = nl_open();
	if (fr.grp && mnl_socket_setsockopt(ev, NETLINK_ADD_MEMBERSHIP, &fr.grp,
					    sizeof(fr.grp)) < 0)
		perror("colo_nlfuzz: events group");
	rs = seed;
	for (i = 0; i < count; i++) {
		uint32_t r = rnd(100);
		int op, rc = 0;

		if (r < 30) {
			op = 0;
			rc = op_valid(1);
		} else if (r < 55) {
			struct msg m;
			uint8_t cmd;

			op = 1;
			make_mutated(&m, &cmd);
			rc = run_one(&m, 1, &cmd);
		} else if (r < 75) {
			struct msg m;
			uint8_t cmd;

			op = 2;
			make_random(&m, &cmd);
			rc = run_one(&m, 1, &cmd);
		} else if (r < 82) {
			op = 3;
			rc = op_garbage();
		} else if (r < 88) {
			static struct msg ms[4];
			uint8_t cmds[4];
			int n = 2 + (int)rnd(3), k;

			op = 4;
			for (k = 0; k < n; k++) {
				if (chance(50))
					make_mutated(&ms[k], &cmds[k]);
				else
					make_random(&ms[k], &cmds[k]);
			}
			rc = run_one(ms, n, cmds);
		} else if (r < 94) {
			op = 5;
			rc = op_valid(0);
		} else {
			op = 6;
			rc = op_dump();
		}
		st_ops[op]++;
		if (rc)
			return 1;
		if (i % 64 == 0)
			events_drain();
		if (!quiet && i && i % 20000 == 0)
			fprintf(stderr, "colo_nlfuzz: %lu requests\n", i);
	}
	events_drain();
	if (model_on)
		resync();
	printf("requests=%lu datagrams=%lu", count, st_datagrams);
	for (i = 0; i < 7; i++)
		printf(" %s=%lu", op_name[i], st_ops[i]);
	printf(" acks_ok=%lu replies=%lu done=%lu other=%lu stale_dump_parts=%lu dumps=%lu dumps_interrupted=%lu resyncs=%lu events=%lu instances_now=%d model_mismatches=%lu bad_replies=%lu\n",
	       st_ok, st_data, st_done, st_other, st_multi_stale, st_dumps,
	       st_dumps_cut, st_resync, st_events, model_on ? model_count() : -1,
	       st_mismatch, st_bad_reply);
	printf("errnos:");
	for (i = 1; i < 256; i++)
		if (st_err[i])
			printf(" %s=%lu", strerrorname_np((int)i) ? strerrorname_np((int)i) : "?", st_err[i]);
	printf("\n");
	return st_mismatch || st_bad_reply ? 1 : 0;
}

/* ------------------------------------------------------ dump-check --- */

static int del_instance(uint32_t id)
{
	struct msg m;
	int phase;

	valid_req(&m, COLO_CMD_INSTANCE_DEL, id, NLM_F_REQUEST | NLM_F_ACK, &phase);
	npend = 1;
	pend[0].seq = ((struct nlmsghdr *)m.buf)->nlmsg_seq;
	if (exchange(nl, m.buf, m.len))
		return -1;
	return pend[0].result;
}

/* the instance ids in one datagram of a dump; 1 when it holds NLMSG_DONE */
static int dump_ids(const char *buf, int n, uint8_t *seen, uint32_t *last,
		    int *count)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;

	for (; mnl_nlmsg_ok(nlh, n); nlh = mnl_nlmsg_next(nlh, &n)) {
		uint32_t id, rules;
		uint8_t state;

		if (nlh->nlmsg_type == NLMSG_DONE || nlh->nlmsg_type == NLMSG_ERROR)
			return 1;
		if (check_inst_attrs(nlh, &id, &state, &rules))
			return -1;
		if (seen && id <= MAXID_LIMIT * 1024)
			seen[id / 8] |= (uint8_t)(1 << (id % 8));
		*last = id;
		(*count)++;
	}
	return 0;
}

/*
 * Instances base .. base+n-1 are created; a dump is read with a small
 * receive buffer: the first part, then the second part only peeked (so
 * the kernel does not build the third yet: its cursor is the last
 * instance of the second part); that instance is deleted; the rest of
 * the dump is read. Every instance but the deleted one must be named.
 */
static int dump_check(uint32_t n, uint32_t base)
{
	static uint8_t seen[MAXID_LIMIT * 128 + 1], before[MAXID_LIMIT * 128 + 1];
	static char buf[BUFSZ];
	struct famres fr = { 0 };
	struct mnl_socket *s;
	uint32_t i, last = 0, cursor = 0, missing = 0, first_missing = 0;
	int count = 0, nbefore = 0, r, small = 4096, parts = 0, done = 0;
	struct msg m;

	nl = nl_open();
	resolve(&fr);
	fam = fr.id;
	if (base + n > MAXID_LIMIT * 1024) {
		fprintf(stderr, "colo_nlfuzz: dump-check: ids up to %u only\n", MAXID_LIMIT * 1024);
		return 2;
	}
	for (i = 0; i < n; i++) {
		int phase;

		valid_req(&m, COLO_CMD_INSTANCE_NEW, base + i, NLM_F_REQUEST | NLM_F_ACK, &phase);
		npend = 1;
		pend[0].seq = ((struct nlmsghdr *)m.buf)->nlmsg_seq;
		if (exchange(nl, m.buf, m.len) || pend[0].result) {
			fprintf(stderr, "colo_nlfuzz: cannot create instance %u: %d\n", base + i,
				pend[0].result);
			return 1;
		}
	}
	s = nl_open();
	setsockopt(mnl_socket_get_fd(s), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	msg_start(&m, COLO_CMD_INSTANCE_GET, NLM_F_REQUEST | NLM_F_DUMP);
	msg_end(&m);
	/* what a plain dump names first */
	{
		static struct dump_res all;

		if (dump_all(&all, NULL))
			return 1;
		nbefore = all.ids;
	}
	for (i = 0; i < n; i++)
		before[(base + i) / 8] |= (uint8_t)(1 << ((base + i) % 8));
	if (mnl_socket_sendto(s, m.buf, m.len) < 0)
		return 1;
	r = (int)recv(mnl_socket_get_fd(s), buf, sizeof(buf), 0);
	if (r <= 0 || (done = dump_ids(buf, r, seen, &last, &count)) < 0)
		return 1;
	parts++;
	if (!done) {
		/* the second part, peeked: its last instance is the cursor */
		int c2 = 0;

		r = (int)recv(mnl_socket_get_fd(s), buf, sizeof(buf), MSG_PEEK);
		if (r <= 0 || dump_ids(buf, r, NULL, &cursor, &c2) < 0)
			return 1;
		if (del_instance(cursor) != 0) {
			fprintf(stderr, "colo_nlfuzz: cannot delete instance %u\n", cursor);
			return 1;
		}
		while (!done) {
			r = (int)recv(mnl_socket_get_fd(s), buf, sizeof(buf), 0);
			if (r <= 0)
				return 1;
			done = dump_ids(buf, r, seen, &last, &count);
			if (done < 0)
				return 1;
			parts++;
		}
	}
	mnl_socket_close(s);
	for (i = 0; i < n; i++) {
		uint32_t id = base + i;

		if (id != cursor && !(seen[id / 8] & (1 << (id % 8)))) {
			if (!missing++)
				first_missing = id;
		}
	}
	printf("dump_check instances_before=%d created=%u parts=%d deleted_cursor=%u dumped=%d missing=%u first_missing=%u\n",
	       nbefore, n, parts, cursor, count, missing, first_missing);
	for (i = 0; i < n; i++)
		if (base + i != cursor)
			del_instance(base + i);
	if (!cursor) {
		fprintf(stderr, "colo_nlfuzz: the dump came in one part: nothing was deleted in between\n");
		return 1;
	}
	return missing ? 1 : 0;
}

int main(int argc, char **argv)
{
	uint64_t seed = (uint64_t)time(NULL);
	unsigned long count = 1000;
	uint32_t n = 200, base = 100000;
	int i;

	if (argc < 2)
		goto usage;
	for (i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";

		if (!strcmp(a, "--no-model")) {
			model_on = 0;
		} else if (!strcmp(a, "--quiet")) {
			quiet = 1;
		} else if (!strcmp(a, "--seed")) {
			seed = strtoull(v, NULL, 0), i++;
		} else if (!strcmp(a, "--count")) {
			count = strtoul(v, NULL, 0), i++;
		} else if (!strcmp(a, "--ids")) {
			maxid = (uint32_t)strtoul(v, NULL, 0), i++;
		} else if (!strcmp(a, "--instances")) {
			n = (uint32_t)strtoul(v, NULL, 0), i++;
		} else if (!strcmp(a, "--base")) {
			base = (uint32_t)strtoul(v, NULL, 0), i++;
		} else {
			goto usage;
		}
	}
	if (!maxid || maxid > MAXID_LIMIT || n < 2)
		goto usage;
	if (!strcmp(argv[1], "fuzz")) {
		printf("seed=%llu\n", (unsigned long long)seed);
		fflush(stdout);
		return fuzz(seed, count);
	}
	if (!strcmp(argv[1], "dump-check"))
		return dump_check(n, base);
usage:
	fprintf(stderr, "usage: colo_nlfuzz fuzz --seed S --count N [--ids MAX] [--no-model] [--quiet]\n"
		"       colo_nlfuzz dump-check [--instances N] [--base ID]\n");
	return 2;
}
