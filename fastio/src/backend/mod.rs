//! Backends: who executes the rings, chosen at run time.
//!
//! [`Fastio::new`] builds a context with `nr_rings` ring pairs (one per
//! application thread) on the backend `fastio.conf` asks for; [`Ring`] is the
//! application's end of one ring pair, the same type on every backend.
//!
//! | backend   | SQ/CQ memory            | executed by                          |
//! |-----------|-------------------------|--------------------------------------|
//! | `kernel`  | pages of /dev/fastio    | in-kernel pollers of the fastio module |
//! | `threads` | anonymous mapping       | poller threads of this process       |
//! | `uring`   | io_uring's own rings    | the kernel's io_uring                |

pub mod kernel;
pub mod threads;
pub mod uring;

use crate::abi::{self, BufDesc, BufReg, Cqe, Sqe, Stats};
use crate::config::{BackendChoice, Config};
use crate::layout;
use crate::ring::{CqConsumer, RingFull, SqProducer};
use crate::sys::futex_wait;
use std::fmt;
use std::io;
use std::sync::atomic::{fence, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The backend a context runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    Kernel,
    Uring,
    Threads,
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BackendKind::Kernel => "kernel",
            BackendKind::Uring => "uring",
            BackendKind::Threads => "threads",
        })
    }
}

/// Whatever must stay alive while any ring of the context is in use.
enum Owner {
    Threads(threads::Context),
    Kernel(Arc<kernel::Device>),
    Uring(Arc<uring::Counters>),
}

/// A FastIO context: the workers and the ring pairs they serve.
pub struct Fastio {
    kind: BackendKind,
    reason: String,
    owner: Arc<Owner>,
    rings: Vec<Ring>,
}

impl Fastio {
    /// Starts a context with `nr_rings` ring pairs on the backend `cfg`
    /// selects. `auto` tries kernel, then uring, then threads; the reason for
    /// the choice is in [`Fastio::describe`].
    pub fn new(cfg: &Config, nr_rings: u32) -> io::Result<Fastio> {
        let params = layout::validate(&cfg.params(nr_rings))
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let (kind, mut reason) = match cfg.backend {
            BackendChoice::Kernel => (BackendKind::Kernel, "backend = kernel".to_string()),
            BackendChoice::Uring => (BackendKind::Uring, "backend = uring".to_string()),
            BackendChoice::Threads => (BackendKind::Threads, "backend = threads".to_string()),
            BackendChoice::Auto => match kernel::probe() {
                Ok(()) => (BackendKind::Kernel, "auto: /dev/fastio opened".to_string()),
                Err(ke) => match uring::probe() {
                    Ok(()) => (
                        BackendKind::Uring,
                        format!("auto: no kernel module ({ke}); io_uring works"),
                    ),
                    Err(ue) => (
                        BackendKind::Threads,
                        format!("auto: no kernel module ({ke}); io_uring unavailable ({ue})"),
                    ),
                },
            },
        };
        let (owner, rings) = match kind {
            BackendKind::Threads => {
                let ctx = threads::Context::start(&params)?;
                let rings: Vec<Imp> = ctx
                    .rings()
                    .iter()
                    .map(|r| {
                        Imp::Shm(ShmRing {
                            sq: r.sq.producer(),
                            cq: r.cq.consumer(),
                            notify: Notify::Threads(r.clone()),
                        })
                    })
                    .collect();
                (Owner::Threads(ctx), rings)
            }
            BackendKind::Kernel => {
                let dev = kernel::Device::open(&params)?;
                let rings = (0..params.nr_rings)
                    .map(|i| {
                        let (sq, cq) = dev.queues(i);
                        Imp::Shm(ShmRing {
                            sq: sq.producer(),
                            cq: cq.consumer(),
                            notify: Notify::Kernel(dev.clone(), i),
                        })
                    })
                    .collect();
                (Owner::Kernel(dev), rings)
            }
            BackendKind::Uring => {
                let counters = Arc::new(uring::Counters::default());
                let rings = uring::UringRing::create_all(cfg, &params, &counters)?;
                // Each ring probed buffer rings at setup: say what it found.
                reason += &uring::features(rings.iter().all(|r| r.buffer_rings()));
                let rings = rings.into_iter().map(Imp::Uring).collect();
                (Owner::Uring(counters), rings)
            }
        };
        let owner = Arc::new(owner);
        let rings = rings
            .into_iter()
            .enumerate()
            .map(|(index, imp)| Ring {
                imp,
                kind,
                index: index as u32,
                _owner: owner.clone(),
            })
            .collect();
        Ok(Fastio {
            kind,
            reason,
            owner,
            rings,
        })
    }

