//! Key-space commands (Redis's db.c, expire.c and object.c): DEL EXISTS
//! TYPE RENAME COPY MOVE, the EXPIRE family and TTLs, KEYS, SCAN (and the
//! HSCAN/SSCAN cursors), DBSIZE, RANDOMKEY, FLUSHDB/FLUSHALL, SWAPDB, OBJECT.

use crate::exec::context::Ctx;
use crate::exec::notify::class;
use crate::proto::reply::err;
use crate::types::{Str, Value};
use crate::util::{glob_match, parse_i64};

/// DEL / UNLINK key [key ...]: how many existed. (UNLINK frees in the
/// foreground too: values are freed in O(size) either way for now.)
pub fn del(ctx: &mut Ctx, argv: &[&[u8]]) {
    let now = ctx.now;
    let mut n = 0;
    for &k in &argv[1..] {
        let db = ctx.db(k);
        if db.contains(k, now) {
            db.remove(k);
            ctx.changed(class::GENERIC, "del", k);
            n += 1;
        }
    }
    ctx.out.int(n);
}

/// EXISTS / TOUCH key [key ...]: how many exist (a key named twice counts
/// twice).
pub fn exists(ctx: &mut Ctx, argv: &[&[u8]]) {
    let now = ctx.now;
    let n = argv[1..]
        .iter()
        .filter(|&&k| ctx.db(k).contains(k, now))
        .count();
    ctx.out.int(n as i64);
}

/// TOUCH key [key ...]: EXISTS that counts as an access of each key
/// (OBJECT IDLETIME / FREQ), as Redis's lookupKeyRead.
pub fn touch(ctx: &mut Ctx, argv: &[&[u8]]) {
    let now = ctx.now;
    let n = argv[1..]
        .iter()
        .filter(|&&k| ctx.db(k).get(k, now).is_some())
        .count();
    ctx.out.int(n as i64);
}

/// TYPE key (not an access: Redis looks up with LOOKUP_NOTOUCH).
pub fn type_(ctx: &mut Ctx, argv: &[&[u8]]) {
    let now = ctx.now;
    let t = ctx
        .db(argv[1])
        .peek(argv[1], now)
        .map_or("none", |e| e.value.type_name());
    ctx.out.simple(t);
}

fn rename_generic(ctx: &mut Ctx, argv: &[&[u8]], nx: bool) {
    let (from, to) = (argv[1], argv[2]);
    let now = ctx.now;
    if !ctx.db(from).contains(from, now) {
        return ctx.out.error(err::NO_SUCH_KEY);
    }
    if from == to {
        return if nx { ctx.out.int(0) } else { ctx.out.ok() };
    }
    if ctx.db(to).contains(to, now) {
        if nx {
            return ctx.out.int(0);
        }
        ctx.db(to).remove(to);
    }
    // Both shards are locked: the key moves atomically, TTL included.
    if let Some((value, expire)) = ctx.db(from).take(from, now) {
        let now = ctx.now;
        ctx.db(to).set(to, value, expire, now);
    }
    ctx.changed(class::GENERIC, "rename_from", from);
    ctx.modified(to);
    ctx.notify(class::GENERIC, "rename_to", to);
    if nx {
        ctx.out.int(1)
    } else {
        ctx.out.ok()
    }
}

/// RENAME key newkey
pub fn rename(ctx: &mut Ctx, argv: &[&[u8]]) {
    rename_generic(ctx, argv, false);
}

/// RENAMENX key newkey
pub fn renamenx(ctx: &mut Ctx, argv: &[&[u8]]) {
    rename_generic(ctx, argv, true);
}

