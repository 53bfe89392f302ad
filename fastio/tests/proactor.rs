//! The proactor API end to end, on every backend: an echo server built from
//! its helpers, partial sends, vectored sends, file I/O, and more operations
//! in flight than the ring has entries.

mod common;

use bytes::{Bytes, BytesMut};
use common::*;
use fastio::config::BackendChoice;
use fastio::proactor::{Buffer, Completion, OpKind};
use fastio::{Config, Fastio, Proactor};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, IntoRawFd};
use std::time::{Duration, Instant};

fn proactor(cfg: &Config) -> (Fastio, Proactor) {
    let (f, ring) = one_ring(cfg);
    (f, Proactor::new(ring))
}

/// Waits for and returns at least one completion (10 s at most).
fn next_batch(p: &mut Proactor, out: &mut Vec<Completion>) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while p.reap(out) == 0 {
        assert!(Instant::now() < deadline, "no completion within 10 s");
        p.wait(1, Some(Duration::from_millis(100))).unwrap();
    }
}

/// Deterministic test payload.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

const LISTENER: u64 = u64::MAX;

/// A small echo server: accept_multi, recv into a growable buffer, send_all
/// of what arrived, close on end of stream. Serves `conns` connections.
fn echo_server(p: &mut Proactor, listener: &TcpListener, conns: usize) {
    p.accept_multi(listener.as_raw_fd(), LISTENER);
    let mut closed = 0;
    let mut out = Vec::new();
    while closed < conns {
        out.clear();
        next_batch(p, &mut out);
        for mut c in out.drain(..) {
            match c.kind {
                OpKind::Accept => {
                    let fd = c.result().expect("accept") as i32;
                    p.recv(fd, BytesMut::with_capacity(1024), fd as u64);
                }
                OpKind::Recv => {
                    let n = c.result().expect("recv");
                    let mut buf = c.take_filled().unwrap();
                    if n == 0 {
                        p.close(c.fd, c.token);
                        continue;
                    }
                    let data = buf.split().freeze();
                    p.send_all(c.fd, data, c.token);
                    p.recv(c.fd, buf, c.token);
                }
                OpKind::Send => assert!(c.res > 0, "send: {}", c.res),
                OpKind::Close => {
                    assert_eq!(c.res, 0);
                    closed += 1;
                }
                k => panic!("unexpected {k:?}"),
            }
        }
        p.submit().unwrap();
    }
}

#[test]
fn echo_server_from_proactor_helpers() {
    for b in backends() {
        eprintln!("backend {b:?}");
        let (_f, mut p) = proactor(&config(b));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        const CONNS: usize = 6;
        let clients: Vec<_> = (0..CONNS)
            .map(|i| {
                std::thread::spawn(move || {
                    let mut s = TcpStream::connect(addr).unwrap();
                    // Sizes from one byte to 1 MiB; the reader runs beside the
                    // writer so big messages do not deadlock on full buffers.
                    for len in [1, 100, 4096, 65_537, 1 << 20] {
                        let msg = pattern(len, i as u8);
                        let mut r = s.try_clone().unwrap();
                        let reader = std::thread::spawn(move || {
                            let mut got = vec![0; len];
                            r.read_exact(&mut got).unwrap();
                            got
                        });
                        s.write_all(&msg).unwrap();
                        assert!(reader.join().unwrap() == msg, "echo differs at len {len}");
                    }
                })
            })
            .collect();
        echo_server(&mut p, &listener, CONNS);
        for c in clients {
            c.join().unwrap();
        }
    }
}

#[test]
fn send_all_survives_partial_sends() {
    for b in backends() {
        eprintln!("backend {b:?}");
        let (_f, mut p) = proactor(&config(b));
        let (a, z) = socketpair();
        let small: libc::c_int = 4096;
        // SAFETY: setsockopt reads one c_int.
        unsafe {
            libc::setsockopt(
                raw(&a),
                libc::SOL_SOCKET,
                libc::SO_SNDBUF,
                (&small as *const libc::c_int).cast(),
                4,
            )
        };
        const LEN: usize = 8 << 20;
        let data = Bytes::from(pattern(LEN, 9));
        let expect = data.clone();
        let reader = std::thread::spawn(move || {
            let mut z = std::os::unix::net::UnixStream::from(z);
            let mut got = vec![0; LEN];
            z.read_exact(&mut got).unwrap();
            got
        });
        p.send_all(raw(&a), data, 5);
        p.submit().unwrap();
        let mut out = Vec::new();
        next_batch(&mut p, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].token, out[0].res), (5, LEN as i32));
        assert!(matches!(&out[0].buf, Buffer::Sent(b) if b.len() == LEN));
        assert!(reader.join().unwrap() == expect, "bytes differ");
    }
}

