// SPDX-License-Identifier: GPL-2.0
/*
 * Parking: an op whose socket is not ready is never retried in a loop. Its
 * req gets an entry on the socket's wait queue (through vfs_poll with our
 * own poll table); when the socket signals readiness our wake function moves
 * the req to the poller's ready list and wakes the poller, which retries it.
 * TIMEOUT reqs wait on an hrtimer and take the same road.
 *
 * Locking: the wake function runs under the wait queue head's lock, in any
 * context; it takes poller->ready_lock inside it. Nobody takes them in the
 * other order: cancellation first claims reqs under ready_lock (state ->
 * CANCELLED), drops it, and only then takes each head's lock to unhook them.
 * A req's state only changes under ready_lock while it is listed, so the
 * wake function and a canceller never both own it.
 */
#include <linux/slab.h>
#include <linux/file.h>
#include <linux/hrtimer.h>
#include "fastio_internal.h"

struct fastio_poll_table {
	poll_table pt;
	struct fastio_req *req;
	int error;
};

/* Moves a parked req to the ready list, if it is still parked. */
static void make_ready(struct fastio_req *req)
{
	struct fastio_poller *po = req->ring->poller;
	unsigned long flags;
	bool woke = false;

	spin_lock_irqsave(&po->ready_lock, flags);
	if (req->state == FASTIO_REQ_PARKED) {
		req->state = FASTIO_REQ_READY;
		list_move_tail(&req->node, &po->ready);
		woke = true;
	}
	spin_unlock_irqrestore(&po->ready_lock, flags);
	if (woke)
		wake_up(&po->wait);
}

static int fastio_wake_fn(struct wait_queue_entry *wait, unsigned int mode, int sync, void *key)
{
	struct fastio_req *req = container_of(wait, struct fastio_req, wait);
	__poll_t mask = key_to_poll(key);

	/* A wake-up with no mask (key == NULL) may mean anything: take it. */
	if (mask && !(mask & req->events))
		return 0;
	/* We hold the head's lock: unhook ourselves; list_del_init leaves the
	 * entry safe to unhook again later (fastio_disarm). */
	list_del_init(&wait->entry);
	make_ready(req);
	return 1;
}

static void fastio_pt_queue(struct file *file, wait_queue_head_t *head, poll_table *pt)
{
	struct fastio_poll_table *fpt = container_of(pt, struct fastio_poll_table, pt);
	struct fastio_req *req = fpt->req;

	/* Sockets use one wait queue; files that want two are not parked. */
	if (req->head) {
		fpt->error = -EOPNOTSUPP;
		return;
	}
	req->head = head;
	init_waitqueue_func_entry(&req->wait, fastio_wake_fn);
	add_wait_queue(head, &req->wait);
}

/* Unhooks the req from its wait queue; safe if the wake function already
 * did. The file reference the req holds keeps the queue alive. */
void fastio_disarm(struct fastio_req *req)
{
	wait_queue_head_t *head = req->head;
	unsigned long flags;

	if (!head)
		return;
	spin_lock_irqsave(&head->lock, flags);
	list_del_init(&req->wait.entry);
	spin_unlock_irqrestore(&head->lock, flags);
	req->head = NULL;
}

/* Parks `req` until its file reports one of `events`. Returns 0 when
 * parked (or already made ready), or an error to complete the req with. */
int fastio_arm(struct fastio_poller *po, struct fastio_req *req, __poll_t events)
{
	struct fastio_poll_table fpt = { .req = req };
	unsigned long flags;
	__poll_t mask;

	req->events = events | EPOLLERR | EPOLLHUP;
	req->head = NULL;
	init_poll_funcptr(&fpt.pt, fastio_pt_queue);
	fpt.pt._key = req->events;

	spin_lock_irqsave(&po->ready_lock, flags);
	req->state = FASTIO_REQ_PARKED;
	list_add_tail(&req->node, &po->parked);
	spin_unlock_irqrestore(&po->ready_lock, flags);

	mask = vfs_poll(req->file, &fpt.pt);
	if (fpt.error || !req->head) {
		/* Cannot wait on this file: take the req back. */
		spin_lock_irqsave(&po->ready_lock, flags);
		list_del_init(&req->node);
		req->state = FASTIO_REQ_RUNNING;
		spin_unlock_irqrestore(&po->ready_lock, flags);
		fastio_disarm(req);
		return fpt.error ?: -EOPNOTSUPP;
	}
	/* Readiness that arrived between the attempt and the arming raised no
	 * wake-up we could see: act on it now. */
	if (mask & req->events) {
		fastio_disarm(req);
		make_ready(req);
	}
	return 0;
}

static enum hrtimer_restart fastio_timer_fn(struct hrtimer *timer)
{
	struct fastio_req *req = container_of(timer, struct fastio_req, timer);

	req->res = -ETIME;
	make_ready(req);
	return HRTIMER_NORESTART;
}

void fastio_arm_timeout(struct fastio_poller *po, struct fastio_req *req)
{
	unsigned long flags;

	hrtimer_init(&req->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	req->timer.function = fastio_timer_fn;
	spin_lock_irqsave(&po->ready_lock, flags);
	req->state = FASTIO_REQ_PARKED;
	list_add_tail(&req->node, &po->parked);
	spin_unlock_irqrestore(&po->ready_lock, flags);
	hrtimer_start(&req->timer, ns_to_ktime(req->sqe.off), HRTIMER_MODE_REL);
}

static void claim(struct list_head *from, struct list_head *victims, struct file *file)
{
	struct fastio_req *req, *tmp;

	list_for_each_entry_safe(req, tmp, from, node) {
		if (file && req->file != file)
			continue;
		req->state = FASTIO_REQ_CANCELLED;
		list_move_tail(&req->node, victims);
	}
}

/*
 * Completes with -ECANCELED every parked or ready req on `file`, or every
 * req of the poller when `file` is NULL (teardown). Called by the poller's
 * own thread, or at release when no worker runs.
 */
void fastio_cancel(struct fastio_poller *po, struct file *file)
{
	struct fastio_req *req, *tmp;
	unsigned long flags;
	LIST_HEAD(victims);

	spin_lock_irqsave(&po->ready_lock, flags);
	claim(&po->parked, &victims, file);
	claim(&po->ready, &victims, file);
	spin_unlock_irqrestore(&po->ready_lock, flags);

	list_for_each_entry_safe(req, tmp, &victims, node) {
		list_del_init(&req->node);
		if (req->sqe.opcode == FASTIO_OP_TIMEOUT)
			hrtimer_cancel(&req->timer);	/* waits out a running callback */
		else
			fastio_disarm(req);
		fastio_req_finish(req, -ECANCELED);
	}
}
