//! kvserver's own settings, redis.conf style: `name value...` per line, `#`
//! comments, values quoted as Redis's sdssplitargs reads them, the file
//! given as the first positional argument, and every directive also as
//! `--name value...` on the command line (which wins).
//!
//! Every parameter CONFIG GET/SET knows is in [`PARAMS`] (params.rs): all
//! of redis-server 7.0's, with its names and aliases, defaults, and
//! validation (values.rs; error texts are Redis's). The startup
//! values ([`ServerConfig`]) become the runtime configuration
//! ([`Runtime`]): a map of the values as CONFIG GET shows them, plus atomics
//! for the ones read on hot paths (slow log, hz, maxmemory, lazy flush,
//! keyspace events, proto-max-bulk-len; the access settings are shared
//! with the keyspace, `keyspace::Settings`; the encoding thresholds with
//! the values, `types::encoding`). The parameters of [`params::INERT`] are
//! accepted, stored and shown but change nothing here (replication,
//! cluster, TLS, defragmentation...): see kvserver/README.md.
//!
//! FastIO's settings are separate: fastio.conf via `--config PATH`,
//! `--backend`, `--workers`, `--fastio key=value` (see `fastio::FastioArgs`).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

mod params;
mod values;

use params::{alias, is_old_name, Kind, Set, EVICTION};
pub use params::{is_directive, is_inert, is_sensitive, param, Param, PARAMS};
pub use values::{merge_output_limits, parse_cpulist, parse_output_limits};

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub port: u16,
    pub bind: IpAddr,
    /// I/O threads, each with its own ring pair and listener.
    pub io_threads: usize,
    /// `server_cpulist`: I/O thread i runs on `server_cpus[i % len]`
    /// (empty: not pinned).
    pub server_cpus: Vec<usize>,
    pub databases: usize,
    /// The redis-style file read at start, if any (INFO shows it).
    pub config_file: Option<PathBuf>,
    /// Every parameter's value as CONFIG GET shows it.
    pub values: BTreeMap<&'static str, String>,
    /// `rename-command NAME NEWNAME` directives, in order (NEWNAME "" =
    /// the command is gone); applied to the command table at start.
    pub renames: Vec<(String, String)>,
}

/// The default `io-threads`: one per CPU but one, at least one. The core
/// left over is for what serves the threads: the kernel's network stack
/// (softirqs, loopback clients' sends), FastIO's pollers on the `threads`
/// backend, and the clients when they run on the same machine (Redis's own
/// advice for its io-threads is the same: leave a core spare). Measured on
/// 2 shared vCPUs with redis-benchmark on the same cores (docs/BENCHMARKS.md):
/// one I/O thread instead of two costs 20-25% less CPU per request at
/// `-P 1` and serves more requests per second, as two threads only contend
/// for the second core with the client and bounce shard locks between
/// cores. On a big machine this still scales with the cores; `io-threads N`
/// overrides it.
pub fn default_io_threads(cpus: usize) -> usize {
    cpus.saturating_sub(1).max(1)
}

impl Default for ServerConfig {
    fn default() -> Self {
        let io_threads =
            default_io_threads(std::thread::available_parallelism().map_or(1, |n| n.get()));
        let mut values: BTreeMap<&'static str, String> = PARAMS
            .iter()
            .map(|p| (p.name, p.default.to_string()))
            .collect();
        values.insert("io-threads", io_threads.to_string());
        let cwd = std::env::current_dir()
            .map(|d| d.display().to_string())
            .unwrap_or_default();
        values.insert("dir", cwd);
        ServerConfig {
            port: 6379,
            bind: IpAddr::from([127, 0, 0, 1]),
            io_threads,
            server_cpus: Vec::new(),
            databases: 16,
            config_file: None,
            values,
            renames: Vec::new(),
        }
    }
}

