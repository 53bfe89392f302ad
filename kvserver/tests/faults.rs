//! kvserver when the disk fills up (a small tmpfs this test mounts): write
//! errors are never hidden. Writes (and PING) are refused with Redis's
//! `MISCONF Errors writing to the AOF file: ...` while the AOF cannot be
//! written, INFO says `aof_last_write_status:err`, reads keep working, and
//! once space comes back the buffered writes reach the file and writes are
//! accepted again. Every acknowledged write survives a SIGKILL and a
//! restart, except, with `appendfsync everysec`, the last few acknowledged
//! before the disk filled (Redis's policy: they were never written); with
//! `always`, none, and no client is left waiting for an answer.
//!
//! Mounting needs root (CI runs as root); elsewhere the test says so and
//! skips.

mod common;

use common::{Raw, Server, TempDir};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A tmpfs of `size` mounted on a fresh directory, unmounted on drop.
struct Tmpfs {
    dir: TempDir,
}

impl Tmpfs {
    fn mount(tag: &str, size: &str) -> Option<Tmpfs> {
        let dir = TempDir::new(tag);
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!(
                "SKIPPED: cannot mount a tmpfs here (needs root); the full-disk tests did not run"
            );
            return None;
        }
        Some(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills the file system but for about `free` bytes.
    fn fill(&self, free: u64) -> PathBuf {
        let p = self.path().join("filler");
        let mut f = File::create(&p).unwrap();
        let chunk = vec![0u8; 64 << 10];
        let mut len = 0u64;
        while f.write_all(&chunk).is_ok() {
            len += chunk.len() as u64;
        }
        drop(f);
        let f = File::options().write(true).open(&p).unwrap();
        f.set_len(len.saturating_sub(free)).unwrap();
        p
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.path()).status();
    }
}

