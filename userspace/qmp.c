// SPDX-License-Identifier: GPL-2.0-only
/*
 * A QMP client over a UNIX stream socket; see qmp.h.
 *
 * QEMU sends one JSON object per line: the greeting {"QMP": ...}, replies
 * {"return": ...} or {"error": {"class", "desc"}} carrying the id of their
 * command, and events {"event", "data", "timestamp"}. Lines are split here
 * and each is parsed whole by jansson.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "parse.h"
#include "qmp.h"

/* What one line turned out to be. */
enum {
	LINE_OTHER,
	LINE_GREETING,
	LINE_REPLY,	/* the reply to the command waited for */
};

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static void dispatch_event(struct qmp *q, json_t *msg)
{
	json_t *ts = json_object_get(msg, "timestamp");
	double when = 0;

	if (json_is_object(ts))
		when = json_integer_value(json_object_get(ts, "seconds")) +
		       json_integer_value(json_object_get(ts, "microseconds")) / 1e6;
	if (q->on_event)
		q->on_event(q->arg,
			    json_string_value(json_object_get(msg, "event")),
			    json_object_get(msg, "data"), when);
}

/*
 * One line from QEMU. An event is dispatched; the reply with id @want (0:
 * none) is kept in *@reply (a new reference). Anything else is ignored:
 * replies to commands given up on, and unknown members, as the QMP
 * specification asks of clients.
 */
static int handle_line(struct qmp *q, const char *line, size_t len,
		       unsigned long want, json_t **reply)
{
	json_error_t jerr;
	json_t *msg, *id;
	int ret = LINE_OTHER;

	msg = json_loadb(line, len, 0, &jerr);
	if (!json_is_object(msg)) {
		fprintf(stderr, "%s: QMP %s: ignoring a line that is not a JSON object: %s\n",
			PROG_NAME, q->path, jerr.text);
		json_decref(msg);
		return LINE_OTHER;
	}
	if (json_object_get(msg, "event")) {
		dispatch_event(q, msg);
	} else if (json_object_get(msg, "QMP")) {
		ret = LINE_GREETING;
	} else if (want) {
		id = json_object_get(msg, "id");
		if (json_is_integer(id) &&
		    (unsigned long)json_integer_value(id) == want) {
			*reply = json_incref(msg);
			ret = LINE_REPLY;
		}
	}
	json_decref(msg);
	return ret;
}

/*
 * Handle the whole lines in the buffer, up to and including one of kind
 * @stop_at; the rest stays. Returns the kind of the last line handled.
 */
static int handle_lines(struct qmp *q, unsigned long want, json_t **reply,
			int stop_at)
{
	int kind = LINE_OTHER;
	char *nl;

	while ((nl = memchr(q->buf, '\n', q->len))) {
		size_t used = nl - q->buf + 1;

		kind = handle_line(q, q->buf, used, want, reply);
		memmove(q->buf, q->buf + used, q->len - used);
		q->len -= used;
		if (kind == stop_at)
			break;
	}
	return kind;
}

/*
 * Wait up to @timeout_ms (-1: no limit, 0: do not wait) for data, read it
 * and handle every whole line. Stops after the line @stop_at kind (a
 * greeting or the reply wanted), leaving later lines buffered. Returns
 * the kind of the last line handled, or a negative errno.
 */
static int pump(struct qmp *q, int timeout_ms, unsigned long want,
		json_t **reply, int stop_at)
{
	struct pollfd pfd = { .fd = q->fd, .events = POLLIN };
	ssize_t n;
	int kind;

	/* Whole lines left over from the last read come first. */
	kind = handle_lines(q, want, reply, stop_at);
	if (kind == stop_at)
		return kind;
	if (poll(&pfd, 1, timeout_ms) < 0)
		return errno == EINTR ? LINE_OTHER : -errno;
	if (!pfd.revents)
		return -ETIMEDOUT;
	if (q->cap - q->len < 4096) {
		size_t cap = q->cap ? 2 * q->cap : 65536;
		char *buf;

		if (cap > 16 << 20) {
			fprintf(stderr, "%s: QMP %s: a line longer than 16 MiB\n",
				PROG_NAME, q->path);
			return -EMSGSIZE;
		}
		buf = realloc(q->buf, cap);
		if (!buf)
			return -ENOMEM;
		q->buf = buf;
		q->cap = cap;
	}
	n = read(q->fd, q->buf + q->len, q->cap - q->len);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? LINE_OTHER : -errno;
	if (n == 0)
		return -ECONNRESET;
	q->len += n;
	return handle_lines(q, want, reply, stop_at);
}

