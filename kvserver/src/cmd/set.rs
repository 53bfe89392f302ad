//! Set commands (Redis's t_set.c): SADD SREM SMEMBERS SISMEMBER SMISMEMBER
//! SCARD SPOP SRANDMEMBER SMOVE, and the algebra SINTER SINTERCARD SUNION
//! SDIFF with their STORE forms. (SSCAN is with the other SCANs in keys.rs.)
//!
//! A set is a [`SetObj`], its members by position: SPOP and SRANDMEMBER
//! pick by index in O(1). A set never stays empty: removing the last
//! member deletes the key. Whole sets are listed in hash order, except
//! what Redis 7.0 would hold as an intset (at most 512 integers), which
//! Redis lists in ascending order and so do we ([`intset_order`]).
//!
//! Atomicity across shards: SMOVE and the multi-key commands hold every
//! involved key's shard for their whole run (the pipeline locks them in
//! ascending order, see [`crate::keyspace`]), so no client ever sees a member in
//! both sets of an SMOVE, or a half-written STORE destination.

use crate::exec::context::Ctx;
use crate::exec::notify::class;
use crate::keyspace::Db;
use crate::proto::reply::{err, Reply};
use crate::types::{SetObj, Str, Value, WrongType};
use crate::util::{distinct_indices, parse_i64};

/// Sorts `members` ascending if Redis 7.0 would keep them as an intset
/// (at most 512 members, all integers), whose iteration order is sorted:
/// SMEMBERS, SSCAN, and the algebra replies of such sets look like Redis's.
/// Any other set is left in its (hash) order.
pub fn intset_order<M: AsRef<[u8]>>(members: &mut [M]) {
    if members.len() <= crate::types::encoding::set_max_intset_entries()
        && members.iter().all(|m| parse_i64(m.as_ref()).is_some())
    {
        members.sort_by_cached_key(|m| parse_i64(m.as_ref()));
    }
}

/// Every member of `s` as bulk strings (the caller wrote the header): an
/// intset ascending, any other set straight from the table.
fn list_members(s: &SetObj, out: &mut Reply) {
    if s.big {
        s.set.iter().for_each(|m| out.bulk(m));
    } else {
        let mut members: Vec<&Str> = s.set.iter().collect();
        intset_order(&mut members);
        members.into_iter().for_each(|m| out.bulk(m));
    }
}

fn new_set() -> Value {
    Value::Set(Box::default())
}

fn lookup<'a>(db: &'a mut Db, key: &[u8], now: u64) -> Result<Option<&'a mut SetObj>, WrongType> {
    db.typed(key, now, None, Value::as_set)
}

fn lookup_create<'a>(db: &'a mut Db, key: &[u8], now: u64) -> Result<&'a mut SetObj, WrongType> {
    db.typed(key, now, Some(new_set), Value::as_set)
        .map(|s| s.expect("just created"))
}

/// Runs `f` on the set at `key` (None if missing); replies WRONGTYPE itself.
fn with_set(
    ctx: &mut Ctx,
    key: &[u8],
    f: impl FnOnce(Option<&mut SetObj>, &mut Reply, &mut crate::util::Rng),
) {
    let (now, dbi) = (ctx.now, ctx.client.db);
    match lookup(ctx.ks.db(dbi, key), key, now) {
        Err(WrongType) => ctx.out.error(err::WRONGTYPE),
        Ok(s) => f(s, ctx.out, ctx.rng),
    }
}

/// Redis's error for a count outside ±LONG_MAX (SRANDMEMBER, HRANDFIELD).
pub const COUNT_RANGE: &str =
    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";
pub const MUST_BE_POSITIVE: &str = "ERR value is out of range, must be positive";

