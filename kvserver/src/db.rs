//! The keyspace: 16 (configurable) databases, split into shards, each shard
//! a `Mutex` holding its part of every database.
//!
//! ```text
//! Keyspace
//!   shards[0..S]  (S a power of two, shard = hash(key) & (S-1))
//!     Mutex<Shard>
//!       dbs[0..16]: Db { map: key -> Entry { value, expire_at }, expiring: [key] }
//! ```
//!
//! A command locks exactly the shards its keys hash to, in ascending shard
//! order, runs, and unlocks ([`Keyspace::lock`] → [`Locked`]). Every thread
//! takes locks in the same global order, so two commands can never wait on
//! each other in a cycle (no deadlock), and a command that holds all its
//! shards sees and changes its keys atomically, whatever shards they are on.
//!
//! Expiry: `expire_at` (ms since the epoch, 0 = none) is checked on every
//! access (lazy expiry) and an active cycle samples keys with a deadline
//! ([`Keyspace::active_expire`]), as Redis does. `expiring` lists exactly the
//! keys with a deadline, so sampling is O(1) per key.

use crate::util::Rng;
use bytes::Bytes;
use hashbrown::HashMap;
use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

/// The hasher of the collections inside values (hashbrown's fast default).
pub type Hasher = hashbrown::DefaultHashBuilder;

/// Redis 7.0's encoding thresholds (redis.conf defaults). They only decide
/// what OBJECT ENCODING reports (and whether HSCAN/SSCAN answer in one
/// call, as Redis does for its compact encodings): the data structure here
/// is the same either way.
pub const HASH_MAX_LISTPACK_ENTRIES: usize = 128;
pub const HASH_MAX_LISTPACK_VALUE: usize = 64;
pub const SET_MAX_INTSET_ENTRIES: usize = 512;
/// Strings up to this length are `embstr` (one allocation with the object).
pub const EMBSTR_MAX: usize = 44;

/// A hash: an insertion-ordered map (so a small hash lists its fields in
/// the order Redis's listpack would, until a delete; and random fields and
/// HSCAN positions are O(1) by index).
#[derive(Debug, Clone, Default)]
pub struct HashObj {
    pub map: indexmap::IndexMap<Bytes, Bytes, Hasher>,
    /// Redis converted it to a hashtable (too many or too long fields).
    /// Sticky: Redis never converts back.
    pub big: bool,
}

impl HashObj {
    /// Sets `field`; true if it is new.
    pub fn insert(&mut self, field: &[u8], value: Bytes) -> bool {
        if field.len() > HASH_MAX_LISTPACK_VALUE || value.len() > HASH_MAX_LISTPACK_VALUE {
            self.big = true;
        }
        let new = match self.map.get_mut(field) {
            Some(v) => {
                *v = value;
                false
            }
            None => {
                self.map.insert(Bytes::copy_from_slice(field), value);
                true
            }
        };
        if self.map.len() > HASH_MAX_LISTPACK_ENTRIES {
            self.big = true;
        }
        new
    }

    /// Removes `field`; true if it was there. A small hash keeps its order
    /// (as a listpack does); a big one swaps the last entry in (O(1)).
    pub fn remove(&mut self, field: &[u8]) -> bool {
        if self.big {
            self.map.swap_remove(field).is_some()
        } else {
            self.map.shift_remove(field).is_some()
        }
    }

    pub fn encoding(&self) -> &'static str {
        if self.big {
            "hashtable"
        } else {
            "listpack"
        }
    }
}

/// A set, insertion-ordered for O(1) random members and index cursors.
#[derive(Debug, Clone, Default)]
pub struct SetObj {
    pub set: indexmap::IndexSet<Bytes, Hasher>,
    /// Not an intset any more (a non-integer member, or too many): sticky,
    /// as in Redis 7.0 (which has no listpack sets yet).
    pub big: bool,
}

impl SetObj {
    /// Adds `m`; true if it is new.
    pub fn insert(&mut self, m: &[u8]) -> bool {
        if self.set.contains(m) {
            return false;
        }
        if !self.big && crate::util::parse_i64(m).is_none() {
            self.big = true;
        }
        self.set.insert(Bytes::copy_from_slice(m));
        if self.set.len() > SET_MAX_INTSET_ENTRIES {
            self.big = true;
        }
        true
    }

