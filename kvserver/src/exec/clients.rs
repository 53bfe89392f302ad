//! The client registry: what CLIENT LIST / INFO / KILL see of every
//! connection, whatever I/O thread owns it.
//!
//! Each connection has one [`ClientInfo`] behind an `Arc`, shared by the
//! owning thread's [`crate::server::Client`] and the registry (a map by
//! id). The owner updates it with relaxed atomic stores on its own cache
//! lines (last command, last interaction, db) and a small mutex for the
//! rarely changed name; readers (CLIENT LIST, SLOWLOG) only load. Fields
//! that only the networking layer knows (query buffer, output list sizes)
//! are reported as 0.
//!
//! CLIENT KILL never touches another thread's socket: it sets
//! [`ClientInfo::kill`] and records a `Delivery::Kill` for the owning I/O
//! thread (posted to its mailbox), which closes the connection through its
//! ring if the slab key still holds that client id: only that thread knows
//! the fd is still that connection's.

use bytes::Bytes;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// No command yet (for `cmd=`).
pub const NO_CMD: usize = usize::MAX;

#[derive(Debug)]
pub struct ClientInfo {
    pub id: u64,
    /// `ip:port` of the peer and of our end, as Redis prints them
    /// (`[::1]:port` is printed `::1:port`, as Redis does).
    pub addr: String,
    pub laddr: String,
    /// The peer's address (protected mode), None if unknown.
    pub peer_ip: Option<std::net::IpAddr>,
    pub fd: i32,
    /// The owning I/O thread and the connection's slab key there: where
    /// CLIENT KILL sends its `Delivery::Kill`.
    pub thread: usize,
    pub conn: usize,
    /// Creation time, ms since the epoch.
    pub created_ms: u64,
    /// Last command's time, ms since the epoch (`idle=`).
    pub last_ms: AtomicU64,
    /// Index of the last command in `COMMANDS` ([`NO_CMD`] before the first).
    pub last_cmd: AtomicUsize,
    pub db: AtomicUsize,
    pub resp: AtomicU8,
    /// Commands queued in MULTI, -1 outside MULTI (`multi=`, flag `x`).
    pub multi: AtomicI64,
    pub name: Mutex<Option<Bytes>>,
    /// Set by CLIENT KILL (flag `A` in CLIENT LIST until the owning I/O
    /// thread has closed the connection).
    pub kill: AtomicBool,
    pub no_evict: AtomicBool,
    /// Channels, patterns and shard channels subscribed to (`sub=`,
    /// `psub=`, `ssub=`; flag `P`).
    subs: [AtomicUsize; 3],
    /// The connection's buffers as its I/O thread last left them: input
    /// held and its spare capacity (`qbuf=`, `qbuf-free=`), replies
    /// waiting and the memory they take (`obl=`, `omem=`).
    buffers: [AtomicU64; 4],
    /// CLIENT TRACKING: -1 off, 0 on without REDIRECT, else its id
    /// (`redir=`, flag `t`), and BCAST (flag `B`).
    tracking_redir: AtomicI64,
    tracking_bcast: AtomicBool,
}

fn fmt_addr(a: Option<SocketAddr>) -> String {
    match a {
        Some(a) => format!("{}:{}", a.ip(), a.port()),
        None => "?:0".into(),
    }
}

impl ClientInfo {
    /// The registry entry of the connection on `fd` (its addresses are read
    /// now), slab key `conn` of I/O thread `thread`.
    pub fn new(id: u64, fd: i32, now_ms: u64, thread: usize, conn: usize) -> ClientInfo {
        let (peer, local) = match fastio::server::net::peer_and_local(fd) {
            Some((p, l)) => (Some(p), Some(l)),
            None => (None, None),
        };
        ClientInfo::with_addrs(id, fd, now_ms, thread, conn, peer, local)
    }

    /// For a client with no connection (`blocking::serve`'s temporary one).
    pub fn detached(id: u64) -> ClientInfo {
        ClientInfo::with_addrs(id, -1, 0, 0, 0, None, None)
    }

    fn with_addrs(
        id: u64,
        fd: i32,
        now_ms: u64,
        thread: usize,
        conn: usize,
        peer: Option<SocketAddr>,
        local: Option<SocketAddr>,
    ) -> ClientInfo {
        ClientInfo {
            id,
            thread,
            conn,
            addr: fmt_addr(peer),
            peer_ip: peer.map(|p| p.ip()),
            laddr: fmt_addr(local),
            fd,
            created_ms: now_ms,
            last_ms: AtomicU64::new(now_ms),
            last_cmd: AtomicUsize::new(NO_CMD),
            db: AtomicUsize::new(0),
            resp: AtomicU8::new(2),
            multi: AtomicI64::new(-1),
            name: Mutex::new(None),
            kill: AtomicBool::new(false),
            no_evict: AtomicBool::new(false),
            subs: Default::default(),
            buffers: Default::default(),
            tracking_redir: AtomicI64::new(-1),
            tracking_bcast: AtomicBool::new(false),
        }
    }

