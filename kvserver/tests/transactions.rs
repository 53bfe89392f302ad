//! MULTI/EXEC/DISCARD/WATCH/UNWATCH on the threads and uring backends:
//! Redis 7's exact replies and errors, EXECABORT, WATCH aborted by another
//! client and by expiry, and atomicity of transactions over keys on
//! different shards under concurrent readers and writers.

mod common;

use common::{Raw, Server};
use std::time::Duration;

fn basics(s: &Server) {
    let mut c = s.raw();
    assert_eq!(c.q(&["EXEC"]), "-ERR EXEC without MULTI\r\n");
    assert_eq!(c.q(&["DISCARD"]), "-ERR DISCARD without MULTI\r\n");
    assert_eq!(c.q(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.q(&["MULTI"]), "-ERR MULTI calls can not be nested\r\n");
    assert_eq!(
        c.q(&["WATCH", "x"]),
        "-ERR WATCH inside MULTI is not allowed\r\n"
    );
    assert_eq!(c.q(&["SET", "a", "1"]), "+QUEUED\r\n");
    assert_eq!(c.q(&["INCR", "a"]), "+QUEUED\r\n");
    assert_eq!(c.q(&["GET", "a"]), "+QUEUED\r\n");
    assert_eq!(c.q(&["SET", "s", "x"]), "+QUEUED\r\n");
    // A runtime error is returned in place; the rest still runs.
    assert_eq!(c.q(&["INCR", "s"]), "+QUEUED\r\n");
    assert_eq!(c.q(&["LPUSH", "l", "v"]), "+QUEUED\r\n");
    assert_eq!(c.q(&["DBSIZE"]), "+QUEUED\r\n");
    assert_eq!(
        c.q(&["EXEC"]),
        "*7\r\n+OK\r\n:2\r\n$1\r\n2\r\n+OK\r\n\
         -ERR value is not an integer or out of range\r\n:1\r\n:3\r\n"
    );
    assert_eq!(c.q(&["EXEC"]), "-ERR EXEC without MULTI\r\n");
    // An empty transaction.
    assert_eq!(c.q(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.q(&["EXEC"]), "*0\r\n");
    // DISCARD drops the queue.
    assert_eq!(c.q(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.q(&["SET", "a", "discarded"]), "+QUEUED\r\n");
    assert_eq!(c.q(&["DISCARD"]), "+OK\r\n");
    assert_eq!(c.q(&["GET", "a"]), "$1\r\n2\r\n");
    // SELECT inside a transaction applies to the commands after it; SCAN
    // (which locks shards itself) works inside EXEC.
    assert_eq!(c.q(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.q(&["SELECT", "5"]), "+QUEUED\r\n");
    assert_eq!(c.q(&["SET", "in5", "v"]), "+QUEUED\r\n");
    assert_eq!(c.q(&["SCAN", "0", "COUNT", "1000"]), "+QUEUED\r\n");
    assert_eq!(
        c.q(&["EXEC"]),
        "*3\r\n+OK\r\n+OK\r\n*2\r\n$1\r\n0\r\n*1\r\n$3\r\nin5\r\n"
    );
    assert_eq!(c.q(&["GET", "in5"]), "$1\r\nv\r\n");
    assert_eq!(c.q(&["FLUSHDB"]), "+OK\r\n");
    assert_eq!(c.q(&["SELECT", "0"]), "+OK\r\n");
    // QUIT inside MULTI is executed at once.
    let mut q = s.raw();
    assert_eq!(q.q(&["MULTI"]), "+OK\r\n");
    assert_eq!(q.q(&["QUIT"]), "+OK\r\n");
    assert!(q.read_reply().is_none());
}

fn execabort(s: &Server) {
    let mut c = s.raw();
    assert_eq!(c.q(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.q(&["SET", "ea", "1"]), "+QUEUED\r\n");
    assert_eq!(
        c.q(&["NOSUCH", "x"]),
        "-ERR unknown command 'NOSUCH', with args beginning with: 'x' \r\n"
    );
    assert_eq!(
        c.q(&["GET"]),
        "-ERR wrong number of arguments for 'get' command\r\n"
    );
    assert_eq!(c.q(&["SET", "eb", "1"]), "+QUEUED\r\n");
    assert_eq!(
        c.q(&["EXEC"]),
        "-EXECABORT Transaction discarded because of previous errors.\r\n"
    );
    assert_eq!(c.q(&["EXISTS", "ea", "eb"]), ":0\r\n");
    assert_eq!(c.q(&["EXEC"]), "-ERR EXEC without MULTI\r\n");
    // The error flag does not leak into the next transaction.
    assert_eq!(c.q(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.q(&["SET", "ea", "1"]), "+QUEUED\r\n");
    assert_eq!(c.q(&["EXEC"]), "*1\r\n+OK\r\n");
    // Outside MULTI an unknown command is just an error.
    assert_eq!(
        c.q(&["NOSUCH"]),
        "-ERR unknown command 'NOSUCH', with args beginning with: \r\n"
    );
}

fn watch(s: &Server) {
    let mut c = s.raw();
    let mut other = s.raw();
    // Untouched: EXEC runs.
    assert_eq!(c.q(&["SET", "w", "0"]), "+OK\r\n");
    assert_eq!(c.q(&["WATCH", "w", "w2"]), "+OK\r\n");
    assert_eq!(c.q(&["WATCH", "w"]), "+OK\r\n");
    assert_eq!(c.q(&["GET", "w"]), "$1\r\n0\r\n");
    assert_eq!(c.q(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.q(&["INCR", "w"]), "+QUEUED\r\n");
    assert_eq!(c.q(&["EXEC"]), "*1\r\n:1\r\n");
    // Touched by another client: aborted, nothing applied.
    assert_eq!(c.q(&["WATCH", "w"]), "+OK\r\n");
    assert_eq!(other.q(&["SET", "w", "other"]), "+OK\r\n");
    assert_eq!(c.q(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.q(&["SET", "w", "mine"]), "+QUEUED\r\n");
    assert_eq!(c.q(&["EXEC"]), "*-1\r\n");
    assert_eq!(c.q(&["GET", "w"]), "$5\r\nother\r\n");
    // EXEC unwatched everything: the next transaction runs.
    assert_eq!(other.q(&["SET", "w", "again"]), "+OK\r\n");
    assert_eq!(c.q(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.q(&["GET", "w"]), "+QUEUED\r\n");
    assert_eq!(c.q(&["EXEC"]), "*1\r\n$5\r\nagain\r\n");
    // Deleting a watched key, or creating a missing one, aborts.
    assert_eq!(c.q(&["WATCH", "w", "missing"]), "+OK\r\n");
    assert_eq!(other.q(&["DEL", "w"]), ":1\r\n");
    assert_eq!(c.q(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.q(&["EXEC"]), "*-1\r\n");
    assert_eq!(c.q(&["WATCH", "missing"]), "+OK\r\n");
    assert_eq!(other.q(&["RPUSH", "missing", "x"]), ":1\r\n");
    assert_eq!(c.q(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.q(&["EXEC"]), "*-1\r\n");
    // UNWATCH forgets; so does DISCARD.
    assert_eq!(c.q(&["WATCH", "missing"]), "+OK\r\n");
    assert_eq!(c.q(&["UNWATCH"]), "+OK\r\n");
    assert_eq!(other.q(&["RPUSH", "missing", "y"]), ":2\r\n");
    assert_eq!(c.q(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.q(&["EXEC"]), "*0\r\n");
    assert_eq!(c.q(&["WATCH", "missing"]), "+OK\r\n");
    assert_eq!(c.q(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.q(&["DISCARD"]), "+OK\r\n");
    assert_eq!(other.q(&["RPUSH", "missing", "z"]), ":3\r\n");
    assert_eq!(c.q(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.q(&["EXEC"]), "*0\r\n");
    // The client's own writes before MULTI count too (as in Redis).
    assert_eq!(c.q(&["WATCH", "w"]), "+OK\r\n");
    assert_eq!(c.q(&["SET", "w", "self"]), "+OK\r\n");
    assert_eq!(c.q(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.q(&["EXEC"]), "*-1\r\n");
    // FLUSHALL touches a watched key that existed; WATCH is per database.
    assert_eq!(c.q(&["WATCH", "w"]), "+OK\r\n");
    assert_eq!(other.q(&["SELECT", "1"]), "+OK\r\n");
    assert_eq!(other.q(&["SET", "w", "db1"]), "+OK\r\n");
    assert_eq!(c.q(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.q(&["EXEC"]), "*0\r\n", "a write in db 1 is not db 0's");
    assert_eq!(c.q(&["WATCH", "w"]), "+OK\r\n");
    assert_eq!(other.q(&["FLUSHALL"]), "+OK\r\n");
    assert_eq!(c.q(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.q(&["EXEC"]), "*-1\r\n");
    // RESP3: an aborted EXEC is a null.
    assert_eq!(c.q(&["SET", "w", "1"]), "+OK\r\n");
    c.resp3 = true;
    c.q(&["HELLO", "3"]);
    assert_eq!(c.q(&["WATCH", "w"]), "+OK\r\n");
    assert_eq!(other.q(&["SELECT", "0"]), "+OK\r\n");
    assert_eq!(other.q(&["INCR", "w"]), ":2\r\n");
    assert_eq!(c.q(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.q(&["EXEC"]), "_\r\n");
    // A client that disconnects while watching leaves nothing behind that
    // affects others.
    let mut gone = s.raw();
    assert_eq!(gone.q(&["WATCH", "w"]), "+OK\r\n");
    drop(gone);
    assert_eq!(other.q(&["WATCH", "w"]), "+OK\r\n");
    assert_eq!(other.q(&["MULTI"]), "+OK\r\n");
    assert_eq!(other.q(&["EXEC"]), "*0\r\n");
}

fn watch_expiry(s: &Server) {
    let mut c = s.raw();
    assert_eq!(c.q(&["SET", "e", "v", "PX", "100"]), "+OK\r\n");
    assert_eq!(c.q(&["WATCH", "e"]), "+OK\r\n");
    std::thread::sleep(Duration::from_millis(250));
    assert_eq!(c.q(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.q(&["SET", "e", "new"]), "+QUEUED\r\n");
    assert_eq!(c.q(&["EXEC"]), "*-1\r\n", "the watched key expired");
    assert_eq!(c.q(&["EXISTS", "e"]), ":0\r\n");
    // A deadline that has not passed yet does not abort.
    assert_eq!(c.q(&["SET", "e", "v", "EX", "100"]), "+OK\r\n");
    assert_eq!(c.q(&["WATCH", "e"]), "+OK\r\n");
    assert_eq!(c.q(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.q(&["GET", "e"]), "+QUEUED\r\n");
    assert_eq!(c.q(&["EXEC"]), "*1\r\n$1\r\nv\r\n");
}

/// Keys spread over several shards, incremented together in MULTI by
/// writers while readers MGET them all: every reader must see them equal.
/// Then an optimistic WATCH/MULTI counter from several clients must count
/// every successful EXEC exactly once.
fn atomicity(s: &Server) {
    const KEYS: usize = 8;
    let keys: Vec<String> = (0..KEYS).map(|i| format!("atom:{i}")).collect();
    let port = s.port;
    let writers: Vec<_> = (0..2)
        .map(|_| {
            let keys = keys.clone();
            std::thread::spawn(move || {
                let mut c = Raw::connect(port);
                for _ in 0..150 {
                    let mut batch = common::encode(&[b"MULTI"]);
                    for k in &keys {
                        batch.extend(common::encode(&[b"INCR", k.as_bytes()]));
                    }
                    batch.extend(common::encode(&[b"EXEC"]));
                    c.send_raw(&batch);
                    for _ in 0..KEYS + 1 {
                        c.read_reply();
                    }
                    let exec = String::from_utf8(c.read_reply().unwrap()).unwrap();
                    assert!(exec.starts_with(&format!("*{KEYS}\r\n")), "{exec}");
                }
            })
        })
        .collect();
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let keys = keys.clone();
            std::thread::spawn(move || {
                let mut c = Raw::connect(port);
                let mut args: Vec<&str> = vec!["MGET"];
                args.extend(keys.iter().map(String::as_str));
                for _ in 0..300 {
                    let r = c.q(&args);
                    let vals: Vec<&str> = r
                        .split("\r\n")
                        .skip(1)
                        .filter(|l| !l.starts_with('$') && !l.is_empty())
                        .collect();
                    assert!(
                        vals.windows(2).all(|w| w[0] == w[1]),
                        "a half-applied transaction: {r:?}"
                    );
                }
            })
        })
        .collect();
    for t in writers.into_iter().chain(readers) {
        t.join().unwrap();
    }
    let mut c = s.raw();
    assert_eq!(c.q(&["GET", "atom:7"]), "$3\r\n300\r\n");

    // WATCH-based compare-and-set from several clients.
    let done: Vec<_> = (0..3)
        .map(|_| {
            std::thread::spawn(move || {
                let mut c = Raw::connect(port);
                let mut ok = 0;
                while ok < 50 {
                    c.q(&["WATCH", "cas"]);
                    let cur = c.q(&["GET", "cas"]);
                    let n: i64 = match cur.split("\r\n").nth(1) {
                        Some(v) if !v.is_empty() => v.parse().unwrap(),
                        _ => 0,
                    };
                    c.q(&["MULTI"]);
                    c.q(&["SET", "cas", &(n + 1).to_string()]);
                    c.q(&["SET", "cas:other", "x"]);
                    if c.q(&["EXEC"]) != "*-1\r\n" {
                        ok += 1;
                    }
                }
            })
        })
        .collect();
    for t in done {
        t.join().unwrap();
    }
    assert_eq!(c.q(&["GET", "cas"]), "$3\r\n150\r\n");
}

per_backend! {
    multi_exec_discard_and_errors => [basics, execabort],
    watch_aborts_on_changes_and_expiry => [watch, watch_expiry],
    exec_is_atomic_across_shards => [atomicity],
}
