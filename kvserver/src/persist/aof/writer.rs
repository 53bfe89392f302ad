//! Writing the AOF: one write or fsync op at a time through the calling
//! I/O thread's ring (FastIO's blocking workers run it), group commit, the
//! retry after an error, the last write and fsync at exit.

use super::{Aof, Inflight, ALWAYS, EVERYSEC, NO};
use bytes::Bytes;
use fastio::Proactor;
use std::os::fd::{AsRawFd, IntoRawFd};
use std::os::unix::fs::FileExt;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// The AOF's ops on an I/O thread's ring. The thread chooses their ring
/// tokens (`token` in [`Aof::pump`]) and hands their completions back
/// ([`Aof::complete`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AofOp {
    Write = 0,
    Fsync = 1,
    Close = 2,
    /// The timer after a failed write or fsync.
    Retry = 3,
}

impl AofOp {
    /// The op of index `i` (its discriminant; 0..=3).
    pub fn from_index(i: u64) -> AofOp {
        match i {
            0 => AofOp::Write,
            1 => AofOp::Fsync,
            2 => AofOp::Close,
            _ => AofOp::Retry,
        }
    }
}

/// The ring token an I/O thread gives each AOF op.
pub type TokenOf = fn(AofOp) -> u64;

impl Aof {
    /// Starts the next write or fsync if none is in flight and one is due.
    /// Called by every I/O thread after each batch; two atomic loads when
    /// there is nothing to do.
    pub fn pump(&self, p: &mut Proactor, token: TokenOf) {
        if self.busy.load(Ordering::SeqCst) {
            return;
        }
        let (app, wr, sy) = (
            self.appended.load(Ordering::SeqCst),
            self.written.load(Ordering::SeqCst),
            self.synced.load(Ordering::SeqCst),
        );
        let mode = self.fsync.load(Ordering::Relaxed);
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
                p.fsync(g.files[0].file.as_raw_fd(), true, token(AofOp::Fsync));
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
                p.write_all_at(fd, data.clone(), off, token(AofOp::Write));
                g.inflight = Some(Inflight::Write { data, off, fd, end });
                self.busy.store(true, Ordering::SeqCst);
                return;
            }
            if g.written == boundary && g.synced == g.written && g.files.len() > 1 {
                // The old file is complete and durable: move on.
                if let Some(old) = g.files.pop_front() {
                    p.close(old.file.into_raw_fd(), token(AofOp::Close));
                }
                continue;
            }
            return;
        }
    }

    /// A completion of one of the AOF's ops; true when the threads holding
    /// replies (see [`Aof::waiting_threads`]) should look at them again:
    /// an fsync moved [`Aof::synced`], or an op failed (their clients are
    /// then answered with the error, see [`Aof::error`]).
    pub fn complete(&self, op: AofOp, res: i32, p: &mut Proactor, token: TokenOf) -> bool {
        let mut synced = false;
        match op {
            AofOp::Close => return false,
            AofOp::Retry => {
                let mut g = self.lock();
                g.retry_wait = false;
                match g.inflight.take() {
                    Some(Inflight::Write { data, off, fd, end }) => {
                        p.write_all_at(fd, data.clone(), off, token(AofOp::Write));
                        g.inflight = Some(Inflight::Write { data, off, fd, end });
                        return false;
                    }
                    _ => self.busy.store(false, Ordering::SeqCst),
                }
            }
            AofOp::Write | AofOp::Fsync => {
                let mut g = self.lock();
                let (what, errno) = if op == AofOp::Write {
                    ("writing", &self.write_errno)
                } else {
                    ("fsyncing", &self.fsync_errno)
                };
                if res < 0 {
                    // Redis's log line; writes are refused (MISCONF) until
                    // the retry succeeds.
                    if errno.swap(-res, Ordering::SeqCst) == 0 {
                        eprintln!(
                            "kvserver: # error {what} the AOF: {}; writes are refused until \
                             it succeeds again (retrying every second)",
                            std::io::Error::from_raw_os_error(-res)
                        );
                    }
                    if op == AofOp::Fsync {
                        g.inflight = None;
                    }
                    g.retry_wait = true;
                    p.timeout(Duration::from_secs(1), token(AofOp::Retry));
                    return true;
                }
                if errno.swap(0, Ordering::SeqCst) != 0 {
                    eprintln!("kvserver: AOF {what} error looks solved: writes are accepted again");
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
                        synced = true;
                    }
                    None => {}
                }
                self.busy.store(false, Ordering::SeqCst);
            }
        }
        self.pump(p, token);
        synced
    }

    /// At exit (I/O threads stopped): writes what is left (again the write
    /// that may have been in flight: same bytes, same offset) and fsyncs,
    /// with plain system calls on the main thread. The error that left
    /// the file short of what was appended, if any.
    pub fn shutdown(&self) -> Result<(), String> {
        let mut g = self.lock();
        let total = g.appended_total();
        let mut pos = g.written;
        let mut failed = None;
        if let Some(Inflight::Write { data, off, end, .. }) = g.inflight.take() {
            // A write always targets the first file (files are dropped
            // only when nothing is in flight).
            if let Err(e) = g.files[0].file.write_all_at(&data, off) {
                failed = Some(format!("writing the AOF at shutdown: {e}"));
            } else {
                pos = end;
            }
        }
        let buf = std::mem::take(&mut g.buf);
        let mut rest: &[u8] = if failed.is_some() { &[] } else { &buf };
        while !rest.is_empty() {
            let i = g.files.iter().rposition(|t| t.start <= pos).unwrap_or(0);
            let t = &g.files[i];
            let limit = g.files.get(i + 1).map_or(u64::MAX, |n| n.start);
            let n = (limit.saturating_sub(pos) as usize).min(rest.len()).max(1);
            let off = t.base_off + pos.saturating_sub(t.start);
            if let Err(e) = t.file.write_all_at(&rest[..n], off) {
                failed = Some(format!("writing the AOF at shutdown: {e}"));
                break;
            }
            pos += n as u64;
            rest = &rest[n..];
        }
        for t in &g.files {
            if let Err(e) = t.file.sync_data() {
                failed.get_or_insert(format!("fsyncing the AOF at shutdown: {e}"));
            }
        }
        match failed {
            None => {
                eprintln!("kvserver: AOF flushed and fsynced ({pos} bytes appended since start)");
                Ok(())
            }
            Some(e) => Err(format!(
                "{e}: {} of the {} bytes appended since start are not in the file",
                total - pos,
                total
            )),
        }
    }
}