    /// What CLIENT LIST shows of CLIENT TRACKING (`redirect`: -1 off, 0
    /// on without REDIRECT, else the target's id).
    pub fn set_tracking(&self, redirect: i64, bcast: bool) {
        self.tracking_redir.store(redirect, Ordering::Relaxed);
        self.tracking_bcast.store(bcast, Ordering::Relaxed);
    }

    /// The subscription counts (pub/sub, after every change).
    pub fn set_subscriptions(&self, channels: usize, patterns: usize, shard: usize) {
        for (a, n) in self.subs.iter().zip([channels, patterns, shard]) {
            a.store(n, Ordering::Relaxed);
        }
    }

    /// The buffer figures (the I/O thread, after serving the connection).
    pub fn set_buffers(&self, qbuf: usize, qbuf_free: usize, obl: usize, omem: usize) {
        for (a, n) in self.buffers.iter().zip([qbuf, qbuf_free, obl, omem]) {
            a.store(n as u64, Ordering::Relaxed);
        }
    }

    pub fn name(&self) -> Option<Bytes> {
        self.name.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn set_name(&self, n: Option<Bytes>) {
        *self.name.lock().unwrap_or_else(|e| e.into_inner()) = n;
    }

    pub fn kill_requested(&self) -> bool {
        self.kill.load(Ordering::Relaxed)
    }

    /// Redis's CLIENT LIST line (without the newline), field for field as
    /// Redis 7.0.15 prints it.
    pub fn line(&self, now_ms: u64) -> String {
        let name = self.name();
        let name = name
            .as_deref()
            .map(String::from_utf8_lossy)
            .unwrap_or_default();
        let multi = self.multi.load(Ordering::Relaxed);
        // Redis's letters, in its order.
        let mut flags = String::new();
        let [sub, psub, ssub] = self.subs.each_ref().map(|a| a.load(Ordering::Relaxed));
        let redir = self.tracking_redir.load(Ordering::Relaxed);
        for (on, letter) in [
            (sub + psub + ssub > 0, 'P'),
            (multi >= 0, 'x'),
            (redir >= 0, 't'),
            (self.tracking_bcast.load(Ordering::Relaxed), 'B'),
            (self.kill_requested(), 'A'),
            (self.no_evict.load(Ordering::Relaxed), 'e'),
        ] {
            if on {
                flags.push(letter);
            }
        }
        let [qbuf, qbuf_free, obl, omem] =
            self.buffers.each_ref().map(|a| a.load(Ordering::Relaxed));
        let (rbs, tot) = (qbuf + qbuf_free, qbuf + qbuf_free + omem);
        let events = if obl > 0 { "rw" } else { "r" };
        if flags.is_empty() {
            flags.push('N');
        }
        let cmd = match self.last_cmd.load(Ordering::Relaxed) {
            NO_CMD => "NULL",
            i => crate::exec::table::COMMANDS
                .get(i)
                .map_or("NULL", |c| c.name),
        };
        format!(
            "id={} addr={} laddr={} fd={} name={name} age={} idle={} flags={flags} db={} \
             sub={sub} psub={psub} ssub={ssub} multi={multi} qbuf={qbuf} \
             qbuf-free={qbuf_free} argv-mem=0 multi-mem=0 rbs={rbs} rbp={qbuf} obl={obl} \
             oll=0 omem={omem} tot-mem={tot} events={events} cmd={cmd} user=default \
             redir={redir} resp={}",
            self.id,
            self.addr,
            self.laddr,
            self.fd,
            now_ms.saturating_sub(self.created_ms) / 1000,
            now_ms.saturating_sub(self.last_ms.load(Ordering::Relaxed)) / 1000,
            self.db.load(Ordering::Relaxed),
            self.resp.load(Ordering::Relaxed),
        )
    }
}

/// Every connected client, by id (so CLIENT LIST is in id order, as
/// Redis's list is in connection order).
#[derive(Debug, Default)]
pub struct Registry {
    map: Mutex<BTreeMap<u64, Arc<ClientInfo>>>,
}

impl Registry {
    fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Arc<ClientInfo>>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn add(&self, c: Arc<ClientInfo>) {
        self.map().insert(c.id, c);
    }

    pub fn remove(&self, id: u64) {
        self.map().remove(&id);
    }

    /// The client with this id, if connected.
    pub fn get(&self, id: u64) -> Option<Arc<ClientInfo>> {
        self.map().get(&id).cloned()
    }

    /// A snapshot (the lock is not held while the caller formats).
    pub fn all(&self) -> Vec<Arc<ClientInfo>> {
        self.map().values().cloned().collect()
    }
}
