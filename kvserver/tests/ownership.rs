//! Shard ownership (dispatch.rs, issue 5 item 1): a command whose keys all
//! lie in shards of one I/O thread runs on that thread, forwarded from its
//! connection's thread. What a client must not notice: its replies come in
//! order, its commands take effect in order (for other clients too), its
//! connection state (database, protocol, name) applies where the command
//! runs. Each test runs on the threads and uring backends, with 4 I/O
//! threads so that most keys are owned by another thread than the
//! connection's.

mod common;

use common::{encode, Raw, Server};
use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

const BACKENDS: [&str; 2] = ["threads", "uring"];

fn start(backend: &str, dispatch: &str) -> Option<Server> {
    start_with(
        backend,
        &["--io-threads", "4", "--shard-dispatch", dispatch],
    )
}

fn start_with(backend: &str, extra: &[&str]) -> Option<Server> {
    if backend == "uring" && !common::uring_available() {
        return None;
    }
    Some(Server::spawn(env!("CARGO_BIN_EXE_kvserver"), |port| {
        let mut v: Vec<String> = ["--port", &port.to_string(), "--backend", backend]
            .iter()
            .map(|s| s.to_string())
            .collect();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    }))
}

fn forwarded(s: &Server) -> u64 {
    let info = s.raw().q(&["INFO", "stats"]);
    info.lines()
        .find_map(|l| l.strip_prefix("forwarded_commands:"))
        .unwrap_or_else(|| panic!("no forwarded_commands in INFO stats: {info}"))
        .trim()
        .parse()
        .unwrap()
}

fn bulk(v: &str) -> String {
    format!("${}\r\n{v}\r\n", v.len())
}

/// A small xorshift: the same command sequence on every run.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// One client's pipeline of `n` random commands on its own keys (single-
/// key ones, MSET/DEL over several keys, keyless ones), sent in one write,
/// with the replies a model of Redis (its keys' values, updated) predicts.
fn pipeline(
    model: &mut HashMap<String, String>,
    client: usize,
    n: usize,
    seed: u64,
) -> (Vec<u8>, Vec<String>) {
    let mut rng = Rng(seed | 1);
    let mut wire = Vec::new();
    let mut want = Vec::new();
    for i in 0..n {
        let k = format!("c{client}:k{}", rng.below(24));
        let k2 = format!("c{client}:k{}", rng.below(24));
        let mut push = |args: &[&str], reply: String| {
            let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
            wire.extend_from_slice(&encode(&a));
            want.push(reply);
        };
        match rng.below(8) {
            0 => {
                let v = format!("v{i}");
                model.insert(k.clone(), v.clone());
                push(&["SET", &k, &v], "+OK\r\n".into());
            }
            1 => {
                let r = model.get(&k).map_or("$-1\r\n".to_string(), |v| bulk(v));
                push(&["GET", &k], r);
            }
            2 => match model.get(&k).map(|v| v.parse::<i64>()) {
                None | Some(Ok(_)) => {
                    let n = model.get(&k).map_or(0, |v| v.parse::<i64>().unwrap()) + 1;
                    model.insert(k.clone(), n.to_string());
                    push(&["INCR", &k], format!(":{n}\r\n"));
                }
                Some(Err(_)) => push(
                    &["INCR", &k],
                    "-ERR value is not an integer or out of range\r\n".into(),
                ),
            },
            3 => {
                let (v1, v2) = (format!("m{i}a"), format!("m{i}b"));
                model.insert(k.clone(), v1.clone());
                model.insert(k2.clone(), v2.clone());
                push(&["MSET", &k, &v1, &k2, &v2], "+OK\r\n".into());
            }
            4 => {
                let gone = usize::from(model.remove(&k).is_some())
                    + usize::from(k2 != k && model.remove(&k2).is_some());
                push(&["DEL", &k, &k2], format!(":{gone}\r\n"));
            }
            5 => {
                let v = model.entry(k.clone()).or_default();
                v.push('x');
                let len = v.len();
                push(&["APPEND", &k, "x"], format!(":{len}\r\n"));
            }
            6 => push(&["PING"], "+PONG\r\n".into()),
            _ => {
                let r = model.get(&k).map_or(0, |v| v.len());
                push(&["STRLEN", &k], format!(":{r}\r\n"));
            }
        }
    }
    (wire, want)
}

