//! Blocking commands (Redis's blocked.c): clients waiting on keys, served
//! in arrival order when another client writes one of them.
//!
//! A blocking handler (BLPOP, BZPOPMIN, later XREAD BLOCK) that finds data
//! behaves as its non-blocking form. One that finds none calls [`block`]
//! with its keys, its deadline and the command to re-run when woken (the
//! "retry argv": XREAD can put a concrete id in place of `$`). `block`
//! registers a [`Waiter`] in the global registry, (db, key) → FIFO of
//! client ids, *while the command still holds its shard locks*: a writer
//! of one of those keys locks the same shard, so it either ran before (and
//! the handler saw its data) or runs after and sees the waiter. Writers pay
//! one atomic load ([`Blocking::any`]) when nobody is blocked.
//!
//! Serving ([`serve`]): after a write command (or EXEC) whose keys have
//! waiters, and once its shard locks are released, the executing thread
//! takes each ready key's waiters in arrival order; for each it locks the
//! shards of the waiter's command (ascending), then the registry, checks the
//! waiter is still registered, re-runs the command's handler on a temporary
//! client (the waiter's database and protocol, `serving` set). If that
//! produced a reply, the waiter is removed from every key it waits on and
//! the reply becomes a [`Delivery::Unblock`] that the serving I/O thread
//! posts to the waiter's thread's mailbox; the keys the served command
//! wrote (BLMOVE's destination) become ready in turn. If it found nothing
//! the waiter stays; when the key no longer exists nobody else can be
//! served from it.
//!
//! Timeouts and disconnects: the owning thread keeps its blocked clients'
//! deadlines and removes the waiter itself ([`Blocking::remove`]). Removal
//! happens under the registry lock, and so does a serve's check-run-remove:
//! whoever removes the waiter first wins. The owner that loses the race
//! gets the reply through its mailbox.
//!
//! Lock order: shard locks (ascending) → registry mutex. Nothing takes a shard lock while holding the registry (serve peeks at
//! the waiters, *releases* the registry, locks shards, then re-takes the
//! registry), so no cycle and no deadlock.

use super::context::Ctx;
use super::effects::{ClientRef, Delivery, Effects};
use super::pipeline;
use super::table::{self, Command};
use crate::exec::clients::ClientInfo;
use crate::proto::reply::Reply;
use crate::server::{Client, Server};
use crate::util::Rng;
use bytes::{Bytes, BytesMut};
use hashbrown::HashMap;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

/// A blocked client's own record (on its connection).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blocked {
    /// Absolute ms; None waits forever.
    pub deadline: Option<u64>,
    /// What it answers when the deadline passes (or CLIENT UNBLOCK).
    pub on_timeout: OnTimeout,
}

/// A blocked command's answer at its timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnTimeout {
    /// BLPOP & co., XREAD: a null array.
    NullArray,
    /// WAIT: the replicas that acknowledged (none, without replication).
    Replicas,
}

impl OnTimeout {
    /// The reply, in protocol `resp`.
    pub fn reply(self, resp: u8) -> Bytes {
        match (self, resp) {
            (OnTimeout::NullArray, 3) => Bytes::from_static(b"_\r\n"),
            (OnTimeout::NullArray, _) => Bytes::from_static(b"*-1\r\n"),
            (OnTimeout::Replicas, _) => Bytes::from_static(b":0\r\n"),
        }
    }
}

/// A blocked client in the registry: enough to re-run its command
/// anywhere and deliver the reply.
#[derive(Debug)]
struct Waiter {
    thread: usize,
    conn: usize,
    db: usize,
    resp: u8,
    on_timeout: OnTimeout,
    cmd: &'static Command,
    retry: Vec<Bytes>,
    keys: Vec<Bytes>,
}

#[derive(Debug, Default)]
struct Registry {
    queues: HashMap<(usize, Bytes), VecDeque<u64>>,
    waiters: HashMap<u64, Waiter>,
}

