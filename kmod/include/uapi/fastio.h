/* SPDX-License-Identifier: (GPL-2.0-only WITH Linux-syscall-note) OR MIT */
/*
 * FastIO ring ABI: the one source of truth shared by the kernel module
 * (kmod/) and the Rust library (fastio/src/abi.rs mirrors it, and a test
 * checks every size and offset against this file).
 *
 * A process asks for a context (one open of /dev/fastio, or the userspace
 * "threads" backend) with nr_rings ring pairs, typically one per application
 * thread. Each ring pair is:
 *
 *   submission ring (SQ): the application produces fastio_sqe, a poller
 *                         consumes them;
 *   completion ring (CQ): the context produces fastio_cqe, the application
 *                         consumes them.
 *
 * Both are single-producer / single-consumer queues of free-running 32-bit
 * indices: entry i lives in slot (i & ring_mask). The producer writes the
 * entry, then publishes it with a release store of tail; the consumer reads
 * tail with an acquire load, reads the entry, then releases the slot with a
 * release store of head. A ring is full when tail - head == ring_entries.
 *
 * Memory map of one ring pair (offsets are returned in fastio_params.off; a
 * pair occupies off.ring_size bytes, ring pair i is mapped at mmap offset
 * i * off.ring_size):
 *
 *   off.sq_hdr  struct fastio_ring_hdr   (SQ indices and flags)
 *   off.cq_hdr  struct fastio_ring_hdr   (CQ indices and flags)
 *   off.sqes    struct fastio_sqe[sq_entries]
 *   off.cqes    struct fastio_cqe[cq_entries]
 *
 * Buffer groups (ABI version 2): a RECV may leave the choice of its buffer
 * to the worker, which takes one from a group only when data has arrived, so
 * an idle connection pins no memory. A group is a ring of fastio_buf
 * descriptors in the process's own memory, registered for one ring pair
 * (FASTIO_IOC_REGISTER_BUFS) and described under "Buffer groups" below.
 */
#ifndef _UAPI_LINUX_FASTIO_H
#define _UAPI_LINUX_FASTIO_H

#include <linux/types.h>
#include <linux/ioctl.h>

/* 2: buffer groups, BUFFER_SELECT and MULTISHOT, cqe flags. SETUP with any
 * other version fails with -EPROTO, and the module writes the version it
 * speaks into fastio_params.version, so either side can say which. */
#define FASTIO_ABI_VERSION	2

/* Limits every implementation enforces; setup rejects anything beyond. */
#define FASTIO_MAX_ENTRIES	32768		/* per ring, power of two */
#define FASTIO_MAX_RINGS	256		/* ring pairs per context */
#define FASTIO_MAX_WORKERS	64		/* pollers, and blocking workers */
#define FASTIO_MAX_IDLE_US	10000000	/* 10 s of spinning at most */
#define FASTIO_MAX_IO_LEN	(1U << 30)	/* bytes per op; larger: -EINVAL */
#define FASTIO_MAX_IOVECS	1024		/* SENDV iovcnt (UIO_MAXIOV) */
#define FASTIO_MAX_BUF_GROUPS	64		/* buffer groups per ring pair */
#define FASTIO_MAX_BUF_ENTRIES	32768		/* descriptors per group (the
						 * tail is 16 bits) */
#define FASTIO_MAX_INFLIGHT	65536		/* ops parked, queued or timing per
						 * ring pair (module and threads
						 * backend); beyond it the ring's SQ
						 * is not consumed (backpressure) */

/* ---------------------------------------------------------------------- */
/* Opcodes. An unknown opcode completes with -EINVAL.                      */

enum fastio_op {
	FASTIO_OP_NOP = 0,	/* completes with 0 */
	FASTIO_OP_ACCEPT,	/* fd: listener (FASTIO_SQE_MULTISHOT: one
				 * completion per connection); addr: struct sockaddr * or 0;
				 * off: socklen_t * or 0; op_flags: SOCK_NONBLOCK |
				 * SOCK_CLOEXEC. res: the new fd */
	FASTIO_OP_RECV,		/* fd: socket; addr, len: buffer (or, with
				 * FASTIO_SQE_BUFFER_SELECT, addr 0 and len the
				 * most to take); op_flags: MSG_*.
				 * res: bytes received, 0 at end of stream */
	FASTIO_OP_SEND,		/* fd: socket; addr, len: buffer; op_flags: MSG_*.
				 * res: bytes sent (may be short) */
	FASTIO_OP_SENDV,	/* fd: socket; addr: struct iovec *; len: iovcnt
				 * (<= FASTIO_MAX_IOVECS); op_flags: MSG_* */
	FASTIO_OP_READ,		/* fd: any; addr, len: buffer; off: file offset,
				 * or FASTIO_OFF_CURRENT for the file position */
	FASTIO_OP_WRITE,	/* as READ, in the other direction */
	FASTIO_OP_CLOSE,	/* fd: closed; ops parked on it are cancelled */
	FASTIO_OP_FSYNC,	/* fd: file; op_flags: FASTIO_FSYNC_DATASYNC */
	FASTIO_OP_TIMEOUT,	/* off: relative timeout in nanoseconds.
				 * res: -ETIME when it expires */
	FASTIO_OP_LAST		/* not an opcode: the number of opcodes */
};

