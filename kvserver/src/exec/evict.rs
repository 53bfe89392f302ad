//! maxmemory: the OOM refusal and key eviction (Redis's evict.c).
//!
//! **Used memory** is the allocator's count of bytes in use (glibc's
//! `mallinfo2` through `fastio::server::mem`; the RSS where there is no
//! such count), like Redis's `used_memory` from its allocator. It is
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
//! access counter after decay (Redis's LFU, see [`lfu`]: the entry's
//! 24-bit access field holds LFU data while an LFU policy is selected, as
//! Redis's `robj.lru`). Redis keeps a pool of the
//! best 16 candidates across rounds and databases; we sample afresh per
//! eviction from one shard's database (keys are spread over shards by
//! hash, so a shard's sample is a sample of the whole).
//!
//! Locks: called before the command takes its shard locks; takes one
//! shard lock at a time.

use crate::config::POLICIES;
use crate::exec::command::{flags, Command};
use crate::server::{Client, Server};
use crate::util::Rng;
use std::sync::atomic::Ordering;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";
/// Time one command may spend evicting; past it the command runs anyway
/// (Redis's EVICT_RUNNING) and the next one goes on evicting.
const EVICT_BUDGET: Duration = Duration::from_millis(5);

/// The memory maxmemory compares with (see the module doc).
pub fn used_memory_now() -> u64 {
    fastio::server::mem::heap_in_use().unwrap_or_else(crate::cmd::server_cmds::rss_bytes)
}

/// The cron's sample (only while maxmemory is set).
pub fn sample_memory(server: &Server) {
    if server.config.maxmemory.load(Ordering::Relaxed) != 0 {
        server
            .used_memory
            .store(used_memory_now(), Ordering::Relaxed);
    }
}

/// Whether Redis 7.0 flags `cmd` denyoom (from its command table in
/// `data/commands.resp`; a write command if the entry is missing).
pub fn denyoom(cmd: &Command) -> bool {
    static TABLE: OnceLock<Vec<bool>> = OnceLock::new();
    let t = TABLE.get_or_init(|| {
        let meta = crate::exec::meta::meta();
        crate::exec::command::COMMANDS
            .iter()
            .map(|c| match meta.info.get(c.name.as_bytes()) {
                Some(e) => e
                    .items()
                    .get(2)
                    .is_some_and(|f| f.items().iter().any(|x| x.str() == Some(b"denyoom"))),
                None => c.flags & flags::WRITE != 0,
            })
            .collect()
    });
    t.get(cmd.index()).copied().unwrap_or(false)
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
    size: usize,
) -> bool {
    let max = server.config.maxmemory.load(Ordering::Relaxed);
    let used = server.used_memory.load(Ordering::Relaxed);
    if used <= max {
        if cmd.flags & flags::WRITE != 0 {
            server.used_memory.fetch_add(size as u64, Ordering::Relaxed);
        }
        return false;
    }
    if evict(server, rng, used - max) {
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

/// Evicts keys until `need` bytes (estimated) are freed. True when done,
/// or when the time budget ran out after freeing something; false when no
/// key can be evicted (noeviction, or no candidate).
pub fn evict(server: &Server, rng: &mut Rng, need: u64) -> bool {
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
    let mut freed = 0u64;
    let mut done = true;
    while freed < need {
        match evict_one(server, rng, samples, volatile, ttl, lfu) {
            Some(n) => freed += n,
            None => {
                done = false;
                break;
            }
        }
        if start.elapsed() > EVICT_BUDGET {
            break;
        }
    }
    let _ = server
        .used_memory
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| {
            Some(u.saturating_sub(freed))
        });
    done
}

/// Evicts one key: from the first shard (starting at a random one) and
/// database holding a candidate, the best of up to `samples` sampled keys.
/// Returns its estimated size, or None when no shard has a candidate.
fn evict_one(
    server: &Server,
    rng: &mut Rng,
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
                        255 - e.lfu_freq(now) as u64
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
                // Propagated as a DEL, as Redis does, appended while the
                // shard is still locked (the AOF's ordering rule).
                crate::persist::aof::note_expired(dbi, &key);
                crate::persist::aof::flush_expired();
                let n = crate::cmd::server_cmds::memory_usage(&key, &e.value, has_ttl, 5);
                return Some(n as u64);
            }
        }
    }
    None
}

