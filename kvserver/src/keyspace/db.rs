//! One database's part of one shard: lookups with lazy expiry, writes,
//! deadlines, WATCH versions.

use super::entry::Entry;
use super::settings::Settings;
use super::store::{table_hash, Store};
use crate::types::{Str, Value, WrongType};
use crate::util::Rng;
use bytes::Bytes;
use hashbrown::HashMap;
use std::sync::Arc;

/// One database's part of one shard.
#[derive(Debug, Default)]
pub struct Db {
    store: Store,
    /// How accesses are recorded and whether keys expire lazily (shared
    /// by every database part; changed by CONFIG SET).
    settings: Arc<Settings>,
    /// The LFU counter's random increments (xorshift state, never 0).
    lfu_rng: u64,
    /// Keys deleted because they expired, not yet handed to the caller
    /// (it takes them with [`Db::take_expired`] before it unlocks: they
    /// are propagated as DELs and raise `expired` events above this
    /// layer).
    expired: Vec<Str>,
    /// The keys some client WATCHes: how many clients, and a version bumped
    /// on every modification of the key (write command, set, delete,
    /// expiry, flush). Only watched keys are tracked, as Redis's
    /// `watched_keys`, so unwatched writes pay one `is_empty` check.
    watched: HashMap<Bytes, WatchSlot>,
    /// Parts emptied by FLUSHDB/FLUSHALL while a snapshot was walking
    /// them: kept, frozen, until the walk has copied them.
    detached: Vec<Store>,
    /// Lookups that found their key and that did not (INFO's
    /// `keyspace_hits` / `keyspace_misses`): plain counters, as the part is
    /// only touched under its shard's lock; INFO sums them.
    pub hits: u64,
    pub misses: u64,
    /// Whether lookups count as hits and misses now: a read command's do,
    /// a write command's do not (Redis's lookupKeyRead / lookupKeyWrite).
    /// Set by [`super::Locked`] as it hands the part out.
    pub(super) count_lookups: bool,
    /// Keys created and read lookups that missed, while
    /// notify-keyspace-events asks for `n` / `m` (the caller raises the
    /// events: [`Db::take_key_events`]).
    key_events: Vec<KeyEvent>,
}

/// A key event the keyspace recorded (see [`Db::take_key_events`]).
#[derive(Debug)]
pub struct KeyEvent {
    /// Its place in the order of all database parts' events.
    pub seq: u64,
    /// Created (`new`) or missed (`keymiss`).
    pub new: bool,
    pub key: Str,
}

/// A watched key's watcher count and modification version.
#[derive(Debug, Default)]
struct WatchSlot {
    refs: u32,
    version: u64,
}

impl Db {
    /// An empty database part, recording accesses as `settings` says.
    pub fn new(settings: Arc<Settings>, seed: u64) -> Db {
        Db {
            settings,
            lfu_rng: seed | 1,
            ..Db::default()
        }
    }

    /// The keys this part deleted because they expired since the last
    /// call, oldest first.
    pub fn take_expired(&mut self) -> Vec<Str> {
        std::mem::take(&mut self.expired)
    }

    /// The key events recorded since the last call, oldest first.
    pub fn take_key_events(&mut self) -> Vec<KeyEvent> {
        std::mem::take(&mut self.key_events)
    }

    pub(super) fn has_key_events(&self) -> bool {
        !self.key_events.is_empty()
    }

    /// Whether keys expired since the last [`Db::take_expired`].
    pub fn has_expired(&self) -> bool {
        !self.expired.is_empty()
    }

