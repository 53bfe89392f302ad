//! Buffer selection and multishot (ABI 2), on every backend: pools that run
//! dry and refill, multishot receives until end of stream, error, cancel
//! or an empty pool, multishot accept, registration errors, hostile
//! descriptors, and a thousand connections trickling bytes.

mod common;

use common::*;
use fastio::abi::{self, op, Sqe};
use fastio::bufring::BufRing;
use fastio::config::BackendChoice;
use fastio::proactor::{Completion, OpKind};
use fastio::{Config, Fastio, Proactor};
use std::collections::HashMap;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, IntoRawFd};
use std::time::{Duration, Instant};

fn proactor(cfg: &Config) -> Option<(Fastio, Proactor)> {
    let (f, ring) = one_ring(cfg);
    let p = Proactor::new(ring);
    if !p.supports_pools() {
        eprintln!(
            "{:?}: no buffer groups on this kernel; skipped",
            cfg.backend
        );
        return None;
    }
    Some((f, p))
}

/// Reaps until `n` completions arrived (10 s at most).
#[track_caller]
fn collect(p: &mut Proactor, n: usize) -> Vec<Completion> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut out = Vec::new();
    let at = std::panic::Location::caller();
    while out.len() < n {
        assert!(
            Instant::now() < deadline,
            "{} of {n} completions (waited at {at})",
            out.len()
        );
        p.wait(1, Some(Duration::from_millis(50))).unwrap();
        p.reap(&mut out);
    }
    out
}

/// Reaps for a moment and returns what came (used to show nothing did).
fn settle(p: &mut Proactor) -> Vec<Completion> {
    let mut out = Vec::new();
    for _ in 0..10 {
        p.wait(1, Some(Duration::from_millis(20))).unwrap();
        p.reap(&mut out);
    }
    out
}

#[test]
fn an_empty_pool_parks_single_shot_receives_until_a_buffer_returns() {
    for b in backends() {
        eprintln!("backend {b:?}");
        let Some((_f, mut p)) = proactor(&config(b)) else {
            continue;
        };
        p.add_pool(1, 2, 64).unwrap();
        let pairs: Vec<_> = (0..3).map(|_| socketpair()).collect();
        for (i, (a, _)) in pairs.iter().enumerate() {
            p.recv_pooled(raw(a), 1, i as u64);
        }
        p.submit().unwrap();
        // Idle connections hold no buffer.
        assert!(settle(&mut p).is_empty());
        assert_eq!(p.pool_offered(1), Some(2), "{b:?}");
        for (i, (_, peer)) in pairs.iter().enumerate() {
            let msg = format!("hello {i}");
            assert_eq!(
                unsafe { libc::write(raw(peer), msg.as_ptr().cast(), msg.len()) },
                msg.len() as isize
            );
        }
        let mut got = collect(&mut p, 2);
        assert!(
            settle(&mut p).is_empty(),
            "{b:?}: the third waits for a buffer"
        );
        assert_eq!(p.pool_offered(1), Some(0));
        for c in &mut got {
            let buf = c.take_pooled().expect("a pool buffer");
            assert_eq!(&buf[..], format!("hello {}", c.token).as_bytes());
            assert!(!c.more);
        }
        // Dropping one gives it back; the waiting receive takes it.
        got.truncate(1);
        drop(got);
        let mut last = collect(&mut p, 1);
        let c = &mut last[0];
        let buf = c.take_pooled().unwrap();
        assert_eq!(&buf[..], format!("hello {}", c.token).as_bytes());
        assert_eq!(p.in_flight(), 0);
    }
}

