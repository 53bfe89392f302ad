//! CLIENT PAUSE / UNPAUSE, CLIENT UNBLOCK, WAIT (no replicas), MODULE and
//! LOLWUT: their replies and errors side by side with redis-server 7.0,
//! and what a pause holds (writes, scripts that may write, EXEC of a write
//! transaction) while reads go on. Tests wait on state (a key's value,
//! INFO's blocked_clients), never on a fixed sleep.
//!
//! redis-server must be on PATH (Debian package `redis-server`).

mod common;

use common::{encode, redis_server, wait_until, Raw, Server};
use std::time::{Duration, Instant};

fn blocked_clients(c: &mut Raw) -> String {
    let info = c.q(&["INFO", "clients"]);
    info.split("\r\n")
        .find_map(|l| l.strip_prefix("blocked_clients:"))
        .unwrap()
        .to_string()
}

#[test]
fn replies_and_errors_as_redis_server() {
    let redis = redis_server();
    let kv = Server::kvserver("threads");
    let script: &[&[&str]] = &[
        &["CLIENT", "PAUSE", "x"],
        &["CLIENT", "PAUSE", "-1"],
        &["CLIENT", "PAUSE", "-1", "FOO"],
        &["CLIENT", "PAUSE", "10", "WRITE", "x"],
        &["CLIENT", "PAUSE", "0"],
        &["CLIENT", "PAUSE", "0", "write"],
        &["CLIENT", "UNPAUSE"],
        &["CLIENT", "UNPAUSE", "x"],
        &["CLIENT", "UNBLOCK", "999999"],
        &["CLIENT", "UNBLOCK", "x"],
        &["CLIENT", "UNBLOCK", "1", "x"],
        &["CLIENT", "UNBLOCK", "1", "timeout"],
        &["CLIENT", "UNBLOCK", "1", "TIMEOUT", "x"],
        &["WAIT", "0", "0"],
        &["WAIT", "x", "0"],
        &["WAIT", "0", "x"],
        &["WAIT", "0", "-1"],
        &["WAIT", "1"],
        &["MODULE", "LIST"],
        &["MODULE", "HELP"],
        &["MODULE", "LOAD", "/nonexistent.so"],
        &["MODULE", "UNLOAD", "x"],
        &["MODULE", "FOO"],
        &["LOLWUT"],
        &["LOLWUT", "VERSION", "1"],
        &["LOLWUT", "VERSION", "x"],
        &["LOLWUT", "VERSION"],
        // Two rows of squares: no random displacement yet, the same art.
        &["LOLWUT", "VERSION", "5", "30", "3", "2"],
    ];
    let run = |s: &Server| -> Vec<String> {
        let mut c = s.raw();
        script.iter().map(|cmd| c.q(cmd)).collect()
    };
    let (want, got) = (run(&redis), run(&kv));
    for (i, cmd) in script.iter().enumerate() {
        assert_eq!(got[i], want[i], "{cmd:?}");
    }
}

#[test]
fn pause_write_holds_writes_while_reads_go_on() {
    let kv = Server::kvserver("threads");
    let (mut admin, mut writer, mut reader) = (kv.raw(), kv.raw(), kv.raw());
    admin.q(&["SET", "k", "before"]);
    assert_eq!(admin.q(&["CLIENT", "PAUSE", "100000", "WRITE"]), "+OK\r\n");
    // A write, a script that may write, and a write transaction: held.
    writer.send_raw(&encode(&[b"SET", b"k", b"after"]));
    let mut scripted = kv.raw();
    scripted.send_raw(&encode(&[
        b"EVAL",
        b"return redis.call('SET', 's', '1')",
        b"0",
    ]));
    let mut tx = kv.raw();
    assert_eq!(tx.q(&["MULTI"]), "+OK\r\n");
    assert_eq!(tx.q(&["INCR", "n"]), "+QUEUED\r\n");
    tx.send_raw(&encode(&[b"EXEC"]));
    // Reads go on, and see none of them; so do read-only scripts.
    for _ in 0..50 {
        assert_eq!(reader.q(&["GET", "k"]), "$6\r\nbefore\r\n");
        assert_eq!(reader.q(&["EXISTS", "s", "n"]), ":0\r\n");
    }
    assert_eq!(
        reader.q(&[
            "EVAL",
            "#!lua flags=no-writes\nreturn redis.call('GET', 'k')",
            "0"
        ]),
        "$6\r\nbefore\r\n"
    );
    // UNPAUSE is no write: it runs, and the held commands go.
    assert_eq!(admin.q(&["CLIENT", "UNPAUSE"]), "+OK\r\n");
    assert_eq!(writer.read_reply().unwrap(), b"+OK\r\n");
    assert_eq!(scripted.read_reply().unwrap(), b"+OK\r\n");
    assert_eq!(tx.read_reply().unwrap(), b"*1\r\n:1\r\n");
    assert_eq!(reader.q(&["GET", "k"]), "$5\r\nafter\r\n");
}

