//! `cmsgpack`: lua-cmsgpack 0.4.0 as Redis embeds it. `pack(...)`
//! concatenates its arguments' encodings: integral numbers as the
//! smallest integer format, others as float32 when exact, else float64;
//! strings as str8/16/32; a table whose keys are exactly 1..n as an
//! array, any other as a map; tables nested deeper than 16 as nil.
//! `unpack` returns every value of the buffer.

use super::super::lua_error;
use mlua::{Lua, MultiValue, Table, Value};

const MAX_NESTING: usize = 16;

pub fn table(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "pack",
        lua.create_function(|lua, a: MultiValue| {
            if a.is_empty() {
                return Err(super::arg_error(
                    lua,
                    0,
                    "pack",
                    "MessagePack pack needs input.",
                ));
            }
            let mut out = Vec::new();
            for v in a.iter() {
                encode(v, 0, &mut out)?;
            }
            lua.create_string(&out)
        })?,
    )?;
    t.raw_set(
        "unpack",
        lua.create_function(|lua, s: mlua::String| {
            let s = s.as_bytes();
            let mut pos = 0;
            let mut vals = MultiValue::new();
            while pos < s.len() {
                vals.push_back(decode(lua, &s, &mut pos)?);
            }
            Ok(vals)
        })?,
    )?;
    // unpack_one(s, offset) / unpack_limit(s, limit, offset): the offset
    // after the values read (-1 at the end), then the values.
    t.raw_set(
        "unpack_one",
        lua.create_function(|lua, (s, offset): (mlua::String, Option<i64>)| {
            unpack_limited(lua, &s.as_bytes(), 1, offset.unwrap_or(0))
        })?,
    )?;
    t.raw_set(
        "unpack_limit",
        lua.create_function(
            |lua, (s, limit, offset): (mlua::String, Option<i64>, Option<i64>)| {
                unpack_limited(lua, &s.as_bytes(), limit.unwrap_or(0), offset.unwrap_or(0))
            },
        )?,
    )?;
    t.raw_set("_NAME", "cmsgpack")?;
    t.raw_set("_VERSION", "lua-cmsgpack 0.4.0")?;
    t.raw_set("_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo")?;
    t.raw_set("_DESCRIPTION", "MessagePack C implementation for Lua")?;
    Ok(t)
}

fn unpack_limited(lua: &Lua, s: &[u8], limit: i64, offset: i64) -> mlua::Result<MultiValue> {
    if offset < 0 || limit < 0 {
        return Err(lua_error(
            lua,
            &format!("Invalid request to unpack with offset of {offset} and limit of {limit}."),
        ));
    }
    let mut pos = offset as usize;
    if pos > s.len() {
        return Err(lua_error(
            lua,
            &format!(
                "Start offset {offset} greater than input length {}.",
                s.len()
            ),
        ));
    }
    let mut vals = MultiValue::new();
    let mut n = 0;
    while pos < s.len() && (limit == 0 || n < limit) {
        vals.push_back(decode(lua, s, &mut pos)?);
        n += 1;
    }
    let next = if pos >= s.len() { -1 } else { pos as i64 };
    vals.push_front(Value::Integer(next));
    Ok(vals)
}

fn int(n: i64, out: &mut Vec<u8>) {
    if n >= 0 {
        let u = n as u64;
        if u < 128 {
            out.push(u as u8);
        } else if u <= 0xff {
            out.extend_from_slice(&[0xcc, u as u8]);
        } else if u <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(u as u16).to_be_bytes());
        } else if u <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(u as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&u.to_be_bytes());
        }
    } else if n >= -32 {
        out.push(n as i8 as u8);
    } else if n >= -128 {
        out.extend_from_slice(&[0xd0, n as i8 as u8]);
    } else if n >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= -2_147_483_648 {
        out.push(0xd2);
        out.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn number(f: f64, out: &mut Vec<u8>) {
    // IS_INT64_EQUIVALENT: integral and within i64.
    if f.fract() == 0.0 && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f) {
        return int(f as i64, out);
    }
    let single = f as f32;
    if single as f64 == f {
        out.push(0xca);
        out.extend_from_slice(&single.to_bits().to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend_from_slice(&f.to_bits().to_be_bytes());
    }
}

fn header(len: usize, small: (u8, usize), codes: [u8; 3], out: &mut Vec<u8>) {
    if len < small.1 {
        out.push(small.0 | len as u8);
    } else if codes[0] != 0 && len <= 0xff {
        out.extend_from_slice(&[codes[0], len as u8]);
    } else if len <= 0xffff {
        out.push(codes[1]);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(codes[2]);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

fn encode(v: &Value, level: usize, out: &mut Vec<u8>) -> mlua::Result<()> {
    match v {
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Integer(n) => int(*n, out),
        Value::Number(f) => number(*f, out),
        Value::String(s) => {
            let s = s.as_bytes();
            header(s.len(), (0xa0, 32), [0xd9, 0xda, 0xdb], out);
            out.extend_from_slice(&s);
        }
        Value::Table(t) if level < MAX_NESTING => {
            if let Some(n) = array_len(t)? {
                header(n, (0x90, 16), [0, 0xdc, 0xdd], out);
                for i in 1..=n {
                    encode(&t.raw_get::<Value>(i)?, level + 1, out)?;
                }
            } else {
                let pairs: Vec<(Value, Value)> = t.pairs().collect::<mlua::Result<_>>()?;
                header(pairs.len(), (0x80, 16), [0, 0xde, 0xdf], out);
                for (k, v) in &pairs {
                    encode(k, level + 1, out)?;
                    encode(v, level + 1, out)?;
                }
            }
        }
        _ => out.push(0xc0),
    }
    Ok(())
}

/// lua-cmsgpack's `table_is_an_array`: every key a positive integer and
/// as many keys as the largest (so exactly 1..n).
fn array_len(t: &Table) -> mlua::Result<Option<usize>> {
    let (mut count, mut max) = (0usize, 0usize);
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair?;
        let n = match k {
            Value::Integer(n) if n >= 1 => n as usize,
            Value::Number(f) if f >= 1.0 && f.fract() == 0.0 => f as usize,
            _ => return Ok(None),
        };
        count += 1;
        max = max.max(n);
    }
    Ok((max == count).then_some(max))
}

fn take<'s>(lua: &Lua, s: &'s [u8], pos: &mut usize, n: usize) -> mlua::Result<&'s [u8]> {
    let end = pos
        .checked_add(n)
        .filter(|&e| e <= s.len())
        .ok_or_else(|| lua_error(lua, "Missing bytes in input."))?;
    let b = &s[*pos..end];
    *pos = end;
    Ok(b)
}

