//! Server statistics: per-command counters (INFO commandstats), error
//! counters (INFO errorstats), the per-thread server counters (INFO
//! stats' expired keys, network bytes, reads and writes: [`Counter`]), the
//! slow log (SLOWLOG) and the sampler of the `instantaneous_*` rates.
//!
//! Cost per command (see `pipeline::call`): one clock reading (the end
//! time, which is also the next pipelined command's start: see
//! `util::BatchClock`), and two additions to that command's own 64-byte
//! aligned counter block *of this thread*: each of the first
//! [`SLOTS`]` - 1` threads to run a command has a set of blocks of its
//! own, so two I/O threads running the same command do not bounce a cache
//! line, and its additions are a plain load and store (no locked
//! read-modify-write; readers sum the sets). Threads beyond those share the
//! last set with atomic `fetch_add`s. The total number of commands is the
//! sum of the calls. An error reply adds a short mutex on the error table;
//! a slow-logged command a mutex on the slow log.

use crate::exec::table::COMMANDS;
use bytes::Bytes;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

/// Sets of per-command counters: one each for I/O threads 0 to
/// `SLOTS - 2`, the last one ([`SHARED`]) shared by every other thread that
/// runs commands (more I/O threads, the AOF loader, tests): still exact,
/// only contended.
pub const SLOTS: usize = 16;
pub const SHARED: usize = SLOTS - 1;

/// The set of counters of the thread that runs commands as `thread` (an
/// I/O thread's id; [`SHARED`] for any other), and whether it is the
/// thread's alone.
fn slot(thread: usize) -> (usize, bool) {
    if thread < SHARED {
        (thread, true)
    } else {
        (SHARED, false)
    }
}

/// A command's counters of the calling thread (from [`Stats::local`]).
pub struct Local<'a> {
    stat: &'a CmdStat,
    own: bool,
}

impl Local<'_> {
    /// A call that took `usec`.
    pub fn call(&self, usec: u64) {
        self.add(&self.stat.calls, 1);
        self.add(&self.stat.usec, usec);
    }

    /// A call refused before running (wrong arity).
    pub fn rejected(&self) {
        self.add(&self.stat.rejected, 1);
    }

    /// A call that replied with an error.
    pub fn failed(&self) {
        self.add(&self.stat.failed, 1);
    }

    /// Only this thread writes its own set, so load + store is exact and
    /// cheaper than a locked add. (A CONFIG RESETSTAT landing between the
    /// two can be undone for that one counter: a race Redis does not have,
    /// and a harmless one.)
    fn add(&self, a: &AtomicU64, n: u64) {
        if self.own {
            a.store(a.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
        } else {
            a.fetch_add(n, Ordering::Relaxed);
        }
    }
}

/// One command's counters, alone on its cache line.
#[derive(Debug, Default)]
#[repr(align(64))]
pub struct CmdStat {
    pub calls: AtomicU64,
    pub usec: AtomicU64,
    pub rejected: AtomicU64,
    pub failed: AtomicU64,
}

impl CmdStat {
    fn reset(&self) {
        for a in [&self.calls, &self.usec, &self.rejected, &self.failed] {
            a.store(0, Ordering::Relaxed);
        }
    }
}

/// One thread's change counter, alone on its cache line.
#[derive(Debug, Default)]
#[repr(align(64))]
struct Dirty(AtomicU64);

/// The server counters each thread keeps (INFO stats), indices into
/// [`Counters`].
#[derive(Debug, Clone, Copy)]
pub enum Counter {
    /// Keys deleted because they expired (lazily or by the active cycle).
    ExpiredKeys,
    /// Bytes received from clients.
    NetInput,
    /// Bytes sent to clients.
    NetOutput,
    /// Receive completions with data (Redis's `total_reads_processed`).
    Reads,
    /// Send completions (Redis's `total_writes_processed`).
    Writes,
}

const COUNTERS: usize = 5;

/// One thread's server counters, alone on its cache line.
#[derive(Debug, Default)]
#[repr(align(64))]
struct Counters([AtomicU64; COUNTERS]);

/// One `instantaneous_*` sample: time (ms) and the totals then.
#[derive(Debug, Clone, Copy)]
struct Sample {
    at: u64,
    commands: u64,
    net_in: u64,
    net_out: u64,
}

