//! `struct`: Roberto Ierusalimschy's struct library as Redis embeds it
//! (deps/lua/src/lua_struct.c): `pack(fmt, ...)`, `unpack(fmt, s [,
//! pos])` (the values, then the position after them) and `size(fmt)`.
//! Formats: `<` `>` `=` endianness, `!n` alignment, `x` a zero byte,
//! `b`/`B` `h`/`H` `l`/`L` `T` `i[n]`/`I[n]` integers (lowercase signed),
//! `f` `d` floats, `c[n]` a fixed string (`c0`: its whole length, or in
//! unpack the number before it), `s` a zero-terminated string.

use super::{arg_error, check_number, check_string};
use crate::exec::script::lua_error;
use mlua::{Lua, MultiValue, Table, Value};

const MAXINTSIZE: usize = 32;
const MAXALIGN: usize = 8;

#[derive(Clone, Copy)]
struct Header {
    little: bool,
    align: usize,
}

const DEFAULT: Header = Header {
    little: true,
    align: 1,
};

/// Lua's `getnum`: the digits at `fmt[*i..]`, or `df`.
fn getnum(lua: &Lua, fmt: &[u8], i: &mut usize, df: usize) -> mlua::Result<usize> {
    if !fmt.get(*i).is_some_and(u8::is_ascii_digit) {
        return Ok(df);
    }
    let mut a: usize = 0;
    while let Some(&d) = fmt.get(*i).filter(|c| c.is_ascii_digit()) {
        a = a
            .checked_mul(10)
            .and_then(|a| a.checked_add((d - b'0') as usize))
            .filter(|&a| a <= i32::MAX as usize)
            .ok_or_else(|| lua_error(lua, "integral size overflow"))?;
        *i += 1;
    }
    Ok(a)
}

fn optsize(lua: &Lua, opt: u8, fmt: &[u8], i: &mut usize) -> mlua::Result<usize> {
    Ok(match opt {
        b'B' | b'b' | b'x' => 1,
        b'H' | b'h' => 2,
        b'L' | b'l' | b'T' | b'd' => 8,
        b'f' => 4,
        b'c' => getnum(lua, fmt, i, 1)?,
        b'i' | b'I' => {
            let sz = getnum(lua, fmt, i, 4)?;
            if sz > MAXINTSIZE {
                return Err(lua_error(
                    lua,
                    &format!("integral size {sz} is larger than limit of {MAXINTSIZE}"),
                ));
            }
            sz
        }
        _ => 0,
    })
}

fn gettoalign(len: usize, h: &Header, opt: u8, size: usize) -> usize {
    if size == 0 || opt == b'c' {
        return 0;
    }
    let size = size.min(h.align);
    (size - (len & (size - 1))) & (size - 1)
}

fn control(
    lua: &Lua,
    opt: u8,
    fmt: &[u8],
    i: &mut usize,
    h: &mut Header,
    f: &str,
) -> mlua::Result<()> {
    match opt {
        b' ' => {}
        b'>' => h.little = false,
        b'<' | b'=' => h.little = true,
        b'!' => {
            let a = getnum(lua, fmt, i, MAXALIGN)?;
            if !a.is_power_of_two() {
                return Err(lua_error(
                    lua,
                    &format!("alignment {a} is not a power of 2"),
                ));
            }
            h.align = a;
        }
        c => {
            return Err(arg_error(
                lua,
                1,
                f,
                &format!("invalid format option '{}'", c as char),
            ))
        }
    }
    Ok(())
}

fn put_int(n: f64, little: bool, size: usize, out: &mut Vec<u8>) {
    let mut v: u64 = if n < 0.0 { n as i64 as u64 } else { n as u64 };
    let mut b = vec![0u8; size];
    for k in 0..size {
        let at = if little { k } else { size - 1 - k };
        b[at] = (v & 0xff) as u8;
        v = v.checked_shr(8).unwrap_or(0);
    }
    out.extend_from_slice(&b);
}

/// A float (`single`: as C's float) in the header's byte order.
fn put_float(f: f64, single: bool, little: bool, out: &mut Vec<u8>) {
    let mut b = if single {
        (f as f32).to_be_bytes().to_vec()
    } else {
        f.to_be_bytes().to_vec()
    };
    if little {
        b.reverse();
    }
    out.extend_from_slice(&b);
}

fn get_int(b: &[u8], little: bool, signed: bool) -> f64 {
    let mut l: u64 = 0;
    let bytes: Box<dyn Iterator<Item = &u8>> = if little {
        Box::new(b.iter().rev())
    } else {
        Box::new(b.iter())
    };
    for &x in bytes {
        l = l.checked_shl(8).unwrap_or(0) | x as u64;
    }
    if !signed {
        return l as f64;
    }
    let mask = u64::MAX
        .checked_shl((b.len() * 8).saturating_sub(1) as u32)
        .unwrap_or(0);
    if l & mask != 0 {
        l |= mask;
    }
    l as i64 as f64
}

