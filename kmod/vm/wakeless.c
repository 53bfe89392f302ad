// SPDX-License-Identifier: GPL-2.0
/*
 * wakeless: drives /dev/fastio from C, with only the uapi header, and never
 * calls FASTIO_IOC_WAKE. The module must make progress by itself:
 *
 *   1. NOPs, many more than the CQ holds: completions overflow into the
 *      backlog, the poller stops consuming the SQ, and only WAIT (which
 *      flushes the backlog) and the module's own kick bring it back;
 *   2. pipe READs on blocking workers until the ring's in-flight cap: the
 *      poller stops consuming and sleeps; as the workers complete reads,
 *      in-flight drops under the cap and the module must wake the poller.
 *
 * Its only ways in are WAIT (with min_complete 0 it returns at once: the
 * equivalent of io_uring_enter to submit) and STATS.
 *
 * The poller sleeps as soon as it is idle (idle_us = 0), so every stall
 * shows. A WAIT that times out with nothing new completed is a failure.
 * Prints "WAKELESS PASS" and exits 0, or "FASTIO-FAIL ..." and exits 1.
 * Built static by kmod/vm/run.sh; run in the guest by init.sh.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include "uapi/fastio.h"

#define SQ_ENTRIES 1024
#define NOPS 50000
#define READS (FASTIO_MAX_INFLIGHT + 1000)

static int dev;
static struct fastio_params p;
static struct fastio_ring_hdr *sqh, *cqh;
static struct fastio_sqe *sqes;
static struct fastio_cqe *cqes;
static atomic_int done;

static void fail(const char *what)
{
	printf("FASTIO-FAIL wakeless: %s (errno %d)\n", what, errno);
	fflush(stdout);
	exit(1);
}

static void *worker(void *arg)
{
	struct fastio_worker_arg a = *(struct fastio_worker_arg *)arg;

	/* 0 at teardown; EINTR / EAGAIN: go back in. */
	while (ioctl(dev, FASTIO_IOC_RUN_WORKER, &a) < 0) {
		if ((errno != EINTR && errno != EAGAIN) || atomic_load(&done))
			break;
	}
	return NULL;
}

/* Pushes up to `n` entries made by `make`; returns how many fit. */
static unsigned int push(unsigned int n, void (*make)(struct fastio_sqe *, uint64_t), uint64_t *next)
{
	uint32_t tail = sqh->tail, head = __atomic_load_n(&sqh->head, __ATOMIC_ACQUIRE);
	unsigned int i = 0;

	while (i < n && tail - head < p.sq_entries) {
		struct fastio_sqe *e = &sqes[tail & (p.sq_entries - 1)];

		memset(e, 0, sizeof(*e));
		make(e, (*next)++);
		tail++;
		i++;
	}
	__atomic_store_n(&sqh->tail, tail, __ATOMIC_RELEASE);
	return i;
}

/* Reaps every completion; checks each with `check`. */
static unsigned int reap(void (*check)(const struct fastio_cqe *))
{
	uint32_t head = cqh->head, tail = __atomic_load_n(&cqh->tail, __ATOMIC_ACQUIRE);
	unsigned int n = 0;

	while (head != tail) {
		check(&cqes[head & (p.cq_entries - 1)]);
		head++;
		n++;
	}
	__atomic_store_n(&cqh->head, head, __ATOMIC_RELEASE);
	return n;
}

/* Sleeps in WAIT until a completion is visible; fails after 10 s without
 * one (WAIT may return early: a signal, or a completion being posted). */
static void wait_one(const char *phase)
{
	struct fastio_wait_arg w = { .ring = 0, .min_complete = 1, .timeout_ns = 1000000000ULL };
	int tries;

	for (tries = 0; tries < 10; tries++) {
		if (__atomic_load_n(&cqh->tail, __ATOMIC_ACQUIRE) != cqh->head)
			return;
		if (ioctl(dev, FASTIO_IOC_WAIT, &w) < 0 && errno != EINTR && errno != ETIME)
			fail("WAIT");
		if (__atomic_load_n(&cqh->tail, __ATOMIC_ACQUIRE) != cqh->head)
			return;
		/* WAIT may return with the completion still being published. */
		sched_yield();
	}
	{
		struct fastio_stats s;

		ioctl(dev, FASTIO_IOC_STATS, &s);
		printf("stalled in %s: submitted %llu completed %llu overflowed %llu sleeps %llu\n",
		       phase, (unsigned long long)s.submitted, (unsigned long long)s.completed,
		       (unsigned long long)s.overflowed, (unsigned long long)s.sleeps);
		fail("no completion for 10 s without WAKE");
	}
}

/* WAIT for nothing: returns at once, having woken the poller if it sleeps
 * with submissions pending (what io_uring_enter does with min_complete 0). */
static void enter(void)
{
	struct fastio_wait_arg w = { .ring = 0, .min_complete = 0, .timeout_ns = 0 };

	if (ioctl(dev, FASTIO_IOC_WAIT, &w) < 0 && errno != EINTR)
		fail("WAIT(0)");
}

static void make_nop(struct fastio_sqe *e, uint64_t n)
{
	e->opcode = FASTIO_OP_NOP;
	e->user_data = n;
}