/// One SLOWLOG entry.
#[derive(Debug, Clone)]
pub struct SlowEntry {
    pub id: u64,
    pub time: u64,
    pub usec: u64,
    pub argv: Vec<Bytes>,
    pub addr: String,
    pub name: Bytes,
}

/// Redis's SLOWLOG_ENTRY_MAX_ARGC and SLOWLOG_ENTRY_MAX_STRING.
const SLOW_MAX_ARGC: usize = 32;
const SLOW_MAX_STRING: usize = 128;

#[derive(Debug, Default)]
pub struct Stats {
    cmds: OnceLock<Box<[CmdStat]>>,
    /// Changes to the dataset (Redis's `server.dirty`), per thread set as
    /// the command counters; not reset by CONFIG RESETSTAT.
    dirty: [Dirty; SLOTS],
    /// The server counters, per thread set as the command counters.
    counters: [Counters; SLOTS],
    /// Error code (first word of the error) → count.
    errors: Mutex<BTreeMap<String, u64>>,
    pub total_errors: AtomicU64,
    slowlog: Mutex<VecDeque<SlowEntry>>,
    slow_next_id: AtomicU64,
    /// Samples every 100 ms, the last 16, as Redis's STATS_METRIC_*.
    samples: Mutex<VecDeque<Sample>>,
}

impl Stats {
    fn all(&self) -> &[CmdStat] {
        self.cmds.get_or_init(|| {
            (0..SLOTS * COMMANDS.len())
                .map(|_| CmdStat::default())
                .collect()
        })
    }

