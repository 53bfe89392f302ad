//! The execution pipeline: the one way a command runs, whoever asks (a
//! connection, a request forwarded to its shards' owner, the AOF loader;
//! EXEC and a blocked client's retry run their commands through [`call`]
//! and [`run`] under locks they already hold).
//!
//! ```text
//! execute(argv)
//!   lookup, arity, AUTH, maxmemory, subscribed / MONITOR context, MULTI queueing
//!   lock the shards of the command's keys (ascending)
//!   call(cmd)
//!     run: the handler, then its effects: expired keys met (DELs), the
//!          command's own record (its argv, or what the handler rewrote it
//!          to), WATCH versions and ready keys of what it wrote
//!     observe: command stats, slow log, CLIENT LIST line, MONITOR feed
//!   finish: the unit's records to the AOF, under the locks
//!   unlock
//!   serve the clients blocked on the keys it wrote
//!   publish its keyspace events (notify-keyspace-events)
//! the caller posts the unit's deliveries (pub/sub, MONITOR, unblocked
//! replies, kills) through its I/O thread's mailbox
//! ```

use super::blocking;
use super::context::Ctx;
use super::effects::Effects;
use super::multi;
use super::notify::{self, class};
use super::stats::Counter;
use super::table::{
    allowed_when_subscribed, arity_error, flags, unknown_command, unknown_subcommand, Command,
    Found, Locks,
};
use crate::keyspace::Locked;
use crate::proto::reply::Reply;
use crate::server::{Client, Server};
use crate::util::{BatchClock, Rng};
use bytes::Bytes;
use std::sync::atomic::Ordering;

/// Who asks for a command: what is checked before it and observed after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A client's request (its own connection, or forwarded to its keys'
    /// shards' owner): every check, the MULTI queue, the observers.
    Client,
    /// A command of the AOF at start-up: an unknown command or a wrong
    /// arity is an error that stops the load; no AUTH, maxmemory or
    /// client-state checks, no command stats (Redis's loader runs the
    /// command procedure directly too).
    Loader,
}

/// Runs one command (`argv[0]` is its name) for `client` and appends its
/// reply to `out`; its deliveries are left in `fx` for the caller to post.
/// Inside MULTI, commands other than those that run at once
/// ([`Command::runs_in_multi`]) are queued
/// (`+QUEUED`); an unknown name or a wrong arity there also dooms the
/// transaction (EXECABORT).
pub fn execute(
    server: &Server,
    client: &mut Client,
    out: &mut Reply,
    rng: &mut Rng,
    clock: &mut BatchClock,
    fx: &mut Effects,
    argv: &[&[u8]],
) {
    let _ = execute_as(Origin::Client, server, client, out, rng, clock, fx, argv);
}

/// Runs one command read from the AOF at start-up, as [`execute`] does for
/// a client ([`Origin::Loader`]); the error that stops the load.
pub fn replay(
    server: &Server,
    client: &mut Client,
    rng: &mut Rng,
    fx: &mut Effects,
    argv: &[&[u8]],
) -> Result<(), String> {
    let mut out = Reply::new(bytes::BytesMut::new());
    let mut clock = BatchClock::default();
    execute_as(
        Origin::Loader,
        server,
        client,
        &mut out,
        rng,
        &mut clock,
        fx,
        argv,
    )
}

