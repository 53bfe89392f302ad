//! String commands (Redis's t_string.c): GET SET and its options, the
//! counters, ranges, and the multi-key MGET/MSET/MSETNX.
//!
//! Every handler runs with its keys' shards locked (see
//! [`crate::exec::pipeline`]), so a read-modify-write like INCR or APPEND
//! is atomic, and MSET/MSETNX are all-or-nothing across shards.

use crate::exec::context::Ctx;
use crate::exec::notify::class;
use crate::exec::table::arity_error;
use crate::proto::reply::{err, Reply};
use crate::types::{Str, Value};
use crate::util::{fmt_human, parse_f64, parse_i64};

/// proto-max-bulk-len: the largest string a command may build.
const TOO_BIG: &str = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";

fn eq(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

fn string(v: &[u8]) -> Value {
    Value::String(Str::new(v))
}

/// Runs `f` on the string at `key` where it lies (None: no key), with the
/// reply; replies WRONGTYPE for another type. Commands read strings this
/// way (or take them out of the entry), so a 512 MB value is never copied
/// to read a byte of it.
pub fn with_string(ctx: &mut Ctx, key: &[u8], f: impl FnOnce(Option<&[u8]>, &mut Reply)) {
    let now = ctx.now;
    match ctx
        .ks
        .db(ctx.client.db, key)
        .get(key, now)
        .map(|e| &e.value)
    {
        None => f(None, ctx.out),
        Some(Value::String(s)) => f(Some(s), ctx.out),
        Some(_) => ctx.out.error(err::WRONGTYPE),
    }
}

/// GET key: the value goes from the entry to the reply (no copy).
pub fn get(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (key, now) = (argv[1], ctx.now);
    match ctx
        .ks
        .db(ctx.client.db, key)
        .get(key, now)
        .map(|e| &e.value)
    {
        None => ctx.out.null(),
        Some(Value::String(s)) => ctx.out.bulk(s),
        Some(_) => ctx.out.error(err::WRONGTYPE),
    }
}

/// How an expire argument is to be read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Unit {
    Seconds,
    Millis,
}

/// Turns an EX/PX/EXAT/PXAT argument into an absolute deadline in ms, with
/// Redis's checks: a positive integer, no overflow once converted.
fn parse_expire(
    ctx: &mut Ctx,
    arg: &[u8],
    unit: Unit,
    absolute: bool,
    cmd: &str,
) -> Result<u64, ()> {
    let Some(v) = parse_i64(arg) else {
        ctx.out.error(err::NOT_INTEGER);
        return Err(());
    };
    let invalid = |ctx: &mut Ctx| {
        ctx.out
            .error(&format!("ERR invalid expire time in '{cmd}' command"));
        Err(())
    };
    if v <= 0 || (unit == Unit::Seconds && v > i64::MAX / 1000) {
        return invalid(ctx);
    }
    let ms = if unit == Unit::Seconds { v * 1000 } else { v };
    let ms = if absolute {
        ms
    } else {
        match ms.checked_add(ctx.now as i64) {
            Some(x) => x,
            None => return invalid(ctx),
        }
    };
    Ok(ms as u64)
}

/// The options of SET and GETEX (Redis's parseExtendedStringArgumentsOrReply).
#[derive(Default)]
struct StrOpts<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    persist: bool,
    /// (argument, unit, absolute)
    expire: Option<(&'a [u8], Unit, bool)>,
}

fn parse_str_opts<'a>(args: &[&'a [u8]], is_set: bool) -> Option<StrOpts<'a>> {
    let mut o = StrOpts::default();
    let mut j = 0;
    while j < args.len() {
        let a = args[j];
        let next = args.get(j + 1).copied();
        // Which expire option is already set, to refuse mixing them.
        let kind = o.expire.map(|(_, u, abs)| (u, abs));
        let other_expire = |u: Unit, abs: bool| kind.is_some_and(|k| k != (u, abs));
        if eq(a, "nx") && !o.xx && is_set {
            o.nx = true;
        } else if eq(a, "xx") && !o.nx && is_set {
            o.xx = true;
        } else if eq(a, "get") && is_set {
            o.get = true;
        } else if eq(a, "keepttl") && !o.persist && kind.is_none() && is_set {
            o.keepttl = true;
        } else if eq(a, "persist") && !is_set && kind.is_none() && !o.keepttl {
            o.persist = true;
        } else if let (Some((u, abs)), Some(n)) = (
            match a.to_ascii_lowercase().as_slice() {
                b"ex" => Some((Unit::Seconds, false)),
                b"px" => Some((Unit::Millis, false)),
                b"exat" => Some((Unit::Seconds, true)),
                b"pxat" => Some((Unit::Millis, true)),
                _ => None,
            },
            next,
        ) {
            if o.keepttl || o.persist || other_expire(u, abs) {
                return None;
            }
            o.expire = Some((n, u, abs));
            j += 1;
        } else {
            return None;
        }
        j += 1;
    }
    Some(o)
}

