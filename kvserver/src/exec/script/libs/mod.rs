//! The libraries Redis adds to Lua, written in Rust as Lua-callable
//! functions (mlua ships none of them): `bit` (LuaBitOp 1.0.2), `struct`
//! (Roberto Ierusalimschy's), `cjson` (Lua CJSON 2.1.0 as Redis
//! configures it) and `cmsgpack` (lua-cmsgpack 0.4.0), with their
//! results and error texts.

mod bit;
mod cjson;
mod cmsgpack;
mod structs;

use mlua::{Lua, MultiValue, Table, Value};

/// Adds `bit`, `struct`, `cjson` and `cmsgpack` to the globals `g`.
pub fn install(lua: &Lua, g: &Table) -> mlua::Result<()> {
    g.raw_set("bit", bit::table(lua)?)?;
    g.raw_set("struct", structs::table(lua)?)?;
    g.raw_set("cjson", cjson::table(lua)?)?;
    g.raw_set("cmsgpack", cmsgpack::table(lua)?)?;
    Ok(())
}

/// Lua's `luaL_checknumber` on argument `i` (1-based) of function `f`.
fn check_number(lua: &Lua, args: &MultiValue, i: usize, f: &str) -> mlua::Result<f64> {
    let v = args.get(i - 1).cloned().unwrap_or(Value::Nil);
    match lua.coerce_number(v.clone())? {
        Some(n) => Ok(n),
        None => Err(arg_error(
            lua,
            i,
            f,
            &format!("number expected, got {}", type_name(&v, args.len() < i)),
        )),
    }
}

/// Lua's `luaL_checklstring` on argument `i` (numbers are converted).
fn check_string(lua: &Lua, args: &MultiValue, i: usize, f: &str) -> mlua::Result<Vec<u8>> {
    let v = args.get(i - 1).cloned().unwrap_or(Value::Nil);
    match &v {
        Value::String(s) => Ok(s.as_bytes().to_vec()),
        Value::Integer(_) | Value::Number(_) => Ok(lua
            .coerce_string(v.clone())?
            .map(|s| s.as_bytes().to_vec())
            .unwrap_or_default()),
        _ => Err(arg_error(
            lua,
            i,
            f,
            &format!("string expected, got {}", type_name(&v, args.len() < i)),
        )),
    }
}

fn type_name(v: &Value, absent: bool) -> &'static str {
    match v {
        Value::Nil if absent => "no value",
        Value::Integer(_) | Value::Number(_) => "number",
        Value::LightUserData(_) => "userdata",
        v => v.type_name(),
    }
}

/// `luaL_argerror`: `bad argument #i to 'f' (msg)`.
fn arg_error(lua: &Lua, i: usize, f: &str, msg: &str) -> mlua::Error {
    super::lua_error(lua, &format!("bad argument #{i} to '{f}' ({msg})"))
}
