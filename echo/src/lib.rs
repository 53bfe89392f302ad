//! fastio-echo: two TCP echo servers that differ only in how they do I/O, so
//! they can be benchmarked against each other (see `bench`'s `echo-bench`).
//!
//! - [`proactor_server`]: every accept, recv, send and close goes through
//!   FastIO rings via [`fastio::Proactor`]; application threads never make
//!   those system calls themselves.
//! - [`epoll_server`]: the classic baseline, a level-triggered epoll loop
//!   making plain libc calls.
//!
//! Both serve one connection the same way: a fixed buffer per connection,
//! receive into it, send all of it back, and only then receive again. That
//! gives natural backpressure (a client that does not read stops being read)
//! and bounded memory, and it allocates nothing per message.
//!
//! Shared pieces: [`stats`] (what each thread prints at exit) here, and from
//! `fastio::server`: `net` (listeners made with libc), `buffer` (the
//! per-connection buffer cycle) and `signals` (SIGINT/SIGTERM), which
//! kvserver uses too.

pub mod epoll_server;
pub mod proactor_server;
pub mod stats;

pub use fastio::server::{buffer, net, signals};

/// Pins the calling thread to `cpu` (callers take it modulo [`cpu_count`],
/// as FastIO does for its pollers). Failure only costs performance, so it is
/// reported, not fatal.
pub fn pin_current_thread(cpu: usize, what: &str) {
    let ok = core_affinity::set_for_current(core_affinity::CoreId { id: cpu });
    if !ok {
        eprintln!("{what}: could not pin to CPU {cpu}; running unpinned");
    }
}

/// CPUs this process may run on (what FastIO uses for its modulo too).
pub fn cpu_count() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
