//! Every opcode on every backend that runs here, with real sockets, socket
//! pairs and files, plus the bad-input rules: errors in completions, never
//! panics.

mod common;

use common::*;
use fastio::abi::{self, op, Sqe};
use fastio::config::BackendChoice;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

fn sqe(opcode: u8, fd: i32, user_data: u64) -> Sqe {
    Sqe {
        opcode,
        fd,
        user_data,
        ..Default::default()
    }
}

fn for_each_backend(test: impl Fn(BackendChoice)) {
    for b in backends() {
        eprintln!("backend {b:?}");
        test(b);
    }
}

#[test]
fn nop_echoes_user_data() {
    for_each_backend(|b| {
        let (_f, mut ring) = one_ring(&config(b));
        // SAFETY: NOP carries no pointers.
        let c = unsafe { run_one(&mut ring, sqe(op::NOP, -1, 0xdead_beef)) };
        assert_eq!((c.user_data, c.res), (0xdead_beef, 0));
    });
}

#[test]
fn tcp_accept_send_sendv_recv_close() {
    for_each_backend(|b| {
        let (_f, mut ring) = one_ring(&config(b));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let client = std::thread::spawn(move || TcpStream::connect(addr).unwrap());

        // ACCEPT with the peer address requested.
        // SAFETY: sockaddr_in is plain data.
        let mut peer: libc::sockaddr_in = unsafe { std::mem::zeroed() };
        let mut peer_len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        let accept = Sqe {
            addr: &mut peer as *mut _ as u64,
            off: &mut peer_len as *mut _ as u64,
            op_flags: libc::SOCK_CLOEXEC as u32,
            ..sqe(op::ACCEPT, listener.as_raw_fd(), 1)
        };
        // SAFETY: peer and peer_len outlive the call.
        let c = unsafe { run_one(&mut ring, accept) };
        assert!(c.res >= 0, "accept: {}", c.res);
        let conn = c.res;
        let mut client = client.join().unwrap();
        assert_eq!(
            u16::from_be(peer.sin_port),
            client.local_addr().unwrap().port()
        );

        // SEND
        let msg = b"hello over fastio";
        let send = Sqe {
            addr: msg.as_ptr() as u64,
            len: msg.len() as u32,
            ..sqe(op::SEND, conn, 2)
        };
        // SAFETY: msg is a live static buffer.
        let c = unsafe { run_one(&mut ring, send) };
        assert_eq!(c.res, msg.len() as i32);
        let mut got = vec![0; msg.len()];
        client.read_exact(&mut got).unwrap();
        assert_eq!(&got, msg);

        // SENDV: three pieces arrive as one stream.
        let parts: [&[u8]; 3] = [b"one ", b"two ", b"three"];
        let iov: Vec<libc::iovec> = parts
            .iter()
            .map(|p| libc::iovec {
                iov_base: p.as_ptr() as *mut _,
                iov_len: p.len(),
            })
            .collect();
        let sendv = Sqe {
            addr: iov.as_ptr() as u64,
            len: iov.len() as u32,
            ..sqe(op::SENDV, conn, 3)
        };
        // SAFETY: iov and the parts it points to outlive the call.
        let c = unsafe { run_one(&mut ring, sendv) };
        assert_eq!(c.res, 13);
        let mut got = vec![0; 13];
        client.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"one two three");

        // RECV: data the client already sent.
        client.write_all(b"ping").unwrap();
        let mut buf = [0u8; 64];
        let recv = Sqe {
            addr: buf.as_mut_ptr() as u64,
            len: buf.len() as u32,
            ..sqe(op::RECV, conn, 4)
        };
        // SAFETY: buf outlives the call.
        let c = unsafe { run_one(&mut ring, recv) };
        assert_eq!(c.res, 4);
        assert_eq!(&buf[..4], b"ping");

        // CLOSE: the client sees end of stream.
        // SAFETY: no pointers.
        let c = unsafe { run_one(&mut ring, sqe(op::CLOSE, conn, 5)) };
        assert_eq!((c.user_data, c.res), (5, 0));
        let mut rest = Vec::new();
        client.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty());
    });
}

