//! The FastIO echo server: one [`Proactor`] (one ring pair) per application
//! thread, each thread with its own SO_REUSEPORT listener.
//!
//! Every socket operation (accept, recv, send, close) is an entry in the
//! thread's submission ring, executed by FastIO's workers; the thread only
//! reaps completions and starts the next operation. Per connection exactly
//! one operation is in flight at any time:
//!
//! ```text
//! accept ─▶ recv ─n>0─▶ send_all ─done─▶ recv ─▶ ...
//!             │ n=0 or error      │ error
//!             └──────────▶ close ◀┘ ─▶ slot freed
//! ```
//!
//! Where the backend has buffer selection, the recv takes a buffer of the
//! thread's pool only when data arrives, and the very same buffer is sent
//! back (`Bytes::from_owner`): it returns to the pool when the send
//! completes, so an idle connection holds no buffer. Otherwise the buffer
//! moves with the operation: recv fills the connection's one `BytesMut`, it
//! is frozen and moved into send_all, and the send completion hands it back
//! to be thawed for the next recv (see [`crate::buffer`]), so nothing is
//! allocated per message. A client that does not read stalls its
//! send, so its connection is not read either (backpressure, bounded memory),
//! and messages of any size go through in buffer-sized chunks.

use crate::buffer;
use crate::net;
use crate::signals;
use crate::stats::{self, ThreadStats};
use bytes::Bytes;
use fastio::proactor::{Buffer, Completion, OpKind};
use fastio::server::accept::{Accepted, Acceptor, LISTENER, REARM};
use fastio::{Config, Fastio, FastioArgs, Proactor, Ring};
use slab::Slab;
use std::net::SocketAddr;
use std::os::fd::{IntoRawFd, RawFd};
use std::time::{Duration, Instant};

const NAME: &str = "proactor_echo_server";

/// Longest sleep in `wait`, so a stop request is noticed this quickly.
const WAIT_TIMEOUT: Duration = Duration::from_millis(100);
/// How long closing at shutdown may take before the thread gives up on it.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);
/// The receive pool of each thread: group id, buffers, their size.
const POOL_BGID: u16 = 0;
const POOL_BUFS: usize = 512;
const POOL_BUF_SIZE: usize = 16 * 1024;

/// Command-line settings (see the binary for their documentation).
#[derive(Clone, Debug)]
pub struct Options {
    pub addr: SocketAddr,
    /// Application threads; `None`: one per polling worker.
    pub threads: Option<u32>,
    pub fastio: FastioArgs,
}

/// Runs the server until SIGINT/SIGTERM. Errors are start-up failures or a
/// ring that stopped working.
pub fn run(opts: &Options) -> Result<(), String> {
    let cfg = opts
        .fastio
        .load()
        .map_err(|e| format!("configuration: {e}"))?;
    let threads = opts.threads.unwrap_or(cfg.max_ker_worker);
    signals::install().map_err(|e| format!("installing signal handlers: {e}"))?;
    let mut fastio = Fastio::new(&cfg, threads).map_err(|e| format!("starting FastIO: {e}"))?;
    eprintln!("{}", fastio.describe());
    let (listeners, local) = net::listeners(opts.addr, threads as usize)
        .map_err(|e| format!("listening on {}: {e}", opts.addr))?;
    eprintln!(
        "{NAME}: listening on {local} ({threads} application threads, {} polling workers)",
        cfg.max_ker_worker
    );

    let rings = fastio.take_rings();
    let mut handles = Vec::with_capacity(rings.len());
    for (i, (ring, listener)) in rings.into_iter().zip(listeners).enumerate() {
        let cpu = app_thread_cpu(&cfg, i);
        // The proactor closes the listener at shutdown, so it takes the fd.
        let listener = listener.into_raw_fd();
        let h = std::thread::Builder::new()
            .name(format!("echo-{i}"))
            .spawn(move || {
                if let Some(cpu) = cpu {
                    crate::pin_current_thread(cpu, &format!("{NAME}: thread {i}"));
                }
                Worker::new(i, ring, listener).run()
            })
            .map_err(|e| format!("spawning thread {i}: {e}"))?;
        handles.push(h);
    }

    let mut per_thread = Vec::with_capacity(handles.len());
    let mut failed = false;
    for h in handles {
        match h.join() {
            Ok((s, ok)) => {
                failed |= !ok;
                per_thread.push(s);
            }
            Err(_) => {
                failed = true;
                per_thread.push(ThreadStats::default());
            }
        }
    }
    stats::print(NAME, &per_thread);
    let s = fastio.stats();
    eprintln!(
        "{NAME}: fastio stats: submitted {} completed {} invalid {} parked {} requeued {} \
         offloaded {} overflowed {} sleeps {} wakeups {} loops {}",
        s.submitted,
        s.completed,
        s.invalid,
        s.parked,
        s.requeued,
        s.offloaded,
        s.overflowed,
        s.sleeps,
        s.wakeups,
        s.loops
    );
    if failed {
        return Err("a server thread failed (see above)".into());
    }
    Ok(())
}

