//! The keyspace: 16 (configurable) databases, split into shards, each shard
//! a `Mutex` holding its part of every database.
//!
//! ```text
//! Keyspace
//!   shards[0..S]  (S a power of two, shard = hash(key) & (S-1))
//!     Mutex<Shard>
//!       dbs[0..16]: Db { store: Store, watched }
//!         Store { table: HashTable<u32 slot>,
//!                 slots: pages of Entry { key, value, lru, ttl },
//!                 expires: slot -> deadline }
//! ```
//!
//! A command locks exactly the shards its keys hash to, in ascending shard
//! order, runs, and unlocks ([`Keyspace::lock`] → [`Locked`]). Every thread
//! takes locks in the same global order, so two commands can never wait on
//! each other in a cycle (no deadlock), and a command that holds all its
//! shards sees and changes its keys atomically, whatever shards they are on.
//!
//! Memory per key is what this layout is for: an [`Entry`] is 56 bytes
//! with the key and a short string value inline ([`Str`]), entries sit in
//! pages (no allocation per key), and the table holds 4-byte slot numbers,
//! so a power-of-two table's slack costs little (see
//! docs/kvserver/keyspace.md).
//!
//! Snapshots (BGSAVE, BGREWRITEAOF) are walked a step at a time while
//! clients write: a cursor per database part, and an entry the walk has
//! not reached is copied before a write changes it ([`snapshot`]).
//!
//! Expiry: a key's deadline (ms since the epoch) lives in `expires`, only
//! for keys that have one; it is checked on every access (lazy expiry) and
//! an active cycle samples `expires` at random ([`Keyspace::active_expire`]),
//! as Redis does. A key deleted because it expired is noted in its [`Db`]
//! and handed back to whoever locked ([`Locked::take_expired`]): the caller
//! propagates it and raises its event.
//!
//! May import only `types` and `util`: the keyspace never propagates,
//! publishes, counts statistics or touches a connection. Start reading at
//! [`Keyspace::lock`], [`Locked::db`] and `Db::get` (`db.rs`).

mod db;
mod entry;
mod settings;
pub mod snapshot;
mod store;

pub use db::{Db, KeyEvent};
pub use entry::Entry;
pub use settings::Settings;

use crate::types::Str;
use crate::util::Rng;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

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
    /// The next snapshot's id (`snapshot.rs`).
    next_snapshot: AtomicU64,
    /// Snapshots abandoned by a thread that held shard locks: their
    /// cursors go at the next start (which holds every lock).
    abandoned: Mutex<Vec<u64>>,
}