static uint64_t nops_seen;

static void check_nop(const struct fastio_cqe *c)
{
	if (c->res != 0 || c->user_data != nops_seen)
		fail("NOP completion out of order or failed");
	nops_seen++;
}

static int pipe_fd[2];

static void make_read(struct fastio_sqe *e, uint64_t n)
{
	static char sink;

	e->opcode = FASTIO_OP_READ;
	e->fd = pipe_fd[0];
	e->off = FASTIO_OFF_CURRENT;
	e->addr = (uintptr_t)&sink;
	e->len = 1;
	e->user_data = n;
}

static void check_read(const struct fastio_cqe *c)
{
	if (c->res != 1) {
		printf("read %llu: res %d\n", (unsigned long long)c->user_data, c->res);
		fail("pipe READ did not read its byte");
	}
}

static void *writer(void *arg)
{
	static char buf[4096];
	size_t left = READS;

	(void)arg;
	memset(buf, 'x', sizeof(buf));
	while (left) {
		ssize_t n = write(pipe_fd[1], buf, left < sizeof(buf) ? left : sizeof(buf));

		if (n <= 0)
			fail("pipe write");
		left -= n;
	}
	return NULL;
}

static struct fastio_stats stats(void)
{
	struct fastio_stats s;

	if (ioctl(dev, FASTIO_IOC_STATS, &s) < 0)
		fail("STATS");
	return s;
}

int main(void)
{
	struct fastio_worker_arg args[3] = {
		{ FASTIO_WORKER_POLLER, 0 }, { FASTIO_WORKER_BLOCKING, 0 }, { FASTIO_WORKER_BLOCKING, 1 },
	};
	pthread_t th[3], wr;
	uint64_t next = 0, reaped = 0;
	uint8_t *map;
	int i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	dev = open("/dev/fastio", O_RDWR | O_CLOEXEC);
	if (dev < 0)
		fail("open /dev/fastio");
	p.version = FASTIO_ABI_VERSION;
	p.sq_entries = SQ_ENTRIES;
	p.cq_entries = SQ_ENTRIES;
	p.nr_rings = 1;
	p.max_ker_worker = 1;
	p.max_wq_worker = 2;
	p.idle_us = 0;
	p.affinity_offset = -1;
	if (ioctl(dev, FASTIO_IOC_SETUP, &p) < 0)
		fail("SETUP");
	map = mmap(NULL, p.off.ring_size, PROT_READ | PROT_WRITE, MAP_SHARED, dev, 0);
	if (map == MAP_FAILED)
		fail("mmap");
	sqh = (void *)(map + p.off.sq_hdr);
	cqh = (void *)(map + p.off.cq_hdr);
	sqes = (void *)(map + p.off.sqes);
	cqes = (void *)(map + p.off.cqes);
	for (i = 0; i < 3; i++)
		if (pthread_create(&th[i], NULL, worker, &args[i]))
			fail("pthread_create");

	/* 1. NOPs past the CQ's size: nothing is reaped until completions
	 * have overflowed into the backlog (the poller then stops consuming
	 * the SQ); from then on, reaped after each WAIT. */
	{
		time_t deadline = time(NULL) + 20;

		while (stats().overflowed == 0) {
			push(NOPS - next, make_nop, &next);
			enter();
			if (time(NULL) > deadline)
				fail("the CQ never overflowed");
			sched_yield();
		}
	}
	while (nops_seen < NOPS) {
		if (next < NOPS)
			push(NOPS - next, make_nop, &next);
		wait_one("NOPs");
		reap(check_nop);
	}
	printf("wakeless: %d NOPs completed in order, %llu overflowed\n", NOPS,
	       (unsigned long long)stats().overflowed);

	/* 2. Pipe READs: all wait for bytes that are not written yet, until
	 * the poller stands at the in-flight cap with READS - cap still in
	 * the SQ. Only then the bytes come. */
	if (pipe(pipe_fd))
		fail("pipe");
	next = 0;
	{
		uint64_t base = stats().submitted;

		while (stats().submitted - base < FASTIO_MAX_INFLIGHT) {
			if (next < READS)
				push(READS - next, make_read, &next);
			enter();
			if (reap(check_read))
				fail("a READ completed before any byte was written");
			sched_yield();
		}
	}
	while (next < READS)
		push(READS - next, make_read, &next);
	printf("wakeless: poller at the in-flight cap (%d), %llu READs wait in the SQ\n",
	       FASTIO_MAX_INFLIGHT, (unsigned long long)(READS - FASTIO_MAX_INFLIGHT));
	if (pthread_create(&wr, NULL, writer, NULL))
		fail("pthread_create");
	while (reaped < READS) {
		if (next < READS)
			push(READS - next, make_read, &next);
		wait_one("READs");
		reaped += reap(check_read);
	}
	pthread_join(wr, NULL);
	printf("wakeless: %d pipe READs completed\n", READS);

	atomic_store(&done, 1);
	if (ioctl(dev, FASTIO_IOC_TEARDOWN, NULL) < 0)
		fail("TEARDOWN");
	for (i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	munmap(map, p.off.ring_size);
	close(dev);
	printf("WAKELESS PASS\n");
	return 0;
}
