//! The I/O threads: one FastIO ring pair ([`Proactor`]) and one
//! SO_REUSEPORT listener each, serving their connections (Redis's
//! networking.c, on rings instead of epoll).
//!
//! Every accept, recv, send and close is an entry in the thread's submission
//! ring, executed by FastIO's workers. A connection has at most one recv
//! and one send in flight, *at the same time* (a blocked or subscribed
//! client gets messages pushed while its recv waits, and its disconnect is
//! noticed):
//!
//! ```text
//!            input held ──parse──▶ execute ──▶ replies appended to `out`
//!              ▲   │ no complete request left (and `out` + in flight
//!              │   │ below OUT_HIGH)
//!   recv done  │   ▼
//!              └─ recv in flight           out non-empty, no send in
//!                                          flight ──▶ send_all(out)
//! recv 0 / error, send error, QUIT / protocol error once sent, Kill ─▶ close
//! ```
//!
//! Input is either held by the connection (and parsed) or inside the
//! in-flight recv, never both: a recv starts only when parsing stopped for
//! lack of a complete request, so a pipeline is parsed in order, and never
//! past [`OUT_HIGH`] of unsent replies: a client that does not read its
//! replies stops being read (backpressure, bounded memory). A whole pipeline
//! that arrived in one recv is answered with one send. A blocked client's
//! later requests wait in its input until it is unblocked.
//!
//! Receive buffers come from a pool (FastIO buffer selection) where the
//! backend has them: a worker takes a buffer only when data has arrived, so
//! an idle connection holds no input buffer, and its reply buffer goes back
//! to a per-thread spare list once sent. A request parsed straight from the
//! pool buffer leaves only its unparsed tail in the connection (a partial
//! request); a big argument being received still gets one buffer of its
//! own, sized for it. Without pools (a uring kernel before 5.19) every
//! connection keeps its own buffers, as before.
//!
//! Tokens carry a per-connection generation (`gen << 32 | slab key`): a
//! completion for a connection that closed and whose slot was reused is
//! recognised and dropped. The slot is freed only when the close completed
//! (FastIO cancels the ops still parked on the fd first).
//!
//! Other threads reach this one's connections through its mailbox
//! (`mailbox.rs`): a RECV on a socketpair end wakes the loop, which drains
//! the inbox (pub/sub messages, MONITOR lines, replies of blocked clients
//! served elsewhere, kills, replies to forwarded requests, and requests
//! forwarded here because this thread owns their keys' shards).
//!
//! A request whose keys all lie in another thread's shards is forwarded
//! there (`dispatch.rs`), together with the requests right after it for
//! the same owner; the connection then executes nothing else, and sends
//! nothing, until their replies are back, so its commands keep their order
//! and a pipeline is still answered with one send.
//!
//! The loop also keeps its blocked clients' deadlines and sleeps at most
//! until the next one.
//!
//! Between rounds the thread runs its slice of the active expiry cycle
//! every [`EXPIRE_PERIOD`] (Redis's `hz 10`).

use crate::cmd::pubsub;
use crate::exec::blocking;
use crate::exec::effects::{Delivery, Effects};
use crate::exec::monitor;
use crate::exec::multi;
use crate::exec::pipeline;
use crate::exec::security;
use crate::exec::stats::Counter;
use crate::exec::table;
use crate::net::conn::{over_output_limit, token, Conn};
use crate::net::dispatch;
use crate::net::mailbox::Msg;
use crate::net::token::{Token, GEN_MASK};
use crate::persist::aof;
use crate::proto::reply::{self, Reply};
use crate::proto::request::{self, Parsed};
use crate::server::{Client, Server};
use crate::util::Rng;
use bytes::{Buf, Bytes, BytesMut};
use fastio::proactor::{Buffer, Completion, OpKind, PoolBuf};
use fastio::server::accept::{Accepted, Acceptor};
use fastio::server::{buffer, net, signals};
use fastio::{Proactor, Ring};
use slab::Slab;
use std::collections::BTreeSet;
use std::ops::Range;
use std::os::fd::RawFd;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Longest sleep in `wait`: bounds how late a stop request or the expiry
/// cycle is noticed.
const WAIT_TIMEOUT: Duration = Duration::from_millis(100);
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);
/// Stop parsing (and receiving) once this much output is unsent.
pub const OUT_HIGH: usize = 64 * 1024;
/// How often the idle `timeout` is checked (Redis's clientsCron visits
/// each client about once a second).
const IDLE_CHECK_PERIOD: Duration = Duration::from_secs(1);
/// An input buffer grown beyond this (a big value went through) is replaced
/// by a fresh small one once empty, so idle connections stay small.
const IN_SHRINK: usize = 1024 * 1024;
const EXPIRE_PERIOD: Duration = Duration::from_millis(100);
/// The receive pool: its buffer group id, buffer size and count per I/O
/// thread (4 MB of address space; pages are touched as buffers are used).
const POOL_BGID: u16 = 1;
const POOL_BUF_SIZE: usize = 16 * 1024;
const POOL_BUFS: usize = 256;
/// Reply buffers kept for reuse per I/O thread (pooled mode).
const SPARE_OUT_MAX: usize = 64;
/// Time the active expiry cycle may take per run (Redis: 25% of a 100 ms
/// tick; we are one of N threads, so less).
const EXPIRE_BUDGET: Duration = Duration::from_millis(2);