#[test]
fn multishot_receive_until_end_of_stream_error_and_cancel() {
    for b in backends() {
        eprintln!("backend {b:?}");
        let Some((_f, mut p)) = proactor(&config(b)) else {
            continue;
        };
        p.add_pool(3, 8, 16).unwrap();
        // End of stream: every byte arrives in order, then res 0, no more.
        let (a, peer) = socketpair();
        p.recv_multi(raw(&a), 3, 1);
        p.submit().unwrap();
        let mut data = Vec::new();
        let sent: Vec<u8> = (0..200u32).map(|i| (i * 7) as u8).collect();
        for chunk in sent.chunks(13) {
            assert_eq!(
                unsafe { libc::write(raw(&peer), chunk.as_ptr().cast(), chunk.len()) },
                chunk.len() as isize
            );
            while data.len() < sent.len().min(data.len() + 1) {
                for mut c in collect(&mut p, 1) {
                    assert!(c.more, "{b:?}: {} ended early", c.res);
                    let buf = c.take_pooled().unwrap();
                    assert!(buf.len() <= 16);
                    data.extend_from_slice(&buf);
                }
                if data.len() >= sent.len() || data.len() % 13 == 0 {
                    break;
                }
            }
        }
        while data.len() < sent.len() {
            for mut c in collect(&mut p, 1) {
                data.extend_from_slice(&c.take_pooled().unwrap());
            }
        }
        assert_eq!(data, sent, "{b:?}");
        drop(peer);
        let end = collect(&mut p, 1);
        assert_eq!((end[0].res, end[0].more), (0, false), "{b:?}");
        assert_eq!(p.in_flight(), 0);

        // An error ends it: a reset TCP connection.
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (server, _) = l.accept().unwrap();
        let sfd = server.into_raw_fd();
        p.recv_multi(sfd, 3, 2);
        p.submit().unwrap();
        let lin = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: a valid linger struct for a socket we own.
        unsafe {
            libc::setsockopt(
                client.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&lin as *const libc::linger).cast(),
                std::mem::size_of::<libc::linger>() as u32,
            )
        };
        drop(client);
        let err = collect(&mut p, 1);
        assert_eq!(
            (err[0].res, err[0].more),
            (-libc::ECONNRESET, false),
            "{b:?}"
        );

        // CLOSE cancels an armed multishot: exactly one final completion.
        let (a2, _peer2) = socketpair();
        let fd2 = a2.into_raw_fd();
        p.recv_multi(fd2, 3, 3);
        p.submit().unwrap();
        assert!(settle(&mut p).is_empty());
        p.close(fd2, 4);
        p.close(sfd, 5);
        p.submit().unwrap();
        let out = collect(&mut p, 3);
        let recv: Vec<_> = out.iter().filter(|c| c.token == 3).collect();
        assert_eq!(recv.len(), 1, "{b:?}");
        assert_eq!(
            (recv[0].res, recv[0].more),
            (-libc::ECANCELED, false),
            "{b:?}"
        );
        assert!(settle(&mut p).is_empty());
        assert_eq!(p.in_flight(), 0);
    }
}

#[test]
fn multishot_receive_ends_with_enobufs_when_the_pool_runs_dry() {
    for b in backends() {
        eprintln!("backend {b:?}");
        let Some((_f, mut p)) = proactor(&config(b)) else {
            continue;
        };
        if is(p.backend(), BackendChoice::Uring) {
            eprintln!(
                "uring{}",
                fastio::backend::uring::features(p.ring().supports_buffer_select())
            );
        }
        p.add_pool(2, 1, 8).unwrap();
        let (a, peer) = socketpair();
        p.recv_multi(raw(&a), 2, 7);
        p.submit().unwrap();
        assert_eq!(
            unsafe { libc::write(raw(&peer), b"abc".as_ptr().cast(), 3) },
            3
        );
        let mut first = collect(&mut p, 1);
        assert!(first[0].more);
        let held = first[0].take_pooled().unwrap();
        assert_eq!(&held[..], b"abc");
        assert_eq!(
            unsafe { libc::write(raw(&peer), b"def".as_ptr().cast(), 3) },
            3
        );
        // The receive that is armed at the end, and what it got.
        let (armed, mut again) = if p.ring().supports_multishot_recv() {
            let end = collect(&mut p, 1);
            assert_eq!((end[0].res, end[0].more), (-libc::ENOBUFS, false), "{b:?}");
            // Re-armed after the buffer came back, it gets the waiting bytes.
            drop(held);
            p.recv_multi(raw(&a), 2, 8);
            p.submit().unwrap();
            (8, collect(&mut p, 1))
        } else {
            // The proactor re-arms single receives (io_uring of a kernel
            // whose multishot receive does not end): it waits for a buffer.
            assert!(settle(&mut p).is_empty(), "{b:?}");
            drop(held);
            p.submit().unwrap();
            (7, collect(&mut p, 1))
        };
        assert_eq!(&again[0].take_pooled().unwrap()[..], b"def", "{b:?}");
        p.close(a.into_raw_fd(), 9);
        p.submit().unwrap();
        // The re-armed receive ends (cancelled, or -ENOBUFS: the pool is
        // empty while `again` holds its buffer), and the close completes.
        let mut last = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while last.len() < 2 {
            assert!(Instant::now() < deadline, "{b:?}: {last:?}");
            p.wait(1, Some(Duration::from_millis(50))).unwrap();
            p.reap(&mut last);
        }
        assert!(last.iter().any(|c| c.kind == OpKind::Close && c.res == 0));
        assert!(last
            .iter()
            .any(|c| c.token == armed && !c.more && c.res < 0));
        drop(again);
    }
}

