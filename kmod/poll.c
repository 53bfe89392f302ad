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
#include <linux/hash.h>
#include <linux/fdtable.h>
#include <linux/rcupdate.h>
#include "fastio_internal.h"

struct fastio_poll_table {
	poll_table pt;
	struct fastio_req *req;
	int error;
};

/* Moves a parked req to the ready list, if it is still parked, and wakes
 * the poller. The wake-up happens under ready_lock: once a canceller or
 * release has taken ready_lock after us, we are done with the poller (it
 * may be freed; release also waits an RCU grace period). */
static void make_ready(struct fastio_req *req)
{
	struct fastio_poller *po = req->ring->poller;
	unsigned long flags;

	spin_lock_irqsave(&po->ready_lock, flags);
	if (req->state == FASTIO_REQ_PARKED) {
		req->state = FASTIO_REQ_READY;
		list_move_tail(&req->node, &po->ready);
		wake_up(&po->wait);
	}
	spin_unlock_irqrestore(&po->ready_lock, flags);
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

static struct hlist_head *bucket_of(struct fastio_poller *po, struct file *file)
{
	return &po->by_file[hash_ptr(file, ilog2(FASTIO_BY_FILE_BUCKETS))];
}

static unsigned long bucket_bit(struct file *file)
{
	return 1UL << hash_ptr(file, ilog2(FASTIO_BY_FILE_BUCKETS));
}

/* Files the poller may hold parked ops on, one bit per by_file bucket:
 * read by other pollers' CLOSE (fastio_cancel_elsewhere), written by the
 * owner only. */
static void set_busy(struct fastio_poller *po, unsigned long bits)
{
	WRITE_ONCE(po->busy_buckets, bits);
}

/* Lists a req in its poller's by_file table (its first park). Then makes
 * sure its fd was not closed meanwhile by a CLOSE on another poller that
 * did not see the bucket busy: the two sides each write, then read the
 * other's (full barriers between), so at least one of them sees it.
 * Returns false if the fd is closed: the caller completes the req. */
static bool track(struct fastio_poller *po, struct fastio_req *req)
{
	bool open;

	if (!hlist_unhashed(&req->file_node))
		return true;
	hlist_add_head(&req->file_node, bucket_of(po, req->file));
	set_busy(po, po->busy_buckets | bucket_bit(req->file));
	smp_mb();	/* pairs with smp_mb() in fastio_cancel_elsewhere */
	rcu_read_lock();
	open = files_lookup_fd_rcu(current->files, req->sqe.fd) == req->file;
	rcu_read_unlock();
	return open;
}

/* Takes the req out of the by_file table (poller's thread, or release). */
void fastio_untrack(struct fastio_poller *po, struct fastio_req *req)
{
	struct hlist_head *b;

	if (hlist_unhashed(&req->file_node))
		return;
	b = bucket_of(po, req->file);
	hlist_del_init(&req->file_node);
	if (hlist_empty(b))
		set_busy(po, po->busy_buckets & ~bucket_bit(req->file));
}

/* Parks `req` until its file reports one of `events`. Returns 0 when
 * parked (or already made ready), or an error to complete the req with. */
int fastio_arm(struct fastio_poller *po, struct fastio_req *req, __poll_t events)
{
	struct fastio_poll_table fpt = { .req = req };
	unsigned long flags;
	__poll_t mask;

	if (!track(po, req))
		return -ECANCELED;
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

/* Parks `req` until its buffer group has a descriptor for it: on the
 * poller's nobuf list, on no wait queue (the loop re-reads the group's tail,
 * fastio_recheck_bufs). Tracked by file like any parked req, so CLOSE,
 * teardown and release find it. Returns -ECANCELED if its fd was closed. */
int fastio_park_nobuf(struct fastio_poller *po, struct fastio_req *req)
{
	unsigned long flags;

	if (!track(po, req))
		return -ECANCELED;
	fastio_disarm(req);	/* a previous park's wait entry, if any */
	spin_lock_irqsave(&po->ready_lock, flags);
	req->state = FASTIO_REQ_PARKED;
	list_add_tail(&req->node, &po->nobuf);
	spin_unlock_irqrestore(&po->ready_lock, flags);
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

/* Claims a parked or ready req for a canceller; ready_lock held. */
static void claim(struct fastio_req *req, struct list_head *victims)
{
	req->state = FASTIO_REQ_CANCELLED;
	list_move_tail(&req->node, victims);
}

/*
 * Cancels every parked (on a wait queue, a timer or waiting for a buffer)
 * or ready req on `file`, or every req of the poller
 * when `file` is NULL (teardown, release): completed with -ECANCELED when
 * `post`, else freed without a completion (nobody will read the rings).
 * Only the thread that owns the poller's reqs may call it: the poller's
 * loop, or a thread that holds ctx->lock while no loop runs. A req the
 * loop is running is in no list; a foreign canceller would miss it, so
 * other pollers are asked instead (fastio_cancel_elsewhere).
 */
void fastio_cancel(struct fastio_poller *po, struct file *file, bool post)
{
	struct fastio_req *req, *tmp;
	struct hlist_node *next;
	unsigned long flags;
	LIST_HEAD(victims);

	spin_lock_irqsave(&po->ready_lock, flags);
	if (file) {
		/* Only the file's bucket: in proportion to its own ops. */
		hlist_for_each_entry_safe(req, next, bucket_of(po, file), file_node)
			if (req->file == file && (req->state == FASTIO_REQ_PARKED ||
						  req->state == FASTIO_REQ_READY))
				claim(req, &victims);
	} else {
		list_for_each_entry_safe(req, tmp, &po->parked, node)
			claim(req, &victims);
		list_for_each_entry_safe(req, tmp, &po->ready, node)
			claim(req, &victims);
		list_for_each_entry_safe(req, tmp, &po->nobuf, node)
			claim(req, &victims);
	}
	spin_unlock_irqrestore(&po->ready_lock, flags);

	list_for_each_entry_safe(req, tmp, &victims, node) {
		list_del_init(&req->node);
		if (req->sqe.opcode == FASTIO_OP_TIMEOUT)
			hrtimer_cancel(&req->timer);	/* waits out a running callback */
		else
			fastio_disarm(req);
		fastio_untrack(po, req);
		if (post)
			fastio_req_finish(req, -ECANCELED);
		else
			fastio_req_free(req);
		cond_resched();
	}
}

/* A message from a CLOSE on another poller: cancel `file`'s ops here. */
struct fastio_cancel_msg {
	struct list_head node;
	struct file *file;		/* referenced */
};

/*
 * CLOSE ran on poller `self`, after the fd left the file table: the fd's
 * ops parked through other rings belong to other pollers, which cancel them
 * themselves when they read the message. Only pollers whose by_file bucket
 * for the file is busy are asked (see track() for the race this closes).
 */
void fastio_cancel_elsewhere(struct fastio_poller *self, struct file *file)
{
	struct fastio_ctx *ctx = self->ctx;
	unsigned long bit = bucket_bit(file);
	unsigned int i;

	smp_mb();	/* the fd's removal before reading busy_buckets */
	for (i = 0; i < ctx->p.max_ker_worker; i++) {
		struct fastio_poller *po = &ctx->pollers[i];
		struct fastio_cancel_msg *msg;
		unsigned long flags;

		if (po == self || !(READ_ONCE(po->busy_buckets) & bit))
			continue;
		/* Small, accounted, and must not fail: a lost message would
		 * leave the socket open behind the process's back. */
		msg = kmalloc(sizeof(*msg), GFP_KERNEL_ACCOUNT | __GFP_NOFAIL);
		msg->file = get_file(file);
		spin_lock_irqsave(&po->ready_lock, flags);
		list_add_tail(&msg->node, &po->inbox);
		spin_unlock_irqrestore(&po->ready_lock, flags);
		fastio_poller_kick(po);
	}
}

static void take_inbox(struct fastio_poller *po, struct list_head *msgs)
{
	unsigned long flags;

	spin_lock_irqsave(&po->ready_lock, flags);
	list_splice_init(&po->inbox, msgs);
	spin_unlock_irqrestore(&po->ready_lock, flags);
}

/* The poller's loop: carries out the cancellations other pollers asked. */
void fastio_run_inbox(struct fastio_poller *po)
{
	struct fastio_cancel_msg *msg, *tmp;
	LIST_HEAD(msgs);

	if (list_empty_careful(&po->inbox))
		return;
	take_inbox(po, &msgs);
	list_for_each_entry_safe(msg, tmp, &msgs, node) {
		fastio_cancel(po, msg->file, true);
		fput(msg->file);
		kfree(msg);
	}
}

/* Release: messages nobody will read. */
void fastio_free_inbox(struct fastio_poller *po)
{
	struct fastio_cancel_msg *msg, *tmp;
	LIST_HEAD(msgs);

	take_inbox(po, &msgs);
	list_for_each_entry_safe(msg, tmp, &msgs, node) {
		fput(msg->file);
		kfree(msg);
	}
}
