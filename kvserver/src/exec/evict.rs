//! maxmemory: the OOM refusal and key eviction (Redis's evict.c).
//!
//! **Used memory** is the allocator's count of bytes in use
//! (`crate::alloc::used`: jemalloc's `stats.allocated`; the RSS where the
//! allocator has no such count), like Redis's `used_memory`. It is
//! sampled by I/O thread 0's 100 ms cron while `maxmemory` is set (it walks
//! the allocator's free lists: too slow per command) into
//! `Server::used_memory`, and adjusted in between: a write command adds
//! its arguments' size, an eviction subtracts the evicted key's estimated
//! size (MEMORY USAGE's model). So a burst of writes can pass `maxmemory`
//! by what arrives within one tick before the next sample sees it.
//!
//! Before each command, when `maxmemory` is set and used memory is above
//! it, [`before_command`] evicts keys by `maxmemory-policy` until the
//! estimate is back under; if it cannot (`noeviction`, or no candidate
//! key) a command flagged `denyoom` in Redis's command table (and, inside
//! MULTI, any command but EXEC DISCARD QUIT RESET; EXEC when it queued a
//! denyoom command) answers `-OOM command not allowed when used memory >
//! 'maxmemory'.`.
//!
//! Policies: `allkeys-random`, `volatile-random` pick a random key (of
//! all, or of those with a deadline) of a random shard; `allkeys-lru`,
//! `volatile-lru` take `maxmemory-samples` keys of a random shard and
//! evict the one idle longest (the entry's access clock, one-second
//! resolution, as OBJECT IDLETIME); `volatile-ttl` the one with the
//! nearest deadline; `allkeys-lfu`/`volatile-lfu` the one with the lowest
//! access counter after decay (Redis's LFU, see `keyspace::entry`: the entry's
//! 24-bit access field holds LFU data while an LFU policy is selected, as
//! Redis's `robj.lru`). Redis keeps a pool of the
//! best 16 candidates across rounds and databases; we sample afresh per
//! eviction from one shard's database (keys are spread over shards by
//! hash, so a shard's sample is a sample of the whole).
//!
//! Locks: called before the command takes its shard locks; takes one
//! shard lock at a time.

use super::effects::Effects;
use super::notify::class;
use super::pipeline;
use super::table::{flags, Command};
use crate::config::POLICIES;
use crate::server::{Client, Server};
use crate::util::Rng;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

pub const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";
/// Time one command may spend evicting; past it the command runs anyway
/// (Redis's EVICT_RUNNING) and the next one goes on evicting.
const EVICT_BUDGET: Duration = Duration::from_millis(5);

/// The memory maxmemory compares with (see the module doc).
pub fn used_memory_now() -> u64 {
    crate::alloc::used().unwrap_or_else(crate::util::rss_bytes)
}

/// The cron's sample (only while maxmemory is set).
pub fn sample_memory(server: &Server) {
    if server.config.maxmemory.load(Ordering::Relaxed) != 0 {
        server
            .used_memory
            .store(used_memory_now(), Ordering::Relaxed);
    }
}

/// Whether Redis 7.0 flags `cmd` denyoom (refused when memory is full).
pub fn denyoom(cmd: &Command) -> bool {
    cmd.has(flags::DENYOOM)
}

/// Called by `execute` before running `cmd` while maxmemory is set:
/// evicts if needed, and returns true when the command must be refused
/// with [`OOM`]. `size` is the request's size (added to the estimate for
/// a write command).
pub fn before_command(
    server: &Server,
    client: &Client,
    cmd: &Command,
    rng: &mut Rng,
    fx: &mut Effects,
    size: usize,
) -> bool {
    let max = server.config.maxmemory.load(Ordering::Relaxed);
    let used = server.used_memory.load(Ordering::Relaxed);
    // What a write brings counts before it runs: room is made for it, and
    // the estimate grows by it whether eviction was needed or not (so a
    // burst of big writes between two samples cannot pass the limit).
    let incoming = if cmd.flags & flags::WRITE != 0 {
        size as u64
    } else {
        0
    };
    let grow = || {
        server.used_memory.fetch_add(incoming, Ordering::Relaxed);
    };
    if used + incoming <= max || evict(server, rng, fx, incoming, max) {
        grow();
        return false;
    }
    let reject = match (&client.multi, cmd.name) {
        (Some(q), "exec") => q.iter().any(|(c, _)| denyoom(c)),
        (Some(_), "discard" | "quit" | "reset") => false,
        (Some(_), _) => true,
        (None, _) => denyoom(cmd),
    };
    if reject {
        server.stats.error(b"OOM");
    }
    reject
}