    pub fn kind(&self) -> BackendKind {
        self.kind
    }

    /// One line for start-up logs: the backend and why it was chosen.
    pub fn describe(&self) -> String {
        format!("FastIO backend: {} ({})", self.kind, self.reason)
    }

    /// Hands out the ring pairs, to be moved to the threads that use them.
    /// The context keeps running until the last ring and this handle are gone.
    pub fn take_rings(&mut self) -> Vec<Ring> {
        std::mem::take(&mut self.rings)
    }

    /// Counters summed over the context. For `uring` only submitted,
    /// completed and invalid are known (io_uring keeps no such counters).
    pub fn stats(&self) -> Stats {
        match &*self.owner {
            Owner::Threads(ctx) => ctx.stats(),
            Owner::Kernel(dev) => dev.stats().unwrap_or_default(),
            Owner::Uring(c) => c.stats(),
        }
    }
}

/// The application's end of one ring pair. Use from one thread at a time.
pub struct Ring {
    imp: Imp,
    kind: BackendKind,
    /// Which ring pair of the context this is.
    index: u32,
    _owner: Arc<Owner>,
}

// One per thread and never moved on a hot path: the size difference costs
// nothing, while boxing would add a pointer chase to every uring op.
#[allow(clippy::large_enum_variant)]
enum Imp {
    Shm(ShmRing),
    Uring(uring::UringRing),
}

/// A ring pair in shared memory (threads and kernel backends).
struct ShmRing {
    sq: SqProducer,
    cq: CqConsumer,
    notify: Notify,
}

/// How to wake the poller of a shared-memory ring, and how to sleep until
/// completions arrive.
enum Notify {
    Threads(Arc<threads::RingShared>),
    Kernel(Arc<kernel::Device>, u32),
}

impl Notify {
    fn wake(&self) -> io::Result<()> {
        match self {
            Notify::Threads(r) => {
                r.wake();
                Ok(())
            }
            Notify::Kernel(dev, i) => dev.wake(*i),
        }
    }
}

impl ShmRing {
    fn submit(&mut self) -> io::Result<usize> {
        let n = self.sq.unpublished() as usize;
        self.sq.publish();
        // Pairs with the fence in the poller's sleep path: either it sees our
        // tail, or we see its NEED_WAKEUP (see threads/poller.rs).
        fence(Ordering::SeqCst);
        if self.sq.queue().flags().load(Ordering::Relaxed) & abi::FASTIO_SQ_NEED_WAKEUP != 0 {
            self.notify.wake()?;
        }
        Ok(n)
    }

    fn pop(&mut self) -> Option<Cqe> {
        let c = self.cq.pop();
        if c.is_none()
            && self.cq.queue().flags().load(Ordering::Relaxed) & abi::FASTIO_CQ_OVERFLOW != 0
        {
            // Completions wait in the backlog and we just made room.
            let _ = self.notify.wake();
        }
        c
    }

