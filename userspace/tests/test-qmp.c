// SPDX-License-Identifier: GPL-2.0-only
/*
 * The QMP client (qmp.c) against a scripted peer on a UNIX socket: what a
 * QEMU may send that a single request/reply exchange does not show. Events
 * interleaved with a reply, a stale reply, a reply split across writes, an
 * error, an unsolicited event, a command that gets no answer, and QEMU
 * going away. (make check-qemu-colo runs it against real QEMUs.)
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "../qmp.h"
#include "tap.h"

const char *PROG_NAME = "coloctl";

static char events[256];
static double stop_when;

static void on_event(void *arg, const char *event, json_t *data, double when)
{
	(void)arg;
	if (!strcmp(event, "STOP"))
		stop_when = when;
	strncat(events, event, sizeof(events) - strlen(events) - 2);
	if (data && json_string_value(json_object_get(data, "reason"))) {
		strncat(events, ":", sizeof(events) - strlen(events) - 2);
		strncat(events, json_string_value(json_object_get(data, "reason")),
			sizeof(events) - strlen(events) - 2);
	}
	strcat(events, ",");
}

static void say(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		_exit(3);
}

/* Read one request line; 0 at EOF. */
static int hear(int fd, char *line, size_t len)
{
	size_t n = 0;

	while (n < len - 1 && read(fd, line + n, 1) == 1)
		if (line[n++] == '\n')
			break;
	line[n] = '\0';
	return n;
}

/* The peer: one scripted QEMU session. */
static void __attribute__((noreturn)) peer(int lfd)
{
	char line[512];
	int fd = accept(lfd, NULL, NULL);

	if (fd < 0)
		_exit(2);
	say(fd, "{\"QMP\": {\"version\": {}, \"capabilities\": []}}\r\n");
	if (!hear(fd, line, sizeof(line)) || !strstr(line, "qmp_capabilities"))
		_exit(4);
	say(fd, "{\"return\": {}, \"id\": 1}\r\n");

	hear(fd, line, sizeof(line));		/* query-status, id 2 */
	say(fd, "{\"timestamp\": {\"seconds\": 10, \"microseconds\": 500000}, \"event\": \"STOP\"}\r\n"
		"{\"timestamp\": {\"seconds\": 10, \"microseconds\": 600000}, \"event\": \"RESUME\"}\r\n"
		"{\"return\": {\"status\": \"stale\"}, \"id\": 99}\r\n"
		"{\"return\": {\"status\": \"run");
	usleep(50000);
	say(fd, "ning\"}, \"id\": 2}\r\n");

	hear(fd, line, sizeof(line));		/* no-such-command, id 3 */
	/* an event right behind the reply, in the same write */
	say(fd, "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command no-such-command has not been found\"}, \"id\": 3}\r\n"
		"{\"timestamp\": {\"seconds\": 11, \"microseconds\": 0}, \"event\": \"COLO_EXIT\", \"data\": {\"mode\": \"primary\", \"reason\": \"error\"}}\r\n");

	hear(fd, line, sizeof(line));		/* slow, id 4: no answer */
	usleep(400000);
	close(fd);
	_exit(0);
}

int main(void)
{
	char dir[] = "/tmp/test-qmp.XXXXXX", path[64], err[128];
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct capture cap;
	struct qmp q;
	json_t *ret;
	char *text;
	int lfd, r, status;
	pid_t pid;

	if (!mkdtemp(dir))
		return 2;
	snprintf(path, sizeof(path), "%s/qmp", dir);
	strcpy(sun.sun_path, path);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) ||
	    listen(lfd, 1))
		return 2;
	pid = fork();
	if (pid == 0)
		peer(lfd);
	close(lfd);

	r = qmp_open(&q, path, on_event, NULL);
	is_int(r, 0, "greeting and capabilities negotiation");

	r = qmp_execute(&q, "query-status", NULL, &ret, NULL, 0);
	is_int(r, 0, "a command whose reply comes after events and a stale reply");
	text = ret ? json_dumps(ret, JSON_COMPACT) : NULL;
	is_str(text, "{\"status\":\"running\"}",
	       "its own reply, reassembled from two writes, skipping the stale one");
	free(text);
	json_decref(ret);
	is_str(events, "STOP,RESUME,", "the events before it were handed over first, in order");
	ok(stop_when > 10.49 && stop_when < 10.51, "an event's timestamp in seconds");
	if (!(stop_when > 10.49 && stop_when < 10.51))
		printf("#   seen %f\n", stop_when);

	events[0] = '\0';
	capture_start(&cap, 2);
	r = qmp_execute(&q, "no-such-command", NULL, NULL, err, sizeof(err));
	text = capture_end(&cap);
	is_int(r, -EREMOTEIO, "a QMP error is -EREMOTEIO");
	is_str(err, "The command no-such-command has not been found",
	       "with QEMU's description for the caller");
	ok(strstr(text, "coloctl: QMP ") &&
	   strstr(text, "no-such-command: The command no-such-command has not been found"),
	   "and printed with the command's name");
	free(text);

	/*
	 * The event right behind the reply: handed over with it when both
	 * came in one read (the caller's poll() would not see it again),
	 * else on the next read.
	 */
	while (!strstr(events, "COLO_EXIT")) {
		struct pollfd pfd = { .fd = q.fd, .events = POLLIN };

		if (poll(&pfd, 1, 5000) <= 0 || qmp_read(&q))
			break;
	}
	is_str(events, "COLO_EXIT:error,",
	       "an event right behind a reply is not left in the buffer, and has its data");

	q.timeout_ms = 200;
	capture_start(&cap, 2);
	r = qmp_execute(&q, "slow", NULL, NULL, NULL, 0);
	text = capture_end(&cap);
	is_int(r, -ETIMEDOUT, "a command without an answer times out");
	ok(strstr(text, "no reply to slow: timed out") != NULL, "and says so");
	free(text);

	for (r = 0; r == 0;) {
		struct pollfd pfd = { .fd = q.fd, .events = POLLIN };

		if (poll(&pfd, 1, 5000) <= 0)
			break;
		r = qmp_read(&q);
	}
	is_int(r, -ECONNRESET, "QEMU closing the socket is -ECONNRESET");

	qmp_close(&q);
	waitpid(pid, &status, 0);
	is_int(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0,
	       "the peer saw every request it expected");
	unlink(path);
	rmdir(dir);
	printf("1..%d\n", tap_count);
	return tap_failed ? 1 : 0;
}
