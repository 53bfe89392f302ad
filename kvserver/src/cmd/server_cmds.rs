//! Connection and server commands (Redis's server.c / networking.c /
//! config.c / slowlog.c / object.c handlers): PING ECHO QUIT HELLO SELECT
//! CLIENT COMMAND INFO TIME CONFIG SLOWLOG MEMORY LASTSAVE SAVE BGSAVE
//! BGREWRITEAOF SHUTDOWN DEBUG LATENCY.

use crate::exec::context::Ctx;
use crate::exec::effects::{ClientRef, Delivery};
use crate::exec::meta;
use crate::exec::table::{arity_error, COMMANDS};
use crate::proto::reply::err;
use crate::server::REDIS_VERSION;
use crate::types::stream::StreamId;
use crate::types::{Str, Value};
use crate::util::{glob_match, parse_i64};
use bytes::Bytes;
use std::fmt::Write as _;
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
            // Authenticates at once, as Redis (a later syntax error does
            // not undo it).
            if !crate::exec::security::credentials_ok(ctx.server, argv[j + 1], argv[j + 2]) {
                return ctx.out.error(crate::exec::security::WRONGPASS);
            }
            ctx.client.authenticated = true;
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
    if crate::exec::security::auth_required(ctx.server, ctx.client) {
        return ctx.out.error(crate::exec::security::HELLO_NOAUTH);
    }
    if let Some(n) = name {
        if !valid_client_name(n) {
            return ctx
                .out
                .error("ERR Client names cannot contain spaces, newlines or special characters.");
        }
        ctx.client
            .set_name((!n.is_empty()).then(|| Bytes::copy_from_slice(n)));
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

/// Checks a subcommand's arity (Redis's: N exactly, -N at least) and
/// answers `wrong number of arguments for 'cmd|sub'` if it is wrong.
fn sub_arity(ctx: &mut Ctx, argv: &[&[u8]], arity: i32) -> bool {
    let n = argv.len() as i32;
    if (arity > 0 && n != arity) || n < -arity {
        let name = format!(
            "{}|{}",
            String::from_utf8_lossy(argv[0]).to_lowercase(),
            String::from_utf8_lossy(argv[1]).to_lowercase()
        );
        arity_error(ctx.out, &name);
        return false;
    }
    true
}

/// Redis's addReplyHelp: the header, the lines, then HELP's own lines.
fn help(ctx: &mut Ctx, cmd: &str, lines: &[&str]) {
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

fn on_off(a: &[u8]) -> Option<bool> {
    if a.eq_ignore_ascii_case(b"on") {
        Some(true)
    } else if a.eq_ignore_ascii_case(b"off") {
        Some(false)
    } else {
        None
    }
}

/// CLIENT ID | SETNAME | GETNAME | LIST | INFO | KILL | NO-EVICT |
/// NO-TOUCH | PAUSE | UNPAUSE | HELP
pub fn client(ctx: &mut Ctx, argv: &[&[u8]]) {
    let sub = argv[1].to_ascii_lowercase();
    let arity = match sub.as_slice() {
        b"id" | b"getname" | b"info" | b"unpause" | b"help" => 2,
        b"setname" | b"no-evict" | b"no-touch" | b"reply" => 3,
        b"list" => -2,
        b"kill" | b"pause" => -3,
        _ => return unknown_subcommand(ctx, argv),
    };
    if !sub_arity(ctx, argv, arity) {
        return;
    }
    match sub.as_slice() {
        b"id" => ctx.out.int(ctx.client.id as i64),
        b"reply" => client_reply(ctx, argv[2]),
        b"getname" => match &ctx.client.name {
            Some(n) => ctx.out.bulk(n),
            None => ctx.out.null(),
        },
        b"setname" => {
            if !valid_client_name(argv[2]) {
                return ctx.out.error(
                    "ERR Client names cannot contain spaces, newlines or special characters.",
                );
            }
            ctx.client
                .set_name((!argv[2].is_empty()).then(|| Bytes::copy_from_slice(argv[2])));
            ctx.out.ok();
        }
        b"info" => {
            let line = client_line(ctx, &ctx.client.info, "client|info");
            ctx.out.verbatim(&format!("{line}\n"));
        }
        b"list" => client_list(ctx, argv),
        b"kill" => client_kill(ctx, argv),
        b"no-evict" | b"no-touch" => match on_off(argv[2]) {
            // No eviction and no LRU-sensitive eviction exist yet: the
            // flag is recorded (CLIENT LIST shows `e`) and changes nothing.
            Some(v) => {
                if sub == b"no-evict" {
                    ctx.client.info.no_evict.store(v, Ordering::Relaxed);
                }
                ctx.out.ok()
            }
            None => ctx.out.error(err::SYNTAX),
        },
        b"pause" => {
            match parse_i64(argv[2]) {
                Some(t) if t >= 0 => {}
                _ => {
                    return ctx
                        .out
                        .error("ERR timeout is not an integer or out of range")
                }
            }
            if argv.len() > 4
                || (argv.len() == 4
                    && !argv[3].eq_ignore_ascii_case(b"write")
                    && !argv[3].eq_ignore_ascii_case(b"all"))
            {
                return ctx.out.error(err::SYNTAX);
            }
            // Pausing needs the I/O threads to hold commands back: not
            // there yet, and a fake OK would break failover scripts.
            ctx.out
                .error("ERR CLIENT PAUSE is not supported by this server yet")
        }
        b"unpause" => ctx.out.ok(),
        _ => help(
            ctx,
            "CLIENT",
            &[
                "GETNAME",
                "    Return the name of the current connection.",
                "ID",
                "    Return the ID of the current connection.",
                "INFO",
                "    Return information about the current client connection.",
                "KILL <ip:port>",
                "    Kill connection made from <ip:port>.",
                "KILL <option> <value> [<option> <value> [...]]",
                "    Kill connections. Options are:",
                "    * ADDR (<ip:port>|<unixsocket>:0)",
                "      Kill connections made from the specified address",
                "    * LADDR (<ip:port>|<unixsocket>:0)",
                "      Kill connections made to specified local address",
                "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
                "      Kill connections by type.",
                "    * USER <username>",
                "      Kill connections authenticated by <username>.",
                "    * SKIPME (YES|NO)",
                "      Skip killing current connection (default: yes).",
                "    * ID <client-id>",
                "      Kill connections by client id.",
                "LIST [options ...]",
                "    Return information about client connections. Options:",
                "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
                "      Return clients of specified type.",
                "    * ID <client-id> [<client-id> ...]",
                "      Return clients with the given ids.",
                "UNPAUSE",
                "    Stop the current client pause, resuming traffic.",
                "SETNAME <name>",
                "    Assign the name <name> to the current connection.",
                "NO-EVICT (ON|OFF)",
                "    Protect current client connection from eviction.",
                "NO-TOUCH (ON|OFF)",
                "    Will not touch LRU/LFU stats when this mode is on.",
            ],
        ),
    }
}

/// One CLIENT LIST line; the caller's own line shows the running command.
fn client_line(ctx: &Ctx, info: &crate::exec::clients::ClientInfo, running: &str) -> String {
    let mut line = info.line(ctx.now);
    if info.id == ctx.client.id {
        if let Some(p) = line.find(" cmd=") {
            let end = line[p + 1..].find(' ').map_or(line.len(), |e| p + 1 + e);
            line.replace_range(p..end, &format!(" cmd={running}"));
        }
    }
    line
}

/// Redis's client types: every client here is a normal one.
fn client_type_ok(t: &[u8]) -> Result<bool, ()> {
    let t = t.to_ascii_lowercase();
    match t.as_slice() {
        b"normal" => Ok(true),
        b"master" | b"replica" | b"slave" | b"pubsub" => Ok(false),
        _ => Err(()),
    }
}

fn unknown_type(ctx: &mut Ctx, t: &[u8]) {
    let mut m = b"ERR Unknown client type '".to_vec();
    m.extend_from_slice(t);
    m.push(b'\'');
    ctx.out.error_bytes(&m);
}

/// CLIENT LIST [TYPE type] [ID id...]
fn client_list(ctx: &mut Ctx, argv: &[&[u8]]) {
    let mut ids: Option<Vec<u64>> = None;
    let mut any_type = true;
    let mut j = 2;
    while j < argv.len() {
        if argv[j].eq_ignore_ascii_case(b"type") && j + 1 < argv.len() {
            match client_type_ok(argv[j + 1]) {
                Ok(ok) => any_type = ok,
                Err(()) => return unknown_type(ctx, argv[j + 1]),
            }
            j += 2;
        } else if argv[j].eq_ignore_ascii_case(b"id") && j + 1 < argv.len() {
            let mut v = Vec::new();
            for a in &argv[j + 1..] {
                match parse_i64(a) {
                    Some(n) if n > 0 => v.push(n as u64),
                    _ => return ctx.out.error("ERR Invalid client ID"),
                }
            }
            ids = Some(v);
            j = argv.len();
        } else {
            return ctx.out.error(err::SYNTAX);
        }
    }
    let mut text = String::new();
    if any_type {
        for c in ctx.server.clients.all() {
            if ids.as_ref().map_or(true, |v| v.contains(&c.id)) {
                text.push_str(&client_line(ctx, &c, "client|list"));
                text.push('\n');
            }
        }
    }
    ctx.out.verbatim(&text);
}

/// CLIENT KILL ip:port | CLIENT KILL <filter> <value> ...
fn client_kill(ctx: &mut Ctx, argv: &[&[u8]]) {
    let old_form = argv.len() == 3;
    let (mut id, mut addr, mut laddr, mut skipme) = (None, None, None, true);
    let mut type_ok = true;
    if old_form {
        addr = Some(argv[2]);
        skipme = false;
    } else {
        let mut j = 2;
        while j < argv.len() {
            let more = j + 1 < argv.len();
            let (opt, val) = (argv[j].to_ascii_lowercase(), argv.get(j + 1).copied());
            match (opt.as_slice(), val) {
                (b"id", Some(v)) if more => match parse_i64(v) {
                    Some(n) if n > 0 => id = Some(n as u64),
                    _ => return ctx.out.error("ERR client-id should be greater than 0"),
                },
                (b"type", Some(v)) if more => match client_type_ok(v) {
                    Ok(ok) => type_ok = ok,
                    Err(()) => return unknown_type(ctx, v),
                },
                (b"addr", Some(v)) if more => addr = Some(v),
                (b"laddr", Some(v)) if more => laddr = Some(v),
                (b"user", Some(v)) if more => {
                    if v != b"default" {
                        let mut m = b"ERR No such user '".to_vec();
                        m.extend_from_slice(v);
                        m.push(b'\'');
                        return ctx.out.error_bytes(&m);
                    }
                }
                (b"skipme", Some(v)) if more => {
                    if v.eq_ignore_ascii_case(b"yes") {
                        skipme = true;
                    } else if v.eq_ignore_ascii_case(b"no") {
                        skipme = false;
                    } else {
                        return ctx.out.error(err::SYNTAX);
                    }
                }
                _ => return ctx.out.error(err::SYNTAX),
            }
            j += 2;
        }
    }
    let mut killed = 0;
    if type_ok {
        for c in ctx.server.clients.all() {
            if id.is_some_and(|i| i != c.id)
                || addr.is_some_and(|a| a != c.addr.as_bytes())
                || laddr.is_some_and(|a| a != c.laddr.as_bytes())
                || (skipme && c.id == ctx.client.id)
            {
                continue;
            }
            if c.id == ctx.client.id {
                // Ourselves: close once this reply is sent, as Redis does.
                ctx.client.close_after_reply = true;
            } else {
                // Only the owning I/O thread may close it: ask it.
                c.kill.store(true, Ordering::Relaxed);
                ctx.deliver(Delivery::Kill(ClientRef {
                    thread: c.thread,
                    conn: c.conn,
                    id: c.id,
                }));
            }
            killed += 1;
        }
    }
    if old_form {
        if killed == 0 {
            ctx.out.error("ERR No such client");
        } else {
            ctx.out.ok();
        }
    } else {
        ctx.out.int(killed);
    }
}

/// One command's COMMAND/COMMAND INFO entry: Redis's own (see
/// command_docs.rs), or ours built from the table when missing.
fn command_info(ctx: &mut Ctx, c: &crate::exec::table::Command) {
    if let Some(e) = meta::meta().info.get(c.name.as_bytes()) {
        return e.emit(ctx.out);
    }
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

/// A command's COMMAND DOCS map: Redis's, or a minimal one.
fn command_docs_entry(ctx: &mut Ctx, c: &crate::exec::table::Command) {
    if let Some(d) = meta::meta().docs.get(c.name.as_bytes()) {
        return d.emit(ctx.out);
    }
    ctx.out.map(3);
    ctx.out.bulk(b"summary");
    ctx.out.bulk(c.name.as_bytes());
    ctx.out.bulk(b"since");
    ctx.out.bulk(b"1.0.0");
    ctx.out.bulk(b"group");
    ctx.out.bulk(b"server");
}

/// COMMAND [COUNT | LIST [FILTERBY ...] | INFO [name...] | DOCS [name...] |
/// GETKEYS cmd args... | HELP]
pub fn command(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() == 1 {
        ctx.out.array(COMMANDS.len());
        for c in COMMANDS {
            command_info(ctx, c);
        }
        return;
    }
    let sub = argv[1].to_ascii_lowercase();
    let arity = match sub.as_slice() {
        b"count" | b"help" => 2,
        b"list" | b"info" | b"docs" => -2,
        // Redis 7.0 answers COMMAND GETKEYS with no command arguments
        // with the arity error.
        b"getkeys" => -4,
        _ => return unknown_subcommand(ctx, argv),
    };
    if !sub_arity(ctx, argv, arity) {
        return;
    }
    match sub.as_slice() {
        b"count" => ctx.out.int(COMMANDS.len() as i64),
        b"list" => {
            let names: Vec<&str> = match argv.len() {
                2 => COMMANDS.iter().map(|c| c.name).collect(),
                5 if argv[2].eq_ignore_ascii_case(b"filterby") => {
                    let (f, v) = (argv[3].to_ascii_lowercase(), argv[4]);
                    match f.as_slice() {
                        b"module" => Vec::new(),
                        b"pattern" => COMMANDS
                            .iter()
                            .filter(|c| glob_match(v, c.name.as_bytes(), true))
                            .map(|c| c.name)
                            .collect(),
                        b"aclcat" => {
                            let mut cat = b"@".to_vec();
                            cat.extend_from_slice(v);
                            let meta = meta::meta();
                            COMMANDS
                                .iter()
                                .filter(|c| {
                                    meta.info.get(c.name.as_bytes()).is_some_and(|e| {
                                        e.items().get(6).is_some_and(|cats| {
                                            cats.items().iter().any(|x| {
                                                x.str()
                                                    .is_some_and(|s| s.eq_ignore_ascii_case(&cat))
                                            })
                                        })
                                    })
                                })
                                .map(|c| c.name)
                                .collect()
                        }
                        _ => return ctx.out.error(err::SYNTAX),
                    }
                }
                _ => return ctx.out.error(err::SYNTAX),
            };
            ctx.out.array(names.len());
            for n in names {
                ctx.out.bulk(n.as_bytes());
            }
        }
        b"info" => {
            if argv.len() == 2 {
                ctx.out.array(COMMANDS.len());
                for c in COMMANDS {
                    command_info(ctx, c);
                }
                return;
            }
            ctx.out.array(argv.len() - 2);
            for name in &argv[2..] {
                match crate::exec::table::lookup(name) {
                    Some(c) => command_info(ctx, c),
                    None => ctx.out.null_array(),
                }
            }
        }
        b"docs" => {
            let cmds: Vec<&crate::exec::table::Command> = if argv.len() == 2 {
                COMMANDS.iter().collect()
            } else {
                argv[2..]
                    .iter()
                    .filter_map(|n| crate::exec::table::lookup(n))
                    .collect()
            };
            ctx.out.map(cmds.len());
            for c in cmds {
                ctx.out.bulk(c.name.as_bytes());
                command_docs_entry(ctx, c);
            }
        }
        b"getkeys" => command_getkeys(ctx, &argv[2..]),
        _ => help(
            ctx,
            "COMMAND",
            &[
                "(no subcommand)",
                "    Return details about all Redis commands.",
                "COUNT",
                "    Return the total number of commands in this Redis server.",
                "LIST",
                "    Return a list of all commands in this Redis server.",
                "INFO [<command-name> ...]",
                "    Return details about multiple Redis commands.",
                "    If no command names are given, documentation details for all",
                "    commands are returned.",
                "DOCS [<command-name> ...]",
                "    Return documentation details about multiple Redis commands.",
                "    If no command names are given, documentation details for all",
                "    commands are returned.",
                "GETKEYS <full-command>",
                "    Return the keys from a full Redis command.",
                "LIST [FILTERBY (MODULE <module-name>|ACLCAT <category>|PATTERN <pattern>)]",
                "    Return a list of all commands in this Redis server.",
            ],
        ),
    }
}

/// COMMAND GETKEYS cmd arg...: the keys by Redis's key specs.
fn command_getkeys(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(c) = crate::exec::table::lookup(args[0]) else {
        return ctx.out.error("ERR Invalid command specified");
    };
    let entry = meta::meta().info.get(c.name.as_bytes());
    let has_keys = match entry {
        Some(e) => e
            .items()
            .get(8)
            .is_some_and(|specs| !specs.items().is_empty()),
        None => c.first_key > 0,
    };
    if !has_keys {
        return ctx.out.error("ERR The command has no key arguments");
    }
    let n = args.len() as i32;
    if (c.arity > 0 && n != c.arity) || n < -c.arity {
        return ctx
            .out
            .error("ERR Invalid number of arguments specified for command");
    }
    let keys = match entry {
        Some(e) => meta::keys_by_specs(e, args),
        None => Some(c.key_indices(args.len()).collect()),
    };
    match keys {
        Some(k) if !k.is_empty() => {
            ctx.out.array(k.len());
            for i in k {
                ctx.out.bulk(args[i]);
            }
        }
        Some(_) => ctx.out.error("ERR The command has no key arguments"),
        None => ctx.out.error("ERR Invalid arguments specified for command"),
    }
}

/// Redis's bytesToHuman.
fn human(n: u64) -> String {
    let d = n as f64;
    const K: f64 = 1024.0;
    if d < K {
        format!("{n}B")
    } else if d < K * K {
        format!("{:.2}K", d / K)
    } else if d < K * K * K {
        format!("{:.2}M", d / (K * K))
    } else if d < K * K * K * K {
        format!("{:.2}G", d / (K * K * K))
    } else {
        format!("{:.2}T", d / (K * K * K * K))
    }
}

fn total_system_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            let l = s.lines().find(|l| l.starts_with("MemTotal:"))?;
            l.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |kb| kb * 1024)
}

/// The highest `used_memory` seen by INFO/MEMORY (Redis tracks it on
/// every allocation; we sample).
fn peak_memory(used: u64) -> u64 {
    static PEAK: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    PEAK.fetch_max(used, Ordering::Relaxed).max(used)
}

/// INFO's section names in Redis 7.0's order, and whether `INFO` /
/// `INFO default` includes each.
const SECTIONS: &[(&str, bool)] = &[
    ("server", true),
    ("clients", true),
    ("memory", true),
    ("persistence", true),
    ("stats", true),
    ("replication", true),
    ("cpu", true),
    ("modules", true),
    ("commandstats", false),
    ("errorstats", true),
    ("cluster", true),
    ("keyspace", true),
];

/// Writes `key:value\r\n` lines.
macro_rules! fields {
    ($s:expr, $($k:literal => $v:expr),* $(,)?) => {
        $( let _ = write!($s, concat!($k, ":{}\r\n"), $v); )*
    };
}

/// INFO [section ...]: Redis 7.0's sections and field names (tools parse
/// them); fields we do not measure are 0 (see the README).
pub fn info(ctx: &mut Ctx, argv: &[&[u8]]) {
    let args: Vec<Vec<u8>> = argv[1..].iter().map(|a| a.to_ascii_lowercase()).collect();
    let has = |s: &str| args.iter().any(|a| a == s.as_bytes());
    let all = has("all") || has("everything");
    let default = args.is_empty() || has("default");
    let wants = |name: &str, dflt: bool| all || (default && dflt) || has(name);
    let srv = ctx.server;
    let mut out: Vec<String> = Vec::new();
    for &(name, dflt) in SECTIONS {
        if !wants(name, dflt) {
            continue;
        }
        let mut s = String::new();
        match name {
            "server" => {
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
                let release =
                    std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
                let hz = srv.config.hz.load(Ordering::Relaxed);
                s.push_str("# Server\r\n");
                fields!(s,
                    "redis_version" => REDIS_VERSION,
                    "redis_git_sha1" => "00000000",
                    "redis_git_dirty" => 0,
                    "redis_build_id" => "0",
                    "redis_mode" => "standalone",
                    "os" => format!("Linux {} {}", release.trim(), std::env::consts::ARCH),
                    "arch_bits" => 64,
                    "monotonic_clock" => "POSIX clock_gettime",
                    "multiplexing_api" => "fastio",
                    "atomicvar_api" => "c11-builtin",
                    "gcc_version" => "0.0.0",
                    "process_id" => std::process::id(),
                    "process_supervised" => "no",
                    "run_id" => srv.run_id,
                    "tcp_port" => srv.cfg.port,
                    "server_time_usec" => crate::util::now_us(),
                    "uptime_in_seconds" => up,
                    "uptime_in_days" => up / 86400,
                    "hz" => hz,
                    "configured_hz" => hz,
                    "lru_clock" => (ctx.now / 1000) & ((1 << 24) - 1),
                    "executable" => exe,
                    "config_file" => conf,
                    "io_threads_active" => 1,
                    "io_threads" => srv.cfg.io_threads,
                    "fastio_backend" => srv.backend.replace(['\r', '\n'], " "),
                    "keyspace_shards" => srv.ks.shard_count(),
                );
            }
            "clients" => {
                s.push_str("# Clients\r\n");
                fields!(s,
                    "connected_clients" => srv.connected_clients.load(Ordering::Relaxed),
                    "cluster_connections" => 0,
                    "maxclients" => srv.config.get("maxclients"),
                    "client_recent_max_input_buffer" => 0,
                    "client_recent_max_output_buffer" => 0,
                    "blocked_clients" => 0,
                    "tracking_clients" => 0,
                    "clients_in_timeout_table" => 0,
                );
            }
            "memory" => {
                let used = crate::exec::evict::used_memory_now();
                let rss = crate::util::rss_bytes();
                let peak = peak_memory(used);
                let maxmem = srv.config.maxmemory.load(Ordering::Relaxed);
                let total = total_system_memory();
                s.push_str("# Memory\r\n");
                fields!(s,
                    "used_memory" => used,
                    "used_memory_human" => human(used),
                    "used_memory_rss" => rss,
                    "used_memory_rss_human" => human(rss),
                    "used_memory_peak" => peak,
                    "used_memory_peak_human" => human(peak),
                    "used_memory_peak_perc" => format!("{:.2}%", used as f64 * 100.0 / peak.max(1) as f64),
                    "used_memory_startup" => srv.startup_rss,
                    "used_memory_dataset" => used.saturating_sub(srv.startup_rss),
                    "total_system_memory" => total,
                    "total_system_memory_human" => human(total),
                    "maxmemory" => maxmem,
                    "maxmemory_human" => human(maxmem),
                    "maxmemory_policy" => srv.config.get("maxmemory-policy"),
                    "mem_fragmentation_ratio" => "1.00",
                    "mem_allocator" => "libc",
                    "lazyfree_pending_objects" => 0,
                    "lazyfreed_objects" => srv.lazyfreed_objects.load(Ordering::Relaxed),
                );
            }
            "persistence" => {
                // What runs, not what CONFIG SET stored (that applies at
                // the next start).
                let aof = u8::from(ctx.server.aof().is_some());
                let rewriting = ctx
                    .server
                    .aof()
                    .map_or(0, |a| u8::from(a.rewrite_in_progress()));
                s.push_str("# Persistence\r\n");
                fields!(s,
                    "loading" => 0,
                    "async_loading" => 0,
                    "current_cow_peak" => 0,
                    "current_cow_size" => 0,
                    "current_cow_size_age" => 0,
                    "current_fork_perc" => "0.00",
                    "current_save_keys_processed" => 0,
                    "current_save_keys_total" => 0,
                );
                for (k, v) in srv.rdb.info_fields(srv.dirty()) {
                    let _ = write!(s, "{k}:{v}\r\n");
                }
                fields!(s,
                    "aof_enabled" => aof,
                    "aof_rewrite_in_progress" => rewriting,
                    "aof_rewrite_scheduled" => 0,
                    "aof_last_rewrite_time_sec" => -1,
                    "aof_current_rewrite_time_sec" => -1,
                    "aof_last_bgrewrite_status" => "ok",
                    "aof_rewrites" => 0,
                    "aof_rewrites_consecutive_failures" => 0,
                    "aof_last_write_status" => "ok",
                    "aof_last_cow_size" => 0,
                    "module_fork_in_progress" => 0,
                    "module_fork_last_cow_size" => 0,
                );
            }
            "stats" => {
                s.push_str("# Stats\r\n");
                fields!(s,
                    "total_connections_received" => srv.total_connections.load(Ordering::Relaxed),
                    "total_commands_processed" => srv.stats.total_calls(),
                    "instantaneous_ops_per_sec" => srv.stats.ops_per_sec(),
                    "total_net_input_bytes" => 0,
                    "total_net_output_bytes" => 0,
                    "instantaneous_input_kbps" => "0.00",
                    "instantaneous_output_kbps" => "0.00",
                    "rejected_connections" => srv.rejected_connections.load(Ordering::Relaxed),
                    "sync_full" => 0,
                    "sync_partial_ok" => 0,
                    "sync_partial_err" => 0,
                    "expired_keys" => 0,
                    "expired_stale_perc" => "0.00",
                    "expired_time_cap_reached_count" => 0,
                    "evicted_keys" => srv.evicted_keys.load(Ordering::Relaxed),
                    "evicted_clients" => 0,
                    "keyspace_hits" => 0,
                    "keyspace_misses" => 0,
                    "pubsub_channels" => 0,
                    "pubsub_patterns" => 0,
                    "pubsubshard_channels" => 0,
                    "latest_fork_usec" => 0,
                    "total_forks" => 0,
                    "migrate_cached_sockets" => 0,
                    "tracking_total_keys" => 0,
                    "unexpected_error_replies" => 0,
                    "total_error_replies" => srv.stats.total_errors.load(Ordering::Relaxed),
                    "dump_payload_sanitizations" => 0,
                    // kvserver's own (dispatch.rs): commands their shards'
                    // owner ran for another I/O thread's connection.
                    "forwarded_commands" => srv.forwarded_commands.load(Ordering::Relaxed),
                );
            }
            "replication" => {
                s.push_str("# Replication\r\n");
                fields!(s,
                    "role" => "master",
                    "connected_slaves" => 0,
                    "master_failover_state" => "no-failover",
                    "master_replid" => srv.master_replid,
                    "master_replid2" => "0000000000000000000000000000000000000000",
                    "master_repl_offset" => 0,
                    "second_repl_offset" => -1,
                    "repl_backlog_active" => 0,
                    "repl_backlog_size" => 1048576,
                    "repl_backlog_first_byte_offset" => 0,
                    "repl_backlog_histlen" => 0,
                );
            }
            "cpu" => {
                let (sys, user, csys, cuser) = fastio::server::net::cpu_times();
                s.push_str("# CPU\r\n");
                fields!(s,
                    "used_cpu_sys" => format!("{sys:.6}"),
                    "used_cpu_user" => format!("{user:.6}"),
                    "used_cpu_sys_children" => format!("{csys:.6}"),
                    "used_cpu_user_children" => format!("{cuser:.6}"),
                );
            }
            "modules" => s.push_str("# Modules\r\n"),
            "commandstats" => {
                s.push_str("# Commandstats\r\n");
                for c in COMMANDS {
                    let st = srv.stats.cmd(c.index());
                    let calls = st.calls.load(Ordering::Relaxed);
                    let rejected = st.rejected.load(Ordering::Relaxed);
                    if calls == 0 && rejected == 0 {
                        continue;
                    }
                    let usec = st.usec.load(Ordering::Relaxed);
                    let per = if calls == 0 {
                        0.0
                    } else {
                        usec as f64 / calls as f64
                    };
                    let _ = write!(
                        s,
                        "cmdstat_{}:calls={calls},usec={usec},usec_per_call={per:.2},\
                         rejected_calls={rejected},failed_calls={}\r\n",
                        c.name,
                        st.failed.load(Ordering::Relaxed)
                    );
                }
            }
            "errorstats" => {
                s.push_str("# Errorstats\r\n");
                for (code, n) in srv.stats.error_counts() {
                    let _ = write!(s, "errorstat_{code}:count={n}\r\n");
                }
            }
            "cluster" => s.push_str("# Cluster\r\ncluster_enabled:0\r\n"),
            _ => {
                s.push_str("# Keyspace\r\n");
                for db in 0..srv.ks.databases {
                    let (mut keys, mut expires) = (0, 0);
                    for d in ctx.ks.dbs(db) {
                        keys += d.len();
                        expires += d.expires_len();
                    }
                    if keys > 0 {
                        let _ = write!(s, "db{db}:keys={keys},expires={expires},avg_ttl=0\r\n");
                    }
                }
            }
        }
        out.push(s);
    }
    ctx.out.verbatim(&out.join("\r\n"));
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

/// CONFIG GET pattern... | SET name value... | RESETSTAT | REWRITE | HELP
pub fn config(ctx: &mut Ctx, argv: &[&[u8]]) {
    let sub = argv[1].to_ascii_lowercase();
    let arity = match sub.as_slice() {
        b"get" => -3,
        b"set" => -4,
        b"resetstat" | b"rewrite" | b"help" => 2,
        _ => return unknown_subcommand(ctx, argv),
    };
    if !sub_arity(ctx, argv, arity) {
        return;
    }
    let srv = ctx.server;
    match sub.as_slice() {
        b"get" => {
            let found = srv.config.matching(&argv[2..]);
            ctx.out.map(found.len());
            for (k, v) in found {
                ctx.out.bulk(k.as_bytes());
                ctx.out.bulk(v.as_bytes());
            }
        }
        b"set" => {
            if argv.len() % 2 != 0 {
                return arity_error(ctx.out, "config|set");
            }
            let pairs: Vec<(&[u8], &[u8])> = argv[2..].chunks(2).map(|p| (p[0], p[1])).collect();
            match srv.config.set_many(&pairs) {
                Ok(()) => {
                    srv.config_changed();
                    ctx.out.ok()
                }
                Err(e) => ctx.out.error(&e),
            }
        }
        b"resetstat" => {
            srv.stats.reset();
            ctx.out.ok();
        }
        b"rewrite" => match &srv.cfg.config_file {
            None => ctx
                .out
                .error("ERR The server is running without a config file"),
            Some(path) => match srv.config.rewrite(path) {
                Ok(()) => ctx.out.ok(),
                Err(e) => ctx.out.error(&format!("ERR Rewriting config file: {e}")),
            },
        },
        _ => help(
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
        ),
    }
}

/// SLOWLOG GET [count] | LEN | RESET | HELP
pub fn slowlog(ctx: &mut Ctx, argv: &[&[u8]]) {
    let sub = argv[1].to_ascii_lowercase();
    let arity = match sub.as_slice() {
        b"get" => -2,
        b"len" | b"reset" | b"help" => 2,
        _ => return unknown_subcommand(ctx, argv),
    };
    if !sub_arity(ctx, argv, arity) {
        return;
    }
    let stats = &ctx.server.stats;
    match sub.as_slice() {
        b"get" => {
            if argv.len() > 3 {
                return arity_error(ctx.out, "slowlog|get");
            }
            let count = match argv.get(2) {
                None => 10,
                Some(a) => match parse_i64(a) {
                    Some(-1) => usize::MAX,
                    Some(n) if n >= 0 => n as usize,
                    Some(_) => {
                        return ctx
                            .out
                            .error("ERR count should be greater than or equal to -1")
                    }
                    None => return ctx.out.error(err::NOT_INTEGER),
                },
            };
            let entries = stats.slowlog_get(count);
            ctx.out.array(entries.len());
            for e in entries {
                ctx.out.array(6);
                ctx.out.int(e.id as i64);
                ctx.out.int(e.time as i64);
                ctx.out.int(e.usec as i64);
                ctx.out.array(e.argv.len());
                for a in &e.argv {
                    ctx.out.bulk(a);
                }
                ctx.out.bulk(e.addr.as_bytes());
                ctx.out.bulk(&e.name);
            }
        }
        b"len" => ctx.out.int(stats.slowlog_len() as i64),
        b"reset" => {
            stats.slowlog_reset();
            ctx.out.ok();
        }
        _ => help(
            ctx,
            "SLOWLOG",
            &[
                "GET [<count>]",
                "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
                "    Entries are made of:",
                "    id, timestamp, time in microseconds, arguments array, client IP and port,",
                "    client name",
                "LEN",
                "    Return the length of the slowlog.",
                "RESET",
                "    Reset the slowlog.",
            ],
        ),
    }
}

/// Bytes of an sds string holding `n` bytes: header (sdshdr8/16/32/64),
/// content and terminator.
fn sds(n: usize) -> usize {
    let hdr = match n {
        0..=255 => 3,
        256..=65535 => 5,
        _ if n as u64 <= u32::MAX as u64 => 9,
        _ => 17,
    };
    hdr + n + 1
}

/// Averages `size` over the first `samples` items (all if 0) and scales it
/// to `len` items, as Redis's objectComputeSize samples.
fn sampled<'a, T: 'a>(
    items: impl Iterator<Item = T>,
    len: usize,
    samples: usize,
    size: impl Fn(T) -> usize,
) -> usize {
    let limit = if samples == 0 { usize::MAX } else { samples };
    let (mut n, mut total) = (0usize, 0usize);
    for it in items.take(limit) {
        total += size(it);
        n += 1;
    }
    (total * len).checked_div(n).unwrap_or(0)
}

/// MEMORY USAGE's estimate of a key's bytes, modelled on Redis's own
/// layout rather than measured (the system allocator cannot tell):
/// key = dict entry (24) + robj (16) + sds(key), plus 24 for a deadline;
/// value = per type, with the element sizes averaged over `samples`
/// elements (all if 0):
/// - string: an integer fits in the robj (0), else sds(len);
/// - list: the bytes the packed list really holds (its chunks are laid
///   out as Redis's listpacks are; no sampling needed);
/// - hash: listpack 24 + per field (field + value + 4); hashtable 96 +
///   per field (sds(field) + sds(value) + 24 dict entry);
/// - set: intset 16 + 8 per member; hashtable 96 + per member (sds + 24);
/// - zset: listpack 24 + per member (member + 10); skiplist 96 + per
///   member (sds + 24 dict entry + 48 skiplist node).
pub fn memory_usage(key: &[u8], v: &Value, has_ttl: bool, samples: usize) -> usize {
    let mut n = 24 + 16 + sds(key.len()) + if has_ttl { 24 } else { 0 };
    n += match v {
        Value::String(s) => {
            if s.len() <= 20 && parse_i64(s).is_some() {
                0
            } else {
                sds(s.len())
            }
        }
        // Measured, not modelled: the packed layout is Redis's.
        Value::List(l) => l.allocated_bytes(),
        Value::Hash(h) => {
            let big = h.encoding() == "hashtable";
            let per = |(f, v): (&Str, &Str)| {
                if big {
                    sds(f.len()) + sds(v.len()) + 24
                } else {
                    f.len() + v.len() + 4
                }
            };
            (if big { 96 } else { 24 }) + sampled(h.map.iter(), h.map.len(), samples, per)
        }
        Value::Set(s) => {
            if s.encoding() == "intset" {
                16 + 8 * s.set.len()
            } else {
                96 + sampled(s.set.iter(), s.set.len(), samples, |m| sds(m.len()) + 24)
            }
        }
        Value::ZSet(z) => {
            let big = z.encoding() == "skiplist";
            let per = |(m, _): (&Str, &f64)| {
                if big {
                    sds(m.len()) + 24 + 48
                } else {
                    m.len() + 10
                }
            };
            (if big { 96 } else { 24 }) + sampled(z.dict.iter(), z.dict.len(), samples, per)
        }
        // stream: 64 for the stream struct, 4096-byte listpack nodes of
        // up to 100 entries (Redis's stream-node-max-*) each with a rax
        // node (~40), the entries sampled from the front: id delta (2) +
        // per pair field + value + 2 headers.
        Value::Stream(st) => {
            let nodes = st.node_count();
            let sample = if samples == 0 { st.len() } else { samples };
            let front = st.range(StreamId::new(0, 0), StreamId::MAX, false, sample);
            let per = |(_, p): &(StreamId, crate::types::stream::Pairs<'_>)| {
                2 + p.clone().map(|(f, v)| f.len() + v.len() + 2).sum::<usize>()
            };
            64 + nodes * 40 + sampled(front.iter(), st.len(), 0, per)
        }
    };
    n
}

/// MEMORY USAGE key [SAMPLES n] | STATS | DOCTOR | MALLOC-STATS | PURGE |
/// HELP
pub fn memory(ctx: &mut Ctx, argv: &[&[u8]]) {
    let sub = argv[1].to_ascii_lowercase();
    let arity = match sub.as_slice() {
        b"usage" => -3,
        b"stats" | b"doctor" | b"malloc-stats" | b"purge" | b"help" => 2,
        _ => return unknown_subcommand(ctx, argv),
    };
    if !sub_arity(ctx, argv, arity) {
        return;
    }
    match sub.as_slice() {
        b"usage" => {
            let mut samples = 5;
            let mut j = 3;
            while j < argv.len() {
                if argv[j].eq_ignore_ascii_case(b"samples") && j + 1 < argv.len() {
                    match parse_i64(argv[j + 1]) {
                        Some(n) if n >= 0 => samples = n as usize,
                        Some(_) => return ctx.out.error(err::SYNTAX),
                        None => return ctx.out.error(err::NOT_INTEGER),
                    }
                    j += 2;
                } else {
                    return ctx.out.error(err::SYNTAX);
                }
            }
            let now = ctx.now;
            let key = argv[2];
            let db = ctx.db(key);
            let ttl = db.expire_at(key).is_some();
            match db.peek(key, now) {
                Some(e) => {
                    let n = memory_usage(key, &e.value, ttl, samples);
                    ctx.out.int(n as i64);
                }
                None => ctx.out.null(),
            }
        }
        b"stats" => {
            let used = crate::exec::evict::used_memory_now();
            let peak = peak_memory(used);
            let srv = ctx.server;
            ctx.out.map(5);
            ctx.out.bulk(b"peak.allocated");
            ctx.out.int(peak as i64);
            ctx.out.bulk(b"total.allocated");
            ctx.out.int(used as i64);
            ctx.out.bulk(b"startup.allocated");
            ctx.out.int(srv.startup_rss as i64);
            ctx.out.bulk(b"dataset.bytes");
            ctx.out.int(used.saturating_sub(srv.startup_rss) as i64);
            ctx.out.bulk(b"lazyfreed.objects");
            ctx.out
                .int(srv.lazyfreed_objects.load(Ordering::Relaxed) as i64);
        }
        b"doctor" => ctx.out.verbatim(
            "Hi Sam, I can't find any memory issue in your instance. \
             I can only account for what occurs on this base.",
        ),
        b"malloc-stats" => ctx
            .out
            .verbatim("Stats not supported for the current allocator"),
        b"purge" => ctx.out.ok(),
        _ => help(
            ctx,
            "MEMORY",
            &[
                "DOCTOR",
                "    Return memory problems reports.",
                "MALLOC-STATS",
                "    Return internal statistics report from the memory allocator.",
                "PURGE",
                "    Attempt to purge dirty pages for reclamation by the allocator.",
                "STATS",
                "    Return information about the memory usage of the server.",
                "USAGE <key> [SAMPLES <count>]",
                "    Return memory in bytes used by <key> and its value. Nested values are",
                "    sampled up to <count> times (default: 5, 0 means sample all).",
            ],
        ),
    }
}

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]: stops the server (every
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
        b"help" => help(
            ctx,
            "DEBUG",
            &[
                "SLEEP <seconds>",
                "    Stop the server for <seconds>. Decimals allowed.",
            ],
        ),
        _ => unknown_subcommand(ctx, argv),
    }
}

