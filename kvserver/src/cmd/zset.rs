//! Sorted-set commands (Redis's t_zset.c): ZADD ZINCRBY ZREM ZSCORE ZMSCORE
//! ZCARD ZCOUNT ZLEXCOUNT ZRANK ZREVRANK, the ZRANGE family (ZRANGE with
//! BYSCORE/BYLEX/REV/LIMIT/WITHSCORES, ZRANGESTORE, ZRANGEBYSCORE,
//! ZREVRANGEBYSCORE, ZRANGEBYLEX, ZREVRANGEBYLEX, ZREVRANGE), ZREMRANGEBY*,
//! ZPOPMIN ZPOPMAX ZMPOP, the algebra ZUNION ZINTER ZDIFF (and STORE forms,
//! WEIGHTS, AGGREGATE), ZINTERCARD and ZRANDMEMBER. (ZSCAN is with the other
//! SCANs in keys.rs.)
//!
//! A sorted set is a [`ZSetObj`] (see `sorted_set.rs`): rank, the ranks of
//! a score or lex bound, and the element at a rank are O(log n), so every
//! range command is O(log n + m). Like every collection, a sorted set is
//! never left empty: removing its last member deletes the key.
//!
//! Scores are f64 parsed as Redis does (strtod: `inf`, `-inf`; `(` for an
//! exclusive range bound) and replied as Redis 7.0 does (`%.17g`, a RESP3
//! double). WITHSCORES replies are flat in RESP2 and `[member, score]`
//! pairs in RESP3, as in Redis 7.
//!
//! Atomicity across shards: the STORE forms, ZRANGESTORE and ZMPOP hold
//! every involved key's shard for their whole run (the pipeline locks
//! them in ascending order, see [`crate::keyspace`]).

use crate::cmd::set::{COUNT_RANGE, MUST_BE_POSITIVE};
use crate::exec::context::Ctx;
use crate::exec::notify::class;
use crate::keyspace::Db;
use crate::proto::reply::{err, Reply};
use crate::types::sorted_set::{LexBound, ScoreRange, ZSetObj};
use crate::types::{Str, Value, WrongType};
use crate::util::{distinct_indices, parse_i64, parse_range_score, parse_score};

const NAN_ERR: &str = "ERR resulting score is not a number (NaN)";
const NOT_FLOAT_RANGE: &str = "ERR min or max is not a float";
const NOT_LEX_RANGE: &str = "ERR min or max not valid string range item";

fn new_zset() -> Value {
    Value::ZSet(Box::default())
}

fn lookup<'a>(db: &'a mut Db, key: &[u8], now: u64) -> Result<Option<&'a mut ZSetObj>, WrongType> {
    db.typed(key, now, None, Value::as_zset)
}

/// Runs `f` on the sorted set at `key` (None if missing); WRONGTYPE replied.
fn with_zset(ctx: &mut Ctx, key: &[u8], f: impl FnOnce(Option<&mut ZSetObj>, &mut Reply)) {
    let (now, dbi) = (ctx.now, ctx.client.db);
    match lookup(ctx.ks.db(dbi, key), key, now) {
        Err(WrongType) => ctx.out.error(err::WRONGTYPE),
        Ok(z) => f(z, ctx.out),
    }
}

/// Deletes `key` if its sorted set is now empty; whether it did.
fn drop_if_empty(db: &mut Db, key: &[u8], now: u64) -> bool {
    if matches!(lookup(db, key, now), Ok(Some(z)) if z.is_empty()) {
        db.remove(key);
        return true;
    }
    false
}

/// After `n` members were removed from `key` by `event`: the change (and
/// `del` if that emptied it).
fn removed(ctx: &mut Ctx, key: &[u8], event: &'static str, n: usize, emptied: bool) {
    if n == 0 {
        return;
    }
    ctx.changed(class::ZSET, event, key);
    ctx.dirty(n as u64 - 1);
    if emptied {
        ctx.notify(class::GENERIC, "del", key);
    }
}

/// Elements, with their scores if asked: flat in RESP2, `[member, score]`
/// pairs in RESP3.
fn reply_elems(out: &mut Reply, items: &[(f64, Str)], withscores: bool) {
    if !withscores {
        out.array(items.len());
        items.iter().for_each(|(_, m)| out.bulk(m));
    } else if out.resp3() {
        out.array(items.len());
        for (s, m) in items {
            out.array(2);
            out.bulk(m);
            out.double(*s);
        }
    } else {
        out.array(items.len() * 2);
        for (s, m) in items {
            out.bulk(m);
            out.double(*s);
        }
    }
}

/// `min max` of a score range (zslParseRange).
fn parse_score_range(min: &[u8], max: &[u8]) -> Option<ScoreRange> {
    let one = |a: &[u8]| match a.first() {
        Some(b'(') => parse_range_score(&a[1..]).map(|v| (v, true)),
        _ => parse_range_score(a).map(|v| (v, false)),
    };
    let (min, minex) = one(min)?;
    let (max, maxex) = one(max)?;
    Some(ScoreRange {
        min,
        minex,
        max,
        maxex,
    })
}

