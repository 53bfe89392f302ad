//! `echo-bench`: a closed-loop TCP echo load generator that verifies every
//! echoed byte.
//!
//! Flag-compatible with the community tool `rust_echo_bench` (`-a`, `-c`,
//! `-l`, `-t`) and uses the same model so numbers are comparable: one OS
//! thread per connection, a blocking `std::net::TcpStream` with
//! `TCP_NODELAY`, write one message, read back exactly its length, repeat.
//! One request = one message echoed back in full.
//!
//! On top of that model it adds what a benchmark of a *new* I/O stack needs:
//!
//! * **Verification.** Message `seq` of connection `id` is filled with a
//!   pseudo-random stream seeded by `(id, seq)`, and the echo is compared to it
//!   byte for byte. A flipped byte, a stale buffer (the previous message), a
//!   shifted stream or bytes from another connection all differ from the
//!   expected content; a truncated echo shows up as EOF, reset or timeout.
//! * **Error policy.** Any error (mismatch, short read/EOF, timeout, I/O
//!   error) is counted and the connection is closed and *not* reconnected:
//!   after an error the byte stream's framing is unknown, and silently
//!   reconnecting would hide a server that drops connections. The summary
//!   reports how many connections stopped early.
//! * **A read/write timeout** (`--timeout`, default 5 s) so a dead or stuck
//!   server cannot hang the benchmark.
//! * **Warm-up** (`--warmup`): requests completing during it are not counted.
//!   A request is counted when it *completes* inside the measured window, so
//!   requests/s is exactly `counted / duration`.
//! * **Latency** percentiles from per-thread HDR histograms, merged at the end.
//! * **CPU accounting.** `--server-pid` samples the server's utime+stime from
//!   `/proc/PID/stat` at the start and end of the measured window, giving
//!   server CPU microseconds per request (the efficiency metric that matters
//!   for polling I/O workers) and utilisation in cores; the bench's own CPU
//!   comes from `getrusage`.
//!
//! All connections are established before the clock starts, so a slow accept
//! loop does not eat into the measured window and connect failures are
//! reported up front.
//!
//! Exit status: 0 on success; 1 if any error occurred (unless
//! `--allow-errors`) or no request completed in the window; 2 for bad
//! arguments or setup failures (address, connect, `--server-pid`).

use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

// echo-bench only writes CSV; the parser half of the module is bench-report's.
#[allow(dead_code)]
#[path = "shared/csv.rs"]
mod csv;

/// Larger messages are refused: they are allocated twice per connection, and
/// because every message is written in full before it is read back, a message
/// bigger than the combined socket buffers makes a well-behaved echo server
/// (which stops reading when it cannot write) stall until the timeout fires.
const MAX_LENGTH: usize = 16 << 20;

/// Per-connection threads do little besides two syscalls and a memcmp, so a
/// small stack lets thousands of connections run without reserving gigabytes.
const CONN_STACK_SIZE: usize = 256 << 10;

/// How many per-connection error messages are printed to stderr; the rest are
/// only counted (one broken server would otherwise print one per connection).
const MAX_ERROR_SAMPLES: usize = 5;

const AFTER_HELP: &str = "\
Error policy: a mismatch, short read/EOF, timeout or I/O error is counted and
the connection is closed without reconnecting (its framing is unknown after an
error). 'connections_stopped' counts connections that ended on an error.

Tags: --tag-server, --tag-backend and --tag-workers become the 'server',
'backend' and 'workers' columns of --format csv (and fields of --format json),
which is what bench-report groups by. --label is free text copied as is.
Example sweep row:
  echo-bench -t 10 --format csv --tag-server proactor --tag-backend uring \\
      --tag-workers 2 --server-pid $PID >> results.csv
(add --csv-header to the first run to emit the header line).

CSV columns: label,server,backend,workers,connections,length,duration_s,
requests,requests_per_sec,bytes_per_sec,p50_us,p99_us,p999_us,max_us,mean_us,
errors,mismatches,short_reads,timeouts,io_errors,connections_stopped,
server_cpu_us_per_req,server_cpu_cores,bench_cpu_us_per_req,bench_cpu_cores
(empty field = not measured). bytes_per_sec counts payload echoed, one direction.

