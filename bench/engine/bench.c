// SPDX-License-Identifier: GPL-2.0-only
/*
 * Host-side micro-benchmarks of the comparison engine: kernel/step.c and
 * kernel/compare.c as the module builds them, through tests/unit's shims
 * and driver (harness.c: drv_primary(), drv_secondary()), built like the
 * unit tests but optimised (-O2) and without sanitizers.
 *
 * One run measures every scenario once and prints one JSON object per
 * line: {"name": ..., "unit": ..., "value": ...}. bench/engine/run repeats
 * runs (of several builds, interleaved) and takes medians.
 *
 * What is measured is the engine's work under the flow lock: the step,
 * the lists it hands back, and the accounting the release and drop paths
 * undo (colo_hold_unaccount()). Not measured: parsing, the flow table
 * lookup, conntrack, reinjection; and the shim's atomics are plain
 * arithmetic (one thread), so shared counters cost nothing here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "harness.h"

static struct colo_instance inst;
static struct colo_stats stats;
static struct drv_limits lim = { .max_queue = COLO_DEFAULT_MAX_QUEUE };
static struct sk_buff_head rel, drop;
static u64 sink;		/* keeps the compiler honest */
static bool quiet;		/* warming up: nothing reported */

#define HDRLEN	54		/* Ethernet + IPv4 + TCP without options */

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/*
 * Time in batches and keep the median batch: on a shared machine a batch
 * the scheduler interrupted is an outlier, not a shift of the figure.
 */
#define BATCHES_MAX	4096

struct timer {
	double t0;
	u32 per;		/* iterations per batch */
	u32 n;			/* iterations in this batch so far */
	u32 nb;
	double b[BATCHES_MAX];
};

static void timer_start(struct timer *t, u32 iters)
{
	t->per = iters / 200 ? iters / 200 : 1;
	t->n = 0;
	t->nb = 0;
	t->t0 = now_ns();
}