fn kvserver(dir: &Path, fsync: &str) -> Server {
    let d = dir.display().to_string();
    Server::spawn(env!("CARGO_BIN_EXE_kvserver"), |port| {
        [
            "--port",
            &port.to_string(),
            "--io-threads",
            "2",
            "--dir",
            &d,
            "--appendonly",
            "yes",
            "--appendfsync",
            fsync,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    })
}

/// Waits until INFO persistence contains `want`.
fn wait_info(c: &mut Raw, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let info = c.q(&["INFO", "persistence"]);
        if info.contains(want) {
            return;
        }
        assert!(Instant::now() < deadline, "never {want:?}:\n{info}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

const VALUE: &str = "the value of a key, repeated to make writes fill the disk quickly.";

fn value(i: usize) -> String {
    format!("{i}:{}", VALUE.repeat(16))
}

/// Writes `k:{from}..` one at a time until the server refuses one with
/// MISCONF (then a few more, all refused); the keys acknowledged, in
/// order.
fn write_until_refused(c: &mut Raw, from: usize) -> Vec<usize> {
    write_until_refused_timed(c, from).0
}

/// As [`write_until_refused`], with how long before the first refusal each
/// acknowledged key was acknowledged.
fn write_until_refused_timed(c: &mut Raw, from: usize) -> (Vec<usize>, Vec<Duration>) {
    let mut acked = Vec::new();
    let mut at = Vec::new();
    for i in from..from + 200_000 {
        let r = c.q(&["SET", &format!("k:{i}"), &value(i)]);
        if r == "+OK\r\n" {
            acked.push(i);
            at.push(Instant::now());
            continue;
        }
        let refused = Instant::now();
        let before: Vec<Duration> = at.iter().map(|t| refused - *t).collect();
        assert!(
            r.starts_with("-MISCONF Errors writing to the AOF file: No space left on device"),
            "{r}"
        );
        // Refused while the condition lasts, PING too (as Redis).
        for j in 0..5 {
            let r = c.q(&["SET", &format!("x:{j}"), "v"]);
            assert!(
                r.starts_with("-MISCONF Errors writing to the AOF file"),
                "{r}"
            );
        }
        assert!(c.q(&["PING"]).starts_with("-MISCONF"));
        let info = c.q(&["INFO", "persistence"]);
        assert!(info.contains("aof_last_write_status:err"), "{info}");
        // Reads keep working.
        if let Some(&k) = acked.last() {
            let want = value(k);
            assert_eq!(
                c.q(&["GET", &format!("k:{k}")]),
                format!("${}\r\n{want}\r\n", want.len())
            );
        }
        return (acked, before);
    }
    panic!("the disk never filled up");
}

/// The acknowledged keys missing after a restart (in acknowledgement
/// order).
fn lost(port: u16, acked: &[usize]) -> Vec<usize> {
    let mut c = Raw::connect(port);
    acked
        .iter()
        .copied()
        .filter(|&i| {
            let want = value(i);
            c.q(&["GET", &format!("k:{i}")]) != format!("${}\r\n{want}\r\n", want.len())
        })
        .collect()
}

#[test]
fn everysec_refuses_writes_on_a_full_disk_and_recovers() {
    let Some(fs) = Tmpfs::mount("full-everysec", "16m") else {
        return;
    };
    let kv = kvserver(fs.path(), "everysec");
    let mut c = Raw::connect(kv.port);
    let filler = fs.fill(256 << 10);
    let (acked, before_refusal) = write_until_refused_timed(&mut c, 0);
    assert!(
        acked.len() > 100,
        "{} writes before the disk filled",
        acked.len()
    );
    // Killed while the disk is full: what was acknowledged and never
    // written is lost (Redis's everysec policy: about a second of writes),
    // and that is only the last writes before the error: later ones were
    // refused. How many depends on how long the failed write took (the
    // machine's load), so the bound is in time, with a second of slack.
    drop(c);
    drop(kv);
    std::fs::remove_file(&filler).unwrap();
    let kv = kvserver(fs.path(), "everysec");
    let gone = lost(kv.port, &acked);
    let oldest = gone
        .first()
        .map(|_| before_refusal[acked.len() - gone.len()]);
    assert!(
        oldest.is_none_or(|d| d <= Duration::from_secs(2)),
        "{} acknowledged writes lost, the oldest acknowledged {oldest:?} before the refusal",
        gone.len()
    );
    assert_eq!(
        gone,
        acked[acked.len() - gone.len()..],
        "only the last ones"
    );
    // The disk fills again, then space comes back: the buffered writes
    // reach the file, writes are accepted again, nothing is lost.
    let mut c = Raw::connect(kv.port);
    let filler = fs.fill(256 << 10);
    let mut acked2 = write_until_refused(&mut c, 1_000_000);
    std::fs::remove_file(&filler).unwrap();
    wait_info(&mut c, "aof_last_write_status:ok");
    for i in 2_000_000..2_000_100 {
        assert_eq!(c.q(&["SET", &format!("k:{i}"), &value(i)]), "+OK\r\n");
        acked2.push(i);
    }
    assert_eq!(c.q(&["PING"]), "+PONG\r\n");
    wait_info(&mut c, "aof_buffer_length:0\r\n");
    drop(c);
    drop(kv);
    let kv = kvserver(fs.path(), "everysec");
    assert_eq!(lost(kv.port, &acked2), Vec::<usize>::new());
}

#[test]
fn always_answers_every_write_and_loses_none_on_a_full_disk() {
    let Some(fs) = Tmpfs::mount("full-always", "16m") else {
        return;
    };
    let kv = kvserver(fs.path(), "always");
    let filler = fs.fill(256 << 10);
    // Four clients pipelining: every request gets an answer (a read
    // timeout would fail the test), +OK or MISCONF.
    let acked: Vec<usize> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..4)
            .map(|t| {
                let port = kv.port;
                s.spawn(move || {
                    let mut c = Raw::connect(port);
                    let mut acked = Vec::new();
                    let mut refused = false;
                    let mut i = t * 1_000_000;
                    while !refused {
                        let batch: Vec<usize> = (i..i + 8).collect();
                        i += 8;
                        let mut bytes = Vec::new();
                        for &k in &batch {
                            let (key, v) = (format!("k:{k}"), value(k));
                            bytes.extend(common::encode(&[b"SET", key.as_bytes(), v.as_bytes()]));
                        }
                        c.send_raw(&bytes);
                        for &k in &batch {
                            let r = String::from_utf8_lossy(&c.read_reply().unwrap()).into_owned();
                            if r == "+OK\r\n" {
                                acked.push(k);
                            } else {
                                assert!(
                                    r.starts_with("-MISCONF Errors writing to the AOF file"),
                                    "{r}"
                                );
                                refused = true;
                            }
                        }
                    }
                    acked
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    assert!(
        acked.len() > 100,
        "{} writes before the disk filled",
        acked.len()
    );
    let mut c = Raw::connect(kv.port);
    assert!(c
        .q(&["INFO", "persistence"])
        .contains("aof_last_write_status:err"));
    // Reads are answered, not held for an fsync that cannot come.
    let k = acked[0];
    let want = value(k);
    assert_eq!(
        c.q(&["GET", &format!("k:{k}")]),
        format!("${}\r\n{want}\r\n", want.len())
    );
    drop(c);
    drop(kv);
    std::fs::remove_file(&filler).unwrap();
    let kv = kvserver(fs.path(), "always");
    assert_eq!(lost(kv.port, &acked), Vec::<usize>::new());
}

/// A BGSAVE that fails (full disk) with save points set and
/// `stop-writes-on-bgsave-error yes` (the default): writes and PING are
/// refused with Redis's RDB MISCONF text until a save succeeds; with the
/// option off they are not.
#[test]
fn failed_bgsave_stops_writes() {
    let Some(fs) = Tmpfs::mount("full-rdb", "8m") else {
        return;
    };
    let d = fs.path().display().to_string();
    let kv = Server::spawn(env!("CARGO_BIN_EXE_kvserver"), |port| {
        ["--port", &port.to_string(), "--dir", &d, "--save", "3600 1"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    });
    let mut c = Raw::connect(kv.port);
    for i in 0..2000 {
        assert_eq!(c.q(&["SET", &format!("k:{i}"), &value(i)]), "+OK\r\n");
    }
    let filler = fs.fill(4 << 10);
    assert_eq!(c.q(&["BGSAVE"]), "+Background saving started\r\n");
    wait_info(&mut c, "rdb_last_bgsave_status:err");
    let refused = "-MISCONF Redis is configured to save RDB snapshots, but it's currently unable \
                   to persist to disk. Commands that may modify the data set are disabled, because \
                   this instance is configured to report errors during writes if RDB snapshotting \
                   fails (stop-writes-on-bgsave-error option). Please check the Redis logs for \
                   details about the RDB error.\r\n";
    assert_eq!(c.q(&["SET", "a", "b"]), refused);
    assert_eq!(c.q(&["PING"]), refused);
    let want = value(0);
    assert_eq!(
        c.q(&["GET", "k:0"]),
        format!("${}\r\n{want}\r\n", want.len())
    );
    // Inside MULTI: the refused write dooms EXEC.
    assert_eq!(c.q(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.q(&["SET", "a", "b"]), refused);
    assert!(c.q(&["EXEC"]).starts_with("-EXECABORT"));
    assert_eq!(
        c.q(&["CONFIG", "SET", "stop-writes-on-bgsave-error", "no"]),
        "+OK\r\n"
    );
    assert_eq!(c.q(&["SET", "a", "b"]), "+OK\r\n");
    assert_eq!(
        c.q(&["CONFIG", "SET", "stop-writes-on-bgsave-error", "yes"]),
        "+OK\r\n"
    );
    assert_eq!(c.q(&["SET", "a", "b"]), refused);
    std::fs::remove_file(&filler).unwrap();
    assert_eq!(c.q(&["BGSAVE"]), "+Background saving started\r\n");
    wait_info(&mut c, "rdb_last_bgsave_status:ok");
    assert_eq!(c.q(&["SET", "a", "b"]), "+OK\r\n");
}

/// SIGTERM while the AOF cannot be written: the final flush fails, the
/// log says so, and the exit status is not success.
#[test]
fn shutdown_with_an_unwritable_aof_exits_nonzero() {
    let Some(fs) = Tmpfs::mount("full-term", "8m") else {
        return;
    };
    let mut kv = kvserver(fs.path(), "everysec");
    let mut c = Raw::connect(kv.port);
    let _filler = fs.fill(64 << 10);
    write_until_refused(&mut c, 0);
    drop(c);
    assert!(
        !common::term(&mut kv, Duration::from_secs(20)),
        "exit status 0"
    );
}