#[test]
fn multishot_accept_gives_one_completion_per_connection() {
    for b in backends() {
        eprintln!("backend {b:?}");
        let (_f, mut p) = {
            let (f, ring) = one_ring(&config(b));
            (f, Proactor::new(ring))
        };
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let lfd = l.into_raw_fd();
        p.accept_multi(lfd, 1);
        p.submit().unwrap();
        let clients: Vec<_> = (0..5).map(|_| TcpStream::connect(addr).unwrap()).collect();
        let got = collect(&mut p, 5);
        assert!(
            got.iter()
                .all(|c| c.kind == OpKind::Accept && c.more && c.res >= 0),
            "{b:?}"
        );
        for c in &got {
            // SAFETY: accepted fds are ours.
            unsafe { libc::close(c.res) };
        }
        drop(clients);
        p.close(lfd, 2);
        p.submit().unwrap();
        let end = collect(&mut p, 2);
        let acc = end.iter().find(|c| c.token == 1).unwrap();
        assert!(!acc.more && acc.res < 0, "{b:?}");
        assert_eq!(p.in_flight(), 0);
    }
}

#[test]
fn registration_errors() {
    for b in backends() {
        eprintln!("backend {b:?}");
        let (_f, mut ring) = one_ring(&config(b));
        if !ring.supports_buffer_select() {
            continue;
        }
        let r = BufRing::new(8).unwrap();
        let errno = |e: std::io::Error| e.raw_os_error();
        // SAFETY: `r` outlives the registration (unregistered below).
        unsafe {
            ring.register_buf_ring(5, r.addr(), 8).unwrap();
            assert_eq!(
                ring.register_buf_ring(5, r.addr(), 8).map_err(errno),
                Err(Some(libc::EEXIST))
            );
            assert_eq!(
                ring.register_buf_ring(6, r.addr(), 6).map_err(errno),
                Err(Some(libc::EINVAL))
            );
            assert_eq!(
                ring.register_buf_ring(64, r.addr(), 8).map_err(errno),
                Err(Some(libc::EINVAL))
            );
            let unaligned = r.addr().cast::<u8>().add(16).cast();
            assert_eq!(
                ring.register_buf_ring(7, unaligned, 8).map_err(errno),
                Err(Some(libc::EINVAL))
            );
        }
        // Busy while a receive of the group is armed.
        let (a, _peer) = socketpair();
        let sqe = Sqe {
            opcode: op::RECV,
            flags: abi::FASTIO_SQE_BUFFER_SELECT,
            buf_group: 5,
            fd: raw(&a),
            user_data: 1,
            ..Default::default()
        };
        // SAFETY: no pointers; the group's memory is `r`.
        unsafe { ring.push(&sqe).unwrap() };
        // Entries are taken in order: once the NOP behind it completed, the
        // receive is armed.
        let nop = Sqe {
            opcode: op::NOP,
            user_data: 10,
            ..Default::default()
        };
        // SAFETY: no pointers.
        assert_eq!(unsafe { run_one(&mut ring, nop) }.user_data, 10);
        assert_eq!(
            ring.unregister_buf_ring(5).map_err(errno),
            Err(Some(libc::EBUSY)),
            "{b:?}"
        );
        // A receive naming a group that does not exist: ENOENT.
        let none = Sqe {
            buf_group: 9,
            user_data: 2,
            ..sqe
        };
        // SAFETY: no pointers.
        let c = unsafe { run_one(&mut ring, none) };
        assert_eq!((c.user_data, c.res), (2, -libc::ENOENT), "{b:?}");
        let close = Sqe {
            opcode: op::CLOSE,
            fd: a.into_raw_fd(),
            user_data: 3,
            ..Default::default()
        };
        // SAFETY: no pointers.
        unsafe { ring.push(&close).unwrap() };
        let mut seen = HashMap::new();
        while seen.len() < 2 {
            let c = wait_one(&mut ring);
            seen.insert(c.user_data, c.res);
        }
        assert_eq!(seen[&1], -libc::ECANCELED, "{b:?}");
        ring.unregister_buf_ring(5).unwrap();
        assert_eq!(
            ring.unregister_buf_ring(5).map_err(errno),
            Err(Some(libc::ENOENT))
        );
    }
}

