//! List commands (Redis's t_list.c): LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP
//! LLEN LRANGE LINDEX LSET LREM LTRIM LINSERT LPOS LMOVE RPOPLPUSH LMPOP,
//! and the blocking BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP.
//!
//! A list is a [`crate::types::packed_list::PackedList`]: elements packed end to end in chunks of up
//! to 4 KB, as Redis's quicklist of listpacks: O(1) at both ends, a walk
//! by chunk counts to an index. A list never stays empty: popping the
//! last element deletes the key.
//!
//! A blocking form with data behaves as its plain form; without, it calls
//! [`blocking::block`] with itself as the command to re-run when a key is
//! written. Re-run for a waiter (`client.serving`), a key of another type
//! counts as "no data" (Redis 7.0 leaves such a client blocked).

use crate::exec::blocking;
use crate::exec::context::Ctx;
use crate::exec::notify::class;
use crate::keyspace::Db;
use crate::proto::reply::{err, Reply};
use crate::types::packed_list::PackedList as List;
use crate::types::{Str, Value, WrongType};
use crate::util::parse_i64;

fn new_list() -> Value {
    Value::List(Box::default())
}

fn lookup<'a>(db: &'a mut Db, key: &[u8], now: u64) -> Result<Option<&'a mut List>, WrongType> {
    db.typed(key, now, None, Value::as_list)
}

fn lookup_create<'a>(db: &'a mut Db, key: &[u8], now: u64) -> Result<&'a mut List, WrongType> {
    db.typed(key, now, Some(new_list), Value::as_list)
        .map(|l| l.expect("just created"))
}

/// Runs `f` on the list at `key` (None: no key) with the reply, or replies
/// WRONGTYPE; what `f` returns (a writer: whether it changed the list).
fn with_list<R: Default>(
    ctx: &mut Ctx,
    key: &[u8],
    f: impl FnOnce(Option<&mut List>, &mut Reply) -> R,
) -> R {
    let (now, dbi) = (ctx.now, ctx.client.db);
    match lookup(ctx.ks.db(dbi, key), key, now) {
        Err(WrongType) => {
            ctx.out.error(err::WRONGTYPE);
            R::default()
        }
        Ok(l) => f(l, ctx.out),
    }
}

/// The keyspace event of a pop or push at `end`.
fn pop_event(end: End) -> &'static str {
    match end {
        End::Left => "lpop",
        End::Right => "rpop",
    }
}

fn push_event(end: End) -> &'static str {
    match end {
        End::Left => "lpush",
        End::Right => "rpush",
    }
}

/// After a pop from `key` (`n` elements): its events (and `del` if that
/// emptied it, which [`drop_if_empty`] told).
fn popped(ctx: &mut Ctx, key: &[u8], end: End, n: usize, emptied: bool) {
    if n == 0 {
        return;
    }
    ctx.changed(class::LIST, pop_event(end), key);
    ctx.dirty(n as u64 - 1);
    if emptied {
        ctx.notify(class::GENERIC, "del", key);
    }
}

/// Which end of a list.
#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    Left,
    Right,
}

fn parse_end(a: &[u8]) -> Option<End> {
    if a.eq_ignore_ascii_case(b"left") {
        Some(End::Left)
    } else if a.eq_ignore_ascii_case(b"right") {
        Some(End::Right)
    } else {
        None
    }
}

fn pop(l: &mut List, end: End) -> Option<Str> {
    match end {
        End::Left => l.pop_front(),
        End::Right => l.pop_back(),
    }
}

fn push(l: &mut List, end: End, v: &[u8]) {
    match end {
        End::Left => l.push_front(v),
        End::Right => l.push_back(v),
    }
}

/// Deletes `key` if its list is now empty; whether it did.
fn drop_if_empty(db: &mut Db, key: &[u8], now: u64) -> bool {
    if matches!(lookup(db, key, now), Ok(Some(l)) if l.is_empty()) {
        db.remove(key);
        return true;
    }
    false
}

/// The elements with their positions, last first.
fn from_back(l: &List) -> impl Iterator<Item = (usize, &[u8])> {
    let n = l.len();
    l.iter().rev().enumerate().map(move |(k, v)| (n - 1 - k, v))
}