/// One lex bound (zslParseLexRangeItem).
fn parse_lex(a: &[u8]) -> Option<LexBound> {
    match a.first()? {
        b'-' if a.len() == 1 => Some(LexBound::NegInf),
        b'+' if a.len() == 1 => Some(LexBound::PosInf),
        b'[' => Some(LexBound::Incl(a[1..].to_vec())),
        b'(' => Some(LexBound::Excl(a[1..].to_vec())),
        _ => None,
    }
}

fn parse_lex_range(min: &[u8], max: &[u8]) -> Option<(LexBound, LexBound)> {
    Some((parse_lex(min)?, parse_lex(max)?))
}

/// Rank arguments as Redis normalizes them: the inclusive ranks, or None
/// for an empty range.
fn rank_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut start = if start < 0 { len + start } else { start };
    let mut end = if end < 0 { len + end } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= len {
        return None;
    }
    if end >= len {
        end = len - 1;
    }
    Some((start as usize, end as usize))
}

#[derive(Default)]
struct ZaddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

/// `ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]`
pub fn zadd(ctx: &mut Ctx, argv: &[&[u8]]) {
    zadd_generic(ctx, argv, false);
}

/// ZINCRBY key increment member (ZADD INCR, down to its option parsing).
pub fn zincrby(ctx: &mut Ctx, argv: &[&[u8]]) {
    zadd_generic(ctx, argv, true);
}

fn zadd_generic(ctx: &mut Ctx, argv: &[&[u8]], incr: bool) {
    let mut f = ZaddFlags {
        incr,
        ..Default::default()
    };
    let mut i = 2;
    while i < argv.len() {
        match argv[i].to_ascii_lowercase().as_slice() {
            b"nx" => f.nx = true,
            b"xx" => f.xx = true,
            b"gt" => f.gt = true,
            b"lt" => f.lt = true,
            b"ch" => f.ch = true,
            b"incr" => f.incr = true,
            _ => break,
        }
        i += 1;
    }
    let rest = &argv[i..];
    if rest.is_empty() || rest.len() % 2 != 0 {
        return ctx.out.error(err::SYNTAX);
    }
    if f.nx && f.xx {
        return ctx
            .out
            .error("ERR XX and NX options at the same time are not compatible");
    }
    if (f.nx && (f.gt || f.lt)) || (f.gt && f.lt) {
        return ctx
            .out
            .error("ERR GT, LT, and/or NX options at the same time are not compatible");
    }
    if f.incr && rest.len() > 2 {
        return ctx
            .out
            .error("ERR INCR option supports a single increment-element pair");
    }
    let mut pairs = Vec::with_capacity(rest.len() / 2);
    for p in rest.chunks(2) {
        match parse_score(p[0]) {
            Some(s) => pairs.push((s, p[1])),
            None => return ctx.out.error(err::NOT_FLOAT),
        }
    }
    let (now, dbi, key) = (ctx.now, ctx.client.db, argv[1]);
    let db = ctx.ks.db(dbi, key);
    let exists = match lookup(db, key, now) {
        Err(WrongType) => return ctx.out.error(err::WRONGTYPE),
        Ok(z) => z.is_some(),
    };
    let (mut added, mut updated, mut processed, mut last) = (0, 0, 0, 0.0);
    let mut nan = false;
    if exists || !f.xx {
        let z = db
            .typed(key, now, Some(new_zset), Value::as_zset)
            .ok()
            .flatten()
            .expect("a sorted set");
        for (score, m) in pairs {
            match z.score(m) {
                Some(cur) => {
                    if f.nx {
                        continue;
                    }
                    let mut s = score;
                    if f.incr {
                        s += cur;
                        if s.is_nan() {
                            nan = true;
                            break;
                        }
                    }
                    if (f.lt && s >= cur) || (f.gt && s <= cur) {
                        continue;
                    }
                    processed += 1;
                    last = s;
                    if s != cur {
                        z.insert(m, s);
                        updated += 1;
                    }
                }
                None => {
                    if f.xx {
                        continue;
                    }
                    z.insert(m, score);
                    added += 1;
                    processed += 1;
                    last = score;
                }
            }
        }
        drop_if_empty(db, key, now);
    }
    if added + updated > 0 {
        ctx.changed(class::ZSET, if f.incr { "zincr" } else { "zadd" }, key);
        ctx.dirty((added + updated - 1) as u64);
    }
    if nan {
        ctx.out.error(NAN_ERR)
    } else if f.incr {
        if processed > 0 {
            ctx.out.double(last)
        } else {
            ctx.out.null()
        }
    } else {
        ctx.out.int(if f.ch { added + updated } else { added })
    }
}

