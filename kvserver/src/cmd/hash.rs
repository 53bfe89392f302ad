//! Hash commands (Redis's t_hash.c): HSET HSETNX HGET HMSET HMGET HGETALL
//! HDEL HLEN HEXISTS HKEYS HVALS HINCRBY HINCRBYFLOAT HSTRLEN HRANDFIELD.
//! (HSCAN is with the other SCANs in keys.rs.)
//!
//! A hash is a [`HashObj`]: an insertion-ordered map, so small hashes list
//! their fields in the order Redis's listpack does, and HRANDFIELD picks by
//! index in O(1). A hash never stays empty: the last HDEL deletes the key.

use crate::exec::context::Ctx;
use crate::exec::notify::class;
use crate::exec::table::arity_error;
use crate::keyspace::Db;
use crate::proto::reply::err;
use crate::types::{HashObj, Str, Value, WrongType};
use crate::util::{fmt_human, parse_f64, parse_i64};

fn new_hash() -> Value {
    Value::Hash(Box::default())
}

/// The hash at `key` (see [`Db::typed`]).
fn lookup<'a>(db: &'a mut Db, key: &[u8], now: u64) -> Result<Option<&'a mut HashObj>, WrongType> {
    db.typed(key, now, None, Value::as_hash)
}

/// The hash at `key`, created empty if missing: only for commands that
/// will add a field.
fn lookup_create<'a>(db: &'a mut Db, key: &[u8], now: u64) -> Result<&'a mut HashObj, WrongType> {
    db.typed(key, now, Some(new_hash), Value::as_hash)
        .map(|h| h.expect("just created"))
}

/// Runs `f` on the hash at `argv[1]` (None if missing); WRONGTYPE is replied
/// here. Saves every read-only command the same five lines.
fn with_hash(
    ctx: &mut Ctx,
    key: &[u8],
    f: impl FnOnce(Option<&mut HashObj>, &mut crate::proto::reply::Reply, &mut crate::util::Rng),
) {
    let (now, dbi) = (ctx.now, ctx.client.db);
    match lookup(ctx.ks.db(dbi, key), key, now) {
        Err(WrongType) => ctx.out.error(err::WRONGTYPE),
        Ok(h) => f(h, ctx.out, ctx.rng),
    }
}

fn hset_generic(ctx: &mut Ctx, argv: &[&[u8]], name: &str) {
    if argv.len() % 2 != 0 {
        return arity_error(ctx.out, name);
    }
    let (now, dbi, key) = (ctx.now, ctx.client.db, argv[1]);
    let h = match lookup_create(ctx.ks.db(dbi, key), key, now) {
        Ok(h) => h,
        Err(WrongType) => return ctx.out.error(err::WRONGTYPE),
    };
    let mut added = 0;
    for pair in argv[2..].chunks(2) {
        added += h.insert(pair[0], Str::new(pair[1])) as i64;
    }
    ctx.changed(class::HASH, "hset", key);
    ctx.dirty((argv.len() as u64 - 2) / 2 - 1);
    if name == "hset" {
        ctx.out.int(added)
    } else {
        ctx.out.ok()
    }
}

/// HSET key field value [field value ...]: how many fields are new.
pub fn hset(ctx: &mut Ctx, argv: &[&[u8]]) {
    hset_generic(ctx, argv, "hset");
}

/// HMSET key field value [field value ...]: OK (deprecated HSET).
pub fn hmset(ctx: &mut Ctx, argv: &[&[u8]]) {
    hset_generic(ctx, argv, "hmset");
}

/// HSETNX key field value
pub fn hsetnx(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (now, dbi, key) = (ctx.now, ctx.client.db, argv[1]);
    let h = match lookup_create(ctx.ks.db(dbi, key), key, now) {
        Ok(h) => h,
        Err(WrongType) => return ctx.out.error(err::WRONGTYPE),
    };
    if h.map.contains_key(argv[2]) {
        return ctx.out.int(0);
    }
    h.insert(argv[2], Str::new(argv[3]));
    ctx.changed(class::HASH, "hset", key);
    ctx.out.int(1);
}

