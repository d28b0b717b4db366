// SPDX-License-Identifier: GPL-2.0-only
/*
 * coloctl qemu: tie an instance to QEMU's own COLO checkpoint loop.
 *
 *   qemu watch ID --qmp SOCKET [--drain MS] [--takeover CMD] [--no-failover]
 *   qemu failover ID --qmp SOCKET [--takeover CMD]
 *   qemu checkpoint --qmp SOCKET
 *
 * QEMU checkpoints on its own timer (x-checkpoint-delay) and tells only its
 * own colo-compare and filters (migration/colo.c). From outside, a
 * checkpoint shows on QMP as the guest stopping (runstate "colo", event
 * STOP) and running again (RESUME): on the primary both guests are stopped
 * from the STOP until shortly before the RESUME (the secondary stops first,
 * and resumes after it loaded the primary's state, just before the primary
 * does). "watch" turns each STOP into "checkpoint begin" and ends the
 * checkpoint --drain ms later, or at the RESUME if that comes first
 * (kernel/instance.c explains both steps). The other way, a checkpoint
 * request from the module (a divergence event) makes QEMU checkpoint at
 * once: migrate-set-parameters with x-checkpoint-delay, here set to the
 * value it has, calls colo_checkpoint_notify() in COLO state (QEMU 7.2's
 * migrate_params_apply(); colo_checkpoint_delay_set() in later versions),
 * which starts a checkpoint now. When QEMU reports that COLO ended because
 * the other side is gone (event COLO_EXIT, reason "error"), "watch" fails over
 * as "failover" does: x-colo-lost-heartbeat to QEMU, the instance's
 * failover, then the operator's takeover command.
 *
 * One poll() loop serves the QMP socket, the module's events, a timerfd
 * (the drain) and a signalfd. QMP and netlink requests are made from the
 * loop only, never from inside an event callback.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <linux/genetlink.h>

#include <linux/xt_COLO.h>

#include "event.h"
#include "info.h"
#include "netlink.h"
#include "parse.h"
#include "qmp.h"
#include "subcommands.h"

#define DEFAULT_DRAIN_MS	20
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

const char qemu_synopsis[] =
	"qemu watch ID --qmp SOCKET [--drain MS] [--takeover CMD] [--no-failover]\n"
	"qemu failover ID --qmp SOCKET [--takeover CMD]\n"
	"qemu checkpoint --qmp SOCKET\n";

void qemu_help(FILE *f)
{
	print_synopsis(f, qemu_synopsis);
	fprintf(f,
		"\n"
		"Tie instance ID to a QEMU COLO pair through the QMP socket of the local QEMU\n"
		"(the primary's on the primary host, the secondary's on the secondary host).\n"
		"\n"
		"  watch       run beside QEMU: each checkpoint QEMU takes (the guest stops)\n"
		"              becomes \"checkpoint ID begin\", and \"end\" follows MS ms after\n"
		"              the stop (--drain, default %d; 0: at the resume) or at the\n"
		"              resume, whichever comes first; each checkpoint request of the\n"
		"              module makes QEMU checkpoint at once (primary); when QEMU says\n"
		"              COLO ended with an error (the other side is gone), fail over as\n"
		"              \"failover\" does and exit, unless --no-failover\n"
		"  failover    the other side is lost: x-colo-lost-heartbeat to QEMU, then\n"
		"              \"coloctl failover ID\", then CMD if given (/bin/sh -c, with\n"
		"              COLO_INSTANCE and COLO_MODE set: the network takeover)\n"
		"  checkpoint  make the primary QEMU checkpoint now\n",
		DEFAULT_DRAIN_MS);
}

struct opts {
	uint32_t id;
	const char *qmp;
	const char *takeover;
	uint32_t drain_ms;
	bool no_failover;
};

/* Where a checkpoint is, as "watch" follows it. */
enum ckpt_phase {
	RUNNING,	/* no checkpoint, or ended and resumed */
	STOPPED,	/* STOP seen, "begin" sent */
	ENDED,		/* "end" sent, RESUME not seen yet */
};

