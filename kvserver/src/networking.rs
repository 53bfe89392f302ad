//! The I/O threads: one FastIO ring pair ([`Proactor`]) and one
//! SO_REUSEPORT listener each, serving their connections (Redis's
//! networking.c, on rings instead of epoll).
//!
//! Every accept, recv, send and close is an entry in the thread's submission
//! ring, executed by FastIO's workers. Per connection exactly one operation
//! is in flight, as in the echo server:
//!
//! ```text
//! accept ─▶ recv ─▶ parse every complete request, execute, append replies
//!             ▲         │ replies?                 │ none (partial request)
//!             │         ▼                          ▼
//!             └── send_all(replies) ◀── ...      recv again
//! recv 0 / error, send error, QUIT, protocol error (after its reply) ─▶ close
//! ```
//!
//! A whole pipeline that arrived in one recv is answered with one send. If
//! the replies pile up past [`OUT_HIGH`], parsing stops and they are sent
//! first; the rest of the input is parsed when the send completes. So a
//! client that does not read its replies stops being read (backpressure,
//! bounded memory), like the echo server.
//!
//! Between rounds the thread runs its slice of the active expiry cycle
//! every [`EXPIRE_PERIOD`] (Redis's `hz 10`).

use crate::command;
use crate::protocol::{self, Parsed};
use crate::reply::Reply;
use crate::server::{Client, Server};
use crate::util::Rng;
use bytes::{Buf, BytesMut};
use fastio::proactor::{Buffer, Completion, OpKind};
use fastio::server::{buffer, net, signals};
use fastio::{Proactor, Ring};
use slab::Slab;
use std::ops::Range;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Token of the listener's accept (and of its close at shutdown).
const LISTENER: u64 = u64::MAX;
/// Token of the timer that re-arms a stopped accept.
const REARM: u64 = u64::MAX - 1;
const REARM_DELAY: Duration = Duration::from_millis(50);
/// Longest sleep in `wait`: bounds how late a stop request or the expiry
/// cycle is noticed.
const WAIT_TIMEOUT: Duration = Duration::from_millis(100);
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);
/// Send what is pending once this much output has accumulated.
pub const OUT_HIGH: usize = 64 * 1024;
/// An input buffer grown beyond this (a big value went through) is replaced
/// by a fresh small one once empty, so idle connections stay small.
const IN_SHRINK: usize = 1024 * 1024;
const EXPIRE_PERIOD: Duration = Duration::from_millis(100);
/// Time the active expiry cycle may take per run (Redis: 25% of a 100 ms
/// tick; we are one of N threads, so less).
const EXPIRE_BUDGET: Duration = Duration::from_millis(2);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Receiving,
    Sending,
    Closing,
}

struct Conn {
    fd: RawFd,
    state: State,
    /// Received, not yet parsed bytes (moved into the recv while one is in
    /// flight).
    input: BytesMut,
    /// Replies not yet sent (moved into the send while one is in flight).
    out: Reply,
    client: Client,
}

/// One I/O thread.
pub struct Worker {
    id: usize,
    threads: usize,
    server: Arc<Server>,
    p: Proactor,
    listener: RawFd,
    conns: Slab<Conn>,
    accepting: bool,
    rearm_pending: bool,
    logged: Vec<i32>,
    rng: Rng,
    /// Reused per request: argument ranges (multibulk) or bytes (inline).
    ranges: Vec<Range<usize>>,
    owned: Vec<Vec<u8>>,
}

impl Worker {
    pub fn new(
        id: usize,
        threads: usize,
        server: Arc<Server>,
        ring: Ring,
        listener: RawFd,
    ) -> Worker {
        Worker {
            id,
            threads,
            server,
            p: Proactor::new(ring),
            listener,
            conns: Slab::with_capacity(1024),
            accepting: false,
            rearm_pending: false,
            logged: Vec::new(),
            rng: Rng::new(
                0x9e37_79b9_7f4a_7c15 ^ (id as u64 + 1).wrapping_mul(0x1234_5678_9abc_def1),
            ),
            ranges: Vec::new(),
            owned: Vec::new(),
        }
    }

    /// Serves until a stop is requested; false if the ring failed.
    pub fn run(mut self) -> bool {
        self.arm_accept();
        let mut ok = true;
        let mut done = Vec::with_capacity(256);
        let mut last_expire = Instant::now();
        while !signals::stop_requested() {
            if let Err(e) = self.p.wait(1, Some(WAIT_TIMEOUT)) {
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                eprintln!(
                    "kvserver: I/O thread {}: waiting on the ring: {e}; stopping",
                    self.id
                );
                signals::request_stop();
                ok = false;
                break;
            }
            self.p.reap(&mut done);
            for c in done.drain(..) {
                self.handle(c);
            }
            if last_expire.elapsed() >= EXPIRE_PERIOD {
                last_expire = Instant::now();
                self.server
                    .ks
                    .active_expire(self.id, self.threads, &mut self.rng, EXPIRE_BUDGET);
                self.kill_sweep();
                if self.id == 0 {
                    self.server.cron();
                }
            }
        }
        self.shutdown(&mut done);
        ok
    }

    /// CLIENT KILL of an idle connection (a recv in flight): shut the
    /// socket down so that the recv completes (with 0) and the normal path
    /// closes it. Only this thread may touch the fd: it knows the fd is
    /// still this connection's. Connections with a send in flight are
    /// closed when it completes (see `handle`).
    fn kill_sweep(&mut self) {
        for (_, conn) in self.conns.iter() {
            if conn.state == State::Receiving && conn.client.kill_requested() {
                let _ = net::shutdown(conn.fd);
            }
        }
    }

