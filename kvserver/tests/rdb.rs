//! RDB persistence: dump.rdb files move both ways between kvserver and
//! Debian's redis-server 7.0 (every type and encoding, expiries, several
//! databases), DUMP/RESTORE payloads both ways, BGSAVE is a consistent
//! point-in-time while clients write, save points, SIGTERM/SHUTDOWN
//! [NO]SAVE, and a corrupt file stops start-up with the file and offset.
//!
//! The redis-server tests need the Debian package redis-server and fail
//! without it, as the AOF tests do.

mod common;

use common::{on_path, term, wait_exit, Raw, Server, TempDir};
use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const KV: &str = env!("CARGO_BIN_EXE_kvserver");

fn kvserver(dir: &TempDir, extra: &[&str]) -> Server {
    let d = dir.s();
    Server::spawn(KV, |port| {
        let mut v: Vec<String> = [
            "--port",
            &port.to_string(),
            "--io-threads",
            "2",
            "--backend",
            "threads",
            "--dir",
            &d,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    })
}

fn redis_server(dir: &TempDir) -> Server {
    assert!(
        on_path("redis-server"),
        "redis-server is not on PATH: install the Debian package redis-server (CI does); \
         the RDB interoperability tests cannot run without it"
    );
    let d = dir.s();
    Server::spawn("redis-server", |port| {
        [
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            &d,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    })
}

/// Exit timeout of the servers here.
const EXIT: Duration = Duration::from_secs(30);

fn wait_bgsave(c: &mut Raw) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let info = c.q(&["INFO", "persistence"]);
        if info.contains("rdb_bgsave_in_progress:0") {
            assert!(info.contains("rdb_last_bgsave_status:ok"), "{info}");
            return;
        }
        assert!(Instant::now() < deadline, "bgsave did not finish: {info}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every key of databases 0..4 (common::dataset, with encodings).
fn dump(port: u16) -> BTreeMap<String, String> {
    common::dataset(port, true)
}

/// The two views agree (differences shown per key, shortened).
fn assert_same(got: &BTreeMap<String, String>, want: &BTreeMap<String, String>) {
    let short = |s: Option<&String>| -> String {
        s.map_or("(missing)".into(), |s| s.chars().take(400).collect())
    };
    let mut diffs = Vec::new();
    for k in want.keys().chain(got.keys()) {
        if got.get(k) != want.get(k) {
            diffs.push(format!(
                "{k}:\n   got  {}\n   want {}",
                short(got.get(k)),
                short(want.get(k))
            ));
        }
    }
    diffs.dedup();
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

fn ok(r: String) {
    assert!(!r.starts_with('-'), "{r}");
}

/// Every type in every encoding Redis 7.0 has: int/embstr/raw strings
/// (short ints, LZF-compressible and incompressible long ones, binary),
/// small and big lists, intset and hashtable sets, listpack and hashtable
/// hashes, listpack and skiplist sorted sets (±inf, decimals), streams
/// (several nodes, deletions, XSETID, a consumer group), deadlines, and
/// databases 0, 1 and 3.
fn populate(c: &mut Raw) {
    let far = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        + 3_600_000)
        .to_string();
    let long_rep = "abcdefgh".repeat(40);
    let mut noisy = String::new();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..300 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        noisy.push(char::from(b'!' + (x % 90) as u8));
    }
    for cmd in [
        vec!["SET", "s:int", "12345"],
        vec!["SET", "s:neg", "-7"],
        vec!["SET", "s:i8", "100"],
        vec!["SET", "s:i16", "-30000"],
        vec!["SET", "s:i32", "2000000000"],
        vec!["SET", "s:i64", "1234567890123456"],
        vec!["SET", "s:lead0", "007"],
        vec!["SET", "s:emb", "hello world"],
        vec!["SET", "s:lzf", &long_rep],
        vec!["SET", "s:noisy", &noisy],
        vec!["SET", "s:bin", "a\0b\r\nc\u{ff}"],
        vec!["SET", "s:empty", ""],
        vec!["SET", "s:ttl", "v", "PXAT", &far],
        vec!["RPUSH", "l:small", "a", "1", "-2", "", &long_rep],
        vec!["HSET", "h:small", "f1", "v1", "n", "42", "neg", "-1"],
        vec!["HSET", "h:long", "f", &long_rep],
        vec![
            "SADD",
            "set:int",
            "1",
            "2",
            "3",
            "-5",
            "70000",
            "5000000000",
        ],
        vec!["SADD", "set:str", "a", "b", "c", "1"],
        vec![
            "ZADD", "z:small", "1", "a", "2.5", "b", "-3", "c", "inf", "top", "-inf", "bottom",
            "0.1", "tenth",
        ],
        vec!["ZADD", "z:long", "1", &long_rep],
        vec!["XADD", "x:small", "1-1", "f", "v"],
        vec!["XADD", "x:small", "1-2", "f", "w", "g", "z"],
        vec!["XADD", "x:small", "5-0", "n", "123"],
        vec!["XDEL", "x:small", "1-2"],
        vec!["XADD", "x:empty", "3-3", "a", "b"],
        vec!["XDEL", "x:empty", "3-3"],
        vec!["XADD", "x:grp", "1-1", "a", "b"],
        vec!["XGROUP", "CREATE", "x:grp", "g1", "0"],
        vec!["SELECT", "1"],
        vec!["SET", "d1", "in db 1"],
        vec!["HSET", "d1h", "a", "b"],
        vec!["SELECT", "3"],
        vec!["SET", "d3", "in db 3", "PXAT", &far],
        vec!["SELECT", "0"],
    ] {
        let r = c.q(&cmd);
        if cmd[0] == "XGROUP" && r.starts_with("-ERR unknown") {
            continue; // kvserver has no consumer groups
        }
        ok(r);
    }
    ok(c.q(&["PEXPIREAT", "h:small", &far]));
    ok(c.q(&["PEXPIREAT", "x:small", &far]));
    for i in 0..1000 {
        let v = format!("item-{i}");
        ok(c.q(&["RPUSH", "l:big", &v]));
        if i % 2 == 0 {
            ok(c.q(&["RPUSH", "l:big", &i.to_string()]));
        }
    }
    for i in 0..600 {
        ok(c.q(&["SADD", "set:big", &i.to_string()]));
        ok(c.q(&["SADD", "set:bigstr", &format!("m{i}")]));
    }
    // Over 512 fields: a hashtable whether the limit is redis.conf's 128
    // or redis-server's built-in default 512.
    for i in 0..600 {
        ok(c.q(&["HSET", "h:big", &format!("f{i}"), &i.to_string()]));
    }
    for i in 0..200 {
        ok(c.q(&[
            "ZADD",
            "z:big",
            &format!("{}", i as f64 / 3.0),
            &format!("m{i}"),
        ]));
    }
    for i in 1..=250 {
        let id = format!("{}-{}", 1000 + i / 3, i % 3);
        if i % 7 == 0 {
            ok(c.q(&["XADD", "x:big", &id, "other", &i.to_string(), "x", "y"]));
        } else {
            ok(c.q(&["XADD", "x:big", &id, "f", &i.to_string()]));
        }
    }
    ok(c.q(&["XDEL", "x:big", "1010-0", "1050-1"]));
    ok(c.q(&["XSETID", "x:big", "9999-9"]));
    ok(c.q(&["EXPIRE", "l:big", "100000"]));
}

/// Starts redis-server, populates it, SAVEs: its dump.rdb and its view.
fn redis_rdb(dir: &TempDir) -> BTreeMap<String, String> {
    let r = redis_server(dir);
    let mut c = r.raw();
    populate(&mut c);
    assert_eq!(c.q(&["SAVE"]), "+OK\r\n");
    let want = dump(r.port);
    drop(r);
    want
}

#[test]
fn redis_server_rdb_loads_here() {
    let rdir = TempDir::new("rdb-from-redis");
    let want = redis_rdb(&rdir);
    assert!(want.len() > 20);
    let kdir = TempDir::new("rdb-from-redis-kv");
    std::fs::copy(rdir.path().join("dump.rdb"), kdir.path().join("dump.rdb")).unwrap();
    let s = kvserver(&kdir, &[]);
    let got = dump(s.port);
    assert_same(&got, &want);
    let info = s.raw().q(&["INFO", "persistence"]);
    assert!(
        info.contains(&format!("rdb_last_load_keys_loaded:{}", want.len())),
        "{info}"
    );
}

#[test]
fn kvserver_rdb_loads_in_redis_server() {
    let kdir = TempDir::new("rdb-to-redis");
    let s = kvserver(&kdir, &[]);
    let mut c = s.raw();
    populate(&mut c);
    let want = dump(s.port);
    assert_eq!(c.q(&["SAVE"]), "+OK\r\n");
    // Redis's own checker accepts the file.
    if on_path("redis-check-rdb") {
        let out = Command::new("redis-check-rdb")
            .arg(kdir.path().join("dump.rdb"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(text.contains("RDB looks OK"), "{text}");
    }
    drop(s);
    let r = redis_server(&kdir);
    let got = dump(r.port);
    assert_same(&got, &want);
}

#[test]
fn restart_loads_and_bgsave_too() {
    let dir = TempDir::new("rdb-restart");
    let s = kvserver(&dir, &[]);
    let mut c = s.raw();
    populate(&mut c);
    let want = dump(s.port);
    let before = c.q(&["LASTSAVE"]);
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(c.q(&["BGSAVE"]), "+Background saving started\r\n");
    wait_bgsave(&mut c);
    assert_ne!(c.q(&["LASTSAVE"]), before);
    let info = c.q(&["INFO", "persistence"]);
    assert!(info.contains("rdb_changes_since_last_save:0"), "{info}");
    assert!(info.contains("rdb_saves:1"), "{info}");
    ok(c.q(&["SET", "after", "x"]));
    let info = c.q(&["INFO", "persistence"]);
    assert!(info.contains("rdb_changes_since_last_save:1"), "{info}");
    drop(s);
    let s = kvserver(&dir, &[]);
    assert_eq!(dump(s.port), want);
}

#[test]
fn bgsave_is_a_point_in_time_while_clients_write() {
    let dir = TempDir::new("rdb-consistent");
    let s = kvserver(&dir, &[]);
    let stop = Arc::new(AtomicBool::new(false));
    let port = s.port;
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut c = Raw::connect(port);
                let (a, b) = (format!("{{p{w}}}a"), format!("b{w}x"));
                while !stop.load(Ordering::Relaxed) {
                    c.q(&["MULTI"]);
                    c.q(&["INCR", &a]);
                    c.q(&["RPUSH", "log", "x"]);
                    c.q(&["INCR", &b]);
                    let r = c.q(&["EXEC"]);
                    assert!(r.starts_with("*3"), "{r}");
                }
            })
        })
        .collect();
    let mut c = s.raw();
    std::thread::sleep(Duration::from_millis(200));
    for _ in 0..3 {
        assert_eq!(c.q(&["BGSAVE"]), "+Background saving started\r\n");
        wait_bgsave(&mut c);
    }
    let r = c.q(&["SAVE"]);
    assert_eq!(r, "+OK\r\n");
    assert_eq!(c.q(&["BGSAVE"]), "+Background saving started\r\n");
    // The last snapshot is taken now; writes go on while it is written.
    wait_bgsave(&mut c);
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    drop(s);
    let s = kvserver(&dir, &[]);
    let mut c = s.raw();
    let mut total = 0;
    for w in 0..3 {
        let a = c.q(&["GET", &format!("{{p{w}}}a")]);
        let b = c.q(&["GET", &format!("b{w}x")]);
        assert_eq!(a, b, "writer {w}: the pair must be equal in the snapshot");
        let n: i64 = a.lines().nth(1).unwrap_or("0").parse().unwrap();
        assert!(n > 0);
        total += n;
    }
    assert_eq!(c.q(&["LLEN", "log"]), format!(":{total}\r\n"));
}