    fn wait(&mut self, min: usize, timeout: Option<Duration>) -> io::Result<usize> {
        self.submit()?;
        let deadline = timeout.map(|t| Instant::now() + t);
        let min = min.min(self.cq.queue().entries() as usize) as u32;
        let mut spins = 0;
        loop {
            let ready = self.cq.ready();
            if ready >= min {
                return Ok(ready as usize);
            }
            let overflow = self.cq.queue().flags().load(Ordering::Relaxed);
            if overflow & abi::FASTIO_CQ_OVERFLOW != 0 {
                self.notify.wake()?;
            }
            // A short spin catches completions that are microseconds away
            // without paying for a sleep and a wake-up.
            if spins < 100 {
                spins += 1;
                std::hint::spin_loop();
                continue;
            }
            let left = match deadline {
                None => None,
                Some(d) => match d.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => Some(left),
                    _ => return Ok(ready as usize),
                },
            };
            match &self.notify {
                Notify::Threads(_) => {
                    // Say we sleep, then re-check: pairs with the fence in
                    // RingShared::wake_waiter.
                    let q = self.cq.queue();
                    q.flags().fetch_or(abi::FASTIO_CQ_WAITING, Ordering::SeqCst);
                    fence(Ordering::SeqCst);
                    let tail = q.tail_word().load(Ordering::Acquire);
                    if self.cq.ready() < min {
                        futex_wait(self.cq.queue().tail_word(), tail, left);
                    }
                    self.cq
                        .queue()
                        .flags()
                        .fetch_and(!abi::FASTIO_CQ_WAITING, Ordering::SeqCst);
                }
                Notify::Kernel(dev, i) => dev.wait(*i, min, left)?,
            }
        }
    }
}

impl Ring {
    /// Queues one submission; it is not visible to the workers until
    /// [`Ring::submit`] (or [`Ring::wait`]). A full ring is `Err(RingFull)`:
    /// reap completions, submit, and try again.
    ///
    /// # Safety
    /// Every pointer in `sqe` (buffer, iovec array and the buffers it names,
    /// sockaddr and socklen) must stay valid for the access the opcode makes
    /// until its completion has been popped. The safe way to guarantee that
    /// is [`crate::proactor::Proactor`], which owns the buffers.
    pub unsafe fn push(&mut self, sqe: &Sqe) -> Result<(), RingFull> {
        match &mut self.imp {
            Imp::Shm(r) => r.sq.push(sqe),
            Imp::Uring(r) => r.push(sqe),
        }
    }

    /// Publishes queued submissions and wakes the poller if it sleeps.
    /// Returns how many were published.
    pub fn submit(&mut self) -> io::Result<usize> {
        match &mut self.imp {
            Imp::Shm(r) => r.submit(),
            Imp::Uring(r) => r.submit(),
        }
    }

    /// The next completion, if one is ready.
    pub fn pop(&mut self) -> Option<Cqe> {
        match &mut self.imp {
            Imp::Shm(r) => r.pop(),
            Imp::Uring(r) => r.pop(),
        }
    }

    /// Submits, then waits until at least `min` completions are ready (or
    /// `timeout` passes). Returns how many are ready.
    pub fn wait(&mut self, min: usize, timeout: Option<Duration>) -> io::Result<usize> {
        match &mut self.imp {
            Imp::Shm(r) => r.wait(min, timeout),
            Imp::Uring(r) => r.wait(min, timeout),
        }
    }

    /// Free submission slots right now.
    pub fn sq_space(&mut self) -> usize {
        match &mut self.imp {
            Imp::Shm(r) => r.sq.space() as usize,
            Imp::Uring(r) => r.sq_space(),
        }
    }

    /// Submission entries in this ring.
    pub fn sq_entries(&self) -> usize {
        match &self.imp {
            Imp::Shm(r) => r.sq.queue().entries() as usize,
            Imp::Uring(r) => r.sq_entries(),
        }
    }

    pub fn backend(&self) -> BackendKind {
        self.kind
    }

    /// Whether the poller serving this ring is asleep (NEED_WAKEUP set).
    /// Always false for uring without SQPOLL, which has no poller.
    pub fn poller_sleeping(&mut self) -> bool {
        match &mut self.imp {
            Imp::Shm(r) => {
                r.sq.queue().flags().load(Ordering::SeqCst) & abi::FASTIO_SQ_NEED_WAKEUP != 0
            }
            Imp::Uring(r) => r.poller_sleeping(),
        }
    }

