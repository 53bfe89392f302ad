//! Whole-file writes of the background jobs (BGSAVE, SAVE, BGREWRITEAOF's
//! base) through a FastIO ring of their own, so that their writes and
//! fsyncs run on FastIO's blocking workers like the AOF's appends.
//!
//! The server makes one extra ring pair at start for them
//! ([`install`]); a job takes it (a mutex: one file is written at a time,
//! which the jobs need anyway since each holds every byte it writes in its
//! own buffer) for each chunk: [`RingFile`] buffers 1 MiB, submits one
//! `write_all_at`, and waits for its completion before reusing the buffer.
//! Opening, renaming and the directory fsync stay plain system calls: the
//! ring has no opcode for them (they are metadata, once per file).

use bytes::Bytes;
use fastio::proactor::Completion;
use fastio::Proactor;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

/// The background jobs' ring, set once by `main` (absent in unit tests:
/// file writes then fail with an error, they never fall back to plain
/// writes).
static RING: OnceLock<Mutex<Proactor>> = OnceLock::new();

pub fn install(p: Proactor) {
    let _ = RING.set(Mutex::new(p));
}

const CHUNK: usize = 1 << 20;

/// A file written front to back through the background ring.
pub struct RingFile {
    file: File,
    off: u64,
    buf: Vec<u8>,
}

impl RingFile {
    pub fn create(path: &Path) -> io::Result<RingFile> {
        Ok(RingFile {
            file: File::create(path)?,
            off: 0,
            buf: Vec::with_capacity(CHUNK),
        })
    }

    /// Writes what is buffered, then fsyncs (all through the ring).
    pub fn finish(mut self) -> io::Result<()> {
        self.write_out()?;
        let fd = self.file.as_raw_fd();
        run(|p| p.fsync(fd, false, 0)).map(drop)
    }

    fn write_out(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let data = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        let (fd, off, len) = (self.file.as_raw_fd(), self.off, data.len());
        let n = run(|p| p.write_all_at(fd, data, off, 0))?;
        if n != len {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                format!("short write: {n} of {len} bytes"),
            ));
        }
        self.off += len as u64;
        Ok(())
    }
}

impl Write for RingFile {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.write_out()?;
        }
        Ok(data.len())
    }

    /// Buffered bytes go out with the next chunk or at [`RingFile::finish`]:
    /// nothing is durable before that anyway.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Starts one op on the background ring and waits for its completion (the
/// ring is held throughout, so the completion is this op's).
fn run(start: impl FnOnce(&mut Proactor)) -> io::Result<usize> {
    let ring = RING
        .get()
        .ok_or_else(|| io::Error::new(io::ErrorKind::Unsupported, "no background FastIO ring"))?;
    let mut p = ring.lock().unwrap_or_else(|e| e.into_inner());
    start(&mut p);
    let mut done: Vec<Completion> = Vec::with_capacity(1);
    loop {
        match p.wait(1, None) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        p.reap(&mut done);
        if let Some(c) = done.pop() {
            return c.result();
        }
    }
}