struct watch {
	struct opts *o;
	struct qmp q;
	struct colo_nl ev;	/* subscribed to "events" */
	struct colo_nl req;	/* requests */
	int tfd;		/* the drain */
	sigset_t oldmask;
	enum ckpt_phase phase;
	double stop_when;	/* QEMU's timestamp of the STOP */
	struct timespec stop_at;	/* ours */
	unsigned long checkpoints;
	double end_ms;		/* "end", in ms after "begin" */
	bool want_checkpoint;	/* a divergence event came */
	bool failed_over;	/* the instance has failed over */
	char colo_exit[16];	/* COLO_EXIT's reason once it came, else "" */
};

static void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One line of the log: "HH:MM:SS.mmm coloctl: qemu: ..." (local time). */
static void log_line(const char *fmt, ...)
{
	struct timespec ts;
	struct tm tm;
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	printf("%02d:%02d:%02d.%03ld %s: qemu: ", tm.tm_hour, tm.tm_min,
	       tm.tm_sec, ts.tv_nsec / 1000000, PROG_NAME);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static double ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1e3 + (now.tv_nsec - t->tv_nsec) / 1e6;
}

static void arm_drain(struct watch *w, uint32_t ms)
{
	struct itimerspec its = {
		.it_value = { .tv_sec = ms / 1000,
			      .tv_nsec = (ms % 1000) * 1000000L },
	};

	timerfd_settime(w->tfd, 0, &its, NULL);
}

static void ckpt_end(struct watch *w)
{
	arm_drain(w, 0);	/* disarm */
	w->end_ms = ms_since(&w->stop_at);
	w->phase = ENDED;
	colo_nl_checkpoint(&w->req, w->o->id, COLO_CHECKPOINT_END);
}

/* QMP events; no QMP requests from here (see qmp.h). */
static void on_qmp_event(void *arg, const char *event, json_t *data,
			 double when)
{
	struct watch *w = arg;

	if (!event)
		return;
	if (!strcmp(event, "STOP")) {
		if (w->failed_over || w->phase != RUNNING)
			return;
		w->phase = STOPPED;
		w->stop_when = when;
		clock_gettime(CLOCK_MONOTONIC, &w->stop_at);
		colo_nl_checkpoint(&w->req, w->o->id, COLO_CHECKPOINT_BEGIN);
		if (w->o->drain_ms)
			arm_drain(w, w->o->drain_ms);
	} else if (!strcmp(event, "RESUME")) {
		bool at_resume = w->phase == STOPPED;

		if (w->phase == RUNNING)
			return;
		if (at_resume)
			ckpt_end(w);
		w->phase = RUNNING;
		w->checkpoints++;
		log_line("checkpoint %lu: guest stopped %.1f ms; end %.1f ms after begin, %s",
			 w->checkpoints,
			 when && w->stop_when ? (when - w->stop_when) * 1e3 : 0.0,
			 w->end_ms,
			 at_resume ? "at the resume (the stop was shorter than the drain)" :
					    "before the resume");
	} else if (!strcmp(event, "COLO_EXIT")) {
		const char *mode = json_string_value(json_object_get(data, "mode"));
		const char *reason = json_string_value(json_object_get(data, "reason"));

		snprintf(w->colo_exit, sizeof(w->colo_exit), "%s",
			 reason ? reason : "unknown");
		log_line("QEMU left COLO (mode %s, reason %s)", mode ? mode : "?",
			 w->colo_exit);
	} else if (!strcmp(event, "SHUTDOWN")) {
		log_line("QEMU is shutting down");
	}
}

/* The module's events: this instance's requests and failover. */
static int on_nl_event(const struct nlmsghdr *nlh, void *data)
{
	struct watch *w = data;
	struct colo_event ev;

	if (nlh->nlmsg_type != w->ev.family || event_parse(nlh, &ev) ||
	    ev.instance != w->o->id)
		return MNL_CB_OK;
	if (ev.cmd == COLO_CMD_DIVERGENCE_NTF) {
		w->want_checkpoint = true;
	} else if (ev.cmd == COLO_CMD_FAILOVER_NTF) {
		w->failed_over = true;
	} else if (ev.cmd == COLO_CMD_FAILOPEN_NTF) {
		log_line("instance %u failed open: no checkpoint came in time",
			 w->o->id);
	}
	return MNL_CB_OK;
}