/* Socket ops always run as if MSG_DONTWAIT | MSG_NOSIGNAL were given: a socket
 * that is not ready parks the op until it is, and a closed peer gives -EPIPE,
 * never a signal. op_flags of RECV/SEND/SENDV may only hold these MSG_* bits
 * (OOB PEEK DONTROUTE TRUNC DONTWAIT EOR WAITALL CONFIRM NOSIGNAL MORE);
 * anything else, such as the kernel-internal bits, is -EINVAL. */
#define FASTIO_MSG_FLAGS	0xc9e7U

#define FASTIO_OFF_CURRENT	(~(__u64)0)
#define FASTIO_FSYNC_DATASYNC	(1U << 0)

/* fastio_sqe.flags */
#define FASTIO_SQE_ASYNC	(1U << 0)	/* run on a blocking worker */
#define FASTIO_SQE_BUFFER_SELECT (1U << 1)	/* RECV only: addr must be 0; the
						 * worker takes a buffer of group
						 * buf_group once data is ready, and
						 * receives at most min(len, buffer
						 * length) bytes (len 0: the buffer's
						 * length). With an empty group the op
						 * stays parked until the process
						 * adds buffers (and WAKEs a sleeping
						 * poller); a multishot op ends with
						 * -ENOBUFS instead. A group that is
						 * not registered: -ENOENT. Not with
						 * ASYNC */
#define FASTIO_SQE_MULTISHOT	(1U << 2)	/* ACCEPT (addr and off 0),
						 * and RECV with BUFFER_SELECT (len 0:
						 * a buffer's worth at most per
						 * completion): one completion per
						 * connection / per buffer filled, each
						 * with FASTIO_CQE_F_MORE while the op
						 * goes on. It ends (a completion
						 * without MORE) on an error, at end
						 * of stream (RECV res 0), on
						 * cancellation (-ECANCELED), on an
						 * empty group (-ENOBUFS), and when
						 * the CQ is full (the last result is
						 * then posted without MORE, to the
						 * backlog): re-arm it after reaping.
						 * Not with ASYNC */
#define FASTIO_SQE_VALID_FLAGS	(FASTIO_SQE_ASYNC | FASTIO_SQE_BUFFER_SELECT | \
				 FASTIO_SQE_MULTISHOT)

/* ---------------------------------------------------------------------- */
/* Ring entries.                                                           */

struct fastio_sqe {
	__u8	opcode;		/* enum fastio_op */
	__u8	flags;		/* FASTIO_SQE_* */
	__u16	buf_group;	/* with BUFFER_SELECT: the group; else 0 */
	__s32	fd;
	__u64	off;		/* file offset, pointer or timeout: see opcode */
	__u64	addr;		/* user buffer or struct pointer */
	__u32	len;		/* buffer length or count */
	__u32	op_flags;	/* per-opcode flags (MSG_*, SOCK_*, FSYNC_*) */
	__u64	user_data;	/* echoed in the completion */
	__u64	resv1[3];	/* must be zero */
};				/* 64 bytes */

struct fastio_cqe {
	__u64	user_data;	/* from the sqe */
	__s32	res;		/* result, or -errno */
	__u32	flags;		/* FASTIO_CQE_F_*; the buffer id in the
				 * upper 16 bits with F_BUFFER */
};				/* 16 bytes */

/* fastio_cqe.flags */
#define FASTIO_CQE_F_BUFFER	(1U << 0)	/* a buffer of the op's group holds
						 * the res bytes: its id is
						 * flags >> FASTIO_CQE_BUFFER_SHIFT.
						 * It is the process's again (to add
						 * back to the group when done) */
#define FASTIO_CQE_F_MORE	(1U << 1)	/* a multishot op goes on: more
						 * completions with this user_data */
#define FASTIO_CQE_BUFFER_SHIFT	16

/* ---------------------------------------------------------------------- */
/* Ring header. head and tail sit on cache lines of their own so that the  */
/* producer and the consumer do not bounce one line between their cores.  */

