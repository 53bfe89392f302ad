//! MONITOR: every command executed by any client, as Redis formats it:
//!
//! ```text
//! +1339518083.107412 [0 127.0.0.1:60866] "keys" "*"
//! ```
//!
//! Fed after the command ran (as Redis 7.0's `call()`: so a command shows
//! the database it leaves selected, and EXEC comes after its queued
//! commands), except admin commands (CONFIG, MONITOR); a blocked command
//! is shown once, when first executed. The line is built once and posted
//! to every monitor's I/O thread ([`Delivery::Bytes`]).

use super::context::Ctx;
use super::effects::{ClientRef, Delivery};
use crate::server::{Client, Server};
use bytes::Bytes;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// The clients in MONITOR mode: (client id, thread, slab key).
#[derive(Debug, Default)]
pub struct Monitors {
    count: AtomicUsize,
    list: Mutex<Vec<(u64, usize, usize)>>,
}

impl Monitors {
    /// Whether anyone monitors (one atomic load per command otherwise).
    pub fn any(&self) -> bool {
        self.count.load(Ordering::Relaxed) > 0
    }
}

/// MONITOR
pub fn monitor(ctx: &mut Ctx, _argv: &[&[u8]]) {
    if ctx.client.deny_blocking {
        return ctx
            .out
            .error("ERR MONITOR isn't allowed for DENY BLOCKING client");
    }
    // Already monitoring: Redis ignores it, without a reply.
    if ctx.client.monitor {
        return;
    }
    let c = &mut *ctx.client;
    let m = &ctx.server.monitors;
    m.list
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((c.id, c.thread, c.conn));
    m.count.fetch_add(1, Ordering::Relaxed);
    c.monitor = true;
    ctx.out.ok();
}

/// Leaves MONITOR mode (RESET, disconnect).
pub fn leave(server: &Server, client: &mut Client) {
    if !std::mem::take(&mut client.monitor) {
        return;
    }
    let m = &server.monitors;
    m.list
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|&(id, _, _)| id != client.id);
    m.count.fetch_sub(1, Ordering::Relaxed);
}

/// Sends the command line to every monitor.
pub fn feed(ctx: &mut Ctx, argv: &[&[u8]]) {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let mut line = format!(
        "+{}.{:06} [{} {}]",
        t.as_secs(),
        t.subsec_micros(),
        ctx.client.db,
        ctx.client.info.addr
    )
    .into_bytes();
    for a in argv {
        line.push(b' ');
        repr(&mut line, a);
    }
    line.extend_from_slice(b"\r\n");
    let data = Bytes::from(line);
    let list = ctx
        .server
        .monitors
        .list
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    for &(id, thread, conn) in list.iter() {
        let to = ClientRef { thread, conn, id };
        ctx.fx.deliver.push(Delivery::Bytes(to, data.clone()));
    }
}

/// Quotes `s` as Redis's sdscatrepr.
fn repr(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &c in s {
        match c {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            7 => out.extend_from_slice(b"\\a"),
            8 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(c),
            _ => out.extend_from_slice(format!("\\x{c:02x}").as_bytes()),
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    #[test]
    fn repr_escapes_as_sdscatrepr() {
        let mut v = Vec::new();
        super::repr(&mut v, b"a b\"\n\x01\xc3\xbf\\\t");
        assert_eq!(v, b"\"a b\\\"\\n\\x01\\xc3\\xbf\\\\\\t\"");
    }
}