#[test]
fn read_and_write_on_a_socketpair() {
    for_each_backend(|b| {
        let (_f, mut ring) = one_ring(&config(b));
        let (a, z) = socketpair();
        let data = b"through READ/WRITE on a socket";
        let write = Sqe {
            addr: data.as_ptr() as u64,
            len: data.len() as u32,
            off: abi::FASTIO_OFF_CURRENT,
            ..sqe(op::WRITE, raw(&a), 1)
        };
        // SAFETY: data is static.
        assert_eq!(unsafe { run_one(&mut ring, write) }.res, data.len() as i32);
        let mut buf = vec![0u8; 100];
        let read = Sqe {
            addr: buf.as_mut_ptr() as u64,
            len: buf.len() as u32,
            off: abi::FASTIO_OFF_CURRENT,
            ..sqe(op::READ, raw(&z), 2)
        };
        // SAFETY: buf outlives the call.
        let c = unsafe { run_one(&mut ring, read) };
        assert_eq!(c.res, data.len() as i32);
        assert_eq!(&buf[..data.len()], data);
    });
}

#[test]
fn file_write_read_fsync() {
    for_each_backend(|b| {
        let (_f, mut ring) = one_ring(&config(b));
        let file = tempfile::tempfile().unwrap();
        let fd = file.as_raw_fd();
        let a = b"0123456789";
        let w = Sqe {
            addr: a.as_ptr() as u64,
            len: 10,
            off: 0,
            ..sqe(op::WRITE, fd, 1)
        };
        let b2 = b"abc";
        let w2 = Sqe {
            addr: b2.as_ptr() as u64,
            len: 3,
            off: 4,
            ..sqe(op::WRITE, fd, 2)
        };
        // SAFETY: static buffers; one write at a time.
        unsafe {
            assert_eq!(run_one(&mut ring, w).res, 10);
            assert_eq!(run_one(&mut ring, w2).res, 3);
        }
        let mut buf = [0u8; 16];
        let r = Sqe {
            addr: buf.as_mut_ptr() as u64,
            len: 16,
            off: 2,
            ..sqe(op::READ, fd, 3)
        };
        // SAFETY: buf outlives the call.
        let c = unsafe { run_one(&mut ring, r) };
        assert_eq!(c.res, 8);
        assert_eq!(&buf[..8], b"23abc789");
        // READ at the file position: the fd's offset is still 0 (pwrite and
        // pread do not move it).
        let r = Sqe {
            addr: buf.as_mut_ptr() as u64,
            len: 4,
            off: abi::FASTIO_OFF_CURRENT,
            ..sqe(op::READ, fd, 4)
        };
        // SAFETY: buf outlives the call.
        let c = unsafe { run_one(&mut ring, r) };
        assert_eq!(c.res, 4);
        assert_eq!(&buf[..4], b"0123");
        for (flags, ud) in [(0, 5), (abi::FASTIO_FSYNC_DATASYNC, 6)] {
            let f = Sqe {
                op_flags: flags,
                ..sqe(op::FSYNC, fd, ud)
            };
            // SAFETY: no pointers.
            let c = unsafe { run_one(&mut ring, f) };
            assert_eq!((c.user_data, c.res), (ud, 0));
        }
    });
}

#[test]
fn timeout_expires_with_etime() {
    for_each_backend(|b| {
        let (_f, mut ring) = one_ring(&config(b));
        let start = Instant::now();
        let t = Sqe {
            off: 30_000_000,
            ..sqe(op::TIMEOUT, -1, 7)
        };
        // SAFETY: no pointers.
        let c = unsafe { run_one(&mut ring, t) };
        assert_eq!((c.user_data, c.res), (7, -libc::ETIME));
        assert!(
            start.elapsed() >= Duration::from_millis(30),
            "{:?}",
            start.elapsed()
        );
    });
}

