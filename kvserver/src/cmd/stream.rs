//! Stream commands (Redis's t_stream.c): XADD XLEN XRANGE XREVRANGE XDEL
//! XTRIM XREAD XINFO (STREAM, GROUPS, CONSUMERS, HELP) XSETID. Consumer
//! groups (XGROUP, XREADGROUP, XACK, XPENDING, XCLAIM) are not implemented.
//!
//! The value is a [`Stream`] (see `stream.rs`). Unlike the other
//! collections, a stream may be empty: XDEL and XTRIM never delete the key,
//! as in Redis (the stream keeps its last ID, so later IDs stay monotonic).
//!
//! IDs are parsed as Redis's streamGenericParseIDOrReply does: `ms-seq` or
//! `ms` (the sequence then defaults to 0, or to the maximum for a range's
//! end), each part as string2ull (so `+5` and ` 5` are accepted, as Redis's
//! strtoull fallback does), the argument read as a C string (up to a NUL),
//! at most 127 bytes; `-`/`+` are the smallest/greatest IDs where a range
//! allows them ("strict" commands refuse them); `(` before an ID makes a
//! range bound exclusive; XADD also takes `*` and `ms-*`.

use crate::exec::context::Ctx;
use crate::exec::notify::class;
use crate::exec::table::arity_error;
use crate::keyspace::{Db, Locked};
use crate::proto::reply::{err, Reply};
use crate::types::stream::{Pairs, Stream, StreamId, Trim};
use crate::types::{Value, WrongType};
use crate::util::parse_i64;

const INVALID_ID: &str = "ERR Invalid stream ID specified as stream command argument";
const XADD_EDOM: &str =
    "ERR The ID specified in XADD is equal or smaller than the target stream top item";
const XADD_ZERO: &str = "ERR The ID specified in XADD must be greater than 0-0";
const XADD_EXHAUSTED: &str =
    "ERR The stream has exhausted the last possible ID, unable to add more items";
const MAXLEN_MINID: &str =
    "ERR syntax error, MAXLEN and MINID options at the same time are not compatible";
/// Redis's default LIMIT for `~` trimming: 100 * stream-node-max-entries.
const DEFAULT_APPROX_LIMIT: i64 = 10_000;

fn new_stream() -> Value {
    Value::Stream(Box::default())
}

fn lookup<'a>(db: &'a mut Db, key: &[u8], now: u64) -> Result<Option<&'a mut Stream>, WrongType> {
    db.typed(key, now, None, Value::as_stream)
}

/// The argument as Redis's C string functions see it: up to the first NUL.
fn cstr(a: &[u8]) -> &[u8] {
    a.iter().position(|&c| c == 0).map_or(a, |n| &a[..n])
}

fn is(a: &[u8], word: &str) -> bool {
    cstr(a).eq_ignore_ascii_case(word.as_bytes())
}

