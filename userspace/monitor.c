// SPDX-License-Identifier: GPL-2.0-only
/*
 * coloctl monitor [-j] [-t] [--instance ID] [--exec CMD]
 *
 * Prints the events of the "events" group, one line each, and with --exec
 * acts as the checkpoint helper: each checkpoint request (a divergence
 * event) runs CMD, and CMD's success is answered with COLO_CMD_CHECKPOINT.
 *
 * One poll() loop serves the event socket and a signalfd (SIGCHLD for the
 * helper commands, SIGINT/SIGTERM/SIGHUP to stop), so commands for several
 * instances run side by side and events keep being printed meanwhile.
 * Requests (checkpoint, instance get) go through a second socket: replies
 * must not interleave with events.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <linux/genetlink.h>

#include <linux/xt_COLO.h>

#include "event.h"
#include "info.h"
#include "netlink.h"
#include "parse.h"
#include "subcommands.h"

const char monitor_synopsis[] = "monitor [-j] [-t] [--instance ID] [--exec CMD]\n";

void monitor_help(FILE *f)
{
	print_synopsis(f, monitor_synopsis);
	fprintf(f,
		"\n"
		"Print one line per event of the colo \"events\" group: divergence (a checkpoint\n"
		"request), checkpoint, fail-open, failover. -j (or --json) prints one JSON\n"
		"object per line. Runs until interrupted; needs CAP_NET_ADMIN.\n"
		"\n"
		"  -t, --timestamp\n"
		"              begin each event with the time coloctl read it, UTC, to the\n"
		"              microsecond: [2026-12-03T22:58:01.123456Z], or a \"time\" field\n"
		"              with -j\n"
		"  --instance ID\n"
		"              only the events of instance ID, and with --exec only its\n"
		"              requests: one helper per protected guest\n"
		"  --exec CMD  run CMD with /bin/sh -c for each checkpoint request, with\n"
		"              COLO_INSTANCE, COLO_REASON, COLO_FAMILY, COLO_PROTO, COLO_SADDR,\n"
		"              COLO_DADDR, COLO_SPORT, COLO_DPORT, COLO_ICMP_ID and COLO_OFFSET\n"
		"              set as far as they apply; when CMD exits 0, send the checkpoint\n"
		"              for that instance; otherwise the request stays outstanding.\n"
		"              CMD's output goes to standard error.\n");
}

struct child {
	pid_t pid;
	uint32_t instance;
};

struct monitor {
	struct colo_nl ev;	/* subscribed to "events" and nlctrl "notify" */
	struct colo_nl req;	/* requests; open only with --exec */
	bool json;
	bool timestamp;		/* -t */
	uint32_t only;		/* --instance, or 0 for all */
	const char *exec;
	bool gone;		/* the colo family was unregistered */
	sigset_t oldmask;
	struct child *children;
	size_t nchildren, cap;
};

static struct child *find_child(struct monitor *m, pid_t pid, uint32_t id)
{
	size_t i;

	for (i = 0; i < m->nchildren; i++)
		if (pid ? m->children[i].pid == pid :
			  m->children[i].instance == id)
			return &m->children[i];
	return NULL;
}

static int add_child(struct monitor *m, pid_t pid, uint32_t id)
{
	struct child *children;

	if (m->nchildren == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 4;

		children = realloc(m->children, cap * sizeof(*children));
		if (!children)
			return -ENOMEM;
		m->children = children;
		m->cap = cap;
	}
	m->children[m->nchildren++] = (struct child){ pid, id };
	return 0;
}

/* In the child: the environment, the standard streams, then the command. */
static void __attribute__((noreturn))
run_command(struct monitor *m, const struct colo_event *ev, bool lost)
{
	int fd;

	sigprocmask(SIG_SETMASK, &m->oldmask, NULL);
	if (event_setenv(ev) || (lost && setenv("COLO_REASON", "unknown", 1)))
		_exit(127);
	/* Our standard output carries events only. */
	if (dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
		_exit(127);
	fd = open("/dev/null", O_RDONLY);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		if (fd != STDIN_FILENO)
			close(fd);
	}
	execl("/bin/sh", "sh", "-c", m->exec, (char *)NULL);
	_exit(127);
}

/*
 * Whether instance @id still has a checkpoint request outstanding. Events
 * can be stale: someone may have run "coloctl checkpoint" meanwhile, or the
 * request was already served after lost events. Returns 1, 0, or a negative
 * errno (reported).
 */
static int still_pending(struct monitor *m, uint32_t id)
{
	struct colo_info *infos = NULL;
	size_t n = 0;
	int ret;

	ret = info_get(&m->req, &id, &infos, &n);
	if (ret)
		colo_nl_perror(&m->req, ret, "cannot look at instance %u", id);
	else
		ret = !(infos[0].has & INFO_HAS_PENDING) || infos[0].pending;
	free(infos);
	return ret;
}

