//! The active expiry cycle's execution side: each I/O thread runs
//! [`crate::keyspace::Keyspace::active_expire`] over its slice of the
//! shards every 100 ms (Redis's `activeExpireCycle`), and the keys it
//! deletes are propagated as DELs while their shard is still locked, each
//! shard's deletions one execution unit.

use super::effects::Effects;
use super::pipeline;
use crate::server::Server;
use crate::util::Rng;
use std::time::Duration;

/// One run of the cycle by I/O thread `part` of `of`, within `budget`;
/// the number of keys deleted.
pub fn active_cycle(
    server: &Server,
    part: usize,
    of: usize,
    rng: &mut Rng,
    fx: &mut Effects,
    budget: Duration,
) -> usize {
    // CLIENT PAUSE holds the deletions too (Redis's rule: a paused server
    // changes nothing, so a failover can compare offsets).
    if server.pause.writes_held(crate::util::now_ms()) {
        return 0;
    }
    pipeline::begin(server, fx);
    let n = server.ks.active_expire(part, of, rng, budget, |locked| {
        pipeline::note_expired(locked, fx);
        pipeline::propagate(server, fx);
    });
    if !fx.events.is_empty() {
        super::notify::publish(server, fx);
    }
    n
}