/* after each timed iteration */
static void timer_tick(struct timer *t)
{
	double now;

	if (++t->n < t->per)
		return;
	now = now_ns();
	if (t->nb < BATCHES_MAX)
		t->b[t->nb++] = (now - t->t0) / t->per;
	t->n = 0;
	t->t0 = now_ns();
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* ns per iteration: the median batch */
static double timer_median(struct timer *t)
{
	if (!t->nb)
		return 0;
	qsort(t->b, t->nb, sizeof(t->b[0]), cmp_double);
	return t->b[t->nb / 2];
}

static struct timer tm;

static void report(const char *name, const char *unit, double v)
{
	if (quiet)
		return;
	printf("{\"name\": \"%s\", \"unit\": \"%s\", \"value\": %.2f}\n",
	       name, unit, v);
	fflush(stdout);
}

/* As flow.c's colo_flow_get() leaves a new flow (the rest zeroed). */
static void flow_init(struct colo_flow *f, u8 proto, u32 idx)
{
	memset(f, 0, sizeof(*f));
	f->key.family = NFPROTO_IPV4;
	f->key.proto = proto;
	f->key.saddr.ip = htonl(0x0a000002);
	f->key.daddr.ip = htonl(0x0a010000 + idx);
	f->key.sport = htons(80);
	f->key.dport = htons((u16)(1024 + idx));
	f->inst = &inst;
	/* no packet queues until it holds a packet (step.c) */
}

/* A flow goes: its packet queues, should it still have them, with it. */
static void flow_free(struct colo_flow *f)
{
	if (f->held)
		kmem_cache_free(colo_held_cache, f->held);
	free(f);
}

static struct sk_buff *pkt_new(u32 len, u32 linear)
{
	struct skb_shape sh = { .hdrlen = HDRLEN, .linear = linear,
				.fill = 0x11 };
	u8 *data = malloc(len ? len : 1);
	struct sk_buff *skb;
	u32 i;

	for (i = 0; i < len; i++)
		data[i] = (u8)(i * 31 + 7);
	skb = skb_build(&sh, data, len);
	free(data);
	return skb;
}

/* What colo_parse() leaves in the cb, before each (re)use. */
static void pkt_reset(struct sk_buff *skb, u32 len)
{
	skb->next = skb->prev = NULL;
	memset(COLO_CB(skb), 0, sizeof(struct colo_skb_cb));
	COLO_CB(skb)->poff = HDRLEN;
	COLO_CB(skb)->len = len;
}

/*
 * What colo_release_list() and colo_drop_list() do to the accounting;
 * partial copies (harness allocations) are freed, the bench's own
 * packets come back for reuse.
 */
static u32 lists_done(void)
{
	struct sk_buff *skb;
	u32 n = 0;

	while ((skb = __skb_dequeue(&rel))) {
		colo_hold_unaccount(&inst, COLO_PRI, skb);
		if (skb->shim_piece)
			skb_free(skb);
		n++;
	}
	while ((skb = __skb_dequeue(&drop))) {
		colo_hold_unaccount(&inst, COLO_SEC, skb);
		n++;
	}
	return n;
}

static void step(int side, struct colo_flow *f, struct sk_buff *skb)
{
	struct drv_result res;

	if (side == COLO_PRI)
		drv_primary(&inst, f, &lim, skb, &rel, &drop, &res);
	else
		drv_secondary(&inst, f, &lim, skb, &rel, &drop, &res);
	if (res.v.reason || res.fate == DRV_DROPPED) {
		fprintf(stderr, "bench: unexpected %s / fate %d\n",
			reason_name(res.v.reason), res.fate);
		exit(1);
	}
	/* the release's end (flow.c): an idle flow gives its queues back */
	colo_held_put(f);
}

/*
 * One primary/secondary pair per iteration on one flow: equal payload,
 * the secondary's ack as far as the primary's, so the primary packet
 * leaves on the secondary's arrival. ns per pair.
 */
static void bench_pair(const char *name, u8 proto, u32 len, u32 linear,
		       u32 iters)
{
	struct colo_flow *f = calloc(1, sizeof(*f));
	struct sk_buff *p = pkt_new(len, linear), *s = pkt_new(len, linear);
	u32 k;

	flow_init(f, proto, 0);
	for (k = 0; k < iters + iters / 10; k++) {
		if (k == iters / 10)
			timer_start(&tm, iters);
		pkt_reset(p, len);
		pkt_reset(s, len);
		if (proto == IPPROTO_TCP) {
			tcp_cb_set(p, 1000 + k * len, 5000, TCPHDR_ACK | TCPHDR_PSH);
			tcp_cb_set(s, 1000 + k * len, 5000, TCPHDR_ACK | TCPHDR_PSH);
		}
		step(COLO_PRI, f, p);
		step(COLO_SEC, f, s);
		sink += lists_done();
		if (k >= iters / 10)
			timer_tick(&tm);
	}
	report(name, "ns/pair", timer_median(&tm));
	if (!colo_flow_held_empty(f)) {
		fprintf(stderr, "bench: %s left packets held\n", name);
		exit(1);
	}
	skb_free(p);
	skb_free(s);
	flow_free(f);
}

/*
 * The ack rule piles segments up at the head of the primary's queue:
 * every segment matches the secondary's at once, but the secondary's ack
 * lags @depth segments behind the primary's, so @depth matched segments
 * stay held and each secondary segment lets the oldest go. ns per packet
 * (half a pair) in that steady state.
 */
static void bench_depth(u32 depth, u32 iters)
{
	const u32 len = 64;
	struct colo_flow *f = calloc(1, sizeof(*f));
	struct sk_buff **pp = calloc(depth + 1, sizeof(*pp));
	struct sk_buff *s = pkt_new(len, 0);
	char name[64];
	u32 k, i;

	for (i = 0; i <= depth; i++)
		pp[i] = pkt_new(len, 0);
	flow_init(f, IPPROTO_TCP, 0);
	for (k = 0; k < depth + iters; k++) {
		struct sk_buff *p = pp[k % (depth + 1)];

		if (k == depth)
			timer_start(&tm, iters);
		pkt_reset(p, len);
		pkt_reset(s, len);
		tcp_cb_set(p, 1000 + k * len, 5000 + k, TCPHDR_ACK | TCPHDR_PSH);
		tcp_cb_set(s, 1000 + k * len, 5000 + k - depth,
			   TCPHDR_ACK | TCPHDR_PSH);
		step(COLO_PRI, f, p);
		step(COLO_SEC, f, s);
		sink += lists_done();
		if (k >= depth && colo_flow_pri_len(f) != depth) {
			fprintf(stderr, "bench: depth %u, %u held\n", depth,
				colo_flow_pri_len(f));
			exit(1);
		}
		if (k >= depth)
			timer_tick(&tm);
	}
	snprintf(name, sizeof(name), "tcp_depth_%u", depth);
	report(name, "ns/pkt", timer_median(&tm) / 2);
	drv_checkpoint(f, &rel, &drop);
	lists_done();
	for (i = 0; i <= depth; i++)
		skb_free(pp[i]);
	skb_free(s);
	free(pp);
	flow_free(f);
}

static u64 rnd_state = 88172645463325252ULL;

static u64 rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/*
 * @nflows TCP flows, each allocated on its own as the module allocates
 * them, visited in a random order (as a hash spreads them), one 64-byte
 * pair per visit. ns per packet: what the cache footprint of many flows
 * costs.
 */
static void bench_flows(u32 nflows, u32 iters)
{
	const u32 len = 64;
	struct colo_flow **fl = calloc(nflows, sizeof(*fl));
	struct sk_buff **pk = calloc(2 * nflows, sizeof(*pk));
	u32 *order = calloc(nflows, sizeof(*order));
	u32 *seq = calloc(nflows, sizeof(*seq));
	char name[64];
	u32 i, k, warm = nflows;

	for (i = 0; i < nflows; i++) {
		fl[i] = malloc(sizeof(struct colo_flow));
		flow_init(fl[i], IPPROTO_TCP, i);
		pk[2 * i] = pkt_new(len, 0);
		pk[2 * i + 1] = pkt_new(len, 0);
		order[i] = i;
	}
	for (i = nflows - 1; i > 0; i--) {
		u32 j = rnd() % (i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (k = 0; k < warm + iters; k++) {
		u32 n = order[k % nflows];
		struct sk_buff *p = pk[2 * n], *s = pk[2 * n + 1];

		if (k == warm)
			timer_start(&tm, iters);
		pkt_reset(p, len);
		pkt_reset(s, len);
		tcp_cb_set(p, 1000 + seq[n], 5000, TCPHDR_ACK | TCPHDR_PSH);
		tcp_cb_set(s, 1000 + seq[n], 5000, TCPHDR_ACK | TCPHDR_PSH);
		seq[n] += len;
		step(COLO_PRI, fl[n], p);
		step(COLO_SEC, fl[n], s);
		sink += lists_done();
		if (k >= warm)
			timer_tick(&tm);
	}
	snprintf(name, sizeof(name), "tcp_flows_%u", nflows);
	report(name, "ns/pkt", timer_median(&tm) / 2);
	for (i = 0; i < nflows; i++) {
		flow_free(fl[i]);
		skb_free(pk[2 * i]);
		skb_free(pk[2 * i + 1]);
	}
	free(fl);
	free(pk);
	free(order);
	free(seq);
}

int main(int argc, char **argv)
{
	/* scale: 1 for the default run; less for a quick one */
	double scale = argc > 1 ? atof(argv[1]) : 1.0;
	u32 n = (u32)(200000 * scale);
	static const u32 depths[] = { 1, 16, 128, 512, 1023 };
	static const u32 nflows[] = { 1, 1000, 10000, 100000 };
	unsigned int i;

	if (n < 1000)
		n = 1000;
	inst.stats = &stats;
	inst.max_queue = COLO_DEFAULT_MAX_QUEUE;
	inst.max_bytes = COLO_DEFAULT_MAX_BYTES;
	__skb_queue_head_init(&rel);
	__skb_queue_head_init(&drop);

	/* warm up (caches, the CPU's clock) before the first figure */
	quiet = true;
	bench_pair("warmup", IPPROTO_TCP, 1400, 0, n);
	bench_pair("warmup", IPPROTO_UDP, 64, 0, n);
	quiet = false;

	/* non-linear: headers and 10 payload bytes linear, the rest a frag */
	bench_pair("tcp_pair_64", IPPROTO_TCP, 64, 0, n);
	bench_pair("tcp_pair_1400", IPPROTO_TCP, 1400, 0, n);
	bench_pair("tcp_pair_1400_nonlinear", IPPROTO_TCP, 1400, HDRLEN + 10, n);
	bench_pair("tcp_pair_64000_nonlinear", IPPROTO_TCP, 64000, HDRLEN + 10,
		   n / 50);
	bench_pair("udp_pair_64", IPPROTO_UDP, 64, 0, n);
	bench_pair("udp_pair_1400", IPPROTO_UDP, 1400, 0, n);
	bench_pair("udp_pair_1400_nonlinear", IPPROTO_UDP, 1400, HDRLEN + 10, n);
	for (i = 0; i < ARRAY_SIZE(depths); i++)
		bench_depth(depths[i], depths[i] >= 128 ? n / 10 : n);
	for (i = 0; i < ARRAY_SIZE(nflows); i++)
		bench_flows(nflows[i], n > 3 * nflows[i] ? n : 3 * nflows[i]);
	report("shim_sizeof_colo_flow", "bytes", sizeof(struct colo_flow));
	return sink == 0;
}