    /// Adds an owned member (no copy).
    pub fn insert_bytes(&mut self, m: Bytes) -> bool {
        if self.set.contains(&m) {
            return false;
        }
        if !self.big && crate::util::parse_i64(&m).is_none() {
            self.big = true;
        }
        self.set.insert(m);
        if self.set.len() > SET_MAX_INTSET_ENTRIES {
            self.big = true;
        }
        true
    }

    /// Removes `m` (swapping the last member in: O(1)); true if it was there.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        self.set.swap_remove(m)
    }

    pub fn encoding(&self) -> &'static str {
        if self.big {
            "hashtable"
        } else {
            "intset"
        }
    }
}

/// A value: one variant per Redis type, each type's commands in its own
/// `t_*.rs` file. Collections are boxed so a `Value` is a string plus its
/// tag (40 bytes), not the size of the largest collection header (the
/// keyspace holds one per key).
#[derive(Debug, Clone)]
// Boxing a VecDeque (4 words) keeps Value at a string plus its tag.
#[allow(clippy::box_collection)]
pub enum Value {
    String(Bytes),
    List(Box<VecDeque<Bytes>>),
    Hash(Box<HashObj>),
    Set(Box<SetObj>),
    ZSet(Box<crate::sorted_set::ZSetObj>),
    Stream(Box<crate::stream::Stream>),
}

/// A command met a key of another type (the caller replies WRONGTYPE).
#[derive(Debug)]
pub struct WrongType;

impl Value {
    /// The string, if this is one (None for the other types: the caller
    /// replies WRONGTYPE).
    pub fn as_str(&self) -> Option<&Bytes> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_list(&mut self) -> Option<&mut VecDeque<Bytes>> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    pub fn as_hash(&mut self) -> Option<&mut HashObj> {
        match self {
            Value::Hash(h) => Some(h),
            _ => None,
        }
    }

    pub fn as_set(&mut self) -> Option<&mut SetObj> {
        match self {
            Value::Set(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_zset(&mut self) -> Option<&mut crate::sorted_set::ZSetObj> {
        match self {
            Value::ZSet(z) => Some(z),
            _ => None,
        }
    }

    pub fn as_stream(&mut self) -> Option<&mut crate::stream::Stream> {
        match self {
            Value::Stream(s) => Some(s),
            _ => None,
        }
    }

    /// The name TYPE reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            Value::Stream(_) => "stream",
        }
    }

    /// What OBJECT ENCODING reports, by Redis 7.0's rules: strings are
    /// `int` (an integer string2ll accepts), `embstr` (up to 44 bytes) or
    /// `raw`; lists are always `quicklist` in 7.0; hashes `listpack` until
    /// 128 fields or a 64-byte field/value; sets `intset` while all members
    /// are integers and at most 512.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::String(s) => {
                if s.len() <= 20 && crate::util::parse_i64(s).is_some() {
                    "int"
                } else if s.len() <= EMBSTR_MAX {
                    "embstr"
                } else {
                    "raw"
                }
            }
            Value::List(_) => "quicklist",
            Value::Hash(h) => h.encoding(),
            Value::Set(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
            Value::Stream(_) => "stream",
        }
    }
}

#[derive(Debug)]
pub struct Entry {
    pub value: Value,
    /// Deadline in ms since the epoch; 0 = no expiry.
    expire_at: u64,
    /// Index in `Db::expiring` when `expire_at != 0`.
    exp_idx: u32,
    /// Last access, in seconds since the epoch (OBJECT IDLETIME). Fits in
    /// what would otherwise be padding.
    lru: u32,
}

impl Entry {
    pub fn expire_at(&self) -> Option<u64> {
        (self.expire_at != 0).then_some(self.expire_at)
    }

    /// Seconds since the last access (OBJECT IDLETIME).
    pub fn idle_secs(&self, now: u64) -> u64 {
        (now / 1000).saturating_sub(self.lru as u64)
    }
}

/// One database's part of one shard.
#[derive(Debug, Default)]
pub struct Db {
    map: HashMap<Bytes, Entry>,
    /// The keys that have a deadline (for sampling in the active cycle).
    expiring: Vec<Bytes>,
    /// This database's number (the AOF's DEL of an expired key says
    /// where it was); stays put when SWAPDB swaps contents.
    index: usize,
    /// The keys some client WATCHes: how many clients, and a version bumped
    /// on every modification of the key (write command, set, delete,
    /// expiry, flush). Only watched keys are tracked, as Redis's
    /// `watched_keys`, so unwatched writes pay one `is_empty` check.
    watched: HashMap<Bytes, WatchSlot>,
}

