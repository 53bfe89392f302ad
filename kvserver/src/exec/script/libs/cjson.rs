//! `cjson`: Lua CJSON 2.1.0 as Redis configures it. Encoding: numbers
//! with `%.14g`, `/` escaped as `\/`, a table is an array when its keys
//! are exactly the positive integers up to a maximum that is not
//! excessively sparse (more than twice the count and above 10), else an
//! object with string or number keys; `cjson.null` is JSON null. Decoding
//! gives numbers as Lua numbers, null as `cjson.null`, and Lua CJSON's
//! error texts (`Expected value but found T_END at character 1`).

use super::super::lua_error;
use mlua::{LightUserData, Lua, MultiValue, Table, Value};
use std::fmt::Write;

const MAX_DEPTH: usize = 1000;

pub fn table(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "encode",
        lua.create_function(|lua, a: MultiValue| {
            if a.len() != 1 {
                return Err(lua_error(
                    lua,
                    "bad argument #1 to 'encode' (expected 1 argument)",
                ));
            }
            let mut out = Vec::new();
            encode(lua, &a[0], 0, &mut out)?;
            lua.create_string(&out)
        })?,
    )?;
    t.raw_set(
        "decode",
        lua.create_function(|lua, a: MultiValue| {
            let s = match a.front() {
                Some(Value::String(s)) if a.len() == 1 => s.as_bytes().to_vec(),
                _ if a.len() != 1 => {
                    return Err(lua_error(
                        lua,
                        "bad argument #1 to 'decode' (expected 1 argument)",
                    ))
                }
                Some(v) => lua
                    .coerce_string(v.clone())?
                    .map(|s| s.as_bytes().to_vec())
                    .ok_or_else(|| {
                        lua_error(
                            lua,
                            &format!(
                                "bad argument #1 to 'decode' (string expected, got {})",
                                v.type_name()
                            ),
                        )
                    })?,
                None => Vec::new(),
            };
            let mut d = Decoder { s: &s, pos: 0, lua };
            let v = d.value(0)?;
            match d.token()? {
                (Tok::End, _) => Ok(v),
                (t, at) => Err(d.expected("the end", t, at)),
            }
        })?,
    )?;
    t.raw_set(
        "null",
        Value::LightUserData(LightUserData(std::ptr::null_mut())),
    )?;
    // cjson.new(): a module of its own (a copy of this one's functions).
    t.raw_set(
        "new",
        lua.create_function(|lua, _: MultiValue| {
            let copy = lua.create_table()?;
            let real: Table = lua.globals().raw_get("cjson")?;
            for pair in real.pairs::<Value, Value>() {
                let (k, v) = pair?;
                copy.raw_set(k, v)?;
            }
            Ok(copy)
        })?,
    )?;
    t.raw_set("_NAME", "cjson")?;
    t.raw_set("_VERSION", "2.1.0")?;
    // The configuration functions answer their (fixed) settings.
    for (name, value) in [
        ("encode_sparse_array", Value::Boolean(false)),
        ("encode_max_depth", Value::Integer(MAX_DEPTH as i64)),
        ("decode_max_depth", Value::Integer(MAX_DEPTH as i64)),
        ("encode_number_precision", Value::Integer(14)),
        ("encode_keep_buffer", Value::Boolean(true)),
        ("encode_invalid_numbers", Value::Boolean(false)),
        ("decode_invalid_numbers", Value::Boolean(true)),
    ] {
        t.raw_set(
            name,
            lua.create_function(move |_, _: MultiValue| Ok(value.clone()))?,
        )?;
    }
    Ok(t)
}

