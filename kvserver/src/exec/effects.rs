//! What a command did besides its reply, recorded by its handler on the
//! context (Redis's `alsoPropagate` / `rewriteClientCommandVector`,
//! `signalModifiedKey`, `server.dirty`) and handed by the pipeline to
//! whoever consumes it: the AOF gets the records, blocked clients the
//! modified keys, other connections the deliveries. Nobody downstream
//! parses a reply to guess what a command did.
//!
//! One [`Effects`] belongs to an *execution unit*: one command, or a
//! transaction whose queued commands add to the same records (wrapped in
//! MULTI ... EXEC when they are propagated). Each thread that executes
//! commands keeps one and reuses it.

use super::stats::SHARED;
use crate::persist::records::Records;
use bytes::Bytes;

/// A connection, wherever it lives: its I/O thread, its slot there and
/// its client id (a message for a client that is gone, its slot reused,
/// is dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientRef {
    pub thread: usize,
    pub conn: usize,
    pub id: u64,
}

/// Something for another connection (or this one, later), delivered by its
/// I/O thread.
#[derive(Debug)]
pub enum Delivery {
    /// Bytes appended to the client's output as they are (MONITOR lines).
    Bytes(ClientRef, Bytes),
    /// A pub/sub message, encoded for the client's protocol at delivery
    /// (RESP2 array or RESP3 push).
    Message {
        to: ClientRef,
        pattern: Option<Bytes>,
        /// An SPUBLISH to a shard channel (`smessage`).
        shard: bool,
        channel: Bytes,
        payload: Bytes,
    },
    /// The client was blocked and a write served it (its waiter was
    /// removed from the registry): its reply; it goes on with its input.
    Unblock { to: ClientRef, reply: Bytes },
    /// Close the client now, without sending what is pending (CLIENT KILL).
    Kill(ClientRef),
    /// CLIENT UNPAUSE: I/O thread `.0` looks at the clients it holds.
    Resume(usize),
    /// Client-side caching: `key` (None: everything, after a flush) may
    /// have changed; encoded by the receiver (`tracking::encode`).
    Invalidate { to: ClientRef, key: Option<Bytes> },
}

impl Delivery {
    pub fn to(&self) -> ClientRef {
        match self {
            Delivery::Bytes(to, _)
            | Delivery::Message { to, .. }
            | Delivery::Unblock { to, .. }
            | Delivery::Invalidate { to, .. }
            | Delivery::Kill(to) => *to,
            Delivery::Resume(thread) => ClientRef {
                thread: *thread,
                conn: usize::MAX,
                id: 0,
            },
        }
    }
}

/// A keyspace event (Redis's notifyKeyspaceEvent): its name (`set`,
/// `lpush`, `expired`...), database and key.
#[derive(Debug)]
pub struct Event {
    pub name: &'static str,
    pub db: usize,
    pub key: Bytes,
}

/// The effects of one execution unit.
#[derive(Debug)]
pub struct Effects {
    /// The thread whose commands these are (an I/O thread's id, or
    /// [`SHARED`]): its set of statistics counters.
    pub(super) thread: usize,
    /// Someone consumes propagated commands (the AOF is on): records are
    /// kept only then, so a server without persistence pays nothing.
    pub(super) propagating: bool,
    /// The unit's commands to propagate, in execution order.
    pub(super) records: Records,
    /// They are a transaction's: propagated inside MULTI ... EXEC.
    pub(super) transaction: bool,
    /// The running command's replacement record(s), when its handler
    /// rewrote what it propagates (`own_set`); otherwise a write that
    /// succeeded propagates its own arguments.
    pub(super) own: Records,
    pub(super) own_set: bool,
    /// Keys written while some client is blocked (it may be waiting on
    /// them): served once the unit's locks are released.
    pub(super) ready: Vec<(usize, Bytes)>,
    /// Changes to the dataset (Redis's `server.dirty`): what the `save`
    /// points count, and what decides whether a command is propagated.
    pub dirty: u64,
    /// Keys deleted because they expired (INFO's `expired_keys`), counted
    /// with `dirty`.
    pub(super) expired: u64,
    /// Some client tracks keys (read when the unit starts): keys that
    /// expire are collected in `invalidate` for their invalidations.
    pub(super) tracking: bool,
    pub(super) invalidate: Vec<Bytes>,
    /// The keyspace event classes notify-keyspace-events selects (read
    /// when the unit starts; 0: none, nothing is recorded).
    pub(super) notify: u32,
    /// Keyspace events raised, published after the unit.
    pub(super) events: Vec<Event>,
    /// For other connections, delivered by the caller's I/O thread after
    /// the command.
    pub deliver: Vec<Delivery>,
    /// The running command's arguments (by index) that the slow log and
    /// MONITOR show as `(redacted)`: passwords (Redis's
    /// `redactClientCommandArgument`). Cleared before each command.
    pub(super) redacted: Vec<usize>,
}

impl Default for Effects {
    /// The effects of commands run outside the I/O threads (the AOF
    /// loader, tests): the shared statistics counters.
    fn default() -> Effects {
        Effects::for_thread(SHARED)
    }
}

impl Effects {
    /// The effects of the commands I/O thread `thread` runs.
    pub fn for_thread(thread: usize) -> Effects {
        Effects {
            thread,
            propagating: false,
            records: Records::default(),
            transaction: false,
            own: Records::default(),
            own_set: false,
            ready: Vec::new(),
            dirty: 0,
            expired: 0,
            tracking: false,
            invalidate: Vec::new(),
            notify: 0,
            events: Vec::new(),
            deliver: Vec::new(),
            redacted: Vec::new(),
        }
    }

    /// Records keyspace event `name` of `class` on `key` of database `db`,
    /// if that class is selected.
    pub fn event(&mut self, class: u32, name: &'static str, db: usize, key: &[u8]) {
        if self.notify & class != 0 {
            self.events.push(Event {
                name,
                db,
                key: Bytes::copy_from_slice(key),
            });
        }
    }

    /// Records of a command that propagates nothing of its own (the
    /// pipeline's step for expired and evicted keys, which become DELs).
    pub fn also_propagate(&mut self, db: usize, args: &[&[u8]]) {
        if self.propagating {
            self.records.push(db, args);
        }
    }

    /// Takes the deliveries (the caller posts them).
    pub fn take_deliveries(&mut self) -> std::vec::Drain<'_, Delivery> {
        self.deliver.drain(..)
    }
}