/// ZREM key member [member ...]
pub fn zrem(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (now, dbi, key) = (ctx.now, ctx.client.db, argv[1]);
    let db = ctx.ks.db(dbi, key);
    let n = match lookup(db, key, now) {
        Err(WrongType) => return ctx.out.error(err::WRONGTYPE),
        Ok(None) => 0,
        Ok(Some(z)) => argv[2..].iter().filter(|m| z.remove(m)).count(),
    };
    let emptied = drop_if_empty(db, key, now);
    removed(ctx, key, "zrem", n, emptied);
    ctx.out.int(n as i64);
}

/// ZSCORE key member: a double (bulk in RESP2) or null.
pub fn zscore(ctx: &mut Ctx, argv: &[&[u8]]) {
    with_zset(ctx, argv[1], |z, out| {
        match z.and_then(|z| z.score(argv[2])) {
            Some(s) => out.double(s),
            None => out.null(),
        }
    });
}

/// ZMSCORE key member [member ...]
pub fn zmscore(ctx: &mut Ctx, argv: &[&[u8]]) {
    with_zset(ctx, argv[1], |z, out| {
        out.array(argv.len() - 2);
        for m in &argv[2..] {
            match z.as_ref().and_then(|z| z.score(m)) {
                Some(s) => out.double(s),
                None => out.null(),
            }
        }
    });
}

/// ZCARD key
pub fn zcard(ctx: &mut Ctx, argv: &[&[u8]]) {
    with_zset(ctx, argv[1], |z, out| {
        out.int(z.map_or(0, |z| z.len()) as i64)
    });
}

/// ZCOUNT key min max: O(log n).
pub fn zcount(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(r) = parse_score_range(argv[2], argv[3]) else {
        return ctx.out.error(NOT_FLOAT_RANGE);
    };
    with_zset(ctx, argv[1], |z, out| {
        let n = z.map_or(0, |z| {
            let (lo, hi) = z.score_ranks(&r);
            hi - lo
        });
        out.int(n as i64)
    });
}

/// ZLEXCOUNT key min max: O(log n).
pub fn zlexcount(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some((min, max)) = parse_lex_range(argv[2], argv[3]) else {
        return ctx.out.error(NOT_LEX_RANGE);
    };
    with_zset(ctx, argv[1], |z, out| {
        let n = z.map_or(0, |z| {
            let (lo, hi) = z.lex_ranks(&min, &max);
            hi - lo
        });
        out.int(n as i64)
    });
}

fn rank_generic(ctx: &mut Ctx, argv: &[&[u8]], rev: bool) {
    with_zset(ctx, argv[1], |z, out| {
        let Some(z) = z else { return out.null() };
        match z.rank(argv[2]) {
            Some(r) if rev => out.int((z.len() - 1 - r) as i64),
            Some(r) => out.int(r as i64),
            None => out.null(),
        }
    });
}

/// ZRANK key member: O(log n).
pub fn zrank(ctx: &mut Ctx, argv: &[&[u8]]) {
    rank_generic(ctx, argv, false);
}

