//! FastIO: asynchronous system calls through shared-memory rings.
//!
//! A thread writes requests (accept, recv, send, read, write, close, fsync,
//! ...) into its submission ring; polling workers pick them up and execute
//! them, and post results to its completion ring. The thread never makes the
//! system call itself. Ops that would block on a socket are parked until the
//! socket is ready; ops that may sleep (disk I/O, fsync) go to blocking
//! workers so the pollers never stall.
//!
//! Reading order, from the wire format up:
//! - [`abi`]: the ring ABI, a mirror of `kmod/include/uapi/fastio.h`;
//! - [`layout`]: setup validation and the memory map of a ring pair;
//! - [`ring`]: the single-producer / single-consumer queues;
//! - [`validate`]: per-entry checks every backend applies;
//! - [`bufring`]: buffer groups' descriptor rings (buffer selection);
//! - [`backend`]: who executes the rings (kernel module, io_uring, or poller
//!   threads) behind one [`Ring`] type;
//! - [`proactor`]: the safe, buffer-owning API servers use;
//! - [`config`]: `fastio.conf` and the shared command-line options;
//! - [`server`]: listeners, buffer cycle and stop flag for servers.

pub mod abi;
pub mod backend;
pub mod bufring;
pub mod config;
pub mod layout;
pub mod proactor;
pub mod ring;
pub mod server;
mod sys;
pub mod validate;

pub use backend::{BackendKind, Fastio, Ring};
pub use config::{Config, FastioArgs};
pub use proactor::Proactor;
