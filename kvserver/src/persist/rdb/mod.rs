//! RDB persistence in Redis 7.0's format (RDB version 10): SAVE, BGSAVE,
//! LASTSAVE, `save` schedules, loading `dir/dbfilename` at start-up,
//! saving at shutdown; DUMP/RESTORE use the same serialization
//! ([`codec`]).
//!
//! BGSAVE takes a point-in-time copy of the keyspace with every shard
//! locked ([`crate::persist::snapshot`], as BGREWRITEAOF does), unlocks,
//! and writes the copy on its own thread (not an I/O thread; it holds no
//! lock) to `temp-bgsave-<pid>.rdb`, fsyncs it and renames it over
//! `dbfilename`. SAVE writes straight from the locked shards (it blocks
//! every client, as Redis's SAVE does).
//!
//! Files: [`save`] (the writer), [`load`] (the reader), [`codec`] (values),
//! [`crc64`], [`lzf`]. The state of saving (for INFO persistence, LASTSAVE
//! and the `save` schedule) is [`Rdb`], owned by the server.

pub mod codec;
pub mod crc64;
mod load;
pub mod lzf;
mod save;

use crate::keyspace::{Keyspace, Locked};
use crate::persist::ring_file::BgIo;
use crate::persist::snapshot::Walk;
pub use load::load_into;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

const OP_FUNCTION_PRE_GA: u8 = 246;
const OP_FUNCTION2: u8 = 245;
const OP_MODULE_AUX: u8 = 247;
const OP_IDLE: u8 = 248;
const OP_FREQ: u8 = 249;
const OP_AUX: u8 = 250;
const OP_RESIZEDB: u8 = 251;
const OP_EXPIRETIME_MS: u8 = 252;
const OP_EXPIRETIME: u8 = 253;
const OP_SELECTDB: u8 = 254;
const OP_EOF: u8 = 255;

/// Redis's CONFIG_BGSAVE_RETRY_DELAY: after a failed background save, a
/// save point triggers again only after this long.
const RETRY_DELAY_MS: u64 = 5000;

/// SHUTDOWN's choice for the save at exit.
pub const SHUTDOWN_DEFAULT: u8 = 0;
pub const SHUTDOWN_SAVE: u8 = 1;
pub const SHUTDOWN_NOSAVE: u8 = 2;

/// Where the RDB file is: `dir` and `dbfilename`.
#[derive(Debug, Clone)]
pub struct RdbFile {
    pub dir: PathBuf,
    pub name: String,
}

/// The state of RDB saving: what INFO persistence and LASTSAVE report,
/// what the `save` schedule compares with.
#[derive(Debug)]
pub struct Rdb {
    /// The background ring the files are written through.
    bg: BgIo,
    bgsave_on: AtomicBool,
    bgsave_start_ms: AtomicU64,
    /// Unix seconds of the last successful save (the start before any).
    last_save: AtomicU64,
    last_bgsave_ok: AtomicBool,
    last_bgsave_secs: AtomicI64,
    last_try_ms: AtomicU64,
    saves: AtomicU64,
    /// The change counter at the last saved snapshot.
    dirty_at_save: AtomicU64,
    loaded_keys: AtomicU64,
    loaded_expired: AtomicU64,
    shutdown_mode: AtomicU8,
    /// Held while a file is written and renamed: a late background save can
    /// never rename an older snapshot over a newer one (SAVE at shutdown).
    file_lock: Mutex<()>,
}

impl Rdb {
    /// `start_unix`: the server's start (LASTSAVE before the first save).
    pub fn new(bg: BgIo, start_unix: u64) -> Rdb {
        Rdb {
            bg,
            bgsave_on: AtomicBool::new(false),
            bgsave_start_ms: AtomicU64::new(0),
            last_save: AtomicU64::new(start_unix),
            last_bgsave_ok: AtomicBool::new(true),
            last_bgsave_secs: AtomicI64::new(-1),
            last_try_ms: AtomicU64::new(0),
            saves: AtomicU64::new(0),
            dirty_at_save: AtomicU64::new(0),
            loaded_keys: AtomicU64::new(0),
            loaded_expired: AtomicU64::new(0),
            shutdown_mode: AtomicU8::new(SHUTDOWN_DEFAULT),
            file_lock: Mutex::new(()),
        }
    }

    /// Changes since the last save, given the change counter `dirty`.
    pub fn changes_since_save(&self, dirty: u64) -> u64 {
        dirty.saturating_sub(self.dirty_at_save.load(Ordering::Relaxed))
    }

