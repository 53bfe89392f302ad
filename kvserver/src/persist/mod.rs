//! Persistence.

pub mod aof;
pub mod rdb;
pub mod ring_file;
