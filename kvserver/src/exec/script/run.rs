//! A script's run (EVAL, EVALSHA and their `_RO` forms).
//!
//! **Atomicity.** The script commands lock every shard (`Locks::All` in
//! the command table) for the whole run: a script may touch keys it did
//! not declare (Sidekiq, BullMQ, many rate limiters do), and holding
//! everything is the simplest way to keep any script atomic across
//! shards, with no retry and no second execution. The cost: while a
//! script runs, no other thread runs a command on any key (a script is
//! short, like Redis's, which runs nothing else meanwhile either), and
//! locking S uncontended shards costs about S × 20 ns per script
//! (docs/kvserver/scripting.md).
//!
//! **Effects.** Commands run through [`super::call`] into the unit's
//! effects, so the AOF gets what the script did (Redis 7's effects
//! replication), wrapped in MULTI ... EXEC when it is more than one
//! command; WATCH versions, blocked clients and keyspace events follow
//! from the same calls.

use super::cache::{flag, sha1_hex, Script};
use super::call::{self, CallState, ReplyError, RunFlags};
use super::convert::lua_to_reply;
use super::sandbox::Vm;
use crate::exec::context::Ctx;
use crate::proto::reply::err;
use crate::server::Server;
use mlua::{Function, Lua, MultiValue, Table, Value};
use std::cell::RefCell;
use std::sync::atomic::Ordering;
use std::sync::Arc;

thread_local! {
    /// This thread's Lua state, built on its first script.
    static VM: RefCell<Option<Vm>> = const { RefCell::new(None) };
    /// Its memory as last added to [`VM_MEMORY`].
    static COUNTED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// The memory of every thread's Lua state (INFO's `used_memory_lua`),
/// brought up to date after each script.
static VM_MEMORY: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// `used_memory_lua` / `used_memory_vm_eval`.
pub fn vm_memory() -> u64 {
    VM_MEMORY.load(Ordering::Relaxed)
}

/// Counts `now` bytes for this thread's Lua state.
fn count_memory(now: u64) {
    let before = COUNTED.with(|c| c.replace(now));
    if now >= before {
        VM_MEMORY.fetch_add(now - before, Ordering::Relaxed);
    } else {
        VM_MEMORY.fetch_sub(before - now, Ordering::Relaxed);
    }
}

/// This thread's Lua state, (re)built if there is none or SCRIPT FLUSH
/// made it stale.
fn ensure_vm<'v>(slot: &'v mut Option<Vm>, server: &Server) -> Result<&'v mut Vm, String> {
    let generation = server.scripts.generation();
    if slot.as_ref().is_none_or(|vm| vm.generation != generation) {
        *slot = None;
        count_memory(0);
        let limit = server
            .config
            .get("lua-memory-limit")
            .parse()
            .unwrap_or(1 << 30);
        let vm = Vm::new(generation, limit, server.script_busy.clone())
            .map_err(|e| format!("ERR Lua state: {e}"))?;
        count_memory(vm.lua.used_memory() as u64);
        *slot = Some(vm);
    }
    slot.as_mut().ok_or_else(|| "ERR Lua state".to_string())
}

/// The error handler scripts run under (Redis's `__redis__err__handler`):
/// any error becomes `{err=..., source=..., line=...}`, the place being
/// the Lua function that raised it (the caller of a C/Rust function such
/// as `error` or `redis.call`). A string error gets `ERR ` in front; a
/// command's error reply from `redis.call` is kept as it is.
pub fn error_handler(lua: &Lua, e: Value) -> mlua::Result<Table> {
    let t = match e {
        Value::Table(t) => t,
        Value::Error(ref x) if super::reply_error(x).is_some() => {
            let t = lua.create_table()?;
            let msg = super::reply_error(x).map(|r| r.0.clone());
            t.raw_set("err", lua.create_string(msg.unwrap_or_default())?)?;
            t
        }
        other => {
            let t = lua.create_table()?;
            t.raw_set("err", format!("ERR {}", super::error_message(&other)))?;
            t
        }
    };
    let at = |level| {
        lua.inspect_stack(level, |d| {
            let s = d.source();
            (s.what, s.source.map(|x| x.into_owned()), d.current_line())
        })
    };
    // Past the C function that raised it, and past the prelude's
    // functions (the read-only proxies' metamethods), which Redis has in
    // C inside its VM.
    let mut level = 1;
    let mut info = at(level);
    if matches!(info, Some(("C", _, _))) {
        level += 1;
        info = at(level);
    }
    while let Some((_, Some(src), _)) = &info {
        if src != super::sandbox::PRELUDE_NAME {
            break;
        }
        level += 1;
        info = at(level);
        if matches!(info, Some(("C", _, _))) {
            level += 1;
            info = at(level);
        }
    }
    if let Some((_, Some(source), Some(line))) = info {
        t.raw_set("source", source)?;
        t.raw_set("line", line)?;
    }
    Ok(t)
}