    fn arm_accept(&mut self) {
        self.p.accept_multi(self.listener, LISTENER);
        self.accepting = true;
    }

    fn handle(&mut self, mut c: Completion) {
        match c.token {
            LISTENER => return self.on_accept(c.res, c.more),
            REARM => {
                self.rearm_pending = false;
                if !self.accepting {
                    self.arm_accept();
                }
                return;
            }
            _ => {}
        }
        let key = c.token as usize;
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        // CLIENT KILL (from any thread) flagged this client: close instead
        // of going on. Nothing else is in flight (one op per connection).
        if c.kind != OpKind::Close && conn.client.kill_requested() {
            return self.close(key);
        }
        match c.kind {
            OpKind::Recv => match (c.res, c.take_filled()) {
                (n, Some(buf)) if n > 0 => {
                    conn.input = buf;
                    self.process(key);
                }
                // 0: the peer closed; < 0: reset or another error.
                _ => self.close(key),
            },
            OpKind::Send => {
                if c.res < 0 {
                    return self.close(key);
                }
                conn.out.buf = match std::mem::take(&mut c.buf) {
                    Buffer::Sent(b) => buffer::recycle(b),
                    _ => buffer::conn_buffer(),
                };
                if conn.client.close_after_reply {
                    return self.close(key);
                }
                // Requests may be waiting behind the replies just sent.
                self.process(key);
            }
            OpKind::Close => {
                let mut conn = self.conns.remove(key);
                crate::multi::client_gone(&self.server, &mut conn.client);
                self.server.client_gone(&conn.client);
                if !self.accepting && !signals::stop_requested() {
                    self.arm_accept();
                }
            }
            _ => {}
        }
    }

    /// Executes every complete request in the connection's input (up to
    /// [`OUT_HIGH`] of replies), then starts its next operation: a send if
    /// there are replies, else a recv (or a close after QUIT).
    fn process(&mut self, key: usize) {
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        let mut pos = 0;
        while !conn.client.close_after_reply && conn.out.buf.len() < OUT_HIGH {
            let data = &conn.input[pos..];
            match protocol::parse(data, &mut self.ranges, &mut self.owned) {
                Parsed::Incomplete => break,
                Parsed::Empty { consumed } => pos += consumed,
                Parsed::Multibulk { consumed } => {
                    let argv: Vec<&[u8]> = self.ranges.iter().map(|r| &data[r.clone()]).collect();
                    command::execute(
                        &self.server,
                        &mut conn.client,
                        &mut conn.out,
                        &mut self.rng,
                        &argv,
                    );
                    pos += consumed;
                }
                Parsed::Inline { consumed } => {
                    let argv: Vec<&[u8]> = self.owned.iter().map(|a| a.as_slice()).collect();
                    command::execute(
                        &self.server,
                        &mut conn.client,
                        &mut conn.out,
                        &mut self.rng,
                        &argv,
                    );
                    pos += consumed;
                }
                Parsed::Error(msg) => {
                    // Redis answers a protocol error and drops the client:
                    // the rest of the stream cannot be framed any more.
                    conn.out.error(&format!("ERR {msg}"));
                    conn.client.close_after_reply = true;
                    pos = conn.input.len();
                }
            }
        }
        conn.input.advance(pos);
        if conn.input.is_empty() && conn.input.capacity() > IN_SHRINK {
            conn.input = buffer::conn_buffer();
        }
        let fd = conn.fd;
        if !conn.out.buf.is_empty() {
            conn.state = State::Sending;
            let out = std::mem::take(&mut conn.out.buf).freeze();
            self.p.send_all(fd, out, key as u64);
        } else if conn.client.close_after_reply {
            self.close(key);
        } else {
            conn.state = State::Receiving;
            let input = std::mem::take(&mut conn.input);
            self.p.recv(fd, input, key as u64);
        }
    }

    fn close(&mut self, key: usize) {
        if let Some(conn) = self.conns.get_mut(key) {
            conn.state = State::Closing;
            self.p.close(conn.fd, key as u64);
        }
    }

    fn on_accept(&mut self, res: i32, more: bool) {
        if res >= 0 {
            let fd = res;
            // Replies are small and latency matters: no Nagle. Best effort.
            let _ = net::set_nodelay(fd);
            let key = self.conns.insert(Conn {
                fd,
                state: State::Receiving,
                input: BytesMut::new(),
                out: Reply::new(buffer::conn_buffer()),
                client: self.server.new_client(fd),
            });
            self.p.recv(fd, buffer::conn_buffer(), key as u64);
            self.accepting = more;
            return;
        }
        if more {
            return;
        }
        // The accept stopped (EMFILE, ENFILE, ...): connections wait in the
        // backlog; retry after a delay or when a connection closes.
        self.accepting = false;
        let errno = -res;
        if !self.logged.contains(&errno) {
            self.logged.push(errno);
            eprintln!(
                "kvserver: I/O thread {}: accept failed: {}; pausing accepts, retrying in \
                 {REARM_DELAY:?} or when a connection closes (logged once per error)",
                self.id,
                std::io::Error::from_raw_os_error(errno)
            );
        }
        if !self.rearm_pending {
            self.rearm_pending = true;
            self.p.timeout(REARM_DELAY, REARM);
        }
    }

    /// Closes the listener and the idle connections through the ring and
    /// waits briefly for those closes. A connection with a send in flight
    /// is left for process exit to close (see the echo server: a resumed
    /// partial send could otherwise land on a reused fd number).
    fn shutdown(&mut self, done: &mut Vec<Completion>) {
        let mut expected = 1;
        self.p.close(self.listener, LISTENER);
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
            self.p.reap(done);
            closed += done.drain(..).filter(|c| c.kind == OpKind::Close).count();
        }
    }
}