/// EXPIRE and friends: `key when [NX|XX|GT|LT]`, `when` relative or
/// absolute, in seconds or ms (Redis's expireGenericCommand).
fn expire_generic(ctx: &mut Ctx, argv: &[&[u8]], cmd: &str, seconds: bool, absolute: bool) {
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for &o in &argv[3..] {
        match o.to_ascii_lowercase().as_slice() {
            b"nx" => nx = true,
            b"xx" => xx = true,
            b"gt" => gt = true,
            b"lt" => lt = true,
            _ => {
                let mut m = b"ERR Unsupported option ".to_vec();
                m.extend_from_slice(o);
                return ctx.out.error_bytes(&m);
            }
        }
    }
    if nx && (xx || gt || lt) {
        return ctx
            .out
            .error("ERR NX and XX, GT or LT options at the same time are not compatible");
    }
    if gt && lt {
        return ctx
            .out
            .error("ERR GT and LT options at the same time are not compatible");
    }
    let Some(mut when) = parse_i64(argv[2]) else {
        return ctx.out.error(err::NOT_INTEGER);
    };
    let invalid = format!("ERR invalid expire time in '{cmd}' command");
    if seconds {
        if !(i64::MIN / 1000..=i64::MAX / 1000).contains(&when) {
            return ctx.out.error(&invalid);
        }
        when *= 1000;
    }
    if !absolute {
        match when.checked_add(ctx.now as i64) {
            Some(w) => when = w,
            None => return ctx.out.error(&invalid),
        }
    }
    let key = argv[1];
    let now = ctx.now;
    // Propagated as the absolute deadline it set, or as the DEL.
    ctx.propagate_nothing();
    let db = ctx.db(key);
    if !db.contains(key, now) {
        return ctx.out.int(0);
    }
    let current = db.expire_at(key).map(|t| t as i64);
    let refused = (nx && current.is_some())
        || (xx && current.is_none())
        // No TTL counts as an infinite one: never "greater" than it.
        || (gt && !matches!(current, Some(c) if when > c))
        || (lt && current.is_some_and(|c| when >= c));
    if refused {
        return ctx.out.int(0);
    }
    if when <= now as i64 {
        db.remove(key);
        ctx.changed(class::GENERIC, "del", key);
        ctx.propagate(&[b"DEL", key]);
    } else {
        db.set_expire(key, Some(when as u64));
        ctx.changed(class::GENERIC, "expire", key);
        if ctx.propagating() {
            let at = when.to_string();
            ctx.propagate(&[b"PEXPIREAT", key, at.as_bytes()]);
        }
    }
    ctx.out.int(1);
}

pub fn expire(ctx: &mut Ctx, argv: &[&[u8]]) {
    expire_generic(ctx, argv, "expire", true, false);
}

pub fn pexpire(ctx: &mut Ctx, argv: &[&[u8]]) {
    expire_generic(ctx, argv, "pexpire", false, false);
}

pub fn expireat(ctx: &mut Ctx, argv: &[&[u8]]) {
    expire_generic(ctx, argv, "expireat", true, true);
}

pub fn pexpireat(ctx: &mut Ctx, argv: &[&[u8]]) {
    expire_generic(ctx, argv, "pexpireat", false, true);
}

/// TTL family: -2 no key, -1 no deadline, else remaining (or absolute)
/// time, in ms or rounded seconds.
fn ttl_generic(ctx: &mut Ctx, argv: &[&[u8]], ms: bool, absolute: bool) {
    let now = ctx.now;
    let db = ctx.db(argv[1]);
    if !db.contains(argv[1], now) {
        return ctx.out.int(-2);
    }
    let at = match db.expire_at(argv[1]) {
        None => return ctx.out.int(-1),
        Some(at) => at as i64,
    };
    let t = if absolute {
        at
    } else {
        (at - now as i64).max(0)
    };
    // Rounded to the nearest second without overflowing at i64::MAX (a
    // PEXPIREAT far in the future).
    ctx.out.int(if ms {
        t
    } else {
        ((t as i128 + 500) / 1000) as i64
    });
}

pub fn ttl(ctx: &mut Ctx, argv: &[&[u8]]) {
    ttl_generic(ctx, argv, false, false);
}

pub fn pttl(ctx: &mut Ctx, argv: &[&[u8]]) {
    ttl_generic(ctx, argv, true, false);
}

pub fn expiretime(ctx: &mut Ctx, argv: &[&[u8]]) {
    ttl_generic(ctx, argv, false, true);
}

