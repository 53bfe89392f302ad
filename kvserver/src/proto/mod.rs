//! The wire protocol.

pub mod reply;
pub mod request;