fn be(b: &[u8]) -> u64 {
    b.iter().fold(0, |acc, &x| acc << 8 | x as u64)
}

/// How deep `unpack` follows nested arrays and maps (a few bytes of
/// input could otherwise nest deep enough to overflow the thread's
/// stack); past it, the error redis-server 7.0.15 gives when its Lua
/// stack runs out there.
const MAX_DECODE_DEPTH: usize = 1000;

fn decode(lua: &Lua, s: &[u8], pos: &mut usize) -> mlua::Result<Value> {
    decode_at(lua, s, pos, 0)
}

fn decode_at(lua: &Lua, s: &[u8], pos: &mut usize, depth: usize) -> mlua::Result<Value> {
    if depth > MAX_DECODE_DEPTH {
        return Err(lua_error(
            lua,
            "stack overflow (in function mp_decode_to_lua_array)",
        ));
    }
    let c = take(lua, s, pos, 1)?[0];
    let mut n = |k: usize| -> mlua::Result<u64> { Ok(be(take(lua, s, pos, k)?)) };
    let (kind, len) = match c {
        0x00..=0x7f => return Ok(Value::Integer(c as i64)),
        0xe0..=0xff => return Ok(Value::Integer(c as i8 as i64)),
        0xc0 => return Ok(Value::Nil),
        0xc2 => return Ok(Value::Boolean(false)),
        0xc3 => return Ok(Value::Boolean(true)),
        0xcc => return Ok(Value::Integer(n(1)? as i64)),
        0xcd => return Ok(Value::Integer(n(2)? as i64)),
        0xce => return Ok(Value::Integer(n(4)? as i64)),
        0xcf => return Ok(Value::Number(n(8)? as f64)),
        0xd0 => return Ok(Value::Integer(n(1)? as u8 as i8 as i64)),
        0xd1 => return Ok(Value::Integer(n(2)? as u16 as i16 as i64)),
        0xd2 => return Ok(Value::Integer(n(4)? as u32 as i32 as i64)),
        0xd3 => return Ok(Value::Number(n(8)? as i64 as f64)),
        0xca => return Ok(Value::Number(f32::from_bits(n(4)? as u32) as f64)),
        0xcb => return Ok(Value::Number(f64::from_bits(n(8)?))),
        0xa0..=0xbf => (b's', (c & 0x1f) as u64),
        0xd9 | 0xc4 => (b's', n(1)?),
        0xda | 0xc5 => (b's', n(2)?),
        0xdb | 0xc6 => (b's', n(4)?),
        0x90..=0x9f => (b'a', (c & 0x0f) as u64),
        0xdc => (b'a', n(2)?),
        0xdd => (b'a', n(4)?),
        0x80..=0x8f => (b'm', (c & 0x0f) as u64),
        0xde => (b'm', n(2)?),
        0xdf => (b'm', n(4)?),
        _ => return Err(lua_error(lua, "Bad data format in input.")),
    };
    match kind {
        b's' => Ok(Value::String(lua.create_string(take(
            lua,
            s,
            pos,
            len as usize,
        )?)?)),
        b'a' => {
            let t = lua.create_table()?;
            for i in 1..=len {
                t.raw_set(i, decode_at(lua, s, pos, depth + 1)?)?;
            }
            Ok(Value::Table(t))
        }
        _ => {
            let t = lua.create_table()?;
            for _ in 0..len {
                let k = decode_at(lua, s, pos, depth + 1)?;
                let v = decode_at(lua, s, pos, depth + 1)?;
                if !k.is_nil() {
                    t.raw_set(k, v)?;
                }
            }
            Ok(Value::Table(t))
        }
    }
}
