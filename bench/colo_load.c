// SPDX-License-Identifier: GPL-2.0-only
/*
 * colo_load: the traffic of `make bench`, in C because an emulated guest
 * makes Python the bottleneck of any stream it drives.
 *
 *   colo_load tcp-serve --port P
 *   colo_load tcp-get   --host H --port P --bytes N --dir down|up [--timeout S]
 *   colo_load udp-serve --port P [--mark-from SEQ] [--corrupt-from SEQ]
 *   colo_load udp-get   --host H --port P --size B --count N [--window W]
 *                       [--timeout S] [--rtt] [--first SEQ] [--resend-ms MS]
 *   colo_load udp-send  --host H --port P --size B --count N [--sport P]
 *   colo_load udp-recv  --port P --count N [--timeout S] [--stamp]
 *   colo_load stamp
 *   colo_load timecmd CMD [ARG...]
 *
 * tcp-serve answers each connection in a process of its own: the client
 * sends 'D' or 'U' and a 64-bit byte count (big-endian). For 'D' the server sends that many
 * bytes of the pattern (byte i = pattern(i), a function of i only), for
 * 'U' it reads as many and answers with the 8-byte count it read. Two
 * servers (the two guests) thus send the same bytes. tcp-get is the client:
 * it checks every byte of a download against the pattern and times the
 * transfer from connect() to the last byte (down) or to the server's answer
 * (up). A connection that makes no progress for TCP_IDLE_S seconds is
 * given up, so that one the guest cannot finish (the secondary guest of
 * the plain mode: the client acks the primary's bytes, which are ahead of
 * its own, so none of its acks is acceptable to it) neither blocks the
 * next connections nor lives on.
 *
 * udp-serve answers each request (a 32-bit sequence number and a 16-bit
 * size) with one datagram of that size: the sequence number, then the
 * pattern. --corrupt-from SEQ flips one byte of every answer to SEQ and
 * later ones; --mark-from SEQ prints the CLOCK_MONOTONIC time each answer
 * to SEQ and later ones was handed to sendto() ("sent SEQ NS") on stdout. udp-get keeps
 * W requests outstanding (a closed-loop stream: the comparator never holds
 * more than W answers of the flow) until N answers came; an answer that
 * does not come within 200 ms (--resend-ms) is asked for again (counted). --rtt records
 * each answer's round trip (meaningful with --window 1: ping-pong).
 *
 * udp-send sends N datagrams of the pattern as fast as the socket takes
 * them; udp-recv counts N datagrams and prints the CLOCK_MONOTONIC times of
 * the first and the last; with --stamp also each datagram's CLOCK_REALTIME
 * time as it is read ("recv NS", the clock of tcpdump -tt and coloctl
 * monitor -t). stamp copies stdin to stdout, each line prefixed
 * with its CLOCK_MONOTONIC arrival time in ns. timecmd runs CMD and prints
 * "start NS end NS rc RC" on stderr.
 *
 * Every result is one JSON object on stdout. Exit 0, or 1 on an error
 * (with a message on stderr).
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <linux/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PATTERN_LEN 65536
#define BUF_LEN 65536
#define UDP_MAX 65507

static unsigned char pattern[2 * PATTERN_LEN];

/* byte i of every stream: period PATTERN_LEN, not all zeros */
static void pattern_init(void)
{
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (unsigned char)((i % PATTERN_LEN) * 131 + ((i % PATTERN_LEN) >> 8));
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * The machine's busy CPU time in ms, all CPUs together (/proc/stat's first
 * line: user, nice, system, irq, softirq, steal; USER_HZ ticks), or -1.
 * Read around a transfer it tells whether the CPUs were the limit: busy
 * over elapsed times the number of CPUs.
 */
