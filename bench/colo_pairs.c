// SPDX-License-Identifier: GPL-2.0-only
/*
 * colo_pairs: feed a comparator the same primary/secondary frame pairs and
 * measure how many pairs per second it releases and what CPU that costs.
 *
 *   colo_pairs qemu   --pri SOCK --sec SOCK --out SOCK [--qemu-pid PID] COMMON
 *   colo_pairs kernel --pri-ns NS --pri-dev DEV --sec-ns NS --sec-dev DEV
 *                     --out-ns NS [--out-port P] COMMON
 *   COMMON: --size B --count N [--window W] [--warmup N] [--timeout S]
 *           [--flows F] [--depth D]
 *
 * Pair i is two identical Ethernet frames: an IPv4 UDP datagram of B bytes
 * of payload (the 32-bit pair number, then a fixed pattern) from the
 * guest, 10.0.0.2:5000, to the client, 10.0.1.2:6000, to the gateway's MAC
 * (selftests/lib/topology.sh's addresses). The first copy goes to the
 * comparator's primary input, the second to its secondary input, and at
 * most W pairs are outstanding (sent, not yet released), so the
 * comparator's queues stay short (QEMU's colo-compare pairs UDP by a
 * linear search of the secondary queue) and nothing is dropped for a full
 * queue.
 *
 * --flows F spreads the pairs over F UDP flows, round robin (pair i in flow
 * i mod F): flow f is source port 1024 + (f + 3976) mod 64512 (flow 0 is
 * port 5000, as with one flow) to the client's port OUT-PORT + (f + 3976)
 * / 64512, so up to 500000 flows and one receiving socket per client port.
 * --depth D holds D primary copies per flow when a secondary copy comes:
 * the primary copies run (D - 1) x F pairs ahead of the secondary copies,
 * so each flow's primary queue holds D - 1 between pairs; the copies ahead
 * at the end are matched by their secondary copies, unmeasured.
 *
 * qemu: QEMU's colo-compare (-object colo-compare,primary_in=...,
 * secondary_in=...,outdev=...) behind three `-chardev socket` listening on
 * unix sockets, vnet_hdr off: each frame is a 4-byte big-endian length,
 * then the frame (net/colo-compare.c, net_fill_rstate()); colo-compare
 * releases a pair's primary frame to outdev in the same framing.
 *
 * kernel: xt_COLO in network namespaces: the primary copy is sent with a
 * packet socket on PRI-DEV in PRI-NS (the primary guest's device, so it
 * arrives at the primary host's `--primary` rule), the secondary copy on
 * SEC-DEV in SEC-NS (the secondary host's end of the cable, so it arrives
 * at the `--secondary` rule); a released frame is routed to the client,
 * where a UDP socket in OUT-NS receives it.
 *
 * The first --warmup pairs (default W) are not measured, and up to W pairs
 * after the last measured one are sent but not waited for. Over the measured
 * pairs: wall time, the CPU time of the whole machine (the wall time of
 * every online CPU less their idle and iowait time in /proc/stat: this
 * process included), this process's own (getrusage)
 * and, with --qemu-pid, the QEMU process's (/proc/PID/stat, all threads).
 * When nothing is released for a second, the pairs outstanding are counted
 * as lost (\"lost\", \"stalls\") and feeding goes on.
 * One JSON object on stdout. Exit 0 when as many pairs were released as
 * were asked for.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define FRAME_MAX 1514

static const unsigned char GWMAC[6] = { 0x02, 0xc0, 0x10, 0x00, 0x00, 0x01 };
static const unsigned char GUESTMAC[6] = { 0x02, 0xc0, 0x10, 0x00, 0x00, 0x02 };

static void die(const char *what)
{
	fprintf(stderr, "colo_pairs: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static uint16_t csum(const void *p, size_t len)
{
	const unsigned char *b = p;
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		s += (uint32_t)(b[len - 1] << 8);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* the ports of flow @flow (--flows): flow 0 is 5000 to OUT_PORT */
#define PORT_SPAN 64512
static unsigned int nflows = 1, out_port0 = 6000;