Exit status: 0 ok; 1 errors occurred (unless --allow-errors) or no request
completed; 2 bad arguments or setup failure (address, connect, --server-pid).";

#[derive(Parser, Debug)]
#[command(
    name = "echo-bench",
    version,
    about = "Closed-loop TCP echo load generator (rust_echo_bench compatible) that verifies every echoed byte",
    after_help = AFTER_HELP
)]
struct Args {
    /// Server address (host:port)
    #[arg(short = 'a', long, default_value = "127.0.0.1:12345")]
    address: String,

    /// Number of concurrent connections (one thread each)
    #[arg(short = 'c', long = "number", default_value_t = 50)]
    number: usize,

    /// Message length in bytes
    #[arg(short = 'l', long, default_value_t = 512)]
    length: usize,

    /// Measured duration in seconds (after the warm-up)
    #[arg(short = 't', long, default_value_t = 60.0)]
    duration: f64,

    /// Warm-up in seconds; requests completing during it are not counted
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,

    /// Connect/read/write timeout in seconds; a timeout counts as an error
    #[arg(long, default_value_t = 5.0)]
    timeout: f64,

    /// Server process whose CPU time (/proc/PID/stat) is sampled over the window
    #[arg(long, value_name = "PID")]
    server_pid: Option<u32>,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,

    /// With --format csv: print the header line before the row
    #[arg(long)]
    csv_header: bool,

    /// Free text copied into the JSON/CSV output
    #[arg(long, default_value = "", value_name = "TEXT")]
    label: String,

    /// Server name for the 'server' column (e.g. epoll, proactor)
    #[arg(long, default_value = "", value_name = "NAME")]
    tag_server: String,

    /// Backend name for the 'backend' column (e.g. uring, threads, kernel, -)
    #[arg(long, default_value = "", value_name = "NAME")]
    tag_backend: String,

    /// Worker count for the 'workers' column (the sweep's scaling variable)
    #[arg(long, value_name = "N")]
    tag_workers: Option<u32>,

    /// Exit 0 even if verification or I/O errors occurred
    #[arg(long)]
    allow_errors: bool,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
    Csv,
}

/// Validated run parameters.
struct Config {
    connections: usize,
    length: usize,
    duration: Duration,
    warmup: Duration,
    timeout: Duration,
}

fn seconds(name: &str, value: f64, allow_zero: bool) -> Result<Duration, String> {
    let ok = value.is_finite() && (value > 0.0 || (allow_zero && value == 0.0));
    if !ok {
        let want = if allow_zero { ">= 0" } else { "> 0" };
        return Err(format!(
            "{name} must be a finite number of seconds {want}, got {value}"
        ));
    }
    Duration::try_from_secs_f64(value).map_err(|e| format!("{name} {value}: {e}"))
}

fn validate(args: &Args) -> Result<Config, String> {
    if args.number == 0 {
        return Err("--number (-c) must be at least 1".into());
    }
    if args.length == 0 {
        return Err("--length (-l) must be at least 1 byte".into());
    }
    if args.length > MAX_LENGTH {
        return Err(format!(
            "--length (-l) {} exceeds the maximum of {MAX_LENGTH} bytes",
            args.length
        ));
    }
    if args.csv_header && args.format != Format::Csv {
        return Err("--csv-header only makes sense with --format csv".into());
    }
    Ok(Config {
        connections: args.number,
        length: args.length,
        duration: seconds("--duration (-t)", args.duration, false)?,
        warmup: seconds("--warmup", args.warmup, true)?,
        timeout: seconds("--timeout", args.timeout, false)?,
    })
}

// ---------------------------------------------------------------------------
// Message content

/// SplitMix64: tiny, fast and good enough to make every message distinct. The
/// content only has to differ between (connection, sequence) pairs and within
/// a message, so that stale, shifted or cross-connection data is detected.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Fills `buf` with the content of message `seq` of connection `conn`.
fn fill_message(buf: &mut [u8], conn: u32, seq: u64) {
    // Hash the connection id first so that (conn, seq) and (conn', seq')
    // seeds do not fall on the same SplitMix64 sequence at small offsets.
    let mut seed = SplitMix64(u64::from(conn));
    let mut gen = SplitMix64(seed.next() ^ seq);
    for chunk in buf.chunks_mut(8) {
        let bytes = gen.next().to_le_bytes();
        chunk.copy_from_slice(&bytes[..chunk.len()]);
    }
}

