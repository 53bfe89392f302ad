//! The polling protocol, shown with the context's counters rather than
//! timing: parking instead of busy retries, sleeping with NEED_WAKEUP, being
//! woken only when needed, and blocking work kept off the pollers.
//! Runs on the backends that have pollers of their own: threads (and kernel
//! where /dev/fastio exists).

mod common;

use common::*;
use fastio::abi::{op, Sqe, Stats};
use fastio::config::BackendChoice;
use fastio::{Fastio, Ring};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

fn poller_backends() -> Vec<BackendChoice> {
    backends()
        .into_iter()
        .filter(|b| *b != BackendChoice::Uring)
        .collect()
}

fn context(b: BackendChoice, idle_us: u32) -> (Fastio, Ring) {
    let mut cfg = config(b);
    cfg.poller_idle_us = idle_us;
    one_ring(&cfg)
}

/// Polls `cond` on the context's stats until it holds (10 s at most).
fn until(f: &Fastio, what: &str, cond: impl Fn(&Stats) -> bool) -> Stats {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = f.stats();
        if cond(&s) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {s:?}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn recv_before_data_parks_and_the_poller_sleeps_until_data_arrives() {
    for b in poller_backends() {
        eprintln!("backend {b:?}");
        let (f, mut ring) = context(b, 0);
        let (a, mut z) = {
            let (a, z) = socketpair();
            (a, std::os::unix::net::UnixStream::from(z))
        };
        let mut buf = [0u8; 32];
        let recv = Sqe {
            opcode: op::RECV,
            fd: raw(&a),
            addr: buf.as_mut_ptr() as u64,
            len: 32,
            user_data: 77,
            ..Default::default()
        };
        // SAFETY: buf outlives the op: we wait for its completion below.
        unsafe { ring.push(&recv) }.unwrap();
        ring.submit().unwrap();

        // One attempt, then parked, then the poller goes to sleep: it bumps
        // `sleeps` before blocking and `wakeups` right after, so
        // sleeps == wakeups + 1 means "blocked now", and since parking happens
        // outside the sleep path, this is a sleep that began after parking.
        let parked = until(&f, "the recv to park and the poller to sleep", |s| {
            s.parked == 1 && s.sleeps == s.wakeups + 1
        });
        assert!(ring.poller_sleeping(), "NEED_WAKEUP is set while asleep");
        assert!(ring.pop().is_none(), "nothing completes without data");
        // While the op waits, the poller does not run: its loop counter
        // stands still, where a busy retry would add thousands. (One stale
        // wake-up token from the submission may cost a single extra pass.)
        std::thread::sleep(Duration::from_millis(50));
        let idle = f.stats();
        assert!(
            idle.loops - parked.loops <= 2,
            "poller spun while parked: {parked:?} -> {idle:?}"
        );
        assert_eq!(idle.requeued, 0);
        assert_eq!(idle.parked, 1);

        // Data arrives: readiness wakes the poller, the op runs once more.
        z.write_all(b"arrived").unwrap();
        let c = wait_one(&mut ring);
        assert_eq!((c.user_data, c.res), (77, 7));
        assert_eq!(&buf[..7], b"arrived");
        let after = f.stats();
        assert_eq!(after.submitted, 1);
        assert_eq!(after.parked, 1, "parked exactly once");
        assert_eq!(after.requeued, 1, "retried exactly once, on readiness");
        assert!(after.wakeups >= 1);
        assert_eq!(after.completed, 1);
    }
}

#[test]
fn sleeping_poller_is_woken_only_through_need_wakeup() {
    for b in poller_backends() {
        eprintln!("backend {b:?}");
        let (f, mut ring) = context(b, 0);
        let s0 = until(&f, "the poller to sleep", |s| s.sleeps >= 1);
        assert!(ring.poller_sleeping());
        for i in 0..20u64 {
            let nop = Sqe {
                opcode: op::NOP,
                user_data: i,
                ..Default::default()
            };
            // SAFETY: NOP carries no pointers.
            let c = unsafe { run_one(&mut ring, nop) };
            assert_eq!(c.user_data, i);
            // The poller goes back to sleep after each one (idle time 0)...
            until(&f, "the poller to sleep again", |s| {
                s.sleeps > s0.sleeps + i
            });
        }
        // ...so each submission needed exactly one wake-up.
        let s = f.stats();
        assert!(s.wakeups >= 20, "{s:?}");
        assert_eq!(s.submitted, 20);
    }
}

#[test]
fn spinning_poller_needs_no_wakeup() {
    for b in poller_backends() {
        eprintln!("backend {b:?}");
        // Ten seconds of spinning: the poller stays awake for the whole test.
        let (f, mut ring) = context(b, 10_000_000);
        for i in 0..100u64 {
            let nop = Sqe {
                opcode: op::NOP,
                user_data: i,
                ..Default::default()
            };
            // SAFETY: NOP carries no pointers.
            assert_eq!(unsafe { run_one(&mut ring, nop) }.user_data, i);
        }
        let s = f.stats();
        assert_eq!(s.sleeps, 0, "{s:?}");
        assert_eq!(s.wakeups, 0);
        assert!(!ring.poller_sleeping());
        // (Not "loops >= 100": one pass keeps popping while the application
        // keeps the ring fed, so many round trips may share one pass.)
        assert!(s.loops > 0, "the poller ran: {s:?}");
    }
}

#[test]
fn blocking_ops_go_to_blocking_workers_and_never_stall_the_poller() {
    for b in poller_backends() {
        eprintln!("backend {b:?}");
        let (f, mut ring) = context(b, 0);
        // A read on an empty pipe sleeps until someone writes. On a poller
        // that would stall every ring it serves.
        let mut fds = [0; 2];
        // SAFETY: fds is a valid out-array.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        let mut buf = [0u8; 8];
        let read = Sqe {
            opcode: op::READ,
            fd: fds[0],
            addr: buf.as_mut_ptr() as u64,
            len: 8,
            off: fastio::abi::FASTIO_OFF_CURRENT,
            user_data: 1,
            ..Default::default()
        };
        // SAFETY: buf outlives the op (we wait for it below).
        unsafe { ring.push(&read) }.unwrap();
        ring.submit().unwrap();
        until(&f, "the read to be offloaded", |s| s.offloaded == 1);
        // The poller still serves the ring while the read sleeps.
        let file = tempfile::tempfile().unwrap();
        let fsync = Sqe {
            opcode: op::FSYNC,
            fd: file.as_raw_fd(),
            user_data: 2,
            ..Default::default()
        };
        let nop = Sqe {
            opcode: op::NOP,
            user_data: 3,
            ..Default::default()
        };
        // SAFETY: no pointers.
        unsafe {
            assert_eq!(run_one(&mut ring, nop).user_data, 3);
            let c = run_one(&mut ring, fsync);
            assert_eq!((c.user_data, c.res), (2, 0));
        }
        assert_eq!(
            f.stats().offloaded,
            2,
            "fsync went to a blocking worker too"
        );
        // Now feed the pipe: the blocked read completes.
        // SAFETY: writes 5 bytes from a static buffer.
        assert_eq!(
            unsafe { libc::write(fds[1], b"piped".as_ptr().cast(), 5) },
            5
        );
        let c = wait_one(&mut ring);
        assert_eq!((c.user_data, c.res), (1, 5));
        assert_eq!(&buf[..5], b"piped");
        // SAFETY: closing our own pipe fds.
        unsafe {
            libc::close(fds[0]);
            libc::close(fds[1]);
        }
    }
}

#[test]
fn close_cancels_ops_parked_on_the_fd() {
    for b in poller_backends() {
        eprintln!("backend {b:?}");
        let (f, mut ring) = context(b, 0);
        let (a, _z) = socketpair();
        let fd = {
            use std::os::fd::IntoRawFd;
            a.into_raw_fd()
        };
        let mut buf = [0u8; 8];
        let recv = Sqe {
            opcode: op::RECV,
            fd,
            addr: buf.as_mut_ptr() as u64,
            len: 8,
            user_data: 1,
            ..Default::default()
        };
        // SAFETY: buf outlives the op (it completes before we return).
        unsafe { ring.push(&recv) }.unwrap();
        ring.submit().unwrap();
        until(&f, "the recv to park", |s| s.parked == 1);
        let close = Sqe {
            opcode: op::CLOSE,
            fd,
            user_data: 2,
            ..Default::default()
        };
        // SAFETY: no pointers.
        unsafe { ring.push(&close) }.unwrap();
        let mut got = Vec::new();
        while got.len() < 2 {
            got.push(wait_one(&mut ring));
        }
        got.sort_by_key(|c| c.user_data);
        assert_eq!((got[0].user_data, got[0].res), (1, -libc::ECANCELED));
        assert_eq!((got[1].user_data, got[1].res), (2, 0));
        let _ = buf;
    }
}
