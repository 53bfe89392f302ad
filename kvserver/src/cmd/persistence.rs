//! Persistence commands (Redis's rdb.c and aof.c handlers): SAVE, BGSAVE,
//! LASTSAVE, BGREWRITEAOF. The files themselves are `persist/`'s.

use crate::exec::context::Ctx;
use crate::persist::snapshot::Walk;
use crate::proto::reply::err;

/// SAVE: writes the file from the locked shards (flag ALL_SHARDS: every
/// shard is held, every client waits, as with Redis's SAVE).
pub fn save(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let srv = ctx.server;
    if srv.rdb.bgsave_in_progress() {
        return ctx.out.error("ERR Background save already in progress");
    }
    match srv
        .rdb
        .save(&mut ctx.ks, srv.ks.databases, &srv.rdb_file(), srv.dirty())
    {
        Ok(_) => ctx.out.ok(),
        Err(e) => {
            eprintln!("kvserver: # SAVE failed: {e}");
            ctx.out.error(&format!("ERR {e}"));
        }
    }
}

/// `BGSAVE [SCHEDULE]`: the snapshot begins here, under every shard lock
/// (a cursor per database part), and is walked and written by a
/// background thread while clients go on (`persist::snapshot`).
pub fn bgsave(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() > 2 || (argv.len() == 2 && !argv[1].eq_ignore_ascii_case(b"schedule")) {
        return ctx.out.error(err::SYNTAX);
    }
    let srv = ctx.server;
    if srv.rdb.bgsave_in_progress() {
        return ctx.out.error("ERR Background save already in progress");
    }
    let snap = Walk::begin(&srv.ks, &mut ctx.ks, ctx.now);
    match srv.rdb.bgsave(snap, &srv.rdb_file(), srv.dirty()) {
        Ok(()) => ctx.out.simple("Background saving started"),
        Err(e) => ctx.out.error(&e),
    }
}

/// LASTSAVE: the Unix time of the last successful save (the start time
/// before any).
pub fn lastsave(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.out.int(ctx.server.rdb.last_save() as i64);
}

/// BGREWRITEAOF
pub fn bgrewriteaof(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let Some(aof) = ctx.server.aof() else {
        return ctx.out.error(
            "ERR BGREWRITEAOF needs appendonly yes (kvserver rewrites only a live AOF; \
             BGSAVE writes an RDB snapshot)",
        );
    };
    match aof.bgrewrite() {
        Ok(msg) => ctx.out.simple(msg),
        Err(e) => ctx.out.error(&e),
    }
}
