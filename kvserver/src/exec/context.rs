//! What a handler gets ([`Ctx`]): the server, the client, its reply buffer,
//! the locked shards of the command's keys, the command's clock reading,
//! and the execution unit's [`Effects`], on which the handler records what
//! it did besides replying.

use super::effects::{Delivery, Effects};
use crate::keyspace::{Db, Locked};
use crate::proto::reply::Reply;
use crate::server::{Client, Server};
use crate::util::Rng;

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

    /// Something for another connection, delivered after this command.
    pub fn deliver(&mut self, d: Delivery) {
        self.fx.deliver.push(d);
    }
}
