//! `fastio-microbench`: what one trip through a FastIO ring costs.
//!
//! For each backend (threads, uring, kernel; by default every one that works
//! on this machine) it runs three measurements on one ring pair, each for
//! `--seconds`:
//!
//! 1. **NOP round trip**: push one NOP, `wait(1)`, pop; repeat. Latency is
//!    push to pop.
//! 2. **NOP batch**: push `--batch` NOPs, submit, wait for and pop all of
//!    them; repeat. Throughput only.
//! 3. **recv 16 B round trip**: on an AF_UNIX stream socket pair, `write(2)`
//!    16 bytes to one end directly, then RECV them from the other end through
//!    the ring. Latency covers the write and the ring trip.
//!
//! CPU time per op is the process's user + system time (`getrusage
//! RUSAGE_SELF`) over the measurement divided by the ops done. It includes
//! the poller threads of the `threads` backend and work io_uring does on the
//! submitting thread's behalf, but not the kernel module's in-kernel pollers
//! nor io_uring's SQPOLL thread, which belong to no process of ours.

use clap::{Parser, ValueEnum};
use fastio::abi::{op, Sqe};
use fastio::config::BackendChoice;
use fastio::{Fastio, FastioArgs, Ring};
use hdrhistogram::Histogram;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::ExitCode;
use std::time::{Duration, Instant};

type Result<T> = std::result::Result<T, String>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Backend {
    Threads,
    Uring,
    Kernel,
}

impl Backend {
    fn choice(self) -> BackendChoice {
        match self {
            Backend::Threads => BackendChoice::Threads,
            Backend::Uring => BackendChoice::Uring,
            Backend::Kernel => BackendChoice::Kernel,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Backend::Threads => "threads",
            Backend::Uring => "uring",
            Backend::Kernel => "kernel",
        }
    }
}

/// Ring micro-benchmark: NOP and small-recv round trips on each backend.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Backends to measure, comma-separated (default: every one that works
    /// here). Overrides --backend and the backend key of --config.
    #[arg(long, value_delimiter = ',')]
    backends: Option<Vec<Backend>>,
    /// Seconds per measurement
    #[arg(long, default_value_t = 1.0)]
    seconds: f64,
    /// NOPs per submission in the batch test
    #[arg(long, default_value_t = 32)]
    batch: usize,
    /// FastIO settings; the backend is set per row from --backends.
    #[command(flatten)]
    fastio: FastioArgs,
}

/// One row of the table. Latencies are absent for throughput-only tests.
struct Row {
    backend: Backend,
    test: &'static str,
    ops_per_s: f64,
    latency_us: Option<[f64; 3]>,
    cpu_us_per_op: f64,
}

/// Process CPU time (user + system, all threads) so far.
fn cpu_time() -> Result<Duration> {
    // SAFETY: rusage is plain data; getrusage fills it in.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid, writable rusage.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return Err(format!("getrusage: {}", std::io::Error::last_os_error()));
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Ok(tv(ru.ru_utime) + tv(ru.ru_stime))
}

