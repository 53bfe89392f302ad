//! One key of the keyspace and its access field (LRU clock or LFU data).

use super::settings::Settings;
use crate::types::{Str, Value};

/// One key of the keyspace: its name, value and bookkeeping, 56 bytes
/// (the key and a short string value inline, see [`Str`]). Entries live in
/// their database's slot pages (`store.rs`), the hash table holds only
/// their 4-byte slot numbers, and deadlines live in a side table, as
/// Redis's `expires` dict: a key without a TTL pays nothing for it.
#[derive(Debug)]
pub struct Entry {
    pub(super) key: Str,
    pub value: Value,
    /// Redis's `robj.lru`, 24 bits read by the eviction policy of the
    /// moment: under an LRU (or no) policy the last access, in seconds
    /// since the epoch mod 2^24 (Redis's LRU clock, OBJECT IDLETIME);
    /// under an LFU policy the last decrement time (16 bits of minutes)
    /// and an 8-bit logarithmic access counter (see [`lfu`]).
    /// A policy switch just reinterprets it, as in Redis.
    pub(super) lru: u32,
    /// Whether `Db::expires` has a deadline for this slot.
    pub(super) ttl: bool,
}

impl Entry {
    /// Seconds since the last access (OBJECT IDLETIME), on the wrapping
    /// 24-bit clock (Redis's `estimateObjectIdleTime`).
    pub fn idle_secs(&self, now: u64) -> u64 {
        let clock = lru_of_secs(now / 1000) as u64;
        let lru = (self.lru & LRU_CLOCK_MAX) as u64;
        if clock >= lru {
            clock - lru
        } else {
            clock + (LRU_CLOCK_MAX as u64 - lru)
        }
    }

    /// The access counter after decay (OBJECT FREQ, LFU eviction): the
    /// field read as LFU data whatever the policy.
    pub fn lfu_freq(&self, now: u64, settings: &Settings) -> u8 {
        settings.lfu_decayed(self.lru, now)
    }

    /// Sets the access data as RESTORE's IDLETIME / FREQ and the RDB's
    /// IDLE / FREQ opcodes do (Redis's `objectSetLRUOrLFU`): under an LFU
    /// policy `freq` if given, otherwise `idle` (seconds) if given.
    pub fn set_idle_or_freq(
        &mut self,
        idle: Option<u64>,
        freq: Option<u8>,
        now: u64,
        settings: &Settings,
    ) {
        if settings.lfu() {
            if let Some(f) = freq {
                self.lru = lfu::fresh(now, f);
            }
        } else if let Some(idle) = idle {
            let clock = lru_of_secs(now / 1000) as u64;
            self.lru = if idle <= clock {
                (clock - idle) as u32
            } else {
                // Underflow: half-way round the clock, so the idle time
                // stays high for a while (Redis's choice).
                ((clock + LRU_CLOCK_MAX as u64 / 2) % LRU_CLOCK_MAX as u64) as u32
            };
        }
    }
}

/// The LRU clock's range (Redis's LRU_CLOCK_MAX, 24 bits).
const LRU_CLOCK_MAX: u32 = (1 << 24) - 1;

/// The LRU clock value of a time in seconds.
pub(super) fn lru_of_secs(s: u64) -> u32 {
    (s & LRU_CLOCK_MAX as u64) as u32
}

/// Redis's LFU (evict.c): under an LFU policy an entry's 24-bit access
/// field is `ldt << 8 | counter`: `ldt` the last decrement time in minutes
/// (16 bits, wrapping), `counter` a logarithmic access counter (8 bits).
/// An access decays the counter by one per `lfu-decay-time` minutes since
/// `ldt`, then increments it with probability `1 / ((counter - 5) *
/// lfu-log-factor + 1)`; a new key starts at `INIT_VAL` so it is not
/// evicted before it had a chance to be read.
pub mod lfu {
    /// A new key's counter (Redis's LFU_INIT_VAL).
    pub const INIT_VAL: u8 = 5;

    /// The time in minutes, 16 bits (Redis's LFUGetTimeInMinutes).
    pub fn minutes(now_ms: u64) -> u16 {
        ((now_ms / 60_000) & 0xFFFF) as u16
    }

    /// Minutes from `ldt` to `now`, on the wrapping 16-bit clock (Redis's
    /// LFUTimeElapsed, its off-by-one at the wrap included).
    fn elapsed(ldt: u16, now: u16) -> u64 {
        if now >= ldt {
            (now - ldt) as u64
        } else {
            65535 - ldt as u64 + now as u64
        }
    }

