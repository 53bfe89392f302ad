// SPDX-License-Identifier: GPL-2.0
/*
 * The polling worker. A thread of the process calls FASTIO_IOC_RUN_WORKER
 * and runs this loop inside the kernel until teardown or a signal, so every
 * op executes with the process's file table and credentials:
 *
 *   loop:
 *     for each ring this poller serves: flush its CQ backlog, then pop and
 *       handle every submission (copied once into kernel memory)
 *     retry the parked ops whose socket became ready, and those waiting for
 *       a buffer whose group got one (bufs.c); post fired TIMEOUTs
 *     idle for idle_us? set SQ NEED_WAKEUP on each ring, re-check, sleep
 *
 * An op is tried once without blocking. Not ready: parked on the socket's
 * wait queue (poll.c). May sleep: handed to a blocking worker (wq.c).
 */
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/file.h>
#include <linux/fdtable.h>
#include <linux/ktime.h>
#include <linux/cpumask.h>
#include <linux/task_work.h>
#include "fastio_internal.h"

struct fastio_req *fastio_req_alloc(struct fastio_ring *r, const struct fastio_sqe *sqe,
				    struct file *file)
{
	struct fastio_req *req = FASTIO_ALLOC(r->ctx, kzalloc(sizeof(*req), GFP_KERNEL_ACCOUNT));

	if (!req)
		return NULL;
	INIT_LIST_HEAD(&req->node);
	INIT_HLIST_NODE(&req->file_node);
	req->sqe = *sqe;
	req->ring = r;
	req->file = file;
	req->state = FASTIO_REQ_RUNNING;
	atomic_inc(&r->inflight);
	return req;
}

/* Frees a req (out of every list) with its file reference. A ring whose
 * SQ its poller stopped consuming at the in-flight cap gets its poller
 * kicked: the process is not expected to know (a blocking worker or a
 * canceller may be the one freeing). */
void fastio_req_free(struct fastio_req *req)
{
	struct fastio_ring *r = req->ring;

	if (req->file)
		fput(req->file);
	if (req->group)
		fastio_buf_put(r, req->group);
	kfree(req);
	if (atomic_dec_return(&r->inflight) == FASTIO_MAX_INFLIGHT - 1)
		fastio_poller_kick(r->poller);
}

/* Posts the req's completion and frees it. */
void fastio_req_finish(struct fastio_req *req, s32 res)
{
	fastio_req_complete(req, res, 0);
}

/* The same with cqe flags (a buffer taken). Never F_MORE: this ends it. */
void fastio_req_complete(struct fastio_req *req, s32 res, u32 cflags)
{
	fastio_post_flags(req->ring, req->sqe.user_data, res, cflags);
	fastio_req_free(req);
}

void fastio_poller_kick(struct fastio_poller *po)
{
	WRITE_ONCE(po->kick, true);
	wake_up(&po->wait);
}

static bool is_ours(struct fastio_poller *po, struct fastio_ring *r)
{
	return r->poller == po;
}

/* The rings poller `po` serves. (`if (!...) {} else`: a following else
 * cannot attach to the macro's if.) */
#define for_each_my_ring(po, r, i)					\
	for ((i) = 0; (i) < (po)->ctx->p.nr_rings; (i)++)		\
		if (((r) = &(po)->ctx->rings[i]), !is_ours(po, r)) {} else

/* A ring may be consumed unless completions wait in its backlog or it has
 * too many ops in flight: then the SQ fills and the process sees it full. */
static bool may_consume(struct fastio_ring *r)
{
	return list_empty_careful(&r->backlog) &&
	       atomic_read(&r->inflight) < FASTIO_MAX_INFLIGHT;
}

/* Parks, offloads or completes a req after an attempt came to `next`. */
static void settle(struct fastio_poller *po, struct fastio_req *req, enum fastio_next next,
		   const struct fastio_attempt *at)
{
	u32 cflags = 0;
	int res;

	switch (next) {
	case FASTIO_PARK:
		po->stats.parked++;
		res = fastio_arm(po, req, at->events);
		if (!res)
			return;
		break;
	case FASTIO_NOBUF:
		res = fastio_park_nobuf(po, req);
		if (!res)
			return;
		break;
	case FASTIO_OFFLOAD:
		po->stats.offloaded++;
		fastio_untrack(po, req);
		fastio_wq_queue(po->ctx, req);
		return;
	case FASTIO_DONE:
	default:
		res = at->res;
		cflags = at->cflags;
		break;
	}
	fastio_untrack(po, req);
	fastio_req_complete(req, res, cflags);
}

