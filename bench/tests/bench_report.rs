//! Tests of the built `bench-report` binary on small synthetic sweep CSVs
//! (numbers chosen so every derived value is easy to check by hand), plus
//! the shared CSV reader/writer it relies on.

use std::path::PathBuf;
use std::process::{Command, Output};

#[path = "../src/shared/csv.rs"]
mod csv;

const HEADER: &str = "label,server,backend,workers,connections,length,duration_s,requests,\
requests_per_sec,bytes_per_sec,p50_us,p99_us,p999_us,max_us,mean_us,errors,mismatches,\
short_reads,timeouts,io_errors,connections_stopped,server_cpu_us_per_req,server_cpu_cores,\
bench_cpu_us_per_req,bench_cpu_cores";

/// One row in echo-bench's column order with the fields the report uses.
fn row(server: &str, backend: &str, workers: u32, rps: f64, cpu: &str, errors: u32) -> String {
    format!(
        "sweep,{server},{backend},{workers},50,512,10.000,{req},{rps:.1},1.0,\
         40.00,120.00,200.00,900.00,45.00,{errors},{errors},0,0,0,0,{cpu},1.000,8.000,0.800",
        req = (rps * 10.0) as u64
    )
}

fn synthetic_csv() -> String {
    [
        HEADER.to_string(),
        row("epoll", "-", 1, 100000.0, "10.000", 0),
        row("epoll", "-", 2, 180000.0, "11.000", 0),
        row("epoll", "-", 4, 300000.0, "12.500", 0),
        row("proactor", "uring", 1, 150000.0, "6.000", 0),
        row("proactor", "uring", 2, 280000.0, "6.500", 0),
        row("proactor", "uring", 4, 500000.0, "7.000", 3),
        // No --server-pid for this series: empty CPU fields.
        row("proactor", "threads", 1, 90000.0, "", 0),
        row("proactor", "threads", 2, 170000.0, "", 0),
    ]
    .join("\n")
        + "\n"
}