/// The one way a command runs (see the module doc): the checks that
/// `origin` calls for, the command under its shard locks, the unit's
/// end, the blocked clients it may serve.
#[allow(clippy::too_many_arguments)]
pub fn execute_as(
    origin: Origin,
    server: &Server,
    client: &mut Client,
    out: &mut Reply,
    rng: &mut Rng,
    clock: &mut BatchClock,
    fx: &mut Effects,
    argv: &[&[u8]],
) -> Result<(), String> {
    let loading = origin == Origin::Loader;
    let Some(&name) = argv.first() else {
        return Ok(());
    };
    let hint = client.info.last_cmd.load(Ordering::Relaxed);
    let cmd = match server.commands.lookup_hinted(argv, hint) {
        Found::Command(c) => c,
        _ if loading => {
            return Err(format!(
                "Unknown command '{}' reading the append only file",
                String::from_utf8_lossy(name)
            ));
        }
        not_found => {
            client.multi_error |= client.multi.is_some();
            server.stats.error(b"ERR");
            match not_found {
                Found::UnknownSub => unknown_subcommand(out, argv),
                _ => unknown_command(out, argv),
            }
            return Ok(());
        }
    };
    if !cmd.arity_ok(argv.len()) {
        if loading {
            return Err(format!(
                "Wrong number of arguments for '{}' reading the append only file",
                cmd.name
            ));
        }
        client.multi_error |= client.multi.is_some();
        server.stats.local(cmd.index(), fx.thread).rejected();
        server.stats.error(b"ERR");
        arity_error(out, cmd.name);
        return Ok(());
    }
    begin(server, fx);
    if !loading && refused(server, client, out, rng, fx, cmd, argv) {
        // What eviction did before an OOM refusal still happened.
        if !fx.events.is_empty() {
            notify::publish(server, fx);
        }
        return Ok(());
    }
    let start_us = clock.start_us();
    let ks = match cmd.locks {
        Locks::All => server.ks.lock_all(),
        Locks::Keys | Locks::Own => lock_keys(server, cmd, argv),
    };
    let mut ctx = Ctx {
        server,
        client,
        out,
        ks,
        now: start_us / 1000,
        start_us,
        rng,
        fx,
    };
    if loading {
        let reply_at = ctx.out.buf.len();
        run(cmd, &mut ctx, argv, reply_at);
    } else {
        call(cmd, &mut ctx, argv);
    }
    finish(&mut ctx);
    // `call` leaves its closing clock reading in start_us.
    clock.ended_at(ctx.start_us);
    let Ctx { rng, fx, ks, .. } = ctx;
    drop(ks);
    // Serve the clients blocked on what this wrote, with its locks released
    // (blocking.rs: shard locks are never taken under the registry's).
    if !fx.ready.is_empty() {
        blocking::serve(server, rng, fx);
    }
    if !fx.events.is_empty() {
        notify::publish(server, fx);
    }
    Ok(())
}

/// The checks of a client's command before it runs: AUTH, maxmemory (which
/// may evict first), the subscribed and MONITOR contexts, and MULTI's
/// queueing. True when the command was answered without running.
fn refused(
    server: &Server,
    client: &mut Client,
    out: &mut Reply,
    rng: &mut Rng,
    fx: &mut Effects,
    cmd: &'static Command,
    argv: &[&[u8]],
) -> bool {
    // One bool for an authenticated client (security.rs).
    if !client.authenticated && super::security::reject(server, client, cmd, out) {
        return true;
    }
    // A script past busy-reply-threshold holds every shard: answer now
    // rather than wait for it (exec/script/busy.rs).
    if server.script_busy.is_busy() && !cmd.has(flags::ALLOW_BUSY) {
        client.multi_error |= client.multi.is_some();
        server.stats.error(b"BUSY");
        out.error(super::script::busy::BUSY);
        return true;
    }
    if server.config.maxmemory.load(Ordering::Relaxed) != 0 {
        let size = argv.iter().map(|a| a.len()).sum();
        if super::evict::before_command(server, client, cmd, rng, fx, size) {
            if cmd.name == "exec" {
                out.error(&format!(
                    "EXECABORT Transaction discarded because of: {}",
                    super::evict::OOM
                ));
                client.multi = None;
                client.multi_error = false;
                multi::unwatch_all(server, client);
                return true;
            }
            client.multi_error |= client.multi.is_some();
            out.error(super::evict::OOM);
            return true;
        }
    }
    // Writes (and PING, as Redis: health checks see it) while the data
    // cannot reach the disk.
    let writes = cmd.has(flags::WRITE)
        || cmd.name == "ping"
        || (cmd.name == "exec" && multi::queued_writes(client));
    if writes {
        if let Some(e) = disk_error(server) {
            server.stats.error(b"MISCONF");
            if cmd.name == "exec" {
                out.error(&format!("EXECABORT Transaction discarded because of: {e}"));
                client.multi = None;
                client.multi_error = false;
                multi::unwatch_all(server, client);
            } else {
                client.multi_error |= client.multi.is_some();
                out.error(&e);
            }
            return true;
        }
    }
    if client.subscribed() && !out.resp3() && !allowed_when_subscribed(cmd) {
        out.error(&format!(
            "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / \
             RESET are allowed in this context",
            cmd.name
        ));
        return true;
    }
    if client.monitor && cmd.flags & (flags::READONLY | flags::WRITE) != 0 {
        out.error("ERR Replica can't interact with the keyspace");
        return true;
    }
    if client.multi.is_some() && cmd.has(flags::NO_MULTI) {
        // Redis's processCommand: refused, and EXEC will abort.
        client.multi_error = true;
        server.stats.error(b"ERR");
        out.error("ERR Command not allowed inside a transaction");
        return true;
    }
    if let Some(queue) = &mut client.multi {
        if !cmd.runs_in_multi() {
            let args = argv
                .iter()
                .map(|a| bytes::Bytes::copy_from_slice(a))
                .collect();
            queue.push((cmd, args));
            client
                .info
                .multi
                .store(queue.len() as i64, Ordering::Relaxed);
            out.simple("QUEUED");
            return true;
        }
    }
    false
}