static void flow_ports(uint64_t flow, unsigned int *sport, unsigned int *dport)
{
	uint64_t k = flow + (5000 - 1024);

	*sport = 1024 + (unsigned int)(k % PORT_SPAN);
	*dport = out_port0 + (unsigned int)(k / PORT_SPAN);
}

/* the frame of pair i, in flow i mod nflows; returns its length */
static size_t frame(unsigned char *f, uint32_t i, unsigned int size)
{
	unsigned int sport, dport;
	unsigned char *ip = f + 14, *udp = ip + 20, *pl = udp + 8;
	size_t iplen = 20 + 8 + size;
	uint16_t c;
	uint32_t be = htonl(i);

	flow_ports(i % nflows, &sport, &dport);
	memcpy(f, GWMAC, 6);
	memcpy(f + 6, GUESTMAC, 6);
	f[12] = 0x08;
	f[13] = 0x00;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[2] = (unsigned char)(iplen >> 8);
	ip[3] = (unsigned char)iplen;
	ip[4] = (unsigned char)(i >> 8);
	ip[5] = (unsigned char)i;
	ip[6] = 0x40;	/* DF */
	ip[8] = 64;
	ip[9] = IPPROTO_UDP;
	inet_pton(AF_INET, "10.0.0.2", ip + 12);
	inet_pton(AF_INET, "10.0.1.2", ip + 16);
	c = htons(csum(ip, 20));
	memcpy(ip + 10, &c, 2);
	udp[0] = (unsigned char)(sport >> 8);
	udp[1] = (unsigned char)sport;
	udp[2] = (unsigned char)(dport >> 8);
	udp[3] = (unsigned char)dport;
	udp[4] = (unsigned char)((8 + size) >> 8);
	udp[5] = (unsigned char)(8 + size);
	udp[6] = udp[7] = 0;	/* no checksum (IPv4 allows it) */
	for (unsigned int k = 0; k < size; k++)
		pl[k] = (unsigned char)(k * 7 + 1);
	if (size >= 4)
		memcpy(pl, &be, 4);
	return 14 + iplen;
}

/*
 * Idle time of all CPUs, in seconds: /proc/stat's idle and iowait, which
 * the kernel takes from its precise idle accounting (get_cpu_idle_time_us)
 * where it has it, unlike the user and system fields, which are sampled at
 * the tick (and an emulated guest under load misses ticks).
 */
static double machine_idle_s(void)
{
	unsigned long long v[5] = { 0 };
	FILE *f = fopen("/proc/stat", "r");

	if (!f)
		return -1;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4]) != 5) {
		fclose(f);
		return -1;
	}
	fclose(f);
	return (double)(v[3] + v[4]) / (double)sysconf(_SC_CLK_TCK);
}

static double proc_cpu_s(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	FILE *f;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* ------------------------------------------------------ endpoints --- */

#define OUT_MAX 8

struct feeder {
	int qemu;
	int pri, sec, out;
	int outs[OUT_MAX], nout;	/* kernel: one UDP socket per client port */
	struct sockaddr_ll pri_ll, sec_ll;
	/* qemu: the outdev stream, reassembled */
	unsigned char ibuf[1 << 16];
	size_t ilen;
};

static int unix_connect(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (fd < 0)
		die("socket");
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	for (int i = 0; i < 200; i++) {
		if (!connect(fd, (struct sockaddr *)&a, sizeof(a)))
			return fd;
		usleep(50000);
	}
	die(path);
	return -1;
}

/* a socket created in network namespace NS (by name, /run/netns) */
static int socket_in(const char *ns, int domain, int type, int proto)
{
	char path[256];
	int self, nsfd, fd;

	self = open("/proc/self/ns/net", O_RDONLY);
	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	nsfd = open(path, O_RDONLY);
	if (self < 0 || nsfd < 0)
		die(path);
	if (setns(nsfd, CLONE_NEWNET))
		die("setns");
	fd = socket(domain, type, proto);
	if (fd < 0)
		die("socket");
	if (setns(self, CLONE_NEWNET))
		die("setns back");
	close(nsfd);
	close(self);
	return fd;
}

static int ifindex_in(const char *ns, const char *dev)
{
	int fd = socket_in(ns, AF_INET, SOCK_DGRAM, 0);
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	if (ioctl(fd, SIOCGIFINDEX, &ifr))
		die(dev);
	close(fd);
	return ifr.ifr_ifindex;
}

static void packet_endpoint(const char *ns, const char *dev, int *fd, struct sockaddr_ll *ll)
{
	int sndbuf = 4 << 20;

	*fd = socket_in(ns, AF_PACKET, SOCK_RAW, 0);	/* protocol 0: receives nothing */
	setsockopt(*fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf));
	memset(ll, 0, sizeof(*ll));
	ll->sll_family = AF_PACKET;
	ll->sll_protocol = htons(ETH_P_IP);
	ll->sll_ifindex = ifindex_in(ns, dev);
	ll->sll_halen = 6;
	memcpy(ll->sll_addr, GWMAC, 6);
}

