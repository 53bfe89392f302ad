//! RDB persistence in Redis 7.0's format (RDB version 10): SAVE, BGSAVE,
//! LASTSAVE, `save` schedules, loading `dir/dbfilename` at start-up,
//! saving at shutdown, and DUMP/RESTORE (the same serialization,
//! [`codec`]).
//!
//! BGSAVE takes a point-in-time copy of the keyspace with every shard
//! locked (as BGREWRITEAOF does: strings are refcounted `Bytes`,
//! collections are copied), unlocks, and writes the copy on its own thread
//! (not an I/O thread; it holds no lock) to `temp-bgsave-<pid>.rdb`, fsyncs
//! it and renames it over `dbfilename`. SAVE writes straight from the
//! locked shards (it blocks every client, as Redis's SAVE does).

pub mod codec;
pub mod crc64;
pub mod lzf;

use crate::exec::context::Ctx;
use crate::exec::table::{flags, COMMANDS};
use crate::keyspace::{Keyspace, Locked};
use crate::persist::ring_file::RingFile;
use crate::persist::snapshot::{self, Snapshot};
use crate::proto::reply::err;
use crate::server::Server;
use crate::types::Value;
use codec::{put_len, put_string, put_value, Reader};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, Ordering};
use std::sync::Mutex;

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

static BGSAVE_ON: AtomicBool = AtomicBool::new(false);
static BGSAVE_START_MS: AtomicU64 = AtomicU64::new(0);
/// Unix seconds of the last successful save (0: none yet: the start).
static LAST_SAVE: AtomicU64 = AtomicU64::new(0);
static LAST_BGSAVE_OK: AtomicBool = AtomicBool::new(true);
static LAST_BGSAVE_SECS: AtomicI64 = AtomicI64::new(-1);
static LAST_TRY_MS: AtomicU64 = AtomicU64::new(0);
static SAVES: AtomicU64 = AtomicU64::new(0);
/// The change counter ([`dirty_total`]) at the last saved snapshot.
static DIRTY_AT_SAVE: AtomicU64 = AtomicU64::new(0);
static LOADED_KEYS: AtomicU64 = AtomicU64::new(0);
static LOADED_EXPIRED: AtomicU64 = AtomicU64::new(0);
static SHUTDOWN_MODE: AtomicU8 = AtomicU8::new(SHUTDOWN_DEFAULT);
/// Held while a file is written and renamed: a late background save can
/// never rename an older snapshot over a newer one (SAVE at shutdown).
static FILE_LOCK: Mutex<()> = Mutex::new(());

/// Changes since the start: successful calls of write commands (Redis
/// counts modified elements; we count commands).
pub fn dirty_total(srv: &Server) -> u64 {
    COMMANDS
        .iter()
        .filter(|c| c.flags & flags::WRITE != 0)
        .map(|c| {
            let st = srv.stats.cmd(c.index());
            st.calls
                .load(Ordering::Relaxed)
                .saturating_sub(st.failed.load(Ordering::Relaxed))
        })
        .sum()
}

pub fn changes_since_save(srv: &Server) -> u64 {
    dirty_total(srv).saturating_sub(DIRTY_AT_SAVE.load(Ordering::Relaxed))
}

pub fn last_save(srv: &Server) -> u64 {
    match LAST_SAVE.load(Ordering::Relaxed) {
        0 => srv.start_unix,
        t => t,
    }
}

pub fn set_shutdown_mode(m: u8) {
    SHUTDOWN_MODE.store(m, Ordering::SeqCst);
}

