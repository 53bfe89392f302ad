//! One key of the keyspace and its access field (LRU clock or LFU data).

use crate::types::{Str, Value};
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

/// One key of the keyspace: its name, value and bookkeeping, 56 bytes
/// (the key and a short string value inline, see [`Str`]). Entries live in
/// their database's slot pages ([`Slots`]), the hash table holds only
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
    /// and an 8-bit logarithmic access counter (see [`crate::exec::evict::lfu`]).
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
    pub fn lfu_freq(&self, now: u64) -> u8 {
        crate::exec::evict::lfu::decr_and_return(self.lru, crate::exec::evict::lfu::minutes(now))
    }

    /// Sets the access data as RESTORE's IDLETIME / FREQ and the RDB's
    /// IDLE / FREQ opcodes do (Redis's `objectSetLRUOrLFU`): under an LFU
    /// policy `freq` if given, otherwise `idle` (seconds) if given.
    pub fn set_idle_or_freq(&mut self, idle: Option<u64>, freq: Option<u8>, now: u64) {
        if crate::exec::evict::lfu::enabled() {
            if let Some(f) = freq {
                self.lru = crate::exec::evict::lfu::fresh(now, f);
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

/// The time (seconds since the epoch) that [`Db::set`] stamps new values
/// with: kept by the accesses that know the time (every lookup and the
/// active expiry cycle), so storing costs no clock reading.
static LRU_CLOCK: AtomicU32 = AtomicU32::new(0);

/// Notes the time `now` (ms) as the clock; returns it in seconds.
pub(super) fn note_clock(now: u64) -> u32 {
    let s = (now / 1000) as u32;
    if LRU_CLOCK.load(Relaxed) != s {
        LRU_CLOCK.store(s, Relaxed);
    }
    s
}

/// The clock, in seconds since the epoch.
pub(super) fn clock_secs() -> u32 {
    match LRU_CLOCK.load(Relaxed) {
        0 => note_clock(crate::util::now_ms()),
        s => s,
    }
}

/// An access to an entry whose field is `lru`, at `secs`: the new field
/// (Redis's `lookupKey`: `updateLFU` or the LRU clock).
pub(super) fn accessed(lru: u32, secs: u32) -> u32 {
    if crate::exec::evict::lfu::enabled() {
        crate::exec::evict::lfu::update(lru, secs as u64 * 1000)
    } else {
        lru_of_secs(secs as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
