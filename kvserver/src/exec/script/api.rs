//! The `redis` table's functions that need no running command
//! (`redis.call`, `redis.pcall` and `redis.setresp` are bound per script
//! run, [`super::run`]): replies as tables, SHA1, the log, replication
//! switches that effects replication makes no-ops, and the constants.

use super::cache::sha1_hex;
use super::call::{ReplyError, RunFlags};
use mlua::{Lua, MultiValue, Table, Value};

/// redis.REDIS_VERSION_NUM of 7.0.15 (0x07000f).
const VERSION_NUM: i64 = 0x07_00_0f;

/// Fills `redis` (the real table behind the read-only one scripts see).
pub fn install(lua: &Lua, redis: &Table) -> mlua::Result<()> {
    redis.raw_set("REDIS_VERSION", crate::server::REDIS_VERSION)?;
    redis.raw_set("REDIS_VERSION_NUM", VERSION_NUM)?;
    for (name, v) in [
        ("LOG_DEBUG", 0),
        ("LOG_VERBOSE", 1),
        ("LOG_NOTICE", 2),
        ("LOG_WARNING", 3),
        ("REPL_NONE", 0),
        ("REPL_AOF", 1),
        ("REPL_SLAVE", 2),
        ("REPL_REPLICA", 2),
        ("REPL_ALL", 3),
    ] {
        redis.raw_set(name, v)?;
    }
    redis.raw_set(
        "sha1hex",
        lua.create_function(|lua, args: MultiValue| match args.front() {
            Some(Value::String(s)) if args.len() == 1 => Ok(sha1_hex(&s.as_bytes())),
            Some(Value::Integer(_) | Value::Number(_)) if args.len() == 1 => {
                let s = lua
                    .coerce_string(args[0].clone())?
                    .map(|s| s.as_bytes().to_vec());
                Ok(sha1_hex(&s.unwrap_or_default()))
            }
            _ => Err(raised("ERR wrong number of arguments")),
        })?,
    )?;
    redis.raw_set(
        "error_reply",
        lua.create_function(|lua, args: MultiValue| {
            let msg = match args.front() {
                Some(Value::String(s)) if args.len() == 1 => s.as_bytes().to_vec(),
                _ => return err_table(lua, b"ERR wrong number or type of arguments"),
            };
            // Redis's luaPushErrorBuff: `-CODE msg` keeps its code, a
            // message without one gets ERR.
            let with_dash = if msg.first() == Some(&b'-') {
                msg
            } else {
                [b"-".as_slice(), &msg].concat()
            };
            let text = match with_dash.iter().position(|&c| c == b' ') {
                Some(_) => with_dash[1..].to_vec(),
                None => [b"ERR ".as_slice(), &with_dash[1..]].concat(),
            };
            err_table(lua, trim_newlines(&text))
        })?,
    )?;
    redis.raw_set(
        "status_reply",
        lua.create_function(|lua, args: MultiValue| match args.front() {
            Some(Value::String(s)) if args.len() == 1 => {
                let t = lua.create_table()?;
                t.raw_set("ok", s.clone())?;
                Ok(t)
            }
            _ => err_table(lua, b"ERR wrong number or type of arguments"),
        })?,
    )?;
    redis.raw_set(
        "log",
        lua.create_function(|lua, args: MultiValue| {
            if args.len() < 2 {
                return Err(raised("ERR redis.log() requires two arguments or more."));
            }
            let level = match &args[0] {
                Value::Integer(n) => *n,
                Value::Number(f) => *f as i64,
                _ => return Err(raised("ERR First argument must be a number (log level).")),
            };
            if !(0..=3).contains(&level) {
                return Err(raised("ERR Invalid debug level."));
            }
            let mut line = Vec::new();
            for (i, a) in args.iter().skip(1).enumerate() {
                if i > 0 {
                    line.push(b' ');
                }
                if let Some(s) = lua.coerce_string(a.clone())? {
                    line.extend_from_slice(&s.as_bytes());
                }
            }
            let mark = ['.', '-', '*', '#'][level as usize];
            eprintln!("kvserver: {mark} {}", String::from_utf8_lossy(&line));
            Ok(())
        })?,
    )?;
    redis.raw_set(
        "setresp",
        lua.create_function(|lua, a: MultiValue| {
            let v = super::run::int_arg(
                lua,
                &a,
                "ERR redis.setresp() requires one argument.",
                2..=3,
                "ERR RESP version must be 2 or 3.",
            )?;
            if let Some(mut f) = lua.app_data_mut::<RunFlags>() {
                f.resp = v;
            }
            Ok(())
        })?,
    )?;
    redis.raw_set(
        "set_repl",
        lua.create_function(|lua, a: MultiValue| {
            let v = super::run::int_arg(
                lua,
                &a,
                "ERR redis.set_repl() requires two arguments.",
                0..=3,
                "ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
            )?;
            if let Some(mut f) = lua.app_data_mut::<RunFlags>() {
                f.repl = v;
            }
            Ok(())
        })?,
    )?;
    // Only the `default` user exists, allowed everything: a command that
    // exists is permitted (looked up by its own name).
    redis.raw_set(
        "acl_check_cmd",
        lua.create_function(|lua, a: MultiValue| {
            let mut argv: Vec<Vec<u8>> = Vec::with_capacity(a.len());
            for v in a.iter() {
                match lua.coerce_string(v.clone())? {
                    Some(s) if !matches!(v, Value::Boolean(_)) => argv.push(s.as_bytes().to_vec()),
                    _ => {
                        return Err(raised(
                            "ERR Lua redis lib command arguments must be strings or integers",
                        ))
                    }
                }
            }
            let Some(name) = argv.first() else {
                return Err(raised(
                    "ERR Please specify at least one argument for this redis lib call",
                ));
            };
            match crate::exec::table::by_own_name(name) {
                Some(_) => Ok(true),
                None => Err(raised(
                    "ERR Invalid command passed to redis.acl_check_cmd()",
                )),
            }
        })?,
    )?;
    redis.raw_set("replicate_commands", lua.create_function(|_, ()| Ok(true))?)?;
    redis.raw_set("breakpoint", lua.create_function(|_, ()| Ok(false))?)?;
    redis.raw_set("debug", lua.create_function(|_, _: MultiValue| Ok(()))?)?;
    Ok(())
}

fn trim_newlines(s: &[u8]) -> &[u8] {
    let end = s
        .iter()
        .rposition(|&c| c != b'\r' && c != b'\n')
        .map_or(0, |i| i + 1);
    &s[..end]
}

/// An error the `redis` functions raise as Redis's `luaError` does (a
/// table: no position prefix).
fn raised(msg: &str) -> mlua::Error {
    mlua::Error::external(ReplyError(msg.as_bytes().to_vec()))
}

/// `{err=msg}`, returned (not raised).
fn err_table(lua: &Lua, msg: &[u8]) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("err", lua.create_string(msg)?)?;
    Ok(t)
}
