//! The proactor: a safe, buffer-owning API over one [`Ring`].
//!
//! Servers start operations and later receive their completions; they never
//! see a raw submission entry. Buffers are *moved into* the proactor when an
//! operation starts and handed back in its [`Completion`], so safe code cannot
//! free, read or reuse memory that a poller, a blocking worker or the kernel
//! may still be writing. (If the proactor is dropped with operations still in
//! flight, their buffers are leaked on purpose, for the same reason.)
//!
//! The usual server loops are built in:
//! - [`Proactor::accept_multi`]: keeps one ACCEPT armed on a listener and
//!   re-arms it after every connection;
//! - [`Proactor::recv`]: receives into the spare capacity of a growable
//!   `BytesMut`, growing it when it is nearly full;
//! - [`Proactor::add_pool`] with [`Proactor::recv_pooled`] /
//!   [`Proactor::recv_multi`]: receives into a buffer the worker picks from
//!   a pool only when data has arrived (buffer selection), once or
//!   multishot; an idle connection holds no buffer (see `pool`);
//! - [`Proactor::send_all`] / [`Proactor::send_all_vectored`]: resubmit the
//!   rest after a partial send and complete once everything is sent (or on
//!   the first error);
//! - [`Proactor::write_all_at`]: the same for files.
//!
//! Submission never fails for lack of ring space: entries that do not fit
//! wait in a local queue and go in as completions free the ring (this is the
//! backpressure of [`Ring::push`], handled once here).

mod pool;

pub use pool::PoolBuf;

use crate::abi::{self, op, Sqe};
use crate::backend::{BackendKind, Ring};
use bytes::{Bytes, BytesMut};
use slab::Slab;
use std::collections::{HashSet, VecDeque};
use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

/// Smallest free space `recv` offers the kernel; the buffer grows to keep it.
pub const RECV_MIN_SPARE: usize = 4096;

/// What an operation was, as reported in its completion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
    Nop,
    Accept,
    Recv,
    Send,
    Read,
    Write,
    Close,
    Fsync,
    Timeout,
}

/// A buffer given back with its completion.
#[derive(Debug, Default)]
pub enum Buffer {
    #[default]
    None,
    /// Received or read data was appended to it.
    Filled(BytesMut),
    /// What was sent or written.
    Sent(Bytes),
    Vectored(Vec<Bytes>),
    /// Received data in a pool buffer (`recv_pooled`, `recv_multi`).
    Pooled(PoolBuf),
}

/// The result of one operation.
#[derive(Debug)]
pub struct Completion {
    /// The caller's token from when the operation started.
    pub token: u64,
    pub kind: OpKind,
    /// The fd the operation was on.
    pub fd: RawFd,
    /// Non-negative result (bytes, or the accepted fd), or `-errno`.
    pub res: i32,
    pub buf: Buffer,
    /// The operation goes on and will complete again with the same token
    /// (an `accept_multi`, a `recv_multi`).
    pub more: bool,
}

impl Completion {
    /// The result as `io::Result`: bytes moved, or the new fd for ACCEPT.
    pub fn result(&self) -> io::Result<usize> {
        if self.res < 0 {
            Err(io::Error::from_raw_os_error(-self.res))
        } else {
            Ok(self.res as usize)
        }
    }

    /// Moves a pool buffer out, leaving `Buffer::None`.
    pub fn take_pooled(&mut self) -> Option<PoolBuf> {
        match std::mem::take(&mut self.buf) {
            Buffer::Pooled(b) => Some(b),
            other => {
                self.buf = other;
                None
            }
        }
    }

    /// Moves the buffer out, leaving `Buffer::None`.
    pub fn take_filled(&mut self) -> Option<BytesMut> {
        match std::mem::take(&mut self.buf) {
            Buffer::Filled(b) => Some(b),
            other => {
                self.buf = other;
                None
            }
        }
    }
}