/// HGET key field
pub fn hget(ctx: &mut Ctx, argv: &[&[u8]]) {
    with_hash(ctx, argv[1], |h, out, _| {
        match h.and_then(|h| h.map.get(argv[2])) {
            Some(v) => out.bulk(v),
            None => out.null(),
        }
    });
}

/// HMGET key field [field ...]: a value or nil per field.
pub fn hmget(ctx: &mut Ctx, argv: &[&[u8]]) {
    with_hash(ctx, argv[1], |h, out, _| {
        out.array(argv.len() - 2);
        for f in &argv[2..] {
            match h.as_ref().and_then(|h| h.map.get(*f)) {
                Some(v) => out.bulk(v),
                None => out.null(),
            }
        }
    });
}

/// HGETALL key: a map in RESP3, flat field/value pairs in RESP2.
pub fn hgetall(ctx: &mut Ctx, argv: &[&[u8]]) {
    with_hash(ctx, argv[1], |h, out, _| {
        let Some(h) = h else { return out.map(0) };
        out.map(h.map.len());
        for (f, v) in &h.map {
            out.bulk(f);
            out.bulk(v);
        }
    });
}

/// HKEYS key
pub fn hkeys(ctx: &mut Ctx, argv: &[&[u8]]) {
    with_hash(ctx, argv[1], |h, out, _| {
        let Some(h) = h else { return out.array(0) };
        out.array(h.map.len());
        h.map.keys().for_each(|f| out.bulk(f));
    });
}

/// HVALS key
pub fn hvals(ctx: &mut Ctx, argv: &[&[u8]]) {
    with_hash(ctx, argv[1], |h, out, _| {
        let Some(h) = h else { return out.array(0) };
        out.array(h.map.len());
        h.map.values().for_each(|v| out.bulk(v));
    });
}

/// HLEN key
pub fn hlen(ctx: &mut Ctx, argv: &[&[u8]]) {
    with_hash(ctx, argv[1], |h, out, _| {
        out.int(h.map_or(0, |h| h.map.len() as i64))
    });
}

/// HEXISTS key field
pub fn hexists(ctx: &mut Ctx, argv: &[&[u8]]) {
    with_hash(ctx, argv[1], |h, out, _| {
        out.int(h.is_some_and(|h| h.map.contains_key(argv[2])) as i64)
    });
}

/// HSTRLEN key field
pub fn hstrlen(ctx: &mut Ctx, argv: &[&[u8]]) {
    with_hash(ctx, argv[1], |h, out, _| {
        out.int(
            h.and_then(|h| h.map.get(argv[2]))
                .map_or(0, |v| v.len() as i64),
        )
    });
}

/// HDEL key field [field ...]: how many were removed; the key goes with
/// its last field.
pub fn hdel(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (now, dbi, key) = (ctx.now, ctx.client.db, argv[1]);
    let db = ctx.ks.db(dbi, key);
    let (n, empty) = match lookup(db, key, now) {
        Err(WrongType) => return ctx.out.error(err::WRONGTYPE),
        Ok(None) => return ctx.out.int(0),
        Ok(Some(h)) => {
            let n = argv[2..].iter().filter(|f| h.remove(f)).count();
            (n, h.map.is_empty())
        }
    };
    if empty {
        db.remove(key);
    }
    if n > 0 {
        ctx.changed(class::HASH, "hdel", key);
        ctx.dirty(n as u64 - 1);
        if empty {
            ctx.notify(class::GENERIC, "del", key);
        }
    }
    ctx.out.int(n as i64);
}