struct fastio_ring_hdr {
	__u32	head;		/* written by the consumer */
	__u32	pad0[15];
	__u32	tail;		/* written by the producer */
	__u32	pad1[15];
	__u32	ring_mask;	/* constant: ring_entries - 1 */
	__u32	ring_entries;	/* constant: a power of two */
	__u32	flags;		/* FASTIO_SQ_* or FASTIO_CQ_*, atomic bit ops */
	__u32	dropped;	/* SQ: entries skipped as invalid ring state */
	__u64	overflow;	/* CQ: completions that waited in the backlog */
	__u32	resv[10];
};				/* 192 bytes */

/* SQ flags, set by the context. */
#define FASTIO_SQ_NEED_WAKEUP	(1U << 0)	/* poller sleeps: wake it (ioctl WAKE) */

/* CQ flags. */
#define FASTIO_CQ_OVERFLOW	(1U << 0)	/* completions wait in the backlog: after
						 * reaping, WAKE the poller to flush them */
#define FASTIO_CQ_WAITING	(1U << 1)	/* set by the application while it sleeps
						 * in WAIT; the producer then wakes it */

/* ---------------------------------------------------------------------- */
/* Buffer groups.                                                          */
/*
 * A group's memory is an array of ring_entries fastio_buf descriptors in the
 * process (page-aligned, ring_entries a power of two), the same layout as
 * io_uring's provided-buffer rings, so the uring backend registers it as it
 * is. The process produces descriptors, the workers consume them:
 *
 *   tail  a __u16 that overlays bufs[0].resv (offset 14). The process writes
 *         bufs[tail & (ring_entries - 1)], then publishes it with a release
 *         store of tail + 1 (wrapping at 2^16);
 *   head  private to the workers: the process learns which buffers were
 *         taken from the completions (F_BUFFER and the id), never from head.
 *
 * A worker copies each descriptor once, when it takes it, and checks that
 * copy (len 1..FASTIO_MAX_IO_LEN; the address through the normal user-copy
 * path): rewriting descriptors under a worker's feet gets an op -EFAULT or
 * -EINVAL, never a write outside the process's memory. A descriptor is
 * taken only when data is there to fill it, and goes back to the process
 * with the completion (F_BUFFER), so a buffer is never handed out twice
 * unless the process adds it twice.
 *
 * Details the module settled (ABI version 2 as implemented):
 *   - a descriptor is consumed only by a completion with res > 0 (and
 *     F_BUFFER). On EOF, an error, or a bad descriptor (-EINVAL for its len,
 *     -EFAULT for its address) it stays at head: the next op of the group
 *     reads it again, so the process must rewrite a bad one (the uring
 *     backend cannot check a zero length: io_uring's receive of 0 bytes
 *     then reads as end of stream);
 *   - with an empty group, an op that has nothing to receive waits on its
 *     socket as any RECV; once the socket has something to give (data, its
 *     end, an error) a single-shot op waits for a buffer and a multishot op
 *     ends with -ENOBUFS (also when what waits is the end of the stream);
 *   - adding buffers while a poller sleeps: publish the tail, then a full
 *     barrier, then read FASTIO_SQ_NEED_WAKEUP of the ring pair the group is
 *     registered for, and WAKE that ring if set (as for an SQ submission).
 *     An awake poller re-reads the tails of groups that have ops waiting;
 *   - a multishot op re-arms on its socket after each completion; results
 *     that are already there come one per poller pass.
 */
struct fastio_buf {
	__u64	addr;		/* buffer start */
	__u32	len;		/* bytes, 1..FASTIO_MAX_IO_LEN */
	__u16	bid;		/* the process's id for it, echoed in the cqe */
	__u16	resv;		/* bufs[0].resv is the tail; others: unused */
};				/* 16 bytes */

/* FASTIO_IOC_REGISTER_BUFS / FASTIO_IOC_UNREGISTER_BUFS */
struct fastio_buf_reg {
	__u64	ring_addr;	/* struct fastio_buf[ring_entries], page-aligned;
				 * unregister: ignored (0 by convention) */
	__u32	ring_entries;	/* power of two, 1..FASTIO_MAX_BUF_ENTRIES;
				 * unregister: ignored (0 by convention) */
	__u32	ring;		/* ring pair index whose ops use the group */
	__u16	bgid;		/* group id, < FASTIO_MAX_BUF_GROUPS */
	__u16	flags;		/* none defined, must be zero */
	__u32	resv[3];	/* must be zero */
};				/* 32 bytes */

/* ---------------------------------------------------------------------- */
/* Setup.                                                                  */

struct fastio_mmap_offsets {
	__u32	sq_hdr;
	__u32	cq_hdr;
	__u32	sqes;
	__u32	cqes;
	__u32	ring_size;	/* bytes per ring pair, a multiple of the page size */
	__u32	resv;
};

