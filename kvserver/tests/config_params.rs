//! CONFIG GET / SET side by side with redis-server 7.0: every parameter
//! redis-server knows (and its aliases) is known here with the same
//! default, and the same values are accepted (shown the same way by CONFIG
//! GET) or refused with the same error. The encoding thresholds change
//! OBJECT ENCODING's answers as they do in Redis.
//!
//! redis-server must be on PATH (Debian package `redis-server`; CI
//! installs it): without it these tests fail, they do not skip.

mod common;

use common::{redis_server, Raw, Server};

/// CONFIG GET's reply as (name, value) pairs.
fn config_all(c: &mut Raw) -> Vec<(String, String)> {
    let reply = c.cmd(&[b"CONFIG", b"GET", b"*"]);
    let text = String::from_utf8_lossy(&reply).into_owned();
    let mut lines = text.split("\r\n");
    let n: usize = lines.next().unwrap()[1..].parse().unwrap();
    let mut words = Vec::with_capacity(n);
    while words.len() < n {
        let len = lines.next().unwrap();
        assert!(len.starts_with('$'), "{len}");
        words.push(lines.next().unwrap().to_string());
    }
    words
        .chunks(2)
        .map(|p| (p[0].clone(), p[1].clone()))
        .collect()
}

/// Parameters whose values differ by design or by the way each server was
/// started (kvserver/README.md says why for each default).
const OWN_DEFAULTS: &[&str] = &["bind", "daemonize", "dir", "io-threads", "pidfile", "port"];

/// kvserver's own parameters (redis-server has no such names).
const OWN_PARAMS: &[&str] = &["lua-memory-limit", "shard-dispatch"];

#[test]
fn every_redis_parameter_is_known_with_its_default() {
    let redis = redis_server();
    let kv = Server::kvserver("threads");
    let (r, k) = (config_all(&mut redis.raw()), config_all(&mut kv.raw()));
    assert!(r.len() > 180, "redis-server lists {} parameters", r.len());
    let kmap: std::collections::BTreeMap<_, _> = k.iter().cloned().collect();
    for (name, value) in &r {
        let Some(mine) = kmap.get(name) else {
            panic!("{name} is unknown to kvserver");
        };
        if !OWN_DEFAULTS.contains(&name.as_str()) {
            assert_eq!(mine, value, "default of {name}");
        }
    }
    let rnames: Vec<&str> = r.iter().map(|(n, _)| n.as_str()).collect();
    for (name, _) in &k {
        assert!(
            rnames.contains(&name.as_str()) || OWN_PARAMS.contains(&name.as_str()),
            "{name} is not a redis-server 7.0 parameter"
        );
    }
}

/// Values tried on every parameter: good and bad for each kind (integers,
/// memory values and their limits, enums, percentages, lists).
const VALUES: &[&str] = &[
    "notavalue__",
    "-1",
    "0",
    "99999999999999999999",
    "9223372036854775807",
    "1gb",
    "10%",
    "101%",
    "",
    "yes",
    "NO",
    "1 2 3",
    "100",
    "-2001 0 0",
    "50 99",
    "99.90 50 101",
    "a.b-c",
    "a_b",
    "{title}",
    "x {port}",
    "{title} {bad}",
    "700",
    "host 6379",
    "no one",
    "1.5",
    "KEA",
    "Kx$z",
    "normal 1mb 2mb 3",
    "pubsub 1 2",
    "3600 1 300",
];

/// (parameter, value) pairs where kvserver answers differently on purpose:
/// it has no TLS (redis-server fails to load certificates that are not
/// there) and Debian's redis-server has no jemalloc for activedefrag.
fn deviation(name: &str, value: &str) -> bool {
    matches!(
        (name, value),
        ("activedefrag", "yes" | "NO")
            | ("tls-cluster" | "tls-replication", "yes")
            // Redis reads the saturated number as a negative percentage.
            | ("maxmemory-clients", "99999999999999999999")
    )
}

/// Parameters not tried: changing them would cut the test's connection
/// (port, bind, requirepass, maxclients 0/1), move the server's files
/// (dir, dbfilename), or open a listener (tls-port).
const NOT_TRIED: &[&str] = &[
    "port",
    "bind",
    "requirepass",
    "maxclients",
    "dir",
    "dbfilename",
    "tls-port",
    "timeout",
];

fn set_then_get(c: &mut Raw, name: &str, value: &str) -> String {
    let set = c.q(&["CONFIG", "SET", name, value]);
    let get = c.q(&["CONFIG", "GET", name]);
    format!("{set} -> {get}")
}

