//! Client-side caching (Redis's tracking.c): CLIENT TRACKING and the
//! invalidation messages.
//!
//! Default mode: after a read-only command of a tracking client, its keys
//! are remembered in the tracking table with the client's [`Target`] (the
//! client, or the client it REDIRECTs to), subject to OPTIN / OPTOUT and
//! CLIENT CACHING. When a key is modified ([`crate::exec::context::Ctx::modified_in`],
//! the one place every write goes through), expires or is evicted, its
//! entry is taken out and each target gets one invalidation
//! ([`Delivery::Invalidate`]), except the writer itself under NOLOOP. The
//! table is split like the keyspace: one part per keyspace shard, taken
//! only under that shard's lock (remembering runs while the read command
//! still holds it, invalidating while the write does), so its mutex is
//! never contended and no lock is shared by all writers.
//!
//! BCAST mode: no table; every modified key whose name starts with one of
//! a client's prefixes (all keys with no prefix) is sent to it.
//!
//! FLUSHALL / FLUSHDB send every tracking client a null invalidation and
//! empty the table, as Redis. Keys are tracked by name, whatever the
//! database, as in Redis.
//!
//! The invalidation is encoded by the receiving connection's I/O thread
//! ([`encode`]): a RESP3 push (`>2 invalidate [keys]`), or for a RESP2
//! client subscribed to `__redis__:invalidate` (a REDIRECT target) a
//! pub/sub message on that channel; anything else drops it, as Redis.
//!
//! Cost with no tracking client: one relaxed load per modified key.

use super::effects::{ClientRef, Delivery};
use super::table::{flags, Command};
use crate::proto::reply::Reply;
use crate::server::{Client, Server};
use bytes::Bytes;
use hashbrown::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Where a tracking client's invalidations go (itself or its REDIRECT
/// target), which client tracks, and whether it asked for NOLOOP (no
/// invalidation of what it wrote itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub to: ClientRef,
    pub tracker: u64,
    pub noloop: bool,
}

/// A client's CLIENT TRACKING settings (on its `Client`).
#[derive(Debug, Clone, Default)]
pub struct ClientTracking {
    /// REDIRECT's client, if any.
    pub redirect: Option<ClientRef>,
    pub bcast: bool,
    pub prefixes: Vec<Bytes>,
    pub optin: bool,
    pub optout: bool,
    pub noloop: bool,
    /// CLIENT CACHING YES|NO, for the next command only.
    pub caching: Option<bool>,
}

/// One part of the default mode's table: key → the targets that read it.
type Table = HashMap<Bytes, Vec<Target>>;

/// The server's tracking state.
#[derive(Debug)]
pub struct Tracking {
    /// Clients with tracking on, by id (FLUSHALL tells them all; an
    /// invalidation checks its target is still current). Written only as
    /// clients turn tracking on and off.
    clients: RwLock<HashMap<u64, Target>>,
    /// How many: 0 means nothing to do on a write.
    active: AtomicUsize,
    /// Default mode: per keyspace shard, key → the targets that read it.
    tables: Box<[Mutex<Table>]>,
    /// Keys in the tables and (key, target) pairs (INFO).
    keys: AtomicUsize,
    items: AtomicUsize,
    /// BCAST mode: (prefix, target) pairs, and how many clients use it.
    bcast: RwLock<Vec<(Bytes, Target)>>,
    bcast_clients: AtomicUsize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}

impl Tracking {
    /// Tracking for a keyspace of `shards` shards.
    pub fn new(shards: usize) -> Tracking {
        Tracking {
            clients: RwLock::default(),
            active: AtomicUsize::new(0),
            tables: (0..shards.max(1)).map(|_| Mutex::default()).collect(),
            keys: AtomicUsize::new(0),
            items: AtomicUsize::new(0),
            bcast: RwLock::default(),
            bcast_clients: AtomicUsize::new(0),
        }
    }

    /// Whether any client tracks (the writers' fast check).
    pub fn active(&self) -> bool {
        self.active.load(Relaxed) > 0
    }