/// An operation in flight, owning whatever memory its entry points into.
enum Op {
    Simple {
        kind: OpKind,
    },
    Accept {
        repeat: bool,
    },
    Recv {
        buf: BytesMut,
    },
    /// A receive into a buffer of pool `bgid`, once or multishot.
    RecvPooled {
        bgid: u16,
        /// A `recv_multi` on a ring without multishot receive: a single
        /// receive that the proactor starts again after each buffer.
        rearm: bool,
    },
    Send {
        buf: Bytes,
        done: usize,
    },
    SendV {
        bufs: Vec<Bytes>,
        /// iovecs for what is still unsent; rebuilt after a partial send.
        iov: Vec<libc::iovec>,
        done: usize,
        total: usize,
    },
    Read {
        buf: BytesMut,
    },
    Write {
        buf: Bytes,
        off: u64,
        done: usize,
    },
}

// SAFETY: the iovecs point into the `Bytes` owned by the same Op; they are
// plain addresses handed to the kernel, valid wherever the Op lives.
unsafe impl Send for Op {}

struct InFlight {
    token: u64,
    fd: RawFd,
    op: Op,
}

/// Builds an SQE with the fields every op sets.
fn sqe(opcode: u8, fd: RawFd, user_data: usize) -> Sqe {
    Sqe {
        opcode,
        fd,
        user_data: user_data as u64,
        ..Default::default()
    }
}

fn clamp_len(n: usize) -> u32 {
    n.min(abi::FASTIO_MAX_IO_LEN as usize) as u32
}

/// The safe API over one ring. Create one per thread.
pub struct Proactor {
    ring: Ring,
    ops: Slab<InFlight>,
    /// Entries that did not fit in the SQ yet, oldest first.
    waiting: VecDeque<Sqe>,
    /// fds with a CLOSE in flight: ops on them are not resubmitted (the fd
    /// number may already name a new file by then).
    closing: HashSet<RawFd>,
    /// Buffer pools registered with the ring.
    pools: Vec<pool::Pool>,
}

impl Proactor {
    pub fn new(ring: Ring) -> Proactor {
        Proactor {
            ring,
            ops: Slab::new(),
            waiting: VecDeque::new(),
            closing: HashSet::new(),
            pools: Vec::new(),
        }
    }

    /// Whether [`Proactor::add_pool`] works on this backend (see
    /// [`Ring::supports_buffer_select`]).
    pub fn supports_pools(&self) -> bool {
        self.ring.supports_buffer_select()
    }

    /// Registers a pool of `count` buffers of `size` bytes as buffer group
    /// `bgid` (below `FASTIO_MAX_BUF_GROUPS`), for `recv_pooled` and
    /// `recv_multi`.
    pub fn add_pool(&mut self, bgid: u16, count: usize, size: usize) -> io::Result<()> {
        if self.pools.iter().any(|p| p.bgid == bgid) {
            return Err(io::Error::from_raw_os_error(libc::EEXIST));
        }
        let p = pool::Pool::new(bgid, count, size)?;
        // SAFETY: the descriptor ring and the buffers live in `p`, which is
        // kept in `self.pools` until Drop, where it is unregistered first,
        // or leaked if ops may still use it. A buffer is written by workers
        // only while offered (see pool.rs).
        unsafe {
            self.ring
                .register_buf_ring(bgid, p.ring().addr(), p.ring().entries())?
        };
        self.pools.push(p);
        Ok(())
    }

    /// Buffers of pool `bgid` offered to the workers right now (the rest
    /// are held by completions not yet dropped).
    pub fn pool_offered(&self, bgid: u16) -> Option<usize> {
        self.pools
            .iter()
            .find(|p| p.bgid == bgid)
            .map(|p| p.offered())
    }

    /// Receives once into a buffer of pool `bgid`, taken when data arrives.
    /// The completion carries `Buffer::Pooled`; a result of 0 means the
    /// peer closed. With the pool empty the receive waits for a buffer to
    /// come back.
    pub fn recv_pooled(&mut self, fd: RawFd, bgid: u16, token: u64) {
        self.start_pooled(fd, bgid, token, 0);
    }

