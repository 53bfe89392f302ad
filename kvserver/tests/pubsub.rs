//! Pub/sub, MONITOR, CLIENT REPLY and RESET on the threads and uring
//! backends: Redis 7.0's exact replies (recorded from redis-server 7.0.15),
//! many subscribers across I/O threads each receiving every message in
//! publish order, patterns, RESP3 pushes interleaved with replies, PUBSUB
//! introspection, subscribed-mode restrictions.

mod common;

use common::{encode, Raw, Server};
use std::time::Duration;

fn send(c: &mut Raw, args: &[&str]) {
    let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
    c.send_raw(&encode(&a));
}

fn reply(c: &mut Raw) -> String {
    String::from_utf8_lossy(&c.read_reply().expect("connection closed")).into_owned()
}

fn bulk(s: &str) -> String {
    format!("${}\r\n{s}\r\n", s.len())
}

fn message(ch: &str, m: &str) -> String {
    format!("*3\r\n$7\r\nmessage\r\n{}{}", bulk(ch), bulk(m))
}

/// Lets subscriptions made on other connections settle (their replies
/// were read, so they are registered; this is for disconnects).
fn settle() {
    std::thread::sleep(Duration::from_millis(50));
}

fn replies(s: &Server) {
    let mut a = s.raw();
    let mut b = s.raw();
    assert_eq!(
        a.q(&["UNSUBSCRIBE"]),
        "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n"
    );
    assert_eq!(
        a.q(&["PUNSUBSCRIBE"]),
        "*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:0\r\n"
    );
    send(&mut a, &["UNSUBSCRIBE", "x", "y"]);
    assert_eq!(
        reply(&mut a),
        "*3\r\n$11\r\nunsubscribe\r\n$1\r\nx\r\n:0\r\n"
    );
    assert_eq!(
        reply(&mut a),
        "*3\r\n$11\r\nunsubscribe\r\n$1\r\ny\r\n:0\r\n"
    );
    send(&mut a, &["SUBSCRIBE", "c1", "c2", "c1"]);
    assert_eq!(reply(&mut a), "*3\r\n$9\r\nsubscribe\r\n$2\r\nc1\r\n:1\r\n");
    assert_eq!(reply(&mut a), "*3\r\n$9\r\nsubscribe\r\n$2\r\nc2\r\n:2\r\n");
    assert_eq!(reply(&mut a), "*3\r\n$9\r\nsubscribe\r\n$2\r\nc1\r\n:2\r\n");
    send(&mut a, &["PSUBSCRIBE", "c*", "d?"]);
    assert_eq!(
        reply(&mut a),
        "*3\r\n$10\r\npsubscribe\r\n$2\r\nc*\r\n:3\r\n"
    );
    assert_eq!(
        reply(&mut a),
        "*3\r\n$10\r\npsubscribe\r\n$2\r\nd?\r\n:4\r\n"
    );
    // RESP2 subscribed mode: only (un)subscribing, PING, QUIT, RESET.
    let only = "only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in \
                this context\r\n";
    assert_eq!(
        a.q(&["GET", "x"]),
        format!("-ERR Can't execute 'get': {only}")
    );
    assert_eq!(
        a.q(&["CLIENT", "ID"]),
        format!("-ERR Can't execute 'client|id': {only}")
    );
    assert_eq!(
        a.q(&["SET", "a"]),
        "-ERR wrong number of arguments for 'set' command\r\n"
    );
    assert_eq!(a.q(&["PING"]), "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    assert_eq!(a.q(&["PING", "hi"]), "*2\r\n$4\r\npong\r\n$2\r\nhi\r\n");
    // A message and a pattern message.
    assert_eq!(b.q(&["PUBLISH", "c1", "hello"]), ":2\r\n");
    assert_eq!(reply(&mut a), message("c1", "hello"));
    assert_eq!(
        reply(&mut a),
        "*4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nc1\r\n$5\r\nhello\r\n"
    );
    assert_eq!(b.q(&["PUBLISH", "nobody", "x"]), ":0\r\n");
    assert_eq!(b.q(&["PUBLISH", "dx", "y"]), ":1\r\n");
    assert_eq!(
        reply(&mut a),
        "*4\r\n$8\r\npmessage\r\n$2\r\nd?\r\n$2\r\ndx\r\n$1\r\ny\r\n"
    );
    // PUBSUB introspection.
    assert_eq!(
        b.q(&["PUBSUB", "NUMSUB", "c1", "zz"]),
        "*4\r\n$2\r\nc1\r\n:1\r\n$2\r\nzz\r\n:0\r\n"
    );
    assert_eq!(b.q(&["PUBSUB", "NUMSUB"]), "*0\r\n");
    assert_eq!(b.q(&["PUBSUB", "NUMPAT"]), ":2\r\n");
    let ch = b.q(&["PUBSUB", "CHANNELS"]);
    assert!(
        ch == "*2\r\n$2\r\nc1\r\n$2\r\nc2\r\n" || ch == "*2\r\n$2\r\nc2\r\n$2\r\nc1\r\n",
        "{ch}"
    );
    assert_eq!(b.q(&["PUBSUB", "CHANNELS", "c1*"]), "*1\r\n$2\r\nc1\r\n");
    assert_eq!(b.q(&["PUBSUB", "SHARDCHANNELS"]), "*0\r\n");
    let help = b.q(&["PUBSUB", "HELP"]);
    assert!(help.starts_with("*14\r\n+PUBSUB <subcommand>"), "{help}");
    assert_eq!(
        b.q(&["PUBSUB", "foo"]),
        "-ERR unknown subcommand 'foo'. Try PUBSUB HELP.\r\n"
    );
    assert_eq!(
        b.q(&["PUBSUB", "NUMPAT", "x"]),
        "-ERR wrong number of arguments for 'pubsub|numpat' command\r\n"
    );
    assert_eq!(
        b.q(&["PUBSUB", "CHANNELS", "a", "b"]),
        "-ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP.\r\n"
    );
    assert_eq!(
        b.q(&["PUBSUB"]),
        "-ERR wrong number of arguments for 'pubsub' command\r\n"
    );
    assert_eq!(
        b.q(&["PUBLISH", "x"]),
        "-ERR wrong number of arguments for 'publish' command\r\n"
    );
    // Unsubscribing from everything, in subscription order here (Redis's
    // order is its dict's).
    send(&mut a, &["UNSUBSCRIBE"]);
    assert_eq!(
        reply(&mut a),
        "*3\r\n$11\r\nunsubscribe\r\n$2\r\nc1\r\n:3\r\n"
    );
    assert_eq!(
        reply(&mut a),
        "*3\r\n$11\r\nunsubscribe\r\n$2\r\nc2\r\n:2\r\n"
    );
    send(&mut a, &["PUNSUBSCRIBE"]);
    assert_eq!(
        reply(&mut a),
        "*3\r\n$12\r\npunsubscribe\r\n$2\r\nc*\r\n:1\r\n"
    );
    assert_eq!(
        reply(&mut a),
        "*3\r\n$12\r\npunsubscribe\r\n$2\r\nd?\r\n:0\r\n"
    );
    // Out of subscribed mode: everything works again.
    assert_eq!(a.q(&["PING"]), "+PONG\r\n");
    assert_eq!(b.q(&["PUBSUB", "NUMPAT"]), ":0\r\n");
    // SUBSCRIBE inside MULTI.
    assert_eq!(a.q(&["MULTI"]), "+OK\r\n");
    assert_eq!(a.q(&["SUBSCRIBE", "x"]), "+QUEUED\r\n");
    assert_eq!(
        a.q(&["EXEC"]),
        "*1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nx\r\n:1\r\n"
    );
    // A disconnected subscriber is forgotten.
    drop(a);
    settle();
    assert_eq!(b.q(&["PUBSUB", "NUMSUB", "x"]), "*2\r\n$1\r\nx\r\n:0\r\n");
    assert_eq!(b.q(&["PUBLISH", "x", "m"]), ":0\r\n");
}

fn resp3(s: &Server) {
    let mut a = s.raw();
    let mut b = s.raw();
    a.resp3 = true;
    a.q(&["HELLO", "3"]);
    assert_eq!(
        a.q(&["SUBSCRIBE", "r1"]),
        ">3\r\n$9\r\nsubscribe\r\n$2\r\nr1\r\n:1\r\n"
    );
    // Any command works while subscribed in RESP3.
    assert_eq!(a.q(&["GET", "x"]), "_\r\n");
    assert_eq!(a.q(&["PING"]), "+PONG\r\n");
    assert_eq!(b.q(&["PUBLISH", "r1", "m1"]), ":1\r\n");
    assert_eq!(
        reply(&mut a),
        ">3\r\n$7\r\nmessage\r\n$2\r\nr1\r\n$2\r\nm1\r\n"
    );
    assert_eq!(
        a.q(&["PSUBSCRIBE", "r*"]),
        ">3\r\n$10\r\npsubscribe\r\n$2\r\nr*\r\n:2\r\n"
    );
    assert_eq!(b.q(&["PUBLISH", "r1", "m2"]), ":2\r\n");
    assert_eq!(
        reply(&mut a),
        ">3\r\n$7\r\nmessage\r\n$2\r\nr1\r\n$2\r\nm2\r\n"
    );
    assert_eq!(
        reply(&mut a),
        ">4\r\n$8\r\npmessage\r\n$2\r\nr*\r\n$2\r\nr1\r\n$2\r\nm2\r\n"
    );
    // Pushes interleave with replies to the client's own commands; each
    // kind arrives in order.
    let port = s.port;
    let publisher = std::thread::spawn(move || {
        let mut p = Raw::connect(port);
        for i in 0..200 {
            p.q(&["PUBLISH", "r1", &i.to_string()]);
        }
    });
    let (mut next_msg, mut next_reply) = (0, 0);
    let mut sent = 0;
    while next_msg < 400 || next_reply < 100 {
        if sent < 100 {
            send(&mut a, &["ECHO", &sent.to_string()]);
            sent += 1;
        }
        let r = reply(&mut a);
        if r.starts_with('>') {
            // Each message comes as a message and a pmessage.
            let i = next_msg / 2;
            let want = if next_msg % 2 == 0 {
                format!(
                    ">3\r\n$7\r\nmessage\r\n$2\r\nr1\r\n{}",
                    bulk(&i.to_string())
                )
            } else {
                format!(
                    ">4\r\n$8\r\npmessage\r\n$2\r\nr*\r\n$2\r\nr1\r\n{}",
                    bulk(&i.to_string())
                )
            };
            assert_eq!(r, want);
            next_msg += 1;
        } else {
            assert_eq!(r, bulk(&next_reply.to_string()));
            next_reply += 1;
        }
    }
    publisher.join().unwrap();
    assert_eq!(
        a.q(&["UNSUBSCRIBE", "nn"]),
        ">3\r\n$11\r\nunsubscribe\r\n$2\r\nnn\r\n:2\r\n"
    );
    assert_eq!(
        a.q(&["UNSUBSCRIBE"]),
        ">3\r\n$11\r\nunsubscribe\r\n$2\r\nr1\r\n:1\r\n"
    );
    assert_eq!(
        a.q(&["PUNSUBSCRIBE"]),
        ">3\r\n$12\r\npunsubscribe\r\n$2\r\nr*\r\n:0\r\n"
    );
    assert_eq!(
        a.q(&["UNSUBSCRIBE"]),
        ">3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n"
    );
}

/// 50 subscribers (spread over both I/O threads), 2 of them by pattern;
/// every PUBLISH counts them all and each receives every message in order.
fn fan_out(s: &Server) {
    const SUBS: usize = 50;
    const MSGS: usize = 200;
    let mut subs: Vec<Raw> = (0..SUBS).map(|_| s.raw()).collect();
    for (i, c) in subs.iter_mut().enumerate() {
        if i < 2 {
            assert!(c.q(&["PSUBSCRIBE", "news.*"]).contains("psubscribe"));
        } else {
            assert!(c.q(&["SUBSCRIBE", "news.x"]).contains("subscribe"));
        }
    }
    let port = s.port;
    let publisher = std::thread::spawn(move || {
        let mut p = Raw::connect(port);
        for i in 0..MSGS {
            assert_eq!(
                p.q(&["PUBLISH", "news.x", &format!("m{i}")]),
                format!(":{SUBS}\r\n")
            );
        }
    });
    let readers: Vec<_> = subs
        .into_iter()
        .enumerate()
        .map(|(n, mut c)| {
            std::thread::spawn(move || {
                for i in 0..MSGS {
                    let m = format!("m{i}");
                    let want = if n < 2 {
                        format!(
                            "*4\r\n$8\r\npmessage\r\n$6\r\nnews.*\r\n$6\r\nnews.x\r\n{}",
                            bulk(&m)
                        )
                    } else {
                        message("news.x", &m)
                    };
                    assert_eq!(reply(&mut c), want, "subscriber {n}");
                }
            })
        })
        .collect();
    publisher.join().unwrap();
    for r in readers {
        r.join().unwrap();
    }
    let mut b = s.raw();
    // Subscribers' connections are closed: nothing left registered.
    settle();
    assert_eq!(b.q(&["PUBSUB", "NUMPAT"]), ":0\r\n");
    assert_eq!(b.q(&["PUBLISH", "news.x", "late"]), ":0\r\n");
}

/// Commands encoded back to back, to send as one pipeline.
fn pipeline(cmds: &[&[&str]]) -> Vec<u8> {
    cmds.iter()
        .flat_map(|a| {
            let v: Vec<&[u8]> = a.iter().map(|s| s.as_bytes()).collect();
            encode(&v)
        })
        .collect()
}

fn monitor_reply_reset(s: &Server) {
    let mut m = s.raw();
    let mut b = s.raw();
    assert_eq!(m.q(&["MONITOR"]), "+OK\r\n");
    b.q(&["SET", "k", "a b\"\n\x01"]);
    b.q(&["SELECT", "3"]);
    b.q(&["CONFIG", "GET", "port"]);
    b.q(&["GET", "k"]);
    let addr = b.s.local_addr().unwrap().to_string();
    let mut line = |db: u32, args: &str| {
        let r = reply(&mut m);
        // +<secs>.<micros> [db addr] args
        let (ts, rest) = r.split_once(' ').expect("a space");
        assert!(ts.starts_with('+') && ts.len() == 1 + 10 + 1 + 6, "{r}");
        assert_eq!(rest, format!("[{db} {addr}] {args}\r\n"));
    };
    // Arguments as the client sent them (not lowercased).
    line(0, r#""SET" "k" "a b\"\n\x01""#);
    line(3, r#""SELECT" "3""#);
    line(3, r#""GET" "k""#);
    // Passwords are redacted, right or wrong (redis-server 7.0.15's lines).
    b.q(&["AUTH", "secretpw"]);
    b.q(&["HELLO", "2", "AUTH", "default", "secretpw"]);
    line(3, r#""AUTH" "(redacted)""#);
    line(3, r#""HELLO" "2" "AUTH" "(redacted)" "(redacted)""#);
    assert_eq!(
        m.q(&["GET", "x"]),
        "-ERR Replica can't interact with the keyspace\r\n"
    );
    assert_eq!(m.q(&["RESET"]), "+RESET\r\n");
    b.q(&["PING"]);
    assert_eq!(m.q(&["PING"]), "+PONG\r\n");
    // MONITOR inside EXEC is refused.
    assert_eq!(m.q(&["MULTI"]), "+OK\r\n");
    m.q(&["MONITOR"]);
    assert_eq!(
        m.q(&["EXEC"]),
        "*1\r\n-ERR MONITOR isn't allowed for DENY BLOCKING client\r\n"
    );

    // CLIENT REPLY.
    let mut c = s.raw();
    assert_eq!(c.q(&["CLIENT", "REPLY", "x"]), "-ERR syntax error\r\n");
    assert_eq!(
        c.q(&["CLIENT", "REPLY"]),
        "-ERR wrong number of arguments for 'client|reply' command\r\n"
    );
    let seq = pipeline(&[
        &["CLIENT", "REPLY", "OFF"][..],
        &["SET", "x", "1"],
        &["PING"],
        &["CLIENT", "REPLY", "SKIP"],
        &["CLIENT", "REPLY", "ON"],
        &["PING", "a"],
        &["CLIENT", "REPLY", "SKIP"],
        &["PING", "b"],
        &["PING", "c"],
    ]);
    c.send_raw(&seq);
    assert_eq!(reply(&mut c), "+OK\r\n");
    assert_eq!(reply(&mut c), "$1\r\na\r\n");
    assert_eq!(reply(&mut c), "$1\r\nc\r\n");
    assert_eq!(c.q(&["GET", "x"]), "$1\r\n1\r\n");

    // Under CLIENT REPLY OFF, pushes still go out (redis-server 7.0.15):
    // subscription confirmations and messages, not PING's reply nor
    // MONITOR lines.
    let mut p = s.raw();
    let seq = pipeline(&[
        &["CLIENT", "REPLY", "OFF"][..],
        &["SUBSCRIBE", "x", "y"],
        &["PSUBSCRIBE", "p*"],
        &["UNSUBSCRIBE", "x"],
        &["PING"],
    ]);
    p.send_raw(&seq);
    for want in [
        "*3\r\n$9\r\nsubscribe\r\n$1\r\nx\r\n:1\r\n",
        "*3\r\n$9\r\nsubscribe\r\n$1\r\ny\r\n:2\r\n",
        "*3\r\n$10\r\npsubscribe\r\n$2\r\np*\r\n:3\r\n",
        "*3\r\n$11\r\nunsubscribe\r\n$1\r\nx\r\n:2\r\n",
    ] {
        assert_eq!(reply(&mut p), want);
    }
    let mut q = s.raw();
    assert_eq!(q.q(&["PUBLISH", "pq", "m"]), ":1\r\n");
    assert_eq!(
        reply(&mut p),
        "*4\r\n$8\r\npmessage\r\n$2\r\np*\r\n$2\r\npq\r\n$1\r\nm\r\n"
    );

    // RESET: back to a fresh connection.
    let mut d = s.raw();
    d.resp3 = true;
    d.q(&["HELLO", "3"]);
    d.q(&["SELECT", "2"]);
    d.q(&["SET", "in2", "v"]);
    d.q(&["CLIENT", "SETNAME", "nm"]);
    d.q(&["WATCH", "x"]);
    d.q(&["SUBSCRIBE", "rs"]);
    d.q(&["MULTI"]);
    d.resp3 = false;
    assert_eq!(d.q(&["RESET"]), "+RESET\r\n");
    assert_eq!(d.q(&["CLIENT", "GETNAME"]), "$-1\r\n");
    assert_eq!(d.q(&["GET", "in2"]), "$-1\r\n");
    assert_eq!(d.q(&["PING"]), "+PONG\r\n");
    assert_eq!(b.q(&["PUBLISH", "rs", "x"]), ":0\r\n");
    assert_eq!(
        d.q(&["RESET", "x"]),
        "-ERR wrong number of arguments for 'reset' command\r\n"
    );
    // RESET is allowed in subscribed mode and leaves it.
    d.q(&["SUBSCRIBE", "rs"]);
    assert_eq!(d.q(&["RESET"]), "+RESET\r\n");
    assert_eq!(d.q(&["GET", "in2"]), "$-1\r\n");
}

per_backend! {
    pubsub_replies_and_modes => [replies],
    resp3_pushes_interleave_with_replies => [resp3],
    fifty_subscribers_get_every_message_in_order => [fan_out],
    monitor_client_reply_and_reset => [monitor_reply_reset],
}

/// Sharded pub/sub against redis-server 7.0: the same bytes for the same
/// session (confirmations and their counts, subscribed-mode rules, PUBSUB
/// SHARDCHANNELS / SHARDNUMSUB, `smessage` in RESP2 and RESP3, PUBLISH and
/// SPUBLISH not crossing, CLIENT LIST's counts and `P` flag).
#[test]
fn sharded_pubsub_as_redis_server() {
    let redis = common::redis_server();
    let kv = Server::kvserver("threads");
    let session = |s: &Server| -> Vec<String> {
        let mut out = Vec::new();
        let mut sub = s.raw();
        for args in [
            &["SSUBSCRIBE", "a", "b"][..],
            &["SUBSCRIBE", "c"],
            &["SSUBSCRIBE", "a"],
            &["SUNSUBSCRIBE", "a"],
            &["PING"],
            &["GET", "x"],
            &["SUNSUBSCRIBE"],
            &["SUNSUBSCRIBE"],
        ] {
            send(&mut sub, args);
        }
        // Two replies for the first SSUBSCRIBE, one for SUNSUBSCRIBE b.
        for _ in 0..9 {
            out.push(reply(&mut sub));
        }
        let mut listener = s.raw();
        out.push(listener.q(&["SSUBSCRIBE", "ch"]));
        let mut resp3 = s.raw();
        resp3.resp3 = true;
        resp3.q(&["HELLO", "3"]);
        out.push(resp3.q(&["SSUBSCRIBE", "ch"]));
        let mut p = s.raw();
        for args in [
            &["SPUBLISH", "ch", "hi"][..],
            &["PUBLISH", "ch", "not to shard subscribers"],
            &["PUBSUB", "SHARDCHANNELS"],
            &["PUBSUB", "SHARDCHANNELS", "c*"],
            &["PUBSUB", "SHARDNUMSUB", "ch", "zz"],
            &["PUBSUB", "CHANNELS"],
        ] {
            out.push(p.q(args));
        }
        out.push(reply(&mut listener));
        out.push(reply(&mut resp3));
        let list = p.q(&["CLIENT", "LIST"]);
        for line in list.lines().filter(|l| l.contains("flags=")) {
            let flags = line.split(" flags=").nth(1).unwrap();
            out.push(flags.split(" multi=").next().unwrap().to_string());
        }
        out
    };
    assert_eq!(session(&kv), session(&redis));
}