struct fastio_params {
	__u32	version;	/* in: FASTIO_ABI_VERSION */
	__u32	flags;		/* in: none defined yet, must be zero */
	__u32	sq_entries;	/* in: power of two, 1..FASTIO_MAX_ENTRIES */
	__u32	cq_entries;	/* in: 0 for 2 * sq_entries, or a power of two
				 * >= sq_entries; out: the value in use */
	__u32	nr_rings;	/* in: ring pairs, 1..FASTIO_MAX_RINGS */
	__u32	max_ker_worker;	/* in: pollers, 1..FASTIO_MAX_WORKERS */
	__u32	max_wq_worker;	/* in: blocking workers, 1..FASTIO_MAX_WORKERS */
	__u32	idle_us;	/* in: spin before sleeping, <= FASTIO_MAX_IDLE_US */
	__s32	affinity_offset;/* in: poller i runs on CPU offset + i; -1: unpinned */
	__u32	resv0;		/* must be zero */
	struct fastio_mmap_offsets off;	/* out */
	__u64	resv1[4];	/* must be zero */
};

/* Which kind of worker a thread becomes in FASTIO_IOC_RUN_WORKER. */
#define FASTIO_WORKER_POLLER	0
#define FASTIO_WORKER_BLOCKING	1

struct fastio_worker_arg {
	__u32	kind;		/* FASTIO_WORKER_* */
	__u32	index;		/* 0..max_ker_worker-1 or 0..max_wq_worker-1 */
};

struct fastio_wait_arg {
	__u32	ring;		/* ring pair index */
	__u32	min_complete;	/* return once the CQ holds this many */
	__u64	timeout_ns;	/* 0: wait without limit */
};

/* Per-context counters (FASTIO_IOC_STATS). */
struct fastio_stats {
	__u64	submitted;	/* sqes consumed by pollers */
	__u64	completed;	/* cqes posted */
	__u64	invalid;	/* sqes rejected by validation */
	__u64	parked;		/* ops parked until their socket was ready */
	__u64	requeued;	/* parked ops retried after a readiness event */
	__u64	offloaded;	/* ops handed to blocking workers */
	__u64	overflowed;	/* cqes that waited in the backlog */
	__u64	sleeps;		/* times a poller went to sleep */
	__u64	wakeups;	/* times a sleeping poller was woken */
	__u64	loops;		/* poller loop iterations (spinning shows here) */
	__u64	resv[6];
};

/* ---------------------------------------------------------------------- */
/* ioctls on /dev/fastio.                                                  */

#define FASTIO_IOC_MAGIC	0xFA

/* Validate params, allocate the rings, fill params->off. Once per open. */
#define FASTIO_IOC_SETUP	_IOWR(FASTIO_IOC_MAGIC, 1, struct fastio_params)
/* The calling thread becomes a worker. Returns 0 at teardown; -EINTR when a
 * signal is pending and -EAGAIN when the thread has deferred work to run in
 * user mode (such as the final release of a file it closed): in both cases
 * call it again at once unless tearing down. */
#define FASTIO_IOC_RUN_WORKER	_IOW(FASTIO_IOC_MAGIC, 2, struct fastio_worker_arg)
/* Wake the poller that serves ring pair *arg. */
#define FASTIO_IOC_WAKE		_IOW(FASTIO_IOC_MAGIC, 3, __u32)
/* Sleep until the CQ of a ring pair holds min_complete entries. */
#define FASTIO_IOC_WAIT		_IOW(FASTIO_IOC_MAGIC, 4, struct fastio_wait_arg)
/* Copy the counters out. */
#define FASTIO_IOC_STATS	_IOR(FASTIO_IOC_MAGIC, 5, struct fastio_stats)
/* Stop the workers; their RUN_WORKER calls return 0. */
#define FASTIO_IOC_TEARDOWN	_IO(FASTIO_IOC_MAGIC, 6)
/* Register a buffer group for a ring pair: -EEXIST if bgid is taken,
 * -EINVAL for a bad ring_entries, alignment, index or flags, -EFAULT if the
 * array is not accessible (outside user space, or ring_addr 0). The memory
 * must stay mapped until unregistered. Both ioctls: -EPERM for a thread that
 * may not run workers (another process, a forked child). */
#define FASTIO_IOC_REGISTER_BUFS _IOW(FASTIO_IOC_MAGIC, 7, struct fastio_buf_reg)
/* Forget a group: -ENOENT if not registered, -EBUSY while an op of the
 * group is armed (cancel it first: CLOSE its fd). */
#define FASTIO_IOC_UNREGISTER_BUFS _IOW(FASTIO_IOC_MAGIC, 8, struct fastio_buf_reg)

#endif /* _UAPI_LINUX_FASTIO_H */
