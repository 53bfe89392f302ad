//! One client connection as its I/O thread keeps it: the socket, what is
//! in flight on it, its unparsed input, its unsent replies, its client
//! state, and the output-buffer limits. `io_thread.rs` moves it through
//! its states (see the diagram there).

use crate::net::token::Token;
use crate::proto::reply::Reply;
use crate::proto::request;
use crate::server::{Client, Server};
use bytes::BytesMut;
use fastio::proactor::PoolBuf;
use std::os::fd::RawFd;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

/// A connection.
pub(super) struct Conn {
    pub(super) fd: RawFd,
    /// Tags this connection's tokens (the slot may be reused later).
    pub(super) gen: u32,
    pub(super) recv_busy: bool,
    /// The recv in flight is a watch (into its own buffer, `input` stays
    /// here): the connection is blocked or forwarded with complete
    /// requests waiting, and must still notice a reset or a close.
    pub(super) watching: bool,
    pub(super) send_busy: bool,
    /// Bytes in the send in flight (count toward backpressure).
    pub(super) sending: usize,
    pub(super) closing: bool,
    /// Received, not yet parsed bytes (moved into the recv while one is in
    /// flight).
    pub(super) input: BytesMut,
    /// A pool buffer just received into, parsed in place by `process`,
    /// which copies what it leaves into `input` and gives the buffer back.
    pub(super) pooled: Option<PoolBuf>,
    /// How far the parse of an incomplete request at the front of `input`
    /// got (so a huge request is not walked again on every receive).
    pub(super) resume: request::Resume,
    /// Replies not yet sent (what is in flight was moved out of it).
    pub(super) out: Reply,
    pub(super) client: Client,
    /// Its replies wait for an AOF fsync (`appendfsync always`); it is in
    /// the thread's `held` list.
    pub(super) held: bool,
    /// Since when the output has been over its class's soft limit
    /// (client-output-buffer-limit).
    pub(super) soft_since: Option<Instant>,
    /// Requests of it are out at their shards' owner (`dispatch.rs`): it
    /// executes nothing else until their replies are back.
    pub(super) forwarded: bool,
    /// Its next request waits for the end of a CLIENT PAUSE
    /// (`exec/pause.rs`); it is in the thread's `paused` list.
    pub(super) paused: bool,
}

/// Whether `conn` is past its class's client-output-buffer-limit: at or
/// over the hard limit, or over the soft limit for longer than its
/// seconds. Classes as Redis's: subscribed clients are `pubsub`, MONITOR
/// clients `slave` (replica), the others `normal` (no limit by default).
pub(super) fn over_output_limit(server: &Server, conn: &mut Conn) -> bool {
    let class = if conn.client.subscribed() {
        2
    } else {
        usize::from(conn.client.monitor)
    };
    let l = &server.config.output_limits[class];
    let (hard, soft) = (l[0].load(Relaxed), l[1].load(Relaxed));
    if hard == 0 && soft == 0 {
        return false;
    }
    let used = (conn.out.buf.len() + conn.sending) as u64;
    if hard != 0 && used >= hard {
        return true;
    }
    if soft != 0 && used >= soft {
        let since = *conn.soft_since.get_or_insert_with(Instant::now);
        return since.elapsed().as_secs() > l[2].load(Relaxed);
    }
    conn.soft_since = None;
    false
}

pub(super) fn token(key: usize, gen: u32) -> u64 {
    Token::conn(key, gen)
}
