//! Whole-file writes of the background jobs (BGSAVE, SAVE, BGREWRITEAOF's
//! base) through a FastIO ring of their own, so that their writes and
//! fsyncs run on FastIO's blocking workers like the AOF's appends.
//!
//! The server makes one extra ring pair at start for them ([`BgIo::start`]),
//! owned by one thread, `kv-bg-io`, for its whole life (a ring has one
//! submitter: io_uring's SINGLE_ISSUER rings refuse any other thread). A
//! job sends it one op at a time through a [`BgIo`] handle and waits for
//! the result: [`RingFile`]
//! buffers 1 MiB, has it written with one `write_all_at`, and reuses the
//! buffer once that completed.
//! Opening, renaming and the directory fsync stay plain system calls: the
//! ring has no opcode for them (they are metadata, once per file).

use bytes::Bytes;
use fastio::proactor::Completion;
use fastio::Proactor;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::path::Path;
use std::sync::{mpsc, Arc, Mutex};

/// An op for the ring's thread: what to start, and where the result goes.
enum Job {
    Write { fd: RawFd, data: Bytes, off: u64 },
    Fsync { fd: RawFd },
}

type Request = (Job, mpsc::Sender<io::Result<usize>>);

/// The way to the background ring's thread (cloned by whoever writes
/// files: the RDB saver, the AOF rewrite).
#[derive(Debug, Clone, Default)]
pub struct BgIo {
    /// None: no ring (unit tests without one): file writes fail with an
    /// error, they never fall back to plain writes.
    tx: Option<Arc<Mutex<mpsc::Sender<Request>>>>,
}

impl BgIo {
    /// Starts the thread that owns `p` and runs the jobs' ops on it.
    pub fn start(mut p: Proactor) -> io::Result<BgIo> {
        let (tx, rx) = mpsc::channel::<Request>();
        std::thread::Builder::new()
            .name("kv-bg-io".into())
            .spawn(move || {
                let mut done: Vec<Completion> = Vec::with_capacity(1);
                for (job, reply) in rx {
                    match job {
                        Job::Write { fd, data, off } => p.write_all_at(fd, data, off, 0),
                        Job::Fsync { fd } => p.fsync(fd, false, 0),
                    }
                    let _ = reply.send(wait_one(&mut p, &mut done));
                }
            })?;
        Ok(BgIo {
            tx: Some(Arc::new(Mutex::new(tx))),
        })
    }

    /// For unit tests that write files: a threads-backend ring.
    #[cfg(test)]
    pub fn for_tests() -> BgIo {
        let cfg = fastio::config::Config {
            backend: fastio::config::BackendChoice::Threads,
            ..Default::default()
        };
        let mut f = fastio::Fastio::new(&cfg, 1).expect("a threads-backend ring");
        let ring = f.take_rings().pop().expect("one ring");
        BgIo::start(Proactor::new(ring)).expect("the background I/O thread")
    }

    /// Has the ring's thread run `job`, and waits for its result.
    fn run(&self, job: Job) -> io::Result<usize> {
        let gone = || io::Error::new(io::ErrorKind::Unsupported, "no background FastIO ring");
        let tx = self
            .tx
            .as_ref()
            .ok_or_else(gone)?
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let (reply, result) = mpsc::channel();
        tx.send((job, reply)).map_err(|_| gone())?;
        result.recv().map_err(|_| gone())?
    }
}

/// Waits for the one op in flight.
fn wait_one(p: &mut Proactor, done: &mut Vec<Completion>) -> io::Result<usize> {
    loop {
        match p.wait(1, None) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        p.reap(done);
        if let Some(c) = done.pop() {
            return c.result();
        }
    }
}

const CHUNK: usize = 1 << 20;

/// A file written front to back through the background ring.
pub struct RingFile {
    bg: BgIo,
    file: File,
    off: u64,
    buf: Vec<u8>,
}

impl RingFile {
    pub fn create(bg: &BgIo, path: &Path) -> io::Result<RingFile> {
        Ok(RingFile {
            bg: bg.clone(),
            file: File::create(path)?,
            off: 0,
            buf: Vec::with_capacity(CHUNK),
        })
    }

    /// Writes what is buffered, then fsyncs (all through the ring).
    pub fn finish(mut self) -> io::Result<()> {
        self.write_out()?;
        let fd = self.file.as_raw_fd();
        self.bg.run(Job::Fsync { fd }).map(drop)
    }

    fn write_out(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let data = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        let (fd, off, len) = (self.file.as_raw_fd(), self.off, data.len());
        let n = self.bg.run(Job::Write { fd, data, off })?;
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