/// INFO persistence's rdb fields, in Redis's order.
pub fn info_fields(srv: &Server) -> Vec<(&'static str, String)> {
    let on = BGSAVE_ON.load(Ordering::SeqCst);
    let cur = if on {
        ((crate::util::now_ms().saturating_sub(BGSAVE_START_MS.load(Ordering::Relaxed))) / 1000)
            as i64
    } else {
        -1
    };
    vec![
        (
            "rdb_changes_since_last_save",
            changes_since_save(srv).to_string(),
        ),
        ("rdb_bgsave_in_progress", u8::from(on).to_string()),
        ("rdb_last_save_time", last_save(srv).to_string()),
        (
            "rdb_last_bgsave_status",
            if LAST_BGSAVE_OK.load(Ordering::Relaxed) {
                "ok"
            } else {
                "err"
            }
            .to_string(),
        ),
        (
            "rdb_last_bgsave_time_sec",
            LAST_BGSAVE_SECS.load(Ordering::Relaxed).to_string(),
        ),
        ("rdb_current_bgsave_time_sec", cur.to_string()),
        ("rdb_saves", SAVES.load(Ordering::Relaxed).to_string()),
        ("rdb_last_cow_size", "0".into()),
        (
            "rdb_last_load_keys_expired",
            LOADED_EXPIRED.load(Ordering::Relaxed).to_string(),
        ),
        (
            "rdb_last_load_keys_loaded",
            LOADED_KEYS.load(Ordering::Relaxed).to_string(),
        ),
    ]
}

/// `save` as (seconds, changes) pairs.
fn save_params(srv: &Server) -> Vec<(u64, u64)> {
    let v = srv.config.get("save");
    let nums: Vec<u64> = v
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    nums.chunks_exact(2).map(|c| (c[0], c[1])).collect()
}

fn file_path(srv: &Server) -> (PathBuf, String) {
    let dir = srv.config.get("dir");
    let dir = if dir.is_empty() { ".".into() } else { dir };
    (PathBuf::from(dir), srv.config.get("dbfilename"))
}

// ---------------------------------------------------------------------------
// Writing a file
// ---------------------------------------------------------------------------

/// An RDB file being written: every byte goes through the CRC.
struct FileWriter {
    /// Through the background ring: writes and the fsync run on FastIO's
    /// blocking workers.
    w: RingFile,
    crc: u64,
    buf: Vec<u8>,
}

impl FileWriter {
    fn create(path: &Path) -> std::io::Result<FileWriter> {
        let mut fw = FileWriter {
            w: RingFile::create(path)?,
            crc: 0,
            buf: Vec::with_capacity(1 << 16),
        };
        fw.buf
            .extend_from_slice(format!("REDIS{:04}", codec::RDB_VERSION).as_bytes());
        let ctime = (crate::util::now_ms() / 1000).to_string();
        let mem = crate::cmd::server_cmds::rss_bytes().to_string();
        for (k, v) in [
            ("redis-ver", crate::server::REDIS_VERSION),
            ("redis-bits", "64"),
            ("ctime", &ctime),
            ("used-mem", &mem),
            ("aof-base", "0"),
        ] {
            fw.buf.push(OP_AUX);
            put_string(&mut fw.buf, k.as_bytes());
            put_string(&mut fw.buf, v.as_bytes());
        }
        Ok(fw)
    }

    fn flush_buf(&mut self) -> std::io::Result<()> {
        self.crc = crc64::update(self.crc, &self.buf);
        self.w.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    fn select(&mut self, db: usize, keys: usize, expires: usize) {
        self.buf.push(OP_SELECTDB);
        put_len(&mut self.buf, db as u64);
        self.buf.push(OP_RESIZEDB);
        put_len(&mut self.buf, keys as u64);
        put_len(&mut self.buf, expires as u64);
    }

    fn key(&mut self, key: &[u8], v: &Value, exp: Option<u64>) -> std::io::Result<()> {
        if let Some(at) = exp {
            self.buf.push(OP_EXPIRETIME_MS);
            self.buf.extend_from_slice(&at.to_le_bytes());
        }
        // Type byte, then key, then value: put_value writes the type first.
        let mut val = Vec::new();
        put_value(&mut val, v);
        self.buf.push(val[0]);
        put_string(&mut self.buf, key);
        self.buf.extend_from_slice(&val[1..]);
        if self.buf.len() >= 1 << 16 {
            self.flush_buf()?;
        }
        Ok(())
    }

    fn finish(mut self) -> std::io::Result<()> {
        self.buf.push(OP_EOF);
        self.flush_buf()?;
        let crc = self.crc;
        self.w.write_all(&crc.to_le_bytes())?;
        self.w.finish()
    }
}

/// Writes `tmp`, fsyncs, renames it to `dir/name`, fsyncs the directory.
fn write_file(
    dir: &Path,
    tmp_name: &str,
    name: &str,
    body: impl FnOnce(&mut FileWriter) -> std::io::Result<usize>,
) -> Result<usize, String> {
    let _g = FILE_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = dir.join(tmp_name);
    let res = (|| {
        let mut w = FileWriter::create(&tmp)?;
        let n = body(&mut w)?;
        w.finish()?;
        std::fs::rename(&tmp, dir.join(name))?;
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok::<usize, std::io::Error>(n)
    })();
    res.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("writing {}: {e}", tmp.display())
    })
}

