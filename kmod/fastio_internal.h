/* SPDX-License-Identifier: GPL-2.0 */
/*
 * FastIO module internals: the per-open context, ring pairs, pollers and
 * requests. See README.md for the threading model and the locking rules; the
 * short version is at each lock below.
 */
#ifndef _FASTIO_INTERNAL_H
#define _FASTIO_INTERNAL_H

#include <linux/types.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/hrtimer.h>
#include <linux/poll.h>
#include <linux/fs.h>
#include <uapi/fastio.h>

struct fastio_ctx;
struct fastio_poller;
struct fastio_buf_group;
struct socket;

#define FASTIO_BY_FILE_BUCKETS	64

/* One ring pair, kernel side. The shared pages hold the headers and entries;
 * everything the kernel relies on (masks, its own index) is kept here, since
 * the process may write anything into the shared pages at any moment. */
struct fastio_ring {
	/* Cache-line aligned (as the pollers): neighbouring rings belong to
	 * different pollers, and sq_head / cq_tail are written every pass. */
	struct fastio_ctx *ctx;
	struct fastio_poller *poller;	/* the one poller consuming this SQ */
	unsigned int index;

	struct fastio_ring_hdr *sq_hdr;
	struct fastio_ring_hdr *cq_hdr;
	struct fastio_sqe *sqes;
	struct fastio_cqe *cqes;
	u32 sq_mask, sq_entries;
	u32 cq_mask, cq_entries;

	u32 sq_head;			/* private consumer index (poller only) */

	/* cq_lock serialises every CQ producer: the poller and the blocking
	 * workers. All of them run in process context, so it is a mutex and
	 * backlog entries can be allocated while holding it. */
	struct mutex cq_lock;
	u32 cq_tail;			/* private producer index */
	/* The poller holds cq_lock across a pass over this ring's SQ and
	 * publishes the tail once at its end (ring.c: batches). */
	struct task_struct *batcher;	/* holder of such a batch (READ_ONCE) */
	bool batch_posted;		/* unpublished CQEs in the batch */
	struct list_head backlog;	/* struct fastio_ovf, oldest first */

	u64 completed, overflowed;	/* counters, written under cq_lock */

	atomic_t inflight;		/* reqs parked, queued or timing */
	wait_queue_head_t cq_wait;	/* FASTIO_IOC_WAIT sleepers */

	/* Buffer groups (bufs.c). bufs_lock guards the table and each group's
	 * pin count; it nests inside ctx->lock and cq_lock (a req freed by a
	 * canceller or inside a CQ batch unpins its group). */
	struct mutex bufs_lock;
	struct fastio_buf_group **bgroups;	/* [FASTIO_MAX_BUF_GROUPS], allocated
						 * at the first registration */
} ____cacheline_aligned_in_smp;

enum fastio_req_state {
	FASTIO_REQ_RUNNING,	/* owned by the thread executing it */
	FASTIO_REQ_PARKED,	/* on poller->parked, armed on a wait queue or timer;
				 * or on poller->nobuf, waiting for a buffer */
	FASTIO_REQ_READY,	/* on poller->ready, to be retried or completed */
	FASTIO_REQ_CANCELLED,	/* taken by a canceller */
};

/* An op that outlives its first attempt: parked on a socket, queued for a
 * blocking worker, or a pending TIMEOUT. */
struct fastio_req {
	struct list_head node;		/* parked/ready (ready_lock) or wq list */
	struct hlist_node file_node;	/* poller's by_file table (poller only) */
	struct fastio_sqe sqe;		/* private copy, made once */
	struct fastio_ring *ring;
	struct file *file;		/* reference held for the req's lifetime */
	/* BUFFER_SELECT: the group it takes buffers from, pinned for the req's
	 * lifetime (UNREGISTER_BUFS says -EBUSY meanwhile). */
	struct fastio_buf_group *group;
	enum fastio_req_state state;	/* under poller->ready_lock when listed */
	int res;			/* result for a fired TIMEOUT */

	/* poll arming: our entry on the socket's wait queue */
	struct wait_queue_entry wait;
	wait_queue_head_t *head;
	__poll_t events;

	struct hrtimer timer;		/* TIMEOUT only */
};

