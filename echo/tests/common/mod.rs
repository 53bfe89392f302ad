//! Test harness for the echo servers: starts a built server binary on a free
//! port, captures its stderr (start-up line, warnings, exit statistics), and
//! always kills it at the end, even when the test fails.
//!
//! Ports come from binding 127.0.0.1:0 and are handed to the server with
//! `--port`. The servers listen with SO_REUSEPORT, so two of them *could*
//! share a port instead of the second failing; a process-wide registry makes
//! sure no two servers of this test binary are given the same port, and a
//! server that fails to start (port taken meanwhile) is retried on another.
#![allow(dead_code)]

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a client waits for any single read or write before the test
/// fails (instead of hanging).
pub const IO_TIMEOUT: Duration = Duration::from_secs(20);

/// Which server to run, with which arguments.
#[derive(Clone, Debug)]
pub struct Spec {
    pub bin: &'static str,
    pub args: Vec<String>,
    /// RLIMIT_NOFILE for the server process, to provoke EMFILE.
    pub nofile: Option<u64>,
}

impl Spec {
    pub fn new(bin: &'static str, args: &[&str]) -> Spec {
        Spec {
            bin,
            args: args.iter().map(|s| s.to_string()).collect(),
            nofile: None,
        }
    }

    pub fn with_nofile(mut self, n: u64) -> Spec {
        self.nofile = Some(n);
        self
    }
}

/// Whether io_uring works here (the uring backend's tests are skipped, with
/// a message, where it does not).
pub fn uring_available() -> bool {
    let ok = fastio::backend::uring::probe().is_ok();
    if !ok {
        eprintln!("io_uring unavailable here: skipping a uring-backend test");
    }
    ok
}

/// A free port, found by binding (never listening: a listening probe is
/// a server on that port for a moment, which another test's client could
/// reach instead of its own server; see kvserver/tests/common/mod.rs).
fn free_port() -> u16 {
    use socket2::{Domain, Socket, Type};
    static USED: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    loop {
        let s = Socket::new(Domain::IPV4, Type::STREAM, None).expect("a TCP socket");
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        s.bind(&any.into()).expect("bind 127.0.0.1:0");
        let port = s
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket())
            .expect("local_addr")
            .port();
        let mut used = USED.lock().unwrap_or_else(|e| e.into_inner());
        if used.get_or_insert_with(HashSet::new).insert(port) {
            return port;
        }
    }
}

/// A running server. Dropping it kills the process (and prints its log if
/// the test is failing).
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    log: Arc<Mutex<String>>,
    reader: Option<JoinHandle<()>>,
    name: String,
}

impl Server {
    /// Starts `spec` and waits until it says it listens (10 s at most per
    /// attempt; up to 5 attempts on different ports).
    pub fn start(spec: &Spec) -> Server {
        for attempt in 1..=5 {
            let port = free_port();
            let mut cmd = Command::new(spec.bin);
            cmd.args(&spec.args)
                .arg("--port")
                .arg(port.to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            if let Some(n) = spec.nofile {
                let lim = libc::rlimit {
                    rlim_cur: n,
                    rlim_max: n,
                };
                // SAFETY: the closure runs in the forked child before exec and
                // only calls setrlimit, which is async-signal-safe, on a
                // struct it owns.
                unsafe {
                    cmd.pre_exec(move || {
                        if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                            return Err(std::io::Error::last_os_error());
                        }
                        Ok(())
                    });
                }
            }
            let mut child = cmd
                .spawn()
                .unwrap_or_else(|e| panic!("spawn {}: {e}", spec.bin));
            let log = Arc::new(Mutex::new(String::new()));
            let stderr = child.stderr.take().expect("piped stderr");
            let sink = log.clone();
            let reader = std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    let mut l = sink.lock().unwrap_or_else(|e| e.into_inner());
                    l.push_str(&line);
                    l.push('\n');
                }
            });
            let name = format!(
                "{} {}",
                spec.bin.rsplit('/').next().unwrap_or(""),
                spec.args.join(" ")
            );
            let mut server = Server {
                child,
                addr: SocketAddr::from(([127, 0, 0, 1], port)),
                log,
                reader: Some(reader),
                name,
            };
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if server.log().contains("listening on") {
                    return server;
                }
                if let Ok(Some(status)) = server.child.try_wait() {
                    eprintln!(
                        "attempt {attempt}: {} exited at start-up ({status}) on port {port}:\n{}",
                        server.name,
                        server.log()
                    );
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "{} did not start within 10 s:\n{}",
                    server.name,
                    server.log()
                );
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        panic!("{} failed to start 5 times", spec.bin);
    }

    /// Everything the server wrote to stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Panics (with the log) if the server has exited.
    pub fn assert_alive(&mut self) {
        let st = self.child.try_wait().expect("try_wait");
        assert!(st.is_none(), "{} exited: {st:?}\n{}", self.name, self.log());
    }

    /// Waits until the log contains `needle` (or panics after `within`).
    pub fn wait_for_log(&self, needle: &str, within: Duration) {
        let deadline = Instant::now() + within;
        while !self.log().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "'{needle}' not logged within {within:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends SIGTERM and waits (10 s at most) for a clean exit. Returns the
    /// exit status and the complete log.
    pub fn stop(mut self) -> (ExitStatus, String) {
        // SAFETY: kill(2) on our own child's pid, which has not been reaped
        // yet (so the pid cannot have been reused).
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                break st;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not exit within 10 s of SIGTERM:\n{}",
                self.name,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        if let Some(r) = self.reader.take() {
            let _ = r.join(); // the pipe closed with the process
        }
        (status, self.log())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        if std::thread::panicking() {
            eprintln!("--- log of {} ---\n{}", self.name, self.log());
        }
    }
}

