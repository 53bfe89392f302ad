//! kvserver: a Redis-compatible key-value server whose socket I/O all goes
//! through FastIO rings.
//!
//! ```text
//! kvserver [path/to/kvserver.conf] [--port 6379] [--bind 127.0.0.1]
//!          [--io-threads N] [--databases 16]
//!          [--config fastio.conf] [--backend auto|kernel|uring|threads]
//!          [--workers K] [--fastio key=value]...
//! ```
//!
//! # Architecture
//!
//! Follow one request from the socket to the hash table and back:
//!
//! - [`networking`]: N I/O threads (`io-threads`, default one per CPU
//!   but one, at least one: see [`config::default_io_threads`]), each
//!   with its own FastIO ring pair ([`fastio::Proactor`]) and its own
//!   SO_REUSEPORT listener, so the kernel spreads connections over them.
//!   Accept, recv, send and close are ring entries executed by FastIO's
//!   workers; the thread never makes those system calls. Up to one recv
//!   and one send are in flight per connection; all complete requests in
//!   the input are executed and their replies go out in one send
//!   (pipelines).
//! - [`mailbox`]: how a thread hands another one something for a
//!   connection it owns (pub/sub messages, MONITOR lines, the reply of a
//!   blocked client it served, replies to forwarded requests) or requests
//!   for shards it owns, with a wake through the rings when it sleeps;
//!   [`dispatch`], [`blocking`] (BLPOP & co.), [`pubsub`], [`monitor`]
//!   use it.
//! - [`protocol`]: RESP multibulk requests (decoded in one scan of the
//!   headers that enforces Redis's limits, arguments as ranges of the
//!   input) and inline commands.
//! - [`dispatch`]: which thread runs a request: its keys' shards' owner
//!   (forwarded there) or the connection's own.
//! - [`command`]: the command table (name, arity, flags, key positions,
//!   handler) and dispatch: lock the shards of the keys, run the handler.
//! - [`t_string`], [`t_list`], [`t_hash`], [`t_set`], [`keys`],
//!   [`server_cmds`]: the commands, one family per
//!   file as in Redis; they read and write [`db`] and reply through
//!   [`reply`], which encodes RESP2 or RESP3 per connection.
//! - [`db`]: the keyspace, split into S shards (a power of two, at least 4
//!   per I/O thread), shard = hash(key) & (S-1); each shard is a
//!   `Mutex<Shard>` holding its part of all 16 databases, with per-key
//!   deadlines, lazy expiry on access and an active expiry cycle that each
//!   I/O thread runs on its slice of the shards.
//!
//! # Threading model: shards owned by I/O threads, a lock order across them
//!
//! Every shard is owned by one I/O thread (`shard % io-threads`). A
//! command whose keys all lie in shards of one thread runs on that thread
//! ([`dispatch`]: forwarded from its connection's thread as raw requests
//! through the [`mailbox`], replies posted back, the connection executing
//! nothing else meanwhile so its commands keep their order). Everything
//! else (commands spanning owners, whole-keyspace commands, EXEC, blocking
//! and keyless commands) runs on the connection's thread. Wherever a
//! command runs, it locks exactly the shards of its keys, in ascending
//! shard order, executes, and unlocks: owners lock too, so this lock order
//! is the cross-shard protocol. Because every thread acquires locks in the
//! same global order, there is no deadlock; because a command holds all
//! its shards at once, multi-key commands (MSET, MSETNX, MGET, DEL k1 k2,
//! RENAME, SMOVE, LMOVE, SUNIONSTORE and the other set-algebra commands,
//! COPY) are atomic across shards, and MULTI/EXEC is atomic the same way
//! ([`multi`]: EXEC locks the union of the queued commands' shards)
//! without a two-phase commit between shard owners. Commands over the
//! whole keyspace (KEYS, DBSIZE, FLUSHALL, SWAPDB, INFO keyspace) lock
//! every shard in order; SCAN is the exception: it locks one shard at a
//! time and its cursor survives rehashing (see [`keys::scan`]).
//! `shard-dispatch local` turns forwarding off (every command runs where
//! it arrived), for comparison.
//!
//! - [`aof`]: the append-only file (Redis 7.0's multi-part layout): each
//!   write command's record is appended while the command holds its shard
//!   locks, written and fsynced through the rings (group commit: with
//!   `appendfsync always` replies wait for the fsync), loaded at start,
//!   compacted by BGREWRITEAOF.
//! - [`rdb`]: RDB snapshots in Redis 7.0's format (SAVE, BGSAVE, `save`
//!   points, load at start, save at shutdown) and DUMP/RESTORE.
//! - [`config`]: the redis.conf-style file and `--directive value` options;
//!   [`server`]: the shared server state and per-client state; [`util`]:
//!   Redis-exact number parsing/formatting and glob matching.

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
    if let Some(aof) = server.aof() {
        aof.shutdown();
    }
    // The final RDB save: SHUTDOWN SAVE, or save points configured and no
    // SHUTDOWN NOSAVE (Redis's rule).
    server.rdb.at_exit(
        &server.ks,
        &server.save_points(),
        &server.rdb_file(),
        server.dirty(),
    )?;
    if ok {
        Ok(())
    } else {
        Err("an I/O thread failed (see above)".into())
    }
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
