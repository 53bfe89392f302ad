// SPDX-License-Identifier: GPL-2.0
/*
 * Buffer groups: rings of struct fastio_buf descriptors in the process's
 * memory (io_uring's provided-buffer-ring layout), registered per ring pair,
 * from which a FASTIO_SQE_BUFFER_SELECT RECV takes a buffer only once data
 * has arrived, so that an idle connection pins no memory.
 *
 * The descriptor array is never mapped or pinned by the module: it is the
 * process's memory, read with get_user / copy_from_user by the ring's poller
 * (a thread of the process inside RUN_WORKER), so a bad pointer only fails
 * an op with -EFAULT. The process may rewrite any descriptor at any moment:
 * each is copied once, when taken, and only that copy is checked and used;
 * the buffer it names is written through an iov_iter (access_ok and the
 * user-copy path), never through a kernel address.
 *
 * Who touches what:
 *   - the table (ring->bgroups) and each group's pin count: ring->bufs_lock
 *     (registration, unregistration, reqs taking and dropping their pin);
 *   - a group's head and the tail cache: only the poller serving the ring,
 *     the one thread that runs the ring's BUFFER_SELECT ops (they never go
 *     to blocking workers). A pinned group cannot be freed under it.
 * A group lives until UNREGISTER_BUFS (refused while pinned) or release.
 */
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/nospec.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/net.h>
#include <linux/socket.h>
#include "fastio_internal.h"

struct fastio_buf_group {
	struct fastio_buf __user *bufs;	/* ring_entries descriptors */
	u32 mask;			/* ring_entries - 1, kernel-private */
	u16 head;			/* next descriptor to take (poller only) */
	unsigned int pins;		/* reqs using the group; bufs_lock */
	/* fastio_buf_available(): the tail read once per poller pass. */
	unsigned long seen_gen;
	u32 avail;
};

/* ------------------------------------------------------------------ */
/* Registration (ioctls, any thread of the owner).                      */

/* What both ioctls check; on success *r and *bgid are the (nospec) targets. */
static int check_reg(struct fastio_ctx *ctx, const struct fastio_buf_reg *reg,
		     struct fastio_ring **r, unsigned int *bgid)
{
	if (reg->flags || reg->resv[0] || reg->resv[1] || reg->resv[2])
		return -EINVAL;
	if (reg->bgid >= FASTIO_MAX_BUF_GROUPS || reg->ring >= ctx->p.nr_rings)
		return -EINVAL;
	*r = &ctx->rings[array_index_nospec(reg->ring, ctx->p.nr_rings)];
	*bgid = array_index_nospec(reg->bgid, FASTIO_MAX_BUF_GROUPS);
	return 0;
}

/* The descriptor array: a power-of-two count, page-aligned, all of it in
 * user space (access_ok: what user copies will reach, nothing more). */
static int check_array(const struct fastio_buf_reg *reg)
{
	size_t bytes = (size_t)reg->ring_entries * sizeof(struct fastio_buf);
	void __user *p = u64_to_user_ptr(reg->ring_addr);

	if (!reg->ring_entries || reg->ring_entries > FASTIO_MAX_BUF_ENTRIES ||
	    !is_power_of_2(reg->ring_entries))
		return -EINVAL;
	if (!PAGE_ALIGNED(reg->ring_addr))
		return -EINVAL;
	if (!reg->ring_addr || !access_ok(p, bytes))
		return -EFAULT;
	return 0;
}

int fastio_register_bufs(struct fastio_ctx *ctx, const struct fastio_buf_reg __user *uarg)
{
	struct fastio_buf_group *g;
	struct fastio_buf_reg reg;
	struct fastio_ring *r;
	unsigned int bgid;
	int ret;

	if (copy_from_user(&reg, uarg, sizeof(reg)))
		return -EFAULT;
	ret = check_reg(ctx, &reg, &r, &bgid) ?: check_array(&reg);
	if (ret)
		return ret;
	g = FASTIO_ALLOC(ctx, kzalloc(sizeof(*g), GFP_KERNEL_ACCOUNT));
	if (!g)
		return -ENOMEM;
	g->bufs = u64_to_user_ptr(reg.ring_addr);
	g->mask = reg.ring_entries - 1;

	mutex_lock(&r->bufs_lock);
	/* The table costs 512 bytes: only rings that use groups pay for it. */
	if (!r->bgroups)
		r->bgroups = FASTIO_ALLOC(ctx, kcalloc(FASTIO_MAX_BUF_GROUPS, sizeof(*r->bgroups),
						       GFP_KERNEL_ACCOUNT));
	if (!r->bgroups) {
		ret = -ENOMEM;
	} else if (r->bgroups[bgid]) {
		ret = -EEXIST;
	} else {
		r->bgroups[bgid] = g;
		g = NULL;
	}
	mutex_unlock(&r->bufs_lock);
	kfree(g);
	return ret;
}