/// ZREVRANK key member
pub fn zrevrank(ctx: &mut Ctx, argv: &[&[u8]]) {
    rank_generic(ctx, argv, true);
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum RangeType {
    Auto,
    Rank,
    Score,
    Lex,
}

/// The elements of ranks [lo, hi) after an OFFSET/LIMIT, in ascending or
/// descending order (Redis: a negative offset gives nothing, a negative
/// limit everything).
fn limited(
    z: &ZSetObj,
    lo: usize,
    hi: usize,
    rev: bool,
    offset: i64,
    limit: i64,
) -> Vec<(f64, Str)> {
    if offset < 0 || lo >= hi {
        return Vec::new();
    }
    let n = hi - lo;
    let off = (offset as u64).min(n as u64) as usize;
    let take = if limit < 0 {
        n - off
    } else {
        (limit as u64).min((n - off) as u64) as usize
    };
    if rev {
        let mut v = z.range(hi - off - take, hi - off);
        v.reverse();
        v
    } else {
        z.range(lo + off, lo + off + take)
    }
}

/// The whole ZRANGE family (Redis's zrangeGenericCommand): `key` at
/// `argv[first]`, then `min max` and options. `store`: ZRANGESTORE's
/// destination. `rtype`/`rev`: fixed by the legacy commands, chosen by
/// options for ZRANGE/ZRANGESTORE (`Auto` / None).
fn zrange_generic(
    ctx: &mut Ctx,
    argv: &[&[u8]],
    first: usize,
    store: Option<&[u8]>,
    mut rtype: RangeType,
    mut rev: Option<bool>,
) {
    let key = argv[first];
    let (mut minidx, mut maxidx) = (first + 1, first + 2);
    let (mut withscores, mut offset, mut limit) = (false, 0i64, -1i64);
    let mut j = first + 3;
    while j < argv.len() {
        let left = argv.len() - j - 1;
        let a = argv[j].to_ascii_lowercase();
        if store.is_none() && a == b"withscores" {
            withscores = true;
        } else if a == b"limit" && left >= 2 {
            match (parse_i64(argv[j + 1]), parse_i64(argv[j + 2])) {
                (Some(o), Some(l)) => (offset, limit) = (o, l),
                _ => return ctx.out.error(err::NOT_INTEGER),
            }
            j += 2;
        } else if rev.is_none() && a == b"rev" {
            rev = Some(true);
        } else if rtype == RangeType::Auto && a == b"bylex" {
            rtype = RangeType::Lex;
        } else if rtype == RangeType::Auto && a == b"byscore" {
            rtype = RangeType::Score;
        } else {
            return ctx.out.error(err::SYNTAX);
        }
        j += 1;
    }
    let rev = rev.unwrap_or(false);
    if rtype == RangeType::Auto {
        rtype = RangeType::Rank;
    }
    if limit != -1 && rtype == RangeType::Rank {
        return ctx.out.error(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        );
    }
    if withscores && rtype == RangeType::Lex {
        return ctx
            .out
            .error("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
    }
    if rev && rtype != RangeType::Rank {
        std::mem::swap(&mut minidx, &mut maxidx);
    }
    enum Parsed {
        Rank(i64, i64),
        Score(ScoreRange),
        Lex(LexBound, LexBound),
    }
    let parsed = match rtype {
        RangeType::Score => match parse_score_range(argv[minidx], argv[maxidx]) {
            Some(r) => Parsed::Score(r),
            None => return ctx.out.error(NOT_FLOAT_RANGE),
        },
        RangeType::Lex => match parse_lex_range(argv[minidx], argv[maxidx]) {
            Some((a, b)) => Parsed::Lex(a, b),
            None => return ctx.out.error(NOT_LEX_RANGE),
        },
        _ => match (parse_i64(argv[minidx]), parse_i64(argv[maxidx])) {
            (Some(a), Some(b)) => Parsed::Rank(a, b),
            _ => return ctx.out.error(err::NOT_INTEGER),
        },
    };
    let (now, dbi) = (ctx.now, ctx.client.db);
    let items = match lookup(ctx.ks.db(dbi, key), key, now) {
        Err(WrongType) => return ctx.out.error(err::WRONGTYPE),
        Ok(None) => Vec::new(),
        Ok(Some(z)) => match parsed {
            Parsed::Rank(s, e) => match rank_range(s, e, z.len()) {
                None => Vec::new(),
                Some((s, e)) if rev => {
                    let len = z.len();
                    let mut v = z.range(len - 1 - e, len - s);
                    v.reverse();
                    v
                }
                Some((s, e)) => z.range(s, e + 1),
            },
            Parsed::Score(r) => {
                let (lo, hi) = z.score_ranks(&r);
                limited(z, lo, hi, rev, offset, limit)
            }
            Parsed::Lex(a, b) => {
                let (lo, hi) = z.lex_ranks(&a, &b);
                limited(z, lo, hi, rev, offset, limit)
            }
        },
    };
    match store {
        Some(dst) => store_result(
            ctx,
            dst,
            items.into_iter().map(|(s, m)| (m, s)),
            "zrangestore",
        ),
        None => reply_elems(ctx.out, &items, withscores),
    }
}

/// Replaces `dst` with the pairs (deleting it if there are none) and
/// replies their number; `event` is the keyspace event of a stored result.
fn store_result(
    ctx: &mut Ctx,
    dst: &[u8],
    pairs: impl IntoIterator<Item = (Str, f64)>,
    event: &'static str,
) {
    let z = ZSetObj::from_pairs(pairs);
    let n = z.len();
    let now = ctx.now;
    // A result replaces the value and its TTL (an overwrite, not a new
    // key, as Redis's setKey); no result deletes the destination.
    let db = ctx.ks.db(ctx.client.db, dst);
    if n > 0 {
        db.set(dst, Value::ZSet(Box::new(z)), None, now);
        ctx.changed(class::ZSET, event, dst);
    } else if db.remove(dst).is_some() {
        ctx.changed(class::GENERIC, "del", dst);
    }
    ctx.out.int(n as i64);
}

/// `ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]`
pub fn zrange(ctx: &mut Ctx, argv: &[&[u8]]) {
    zrange_generic(ctx, argv, 1, None, RangeType::Auto, None);
}

/// `ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]`
pub fn zrangestore(ctx: &mut Ctx, argv: &[&[u8]]) {
    zrange_generic(ctx, argv, 2, Some(argv[1]), RangeType::Auto, None);
}

/// `ZREVRANGE key start stop [WITHSCORES]`
pub fn zrevrange(ctx: &mut Ctx, argv: &[&[u8]]) {
    zrange_generic(ctx, argv, 1, None, RangeType::Rank, Some(true));
}

/// `ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]`
pub fn zrangebyscore(ctx: &mut Ctx, argv: &[&[u8]]) {
    zrange_generic(ctx, argv, 1, None, RangeType::Score, Some(false));
}

/// `ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]`
pub fn zrevrangebyscore(ctx: &mut Ctx, argv: &[&[u8]]) {
    zrange_generic(ctx, argv, 1, None, RangeType::Score, Some(true));
}

/// ZRANGEBYLEX key min max [LIMIT offset count]
pub fn zrangebylex(ctx: &mut Ctx, argv: &[&[u8]]) {
    zrange_generic(ctx, argv, 1, None, RangeType::Lex, Some(false));
}

/// ZREVRANGEBYLEX key max min [LIMIT offset count]
pub fn zrevrangebylex(ctx: &mut Ctx, argv: &[&[u8]]) {
    zrange_generic(ctx, argv, 1, None, RangeType::Lex, Some(true));
}

/// The ranks [lo, hi) a parsed range covers in a given set.
type RanksOf = dyn Fn(&ZSetObj) -> (usize, usize);

/// ZREMRANGEBYRANK / BYSCORE / BYLEX: parse the range, then remove it
/// (O(log n + m)); the key goes with its last member.
fn zremrange(ctx: &mut Ctx, argv: &[&[u8]], rtype: RangeType) {
    let (a, b) = (argv[2], argv[3]);
    let range: Box<RanksOf> = match rtype {
        RangeType::Score => match parse_score_range(a, b) {
            Some(r) => Box::new(move |z| z.score_ranks(&r)),
            None => return ctx.out.error(NOT_FLOAT_RANGE),
        },
        RangeType::Lex => match parse_lex_range(a, b) {
            Some((min, max)) => Box::new(move |z| z.lex_ranks(&min, &max)),
            None => return ctx.out.error(NOT_LEX_RANGE),
        },
        _ => match (parse_i64(a), parse_i64(b)) {
            (Some(s), Some(e)) => Box::new(move |z| match rank_range(s, e, z.len()) {
                Some((s, e)) => (s, e + 1),
                None => (0, 0),
            }),
            _ => return ctx.out.error(err::NOT_INTEGER),
        },
    };
    let (now, dbi, key) = (ctx.now, ctx.client.db, argv[1]);
    let db = ctx.ks.db(dbi, key);
    let n = match lookup(db, key, now) {
        Err(WrongType) => return ctx.out.error(err::WRONGTYPE),
        Ok(None) => 0,
        Ok(Some(z)) => {
            let (lo, hi) = range(z);
            z.remove_range(lo, hi).len()
        }
    };
    let emptied = drop_if_empty(db, key, now);
    let event = match rtype {
        RangeType::Score => "zremrangebyscore",
        RangeType::Lex => "zremrangebylex",
        _ => "zremrangebyrank",
    };
    removed(ctx, key, event, n, emptied);
    ctx.out.int(n as i64);
}

pub fn zremrangebyrank(ctx: &mut Ctx, argv: &[&[u8]]) {
    zremrange(ctx, argv, RangeType::Rank);
}

pub fn zremrangebyscore(ctx: &mut Ctx, argv: &[&[u8]]) {
    zremrange(ctx, argv, RangeType::Score);
}

pub fn zremrangebylex(ctx: &mut Ctx, argv: &[&[u8]]) {
    zremrange(ctx, argv, RangeType::Lex);
}

/// Redis's genericZpopCommand: pops from the first non-empty key of
/// `keys` (a wrong type on the way is an error). `count` None: one element
/// without COUNT. `emitkey`/`nested`: ZMPOP's `[key, [[m, s] ...]]` shape;
/// else a flat array (nested pairs in RESP3 when a count was given).
fn zpop(ctx: &mut Ctx, keys: &[&[u8]], max: bool, count: Option<u64>, zmpop: bool) {
    let (now, dbi) = (ctx.now, ctx.client.db);
    let mut found = None;
    for &k in keys {
        match lookup(ctx.ks.db(dbi, k), k, now) {
            Err(WrongType) => return ctx.out.error(err::WRONGTYPE),
            Ok(None) => continue,
            Ok(Some(_)) => {
                found = Some(k);
                break;
            }
        }
    }
    let Some(key) = found else {
        return if zmpop {
            ctx.out.null_array()
        } else {
            ctx.out.array(0)
        };
    };
    if count == Some(0) {
        return ctx.out.array(0);
    }
    let nested = zmpop || (ctx.out.resp3() && count.is_some());
    let n = count.unwrap_or(1);
    let db = ctx.ks.db(dbi, key);
    let popped = match lookup(db, key, now) {
        Ok(Some(z)) => {
            let len = z.len();
            let n = (n.min(len as u64)) as usize;
            let mut v = if max {
                z.remove_range(len - n, len)
            } else {
                z.remove_range(0, n)
            };
            if max {
                v.reverse();
            }
            v
        }
        _ => Vec::new(),
    };
    let emptied = drop_if_empty(db, key, now);
    let event = if max { "zpopmax" } else { "zpopmin" };
    removed(ctx, key, event, popped.len(), emptied);
    let out = &mut *ctx.out;
    if zmpop {
        out.array(2);
        out.bulk(key);
    }
    if nested {
        out.array(popped.len());
    } else {
        out.array(popped.len() * 2);
    }
    for (s, m) in &popped {
        if nested {
            out.array(2);
        }
        out.bulk(m);
        out.double(*s);
    }
}

fn zpop_minmax(ctx: &mut Ctx, argv: &[&[u8]], max: bool) {
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
    zpop(ctx, &argv[1..2], max, count, false);
}

/// `ZPOPMIN key [count]`
pub fn zpopmin(ctx: &mut Ctx, argv: &[&[u8]]) {
    zpop_minmax(ctx, argv, false);
}

/// `ZPOPMAX key [count]`
pub fn zpopmax(ctx: &mut Ctx, argv: &[&[u8]]) {
    zpop_minmax(ctx, argv, true);
}

/// ZMPOP's arguments from numkeys on (`argv[1]`): the keys, MAX?, the
/// count; None once an error was answered.
fn zmpop_args<'a, 'b>(
    out: &mut Reply,
    argv: &'b [&'a [u8]],
) -> Option<(&'b [&'a [u8]], bool, u64)> {
    let (keys, rest) = crate::cmd::set::numkeys(out, argv, true)?;
    let max = match rest[0].to_ascii_lowercase().as_slice() {
        b"min" => false,
        b"max" => true,
        _ => {
            out.error(err::SYNTAX);
            return None;
        }
    };
    let mut count = None;
    let mut j = 1;
    while j < rest.len() {
        if count.is_none() && rest[j].eq_ignore_ascii_case(b"count") && j + 1 < rest.len() {
            match parse_i64(rest[j + 1]) {
                Some(n) if n > 0 => count = Some(n as u64),
                _ => {
                    out.error("ERR count should be greater than 0");
                    return None;
                }
            }
            j += 2;
        } else {
            out.error(err::SYNTAX);
            return None;
        }
    }
    Some((keys, max, count.unwrap_or(1)))
}

/// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]
pub fn zmpop(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some((keys, max, count)) = zmpop_args(ctx.out, argv) else {
        return;
    };
    zpop(ctx, keys, max, Some(count), true);
}

/// The first of `keys` holding a sorted set. A key of another type is
/// WRONGTYPE (answered, `Err`), or skipped when re-run for a waiter.
fn first_zset<'a>(ctx: &mut Ctx, keys: &[&'a [u8]]) -> Result<Option<&'a [u8]>, ()> {
    let (now, dbi, serving) = (ctx.now, ctx.client.db, ctx.client.serving);
    for &k in keys {
        match lookup(ctx.ks.db(dbi, k), k, now) {
            Err(WrongType) if serving => {}
            Err(WrongType) => {
                ctx.out.error(err::WRONGTYPE);
                return Err(());
            }
            Ok(None) => {}
            Ok(Some(_)) => return Ok(Some(k)),
        }
    }
    Ok(None)
}

/// BZPOPMIN/BZPOPMAX key [key ...] timeout: [key, member, score] from the
/// first non-empty sorted set, else block.
fn bzpop(ctx: &mut Ctx, argv: &[&[u8]], max: bool) {
    let deadline = match crate::exec::blocking::parse_timeout(argv[argv.len() - 1], ctx.now) {
        Ok(d) => d,
        Err(e) => return ctx.out.error(e),
    };
    let keys = &argv[1..argv.len() - 1];
    let Ok(found) = first_zset(ctx, keys) else {
        return;
    };
    let Some(key) = found else {
        return crate::exec::blocking::block(ctx, keys, deadline, argv);
    };
    let (now, dbi) = (ctx.now, ctx.client.db);
    let db = ctx.ks.db(dbi, key);
    let popped = match lookup(db, key, now) {
        Ok(Some(z)) => {
            let len = z.len();
            if max {
                z.remove_range(len.saturating_sub(1), len)
            } else {
                z.remove_range(0, len.min(1))
            }
        }
        _ => Vec::new(),
    };
    let emptied = drop_if_empty(db, key, now);
    let event = if max { "zpopmax" } else { "zpopmin" };
    removed(ctx, key, event, popped.len(), emptied);
    let Some((score, member)) = popped.into_iter().next() else {
        ctx.propagate_nothing();
        return ctx.out.null_array();
    };
    // Propagated as what it removed, never as a blocking command.
    ctx.propagate(&[b"ZREM", key, &member]);
    ctx.out.array(3);
    ctx.out.bulk(key);
    ctx.out.bulk(&member);
    ctx.out.double(score);
}