/// `SET key value [NX|XX] [GET] [EX s|PX ms|EXAT ts|PXAT ms-ts|KEEPTTL]`
pub fn set(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(o) = parse_str_opts(&argv[3..], true) else {
        return ctx.out.error(err::SYNTAX);
    };
    let expire = match o.expire {
        Some((arg, unit, abs)) => match parse_expire(ctx, arg, unit, abs, "set") {
            Ok(at) => Some(at),
            Err(()) => return,
        },
        None => None,
    };
    let key = argv[1];
    let now = ctx.now;
    // Plain SET (the common case) needs no lookup before storing.
    // (A write's lookup: with GET, only the GET's counts as a read.)
    let exists = (o.nx || o.xx) && ctx.db(key).contains_to_write(key, now);
    if (o.nx && exists) || (o.xx && !exists) {
        // Not set (nothing to propagate): GET replies the value as it
        // stays (WRONGTYPE for another type, as Redis).
        ctx.propagate_nothing();
        if o.get {
            with_string(ctx, key, |old, out| match old {
                Some(v) => out.bulk(v),
                None => out.null(),
            });
        } else {
            ctx.out.null();
        }
        return;
    }
    // Replaced: the old value is taken out of the entry, not copied.
    let old = if o.get {
        match take_string(ctx, key) {
            Ok(v) => Some(v),
            Err(()) => return,
        }
    } else {
        None
    };
    let db = ctx.db(key);
    if o.keepttl {
        db.set_keep_ttl(key, string(argv[2]), now);
    } else {
        db.set(key, string(argv[2]), expire, now);
    }
    ctx.changed(class::STRING, "set", key);
    if expire.is_some() {
        ctx.notify(class::GENERIC, "expire", key);
    }
    // A relative deadline is propagated as the absolute one it became,
    // so a replay later sets the same (Redis: SET key value PXAT ms).
    if let (Some(at), Some((_, unit, abs))) = (expire, o.expire) {
        if !(abs && matches!(unit, Unit::Millis)) {
            propagate_set_pxat(ctx, key, argv[2], at);
        }
    }
    match old {
        Some(Some(v)) => ctx.out.bulk(&v),
        Some(None) => ctx.out.null(),
        None => ctx.out.ok(),
    }
}

/// SETNX key value
pub fn setnx(ctx: &mut Ctx, argv: &[&[u8]]) {
    let now = ctx.now;
    let db = ctx.db(argv[1]);
    if db.contains(argv[1], now) {
        return ctx.out.int(0);
    }
    db.set(argv[1], string(argv[2]), None, now);
    ctx.changed(class::STRING, "set", argv[1]);
    ctx.out.int(1);
}

fn setex_generic(ctx: &mut Ctx, argv: &[&[u8]], unit: Unit, cmd: &str) {
    let Ok(at) = parse_expire(ctx, argv[2], unit, false, cmd) else {
        return;
    };
    let now = ctx.now;
    ctx.db(argv[1]).set(argv[1], string(argv[3]), Some(at), now);
    ctx.changed(class::STRING, "set", argv[1]);
    ctx.notify(class::GENERIC, "expire", argv[1]);
    propagate_set_pxat(ctx, argv[1], argv[3], at);
    ctx.out.ok();
}

/// Propagates `SET key value PXAT at` (the deterministic form of SET with
/// a relative or second deadline, SETEX, PSETEX).
fn propagate_set_pxat(ctx: &mut Ctx, key: &[u8], value: &[u8], at: u64) {
    if ctx.propagating() {
        let at = at.to_string();
        ctx.propagate(&[b"SET", key, value, b"PXAT", at.as_bytes()]);
    }
}