/// Explains a mismatch for the error sample: where it starts, how much
/// differs and whether the echo is the previous message (a stale buffer).
fn describe_mismatch(conn: u32, seq: u64, expected: &[u8], got: &[u8]) -> String {
    let first = expected
        .iter()
        .zip(got)
        .position(|(a, b)| a != b)
        .unwrap_or(0);
    let differing = expected.iter().zip(got).filter(|(a, b)| a != b).count();
    let mut msg = format!(
        "connection {conn}: echo of message {seq} differs from what was sent: \
         first at byte {first} of {} (expected 0x{:02x}, got 0x{:02x}), {differing} bytes differ",
        expected.len(),
        expected.get(first).copied().unwrap_or(0),
        got.get(first).copied().unwrap_or(0),
    );
    if seq > 0 {
        let mut prev = vec![0u8; expected.len()];
        fill_message(&mut prev, conn, seq - 1);
        if prev == got {
            msg.push_str("; it is the previous message (stale echo)");
        }
    }
    msg
}

// ---------------------------------------------------------------------------
// Per-connection worker

/// What the main thread hands the connection threads once all are connected.
#[derive(Copy, Clone)]
enum Start {
    Go {
        warmup_end: Instant,
        end: Instant,
    },
    /// Setup failed after some threads were spawned; they must exit.
    Abort,
}

/// A start gate: unlike `std::sync::Barrier` it can also be opened with
/// "abort" if spawning a later thread fails, so no thread is left waiting.
struct Gate {
    state: Mutex<Option<Start>>,
    cv: Condvar,
}

impl Gate {
    fn open(&self, start: Start) {
        // A poisoned lock only means a thread panicked while holding it; the
        // Option inside is still valid, so keep going rather than panic.
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        *s = Some(start);
        self.cv.notify_all();
    }

    fn wait(&self) -> Start {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(start) = *s {
                return start;
            }
            s = self.cv.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }
}

#[derive(Default)]
struct ErrorCounts {
    mismatches: u64,
    short_reads: u64,
    timeouts: u64,
    io_errors: u64,
}

impl ErrorCounts {
    fn total(&self) -> u64 {
        self.mismatches + self.short_reads + self.timeouts + self.io_errors
    }

    fn add(&mut self, other: &ErrorCounts) {
        self.mismatches += other.mismatches;
        self.short_reads += other.short_reads;
        self.timeouts += other.timeouts;
        self.io_errors += other.io_errors;
    }
}

struct ConnStats {
    /// Latency in nanoseconds of each counted request.
    hist: Histogram<u64>,
    requests: u64,
    errors: ErrorCounts,
    /// Human-readable description of the error that stopped the connection.
    error: Option<String>,
}

