//! The commands, one family per file as in Redis (t_string.c, t_list.c
//! ...): a handler reads the arguments, works on the locked keys of its
//! context ([`crate::exec::context::Ctx`]), writes its reply, and says what
//! it did besides: what it changed (`Ctx::changed`, `notify`, `dirty`),
//! what to propagate instead of its arguments (`Ctx::propagate`), what to
//! deliver to other connections. Handlers never see sockets, rings or
//! files.
//!
//! Start reading at [`string`] (`get`, `set`); the table that binds each
//! command to its handler is `exec/table.rs`.
//!
//! May import `exec` (the context, effects, notification classes, the
//! command table and metadata, blocking, MULTI, MONITOR, security,
//! eviction's memory figure), `keyspace`, `types`, `persist` (the RDB
//! codec for DUMP/RESTORE, snapshots for BGSAVE), `proto`, `server`,
//! `util`. Never `net`.

pub mod admin;
pub mod bitops;
pub mod client;
pub mod connection;
pub mod dump;
pub mod hash;
pub mod introspection;
pub mod keys;
pub mod list;
pub mod lolwut;
pub mod module;
pub mod object;
pub mod persistence;
pub mod pubsub;
pub mod replication;
pub mod scripting;
pub mod set;
pub mod stream;
pub mod string;
pub mod zset;

use crate::exec::context::Ctx;

/// Redis's addReplyHelp: the header, the lines, then HELP's own lines.
pub(crate) fn help(ctx: &mut Ctx, cmd: &str, lines: &[&str]) {
    ctx.out.array(lines.len() + 3);
    ctx.out.simple(&format!(
        "{cmd} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    ));
    for l in lines {
        ctx.out.simple(l);
    }
    ctx.out.simple("HELP");
    ctx.out.simple("    Prints this help.");
}

/// ON or OFF, any case.
pub(crate) fn on_off(a: &[u8]) -> Option<bool> {
    if a.eq_ignore_ascii_case(b"on") {
        Some(true)
    } else if a.eq_ignore_ascii_case(b"off") {
        Some(false)
    } else {
        None
    }
}

/// A timeout in milliseconds as CLIENT PAUSE and WAIT read it (Redis's
/// getTimeoutFromObjectOrReply): the error reply's text if it is not one.
pub(crate) fn parse_timeout_ms(arg: &[u8]) -> Result<u64, &'static str> {
    match crate::util::parse_i64(arg) {
        Some(t) if t < 0 => Err("ERR timeout is negative"),
        Some(t) => Ok(t as u64),
        None => Err("ERR timeout is not an integer or out of range"),
    }
}
