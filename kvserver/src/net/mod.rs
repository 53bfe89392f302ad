//! Networking: the I/O threads and what crosses between them.

pub mod conn;
pub mod dispatch;
pub mod io_thread;
pub mod mailbox;
pub mod token;
