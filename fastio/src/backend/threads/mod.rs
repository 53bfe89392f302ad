//! The `threads` backend: polling workers as threads of this process.
//!
//! It speaks exactly the protocol the kernel module does, over the same
//! memory layout, so everything above it (the app-side `Ring`, the proactor,
//! the servers) is the same code on both:
//!
//! ```text
//!  app thread                      poller thread i (rings j with j % K == i)
//!  ----------                      ------------------------------------------
//!  push sqe, publish tail  ──────▶ pop sqe ─▶ validate ─▶ try without blocking
//!  if SQ NEED_WAKEUP: wake ──────▶ (asleep in epoll_wait)     │ ready: post cqe
//!                                                           │ EAGAIN: park fd in epoll
//!                                                           │ may sleep: blocking pool
//!  pop cqe  ◀──────────────────── post cqe (backlog if CQ full; futex-wake waiter)
//! ```
//!
//! Modules: `exec` (one op with libc), `park` (ops waiting for readiness),
//! `poller` (the polling loop), `groups` (registered buffer groups),
//! `blocking` (the blocking-worker pool).

mod blocking;
mod exec;
mod groups;
mod park;
mod poller;

use crate::abi::{self, BufReg, Cqe, Params, Sqe, Stats};
use crate::ring::{CqProducer, RawQueue};
use crate::sys::{futex_wake, EventFd};
use memmap2::MmapMut;
use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{fence, AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Adds one to a counter that only the calling thread writes: a plain load
/// and store, so the hot loop pays no locked instruction for its statistics.
fn bump(c: &AtomicU64) {
    c.store(c.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

/// Counters of one poller (cache-line aligned: pollers must not share lines).
#[derive(Default)]
#[repr(align(128))]
pub(crate) struct PollerCounters {
    submitted: AtomicU64,
    invalid: AtomicU64,
    parked: AtomicU64,
    requeued: AtomicU64,
    offloaded: AtomicU64,
    sleeps: AtomicU64,
    wakeups: AtomicU64,
    loops: AtomicU64,
}

/// What the rest of the process sees of one poller.
pub(crate) struct PollerHandle {
    /// Written by submitters when the poller asked for a wake-up.
    wake: EventFd,
    counters: PollerCounters,
}

/// Producer end of a completion ring plus the backlog it overflows into.
struct CqSide {
    producer: CqProducer,
    backlog: VecDeque<Cqe>,
}

/// One ring pair and everything that posts to it.
pub struct RingShared {
    /// Owns the pages the queues point into; never touched directly.
    _mem: MmapMut,
    pub(crate) sq: RawQueue<Sqe>,
    pub(crate) cq: RawQueue<Cqe>,
    /// The poller and the blocking workers all complete ops on this ring;
    /// the lock makes them one producer as far as the ring is concerned.
    cq_side: Mutex<CqSide>,
    completed: AtomicU64,
    overflowed: AtomicU64,
    /// Ops taken from the SQ and not yet posted (parked, offloaded, timing
    /// or about to complete). The poller stops consuming the SQ at
    /// `FASTIO_MAX_INFLIGHT`, as the module does, so a process cannot pin
    /// unbounded memory in the backend: its SQ fills instead.
    inflight: AtomicU32,
    poller: Arc<PollerHandle>,
    /// Buffer groups of this ring pair.
    pub(crate) groups: Mutex<groups::Groups>,
    nr_rings: u32,
}

impl RingShared {
    fn new(params: &Params, poller: Arc<PollerHandle>) -> io::Result<RingShared> {
        let off = params.off;
        let mut mem = MmapMut::map_anon(off.ring_size as usize)?;
        let base = mem.as_mut_ptr();
        // SAFETY: `offsets` placed both headers and arrays inside ring_size
        // bytes with the alignment their types need (page-aligned base); the
        // mapping lives in `_mem` as long as the queues do.
        let (sq, cq) = unsafe {
            (
                RawQueue::new(
                    base.add(off.sq_hdr as usize),
                    base.add(off.sqes as usize).cast::<Sqe>(),
                    params.sq_entries,
                ),
                RawQueue::new(
                    base.add(off.cq_hdr as usize),
                    base.add(off.cqes as usize).cast::<Cqe>(),
                    params.cq_entries,
                ),
            )
        };
        let producer = cq.producer();
        Ok(RingShared {
            _mem: mem,
            sq,
            cq,
            cq_side: Mutex::new(CqSide {
                producer,
                backlog: VecDeque::new(),
            }),
            completed: AtomicU64::new(0),
            overflowed: AtomicU64::new(0),
            inflight: AtomicU32::new(0),
            poller,
            groups: Mutex::new(groups::Groups::default()),
            nr_rings: params.nr_rings,
        })
    }

    /// Posts one completion. Never drops it: if the CQ is full it waits in
    /// the backlog (and FASTIO_CQ_OVERFLOW tells the app to wake us after
    /// reaping, so we flush it).
    pub(crate) fn post(&self, cqe: Cqe) {
        {
            let mut side = self.cq_side.lock().unwrap_or_else(|e| e.into_inner());
            self.flush_locked(&mut side);
            if !side.backlog.is_empty() || side.producer.push(&cqe).is_err() {
                side.backlog.push_back(cqe);
                self.cq.overflow().fetch_add(1, Ordering::Relaxed);
                self.overflowed.fetch_add(1, Ordering::Relaxed);
                self.cq
                    .flags()
                    .fetch_or(abi::FASTIO_CQ_OVERFLOW, Ordering::SeqCst);
            } else {
                side.producer.publish();
            }
        }
        self.completed.fetch_add(1, Ordering::Relaxed);
        // At the limit the poller may sleep with submissions waiting (it
        // does not count a ring it may not take from as pending); a
        // completion from a blocking worker must wake it to go on.
        if self.inflight.fetch_sub(1, Ordering::SeqCst) == abi::FASTIO_MAX_INFLIGHT {
            self.wake();
        }
        self.wake_waiter();
    }

    /// Posts a completion of a multishot op that goes on (`cqe` carries
    /// `FASTIO_CQE_F_MORE`). When the CQ has no room it is posted without
    /// MORE, to the backlog, and the op ends there (returns false): a
    /// multishot op cannot grow the backlog without bound.
    pub(crate) fn post_more(&self, cqe: Cqe) -> bool {
        {
            let mut side = self.cq_side.lock().unwrap_or_else(|e| e.into_inner());
            if self.flush_locked(&mut side) && side.producer.push(&cqe).is_ok() {
                side.producer.publish();
                drop(side);
                self.completed.fetch_add(1, Ordering::Relaxed);
                self.wake_waiter();
                return true;
            }
        }
        self.post(Cqe {
            flags: cqe.flags & !abi::FASTIO_CQE_F_MORE,
            ..cqe
        });
        false
    }

    /// Registers a buffer group for this ring pair (`reg.ring` is ours).
    ///
    /// # Safety
    /// As `Ring::register_buf_ring`: the descriptors, and every buffer they
    /// name, stay valid until unregistered or the context is gone.
    pub(crate) unsafe fn register_group(&self, reg: &BufReg) -> Result<(), i32> {
        let mut g = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: forwarded contract.
        unsafe { g.register(reg, self.nr_rings) }
    }

    pub(crate) fn unregister_group(&self, bgid: u16) -> Result<(), i32> {
        let mut g = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        g.unregister(bgid)
    }

    /// Counts an op taken from the SQ; every one is posted exactly once.
    pub(crate) fn taken(&self) {
        self.inflight.fetch_add(1, Ordering::SeqCst);
    }

    /// Whether the poller may take another op from the SQ.
    pub(crate) fn may_take(&self) -> bool {
        self.inflight.load(Ordering::SeqCst) < abi::FASTIO_MAX_INFLIGHT
    }

    /// Moves backlogged completions into the CQ as space allows.
    /// Returns true if the backlog is now empty.
    pub(crate) fn flush_backlog(&self) -> bool {
        let mut side = self.cq_side.lock().unwrap_or_else(|e| e.into_inner());
        let had = !side.backlog.is_empty();
        let empty = self.flush_locked(&mut side);
        drop(side);
        if had {
            self.wake_waiter();
        }
        empty
    }

    fn flush_locked(&self, side: &mut CqSide) -> bool {
        if side.backlog.is_empty() {
            return true;
        }
        while let Some(cqe) = side.backlog.front() {
            if side.producer.push(cqe).is_err() {
                break;
            }
            side.backlog.pop_front();
        }
        side.producer.publish();
        if side.backlog.is_empty() {
            self.cq
                .flags()
                .fetch_and(!abi::FASTIO_CQ_OVERFLOW, Ordering::SeqCst);
            return true;
        }
        false
    }

    /// Wakes an app thread sleeping in `wait` if it said it sleeps. The
    /// fence pairs with the one in `Ring::wait`: either the waiter sees our
    /// new tail, or we see its CQ_WAITING flag.
    fn wake_waiter(&self) {
        fence(Ordering::SeqCst);
        if self.cq.flags().load(Ordering::Relaxed) & abi::FASTIO_CQ_WAITING != 0 {
            futex_wake(self.cq.tail_word());
        }
    }

    /// Wakes the poller serving this ring (the app calls this only when the
    /// SQ's NEED_WAKEUP flag is set, or to flush an overflow backlog).
    pub fn wake(&self) {
        self.poller.wake.signal();
    }
}

/// State the pollers and workers share with the context owner.
pub(crate) struct Shared {
    stop: AtomicBool,
    pollers: Vec<Arc<PollerHandle>>,
    rings: Vec<Arc<RingShared>>,
    pool: Arc<blocking::Pool>,
}

/// A running threads-backend context. Dropping it stops the pollers and
/// joins them; blocking workers finish their current op and exit.
pub struct Context {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl Context {
    /// Starts `max_ker_worker` pollers and `max_wq_worker` blocking workers
    /// serving `nr_rings` ring pairs. `params` must have passed
    /// `layout::validate`.
    pub fn start(params: &Params) -> io::Result<Context> {
        let pollers: Vec<Arc<PollerHandle>> = (0..params.max_ker_worker)
            .map(|_| {
                Ok(Arc::new(PollerHandle {
                    wake: EventFd::new()?,
                    counters: PollerCounters::default(),
                }))
            })
            .collect::<io::Result<_>>()?;
        let rings = (0..params.nr_rings)
            .map(|i| {
                let p = &pollers[(i % params.max_ker_worker) as usize];
                RingShared::new(params, p.clone()).map(Arc::new)
            })
            .collect::<io::Result<Vec<_>>>()?;
        let pool = Arc::new(blocking::Pool::new());
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            pollers,
            rings,
            pool,
        });
        let mut ctx = Context {
            shared: shared.clone(),
            threads: Vec::new(),
        };
        for i in 0..params.max_wq_worker {
            // Blocking workers are detached: one may sit in a read that never
            // returns, and must not hold up teardown. They own what they use.
            blocking::Pool::spawn_worker(&shared.pool, i)?;
        }
        for i in 0..params.max_ker_worker as usize {
            let mine: Vec<Arc<RingShared>> = shared
                .rings
                .iter()
                .enumerate()
                .filter(|(j, _)| j % params.max_ker_worker as usize == i)
                .map(|(_, r)| r.clone())
                .collect();
            let p = poller::Poller::new(i, shared.clone(), mine, params)?;
            let h = std::thread::Builder::new()
                .name(format!("fastio-poll-{i}"))
                .spawn(move || p.run())?;
            ctx.threads.push(h);
        }
        Ok(ctx)
    }

    pub fn rings(&self) -> &[Arc<RingShared>] {
        &self.shared.rings
    }

    pub fn stats(&self) -> Stats {
        let mut s = Stats::default();
        for p in &self.shared.pollers {
            let c = &p.counters;
            let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
            s.submitted += get(&c.submitted);
            s.invalid += get(&c.invalid);
            s.parked += get(&c.parked);
            s.requeued += get(&c.requeued);
            s.offloaded += get(&c.offloaded);
            s.sleeps += get(&c.sleeps);
            s.wakeups += get(&c.wakeups);
            s.loops += get(&c.loops);
        }
        for r in &self.shared.rings {
            s.completed += r.completed.load(Ordering::Relaxed);
            s.overflowed += r.overflowed.load(Ordering::Relaxed);
        }
        s
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        for p in &self.shared.pollers {
            p.wake.signal();
        }
        self.shared.pool.stop();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