    /// Receives into pool buffers until end of stream or an error: one
    /// completion per buffer filled, with `more` set while it goes on. It
    /// also ends (`more` false, `-ENOBUFS`) when the pool ran dry, or when
    /// the completion queue was full (a normal result without `more`):
    /// start it again after reaping.
    ///
    /// Where the ring has no multishot receive (io_uring of some kernels:
    /// [`Ring::supports_multishot_recv`]) the proactor starts a single one
    /// again after each buffer, with the same completions, except that an
    /// empty pool makes it wait instead of ending with `-ENOBUFS`.
    pub fn recv_multi(&mut self, fd: RawFd, bgid: u16, token: u64) {
        if self.ring.supports_multishot_recv() {
            self.start_pooled(fd, bgid, token, abi::FASTIO_SQE_MULTISHOT);
        } else {
            let key = self.start(token, fd, Op::RecvPooled { bgid, rearm: true });
            self.queue(Self::pooled_sqe(fd, bgid, key, 0));
        }
    }

    fn start_pooled(&mut self, fd: RawFd, bgid: u16, token: u64, multi: u8) {
        let key = self.start(token, fd, Op::RecvPooled { bgid, rearm: false });
        self.queue(Self::pooled_sqe(fd, bgid, key, multi));
    }

    fn pooled_sqe(fd: RawFd, bgid: u16, key: usize, multi: u8) -> Sqe {
        Sqe {
            flags: abi::FASTIO_SQE_BUFFER_SELECT | multi,
            buf_group: bgid,
            ..sqe(op::RECV, fd, key)
        }
    }

    /// Offers the pool buffers dropped since the last call to the workers
    /// again, and tells them if any were.
    fn recycle(&mut self) {
        let mut n = 0;
        for p in &mut self.pools {
            n += p.recycle();
        }
        if n > 0 {
            let _ = self.ring.buffers_added();
        }
    }

    pub fn backend(&self) -> BackendKind {
        self.ring.backend()
    }

    /// Operations started and not yet completed.
    pub fn in_flight(&self) -> usize {
        self.ops.len()
    }

    /// The underlying ring, for statistics.
    pub fn ring(&mut self) -> &mut Ring {
        &mut self.ring
    }

    fn start(&mut self, token: u64, fd: RawFd, op: Op) -> usize {
        self.ops.insert(InFlight { token, fd, op })
    }

    fn queue(&mut self, sqe: Sqe) {
        if !self.waiting.is_empty() {
            self.waiting.push_back(sqe);
            return;
        }
        // SAFETY: every pointer in `sqe` points into a buffer owned by the
        // InFlight entry keyed by sqe.user_data, which stays in `self.ops`
        // until the completion is popped (or is leaked by Drop).
        if unsafe { self.ring.push(&sqe) }.is_err() {
            self.waiting.push_back(sqe);
        }
    }

    fn push_waiting(&mut self) {
        while let Some(sqe) = self.waiting.front() {
            // SAFETY: as in `queue`.
            if unsafe { self.ring.push(sqe) }.is_err() {
                break;
            }
            self.waiting.pop_front();
        }
    }

    /// An op that completes with 0 once a poller has seen it.
    pub fn nop(&mut self, token: u64) {
        let key = self.start(token, -1, Op::Simple { kind: OpKind::Nop });
        self.queue(sqe(op::NOP, -1, key));
    }

    /// Accepts one connection on `listener` (the new fd is the result).
    pub fn accept(&mut self, listener: RawFd, token: u64) {
        let key = self.start(token, listener, Op::Accept { repeat: false });
        self.queue(self.accept_sqe(listener, key));
    }

    /// Accepts connections on `listener` until it fails: each one is a
    /// completion with `token`, and the accept is re-armed by itself.
    pub fn accept_multi(&mut self, listener: RawFd, token: u64) {
        let key = self.start(token, listener, Op::Accept { repeat: true });
        self.queue(self.accept_sqe(listener, key));
    }

    fn accept_sqe(&self, listener: RawFd, key: usize) -> Sqe {
        let multi = match &self.ops[key].op {
            Op::Accept { repeat: true } => abi::FASTIO_SQE_MULTISHOT,
            _ => 0,
        };
        Sqe {
            flags: multi,
            op_flags: (libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) as u32,
            ..sqe(op::ACCEPT, listener, key)
        }
    }

