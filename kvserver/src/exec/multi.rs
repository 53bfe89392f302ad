//! Transactions: MULTI EXEC DISCARD WATCH UNWATCH (Redis's multi.c).
//!
//! MULTI switches the client to queueing: [`crate::exec::pipeline::execute`]
//! answers `+QUEUED` to every command but MULTI/EXEC/DISCARD/WATCH/QUIT,
//! after looking it up and checking its arity (a failure there answers the
//! error and makes EXEC answer EXECABORT).
//!
//! EXEC is atomic across shards by the same lock-order rule as a multi-key
//! command: it locks the union of the shards of every queued command's keys
//! and of the watched keys, in ascending order (every shard if a queued
//! command needs the whole keyspace), checks the watched keys, runs the
//! queue and only then unlocks. No other client can observe or interleave
//! with a half-done transaction.
//!
//! WATCH: every database part of a shard keeps, for the keys some client
//! watches, a version bumped on each modification ([`crate::keyspace::Db::touch`]:
//! write commands on their keys, sets, deletes, lazy and active expiry,
//! FLUSHDB/FLUSHALL/SWAPDB). WATCH records the version; EXEC compares under
//! its locks, after expiring the watched keys lazily (so a key that expired
//! since WATCH is a modification, as in Redis 7), and answers a null array
//! if any changed.

use super::context::Ctx;
use super::pipeline;
use super::table::{flags, Locks};
use crate::server::{Client, Server};
use bytes::Bytes;

const EXECABORT: &str = "EXECABORT Transaction discarded because of previous errors.";

/// MULTI
pub fn multi(ctx: &mut Ctx, _argv: &[&[u8]]) {
    if ctx.client.multi.is_some() {
        return ctx.out.error("ERR MULTI calls can not be nested");
    }
    ctx.client.multi = Some(Vec::new());
    ctx.client.multi_error = false;
    ctx.out.ok();
}

/// DISCARD
pub fn discard(ctx: &mut Ctx, _argv: &[&[u8]]) {
    if ctx.client.multi.take().is_none() {
        return ctx.out.error("ERR DISCARD without MULTI");
    }
    ctx.client.multi_error = false;
    unwatch_all(ctx.server, ctx.client);
    ctx.out.ok();
}

/// WATCH key [key ...] (the dispatcher locked the keys' shards).
pub fn watch(ctx: &mut Ctx, argv: &[&[u8]]) {
    if ctx.client.multi.is_some() {
        return ctx.out.error("ERR WATCH inside MULTI is not allowed");
    }
    let (dbi, now) = (ctx.client.db, ctx.now);
    for &key in &argv[1..] {
        if ctx
            .client
            .watched
            .iter()
            .any(|(d, k, _)| *d == dbi && k.as_ref() == key)
        {
            continue;
        }
        let db = ctx.ks.db(dbi, key);
        // Expire it first: a key already expired is simply absent.
        db.get(key, now);
        let version = db.watch(key);
        ctx.client
            .watched
            .push((dbi, Bytes::copy_from_slice(key), version));
    }
    ctx.out.ok();
}

/// UNWATCH
pub fn unwatch(ctx: &mut Ctx, _argv: &[&[u8]]) {
    unwatch_all(ctx.server, ctx.client);
    ctx.out.ok();
}

/// Whether the client's transaction queued a write command (EXEC is then
/// refused where a write would be, as Redis's `mstate.cmd_flags`).
pub fn queued_writes(client: &Client) -> bool {
    client
        .multi
        .as_ref()
        .is_some_and(|q| q.iter().any(|(c, _)| c.has(flags::WRITE)))
}

/// Forgets the client's watched keys (locking their shards).
pub fn unwatch_all(server: &Server, client: &mut Client) {
    if client.watched.is_empty() {
        return;
    }
    let watched = std::mem::take(&mut client.watched);
    let mut ids: Vec<usize> = watched
        .iter()
        .map(|(_, k, _)| server.ks.shard_of(k))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let mut locked = server.ks.lock(&ids);
    for (db, k, _) in &watched {
        locked.db(*db, k).unwatch(k);
    }
}

/// The connection is gone: drop its transaction and watches.
pub fn client_gone(server: &Server, client: &mut Client) {
    client.multi = None;
    unwatch_all(server, client);
}

/// EXEC
pub fn exec(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let Some(queue) = ctx.client.multi.take() else {
        return ctx.out.error("ERR EXEC without MULTI");
    };
    let server = ctx.server;
    if std::mem::take(&mut ctx.client.multi_error) {
        unwatch_all(server, ctx.client);
        return ctx.out.error(EXECABORT);
    }
    // The union of the shards: queued commands' keys and watched keys.
    let all = queue.iter().any(|(c, _)| c.locks != Locks::Keys);
    let mut locked = if all {
        server.ks.lock_all()
    } else {
        let mut ids: Vec<usize> = ctx
            .client
            .watched
            .iter()
            .map(|(_, k, _)| server.ks.shard_of(k))
            .collect();
        for (c, args) in &queue {
            let argv: Vec<&[u8]> = args.iter().map(|a| a.as_ref()).collect();
            pipeline::shards_of(server, c, &argv, &mut ids);
        }
        ids.sort_unstable();
        ids.dedup();
        server.ks.lock(&ids)
    };
    let start_us = crate::util::now_us();
    let now = start_us / 1000;
    let watched = std::mem::take(&mut ctx.client.watched);
    let mut changed = false;
    for (dbi, k, version) in &watched {
        let db = locked.db(*dbi, k);
        db.get(k, now);
        changed |= db.watch_version(k) != *version;
        db.unwatch(k);
    }
    // Watched keys that expired just now: their DELs are propagated
    // first, on their own.
    pipeline::note_expired(&mut locked, ctx.fx);
    pipeline::propagate(ctx.server, ctx.fx);
    if changed {
        return ctx.out.null_array();
    }
    ctx.out.array(queue.len());
    let mut inner = Ctx {
        server,
        client: &mut *ctx.client,
        out: &mut *ctx.out,
        ks: locked,
        now,
        start_us,
        rng: &mut *ctx.rng,
        fx: &mut *ctx.fx,
    };
    // A blocking command inside EXEC answers at once, as timed out.
    inner.client.deny_blocking = true;
    // What the queued commands propagate goes out as one MULTI ... EXEC
    // block, before the locks go.
    inner.fx.transaction = true;
    for (c, args) in &queue {
        let argv: Vec<&[u8]> = args.iter().map(|a| a.as_ref()).collect();
        pipeline::call(c, &mut inner, &argv);
    }
    inner.client.deny_blocking = false;
    pipeline::finish(&mut inner);
}
