//! The Lua state a thread runs scripts in, built as Redis 7.0.15 builds
//! its own: Lua 5.1 with the base, table, string and math libraries and
//! Redis's `bit`, `struct`, `cjson` and `cmsgpack` (here in Rust,
//! [`super::libs`]); nothing that reaches the machine (no `io`, `os`,
//! `debug`, `package`/`require`, `loadfile`, `dofile`, `print`; 7.0 has no
//! `os.clock` either, that came with 7.2).
//!
//! Protection, with Redis 7.0.15's error texts: scripts see their globals
//! through a read-only proxy of a table of allowed names (reading a
//! missing name: `Script attempted to access nonexistent global variable
//! 'x'`; assigning one: `Attempt to modify a readonly table`), and the
//! library tables (`string`, `redis`...) through read-only proxies too, so
//! no script can change what another one runs. Redis marks the tables
//! read-only inside its patched Lua VM; with the stock VM the proxies do
//! it, at the cost of one metamethod call per global read. Where the
//! proxies show (`pairs` and `next` see through them; `#string` and
//! `ipairs(string)` see an empty table) is listed in
//! docs/kvserver/scripting.md.

use super::{api, libs, rand48};
use mlua::{Function, HookTriggers, Lua, LuaOptions, MultiValue, StdLib, Table, Value, VmState};
use std::sync::Arc;

/// The globals a script may read, as redis-server 7.0.15 lists them with
/// `pairs(_G)` (KEYS and ARGV are set per run).
const ALLOWED: &[&str] = &[
    "_VERSION",
    "assert",
    "collectgarbage",
    "coroutine",
    "error",
    "gcinfo",
    "getmetatable",
    "ipairs",
    "load",
    "loadstring",
    "math",
    "next",
    "pairs",
    "pcall",
    "rawequal",
    "rawget",
    "rawset",
    "select",
    "setmetatable",
    "string",
    "table",
    "tonumber",
    "tostring",
    "type",
    "unpack",
    "xpcall",
];

/// The chunk name of [`PRELUDE`] (the error handler looks past its
/// frames).
pub const PRELUDE_NAME: &str = "=prelude";

/// Built once per Lua state (env = the real globals): the proxies,
/// Redis's `pcall`, and the wrappers that keep scripts inside them.
const PRELUDE: &str = r#"
local visible, errmsg, load_redis = ...
local rawpcall, rawset, type, error, tostring, next, setmetatable, getmetatable, setfenv, loadstring, load =
      pcall, rawset, type, error, tostring, next, setmetatable, getmetatable, setfenv, loadstring, load
local backing = setmetatable({}, {__mode = 'k'})
local function readonly_error() error('Attempt to modify a readonly table', 2) end
local function readonly(t)
  local p = setmetatable({}, {__index = t, __newindex = readonly_error, __metatable = {}})
  backing[p] = t
  return p
end
-- A read-only proxy of `t` whose missing names are errors, as globals
-- are.
local function strict(t)
  local p = {}
  backing[p] = t
  setmetatable(p, {
    __index = function(_, n)
      local v = t[n]
      if v == nil then
        error("Script attempted to access nonexistent global variable '" .. tostring(n) .. "'", 2)
      end
      return v
    end,
    __newindex = readonly_error,
    __metatable = {},
  })
  return p
end
for _, name in ipairs({'string', 'table', 'math', 'coroutine', 'bit', 'struct', 'cjson', 'cmsgpack', 'redis'}) do
  visible[name] = readonly(_G[name])
end
local env = strict(visible)
visible._G = env
-- Strings' methods come from the read-only `string`, and their metatable
-- is seen read-only too.
local string_mt = getmetatable('')
string_mt.__index = visible.string
local string_mt_seen = readonly(string_mt)
visible.getmetatable = function(t)
  local mt = getmetatable(t)
  if mt == string_mt then return string_mt_seen end
  return mt
end
visible.setmetatable = function(t, mt)
  if backing[t] then error('Attempt to modify a readonly table', 0) end
  return setmetatable(t, mt)
end
-- Redis 7.0's pcall: an error table's `err` string (or the message of an
-- error raised in Rust) is what the caller gets.
local function fix(ok, ...)
  if ok then return ok, ... end
  local e = ...
  if type(e) == 'table' then
    if type(e.err) == 'string' then e = e.err end
  elseif type(e) == 'userdata' then
    e = errmsg(e)
  end
  return false, e
end
visible.pcall = function(...) return fix(rawpcall(...)) end
visible.next = function(t, k) return next(backing[t] or t, k) end
visible.pairs = function(t)
  local b = backing[t]
  if b then return function(_, k) return next(b, k) end, t, nil end
  return next, t, nil
end
visible.rawset = function(t, k, v)
  if backing[t] then error('Attempt to modify a readonly table', 0) end
  return rawset(t, k, v)
end
-- Code loaded by a script runs in the script's globals, not the real ones.
visible.loadstring = function(s, name)
  local f, e = loadstring(s, name)
  if f then setfenv(f, env) end
  return f, e
end
visible.load = function(f, name)
  local g, e = load(f, name)
  if g then setfenv(g, env) end
  return g, e