/// A watched key's watcher count and modification version.
#[derive(Debug, Default)]
struct WatchSlot {
    refs: u32,
    version: u64,
}

/// Redis: a key is logically gone once the clock is past its deadline.
fn expired(e: &Entry, now: u64) -> bool {
    e.expire_at != 0 && now > e.expire_at
}

impl Db {
    /// Records a modification of `key` (WATCH). Called by [`Db::set`],
    /// [`Db::remove`] (so deletes and expiry count) and by the dispatcher
    /// after every write command for each of its keys.
    pub fn touch(&mut self, key: &[u8]) {
        if self.watched.is_empty() {
            return;
        }
        if let Some(w) = self.watched.get_mut(key) {
            w.version += 1;
        }
    }

    /// Starts tracking `key` for one more watcher; returns its version.
    pub fn watch(&mut self, key: &[u8]) -> u64 {
        if !self.watched.contains_key(key) {
            self.watched
                .insert(Bytes::copy_from_slice(key), WatchSlot::default());
        }
        let w = self.watched.get_mut(key).expect("just inserted");
        w.refs += 1;
        w.version
    }

    /// The current version of a watched key.
    pub fn watch_version(&self, key: &[u8]) -> u64 {
        self.watched.get(key).map_or(u64::MAX, |w| w.version)
    }

    /// One watcher fewer for `key`.
    pub fn unwatch(&mut self, key: &[u8]) {
        if let Some(w) = self.watched.get_mut(key) {
            w.refs -= 1;
            if w.refs == 0 {
                self.watched.remove(key);
            }
        }
    }

    /// Bumps every watched key (SWAPDB: the whole database changed).
    pub fn touch_all_watched(&mut self) {
        self.watched.values_mut().for_each(|w| w.version += 1);
    }