/// EVAL's and FCALL's `numkeys` (`argv[2]`), checked against the
/// arguments; None once the error is answered.
pub fn numkeys(ctx: &mut Ctx, argv: &[&[u8]]) -> Option<usize> {
    let Some(n) = crate::util::parse_i64(argv[2]) else {
        ctx.out.error(err::NOT_INTEGER);
        return None;
    };
    if n > (argv.len() - 3) as i64 {
        ctx.out
            .error("ERR Number of keys can't be greater than number of args");
        return None;
    }
    if n < 0 {
        ctx.out.error("ERR Number of keys can't be negative");
        return None;
    }
    Some(n as usize)
}

/// Runs `f` with this thread's Lua state (built if needed), then counts
/// its memory; the error if no state can be built.
pub fn with_vm<R>(server: &Server, f: impl FnOnce(&mut Vm) -> R) -> Result<R, String> {
    VM.with(|slot| {
        let mut slot = slot.borrow_mut();
        let vm = ensure_vm(&mut slot, server)?;
        let r = f(vm);
        count_memory(vm.lua.used_memory() as u64);
        Ok(r)
    })
}

/// EVAL script numkeys key... arg... (`by_sha`: EVALSHA; `ro`: the `_RO`
/// forms).
pub fn eval(ctx: &mut Ctx, argv: &[&[u8]], by_sha: bool, ro: bool) {
    let Some(numkeys) = numkeys(ctx, argv) else {
        return;
    };
    let cache = &ctx.server.scripts;
    let cached = if by_sha {
        cache.get(argv[1])
    } else {
        cache.get(sha1_hex(argv[1]).as_bytes())
    };
    let (keys, args) = argv[3..].split_at(numkeys);
    VM.with(|slot| {
        let mut slot = slot.borrow_mut();
        let vm = match ensure_vm(&mut slot, ctx.server) {
            Ok(vm) => vm,
            Err(e) => return ctx.out.error(&e),
        };
        let script = match cached {
            Some(s) => s,
            None if by_sha => {
                return ctx
                    .out
                    .error("NOSCRIPT No matching script. Please use EVAL.");
            }
            None => {
                let script = match Script::new(bytes::Bytes::copy_from_slice(argv[1])) {
                    Ok(s) => s,
                    Err(e) => return ctx.out.error(&e),
                };
                // Only a script that compiles is cached.
                if let Err(e) = compile(vm, &script) {
                    return ctx.out.error(&e);
                }
                cache.insert(script)
            }
        };
        run(ctx, vm, &script, keys, args, ro);
        count_memory(vm.lua.used_memory() as u64);
    })
}

/// SCRIPT LOAD: compiles `body` here (a syntax error is the reply) and
/// caches it; its SHA1.
pub fn load(ctx: &mut Ctx, body: &[u8]) -> Result<String, String> {
    let script = Script::new(bytes::Bytes::copy_from_slice(body))?;
    VM.with(|slot| {
        let mut slot = slot.borrow_mut();
        let vm = ensure_vm(&mut slot, ctx.server)?;
        compile(vm, &script)?;
        count_memory(vm.lua.used_memory() as u64);
        Ok(ctx.server.scripts.insert(script).sha.clone())
    })
}