/// SETEX key seconds value
pub fn setex(ctx: &mut Ctx, argv: &[&[u8]]) {
    setex_generic(ctx, argv, Unit::Seconds, "setex");
}

/// PSETEX key milliseconds value
pub fn psetex(ctx: &mut Ctx, argv: &[&[u8]]) {
    setex_generic(ctx, argv, Unit::Millis, "psetex");
}

/// The string at `key` taken out of its entry (no copy; the caller
/// overwrites or deletes the key next): Ok(None) if there is none, Err
/// once WRONGTYPE is replied.
fn take_string(ctx: &mut Ctx, key: &[u8]) -> Result<Option<Str>, ()> {
    let now = ctx.now;
    match ctx
        .ks
        .db(ctx.client.db, key)
        .get(key, now)
        .map(|e| &mut e.value)
    {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(std::mem::take(s))),
        Some(_) => {
            ctx.out.error(err::WRONGTYPE);
            Err(())
        }
    }
}

/// GETSET key value: SET key value GET.
pub fn getset(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Ok(old) = take_string(ctx, argv[1]) else {
        return;
    };
    let now = ctx.now;
    ctx.db(argv[1]).set(argv[1], string(argv[2]), None, now);
    ctx.changed(class::STRING, "set", argv[1]);
    match old {
        Some(v) => ctx.out.bulk(&v),
        None => ctx.out.null(),
    }
}

/// GETDEL key
pub fn getdel(ctx: &mut Ctx, argv: &[&[u8]]) {
    match take_string(ctx, argv[1]) {
        Ok(Some(v)) => {
            ctx.db(argv[1]).remove(argv[1]);
            ctx.changed(class::GENERIC, "del", argv[1]);
            ctx.out.bulk(&v);
        }
        Ok(None) => ctx.out.null(),
        Err(()) => {}
    }
}

/// GETEX key [EX s|PX ms|EXAT ts|PXAT ms-ts|PERSIST]
pub fn getex(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(o) = parse_str_opts(&argv[2..], false) else {
        return ctx.out.error(err::SYNTAX);
    };
    let (key, now) = (argv[1], ctx.now);
    // Propagated only as the deadline change it made (below).
    ctx.propagate_nothing();
    // Redis looks the key up before it validates the expire argument.
    match ctx.db(key).get(key, now).map(|e| &e.value) {
        None => return ctx.out.null(),
        Some(Value::String(_)) => {}
        Some(_) => return ctx.out.error(err::WRONGTYPE),
    }
    let mut absolute = false;
    let expire = match o.expire {
        Some((arg, unit, abs)) => {
            absolute = abs;
            match parse_expire(ctx, arg, unit, abs, "getex") {
                Ok(at) => Some(at),
                Err(()) => return,
            }
        }
        None => None,
    };
    // The value is replied where it lies, before its deadline changes.
    with_string(ctx, key, |v, out| {
        if let Some(v) = v {
            out.bulk(v)
        }
    });
    let db = ctx.db(key);
    match expire {
        // An absolute deadline already past deletes the key, as Redis does.
        Some(at) if absolute && at <= now => {
            db.remove(key);
            ctx.changed(class::GENERIC, "del", key);
            ctx.propagate(&[b"DEL", key]);
        }
        Some(at) => {
            db.set_expire(key, Some(at));
            ctx.changed(class::GENERIC, "expire", key);
            if ctx.propagating() {
                let at = at.to_string();
                ctx.propagate(&[b"PEXPIREAT", key, at.as_bytes()]);
            }
        }
        // Only a deadline removed is a change (Redis's removeExpire).
        None if o.persist && db.expire_at(key).is_some() => {
            db.set_expire(key, None);
            ctx.changed(class::GENERIC, "persist", key);
            ctx.propagate(&[b"PERSIST", key]);
        }
        None => {}
    }
}

/// MGET key [key ...]: nil for missing keys and for other types.
pub fn mget(ctx: &mut Ctx, argv: &[&[u8]]) {
    ctx.out.array(argv.len() - 1);
    let now = ctx.now;
    for &k in &argv[1..] {
        match ctx
            .ks
            .db(ctx.client.db, k)
            .get(k, now)
            .and_then(|e| e.value.as_str())
        {
            Some(s) => ctx.out.bulk(s),
            None => ctx.out.null(),
        }
    }
}

