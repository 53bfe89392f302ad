//! Per-thread counters, kept in plain fields by the thread that owns them
//! (no sharing on the hot path) and printed by the main thread at exit.

use std::fmt;

#[derive(Clone, Debug, Default)]
pub struct ThreadStats {
    /// Connections accepted.
    pub connections: u64,
    /// Connections closed.
    pub closed: u64,
    /// Receives that returned data (each is echoed as one message).
    pub messages: u64,
    /// Bytes echoed.
    pub bytes: u64,
    /// Accepts that failed with a non-transient error (EMFILE...).
    pub accept_errors: u64,
}

impl ThreadStats {
    pub fn add(&mut self, o: &ThreadStats) {
        self.connections += o.connections;
        self.closed += o.closed;
        self.messages += o.messages;
        self.bytes += o.bytes;
        self.accept_errors += o.accept_errors;
    }
}

impl fmt::Display for ThreadStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} connections ({} closed), {} messages, {} bytes, {} accept errors",
            self.connections, self.closed, self.messages, self.bytes, self.accept_errors
        )
    }
}

/// Prints one line per thread and a total, to stderr.
pub fn print(server: &str, per_thread: &[ThreadStats]) {
    let mut total = ThreadStats::default();
    for (i, s) in per_thread.iter().enumerate() {
        eprintln!("{server}: thread {i}: {s}");
        total.add(s);
    }
    eprintln!("{server}: total: {total}");
}
