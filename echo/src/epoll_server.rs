//! The baseline echo server: a classic level-triggered epoll loop making
//! plain libc system calls, one loop per thread, each thread with its own
//! SO_REUSEPORT listener and epoll instance.
//!
//! Per connection a fixed 16 KiB buffer: read into it, write as much as the
//! socket takes. If the write is partial the rest stays in the buffer, the
//! connection waits for EPOLLOUT only, and it is not read again until the
//! buffer has drained; so memory per connection is bounded and a client that
//! does not read is not read either. Nothing is allocated per message.

use crate::net;
use crate::signals;
use crate::stats::{self, AcceptErrorLog, ThreadStats};
use slab::Slab;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

const NAME: &str = "epoll_echo_server";

/// Per-connection buffer size.
pub const BUF_SIZE: usize = 16 * 1024;
/// epoll data of the listener (connections use their slab key).
const LISTENER: u64 = u64::MAX;
/// Longest epoll_wait, so a stop request is noticed this quickly.
const WAIT_TIMEOUT: Duration = Duration::from_millis(100);
/// How long to leave the listener out of the epoll set after EMFILE & co.
const ACCEPT_PAUSE: Duration = Duration::from_millis(50);
/// Connections taken per listener event, so a connection storm cannot
/// starve the connections already being served (level-triggered: the
/// listener is reported again if more are waiting).
const ACCEPT_BATCH: usize = 64;
/// Events collected per epoll_wait.
const MAX_EVENTS: usize = 256;

/// Command-line settings (see the binary for their documentation).
#[derive(Clone, Debug)]
pub struct Options {
    pub addr: SocketAddr,
    pub threads: u32,
    /// -1: unpinned; otherwise thread i runs on CPU (offset + i) % ncpu.
    pub affinity_offset: i32,
}

/// Runs the server until SIGINT/SIGTERM.
pub fn run(opts: &Options) -> Result<(), String> {
    signals::install().map_err(|e| format!("installing signal handlers: {e}"))?;
    let (listeners, local) = net::listeners(opts.addr, opts.threads as usize)
        .map_err(|e| format!("listening on {}: {e}", opts.addr))?;
    eprintln!(
        "{NAME}: listening on {local} ({} threads, level-triggered epoll)",
        opts.threads
    );
    let mut handles = Vec::new();
    for (i, listener) in listeners.into_iter().enumerate() {
        let cpu = (opts.affinity_offset >= 0)
            .then(|| (opts.affinity_offset as usize + i) % crate::cpu_count());
        let h = std::thread::Builder::new()
            .name(format!("epoll-{i}"))
            .spawn(move || {
                if let Some(cpu) = cpu {
                    crate::pin_current_thread(cpu, &format!("{NAME}: thread {i}"));
                }
                match Worker::new(i, listener) {
                    Ok(w) => w.run(),
                    Err(e) => {
                        eprintln!("{NAME}: thread {i}: {e}");
                        signals::request_stop();
                        (ThreadStats::default(), false)
                    }
                }
            })
            .map_err(|e| format!("spawning thread {i}: {e}"))?;
        handles.push(h);
    }
    let mut per_thread = Vec::new();
    let mut failed = false;
    for h in handles {
        let (s, ok) = h.join().unwrap_or_default();
        failed |= !ok;
        per_thread.push(s);
    }
    stats::print(NAME, &per_thread);
    if failed {
        return Err("a server thread failed (see above)".into());
    }
    Ok(())
}

struct Conn {
    fd: OwnedFd,
    buf: Box<[u8]>,
    /// Received bytes not yet written back: `buf[start..end]`. Non-empty
    /// means the connection waits for EPOLLOUT and is not read.
    start: usize,
    end: usize,
}

/// What a read or write came to.
enum Io {
    Done(usize),
    /// EAGAIN or EINTR: try again when epoll says so.
    Again,
    /// The connection is unusable (reset, broken pipe...).
    Failed,
}

fn io_result(r: isize) -> Io {
    if r >= 0 {
        return Io::Done(r as usize);
    }
    match net::errno() {
        libc::EAGAIN | libc::EINTR => Io::Again,
        _ => Io::Failed,
    }
}