static long long cpu_busy_ms(void)
{
	unsigned long long v[8] = { 0 };
	long hz = sysconf(_SC_CLK_TCK);
	FILE *f = fopen("/proc/stat", "r");
	int n;

	if (!f)
		return -1;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu",
		   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n < 7 || hz <= 0)
		return -1;
	/* idle (v[3]) and iowait (v[4]) are not busy */
	return (long long)((v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) * 1000 / (unsigned long long)hz);
}

static void die(const char *what)
{
	fprintf(stderr, "colo_load: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void usage(void)
{
	fprintf(stderr, "usage: colo_load tcp-serve|tcp-get|udp-serve|udp-get|udp-send|udp-recv|"
		"stamp|timecmd ... (see the top of colo_load.c)\n");
	exit(2);
}

struct opts {
	const char *host;
	int port, sport;
	uint64_t bytes;
	int up;
	unsigned int size, window;
	uint64_t count, first;
	int64_t corrupt, mark;
	int timeout;
	int rtt;
	int stamp;
	int64_t resend_ns;
};

static void parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "host", 1, 0, 'h' }, { "port", 1, 0, 'p' }, { "bytes", 1, 0, 'b' },
		{ "dir", 1, 0, 'd' }, { "size", 1, 0, 's' }, { "count", 1, 0, 'n' },
		{ "window", 1, 0, 'w' }, { "timeout", 1, 0, 't' }, { "rtt", 0, 0, 'r' },
		{ "corrupt-from", 1, 0, 'c' }, { "mark-from", 1, 0, 'm' }, { "first", 1, 0, 'f' }, { "sport", 1, 0, 'S' },
		{ "resend-ms", 1, 0, 'R' }, { "stamp", 0, 0, 'T' },
		{ 0, 0, 0, 0 }
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->host = "127.0.0.1";
	o->window = 1;
	o->timeout = 60;
	o->corrupt = -1;
	o->mark = -1;
	o->resend_ns = 200000000LL;
	o->size = 64;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'h': o->host = optarg; break;
		case 'p': o->port = atoi(optarg); break;
		case 'S': o->sport = atoi(optarg); break;
		case 'R': o->resend_ns = strtoll(optarg, NULL, 0) * 1000000LL; break;
		case 'b': o->bytes = strtoull(optarg, NULL, 0); break;
		case 'd': o->up = !strcmp(optarg, "up"); break;
		case 's': o->size = (unsigned int)atoi(optarg); break;
		case 'n': o->count = strtoull(optarg, NULL, 0); break;
		case 'w': o->window = (unsigned int)atoi(optarg); break;
		case 't': o->timeout = atoi(optarg); break;
		case 'r': o->rtt = 1; break;
		case 'T': o->stamp = 1; break;
		case 'c': o->corrupt = strtoll(optarg, NULL, 0); break;
		case 'm': o->mark = strtoll(optarg, NULL, 0); break;
		case 'f': o->first = strtoull(optarg, NULL, 0); break;
		default: usage();
		}
	}
	if (o->size < 8 || o->size > UDP_MAX || !o->window)
		usage();
}