/// Deterministic payload: different for every (length, seed).
pub fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(len as u32) | 1;
    (0..len)
        .map(|_| {
            // xorshift32: cheap even in a debug build, and not periodic at
            // any small length, so a misplaced chunk cannot go unnoticed.
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// A client connection with timeouts, so a broken server fails the test
/// instead of hanging it.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    s.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    s.set_nodelay(true).unwrap();
    s
}

/// Reads exactly `msg.len()` bytes and checks they are `msg`.
pub fn expect_echo(s: &mut TcpStream, msg: &[u8], what: &str) {
    let mut got = vec![0; msg.len()];
    s.read_exact(&mut got)
        .unwrap_or_else(|e| panic!("{what}: reading the echo of {} bytes: {e}", msg.len()));
    if got != msg {
        let at = got.iter().zip(msg).position(|(a, b)| a != b).unwrap_or(0);
        panic!("{what}: echo of {} bytes differs from byte {at}", msg.len());
    }
}

/// Writes `msg` from another thread while this one reads the echo, so
/// messages bigger than the socket buffers cannot deadlock.
pub fn echo_concurrently(s: &mut TcpStream, msg: Arc<Vec<u8>>, what: &str) {
    let mut w = s.try_clone().unwrap();
    let m = msg.clone();
    let writer = std::thread::spawn(move || w.write_all(&m));
    expect_echo(s, &msg, what);
    writer.join().unwrap().unwrap();
}

/// One message written in one go and its echo checked.
pub fn round_trip(s: &mut TcpStream, msg: &[u8], what: &str) {
    s.write_all(msg)
        .unwrap_or_else(|e| panic!("{what}: write: {e}"));
    expect_echo(s, msg, what);
}

/// Closes with SO_LINGER 0: the peer gets a RST instead of a FIN.
pub fn reset(s: TcpStream) {
    let lg = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt reads one live `linger` struct of the given size.
    let r = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&lg as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(r, 0, "SO_LINGER: {}", std::io::Error::last_os_error());
    drop(s);
}

/// Writes without reading until the socket takes no more (the server's echo
/// is then stalled on our full receive buffer) or `max` bytes are out.
pub fn flood_without_reading(s: &mut TcpStream, max: usize) -> usize {
    // A small receive buffer (which also turns off autotuning) makes the
    // server's send stall after little data instead of after megabytes.
    let small: libc::c_int = 4096;
    // SAFETY: setsockopt reads one live c_int of the given size.
    let r = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&small as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(r, 0, "SO_RCVBUF: {}", std::io::Error::last_os_error());
    s.set_nonblocking(true).unwrap();
    let chunk = pattern(64 * 1024, 99);
    let mut sent = 0;
    let deadline = Instant::now() + Duration::from_secs(5);
    while sent < max && Instant::now() < deadline {
        match s.write(&chunk[..chunk.len().min(max - sent)]) {
            Ok(n) => sent += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                // Give the server a moment to read more (and stall on us).
                std::thread::sleep(Duration::from_millis(20));
                match s.write(&chunk[..1]) {
                    Ok(n) => sent += n,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) => panic!("flood: {e}"),
                }
            }
            Err(e) => panic!("flood: {e}"),
        }
    }
    sent
}

/// The total connection count from the exit statistics line.
pub fn total_connections(log: &str) -> u64 {
    let line = log
        .lines()
        .find(|l| l.contains("total: "))
        .unwrap_or_else(|| panic!("no total line in:\n{log}"));
    let after = line.split("total: ").nth(1).unwrap();
    after
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("bad total line: {line}"))
}