pub fn pexpiretime(ctx: &mut Ctx, argv: &[&[u8]]) {
    ttl_generic(ctx, argv, true, true);
}

/// PERSIST key: 1 if a deadline was removed.
pub fn persist(ctx: &mut Ctx, argv: &[&[u8]]) {
    let now = ctx.now;
    let db = ctx.db(argv[1]);
    let had = db.contains(argv[1], now) && db.expire_at(argv[1]).is_some();
    if had {
        db.set_expire(argv[1], None);
        ctx.changed(class::GENERIC, "persist", argv[1]);
    }
    ctx.out.int(had as i64);
}

/// KEYS pattern: every shard is locked, so this is a consistent snapshot
/// (and, as in Redis, O(keys): not for production use on big data sets).
pub fn keys(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (pat, now, db) = (argv[1], ctx.now, ctx.client.db);
    let all = pat == b"*";
    let found: Vec<bytes::Bytes> = ctx
        .ks
        .dbs(db)
        .into_iter()
        .flat_map(|d| {
            d.keys(now)
                .map(bytes::Bytes::copy_from_slice)
                .collect::<Vec<_>>()
        })
        .filter(|k| all || glob_match(pat, k, false))
        .collect();
    ctx.out.array(found.len());
    for k in &found {
        ctx.out.bulk(k);
    }
}

/// DBSIZE: keys in the selected database (like Redis, this counts keys
/// that have expired but not yet been reclaimed).
pub fn dbsize(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let db = ctx.client.db;
    let n: usize = ctx.ks.dbs(db).into_iter().map(|d| d.len()).sum();
    ctx.out.int(n as i64);
}

/// RANDOMKEY: a random live key of the selected database, or nil.
pub fn randomkey(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let (db, now) = (ctx.client.db, ctx.now);
    let mut parts: Vec<&mut crate::keyspace::Db> =
        ctx.ks.dbs(db).into_iter().filter(|d| d.len() > 0).collect();
    // Pick a non-empty shard at random (weighted by size, so every key is
    // about equally likely), then a key in it.
    let total: usize = parts.iter().map(|d| d.len()).sum();
    let mut found = None;
    if total > 0 {
        let mut pick = ctx.rng.below(total);
        for d in parts.iter_mut() {
            if pick < d.len() {
                found = d.random_key(ctx.rng, now);
                break;
            }
            pick -= d.len();
        }
        if found.is_none() {
            found = parts.iter_mut().find_map(|d| d.random_key(ctx.rng, now));
        }
    }
    match found {
        Some(k) => ctx.out.bulk(&k),
        None => ctx.out.null(),
    }
}

/// FLUSHDB/FLUSHALL's mode (ASYNC frees the old tables on the lazy-free
/// thread): Some(async?), None on a syntax error. With
/// no argument, `lazyfree-lazy-user-flush` decides (as in Redis).
fn flush_mode(ctx: &Ctx, argv: &[&[u8]]) -> Option<bool> {
    match argv.len() {
        1 => Some(
            ctx.server
                .config
                .lazy_user_flush
                .load(std::sync::atomic::Ordering::Relaxed),
        ),
        2 if argv[1].eq_ignore_ascii_case(b"sync") => Some(false),
        2 if argv[1].eq_ignore_ascii_case(b"async") => Some(true),
        _ => None,
    }
}

/// Empties `dbs`: at once, or (ASYNC) by swapping their tables out under
/// the locks we hold and freeing them on the lazy-free thread, so a big
/// flush does not hold the shards while it frees millions of values. The
/// number of keys removed.
fn flush(server: &crate::server::Server, dbs: Vec<&mut crate::keyspace::Db>, lazy: bool) -> u64 {
    let n: usize = dbs.iter().map(|d| d.len()).sum();
    if !lazy {
        dbs.into_iter().for_each(|d| d.clear());
        return n as u64;
    }
    let garbage: Vec<_> = dbs.into_iter().map(|d| d.take_all()).collect();
    server
        .lazyfreed_objects
        .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
    server.lazyfree.free(Box::new(garbage));
    n as u64
}