/// A Redis list index (negative from the end) as a position, if in range.
fn index(len: usize, i: i64) -> Option<usize> {
    let i = if i < 0 { len as i64 + i } else { i };
    (0..len as i64).contains(&i).then_some(i as usize)
}

fn push_generic(ctx: &mut Ctx, argv: &[&[u8]], end: End, only_existing: bool) {
    let (now, dbi, key) = (ctx.now, ctx.client.db, argv[1]);
    let db = ctx.ks.db(dbi, key);
    let l = if only_existing {
        match lookup(db, key, now) {
            Err(WrongType) => return ctx.out.error(err::WRONGTYPE),
            Ok(None) => return ctx.out.int(0),
            Ok(Some(l)) => l,
        }
    } else {
        match lookup_create(db, key, now) {
            Err(WrongType) => return ctx.out.error(err::WRONGTYPE),
            Ok(l) => l,
        }
    };
    for v in &argv[2..] {
        push(l, end, v);
    }
    let len = l.len();
    ctx.changed(class::LIST, push_event(end), key);
    ctx.dirty(argv.len() as u64 - 3);
    ctx.out.int(len as i64);
}

/// LPUSH key element [element ...]: the new length.
pub fn lpush(ctx: &mut Ctx, argv: &[&[u8]]) {
    push_generic(ctx, argv, End::Left, false);
}

pub fn rpush(ctx: &mut Ctx, argv: &[&[u8]]) {
    push_generic(ctx, argv, End::Right, false);
}

/// LPUSHX: only onto an existing list (0 otherwise).
pub fn lpushx(ctx: &mut Ctx, argv: &[&[u8]]) {
    push_generic(ctx, argv, End::Left, true);
}

pub fn rpushx(ctx: &mut Ctx, argv: &[&[u8]]) {
    push_generic(ctx, argv, End::Right, true);
}

/// `LPOP/RPOP key [count]`: one element (bulk), or up to `count` (array; a
/// null array for a missing key, as Redis).
fn pop_generic(ctx: &mut Ctx, argv: &[&[u8]], end: End) {
    if argv.len() > 3 {
        return crate::exec::table::arity_error(
            ctx.out,
            if end == End::Left { "lpop" } else { "rpop" },
        );
    }
    let count = match argv.get(2) {
        None => None,
        Some(a) => match parse_i64(a) {
            Some(n) if n >= 0 => Some(n as u64),
            _ => return ctx.out.error(crate::cmd::set::MUST_BE_POSITIVE),
        },
    };
    let (now, dbi, key) = (ctx.now, ctx.client.db, argv[1]);
    let db = ctx.ks.db(dbi, key);
    let l = match lookup(db, key, now) {
        Err(WrongType) => return ctx.out.error(err::WRONGTYPE),
        Ok(None) => {
            return match count {
                None => ctx.out.null(),
                Some(_) => ctx.out.null_array(),
            }
        }
        Ok(Some(l)) => l,
    };
    let n = match count {
        None => {
            let v = pop(l, end).expect("lists are never empty");
            ctx.out.bulk(&v);
            1
        }
        Some(n) => {
            let n = (n.min(l.len() as u64)) as usize;
            ctx.out.array(n);
            for _ in 0..n {
                let v = pop(l, end).expect("counted");
                ctx.out.bulk(&v);
            }
            n
        }
    };
    let emptied = drop_if_empty(db, key, now);
    popped(ctx, key, end, n, emptied);
}

pub fn lpop(ctx: &mut Ctx, argv: &[&[u8]]) {
    pop_generic(ctx, argv, End::Left);
}

pub fn rpop(ctx: &mut Ctx, argv: &[&[u8]]) {
    pop_generic(ctx, argv, End::Right);
}

/// LLEN key
pub fn llen(ctx: &mut Ctx, argv: &[&[u8]]) {
    with_list(ctx, argv[1], |l, out| {
        out.int(l.map_or(0, |l| l.len() as i64))
    });
}

/// LINDEX key index
/// (As in Redis, the key and its type are checked before the index.)
pub fn lindex(ctx: &mut Ctx, argv: &[&[u8]]) {
    with_list(ctx, argv[1], |l, out| {
        let Some(l) = l else { return out.null() };
        let Some(i) = parse_i64(argv[2]) else {
            return out.error(err::NOT_INTEGER);
        };
        match index(l.len(), i).and_then(|p| l.get(p)) {
            Some(v) => out.bulk(v),
            None => out.null(),
        }
    });
}