    /// Whether buffer groups (BUFFER_SELECT, multishot RECV) work here:
    /// always on threads and kernel (ABI 2); on uring when the kernel has
    /// provided-buffer rings (5.19+).
    pub fn supports_buffer_select(&self) -> bool {
        match &self.imp {
            Imp::Shm(_) => true,
            Imp::Uring(r) => r.buffer_rings(),
        }
    }

    /// Whether a MULTISHOT RECV works here: on threads and kernel, and on
    /// uring where io_uring's ends properly on an empty group (see
    /// `uring::multishot_recv_native`); elsewhere it completes with
    /// -EOPNOTSUPP.
    pub fn supports_multishot_recv(&self) -> bool {
        match &self.imp {
            Imp::Shm(_) => true,
            Imp::Uring(r) => r.buffer_rings() && uring::multishot_recv_native(),
        }
    }

    /// Registers buffer group `bgid` for this ring pair: `entries`
    /// descriptors at `ring` (page-aligned, e.g. [`crate::bufring::BufRing`]).
    /// Errors as `FASTIO_IOC_REGISTER_BUFS`: EEXIST, EINVAL.
    ///
    /// # Safety
    /// The descriptor array, and every buffer a descriptor published in it
    /// names, must stay valid (and not be otherwise used while the workers
    /// own it) until [`Ring::unregister_buf_ring`] succeeds or the context
    /// is gone: workers write received data into them.
    pub unsafe fn register_buf_ring(
        &mut self,
        bgid: u16,
        ring: *mut BufDesc,
        entries: u32,
    ) -> io::Result<()> {
        let reg = BufReg {
            ring_addr: ring as u64,
            ring_entries: entries,
            ring: self.index,
            bgid,
            ..Default::default()
        };
        let nr_rings = self.index + 1;
        crate::validate::check_buf_reg(&reg, nr_rings).map_err(io::Error::from_raw_os_error)?;
        match &mut self.imp {
            Imp::Shm(r) => match &r.notify {
                // SAFETY: forwarded contract.
                Notify::Threads(shared) => {
                    unsafe { shared.register_group(&reg) }.map_err(io::Error::from_raw_os_error)
                }
                Notify::Kernel(dev, _) => dev.register_bufs(&reg),
            },
            // SAFETY: forwarded contract.
            Imp::Uring(r) => unsafe { r.register_buf_ring(&reg) },
        }
    }

    /// Forgets buffer group `bgid`: ENOENT if not registered, EBUSY while
    /// an op of the group is armed (its receive may still write).
    pub fn unregister_buf_ring(&mut self, bgid: u16) -> io::Result<()> {
        let reg = BufReg {
            ring: self.index,
            bgid,
            ..Default::default()
        };
        match &mut self.imp {
            Imp::Shm(r) => match &r.notify {
                Notify::Threads(shared) => shared
                    .unregister_group(bgid)
                    .map_err(io::Error::from_raw_os_error),
                Notify::Kernel(dev, _) => dev.unregister_bufs(&reg),
            },
            Imp::Uring(r) => r.unregister_buf_ring(bgid),
        }
    }

    /// Tells the workers that descriptors were published to a group, so
    /// receives waiting for buffers go on: wakes a sleeping poller (the
    /// same NEED_WAKEUP pairing as [`Ring::submit`]); on uring, resubmits
    /// them.
    pub fn buffers_added(&mut self) -> io::Result<()> {
        match &mut self.imp {
            Imp::Shm(r) => {
                fence(Ordering::SeqCst);
                if r.sq.queue().flags().load(Ordering::Relaxed) & abi::FASTIO_SQ_NEED_WAKEUP != 0 {
                    r.notify.wake()?;
                }
                Ok(())
            }
            Imp::Uring(r) => r.buffers_added(),
        }
    }

    /// Completions that had to wait in the overflow backlog so far.
    pub fn cq_overflow(&mut self) -> u64 {
        match &mut self.imp {
            Imp::Shm(r) => r.cq.queue().overflow().load(Ordering::Relaxed),
            Imp::Uring(r) => r.cq_overflow(),
        }
    }
}
