//! The append-only file (Redis's aof.c): every write command that changed
//! the dataset is appended as a RESP command, in execution order; start-up
//! replays the file; BGREWRITEAOF compacts it in the background.
//!
//! # Layout: Redis 7.0's multi-part AOF
//!
//! `dir/appenddirname/` (default `appendonlydir`) holds a manifest
//! (`appendonly.aof.manifest`: one `file NAME seq N type b|i` line per file),
//! at most one *base* file (a snapshot written as commands,
//! `appendonly.aof.N.base.aof`; Redis's RDB-preamble base
//! `appendonly.aof.N.base.rdb` is read too, by `persist/rdb`) and *incremental* files
//! (`appendonly.aof.N.incr.aof`) that new records are appended to. This is
//! what redis-server 7.0 writes and reads, so either server loads the
//! other's directory. A single-file `dir/appendonly.aof` (Redis < 7) with no
//! manifest is loaded and then upgraded as Redis 7.0 does (moved into the
//! directory as the base).
//!
//! # Order
//!
//! The execution pipeline hands [`Aof::append`] each execution unit's
//! records *while the unit still holds its shard locks*; they are appended
//! to one buffer under one mutex. Two units that conflict (share a shard)
//! are serialized by the shard lock, and the first one appends before it
//! unlocks, so the file order agrees with execution order on every key:
//! replaying the file reproduces the dataset. A transaction's records are
//! appended as `MULTI` ... `EXEC` in one go. Keys deleted by expiry (lazy
//! or active) or eviction come as `DEL` records, since the loader, as
//! Redis's, expires nothing.
//!
//! The records are what the commands *did*, in deterministic form, as
//! their handlers recorded them (`exec::effects`): relative TTLs become
//! absolute (`SET k v PXAT ms`, `PEXPIREAT`), INCRBYFLOAT a `SET ...
//! KEEPTTL`, HINCRBYFLOAT an `HSET`, SPOP an `SREM`, XADD gets its
//! generated ID and exact trimming, blocking pops their non-blocking form.
//!
//! Files: [`manifest`] (the directory's list of files), [`load`] (replay
//! at start-up: commands through a callback into the pipeline, an RDB
//! base through the RDB loader), [`writer`] (writes and fsyncs on the
//! rings), [`rewrite`] (BGREWRITEAOF).
//!
//! # Writing: FastIO, group commit
//!
//! The buffer is written by whichever I/O thread calls [`Aof::pump`] first
//! (after each batch of completions): one `write_all_at` or `fsync` op at a
//! time, through that thread's ring, executed by FastIO's blocking workers
//! (no write(2)/fsync(2) on an I/O thread, none under a shard lock). The
//! positions are logical (bytes ever appended): `appended` ≥ `written` ≥
//! `synced`. With `appendfsync always`, every write is followed by an
//! fdatasync; the records appended meanwhile form the next group. The
//! networking layer holds a connection's replies until `synced` reaches
//! what the AOF held when they were produced ([`Aof::need`]), so no reply
//! acknowledges (or shows) a write that a crash could lose. `everysec`
//! fsyncs when a second passed since the last one, `no` never (the OS
//! does), except when leaving a file and at shutdown.

mod load;
mod manifest;
mod rewrite;
mod writer;

use crate::keyspace::Keyspace;
use crate::persist::records::Records;
use crate::persist::ring_file::BgIo;
use crate::proto::request::encode;
use bytes::Bytes;
use manifest::{err_at, write_atomic, Manifest};
use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
pub use writer::AofOp;

const ALWAYS: u8 = 0;
const EVERYSEC: u8 = 1;
const NO: u8 = 2;

fn mode_of(v: &str) -> u8 {
    match v {
        "always" => ALWAYS,
        "no" => NO,
        _ => EVERYSEC,
    }
}

/// What runs each command of the file at start-up (the execution
/// pipeline's loader entry); an error stops the load.
pub type Replay<'a> = dyn FnMut(&[&[u8]]) -> Result<(), String> + 'a;

/// Where the AOF lives and how it is written: the `appendonly` settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// `dir`: the directory holds `appenddirname` (and a Redis < 7 single
    /// file, upgraded).
    pub dir: PathBuf,
    pub dirname: String,
    pub filename: String,
    /// `appendfsync`.
    pub fsync: String,
    /// `aof-load-truncated`.
    pub load_truncated: bool,
    /// The I/O threads (that may hold replies for an fsync).
    pub io_threads: usize,
}

/// One file records are appended to, from logical position `start` on
/// (at file offset `base_off`).
struct Target {
    file: File,
    start: u64,
    base_off: u64,
}

enum Inflight {
    Write {
        data: Bytes,
        off: u64,
        fd: i32,
        end: u64,
    },
    Fsync {
        end: u64,
    },
}

