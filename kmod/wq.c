// SPDX-License-Identifier: GPL-2.0
/*
 * Blocking workers: threads of the process (RUN_WORKER with
 * FASTIO_WORKER_BLOCKING) that run ops which may sleep — regular-file read
 * and write, fsync, and anything flagged FASTIO_SQE_ASYNC — so pollers never
 * stall. One queue per context: these ops are slow anyway, and its lock is
 * never taken on the socket fast path.
 */
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/file.h>
#include <linux/task_work.h>
#include "fastio_internal.h"

void fastio_wq_queue(struct fastio_ctx *ctx, struct fastio_req *req)
{
	spin_lock(&ctx->wq_lock);
	list_add_tail(&req->node, &ctx->wq_list);
	spin_unlock(&ctx->wq_lock);
	/* Exclusive waiters: one op wakes one worker, not all of them. */
	wake_up(&ctx->wq_wait);
}

static struct fastio_req *wq_pop(struct fastio_ctx *ctx)
{
	struct fastio_req *req;

	spin_lock(&ctx->wq_lock);
	req = list_first_entry_or_null(&ctx->wq_list, struct fastio_req, node);
	if (req)
		list_del_init(&req->node);
	spin_unlock(&ctx->wq_lock);
	return req;
}

static bool wq_has_work(struct fastio_ctx *ctx)
{
	return READ_ONCE(ctx->stopping) || !list_empty_careful(&ctx->wq_list);
}

/* An op interrupted by a signal: by teardown's (fastio_wq_interrupt) it is
 * cancelled; by the process's own it failed with EINTR. The ERESTART*
 * codes are the kernel's own and must not reach the process. */
static int interrupted(struct fastio_ctx *ctx, int res)
{
	switch (res) {
	case -ERESTARTSYS:
	case -ERESTARTNOINTR:
	case -ERESTARTNOHAND:
	case -ERESTART_RESTARTBLOCK:
		return READ_ONCE(ctx->stopping) ? -ECANCELED : -EINTR;
	}
	return res;
}

static int wq_loop(struct fastio_ctx *ctx)
{
	while (!READ_ONCE(ctx->stopping)) {
		struct fastio_req *req;

		/* Deferred final fput()s run on the way to user mode: see
		 * fastio_run_poller(). */
		if (task_work_pending(current))
			return -EAGAIN;
		if (wait_event_interruptible_exclusive(ctx->wq_wait, wq_has_work(ctx)))
			return READ_ONCE(ctx->stopping) ? 0 : -EINTR;
		req = wq_pop(ctx);
		if (!req)
			continue;
		fastio_req_finish(req, interrupted(ctx, fastio_exec_blocking(&req->sqe, req->file)));
		cond_resched();
	}
	return 0;
}

int fastio_run_blocking(struct fastio_ctx *ctx, unsigned int index)
{
	int ret = wq_loop(ctx);

	if (READ_ONCE(ctx->stopping)) {
		fastio_wq_cancel(ctx, NULL, !READ_ONCE(ctx->orphaned));
	} else if (!list_empty_careful(&ctx->wq_list)) {
		/* We may have taken the wake-up meant for queued work (waits
		 * are exclusive): pass it on. */
		wake_up(&ctx->wq_wait);
	}
	return ret;
}

/*
 * Takes the queued (not yet running) ops on `file`, or all of them, and
 * completes them with -ECANCELED (`post`) or frees them without a
 * completion (release, or the owner is gone). Any thread.
 */
void fastio_wq_cancel(struct fastio_ctx *ctx, struct file *file, bool post)
{
	struct fastio_req *req, *tmp;
	LIST_HEAD(victims);

	spin_lock(&ctx->wq_lock);
	list_for_each_entry_safe(req, tmp, &ctx->wq_list, node)
		if (!file || req->file == file)
			list_move_tail(&req->node, &victims);
	spin_unlock(&ctx->wq_lock);
	list_for_each_entry_safe(req, tmp, &victims, node) {
		list_del_init(&req->node);
		if (post)
			fastio_req_finish(req, -ECANCELED);
		else
			fastio_req_free(req);
	}
}

/*
 * Teardown: a blocking worker may sleep inside an op (a recv, an accept, a
 * pipe read) for as long as nobody writes. Interrupt it as io-wq does its
 * workers: TIF_NOTIFY_SIGNAL makes signal_pending() true without a signal,
 * the op returns -ERESTARTSYS (reported as -ECANCELED), and the flag is
 * cleared on the way back to user mode (get_signal). wake_up_state() is
 * not exported, so wake_up_process() does the waking, as io-wq's did.
 * Caller holds ctx->lock (wq_tasks).
 */
void fastio_wq_interrupt(struct fastio_ctx *ctx)
{
	unsigned int i;

	for (i = 0; i < ctx->p.max_wq_worker; i++) {
		struct task_struct *t = ctx->wq_tasks[i];

		if (!t)
			continue;
		set_tsk_thread_flag(t, TIF_NOTIFY_SIGNAL);
		wake_up_process(t);
	}
	wake_up_all(&ctx->wq_wait);
}