/* ring_addr and ring_entries are ignored: the group is named by ring and
 * bgid alone. */
int fastio_unregister_bufs(struct fastio_ctx *ctx, const struct fastio_buf_reg __user *uarg)
{
	struct fastio_buf_group *g = NULL;
	struct fastio_buf_reg reg;
	struct fastio_ring *r;
	unsigned int bgid;
	int ret;

	if (copy_from_user(&reg, uarg, sizeof(reg)))
		return -EFAULT;
	ret = check_reg(ctx, &reg, &r, &bgid);
	if (ret)
		return ret;
	mutex_lock(&r->bufs_lock);
	if (!r->bgroups || !r->bgroups[bgid]) {
		ret = -ENOENT;
	} else if (r->bgroups[bgid]->pins) {
		/* An armed op would be left taking from freed state. */
		ret = -EBUSY;
	} else {
		g = r->bgroups[bgid];
		r->bgroups[bgid] = NULL;
	}
	mutex_unlock(&r->bufs_lock);
	kfree(g);
	return ret;
}

/* Pins group `bgid` of the ring for a req; NULL if it is not registered. */
struct fastio_buf_group *fastio_buf_get(struct fastio_ring *r, u16 bgid)
{
	struct fastio_buf_group *g = NULL;

	if (bgid >= FASTIO_MAX_BUF_GROUPS)
		return NULL;
	bgid = array_index_nospec(bgid, FASTIO_MAX_BUF_GROUPS);
	mutex_lock(&r->bufs_lock);
	if (r->bgroups)
		g = r->bgroups[bgid];
	if (g)
		g->pins++;
	mutex_unlock(&r->bufs_lock);
	return g;
}

void fastio_buf_put(struct fastio_ring *r, struct fastio_buf_group *g)
{
	mutex_lock(&r->bufs_lock);
	g->pins--;
	mutex_unlock(&r->bufs_lock);
}

/* Release: no req is left (all were freed, unpinning their groups). */
void fastio_free_bufs(struct fastio_ring *r)
{
	unsigned int i;

	if (!r->bgroups)
		return;
	for (i = 0; i < FASTIO_MAX_BUF_GROUPS; i++) {
		WARN_ON_ONCE(r->bgroups[i] && r->bgroups[i]->pins);
		kfree(r->bgroups[i]);
	}
	kfree(r->bgroups);
	r->bgroups = NULL;
}

/* ------------------------------------------------------------------ */
/* Taking buffers (the ring's poller).                                  */

/* The tail the process published: the __u16 overlaying bufs[0].resv, read
 * with one user load; the read barrier after it makes it an acquire, so
 * the descriptors it covers are read after it (pairs with the process's
 * release store of the tail). */
static int read_tail(struct fastio_buf_group *g, u16 *tail)
{
	if (get_user(*tail, &g->bufs[0].resv))
		return -EFAULT;
	smp_rmb();
	return 0;
}

/* Copies the descriptor at head into *buf, once, and checks the copy. It is
 * not consumed: head moves only when data went into the buffer, so that on
 * EAGAIN, EOF or an error the buffer is still the group's.
 * -ENOBUFS: the group is empty. */
static int peek_buf(struct fastio_buf_group *g, struct fastio_buf *buf)
{
	u16 tail;
	int ret = read_tail(g, &tail);

	if (ret)
		return ret;
	if (tail == g->head)
		return -ENOBUFS;
	if (copy_from_user(buf, &g->bufs[g->head & g->mask], sizeof(*buf)))
		return -EFAULT;
	if (!buf->len || buf->len > FASTIO_MAX_IO_LEN)
		return -EINVAL;
	return 0;
}

