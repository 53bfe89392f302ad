//! Bit operations on string values (Redis's bitops.c): SETBIT GETBIT
//! BITCOUNT BITPOS BITOP.
//!
//! Bit 0 is the most significant bit of byte 0, as in Redis. Offsets go up
//! to 2^32 - 1 (a 512 MiB string, Redis's proto-max-bulk-len). SETBIT takes
//! the string's buffer out of the entry (`Str::into_vec`, no copy for a
//! boxed string), edits it and puts it back, so setting bits one by one is
//! not O(length) each.
//!
//! BITOP holds the shards of its destination and every source (the
//! pipeline locks them in ascending order, see [`crate::keyspace`]): the result
//! is computed and stored atomically across shards.

use crate::cmd::string::with_string;
use crate::exec::context::Ctx;
use crate::exec::notify::class;
use crate::proto::reply::{err, Reply};
use crate::types::{Str, Value};
use crate::util::parse_i64;

const BAD_OFFSET: &str = "ERR bit offset is not an integer or out of range";
const BAD_BIT: &str = "ERR bit is not an integer or out of range";
/// A bit offset as getBitOffsetFromArgument reads it: its byte must lie
/// within proto-max-bulk-len ([`Ctx::max_string`]).
fn bit_offset(ctx: &Ctx, a: &[u8]) -> Option<u64> {
    match parse_i64(a) {
        Some(n) if n >= 0 && (n as u64 >> 3) < ctx.max_string() => Some(n as u64),
        _ => None,
    }
}

/// The string at `key`: Ok(None) if missing; Err once WRONGTYPE is replied.
fn read_string(ctx: &mut Ctx, key: &[u8]) -> Result<Option<Str>, ()> {
    let now = ctx.now;
    match ctx.db(key).get(key, now).map(|e| &e.value) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => {
            ctx.out.error(err::WRONGTYPE);
            Err(())
        }
    }
}

/// SETBIT key offset value: the old bit. Grows the string with zeros.
pub fn setbit(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(off) = bit_offset(ctx, argv[2]) else {
        return ctx.out.error(BAD_OFFSET);
    };
    let on = match parse_i64(argv[3]) {
        Some(v @ (0 | 1)) => v as u8,
        _ => return ctx.out.error(BAD_BIT),
    };
    let (key, now) = (argv[1], ctx.now);
    let db = ctx.db(key);
    let byte = (off >> 3) as usize;
    let mask = 1u8 << (7 - (off & 7));
    let old = match db.get(key, now).map(|e| &mut e.value) {
        None => None,
        Some(Value::String(s)) => {
            // As Redis 7.0: a bit set to what it already is, inside the
            // string, changes nothing (no event, no propagation).
            let cur = s.get(byte).map(|b| (b & mask != 0) as u8);
            if cur == Some(on) {
                return ctx.out.int(on as i64);
            }
            Some(std::mem::take(s))
        }
        Some(_) => return ctx.out.error(err::WRONGTYPE),
    };
    let exists = old.is_some();
    let mut buf = old.map(Str::into_vec).unwrap_or_default();
    if buf.len() <= byte {
        buf.resize(byte + 1, 0);
    }
    let was = (buf[byte] & mask != 0) as i64;
    if on == 1 {
        buf[byte] |= mask;
    } else {
        buf[byte] &= !mask;
    }
    let v = Value::String(Str::from(buf));
    if exists {
        db.set_keep_ttl(key, v, now);
    } else {
        db.set(key, v, None, now);
    }
    ctx.changed(class::STRING, "setbit", key);
    ctx.out.int(was);
}

/// GETBIT key offset
pub fn getbit(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(off) = bit_offset(ctx, argv[2]) else {
        return ctx.out.error(BAD_OFFSET);
    };
    with_string(ctx, argv[1], |s, out| {
        let byte = (off >> 3) as usize;
        let bit = s
            .and_then(|s| s.get(byte))
            .map_or(0, |b| (b >> (7 - (off & 7))) & 1);
        out.int(bit as i64);
    });
}

