// SPDX-License-Identifier: GPL-2.0
/*
 * FastIO: asynchronous system calls through shared-memory rings, executed by
 * polling workers inside the kernel.
 *
 * /dev/fastio is a misc device; everything else is per open file:
 *   open          -> an empty context
 *   SETUP         -> rings allocated (setup.c), mapped by the process (mmap)
 *   RUN_WORKER    -> the calling thread becomes a poller (poller.c) or a
 *                    blocking worker (wq.c) until TEARDOWN or a signal
 *   WAKE / WAIT   -> wake a sleeping poller / sleep until completions
 *   STATS         -> counters
 *   REGISTER_BUFS / UNREGISTER_BUFS -> buffer groups (bufs.c)
 *   TEARDOWN      -> workers return
 *   release       -> (last close and munmap) everything left is cancelled
 *                    and freed
 * The module holds no global state beyond the device; it cannot be unloaded
 * while any context is open (fops.owner).
 */
#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/pid.h>
#include <linux/file.h>
#include <linux/cred.h>
#include <linux/nospec.h>
#include <linux/fdtable.h>
#include <linux/log2.h>
#include <linux/version.h>
#include "fastio_internal.h"

/* The device node's mode. 0660: only root and the device's group (a udev
 * rule gives it one, see README.md) may open it; 0666 lets any user, whose
 * ring memory is then bounded by its RLIMIT_MEMLOCK and memory cgroup. */
static ushort dev_mode = 0660;
module_param(dev_mode, ushort, 0444);
MODULE_PARM_DESC(dev_mode, "mode of /dev/fastio (default 0660)");

/* Fault injection for the guest tests: Debian's kernel is built without
 * CONFIG_FAULT_INJECTION (no failslab), so the module fails its own
 * allocations: every fault_every-th one a context makes after open (ring
 * memory, worker state, ops). 0 (the default) turns it off. Allocations
 * that must not fail (__GFP_NOFAIL) are never failed. */
static unsigned int fault_every;
module_param(fault_every, uint, 0644);
MODULE_PARM_DESC(fault_every, "test only: fail every Nth allocation of a context (0: never)");

bool fastio_fault(struct fastio_ctx *ctx)
{
	unsigned int every = READ_ONCE(fault_every);

	return every && (unsigned int)atomic_inc_return(&ctx->allocs) % every == 0;
}

static int fastio_open(struct inode *inode, struct file *file)
{
	struct fastio_ctx *ctx = kzalloc(sizeof(*ctx), GFP_KERNEL_ACCOUNT);

	if (!ctx)
		return -ENOMEM;
	mutex_init(&ctx->lock);
	spin_lock_init(&ctx->wq_lock);
	INIT_LIST_HEAD(&ctx->wq_list);
	init_waitqueue_head(&ctx->wq_wait);
	file->private_data = ctx;
	return 0;
}

/* Cancels the ops of every poller no thread runs (all of them at release)
 * and the blocking queue: completed -ECANCELED (`post`) or freed. Pending
 * CLOSE messages are dropped: everything they would cancel goes too.
 * Caller holds ctx->lock, or no worker can exist (release). */
static void cancel_unrun(struct fastio_ctx *ctx, bool post)
{
	unsigned int i;

	for (i = 0; i < ctx->p.max_ker_worker; i++) {
		struct fastio_poller *po = &ctx->pollers[i];

		if (po->task)
			continue;
		fastio_free_inbox(po);
		fastio_cancel(po, NULL, post);
	}
	fastio_wq_cancel(ctx, NULL, post);
}

/*
 * Stops the context for good: teardown, or its owner went away (`orphaned`:
 * cancelled ops are then freed without completions). Workers leave their
 * loops: pollers are kicked and cancel their own ops on the way out,
 * blocking workers are interrupted even inside an op. The ops of pollers
 * no thread runs are cancelled here, under ctx->lock, which keeps a thread
 * from taking such a poller meanwhile (claim_slot refuses once stopping).
 */
static void stop_everything(struct fastio_ctx *ctx, bool orphaned)
{
	unsigned int i;
	bool post = !orphaned;

	if (orphaned)
		WRITE_ONCE(ctx->orphaned, true);
	/* orphaned before stopping: the workers read them in that order. */
	smp_store_release(&ctx->stopping, true);
	if (!smp_load_acquire(&ctx->ready))
		return;
	for (i = 0; i < ctx->p.max_ker_worker; i++)
		fastio_poller_kick(&ctx->pollers[i]);
	for (i = 0; i < ctx->p.nr_rings; i++)
		wake_up_all(&ctx->rings[i].cq_wait);

	mutex_lock(&ctx->lock);
	fastio_wq_interrupt(ctx);
	cancel_unrun(ctx, post);
	mutex_unlock(&ctx->lock);
}