static int read_nl_events(struct watch *w)
{
	ssize_t len;

	len = mnl_socket_recvfrom(w->ev.nl, w->ev.rxbuf, COLO_NL_RXBUF);
	if (len < 0) {
		if (errno == ENOBUFS) {
			/* a lost request is found by the pending check */
			w->want_checkpoint = true;
			return 0;
		}
		if (errno == EINTR || errno == EAGAIN)
			return 0;
		fprintf(stderr, "%s: qemu: cannot read events: %s\n", PROG_NAME,
			strerror(errno));
		return -errno;
	}
	if (mnl_cb_run(w->ev.rxbuf, len, 0, 0, on_nl_event, w) < 0)
		return -EIO;
	return 0;
}

/* x-checkpoint-delay as QEMU has it now, or a negative errno. */
static long long checkpoint_delay(struct qmp *q)
{
	json_t *ret;
	long long v;
	int r;

	r = qmp_execute(q, "query-migrate-parameters", NULL, &ret, NULL, 0);
	if (r)
		return r;
	if (!json_is_integer(json_object_get(ret, "x-checkpoint-delay"))) {
		fprintf(stderr, "%s: QMP %s: query-migrate-parameters has no x-checkpoint-delay\n",
			PROG_NAME, q->path);
		json_decref(ret);
		return -EPROTO;
	}
	v = json_integer_value(json_object_get(ret, "x-checkpoint-delay"));
	json_decref(ret);
	return v;
}

/* QEMU's COLO mode ("primary", "secondary", "none") into @mode. */
static int colo_mode(struct qmp *q, char *mode, size_t len)
{
	json_t *ret;
	int r;

	r = qmp_execute(q, "query-colo-status", NULL, &ret, NULL, 0);
	if (r)
		return r;
	snprintf(mode, len, "%s",
		 json_string_value(json_object_get(ret, "mode")) ?: "none");
	json_decref(ret);
	return 0;
}

/*
 * Make the primary QEMU checkpoint now: setting x-checkpoint-delay in COLO
 * state does (migrate_params_apply() calls colo_checkpoint_notify()). It
 * is set to the value it has, so there is nothing to restore and the
 * periodic timer is only re-armed.
 */
static int qemu_checkpoint_now(struct qmp *q)
{
	char mode[16];
	long long delay;
	int r;

	r = colo_mode(q, mode, sizeof(mode));
	if (r)
		return r;
	if (strcmp(mode, "primary")) {
		fprintf(stderr, "%s: QMP %s: QEMU is not a COLO primary (COLO mode %s): only the primary checkpoints\n",
			PROG_NAME, q->path, mode);
		return -EINVAL;
	}
	delay = checkpoint_delay(q);
	if (delay < 0)
		return delay;
	return qmp_execute(q, "migrate-set-parameters",
			   json_pack("{s:I}", "x-checkpoint-delay",
				     (json_int_t)delay), NULL, NULL, 0);
}