fn is_timeout(e: &io::Error) -> bool {
    // SO_RCVTIMEO/SO_SNDTIMEO expiry surfaces as EAGAIN (WouldBlock) on Linux.
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

/// Reads exactly `buf.len()` bytes, returning how many arrived before a
/// failure so a truncated echo can be reported precisely.
fn read_full(stream: &mut TcpStream, buf: &mut [u8]) -> Result<(), (usize, Option<io::Error>)> {
    let mut got = 0;
    while got < buf.len() {
        match stream.read(&mut buf[got..]) {
            Ok(0) => return Err((got, None)),
            Ok(n) => got += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err((got, Some(e))),
        }
    }
    Ok(())
}

fn run_connection(
    id: u32,
    mut stream: TcpStream,
    length: usize,
    hist: Histogram<u64>,
    gate: &Gate,
) -> ConnStats {
    let mut stats = ConnStats {
        hist,
        requests: 0,
        errors: ErrorCounts::default(),
        error: None,
    };
    let (warmup_end, end) = match gate.wait() {
        Start::Go { warmup_end, end } => (warmup_end, end),
        Start::Abort => return stats,
    };
    let mut send = vec![0u8; length];
    let mut recv = vec![0u8; length];
    let mut seq: u64 = 0;
    while Instant::now() < end {
        fill_message(&mut send, id, seq);
        let t0 = Instant::now();
        if let Err(e) = stream.write_all(&send) {
            if is_timeout(&e) {
                stats.errors.timeouts += 1;
                stats.error = Some(format!("connection {id}: write of message {seq} timed out"));
            } else {
                stats.errors.io_errors += 1;
                stats.error = Some(format!(
                    "connection {id}: write of message {seq} failed: {e}"
                ));
            }
            return stats;
        }
        if let Err((got, err)) = read_full(&mut stream, &mut recv) {
            let what =
                format!("connection {id}: echo of message {seq}: got {got} of {length} bytes");
            stats.error = Some(match err {
                None => {
                    stats.errors.short_reads += 1;
                    format!("{what}, then the server closed the connection")
                }
                Some(e) if is_timeout(&e) => {
                    stats.errors.timeouts += 1;
                    format!("{what}, then the read timed out")
                }
                Some(e) => {
                    stats.errors.io_errors += 1;
                    format!("{what}, then: {e}")
                }
            });
            return stats;
        }
        let t1 = Instant::now();
        if recv != send {
            stats.errors.mismatches += 1;
            stats.error = Some(describe_mismatch(id, seq, &send, &recv));
            return stats;
        }
        // Counted by completion time: requests/s is then exactly
        // counted/duration, with no partial requests at either edge.
        if t1 > warmup_end && t1 <= end {
            stats.requests += 1;
            let ns = u64::try_from((t1 - t0).as_nanos()).unwrap_or(u64::MAX);
            // Cannot fail with an auto-resizing histogram; ignore rather than
            // abort the run over one sample.
            let _ = stats.hist.record(ns.max(1));
        }
        seq += 1;
    }
    // Nothing is outstanding now, so anything readable is an extra byte the
    // server should never have sent (e.g. a duplicated echo). Best effort: a
    // duplicate still in flight is missed.
    if stream.set_nonblocking(true).is_ok() {
        if let Ok(n) = stream.read(&mut recv) {
            if n > 0 {
                stats.errors.mismatches += 1;
                stats.error = Some(format!(
                    "connection {id}: {n} unexpected extra bytes after the last echo"
                ));
            }
        }
    }
    stats
}

// ---------------------------------------------------------------------------
// CPU accounting

/// Clock ticks per second for /proc/PID/stat times.
fn clock_ticks() -> Result<u64, String> {
    // SAFETY: sysconf has no memory-safety preconditions; it only reads a
    // configuration value.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(t)
        .ok()
        .filter(|&t| t > 0)
        .ok_or_else(|| "sysconf(_SC_CLK_TCK) failed".to_string())
}

/// utime + stime of the whole process (all threads), in clock ticks.
fn proc_cpu_ticks(pid: u32) -> Result<u64, String> {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
    parse_stat_cpu(&text).ok_or_else(|| format!("{path}: cannot parse utime/stime"))
}

/// utime + stime (fields 14 and 15) from the text of a /proc/PID/stat file.
fn parse_stat_cpu(text: &str) -> Option<u64> {
    // The command name (field 2) is in parentheses and may contain spaces or
    // ')' itself, so split after the *last* ')'. What follows starts with
    // field 3 (state).
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(14 - 3);
    let utime = fields.next()?.parse::<u64>().ok()?;
    let stime = fields.next()?.parse::<u64>().ok()?;
    utime.checked_add(stime)
}

/// This process's user + system CPU time in microseconds.
fn self_cpu_us() -> u64 {
    // SAFETY: rusage is plain old data, so all-zero is a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid, writable rusage; RUSAGE_SELF is a valid target.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    if rc != 0 {
        return 0;
    }
    let us = |tv: libc::timeval| {
        u64::try_from(tv.tv_sec).unwrap_or(0) * 1_000_000 + u64::try_from(tv.tv_usec).unwrap_or(0)
    };
    us(ru.ru_utime) + us(ru.ru_stime)
}

/// One sample of everything measured at a window edge.
struct Sample {
    at: Instant,
    server_ticks: Option<u64>,
    bench_us: u64,
}