/// LSET key index element
/// (As in Redis, the key and its type are checked before the index.)
pub fn lset(ctx: &mut Ctx, argv: &[&[u8]]) {
    let set = with_list(ctx, argv[1], |l, out| {
        let Some(l) = l else {
            out.error(err::NO_SUCH_KEY);
            return false;
        };
        let Some(i) = parse_i64(argv[2]) else {
            out.error(err::NOT_INTEGER);
            return false;
        };
        match index(l.len(), i) {
            Some(p) => {
                l.set(p, argv[3]);
                out.ok();
                true
            }
            None => {
                out.error("ERR index out of range");
                false
            }
        }
    });
    if set {
        ctx.changed(class::LIST, "lset", argv[1]);
    }
}

/// Clamps a Redis range (inclusive, negatives from the end) to positions;
/// None if empty.
fn range(len: usize, start: i64, stop: i64) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 {
        (len + start).max(0)
    } else {
        start
    };
    let stop = if stop < 0 {
        len + stop
    } else {
        stop.min(len - 1)
    };
    (start <= stop && start < len).then_some((start as usize, stop as usize))
}

/// LRANGE key start stop
pub fn lrange(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (Some(start), Some(stop)) = (parse_i64(argv[2]), parse_i64(argv[3])) else {
        return ctx.out.error(err::NOT_INTEGER);
    };
    with_list(ctx, argv[1], |l, out| {
        match l.and_then(|l| range(l.len(), start, stop).map(|r| (l, r))) {
            None => out.array(0),
            Some((l, (a, b))) => {
                out.array(b - a + 1);
                l.range(a, b).for_each(|v| out.bulk(v));
            }
        }
    });
}

/// LTRIM key start stop: keeps only the range (deleting the key if empty).
pub fn ltrim(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (Some(start), Some(stop)) = (parse_i64(argv[2]), parse_i64(argv[3])) else {
        return ctx.out.error(err::NOT_INTEGER);
    };
    let (now, dbi, key) = (ctx.now, ctx.client.db, argv[1]);
    let db = ctx.ks.db(dbi, key);
    let removed = match lookup(db, key, now) {
        Err(WrongType) => return ctx.out.error(err::WRONGTYPE),
        Ok(None) => None,
        Ok(Some(l)) => {
            let before = l.len();
            match range(l.len(), start, stop) {
                None => l.clear(),
                Some((a, b)) => l.keep_range(a, b),
            }
            Some(before - l.len())
        }
    };
    let emptied = drop_if_empty(db, key, now);
    if let Some(n) = removed {
        // Signalled even when nothing was trimmed (as Redis); counted as
        // the elements removed.
        ctx.modified(key);
        ctx.notify(class::LIST, "ltrim", key);
        ctx.dirty(n as u64);
        if emptied {
            ctx.notify(class::GENERIC, "del", key);
        }
    }
    ctx.out.ok();
}

/// LREM key count element: removes up to |count| occurrences (from the
/// head if count > 0, the tail if < 0, all if 0).
pub fn lrem(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(count) = parse_i64(argv[2]) else {
        return ctx.out.error(err::NOT_INTEGER);
    };
    let (now, dbi, key) = (ctx.now, ctx.client.db, argv[1]);
    let db = ctx.ks.db(dbi, key);
    let removed = match lookup(db, key, now) {
        Err(WrongType) => return ctx.out.error(err::WRONGTYPE),
        Ok(None) => 0,
        Ok(Some(l)) => {
            let max = if count == 0 {
                usize::MAX
            } else {
                usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX)
            };
            l.remove_matching(argv[3], max, count < 0)
        }
    };
    let emptied = drop_if_empty(db, key, now);
    if removed > 0 {
        ctx.changed(class::LIST, "lrem", key);
        ctx.dirty(removed as u64 - 1);
        if emptied {
            ctx.notify(class::GENERIC, "del", key);
        }
    }
    ctx.out.int(removed as i64);
}

