//! The settings the keyspace reads on every lookup.

use super::entry::{lfu, lru_of_secs};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering::Relaxed};

/// The settings the keyspace reads on every lookup: how an access is
/// recorded in the entry's access field (the eviction policy's LRU clock
/// or LFU counter), and whether an expired key is deleted when it is met.
/// One instance, owned by the runtime configuration (CONFIG SET changes
/// it) and shared with every database part of the keyspace.
#[derive(Debug)]
pub struct Settings {
    /// maxmemory-policy is an LFU one: the field holds LFU data.
    lfu: AtomicBool,
    /// lfu-log-factor.
    log_factor: AtomicU64,
    /// lfu-decay-time (minutes; 0: never decay).
    decay_time: AtomicU64,
    /// Lookups delete the expired keys they meet (false while the AOF or
    /// an RDB is loaded: the file's own DELs do it, as Redis's loader
    /// expires nothing). No key events are recorded meanwhile either.
    lazy_expiry: AtomicBool,
    /// Keyspace events the keyspace itself records (bit 0: `new`, a key
    /// created; bit 1: `keymiss`, a read lookup that found nothing), as
    /// notify-keyspace-events selects; 0 costs one load on those paths.
    key_events: AtomicU8,
    /// Orders the recorded events across database parts.
    event_seq: AtomicU64,
}

/// [`Settings`]' `key_events` bits.
const NEW: u8 = 1;
const MISS: u8 = 2;

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            lfu: AtomicBool::new(false),
            log_factor: AtomicU64::new(10),
            decay_time: AtomicU64::new(1),
            lazy_expiry: AtomicBool::new(true),
            key_events: AtomicU8::new(0),
            event_seq: AtomicU64::new(0),
        }
    }
}

impl Settings {
    /// Which key events the database parts record (`new`, `keymiss`).
    pub fn set_key_events(&self, new: bool, miss: bool) {
        let bits = if new { NEW } else { 0 } | if miss { MISS } else { 0 };
        self.key_events.store(bits, Relaxed);
    }

    /// Whether a created key is recorded: asked for, and no file is
    /// being loaded (lazy expiry is off exactly then).
    pub(super) fn wants_new(&self) -> bool {
        self.key_events.load(Relaxed) & NEW != 0 && self.lazy_expiry()
    }

    pub(super) fn wants_miss(&self) -> bool {
        self.key_events.load(Relaxed) & MISS != 0 && self.lazy_expiry()
    }

    /// The next event's place in the global order.
    pub(super) fn next_event(&self) -> u64 {
        self.event_seq.fetch_add(1, Relaxed)
    }

    pub fn lazy_expiry(&self) -> bool {
        self.lazy_expiry.load(Relaxed)
    }

    /// Loading a file: no lookup deletes an expired key meanwhile.
    pub fn set_lazy_expiry(&self, on: bool) {
        self.lazy_expiry.store(on, Relaxed);
    }

    pub fn lfu(&self) -> bool {
        self.lfu.load(Relaxed)
    }

    /// maxmemory-policy changed.
    pub fn set_policy(&self, policy: &str) {
        self.lfu.store(policy.ends_with("-lfu"), Relaxed);
    }

    pub fn set_log_factor(&self, f: u64) {
        self.log_factor.store(f, Relaxed);
    }

    pub fn set_decay_time(&self, minutes: u64) {
        self.decay_time.store(minutes, Relaxed);
    }

    /// The access counter in `field` after decay to `now` (ms): Redis's
    /// LFUDecrAndReturn.
    pub fn lfu_decayed(&self, field: u32, now: u64) -> u8 {
        lfu::decay(field, lfu::minutes(now), self.decay_time.load(Relaxed))
    }

    /// An access at `now` (ms) to an entry whose field is `lru`: the new
    /// field (Redis's `lookupKey`: `updateLFU` or the LRU clock). `rng` is
    /// the database part's generator (the LFU increment is random).
    pub(super) fn accessed(&self, lru: u32, now: u64, rng: &mut u64) -> u32 {
        if self.lfu() {
            let counter = self.lfu_decayed(lru, now);
            let r = lfu::uniform(rng);
            let counter = lfu::log_incr(counter, self.log_factor.load(Relaxed), r);
            lfu::fresh(now, counter)
        } else {
            lru_of_secs(now / 1000)
        }
    }

    /// The field of a key created at `now` (ms): the clock, or the initial
    /// LFU counter (Redis's `createObject`).
    pub(super) fn fresh(&self, now: u64) -> u32 {
        if self.lfu() {
            lfu::fresh(now, lfu::INIT_VAL)
        } else {
            lru_of_secs(now / 1000)
        }
    }
}
