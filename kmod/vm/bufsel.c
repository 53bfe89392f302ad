// SPDX-License-Identifier: GPL-2.0
/*
 * bufsel: buffer groups, BUFFER_SELECT and MULTISHOT against /dev/fastio,
 * from C with only the uapi header (ABI version 2). Each case prints a line
 * as it passes; any failure prints "FASTIO-FAIL bufsel: ..." and exits 1.
 *
 *   version     SETUP with another version: EPROTO, the module's written back
 *   register    REGISTER/UNREGISTER_BUFS errors (EINVAL, EFAULT, EEXIST,
 *               ENOENT, EBUSY while armed, EPERM from a forked child), and
 *               the SQE combinations the module must refuse
 *   refill      a single-shot RECV parks on an empty group until a buffer
 *               is added: with the poller asleep (NEED_WAKEUP + WAKE) and
 *               awake (no WAKE: it must see the new tail itself)
 *   enobufs     a multishot RECV ends with -ENOBUFS, without MORE
 *   eof, error  a multishot RECV until the end of the stream / a reset
 *   cqfull      ... until the CQ is full: that result without MORE
 *   close       cancelled by CLOSE submitted on another ring (poller):
 *               exactly one -ECANCELED without MORE; the peer sees EOF
 *   accept      multishot ACCEPT: a completion with MORE per connection,
 *               ended by CLOSE of the listener
 *   twice       a buffer added twice is handed out twice
 *   teardown    TEARDOWN and closing the device with multishot ops armed
 *               and ops waiting for buffers (buffers never returned)
 *   hostile     a thread rewrites descriptors (kernel addresses, PROT_NONE,
 *               huge lengths) while the poller takes them: only
 *               -EFAULT / -EINVAL or real data; a canary page stays intact
 *   conns       1,000 connections, multishot ACCEPT and multishot RECV, data
 *               trickling in one byte at a time, then EOF on each
 *
 * Built static by kmod/vm/run.sh; run in the guest by init.sh.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "uapi/fastio.h"

#define MAX_RINGS 2
#define PAGE 4096

static void fail(const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	printf("FASTIO-FAIL bufsel: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" (errno %d)\n", e);
	fflush(stdout);
	exit(1);
}

#define CHECK(cond, ...) do { if (!(cond)) fail(__VA_ARGS__); } while (0)

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------ contexts */

struct ring {
	struct fastio_ring_hdr *sqh, *cqh;
	struct fastio_sqe *sqes;
	struct fastio_cqe *cqes;
};

struct ctx {
	int dev;
	struct fastio_params p;
	uint8_t *map;
	struct ring r[MAX_RINGS];
	pthread_t th[MAX_RINGS + 1];
	int nth;
	atomic_int done;
};

struct wstart {
	struct ctx *c;
	struct fastio_worker_arg a;
};

static void *run_worker(void *arg)
{
	struct wstart *w = arg;

	/* 0 at teardown or when the device goes away; EINTR / EAGAIN: again. */
	while (ioctl(w->c->dev, FASTIO_IOC_RUN_WORKER, &w->a) < 0) {
		if ((errno != EINTR && errno != EAGAIN) || atomic_load(&w->c->done))
			break;
	}
	free(w);
	return NULL;
}

static struct ctx *ctx_open_cq(unsigned int rings, unsigned int idle_us, unsigned int sq_entries,
			       unsigned int cq_entries)
{
	struct ctx *c = calloc(1, sizeof(*c));
	unsigned int i;

	CHECK(c, "calloc");
	c->dev = open("/dev/fastio", O_RDWR | O_CLOEXEC);
	CHECK(c->dev >= 0, "open /dev/fastio");
	c->p.version = FASTIO_ABI_VERSION;
	c->p.sq_entries = sq_entries;
	c->p.cq_entries = cq_entries;
	c->p.nr_rings = rings;
	c->p.max_ker_worker = rings;	/* ring i -> poller i */
	c->p.max_wq_worker = 1;
	c->p.idle_us = idle_us;
	c->p.affinity_offset = -1;
	CHECK(ioctl(c->dev, FASTIO_IOC_SETUP, &c->p) == 0, "SETUP");
	c->map = mmap(NULL, (size_t)c->p.off.ring_size * rings, PROT_READ | PROT_WRITE, MAP_SHARED,
		      c->dev, 0);
	CHECK(c->map != MAP_FAILED, "mmap");
	for (i = 0; i < rings; i++) {
		uint8_t *b = c->map + (size_t)i * c->p.off.ring_size;

		c->r[i].sqh = (void *)(b + c->p.off.sq_hdr);
		c->r[i].cqh = (void *)(b + c->p.off.cq_hdr);
		c->r[i].sqes = (void *)(b + c->p.off.sqes);
		c->r[i].cqes = (void *)(b + c->p.off.cqes);
	}
	for (i = 0; i <= rings; i++) {
		struct wstart *w = malloc(sizeof(*w));

		CHECK(w, "malloc");
		w->c = c;
		w->a.kind = i < rings ? FASTIO_WORKER_POLLER : FASTIO_WORKER_BLOCKING;
		w->a.index = i < rings ? i : 0;
		CHECK(pthread_create(&c->th[i], NULL, run_worker, w) == 0, "pthread_create");
	}
	c->nth = rings + 1;
	return c;
}

static struct ctx *ctx_open(unsigned int rings, unsigned int idle_us, unsigned int sq_entries)
{
	return ctx_open_cq(rings, idle_us, sq_entries, 2 * sq_entries);
}

static void ctx_join(struct ctx *c)
{
	int i;

	for (i = 0; i < c->nth; i++)
		pthread_join(c->th[i], NULL);
	munmap(c->map, (size_t)c->p.off.ring_size * c->p.nr_rings);
	free(c);
}

/* TEARDOWN, then the workers return; the device fd is closed last. */
static void ctx_close(struct ctx *c)
{
	atomic_store(&c->done, 1);
	CHECK(ioctl(c->dev, FASTIO_IOC_TEARDOWN, NULL) == 0, "TEARDOWN");
	close(c->dev);
	ctx_join(c);
}

/* The process's side of NEED_WAKEUP: something was published (an SQ tail
 * or a group's tail), then, after a full barrier, the flag is read. */
static void wake_if_needed(struct ctx *c, uint32_t ring)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&c->r[ring].sqh->flags, __ATOMIC_RELAXED) & FASTIO_SQ_NEED_WAKEUP)
		CHECK(ioctl(c->dev, FASTIO_IOC_WAKE, &ring) == 0, "WAKE");
}