    /// INFO: tracking_clients, tracking_total_keys, tracking_total_items,
    /// tracking_total_prefixes.
    pub fn info(&self) -> [usize; 4] {
        let prefixes = read(&self.bcast);
        let mut distinct: Vec<&Bytes> = prefixes.iter().map(|(p, _)| p).collect();
        distinct.sort();
        distinct.dedup();
        [
            self.active.load(Relaxed),
            self.keys.load(Relaxed),
            self.items.load(Relaxed),
            distinct.len(),
        ]
    }

    fn table(&self, server: &Server, key: &[u8]) -> MutexGuard<'_, Table> {
        lock(&self.tables[server.ks.shard_of(key) % self.tables.len()])
    }
}

/// The target of `c`'s invalidations.
fn target_of(c: &Client, t: &ClientTracking) -> Target {
    Target {
        to: t.redirect.unwrap_or(ClientRef {
            thread: c.thread,
            conn: c.conn,
            id: c.id,
        }),
        tracker: c.id,
        noloop: t.noloop,
    }
}

/// CLIENT TRACKING ON with `settings` (checked by the caller): registers
/// the client (and its BCAST prefixes).
pub fn enable(server: &Server, c: &mut Client, settings: ClientTracking) {
    let tr = &server.tracking;
    if c.tracking.is_some() {
        // Turned on again (new options, same mode): its prefixes are added
        // to the ones it has, as Redis does.
        forget_prefixes(server, c.id);
    }
    let target = target_of(c, &settings);
    if write(&tr.clients).insert(c.id, target).is_none() {
        tr.active.fetch_add(1, Relaxed);
        if settings.bcast {
            tr.bcast_clients.fetch_add(1, Relaxed);
        }
    }
    if settings.bcast {
        let mut b = write(&tr.bcast);
        if settings.prefixes.is_empty() {
            b.push((Bytes::new(), target));
        }
        for p in &settings.prefixes {
            b.push((p.clone(), target));
        }
    }
    c.info
        .set_tracking(settings.redirect.map_or(0, |r| r.id as i64), settings.bcast);
    c.tracking = Some(Box::new(settings));
}

/// CLIENT TRACKING OFF, RESET, disconnect: the client gets no more
/// invalidations (its keys leave the table as they are invalidated).
pub fn disable(server: &Server, c: &mut Client) {
    let Some(t) = c.tracking.take() else {
        return;
    };
    c.info.set_tracking(-1, false);
    let tr = &server.tracking;
    if write(&tr.clients).remove(&c.id).is_some() {
        tr.active.fetch_sub(1, Relaxed);
        if t.bcast {
            tr.bcast_clients.fetch_sub(1, Relaxed);
        }
    }
    if t.bcast {
        forget_prefixes(server, c.id);
    }
}

fn forget_prefixes(server: &Server, id: u64) {
    let mut b = write(&server.tracking.bcast);
    b.retain(|(_, t)| t.tracker != id);
}

/// After `cmd` ran for a tracking client: remembers the keys of a read
/// command (default mode, as OPTIN / OPTOUT and CLIENT CACHING allow) and
/// ends a CLIENT CACHING's effect. Called with the command's shards still
/// locked; invalidations of keys pushed out of a full table go to
/// `deliver`.
pub fn after_command(
    server: &Server,
    c: &mut Client,
    cmd: &Command,
    argv: &[&[u8]],
    deliver: &mut Vec<Delivery>,
) {
    let Some(t) = c.tracking.as_deref() else {
        return;
    };
    let target = target_of(c, t);
    let Some(t) = c.tracking.as_deref_mut() else {
        return;
    };
    let caching = if cmd.name == "client|caching" {
        t.caching
    } else {
        t.caching.take()
    };
    if t.bcast || !cmd.has(flags::READONLY) {
        return;
    }
    if (t.optin && caching != Some(true)) || (t.optout && caching == Some(false)) {
        return;
    }
    let tr = &server.tracking;
    for i in cmd.key_indices(argv) {
        let key = argv[i];
        let mut table = tr.table(server, key);
        let targets = match table.get_mut(key) {
            Some(v) => v,
            None => {
                tr.keys.fetch_add(1, Relaxed);
                table.entry(Bytes::copy_from_slice(key)).or_default()
            }
        };
        if !targets.contains(&target) {
            targets.push(target);
            tr.items.fetch_add(1, Relaxed);
        }
    }
    let max = server.config.tracking_max_keys.load(Relaxed) as usize;
    if max > 0 && tr.keys.load(Relaxed) > max {
        evict_keys(server, cmd, argv, max, deliver);
    }
}