    /// Receives into the spare capacity of `buf` (grown first if less than
    /// [`RECV_MIN_SPARE`] is free). The completion gives `buf` back with the
    /// received bytes appended; a result of 0 means the peer closed.
    pub fn recv(&mut self, fd: RawFd, mut buf: BytesMut, token: u64) {
        if buf.capacity() - buf.len() < RECV_MIN_SPARE {
            buf.reserve(RECV_MIN_SPARE.max(buf.len()));
        }
        let spare = buf.spare_capacity_mut();
        let (addr, len) = (spare.as_mut_ptr() as u64, clamp_len(spare.len()));
        let key = self.start(token, fd, Op::Recv { buf });
        self.queue(Sqe {
            addr,
            len,
            ..sqe(op::RECV, fd, key)
        });
    }

    /// Sends all of `buf`, resubmitting the rest after partial sends. The
    /// completion's result is `buf.len()`, or the first error.
    pub fn send_all(&mut self, fd: RawFd, buf: Bytes, token: u64) {
        let key = self.start(token, fd, Op::Send { buf, done: 0 });
        self.submit_send(key);
    }

    fn submit_send(&mut self, key: usize) {
        let f = &self.ops[key];
        let Op::Send { buf, done } = &f.op else {
            return;
        };
        let rest = &buf[*done..];
        let e = Sqe {
            addr: rest.as_ptr() as u64,
            len: clamp_len(rest.len()),
            ..sqe(op::SEND, f.fd, key)
        };
        self.queue(e);
    }

    /// Sends every buffer in order with one vectored send per attempt,
    /// resubmitting the rest after partial sends. At most
    /// `FASTIO_MAX_IOVECS` buffers are sent per attempt.
    pub fn send_all_vectored(&mut self, fd: RawFd, bufs: Vec<Bytes>, token: u64) {
        let total = bufs.iter().map(|b| b.len()).sum();
        let key = self.start(
            token,
            fd,
            Op::SendV {
                bufs,
                iov: Vec::new(),
                done: 0,
                total,
            },
        );
        self.submit_sendv(key);
    }

    fn submit_sendv(&mut self, key: usize) {
        let f = &mut self.ops[key];
        let fd = f.fd;
        let Op::SendV {
            bufs, iov, done, ..
        } = &mut f.op
        else {
            return;
        };
        iov.clear();
        let mut skip = *done;
        for b in bufs.iter() {
            if skip >= b.len() {
                skip -= b.len();
                continue;
            }
            let rest = &b[skip..];
            skip = 0;
            iov.push(libc::iovec {
                iov_base: rest.as_ptr() as *mut libc::c_void,
                iov_len: rest.len(),
            });
            if iov.len() == abi::FASTIO_MAX_IOVECS as usize {
                break;
            }
        }
        let e = Sqe {
            addr: iov.as_ptr() as u64,
            len: iov.len() as u32,
            ..sqe(op::SENDV, fd, key)
        };
        self.queue(e);
    }

    /// Reads up to `len` bytes at `off` (or the file position, with
    /// `abi::FASTIO_OFF_CURRENT`) into the spare capacity of `buf`. Runs on a
    /// blocking worker for regular files.
    pub fn read_at(&mut self, fd: RawFd, mut buf: BytesMut, len: usize, off: u64, token: u64) {
        buf.reserve(len);
        let spare = buf.spare_capacity_mut();
        let (addr, n) = (spare.as_mut_ptr() as u64, clamp_len(len.min(spare.len())));
        let key = self.start(token, fd, Op::Read { buf });
        self.queue(Sqe {
            addr,
            len: n,
            off,
            ..sqe(op::READ, fd, key)
        });
    }

    /// Writes all of `buf` at `off` (or at the file position), resubmitting
    /// after short writes.
    pub fn write_all_at(&mut self, fd: RawFd, buf: Bytes, off: u64, token: u64) {
        let key = self.start(token, fd, Op::Write { buf, off, done: 0 });
        self.submit_write(key);
    }

    fn submit_write(&mut self, key: usize) {
        let f = &self.ops[key];
        let Op::Write { buf, off, done } = &f.op else {
            return;
        };
        let rest = &buf[*done..];
        let at = if *off == abi::FASTIO_OFF_CURRENT {
            *off
        } else {
            off + *done as u64
        };
        let e = Sqe {
            addr: rest.as_ptr() as u64,
            len: clamp_len(rest.len()),
            off: at,
            ..sqe(op::WRITE, f.fd, key)
        };
        self.queue(e);
    }