    /// Records a modification of `key` (WATCH). Called by [`Db::set`],
    /// [`Db::remove`] (so deletes and expiry count) and by the pipeline
    /// for every key a handler says it changed (`Ctx::changed`).
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
        std::mem::swap(&mut a.store, &mut b.store);
        a.touch_all_watched();
        b.touch_all_watched();
    }

    pub fn len(&self) -> usize {
        self.store.len()
    }

    pub fn expires_len(&self) -> usize {
        self.store.expires.len()
    }

    /// The slot of the live `key`, deleting it first if it has expired.
    fn live(&mut self, key: &[u8], now: u64) -> Option<u32> {
        let i = self.store.find(key)?;
        let e = self.store.slots.get(i)?;
        if self.store.expired(i, e, now) && self.settings.lazy_expiry() {
            self.expire_key(key);
            return None;
        }
        Some(i)
    }

    /// [`Db::live`], counted as a keyspace hit or miss.
    fn lookup(&mut self, key: &[u8], now: u64) -> Option<u32> {
        self.lookup_with(key, now, true)
    }

    /// [`Db::lookup`]; `event`: a miss raises `keymiss` (Redis's lookups
    /// without LOOKUP_NONOTIFY).
    fn lookup_with(&mut self, key: &[u8], now: u64, event: bool) -> Option<u32> {
        let found = self.live(key, now);
        if self.count_lookups {
            if found.is_some() {
                self.hits += 1;
            } else {
                self.misses += 1;
                if event && self.settings.wants_miss() {
                    self.key_events.push(KeyEvent {
                        seq: self.settings.next_event(),
                        new: false,
                        key: Str::new(key),
                    });
                }
            }
        }
        found
    }

    /// The live entry of `key`, deleting it first if it has expired.
    pub fn get(&mut self, key: &[u8], now: u64) -> Option<&mut Entry> {
        let i = self.lookup(key, now)?;
        // The caller may change it.
        self.store.before_write(i);
        let e = self.store.slots.get_mut(i)?;
        e.lru = self.settings.accessed(e.lru, now, &mut self.lfu_rng);
        Some(e)
    }

    /// [`Db::get`] without counting as an access (OBJECT, SCAN's TYPE).
    pub fn peek(&mut self, key: &[u8], now: u64) -> Option<&Entry> {
        let i = self.lookup(key, now)?;
        self.store.slots.get(i)
    }

    /// [`Db::peek`] that raises no `keymiss` (OBJECT, MEMORY USAGE: Redis's
    /// LOOKUP_NONOTIFY).
    pub fn peek_quiet(&mut self, key: &[u8], now: u64) -> Option<&Entry> {
        let i = self.lookup_with(key, now, false)?;
        self.store.slots.get(i)
    }

    /// The deadline of `key` (None: no key or no deadline). No expiry
    /// check: call after [`Db::get`].
    pub fn expire_at(&self, key: &[u8]) -> Option<u64> {
        let i = self.store.find(key)?;
        self.store.deadline(i)
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
        // One table lookup when the key is there (the common case of
        // LPUSH/HSET/SADD onto an existing collection); as `set` then
        // `get` when it is created.
        let found = if new.is_some() {
            self.live(key, now)
        } else {
            self.lookup(key, now)
        };
        let i = match found {
            Some(i) => i,
            None => {
                let Some(new) = new else { return Ok(None) };
                let i = self.put(key, new(), true, now);
                self.set_expire_slot(i, None);
                i
            }
        };
        self.store.before_write(i);
        let Some(e) = self.store.slots.get_mut(i) else {
            return Ok(None);
        };
        e.lru = self.settings.accessed(e.lru, now, &mut self.lfu_rng);
        pick(&mut e.value).map(Some).ok_or(WrongType)
    }

    pub fn contains(&mut self, key: &[u8], now: u64) -> bool {
        self.lookup(key, now).is_some()
    }

    /// [`Db::contains`] for a key about to be written (COPY's destination):
    /// not a keyspace hit or miss, as Redis's lookupKeyWrite.
    pub fn contains_to_write(&mut self, key: &[u8], now: u64) -> bool {
        self.live(key, now).is_some()
    }

    /// Sets `key` to `value` with `expire_at` (None: no expiry), replacing
    /// any old value and deadline, at time `now` (ms: the access stamp).
    pub fn set(&mut self, key: &[u8], value: Value, expire_at: Option<u64>, now: u64) {
        let i = self.put(key, value, true, now);
        self.set_expire_slot(i, expire_at);
    }

    /// Stores `value` at `key`, new or not (`stamp`: as an access); the
    /// slot. The deadline is left as it was. A new key starts with the
    /// clock (LRU) or the initial counter (LFU, Redis's `createObject`);
    /// an overwrite under LFU keeps the counter (Redis's `dbOverwrite`)
    /// after counting the write's lookup.
    fn put(&mut self, key: &[u8], value: Value, stamp: bool, now: u64) -> u32 {
        // An expired key being overwritten is deleted first (Redis's
        // lookupKeyWrite): it expired (a DEL and an `expired` event) and
        // the new value is a new key, without the old deadline. One more
        // lookup, only in a part where some key has a deadline.
        if !self.store.expires.is_empty() && self.settings.lazy_expiry() {
            self.live(key, now);
        }
        self.touch(key);
        // (A second lookup, only while a snapshot walks this part.)
        if !self.store.snaps.is_empty() {
            if let Some(i) = self.store.find(key) {
                self.store.before_write(i);
            }
        }
        let Store { table, slots, .. } = &mut self.store;
        let born = match table.entry(
            table_hash(key),
            |&i| slots.key_is(i, key),
            |&i| slots.hash_of(i),
        ) {
            hashbrown::hash_table::Entry::Occupied(o) => {
                let i = *o.get();
                if let Some(e) = slots.get_mut(i) {
                    e.value = value;
                    if stamp {
                        e.lru = self.settings.accessed(e.lru, now, &mut self.lfu_rng);
                    }
                }
                return i;
            }
            hashbrown::hash_table::Entry::Vacant(v) => {
                let i = slots.alloc(Entry {
                    key: Str::new(key),
                    value,
                    lru: self.settings.fresh(now),
                    ttl: false,
                });
                v.insert(i);
                i
            }
        };
        self.store.born(born);
        if self.settings.wants_new() {
            self.key_events.push(KeyEvent {
                seq: self.settings.next_event(),
                new: true,
                key: Str::new(key),
            });
        }
        born
    }

    /// Replaces the value of an existing key, keeping its deadline (or sets
    /// a new key without one).
    pub fn set_keep_ttl(&mut self, key: &[u8], value: Value, now: u64) {
        self.put(key, value, false, now);
    }

    /// RESTORE's IDLETIME / FREQ for an existing key (see
    /// [`Entry::set_idle_or_freq`]); not an access.
    pub fn set_idle_or_freq(&mut self, key: &[u8], idle: Option<u64>, freq: Option<u8>, now: u64) {
        let Some(i) = self.store.find(key) else {
            return;
        };
        if let Some(e) = self.store.slots.get_mut(i) {
            e.set_idle_or_freq(idle, freq, now, &self.settings);
        }
    }

    /// Sets or clears the deadline of an existing key. Returns false if the
    /// key does not exist.
    pub fn set_expire(&mut self, key: &[u8], expire_at: Option<u64>) -> bool {
        let Some(i) = self.store.find(key) else {
            return false;
        };
        self.set_expire_slot(i, expire_at);
        true
    }

    fn set_expire_slot(&mut self, i: u32, expire_at: Option<u64>) {
        if !self.store.snaps.is_empty() && self.store.deadline(i) != expire_at {
            self.store.before_write(i);
        }
        let s = &mut self.store;
        let Some(e) = s.slots.get_mut(i) else {
            return;
        };
        match expire_at {
            Some(at) => {
                e.ttl = true;
                s.expires.insert(i, at);
            }
            None if e.ttl => {
                e.ttl = false;
                s.expires.swap_remove(&i);
            }
            None => {}
        }
    }

    /// Deletes `key` because it expired, and notes it for the caller.
    fn expire_key(&mut self, key: &[u8]) {
        if let Some(e) = self.remove(key) {
            self.expired.push(e.key);
        }
    }

    /// Deletes `key` (expired or not); returns its entry.
    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let h = table_hash(key);
        let s = &mut self.store;
        let i = *s.table.find(h, |&i| s.slots.key_is(i, key))?;
        s.before_write(i);
        let e = s.remove_slot(i, h)?;
        self.touch(key);
        Some(e)
    }

    /// Takes `key` out with its deadline (for RENAME, MOVE).
    pub fn take(&mut self, key: &[u8], now: u64) -> Option<(Value, Option<u64>)> {
        let i = self.live(key, now)?;
        let at = self.store.deadline(i);
        let e = self.remove(key)?;
        Some((e.value, at))
    }

    /// Marks the watched keys that exist as modified (FLUSHDB, as Redis's
    /// `touchAllWatchedKeysInDb`).
    fn touch_existing_watched(&mut self) {
        for (k, w) in self.watched.iter_mut() {
            if self.store.find(k).is_some() {
                w.version += 1;
            }
        }
    }

    /// FLUSHDB: deletes everything; watched keys that existed count as
    /// modified.
    pub fn clear(&mut self) {
        self.touch_existing_watched();
        let old = std::mem::take(&mut self.store);
        self.keep_for_snapshots(old);
    }

    /// FLUSH* ASYNC: as [`Db::clear`], but hands the old keys back so the
    /// caller can free them off the lock (unless a snapshot still walks
    /// them: then they are kept, and freed when it is done).
    pub fn take_all(&mut self) -> Store {
        self.touch_existing_watched();
        let old = std::mem::take(&mut self.store);
        self.keep_for_snapshots(old).unwrap_or_default()
    }

    /// Keeps `old` for the snapshots walking it; gives it back otherwise.
    fn keep_for_snapshots(&mut self, old: Store) -> Option<Store> {
        if old.snaps.is_empty() {
            return Some(old);
        }
        self.detached.push(old);
        None
    }

    /// Starts snapshot `id` on this part, database `origin`, as of `at`
    /// (`keyspace::snapshot`; under every shard lock).
    pub fn snapshot_begin(&mut self, id: u64, origin: usize, at: u64) {
        self.store.snapshot_begin(id, origin, at);
    }

    /// One step of the walk of snapshot `id`, database `origin`, into
    /// `out`: None when it is not on this part, Some(true) once it is over.
    pub fn snapshot_step(
        &mut self,
        id: u64,
        origin: usize,
        out: &mut Vec<super::snapshot::Item>,
    ) -> Option<bool> {
        for k in 0..self.detached.len() {
            if let Some(done) = self.detached[k].snapshot_step(id, origin, out) {
                if done && self.detached[k].snaps.is_empty() {
                    self.detached.swap_remove(k);
                }
                return Some(done);
            }
        }
        self.store.snapshot_step(id, origin, out)
    }

    /// Abandons snapshot `id` here.
    pub fn snapshot_drop(&mut self, id: u64) {
        self.store.snapshot_drop(id);
        for d in &mut self.detached {
            d.snapshot_drop(id);
        }
        self.detached.retain(|d| !d.snaps.is_empty());
    }

    /// Live keys (expired ones are skipped, not deleted: the caller may hold
    /// only a shared view).
    pub fn keys(&self, now: u64) -> impl Iterator<Item = &[u8]> {
        self.entries(now).map(|(k, _)| k)
    }

    /// Live keys with their entries (SCAN's TYPE filter).
    pub fn entries(&self, now: u64) -> impl Iterator<Item = (&[u8], &Entry)> {
        let s = &self.store;
        s.slots
            .iter()
            .filter(move |(i, e)| !s.expired(*i, e, now))
            .map(|(_, e)| (&*e.key, e))
    }

    /// A random live key, or None: a random slot (retried while it is a
    /// free one), O(1) unless most slots are free.
    pub fn random_key(&mut self, rng: &mut Rng, now: u64) -> Option<Bytes> {
        for _ in 0..100 {
            if self.store.is_empty() {
                return None;
            }
            let cap = self.store.slots.capacity();
            let i = rng.below(cap) as u32;
            let Some(e) = self.store.slots.get(i) else {
                continue;
            };
            let k = Bytes::copy_from_slice(&e.key);
            // Expired keys go (Redis's dbRandomKey); no access recorded,
            // no keyspace hit.
            if self.live(&k, now).is_some() {
                return Some(k);
            }
        }
        // Sparse slots (after many deletes): walk to a random live key.
        let n = rng.below(self.len().max(1));
        let k = self.keys(now).nth(n).map(Bytes::copy_from_slice)?;
        Some(k)
    }

    /// Up to `n` keys to choose an eviction victim from (`evict.rs`), with
    /// their deadlines: keys with a deadline at random (`volatile`), or
    /// random slots. O(n) either way.
    pub fn eviction_sample(
        &self,
        rng: &mut Rng,
        n: usize,
        volatile: bool,
    ) -> Vec<(Bytes, &Entry, Option<u64>)> {
        let s = &self.store;
        let mut out = Vec::with_capacity(n);
        if s.is_empty() {
            return out;
        }
        let mut tries = 0;
        while out.len() < n && tries < 4 * n {
            tries += 1;
            let i = if volatile {
                if s.expires.is_empty() {
                    break;
                }
                match s.expires.get_index(rng.below(s.expires.len())) {
                    Some((&i, _)) => i,
                    None => break,
                }
            } else {
                rng.below(s.slots.capacity()) as u32
            };
            if let Some(e) = s.slots.get(i) {
                out.push((Bytes::copy_from_slice(&e.key), e, s.deadline(i)));
            }
        }
        out
    }

    /// One round of the active expiry cycle: checks up to `samples` random
    /// keys with a deadline and deletes the expired ones. Returns (checked,
    /// deleted) so the caller can decide to go on, as Redis does when more
    /// than a quarter of the sample had expired.
    pub fn expire_sample(&mut self, rng: &mut Rng, samples: usize, now: u64) -> (usize, usize) {
        let mut deleted = 0;
        let n = samples.min(self.store.expires.len());
        for _ in 0..n {
            let len = self.store.expires.len();
            if len == 0 {
                break;
            }
            let Some((&i, &at)) = self.store.expires.get_index(rng.below(len)) else {
                break;
            };
            if now > at {
                let Some(hash) = self.store.slots.get(i).map(|e| table_hash(&e.key)) else {
                    // Cannot happen (a deadline always has its slot).
                    self.store.expires.swap_remove(&i);
                    continue;
                };
                self.store.before_write(i);
                if let Some(e) = self.store.remove_slot(i, hash) {
                    self.touch(&e.key);
                    self.expired.push(e.key);
                }
                deleted += 1;
            }
        }
        (n, deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::String(Str::new(v.as_bytes()))
    }

    #[test]
    fn expiring_index_stays_consistent() {
        let mut db = Db::default();
        for i in 0..10 {
            db.set(format!("k{i}").as_bytes(), s("v"), Some(1000 + i), 0);
        }
        db.set(b"k3", s("v"), None, 0);
        db.remove(b"k0");
        db.set_expire(b"k5", None);
        assert_eq!(db.expires_len(), 7);
        for (&i, _) in db.store.expires.iter() {
            assert!(db.store.slots.get(i).unwrap().ttl);
        }
        let ttls = db.store.slots.iter().filter(|(_, e)| e.ttl).count();
        assert_eq!(ttls, 7);
        assert_eq!(db.expire_at(b"k4"), Some(1004));
        assert_eq!(db.expire_at(b"k3"), None);
        // Everything with a deadline is gone at t = 2000.
        let mut rng = Rng::new(1);
        while db.expire_sample(&mut rng, 20, 2000).0 > 0 {}
        assert_eq!(db.len(), 2);
        assert_eq!(db.expires_len(), 0);
    }

    #[test]
    fn slots_are_reused_and_pages_freed() {
        let mut db = Db::default();
        for i in 0..3000 {
            db.set(format!("key:{i}").as_bytes(), s("v"), None, 0);
        }
        assert_eq!(db.store.slots.capacity(), 3000);
        for i in 0..1000 {
            assert!(db.remove(format!("key:{i}").as_bytes()).is_some());
        }
        for i in 0..1000 {
            db.set(format!("new:{i}").as_bytes(), s("w"), None, 0);
        }
        assert_eq!(db.store.slots.capacity(), 3000, "freed slots reused");
        assert_eq!(db.len(), 3000);
        for i in 1000..3000 {
            let k = format!("key:{i}");
            assert_eq!(
                &**db.get(k.as_bytes(), 0).unwrap().value.as_str().unwrap(),
                b"v"
            );
        }
        let long = "x".repeat(100);
        db.set(long.as_bytes(), s(&long), Some(5), 0);
        assert_eq!(
            db.get(long.as_bytes(), 5)
                .unwrap()
                .value
                .as_str()
                .unwrap()
                .len(),
            100
        );
        assert!(db.get(long.as_bytes(), 6).is_none());
        let keys: Vec<Vec<u8>> = db.keys(0).map(|k| k.to_vec()).collect();
        for k in keys {
            db.remove(&k);
        }
        assert_eq!(db.len(), 0);
        assert_eq!(db.store.slots.capacity(), 0, "pages given back");
    }

    #[test]
    fn lazy_expiry_on_access() {
        let mut db = Db::default();
        db.set(b"a", s("1"), Some(100), 0);
        assert!(db.get(b"a", 100).is_some());
        assert!(db.get(b"a", 101).is_none());
        assert_eq!(db.len(), 0);
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
        l.push_back(b"x");
        assert!(db.typed(b"k", 0, None, Value::as_hash).is_err());
        assert_eq!(db.get(b"k", 0).unwrap().value.type_name(), "list");
    }
}