static int write_all(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t n = write(fd, s, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		s += n;
		len -= n;
	}
	return 0;
}

int qmp_execute(struct qmp *q, const char *cmd, json_t *args, json_t **ret,
		char *err, size_t errlen)
{
	unsigned long id = ++q->next_id;
	long deadline = now_ms() + (q->timeout_ms ? q->timeout_ms : QMP_TIMEOUT_MS);
	json_t *req, *reply = NULL, *e;
	char *text;
	int r;

	if (ret)
		*ret = NULL;
	if (err && errlen)
		err[0] = '\0';
	req = json_pack("{s:s, s:I}", "execute", cmd, "id", (json_int_t)id);
	if (!req || (args && json_object_set_new(req, "arguments", args))) {
		json_decref(req);
		return -ENOMEM;
	}
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (!text)
		return -ENOMEM;
	r = write_all(q->fd, text, strlen(text));
	if (!r)
		r = write_all(q->fd, "\n", 1);
	free(text);
	if (r) {
		fprintf(stderr, "%s: QMP %s: cannot send %s: %s\n", PROG_NAME,
			q->path, cmd, strerror(-r));
		return r;
	}

	do {
		long left = deadline - now_ms();

		if (left < 0) {
			r = -ETIMEDOUT;
			break;
		}
		r = pump(q, left, id, &reply, LINE_REPLY);
	} while (r >= 0 && r != LINE_REPLY);
	/*
	 * Events that came in the same read as the reply are handed over
	 * now: the caller's poll() would not wake up for them.
	 */
	if (r >= 0)
		handle_lines(q, 0, NULL, -1);
	if (r < 0) {
		fprintf(stderr, "%s: QMP %s: no reply to %s: %s\n", PROG_NAME,
			q->path, cmd,
			r == -ETIMEDOUT ? "timed out" :
			r == -ECONNRESET ? "QEMU closed the connection" :
			strerror(-r));
		return r;
	}

	e = json_object_get(reply, "error");
	if (e) {
		const char *cls = json_string_value(json_object_get(e, "class"));
		const char *desc = json_string_value(json_object_get(e, "desc"));

		fprintf(stderr, "%s: QMP %s: %s: %s\n", PROG_NAME, q->path,
			cmd, desc ? desc : cls ? cls : "error");
		if (err && errlen)
			snprintf(err, errlen, "%s", desc ? desc : "");
		json_decref(reply);
		return -EREMOTEIO;
	}
	if (ret)
		*ret = json_incref(json_object_get(reply, "return"));
	json_decref(reply);
	return 0;
}

int qmp_read(struct qmp *q)
{
	int r = pump(q, 0, 0, NULL, -1);

	if (r == -ETIMEDOUT)
		return 0;
	return r < 0 ? r : 0;
}

int qmp_open(struct qmp *q, const char *path, qmp_event_fn on_event,
	     void *arg)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	long deadline;
	int r;

	*q = (struct qmp){ .fd = -1, .on_event = on_event, .arg = arg,
			   .path = path };
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "%s: QMP socket path too long: %s\n", PROG_NAME,
			path);
		return -ENAMETOOLONG;
	}
	strcpy(sun.sun_path, path);
	q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (q->fd < 0)
		return -errno;
	if (connect(q->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		r = -errno;
		fprintf(stderr, "%s: cannot connect to QEMU's QMP socket %s: %s (is QEMU running with -qmp unix:%s,server=on,wait=off?)\n",
			PROG_NAME, path, strerror(-r), path);
		goto err;
	}
	deadline = now_ms() + QMP_TIMEOUT_MS;
	do {
		long left = deadline - now_ms();

		r = left < 0 ? -ETIMEDOUT : pump(q, left, 0, NULL, LINE_GREETING);
	} while (r >= 0 && r != LINE_GREETING);
	if (r < 0) {
		fprintf(stderr, "%s: QMP %s: no greeting from QEMU: %s\n",
			PROG_NAME, path,
			r == -ECONNRESET ? "connection closed (another client connected?)" :
			strerror(-r));
		goto err;
	}
	r = qmp_execute(q, "qmp_capabilities", NULL, NULL, NULL, 0);
	if (r)
		goto err;
	return 0;
err:
	qmp_close(q);
	return r;
}

void qmp_close(struct qmp *q)
{
	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
	free(q->buf);
	q->buf = NULL;
	q->len = q->cap = 0;
}