end
-- Functions (FUNCTION LOAD, FCALL): a library's code and its functions
-- see `fn_env`, backed by the load-time API while the library loads
-- (the library tables and redis.register_function/log: no call, no
-- pairs, no error, as redis-server 7.0.15) and by the run-time one (a
-- script's globals without KEYS and ARGV) when a function runs.
local load_visible, fn_visible = {}, {}
for _, name in ipairs({'string', 'table', 'math', 'bit', 'struct', 'cjson', 'cmsgpack'}) do
  load_visible[name] = visible[name]
end
-- Its `redis` answers a missing name as a missing global (redis.call).
load_visible.redis = strict(load_redis)
for k, v in next, visible do fn_visible[k] = v end
-- fn_env reads through `fn_switch`, whose __index is one API or the other.
local fn_switch = setmetatable({}, {__index = load_visible})
local fn_env = strict(fn_switch)
fn_visible._G = fn_env
local function fn_mode(loading)
  getmetatable(fn_switch).__index = loading and load_visible or fn_visible
  backing[fn_env] = loading and load_visible or fn_visible
end
local function runner(f, k, a, h)
  return xpcall(function() return f(k, a) end, h)
end
return env, fn_env, fn_mode, runner
"#;

/// A thread's Lua state and what running a script needs from it.
pub struct Vm {
    pub lua: Lua,
    /// The script cache's generation it was built for (SCRIPT FLUSH
    /// makes a new one).
    pub generation: u64,
    /// Compiled scripts by SHA1.
    pub compiled: hashbrown::HashMap<String, Function>,
    /// The globals scripts see (the read-only proxy `_G`).
    pub env: Table,
    /// The table behind it (KEYS and ARGV are set here per run).
    pub visible: Table,
    /// The real `redis` table (call, pcall, setresp, set_repl are set here
    /// per run).
    pub redis: Table,
    /// `xpcall` and the error handler scripts run under.
    pub xpcall: Function,
    pub handler: Function,
    /// Functions: the globals of libraries and their functions, the
    /// switch between their load-time and run-time API, the load-time
    /// `redis` table (register_function is set per load), the runner
    /// (`xpcall` of `f(keys, args)`), and the libraries loaded here by
    /// name: (registry id, functions by name).
    pub fn_env: Table,
    pub fn_mode: Function,
    pub load_redis: Table,
    pub fcall_runner: Function,
    pub libraries: hashbrown::HashMap<String, (u64, hashbrown::HashMap<String, Function>)>,
}

impl Vm {
    /// A new Lua state for the scripts of cache generation `generation`,
    /// holding at most `memory_limit` bytes (`lua-memory-limit`: a script
    /// building a huge table fails with `not enough memory` instead of
    /// taking the server's memory; Redis bounds it only by maxmemory).
    pub fn new(
        generation: u64,
        memory_limit: usize,
        busy: Arc<super::busy::Busy>,
    ) -> mlua::Result<Vm> {
        let lua = Lua::new_with(
            StdLib::TABLE | StdLib::STRING | StdLib::MATH,
            LuaOptions::new(),
        )?;
        lua.set_memory_limit(memory_limit)?;
        // Redis's count hook: every 100 000 instructions, is the script
        // busy, killed, or the server stopping?
        lua.set_hook(
            HookTriggers::new().every_nth_instruction(100_000),
            move |_, _| match busy.check() {
                Ok(()) => Ok(VmState::Continue),
                Err(msg) => Err(mlua::Error::external(super::call::ReplyError(
                    msg.as_bytes().to_vec(),
                ))),
            },
        )?;
        let g = lua.globals();
        let xpcall: Function = g.raw_get("xpcall")?;
        let visible = lua.create_table()?;
        for &name in ALLOWED {
            visible.raw_set(name, g.raw_get::<Value>(name)?)?;
        }
        let math: Table = g.raw_get("math")?;
        math.raw_set(
            "random",
            lua.create_function(|lua, args: MultiValue| {
                let mut nums = Vec::with_capacity(args.len());
                for (i, a) in args.iter().enumerate() {
                    match lua.coerce_number(a.clone())? {
                        Some(n) => nums.push(n),
                        None => {
                            return Err(super::lua_error(
                                lua,
                                &format!(
                                    "bad argument #{} to 'random' (number expected, got {})",
                                    i + 1,
                                    a.type_name()
                                ),
                            ))
                        }
                    }
                }
                rand48::random(&nums).map_err(|e| super::lua_error(lua, &e))
            })?,
        )?;
        math.raw_set(
            "randomseed",
            lua.create_function(|lua, seed: Value| match lua.coerce_number(seed.clone())? {
                Some(n) => {
                    rand48::srand48(n as i32);
                    Ok(())
                }
                None => Err(super::lua_error(
                    lua,
                    &format!(
                        "bad argument #1 to 'randomseed' (number expected, got {})",
                        seed.type_name()
                    ),
                )),
            })?,
        )?;
        libs::install(&lua, &g)?;
        let redis = lua.create_table()?;
        api::install(&lua, &redis)?;
        g.raw_set("redis", redis.clone())?;
        let errmsg = lua.create_function(|_, e: Value| Ok(super::error_message(&e)))?;
        let load_redis = lua.create_table()?;
        for name in [
            "log",
            "LOG_DEBUG",
            "LOG_VERBOSE",
            "LOG_NOTICE",
            "LOG_WARNING",
            "REDIS_VERSION",
            "REDIS_VERSION_NUM",
        ] {
            load_redis.raw_set(name, redis.raw_get::<Value>(name)?)?;
        }
        let (env, fn_env, fn_mode, fcall_runner): (Table, Table, Function, Function) = lua
            .load(PRELUDE)
            .set_name(PRELUDE_NAME)
            .call((visible.clone(), errmsg, load_redis.clone()))?;
        let handler = lua.create_function(super::run::error_handler)?;
        visible.raw_set("__redis__err__handler", handler.clone())?;
        Ok(Vm {
            lua,
            generation,
            compiled: Default::default(),
            env,
            visible,
            redis,
            xpcall,
            handler,
            fn_env,
            fn_mode,
            load_redis,
            fcall_runner,
            libraries: Default::default(),
        })
    }
}