/// Redis's LFU (evict.c): under an LFU policy an entry's 24-bit access
/// field is `ldt << 8 | counter`: `ldt` the last decrement time in minutes
/// (16 bits, wrapping), `counter` a logarithmic access counter (8 bits).
/// An access decays the counter by one per `lfu-decay-time` minutes since
/// `ldt`, then increments it with probability `1 / ((counter - 5) *
/// lfu-log-factor + 1)`; a new key starts at [`INIT_VAL`] so it is not
/// evicted before it had a chance to be read.
pub mod lfu {
    use std::cell::Cell;
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

    /// A new key's counter (Redis's LFU_INIT_VAL).
    pub const INIT_VAL: u8 = 5;

    /// Whether maxmemory-policy is an LFU one (mirrored by the config,
    /// read on every key access).
    static ENABLED: AtomicBool = AtomicBool::new(false);
    static LOG_FACTOR: AtomicU64 = AtomicU64::new(10);
    static DECAY_TIME: AtomicU64 = AtomicU64::new(1);

    pub fn enabled() -> bool {
        ENABLED.load(Relaxed)
    }

    /// maxmemory-policy changed.
    pub fn set_policy(policy: &str) {
        ENABLED.store(policy.ends_with("-lfu"), Relaxed);
    }

    /// lfu-log-factor changed.
    pub fn set_log_factor(f: u64) {
        LOG_FACTOR.store(f, Relaxed);
    }

    /// lfu-decay-time changed (minutes; 0: never decay).
    pub fn set_decay_time(m: u64) {
        DECAY_TIME.store(m, Relaxed);
    }

    /// The time in minutes, 16 bits (Redis's LFUGetTimeInMinutes).
    pub fn minutes(now_ms: u64) -> u16 {
        ((now_ms / 60_000) & 0xFFFF) as u16
    }

    /// Minutes from `ldt` to `now`, on the wrapping 16-bit clock (Redis's
    /// LFUTimeElapsed, its off-by-one at the wrap included).
    fn elapsed(ldt: u16, now: u16) -> u64 {
        if now >= ldt {
            (now - ldt) as u64
        } else {
            65535 - ldt as u64 + now as u64
        }
    }

    /// The counter of `field` decayed to `now` (minutes) by `decay_time`.
    pub fn decay(field: u32, now: u16, decay_time: u64) -> u8 {
        let ldt = ((field >> 8) & 0xFFFF) as u16;
        let counter = (field & 255) as u8;
        let periods = match decay_time {
            0 => 0,
            d => elapsed(ldt, now) / d,
        };
        counter.saturating_sub(periods.min(255) as u8)
    }

    /// [`decay`] with lfu-decay-time (Redis's LFUDecrAndReturn).
    pub fn decr_and_return(field: u32, now: u16) -> u8 {
        decay(field, now, DECAY_TIME.load(Relaxed))
    }

    /// One access's increment of `counter` given a uniform `r` in [0, 1)
    /// (Redis's LFULogIncr).
    pub fn log_incr(counter: u8, log_factor: u64, r: f64) -> u8 {
        if counter == 255 {
            return 255;
        }
        let base = (counter as f64 - INIT_VAL as f64).max(0.0);
        let p = 1.0 / (base * log_factor as f64 + 1.0);
        if r < p {
            counter + 1
        } else {
            counter
        }
    }

    /// The field for `counter` with `ldt` = now.
    pub fn fresh(now_ms: u64, counter: u8) -> u32 {
        (minutes(now_ms) as u32) << 8 | counter as u32
    }

