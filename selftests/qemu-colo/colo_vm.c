// SPDX-License-Identifier: GPL-2.0-only
/*
 * colo_vm: the service of the QEMU COLO test's guests, and its client.
 *
 * Built static on the host: the same binary runs as the guests' service
 * (in a busybox initramfs, Debian's kernel, under QEMU COLO) and as the
 * client in the test guest.
 *
 *   colo_vm serve                   TCP 8080: "GET <bytes> <seed>\n" is
 *                                   answered with pattern(bytes, seed);
 *                                   UDP 7: echo, as "echo <data>", or as
 *                                   "ECHO <data>" once diverged;
 *                                   UDP 9: "diverge" makes this guest's
 *                                   echoes differ from now on
 *   colo_vm neigh DEV ADDR MAC      a permanent neighbour entry (busybox's
 *                                   ip cannot make one)
 *   colo_vm get HOST PORT BYTES SEED [PROGRESS_FILE]
 *                                   download and check pattern(BYTES, SEED);
 *                                   prints one JSON line; exit 0 only when
 *                                   every byte arrived and matched
 *   colo_vm udp HOST PORT MESSAGE [TIMEOUT_MS]
 *                                   send one datagram, print the answer
 *
 * The pattern is xorshift64* from the seed, 8 bytes a step, little endian:
 * no short period, so data that slipped cannot match by accident.
 * Only the secondary guest receives "diverge" (the test sends it on the
 * secondary host, not through the primary's mirror), and a checkpoint makes
 * the secondary a copy of the primary again, flag included.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/wait.h>

#define TCP_PORT	8080
#define ECHO_PORT	7
#define CTL_PORT	9

struct pattern {
	uint64_t x;
	unsigned char word[8];
	unsigned int used;	/* bytes of @word handed out */
};

static void pattern_init(struct pattern *p, uint64_t seed)
{
	p->x = seed * 0x9E3779B97F4A7C15ULL + 1;
	p->used = 8;
}

static void pattern_fill(struct pattern *p, unsigned char *buf, size_t n)
{
	while (n--) {
		if (p->used == 8) {
			uint64_t v;
			int i;

			p->x ^= p->x >> 12;
			p->x ^= p->x << 25;
			p->x ^= p->x >> 27;
			v = p->x * 0x2545F4914F6CDD1DULL;
			for (i = 0; i < 8; i++)
				p->word[i] = v >> (8 * i);
			p->used = 0;
		}
		*buf++ = p->word[p->used++];
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int listen_on(int type, int port)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6,
				  .sin6_port = htons(port) };
	int fd, zero = 0, one = 1;

	fd = socket(AF_INET6, type, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 16) < 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int write_all(int fd, const unsigned char *buf, size_t n)
{
	while (n) {
		ssize_t w = write(fd, buf, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += w;
		n -= w;
	}
	return 0;
}

/* One TCP client, in a child of its own. */
static void serve_tcp(int c)
{
	unsigned long long n, seed;
	static unsigned char buf[65536];
	char line[128];
	size_t len = 0;
	struct pattern p;

	while (len < sizeof(line) - 1) {
		ssize_t r = read(c, line + len, 1);

		if (r <= 0)
			_exit(1);
		if (line[len++] == '\n')
			break;
	}
	line[len] = '\0';
	if (sscanf(line, "GET %llu %llu", &n, &seed) != 2)
		_exit(1);
	pattern_init(&p, seed);
	while (n) {
		size_t k = n < sizeof(buf) ? n : sizeof(buf);

		pattern_fill(&p, buf, k);
		if (write_all(c, buf, k))
			_exit(1);
		n -= k;
	}
	_exit(0);
}

static int cmd_serve(void)
{
	int tfd = listen_on(SOCK_STREAM, TCP_PORT);
	int efd = listen_on(SOCK_DGRAM, ECHO_PORT);
	int cfd = listen_on(SOCK_DGRAM, CTL_PORT);
	struct pollfd pfd[3];
	int diverged = 0;

	if (tfd < 0 || efd < 0 || cfd < 0) {
		perror("colo_vm serve");
		return 1;
	}
	signal(SIGCHLD, SIG_IGN);	/* children reap themselves */
	pfd[0] = (struct pollfd){ .fd = tfd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = efd, .events = POLLIN };
	pfd[2] = (struct pollfd){ .fd = cfd, .events = POLLIN };
	printf("colo_vm: serving tcp %d, udp echo %d, udp control %d\n",
	       TCP_PORT, ECHO_PORT, CTL_PORT);
	fflush(stdout);
	for (;;) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		char in[1500], out[1600];
		ssize_t n;

		if (poll(pfd, 3, -1) < 0)
			continue;
		if (pfd[0].revents) {
			int c = accept(tfd, NULL, NULL);

			if (c >= 0) {
				if (fork() == 0)
					serve_tcp(c);
				close(c);
			}
		}
		if (pfd[1].revents) {
			n = recvfrom(efd, in, sizeof(in) - 1, 0,
				     (struct sockaddr *)&peer, &plen);
			if (n >= 0) {
				in[n] = '\0';
				n = snprintf(out, sizeof(out), "%s %s",
					     diverged ? "ECHO" : "echo", in);
				sendto(efd, out, n, 0, (struct sockaddr *)&peer,
				       plen);
			}
		}
		if (pfd[2].revents) {
			n = recv(cfd, in, sizeof(in) - 1, 0);
			if (n >= 7 && !memcmp(in, "diverge", 7))
				diverged = 1;
		}
	}
}

static int rta_put(struct nlmsghdr *h, int type, const void *data, int len)
{
	struct rtattr *rta = (void *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));

	rta->rta_type = type;
	rta->rta_len = RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(rta->rta_len);
	return 0;
}