impl ServerConfig {
    /// Applies one directive. The error says what is wrong with it.
    pub fn set(&mut self, name: &str, args: &[&str]) -> Result<(), String> {
        let lname = name.to_ascii_lowercase();
        if lname == "rename-command" {
            return self.rename_command(args);
        }
        let Some(p) = param(&lname) else {
            return Err(format!("unknown directive '{lname}'"));
        };
        let v = match p.kind {
            Kind::OutputLimit => merge_output_limits(&self.values[p.name], args)?,
            _ => p.validate(args)?,
        };
        if let Some(why) = values::unsupported(p.name, &v) {
            return Err(why);
        }
        match p.name {
            "port" => self.port = v.parse().map_err(|_| "invalid port")?,
            "bind" => self.bind = v.parse().map_err(|_| "invalid bind address")?,
            "io-threads" => self.io_threads = v.parse().map_err(|_| "invalid io-threads")?,
            "server_cpulist" => self.server_cpus = parse_cpulist(&v)?,
            "databases" => {
                let n: usize = v.parse().map_err(|_| "invalid databases")?;
                if n > 1_000_000 {
                    return Err("databases must be between 1 and 1000000".into());
                }
                self.databases = n;
            }
            "daemonize" if v == "yes" => {
                return Err("daemonize yes is not supported (run it under a supervisor)".into())
            }
            _ => {}
        }
        if let Some(a) = alias(p.name) {
            self.values.insert(a, v.clone());
        }
        self.values.insert(p.name, v);
        Ok(())
    }

    /// The parameters set to something other than their default that
    /// change nothing here ([`params::INERT`]): main.rs says so at start, so an
    /// operator does not believe a replica or TLS is configured.
    pub fn inert_settings(&self) -> Vec<&'static str> {
        PARAMS
            .iter()
            .filter(|p| is_inert(p.name) && !params::is_old_name(p.name))
            .filter(|p| self.values.get(p.name).is_some_and(|v| v != p.default))
            .map(|p| p.name)
            .collect()
    }

    /// `rename-command NAME NEWNAME` (Redis's errors). Renames apply in
    /// order, to the names as renamed so far.
    fn rename_command(&mut self, args: &[&str]) -> Result<(), String> {
        let [from, to] = args else {
            return Err("wrong number of arguments".into());
        };
        let (from, to) = (from.to_ascii_lowercase(), to.to_ascii_lowercase());
        let names = crate::exec::table::names_after(&self.renames);
        if !names.contains(&from) {
            return Err("No such command in rename-command".into());
        }
        if !to.is_empty() && names.contains(&to) {
            return Err("Target command name already exists".into());
        }
        self.renames.push((from, to));
        Ok(())
    }

    /// Applies every directive of a file's text; `name` goes into errors as
    /// `name:line: message`.
    pub fn apply_text(&mut self, text: &str, name: &str) -> Result<(), String> {
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut words = Vec::new();
            if !crate::proto::request::split_args(line.as_bytes(), &mut words) {
                return Err(format!("{name}:{}: unbalanced quotes", i + 1));
            }
            let words: Vec<String> = words
                .iter()
                .map(|w| String::from_utf8_lossy(w).into_owned())
                .collect();
            let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
            self.set(&words[0], &args)
                .map_err(|e| format!("{name}:{}: {e}", i + 1))?;
        }
        Ok(())
    }

    pub fn apply_file(&mut self, path: &Path) -> Result<(), String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        self.apply_text(&text, &path.display().to_string())?;
        self.config_file = std::fs::canonicalize(path)
            .ok()
            .or(Some(path.to_path_buf()));
        Ok(())
    }
}

/// The configuration while the server runs (CONFIG GET/SET).
#[derive(Debug)]
pub struct Runtime {
    values: RwLock<BTreeMap<&'static str, String>>,
    pub slowlog_slower_than: AtomicI64,
    pub slowlog_max_len: AtomicU64,
    pub hz: AtomicU64,
    pub maxmemory: AtomicU64,
    pub lazy_user_flush: AtomicBool,
    /// requirepass is not empty: a new client must AUTH first.
    pub requirepass_set: AtomicBool,
    pub protected_mode: AtomicBool,
    pub maxclients: AtomicU64,
    /// Idle seconds before a client is closed (0 = never).
    pub timeout: AtomicU64,
    pub query_buffer_limit: AtomicU64,
    /// notify-keyspace-events, as classes (`exec::notify::class`).
    pub notify: AtomicU32,
    /// proto-max-bulk-len: the longest argument a client may send.
    pub proto_max_bulk_len: AtomicI64,
    /// Index in [`EVICTION`] of maxmemory-policy.
    pub maxmemory_policy: AtomicU64,
    pub maxmemory_samples: AtomicU64,
    /// busy-reply-threshold (lua-time-limit), ms.
    pub busy_reply_threshold: AtomicU64,
    /// tracking-table-max-keys (0: no limit).
    pub tracking_max_keys: AtomicU64,
    /// client-output-buffer-limit: `[hard, soft, seconds]` per class of
    /// [`values::OUTPUT_CLASSES`] (0 = no limit).
    pub output_limits: [[AtomicU64; 3]; 3],
    /// What the keyspace reads on every lookup (the eviction policy's
    /// access recording), shared with it.
    pub keyspace: Arc<crate::keyspace::Settings>,
}

