//! End-to-end tests of both echo servers, run as the built binaries exactly
//! as a user (or echo-bench) would run them: the epoll baseline with one and
//! two threads, and the FastIO proactor server on the threads and uring
//! backends, with one and two application threads.
//!
//! Every configuration goes through the same scenarios: many concurrent
//! connections, messages far bigger than the server's buffer, messages that
//! trickle in, and clients that vanish mid-message; plus descriptor
//! exhaustion (EMFILE) for one configuration of each kind. After each, the
//! server must still serve a new client and exit cleanly on SIGTERM.

mod common;

use common::*;
use std::io::Write;
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

const EPOLL: &str = env!("CARGO_BIN_EXE_epoll_echo_server");
const PROACTOR: &str = env!("CARGO_BIN_EXE_proactor_echo_server");

/// A fresh client does a round trip with a small and a medium message.
fn still_serves(server: &mut Server) {
    server.assert_alive();
    let mut s = connect(server.addr);
    round_trip(&mut s, b"still alive?", "new client after the scenario");
    echo_concurrently(&mut s, Arc::new(pattern(100_000, 7)), "new client, 100 kB");
    drop(s);
    server.assert_alive();
}

/// Stops the server with SIGTERM and checks it exits successfully, printing
/// its statistics. Returns the total connections it reports.
fn stop_cleanly(server: Server) -> u64 {
    let (status, log) = server.stop();
    assert!(status.success(), "exit status {status}:\n{log}");
    total_connections(&log)
}

/// (a) 2000 connections open at once, each doing a few round trips of
/// different sizes; the clients interleave them over 8 threads so the
/// server has many connections active together.
fn many_connections(spec: &Spec) {
    const CONNS: usize = 2000;
    const THREADS: usize = 8;
    const ROUNDS: usize = 3;
    let mut server = Server::start(spec);
    let conns: Vec<TcpStream> = (0..CONNS).map(|_| connect(server.addr)).collect();
    let mut groups: Vec<Vec<(usize, TcpStream)>> = (0..THREADS).map(|_| Vec::new()).collect();
    for (i, s) in conns.into_iter().enumerate() {
        groups[i % THREADS].push((i, s));
    }
    let clients: Vec<_> = groups
        .into_iter()
        .map(|mut group| {
            std::thread::spawn(move || {
                for round in 0..ROUNDS {
                    let msgs: Vec<Vec<u8>> = group
                        .iter()
                        .map(|(i, _)| {
                            pattern(1 + (i * 37 + round * 1013) % 3000, (i * 10 + round) as u32)
                        })
                        .collect();
                    // All of the group's messages are in flight before any
                    // echo is read.
                    for ((_, s), m) in group.iter_mut().zip(&msgs) {
                        s.write_all(m).expect("write");
                    }
                    for ((i, s), m) in group.iter_mut().zip(&msgs) {
                        expect_echo(s, m, &format!("connection {i}, round {round}"));
                    }
                }
                group
            })
        })
        .collect();
    let mut open = Vec::new();
    for c in clients {
        open.extend(c.join().expect("client thread"));
    }
    server.assert_alive();
    // Stop with a few connections still open: shutdown must not wait on them.
    open.truncate(5);
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(stop_cleanly(server), CONNS as u64, "connections counted");
    drop(open);
}

/// (b) 1 MiB and 3 MiB messages, each echoed exactly; two connections at
/// once, each reading while it writes.
fn large_messages(spec: &Spec) {
    let mut server = Server::start(spec);
    let addr = server.addr;
    let clients: Vec<_> = (0..2u32)
        .map(|c| {
            std::thread::spawn(move || {
                let mut s = connect(addr);
                for len in [1 << 20, 3 << 20] {
                    let msg = Arc::new(pattern(len, c * 100 + len as u32));
                    echo_concurrently(&mut s, msg, &format!("client {c}, {len} bytes"));
                }
                // A small one afterwards: the connection is still in step.
                round_trip(&mut s, b"after the big ones", "small after large");
            })
        })
        .collect();
    for c in clients {
        c.join().expect("client");
    }
    still_serves(&mut server);
    stop_cleanly(server);
}

/// (c) Messages written in many small pieces with pauses between them, the
/// echo read concurrently; three clients at once.
fn partial_messages(spec: &Spec) {
    let mut server = Server::start(spec);
    let addr = server.addr;
    let clients: Vec<_> = (0..3u32)
        .map(|c| {
            std::thread::spawn(move || {
                let mut s = connect(addr);
                let msg = pattern(1500, c + 40);
                let mut w = s.try_clone().unwrap();
                let m = msg.clone();
                let writer = std::thread::spawn(move || {
                    let mut at = 0;
                    let mut piece = 1;
                    while at < m.len() {
                        let end = (at + piece).min(m.len());
                        w.write_all(&m[at..end]).expect("write piece");
                        at = end;
                        piece = piece % 23 + 1;
                        std::thread::sleep(Duration::from_millis(1 + (at % 3) as u64));
                    }
                    // One longer pause mid-stream, then the tail.
                    std::thread::sleep(Duration::from_millis(50));
                    w.write_all(b"tail").expect("write tail");
                });
                expect_echo(&mut s, &msg, &format!("client {c}, trickled message"));
                expect_echo(&mut s, b"tail", &format!("client {c}, tail"));
                writer.join().expect("writer");
                round_trip(&mut s, &pattern(5000, c), "whole message after pieces");
            })
        })
        .collect();
    for c in clients {
        c.join().expect("client");
    }
    still_serves(&mut server);
    stop_cleanly(server);
}