#[test]
fn config_set_accepts_and_refuses_what_redis_server_does() {
    let redis = redis_server();
    let kv = Server::kvserver("threads");
    let (mut r, mut k) = (redis.raw(), kv.raw());
    let params = config_all(&mut r);
    let mine: std::collections::BTreeMap<_, _> = config_all(&mut k).into_iter().collect();
    let mut tried = 0;
    for (name, original) in &params {
        if NOT_TRIED.contains(&name.as_str()) {
            continue;
        }
        for value in VALUES {
            if deviation(name, value) {
                continue;
            }
            let mut want = set_then_get(&mut r, name, value);
            let mut got = set_then_get(&mut k, name, value);
            if OWN_DEFAULTS.contains(&name.as_str()) {
                // The value shown may be each server's own: the answer to
                // SET must still be the same.
                want.truncate(want.find(" -> ").unwrap());
                got.truncate(got.find(" -> ").unwrap());
            }
            assert_eq!(got, want, "CONFIG SET {name} {value:?}");
            // Back to each server's own value (see OWN_DEFAULTS).
            r.q(&["CONFIG", "SET", name, original]);
            k.q(&["CONFIG", "SET", name, &mine[name]]);
            tried += 1;
        }
    }
    assert!(tried > 5000, "{tried} pairs tried");
}

#[test]
fn aliases_set_both_names_in_one_call_as_redis_server() {
    let redis = redis_server();
    let kv = Server::kvserver("threads");
    for s in [&redis, &kv] {
        let mut c = s.raw();
        assert_eq!(
            c.q(&[
                "CONFIG",
                "SET",
                "slave-read-only",
                "yes",
                "replica-read-only",
                "no"
            ]),
            "+OK\r\n"
        );
        assert!(c
            .q(&["CONFIG", "GET", "slave-read-only"])
            .ends_with("$2\r\nno\r\n"));
        assert_eq!(
            c.q(&["CONFIG", "SET", "hz", "10", "hz", "11"]),
            "-ERR CONFIG SET failed (possibly related to argument 'hz') - duplicate parameter\r\n"
        );
        c.q(&["CONFIG", "SET", "list-max-ziplist-size", "5"]);
        assert!(c
            .q(&["CONFIG", "GET", "list-max-listpack-size"])
            .ends_with("$1\r\n5\r\n"));
    }
}

#[test]
fn encoding_thresholds_change_object_encoding_as_in_redis_server() {
    let redis = redis_server();
    let kv = Server::kvserver("threads");
    let script: &[&[&str]] = &[
        &["CONFIG", "SET", "hash-max-ziplist-entries", "2"],
        &["HSET", "h", "a", "1", "b", "2"],
        &["OBJECT", "ENCODING", "h"],
        &["HSET", "h", "c", "3"],
        &["OBJECT", "ENCODING", "h"],
        // Converted stays converted when the threshold goes back up.
        &["CONFIG", "SET", "hash-max-listpack-entries", "512"],
        &["HDEL", "h", "c", "b"],
        &["OBJECT", "ENCODING", "h"],
        &["CONFIG", "SET", "hash-max-listpack-value", "2"],
        &["HSET", "h2", "f", "abc"],
        &["OBJECT", "ENCODING", "h2"],
        &["CONFIG", "SET", "set-max-intset-entries", "2"],
        &["SADD", "s", "1", "2"],
        &["OBJECT", "ENCODING", "s"],
        &["SADD", "s", "3"],
        &["OBJECT", "ENCODING", "s"],
        &["CONFIG", "SET", "zset-max-listpack-entries", "0"],
        &["ZADD", "z", "1", "a"],
        &["OBJECT", "ENCODING", "z"],
        &["CONFIG", "SET", "zset-max-listpack-entries", "128"],
        &["CONFIG", "SET", "zset-max-ziplist-value", "3"],
        &["ZADD", "z2", "1", "abc", "2", "abcd"],
        &["OBJECT", "ENCODING", "z2"],
        // A listpack stores an integral score as an integer: -0 is 0.
        &["CONFIG", "SET", "zset-max-listpack-value", "64"],
        &["ZADD", "z3", "-0", "m"],
        &["ZSCORE", "z3", "m"],
        &["CONFIG", "SET", "zset-max-listpack-entries", "0"],
        &["ZADD", "z4", "-0", "m"],
        &["ZSCORE", "z4", "m"],
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
