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