#[test]
fn vectored_send_of_more_buffers_than_one_call_takes() {
    for b in backends() {
        eprintln!("backend {b:?}");
        let (_f, mut p) = proactor(&config(b));
        let (a, z) = socketpair();
        // 3000 pieces: more than FASTIO_MAX_IOVECS per attempt.
        let pieces: Vec<Bytes> = (0..3000)
            .map(|i| Bytes::from(pattern(1 + i % 700, i as u8)))
            .collect();
        let expect: Vec<u8> = pieces.iter().flat_map(|b| b.iter().copied()).collect();
        let total = expect.len();
        let reader = std::thread::spawn(move || {
            let mut z = std::os::unix::net::UnixStream::from(z);
            let mut got = vec![0; total];
            z.read_exact(&mut got).unwrap();
            got
        });
        p.send_all_vectored(raw(&a), pieces, 1);
        p.submit().unwrap();
        let mut out = Vec::new();
        next_batch(&mut p, &mut out);
        assert_eq!(out[0].res, total as i32);
        assert!(reader.join().unwrap() == expect);
    }
}

#[test]
fn file_write_all_then_read_back() {
    for b in backends() {
        eprintln!("backend {b:?}");
        let (_f, mut p) = proactor(&config(b));
        let file = tempfile::tempfile().unwrap();
        let fd = file.as_raw_fd();
        let data = Bytes::from(pattern(3 << 20, 3));
        p.write_all_at(fd, data.clone(), 4096, 1);
        p.submit().unwrap();
        let mut out = Vec::new();
        next_batch(&mut p, &mut out);
        assert_eq!(out[0].result().unwrap(), data.len());
        p.fsync(fd, true, 2);
        p.read_at(fd, BytesMut::new(), 10, 4096 + 100, 3);
        p.submit().unwrap();
        out.clear();
        while out.len() < 2 {
            next_batch(&mut p, &mut out);
        }
        let by_token: HashMap<u64, &mut Completion> =
            out.iter_mut().map(|c| (c.token, c)).collect();
        assert_eq!(by_token[&2].res, 0);
        let read = by_token.into_iter().find(|(t, _)| *t == 3).unwrap().1;
        assert_eq!(read.take_filled().unwrap().as_ref(), &data[100..110]);
    }
}

#[test]
fn more_ops_than_ring_entries_all_complete() {
    for b in backends() {
        eprintln!("backend {b:?}");
        let mut cfg = config(b);
        cfg.ring_entries = 4;
        let (_f, mut p) = proactor(&cfg);
        for t in 0..1000 {
            p.nop(t);
        }
        p.timeout(Duration::from_millis(5), 5000);
        p.submit().unwrap();
        let mut out = Vec::new();
        while out.len() < 1001 {
            next_batch(&mut p, &mut out);
        }
        let mut tokens: Vec<u64> = out.iter().map(|c| c.token).collect();
        tokens.sort();
        let mut want: Vec<u64> = (0..1000).collect();
        want.push(5000);
        assert_eq!(tokens, want);
        assert_eq!(p.in_flight(), 0);
        let t = out.iter().find(|c| c.token == 5000).unwrap();
        assert_eq!((t.kind, t.res), (OpKind::Timeout, -libc::ETIME));
    }
}

#[test]
fn dropping_a_proactor_with_a_parked_recv_is_safe() {
    for b in backends() {
        eprintln!("backend {b:?}");
        let (f, mut p) = proactor(&config(b));
        let (a, z) = socketpair();
        let fd = a.into_raw_fd();
        p.recv(fd, BytesMut::with_capacity(64), 1);
        p.submit().unwrap();
        if b == BackendChoice::Threads {
            let deadline = Instant::now() + Duration::from_secs(10);
            while f.stats().parked == 0 {
                assert!(Instant::now() < deadline);
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        // The recv's buffer is leaked, not freed, so data arriving now lands
        // in memory nobody else owns.
        drop(p);
        let mut z = std::os::unix::net::UnixStream::from(z);
        z.write_all(b"late data").unwrap();
        drop(f);
        // SAFETY: we own fd (taken out of the OwnedFd above).
        unsafe { libc::close(fd) };
    }
}

#[test]
fn accept_multi_reports_more_until_its_listener_closes() {
    for b in backends() {
        eprintln!("backend {b:?}");
        let (_f, mut p) = proactor(&config(b));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let lfd = listener.into_raw_fd();
        p.accept_multi(lfd, 9);
        p.submit().unwrap();
        let _client = TcpStream::connect(addr).unwrap();
        let mut out = Vec::new();
        next_batch(&mut p, &mut out);
        assert_eq!(
            (out[0].token, out[0].kind, out[0].more),
            (9, OpKind::Accept, true)
        );
        let conn = out[0].result().unwrap() as i32;
        // Closing the listener ends the accept loop: it completes once more,
        // cancelled, with more = false, and nothing stays in flight.
        p.close(lfd, 10);
        p.close(conn, 11);
        p.submit().unwrap();
        out.clear();
        while out.len() < 3 {
            next_batch(&mut p, &mut out);
        }
        let accept = out
            .iter()
            .find(|c| c.token == 9)
            .expect("accept completion");
        assert!(!accept.more, "{b:?}");
        assert!(accept.res < 0, "{b:?}: {}", accept.res);
        assert!(out
            .iter()
            .filter(|c| c.kind == OpKind::Close)
            .all(|c| c.res == 0));
        assert_eq!(p.in_flight(), 0, "{b:?}");
    }
}