fn sample(server_pid: Option<u32>) -> (Sample, Option<String>) {
    let (server_ticks, err) = match server_pid.map(proc_cpu_ticks) {
        None => (None, None),
        Some(Ok(t)) => (Some(t), None),
        Some(Err(e)) => (None, Some(e)),
    };
    let s = Sample {
        at: Instant::now(),
        server_ticks,
        bench_us: self_cpu_us(),
    };
    (s, err)
}

/// Sleeps until `deadline`, or until no connection is left running: when
/// every connection has stopped on an error nothing more can be measured,
/// and a sweep should not sit out the rest of a long window.
fn sleep_until(deadline: Instant, alive: &AtomicUsize) {
    const POLL: Duration = Duration::from_millis(20);
    loop {
        let now = Instant::now();
        if now >= deadline || alive.load(Ordering::Acquire) == 0 {
            return;
        }
        std::thread::sleep((deadline - now).min(POLL));
    }
}

/// Decrements the live-connection count when a connection thread ends, also
/// if it panics.
struct AliveGuard(Arc<AtomicUsize>);

impl Drop for AliveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Release);
    }
}

// ---------------------------------------------------------------------------
// Setup

fn resolve(address: &str) -> Result<Vec<SocketAddr>, String> {
    let addrs: Vec<SocketAddr> = address
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve address '{address}': {e}"))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("address '{address}' resolved to nothing"));
    }
    Ok(addrs)
}

fn configure(stream: &TcpStream, timeout: Duration) -> io::Result<()> {
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))
}

/// Connects all connections before the clock starts. The first connection
/// tries every resolved address (e.g. `localhost` may resolve to ::1 first
/// while the server listens on IPv4); the rest reuse the one that worked.
fn connect_all(address: &str, cfg: &Config) -> Result<Vec<TcpStream>, String> {
    let candidates = resolve(address)?;
    let n = cfg.connections;
    let mut streams = Vec::with_capacity(n);
    let mut chosen: Option<SocketAddr> = None;
    for i in 0..n {
        let try_addrs: &[SocketAddr] = match &chosen {
            Some(a) => std::slice::from_ref(a),
            None => &candidates,
        };
        let mut last_err = None;
        for addr in try_addrs {
            match TcpStream::connect_timeout(addr, cfg.timeout) {
                Ok(s) => {
                    chosen = Some(*addr);
                    last_err = None;
                    configure(&s, cfg.timeout).map_err(|e| {
                        format!(
                            "connection {} of {n}: cannot set socket options: {e}",
                            i + 1
                        )
                    })?;
                    streams.push(s);
                    break;
                }
                Err(e) => last_err = Some((*addr, e)),
            }
        }
        if let Some((addr, e)) = last_err {
            let hint = if e.kind() == ErrorKind::ConnectionRefused {
                " (is the server running and listening there?)"
            } else {
                ""
            };
            return Err(format!(
                "connection {} of {n} to {addr} failed: {e}{hint}",
                i + 1
            ));
        }
    }
    Ok(streams)
}

// ---------------------------------------------------------------------------
// Results

struct Report {
    label: String,
    server: String,
    backend: String,
    workers: Option<u32>,
    address: String,
    connections: usize,
    length: usize,
    duration_s: f64,
    warmup_s: f64,
    requests: u64,
    requests_per_sec: f64,
    bytes_per_sec: f64,
    /// p50, p99, p99.9, max, mean in microseconds; None without requests.
    latency_us: Option<[f64; 5]>,
    errors: ErrorCounts,
    connections_stopped: u64,
    server_pid: Option<u32>,
    server_cpu_us_per_req: Option<f64>,
    server_cpu_cores: Option<f64>,
    bench_cpu_us_per_req: Option<f64>,
    bench_cpu_cores: f64,
}

fn opt(v: Option<f64>, decimals: usize) -> String {
    v.map(|x| format!("{x:.decimals$}")).unwrap_or_default()
}