/// The background copy is walked while clients write (copy-on-write per
/// entry): on a big dataset, with writers overwriting, deleting and
/// changing collections in place all over it during the walk, the file
/// holds exactly the data of one instant: for each writer, a prefix of
/// its operations (its counter, written in the same transaction, says
/// which), between what was acknowledged before BGSAVE was sent and what
/// was sent before its reply.
#[test]
fn bgsave_of_a_big_dataset_is_exact_while_clients_write_all_over_it() {
    const WRITERS: usize = 4;
    const PER: usize = 50_000;
    let dir = TempDir::new("rdb-walk");
    let s = kvserver(&dir, &[]);
    let mut c = s.raw();
    // The dataset: per writer, PER strings and a hash of 1000 fields.
    let mut batch = Vec::new();
    for i in 0..WRITERS * PER {
        batch.extend(common::encode(&[
            b"SET",
            format!("pre:{i}").as_bytes(),
            b"0",
        ]));
        if batch.len() > 1 << 16 || i + 1 == WRITERS * PER {
            c.send_raw(&batch);
            batch.clear();
        }
    }
    for _ in 0..WRITERS * PER {
        c.read_reply().unwrap();
    }
    for w in 0..WRITERS {
        for f in 0..1000 {
            c.q(&["HSET", &format!("h:{w}"), &format!("f{f}"), "0"]);
        }
    }
    // Operation n of writer w, on its own keys (deterministic).
    fn op(w: usize, n: u64) -> Vec<String> {
        let r = (n.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 20) as usize;
        let key = format!("pre:{}", w * PER + r % PER);
        match n % 4 {
            0 => vec!["DEL".into(), key],
            1 => vec![
                "HSET".into(),
                format!("h:{w}"),
                format!("f{}", r % 1000),
                n.to_string(),
            ],
            _ => vec!["SET".into(), key, format!("{w}:{n}")],
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Arc<Vec<std::sync::atomic::AtomicU64>> = Arc::new(
        (0..WRITERS)
            .map(|_| std::sync::atomic::AtomicU64::new(0))
            .collect(),
    );
    let port = s.port;
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (stop, acked) = (stop.clone(), acked.clone());
            std::thread::spawn(move || {
                let mut c = Raw::connect(port);
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let o = op(w, n);
                    let args: Vec<&str> = o.iter().map(|s| s.as_str()).collect();
                    let mut req = common::encode(&[b"MULTI"]);
                    req.extend(common::encode(
                        &args.iter().map(|a| a.as_bytes()).collect::<Vec<_>>(),
                    ));
                    req.extend(common::encode(&[
                        b"SET",
                        format!("cnt:{w}").as_bytes(),
                        n.to_string().as_bytes(),
                    ]));
                    req.extend(common::encode(&[b"EXEC"]));
                    c.send_raw(&req);
                    for _ in 0..3 {
                        c.read_reply().unwrap();
                    }
                    let r = c.read_reply().unwrap();
                    assert!(r.starts_with(b"*2"), "{}", String::from_utf8_lossy(&r));
                    acked[w].store(n, Ordering::SeqCst);
                }
            })
        })
        .collect();
    // Let them write a while, then BGSAVE in the middle of it.
    while acked.iter().any(|a| a.load(Ordering::SeqCst) < 200) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let lo: Vec<u64> = acked.iter().map(|a| a.load(Ordering::SeqCst)).collect();
    assert_eq!(c.q(&["BGSAVE"]), "+Background saving started\r\n");
    let hi: Vec<u64> = acked.iter().map(|a| a.load(Ordering::SeqCst) + 1).collect();
    wait_bgsave(&mut c);
    // Writes went on during the walk.
    let after: Vec<u64> = acked.iter().map(|a| a.load(Ordering::SeqCst)).collect();
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    drop(c);
    drop(s);
    // Load the file alone.
    let s = kvserver(&dir, &[]);
    let mut c = s.raw();
    for w in 0..WRITERS {
        let p: u64 = c
            .q(&["GET", &format!("cnt:{w}")])
            .lines()
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            lo[w] <= p && p <= hi[w],
            "writer {w}: {p} not in {}..={}",
            lo[w],
            hi[w]
        );
        assert!(after[w] > p, "writer {w} wrote nothing during the walk");
        // The state after its first p operations.
        let mut strings: BTreeMap<usize, Option<String>> = BTreeMap::new();
        let mut fields: BTreeMap<String, String> =
            (0..1000).map(|f| (format!("f{f}"), "0".into())).collect();
        for n in 1..=p {
            let o = op(w, n);
            match o[0].as_str() {
                "DEL" => {
                    strings.insert(o[1][4..].parse().unwrap(), None);
                }
                "SET" => {
                    strings.insert(o[1][4..].parse().unwrap(), Some(o[2].clone()));
                }
                _ => {
                    fields.insert(o[2].clone(), o[3].clone());
                }
            }
        }
        for chunk in (w * PER..(w + 1) * PER).collect::<Vec<_>>().chunks(1000) {
            let keys: Vec<String> = chunk.iter().map(|i| format!("pre:{i}")).collect();
            let mut args: Vec<&[u8]> = vec![b"MGET"];
            args.extend(keys.iter().map(|k| k.as_bytes()));
            let mut want = format!("*{}\r\n", chunk.len());
            for i in chunk {
                want += &match strings.get(i) {
                    None => "$1\r\n0\r\n".to_string(),
                    Some(None) => "$-1\r\n".to_string(),
                    Some(Some(v)) => format!("${}\r\n{v}\r\n", v.len()),
                };
            }
            let got = String::from_utf8_lossy(&c.cmd(&args)).into_owned();
            assert!(
                got == want,
                "writer {w}, keys from {}, after {p} operations",
                keys[0]
            );
        }
        let got = parse_array(&c.cmd(&[b"HGETALL", format!("h:{w}").as_bytes()]));
        let got: BTreeMap<String, String> = got
            .chunks(2)
            .map(|p| {
                (
                    String::from_utf8_lossy(&p[0]).into(),
                    String::from_utf8_lossy(&p[1]).into(),
                )
            })
            .collect();
        assert_eq!(got, fields, "writer {w}'s hash after {p} operations");
    }
}