/// BZPOPMIN key [key ...] timeout
pub fn bzpopmin(ctx: &mut Ctx, argv: &[&[u8]]) {
    bzpop(ctx, argv, false);
}

/// BZPOPMAX key [key ...] timeout
pub fn bzpopmax(ctx: &mut Ctx, argv: &[&[u8]]) {
    bzpop(ctx, argv, true);
}

/// BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count] (the timeout
/// is checked last, as in Redis).
pub fn bzmpop(ctx: &mut Ctx, argv: &[&[u8]]) {
    let shifted: Vec<&[u8]> = std::iter::once(argv[0])
        .chain(argv[2..].iter().copied())
        .collect();
    let Some((keys, max, count)) = zmpop_args(ctx.out, &shifted) else {
        return;
    };
    let deadline = match crate::exec::blocking::parse_timeout(argv[1], ctx.now) {
        Ok(d) => d,
        Err(e) => return ctx.out.error(e),
    };
    match first_zset(ctx, keys) {
        Err(()) => {}
        Ok(Some(key)) => {
            zpop(ctx, &[key], max, Some(count), true);
            // Propagated as the pop it did, never as a blocking command.
            let mut zmpop: Vec<&[u8]> = vec![b"ZMPOP"];
            zmpop.extend_from_slice(&argv[2..]);
            ctx.propagate(&zmpop);
        }
        Ok(None) => crate::exec::blocking::block(ctx, keys, deadline, argv),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

/// zunionInterAggregate, NaN handling included (a NaN sum is 0; MIN/MAX
/// keep the old value when the new one is NaN, as C's comparisons do).
fn aggregate(target: &mut f64, val: f64, agg: Aggregate) {
    match agg {
        Aggregate::Sum => {
            *target += val;
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggregate::Min => {
            if val < *target {
                *target = val
            }
        }
        Aggregate::Max => {
            if val > *target {
                *target = val
            }
        }
    }
}

/// One input of the algebra: a sorted set, or a plain set (every score 1),
/// as a member → score map (cloned `Str`s), and its weight.
struct Src {
    map: indexmap::IndexMap<Str, f64, crate::types::Hasher>,
    weight: f64,
}

/// ZUNION/ZINTER/ZDIFF/ZINTERCARD and the STORE forms
/// (zunionInterDiffGenericCommand): `numkeys` at `argv[nk]`.
fn zsetop(
    ctx: &mut Ctx,
    argv: &[&[u8]],
    nk: usize,
    dst: Option<&[u8]>,
    op: SetOp,
    card: bool,
    name: &str,
) {
    let Some(setnum) = parse_i64(argv[nk]) else {
        return ctx.out.error(err::NOT_INTEGER);
    };
    if setnum < 1 {
        return ctx.out.error(&format!(
            "ERR at least 1 input key is needed for '{name}' command"
        ));
    }
    if setnum as u64 > (argv.len() - nk - 1) as u64 {
        return ctx.out.error(err::SYNTAX);
    }
    let setnum = setnum as usize;
    let keys = &argv[nk + 1..nk + 1 + setnum];
    let (now, dbi) = (ctx.now, ctx.client.db);
    let mut srcs = Vec::with_capacity(setnum);
    for &k in keys {
        let map = match ctx.ks.db(dbi, k).get(k, now).map(|e| &e.value) {
            None => Default::default(),
            Some(Value::ZSet(z)) => z.dict.clone(),
            Some(Value::Set(s)) => s.set.iter().map(|m| (Str::new(m), 1.0)).collect(),
            Some(_) => return ctx.out.error(err::WRONGTYPE),
        };
        srcs.push(Src { map, weight: 1.0 });
    }
    let (mut agg, mut withscores, mut limit) = (Aggregate::Sum, false, 0u64);
    let mut j = nk + 1 + setnum;
    while j < argv.len() {
        let remaining = argv.len() - j;
        let a = argv[j].to_ascii_lowercase();
        if op != SetOp::Diff && !card && remaining > setnum && a == b"weights" {
            j += 1;
            for s in srcs.iter_mut() {
                match parse_score(argv[j]) {
                    Some(w) => s.weight = w,
                    None => return ctx.out.error("ERR weight value is not a float"),
                }
                j += 1;
            }
        } else if op != SetOp::Diff && !card && remaining >= 2 && a == b"aggregate" {
            agg = match argv[j + 1].to_ascii_lowercase().as_slice() {
                b"sum" => Aggregate::Sum,
                b"min" => Aggregate::Min,
                b"max" => Aggregate::Max,
                _ => return ctx.out.error(err::SYNTAX),
            };
            j += 2;
        } else if dst.is_none() && !card && a == b"withscores" {
            withscores = true;
            j += 1;
        } else if card && remaining >= 2 && a == b"limit" {
            match parse_i64(argv[j + 1]) {
                Some(l) if l >= 0 => limit = l as u64,
                _ => return ctx.out.error("ERR LIMIT can't be negative"),
            }
            j += 2;
        } else {
            return ctx.out.error(err::SYNTAX);
        }
    }
    // Redis sorts the inputs by size (smallest first) for union and
    // intersection; the order in which scores are summed follows it.
    if op != SetOp::Diff {
        srcs.sort_by_key(|s| s.map.len());
    }
    let mut result: indexmap::IndexMap<Str, f64, crate::types::Hasher> = Default::default();
    match op {
        SetOp::Union => {
            for s in &srcs {
                for (m, &v) in &s.map {
                    let mut score = s.weight * v;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    match result.get_mut(m) {
                        Some(t) => aggregate(t, score, agg),
                        None => {
                            result.insert(m.clone(), score);
                        }
                    }
                }
            }
        }
        SetOp::Inter => {
            let mut cardinality = 0u64;
            'outer: for (m, &v) in &srcs[0].map {
                let mut score = srcs[0].weight * v;
                if score.is_nan() {
                    score = 0.0;
                }
                for s in &srcs[1..] {
                    match s.map.get(m) {
                        Some(&x) => aggregate(&mut score, x * s.weight, agg),
                        None => continue 'outer,
                    }
                }
                if card {
                    cardinality += 1;
                    if limit > 0 && cardinality >= limit {
                        break;
                    }
                } else {
                    result.insert(m.clone(), score);
                }
            }
            if card {
                return ctx.out.int(cardinality as i64);
            }
        }
        SetOp::Diff => {
            for (m, &v) in &srcs[0].map {
                if !srcs[1..].iter().any(|s| s.map.contains_key(m)) {
                    result.insert(m.clone(), v);
                }
            }
        }
    }
    match dst {
        Some(dst) => {
            let event = match op {
                SetOp::Union => "zunionstore",
                SetOp::Inter => "zinterstore",
                SetOp::Diff => "zdiffstore",
            };
            store_result(ctx, dst, result, event)
        }
        None => {
            let z = ZSetObj::unconverted(result);
            reply_elems(ctx.out, &z.range(0, z.len()), withscores);
        }
    }
}

pub fn zunion(ctx: &mut Ctx, argv: &[&[u8]]) {
    zsetop(ctx, argv, 1, None, SetOp::Union, false, "zunion");
}

pub fn zinter(ctx: &mut Ctx, argv: &[&[u8]]) {
    zsetop(ctx, argv, 1, None, SetOp::Inter, false, "zinter");
}

pub fn zdiff(ctx: &mut Ctx, argv: &[&[u8]]) {
    zsetop(ctx, argv, 1, None, SetOp::Diff, false, "zdiff");
}

pub fn zunionstore(ctx: &mut Ctx, argv: &[&[u8]]) {
    zsetop(
        ctx,
        argv,
        2,
        Some(argv[1]),
        SetOp::Union,
        false,
        "zunionstore",
    );
}

pub fn zinterstore(ctx: &mut Ctx, argv: &[&[u8]]) {
    zsetop(
        ctx,
        argv,
        2,
        Some(argv[1]),
        SetOp::Inter,
        false,
        "zinterstore",
    );
}

pub fn zdiffstore(ctx: &mut Ctx, argv: &[&[u8]]) {
    zsetop(
        ctx,
        argv,
        2,
        Some(argv[1]),
        SetOp::Diff,
        false,
        "zdiffstore",
    );
}

/// ZINTERCARD numkeys key [key ...] [LIMIT limit]
pub fn zintercard(ctx: &mut Ctx, argv: &[&[u8]]) {
    zsetop(ctx, argv, 1, None, SetOp::Inter, true, "zintercard");
}

/// `ZRANDMEMBER key [count [WITHSCORES]]`: a negative count allows repeats.
pub fn zrandmember(ctx: &mut Ctx, argv: &[&[u8]]) {
    let mut withscores = false;
    let count = match argv.get(2) {
        None => None,
        Some(a) => {
            let n = match parse_i64(a) {
                None => return ctx.out.error(err::NOT_INTEGER),
                Some(i64::MIN) => return ctx.out.error(COUNT_RANGE),
                Some(n) => n,
            };
            if argv.len() > 4 || (argv.len() == 4 && !argv[3].eq_ignore_ascii_case(b"withscores")) {
                return ctx.out.error(err::SYNTAX);
            }
            if argv.len() == 4 {
                withscores = true;
                if !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&n) {
                    return ctx.out.error("ERR value is out of range");
                }
            }
            if crate::cmd::set::too_many_repeats(n) {
                return ctx.out.error(crate::cmd::set::REPEATS_RANGE);
            }
            Some(n)
        }
    };
    let (now, dbi, key) = (ctx.now, ctx.client.db, argv[1]);
    let z = match lookup(ctx.ks.db(dbi, key), key, now) {
        Err(WrongType) => return ctx.out.error(err::WRONGTYPE),
        Ok(z) => z,
    };
    let Some(z) = z else {
        return match count {
            None => ctx.out.null(),
            Some(_) => ctx.out.array(0),
        };
    };
    let len = z.len();
    let picks: Vec<usize> = match count {
        None => {
            let i = ctx.rng.below(len);
            return ctx.out.bulk(z.dict.get_index(i).expect("in range").0);
        }
        Some(0) => Vec::new(),
        Some(n) if n < 0 => (0..n.unsigned_abs()).map(|_| ctx.rng.below(len)).collect(),
        // The whole set, from the highest score down, as Redis.
        Some(n) if n as u64 >= len as u64 => {
            let mut all = z.range(0, len);
            all.reverse();
            return reply_elems(ctx.out, &all, withscores);
        }
        Some(n) => distinct_indices(ctx.rng, len, n as usize),
    };
    let items: Vec<(f64, Str)> = picks
        .into_iter()
        .map(|i| {
            let (m, s) = z.dict.get_index(i).expect("in range");
            (*s, m.clone())
        })
        .collect();
    reply_elems(ctx.out, &items, withscores);
}