static int cmd_neigh(const char *dev, const char *addr, const char *mac)
{
	struct {
		struct nlmsghdr h;
		struct ndmsg nd;
		char attrs[64];
	} req = {
		.h = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct ndmsg)),
		       .nlmsg_type = RTM_NEWNEIGH,
		       .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK |
				      NLM_F_CREATE | NLM_F_REPLACE },
		.nd = { .ndm_state = NUD_PERMANENT },
	};
	unsigned char a[16], ll[6];
	char ack[512];
	struct nlmsgerr *err;
	int fd, alen;

	req.nd.ndm_ifindex = if_nametoindex(dev);
	if (inet_pton(AF_INET, addr, a) == 1) {
		req.nd.ndm_family = AF_INET;
		alen = 4;
	} else if (inet_pton(AF_INET6, addr, a) == 1) {
		req.nd.ndm_family = AF_INET6;
		alen = 16;
	} else {
		fprintf(stderr, "colo_vm neigh: bad address %s\n", addr);
		return 2;
	}
	if (!req.nd.ndm_ifindex ||
	    sscanf(mac, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &ll[0], &ll[1],
		   &ll[2], &ll[3], &ll[4], &ll[5]) != 6) {
		fprintf(stderr, "colo_vm neigh: bad device or MAC\n");
		return 2;
	}
	rta_put(&req.h, NDA_DST, a, alen);
	rta_put(&req.h, NDA_LLADDR, ll, 6);
	fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	if (fd < 0 || send(fd, &req, req.h.nlmsg_len, 0) < 0 ||
	    recv(fd, ack, sizeof(ack), 0) < (ssize_t)NLMSG_LENGTH(sizeof(*err))) {
		perror("colo_vm neigh");
		return 1;
	}
	err = NLMSG_DATA((struct nlmsghdr *)ack);
	if (err->error) {
		fprintf(stderr, "colo_vm neigh: %s\n", strerror(-err->error));
		return 1;
	}
	return 0;
}