/// The most elements a negative count (repeats allowed) of SRANDMEMBER,
/// HRANDFIELD and ZRANDMEMBER may ask for. Redis has no bound: it builds
/// the whole reply, and `SRANDMEMBER key -9223372036854775807` gets
/// redis-server 7.0 killed for memory. A 40-byte request asking for more
/// than 16,777,216 elements is refused here instead.
pub const REPEATS_MAX: u64 = 1 << 24;
pub const REPEATS_RANGE: &str =
    "ERR value is out of range, a negative count may ask for at most 16777216 elements";

/// Whether `count` is a negative count beyond [`REPEATS_MAX`].
pub fn too_many_repeats(count: i64) -> bool {
    count < 0 && count.unsigned_abs() > REPEATS_MAX
}

/// SADD key member [member ...]: how many were new.
pub fn sadd(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (now, dbi, key) = (ctx.now, ctx.client.db, argv[1]);
    match lookup_create(ctx.ks.db(dbi, key), key, now) {
        Err(WrongType) => ctx.out.error(err::WRONGTYPE),
        Ok(s) => {
            let n = argv[2..].iter().filter(|m| s.insert(m)).count();
            if n > 0 {
                ctx.changed(class::SET, "sadd", key);
                ctx.dirty(n as u64 - 1);
            }
            ctx.out.int(n as i64)
        }
    }
}

/// SREM key member [member ...]: how many were removed.
pub fn srem(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (now, dbi, key) = (ctx.now, ctx.client.db, argv[1]);
    let db = ctx.ks.db(dbi, key);
    let (n, empty) = match lookup(db, key, now) {
        Err(WrongType) => return ctx.out.error(err::WRONGTYPE),
        Ok(None) => return ctx.out.int(0),
        Ok(Some(s)) => {
            let n = argv[2..].iter().filter(|m| s.remove(m)).count();
            (n, s.set.is_empty())
        }
    };
    if empty {
        db.remove(key);
    }
    if n > 0 {
        ctx.changed(class::SET, "srem", key);
        ctx.dirty(n as u64 - 1);
        if empty {
            ctx.notify(class::GENERIC, "del", key);
        }
    }
    ctx.out.int(n as i64);
}

/// SMEMBERS key: a set in RESP3.
pub fn smembers(ctx: &mut Ctx, argv: &[&[u8]]) {
    with_set(ctx, argv[1], |s, out, _| {
        let Some(s) = s else { return out.set(0) };
        out.set(s.set.len());
        list_members(s, out);
    });
}

/// SISMEMBER key member
pub fn sismember(ctx: &mut Ctx, argv: &[&[u8]]) {
    with_set(ctx, argv[1], |s, out, _| {
        out.int(s.is_some_and(|s| s.set.contains(argv[2])) as i64)
    });
}

/// SMISMEMBER key member [member ...]: 1 or 0 per member.
pub fn smismember(ctx: &mut Ctx, argv: &[&[u8]]) {
    with_set(ctx, argv[1], |s, out, _| {
        out.array(argv.len() - 2);
        for m in &argv[2..] {
            out.int(s.as_ref().is_some_and(|s| s.set.contains(m)) as i64);
        }
    });
}

/// SCARD key
pub fn scard(ctx: &mut Ctx, argv: &[&[u8]]) {
    with_set(ctx, argv[1], |s, out, _| {
        out.int(s.map_or(0, |s| s.set.len() as i64))
    });
}

