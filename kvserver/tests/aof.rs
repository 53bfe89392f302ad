//! The append-only file: restart loads every type with absolute TTLs,
//! MULTI/EXEC is atomic in the file, a truncated tail is repaired (or
//! refused with `aof-load-truncated no`), BGREWRITEAOF keeps the data and
//! shrinks the files, AOFs move both ways between kvserver and Debian's
//! redis-server 7.0, SIGTERM and SHUTDOWN flush, and the guarantee:
//! with `appendfsync always`, a SIGKILL at a random moment loses no
//! acknowledged write (`AOF_CRASH_ROUNDS=n` for more rounds than 10).
//!
//! The redis-server tests need the Debian package redis-server and fail
//! without it, as the differential test does.

mod common;

use common::{on_path, term, wait_exit, Raw, Server, TempDir};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const KV: &str = env!("CARGO_BIN_EXE_kvserver");

fn kv_args(port: u16, dir: &str, backend: &str, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = [
        "--port",
        &port.to_string(),
        "--io-threads",
        "2",
        "--backend",
        backend,
        "--dir",
        dir,
        "--appendonly",
        "yes",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

fn kvserver(dir: &TempDir, extra: &[&str]) -> Server {
    kvserver_on(dir, "threads", extra)
}

fn kvserver_on(dir: &TempDir, backend: &str, extra: &[&str]) -> Server {
    let d = dir.s();
    Server::spawn(KV, |port| kv_args(port, &d, backend, extra))
}

fn redis_server(dir: &TempDir) -> Server {
    assert!(
        on_path("redis-server"),
        "redis-server is not on PATH: install the Debian package redis-server (CI does); \
         the AOF interoperability test cannot run without it"
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
            "yes",
            "--aof-use-rdb-preamble",
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
const EXIT: Duration = Duration::from_secs(20);

fn incr_file(dir: &TempDir) -> PathBuf {
    let d = dir.path().join("appendonlydir");
    let m = std::fs::read_to_string(d.join("appendonly.aof.manifest")).unwrap();
    let last = m
        .lines()
        .rfind(|l| l.ends_with("type i"))
        .expect("an incr file in the manifest");
    d.join(last.split_whitespace().nth(1).unwrap())
}

fn aof_bytes(dir: &TempDir) -> u64 {
    std::fs::read_dir(dir.path().join("appendonlydir"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| !e.file_name().to_string_lossy().ends_with("manifest"))
        .map(|e| e.metadata().unwrap().len())
        .sum()
}

/// Waits for a background rewrite to end (kvserver or redis-server).
fn wait_rewrite(c: &mut Raw) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let info = c.q(&["INFO", "persistence"]);
        if info.contains("aof_rewrite_in_progress:0") && !info.contains("aof_rewrite_scheduled:1") {
            return;
        }
        assert!(Instant::now() < deadline, "rewrite did not finish: {info}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every key of databases 0..4 (common::dataset, without encodings: an
/// AOF replay may build another encoding than the original history did).
fn dump(port: u16) -> BTreeMap<String, String> {
    common::dataset(port, false)
}

/// Writes of every type, with the commands whose propagation differs from
/// their text (relative TTLs, INCRBYFLOAT, SPOP, XADD *, blocking pops,
/// MULTI, expiry).
fn populate(c: &mut Raw, tag: &str) {
    let k = |s: &str| format!("{tag}{s}");
    let ok = |r: String| assert!(!r.starts_with('-'), "{r}");
    for cmd in [
        vec!["SET", &k("s1"), "hello"],
        vec!["APPEND", &k("s1"), " world"],
        vec!["SET", &k("s2"), "v", "EX", "1000"],
        vec!["SET", &k("s3"), "v", "PX", "500000"],
        vec!["PERSIST", &k("s3")],
        vec!["SETEX", &k("s4"), "2000", "v"],
        vec!["GETEX", &k("s1"), "PX", "800000"],
        vec!["INCR", &k("n")],
        vec!["INCRBY", &k("n"), "41"],
        vec!["INCRBYFLOAT", &k("f"), "1.25"],
        vec!["INCRBYFLOAT", &k("f"), "0.1"],
        vec!["RPUSH", &k("l"), "a", "b", "c", "d"],
        vec!["LPOP", &k("l")],
        vec!["LPUSH", &k("l"), "z"],
        vec!["EXPIRE", &k("l"), "5000"],
        vec!["HSET", &k("h"), "f1", "v1", "f2", "v2", "f3", "3"],
        vec!["HINCRBYFLOAT", &k("h"), "f3", "0.5"],
        vec!["HDEL", &k("h"), "f2"],
        vec!["SADD", &k("st"), "a", "b", "c", "d", "e", "f", "1", "2"],
        vec!["SPOP", &k("st")],
        vec!["SPOP", &k("st"), "2"],
        vec!["ZADD", &k("z"), "1", "a", "2.5", "b", "3", "c", "-inf", "m"],
        vec!["ZINCRBY", &k("z"), "0.25", "a"],
        vec!["ZPOPMIN", &k("z")],
        vec!["XADD", &k("x"), "*", "f", "v"],
        vec!["XADD", &k("x"), "*", "g", "w"],
        vec!["XADD", &k("x"), "MAXLEN", "2", "*", "h", "u"],
        vec!["XADD", &k("x2"), "1-1", "a", "1"],
        vec!["XADD", &k("x2"), "2-1", "a", "1"],
        vec!["XDEL", &k("x2"), "2-1"],
        vec!["RPUSH", &k("bl"), "x", "y"],
        vec!["BLPOP", &k("bl"), "1"],
        vec!["BLMOVE", &k("bl"), &k("bl2"), "LEFT", "RIGHT", "1"],
        vec!["ZADD", &k("bz"), "1", "one", "2", "two"],
        vec!["BZPOPMAX", &k("bz"), "1"],
        vec!["SET", &k("gone"), "v", "PX", "1"],
        vec!["SET", &k("re"), "old", "PX", "50"],
        vec!["SELECT", "2"],
        vec!["SET", &k("d2"), "x"],
        vec!["HSET", &k("d2h"), "a", "b"],
        vec!["SELECT", "0"],
        vec!["MULTI"],
        vec!["SET", &k("m1"), "1"],
        vec!["INCR", &k("m2")],
        vec!["SELECT", "3"],
        vec!["SET", &k("m3"), "in db 3"],
        vec!["SELECT", "0"],
        vec!["EXEC"],
    ] {
        ok(c.q(&cmd));
    }
    // An expired key written again: the AOF must say it was deleted
    // (a DEL from lazy expiry), or the reload would INCR the old value.
    std::thread::sleep(Duration::from_millis(120));
    assert_eq!(c.q(&["INCR", &k("re")]), ":1\r\n");
    assert_eq!(c.q(&["EXISTS", &k("gone")]), ":0\r\n");
}

#[test]
fn restart_loads_every_type_with_absolute_ttls() {
    let dir = TempDir::new("aof-restart");
    let s = kvserver(&dir, &["--appendfsync", "always"]);
    let mut c = s.raw();
    populate(&mut c, "");
    let before = dump(s.port);
    assert!(before.len() > 15, "{before:?}");
    assert_eq!(before["0:re"], "string \"1\" expireat=-1");
    drop(c);
    drop(s); // SIGKILL: with `always`, every acknowledged write is in the file.
    std::thread::sleep(Duration::from_millis(50));
    let s = kvserver(&dir, &[]);
    assert_eq!(dump(s.port), before);
    // The file holds absolute deadlines and the propagated forms.
    let text = String::from_utf8_lossy(&std::fs::read(incr_file(&dir)).unwrap()).to_string();
    for want in [
        "PXAT",
        "PEXPIREAT",
        "SREM",
        "\r\nLPOP\r\n",
        "\r\nLMOVE\r\n",
        "\r\nZREM\r\n",
    ] {
        assert!(text.contains(want), "no {want:?} in the AOF:\n{text}");
    }
    for never in [
        "\r\nEX\r\n",
        "SETEX",
        "INCRBYFLOAT",
        "SPOP",
        "BLPOP",
        "\r\n*\r\n",
    ] {
        assert!(!text.contains(never), "{never:?} in the AOF:\n{text}");
    }
}

#[test]
fn multi_exec_is_atomic_in_the_file_and_a_cut_transaction_is_dropped() {
    let dir = TempDir::new("aof-multi");
    let s = kvserver(&dir, &["--appendfsync", "always"]);
    let mut c = s.raw();
    assert_eq!(c.q(&["SET", "a", "0"]), "+OK\r\n");
    for cmd in [
        vec!["MULTI"],
        vec!["INCR", "a"],
        vec!["SET", "b", "1"],
        vec!["EXEC"],
    ] {
        c.q(&cmd);
    }
    assert_eq!(c.q(&["GET", "b"]), "$1\r\n1\r\n");
    drop(c);
    drop(s);
    let path = incr_file(&dir);
    let data = std::fs::read(&path).unwrap();
    let text = String::from_utf8_lossy(&data);
    let block = "*1\r\n$5\r\nMULTI\r\n*2\r\n$4\r\nINCR\r\n$1\r\na\r\n\
                 *3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n1\r\n*1\r\n$4\r\nEXEC\r\n";
    let at = text
        .find(block)
        .unwrap_or_else(|| panic!("no MULTI block in {text:?}"));
    assert_eq!(at + block.len(), data.len(), "the block ends the file");
    // Cut the file inside the transaction (after INCR): it must be
    // dropped whole, and the file cut back to the MULTI.
    let cut = at + "*1\r\n$5\r\nMULTI\r\n*2\r\n$4\r\nINCR\r\n$1\r\na\r\n".len();
    std::fs::write(&path, &data[..cut]).unwrap();
    let s = kvserver(&dir, &[]);
    let mut c = s.raw();
    assert_eq!(c.q(&["GET", "a"]), "$1\r\n0\r\n");
    assert_eq!(c.q(&["EXISTS", "b"]), ":0\r\n");
    drop(c);
    drop(s);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), at as u64);
}

/// Starts kvserver on `dir`, which must refuse to start; its log.
fn refused_start(dir: &TempDir, extra: &[&str]) -> String {
    let out = Command::new(KV)
        .args(kv_args(common::free_port(), &dir.s(), "threads", extra))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(!out.status.success(), "it started");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn truncated_tail_is_repaired_or_refused() {
    let dir = TempDir::new("aof-trunc");
    let s = kvserver(&dir, &["--appendfsync", "always"]);
    let mut c = s.raw();
    for i in 0..20 {
        assert_eq!(c.q(&["SET", &format!("k{i}"), "v"]), "+OK\r\n");
    }
    drop(c);
    drop(s);
    let path = incr_file(&dir);
    let good = std::fs::metadata(&path).unwrap().len();
    let mut data = std::fs::read(&path).unwrap();
    data.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$4\r\nhalf");
    std::fs::write(&path, &data).unwrap();
    // aof-load-truncated no: a clear error naming the file and the offset.
    let err = refused_start(&dir, &["--aof-load-truncated", "no"]);
    assert!(
        err.contains(&path.display().to_string()) && err.contains(&format!("offset {good}")),
        "{err}"
    );
    assert_eq!(std::fs::metadata(&path).unwrap().len(), data.len() as u64);
    // The default (yes): loaded, the tail cut off.
    let s = kvserver(&dir, &[]);
    let mut c = s.raw();
    assert_eq!(c.q(&["DBSIZE"]), ":20\r\n");
    assert_eq!(std::fs::metadata(&path).unwrap().len(), good);
    assert_eq!(c.q(&["SET", "after", "1"]), "+OK\r\n");
    let mut s = s;
    assert!(term(&mut s, EXIT));
    let s = kvserver(&dir, &[]);
    let mut c = s.raw();
    assert_eq!(c.q(&["DBSIZE"]), ":21\r\n");
    // Garbage (not a truncation) is refused whatever the setting.
    drop(c);
    drop(s);
    let mut data = std::fs::read(&path).unwrap();
    data.extend_from_slice(b"garbage\r\n");
    std::fs::write(&path, &data).unwrap();
    let err = refused_start(&dir, &[]);
    assert!(err.contains("Bad file format"), "{err}");
    // So are zero bytes after the last command (what a crash of the
    // machine can leave): redis-server 7.0.15 refuses them as a bad
    // format, not a truncation, and so does kvserver.
    let good_len = data.len() - b"garbage\r\n".len();
    data.truncate(good_len);
    data.extend(std::iter::repeat_n(0u8, 4096));
    std::fs::write(&path, &data).unwrap();
    let err = refused_start(&dir, &[]);
    assert!(
        err.contains(&format!(
            "Bad file format reading the append only file at offset {good_len}"
        )),
        "{err}"
    );
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        data.len() as u64,
        "left as it was"
    );
}

#[test]
fn bgrewriteaof_keeps_the_data_and_shrinks_the_files() {
    let dir = TempDir::new("aof-rewrite");
    let s = kvserver(&dir, &[]);
    let mut c = s.raw();
    populate(&mut c, "");
    let mut pipe = Vec::new();
    for i in 0..3000 {
        pipe.extend(common::encode(&[b"INCR", b"counter"]));
        pipe.extend(common::encode(&[
            b"SET",
            b"big",
            format!("{i:0100}").as_bytes(),
        ]));
    }
    c.send_raw(&pipe);
    for _ in 0..6000 {
        c.read_reply().unwrap();
    }
    let before = aof_bytes(&dir);
    // Writers keep going during the rewrite: none is lost or applied twice.
    let stop = Arc::new(AtomicBool::new(false));
    let port = s.port;
    let writer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut c = Raw::connect(port);
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                assert!(c.q(&["INCR", "during"]).starts_with(':'));
                n += 1;
            }
            n
        })
    };
    std::thread::sleep(Duration::from_millis(30));
    assert_eq!(
        c.q(&["BGREWRITEAOF"]),
        "+Background append only file rewriting started\r\n"
    );
    wait_rewrite(&mut c);
    std::thread::sleep(Duration::from_millis(30));
    stop.store(true, Ordering::Relaxed);
    let during = writer.join().unwrap();
    assert!(during > 0);
    assert_eq!(c.q(&["SET", "after", "rewrite"]), "+OK\r\n");
    let want = dump(s.port);
    assert_eq!(want["0:during"], format!("string \"{during}\" expireat=-1"));
    let mut s = s;
    assert!(term(&mut s, EXIT));
    let after = aof_bytes(&dir);
    assert!(after * 4 < before, "rewrite: {before} -> {after} bytes");
    let m =
        std::fs::read_to_string(dir.path().join("appendonlydir/appendonly.aof.manifest")).unwrap();
    assert_eq!(
        m,
        "file appendonly.aof.2.base.aof seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
    );
    let s = kvserver(&dir, &[]);
    assert_eq!(dump(s.port), want);
    // A second rewrite replaces the first base.
    let mut c = s.raw();
    assert_eq!(
        c.q(&["BGREWRITEAOF"]),
        "+Background append only file rewriting started\r\n"
    );
    wait_rewrite(&mut c);
    drop(c);
    drop(s);
    let s = kvserver(&dir, &[]);
    assert_eq!(dump(s.port), want);
    let names: Vec<String> = std::fs::read_dir(dir.path().join("appendonlydir"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
}

#[test]
fn redis_server_aof_loads_here() {
    let dir = TempDir::new("aof-from-redis");
    let mut r = redis_server(&dir);
    let mut c = r.raw();
    populate(&mut c, "");
    // A RESP base too (aof-use-rdb-preamble no), then more increments.
    assert_eq!(
        c.q(&["BGREWRITEAOF"]),
        "+Background append only file rewriting started\r\n"
    );
    wait_rewrite(&mut c);
    populate(&mut c, "second:");
    let want = dump(r.port);
    drop(c);
    assert!(term(&mut r, EXIT));
    let s = kvserver(&dir, &[]);
    assert_eq!(dump(s.port), want);
    // The fresh Redis directory (empty RDB base + incr) loads too.
    let dir2 = TempDir::new("aof-from-redis-rdb");
    let d2 = dir2.s();
    let mut r = Server::spawn("redis-server", |port| {
        [
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "yes",
            "--dir",
            &d2,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    });
    let mut c = r.raw();
    populate(&mut c, "");
    let want = dump(r.port);
    drop(c);
    assert!(term(&mut r, EXIT));
    assert!(
        std::fs::read_to_string(dir2.path().join("appendonlydir/appendonly.aof.manifest"))
            .unwrap()
            .contains(".base.rdb")
    );
    let s = kvserver(&dir2, &[]);
    assert_eq!(dump(s.port), want);
}

#[test]
fn kvserver_aof_loads_in_redis_server() {
    let dir = TempDir::new("aof-to-redis");
    let mut s = kvserver(&dir, &["--appendfsync", "always"]);
    let mut c = s.raw();
    populate(&mut c, "");
    assert_eq!(
        c.q(&["BGREWRITEAOF"]),
        "+Background append only file rewriting started\r\n"
    );
    wait_rewrite(&mut c);
    populate(&mut c, "second:");
    let want = dump(s.port);
    drop(c);
    assert!(term(&mut s, EXIT));
    let r = redis_server(&dir);
    assert_eq!(dump(r.port), want);
}

/// A writer's acknowledged state: its last acknowledged INCR value and the
/// SETs acknowledged.
struct Acked {
    incr: i64,
    sets: Vec<u64>,
    /// When each SET was acknowledged.
    times: Vec<Instant>,
}

/// Clients write (pipelines of SET + INCR) with recorded acknowledgements
/// until the server is SIGKILLed at a random moment; then the restarted
/// server must hold every acknowledged write. Returns (lost, acked, lost
/// SETs' ages at the kill).
fn crash_round(
    dir: &TempDir,
    backend: &str,
    fsync: &str,
    round: usize,
    delay_ms: u64,
) -> (usize, usize, Vec<Duration>) {
    let mut s = kvserver_on(dir, backend, &["--appendfsync", fsync]);
    let port = s.port;
    let writers: Vec<_> = (0..3)
        .map(|t| {
            std::thread::spawn(move || {
                let mut c = Raw::connect(port);
                let mut acked = Acked {
                    incr: 0,
                    sets: Vec::new(),
                    times: Vec::new(),
                };
                for i in 0.. {
                    let key = format!("r{round}:w{t}:{i}");
                    let mut pipe = common::encode(&[b"SET", key.as_bytes(), b"v"]);
                    pipe.extend(common::encode(&[b"INCR", format!("ctr:{t}").as_bytes()]));
                    if std::io::Write::write_all(&mut c.s, &pipe).is_err() {
                        break;
                    }
                    let Ok(Some(r1)) = c.try_read_reply() else {
                        break;
                    };
                    if r1 != b"+OK\r\n" {
                        break;
                    }
                    acked.sets.push(i);
                    acked.times.push(Instant::now());
                    let Ok(Some(r2)) = c.try_read_reply() else {
                        break;
                    };
                    let v = String::from_utf8_lossy(&r2);
                    acked.incr = v.trim().trim_start_matches(':').parse().unwrap();
                }
                acked
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(delay_ms));
    s.child.kill().unwrap();
    let killed = Instant::now();
    s.child.wait().unwrap();
    let acked: Vec<Acked> = writers.into_iter().map(|w| w.join().unwrap()).collect();
    drop(s);
    let s = kvserver_on(dir, backend, &["--appendfsync", fsync]);
    let mut c = s.raw();
    let (mut lost, mut total, mut ages) = (0, 0, Vec::new());
    for (t, a) in acked.iter().enumerate() {
        let v = c.q(&["GET", &format!("ctr:{t}")]);
        let have: i64 = v.lines().nth(1).map_or(0, |n| n.parse().unwrap());
        // One INCR may be in the file without its acknowledgement.
        if have < a.incr {
            lost += (a.incr - have) as usize;
        }
        total += a.sets.len();
        for (i, at) in a.sets.iter().zip(&a.times) {
            if c.q(&["EXISTS", &format!("r{round}:w{t}:{i}")]) != ":1\r\n" {
                lost += 1;
                ages.push(killed.saturating_duration_since(*at));
            }
        }
    }
    drop(c);
    drop(s);
    (lost, total, ages)
}

fn rounds() -> usize {
    std::env::var("AOF_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10)
}

/// The guarantee of `appendfsync always`: SIGKILL at a random moment,
/// restart: every acknowledged write is there.
#[test]
fn always_loses_no_acknowledged_write_when_killed() {
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let mut backends = vec!["threads"];
    if common::uring_available() {
        backends.push("uring");
    }
    for backend in backends {
        let dir = TempDir::new(&format!("aof-crash-{backend}"));
        let (mut lost, mut acked) = (0, 0);
        for round in 0..rounds() {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let delay = 20 + (seed >> 33) % 400;
            let (l, a, _) = crash_round(&dir, backend, "always", round, delay);
            eprintln!(
                "{backend} round {round}: killed after {delay} ms, {a} acknowledged SETs, {l} lost"
            );
            lost += l;
            acked += a;
        }
        assert!(acked > 0);
        assert_eq!(
            lost, 0,
            "{backend}: {lost} acknowledged writes lost of {acked}"
        );
    }
}

/// `everysec`: what a crash loses is at most about the last second.
#[test]
fn everysec_loses_at_most_about_a_second() {
    let dir = TempDir::new("aof-everysec");
    for round in 0..3 {
        let (lost, acked, ages) =
            crash_round(&dir, "threads", "everysec", round, 300 + 200 * round as u64);
        eprintln!("everysec round {round}: {acked} acknowledged, {lost} lost");
        assert!(acked > 0);
        for age in ages {
            assert!(
                age < Duration::from_millis(2000),
                "lost a write acknowledged {age:?} before the kill"
            );
        }
    }
}

#[test]
fn sigterm_and_shutdown_flush_before_exit() {
    let dir = TempDir::new("aof-shutdown");
    let mut s = kvserver(&dir, &["--appendfsync", "no"]);
    let mut c = s.raw();
    let mut pipe = Vec::new();
    for i in 0..2000 {
        pipe.extend(common::encode(&[b"SET", format!("k{i}").as_bytes(), b"v"]));
    }
    c.send_raw(&pipe);
    for _ in 0..2000 {
        c.read_reply().unwrap();
    }
    drop(c);
    assert!(term(&mut s, EXIT));
    let mut s = kvserver(&dir, &["--appendfsync", "no"]);
    let mut c = s.raw();
    assert_eq!(c.q(&["DBSIZE"]), ":2000\r\n");
    assert_eq!(c.q(&["SET", "last", "1"]), "+OK\r\n");
    c.send_raw(&common::encode(&[b"SHUTDOWN"]));
    assert!(wait_exit(&mut s, EXIT));
    let s = kvserver(&dir, &[]);
    let mut c = s.raw();
    assert_eq!(c.q(&["DBSIZE"]), ":2001\r\n");
    // BGREWRITEAOF without appendonly is refused.
    let dir2 = TempDir::new("aof-noaof");
    let d2 = dir2.s();
    let s = Server::spawn(KV, |port| {
        [
            "--port",
            &port.to_string(),
            "--io-threads",
            "1",
            "--backend",
            "threads",
            "--dir",
            &d2,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    });
    assert!(s.raw().q(&["BGREWRITEAOF"]).starts_with("-ERR"));
    assert!(!dir2.path().join("appendonlydir").exists());
}
