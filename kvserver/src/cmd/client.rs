//! CLIENT (Redis's networking.c handlers), one function per subcommand:
//! what a connection can learn and set about itself and the others, through
//! the client registry (`exec::clients`).

use super::connection::valid_client_name;
use crate::exec::context::Ctx;
use crate::exec::effects::{ClientRef, Delivery};
use crate::exec::tracking::ClientTracking;
use crate::proto::reply::err;
use crate::server::Client;
use crate::util::parse_i64;
use bytes::Bytes;
use std::sync::atomic::Ordering;

/// CLIENT ID
pub fn id(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.out.int(ctx.client.id as i64);
}

/// CLIENT GETNAME
pub fn getname(ctx: &mut Ctx, _argv: &[&[u8]]) {
    match &ctx.client.name {
        Some(n) => ctx.out.bulk(n),
        None => ctx.out.null(),
    }
}

/// CLIENT SETNAME name ("" clears it)
pub fn setname(ctx: &mut Ctx, argv: &[&[u8]]) {
    if !valid_client_name(argv[2]) {
        return ctx
            .out
            .error("ERR Client names cannot contain spaces, newlines or special characters.");
    }
    ctx.client
        .set_name((!argv[2].is_empty()).then(|| Bytes::copy_from_slice(argv[2])));
    ctx.out.ok();
}

/// CLIENT INFO: this connection's CLIENT LIST line.
pub fn info(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let line = ctx.client.info.line(ctx.now);
    ctx.out.verbatim(&format!("{line}\n"));
}

/// CLIENT NO-EVICT ON|OFF: recorded (CLIENT LIST shows `e`); client
/// eviction does not exist yet, so it changes nothing.
pub fn no_evict(ctx: &mut Ctx, argv: &[&[u8]]) {
    match super::on_off(argv[2]) {
        Some(v) => {
            ctx.client.info.no_evict.store(v, Ordering::Relaxed);
            ctx.out.ok()
        }
        None => ctx.out.error(err::SYNTAX),
    }
}

/// CLIENT PAUSE timeout [WRITE|ALL] (ms): see `exec/pause.rs`. Redis
/// checks the mode before the timeout, and takes 3 or 4 arguments.
pub fn pause(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() > 4 {
        return subcommand_syntax_error(ctx, argv[1]);
    }
    let all = match argv.get(3) {
        None => true,
        Some(m) if m.eq_ignore_ascii_case(b"all") => true,
        Some(m) if m.eq_ignore_ascii_case(b"write") => false,
        Some(_) => return ctx.out.error("ERR CLIENT PAUSE mode must be WRITE or ALL"),
    };
    let ms = match super::parse_timeout_ms(argv[2]) {
        Ok(t) => t,
        Err(e) => return ctx.out.error(e),
    };
    let now = ctx.start_us / 1000;
    ctx.server.pause.start(now.saturating_add(ms), all);
    ctx.out.ok()
}

/// CLIENT UNPAUSE: the held clients go on (every I/O thread is woken to
/// look at its own).
pub fn unpause(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.server.pause.stop();
    for thread in 0..ctx.server.cfg.io_threads {
        ctx.deliver(Delivery::Resume(thread));
    }
    ctx.out.ok()
}

/// CLIENT UNBLOCK id [TIMEOUT|ERROR]: a client blocked in BLPOP & co. or
/// WAIT answers now, as if it had timed out (the default) or with
/// `-UNBLOCKED`; 1 if it was blocked, else 0.
pub fn unblock(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() > 4 {
        return subcommand_syntax_error(ctx, argv[1]);
    }
    let Some(id) = parse_i64(argv[2]) else {
        return ctx.out.error(err::NOT_INTEGER);
    };
    let error = match argv.get(3) {
        None => false,
        Some(r) if r.eq_ignore_ascii_case(b"timeout") => false,
        Some(r) if r.eq_ignore_ascii_case(b"error") => true,
        Some(_) => {
            return ctx
                .out
                .error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
        }
    };
    let done = id >= 0 && crate::exec::blocking::unblock(ctx, id as u64, error);
    ctx.out.int(i64::from(done))
}

