//! Point-in-time copies of the keyspace for BGSAVE, BGREWRITEAOF (and,
//! later, a replica's full sync): a [`Walk`] is started under every shard
//! lock, which costs a cursor per database part, then walked a bounded
//! step at a time under one shard lock while clients keep writing
//! (entries are copied before a write changes them: `keyspace::snapshot`).
//! No client waits for more than one step, whatever the dataset's size.
//! [`Walk::write`] hands the writer each database, then its keys. (SAVE
//! holds every lock while it writes anyway, and writes from the shards.)

use crate::keyspace::snapshot::Item;
use crate::keyspace::{Keyspace, Locked};
use std::sync::Arc;

/// An incremental copy being walked (see the module doc). Dropped before
/// its walk is over, it is abandoned: its cursors go (no more copies on
/// write) at once if the walk had started (a thread holding no lock),
/// else at the next copy's start (dropped by the command that began it,
/// under its locks, when its thread could not start).
#[derive(Debug)]
pub struct Walk {
    ks: Arc<Keyspace>,
    id: u64,
    /// Per database, at the start: (keys, keys with a deadline), hints
    /// for the file's RESIZEDB (expired keys included).
    sizes: Vec<(usize, usize)>,
    /// Where the walk got: not started, walking, over.
    state: State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Begun,
    Walking,
    Over,
}

impl Walk {
    /// Starts the copy as of `now`; `locked` holds every shard of `ks`.
    pub fn begin(ks: &Arc<Keyspace>, locked: &mut Locked, now: u64) -> Walk {
        let mut sizes = vec![(0, 0); ks.databases];
        for shard in locked.shards() {
            for (i, db) in shard.dbs.iter().enumerate() {
                sizes[i].0 += db.len();
                sizes[i].1 += db.expires_len();
            }
        }
        let id = ks.snapshot_begin(locked, now);
        Walk {
            ks: ks.clone(),
            id,
            sizes,
            state: State::Begun,
        }
    }
}

impl Drop for Walk {
    fn drop(&mut self) {
        match self.state {
            State::Begun => self.ks.snapshot_drop_later(self.id),
            State::Walking => self.ks.snapshot_drop(self.id),
            // Every cursor went with its part's last step (parts empty at
            // the start never had one).
            State::Over => {}
        }
    }
}

/// What a writer is handed, in order.
pub enum Event<'a> {
    /// The keys that follow are database `index`'s (`keys` and `expires`:
    /// hints, the sizes at the start).
    Db {
        index: usize,
        keys: usize,
        expires: usize,
    },
    Key(&'a Item),
}

impl Walk {
    /// Walks the copy: hands `f` every database that had keys at the
    /// start, then its keys; the number of keys.
    pub fn write(
        mut self,
        mut f: impl FnMut(Event) -> std::io::Result<()>,
    ) -> std::io::Result<usize> {
        self.state = State::Walking;
        let mut n = 0;
        let mut buf = Vec::new();
        for (index, &(keys, expires)) in self.sizes.iter().enumerate() {
            if keys == 0 {
                continue;
            }
            f(Event::Db {
                index,
                keys,
                expires,
            })?;
            for shard in 0..self.ks.shard_count() {
                loop {
                    let done = self.ks.snapshot_step(self.id, shard, index, &mut buf);
                    for k in buf.drain(..) {
                        f(Event::Key(&k))?;
                        n += 1;
                    }
                    if done {
                        break;
                    }
                }
            }
        }
        self.state = State::Over;
        Ok(n)
    }
}