/// MSET key value [key value ...]
pub fn mset(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() % 2 == 0 {
        return arity_error(ctx.out, "mset");
    }
    for kv in argv[1..].chunks_exact(2) {
        let now = ctx.now;
        ctx.db(kv[0]).set(kv[0], string(kv[1]), None, now);
        ctx.changed(class::STRING, "set", kv[0]);
    }
    ctx.out.ok();
}

/// MSETNX key value [key value ...]: all or nothing.
pub fn msetnx(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() % 2 == 0 {
        return arity_error(ctx.out, "msetnx");
    }
    let now = ctx.now;
    for kv in argv[1..].chunks_exact(2) {
        if ctx.db(kv[0]).contains(kv[0], now) {
            return ctx.out.int(0);
        }
    }
    for kv in argv[1..].chunks_exact(2) {
        let now = ctx.now;
        ctx.db(kv[0]).set(kv[0], string(kv[1]), None, now);
        ctx.changed(class::STRING, "set", kv[0]);
    }
    ctx.out.int(1);
}

/// APPEND key value: the new length; keeps the TTL. The value grows where
/// it lies (no copy of what is there: a log built by APPENDs costs what is
/// appended, not the whole string each time).
pub fn append(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (key, add, now, max) = (argv[1], argv[2], ctx.now, ctx.max_string());
    let db = ctx.ks.db(ctx.client.db, key);
    let n = match db.get(key, now).map(|e| &mut e.value) {
        Some(Value::String(s)) => {
            if (s.len() + add.len()) as u64 > max {
                return ctx.out.error(TOO_BIG);
            }
            let mut v = std::mem::take(s).into_vec();
            v.extend_from_slice(add);
            let n = v.len();
            *s = Str::from(v);
            n
        }
        Some(_) => return ctx.out.error(err::WRONGTYPE),
        None => {
            if add.len() as u64 > max {
                return ctx.out.error(TOO_BIG);
            }
            db.set_keep_ttl(key, string(add), now);
            add.len()
        }
    };
    ctx.changed(class::STRING, "append", key);
    ctx.out.int(n as i64);
}

/// STRLEN key
pub fn strlen(ctx: &mut Ctx, argv: &[&[u8]]) {
    with_string(ctx, argv[1], |s, out| {
        out.int(s.map_or(0, |s| s.len() as i64))
    });
}

/// GETRANGE key start end (inclusive, negative from the end).
pub fn getrange(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (Some(start), Some(end)) = (parse_i64(argv[2]), parse_i64(argv[3])) else {
        return ctx.out.error(err::NOT_INTEGER);
    };
    with_string(ctx, argv[1], |s, out| {
        let Some(s) = s else { return out.bulk(b"") };
        if start < 0 && end < 0 && start > end {
            return out.bulk(b"");
        }
        let len = s.len() as i128;
        let (mut start, mut end) = (start as i128, end as i128);
        if start < 0 {
            start += len;
        }
        if end < 0 {
            end += len;
        }
        start = start.max(0);
        end = end.max(0);
        if end >= len {
            end = len - 1;
        }
        if start > end || len == 0 {
            out.bulk(b"");
        } else {
            out.bulk(&s[start as usize..=end as usize]);
        }
    });
}

