// SPDX-License-Identifier: GPL-2.0
/*
 * FASTIO_IOC_SETUP: validate the parameters, allocate the ring pairs in one
 * vmalloc area (mapped by the process with mmap, page by page) and the
 * per-poller and per-worker state. Same rules as fastio/src/layout.rs.
 *
 * The ring memory is charged to the opener twice, as a user would expect of
 * memory it pins in the kernel: to its memory cgroup (GFP_KERNEL_ACCOUNT,
 * as io_uring's rings), and to its RLIMIT_MEMLOCK (account_locked_vm, as
 * pinned user pages are; CAP_IPC_LOCK lifts the limit). Opening the device
 * again and again therefore cannot exhaust the machine's memory.
 */
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/uaccess.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/pid.h>
#include <linux/cred.h>
#include <linux/sched/mm.h>
#include <linux/fdtable.h>
#include "fastio_internal.h"

/* Whole mapping at most this big: a process cannot pin more kernel memory
 * in rings than this per open. */
#define FASTIO_MAX_MAP_BYTES	(256UL << 20)
#define HDR_SPACE		256	/* each header, rounded up (layout.rs) */

static int check_params(struct fastio_params *p)
{
	u32 cq;

	if (p->version != FASTIO_ABI_VERSION)
		return -EPROTO;
	if (p->flags || p->resv0 || p->resv1[0] || p->resv1[1] || p->resv1[2] || p->resv1[3])
		return -EINVAL;
	if (!p->sq_entries || p->sq_entries > FASTIO_MAX_ENTRIES || !is_power_of_2(p->sq_entries))
		return -EINVAL;
	cq = p->cq_entries ? p->cq_entries : 2 * p->sq_entries;
	if (cq < p->sq_entries || cq > 2 * FASTIO_MAX_ENTRIES || !is_power_of_2(cq))
		return -EINVAL;
	p->cq_entries = cq;
	if (!p->nr_rings || p->nr_rings > FASTIO_MAX_RINGS)
		return -EINVAL;
	if (!p->max_ker_worker || p->max_ker_worker > FASTIO_MAX_WORKERS)
		return -EINVAL;
	if (!p->max_wq_worker || p->max_wq_worker > FASTIO_MAX_WORKERS)
		return -EINVAL;
	if (p->idle_us > FASTIO_MAX_IDLE_US || p->affinity_offset < -1)
		return -EINVAL;

	p->off.sq_hdr = 0;
	p->off.cq_hdr = HDR_SPACE;
	p->off.sqes = 2 * HDR_SPACE;
	p->off.cqes = p->off.sqes + p->sq_entries * sizeof(struct fastio_sqe);
	p->off.ring_size = PAGE_ALIGN(p->off.cqes + cq * sizeof(struct fastio_cqe));
	p->off.resv = 0;
	if ((unsigned long)p->off.ring_size * p->nr_rings > FASTIO_MAX_MAP_BYTES)
		return -ENOMEM;
	return 0;
}

static void init_ring(struct fastio_ctx *ctx, unsigned int i)
{
	struct fastio_params *p = &ctx->p;
	struct fastio_ring *r = &ctx->rings[i];
	u8 *base = (u8 *)ctx->mem + (size_t)i * p->off.ring_size;

	r->ctx = ctx;
	r->index = i;
	r->poller = &ctx->pollers[i % p->max_ker_worker];
	r->sq_hdr = (struct fastio_ring_hdr *)(base + p->off.sq_hdr);
	r->cq_hdr = (struct fastio_ring_hdr *)(base + p->off.cq_hdr);
	r->sqes = (struct fastio_sqe *)(base + p->off.sqes);
	r->cqes = (struct fastio_cqe *)(base + p->off.cqes);
	r->sq_entries = p->sq_entries;
	r->sq_mask = p->sq_entries - 1;
	r->cq_entries = p->cq_entries;
	r->cq_mask = p->cq_entries - 1;
	r->sq_hdr->ring_mask = r->sq_mask;
	r->sq_hdr->ring_entries = r->sq_entries;
	r->cq_hdr->ring_mask = r->cq_mask;
	r->cq_hdr->ring_entries = r->cq_entries;
	mutex_init(&r->cq_lock);
	mutex_init(&r->bufs_lock);
	INIT_LIST_HEAD(&r->backlog);
	atomic_set(&r->inflight, 0);
	init_waitqueue_head(&r->cq_wait);
}