/* A multishot op's result that lets it go on: a connection, or bytes (0 is
 * the end of the stream, a negative value an error: both end it). */
static bool is_shot(const struct fastio_req *req, int res)
{
	if (!(req->sqe.flags & FASTIO_SQE_MULTISHOT))
		return false;
	return req->sqe.opcode == FASTIO_OP_ACCEPT ? res >= 0 : res > 0;
}

/* One non-blocking attempt at a req, with or without a selected buffer. */
static enum fastio_next attempt(struct fastio_req *req, struct fastio_attempt *at)
{
	if (req->sqe.flags & FASTIO_SQE_BUFFER_SELECT)
		return fastio_recv_select(req, at);
	return fastio_exec_nonblock(&req->sqe, req->file, &at->res, &at->events);
}

/*
 * Tries a req (a fresh BUFFER_SELECT or MULTISHOT op, or one made ready)
 * and settles it. A multishot op's result is posted with F_MORE and the op
 * parks again for the next one (arming sees readiness that is already
 * there, so remaining data is taken on the next pass, not in a loop here);
 * if the CQ had no room, that result was its last, posted without MORE.
 */
static void run_req(struct fastio_poller *po, struct fastio_req *req)
{
	struct fastio_attempt at = {};
	enum fastio_next next = attempt(req, &at);

	if (next == FASTIO_DONE && is_shot(req, at.res)) {
		if (!fastio_post_flags(req->ring, req->sqe.user_data, at.res,
				       at.cflags | FASTIO_CQE_F_MORE)) {
			fastio_untrack(po, req);
			fastio_req_free(req);
			return;
		}
		next = FASTIO_PARK;	/* at.events: what the attempt waits for */
	}
	settle(po, req, next, &at);
}

/*
 * BUFFER_SELECT and MULTISHOT ops get a req before their first attempt:
 * they may take a buffer, post several completions or wait for a buffer.
 * The req pins its group (-ENOENT: not registered for this ring).
 */
static void start_req(struct fastio_poller *po, struct fastio_ring *r,
		      const struct fastio_sqe *sqe)
{
	struct fastio_buf_group *g = NULL;
	struct fastio_req *req;
	struct file *file;
	int res;

	if (sqe->flags & FASTIO_SQE_BUFFER_SELECT) {
		g = fastio_buf_get(r, sqe->buf_group);
		if (!g) {
			fastio_post(r, sqe->user_data, -ENOENT);
			return;
		}
	}
	file = fastio_fget(sqe->fd);
	if (IS_ERR(file)) {
		res = PTR_ERR(file);
		goto fail;
	}
	req = fastio_req_alloc(r, sqe, file);
	if (!req) {
		fput(file);
		res = -ENOMEM;
		goto fail;
	}
	req->group = g;		/* the req's pin from now on */
	run_req(po, req);
	return;
fail:
	if (g)
		fastio_buf_put(r, g);
	fastio_post(r, sqe->user_data, res);
}

/*
 * Ops on the file would otherwise wait as long as their references keep it
 * open, and the peer would never see it closed: after the fd leaves the
 * table, cancel them wherever they are. Here at once; on other pollers by
 * message (they alone may touch their reqs between states); in the
 * blocking workers' queue. An op a blocking worker is running finishes on
 * its own. (A dup of the fd loses its parked ops too: they are the file's.)
 */
/* Runs inside the ring's CQ batch (drain_rings), which it suspends. */
static void do_close(struct fastio_poller *po, struct fastio_ring *r, const struct fastio_sqe *sqe)
{
	struct file *file = fastio_fget(sqe->fd);
	int res;

	if (IS_ERR(file)) {
		fastio_post(r, sqe->user_data, PTR_ERR(file));
		return;
	}
	res = close_fd(sqe->fd);
	/* Cancelled ops complete on any ring: no batch may be held then. */
	fastio_cq_batch_end(r);
	fastio_cancel(po, file, true);
	fastio_cancel_elsewhere(po, file);
	fastio_wq_cancel(po->ctx, file, true);
	fput(file);
	fastio_post(r, sqe->user_data, res);
	fastio_cq_batch_begin(r);
}