static struct sockaddr_in addr_of(const char *host, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };

	if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
		fprintf(stderr, "colo_load: bad IPv4 address %s\n", host);
		exit(2);
	}
	return a;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int read_all(int fd, void *buf, size_t len)
{
	unsigned char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ------------------------------------------------------------- TCP --- */

#define TCP_IDLE_S	30

/*
 * After a download: wait until the client has all of it (it closes when it
 * has), then print what limited this sender, from the kernel's own
 * accounting (TCP_INFO's chrono times, Linux 4.10 on): busy sending, held
 * back by the receiver's window, or by its send buffer; the rest of the
 * time it was waiting on itself (the application or the congestion
 * window). One line of JSON, matched to its client by port.
 */
static void tcp_sender_report(int fd, uint64_t sent)
{
	struct sockaddr_in peer;
	socklen_t plen = sizeof(peer);
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	unsigned char c;

	if (getpeername(fd, (struct sockaddr *)&peer, &plen))
		return;		/* gone already: nothing to match it by */
	shutdown(fd, SHUT_WR);
	while (read(fd, &c, 1) > 0)
		;
	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
		return;
	printf("{\"tool\": \"colo_load tcp-serve\", \"peer_port\": %u, \"sent\": %llu, "
	       "\"busy_us\": %llu, \"rwnd_limited_us\": %llu, \"sndbuf_limited_us\": %llu, "
	       "\"rtt_us\": %u, \"rttvar_us\": %u, \"cwnd\": %u, \"total_retrans\": %u}\n",
	       ntohs(peer.sin_port), (unsigned long long)sent,
	       (unsigned long long)ti.tcpi_busy_time,
	       (unsigned long long)ti.tcpi_rwnd_limited,
	       (unsigned long long)ti.tcpi_sndbuf_limited,
	       ti.tcpi_rtt, ti.tcpi_rttvar, ti.tcpi_snd_cwnd, ti.tcpi_total_retrans);
	fflush(stdout);
}

static void tcp_serve_one(int fd)
{
	struct timeval tv = { .tv_sec = TCP_IDLE_S };
	static unsigned char buf[BUF_LEN];
	unsigned char req[9];
	uint64_t n, done = 0, be;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (read_all(fd, req, sizeof(req)))
		return;
	memcpy(&be, req + 1, 8);
	n = be64toh(be);
	if (req[0] == 'D') {
		while (done < n) {
			size_t off = done % PATTERN_LEN;
			size_t len = PATTERN_LEN;

			if (len > n - done)
				len = (size_t)(n - done);
			if (write_all(fd, pattern + off, len))
				break;
			done += len;
		}
		tcp_sender_report(fd, done);
	} else if (req[0] == 'U') {
		while (done < n) {
			ssize_t r = read(fd, buf, sizeof(buf));

			if (r <= 0)
				break;
			done += (uint64_t)r;
		}
		be = htobe64(done);
		write_all(fd, &be, 8);
	}
}

static int tcp_serve(struct opts *o)
{
	struct sockaddr_in a = addr_of("0.0.0.0", o->port);
	int one = 1, ls;

	signal(SIGCHLD, SIG_IGN);	/* no zombies: nobody waits for them */

	ls = socket(AF_INET, SOCK_STREAM, 0);
	if (ls < 0)
		die("socket");
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 16))
		die("bind/listen");
	for (;;) {
		int fd = accept(ls, NULL, NULL);
		pid_t pid;

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			die("accept");
		}
		pid = fork();
		if (pid < 0)
			die("fork");
		if (!pid) {
			close(ls);
			tcp_serve_one(fd);
			close(fd);
			_exit(0);
		}
		close(fd);
	}
	return 0;
}

