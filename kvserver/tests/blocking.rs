//! Blocking list and sorted-set commands (BLPOP BRPOP BLMOVE BRPOPLPUSH
//! BLMPOP BZPOPMIN BZPOPMAX BZMPOP) on the threads and uring backends:
//! Redis 7.0's exact replies (recorded from redis-server 7.0.15), wake-ups
//! by other clients, timeouts, arrival order across connections (and so
//! across I/O threads), BLMOVE chains, MULTI, disconnects, WRONGTYPE.

mod common;

use common::{encode, Raw, Server};
use std::time::{Duration, Instant};

/// Asserts that nothing arrives on `c` for `ms`.
fn quiet(c: &mut Raw, ms: u64) {
    c.s.set_read_timeout(Some(Duration::from_millis(ms)))
        .unwrap();
    let r = c.try_read_reply();
    assert!(
        matches!(&r, Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)),
        "expected no reply, got {r:?}"
    );
    c.s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
}

/// Sends a command without waiting for its reply.
fn send(c: &mut Raw, args: &[&str]) {
    let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
    c.send_raw(&encode(&a));
}

fn reply(c: &mut Raw) -> String {
    String::from_utf8_lossy(&c.read_reply().expect("connection closed")).into_owned()
}

/// Lets a command sent just now reach the server and block there.
fn settle() {
    std::thread::sleep(Duration::from_millis(50));
}