/* A checkpoint request for @ev->instance: run the command for it. */
static void serve_request(struct monitor *m, const struct colo_event *ev,
			  bool lost)
{
	uint32_t id = ev->instance;
	pid_t pid;
	int ret;

	if (find_child(m, 0, id)) {
		fprintf(stderr,
			"%s: checkpoint command for instance %u still running; its checkpoint answers this request too\n",
			PROG_NAME, id);
		return;
	}
	ret = still_pending(m, id);
	if (ret == -ENOENT)
		return;
	if (ret == 0) {
		fprintf(stderr,
			"%s: instance %u has no checkpoint request outstanding any more; not running the command\n",
			PROG_NAME, id);
		return;
	}
	/* On other errors, run the command: a stalled guest is worse. */

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr,
			"%s: cannot run the checkpoint command for instance %u: %s; request stays outstanding\n",
			PROG_NAME, id, strerror(errno));
		return;
	}
	if (pid == 0)
		run_command(m, ev, lost);
	if (add_child(m, pid, id))
		fprintf(stderr,
			"%s: out of memory: the checkpoint command for instance %u runs unwatched\n",
			PROG_NAME, id);
}

static void reap_children(struct monitor *m)
{
	struct child *child;
	uint32_t id;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		child = find_child(m, pid, 0);
		if (!child)
			continue;
		id = child->instance;
		*child = m->children[--m->nchildren];

		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			if (!colo_nl_instance_cmd(&m->req, COLO_CMD_CHECKPOINT, id))
				fprintf(stderr,
					"%s: checkpoint command for instance %u succeeded; checkpoint sent\n",
					PROG_NAME, id);
		} else if (WIFEXITED(status)) {
			fprintf(stderr,
				"%s: checkpoint command for instance %u failed with status %d; request stays outstanding\n",
				PROG_NAME, id, WEXITSTATUS(status));
		} else if (WIFSIGNALED(status)) {
			fprintf(stderr,
				"%s: checkpoint command for instance %u was killed by signal %d; request stays outstanding\n",
				PROG_NAME, id, WTERMSIG(status));
		}
	}
}

/*
 * Events were lost, or the helper (re)starts: a request made before would
 * never be sent again (one is outstanding per instance). Serve every
 * outstanding request.
 */
static void resync(struct monitor *m, const char *why)
{
	struct colo_info *infos = NULL;
	size_t i, n = 0;
	int ret;

	ret = info_get(&m->req, NULL, &infos, &n);
	if (ret) {
		colo_nl_perror(&m->req, ret, "cannot list instances %s", why);
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct colo_event ev = {
			.cmd = COLO_CMD_DIVERGENCE_NTF,
			.instance = infos[i].instance,
		};

		if (m->only && ev.instance != m->only)
			continue;
		if (infos[i].pending && !find_child(m, 0, ev.instance))
			serve_request(m, &ev, true);
	}
out:
	free(infos);
}

/* The controller's news: the colo family going away and coming back. */
static int ctrl_event(struct monitor *m, const struct nlmsghdr *nlh)
{
	const struct genlmsghdr *genl = mnl_nlmsg_get_payload(nlh);
	struct colo_family fam;

	if (genl->cmd != CTRL_CMD_NEWFAMILY && genl->cmd != CTRL_CMD_DELFAMILY)
		return MNL_CB_OK;
	if (colo_nl_parse_family(nlh, COLO_GENL_MCGRP_EVENTS, &fam) ||
	    strcmp(fam.name, COLO_GENL_NAME))
		return MNL_CB_OK;

	if (genl->cmd == CTRL_CMD_DELFAMILY) {
		if (!m->gone)
			fprintf(stderr,
				"%s: the %s family went away (xt_COLO unloaded); waiting for it to come back\n",
				PROG_NAME, COLO_GENL_NAME);
		m->gone = true;
		return MNL_CB_OK;
	}
	/* A new module instance: new family and group ids. */
	colo_nl_set_family(&m->ev, &fam);
	if (m->exec)
		colo_nl_set_family(&m->req, &fam);
	if (colo_nl_subscribe(&m->ev))
		return MNL_CB_ERROR;
	if (m->gone)
		fprintf(stderr, "%s: the %s family is back; monitoring again\n",
			PROG_NAME, COLO_GENL_NAME);
	m->gone = false;
	return MNL_CB_OK;
}

static int event_cb(const struct nlmsghdr *nlh, void *data)
{
	struct monitor *m = data;
	struct colo_event ev;

	if (nlh->nlmsg_type == GENL_ID_CTRL)
		return ctrl_event(m, nlh);
	if (m->gone || nlh->nlmsg_type != m->ev.family)
		return MNL_CB_OK;
	if (event_parse(nlh, &ev)) {
		fprintf(stderr, "%s: ignoring a malformed event\n", PROG_NAME);
		return MNL_CB_OK;
	}
	if (m->only && ev.instance != m->only)
		return MNL_CB_OK;
	if (m->timestamp)
		ev.has_time = !clock_gettime(CLOCK_REALTIME, &ev.time);
	if (m->json)
		event_print_json(stdout, &ev);
	else
		event_print(stdout, &ev);
	/* Readers follow through pipes and files: no block buffering. */
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "%s: cannot write events: %s\n", PROG_NAME,
			strerror(errno));
		return MNL_CB_ERROR;
	}
	if (m->exec && ev.cmd == COLO_CMD_DIVERGENCE_NTF)
		serve_request(m, &ev, false);
	return MNL_CB_OK;
}