    /// SWAPDB: swaps the contents of two databases but not their watchers
    /// (a WATCH is on a key of a database number), and marks every watched
    /// key of both as modified.
    pub fn swap_contents(a: &mut Db, b: &mut Db) {
        std::mem::swap(&mut a.map, &mut b.map);
        std::mem::swap(&mut a.expiring, &mut b.expiring);
        a.touch_all_watched();
        b.touch_all_watched();
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn expires_len(&self) -> usize {
        self.expiring.len()
    }

    /// The live entry of `key`, deleting it first if it has expired.
    pub fn get(&mut self, key: &[u8], now: u64) -> Option<&mut Entry> {
        if self.map.get(key).is_some_and(|e| expired(e, now)) {
            self.expire_key(key);
            return None;
        }
        let e = self.map.get_mut(key)?;
        e.lru = (now / 1000) as u32;
        Some(e)
    }

    /// [`Db::get`] without counting as an access (OBJECT, SCAN's TYPE).
    pub fn peek(&mut self, key: &[u8], now: u64) -> Option<&Entry> {
        if self.map.get(key).is_some_and(|e| expired(e, now)) {
            self.expire_key(key);
            return None;
        }
        self.map.get(key)
    }

    /// The value at `key` as one type (`pick`: `Value::as_hash`...):
    /// `Ok(None)` if there is no key, `Err(WrongType)` if it holds another
    /// type. With `new`, a missing key is first created empty (only for
    /// commands certain to add to it, so no empty collection is left).
    pub fn typed<T: ?Sized>(
        &mut self,
        key: &[u8],
        now: u64,
        new: Option<fn() -> Value>,
        pick: fn(&mut Value) -> Option<&mut T>,
    ) -> Result<Option<&mut T>, WrongType> {
        if let Some(new) = new {
            if !self.contains(key, now) {
                self.set(key, new(), None);
            }
        }
        match self.get(key, now) {
            None => Ok(None),
            Some(e) => pick(&mut e.value).map(Some).ok_or(WrongType),
        }
    }

    pub fn contains(&mut self, key: &[u8], now: u64) -> bool {
        self.get(key, now).is_some()
    }

    /// Sets `key` to `value` with `expire_at` (None: no expiry), replacing
    /// any old value and deadline.
    pub fn set(&mut self, key: &[u8], value: Value, expire_at: Option<u64>) {
        let lru = (crate::util::now_ms() / 1000) as u32;
        self.touch(key);
        if let Some(e) = self.map.get_mut(key) {
            e.value = value;
            e.lru = lru;
            self.set_expire_of_existing(key, expire_at);
            return;
        }
        let key = Bytes::copy_from_slice(key);
        let mut e = Entry {
            value,
            expire_at: 0,
            exp_idx: 0,
            lru,
        };
        if let Some(at) = expire_at {
            e.expire_at = at;
            e.exp_idx = self.expiring.len() as u32;
            self.expiring.push(key.clone());
        }
        self.map.insert(key, e);
    }

    /// Replaces the value of an existing key, keeping its deadline (or sets
    /// a new key without one).
    pub fn set_keep_ttl(&mut self, key: &[u8], value: Value) {
        match self.map.get_mut(key) {
            Some(e) => e.value = value,
            None => self.set(key, value, None),
        }
    }

    /// Sets or clears the deadline of an existing key. Returns false if the
    /// key does not exist.
    pub fn set_expire(&mut self, key: &[u8], expire_at: Option<u64>) -> bool {
        if !self.map.contains_key(key) {
            return false;
        }
        self.set_expire_of_existing(key, expire_at);
        true
    }

    fn set_expire_of_existing(&mut self, key: &[u8], expire_at: Option<u64>) {
        let Some(e) = self.map.get_mut(key) else {
            return;
        };
        match (e.expire_at != 0, expire_at) {
            (true, Some(at)) => e.expire_at = at,
            (false, Some(at)) => {
                e.expire_at = at;
                e.exp_idx = self.expiring.len() as u32;
                let k = self
                    .map
                    .get_key_value(key)
                    .map(|(k, _)| k.clone())
                    .unwrap_or_else(|| Bytes::copy_from_slice(key));
                self.expiring.push(k);
            }
            (true, None) => {
                let idx = e.exp_idx;
                e.expire_at = 0;
                self.untrack(idx);
            }
            (false, None) => {}
        }
    }

    /// Removes `idx` from `expiring`, fixing the index of the key moved in.
    fn untrack(&mut self, idx: u32) {
        let idx = idx as usize;
        if idx >= self.expiring.len() {
            return;
        }
        self.expiring.swap_remove(idx);
        if let Some(moved) = self.expiring.get(idx) {
            if let Some(e) = self.map.get_mut(moved.as_ref()) {
                e.exp_idx = idx as u32;
            }
        }
    }

    /// Deletes `key` because it expired (the AOF logs a DEL for it).
    fn expire_key(&mut self, key: &[u8]) {
        if let Some((k, _)) = self.map.get_key_value(key) {
            crate::aof::note_expired(self.index, k);
        }
        self.remove(key);
    }

    /// Deletes `key` (expired or not); returns its entry.
    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let e = self.map.remove(key)?;
        self.touch(key);
        if e.expire_at != 0 {
            self.untrack(e.exp_idx);
        }
        Some(e)
    }

    /// Takes `key` out with its key bytes (for RENAME).
    pub fn take(&mut self, key: &[u8], now: u64) -> Option<(Value, Option<u64>)> {
        self.get(key, now)?;
        let e = self.remove(key)?;
        let at = e.expire_at();
        Some((e.value, at))
    }

    /// FLUSHDB: deletes everything; watched keys that existed count as
    /// modified (as Redis's `touchAllWatchedKeysInDb`).
    pub fn clear(&mut self) {
        for (k, w) in self.watched.iter_mut() {
            if self.map.contains_key(k) {
                w.version += 1;
            }
        }
        self.map.clear();
        self.expiring.clear();
    }

    /// FLUSH* ASYNC: as [`Db::clear`], but hands the old tables back so
    /// the caller can free them off the lock.
    pub fn take_all(&mut self) -> (HashMap<Bytes, Entry>, Vec<Bytes>) {
        for (k, w) in self.watched.iter_mut() {
            if self.map.contains_key(k) {
                w.version += 1;
            }
        }
        (
            std::mem::take(&mut self.map),
            std::mem::take(&mut self.expiring),
        )
    }

    /// Live keys (expired ones are skipped, not deleted: the caller may hold
    /// only a shared view).
    pub fn keys(&self, now: u64) -> impl Iterator<Item = &Bytes> {
        self.map
            .iter()
            .filter(move |(_, e)| !expired(e, now))
            .map(|(k, _)| k)
    }