pub fn flushdb(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(lazy) = flush_mode(ctx, argv) else {
        return ctx.out.error(err::SYNTAX);
    };
    let db = ctx.client.db;
    let dbs = ctx.ks.dbs(db);
    // `dbs` borrows ctx.ks only; flush_dbs needs the server for counters.
    let server = ctx.server;
    let n = flush(server, dbs, lazy);
    crate::exec::tracking::flushed(server, &mut ctx.fx.deliver);
    // Always propagated (Redis forces it), even when nothing was there.
    ctx.dirty(n + 1);
    ctx.out.ok();
}

pub fn flushall(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(lazy) = flush_mode(ctx, argv) else {
        return ctx.out.error(err::SYNTAX);
    };
    let server = ctx.server;
    let dbs: Vec<&mut crate::keyspace::Db> = ctx
        .ks
        .shards()
        .into_iter()
        .flat_map(|s| s.dbs.iter_mut())
        .collect();
    let n = flush(server, dbs, lazy);
    crate::exec::tracking::flushed(server, &mut ctx.fx.deliver);
    ctx.dirty(n + 1);
    ctx.out.ok();
}

/// Parses a SCAN cursor as Redis does (strtoul: an optional sign, digits,
/// nothing else; a negative number wraps, so `-1` is 2^64-1).
fn parse_cursor(a: &[u8]) -> Option<u64> {
    let (neg, digits) = match a.first() {
        Some(b'-') => (true, &a[1..]),
        Some(b'+') => (false, &a[1..]),
        _ => (false, a),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(if neg { v.wrapping_neg() } else { v })
}

/// SCAN's and HSCAN/SSCAN's options.
struct ScanOpts<'a> {
    count: usize,
    pattern: Option<&'a [u8]>,
    type_: Option<&'a [u8]>,
}

/// `[MATCH pattern] [COUNT count] [TYPE type]` (TYPE for SCAN only), with
/// Redis's errors; None once the error is replied.
fn scan_opts<'a>(ctx: &mut Ctx, args: &[&'a [u8]], allow_type: bool) -> Option<ScanOpts<'a>> {
    let mut o = ScanOpts {
        count: 10,
        pattern: None,
        type_: None,
    };
    let mut i = 0;
    while i < args.len() {
        let (opt, val) = (args[i], args.get(i + 1).copied());
        match (opt.to_ascii_lowercase().as_slice(), val) {
            (b"count", Some(v)) => match parse_i64(v) {
                None => {
                    ctx.out.error(err::NOT_INTEGER);
                    return None;
                }
                Some(n) if n < 1 => {
                    ctx.out.error(err::SYNTAX);
                    return None;
                }
                Some(n) => o.count = n.min(1 << 30) as usize,
            },
            (b"match", Some(v)) => o.pattern = (v != b"*").then_some(v),
            (b"type", Some(v)) if allow_type => o.type_ = Some(v),
            _ => {
                ctx.out.error(err::SYNTAX);
                return None;
            }
        }
        i += 2;
    }
    Some(o)
}