/* Run the takeover command and wait for it; its status is returned. */
static int run_takeover(const char *cmd, uint32_t id, const char *mode,
			const sigset_t *oldmask)
{
	char idbuf[16];
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (oldmask)
			sigprocmask(SIG_SETMASK, oldmask, NULL);
		snprintf(idbuf, sizeof(idbuf), "%u", id);
		setenv("COLO_INSTANCE", idbuf, 1);
		setenv("COLO_MODE", mode, 1);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

/*
 * The other side is lost: QEMU runs on alone, the instance stops
 * protecting, the takeover command moves the network. Each step is done
 * even when an earlier one failed (QEMU may have left COLO already); the
 * result says whether all went well.
 */
static int do_failover(struct qmp *q, struct colo_nl *req, struct opts *o,
		       const sigset_t *oldmask)
{
	char mode[16] = "none", err[256];
	int r, ret = 0;

	colo_mode(q, mode, sizeof(mode));
	r = qmp_execute(q, "x-colo-lost-heartbeat", NULL, NULL, err,
			sizeof(err));
	if (r && !strstr(err, "not in COLO"))
		ret = r;
	else if (!r)
		log_line("x-colo-lost-heartbeat: QEMU (COLO mode %s) goes on alone",
			 mode);
	r = colo_nl_instance_cmd(req, COLO_CMD_FAILOVER, o->id);
	if (r && r != -EALREADY)
		ret = r;
	else
		log_line("instance %u failed over", o->id);
	if (o->takeover) {
		r = run_takeover(o->takeover, o->id,
				 strcmp(mode, "none") ? mode : "unknown", oldmask);
		if (r) {
			fprintf(stderr, "%s: qemu: takeover command failed (status %d): %s\n",
				PROG_NAME, r, o->takeover);
			ret = -ECHILD;
		} else {
			log_line("takeover command done");
		}
	}
	return ret;
}

/* A checkpoint request from the module: make QEMU checkpoint, if still due. */
static void serve_request(struct watch *w)
{
	struct colo_info *infos = NULL;
	size_t n = 0;
	int r;

	w->want_checkpoint = false;
	if (w->phase != RUNNING || w->failed_over)
		return;		/* the checkpoint under way answers it */
	r = info_get(&w->req, &w->o->id, &infos, &n);
	if (!r && n == 1 && (infos[0].has & INFO_HAS_PENDING) &&
	    !infos[0].pending) {
		free(infos);
		return;		/* answered meanwhile */
	}
	free(infos);
	r = qemu_checkpoint_now(&w->q);
	log_line("checkpoint request of instance %u: %s", w->o->id,
		 r ? "QEMU did not take it" : "QEMU checkpoints now");
}

/* The subcommands, as bits of what each option is for. */
enum {
	WATCH = 1,
	FAILOVER = 2,
	CHECKPOINT = 4,
};

static const struct {
	const char *name;
	int cmds;
	bool value;
} qemu_options[] = {
	{ "--qmp", WATCH | FAILOVER | CHECKPOINT, true },
	{ "--takeover", WATCH | FAILOVER, true },
	{ "--drain", WATCH, true },
	{ "--no-failover", WATCH, false },
};

/* argv[1] is the subcommand @cmd; an instance ID follows but for checkpoint. */
static int parse_opts(struct opts *o, int argc, char *argv[], int cmd)
{
	int i = 2;

	o->drain_ms = DEFAULT_DRAIN_MS;
	if (cmd != CHECKPOINT) {
		if (argc < 3) {
			fprintf(stderr, "%s: qemu %s: an instance ID is needed\n",
				PROG_NAME, argv[1]);
			return -1;
		}
		if (arg_instance(argv[2], &o->id))
			return -1;
		i = 3;
	}
	for (; i < argc; i++) {
		const char *opt = argv[i], *val;
		size_t k;

		for (k = 0; k < ARRAY_SIZE(qemu_options); k++)
			if ((qemu_options[k].cmds & cmd) &&
			    !strcmp(opt, qemu_options[k].name))
				break;
		if (k == ARRAY_SIZE(qemu_options)) {
			fprintf(stderr, "%s: qemu %s: unexpected argument \"%s\"\n",
				PROG_NAME, argv[1], opt);
			return -1;
		}
		if (!qemu_options[k].value) {
			o->no_failover = true;
			continue;
		}
		val = ++i < argc ? argv[i] : NULL;
		if (!val || !*val) {
			fprintf(stderr, "%s: qemu %s: %s needs a value\n",
				PROG_NAME, argv[1], opt);
			return -1;
		}
		if (!strcmp(opt, "--qmp"))
			o->qmp = val;
		else if (!strcmp(opt, "--takeover"))
			o->takeover = val;
		else if (arg_u32("--drain", val, 0, 60000, &o->drain_ms))
			return -1;
	}
	if (!o->qmp) {
		fprintf(stderr, "%s: qemu %s: --qmp SOCKET is needed\n",
			PROG_NAME, argv[1]);
		return -1;
	}
	return 0;
}

/* Returns 1 to stop. */
static int read_signals(int sfd)
{
	struct signalfd_siginfo si;
	int stop = 0;

	while (read(sfd, &si, sizeof(si)) == sizeof(si))
		if (si.ssi_signo != SIGCHLD)
			stop = 1;
	return stop;
}

static int watch_main(struct opts *o)
{
	struct watch w = { .o = o, .tfd = -1, .q = { .fd = -1 } };
	struct colo_info *infos = NULL;
	struct pollfd pfd[4];
	char mode[16];
	sigset_t mask;
	int sfd = -1, ret;
	size_t n = 0;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, &w.oldmask) < 0)
		return -errno;
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	w.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (sfd < 0 || w.tfd < 0) {
		ret = -errno;
		fprintf(stderr, "%s: qemu: %s\n", PROG_NAME, strerror(-ret));
		goto out;
	}

	ret = colo_nl_open(&w.req);
	if (ret)
		goto out;
	ret = info_get(&w.req, &o->id, &infos, &n);
	if (ret) {
		colo_nl_perror(&w.req, ret, "cannot watch instance %u", o->id);
		goto out;
	}
	w.failed_over = n == 1 && infos[0].state == COLO_STATE_FAILED_OVER;
	ret = colo_nl_open(&w.ev);
	if (!ret)
		ret = colo_nl_subscribe(&w.ev);
	if (ret)
		goto out;
	ret = qmp_open(&w.q, o->qmp, on_qmp_event, &w);
	if (ret)
		goto out;
	ret = colo_mode(&w.q, mode, sizeof(mode));
	if (ret)
		goto out;
	log_line("watching QEMU at %s (COLO mode %s) for instance %u; drain %u ms",
		 o->qmp, mode, o->id, o->drain_ms);

	pfd[0] = (struct pollfd){ .fd = w.q.fd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = mnl_socket_get_fd(w.ev.nl), .events = POLLIN };
	pfd[2] = (struct pollfd){ .fd = w.tfd, .events = POLLIN };
	pfd[3] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	for (;;) {
		if (w.colo_exit[0]) {
			if (!strcmp(w.colo_exit, "request") || !o->no_failover) {
				/* "request": someone failed QEMU over already */
				ret = do_failover(&w.q, &w.req, o, &w.oldmask);
				goto out;
			}
			w.colo_exit[0] = '\0';
		}
		if (w.want_checkpoint)
			serve_request(&w);
		if (poll(pfd, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			goto out;
		}
		if (pfd[3].revents && read_signals(sfd)) {
			ret = 0;
			goto out;
		}
		if (pfd[2].revents) {
			uint64_t ticks;

			if (read(w.tfd, &ticks, sizeof(ticks)) > 0 &&
			    w.phase == STOPPED)
				ckpt_end(&w);
		}
		if (pfd[1].revents) {
			ret = read_nl_events(&w);
			if (ret)
				goto out;
		}
		if (pfd[0].revents) {
			ret = qmp_read(&w.q);
			if (ret == -ECONNRESET) {
				log_line("QEMU closed its QMP socket: it is gone");
				ret = -ECONNRESET;
				goto out;
			}
			if (ret)
				goto out;
		}
	}
out:
	free(infos);
	qmp_close(&w.q);
	colo_nl_close(&w.ev);
	colo_nl_close(&w.req);
	if (w.tfd >= 0)
		close(w.tfd);
	if (sfd >= 0)
		close(sfd);
	sigprocmask(SIG_SETMASK, &w.oldmask, NULL);
	return ret;
}

