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

/// Accept failures already reported by one thread: each errno is logged
/// once, so a server out of descriptors does not flood its log.
#[derive(Debug, Default)]
pub struct AcceptErrorLog {
    logged: Vec<i32>,
}

impl AcceptErrorLog {
    /// Counts the failure in `stats` and logs it if this errno is new.
    pub fn report(
        &mut self,
        server: &str,
        thread: usize,
        errno: i32,
        retry: std::time::Duration,
        stats: &mut ThreadStats,
    ) {
        stats.accept_errors += 1;
        if self.logged.contains(&errno) {
            return;
        }
        self.logged.push(errno);
        eprintln!(
            "{server}: thread {thread}: accept failed: {}; pausing accepts, retrying in \
             {retry:?} or when a connection closes (logged once per error)",
            std::io::Error::from_raw_os_error(errno),
        );
    }
}