    /// Unix time of the last successful save (LASTSAVE).
    pub fn last_save(&self) -> u64 {
        self.last_save.load(Ordering::Relaxed)
    }

    pub fn set_shutdown_mode(&self, m: u8) {
        self.shutdown_mode.store(m, Ordering::SeqCst);
    }

    pub fn bgsave_in_progress(&self) -> bool {
        self.bgsave_on.load(Ordering::SeqCst)
    }

    /// Whether the last BGSAVE (or save-point save) succeeded.
    pub fn last_bgsave_ok(&self) -> bool {
        self.last_bgsave_ok.load(Ordering::Relaxed)
    }

    /// INFO persistence's rdb fields, in Redis's order.
    pub fn info_fields(&self, dirty: u64) -> Vec<(&'static str, String)> {
        let on = self.bgsave_in_progress();
        let cur = if on {
            let start = self.bgsave_start_ms.load(Ordering::Relaxed);
            (crate::util::now_ms().saturating_sub(start) / 1000) as i64
        } else {
            -1
        };
        let ok = self.last_bgsave_ok.load(Ordering::Relaxed);
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed).to_string();
        vec![
            (
                "rdb_changes_since_last_save",
                self.changes_since_save(dirty).to_string(),
            ),
            ("rdb_bgsave_in_progress", u8::from(on).to_string()),
            ("rdb_last_save_time", self.last_save().to_string()),
            (
                "rdb_last_bgsave_status",
                if ok { "ok" } else { "err" }.into(),
            ),
            (
                "rdb_last_bgsave_time_sec",
                self.last_bgsave_secs.load(Ordering::Relaxed).to_string(),
            ),
            ("rdb_current_bgsave_time_sec", cur.to_string()),
            ("rdb_saves", n(&self.saves)),
            ("rdb_last_cow_size", "0".into()),
            ("rdb_last_load_keys_expired", n(&self.loaded_expired)),
            ("rdb_last_load_keys_loaded", n(&self.loaded_keys)),
        ]
    }

    /// A save of the change count `dirty` succeeded.
    fn saved(&self, dirty: u64) {
        self.dirty_at_save.store(dirty, Ordering::Relaxed);
        self.last_save
            .store(crate::util::now_ms() / 1000, Ordering::Relaxed);
        self.saves.fetch_add(1, Ordering::Relaxed);
    }

    /// Saves from the locked shards (every shard must be held): SAVE, and
    /// the save at shutdown. `dirty` is the change count now.
    pub fn save(
        &self,
        locked: &mut Locked,
        databases: usize,
        file: &RdbFile,
        dirty: u64,
    ) -> Result<usize, String> {
        let now = crate::util::now_ms();
        let t = std::time::Instant::now();
        let tmp = format!("temp-{}.rdb", std::process::id());
        let n = save::write_file(
            &self.bg,
            &self.file_lock,
            &file.dir,
            &tmp,
            &file.name,
            |w| {
                let mut n = 0;
                let mut shards = locked.shards();
                for i in 0..databases {
                    let (keys, exp) = shards.iter().fold((0, 0), |(a, b), s| {
                        (a + s.dbs[i].len(), b + s.dbs[i].expires_len())
                    });
                    if keys == 0 {
                        continue;
                    }
                    w.select(i, keys, exp);
                    for s in shards.iter_mut() {
                        let db = &s.dbs[i];
                        for (k, e) in db.entries(now) {
                            w.key(k, &e.value, db.expire_at(k))?;
                            n += 1;
                        }
                    }
                }
                Ok(n)
            },
        )?;
        self.saved(dirty);
        eprintln!(
            "kvserver: DB saved on disk ({n} keys, {:?}, {})",
            t.elapsed(),
            file.dir.join(&file.name).display()
        );
        Ok(n)
    }

    /// Starts a background save of `snap` (taken at change count `dirty`).
    /// The error is the reply's text.
    pub fn bgsave(self: &Arc<Self>, snap: Walk, file: &RdbFile, dirty: u64) -> Result<(), String> {
        if self.bgsave_on.swap(true, Ordering::SeqCst) {
            return Err("ERR Background save already in progress".into());
        }
        let start = crate::util::now_ms();
        self.bgsave_start_ms.store(start, Ordering::Relaxed);
        self.last_try_ms.store(start, Ordering::Relaxed);
        let rdb = self.clone();
        let file = file.clone();
        let spawned = std::thread::Builder::new()
            .name("kv-bgsave".into())
            .spawn(move || {
                let tmp = format!("temp-bgsave-{}.rdb", std::process::id());
                let res =
                    save::write_file(&rdb.bg, &rdb.file_lock, &file.dir, &tmp, &file.name, |w| {
                        save::write_walk(w, snap)
                    });
                let secs = (crate::util::now_ms().saturating_sub(start) / 1000) as i64;
                rdb.last_bgsave_secs.store(secs, Ordering::Relaxed);
                match res {
                    Ok(n) => {
                        rdb.saved(dirty);
                        rdb.last_bgsave_ok.store(true, Ordering::Relaxed);
                        eprintln!("kvserver: Background saving terminated with success ({n} keys)");
                    }
                    Err(e) => {
                        rdb.last_bgsave_ok.store(false, Ordering::Relaxed);
                        eprintln!("kvserver: # Background saving error: {e}");
                    }
                }
                rdb.bgsave_on.store(false, Ordering::SeqCst);
            });
        if let Err(e) = spawned {
            self.bgsave_on.store(false, Ordering::SeqCst);
            self.last_bgsave_ok.store(false, Ordering::Relaxed);
            return Err(format!("ERR Can't save in background: {e}"));
        }
        Ok(())
    }

    /// The `save` schedule (`points`: (seconds, changes) pairs), checked
    /// from the server's 100 ms tick (holding no lock): a background save
    /// when some point is reached, as Redis's serverCron. `dirty` is the
    /// change count now.
    pub fn cron(
        self: &Arc<Self>,
        ks: &Arc<Keyspace>,
        points: &[(u64, u64)],
        file: &RdbFile,
        dirty: u64,
    ) {
        if self.bgsave_in_progress() || points.is_empty() {
            return;
        }
        let now = crate::util::now_ms();
        let changes = self.changes_since_save(dirty);
        let since = (now / 1000).saturating_sub(self.last_save());
        let may_retry = self.last_bgsave_ok.load(Ordering::Relaxed)
            || now.saturating_sub(self.last_try_ms.load(Ordering::Relaxed)) > RETRY_DELAY_MS;
        let Some(&(secs, point)) = points.iter().find(|(s, c)| changes >= *c && since >= *s) else {
            return;
        };
        if !may_retry {
            return;
        }
        eprintln!("kvserver: {point} changes in {secs} seconds. Saving...");
        let snap = Walk::begin(ks, &mut ks.lock_all(), now);
        if let Err(e) = self.bgsave(snap, file, dirty) {
            eprintln!("kvserver: # {e}");
        }
    }

    /// At exit (SIGTERM, SIGINT, SHUTDOWN; the I/O threads are gone):
    /// saves when SHUTDOWN SAVE asked, or when save points are configured
    /// and SHUTDOWN NOSAVE did not ask otherwise (Redis's rule).
    pub fn at_exit(
        &self,
        ks: &Keyspace,
        points: &[(u64, u64)],
        file: &RdbFile,
        dirty: u64,
    ) -> Result<(), String> {
        let save = match self.shutdown_mode.load(Ordering::SeqCst) {
            SHUTDOWN_SAVE => true,
            SHUTDOWN_NOSAVE => false,
            _ => !points.is_empty(),
        };
        if !save {
            return Ok(());
        }
        eprintln!("kvserver: Saving the final RDB snapshot before exiting.");
        self.save(&mut ks.lock_all(), ks.databases, file, dirty)
            .map(|_| ())
            .map_err(|e| format!("# Error trying to save the DB, can't exit: {e}"))
    }

    /// Loads the RDB file into `ks` if it exists (at start-up, when the
    /// AOF is off, as Redis does). Errors name the file and the offset.
    pub fn load_at_start(&self, ks: &Keyspace, file: &RdbFile) -> Result<(), String> {
        let path = file.dir.join(&file.name);
        let data = match std::fs::read(&path) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(format!("reading {}: {e}", path.display())),
        };
        let t = std::time::Instant::now();
        let (keys, expired) = load_into(ks, &data, true).map_err(|b| {
            format!(
                "Bad file format reading the RDB file {}: {} at offset {}",
                path.display(),
                b.what,
                b.offset
            )
        })?;
        self.loaded_keys.store(keys, Ordering::Relaxed);
        self.loaded_expired.store(expired, Ordering::Relaxed);
        eprintln!(
            "kvserver: DB loaded from disk: {} ({keys} keys, {expired} expired keys skipped, {:?})",
            path.display(),
            t.elapsed()
        );
        Ok(())
    }
}

impl RdbFile {
    /// `dir` (empty: the working directory) and `dbfilename`.
    pub fn new(dir: &str, name: String) -> RdbFile {
        let dir = if dir.is_empty() { "." } else { dir };
        RdbFile {
            dir: Path::new(dir).to_path_buf(),
            name,
        }
    }
}
