//! Security and limits (issue 6 items 4 and 5): requirepass and AUTH in
//! every form, protected mode, rename-command, maxclients, protocol and
//! query buffer limits, client output buffer limits, idle timeout and
//! maxmemory with its eviction policies. Expected replies are redis-server
//! 7.0.15's, recorded byte for byte. Each test runs on the threads and
//! uring backends.

mod common;

use common::{Raw, Server};
use std::io::{Read, Write};
use std::net::{IpAddr, TcpStream};
use std::time::{Duration, Instant};

const BACKENDS: [&str; 2] = ["threads", "uring"];
const NOAUTH: &str = "-NOAUTH Authentication required.\r\n";
const WRONGPASS: &str = "-WRONGPASS invalid username-password pair or user is disabled.\r\n";
const OOM: &str = "-OOM command not allowed when used memory > 'maxmemory'.\r\n";

/// kvserver on `backend` with extra options (`--name value...`), or None
/// when the backend is unavailable here.
fn start(backend: &str, extra: &[&str]) -> Option<Server> {
    if backend == "uring" && !common::uring_available() {
        return None;
    }
    let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    Some(Server::spawn(env!("CARGO_BIN_EXE_kvserver"), |port| {
        let mut v: Vec<String> = [
            "--port",
            &port.to_string(),
            "--io-threads",
            "2",
            "--backend",
            backend,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.extend(extra.iter().cloned());
        v
    }))
}

/// Everything until EOF (or a reset, or `limit`): what a closed client got.
fn read_to_close(s: &mut TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    s.set_read_timeout(Some(limit)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (got, true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return (got, true),
            Err(_) => return (got, false),
        }
    }
}

#[test]
fn requirepass_and_auth() {
    for backend in BACKENDS {
        let Some(srv) = start(backend, &["--requirepass", "secret"]) else {
            continue;
        };
        let mut c = srv.raw();
        assert_eq!(c.q(&["PING"]), NOAUTH);
        assert_eq!(c.q(&["GET", "k"]), NOAUTH);
        assert_eq!(
            c.q(&["AUTH"]),
            "-ERR wrong number of arguments for 'auth' command\r\n"
        );
        assert_eq!(c.q(&["AUTH", "a", "b", "c"]), "-ERR syntax error\r\n");
        assert_eq!(c.q(&["AUTH", "wrong"]), WRONGPASS);
        assert_eq!(c.q(&["AUTH", "default", "wrong"]), WRONGPASS);
        assert_eq!(c.q(&["AUTH", "nobody", "secret"]), WRONGPASS);
        let hello_noauth = "-NOAUTH HELLO must be called with the client already \
            authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to \
            authenticate the client and select the RESP protocol version at the same time\r\n";
        assert_eq!(c.q(&["HELLO"]), hello_noauth);
        assert_eq!(c.q(&["HELLO", "3"]), hello_noauth);
        assert_eq!(c.q(&["HELLO", "3", "AUTH", "default", "wrong"]), WRONGPASS);
        assert_eq!(c.q(&["HELLO", "2", "AUTH", "x", "secret"]), WRONGPASS);
        // Unknown commands and arity errors come first, as in Redis.
        assert_eq!(
            c.q(&["NOSUCH", "x"]),
            "-ERR unknown command 'NOSUCH', with args beginning with: 'x' \r\n"
        );
        assert_eq!(c.q(&["MULTI"]), NOAUTH);
        assert_eq!(
            c.q(&["EXEC"]),
            "-EXECABORT Transaction discarded because of: NOAUTH Authentication required.\r\n"
        );
        assert_eq!(c.q(&["SUBSCRIBE", "x"]), NOAUTH);
        assert_eq!(c.q(&["RESET"]), "+RESET\r\n");
        // Inline commands too.
        c.send_raw(b"GET k\r\n");
        assert_eq!(c.read_reply().unwrap(), NOAUTH.as_bytes());
        c.send_raw(b"AUTH secret\r\n");
        assert_eq!(c.read_reply().unwrap(), b"+OK\r\n");
        assert_eq!(c.q(&["SET", "k", "v"]), "+OK\r\n");
        // A wrong AUTH does not log out; RESET does.
        assert_eq!(c.q(&["AUTH", "wrong"]), WRONGPASS);
        assert_eq!(c.q(&["GET", "k"]), "$1\r\nv\r\n");
        assert_eq!(c.q(&["RESET"]), "+RESET\r\n");
        assert_eq!(c.q(&["GET", "k"]), NOAUTH);
        assert_eq!(c.q(&["AUTH", "default", "secret"]), "+OK\r\n");
        assert_eq!(c.q(&["GET", "k"]), "$1\r\nv\r\n");
        c.q(&["QUIT"]);

        // HELLO AUTH authenticates and switches protocol in one go.
        let mut h = srv.raw();
        h.resp3 = true;
        let r = h.q(&["HELLO", "3", "AUTH", "default", "secret", "SETNAME", "me"]);
        assert!(r.starts_with("%7\r\n$6\r\nserver\r\n"), "{r}");
        assert_eq!(h.q(&["GET", "nosuch"]), "_\r\n");
        assert_eq!(h.q(&["CLIENT", "GETNAME"]), "$2\r\nme\r\n");

        // Until authenticated, Redis's small request limits apply.
        let mut u = srv.raw();
        u.send_raw(b"*11\r\n");
        let (got, closed) = read_to_close(&mut u.s, Duration::from_secs(5));
        assert_eq!(
            got,
            b"-ERR Protocol error: unauthenticated multibulk length\r\n"
        );
        assert!(closed);
        let mut u = srv.raw();
        u.send_raw(b"*2\r\n$3\r\nGET\r\n$20000\r\n");
        let (got, closed) = read_to_close(&mut u.s, Duration::from_secs(5));
        assert_eq!(got, b"-ERR Protocol error: unauthenticated bulk length\r\n");
        assert!(closed);

        // CONFIG SET requirepass: a new password does not log anyone out;
        // no password lets everyone in, and AUTH <password> then errs.
        assert_eq!(h.q(&["CONFIG", "SET", "requirepass", "p2"]), "+OK\r\n");
        assert_eq!(h.q(&["PING"]), "+PONG\r\n");
        let mut n = srv.raw();
        assert_eq!(n.q(&["AUTH", "secret"]), WRONGPASS);
        assert_eq!(n.q(&["AUTH", "p2"]), "+OK\r\n");
        assert_eq!(h.q(&["CONFIG", "SET", "requirepass", ""]), "+OK\r\n");
        let mut f = srv.raw();
        assert_eq!(f.q(&["GET", "k"]), "$1\r\nv\r\n");
        assert_eq!(
            f.q(&["AUTH", "x"]),
            "-ERR AUTH <password> called without any password configured for the default \
             user. Are you sure your configuration is correct?\r\n"
        );
        assert_eq!(f.q(&["AUTH", "default", "anything"]), "+OK\r\n");
        assert_eq!(f.q(&["AUTH", "nobody", "x"]), WRONGPASS);
        // The password stays out of the slow log.
        assert_eq!(
            f.q(&["CONFIG", "SET", "slowlog-log-slower-than", "0"]),
            "+OK\r\n"
        );
        f.q(&["AUTH", "default", "hunter2"]);
        let log = f.q(&["SLOWLOG", "GET", "100"]);
        assert!(!log.contains("hunter2"), "{log}");
    }
}

#[test]
fn requirepass_from_the_config_file_and_rename_command() {
    let dir = std::env::temp_dir().join(format!("kv-limits-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("kv.conf");
    std::fs::write(
        &conf,
        "requirepass \"s e c\"\nrename-command FLUSHALL \"\"\nrename-command CONFIG myconfig\n\
         rename-command DEBUG \"\"\nrename-command shutdown stop-it\n",
    )
    .unwrap();
    for backend in BACKENDS {
        let conf = conf.display().to_string();
        if backend == "uring" && !common::uring_available() {
            continue;
        }
        let srv = Server::spawn(env!("CARGO_BIN_EXE_kvserver"), |port| {
            vec![
                conf.clone(),
                "--port".into(),
                port.to_string(),
                "--backend".into(),
                backend.into(),
            ]
        });
        let mut c = srv.raw();
        assert_eq!(c.q(&["PING"]), NOAUTH);
        assert_eq!(c.q(&["AUTH", "s e c"]), "+OK\r\n");
        assert_eq!(
            c.q(&["FLUSHALL"]),
            "-ERR unknown command 'FLUSHALL', with args beginning with: \r\n"
        );
        assert_eq!(
            c.q(&["CONFIG", "GET", "port"]),
            "-ERR unknown command 'CONFIG', with args beginning with: 'GET' 'port' \r\n"
        );
        assert!(c
            .q(&["DEBUG", "SLEEP", "0"])
            .starts_with("-ERR unknown command 'DEBUG'"));
        assert_eq!(
            c.q(&["myconfig", "get", "requirepass"]),
            "*2\r\n$11\r\nrequirepass\r\n$5\r\ns e c\r\n"
        );
        // COMMAND INFO knows commands by their new names.
        let info = c.q(&["COMMAND", "INFO", "config", "myconfig"]);
        assert!(
            info.starts_with("*2\r\n*-1\r\n*10\r\n$6\r\nconfig\r\n"),
            "{info}"
        );
        // Renamed commands run under their new name.
        c.send_raw(&common::encode(&[b"stop-it", b"NOSAVE"]));
        let (got, closed) = read_to_close(&mut c.s, Duration::from_secs(10));
        assert!(got.is_empty() && closed);
    }
    let bad = dir.join("bad.conf");
    std::fs::write(&bad, "rename-command NOSUCH x\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kvserver"))
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.conf:1: No such command in rename-command"),
        "{err}"
    );
    std::fs::write(&bad, "rename-command get set\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kvserver"))
        .arg(&bad)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Target command name already exists"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// This machine's non-loopback IPv4 addresses (from /proc/net/fib_trie).
fn local_non_loopback() -> Option<IpAddr> {
    let t = std::fs::read_to_string("/proc/net/fib_trie").ok()?;
    let lines: Vec<&str> = t.lines().collect();
    for w in lines.windows(2) {
        if w[1].trim() == "/32 host LOCAL" {
            let ip: IpAddr = w[0].trim().trim_start_matches("|-- ").parse().ok()?;
            if !ip.is_loopback() {
                return Some(ip);
            }
        }
    }
    None
}

fn remote(ip: IpAddr, port: u16) -> Raw {
    let mut r = Raw::connect(port);
    r.s = TcpStream::connect((ip, port)).unwrap();
    r.s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    r
}

#[test]
fn protected_mode() {
    let Some(ip) = local_non_loopback() else {
        eprintln!("no non-loopback address here: protected mode is covered by unit tests");
        return;
    };
    for backend in BACKENDS {
        let Some(srv) = start(backend, &["--bind", "0.0.0.0"]) else {
            continue;
        };
        let mut s = TcpStream::connect((ip, srv.port)).unwrap();
        s.write_all(b"PING\r\n").unwrap();
        let (got, closed) = read_to_close(&mut s, Duration::from_secs(5));
        let got = String::from_utf8_lossy(&got);
        assert!(got.starts_with("-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user."), "{got}");
        assert!(got.ends_with(
            "in order for the server to start accepting connections from the outside.\r\n"
        ));
        assert!(closed);
        // Loopback is served; a password or protected-mode no lets the
        // remote client in.
        let mut c = srv.raw();
        assert_eq!(c.q(&["PING"]), "+PONG\r\n");
        assert_eq!(c.q(&["CONFIG", "SET", "protected-mode", "no"]), "+OK\r\n");
        let mut r = remote(ip, srv.port);
        assert_eq!(r.q(&["PING"]), "+PONG\r\n");
        assert_eq!(c.q(&["CONFIG", "SET", "protected-mode", "yes"]), "+OK\r\n");
        assert_eq!(c.q(&["CONFIG", "SET", "requirepass", "pw"]), "+OK\r\n");
        let mut r = remote(ip, srv.port);
        assert_eq!(r.q(&["PING"]), NOAUTH);
        assert_eq!(r.q(&["AUTH", "pw"]), "+OK\r\n");
    }
}

/// Local means exactly 127.0.0.1 (or ::1), as Redis compares it: a client
/// from 127.0.0.2 is denied (redis-server 7.0.15 denies it too), whatever
/// the bind address.
#[test]
fn protected_mode_local_is_127_0_0_1_only() {
    for backend in BACKENDS {
        let Some(srv) = start(backend, &["--bind", "0.0.0.0"]) else {
            continue;
        };
        let sock =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        let src: std::net::SocketAddr = "127.0.0.2:0".parse().unwrap();
        sock.bind(&src.into()).unwrap();
        let dst: std::net::SocketAddr = format!("127.0.0.1:{}", srv.port).parse().unwrap();
        sock.connect(&dst.into()).unwrap();
        let mut s: TcpStream = sock.into();
        s.write_all(b"PING\r\n").unwrap();
        let (got, closed) = read_to_close(&mut s, Duration::from_secs(5));
        assert!(
            got.starts_with(b"-DENIED Redis is running in protected mode"),
            "{}",
            String::from_utf8_lossy(&got)
        );
        assert!(closed);
        assert_eq!(srv.raw().q(&["PING"]), "+PONG\r\n");
    }
}

#[test]
fn maxclients_bulk_and_query_buffer_limits() {
    for backend in BACKENDS {
        let Some(srv) = start(
            backend,
            &["--maxclients", "3", "--client-query-buffer-limit", "1mb"],
        ) else {
            continue;
        };
        // Let the harness's readiness probe connection be noticed gone.
        std::thread::sleep(Duration::from_millis(300));
        let mut keep = srv.raw();
        assert_eq!(keep.q(&["SET", "k", "v"]), "+OK\r\n");
        let mut _b = srv.raw();
        assert_eq!(_b.q(&["PING"]), "+PONG\r\n");
        let mut _c = srv.raw();
        assert_eq!(_c.q(&["PING"]), "+PONG\r\n");
        let mut d = srv.raw();
        let (got, closed) = read_to_close(&mut d.s, Duration::from_secs(5));
        assert_eq!(got, b"-ERR max number of clients reached\r\n");
        assert!(closed);
        drop((_b, _c));
        std::thread::sleep(Duration::from_millis(200));
        // A bulk length past proto-max-bulk-len (or negative).
        for req in [&b"*1\r\n$2000000000\r\n"[..], b"*1\r\n$-5\r\n"] {
            let mut h = srv.raw();
            h.send_raw(req);
            let (got, closed) = read_to_close(&mut h.s, Duration::from_secs(5));
            assert_eq!(got, b"-ERR Protocol error: invalid bulk length\r\n");
            assert!(closed);
        }
        // proto-max-bulk-len can be lowered at run time.
        assert_eq!(
            keep.q(&["CONFIG", "SET", "proto-max-bulk-len", "1mb"]),
            "+OK\r\n"
        );
        let mut h = srv.raw();
        h.send_raw(b"*1\r\n$1048577\r\n");
        let (got, _) = read_to_close(&mut h.s, Duration::from_secs(5));
        assert_eq!(got, b"-ERR Protocol error: invalid bulk length\r\n");
        // It also bounds the strings APPEND, SETRANGE and SETBIT build
        // (redis-server 7.0.15's replies, recorded).
        let too_big = "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n";
        assert_eq!(keep.q(&["SETRANGE", "s", "1048575", "x"]), ":1048576\r\n");
        assert_eq!(keep.q(&["SETRANGE", "s", "1048576", "x"]), too_big);
        assert_eq!(keep.q(&["SETBIT", "s", "8388607", "1"]), ":0\r\n");
        assert_eq!(
            keep.q(&["SETBIT", "s", "8388608", "1"]),
            "-ERR bit offset is not an integer or out of range\r\n"
        );
        assert_eq!(
            keep.q(&["APPEND", "ap", &"x".repeat(600_000)]),
            ":600000\r\n"
        );
        assert_eq!(
            keep.q(&["APPEND", "ap", &"x".repeat(448_576)]),
            ":1048576\r\n"
        );
        assert_eq!(keep.q(&["APPEND", "ap", "x"]), too_big);
        assert_eq!(keep.q(&["DEL", "s", "ap"]), ":2\r\n");
        assert_eq!(
            keep.q(&["CONFIG", "SET", "proto-max-bulk-len", "512mb"]),
            "+OK\r\n"
        );
        // A query buffer past client-query-buffer-limit: closed, no reply.
        let mut h = srv.raw();
        let mut big = b"*2\r\n$3\r\nGET\r\n$3000000\r\n".to_vec();
        big.extend(std::iter::repeat_n(b'x', 1_500_000));
        let _ = h.s.write_all(&big);
        let (got, closed) = read_to_close(&mut h.s, Duration::from_secs(10));
        assert!(
            got.is_empty() && closed,
            "{}",
            String::from_utf8_lossy(&got)
        );
        // The server is unharmed.
        assert_eq!(keep.q(&["GET", "k"]), "$1\r\nv\r\n");
        let info = keep.q(&["INFO", "stats"]);
        assert!(info.contains("rejected_connections:1\r\n"), "{info}");
    }
}

#[test]
fn output_buffer_limits_and_idle_timeout() {
    for backend in BACKENDS {
        let Some(srv) = start(backend, &["--timeout", "1"]) else {
            continue;
        };
        let mut c = srv.raw();
        assert_eq!(
            c.q(&["CONFIG", "GET", "client-output-buffer-limit"]),
            "*2\r\n$26\r\nclient-output-buffer-limit\r\n$67\r\nnormal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60\r\n"
        );
        assert_eq!(
            c.q(&[
                "CONFIG",
                "SET",
                "client-output-buffer-limit",
                "normal 1mb 0 0 pubsub 2mb 1mb 0"
            ]),
            "+OK\r\n"
        );
        assert_eq!(
            c.q(&["CONFIG", "GET", "client-output-buffer-limit"]),
            "*2\r\n$26\r\nclient-output-buffer-limit\r\n$71\r\nnormal 1048576 0 0 slave 268435456 67108864 60 pubsub 2097152 1048576 0\r\n"
        );
        assert_eq!(
            c.q(&["CONFIG", "SET", "client-output-buffer-limit", "normal 1mb 0"]),
            "-ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Wrong number of arguments in buffer limit configuration.\r\n"
        );
        assert_eq!(
            c.q(&["CONFIG", "SET", "client-output-buffer-limit", "nobody 1mb 0 0"]),
            "-ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Invalid client class specified in buffer limit configuration.\r\n"
        );
        // A reply bigger than the normal hard limit closes the client.
        let big = "x".repeat(600_000);
        assert_eq!(c.q(&["SET", "big", &big]), "+OK\r\n");
        c.send_raw(&common::encode(&[b"MGET", b"big", b"big"]));
        let (got, closed) = read_to_close(&mut c.s, Duration::from_secs(5));
        assert!(closed && got.len() < 1_200_000);
        // A subscriber that does not read is dropped past 2 MB of pushes
        // while the publisher is served.
        let mut sub = srv.raw();
        sub.s
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        assert!(sub.q(&["SUBSCRIBE", "ch"]).starts_with("*3\r\n"));
        let mut p = srv.raw();
        let msg = "m".repeat(100_000);
        let mut gone = false;
        for _ in 0..500 {
            if p.q(&["PUBLISH", "ch", &msg]) == ":0\r\n" {
                gone = true;
                break;
            }
        }
        assert!(gone, "the subscriber was never disconnected");
        // Idle timeout 1 s: an idle client is closed within a few seconds;
        // a subscriber is not.
        let mut idle = srv.raw();
        assert_eq!(idle.q(&["PING"]), "+PONG\r\n");
        let mut sub2 = srv.raw();
        assert!(sub2.q(&["SUBSCRIBE", "ch2"]).starts_with("*3\r\n"));
        let t = Instant::now();
        let (got, closed) = read_to_close(&mut idle.s, Duration::from_secs(6));
        assert!(got.is_empty() && closed, "idle client not closed");
        assert!(
            t.elapsed() >= Duration::from_millis(900),
            "{:?}",
            t.elapsed()
        );
        let mut p = srv.raw();
        assert_eq!(p.q(&["PUBLISH", "ch2", "hi"]), ":1\r\n");
    }
}

/// A flood of 1 MB values from several clients at once (faster than the
/// 100 ms memory sample): eviction keeps the dataset within the limit,
/// because each write's size counts before it runs (redis-server 7.0.15
/// holds 49.8 MB under maxmemory 50mb in the same flood). The limit leaves
/// room for what is not data (the receive pools, the writers' input
/// buffers of a megabyte each): under 20mb a busy machine could leave
/// nothing to evict while a write still did not fit (OOM).
#[test]
fn maxmemory_holds_under_a_flood_of_big_values() {
    for backend in BACKENDS {
        let Some(srv) = start(
            backend,
            &["--maxmemory", "50mb", "--maxmemory-policy", "allkeys-lru"],
        ) else {
            continue;
        };
        let port = srv.port;
        std::thread::scope(|s| {
            for w in 0..4 {
                s.spawn(move || {
                    let mut c = Raw::connect(port);
                    let v = vec![b'x'; 1 << 20];
                    for i in 0..60 {
                        let k = format!("big:{w}:{i}");
                        let r = c.cmd(&[b"SET", k.as_bytes(), &v]);
                        assert_eq!(r, b"+OK\r\n");
                    }
                });
            }
        });
        let mut c = srv.raw();
        let keys = int_reply(&c.q(&["DBSIZE"])) as u64;
        assert!(
            keys > 0 && keys <= 52,
            "{keys} values of 1 MB under maxmemory 50mb"
        );
        // Writers on both I/O threads each check the limit against what
        // the others have stored, not what they are storing that very
        // moment: the dataset may overshoot by about one value per
        // concurrent writer (plus the input buffers holding them), never
        // more, and the next memory sample (every 100 ms) evicts back under
        // the limit. (redis-server, one thread, never overshoots.)
        let used = info_field(&mut c, "used_memory");
        assert!(
            used <= 60 << 20,
            "used_memory {used} with {keys} keys: {}",
            c.q(&["INFO", "memory"])
        );
        common::wait_until("used_memory back under the limit", || {
            info_field(&mut c, "used_memory") <= 52 << 20
        });
        assert!(info_field(&mut c, "evicted_keys") >= 240 - 52);
    }
}

fn fill(c: &mut Raw, prefix: &str, n: usize, size: usize, ex: bool) {
    let v = vec![b'v'; size];
    let mut pipe = Vec::new();
    for i in 0..n {
        let k = format!("{prefix}{i}");
        if ex {
            pipe.extend(common::encode(&[b"SET", k.as_bytes(), &v, b"EX", b"1000"]));
        } else {
            pipe.extend(common::encode(&[b"SET", k.as_bytes(), &v]));
        }
    }
    c.send_raw(&pipe);
    for _ in 0..n {
        c.read_reply().unwrap();
    }
}

fn info_field(c: &mut Raw, name: &str) -> u64 {
    let info = c.q(&["INFO", "all"]);
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in INFO"))
}

#[test]
fn maxmemory_and_eviction() {
    for backend in BACKENDS {
        let Some(srv) = start(backend, &[]) else {
            continue;
        };
        let mut c = srv.raw();
        fill(&mut c, "k", 10_000, 1000, false);
        let used = info_field(&mut c, "used_memory");
        assert!(used > 10_000_000, "{used}");
        // noeviction: denyoom commands refused, others served.
        let max = (used - 5_000_000).to_string();
        assert_eq!(c.q(&["CONFIG", "SET", "maxmemory", &max]), "+OK\r\n");
        std::thread::sleep(Duration::from_millis(400));
        assert_eq!(c.q(&["SET", "a", "b"]), OOM);
        assert_eq!(c.q(&["LPUSH", "l", "x"]), OOM);
        assert_eq!(c.q(&["GET", "a"]), "$-1\r\n");
        assert_eq!(c.q(&["DEL", "k1"]), ":1\r\n");
        assert_eq!(c.q(&["MULTI"]), "+OK\r\n");
        assert_eq!(c.q(&["GET", "k2"]), OOM);
        assert_eq!(
            c.q(&["EXEC"]),
            "-EXECABORT Transaction discarded because of previous errors.\r\n"
        );
        // allkeys-random evicts until the estimate is under maxmemory.
        assert_eq!(
            c.q(&["CONFIG", "SET", "maxmemory-policy", "allkeys-random"]),
            "+OK\r\n"
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            assert_eq!(c.q(&["SET", "a", "b"]), "+OK\r\n");
            std::thread::sleep(Duration::from_millis(150));
            if info_field(&mut c, "used_memory") <= used - 4_000_000 {
                break;
            }
            assert!(Instant::now() < deadline, "eviction did not free memory");
        }
        let evicted = info_field(&mut c, "evicted_keys");
        assert!(evicted >= 1000, "{evicted}");
        // volatile-ttl: only keys with a deadline go; with none left,
        // denyoom commands are refused again.
        assert_eq!(c.q(&["FLUSHALL"]), "+OK\r\n");
        assert_eq!(c.q(&["CONFIG", "SET", "maxmemory", "0"]), "+OK\r\n");
        fill(&mut c, "p", 6_000, 1000, false);
        fill(&mut c, "e", 6_000, 1000, true);
        let used = {
            std::thread::sleep(Duration::from_millis(200));
            info_field(&mut c, "used_memory")
        };
        assert_eq!(
            c.q(&["CONFIG", "SET", "maxmemory-policy", "volatile-ttl"]),
            "+OK\r\n"
        );
        let max = (used - 3_000_000).to_string();
        assert_eq!(c.q(&["CONFIG", "SET", "maxmemory", &max]), "+OK\r\n");
        std::thread::sleep(Duration::from_millis(300));
        let deadline = Instant::now() + Duration::from_secs(20);
        for round in 0.. {
            let r = c.q(&["SET", "x", "y"]);
            if r == OOM {
                break;
            }
            assert_eq!(r, "+OK\r\n");
            // Take more memory than eviction can give back: new keys
            // without a deadline each round, so the memory really grows
            // (rewriting the same keys only moved the write estimate
            // between two samples, and whether it crossed the line
            // depended on the machine's speed).
            fill(&mut c, &format!("q{round}-"), 300, 1000, false);
            let _ = c.q(&["DEL", "x"]);
            assert!(Instant::now() < deadline, "never refused");
        }
        assert_eq!(c.q(&["EXISTS", "p0", "p5999"]), ":2\r\n");
        let dbsize: usize = c.q(&["DBSIZE"])[1..].trim().parse().unwrap();
        assert!(dbsize >= 6_000, "{dbsize}");
        // allkeys-lru evicts as well.
        assert_eq!(
            c.q(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"]),
            "+OK\r\n"
        );
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(c.q(&["SET", "x", "y"]), "+OK\r\n");
        assert_eq!(c.q(&["CONFIG", "SET", "maxmemory", "0"]), "+OK\r\n");
    }
}

const NO_LFU: &str = "-ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n";
const LFU_NO_IDLE: &str = "-ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n";

fn int_reply(r: &str) -> i64 {
    r.strip_prefix(':')
        .and_then(|v| v.trim_end().parse().ok())
        .unwrap_or_else(|| panic!("not an integer: {r:?}"))
}

/// OBJECT FREQ / IDLETIME under every policy, lfu-log-factor and
/// lfu-decay-time, the counter through reads, writes, TOUCH and RESTORE
/// FREQ, and policy switches at runtime. Replies as redis-server 7.0's
/// (the counter's values are deterministic: a new key starts at 5, its
/// first access always counts, and with lfu-log-factor 0 every one does).
#[test]
fn object_freq_and_lfu_counter() {
    for backend in BACKENDS {
        let Some(srv) = start(backend, &[]) else {
            continue;
        };
        let mut c = srv.raw();
        for policy in [
            "noeviction",
            "allkeys-lru",
            "volatile-lru",
            "allkeys-random",
            "volatile-random",
            "volatile-ttl",
            "allkeys-lfu",
            "volatile-lfu",
        ] {
            assert_eq!(
                c.q(&["CONFIG", "SET", "maxmemory-policy", policy]),
                "+OK\r\n"
            );
            let _ = c.q(&["DEL", "fk"]);
            assert_eq!(c.q(&["SET", "fk", "hello"]), "+OK\r\n");
            if policy.ends_with("lfu") {
                assert_eq!(c.q(&["OBJECT", "FREQ", "fk"]), ":5\r\n", "{policy}");
                assert_eq!(c.q(&["GET", "fk"]), "$5\r\nhello\r\n");
                assert_eq!(c.q(&["OBJECT", "FREQ", "fk"]), ":6\r\n", "{policy}");
                assert_eq!(c.q(&["OBJECT", "IDLETIME", "fk"]), LFU_NO_IDLE);
            } else {
                assert_eq!(c.q(&["OBJECT", "FREQ", "fk"]), NO_LFU, "{policy}");
                assert_eq!(c.q(&["GET", "fk"]), "$5\r\nhello\r\n");
                assert_eq!(c.q(&["OBJECT", "FREQ", "fk"]), NO_LFU, "{policy}");
                let idle = c.q(&["OBJECT", "IDLETIME", "fk"]);
                assert!(idle == ":0\r\n" || idle == ":1\r\n", "{policy} {idle:?}");
            }
            // A missing key answers null before the policy check.
            assert_eq!(c.q(&["OBJECT", "FREQ", "nokey"]), "$-1\r\n");
            assert_eq!(c.q(&["OBJECT", "IDLETIME", "nokey"]), "$-1\r\n");
        }
        assert_eq!(
            c.q(&["CONFIG", "GET", "lfu-log-factor"]),
            "*2\r\n$14\r\nlfu-log-factor\r\n$2\r\n10\r\n"
        );
        assert_eq!(
            c.q(&["CONFIG", "GET", "lfu-decay-time"]),
            "*2\r\n$14\r\nlfu-decay-time\r\n$1\r\n1\r\n"
        );
        assert_eq!(
            c.q(&["CONFIG", "SET", "lfu-log-factor", "-1"]),
            "-ERR CONFIG SET failed (possibly related to argument 'lfu-log-factor') - argument must be between 0 and 2147483647 inclusive\r\n"
        );
        assert_eq!(
            c.q(&["CONFIG", "SET", "lfu-decay-time", "2147483648"]),
            "-ERR CONFIG SET failed (possibly related to argument 'lfu-decay-time') - argument must be between 0 and 2147483647 inclusive\r\n"
        );
        // Factor 0: every access counts. Reads, overwrites (the write's
        // lookup counts, the counter is kept), TOUCH; not TYPE, EXISTS or
        // OBJECT.
        assert_eq!(
            c.q(&[
                "CONFIG",
                "SET",
                "maxmemory-policy",
                "allkeys-lfu",
                "lfu-log-factor",
                "0"
            ]),
            "+OK\r\n"
        );
        let _ = c.q(&["DEL", "fk"]);
        assert_eq!(c.q(&["SET", "fk", "hello"]), "+OK\r\n");
        let mut pipe = Vec::new();
        for _ in 0..20 {
            pipe.extend(common::encode(&[b"GET", b"fk"]));
        }
        c.send_raw(&pipe);
        for _ in 0..20 {
            c.read_reply().unwrap();
        }
        assert_eq!(c.q(&["OBJECT", "FREQ", "fk"]), ":25\r\n");
        assert_eq!(c.q(&["SET", "fk", "other"]), "+OK\r\n");
        assert_eq!(c.q(&["OBJECT", "FREQ", "fk"]), ":26\r\n");
        assert_eq!(c.q(&["APPEND", "fk", "x"]), ":6\r\n");
        assert_eq!(c.q(&["OBJECT", "FREQ", "fk"]), ":27\r\n");
        assert_eq!(c.q(&["TOUCH", "fk", "nokey"]), ":1\r\n");
        assert_eq!(c.q(&["OBJECT", "FREQ", "fk"]), ":28\r\n");
        assert_eq!(c.q(&["TYPE", "fk"]), "+string\r\n");
        assert_eq!(c.q(&["EXISTS", "fk"]), ":1\r\n");
        assert_eq!(c.q(&["OBJECT", "ENCODING", "fk"]), "$6\r\nembstr\r\n");
        assert_eq!(c.q(&["OBJECT", "FREQ", "fk"]), ":28\r\n");
        // RESTORE FREQ applies under LFU, IDLETIME under LRU (only).
        let dump = c.cmd(&[b"DUMP", b"fk"]);
        let payload = &dump[dump.iter().position(|&b| b == b'\n').unwrap() + 1..dump.len() - 2];
        let restore = |c: &mut Raw, key: &[u8], opt: &[u8], n: &[u8]| {
            assert_eq!(c.cmd(&[b"RESTORE", key, b"0", payload, opt, n]), b"+OK\r\n");
        };
        restore(&mut c, b"rk", b"FREQ", b"100");
        assert_eq!(c.q(&["OBJECT", "FREQ", "rk"]), ":100\r\n");
        restore(&mut c, b"rk2", b"IDLETIME", b"100");
        assert_eq!(c.q(&["OBJECT", "FREQ", "rk2"]), ":5\r\n");
        assert_eq!(
            c.q(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"]),
            "+OK\r\n"
        );
        restore(&mut c, b"rk3", b"IDLETIME", b"1000");
        let idle = int_reply(&c.q(&["OBJECT", "IDLETIME", "rk3"]));
        assert!((1000..=1001).contains(&idle), "{idle}");
        restore(&mut c, b"rk4", b"FREQ", b"7");
        assert!(int_reply(&c.q(&["OBJECT", "IDLETIME", "rk4"])) <= 1);
        // Switching at runtime reinterprets the field (values take time
        // to adjust, as in Redis) and never fails.
        assert_eq!(c.q(&["SET", "sw", "hello"]), "+OK\r\n");
        assert_eq!(
            c.q(&["CONFIG", "SET", "maxmemory-policy", "volatile-lfu"]),
            "+OK\r\n"
        );
        for _ in 0..2 {
            let f = int_reply(&c.q(&["OBJECT", "FREQ", "sw"]));
            assert!((0..=255).contains(&f), "{f}");
            assert_eq!(c.q(&["GET", "sw"]), "$5\r\nhello\r\n");
        }
        assert_eq!(
            c.q(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"]),
            "+OK\r\n"
        );
        assert!(int_reply(&c.q(&["OBJECT", "IDLETIME", "sw"])) >= 0);
        assert_eq!(c.q(&["GET", "sw"]), "$5\r\nhello\r\n");
        assert!(int_reply(&c.q(&["OBJECT", "IDLETIME", "sw"])) <= 1);
        assert_eq!(
            c.q(&[
                "CONFIG",
                "SET",
                "maxmemory-policy",
                "noeviction",
                "lfu-log-factor",
                "10"
            ]),
            "+OK\r\n"
        );
    }
}

/// allkeys-lfu keeps the keys that are read and evicts the ones never
/// read, though these are the most recently written (so LRU would do the
/// opposite): every read key's counter is above a never-read key's (a new
/// key starts at 5 and its first access always counts), so a read key goes
/// only when all of a sample are read keys. lfu-decay-time 10 keeps a
/// minute boundary during the test from decaying the read keys' counters
/// (decay itself: the unit tests in evict.rs).
#[test]
fn allkeys_lfu_evicts_the_never_read_keys() {
    for backend in BACKENDS {
        let Some(srv) = start(backend, &[]) else {
            continue;
        };
        let mut c = srv.raw();
        assert_eq!(
            c.q(&[
                "CONFIG",
                "SET",
                "maxmemory-policy",
                "allkeys-lfu",
                "lfu-decay-time",
                "10"
            ]),
            "+OK\r\n"
        );
        let (cold, hot) = (8_000, 2_000);
        fill(&mut c, "hot", hot, 1000, false);
        let mut pipe = Vec::new();
        for round in 0..3 {
            for i in 0..hot {
                let k = format!("hot{}", (i * 7 + round) % hot);
                pipe.extend(common::encode(&[b"GET", k.as_bytes()]));
            }
        }
        c.send_raw(&pipe);
        for _ in 0..3 * hot {
            c.read_reply().unwrap();
        }
        fill(&mut c, "cold", cold, 1000, false);
        std::thread::sleep(Duration::from_millis(300));
        let used = info_field(&mut c, "used_memory");
        let max = (used - 4_000_000).to_string();
        assert_eq!(c.q(&["CONFIG", "SET", "maxmemory", &max]), "+OK\r\n");
        std::thread::sleep(Duration::from_millis(300));
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            assert_eq!(c.q(&["SET", "a", "b"]), "+OK\r\n");
            std::thread::sleep(Duration::from_millis(150));
            if info_field(&mut c, "used_memory") <= used - 3_000_000 {
                break;
            }
            assert!(Instant::now() < deadline, "eviction did not free memory");
        }
        assert_eq!(c.q(&["CONFIG", "SET", "maxmemory", "0"]), "+OK\r\n");
        let count = |c: &mut Raw, prefix: &str, n: usize| -> usize {
            let mut args = vec!["EXISTS".to_string()];
            args.extend((0..n).map(|i| format!("{prefix}{i}")));
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            int_reply(&c.q(&args)) as usize
        };
        let (cold_left, hot_left) = (count(&mut c, "cold", cold), count(&mut c, "hot", hot));
        let evicted = info_field(&mut c, "evicted_keys") as usize;
        eprintln!(
            "{backend}: evicted {evicted}, read keys left {hot_left}, never-read {cold_left}"
        );
        assert!(evicted >= 2_000, "{evicted}");
        // With 5 samples a read key goes only when all 5 are read keys:
        // (1/3)^5 < 1% once 4,000 never-read keys are gone, more as the
        // never-read ones run out (how far eviction goes depends on what
        // else holds memory on a busy machine). Random eviction would take
        // both kinds alike: the read keys must go at a fraction of the rate.
        let hot_gone = (hot - hot_left) as f64 / hot as f64;
        let cold_gone = (cold - cold_left) as f64 / cold as f64;
        assert!(
            hot_gone * 5.0 <= cold_gone,
            "{backend}: read keys left {hot_left}/{hot}, never-read {cold_left}/{cold}"
        );
        assert!(
            cold_left + evicted * 9 / 10 <= cold + 1,
            "{backend}: never-read keys left {cold_left}, evicted {evicted}"
        );
    }
}

/// A notification storm: 1000 clients subscribe to every keyspace event
/// and never read (small receive buffers), while a writer floods. The
/// writer is served throughout (every write acknowledged, in order), the
/// server's memory stays bounded (what does not fit in a subscriber's
/// socket waits in its output buffer, cut at the pub/sub class's limit:
/// `output_buffer_limits` tests the cut itself), and when the subscribers
/// go, everything they held goes with them.
#[test]
fn notification_storm_keeps_memory_bounded() {
    const SUBSCRIBERS: usize = 1000;
    let opts = [
        "--notify-keyspace-events",
        "KEA",
        "--client-output-buffer-limit",
        "pubsub",
        "64kb",
        "32kb",
        "1",
        "--maxclients",
        "2000",
    ];
    let Some(srv) = start("uring", &opts).or_else(|| start("threads", &opts)) else {
        return;
    };
    let mut admin = srv.raw();
    let before = info_field(&mut admin, "used_memory");
    // Small receive buffers: a subscriber that does not read holds little
    // in its own socket.
    let port = srv.port;
    let small = move || {
        let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
            .expect("socket");
        sock.set_recv_buffer_size(4096).expect("SO_RCVBUF");
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        sock.connect(&addr.into()).expect("connect");
        Raw::from_stream(sock.into())
    };
    let mut subs: Vec<Raw> = (0..SUBSCRIBERS)
        .map(|_| {
            let mut s = small();
            s.send_raw(&common::encode(&[b"PSUBSCRIBE", b"__keyevent@0__:*"]));
            s
        })
        .collect();
    for s in subs.iter_mut() {
        assert!(s
            .read_reply()
            .unwrap()
            .starts_with(b"*3\r\n$10\r\npsubscribe"));
    }
    assert_eq!(info_field(&mut admin, "pubsub_patterns"), 1);
    // The flood, in pipelined batches: 10,000 writes, each an event for
    // each of the 1000 subscribers (about 900 KB per subscriber).
    let mut w = srv.raw();
    let value = vec![b'v'; 100];
    for batch in 0..40 {
        let mut req = Vec::new();
        for i in 0..250 {
            let key = format!("k{}", batch * 250 + i);
            req.extend(common::encode(&[b"SET", key.as_bytes(), &value]));
        }
        w.send_raw(&req);
        for _ in 0..250 {
            assert_eq!(w.read_reply().unwrap(), b"+OK\r\n");
        }
    }
    assert_eq!(int_reply(&admin.q(&["DBSIZE"])), 10_000);
    let during = info_field(&mut admin, "used_memory");
    // At most the limit per subscriber (64 MB for 1000) plus the data.
    assert!(
        during < before + (80 << 20),
        "used_memory {before} before the storm, {during} with 1000 stalled subscribers"
    );
    drop(subs);
    common::wait_until("the subscribers to go", || {
        info_field(&mut admin, "connected_clients") == 2
    });
    assert_eq!(info_field(&mut admin, "pubsub_patterns"), 0);
    let after = info_field(&mut admin, "used_memory");
    assert!(
        after < before + (16 << 20),
        "used_memory {before} before the storm, {after} after the subscribers left"
    );
}