/// maxmemory-policy values, in [`Runtime::maxmemory_policy`]'s numbering.
pub const POLICIES: &[&str] = EVICTION;

impl Runtime {
    pub fn new(cfg: &ServerConfig) -> Runtime {
        let r = Runtime {
            values: RwLock::new(cfg.values.clone()),
            slowlog_slower_than: AtomicI64::new(0),
            slowlog_max_len: AtomicU64::new(0),
            hz: AtomicU64::new(0),
            maxmemory: AtomicU64::new(0),
            lazy_user_flush: AtomicBool::new(false),
            requirepass_set: AtomicBool::new(false),
            protected_mode: AtomicBool::new(false),
            maxclients: AtomicU64::new(0),
            timeout: AtomicU64::new(0),
            query_buffer_limit: AtomicU64::new(0),
            proto_max_bulk_len: AtomicI64::new(crate::proto::request::MAX_BULK_LEN),
            notify: AtomicU32::new(0),
            maxmemory_policy: AtomicU64::new(0),
            maxmemory_samples: AtomicU64::new(5),
            busy_reply_threshold: AtomicU64::new(5000),
            tracking_max_keys: AtomicU64::new(1_000_000),
            output_limits: Default::default(),
            keyspace: Arc::default(),
        };
        for (k, v) in cfg.values.iter() {
            r.apply_hot(k, v);
        }
        r
    }

    /// Mirrors a value into its atomic, where it has one.
    fn apply_hot(&self, name: &str, v: &str) {
        let int = || v.parse::<i64>().unwrap_or(0);
        match name {
            "slowlog-log-slower-than" => self.slowlog_slower_than.store(int(), Ordering::Relaxed),
            "slowlog-max-len" => self.slowlog_max_len.store(int() as u64, Ordering::Relaxed),
            "hz" => self.hz.store(int() as u64, Ordering::Relaxed),
            "maxmemory" => self
                .maxmemory
                .store(v.parse().unwrap_or(0), Ordering::Relaxed),
            "lazyfree-lazy-user-flush" => self.lazy_user_flush.store(v == "yes", Ordering::Relaxed),
            "requirepass" => self.requirepass_set.store(!v.is_empty(), Ordering::Relaxed),
            "protected-mode" => self.protected_mode.store(v == "yes", Ordering::Relaxed),
            "maxclients" => self.maxclients.store(int() as u64, Ordering::Relaxed),
            "notify-keyspace-events" => {
                use crate::exec::notify::{class, flags_of};
                let flags = flags_of(v);
                self.notify.store(flags, Ordering::Relaxed);
                // `new` and `keymiss` are recorded by the keyspace itself.
                self.keyspace
                    .set_key_events(flags & class::NEW != 0, flags & class::KEY_MISS != 0);
            }
            "timeout" => self.timeout.store(int() as u64, Ordering::Relaxed),
            "client-query-buffer-limit" => self
                .query_buffer_limit
                .store(int() as u64, Ordering::Relaxed),
            "proto-max-bulk-len" => self
                .proto_max_bulk_len
                .store(int().max(1), Ordering::Relaxed),
            "maxmemory-policy" => {
                let i = EVICTION
                    .iter()
                    .position(|p| *p == v)
                    .unwrap_or(EVICTION.len() - 1);
                self.maxmemory_policy.store(i as u64, Ordering::Relaxed);
                self.keyspace.set_policy(v);
            }
            // The encoding thresholds live with the values (types/encoding.rs).
            n if crate::types::encoding::set(n, int().max(0) as usize) => {}
            "lfu-log-factor" => self.keyspace.set_log_factor(int().max(0) as u64),
            "lfu-decay-time" => self.keyspace.set_decay_time(int().max(0) as u64),
            "maxmemory-samples" => self
                .maxmemory_samples
                .store(int() as u64, Ordering::Relaxed),
            "tracking-table-max-keys" => self
                .tracking_max_keys
                .store(int().max(0) as u64, Ordering::Relaxed),
            "busy-reply-threshold" | "lua-time-limit" => self
                .busy_reply_threshold
                .store(int().max(0) as u64, Ordering::Relaxed),
            "client-output-buffer-limit" => {
                if let Some(l) = parse_output_limits(v) {
                    for (class, vals) in l.iter().enumerate() {
                        for (j, x) in vals.iter().enumerate() {
                            self.output_limits[class][j].store(*x, Ordering::Relaxed);
                        }
                    }
                }
            }
            _ => {}
        }
    }