/* First look at a fresh submission. */
static void handle(struct fastio_poller *po, struct fastio_ring *r, const struct fastio_sqe *sqe)
{
	enum fastio_next next;
	struct fastio_req *req;
	struct file *file;
	__poll_t events = 0;
	int res = 0;

	po->stats.submitted++;
	res = fastio_check_sqe(sqe);
	if (res) {
		po->stats.invalid++;
		fastio_post(r, sqe->user_data, res);
		return;
	}
	switch (sqe->opcode) {
	case FASTIO_OP_NOP:
		fastio_post(r, sqe->user_data, 0);
		return;
	case FASTIO_OP_CLOSE:
		do_close(po, r, sqe);
		return;
	case FASTIO_OP_TIMEOUT:
		req = fastio_req_alloc(r, sqe, NULL);
		if (!req) {
			fastio_post(r, sqe->user_data, -ENOMEM);
			return;
		}
		fastio_arm_timeout(po, req);
		return;
	}
	if (sqe->flags & (FASTIO_SQE_BUFFER_SELECT | FASTIO_SQE_MULTISHOT)) {
		start_req(po, r, sqe);
		return;
	}

	file = fastio_fget(sqe->fd);
	if (IS_ERR(file)) {
		fastio_post(r, sqe->user_data, PTR_ERR(file));
		return;
	}
	if (sqe->flags & FASTIO_SQE_ASYNC)
		next = FASTIO_OFFLOAD;
	else
		next = fastio_exec_nonblock(sqe, file, &res, &events);
	if (next == FASTIO_DONE) {
		fput(file);
		fastio_post(r, sqe->user_data, res);
		return;
	}
	/* It outlives this attempt: give it a req of its own. */
	req = fastio_req_alloc(r, sqe, file);
	if (!req) {
		fput(file);
		fastio_post(r, sqe->user_data, -ENOMEM);
		return;
	}
	settle(po, req, next, &(struct fastio_attempt){ .events = events });
}

/* Retries parked ops whose socket became ready and completes fired
 * timeouts. Returns how many were handled. */
static unsigned int run_ready(struct fastio_poller *po)
{
	struct fastio_req *req, *tmp;
	unsigned long flags;
	unsigned int n = 0;
	LIST_HEAD(batch);

	if (list_empty_careful(&po->ready))
		return 0;
	spin_lock_irqsave(&po->ready_lock, flags);
	list_splice_init(&po->ready, &batch);
	list_for_each_entry(req, &batch, node)
		req->state = FASTIO_REQ_RUNNING;
	spin_unlock_irqrestore(&po->ready_lock, flags);

	list_for_each_entry_safe(req, tmp, &batch, node) {
		list_del_init(&req->node);
		n++;
		if (req->sqe.opcode == FASTIO_OP_TIMEOUT) {
			/* Its callback may still be returning: wait it out. */
			hrtimer_cancel(&req->timer);
			fastio_req_finish(req, req->res);
			continue;
		}
		po->stats.requeued++;
		/* Not ready after all (spurious or stolen readiness)? Then it
		 * parks again through settle(). */
		run_req(po, req);
	}
	return n;
}

static unsigned int drain_rings(struct fastio_poller *po)
{
	struct fastio_ring *r;
	struct fastio_sqe sqe;
	unsigned int i, n = 0;

	for_each_my_ring(po, r, i) {
		u32 budget = r->sq_entries;	/* one ring cannot starve the others */

		if (!list_empty_careful(&r->backlog) && !fastio_flush_backlog(r))
			continue;
		if (!may_consume(r) || !fastio_sq_pending(r))
			continue;
		/* The completions of this pass are published once, at its end. */
		fastio_cq_batch_begin(r);
		while (budget-- && may_consume(r) && fastio_sq_pop(r, &sqe)) {
			handle(po, r, &sqe);
			n++;
		}
		fastio_cq_batch_end(r);
		cond_resched();	/* a pass may take many rings' worth */
	}
	return n;
}

