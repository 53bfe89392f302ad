//! Conversions between RESP and Lua, as Redis's documentation tables give
//! them (script_lua.c's `redisProtocolToLuaType` and
//! `luaReplyToRedisReply`).
//!
//! A command called from a script writes its reply to the connection's
//! buffer like any command (in the protocol the script chose with
//! `redis.setresp`); [`reply_to_lua`] reads those bytes back as a Lua
//! value and the caller truncates them. What the script returns is
//! written in the client's protocol by [`lua_to_reply`].
//!
//! ```text
//! RESP                      Lua                          back to RESP
//! integer                   number                       integer (truncated)
//! bulk / null bulk          string / false               bulk / (false:) null
//! array / null array        table (sequence) / false     array up to the first nil
//! status / error            {ok=s} / {err=s}             status / error
//! RESP3 null                nil                          null
//! RESP3 true / false        boolean                      RESP3: #t #f; RESP2: 1 / null
//! RESP3 double              {double=n}                   double (RESP2: bulk)
//! RESP3 big number          {big_number=s}               big number (RESP2: bulk)
//! RESP3 verbatim            {verbatim_string={format=, string=}}
//! RESP3 map / set           {map={k=v}} / {set={m=true}} map / set (RESP2: arrays)
//! ```

use crate::proto::reply::Reply;
use mlua::{Lua, Table, Value};

/// How deep a returned table may nest: redis-server 7.0.15 answers a
/// self-referencing table with 7995 nested arrays, then `reached lua
/// stack limit` (its Lua stack runs out); the same here, without
/// recursion.
const MAX_DEPTH: usize = 7995;

/// Reads the RESP reply at the start of `buf` as a Lua value: `Ok((value,
/// true))` for an error reply, whose value is its message
/// (`CODE message`, as Redis's `luaPushErrorBuff` derives it).
pub fn reply_to_lua(lua: &Lua, buf: &[u8]) -> mlua::Result<(Value, bool)> {
    if buf.first() == Some(&b'-') {
        let line = line_at(buf, 1).0;
        return Ok((Value::String(lua.create_string(error_text(line))?), true));
    }
    let mut pos = 0;
    Ok((parse(lua, buf, &mut pos)?, false))
}

/// `-CODE message` as Redis's `luaPushErrorBuff` turns it into a Lua
/// error: a message without a space is `ERR` + message, trailing CR/LF
/// trimmed.
pub fn error_text(msg: &[u8]) -> Vec<u8> {
    let msg = trim_crlf(msg);
    match msg.iter().position(|&c| c == b' ') {
        Some(_) => msg.to_vec(),
        None => [b"ERR ", msg].concat(),
    }
}

fn trim_crlf(mut s: &[u8]) -> &[u8] {
    while let [rest @ .., b'\r' | b'\n'] = s {
        s = rest;
    }
    while let [b'\r' | b'\n', rest @ ..] = s {
        s = rest;
    }
    s
}

/// The line starting at `at` (without its CRLF) and where the next starts.
fn line_at(buf: &[u8], at: usize) -> (&[u8], usize) {
    let rest = buf.get(at..).unwrap_or_default();
    match rest.windows(2).position(|w| w == b"\r\n") {
        Some(n) => (&rest[..n], at + n + 2),
        None => (rest, buf.len()),
    }
}

fn number(line: &[u8]) -> i64 {
    crate::util::parse_i64(line).unwrap_or(0)
}

fn tagged(lua: &Lua, tag: &str, v: impl mlua::IntoLua) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    t.raw_set(tag, v)?;
    Ok(Value::Table(t))
}

fn parse(lua: &Lua, buf: &[u8], pos: &mut usize) -> mlua::Result<Value> {
    let kind = buf.get(*pos).copied().unwrap_or(b'_');
    let (line, next) = line_at(buf, *pos + 1);
    *pos = next;
    Ok(match kind {
        b'+' => tagged(lua, "ok", lua.create_string(line)?)?,
        b'-' => tagged(lua, "err", lua.create_string(error_text(line))?)?,
        b':' => Value::Number(number(line) as f64),
        b'$' | b'=' => {
            let n = number(line);
            if n < 0 {
                return Ok(Value::Boolean(false));
            }
            let end = (*pos + n as usize).min(buf.len());
            let data = &buf[*pos..end];
            *pos = end + 2;
            if kind == b'$' {
                Value::String(lua.create_string(data)?)
            } else {
                // `txt:...`: the format, then the text.
                let (format, text) = data.split_at(3.min(data.len()));
                let v = lua.create_table()?;
                v.raw_set("format", lua.create_string(format)?)?;
                v.raw_set(
                    "string",
                    lua.create_string(text.get(1..).unwrap_or_default())?,
                )?;
                tagged(lua, "verbatim_string", v)?
            }
        }
        b'*' | b'>' | b'~' => {
            let n = number(line);
            if n < 0 {
                return Ok(Value::Boolean(false));
            }
            let t = lua.create_table_with_capacity(n.min(1 << 16) as usize, 0)?;
            for i in 1..=n {
                let v = parse(lua, buf, pos)?;
                if kind == b'~' {
                    t.raw_set(v, true)?;
                } else {
                    t.raw_set(i, v)?;
                }
            }
            if kind == b'~' {
                tagged(lua, "set", t)?
            } else {
                Value::Table(t)
            }
        }
        b'%' => {
            let t = lua.create_table()?;
            for _ in 0..number(line).max(0) {
                let k = parse(lua, buf, pos)?;
                let v = parse(lua, buf, pos)?;
                if !k.is_nil() {
                    t.raw_set(k, v)?;
                }
            }
            tagged(lua, "map", t)?
        }
        b'#' => Value::Boolean(line == b"t"),
        b',' => {
            let d = match line {
                b"inf" => f64::INFINITY,
                b"-inf" => f64::NEG_INFINITY,
                _ => crate::util::parse_f64(line).unwrap_or(f64::NAN),
            };
            tagged(lua, "double", d)?
        }
        b'(' => tagged(lua, "big_number", lua.create_string(line)?)?,
        _ => Value::Nil,
    })
}