#[test]
fn bad_input_gives_errors_in_completions() {
    for_each_backend(|b| {
        let (_f, mut ring) = one_ring(&config(b));
        let file = tempfile::tempfile().unwrap();
        let mut buf = [0u8; 8];
        let p = buf.as_mut_ptr() as u64;
        let closed_fd = 1_000_000; // beyond any fd limit: never open
        let cases: Vec<(&str, Sqe, i32)> = vec![
            (
                "recv on a bad fd",
                Sqe {
                    addr: p,
                    len: 8,
                    ..sqe(op::RECV, closed_fd, 1)
                },
                -libc::EBADF,
            ),
            (
                "send on a bad fd",
                Sqe {
                    addr: p,
                    len: 8,
                    ..sqe(op::SEND, closed_fd, 2)
                },
                -libc::EBADF,
            ),
            ("close a bad fd", sqe(op::CLOSE, closed_fd, 3), -libc::EBADF),
            ("fsync a bad fd", sqe(op::FSYNC, closed_fd, 4), -libc::EBADF),
            ("unknown opcode", sqe(200, 0, 5), -libc::EINVAL),
            ("opcode LAST", sqe(op::LAST, 0, 6), -libc::EINVAL),
            (
                "oversized length",
                Sqe {
                    addr: p,
                    len: abi::FASTIO_MAX_IO_LEN + 1,
                    ..sqe(op::RECV, 0, 7)
                },
                -libc::EINVAL,
            ),
            (
                "too many iovecs",
                Sqe {
                    addr: p,
                    len: abi::FASTIO_MAX_IOVECS + 1,
                    ..sqe(op::SENDV, 0, 8)
                },
                -libc::EINVAL,
            ),
            (
                "unknown sqe flag",
                Sqe {
                    flags: 0x40,
                    ..sqe(op::NOP, 0, 9)
                },
                -libc::EINVAL,
            ),
            (
                "reserved field set",
                Sqe {
                    resv1: [0, 1, 0],
                    ..sqe(op::NOP, 0, 10)
                },
                -libc::EINVAL,
            ),
            (
                "bad pointer",
                Sqe {
                    addr: 8,
                    len: 8,
                    off: 0,
                    ..sqe(op::WRITE, file.as_raw_fd(), 11)
                },
                -libc::EFAULT,
            ),
        ];
        for (what, e, want) in cases {
            // SAFETY: pointers are either `buf` (alive) or deliberately bad
            // addresses the kernel rejects without touching our memory.
            let c = unsafe { run_one(&mut ring, e) };
            assert_eq!(c.user_data, e.user_data, "{what}");
            assert_eq!(c.res, want, "{what} on {b:?}");
        }
        let _ = buf;
    });
}

#[test]
fn full_submission_ring_pushes_back() {
    for_each_backend(|b| {
        let mut cfg = config(b);
        cfg.ring_entries = 4;
        let (_f, mut ring) = one_ring(&cfg);
        for i in 0..4 {
            // SAFETY: NOPs carry no pointers.
            unsafe { ring.push(&sqe(op::NOP, -1, i)) }.unwrap();
        }
        // SAFETY: as above.
        let full = unsafe { ring.push(&sqe(op::NOP, -1, 4)) };
        assert_eq!(full, Err(fastio::ring::RingFull));
        ring.submit().unwrap();
        let mut seen = Vec::new();
        while seen.len() < 4 {
            ring.wait(1, Some(Duration::from_secs(5))).unwrap();
            while let Some(c) = ring.pop() {
                seen.push(c.user_data);
            }
        }
        seen.sort();
        assert_eq!(seen, vec![0, 1, 2, 3]);
        // Space again once the entries were consumed.
        // SAFETY: as above.
        let c = unsafe { run_one(&mut ring, sqe(op::NOP, -1, 9)) };
        assert_eq!(c.user_data, 9);
    });
}