/* The group is empty. A buffer is only needed if the socket has something
 * to give (data, its end, an error); if not, wait on the socket as any
 * RECV does, and look for a buffer when it wakes us. */
static enum fastio_next no_buffer(struct fastio_req *req, struct fastio_attempt *at)
{
	__poll_t mask = vfs_poll(req->file, NULL);

	if (!(mask & (at->events | EPOLLERR | EPOLLHUP)))
		return FASTIO_PARK;
	/* A multishot op ends rather than wait (the process re-arms it after
	 * adding buffers); a single-shot one waits for the process. */
	if (req->sqe.flags & FASTIO_SQE_MULTISHOT) {
		at->res = -ENOBUFS;
		return FASTIO_DONE;
	}
	return FASTIO_NOBUF;
}

/* A BUFFER_SELECT RECV attempt, without blocking. On success the buffer is
 * consumed and at->cflags names it. */
enum fastio_next fastio_recv_select(struct fastio_req *req, struct fastio_attempt *at)
{
	const struct fastio_sqe *sqe = &req->sqe;
	struct fastio_buf_group *g = req->group;
	struct socket *sock = sock_from_file(req->file);
	struct fastio_buf buf;
	int ret;

	at->events = EPOLLIN | EPOLLRDHUP;
	if (!sock) {
		at->res = -ENOTSOCK;
		return FASTIO_DONE;
	}
	ret = peek_buf(g, &buf);
	if (ret == -ENOBUFS)
		return no_buffer(req, at);
	if (ret) {
		at->res = ret;
		return FASTIO_DONE;
	}
	ret = fastio_recv_buf(sock, buf.addr, sqe->len ? min(sqe->len, buf.len) : buf.len,
			      sqe->op_flags | MSG_DONTWAIT | MSG_NOSIGNAL);
	if (ret == -EAGAIN)
		return FASTIO_PARK;
	at->res = ret;
	if (ret > 0) {
		g->head++;
		at->cflags = FASTIO_CQE_F_BUFFER | ((u32)buf.bid << FASTIO_CQE_BUFFER_SHIFT);
	}
	return FASTIO_DONE;
}

/*
 * Whether one more req waiting on `g` may try again: the tail is read once
 * per pass (`gen`), and as many reqs go as descriptors were added, oldest
 * first, so that one new buffer does not retry a thousand waiters. A tail
 * that cannot be read lets them all go: they complete with -EFAULT.
 */
bool fastio_buf_available(struct fastio_buf_group *g, unsigned long gen)
{
	if (g->seen_gen != gen) {
		u16 tail;

		g->seen_gen = gen;
		g->avail = read_tail(g, &tail) ? U32_MAX : (u16)(tail - g->head);
	}
	if (!g->avail)
		return false;
	g->avail--;
	return true;
}

/*
 * The poller's loop, every pass, and before it sleeps: moves reqs waiting
 * for buffers to the ready list when their group has new descriptors. The
 * process adds buffers without telling us while we are awake; when we
 * sleep, it sees NEED_WAKEUP and WAKEs us (poller_sleep() sets the flag,
 * then calls this). Returns how many reqs were moved.
 */
unsigned int fastio_recheck_bufs(struct fastio_poller *po)
{
	struct fastio_req *req, *tmp;
	unsigned long flags;
	unsigned int n = 0;
	LIST_HEAD(go);

	if (list_empty(&po->nobuf))
		return 0;
	po->bufs_gen++;
	list_for_each_entry_safe(req, tmp, &po->nobuf, node) {
		if (!fastio_buf_available(req->group, po->bufs_gen))
			continue;
		list_move_tail(&req->node, &go);
		if (!(++n % 256))
			cond_resched();
	}
	if (!n)
		return 0;
	/* Ahead of the ready list, oldest first: they waited longest and
	 * their data is already there. Behind ops that a socket woke they
	 * would see those take the new buffers, go back to the end of
	 * `nobuf`, and could wait for as long as others keep consuming. */
	spin_lock_irqsave(&po->ready_lock, flags);
	list_for_each_entry(req, &go, node)
		req->state = FASTIO_REQ_READY;
	list_splice(&go, &po->ready);
	spin_unlock_irqrestore(&po->ready_lock, flags);
	return n;
}
