//! The script cache: every script EVAL ran or SCRIPT LOAD loaded, by the
//! SHA1 of its body, shared by all threads (each thread compiles a script
//! into its own Lua state the first time it runs it, [`super::run`]).
//!
//! As in Redis 7.0.15 (checked against redis-server): EVAL caches its
//! script too, SCRIPT FLUSH empties the cache, FLUSHALL does not, and a
//! restart starts empty (scripts are neither in the RDB nor in the AOF,
//! which holds the commands scripts ran).

use bytes::Bytes;
use hashbrown::HashMap;
use sha1::{Digest, Sha1};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Shebang flags (`#!lua flags=no-writes,allow-oom`), Redis's
/// `SCRIPT_FLAG_*`.
pub mod flag {
    pub const NO_WRITES: u32 = 1 << 0;
    pub const ALLOW_OOM: u32 = 1 << 1;
    pub const ALLOW_STALE: u32 = 1 << 2;
    pub const NO_CLUSTER: u32 = 1 << 3;
    pub const ALLOW_CROSS_SLOT: u32 = 1 << 4;
    /// No shebang: a script of before 7.0 (it may write, OOM is checked
    /// per command it calls).
    pub const EVAL_COMPAT: u32 = 1 << 5;
}

/// The flags by name (shebang lines, `redis.register_function`).
pub const FLAG_NAMES: &[(&str, u32)] = &[
    ("no-writes", flag::NO_WRITES),
    ("allow-oom", flag::ALLOW_OOM),
    ("allow-stale", flag::ALLOW_STALE),
    ("no-cluster", flag::NO_CLUSTER),
    ("allow-cross-slot-keys", flag::ALLOW_CROSS_SLOT),
];

/// The names of `flags` (FUNCTION LIST), in Redis's order.
pub fn flag_names(flags: u32) -> Vec<&'static str> {
    FLAG_NAMES
        .iter()
        .filter(|(_, f)| flags & f != 0)
        .map(|(n, _)| *n)
        .collect()
}

/// One cached script.
#[derive(Debug)]
pub struct Script {
    /// The SHA1 of `body`, 40 lowercase hex digits (the cache key, and
    /// the `script: <sha>` of error replies).
    pub sha: String,
    pub body: Bytes,
    /// [`flag`] bits from its shebang line.
    pub flags: u32,
    /// Where the Lua code starts in `body`: after the shebang line but
    /// keeping its line feed, so that line numbers are the user's.
    pub code_at: usize,
}

impl Script {
    /// Parses `body`'s shebang line; `Err` is Redis's error reply.
    pub fn new(body: Bytes) -> Result<Script, String> {
        let (flags, code_at) = shebang(&body)?;
        Ok(Script {
            sha: sha1_hex(&body),
            body,
            flags,
            code_at,
        })
    }

    /// The Lua source to compile.
    pub fn code(&self) -> &[u8] {
        &self.body[self.code_at..]
    }
}

/// The flags a script body declares (None: a bad shebang line).
pub fn shebang_flags(body: &[u8]) -> Option<u32> {
    shebang(body).ok().map(|(f, _)| f)
}

/// Redis's `evalExtractShebangFlags`.
fn shebang(body: &[u8]) -> Result<(u32, usize), String> {
    if !body.starts_with(b"#!") {
        return Ok((flag::EVAL_COMPAT, 0));
    }
    let Some(end) = body.iter().position(|&c| c == b'\n') else {
        return Err("ERR Invalid script shebang".into());
    };
    let line = String::from_utf8_lossy(&body[..end]);
    let mut parts = line.split_ascii_whitespace();
    let engine = parts.next().unwrap_or_default();
    if engine != "#!lua" {
        return Err(format!("ERR Unexpected engine in script shebang: {engine}"));
    }
    let mut flags = 0;
    for part in parts {
        let Some(list) = part.strip_prefix("flags=") else {
            return Err(format!("ERR Unknown lua shebang option: {part}"));
        };
        for name in list.split(',').filter(|n| !n.is_empty()) {
            match FLAG_NAMES.iter().find(|(n, _)| *n == name) {
                Some((_, f)) => flags |= f,
                None => return Err(format!("ERR Unexpected flag in script shebang: {name}")),
            }
        }
    }
    Ok((flags, end))
}