/// One I/O thread.
pub struct Worker {
    id: usize,
    threads: usize,
    server: Arc<Server>,
    p: Proactor,
    /// The listener (tokens Listener and Rearm are its).
    acceptor: Acceptor,
    /// This thread's end of its wake socket (a RECV is kept on it).
    wake_rx: RawFd,
    wake_buf: Option<BytesMut>,
    conns: Slab<Conn>,
    next_gen: u32,
    rng: Rng,
    /// Blocked clients' deadlines: (ms, client id, slab key).
    timers: BTreeSet<(u64, u64, usize)>,
    /// Connections whose next request a CLIENT PAUSE holds, and the
    /// pause epoch they were last looked at in.
    paused: Vec<usize>,
    paused_epoch: u64,
    /// Reused: drained messages, threads owed a wake byte.
    inbox: Vec<Msg>,
    wakes: Vec<usize>,
    /// The effects of the commands this thread runs (reused): their
    /// deliveries are posted after each command.
    fx: Effects,
    /// Reused per request: argument ranges (multibulk) or bytes (inline).
    ranges: Vec<Range<usize>>,
    owned: Vec<Vec<u8>>,
    /// The AOF, if `appendonly yes`.
    aof: Option<Arc<aof::Aof>>,
    /// Connections whose replies wait for an AOF fsync: (slab key, gen).
    held: Vec<(usize, u32)>,
    /// Reused: requests being batched for another thread, replies to
    /// requests forwarded here (each batch is split off).
    fwd_requests: BytesMut,
    fwd_replies: BytesMut,
    /// Receives take pool buffers (see the module doc).
    pooled: bool,
    /// Reply buffers of connections that went idle, for the next that
    /// needs one (pooled mode).
    spare_out: Vec<BytesMut>,
}

impl Worker {
    pub fn new(
        id: usize,
        threads: usize,
        server: Arc<Server>,
        ring: Ring,
        listener: RawFd,
        wake_rx: RawFd,
    ) -> Worker {
        let aof = server.aof().cloned();
        let mut p = Proactor::new(ring);
        let pooled = p.supports_pools()
            && match p.add_pool(POOL_BGID, POOL_BUFS, POOL_BUF_SIZE) {
                Ok(()) => true,
                Err(e) => {
                    eprintln!(
                        "kvserver: I/O thread {id}: no receive pool ({e}); a buffer per connection"
                    );
                    false
                }
            };
        if id == 0 {
            eprintln!(
                "kvserver: receive buffers: {}",
                if pooled {
                    format!(
                        "pooled ({POOL_BUFS} x {} KB per I/O thread, taken when data arrives)",
                        POOL_BUF_SIZE / 1024
                    )
                } else {
                    "one per connection (no buffer selection on this backend)".to_string()
                }
            );
        }
        Worker {
            id,
            threads,
            server,
            p,
            acceptor: Acceptor::new(listener, format!("kvserver: I/O thread {id}")),
            wake_rx,
            wake_buf: Some(BytesMut::with_capacity(64)),
            conns: Slab::with_capacity(1024),
            next_gen: 0,
            rng: Rng::new(
                0x9e37_79b9_7f4a_7c15 ^ (id as u64 + 1).wrapping_mul(0x1234_5678_9abc_def1),
            ),
            timers: BTreeSet::new(),
            paused: Vec::new(),
            paused_epoch: 0,
            inbox: Vec::new(),
            wakes: Vec::new(),
            fx: Effects::for_thread(id),
            ranges: Vec::new(),
            owned: Vec::new(),
            aof,
            held: Vec::new(),
            fwd_requests: BytesMut::new(),
            fwd_replies: BytesMut::new(),
            pooled,
            spare_out: Vec::new(),
        }
    }

