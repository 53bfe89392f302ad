//! OBJECT (Redis's object.c handlers), one function per subcommand: what
//! a key's entry says of its value (encoding, access clock or counter,
//! sharing). Looking a key up here does not count as an access (IDLETIME
//! stays), as in Redis.

use crate::exec::context::Ctx;
use crate::keyspace::{Entry, Settings};
use crate::proto::reply::Reply;
use crate::types::Value;
use crate::util::parse_i64;

const OBJECT_HELP: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
];

const NO_LRU: &str = "ERR An LFU maxmemory policy is selected, idle time not tracked. Please \
                      note that when switching between policies at runtime LRU and LFU data \
                      will take some time to adjust.";
const NO_LFU: &str = "ERR An LFU maxmemory policy is not selected, access frequency not \
                      tracked. Please note that when switching between policies at runtime LRU \
                      and LFU data will take some time to adjust.";

/// Runs `f` on `argv[2]`'s entry (no access recorded), or replies nil.
fn with_entry(ctx: &mut Ctx, argv: &[&[u8]], f: impl FnOnce(&Entry, u64, &mut Reply, &Settings)) {
    let (key, now, dbi) = (argv[2], ctx.now, ctx.client.db);
    let settings = &ctx.server.config.keyspace;
    match ctx.ks.db(dbi, key).peek_quiet(key, now) {
        Some(e) => f(e, now, ctx.out, settings),
        None => ctx.out.null(),
    }
}

/// OBJECT ENCODING key: what Redis 7.0 would use (see `Value::encoding`).
pub fn encoding(ctx: &mut Ctx, argv: &[&[u8]]) {
    with_entry(ctx, argv, |e, _, out, _| {
        out.bulk(e.value.encoding().as_bytes())
    });
}

/// OBJECT IDLETIME key: seconds since the last access (not under an LFU
/// policy).
pub fn idletime(ctx: &mut Ctx, argv: &[&[u8]]) {
    with_entry(ctx, argv, |e, now, out, settings| {
        if settings.lfu() {
            return out.error(NO_LRU);
        }
        out.int(e.idle_secs(now) as i64)
    });
}

/// OBJECT FREQ key: the LFU counter after decay (only under an LFU policy).
pub fn freq(ctx: &mut Ctx, argv: &[&[u8]]) {
    with_entry(ctx, argv, |e, now, out, settings| {
        if !settings.lfu() {
            return out.error(NO_LFU);
        }
        out.int(e.lfu_freq(now, settings) as i64)
    });
}

/// OBJECT REFCOUNT key: Redis shares the objects of the integers 0..9999
/// (refcount INT_MAX); every other value has one reference.
pub fn refcount(ctx: &mut Ctx, argv: &[&[u8]]) {
    with_entry(ctx, argv, |e, _, out, _| {
        let shared = matches!(&e.value, Value::String(s)
            if e.value.encoding() == "int"
                && parse_i64(s).is_some_and(|n| (0..10_000).contains(&n)));
        out.int(if shared { i32::MAX as i64 } else { 1 })
    });
}

/// OBJECT HELP
pub fn help(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.out.array(OBJECT_HELP.len());
    OBJECT_HELP.iter().for_each(|l| ctx.out.simple(l));
}
