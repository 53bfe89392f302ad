//! Connection commands (Redis's server.c / networking.c handlers): PING
//! ECHO QUIT SELECT HELLO AUTH RESET.

use crate::exec::context::Ctx;
use crate::exec::security::{credentials_ok, WRONGPASS};
use crate::exec::table::arity_error;
use crate::proto::reply::err;
use crate::server::REDIS_VERSION;
use crate::util::parse_i64;
use bytes::Bytes;
use std::sync::atomic::Ordering;

/// `PING [message]`
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
pub(super) fn valid_client_name(name: &[u8]) -> bool {
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
            ctx.redact(j + 1);
            ctx.redact(j + 2);
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

/// `AUTH [username] password`.
pub fn auth(ctx: &mut Ctx, argv: &[&[u8]]) {
    (1..argv.len()).for_each(|i| ctx.redact(i));
    let (user, pass): (&[u8], &[u8]) = match argv {
        [_, pass] => {
            if !ctx.server.config.requirepass_set.load(Ordering::Relaxed) {
                return ctx.out.error(
                    "ERR AUTH <password> called without any password configured for the \
                     default user. Are you sure your configuration is correct?",
                );
            }
            (b"default", pass)
        }
        [_, user, pass] => (user, pass),
        _ => return ctx.out.error("ERR syntax error"),
    };
    if credentials_ok(ctx.server, user, pass) {
        ctx.client.authenticated = true;
        ctx.out.ok();
    } else {
        ctx.out.error(WRONGPASS);
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
    crate::exec::tracking::disable(server, c);
    c.db = 0;
    c.name = None;
    c.reply_off = false;
    c.reply_skip = false;
    c.reply_skip_next = false;
    crate::exec::security::reset_auth(server, c);
    ctx.out.resp = 2;
    ctx.out.simple("RESET");
}
