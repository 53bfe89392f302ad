//! SIGINT/SIGTERM handling: the handler only sets a flag, and the server
//! loops wait with a timeout so they notice it promptly.
//!
//! A flag is all an async-signal-safe handler may do; the threads then close
//! their sockets and print their statistics on their own time.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_sig: libc::c_int) {
    // An atomic store is async-signal-safe.
    STOP.store(true, Ordering::SeqCst);
}

/// Installs the handler for SIGINT and SIGTERM.
pub fn install() -> io::Result<()> {
    let handler = on_signal as extern "C" fn(libc::c_int) as *const () as libc::sighandler_t;
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: `handler` is an extern "C" fn that only stores to an atomic,
        // which is async-signal-safe; glibc's signal() installs it with
        // SA_RESTART, so other threads' system calls are not disturbed.
        if unsafe { libc::signal(sig, handler) } == libc::SIG_ERR {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Whether a signal (or [`request_stop`]) asked the server to exit.
pub fn stop_requested() -> bool {
    STOP.load(Ordering::Relaxed)
}

/// Asks every thread to exit, as a signal would (used after a fatal error in
/// one thread, so the others do not keep serving half a server).
pub fn request_stop() {
    STOP.store(true, Ordering::SeqCst);
}