/// Redis's string2ull: string2ll if it accepts (negative refused), else
/// strtoull base 10 (leading spaces and a sign allowed, the whole string,
/// no overflow).
fn string2ull(s: &[u8]) -> Option<u64> {
    if let Some(v) = parse_i64(s) {
        return u64::try_from(v).ok();
    }
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let neg = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let digits = &s[i..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// streamGenericParseIDOrReply, without the reply: the ID and whether its
/// sequence was given (false only for XADD's `ms-*`, with `seq_star`).
fn parse_id(a: &[u8], missing_seq: u64, strict: bool, seq_star: bool) -> Option<(StreamId, bool)> {
    if a.len() > 127 {
        return None;
    }
    let s = cstr(a);
    if s == b"-" || s == b"+" {
        if strict {
            return None;
        }
        return Some((
            if s == b"-" {
                StreamId::MIN
            } else {
                StreamId::MAX
            },
            true,
        ));
    }
    match s.iter().position(|&c| c == b'-') {
        None => Some((StreamId::new(string2ull(s)?, missing_seq), true)),
        Some(d) => {
            let ms = string2ull(&s[..d])?;
            let rest = &s[d + 1..];
            if seq_star && rest == b"*" {
                return Some((StreamId::new(ms, 0), false));
            }
            Some((StreamId::new(ms, string2ull(rest)?), true))
        }
    }
}

/// A strict ID (no `-`/`+`), missing sequence 0: XDEL, XREAD, XSETID,
/// MINID.
fn parse_strict(a: &[u8]) -> Option<StreamId> {
    parse_id(a, 0, true, false).map(|(id, _)| id)
}

/// A range bound (streamParseIntervalIDOrReply): `(id` is exclusive.
fn parse_interval(a: &[u8], missing_seq: u64) -> Option<(StreamId, bool)> {
    if a.len() > 1 && a[0] == b'(' {
        let id = parse_id(&a[1..], missing_seq, true, false)?.0;
        Some((id, true))
    } else {
        Some((parse_id(a, missing_seq, false, false)?.0, false))
    }
}

/// One entry: `[id, [field, value, ...]]` (an array in RESP3 too).
fn reply_entry(out: &mut Reply, id: StreamId, pairs: Pairs) {
    out.array(2);
    out.bulk(&id.to_bytes());
    out.array(pairs.len() * 2);
    for (f, v) in pairs {
        out.bulk(f);
        out.bulk(v);
    }
}

fn reply_entries(out: &mut Reply, entries: Vec<(StreamId, Pairs)>) {
    out.array(entries.len());
    for (id, p) in entries {
        reply_entry(out, id, p);
    }
}

/// XADD/XTRIM options (streamParseAddOrTrimArgsOrReply).
struct AddTrim {
    trim: Option<Trim>,
    approx: bool,
    /// 0: no limit.
    limit: i64,
    nomkstream: bool,
    /// XADD's ID (None: `*`) and whether its sequence was given.
    id: Option<(StreamId, bool)>,
    /// Index of the ID argument (XADD), or argc if none was found.
    id_pos: usize,
}

fn parse_add_trim(argv: &[&[u8]], xadd: bool) -> Result<AddTrim, &'static str> {
    let mut o = AddTrim {
        trim: None,
        approx: false,
        limit: 0,
        nomkstream: false,
        id: None,
        id_pos: argv.len(),
    };
    let mut limit_given = false;
    let mut i = 2;
    while i < argv.len() {
        let more = argv.len() - 1 - i;
        let opt = argv[i];
        if xadd && cstr(opt) == b"*" {
            o.id_pos = i;
            break;
        } else if (is(opt, "maxlen") || is(opt, "minid")) && more > 0 {
            if o.trim.is_some() {
                return Err(MAXLEN_MINID);
            }
            let next = cstr(argv[i + 1]);
            o.approx = false;
            if more >= 2 && next == b"~" {
                o.approx = true;
                i += 1;
            } else if more >= 2 && next == b"=" {
                i += 1;
            }
            let arg = argv[i + 1];
            o.trim = Some(if is(opt, "maxlen") {
                let n = parse_i64(arg).ok_or(err::NOT_INTEGER)?;
                if n < 0 {
                    return Err("ERR The MAXLEN argument must be >= 0.");
                }
                Trim::MaxLen(n as u64)
            } else {
                Trim::MinId(parse_strict(arg).ok_or(INVALID_ID)?)
            });
            i += 1;
        } else if is(opt, "limit") && more > 0 {
            let n = parse_i64(argv[i + 1]).ok_or(err::NOT_INTEGER)?;
            if n < 0 {
                return Err("ERR The LIMIT argument must be >= 0.");
            }
            o.limit = n;
            limit_given = true;
            i += 1;
        } else if xadd && is(opt, "nomkstream") {
            o.nomkstream = true;
        } else if xadd {
            // Not an option: the ID (or a syntax error, reported as an
            // invalid ID, as Redis does).
            o.id = Some(parse_id(opt, 0, true, true).ok_or(INVALID_ID)?);
            o.id_pos = i;
            break;
        } else {
            return Err(err::SYNTAX);
        }
        i += 1;
    }
    if o.limit != 0 && o.trim.is_none() {
        return Err(
            "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy",
        );
    }
    if !xadd && o.trim.is_none() {
        return Err("ERR syntax error, XTRIM must be called with a trimming strategy");
    }
    if limit_given {
        if !o.approx {
            return Err("ERR syntax error, LIMIT cannot be used without the special ~ option");
        }
    } else if o.approx {
        o.limit = DEFAULT_APPROX_LIMIT;
    } else {
        o.limit = 0;
    }
    Ok(o)
}

/// `XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]]`
/// *|id field value [field value ...]: the new entry's ID.
pub fn xadd(ctx: &mut Ctx, argv: &[&[u8]]) {
    let o = match parse_add_trim(argv, true) {
        Ok(o) => o,
        Err(e) => return ctx.out.error(e),
    };
    let fields = argv.len() as i64 - (o.id_pos as i64 + 1);
    if fields < 2 || fields % 2 == 1 {
        return arity_error(ctx.out, "xadd");
    }
    if let Some((id, true)) = o.id {
        if id == StreamId::MIN {
            return ctx.out.error(XADD_ZERO);
        }
    }
    let (now, dbi, key) = (ctx.now, ctx.client.db, argv[1]);
    let db = ctx.ks.db(dbi, key);
    let last = match lookup(db, key, now) {
        Err(WrongType) => return ctx.out.error(err::WRONGTYPE),
        Ok(None) if o.nomkstream => {
            ctx.propagate_nothing();
            return ctx.out.null();
        }
        Ok(None) => StreamId::MIN,
        Ok(Some(s)) => s.last_id,
    };
    if last == StreamId::MAX {
        return ctx.out.error(XADD_EXHAUSTED);
    }
    // streamAppendItem's ID choice.
    let id = match o.id {
        None if now > last.ms => Some(StreamId::new(now, 0)),
        None => last.incr(),
        Some((id, true)) => Some(id),
        Some((id, false)) if id.ms == last.ms => {
            if last.seq == u64::MAX {
                // Redis 7.0 leaves errno unset on this path, so it reports
                // the other failure of streamAppendItem.
                return ctx.out.error("ERR Elements are too large to be stored");
            }
            last.incr()
        }
        Some((id, false)) => Some(id),
    };
    let Some(id) = id.filter(|&id| id > last) else {
        return ctx.out.error(XADD_EDOM);
    };
    // Only now create the key: every error above leaves no empty stream.
    let Ok(Some(s)) = db.typed(key, now, Some(new_stream), Value::as_stream) else {
        return ctx.out.error(err::WRONGTYPE);
    };
    s.append(id, &argv[o.id_pos + 1..]);
    let id = id.to_bytes();
    ctx.out.bulk(&id);
    let trimmed = o
        .trim
        .map_or(0, |how| s.trim(how, o.approx, o.limit as u64));
    let len = s.len();
    ctx.changed(class::STREAM, "xadd", key);
    if trimmed > 0 {
        ctx.notify(class::STREAM, "xtrim", key);
    }
    // Propagated with the ID it got (a replay must not pick another), and
    // an approximate trim as the exact one it did.
    if ctx.propagating() {
        let mut xadd: Vec<&[u8]> = vec![b"XADD", key];
        if o.nomkstream {
            xadd.push(b"NOMKSTREAM");
        }
        xadd.push(&id);
        xadd.extend_from_slice(&argv[o.id_pos + 1..]);
        ctx.propagate(&xadd);
        if o.trim.is_some() {
            propagate_exact_trim(ctx, key, len);
        }
    }
}

/// Propagates `XTRIM key MAXLEN = len`: what a trim left, whatever `~`
/// and LIMIT made it do.
fn propagate_exact_trim(ctx: &mut Ctx, key: &[u8], len: usize) {
    let len = len.to_string();
    ctx.propagate(&[b"XTRIM", key, b"MAXLEN", b"=", len.as_bytes()]);
}

/// XLEN key
pub fn xlen(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (now, dbi, key) = (ctx.now, ctx.client.db, argv[1]);
    match lookup(ctx.ks.db(dbi, key), key, now) {
        Err(WrongType) => ctx.out.error(err::WRONGTYPE),
        Ok(s) => ctx.out.int(s.map_or(0, |s| s.len() as i64)),
    }
}

fn xrange_generic(ctx: &mut Ctx, argv: &[&[u8]], rev: bool) {
    let (start_arg, end_arg) = if rev {
        (argv[3], argv[2])
    } else {
        (argv[2], argv[3])
    };
    let Some((mut start, start_ex)) = parse_interval(start_arg, 0) else {
        return ctx.out.error(INVALID_ID);
    };
    if start_ex {
        match start.incr() {
            Some(s) => start = s,
            None => return ctx.out.error("ERR invalid start ID for the interval"),
        }
    }
    let Some((mut end, end_ex)) = parse_interval(end_arg, u64::MAX) else {
        return ctx.out.error(INVALID_ID);
    };
    if end_ex {
        match end.decr() {
            Some(e) => end = e,
            None => return ctx.out.error("ERR invalid end ID for the interval"),
        }
    }
    let mut count: Option<i64> = None;
    let mut j = 4;
    while j < argv.len() {
        if is(argv[j], "count") && j + 1 < argv.len() {
            let Some(n) = parse_i64(argv[j + 1]) else {
                return ctx.out.error(err::NOT_INTEGER);
            };
            count = Some(n.max(0));
            j += 2;
        } else {
            return ctx.out.error(err::SYNTAX);
        }
    }
    let (now, dbi, key) = (ctx.now, ctx.client.db, argv[1]);
    let s = match lookup(ctx.ks.db(dbi, key), key, now) {
        Err(WrongType) => return ctx.out.error(err::WRONGTYPE),
        Ok(None) => return ctx.out.array(0),
        Ok(Some(s)) => s,
    };
    let count = match count {
        Some(0) => return ctx.out.null_array(),
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
        None => 0,
    };
    reply_entries(ctx.out, s.range(start, end, rev, count));
}

/// XRANGE key start end [COUNT count]
pub fn xrange(ctx: &mut Ctx, argv: &[&[u8]]) {
    xrange_generic(ctx, argv, false);
}

/// XREVRANGE key end start [COUNT count]
pub fn xrevrange(ctx: &mut Ctx, argv: &[&[u8]]) {
    xrange_generic(ctx, argv, true);
}

/// XDEL key id [id ...]: how many entries were deleted. The key stays,
/// even when the stream becomes empty.
pub fn xdel(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (now, dbi, key) = (ctx.now, ctx.client.db, argv[1]);
    let s = match lookup(ctx.ks.db(dbi, key), key, now) {
        Err(WrongType) => return ctx.out.error(err::WRONGTYPE),
        Ok(None) => return ctx.out.int(0),
        Ok(Some(s)) => s,
    };
    // Every ID is checked before anything is deleted.
    let mut ids = Vec::with_capacity(argv.len() - 2);
    for a in &argv[2..] {
        match parse_strict(a) {
            Some(id) => ids.push(id),
            None => return ctx.out.error(INVALID_ID),
        }
    }
    let mut deleted = 0;
    for id in ids {
        if s.delete(id) {
            s.max_deleted = s.max_deleted.max(id);
            deleted += 1;
        }
    }
    if deleted > 0 {
        ctx.changed(class::STREAM, "xdel", key);
        ctx.dirty(deleted as u64 - 1);
    }
    ctx.out.int(deleted);
}

/// XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]: entries removed.
pub fn xtrim(ctx: &mut Ctx, argv: &[&[u8]]) {
    let o = match parse_add_trim(argv, false) {
        Ok(o) => o,
        Err(e) => return ctx.out.error(e),
    };
    let (now, dbi, key) = (ctx.now, ctx.client.db, argv[1]);
    match lookup(ctx.ks.db(dbi, key), key, now) {
        Err(WrongType) => ctx.out.error(err::WRONGTYPE),
        Ok(None) => {
            ctx.propagate_nothing();
            ctx.out.int(0)
        }
        Ok(Some(s)) => {
            let n = match o.trim {
                Some(how) => s.trim(how, o.approx, o.limit as u64),
                None => 0,
            };
            let len = s.len();
            if n > 0 {
                ctx.changed(class::STREAM, "xtrim", key);
                ctx.dirty(n - 1);
                propagate_exact_trim(ctx, key, len);
            }
            ctx.out.int(n as i64)
        }
    }
}

/// XREAD's synchronous part, shared with the blocking path to come: for
/// each key, the entries with an ID greater than its `after` ID (at most
/// `count` per stream, 0 = all). If any stream has some, writes the reply
/// (RESP2: `[[key, entries]...]`, RESP3: a map key -> entries, streams
/// with nothing omitted) and returns true; otherwise writes nothing and
/// returns false (the caller then blocks or replies null). `after` holds
/// concrete IDs: `$` already resolved to each stream's last ID when the
/// command arrived. A key that is missing or not a stream has nothing.
pub fn xread_serve(
    ks: &mut Locked,
    dbi: usize,
    now: u64,
    keys: &[&[u8]],
    after: &[StreamId],
    count: usize,
    out: &mut Reply,
) -> bool {
    // First pass: which streams have something (the reply's length comes
    // first on the wire).
    let mut ready = Vec::new();
    for (i, (&key, &gt)) in keys.iter().zip(after).enumerate() {
        if let Ok(Some(s)) = lookup(ks.db(dbi, key), key, now) {
            if !s.is_empty() && s.last_valid_id() > gt {
                ready.push(i);
            }
        }
    }
    if ready.is_empty() {
        return false;
    }
    if out.resp3() {
        out.map(ready.len());
    } else {
        out.array(ready.len());
    }
    for i in ready {
        let key = keys[i];
        if !out.resp3() {
            out.array(2);
        }
        out.bulk(key);
        match (lookup(ks.db(dbi, key), key, now), after[i].incr()) {
            (Ok(Some(s)), Some(start)) => {
                reply_entries(out, s.range(start, StreamId::MAX, false, count))
            }
            _ => out.array(0),
        }
    }
    true
}

/// XREAD [COUNT count] [BLOCK ms] STREAMS key [key ...] id [id ...]
pub fn xread(ctx: &mut Ctx, argv: &[&[u8]]) {
    let mut block: Option<i64> = None;
    let mut count: i64 = 0;
    let mut streams_at = 0;
    let mut i = 1;
    while i < argv.len() {
        let more = argv.len() - 1 - i;
        let o = argv[i];
        if is(o, "block") && more > 0 {
            if ctx.client.in_script {
                return ctx
                    .out
                    .error("ERR xread command is not allowed with BLOCK option from scripts");
            }
            i += 1;
            let Some(t) = parse_i64(argv[i]) else {
                return ctx
                    .out
                    .error("ERR timeout is not an integer or out of range");
            };
            if t < 0 {
                return ctx.out.error("ERR timeout is negative");
            }
            if t > 0 && t > i64::MAX - ctx.now as i64 {
                return ctx.out.error("ERR timeout is out of range");
            }
            block = Some(t);
        } else if is(o, "count") && more > 0 {
            i += 1;
            let Some(n) = parse_i64(argv[i]) else {
                return ctx.out.error(err::NOT_INTEGER);
            };
            count = n.max(0);
        } else if is(o, "streams") && more > 0 {
            streams_at = i + 1;
            if (argv.len() - streams_at) % 2 != 0 {
                return ctx.out.error(
                    "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.",
                );
            }
            break;
        } else if is(o, "group") && more >= 2 {
            return ctx.out.error(
                "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
            );
        } else if is(o, "noack") {
            return ctx.out.error(
                "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
            );
        } else {
            return ctx.out.error(err::SYNTAX);
        }
        i += 1;
    }
    if streams_at == 0 {
        return ctx.out.error(err::SYNTAX);
    }
    let n = (argv.len() - streams_at) / 2;
    let keys = &argv[streams_at..streams_at + n];
    let (now, dbi) = (ctx.now, ctx.client.db);
    // Per stream, as Redis: its type, then its ID (so a WRONGTYPE key
    // before a bad ID reports WRONGTYPE).
    let mut after = Vec::with_capacity(n);
    for (j, &key) in keys.iter().enumerate() {
        let s = match lookup(ctx.ks.db(dbi, key), key, now) {
            Err(WrongType) => return ctx.out.error(err::WRONGTYPE),
            Ok(s) => s,
        };
        let a = argv[streams_at + n + j];
        if cstr(a) == b"$" {
            after.push(s.map_or(StreamId::MIN, |s| s.last_id));
        } else if cstr(a) == b">" {
            return ctx.out.error(
                "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.",
            );
        } else {
            match parse_strict(a) {
                Some(id) => after.push(id),
                None => return ctx.out.error(INVALID_ID),
            }
        }
    }
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    if xread_serve(&mut ctx.ks, dbi, now, keys, &after, count, ctx.out) {
        return;
    }
    if let Some(ms) = block {
        // Nothing to serve now: block on `keys` until one of them gets an
        // entry past its ID or the timeout passes (0 = forever). The retry
        // carries the concrete IDs (`$` resolved now, as Redis does: only
        // entries added from now on count) and keeps BLOCK so that a
        // re-run that still finds nothing blocks again.
        let deadline = (ms > 0).then(|| now + ms as u64);
        let ids: Vec<Vec<u8>> = after.iter().map(|id| id.to_bytes()).collect();
        let count_arg = count.to_string();
        let ms_arg = ms.to_string();
        let mut retry: Vec<&[u8]> = vec![b"XREAD", b"COUNT", count_arg.as_bytes()];
        retry.extend([
            b"BLOCK".as_slice(),
            ms_arg.as_bytes(),
            b"STREAMS".as_slice(),
        ]);
        retry.extend(keys.iter().copied());
        retry.extend(ids.iter().map(|i| i.as_slice()));
        return crate::exec::blocking::block(ctx, keys, deadline, &retry);
    }
    ctx.out.null_array();
}

const XINFO_HELP: &[&str] = &[
    "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
    "HELP",
    "    Prints this help.",
];

fn subcommand_syntax_error(out: &mut Reply, sub: &[u8]) {
    let mut m = b"ERR unknown subcommand or wrong number of arguments for '".to_vec();
    m.extend_from_slice(&sub[..sub.len().min(128)]);
    m.extend_from_slice(b"'. Try XINFO HELP.");
    out.error_bytes(&m);
}

/// XINFO HELP
pub fn xinfo_help(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.out.array(XINFO_HELP.len());
    XINFO_HELP.iter().for_each(|l| ctx.out.simple(l));
}

/// XINFO GROUPS key: no consumer groups exist yet.
pub fn xinfo_groups(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (now, dbi, key) = (ctx.now, ctx.client.db, argv[2]);
    match lookup(ctx.ks.db(dbi, key), key, now) {
        Err(WrongType) => ctx.out.error(err::WRONGTYPE),
        Ok(None) => ctx.out.error(err::NO_SUCH_KEY),
        Ok(Some(_)) => ctx.out.array(0),
    }
}

/// XINFO CONSUMERS key group: no consumer groups exist yet.
pub fn xinfo_consumers(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (now, dbi, key) = (ctx.now, ctx.client.db, argv[2]);
    match lookup(ctx.ks.db(dbi, key), key, now) {
        Err(WrongType) => ctx.out.error(err::WRONGTYPE),
        Ok(None) => ctx.out.error(err::NO_SUCH_KEY),
        Ok(Some(_)) => {
            let mut m = b"NOGROUP No such consumer group '".to_vec();
            m.extend_from_slice(argv[3]);
            m.extend_from_slice(b"' for key name '");
            m.extend_from_slice(key);
            m.push(b'\'');
            ctx.out.error_bytes(&m)
        }
    }
}

/// XINFO STREAM key [FULL [COUNT count]]
pub fn xinfo_stream(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (now, dbi, key) = (ctx.now, ctx.client.db, argv[2]);
    let s = match lookup(ctx.ks.db(dbi, key), key, now) {
        Err(WrongType) => return ctx.out.error(err::WRONGTYPE),
        Ok(None) => return ctx.out.error(err::NO_SUCH_KEY),
        Ok(Some(s)) => s,
    };
    let opts = &argv[3..];
    let mut full_count = None;
    if !opts.is_empty() {
        if !is(opts[0], "full") {
            return subcommand_syntax_error(ctx.out, argv[1]);
        }
        let mut c = 10;
        if opts.len() == 3 && is(opts[1], "count") {
            let Some(n) = parse_i64(opts[2]) else {
                return ctx.out.error(err::NOT_INTEGER);
            };
            c = if n < 0 { 10 } else { n };
        } else if opts.len() != 1 {
            return subcommand_syntax_error(ctx.out, argv[1]);
        }
        full_count = Some(usize::try_from(c).unwrap_or(usize::MAX));
    }
    let out = &mut *ctx.out;
    out.map(if full_count.is_some() { 9 } else { 10 });
    out.bulk(b"length");
    out.int(s.len() as i64);
    // Redis's radix tree holds one key per listpack node; its node count
    // depends on the keys' bytes: this estimate is exact up to 3 keys.
    let keys = s.node_count();
    out.bulk(b"radix-tree-keys");
    out.int(keys as i64);
    out.bulk(b"radix-tree-nodes");
    out.int(match keys {
        0 => 1,
        1 => 2,
        k => 2 * k as i64 + 2,
    });
    out.bulk(b"last-generated-id");
    out.bulk(&s.last_id.to_bytes());
    out.bulk(b"max-deleted-entry-id");
    out.bulk(&s.max_deleted.to_bytes());
    out.bulk(b"entries-added");
    out.int(s.entries_added as i64);
    out.bulk(b"recorded-first-entry-id");
    out.bulk(&s.first_id().to_bytes());
    match full_count {
        Some(c) => {
            out.bulk(b"entries");
            reply_entries(out, s.range(StreamId::MIN, StreamId::MAX, false, c));
            out.bulk(b"groups");
            out.array(0);
        }
        None => {
            out.bulk(b"groups");
            out.int(0);
            for last in [false, true] {
                out.bulk(if last { b"last-entry" } else { b"first-entry" });
                match s.edge(last) {
                    Some((id, p)) => reply_entry(out, id, p),
                    None => out.null(),
                }
            }
        }
    }
}

/// XSETID key last-id [ENTRIESADDED n] [MAXDELETEDID id]
pub fn xsetid(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(id) = parse_strict(argv[2]) else {
        return ctx.out.error(INVALID_ID);
    };
    let mut entries_added: Option<u64> = None;
    let mut max_deleted = StreamId::MIN;
    let mut i = 3;
    while i < argv.len() {
        let more = argv.len() - 1 - i;
        if is(argv[i], "entriesadded") && more > 0 {
            let Some(n) = parse_i64(argv[i + 1]) else {
                return ctx.out.error(err::NOT_INTEGER);
            };
            if n < 0 {
                return ctx.out.error("ERR entries_added must be positive");
            }
            entries_added = Some(n as u64);
        } else if is(argv[i], "maxdeletedid") && more > 0 {
            let Some(m) = parse_strict(argv[i + 1]) else {
                return ctx.out.error(INVALID_ID);
            };
            if id < m {
                return ctx.out.error(
                    "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id",
                );
            }
            max_deleted = m;
        } else {
            return ctx.out.error(err::SYNTAX);
        }
        i += 2;
    }
    let (now, dbi, key) = (ctx.now, ctx.client.db, argv[1]);
    let s = match lookup(ctx.ks.db(dbi, key), key, now) {
        Err(WrongType) => return ctx.out.error(err::WRONGTYPE),
        Ok(None) => return ctx.out.error(err::NO_SUCH_KEY),
        Ok(Some(s)) => s,
    };
    // (Redis 7.0 does not compare `id` with the current max deleted ID;
    // later versions refuse an ID below it.)
    if !s.is_empty() {
        if id < s.last_valid_id() {
            return ctx.out.error(
                "ERR The ID specified in XSETID is smaller than the target stream top item",
            );
        }
        if entries_added.is_some_and(|n| (s.len() as u64) > n) {
            return ctx.out.error(
                "ERR The entries_added specified in XSETID is smaller than the target stream length",
            );
        }
    }
    s.last_id = id;
    if let Some(n) = entries_added {
        s.entries_added = n;
    }
    if max_deleted != StreamId::MIN {
        s.max_deleted = max_deleted;
    }
    ctx.changed(class::STREAM, "xsetid", key);
    ctx.out.ok();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_as_redis() {
        let id = |ms, seq| Some((StreamId::new(ms, seq), true));
        assert_eq!(parse_id(b"5", 0, true, false), id(5, 0));
        assert_eq!(parse_id(b"5", u64::MAX, true, false), id(5, u64::MAX));
        assert_eq!(parse_id(b" 5", 0, true, false), id(5, 0));
        assert_eq!(parse_id(b"+6-+1", 0, true, false), id(6, 1));
        assert_eq!(parse_id(b"07-07", 0, true, false), id(7, 7));
        assert_eq!(parse_id(b"7\0junk", 0, true, false), id(7, 0));
        assert_eq!(
            parse_id(b"18446744073709551615-18446744073709551615", 0, true, false),
            id(u64::MAX, u64::MAX)
        );
        for bad in [
            &b"18446744073709551616"[..],
            b" -1",
            b"-1",
            b"",
            b"1-",
            b"-",
            b"+",
            b"1-2-3",
            b"x",
            b"1-*",
            &[b'1'; 128],
        ] {
            assert_eq!(parse_id(bad, 0, true, false), None, "{bad:?}");
        }
        assert_eq!(parse_id(b"-", 0, false, false), id(0, 0));
        assert_eq!(parse_id(b"+", 0, false, false), id(u64::MAX, u64::MAX));
        assert_eq!(
            parse_id(b"3-*", 0, true, true),
            Some((StreamId::new(3, 0), false))
        );
        assert_eq!(parse_interval(b"(5", 0), Some((StreamId::new(5, 0), true)));
        assert_eq!(parse_interval(b"(-", 0), None);
        assert_eq!(parse_interval(b"(", 0), None);
    }
}
