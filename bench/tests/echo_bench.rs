//! Tests of the built `echo-bench` binary against in-test echo servers, some
//! of them deliberately faulty, to prove that the verifier catches what it
//! claims to catch (flipped bytes, stale echoes, truncation, a stalled server)
//! and that a healthy server passes cleanly.
//!
//! Each server is a thread listening on 127.0.0.1:0 with one thread per
//! accepted connection; the listener threads are leaked and die with the test
//! process. Every bench run is `-t 1 --warmup 0`, and the tests run in
//! parallel, so the whole file takes a few seconds.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::thread;

// The tests only parse CSV; the writer half is exercised by echo-bench itself.
#[allow(dead_code)]
#[path = "../src/shared/csv.rs"]
mod csv;

const LEN: usize = 100;

/// How the in-test server misbehaves. Message boundaries are known to the
/// faulty servers because the bench always runs with `-l 100`.
#[derive(Clone, Copy)]
enum Fault {
    /// A correct echo server that copies bytes as they arrive.
    None,
    /// Flips one bit in every Nth message of a connection.
    FlipEvery(u64),
    /// Sends the previous message again instead of every Nth one.
    StaleEvery(u64),
    /// Echoes half of the Nth message, then closes the connection.
    TruncateAt(u64),
    /// Stops answering after N messages, keeping the connection open.
    StallAfter(u64),
}

fn start_server(fault: Fault) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local_addr");
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || serve(stream, fault));
        }
    });
    addr
}

fn serve(mut s: TcpStream, fault: Fault) {
    let _ = s.set_nodelay(true);
    if let Fault::None = fault {
        // Plain stream copy: no knowledge of message boundaries.
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if s.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
            }
        }
    }
    let mut msg = vec![0u8; LEN];
    let mut prev = vec![0u8; LEN];
    let mut n: u64 = 0;
    loop {
        if s.read_exact(&mut msg).is_err() {
            return;
        }
        n += 1;
        let reply: &[u8] = match fault {
            Fault::None => &msg,
            Fault::FlipEvery(k) => {
                if n % k == 0 {
                    msg[LEN / 2] ^= 0x01;
                }
                &msg
            }
            Fault::StaleEvery(k) if n > 1 && n % k == 0 => &prev,
            Fault::StaleEvery(_) => &msg,
            Fault::TruncateAt(k) if n == k => {
                let _ = s.write_all(&msg[..LEN / 2]);
                return; // dropping the stream closes it
            }
            Fault::TruncateAt(_) => &msg,
            Fault::StallAfter(k) if n > k => {
                // Keep the socket open and silent until the client gives up.
                while matches!(s.read(&mut msg), Ok(n) if n > 0) {}
                return;
            }
            Fault::StallAfter(_) => &msg,
        };
        if s.write_all(reply).is_err() {
            return;
        }
        prev.copy_from_slice(&msg);
    }
}

fn bench(addr: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "-a", addr, "-t", "1", "--warmup", "0", "-c", "4", "-l", "100",
    ];
    // A short timeout bounds a broken test; clap rejects a repeated flag.
    if !extra.contains(&"--timeout") {
        args.extend_from_slice(&["--timeout", "3"]);
    }
    args.extend_from_slice(extra);
    Command::new(env!("CARGO_BIN_EXE_echo-bench"))
        .args(&args)
        .output()
        .expect("run echo-bench")
}

fn bench_json(addr: SocketAddr, extra: &[&str]) -> (Output, serde_json::Value) {
    let mut args = vec!["--format", "json"];
    args.extend_from_slice(extra);
    let out = bench(&addr.to_string(), &args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON object ({e}):\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out, json)
}

fn u(json: &serde_json::Value, key: &str) -> u64 {
    json[key]
        .as_u64()
        .unwrap_or_else(|| panic!("'{key}' is not an integer in {json}"))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn correct_server_passes() {
    let addr = start_server(Fault::None);
    let (out, json) = bench_json(addr, &[]);
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        stderr(&out)
    );
    assert_eq!(u(&json, "errors"), 0, "{json}");
    assert_eq!(u(&json, "connections_stopped"), 0, "{json}");
    assert!(u(&json, "requests") > 0, "{json}");
    assert_eq!(u(&json, "connections"), 4);
    assert_eq!(u(&json, "length"), 100);
    let p50 = json["p50_us"].as_f64().expect("p50_us");
    let p99 = json["p99_us"].as_f64().expect("p99_us");
    assert!(p50 > 0.0 && p50 <= p99, "{json}");
    assert!(
        json["server_cpu_us_per_req"].is_null(),
        "no --server-pid given"
    );
}

