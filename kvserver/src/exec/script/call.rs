//! `redis.call` and `redis.pcall`: a command run from a script goes
//! through the pipeline's [`pipeline::call`], under the locks the script
//! already holds (every shard, see [`super::run`]), so its effects, WATCH
//! versions, keyspace events, blocked clients served and propagation come
//! from the same path as a client's command. Its reply is written to the
//! connection's buffer in the script's protocol, read back as a Lua value
//! ([`super::convert::reply_to_lua`]) and removed.

use super::convert::reply_to_lua;
use crate::exec::context::Ctx;
use crate::exec::pipeline;
use crate::exec::table::{flags, Found};
use mlua::{Lua, MultiValue, Value};

/// An error reply from a command called with `redis.call`, raised in the
/// script: the error handler makes it `{err=...}` (Redis raises that
/// table; a Rust callback can only raise a Rust error).
#[derive(Debug)]
pub struct ReplyError(pub Vec<u8>);

impl std::fmt::Display for ReplyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.0))
    }
}

impl std::error::Error for ReplyError {}

/// What a running script's calls share.
pub struct CallState<'c, 'a> {
    pub ctx: &'c mut Ctx<'a>,
    /// EVAL_RO / EVALSHA_RO, or a `no-writes` shebang flag.
    pub read_only: bool,
    /// A script without a shebang that started above maxmemory: its
    /// denyoom commands are refused until it has written (after that,
    /// refusing would break its atomicity: Redis's rule).
    pub deny_oom: bool,
    /// It ran a write command.
    pub wrote: bool,
}

/// What the script set for its calls, kept in the Lua state's app data
/// (so that `redis.setresp` and `redis.set_repl` are built once per Lua
/// state, not per run): reset before each run.
#[derive(Debug, Clone, Copy)]
pub struct RunFlags {
    /// `redis.setresp`: the protocol of the replies the script reads.
    pub resp: u8,
    /// `redis.set_repl` flags: bit 0 the AOF (kvserver has no replicas,
    /// so REPL_REPLICA changes nothing).
    pub repl: u8,
}

impl Default for RunFlags {
    fn default() -> RunFlags {
        RunFlags { resp: 2, repl: 3 }
    }
}

/// Fails the call with `msg` (raised by `redis.call`, returned as
/// `{err=msg}` by `redis.pcall`).
fn fail(lua: &Lua, msg: &[u8], raise: bool) -> mlua::Result<Value> {
    if raise {
        return Err(mlua::Error::external(ReplyError(msg.to_vec())));
    }
    let t = lua.create_table()?;
    t.raw_set("err", lua.create_string(msg)?)?;
    Ok(Value::Table(t))
}

/// One `redis.call(...)` (`raise`) or `redis.pcall(...)`.
pub fn call(lua: &Lua, st: &mut CallState, args: MultiValue, raise: bool) -> mlua::Result<Value> {
    if args.is_empty() {
        return fail(
            lua,
            b"ERR Please specify at least one argument for this redis lib call",
            raise,
        );
    }
    let mut owned: Vec<Vec<u8>> = Vec::with_capacity(args.len());
    for a in args.iter() {
        match a {
            Value::String(s) => owned.push(s.as_bytes().to_vec()),
            Value::Integer(n) => owned.push(n.to_string().into_bytes()),
            // Redis formats numbers with %.17g here (Lua's tostring: %.14g).
            Value::Number(f) => owned.push(crate::util::fmt_g(*f, 17).into_bytes()),
            _ => {
                return fail(
                    lua,
                    b"ERR Lua redis lib command arguments must be strings or integers",
                    raise,
                )
            }
        }
    }
    let argv: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
    let ctx = &mut *st.ctx;
    let cmd = match ctx.server.commands.lookup(&argv) {
        Found::Command(c) => c,
        _ => return fail(lua, b"ERR Unknown Redis command called from script", raise),
    };
    if !cmd.arity_ok(argv.len()) {
        return fail(
            lua,
            b"ERR Wrong number of args calling Redis command from script",
            raise,
        );
    }
    if cmd.has(flags::NOSCRIPT) {
        return fail(
            lua,
            b"ERR This Redis command is not allowed from script",
            raise,
        );
    }
    if st.read_only && cmd.has(flags::WRITE) {
        return fail(
            lua,
            b"ERR Write commands are not allowed from read-only scripts.",
            raise,
        );
    }
    if st.deny_oom && !st.wrote && cmd.has(flags::DENYOOM) {
        return fail(lua, crate::exec::evict::OOM.as_bytes(), raise);
    }
    if cmd.has(flags::WRITE) {
        st.wrote = true;
        ctx.server.script_busy.wrote();
    }
    let flags = lua
        .app_data_ref::<RunFlags>()
        .map_or_else(RunFlags::default, |f| *f);
    let reply_at = ctx.out.buf.len();
    let client_resp = std::mem::replace(&mut ctx.out.resp, flags.resp);
    let propagating = ctx.fx.propagating;
    ctx.fx.propagating = propagating && flags.repl & 1 != 0;
    pipeline::call(cmd, ctx, &argv);
    ctx.fx.propagating = propagating;
    ctx.out.resp = client_resp;
    let converted = reply_to_lua(lua, &ctx.out.buf[reply_at..]);
    ctx.out.buf.truncate(reply_at);
    match converted? {
        (Value::String(msg), true) => fail(lua, &msg.as_bytes(), raise),
        (v, _) => Ok(v),
    }
}