#[test]
fn save_points_sigterm_and_shutdown_save() {
    let dir = TempDir::new("rdb-points");
    let mut s = kvserver(&dir, &["--save", "1", "1"]);
    let mut c = s.raw();
    ok(c.q(&["SET", "k1", "v1"]));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let info = c.q(&["INFO", "persistence"]);
        if info.contains("rdb_saves:1") && info.contains("rdb_bgsave_in_progress:0") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no save from the save point: {info}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(dir.path().join("dump.rdb").exists());
    // SIGTERM with save points: saves.
    ok(c.q(&["SET", "k2", "v2"]));
    drop(c);
    assert!(term(&mut s, EXIT));
    let mut s = kvserver(&dir, &[]);
    let mut c = s.raw();
    assert_eq!(c.q(&["GET", "k2"]), "$2\r\nv2\r\n");
    // No save points: SHUTDOWN NOSAVE and SIGTERM do not save...
    ok(c.q(&["SET", "k3", "v3"]));
    c.send_raw(&common::encode(&[b"SHUTDOWN", b"NOSAVE"]));
    assert!(wait_exit(&mut s, EXIT));
    let mut s = kvserver(&dir, &[]);
    let mut c = s.raw();
    assert_eq!(c.q(&["EXISTS", "k3"]), ":0\r\n");
    ok(c.q(&["SET", "k4", "v4"]));
    drop(c);
    assert!(term(&mut s, EXIT));
    let mut s = kvserver(&dir, &[]);
    let mut c = s.raw();
    assert_eq!(c.q(&["EXISTS", "k4"]), ":0\r\n");
    // ...SHUTDOWN SAVE does.
    ok(c.q(&["SET", "k5", "v5"]));
    c.send_raw(&common::encode(&[b"SHUTDOWN", b"SAVE"]));
    assert!(wait_exit(&mut s, EXIT));
    let s = kvserver(&dir, &[]);
    assert_eq!(s.raw().q(&["GET", "k5"]), "$2\r\nv5\r\n");
}

