//! `epoll_echo_server`: the baseline TCP echo server, a level-triggered
//! epoll loop with plain libc system calls (no FastIO), to compare the
//! proactor server against. See `fastio_echo::epoll_server`.
//!
//! ```text
//! epoll_echo_server [--port 12345] [--bind 127.0.0.1] [--threads N] [--affinity-offset C]
//! ```
//! Stops cleanly on SIGINT/SIGTERM and prints per-thread statistics.

use clap::Parser;
use fastio_echo::epoll_server::{self, Options};
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;

/// TCP echo server on a classic epoll loop (the baseline).
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// TCP port (0: any free port; the one chosen is printed)
    #[arg(long, default_value_t = 12345)]
    port: u16,
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Threads, each with its own SO_REUSEPORT listener and epoll instance
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=256))]
    threads: u32,
    /// Pin thread i to CPU (offset + i) % ncpu; -1 leaves threads unpinned
    #[arg(long, default_value_t = -1, allow_negative_numbers = true,
          value_parser = clap::value_parser!(i32).range(-1..=4095))]
    affinity_offset: i32,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let opts = Options {
        addr: SocketAddr::new(args.bind, args.port),
        threads: args.threads,
        affinity_offset: args.affinity_offset,
    };
    match epoll_server::run(&opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("epoll_echo_server: {e}");
            ExitCode::FAILURE
        }
    }
}
