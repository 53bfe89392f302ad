//! BGREWRITEAOF: a new base file from a point-in-time snapshot of the
//! keyspace, written on its own thread while the writer appends to a new
//! incremental file.

use super::manifest::{err_at, write_atomic, Manifest};
use super::{Aof, Target};
use crate::persist::ring_file::{BgIo, RingFile};
use crate::persist::snapshot::{Event, Walk};
use crate::proto::request::encode;
use crate::types::stream::StreamId;
use crate::types::Value;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Items per command in a rewritten base (Redis: AOF_REWRITE_ITEMS_PER_CMD).
const ITEMS_PER_CMD: usize = 64;

impl Aof {
    /// BGREWRITEAOF: starts the rewrite on its own thread; the reply's
    /// text (or the error's).
    pub fn bgrewrite(self: &Arc<Aof>) -> Result<&'static str, String> {
        if self.rewriting.swap(true, Ordering::SeqCst) {
            return Err("ERR Background append only file rewriting already in progress".into());
        }
        let aof = self.clone();
        let spawned = std::thread::Builder::new()
            .name("kv-aof-rewrite".into())
            .spawn(move || {
                let t = std::time::Instant::now();
                let done = aof.rewrite();
                match &done {
                    Ok(n) => eprintln!(
                        "kvserver: Background AOF rewrite finished successfully ({n} keys, {:?})",
                        t.elapsed()
                    ),
                    Err(e) => eprintln!("kvserver: # Background AOF rewrite failed: {e}"),
                }
                aof.rewrite_ok.store(done.is_ok(), Ordering::Relaxed);
                aof.rewrite_secs
                    .store(t.elapsed().as_secs() as i64, Ordering::Relaxed);
                aof.rewrites.fetch_add(1, Ordering::Relaxed);
                aof.rewriting.store(false, Ordering::SeqCst);
            });
        match spawned {
            Ok(_) => Ok("Background append only file rewriting started"),
            Err(e) => {
                self.rewriting.store(false, Ordering::SeqCst);
                Err(format!(
                    "ERR Can't rewrite append only file in background: {e}"
                ))
            }
        }
    }

    pub fn rewrite_in_progress(&self) -> bool {
        self.rewriting.load(Ordering::SeqCst)
    }

    /// The rewrite (Redis 7.0's, with an incremental snapshot instead of
    /// fork): (1) a new incr file is created and added to the manifest;
    /// (2) with every shard locked, the writer is switched to it (records
    /// from then on go there) and a snapshot walk begins (a cursor per
    /// database part): the same point in time; (3) unlocked, the walk is
    /// written as the new base, a step under one shard lock at a time;
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
        // (2) The snapshot, and the switch to the new incr file, with every
        // shard locked: records from then on go to the new file.
        let snap = {
            let mut locked = self.ks.lock_all();
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
            Walk::begin(&self.ks, &mut locked, crate::util::now_ms())
        };
        // (3) The base.
        let base_name = format!("{}.{seq}.base.aof", self.name);
        let tmp = self
            .dir
            .join(format!("temp-rewriteaof-bg-{}.aof", std::process::id()));
        let keys = write_snapshot(&self.bg, &tmp, snap).map_err(|e| err_at(&tmp, e))?;
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

/// Writes a snapshot as commands (Redis's rewriteAppendOnlyFileRio with
/// aof-use-rdb-preamble no) and fsyncs it. Returns the number of keys.
fn write_snapshot(bg: &BgIo, path: &Path, snap: Walk) -> std::io::Result<usize> {
    // Through the background ring: the write and the fsync run on FastIO's
    // blocking workers.
    let mut w = RingFile::create(bg, path)?;
    let mut buf = Vec::new();
    let keys = snap.write(|ev| {
        match ev {
            Event::Db { index, .. } => {
                let n = index.to_string();
                encode(&mut buf, &[b"SELECT", n.as_bytes()]);
            }
            Event::Key((k, v, exp)) => {
                value_commands(k, v, &mut buf);
                if let Some(at) = exp {
                    let at = at.to_string();
                    encode(&mut buf, &[b"PEXPIREAT", k, at.as_bytes()]);
                }
            }
        }
        if buf.len() > 1 << 16 {
            w.write_all(&buf)?;
            buf.clear();
        }
        Ok(())
    })?;
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