fn write_snapshot(w: &mut FileWriter, snap: &Snapshot) -> std::io::Result<usize> {
    let mut n = 0;
    for (i, keys) in snap.iter().enumerate() {
        if keys.is_empty() {
            continue;
        }
        let exp = keys.iter().filter(|x| x.2.is_some()).count();
        w.select(i, keys.len(), exp);
        for (k, v, e) in keys {
            w.key(k, v, *e)?;
            n += 1;
        }
    }
    Ok(n)
}

/// Saves from the locked shards (every shard must be held): SAVE, and the
/// save at shutdown.
fn save_locked(srv: &Server, locked: &mut Locked) -> Result<usize, String> {
    let (dir, name) = file_path(srv);
    let now = crate::util::now_ms();
    let dirty = dirty_total(srv);
    let dbs = srv.ks.databases;
    let t = std::time::Instant::now();
    let n = write_file(
        &dir,
        &format!("temp-{}.rdb", std::process::id()),
        &name,
        |w| {
            let mut n = 0;
            let mut shards = locked.shards();
            for i in 0..dbs {
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
    DIRTY_AT_SAVE.store(dirty, Ordering::Relaxed);
    LAST_SAVE.store(crate::util::now_ms() / 1000, Ordering::Relaxed);
    SAVES.fetch_add(1, Ordering::Relaxed);
    eprintln!(
        "kvserver: DB saved on disk ({n} keys, {:?}, {})",
        t.elapsed(),
        dir.join(&name).display()
    );
    Ok(n)
}

/// Starts a background save of `snap` (taken at change count `dirty`).
fn bgsave_start(srv: &Server, snap: Snapshot, dirty: u64) -> Result<(), String> {
    if BGSAVE_ON.swap(true, Ordering::SeqCst) {
        return Err("ERR Background save already in progress".into());
    }
    let (dir, name) = file_path(srv);
    let start = crate::util::now_ms();
    BGSAVE_START_MS.store(start, Ordering::Relaxed);
    LAST_TRY_MS.store(start, Ordering::Relaxed);
    let spawned = std::thread::Builder::new()
        .name("kv-bgsave".into())
        .spawn(move || {
            let tmp = format!("temp-bgsave-{}.rdb", std::process::id());
            let res = write_file(&dir, &tmp, &name, |w| write_snapshot(w, &snap));
            drop(snap);
            let secs = (crate::util::now_ms().saturating_sub(start) / 1000) as i64;
            LAST_BGSAVE_SECS.store(secs, Ordering::Relaxed);
            match res {
                Ok(n) => {
                    DIRTY_AT_SAVE.store(dirty, Ordering::Relaxed);
                    LAST_SAVE.store(crate::util::now_ms() / 1000, Ordering::Relaxed);
                    SAVES.fetch_add(1, Ordering::Relaxed);
                    LAST_BGSAVE_OK.store(true, Ordering::Relaxed);
                    eprintln!("kvserver: Background saving terminated with success ({n} keys)");
                }
                Err(e) => {
                    LAST_BGSAVE_OK.store(false, Ordering::Relaxed);
                    eprintln!("kvserver: # Background saving error: {e}");
                }
            }
            BGSAVE_ON.store(false, Ordering::SeqCst);
        });
    if let Err(e) = spawned {
        BGSAVE_ON.store(false, Ordering::SeqCst);
        LAST_BGSAVE_OK.store(false, Ordering::Relaxed);
        return Err(format!("ERR Can't save in background: {e}"));
    }
    Ok(())
}

pub fn bgsave_in_progress() -> bool {
    BGSAVE_ON.load(Ordering::SeqCst)
}

/// The `save` schedule, checked from the server's 100 ms tick (holding no
/// lock): a background save when some `save <seconds> <changes>` point is
/// reached, as Redis's serverCron.
pub fn cron(srv: &Server) {
    if bgsave_in_progress() {
        return;
    }
    let params = save_params(srv);
    if params.is_empty() {
        return;
    }
    let now = crate::util::now_ms();
    let dirty = changes_since_save(srv);
    let since = (now / 1000).saturating_sub(last_save(srv));
    let may_retry = LAST_BGSAVE_OK.load(Ordering::Relaxed)
        || now.saturating_sub(LAST_TRY_MS.load(Ordering::Relaxed)) > RETRY_DELAY_MS;
    let Some((secs, changes)) = params
        .iter()
        .find(|(s, c)| dirty >= *c && since >= *s)
        .copied()
    else {
        return;
    };
    if !may_retry {
        return;
    }
    eprintln!("kvserver: {changes} changes in {secs} seconds. Saving...");
    let (snap, total) = {
        let mut l = srv.ks.lock_all();
        (
            snapshot::take(&mut l, srv.ks.databases, now),
            dirty_total(srv),
        )
    };
    if let Err(e) = bgsave_start(srv, snap, total) {
        eprintln!("kvserver: # {e}");
    }
}

/// At exit (SIGTERM, SIGINT, SHUTDOWN; the I/O threads are gone): saves
/// when SHUTDOWN SAVE asked, or when save points are configured and
/// neither SHUTDOWN NOSAVE asked (Redis's rule).
pub fn at_exit(srv: &Server) -> Result<(), String> {
    let mode = SHUTDOWN_MODE.load(Ordering::SeqCst);
    let save = match mode {
        SHUTDOWN_SAVE => true,
        SHUTDOWN_NOSAVE => false,
        _ => !save_params(srv).is_empty(),
    };
    if !save {
        return Ok(());
    }
    eprintln!("kvserver: Saving the final RDB snapshot before exiting.");
    let mut l = srv.ks.lock_all();
    save_locked(srv, &mut l)
        .map(|_| ())
        .map_err(|e| format!("# Error trying to save the DB, can't exit: {e}"))
}

// ---------------------------------------------------------------------------
// Loading at start-up
// ---------------------------------------------------------------------------

/// Loads `dir/dbfilename` if it exists (called when the AOF is off, as
/// Redis does). Errors name the file and the offset.
pub fn load_at_start(srv: &Server) -> Result<(), String> {
    let (dir, name) = file_path(srv);
    let path = dir.join(&name);
    let data = match std::fs::read(&path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("reading {}: {e}", path.display())),
    };
    let t = std::time::Instant::now();
    let (keys, expired) = load_into(&srv.ks, &data, true).map_err(|b| {
        format!(
            "Bad file format reading the RDB file {}: {} at offset {}",
            path.display(),
            b.what,
            b.offset
        )
    })?;
    LOADED_KEYS.store(keys, Ordering::Relaxed);
    LOADED_EXPIRED.store(expired, Ordering::Relaxed);
    eprintln!(
        "kvserver: DB loaded from disk: {} ({keys} keys, {expired} expired keys skipped, {:?})",
        path.display(),
        t.elapsed()
    );
    Ok(())
}

/// Parses a whole RDB file into the keyspace: (keys loaded, expired keys
/// skipped). `skip_expired`: keys whose deadline passed are not loaded
/// (a master loading its RDB; an AOF's RDB base loads them all, its tail
/// says what became of them).
pub fn load_into(ks: &Keyspace, data: &[u8], skip_expired: bool) -> Result<(u64, u64), codec::Bad> {
    let mut r = Reader::new(data);
    let magic = r.bytes(9)?;
    if &magic[..5] != b"REDIS" {
        r.p = 0;
        return r.bad("wrong signature (not an RDB file)");
    }
    let ver: u32 = match std::str::from_utf8(&magic[5..])
        .ok()
        .and_then(|s| s.parse().ok())
    {
        Some(v) if (1..=11).contains(&v) => v,
        _ => {
            r.p = 5;
            return r.bad("can't handle this RDB format version");
        }
    };
    let now = crate::util::now_ms();
    let mut db = 0usize;
    let mut expire: Option<u64> = None;
    let (mut idle, mut freq): (Option<u64>, Option<u8>) = (None, None);
    let (mut keys, mut expired) = (0u64, 0u64);
    loop {
        let at = r.p;
        let op = r.u8()?;
        match op {
            OP_EXPIRETIME_MS => expire = Some(r.u64_le()?),
            OP_EXPIRETIME => expire = Some(r.u32_le()? as u64 * 1000),
            // A key's access data, applied as Redis's objectSetLRUOrLFU.
            OP_FREQ => freq = Some(r.u8()?),
            OP_IDLE => idle = Some(r.len()?),
            OP_AUX => {
                r.string()?;
                r.string()?;
            }
            OP_RESIZEDB => {
                r.len()?;
                r.len()?;
            }
            OP_SELECTDB => {
                let n = r.len()?;
                if n >= ks.databases as u64 {
                    r.p = at;
                    return r.bad(format!(
                        "database {n} is out of range (databases {})",
                        ks.databases
                    ));
                }
                db = n as usize;
            }
            OP_MODULE_AUX => {
                r.p = at;
                return r.bad("module data (MODULE_AUX) is not supported");
            }
            OP_FUNCTION2 | OP_FUNCTION_PRE_GA => {
                r.p = at;
                return r.bad("functions (FUNCTION LOAD libraries) are not supported");
            }
            OP_EOF => {
                if ver >= 5 {
                    let end = r.p;
                    let sum = r.u64_le()?;
                    if sum != 0 && sum != crc64::update(0, &data[..end]) {
                        r.p = end;
                        return r.bad("RDB CRC64 checksum mismatch");
                    }
                }
                if r.left() != 0 {
                    return r.bad("data after the end of the RDB file");
                }
                return Ok((keys, expired));
            }
            t => {
                let key = r.string()?;
                let key_at = r.p;
                let v = codec::read_value(&mut r, t)?;
                let exp = expire.take();
                let (key_idle, key_freq) = (idle.take(), freq.take());
                let Some(v) = v else {
                    continue; // an empty collection: Redis skips it too
                };
                if skip_expired && exp.is_some_and(|e| e < now) {
                    expired += 1;
                    continue;
                }
                let mut l = ks.lock(&[ks.shard_of(&key)]);
                let d = l.db(db, &key);
                if d.contains(&key, 0) {
                    r.p = key_at;
                    return r.bad(format!(
                        "duplicated key '{}' in database {db}",
                        String::from_utf8_lossy(&key)
                    ));
                }
                d.set(&key, v, exp, now);
                d.set_idle_or_freq(&key, key_idle, key_freq, now);
                keys += 1;
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------

/// SAVE: writes the file from the locked shards (flag ALL_SHARDS: every
/// shard is held, every client waits, as with Redis's SAVE).
pub fn save(ctx: &mut Ctx, _argv: &[&[u8]]) {
    if bgsave_in_progress() {
        return ctx.out.error("ERR Background save already in progress");
    }
    match save_locked(ctx.server, &mut ctx.ks) {
        Ok(_) => ctx.out.ok(),
        Err(e) => {
            eprintln!("kvserver: # SAVE failed: {e}");
            ctx.out.error(&format!("ERR {e}"));
        }
    }
}

/// BGSAVE [SCHEDULE]: the snapshot is copied here, under every shard lock
/// (flag ALL_SHARDS), and written by a background thread.
pub fn bgsave(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() > 2 || (argv.len() == 2 && !argv[1].eq_ignore_ascii_case(b"schedule")) {
        return ctx.out.error(err::SYNTAX);
    }
    if bgsave_in_progress() {
        return ctx.out.error("ERR Background save already in progress");
    }
    let srv = ctx.server;
    let snap = snapshot::take(&mut ctx.ks, srv.ks.databases, ctx.now);
    match bgsave_start(srv, snap, dirty_total(srv)) {
        Ok(()) => ctx.out.simple("Background saving started"),
        Err(e) => ctx.out.error(&e),
    }
}

/// LASTSAVE: the Unix time of the last successful save (the start time
/// before any).
pub fn lastsave(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.out.int(last_save(ctx.server) as i64);
}

/// DUMP key: the value in Redis's DUMP format, or nil.
pub fn dump(ctx: &mut Ctx, argv: &[&[u8]]) {
    let now = ctx.now;
    let payload = ctx
        .db(argv[1])
        .get(argv[1], now)
        .map(|e| codec::dump(&e.value));
    match payload {
        Some(p) => ctx.out.bulk(&p),
        None => ctx.out.null(),
    }
}

/// RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f].
pub fn restore(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq) = (None, None);
    let mut i = 4;
    while i < argv.len() {
        let a = argv[i].to_ascii_lowercase();
        let more = i + 1 < argv.len();
        match a.as_slice() {
            b"replace" => replace = true,
            b"absttl" => absttl = true,
            b"idletime" if more && freq.is_none() => {
                match crate::util::parse_i64(argv[i + 1]) {
                    None => return ctx.out.error(err::NOT_INTEGER),
                    Some(v) if v < 0 => {
                        return ctx.out.error("ERR Invalid IDLETIME value, must be >= 0")
                    }
                    Some(v) => idle = Some(v as u64),
                }
                i += 1;
            }
            b"freq" if more && idle.is_none() => {
                match crate::util::parse_i64(argv[i + 1]) {
                    None => return ctx.out.error(err::NOT_INTEGER),
                    Some(v) if !(0..=255).contains(&v) => {
                        return ctx
                            .out
                            .error("ERR Invalid FREQ value, must be >= 0 and <= 255")
                    }
                    Some(v) => freq = Some(v as u8),
                }
                i += 1;
            }
            _ => return ctx.out.error(err::SYNTAX),
        }
        i += 1;
    }
    let Some(ttl) = crate::util::parse_i64(argv[2]) else {
        return ctx.out.error(err::NOT_INTEGER);
    };
    if ttl < 0 {
        return ctx.out.error("ERR Invalid TTL value, must be >= 0");
    }
    let (key, now) = (argv[1], ctx.now);
    if !replace && ctx.db(key).contains(key, now) {
        return ctx.out.error("BUSYKEY Target key name already exists.");
    }
    let v = match codec::undump(argv[3]) {
        Ok(Some(v)) => v,
        Err(codec::PayloadError::VersionOrChecksum) => {
            return ctx
                .out
                .error("ERR DUMP payload version or checksum are wrong")
        }
        Ok(None) | Err(codec::PayloadError::BadFormat) => {
            return ctx.out.error("ERR Bad data format")
        }
    };
    let db = ctx.db(key);
    let deleted = replace && db.remove(key).is_some();
    let at = match (ttl, absttl) {
        (0, _) => None,
        (t, true) => Some(t as u64),
        (t, false) => Some(now.saturating_add(t as u64)),
    };
    if at.is_some_and(|at| at < now) {
        // Already expired: nothing is created (the old key, if replaced,
        // is gone).
        if deleted {
            ctx.propagate(&[b"DEL", key]);
        } else {
            ctx.propagate_nothing();
        }
        return ctx.out.ok();
    }
    db.set(key, v, at, now);
    db.set_idle_or_freq(key, idle, freq, now);
    // Propagated without its relative TTL (a replay later would move the
    // deadline), then the absolute deadline.
    ctx.propagate(&[b"RESTORE", key, b"0", argv[3], b"REPLACE"]);
    if let Some(at) = at {
        let at = at.to_string();
        ctx.propagate(&[b"PEXPIREAT", key, at.as_bytes()]);
    }
    ctx.out.ok();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_empty_file_shape() {
        let dir = std::env::temp_dir().join(format!("kv-rdb-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        crate::persist::ring_file::install_for_tests();
        let n = write_file(&dir, "t.tmp", "e.rdb", |_| Ok(0)).unwrap();
        assert_eq!(n, 0);
        let d = std::fs::read(dir.join("e.rdb")).unwrap();
        assert!(d.starts_with(b"REDIS0010"));
        let end = d.len() - 8;
        assert_eq!(d[end - 1], OP_EOF);
        let mut c = [0u8; 8];
        c.copy_from_slice(&d[end..]);
        assert_eq!(u64::from_le_bytes(c), crc64::update(0, &d[..end]));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