    /// Closes `fd`; ops parked on it complete with `-ECANCELED` first, and
    /// a partial `send_all` on it completes with what was sent instead of
    /// sending the rest.
    pub fn close(&mut self, fd: RawFd, token: u64) {
        self.closing.insert(fd);
        let key = self.start(
            token,
            fd,
            Op::Simple {
                kind: OpKind::Close,
            },
        );
        self.queue(sqe(op::CLOSE, fd, key));
    }

    /// fsync (or fdatasync) on a blocking worker.
    pub fn fsync(&mut self, fd: RawFd, datasync: bool, token: u64) {
        let key = self.start(
            token,
            fd,
            Op::Simple {
                kind: OpKind::Fsync,
            },
        );
        self.queue(Sqe {
            op_flags: if datasync {
                abi::FASTIO_FSYNC_DATASYNC
            } else {
                0
            },
            ..sqe(op::FSYNC, fd, key)
        });
    }

    /// Completes with `-ETIME` after `after`.
    pub fn timeout(&mut self, after: Duration, token: u64) {
        let key = self.start(
            token,
            -1,
            Op::Simple {
                kind: OpKind::Timeout,
            },
        );
        self.queue(Sqe {
            off: after.as_nanos().min(i64::MAX as u128) as u64,
            ..sqe(op::TIMEOUT, -1, key)
        });
    }

    /// Publishes everything queued and wakes the pollers if they sleep.
    pub fn submit(&mut self) -> io::Result<()> {
        self.recycle();
        self.push_waiting();
        self.ring.submit().map(drop)
    }

    /// Submits, then waits until at least `min` raw completions are ready or
    /// `timeout` passes. Follow with [`Proactor::reap`].
    pub fn wait(&mut self, min: usize, timeout: Option<Duration>) -> io::Result<()> {
        self.recycle();
        self.push_waiting();
        self.ring.wait(min, timeout).map(drop)
    }

    /// Moves every finished operation's completion into `out`, and resubmits
    /// the ones that are not finished (partial sends, re-armed accepts).
    /// Returns how many completions were added.
    pub fn reap(&mut self, out: &mut Vec<Completion>) -> usize {
        let before = out.len();
        while let Some(cqe) = self.ring.pop() {
            let key = cqe.user_data as usize;
            if !self.ops.contains(key) {
                // Not ours: only keys from `start` are ever submitted.
                continue;
            }
            if let Some(c) = self.complete(key, cqe.res, cqe.flags) {
                out.push(c);
            }
        }
        self.recycle();
        // Room was made: move waiting entries in and publish them.
        if !self.waiting.is_empty() {
            self.push_waiting();
            let _ = self.ring.submit();
        }
        out.len() - before
    }

    /// Wraps the pool buffer a completion names, if any.
    fn pooled(&mut self, bgid: u16, res: i32, flags: u32) -> Buffer {
        if flags & abi::FASTIO_CQE_F_BUFFER == 0 {
            return Buffer::None;
        }
        let bid = (flags >> abi::FASTIO_CQE_BUFFER_SHIFT) as u16;
        let Some(p) = self.pools.iter_mut().find(|p| p.bgid == bgid) else {
            return Buffer::None;
        };
        // Every backend names a buffer only with data in it (res > 0: the
        // header's rule), so `res` is a length here.
        p.take(bid, res.max(0) as usize)
            .map_or(Buffer::None, Buffer::Pooled)
    }