/// LINSERT key BEFORE|AFTER pivot element: the new length, -1 if the pivot
/// is not there, 0 if the key is not.
pub fn linsert(ctx: &mut Ctx, argv: &[&[u8]]) {
    let after = if argv[2].eq_ignore_ascii_case(b"after") {
        true
    } else if argv[2].eq_ignore_ascii_case(b"before") {
        false
    } else {
        return ctx.out.error(err::SYNTAX);
    };
    let inserted = with_list(ctx, argv[1], |l, out| {
        let Some(l) = l else {
            out.int(0);
            return false;
        };
        let pivot = l.iter().position(|v| v == argv[3]);
        match pivot {
            None => {
                out.int(-1);
                false
            }
            Some(p) => {
                l.insert(p + after as usize, argv[4]);
                out.int(l.len() as i64);
                true
            }
        }
    });
    if inserted {
        ctx.changed(class::LIST, "linsert", argv[1]);
    }
}

/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
pub fn lpos(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (mut rank, mut count, mut maxlen) = (1i64, None::<u64>, 0u64);
    let mut j = 3;
    while j < argv.len() {
        let (opt, Some(val)) = (argv[j], argv.get(j + 1)) else {
            return ctx.out.error(err::SYNTAX);
        };
        // The option's name is checked before its value, as in Redis; a
        // bad COUNT or MAXLEN value (not a number, or negative) gets the
        // option's own message.
        let n = parse_i64(val);
        if opt.eq_ignore_ascii_case(b"rank") {
            match n {
                None | Some(i64::MIN) => return ctx.out.error(err::NOT_INTEGER),
                Some(0) => return ctx.out.error(
                    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
                ),
                Some(n) => rank = n,
            }
        } else if opt.eq_ignore_ascii_case(b"count") {
            match n {
                Some(n) if n >= 0 => count = Some(n as u64),
                _ => return ctx.out.error("ERR COUNT can't be negative"),
            }
        } else if opt.eq_ignore_ascii_case(b"maxlen") {
            match n {
                Some(n) if n >= 0 => maxlen = n as u64,
                _ => return ctx.out.error("ERR MAXLEN can't be negative"),
            }
        } else {
            return ctx.out.error(err::SYNTAX);
        }
        j += 2;
    }
    let elem = argv[2];
    with_list(ctx, argv[1], |l, out| {
        let Some(l) = l else {
            return match count {
                Some(_) => out.array(0),
                None => out.null(),
            };
        };
        let n = l.len();
        let limit = if maxlen == 0 {
            n
        } else {
            (maxlen as usize).min(n)
        };
        // Positions, scanned from the end RANK's sign chooses, at most
        // MAXLEN of them.
        let scanned: Box<dyn Iterator<Item = (usize, &[u8])>> = if rank > 0 {
            Box::new(l.iter().enumerate().take(limit))
        } else {
            Box::new(from_back(l).take(limit))
        };
        let mut skip = rank.unsigned_abs() - 1;
        let want = match count {
            Some(0) => u64::MAX,
            Some(c) => c,
            None => 1,
        };
        let mut found = Vec::new();
        for (i, v) in scanned {
            if v != elem {
                continue;
            }
            if skip > 0 {
                skip -= 1;
                continue;
            }
            found.push(i as i64);
            if found.len() as u64 == want {
                break;
            }
        }
        match count {
            None => match found.first() {
                Some(&i) => out.int(i),
                None => out.null(),
            },
            Some(_) => {
                out.array(found.len());
                found.into_iter().for_each(|i| out.int(i));
            }
        }
    });
}