struct Inner {
    /// Appended, not yet handed to a write (starts at logical `written`,
    /// or after the write in flight).
    buf: Vec<u8>,
    /// The database the last record of the current file ran in.
    cur_db: Option<usize>,
    written: u64,
    synced: u64,
    /// The file being appended to, then (after a rewrite started) the next.
    files: VecDeque<Target>,
    inflight: Option<Inflight>,
    /// ms of the last fsync (everysec).
    last_fsync: u64,
    /// A failed op waits for [`AofOp::Retry`].
    retry_wait: bool,
}

impl Inner {
    /// The next record runs in database `db`: a SELECT first if the file
    /// is elsewhere.
    fn select(&mut self, db: usize) {
        if self.cur_db != Some(db) {
            self.cur_db = Some(db);
            let n = db.to_string();
            encode(&mut self.buf, &[b"SELECT", n.as_bytes()]);
        }
    }
}

/// The append-only file of a running server.
pub struct Aof {
    inner: Mutex<Inner>,
    appended: AtomicU64,
    written: AtomicU64,
    synced: AtomicU64,
    busy: AtomicBool,
    /// `appendfsync` (CONFIG SET changes it).
    fsync: AtomicU8,
    /// Per I/O thread: it holds replies waiting for an fsync.
    waiting: Vec<AtomicBool>,
    dir: PathBuf,
    name: String,
    manifest: Mutex<Manifest>,
    rewriting: AtomicBool,
    /// errno of the last failed write, 0 once a write succeeds again
    /// (Redis's `aof_last_write_status`).
    write_errno: AtomicI32,
    /// errno of the last failed fsync, 0 once an fsync succeeds again
    /// (Redis's `aof_bio_fsync_status`).
    fsync_errno: AtomicI32,
    /// INFO's rewrite fields: the last rewrite's outcome and seconds, and
    /// how many ran.
    rewrite_ok: AtomicBool,
    rewrite_secs: AtomicI64,
    rewrites: AtomicU64,
    /// What BGREWRITEAOF snapshots, and the ring it writes the base through.
    ks: Arc<Keyspace>,
    bg: BgIo,
}

impl std::fmt::Debug for Aof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Aof")
    }
}

impl Aof {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes what was appended visible to the writers (under the mutex).
    fn publish(&self, g: &Inner) {
        self.appended.store(g.appended_total(), Ordering::SeqCst);
    }

    pub fn always(&self) -> bool {
        self.fsync.load(Ordering::Relaxed) == ALWAYS
    }

    /// CONFIG SET appendfsync.
    pub fn set_fsync_mode(&self, v: &str) {
        self.fsync.store(mode_of(v), Ordering::Relaxed);
    }

    /// Everything appended so far: a reply produced now may be sent once
    /// [`Aof::synced`] reaches it (`appendfsync always`).
    #[inline]
    pub fn need(&self) -> u64 {
        self.appended.load(Ordering::SeqCst)
    }

    #[inline]
    pub fn synced(&self) -> u64 {
        self.synced.load(Ordering::SeqCst)
    }

    /// Thread `thread` holds replies (or not any more).
    pub fn set_waiting(&self, thread: usize, on: bool) {
        if let Some(w) = self.waiting.get(thread) {
            w.store(on, Ordering::SeqCst);
        }
    }

    /// Appends an execution unit's records (a transaction's inside MULTI
    /// ... EXEC), with a SELECT wherever the database changes. Called while
    /// the unit still holds its shard locks, so that two units that
    /// conflict (share a shard) append in the order they ran.
    pub fn append(&self, records: &Records, transaction: bool) {
        let mut g = self.lock();
        if transaction {
            if let Some((db, _)) = records.iter().next() {
                g.select(db);
            }
            encode(&mut g.buf, &[b"MULTI"]);
        }
        for (db, bytes) in records.iter() {
            g.select(db);
            g.buf.extend_from_slice(bytes);
        }
        if transaction {
            encode(&mut g.buf, &[b"EXEC"]);
        }
        self.publish(&g);
    }

    /// The I/O threads holding replies until an fsync (`set_waiting`).
    /// The errno of the write or fsync that last failed, while the
    /// condition lasts (the retry of a failed op has not succeeded yet):
    /// writes are refused meanwhile (Redis's MISCONF).
    pub fn error(&self) -> Option<i32> {
        [&self.write_errno, &self.fsync_errno]
            .iter()
            .map(|e| e.load(Ordering::Relaxed))
            .find(|&e| e != 0)
    }

    /// Bytes appended and not yet written: how far the file is behind.
    pub fn backlog(&self) -> u64 {
        self.appended
            .load(Ordering::SeqCst)
            .saturating_sub(self.written.load(Ordering::SeqCst))
    }

    /// INFO persistence's AOF status fields, in Redis's order.
    pub fn info_fields(&self) -> Vec<(&'static str, String)> {
        let ok = |b: bool| if b { "ok" } else { "err" }.to_string();
        vec![
            (
                "aof_last_rewrite_time_sec",
                self.rewrite_secs.load(Ordering::Relaxed).to_string(),
            ),
            ("aof_current_rewrite_time_sec", "-1".into()),
            (
                "aof_last_bgrewrite_status",
                ok(self.rewrite_ok.load(Ordering::Relaxed)),
            ),
            (
                "aof_rewrites",
                self.rewrites.load(Ordering::Relaxed).to_string(),
            ),
            ("aof_rewrites_consecutive_failures", "0".into()),
            (
                "aof_last_write_status",
                ok(self.write_errno.load(Ordering::Relaxed) == 0
                    && self.fsync_errno.load(Ordering::Relaxed) == 0),
            ),
        ]
    }