/// Writes `v`, a script's result, in the client's protocol (`out.resp`);
/// booleans follow the script's protocol (`script_resp`, from
/// `redis.setresp`): under 2, true is 1 and false a null, as
/// redis-server 7.0.15 answers even a RESP3 client.
pub fn lua_to_reply(v: Value, out: &mut Reply, script_resp: u8) {
    let mut todo = vec![(v, 0usize)];
    while let Some((v, depth)) = todo.pop() {
        if depth >= MAX_DEPTH {
            out.error("ERR reached lua stack limit");
            continue;
        }
        match v {
            Value::Boolean(b) => match (script_resp, out.resp3(), b) {
                (2, _, true) => out.int(1),
                (2, _, false) => out.null(),
                (_, true, true) => out.buf.extend_from_slice(b"#t\r\n"),
                (_, true, false) => out.buf.extend_from_slice(b"#f\r\n"),
                (_, false, b) => out.int(i64::from(b)),
            },
            Value::Integer(n) => out.int(n),
            Value::Number(f) => out.int(c_llong(f)),
            Value::String(s) => out.bulk(&s.as_bytes()),
            Value::Table(t) => table(t, depth, out, &mut todo),
            _ => out.null(),
        }
    }
}

/// C's `(long long)` of a double on x86-64: NaN and out-of-range values
/// give the "integer indefinite" value, i64::MIN (Rust's cast saturates).
fn c_llong(f: f64) -> i64 {
    if f.is_nan() || !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f) {
        i64::MIN
    } else {
        f as i64
    }
}

/// `s` with CR and LF turned into spaces (a status line must stay one).
fn one_line(s: &[u8]) -> Vec<u8> {
    s.iter()
        .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c })
        .collect()
}

fn table(t: Table, depth: usize, out: &mut Reply, todo: &mut Vec<(Value, usize)>) {
    let field = |name: &str| t.raw_get::<Value>(name).unwrap_or(Value::Nil);
    if let Value::String(e) = field("err") {
        return out.error_bytes(&e.as_bytes());
    }
    if let Value::String(s) = field("ok") {
        let s = one_line(&s.as_bytes());
        out.buf.extend_from_slice(b"+");
        out.buf.extend_from_slice(&s);
        return out.buf.extend_from_slice(b"\r\n");
    }
    match field("double") {
        Value::Number(d) => return out.double(d),
        Value::Integer(n) => return out.double(n as f64),
        _ => {}
    }
    if let Value::String(s) = field("big_number") {
        let s = one_line(&s.as_bytes());
        if out.resp3() {
            out.buf.extend_from_slice(b"(");
            out.buf.extend_from_slice(&s);
            return out.buf.extend_from_slice(b"\r\n");
        }
        return out.bulk(&s);
    }
    if let Value::Table(m) = field("map") {
        let pairs: Vec<(Value, Value)> = m.pairs().filter_map(Result::ok).collect();
        out.map(pairs.len());
        for (k, v) in pairs.into_iter().rev() {
            todo.push((v, depth + 1));
            todo.push((k, depth + 1));
        }
        return;
    }
    if let Value::Table(s) = field("set") {
        let members: Vec<Value> = s
            .pairs::<Value, Value>()
            .filter_map(Result::ok)
            .map(|(k, _)| k)
            .collect();
        out.set(members.len());
        todo.extend(members.into_iter().rev().map(|m| (m, depth + 1)));
        return;
    }
    if let Value::Table(v) = field("verbatim_string") {
        if let (Ok(Value::String(format)), Ok(Value::String(text))) =
            (v.raw_get::<Value>("format"), v.raw_get::<Value>("string"))
        {
            let (format, text) = (format.as_bytes(), text.as_bytes());
            if out.resp3() {
                out.buf.extend_from_slice(
                    format!("={}\r\n", format.len() + 1 + text.len()).as_bytes(),
                );
                out.buf.extend_from_slice(&format);
                out.buf.extend_from_slice(b":");
                out.buf.extend_from_slice(&text);
                return out.buf.extend_from_slice(b"\r\n");
            }
            return out.bulk(&text);
        }
    }
    // An array: elements 1, 2, ... up to the first nil.
    let mut items = Vec::new();
    for i in 1.. {
        match t.raw_get::<Value>(i) {
            Ok(Value::Nil) | Err(_) => break,
            Ok(v) => items.push(v),
        }
    }
    out.array(items.len());
    todo.extend(items.into_iter().rev().map(|v| (v, depth + 1)));
}