    /// An access at `now_ms` to an entry with `field` (Redis's updateLFU).
    pub fn update(field: u32, now_ms: u64) -> u32 {
        let counter = decr_and_return(field, minutes(now_ms));
        let counter = log_incr(counter, LOG_FACTOR.load(Relaxed), random());
        fresh(now_ms, counter)
    }

    /// Uniform in [0, 1), from a per-thread xorshift generator.
    fn random() -> f64 {
        thread_local! {
            static STATE: Cell<u64> = Cell::new(
                std::collections::hash_map::RandomState::new().build_hasher().finish() | 1,
            );
        }
        STATE.with(|s| {
            let mut x = s.get();
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            s.set(x);
            (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` accesses from a new key's counter, within one minute.
    fn accesses(n: usize, factor: u64, rng: &mut Rng) -> u8 {
        (0..n).fold(lfu::INIT_VAL, |c, _| {
            lfu::log_incr(c, factor, (rng.next() >> 11) as f64 / (1u64 << 53) as f64)
        })
    }

    #[test]
    fn lfu_counter_is_logarithmic() {
        let mut rng = Rng::new(42);
        // The first access past the initial value always counts.
        assert_eq!(lfu::log_incr(lfu::INIT_VAL, 10, 0.999), 6);
        assert_eq!(lfu::log_incr(0, 10, 0.999), 1);
        // Then less and less often: with factor 10, Redis's table says
        // about 10 after 100 hits, 18 after 1000, 142 after 100K.
        let c100 = accesses(100, 10, &mut rng);
        assert!((7..=14).contains(&c100), "{c100}");
        let c1000 = accesses(1000, 10, &mut rng);
        assert!((14..=23).contains(&c1000), "{c1000}");
        assert!(c1000 > c100);
        let c100k = accesses(100_000, 10, &mut rng);
        assert!((120..=165).contains(&c100k), "{c100k}");
        // Factor 0: every access counts, up to the 255 ceiling.
        assert_eq!(accesses(100, 0, &mut rng), 105);
        assert_eq!(accesses(1000, 0, &mut rng), 255);
        assert_eq!(lfu::log_incr(255, 0, 0.0), 255);
    }

    #[test]
    fn lfu_counter_decays_per_minute() {
        let field = |ldt: u16, c: u8| (ldt as u32) << 8 | c as u32;
        assert_eq!(lfu::decay(field(100, 20), 100, 1), 20);
        assert_eq!(lfu::decay(field(100, 20), 101, 1), 19);
        assert_eq!(lfu::decay(field(100, 20), 107, 1), 13);
        // lfu-decay-time 2: one per two minutes; 0: no decay.
        assert_eq!(lfu::decay(field(100, 20), 107, 2), 17);
        assert_eq!(lfu::decay(field(100, 20), 60_000, 0), 20);
        // Never below zero.
        assert_eq!(lfu::decay(field(100, 20), 200, 1), 0);
        // The 16-bit minute clock wraps (Redis's arithmetic: 65535 - ldt + now).
        assert_eq!(lfu::decay(field(65_530, 20), 3, 1), 12);
        // Bits above the 24 (an LRU clock read as LFU data) are ignored.
        assert_eq!(lfu::decay(0xFF00_0000 | field(100, 20), 101, 1), 19);
        // Minutes of a time in ms, 16 bits.
        assert_eq!(lfu::minutes(60_000 * 65_537 + 59_999), 1);
        assert_eq!(lfu::fresh(120_000, 5), field(2, 5));
    }

    #[test]
    fn denyoom_follows_redis() {
        let l = crate::exec::command::lookup;
        for w in [
            "set", "lpush", "incr", "sadd", "zadd", "xadd", "hset", "append", "setrange",
        ] {
            assert!(denyoom(l(w.as_bytes()).unwrap()), "{w}");
        }
        for r in [
            "get", "del", "lpop", "ping", "publish", "flushall", "expire", "config",
        ] {
            assert!(!denyoom(l(r.as_bytes()).unwrap()), "{r}");
        }
    }
}
