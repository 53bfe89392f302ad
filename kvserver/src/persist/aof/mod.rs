//! The append-only file (Redis's aof.c): every write command that changed
//! the dataset is appended as a RESP command, in execution order; start-up
//! replays the file; BGREWRITEAOF compacts it in the background.
//!
//! # Layout: Redis 7.0's multi-part AOF
//!
//! `dir/appenddirname/` (default `appendonlydir`) holds a manifest
//! (`appendonly.aof.manifest`: one `file NAME seq N type b|i` line per file),
//! at most one *base* file (a snapshot written as commands,
//! `appendonly.aof.N.base.aof`; Redis's own empty-RDB base
//! `appendonly.aof.N.base.rdb` is read too) and *incremental* files
//! (`appendonly.aof.N.incr.aof`) that new records are appended to. This is
//! what redis-server 7.0 writes and reads, so either server loads the
//! other's directory. A single-file `dir/appendonly.aof` (Redis < 7) with no
//! manifest is loaded and then upgraded as Redis 7.0 does (moved into the
//! directory as the base).
//!
//! # Order
//!
//! [`Aof::feed`] runs in [`crate::exec::command::run`] *while the command still
//! holds its shard locks*, and appends to one buffer under one mutex. Two
//! commands that conflict (share a shard) are serialized by the shard lock,
//! and the first one appends before it unlocks, so the file order agrees
//! with execution order on every key: replaying the file reproduces the
//! dataset. EXEC appends `MULTI`, its commands, `EXEC` in one go under its
//! locks. Keys deleted by expiry (lazy or active) are appended as `DEL`
//! under the same shard lock (noted by `db.rs`, flushed before the lock
//! is released), since the loader, as Redis's, expires nothing.
//!
//! Commands are rewritten so that replay is deterministic: relative TTLs
//! become absolute (`SET k v PXAT ms`, `PEXPIREAT`), INCRBYFLOAT becomes
//! `SET`, HINCRBYFLOAT `HSET`, SPOP `SREM`, XADD gets its generated ID and
//! exact trimming, blocking pops their non-blocking form.
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

use crate::exec::command::{flags, Command, Ctx};
use crate::net::mailbox::Mailboxes;
use crate::proto::reply::Reply;
use crate::server::{Client, Server};
use crate::types::stream::StreamId;
use crate::types::Value;
use bytes::{Bytes, BytesMut};
use fastio::Proactor;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::{AsRawFd, IntoRawFd};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

/// Ring tokens of the AOF's ops (below networking's reserved ones).
pub const TOKEN_WRITE: u64 = u64::MAX - 16;
pub const TOKEN_FSYNC: u64 = u64::MAX - 17;
pub const TOKEN_CLOSE: u64 = u64::MAX - 18;
pub const TOKEN_RETRY: u64 = u64::MAX - 19;

const ALWAYS: u8 = 0;
const EVERYSEC: u8 = 1;
const NO: u8 = 2;

/// Items per command in a rewritten base (Redis: AOF_REWRITE_ITEMS_PER_CMD).
const ITEMS_PER_CMD: usize = 64;

static AOF: OnceLock<Aof> = OnceLock::new();
/// Set once the AOF is live: `db.rs` notes expired keys only then.
static ON: AtomicBool = AtomicBool::new(false);
static FSYNC_MODE: AtomicU8 = AtomicU8::new(EVERYSEC);

thread_local! {
    /// Keys this thread deleted by expiry, not yet appended as DEL.
    static EXPIRED: RefCell<Vec<(usize, Bytes)>> = const { RefCell::new(Vec::new()) };
}

/// The AOF, once `appendonly yes` loaded it.
#[inline]
pub fn get() -> Option<&'static Aof> {
    AOF.get()
}

/// CONFIG SET appendfsync.
pub fn set_fsync_mode(v: &str) {
    FSYNC_MODE.store(mode_of(v), Ordering::Relaxed);
}

fn mode_of(v: &str) -> u8 {
    match v {
        "always" => ALWAYS,
        "no" => NO,
        _ => EVERYSEC,
    }
}

/// `db.rs`: `key` of database `db` was deleted because it expired.
#[inline]
pub fn note_expired(db: usize, key: &[u8]) {
    if ON.load(Ordering::Relaxed) {
        EXPIRED.with(|e| e.borrow_mut().push((db, Bytes::copy_from_slice(key))));
    }
}

/// Appends the expiry DELs this thread noted. Called while the shard locks
/// of those keys are still held: [`Aof::feed`] does it for every command in
/// `command::run`; the paths that lock shards outside it call this (the
/// active expiry cycle, EXEC's watch check, a blocked client's retry).
pub fn flush_expired() {
    if !ON.load(Ordering::Relaxed) {
        return;
    }
    let notes = EXPIRED.with(|e| std::mem::take(&mut *e.borrow_mut()));
    if notes.is_empty() {
        return;
    }
    if let Some(aof) = get() {
        let mut g = aof.lock();
        for (db, key) in &notes {
            g.append(*db, &[b"DEL", key]);
        }
        aof.publish(&g);
    }
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
    /// A failed op waits for [`TOKEN_RETRY`].
    retry_wait: bool,
}

impl Inner {
    /// Appends one command run in database `db`.
    fn append(&mut self, db: usize, args: &[&[u8]]) {
        if self.cur_db != Some(db) {
            self.cur_db = Some(db);
            let n = db.to_string();
            encode(&mut self.buf, &[b"SELECT", n.as_bytes()]);
        }
        encode(&mut self.buf, args);
    }
}

