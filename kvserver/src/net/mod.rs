//! Networking, the top layer: the I/O threads, their connections, and what
//! crosses between threads.
//!
//! - [`io_thread`]: one FastIO ring pair and one listener per thread, and
//!   the loop that accepts, receives, parses, executes and sends. Start
//!   reading at `Worker::run` and `Worker::process`.
//! - [`conn`]: a connection's state (what is in flight, its input and
//!   output buffers, its client) and its output-buffer limits.
//! - [`token`]: what each ring completion is for (one enum in the u64).
//! - [`mailbox`]: one inbox per I/O thread, woken through the rings.
//! - [`dispatch`]: which thread runs a request; forwarding to the I/O
//!   thread that owns the keys' shards.
//!
//! May import the layers below it. It uses `exec` (the pipeline, effects,
//! blocked clients, MULTI and MONITOR clean-up, security), `cmd` (only
//! `cmd::pubsub`, to encode delivered messages and drop a closed client's
//! subscriptions), `persist` (the AOF writer's ring ops), `proto`, and
//! `server`, `config`, `util`; it reaches the keyspace only through
//! `exec`. No layer imports `net` (`server.rs` holds the mailboxes). The
//! threading model is described once, in kvserver/README.md.

pub mod conn;
pub mod dispatch;
pub mod io_thread;
pub mod mailbox;
pub mod token;