    pub fn waiting_threads(&self) -> impl Iterator<Item = usize> + '_ {
        self.waiting
            .iter()
            .enumerate()
            .filter(|(_, w)| w.load(Ordering::SeqCst))
            .map(|(t, _)| t)
    }
}

impl Inner {
    fn appended_total(&self) -> u64 {
        let inflight = match &self.inflight {
            Some(Inflight::Write { end, .. }) => *end,
            _ => self.written,
        };
        inflight + self.buf.len() as u64
    }
}

// ---------------------------------------------------------------------------
// Start-up: load the files, open the one to append to.
// ---------------------------------------------------------------------------

/// Loads the AOF of `o` into `ks` (before anyone connects) and opens its
/// last incremental file for appending. Each command of the files is
/// handed to `replay` (the execution pipeline's loader entry); an RDB base
/// is loaded by the RDB loader.
pub fn open(o: &Options, ks: &Arc<Keyspace>, bg: BgIo, replay: &mut Replay) -> Result<Aof, String> {
    let truncated_ok = o.load_truncated;
    let base_dir = o.dir.clone();
    let dir = base_dir.join(&o.dirname);
    let name = o.filename.clone();
    let mname = format!("{name}.manifest");
    let mpath = dir.join(&mname);
    let t = std::time::Instant::now();
    let mut manifest = if mpath.exists() {
        let m = manifest::read(&mpath)?;
        let files: Vec<&String> = m.base.iter().chain(m.incrs.iter()).map(|x| &x.0).collect();
        for (i, f) in files.iter().enumerate() {
            load::file(
                ks,
                &dir.join(f),
                truncated_ok && i + 1 == files.len(),
                replay,
            )?;
        }
        m
    } else {
        std::fs::create_dir_all(&dir).map_err(|e| err_at(&dir, e))?;
        let single = base_dir.join(&name);
        if single.exists() {
            // Redis < 7's single file: load it, then move it in as the
            // base (Redis 7.0's upgrade).
            load::file(ks, &single, truncated_ok, replay)?;
            std::fs::rename(&single, dir.join(&name)).map_err(|e| err_at(&single, e))?;
            eprintln!(
                "kvserver: upgraded {} into {} as its base",
                single.display(),
                dir.display()
            );
            Manifest {
                base: Some((name.clone(), 1)),
                incrs: Vec::new(),
            }
        } else {
            Manifest::default()
        }
    };
    if manifest.incrs.is_empty() {
        let seq = manifest.next_seq();
        manifest.incrs.push((format!("{name}.{seq}.incr.aof"), seq));
        let f = dir.join(&manifest.incrs[0].0);
        File::create(&f)
            .and_then(|f| f.sync_all())
            .map_err(|e| err_at(&f, e))?;
        write_atomic(&dir, &mname, manifest.text().as_bytes()).map_err(|e| err_at(&dir, e))?;
    }
    let last = dir.join(&manifest.incrs[manifest.incrs.len() - 1].0);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&last)
        .map_err(|e| err_at(&last, e))?;
    let len = file.metadata().map_err(|e| err_at(&last, e))?.len();
    let keys: usize = {
        let mut l = ks.lock_all();
        let dbs = ks.databases;
        (0..dbs)
            .map(|d| l.dbs(d).iter().map(|x| x.len()).sum::<usize>())
            .sum()
    };
    eprintln!(
        "kvserver: AOF loaded from {} ({keys} keys, {:?}); appending to {} (appendfsync {})",
        dir.display(),
        t.elapsed(),
        last.display(),
        o.fsync
    );
    Ok(Aof {
        inner: Mutex::new(Inner {
            buf: Vec::new(),
            cur_db: None,
            written: 0,
            synced: 0,
            files: VecDeque::from([Target {
                file,
                start: 0,
                base_off: len,
            }]),
            inflight: None,
            last_fsync: crate::util::now_ms(),
            retry_wait: false,
        }),
        appended: AtomicU64::new(0),
        written: AtomicU64::new(0),
        synced: AtomicU64::new(0),
        busy: AtomicBool::new(false),
        fsync: AtomicU8::new(mode_of(&o.fsync)),
        waiting: (0..o.io_threads).map(|_| AtomicBool::new(false)).collect(),
        dir,
        name,
        manifest: Mutex::new(manifest),
        rewriting: AtomicBool::new(false),
        write_errno: AtomicI32::new(0),
        fsync_errno: AtomicI32::new(0),
        rewrite_ok: AtomicBool::new(true),
        rewrite_secs: AtomicI64::new(-1),
        rewrites: AtomicU64::new(0),
        ks: ks.clone(),
        bg,
    })
}