static int same_file(const void *file, struct file *f, unsigned int fd)
{
	return f == file;
}

/*
 * Called at every close of an fd on the device, by whoever closes it. When
 * the owner's file table no longer holds the device (its last fd on it
 * closed, or the table is being torn down: exit, exec), the owner is gone:
 * every op is cancelled and freed. This is what breaks the cycle of a
 * device fd sent with SCM_RIGHTS into a socket one of its own ops pins:
 * the op held the socket, the socket's queue held the device, and release
 * would never come (io_uring breaks it by refusing its fds in scm_fp_copy,
 * which a module cannot do).
 */
static int fastio_flush(struct file *file, fl_owner_t id)
{
	struct fastio_ctx *ctx = file->private_data;

	if (!smp_load_acquire(&ctx->ready) || id != ctx->files)
		return 0;
	/* close(): the fd is already out of the table; is there another? */
	if (current->files == id && iterate_fd(id, 0, same_file, file))
		return 0;
	stop_everything(ctx, true);
	return 0;
}

/* Last reference gone: no worker can be inside an ioctl (each holds a file
 * reference) and no mapping is left (each VMA holds one too). What is still
 * parked or queued is freed without completions: nobody reads the rings. */
static int fastio_release(struct inode *inode, struct file *file)
{
	struct fastio_ctx *ctx = file->private_data;
	unsigned int i;

	if (ctx->ready) {
		WRITE_ONCE(ctx->orphaned, true);
		WRITE_ONCE(ctx->stopping, true);
		cancel_unrun(ctx, false);
		for (i = 0; i < ctx->p.nr_rings; i++)
			WARN_ON_ONCE(atomic_read(&ctx->rings[i].inflight));
		put_pid(ctx->owner);
		/* A wait-queue callback that made a req ready wakes its poller
		 * under ready_lock, which the cancels above took after it; this
		 * grace period also covers anything still returning from a
		 * callback (they run with preemption off). */
		synchronize_rcu();
	}
	fastio_free_rings(ctx);
	kfree(ctx);
	return 0;
}

/* Maps the ring pages, one by one (the area is a plain vmalloc one, so that
 * it is charged to the memory cgroup). A fork does not copy the mapping
 * (VM_DONTCOPY): a child never shares the parent's rings. */
static int fastio_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct fastio_ctx *ctx = file->private_data;
	unsigned long pages = vma_pages(vma), i;
	int ret;

	/* No ctx->lock here: mmap runs under mmap_lock, and a poller may fault
	 * on user memory (a buffer descriptor, a receive's copy) while holding
	 * a ring's cq_lock, which teardown takes under ctx->lock: taking
	 * ctx->lock here would close that cycle. Nothing it reads changes
	 * after SETUP publishes `ready`, and release cannot run while mmap
	 * holds the file. */
	if (!smp_load_acquire(&ctx->ready))
		return -ENXIO;
	if (vma->vm_pgoff > (ctx->mem_size >> PAGE_SHIFT) ||
	    pages > (ctx->mem_size >> PAGE_SHIFT) - vma->vm_pgoff)
		return -EINVAL;
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	vm_flags_set(vma, VM_DONTCOPY | VM_DONTEXPAND | VM_DONTDUMP);
#else
	vma->vm_flags |= VM_DONTCOPY | VM_DONTEXPAND | VM_DONTDUMP;
#endif
	for (i = 0; i < pages; i++) {
		void *kaddr = (u8 *)ctx->mem + ((vma->vm_pgoff + i) << PAGE_SHIFT);

		ret = vm_insert_page(vma, vma->vm_start + (i << PAGE_SHIFT),
				     vmalloc_to_page(kaddr));
		if (ret)
			return ret;
	}
	return 0;
}

/* Whether the calling thread may act for the context: a thread of the
 * process that set it up, with the same memory, file table and
 * credentials (not one that did unshare(CLONE_FILES) or a per-thread
 * setresuid since, nor a forked child). Ops run with the worker's own
 * files and credentials, so this is what keeps them the opener's. */
static bool is_owner(struct fastio_ctx *ctx)
{
	return task_tgid(current) == ctx->owner && current->mm == ctx->mm &&
	       current->files == ctx->files && current_cred() == ctx->cred;
}

/* Claims worker slot `*slot` for the calling thread; -ESHUTDOWN once the
 * context is stopping (stop_everything may be cancelling the slot's ops). */