static void submit(struct ctx *c, uint32_t ring, const struct fastio_sqe *e)
{
	struct ring *r = &c->r[ring];
	uint32_t tail = r->sqh->tail;
	uint64_t deadline = now_ms() + 10000;

	while (tail - __atomic_load_n(&r->sqh->head, __ATOMIC_ACQUIRE) >= c->p.sq_entries) {
		wake_if_needed(c, ring);
		CHECK(now_ms() < deadline, "SQ full for 10 s");
		usleep(100);
	}
	r->sqes[tail & (c->p.sq_entries - 1)] = *e;
	__atomic_store_n(&r->sqh->tail, tail + 1, __ATOMIC_RELEASE);
	wake_if_needed(c, ring);
}

/* The next completion within timeout_ms; 0 if none. `nowait`: only look at
 * the ring (no WAIT ioctl, which could kick the poller). */
static int get_cqe_opt(struct ctx *c, uint32_t ring, struct fastio_cqe *out, int timeout_ms,
		       int nowait)
{
	struct ring *r = &c->r[ring];
	uint64_t deadline = now_ms() + timeout_ms;

	for (;;) {
		uint32_t head = r->cqh->head;

		if (__atomic_load_n(&r->cqh->tail, __ATOMIC_ACQUIRE) != head) {
			*out = r->cqes[head & (c->p.cq_entries - 1)];
			__atomic_store_n(&r->cqh->head, head + 1, __ATOMIC_RELEASE);
			return 1;
		}
		if (now_ms() >= deadline)
			return 0;
		if (nowait) {
			usleep(500);
		} else {
			struct fastio_wait_arg w = { .ring = ring, .min_complete = 1,
						     .timeout_ns = 20000000ULL };

			if (ioctl(c->dev, FASTIO_IOC_WAIT, &w) < 0 && errno != EINTR && errno != ETIME)
				fail("WAIT");
		}
	}
}

static int get_cqe(struct ctx *c, uint32_t ring, struct fastio_cqe *out, int timeout_ms)
{
	return get_cqe_opt(c, ring, out, timeout_ms, 0);
}

static struct fastio_cqe must_cqe(struct ctx *c, uint32_t ring, const char *what)
{
	struct fastio_cqe cqe;

	CHECK(get_cqe(c, ring, &cqe, 10000), "%s: no completion in 10 s", what);
	return cqe;
}

static void expect(struct ctx *c, uint32_t ring, uint64_t ud, int res, uint32_t flags,
		   const char *what)
{
	struct fastio_cqe cqe = must_cqe(c, ring, what);

	CHECK(cqe.user_data == ud && cqe.res == res && cqe.flags == flags,
	      "%s: got ud %llu res %d flags %#x, want ud %llu res %d flags %#x", what,
	      (unsigned long long)cqe.user_data, cqe.res, cqe.flags, (unsigned long long)ud, res,
	      flags);
}

static void expect_none(struct ctx *c, uint32_t ring, int ms, const char *what)
{
	struct fastio_cqe cqe;

	if (get_cqe(c, ring, &cqe, ms))
		fail("%s: unexpected completion ud %llu res %d flags %#x", what,
		     (unsigned long long)cqe.user_data, cqe.res, cqe.flags);
}

/* ------------------------------------------------------------ groups */

struct group {
	struct fastio_buf *bufs;
	uint32_t entries;
	uint16_t tail;
	uint8_t *mem;		/* nbufs * bufsz, a canary page, 3 PROT_NONE pages */
	size_t bufsz, nbufs;
};

static struct group *group_new(uint32_t entries, size_t bufsz, size_t nbufs)
{
	struct group *g = calloc(1, sizeof(*g));
	size_t ring_bytes = ((entries * sizeof(struct fastio_buf)) + PAGE - 1) & ~(size_t)(PAGE - 1);
	size_t mem_bytes = ((bufsz * nbufs) + PAGE - 1) & ~(size_t)(PAGE - 1);

	CHECK(g, "calloc");
	g->bufs = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(g->bufs != MAP_FAILED, "mmap ring");
	/* The buffers, a canary page, then 3 PROT_NONE pages: the hostile
	 * case's guard addresses, with their offsets and lengths, stay in them. */
	g->mem = mmap(NULL, mem_bytes + 4 * PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(g->mem != MAP_FAILED, "mmap bufs");
	memset(g->mem + mem_bytes, 0xa5, PAGE);				/* canary */
	CHECK(mprotect(g->mem + mem_bytes + PAGE, 3 * PAGE, PROT_NONE) == 0, "mprotect");
	g->entries = entries;
	g->bufsz = bufsz;
	g->nbufs = nbufs;
	return g;
}

static uint8_t *group_canary(struct group *g)
{
	return g->mem + (((g->bufsz * g->nbufs) + PAGE - 1) & ~(size_t)(PAGE - 1));
}

static void *group_buf(struct group *g, uint16_t bid)
{
	return g->mem + (size_t)bid * g->bufsz;
}

static uint16_t *tail_of(struct group *g)
{
	return (uint16_t *)((uint8_t *)g->bufs + 14);
}

/* Writes one descriptor (field by field: bufs[0].resv is the tail) and
 * publishes it with a release store of the tail. */
static void group_add(struct group *g, uint16_t bid)
{
	struct fastio_buf *b = &g->bufs[g->tail & (g->entries - 1)];

	b->addr = (uintptr_t)group_buf(g, bid);
	b->len = g->bufsz;
	b->bid = bid;
	g->tail++;
	__atomic_store_n(tail_of(g), g->tail, __ATOMIC_RELEASE);
}

static int reg_ioctl(struct ctx *c, unsigned long req, uint32_t ring, uint16_t bgid, struct group *g,
		     void (*tweak)(struct fastio_buf_reg *))
{
	struct fastio_buf_reg r = {
		.ring_addr = g ? (uintptr_t)g->bufs : 0,
		.ring_entries = g ? g->entries : 0,
		.ring = ring,
		.bgid = bgid,
	};

	if (tweak)
		tweak(&r);
	return ioctl(c->dev, req, &r) < 0 ? -errno : 0;
}

static int reg(struct ctx *c, uint32_t ring, uint16_t bgid, struct group *g)
{
	return reg_ioctl(c, FASTIO_IOC_REGISTER_BUFS, ring, bgid, g, NULL);
}

static int unreg(struct ctx *c, uint32_t ring, uint16_t bgid)
{
	return reg_ioctl(c, FASTIO_IOC_UNREGISTER_BUFS, ring, bgid, NULL, NULL);
}

static struct fastio_sqe recv_sel(int fd, uint16_t bgid, int multi, uint64_t ud)
{
	struct fastio_sqe e = { .opcode = FASTIO_OP_RECV, .fd = fd, .buf_group = bgid,
				.user_data = ud };

