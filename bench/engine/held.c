// SPDX-License-Identifier: GPL-2.0-only
/*
 * The held byte count's two designs side by side, on the host, with one
 * thread per CPU: what kernel/colo.h did (one atomic per instance that
 * every hold and release updates, read by every bound check) and what it
 * does (percpu_counter: a per-CPU part folded into the shared count under
 * its lock once per batch, the bound checked against the shared count).
 * Each thread holds and releases packets of 2304 bytes (a 1400-byte
 * datagram's truesize), checking the bound before each hold, as
 * kernel/step.c does; in the _cross figures the threads pair up, one holding what
 * the other releases (a secondary's packet on one CPU releasing what the
 * primary's CPU held). A model of the kernel code's memory traffic, not
 * the kernel code: ns per operation, compare within one run only.
 *
 *     held [SCALE [THREADS [BATCH]]]   one JSON line per figure
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TRUESIZE	2304
#define MAX_BYTES	(32LL << 20)
#define MAX_THREADS	64

struct shared {
	_Alignas(64) atomic_long count;		/* the shared count */
	atomic_flag lock;			/* percpu_counter's lock */
};

struct part {
	_Alignas(64) long v;			/* one CPU's part */
};

static struct shared sh;
static struct part parts[MAX_THREADS];
static long ops, batch;
static int nthreads, ncpus, mode;	/* 0: shared atomic, 1: per-CPU batched */
static atomic_int ready, go;
static volatile long sink;

static void fold(long *part, long amount)
{
	long c = *part + amount;

	if (c >= batch || c <= -batch) {
		while (atomic_flag_test_and_set_explicit(&sh.lock,
							 memory_order_acquire))
			;
		atomic_store_explicit(&sh.count,
				      atomic_load_explicit(&sh.count,
							   memory_order_relaxed) + c,
				      memory_order_relaxed);
		*part = 0;
		atomic_flag_clear_explicit(&sh.lock, memory_order_release);
	} else {
		*part = c;
	}
}

static void account(long *part, long amount)
{
	if (mode == 0)
		atomic_fetch_add_explicit(&sh.count, amount,
					  memory_order_relaxed);
	else
		fold(part, amount);
}

static int fits(void)
{
	/* far from the bound: the shared count decides in both designs */
	return atomic_load_explicit(&sh.count, memory_order_relaxed) +
	       TRUESIZE <= MAX_BYTES;
}

static void *worker(void *arg)
{
	long id = (long)arg, i, n = 0;
	long *part = &parts[id].v;
	int cross = mode & 2;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(id % ncpus, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	atomic_fetch_add(&ready, 1);
	while (!atomic_load(&go))
		;
	for (i = 0; i < ops; i++) {
		/*
		 * cross: even threads hold, odd ones release (the pair's
		 * count drifts, as the primary's CPU's and the secondary's
		 * do); otherwise each thread holds then releases
		 */
		if (!cross || !(id & 1)) {
			n += fits();
			account(part, TRUESIZE);
		}
		if (!cross || (id & 1))
			account(part, -TRUESIZE);
	}
	sink += n;
	return NULL;
}

static double run(int m)
{
	pthread_t t[MAX_THREADS];
	struct timespec a, b;
	long i;

	mode = m;
	memset(parts, 0, sizeof(parts));
	atomic_store(&sh.count, 0);
	atomic_store(&ready, 0);
	atomic_store(&go, 0);
	for (i = 0; i < nthreads; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	while (atomic_load(&ready) < nthreads)
		;
	clock_gettime(CLOCK_MONOTONIC, &a);
	atomic_store(&go, 1);
	for (i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	return ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / ops;
}

int main(int argc, char **argv)
{
	static const char *const names[] = {
		"held_shared_atomic", "held_percpu_batch",
		"held_shared_atomic_cross", "held_percpu_batch_cross",
	};
	int m;

	ncpus = sysconf(_SC_NPROCESSORS_ONLN);
	ops = (long)(5000000 * (argc > 1 ? atof(argv[1]) : 1.0));
	nthreads = argc > 2 ? atoi(argv[2]) : ncpus;
	batch = argc > 3 ? atol(argv[3]) : 256 << 10;
	if (ops < 1000)
		ops = 1000;
	/* pairs for --cross */
	if (nthreads < 2 || nthreads > MAX_THREADS)
		nthreads = 2;
	nthreads &= ~1;
	for (m = 0; m < 4; m++)
		printf("{\"name\": \"%s\", \"unit\": \"ns/op\", \"value\": %.2f, \"threads\": %d}\n",
		       names[m], run(m), nthreads);
	return 0;
}
