//! CLIENT PAUSE (Redis's pauseClients): while a pause is in effect, the
//! commands it holds are not run; their clients wait, their requests
//! still in their input, until it ends (its time runs out, or CLIENT
//! UNPAUSE). The networking layer asks [`Pause::holds`] before it runs (or
//! forwards) each request, and resumes its held clients when
//! [`Pause::epoch`] moves or the pause's end passes.
//!
//! As in Redis 7.0: `ALL` holds every command; `WRITE` holds the write
//! commands and those that may replicate (PUBLISH, SPUBLISH, PFCOUNT,
//! EVAL/EVALSHA/FCALL of a script that does not declare `no-writes`, EXEC
//! of a transaction with one of those), and stops the active expiry cycle.
//! A second pause keeps the later of the two ends and takes the new mode.
//! The client that paused is held like any other.
//!
//! Cost when no pause is in effect: one relaxed load per request.

use super::script::cache::{flag, shebang_flags};
use super::table::{flags, Command};
use crate::server::{Client, Server};
use bytes::Bytes;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

/// The server's pause state.
#[derive(Debug, Default)]
pub struct Pause {
    /// When the pause ends (ms since the epoch); 0: no pause.
    end_ms: AtomicU64,
    /// ALL (true) or WRITE.
    all: AtomicBool,
    /// Moves on every pause and unpause: held clients are looked at again.
    epoch: AtomicU64,
}

/// Commands Redis flags `may-replicate` (held by a WRITE pause though not
/// write commands).
const MAY_REPLICATE: &[&str] = &[
    "publish",
    "spublish",
    "pfcount",
    "script|load",
    "script|flush",
    "eval",
    "evalsha",
    "fcall",
];

impl Pause {
    /// CLIENT PAUSE: until `end_ms` (or a later end already set), holding
    /// every command (`all`) or the writes.
    pub fn start(&self, end_ms: u64, all: bool) {
        self.all.store(all, Relaxed);
        self.end_ms.fetch_max(end_ms, Relaxed);
        self.epoch.fetch_add(1, Relaxed);
    }

    /// CLIENT UNPAUSE.
    pub fn stop(&self) {
        self.end_ms.store(0, Relaxed);
        self.epoch.fetch_add(1, Relaxed);
    }

    /// Whether a pause was set and not lifted (it may have ended): the
    /// fast check before reading the clock.
    pub fn set(&self) -> bool {
        self.end_ms.load(Relaxed) != 0
    }

    /// The end of the pause in effect at `now_ms`, if one is.
    pub fn active(&self, now_ms: u64) -> Option<u64> {
        let end = self.end_ms.load(Relaxed);
        if end > now_ms {
            return Some(end);
        }
        if end != 0 {
            // Over: back to the one-load fast path (unless a new pause
            // came in meanwhile).
            let _ = self.end_ms.compare_exchange(end, 0, Relaxed, Relaxed);
        }
        None
    }

    /// Moves whenever a pause starts or stops.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Relaxed)
    }

    /// Whether the writes are held now (the active expiry cycle waits).
    pub fn writes_held(&self, now_ms: u64) -> bool {
        self.active(now_ms).is_some()
    }

    /// Whether `client`'s request `argv` (command `cmd`) must wait.
    pub fn holds(
        &self,
        server: &Server,
        client: &Client,
        cmd: &Command,
        argv: &[&[u8]],
        now_ms: u64,
    ) -> bool {
        if self.active(now_ms).is_none() {
            return false;
        }
        // Commands queued in MULTI are not run yet: EXEC decides.
        if client.multi.is_some() && !matches!(cmd.name, "exec" | "discard" | "multi" | "watch") {
            return false;
        }
        self.all.load(Relaxed) || may_write(server, client, cmd, argv)
    }
}

/// Whether a command may write or replicate something, as Redis's
/// `is_may_replicate_command` (with a script's declared flags).
fn may_write(server: &Server, client: &Client, cmd: &Command, argv: &[&[u8]]) -> bool {
    if cmd.has(flags::WRITE) {
        return true;
    }
    if cmd.name == "exec" {
        return client.multi.as_ref().is_some_and(|q| {
            q.iter()
                .any(|(c, a)| command_may_write(server, client, c, a))
        });
    }
    if !MAY_REPLICATE.contains(&cmd.name) {
        return false;
    }
    // A script that declares its flags replicates nothing unless it may
    // write; one without (Redis's eval compatibility mode) may.
    let declared = match cmd.name {
        "eval" => argv.get(1).and_then(|body| shebang_flags(body)),
        "evalsha" => argv
            .get(1)
            .and_then(|sha| server.scripts.get(sha))
            .map(|s| s.flags),
        "fcall" => argv
            .get(1)
            .and_then(|name| server.functions.find(name))
            .map(|(_, f)| f.flags),
        _ => None,
    };
    match declared {
        Some(f) if f & flag::EVAL_COMPAT == 0 => f & flag::NO_WRITES == 0,
        _ => true,
    }
}

/// [`may_write`] of a queued command (its arguments owned).
fn command_may_write(server: &Server, client: &Client, cmd: &Command, argv: &[Bytes]) -> bool {
    let args: Vec<&[u8]> = argv.iter().map(|a| a.as_ref()).collect();
    may_write(server, client, cmd, &args)
}