/// The SHA1 of `data` in lowercase hex (`redis.sha1hex`, script names).
pub fn sha1_hex(data: &[u8]) -> String {
    let digest = Sha1::digest(data);
    let mut s = String::with_capacity(40);
    for b in digest {
        s.push(char::from(b"0123456789abcdef"[(b >> 4) as usize]));
        s.push(char::from(b"0123456789abcdef"[(b & 15) as usize]));
    }
    s
}

/// Redis's per-script accounting in `used_memory_scripts_eval` (the SHA
/// and body strings with their headers): 136 bytes for `return 1` on
/// redis-server 7.0.15.
fn footprint(s: &Script) -> u64 {
    128 + s.body.len() as u64
}

/// The cache (in [`crate::server::Server`]).
#[derive(Debug, Default)]
pub struct ScriptCache {
    scripts: Mutex<HashMap<String, Arc<Script>>>,
    memory: AtomicU64,
    /// Bumped by SCRIPT FLUSH: a thread whose Lua state is older drops it
    /// (and the functions compiled in it) before running a script.
    generation: AtomicU64,
}

impl ScriptCache {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Script>>> {
        self.scripts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The script with SHA1 `sha` (any case), if cached.
    pub fn get(&self, sha: &[u8]) -> Option<Arc<Script>> {
        if sha.len() != 40 {
            return None;
        }
        let key = String::from_utf8_lossy(sha).to_ascii_lowercase();
        self.map().get(&key).cloned()
    }

    /// Caches `script` (or returns the copy already cached).
    pub fn insert(&self, script: Script) -> Arc<Script> {
        let mut map = self.map();
        if let Some(s) = map.get(&script.sha) {
            return s.clone();
        }
        self.memory.fetch_add(footprint(&script), Ordering::Relaxed);
        let s = Arc::new(script);
        map.insert(s.sha.clone(), s.clone());
        s
    }

    /// SCRIPT FLUSH: forgets every script; each thread's Lua state is
    /// rebuilt before its next script.
    pub fn flush(&self) -> HashMap<String, Arc<Script>> {
        let old = std::mem::take(&mut *self.map());
        self.memory.store(0, Ordering::Relaxed);
        self.generation.fetch_add(1, Ordering::Relaxed);
        old
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Relaxed)
    }

    /// `number_of_cached_scripts`.
    pub fn count(&self) -> usize {
        self.map().len()
    }

    /// `used_memory_scripts_eval`.
    pub fn memory(&self) -> u64 {
        self.memory.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebang_flags_and_errors_as_redis() {
        let ok = |b: &str| Script::new(Bytes::copy_from_slice(b.as_bytes()));
        assert_eq!(ok("return 1").unwrap().flags, flag::EVAL_COMPAT);
        let s = ok("#!lua flags=no-writes,allow-oom\nreturn 1").unwrap();
        assert_eq!(s.flags, flag::NO_WRITES | flag::ALLOW_OOM);
        assert_eq!(s.code(), b"\nreturn 1");
        assert_eq!(ok("#!lua\nreturn 1").unwrap().flags, 0);
        let err = |b: &str| ok(b).unwrap_err();
        assert_eq!(err("#!lua"), "ERR Invalid script shebang");
        assert_eq!(
            err("#!python\n"),
            "ERR Unexpected engine in script shebang: #!python"
        );
        assert_eq!(err("#!lua x=y\n"), "ERR Unknown lua shebang option: x=y");
        assert_eq!(
            err("#!lua flags=bogus\n"),
            "ERR Unexpected flag in script shebang: bogus"
        );
        assert_eq!(
            sha1_hex(b"return 1"),
            "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"
        );
    }
}
