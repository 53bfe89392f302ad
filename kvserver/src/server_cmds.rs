//! Connection and server commands (Redis's server.c / networking.c
//! handlers): PING ECHO QUIT HELLO SELECT CLIENT COMMAND INFO TIME CONFIG.

use crate::command::{arity_error, Ctx, COMMANDS};
use crate::reply::err;
use crate::server::REDIS_VERSION;
use crate::util::{glob_match, parse_i64};
use bytes::Bytes;
use std::sync::atomic::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};

/// PING [message]
pub fn ping(ctx: &mut Ctx, argv: &[&[u8]]) {
    // A subscribed RESP2 client gets a pub/sub-shaped answer.
    if ctx.client.subscribed() && !ctx.out.resp3() && argv.len() <= 2 {
        ctx.out.array(2);
        ctx.out.bulk(b"pong");
        return ctx.out.bulk(argv.get(1).copied().unwrap_or(b""));
    }
    match argv.len() {
        1 => ctx.out.simple("PONG"),
        2 => ctx.out.bulk(argv[1]),
        _ => arity_error(ctx.out, "ping"),
    }
}

/// ECHO message
pub fn echo(ctx: &mut Ctx, argv: &[&[u8]]) {
    ctx.out.bulk(argv[1]);
}

/// QUIT: +OK, then the connection closes once it is sent.
pub fn quit(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.out.ok();
    ctx.client.close_after_reply = true;
}

/// SELECT index
pub fn select(ctx: &mut Ctx, argv: &[&[u8]]) {
    match parse_i64(argv[1]) {
        // Redis reads the index as an int first, then checks the range.
        Some(n) if n < i32::MIN as i64 || n > i32::MAX as i64 => ctx.out.error(err::NOT_INTEGER),
        Some(n) if n >= 0 && (n as usize) < ctx.server.ks.databases => {
            ctx.client.db = n as usize;
            ctx.out.ok();
        }
        Some(_) => ctx.out.error(err::DB_RANGE),
        None => ctx.out.error(err::NOT_INTEGER),
    }
}

/// Client names may not contain spaces or control characters.
fn valid_client_name(name: &[u8]) -> bool {
    name.iter().all(|&c| (b'!'..=b'~').contains(&c))
}

/// HELLO [protover [AUTH username password] [SETNAME clientname]]
pub fn hello(ctx: &mut Ctx, argv: &[&[u8]]) {
    let mut ver = None;
    if argv.len() >= 2 {
        match parse_i64(argv[1]) {
            Some(v) if v == 2 || v == 3 => ver = Some(v as u8),
            Some(_) => return ctx.out.error("NOPROTO unsupported protocol version"),
            None => {
                return ctx
                    .out
                    .error("ERR Protocol version is not an integer or out of range")
            }
        }
    }
    let mut name = None;
    let mut j = 2;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        if argv[j].eq_ignore_ascii_case(b"auth") && more >= 2 {
            // No password is configured: the default user needs none, and
            // any password is accepted for it, as in Redis.
            if argv[j + 1] != b"default" {
                return ctx
                    .out
                    .error("WRONGPASS invalid username-password pair or user is disabled.");
            }
            j += 3;
        } else if argv[j].eq_ignore_ascii_case(b"setname") && more >= 1 {
            name = Some(argv[j + 1]);
            j += 2;
        } else {
            let mut m = b"ERR Syntax error in HELLO option '".to_vec();
            m.extend_from_slice(argv[j]);
            m.push(b'\'');
            return ctx.out.error_bytes(&m);
        }
    }
    if let Some(n) = name {
        if !valid_client_name(n) {
            return ctx
                .out
                .error("ERR Client names cannot contain spaces, newlines or special characters.");
        }
        ctx.client.name = (!n.is_empty()).then(|| Bytes::copy_from_slice(n));
    }
    if let Some(v) = ver {
        ctx.out.resp = v;
    }
    let out = &mut *ctx.out;
    out.map(7);
    out.bulk(b"server");
    out.bulk(b"redis");
    out.bulk(b"version");
    out.bulk(REDIS_VERSION.as_bytes());
    out.bulk(b"proto");
    out.int(out.resp as i64);
    out.bulk(b"id");
    out.int(ctx.client.id as i64);
    out.bulk(b"mode");
    out.bulk(b"standalone");
    out.bulk(b"role");
    out.bulk(b"master");
    out.bulk(b"modules");
    out.array(0);
}

