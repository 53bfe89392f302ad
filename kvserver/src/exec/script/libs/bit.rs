//! `bit`: LuaBitOp 1.0.2. Numbers are taken modulo 2^32 as LuaBitOp does
//! (adding 2^52 + 2^51 and keeping the low word), results are signed
//! 32-bit.

use super::{arg_error, check_number};
use mlua::{Lua, MultiValue, Table};

fn tobit(n: f64) -> i32 {
    (n + 6_755_399_441_055_744.0).to_bits() as u32 as i32
}

fn arg(lua: &Lua, a: &MultiValue, i: usize, f: &str) -> mlua::Result<i32> {
    Ok(tobit(check_number(lua, a, i, f)?))
}

type Op = fn(i32, i32) -> i32;

pub fn table(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "tobit",
        lua.create_function(|lua, a: MultiValue| Ok(arg(lua, &a, 1, "tobit")? as f64))?,
    )?;
    t.raw_set(
        "bnot",
        lua.create_function(|lua, a: MultiValue| Ok(!arg(lua, &a, 1, "bnot")? as f64))?,
    )?;
    t.raw_set(
        "bswap",
        lua.create_function(
            |lua, a: MultiValue| Ok(arg(lua, &a, 1, "bswap")?.swap_bytes() as f64),
        )?,
    )?;
    let folds: [(&'static str, Op); 3] = [
        ("band", |x, y| x & y),
        ("bor", |x, y| x | y),
        ("bxor", |x, y| x ^ y),
    ];
    for (name, op) in folds {
        t.raw_set(
            name,
            lua.create_function(move |lua, a: MultiValue| {
                let mut acc = arg(lua, &a, 1, name)?;
                for i in 2..=a.len() {
                    acc = op(acc, arg(lua, &a, i, name)?);
                }
                Ok(acc as f64)
            })?,
        )?;
    }
    let shifts: [(&'static str, Op); 5] = [
        ("lshift", |x, n| ((x as u32) << (n & 31)) as i32),
        ("rshift", |x, n| ((x as u32) >> (n & 31)) as i32),
        ("arshift", |x, n| x >> (n & 31)),
        ("rol", |x, n| (x as u32).rotate_left((n & 31) as u32) as i32),
        ("ror", |x, n| {
            (x as u32).rotate_right((n & 31) as u32) as i32
        }),
    ];
    for (name, op) in shifts {
        t.raw_set(
            name,
            lua.create_function(move |lua, a: MultiValue| {
                Ok(op(arg(lua, &a, 1, name)?, arg(lua, &a, 2, name)?) as f64)
            })?,
        )?;
    }
    t.raw_set(
        "tohex",
        lua.create_function(|lua, a: MultiValue| {
            let x = arg(lua, &a, 1, "tohex")? as u32;
            let mut n = if a.len() >= 2 && !a[1].is_nil() {
                arg(lua, &a, 2, "tohex")?
            } else {
                8
            };
            let upper = n < 0;
            if upper {
                n = n
                    .checked_neg()
                    .ok_or_else(|| arg_error(lua, 2, "tohex", "out of range"))?;
            }
            let n = n.min(8) as usize;
            let s = if upper {
                format!("{x:08X}")
            } else {
                format!("{x:08x}")
            };
            Ok(s[8 - n..].to_string())
        })?,
    )?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::tobit;

    #[test]
    fn tobit_wraps_as_luabitop() {
        assert_eq!(tobit(4294967301.0), 5);
        assert_eq!(tobit(-1.0), -1);
        assert_eq!(tobit(2147483648.0), i32::MIN);
    }
}