/// (d) Clients that vanish: half a message then a reset (SO_LINGER 0), half
/// a message then a plain close without reading the echo, floods that stall
/// the server's send and then reset or close, and connections reset before
/// sending anything. The server must shrug all of it off.
fn abrupt_disconnects(spec: &Spec) {
    let mut server = Server::start(spec);
    let addr = server.addr;
    let half = pattern(500, 1);
    for i in 0..10 {
        let mut s = connect(addr);
        s.write_all(&half).unwrap();
        if i % 2 == 0 {
            std::thread::sleep(Duration::from_millis(2));
        }
        reset(s);
    }
    for _ in 0..10 {
        let mut s = connect(addr);
        s.write_all(&half).unwrap();
        drop(s); // FIN; the echo then hits a closed socket (RST back)
    }
    // The server's send is stalled on these (we never read), then they go.
    let mut floods: Vec<TcpStream> = (0..4).map(|_| connect(addr)).collect();
    for s in &mut floods {
        let n = flood_without_reading(s, 64 << 20);
        assert!(n < 64 << 20, "the server's send never stalled");
    }
    std::thread::sleep(Duration::from_millis(100));
    server.assert_alive();
    for (i, s) in floods.into_iter().enumerate() {
        if i % 2 == 0 {
            reset(s);
        } else {
            drop(s); // unread data: the kernel resets it anyway
        }
    }
    for _ in 0..5 {
        reset(connect(addr));
    }
    std::thread::sleep(Duration::from_millis(200));
    still_serves(&mut server);
    // Shut down while one client stalls the server's send: the server must
    // still exit promptly and cleanly.
    let mut stalled = connect(addr);
    flood_without_reading(&mut stalled, 64 << 20);
    std::thread::sleep(Duration::from_millis(50));
    stop_cleanly(server);
    drop(stalled);
}

/// (e) Descriptor exhaustion: with RLIMIT_NOFILE 64, 100 clients connect
/// and each sends a message. The server accepts until EMFILE, says so once,
/// and keeps serving; once 70 clients leave, the 30 left (most of them
/// still in the listener's backlog) must all get their echo.
fn fd_exhaustion(spec: &Spec) {
    const CLIENTS: usize = 100;
    const LEAVING: usize = 70;
    let mut server = Server::start(&spec.clone().with_nofile(64));
    let mut conns: Vec<(Vec<u8>, TcpStream)> = (0..CLIENTS)
        .map(|i| {
            let mut s = connect(server.addr);
            let msg = pattern(100 + i, i as u32);
            s.write_all(&msg).unwrap();
            (msg, s)
        })
        .collect();
    server.wait_for_log("Too many open files", Duration::from_secs(10));
    server.assert_alive();
    let staying = conns.split_off(LEAVING);
    drop(conns);
    for (i, (msg, mut s)) in staying.into_iter().enumerate() {
        expect_echo(
            &mut s,
            &msg,
            &format!("client {} after EMFILE", LEAVING + i),
        );
    }
    still_serves(&mut server);
    let log = server.log();
    assert_eq!(
        log.matches("Too many open files").count(),
        1,
        "EMFILE must be logged once:\n{log}"
    );
    stop_cleanly(server);
}

/// The scenarios for one server configuration, as one test each.
macro_rules! server_tests {
    ($name:ident, $bin:expr, [$($arg:expr),*], uring: $uring:expr) => {
        mod $name {
            use super::*;

            fn spec() -> Option<Spec> {
                if $uring && !uring_available() {
                    return None;
                }
                Some(Spec::new($bin, &[$($arg),*]))
            }

            #[test]
            fn many_connections() {
                if let Some(s) = spec() {
                    super::many_connections(&s);
                }
            }

            #[test]
            fn large_messages() {
                if let Some(s) = spec() {
                    super::large_messages(&s);
                }
            }

            #[test]
            fn partial_messages() {
                if let Some(s) = spec() {
                    super::partial_messages(&s);
                }
            }

            #[test]
            fn abrupt_disconnects() {
                if let Some(s) = spec() {
                    super::abrupt_disconnects(&s);
                }
            }
        }
    };
}

server_tests!(epoll_1_thread, EPOLL, [], uring: false);
server_tests!(epoll_2_threads, EPOLL, ["--threads", "2"], uring: false);
server_tests!(proactor_threads, PROACTOR, ["--backend", "threads"], uring: false);
server_tests!(proactor_uring, PROACTOR, ["--backend", "uring"], uring: true);
server_tests!(proactor_threads_2_threads, PROACTOR, ["--backend", "threads", "--threads", "2"], uring: false);
server_tests!(proactor_uring_2_threads, PROACTOR, ["--backend", "uring", "--threads", "2"], uring: true);

#[test]
fn epoll_fd_exhaustion() {
    fd_exhaustion(&Spec::new(EPOLL, &[]));
}

#[test]
fn proactor_threads_fd_exhaustion() {
    fd_exhaustion(&Spec::new(PROACTOR, &["--backend", "threads"]));
}

#[test]
fn proactor_uring_fd_exhaustion() {
    if uring_available() {
        fd_exhaustion(&Spec::new(PROACTOR, &["--backend", "uring"]));
    }
}

#[test]
fn start_up_says_which_backend_and_where() {
    let server = Server::start(&Spec::new(
        PROACTOR,
        &["--backend", "threads", "--threads", "3"],
    ));
    let log = server.log();
    assert!(
        log.contains("FastIO backend: threads (backend = threads)"),
        "{log}"
    );
    assert!(
        log.contains(&format!("listening on {}", server.addr)),
        "{log}"
    );
    assert!(log.contains("3 application threads"), "{log}");
    let (status, log) = server.stop();
    assert!(status.success(), "{log}");
    assert_eq!(
        log.matches(": thread ").count(),
        3,
        "one stats line per thread:\n{log}"
    );
    assert!(log.contains("fastio stats: submitted"), "{log}");
}
