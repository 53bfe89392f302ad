//! Persistence.

pub mod aof;
pub mod rdb;
pub mod records;
pub mod ring_file;
pub mod snapshot;
