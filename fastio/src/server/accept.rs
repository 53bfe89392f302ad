//! The accept side of a proactor server thread, shared by the echo server
//! and kvserver: one listener's `accept_multi`, paused when accepting fails
//! (EMFILE, ENFILE, ENOBUFS...) and armed again after [`REARM_DELAY`] or as
//! soon as a connection closes and frees a descriptor, with each errno
//! logged once per thread.
//!
//! ```text
//! arm ──▶ accept_multi(LISTENER) ──▶ Conn(fd) ...   (re-armed by the proactor)
//!                │ fails for good
//!                ▼
//!          paused ──▶ timeout(REARM_DELAY, REARM) ──▶ arm
//!                └──▶ a connection closed ───────────▶ arm
//! ```
//!
//! The server routes the completions of the two reserved tokens,
//! [`LISTENER`] and [`REARM`], here; every other token is its own.

use crate::proactor::Proactor;
use std::os::fd::RawFd;
use std::time::Duration;

/// Token of the listener's accept (and of its close at shutdown).
pub const LISTENER: u64 = u64::MAX;
/// Token of the timer that re-arms a paused accept.
pub const REARM: u64 = u64::MAX - 1;
/// How long a paused accept waits before trying again. Short, since a
/// closing connection re-arms it sooner anyway.
pub const REARM_DELAY: Duration = Duration::from_millis(50);

/// What an accept completion brought.
#[derive(Debug, PartialEq, Eq)]
pub enum Accepted {
    /// A new connection.
    Conn(RawFd),
    /// Accepting failed and is paused (counted by the caller if it wants);
    /// the errno was logged if new.
    Failed(i32),
    /// Nothing to do (a transient failure of a still-armed accept).
    Nothing,
}

/// One thread's listener.
#[derive(Debug)]
pub struct Acceptor {
    listener: RawFd,
    /// For the log lines: "kvserver: I/O thread 3".
    who: String,
    /// The accept_multi is armed.
    accepting: bool,
    /// A REARM timer is in flight.
    rearm_pending: bool,
    /// Errnos already logged by this thread.
    logged: Vec<i32>,
}

impl Acceptor {
    pub fn new(listener: RawFd, who: String) -> Acceptor {
        Acceptor {
            listener,
            who,
            accepting: false,
            rearm_pending: false,
            logged: Vec::new(),
        }
    }

    pub fn listener(&self) -> RawFd {
        self.listener
    }

    /// Starts accepting (at start, and when re-armed).
    pub fn arm(&mut self, p: &mut Proactor) {
        p.accept_multi(self.listener, LISTENER);
        self.accepting = true;
    }

    /// A completion of [`LISTENER`].
    pub fn on_accept(&mut self, p: &mut Proactor, res: i32, more: bool) -> Accepted {
        if res >= 0 {
            // Not re-armed only when the listener is being closed.
            self.accepting = more;
            return Accepted::Conn(res);
        }
        if more {
            return Accepted::Nothing;
        }
        // The accept stopped. Connections wait in the backlog; accept again
        // after a short delay, or sooner when a connection closes.
        self.accepting = false;
        let errno = -res;
        if !self.logged.contains(&errno) {
            self.logged.push(errno);
            eprintln!(
                "{}: accept failed: {}; pausing accepts, retrying in {REARM_DELAY:?} or when a \
                 connection closes (logged once per error)",
                self.who,
                std::io::Error::from_raw_os_error(errno)
            );
        }
        if !self.rearm_pending {
            self.rearm_pending = true;
            p.timeout(REARM_DELAY, REARM);
        }
        Accepted::Failed(errno)
    }

    /// A completion of [`REARM`].
    pub fn on_rearm(&mut self, p: &mut Proactor) {
        self.rearm_pending = false;
        if !self.accepting {
            self.arm(p);
        }
    }

    /// A connection closed (a descriptor is free): if accepting is paused
    /// and the server is not stopping, try again now.
    pub fn on_conn_closed(&mut self, p: &mut Proactor, stopping: bool) {
        if !self.accepting && !stopping {
            self.arm(p);
        }
    }

    /// At shutdown: closes the listener through the ring (completes with
    /// token [`LISTENER`] and kind Close).
    pub fn close(&mut self, p: &mut Proactor) {
        self.accepting = false;
        p.close(self.listener, LISTENER);
    }
}