fn unknown_subcommand(ctx: &mut Ctx, argv: &[&[u8]]) {
    let mut m = b"ERR unknown subcommand '".to_vec();
    m.extend_from_slice(&argv[1][..argv[1].len().min(128)]);
    m.extend_from_slice(b"'. Try ");
    m.extend_from_slice(&argv[0].to_ascii_uppercase());
    m.extend_from_slice(b" HELP.");
    ctx.out.error_bytes(&m);
}

/// CLIENT ID | SETNAME name | GETNAME
pub fn client(ctx: &mut Ctx, argv: &[&[u8]]) {
    let sub = argv[1].to_ascii_lowercase();
    let want = match sub.as_slice() {
        b"id" | b"getname" => 2,
        b"setname" | b"reply" => 3,
        _ => return unknown_subcommand(ctx, argv),
    };
    if argv.len() != want {
        let name = format!("client|{}", String::from_utf8_lossy(&sub));
        return arity_error(ctx.out, &name);
    }
    match sub.as_slice() {
        b"id" => ctx.out.int(ctx.client.id as i64),
        b"reply" => client_reply(ctx, argv[2]),
        b"getname" => match &ctx.client.name {
            Some(n) => ctx.out.bulk(n),
            None => ctx.out.null(),
        },
        _ => {
            if !valid_client_name(argv[2]) {
                return ctx.out.error(
                    "ERR Client names cannot contain spaces, newlines or special characters.",
                );
            }
            ctx.client.name = (!argv[2].is_empty()).then(|| Bytes::copy_from_slice(argv[2]));
            ctx.out.ok();
        }
    }
}

/// One command's COMMAND/COMMAND INFO entry (Redis 7's ten fields; the
/// last four, ACL categories, tips, key specs and subcommands, are empty).
fn command_info(ctx: &mut Ctx, c: &crate::command::Command) {
    let out = &mut *ctx.out;
    out.array(10);
    out.bulk(c.name.as_bytes());
    out.int(c.arity as i64);
    let flags = c.flag_names();
    out.set(flags.len());
    for f in flags {
        out.simple(f);
    }
    out.int(c.first_key as i64);
    out.int(c.last_key as i64);
    out.int(c.step as i64);
    for _ in 0..3 {
        out.set(0);
    }
    out.array(0);
}

/// COMMAND [COUNT | DOCS [name...] | INFO [name...]]
pub fn command(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() == 1 {
        ctx.out.array(COMMANDS.len());
        for c in COMMANDS {
            command_info(ctx, c);
        }
        return;
    }
    match argv[1].to_ascii_lowercase().as_slice() {
        b"count" if argv.len() == 2 => ctx.out.int(COMMANDS.len() as i64),
        // redis-cli asks for docs to show hints; an empty map means "none".
        b"docs" => ctx.out.map(0),
        b"info" => {
            ctx.out.array(argv.len() - 2);
            for name in &argv[2..] {
                match crate::command::lookup(name) {
                    Some(c) => command_info(ctx, c),
                    None => ctx.out.null_array(),
                }
            }
        }
        b"count" => arity_error(ctx.out, "command|count"),
        _ => unknown_subcommand(ctx, argv),
    }
}

