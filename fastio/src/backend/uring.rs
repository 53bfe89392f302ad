//! The `uring` backend: FastIO submissions translated to io_uring.
//!
//! Each ring pair is an io_uring instance. A FastIO entry is validated with
//! the same rules as everywhere else, then turned into the equivalent io_uring
//! entry; its io_uring user_data is a slot index, and the slot keeps the
//! caller's user_data plus anything the kernel reads until completion (the
//! timespec of a TIMEOUT, the msghdr of a SENDV).
//!
//! Buffer groups map to io_uring's provided-buffer rings, registered as they
//! are (FastIO's group layout is io_uring's); BUFFER_SELECT and MULTISHOT
//! map to IOSQE_BUFFER_SELECT, IORING_RECV_MULTISHOT and
//! IORING_ACCEPT_MULTISHOT, and the cqe flags F_BUFFER / F_MORE and the
//! buffer id have the same bits. Two differences are bridged here: a
//! single-shot receive that finds its group empty gets -ENOBUFS from
//! io_uring, where FastIO keeps it waiting until buffers are added (it is
//! held in `starving` and resubmitted by `buffers_added`); and a group
//! cannot be unregistered while an op of it is armed (-EBUSY), as in the
//! other backends. A multishot receive is io_uring's own where the kernel
//! ends it with -ENOBUFS when the group runs dry ([`multishot_recv_native`]):
//! on Linux 6.1 it stays armed instead, and never completes again even after
//! buffers come back. There it is refused (-EOPNOTSUPP, and
//! `Ring::supports_multishot_recv` says so) and the proactor re-arms single
//! receives itself. One difference is not bridged: io_uring does not check
//! a descriptor's length, and a receive into a zero-length buffer returns
//! 0, which reads as end of stream (the module and the threads backend
//! fail it with -EINVAL; the proactor never offers one). Kernels without
//! buffer rings (before 5.19) are detected
//! at setup (`UringRing::buffer_rings`) and the proactor falls back to a
//! buffer per receive.
//!
//! With `uring_sqpoll = yes` the first `max_ker_worker` rings get their own
//! SQPOLL thread and the others attach to them round-robin, so the pollers
//! are shared exactly as in the other backends.

use super::super::abi::{self, op, Cqe, Sqe, Stats};
use crate::config::Config;
use crate::ring::RingFull;
use crate::validate;
use io_uring::{opcode, squeue, types, IoUring};
use slab::Slab;
use std::collections::VecDeque;
use std::io;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Whether io_uring's multishot receive ends with -ENOBUFS when its group
/// runs dry (then it is used; else refused, see the module doc).
/// Probed once, on a throwaway ring set up like ours: arm it on a socketpair with a
/// one-buffer group, let one byte take the buffer, send another, and see
/// whether the -ENOBUFS end arrives (within 200 ms: it is posted as soon as
/// the byte is, on kernels that post it at all).
///
/// The probe alone is not enough: Linux 6.1 passes it, yet a FastIO ring's
/// multishot receive there stays armed without a completion once its group
/// is empty (`tests/pools.rs` in the VM). So io_uring's own is used only
/// from the first kernel where it was seen to end properly (6.18, the
/// development host), and refused below it; a kernel in between that
/// behaves is welcome to lower [`NATIVE_MULTISHOT_FROM`].
pub fn multishot_recv_native() -> bool {
    static NATIVE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *NATIVE.get_or_init(|| {
        // FASTIO_URING_MULTISHOT=off: as if the kernel were older (tests
        // run the proactor's fallback this way).
        std::env::var("FASTIO_URING_MULTISHOT").map_or(true, |v| v != "off")
            && kernel_version().is_some_and(|v| v >= NATIVE_MULTISHOT_FROM)
            && probe_multishot_recv().unwrap_or(false)
    })
}

/// The first kernel whose multishot receive FastIO uses as it is.
pub const NATIVE_MULTISHOT_FROM: (u32, u32) = (6, 18);