fn read(fd: RawFd, buf: &mut [u8]) -> Io {
    // SAFETY: `buf` is a live, writable slice of exactly `buf.len()` bytes.
    io_result(unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) })
}

fn send(fd: RawFd, buf: &[u8]) -> Io {
    // SAFETY: `buf` is a live slice of exactly `buf.len()` bytes, only read.
    // MSG_NOSIGNAL: a vanished client is an EPIPE, not a SIGPIPE.
    io_result(unsafe {
        libc::send(
            fd,
            buf.as_ptr().cast(),
            buf.len(),
            libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
        )
    })
}

struct Worker {
    id: usize,
    listener: OwnedFd,
    epoll: OwnedFd,
    conns: Slab<Conn>,
    /// While accepts are paused (EMFILE...): when to try again.
    paused_until: Option<Instant>,
    accept_log: AcceptErrorLog,
    stats: ThreadStats,
}

impl Worker {
    fn new(id: usize, listener: OwnedFd) -> Result<Worker, String> {
        // SAFETY: plain syscall with a constant flag.
        let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if ep < 0 {
            return Err(format!(
                "epoll_create1: {}",
                std::io::Error::last_os_error()
            ));
        }
        // SAFETY: epoll_create1 just returned this fd; nothing else owns it.
        let epoll = unsafe { OwnedFd::from_raw_fd(ep) };
        let w = Worker {
            id,
            listener,
            epoll,
            conns: Slab::with_capacity(1024),
            paused_until: None,
            accept_log: AcceptErrorLog::default(),
            stats: ThreadStats::default(),
        };
        w.ctl(
            libc::EPOLL_CTL_ADD,
            w.listener.as_raw_fd(),
            libc::EPOLLIN,
            LISTENER,
        )
        .map_err(|e| format!("adding the listener to epoll: {e}"))?;
        Ok(w)
    }

