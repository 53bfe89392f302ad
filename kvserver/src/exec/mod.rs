//! Command execution.

pub mod blocking;
pub mod clients;
pub mod command;
pub mod evict;
pub mod meta;
pub mod monitor;
pub mod multi;
pub mod security;
pub mod stats;