/// Descriptors naming memory the process does not have, or absurd
/// lengths: the receive fails, nothing is written anywhere else, and the
/// bad descriptor stays where it is (the process must rewrite it).
#[test]
fn hostile_descriptors_fail_the_op_and_write_nothing_else() {
    for b in backends() {
        eprintln!("backend {b:?}");
        let (_f, mut ring) = one_ring(&config(b));
        if !ring.supports_buffer_select() {
            continue;
        }
        let mut canary = vec![0x5au8; 4096];
        let bad: [(*mut u8, u32); 3] = [
            (0x10 as *mut u8, 64),
            (0xffff_8000_0000_0000u64 as *mut u8, 64),
            (canary.as_mut_ptr(), 0),
        ];
        let mut rings = Vec::new();
        for (g, (addr, len)) in bad.iter().enumerate() {
            let mut r = BufRing::new(1).unwrap();
            r.push(*addr, *len, 7);
            r.publish();
            // SAFETY: the rings outlive the context's use of them (the
            // context is dropped at the end of the loop body, first).
            unsafe { ring.register_buf_ring(g as u16, r.addr(), 1).unwrap() };
            rings.push(r);
        }
        for g in 0..3u16 {
            let (a, peer) = socketpair();
            // SAFETY: three bytes of a live array.
            assert_eq!(
                unsafe { libc::write(raw(&peer), b"xyz".as_ptr().cast(), 3) },
                3
            );
            for attempt in 0..2 {
                let sqe = Sqe {
                    opcode: op::RECV,
                    flags: abi::FASTIO_SQE_BUFFER_SELECT,
                    buf_group: g,
                    fd: raw(&a),
                    user_data: g as u64,
                    ..Default::default()
                };
                // SAFETY: no pointers of ours.
                let c = unsafe { run_one(&mut ring, sqe) };
                // io_uring does not check a zero length: its receive of 0
                // bytes reads as end of stream (documented in uring.rs).
                let zero_on_uring = g == 2 && is(ring.backend(), BackendChoice::Uring);
                let failed = c.res == -libc::EFAULT || c.res == -libc::EINVAL;
                assert!(
                    (failed || zero_on_uring && c.res == 0)
                        && c.flags & abi::FASTIO_CQE_F_BUFFER == 0,
                    "{b:?}: group {g} attempt {attempt}: {} {:#x}",
                    c.res,
                    c.flags
                );
            }
        }
        assert!(canary.iter().all(|&x| x == 0x5a));
    }
}

/// `want` socketpairs, or as many as the fd limit allows (raised to the
/// hard limit first; the VM guest's is lower than the host's).
fn fd_budget(want: usize) -> usize {
    let mut l = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: a valid out-struct.
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) };
    l.rlim_cur = l.rlim_max;
    // SAFETY: raising the soft limit to the hard one is always allowed.
    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &l) };
    let n = want.min((l.rlim_cur as usize).saturating_sub(200) / 2);
    assert!(n >= 400, "fd limit {} too low for this test", l.rlim_cur);
    n
}