    /// Live keys with their entries (SCAN's TYPE filter).
    pub fn entries(&self, now: u64) -> impl Iterator<Item = (&Bytes, &Entry)> {
        self.map.iter().filter(move |(_, e)| !expired(e, now))
    }

    /// A random live key, or None. O(n) walk to a random position: hashbrown
    /// has no random access (acceptable for RANDOMKEY; SCAN will need a
    /// cursor-friendly table).
    pub fn random_key(&mut self, rng: &mut Rng, now: u64) -> Option<Bytes> {
        for _ in 0..100 {
            if self.map.is_empty() {
                return None;
            }
            let n = rng.below(self.map.len());
            let k = self.map.keys().nth(n)?.clone();
            if self.get(&k, now).is_some() {
                return Some(k);
            }
        }
        None
    }

    /// Up to `n` keys to choose an eviction victim from (`evict.rs`): keys
    /// with a deadline at random (`volatile`), or `n` consecutive keys of
    /// the table from a random position (hashing makes them a random
    /// sample; one O(position) walk, as [`Db::random_key`]).
    pub fn eviction_sample(&self, rng: &mut Rng, n: usize, volatile: bool) -> Vec<(Bytes, &Entry)> {
        let mut out = Vec::with_capacity(n);
        if volatile {
            for _ in 0..n.min(self.expiring.len()) {
                let k = &self.expiring[rng.below(self.expiring.len())];
                if let Some(e) = self.map.get(k.as_ref()) {
                    out.push((k.clone(), e));
                }
            }
        } else if !self.map.is_empty() {
            let start = rng.below(self.map.len());
            let it = self.map.iter().skip(start).chain(self.map.iter());
            out.extend(it.take(n.min(self.map.len())).map(|(k, e)| (k.clone(), e)));
        }
        out
    }

    /// One round of the active expiry cycle: checks up to `samples` random
    /// keys with a deadline and deletes the expired ones. Returns (checked,
    /// deleted) so the caller can decide to go on, as Redis does when more
    /// than a quarter of the sample had expired.
    pub fn expire_sample(&mut self, rng: &mut Rng, samples: usize, now: u64) -> (usize, usize) {
        let mut deleted = 0;
        let n = samples.min(self.expiring.len());
        for _ in 0..n {
            if self.expiring.is_empty() {
                break;
            }
            let i = rng.below(self.expiring.len());
            let k = self.expiring[i].clone();
            if self.map.get(k.as_ref()).is_some_and(|e| expired(e, now)) {
                self.expire_key(&k);
                deleted += 1;
            }
        }
        (n, deleted)
    }
}

/// One shard: its part of every database.
#[derive(Debug)]
pub struct Shard {
    pub dbs: Vec<Db>,
}

/// All databases, sharded by key hash.
#[derive(Debug)]
pub struct Keyspace {
    shards: Box<[Mutex<Shard>]>,
    mask: usize,
    pub databases: usize,
}