/// How far the AOF may fall behind the writes (a slow or stuck disk that
/// reports no error) before writes are refused: the unwritten buffer is
/// bounded, not left to grow with the writes.
const AOF_BACKLOG_LIMIT: u64 = 256 << 20;

/// Why writes are refused, if they are (Redis's
/// `writeCommandsDeniedByDiskError`): the last BGSAVE failed with save
/// points set and `stop-writes-on-bgsave-error yes`, or the AOF's last
/// write or fsync failed (until a retry succeeds), or it is more than
/// [`AOF_BACKLOG_LIMIT`] behind.
fn disk_error(server: &Server) -> Option<String> {
    if !server.rdb.last_bgsave_ok()
        && server.config.get("stop-writes-on-bgsave-error") == "yes"
        && !server.save_points().is_empty()
    {
        return Some(
            "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to \
             persist to disk. Commands that may modify the data set are disabled, because this \
             instance is configured to report errors during writes if RDB snapshotting fails \
             (stop-writes-on-bgsave-error option). Please check the Redis logs for details \
             about the RDB error."
                .into(),
        );
    }
    let aof = server.aof()?;
    if let Some(errno) = aof.error() {
        return Some(format!(
            "MISCONF Errors writing to the AOF file: {}",
            crate::util::strerror(errno)
        ));
    }
    (aof.backlog() > AOF_BACKLOG_LIMIT).then(|| {
        format!(
            "MISCONF The AOF is more than {} MB behind the writes (a slow disk): writes are \
             refused until it catches up",
            AOF_BACKLOG_LIMIT >> 20
        )
    })
}

/// Locks the shards of `cmd`'s keys (no allocation for up to 16 keys).
fn lock_keys<'a>(server: &'a Server, cmd: &Command, argv: &[&[u8]]) -> Locked<'a> {
    let mut small = [0usize; 16];
    let mut n = 0;
    let mut big = Vec::new();
    for i in cmd.key_indices(argv) {
        let s = server.ks.shard_of(argv[i]);
        if n < small.len() {
            small[n] = s;
            n += 1;
        } else {
            if big.is_empty() {
                big.extend_from_slice(&small);
            }
            big.push(s);
        }
    }
    let ids = if big.is_empty() {
        &mut small[..n]
    } else {
        &mut big[..]
    };
    ids.sort_unstable();
    let mut m = 0;
    for j in 0..ids.len() {
        if m == 0 || ids[j] != ids[m - 1] {
            ids[m] = ids[j];
            m += 1;
        }
    }
    server.ks.lock(&ids[..m])
}

/// Appends the shards of `cmd`'s keys in `argv` to `ids` (unsorted).
pub fn shards_of(server: &Server, cmd: &Command, argv: &[&[u8]], ids: &mut Vec<usize>) {
    ids.extend(cmd.key_indices(argv).map(|i| server.ks.shard_of(argv[i])));
}