/// A thousand connections, each sending its bytes one at a time, through
/// multishot receives sharing one small pool.
#[test]
fn a_thousand_connections_trickling_bytes() {
    for b in backends() {
        eprintln!("backend {b:?}");
        let Some((_f, mut p)) = proactor(&config(b)) else {
            continue;
        };
        p.add_pool(0, 64, 32).unwrap();
        let conns: Vec<_> = (0..fd_budget(1000)).map(|_| socketpair()).collect();
        for (i, (a, _)) in conns.iter().enumerate() {
            p.recv_multi(raw(a), 0, i as u64);
        }
        p.submit().unwrap();
        let msg = b"0123456789";
        let mut got: Vec<Vec<u8>> = vec![Vec::new(); conns.len()];
        let mut out = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        for k in 0..msg.len() {
            for (_, peer) in &conns {
                // SAFETY: one byte of a live array.
                assert_eq!(
                    unsafe { libc::write(raw(peer), msg[k..].as_ptr().cast(), 1) },
                    1
                );
            }
            // Drain between rounds so the pool never runs dry for long.
            while got.iter().map(|g| g.len()).sum::<usize>() < conns.len() * (k + 1) {
                assert!(Instant::now() < deadline, "{b:?}: stuck in round {k}");
                p.wait(1, Some(Duration::from_millis(20))).unwrap();
                out.clear();
                p.reap(&mut out);
                for c in &mut out {
                    let i = c.token as usize;
                    match c.take_pooled() {
                        Some(buf) => got[i].extend_from_slice(&buf),
                        None => {
                            // Ended (a full CQ, or the pool ran dry): re-arm.
                            assert!(
                                !c.more && (c.res == -libc::ENOBUFS || c.res > 0),
                                "{}",
                                c.res
                            );
                            p.recv_multi(raw(&conns[i].0), 0, i as u64);
                        }
                    }
                    if c.res > 0 && !c.more {
                        p.recv_multi(raw(&conns[i].0), 0, i as u64);
                    }
                }
                p.submit().unwrap();
            }
        }
        assert!(got.iter().all(|g| g == msg), "{b:?}");
        // The peers close: every receive ends with end of stream, once.
        let (ours, peers): (Vec<_>, Vec<_>) = conns.into_iter().unzip();
        drop(peers);
        let mut ended = 0;
        while ended < ours.len() {
            assert!(Instant::now() < deadline, "{b:?}: {ended} ended");
            p.wait(1, Some(Duration::from_millis(20))).unwrap();
            out.clear();
            p.reap(&mut out);
            for c in &out {
                assert!(!c.more && c.res == 0, "{b:?}: {} {}", c.res, c.more);
            }
            ended += out.len();
        }
        assert_eq!(ended, ours.len());
        assert_eq!(p.in_flight(), 0);
    }
}

#[test]
fn a_pool_buffer_outlives_its_proactor() {
    for b in backends() {
        eprintln!("backend {b:?}");
        let Some((f, mut p)) = proactor(&config(b)) else {
            continue;
        };
        p.add_pool(4, 2, 8).unwrap();
        let (a, mut peer) = {
            let (a, peer) = socketpair();
            (a, std::fs::File::from(peer))
        };
        p.recv_pooled(raw(&a), 4, 1);
        p.submit().unwrap();
        peer.write_all(b"kept").unwrap();
        let mut c = collect(&mut p, 1);
        let buf = c[0].take_pooled().unwrap();
        drop(c);
        drop(p);
        drop(f);
        assert_eq!(&buf[..], b"kept");
    }
}

/// Many single-shot receives with data ready and a pool far smaller than
/// them: every one completes as buffers come back. (On uring a receive can
/// fail with -ENOBUFS after the buffers it needed were already returned;
/// it must then be retried without waiting for another return, or it
/// waits forever: this hung kvserver under 1,000 simultaneous PINGs.)
#[test]
fn many_receives_share_a_small_pool_without_stalling() {
    for b in backends() {
        eprintln!("backend {b:?}");
        let Some((_f, mut p)) = proactor(&config(b)) else {
            continue;
        };
        p.add_pool(0, 4, 64).unwrap();
        let conns: Vec<_> = (0..300).map(|_| socketpair()).collect();
        for round in 0..3u8 {
            for (i, (a, peer)) in conns.iter().enumerate() {
                p.recv_pooled(raw(a), 0, i as u64);
                let msg = [round; 5];
                // SAFETY: five bytes of a live array.
                assert_eq!(unsafe { libc::write(raw(peer), msg.as_ptr().cast(), 5) }, 5);
            }
            p.submit().unwrap();
            let mut seen = vec![false; conns.len()];
            let mut n = 0;
            let deadline = Instant::now() + Duration::from_secs(20);
            let mut out = Vec::new();
            while n < conns.len() {
                assert!(
                    Instant::now() < deadline,
                    "{b:?}: round {round}: {n} of 300"
                );
                p.wait(1, Some(Duration::from_millis(20))).unwrap();
                out.clear();
                p.reap(&mut out);
                for c in &mut out {
                    let buf = c.take_pooled().expect("data");
                    assert_eq!(&buf[..], &[round; 5]);
                    assert!(!std::mem::replace(&mut seen[c.token as usize], true));
                    n += 1;
                }
                // The buffers go back here, when `out` is cleared.
            }
        }
    }
}