fn encode(lua: &Lua, v: &Value, depth: usize, out: &mut Vec<u8>) -> mlua::Result<()> {
    match v {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::LightUserData(p) if p.0.is_null() => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Integer(n) => out.extend_from_slice(crate::util::fmt_g(*n as f64, 14).as_bytes()),
        Value::Number(f) => {
            if !f.is_finite() {
                return Err(lua_error(
                    lua,
                    "Cannot serialise number: must not be NaN or Inf",
                ));
            }
            out.extend_from_slice(crate::util::fmt_g(*f, 14).as_bytes());
        }
        Value::String(s) => string(&s.as_bytes(), out),
        Value::Table(t) => {
            let depth = depth + 1;
            if depth > MAX_DEPTH {
                return Err(lua_error(
                    lua,
                    &format!("Cannot serialise, excessive nesting ({depth})"),
                ));
            }
            match array_length(t)? {
                Some((len, count)) if len > 0 => {
                    if len > 10 && len > 2 * count {
                        return Err(lua_error(
                            lua,
                            "Cannot serialise table: excessively sparse array",
                        ));
                    }
                    out.push(b'[');
                    for i in 1..=len {
                        if i > 1 {
                            out.push(b',');
                        }
                        encode(lua, &t.raw_get::<Value>(i)?, depth, out)?;
                    }
                    out.push(b']');
                }
                _ => {
                    out.push(b'{');
                    let mut first = true;
                    for pair in t.pairs::<Value, Value>() {
                        let (k, v) = pair?;
                        if !first {
                            out.push(b',');
                        }
                        first = false;
                        match &k {
                            Value::String(s) => string(&s.as_bytes(), out),
                            Value::Integer(_) | Value::Number(_) => {
                                out.push(b'"');
                                encode(lua, &k, depth, out)?;
                                out.push(b'"');
                            }
                            other => {
                                return Err(lua_error(
                                    lua,
                                    &format!(
                                        "Cannot serialise {}: table key must be a number or string",
                                        super::type_name(other, false)
                                    ),
                                ))
                            }
                        }
                        out.push(b':');
                        encode(lua, &v, depth, out)?;
                    }
                    out.push(b'}');
                }
            }
        }
        other => {
            let name = match other {
                Value::LightUserData(_) | Value::UserData(_) => "userdata",
                v => v.type_name(),
            };
            return Err(lua_error(
                lua,
                &format!("Cannot serialise {name}: type not supported"),
            ));
        }
    }
    Ok(())
}

/// Lua CJSON's `lua_array_length`: the largest key and the number of
/// keys if every key is a positive integer, None otherwise.
fn array_length(t: &Table) -> mlua::Result<Option<(usize, usize)>> {
    let mut max = 0usize;
    let mut count = 0usize;
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair?;
        let n = match k {
            Value::Integer(n) if n >= 1 => n as usize,
            Value::Number(f) if f >= 1.0 && f.fract() == 0.0 => f as usize,
            _ => return Ok(None),
        };
        max = max.max(n);
        count += 1;
    }
    Ok(Some((max, count)))
}

fn string(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            c if c < 0x20 || c == 0x7f => {
                let mut e = String::new();
                let _ = write!(e, "\\u{:04x}", c);
                out.extend_from_slice(e.as_bytes());
            }
            c => out.push(c),
        }
    }
    out.push(b'"');
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tok {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    Str,
    Number,
    Boolean,
    Null,
    Colon,
    Comma,
    End,
    Error,
}

impl Tok {
    fn name(self) -> &'static str {
        match self {
            Tok::ObjBegin => "T_OBJ_BEGIN",
            Tok::ObjEnd => "T_OBJ_END",
            Tok::ArrBegin => "T_ARR_BEGIN",
            Tok::ArrEnd => "T_ARR_END",
            Tok::Str => "T_STRING",
            Tok::Number => "T_NUMBER",
            Tok::Boolean => "T_BOOLEAN",
            Tok::Null => "T_NULL",
            Tok::Colon => "T_COLON",
            Tok::Comma => "T_COMMA",
            Tok::End => "T_END",
            Tok::Error => "T_ERROR",
        }
    }
}

struct Decoder<'a> {
    s: &'a [u8],
    pos: usize,
    lua: &'a Lua,
}