/// Redis's addReplySubcommandSyntaxError: the subcommand as typed.
fn subcommand_syntax_error(ctx: &mut Ctx, name: &[u8]) {
    ctx.out.error(&format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.",
        String::from_utf8_lossy(name)
    ))
}

/// `CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p ...] [BCAST] [OPTIN]
/// [OPTOUT] [NOLOOP]`: client-side caching (`exec/tracking.rs`), with
/// Redis 7.0's checks in its order and its error texts.
pub fn tracking(ctx: &mut Ctx, argv: &[&[u8]]) {
    let on = match argv[2].to_ascii_lowercase().as_slice() {
        b"on" => true,
        b"off" => false,
        _ => return ctx.out.error(err::SYNTAX),
    };
    let mut t = ClientTracking::default();
    let mut redirect: Option<u64> = None;
    let mut j = 3;
    while j < argv.len() {
        let more = j + 1 < argv.len();
        match argv[j].to_ascii_lowercase().as_slice() {
            b"redirect" if more => {
                if redirect.is_some() {
                    return ctx
                        .out
                        .error("ERR A client can only redirect to a single other client");
                }
                j += 1;
                match parse_i64(argv[j]) {
                    Some(id) => redirect = Some(id as u64),
                    None => return ctx.out.error(err::NOT_INTEGER),
                }
            }
            b"bcast" => t.bcast = true,
            b"optin" => t.optin = true,
            b"optout" => t.optout = true,
            b"noloop" => t.noloop = true,
            b"prefix" if more => {
                j += 1;
                t.prefixes.push(Bytes::copy_from_slice(argv[j]));
            }
            _ => return ctx.out.error(err::SYNTAX),
        }
        j += 1;
    }
    let server = ctx.server;
    if !on {
        crate::exec::tracking::disable(server, ctx.client);
        return ctx.out.ok();
    }
    if !t.bcast && !t.prefixes.is_empty() {
        return ctx
            .out
            .error("ERR PREFIX option requires BCAST mode to be enabled");
    }
    if let Some(old) = ctx.client.tracking.as_deref() {
        if old.bcast != t.bcast {
            return ctx.out.error(
                "ERR You can't switch BCAST mode on/off before disabling tracking for this \
                 client, and then re-enabling it with a different mode.",
            );
        }
    }
    if t.bcast && (t.optin || t.optout) {
        return ctx
            .out
            .error("ERR OPTIN and OPTOUT are not compatible with BCAST");
    }
    if t.optin && t.optout {
        return ctx
            .out
            .error("ERR You can't specify both OPTIN mode and OPTOUT mode");
    }
    if let Some(old) = ctx.client.tracking.as_deref() {
        if (t.optin && old.optout) || (t.optout && old.optin) {
            return ctx.out.error(
                "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this \
                 client, and then re-enabling it with a different mode.",
            );
        }
    }
    if t.bcast {
        if let Some(e) = prefix_collision(ctx.client, &t.prefixes) {
            return ctx.out.error(&e);
        }
        // Turned on again: the prefixes it had stay.
        if let Some(old) = ctx.client.tracking.as_deref() {
            let mut all = old.prefixes.clone();
            all.extend(t.prefixes.iter().cloned());
            t.prefixes = all;
        }
    }
    if let Some(id) = redirect {
        match server.clients.get(id) {
            Some(info) => {
                t.redirect = Some(ClientRef {
                    thread: info.thread,
                    conn: info.conn,
                    id,
                })
            }
            None => {
                return ctx
                    .out
                    .error("ERR The client ID you want redirect to does not exist")
            }
        }
    }
    crate::exec::tracking::enable(server, ctx.client, t);
    ctx.out.ok()
}

