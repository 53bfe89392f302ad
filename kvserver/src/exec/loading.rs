//! Start-up: the dataset is loaded before anyone can connect. With
//! `appendonly yes` the AOF is replayed, every command through the
//! execution pipeline ([`pipeline::replay`]), and becomes the live AOF;
//! otherwise the RDB file is loaded (Redis's rule).

use super::clients::ClientInfo;
use super::effects::Effects;
use super::pipeline;
use crate::persist::aof;
use crate::server::{Client, Server};
use crate::util::Rng;
use std::path::PathBuf;
use std::sync::Arc;

pub fn load(server: &Server) -> Result<(), String> {
    let cfg = &server.config;
    let dir = PathBuf::from(cfg.get("dir"));
    crate::persist::temp_files::remove_stale(&[&dir, &dir.join(cfg.get("appenddirname"))]);
    if cfg.get("appendonly") != "yes" {
        // As for the AOF below (and no key events recorded meanwhile).
        cfg.keyspace.set_lazy_expiry(false);
        let loaded = server.rdb.load_at_start(&server.ks, &server.rdb_file());
        cfg.keyspace.set_lazy_expiry(true);
        return loaded.map_err(|e| format!("# Fatal error loading the RDB: {e}"));
    }
    let options = aof::Options {
        dir: PathBuf::from(cfg.get("dir")),
        dirname: cfg.get("appenddirname"),
        filename: cfg.get("appendfilename"),
        fsync: cfg.get("appendfsync"),
        load_truncated: cfg.get("aof-load-truncated") != "no",
        io_threads: server.cfg.io_threads,
    };
    // The loader's client: blocking commands answer at once.
    let mut client = Client::new(0, Arc::new(ClientInfo::detached(0)));
    client.deny_blocking = true;
    client.obey = true;
    let mut rng = Rng::new(1);
    let mut fx = Effects::default();
    // Deadlines in the file are absolute, and its DELs say which keys
    // expired: no lookup deletes an expired key meanwhile (Redis's loader
    // expires nothing either).
    cfg.keyspace.set_lazy_expiry(false);
    let opened = aof::open(&options, &server.ks, server.bg_io.clone(), &mut |argv| {
        pipeline::replay(server, &mut client, &mut rng, &mut fx, argv)
    });
    cfg.keyspace.set_lazy_expiry(true);
    let aof = opened.map_err(|e| format!("# Fatal error loading the AOF: {e}"))?;
    // What the file did is not a change since the last save.
    server.stats.reset_dirty();
    let _ = server.aof.set(Arc::new(aof));
    Ok(())
}
