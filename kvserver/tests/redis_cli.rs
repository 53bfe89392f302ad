//! redis-cli, the tool people point at servers first, against kvserver.
//! redis-cli must be on PATH (Debian package `redis-tools`; CI installs
//! it): without it this test fails rather than passing vacuously.

mod common;

use common::{on_path, Server};
use std::process::Command;

fn cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .arg("-p")
        .arg(port.to_string())
        .args(args)
        .output()
        .expect("running redis-cli");
    assert!(out.status.success(), "redis-cli {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim_end().to_string()
}

#[test]
fn redis_cli_ping_set_get() {
    assert!(
        on_path("redis-cli"),
        "redis-cli is not on PATH: install the Debian package redis-tools (CI does)"
    );
    let s = Server::kvserver("threads");
    assert_eq!(cli(s.port, &["ping"]), "PONG");
    assert_eq!(cli(s.port, &["set", "greeting", "hello world"]), "OK");
    assert_eq!(cli(s.port, &["get", "greeting"]), "hello world");
    assert_eq!(cli(s.port, &["incrby", "n", "5"]), "5");
    assert_eq!(cli(s.port, &["-3", "get", "nosuch"]), "");
    assert!(cli(s.port, &["info", "keyspace"]).contains("db0:keys=2,expires=0"));
}

/// Issue 5's acceptance run: redis-benchmark's whole default test list
/// (PING_INLINE ... MSET, LRANGE_600 included) at -P 1 and -P 16 completes
/// with a requests/s figure for every test (an error reply makes
/// redis-benchmark print the error instead), plus XADD as a custom command
/// (7.0's redis-benchmark has no XADD test; 7.2's runs this one), on each
/// backend.
#[test]
fn redis_benchmark_default_run() {
    assert!(
        on_path("redis-benchmark"),
        "redis-benchmark is not on PATH: install the Debian package redis-tools (CI does)"
    );
    for backend in ["threads", "uring"] {
        let Some(s) = Server::kvserver_if_available(backend) else {
            continue;
        };
        for pipeline in ["1", "16"] {
            let out = Command::new("redis-benchmark")
                .args(["-p", &s.port.to_string(), "-n", "2000", "-c", "20"])
                .args(["-r", "1000", "-P", pipeline, "--csv"])
                .output()
                .expect("running redis-benchmark");
            let text = String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{backend} -P {pipeline}: {text}");
            let rows: Vec<&str> = text
                .lines()
                .filter(|l| !l.is_empty() && !l.starts_with("\"test\""))
                .collect();
            for row in &rows {
                let rps = row.split('"').nth(3).unwrap_or("");
                assert!(
                    rps.parse::<f64>().is_ok_and(|r| r > 0.0),
                    "{backend} -P {pipeline}: unexpected line {row:?} in:\n{text}"
                );
            }
            assert!(
                rows.len() >= 20,
                "{backend} -P {pipeline}: only {} tests ran:\n{text}",
                rows.len()
            );
        }
        let out = Command::new("redis-benchmark")
            .args(["-p", &s.port.to_string(), "-n", "2000", "-c", "20", "-q"])
            .args(["XADD", "benchstream", "*", "myfield", "xxx"])
            .output()
            .expect("running redis-benchmark");
        assert!(out.status.success(), "{backend} XADD: {out:?}");
        assert_eq!(
            cli(s.port, &["xlen", "benchstream"]),
            "2000",
            "{backend}: every XADD landed"
        );
    }
}
