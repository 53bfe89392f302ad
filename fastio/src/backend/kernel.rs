//! The `kernel` backend: rings served by the fastio kernel module.
//!
//! The process opens /dev/fastio, sets the context up (FASTIO_IOC_SETUP),
//! maps the ring pairs, and lends the module threads: each worker thread
//! calls FASTIO_IOC_RUN_WORKER and stays in the kernel as a poller (or a
//! blocking worker) until teardown, so ops run with this process's file table
//! and credentials. The ring protocol is the one in `ring.rs`, identical to
//! the threads backend's; only waking and waiting are ioctls here.
//! See kmod/README.md for the module's side.

use crate::abi::{self, BufReg, Cqe, Params, Sqe, Stats, WaitArg, WorkerArg};
use crate::ring::RawQueue;
use memmap2::{MmapMut, MmapOptions};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

pub const DEVICE: &str = "/dev/fastio";

/// Whether the module's device can be opened.
pub fn probe() -> io::Result<()> {
    open_device().map(drop)
}

fn open_device() -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(DEVICE)
        .map_err(|e| io::Error::new(e.kind(), format!("{DEVICE}: {e}")))
}

fn ioctl<T>(fd: RawFd, req: u32, arg: *mut T) -> io::Result<libc::c_int> {
    // SAFETY: `arg` points at a live value of the type the request number
    // encodes (the ABI test checks the numbers against the C header).
    let r = unsafe { libc::ioctl(fd, req as _, arg) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// An open, set-up /dev/fastio context with its worker threads.
pub struct Device {
    file: File,
    map: MmapMut,
    params: Params,
    /// Poller threads, joined at drop. Blocking workers are detached: one
    /// may be inside an op that takes arbitrarily long (a read on a pipe),
    /// and returns by itself after teardown.
    workers: Mutex<Vec<JoinHandle<()>>>,
    stopping: Arc<AtomicBool>,
}

impl Device {
    pub fn open(params: &Params) -> io::Result<Arc<Device>> {
        let file = open_device()?;
        let mut p = *params;
        if let Err(e) = ioctl(file.as_raw_fd(), abi::FASTIO_IOC_SETUP, &mut p) {
            // On EPROTO the module wrote the ABI version it speaks into
            // p.version: say both, not a bare "protocol error".
            if e.raw_os_error() == Some(libc::EPROTO) {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    format!(
                        "{DEVICE}: the kernel module speaks fastio ABI version {}, \
                         this process version {} (rebuild one to match the other)",
                        p.version, params.version
                    ),
                ));
            }
            return Err(e);
        }
        let len = p.off.ring_size as usize * p.nr_rings as usize;
        // SAFETY: mapping the device's ring pages; the module sized them from
        // the params it returned, and the mapping lives in `map`.
        let map = unsafe { MmapOptions::new().len(len).map_mut(&file)? };
        let dev = Arc::new(Device {
            file,
            map,
            params: p,
            workers: Mutex::new(Vec::new()),
            stopping: Arc::new(AtomicBool::new(false)),
        });
        let mut workers = Vec::new();
        let kinds = [
            (abi::FASTIO_WORKER_POLLER, p.max_ker_worker, "fastio-kpoll"),
            (abi::FASTIO_WORKER_BLOCKING, p.max_wq_worker, "fastio-kwq"),
        ];
        for (kind, count, name) in kinds {
            for index in 0..count {
                let stopping = dev.stopping.clone();
                // Each worker has its own fd on the device (a dup): a
                // detached blocking worker may outlive the Device, whose
                // fd number could by then name another file.
                let file = dev.file.try_clone()?;
                let h = std::thread::Builder::new()
                    .name(format!("{name}-{index}"))
                    .spawn(move || {
                        // Pollers are pinned here, from user space, where
                        // the kernel checks the cpuset (the module does not
                        // pin: that would bypass it). A CPU outside the
                        // cpuset is refused: the poller then runs unpinned.
                        if kind == abi::FASTIO_WORKER_POLLER && p.affinity_offset >= 0 {
                            let ncpu = std::thread::available_parallelism().map_or(1, |n| n.get());
                            let id = (p.affinity_offset as usize + index as usize) % ncpu;
                            core_affinity::set_for_current(core_affinity::CoreId { id });
                        }
                        let mut arg = WorkerArg { kind, index };
                        // Returns 0 at teardown. EINTR (a signal) and EAGAIN
                        // (task work to run in user mode, e.g. the release of
                        // a socket it closed) mean: go back in, unless we are
                        // stopping. `file` is this thread's own fd.
                        let fd = file.as_raw_fd();
                        while let Err(e) = ioctl(fd, abi::FASTIO_IOC_RUN_WORKER, &mut arg) {
                            let again =
                                matches!(e.raw_os_error(), Some(libc::EINTR | libc::EAGAIN));
                            if !again || stopping.load(Ordering::SeqCst) {
                                break;
                            }
                        }
                    })?;
                if kind == abi::FASTIO_WORKER_POLLER {
                    workers.push(h);
                }
            }
        }
        *dev.workers.lock().unwrap_or_else(|e| e.into_inner()) = workers;
        Ok(dev)
    }

    /// The SQ and CQ of ring pair `i` inside the mapping.
    pub(crate) fn queues(&self, i: u32) -> (RawQueue<Sqe>, RawQueue<Cqe>) {
        let off = self.params.off;
        let base = self.map.as_ptr() as *mut u8;
        // SAFETY: i < nr_rings, and the module laid out each ring pair as
        // `off` says within ring_size bytes; the mapping outlives the queues
        // because every Ring holds an Arc<Device>.
        unsafe {
            let pair = base.add(i as usize * off.ring_size as usize);
            (
                RawQueue::attach(
                    pair.add(off.sq_hdr as usize),
                    pair.add(off.sqes as usize).cast(),
                    self.params.sq_entries,
                ),
                RawQueue::attach(
                    pair.add(off.cq_hdr as usize),
                    pair.add(off.cqes as usize).cast(),
                    self.params.cq_entries,
                ),
            )
        }
    }

    pub fn wake(&self, ring: u32) -> io::Result<()> {
        let mut r = ring;
        ioctl(self.file.as_raw_fd(), abi::FASTIO_IOC_WAKE, &mut r).map(drop)
    }

    pub fn wait(&self, ring: u32, min: u32, timeout: Option<Duration>) -> io::Result<()> {
        let mut arg = WaitArg {
            ring,
            min_complete: min,
            timeout_ns: timeout.map_or(0, |t| t.as_nanos().clamp(1, u64::MAX as u128) as u64),
        };
        match ioctl(self.file.as_raw_fd(), abi::FASTIO_IOC_WAIT, &mut arg) {
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINTR | libc::ETIME)) => Ok(()),
            r => r.map(drop),
        }
    }

    /// Registers a buffer group (FASTIO_IOC_REGISTER_BUFS): `reg.ring_addr`
    /// names `reg.ring_entries` descriptors that must stay mapped until
    /// [`Device::unregister_bufs`] or the device is closed.
    pub fn register_bufs(&self, reg: &BufReg) -> io::Result<()> {
        let mut r = *reg;
        ioctl(self.file.as_raw_fd(), abi::FASTIO_IOC_REGISTER_BUFS, &mut r).map(drop)
    }

    /// Forgets buffer group `reg.bgid` of ring `reg.ring`
    /// (FASTIO_IOC_UNREGISTER_BUFS): ENOENT if not registered, EBUSY while an
    /// op of the group is armed.
    pub fn unregister_bufs(&self, reg: &BufReg) -> io::Result<()> {
        let mut r = *reg;
        ioctl(
            self.file.as_raw_fd(),
            abi::FASTIO_IOC_UNREGISTER_BUFS,
            &mut r,
        )
        .map(drop)
    }

    pub fn stats(&self) -> io::Result<Stats> {
        let mut s = Stats::default();
        ioctl(self.file.as_raw_fd(), abi::FASTIO_IOC_STATS, &mut s)?;
        Ok(s)
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        let _ = ioctl::<u8>(
            self.file.as_raw_fd(),
            abi::FASTIO_IOC_TEARDOWN,
            std::ptr::null_mut(),
        );
        for h in self
            .workers
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            let _ = h.join();
        }
    }
}