/// Runs `cmd` with its shards already locked in `ctx` ([`run`]), then
/// observes it: INFO commandstats/errorstats, the slow log, what CLIENT
/// LIST shows of the client, the MONITOR feed (see `stats.rs` for the
/// cost: one clock reading and a few relaxed atomics per command).
pub fn call(cmd: &'static Command, ctx: &mut Ctx, argv: &[&[u8]]) {
    let server = ctx.server;
    let reply_at = ctx.out.buf.len();
    let idx = cmd.index();
    // The running command is the client's `cmd=` already (CLIENT LIST /
    // INFO run by it show themselves, as in Redis).
    ctx.client.info.last_cmd.store(idx, Ordering::Relaxed);
    run(cmd, ctx, argv, reply_at);
    if ctx.client.tracking.is_some() {
        super::tracking::after_command(server, ctx.client, cmd, argv, &mut ctx.fx.deliver);
    }
    let end_us = crate::util::now_us();
    let usec = end_us.saturating_sub(ctx.start_us);
    ctx.start_us = end_us;
    let st = server.stats.local(idx, ctx.fx.thread);
    st.call(usec);
    if ctx.out.buf.get(reply_at) == Some(&b'-') {
        st.failed();
        server.stats.error(&ctx.out.buf[reply_at + 1..]);
    }
    // Owner-only relaxed stores on this client's own lines (CLIENT LIST).
    let c = &*ctx.client;
    c.info.last_ms.store(ctx.now, Ordering::Relaxed);
    c.info.db.store(c.db, Ordering::Relaxed);
    c.info.resp.store(ctx.out.resp, Ordering::Relaxed);
    let multi = c.multi.as_ref().map_or(-1, |q| q.len() as i64);
    c.info.multi.store(multi, Ordering::Relaxed);
    let slower = server.config.slowlog_slower_than.load(Ordering::Relaxed);
    let logged = slower >= 0 && usec >= slower as u64 && !cmd.has(flags::SKIP_SLOWLOG);
    let monitored = server.monitors.any() && cmd.flags & (flags::ADMIN | flags::SKIP_MONITOR) == 0;
    if !logged && !monitored {
        return;
    }
    // What the logs show: the arguments, passwords redacted.
    let shown: std::borrow::Cow<[&[u8]]> = if ctx.fx.redacted.is_empty() {
        argv.into()
    } else {
        let mut v = argv.to_vec();
        for &i in &ctx.fx.redacted {
            if let Some(a) = v.get_mut(i) {
                *a = b"(redacted)";
            }
        }
        v.into()
    };
    let argv = &shown[..];
    // EXEC is not logged itself (skip_slowlog); its commands are.
    if logged {
        server.stats.slowlog_push(
            argv,
            usec,
            end_us / 1_000_000,
            c.info.addr.clone(),
            c.name.clone().unwrap_or_default(),
            server.config.slowlog_max_len.load(Ordering::Relaxed) as usize,
        );
    }
    if monitored {
        super::monitor::feed(ctx, argv);
    }
}

/// Runs `cmd`'s handler with its shards locked in `ctx`, then collects its
/// effects into the unit's. The handler itself signalled what it changed
/// ([`Ctx::changed`]: WATCH versions, ready keys, keyspace events, the
/// change count); here:
///
/// - the keys that lookups found expired become DELs (before the command's
///   own record: they happened first);
/// - the command's own record: what the handler rewrote it to
///   ([`Ctx::propagate`]), or, if it changed something (its change count
///   moved, Redis's rule) and replied no error, its arguments as they are.
///
/// `reply_at` is where the command's reply starts in `ctx.out`.
pub fn run(cmd: &'static Command, ctx: &mut Ctx, argv: &[&[u8]], reply_at: usize) {
    ctx.ks.count_lookups = !cmd.has(flags::WRITE) || reads_as_read(cmd, argv);
    ctx.fx.own_set = false;
    ctx.fx.redacted.clear();
    let dirty_before = ctx.fx.dirty;
    if let Some(handler) = cmd.handler() {
        handler(ctx, argv);
    }
    note_expired(&mut ctx.ks, ctx.fx);
    let Effects {
        records,
        own,
        own_set,
        propagating,
        dirty,
        ..
    } = &mut *ctx.fx;
    let blocked = ctx.client.blocked.is_some();
    let failed = ctx.out.buf.get(reply_at) == Some(&b'-');
    if blocked || failed {
        own.clear();
    } else if *own_set {
        records.append(own);
    } else if *propagating && *dirty > dirty_before && cmd.has(flags::WRITE) {
        records.push(ctx.client.db, argv);
    }
}