/// The CPU for application thread `i`, if pinning is on (affinity_offset >=
/// 0): (offset + K + i) % ncpu, K being the number of polling workers.
///
/// FastIO pins poller j to offset + j, so the application threads take the
/// CPUs right after the pollers': neighbours (sharing a cache level on
/// most machines, which is where the rings' lines bounce) but never the
/// same CPU as a spinning poller, which would halve both. The formula is
/// the same on every backend (uring without SQPOLL has no pollers and simply
/// leaves those K CPUs free), so one configuration places threads alike
/// whichever backend runs it.
pub fn app_thread_cpu(cfg: &Config, i: usize) -> Option<usize> {
    (cfg.affinity_offset >= 0).then(|| {
        (cfg.affinity_offset as usize + cfg.max_ker_worker as usize + i) % crate::cpu_count()
    })
}

/// Which operation a connection has in flight (there is always exactly one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Receiving,
    Sending,
    Closing,
}

struct Conn {
    fd: RawFd,
    state: State,
}

/// One application thread: its proactor, its listener and its connections.
struct Worker {
    id: usize,
    p: Proactor,
    /// The listener (tokens LISTENER and REARM are its).
    acceptor: Acceptor,
    /// Keyed by the token of the connection's operations.
    conns: Slab<Conn>,
    stats: ThreadStats,
    /// Receives take pool buffers (see the module doc).
    pooled: bool,
}

impl Worker {
    fn new(id: usize, ring: Ring, listener: RawFd) -> Worker {
        let mut p = Proactor::new(ring);
        let pooled = p.supports_pools() && p.add_pool(POOL_BGID, POOL_BUFS, POOL_BUF_SIZE).is_ok();
        if id == 0 {
            eprintln!(
                "{NAME}: receive buffers: {}",
                if pooled {
                    "pooled (taken when data arrives)"
                } else {
                    "one per connection"
                }
            );
        }
        Worker {
            id,
            p,
            acceptor: Acceptor::new(listener, format!("{NAME}: thread {id}")),
            conns: Slab::with_capacity(1024),
            stats: ThreadStats::default(),
            pooled,
        }
    }

    /// Serves until a stop is requested; returns the statistics and whether
    /// the thread ran without a fatal error.
    fn run(mut self) -> (ThreadStats, bool) {
        self.acceptor.arm(&mut self.p);
        let mut ok = true;
        let mut out = Vec::with_capacity(256);
        while !signals::stop_requested() {
            // Submits what the last round started, then sleeps until a
            // completion or the timeout (to look at the stop flag).
            if let Err(e) = self.p.wait(1, Some(WAIT_TIMEOUT)) {
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                eprintln!(
                    "{NAME}: thread {}: waiting on the ring: {e}; stopping",
                    self.id
                );
                signals::request_stop();
                ok = false;
                break;
            }
            self.p.reap(&mut out);
            for c in out.drain(..) {
                self.handle(c);
            }
        }
        self.shutdown(&mut out);
        (self.stats, ok)
    }

