//! EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT (Redis's eval.c), FCALL,
//! FCALL_RO and FUNCTION (functions.c). The Lua engine, `redis.call`, the
//! conversions and the libraries' registry are in `exec/script/`; these
//! handlers read the arguments and answer.

use crate::exec::context::Ctx;
use crate::exec::script::{functions, run};

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

/// `... FLUSH [ASYNC|SYNC]`: nothing or one of the two modes (both free
/// at once here).
fn flush_mode_ok(argv: &[&[u8]]) -> bool {
    match argv.get(2) {
        None => true,
        Some(m) => {
            argv.len() == 3 && (m.eq_ignore_ascii_case(b"sync") || m.eq_ignore_ascii_case(b"async"))
        }
    }
}

/// SCRIPT FLUSH [ASYNC|SYNC]: the cache, and every thread's Lua state
/// (rebuilt before its next script). Both modes free at once: a cache of
/// script bodies is small.
pub fn script_flush(ctx: &mut Ctx, argv: &[&[u8]]) {
    if !flush_mode_ok(argv) {
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

/// FCALL function numkeys [key ...] [arg ...]
pub fn fcall(ctx: &mut Ctx, argv: &[&[u8]]) {
    functions::fcall(ctx, argv, false);
}

/// FCALL_RO function numkeys [key ...] [arg ...]
pub fn fcall_ro(ctx: &mut Ctx, argv: &[&[u8]]) {
    functions::fcall(ctx, argv, true);
}

/// `FUNCTION LOAD [REPLACE] code`: a write (the AOF keeps it, so a restart
/// loads the library again).
pub fn function_load(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (replace, code) = match argv {
        [_, _, code] => (false, *code),
        [_, _, r, code] if r.eq_ignore_ascii_case(b"replace") => (true, *code),
        [_, _, r, _] => {
            return ctx.out.error(&format!(
                "ERR Unknown option given: {}",
                String::from_utf8_lossy(r)
            ))
        }
        _ => return ctx.out.error("ERR Function LOAD wrong number of arguments"),
    };
    match functions::load(ctx, code, replace) {
        Ok(name) => {
            ctx.dirty(1);
            ctx.out.bulk(name.as_bytes());
        }
        Err(e) => ctx.out.error(&e),
    }
}

/// FUNCTION DELETE library-name
pub fn function_delete(ctx: &mut Ctx, argv: &[&[u8]]) {
    if functions::delete(ctx, argv[2]) {
        ctx.dirty(1);
        ctx.out.ok();
    } else {
        ctx.out.error("ERR Library not found");
    }
}

/// `FUNCTION FLUSH [ASYNC|SYNC]`
pub fn function_flush(ctx: &mut Ctx, argv: &[&[u8]]) {
    if !flush_mode_ok(argv) {
        return ctx
            .out
            .error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
    }
    functions::flush(ctx);
    ctx.dirty(1);
    ctx.out.ok();
}

/// `FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE]`
pub fn function_list(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (mut pattern, mut code) = (None, false);
    let mut i = 2;
    while i < argv.len() {
        let a = argv[i];
        if a.eq_ignore_ascii_case(b"withcode") && !code {
            code = true;
        } else if a.eq_ignore_ascii_case(b"libraryname") && pattern.is_none() {
            let Some(p) = argv.get(i + 1) else {
                return ctx.out.error("ERR library name argument was not given");
            };
            pattern = Some(*p);
            i += 1;
        } else {
            return ctx.out.error(&format!(
                "ERR Unknown argument {}",
                String::from_utf8_lossy(a)
            ));
        }
        i += 1;
    }
    let libs = functions::list(ctx, pattern);
    let out = &mut *ctx.out;
    out.array(libs.len());
    for lib in libs {
        out.map(3 + usize::from(code));
        out.bulk(b"library_name");
        out.bulk(lib.name.as_bytes());
        out.bulk(b"engine");
        out.bulk(b"LUA");
        out.bulk(b"functions");
        out.array(lib.functions.len());
        for f in &lib.functions {
            out.map(3);
            out.bulk(b"name");
            out.bulk(f.name.as_bytes());
            out.bulk(b"description");
            match &f.description {
                Some(d) => out.bulk(d),
                None => out.null(),
            }
            out.bulk(b"flags");
            let names = crate::exec::script::cache::flag_names(f.flags);
            out.set(names.len());
            names.iter().for_each(|n| out.simple(n));
        }
        if code {
            out.bulk(b"library_code");
            out.bulk(&lib.code);
        }
    }
}

/// FUNCTION STATS: no running script is reported (a script holds the
/// thread that would answer, and FUNCTION STATS is not allowed while one
/// is busy elsewhere).
pub fn function_stats(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let (libraries, functions) = ctx.server.functions.counts();
    let out = &mut *ctx.out;
    out.map(2);
    out.bulk(b"running_script");
    out.null();
    out.bulk(b"engines");
    out.map(1);
    out.bulk(b"LUA");
    out.map(2);
    out.bulk(b"libraries_count");
    out.int(libraries as i64);
    out.bulk(b"functions_count");
    out.int(functions as i64);
}

/// FUNCTION DUMP / RESTORE: the RDB payload of libraries is not done.
pub fn function_dump(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.out
        .error("ERR FUNCTION DUMP and RESTORE are not supported by this server yet");
}