impl Report {
    fn csv_row(&self) -> String {
        let lat = |i: usize| opt(self.latency_us.map(|l| l[i]), 2);
        let fields = vec![
            self.label.clone(),
            self.server.clone(),
            self.backend.clone(),
            self.workers.map(|w| w.to_string()).unwrap_or_default(),
            self.connections.to_string(),
            self.length.to_string(),
            format!("{:.3}", self.duration_s),
            self.requests.to_string(),
            format!("{:.1}", self.requests_per_sec),
            format!("{:.1}", self.bytes_per_sec),
            lat(0),
            lat(1),
            lat(2),
            lat(3),
            lat(4),
            self.errors.total().to_string(),
            self.errors.mismatches.to_string(),
            self.errors.short_reads.to_string(),
            self.errors.timeouts.to_string(),
            self.errors.io_errors.to_string(),
            self.connections_stopped.to_string(),
            opt(self.server_cpu_us_per_req, 3),
            opt(self.server_cpu_cores, 3),
            opt(self.bench_cpu_us_per_req, 3),
            format!("{:.3}", self.bench_cpu_cores),
        ];
        debug_assert_eq!(fields.len(), csv::COLUMNS.len());
        csv::join(&fields)
    }

    fn json(&self) -> serde_json::Value {
        let lat = |i: usize| self.latency_us.map(|l| l[i]);
        serde_json::json!({
            "label": self.label,
            "server": self.server,
            "backend": self.backend,
            "workers": self.workers,
            "address": self.address,
            "connections": self.connections,
            "length": self.length,
            "duration_s": self.duration_s,
            "warmup_s": self.warmup_s,
            "requests": self.requests,
            "requests_per_sec": self.requests_per_sec,
            "bytes_per_sec": self.bytes_per_sec,
            "p50_us": lat(0),
            "p99_us": lat(1),
            "p999_us": lat(2),
            "max_us": lat(3),
            "mean_us": lat(4),
            "errors": self.errors.total(),
            "mismatches": self.errors.mismatches,
            "short_reads": self.errors.short_reads,
            "timeouts": self.errors.timeouts,
            "io_errors": self.errors.io_errors,
            "connections_stopped": self.connections_stopped,
            "server_pid": self.server_pid,
            "server_cpu_us_per_req": self.server_cpu_us_per_req,
            "server_cpu_cores": self.server_cpu_cores,
            "bench_cpu_us_per_req": self.bench_cpu_us_per_req,
            "bench_cpu_cores": self.bench_cpu_cores,
        })
    }

    fn human(&self) -> String {
        let mut out = format!(
            "Benchmarking: {}\n{} clients, running {} bytes, {} sec (+{} sec warm-up).\n\n",
            self.address, self.connections, self.length, self.duration_s, self.warmup_s
        );
        out += &format!(
            "Speed:        {:.1} requests/s, {:.2} MB/s echoed (one direction)\n",
            self.requests_per_sec,
            self.bytes_per_sec / 1e6
        );
        out += &format!("Requests:     {}\n", self.requests);
        match self.latency_us {
            Some([p50, p99, p999, max, mean]) => {
                out += &format!(
                    "Latency (us): p50 {p50:.1}  p99 {p99:.1}  p99.9 {p999:.1}  max {max:.1}  mean {mean:.1}\n"
                )
            }
            None => out += "Latency (us): n/a (no request completed)\n",
        }
        let e = &self.errors;
        out += &format!(
            "Errors:       {} (mismatches {}, short reads {}, timeouts {}, I/O {}); connections stopped early: {}\n",
            e.total(),
            e.mismatches,
            e.short_reads,
            e.timeouts,
            e.io_errors,
            self.connections_stopped
        );
        if let Some(pid) = self.server_pid {
            match self.server_cpu_cores {
                Some(cores) => {
                    out += &format!(
                        "Server CPU:   {} us/request, {cores:.3} cores (pid {pid})\n",
                        or_na(self.server_cpu_us_per_req)
                    )
                }
                None => out += &format!("Server CPU:   n/a (pid {pid} could not be sampled)\n"),
            }
        }
        out += &format!(
            "Bench CPU:    {} us/request, {:.3} cores\n",
            or_na(self.bench_cpu_us_per_req),
            self.bench_cpu_cores
        );
        out
    }
}

fn or_na(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.3}")).unwrap_or_else(|| "n/a".into())
}

fn per_request(total_us: f64, requests: u64) -> Option<f64> {
    (requests > 0).then(|| total_us / requests as f64)
}

// ---------------------------------------------------------------------------

