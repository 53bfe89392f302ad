//! Thin, safe wrappers over the few system calls the userspace backends use
//! for themselves (not the ops they execute): eventfd, epoll and futex.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::AtomicU32;
use std::time::Duration;

/// The calling thread's errno.
pub fn errno() -> i32 {
    io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// A syscall return value as a completion result: the value, or -errno.
pub fn result(ret: isize) -> i32 {
    if ret < 0 {
        -errno()
    } else {
        // Lengths are bounded by FASTIO_MAX_IO_LEN (< i32::MAX) at validation.
        i32::try_from(ret).unwrap_or(i32::MAX)
    }
}

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// A counter other threads write to wake whoever sleeps on it.
#[derive(Debug)]
pub struct EventFd(OwnedFd);

impl EventFd {
    pub fn new() -> io::Result<EventFd> {
        // SAFETY: plain syscall; a non-negative result is a new fd we own.
        let fd = check(unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) })?;
        // SAFETY: fd was just returned by eventfd and is owned by nobody else.
        Ok(EventFd(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    pub fn signal(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64. EAGAIN (counter saturated)
        // still leaves the eventfd readable, which is all a wake needs.
        unsafe { libc::write(self.0.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }

    pub fn drain(&self) {
        let mut v: u64 = 0;
        // SAFETY: reads 8 bytes into a live u64; non-blocking.
        unsafe { libc::read(self.0.as_raw_fd(), (&mut v as *mut u64).cast(), 8) };
    }

    pub fn fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

/// An epoll instance.
#[derive(Debug)]
pub struct Epoll(OwnedFd);

impl Epoll {
    pub fn new() -> io::Result<Epoll> {
        // SAFETY: plain syscall; a non-negative result is a new fd we own.
        let fd = check(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: fd was just returned by epoll_create1.
        Ok(Epoll(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// EPOLL_CTL_ADD / MOD / DEL. Returns 0 or -errno.
    pub fn ctl(&self, op: libc::c_int, fd: RawFd, events: u32, data: u64) -> i32 {
        let mut ev = libc::epoll_event { events, u64: data };
        // SAFETY: `ev` is a live epoll_event; the kernel validates `fd`.
        let r = unsafe { libc::epoll_ctl(self.0.as_raw_fd(), op, fd, &mut ev) };
        if r < 0 {
            -errno()
        } else {
            0
        }
    }

    /// Waits up to `timeout_ms` (-1: forever); returns how many events were
    /// stored at the front of `out`. EINTR counts as zero events.
    pub fn wait(&self, out: &mut [libc::epoll_event], timeout_ms: i32) -> usize {
        let max = out.len().min(i32::MAX as usize) as i32;
        // SAFETY: `out` is a live, writable slice of `max` epoll_events.
        let n = unsafe { libc::epoll_wait(self.0.as_raw_fd(), out.as_mut_ptr(), max, timeout_ms) };
        n.max(0) as usize
    }
}

/// Sleeps while `*word == expected`, up to `timeout` (None: no limit).
/// Returns early on a wake-up, a signal or a spurious wake; callers re-check.
pub fn futex_wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) {
    let ts = timeout.map(|d| libc::timespec {
        tv_sec: d.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: d.subsec_nanos() as libc::c_long,
    });
    let ts_ptr = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `word` is a live, aligned u32 for the duration of the call and
    // `ts_ptr` is null or points at a live timespec. The futex word may live
    // in shared memory, which FUTEX_WAIT handles; we use the private variant
    // because only threads of this process wait on it.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
            expected,
            ts_ptr,
        )
    };
}

/// Wakes every thread sleeping in `futex_wait` on `word`.
pub fn futex_wake(word: &AtomicU32) {
    // SAFETY: `word` is a live, aligned u32; FUTEX_WAKE only reads its address.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
            i32::MAX,
        )
    };
}
