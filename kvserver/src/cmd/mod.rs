//! The commands, one family per file.

pub mod bitops;
pub mod dump;
pub mod hash;
pub mod keys;
pub mod list;
pub mod persistence;
pub mod pubsub;
pub mod server_cmds;
pub mod set;
pub mod stream;
pub mod string;
pub mod zset;