	e.flags = FASTIO_SQE_BUFFER_SELECT | (multi ? FASTIO_SQE_MULTISHOT : 0);
	return e;
}

static uint32_t buf_flags(uint16_t bid, int more)
{
	return FASTIO_CQE_F_BUFFER | ((uint32_t)bid << FASTIO_CQE_BUFFER_SHIFT) |
	       (more ? FASTIO_CQE_F_MORE : 0);
}

static void spair(int sv[2])
{
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
}

static void put(int fd, const char *s)
{
	CHECK(write(fd, s, strlen(s)) == (ssize_t)strlen(s), "write");
}

static int listener(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0, "socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	CHECK(bind(fd, (void *)&a, sizeof(a)) == 0, "bind");
	CHECK(listen(fd, 4096) == 0, "listen");
	CHECK(getsockname(fd, (void *)&a, &len) == 0, "getsockname");
	*port = ntohs(a.sin_port);
	return fd;
}

static int connect_to(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0, "socket");
	CHECK(connect(fd, (void *)&a, sizeof(a)) == 0, "connect");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* ------------------------------------------------------------ cases */

static void t_version(void)
{
	uint32_t versions[] = { 1, 3, 99 };
	unsigned int i;

	for (i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		struct fastio_params p = { .version = versions[i], .sq_entries = 8, .nr_rings = 1,
					   .max_ker_worker = 1, .max_wq_worker = 1,
					   .affinity_offset = -1 };
		int dev = open("/dev/fastio", O_RDWR | O_CLOEXEC);

		CHECK(dev >= 0, "open");
		CHECK(ioctl(dev, FASTIO_IOC_SETUP, &p) < 0 && errno == EPROTO,
		      "SETUP version %u not refused with EPROTO", versions[i]);
		CHECK(p.version == FASTIO_ABI_VERSION,
		      "EPROTO: module's version not written back (got %u)", p.version);
		printf("bufsel: version %u refused: module speaks v%u\n", versions[i], p.version);
		close(dev);
	}
	printf("bufsel: version PASS\n");
}

static void tw_flags(struct fastio_buf_reg *r) { r->flags = 1; }
static void tw_resv(struct fastio_buf_reg *r) { r->resv[1] = 1; }
static void tw_entries0(struct fastio_buf_reg *r) { r->ring_entries = 0; }
static void tw_entries3(struct fastio_buf_reg *r) { r->ring_entries = 3; }
static void tw_entries_big(struct fastio_buf_reg *r) { r->ring_entries = FASTIO_MAX_BUF_ENTRIES * 2; }
static void tw_unaligned(struct fastio_buf_reg *r) { r->ring_addr += 16; }
static void tw_kernel(struct fastio_buf_reg *r) { r->ring_addr = 0xffff888000000000ULL; }
static void tw_null(struct fastio_buf_reg *r) { r->ring_addr = 0; }

static void t_register(void)
{
	struct ctx *c = ctx_open(2, 1000, 64);
	struct group *g = group_new(8, 64, 8);
	struct {
		const char *what;
		void (*tw)(struct fastio_buf_reg *);
		uint32_t ring;
		uint16_t bgid;
		int err;
	} cases[] = {
		{ "bgid 64", NULL, 0, FASTIO_MAX_BUF_GROUPS, -EINVAL },
		{ "bgid 65535", NULL, 0, 65535, -EINVAL },
		{ "ring 2", NULL, 2, 0, -EINVAL },
		{ "ring huge", NULL, 0xffffffffu, 0, -EINVAL },
		{ "flags", tw_flags, 0, 0, -EINVAL },
		{ "resv", tw_resv, 0, 0, -EINVAL },
		{ "entries 0", tw_entries0, 0, 0, -EINVAL },
		{ "entries 3", tw_entries3, 0, 0, -EINVAL },
		{ "entries 65536", tw_entries_big, 0, 0, -EINVAL },
		{ "unaligned", tw_unaligned, 0, 0, -EINVAL },
		{ "kernel address", tw_kernel, 0, 0, -EFAULT },
		{ "null", tw_null, 0, 0, -EFAULT },
	};
	struct fastio_sqe bad[9];
	unsigned int i;
	int sv[2], st, ret;
	pid_t pid;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ret = reg_ioctl(c, FASTIO_IOC_REGISTER_BUFS, cases[i].ring, cases[i].bgid, g,
				cases[i].tw);
		CHECK(ret == cases[i].err, "REGISTER %s: %d, want %d", cases[i].what, ret,
		      cases[i].err);
	}
	CHECK(reg(c, 0, 0, g) == 0, "REGISTER");
	CHECK(reg(c, 0, 0, g) == -EEXIST, "REGISTER twice: not EEXIST");
	CHECK(reg(c, 1, 0, g) == 0, "REGISTER the same bgid on ring 1");
	CHECK(unreg(c, 0, 5) == -ENOENT, "UNREGISTER of a free bgid: not ENOENT");
	CHECK(unreg(c, 0, 64) == -EINVAL, "UNREGISTER bgid 64: not EINVAL");
	CHECK(unreg(c, 1, 0) == 0, "UNREGISTER ring 1");
	CHECK(unreg(c, 1, 0) == -ENOENT, "UNREGISTER twice: not ENOENT");