/* HOST is numeric (IPv4 or IPv6): no resolver in a static binary. */
static int connect_to(const char *host, const char *port, int type,
		      int timeout_ms)
{
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	struct sockaddr_storage ss = {};
	struct sockaddr_in *a4 = (void *)&ss;
	struct sockaddr_in6 *a6 = (void *)&ss;
	socklen_t len;
	int fd;

	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(atoi(port));
		len = sizeof(*a4);
	} else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(atoi(port));
		len = sizeof(*a6);
	} else {
		errno = EINVAL;
		return -1;
	}
	fd = socket(ss.ss_family, type, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void progress(const char *path, unsigned long long got)
{
	char tmp[4096];
	FILE *f;

	if (!path)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "%llu\n", got);
	fclose(f);
	rename(tmp, path);
}

static int cmd_get(const char *host, const char *port, const char *bytes,
		   const char *seedstr, const char *progress_file)
{
	unsigned long long n = strtoull(bytes, NULL, 0);
	unsigned long long seed = strtoull(seedstr, NULL, 0);
	unsigned long long got = 0, next_report = 0;
	long long first_diff = -1;
	static unsigned char buf[65536], want[65536];
	double t0 = now_s();
	struct pattern p;
	char req[96];
	int fd;

	fd = connect_to(host, port, SOCK_STREAM, 60000);
	if (fd < 0) {
		printf("{\"bytes\":0,\"expected\":%llu,\"ok\":false,\"error\":\"cannot connect: %s\"}\n",
		       n, strerror(errno));
		return 1;
	}
	snprintf(req, sizeof(req), "GET %llu %llu\n", n, seed);
	if (write_all(fd, (unsigned char *)req, strlen(req)))
		return 1;
	pattern_init(&p, seed);
	progress(progress_file, 0);
	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		pattern_fill(&p, want, r);
		if (first_diff < 0) {
			ssize_t i;

			for (i = 0; i < r; i++)
				if (buf[i] != want[i]) {
					first_diff = got + i;
					break;
				}
		}
		got += r;
		if (got >= next_report) {
			progress(progress_file, got);
			next_report = got + (1 << 20);
		}
	}
	progress(progress_file, got);
	printf("{\"bytes\":%llu,\"expected\":%llu,\"ok\":%s,\"first_difference\":%lld,\"seconds\":%.3f%s}\n",
	       got, n, got == n && first_diff < 0 ? "true" : "false",
	       first_diff, now_s() - t0,
	       got < n ? ",\"error\":\"connection ended early or timed out\"" : "");
	return got == n && first_diff < 0 ? 0 : 1;
}

static int cmd_udp(const char *host, const char *port, const char *msg,
		   int timeout_ms)
{
	char buf[1600];
	ssize_t n;
	int fd;

	fd = connect_to(host, port, SOCK_DGRAM, timeout_ms);
	if (fd < 0 || send(fd, msg, strlen(msg), 0) < 0) {
		perror("colo_vm udp");
		return 1;
	}
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	if (n < 0) {
		fprintf(stderr, "colo_vm udp: no answer within %d ms\n",
			timeout_ms);
		return 1;
	}
	buf[n] = '\0';
	printf("%s\n", buf);
	return 0;
}

int main(int argc, char *argv[])
{
	if (argc == 2 && !strcmp(argv[1], "serve"))
		return cmd_serve();
	if (argc == 5 && !strcmp(argv[1], "neigh"))
		return cmd_neigh(argv[2], argv[3], argv[4]);
	if ((argc == 6 || argc == 7) && !strcmp(argv[1], "get"))
		return cmd_get(argv[2], argv[3], argv[4], argv[5],
			       argc == 7 ? argv[6] : NULL);
	if ((argc == 5 || argc == 6) && !strcmp(argv[1], "udp"))
		return cmd_udp(argv[2], argv[3], argv[4],
			       argc == 6 ? atoi(argv[5]) : 2000);
	fprintf(stderr,
		"usage: colo_vm serve\n"
		"       colo_vm neigh DEV ADDR MAC\n"
		"       colo_vm get HOST PORT BYTES SEED [PROGRESS_FILE]\n"
		"       colo_vm udp HOST PORT MESSAGE [TIMEOUT_MS]\n");
	return 2;
}