/// This thread's compiled function for `script`; the error reply if it
/// does not compile.
fn compile(vm: &mut Vm, script: &Script) -> Result<Function, String> {
    if let Some(f) = vm.compiled.get(&script.sha) {
        return Ok(f.clone());
    }
    let f = vm
        .lua
        .load(script.code())
        .set_name("@user_script")
        .set_environment(vm.env.clone())
        .into_function()
        .map_err(|e| {
            let msg = match e {
                mlua::Error::SyntaxError { message, .. } => message,
                mlua::Error::MemoryError(_) => "not enough memory".into(),
                other => other.to_string(),
            };
            format!("ERR Error compiling script (new function): {msg}")
        })?;
    vm.compiled.insert(script.sha.clone(), f.clone());
    Ok(f)
}

/// The one integer argument of `redis.setresp` / `redis.set_repl`, in
/// `range`; Redis's errors (raised as tables) otherwise.
pub fn int_arg(
    lua: &Lua,
    a: &MultiValue,
    arity_error: &str,
    range: std::ops::RangeInclusive<i64>,
    range_error: &str,
) -> mlua::Result<u8> {
    let raise = |m: &str| mlua::Error::external(ReplyError(m.as_bytes().to_vec()));
    if a.len() != 1 {
        return Err(raise(arity_error));
    }
    match lua.coerce_integer(a[0].clone())? {
        Some(v) if range.contains(&v) => Ok(v as u8),
        _ => Err(raise(range_error)),
    }
}

pub fn strings(lua: &Lua, items: &[&[u8]]) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(items.len(), 0)?;
    for (i, a) in items.iter().enumerate() {
        t.raw_set(i + 1, lua.create_string(a)?)?;
    }
    Ok(t)
}

/// Runs `script` with KEYS and ARGV, every shard locked by the caller,
/// and writes its result (or error) as the reply.
fn run(ctx: &mut Ctx, vm: &mut Vm, script: &Arc<Script>, keys: &[&[u8]], args: &[&[u8]], ro: bool) {
    if ro && script.flags & (flag::NO_WRITES | flag::EVAL_COMPAT) == 0 {
        return ctx
            .out
            .error("ERR Can not execute a script with write flag using *_ro command.");
    }
    if let Err(e) = oom_check(ctx, script.flags, ro) {
        return ctx.out.error(e);
    }
    let f = match compile(vm, script) {
        Ok(f) => f,
        Err(e) => return ctx.out.error(&e),
    };
    let set_args = strings(&vm.lua, keys)
        .and_then(|k| vm.visible.raw_set("KEYS", k))
        .and_then(|_| strings(&vm.lua, args))
        .and_then(|a| vm.visible.raw_set("ARGV", a));
    if let Err(e) = set_args {
        return ctx
            .out
            .error(&format!("ERR Error running script {}, {e}", script.sha));
    }
    let read_only = ro || script.flags & flag::NO_WRITES != 0;
    let deny_oom = script.flags & flag::EVAL_COMPAT != 0 && over_maxmemory(ctx);
    invoke(ctx, vm, &script.sha, read_only, deny_oom, Invoke::Chunk(f));
}

/// Memory is above maxmemory after the eviction the pipeline tried before
/// the script (Redis's `pre_command_oom_state`).
fn over_maxmemory(ctx: &Ctx) -> bool {
    let max = ctx.server.config.maxmemory.load(Ordering::Relaxed);
    max != 0 && ctx.server.used_memory.load(Ordering::Relaxed) > max
}

/// Redis 7.0's OOM rule for a script or function with flags (a shebang
/// line, or a function's): one that may write (neither `no-writes` nor
/// `allow-oom`, not run by a `_RO` command) is refused while memory is
/// above maxmemory. Scripts without a shebang are checked per command
/// instead ([`super::call`]).
pub fn oom_check(ctx: &Ctx, flags: u32, ro: bool) -> Result<(), &'static str> {
    let may_write = !ro && flags & (flag::NO_WRITES | flag::ALLOW_OOM | flag::EVAL_COMPAT) == 0;
    if may_write && over_maxmemory(ctx) {
        return Err(crate::exec::evict::OOM);
    }
    Ok(())
}