    fn ctl(
        &self,
        op: libc::c_int,
        fd: RawFd,
        events: libc::c_int,
        data: u64,
    ) -> std::io::Result<()> {
        let mut ev = libc::epoll_event {
            events: events as u32,
            u64: data,
        };
        // SAFETY: `ev` is a live epoll_event; the kernel validates both fds.
        let r = unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), op, fd, &mut ev) };
        if r < 0 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    fn run(mut self) -> (ThreadStats, bool) {
        let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; MAX_EVENTS];
        let mut ok = true;
        while !signals::stop_requested() {
            let mut timeout = WAIT_TIMEOUT;
            if let Some(t) = self.paused_until {
                let left = t.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    self.resume_accepts();
                } else {
                    timeout = timeout.min(left);
                }
            }
            // Round up, so a pause of 0.5 ms does not turn into a busy loop.
            let ms = timeout.as_micros().div_ceil(1000) as libc::c_int;
            // SAFETY: `events` is a live array of MAX_EVENTS entries the
            // kernel may fill.
            let n = unsafe {
                libc::epoll_wait(
                    self.epoll.as_raw_fd(),
                    events.as_mut_ptr(),
                    MAX_EVENTS as libc::c_int,
                    ms,
                )
            };
            if n < 0 {
                if net::errno() == libc::EINTR {
                    continue;
                }
                eprintln!(
                    "{NAME}: thread {}: epoll_wait: {}; stopping",
                    self.id,
                    std::io::Error::last_os_error()
                );
                signals::request_stop();
                ok = false;
                break;
            }
            for ev in &events[..n as usize] {
                let token = ev.u64;
                if token == LISTENER {
                    self.accept();
                } else {
                    self.serve(token as usize);
                }
            }
        }
        // Dropping the slab closes every connection (OwnedFd); the listener
        // and the epoll instance go with `self`.
        self.conns.clear();
        (self.stats, ok)
    }

    fn accept(&mut self) {
        if self.paused_until.is_some() {
            return; // a stale event from before the pause
        }
        for _ in 0..ACCEPT_BATCH {
            // SAFETY: null address pointers are allowed (we do not need the
            // peer's address); the kernel validates the listener fd.
            let fd = unsafe {
                libc::accept4(
                    self.listener.as_raw_fd(),
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                )
            };
            if fd < 0 {
                let errno = net::errno();
                if errno == libc::EAGAIN {
                    return;
                }
                if net::accept_error_is_transient(errno) {
                    continue;
                }
                return self.pause_accepts(errno);
            }
            // SAFETY: accept4 just returned this fd; nothing else owns it.
            let fd = unsafe { OwnedFd::from_raw_fd(fd) };
            let raw = fd.as_raw_fd();
            let _ = net::set_nodelay(raw);
            let key = self.conns.insert(Conn {
                fd,
                buf: vec![0; BUF_SIZE].into_boxed_slice(),
                start: 0,
                end: 0,
            });
            if self
                .ctl(libc::EPOLL_CTL_ADD, raw, libc::EPOLLIN, key as u64)
                .is_err()
            {
                self.conns.remove(key); // closes it
                continue;
            }
            self.stats.connections += 1;
        }
    }

    /// Takes the listener out of the epoll set for a while: with EMFILE the
    /// pending connection stays queued and a level-triggered listener would
    /// be reported again at once, spinning the loop.
    fn pause_accepts(&mut self, errno: i32) {
        self.accept_log
            .report(NAME, self.id, errno, ACCEPT_PAUSE, &mut self.stats);
        let _ = self.ctl(libc::EPOLL_CTL_DEL, self.listener.as_raw_fd(), 0, 0);
        self.paused_until = Some(Instant::now() + ACCEPT_PAUSE);
    }

    fn resume_accepts(&mut self) {
        if self.paused_until.take().is_some() {
            let fd = self.listener.as_raw_fd();
            if let Err(e) = self.ctl(libc::EPOLL_CTL_ADD, fd, libc::EPOLLIN, LISTENER) {
                eprintln!("{NAME}: thread {}: re-adding the listener: {e}", self.id);
                self.paused_until = Some(Instant::now() + ACCEPT_PAUSE);
            }
        }
    }

    /// Handles an event on connection `key`. The event's flags are not
    /// trusted: the slot may have been closed and reused for a new connection
    /// earlier in the same batch. Instead the read or write itself says what
    /// state the socket is in (EAGAIN on a healthy idle one).
    fn serve(&mut self, key: usize) {
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        let fd = c.fd.as_raw_fd();
        if c.start < c.end {
            // Draining: the connection is registered for EPOLLOUT only.
            match send(fd, &c.buf[c.start..c.end]) {
                Io::Done(n) => {
                    c.start += n;
                    self.stats.bytes += n as u64;
                    if c.start == c.end {
                        (c.start, c.end) = (0, 0);
                        if self
                            .ctl(libc::EPOLL_CTL_MOD, fd, libc::EPOLLIN, key as u64)
                            .is_err()
                        {
                            self.close(key);
                        }
                    }
                }
                Io::Again => {}
                Io::Failed => self.close(key),
            }
            return;
        }
        let n = match read(fd, &mut c.buf) {
            Io::Done(0) | Io::Failed => return self.close(key),
            Io::Again => return,
            Io::Done(n) => n,
        };
        self.stats.messages += 1;
        let sent = match send(fd, &c.buf[..n]) {
            Io::Done(w) => w,
            Io::Again => 0,
            Io::Failed => return self.close(key),
        };
        self.stats.bytes += sent as u64;
        if sent < n {
            // Keep the rest, stop reading, and wait until it can be written.
            (c.start, c.end) = (sent, n);
            if self
                .ctl(libc::EPOLL_CTL_MOD, fd, libc::EPOLLOUT, key as u64)
                .is_err()
            {
                self.close(key);
            }
        }
    }

    fn close(&mut self, key: usize) {
        // Closing the fd also removes it from the epoll set.
        if self.conns.try_remove(key).is_some() {
            self.stats.closed += 1;
        }
        // A descriptor was freed: accepts paused on EMFILE may work now.
        if self.paused_until.is_some() {
            self.resume_accepts();
        }
    }
}