	/* Only the owner: a forked child gets EPERM. */
	pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0)
		_exit(reg(c, 1, 3, g) == -EPERM && unreg(c, 0, 0) == -EPERM ? 0 : 1);
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "REGISTER/UNREGISTER from a forked child not EPERM");

	/* SQEs the module must refuse (fastio/src/validate.rs). */
	spair(sv);
	for (i = 0; i < 9; i++)
		bad[i] = recv_sel(sv[0], 0, 0, 100 + i);
	bad[0].addr = 4096;					/* SELECT with an address */
	bad[1].opcode = FASTIO_OP_SEND;				/* SELECT on SEND */
	bad[2].flags |= FASTIO_SQE_ASYNC;			/* SELECT + ASYNC */
	bad[3].flags = FASTIO_SQE_MULTISHOT;			/* MULTISHOT RECV, no SELECT */
	bad[3].addr = 4096, bad[3].len = 1;
	bad[3].buf_group = 0;
	bad[4].flags |= FASTIO_SQE_MULTISHOT;			/* MULTISHOT + WAITALL */
	bad[4].op_flags = MSG_WAITALL;
	bad[5].flags = 0, bad[5].addr = 4096, bad[5].len = 1;	/* buf_group without SELECT */
	bad[5].buf_group = 1;
	bad[6].opcode = FASTIO_OP_ACCEPT;			/* MULTISHOT ACCEPT + ASYNC */
	bad[6].flags = FASTIO_SQE_MULTISHOT | FASTIO_SQE_ASYNC;
	bad[7].buf_group = FASTIO_MAX_BUF_GROUPS;		/* group out of range */
	bad[8].opcode = FASTIO_OP_READ;				/* SELECT on READ */
	for (i = 0; i < 9; i++) {
		submit(c, 0, &bad[i]);
		expect(c, 0, 100 + i, -EINVAL, 0, "invalid SQE");
	}
	{
		struct fastio_sqe e = recv_sel(sv[0], 9, 0, 200);	/* not registered */

		submit(c, 0, &e);
		expect(c, 0, 200, -ENOENT, 0, "group not registered");
	}
	printf("bufsel: register errors and refused SQEs PASS\n");

	/* -EBUSY while an op of the group is armed; CLOSE ends it. */
	{
		struct fastio_sqe e = recv_sel(sv[0], 0, 1, 300), cl = { .opcode = FASTIO_OP_CLOSE,
									  .fd = sv[0], .user_data = 301 };
		struct fastio_cqe a, b;

		submit(c, 0, &e);
		expect_none(c, 0, 200, "armed multishot");
		CHECK(unreg(c, 0, 0) == -EBUSY, "UNREGISTER while armed: not EBUSY");
		submit(c, 0, &cl);
		a = must_cqe(c, 0, "CLOSE");
		b = must_cqe(c, 0, "CLOSE");
		if (a.user_data == 301) {
			struct fastio_cqe t = a;

			a = b;
			b = t;
		}
		CHECK(a.user_data == 300 && a.res == -ECANCELED && a.flags == 0,
		      "armed multishot after CLOSE: ud %llu res %d flags %#x",
		      (unsigned long long)a.user_data, a.res, a.flags);
		CHECK(b.user_data == 301 && b.res == 0, "CLOSE: res %d", b.res);
		expect_none(c, 0, 200, "after the final completion");
		CHECK(unreg(c, 0, 0) == 0, "UNREGISTER after the op ended");
	}
	close(sv[1]);
	ctx_close(c);
	printf("bufsel: register EBUSY while armed PASS\n");
}

/* A single-shot RECV with data waiting and no buffer parks; adding one
 * (and WAKE when the poller sleeps) completes it. */
static void refill_case(unsigned int idle_us, int use_wake)
{
	struct ctx *c = ctx_open(1, idle_us, 64);
	struct group *g = group_new(4, 64, 4);
	struct fastio_sqe e;
	struct fastio_cqe cqe;
	int sv[2];

	spair(sv);
	CHECK(reg(c, 0, 0, g) == 0, "REGISTER");
	put(sv[1], "hello");
	e = recv_sel(sv[0], 0, 0, 1);
	submit(c, 0, &e);
	CHECK(!get_cqe_opt(c, 0, &cqe, 300, !use_wake), "RECV completed with an empty group: res %d",
	      cqe.res);
	if (use_wake)
		CHECK(__atomic_load_n(&c->r[0].sqh->flags, __ATOMIC_ACQUIRE) & FASTIO_SQ_NEED_WAKEUP,
		      "the idle poller does not sleep");
	group_add(g, 3);
	if (use_wake)
		wake_if_needed(c, 0);
	CHECK(get_cqe_opt(c, 0, &cqe, 5000, !use_wake), "RECV not completed after a buffer was added (%s)",
	      use_wake ? "WAKE" : "awake poller, no WAKE");
	CHECK(cqe.user_data == 1 && cqe.res == 5 && cqe.flags == buf_flags(3, 0),
	      "refill: res %d flags %#x", cqe.res, cqe.flags);
	CHECK(memcmp(group_buf(g, 3), "hello", 5) == 0, "refill: wrong data in buffer 3");
	close(sv[0]);
	close(sv[1]);
	ctx_close(c);
}

static void t_refill(void)
{
	refill_case(0, 1);		/* poller asleep: NEED_WAKEUP, WAKE */
	refill_case(5000000, 0);	/* poller spinning: no WAKE, no WAIT */
	printf("bufsel: refill PASS\n");
}

static void t_enobufs(void)
{
	struct ctx *c = ctx_open(1, 0, 64);
	struct group *g = group_new(2, 64, 2);
	struct fastio_sqe e;
	int sv[2];

	spair(sv);
	CHECK(reg(c, 0, 1, g) == 0, "REGISTER");
	group_add(g, 0);
	group_add(g, 1);
	e = recv_sel(sv[0], 1, 1, 7);
	submit(c, 0, &e);
	put(sv[1], "a");
	expect(c, 0, 7, 1, buf_flags(0, 1), "first shot");
	put(sv[1], "bb");
	expect(c, 0, 7, 2, buf_flags(1, 1), "second shot");
	put(sv[1], "ccc");
	expect(c, 0, 7, -ENOBUFS, 0, "empty group");
	expect_none(c, 0, 300, "after ENOBUFS");
	/* Re-armed after adding a buffer, it gets the bytes that waited. */
	group_add(g, 1);
	submit(c, 0, &e);
	expect(c, 0, 7, 3, buf_flags(1, 1), "re-armed");
	CHECK(memcmp(group_buf(g, 1), "ccc", 3) == 0, "re-armed: data");
	close(sv[1]);
	expect(c, 0, 7, -ENOBUFS, 0, "EOF with an empty group");
	close(sv[0]);
	ctx_close(c);
	printf("bufsel: enobufs PASS\n");
}