static int tcp_get(struct opts *o)
{
	struct sockaddr_in a = addr_of(o->host, o->port);
	static unsigned char buf[BUF_LEN];
	unsigned char req[9];
	uint64_t be = htobe64(o->bytes), done = 0, bad = 0;
	struct timeval tv = { .tv_sec = o->timeout };
	socklen_t alen = sizeof(a);
	int64_t stall_ns = 0;
	uint64_t stall_at = 0;
	long long busy0, busy1;
	int64_t t0, t1;
	int fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	busy0 = cpu_busy_ms();
	t0 = now_ns();
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)))
		die("connect");
	req[0] = o->up ? 'U' : 'D';
	memcpy(req + 1, &be, 8);
	if (write_all(fd, req, sizeof(req)))
		die("write request");
	if (!o->up) {
		int64_t last = now_ns();

		while (done < o->bytes) {
			ssize_t r = read(fd, buf, sizeof(buf));
			int64_t t = now_ns();

			if (r <= 0)
				break;
			/* the longest wait for data, and where in the stream */
			if (t - last > stall_ns) {
				stall_ns = t - last;
				stall_at = done;
			}
			last = t;
			if (memcmp(buf, pattern + done % PATTERN_LEN, (size_t)r))
				bad++;
			done += (uint64_t)r;
		}
	} else {
		while (done < o->bytes) {
			size_t len = PATTERN_LEN;

			if (len > o->bytes - done)
				len = (size_t)(o->bytes - done);
			if (write_all(fd, pattern + done % PATTERN_LEN, len))
				break;
			done += len;
		}
		shutdown(fd, SHUT_WR);
		if (read_all(fd, &be, 8))
			done = 0;
		else
			done = be64toh(be);
	}
	t1 = now_ns();
	busy1 = cpu_busy_ms();
	if (getsockname(fd, (struct sockaddr *)&a, &alen))
		a.sin_port = 0;
	close(fd);
	printf("{\"tool\": \"colo_load tcp-get\", \"dir\": \"%s\", \"bytes\": %llu, "
	       "\"expected\": %llu, \"bad_reads\": %llu, \"secs\": %.6f, \"mbit_s\": %.3f, "
	       "\"busy_cpu_ms\": %lld, \"cpus\": %ld, \"port\": %u, "
	       "\"longest_wait_ms\": %.1f, \"longest_wait_at\": %llu}\n",
	       o->up ? "up" : "down", (unsigned long long)done,
	       (unsigned long long)o->bytes, (unsigned long long)bad, (t1 - t0) / 1e9,
	       done * 8.0 / ((t1 - t0) / 1e3),
	       busy0 < 0 || busy1 < 0 ? -1 : busy1 - busy0, sysconf(_SC_NPROCESSORS_ONLN),
	       ntohs(a.sin_port), stall_ns / 1e6, (unsigned long long)stall_at);
	return done == o->bytes && !bad ? 0 : 1;
}

/* ------------------------------------------------------------- UDP --- */

struct udp_req {
	uint32_t seq;
	uint16_t size;
	uint16_t pad;
};

static void fill_answer(unsigned char *p, uint32_t seq, unsigned int size)
{
	uint32_t be = htonl(seq);

	memcpy(p, pattern + seq % 251, size);
	memcpy(p, &be, 4);
}

