//! Redis Functions (FUNCTION LOAD / DELETE / FLUSH / LIST / STATS / KILL,
//! FCALL, FCALL_RO), as redis-server 7.0.15 runs them.
//!
//! The libraries live in one registry for the server ([`Registry`], in
//! `Server`): name, code, and the functions' names, descriptions and
//! flags. Each thread's Lua state loads a library's code the first time
//! it runs one of its functions (or when the registry holds a newer copy
//! of it), as it compiles a script the first time it runs it.
//!
//! A library's code runs once at FUNCTION LOAD with the load-time API
//! only (the library tables, `redis.register_function`, `redis.log`: no
//! `redis.call`, no `pairs`, no `error`, as 7.0.15), to validate it and
//! collect its functions; its functions run with a script's globals but
//! KEYS and ARGV, called as `f(keys, args)`, under every shard's lock, as
//! a script ([`super::run::invoke`]). Errors say `script: <function>, on
//! @user_function:<line>.`.
//!
//! FUNCTION LOAD, DELETE and FLUSH are write commands: the AOF gets them
//! as they were sent, and replaying the file loads the libraries again.
//! Not done: FUNCTION DUMP / RESTORE and the RDB's function opcode (an RDB
//! does not keep the libraries, nor does an AOF rewrite).

use super::cache::{flag, FLAG_NAMES};
use super::call::ReplyError;
use super::run::{self, Invoke};
use super::sandbox::Vm;
use crate::exec::context::Ctx;
use bytes::Bytes;
use mlua::{Function, Lua, MultiValue, Value};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// One registered function.
#[derive(Debug, Clone)]
pub struct FunctionMeta {
    pub name: String,
    pub description: Option<Bytes>,
    /// [`flag`] bits (`no-writes`...).
    pub flags: u32,
}

/// One library.
#[derive(Debug)]
pub struct Library {
    pub name: String,
    pub code: Bytes,
    /// Unique per load: a thread's Lua state reloads a library whose id
    /// changed (FUNCTION LOAD REPLACE).
    pub id: u64,
    pub functions: Vec<FunctionMeta>,
}

#[derive(Debug, Default)]
struct Libraries {
    by_name: BTreeMap<String, Arc<Library>>,
    /// Function name → its library's name.
    functions: hashbrown::HashMap<String, String>,
}

/// The server's libraries.
#[derive(Debug, Default)]
pub struct Registry {
    libs: Mutex<Libraries>,
    next_id: AtomicU64,
}

impl Registry {
    fn libs(&self) -> std::sync::MutexGuard<'_, Libraries> {
        self.libs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The library holding function `name`, and its metadata.
    pub fn find(&self, name: &[u8]) -> Option<(Arc<Library>, FunctionMeta)> {
        let libs = self.libs();
        let name = std::str::from_utf8(name).ok()?;
        let lib = libs.by_name.get(libs.functions.get(name)?)?.clone();
        let meta = lib.functions.iter().find(|f| f.name == name)?.clone();
        Some((lib, meta))
    }

    pub fn counts(&self) -> (usize, usize) {
        let libs = self.libs();
        (libs.by_name.len(), libs.functions.len())
    }
}

/// Redis's `functionsVerifyName`: letters, digits, underscores, not
/// empty.
fn valid_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// The library's name from its first line (`#!lua name=mylib`), and where
/// the Lua code starts (keeping the line feed, so lines are the user's).
fn metadata(code: &[u8]) -> Result<(String, usize), String> {
    if !code.starts_with(b"#!") {
        return Err("ERR Missing library metadata".into());
    }
    let Some(end) = code.iter().position(|&c| c == b'\n') else {
        return Err("ERR Invalid library metadata".into());
    };
    let line = String::from_utf8_lossy(&code[2..end]);
    let mut parts = line.split_ascii_whitespace();
    let engine = parts.next().unwrap_or_default();
    if !engine.eq_ignore_ascii_case("lua") {
        return Err(format!("ERR Engine '{engine}' not found"));
    }
    let mut name = None;
    for p in parts {
        match p.strip_prefix("name=") {
            Some(n) => name = Some(n.to_string()),
            None => return Err(format!("ERR Invalid metadata value given: {p}")),
        }
    }
    let name = name.ok_or("ERR Library name was not given")?;
    if !valid_name(&name) {
        return Err(
            "ERR Library names can only contain letters, numbers, or underscores(_) and \
                    must be at least one character long"
                .into(),
        );
    }
    Ok((name, end))
}

fn raise(msg: &str) -> mlua::Error {
    mlua::Error::external(ReplyError(msg.as_bytes().to_vec()))
}