static int claim_slot(struct fastio_ctx *ctx, struct task_struct **slot)
{
	int ret = 0;

	mutex_lock(&ctx->lock);
	if (READ_ONCE(ctx->stopping))
		ret = -ESHUTDOWN;
	else if (*slot)
		ret = -EBUSY;
	else
		*slot = current;
	mutex_unlock(&ctx->lock);
	return ret;
}

/* Gives the slot back. A poller leaving a stopping context cancels its
 * ops first, under ctx->lock: stop_everything() either ran before (saw the
 * slot taken, left them to us; we see stopping) or runs after (sees the
 * slot free and cancels them itself). */
static void release_slot(struct fastio_ctx *ctx, struct task_struct **slot,
			 struct fastio_poller *po)
{
	mutex_lock(&ctx->lock);
	/* Pairs with smp_store_release in stop_everything: orphaned too. */
	if (po && smp_load_acquire(&ctx->stopping))
		fastio_poller_stopped(ctx, po);
	*slot = NULL;
	mutex_unlock(&ctx->lock);
}

static long run_worker(struct fastio_ctx *ctx, struct fastio_worker_arg __user *uarg)
{
	struct fastio_worker_arg arg;
	struct fastio_poller *po = NULL;
	struct task_struct **slot;
	long ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	/* Ops run with the caller's files, memory and credentials: only the
	 * opener's threads, unchanged, may lend themselves. */
	if (!is_owner(ctx))
		return -EPERM;
	if (arg.kind == FASTIO_WORKER_POLLER && arg.index < ctx->p.max_ker_worker) {
		arg.index = array_index_nospec(arg.index, ctx->p.max_ker_worker);
		slot = &ctx->pollers[arg.index].task;
	} else if (arg.kind == FASTIO_WORKER_BLOCKING && arg.index < ctx->p.max_wq_worker) {
		arg.index = array_index_nospec(arg.index, ctx->p.max_wq_worker);
		slot = &ctx->wq_tasks[arg.index];
	} else {
		return -EINVAL;
	}
	ret = claim_slot(ctx, slot);
	if (ret == -ESHUTDOWN)
		return 0;	/* torn down: as if the loop had just ended */
	if (ret)
		return ret;
	if (arg.kind == FASTIO_WORKER_POLLER) {
		po = &ctx->pollers[arg.index];
		ret = fastio_run_poller(ctx, po);
	} else {
		ret = fastio_run_blocking(ctx, arg.index);
	}
	release_slot(ctx, slot, po);
	return ret;
}

static bool cq_done(struct fastio_ctx *ctx, struct fastio_ring *r, u32 min_complete)
{
	return fastio_cq_ready(r) >= min_complete || READ_ONCE(ctx->stopping);
}

static long do_wait(struct fastio_ctx *ctx, struct fastio_wait_arg __user *uarg)
{
	struct fastio_wait_arg arg;
	struct fastio_ring *r;
	long ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.ring >= ctx->p.nr_rings)
		return -EINVAL;
	r = &ctx->rings[array_index_nospec(arg.ring, ctx->p.nr_rings)];
	if (arg.min_complete > r->cq_entries)
		return -EINVAL;
	/* Room may have been made since the backlog formed: move it in. The
	 * poller stopped consuming this SQ while there was a backlog, and
	 * may sleep: kick it, as it would be for a submission the process
	 * made and waits on (a process need not call WAKE to make progress). */
	if (!list_empty_careful(&r->backlog) && fastio_flush_backlog(r))
		fastio_poller_kick(r->poller);
	else if (fastio_sq_pending(r) &&
		 (READ_ONCE(r->sq_hdr->flags) & FASTIO_SQ_NEED_WAKEUP))
		fastio_poller_kick(r->poller);
	if (arg.timeout_ns)
		ret = wait_event_interruptible_hrtimeout(r->cq_wait,
							 cq_done(ctx, r, arg.min_complete),
							 ns_to_ktime(min_t(u64, arg.timeout_ns, KTIME_MAX)));
	else
		ret = wait_event_interruptible(r->cq_wait, cq_done(ctx, r, arg.min_complete));
	/* A signal ends the wait with EINTR, not a restart (as io_uring_enter
	 * does when waiting for completions): the caller reaps, then decides. */
	if (ret == -ERESTARTSYS)
		return -EINTR;
	return ret;
}

