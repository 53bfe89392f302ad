//! Persistence: the append-only file ([`aof`]), RDB snapshots and the DUMP
//! format ([`rdb`]), the commands to propagate ([`records`]), point-in-time
//! copies of the keyspace for BGSAVE and BGREWRITEAOF ([`snapshot`]), and
//! the background ring that their files are written through
//! ([`ring_file`]), and the removal of the temporary files of a killed
//! process at start ([`temp_files`]).
//!
//! May import `keyspace`, `types`, `proto` (RESP encoding and parsing)
//! and `util`. Never `exec`, `net`, `cmd`, `server` or `config`: it is
//! handed what it needs from above (the AOF loader gets a callback that
//! runs each command through the execution pipeline, `aof::Replay`; the
//! writer gets the ring and the token encoding of its ops from the I/O
//! thread; file writers get a `ring_file::BgIo` handle).
//!
//! Start reading at `aof::Aof::append` and `rdb::Rdb`. See
//! docs/kvserver/aof.md and docs/kvserver/rdb.md.

pub mod aof;
pub mod rdb;
pub mod records;
pub mod ring_file;
pub mod snapshot;
pub mod temp_files;