/// `SPOP key [count]`: removes and returns one random member (bulk), or
/// `count` distinct ones (a set in RESP3); the key goes with the last.
pub fn spop(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() > 3 {
        return ctx.out.error(err::SYNTAX);
    }
    let count = match argv.get(2) {
        None => None,
        Some(a) => match parse_i64(a) {
            Some(n) if n >= 0 => Some(n as u64),
            _ => return ctx.out.error(MUST_BE_POSITIVE),
        },
    };
    let (now, dbi, key) = (ctx.now, ctx.client.db, argv[1]);
    let db = ctx.ks.db(dbi, key);
    let s = match lookup(db, key, now) {
        Err(WrongType) => return ctx.out.error(err::WRONGTYPE),
        Ok(None) => {
            ctx.propagate_nothing();
            return match count {
                None => ctx.out.null(),
                Some(_) => ctx.out.set(0),
            };
        }
        Ok(Some(s)) => s,
    };
    let popped: Vec<Str> = match count {
        None => {
            let i = ctx.rng.below(s.set.len());
            vec![s.set.swap_remove_index(i).expect("in range")]
        }
        Some(n) if n >= s.set.len() as u64 => {
            let mut all: Vec<Str> = s.set.drain().collect();
            intset_order(&mut all);
            all
        }
        Some(n) => (0..n)
            .map(|_| {
                let i = ctx.rng.below(s.set.len());
                s.set.swap_remove_index(i).expect("in range")
            })
            .collect(),
    };
    let emptied = s.set.is_empty();
    if emptied {
        db.remove(key);
    }
    if !popped.is_empty() {
        ctx.changed(class::SET, "spop", key);
        ctx.dirty(popped.len() as u64 - 1);
        if emptied {
            ctx.notify(class::GENERIC, "del", key);
        }
    }
    // The random picks are propagated as what they removed.
    if popped.is_empty() {
        ctx.propagate_nothing();
    } else if ctx.propagating() {
        let mut srem: Vec<&[u8]> = vec![b"SREM", key];
        srem.extend(popped.iter().map(|m| &m[..]));
        ctx.propagate(&srem);
    }
    match count {
        None => ctx.out.bulk(&popped[0]),
        Some(_) => {
            ctx.out.set(popped.len());
            popped.iter().for_each(|m| ctx.out.bulk(m));
        }
    }
}

/// `SRANDMEMBER key [count]`: like SPOP without removing; a negative count
/// allows repeats. The counted form is an array (not a set) even in RESP3,
/// as in Redis, since it may repeat.
pub fn srandmember(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() > 3 {
        return ctx.out.error(err::SYNTAX);
    }
    let count = match argv.get(2) {
        None => None,
        Some(a) => match parse_i64(a) {
            None => return ctx.out.error(err::NOT_INTEGER),
            Some(i64::MIN) => return ctx.out.error(COUNT_RANGE),
            Some(n) if too_many_repeats(n) => return ctx.out.error(REPEATS_RANGE),
            Some(n) => Some(n),
        },
    };
    with_set(ctx, argv[1], |s, out, rng| {
        let Some(s) = s else {
            return match count {
                None => out.null(),
                Some(_) => out.array(0),
            };
        };
        let len = s.set.len();
        let picks: Vec<usize> = match count {
            None => return out.bulk(&s.set[rng.below(len)]),
            Some(n) if n < 0 => (0..n.unsigned_abs()).map(|_| rng.below(len)).collect(),
            Some(n) if n as u64 >= len as u64 => {
                // The whole set, listed as SMEMBERS lists it.
                out.array(len);
                return list_members(s, out);
            }
            Some(n) => distinct_indices(rng, len, n as usize),
        };
        out.array(picks.len());
        picks.into_iter().for_each(|i| out.bulk(&s.set[i]));
    });
}

/// SMOVE source destination member: 1 if moved. Both keys' shards are
/// held, so the member is never seen in both sets or in neither.
pub fn smove(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (now, dbi) = (ctx.now, ctx.client.db);
    let (src, dst, m) = (argv[1], argv[2], argv[3]);
    // Redis: a missing source answers 0 before the types are checked.
    let src_has = match lookup(ctx.ks.db(dbi, src), src, now) {
        Ok(None) => return ctx.out.int(0),
        Err(WrongType) => return ctx.out.error(err::WRONGTYPE),
        Ok(Some(s)) => s.set.contains(m),
    };
    if lookup(ctx.ks.db(dbi, dst), dst, now).is_err() {
        return ctx.out.error(err::WRONGTYPE);
    }
    if src == dst || !src_has {
        return ctx.out.int(src_has as i64);
    }
    let db = ctx.ks.db(dbi, src);
    let mut emptied = false;
    if let Ok(Some(s)) = lookup(db, src, now) {
        s.remove(m);
        if s.set.is_empty() {
            db.remove(src);
            emptied = true;
        }
    }
    ctx.changed(class::SET, "srem", src);
    if emptied {
        ctx.notify(class::GENERIC, "del", src);
    }
    let added = match lookup_create(ctx.ks.db(dbi, dst), dst, now) {
        Ok(d) => d.insert(m),
        Err(_) => false,
    };
    if added {
        ctx.changed(class::SET, "sadd", dst);
    }
    ctx.out.int(1);
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Inter,
    Union,
    Diff,
}

