//! Helpers shared by the integration tests.
#![allow(dead_code)]

use fastio::abi::{Cqe, Sqe};
use fastio::config::BackendChoice;
use fastio::{BackendKind, Config, Fastio, Ring};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// The backends that can run on this machine. The kernel backend needs the
/// module (tested in the VM); it is included when /dev/fastio exists.
pub fn backends() -> Vec<BackendChoice> {
    let mut v = vec![BackendChoice::Threads];
    if fastio::backend::uring::probe().is_ok() {
        v.push(BackendChoice::Uring);
    } else {
        eprintln!("io_uring unavailable here: uring backend not tested");
    }
    if fastio::backend::kernel::probe().is_ok() {
        v.push(BackendChoice::Kernel);
    }
    v
}

pub fn config(backend: BackendChoice) -> Config {
    Config {
        backend,
        ..Config::default()
    }
}

/// A context with one ring on `backend`.
pub fn one_ring(cfg: &Config) -> (Fastio, Ring) {
    let mut f = Fastio::new(cfg, 1).expect("context");
    let ring = f.take_rings().pop().unwrap();
    (f, ring)
}

/// Pushes one entry, submits, and waits for its completion (up to 10 s).
///
/// # Safety
/// As for `Ring::push`: the entry's pointers stay valid until this returns.
pub unsafe fn run_one(ring: &mut Ring, sqe: Sqe) -> Cqe {
    ring.push(&sqe).expect("ring has space");
    wait_one(ring)
}

pub fn wait_one(ring: &mut Ring) -> Cqe {
    for _ in 0..100 {
        ring.wait(1, Some(Duration::from_millis(100))).unwrap();
        if let Some(c) = ring.pop() {
            return c;
        }
    }
    panic!("no completion within 10 s");
}

pub fn socketpair() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: fds is a valid out-array of two ints.
    let r = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    assert_eq!(r, 0);
    // SAFETY: both fds were just created and are owned by nobody else.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

pub fn raw(fd: &OwnedFd) -> RawFd {
    fd.as_raw_fd()
}

pub fn is(kind: BackendKind, want: BackendChoice) -> bool {
    matches!(
        (kind, want),
        (BackendKind::Threads, BackendChoice::Threads)
            | (BackendKind::Uring, BackendChoice::Uring)
            | (BackendKind::Kernel, BackendChoice::Kernel)
    )
}
