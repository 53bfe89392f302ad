//! Administration commands (Redis's config.c / server.c / debug.c
//! handlers): CONFIG's subcommands, SHUTDOWN, DEBUG.

use crate::exec::context::Ctx;
use crate::exec::table::arity_error;
use crate::proto::reply::err;

/// CONFIG GET pattern [pattern ...]
pub fn config_get(ctx: &mut Ctx, argv: &[&[u8]]) {
    let found = ctx.server.config.matching(&argv[2..]);
    ctx.out.map(found.len());
    for (k, v) in found {
        ctx.out.bulk(k.as_bytes());
        ctx.out.bulk(v.as_bytes());
    }
}

/// CONFIG SET name value [name value ...]: all or nothing.
pub fn config_set(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() % 2 != 0 {
        return arity_error(ctx.out, "config|set");
    }
    // Secrets' values never reach the slow log (Redis's SENSITIVE_CONFIG).
    for (i, name) in argv.iter().enumerate().skip(2).step_by(2) {
        if crate::config::is_sensitive(name) {
            ctx.redact(i + 1);
        }
    }
    let srv = ctx.server;
    let pairs: Vec<(&[u8], &[u8])> = argv[2..].chunks(2).map(|p| (p[0], p[1])).collect();
    match srv.config.set_many(&pairs) {
        Ok(()) => {
            srv.config_changed();
            ctx.out.ok()
        }
        Err(e) => ctx.out.error(&e),
    }
}

/// CONFIG RESETSTAT
pub fn config_resetstat(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.server.stats.reset();
    ctx.ks.reset_lookup_counts();
    ctx.server
        .evicted_keys
        .store(0, std::sync::atomic::Ordering::Relaxed);
    ctx.out.ok();
}

/// CONFIG REWRITE: the config file with the current values.
pub fn config_rewrite(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let srv = ctx.server;
    match &srv.cfg.config_file {
        None => ctx
            .out
            .error("ERR The server is running without a config file"),
        Some(path) => match srv.config.rewrite(path) {
            Ok(()) => ctx.out.ok(),
            Err(e) => ctx.out.error(&format!("ERR Rewriting config file: {e}")),
        },
    }
}

/// CONFIG HELP
pub fn config_help(ctx: &mut Ctx, _argv: &[&[u8]]) {
    super::help(
        ctx,
        "CONFIG",
        &[
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
        ],
    );
}

/// `SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]`: stops the server (every
/// I/O thread leaves its loop within 100 ms and closes its connections);
/// the calling client gets no reply, its connection is closed, as Redis.
pub fn shutdown(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (mut save, mut nosave, mut force, mut abort) = (false, false, false, false);
    for a in &argv[1..] {
        match a.to_ascii_lowercase().as_slice() {
            b"save" => save = true,
            b"nosave" => nosave = true,
            b"now" => {}
            b"force" => force = true,
            b"abort" => abort = true,
            _ => return ctx.out.error(err::SYNTAX),
        }
    }
    if (save && nosave) || (abort && argv.len() > 2) {
        return ctx.out.error(err::SYNTAX);
    }
    if abort {
        return ctx.out.error("ERR No shutdown in progress.");
    }
    let _ = force;
    // The save itself happens at exit, once the I/O threads are gone
    // (main.rs: Rdb::at_exit).
    ctx.server.rdb.set_shutdown_mode(if save {
        crate::persist::rdb::SHUTDOWN_SAVE
    } else if nosave {
        crate::persist::rdb::SHUTDOWN_NOSAVE
    } else {
        crate::persist::rdb::SHUTDOWN_DEFAULT
    });
    eprintln!(
        "kvserver: SHUTDOWN requested by client id={} addr={}; stopping",
        ctx.client.id, ctx.client.info.addr
    );
    fastio::server::signals::request_stop();
    ctx.client.close_after_reply = true;
}

/// DEBUG SLEEP seconds | HELP (the rest of Redis's DEBUG is not here).
pub fn debug(ctx: &mut Ctx, argv: &[&[u8]]) {
    let setting = ctx.server.config.get("enable-debug-command");
    if !crate::exec::security::debug_allowed(&setting, ctx.client.info.peer_ip) {
        return ctx.out.error(crate::exec::security::DEBUG_NOT_ALLOWED);
    }
    let sub = argv[1].to_ascii_lowercase();
    match sub.as_slice() {
        b"sleep" if argv.len() == 3 => {
            let secs = std::str::from_utf8(argv[2])
                .ok()
                .and_then(|s| s.parse::<f64>().ok())
                .filter(|s| s.is_finite() && *s >= 0.0);
            let Some(secs) = secs else {
                return ctx.out.error(err::NOT_FLOAT);
            };
            // As in Redis this blocks the serving thread (here: one I/O
            // thread; it holds no shard lock).
            std::thread::sleep(std::time::Duration::from_secs_f64(secs.min(3600.0)));
            ctx.out.ok();
        }
        b"help" => super::help(
            ctx,
            "DEBUG",
            &[
                "SLEEP <seconds>",
                "    Stop the server for <seconds>. Decimals allowed.",
            ],
        ),
        _ => {
            let mut m = b"ERR unknown subcommand '".to_vec();
            m.extend_from_slice(&argv[1][..argv[1].len().min(128)]);
            m.extend_from_slice(b"'. Try DEBUG HELP.");
            ctx.out.error_bytes(&m);
        }
    }
}