/// The registry of blocked clients (shared by all threads).
#[derive(Debug, Default)]
pub struct Blocking {
    blocked: AtomicUsize,
    reg: Mutex<Registry>,
}

impl Blocking {
    /// Whether any client is blocked. Read by write commands under their
    /// shard locks (so it cannot miss a waiter registered on their keys).
    pub fn any(&self) -> bool {
        self.blocked.load(Ordering::SeqCst) > 0
    }

    /// How many clients are blocked (INFO's `blocked_clients`).
    pub fn count(&self) -> usize {
        self.blocked.load(Ordering::Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, Registry> {
        self.reg.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Removes client `id` (timeout, disconnect); false if it was not
    /// registered (a serve removed it first: its reply is in the mail).
    pub fn remove(&self, id: u64) -> bool {
        let mut reg = self.lock();
        self.remove_locked(&mut reg, id)
    }

    fn remove_locked(&self, reg: &mut Registry, id: u64) -> bool {
        let Some(w) = reg.waiters.remove(&id) else {
            return false;
        };
        for k in w.keys {
            let qk = (w.db, k);
            if let Some(q) = reg.queues.get_mut(&qk) {
                q.retain(|&x| x != id);
                if q.is_empty() {
                    reg.queues.remove(&qk);
                }
            }
        }
        self.blocked.fetch_sub(1, Ordering::SeqCst);
        true
    }
}

/// Parses a BLPOP-family timeout (seconds, a float) as Redis 7.0 does into
/// an absolute deadline in ms; `None` means forever (0, or under 1 ms).
pub fn parse_timeout(arg: &[u8], now: u64) -> Result<Option<u64>, &'static str> {
    const NOT_FLOAT: &str = "ERR timeout is not a float or out of range";
    let s = std::str::from_utf8(arg).map_err(|_| NOT_FLOAT)?;
    // strtold: no leading space, no trailing garbage, no NaN.
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_whitespace()) {
        return Err(NOT_FLOAT);
    }
    let secs: f64 = s.parse().map_err(|_| NOT_FLOAT)?;
    if secs.is_nan() {
        return Err(NOT_FLOAT);
    }
    let ms = secs * 1000.0;
    // Redis converts to long long; out of range (inf, 1e400) comes out as
    // LLONG_MIN on x86, hence "negative".
    if !(ms > -9.223_372_036_854_776e18 && ms < 9.223_372_036_854_776e18) {
        return Err("ERR timeout is negative");
    }
    let ms = ms as i64;
    if ms < 0 {
        return Err("ERR timeout is negative");
    }
    if ms == 0 {
        return Ok(None);
    }
    if ms > i64::MAX - now as i64 {
        return Err("ERR timeout is out of range");
    }
    Ok(Some(now + ms as u64))
}

/// Called by a blocking handler that found no data on `keys`: blocks the
/// client until one of them is written or `deadline` passes; `retry` is the
/// command to re-run when woken. Inside EXEC it answers a null array at
/// once (as a timeout); when re-run for a waiter it only records "still no
/// data".
pub fn block(ctx: &mut Ctx, keys: &[&[u8]], deadline: Option<u64>, retry: &[&[u8]]) {
    if ctx.client.serving {
        ctx.client.blocked = Some(Blocked {
            deadline: None,
            on_timeout: OnTimeout::NullArray,
        });
        return;
    }
    let cmd = retry.first().and_then(|name| table::by_own_name(name));
    let (Some(cmd), false) = (cmd, ctx.client.deny_blocking) else {
        ctx.propagate_nothing();
        return ctx.out.null_array();
    };
    let c = &mut *ctx.client;
    let db = c.db;
    let mut owned: Vec<Bytes> = Vec::with_capacity(keys.len());
    for k in keys {
        if !owned.iter().any(|o| o.as_ref() == *k) {
            owned.push(Bytes::copy_from_slice(k));
        }
    }
    let server = ctx.server;
    let mut reg = server.blocking.lock();
    for k in &owned {
        reg.queues
            .entry((db, k.clone()))
            .or_default()
            .push_back(c.id);
    }
    reg.waiters.insert(
        c.id,
        Waiter {
            thread: c.thread,
            conn: c.conn,
            db,
            resp: ctx.out.resp,
            on_timeout: OnTimeout::NullArray,
            cmd,
            retry: retry.iter().map(|a| Bytes::copy_from_slice(a)).collect(),
            keys: owned,
        },
    );
    server.blocking.blocked.fetch_add(1, Ordering::SeqCst);
    c.blocked = Some(Blocked {
        deadline,
        on_timeout: OnTimeout::NullArray,
    });
}

/// Blocks the client on no key until `deadline` (None: for ever), when it
/// answers `on_timeout`: WAIT without replicas to acknowledge. It is a
/// blocked client as any other (INFO's `blocked_clients`, CLIENT UNBLOCK,
/// its disconnect noticed).
pub fn block_until(
    ctx: &mut Ctx,
    deadline: Option<u64>,
    on_timeout: OnTimeout,
    cmd: &'static Command,
) {
    let c = &mut *ctx.client;
    let server = ctx.server;
    let mut reg = server.blocking.lock();
    reg.waiters.insert(
        c.id,
        Waiter {
            thread: c.thread,
            conn: c.conn,
            db: c.db,
            resp: ctx.out.resp,
            on_timeout,
            cmd,
            retry: Vec::new(),
            keys: Vec::new(),
        },
    );
    server.blocking.blocked.fetch_add(1, Ordering::SeqCst);
    c.blocked = Some(Blocked {
        deadline,
        on_timeout,
    });
}

/// CLIENT UNBLOCK: takes client `id` out of the registry and posts its
/// answer (its timeout's, or `-UNBLOCKED` with `error`) to its thread,
/// as a serve would; false if it was not blocked.
pub fn unblock(ctx: &mut Ctx, id: u64, error: bool) -> bool {
    let server = ctx.server;
    let mut reg = server.blocking.lock();
    let Some(w) = reg.waiters.get(&id) else {
        return false;
    };
    let to = ClientRef {
        thread: w.thread,
        conn: w.conn,
        id,
    };
    let reply = if error {
        Bytes::from_static(b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n")
    } else {
        w.on_timeout.reply(w.resp)
    };
    server.blocking.remove_locked(&mut reg, id);
    drop(reg);
    if error {
        server.stats.error(b"UNBLOCKED");
    }
    ctx.deliver(Delivery::Unblock { to, reply });
    true
}

enum Attempt {
    /// Served (the keys it wrote are in the unit's ready keys).
    Served,
    /// The waiter found no data; whether the ready key still exists.
    NoData { key_exists: bool },
    /// No longer registered (timed out, gone, served by another thread).
    Gone,
}

/// Serves the clients blocked on the unit's ready keys (and on keys their
/// commands write in turn), in arrival order per key; their replies are
/// left in `fx.deliver`. Called with no shard lock held.
pub fn serve(server: &Server, rng: &mut Rng, fx: &mut Effects) {
    let mut queue: VecDeque<(usize, Bytes)> = VecDeque::new();
    for k in fx.ready.drain(..) {
        if !queue.contains(&k) {
            queue.push_back(k);
        }
    }
    while let Some((db, key)) = queue.pop_front() {
        // Arrival order at this moment; each attempt re-checks the waiter.
        let ids: Vec<u64> = match server.blocking.lock().queues.get(&(db, key.clone())) {
            Some(q) => q.iter().copied().collect(),
            None => continue,
        };
        for id in ids {
            match attempt(server, rng, fx, id, db, &key) {
                Attempt::Served => {
                    for k in fx.ready.drain(..) {
                        if k != (db, key.clone()) && !queue.contains(&k) {
                            queue.push_back(k);
                        }
                    }
                }
                Attempt::NoData { key_exists: false } => break,
                Attempt::NoData { key_exists: true } | Attempt::Gone => {}
            }
        }
    }
}

/// Re-runs waiter `id`'s command for ready key `key`, as its own execution
/// unit: what it did is propagated (as its non-blocking form) under its
/// locks, and its reply is left in `fx.deliver` for the waiter's thread.
fn attempt(
    server: &Server,
    rng: &mut Rng,
    fx: &mut Effects,
    id: u64,
    db: usize,
    key: &[u8],
) -> Attempt {
    let (cmd, retry) = match server.blocking.lock().waiters.get(&id) {
        Some(w) => (w.cmd, w.retry.clone()),
        None => return Attempt::Gone,
    };
    let argv: Vec<&[u8]> = retry.iter().map(|a| a.as_ref()).collect();
    let mut ids = Vec::new();
    pipeline::shards_of(server, cmd, &argv, &mut ids);
    ids.push(server.ks.shard_of(key));
    ids.sort_unstable();
    ids.dedup();
    let ks = server.ks.lock(&ids);
    let mut reg = server.blocking.lock();
    let Some(w) = reg.waiters.get(&id) else {
        return Attempt::Gone;
    };
    let to = ClientRef {
        thread: w.thread,
        conn: w.conn,
        id,
    };
    let mut client = Client::new(id, std::sync::Arc::new(ClientInfo::detached(id)));
    client.db = w.db;
    client.serving = true;
    let mut out = Reply::new(BytesMut::new());
    out.resp = w.resp;
    let start_us = crate::util::now_us();
    let mut ctx = Ctx {
        server,
        client: &mut client,
        out: &mut out,
        ks,
        now: start_us / 1000,
        start_us,
        rng,
        fx,
    };
    pipeline::run(cmd, &mut ctx, &argv, 0);
    if ctx.client.blocked.is_some() {
        let now = ctx.now;
        let key_exists = ctx.ks.db(db, key).contains(key, now);
        // An expiry found on the way is propagated under these locks.
        pipeline::note_expired(&mut ctx.ks, ctx.fx);
        pipeline::propagate(ctx.server, ctx.fx);
        return Attempt::NoData { key_exists };
    }
    // Served: propagated as its non-blocking form, under the same locks.
    pipeline::propagate(ctx.server, ctx.fx);
    server.blocking.remove_locked(&mut reg, id);
    drop(reg);
    drop(ctx);
    fx.deliver.push(Delivery::Unblock {
        to,
        reply: out.buf.freeze(),
    });
    Attempt::Served
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_parse_as_redis() {
        let now = 1_000;
        assert_eq!(parse_timeout(b"0", now), Ok(None));
        assert_eq!(parse_timeout(b"0.0001", now), Ok(None));
        assert_eq!(parse_timeout(b"0.1", now), Ok(Some(1_100)));
        assert_eq!(parse_timeout(b"2", now), Ok(Some(3_000)));
        let nf = Err("ERR timeout is not a float or out of range");
        let neg = Err("ERR timeout is negative");
        assert_eq!(parse_timeout(b"x", now), nf);
        assert_eq!(parse_timeout(b"nan", now), nf);
        assert_eq!(parse_timeout(b" 1", now), nf);
        assert_eq!(parse_timeout(b"", now), nf);
        assert_eq!(parse_timeout(b"-1", now), neg);
        assert_eq!(parse_timeout(b"inf", now), neg);
        assert_eq!(parse_timeout(b"1e400", now), neg);
        // Fits in a long long, but not once added to the clock.
        let now = 1_700_000_000_000;
        assert_eq!(
            parse_timeout(b"9223371000000000", now),
            Err("ERR timeout is out of range")
        );
    }
}