#[test]
fn flipped_byte_is_a_mismatch() {
    let addr = start_server(Fault::FlipEvery(50));
    let (out, json) = bench_json(addr, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(u(&json, "mismatches") > 0, "{json}");
    assert!(u(&json, "errors") >= u(&json, "mismatches"));
    // Policy: a connection stops at its first error.
    assert_eq!(u(&json, "connections_stopped"), 4, "{json}");
    let err = stderr(&out);
    assert!(err.contains("differs") && err.contains("byte 50"), "{err}");
}

#[test]
fn allow_errors_exits_zero_but_still_reports() {
    let addr = start_server(Fault::FlipEvery(50));
    let (out, json) = bench_json(addr, &["--allow-errors"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(u(&json, "mismatches") > 0, "{json}");
}

#[test]
fn stale_echo_is_detected() {
    let addr = start_server(Fault::StaleEvery(30));
    let (out, json) = bench_json(addr, &[]);
    assert!(!out.status.success());
    assert!(u(&json, "mismatches") > 0, "{json}");
    let err = stderr(&out);
    assert!(err.contains("stale echo"), "{err}");
}

#[test]
fn truncated_echo_is_an_error() {
    let addr = start_server(Fault::TruncateAt(20));
    let (out, json) = bench_json(addr, &[]);
    assert!(!out.status.success());
    assert!(u(&json, "errors") > 0, "{json}");
    assert!(u(&json, "short_reads") > 0, "{json}");
    let err = stderr(&out);
    assert!(err.contains("got 50 of 100 bytes"), "{err}");
}

#[test]
fn stalled_server_times_out_instead_of_hanging() {
    let addr = start_server(Fault::StallAfter(10));
    let (out, json) = bench_json(addr, &["--timeout", "1"]);
    assert!(!out.status.success());
    assert_eq!(u(&json, "timeouts"), 4, "{json}");
    // Every connection stalls mid-window and times out; the requests before
    // the stall still count.
    assert!(u(&json, "requests") > 0, "{json}");
}

#[test]
fn nothing_listening_is_a_clear_setup_error() {
    // Bind then drop to get a port that is (almost certainly) closed.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let out = bench(&addr, &["--format", "json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "no result row on a setup failure");
    let err = stderr(&out);
    assert!(
        err.contains("connection 1 of 4") && err.contains(&addr) && err.contains("refused"),
        "{err}"
    );
}

#[test]
fn bad_arguments_are_rejected() {
    for (args, needle) in [
        (&["-c", "0"][..], "--number"),
        (&["-l", "0"][..], "--length"),
        (&["--duration=0"][..], "--duration"),
        (&["--warmup=-1"][..], "--warmup"),
        (&["--format", "json", "--csv-header"][..], "--csv-header"),
        (&["--server-pid", "4294967295"][..], "--server-pid"),
        // No port: fails in resolution without touching DNS.
        (&["-a", "127.0.0.1"][..], "resolve"),
    ] {
        // Every case fails during setup, before any connection is made.
        let out = Command::new(env!("CARGO_BIN_EXE_echo-bench"))
            .args(args)
            .output()
            .expect("run echo-bench");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn server_pid_reports_server_cpu() {
    // The in-test server runs in this very process.
    let addr = start_server(Fault::None);
    let pid = std::process::id().to_string();
    let (out, json) = bench_json(addr, &["--server-pid", &pid]);
    assert!(out.status.success(), "{}", stderr(&out));
    let per_req = json["server_cpu_us_per_req"]
        .as_f64()
        .expect("server CPU per request");
    let cores = json["server_cpu_cores"].as_f64().expect("server cores");
    assert!(per_req >= 0.0 && cores >= 0.0, "{json}");
    assert!(json["bench_cpu_us_per_req"].as_f64().is_some(), "{json}");
}

#[test]
fn csv_row_carries_tags_and_label() {
    let addr = start_server(Fault::None);
    let out = bench(
        &addr.to_string(),
        &[
            "--format",
            "csv",
            "--csv-header",
            "--tag-server",
            "proactor",
            "--tag-backend",
            "uring",
            "--tag-workers",
            "2",
            "--label",
            "run \"a\", take 1",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let records = csv::parse(&text).expect("valid CSV");
    assert_eq!(records.len(), 2, "{text}");
    assert_eq!(records[0].fields, csv::COLUMNS);
    let row = &records[1].fields;
    let get = |name: &str| {
        let i = csv::COLUMNS.iter().position(|c| *c == name).expect(name);
        row[i].as_str()
    };
    assert_eq!(get("label"), "run \"a\", take 1");
    assert_eq!(get("server"), "proactor");
    assert_eq!(get("backend"), "uring");
    assert_eq!(get("workers"), "2");
    assert_eq!(get("connections"), "4");
    assert_eq!(get("errors"), "0");
    assert_eq!(get("server_cpu_us_per_req"), "");
    assert!(get("requests_per_sec").parse::<f64>().expect("number") > 0.0);
}

fn tmp_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

#[test]
fn sweep_csv_feeds_bench_report() {
    let addr = start_server(Fault::None).to_string();
    let mut csv_text = String::new();
    for (workers, header) in [("1", true), ("2", false)] {
        let mut args = vec![
            "--format",
            "csv",
            "--tag-server",
            "epoll",
            "--tag-backend",
            "-",
            "--tag-workers",
            workers,
        ];
        if header {
            args.push("--csv-header");
        }
        let out = bench(&addr, &args);
        assert!(out.status.success(), "{}", stderr(&out));
        csv_text.push_str(&String::from_utf8_lossy(&out.stdout));
    }
    let dir = tmp_dir("sweep_csv_feeds_bench_report");
    let (csv_path, md, svg) = (dir.join("r.csv"), dir.join("r.md"), dir.join("r.svg"));
    std::fs::write(&csv_path, &csv_text).expect("write CSV");
    let out = Command::new(env!("CARGO_BIN_EXE_bench-report"))
        .arg("--csv")
        .arg(&csv_path)
        .arg("--markdown")
        .arg(&md)
        .arg("--svg")
        .arg(&svg)
        .output()
        .expect("run bench-report");
    assert!(out.status.success(), "{}", stderr(&out));
    let md = std::fs::read_to_string(md).expect("markdown written");
    // The epoll row at 1 worker is its own baseline.
    assert!(md.contains("| epoll | 1.00x |"), "{md}");
    assert!(md.contains("## 4 connections, 100-byte messages"), "{md}");
    assert!(std::fs::read_to_string(svg).expect("svg").contains("<svg"));
}

#[test]
fn human_output_is_the_default() {
    let addr = start_server(Fault::None);
    let out = bench(&addr.to_string(), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in ["requests/s", "Latency (us): p50", "Errors:       0"] {
        assert!(text.contains(needle), "missing '{needle}' in:\n{text}");
    }
}