fn errors_and_immediate(s: &Server) {
    let mut c = s.raw();
    let nf = "-ERR timeout is not a float or out of range\r\n";
    let neg = "-ERR timeout is negative\r\n";
    assert_eq!(c.q(&["BLPOP", "k", "x"]), nf);
    assert_eq!(c.q(&["BLPOP", "k", "-1"]), neg);
    assert_eq!(c.q(&["BLPOP", "k", "nan"]), nf);
    assert_eq!(c.q(&["BLPOP", "k", "inf"]), neg);
    assert_eq!(c.q(&["BLPOP", "k", "1e400"]), neg);
    assert_eq!(c.q(&["BZPOPMIN", "k", "abc"]), nf);
    assert_eq!(
        c.q(&["BLPOP", "k"]),
        "-ERR wrong number of arguments for 'blpop' command\r\n"
    );
    assert_eq!(
        c.q(&["BLMOVE", "a", "b", "left", "up", "0"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        c.q(&["BLMPOP", "0", "0", "a", "left"]),
        "-ERR numkeys should be greater than 0\r\n"
    );
    assert_eq!(
        c.q(&["BLMPOP", "0", "1", "a", "up"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(c.q(&["BLMPOP", "x", "1", "a", "left"]), nf);
    assert_eq!(
        c.q(&["BLMPOP", "0", "1", "a", "left", "count", "0"]),
        "-ERR count should be greater than 0\r\n"
    );
    assert_eq!(
        c.q(&["BZMPOP", "0", "1", "a", "min", "count", "-1"]),
        "-ERR count should be greater than 0\r\n"
    );
    assert_eq!(
        c.q(&["BZMPOP", "0", "1", "a", "mid"]),
        "-ERR syntax error\r\n"
    );
    // Data present: the non-blocking behaviour, at once.
    c.q(&["RPUSH", "l", "a", "b", "c", "d"]);
    assert_eq!(
        c.q(&["BLPOP", "nol", "l", "0"]),
        "*2\r\n$1\r\nl\r\n$1\r\na\r\n"
    );
    assert_eq!(c.q(&["BRPOP", "l", "0"]), "*2\r\n$1\r\nl\r\n$1\r\nd\r\n");
    assert_eq!(c.q(&["BRPOPLPUSH", "l", "l2", "0"]), "$1\r\nc\r\n");
    assert_eq!(
        c.q(&["BLMOVE", "l", "l2", "LEFT", "RIGHT", "0"]),
        "$1\r\nb\r\n"
    );
    assert_eq!(
        c.q(&["BLMPOP", "0", "2", "l", "l2", "right", "count", "9"]),
        "*2\r\n$2\r\nl2\r\n*2\r\n$1\r\nb\r\n$1\r\nc\r\n"
    );
    c.q(&["ZADD", "z", "1.5", "m", "2", "n", "3", "o"]);
    assert_eq!(
        c.q(&["BZPOPMIN", "z", "0"]),
        "*3\r\n$1\r\nz\r\n$1\r\nm\r\n$3\r\n1.5\r\n"
    );
    assert_eq!(
        c.q(&["BZPOPMAX", "z", "0"]),
        "*3\r\n$1\r\nz\r\n$1\r\no\r\n$1\r\n3\r\n"
    );
    assert_eq!(
        c.q(&["BZMPOP", "0", "1", "z", "min", "count", "5"]),
        "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\nn\r\n$1\r\n2\r\n"
    );
    // WRONGTYPE at block time, whatever key comes first.
    c.q(&["SET", "s", "x"]);
    let wt = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    assert_eq!(c.q(&["BLPOP", "s", "0"]), wt);
    assert_eq!(c.q(&["BLPOP", "nokey", "s", "0"]), wt);
    assert_eq!(c.q(&["BLMOVE", "s", "d", "left", "left", "0"]), wt);
    assert_eq!(c.q(&["BZPOPMIN", "s", "0"]), wt);
    assert_eq!(c.q(&["BZMPOP", "0", "2", "nokey", "s", "min"]), wt);
    c.q(&["RPUSH", "l3", "x"]);
    assert_eq!(c.q(&["BLMOVE", "l3", "s", "left", "left", "0"]), wt);
    assert_eq!(c.q(&["LRANGE", "l3", "0", "-1"]), "*1\r\n$1\r\nx\r\n");
    // No data, so the destination's type is not looked at: a timeout.
    assert_eq!(
        c.q(&["BLMOVE", "nokey", "s", "left", "left", "0.01"]),
        "*-1\r\n"
    );
    // Inside MULTI nothing blocks: as timed out at once (BLMOVE is LMOVE).
    assert_eq!(c.q(&["MULTI"]), "+OK\r\n");
    for cmd in [
        &["BLPOP", "nokey", "0"][..],
        &["BLMOVE", "nokey", "x", "left", "left", "0"],
        &["BZPOPMIN", "nokey", "0"],
        &["BLMPOP", "0", "1", "nokey", "left"],
    ] {
        assert_eq!(c.q(cmd), "+QUEUED\r\n");
    }
    assert_eq!(c.q(&["EXEC"]), "*4\r\n*-1\r\n$-1\r\n*-1\r\n*-1\r\n");
    c.resp3 = true;
    c.q(&["HELLO", "3"]);
    assert_eq!(c.q(&["MULTI"]), "+OK\r\n");
    c.q(&["BLPOP", "nokey", "0"]);
    c.q(&["BLMOVE", "nokey", "x", "left", "left", "0"]);
    assert_eq!(c.q(&["EXEC"]), "*2\r\n_\r\n_\r\n");
    c.q(&["ZADD", "z", "1.5", "m"]);
    assert_eq!(
        c.q(&["BZPOPMIN", "z", "0"]),
        "*3\r\n$1\r\nz\r\n$1\r\nm\r\n,1.5\r\n"
    );
    assert_eq!(c.q(&["BLPOP", "nokey", "0.01"]), "_\r\n");
    assert_eq!(c.q(&["FLUSHALL"]), "+OK\r\n");
}

fn wakeups(s: &Server) {
    let mut a = s.raw();
    let mut b = s.raw();
    // BLPOP on two keys, woken by a push to the second.
    send(&mut a, &["BLPOP", "w1", "w2", "0"]);
    quiet(&mut a, 100);
    assert_eq!(b.q(&["RPUSH", "w2", "v1", "v2"]), ":2\r\n");
    assert_eq!(reply(&mut a), "*2\r\n$2\r\nw2\r\n$2\r\nv1\r\n");
    assert_eq!(b.q(&["LRANGE", "w2", "0", "-1"]), "*1\r\n$2\r\nv2\r\n");
    // A key of another type does not wake it (Redis 7.0 keeps it blocked).
    send(&mut a, &["BLPOP", "w3", "0"]);
    settle();
    b.q(&["SET", "w3", "str"]);
    quiet(&mut a, 100);
    b.q(&["DEL", "w3"]);
    b.q(&["RPUSH", "w3", "ok"]);
    assert_eq!(reply(&mut a), "*2\r\n$2\r\nw3\r\n$2\r\nok\r\n");
    // BLMOVE woken into a WRONGTYPE destination: the error, nothing moved.
    b.q(&["SET", "dst", "s"]);
    send(&mut a, &["BLMOVE", "src", "dst", "left", "left", "0"]);
    settle();
    assert_eq!(b.q(&["RPUSH", "src", "e"]), ":1\r\n");
    assert_eq!(
        reply(&mut a),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    assert_eq!(b.q(&["LRANGE", "src", "0", "-1"]), "*1\r\n$1\r\ne\r\n");
    // A blocked client's pipelined requests wait for it.
    a.send_raw(&[encode(&[b"BLPOP", b"p1", b"0"]), encode(&[b"PING"])].concat());
    quiet(&mut a, 100);
    b.q(&["RPUSH", "p1", "x"]);
    assert_eq!(reply(&mut a), "*2\r\n$2\r\np1\r\n$1\r\nx\r\n");
    assert_eq!(reply(&mut a), "+PONG\r\n");
    // Sorted sets and the *MPOP forms.
    send(&mut a, &["BZPOPMIN", "zz", "0"]);
    settle();
    b.q(&["ZADD", "zz", "3", "m"]);
    assert_eq!(reply(&mut a), "*3\r\n$2\r\nzz\r\n$1\r\nm\r\n$1\r\n3\r\n");
    send(
        &mut a,
        &["BZMPOP", "0", "2", "zy", "zz", "max", "count", "3"],
    );
    settle();
    b.q(&["ZADD", "zz", "3", "m", "4", "n"]);
    assert_eq!(
        reply(&mut a),
        "*2\r\n$2\r\nzz\r\n*2\r\n*2\r\n$1\r\nn\r\n$1\r\n4\r\n*2\r\n$1\r\nm\r\n$1\r\n3\r\n"
    );
    send(
        &mut a,
        &["BLMPOP", "0", "2", "zy", "ly", "right", "count", "3"],
    );
    settle();
    b.q(&["RPUSH", "ly", "1", "2"]);
    assert_eq!(
        reply(&mut a),
        "*2\r\n$2\r\nly\r\n*2\r\n$1\r\n2\r\n$1\r\n1\r\n"
    );
    send(&mut a, &["BRPOPLPUSH", "q1", "q2", "0"]);
    settle();
    b.q(&["RPUSH", "q1", "1", "2"]);
    assert_eq!(reply(&mut a), "$1\r\n2\r\n");
    // Woken by a write inside EXEC, and by LMOVE into the key.
    send(&mut a, &["BLPOP", "tx", "0"]);
    settle();
    b.q(&["MULTI"]);
    b.q(&["RPUSH", "tx", "in-exec"]);
    assert_eq!(b.q(&["EXEC"]), "*1\r\n:1\r\n");
    assert_eq!(reply(&mut a), "*2\r\n$2\r\ntx\r\n$7\r\nin-exec\r\n");
    send(&mut a, &["BLPOP", "mv", "0"]);
    settle();
    b.q(&["RPUSH", "from", "moved"]);
    b.q(&["LMOVE", "from", "mv", "LEFT", "LEFT"]);
    assert_eq!(reply(&mut a), "*2\r\n$2\r\nmv\r\n$5\r\nmoved\r\n");
    b.q(&["FLUSHALL"]);
}

/// Timeouts fire on time: never early, and not rounded up to the I/O
/// thread's 100 ms wait period (that would put the median overshoot near
/// 50 ms, and a 30 ms timeout's median near 80 ms). Medians, so that a
/// load spike on a shared CI machine does not fail the test.
fn timeouts(s: &Server) {
    let mut a = s.raw();
    let mut over = Vec::new();
    for (cmd, want) in [
        (&["BLPOP", "t", "0.2"][..], "*-1\r\n"),
        (&["BZPOPMAX", "t", "0.2"], "*-1\r\n"),
        (&["BLMOVE", "t", "u", "left", "left", "0.2"], "*-1\r\n"),
        (&["BLMPOP", "0.2", "1", "t", "left"], "*-1\r\n"),
        (&["BRPOP", "t", "0.2"], "*-1\r\n"),
    ] {
        let t = Instant::now();
        assert_eq!(a.q(cmd), want);
        let e = t.elapsed();
        assert!(
            // Deadlines are whole milliseconds, as Redis's: up to 1 ms early.
            e >= Duration::from_millis(190) && e < Duration::from_secs(2),
            "{cmd:?} timed out after {e:?}"
        );
        over.push(e.saturating_sub(Duration::from_millis(200)));
    }
    over.sort();
    assert!(over[2] < Duration::from_millis(40), "overshoots {over:?}");
    let mut short: Vec<Duration> = (0..5)
        .map(|_| {
            let t = Instant::now();
            assert_eq!(a.q(&["BLPOP", "t", "0.03"]), "*-1\r\n");
            t.elapsed()
        })
        .collect();
    short.sort();
    assert!(short[0] >= Duration::from_millis(25), "{short:?}");
    assert!(short[2] < Duration::from_millis(60), "{short:?}");
    // The connection goes on normally after a timeout.
    assert_eq!(a.q(&["PING"]), "+PONG\r\n");
}

fn arrival_order(s: &Server) {
    // Clients on different connections (spread over both I/O threads)
    // block in a known order; one push of many elements serves them in
    // that order.
    let mut clients: Vec<Raw> = (0..12).map(|_| s.raw()).collect();
    for c in clients.iter_mut() {
        send(c, &["BLPOP", "fifo", "0"]);
        settle();
    }
    let mut p = s.raw();
    let elems: Vec<String> = (0..12).map(|i| format!("e{i}")).collect();
    let mut args = vec!["RPUSH", "fifo"];
    args.extend(elems.iter().map(|e| e.as_str()));
    assert_eq!(p.q(&args), ":12\r\n");
    for (i, c) in clients.iter_mut().enumerate() {
        let e = &elems[i];
        assert_eq!(
            reply(c),
            format!("*2\r\n$4\r\nfifo\r\n${}\r\n{e}\r\n", e.len()),
            "client {i}"
        );
    }
    // One element at a time: still first come, first served.
    for c in clients.iter_mut() {
        send(c, &["BRPOP", "fifo2", "0"]);
        settle();
    }
    for (i, c) in clients.iter_mut().enumerate() {
        p.q(&["LPUSH", "fifo2", &format!("x{i}")]);
        let want = format!("x{i}");
        assert_eq!(
            reply(c),
            format!("*2\r\n$5\r\nfifo2\r\n${}\r\n{want}\r\n", want.len())
        );
    }
    assert_eq!(p.q(&["EXISTS", "fifo", "fifo2"]), ":0\r\n");
}

fn chains_and_disconnects(s: &Server) {
    // BLMOVE c1 → c2 serves a BLPOP on c2 in turn.
    let mut a = s.raw();
    let mut c = s.raw();
    let mut b = s.raw();
    send(&mut a, &["BLMOVE", "c1", "c2", "left", "left", "0"]);
    settle();
    send(&mut c, &["BLPOP", "c2", "0"]);
    settle();
    b.q(&["RPUSH", "c1", "chain"]);
    assert_eq!(reply(&mut a), "$5\r\nchain\r\n");
    assert_eq!(reply(&mut c), "*2\r\n$2\r\nc2\r\n$5\r\nchain\r\n");
    assert_eq!(b.q(&["EXISTS", "c1", "c2"]), ":0\r\n");
    // A blocked client that disconnects is forgotten: the next push stays.
    let mut gone = s.raw();
    send(&mut gone, &["BLPOP", "d", "0"]);
    settle();
    drop(gone);
    settle();
    assert_eq!(b.q(&["RPUSH", "d", "kept"]), ":1\r\n");
    assert_eq!(b.q(&["LLEN", "d"]), ":1\r\n");
    // And one blocked behind it still gets served.
    let mut gone = s.raw();
    send(&mut gone, &["BLPOP", "e", "0"]);
    settle();
    send(&mut a, &["BLPOP", "e", "0"]);
    settle();
    drop(gone);
    settle();
    b.q(&["RPUSH", "e", "1"]);
    assert_eq!(reply(&mut a), "*2\r\n$1\r\ne\r\n$1\r\n1\r\n");
    b.q(&["FLUSHALL"]);
}

/// Waits until INFO says `n` clients are blocked.
fn wait_blocked(c: &mut Raw, n: usize) {
    let want = format!("blocked_clients:{n}\r\n");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let info = c.q(&["INFO", "clients"]);
        if info.contains(&want) {
            return;
        }
        assert!(Instant::now() < deadline, "never {want:?}:\n{info}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Blocked clients whose connection is reset (RST) while a request waits
/// behind the blocking one: each is noticed and freed at once, never
/// served. Every element pushed afterwards stays (redis-server 7.0.15
/// keeps all of them), and their slots come back under `maxclients`.
fn dead_blocked_clients(s: &Server) {
    let mut b = s.raw();
    b.q(&["DEL", "dq", "dq2", "dz", "dx"]);
    let before = b.q(&["INFO", "clients"]);
    let connected = |info: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix("connected_clients:"))
            .and_then(|v| v.trim().parse::<usize>().ok())
            .expect("connected_clients")
    };
    let base = connected(&before);
    // A live one: its pipelined request runs once it is served (its input
    // is parsed while the recv that watches its socket is in flight).
    let mut live = s.raw();
    let mut bytes = encode(&[b"BLPOP", b"dq", b"0"]);
    bytes.extend_from_slice(&encode(&[b"PING", b"after"]));
    live.send_raw(&bytes);
    wait_blocked(&mut b, 1);
    b.q(&["RPUSH", "dq", "x"]);
    assert_eq!(reply(&mut live), "*2\r\n$2\r\ndq\r\n$1\r\nx\r\n");
    assert_eq!(reply(&mut live), "$5\r\nafter\r\n");
    assert_eq!(live.q(&["PING"]), "+PONG\r\n");
    drop(live);
    let blocking: &[&[&str]] = &[
        &["BLPOP", "dq", "0"],
        &["BLMOVE", "dq", "dq2", "LEFT", "LEFT", "0"],
        &["BZPOPMIN", "dz", "0"],
        &["XREAD", "BLOCK", "0", "STREAMS", "dx", "$"],
    ];
    let mut dead = Vec::new();
    for round in 0..5 {
        for cmd in blocking {
            let mut c = s.raw();
            // The blocking command with a request pipelined behind it.
            let mut bytes = encode(&cmd.iter().map(|a| a.as_bytes()).collect::<Vec<_>>());
            bytes.extend_from_slice(&encode(&[b"PING", round.to_string().as_bytes()]));
            c.send_raw(&bytes);
            dead.push(c);
        }
    }
    wait_blocked(&mut b, dead.len());
    for c in dead.drain(..) {
        // SO_LINGER 0: close sends a reset.
        socket2::SockRef::from(&c.s)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(c);
    }
    wait_blocked(&mut b, 0);
    for i in 0..100 {
        b.q(&["RPUSH", "dq", &i.to_string()]);
        b.q(&["ZADD", "dz", &i.to_string(), &format!("m{i}")]);
        b.q(&["XADD", "dx", "*", "i", &i.to_string()]);
    }
    assert_eq!(b.q(&["LLEN", "dq"]), ":100\r\n");
    assert_eq!(b.q(&["EXISTS", "dq2"]), ":0\r\n");
    assert_eq!(b.q(&["ZCARD", "dz"]), ":100\r\n");
    assert_eq!(b.q(&["XLEN", "dx"]), ":100\r\n");
    // Their slots are free again. At most `base`: a connection counted in
    // it may have been on its way out then (the harness's readiness probe).
    let deadline = Instant::now() + Duration::from_secs(10);
    while connected(&b.q(&["INFO", "clients"])) > base {
        assert!(
            Instant::now() < deadline,
            "connections not freed:\n{}",
            b.q(&["CLIENT", "LIST"])
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    b.q(&["DEL", "dq", "dz", "dx"]);
}

/// Producers and consumers on many connections: every element is popped
/// exactly once.
fn exactly_once(s: &Server) {
    const CONSUMERS: usize = 8;
    const PER: usize = 100;
    let port = s.port;
    let consumers: Vec<_> = (0..CONSUMERS)
        .map(|_| {
            std::thread::spawn(move || {
                let mut c = Raw::connect(port);
                let mut got = Vec::new();
                loop {
                    let r = c.q(&["BLPOP", "work", "2"]);
                    if r == "*-1\r\n" {
                        return got;
                    }
                    let v = r.rsplit("\r\n").nth(1).unwrap_or_default().to_string();
                    got.push(v);
                }
            })
        })
        .collect();
    let producers: Vec<_> = (0..2)
        .map(|p| {
            std::thread::spawn(move || {
                let mut c = Raw::connect(port);
                for i in 0..PER * CONSUMERS / 2 {
                    c.q(&["RPUSH", "work", &format!("{p}-{i}")]);
                }
            })
        })
        .collect();
    for p in producers {
        p.join().unwrap();
    }
    let mut all: Vec<String> = consumers
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    assert_eq!(all.len(), PER * CONSUMERS);
    all.sort();
    all.dedup();
    assert_eq!(all.len(), PER * CONSUMERS, "an element was popped twice");
}

per_backend! {
    replies_errors_and_multi => [errors_and_immediate],
    woken_by_other_clients => [wakeups, chains_and_disconnects],
    timeouts_are_on_time => [timeouts],
    served_in_arrival_order => [arrival_order],
    concurrent_pops_are_exactly_once => [exactly_once],
    reset_blocked_clients_are_freed_not_served => [dead_blocked_clients],
}