/// The running kernel's (major, minor), from uname.
fn kernel_version() -> Option<(u32, u32)> {
    // SAFETY: utsname is plain data; uname fills it.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: a valid out-pointer.
    if unsafe { libc::uname(&mut u) } != 0 {
        return None;
    }
    let release: String = u
        .release
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8 as char)
        .collect();
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

fn probe_multishot_recv() -> io::Result<bool> {
    // Set up as the FastIO rings are (DEFER_TASKRUN where the kernel has
    // it): Linux 6.1 ends the op on a plain ring but not on those.
    let (mut ring, disabled) = UringRing::build(&IoUring::builder(), false, 4)?;
    if disabled {
        ring.submitter().register_enable_rings()?;
    }
    let mem = memmap2::MmapMut::map_anon(4096)?;
    let base = mem.as_ptr() as *mut abi::BufDesc;
    let mut buf = [0u8; 8];
    // SAFETY: entry 0 of our own page; the tail (byte 14) is 1 after it.
    unsafe {
        base.write(abi::BufDesc {
            addr: buf.as_mut_ptr() as u64,
            len: 8,
            bid: 0,
            resv: 1,
        });
        ring.submitter()
            .register_buf_ring_with_flags(base as u64, 1, 0, 0)?;
    }
    let mut fds = [0; 2];
    // SAFETY: a valid out-array of two ints.
    if unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, fds.as_mut_ptr()) } < 0 {
        return Err(io::Error::last_os_error());
    }
    let close = |fds: [i32; 2]| {
        // SAFETY: our own fds.
        unsafe {
            libc::close(fds[0]);
            libc::close(fds[1]);
        }
    };
    let e = opcode::RecvMulti::new(types::Fd(fds[0]), 0)
        .build()
        .user_data(1);
    // SAFETY: no pointers in the entry; the buffer outlives the ring's use.
    let native = unsafe { ring.submission().push(&e) }.is_ok()
        && (|| {
            let one = |fd: i32| {
                // SAFETY: one byte of a live array.
                let n = unsafe { libc::write(fd, b"x".as_ptr().cast(), 1) };
                n == 1
            };
            // Armed before the data comes, as a server's are.
            if ring.submit().is_err() || !one(fds[1]) || ring.submit_and_wait(1).is_err() {
                return false;
            }
            let first = ring.completion().next();
            if !first.is_some_and(|c| c.result() == 1 && io_uring::cqueue::more(c.flags())) {
                return false;
            }
            if !one(fds[1]) {
                return false;
            }
            let ts = types::Timespec::new().nsec(200_000_000);
            let args = types::SubmitArgs::new().timespec(&ts);
            let _ = ring.submitter().submit_with_args(1, &args);
            let end = ring.completion().next();
            end.is_some_and(|c| c.result() == -libc::ENOBUFS && !io_uring::cqueue::more(c.flags()))
        })();
    close(fds);
    drop(ring);
    drop(mem);
    Ok(native)
}

/// What this kernel's io_uring offers FastIO, for the start-up line:
/// `rings` is what setup found (`UringRing::buffer_rings`).
pub fn features(rings: bool) -> String {
    if !rings {
        "; no provided-buffer rings (before 5.19): a buffer per receive".into()
    } else if multishot_recv_native() {
        "; buffer rings, multishot receive".into()
    } else {
        "; buffer rings; multishot receive not on this kernel (the proactor re-arms single ones)"
            .into()
    }
}

/// Whether io_uring can be used here at all.
pub fn probe() -> io::Result<()> {
    IoUring::new(2).map(drop)
}

/// Counters for the whole context. Each ring writes only its own
/// line-aligned block, so rings on different cores do not share lines.
#[derive(Default)]
pub struct Counters {
    rings: std::sync::Mutex<Vec<Arc<RingCounters>>>,
}

#[derive(Default)]
#[repr(align(128))]
struct RingCounters {
    submitted: AtomicU64,
    completed: AtomicU64,
    invalid: AtomicU64,
}

impl Counters {
    pub fn stats(&self) -> Stats {
        let mut s = Stats::default();
        for r in self.rings.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            s.submitted += r.submitted.load(Ordering::Relaxed);
            s.completed += r.completed.load(Ordering::Relaxed);
            s.invalid += r.invalid.load(Ordering::Relaxed);
        }
        s
    }
}