static void init_poller(struct fastio_ctx *ctx, unsigned int i)
{
	struct fastio_poller *po = &ctx->pollers[i];

	po->ctx = ctx;
	po->index = i;
	init_waitqueue_head(&po->wait);
	spin_lock_init(&po->ready_lock);
	INIT_LIST_HEAD(&po->parked);
	INIT_LIST_HEAD(&po->ready);
	INIT_LIST_HEAD(&po->inbox);	/* by_file: kcalloc left it empty */
	INIT_LIST_HEAD(&po->nobuf);
}

int fastio_setup(struct fastio_ctx *ctx, struct fastio_params __user *uarg)
{
	struct fastio_params p;
	unsigned int i;
	int ret;

	if (copy_from_user(&p, uarg, sizeof(p)))
		return -EFAULT;
	ret = check_params(&p);
	/* Tell the process which version we speak, so that it can say "module
	 * speaks vN, this process vM" rather than a bare EPROTO. */
	if (ret == -EPROTO && put_user(FASTIO_ABI_VERSION, &uarg->version))
		return -EFAULT;
	if (ret)
		return ret;

	mutex_lock(&ctx->lock);
	if (ctx->ready) {
		ret = -EBUSY;
		goto out;
	}
	ctx->p = p;
	ctx->mem_size = (size_t)p.off.ring_size * p.nr_rings;
	/* Charged before anything is allocated; undone by fastio_free_rings. */
	ret = account_locked_vm(current->mm, ctx->mem_size >> PAGE_SHIFT, true);
	if (ret)
		goto out;
	ctx->mm = current->mm;
	mmgrab(ctx->mm);
	ctx->locked_pages = ctx->mem_size >> PAGE_SHIFT;
	ret = -ENOMEM;
	ctx->mem = FASTIO_ALLOC(ctx, __vmalloc(ctx->mem_size, GFP_KERNEL_ACCOUNT | __GFP_ZERO));
	ctx->rings = FASTIO_ALLOC(ctx, kcalloc(p.nr_rings, sizeof(*ctx->rings), GFP_KERNEL_ACCOUNT));
	ctx->pollers = FASTIO_ALLOC(ctx, kcalloc(p.max_ker_worker, sizeof(*ctx->pollers),
						 GFP_KERNEL_ACCOUNT));
	ctx->wq_tasks = FASTIO_ALLOC(ctx, kcalloc(p.max_wq_worker, sizeof(*ctx->wq_tasks),
						  GFP_KERNEL_ACCOUNT));
	if (!ctx->mem || !ctx->rings || !ctx->pollers || !ctx->wq_tasks) {
		fastio_free_rings(ctx);
		goto out;
	}
	for (i = 0; i < p.max_ker_worker; i++)
		init_poller(ctx, i);
	for (i = 0; i < p.nr_rings; i++)
		init_ring(ctx, i);
	ret = -EFAULT;
	if (copy_to_user(uarg, &p, sizeof(p))) {
		fastio_free_rings(ctx);
		goto out;
	}
	ctx->owner = get_pid(task_tgid(current));
	ctx->files = current->files;
	ctx->cred = get_current_cred();
	/* Pairs with smp_load_acquire in the ioctl entry: whoever sees ready
	 * sees the rings initialised. */
	smp_store_release(&ctx->ready, true);
	ret = 0;
out:
	mutex_unlock(&ctx->lock);
	return ret;
}

/* Frees what setup allocated. Only when no worker runs and nothing is
 * parked, queued or timing any more (release, or a failed setup). */
void fastio_free_rings(struct fastio_ctx *ctx)
{
	unsigned int i;

	/* A failed setup may have rings whose lists were never initialised. */
	if (ctx->rings && ctx->ready) {
		for (i = 0; i < ctx->p.nr_rings; i++) {
			fastio_free_backlog(&ctx->rings[i]);
			fastio_free_bufs(&ctx->rings[i]);
		}
	}
	kfree(ctx->wq_tasks);
	kfree(ctx->pollers);
	kfree(ctx->rings);
	vfree(ctx->mem);
	ctx->wq_tasks = NULL;
	ctx->pollers = NULL;
	ctx->rings = NULL;
	ctx->mem = NULL;
	if (ctx->mm) {
		account_locked_vm(ctx->mm, ctx->locked_pages, false);
		mmdrop(ctx->mm);
		ctx->mm = NULL;
		ctx->locked_pages = 0;
	}
	if (ctx->cred) {
		put_cred(ctx->cred);
		ctx->cred = NULL;
	}
}
