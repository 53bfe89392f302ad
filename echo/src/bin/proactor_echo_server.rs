//! `proactor_echo_server`: the TCP echo server on FastIO. Every accept,
//! recv, send and close goes through FastIO rings via `fastio::Proactor`;
//! see `fastio_echo::proactor_server` for how a connection is served.
//!
//! ```text
//! proactor_echo_server [--port 12345] [--bind 127.0.0.1] [--threads N]
//!                      [--config fastio.conf] [--backend auto|kernel|uring|threads]
//!                      [--workers K] [--fastio key=value]...
//! ```
//! Stops cleanly on SIGINT/SIGTERM and prints per-thread statistics.

use clap::Parser;
use fastio_echo::proactor_server::{self, Options};
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;

/// TCP echo server whose socket I/O all goes through FastIO rings.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// TCP port (0: any free port; the one chosen is printed)
    #[arg(long, default_value_t = 12345)]
    port: u16,
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Application threads, each with its own ring pair and SO_REUSEPORT
    /// listener [default: the number of polling workers, max_ker_worker]
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=256))]
    threads: Option<u32>,
    #[command(flatten)]
    fastio: fastio::FastioArgs,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let opts = Options {
        addr: SocketAddr::new(args.bind, args.port),
        threads: args.threads,
        fastio: args.fastio,
    };
    match proactor_server::run(&opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("proactor_echo_server: {e}");
            ExitCode::FAILURE
        }
    }
}