fn bump(c: &AtomicU64) {
    c.store(c.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

/// io_uring user_data of entries FastIO adds itself (the cancel before a
/// CLOSE); their completions are not the caller's. Slot keys never reach it.
const INTERNAL: u64 = u64::MAX;

/// Memory the kernel reads after submission, kept until the completion.
/// Never read by us, only kept alive: hence dead_code.
#[allow(dead_code)]
enum Extra {
    None,
    Timeout(Box<types::Timespec>),
    Msg(Box<libc::msghdr>),
}

struct Slot {
    user_data: u64,
    /// A single-shot buffer-selecting receive, which may have to be
    /// resubmitted after -ENOBUFS: its fd, len and op_flags (the rest of
    /// the entry follows from them and `group`; kept this small because
    /// every idle connection has one slot).
    select: Option<(i32, u32, u32)>,
    /// `UringRing::added` when it was pushed: if buffers were added since,
    /// an -ENOBUFS it gets may be stale (io_uring looked before they
    /// came) and it is resubmitted at once instead of waiting.
    epoch: u32,
    /// The buffer group of a BUFFER_SELECT op (armed until its last
    /// completion).
    group: Option<u16>,
    /// The socket of a RECV (its completion says whether data is left),
    /// else -1.
    recv_fd: i32,
    _extra: Extra,
}

// SAFETY: the msghdr only carries pointers the submitter vouched for (see
// Ring::push); it is never dereferenced by us, only read by the kernel.
unsafe impl Send for Slot {}

pub struct UringRing {
    ring: IoUring,
    slots: Slab<Slot>,
    /// Completions produced without the kernel (validation failures), and
    /// completions drained from the CQ in batches.
    ready: VecDeque<Cqe>,
    sqpoll: bool,
    /// Created with IORING_SETUP_R_DISABLED (see `create_all`): enabled by
    /// the first io_uring_enter, whose thread becomes the single issuer.
    disabled: bool,
    /// Sockets whose last RECV left nothing behind (no
    /// IORING_CQE_F_SOCK_NONEMPTY): their next RECV is likely to find the
    /// socket empty, so it waits for data first (IORING_RECVSEND_POLL_FIRST)
    /// instead of trying and failing once. A bit per fd; a hint only.
    drained: Vec<u64>,
    counters: Arc<RingCounters>,
    /// Registered buffer groups: ops of each that are armed (None: not
    /// registered).
    groups: Vec<Option<u32>>,
    /// Single-shot receives that found their group empty, to resubmit
    /// once the process adds buffers.
    starving: Vec<Sqe>,
    /// Calls of `buffers_added` so far (wrapping).
    added: u32,
    /// Starving receives must be resubmitted without waiting for the next
    /// `buffers_added`: buffers came while one was in flight (see
    /// `Slot::epoch`), or the SQ was full when they were resubmitted.
    retry_now: bool,
    /// Whether this kernel has provided-buffer rings (5.19+).
    buffer_rings: bool,
}

/// IORING_RECVSEND_POLL_FIRST (linux/io_uring.h; the crate does not export
/// it): a RECV arms its poll before trying.
const RECVSEND_POLL_FIRST: u16 = 1;

/// fds above this get no POLL_FIRST hint (keeps the bitset small).
const DRAINED_MAX_FD: i32 = 1 << 20;

fn set_drained(bits: &mut Vec<u64>, fd: i32, drained: bool) {
    if !(0..DRAINED_MAX_FD).contains(&fd) {
        return;
    }
    let (i, bit) = (fd as usize / 64, 1u64 << (fd as usize % 64));
    if i >= bits.len() {
        if !drained {
            return;
        }
        bits.resize(i + 1, 0);
    }
    if drained {
        bits[i] |= bit;
    } else {
        bits[i] &= !bit;
    }
}

/// Registers and drops a one-entry buffer ring in `mem` on `ring`.
fn probe_buffer_rings_on(ring: &mut IoUring, mem: &memmap2::MmapMut) -> bool {
    let bgid = abi::FASTIO_MAX_BUF_GROUPS as u16 - 1;
    // SAFETY: a page of the caller's, unregistered again before return.
    let ok = unsafe {
        ring.submitter()
            .register_buf_ring_with_flags(mem.as_ptr() as u64, 1, bgid, 0)
    }
    .is_ok();
    if ok {
        let _ = ring.submitter().unregister_buf_ring(bgid);
    }
    ok
}

/// Counts ops armed on buffer group `bgid` up or down.
fn arm(groups: &mut [Option<u32>], bgid: u16, delta: i32) {
    if let Some(Some(n)) = groups.get_mut(bgid as usize) {
        *n = n.saturating_add_signed(delta);
    }
}

impl UringRing {
    pub(crate) fn create_all(
        cfg: &Config,
        params: &abi::Params,
        counters: &Arc<Counters>,
    ) -> io::Result<Vec<UringRing>> {
        let mut rings: Vec<UringRing> = Vec::with_capacity(params.nr_rings as usize);
        let ncpu = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
        for i in 0..params.nr_rings {
            let mut b = IoUring::builder();
            b.setup_cqsize(params.cq_entries);
            if cfg.uring_sqpoll {
                let k = params.max_ker_worker;
                if i < k {
                    b.setup_sqpoll(params.idle_us.div_ceil(1000).max(1));
                    if params.affinity_offset >= 0 {
                        b.setup_sqpoll_cpu((params.affinity_offset as u32 + i) % ncpu);
                    }
                } else {
                    b.setup_sqpoll(params.idle_us.div_ceil(1000).max(1));
                    b.setup_attach_wq(rings[(i % k) as usize].ring.as_raw_fd());
                }
            }
            let (ring, disabled) = Self::build(&b, cfg.uring_sqpoll, params.sq_entries)?;
            // Bounded io-wq workers (regular files) per ring; 0 keeps the
            // unbounded (socket) limit as it is.
            let mut limits = [params.max_wq_worker, 0];
            let _ = ring.submitter().register_iowq_max_workers(&mut limits);
            let rc = Arc::new(RingCounters::default());
            counters
                .rings
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(rc.clone());
            rings.push(UringRing {
                ring,
                slots: Slab::with_capacity(params.sq_entries as usize),
                ready: VecDeque::new(),
                sqpoll: cfg.uring_sqpoll,
                disabled,
                drained: Vec::new(),
                counters: rc,
                groups: Vec::new(),
                starving: Vec::new(),
                added: 0,
                retry_now: false,
                buffer_rings: false,
            });
            let last = rings.len() - 1;
            rings[last].buffer_rings = rings[last].probe_buffer_rings();
        }
        Ok(rings)
    }

    /// Builds the ring with the cheapest completion delivery the kernel
    /// offers, falling back step by step on older kernels:
    /// - DEFER_TASKRUN (6.1+, with SINGLE_ISSUER): completions are
    ///   produced only when the owner enters the kernel to wait for them,
    ///   in one batch, instead of interrupting the thread (task work with a
    ///   signal-like notification) as each socket becomes ready. A FastIO
    ///   ring is driven by one thread at a time; it is created disabled and
    ///   enabled by its first io_uring_enter, so rings may be created on one
    ///   thread and handed to another.
    /// - COOP_TASKRUN + TASKRUN_FLAG (5.19+): the same without deferral:
    ///   no interrupt, the work runs at the next kernel entry, and the SQ
    ///   flag says when some is pending.
    ///
    /// Not with SQPOLL, where the kernel thread is the issuer.
    fn build(b: &io_uring::Builder, sqpoll: bool, entries: u32) -> io::Result<(IoUring, bool)> {
        if sqpoll {
            return Ok((b.build(entries)?, false));
        }
        let mut defer = b.clone();
        defer
            .setup_single_issuer()
            .setup_defer_taskrun()
            .setup_coop_taskrun()
            .setup_taskrun_flag()
            .setup_r_disabled();
        if let Ok(r) = defer.build(entries) {
            return Ok((r, true));
        }
        let mut coop = b.clone();
        coop.setup_coop_taskrun().setup_taskrun_flag();
        if let Ok(r) = coop.build(entries) {
            return Ok((r, false));
        }
        Ok((b.build(entries)?, false))
    }

    /// Enables a ring created disabled; the calling thread becomes its
    /// single issuer.
    fn enable(&mut self) -> io::Result<()> {
        if self.disabled {
            self.ring.submitter().register_enable_rings()?;
            self.disabled = false;
        }
        Ok(())
    }

    /// Whether this kernel has provided-buffer rings (5.19+).
    fn probe_buffer_rings(&mut self) -> bool {
        memmap2::MmapMut::map_anon(4096).is_ok_and(|m| probe_buffer_rings_on(&mut self.ring, &m))
    }

    /// Whether buffer groups work on this kernel.
    pub(crate) fn buffer_rings(&self) -> bool {
        self.buffer_rings
    }

    /// Registers a buffer group with io_uring (`reg` validated by the
    /// caller, `reg.ring` is ours).
    ///
    /// # Safety
    /// As `Ring::register_buf_ring`: the descriptor array and the buffers
    /// stay valid until unregistered or the ring is gone.
    pub(crate) unsafe fn register_buf_ring(&mut self, reg: &abi::BufReg) -> io::Result<()> {
        let i = reg.bgid as usize;
        if self.groups.get(i).is_some_and(|g| g.is_some()) {
            return Err(io::Error::from_raw_os_error(libc::EEXIST));
        }
        if !self.buffer_rings {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "this kernel's io_uring has no provided-buffer rings (5.19+)",
            ));
        }
        // SAFETY: forwarded contract; entries <= 32768 fits io_uring's u16.
        unsafe {
            self.ring.submitter().register_buf_ring_with_flags(
                reg.ring_addr,
                reg.ring_entries as u16,
                reg.bgid,
                0,
            )?;
        }
        if self.groups.len() <= i {
            self.groups.resize(i + 1, None);
        }
        self.groups[i] = Some(0);
        Ok(())
    }

    pub(crate) fn unregister_buf_ring(&mut self, bgid: u16) -> io::Result<()> {
        match self.groups.get(bgid as usize).copied().flatten() {
            None => Err(io::Error::from_raw_os_error(libc::ENOENT)),
            Some(armed) if armed > 0 => Err(io::Error::from_raw_os_error(libc::EBUSY)),
            Some(_) => {
                self.ring.submitter().unregister_buf_ring(bgid)?;
                self.groups[bgid as usize] = None;
                Ok(())
            }
        }
    }

    fn group_armed(&mut self, bgid: u16, delta: i32) {
        arm(&mut self.groups, bgid, delta);
    }

    /// The process added buffers: resubmit the receives that waited for
    /// them (they go back to the SQ; a full SQ keeps the rest for later).
    pub(crate) fn buffers_added(&mut self) -> io::Result<()> {
        self.added = self.added.wrapping_add(1);
        self.resubmit_starving();
        self.submit().map(drop)
    }

    /// Moves the receives that waited for buffers back into the SQ (a full
    /// SQ keeps the rest for later); the next submit sends them.
    fn resubmit_starving(&mut self) {
        while let Some(sqe) = self.starving.last().copied() {
            // Counted as armed already: undo before push counts it again.
            self.group_armed(sqe.buf_group, -1);
            if self.push(&sqe).is_err() {
                // The SQ is full: the rest go in after the next submit
                // empties it (no buffers_added may ever come again).
                self.group_armed(sqe.buf_group, 1);
                self.retry_now = true;
                break;
            }
            self.starving.pop();
        }
    }

    fn is_drained(&self, fd: i32) -> bool {
        let i = fd as usize;
        (0..DRAINED_MAX_FD).contains(&fd)
            && self
                .drained
                .get(i / 64)
                .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    fn translate(sqe: &Sqe, poll_first: bool, extra: &mut Extra) -> squeue::Entry {
        let fd = types::Fd(sqe.fd);
        let nosig = libc::MSG_NOSIGNAL;
        let e = match sqe.opcode {
            op::NOP => opcode::Nop::new().build(),
            op::ACCEPT if sqe.flags & abi::FASTIO_SQE_MULTISHOT != 0 => {
                opcode::AcceptMulti::new(fd)
                    .flags(sqe.op_flags as i32)
                    .build()
            }
            op::RECV if sqe.flags & abi::FASTIO_SQE_MULTISHOT != 0 => {
                opcode::RecvMulti::new(fd, sqe.buf_group)
                    .flags(sqe.op_flags as i32)
                    .build()
            }
            op::RECV if sqe.flags & abi::FASTIO_SQE_BUFFER_SELECT != 0 => {
                opcode::Recv::new(fd, std::ptr::null_mut(), sqe.len)
                    .buf_group(sqe.buf_group)
                    .flags(sqe.op_flags as i32)
                    .build()
                    .flags(squeue::Flags::BUFFER_SELECT)
            }
            op::ACCEPT => opcode::Accept::new(
                fd,
                sqe.addr as usize as *mut libc::sockaddr,
                sqe.off as usize as *mut libc::socklen_t,
            )
            .flags(sqe.op_flags as i32)
            .build(),
            op::RECV => opcode::Recv::new(fd, sqe.addr as usize as *mut u8, sqe.len)
                .flags(sqe.op_flags as i32)
                .ioprio(if poll_first { RECVSEND_POLL_FIRST } else { 0 })
                .build(),
            op::SEND => opcode::Send::new(fd, sqe.addr as usize as *const u8, sqe.len)
                .flags(sqe.op_flags as i32 | nosig)
                .build(),
            op::SENDV => {
                // SAFETY: msghdr is plain data; zeroed is an empty header.
                let mut msg: Box<libc::msghdr> = Box::new(unsafe { std::mem::zeroed() });
                msg.msg_iov = sqe.addr as usize as *mut libc::iovec;
                msg.msg_iovlen = sqe.len as usize;
                let ptr: *const libc::msghdr = &*msg;
                *extra = Extra::Msg(msg);
                opcode::SendMsg::new(fd, ptr)
                    .flags((sqe.op_flags as i32 | nosig) as u32)
                    .build()
            }
            op::READ => opcode::Read::new(fd, sqe.addr as usize as *mut u8, sqe.len)
                .offset(sqe.off)
                .build(),
            op::WRITE => opcode::Write::new(fd, sqe.addr as usize as *const u8, sqe.len)
                .offset(sqe.off)
                .build(),
            op::CLOSE => opcode::Close::new(fd).build(),
            op::FSYNC => {
                let mut f = opcode::Fsync::new(fd);
                if sqe.op_flags & abi::FASTIO_FSYNC_DATASYNC != 0 {
                    f = f.flags(types::FsyncFlags::DATASYNC);
                }
                f.build()
            }
            // op::TIMEOUT; validation admits nothing else.
            _ => {
                let ts = Box::new(
                    types::Timespec::new()
                        .sec(sqe.off / 1_000_000_000)
                        .nsec((sqe.off % 1_000_000_000) as u32),
                );
                let ptr: *const types::Timespec = &*ts;
                *extra = Extra::Timeout(ts);
                opcode::Timeout::new(ptr).build()
            }
        };
        if sqe.flags & abi::FASTIO_SQE_ASYNC != 0 {
            e.flags(squeue::Flags::ASYNC)
        } else {
            e
        }
    }

    pub(crate) fn push(&mut self, sqe: &Sqe) -> Result<(), RingFull> {
        // CLOSE takes two io_uring entries (see below), everything else one.
        let need = if sqe.opcode == op::CLOSE { 2 } else { 1 };
        if self.sq_space() < need {
            return Err(RingFull);
        }
        bump(&self.counters.submitted);
        if let Err(errno) = validate::check(sqe) {
            bump(&self.counters.invalid);
            self.ready.push_back(Cqe {
                user_data: sqe.user_data,
                res: -errno,
                flags: 0,
            });
            return Ok(());
        }
        let select = sqe.flags & abi::FASTIO_SQE_BUFFER_SELECT != 0;
        if select {
            match self.groups.get(sqe.buf_group as usize) {
                Some(Some(_)) => self.group_armed(sqe.buf_group, 1),
                _ => {
                    self.ready.push_back(Cqe {
                        user_data: sqe.user_data,
                        res: -libc::ENOENT,
                        flags: 0,
                    });
                    return Ok(());
                }
            }
        }
        let multishot = sqe.flags & abi::FASTIO_SQE_MULTISHOT != 0;
        if multishot && sqe.opcode == op::RECV && !multishot_recv_native() {
            // Refused clearly (see `multishot_recv_native`); the proactor
            // checks `Ring::supports_multishot_recv` and re-arms single
            // receives itself instead.
            arm(&mut self.groups, sqe.buf_group, -1);
            self.ready.push_back(Cqe {
                user_data: sqe.user_data,
                res: -libc::EOPNOTSUPP,
                flags: 0,
            });
            return Ok(());
        }
        let mut extra = Extra::None;
        let is_recv = sqe.opcode == op::RECV && !select;
        let entry = Self::translate(sqe, is_recv && self.is_drained(sqe.fd), &mut extra);
        let key = self.slots.insert(Slot {
            user_data: sqe.user_data,
            select: (select && !multishot).then_some((sqe.fd, sqe.len, sqe.op_flags)),
            epoch: self.added,
            group: select.then_some(sqe.buf_group),
            recv_fd: if is_recv { sqe.fd } else { -1 },
            _extra: extra,
        });
        let entry = entry.user_data(key as u64);
        let mut sq = self.ring.submission();
        if sqe.opcode == op::CLOSE {
            // Receives waiting for buffers are ours, not io_uring's.
            let mut i = 0;
            while i < self.starving.len() {
                if self.starving[i].fd == sqe.fd {
                    let s = self.starving.remove(i);
                    arm(&mut self.groups, s.buf_group, -1);
                    self.ready.push_back(Cqe {
                        user_data: s.user_data,
                        res: -libc::ECANCELED,
                        flags: 0,
                    });
                } else {
                    i += 1;
                }
            }
            // FastIO's CLOSE cancels the ops waiting on the fd first (they
            // complete with -ECANCELED), as the other backends do; io_uring's
            // close alone would leave them parked and the socket open. The
            // hard link runs the close even when there was nothing to cancel.
            let cancel =
                opcode::AsyncCancel2::new(types::CancelBuilder::fd(types::Fd(sqe.fd)).all())
                    .build()
                    .user_data(INTERNAL)
                    .flags(squeue::Flags::IO_HARDLINK);
            // SAFETY: the cancel entry carries no pointers.
            if unsafe { sq.push(&cancel) }.is_err() {
                drop(sq);
                self.slots.remove(key);
                return Err(RingFull);
            }
        }
        // SAFETY: the entry's pointers are the submitter's promise (Ring::push
        // is unsafe for that reason) or live in the slot we just filled,
        // which is kept until the completion arrives.
        if unsafe { sq.push(&entry) }.is_err() {
            drop(sq);
            self.slots.remove(key);
            if select {
                self.group_armed(sqe.buf_group, -1);
            }
            return Err(RingFull);
        }
        Ok(())
    }

    pub(crate) fn submit(&mut self) -> io::Result<usize> {
        if std::mem::take(&mut self.retry_now) {
            self.resubmit_starving();
        }
        let n = {
            let sq = self.ring.submission();
            // Nothing to submit, no deferred work or overflow to flush: no
            // system call.
            if sq.is_empty() && !sq.taskrun() && !sq.cq_overflow() {
                return Ok(0);
            }
            sq.len()
        };
        self.enable()?;
        match self.ring.submit() {
            Ok(_) => Ok(n),
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EINTR | libc::EBUSY | libc::EAGAIN)
                ) =>
            {
                Ok(0)
            }
            Err(e) => Err(e),
        }
    }

    /// Moves every completion the kernel posted into `ready`.
    fn reap(&mut self) {
        let mut cq = self.ring.completion();
        cq.sync();
        for c in &mut cq {
            if c.user_data() == INTERNAL {
                continue;
            }
            let key = c.user_data() as usize;
            // The bits FastIO defines have io_uring's values (F_BUFFER,
            // F_MORE, the id above bit 16); SOCK_NONEMPTY and NOTIF are not
            // ours to pass on.
            let flags = c.flags()
                & (abi::FASTIO_CQE_F_BUFFER
                    | abi::FASTIO_CQE_F_MORE
                    | 0xffff << abi::FASTIO_CQE_BUFFER_SHIFT);
            if flags & abi::FASTIO_CQE_F_MORE != 0 {
                if let Some(slot) = self.slots.get(key) {
                    self.ready.push_back(Cqe {
                        user_data: slot.user_data,
                        res: c.result(),
                        flags,
                    });
                }
                continue;
            }
            // Only our own slot keys are ever submitted, so the slot exists.
            if let Some(slot) = self.slots.try_remove(key) {
                if slot.recv_fd >= 0 {
                    let drained = c.result() > 0 && !io_uring::cqueue::sock_nonempty(c.flags());
                    set_drained(&mut self.drained, slot.recv_fd, drained);
                }
                if let (Some((fd, len, op_flags)), Some(bgid)) = (slot.select, slot.group) {
                    if c.result() == -libc::ENOBUFS {
                        // Empty group: wait for buffers_added, still armed
                        // (or go again at once if some came since it was
                        // pushed: that call saw no starving op to resubmit).
                        if slot.epoch != self.added {
                            self.retry_now = true;
                        }
                        self.starving.push(Sqe {
                            opcode: op::RECV,
                            flags: abi::FASTIO_SQE_BUFFER_SELECT,
                            buf_group: bgid,
                            fd,
                            len,
                            op_flags,
                            user_data: slot.user_data,
                            ..Default::default()
                        });
                        continue;
                    }
                }
                if let Some(bgid) = slot.group {
                    arm(&mut self.groups, bgid, -1);
                }
                self.ready.push_back(Cqe {
                    user_data: slot.user_data,
                    res: c.result(),
                    flags,
                });
            }
        }
        drop(cq);
        if std::mem::take(&mut self.retry_now) {
            self.resubmit_starving();
        }
    }

    pub(crate) fn pop(&mut self) -> Option<Cqe> {
        if self.ready.is_empty() {
            self.reap();
            // Completions the kernel holds back until we enter it (deferred
            // or cooperative task work): fetch them, submitting what is
            // queued on the way.
            if self.ready.is_empty() && self.ring.submission().taskrun() && self.submit().is_ok() {
                self.reap();
            }
        }
        let c = self.ready.pop_front();
        if c.is_some() {
            bump(&self.counters.completed);
        }
        c
    }

    pub(crate) fn wait(&mut self, min: usize, timeout: Option<Duration>) -> io::Result<usize> {
        loop {
            self.reap();
            let have = self.ready.len();
            if have >= min {
                self.submit()?;
                return Ok(have);
            }
            let want = min - have;
            self.enable()?;
            let r = match timeout {
                None => self.ring.submit_and_wait(want),
                Some(t) => {
                    let ts = types::Timespec::from(t);
                    let args = types::SubmitArgs::new().timespec(&ts);
                    self.ring.submitter().submit_with_args(want, &args)
                }
            };
            match r {
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(libc::ETIME) => {
                    self.reap();
                    return Ok(self.ready.len());
                }
                Err(e) if matches!(e.raw_os_error(), Some(libc::EINTR | libc::EBUSY)) => {}
                Err(e) => return Err(e),
            }
            if timeout.is_some() {
                self.reap();
                return Ok(self.ready.len());
            }
        }
    }

    pub(crate) fn sq_space(&mut self) -> usize {
        let sq = self.ring.submission();
        sq.capacity() - sq.len()
    }

    pub(crate) fn sq_entries(&self) -> usize {
        self.ring.params().sq_entries() as usize
    }

    pub(crate) fn poller_sleeping(&mut self) -> bool {
        self.sqpoll && self.ring.submission().need_wakeup()
    }

    pub(crate) fn cq_overflow(&mut self) -> u64 {
        self.ring.completion().overflow() as u64
    }
}