/// The members of `op` over `keys`. Every key's type is checked first, as
/// Redis 7.0 does (a wrong type is an error even where a missing key makes
/// an intersection empty). Err after WRONGTYPE.
/// Members are `Str` clones (a copy without allocation for a short one).
fn compute(ctx: &mut Ctx, keys: &[&[u8]], op: Op) -> Result<Vec<Str>, ()> {
    let (now, dbi) = (ctx.now, ctx.client.db);
    let mut sizes = Vec::with_capacity(keys.len());
    for &k in keys {
        match lookup(ctx.ks.db(dbi, k), k, now) {
            Err(WrongType) => {
                ctx.out.error(err::WRONGTYPE);
                return Err(());
            }
            Ok(s) => sizes.push(s.map(|s| s.set.len())),
        }
    }
    // A missing key is an empty set: nothing survives an intersection.
    if op == Op::Inter && sizes.contains(&None) {
        return Ok(Vec::new());
    }
    let members = |ctx: &mut Ctx, k: &[u8]| -> Vec<Str> {
        match lookup(ctx.ks.db(dbi, k), k, now) {
            Ok(Some(s)) => s.set.iter().cloned().collect(),
            _ => Vec::new(),
        }
    };
    // Each key was looked up (and counted as a keyspace hit or miss) once
    // above, as Redis does; the second reads below are not lookups of
    // Redis's.
    let counted = std::mem::replace(&mut ctx.ks.count_lookups, false);
    let result = match op {
        Op::Inter => {
            // Start from the smallest set; keep what every other set has.
            let (small, _) = sizes
                .iter()
                .enumerate()
                .min_by_key(|(_, n)| n.unwrap_or(0))
                .expect("at least one key");
            let mut acc = members(ctx, keys[small]);
            for (j, &k) in keys.iter().enumerate() {
                if j == small || acc.is_empty() {
                    continue;
                }
                if let Ok(Some(s)) = lookup(ctx.ks.db(dbi, k), k, now) {
                    acc.retain(|m| s.set.contains(m));
                }
            }
            acc
        }
        Op::Union => {
            let mut acc = indexmap::IndexSet::<Str, crate::types::Hasher>::default();
            for &k in keys {
                acc.extend(members(ctx, k));
            }
            acc.into_iter().collect()
        }
        Op::Diff => {
            let mut acc: indexmap::IndexSet<Str, crate::types::Hasher> =
                members(ctx, keys[0]).into_iter().collect();
            for &k in &keys[1..] {
                if acc.is_empty() {
                    break;
                }
                if let Ok(Some(s)) = lookup(ctx.ks.db(dbi, k), k, now) {
                    acc.retain(|m| !s.set.contains(m));
                }
            }
            acc.into_iter().collect()
        }
    };
    ctx.ks.count_lookups = counted;
    Ok(result)
}

fn algebra(ctx: &mut Ctx, keys: &[&[u8]], op: Op) {
    if let Ok(mut r) = compute(ctx, keys, op) {
        intset_order(&mut r);
        ctx.out.set(r.len());
        r.iter().for_each(|m| ctx.out.bulk(m));
    }
}