    pub fn get(&self, name: &str) -> String {
        let v = self.values.read().unwrap_or_else(|e| e.into_inner());
        v.get(name).cloned().unwrap_or_default()
    }

    /// The (name, value) pairs matching any of the glob patterns.
    pub fn matching(&self, patterns: &[&[u8]]) -> Vec<(&'static str, String)> {
        let v = self.values.read().unwrap_or_else(|e| e.into_inner());
        v.iter()
            .filter(|(k, _)| {
                patterns
                    .iter()
                    .any(|p| crate::util::glob_match(p, k.as_bytes(), true))
            })
            .map(|(k, v)| (*k, v.clone()))
            .collect()
    }

    /// CONFIG SET of several pairs, all or nothing: every pair is checked
    /// before any is applied. The error is Redis's whole message.
    pub fn set_many(&self, pairs: &[(&[u8], &[u8])]) -> Result<(), String> {
        let mut checked: Vec<(&'static Param, String)> = Vec::new();
        for (name, value) in pairs {
            let lname = String::from_utf8_lossy(name).to_ascii_lowercase();
            let Some(p) = param(&lname) else {
                return Err(format!(
                    "ERR Unknown option or number of arguments for CONFIG SET - '{lname}'"
                ));
            };
            let fail = |why: &str| {
                format!("ERR CONFIG SET failed (possibly related to argument '{lname}') - {why}")
            };
            // By name: Redis 7.0.15 takes an alias and its other name in one
            // call (the last wins).
            if checked.iter().any(|(q, _)| q.name == p.name) {
                return Err(fail("duplicate parameter"));
            }
            match p.set {
                Set::Immutable => return Err(fail("can't set immutable config")),
                Set::Protected => return Err(fail("can't set protected config")),
                Set::Yes => {}
            }
            let value = String::from_utf8_lossy(value);
            let v = match p.kind {
                Kind::OutputLimit => merge_output_limits(&self.get(p.name), &[value.as_ref()]),
                Kind::Percentiles | Kind::OomValues | Kind::Save => {
                    p.validate(&value.split_whitespace().collect::<Vec<_>>())
                }
                _ => p.validate(&[value.as_ref()]),
            }
            .map_err(|e| fail(&e))?;
            if let Some(why) = values::unsupported(p.name, &v) {
                return Err(fail(&why));
            }
            checked.push((p, v));
        }
        let mut vals = self.values.write().unwrap_or_else(|e| e.into_inner());
        for (p, v) in checked {
            self.apply_hot(p.name, &v);
            if let Some(a) = alias(p.name) {
                vals.insert(a, v.clone());
            }
            vals.insert(p.name, v);
        }
        Ok(())
    }
}

/// A value as redis.conf writes it: quoted when empty or holding spaces
/// or quotes.
fn conf_quote(v: &str) -> String {
    if !v.is_empty() && !v.contains(|c: char| c.is_whitespace() || c == '"' || c == '\'') {
        return v.to_string();
    }
    let mut q = String::from("\"");
    for c in v.chars() {
        match c {
            '"' | '\\' => {
                q.push('\\');
                q.push(c);
            }
            '\n' => q.push_str("\\n"),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

impl Runtime {
    /// CONFIG REWRITE: keeps the file's comments and layout, rewrites each
    /// known directive's first line with the current value (dropping
    /// repeats) and appends the changed parameters the file lacks. Written
    /// to a temporary file and renamed over, so a crash leaves one or the
    /// other.
    pub fn rewrite(&self, path: &Path) -> Result<(), String> {
        let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
        let vals = self
            .values
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut seen = std::collections::HashSet::new();
        let mut out = String::new();
        for line in text.lines() {
            let t = line.trim();
            let name = t
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_lowercase();
            match (t.starts_with('#'), param(&name)) {
                (false, Some(p)) => {
                    if seen.insert(p.name) {
                        let v = vals.get(p.name).cloned().unwrap_or_default();
                        let v = match p.kind {
                            Kind::Save | Kind::Percentiles | Kind::OomValues | Kind::ReplicaOf
                                if !v.is_empty() =>
                            {
                                v
                            }
                            _ => conf_quote(&v),
                        };
                        out.push_str(&format!("{} {v}\n", p.name));
                    }
                }
                _ => {
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
        for p in PARAMS {
            let v = vals.get(p.name).cloned().unwrap_or_default();
            // An alias's old name is written by its new one only.
            let written = seen.contains(p.name) || alias(p.name).is_some_and(|a| seen.contains(a));
            if !written && !is_old_name(p.name) && v != p.default && p.set == Set::Yes {
                out.push_str(&format!("{} {}\n", p.name, conf_quote(&v)));
            }
        }
        let tmp = path.with_extension("rewrite.tmp");
        std::fs::write(&tmp, out).map_err(|e| e.to_string())?;
        std::fs::rename(&tmp, path).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_directives_and_errors() {
        let mut c = ServerConfig::default();
        c.apply_text(
            "# comment\nport 6380\n\nbind 0.0.0.0\ndatabases 4\nsave \"900 1\"\n\
             appendonly yes\nmaxmemory 10mb\ndir '/'\n",
            "k.conf",
        )
        .unwrap();
        assert_eq!((c.port, c.databases), (6380, 4));
        assert_eq!(c.bind, IpAddr::from([0, 0, 0, 0]));
        assert_eq!(c.values["save"], "900 1");
        assert_eq!(c.values["appendonly"], "yes");
        assert_eq!(c.values["maxmemory"], "10485760");
        assert_eq!(c.values["dir"], "/");
        let e = c
            .apply_text("port 1\nfrobnicate yes\n", "k.conf")
            .unwrap_err();
        assert_eq!(e, "k.conf:2: unknown directive 'frobnicate'");
        let e = c.apply_text("port x\n", "k.conf").unwrap_err();
        assert_eq!(e, "k.conf:1: argument couldn't be parsed into an integer");
        let e = c
            .apply_text("bind 1.2.3.4 5.6.7.8\n", "k.conf")
            .unwrap_err();
        assert_eq!(e, "k.conf:1: only one bind address is supported (got 2)");
    }

    #[test]
    fn cpu_lists_parse_as_redis_writes_them() {
        assert_eq!(parse_cpulist("").unwrap(), Vec::<usize>::new());
        assert_eq!(parse_cpulist("3").unwrap(), vec![3]);
        assert_eq!(
            parse_cpulist("0-3,8,10-14:2").unwrap(),
            vec![0, 1, 2, 3, 8, 10, 12, 14]
        );
        assert_eq!(parse_cpulist(" 1 , 0 ").unwrap(), vec![1, 0]);
        for bad in ["x", "3-1", "0-4:0", "1-", "-1", "0-3:x", "1:2:3", "9000"] {
            assert!(parse_cpulist(bad).is_err(), "{bad}");
        }
        let mut c = ServerConfig::default();
        c.set("server_cpulist", &["0-1"]).unwrap();
        assert_eq!(c.server_cpus, vec![0, 1]);
        let e = c.set("server_cpulist", &["2-1"]).unwrap_err();
        assert_eq!(e, "invalid CPU list item '2-1' (want N, N-M or N-M:STEP)");
        assert_eq!(c.server_cpus, vec![0, 1], "a refused value changes nothing");
    }

    #[test]
    fn sample_config_file_parses_and_lists_every_directive() {
        let text = include_str!("../../kvserver.conf");
        let mut c = ServerConfig::default();
        c.apply_text(text, "kvserver.conf").unwrap();
        for p in PARAMS {
            assert!(
                text.lines().any(|l| {
                    let l = l.trim_start_matches("# ");
                    l.split_whitespace().next() == Some(p.name)
                }),
                "{} is missing from kvserver.conf",
                p.name
            );
        }
        assert!(text.contains("rename-command"));
        let limits = parse_output_limits(&c.values["client-output-buffer-limit"]).unwrap();
        assert_eq!(limits[2], [32 << 20, 8 << 20, 60]);
    }

    #[test]
    fn output_limits_merge_and_rename_errors() {
        let v = merge_output_limits(
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
            &["pubsub 1mb 512kb 10", "replica", "1gb", "0", "0"],
        )
        .unwrap();
        assert_eq!(
            v,
            "normal 0 0 0 slave 1073741824 0 0 pubsub 1048576 524288 10"
        );
        let mut c = ServerConfig::default();
        assert_eq!(
            c.set("rename-command", &["nosuch", "x"]).unwrap_err(),
            "No such command in rename-command"
        );
        c.set("rename-command", &["config", "cfg"]).unwrap();
        assert_eq!(
            c.set("rename-command", &["get", "cfg"]).unwrap_err(),
            "Target command name already exists"
        );
        c.set("rename-command", &["cfg", ""]).unwrap();
        assert!(!crate::exec::table::names_after(&c.renames).contains(&"cfg".to_string()));
        c.set("requirepass", &["pw"]).unwrap();
        assert!(Runtime::new(&c).requirepass_set.load(Ordering::Relaxed));
    }

    #[test]
    fn runtime_set_is_all_or_nothing() {
        let r = Runtime::new(&ServerConfig::default());
        assert!(r
            .set_many(&[(b"hz", b"20"), (b"maxmemory", b"1gb")])
            .is_ok());
        assert_eq!(r.get("maxmemory"), "1073741824");
        assert_eq!(r.hz.load(Ordering::Relaxed), 20);
        let e = r.set_many(&[(b"hz", b"30"), (b"port", b"1")]).unwrap_err();
        assert_eq!(
            e,
            "ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable config"
        );
        assert_eq!(r.get("hz"), "20");
        assert_eq!(values::parse_notify("KEA").unwrap(), "AKE");
        assert_eq!(values::parse_notify("Elg").unwrap(), "glE");
    }
}

#[cfg(test)]
mod param_tests {
    use super::*;

    #[test]
    fn aliases_follow_each_other_and_rewrite_under_the_new_name() {
        let mut c = ServerConfig::default();
        c.apply_text("slave-read-only no\nhash-max-ziplist-entries 7\n", "k.conf")
            .unwrap();
        assert_eq!(c.values["replica-read-only"], "no");
        assert_eq!(c.values["hash-max-listpack-entries"], "7");
        let r = Runtime::new(&c);
        r.set_many(&[(b"list-max-listpack-size", b"5")]).unwrap();
        assert_eq!(r.get("list-max-ziplist-size"), "5");
        let dir = std::env::temp_dir().join(format!("kv-rewrite-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("k.conf");
        std::fs::write(&f, "# mine\nslave-read-only no\n").unwrap();
        r.rewrite(&f).unwrap();
        let text = std::fs::read_to_string(&f).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(text.contains("# mine\nslave-read-only no\n"), "{text}");
        assert!(text.contains("list-max-listpack-size 5\n"), "{text}");
        assert!(!text.contains("ziplist"), "old names are not added: {text}");
        assert!(!text.contains("replica-read-only"), "written once: {text}");
    }

    #[test]
    fn what_kvserver_cannot_do_is_refused_not_stored() {
        let mut c = ServerConfig::default();
        for (name, value, why) in [
            ("tls-port", "6380", "no TLS listener"),
            ("cluster-enabled", "yes", "cluster mode"),
            ("unixsocket", "/tmp/k.sock", "TCP only"),
        ] {
            let e = c.set(name, &[value]).unwrap_err();
            assert!(e.contains(why), "{name}: {e}");
        }
        c.set("tls-port", &["0"]).unwrap();
        let r = Runtime::new(&c);
        let e = r.set_many(&[(b"tls-replication", b"yes")]).unwrap_err();
        assert!(
            e.ends_with("kvserver has no TLS (it can only be 'no')"),
            "{e}"
        );
        assert_eq!(r.get("tls-replication"), "no");
    }

    #[test]
    fn inert_settings_are_named_and_listed_in_the_readme() {
        let mut c = ServerConfig::default();
        c.apply_text(
            "replicaof 10.0.0.1 6379\nactivedefrag yes\nmaxmemory 1mb\n",
            "k",
        )
        .unwrap();
        assert_eq!(c.values["replicaof"], "10.0.0.1 6379");
        assert_eq!(c.values["slaveof"], "10.0.0.1 6379");
        assert_eq!(c.inert_settings(), vec!["activedefrag", "replicaof"]);
        let readme = include_str!("../../README.md");
        for name in params::INERT {
            assert!(
                readme.contains(&format!("`{name}`")),
                "kvserver/README.md does not list the inert parameter `{name}`"
            );
        }
    }

    #[test]
    fn memory_values_read_as_redis_memtoull() {
        use values::parse_memory;
        assert_eq!(parse_memory("1gb"), Some(1 << 30));
        assert_eq!(parse_memory("1G"), Some(1_000_000_000));
        assert_eq!(parse_memory(""), Some(0));
        assert_eq!(parse_memory("-1"), None);
        assert_eq!(parse_memory("1.5mb"), None);
        assert_eq!(parse_memory("99999999999999999999"), Some(u64::MAX));
    }
}
