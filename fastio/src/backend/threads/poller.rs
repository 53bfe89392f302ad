//! The polling loop of one threads-backend worker.
//!
//! ```text
//! loop:
//!   for each of my rings: flush CQ backlog; pop and handle every SQE
//!   if ops are parked: epoll_wait(0) and retry the ready ones
//!   fire expired TIMEOUTs
//!   retry ops that wait for buffers if their group was refilled
//!   idle for poller_idle_us? set NEED_WAKEUP, re-check, sleep in epoll_wait
//! ```
//!
//! Buffer selection and multishot (ABI 2): a `BUFFER_SELECT` receive takes
//! a descriptor from its group only when the receive returns data; on
//! EAGAIN it parks like any receive, holding nothing. With the group empty
//! and data waiting, a single-shot op waits in `starving` until the process
//! adds buffers; a multishot op ends with -ENOBUFS. A multishot op posts a
//! completion with MORE per result and keeps going (parking when the socket
//! is drained) until an error, end of stream, cancellation or a full CQ.
//! Sleeping in epoll_wait rather than on a futex means a sleeping poller is
//! woken both by a submitter (through its eventfd) and by a parked socket
//! becoming ready, with no thread in between.

use super::exec::{self, Outcome};
use super::park::{ParkTable, Parked};
use super::{bump, PollerHandle, RingShared, Shared};
use crate::abi::{self, op, Cqe, Params, Sqe};
use crate::ring::SqConsumer;
use crate::sys::Epoll;
use crate::validate;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::sync::atomic::{fence, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long an idle poller spins without yielding: short enough not to
/// matter when it shares a CPU with its application thread, long enough that
/// back-to-back submissions never pay for a sched_yield.
const PURE_SPIN: Duration = Duration::from_micros(5);

/// epoll data of the poller's own wake-up eventfd (fds are < 2^31).
const WAKE_TOKEN: u64 = u64::MAX;

/// Results a multishot op produces in one go before it parks again (the
/// socket is level-triggered: it comes back at once if more is there), so
/// one busy connection cannot hold the poller.
const SHOTS_PER_TURN: usize = 16;

/// One attempt of a buffer-selecting receive or a multishot op.
enum Shot {
    /// A result (and cqe flags: the buffer, if one was used).
    Done(i32, u32),
    /// The socket has nothing yet: park for readiness.
    WouldBlock,
    /// Data is waiting but the group is empty.
    NoBuffer,
}

struct Ring {
    shared: Arc<RingShared>,
    sq: SqConsumer,
}

pub(crate) struct Poller {
    shared: Arc<Shared>,
    me: Arc<PollerHandle>,
    rings: Vec<Ring>,
    epoll: Epoll,
    parked: ParkTable,
    /// Single-shot buffer-selecting receives with data waiting and an empty
    /// group: retried when their group has descriptors again.
    starving: Vec<Parked>,
    /// Pending TIMEOUT ops: (deadline, sequence, ring, user_data).
    timers: BinaryHeap<Reverse<(Instant, u64, usize, u64)>>,
    timer_seq: u64,
    idle: Duration,
    affinity: Option<usize>,
    events: Vec<libc::epoll_event>,
}

impl Poller {
    pub fn new(
        index: usize,
        shared: Arc<Shared>,
        rings: Vec<Arc<RingShared>>,
        params: &Params,
    ) -> io::Result<Poller> {
        let me = shared.pollers[index].clone();
        let epoll = Epoll::new()?;
        let r = epoll.ctl(
            libc::EPOLL_CTL_ADD,
            me.wake.fd(),
            libc::EPOLLIN as u32,
            WAKE_TOKEN,
        );
        if r < 0 {
            return Err(io::Error::from_raw_os_error(-r));
        }
        let affinity = (params.affinity_offset >= 0).then(|| {
            let ncpu = std::thread::available_parallelism().map_or(1, |n| n.get());
            (params.affinity_offset as usize + index) % ncpu
        });
        Ok(Poller {
            shared,
            me,
            rings: rings
                .into_iter()
                .map(|shared| Ring {
                    sq: shared.sq.consumer(),
                    shared,
                })
                .collect(),
            epoll,
            parked: ParkTable::default(),
            starving: Vec::new(),
            timers: BinaryHeap::new(),
            timer_seq: 0,
            idle: Duration::from_micros(params.idle_us as u64),
            affinity,
            events: vec![libc::epoll_event { events: 0, u64: 0 }; 256],
        })
    }

    pub fn run(mut self) {
        if let Some(cpu) = self.affinity {
            core_affinity::set_for_current(core_affinity::CoreId { id: cpu });
        }
        let mut idle_since: Option<Instant> = None;
        while !self.shared.stop.load(Ordering::Relaxed) {
            bump(&self.me.counters.loops);
            let mut work = self.drain_rings();
            if self.parked.len() > 0 {
                work += self.poll_events(0);
            }
            if !self.timers.is_empty() {
                work += self.fire_timers();
            }
            if !self.starving.is_empty() {
                work += self.feed_starving();
            }
            if work > 0 {
                idle_since = None;
                continue;
            }
            let since = *idle_since.get_or_insert_with(Instant::now);
            let idle_for = since.elapsed();
            if idle_for >= self.idle {
                self.sleep();
                idle_since = None;
            } else if idle_for < PURE_SPIN {
                std::hint::spin_loop();
            } else {
                // Past a few microseconds, idle spinning yields the CPU: if
                // the thread we wait for shares our CPU, a pure spin would
                // hold it off until our time slice or idle time ran out
                // (measured: ~200 us per round trip instead of ~7 us). The
                // kernel module does the same with cond_resched().
                std::thread::yield_now();
            }
        }
    }

    /// Pops and handles every submission on every ring; returns how many.
    fn drain_rings(&mut self) -> usize {
        let mut work = 0;
        for i in 0..self.rings.len() {
            let ring = &self.rings[i];
            // Backpressure: while completions wait in the backlog, leave the
            // SQ alone so the backlog stays bounded by what was in flight.
            if ring.shared.cq.flags().load(Ordering::Relaxed) & abi::FASTIO_CQ_OVERFLOW != 0
                && !ring.shared.flush_backlog()
            {
                continue;
            }
            // At most one ring's worth per pass, so one busy ring cannot
            // starve the others; none past FASTIO_MAX_INFLIGHT (the SQ
            // fills: backpressure, as in the module).
            for _ in 0..ring.shared.sq.entries() {
                if !self.rings[i].shared.may_take() {
                    break;
                }
                let Some(sqe) = self.rings[i].sq.pop() else {
                    break;
                };
                self.rings[i].shared.taken();
                self.handle(i, sqe);
                work += 1;
            }
        }
        work
    }

    fn post(&self, ring: usize, user_data: u64, res: i32) {
        self.rings[ring].shared.post(Cqe {
            user_data,
            res,
            flags: 0,
        });
    }

    /// First look at a fresh submission.
    fn handle(&mut self, ring: usize, sqe: Sqe) {
        let c = &self.me.counters;
        bump(&c.submitted);
        if let Err(errno) = validate::check(&sqe) {
            bump(&c.invalid);
            return self.post(ring, sqe.user_data, -errno);
        }
        if sqe.flags & abi::FASTIO_SQE_BUFFER_SELECT != 0 {
            let mut groups = self.rings[ring].shared.groups.lock();
            let groups = groups.as_deref_mut().map_err(|_| ());
            match groups.ok().and_then(|g| g.get(sqe.buf_group)) {
                Some(g) => g.armed += 1,
                None => return self.post(ring, sqe.user_data, -libc::ENOENT),
            }
        }
        match sqe.opcode {
            op::TIMEOUT => {
                let deadline = Instant::now() + Duration::from_nanos(sqe.off);
                self.timer_seq += 1;
                self.timers
                    .push(Reverse((deadline, self.timer_seq, ring, sqe.user_data)));
            }
            op::CLOSE => {
                // Ops parked on the fd would otherwise wait forever: epoll
                // forgets a closed file. Cancel them first, oldest first.
                let mut gone = self.parked.cancel(&self.epoll, sqe.fd);
                let (starving, rest) = std::mem::take(&mut self.starving)
                    .into_iter()
                    .partition(|p| p.sqe.fd == sqe.fd);
                self.starving = rest;
                gone.extend::<Vec<Parked>>(starving);
                for p in gone {
                    self.finish(p, -libc::ECANCELED, 0);
                }
                // SAFETY: closing an fd number is memory-safe; which fds
                // the process closes is the submitter's business.
                let r = unsafe { libc::close(sqe.fd) };
                self.post(
                    ring,
                    sqe.user_data,
                    if r < 0 { -crate::sys::errno() } else { 0 },
                );
            }
            _ => self.attempt(Parked { ring, sqe }),
        }
    }

    /// Posts the last completion of `p` (its only one, unless multishot),
    /// and releases its hold on its buffer group.
    fn finish(&mut self, p: Parked, res: i32, flags: u32) {
        self.release_group(&p);
        self.rings[p.ring].shared.post(Cqe {
            user_data: p.sqe.user_data,
            res,
            flags,
        });
    }

    fn release_group(&self, p: &Parked) {
        if p.sqe.flags & abi::FASTIO_SQE_BUFFER_SELECT != 0 {
            let mut groups = self.rings[p.ring].shared.groups.lock();
            if let Some(g) = groups
                .as_deref_mut()
                .ok()
                .and_then(|g| g.get(p.sqe.buf_group))
            {
                g.armed = g.armed.saturating_sub(1);
            }
        }
    }

    /// Parks `p` until its socket is readable.
    fn park_read(&mut self, p: Parked) {
        bump(&self.me.counters.parked);
        if let Err((p, errno)) = self.parked.park(&self.epoll, exec::Interest::Read, p) {
            self.finish(p, -errno, 0);
        }
    }

    /// One non-blocking try of a buffer-selecting receive: a descriptor is
    /// taken only if the receive returns data into it.
    fn select_recv(&mut self, p: &Parked) -> Shot {
        let sqe = &p.sqe;
        let mut groups = self.rings[p.ring]
            .shared
            .groups
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        // Registered when the op was taken, and not unregistrable while
        // the op is armed.
        let Some(g) = groups.get(sqe.buf_group) else {
            return Shot::Done(-libc::ENOENT, 0);
        };
        let Some(d) = g.consumer.peek() else {
            drop(groups);
            // Something to give (data, its end, an error): it waits for a
            // buffer (the module's rule, and io_uring's, which selects the
            // buffer before it receives).
            return match exec::peek_ready(sqe.fd) {
                r if r == -libc::EAGAIN => Shot::WouldBlock,
                _ => Shot::NoBuffer,
            };
        };
        let len = match super::groups::usable_len(&d, sqe.len) {
            Ok(len) => len,
            // A bad descriptor stays at head, as in the module: the op
            // fails, and the process must rewrite it.
            Err(e) => return Shot::Done(-e, 0),
        };
        match exec::recv_into(sqe.fd, d.addr, len, sqe.op_flags) {
            r if r > 0 => {
                g.consumer.advance();
                let bid = (d.bid as u32) << abi::FASTIO_CQE_BUFFER_SHIFT;
                Shot::Done(r, abi::FASTIO_CQE_F_BUFFER | bid)
            }
            r if r == -libc::EAGAIN => Shot::WouldBlock,
            // End of stream or an error: the descriptor is not used.
            r => Shot::Done(r, 0),
        }
    }

    /// Runs a buffer-selecting or multishot op as far as it goes now.
    fn attempt_shots(&mut self, p: Parked) {
        let multi = p.sqe.flags & abi::FASTIO_SQE_MULTISHOT != 0;
        let accept = p.sqe.opcode == op::ACCEPT;
        for _ in 0..SHOTS_PER_TURN {
            let shot = if accept {
                match exec::try_nonblocking(&p.sqe) {
                    Outcome::Done(r) => Shot::Done(r, 0),
                    _ => Shot::WouldBlock,
                }
            } else {
                self.select_recv(&p)
            };
            match shot {
                Shot::WouldBlock => return self.park_read(p),
                Shot::NoBuffer if multi => return self.finish(p, -libc::ENOBUFS, 0),
                Shot::NoBuffer => return self.starving.push(p),
                Shot::Done(res, flags) => {
                    // An accepted fd may be 0; a receive ends at 0 (EOF).
                    let ended = res < 0 || (!accept && res == 0);
                    if !multi || ended {
                        return self.finish(p, res, flags);
                    }
                    let more = Cqe {
                        user_data: p.sqe.user_data,
                        res,
                        flags: flags | abi::FASTIO_CQE_F_MORE,
                    };
                    if !self.rings[p.ring].shared.post_more(more) {
                        // Posted without MORE: the CQ is full, the op ends.
                        return self.release_group(&p);
                    }
                }
            }
        }
        // Turn over: more may be waiting; epoll says so at once if it is.
        self.park_read(p);
    }

    /// Retries starving receives whose group has descriptors again.
    fn feed_starving(&mut self) -> usize {
        let mut fed = 0;
        let mut i = 0;
        while i < self.starving.len() {
            let p = self.starving[i];
            let mut groups = self.rings[p.ring].shared.groups.lock();
            let ready = groups
                .as_deref_mut()
                .is_ok_and(|g| g.has_buffers(p.sqe.buf_group));
            drop(groups);
            if ready {
                self.starving.swap_remove(i);
                fed += 1;
                self.attempt(p);
            } else {
                i += 1;
            }
        }
        fed
    }

    /// Tries an op without blocking, and parks or offloads it if need be.
    fn attempt(&mut self, p: Parked) {
        if p.sqe.flags & (abi::FASTIO_SQE_BUFFER_SELECT | abi::FASTIO_SQE_MULTISHOT) != 0 {
            return self.attempt_shots(p);
        }
        match exec::try_nonblocking(&p.sqe) {
            Outcome::Done(res) => self.post(p.ring, p.sqe.user_data, res),
            Outcome::WouldBlock(interest) => {
                bump(&self.me.counters.parked);
                if let Err((p, errno)) = self.parked.park(&self.epoll, interest, p) {
                    self.post(p.ring, p.sqe.user_data, -errno);
                }
            }
            Outcome::Offload => {
                bump(&self.me.counters.offloaded);
                let ring = self.rings[p.ring].shared.clone();
                self.shared.pool.submit(ring, p.sqe);
            }
        }
    }

    /// Collects readiness events (waiting up to `timeout_ms`) and retries
    /// the ops they concern. Returns how many ops were retried.
    fn poll_events(&mut self, timeout_ms: i32) -> usize {
        let n = self.epoll.wait(&mut self.events, timeout_ms);
        self.dispatch(n)
    }

    /// Retries the ops concerned by the first `n` collected events.
    fn dispatch(&mut self, n: usize) -> usize {
        let mut retried = 0;
        for i in 0..n {
            let ev = self.events[i];
            let (token, events) = (ev.u64, ev.events);
            if token == WAKE_TOKEN {
                self.me.wake.drain();
                continue;
            }
            for p in self.parked.take(&self.epoll, token as i32, events) {
                bump(&self.me.counters.requeued);
                retried += 1;
                self.attempt(p);
            }
        }
        retried
    }

    fn fire_timers(&mut self) -> usize {
        let now = Instant::now();
        let mut fired = 0;
        while let Some(Reverse((deadline, _, ring, user_data))) = self.timers.peek().copied() {
            if deadline > now {
                break;
            }
            self.timers.pop();
            self.post(ring, user_data, -libc::ETIME);
            fired += 1;
        }
        fired
    }

    /// Sets NEED_WAKEUP on every ring, and sleeps unless a submission slipped
    /// in meanwhile.
    ///
    /// The race: a submitter publishes its tail and then checks NEED_WAKEUP;
    /// we set NEED_WAKEUP and then check the tail. With a SeqCst fence on
    /// both sides (here, and in `Ring::submit`) at least one of us sees the
    /// other's store, so either we see the entry or they wake us. The eventfd
    /// keeps a wake-up that arrives before we block.
    fn sleep(&mut self) {
        for r in &self.rings {
            r.shared
                .sq
                .flags()
                .fetch_or(abi::FASTIO_SQ_NEED_WAKEUP, Ordering::SeqCst);
        }
        fence(Ordering::SeqCst);
        // A full CQ backlog is not a reason to stay awake: the app wakes us
        // after reaping when it sees FASTIO_CQ_OVERFLOW.
        // Nor is a ring at FASTIO_MAX_INFLIGHT: its ops complete through
        // our epoll/timers, or a blocking worker wakes us (`post`).
        let pending = self
            .rings
            .iter()
            .any(|r| !r.shared.sq.is_empty() && r.shared.may_take());
        // Buffers added while we decided to sleep: the process checks
        // NEED_WAKEUP after publishing its group's tail (same pairing).
        let fed = self.starving.iter().any(|p| {
            let mut groups = self.rings[p.ring].shared.groups.lock();
            groups
                .as_deref_mut()
                .is_ok_and(|g| g.has_buffers(p.sqe.buf_group))
        });
        let pending = pending || fed;
        if !pending && !self.shared.stop.load(Ordering::SeqCst) {
            bump(&self.me.counters.sleeps);
            let timeout_ms = match self.timers.peek() {
                None => -1,
                Some(Reverse((deadline, ..))) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    // Round up so we never wake just before the deadline.
                    left.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32
                }
            };
            let n = self.epoll.wait(&mut self.events, timeout_ms);
            // Counted before the ops run, so a completion is never observed
            // ahead of the wake-up that produced it.
            bump(&self.me.counters.wakeups);
            self.dispatch(n);
        }
        for r in &self.rings {
            r.shared
                .sq
                .flags()
                .fetch_and(!abi::FASTIO_SQ_NEED_WAKEUP, Ordering::SeqCst);
        }
    }
}
