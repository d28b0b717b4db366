/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A QMP client (QEMU Machine Protocol, qemu/docs/interop/qmp-spec) over a
 * UNIX stream socket, with jansson for the JSON: the greeting, capability
 * negotiation, commands with ids, and asynchronous events.
 *
 * Events arriving while a command waits for its reply, or with it, are
 * handed to the event callback in order before the command returns; the
 * callback must not issue QMP commands itself.
 */
#ifndef COLOCTL_QMP_H
#define COLOCTL_QMP_H

#include <stddef.h>
#include <jansson.h>

/*
 * @event: its name ("STOP", "RESUME", "COLO_EXIT", ...); @data: its "data"
 * member or NULL (borrowed); @when: its timestamp in seconds (QEMU's host
 * clock), 0 if it carries none.
 */
typedef void (*qmp_event_fn)(void *arg, const char *event, json_t *data,
			     double when);

struct qmp {
	int fd;
	char *buf;		/* bytes received, not yet a whole line */
	size_t len, cap;
	unsigned long next_id;
	int timeout_ms;		/* for a command's reply */
	qmp_event_fn on_event;
	void *arg;
	const char *path;	/* for messages */
};

/* How long a command may take to answer, unless qmp->timeout_ms is set. */
#define QMP_TIMEOUT_MS	10000

/*
 * Connect to the QMP server at @path, read its greeting and leave
 * capabilities negotiation mode. Prints its own message on failure.
 * Returns 0 or a negative errno.
 */
int qmp_open(struct qmp *q, const char *path, qmp_event_fn on_event,
	     void *arg);
void qmp_close(struct qmp *q);

/*
 * Run @cmd with @args (a JSON object, stolen; NULL for none). On success
 * *@ret (if not NULL) holds a new reference to the "return" member. A QMP
 * error is printed ("QMP x-colo-lost-heartbeat: GenericError: ...") and
 * gives -EREMOTEIO, with the error's description in @err (if not NULL,
 * @errlen bytes). Returns 0 or a negative errno (-ETIMEDOUT, -ECONNRESET).
 */
int qmp_execute(struct qmp *q, const char *cmd, json_t *args, json_t **ret,
		char *err, size_t errlen);

/*
 * The socket is readable: read what is there and dispatch the events.
 * Returns 0, or -ECONNRESET when QEMU closed the connection, or another
 * negative errno.
 */
int qmp_read(struct qmp *q);

#endif