static void t_eof(void)
{
	struct ctx *c = ctx_open(1, 0, 64);
	struct group *g = group_new(4, 64, 4);
	struct fastio_sqe e;
	struct fastio_cqe cqe;
	int sv[2], i;

	spair(sv);
	CHECK(reg(c, 0, 0, g) == 0, "REGISTER");
	for (i = 0; i < 4; i++)
		group_add(g, i);
	e = recv_sel(sv[0], 0, 1, 9);
	submit(c, 0, &e);
	for (i = 0; i < 10; i++) {
		char msg[16];
		uint16_t bid;

		snprintf(msg, sizeof(msg), "msg%d", i);
		put(sv[1], msg);
		cqe = must_cqe(c, 0, "multishot shot");
		bid = cqe.flags >> FASTIO_CQE_BUFFER_SHIFT;
		CHECK(cqe.user_data == 9 && cqe.res == (int)strlen(msg) &&
		      cqe.flags == buf_flags(bid, 1) && bid < 4,
		      "shot %d: res %d flags %#x", i, cqe.res, cqe.flags);
		CHECK(memcmp(group_buf(g, bid), msg, strlen(msg)) == 0, "shot %d: data", i);
		group_add(g, bid);	/* give it back */
	}
	shutdown(sv[1], SHUT_WR);
	expect(c, 0, 9, 0, 0, "EOF");
	expect_none(c, 0, 300, "after EOF");
	close(sv[0]);
	close(sv[1]);
	ctx_close(c);
	printf("bufsel: multishot until EOF PASS\n");
}

/* A multishot RECV whose results fill the CQ: the one that does not fit is
 * its last, posted to the backlog without MORE. */
static void t_cqfull(void)
{
	struct ctx *c = ctx_open_cq(1, 0, 8, 8);
	struct group *g = group_new(16, 64, 16);
	struct ring *r = &c->r[0];
	struct fastio_sqe e;
	int sv[2], i, n;

	spair(sv);
	CHECK(reg(c, 0, 0, g) == 0, "REGISTER");
	for (i = 0; i < 16; i++)
		group_add(g, i);
	e = recv_sel(sv[0], 0, 1, 61);
	submit(c, 0, &e);
	/* One byte at a time, each once the previous one's completion is in
	 * the CQ (not reaped), until the CQ overflows. */
	for (n = 0; !(__atomic_load_n(&r->cqh->flags, __ATOMIC_ACQUIRE) & FASTIO_CQ_OVERFLOW); n++) {
		uint64_t deadline = now_ms() + 10000;

		CHECK(n <= 8, "cqfull: no overflow after %d results", n);
		put(sv[1], "x");
		while (__atomic_load_n(&r->cqh->tail, __ATOMIC_ACQUIRE) - r->cqh->head < (uint32_t)n + 1 &&
		       !(__atomic_load_n(&r->cqh->flags, __ATOMIC_ACQUIRE) & FASTIO_CQ_OVERFLOW)) {
			CHECK(now_ms() < deadline, "cqfull: result %d not posted", n);
			usleep(1000);
		}
	}
	CHECK(n == 9, "cqfull: overflow after %d results, want 9", n);
	for (i = 0; i < 8; i++)
		expect(c, 0, 61, 1, buf_flags(i, 1), "cqfull: results that fit");
	/* WAIT moves the backlog in: the last result, without MORE. */
	expect(c, 0, 61, 1, buf_flags(8, 0), "cqfull: the result that did not fit");
	put(sv[1], "y");
	expect_none(c, 0, 300, "cqfull: after the op ended");
	close(sv[0]);
	close(sv[1]);
	ctx_close(c);
	printf("bufsel: multishot ended by a full CQ PASS\n");
}

