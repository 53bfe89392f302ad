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
//! so a power-of-two table's slack costs little (see kvserver/README.md).
//!
//! Expiry: a key's deadline (ms since the epoch) lives in `expires`, only
//! for keys that have one; it is checked on every access (lazy expiry) and
//! an active cycle samples `expires` at random ([`Keyspace::active_expire`]),
//! as Redis does.

use crate::util::Rng;
use bytes::Bytes;
use hashbrown::HashMap;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::sync::{Mutex, MutexGuard};

/// The hasher of the collections inside values (hashbrown's fast default).
pub type Hasher = hashbrown::DefaultHashBuilder;

/// Redis 7.0's encoding thresholds (its built-in defaults). They only decide
/// what OBJECT ENCODING reports (and whether HSCAN/SSCAN answer in one
/// call, as Redis does for its compact encodings): the data structure here
/// is the same either way.
pub const HASH_MAX_LISTPACK_ENTRIES: usize = 512;
pub const HASH_MAX_LISTPACK_VALUE: usize = 64;
pub const SET_MAX_INTSET_ENTRIES: usize = 512;
/// Strings up to this length are `embstr` (one allocation with the object).
pub const EMBSTR_MAX: usize = 44;

/// A hash: an insertion-ordered map (so a small hash lists its fields in
/// the order Redis's listpack would, until a delete; and random fields and
/// HSCAN positions are O(1) by index). Fields and values are [`Str`]s, so
/// a short one (up to 22 bytes) takes no allocation of its own.
#[derive(Debug, Clone, Default)]
pub struct HashObj {
    pub map: indexmap::IndexMap<Str, Str, Hasher>,
    /// Redis converted it to a hashtable (too many or too long fields).
    /// Sticky: Redis never converts back.
    pub big: bool,
}