impl Decoder<'_> {
    fn expected(&self, what: &str, t: Tok, at: usize) -> mlua::Error {
        lua_error(
            self.lua,
            &format!(
                "Expected {what} but found {} at character {}",
                t.name(),
                at + 1
            ),
        )
    }

    /// The next token and where it starts (values are not consumed for
    /// strings and numbers: the caller reads them).
    fn token(&mut self) -> mlua::Result<(Tok, usize)> {
        while self.pos < self.s.len() && matches!(self.s[self.pos], b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
        let at = self.pos;
        let Some(&c) = self.s.get(at) else {
            return Ok((Tok::End, at));
        };
        let t = match c {
            b'{' => Tok::ObjBegin,
            b'}' => Tok::ObjEnd,
            b'[' => Tok::ArrBegin,
            b']' => Tok::ArrEnd,
            b':' => Tok::Colon,
            b',' => Tok::Comma,
            b'"' => return Ok((Tok::Str, at)),
            b'-' | b'0'..=b'9' => return Ok((Tok::Number, at)),
            b't' if self.s[at..].starts_with(b"true") => {
                self.pos += 4;
                return Ok((Tok::Boolean, at));
            }
            b'f' if self.s[at..].starts_with(b"false") => {
                self.pos += 5;
                return Ok((Tok::Boolean, at));
            }
            b'n' if self.s[at..].starts_with(b"null") => {
                self.pos += 4;
                return Ok((Tok::Null, at));
            }
            _ => Tok::Error,
        };
        if t == Tok::Error {
            return Err(lua_error(
                self.lua,
                &format!(
                    "Expected value but found invalid token at character {}",
                    at + 1
                ),
            ));
        }
        self.pos += 1;
        Ok((t, at))
    }

    fn value(&mut self, depth: usize) -> mlua::Result<Value> {
        let (t, at) = self.token()?;
        self.value_from(t, at, depth)
    }

    fn value_from(&mut self, t: Tok, at: usize, depth: usize) -> mlua::Result<Value> {
        let lua = self.lua;
        Ok(match t {
            Tok::Str => Value::String(lua.create_string(self.string()?)?),
            Tok::Number => Value::Number(self.number()?),
            Tok::Boolean => Value::Boolean(self.s[at] == b't'),
            Tok::Null => Value::LightUserData(LightUserData(std::ptr::null_mut())),
            Tok::ObjBegin | Tok::ArrBegin => {
                if depth + 1 > MAX_DEPTH {
                    return Err(lua_error(
                        lua,
                        &format!(
                            "Found too many nested data structures ({}) at character {}",
                            depth + 1,
                            at + 1
                        ),
                    ));
                }
                let table = lua.create_table()?;
                if t == Tok::ArrBegin {
                    self.array(&table, depth + 1)?;
                } else {
                    self.object(&table, depth + 1)?;
                }
                Value::Table(table)
            }
            t => return Err(self.expected("value", t, at)),
        })
    }

    fn array(&mut self, table: &Table, depth: usize) -> mlua::Result<()> {
        let (t, at) = self.token()?;
        if t == Tok::ArrEnd {
            return Ok(());
        }
        let mut i = 1;
        let (mut t, mut at) = (t, at);
        loop {
            let v = self.value_from(t, at, depth)?;
            table.raw_set(i, v)?;
            i += 1;
            match self.token()? {
                (Tok::ArrEnd, _) => return Ok(()),
                (Tok::Comma, _) => {}
                (t, at) => return Err(self.expected("comma or array end", t, at)),
            }
            (t, at) = self.token()?;
        }
    }

    fn object(&mut self, table: &Table, depth: usize) -> mlua::Result<()> {
        let (mut t, mut at) = self.token()?;
        if t == Tok::ObjEnd {
            return Ok(());
        }
        loop {
            if t != Tok::Str {
                return Err(self.expected("object key string", t, at));
            }
            let key = self.lua.create_string(self.string()?)?;
            match self.token()? {
                (Tok::Colon, _) => {}
                (t, at) => return Err(self.expected("colon", t, at)),
            }
            let v = self.value(depth)?;
            table.raw_set(key, v)?;
            match self.token()? {
                (Tok::ObjEnd, _) => return Ok(()),
                (Tok::Comma, _) => {}
                (t, at) => return Err(self.expected("comma or object end", t, at)),
            }
            (t, at) = self.token()?;
        }
    }

    fn string(&mut self) -> mlua::Result<Vec<u8>> {
        let start = self.pos;
        self.pos += 1;
        let mut out = Vec::new();
        let bad = |d: &Self| {
            lua_error(
                d.lua,
                &format!(
                    "Expected value but found invalid string at character {}",
                    start + 1
                ),
            )
        };
        loop {
            let Some(&c) = self.s.get(self.pos) else {
                return Err(bad(self));
            };
            self.pos += 1;
            match c {
                b'"' => return Ok(out),
                b'\\' => {
                    let Some(&e) = self.s.get(self.pos) else {
                        return Err(bad(self));
                    };
                    self.pos += 1;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let mut cp = self.hex4().ok_or_else(|| bad(self))?;
                            if (0xD800..0xDC00).contains(&cp) {
                                if self.s.get(self.pos..self.pos + 2) != Some(b"\\u") {
                                    return Err(bad(self));
                                }
                                self.pos += 2;
                                let lo = self.hex4().ok_or_else(|| bad(self))?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(bad(self));
                                }
                                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                            } else if (0xDC00..0xE000).contains(&cp) {
                                return Err(bad(self));
                            }
                            let ch = char::from_u32(cp).ok_or_else(|| bad(self))?;
                            let mut b = [0; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut b).as_bytes());
                        }
                        _ => return Err(bad(self)),
                    }
                }
                c => out.push(c),
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = self.s.get(self.pos..self.pos + 4)?;
        let v = u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()?;
        self.pos += 4;
        Some(v)
    }

    fn number(&mut self) -> mlua::Result<f64> {
        let start = self.pos;
        while self.pos < self.s.len()
            && matches!(
                self.s[self.pos],
                b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'
            )
        {
            self.pos += 1;
        }
        std::str::from_utf8(&self.s[start..self.pos])
            .ok()
            .and_then(|t| t.parse::<f64>().ok())
            .ok_or_else(|| {
                lua_error(
                    self.lua,
                    &format!(
                        "Expected value but found invalid number at character {}",
                        start + 1
                    ),
                )
            })
    }
}