fn run(args: &Args) -> Result<(Report, Vec<String>), String> {
    let cfg = validate(args)?;
    let ticks_per_sec = clock_ticks()?;
    // Fail before connecting if the PID is wrong: a sweep would otherwise
    // record rows without the server CPU columns.
    if let Some(pid) = args.server_pid {
        proc_cpu_ticks(pid).map_err(|e| format!("--server-pid {pid}: {e}"))?;
    }
    let streams = connect_all(&args.address, &cfg)?;

    // Auto-resizing histogram: it only grows to the largest latency seen,
    // which keeps per-thread memory small with thousands of connections.
    let empty_hist: Histogram<u64> = Histogram::new(3).map_err(|e| format!("histogram: {e}"))?;
    let gate = Arc::new(Gate {
        state: Mutex::new(None),
        cv: Condvar::new(),
    });
    let alive = Arc::new(AtomicUsize::new(0));
    let mut handles: Vec<JoinHandle<ConnStats>> = Vec::with_capacity(streams.len());
    for (i, stream) in streams.into_iter().enumerate() {
        let conn_gate = Arc::clone(&gate);
        let id = u32::try_from(i).map_err(|_| "too many connections".to_string())?;
        let length = cfg.length;
        let conn_hist = empty_hist.clone();
        alive.fetch_add(1, Ordering::AcqRel);
        let guard = AliveGuard(Arc::clone(&alive));
        let spawned = std::thread::Builder::new()
            .name(format!("echo-conn-{i}"))
            .stack_size(CONN_STACK_SIZE)
            .spawn(move || {
                let _guard = guard;
                run_connection(id, stream, length, conn_hist, &conn_gate)
            });
        match spawned {
            Ok(h) => handles.push(h),
            Err(e) => {
                gate.open(Start::Abort);
                for h in handles {
                    let _ = h.join();
                }
                return Err(format!("cannot start thread for connection {}: {e}", i + 1));
            }
        }
    }

    // Everyone is connected and parked at the gate: start the clock.
    let start = Instant::now();
    let warmup_end = start + cfg.warmup;
    let end = warmup_end + cfg.duration;
    gate.open(Start::Go { warmup_end, end });

    let mut warnings = Vec::new();
    sleep_until(warmup_end, &alive);
    let (s0, e0) = sample(args.server_pid);
    sleep_until(end, &alive);
    let (s1, e1) = sample(args.server_pid);
    warnings.extend(e0.into_iter().chain(e1).map(|e| format!("server CPU: {e}")));

    let mut hist = empty_hist;
    let mut requests = 0u64;
    let mut errors = ErrorCounts::default();
    let mut stopped = 0u64;
    let mut samples = Vec::new();
    for h in handles {
        match h.join() {
            Ok(st) => {
                requests += st.requests;
                errors.add(&st.errors);
                if let Err(e) = hist.add(&st.hist) {
                    warnings.push(format!("merging latency histograms: {e}"));
                }
                if let Some(msg) = st.error {
                    stopped += 1;
                    if samples.len() < MAX_ERROR_SAMPLES {
                        samples.push(msg);
                    }
                }
            }
            Err(_) => {
                // Should not happen; count it so the run cannot pass.
                errors.io_errors += 1;
                stopped += 1;
                samples.push("a connection thread panicked".into());
            }
        }
    }
    if errors.total() > samples.len() as u64 {
        samples.push(format!(
            "... {} more errors not shown",
            errors.total() - samples.len() as u64
        ));
    }
    warnings.extend(samples.into_iter().map(|s| format!("error: {s}")));

    let duration_s = cfg.duration.as_secs_f64();
    let window_s = (s1.at - s0.at).as_secs_f64().max(1e-9);
    let server_cpu_us = match (s0.server_ticks, s1.server_ticks) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a) as f64 * 1e6 / ticks_per_sec as f64),
        _ => None,
    };
    let bench_cpu_us = s1.bench_us.saturating_sub(s0.bench_us) as f64;
    let latency_us = (!hist.is_empty()).then(|| {
        let us = |ns: u64| ns as f64 / 1e3;
        [
            us(hist.value_at_quantile(0.50)),
            us(hist.value_at_quantile(0.99)),
            us(hist.value_at_quantile(0.999)),
            us(hist.max()),
            hist.mean() / 1e3,
        ]
    });
    let report = Report {
        label: args.label.clone(),
        server: args.tag_server.clone(),
        backend: args.tag_backend.clone(),
        workers: args.tag_workers,
        address: args.address.clone(),
        connections: cfg.connections,
        length: cfg.length,
        duration_s,
        warmup_s: cfg.warmup.as_secs_f64(),
        requests,
        requests_per_sec: requests as f64 / duration_s,
        bytes_per_sec: (requests as f64) * (cfg.length as f64) / duration_s,
        latency_us,
        errors,
        connections_stopped: stopped,
        server_pid: args.server_pid,
        server_cpu_us_per_req: server_cpu_us.and_then(|us| per_request(us, requests)),
        server_cpu_cores: server_cpu_us.map(|us| us / 1e6 / window_s),
        bench_cpu_us_per_req: per_request(bench_cpu_us, requests),
        bench_cpu_cores: bench_cpu_us / 1e6 / window_s,
    };
    Ok((report, warnings))
}

