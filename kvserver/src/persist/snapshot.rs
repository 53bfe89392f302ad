//! A point-in-time copy of the keyspace, taken with every shard locked
//! (the caller's [`Locked`]) and written out afterwards without any lock:
//! BGSAVE, BGREWRITEAOF (and, later, a replica's full sync) all start from
//! one. Strings and collections are cloned: the cost of not forking.

use crate::keyspace::Locked;
use crate::types::Value;
use bytes::Bytes;

/// Per database: (key, value, deadline).
pub type Snapshot = Vec<Vec<(Bytes, Value, Option<u64>)>>;

/// Copies every live key of `databases` databases (the caller holds every
/// shard), as of `now`.
pub fn take(locked: &mut Locked, databases: usize, now: u64) -> Snapshot {
    let mut snap: Snapshot = (0..databases).map(|_| Vec::new()).collect();
    for shard in locked.shards() {
        for (i, db) in shard.dbs.iter().enumerate() {
            for (k, e) in db.entries(now) {
                let at = db.expire_at(k);
                snap[i].push((Bytes::copy_from_slice(k), e.value.clone(), at));
            }
        }
    }
    snap
}
