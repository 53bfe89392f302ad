//! Key-space commands (Redis's db.c and expire.c): DEL EXISTS TYPE RENAME,
//! the EXPIRE family and TTLs, KEYS, DBSIZE, RANDOMKEY, FLUSHDB/FLUSHALL.

use crate::command::Ctx;
use crate::reply::err;
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

/// TYPE key
pub fn type_(ctx: &mut Ctx, argv: &[&[u8]]) {
    let now = ctx.now;
    let t = ctx
        .db(argv[1])
        .get(argv[1], now)
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
        ctx.db(to).set(to, value, expire);
    }
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
    let db = ctx.db(key);
    let Some(e) = db.get(key, now) else {
        return ctx.out.int(0);
    };
    let current = e.expire_at().map(|t| t as i64);
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
    } else {
        db.set_expire(key, Some(when as u64));
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
    let at = match ctx.db(argv[1]).get(argv[1], now) {
        None => return ctx.out.int(-2),
        Some(e) => match e.expire_at() {
            None => return ctx.out.int(-1),
            Some(at) => at as i64,
        },
    };
    let t = if absolute {
        at
    } else {
        (at - now as i64).max(0)
    };
    ctx.out.int(if ms { t } else { (t + 500) / 1000 });
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
    let had = db
        .get(argv[1], now)
        .is_some_and(|e| e.expire_at().is_some());
    if had {
        db.set_expire(argv[1], None);
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
        .flat_map(|d| d.keys(now).cloned().collect::<Vec<_>>())
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
    let mut parts: Vec<&mut crate::db::Db> =
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

/// FLUSHDB / FLUSHALL take an optional SYNC or ASYNC (both synchronous here).
fn flush_mode_ok(argv: &[&[u8]]) -> bool {
    match argv.len() {
        1 => true,
        2 => argv[1].eq_ignore_ascii_case(b"sync") || argv[1].eq_ignore_ascii_case(b"async"),
        _ => false,
    }
}

pub fn flushdb(ctx: &mut Ctx, argv: &[&[u8]]) {
    if !flush_mode_ok(argv) {
        return ctx.out.error(err::SYNTAX);
    }
    let db = ctx.client.db;
    ctx.ks.dbs(db).into_iter().for_each(|d| d.clear());
    ctx.out.ok();
}

pub fn flushall(ctx: &mut Ctx, argv: &[&[u8]]) {
    if !flush_mode_ok(argv) {
        return ctx.out.error(err::SYNTAX);
    }
    for s in ctx.ks.shards() {
        s.dbs.iter_mut().for_each(|d| d.clear());
    }
    ctx.out.ok();
}