/// `redis.register_function(name, callback)` or
/// `redis.register_function{function_name=, callback=, flags=, description=}`.
fn register(
    lua: &Lua,
    a: MultiValue,
    out: &RefCell<Vec<(FunctionMeta, Function)>>,
) -> mlua::Result<()> {
    let (name, callback, flags, description) = match (a.len(), a.front()) {
        (1, Some(Value::Table(t))) => {
            let (mut name, mut callback, mut flags, mut description) = (None, None, 0, None);
            for pair in t.pairs::<Value, Value>() {
                let (k, v) = pair?;
                let key = match &k {
                    Value::String(s) => s.to_string_lossy(),
                    _ => return Err(raise(
                        "ERR named argument key given to redis.register_function is not a string",
                    )),
                };
                match (key.as_str(), v) {
                    ("function_name", Value::String(s)) => name = Some(s.to_string_lossy()),
                    ("function_name", _) => {
                        return Err(raise("ERR function_name argument given to redis.register_function must be a string"))
                    }
                    ("callback", Value::Function(f)) => callback = Some(f),
                    ("callback", _) => {
                        return Err(raise("ERR callback argument given to redis.register_function must be a function"))
                    }
                    ("description", Value::String(s)) => description = Some(Bytes::copy_from_slice(&s.as_bytes())),
                    ("description", _) => {
                        return Err(raise("ERR description argument given to redis.register_function must be a string"))
                    }
                    ("flags", Value::Table(list)) => {
                        for f in list.sequence_values::<Value>() {
                            let Value::String(f) = f? else {
                                return Err(raise("ERR unknown flag given"));
                            };
                            let f = f.to_string_lossy();
                            match FLAG_NAMES.iter().find(|(n, _)| *n == f) {
                                Some((_, bit)) => flags |= bit,
                                None => return Err(raise("ERR unknown flag given")),
                            }
                        }
                    }
                    ("flags", _) => return Err(raise("ERR flags argument to redis.register_function must be a table representing function flags")),
                    _ => return Err(raise("ERR unknown argument given to redis.register_function")),
                }
            }
            let name = name.ok_or_else(|| {
                raise("ERR redis.register_function must get a function name argument")
            })?;
            let callback = callback
                .ok_or_else(|| raise("ERR redis.register_function must get a callback argument"))?;
            (name, callback, flags, description)
        }
        (2, _) => {
            let name = match &a[0] {
                Value::String(s) => s.to_string_lossy(),
                _ => {
                    return Err(raise(
                        "ERR first argument to redis.register_function must be a string",
                    ))
                }
            };
            let Value::Function(f) = &a[1] else {
                return Err(raise(
                    "ERR second argument to redis.register_function must be a function",
                ));
            };
            (name, f.clone(), 0, None)
        }
        _ => {
            return Err(raise(
                "ERR wrong number of arguments to redis.register_function",
            ))
        }
    };
    if !valid_name(&name) {
        return Err(raise("ERR Function names can only contain letters, numbers, or underscores(_) and must be at least one character long"));
    }
    let _ = lua;
    let mut out = out.borrow_mut();
    if out.iter().any(|(m, _)| m.name == name) {
        return Err(raise("ERR Function already exists in the library"));
    }
    out.push((
        FunctionMeta {
            name,
            description,
            flags,
        },
        callback,
    ));
    Ok(())
}

/// Runs a library's code in `vm` with the load-time API; its functions.
fn load_in(vm: &Vm, code: &[u8], code_at: usize) -> Result<Vec<(FunctionMeta, Function)>, String> {
    let chunk = vm
        .lua
        .load(&code[code_at..])
        .set_name("@user_function")
        .set_environment(vm.fn_env.clone())
        .into_function()
        .map_err(|e| {
            let msg = match e {
                mlua::Error::SyntaxError { message, .. } => message,
                other => super::error_message(&Value::Error(Box::new(other))),
            };
            format!("ERR Error compiling function: {msg}")
        })?;
    let found = RefCell::new(Vec::new());
    let result = vm.lua.scope(|scope| {
        vm.load_redis.raw_set(
            "register_function",
            scope.create_function(|lua, a: MultiValue| register(lua, a, &found))?,
        )?;
        vm.fn_mode.call::<()>(true)?;
        let r = chunk.call::<()>(());
        vm.fn_mode.call::<()>(false)?;
        r
    });
    if let Err(e) = result {
        let msg = match super::reply_error(&e) {
            Some(r) => String::from_utf8_lossy(&r.0).into_owned(),
            None => format!("ERR {}", super::error_message(&Value::Error(Box::new(e)))),
        };
        return Err(format!("ERR Error registering functions: {msg}"));
    }
    let found = found.into_inner();
    if found.is_empty() {
        return Err("ERR No functions registered".into());
    }
    Ok(found)
}

