// SPDX-License-Identifier: GPL-2.0-only
/*
 * failnth.so: LD_PRELOAD shim that makes the Nth fault-injection point of a
 * command's netlink traffic fail, through the task's /proc/thread-self/
 * fail-nth (Documentation/fault-injection/fault-injection.rst), so that a
 * test can walk every allocation that one coloctl or iptables command makes
 * in the kernel: fail the 1st, the 2nd, ... until the command runs without
 * a failure injected.
 *
 * Only the kernel work done inside the command's netlink calls (send and
 * receive on AF_NETLINK sockets: genetlink and nf_tables requests are
 * processed in the sender's context, dumps in the receiver's) is counted:
 * the counter is armed just before such a call and disarmed after it, so
 * the command's exec, its libraries and its memory are left alone.
 *
 * Environment:
 *   FAILNTH=N          fail the Nth point (1-based); 0 or unset: count only
 *   FAILNTH_REPORT=F   at exit, write "injected" or "none POINTS LAST" to F
 *                      (POINTS: how many points the command went through,
 *                      LAST: how many of them came before its last request
 *                      was sent: the one that makes the change)
 *
 * The kernel decrements fail-nth at every point that passes the filters of
 * failslab and fail_page_alloc (ignore-gfp-wait and the like: the test
 * sets them), and fails the point at which it reaches 0.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int nth_fd = -1;
static unsigned long left;	/* points before the one to fail; 0: none */
static unsigned long points;	/* points seen so far */
static int injected;
static int used;		/* a netlink call was made */
static unsigned long last_send;	/* points before the last send */

static void nth_write(unsigned long n)
{
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%lu", n);

	if (pwrite(nth_fd, buf, len, 0) != len) {
		perror("failnth: write fail-nth");
		_exit(125);
	}
}

static unsigned long nth_read(void)
{
	char buf[32];
	ssize_t len = pread(nth_fd, buf, sizeof(buf) - 1, 0);

	if (len <= 0) {
		perror("failnth: read fail-nth");
		_exit(125);
	}
	buf[len] = '\0';
	return strtoul(buf, NULL, 10);
}

static int is_netlink(int fd)
{
	int domain;
	socklen_t len = sizeof(domain);

	return nth_fd >= 0 &&
	       getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 &&
	       domain == AF_NETLINK;
}

/*
 * Arm: fail-nth counts down from the point to fail, or, when that one has
 * passed (or none is asked for), from a number no command reaches, only to
 * count the points.
 */
#define COUNT_ONLY 1000000000UL

static void arm(void)
{
	used = 1;
	nth_write(left ? left : COUNT_ONLY);
}

static void disarm(void)
{
	int saved = errno;
	unsigned long now = nth_read();
	unsigned long base = left ? left : COUNT_ONLY;

	nth_write(0);
	if (left && now == 0) {
		/* the point asked for failed in this call */
		points += left;
		left = 0;
		injected = 1;
	} else {
		points += base - now;
		if (left)
			left = now;
	}
	errno = saved;
}

#define WRAP(ret, name, params, args, is_send)				\
ret name params								\
{									\
	static ret (*real) params;					\
	ret r;								\
									\
	if (!real)							\
		real = dlsym(RTLD_NEXT, #name);				\
	if (!is_netlink(fd))						\
		return real args;					\
	if (is_send)							\
		last_send = points;					\
	arm();								\
	r = real args;							\
	disarm();							\
	return r;							\
}

WRAP(ssize_t, sendto, (int fd, const void *buf, size_t len, int flags,
		       const struct sockaddr *addr, socklen_t alen),
     (fd, buf, len, flags, addr, alen), 1)
WRAP(ssize_t, sendmsg, (int fd, const struct msghdr *msg, int flags),
     (fd, msg, flags), 1)
WRAP(ssize_t, send, (int fd, const void *buf, size_t len, int flags),
     (fd, buf, len, flags), 1)
WRAP(ssize_t, recvfrom, (int fd, void *buf, size_t len, int flags,
			 struct sockaddr *addr, socklen_t *alen),
     (fd, buf, len, flags, addr, alen), 0)
WRAP(ssize_t, recvmsg, (int fd, struct msghdr *msg, int flags),
     (fd, msg, flags), 0)
WRAP(ssize_t, recv, (int fd, void *buf, size_t len, int flags),
     (fd, buf, len, flags), 0)

static void report(void)
{
	const char *path = getenv("FAILNTH_REPORT");
	FILE *f;

	/* only the process that talked netlink: not a wrapper (timeout) */
	if (!used || !path || !(f = fopen(path, "w")))
		return;
	if (injected)
		fprintf(f, "injected\n");
	else
		fprintf(f, "none %lu %lu\n", points, last_send);
	fclose(f);
}

__attribute__((constructor)) static void failnth_init(void)
{
	const char *n = getenv("FAILNTH");

	nth_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	if (nth_fd < 0) {
		perror("failnth: /proc/thread-self/fail-nth");
		_exit(125);
	}
	left = n ? strtoul(n, NULL, 10) : 0;
	atexit(report);
}
