//! Command execution.

pub mod blocking;
pub mod clients;
pub mod context;
pub mod docs;
pub mod effects;
pub mod evict;
pub mod expire;
pub mod loading;
pub mod meta;
pub mod monitor;
pub mod multi;
pub mod notify;
pub mod pipeline;
pub mod security;
pub mod stats;
pub mod table;