static void t_error(void)
{
	struct ctx *c = ctx_open(1, 0, 64);
	struct group *g = group_new(4, 64, 4);
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct fastio_sqe e;
	struct fastio_cqe cqe;
	uint16_t port;
	int lfd = listener(&port), cfd, sfd, i;

	cfd = connect_to(port);
	sfd = accept(lfd, NULL, NULL);
	CHECK(sfd >= 0, "accept");
	CHECK(reg(c, 0, 0, g) == 0, "REGISTER");
	for (i = 0; i < 4; i++)
		group_add(g, i);
	e = recv_sel(sfd, 0, 1, 11);
	submit(c, 0, &e);
	put(cfd, "xy");
	cqe = must_cqe(c, 0, "shot");
	CHECK(cqe.res == 2 && (cqe.flags & FASTIO_CQE_F_MORE) && (cqe.flags & FASTIO_CQE_F_BUFFER),
	      "shot before reset: res %d flags %#x", cqe.res, cqe.flags);
	/* An abortive close: the peer resets the connection. */
	CHECK(setsockopt(cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == 0, "SO_LINGER");
	close(cfd);
	cqe = must_cqe(c, 0, "reset");
	CHECK(cqe.user_data == 11 && cqe.res < 0 && cqe.flags == 0,
	      "after a reset: res %d flags %#x (want an error without MORE)", cqe.res, cqe.flags);
	printf("bufsel: multishot ended by error %d\n", cqe.res);
	expect_none(c, 0, 300, "after the error");
	close(sfd);
	close(lfd);
	ctx_close(c);
	printf("bufsel: multishot until error PASS\n");
}

/* CLOSE submitted on ring 0 (poller 0) of an fd whose multishot RECV is
 * armed through ring 1 (poller 1): one -ECANCELED, without MORE. */
static void t_close(void)
{
	struct ctx *c = ctx_open(2, 0, 64);
	struct group *g = group_new(4, 64, 4);
	struct fastio_sqe e, cl;
	struct pollfd pfd;
	char b;
	int sv[2], i;

	spair(sv);
	CHECK(reg(c, 1, 2, g) == 0, "REGISTER");
	for (i = 0; i < 4; i++)
		group_add(g, i);
	e = recv_sel(sv[0], 2, 1, 21);
	submit(c, 1, &e);
	put(sv[1], "z");
	expect(c, 1, 21, 1, buf_flags(0, 1), "shot");
	cl = (struct fastio_sqe){ .opcode = FASTIO_OP_CLOSE, .fd = sv[0], .user_data = 22 };
	submit(c, 0, &cl);
	expect(c, 0, 22, 0, 0, "CLOSE");
	expect(c, 1, 21, -ECANCELED, 0, "cancelled by CLOSE on another poller");
	expect_none(c, 1, 300, "after the cancellation");
	/* The socket is really closed: the peer sees the end of the stream. */
	pfd = (struct pollfd){ .fd = sv[1], .events = POLLIN };
	CHECK(poll(&pfd, 1, 5000) == 1 && read(sv[1], &b, 1) == 0, "the peer does not see EOF");
	CHECK(unreg(c, 1, 2) == 0, "UNREGISTER after cancel");
	close(sv[1]);
	ctx_close(c);
	printf("bufsel: multishot cancelled by CLOSE across pollers PASS\n");
}

static void t_accept(void)
{
	struct ctx *c = ctx_open(1, 0, 64);
	struct fastio_sqe e = { .opcode = FASTIO_OP_ACCEPT, .flags = FASTIO_SQE_MULTISHOT,
				.op_flags = SOCK_CLOEXEC, .user_data = 31 };
	struct fastio_sqe cl = { .opcode = FASTIO_OP_CLOSE, .user_data = 32 };
	int cfd[5], afd[5], i, got_close = 0, got_end = 0;
	uint16_t port;
	int lfd = listener(&port);

	e.fd = lfd;
	submit(c, 0, &e);
	for (i = 0; i < 5; i++) {
		struct fastio_cqe cqe;

		cfd[i] = connect_to(port);
		cqe = must_cqe(c, 0, "accept shot");
		CHECK(cqe.user_data == 31 && cqe.res >= 0 && cqe.flags == FASTIO_CQE_F_MORE,
		      "accept %d: res %d flags %#x", i, cqe.res, cqe.flags);
		afd[i] = cqe.res;
	}
	/* The accepted fds are real: data goes through. */
	for (i = 0; i < 5; i++) {
		char b = 0;

		put(cfd[i], "k");
		CHECK(read(afd[i], &b, 1) == 1 && b == 'k', "accepted fd %d", i);
	}
	cl.fd = lfd;
	submit(c, 0, &cl);
	for (i = 0; i < 2; i++) {
		struct fastio_cqe cqe = must_cqe(c, 0, "CLOSE listener");

		if (cqe.user_data == 32) {
			CHECK(cqe.res == 0, "CLOSE: %d", cqe.res);
			got_close++;
		} else {
			CHECK(cqe.user_data == 31 && cqe.res == -ECANCELED && cqe.flags == 0,
			      "accept end: res %d flags %#x", cqe.res, cqe.flags);
			got_end++;
		}
	}
	CHECK(got_close == 1 && got_end == 1, "CLOSE of the listener");
	expect_none(c, 0, 300, "after the accept ended");
	for (i = 0; i < 5; i++) {
		close(cfd[i]);
		close(afd[i]);
	}
	ctx_close(c);
	printf("bufsel: multishot accept PASS\n");
}

static void t_twice(void)
{
	struct ctx *c = ctx_open(1, 0, 64);
	struct group *g = group_new(4, 64, 8);
	struct fastio_sqe e;
	int sv[2];

	spair(sv);
	CHECK(reg(c, 0, 0, g) == 0, "REGISTER");
	group_add(g, 7);
	group_add(g, 7);	/* the same buffer twice: the process's business */
	e = recv_sel(sv[0], 0, 0, 41);
	submit(c, 0, &e);
	put(sv[1], "one");
	expect(c, 0, 41, 3, buf_flags(7, 0), "first of twice");
	submit(c, 0, &e);
	put(sv[1], "two!");
	expect(c, 0, 41, 4, buf_flags(7, 0), "second of twice");
	CHECK(memcmp(group_buf(g, 7), "two!", 4) == 0, "twice: data");
	/* Now the group is empty and the buffers were never returned: */
	submit(c, 0, &e);
	put(sv[1], "three");
	expect_none(c, 0, 300, "empty group (never returned)");
	close(sv[1]);
	/* ... the op waits for a buffer; TEARDOWN ends it (ctx_close). */
	atomic_store(&c->done, 1);
	CHECK(ioctl(c->dev, FASTIO_IOC_TEARDOWN, NULL) == 0, "TEARDOWN");
	expect(c, 0, 41, -ECANCELED, 0, "waiting for a buffer at TEARDOWN");
	expect_none(c, 0, 200, "after TEARDOWN");
	close(c->dev);
	ctx_join(c);
	close(sv[0]);
	printf("bufsel: buffers returned twice / never returned PASS\n");
}

/* TEARDOWN with multishot RECV, multishot ACCEPT and an op waiting for a
 * buffer: each ends exactly once. Then the same three armed when the
 * device is simply closed (flush, release): nothing may leak (rmmod later
 * checks the module's refcount). */
static void t_teardown(void)
{
	int round;

	for (round = 0; round < 2; round++) {
		struct ctx *c = ctx_open(1, 0, 64);
		struct group *g = group_new(4, 64, 4), *empty = group_new(4, 64, 4);
		struct fastio_sqe a = { .opcode = FASTIO_OP_ACCEPT, .flags = FASTIO_SQE_MULTISHOT,
					.user_data = 53 };
		struct fastio_sqe e;
		int sv[2], sw[2], seen[3] = { 0 }, i;
		uint16_t port;
		int lfd = listener(&port);

		spair(sv);
		spair(sw);
		CHECK(reg(c, 0, 0, g) == 0 && reg(c, 0, 1, empty) == 0, "REGISTER");
		for (i = 0; i < 4; i++)
			group_add(g, i);
		e = recv_sel(sv[0], 0, 1, 51);
		submit(c, 0, &e);
		e = recv_sel(sw[0], 1, 0, 52);
		put(sw[1], "wait");
		submit(c, 0, &e);
		a.fd = lfd;
		submit(c, 0, &a);
		put(sv[1], "q");
		expect(c, 0, 51, 1, buf_flags(0, 1), "shot before teardown");
		expect_none(c, 0, 200, "armed");
		CHECK(unreg(c, 0, 0) == -EBUSY && unreg(c, 0, 1) == -EBUSY, "UNREGISTER armed");
		if (round == 0) {
			atomic_store(&c->done, 1);
			CHECK(ioctl(c->dev, FASTIO_IOC_TEARDOWN, NULL) == 0, "TEARDOWN");
			for (i = 0; i < 3; i++) {
				struct fastio_cqe cqe = must_cqe(c, 0, "TEARDOWN");

				CHECK(cqe.user_data >= 51 && cqe.user_data <= 53 &&
				      cqe.res == -ECANCELED && cqe.flags == 0,
				      "TEARDOWN: ud %llu res %d flags %#x",
				      (unsigned long long)cqe.user_data, cqe.res, cqe.flags);
				seen[cqe.user_data - 51]++;
			}
			CHECK(seen[0] == 1 && seen[1] == 1 && seen[2] == 1, "TEARDOWN: each once");
			expect_none(c, 0, 200, "after TEARDOWN");
			/* The ops are gone: the groups can go too. */
			CHECK(unreg(c, 0, 0) == 0 && unreg(c, 0, 1) == 0, "UNREGISTER after TEARDOWN");
			close(c->dev);
		} else {
			/* The owner's last fd on the device: flush stops it all. */
			atomic_store(&c->done, 1);
			close(c->dev);
		}
		ctx_join(c);
		close(sv[0]);
		close(sv[1]);
		close(sw[0]);
		close(sw[1]);
		close(lfd);
	}
	printf("bufsel: teardown and close with armed ops PASS\n");
}

/* ------------------------------------------------------------ hostile */

#define H_ENTRIES 64
#define H_BUFSZ 4096

static atomic_int h_stop;
static struct group *h_group;

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Rewrites descriptors (not the tail) as fast as it can: half of the time a
 * good one, else one that must fail: kernel and non-canonical addresses,
 * NULL, the PROT_NONE page, with lengths 0, huge, or the real one. Any mix
 * of these fields is either good or refused; none reaches the canary. */
static void *hostile(void *arg)
{
	struct group *g = h_group;
	uint64_t s = 0x9e3779b97f4a7c15ULL;
	uint8_t *guard = group_canary(g) + PAGE;
	const uint64_t bad_addr[] = { 0xffff888000000000ULL, 0xffffffff81000000ULL, 0,
				      0x0000800000000000ULL, 0x8000000000000000ULL,
				      (uintptr_t)guard, (uintptr_t)guard + 2048, ~0ULL - 4095 };
	const uint32_t bad_len[] = { 0, 0xffffffffu, FASTIO_MAX_IO_LEN + 1, H_BUFSZ };

	(void)arg;
	while (!atomic_load_explicit(&h_stop, memory_order_relaxed)) {
		uint64_t r = rnd(&s);
		struct fastio_buf *b = &g->bufs[r % H_ENTRIES];
		volatile __u64 *addr = &b->addr;
		volatile __u32 *len = &b->len;
		volatile __u16 *bid = &b->bid;
		uint16_t id = (r >> 8) % H_ENTRIES;

		if (r & (1ULL << 20)) {
			*addr = (uintptr_t)group_buf(g, id);
			*len = H_BUFSZ;
			*bid = id;
		} else {
			*addr = bad_addr[(r >> 24) % 8] + ((r >> 32) & 0xff0 & -(uint64_t)((r >> 40) & 1));
			*len = bad_len[(r >> 44) % 4];
			*bid = (r >> 48);
		}
	}
	return NULL;
}

static void t_hostile(void)
{
	struct ctx *c = ctx_open(1, 5000000, 256);
	struct group *g = group_new(H_ENTRIES, H_BUFSZ, H_ENTRIES);
	uint64_t ok = 0, efault = 0, einval = 0, deadline = now_ms() + 3000;
	uint64_t next_report = now_ms() + 1000;
	uint32_t taken = 0;
	pthread_t th;
	unsigned int i;
	int sv[2];
	uint8_t *canary = group_canary(g);
	char data[512];

	h_group = g;
	spair(sv);
	memset(data, 'd', sizeof(data));
	CHECK(reg(c, 0, 0, g) == 0, "REGISTER");
	for (i = 0; i < H_ENTRIES; i++)
		group_add(g, i);
	CHECK(pthread_create(&th, NULL, hostile, NULL) == 0, "pthread_create");
	for (i = 0; now_ms() < deadline || ok == 0 || efault + einval == 0; i++) {
		struct fastio_sqe e = recv_sel(sv[0], 0, 0, i);
		struct fastio_cqe cqe;

		CHECK(now_ms() < deadline + 20000, "hostile: no success or no refusal in 20 s");
		/* Data for every RECV, or it would park (a success takes all
		 * there is); refused RECVs leave the bytes queued, so the
		 * socket may be full: then there is data anyway. */
		if (send(sv[1], data, sizeof(data), MSG_DONTWAIT) < 0)
			CHECK(errno == EAGAIN, "send");
		if (now_ms() >= next_report) {
			printf("bufsel: hostile: %u RECVs: %llu ok, %llu EFAULT, %llu EINVAL\n", i,
			       (unsigned long long)ok, (unsigned long long)efault,
			       (unsigned long long)einval);
			next_report += 1000;
		}
		/* The group always looks full: tail = head + entries. */
		__atomic_store_n(tail_of(g), (uint16_t)(taken + H_ENTRIES), __ATOMIC_RELEASE);
		submit(c, 0, &e);
		cqe = must_cqe(c, 0, "hostile RECV");
		if (cqe.res > 0) {
			CHECK(cqe.flags & FASTIO_CQE_F_BUFFER, "data without F_BUFFER");
			CHECK(cqe.res <= H_BUFSZ, "more than the buffer: %d", cqe.res);
			ok++;
			taken++;
		} else if (cqe.res == -EFAULT) {
			efault++;
		} else if (cqe.res == -EINVAL) {
			einval++;
		} else if (cqe.res == -ENOBUFS || cqe.res == 0) {
			fail("hostile: res %d", cqe.res);
		} else {
			fail("hostile: unexpected res %d", cqe.res);
		}
		CHECK(!(cqe.flags & FASTIO_CQE_F_BUFFER) || cqe.res > 0, "F_BUFFER on an error");
	}
	atomic_store(&h_stop, 1);
	pthread_join(th, NULL);
	printf("bufsel: hostile: %llu ok, %llu EFAULT, %llu EINVAL in %u RECVs\n",
	       (unsigned long long)ok, (unsigned long long)efault, (unsigned long long)einval, i);
	for (i = 0; i < PAGE; i++)
		CHECK(canary[i] == 0xa5, "canary byte %u overwritten", i);
	close(sv[0]);
	close(sv[1]);
	ctx_close(c);
	printf("bufsel: hostile descriptors PASS\n");
}

/* ------------------------------------------------------------ conns */

#define NCONN 1000
#define NBYTES 8
#define C_ENTRIES 4096
#define C_BUFSZ 16

struct conn {
	int cfd, sfd;
	int got;
	int ended;
	uint8_t data[NBYTES];
};

static void t_conns(void)
{
	struct ctx *c = ctx_open(1, 1000, 4096);
	struct group *g = group_new(C_ENTRIES, C_BUFSZ, C_ENTRIES);
	static struct conn conns[NCONN];
	int *by_fd, nacc = 0, i, k, ends = 0, max_fd = 0;
	struct fastio_sqe acc = { .opcode = FASTIO_OP_ACCEPT, .flags = FASTIO_SQE_MULTISHOT,
				  .op_flags = SOCK_CLOEXEC, .user_data = 1 };
	struct rlimit rl = { 8192, 8192 };
	uint64_t total = 0, shots = 0, rearms = 0;
	uint16_t port;
	int lfd;

	CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0, "RLIMIT_NOFILE 8192");
	by_fd = calloc(rl.rlim_cur, sizeof(*by_fd));
	CHECK(by_fd, "calloc");
	lfd = listener(&port);
	CHECK(reg(c, 0, 5, g) == 0, "REGISTER");
	for (i = 0; i < C_ENTRIES; i++)
		group_add(g, i);
	acc.fd = lfd;
	submit(c, 0, &acc);

	/* Handles one completion; returns 0 if none came within 10 s. */
#define REAP_ONE()								\
	({									\
		struct fastio_cqe cq;						\
		int got_ = get_cqe(c, 0, &cq, 10000);				\
		if (got_) {							\
			if (cq.user_data == 1) {					\
				CHECK(cq.res >= 0 && (cq.flags & FASTIO_CQE_F_MORE), \
				      "conns: accept res %d flags %#x", cq.res, cq.flags); \
				CHECK(nacc < NCONN && cq.res < (int)rl.rlim_cur, "conns: extra accept"); \
				conns[nacc].sfd = cq.res;			\
				by_fd[cq.res] = nacc + 1;			\
				if (cq.res > max_fd)				\
					max_fd = cq.res;			\
				{						\
					struct fastio_sqe r_ = recv_sel(cq.res, 5, 1, 1000 + cq.res); \
					submit(c, 0, &r_);			\
				}						\
				nacc++;						\
			} else {						\
				int fd_ = cq.user_data - 1000;			\
				struct conn *cn;				\
				CHECK(fd_ >= 0 && fd_ <= max_fd && by_fd[fd_], "conns: ud %llu", \
				      (unsigned long long)cq.user_data);	\
				cn = &conns[by_fd[fd_] - 1];			\
				if (cq.res > 0) {				\
					uint16_t bid_ = cq.flags >> FASTIO_CQE_BUFFER_SHIFT; \
					CHECK(cq.flags & FASTIO_CQE_F_BUFFER, "conns: no buffer"); \
					CHECK(cn->got + cq.res <= NBYTES, "conns: too many bytes"); \
					memcpy(cn->data + cn->got, group_buf(g, bid_), cq.res); \
					cn->got += cq.res;			\
					total += cq.res;			\
					shots++;				\
					group_add(g, bid_);			\
					wake_if_needed(c, 0);			\
					if (!(cq.flags & FASTIO_CQE_F_MORE)) {	\
						/* ended by a full CQ: re-arm */ \
						struct fastio_sqe r_ = recv_sel(fd_, 5, 1, cq.user_data); \
						submit(c, 0, &r_);		\
						rearms++;			\
					}					\
				} else if (cq.res == 0) {			\
					CHECK(cq.flags == 0, "conns: EOF flags %#x", cq.flags); \
					CHECK(!cn->ended, "conns: two ends");	\
					cn->ended = 1;				\
					ends++;					\
				} else {					\
					fail("conns: recv res %d flags %#x", cq.res, cq.flags); \
				}						\
			}							\
		}								\
		got_;								\
	})

	for (i = 0; i < NCONN; i++) {
		conns[i].cfd = connect_to(port);
		/* Take what has come so far without waiting. */
		while (c->r[0].cqh->tail != c->r[0].cqh->head)
			REAP_ONE();
	}
	while (nacc < NCONN)
		CHECK(REAP_ONE(), "conns: %d of %d accepted", nacc, NCONN);
	printf("bufsel: conns: %d connections accepted by one multishot ACCEPT\n", nacc);

	/* conns[i] is the i-th accepted, not necessarily the i-th connected:
	 * find each client's server side through the bytes it sends. Each
	 * client sends byte value (client index + k) at step k. */
	for (k = 0; k < NBYTES; k++) {
		for (i = 0; i < NCONN; i++) {
			uint8_t b = (uint8_t)(i + k);

			CHECK(write(conns[i].cfd, &b, 1) == 1, "conns: write");
		}
		while (total < (uint64_t)NCONN * (k + 1))
			CHECK(REAP_ONE(), "conns: step %d: %llu bytes of %d", k,
			      (unsigned long long)total, NCONN * (k + 1));
	}
	for (i = 0; i < NCONN; i++) {
		struct conn *cn = &conns[i];

		CHECK(cn->got == NBYTES, "conns: conn %d got %d bytes", i, cn->got);
		for (k = 1; k < NBYTES; k++)
			CHECK(cn->data[k] == (uint8_t)(cn->data[0] + k), "conns: conn %d: byte %d out of order",
			      i, k);
	}
	printf("bufsel: conns: %llu bytes in %llu completions, %llu re-arms\n",
	       (unsigned long long)total, (unsigned long long)shots, (unsigned long long)rearms);
	for (i = 0; i < NCONN; i++)
		close(conns[i].cfd);
	while (ends < NCONN)
		CHECK(REAP_ONE(), "conns: %d of %d EOFs", ends, NCONN);
	{
		struct fastio_sqe cl = { .opcode = FASTIO_OP_CLOSE, .fd = lfd, .user_data = 2 };
		int got_close = 0, got_end = 0;

		submit(c, 0, &cl);
		while (got_close + got_end < 2) {
			struct fastio_cqe cqe = must_cqe(c, 0, "conns: CLOSE listener");

			if (cqe.user_data == 2)
				got_close++;
			else
				CHECK(cqe.user_data == 1 && cqe.res == -ECANCELED && cqe.flags == 0 &&
				      ++got_end, "conns: accept end res %d", cqe.res);
		}
	}
	expect_none(c, 0, 200, "conns: after everything ended");
	for (i = 0; i < NCONN; i++)
		close(conns[i].sfd);
	ctx_close(c);
	free(by_fd);
	printf("bufsel: %d connections, multishot RECV byte by byte PASS\n", NCONN);
#undef REAP_ONE
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	(void)argc;
	(void)argv;
	t_version();
	t_register();
	t_refill();
	t_enobufs();
	t_eof();
	t_cqfull();
	t_error();
	t_close();
	t_accept();
	t_twice();
	t_teardown();
	t_hostile();
	t_conns();
	printf("BUFSEL PASS\n");
	return 0;
}