fn pack(lua: &Lua, a: MultiValue) -> mlua::Result<mlua::String> {
    let args = &a;
    let fmt = check_string(lua, args, 1, "pack")?;
    let mut h = DEFAULT;
    let mut arg = 2;
    let mut total = 0usize;
    let mut out = Vec::new();
    let mut i = 0;
    while i < fmt.len() {
        let opt = fmt[i];
        i += 1;
        let mut size = optsize(lua, opt, &fmt, &mut i)?;
        let pad = gettoalign(total, &h, opt, size);
        total += pad;
        out.resize(out.len() + pad, 0);
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let n = check_number(lua, args, arg, "pack")?;
                arg += 1;
                put_int(n, h.little, size, &mut out);
            }
            b'x' => out.push(0),
            b'f' | b'd' => {
                let f = check_number(lua, args, arg, "pack")?;
                arg += 1;
                put_float(f, opt == b'f', h.little, &mut out);
            }
            b'c' | b's' => {
                let s = check_string(lua, args, arg, "pack")?;
                arg += 1;
                if size == 0 {
                    size = s.len();
                }
                if s.len() < size {
                    return Err(arg_error(lua, arg, "pack", "string too short"));
                }
                out.extend_from_slice(&s[..size]);
                if opt == b's' {
                    out.push(0);
                    size += 1;
                }
            }
            _ => control(lua, opt, &fmt, &mut i, &mut h, "pack")?,
        }
        total += size;
    }
    lua.create_string(&out)
}

fn unpack(lua: &Lua, a: MultiValue) -> mlua::Result<MultiValue> {
    let args = &a;
    let fmt = check_string(lua, args, 1, "unpack")?;
    let data = check_string(lua, args, 2, "unpack")?;
    let ld = data.len();
    let start = match args.get(2) {
        None | Some(Value::Nil) => 1.0,
        Some(_) => check_number(lua, args, 3, "unpack")?,
    };
    if start < 1.0 {
        return Err(arg_error(lua, 3, "unpack", "offset must be 1 or greater"));
    }
    let mut pos = start as usize - 1;
    let mut h = DEFAULT;
    let mut vals: Vec<Value> = Vec::new();
    let short = || arg_error(lua, 2, "unpack", "data string too short");
    let mut i = 0;
    while i < fmt.len() {
        let opt = fmt[i];
        i += 1;
        let mut size = optsize(lua, opt, &fmt, &mut i)?;
        pos += gettoalign(pos, &h, opt, size);
        if size > ld || pos > ld - size {
            return Err(short());
        }
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let signed = opt.is_ascii_lowercase();
                vals.push(Value::Number(get_int(
                    &data[pos..pos + size],
                    h.little,
                    signed,
                )));
            }
            b'x' => {}
            b'f' => {
                let b: [u8; 4] = data[pos..pos + 4].try_into().unwrap_or_default();
                let f = if h.little {
                    f32::from_le_bytes(b)
                } else {
                    f32::from_be_bytes(b)
                };
                vals.push(Value::Number(f as f64));
            }
            b'd' => {
                let b: [u8; 8] = data[pos..pos + 8].try_into().unwrap_or_default();
                let f = if h.little {
                    f64::from_le_bytes(b)
                } else {
                    f64::from_be_bytes(b)
                };
                vals.push(Value::Number(f));
            }
            b'c' => {
                if size == 0 {
                    size = match vals.pop() {
                        Some(Value::Number(n)) if n >= 0.0 => n as usize,
                        Some(Value::Integer(n)) if n >= 0 => n as usize,
                        _ => return Err(lua_error(lua, "format 'c0' needs a previous size")),
                    };
                    if size > ld || pos > ld - size {
                        return Err(short());
                    }
                }
                vals.push(Value::String(lua.create_string(&data[pos..pos + size])?));
            }
            b's' => {
                let Some(n) = data[pos..].iter().position(|&c| c == 0) else {
                    return Err(lua_error(lua, "unfinished string in data"));
                };
                vals.push(Value::String(lua.create_string(&data[pos..pos + n])?));
                size = n + 1;
            }
            _ => control(lua, opt, &fmt, &mut i, &mut h, "unpack")?,
        }
        pos += size;
    }
    vals.push(Value::Integer(pos as i64 + 1));
    Ok(vals.into_iter().collect())
}

fn size(lua: &Lua, a: MultiValue) -> mlua::Result<i64> {
    let fmt = check_string(lua, &a, 1, "size")?;
    let mut h = DEFAULT;
    let mut pos = 0usize;
    let mut i = 0;
    while i < fmt.len() {
        let opt = fmt[i];
        i += 1;
        let size = optsize(lua, opt, &fmt, &mut i)?;
        pos += gettoalign(pos, &h, opt, size);
        if opt == b's' {
            return Err(arg_error(lua, 1, "size", "option 's' has no fixed size"));
        } else if opt == b'c' && size == 0 {
            return Err(arg_error(lua, 1, "size", "option 'c0' has no fixed size"));
        }
        if !opt.is_ascii_alphanumeric() {
            control(lua, opt, &fmt, &mut i, &mut h, "size")?;
        }
        pos += size;
    }
    Ok(pos as i64)
}

pub fn table(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("pack", lua.create_function(pack)?)?;
    t.raw_set("unpack", lua.create_function(unpack)?)?;
    t.raw_set("size", lua.create_function(size)?)?;
    Ok(t)
}