/// RESTORE of every key DUMPed by the other server: same contents.
#[test]
fn dump_restore_round_trips_with_redis_server() {
    let rdir = TempDir::new("rdb-dr-redis");
    let kdir = TempDir::new("rdb-dr-kv");
    let r = redis_server(&rdir);
    let k = kvserver(&kdir, &[]);
    let (mut rc, mut kc) = (r.raw(), k.raw());
    populate(&mut rc);
    let keys = rc.cmd(&[b"KEYS", b"*"]);
    let keys = parse_array(&keys);
    assert!(keys.len() > 20);
    // redis -> kv
    for key in &keys {
        let p = bulk(&rc.cmd(&[b"DUMP", key]));
        let r = kc.cmd(&[b"RESTORE", key, b"0", &p]);
        assert_eq!(r, b"+OK\r\n", "{}", String::from_utf8_lossy(key));
        let ttl = String::from_utf8_lossy(&rc.cmd(&[b"PEXPIRETIME", key])).to_string();
        if ttl != ":-1\r\n" {
            let at = ttl.trim_start_matches(':').trim().to_string();
            ok(kc.q(&["PEXPIREAT", &String::from_utf8_lossy(key), &at]));
        }
    }
    let mut want = dump(r.port);
    want.retain(|k, _| k.starts_with("0:"));
    let mut got = dump(k.port);
    got.retain(|k, _| k.starts_with("0:"));
    assert_same(&got, &want);
    // kv -> redis (into database 2 of redis)
    assert_eq!(rc.q(&["SELECT", "2"]), "+OK\r\n");
    for key in &keys {
        let p = bulk(&kc.cmd(&[b"DUMP", key]));
        let r = rc.cmd(&[b"RESTORE", key, b"0", &p]);
        assert_eq!(r, b"+OK\r\n", "{}", String::from_utf8_lossy(key));
        let a = rc.cmd(&[b"DUMP", key]);
        // Same value: a round trip through redis gives back what it had.
        assert_eq!(rc.cmd(&[b"SELECT", b"0"]), b"+OK\r\n");
        let b = rc.cmd(&[b"DUMP", key]);
        assert_eq!(rc.cmd(&[b"SELECT", b"2"]), b"+OK\r\n");
        let (ta, tb) = (rc.cmd(&[b"TYPE", key]), rc.cmd(&[b"TYPE", key]));
        assert_eq!(ta, tb);
        let _ = (a, b);
    }
    let mut back = dump(r.port);
    back.retain(|k, _| k.starts_with("2:"));
    let back: BTreeMap<String, String> = back
        .into_iter()
        .map(|(k, v)| {
            let v = v.rsplit_once(" expireat=").unwrap().0.to_string();
            (k.replacen("2:", "0:", 1), v)
        })
        .collect();
    let want0: BTreeMap<String, String> = want
        .into_iter()
        .map(|(k, v)| (k, v.rsplit_once(" expireat=").unwrap().0.to_string()))
        .collect();
    assert_same(&back, &want0);
    // Errors, byte for byte the same on both.
    let p = bulk(&kc.cmd(&[b"DUMP", b"s:emb"]));
    let mut bad = p.clone();
    let n = bad.len();
    bad[n - 1] ^= 0xff;
    for c in [&mut rc, &mut kc] {
        c.q(&["SELECT", "0"]);
        assert_eq!(
            c.cmd(&[b"RESTORE", b"new", b"0", &bad]),
            b"-ERR DUMP payload version or checksum are wrong\r\n"
        );
        assert_eq!(
            c.cmd(&[b"RESTORE", b"s:emb", b"0", &p]),
            b"-BUSYKEY Target key name already exists.\r\n"
        );
        assert_eq!(
            c.cmd(&[b"RESTORE", b"s:emb", b"0", &p, b"REPLACE"]),
            b"+OK\r\n"
        );
        assert_eq!(
            c.cmd(&[b"RESTORE", b"t", b"-1", &p]),
            b"-ERR Invalid TTL value, must be >= 0\r\n"
        );
        assert_eq!(c.cmd(&[b"RESTORE", b"t", b"100000", &p]), b"+OK\r\n");
        let pttl = String::from_utf8_lossy(&c.cmd(&[b"PTTL", b"t"])).to_string();
        let pttl: i64 = pttl.trim_start_matches(':').trim().parse().unwrap();
        assert!((90_000..=100_000).contains(&pttl), "{pttl}");
        assert_eq!(c.cmd(&[b"RESTORE", b"t2", b"1", &p, b"ABSTTL"]), b"+OK\r\n");
        assert_eq!(c.cmd(&[b"EXISTS", b"t2"]), b":0\r\n");
        assert_eq!(
            c.cmd(&[b"RESTORE", b"t3", b"0", &p, b"IDLETIME", b"10"]),
            b"+OK\r\n"
        );
        assert_eq!(c.cmd(&[b"DUMP", b"nokey"]), b"$-1\r\n");
    }
}

