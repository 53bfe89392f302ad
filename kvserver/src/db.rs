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
use std::sync::{Mutex, MutexGuard};

/// A value. Only strings so far; the other Redis types get their variants
/// here (List, Hash, Set, ZSet, Stream) with their own `t_*.rs` files.
#[derive(Debug, Clone)]
pub enum Value {
    String(Bytes),
}

impl Value {
    /// The string, if this is one (None for the other types, once they
    /// exist: the caller replies WRONGTYPE).
    pub fn as_str(&self) -> Option<&Bytes> {
        match self {
            Value::String(s) => Some(s),
        }
    }

    /// The name TYPE reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::String(_) => "string",
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
}

impl Entry {
    pub fn expire_at(&self) -> Option<u64> {
        (self.expire_at != 0).then_some(self.expire_at)
    }
}

/// One database's part of one shard.
#[derive(Debug, Default)]
pub struct Db {
    map: HashMap<Bytes, Entry>,
    /// The keys that have a deadline (for sampling in the active cycle).
    expiring: Vec<Bytes>,
}

/// Redis: a key is logically gone once the clock is past its deadline.
fn expired(e: &Entry, now: u64) -> bool {
    e.expire_at != 0 && now > e.expire_at
}

impl Db {
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn expires_len(&self) -> usize {
        self.expiring.len()
    }

    /// The live entry of `key`, deleting it first if it has expired.
    pub fn get(&mut self, key: &[u8], now: u64) -> Option<&mut Entry> {
        if self.map.get(key).is_some_and(|e| expired(e, now)) {
            self.remove(key);
            return None;
        }
        self.map.get_mut(key)
    }

    pub fn contains(&mut self, key: &[u8], now: u64) -> bool {
        self.get(key, now).is_some()
    }

    /// Sets `key` to `value` with `expire_at` (None: no expiry), replacing
    /// any old value and deadline.
    pub fn set(&mut self, key: &[u8], value: Value, expire_at: Option<u64>) {
        if let Some(e) = self.map.get_mut(key) {
            e.value = value;
            self.set_expire_of_existing(key, expire_at);
            return;
        }
        let key = Bytes::copy_from_slice(key);
        let mut e = Entry {
            value,
            expire_at: 0,
            exp_idx: 0,
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

    /// Deletes `key` (expired or not); returns its entry.
    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let e = self.map.remove(key)?;
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

    pub fn clear(&mut self) {
        self.map.clear();
        self.expiring.clear();
    }

    /// Live keys (expired ones are skipped, not deleted: the caller may hold
    /// only a shared view).
    pub fn keys(&self, now: u64) -> impl Iterator<Item = &Bytes> {
        self.map
            .iter()
            .filter(move |(_, e)| !expired(e, now))
            .map(|(k, _)| k)
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
                self.remove(&k);
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
                    dbs: (0..databases).map(|_| Db::default()).collect(),
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
