// SPDX-License-Identifier: GPL-2.0
/*
 * Ring pairs: consuming submissions, validating them, posting completions.
 *
 * The shared pages are written by the process at any moment, so every value
 * read from them is read once (READ_ONCE / smp_load_acquire / one memcpy of
 * an entry into kernel memory) and never trusted beyond what it can do:
 * indices are masked with the kernel's private masks, and a tail more than a
 * ring ahead is clamped and counted in the header's `dropped`.
 */
#include <linux/slab.h>
#include <linux/socket.h>
#include <linux/net.h>
#include "fastio_internal.h"

/* A completion waiting for CQ space. */
struct fastio_ovf {
	struct list_head node;
	struct fastio_cqe cqe;
};

static atomic_t *hdr_flags(struct fastio_ring_hdr *hdr)
{
	return (atomic_t *)&hdr->flags;
}

/* SQ entries published and not yet consumed (at most a ring's worth). */
static u32 sq_available(struct fastio_ring *r)
{
	u32 tail = smp_load_acquire(&r->sq_hdr->tail);
	u32 n = tail - r->sq_head;

	if (unlikely(n > r->sq_entries)) {
		WRITE_ONCE(r->sq_hdr->dropped, READ_ONCE(r->sq_hdr->dropped) + 1);
		n = r->sq_entries;
	}
	return n;
}

bool fastio_sq_pending(struct fastio_ring *r)
{
	return READ_ONCE(r->sq_hdr->tail) != r->sq_head;
}

/* Copies the next submission out of the shared page, once. Poller only. */
bool fastio_sq_pop(struct fastio_ring *r, struct fastio_sqe *out)
{
	if (!sq_available(r))
		return false;
	memcpy(out, &r->sqes[r->sq_head & r->sq_mask], sizeof(*out));
	r->sq_head++;
	/* The slot may be reused by the process once head moves past it. */
	smp_store_release(&r->sq_hdr->head, r->sq_head);
	return true;
}

/* BUFFER_SELECT: the worker supplies the buffer, so a RECV with no address,
 * a group in range, and a poller to run it (blocking workers take no
 * buffers). MULTISHOT: ACCEPT, or a BUFFER_SELECT RECV without WAITALL
 * (which would make one completion wait for a whole buffer); never ASYNC. */
static int check_select_multi(const struct fastio_sqe *sqe)
{
	bool select = sqe->flags & FASTIO_SQE_BUFFER_SELECT;
	bool multi = sqe->flags & FASTIO_SQE_MULTISHOT;
	bool async = sqe->flags & FASTIO_SQE_ASYNC;

	if (select) {
		if (sqe->opcode != FASTIO_OP_RECV || sqe->addr ||
		    sqe->buf_group >= FASTIO_MAX_BUF_GROUPS || async)
			return -EINVAL;
	} else if (sqe->buf_group) {
		return -EINVAL;
	}
	if (multi) {
		if (async)
			return -EINVAL;
		/* One address buffer cannot serve many connections. */
		if (sqe->opcode == FASTIO_OP_ACCEPT)
			return (sqe->addr || sqe->off) ? -EINVAL : 0;
		/* A buffer's worth per completion (len 0); no WAITALL. */
		if (sqe->opcode != FASTIO_OP_RECV || !select || sqe->len ||
		    (sqe->op_flags & MSG_WAITALL))
			return -EINVAL;
	}
	return 0;
}