struct fastio_poller_stats {
	u64 submitted, invalid, parked, requeued, offloaded, sleeps, wakeups, loops;
};

/* A polling worker. Its loop runs in the thread that called RUN_WORKER. */
struct fastio_poller {
	struct fastio_ctx *ctx;
	unsigned int index;
	wait_queue_head_t wait;		/* the poller sleeps here */
	bool kick;			/* WAKE asked for a pass (READ/WRITE_ONCE) */

	/* ready_lock guards parked, ready and every listed req's state. It is
	 * taken from wait-queue callbacks and hrtimer callbacks (any context),
	 * hence irqsave. Lock order: a wait queue head's lock, then ready_lock. */
	spinlock_t ready_lock;
	struct list_head parked;
	struct list_head ready;

	/* CLOSE asked by another poller for files whose ops may be parked
	 * here (struct fastio_cancel_msg, under ready_lock): the poller
	 * cancels them itself, the only thread that may see its reqs between
	 * states (poll.c). */
	struct list_head inbox;

	/* Reqs waiting for a buffer of an empty group (FASTIO_REQ_PARKED, on no
	 * wait queue). Only the thread that owns the poller's reqs touches it
	 * (changes are made under ready_lock, as cancellers claim reqs there);
	 * the loop re-reads the groups' tails each pass (bufs.c). */
	struct list_head nobuf;
	unsigned long bufs_gen;		/* pass number of those re-reads */

	/* Parked and ready reqs by file, so that CLOSE cancels in proportion
	 * to the fd's own ops. Touched only by the thread that owns the
	 * poller's reqs (its loop, or release when no loop runs). */
	struct hlist_head by_file[FASTIO_BY_FILE_BUCKETS];
	unsigned long busy_buckets;	/* bit b: by_file[b] non-empty (READ/WRITE_ONCE) */

	struct task_struct *task;	/* thread running the loop; ctx->lock */
	struct fastio_poller_stats stats;	/* written by the loop only */
} ____cacheline_aligned_in_smp;

/* Per open of /dev/fastio. Nothing in the module is global but the device. */
struct fastio_ctx {
	struct mutex lock;		/* setup and worker registration */
	bool ready;			/* set up; params and rings are immutable */
	bool stopping;			/* teardown asked (READ/WRITE_ONCE) */
	/* The owner is gone (its last fd on the device closed, or it exited):
	 * cancelled ops are freed without completions nobody would read. */
	bool orphaned;
	struct pid *owner;		/* thread group that may run workers */
	/* What ops run with: the opener's memory, files and credentials,
	 * recorded at SETUP; a worker must share all three (main.c). mm is
	 * pinned (mmgrab) for the RLIMIT_MEMLOCK charge, cred referenced. */
	struct mm_struct *mm;
	struct files_struct *files;	/* compared only, never dereferenced */
	const struct cred *cred;
	unsigned long locked_pages;	/* charged to mm->locked_vm */
	struct fastio_params p;

	void *mem;			/* __vmalloc(GFP_KERNEL_ACCOUNT): all ring pairs */
	size_t mem_size;
	struct fastio_ring *rings;
	struct fastio_poller *pollers;

	/* Blocking workers: wq_lock guards wq_list (process context only). */
	spinlock_t wq_lock;
	struct list_head wq_list;
	wait_queue_head_t wq_wait;
	struct task_struct **wq_tasks;	/* ctx->lock */

	atomic_t allocs;		/* counted for fault injection (main.c) */
};

/* main.c: fault injection; ALLOC(ctx, expr) is expr, or NULL when the
 * module parameter fault_every says this allocation fails. */
bool fastio_fault(struct fastio_ctx *ctx);
#define FASTIO_ALLOC(ctx, expr) (fastio_fault(ctx) ? NULL : (expr))

/* main.c */
extern const struct file_operations fastio_fops;

/* setup.c */
int fastio_setup(struct fastio_ctx *ctx, struct fastio_params __user *uarg);
void fastio_free_rings(struct fastio_ctx *ctx);