static void send_one(struct feeder *fd, int secondary, const unsigned char *f, size_t len)
{
	if (fd->qemu) {
		uint32_t be = htonl((uint32_t)len);
		unsigned char buf[4 + FRAME_MAX];
		int s = secondary ? fd->sec : fd->pri;
		size_t off = 0;

		memcpy(buf, &be, 4);
		memcpy(buf + 4, f, len);
		while (off < len + 4) {
			ssize_t n = write(s, buf + off, len + 4 - off);

			if (n < 0) {
				if (errno == EINTR)
					continue;
				die("write to colo-compare");
			}
			off += (size_t)n;
		}
	} else {
		int s = secondary ? fd->sec : fd->pri;
		struct sockaddr_ll *ll = secondary ? &fd->sec_ll : &fd->pri_ll;

		while (sendto(s, f, len, 0, (struct sockaddr *)ll, sizeof(*ll)) < 0) {
			if (errno != ENOBUFS && errno != EAGAIN)
				die("sendto");
			usleep(50);
		}
	}
}

/* wait up to MS for released frames; returns how many were received */
static uint64_t receive(struct feeder *fd, int ms)
{
	struct pollfd p[OUT_MAX] = { { .fd = fd->out, .events = POLLIN } };
	uint64_t got = 0;
	int n = 1;

	if (!fd->qemu) {
		n = fd->nout;
		for (int k = 0; k < n; k++)
			p[k] = (struct pollfd){ .fd = fd->outs[k], .events = POLLIN };
	}
	if (poll(p, (nfds_t)n, ms) <= 0)
		return 0;
	if (!fd->qemu) {
		unsigned char buf[2048];

		for (int k = 0; k < n; k++)
			while (recv(fd->outs[k], buf, sizeof(buf), MSG_DONTWAIT) >= 0)
				got++;
		return got;
	}
	for (;;) {
		ssize_t n = recv(fd->out, fd->ibuf + fd->ilen, sizeof(fd->ibuf) - fd->ilen,
				 MSG_DONTWAIT);
		size_t off = 0;

		if (n <= 0) {
			if (n == 0) {
				errno = EPIPE;
				die("colo-compare closed outdev");
			}
			break;
		}
		fd->ilen += (size_t)n;
		while (fd->ilen - off >= 4) {
			uint32_t be, len;

			memcpy(&be, fd->ibuf + off, 4);
			len = ntohl(be);
			if (len > FRAME_MAX + 4) {
				errno = EPROTO;
				die("outdev framing");
			}
			if (fd->ilen - off < 4 + len)
				break;
			off += 4 + len;
			got++;
		}
		memmove(fd->ibuf, fd->ibuf + off, fd->ilen - off);
		fd->ilen -= off;
	}
	return got;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "pri", 1, 0, 'p' }, { "sec", 1, 0, 's' }, { "out", 1, 0, 'o' },
		{ "qemu-pid", 1, 0, 'q' }, { "pri-ns", 1, 0, 'P' }, { "pri-dev", 1, 0, 'D' },
		{ "sec-ns", 1, 0, 'S' }, { "sec-dev", 1, 0, 'E' }, { "out-ns", 1, 0, 'O' },
		{ "out-port", 1, 0, 'R' }, { "size", 1, 0, 'z' }, { "count", 1, 0, 'n' },
		{ "window", 1, 0, 'w' }, { "warmup", 1, 0, 'W' }, { "timeout", 1, 0, 't' },
		{ "flows", 1, 0, 'F' }, { "depth", 1, 0, 'd' }, { 0, 0, 0, 0 }
	};
	const char *pri = NULL, *sec = NULL, *out = NULL, *pri_ns = NULL, *pri_dev = NULL;
	const char *sec_ns = NULL, *sec_dev = NULL, *out_ns = NULL;
	unsigned int size = 64, window = 32, out_port = 6000, depth = 1;
	uint64_t count = 10000, warmup = (uint64_t)-1, sent = 0, released = 0;
	uint64_t psent = 0, lag;
	uint64_t got, lost = 0, stalls = 0;
	int qpid = 0, timeout = 120, c;
	static struct feeder f;
	unsigned char fr[FRAME_MAX];
	double idle0 = 0, self0 = 0, q0 = 0;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int64_t t0 = 0, t1, deadline;

	if (argc < 2 || (strcmp(argv[1], "qemu") && strcmp(argv[1], "kernel"))) {
		fprintf(stderr, "usage: colo_pairs qemu|kernel ... (see the top of colo_pairs.c)\n");
		return 2;
	}
	f.qemu = !strcmp(argv[1], "qemu");
	while ((c = getopt_long(argc - 1, argv + 1, "", lo, NULL)) != -1) {
		switch (c) {
		case 'p': pri = optarg; break;
		case 's': sec = optarg; break;
		case 'o': out = optarg; break;
		case 'q': qpid = atoi(optarg); break;
		case 'P': pri_ns = optarg; break;
		case 'D': pri_dev = optarg; break;
		case 'S': sec_ns = optarg; break;
		case 'E': sec_dev = optarg; break;
		case 'O': out_ns = optarg; break;
		case 'R': out_port = (unsigned int)atoi(optarg); break;
		case 'z': size = (unsigned int)atoi(optarg); break;
		case 'n': count = strtoull(optarg, NULL, 0); break;
		case 'w': window = (unsigned int)atoi(optarg); break;
		case 'W': warmup = strtoull(optarg, NULL, 0); break;
		case 't': timeout = atoi(optarg); break;
		case 'F': nflows = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'd': depth = (unsigned int)strtoul(optarg, NULL, 0); break;
		default: return 2;
		}
	}
	if (size < 4 || size > FRAME_MAX - 42 || !window || !count || !nflows ||
	    nflows > (OUT_MAX - 1) * PORT_SPAN || !depth || depth > 65536) {
		fprintf(stderr, "colo_pairs: size 4..%d, window and count > 0, flows 1..%d,"
			" depth 1..65536\n", FRAME_MAX - 42, (OUT_MAX - 1) * PORT_SPAN);
		return 2;
	}
	out_port0 = out_port;
	lag = (uint64_t)(depth - 1) * nflows;
	if (warmup == (uint64_t)-1)
		warmup = window;
	if (f.qemu) {
		if (!pri || !sec || !out) {
			fprintf(stderr, "colo_pairs qemu: --pri, --sec and --out are needed\n");
			return 2;
		}
		/* outdev first: QEMU drops releases until it accepted it */
		f.out = unix_connect(out);
		f.pri = unix_connect(pri);
		f.sec = unix_connect(sec);
	} else {
		int rcvbuf = 8 << 20;
		unsigned int sport, last;

		if (!pri_ns || !pri_dev || !sec_ns || !sec_dev || !out_ns) {
			fprintf(stderr, "colo_pairs kernel: --pri-ns/--pri-dev/--sec-ns/--sec-dev/--out-ns\n");
			return 2;
		}
		packet_endpoint(pri_ns, pri_dev, &f.pri, &f.pri_ll);
		packet_endpoint(sec_ns, sec_dev, &f.sec, &f.sec_ll);
		flow_ports(nflows - 1, &sport, &last);
		for (unsigned int port = out_port; port <= last; port++) {
			struct sockaddr_in a = { .sin_family = AF_INET,
						 .sin_port = htons((uint16_t)port) };
			int s = socket_in(out_ns, AF_INET, SOCK_DGRAM, 0);

			setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
			if (bind(s, (struct sockaddr *)&a, sizeof(a)))
				die("bind");
			f.outs[f.nout++] = s;
		}
	}

	deadline = now_ns() + (int64_t)timeout * 1000000000LL;
	int64_t last_progress = now_ns();
	count += warmup;
	while (released < count && now_ns() < deadline) {
		if (released >= warmup && !t0) {
			t0 = now_ns();
			idle0 = machine_idle_s();
			self0 = self_cpu_s();
			q0 = proc_cpu_s(qpid);
		}
		/*
		 * Pairs beyond COUNT keep the comparator busy until the last
		 * measured pair is out: QEMU's colo-compare was seen keeping
		 * the last few releases until more input came.
		 */
		while (sent - released - lost < window) {
			size_t len;

			if (!lag) {
				len = frame(fr, (uint32_t)sent, size);
				send_one(&f, 0, fr, len);
				send_one(&f, 1, fr, len);
				sent++;
				continue;
			}
			/* --depth: the primary copies run lag pairs ahead */
			while (psent <= sent + lag) {
				len = frame(fr, (uint32_t)psent, size);
				send_one(&f, 0, fr, len);
				psent++;
			}
			len = frame(fr, (uint32_t)sent, size);
			send_one(&f, 1, fr, len);
			sent++;
		}
		got = receive(&f, 100);
		released += got;
		if (got) {
			last_progress = now_ns();
		} else if (now_ns() - last_progress > 1000000000LL) {
			/*
			 * Nothing for a second: count what is outstanding as
			 * lost and go on. QEMU drops what colo-compare sends
			 * to outdev before its main loop accepted our
			 * connection to it (a socket chardev that is not
			 * connected swallows writes), which under load can
			 * be the first pairs.
			 */
			lost = sent - released;
			stalls++;
			last_progress = now_ns();
		}
	}
	t1 = now_ns();
	if (!t0)
		t0 = t1;
	{
		double idle1 = machine_idle_s(), self1 = self_cpu_s();
		double q1 = qpid ? proc_cpu_s(qpid) : 0;
		uint64_t measured = released, drained = released;
		int64_t drain_end = now_ns() + 5000000000LL;

		/*
		 * --depth: the primary copies sent ahead are still held;
		 * their secondary copies let them go (not measured).
		 */
		if (lag) {
			while (sent < psent) {
				size_t len = frame(fr, (uint32_t)sent, size);

				send_one(&f, 1, fr, len);
				sent++;
			}
			while (drained + lost < sent && now_ns() < drain_end)
				drained += receive(&f, 100);
		}
		released = measured;

		uint64_t n = released > warmup ? released - warmup : 0;
		double secs = (t1 - t0) / 1e9;
		double busy = secs * (double)ncpu - (idle1 - idle0);
		double self = self1 - self0;
		double q = qpid ? q1 - q0 : 0;

		printf("{\"tool\": \"colo_pairs %s\", \"size\": %u, \"window\": %u, \"pairs\": %llu, "
		       "\"expected\": %llu, \"secs\": %.6f, \"pairs_per_s\": %.1f, \"cpus\": %ld, "
		       "\"cpu_machine_s\": %.2f, \"cpu_feeder_s\": %.3f, \"cpu_qemu_s\": %.2f, "
		       "\"cpu_machine_us_per_pair\": %.2f, \"cpu_feeder_us_per_pair\": %.2f, "
		       "\"cpu_qemu_us_per_pair\": %.2f, "
		       "\"stalls\": %llu, \"lost\": %llu, \"flows\": %u, \"depth\": %u}\n",
		       f.qemu ? "qemu" : "kernel", size, window, (unsigned long long)n,
		       (unsigned long long)(count - warmup), secs, n / (secs > 0 ? secs : 1), ncpu,
		       busy, self, q, n ? busy * 1e6 / n : 0, n ? self * 1e6 / n : 0,
		       n && qpid ? q * 1e6 / n : 0, (unsigned long long)stalls,
		       (unsigned long long)lost, nflows, depth);
	}
	return released >= count ? 0 : 1;
}