/// HINCRBY key field increment. As in Redis, the increment is checked
/// before the key's type.
pub fn hincrby(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(incr) = parse_i64(argv[3]) else {
        return ctx.out.error(err::NOT_INTEGER);
    };
    let (now, dbi, key) = (ctx.now, ctx.client.db, argv[1]);
    let h = match lookup_create(ctx.ks.db(dbi, key), key, now) {
        Ok(h) => h,
        Err(WrongType) => return ctx.out.error(err::WRONGTYPE),
    };
    let old = match h.map.get(argv[2]) {
        None => 0,
        Some(v) => match parse_i64(v) {
            Some(n) => n,
            None => return ctx.out.error("ERR hash value is not an integer"),
        },
    };
    let Some(new) = old.checked_add(incr) else {
        return ctx.out.error(err::OVERFLOW);
    };
    h.insert(argv[2], Str::new(new.to_string().as_bytes()));
    ctx.changed(class::HASH, "hincrby", key);
    ctx.out.int(new);
}

/// HINCRBYFLOAT key field increment: the result as INCRBYFLOAT formats it.
pub fn hincrbyfloat(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(incr) = parse_f64(argv[3]) else {
        return ctx.out.error(err::NOT_FLOAT);
    };
    if incr.is_infinite() {
        return ctx.out.error("ERR value is NaN or Infinity");
    }
    let (now, dbi, key) = (ctx.now, ctx.client.db, argv[1]);
    let db = ctx.ks.db(dbi, key);
    // Look the old value up before creating the key, so an error leaves no
    // empty hash behind.
    let old = match lookup(db, key, now) {
        Err(WrongType) => return ctx.out.error(err::WRONGTYPE),
        Ok(h) => h.and_then(|h| h.map.get(argv[2]).cloned()),
    };
    let old = match old {
        None => 0.0,
        Some(v) => match parse_f64(&v) {
            Some(x) => x,
            None => return ctx.out.error("ERR hash value is not a float"),
        },
    };
    let new = old + incr;
    if !new.is_finite() {
        return ctx.out.error("ERR increment would produce NaN or Infinity");
    }
    let text = fmt_human(new);
    if let Ok(h) = lookup_create(db, key, now) {
        h.insert(argv[2], Str::new(text.as_bytes()));
    }
    ctx.changed(class::HASH, "hincrbyfloat", key);
    // The result, not the increment: float arithmetic must not be redone.
    ctx.propagate(&[b"HSET", key, argv[2], text.as_bytes()]);
    ctx.out.bulk(text.as_bytes());
}

/// `HRANDFIELD key [count [WITHVALUES]]`: one random field; or `count`
/// distinct fields (all of them if count ≥ size); or, for a negative
/// count, |count| fields that may repeat. With values: flat pairs in
/// RESP2, an array of [field, value] pairs in RESP3 (as Redis 7).
pub fn hrandfield(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() == 2 {
        return with_hash(ctx, argv[1], |h, out, rng| match h {
            Some(h) if !h.map.is_empty() => {
                let i = rng.below(h.map.len());
                out.bulk(h.map.get_index(i).expect("in range").0)
            }
            _ => out.null(),
        });
    }
    let Some(count) = parse_i64(argv[2]) else {
        return ctx.out.error(err::NOT_INTEGER);
    };
    let withvalues = match argv.len() {
        3 => false,
        4 if argv[3].eq_ignore_ascii_case(b"withvalues") => true,
        _ => return ctx.out.error(err::SYNTAX),
    };
    if count == i64::MIN {
        return ctx.out.error(crate::cmd::set::COUNT_RANGE);
    }
    if crate::cmd::set::too_many_repeats(count) {
        return ctx.out.error(crate::cmd::set::REPEATS_RANGE);
    }
    with_hash(ctx, argv[1], |h, out, rng| {
        let Some(h) = h else { return out.array(0) };
        let len = h.map.len();
        let picks: Vec<usize> = if count < 0 {
            (0..count.unsigned_abs()).map(|_| rng.below(len)).collect()
        } else if count as u64 >= len as u64 {
            (0..len).collect()
        } else {
            crate::util::distinct_indices(rng, len, count as usize)
        };
        let resp3 = out.resp3();
        out.array(if withvalues && !resp3 {
            picks.len() * 2
        } else {
            picks.len()
        });
        for i in picks {
            let (f, v) = h.map.get_index(i).expect("in range");
            if withvalues && resp3 {
                out.array(2);
            }
            out.bulk(f);
            if withvalues {
                out.bulk(v);
            }
        }
    });
}