    /// Handles one raw completion; `None` if the op continues.
    fn complete(&mut self, key: usize, res: i32, flags: u32) -> Option<Completion> {
        let more = flags & abi::FASTIO_CQE_F_MORE != 0;
        let f = &mut self.ops[key];
        if let Op::RecvPooled { bgid, rearm } = f.op {
            let (token, fd) = (f.token, f.fd);
            // A re-armed single receive goes on after data, unless its fd
            // is being closed.
            let more = more || (rearm && res > 0 && !self.closing.contains(&fd));
            if rearm && more {
                self.queue(Self::pooled_sqe(fd, bgid, key, 0));
            } else if !more {
                self.ops.remove(key);
            }
            let buf = self.pooled(bgid, res, flags);
            return Some(Completion {
                token,
                kind: OpKind::Recv,
                fd,
                res,
                buf,
                more,
            });
        }
        let closing = self.closing.contains(&f.fd);
        // Progress made and more to do on an fd that stays open: go on.
        let partial =
            |done: usize, total: usize| res > 0 && !closing && done + (res as usize) < total;
        match &mut f.op {
            Op::Accept { repeat: true } => {
                let (token, fd) = (f.token, f.fd);
                // The multishot accept goes on by itself while MORE is set;
                // when it ended on something transient (or a full CQ) it is
                // armed again, unless the listener is being closed.
                let transient = res >= 0 || res == -libc::ECONNABORTED || res == -libc::EINTR;
                let again = !more && transient && !closing;
                if again {
                    let e = self.accept_sqe(fd, key);
                    self.queue(e);
                } else if !more {
                    self.ops.remove(key);
                }
                let more = more || again;
                return Some(Completion {
                    token,
                    kind: OpKind::Accept,
                    fd,
                    res,
                    buf: Buffer::None,
                    more,
                });
            }
            Op::Send { buf, done } if partial(*done, buf.len()) => {
                *done += res as usize;
                self.submit_send(key);
                return None;
            }
            Op::SendV { done, total, .. } if partial(*done, *total) => {
                *done += res as usize;
                self.submit_sendv(key);
                return None;
            }
            Op::Write { buf, done, .. } if partial(*done, buf.len()) => {
                *done += res as usize;
                self.submit_write(key);
                return None;
            }
            Op::Simple {
                kind: OpKind::Close,
            } => {
                let fd = f.fd;
                self.closing.remove(&fd);
            }
            _ => {}
        }
        let f = self.ops.remove(key);
        let (kind, buf, res) = match f.op {
            Op::Simple { kind } => (kind, Buffer::None, res),
            Op::Accept { .. } => (OpKind::Accept, Buffer::None, res),
            Op::Recv { buf } => (OpKind::Recv, Buffer::Filled(filled(buf, res)), res),
            Op::RecvPooled { .. } => (OpKind::Recv, Buffer::None, res),
            Op::Read { buf } => (OpKind::Read, Buffer::Filled(filled(buf, res)), res),
            Op::Send { buf, done } => {
                let total = if res > 0 { done + res as usize } else { done };
                (OpKind::Send, Buffer::Sent(buf), finish(res, total))
            }
            Op::SendV { bufs, done, .. } => {
                let total = if res > 0 { done + res as usize } else { done };
                (OpKind::Send, Buffer::Vectored(bufs), finish(res, total))
            }
            Op::Write { buf, done, .. } => {
                let total = if res > 0 { done + res as usize } else { done };
                (OpKind::Write, Buffer::Sent(buf), finish(res, total))
            }
        };
        Some(Completion {
            token: f.token,
            kind,
            fd: f.fd,
            res,
            buf,
            more: false,
        })
    }
}

/// Accounts for `res` bytes written into the spare capacity of `buf`.
fn filled(mut buf: BytesMut, res: i32) -> BytesMut {
    if res > 0 {
        let n = (res as usize).min(buf.capacity() - buf.len());
        // SAFETY: the worker wrote `res` bytes into the spare capacity we
        // offered, which was never longer than what is left now (the buffer
        // was not touched while the op was in flight).
        unsafe { buf.set_len(buf.len() + n) };
    }
    buf
}

/// Result of a send/write-all: the error if the last attempt failed and
/// nothing was sent, else the total (a failure after partial progress reports
/// the error: the caller cannot know how much the peer got otherwise).
fn finish(res: i32, total: usize) -> i32 {
    if res < 0 {
        res
    } else {
        total.min(i32::MAX as usize) as i32
    }
}

impl Drop for Proactor {
    fn drop(&mut self) {
        // Workers may still write into the buffers of ops in flight (a parked
        // recv, a read on a blocking worker). Freeing them would be a
        // use-after-free in the making, so they are leaked instead.
        let busy = !self.ops.is_empty();
        for f in self.ops.drain() {
            std::mem::forget(f);
        }
        // The same for pools: with ops in flight a worker may still fill a
        // buffer, so the memory is leaked; otherwise the groups are
        // unregistered before the memory goes.
        for p in std::mem::take(&mut self.pools) {
            if busy || self.ring.unregister_buf_ring(p.bgid).is_err() {
                std::mem::forget(p);
            }
        }
    }
}