    /// The counter of `field` decayed to `now` (minutes) by `decay_time`.
    pub fn decay(field: u32, now: u16, decay_time: u64) -> u8 {
        let ldt = ((field >> 8) & 0xFFFF) as u16;
        let counter = (field & 255) as u8;
        let periods = match decay_time {
            0 => 0,
            d => elapsed(ldt, now) / d,
        };
        counter.saturating_sub(periods.min(255) as u8)
    }

    /// One access's increment of `counter` given a uniform `r` in [0, 1)
    /// (Redis's LFULogIncr).
    pub fn log_incr(counter: u8, log_factor: u64, r: f64) -> u8 {
        if counter == 255 {
            return 255;
        }
        let base = (counter as f64 - INIT_VAL as f64).max(0.0);
        let p = 1.0 / (base * log_factor as f64 + 1.0);
        if r < p {
            counter + 1
        } else {
            counter
        }
    }

    /// The field for `counter` with `ldt` = now.
    pub fn fresh(now_ms: u64, counter: u8) -> u32 {
        (minutes(now_ms) as u32) << 8 | counter as u32
    }

    /// Uniform in [0, 1), from a xorshift generator's `state` (never 0).
    pub fn uniform(state: &mut u64) -> f64 {
        let mut x = match *state {
            0 => 0x9e37_79b9_7f4a_7c15,
            s => s,
        };
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        *state = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::Rng;

    /// `n` accesses from a new key's counter, within one minute.
    fn accesses(n: usize, factor: u64, rng: &mut Rng) -> u8 {
        (0..n).fold(lfu::INIT_VAL, |c, _| {
            lfu::log_incr(c, factor, (rng.next() >> 11) as f64 / (1u64 << 53) as f64)
        })
    }

    #[test]
    fn lfu_counter_is_logarithmic() {
        let mut rng = Rng::new(42);
        // The first access past the initial value always counts.
        assert_eq!(lfu::log_incr(lfu::INIT_VAL, 10, 0.999), 6);
        assert_eq!(lfu::log_incr(0, 10, 0.999), 1);
        // Then less and less often: with factor 10, Redis's table says
        // about 10 after 100 hits, 18 after 1000, 142 after 100K.
        let c100 = accesses(100, 10, &mut rng);
        assert!((7..=14).contains(&c100), "{c100}");
        let c1000 = accesses(1000, 10, &mut rng);
        assert!((14..=23).contains(&c1000), "{c1000}");
        assert!(c1000 > c100);
        let c100k = accesses(100_000, 10, &mut rng);
        assert!((120..=165).contains(&c100k), "{c100k}");
        // Factor 0: every access counts, up to the 255 ceiling.
        assert_eq!(accesses(100, 0, &mut rng), 105);
        assert_eq!(accesses(1000, 0, &mut rng), 255);
        assert_eq!(lfu::log_incr(255, 0, 0.0), 255);
    }

    #[test]
    fn lfu_counter_decays_per_minute() {
        let field = |ldt: u16, c: u8| (ldt as u32) << 8 | c as u32;
        assert_eq!(lfu::decay(field(100, 20), 100, 1), 20);
        assert_eq!(lfu::decay(field(100, 20), 101, 1), 19);
        assert_eq!(lfu::decay(field(100, 20), 107, 1), 13);
        // lfu-decay-time 2: one per two minutes; 0: no decay.
        assert_eq!(lfu::decay(field(100, 20), 107, 2), 17);
        assert_eq!(lfu::decay(field(100, 20), 60_000, 0), 20);
        // Never below zero.
        assert_eq!(lfu::decay(field(100, 20), 200, 1), 0);
        // The 16-bit minute clock wraps (Redis's arithmetic: 65535 - ldt + now).
        assert_eq!(lfu::decay(field(65_530, 20), 3, 1), 12);
        // Bits above the 24 (an LRU clock read as LFU data) are ignored.
        assert_eq!(lfu::decay(0xFF00_0000 | field(100, 20), 101, 1), 19);
        // Minutes of a time in ms, 16 bits.
        assert_eq!(lfu::minutes(60_000 * 65_537 + 59_999), 1);
        assert_eq!(lfu::fresh(120_000, 5), field(2, 5));
    }

    #[test]
    fn values_and_entries_stay_small() {
        // A tripwire for memory per key (the keyspace holds one Entry per
        // key, plus 4 bytes of table per bucket). Collections are boxed and
        // a string is a Str (22 bytes inline or a box), whose tag has room
        // for Value's: 24 bytes. Entry: key and value (24 each), the LRU
        // clock and the TTL flag.
        assert_eq!(std::mem::size_of::<Str>(), 24);
        assert_eq!(std::mem::size_of::<Value>(), 24);
        assert_eq!(std::mem::size_of::<Entry>(), 56);
        assert_eq!(std::mem::size_of::<Option<Entry>>(), 56);
    }
}
