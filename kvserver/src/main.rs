//! kvserver: a Redis-compatible key-value server whose socket I/O all goes
//! through FastIO rings.
//!
//! ```text
//! kvserver [path/to/kvserver.conf] [--port 6379] [--bind 127.0.0.1]
//!          [--io-threads N] [--databases 16] [--any-redis-directive value...]
//!          [--config fastio.conf] [--backend auto|kernel|uring|threads]
//!          [--workers K] [--fastio key=value]...
//! ```
//!
//! # Architecture
//!
//! The source is in layers, top to bottom:
//!
//! - [`net`]: the I/O threads (one FastIO ring pair and one SO_REUSEPORT
//!   listener each), connections, mailboxes between threads, and which
//!   thread runs a request;
//! - [`exec`]: the execution pipeline every command goes through, the
//!   command table from Redis 7.0's metadata, effects, MULTI/EXEC,
//!   blocking, AUTH, eviction, expiry, statistics, keyspace notifications;
//! - [`cmd`]: the command handlers, one family per file;
//! - [`keyspace`]: the sharded databases, entries, expiry, WATCH versions;
//! - [`types`]: the values (strings, lists, hashes, sets, sorted sets,
//!   streams);
//!
//! and beside them [`persist`] (AOF, RDB, DUMP format) and [`proto`] (RESP
//! parsing and encoding). Outside the layers: [`server`] (the shared
//! `Server` and each connection's `Client`), [`config`] (the
//! redis.conf-style file, `--directive value` options, CONFIG's runtime
//! values), [`util`]. Each layer's `mod.rs` says what it may import.
//!
//! kvserver/README.md is the map: the layout, the path of one request, and
//! the threading model (shards owned by I/O threads, the lock order,
//! forwarding, mailboxes); the design notes are in docs/kvserver/.
//!
//! This file parses the command line, loads the dataset (the AOF or the
//! RDB file) before anyone can connect, starts the I/O threads, and at exit
//! writes what the AOF buffers and the final RDB snapshot.

mod alloc;
mod cmd;
mod config;
mod exec;
#[cfg(test)]
mod hostile_tests;
mod keyspace;
mod net;
mod persist;
mod proto;
mod server;
mod types;
mod util;

use clap::Parser;
use config::ServerConfig;
use fastio::server::signals;
use fastio::Fastio;
use server::Server;
use std::net::SocketAddr;
use std::os::fd::IntoRawFd;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Redis-compatible key-value server on FastIO rings.
#[derive(Parser, Debug)]
#[command(
    version,
    about,
    after_help = "Any redis.conf directive kvserver knows is also an option, as with \
                  redis-server: --port 6380 --bind 127.0.0.1 --io-threads 4 --databases 16 \
                  --dir /data --appendonly yes --save \"900 1\" ... (CONFIG GET * lists them; \
                  the values of one option run until the next --option)."
)]
struct Args {
    /// redis.conf-style settings file (every directive CONFIG GET knows)
    conf: Option<PathBuf>,
    #[command(flatten)]
    fastio: fastio::FastioArgs,
}

/// Splits the command line into redis-style `--directive value...` options
/// (any parameter of [`config::PARAMS`]; values run until the next `--`
/// option, so `--save 900 1 300 10` works) and the rest, for clap.
fn split_directives(argv: Vec<String>) -> (Vec<String>, Vec<(String, Vec<String>)>) {
    let mut rest = Vec::new();
    let mut directives: Vec<(String, Vec<String>)> = Vec::new();
    let mut it = argv.into_iter().peekable();
    while let Some(a) = it.next() {
        let name = a.strip_prefix("--").map(str::to_ascii_lowercase);
        match name {
            Some(n) if config::is_directive(&n) => {
                let mut vals = Vec::new();
                while let Some(v) = it.next_if(|v| !v.starts_with("--")) {
                    vals.push(v);
                }
                directives.push((n, vals));
            }
            _ => rest.push(a),
        }
    }
    (rest, directives)
}

fn settings(args: &Args, directives: &[(String, Vec<String>)]) -> Result<ServerConfig, String> {
    let mut cfg = ServerConfig::default();
    if let Some(path) = &args.conf {
        cfg.apply_file(path)?;
    }
    for (name, vals) in directives {
        let v: Vec<&str> = vals.iter().map(String::as_str).collect();
        cfg.set(name, &v).map_err(|e| format!("--{name}: {e}"))?;
    }
    Ok(cfg)
}