impl HashObj {
    /// Sets `field`; true if it is new.
    pub fn insert(&mut self, field: &[u8], value: Str) -> bool {
        if field.len() > HASH_MAX_LISTPACK_VALUE || value.len() > HASH_MAX_LISTPACK_VALUE {
            self.big = true;
        }
        let new = if field.len() <= Str::INLINE {
            // A short field is a Str without an allocation: one lookup.
            match self.map.entry(Str::new(field)) {
                indexmap::map::Entry::Occupied(mut o) => {
                    o.insert(value);
                    false
                }
                indexmap::map::Entry::Vacant(v) => {
                    v.insert(value);
                    true
                }
            }
        } else {
            match self.map.get_mut(field) {
                Some(v) => {
                    *v = value;
                    false
                }
                None => {
                    self.map.insert(Str::new(field), value);
                    true
                }
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

/// A set: members by position for O(1) random members and index cursors
/// (see `member_set.rs`). Members are [`Str`]s (a short one takes no
/// allocation of its own, and lies in the hash table's bucket).
#[derive(Debug, Clone, Default)]
pub struct SetObj {
    pub set: crate::types::member_set::MemberSet,
    /// Not an intset any more (a non-integer member, or too many): sticky,
    /// as in Redis 7.0 (which has no listpack sets yet).
    pub big: bool,
}

impl SetObj {
    /// Adds `m`; true if it is new.
    pub fn insert(&mut self, m: &[u8]) -> bool {
        // A short member is a Str without an allocation: one lookup; a
        // long one is only copied when new.
        if m.len() > Str::INLINE && self.set.contains(m) {
            return false;
        }
        self.insert_str(Str::new(m))
    }

    /// Adds an owned member (no copy); true if it is new.
    pub fn insert_str(&mut self, m: Str) -> bool {
        let big = !self.big && crate::util::parse_i64(&m).is_none();
        if !self.set.insert(m) {
            return false;
        }
        if big || self.set.len() > SET_MAX_INTSET_ENTRIES {
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
/// tag (24 bytes), not the size of the largest collection header (the
/// keyspace holds one per key).
#[derive(Debug, Clone)]
pub enum Value {
    String(Str),
    List(Box<crate::types::packed_list::PackedList>),
    Hash(Box<HashObj>),
    Set(Box<SetObj>),
    ZSet(Box<crate::types::sorted_set::ZSetObj>),
    Stream(Box<crate::types::stream::Stream>),
}

/// A command met a key of another type (the caller replies WRONGTYPE).
#[derive(Debug)]
pub struct WrongType;

impl Value {
    /// The string, if this is one (None for the other types: the caller
    /// replies WRONGTYPE).
    pub fn as_str(&self) -> Option<&Str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_list(&mut self) -> Option<&mut crate::types::packed_list::PackedList> {
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

    pub fn as_zset(&mut self) -> Option<&mut crate::types::sorted_set::ZSetObj> {
        match self {
            Value::ZSet(z) => Some(z),
            _ => None,
        }
    }

    pub fn as_stream(&mut self) -> Option<&mut crate::types::stream::Stream> {
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
    /// 512 fields (redis-server 7.0's built-in default; its sample redis.conf says 128) or a 64-byte field/value; sets `intset` while all members
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

/// A short byte string stored inline, or a boxed one: the keys of the
/// keyspace, the values of string keys, list elements and hash fields and
/// values. Up to [`Str::INLINE`] bytes (`key:123456`, a 16-byte value, any
/// integer) take no allocation of their own; longer ones one exact-size
/// box. Dereferences to `[u8]`, and compares and hashes as its bytes (so
/// a map keyed by `Str` is looked up by `&[u8]`).
#[derive(Clone)]
pub enum Str {
    Inline { len: u8, buf: [u8; Str::INLINE] },
    Heap(Box<[u8]>),
}

impl Str {
    /// The longest string kept inline (the enum stays 24 bytes, the same
    /// as `Box<[u8]>` plus its tag, and `Value` with it).
    pub const INLINE: usize = 22;

    pub fn new(v: &[u8]) -> Str {
        if v.len() <= Str::INLINE {
            let mut buf = [0; Str::INLINE];
            buf[..v.len()].copy_from_slice(v);
            Str::Inline {
                len: v.len() as u8,
                buf,
            }
        } else {
            Str::Heap(v.into())
        }
    }

    /// The bytes as a vector (to grow or edit them), reusing the box.
    pub fn into_vec(self) -> Vec<u8> {
        match self {
            Str::Inline { len, buf } => buf[..len as usize].to_vec(),
            Str::Heap(b) => b.into_vec(),
        }
    }
}

impl From<Vec<u8>> for Str {
    fn from(v: Vec<u8>) -> Str {
        if v.len() <= Str::INLINE {
            Str::new(&v)
        } else {
            Str::Heap(v.into_boxed_slice())
        }
    }
}

impl From<&[u8]> for Str {
    fn from(v: &[u8]) -> Str {
        Str::new(v)
    }
}

impl Default for Str {
    fn default() -> Str {
        Str::Inline {
            len: 0,
            buf: [0; Str::INLINE],
        }
    }
}

impl std::ops::Deref for Str {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Str::Inline { len, buf } => &buf[..*len as usize],
            Str::Heap(b) => b,
        }
    }
}

impl std::ops::DerefMut for Str {
    fn deref_mut(&mut self) -> &mut [u8] {
        match self {
            Str::Inline { len, buf } => &mut buf[..*len as usize],
            Str::Heap(b) => b,
        }
    }
}

impl PartialEq for Str {
    fn eq(&self, other: &Str) -> bool {
        **self == **other
    }
}

impl Eq for Str {}

impl PartialEq<[u8]> for Str {
    fn eq(&self, other: &[u8]) -> bool {
        **self == *other
    }
}

impl PartialEq<&[u8]> for Str {
    fn eq(&self, other: &&[u8]) -> bool {
        **self == **other
    }
}

impl std::hash::Hash for Str {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        // As `[u8]` hashes, so `Borrow<[u8]>` lookups find it.
        (**self).hash(h)
    }
}

impl std::borrow::Borrow<[u8]> for Str {
    fn borrow(&self) -> &[u8] {
        self
    }
}

impl From<&Bytes> for Str {
    fn from(v: &Bytes) -> Str {
        Str::new(v)
    }
}

impl AsRef<[u8]> for Str {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl std::fmt::Debug for Str {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", Bytes::copy_from_slice(self))
    }
}

/// One key of the keyspace: its name, value and bookkeeping, 56 bytes
/// (the key and a short string value inline, see [`Str`]). Entries live in
/// their database's slot pages ([`Slots`]), the hash table holds only
/// their 4-byte slot numbers, and deadlines live in a side table, as
/// Redis's `expires` dict: a key without a TTL pays nothing for it.
#[derive(Debug)]
pub struct Entry {
    key: Str,
    pub value: Value,
    /// Redis's `robj.lru`, 24 bits read by the eviction policy of the
    /// moment: under an LRU (or no) policy the last access, in seconds
    /// since the epoch mod 2^24 (Redis's LRU clock, OBJECT IDLETIME);
    /// under an LFU policy the last decrement time (16 bits of minutes)
    /// and an 8-bit logarithmic access counter (see [`crate::exec::evict::lfu`]).
    /// A policy switch just reinterprets it, as in Redis.
    lru: u32,
    /// Whether `Db::expires` has a deadline for this slot.
    ttl: bool,
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
fn lru_of_secs(s: u64) -> u32 {
    (s & LRU_CLOCK_MAX as u64) as u32
}

/// Entries by slot number, in pages of [`PAGE`] (so growth never moves
/// or copies the entries, and memory is touched only as it is used);
/// freed slots are reused first.
#[derive(Debug, Default)]
struct Slots {
    pages: Vec<Vec<Option<Entry>>>,
    free: Vec<u32>,
}

const PAGE: usize = 1024;

impl Slots {
    fn alloc(&mut self, e: Entry) -> u32 {
        if let Some(i) = self.free.pop() {
            self.pages[i as usize / PAGE][i as usize % PAGE] = Some(e);
            return i;
        }
        if self.pages.last().map_or(true, |p| p.len() == PAGE) {
            // The first page grows as needed (small databases stay small),
            // the next ones are allocated whole.
            let cap = if self.pages.is_empty() { 0 } else { PAGE };
            self.pages.push(Vec::with_capacity(cap));
        }
        let p = self.pages.len() - 1;
        let page = &mut self.pages[p];
        page.push(Some(e));
        (p * PAGE + page.len() - 1) as u32
    }

    fn release(&mut self, i: u32) -> Option<Entry> {
        let e = self
            .pages
            .get_mut(i as usize / PAGE)?
            .get_mut(i as usize % PAGE)?
            .take();
        if e.is_some() {
            self.free.push(i);
        }
        e
    }

    fn get(&self, i: u32) -> Option<&Entry> {
        self.pages
            .get(i as usize / PAGE)?
            .get(i as usize % PAGE)?
            .as_ref()
    }

    fn get_mut(&mut self, i: u32) -> Option<&mut Entry> {
        self.pages
            .get_mut(i as usize / PAGE)?
            .get_mut(i as usize % PAGE)?
            .as_mut()
    }

    /// Slot numbers ever handed out (live or free).
    fn capacity(&self) -> usize {
        self.pages.iter().map(|p| p.len()).sum()
    }

    fn iter(&self) -> impl Iterator<Item = (u32, &Entry)> {
        self.pages.iter().enumerate().flat_map(|(p, page)| {
            page.iter()
                .enumerate()
                .filter_map(move |(j, e)| e.as_ref().map(|e| ((p * PAGE + j) as u32, e)))
        })
    }

    fn key_is(&self, i: u32, key: &[u8]) -> bool {
        self.get(i).is_some_and(|e| *e.key == *key)
    }

    fn hash_of(&self, i: u32) -> u64 {
        table_hash(self.get(i).map_or(&[][..], |e| &e.key))
    }
}

/// The hash of `key` in its shard's table: [`key_hash`] with its halves
/// swapped, because the shard is the low bits of `key_hash` (the same in
/// every key of a table) and hashbrown takes its bucket from the low bits
/// and its 7-bit tag from the top ones.
fn table_hash(key: &[u8]) -> u64 {
    key_hash(key).rotate_right(32)
}

/// The keys of one database's part of a shard: the hash table of slot
/// numbers, the entries, and the deadlines.
#[derive(Debug, Default)]
pub struct Store {
    table: hashbrown::HashTable<u32>,
    slots: Slots,
    /// Deadline (ms since the epoch) by slot, for the keys that have one;
    /// indexed, so the active cycle samples it at random in O(1).
    expires: indexmap::IndexMap<u32, u64, Hasher>,
}

impl Store {
    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    fn find(&self, key: &[u8]) -> Option<u32> {
        self.table
            .find(table_hash(key), |&i| self.slots.key_is(i, key))
            .copied()
    }

    fn deadline(&self, i: u32) -> Option<u64> {
        self.expires.get(&i).copied()
    }

    fn expired(&self, i: u32, e: &Entry, now: u64) -> bool {
        e.ttl && self.deadline(i).is_some_and(|at| now > at)
    }

    /// Removes slot `i` (whose key is `key`) from the table, the deadlines
    /// and the slots.
    fn remove_slot(&mut self, i: u32, key_hash: u64) -> Option<Entry> {
        if let Ok(o) = self.table.find_entry(key_hash, |&j| j == i) {
            o.remove();
        }
        let e = self.slots.release(i)?;
        if e.ttl {
            self.expires.swap_remove(&i);
        }
        if self.table.is_empty() {
            // Give the pages back once the database part is empty.
            self.slots = Slots::default();
        }
        Some(e)
    }
}

/// The time (seconds since the epoch) that [`Db::set`] stamps new values
/// with: kept by the accesses that know the time (every lookup and the
/// active expiry cycle), so storing costs no clock reading.
static LRU_CLOCK: AtomicU32 = AtomicU32::new(0);

/// Notes the time `now` (ms) as the clock; returns it in seconds.
fn note_clock(now: u64) -> u32 {
    let s = (now / 1000) as u32;
    if LRU_CLOCK.load(Relaxed) != s {
        LRU_CLOCK.store(s, Relaxed);
    }
    s
}

/// The clock, in seconds since the epoch.
fn clock_secs() -> u32 {
    match LRU_CLOCK.load(Relaxed) {
        0 => note_clock(crate::util::now_ms()),
        s => s,
    }
}

/// An access to an entry whose field is `lru`, at `secs`: the new field
/// (Redis's `lookupKey`: `updateLFU` or the LRU clock).
fn accessed(lru: u32, secs: u32) -> u32 {
    if crate::exec::evict::lfu::enabled() {
        crate::exec::evict::lfu::update(lru, secs as u64 * 1000)
    } else {
        lru_of_secs(secs as u64)
    }
}

/// One database's part of one shard.
#[derive(Debug, Default)]
pub struct Db {
    store: Store,
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
        if self.store.expired(i, e, now) {
            self.expire_key(key);
            return None;
        }
        Some(i)
    }

    /// The live entry of `key`, deleting it first if it has expired.
    pub fn get(&mut self, key: &[u8], now: u64) -> Option<&mut Entry> {
        let i = self.live(key, now)?;
        let secs = note_clock(now);
        let e = self.store.slots.get_mut(i)?;
        e.lru = accessed(e.lru, secs);
        Some(e)
    }

    /// [`Db::get`] without counting as an access (OBJECT, SCAN's TYPE).
    pub fn peek(&mut self, key: &[u8], now: u64) -> Option<&Entry> {
        let i = self.live(key, now)?;
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
        let i = match self.live(key, now) {
            Some(i) => i,
            None => {
                let Some(new) = new else { return Ok(None) };
                let i = self.put(key, new(), true);
                self.set_expire_slot(i, None);
                i
            }
        };
        let secs = note_clock(now);
        let Some(e) = self.store.slots.get_mut(i) else {
            return Ok(None);
        };
        e.lru = accessed(e.lru, secs);
        pick(&mut e.value).map(Some).ok_or(WrongType)
    }

    pub fn contains(&mut self, key: &[u8], now: u64) -> bool {
        self.live(key, now).is_some()
    }

    /// Sets `key` to `value` with `expire_at` (None: no expiry), replacing
    /// any old value and deadline.
    pub fn set(&mut self, key: &[u8], value: Value, expire_at: Option<u64>) {
        let i = self.put(key, value, true);
        self.set_expire_slot(i, expire_at);
    }

    /// Stores `value` at `key`, new or not (`stamp`: as an access); the
    /// slot. The deadline is left as it was. A new key starts with the
    /// clock (LRU) or the initial counter (LFU, Redis's `createObject`);
    /// an overwrite under LFU keeps the counter (Redis's `dbOverwrite`)
    /// after counting the write's lookup.
    fn put(&mut self, key: &[u8], value: Value, stamp: bool) -> u32 {
        self.touch(key);
        let secs = clock_secs();
        let Store { table, slots, .. } = &mut self.store;
        match table.entry(
            table_hash(key),
            |&i| slots.key_is(i, key),
            |&i| slots.hash_of(i),
        ) {
            hashbrown::hash_table::Entry::Occupied(o) => {
                let i = *o.get();
                if let Some(e) = slots.get_mut(i) {
                    e.value = value;
                    if stamp {
                        e.lru = accessed(e.lru, secs);
                    }
                }
                i
            }
            hashbrown::hash_table::Entry::Vacant(v) => {
                let lru = if crate::exec::evict::lfu::enabled() {
                    crate::exec::evict::lfu::fresh(
                        secs as u64 * 1000,
                        crate::exec::evict::lfu::INIT_VAL,
                    )
                } else {
                    lru_of_secs(secs as u64)
                };
                let i = slots.alloc(Entry {
                    key: Str::new(key),
                    value,
                    lru,
                    ttl: false,
                });
                v.insert(i);
                i
            }
        }
    }

    /// Replaces the value of an existing key, keeping its deadline (or sets
    /// a new key without one).
    pub fn set_keep_ttl(&mut self, key: &[u8], value: Value) {
        self.put(key, value, false);
    }

    /// RESTORE's IDLETIME / FREQ for an existing key (see
    /// [`Entry::set_idle_or_freq`]); not an access.
    pub fn set_idle_or_freq(&mut self, key: &[u8], idle: Option<u64>, freq: Option<u8>, now: u64) {
        let Some(i) = self.store.find(key) else {
            return;
        };
        if let Some(e) = self.store.slots.get_mut(i) {
            e.set_idle_or_freq(idle, freq, now);
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

    /// Deletes `key` because it expired (the AOF logs a DEL for it).
    fn expire_key(&mut self, key: &[u8]) {
        crate::persist::aof::note_expired(self.index, key);
        self.remove(key);
    }

    /// Deletes `key` (expired or not); returns its entry.
    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let h = table_hash(key);
        let s = &mut self.store;
        let i = *s.table.find(h, |&i| s.slots.key_is(i, key))?;
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
        self.store = Store::default();
    }

    /// FLUSH* ASYNC: as [`Db::clear`], but hands the old keys back so the
    /// caller can free them off the lock.
    pub fn take_all(&mut self) -> Store {
        self.touch_existing_watched();
        std::mem::take(&mut self.store)
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
            if self.get(&k, now).is_some() {
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
                let Some(key) = self.store.slots.get(i).map(|e| e.key.clone()) else {
                    // Cannot happen (a deadline always has its slot).
                    self.store.expires.swap_remove(&i);
                    continue;
                };
                crate::persist::aof::note_expired(self.index, &key);
                self.store.remove_slot(i, table_hash(&key));
                self.touch(&key);
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

/// Which shard a key lives in (its low bits), and the key's table hash
/// ([`table_hash`]) and SCAN position. Word at a time: each 8-byte word
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
        let guards = match ids {
            // The common case, one key: no allocation.
            &[i] => Guards::One([(i, lock(&self.shards[i]))]),
            _ => Guards::Many(ids.iter().map(|&i| (i, lock(&self.shards[i]))).collect()),
        };
        Locked { ks: self, guards }
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
            note_clock(now);
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
            crate::persist::aof::flush_expired();
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
        &mut self.guards.slice_mut()[i].1.dbs[db]
    }

    /// Every locked shard's database `db`.
    pub fn dbs(&mut self, db: usize) -> Vec<&mut Db> {
        self.guards
            .slice_mut()
            .iter_mut()
            .map(|(_, g)| &mut g.dbs[db])
            .collect()
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
        let guards = self.guards.slice_mut();
        let i = guards
            .binary_search_by_key(&id, |(i, _)| *i)
            .expect("shard locked");
        &mut guards[i].1.dbs[db]
    }

    /// Every locked shard.
    pub fn shards(&mut self) -> Vec<&mut Shard> {
        self.guards
            .slice_mut()
            .iter_mut()
            .map(|(_, g)| &mut **g)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn s(v: &str) -> Value {
        Value::String(Str::new(v.as_bytes()))
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
            db.set(format!("key:{i}").as_bytes(), s("v"), None);
        }
        assert_eq!(db.store.slots.capacity(), 3000);
        for i in 0..1000 {
            assert!(db.remove(format!("key:{i}").as_bytes()).is_some());
        }
        for i in 0..1000 {
            db.set(format!("new:{i}").as_bytes(), s("w"), None);
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
        db.set(long.as_bytes(), s(&long), Some(5));
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
    fn str_inline_and_heap() {
        for n in [0, 1, Str::INLINE, Str::INLINE + 1, 1000] {
            let v: Vec<u8> = (0..n).map(|i| i as u8).collect();
            let a = Str::new(&v);
            assert_eq!(&*a, &v[..]);
            assert_eq!(matches!(a, Str::Inline { .. }), n <= Str::INLINE);
            assert_eq!(Str::from(v.clone()), a);
            assert_eq!(a.into_vec(), v);
        }
    }

    #[test]
    fn str_keys_are_found_by_bytes() {
        // Hash and Eq agree with [u8]'s, inline or boxed.
        let mut h = HashObj::default();
        let long = vec![b'f'; Str::INLINE + 5];
        assert!(h.insert(b"short", Str::new(b"1")));
        assert!(h.insert(&long, Str::new(b"2")));
        assert!(!h.insert(b"short", Str::new(b"3")), "updates in place");
        assert!(!h.insert(&long, Str::new(b"4")));
        assert_eq!(h.map.get(&b"short"[..]).map(|v| &v[..]), Some(&b"3"[..]));
        assert_eq!(h.map.get(&long[..]).map(|v| &v[..]), Some(&b"4"[..]));
        assert_eq!(h.map.len(), 2);
        let mut set = SetObj::default();
        assert!(set.insert(b"m") && set.insert(&long));
        assert!(!set.insert(b"m") && !set.insert(&long));
        assert!(set.set.contains(&b"m"[..]) && set.set.contains(&long[..]));
        assert_eq!(Str::new(b"abc"), &b"abc"[..]);
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
            h.insert(i.to_string().as_bytes(), Str::new(b"v"));
        }
        assert_eq!(h.encoding(), "listpack");
        h.insert(b"one-more", Str::new(b"v"));
        assert_eq!(h.encoding(), "hashtable");
        let mut h2 = HashObj::default();
        h2.insert(b"f", Str::from(vec![b'x'; HASH_MAX_LISTPACK_VALUE + 1]));
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
        // key, plus 4 bytes of table per bucket). Collections are boxed and
        // a string is a Str (22 bytes inline or a box), whose tag has room
        // for Value's: 24 bytes. Entry: key and value (24 each), the LRU
        // clock and the TTL flag.
        assert_eq!(std::mem::size_of::<Str>(), 24);
        assert_eq!(std::mem::size_of::<Value>(), 24);
        assert_eq!(std::mem::size_of::<Entry>(), 56);
        assert_eq!(std::mem::size_of::<Option<Entry>>(), 56);
    }

    #[test]
    fn small_hashes_keep_insertion_order_on_delete() {
        let mut h = HashObj::default();
        for f in ["a", "b", "c", "d"] {
            h.insert(f.as_bytes(), Str::new(b"v"));
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
        l.push_back(b"x");
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