/// The STORE forms: the result replaces `dst` whatever it held (its TTL
/// too); an empty result deletes it. Replies the result's size.
fn algebra_store(ctx: &mut Ctx, dst: &[u8], keys: &[&[u8]], op: Op) {
    let Ok(r) = compute(ctx, keys, op) else {
        return;
    };
    let n = r.len();
    let now = ctx.now;
    // A result replaces the value and its TTL (an overwrite, not a new
    // key, as Redis's setKey); no result deletes the destination.
    let db = ctx.ks.db(ctx.client.db, dst);
    if n > 0 {
        let mut s = SetObj::default();
        r.into_iter().for_each(|m| {
            s.insert_str(m);
        });
        db.set(dst, Value::Set(Box::new(s)), None, now);
        let event = match op {
            Op::Inter => "sinterstore",
            Op::Union => "sunionstore",
            Op::Diff => "sdiffstore",
        };
        ctx.changed(class::SET, event, dst);
    } else if db.remove(dst).is_some() {
        ctx.changed(class::GENERIC, "del", dst);
    }
    ctx.out.int(n as i64);
}

pub fn sinter(ctx: &mut Ctx, argv: &[&[u8]]) {
    algebra(ctx, &argv[1..], Op::Inter);
}

pub fn sunion(ctx: &mut Ctx, argv: &[&[u8]]) {
    algebra(ctx, &argv[1..], Op::Union);
}

pub fn sdiff(ctx: &mut Ctx, argv: &[&[u8]]) {
    algebra(ctx, &argv[1..], Op::Diff);
}

pub fn sinterstore(ctx: &mut Ctx, argv: &[&[u8]]) {
    algebra_store(ctx, argv[1], &argv[2..], Op::Inter);
}

pub fn sunionstore(ctx: &mut Ctx, argv: &[&[u8]]) {
    algebra_store(ctx, argv[1], &argv[2..], Op::Union);
}

pub fn sdiffstore(ctx: &mut Ctx, argv: &[&[u8]]) {
    algebra_store(ctx, argv[1], &argv[2..], Op::Diff);
}

/// The keys of a numkeys-style command, and the arguments after them.
pub type KeysAndRest<'a, 'b> = (&'b [&'a [u8]], &'b [&'a [u8]]);

/// Parses `numkeys key [key ...]` as SINTERCARD, LMPOP (and later ZMPOP...)
/// take it: Redis's errors for a bad count (a count past the arguments is
/// "Number of keys..." for SINTERCARD, a syntax error for the *MPOPs, which
/// need an argument after the keys). Returns the keys and the rest.
pub fn numkeys<'a, 'b>(
    out: &mut Reply,
    argv: &'b [&'a [u8]],
    mpop: bool,
) -> Option<KeysAndRest<'a, 'b>> {
    let n = match parse_i64(argv[1]) {
        Some(n) if n > 0 => n as u64,
        _ => {
            out.error("ERR numkeys should be greater than 0");
            return None;
        }
    };
    if mpop && n >= (argv.len() - 2) as u64 {
        out.error(err::SYNTAX);
        return None;
    }
    if n > (argv.len() - 2) as u64 {
        out.error("ERR Number of keys can't be greater than number of args");
        return None;
    }
    let n = n as usize;
    Some((&argv[2..2 + n], &argv[2 + n..]))
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit]: the intersection's size,
/// capped at LIMIT (0: no cap).
pub fn sintercard(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some((keys, rest)) = numkeys(ctx.out, argv, false) else {
        return;
    };
    let mut limit = 0u64;
    let mut j = 0;
    while j < rest.len() {
        if rest[j].eq_ignore_ascii_case(b"limit") && j + 1 < rest.len() {
            match parse_i64(rest[j + 1]) {
                Some(l) if l >= 0 => limit = l as u64,
                _ => return ctx.out.error("ERR LIMIT can't be negative"),
            }
            j += 2;
        } else {
            return ctx.out.error(err::SYNTAX);
        }
    }
    if let Ok(r) = compute(ctx, keys, Op::Inter) {
        let n = r.len() as u64;
        ctx.out.int(if limit > 0 { n.min(limit) } else { n } as i64);
    }
}
