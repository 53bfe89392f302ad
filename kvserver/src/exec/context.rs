//! What a handler gets ([`Ctx`]): the server, the client, its reply buffer,
//! the locked shards of the command's keys, the command's clock reading,
//! and the execution unit's [`Effects`], on which the handler records what
//! it did besides replying.

use super::effects::{Delivery, Effects};
use crate::keyspace::{Db, Locked};
use crate::proto::reply::Reply;
use crate::server::{Client, Server};
use crate::util::Rng;
use bytes::Bytes;

pub struct Ctx<'a> {
    pub server: &'a Server,
    pub client: &'a mut Client,
    pub out: &'a mut Reply,
    /// The shards of this command's keys, locked (all of them for
    /// whole-keyspace commands).
    pub ks: Locked<'a>,
    /// The time of this command, in ms: one clock reading per command, so a
    /// multi-key command sees every key at the same instant (as Redis does).
    pub now: u64,
    /// When this command started, in µs since the epoch: the same clock
    /// reading as `now`, so that command stats cost one more reading (at
    /// the end of `pipeline::call`), which then starts the next command of
    /// an EXEC.
    pub start_us: u64,
    pub rng: &'a mut Rng,
    /// The execution unit's effects (shared by an EXEC's commands).
    pub fx: &'a mut Effects,
}

impl Ctx<'_> {
    /// The selected database's part holding `key`.
    pub fn db(&mut self, key: &[u8]) -> &mut Db {
        self.ks.db(self.client.db, key)
    }

    /// Whether what the command propagates is recorded at all (the AOF is
    /// on): a handler may skip building a rewrite when it is not.
    pub fn propagating(&self) -> bool {
        self.fx.propagating
    }

    /// The command is propagated as `args` instead of its own arguments
    /// (Redis's `rewriteClientCommandVector`): deterministic forms such as
    /// `SET k v PXAT ms` for `SET k v EX 10`, `SREM` for `SPOP`, the
    /// non-blocking form of a blocking pop. Each call adds one command.
    pub fn propagate(&mut self, args: &[&[u8]]) {
        self.fx.own_set = true;
        if self.fx.propagating {
            let db = self.client.db;
            self.fx.own.push(db, args);
        }
    }

    /// The command propagates nothing, though it is a write command and
    /// succeeded (it changed nothing: GETEX without options).
    pub fn propagate_nothing(&mut self) {
        self.fx.own_set = true;
    }

    /// The command changed `key` of the selected database (Redis's
    /// `signalModifiedKey` + `notifyKeyspaceEvent` + `server.dirty++`):
    /// WATCH versions move, clients blocked on it may be served, one more
    /// change counts for the `save` points (and makes the command
    /// propagated), and keyspace event `event` of `class` is raised.
    pub fn changed(&mut self, class: u32, event: &'static str, key: &[u8]) {
        let db = self.client.db;
        self.changed_in(db, class, event, key);
    }

    /// [`Ctx::changed`] for `key` of database `db` (MOVE, COPY ... DB).
    pub fn changed_in(&mut self, db: usize, class: u32, event: &'static str, key: &[u8]) {
        self.modified_in(db, key);
        self.fx.dirty += 1;
        // With events on: a key that expired as the command met it raises
        // `expired` first, and a key it created `new`, before the command's
        // own event, as in Redis (expireIfNeeded, dbAdd).
        if self.fx.notify != 0 {
            super::pipeline::note_expired(&mut self.ks, self.fx);
        }
        self.fx.event(class, event, db, key);
    }

    /// `key` of the selected database changed, as part of a change already
    /// counted (RENAME's destination): WATCH versions and blocked clients
    /// only (Redis's `signalModifiedKey`).
    pub fn modified(&mut self, key: &[u8]) {
        let db = self.client.db;
        self.modified_in(db, key);
    }

    /// [`Ctx::modified`] for `key` of database `db`.
    pub fn modified_in(&mut self, db: usize, key: &[u8]) {
        self.ks.db(db, key).touch(key);
        if self.server.tracking.active() {
            let writer = self.client.id;
            super::tracking::invalidate(self.server, writer, key, &mut self.fx.deliver);
        }
        // Read under this command's shard locks, so a client blocking on
        // this key either registered before (and is seen) or runs after.
        if self.server.blocking.any() {
            self.fx.ready.push((db, Bytes::copy_from_slice(key)));
        }
    }

    /// Keyspace event `event` of `class` on `key` (a second event of a
    /// change already signalled: `del` after a pop emptied a list).
    pub fn notify(&mut self, class: u32, event: &'static str, key: &[u8]) {
        let db = self.client.db;
        self.notify_in(db, class, event, key);
    }

    /// [`Ctx::notify`] for `key` of database `db` (MOVE's `move_to`).
    pub fn notify_in(&mut self, db: usize, class: u32, event: &'static str, key: &[u8]) {
        // As in `changed_in`: what the keyspace recorded comes first.
        if self.fx.notify != 0 {
            super::pipeline::note_expired(&mut self.ks, self.fx);
        }
        self.fx.event(class, event, db, key);
    }

    /// `n` more changes to the dataset (a command that changed several
    /// elements counts each, as Redis's `server.dirty += n`).
    pub fn dirty(&mut self, n: u64) {
        self.fx.dirty += n;
    }

    /// The longest string a command may build (APPEND, SETRANGE, SETBIT):
    /// proto-max-bulk-len, as Redis's `checkStringLength`; no limit for
    /// what the AOF loader replays.
    pub fn max_string(&self) -> u64 {
        if self.client.obey {
            u64::MAX
        } else {
            self.server
                .config
                .proto_max_bulk_len
                .load(std::sync::atomic::Ordering::Relaxed)
                .max(0) as u64
        }
    }

    /// Argument `i` holds a secret: the slow log and MONITOR show it as
    /// `(redacted)` (Redis's `redactClientCommandArgument`).
    pub fn redact(&mut self, i: usize) {
        self.fx.redacted.push(i);
    }

    /// Something for another connection, delivered after this command.
    pub fn deliver(&mut self, d: Delivery) {
        self.fx.deliver.push(d);
    }
}