/// Pops from `src`'s `from` end and pushes onto `dst`'s `to` end, with
/// both shards held (atomic, as Redis). Replies the element or nil. As in
/// Redis, `dst`'s type is only checked when there is something to move.
fn lmove_generic(ctx: &mut Ctx, src: &[u8], dst: &[u8], from: End, to: End) {
    let (now, dbi) = (ctx.now, ctx.client.db);
    match lookup(ctx.ks.db(dbi, src), src, now) {
        Err(WrongType) => return ctx.out.error(err::WRONGTYPE),
        Ok(None) => {
            ctx.propagate_nothing();
            return ctx.out.null();
        }
        Ok(Some(_)) => {}
    }
    if lookup(ctx.ks.db(dbi, dst), dst, now).is_err() {
        return ctx.out.error(err::WRONGTYPE);
    }
    let db = ctx.ks.db(dbi, src);
    let Ok(Some(l)) = lookup(db, src, now) else {
        return ctx.out.null();
    };
    let v = pop(l, from).expect("lists are never empty");
    // A rotation (src == dst) pushes back onto the same list before it
    // could count as emptied: a one-element list is never deleted, and
    // keeps its TTL, as in Redis.
    let emptied = if src == dst {
        push(l, to, &v);
        false
    } else {
        let emptied = drop_if_empty(db, src, now);
        if let Ok(d) = lookup_create(ctx.ks.db(dbi, dst), dst, now) {
            push(d, to, &v);
        }
        emptied
    };
    // Redis's order: the push's event, then the pop's (and `del`).
    ctx.modified(dst);
    ctx.notify(class::LIST, push_event(to), dst);
    popped(ctx, src, from, 1, emptied);
    ctx.out.bulk(&v);
}

/// LMOVE source destination LEFT|RIGHT LEFT|RIGHT
pub fn lmove(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (Some(from), Some(to)) = (parse_end(argv[3]), parse_end(argv[4])) else {
        return ctx.out.error(err::SYNTAX);
    };
    lmove_generic(ctx, argv[1], argv[2], from, to);
}

/// RPOPLPUSH source destination: LMOVE source destination RIGHT LEFT.
pub fn rpoplpush(ctx: &mut Ctx, argv: &[&[u8]]) {
    lmove_generic(ctx, argv[1], argv[2], End::Right, End::Left);
}

/// LMPOP's arguments from numkeys on (`argv[1]`): the keys, the end and
/// the count; None once an error was answered.
fn mpop_args<'a, 'b>(out: &mut Reply, argv: &'b [&'a [u8]]) -> Option<(&'b [&'a [u8]], End, u64)> {
    let (keys, rest) = crate::cmd::set::numkeys(out, argv, true)?;
    let Some(end) = rest.first().and_then(|a| parse_end(a)) else {
        out.error(err::SYNTAX);
        return None;
    };
    let mut count = 1u64;
    match &rest[1..] {
        [] => {}
        [opt, n] if opt.eq_ignore_ascii_case(b"count") => match parse_i64(n) {
            Some(n) if n > 0 => count = n as u64,
            _ => {
                out.error("ERR count should be greater than 0");
                return None;
            }
        },
        _ => {
            out.error(err::SYNTAX);
            return None;
        }
    }
    Some((keys, end, count))
}

/// Pops up to `count` elements from the first non-empty list of `keys` and
/// replies `[key, [elements]]`; false if every list was empty (no reply).
fn mpop_first(ctx: &mut Ctx, keys: &[&[u8]], end: End, count: u64) -> bool {
    let (now, dbi, serving) = (ctx.now, ctx.client.db, ctx.client.serving);
    for &k in keys {
        let db = ctx.ks.db(dbi, k);
        let l = match lookup(db, k, now) {
            Err(WrongType) if serving => continue,
            Err(WrongType) => {
                ctx.out.error(err::WRONGTYPE);
                return true;
            }
            Ok(None) => continue,
            Ok(Some(l)) => l,
        };
        let n = count.min(l.len() as u64) as usize;
        ctx.out.array(2);
        ctx.out.bulk(k);
        ctx.out.array(n);
        for _ in 0..n {
            let v = pop(l, end).expect("counted");
            ctx.out.bulk(&v);
        }
        let emptied = drop_if_empty(db, k, now);
        popped(ctx, k, end, n, emptied);
        return true;
    }
    false
}

/// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]: pops up to
/// `count` elements from the first non-empty list; replies
/// `[key, [elements]]` or a null array.
pub fn lmpop(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some((keys, end, count)) = mpop_args(ctx.out, argv) else {
        return;
    };
    if !mpop_first(ctx, keys, end, count) {
        ctx.propagate_nothing();
        ctx.out.null_array();
    }
}

/// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count] (the
/// timeout is checked last, as in Redis).
pub fn blmpop(ctx: &mut Ctx, argv: &[&[u8]]) {
    let shifted: Vec<&[u8]> = std::iter::once(argv[0])
        .chain(argv[2..].iter().copied())
        .collect();
    let Some((keys, end, count)) = mpop_args(ctx.out, &shifted) else {
        return;
    };
    let deadline = match blocking::parse_timeout(argv[1], ctx.now) {
        Ok(d) => d,
        Err(e) => return ctx.out.error(e),
    };
    if mpop_first(ctx, keys, end, count) {
        // Propagated as the pop it did, never as a blocking command.
        let mut lmpop: Vec<&[u8]> = vec![b"LMPOP"];
        lmpop.extend_from_slice(&argv[2..]);
        ctx.propagate(&lmpop);
    } else {
        blocking::block(ctx, keys, deadline, argv);
    }
}

/// BLPOP/BRPOP key [key ...] timeout: [key, element] from the first
/// non-empty list, else block.
fn bpop(ctx: &mut Ctx, argv: &[&[u8]], end: End) {
    let deadline = match blocking::parse_timeout(argv[argv.len() - 1], ctx.now) {
        Ok(d) => d,
        Err(e) => return ctx.out.error(e),
    };
    let keys = &argv[1..argv.len() - 1];
    let (now, dbi, serving) = (ctx.now, ctx.client.db, ctx.client.serving);
    for &k in keys {
        let db = ctx.ks.db(dbi, k);
        match lookup(db, k, now) {
            Err(WrongType) if serving => {}
            Err(WrongType) => return ctx.out.error(err::WRONGTYPE),
            Ok(None) => {}
            Ok(Some(l)) => {
                let v = pop(l, end).expect("lists are never empty");
                let emptied = drop_if_empty(db, k, now);
                popped(ctx, k, end, 1, emptied);
                // Propagated as the pop it did, never as a blocking command.
                let name: &[u8] = match end {
                    End::Left => b"LPOP",
                    End::Right => b"RPOP",
                };
                ctx.propagate(&[name, k]);
                ctx.out.array(2);
                ctx.out.bulk(k);
                return ctx.out.bulk(&v);
            }
        }
    }
    blocking::block(ctx, keys, deadline, argv);
}

/// BLPOP key [key ...] timeout
pub fn blpop(ctx: &mut Ctx, argv: &[&[u8]]) {
    bpop(ctx, argv, End::Left);
}

/// BRPOP key [key ...] timeout
pub fn brpop(ctx: &mut Ctx, argv: &[&[u8]]) {
    bpop(ctx, argv, End::Right);
}

/// LMOVE when `src` has an element, else block on `src` (the destination's
/// type is checked only when there is something to move, as in Redis).
fn blmove_generic(ctx: &mut Ctx, argv: &[&[u8]], from: End, to: End, timeout: &[u8]) {
    let deadline = match blocking::parse_timeout(timeout, ctx.now) {
        Ok(d) => d,
        Err(e) => return ctx.out.error(e),
    };
    let (src, dst) = (argv[1], argv[2]);
    let (now, dbi) = (ctx.now, ctx.client.db);
    match lookup(ctx.ks.db(dbi, src), src, now) {
        Ok(Some(_)) => {
            lmove_generic(ctx, src, dst, from, to);
            // Propagated as the move it did, never as a blocking command.
            let (from, to) = (end_name(from), end_name(to));
            ctx.propagate(&[b"LMOVE", src, dst, from, to]);
        }
        Err(WrongType) if !ctx.client.serving => ctx.out.error(err::WRONGTYPE),
        // In EXEC it is LMOVE on an empty list: a null bulk, not an array.
        _ if ctx.client.deny_blocking => {
            ctx.propagate_nothing();
            ctx.out.null()
        }
        _ => blocking::block(ctx, &[src], deadline, argv),
    }
}

fn end_name(end: End) -> &'static [u8] {
    match end {
        End::Left => b"LEFT",
        End::Right => b"RIGHT",
    }
}

/// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout
pub fn blmove(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (Some(from), Some(to)) = (parse_end(argv[3]), parse_end(argv[4])) else {
        return ctx.out.error(err::SYNTAX);
    };
    blmove_generic(ctx, argv, from, to, argv[5]);
}

/// BRPOPLPUSH source destination timeout
pub fn brpoplpush(ctx: &mut Ctx, argv: &[&[u8]]) {
    blmove_generic(ctx, argv, End::Right, End::Left, argv[3]);
}