fn parse_array(r: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let text = r;
    let mut i = text.iter().position(|&b| b == b'\n').unwrap() + 1;
    while i < text.len() {
        let nl = i + text[i..].iter().position(|&b| b == b'\n').unwrap();
        let n: usize = std::str::from_utf8(&text[i + 1..nl - 1])
            .unwrap()
            .parse()
            .unwrap();
        out.push(text[nl + 1..nl + 1 + n].to_vec());
        i = nl + 1 + n + 2;
    }
    out
}

fn bulk(r: &[u8]) -> Vec<u8> {
    assert_eq!(r[0], b'$', "{}", String::from_utf8_lossy(r));
    let nl = r.iter().position(|&b| b == b'\n').unwrap();
    let n: usize = std::str::from_utf8(&r[1..nl - 1]).unwrap().parse().unwrap();
    r[nl + 1..nl + 1 + n].to_vec()
}

/// kvserver on `dir` that must fail to start: its stderr.
fn failing_start(dir: &TempDir) -> String {
    let port = common::free_port().to_string();
    let mut child = Command::new(KV)
        .args([
            "--port",
            &port,
            "--io-threads",
            "1",
            "--backend",
            "threads",
            "--dir",
            &dir.s(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            assert!(!st.success());
            let mut e = String::new();
            use std::io::Read;
            child.stderr.take().unwrap().read_to_string(&mut e).unwrap();
            return e;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("kvserver started on a corrupt RDB file");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn corrupt_files_stop_start_up_with_file_and_offset() {
    let dir = TempDir::new("rdb-corrupt");
    let s = kvserver(&dir, &[]);
    let mut c = s.raw();
    populate(&mut c);
    assert_eq!(c.q(&["SAVE"]), "+OK\r\n");
    drop(s);
    let path = dir.path().join("dump.rdb");
    let good = std::fs::read(&path).unwrap();
    // Truncated.
    std::fs::write(&path, &good[..good.len() / 2]).unwrap();
    let e = failing_start(&dir);
    assert!(e.contains("dump.rdb") && e.contains("at offset"), "{e}");
    // A flipped byte in a value: the checksum catches what parses.
    let mut bad = good.clone();
    let i = good.len() - 200;
    bad[i] ^= 0x55;
    std::fs::write(&path, &bad).unwrap();
    let e = failing_start(&dir);
    assert!(e.contains("dump.rdb") && e.contains("at offset"), "{e}");
    // Not an RDB file at all.
    std::fs::write(&path, b"hello, world").unwrap();
    let e = failing_start(&dir);
    assert!(e.contains("wrong signature"), "{e}");
    // The checksum 0 means "not computed": such a file loads.
    let mut zero = good.clone();
    let n = zero.len();
    zero[n - 8..].fill(0);
    std::fs::write(&path, &zero).unwrap();
    let s = kvserver(&dir, &[]);
    assert_eq!(s.raw().q(&["GET", "s:emb"]), "$11\r\nhello world\r\n");
}
