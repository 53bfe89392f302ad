//! EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT (Redis's eval.c). The
//! Lua engine, `redis.call` and the conversions are in `exec/script/`;
//! these handlers read the arguments and answer.

use crate::exec::context::Ctx;
use crate::exec::script::run;

/// EVAL script numkeys [key ...] [arg ...]
pub fn eval(ctx: &mut Ctx, argv: &[&[u8]]) {
    run::eval(ctx, argv, false, false);
}

/// EVALSHA sha1 numkeys [key ...] [arg ...]
pub fn evalsha(ctx: &mut Ctx, argv: &[&[u8]]) {
    run::eval(ctx, argv, true, false);
}

/// EVAL_RO script numkeys [key ...] [arg ...]
pub fn eval_ro(ctx: &mut Ctx, argv: &[&[u8]]) {
    run::eval(ctx, argv, false, true);
}

/// EVALSHA_RO sha1 numkeys [key ...] [arg ...]
pub fn evalsha_ro(ctx: &mut Ctx, argv: &[&[u8]]) {
    run::eval(ctx, argv, true, true);
}

/// SCRIPT LOAD script
pub fn script_load(ctx: &mut Ctx, argv: &[&[u8]]) {
    match run::load(ctx, argv[2]) {
        Ok(sha) => ctx.out.bulk(sha.as_bytes()),
        Err(e) => ctx.out.error(&e),
    }
}

/// SCRIPT EXISTS sha1 [sha1 ...]
pub fn script_exists(ctx: &mut Ctx, argv: &[&[u8]]) {
    ctx.out.array(argv.len() - 2);
    for sha in &argv[2..] {
        let present = ctx.server.scripts.get(sha).is_some();
        ctx.out.int(i64::from(present));
    }
}

/// SCRIPT FLUSH [ASYNC|SYNC]: the cache, and every thread's Lua state
/// (rebuilt before its next script). Both modes free at once: a cache of
/// script bodies is small.
pub fn script_flush(ctx: &mut Ctx, argv: &[&[u8]]) {
    let mode_ok = match argv.get(2) {
        None => true,
        Some(m) => {
            argv.len() == 3 && (m.eq_ignore_ascii_case(b"sync") || m.eq_ignore_ascii_case(b"async"))
        }
    };
    if !mode_ok {
        return ctx
            .out
            .error("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
    }
    drop(ctx.server.scripts.flush());
    ctx.out.ok();
}

/// SCRIPT KILL: stops the busy script (exec/script/busy.rs) unless it
/// wrote; runs on another I/O thread than the script's (it locks nothing).
pub fn script_kill(ctx: &mut Ctx, _argv: &[&[u8]]) {
    match ctx.server.script_busy.kill() {
        Ok(()) => ctx.out.ok(),
        Err(e) => ctx.out.error(e),
    }
}

/// SCRIPT DEBUG: the Lua debugger is not implemented.
pub fn script_debug(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.out
        .error("ERR SCRIPT DEBUG is not supported by this server");
}

const SCRIPT_HELP: &[&str] = &[
    "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DEBUG (YES|SYNC|NO)",
    "    Set the debug mode for subsequent scripts executed.",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
    "HELP",
    "    Prints this help.",
];

/// SCRIPT HELP
pub fn script_help(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.out.array(SCRIPT_HELP.len());
    SCRIPT_HELP.iter().for_each(|l| ctx.out.simple(l));
}
