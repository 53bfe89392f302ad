//! DUMP and RESTORE (Redis's cluster.c handlers): a value in Redis's DUMP
//! format, the RDB serialization of `persist::rdb::codec`.

use crate::exec::context::Ctx;
use crate::exec::notify::class;
use crate::persist::rdb::codec;
use crate::proto::reply::err;

/// DUMP key: the value in Redis's DUMP format, or nil.
pub fn dump(ctx: &mut Ctx, argv: &[&[u8]]) {
    let now = ctx.now;
    let payload = ctx
        .db(argv[1])
        .get(argv[1], now)
        .map(|e| codec::dump(&e.value));
    match payload {
        Some(p) => ctx.out.bulk(&p),
        None => ctx.out.null(),
    }
}

/// `RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f]`.
pub fn restore(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq) = (None, None);
    let mut i = 4;
    while i < argv.len() {
        let a = argv[i].to_ascii_lowercase();
        let more = i + 1 < argv.len();
        match a.as_slice() {
            b"replace" => replace = true,
            b"absttl" => absttl = true,
            b"idletime" if more && freq.is_none() => {
                match crate::util::parse_i64(argv[i + 1]) {
                    None => return ctx.out.error(err::NOT_INTEGER),
                    Some(v) if v < 0 => {
                        return ctx.out.error("ERR Invalid IDLETIME value, must be >= 0")
                    }
                    Some(v) => idle = Some(v as u64),
                }
                i += 1;
            }
            b"freq" if more && idle.is_none() => {
                match crate::util::parse_i64(argv[i + 1]) {
                    None => return ctx.out.error(err::NOT_INTEGER),
                    Some(v) if !(0..=255).contains(&v) => {
                        return ctx
                            .out
                            .error("ERR Invalid FREQ value, must be >= 0 and <= 255")
                    }
                    Some(v) => freq = Some(v as u8),
                }
                i += 1;
            }
            _ => return ctx.out.error(err::SYNTAX),
        }
        i += 1;
    }
    let Some(ttl) = crate::util::parse_i64(argv[2]) else {
        return ctx.out.error(err::NOT_INTEGER);
    };
    if ttl < 0 {
        return ctx.out.error("ERR Invalid TTL value, must be >= 0");
    }
    let (key, now) = (argv[1], ctx.now);
    if !replace && ctx.db(key).contains(key, now) {
        return ctx.out.error("BUSYKEY Target key name already exists.");
    }
    let v = match codec::undump(argv[3]) {
        Ok(Some(v)) => v,
        Err(codec::PayloadError::VersionOrChecksum) => {
            return ctx
                .out
                .error("ERR DUMP payload version or checksum are wrong")
        }
        Ok(None) | Err(codec::PayloadError::BadFormat) => {
            return ctx.out.error("ERR Bad data format")
        }
    };
    let db = ctx.db(key);
    let deleted = replace && db.remove(key).is_some();
    let at = match (ttl, absttl) {
        (0, _) => None,
        (t, true) => Some(t as u64),
        (t, false) => Some(now.saturating_add(t as u64)),
    };
    if at.is_some_and(|at| at < now) {
        // Already expired: nothing is created (the old key, if replaced,
        // is gone).
        if deleted {
            ctx.changed(class::GENERIC, "del", key);
            ctx.propagate(&[b"DEL", key]);
        } else {
            ctx.propagate_nothing();
        }
        return ctx.out.ok();
    }
    db.set(key, v, at, now);
    db.set_idle_or_freq(key, idle, freq, now);
    ctx.changed(class::GENERIC, "restore", key);
    // Propagated without its relative TTL (a replay later would move the
    // deadline), then the absolute deadline.
    ctx.propagate(&[b"RESTORE", key, b"0", argv[3], b"REPLACE"]);
    if let Some(at) = at {
        let at = at.to_string();
        ctx.propagate(&[b"PEXPIREAT", key, at.as_bytes()]);
    }
    ctx.out.ok();
}