/// `start end [BYTE|BIT]` normalized as Redis's BITCOUNT/BITPOS do, in bit
/// units: the inclusive bit range, or None if it is empty. `len` is the
/// string's length in bytes.
fn bit_range(start: i64, end: i64, isbit: bool, len: usize) -> Option<(u64, u64)> {
    let total = if isbit { len as i64 * 8 } else { len as i64 };
    let mut start = if start < 0 { total + start } else { start };
    let mut end = if end < 0 { total + end } else { end };
    start = start.max(0);
    end = end.max(0);
    if end >= total {
        end = total - 1;
    }
    if start > end {
        return None;
    }
    Some(if isbit {
        (start as u64, end as u64)
    } else {
        (start as u64 * 8, end as u64 * 8 + 7)
    })
}

fn byte_or_bit(a: &[u8]) -> Option<bool> {
    if a.eq_ignore_ascii_case(b"bit") {
        Some(true)
    } else if a.eq_ignore_ascii_case(b"byte") {
        Some(false)
    } else {
        None
    }
}

/// Set bits in the inclusive bit range [lo, hi] of `s`.
fn popcount(s: &[u8], lo: u64, hi: u64) -> u64 {
    let (lb, hb) = ((lo >> 3) as usize, (hi >> 3) as usize);
    let mut n: u64 = s[lb..=hb].iter().map(|b| b.count_ones() as u64).sum();
    // Take off the bits of the edge bytes outside the range.
    let head = s[lb] & !(0xffu8 >> (lo & 7));
    let tail = s[hb] & (0xffu16 >> ((hi & 7) + 1)) as u8;
    n -= head.count_ones() as u64 + tail.count_ones() as u64;
    n
}

/// BITCOUNT key [start end [BYTE|BIT]]
pub fn bitcount(ctx: &mut Ctx, argv: &[&[u8]]) {
    // Redis looks the key up first: a missing key is 0 whatever follows.
    with_string(ctx, argv[1], |s, out| bitcount_of(out, s, argv));
}

/// BITCOUNT's reply for the string `s` (None: no key).
fn bitcount_of(out: &mut Reply, s: Option<&[u8]>, argv: &[&[u8]]) {
    let Some(s) = s else { return out.int(0) };
    let (start, end, isbit) = match argv.len() {
        2 => (0, -1, false),
        4 | 5 => {
            let (Some(a), Some(b)) = (parse_i64(argv[2]), parse_i64(argv[3])) else {
                return out.error(err::NOT_INTEGER);
            };
            // Redis 7.0 answers an empty negative range before it reads
            // the unit (`BITCOUNT k -1 -2 WORD` is 0, not a syntax error).
            if a < 0 && b < 0 && a > b {
                return out.int(0);
            }
            let isbit = match argv.get(4) {
                None => false,
                Some(o) => match byte_or_bit(o) {
                    Some(b) => b,
                    None => return out.error(err::SYNTAX),
                },
            };
            (a, b, isbit)
        }
        _ => return out.error(err::SYNTAX),
    };
    let n = match bit_range(start, end, isbit, s.len()) {
        None => 0,
        Some((lo, hi)) => popcount(s, lo, hi),
    };
    out.int(n as i64);
}

/// BITPOS key bit [start [end [BYTE|BIT]]]: the first bit set to `bit` in
/// the range, -1 if none; looking for 0 without an explicit end, the
/// string counts as padded with zeros on the right.
pub fn bitpos(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(bit) = parse_i64(argv[2]) else {
        return ctx.out.error(err::NOT_INTEGER);
    };
    if bit != 0 && bit != 1 {
        return ctx.out.error("ERR The bit argument must be 1 or 0.");
    }
    with_string(ctx, argv[1], |s, out| bitpos_of(out, s, bit, argv));
}