    /// Thread `thread`'s counters of the command at `idx` in `COMMANDS`
    /// (to count a call).
    pub fn local(&self, idx: usize, thread: usize) -> Local<'_> {
        let (set, own) = slot(thread);
        Local {
            stat: &self.all()[set * COMMANDS.len() + idx],
            own,
        }
    }

    /// The counters of the command at `idx`, summed over the threads.
    pub fn cmd(&self, idx: usize) -> CmdStat {
        let sum = CmdStat::default();
        for s in self.all().iter().skip(idx).step_by(COMMANDS.len()) {
            for (to, from) in [
                (&sum.calls, &s.calls),
                (&sum.usec, &s.usec),
                (&sum.rejected, &s.rejected),
                (&sum.failed, &s.failed),
            ] {
                to.fetch_add(from.load(Ordering::Relaxed), Ordering::Relaxed);
            }
        }
        sum
    }

    /// `n` changes to the dataset (a unit's effects), counted by thread
    /// `thread`.
    pub fn dirty(&self, n: u64, thread: usize) {
        let (set, own) = slot(thread);
        let a = &self.dirty[set].0;
        if own {
            a.store(a.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
        } else {
            a.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Adds `n` to a server counter of thread `thread` (an I/O thread's
    /// id, or [`SHARED`]).
    pub fn count(&self, what: Counter, n: u64, thread: usize) {
        let (set, own) = slot(thread);
        let a = &self.counters[set].0[what as usize];
        if own {
            a.store(a.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
        } else {
            a.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// A server counter summed over the threads.
    pub fn counter(&self, what: Counter) -> u64 {
        self.counters
            .iter()
            .map(|c| c.0[what as usize].load(Ordering::Relaxed))
            .sum()
    }

    /// Changes to the dataset since the start (after loading).
    pub fn dirty_total(&self) -> u64 {
        self.dirty.iter().map(|d| d.0.load(Ordering::Relaxed)).sum()
    }

    /// After loading: what the files did is no change since a save.
    pub fn reset_dirty(&self) {
        self.dirty
            .iter()
            .for_each(|d| d.0.store(0, Ordering::Relaxed));
    }

    /// Commands run since the start (or CONFIG RESETSTAT): every call of
    /// every command.
    pub fn total_calls(&self) -> u64 {
        self.all()
            .iter()
            .map(|s| s.calls.load(Ordering::Relaxed))
            .sum()
    }

    /// A command's reply was an error starting with `msg` (its code is the
    /// first word: `ERR`, `WRONGTYPE`...).
    pub fn error(&self, msg: &[u8]) {
        self.total_errors.fetch_add(1, Ordering::Relaxed);
        let code_len = msg
            .iter()
            .position(|&c| c == b' ' || c == b'\r')
            .unwrap_or(msg.len())
            .min(64);
        let code = String::from_utf8_lossy(&msg[..code_len]).into_owned();
        let mut m = self.errors.lock().unwrap_or_else(|e| e.into_inner());
        // Redis caps the table at 128 codes (then counts no new ones).
        if m.len() < 128 || m.contains_key(&code) {
            *m.entry(code).or_default() += 1;
        }
    }

    pub fn error_counts(&self) -> Vec<(String, u64)> {
        let m = self.errors.lock().unwrap_or_else(|e| e.into_inner());
        m.iter().map(|(k, v)| (k.clone(), *v)).collect()
    }

    /// CONFIG RESETSTAT.
    pub fn reset(&self) {
        if let Some(all) = self.cmds.get() {
            all.iter().for_each(CmdStat::reset);
        }
        self.errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.total_errors.store(0, Ordering::Relaxed);
        for c in &self.counters {
            c.0.iter().for_each(|a| a.store(0, Ordering::Relaxed));
        }
        self.samples
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Adds a slow log entry, dropping the oldest beyond `max_len`. The
    /// arguments are truncated as Redis does.
    pub fn slowlog_push(
        &self,
        argv: &[&[u8]],
        usec: u64,
        time: u64,
        addr: String,
        name: Bytes,
        max_len: usize,
    ) {
        let argc = argv.len().min(SLOW_MAX_ARGC);
        let mut args = Vec::with_capacity(argc);
        for (j, a) in argv[..argc].iter().enumerate() {
            if argc != argv.len() && j == argc - 1 {
                args.push(Bytes::from(format!(
                    "... ({} more arguments)",
                    argv.len() - argc + 1
                )));
            } else if a.len() > SLOW_MAX_STRING {
                let mut s = a[..SLOW_MAX_STRING].to_vec();
                s.extend_from_slice(
                    format!("... ({} more bytes)", a.len() - SLOW_MAX_STRING).as_bytes(),
                );
                args.push(Bytes::from(s));
            } else {
                args.push(Bytes::copy_from_slice(a));
            }
        }
        let e = SlowEntry {
            id: self.slow_next_id.fetch_add(1, Ordering::Relaxed),
            time,
            usec,
            argv: args,
            addr,
            name,
        };
        let mut log = self.slowlog.lock().unwrap_or_else(|e| e.into_inner());
        log.push_front(e);
        log.truncate(max_len);
    }

    pub fn slowlog_trim(&self, max_len: usize) {
        let mut log = self.slowlog.lock().unwrap_or_else(|e| e.into_inner());
        log.truncate(max_len);
    }

    /// The newest `count` entries, newest first.
    pub fn slowlog_get(&self, count: usize) -> Vec<SlowEntry> {
        let log = self.slowlog.lock().unwrap_or_else(|e| e.into_inner());
        log.iter().take(count).cloned().collect()
    }

    pub fn slowlog_len(&self) -> usize {
        self.slowlog.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn slowlog_reset(&self) {
        self.slowlog
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Records a sample of the totals; I/O thread 0 calls this from its
    /// 100 ms tick.
    pub fn sample(&self, now_ms: u64) {
        let sample = Sample {
            at: now_ms,
            commands: self.total_calls(),
            net_in: self.counter(Counter::NetInput),
            net_out: self.counter(Counter::NetOutput),
        };
        let mut s = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        s.push_back(sample);
        if s.len() > 16 {
            s.pop_front();
        }
    }

    /// The rate of one sampled total per second over the window (up to
    /// 1.6 s).
    fn rate(&self, of: fn(&Sample) -> u64) -> f64 {
        let s = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        match (s.front(), s.back()) {
            (Some(a), Some(b)) if b.at > a.at => {
                of(b).saturating_sub(of(a)) as f64 * 1000.0 / (b.at - a.at) as f64
            }
            _ => 0.0,
        }
    }

    /// Commands per second.
    pub fn ops_per_sec(&self) -> u64 {
        self.rate(|s| s.commands) as u64
    }

    /// KB/s received and sent (Redis's `instantaneous_input_kbps` and
    /// `instantaneous_output_kbps`).
    pub fn net_kbps(&self) -> (f64, f64) {
        (
            self.rate(|s| s.net_in) / 1024.0,
            self.rate(|s| s.net_out) / 1024.0,
        )
    }
}