/// Which shard a key lives in (its low bits), and the key's table hash
/// (`store::table_hash`) and SCAN position. Word at a time: each 8-byte word
/// is mixed in with a multiply, then murmur3's fmix64 avalanches, so the
/// shard bits do not correlate with the table's.
pub fn key_hash(key: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ (key.len() as u64).wrapping_mul(K);
    let mut words = key.chunks_exact(8);
    for w in &mut words {
        let mut b = [0u8; 8];
        b.copy_from_slice(w);
        h = (h ^ u64::from_le_bytes(b)).wrapping_mul(K);
        h ^= h >> 31;
    }
    let rest = words.remainder();
    if !rest.is_empty() {
        h = (h ^ tail_word(rest)).wrapping_mul(K);
    }
    // murmur3's fmix64.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// The last 1-7 bytes of a key as one word, from fixed-size reads (two
/// overlapping 4-byte ones, or the first, middle and last byte): a
/// variable-length copy into a zeroed word compiles to a memcpy call,
/// which was a visible part of hashing short keys. Every byte is read,
/// and the length is already in the hash, so no two tails collide.
fn tail_word(r: &[u8]) -> u64 {
    let n = r.len();
    if n >= 4 {
        let lo = u32::from_le_bytes([r[0], r[1], r[2], r[3]]);
        let hi = u32::from_le_bytes([r[n - 4], r[n - 3], r[n - 2], r[n - 1]]);
        lo as u64 | (hi as u64) << 32
    } else {
        r[0] as u64 | (r[n / 2] as u64) << 8 | (r[n - 1] as u64) << 16
    }
}

/// A lock that survives a panic elsewhere: the data is a cache of plain
/// values, always left consistent between statements, so poisoning carries
/// no information worth stopping the server for.
fn lock(m: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Keyspace {
    /// `shards` is rounded up to a power of two; every database part
    /// reads `settings`.
    pub fn new(shards: usize, databases: usize, settings: Arc<Settings>) -> Keyspace {
        let n = shards.max(1).next_power_of_two();
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let shards = (0..n)
            .map(|_| {
                Mutex::new(Shard {
                    dbs: (0..databases)
                        .map(|_| {
                            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                            Db::new(settings.clone(), seed)
                        })
                        .collect(),
                })
            })
            .collect();
        Keyspace {
            shards,
            mask: n - 1,
            databases,
            next_snapshot: AtomicU64::new(1),
            abandoned: Mutex::new(Vec::new()),
        }
    }

    /// Starts a point-in-time copy of everything as of `at` (see
    /// `snapshot.rs`): `locked` must hold every shard (the start is one
    /// instant for all of them). Cheap: a cursor per database part. Walk
    /// it with [`Keyspace::snapshot_step`]; abandon it with
    /// [`Keyspace::snapshot_drop`].
    pub fn snapshot_begin(&self, locked: &mut Locked, at: u64) -> u64 {
        let id = self.next_snapshot.fetch_add(1, Ordering::Relaxed);
        let abandoned =
            std::mem::take(&mut *self.abandoned.lock().unwrap_or_else(|e| e.into_inner()));
        for shard in locked.shards() {
            for (origin, db) in shard.dbs.iter_mut().enumerate() {
                for &old in &abandoned {
                    db.snapshot_drop(old);
                }
                db.snapshot_begin(id, origin, at);
            }
        }
        id
    }

    /// One step of snapshot `id`'s walk of database `db` in shard `shard`
    /// (that shard locked for a bounded time): keys into `out`. True when
    /// that part is done.
    pub fn snapshot_step(
        &self,
        id: u64,
        shard: usize,
        db: usize,
        out: &mut Vec<snapshot::Item>,
    ) -> bool {
        let mut g = lock(&self.shards[shard]);
        // SWAPDB may have moved the part to another database number.
        for d in g.dbs.iter_mut() {
            if let Some(done) = d.snapshot_step(id, db, out) {
                return done;
            }
        }
        true
    }

    /// Abandons snapshot `id` (its walk stopped early): no more copies.
    /// Call holding no shard lock.
    pub fn snapshot_drop(&self, id: u64) {
        for s in self.shards.iter() {
            lock(s).dbs.iter_mut().for_each(|d| d.snapshot_drop(id));
        }
    }

    /// Abandons snapshot `id` from a thread that may hold shard locks (a
    /// command whose background save could not start): its cursors go at
    /// the next snapshot's start, which holds every lock.
    pub fn snapshot_drop_later(&self, id: u64) {
        self.abandoned
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(id);
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
        let guards = match ids {
            // The common case, one key: no allocation.
            &[i] => Guards::One([(i, lock(&self.shards[i]))]),
            _ => Guards::Many(ids.iter().map(|&i| (i, lock(&self.shards[i]))).collect()),
        };
        Locked {
            ks: self,
            guards,
            touched: 0,
            count_lookups: false,
        }
    }

    /// Shard `i` if no one holds it, else None: the active expiry cycle
    /// passes over a busy shard rather than wait (a running script holds
    /// every shard, and the cycle's thread must stay free to answer
    /// SCRIPT KILL). Taking it without waiting cannot break the lock
    /// order.
    pub fn try_lock_shard(&self, i: usize) -> Option<Locked<'_>> {
        let guard = match self.shards[i].try_lock() {
            Ok(g) => g,
            Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return None,
        };
        Some(Locked {
            ks: self,
            guards: Guards::One([(i, guard)]),
            touched: 0,
            count_lookups: false,
        })
    }

    /// Locks every shard (commands over the whole keyspace: KEYS, DBSIZE,
    /// FLUSHALL...), in the same ascending order.
    pub fn lock_all(&self) -> Locked<'_> {
        Locked {
            ks: self,
            guards: Guards::Many(
                self.shards
                    .iter()
                    .enumerate()
                    .map(|(i, m)| (i, lock(m)))
                    .collect(),
            ),
            touched: 0,
            count_lookups: false,
        }
    }

    /// Active expiry over the shards `i` with `i % of == part` (each I/O
    /// thread takes its own slice, so the cycle scales with the threads and
    /// never contends with itself). Per shard and db: sample 20 keys with a
    /// deadline, delete the expired, repeat while more than a quarter of the
    /// sample had expired, within a time budget. `deleted` is called with
    /// each shard still locked, so that the caller takes the expired keys
    /// ([`Locked::take_expired`]) and propagates them before anyone else
    /// can touch the shard. Returns keys deleted.
    pub fn active_expire(
        &self,
        part: usize,
        of: usize,
        rng: &mut Rng,
        budget: std::time::Duration,
        mut deleted_in: impl FnMut(&mut Locked),
    ) -> usize {
        const SAMPLES: usize = 20;
        let start = std::time::Instant::now();
        let mut deleted = 0;
        for i in 0..self.shards.len() {
            if i % of.max(1) != part {
                continue;
            }
            let Some(mut locked) = self.try_lock_shard(i) else {
                continue;
            };
            let now = crate::util::now_ms();
            let mut gone_here = 0;
            for db in locked.shards()[0].dbs.iter_mut() {
                loop {
                    let (checked, gone) = db.expire_sample(rng, SAMPLES, now);
                    gone_here += gone;
                    if checked == 0 || gone * 4 <= checked || start.elapsed() > budget {
                        break;
                    }
                }
            }
            if gone_here > 0 {
                deleted += gone_here;
                deleted_in(&mut locked);
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
    guards: Guards<'a>,
    /// The databases handed out (bit `db`, bit 63 for 63 and above): where
    /// [`Locked::take_expired`] looks for keys that expired meanwhile.
    touched: u64,
    /// Whether the running command's lookups count as keyspace hits and
    /// misses (a read command's), passed to each database part handed out.
    pub count_lookups: bool,
}

/// Bit `db` of [`Locked::touched`].
fn db_bit(db: usize) -> u64 {
    1 << db.min(63)
}

type Guard<'a> = (usize, MutexGuard<'a, Shard>);

/// One shard (most commands: no allocation), or several in order.
enum Guards<'a> {
    One([Guard<'a>; 1]),
    Many(Vec<Guard<'a>>),
}

impl<'a> Guards<'a> {
    fn slice(&self) -> &[Guard<'a>] {
        match self {
            Guards::One(g) => g,
            Guards::Many(v) => v,
        }
    }

    fn slice_mut(&mut self) -> &mut [Guard<'a>] {
        match self {
            Guards::One(g) => g,
            Guards::Many(v) => v,
        }
    }
}

impl Locked<'_> {
    /// The database `db` of the shard holding `key`.
    ///
    /// # Panics
    /// If that shard is not locked: the command table declared the wrong key
    /// positions (a bug in this program, never a client's doing; the tests
    /// exercise every command's keys). With one shard locked, the check is
    /// a debug assertion (the tests run with them): a single-key command
    /// does not hash its key a second time.
    pub fn db(&mut self, db: usize, key: &[u8]) -> &mut Db {
        let i = match &self.guards {
            Guards::One([(id, _)]) => {
                debug_assert_eq!(
                    self.ks.shard_of(key),
                    *id,
                    "shard of a key is not locked: command table bug"
                );
                0
            }
            Guards::Many(guards) => {
                let s = self.ks.shard_of(key);
                guards
                    .binary_search_by_key(&s, |(id, _)| *id)
                    .unwrap_or_else(|_| {
                        panic!("shard {s} of a key is not locked: command table bug")
                    })
            }
        };
        self.touched |= db_bit(db);
        let d = &mut self.guards.slice_mut()[i].1.dbs[db];
        d.count_lookups = self.count_lookups;
        d
    }

    /// Every locked shard's database `db`.
    pub fn dbs(&mut self, db: usize) -> Vec<&mut Db> {
        self.touched |= db_bit(db);
        let count = self.count_lookups;
        self.guards
            .slice_mut()
            .iter_mut()
            .map(|(_, g)| {
                let d = &mut g.dbs[db];
                d.count_lookups = count;
                d
            })
            .collect()
    }

    /// Keyspace hits and misses of the locked shards, every database
    /// (INFO stats).
    pub fn lookup_counts(&self) -> (u64, u64) {
        let dbs = self.guards.slice().iter().flat_map(|(_, g)| g.dbs.iter());
        dbs.fold((0, 0), |(h, m), d| (h + d.hits, m + d.misses))
    }

    /// Zeroes the keyspace hits and misses of the locked shards (CONFIG
    /// RESETSTAT).
    pub fn reset_lookup_counts(&mut self) {
        for (_, g) in self.guards.slice_mut() {
            for d in g.dbs.iter_mut() {
                (d.hits, d.misses) = (0, 0);
            }
        }
    }

    /// Whether shard `id` is among the locked ones.
    pub fn holds(&self, id: usize) -> bool {
        self.guards
            .slice()
            .binary_search_by_key(&id, |(i, _)| *i)
            .is_ok()
    }

    /// Database `db` of locked shard `id` (see [`Locked::holds`]).
    pub fn shard_db(&mut self, id: usize, db: usize) -> &mut Db {
        self.touched |= db_bit(db);
        let guards = self.guards.slice_mut();
        let i = guards
            .binary_search_by_key(&id, |(i, _)| *i)
            .expect("shard locked");
        &mut guards[i].1.dbs[db]
    }

    /// Every locked shard.
    pub fn shards(&mut self) -> Vec<&mut Shard> {
        self.touched = u64::MAX;
        self.guards
            .slice_mut()
            .iter_mut()
            .map(|(_, g)| &mut **g)
            .collect()
    }

    /// Hands `f` each key that a lookup through this lock deleted because
    /// it had expired, with its database, in order per database part.
    /// Whoever locks calls this before unlocking when expired keys matter
    /// (they are propagated as DELs, in order with the writes).
    #[inline]
    /// The key events (`new`, `keymiss`) the locked parts recorded, in
    /// the order they happened, with their database. Only called while
    /// notify-keyspace-events asks for them.
    pub fn take_key_events(&mut self) -> Vec<(usize, KeyEvent)> {
        let mut all = Vec::new();
        for (_, g) in self.guards.slice_mut() {
            for (db, d) in g.dbs.iter_mut().enumerate() {
                if d.has_key_events() {
                    all.extend(d.take_key_events().into_iter().map(|e| (db, e)));
                }
            }
        }
        all.sort_unstable_by_key(|(_, e)| e.seq);
        all
    }

    pub fn take_expired(&mut self, f: impl FnMut(usize, Str)) {
        let touched = std::mem::take(&mut self.touched);
        // Every command asks; almost always nothing expired (one check
        // per database part handed out).
        if touched != 0 && self.any_expired(touched) {
            self.drain_expired(touched, f);
        }
    }

    fn any_expired(&self, touched: u64) -> bool {
        self.guards.slice().iter().any(|(_, g)| {
            let mut bits = touched;
            while bits != 0 {
                let bit = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let dbs = if bit == 63 {
                    &g.dbs[63.min(g.dbs.len())..]
                } else {
                    g.dbs.get(bit..bit + 1).unwrap_or_default()
                };
                if dbs.iter().any(Db::has_expired) {
                    return true;
                }
            }
            false
        })
    }

    fn drain_expired(&mut self, touched: u64, mut f: impl FnMut(usize, Str)) {
        for (_, g) in self.guards.slice_mut() {
            // Only the databases handed out (usually one), not all 16.
            let mut bits = touched;
            while bits != 0 {
                let bit = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                // Bit 63 stands for every database from 63 on.
                let dbs = if bit == 63 {
                    63..g.dbs.len()
                } else {
                    bit..bit + 1
                };
                for i in dbs {
                    let Some(db) = g.dbs.get_mut(i) else { break };
                    if db.has_expired() {
                        for key in db.take_expired() {
                            f(i, key);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Str, Value};

    fn s(v: &str) -> Value {
        Value::String(Str::new(v.as_bytes()))
    }

    #[test]
    fn short_keys_hash_apart() {
        // Every key of 0..=10 bytes over a 3-letter alphabet (including a
        // zero byte, the padding a naive tail read would confuse): no two
        // share a hash.
        let mut seen = std::collections::HashSet::new();
        let mut keys = vec![Vec::new()];
        let mut n = 0;
        for _ in 0..=10 {
            for k in &keys {
                assert!(seen.insert(key_hash(k)), "collision on {k:?}");
                n += 1;
            }
            keys = keys
                .iter()
                .flat_map(|k| [0u8, 1, 255].map(|b| [k.as_slice(), &[b]].concat()))
                .collect();
        }
        assert_eq!(n, (0..=10).map(|l| 3usize.pow(l)).sum::<usize>());
    }

    #[test]
    fn locking_gives_each_key_its_shard() {
        let ks = Keyspace::new(16, 16, Arc::default());
        let mut ids: Vec<usize> = [b"a".as_ref(), b"b", b"c"]
            .iter()
            .map(|k| ks.shard_of(k))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let mut l = ks.lock(&ids);
        l.db(3, b"a").set(b"a", s("x"), None, 0);
        l.db(3, b"c").set(b"c", s("y"), None, 0);
        drop(l);
        let mut all = ks.lock_all();
        assert_eq!(all.dbs(3).into_iter().map(|d| d.len()).sum::<usize>(), 2);
    }
}