/// `FUNCTION LOAD [REPLACE] code`: the library's name, or the error reply.
pub fn load(ctx: &mut Ctx, code: &[u8], replace: bool) -> Result<String, String> {
    let (name, code_at) = metadata(code)?;
    let server = ctx.server;
    let found = run::with_vm(server, |vm| load_in(vm, code, code_at))??;
    let mut libs = server.functions.libs();
    if !replace && libs.by_name.contains_key(&name) {
        return Err(format!("ERR Library '{name}' already exists"));
    }
    for (f, _) in &found {
        if libs.functions.get(&f.name).is_some_and(|l| *l != name) {
            return Err(format!("ERR Function {} already exists", f.name));
        }
    }
    if let Some(old) = libs.by_name.remove(&name) {
        for f in &old.functions {
            libs.functions.remove(&f.name);
        }
    }
    let id = server.functions.next_id.fetch_add(1, Ordering::Relaxed) + 1;
    let lib = Arc::new(Library {
        name: name.clone(),
        code: Bytes::copy_from_slice(code),
        id,
        functions: found.iter().map(|(m, _)| m.clone()).collect(),
    });
    for f in &lib.functions {
        libs.functions.insert(f.name.clone(), name.clone());
    }
    libs.by_name.insert(name.clone(), lib);
    drop(libs);
    // This thread's Lua state has the functions already.
    run::with_vm(server, |vm| {
        let fns = found.into_iter().map(|(m, f)| (m.name, f)).collect();
        vm.libraries.insert(name.clone(), (id, fns));
    })?;
    Ok(name)
}

/// FUNCTION DELETE name: whether it existed.
pub fn delete(ctx: &Ctx, name: &[u8]) -> bool {
    let mut libs = ctx.server.functions.libs();
    let Some(lib) = libs.by_name.remove(&*String::from_utf8_lossy(name)) else {
        return false;
    };
    for f in &lib.functions {
        libs.functions.remove(&f.name);
    }
    true
}

/// FUNCTION FLUSH.
pub fn flush(ctx: &Ctx) {
    *ctx.server.functions.libs() = Libraries::default();
}

/// `FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE]`: the libraries, in
/// name order.
pub fn list(ctx: &Ctx, pattern: Option<&[u8]>) -> Vec<Arc<Library>> {
    ctx.server
        .functions
        .libs()
        .by_name
        .values()
        .filter(|l| pattern.is_none_or(|p| crate::util::glob_match(p, l.name.as_bytes(), false)))
        .cloned()
        .collect()
}

/// FCALL / FCALL_RO function numkeys key... arg... (every shard locked).
pub fn fcall(ctx: &mut Ctx, argv: &[&[u8]], ro: bool) {
    let Some(numkeys) = run::numkeys(ctx, argv) else {
        return;
    };
    let Some((lib, meta)) = ctx.server.functions.find(argv[1]) else {
        return ctx.out.error("ERR Function not found");
    };
    if ro && meta.flags & flag::NO_WRITES == 0 {
        return ctx
            .out
            .error("ERR Can not execute a script with write flag using *_ro command.");
    }
    if let Err(e) = run::oom_check(ctx, meta.flags, ro) {
        return ctx.out.error(e);
    }
    let (keys, args) = argv[3..].split_at(numkeys);
    let server = ctx.server;
    let outcome = run::with_vm(server, |vm| {
        let stale = vm
            .libraries
            .get(&lib.name)
            .is_none_or(|(id, _)| *id != lib.id);
        if stale {
            let (_, code_at) = metadata(&lib.code)?;
            let found = load_in(vm, &lib.code, code_at)?;
            let fns = found.into_iter().map(|(m, f)| (m.name, f)).collect();
            vm.libraries.insert(lib.name.clone(), (lib.id, fns));
        }
        let f = vm
            .libraries
            .get(&lib.name)
            .and_then(|(_, fns)| fns.get(&meta.name))
            .cloned()
            .ok_or("ERR Function not found")?;
        let k = run::strings(&vm.lua, keys).map_err(|e| e.to_string())?;
        let a = run::strings(&vm.lua, args).map_err(|e| e.to_string())?;
        let read_only = ro || meta.flags & flag::NO_WRITES != 0;
        run::invoke(
            ctx,
            vm,
            &meta.name,
            read_only,
            false,
            Invoke::Callback(f, k, a),
        );
        Ok::<(), String>(())
    });
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) | Err(e) => ctx.out.error(&e),
    }
}