/// INFO [section ...]: server, clients and keyspace, with Redis's field
/// names (tools parse them).
pub fn info(ctx: &mut Ctx, argv: &[&[u8]]) {
    let wants = |s: &str| {
        argv.len() == 1
            || argv[1..].iter().any(|a| {
                a.eq_ignore_ascii_case(s.as_bytes())
                    || a.eq_ignore_ascii_case(b"all")
                    || a.eq_ignore_ascii_case(b"default")
                    || a.eq_ignore_ascii_case(b"everything")
            })
    };
    let srv = ctx.server;
    let mut sections = Vec::new();
    if wants("server") {
        let up = srv.started.elapsed().as_secs();
        let exe = std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let conf = srv
            .cfg
            .config_file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        sections.push(format!(
            "# Server\r\nredis_version:{REDIS_VERSION}\r\nredis_mode:standalone\r\n\
             os:{} {}\r\narch_bits:64\r\nmultiplexing_api:fastio\r\n\
             fastio_backend:{}\r\nprocess_id:{}\r\nrun_id:{}\r\ntcp_port:{}\r\n\
             uptime_in_seconds:{up}\r\nuptime_in_days:{}\r\nhz:10\r\n\
             io_threads_active:1\r\nio_threads:{}\r\nkeyspace_shards:{}\r\n\
             executable:{exe}\r\nconfig_file:{conf}\r\n",
            std::env::consts::OS,
            std::env::consts::ARCH,
            srv.backend.replace(['\r', '\n'], " "),
            std::process::id(),
            srv.run_id,
            srv.cfg.port,
            up / 86400,
            srv.cfg.io_threads,
            srv.ks.shard_count(),
        ));
    }
    if wants("clients") {
        sections.push(format!(
            "# Clients\r\nconnected_clients:{}\r\nblocked_clients:0\r\nmaxclients:10000\r\n",
            srv.connected_clients.load(Ordering::Relaxed)
        ));
    }
    if wants("stats") {
        sections.push(format!(
            "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\n",
            srv.total_connections.load(Ordering::Relaxed),
            srv.total_commands.load(Ordering::Relaxed)
        ));
    }
    if wants("keyspace") {
        let mut s = String::from("# Keyspace\r\n");
        for db in 0..srv.ks.databases {
            let (mut keys, mut expires) = (0, 0);
            for d in ctx.ks.dbs(db) {
                keys += d.len();
                expires += d.expires_len();
            }
            if keys > 0 {
                s.push_str(&format!(
                    "db{db}:keys={keys},expires={expires},avg_ttl=0\r\n"
                ));
            }
        }
        sections.push(s);
    }
    ctx.out.verbatim(&sections.join("\r\n"));
}

/// TIME: [unix seconds, microseconds] as bulk strings.
pub fn time(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    ctx.out.array(2);
    ctx.out.bulk_i64(d.as_secs() as i64);
    ctx.out.bulk_i64(d.subsec_micros() as i64);
}

/// CONFIG GET pattern [pattern ...] (a few parameters, read-only for now).
pub fn config(ctx: &mut Ctx, argv: &[&[u8]]) {
    let sub = argv[1].to_ascii_lowercase();
    match sub.as_slice() {
        b"get" if argv.len() >= 3 => {}
        b"get" => return arity_error(ctx.out, "config|get"),
        b"resetstat" => return ctx.out.ok(),
        _ => return unknown_subcommand(ctx, argv),
    }
    let c = &ctx.server.cfg;
    let params: Vec<(&str, String)> = vec![
        ("port", c.port.to_string()),
        ("bind", c.bind.to_string()),
        ("databases", c.databases.to_string()),
        ("io-threads", c.io_threads.to_string()),
        ("save", String::new()),
        ("appendonly", "no".into()),
        ("maxmemory", "0".into()),
        ("timeout", "0".into()),
        ("maxclients", "10000".into()),
        (
            "proto-max-bulk-len",
            crate::protocol::MAX_BULK_LEN.to_string(),
        ),
    ];
    let found: Vec<&(&str, String)> = params
        .iter()
        .filter(|(name, _)| {
            argv[2..]
                .iter()
                .any(|p| glob_match(p, name.as_bytes(), true))
        })
        .collect();
    ctx.out.map(found.len());
    for (k, v) in found {
        ctx.out.bulk(k.as_bytes());
        ctx.out.bulk(v.as_bytes());
    }
}

/// CLIENT REPLY ON|OFF|SKIP. OFF and SKIP answer nothing; the networking
/// layer drops a command's reply while `reply_off` or `reply_skip` is set
/// and moves `reply_skip_next` to `reply_skip` after each command.
fn client_reply(ctx: &mut Ctx, mode: &[u8]) {
    let c = &mut *ctx.client;
    match mode.to_ascii_lowercase().as_slice() {
        b"on" => {
            c.reply_off = false;
            c.reply_skip = false;
            ctx.out.ok();
        }
        b"off" => c.reply_off = true,
        b"skip" => c.reply_skip_next |= !c.reply_off,
        _ => ctx.out.error(err::SYNTAX),
    }
}

/// RESET: back to a fresh connection's state: no transaction, no watches,
/// no subscriptions, not monitoring, database 0, RESP2, no name, replies
/// on.
pub fn reset(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let server = ctx.server;
    let c = &mut *ctx.client;
    c.multi = None;
    c.multi_error = false;
    crate::multi::unwatch_all(server, c);
    crate::pubsub::unsubscribe_all(server, c);
    crate::monitor::leave(server, c);
    c.db = 0;
    c.name = None;
    c.reply_off = false;
    c.reply_skip = false;
    c.reply_skip_next = false;
    ctx.out.resp = 2;
    ctx.out.simple("RESET");
}
