//! Shared by the integration tests: start a server on a free port (killed
//! when the guard drops), and a raw RESP client that returns each reply's
//! exact bytes (to compare error strings and encodings byte for byte).
#![allow(dead_code)]

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A TCP port of 127.0.0.1 that nothing uses now, never the same twice in
/// this test process.
///
/// The port is found by *binding* a socket to port 0 and closing it,
/// never by listening: a listening probe (`TcpListener::bind`) is a real
/// server on that port for a moment, and another test thread's probe can
/// land on the port just handed to a test whose server is still starting.
/// That test's readiness connect then succeeded against the probe, and its
/// first query was reset (or its next connect refused) when the probe
/// closed: the "connection refused/reset right after start" flake of the
/// threads-backend tests (whose servers start slowest), traced with strace
/// on 2026-11-30 (the server never saw those connections).
pub fn free_port() -> u16 {
    use socket2::{Domain, Socket, Type};
    static USED: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    loop {
        let s = Socket::new(Domain::IPV4, Type::STREAM, None).expect("a TCP socket");
        let any: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
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

pub fn uring_available() -> bool {
    let ok = fastio::backend::uring::probe().is_ok();
    if !ok {
        eprintln!("io_uring unavailable here: skipping a uring-backend test");
    }
    ok
}

/// A running server process; killed on drop (and its `--dir`, if it got
/// a scratch one from [`scratch_dir`], removed).
pub struct Server {
    pub child: Child,
    pub port: u16,
    pub dir: Option<std::path::PathBuf>,
}

/// Whether the server on the other end of `c` answers a PING (+PONG, or an
/// error such as NOAUTH where a password is set): ready means *our* server
/// is serving, not only that something accepted a connection on the port
/// (see [`free_port`] for what else did, once).
fn pong(c: &TcpStream) -> bool {
    let mut c = c;
    let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
    if c.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut line = Vec::new();
    let mut b = [0u8; 1];
    while !line.ends_with(b"\r\n") && line.len() < 512 {
        match c.read(&mut b) {
            Ok(1) => line.push(b[0]),
            _ => return false,
        }
    }
    // A server still loading its data answers -LOADING: not ready yet
    // (redis-server accepts connections while it loads an AOF).
    matches!(line.first(), Some(b'+' | b'-')) && !line.starts_with(b"-LOADING")
}

impl Drop for Server {
    fn drop(&mut self) {
        // A server that crashed (a signal other than the KILL and TERM
        // tests send) shows here even when the test failed on a reset or
        // refused connection instead.
        if let Ok(Some(status)) = self.child.try_wait() {
            use std::os::unix::process::ExitStatusExt;
            if status
                .signal()
                .is_some_and(|s| s != libc::SIGKILL && s != libc::SIGTERM)
            {
                eprintln!("test server on port {} crashed: {status}", self.port);
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(d) = &self.dir {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// A fresh empty directory for one server's files (dump.rdb, the AOF):
/// a server started in the crate folder would load what another test's
/// SAVE left there.
pub fn scratch_dir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let d = std::env::temp_dir().join(format!(
        "kvserver-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("creating a scratch dir");
    d
}

/// Debian's redis-server (7.0) on a free port, without persistence, on
/// loopback, DEBUG allowed from loopback as [`Server::kvserver`] does: the
/// reference the side-by-side tests compare with. Without it on PATH the
/// test fails (by design): the comparison is the test.
pub fn redis_server() -> Server {
    assert!(
        on_path("redis-server"),
        "redis-server is not on PATH: install the Debian package redis-server (CI does); \
         this test compares with it and cannot run without it"
    );
    Server::spawn("redis-server", |port| {
        [
            "--port",
            &port.to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
            "--bind",
            "127.0.0.1",
            "--enable-debug-command",
            "local",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    })
}

/// Waits until `f` is true, checking every 10 ms, 20 s at most (then
/// panics naming `what`): how a test waits on the server's state.
pub fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

impl Server {
    /// Starts `program` with the arguments `args(port)` on a free port and
    /// waits until it accepts. A port can be taken between `free_port` and
    /// the server's bind (by any socket of any test); the server then exits,
    /// and we try another port.
    pub fn spawn(program: &str, args: impl Fn(u16) -> Vec<String>) -> Server {
        for _ in 0..5 {
            let port = free_port();
            if let Some(s) = Server::try_spawn(program, &args(port), port) {
                return s;
            }
            eprintln!("{program} did not start on port {port}; trying another port");
        }
        panic!("{program} did not start on any of 5 ports");
    }

    fn try_spawn(program: &str, args: &[String], port: u16) -> Option<Server> {
        let child = Command::new(program)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {program}: {e}"));
        let mut s = Server {
            child,
            port,
            dir: None,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match TcpStream::connect(("127.0.0.1", port)) {
                // A connect to a port in the ephemeral range where nothing
                // listens yet can pick that same port as its own source and
                // connect to itself (TCP simultaneous open). That is not the
                // server: it even holds the port the server wants to bind.
                Ok(c) if c.local_addr().map(|a| a.port()).ok() != Some(port) && pong(&c) => {
                    return Some(s)
                }
                _ => {}
            }
            if let Ok(Some(_)) = s.child.try_wait() {
                return None;
            }
            assert!(
                Instant::now() < deadline,
                "{program} did not start listening"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// kvserver on a free port with `backend`, 2 I/O threads and a scratch
    /// `--dir` of its own.
    pub fn kvserver(backend: &str) -> Server {
        let dir = scratch_dir();
        let d = dir.to_string_lossy().to_string();
        let mut s = Server::spawn(env!("CARGO_BIN_EXE_kvserver"), |port| {
            [
                "--port",
                &port.to_string(),
                "--io-threads",
                "2",
                "--backend",
                backend,
                "--dir",
                &d,
                // DEBUG (SLEEP) from the tests' loopback connections, as
                // Redis's own test suite allows it.
                "--enable-debug-command",
                "local",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect()
        });
        s.dir = Some(dir);
        s
    }

    /// kvserver on `backend`, or None (said on stderr) when that backend
    /// cannot run here (io_uring unavailable).
    pub fn kvserver_if_available(backend: &str) -> Option<Server> {
        if backend == "uring" && !uring_available() {
            return None;
        }
        Some(Server::kvserver(backend))
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn raw(&self) -> Raw {
        Raw::connect(self.port)
    }
}

/// Whether `prog` is on PATH.
pub fn on_path(prog: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(prog).is_file()))
        .unwrap_or(false)
}

/// A raw connection: send commands, read back the exact reply bytes.
pub struct Raw {
    pub s: TcpStream,
    buf: Vec<u8>,
    /// Decode replies as RESP3 (after HELLO 3).
    pub resp3: bool,
}

pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut v = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        v.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        v.extend_from_slice(a);
        v.extend_from_slice(b"\r\n");
    }
    v
}

impl Raw {
    /// A client on a socket the caller made (its buffer sizes, say).
    pub fn from_stream(s: TcpStream) -> Raw {
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.set_nodelay(true).unwrap();
        Raw {
            s,
            buf: Vec::new(),
            resp3: false,
        }
    }

    pub fn connect(port: u16) -> Raw {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.set_nodelay(true).unwrap();
        Raw {
            s,
            buf: Vec::new(),
            resp3: false,
        }
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).expect("write");
    }

    /// One complete reply's bytes; None at EOF.
    pub fn read_reply(&mut self) -> Option<Vec<u8>> {
        self.try_read_reply()
            .unwrap_or_else(|e| panic!("read: {e}"))
    }

    /// As `read_reply`, with read errors (such as a reset) returned.
    pub fn try_read_reply(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        loop {
            let r = if self.resp3 {
                redis_protocol::resp3::decode::complete::decode(&self.buf)
                    .map(|o| o.map(|(_, n)| n))
            } else {
                redis_protocol::resp2::decode::decode(&self.buf).map(|o| o.map(|(_, n)| n))
            };
            if let Some(n) = r.expect("server sent malformed RESP") {
                return Ok(Some(self.buf.drain(..n).collect()));
            }
            let mut chunk = [0u8; 65536];
            let n = match self.s.read(&mut chunk) {
                Ok(n) => n,
                // A signal landed in this test process: just read again.
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                return Ok(None);
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    pub fn cmd(&mut self, args: &[&[u8]]) -> Vec<u8> {
        self.send_raw(&encode(args));
        self.read_reply().expect("connection closed")
    }

    /// `cmd` with string arguments, reply as a (lossy) string.
    pub fn q(&mut self, args: &[&str]) -> String {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        String::from_utf8_lossy(&self.cmd(&a)).into_owned()
    }
}

/// One `#[test]` per name and backend: `per_backend! { name => [f, g] }`
/// makes `threads::name` and `uring::name`, each starting its own kvserver
/// on that backend and running `f(&server)` then `g(&server)` (a uring test
/// returns early, saying so, where io_uring is unavailable).
#[macro_export]
macro_rules! per_backend {
    ($($test:ident => [$($f:ident),+ $(,)?]),+ $(,)?) => {
        $crate::per_backend!(@mod threads, "threads", $($test => [$($f),+]),+);
        $crate::per_backend!(@mod uring, "uring", $($test => [$($f),+]),+);
    };
    (@mod $module:ident, $backend:literal, $($test:ident => [$($f:ident),+]),+) => {
        mod $module {
            $(
                #[test]
                fn $test() {
                    let Some(s) = $crate::common::Server::kvserver_if_available($backend) else {
                        return;
                    };
                    $(super::$f(&s);)+
                }
            )+
        }
    };
}

/// Every key of databases 0..4 as a client sees it, to compare two servers
/// (kvserver and redis-server, or before and after a restart): type,
/// contents (order-free where the type is unordered; streams with their
/// metadata) and absolute deadline; `detailed` adds OBJECT ENCODING and a
/// stream's recorded first entry ID.
pub fn dataset(port: u16, detailed: bool) -> std::collections::BTreeMap<String, String> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
    let mut con = client.get_connection().unwrap();
    let mut out = std::collections::BTreeMap::new();
    for db in 0..4 {
        let _: () = redis::cmd("SELECT").arg(db).query(&mut con).unwrap();
        let keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(&mut con).unwrap();
        for k in keys {
            let q = |c: &str, con: &mut redis::Connection| -> Vec<Vec<u8>> {
                redis::cmd(c).arg(&k).query(con).unwrap()
            };
            let t: String = redis::cmd("TYPE").arg(&k).query(&mut con).unwrap();
            let enc: String = if detailed {
                redis::cmd("OBJECT")
                    .arg("ENCODING")
                    .arg(&k)
                    .query(&mut con)
                    .unwrap()
            } else {
                String::new()
            };
            let v = match t.as_str() {
                "string" => {
                    let v: Vec<u8> = redis::cmd("GET").arg(&k).query(&mut con).unwrap();
                    format!("{:?}", String::from_utf8_lossy(&v))
                }
                "list" => {
                    let v: Vec<Vec<u8>> = redis::cmd("LRANGE")
                        .arg(&k)
                        .arg(0)
                        .arg(-1)
                        .query(&mut con)
                        .unwrap();
                    format!("{v:?}")
                }
                "hash" => {
                    let v = q("HGETALL", &mut con);
                    let mut pairs: Vec<_> = v.chunks(2).map(|c| c.to_vec()).collect();
                    pairs.sort();
                    format!("{pairs:?}")
                }
                "set" => {
                    let mut v = q("SMEMBERS", &mut con);
                    v.sort();
                    format!("{v:?}")
                }
                "zset" => {
                    let v: Vec<Vec<u8>> = redis::cmd("ZRANGE")
                        .arg(&k)
                        .arg(0)
                        .arg(-1)
                        .arg("WITHSCORES")
                        .query(&mut con)
                        .unwrap();
                    format!("{v:?}")
                }
                "stream" => {
                    let v: redis::Value = redis::cmd("XRANGE")
                        .arg(&k)
                        .arg("-")
                        .arg("+")
                        .query(&mut con)
                        .unwrap();
                    let info: Vec<redis::Value> = redis::cmd("XINFO")
                        .arg("STREAM")
                        .arg(&k)
                        .query(&mut con)
                        .unwrap();
                    let mut meta = Vec::new();
                    for pair in info.chunks(2) {
                        if let redis::Value::BulkString(name) = &pair[0] {
                            let name = String::from_utf8_lossy(name).to_string();
                            if matches!(
                                name.as_str(),
                                "length"
                                    | "last-generated-id"
                                    | "max-deleted-entry-id"
                                    | "entries-added"
                            ) || (detailed && name == "recorded-first-entry-id")
                            {
                                meta.push(format!("{name}={:?}", pair[1]));
                            }
                        }
                    }
                    format!("{v:?} {meta:?}")
                }
                other => panic!("unexpected type {other}"),
            };
            let at: i64 = redis::cmd("PEXPIRETIME").arg(&k).query(&mut con).unwrap();
            out.insert(
                format!("{db}:{}", String::from_utf8_lossy(&k)),
                if detailed {
                    format!("{t} {enc} {v} expireat={at}")
                } else {
                    format!("{t} {v} expireat={at}")
                },
            );
        }
    }
    out
}

/// A fresh directory under the system temp dir for a test's server files
/// (`kv-<tag>-<pid>-<nanos>`), removed on drop.
pub struct TempDir(std::path::PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let p = std::env::temp_dir().join(format!("kv-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
    pub fn s(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Waits (up to `within`) for the server to exit; true if it exited
/// successfully.
pub fn wait_exit(s: &mut Server, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if let Some(st) = s.child.try_wait().unwrap() {
            return st.success();
        }
        assert!(Instant::now() < deadline, "the server did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// SIGTERM, then [`wait_exit`].
pub fn term(s: &mut Server, within: Duration) -> bool {
    // The test crates may use unsafe (the rule is for kvserver itself).
    let r = unsafe { libc::kill(s.child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(r, 0);
    wait_exit(s, within)
}