/// The `[cursor, [elements]]` reply of every SCAN.
fn scan_reply(ctx: &mut Ctx, cursor: u64, items: &[bytes::Bytes]) {
    ctx.out.array(2);
    ctx.out.bulk(cursor.to_string().as_bytes());
    ctx.out.array(items.len());
    items.iter().for_each(|k| ctx.out.bulk(k));
}

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
///
/// The guarantee (every key present for the whole scan is returned at
/// least once; here in fact exactly once) comes from an order that no
/// table operation can change: each key's position is its shard hash
/// ([`crate::keyspace::key_hash`]) rotated so that the shard bits come first,
/// `pos = hash.rotate_right(log2(shards))`. Keys are visited in increasing
/// `pos`, i.e. shard by shard and, within a shard, by the rest of the hash;
/// the cursor is the next `pos` to visit. Inserts, deletes and hashbrown's
/// rehashes (growth or shrink) move entries between buckets but never
/// change a key's `pos`, so a key that stays is always ahead of or behind
/// the cursor, never skipped; keys with an identical 64-bit `pos` are
/// returned in the same call so the cursor never splits them.
///
/// The cost: each call locks only one shard at a time (never the whole
/// keyspace), but scans that shard's keys to pick the next COUNT by `pos`:
/// O(keys in the shard) per call instead of Redis's O(COUNT). (A per-shard
/// ordered index would make it O(COUNT + log n) at a memory cost per key.)
pub fn scan(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(mut cursor) = parse_cursor(argv[1]) else {
        return ctx.out.error("ERR invalid cursor");
    };
    let Some(o) = scan_opts(ctx, &argv[2..], true) else {
        return;
    };
    let ks = &ctx.server.ks;
    let shards = ks.shard_count();
    let bits = shards.trailing_zeros();
    let shift = 64 - bits;
    let shard_of_pos = |p: u64| p.checked_shr(shift).unwrap_or(0) as usize;
    let (dbi, now) = (ctx.client.db, ctx.now);
    let mut found = Vec::new();
    let mut examined = 0;
    loop {
        let shard = shard_of_pos(cursor);
        // Inside EXEC the transaction already holds every shard.
        let mut own;
        let db = if ctx.ks.holds(shard) {
            ctx.ks.shard_db(shard, dbi)
        } else {
            own = ks.lock(&[shard]);
            own.dbs(dbi).pop().expect("one shard locked")
        };
        let mut cand: Vec<(u64, &[u8], &'static str)> = db
            .entries(now)
            .map(|(k, e)| {
                (
                    crate::keyspace::key_hash(k).rotate_right(bits),
                    k,
                    e.value.type_name(),
                )
            })
            .filter(|(p, _, _)| *p >= cursor)
            .collect();
        cand.sort_unstable_by_key(|c| c.0);
        let mut taken = 0;
        while taken < cand.len() {
            let (p, k, t) = cand[taken];
            // Stop at the budget, but never between two keys of equal pos.
            if examined >= o.count && taken > 0 && cand[taken - 1].0 != p {
                break;
            }
            examined += 1;
            taken += 1;
            let keep = o.pattern.is_none_or(|pat| glob_match(pat, k, false))
                && o.type_
                    .is_none_or(|ty| ty.eq_ignore_ascii_case(t.as_bytes()));
            if keep {
                found.push(bytes::Bytes::copy_from_slice(k));
            }
        }
        if taken < cand.len() {
            // Stopped inside this shard: resume right after the last pos.
            cursor = cand[taken - 1].0 + 1;
            break;
        }
        if shard + 1 == shards {
            cursor = 0;
            break;
        }
        cursor = ((shard + 1) as u64) << shift;
        if examined >= o.count {
            break;
        }
    }
    scan_reply(ctx, cursor, &found);
}

/// HSCAN and SSCAN. A collection still in a compact encoding (listpack
/// hash, intset set) is returned whole with cursor 0, as Redis does. A big
/// one is walked by index from the end down: the cursor is how many
/// indices remain below. Our maps remove by swapping the *last* entry into
/// the hole and append new entries at the end, so an entry below the
/// cursor either stays or moves lower (still to be visited), and one above
/// it can only move down (and may then be returned twice): every entry
/// present for the whole scan is returned at least once.
fn collection_scan(ctx: &mut Ctx, argv: &[&[u8]], hash: bool) {
    let Some(cursor) = parse_cursor(argv[2]) else {
        return ctx.out.error("ERR invalid cursor");
    };
    let (key, now, dbi) = (argv[1], ctx.now, ctx.client.db);
    let (len, big) = match ctx.ks.db(dbi, key).get(key, now).map(|e| &mut e.value) {
        None => return scan_reply(ctx, 0, &[]),
        Some(Value::Hash(h)) if hash => (h.map.len(), h.big),
        Some(Value::Set(s)) if !hash => (s.set.len(), s.big),
        Some(_) => return ctx.out.error(err::WRONGTYPE),
    };
    let Some(o) = scan_opts(ctx, &argv[3..], false) else {
        return;
    };
    let (lo, hi) = if big {
        let hi = if cursor == 0 {
            len
        } else {
            (cursor.min(len as u64)) as usize
        };
        (hi.saturating_sub(o.count), hi)
    } else {
        (0, len)
    };
    let keep = |b: &[u8]| o.pattern.is_none_or(|pat| glob_match(pat, b, false));
    let mut items = Vec::new();
    match ctx.ks.db(dbi, key).get(key, now).map(|e| &mut e.value) {
        Some(Value::Hash(h)) => {
            for i in (lo..hi).rev() {
                let (f, v) = h.map.get_index(i).expect("in range");
                if keep(f) {
                    items.push(bytes::Bytes::copy_from_slice(f));
                    items.push(bytes::Bytes::copy_from_slice(v));
                }
            }
        }
        Some(Value::Set(s)) => {
            for i in (lo..hi).rev() {
                if keep(&s.set[i]) {
                    items.push(bytes::Bytes::copy_from_slice(&s.set[i]));
                }
            }
        }
        _ => {}
    }
    // Compact collections come out in their natural order, as Redis: a
    // listpack hash in insertion order, an intset ascending.
    if !big {
        if hash {
            let pairs: Vec<_> = items.chunks(2).rev().flat_map(|c| c.to_vec()).collect();
            items = pairs;
        } else {
            crate::cmd::set::intset_order(&mut items);
        }
    }
    scan_reply(ctx, lo as u64, &items);
}

/// HSCAN key cursor [MATCH pattern] [COUNT count]
pub fn hscan(ctx: &mut Ctx, argv: &[&[u8]]) {
    collection_scan(ctx, argv, true);
}

/// SSCAN key cursor [MATCH pattern] [COUNT count]
pub fn sscan(ctx: &mut Ctx, argv: &[&[u8]]) {
    collection_scan(ctx, argv, false);
}

/// ZSCAN key cursor [MATCH pattern] [COUNT count]: member, score pairs.
/// A listpack-sized set comes whole, in order, with cursor 0 (as Redis);
/// a big one is walked by index of its member map from the end down, with
/// HSCAN's guarantee (see [`collection_scan`]).
pub fn zscan(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(cursor) = parse_cursor(argv[2]) else {
        return ctx.out.error("ERR invalid cursor");
    };
    let (key, now, dbi) = (argv[1], ctx.now, ctx.client.db);
    match ctx.ks.db(dbi, key).get(key, now).map(|e| &e.value) {
        None => return scan_reply(ctx, 0, &[]),
        Some(Value::ZSet(_)) => {}
        Some(_) => return ctx.out.error(err::WRONGTYPE),
    }
    let Some(o) = scan_opts(ctx, &argv[3..], false) else {
        return;
    };
    let keep = |b: &[u8]| o.pattern.is_none_or(|pat| glob_match(pat, b, false));
    let mut items = Vec::new();
    let mut next = 0;
    if let Some(Value::ZSet(z)) = ctx.ks.db(dbi, key).get(key, now).map(|e| &e.value) {
        let mut push = |m: &Str, s: f64| {
            if keep(m) {
                items.push(bytes::Bytes::copy_from_slice(m));
                items.push(bytes::Bytes::from(z.scan_text(s)));
            }
        };
        if z.big {
            let len = z.len();
            let hi = if cursor == 0 {
                len
            } else {
                cursor.min(len as u64) as usize
            };
            let lo = hi.saturating_sub(o.count);
            for i in (lo..hi).rev() {
                let (m, s) = z.dict.get_index(i).expect("in range");
                push(m, *s);
            }
            next = lo as u64;
        } else {
            for (s, m) in z.range(0, z.len()) {
                push(&m, s);
            }
        }
    }
    scan_reply(ctx, next, &items);
}

/// A database number as Redis's getIntFromObject reads it (an int), then
/// range-checked; errors replied.
fn parse_db(ctx: &mut Ctx, a: &[u8], not_int: &str) -> Option<usize> {
    let Some(n) = parse_i64(a).filter(|n| i32::try_from(*n).is_ok()) else {
        ctx.out.error(not_int);
        return None;
    };
    if n < 0 || n as usize >= ctx.server.ks.databases {
        ctx.out.error(err::DB_RANGE);
        return None;
    }
    Some(n as usize)
}

/// `COPY source destination [DB destination-db] [REPLACE]`: 1 if copied.
/// The copy is deep (a later change to one does not show in the other) and
/// keeps the TTL.
pub fn copy(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (src, dst) = (argv[1], argv[2]);
    let mut dst_db = ctx.client.db;
    let mut replace = false;
    let mut j = 3;
    while j < argv.len() {
        if argv[j].eq_ignore_ascii_case(b"replace") {
            replace = true;
        } else if argv[j].eq_ignore_ascii_case(b"db") && j + 1 < argv.len() {
            let Some(d) = parse_db(ctx, argv[j + 1], err::NOT_INTEGER) else {
                return;
            };
            dst_db = d;
            j += 1;
        } else {
            return ctx.out.error(err::SYNTAX);
        }
        j += 1;
    }
    let (now, src_db) = (ctx.now, ctx.client.db);
    if src_db == dst_db && src == dst {
        return ctx
            .out
            .error("ERR source and destination objects are the same");
    }
    let from = ctx.ks.db(src_db, src);
    let Some((value, expire)) = from
        .get(src, now)
        .map(|e| e.value.clone())
        .map(|v| (v, from.expire_at(src)))
    else {
        return ctx.out.int(0);
    };
    let target = ctx.ks.db(dst_db, dst);
    if target.contains_to_write(dst, now) {
        if !replace {
            return ctx.out.int(0);
        }
        target.remove(dst);
    }
    target.set(dst, value, expire, now);
    ctx.changed_in(dst_db, class::GENERIC, "copy_to", dst);
    ctx.out.int(1);
}

/// MOVE key db: 1 if moved (not if the key is missing or already there).
pub fn move_(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(to) = parse_db(ctx, argv[2], err::NOT_INTEGER) else {
        return;
    };
    let (key, now, from) = (argv[1], ctx.now, ctx.client.db);
    if to == from {
        return ctx
            .out
            .error("ERR source and destination objects are the same");
    }
    if !ctx.ks.db(from, key).contains(key, now) || ctx.ks.db(to, key).contains(key, now) {
        return ctx.out.int(0);
    }
    // Same key, same shard: both databases are in the one locked shard.
    if let Some((value, expire)) = ctx.ks.db(from, key).take(key, now) {
        ctx.ks.db(to, key).set(key, value, expire, now);
    }
    ctx.changed_in(from, class::GENERIC, "move_from", key);
    ctx.modified_in(to, key);
    ctx.notify_in(to, class::GENERIC, "move_to", key);
    ctx.out.int(1);
}

/// SWAPDB index1 index2: every shard is locked, so clients see the two
/// databases swap at once.
pub fn swapdb(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(a) = parse_db(ctx, argv[1], "ERR invalid first DB index") else {
        return;
    };
    let Some(b) = parse_db(ctx, argv[2], "ERR invalid second DB index") else {
        return;
    };
    for s in ctx.ks.shards() {
        if a != b {
            let (lo, hi) = s.dbs.split_at_mut(a.max(b));
            crate::keyspace::Db::swap_contents(&mut lo[a.min(b)], &mut hi[0]);
        }
    }
    ctx.dirty(1);
    ctx.out.ok();
}

#[cfg(test)]
mod tests {
    use super::parse_cursor;

    #[test]
    fn cursors_parse_like_strtoul() {
        assert_eq!(parse_cursor(b"0"), Some(0));
        assert_eq!(parse_cursor(b"+7"), Some(7));
        assert_eq!(parse_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551615"), Some(u64::MAX));
        for bad in [&b""[..], b" 0", b"x", b"18446744073709551616", b"1 ", b"-"] {
            assert_eq!(parse_cursor(bad), None, "{bad:?}");
        }
    }
}