static bool has_work(struct fastio_poller *po)
{
	struct fastio_ring *r;
	unsigned int i;

	if (READ_ONCE(po->ctx->stopping) || READ_ONCE(po->kick) ||
	    !list_empty_careful(&po->ready) || !list_empty_careful(&po->inbox))
		return true;
	/* A final fput() of ours is waiting to run in user mode (the loop
	 * returns -EAGAIN for it): say, a socket whose last op an inbox CLOSE
	 * just cancelled. Asleep, we would keep it open indefinitely. */
	if (task_work_pending(current))
		return true;
	for_each_my_ring(po, r, i)
		if (fastio_sq_pending(r) && may_consume(r))
			return true;
	return false;
}

static void set_need_wakeup(struct fastio_poller *po, bool on)
{
	struct fastio_ring *r;
	unsigned int i;

	for_each_my_ring(po, r, i) {
		if (on)
			atomic_or(FASTIO_SQ_NEED_WAKEUP, (atomic_t *)&r->sq_hdr->flags);
		else
			atomic_andnot(FASTIO_SQ_NEED_WAKEUP, (atomic_t *)&r->sq_hdr->flags);
	}
}

/*
 * Sleeps until there is work. The race with a submitter: it publishes its
 * tail then reads NEED_WAKEUP (with a full barrier between); we set
 * NEED_WAKEUP then read the tail (smp_mb() between, and again inside
 * wait_event's condition check). Either we see its entry, or it sees our
 * flag and calls FASTIO_IOC_WAKE, which sets kick and wakes us.
 */
static int poller_sleep(struct fastio_poller *po)
{
	int ret = 0;

	set_need_wakeup(po, true);
	smp_mb();
	/* Buffers the process added before it could see NEED_WAKEUP (it
	 * publishes a group's tail, then reads the flag: the same race). Not
	 * in has_work(): reading user memory may fault and sleep, which the
	 * condition of wait_event must not. */
	if (!fastio_recheck_bufs(po) && !has_work(po)) {
		po->stats.sleeps++;
		ret = wait_event_interruptible(po->wait, has_work(po));
		po->stats.wakeups++;
	}
	WRITE_ONCE(po->kick, false);
	set_need_wakeup(po, false);
	return ret;
}

/* The loop: until teardown (0), a signal (-EINTR) or task work to run in
 * user mode (-EAGAIN; the caller comes straight back). */
int fastio_run_poller(struct fastio_ctx *ctx, struct fastio_poller *po)
{
	u64 idle_ns = (u64)ctx->p.idle_us * NSEC_PER_USEC;
	ktime_t idle_since = 0;

	/* No pinning here: set_cpus_allowed_ptr would bypass the caller's
	 * cpuset. The process pins its worker threads itself (affinity_offset
	 * is the library's; sched_setaffinity obeys cpusets). */
	while (!READ_ONCE(ctx->stopping)) {
		unsigned int work;

		if (signal_pending(current))
			return -EINTR;
		/* The last fput() of a file we closed or were done with is
		 * deferred to task work, which runs only on the way back to
		 * user mode (task_work_run is not for modules). Go there and
		 * let the caller come straight back, or CLOSE would never
		 * really close. */
		if (task_work_pending(current))
			return -EAGAIN;
		po->stats.loops++;
		fastio_run_inbox(po);
		work = drain_rings(po);
		work += fastio_recheck_bufs(po);
		work += run_ready(po);
		if (work) {
			idle_since = 0;
			cond_resched();
			continue;
		}
		if (!idle_since)
			idle_since = ktime_get();
		if (ktime_get() - idle_since < idle_ns) {
			/* Spin, but let anything else runnable here go first. */
			cond_resched();
			cpu_relax();
			continue;
		}
		if (poller_sleep(po))
			return -EINTR;
		idle_since = 0;
	}
	return 0;
}

/* Teardown or the owner's exit, on the poller's way out (main.c calls it
 * under ctx->lock): nothing parked here may outlive the loop, and only the
 * loop's thread may take its reqs while it holds the slot. The blocking
 * workers' queue is emptied too, after this poller's last offload. */
void fastio_poller_stopped(struct fastio_ctx *ctx, struct fastio_poller *po)
{
	bool post = !READ_ONCE(ctx->orphaned);

	fastio_free_inbox(po);	/* everything is cancelled anyway */
	fastio_cancel(po, NULL, post);
	fastio_wq_cancel(ctx, NULL, post);
}