/* Same rules as fastio/src/validate.rs: bad entries complete with -EINVAL. */
int fastio_check_sqe(const struct fastio_sqe *sqe)
{
	if (sqe->opcode >= FASTIO_OP_LAST || (sqe->flags & ~FASTIO_SQE_VALID_FLAGS))
		return -EINVAL;
	if (sqe->resv1[0] || sqe->resv1[1] || sqe->resv1[2])
		return -EINVAL;
	if (check_select_multi(sqe))
		return -EINVAL;
	switch (sqe->opcode) {
	case FASTIO_OP_RECV:
	case FASTIO_OP_SEND:
		if (sqe->op_flags & ~FASTIO_MSG_FLAGS)
			return -EINVAL;
		fallthrough;
	case FASTIO_OP_READ:
	case FASTIO_OP_WRITE:
		if (sqe->len > FASTIO_MAX_IO_LEN)
			return -EINVAL;
		break;
	case FASTIO_OP_SENDV:
		if (sqe->len > FASTIO_MAX_IOVECS || (sqe->op_flags & ~FASTIO_MSG_FLAGS))
			return -EINVAL;
		break;
	case FASTIO_OP_ACCEPT:
		if (sqe->op_flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
			return -EINVAL;
		break;
	case FASTIO_OP_FSYNC:
		if (sqe->op_flags & ~FASTIO_FSYNC_DATASYNC)
			return -EINVAL;
		break;
	case FASTIO_OP_TIMEOUT:
		if (sqe->off > KTIME_MAX)
			return -EINVAL;
		break;
	}
	return 0;
}

/* Free CQ slots. A head the process moved past our tail (garbage) reads as
 * a full ring: completions then wait in the backlog, bounded as below. */
static u32 cq_space(struct fastio_ring *r)
{
	u32 used = r->cq_tail - smp_load_acquire(&r->cq_hdr->head);

	return used > r->cq_entries ? 0 : r->cq_entries - used;
}

/* Completions the process can see: counted from the published tail (the
 * private one runs ahead while a post is in progress), so that WAIT never
 * returns before they are visible. A tail the process scribbled on only
 * changes when its own WAIT returns, and never past a ring's worth. */
u32 fastio_cq_ready(struct fastio_ring *r)
{
	u32 n = READ_ONCE(r->cq_hdr->tail) - READ_ONCE(r->cq_hdr->head);

	return min(n, r->cq_entries);
}

static void cq_write(struct fastio_ring *r, const struct fastio_cqe *cqe)
{
	r->cqes[r->cq_tail & r->cq_mask] = *cqe;
	r->cq_tail++;
}

/* Moves backlog entries into the CQ; true if the backlog is now empty.
 * Caller holds cq_lock. */
static bool flush_locked(struct fastio_ring *r)
{
	struct fastio_ovf *ovf, *tmp;
	bool moved = false;

	if (list_empty(&r->backlog))
		return true;
	list_for_each_entry_safe(ovf, tmp, &r->backlog, node) {
		if (!cq_space(r))
			break;
		cq_write(r, &ovf->cqe);
		list_del(&ovf->node);
		kfree(ovf);
		moved = true;
	}
	if (moved)
		smp_store_release(&r->cq_hdr->tail, r->cq_tail);
	if (list_empty(&r->backlog)) {
		atomic_andnot(FASTIO_CQ_OVERFLOW, hdr_flags(r->cq_hdr));
		return true;
	}
	return false;
}

static void wake_cq_waiters(struct fastio_ring *r)
{
	/* wq_has_sleeper() has the barrier that pairs with the waiter's
	 * condition check in FASTIO_IOC_WAIT. */
	if (wq_has_sleeper(&r->cq_wait))
		wake_up(&r->cq_wait);
}

bool fastio_flush_backlog(struct fastio_ring *r)
{
	bool empty;

	mutex_lock(&r->cq_lock);
	empty = flush_locked(r);
	mutex_unlock(&r->cq_lock);
	wake_cq_waiters(r);
	return empty;
}

/*
 * Batches: a poller consuming a ring's SQ posts most of that ring's
 * completions. It takes cq_lock once for the pass, writes CQEs without
 * publishing them, and publishes the tail (and wakes WAIT) once at the end,
 * instead of a mutex, a release store and a barrier per CQE. Other posters
 * (blocking workers, WAIT flushing the backlog) wait for the pass, which is
 * bounded by the SQ's size. While batching, the poller must not post to
 * another ring whose owner might be batching and posting to ours: CLOSE,
 * the one op that cancels across rings, ends the batch first (poller.c).
 */
void fastio_cq_batch_begin(struct fastio_ring *r)
{
	mutex_lock(&r->cq_lock);
	WRITE_ONCE(r->batcher, current);
}

void fastio_cq_batch_end(struct fastio_ring *r)
{
	bool posted = r->batch_posted;

	if (posted)
		smp_store_release(&r->cq_hdr->tail, r->cq_tail);
	r->batch_posted = false;
	WRITE_ONCE(r->batcher, NULL);
	mutex_unlock(&r->cq_lock);
	if (posted)
		wake_cq_waiters(r);
}

/*
 * Posts one completion. Never drops it: if the CQ is full it joins the
 * backlog, FASTIO_CQ_OVERFLOW tells the process to WAKE us (or WAIT) after
 * reaping, and the poller stops consuming this ring's SQ until the backlog
 * is gone, so the backlog stays bounded by the ops already in flight.
 */
void fastio_post(struct fastio_ring *r, u64 user_data, s32 res)
{
	fastio_post_flags(r, user_data, res, 0);
}

/*
 * As fastio_post, with cqe flags. A completion with FASTIO_CQE_F_MORE (a
 * multishot op going on) that does not fit in the CQ is posted to the
 * backlog WITHOUT MORE, and false is returned: the op must end there (the
 * process re-arms it), or one op could grow the backlog without bound.
 */
bool fastio_post_flags(struct fastio_ring *r, u64 user_data, s32 res, u32 flags)
{
	struct fastio_cqe cqe = { .user_data = user_data, .res = res, .flags = flags };
	bool fits;
	/* Only this thread ever stores `current` here: no lock needed to
	 * recognise our own batch. */
	bool batched = READ_ONCE(r->batcher) == current;

	if (!batched)
		mutex_lock(&r->cq_lock);
	fits = flush_locked(r) && cq_space(r);
	if (fits) {
		cq_write(r, &cqe);
		if (batched)
			r->batch_posted = true;
		else
			smp_store_release(&r->cq_hdr->tail, r->cq_tail);
	} else {
		struct fastio_ovf *ovf;

		/* Small, accounted to the process, and must not fail: a lost
		 * completion would leave the process waiting forever. */
		ovf = kmalloc(sizeof(*ovf), GFP_KERNEL_ACCOUNT | __GFP_NOFAIL);
		ovf->cqe = cqe;
		ovf->cqe.flags &= ~FASTIO_CQE_F_MORE;
		list_add_tail(&ovf->node, &r->backlog);
		WRITE_ONCE(r->cq_hdr->overflow, READ_ONCE(r->cq_hdr->overflow) + 1);
		WRITE_ONCE(r->overflowed, r->overflowed + 1);
		/* What the batch wrote must be visible before the process
		 * reads the flag and reaps. */
		if (batched && r->batch_posted)
			smp_store_release(&r->cq_hdr->tail, r->cq_tail);
		atomic_or(FASTIO_CQ_OVERFLOW, hdr_flags(r->cq_hdr));
		/* The process reaps (moves head), then reads the flag; we set
		 * the flag, then read head again. Either it sees the flag and
		 * wakes us, or we see the room it made and use it now. */
		smp_mb__after_atomic();
		flush_locked(r);
	}
	WRITE_ONCE(r->completed, r->completed + 1);
	if (!batched) {
		mutex_unlock(&r->cq_lock);
		wake_cq_waiters(r);
	}
	return fits || !(flags & FASTIO_CQE_F_MORE);
}

/* Drops completions nobody will read (the context is being freed). */
void fastio_free_backlog(struct fastio_ring *r)
{
	struct fastio_ovf *ovf, *tmp;

	list_for_each_entry_safe(ovf, tmp, &r->backlog, node) {
		list_del(&ovf->node);
		kfree(ovf);
	}
}