fn main() -> ExitCode {
    let args = Args::parse();
    let (report, warnings) = match run(&args) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("echo-bench: error: {e}");
            return ExitCode::from(2);
        }
    };
    // Diagnostics go to stderr so stdout stays one parseable JSON object or
    // CSV row.
    for w in &warnings {
        eprintln!("echo-bench: {w}");
    }
    match args.format {
        Format::Human => print!("{}", report.human()),
        Format::Json => println!("{}", report.json()),
        Format::Csv => {
            if args.csv_header {
                println!("{}", csv::COLUMNS.join(","));
            }
            println!("{}", report.csv_row());
        }
    }
    if report.requests == 0 {
        eprintln!("echo-bench: failed: no request completed in the measured window");
        return ExitCode::from(1);
    }
    let errors = report.errors.total();
    if errors > 0 && !args.allow_errors {
        eprintln!("echo-bench: failed: {errors} errors (use --allow-errors to exit 0 anyway)");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_differ_between_connections_and_sequence_numbers() {
        let msg = |conn, seq| {
            let mut b = vec![0u8; 64];
            fill_message(&mut b, conn, seq);
            b
        };
        assert_eq!(msg(3, 7), msg(3, 7), "deterministic");
        assert_ne!(msg(0, 0), msg(0, 1));
        assert_ne!(msg(0, 0), msg(1, 0));
        assert_ne!(msg(1, 0), msg(0, 1));
        // Not a repeating pattern, so a shifted echo cannot match.
        let m = msg(0, 0);
        assert_ne!(m[..56], m[8..]);
        // Odd lengths are filled completely.
        let mut odd = vec![0u8; 13];
        fill_message(&mut odd, 0, 0);
        assert_eq!(odd[..], m[..13]);
    }

    #[test]
    fn mismatch_description_spots_a_stale_echo() {
        let mut prev = vec![0u8; 32];
        let mut cur = vec![0u8; 32];
        fill_message(&mut prev, 2, 4);
        fill_message(&mut cur, 2, 5);
        let d = describe_mismatch(2, 5, &cur, &prev);
        assert!(d.contains("stale echo"), "{d}");
        let mut flipped = cur.clone();
        flipped[9] ^= 0x80;
        let d = describe_mismatch(2, 5, &cur, &flipped);
        assert!(
            d.contains("first at byte 9 of 32") && d.contains("1 bytes differ"),
            "{d}"
        );
        assert!(!d.contains("stale"), "{d}");
    }

    #[test]
    fn stat_parsing_survives_odd_command_names() {
        // Fields 3.. of a real line; utime = 1234, stime = 56.
        let tail = "S 1 2 3 0 -1 4194560 100 0 0 0 1234 56 0 0 20 0 4 0 100 1000 10";
        assert_eq!(parse_stat_cpu(&format!("42 (a) b (c) {tail}")), Some(1290));
        assert_eq!(parse_stat_cpu(&format!("42 (x) {tail}")), Some(1290));
        assert_eq!(parse_stat_cpu("42 (x) S 1 2"), None);
        assert_eq!(parse_stat_cpu("garbage"), None);
        let own = proc_cpu_ticks(std::process::id());
        assert!(own.is_ok(), "{own:?}");
    }
}
