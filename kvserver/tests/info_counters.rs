//! INFO's counters count: keyspace hits and misses (side by side with
//! redis-server 7.0 for read and write commands), expired keys (lazy and
//! active expiry), network bytes, reads and writes, pub/sub channels and
//! patterns; CONFIG RESETSTAT zeroes them. Tests wait on state (polling
//! INFO with a deadline), never on a fixed sleep.
//!
//! redis-server must be on PATH (Debian package `redis-server`).

mod common;

use common::{encode, redis_server, wait_until, Raw, Server};

/// One INFO field as a number.
fn field(c: &mut Raw, name: &str) -> u64 {
    let info = c.q(&["INFO", "everything"]);
    let prefix = format!("{name}:");
    let line = info
        .split("\r\n")
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("INFO has no {name}"));
    line[prefix.len()..].parse().unwrap()
}

#[test]
fn keyspace_hits_and_misses_as_redis_server_counts_them() {
    let redis = redis_server();
    let kv = Server::kvserver("threads");
    let script: &[&[&str]] = &[
        &["SET", "s", "1"],
        &["GET", "s"],
        &["GET", "nosuch"],
        &["INCR", "s"],
        &["APPEND", "s", "x"],
        &["STRLEN", "s"],
        &["EXISTS", "s", "nosuch"],
        &["TYPE", "s"],
        &["TTL", "s"],
        &["LPUSH", "l", "a"],
        &["LRANGE", "l", "0", "-1"],
        &["LPOP", "l"],
        &["LPOP", "l"],
        &["HSET", "h", "f", "v"],
        &["HGET", "h", "f"],
        &["HGET", "nosuch", "f"],
        &["HINCRBY", "h", "n", "1"],
        &["SADD", "st", "a"],
        &["SISMEMBER", "st", "a"],
        &["SINTER", "st", "nosuch"],
        &["ZADD", "z", "1", "a"],
        &["ZSCORE", "z", "a"],
        &["ZINCRBY", "z", "1", "a"],
        &["MGET", "h", "z", "nosuch"],
        &["EXPIRE", "h", "100"],
        &["RENAME", "h", "h2"],
        &["OBJECT", "ENCODING", "h2"],
        &["RANDOMKEY"],
        // Writes that read first count their reads (lookupKeyRead).
        &["GETSET", "nosuch2", "v"],
        &["GETDEL", "nosuch3"],
        &["SET", "s", "2", "GET"],
        &["COPY", "h2", "h3"],
        &["COPY", "nosuch", "h4"],
        &["SUNIONSTORE", "d", "st", "nosuch"],
        &["SINTERSTORE", "d", "st", "nosuch"],
        &["SUNION", "st", "nosuch"],
        &["DEL", "s"],
    ];
    let run = |s: &Server| -> Vec<(u64, u64)> {
        let mut c = s.raw();
        c.q(&["CONFIG", "RESETSTAT"]);
        script
            .iter()
            .map(|cmd| {
                c.q(cmd);
                (
                    field(&mut c, "keyspace_hits"),
                    field(&mut c, "keyspace_misses"),
                )
            })
            .collect()
    };
    let (want, got) = (run(&redis), run(&kv));
    for (i, cmd) in script.iter().enumerate() {
        assert_eq!(got[i], want[i], "hits and misses after {cmd:?}");
    }
    let mut c = kv.raw();
    c.q(&["CONFIG", "RESETSTAT"]);
    assert_eq!(field(&mut c, "keyspace_hits"), 0);
}

#[test]
fn expired_keys_count_lazy_and_active_expiry() {
    let kv = Server::kvserver("threads");
    let mut c = kv.raw();
    c.q(&["SET", "lazy", "v", "PX", "1"]);
    // GET deletes it once its millisecond has passed.
    wait_until("the key to expire", || c.q(&["GET", "lazy"]) == "$-1\r\n");
    assert_eq!(field(&mut c, "expired_keys"), 1);
    for i in 0..20 {
        c.q(&["SET", &format!("k{i}"), "v", "PX", "1"]);
    }
    // Nobody reads them: the active cycle deletes them.
    wait_until("the active expiry cycle", || c.q(&["DBSIZE"]) == ":0\r\n");
    assert_eq!(field(&mut c, "expired_keys"), 21);
}

#[test]
fn network_bytes_reads_and_writes_are_counted() {
    let kv = Server::kvserver("threads");
    let mut c = kv.raw();
    let info = encode(&[b"INFO", b"everything"]);
    let ping = encode(&[b"PING"]);
    let before_reads = field(&mut c, "total_reads_processed");
    let before_in = field(&mut c, "total_net_input_bytes");
    c.send_raw(&ping);
    assert_eq!(c.read_reply().unwrap(), b"+PONG\r\n");
    // Counted when received: this PING, the first INFO's own request
    // having been counted before it ran, then the second INFO request
    // (sent after the PONG came back, so each arrived alone).
    let after_in = field(&mut c, "total_net_input_bytes");
    assert_eq!(after_in - before_in, (ping.len() + info.len()) as u64);
    assert!(field(&mut c, "total_reads_processed") >= before_reads + 2);
    // Sends are counted when they complete: wait for the PONG's.
    let out0 = field(&mut c, "total_net_output_bytes");
    wait_until("sends to be counted", || {
        field(&mut c, "total_net_output_bytes") > out0
    });
    assert!(field(&mut c, "total_writes_processed") > 0);
}

#[test]
fn pubsub_channels_and_patterns_are_counted() {
    let kv = Server::kvserver("threads");
    let mut c = kv.raw();
    let mut sub = kv.raw();
    sub.q(&["SUBSCRIBE", "a", "b"]);
    sub.read_reply().unwrap();
    let mut psub = kv.raw();
    psub.q(&["PSUBSCRIBE", "x*"]);
    assert_eq!(field(&mut c, "pubsub_channels"), 2);
    assert_eq!(field(&mut c, "pubsub_patterns"), 1);
    drop(sub);
    wait_until("the subscriber's channels to go", || {
        field(&mut c, "pubsub_channels") == 0
    });
    assert_eq!(field(&mut c, "pubsub_patterns"), 1);
}
