//! Helpers for servers built on the proactor, shared by the echo servers and
//! kvserver so neither hand-rolls them:
//! - [`accept`]: a thread's listener: accept_multi, paused on EMFILE and the
//!   like, re-armed after a delay or when a connection closes;
//! - [`net`]: one SO_REUSEPORT listener per server thread, made with libc,
//!   and the accept errors worth retrying;
//! - [`buffer`]: the per-connection buffer cycle (recv into a `BytesMut`,
//!   freeze it for `send_all`, thaw the returned `Bytes`) without allocating;
//! - [`signals`]: a stop flag set by SIGINT/SIGTERM;
//! - [`mem`]: the allocator's count of bytes in use (kvserver's maxmemory).

pub mod accept;
pub mod buffer;
pub mod mem;
pub mod net;
pub mod signals;