#[test]
fn completions_beyond_the_cq_wait_in_the_backlog() {
    for_each_backend(|b| {
        let mut cfg = config(b);
        cfg.ring_entries = 4;
        cfg.cq_entries = 4;
        let (_f, mut ring) = one_ring(&cfg);
        const TOTAL: u64 = 40;
        let deadline = Instant::now() + Duration::from_secs(20);
        // Phase 1: push without reaping until the ring pushes back for good.
        // More than a CQ's worth must go in: the excess waits in the backlog.
        let mut next = 0u64;
        let mut stuck_since = Instant::now();
        while Instant::now() < deadline && stuck_since.elapsed() < Duration::from_millis(100) {
            // SAFETY: NOPs carry no pointers.
            if next < TOTAL && unsafe { ring.push(&sqe(op::NOP, -1, next)) }.is_ok() {
                next += 1;
                stuck_since = Instant::now();
            } else {
                ring.submit().unwrap();
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        assert!(
            next > 4,
            "{b:?}: only {next} ops went in before backpressure"
        );
        // Threads and kernel stop consuming while the backlog is non-empty,
        // so it stays bounded; io_uring's own overflow list is unbounded.
        if b != BackendChoice::Uring {
            assert!(
                next < TOTAL,
                "{b:?}: no backpressure at all with a 4-entry CQ"
            );
        }
        // Phase 2: reap and keep pushing: everything completes exactly once.
        let mut seen = Vec::new();
        while (seen.len() as u64) < TOTAL && Instant::now() < deadline {
            // SAFETY: as above.
            while next < TOTAL && unsafe { ring.push(&sqe(op::NOP, -1, next)) }.is_ok() {
                next += 1;
            }
            ring.wait(1, Some(Duration::from_millis(100))).unwrap();
            while let Some(c) = ring.pop() {
                seen.push(c.user_data);
            }
        }
        seen.sort();
        assert_eq!(
            seen,
            (0..TOTAL).collect::<Vec<_>>(),
            "{b:?}: every completion arrives once"
        );
        if b == BackendChoice::Threads {
            assert!(ring.cq_overflow() > 0, "the backlog was used and counted");
        }
    });
}

#[test]
fn close_cancels_what_waits_on_the_fd_on_every_backend() {
    for_each_backend(|b| {
        let (_f, mut ring) = one_ring(&config(b));
        let (a, z) = socketpair();
        let fd = {
            use std::os::fd::IntoRawFd;
            a.into_raw_fd()
        };
        let mut buf = [0u8; 8];
        let recv = Sqe {
            addr: buf.as_mut_ptr() as u64,
            len: 8,
            ..sqe(op::RECV, fd, 1)
        };
        // SAFETY: buf outlives both ops, which complete before we return.
        unsafe {
            ring.push(&recv).unwrap();
            ring.push(&sqe(op::CLOSE, fd, 2)).unwrap();
        }
        let mut got = [wait_one(&mut ring), wait_one(&mut ring)];
        got.sort_by_key(|c| c.user_data);
        assert_eq!(
            (got[0].user_data, got[0].res),
            (1, -libc::ECANCELED),
            "{b:?}"
        );
        assert_eq!((got[1].user_data, got[1].res), (2, 0), "{b:?}");
        // The socket really closed: the peer sees end of stream.
        let mut z = std::os::unix::net::UnixStream::from(z);
        z.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut rest = Vec::new();
        z.read_to_end(&mut rest)
            .expect("the peer sees end of stream");
        assert!(rest.is_empty());
        let _ = buf;
    });
}

#[test]
fn uring_with_sqpoll_threads() {
    if !backends().contains(&BackendChoice::Uring) {
        eprintln!("io_uring unavailable: nothing to test");
        return;
    }
    // Two rings sharing one SQPOLL thread (the second attaches to the first).
    let mut cfg = config(BackendChoice::Uring);
    cfg.uring_sqpoll = true;
    cfg.poller_idle_us = 1000;
    let mut f = fastio::Fastio::new(&cfg, 2).unwrap();
    for mut ring in f.take_rings() {
        // SAFETY: NOP carries no pointers.
        let c = unsafe { run_one(&mut ring, sqe(op::NOP, -1, 5)) };
        assert_eq!((c.user_data, c.res), (5, 0));
        let (a, z) = socketpair();
        let mut buf = [0u8; 4];
        let recv = Sqe {
            addr: buf.as_mut_ptr() as u64,
            len: 4,
            ..sqe(op::RECV, raw(&a), 6)
        };
        let mut z = std::os::unix::net::UnixStream::from(z);
        z.write_all(b"poll").unwrap();
        // SAFETY: buf outlives the op.
        let c = unsafe { run_one(&mut ring, recv) };
        assert_eq!((c.user_data, c.res), (6, 4));
        assert_eq!(&buf, b"poll");
        // The SQPOLL thread goes idle after poller_idle_us, and a later
        // submission still gets through (the crate wakes it on NEED_WAKEUP).
        std::thread::sleep(Duration::from_millis(20));
        // SAFETY: NOP carries no pointers.
        let c = unsafe { run_one(&mut ring, sqe(op::NOP, -1, 7)) };
        assert_eq!(c.user_data, 7);
    }
}

/// FASTIO_MAX_INFLIGHT: the threads backend and the module stop taking
/// submissions from a ring that has that many ops in flight (here, 2-second
/// TIMEOUTs), so the SQ fills and the process sees backpressure; once they
/// complete, the rest goes in and every op completes exactly once.
/// io_uring has limits of its own and is not checked.
#[test]
fn inflight_ops_are_capped_per_ring() {
    for_each_backend(|b| {
        if b == BackendChoice::Uring {
            return;
        }
        let mut cfg = config(b);
        cfg.ring_entries = 1024;
        cfg.cq_entries = 4096;
        let (f, mut ring) = one_ring(&cfg);
        let max = u64::from(abi::FASTIO_MAX_INFLIGHT);
        let total = max + 3000;
        // Long enough that none completes while the cap is reached, even
        // on a slow emulated guest.
        let timeout = |ud| Sqe {
            off: 3_000_000_000,
            ..sqe(op::TIMEOUT, -1, ud)
        };
        // Push until the workers hold `max` ops and the SQ is full, waiting
        // on that state (not on a guess of how long the poller takes); at
        // every look, no more than `max` are in flight.
        let mut next = 0u64;
        let deadline = Instant::now() + Duration::from_millis(2500);
        loop {
            // SAFETY: TIMEOUTs carry no pointers.
            while next < total && unsafe { ring.push(&timeout(next)) }.is_ok() {
                next += 1;
            }
            ring.submit().unwrap();
            let s = f.stats();
            let inflight = s.submitted - s.completed;
            assert!(
                inflight <= max,
                "{b:?}: {inflight} ops in flight, the cap is {max}"
            );
            // (next < total: the last push found the SQ full.)
            if inflight == max && next < total {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{b:?}: the cap was never reached: {inflight} of {max} in flight, {next} pushed"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(
            f.stats().completed,
            0,
            "{b:?}: a 3 s timeout completed early"
        );
        let mut seen = 0u64;
        let deadline = Instant::now() + Duration::from_secs(30);
        while seen < total && Instant::now() < deadline {
            // SAFETY: as above.
            while next < total && unsafe { ring.push(&timeout(next)) }.is_ok() {
                next += 1;
            }
            ring.submit().unwrap();
            ring.wait(1, Some(Duration::from_millis(100))).unwrap();
            while let Some(c) = ring.pop() {
                assert_eq!(c.res, -libc::ETIME, "{b:?}: op {}", c.user_data);
                seen += 1;
            }
        }
        assert_eq!(seen, total, "{b:?}: every op completes once");
    });
}