/* ring.c */
void fastio_post(struct fastio_ring *r, u64 user_data, s32 res);
bool fastio_post_flags(struct fastio_ring *r, u64 user_data, s32 res, u32 flags);
bool fastio_flush_backlog(struct fastio_ring *r);
void fastio_free_backlog(struct fastio_ring *r);
u32 fastio_cq_ready(struct fastio_ring *r);
void fastio_cq_batch_begin(struct fastio_ring *r);
void fastio_cq_batch_end(struct fastio_ring *r);
bool fastio_sq_pending(struct fastio_ring *r);
bool fastio_sq_pop(struct fastio_ring *r, struct fastio_sqe *out);
int fastio_check_sqe(const struct fastio_sqe *sqe);

/* poller.c */
int fastio_run_poller(struct fastio_ctx *ctx, struct fastio_poller *po);
void fastio_poller_stopped(struct fastio_ctx *ctx, struct fastio_poller *po);
void fastio_poller_kick(struct fastio_poller *po);
struct fastio_req *fastio_req_alloc(struct fastio_ring *r, const struct fastio_sqe *sqe,
				    struct file *file);
void fastio_req_finish(struct fastio_req *req, s32 res);
void fastio_req_complete(struct fastio_req *req, s32 res, u32 cflags);
void fastio_req_free(struct fastio_req *req);

/* ops.c */
/* What a poller's attempt came to. Kept apart from the op's result: every
 * int is a valid result for some op (a 1-byte recv returns 1). */
enum fastio_next {
	FASTIO_DONE,		/* *res is the result: post it */
	FASTIO_PARK,		/* not ready: park on *events */
	FASTIO_OFFLOAD,		/* may sleep: hand to a blocking worker */
	FASTIO_NOBUF,		/* data is there, the group is empty: wait for a
				 * buffer (single-shot BUFFER_SELECT) */
};
struct file *fastio_fget(int fd);
enum fastio_next fastio_exec_nonblock(const struct fastio_sqe *sqe, struct file *file, int *res,
				      __poll_t *events);
int fastio_exec_blocking(const struct fastio_sqe *sqe, struct file *file);
int fastio_recv_buf(struct socket *sock, u64 addr, u32 len, unsigned int flags);

/* bufs.c */
/* What one attempt at an op came to, besides enum fastio_next. */
struct fastio_attempt {
	int res;		/* FASTIO_DONE: the result */
	u32 cflags;		/* FASTIO_DONE: cqe flags (a buffer taken) */
	__poll_t events;	/* FASTIO_PARK: what to wait for */
};
int fastio_register_bufs(struct fastio_ctx *ctx, const struct fastio_buf_reg __user *uarg);
int fastio_unregister_bufs(struct fastio_ctx *ctx, const struct fastio_buf_reg __user *uarg);
struct fastio_buf_group *fastio_buf_get(struct fastio_ring *r, u16 bgid);
void fastio_buf_put(struct fastio_ring *r, struct fastio_buf_group *g);
void fastio_free_bufs(struct fastio_ring *r);
enum fastio_next fastio_recv_select(struct fastio_req *req, struct fastio_attempt *at);
bool fastio_buf_available(struct fastio_buf_group *g, unsigned long gen);
unsigned int fastio_recheck_bufs(struct fastio_poller *po);

/* poll.c */
int fastio_arm(struct fastio_poller *po, struct fastio_req *req, __poll_t events);
void fastio_disarm(struct fastio_req *req);
void fastio_arm_timeout(struct fastio_poller *po, struct fastio_req *req);
void fastio_cancel(struct fastio_poller *po, struct file *file, bool post);
void fastio_untrack(struct fastio_poller *po, struct fastio_req *req);
void fastio_cancel_elsewhere(struct fastio_poller *po, struct file *file);
void fastio_run_inbox(struct fastio_poller *po);
void fastio_free_inbox(struct fastio_poller *po);
int fastio_park_nobuf(struct fastio_poller *po, struct fastio_req *req);

/* wq.c */
void fastio_wq_queue(struct fastio_ctx *ctx, struct fastio_req *req);
int fastio_run_blocking(struct fastio_ctx *ctx, unsigned int index);
void fastio_wq_cancel(struct fastio_ctx *ctx, struct file *file, bool post);
void fastio_wq_interrupt(struct fastio_ctx *ctx);

#endif /* _FASTIO_INTERNAL_H */