fn run(args: &Args, directives: &[(String, Vec<String>)]) -> Result<(), String> {
    let cfg = settings(args, directives)?;
    let inert = cfg.inert_settings();
    if !inert.is_empty() {
        eprintln!(
            "kvserver: accepted but with no effect here (see kvserver/README.md): {}",
            inert.join(", ")
        );
    }
    let fcfg = args
        .fastio
        .load()
        .map_err(|e| format!("FastIO configuration: {e}"))?;
    signals::install().map_err(|e| format!("installing signal handlers: {e}"))?;
    let threads = cfg.io_threads;
    // One ring pair per I/O thread, plus one for the background jobs' file
    // writes (ring_file.rs).
    let mut fastio =
        Fastio::new(&fcfg, threads as u32 + 1).map_err(|e| format!("starting FastIO: {e}"))?;
    let mut rings = fastio.take_rings();
    let bg_io = match rings.pop() {
        Some(bg) => persist::ring_file::BgIo::start(fastio::Proactor::new(bg))
            .map_err(|e| format!("spawning the background I/O thread: {e}"))?,
        None => Default::default(),
    };
    let describe = fastio.describe();
    eprintln!("{describe}");
    let addr = SocketAddr::new(cfg.bind, cfg.port);
    let (mail, wake_ends) =
        net::mailbox::Mailboxes::new(threads).map_err(|e| format!("creating wake sockets: {e}"))?;
    let server = Arc::new(Server::new(cfg, describe, mail, bg_io));
    // The AOF (or the RDB) is loaded before anyone can connect.
    exec::loading::load(&server)?;
    let (listeners, local) = fastio::server::net::listeners(addr, threads)
        .map_err(|e| format!("listening on {addr}: {e}"))?;
    eprintln!(
        "kvserver: ready on {local} ({threads} I/O threads, {} keyspace shards, {} polling workers)",
        server.ks.shard_count(),
        fcfg.max_ker_worker
    );
    /// Stack of each I/O thread.
    const IO_THREAD_STACK: usize = 32 << 20;
    let mut handles = Vec::with_capacity(threads);
    let rings = rings.into_iter().zip(listeners).zip(wake_ends);
    for (i, ((ring, listener), wake)) in rings.enumerate() {
        let server = server.clone();
        // The worker closes the listener and its wake socket through its
        // ring at shutdown.
        let listener = listener.into_raw_fd();
        let wake = wake.into_raw_fd();
        let cpu = (!server.cfg.server_cpus.is_empty())
            .then(|| server.cfg.server_cpus[i % server.cfg.server_cpus.len()]);
        let h = std::thread::Builder::new()
            .name(format!("kv-io-{i}"))
            // Scripts run here: cjson/cmsgpack decode nesting down to
            // their limits (1000 levels) and a debug build's frames need
            // more than the default 2 MiB (only what is touched is
            // committed).
            .stack_size(IO_THREAD_STACK)
            .spawn(move || {
                if let Some(cpu) = cpu {
                    if !core_affinity::set_for_current(core_affinity::CoreId { id: cpu }) {
                        eprintln!(
                            "kvserver: I/O thread {i}: cannot run on CPU {cpu} (server_cpulist); \
                             running unpinned"
                        );
                    }
                }
                net::io_thread::Worker::new(i, threads, server, ring, listener, wake).run()
            })
            .map_err(|e| format!("spawning I/O thread {i}: {e}"))?;
        handles.push(h);
    }
    let mut ok = true;
    for h in handles {
        ok &= h.join().unwrap_or(false);
    }
    // SIGTERM, SIGINT, SHUTDOWN: what the AOF buffers is written and
    // fsynced before exit (the I/O threads are gone: plain calls here).
    // A failed flush is reported and makes the exit status non-zero.
    let aof_done = server.aof().map_or(Ok(()), |aof| aof.shutdown());
    if let Err(e) = &aof_done {
        eprintln!("kvserver: # {e}");
    }
    // The final RDB save: SHUTDOWN SAVE, or save points configured and no
    // SHUTDOWN NOSAVE (Redis's rule).
    server.rdb.at_exit(
        &server.ks,
        &server.save_points(),
        &server.rdb_file(),
        server.dirty(),
    )?;
    if !ok {
        return Err("an I/O thread failed (see above)".into());
    }
    aof_done.map_err(|_| "the AOF could not be flushed at exit (see above)".into())
}

fn main() -> ExitCode {
    let (rest, directives) = split_directives(std::env::args().collect());
    let args = Args::parse_from(rest);
    match run(&args, &directives) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kvserver: {e}");
            ExitCode::FAILURE
        }
    }
}