static int udp_serve(struct opts *o)
{
	struct sockaddr_in a = addr_of("0.0.0.0", o->port), peer;
	static unsigned char out[UDP_MAX];
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0)
		die("socket");
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)))
		die("bind");
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (;;) {
		struct udp_req rq;
		socklen_t pl = sizeof(peer);
		ssize_t n = recvfrom(fd, &rq, sizeof(rq), 0, (struct sockaddr *)&peer, &pl);
		unsigned int size;
		uint32_t seq;
		int64_t t;

		if (n != (ssize_t)sizeof(rq))
			continue;
		seq = ntohl(rq.seq);
		size = ntohs(rq.size);
		if (size < 8 || size > UDP_MAX)
			continue;
		fill_answer(out, seq, size);
		if (o->corrupt >= 0 && seq >= (uint64_t)o->corrupt)
			out[size - 1] ^= 0xff;
		/*
		 * Stamped before sendto(): the packet may cross the whole
		 * path, the comparator included, before sendto() returns.
		 */
		t = now_ns();
		sendto(fd, out, size, 0, (struct sockaddr *)&peer, pl);
		if (o->mark >= 0 && seq >= (uint64_t)o->mark)
			printf("sent %u %lld\n", seq, (long long)t);
	}
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int udp_get(struct opts *o)
{
	struct sockaddr_in a = addr_of(o->host, o->port);
	static unsigned char in[UDP_MAX], want[UDP_MAX];
	uint64_t n = o->count, next = 0, got = 0, dups = 0, resent = 0, bad = 0;
	int64_t *sent_at = calloc(n ? n : 1, sizeof(int64_t));
	int64_t *rtt = o->rtt ? calloc(n ? n : 1, sizeof(int64_t)) : NULL;
	unsigned char *have = calloc(n ? n : 1, 1);
	int64_t t0, deadline, last_progress;
	uint64_t oldest = 0;	/* lowest sequence not answered yet */
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0 || !sent_at || !have || (o->rtt && !rtt))
		die("setup");
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)))
		die("connect");
	t0 = now_ns();
	deadline = t0 + (int64_t)o->timeout * 1000000000LL;
	last_progress = t0;
	while (got < n) {
		int64_t t = now_ns();
		struct pollfd p = { .fd = fd, .events = POLLIN };

		/* keep W requests outstanding */
		while (next < n && next - got < o->window) {
			struct udp_req rq = { .seq = htonl((uint32_t)(o->first + next)),
					      .size = htons((uint16_t)o->size) };

			sent_at[next] = now_ns();
			if (send(fd, &rq, sizeof(rq), 0) < 0 && errno != ENOBUFS &&
			    errno != ECONNREFUSED)
				die("send");
			next++;
		}
		if (t > deadline)
			break;
		if (t - last_progress > o->resend_ns) {
			/* ask again for what is missing in the window */
			for (uint64_t i = oldest; i < next; i++) {
				struct udp_req rq = { .seq = htonl((uint32_t)(o->first + i)),
						      .size = htons((uint16_t)o->size) };

				if (have[i])
					continue;
				send(fd, &rq, sizeof(rq), 0);
				resent++;
			}
			last_progress = t;
		}
		if (poll(&p, 1, 50) <= 0)
			continue;
		for (;;) {
			ssize_t r = recv(fd, in, sizeof(in), MSG_DONTWAIT);
			uint32_t be;
			uint64_t i;

			if (r < 0)
				break;
			if (r < 4) {
				bad++;
				continue;
			}
			memcpy(&be, in, 4);
			i = (uint32_t)(ntohl(be) - o->first);
			if (i >= next) {
				bad++;
				continue;
			}
			if (have[i]) {
				dups++;
				continue;
			}
			fill_answer(want, (uint32_t)(o->first + i), o->size);
			if ((size_t)r != o->size || memcmp(in, want, o->size))
				bad++;
			have[i] = 1;
			got++;
			if (rtt)
				rtt[i] = now_ns() - sent_at[i];
			last_progress = now_ns();
			while (oldest < next && have[oldest])
				oldest++;
		}
	}
	int64_t t1 = now_ns();
	double secs = (t1 - t0) / 1e9;

	printf("{\"tool\": \"colo_load udp-get\", \"size\": %u, \"window\": %u, \"count\": %llu, "
	       "\"answers\": %llu, \"resent\": %llu, \"dups\": %llu, \"bad\": %llu, "
	       "\"secs\": %.6f, \"pps\": %.1f, \"mbit_s\": %.3f",
	       o->size, o->window, (unsigned long long)n, (unsigned long long)got,
	       (unsigned long long)resent, (unsigned long long)dups, (unsigned long long)bad,
	       secs, got / secs, got * o->size * 8.0 / secs / 1e6);
	if (rtt && got) {
		uint64_t k = 0;

		for (uint64_t i = 0; i < n; i++)
			if (have[i])
				rtt[k++] = rtt[i];
		qsort(rtt, k, sizeof(*rtt), cmp_i64);
		printf(", \"rtt_us\": {\"p50\": %.1f, \"p90\": %.1f, \"p99\": %.1f, \"max\": %.1f}",
		       rtt[k / 2] / 1e3, rtt[k * 9 / 10] / 1e3, rtt[k * 99 / 100] / 1e3,
		       rtt[k - 1] / 1e3);
	}
	printf("}\n");
	return got == n && !bad ? 0 : 1;
}