/// Evicts keys until the estimate plus `incoming` is back under `max`.
/// True when done, or when the time budget ran out after freeing
/// something; false when no key can be evicted (noeviction, or no
/// candidate left) and a fresh measurement still says memory is full.
///
/// The estimate is re-read on every round, not computed once: clients on
/// other I/O threads evict at the same time, and a need computed from an
/// old reading would go on looking for keys they already took (and find
/// the database empty). Before refusing, the estimate is replaced by a
/// real measurement: it can be stale-high (sampled while big requests
/// were in flight) until the next cron tick.
pub fn evict(server: &Server, rng: &mut Rng, fx: &mut Effects, incoming: u64, max: u64) -> bool {
    let policy = server.config.maxmemory_policy.load(Ordering::Relaxed) as usize;
    let policy = POLICIES.get(policy).copied().unwrap_or("noeviction");
    if policy == "noeviction" {
        return false;
    }
    let volatile = policy.starts_with("volatile");
    let random = policy.ends_with("random");
    let ttl = policy == "volatile-ttl";
    let lfu = policy.ends_with("lfu");
    let samples = if random {
        1
    } else {
        server
            .config
            .maxmemory_samples
            .load(Ordering::Relaxed)
            .clamp(1, 64) as usize
    };
    let start = Instant::now();
    let mut freed_any = false;
    while server.used_memory.load(Ordering::Relaxed) + incoming > max {
        let Some(n) = evict_one(server, rng, fx, samples, volatile, ttl, lfu) else {
            let now = used_memory_now();
            server.used_memory.store(now, Ordering::Relaxed);
            return now + incoming <= max;
        };
        freed_any = true;
        let _ = server
            .used_memory
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| {
                Some(u.saturating_sub(n))
            });
        if start.elapsed() > EVICT_BUDGET {
            break;
        }
    }
    freed_any || server.used_memory.load(Ordering::Relaxed) + incoming <= max
}

/// Evicts one key: from the first shard (starting at a random one) and
/// database holding a candidate, the best of up to `samples` sampled keys.
/// Returns its estimated size, or None when no shard has a candidate.
fn evict_one(
    server: &Server,
    rng: &mut Rng,
    fx: &mut Effects,
    samples: usize,
    volatile: bool,
    ttl: bool,
    lfu: bool,
) -> Option<u64> {
    let shards = server.ks.shard_count();
    let dbs = server.ks.databases;
    let first = rng.below(shards);
    let db0 = rng.below(dbs);
    let now = crate::util::now_ms();
    for i in 0..shards {
        let id = (first + i) % shards;
        let mut locked = server.ks.lock(&[id]);
        for j in 0..dbs {
            let dbi = (db0 + j) % dbs;
            let db = locked.shard_db(id, dbi);
            let best = {
                let cands = db.eviction_sample(rng, samples, volatile);
                let score = |e: &crate::keyspace::Entry, at: Option<u64>| -> u64 {
                    if ttl {
                        u64::MAX - at.unwrap_or(u64::MAX)
                    } else if lfu {
                        // Redis's evictionPoolPopulate: 255 - counter.
                        255 - e.lfu_freq(now, &server.config.keyspace) as u64
                    } else {
                        e.idle_secs(now)
                    }
                };
                cands
                    .iter()
                    .max_by_key(|(_, e, at)| score(e, *at))
                    .map(|(k, _, at)| (k.clone(), at.is_some()))
            };
            let Some((key, has_ttl)) = best else {
                continue;
            };
            if let Some(e) = db.remove(&key) {
                server.evicted_keys.fetch_add(1, Ordering::Relaxed);
                // Propagated as a DEL, as Redis does, while the shard is
                // still locked (the AOF's ordering rule).
                fx.also_propagate(dbi, &[b"DEL", &key]);
                fx.event(class::EVICTED, "evicted", dbi, &key);
                if server.tracking.active() {
                    super::tracking::invalidate(server, 0, &key, &mut fx.deliver);
                }
                pipeline::propagate(server, fx);
                let n = crate::types::memory::memory_usage(&key, &e.value, has_ttl, 5);
                return Some(n as u64);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denyoom_follows_redis() {
        let l = crate::exec::table::by_own_name;
        for w in [
            "set", "lpush", "incr", "sadd", "zadd", "xadd", "hset", "append", "setrange",
        ] {
            assert!(denyoom(l(w.as_bytes()).unwrap()), "{w}");
        }
        for r in [
            "get",
            "del",
            "lpop",
            "ping",
            "publish",
            "flushall",
            "expire",
            "config|set",
        ] {
            assert!(!denyoom(l(r.as_bytes()).unwrap()), "{r}");
        }
    }
}
