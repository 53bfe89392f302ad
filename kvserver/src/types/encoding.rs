//! Redis's encoding thresholds (`hash-max-listpack-entries` and the
//! others), which decide what OBJECT ENCODING reports and the behaviour
//! that goes with a compact encoding (a small hash keeps its insertion
//! order on delete, a listpack sorted set stores integral scores as
//! integers, an intset lists its members sorted). The data structure here
//! is the same either way.
//!
//! Process-wide, as Redis's `server.*_max_*` are: CONFIG SET changes them
//! for the conversions that follow (a value already converted stays so, as
//! in Redis). Read with relaxed loads on inserts: a threshold changed
//! while a command runs takes effect at some point during it, as it may in
//! Redis between two commands.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// Redis 7.0's built-in defaults.
pub const HASH_MAX_LISTPACK_ENTRIES: usize = 512;
pub const HASH_MAX_LISTPACK_VALUE: usize = 64;
pub const SET_MAX_INTSET_ENTRIES: usize = 512;
pub const ZSET_MAX_LISTPACK_ENTRIES: usize = 128;
pub const ZSET_MAX_LISTPACK_VALUE: usize = 64;

static HASH_ENTRIES: AtomicUsize = AtomicUsize::new(HASH_MAX_LISTPACK_ENTRIES);
static HASH_VALUE: AtomicUsize = AtomicUsize::new(HASH_MAX_LISTPACK_VALUE);
static SET_ENTRIES: AtomicUsize = AtomicUsize::new(SET_MAX_INTSET_ENTRIES);
static ZSET_ENTRIES: AtomicUsize = AtomicUsize::new(ZSET_MAX_LISTPACK_ENTRIES);
static ZSET_VALUE: AtomicUsize = AtomicUsize::new(ZSET_MAX_LISTPACK_VALUE);

/// The thresholds by parameter name (the configuration's names, new or
/// old); false if `name` is not one.
pub fn set(name: &str, v: usize) -> bool {
    let cell = match name {
        "hash-max-listpack-entries" | "hash-max-ziplist-entries" => &HASH_ENTRIES,
        "hash-max-listpack-value" | "hash-max-ziplist-value" => &HASH_VALUE,
        "set-max-intset-entries" => &SET_ENTRIES,
        "zset-max-listpack-entries" | "zset-max-ziplist-entries" => &ZSET_ENTRIES,
        "zset-max-listpack-value" | "zset-max-ziplist-value" => &ZSET_VALUE,
        _ => return false,
    };
    cell.store(v, Relaxed);
    true
}

/// The most fields a listpack hash holds.
pub fn hash_max_entries() -> usize {
    HASH_ENTRIES.load(Relaxed)
}

/// The longest field or value a listpack hash holds.
pub fn hash_max_value() -> usize {
    HASH_VALUE.load(Relaxed)
}

/// The most members an intset holds.
pub fn set_max_intset_entries() -> usize {
    SET_ENTRIES.load(Relaxed)
}

/// The most members a listpack sorted set holds.
pub fn zset_max_entries() -> usize {
    ZSET_ENTRIES.load(Relaxed)
}

/// The longest member a listpack sorted set holds.
pub fn zset_max_value() -> usize {
    ZSET_VALUE.load(Relaxed)
}
