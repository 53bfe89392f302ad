//! Client-side caching (CLIENT TRACKING): invalidation messages and
//! replies side by side with redis-server 7.0 for the same sessions
//! (default mode, NOLOOP, BCAST with prefixes, REDIRECT to a RESP2
//! subscriber, OPTIN with CLIENT CACHING, FLUSHALL, expiry, errors,
//! TRACKINGINFO, GETREDIR), a redis-py client-side-caching round trip,
//! and the invalidations crossing I/O threads.
//!
//! redis-server must be on PATH (Debian package `redis-server`).

mod common;

use common::{encode, redis_server, wait_until, Raw, Server};

/// Everything `c` has been sent, once `probe` (a PING on it) comes back:
/// pushes queued before it arrive before its reply.
fn drain(c: &mut Raw) -> Vec<String> {
    c.send_raw(&encode(&[b"PING"]));
    let mut got = Vec::new();
    loop {
        let r = String::from_utf8_lossy(&c.read_reply().unwrap()).into_owned();
        if r == "+PONG\r\n" || r == "*2\r\n$4\r\npong\r\n$0\r\n\r\n" {
            return got;
        }
        got.push(r);
    }
}

fn resp3(s: &Server) -> Raw {
    let mut c = s.raw();
    c.resp3 = true;
    c.q(&["HELLO", "3"]);
    c
}

/// One session, the same on both servers; what each client saw.
fn session(s: &Server) -> Vec<String> {
    let mut out = Vec::new();
    let mut w = s.raw();
    w.q(&["FLUSHALL"]);
    // Default mode.
    let mut a = resp3(s);
    for cmd in [
        &["CLIENT", "TRACKING", "ON"][..],
        &["GET", "k"],
        &["MGET", "k", "k2"],
        &["CLIENT", "TRACKINGINFO"],
        &["CLIENT", "GETREDIR"],
    ] {
        out.push(a.q(cmd));
    }
    w.q(&["SET", "k", "1"]);
    out.extend(drain(&mut a));
    // Not read again: no second invalidation.
    w.q(&["SET", "k", "2"]);
    out.extend(drain(&mut a));
    a.q(&["GET", "k2"]);
    w.q(&["FLUSHALL"]);
    out.extend(drain(&mut a));
    // NOLOOP: its own writes are not sent back.
    out.push(a.q(&["CLIENT", "TRACKING", "ON", "NOLOOP"]));
    a.q(&["GET", "x"]);
    a.q(&["SET", "x", "1"]);
    out.extend(drain(&mut a));
    // BCAST with prefixes.
    let mut b = resp3(s);
    out.push(b.q(&[
        "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "user:", "PREFIX", "obj:",
    ]));
    w.q(&["SET", "user:1", "a"]);
    w.q(&["SET", "other", "c"]);
    w.q(&["SET", "obj:2", "b"]);
    out.extend(drain(&mut b));
    out.push(b.q(&["CLIENT", "TRACKINGINFO"]));
    // REDIRECT to a RESP2 client subscribed to __redis__:invalidate.
    let mut r = s.raw();
    let rid = r.q(&["CLIENT", "ID"]);
    let rid = rid.trim_start_matches(':').trim_end().to_string();
    r.q(&["SUBSCRIBE", "__redis__:invalidate"]);
    let mut c2 = s.raw();
    out.push(c2.q(&["CLIENT", "TRACKING", "ON", "REDIRECT", &rid]));
    c2.q(&["GET", "z"]);
    w.q(&["SET", "z", "1"]);
    out.extend(drain(&mut r));
    c2.q(&["GET", "z"]);
    w.q(&["FLUSHDB"]);
    out.extend(drain(&mut r));
    // OPTIN: only what follows CLIENT CACHING YES.
    let mut o = resp3(s);
    out.push(o.q(&["CLIENT", "TRACKING", "ON", "OPTIN"]));
    o.q(&["GET", "p1"]);
    out.push(o.q(&["CLIENT", "CACHING", "YES"]));
    o.q(&["GET", "p2"]);
    w.q(&["MSET", "p1", "1", "p2", "2"]);
    out.extend(drain(&mut o));
    // Off: nothing more.
    o.q(&["GET", "p3"]);
    out.push(o.q(&["CLIENT", "TRACKING", "OFF"]));
    w.q(&["SET", "p3", "1"]);
    out.extend(drain(&mut o));
    // Errors.
    let mut e = s.raw();
    for cmd in [
        &[
            "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "a", "PREFIX", "ab",
        ][..],
        &["CLIENT", "CACHING", "YES"],
        &["CLIENT", "TRACKING", "ON", "OPTIN", "OPTOUT"],
        &["CLIENT", "TRACKING", "ON", "REDIRECT", "999999"],
        &["CLIENT", "TRACKING", "MAYBE"],
        &["CLIENT", "TRACKING", "ON", "PREFIX", "x"],
        &["CLIENT", "TRACKING", "ON", "BCAST", "OPTIN"],
        &["CLIENT", "TRACKING", "ON", "REDIRECT", "x"],
        &["CLIENT", "TRACKINGINFO"],
        &["CLIENT", "GETREDIR"],
        &["CLIENT", "TRACKING", "ON"],
        &["CLIENT", "TRACKING", "ON", "BCAST"],
        &["CLIENT", "CACHING", "NO"],
        &["CLIENT", "TRACKING", "ON", "OPTOUT"],
        &["CLIENT", "CACHING", "YES"],
        &["CLIENT", "CACHING", "maybe"],
        &["CLIENT", "TRACKING", "ON", "OPTIN"],
        &["CLIENT", "TRACKINGINFO"],
    ] {
        out.push(e.q(cmd));
    }
    // CLIENT LIST's view: flags (t, B) and redir (-1, 0 or an id).
    let list = w.q(&["CLIENT", "LIST"]);
    for line in list.lines().filter(|l| l.contains("flags=")) {
        let field = |name: &str| {
            line.split(' ')
                .find_map(|f| f.strip_prefix(name))
                .unwrap_or_default()
                .to_string()
        };
        let redir = field("redir=");
        let redir = if redir == "-1" || redir == "0" {
            redir
        } else {
            "id".into()
        };
        out.push(format!("{} {redir}", field("flags=")));
    }
    out
}