/// Redis's checkPrefixCollisionsOrReply: no two prefixes of one client
/// where one starts with the other (new ones against its own and each
/// other).
fn prefix_collision(c: &Client, new: &[Bytes]) -> Option<String> {
    let shown = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let overlap = |a: &[u8], b: &[u8]| a.starts_with(b) || b.starts_with(a);
    for (i, p) in new.iter().enumerate() {
        if let Some(t) = c.tracking.as_deref() {
            if let Some(q) = t.prefixes.iter().find(|q| overlap(p, q)) {
                return Some(format!(
                    "ERR Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a \
                     single client must not overlap.",
                    shown(p),
                    shown(q)
                ));
            }
        }
        if let Some(q) = new[i + 1..].iter().find(|q| overlap(p, q)) {
            return Some(format!(
                "ERR Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a \
                 single client must not overlap.",
                shown(p),
                shown(q)
            ));
        }
    }
    None
}

/// CLIENT CACHING YES|NO: whether the next command's keys are tracked
/// (YES in OPTIN mode, NO in OPTOUT mode).
pub fn caching(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(t) = ctx.client.tracking.as_deref_mut() else {
        return ctx.out.error(
            "ERR CLIENT CACHING can be called only when the client is in tracking mode with \
             OPTIN or OPTOUT mode enabled",
        );
    };
    match argv[2].to_ascii_lowercase().as_slice() {
        b"yes" if t.optin => t.caching = Some(true),
        b"yes" => {
            return ctx.out.error(
                "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.",
            )
        }
        b"no" if t.optout => t.caching = Some(false),
        b"no" => {
            return ctx.out.error(
                "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.",
            )
        }
        _ => return ctx.out.error(err::SYNTAX),
    }
    ctx.out.ok()
}

/// CLIENT GETREDIR: -1 without tracking, 0 without REDIRECT, else its id.
pub fn getredir(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let n = match ctx.client.tracking.as_deref() {
        None => -1,
        Some(t) => t.redirect.map_or(0, |r| r.id as i64),
    };
    ctx.out.int(n)
}

/// CLIENT TRACKINGINFO: flags, redirect and prefixes, as Redis 7.0.
pub fn trackinginfo(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let t = ctx.client.tracking.as_deref();
    let mut flags: Vec<&str> = Vec::new();
    match t {
        None => flags.push("off"),
        Some(t) => {
            flags.push("on");
            if t.bcast {
                flags.push("bcast");
            }
            if t.optin {
                flags.push("optin");
                if t.caching == Some(true) {
                    flags.push("caching-yes");
                }
            }
            if t.optout {
                flags.push("optout");
                if t.caching == Some(false) {
                    flags.push("caching-no");
                }
            }
            if t.noloop {
                flags.push("noloop");
            }
        }
    }
    let redirect = t.map_or(-1, |t| t.redirect.map_or(0, |r| r.id as i64));
    // In Redis's order (a radix tree's: sorted).
    let mut prefixes: Vec<Bytes> = t.map(|t| t.prefixes.clone()).unwrap_or_default();
    prefixes.sort();
    let out = &mut *ctx.out;
    out.map(3);
    out.bulk(b"flags");
    out.set(flags.len());
    for f in flags {
        out.bulk(f.as_bytes());
    }
    out.bulk(b"redirect");
    out.int(redirect);
    out.bulk(b"prefixes");
    out.array(prefixes.len());
    for p in &prefixes {
        out.bulk(p);
    }
}

/// CLIENT REPLY ON|OFF|SKIP. OFF and SKIP answer nothing; the networking
/// layer drops a command's reply while `reply_off` or `reply_skip` is set
/// and moves `reply_skip_next` to `reply_skip` after each command.
pub fn reply(ctx: &mut Ctx, argv: &[&[u8]]) {
    let c = &mut *ctx.client;
    match argv[2].to_ascii_lowercase().as_slice() {
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
pub fn list(ctx: &mut Ctx, argv: &[&[u8]]) {
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
            if ids.as_ref().is_none_or(|v| v.contains(&c.id)) {
                text.push_str(&c.line(ctx.now));
                text.push('\n');
            }
        }
    }
    ctx.out.verbatim(&text);
}

/// `CLIENT KILL ip:port | CLIENT KILL <filter> <value> ...`
pub fn kill(ctx: &mut Ctx, argv: &[&[u8]]) {
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

/// CLIENT HELP
pub fn help(ctx: &mut Ctx, _argv: &[&[u8]]) {
    super::help(
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
        ],
    );
}