/// `clients` connections at once, each sending `rounds` pipelines of `n`
/// random commands on its own keys and checking every reply, in order,
/// against the model.
fn run_pipelines(backend: &'static str, port: u16, clients: usize, rounds: usize, n: usize) {
    let handles: Vec<_> = (0..clients)
        .map(|c| {
            std::thread::spawn(move || {
                let mut r = Raw::connect(port);
                let mut model = HashMap::new();
                for round in 0..rounds {
                    let seed = (c * 7919 + round) as u64 + 11;
                    let (wire, want) = pipeline(&mut model, c, n, seed);
                    r.send_raw(&wire);
                    for (i, w) in want.iter().enumerate() {
                        let got = String::from_utf8(r.read_reply().expect("reply")).unwrap();
                        assert_eq!(&got, w, "{backend}: client {c} round {round} reply {i}");
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

/// Deep pipelines from many connections at once: every reply is the one a
/// sequential Redis gives, in order, and most commands were forwarded.
#[test]
fn pipelines_are_answered_in_order() {
    for backend in BACKENDS {
        let Some(s) = start(backend, "owner") else {
            continue;
        };
        run_pipelines(backend, s.port, 8, 4, 400);
        let f = forwarded(&s);
        assert!(
            f > 8 * 4 * 400 / 4,
            "{backend}: only {f} commands forwarded"
        );
    }
}

/// A client's commands take effect in the order it sent them, also as
/// seen by another client: a writer pipelines SET x0..x{N-1} (keys of
/// every owner); a reader that reads them backwards and sees x_j set must
/// see every x_i, i < j, set too. (Running a pipeline's commands on their
/// owners in parallel would break this.)
#[test]
fn writes_become_visible_in_order() {
    const N: usize = 600;
    for backend in BACKENDS {
        let Some(s) = start(backend, "owner") else {
            continue;
        };
        let port = s.port;
        for attempt in 0..5 {
            let mut w = Raw::connect(port);
            let mut reader = Raw::connect(port);
            let prefix = format!("a{attempt}:x");
            let mut wire = Vec::new();
            for i in 0..N {
                let k = format!("{prefix}{i}");
                wire.extend_from_slice(&encode(&[b"SET", k.as_bytes(), b"1"]));
            }
            let mut read = Vec::new();
            for i in (0..N).rev() {
                let k = format!("{prefix}{i}");
                read.extend_from_slice(&encode(&[b"GET", k.as_bytes()]));
            }
            let writer = std::thread::spawn(move || {
                w.send_raw(&wire);
                for _ in 0..N {
                    assert_eq!(w.read_reply().unwrap(), b"+OK\r\n");
                }
            });
            let mut done = false;
            while !done {
                reader.send_raw(&read);
                let mut seen_set: Option<usize> = None;
                let mut all = true;
                for j in (0..N).rev() {
                    let r = reader.read_reply().unwrap();
                    let set = r == b"$1\r\n1\r\n";
                    all &= set;
                    match (seen_set, set) {
                        (Some(hi), false) => panic!(
                            "{backend}: {prefix}{hi} was set but {prefix}{j} (sent before it) not"
                        ),
                        (None, true) => seen_set = Some(j),
                        _ => {}
                    }
                }
                done = all;
            }
            writer.join().unwrap();
        }
    }
}

/// What the connection selected applies where its commands run: the
/// database, RESP3, CLIENT SETNAME (CLIENT LIST shows the last command of
/// the client, wherever it ran), inline commands.
#[test]
fn connection_state_travels_with_forwarded_commands() {
    for backend in BACKENDS {
        let Some(s) = start(backend, "owner") else {
            continue;
        };
        let mut c = s.raw();
        assert_eq!(c.q(&["CLIENT", "SETNAME", "fwd"]), "+OK\r\n");
        assert_eq!(c.q(&["SELECT", "5"]), "+OK\r\n");
        for i in 0..40 {
            let k = format!("k{i}");
            assert_eq!(c.q(&["SET", &k, &format!("db5-{i}")]), "+OK\r\n");
        }
        assert_eq!(c.q(&["SELECT", "0"]), "+OK\r\n");
        for i in 0..40 {
            assert_eq!(c.q(&["GET", &format!("k{i}")]), "$-1\r\n", "{backend}");
        }
        assert_eq!(c.q(&["SELECT", "5"]), "+OK\r\n");
        for i in 0..40 {
            let k = format!("k{i}");
            assert_eq!(c.q(&["GET", &k]), bulk(&format!("db5-{i}")), "{backend}");
        }
        // Inline requests, pipelined.
        let mut inline = Vec::new();
        for i in 0..40 {
            inline.extend_from_slice(format!("SET inl{i} \"v {i}\"\r\n").as_bytes());
        }
        for i in 0..40 {
            inline.extend_from_slice(format!("GET inl{i}\r\n").as_bytes());
        }
        c.send_raw(&inline);
        for _ in 0..40 {
            assert_eq!(c.read_reply().unwrap(), b"+OK\r\n");
        }
        for i in 0..40 {
            let got = c.read_reply().unwrap();
            assert_eq!(got, bulk(&format!("v {i}")).into_bytes(), "{backend}");
        }
        // RESP3 replies from the owner.
        c.resp3 = true;
        assert!(c.q(&["HELLO", "3"]).starts_with('%'));
        for i in 0..20 {
            let k = format!("h{i}");
            assert_eq!(c.q(&["HSET", &k, "f", "v"]), ":1\r\n");
            assert_eq!(
                c.q(&["HGETALL", &k]),
                "%1\r\n$1\r\nf\r\n$1\r\nv\r\n",
                "{backend}"
            );
            assert_eq!(c.q(&["GET", "nokey"]), "_\r\n", "{backend}");
        }
        // The last command shows on the client's CLIENT LIST line, seen
        // from another connection.
        assert_eq!(c.q(&["GET", "k1"]), bulk("db5-1"));
        let list = s.raw().q(&["CLIENT", "LIST"]);
        let line = list
            .lines()
            .find(|l| l.contains(" name=fwd "))
            .unwrap_or_else(|| panic!("{backend}: {list}"));
        assert!(line.contains(" db=5 "), "{backend}: {line}");
        assert!(line.contains(" cmd=get "), "{backend}: {line}");
        assert!(line.contains("resp=3"), "{backend}: {line}");
        assert!(forwarded(&s) > 0, "{backend}");
    }
}

/// MONITOR shows forwarded commands with their client's address and
/// database; MULTI/EXEC (queued at home, executed across shards) and
/// blocking commands served by a forwarded push work as without
/// forwarding.
#[test]
fn monitor_transactions_and_blocking_with_forwarding() {
    for backend in BACKENDS {
        let Some(s) = start(backend, "owner") else {
            continue;
        };
        let mut mon = s.raw();
        assert_eq!(mon.q(&["MONITOR"]), "+OK\r\n");
        let mut c = s.raw();
        let me = c.q(&["CLIENT", "INFO"]);
        let addr = me
            .split_whitespace()
            .find_map(|f| f.strip_prefix("addr="))
            .unwrap()
            .to_string();
        assert_eq!(c.q(&["SELECT", "2"]), "+OK\r\n");
        for i in 0..16 {
            assert_eq!(c.q(&["SET", &format!("m{i}"), "v"]), "+OK\r\n");
        }
        let mut missing: Vec<String> = (0..16)
            .map(|i| format!("[2 {addr}] \"SET\" \"m{i}\" \"v\""))
            .collect();
        while !missing.is_empty() {
            let line = String::from_utf8(mon.read_reply().expect("MONITOR line")).unwrap();
            missing.retain(|m| !line.contains(m.as_str()));
        }
        // A transaction over keys of every owner.
        assert_eq!(c.q(&["MULTI"]), "+OK\r\n");
        for i in 0..16 {
            assert_eq!(c.q(&["INCR", &format!("t{i}")]), "+QUEUED\r\n");
        }
        let exec = c.q(&["EXEC"]);
        assert_eq!(exec, format!("*16\r\n{}", ":1\r\n".repeat(16)), "{backend}");
        // A client blocked on a list is served by a push that another
        // connection's thread forwarded to the list's owner.
        for i in 0..8 {
            let list = format!("bl{i}");
            let mut b = s.raw();
            b.send_raw(&encode(&[b"BLPOP", list.as_bytes(), b"5"]));
            std::thread::sleep(Duration::from_millis(30));
            let mut p = s.raw();
            assert_eq!(p.q(&["RPUSH", &list, "x"]), ":1\r\n");
            assert_eq!(
                String::from_utf8(b.read_reply().unwrap()).unwrap(),
                format!("*2\r\n{}{}", bulk(&list), bulk("x")),
                "{backend}"
            );
        }
    }
}

/// A client that sends a deep pipeline and disconnects at once leaves the
/// server serving (the replies of its forwarded requests are dropped).
#[test]
fn disconnect_with_requests_out_at_their_owner() {
    for backend in BACKENDS {
        let Some(s) = start(backend, "owner") else {
            continue;
        };
        for round in 0..20 {
            let mut wire = Vec::new();
            for i in 0..2000 {
                let k = format!("d{round}:{i}");
                wire.extend_from_slice(&encode(&[b"SET", k.as_bytes(), b"v"]));
            }
            let mut c = std::net::TcpStream::connect(("127.0.0.1", s.port)).unwrap();
            let _ = c.write_all(&wire);
            drop(c);
        }
        let mut c = s.raw();
        assert_eq!(c.q(&["PING"]), "+PONG\r\n", "{backend}");
        // What ran of each pipeline is a prefix of it: requests run in
        // order, and what was not run was dropped whole. Read backwards
        // (the closed connections' requests may still be running): once a
        // key is seen, every key sent before it must exist.
        for round in 0..20 {
            let mut wire = Vec::new();
            for i in (0..2000).rev() {
                let k = format!("d{round}:{i}");
                wire.extend_from_slice(&encode(&[b"EXISTS", k.as_bytes()]));
            }
            c.send_raw(&wire);
            let mut seen: Option<usize> = None;
            for i in (0..2000).rev() {
                let r = c.read_reply().unwrap();
                assert!(
                    r == b":1\r\n" || r == b":0\r\n",
                    "{backend}: {:?}",
                    String::from_utf8_lossy(&r)
                );
                match (seen, r == b":1\r\n") {
                    (Some(hi), false) => panic!(
                        "{backend}: d{round}:{hi} exists but d{round}:{i}, sent before it, not"
                    ),
                    (None, true) => seen = Some(i),
                    _ => {}
                }
            }
        }
    }
}

/// `shard-dispatch local`: every command runs on its connection's thread.
#[test]
fn local_dispatch_forwards_nothing() {
    for backend in BACKENDS {
        let Some(s) = start(backend, "local") else {
            continue;
        };
        run_pipelines(backend, s.port, 4, 1, 300);
        assert_eq!(forwarded(&s), 0, "{backend}");
    }
}

/// `server_cpulist` pins I/O thread i to the i-th CPU of the list (here
/// CPU 0 for both, which every machine has); a list that does not parse
/// stops the server at start with what is wrong.
#[test]
fn server_cpulist_pins_the_io_threads() {
    let Some(s) = start_with("threads", &["--io-threads", "2", "--server_cpulist", "0"]) else {
        return;
    };
    let pid = s.child.id();
    let mut pinned = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let dir = task.unwrap().path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if !comm.starts_with("kv-io-") {
            continue;
        }
        let status = std::fs::read_to_string(dir.join("status")).unwrap_or_default();
        let cpus = status
            .lines()
            .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
            .unwrap_or("?")
            .trim()
            .to_string();
        pinned.push((comm.trim().to_string(), cpus));
    }
    pinned.sort();
    assert_eq!(
        pinned,
        vec![
            ("kv-io-0".into(), "0".into()),
            ("kv-io-1".into(), "0".into())
        ]
    );
    assert_eq!(
        s.raw().q(&["CONFIG", "GET", "server_cpulist"]),
        "*2\r\n$14\r\nserver_cpulist\r\n$1\r\n0\r\n"
    );
    drop(s);

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kvserver"))
        .args(["--port", "0", "--server_cpulist", "3-1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--server_cpulist: invalid CPU list item '3-1'"),
        "{err}"
    );
}
