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

int fastio_run_blocking(struct fastio_ctx *ctx, unsigned int index)
{
	while (!READ_ONCE(ctx->stopping)) {
		struct fastio_req *req;

		/* Deferred final fput()s run on the way to user mode: see
		 * fastio_run_poller(). */
		if (task_work_pending(current))
			return -EAGAIN;
		if (wait_event_interruptible(ctx->wq_wait, wq_has_work(ctx)))
			return -EINTR;
		req = wq_pop(ctx);
		if (!req)
			continue;
		fastio_req_finish(req, fastio_exec_blocking(&req->sqe, req->file));
		cond_resched();
	}
	return 0;
}

/* At release: ops nobody will run any more. Their completions would go to
 * rings about to be freed, so they are simply dropped with their files. */
void fastio_wq_drain(struct fastio_ctx *ctx)
{
	struct fastio_req *req;

	while ((req = wq_pop(ctx))) {
		if (req->file)
			fput(req->file);
		atomic_dec(&req->ring->inflight);
		kfree(req);
	}
}