static int udp_send(struct opts *o)
{
	struct sockaddr_in a = addr_of(o->host, o->port);
	static unsigned char out[UDP_MAX];
	uint64_t sent = 0, err = 0;
	int64_t t0 = now_ns();
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0)
		die("socket");
	if (o->sport) {
		struct sockaddr_in s = addr_of("0.0.0.0", o->sport);

		if (bind(fd, (struct sockaddr *)&s, sizeof(s)))
			die("bind");
	}
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)))
		die("connect");
	for (uint64_t i = 0; i < o->count; i++) {
		fill_answer(out, (uint32_t)i, o->size);
		if (send(fd, out, o->size, 0) < 0) {
			if (errno == ENOBUFS || errno == EAGAIN) {
				usleep(100);
				i--;
				err++;
				continue;
			}
			die("send");
		}
		sent++;
	}
	printf("{\"tool\": \"colo_load udp-send\", \"sent\": %llu, \"retries\": %llu, \"secs\": %.6f}\n",
	       (unsigned long long)sent, (unsigned long long)err, (now_ns() - t0) / 1e9);
	return 0;
}

static int udp_recv(struct opts *o)
{
	struct sockaddr_in a = addr_of("0.0.0.0", o->port);
	static unsigned char in[UDP_MAX];
	int64_t first = 0, last = 0, deadline;
	uint64_t got = 0;
	int rcvbuf = 16 << 20;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)))
		die("bind");
	/* ready: the caller waits for this line before it releases traffic */
	printf("{\"listening\": %d}\n", o->port);
	fflush(stdout);
	deadline = now_ns() + (int64_t)o->timeout * 1000000000LL;
	while (got < o->count && now_ns() < deadline) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 100) <= 0)
			continue;
		while (recv(fd, in, sizeof(in), MSG_DONTWAIT) >= 0) {
			struct timespec rt;

			clock_gettime(CLOCK_REALTIME, &rt);
			last = now_ns();
			if (!got++)
				first = last;
			if (o->stamp) {
				printf("recv %lld\n", (long long)rt.tv_sec * 1000000000LL + rt.tv_nsec);
				fflush(stdout);
			}
		}
	}
	printf("{\"tool\": \"colo_load udp-recv\", \"count\": %llu, \"got\": %llu, "
	       "\"first_ns\": %lld, \"last_ns\": %lld}\n",
	       (unsigned long long)o->count, (unsigned long long)got,
	       (long long)first, (long long)last);
	return got >= o->count ? 0 : 1;
}

/* ----------------------------------------------------------- misc ---- */

static int stamp(void)
{
	char line[8192];

	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), stdin))
		printf("%lld %s", (long long)now_ns(), line);
	return 0;
}

static int timecmd(int argc, char **argv)
{
	int64_t t0, t1;
	int st = 0;
	pid_t pid;

	if (argc < 1)
		usage();
	t0 = now_ns();
	pid = fork();
	if (pid < 0)
		die("fork");
	if (!pid) {
		execvp(argv[0], argv);
		_exit(127);
	}
	waitpid(pid, &st, 0);
	t1 = now_ns();
	fprintf(stderr, "start %lld end %lld rc %d\n", (long long)t0, (long long)t1,
		WIFEXITED(st) ? WEXITSTATUS(st) : 128);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

int main(int argc, char **argv)
{
	struct opts o;
	const char *cmd;

	if (argc < 2)
		usage();
	cmd = argv[1];
	if (!strcmp(cmd, "stamp"))
		return stamp();
	if (!strcmp(cmd, "timecmd"))
		return timecmd(argc - 2, argv + 2);
	pattern_init();
	parse(argc - 1, argv + 1, &o);
	if (!strcmp(cmd, "tcp-serve"))
		return tcp_serve(&o);
	if (!strcmp(cmd, "tcp-get"))
		return tcp_get(&o);
	if (!strcmp(cmd, "udp-serve"))
		return udp_serve(&o);
	if (!strcmp(cmd, "udp-get"))
		return udp_get(&o);
	if (!strcmp(cmd, "udp-send"))
		return udp_send(&o);
	if (!strcmp(cmd, "udp-recv"))
		return udp_recv(&o);
	usage();
	return 2;
}
