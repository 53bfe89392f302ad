//! `math.random` as Redis 7.0 replaces it: its own rand48 (deps/lua's
//! `redisLrand48`), one generator for the whole server, seeded with
//! rand48's default (`0x1234ABCD330E`) at start and reseeded only by
//! `math.randomseed`. Redis 7.0.15 does *not* reseed it per script (the
//! first `math.random(1000)` of a fresh server is 397, the next script's
//! 841): with effects replication the sequence no longer needs to be the
//! same on a replica. Scripts run one at a time, so the order of draws is
//! the execution order, as in Redis.

use std::sync::atomic::{AtomicU64, Ordering};

const MASK: u64 = (1 << 48) - 1;
const A: u64 = 0x5_DEEC_E66D;
const C: u64 = 0xB;
/// `REDIS_LRAND48_MAX`.
const LRAND48_MAX: f64 = i32::MAX as f64;

static STATE: AtomicU64 = AtomicU64::new(0x1234_ABCD_330E);

fn step(x: u64) -> u64 {
    (A.wrapping_mul(x).wrapping_add(C)) & MASK
}

/// `redisLrand48`: the next 31-bit value.
pub fn lrand48() -> i32 {
    let prev = STATE
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |x| Some(step(x)))
        .unwrap_or_else(|x| x);
    (step(prev) >> 17) as i32
}

/// `redisSrand48`: the seed's 32 bits above rand48's constant low word.
pub fn srand48(seed: i32) {
    STATE.store(
        ((seed as u32 as u64) << 16 | 0x330E) & MASK,
        Ordering::Relaxed,
    );
}

/// Lua 5.1's `math.random` over this generator: no argument, a real in
/// [0, 1); `m`, an integer in [1, m]; `m, n`, one in [m, n]. `Err` is the
/// argument error Lua would raise.
pub fn random(args: &[f64]) -> Result<f64, String> {
    let r = (lrand48() as f64 % LRAND48_MAX) / LRAND48_MAX;
    match *args {
        [] => Ok(r),
        [u] => {
            let u = u as i32 as f64;
            if u < 1.0 {
                return Err("bad argument #1 to 'random' (interval is empty)".into());
            }
            Ok((r * u).floor() + 1.0)
        }
        [l, u] => {
            let (l, u) = (l as i32 as f64, u as i32 as f64);
            if l > u {
                return Err("bad argument #2 to 'random' (interval is empty)".into());
            }
            Ok((r * (u - l + 1.0)).floor() + l)
        }
        _ => Err("wrong number of arguments".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The values redis-server 7.0.15 gives: `math.random(1000)` twice on
    /// a fresh server is 397 then 841; after `math.randomseed(7)`, 267 and
    /// 683. (One test: the generator is global.)
    #[test]
    fn same_sequence_as_redis() {
        STATE.store(0x1234_ABCD_330E, Ordering::Relaxed);
        assert_eq!(random(&[1000.0]), Ok(397.0));
        assert_eq!(random(&[1000.0]), Ok(841.0));
        srand48(7);
        assert_eq!(random(&[1000.0]), Ok(267.0));
        assert_eq!(random(&[1000.0]), Ok(683.0));
        assert!(random(&[0.0]).is_err());
    }
}