/// What runs: a script's compiled chunk, or a function's callback with
/// its keys and arguments (FCALL).
pub enum Invoke {
    Chunk(Function),
    Callback(Function, Table, Table),
}

/// Runs `what` under the error handler, every shard locked by the caller,
/// and writes its result (or error, with `script: <name>, on
/// <source>:<line>.`) as the reply.
/// `deny_oom`: a script without flags that started above maxmemory (its
/// first denyoom command before any write is refused, as Redis's).
pub fn invoke(
    ctx: &mut Ctx,
    vm: &mut Vm,
    name: &str,
    read_only: bool,
    deny_oom: bool,
    what: Invoke,
) {
    // What the script's commands change in the client is the script's own
    // (Redis runs them on its Lua client): restored after.
    let saved_db = ctx.client.db;
    let saved_deny = std::mem::replace(&mut ctx.client.deny_blocking, true);
    ctx.client.in_script = true;
    let saved_cmd = ctx.client.info.last_cmd.load(Ordering::Relaxed);
    let records_before = ctx.fx.records.len();
    let busy = ctx.server.script_busy.clone();
    busy.start(
        ctx.server
            .config
            .busy_reply_threshold
            .load(Ordering::Relaxed),
    );
    vm.lua.set_app_data(RunFlags::default());
    let state = RefCell::new(CallState {
        ctx: &mut *ctx,
        read_only,
        deny_oom,
        wrote: false,
    });
    let result = vm.lua.scope(|scope| {
        let redis = &vm.redis;
        redis.raw_set(
            "call",
            scope.create_function(|lua, a: MultiValue| {
                call::call(lua, &mut state.borrow_mut(), a, true)
            })?,
        )?;
        redis.raw_set(
            "pcall",
            scope.create_function(|lua, a: MultiValue| {
                call::call(lua, &mut state.borrow_mut(), a, false)
            })?,
        )?;
        match what {
            Invoke::Chunk(f) => vm.xpcall.call::<MultiValue>((f, vm.handler.clone())),
            Invoke::Callback(f, keys, args) => {
                vm.fcall_runner
                    .call::<MultiValue>((f, keys, args, vm.handler.clone()))
            }
        }
    });
    busy.end();
    let script_resp = vm.lua.app_data_ref::<RunFlags>().map_or(2, |f| f.resp);
    ctx.client.db = saved_db;
    ctx.client.deny_blocking = saved_deny;
    ctx.client.in_script = false;
    ctx.client.info.last_cmd.store(saved_cmd, Ordering::Relaxed);
    if ctx.fx.records.len() > records_before + 1 {
        ctx.fx.transaction = true;
    }
    let mut ret = match result {
        Ok(r) => r.into_iter(),
        Err(e) => {
            let msg = super::error_message(&Value::Error(Box::new(e)));
            return ctx
                .out
                .error(&format!("ERR Error running script {}, {msg}", name));
        }
    };
    let ok = matches!(ret.next(), Some(Value::Boolean(true)));
    let value = ret.next().unwrap_or(Value::Nil);
    if ok {
        return lua_to_reply(value, ctx.out, script_resp);
    }
    match value {
        Value::Table(t) => {
            let msg = match t.raw_get::<Value>("err") {
                Ok(Value::String(s)) => s.as_bytes().to_vec(),
                _ => b"ERR unknown error".to_vec(),
            };
            let source = t.raw_get::<Option<mlua::String>>("source").ok().flatten();
            let line = t.raw_get::<Option<i64>>("line").ok().flatten();
            let mut text = msg;
            if let (Some(source), Some(line)) = (source, line) {
                text.extend_from_slice(
                    format!(" script: {}, on {}:{line}.", name, source.to_string_lossy())
                        .as_bytes(),
                );
            }
            ctx.out.error_bytes(&text);
        }
        other => {
            // Not through the handler: Lua ran out of memory.
            vm.lua.gc_collect().ok();
            ctx.out.error(&format!(
                "ERR Error running script {}, {}",
                name,
                super::error_message(&other)
            ));
        }
    }
}