static long do_stats(struct fastio_ctx *ctx, struct fastio_stats __user *uarg)
{
	struct fastio_stats s = {};
	unsigned int i;

	for (i = 0; i < ctx->p.max_ker_worker; i++) {
		struct fastio_poller_stats *ps = &ctx->pollers[i].stats;

		s.submitted += READ_ONCE(ps->submitted);
		s.invalid += READ_ONCE(ps->invalid);
		s.parked += READ_ONCE(ps->parked);
		s.requeued += READ_ONCE(ps->requeued);
		s.offloaded += READ_ONCE(ps->offloaded);
		s.sleeps += READ_ONCE(ps->sleeps);
		s.wakeups += READ_ONCE(ps->wakeups);
		s.loops += READ_ONCE(ps->loops);
	}
	for (i = 0; i < ctx->p.nr_rings; i++) {
		s.completed += READ_ONCE(ctx->rings[i].completed);
		s.overflowed += READ_ONCE(ctx->rings[i].overflowed);
	}
	return copy_to_user(uarg, &s, sizeof(s)) ? -EFAULT : 0;
}

static long fastio_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct fastio_ctx *ctx = file->private_data;
	void __user *uarg = (void __user *)arg;
	u32 ring;

	if (cmd == FASTIO_IOC_SETUP)
		return fastio_setup(ctx, uarg);
	/* Everything else needs a set-up context; `ready` never goes back to
	 * false while the file is open, and smp_load_acquire pairs with the
	 * mutex release in setup so the rings are seen initialised. */
	if (!smp_load_acquire(&ctx->ready))
		return -ENXIO;
	switch (cmd) {
	case FASTIO_IOC_RUN_WORKER:
		return run_worker(ctx, uarg);
	case FASTIO_IOC_WAKE:
		if (get_user(ring, (u32 __user *)uarg))
			return -EFAULT;
		if (ring >= ctx->p.nr_rings)
			return -EINVAL;
		ring = array_index_nospec(ring, ctx->p.nr_rings);
		fastio_poller_kick(ctx->rings[ring].poller);
		return 0;
	case FASTIO_IOC_WAIT:
		return do_wait(ctx, uarg);
	case FASTIO_IOC_STATS:
		return do_stats(ctx, uarg);
	case FASTIO_IOC_TEARDOWN:
		if (!is_owner(ctx))
			return -EPERM;
		stop_everything(ctx, false);
		return 0;
	case FASTIO_IOC_REGISTER_BUFS:
		/* The group names memory of the opener's: only its threads. */
		if (!is_owner(ctx))
			return -EPERM;
		return fastio_register_bufs(ctx, uarg);
	case FASTIO_IOC_UNREGISTER_BUFS:
		if (!is_owner(ctx))
			return -EPERM;
		return fastio_unregister_bufs(ctx, uarg);
	}
	return -ENOTTY;
}

const struct file_operations fastio_fops = {
	.owner = THIS_MODULE,
	.open = fastio_open,
	.flush = fastio_flush,
	.release = fastio_release,
	.mmap = fastio_mmap,
	.unlocked_ioctl = fastio_ioctl,
	/* Every ioctl argument is fixed-size (no long, no pointer inside). */
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice fastio_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "fastio",
	.fops = &fastio_fops,
};

static int __init fastio_init(void)
{
	/* The ring ABI (include/uapi/fastio.h) as fastio/src/abi.rs mirrors it. */
	BUILD_BUG_ON(sizeof(struct fastio_sqe) != 64);
	BUILD_BUG_ON(sizeof(struct fastio_cqe) != 16);
	BUILD_BUG_ON(sizeof(struct fastio_stats) != 16 * sizeof(__u64));
	BUILD_BUG_ON(sizeof(struct fastio_buf) != 16);
	BUILD_BUG_ON(offsetof(struct fastio_buf, resv) != 14);	/* the tail */
	BUILD_BUG_ON(sizeof(struct fastio_buf_reg) != 32);
	/* The tail is 16 bits: a group may not hold more than it counts. */
	BUILD_BUG_ON(FASTIO_MAX_BUF_ENTRIES > 32768);
	/* One busy bit per by_file bucket in an unsigned long. */
	BUILD_BUG_ON(FASTIO_BY_FILE_BUCKETS > BITS_PER_LONG ||
		     !is_power_of_2(FASTIO_BY_FILE_BUCKETS));
	fastio_dev.mode = dev_mode & 0666;
	return misc_register(&fastio_dev);
}

static void __exit fastio_exit(void)
{
	misc_deregister(&fastio_dev);
}

module_init(fastio_init);
module_exit(fastio_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("FastIO: asynchronous system calls through rings served by in-kernel pollers");