/// SETRANGE key offset value: overwrite at offset, zero-padding; the new
/// length.
pub fn setrange(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(off) = parse_i64(argv[2]) else {
        return ctx.out.error(err::NOT_INTEGER);
    };
    if off < 0 {
        return ctx.out.error("ERR offset is out of range");
    }
    let (key, val, now, max) = (argv[1], argv[3], ctx.now, ctx.max_string());
    let db = ctx.ks.db(ctx.client.db, key);
    // The value is edited where it lies (taken out, no copy; put back).
    let old = match db.get(key, now).map(|e| &mut e.value) {
        Some(Value::String(s)) => Some(s),
        Some(_) => return ctx.out.error(err::WRONGTYPE),
        None => None,
    };
    if val.is_empty() {
        // Nothing to write: the length as it is, and no key is created.
        return ctx.out.int(old.map_or(0, |s| s.len() as i64));
    }
    // off is client input up to i64::MAX: compare without adding.
    if off as u64 > max.saturating_sub(val.len() as u64) {
        return ctx.out.error(TOO_BIG);
    }
    let off = off as usize;
    let write = |mut v: Vec<u8>| {
        if v.len() < off + val.len() {
            v.resize(off + val.len(), 0);
        }
        v[off..off + val.len()].copy_from_slice(val);
        v
    };
    let n = match old {
        Some(s) => {
            let v = write(std::mem::take(s).into_vec());
            let n = v.len();
            *s = Str::from(v);
            n
        }
        None => {
            let v = write(Vec::new());
            let n = v.len();
            db.set_keep_ttl(key, Value::String(Str::from(v)), now);
            n
        }
    };
    ctx.changed(class::STRING, "setrange", key);
    ctx.out.int(n as i64);
}

/// INCR/DECR/INCRBY/DECRBY: integer arithmetic on the string, keeping the TTL.
fn incr_by(ctx: &mut Ctx, key: &[u8], by: i64) {
    let now = ctx.now;
    let db = ctx.ks.db(ctx.client.db, key);
    // One lookup: the number is rewritten in place (keeping the TTL).
    let (slot, cur) = match db.get(key, now).map(|e| &mut e.value) {
        None => (None, 0),
        Some(Value::String(s)) => match parse_i64(s) {
            Some(n) => (Some(s), n),
            None => return ctx.out.error(err::NOT_INTEGER),
        },
        Some(_) => return ctx.out.error(err::WRONGTYPE),
    };
    let Some(new) = cur.checked_add(by) else {
        return ctx.out.error(err::OVERFLOW);
    };
    let mut b = [0u8; 20];
    let text = crate::proto::reply::fmt_i64(&mut b, new);
    match slot {
        Some(s) => *s = Str::new(text),
        None => db.set(key, string(text), None, now),
    }
    ctx.changed(class::STRING, "incrby", key);
    ctx.out.int(new);
}

pub fn incr(ctx: &mut Ctx, argv: &[&[u8]]) {
    incr_by(ctx, argv[1], 1);
}

pub fn decr(ctx: &mut Ctx, argv: &[&[u8]]) {
    incr_by(ctx, argv[1], -1);
}

pub fn incrby(ctx: &mut Ctx, argv: &[&[u8]]) {
    match parse_i64(argv[2]) {
        Some(n) => incr_by(ctx, argv[1], n),
        None => ctx.out.error(err::NOT_INTEGER),
    }
}

pub fn decrby(ctx: &mut Ctx, argv: &[&[u8]]) {
    match parse_i64(argv[2]) {
        Some(i64::MIN) => ctx.out.error("ERR decrement would overflow"),
        Some(n) => incr_by(ctx, argv[1], -n),
        None => ctx.out.error(err::NOT_INTEGER),
    }
}

/// INCRBYFLOAT key increment: the new value as a string (see
/// [`crate::util::fmt_human`] for how it is printed).
pub fn incrbyfloat(ctx: &mut Ctx, argv: &[&[u8]]) {
    // Parsed where it lies (a huge string is not copied to fail parsing);
    // None after with_string: WRONGTYPE was replied.
    let mut found = None;
    with_string(ctx, argv[1], |s, _| {
        found = Some(s.map_or(Some(0.0), parse_f64))
    });
    let Some(cur) = found else {
        return;
    };
    let (Some(cur), Some(by)) = (cur, parse_f64(argv[2])) else {
        return ctx.out.error(err::NOT_FLOAT);
    };
    let new = cur + by;
    if !new.is_finite() {
        return ctx.out.error("ERR increment would produce NaN or Infinity");
    }
    let text = fmt_human(new);
    let now = ctx.now;
    ctx.db(argv[1])
        .set_keep_ttl(argv[1], string(text.as_bytes()), now);
    ctx.changed(class::STRING, "incrbyfloat", argv[1]);
    // The result, not the increment: float arithmetic must not be redone.
    ctx.propagate(&[b"SET", argv[1], text.as_bytes(), b"KEEPTTL"]);
    ctx.out.bulk(text.as_bytes());
}