#[test]
fn pause_all_holds_everything_until_it_ends() {
    let kv = Server::kvserver("threads");
    let (mut admin, mut other) = (kv.raw(), kv.raw());
    let start = Instant::now();
    assert_eq!(admin.q(&["CLIENT", "PAUSE", "300", "ALL"]), "+OK\r\n");
    assert_eq!(other.q(&["PING"]), "+PONG\r\n");
    assert!(
        start.elapsed() >= Duration::from_millis(250),
        "PING answered {:?} into a 300 ms pause",
        start.elapsed()
    );
}

#[test]
fn a_shorter_pause_does_not_end_a_longer_one() {
    let kv = Server::kvserver("threads");
    let (mut admin, mut writer, mut reader) = (kv.raw(), kv.raw(), kv.raw());
    admin.q(&["CLIENT", "PAUSE", "100000", "WRITE"]);
    admin.q(&["CLIENT", "PAUSE", "1", "WRITE"]);
    writer.send_raw(&encode(&[b"SET", b"k", b"v"]));
    // Well past the second pause's end, the write is still held.
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(100) {
        assert_eq!(reader.q(&["EXISTS", "k"]), ":0\r\n");
    }
    admin.q(&["CLIENT", "UNPAUSE"]);
    assert_eq!(writer.read_reply().unwrap(), b"+OK\r\n");
}

#[test]
fn unblock_answers_a_blocked_client_as_its_timeout_or_an_error() {
    let kv = Server::kvserver("threads");
    let mut admin = kv.raw();
    for (reason, want) in [
        ("TIMEOUT", &b"*-1\r\n"[..]),
        (
            "ERROR",
            b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n",
        ),
    ] {
        let mut b = kv.raw();
        let id = b.q(&["CLIENT", "ID"]);
        let id = id.trim_start_matches(':').trim_end();
        b.send_raw(&encode(&[b"BLPOP", b"nolist", b"0"]));
        wait_until("the client to block", || blocked_clients(&mut admin) == "1");
        assert_eq!(admin.q(&["CLIENT", "UNBLOCK", id, reason]), ":1\r\n");
        assert_eq!(b.read_reply().unwrap(), want);
        assert_eq!(blocked_clients(&mut admin), "0");
        // It goes on with its next request.
        assert_eq!(b.q(&["PING"]), "+PONG\r\n");
        assert_eq!(admin.q(&["CLIENT", "UNBLOCK", id]), ":0\r\n");
    }
}

#[test]
fn wait_without_replicas_answers_zero_at_its_timeout() {
    let kv = Server::kvserver("threads");
    let mut admin = kv.raw();
    let mut c = kv.raw();
    assert_eq!(c.q(&["WAIT", "0", "0"]), ":0\r\n");
    let start = Instant::now();
    assert_eq!(c.q(&["WAIT", "1", "100"]), ":0\r\n");
    assert!(start.elapsed() >= Duration::from_millis(90));
    // For ever, until CLIENT UNBLOCK (a timeout's answer: 0 replicas).
    let id = c.q(&["CLIENT", "ID"]);
    let id = id.trim_start_matches(':').trim_end();
    c.send_raw(&encode(&[b"WAIT", b"2", b"0"]));
    wait_until("WAIT to block", || blocked_clients(&mut admin) == "1");
    assert_eq!(admin.q(&["CLIENT", "UNBLOCK", id]), ":1\r\n");
    assert_eq!(c.read_reply().unwrap(), b":0\r\n");
    // Inside MULTI it cannot block.
    c.q(&["MULTI"]);
    c.q(&["WAIT", "5", "0"]);
    assert_eq!(c.q(&["EXEC"]), "*1\r\n:0\r\n");
}

#[test]
fn lolwut_version_5_draws_schotter() {
    let kv = Server::kvserver("threads");
    let mut c = kv.raw();
    let art = c.q(&["LOLWUT", "VERSION", "5", "20", "4", "3"]);
    assert!(
        art.contains("Georg Nees - schotter, plotter on paper, 1968. Redis ver. 7.0.15\n"),
        "{art}"
    );
    // 20 columns of Braille characters per row.
    let first = art.split("\r\n").nth(1).unwrap().lines().next().unwrap();
    assert_eq!(first.chars().count(), 20);
    assert_eq!(
        c.q(&["LOLWUT", "VERSION", "5", "x"]),
        "-ERR value is not an integer or out of range\r\n"
    );
}