int qemu_main(int argc, char *argv[])
{
	struct opts o = {};
	struct colo_nl req;
	struct qmp q;
	int ret;

	if (argc == 2 && (arg_is_help(argv[1]) || !strcmp(argv[1], "help"))) {
		qemu_help(stdout);
		return EXIT_OK;
	}
	if (argc < 2) {
		print_synopsis(stderr, qemu_synopsis);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "watch")) {
		if (parse_opts(&o, argc, argv, WATCH))
			goto usage;
		return watch_main(&o) ? EXIT_ERROR : EXIT_OK;
	}
	if (!strcmp(argv[1], "failover")) {
		if (parse_opts(&o, argc, argv, FAILOVER))
			goto usage;
		if (colo_nl_open(&req))
			return EXIT_ERROR;
		ret = qmp_open(&q, o.qmp, NULL, NULL);
		if (!ret)
			ret = do_failover(&q, &req, &o, NULL);
		qmp_close(&q);
		colo_nl_close(&req);
		return ret ? EXIT_ERROR : EXIT_OK;
	}
	if (!strcmp(argv[1], "checkpoint")) {
		if (parse_opts(&o, argc, argv, CHECKPOINT))
			goto usage;
		ret = qmp_open(&q, o.qmp, NULL, NULL);
		if (!ret)
			ret = qemu_checkpoint_now(&q);
		qmp_close(&q);
		return ret ? EXIT_ERROR : EXIT_OK;
	}
	fprintf(stderr, "%s: qemu: unknown command \"%s\"\n", PROG_NAME, argv[1]);
usage:
	print_synopsis(stderr, qemu_synopsis);
	return EXIT_USAGE;
}