/// LATENCY LATEST | HISTORY event | RESET [event...] | DOCTOR | GRAPH event
/// | HISTOGRAM [cmd...] | HELP: the latency monitor is not implemented
/// (latency-monitor-threshold 0 means "off" in Redis too), so there are
/// never samples.
pub fn latency(ctx: &mut Ctx, argv: &[&[u8]]) {
    let sub = argv[1].to_ascii_lowercase();
    let arity = match sub.as_slice() {
        b"latest" | b"doctor" | b"help" => 2,
        b"history" | b"graph" => 3,
        b"reset" | b"histogram" => -2,
        _ => return unknown_subcommand(ctx, argv),
    };
    if !sub_arity(ctx, argv, arity) {
        return;
    }
    match sub.as_slice() {
        b"latest" | b"history" => ctx.out.array(0),
        b"reset" => ctx.out.int(0),
        b"histogram" => ctx.out.map(0),
        b"graph" => {
            let mut m = b"ERR No samples available for event '".to_vec();
            m.extend_from_slice(argv[2]);
            m.push(b'\'');
            ctx.out.error_bytes(&m);
        }
        b"doctor" => ctx.out.verbatim(
            "Dave, no latency spike was observed during the lifetime of this Redis instance, \
             not in the slightest bit. I honestly think you ought to sleep better.\n",
        ),
        _ => help(
            ctx,
            "LATENCY",
            &[
                "DOCTOR",
                "    Return a human readable latency analysis report.",
                "GRAPH <event>",
                "    Return an ASCII latency graph for the <event> class.",
                "HISTORY <event>",
                "    Return time-latency samples for the <event> class.",
                "LATEST",
                "    Return the latest latency samples for all events.",
                "RESET [<event> ...]",
                "    Reset latency data of one or more <event> classes.",
                "    (default: reset all data for all event classes)",
                "HISTOGRAM [COMMAND ...]",
                "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
                "    If no commands are specified then all histograms are replied.",
            ],
        ),
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
    crate::exec::multi::unwatch_all(server, c);
    crate::cmd::pubsub::unsubscribe_all(server, c);
    crate::exec::monitor::leave(server, c);
    c.db = 0;
    c.name = None;
    c.reply_off = false;
    c.reply_skip = false;
    c.reply_skip_next = false;
    crate::exec::security::reset_auth(server, c);
    ctx.out.resp = 2;
    ctx.out.simple("RESET");
}