fn socketpair() -> Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    let flags = libc::SOCK_STREAM | libc::SOCK_CLOEXEC;
    // SAFETY: fds is a valid out-array of two ints.
    if unsafe { libc::socketpair(libc::AF_UNIX, flags, 0, fds.as_mut_ptr()) } != 0 {
        return Err(format!("socketpair: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: both fds were just created and nothing else owns them.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Waits for the one outstanding entry and checks it echoes `user_data`.
fn complete_one(ring: &mut Ring, user_data: u64, want_res: i32, what: &str) -> Result<()> {
    ring.wait(1, None)
        .map_err(|e| format!("{what}: wait: {e}"))?;
    let c = ring
        .pop()
        .ok_or_else(|| format!("{what}: wait(1) returned but no completion was ready"))?;
    if c.user_data != user_data || c.res != want_res {
        return Err(format!(
            "{what}: got user_data {} res {}, expected user_data {user_data} res {want_res}",
            c.user_data, c.res
        ));
    }
    Ok(())
}

/// Runs `iteration` (which does `ops` ops) until `secs` have passed, timing
/// each iteration into a histogram of nanoseconds if `hist` is given.
fn measure(
    backend: Backend,
    test: &'static str,
    secs: f64,
    ops: u64,
    mut hist: Option<Histogram<u64>>,
    mut iteration: impl FnMut(u64) -> Result<()>,
) -> Result<Row> {
    // A short warm-up so the poller is awake and the caches are hot.
    for i in 0..1000 {
        iteration(i)?;
    }
    let cpu0 = cpu_time()?;
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(secs);
    let mut n = 0u64;
    loop {
        let t0 = Instant::now();
        if t0 >= end {
            break;
        }
        iteration(n)?;
        if let Some(h) = hist.as_mut() {
            h.saturating_record(t0.elapsed().as_nanos() as u64);
        }
        n += 1;
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu = (cpu_time()? - cpu0).as_secs_f64();
    let total = (n * ops).max(1) as f64;
    let us = |h: &Histogram<u64>, q| h.value_at_quantile(q) as f64 / 1000.0;
    Ok(Row {
        backend,
        test,
        ops_per_s: total / wall,
        latency_us: hist.map(|h| [us(&h, 0.5), us(&h, 0.99), us(&h, 0.999)]),
        cpu_us_per_op: cpu * 1e6 / total,
    })
}

fn bench_backend(args: &Args, backend: Backend, rows: &mut Vec<Row>) -> Result<()> {
    let name = backend.name();
    // Declared before the context so that they outlive it: should an error
    // leave a RECV in flight, the workers are gone before `buf` is.
    let (tx, rx) = socketpair()?;
    let msg = [0x5au8; 16];
    let mut buf = [0u8; 16];
    let mut cfg = args.fastio.load().map_err(|e| e.to_string())?;
    cfg.backend = backend.choice();
    let mut fastio = Fastio::new(&cfg, 1).map_err(|e| format!("{name}: context: {e}"))?;
    eprintln!("{}", fastio.describe());
    let mut ring = fastio
        .take_rings()
        .pop()
        .ok_or_else(|| format!("{name}: context has no ring"))?;
    if args.batch == 0 || args.batch > ring.sq_entries() {
        return Err(format!(
            "--batch must be in 1..={} (ring_entries), got {}",
            ring.sq_entries(),
            args.batch
        ));
    }
    let hist = || Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).ok();

    let nop = |user_data| Sqe {
        opcode: op::NOP,
        fd: -1,
        user_data,
        ..Default::default()
    };
    rows.push(measure(
        backend,
        "NOP round trip",
        args.seconds,
        1,
        hist(),
        |i| {
            // SAFETY: a NOP carries no pointers.
            unsafe { ring.push(&nop(i)) }.map_err(|e| format!("NOP: {e}"))?;
            complete_one(&mut ring, i, 0, "NOP")
        },
    )?);

    let batch = args.batch;
    let test = "NOP batch";
    rows.push(measure(
        backend,
        test,
        args.seconds,
        batch as u64,
        None,
        |_| {
            for i in 0..batch as u64 {
                // SAFETY: a NOP carries no pointers.
                unsafe { ring.push(&nop(i)) }.map_err(|e| format!("NOP batch: {e}"))?;
            }
            ring.submit()
                .map_err(|e| format!("NOP batch: submit: {e}"))?;
            let mut got = 0;
            while got < batch {
                ring.wait(batch - got, None)
                    .map_err(|e| format!("NOP batch: wait: {e}"))?;
                while let Some(c) = ring.pop() {
                    if c.res != 0 {
                        return Err(format!("NOP batch: completion res {}", c.res));
                    }
                    got += 1;
                }
            }
            Ok(())
        },
    )?);

    let test = "recv 16 B round trip";
    rows.push(measure(backend, test, args.seconds, 1, hist(), |i| {
        // SAFETY: msg is a live 16-byte buffer; tx is an open socket.
        let w = unsafe { libc::write(tx.as_raw_fd(), msg.as_ptr().cast(), msg.len()) };
        if w != msg.len() as isize {
            let err = std::io::Error::last_os_error();
            return Err(format!("recv test: write returned {w}: {err}"));
        }
        let recv = Sqe {
            opcode: op::RECV,
            fd: rx.as_raw_fd(),
            addr: buf.as_mut_ptr() as u64,
            len: buf.len() as u32,
            user_data: i,
            ..Default::default()
        };
        // SAFETY: buf outlives the completion, which complete_one pops
        // before this closure returns; after an error it still outlives the
        // context (declared first), so no worker can write to it once freed.
        unsafe { ring.push(&recv) }.map_err(|e| format!("recv test: {e}"))?;
        complete_one(&mut ring, i, msg.len() as i32, "recv test")
    })?);
    let s = fastio.stats();
    eprintln!(
        "  {name} counters: submitted {} completed {} sleeps {} wakeups {}",
        s.submitted, s.completed, s.sleeps, s.wakeups
    );
    Ok(())
}

fn default_backends() -> Vec<Backend> {
    let mut v = vec![Backend::Threads];
    if fastio::backend::uring::probe().is_ok() {
        v.push(Backend::Uring);
    }
    if fastio::backend::kernel::probe().is_ok() {
        v.push(Backend::Kernel);
    }
    v
}

fn fmt_row(r: &Row) -> String {
    let lat = match r.latency_us {
        Some([p50, p99, p999]) => format!("{p50:.2} | {p99:.2} | {p999:.2}"),
        None => "- | - | -".to_string(),
    };
    format!(
        "| {} | {} | {:.0} | {lat} | {:.3} |",
        r.backend.name(),
        r.test,
        r.ops_per_s,
        r.cpu_us_per_op
    )
}

fn main() -> ExitCode {
    let args = Args::parse();
    if !(args.seconds.is_finite() && args.seconds > 0.0 && args.seconds < 1e6) {
        eprintln!("fastio-microbench: --seconds must be a positive number of seconds");
        return ExitCode::FAILURE;
    }
    let backends = args.backends.clone().unwrap_or_else(default_backends);
    let mut rows = Vec::new();
    for &b in &backends {
        if let Err(e) = bench_backend(&args, b, &mut rows) {
            eprintln!("fastio-microbench: {e}");
            return ExitCode::FAILURE;
        }
    }
    println!("One ring, one application thread. CPU us/op is process CPU time (user + sys)");
    println!("per op, including the poller threads of the threads backend (not the kernel");
    println!("module's in-kernel pollers nor an io_uring SQPOLL thread).\n");
    println!("| backend | test | ops/s | p50 us | p99 us | p99.9 us | CPU us/op |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!("{}", fmt_row(r));
    }
    ExitCode::SUCCESS
}