/// A RESP multibulk command.
pub fn encode(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.push(b'*');
    out.extend_from_slice(args.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
    for a in args {
        out.push(b'$');
        out.extend_from_slice(a.len().to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// The files of the directory as the manifest lists them.
#[derive(Debug, Clone, Default)]
struct Manifest {
    base: Option<(String, u64)>,
    incrs: Vec<(String, u64)>,
}

impl Manifest {
    fn text(&self) -> String {
        let mut s = String::new();
        if let Some((f, seq)) = &self.base {
            s.push_str(&format!("file {f} seq {seq} type b\n"));
        }
        for (f, seq) in &self.incrs {
            s.push_str(&format!("file {f} seq {seq} type i\n"));
        }
        s
    }

    fn next_seq(&self) -> u64 {
        let b = self.base.as_ref().map_or(0, |b| b.1);
        let i = self.incrs.iter().map(|x| x.1).max().unwrap_or(0);
        b.max(i) + 1
    }
}

/// The append-only file of a running server.
pub struct Aof {
    inner: Mutex<Inner>,
    appended: AtomicU64,
    written: AtomicU64,
    synced: AtomicU64,
    busy: AtomicBool,
    /// Per I/O thread: it holds replies waiting for an fsync.
    waiting: Vec<AtomicBool>,
    dir: PathBuf,
    name: String,
    manifest: Mutex<Manifest>,
    rewriting: AtomicBool,
    server: Arc<Server>,
}

impl std::fmt::Debug for Aof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Aof")
    }
}

fn err_at(path: &Path, what: impl std::fmt::Display) -> String {
    format!("{}: {what}", path.display())
}

fn fsync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Writes `text` to `dir/name` atomically (temp file, fsync, rename, fsync
/// of the directory).
fn write_atomic(dir: &Path, name: &str, text: &[u8]) -> std::io::Result<()> {
    let tmp = dir.join(format!("temp-{name}"));
    let mut f = File::create(&tmp)?;
    f.write_all(text)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, dir.join(name))?;
    fsync_dir(dir)
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
        FSYNC_MODE.load(Ordering::Relaxed) == ALWAYS
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

    /// Appends the record(s) of `cmd`, which just ran in `ctx` (still
    /// holding its shard locks) with its reply from `reply_at` in
    /// `ctx.out`, and the DELs of the keys that expired meanwhile. Inside
    /// EXEC they go to the client's transaction buffer.
    pub fn feed(&self, cmd: &Command, ctx: &mut Ctx, argv: &[&[u8]], reply_at: usize) {
        self.feed_records(cmd, ctx, argv, reply_at);
        if self.always() {
            // Its reply (even a read's: it may show another client's write)
            // waits until everything appended so far is fsynced.
            ctx.client.aof_need = self.need();
        }
    }

    fn feed_records(&self, cmd: &Command, ctx: &mut Ctx, argv: &[&[u8]], reply_at: usize) {
        let notes = EXPIRED.with(|e| std::mem::take(&mut *e.borrow_mut()));
        let mut recs: Vec<(usize, Vec<Bytes>)> = Vec::new();
        for (db, key) in notes {
            recs.push((db, vec![Bytes::from_static(b"DEL"), key]));
        }
        let wrote = cmd.flags & flags::WRITE != 0
            && ctx.client.blocked.is_none()
            && ctx.out.buf.get(reply_at) != Some(&b'-');
        let mut as_is = false;
        if wrote {
            let db = ctx.client.db;
            match translate(cmd.name, ctx, argv, reply_at) {
                Some(Tr::AsIs) => as_is = true,
                Some(Tr::Recs(r)) => recs.extend(r.into_iter().map(|a| (db, a))),
                None => {}
            }
            // Translation may have met (and deleted) an expired key.
            EXPIRED.with(|e| {
                for (db, key) in e.borrow_mut().drain(..) {
                    recs.insert(0, (db, vec![Bytes::from_static(b"DEL"), key]));
                }
            });
        }
        if recs.is_empty() && !as_is {
            return;
        }
        let db = ctx.client.db;
        if let Some(m) = &mut ctx.client.aof_multi {
            for (d, args) in recs {
                let mut v = Vec::new();
                let a: Vec<&[u8]> = args.iter().map(|x| x.as_ref()).collect();
                encode(&mut v, &a);
                m.push((d, v));
            }
            if as_is {
                let mut v = Vec::new();
                encode(&mut v, argv);
                m.push((db, v));
            }
            return;
        }
        let mut g = self.lock();
        for (d, args) in &recs {
            let a: Vec<&[u8]> = args.iter().map(|x| x.as_ref()).collect();
            g.append(*d, &a);
        }
        if as_is {
            g.append(db, argv);
        }
        self.publish(&g);
    }

    /// EXEC ran its queue: append it wrapped in MULTI/EXEC (its locks are
    /// still held).
    pub fn commit_multi(&self, recs: Vec<(usize, Vec<u8>)>) {
        if recs.is_empty() {
            return;
        }
        let mut g = self.lock();
        let first = recs[0].0;
        if g.cur_db != Some(first) {
            g.cur_db = Some(first);
            let n = first.to_string();
            encode(&mut g.buf, &[b"SELECT", n.as_bytes()]);
        }
        encode(&mut g.buf, &[b"MULTI"]);
        for (d, bytes) in recs {
            if g.cur_db != Some(d) {
                g.cur_db = Some(d);
                let n = d.to_string();
                encode(&mut g.buf, &[b"SELECT", n.as_bytes()]);
            }
            g.buf.extend_from_slice(&bytes);
        }
        encode(&mut g.buf, &[b"EXEC"]);
        self.publish(&g);
    }

    /// Starts the next write or fsync if none is in flight and one is due.
    /// Called by every I/O thread after each batch; two atomic loads when
    /// there is nothing to do.
    pub fn pump(&self, p: &mut Proactor) {
        if self.busy.load(Ordering::SeqCst) {
            return;
        }
        let (app, wr, sy) = (
            self.appended.load(Ordering::SeqCst),
            self.written.load(Ordering::SeqCst),
            self.synced.load(Ordering::SeqCst),
        );
        let mode = FSYNC_MODE.load(Ordering::Relaxed);
        if app == wr && (wr == sy || mode == NO) {
            return;
        }
        let mut g = self.lock();
        if g.inflight.is_some() || g.retry_wait {
            return;
        }
        loop {
            let boundary = g.files.get(1).map_or(u64::MAX, |t| t.start);
            let now = crate::util::now_ms();
            let due = match mode {
                ALWAYS => true,
                EVERYSEC => now.saturating_sub(g.last_fsync) >= 1000,
                _ => false,
            };
            if g.written > g.synced && (due || g.written == boundary) {
                let end = g.written;
                p.fsync(g.files[0].file.as_raw_fd(), true, TOKEN_FSYNC);
                g.inflight = Some(Inflight::Fsync { end });
                self.busy.store(true, Ordering::SeqCst);
                return;
            }
            let total = g.appended_total();
            if g.written < boundary && total > g.written {
                let end = total.min(boundary);
                let n = (end - g.written) as usize;
                let data = if n == g.buf.len() {
                    std::mem::take(&mut g.buf)
                } else {
                    let rest = g.buf.split_off(n);
                    std::mem::replace(&mut g.buf, rest)
                };
                let data = Bytes::from(data);
                let t = &g.files[0];
                let off = t.base_off + (g.written - t.start);
                let fd = t.file.as_raw_fd();
                p.write_all_at(fd, data.clone(), off, TOKEN_WRITE);
                g.inflight = Some(Inflight::Write { data, off, fd, end });
                self.busy.store(true, Ordering::SeqCst);
                return;
            }
            if g.written == boundary && g.synced == g.written && g.files.len() > 1 {
                // The old file is complete and durable: move on.
                if let Some(old) = g.files.pop_front() {
                    p.close(old.file.into_raw_fd(), TOKEN_CLOSE);
                }
                continue;
            }
            return;
        }
    }

    /// A completion of one of the AOF's ops (any token of this module).
    pub fn complete(&self, token: u64, res: i32, p: &mut Proactor, mail: &Mailboxes, me: usize) {
        match token {
            TOKEN_CLOSE => return,
            TOKEN_RETRY => {
                let mut g = self.lock();
                g.retry_wait = false;
                match g.inflight.take() {
                    Some(Inflight::Write { data, off, fd, end }) => {
                        p.write_all_at(fd, data.clone(), off, TOKEN_WRITE);
                        g.inflight = Some(Inflight::Write { data, off, fd, end });
                        return;
                    }
                    _ => self.busy.store(false, Ordering::SeqCst),
                }
            }
            TOKEN_WRITE | TOKEN_FSYNC => {
                let mut g = self.lock();
                if res < 0 {
                    let what = if token == TOKEN_WRITE {
                        "writing"
                    } else {
                        "fsyncing"
                    };
                    eprintln!(
                        "kvserver: # error {what} the AOF: {}; retrying in 1 s",
                        std::io::Error::from_raw_os_error(-res)
                    );
                    if token == TOKEN_FSYNC {
                        g.inflight = None;
                    }
                    g.retry_wait = true;
                    p.timeout(Duration::from_secs(1), TOKEN_RETRY);
                    return;
                }
                match g.inflight.take() {
                    Some(Inflight::Write { end, .. }) => {
                        g.written = end;
                        self.written.store(end, Ordering::SeqCst);
                    }
                    Some(Inflight::Fsync { end }) => {
                        g.synced = end;
                        g.last_fsync = crate::util::now_ms();
                        self.synced.store(end, Ordering::SeqCst);
                        for (t, w) in self.waiting.iter().enumerate() {
                            if t != me && w.load(Ordering::SeqCst) {
                                mail.wake(t);
                            }
                        }
                    }
                    None => {}
                }
                self.busy.store(false, Ordering::SeqCst);
            }
            _ => return,
        }
        self.pump(p);
    }

    /// At exit (I/O threads stopped): writes what is left (again the write
    /// that may have been in flight: same bytes, same offset) and fsyncs,
    /// with plain system calls on the main thread.
    pub fn shutdown(&self) {
        let mut g = self.lock();
        let mut pos = g.written;
        if let Some(Inflight::Write { data, off, end, .. }) = g.inflight.take() {
            // A write always targets the first file (files are dropped
            // only when nothing is in flight).
            if let Err(e) = g.files[0].file.write_all_at(&data, off) {
                eprintln!("kvserver: # error writing the AOF at shutdown: {e}");
            }
            pos = end;
        }
        let buf = std::mem::take(&mut g.buf);
        let mut rest: &[u8] = &buf;
        while !rest.is_empty() {
            let i = g.files.iter().rposition(|t| t.start <= pos).unwrap_or(0);
            let t = &g.files[i];
            let limit = g.files.get(i + 1).map_or(u64::MAX, |n| n.start);
            let n = (limit.saturating_sub(pos) as usize).min(rest.len()).max(1);
            let off = t.base_off + pos.saturating_sub(t.start);
            if let Err(e) = t.file.write_all_at(&rest[..n], off) {
                eprintln!("kvserver: # error writing the AOF at shutdown: {e}");
                break;
            }
            pos += n as u64;
            rest = &rest[n..];
        }
        for t in &g.files {
            if let Err(e) = t.file.sync_data() {
                eprintln!("kvserver: # error fsyncing the AOF at shutdown: {e}");
            }
        }
        eprintln!("kvserver: AOF flushed and fsynced ({pos} bytes appended since start)");
    }

    /// BGREWRITEAOF: the reply, and the rewrite started on its own thread.
    pub fn bgrewrite(&'static self, out: &mut Reply) {
        if self.rewriting.swap(true, Ordering::SeqCst) {
            return out.error("ERR Background append only file rewriting already in progress");
        }
        let spawned = std::thread::Builder::new()
            .name("kv-aof-rewrite".into())
            .spawn(move || {
                let t = std::time::Instant::now();
                match self.rewrite() {
                    Ok(n) => eprintln!(
                        "kvserver: Background AOF rewrite finished successfully ({n} keys, {:?})",
                        t.elapsed()
                    ),
                    Err(e) => eprintln!("kvserver: # Background AOF rewrite failed: {e}"),
                }
                self.rewriting.store(false, Ordering::SeqCst);
            });
        match spawned {
            Ok(_) => out.simple("Background append only file rewriting started"),
            Err(e) => {
                self.rewriting.store(false, Ordering::SeqCst);
                out.error(&format!(
                    "ERR Can't rewrite append only file in background: {e}"
                ));
            }
        }
    }

    pub fn rewrite_in_progress(&self) -> bool {
        self.rewriting.load(Ordering::SeqCst)
    }

    /// The rewrite (Redis 7.0's, with a lock-and-clone snapshot instead of
    /// fork): (1) a new incr file is created and added to the manifest;
    /// (2) with every shard locked, the writer is switched to it (records
    /// from then on go there) and the keyspace is cloned: a consistent
    /// point-in-time; (3) unlocked, the clone is written as the new base;
    /// (4) the manifest becomes [new base, new incr] and the old files are
    /// deleted. A crash at any step leaves a manifest that loads.
    fn rewrite(&self) -> Result<usize, String> {
        let old = self
            .manifest
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let seq = old.next_seq();
        let incr_name = format!("{}.{seq}.incr.aof", self.name);
        let incr_path = self.dir.join(&incr_name);
        let incr = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&incr_path)
            .map_err(|e| err_at(&incr_path, e))?;
        incr.sync_all().map_err(|e| err_at(&incr_path, e))?;
        let mut m = old.clone();
        m.incrs.push((incr_name.clone(), seq));
        let mname = format!("{}.manifest", self.name);
        write_atomic(&self.dir, &mname, m.text().as_bytes()).map_err(|e| err_at(&self.dir, e))?;
        *self.manifest.lock().unwrap_or_else(|e| e.into_inner()) = m.clone();
        // (2) The snapshot.
        let server = &self.server;
        let mut snap: Vec<Vec<(Bytes, Value, Option<u64>)>> =
            (0..server.ks.databases).map(|_| Vec::new()).collect();
        {
            let mut locked = server.ks.lock_all();
            {
                let mut g = self.lock();
                let start = g.appended_total();
                g.files.push_back(Target {
                    file: incr,
                    start,
                    base_off: 0,
                });
                g.cur_db = None;
            }
            let now = crate::util::now_ms();
            for shard in locked.shards() {
                for (i, db) in shard.dbs.iter().enumerate() {
                    for (k, e) in db.entries(now) {
                        let at = db.expire_at(k);
                        snap[i].push((Bytes::copy_from_slice(k), e.value.clone(), at));
                    }
                }
            }
        }
        // (3) The base.
        let base_name = format!("{}.{seq}.base.aof", self.name);
        let tmp = self
            .dir
            .join(format!("temp-rewriteaof-bg-{}.aof", std::process::id()));
        let keys = write_snapshot(&tmp, &snap).map_err(|e| err_at(&tmp, e))?;
        drop(snap);
        std::fs::rename(&tmp, self.dir.join(&base_name)).map_err(|e| err_at(&tmp, e))?;
        // (4) The manifest.
        let new = Manifest {
            base: Some((base_name, seq)),
            incrs: vec![(incr_name, seq)],
        };
        write_atomic(&self.dir, &mname, new.text().as_bytes()).map_err(|e| err_at(&self.dir, e))?;
        *self.manifest.lock().unwrap_or_else(|e| e.into_inner()) = new;
        for (f, _) in old.base.iter().chain(old.incrs.iter()) {
            let _ = std::fs::remove_file(self.dir.join(f));
        }
        Ok(keys)
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

/// Writes a snapshot as commands (Redis's rewriteAppendOnlyFileRio with
/// aof-use-rdb-preamble no) and fsyncs it. Returns the number of keys.
fn write_snapshot(
    path: &Path,
    snap: &[Vec<(Bytes, Value, Option<u64>)>],
) -> std::io::Result<usize> {
    // Through the background ring: the write and the fsync run on FastIO's
    // blocking workers.
    let mut w = crate::persist::ring_file::RingFile::create(path)?;
    let mut buf = Vec::new();
    let mut keys = 0;
    for (db, entries) in snap.iter().enumerate() {
        if entries.is_empty() {
            continue;
        }
        let n = db.to_string();
        encode(&mut buf, &[b"SELECT", n.as_bytes()]);
        for (k, v, exp) in entries {
            keys += 1;
            value_commands(k, v, &mut buf);
            if let Some(at) = exp {
                let at = at.to_string();
                encode(&mut buf, &[b"PEXPIREAT", k, at.as_bytes()]);
            }
            if buf.len() > 1 << 16 {
                w.write_all(&buf)?;
                buf.clear();
            }
        }
    }
    w.write_all(&buf)?;
    w.finish()?;
    Ok(keys)
}

/// The commands that rebuild `key` holding `v`.
fn value_commands(key: &[u8], v: &Value, buf: &mut Vec<u8>) {
    let chunked = |buf: &mut Vec<u8>, cmd: &[u8], items: &mut dyn Iterator<Item = Vec<&[u8]>>| {
        let mut args: Vec<&[u8]> = vec![cmd, key];
        let mut n = 0;
        for item in items {
            args.extend(item);
            n += 1;
            if n == ITEMS_PER_CMD {
                encode(buf, &args);
                args.truncate(2);
                n = 0;
            }
        }
        if n > 0 {
            encode(buf, &args);
        }
    };
    match v {
        Value::String(s) => encode(buf, &[b"SET", key, s]),
        Value::List(l) => chunked(buf, b"RPUSH", &mut l.iter().map(|x| vec![x])),
        Value::Hash(h) => chunked(
            buf,
            b"HSET",
            &mut h.map.iter().map(|(f, v)| vec![f.as_ref(), v.as_ref()]),
        ),
        Value::Set(s) => chunked(buf, b"SADD", &mut s.set.iter().map(|x| vec![x.as_ref()])),
        Value::ZSet(z) => {
            let items = z.range(0, z.len());
            let scores: Vec<String> = items
                .iter()
                .map(|(s, _)| crate::util::fmt_double(*s))
                .collect();
            chunked(
                buf,
                b"ZADD",
                &mut items
                    .iter()
                    .zip(&scores)
                    .map(|((_, m), s)| vec![s.as_bytes(), m.as_ref()]),
            )
        }
        Value::Stream(s) => {
            let entries = s.range(StreamId::MIN, StreamId::MAX, false, 0);
            let last = s.last_id.to_bytes();
            if entries.is_empty() {
                // Redis: an empty stream is created by a trimmed XADD.
                encode(buf, &[b"XADD", key, b"MAXLEN", b"0", &last, b"x", b"y"]);
            }
            for (id, pairs) in entries {
                let id = id.to_bytes();
                let mut args: Vec<&[u8]> = vec![b"XADD", key, &id];
                for (f, v) in pairs {
                    args.push(f);
                    args.push(v);
                }
                encode(buf, &args);
            }
            let added = s.entries_added.to_string();
            let maxdel = s.max_deleted.to_bytes();
            encode(
                buf,
                &[
                    b"XSETID",
                    key,
                    &last,
                    b"ENTRIESADDED",
                    added.as_bytes(),
                    b"MAXDELETEDID",
                    &maxdel,
                ],
            );
        }
    }
}

/// BGREWRITEAOF
pub fn bgrewriteaof(ctx: &mut Ctx, _argv: &[&[u8]]) {
    match get() {
        Some(aof) => aof.bgrewrite(ctx.out),
        None => ctx.out.error(
            "ERR BGREWRITEAOF needs appendonly yes (kvserver rewrites only a live AOF; \
             there is no RDB either)",
        ),
    }
}

enum Tr {
    AsIs,
    Recs(Vec<Vec<Bytes>>),
}

fn b(s: &'static str) -> Bytes {
    Bytes::from_static(s.as_bytes())
}

fn own(a: &[u8]) -> Bytes {
    Bytes::copy_from_slice(a)
}

/// How a write command that succeeded is logged (None: not at all).
fn translate(name: &str, ctx: &mut Ctx, argv: &[&[u8]], reply_at: usize) -> Option<Tr> {
    let upper = |a: &[u8]| a.to_ascii_uppercase();
    macro_rules! reply {
        () => {
            parse_reply(&ctx.out.buf[reply_at..])
        };
    }
    match name {
        "set" => {
            let relative = argv[3..]
                .iter()
                .any(|a| matches!(upper(a).as_slice(), b"EX" | b"PX" | b"EXAT"));
            if relative {
                Some(Tr::Recs(string_state(ctx, argv[1])))
            } else {
                Some(Tr::AsIs)
            }
        }
        "setex" | "psetex" | "incrbyfloat" => Some(Tr::Recs(string_state(ctx, argv[1]))),
        "getex" if argv.len() > 2 => Some(Tr::Recs(ttl_state(ctx, argv[1], true))),
        "getex" => None,
        "expire" | "pexpire" | "expireat" | "pexpireat" => {
            Some(Tr::Recs(ttl_state(ctx, argv[1], false)))
        }
        // A relative TTL must not be replayed later as relative: the key
        // is logged as restored without one, then its deadline (or DEL if
        // it was born expired).
        "restore" => {
            let mut recs = vec![vec![
                b("RESTORE"),
                own(argv[1]),
                b("0"),
                own(argv[3]),
                b("REPLACE"),
            ]];
            recs.extend(ttl_state(ctx, argv[1], false));
            Some(Tr::Recs(recs))
        }
        "hincrbyfloat" => {
            let (db, now) = (ctx.client.db, ctx.now);
            let v = ctx
                .ks
                .db(db, argv[1])
                .peek(argv[1], now)
                .and_then(|e| match &e.value {
                    Value::Hash(h) => h.map.get(argv[2]).map(|v| own(v)),
                    _ => None,
                })?;
            Some(Tr::Recs(vec![vec![
                b("HSET"),
                own(argv[1]),
                own(argv[2]),
                v,
            ]]))
        }
        "spop" => {
            let members = reply!()?;
            if members.is_empty() {
                return None;
            }
            let mut args = vec![b("SREM"), own(argv[1])];
            args.extend(members);
            Some(Tr::Recs(vec![args]))
        }
        "blpop" | "brpop" => {
            let r = reply!()?;
            let cmd = if name == "blpop" { "LPOP" } else { "RPOP" };
            Some(Tr::Recs(vec![vec![b(cmd), r.first()?.clone()]]))
        }
        "bzpopmin" | "bzpopmax" => {
            let r = reply!()?;
            Some(Tr::Recs(vec![vec![
                b("ZREM"),
                r.first()?.clone(),
                r.get(1)?.clone(),
            ]]))
        }
        "blmove" => {
            reply!()?;
            let mut a = vec![b("LMOVE")];
            a.extend(argv[1..5].iter().map(|x| own(x)));
            Some(Tr::Recs(vec![a]))
        }
        "brpoplpush" => {
            reply!()?;
            Some(Tr::Recs(vec![vec![
                b("RPOPLPUSH"),
                own(argv[1]),
                own(argv[2]),
            ]]))
        }
        "blmpop" | "bzmpop" => {
            reply!()?;
            let cmd = if name == "blmpop" { "LMPOP" } else { "ZMPOP" };
            let mut a = vec![b(cmd)];
            a.extend(argv[2..].iter().map(|x| own(x)));
            Some(Tr::Recs(vec![a]))
        }
        "xadd" => {
            let id = reply!()?.into_iter().next()?;
            let mut i = 2;
            let mut trim = false;
            let mut nomk = false;
            while i < argv.len() {
                match upper(argv[i]).as_slice() {
                    b"NOMKSTREAM" => {
                        nomk = true;
                        i += 1
                    }
                    b"MAXLEN" | b"MINID" => {
                        trim = true;
                        i += 1;
                        if matches!(argv.get(i).copied(), Some(b"=") | Some(b"~")) {
                            i += 1;
                        }
                        i += 1;
                        if argv.get(i).is_some_and(|a| upper(a) == b"LIMIT") {
                            i += 2;
                        }
                    }
                    _ => break,
                }
            }
            let mut a = vec![b("XADD"), own(argv[1])];
            if nomk {
                a.push(b("NOMKSTREAM"));
            }
            a.push(id);
            a.extend(argv.get(i + 1..)?.iter().map(|x| own(x)));
            let mut recs = vec![a];
            if trim {
                recs.push(xtrim_state(ctx, argv[1])?);
            }
            Some(Tr::Recs(recs))
        }
        "xtrim" => Some(Tr::Recs(vec![xtrim_state(ctx, argv[1])?])),
        _ => Some(Tr::AsIs),
    }
}

/// `XTRIM key MAXLEN = <its length now>` (exact, whatever `~` did).
fn xtrim_state(ctx: &mut Ctx, key: &[u8]) -> Option<Vec<Bytes>> {
    let (db, now) = (ctx.client.db, ctx.now);
    let len = match &ctx.ks.db(db, key).peek(key, now)?.value {
        Value::Stream(s) => s.len(),
        _ => return None,
    };
    Some(vec![
        b("XTRIM"),
        own(key),
        b("MAXLEN"),
        b("="),
        Bytes::from(len.to_string()),
    ])
}

/// A string key as it is now: `SET k v [PXAT ms]`, or `DEL k` if gone.
fn string_state(ctx: &mut Ctx, key: &[u8]) -> Vec<Vec<Bytes>> {
    let (db, now) = (ctx.client.db, ctx.now);
    let d = ctx.ks.db(db, key);
    let Some(e) = d.peek(key, now) else {
        return vec![vec![b("DEL"), own(key)]];
    };
    let value = match &e.value {
        Value::String(s) => Some(Bytes::copy_from_slice(s)),
        _ => None,
    };
    match (value, d.expire_at(key)) {
        (Some(s), None) => vec![vec![b("SET"), own(key), s]],
        (Some(s), Some(at)) => vec![vec![
            b("SET"),
            own(key),
            s,
            b("PXAT"),
            Bytes::from(at.to_string()),
        ]],
        (None, Some(at)) => vec![vec![b("PEXPIREAT"), own(key), Bytes::from(at.to_string())]],
        (None, None) => vec![vec![b("PERSIST"), own(key)]],
    }
}

/// A key's deadline as it is now: `PEXPIREAT k ms`, `PERSIST k` (only
/// with `persist`: GETEX), or `DEL k` if gone.
fn ttl_state(ctx: &mut Ctx, key: &[u8], persist: bool) -> Vec<Vec<Bytes>> {
    let (db, now) = (ctx.client.db, ctx.now);
    let d = ctx.ks.db(db, key);
    let state = d.peek(key, now).is_some().then(|| d.expire_at(key));
    match state {
        None => vec![vec![b("DEL"), own(key)]],
        Some(Some(at)) => vec![vec![b("PEXPIREAT"), own(key), Bytes::from(at.to_string())]],
        Some(None) if persist => vec![vec![b("PERSIST"), own(key)]],
        Some(None) => Vec::new(),
    }
}

/// The bulk strings of a reply (one bulk, or an array/set of them,
/// flattened one level; numbers as their text); None for a null.
fn parse_reply(buf: &[u8]) -> Option<Vec<Bytes>> {
    fn line(buf: &[u8], pos: &mut usize) -> Option<(u8, Vec<u8>)> {
        let t = *buf.get(*pos)?;
        let rest = buf.get(*pos + 1..)?;
        let end = rest.windows(2).position(|w| w == b"\r\n")?;
        let l = rest[..end].to_vec();
        *pos += 1 + end + 2;
        Some((t, l))
    }
    fn elem(buf: &[u8], pos: &mut usize, out: &mut Vec<Bytes>, depth: u32) -> Option<bool> {
        let (t, l) = line(buf, pos)?;
        let n: i64 = std::str::from_utf8(&l).ok()?.parse().unwrap_or(0);
        match t {
            b'$' if n < 0 => Some(false),
            b'$' => {
                let n = n as usize;
                out.push(Bytes::copy_from_slice(buf.get(*pos..*pos + n)?));
                *pos += n + 2;
                Some(true)
            }
            b'*' | b'~' | b'>' if n < 0 => Some(false),
            b'*' | b'~' | b'>' => {
                for _ in 0..n {
                    if depth > 2 {
                        return None;
                    }
                    elem(buf, pos, out, depth + 1)?;
                }
                Some(true)
            }
            b'_' => Some(false),
            _ => {
                out.push(Bytes::from(l));
                Some(true)
            }
        }
    }
    let mut out = Vec::new();
    let mut pos = 0;
    elem(buf, &mut pos, &mut out, 0)?.then_some(out)
}

// ---------------------------------------------------------------------------
// Start-up: load the files, open the one to append to.
// ---------------------------------------------------------------------------

/// Loads the AOF into `server` (before it accepts anyone) and makes it the
/// live AOF. Does nothing with `appendonly no`.
pub fn start(server: &Arc<Server>) -> Result<(), String> {
    let cfg = &server.config;
    if cfg.get("appendonly") != "yes" {
        return Ok(());
    }
    set_fsync_mode(&cfg.get("appendfsync"));
    let truncated_ok = cfg.get("aof-load-truncated") != "no";
    let base_dir = PathBuf::from(cfg.get("dir"));
    let dir = base_dir.join(cfg.get("appenddirname"));
    let name = cfg.get("appendfilename");
    let mname = format!("{name}.manifest");
    let mpath = dir.join(&mname);
    let t = std::time::Instant::now();
    let mut manifest = if mpath.exists() {
        let m = read_manifest(&mpath)?;
        let files: Vec<&String> = m.base.iter().chain(m.incrs.iter()).map(|x| &x.0).collect();
        for (i, f) in files.iter().enumerate() {
            load_file(server, &dir.join(f), truncated_ok && i + 1 == files.len())?;
        }
        m
    } else {
        std::fs::create_dir_all(&dir).map_err(|e| err_at(&dir, e))?;
        let single = base_dir.join(&name);
        if single.exists() {
            // Redis < 7's single file: load it, then move it in as the
            // base (Redis 7.0's upgrade).
            load_file(server, &single, truncated_ok)?;
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
        let mut l = server.ks.lock_all();
        let dbs = server.ks.databases;
        (0..dbs)
            .map(|d| l.dbs(d).iter().map(|x| x.len()).sum::<usize>())
            .sum()
    };
    eprintln!(
        "kvserver: AOF loaded from {} ({keys} keys, {:?}); appending to {} (appendfsync {})",
        dir.display(),
        t.elapsed(),
        last.display(),
        cfg.get("appendfsync")
    );
    let aof = Aof {
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
        waiting: (0..server.cfg.io_threads)
            .map(|_| AtomicBool::new(false))
            .collect(),
        dir,
        name,
        manifest: Mutex::new(manifest),
        rewriting: AtomicBool::new(false),
        server: server.clone(),
    };
    let _ = AOF.set(aof);
    ON.store(true, Ordering::SeqCst);
    Ok(())
}

fn read_manifest(path: &Path) -> Result<Manifest, String> {
    let text = std::fs::read_to_string(path).map_err(|e| err_at(path, e))?;
    let mut m = Manifest::default();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let w: Vec<&str> = line.split_whitespace().collect();
        let field = |k: &str| {
            w.chunks(2)
                .find(|c| c[0] == k)
                .and_then(|c| c.get(1))
                .copied()
        };
        let bad = || {
            err_at(
                path,
                format!("line {}: invalid manifest line '{line}'", i + 1),
            )
        };
        let file = field("file").ok_or_else(bad)?.to_string();
        let seq: u64 = field("seq").and_then(|s| s.parse().ok()).ok_or_else(bad)?;
        match field("type").ok_or_else(bad)? {
            "b" => m.base = Some((file, seq)),
            "i" => m.incrs.push((file, seq)),
            "h" => {}
            _ => return Err(bad()),
        }
    }
    Ok(m)
}

/// Replays one file (an RDB base must be empty: see [`check_empty_rdb`]).
/// A truncated last command is cut off the file when `truncated_ok`,
/// otherwise an error naming the file and the offset.
fn load_file(server: &Server, path: &Path, truncated_ok: bool) -> Result<(), String> {
    let data = std::fs::read(path).map_err(|e| err_at(path, e))?;
    if data.starts_with(b"REDIS") {
        return check_empty_rdb(&data).map_err(|e| err_at(path, e));
    }
    let mut client = Client::new(0, Arc::new(crate::exec::clients::ClientInfo::detached(0)));
    client.deny_blocking = true;
    let mut out = Reply::new(BytesMut::new());
    let mut rng = crate::util::Rng::new(1);
    let (mut ranges, mut owned) = (Vec::new(), Vec::new());
    let mut pos = 0;
    // Inside MULTI: where it started and the queued commands.
    let mut multi: Option<(usize, Vec<Vec<Vec<u8>>>)> = None;
    while pos < data.len() {
        let rest = &data[pos..];
        match crate::proto::request::parse(rest, &mut ranges, &mut owned) {
            crate::proto::request::Parsed::Multibulk { consumed } => {
                let argv: Vec<&[u8]> = ranges.iter().map(|r| &rest[r.clone()]).collect();
                let name = argv
                    .first()
                    .map(|a| a.to_ascii_lowercase())
                    .unwrap_or_default();
                match name.as_slice() {
                    b"multi" => multi = Some((pos, Vec::new())),
                    b"exec" => {
                        if let Some((_, q)) = multi.take() {
                            for args in q {
                                let a: Vec<&[u8]> = args.iter().map(|x| x.as_slice()).collect();
                                replay(server, &mut client, &mut out, &mut rng, &a)
                                    .map_err(|e| err_at(path, format!("{e} at offset {pos}")))?;
                            }
                        }
                    }
                    _ => match &mut multi {
                        Some((_, q)) => q.push(argv.iter().map(|a| a.to_vec()).collect()),
                        None => replay(server, &mut client, &mut out, &mut rng, &argv)
                            .map_err(|e| err_at(path, format!("{e} at offset {pos}")))?,
                    },
                }
                out.buf.clear();
                pos += consumed;
            }
            crate::proto::request::Parsed::Empty { consumed } => pos += consumed,
            crate::proto::request::Parsed::Incomplete => break,
            crate::proto::request::Parsed::Inline { .. }
            | crate::proto::request::Parsed::Error(_) => {
                return Err(err_at(
                    path,
                    format!("Bad file format reading the append only file at offset {pos}"),
                ));
            }
        }
    }
    // A MULTI without its EXEC counts as truncated at the MULTI.
    let valid = multi.map_or(pos, |(at, _)| at);
    if valid < data.len() {
        if !truncated_ok {
            return Err(err_at(
                path,
                format!(
                    "Unexpected end of file reading the append only file at offset {valid} \
                     (of {} bytes). Set aof-load-truncated yes to load it anyway, cutting the \
                     incomplete tail, or fix it with redis-check-aof --fix",
                    data.len()
                ),
            ));
        }
        eprintln!(
            "kvserver: # !!! Warning: short read while loading the AOF file {}!!! \
             AOF loaded anyway because aof-load-truncated is enabled; truncating it at offset \
             {valid} (of {} bytes)",
            path.display(),
            data.len()
        );
        let f = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| err_at(path, e))?;
        f.set_len(valid as u64).map_err(|e| err_at(path, e))?;
        f.sync_all().map_err(|e| err_at(path, e))?;
    }
    Ok(())
}

/// Runs one loaded command: no expiry while loading (`now` is 0, as
/// Redis's loader expires nothing: deadlines in the file are absolute).
fn replay(
    server: &Server,
    client: &mut Client,
    out: &mut Reply,
    rng: &mut crate::util::Rng,
    argv: &[&[u8]],
) -> Result<(), String> {
    let name = argv.first().copied().unwrap_or_default();
    let Some(cmd) = crate::exec::command::lookup(name) else {
        return Err(format!(
            "Unknown command '{}' reading the append only file",
            String::from_utf8_lossy(name)
        ));
    };
    let argc = argv.len() as i32;
    if (cmd.arity > 0 && argc != cmd.arity) || argc < -cmd.arity {
        return Err(format!(
            "Wrong number of arguments for '{}' reading the append only file",
            cmd.name
        ));
    }
    let ks = if cmd.flags & flags::ALL_SHARDS != 0 {
        server.ks.lock_all()
    } else {
        let mut ids = Vec::new();
        crate::exec::command::shards_of(server, cmd, argv, &mut ids);
        ids.sort_unstable();
        ids.dedup();
        server.ks.lock(&ids)
    };
    let mut ctx = Ctx {
        server,
        client,
        out,
        ks,
        now: 0,
        start_us: 0,
        rng,
    };
    (cmd.handler)(&mut ctx, argv);
    Ok(())
}

/// Redis 7.0 starts a fresh AOF with an RDB base of an empty dataset. We
/// read RDB only that far: auxiliary fields, database selectors, EOF; a
/// base holding keys is refused (rewrite it from Redis with
/// `aof-use-rdb-preamble no`).
fn check_empty_rdb(d: &[u8]) -> Result<(), String> {
    fn len(d: &[u8], p: &mut usize) -> Option<(u64, bool)> {
        let b = *d.get(*p)?;
        *p += 1;
        Some(match b >> 6 {
            0 => ((b & 0x3f) as u64, false),
            1 => {
                let n = ((b & 0x3f) as u64) << 8 | *d.get(*p)? as u64;
                *p += 1;
                (n, false)
            }
            2 if b == 0x80 => {
                let v = u32::from_be_bytes(d.get(*p..*p + 4)?.try_into().ok()?);
                *p += 4;
                (v as u64, false)
            }
            2 if b == 0x81 => {
                let v = u64::from_be_bytes(d.get(*p..*p + 8)?.try_into().ok()?);
                *p += 8;
                (v, false)
            }
            3 => ((b & 0x3f) as u64, true),
            _ => return None,
        })
    }
    fn string(d: &[u8], p: &mut usize) -> Option<()> {
        let (n, special) = len(d, p)?;
        if !special {
            *p += n as usize;
        } else {
            match n {
                0 => *p += 1,
                1 => *p += 2,
                2 => *p += 4,
                3 => {
                    let (clen, _) = len(d, p)?;
                    len(d, p)?;
                    *p += clen as usize;
                }
                _ => return None,
            }
        }
        (*p <= d.len()).then_some(())
    }
    let bad = || "a truncated or invalid RDB base".to_string();
    let mut p = 9;
    loop {
        let op = *d.get(p).ok_or_else(bad)?;
        p += 1;
        match op {
            0xFA => {
                string(d, &mut p).ok_or_else(bad)?;
                string(d, &mut p).ok_or_else(bad)?;
            }
            0xFE => {
                len(d, &mut p).ok_or_else(bad)?;
            }
            0xFB => {
                len(d, &mut p).ok_or_else(bad)?;
                len(d, &mut p).ok_or_else(bad)?;
            }
            0xFF => return Ok(()),
            _ => {
                return Err(
                    "the RDB base holds data: kvserver reads only the RDB base of an \
                            empty dataset (run BGREWRITEAOF on redis-server with \
                            aof-use-rdb-preamble no first)"
                        .into(),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_parse() {
        assert_eq!(parse_reply(b"$-1\r\n"), None);
        assert_eq!(parse_reply(b"_\r\n"), None);
        assert_eq!(parse_reply(b"*-1\r\n"), None);
        assert_eq!(
            parse_reply(b"$2\r\nab\r\n").unwrap(),
            vec![Bytes::from("ab")]
        );
        let r = parse_reply(b"*2\r\n$1\r\nk\r\n$3\r\nv\r\n\r\n").unwrap();
        assert_eq!(r, vec![Bytes::from("k"), Bytes::from("v\r\n")]);
        let r = parse_reply(b"~2\r\n$1\r\na\r\n$1\r\nb\r\n").unwrap();
        assert_eq!(r, vec![Bytes::from("a"), Bytes::from("b")]);
        let r = parse_reply(b"*3\r\n$1\r\nz\r\n$1\r\nm\r\n,1.5\r\n").unwrap();
        assert_eq!(r[2], Bytes::from("1.5"));
    }

    #[test]
    fn empty_rdb_base_of_redis_7() {
        let rdb = b"REDIS0010\xfa\x09redis-ver\x067.0.15\xfa\x0aredis-bits\xc0\x40\xfa\x05ctime\
                    \xc2\xeb\xb2\x0c\x6b\xfa\x08used-mem\xc2\x40\x5f\x0d\x00\xfa\x08aof-base\xc0\
                    \x01\xff\x13\x1e\x0f\xe5\x43\x0a\x2a\x47";
        assert_eq!(check_empty_rdb(rdb), Ok(()));
        let mut with_key = rdb[..rdb.len() - 9].to_vec();
        with_key.extend_from_slice(b"\xfe\x00\x00\x01k\x01v\xff");
        assert!(check_empty_rdb(&with_key).is_err());
        assert!(check_empty_rdb(&rdb[..20]).is_err());
    }

    #[test]
    fn manifest_round_trip() {
        let m = Manifest {
            base: Some(("appendonly.aof.2.base.aof".into(), 2)),
            incrs: vec![("appendonly.aof.2.incr.aof".into(), 2)],
        };
        let dir = std::env::temp_dir().join(format!("kv-manifest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        write_atomic(&dir, "m", m.text().as_bytes()).unwrap();
        let r = read_manifest(&dir.join("m")).unwrap();
        assert_eq!(r.text(), m.text());
        assert_eq!(r.next_seq(), 3);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