/// Which shard a key lives in: FNV-1a with a final avalanche, so shard
/// choice does not correlate with the per-shard hash tables' own hashing.
pub fn key_hash(key: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in key {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    // murmur3's fmix64.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// A lock that survives a panic elsewhere: the data is a cache of plain
/// values, always left consistent between statements, so poisoning carries
/// no information worth stopping the server for.
fn lock(m: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Keyspace {
    /// `shards` is rounded up to a power of two.
    pub fn new(shards: usize, databases: usize) -> Keyspace {
        let n = shards.max(1).next_power_of_two();
        let shards = (0..n)
            .map(|_| {
                Mutex::new(Shard {
                    dbs: (0..databases)
                        .map(|index| Db {
                            index,
                            ..Db::default()
                        })
                        .collect(),
                })
            })
            .collect();
        Keyspace {
            shards,
            mask: n - 1,
            databases,
        }
    }

    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    pub fn shard_of(&self, key: &[u8]) -> usize {
        key_hash(key) as usize & self.mask
    }

    /// Locks the given shards in ascending order. `ids` must be sorted and
    /// without duplicates (the lock order is what prevents deadlocks).
    pub fn lock(&self, ids: &[usize]) -> Locked<'_> {
        debug_assert!(ids.windows(2).all(|w| w[0] < w[1]));
        Locked {
            ks: self,
            guards: ids.iter().map(|&i| (i, lock(&self.shards[i]))).collect(),
        }
    }

    /// Locks every shard (commands over the whole keyspace: KEYS, DBSIZE,
    /// FLUSHALL...), in the same ascending order.
    pub fn lock_all(&self) -> Locked<'_> {
        Locked {
            ks: self,
            guards: self
                .shards
                .iter()
                .enumerate()
                .map(|(i, m)| (i, lock(m)))
                .collect(),
        }
    }

    /// Active expiry over the shards `i` with `i % of == part` (each I/O
    /// thread takes its own slice, so the cycle scales with the threads and
    /// never contends with itself). Per shard and db: sample 20 keys with a
    /// deadline, delete the expired, repeat while more than a quarter of the
    /// sample had expired, within a time budget. Returns keys deleted.
    pub fn active_expire(
        &self,
        part: usize,
        of: usize,
        rng: &mut Rng,
        budget: std::time::Duration,
    ) -> usize {
        const SAMPLES: usize = 20;
        let start = std::time::Instant::now();
        let mut deleted = 0;
        for (i, m) in self.shards.iter().enumerate() {
            if i % of.max(1) != part {
                continue;
            }
            let mut shard = lock(m);
            let now = crate::util::now_ms();
            for db in shard.dbs.iter_mut() {
                loop {
                    let (checked, gone) = db.expire_sample(rng, SAMPLES, now);
                    deleted += gone;
                    if checked == 0 || gone * 4 <= checked || start.elapsed() > budget {
                        break;
                    }
                }
            }
            // Appends the DELs while this shard is still locked.
            crate::aof::flush_expired();
            if start.elapsed() > budget {
                break;
            }
        }
        deleted
    }
}

/// The shards one command holds, in ascending order; unlocked on drop.
pub struct Locked<'a> {
    ks: &'a Keyspace,
    guards: Vec<(usize, MutexGuard<'a, Shard>)>,
}

impl Locked<'_> {
    /// The database `db` of the shard holding `key`.
    ///
    /// # Panics
    /// If that shard is not locked: the command table declared the wrong key
    /// positions (a bug in this program, never a client's doing; the tests
    /// exercise every command's keys).
    pub fn db(&mut self, db: usize, key: &[u8]) -> &mut Db {
        let s = self.ks.shard_of(key);
        let i = self
            .guards
            .binary_search_by_key(&s, |(id, _)| *id)
            .unwrap_or_else(|_| panic!("shard {s} of a key is not locked: command table bug"));
        &mut self.guards[i].1.dbs[db]
    }

    /// Every locked shard's database `db`.
    pub fn dbs(&mut self, db: usize) -> Vec<&mut Db> {
        self.guards
            .iter_mut()
            .map(|(_, g)| &mut g.dbs[db])
            .collect()
    }

    /// Whether shard `id` is among the locked ones.
    pub fn holds(&self, id: usize) -> bool {
        self.guards.binary_search_by_key(&id, |(i, _)| *i).is_ok()
    }

    /// Database `db` of locked shard `id` (see [`Locked::holds`]).
    pub fn shard_db(&mut self, id: usize, db: usize) -> &mut Db {
        let i = self
            .guards
            .binary_search_by_key(&id, |(i, _)| *i)
            .expect("shard locked");
        &mut self.guards[i].1.dbs[db]
    }

    /// Every locked shard.
    pub fn shards(&mut self) -> Vec<&mut Shard> {
        self.guards.iter_mut().map(|(_, g)| &mut **g).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::String(Bytes::copy_from_slice(v.as_bytes()))
    }

    #[test]
    fn expiring_index_stays_consistent() {
        let mut db = Db::default();
        for i in 0..10 {
            db.set(format!("k{i}").as_bytes(), s("v"), Some(1000 + i));
        }
        db.set(b"k3", s("v"), None);
        db.remove(b"k0");
        db.set_expire(b"k5", None);
        assert_eq!(db.expires_len(), 7);
        for (i, k) in db.expiring.iter().enumerate() {
            assert_eq!(db.map[k].exp_idx as usize, i);
        }
        // Everything with a deadline is gone at t = 2000.
        let mut rng = Rng::new(1);
        while db.expire_sample(&mut rng, 20, 2000).0 > 0 {}
        assert_eq!(db.len(), 2);
        assert_eq!(db.expires_len(), 0);
    }

    #[test]
    fn lazy_expiry_on_access() {
        let mut db = Db::default();
        db.set(b"a", s("1"), Some(100));
        assert!(db.get(b"a", 100).is_some());
        assert!(db.get(b"a", 101).is_none());
        assert_eq!(db.len(), 0);
    }

    #[test]
    fn encodings_follow_redis_thresholds_and_stick() {
        let mut set = SetObj::default();
        for i in 0..SET_MAX_INTSET_ENTRIES {
            set.insert(i.to_string().as_bytes());
        }
        assert_eq!(set.encoding(), "intset");
        set.insert(b"512");
        assert_eq!(set.encoding(), "hashtable", "more than 512 members");
        set.remove(b"512");
        assert_eq!(set.encoding(), "hashtable", "never converts back");
        let mut s2 = SetObj::default();
        s2.insert(b"007");
        assert_eq!(s2.encoding(), "hashtable", "not a canonical integer");

        let mut h = HashObj::default();
        for i in 0..HASH_MAX_LISTPACK_ENTRIES {
            h.insert(i.to_string().as_bytes(), Bytes::from_static(b"v"));
        }
        assert_eq!(h.encoding(), "listpack");
        h.insert(b"one-more", Bytes::from_static(b"v"));
        assert_eq!(h.encoding(), "hashtable");
        let mut h2 = HashObj::default();
        h2.insert(b"f", Bytes::from(vec![b'x'; HASH_MAX_LISTPACK_VALUE + 1]));
        assert_eq!(h2.encoding(), "hashtable");

        assert_eq!(s("12345").encoding(), "int");
        assert_eq!(s("-0").encoding(), "embstr");
        assert_eq!(s(&"x".repeat(44)).encoding(), "embstr");
        assert_eq!(s(&"x".repeat(45)).encoding(), "raw");
        assert_eq!(Value::List(Box::default()).encoding(), "quicklist");
    }

    #[test]
    fn values_and_entries_stay_small() {
        // A tripwire for memory per key (the keyspace holds one Entry per
        // key). Collections are boxed, so a Value is a Bytes (32) plus the
        // enum tag: Bytes has a single niche (its vtable pointer's null),
        // too few for four variants. The LRU clock fills what would be
        // padding. (Folding the collections into one boxed variant would
        // bring Value back to 32 and Entry to 48.)
        assert_eq!(std::mem::size_of::<Value>(), 40);
        assert_eq!(std::mem::size_of::<Entry>(), 56);
    }

    #[test]
    fn small_hashes_keep_insertion_order_on_delete() {
        let mut h = HashObj::default();
        for f in ["a", "b", "c", "d"] {
            h.insert(f.as_bytes(), Bytes::from_static(b"v"));
        }
        h.remove(b"b");
        let order: Vec<&[u8]> = h.map.keys().map(|k| k.as_ref()).collect();
        assert_eq!(order, [&b"a"[..], b"c", b"d"]);
    }

    #[test]
    fn typed_lookup_creates_only_when_asked_and_checks_type() {
        let mut db = Db::default();
        assert!(matches!(db.typed(b"k", 0, None, Value::as_list), Ok(None)));
        assert_eq!(db.len(), 0);
        let l = db
            .typed(
                b"k",
                0,
                Some(|| Value::List(Box::default())),
                Value::as_list,
            )
            .unwrap()
            .unwrap();
        l.push_back(Bytes::from_static(b"x"));
        assert!(db.typed(b"k", 0, None, Value::as_hash).is_err());
        assert_eq!(db.get(b"k", 0).unwrap().value.type_name(), "list");
    }

    #[test]
    fn locking_gives_each_key_its_shard() {
        let ks = Keyspace::new(16, 16);
        let mut ids: Vec<usize> = [b"a".as_ref(), b"b", b"c"]
            .iter()
            .map(|k| ks.shard_of(k))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let mut l = ks.lock(&ids);
        l.db(3, b"a").set(b"a", s("x"), None);
        l.db(3, b"c").set(b"c", s("y"), None);
        drop(l);
        let mut all = ks.lock_all();
        assert_eq!(all.dbs(3).into_iter().map(|d| d.len()).sum::<usize>(), 2);
    }
}