    fn handle(&mut self, mut c: Completion) {
        match c.token {
            LISTENER => return self.on_accept(c.res, c.more),
            REARM => return self.acceptor.on_rearm(&mut self.p),
            _ => {}
        }
        let key = c.token as usize;
        // Every token other than the two above is a live connection's key:
        // its slot is freed only by its close completion, the last op.
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        let fd = conn.fd;
        match c.kind {
            OpKind::Recv => {
                // 0: the peer closed; < 0: reset, or any other error.
                if c.res <= 0 {
                    return self.close(key);
                }
                let data = match (c.take_pooled(), c.take_filled()) {
                    // The pool buffer itself is sent, and goes back to the
                    // pool when the send completes.
                    (Some(b), _) => Bytes::from_owner(b),
                    (None, Some(buf)) => buf.freeze(),
                    (None, None) => return self.close(key),
                };
                self.stats.messages += 1;
                conn.state = State::Sending;
                self.p.send_all(fd, data, c.token);
            }
            OpKind::Send => {
                if c.res < 0 {
                    // ECONNRESET, EPIPE...: the client is gone.
                    return self.close(key);
                }
                self.stats.bytes += c.res as u64;
                conn.state = State::Receiving;
                if self.pooled {
                    self.p.recv_pooled(fd, POOL_BGID, c.token);
                    return;
                }
                let buf = match std::mem::take(&mut c.buf) {
                    Buffer::Sent(b) => buffer::recycle(b),
                    _ => buffer::conn_buffer(),
                };
                self.p.recv(fd, buf, c.token);
            }
            OpKind::Close => {
                self.conns.remove(key);
                self.stats.closed += 1;
                // A descriptor was freed: if accepts stopped on EMFILE, this
                // is the moment they can succeed again.
                self.acceptor
                    .on_conn_closed(&mut self.p, signals::stop_requested());
            }
            _ => {}
        }
    }

    fn close(&mut self, key: usize) {
        if let Some(conn) = self.conns.get_mut(key) {
            conn.state = State::Closing;
            let fd = conn.fd;
            self.p.close(fd, key as u64);
        }
    }

    fn on_accept(&mut self, res: i32, more: bool) {
        let fd = match self.acceptor.on_accept(&mut self.p, res, more) {
            Accepted::Conn(fd) => fd,
            Accepted::Failed(_) => {
                self.stats.accept_errors += 1;
                return;
            }
            Accepted::Nothing => return,
        };
        // Best effort: a connection without it still works.
        let _ = net::set_nodelay(fd);
        let key = self.conns.insert(Conn {
            fd,
            state: State::Receiving,
        });
        self.stats.connections += 1;
        if self.pooled {
            self.p.recv_pooled(fd, POOL_BGID, key as u64);
        } else {
            self.p.recv(fd, buffer::conn_buffer(), key as u64);
        }
    }

    /// Closes the listener and the connections through the ring, and waits
    /// (briefly) for those closes.
    ///
    /// A connection with a send in flight is left open for process exit to
    /// close: `send_all` resubmits the rest of a partial send when its
    /// completion is reaped, and if the fd had been closed meanwhile that
    /// resubmission could land on a new socket that reused the number.
    /// Receives are safe to close under: a parked one is cancelled first.
    fn shutdown(&mut self, out: &mut Vec<Completion>) {
        let mut expected = 1;
        self.acceptor.close(&mut self.p);
        for (key, conn) in self.conns.iter_mut() {
            match conn.state {
                State::Receiving => {
                    conn.state = State::Closing;
                    self.p.close(conn.fd, key as u64);
                    expected += 1;
                }
                State::Closing => expected += 1,
                State::Sending => {}
            }
        }
        let deadline = Instant::now() + SHUTDOWN_GRACE;
        let mut closed = 0;
        while closed < expected && Instant::now() < deadline {
            if self.p.wait(1, Some(WAIT_TIMEOUT)).is_err() {
                break;
            }
            self.p.reap(out);
            for c in out.drain(..) {
                // Everything else (cancelled receives, a last accept) is
                // dropped: nothing new starts during shutdown.
                if c.kind == OpKind::Close {
                    closed += 1;
                    if c.token != LISTENER && self.conns.try_remove(c.token as usize).is_some() {
                        self.stats.closed += 1;
                    }
                }
            }
        }
        // Dropping the proactor leaks the buffers of operations still in
        // flight (by design: a worker may still write into them).
    }
}