/// Write commands whose lookups Redis makes with lookupKeyRead (they read
/// a value before writing another key, or return the old value): they
/// count keyspace hits and misses and raise `keymiss`. Their lookups of
/// the key they write go through `set`/`typed(new)`, which count nothing.
fn reads_as_read(cmd: &Command, argv: &[&[u8]]) -> bool {
    match cmd.name {
        "getset" | "getdel" | "getex" | "copy" | "sunionstore" | "sinterstore" | "sdiffstore"
        | "zunionstore" | "zinterstore" | "zdiffstore" | "zrangestore" | "bitop" => true,
        "set" => argv[3..].iter().any(|a| a.eq_ignore_ascii_case(b"get")),
        _ => false,
    }
}

/// Starts an execution unit: what its effects are recorded for (the AOF
/// on: propagation; notify-keyspace-events: events).
pub fn begin(server: &Server, fx: &mut Effects) {
    fx.propagating = server.aof().is_some();
    fx.notify = server.config.notify.load(Ordering::Relaxed);
    fx.tracking = server.tracking.active();
}

/// Moves the keys that lookups through `ks` found expired (and deleted)
/// into the unit's records, as DELs: the AOF's loader expires nothing, so
/// the file must say it (Redis's `deleteExpiredKeyAndPropagate`).
#[inline]
pub fn note_expired(ks: &mut Locked, fx: &mut Effects) {
    let mut n = 0;
    ks.take_expired(|db, key| {
        fx.also_propagate(db, &[b"DEL", &key]);
        fx.event(class::EXPIRED, "expired", db, &key);
        if fx.tracking {
            fx.invalidate.push(Bytes::copy_from_slice(&key));
        }
        n += 1;
    });
    fx.expired += n;
    note_key_events(ks, fx);
}

/// Raises the `new` and `keymiss` events the keyspace recorded (only
/// recorded while notify-keyspace-events asks for them: `n`, `m`).
pub fn note_key_events(ks: &mut Locked, fx: &mut Effects) {
    if fx.notify & (class::NEW | class::KEY_MISS) == 0 {
        return;
    }
    for (db, e) in ks.take_key_events() {
        if e.new {
            fx.event(class::NEW, "new", db, &e.key);
        } else {
            fx.event(class::KEY_MISS, "keymiss", db, &e.key);
        }
    }
}

/// The end of an execution unit, its shard locks still held: its records
/// go to the AOF (as one MULTI ... EXEC block for a transaction), so that
/// the file order is the execution order on every key. With `appendfsync
/// always` the client's replies so far (a read's too: it may show another
/// client's write) wait until everything appended is fsynced.
pub fn finish(ctx: &mut Ctx) {
    let wrote = !ctx.fx.records.is_empty();
    propagate(ctx.server, ctx.fx);
    if let Some(aof) = ctx.server.aof() {
        // While the AOF is failing (writes are refused), a read is not
        // held: it would wait for an fsync that is not coming (Redis keeps
        // serving reads then too).
        if aof.always() && (wrote || aof.error().is_none()) {
            ctx.client.aof_need = aof.need();
        }
    }
}

/// Hands the unit's records to their consumers (the AOF) and clears them.
/// Call with the unit's shard locks held.
#[inline]
pub fn propagate(server: &Server, fx: &mut Effects) {
    if fx.dirty != 0 {
        server.stats.dirty(std::mem::take(&mut fx.dirty), fx.thread);
    }
    if fx.expired != 0 {
        let n = std::mem::take(&mut fx.expired);
        server.stats.count(Counter::ExpiredKeys, n, fx.thread);
    }
    for key in std::mem::take(&mut fx.invalidate) {
        super::tracking::invalidate(server, 0, &key, &mut fx.deliver);
    }
    if !fx.records.is_empty() {
        if let Some(aof) = server.aof() {
            aof.append(&fx.records, fx.transaction);
        }
        fx.records.clear();
    }
    fx.transaction = false;
}