/// BITPOS's reply for the string `s` (None: no key).
fn bitpos_of(out: &mut Reply, s: Option<&[u8]>, bit: i64, argv: &[&[u8]]) {
    let Some(s) = s else {
        return out.int(if bit == 1 { -1 } else { 0 });
    };
    let (start, end, isbit, end_given) = match argv.len() {
        3 => (0, -1, false, false),
        4..=6 => {
            let Some(a) = parse_i64(argv[3]) else {
                return out.error(err::NOT_INTEGER);
            };
            let isbit = match argv.get(5) {
                None => false,
                Some(o) => match byte_or_bit(o) {
                    Some(b) => b,
                    None => return out.error(err::SYNTAX),
                },
            };
            match argv.get(4) {
                None => (a, -1, isbit, false),
                Some(e) => match parse_i64(e) {
                    Some(b) => (a, b, isbit, true),
                    None => return out.error(err::NOT_INTEGER),
                },
            }
        }
        _ => return out.error(err::SYNTAX),
    };
    let Some((lo, hi)) = bit_range(start, end, isbit, s.len()) else {
        return out.int(-1);
    };
    let want = bit == 1;
    let bit_at = |i: u64| (s[(i >> 3) as usize] >> (7 - (i & 7))) & 1 == 1;
    let mut i = lo;
    while i <= hi {
        // Whole bytes that cannot hold the bit are skipped at once.
        if i & 7 == 0 && i + 7 <= hi {
            let b = s[(i >> 3) as usize];
            if (want && b == 0) || (!want && b == 0xff) {
                i += 8;
                continue;
            }
        }
        if bit_at(i) == want {
            return out.int(i as i64);
        }
        i += 1;
    }
    let pos = if want || end_given { -1 } else { hi as i64 + 1 };
    out.int(pos);
}

/// BITOP AND|OR|XOR|NOT destkey key [key ...]: the result's length (the
/// longest input; shorter ones count as zero-padded). An empty result
/// deletes the destination; otherwise it replaces it, TTL included.
pub fn bitop(ctx: &mut Ctx, argv: &[&[u8]]) {
    #[derive(PartialEq)]
    enum Op {
        And,
        Or,
        Xor,
        Not,
    }
    let op = match argv[1].to_ascii_lowercase().as_slice() {
        b"and" => Op::And,
        b"or" => Op::Or,
        b"xor" => Op::Xor,
        b"not" => Op::Not,
        _ => return ctx.out.error(err::SYNTAX),
    };
    if op == Op::Not && argv.len() != 4 {
        return ctx
            .out
            .error("ERR BITOP NOT must be called with a single source key.");
    }
    let mut srcs = Vec::with_capacity(argv.len() - 3);
    for &k in &argv[3..] {
        let Ok(s) = read_string(ctx, k) else { return };
        srcs.push(s.unwrap_or_default());
    }
    let maxlen = srcs.iter().map(|s| s.len()).max().unwrap_or(0);
    let dst = argv[2];
    if maxlen == 0 {
        if ctx.db(dst).remove(dst).is_some() {
            ctx.changed(class::GENERIC, "del", dst);
        }
        return ctx.out.int(0);
    }
    let mut res = vec![0u8; maxlen];
    match op {
        Op::Not => res
            .iter_mut()
            .zip(srcs[0].iter())
            .for_each(|(r, b)| *r = !b),
        _ => {
            res[..srcs[0].len()].copy_from_slice(&srcs[0]);
            for s in &srcs[1..] {
                for (i, r) in res.iter_mut().enumerate() {
                    let b = s.get(i).copied().unwrap_or(0);
                    match op {
                        Op::And => *r &= b,
                        Op::Or => *r |= b,
                        _ => *r ^= b,
                    }
                }
            }
        }
    }
    let now = ctx.now;
    ctx.db(dst)
        .set(dst, Value::String(Str::from(res)), None, now);
    ctx.changed(class::STRING, "set", dst);
    ctx.out.int(maxlen as i64);
}