#[test]
fn invalidations_and_replies_as_redis_server() {
    let redis = redis_server();
    for backend in ["threads", "uring"] {
        let Some(kv) = Server::kvserver_if_available(backend) else {
            continue;
        };
        let (want, got) = (session(&redis), session(&kv));
        for (i, (w, g)) in want.iter().zip(&got).enumerate() {
            assert_eq!(g, w, "{backend}: step {i}");
        }
        assert_eq!(got.len(), want.len(), "{backend}");
    }
}

#[test]
fn expired_keys_are_invalidated() {
    let kv = Server::kvserver("threads");
    let mut a = resp3(&kv);
    let mut w = kv.raw();
    a.q(&["CLIENT", "TRACKING", "ON"]);
    w.q(&["SET", "e", "1", "PX", "100"]);
    a.q(&["GET", "e"]);
    // Nobody touches it: the active cycle deletes it, an invalidation
    // comes (and had the read come late, it invalidated at once).
    let want = ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\ne\r\n".to_string();
    let mut seen = Vec::new();
    wait_until("the invalidation of the expired key", || {
        seen.extend(drain(&mut a));
        seen.contains(&want)
    });
}

#[test]
fn invalidations_cross_io_threads_and_count_in_info() {
    let kv = Server::kvserver("threads");
    let mut readers: Vec<Raw> = (0..6).map(|_| resp3(&kv)).collect();
    for (i, r) in readers.iter_mut().enumerate() {
        r.q(&["CLIENT", "TRACKING", "ON"]);
        for k in 0..20 {
            r.q(&["GET", &format!("key:{k}")]);
        }
        r.q(&["GET", &format!("own:{i}")]);
    }
    let mut w = kv.raw();
    let info = w.q(&["INFO", "everything"]);
    assert!(info.contains("tracking_clients:6\r\n"), "{info}");
    assert!(info.contains("tracking_total_keys:26\r\n"), "{info}");
    assert!(info.contains("tracking_total_items:126\r\n"), "{info}");
    for k in 0..20 {
        w.q(&["SET", &format!("key:{k}"), "v"]);
    }
    for r in readers.iter_mut() {
        let mut seen = drain(r);
        seen.sort();
        let mut want: Vec<String> = (0..20)
            .map(|k| {
                let key = format!("key:{k}");
                format!(
                    ">2\r\n$10\r\ninvalidate\r\n*1\r\n${}\r\n{key}\r\n",
                    key.len()
                )
            })
            .collect();
        want.sort();
        assert_eq!(seen, want);
    }
    drop(readers);
    wait_until("the trackers to disconnect", || {
        w.q(&["INFO", "clients"]).contains("tracking_clients:0\r\n")
    });
}

/// A client-side cache built on redis-py's own API, as applications
/// without redis-py's built-in cache do it (that one refuses servers older
/// than 7.4, redis-server 7.0 included): CLIENT TRACKING with REDIRECT to
/// a pub/sub connection subscribed to `__redis__:invalidate`, a dict as the
/// cache, entries dropped as invalidations arrive. Run against kvserver
/// and, the same script, against redis-server.
const REDIS_PY_CACHE: &str = r#"
import redis, sys, time
port = int(sys.argv[1])
w = redis.Redis(port=port)
# RESP2: the invalidations arrive as messages on the channel (a RESP3
# target gets `invalidate` pushes, which redis-py's PubSub does not return).
inv = redis.Redis(port=port, protocol=2).pubsub()
inv.subscribe("__redis__:invalidate")
assert inv.get_message(timeout=5)["type"] == "subscribe"
pid = next(c["id"] for c in w.client_list() if "P" in c["flags"])
r = redis.Redis(port=port, protocol=2, single_connection_client=True)
r.client_tracking_on(clientid=int(pid))
cache = {}
def cached_get(k):
    if k not in cache:
        cache[k] = r.get(k)
    return cache[k]
def drain_invalidations(timeout):
    m = inv.get_message(timeout=timeout)
    while m is not None:
        if m["type"] == "message":
            for k in (m["data"] or list(cache)):
                cache.pop(k.decode() if isinstance(k, bytes) else k, None)
        m = inv.get_message(timeout=0.01)
w.set("ck", "v1")
assert cached_get("ck") == b"v1"
assert "ck" in cache
w.set("ck", "v2")
deadline = time.time() + 20
while "ck" in cache:
    assert time.time() < deadline, "never invalidated"
    drain_invalidations(0.1)
assert cached_get("ck") == b"v2"
w.flushall()
deadline = time.time() + 20
while cache:
    assert time.time() < deadline, "flush never invalidated"
    drain_invalidations(0.1)
print("ok")
"#;

fn run_redis_py_cache(port: u16) {
    let out = std::process::Command::new("python3")
        .args(["-c", REDIS_PY_CACHE, &port.to_string()])
        .output()
        .expect("python3");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("No module named 'redis'"),
        "redis-py is needed (scripts/deps.sh installs it): {stderr}"
    );
    assert!(out.status.success(), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok");
}

#[test]
fn redis_py_client_side_cache_round_trip() {
    let redis = redis_server();
    run_redis_py_cache(redis.port);
    let kv = Server::kvserver("threads");
    run_redis_py_cache(kv.port);
}