    /// Serves until a stop is requested; false if the ring failed.
    pub fn run(mut self) -> bool {
        self.acceptor.arm(&mut self.p);
        self.arm_wake();
        let mut ok = true;
        let mut done = Vec::with_capacity(256);
        let mut last_expire = Instant::now();
        let mut last_idle_check = Instant::now();
        while !signals::stop_requested() {
            // Mail posted while this thread was up needs no wake byte: it
            // is drained here instead of sleeping.
            let waited = if self.server.mail.sleep(self.id) {
                self.p.wait(1, Some(self.wait_timeout()))
            } else {
                self.p.wait(0, None)
            };
            self.server.mail.awake(self.id);
            if let Err(e) = waited {
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
            // Mail first: what another thread posted before these
            // completions (an invalidation, a pub/sub message, posted before
            // the writer's reply went out) reaches each connection ahead of
            // the replies to requests it sent after seeing that reply, as
            // on Redis's single thread.
            self.drain_inbox();
            for c in done.drain(..) {
                self.handle(c);
            }
            // Messages this thread posted to itself, and any that came in
            // since the last wake.
            self.drain_inbox();
            self.expire_blocked();
            self.resume_paused(false);
            if let Some(a) = self.aof.clone() {
                a.pump(&mut self.p, Token::aof);
                self.release_held();
            }
            self.send_wakes();
            // One clock reading per loop turn for both periodic jobs.
            let now = Instant::now();
            if now.duration_since(last_expire) >= EXPIRE_PERIOD {
                last_expire = now;
                crate::exec::expire::active_cycle(
                    &self.server,
                    self.id,
                    self.threads,
                    &mut self.rng,
                    &mut self.fx,
                    EXPIRE_BUDGET,
                );
                post_deliveries(&self.server, self.id, &mut self.fx, &mut self.wakes);
                if self.id == 0 {
                    self.server.cron();
                }
            }
            if now.duration_since(last_idle_check) >= IDLE_CHECK_PERIOD {
                last_idle_check = now;
                self.close_idle();
            }
        }
        self.shutdown(&mut done);
        ok
    }

    /// Until the next blocked client's deadline (or the end of the pause
    /// holding some of our clients), at most [`WAIT_TIMEOUT`].
    fn wait_timeout(&self) -> Duration {
        let now = crate::util::now_ms();
        let pause_end = if self.paused.is_empty() {
            None
        } else {
            self.server.pause.active(now)
        };
        let next = self
            .timers
            .first()
            .map(|t| t.0)
            .into_iter()
            .chain(pause_end)
            .min();
        match next {
            Some(at) => Duration::from_millis(at.saturating_sub(now)).min(WAIT_TIMEOUT),
            None => WAIT_TIMEOUT,
        }
    }

    /// Runs the requests a CLIENT PAUSE held, once it has ended or changed
    /// (`force`: CLIENT UNPAUSE's wake); what is still held goes back on
    /// the list.
    fn resume_paused(&mut self, force: bool) {
        if self.paused.is_empty() {
            return;
        }
        let pause = &self.server.pause;
        let epoch = pause.epoch();
        if !force && epoch == self.paused_epoch && pause.active(crate::util::now_ms()).is_some() {
            return;
        }
        self.paused_epoch = epoch;
        for key in std::mem::take(&mut self.paused) {
            if let Some(conn) = self.conns.get_mut(key) {
                if conn.paused {
                    conn.paused = false;
                    self.process(key);
                }
            }
        }
    }

    fn arm_wake(&mut self) {
        let mut buf = self.wake_buf.take().unwrap_or_default();
        buf.clear();
        self.p.recv(self.wake_rx, buf, Token::Wake.encode());
    }

    /// Submits the one-byte wake SENDs that commands run here owe other
    /// threads (on this thread's ring: no plain write(2)).
    fn send_wakes(&mut self) {
        for t in self.wakes.drain(..) {
            if let Some(fd) = self.server.mail.wake_fd(t) {
                self.p
                    .send_all(fd, Bytes::from_static(b"!"), Token::WakeOther.encode());
            }
        }
    }

    fn handle(&mut self, mut c: Completion) {
        let (key, gen) = match Token::decode(c.token) {
            Token::Listener => return self.on_accept(c.res, c.more),
            Token::Rearm => return self.acceptor.on_rearm(&mut self.p),
            Token::Wake => {
                if c.kind == OpKind::Recv {
                    self.wake_buf = c.take_filled();
                    if c.res <= 0 {
                        // The socketpair cannot fail short of shutdown; if
                        // it did, the loop still drains the inbox after
                        // every wait (at most 100 ms).
                        eprintln!(
                            "kvserver: I/O thread {}: wake socket: {}",
                            self.id,
                            std::io::Error::from_raw_os_error(c.res.saturating_neg())
                        );
                        return;
                    }
                    self.server.mail.woken(self.id);
                    self.drain_inbox();
                    self.arm_wake();
                }
                return;
            }
            Token::WakeOther => return,
            Token::Aof(op) => {
                if let Some(a) = &self.aof {
                    if a.complete(op, c.res, &mut self.p, Token::aof) {
                        // An fsync completed: the threads holding replies
                        // for it may release them.
                        for t in a.waiting_threads() {
                            if self.server.mail.wake(self.id, t) {
                                self.wakes.push(t);
                            }
                        }
                    }
                }
                return;
            }
            Token::Conn { slot, gen } => (slot, gen),
        };
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        if conn.gen != gen {
            return;
        }
        match c.kind {
            OpKind::Recv => {
                conn.recv_busy = false;
                let watched = std::mem::take(&mut conn.watching);
                if conn.closing {
                    return;
                }
                if c.res <= 0 {
                    // 0: the peer closed; < 0: reset or another error.
                    return self.close(key);
                }
                let stats = &self.server.stats;
                stats.count(Counter::NetInput, c.res as u64, self.id);
                stats.count(Counter::Reads, 1, self.id);
                if let Some(buf) = c.take_pooled() {
                    if watched || !conn.input.is_empty() {
                        // Behind the requests (or the partial request)
                        // waiting in `input`.
                        conn.input.extend_from_slice(&buf);
                    } else {
                        // Parsed where it lies.
                        conn.pooled = Some(buf);
                    }
                } else if let Some(buf) = c.take_filled() {
                    if watched {
                        // Behind the requests still waiting in `input`.
                        conn.input.extend_from_slice(&buf);
                    } else {
                        conn.input = buf;
                    }
                }
                // client-query-buffer-limit: Redis closes such a client
                // without a reply.
                let limit = self.server.config.query_buffer_limit.load(Relaxed);
                let held = conn.input.len() + conn.pooled.as_ref().map_or(0, |b| b.len());
                if held as u64 > limit {
                    return self.close(key);
                }
                self.process(key);
            }
            OpKind::Send => {
                conn.send_busy = false;
                conn.sending = 0;
                if conn.closing {
                    return;
                }
                if c.res < 0 {
                    return self.close(key);
                }
                let stats = &self.server.stats;
                stats.count(Counter::NetOutput, c.res as u64, self.id);
                stats.count(Counter::Writes, 1, self.id);
                if conn.out.buf.is_empty() {
                    if let Buffer::Sent(b) = std::mem::take(&mut c.buf) {
                        if !self.pooled {
                            conn.out.buf = buffer::recycle(b);
                        } else if self.spare_out.len() < SPARE_OUT_MAX {
                            // The connection may stay idle for hours: its
                            // reply buffer serves the next busy one.
                            self.spare_out.push(buffer::recycle(b));
                        }
                    }
                }
                // Requests may be waiting behind the replies just sent.
                self.process(key);
            }
            OpKind::Close => {
                let mut conn = self.conns.remove(key);
                self.client_gone(key, &mut conn.client);
                // A descriptor was freed: a paused accept may succeed now.
                self.acceptor
                    .on_conn_closed(&mut self.p, signals::stop_requested());
            }
            _ => {}
        }
    }

    /// Drops everything a closed connection's client registered.
    fn client_gone(&mut self, key: usize, client: &mut Client) {
        let server = &*self.server;
        if let Some(b) = client.blocked.take() {
            server.blocking.remove(client.id);
            if let Some(d) = b.deadline {
                self.timers.remove(&(d, client.id, key));
            }
        }
        pubsub::unsubscribe_all(server, client);
        crate::exec::tracking::disable(server, client);
        monitor::leave(server, client);
        multi::client_gone(server, client);
        server.client_gone(client);
    }

    /// Executes every complete request the connection holds (unless it is
    /// blocked, and up to [`OUT_HIGH`] of unsent replies), then starts what
    /// is due: a send of the replies, a recv if parsing stopped for lack of
    /// a complete request, or the close after QUIT once all is sent.
    fn process(&mut self, key: usize) {
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        if conn.closing {
            return;
        }
        let mut want_recv = false;
        // A watching recv leaves `input` here: it can be parsed.
        let mut watch = false;
        if !conn.recv_busy || conn.watching {
            // Received bytes: in a pool buffer (then `input` is empty), or
            // in `input`.
            let pooled: Option<PoolBuf> = conn.pooled.take();
            let src: &[u8] = match &pooled {
                Some(b) => b,
                None => &conn.input,
            };
            if !src.is_empty() && conn.out.buf.capacity() == 0 {
                conn.out.buf = self.spare_out.pop().unwrap_or_else(buffer::conn_buffer);
            }
            let mut pos = 0;
            let mut clock = crate::util::BatchClock::default();
            // Requests for another thread's shards, gathered while they
            // come in a row for the same one: (owner, how many).
            let mut batch: Option<(usize, u32)> = None;
            let max_bulk = self.server.config.proto_max_bulk_len.load(Relaxed);
            loop {
                if conn.client.close_after_reply || conn.out.buf.len() + conn.sending >= OUT_HIGH {
                    break;
                }
                let data = &src[pos..];
                let mut parsed = request::parse_resuming(
                    data,
                    &mut self.ranges,
                    &mut self.owned,
                    &mut conn.resume,
                    max_bulk,
                );
                if !conn.client.authenticated && security::auth_required(&self.server, &conn.client)
                {
                    if let Err(e) = request::check_unauthenticated(data, max_bulk) {
                        parsed = Parsed::Error(e);
                    }
                }
                if conn.client.blocked.is_some() || conn.forwarded || conn.paused {
                    // Its next requests wait. A recv stays in flight to
                    // notice a disconnect (Redis keeps reading a blocked
                    // client): into `input` while no request is complete,
                    // else a watch into a buffer of its own, so that the
                    // waiting requests can run as soon as it is unblocked.
                    want_recv = matches!(parsed, Parsed::Incomplete);
                    watch = !want_recv;
                    break;
                }
                match parsed {
                    Parsed::Incomplete => {
                        want_recv = true;
                        break;
                    }
                    Parsed::Empty { consumed } => pos += consumed,
                    Parsed::Multibulk { consumed } | Parsed::Inline { consumed } => {
                        // The argument slices, on the stack unless many
                        // (8: most commands; the array is filled afresh
                        // for every command, so it is kept small).
                        let mut small: [&[u8]; 8] = [&[]; 8];
                        let big: Vec<&[u8]>;
                        let argv: &[&[u8]] = if !self.owned.is_empty() {
                            // Inline: the parser unquoted the arguments.
                            big = self.owned.iter().map(|a| a.as_slice()).collect();
                            &big
                        } else if self.ranges.len() <= small.len() {
                            for (a, r) in small.iter_mut().zip(&self.ranges) {
                                *a = &data[r.clone()];
                            }
                            &small[..self.ranges.len()]
                        } else {
                            big = self.ranges.iter().map(|r| &data[r.clone()]).collect();
                            &big
                        };
                        if held_by_pause(&self.server, &conn.client, argv) {
                            // It waits, unparsed, as a blocked client's
                            // next request does (a watch notices a
                            // disconnect meanwhile).
                            conn.paused = true;
                            self.paused.push(key);
                            watch = true;
                            break;
                        }
                        let owner =
                            dispatch::owner_elsewhere(&self.server, &conn.client, argv, self.id);
                        match (owner, batch) {
                            (None, None) => {
                                execute(
                                    &self.server,
                                    &mut conn.client,
                                    &mut conn.out,
                                    &mut self.rng,
                                    &mut clock,
                                    &mut self.fx,
                                    argv,
                                );
                                post_deliveries(
                                    &self.server,
                                    self.id,
                                    &mut self.fx,
                                    &mut self.wakes,
                                );
                            }
                            (Some(t), None) => {
                                batch = Some((t, 1));
                                self.fwd_requests.extend_from_slice(&data[..consumed]);
                            }
                            (Some(t), Some((o, n)))
                                if t == o
                                    && n < dispatch::BATCH_COMMANDS
                                    && self.fwd_requests.len() + consumed
                                        <= dispatch::BATCH_BYTES =>
                            {
                                batch = Some((o, n + 1));
                                self.fwd_requests.extend_from_slice(&data[..consumed]);
                            }
                            // It runs once the batch's replies are back.
                            (_, Some(_)) => break,
                        }
                        pos += consumed;
                    }
                    // Answered after the forwarded requests before it.
                    Parsed::Error(_) if batch.is_some() => break,
                    Parsed::Error(msg) => {
                        // Redis answers a protocol error and drops the
                        // client: the rest of the stream cannot be framed.
                        conn.out.error(&format!("ERR {msg}"));
                        conn.client.close_after_reply = true;
                        pos = src.len();
                    }
                }
                if let Some(blocking::Blocked {
                    deadline: Some(d), ..
                }) = conn.client.blocked
                {
                    self.timers.insert((d, conn.client.id, key));
                }
            }
            if let Some((owner, _)) = batch {
                conn.forwarded = true;
                let f = dispatch::Forward {
                    from: self.id,
                    conn: key,
                    id: conn.client.id,
                    info: conn.client.info.clone(),
                    name: conn.client.name.clone(),
                    db: conn.client.db,
                    resp: conn.out.resp,
                    requests: self.fwd_requests.split().freeze(),
                };
                if self
                    .server
                    .mail
                    .post(self.id, owner, Msg::Exec(Box::new(f)))
                {
                    self.wakes.push(owner);
                }
            }
            match &pooled {
                // Only what is left (a partial request, or requests that
                // wait) is copied out; the pool buffer goes back.
                Some(b) => conn.input.extend_from_slice(&b[pos..]),
                None => conn.input.advance(pos),
            }
            drop(pooled);
            if conn.input.is_empty() {
                if self.pooled {
                    if conn.input.capacity() > 0 {
                        conn.input = BytesMut::new();
                    }
                } else if conn.input.capacity() > IN_SHRINK {
                    conn.input = buffer::conn_buffer();
                }
            }
            // For CLIENT LIST (four relaxed stores to the client's entry).
            let (held_in, out) = (conn.input.len(), conn.out.buf.len() + conn.sending);
            conn.client.info.set_buffers(
                held_in,
                conn.input.capacity() - held_in,
                out,
                conn.out.buf.capacity() + conn.sending,
            );
            if over_output_limit(&self.server, conn) {
                return self.close(key);
            }
        }
        let (fd, tok) = (conn.fd, token(key, conn.gen));
        // `appendfsync always`: replies go out only once the AOF is fsynced
        // past every write they acknowledge or show (group commit).
        let hold = match &self.aof {
            Some(a)
                if a.always() && !conn.out.buf.is_empty() && conn.client.aof_need > a.synced() =>
            {
                // Flag first, then re-check: an fsync completing meanwhile
                // either is seen here or sees the flag (and wakes us).
                a.set_waiting(self.id, true);
                conn.client.aof_need > a.synced()
            }
            _ => false,
        };
        if hold && !conn.held {
            conn.held = true;
            self.held.push((key, conn.gen));
        }
        // While a forward is out, the replies so far wait for its replies
        // (a pipeline is still answered with one send), unless they are
        // many.
        let wait_forward = conn.forwarded && conn.out.buf.len() < OUT_HIGH / 2;
        if !hold && !wait_forward && !conn.send_busy && !conn.out.buf.is_empty() {
            let out = std::mem::take(&mut conn.out.buf).freeze();
            conn.send_busy = true;
            conn.sending = out.len();
            self.p.send_all(fd, out, tok);
        }
        if conn.client.close_after_reply {
            if !conn.send_busy && !hold {
                self.close(key);
            }
        } else if conn.recv_busy {
            // A recv (or a watch) is in flight already.
        } else if want_recv && conn.out.buf.len() + conn.sending < OUT_HIGH {
            conn.recv_busy = true;
            // A big argument is being received: room for all of it now
            // (and the recv's minimum spare), not by doubling.
            let need = conn.resume.wants() + fastio::proactor::RECV_MIN_SPARE;
            if self.pooled && need <= POOL_BUF_SIZE {
                self.p.recv_pooled(fd, POOL_BGID, tok);
            } else {
                if need > conn.input.capacity() {
                    conn.input.reserve(need - conn.input.len());
                }
                let input = std::mem::take(&mut conn.input);
                self.p.recv(fd, input, tok);
            }
        } else if watch {
            conn.recv_busy = true;
            conn.watching = true;
            if self.pooled {
                self.p.recv_pooled(fd, POOL_BGID, tok);
            } else {
                self.p.recv(fd, BytesMut::new(), tok);
            }
        }
    }

    fn close(&mut self, key: usize) {
        if let Some(conn) = self.conns.get_mut(key) {
            if !conn.closing {
                conn.closing = true;
                self.p.close(conn.fd, token(key, conn.gen));
            }
        }
    }

    /// Delivers this thread's mail to its connections.
    fn drain_inbox(&mut self) {
        self.server.mail.drain(self.id, &mut self.inbox);
        let mut msgs = std::mem::take(&mut self.inbox);
        for m in msgs.drain(..) {
            self.deliver(m);
        }
        self.inbox = msgs;
    }

    fn deliver(&mut self, m: Msg) {
        let d = match m {
            Msg::Exec(f) => {
                let from = f.from;
                let replies = dispatch::execute_forwarded(
                    &self.server,
                    &mut self.rng,
                    &mut self.fx,
                    *f,
                    &mut self.fwd_replies,
                    &mut self.ranges,
                    &mut self.owned,
                );
                post_deliveries(&self.server, self.id, &mut self.fx, &mut self.wakes);
                if self.server.mail.post(self.id, from, replies) {
                    self.wakes.push(from);
                }
                return;
            }
            Msg::Executed {
                conn,
                id,
                reply,
                aof_need,
            } => {
                let Some(c) = self.conns.get_mut(conn) else {
                    return;
                };
                if c.client.id != id || c.closing {
                    return;
                }
                // Sent only while replies are on, and the connection ran
                // nothing since (CLIENT REPLY could not change).
                c.forwarded = false;
                c.out.buf.extend_from_slice(&reply);
                c.client.aof_need = c.client.aof_need.max(aof_need);
                if over_output_limit(&self.server, c) {
                    return self.close(conn);
                }
                return self.process(conn);
            }
            Msg::Deliver(Delivery::Resume(_)) => return self.resume_paused(true),
            Msg::Deliver(d) => d,
        };
        let to = d.to();
        let Some(conn) = self.conns.get_mut(to.conn) else {
            return;
        };
        if conn.client.id != to.id || conn.closing {
            return;
        }
        let reply_on = !conn.client.reply_off;
        match d {
            Delivery::Kill(_) => return self.close(to.conn),
            // Taken before the connection lookup (`deliver`).
            Delivery::Resume(_) => return,
            Delivery::Invalidate { key, .. } => {
                crate::exec::tracking::encode(&mut conn.out, &conn.client, key.as_deref())
            }
            Delivery::Unblock { reply, .. } => {
                let Some(b) = conn.client.blocked.take() else {
                    return;
                };
                if let Some(deadline) = b.deadline {
                    self.timers.remove(&(deadline, to.id, to.conn));
                }
                if reply_on {
                    conn.out.buf.extend_from_slice(&reply);
                }
                // It was served by another thread: its write is in the AOF.
                if let Some(a) = &self.aof {
                    conn.client.aof_need = a.need();
                }
            }
            Delivery::Bytes(_, data) => {
                if reply_on {
                    conn.out.buf.extend_from_slice(&data);
                }
            }
            // A message is a push: sent under CLIENT REPLY OFF too, as
            // Redis 7.0 does (MONITOR lines, above, are not).
            Delivery::Message {
                pattern,
                shard,
                channel,
                payload,
                ..
            } => {
                pubsub::encode_message(&mut conn.out, pattern.as_deref(), shard, &channel, &payload)
            }
        }
        if over_output_limit(&self.server, conn) {
            // It does not read what it is sent (Redis: client-output-buffer
            // -limit pubsub 32mb 8mb 60).
            return self.close(to.conn);
        }
        self.process(to.conn);
    }

    /// Re-processes the connections whose held replies the AOF's last
    /// fsync covers (`appendfsync always`).
    fn release_held(&mut self) {
        let Some(a) = self.aof.clone() else {
            return;
        };
        if self.held.is_empty() {
            return;
        }
        let synced = a.synced();
        let always = a.always();
        let failed = a.error();
        let held = std::mem::take(&mut self.held);
        let mut keep = Vec::new();
        for (key, gen) in held {
            let Some(c) = self.conns.get_mut(key) else {
                continue;
            };
            if c.gen != gen || !c.held {
                continue;
            }
            if c.client.aof_need <= synced || !always {
                c.held = false;
                self.process(key);
            } else if let Some(errno) = failed {
                // The fsync these replies wait for failed: none of them is
                // acknowledged; each is answered with the error instead of
                // waiting (the writes are in memory and reach the file if
                // a retry succeeds, but no client was told they did).
                let n = reply::count_replies(&c.out.buf);
                c.out.buf.clear();
                let e = format!(
                    "MISCONF Errors writing to the AOF file: {}",
                    crate::util::strerror(errno)
                );
                (0..n).for_each(|_| c.out.error(&e));
                c.client.aof_need = 0;
                c.held = false;
                self.process(key);
            } else {
                keep.push((key, gen));
            }
        }
        self.held.extend(keep);
        if self.held.is_empty() {
            a.set_waiting(self.id, false);
        }
    }

    /// Answers the blocked clients whose deadline passed with a null array
    /// (unless a serve removed them from the registry first: their reply
    /// is then in the mail).
    fn expire_blocked(&mut self) {
        if self.timers.is_empty() {
            return;
        }
        let now = crate::util::now_ms();
        while let Some(&(d, id, key)) = self.timers.first() {
            if d > now {
                break;
            }
            self.timers.pop_first();
            let Some(conn) = self.conns.get_mut(key) else {
                continue;
            };
            let Some(b) = conn.client.blocked.filter(|_| conn.client.id == id) else {
                continue;
            };
            if self.server.blocking.remove(id) {
                conn.client.blocked = None;
                if !conn.client.reply_off {
                    let reply = b.on_timeout.reply(conn.out.resp);
                    conn.out.buf.extend_from_slice(&reply);
                }
                self.process(key);
            }
        }
    }

    /// Closes the clients idle for more than `timeout` seconds (not
    /// blocked, subscribed or MONITOR clients, as Redis).
    fn close_idle(&mut self) {
        let timeout = self.server.config.timeout.load(Relaxed);
        if timeout == 0 {
            return;
        }
        let now = crate::util::now_ms();
        let idle: Vec<usize> = self
            .conns
            .iter()
            .filter(|(_, c)| {
                let cl = &c.client;
                !c.closing
                    && !c.forwarded
                    && cl.blocked.is_none()
                    && !cl.subscribed()
                    && !cl.monitor
                    && now.saturating_sub(cl.info.last_ms.load(Relaxed)) > timeout * 1000
            })
            .map(|(k, _)| k)
            .collect();
        for key in idle {
            self.close(key);
        }
    }

    fn on_accept(&mut self, res: i32, more: bool) {
        if let Accepted::Conn(fd) = self.acceptor.on_accept(&mut self.p, res, more) {
            // Replies are small and latency matters: no Nagle. Best effort.
            let _ = net::set_nodelay(fd);
            let gen = self.next_gen;
            self.next_gen = (self.next_gen + 1) & GEN_MASK;
            let key = self.conns.vacant_key();
            let mut client = self.server.new_client(fd, self.id, key);
            // maxclients (this one counted), then protected mode: answer
            // Redis's error and close.
            let srv = &*self.server;
            let refuse: Option<&[u8]> = if srv.connected_clients.load(Relaxed) as u64
                > srv.config.maxclients.load(Relaxed)
            {
                srv.rejected_connections.fetch_add(1, Relaxed);
                Some(b"-ERR max number of clients reached\r\n")
            } else if security::refuse_at_accept(srv, client.info.peer_ip) {
                Some(security::DENIED.as_bytes())
            } else {
                None
            };
            let mut out = Reply::new(if self.pooled {
                // Taken from the spares when it has something to say.
                BytesMut::new()
            } else {
                buffer::conn_buffer()
            });
            if let Some(msg) = refuse {
                out.buf.extend_from_slice(msg);
                client.close_after_reply = true;
            }
            self.conns.insert(Conn {
                fd,
                gen,
                recv_busy: refuse.is_none(),
                send_busy: false,
                sending: 0,
                closing: false,
                input: BytesMut::new(),
                resume: request::Resume::default(),
                pooled: None,
                out,
                client,
                held: false,
                soft_since: None,
                forwarded: false,
                paused: false,
                watching: false,
            });
            if refuse.is_some() {
                self.process(key);
            } else if self.pooled {
                self.p.recv_pooled(fd, POOL_BGID, token(key, gen));
            } else {
                self.p.recv(fd, buffer::conn_buffer(), token(key, gen));
            }
        }
    }

    /// Closes the listener, the wake socket and the connections without a
    /// send in flight through the ring and waits briefly for those closes.
    /// A connection with a send in flight is left for process exit to close
    /// (see the echo server: a resumed partial send could otherwise land on
    /// a reused fd number).
    fn shutdown(&mut self, done: &mut Vec<Completion>) {
        let mut expected = 2;
        self.acceptor.close(&mut self.p);
        self.p.close(self.wake_rx, Token::Wake.encode());
        for (key, conn) in self.conns.iter_mut() {
            if conn.closing {
                expected += 1;
            } else if !conn.send_busy {
                conn.closing = true;
                self.p.close(conn.fd, token(key, conn.gen));
                expected += 1;
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

/// Posts the deliveries the commands just run by I/O thread `me` left in
/// `fx` (to their connections' threads, this one included), noting the
/// threads owed a wake byte.
fn post_deliveries(server: &Server, me: usize, fx: &mut Effects, wakes: &mut Vec<usize>) {
    for d in fx.take_deliveries() {
        let to = d.to().thread;
        if server.mail.post(me, to, Msg::Deliver(d)) {
            wakes.push(to);
        }
    }
}

/// Whether a CLIENT PAUSE holds `client`'s request `argv` (one load when
/// no pause was ever set or the last one was lifted).
fn held_by_pause(server: &Server, client: &Client, argv: &[&[u8]]) -> bool {
    if !server.pause.set() {
        return false;
    }
    server.commands.find(argv).is_some_and(|cmd| {
        server
            .pause
            .holds(server, client, cmd, argv, crate::util::now_ms())
    })
}

/// Runs one request for `conn`, honouring CLIENT REPLY OFF/SKIP: the
/// command's reply is dropped while either is set, and a SKIP applies to
/// the command after the one that set it.
fn execute(
    server: &Server,
    c: &mut Client,
    out: &mut Reply,
    rng: &mut Rng,
    clock: &mut crate::util::BatchClock,
    fx: &mut Effects,
    argv: &[&[u8]],
) {
    let mark = out.buf.len();
    pipeline::execute(server, c, out, rng, clock, fx, argv);
    if (c.reply_off || c.reply_skip)
        && !server
            .commands
            .find(argv)
            .is_some_and(table::replies_are_pushes)
    {
        out.buf.truncate(mark);
    }
    c.reply_skip = std::mem::take(&mut c.reply_skip_next);
}