fn tmp_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("bench_report_{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

fn report(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bench-report"))
        .args(args)
        .output()
        .expect("run bench-report")
}

/// Writes `csv` and runs the report with Markdown and SVG outputs.
fn run_on(name: &str, csv_text: &str) -> (Output, String, Option<String>) {
    let dir = tmp_dir(name);
    let (c, m, s) = (dir.join("in.csv"), dir.join("out.md"), dir.join("out.svg"));
    std::fs::write(&c, csv_text).expect("write CSV");
    let out = report(&[
        "--csv".as_ref(),
        c.as_os_str(),
        "--markdown".as_ref(),
        m.as_os_str(),
        "--svg".as_ref(),
        s.as_os_str(),
    ]);
    let md = std::fs::read_to_string(&m).unwrap_or_default();
    (out, md, std::fs::read_to_string(&s).ok())
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn assert_has(md: &str, needle: &str) {
    assert!(md.contains(needle), "missing\n  {needle}\nin\n{md}");
}

#[test]
fn tables_hold_the_right_numbers() {
    let (out, md, svg) = run_on("tables", &synthetic_csv());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_has(&md, "## 50 connections, 512-byte messages");
    assert_has(&md, "| server/backend | 1 | 2 | 4 |");
    // Requests/s; (!) marks the run with errors; n/a where not measured.
    assert_has(&md, "| epoll | 100000 | 180000 | 300000 |");
    assert_has(&md, "| proactor/uring | 150000 | 280000 | 500000 (!) |");
    assert_has(&md, "| proactor/threads | 90000 | 170000 | n/a |");
    // Server CPU us/request.
    assert_has(&md, "| epoll | 10.00 | 11.00 | 12.50 |");
    assert_has(&md, "| proactor/uring | 6.00 | 6.50 | 7.00 (!) |");
    assert_has(&md, "| proactor/threads | n/a | n/a | n/a |");
    // Scaling efficiency rps(k)/(k*rps(1)): 180000/(2*100000) = 0.90, ...
    assert_has(&md, "| epoll | 1.00 | 0.90 | 0.75 |");
    assert_has(&md, "| proactor/uring | 1.00 | 0.93 | 0.83 (!) |");
    assert_has(&md, "| proactor/threads | 1.00 | 0.94 | n/a |");
    // Ratio vs epoll with 1 worker (100000 req/s).
    assert_has(
        &md,
        "relative to epoll with 1 worker(s) (epoll: 100000 req/s)",
    );
    assert_has(&md, "| epoll | 1.00x | 1.80x | 3.00x |");
    assert_has(&md, "| proactor/uring | 1.50x | 2.80x | 5.00x (!) |");
    assert_has(&md, "| proactor/threads | 0.90x | 1.70x | n/a |");
    // Latency.
    assert_has(&md, "| epoll | 40.0 / 120.0 |");

    let svg = svg.expect("SVG written");
    assert!(
        svg.contains("<svg"),
        "not an SVG: {}",
        &svg[..svg.len().min(200)]
    );
    for needle in [
        "Requests/s vs workers",
        "Server CPU us/request vs workers",
        "proactor/uring",
    ] {
        assert!(svg.contains(needle), "SVG lacks '{needle}'");
    }
}

#[test]
fn repeats_are_averaged_and_repeated_headers_skipped() {
    let csv_text = [
        HEADER.to_string(),
        row("epoll", "-", 1, 100000.0, "10.000", 0),
        // A second sweep appended with its own header line.
        HEADER.to_string(),
        row("epoll", "-", 1, 120000.0, "", 0),
        row("epoll", "-", 2, 200000.0, "9.000", 0),
    ]
    .join("\n");
    let (out, md, _) = run_on("repeats", &csv_text);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_has(&md, "| epoll | 110000 | 200000 |");
    // The CPU mean ignores the run that did not measure it.
    assert_has(&md, "| epoll | 10.00 | 9.00 |");
    assert_has(&md, "average several runs");
}

#[test]
fn groups_split_by_connections_and_length() {
    let other = row("epoll", "-", 1, 50000.0, "20.000", 0).replace(",50,512,", ",8,64,");
    let csv_text = format!("{}{other}\n", synthetic_csv());
    let (out, md, svg) = run_on("groups", &csv_text);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_has(&md, "## 8 connections, 64-byte messages");
    assert_has(&md, "## 50 connections, 512-byte messages");
    let svg = svg.expect("SVG written");
    assert!(svg.contains("8 connections, 64-byte messages"));
}

#[test]
fn missing_baseline_is_noted_not_fatal() {
    let csv_text = format!(
        "{HEADER}\n{}\n{}\n",
        row("proactor", "uring", 1, 150000.0, "6.000", 0),
        row("proactor", "uring", 2, 280000.0, "", 0)
    );
    let (out, md, svg) = run_on("no_baseline", &csv_text);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_has(&md, "No baseline row in this group");
    assert!(svg.expect("SVG written").contains("<svg"));
}

#[test]
fn baseline_flags_select_another_row() {
    let dir = tmp_dir("baseline_flags");
    let c = dir.join("in.csv");
    std::fs::write(&c, synthetic_csv()).expect("write CSV");
    let out = report(&[
        "--csv".as_ref(),
        c.as_os_str(),
        "--baseline-server".as_ref(),
        "proactor".as_ref(),
        "--baseline-backend".as_ref(),
        "uring".as_ref(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    // No --markdown: the report goes to stdout.
    let md = String::from_utf8_lossy(&out.stdout);
    assert_has(&md, "relative to proactor/uring with 1 worker(s)");
    assert_has(&md, "| proactor/uring | 1.00x |");
}

#[test]
fn bad_input_is_a_clear_error() {
    let cases: Vec<(&str, String, &str)> = vec![
        ("empty", String::new(), "empty"),
        (
            "missing_column",
            "server,backend,workers\nepoll,-,1\n".into(),
            "requests_per_sec",
        ),
        (
            "not_a_number",
            format!("{HEADER}\n{}\n", row("epoll", "-", 1, 1.0, "abc", 0)),
            "line 2: column 'server_cpu_us_per_req': 'abc'",
        ),
        (
            "no_workers_tag",
            format!("{HEADER}\n{}\n", row("epoll", "-", 1, 1.0, "", 0)).replace(",-,1,", ",-,,"),
            "--tag-workers",
        ),
        (
            "short_row",
            format!("{HEADER}\nsweep,epoll,-,1\n"),
            "line 2: 4 fields",
        ),
        ("header_only", format!("{HEADER}\n"), "no data rows"),
        (
            "unclosed_quote",
            format!("{HEADER}\n\"sweep,epoll\n"),
            "not closed",
        ),
    ];
    for (name, text, needle) in cases {
        let (out, _, svg) = run_on(name, &text);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{name}: {}", stderr(&out));
        assert!(svg.is_none(), "{name}: no SVG on bad input");
    }

    let out = report(&["--csv".as_ref(), "/nonexistent/results.csv".as_ref()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("cannot read /nonexistent/results.csv"));

    let dir = tmp_dir("bad_output");
    let c = dir.join("in.csv");
    std::fs::write(&c, synthetic_csv()).expect("write CSV");
    let out = report(&[
        "--csv".as_ref(),
        c.as_os_str(),
        "--markdown".as_ref(),
        dir.join("out.md").as_os_str(),
        "--svg".as_ref(),
        "/nonexistent/dir/out.svg".as_ref(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
}

#[test]
fn csv_round_trip() {
    let fields: Vec<String> = ["plain", "with,comma", "with \"quote\"", "two\nlines", ""]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let text = format!("{}\r\n\n{}\n", csv::join(&fields), csv::join(&fields));
    let records = csv::parse(&text).expect("parse");
    assert_eq!(records.len(), 2, "blank line skipped");
    assert_eq!(records[0].fields, fields);
    assert_eq!(records[1].fields, fields);
    assert_eq!(records[0].line, 1);
    assert_eq!(records[1].line, 4, "the quoted newline counts as a line");
    assert_eq!(csv::quote("a"), "a");
    assert_eq!(
        csv::COLUMNS.join(","),
        HEADER,
        "test header is echo-bench's"
    );
    assert!(csv::parse("a,b\"c\n").is_err());
}