static int read_events(struct monitor *m)
{
	ssize_t len;

	len = mnl_socket_recvfrom(m->ev.nl, m->ev.rxbuf, COLO_NL_RXBUF);
	if (len < 0) {
		if (errno == ENOBUFS) {
			fprintf(stderr,
				"%s: events were lost (receive buffer overrun); continuing\n",
				PROG_NAME);
			if (m->exec)
				resync(m, "after lost events");
			return 0;
		}
		if (errno == EINTR || errno == EAGAIN)
			return 0;
		fprintf(stderr, "%s: cannot read events: %s\n", PROG_NAME,
			strerror(errno));
		return -errno;
	}
	/* Notifications have sequence number 0 and come from the kernel. */
	if (mnl_cb_run(m->ev.rxbuf, len, 0, 0, event_cb, m) < 0)
		return -EIO;
	return 0;
}

/* Returns 1 to stop, 0 to go on. */
static int read_signals(struct monitor *m, int sfd)
{
	struct signalfd_siginfo si;
	int stop = 0;

	while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			reap_children(m);
		else
			stop = 1;
	}
	return stop;
}

static int parse_args(struct monitor *m, int argc, char *argv[])
{
	int i;

	for (i = 1; i < argc; i++) {
		if (arg_is_json(argv[i])) {
			m->json = true;
		} else if (!strcmp(argv[i], "-t") ||
			   !strcmp(argv[i], "--timestamp")) {
			m->timestamp = true;
		} else if (!strcmp(argv[i], "--instance")) {
			if (++i >= argc) {
				fprintf(stderr, "%s: monitor: --instance needs an instance ID\n",
					PROG_NAME);
				return -1;
			}
			if (arg_instance(argv[i], &m->only))
				return -1;
		} else if (!strcmp(argv[i], "--exec")) {
			if (++i >= argc) {
				fprintf(stderr, "%s: monitor: --exec needs a command\n",
					PROG_NAME);
				return -1;
			}
			m->exec = argv[i];
		} else if (!strncmp(argv[i], "--exec=", 7)) {
			m->exec = argv[i] + 7;
		} else {
			fprintf(stderr, "%s: monitor: unexpected argument \"%s\"\n",
				PROG_NAME, argv[i]);
			return -1;
		}
	}
	if (m->exec && !*m->exec) {
		fprintf(stderr, "%s: monitor: --exec needs a command\n", PROG_NAME);
		return -1;
	}
	return 0;
}

int monitor_main(int argc, char *argv[])
{
	struct monitor m = { .json = opt_json };
	struct pollfd pfd[2];
	sigset_t mask;
	int sfd = -1;
	int ret;

	if (argc == 2 && (arg_is_help(argv[1]) || !strcmp(argv[1], "help"))) {
		monitor_help(stdout);
		return EXIT_OK;
	}
	if (parse_args(&m, argc, argv)) {
		print_synopsis(stderr, monitor_synopsis);
		return EXIT_USAGE;
	}

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, &m.oldmask) < 0) {
		ret = -errno;
		goto out;
	}
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0) {
		ret = -errno;
		fprintf(stderr, "%s: signalfd: %s\n", PROG_NAME, strerror(-ret));
		goto out;
	}

	ret = colo_nl_open(&m.ev);
	if (ret)
		goto out;
	ret = colo_nl_subscribe(&m.ev);
	if (ret)
		goto out;
	colo_nl_subscribe_ctrl(&m.ev);
	if (m.exec) {
		ret = colo_nl_open(&m.req);
		if (ret)
			goto out;
		/*
		 * A request made while no helper listened (this one was
		 * starting, or restarting after it died) came as an event
		 * nobody received: serve it now that we are subscribed.
		 */
		resync(&m, "at start");
	}

	pfd[0] = (struct pollfd){ .fd = mnl_socket_get_fd(m.ev.nl), .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			fprintf(stderr, "%s: poll: %s\n", PROG_NAME, strerror(-ret));
			goto out;
		}
		if (pfd[1].revents && read_signals(&m, sfd))
			break;
		if (pfd[0].revents) {
			ret = read_events(&m);
			if (ret)
				goto out;
		}
	}
	ret = 0;
out:
	colo_nl_close(&m.req);
	colo_nl_close(&m.ev);
	if (sfd >= 0)
		close(sfd);
	free(m.children);
	return ret ? EXIT_ERROR : EXIT_OK;
}