/// tracking-table-max-keys: while the table is over it, keys of the parts
/// this command holds locked are invalidated (Redis evicts random keys).
fn evict_keys(
    server: &Server,
    cmd: &Command,
    argv: &[&[u8]],
    max: usize,
    deliver: &mut Vec<Delivery>,
) {
    let tr = &server.tracking;
    for i in cmd.key_indices(argv) {
        let mut table = tr.table(server, argv[i]);
        while tr.keys.load(Relaxed) > max {
            let Some(k) = table.keys().next().cloned() else {
                break;
            };
            let Some(targets) = table.remove(&k) else {
                break;
            };
            tr.keys.fetch_sub(1, Relaxed);
            tr.items.fetch_sub(targets.len(), Relaxed);
            for t in targets {
                deliver.push(Delivery::Invalidate {
                    to: t.to,
                    key: Some(k.clone()),
                });
            }
        }
    }
}

/// `key` was modified by client `writer` (0: no client, expiry): its
/// invalidations, into `deliver`.
pub fn invalidate(server: &Server, writer: u64, key: &[u8], deliver: &mut Vec<Delivery>) {
    let tr = &server.tracking;
    let taken = {
        let mut table = tr.table(server, key);
        table.remove(key)
    };
    if let Some(targets) = taken {
        tr.keys.fetch_sub(1, Relaxed);
        tr.items.fetch_sub(targets.len(), Relaxed);
        let clients = read(&tr.clients);
        for t in targets {
            send_key(&clients, t, writer, key, deliver);
        }
    }
    if tr.bcast_clients.load(Relaxed) > 0 {
        let b = read(&tr.bcast);
        let clients = read(&tr.clients);
        for (prefix, t) in b.iter() {
            if key.starts_with(prefix) {
                send_key(&clients, *t, writer, key, deliver);
            }
        }
    }
}

/// One key's invalidation to `t`, unless its client no longer tracks (or
/// turned it off and on since: another target) or it is the writer under
/// NOLOOP.
fn send_key(
    clients: &HashMap<u64, Target>,
    t: Target,
    writer: u64,
    key: &[u8],
    deliver: &mut Vec<Delivery>,
) {
    if clients.get(&t.tracker) != Some(&t) || (t.noloop && writer == t.tracker) {
        return;
    }
    deliver.push(Delivery::Invalidate {
        to: t.to,
        key: Some(Bytes::copy_from_slice(key)),
    });
}

/// FLUSHALL / FLUSHDB: a null invalidation to every tracking client, and
/// the table emptied.
pub fn flushed(server: &Server, deliver: &mut Vec<Delivery>) {
    let tr = &server.tracking;
    if !tr.active() {
        return;
    }
    for t in tr.tables.iter() {
        lock(t).clear();
    }
    tr.keys.store(0, Relaxed);
    tr.items.store(0, Relaxed);
    for t in read(&tr.clients).values() {
        deliver.push(Delivery::Invalidate {
            to: t.to,
            key: None,
        });
    }
}

/// Encodes an invalidation for `c`'s connection (`out`): a RESP3 push, a
/// pub/sub message on `__redis__:invalidate` for a RESP2 subscriber of it,
/// else nothing.
pub fn encode(out: &mut Reply, c: &Client, key: Option<&[u8]>) {
    const CHANNEL: &[u8] = b"__redis__:invalidate";
    if out.resp3() {
        out.push(2);
        out.bulk(b"invalidate");
    } else if c.channels.contains(CHANNEL) {
        out.array(3);
        out.bulk(b"message");
        out.bulk(CHANNEL);
    } else {
        return;
    }
    match key {
        Some(k) => {
            out.array(1);
            out.bulk(k);
        }
        None => out.null(),
    }
}
