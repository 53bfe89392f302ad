//! Lua scripting (EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT): Lua 5.1
//! through `mlua`, one Lua state per thread that runs scripts, as Redis
//! 7.0.15 runs them. The commands' handlers are in `cmd/scripting.rs`;
//! the design (atomicity, propagation, what differs from Redis) is in
//! docs/kvserver/scripting.md.
//!
//! Start reading at [`run`] (a script's run: its locks, its Lua state,
//! its result and errors), then [`call`] (`redis.call` through the
//! pipeline), [`convert`] (RESP ⇄ Lua), [`sandbox`] (the Lua state and its
//! protection), [`api`] (the rest of the `redis` table), [`busy`] (busy scripts, SCRIPT KILL), [`libs`] (`bit`,
//! `struct`, `cjson`, `cmsgpack`), [`functions`] (FUNCTION, FCALL), [`cache`] (scripts by SHA1) and
//! [`rand48`] (`math.random`).

pub mod api;
pub mod busy;
pub mod cache;
pub mod call;
pub mod convert;
pub mod functions;
pub mod libs;
pub mod rand48;
pub mod run;
pub mod sandbox;

use mlua::{Lua, Value};

/// A Lua error raised by a Rust function of a script library, worded as
/// Lua's `luaL_error` words it: `user_script:LINE: msg` when a script's
/// line called the function (`pcall(f)` has none).
pub fn lua_error(lua: &Lua, msg: &str) -> mlua::Error {
    let at = lua
        .inspect_stack(1, |d| {
            let s = d.source();
            let line = d.current_line();
            (s.what != "C")
                .then(|| Some(format!("{}:{}: ", s.short_src?, line?)))
                .flatten()
        })
        .flatten()
        .unwrap_or_default();
    mlua::Error::RuntimeError(format!("{at}{msg}"))
}

/// The text of an error a script raised: Lua's own message, the message
/// a Rust function gave ([`lua_error`]), or a command's error reply
/// ([`call::ReplyError`]).
pub fn error_message(e: &Value) -> String {
    match e {
        Value::Error(e) => rust_error_message(e),
        Value::String(s) => s.to_string_lossy(),
        Value::Integer(n) => n.to_string(),
        Value::Number(f) => crate::util::fmt_g(*f, 14),
        Value::Nil => "nil".into(),
        Value::Boolean(b) => b.to_string(),
        other => other.type_name().into(),
    }
}

fn rust_error_message(e: &mlua::Error) -> String {
    match e {
        // Without the traceback mlua appends to errors of Function::call.
        mlua::Error::RuntimeError(m) => m
            .split("\nstack traceback:")
            .next()
            .unwrap_or_default()
            .to_string(),
        mlua::Error::CallbackError { cause, .. } => rust_error_message(cause),
        mlua::Error::MemoryError(_) => "not enough memory".into(),
        mlua::Error::ExternalError(x) => match x.downcast_ref::<call::ReplyError>() {
            Some(r) => String::from_utf8_lossy(&r.0).into_owned(),
            None => x.to_string(),
        },
        mlua::Error::WithContext { cause, .. } => rust_error_message(cause),
        other => other.to_string(),
    }
}

/// The command error `redis.call` raised, if `e` is (or wraps) one.
pub fn reply_error(e: &mlua::Error) -> Option<&call::ReplyError> {
    match e {
        mlua::Error::ExternalError(x) => x.downcast_ref::<call::ReplyError>(),
        mlua::Error::CallbackError { cause, .. } | mlua::Error::WithContext { cause, .. } => {
            reply_error(cause)
        }
        _ => None,
    }
}
