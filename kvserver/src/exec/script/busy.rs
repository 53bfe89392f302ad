//! Busy scripts (Redis's `busy-reply-threshold`, alias `lua-time-limit`,
//! and SCRIPT KILL).
//!
//! A script holds every shard, so it is the only one running. Its Lua
//! state calls [`Busy::check`] every 100 000 instructions (a count hook,
//! as Redis's): past the threshold the script is *busy*, and the pipeline
//! answers other clients' commands `-BUSY` unless they are flagged
//! `allow_busy` (SCRIPT KILL, SHUTDOWN, ...) instead of letting them wait
//! for the shard locks. SCRIPT KILL marks it killed, refused
//! (`UNKILLABLE`) once it ran a write command: the next check raises
//! `ERR Script killed by user with SCRIPT KILL...` in it. A stop request
//! (SHUTDOWN, SIGTERM) ends it the same way, so the server can exit.
//!
//! Only clients of the other I/O threads are answered meanwhile: the
//! script's own thread is running it (with one I/O thread, nothing is
//! answered until the script ends; `io-threads` 2 or more for SCRIPT
//! KILL).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

pub const BUSY: &str =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
pub const KILLED: &str = "ERR Script killed by user with SCRIPT KILL...";
const UNKILLABLE: &str = "UNKILLABLE Sorry the script already executed write commands against \
     the dataset. You can either wait the script termination or kill the server in a hard way \
     using the SHUTDOWN NOSAVE command.";
const NOTBUSY: &str = "NOTBUSY No scripts in execution right now.";

/// The running script's state (in [`crate::server::Server`]).
#[derive(Debug, Default)]
pub struct Busy {
    running: AtomicBool,
    busy: AtomicBool,
    kill: AtomicBool,
    wrote: AtomicBool,
    started_ms: AtomicU64,
    threshold_ms: AtomicU64,
}

impl Busy {
    /// A script starts (`threshold_ms`: busy-reply-threshold now).
    pub fn start(&self, threshold_ms: u64) {
        self.started_ms
            .store(crate::util::now_ms(), Ordering::Relaxed);
        self.threshold_ms.store(threshold_ms, Ordering::Relaxed);
        self.busy.store(false, Ordering::Relaxed);
        self.kill.store(false, Ordering::Relaxed);
        self.wrote.store(false, Ordering::Relaxed);
        self.running.store(true, Ordering::Release);
    }

    /// It ended.
    pub fn end(&self) {
        self.running.store(false, Ordering::Release);
        self.busy.store(false, Ordering::Release);
    }

    /// It ran a write command: SCRIPT KILL can no longer stop it.
    pub fn wrote(&self) {
        self.wrote.store(true, Ordering::Relaxed);
    }

    /// Whether other clients get `-BUSY` (one relaxed load per command).
    pub fn is_busy(&self) -> bool {
        self.busy.load(Ordering::Relaxed)
    }

    /// The count hook's check: `Err` ends the script with that error.
    pub fn check(&self) -> Result<(), &'static str> {
        if !self.running.load(Ordering::Acquire) {
            return Ok(());
        }
        if self.kill.load(Ordering::Relaxed) || fastio::server::signals::stop_requested() {
            return Err(KILLED);
        }
        if !self.busy.load(Ordering::Relaxed) {
            let elapsed =
                crate::util::now_ms().saturating_sub(self.started_ms.load(Ordering::Relaxed));
            let threshold = self.threshold_ms.load(Ordering::Relaxed);
            if threshold > 0 && elapsed >= threshold {
                eprintln!(
                    "kvserver: # Slow script detected: still in execution after {elapsed} \
                     milliseconds. You can try killing the script using the SCRIPT KILL command."
                );
                self.busy.store(true, Ordering::Release);
            }
        }
        Ok(())
    }

    /// SCRIPT KILL: Ok, or the error reply.
    pub fn kill(&self) -> Result<(), &'static str> {
        if !self.busy.load(Ordering::Acquire) {
            return Err(NOTBUSY);
        }
        if self.wrote.load(Ordering::Relaxed) {
            return Err(UNKILLABLE);
        }
        self.kill.store(true, Ordering::Relaxed);
        Ok(())
    }
}
