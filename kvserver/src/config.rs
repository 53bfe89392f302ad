//! kvserver's own settings, redis.conf style: `name value...` per line, `#`
//! comments, values quoted as Redis's sdssplitargs reads them, the file
//! given as the first positional argument, and every directive also as
//! `--name value...` on the command line (which wins).
//!
//! Every parameter CONFIG GET/SET knows is in [`PARAMS`] with Redis 7.0's
//! name, default and validation (error texts are Redis's). The startup
//! values ([`ServerConfig`]) become the runtime configuration
//! ([`Runtime`]): a map of the values as CONFIG GET shows them, plus atomics
//! for the ones read on hot paths (slow log, hz, maxmemory, lazy flush,
//! keyspace events, proto-max-bulk-len; the access settings are shared
//! with the keyspace, `keyspace::Settings`). Some Redis parameters are
//! accepted and shown but have no effect here (replication, cluster,
//! modules...): see kvserver/README.md.
//!
//! FastIO's settings are separate: fastio.conf via `--config PATH`,
//! `--backend`, `--workers`, `--fastio key=value` (see `fastio::FastioArgs`).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

#[derive(Debug, Clone, Copy)]
enum Kind {
    Bool,
    Int(i64, i64),
    /// An integer clamped into the range instead of refused (hz).
    Clamp(i64, i64),
    /// A memory value (`1gb`, `100mb`, `512k`), shown in bytes.
    Mem(i64, i64),
    Enum(&'static [&'static str]),
    Str,
    Save,
    Notify,
    Bind,
    Dir,
    DbFilename,
    /// requirepass: any one value ("" = no password).
    Password,
    /// client-output-buffer-limit: `class hard soft seconds` groups, merged
    /// into the current value (see [`merge_output_limits`]).
    OutputLimit,
    /// A CPU list (`0-3,8,10-14:2`), see [`parse_cpulist`].
    CpuList,
}

/// Whether CONFIG SET may change a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Set {
    Yes,
    /// Redis: "can't set immutable config" (here also for some Redis can
    /// change at run time but we cannot: port, bind and the encoding
    /// thresholds, which are constants in our code).
    Immutable,
    /// Redis 7's `enable-protected-configs no` default: "can't set
    /// protected config".
    Protected,
}

#[derive(Debug)]
pub struct Param {
    pub name: &'static str,
    kind: Kind,
    default: &'static str,
    set: Set,
}

const fn p(name: &'static str, kind: Kind, default: &'static str, set: Set) -> Param {
    Param {
        name,
        kind,
        default,
        set,
    }
}

use Kind::*;
use Set::{Immutable, Protected, Yes};

const I32: i64 = i32::MAX as i64;
const U32: i64 = u32::MAX as i64;
const EVICTION: &[&str] = &[
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
];

/// The parameters, with Redis 7.0's names and defaults except where ours
/// differ in fact (bind: loopback only; save: "" as nothing is saved yet;
/// io-threads: one per CPU but one, see [`default_io_threads`]; dir: the
/// working directory at start).
pub static PARAMS: &[Param] = &[
    p("port", Int(0, 65535), "6379", Immutable),
    p("bind", Bind, "127.0.0.1", Immutable),
    p("databases", Int(1, I32), "16", Immutable),
    p("io-threads", Int(1, 256), "", Immutable),
    p("io-threads-do-reads", Bool, "no", Immutable),
    // kvserver's own: where a command runs (dispatch.rs). `owner`: on the
    // I/O thread owning its keys' shards; `local`: on its connection's.
    p(
        "shard-dispatch",
        Enum(&["owner", "local"]),
        "owner",
        Immutable,
    ),
    // Redis's name, with its underscore. Redis pins its threads to the
    // whole list; kvserver pins I/O thread i to the i-th CPU of it, so each
    // thread (and the shards it owns) has a core of its own.
    p("server_cpulist", CpuList, "", Immutable),
    p("daemonize", Bool, "no", Immutable),
    p(
        "supervised",
        Enum(&["upstart", "systemd", "auto", "no"]),
        "no",
        Immutable,
    ),
    p("pidfile", Str, "", Immutable),
    p("logfile", Str, "", Immutable),
    p("unixsocket", Str, "", Immutable),
    p("tcp-backlog", Int(0, I32), "511", Immutable),
    p("cluster-enabled", Bool, "no", Immutable),
    p("protected-mode", Bool, "yes", Yes),
    // Redis 7.0's: DEBUG only when allowed (security.rs).
    p(
        "enable-debug-command",
        Enum(&["no", "yes", "local"]),
        "no",
        Immutable,
    ),
    p("save", Save, "", Yes),
    p("appendonly", Bool, "no", Yes),
    p(
        "appendfsync",
        Enum(&["everysec", "always", "no"]),
        "everysec",
        Yes,
    ),
    p("appendfilename", Str, "appendonly.aof", Immutable),
    p("appenddirname", Str, "appendonlydir", Immutable),
    p("aof-load-truncated", Bool, "yes", Yes),
    p("aof-use-rdb-preamble", Bool, "yes", Yes),
    p("dir", Dir, "", Protected),
    p("dbfilename", DbFilename, "dump.rdb", Protected),
    p("rdbcompression", Bool, "yes", Yes),
    p("rdbchecksum", Bool, "yes", Yes),
    p("stop-writes-on-bgsave-error", Bool, "yes", Yes),
    p("maxmemory", Mem(0, i64::MAX), "0", Yes),
    p("maxmemory-policy", Enum(EVICTION), "noeviction", Yes),
    p("maxmemory-samples", Int(1, I32), "5", Yes),
    p("lfu-log-factor", Int(0, I32), "10", Yes),
    p("lfu-decay-time", Int(0, I32), "1", Yes),
    p("maxclients", Int(1, U32), "10000", Yes),
    p("timeout", Int(0, I32), "0", Yes),
    p("tcp-keepalive", Int(0, I32), "300", Yes),
    p("requirepass", Password, "", Yes),
    p("hz", Clamp(1, 500), "10", Yes),
    p("dynamic-hz", Bool, "yes", Yes),
    p("slowlog-log-slower-than", Int(-1, i64::MAX), "10000", Yes),
    p("slowlog-max-len", Int(0, i64::MAX), "128", Yes),
    p("latency-monitor-threshold", Int(0, i64::MAX), "0", Yes),
    p(
        "loglevel",
        Enum(&["debug", "verbose", "notice", "warning"]),
        "notice",
        Yes,
    ),
    p(
        "proto-max-bulk-len",
        Mem(1 << 20, i64::MAX),
        "536870912",
        Yes,
    ),
    p(
        "client-query-buffer-limit",
        Mem(1 << 20, i64::MAX),
        "1073741824",
        Yes,
    ),
    p(
        "client-output-buffer-limit",
        OutputLimit,
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
        Yes,
    ),
    p("busy-reply-threshold", Int(0, i64::MAX), "5000", Yes),
    p("lua-time-limit", Int(0, i64::MAX), "5000", Yes),
    // kvserver's own: the most memory one thread's Lua state may hold
    // (exec/script/sandbox.rs); Redis bounds scripts only by maxmemory.
    p(
        "lua-memory-limit",
        Mem(1 << 20, i64::MAX),
        "1073741824",
        Yes,
    ),
    p("notify-keyspace-events", Notify, "", Yes),
    p("lazyfree-lazy-user-flush", Bool, "no", Yes),
    p("lazyfree-lazy-user-del", Bool, "no", Yes),
    p("replica-read-only", Bool, "yes", Yes),
    p("active-expire-effort", Int(1, 10), "1", Yes),
    p("maxmemory-clients", Mem(0, i64::MAX), "0", Yes),
    p(
        "hash-max-listpack-entries",
        Int(0, i64::MAX),
        "512",
        Immutable,
    ),
    p("hash-max-listpack-value", Int(0, i64::MAX), "64", Immutable),
    p("set-max-intset-entries", Int(0, i64::MAX), "512", Immutable),
    p(
        "zset-max-listpack-entries",
        Int(0, i64::MAX),
        "128",
        Immutable,
    ),
    p("zset-max-listpack-value", Int(0, i64::MAX), "64", Immutable),
    p(
        "list-max-listpack-size",
        Int(i32::MIN as i64, I32),
        "-2",
        Immutable,
    ),
];

/// `lua-time-limit` is Redis 7's alias of `busy-reply-threshold`: setting
/// either sets both.
fn alias(name: &str) -> Option<&'static str> {
    match name {
        "lua-time-limit" => Some("busy-reply-threshold"),
        "busy-reply-threshold" => Some("lua-time-limit"),
        _ => None,
    }
}

/// Redis's CPU list syntax (setcpuaffinity.c): comma-separated CPUs and
/// ranges, a range optionally with a stride: `0-3,8,10-14:2` = 0 1 2 3 8
/// 10 12 14. Empty: no CPUs. Redis ignores a list it cannot parse; we
/// refuse it at start, with what is wrong.
pub fn parse_cpulist(list: &str) -> Result<Vec<usize>, String> {
    /// Beyond any machine's CPU count (Linux's NR_CPUS tops at 8192).
    const MAX_CPU: usize = 8191;
    let mut cpus = Vec::new();
    for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let bad = || format!("invalid CPU list item '{item}' (want N, N-M or N-M:STEP)");
        let (range, step) = match item.split_once(':') {
            Some((r, st)) => (r, st.parse::<usize>().map_err(|_| bad())?),
            None => (item, 1),
        };
        let (a, b) = match range.split_once('-') {
            Some((a, b)) => (a.parse::<usize>(), b.parse::<usize>()),
            None => (range.parse::<usize>(), range.parse::<usize>()),
        };
        let (a, b) = (a.map_err(|_| bad())?, b.map_err(|_| bad())?);
        if a > b || step == 0 {
            return Err(bad());
        }
        if b > MAX_CPU {
            return Err(format!("CPU {b} is out of range (0-{MAX_CPU})"));
        }
        cpus.extend((a..=b).step_by(step));
    }
    Ok(cpus)
}

pub fn param(name: &str) -> Option<&'static Param> {
    PARAMS.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

/// Directives of the file (and `--name` options) that are not parameters:
/// CONFIG GET does not show them, CONFIG SET cannot change them.
const FILE_ONLY: &[&str] = &["rename-command"];

/// Whether `name` is a directive kvserver accepts (a parameter or a
/// file-only directive such as `rename-command`).
pub fn is_directive(name: &str) -> bool {
    param(name).is_some() || FILE_ONLY.iter().any(|d| d.eq_ignore_ascii_case(name))
}

/// The client classes of client-output-buffer-limit, in Redis's order
/// (`replica` is accepted for `slave`).
pub const OUTPUT_CLASSES: [&str; 3] = ["normal", "slave", "pubsub"];

/// Parses client-output-buffer-limit groups (`class hard soft seconds`,
/// several in one value or over several arguments) into `current` (the
/// value as CONFIG GET shows it) and returns the new value. Errors are
/// Redis's.
pub fn merge_output_limits(current: &str, args: &[&str]) -> Result<String, String> {
    let mut limits = parse_output_limits(current).unwrap_or_else(|| {
        parse_output_limits(param_default("client-output-buffer-limit")).unwrap_or_default()
    });
    let words: Vec<&str> = args.iter().flat_map(|a| a.split_whitespace()).collect();
    if words.len() % 4 != 0 {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    for g in words.chunks(4) {
        let class = match g[0].to_ascii_lowercase().as_str() {
            "normal" => 0,
            "slave" | "replica" => 1,
            "pubsub" => 2,
            _ => {
                return Err("Invalid client class specified in buffer limit configuration.".into())
            }
        };
        let bad = || "Error in hard, soft or soft-seconds setting in buffer limit configuration.";
        let hard = parse_memory(g[1]).filter(|v| *v >= 0).ok_or_else(bad)?;
        let soft = parse_memory(g[2]).filter(|v| *v >= 0).ok_or_else(bad)?;
        let secs = g[3]
            .parse::<i64>()
            .ok()
            .filter(|v| *v >= 0)
            .ok_or_else(bad)?;
        limits[class] = [hard as u64, soft as u64, secs as u64];
    }
    Ok(format_output_limits(&limits))
}

/// `[hard, soft, soft seconds]` per class of [`OUTPUT_CLASSES`].
pub fn parse_output_limits(v: &str) -> Option<[[u64; 3]; 3]> {
    let w: Vec<&str> = v.split_whitespace().collect();
    if w.len() != 12 {
        return None;
    }
    let mut out = [[0u64; 3]; 3];
    for (i, g) in w.chunks(4).enumerate() {
        if g[0] != OUTPUT_CLASSES[i] {
            return None;
        }
        for j in 0..3 {
            out[i][j] = g[j + 1].parse().ok()?;
        }
    }
    Some(out)
}

fn format_output_limits(l: &[[u64; 3]; 3]) -> String {
    let mut parts = Vec::new();
    for (i, c) in OUTPUT_CLASSES.iter().enumerate() {
        parts.push(format!("{c} {} {} {}", l[i][0], l[i][1], l[i][2]));
    }
    parts.join(" ")
}

fn param_default(name: &str) -> &'static str {
    param(name).map_or("", |p| p.default)
}

/// Parameters whose values are secrets (Redis 7.0's SENSITIVE_CONFIG):
/// CONFIG SET shows them as `(redacted)` in the slow log.
pub fn is_sensitive(name: &[u8]) -> bool {
    [&b"requirepass"[..], b"masterauth", b"masteruser"]
        .iter()
        .any(|s| name.eq_ignore_ascii_case(s))
}

/// Redis's memtoull: digits with an optional unit (b, k, kb, m, mb, g, gb;
/// k = 1000, kb = 1024), case-insensitive.
fn parse_memory(s: &str) -> Option<i64> {
    let s = s.to_ascii_lowercase();
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '-')
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let mul: i64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    num.parse::<i64>().ok()?.checked_mul(mul)
}

fn range_error(min: i64, max: i64) -> String {
    format!("argument must be between {min} and {max} inclusive")
}

/// Redis's keyspace-event classes, in keyspaceEventsFlagsToString's order.
const NOTIFY_CLASSES: &str = "g$lshzxetdn";

fn parse_notify(s: &str) -> Result<String, String> {
    let mut set = std::collections::HashSet::new();
    for c in s.chars() {
        match c {
            'A' => set.extend("g$lshzxetd".chars()),
            c if NOTIFY_CLASSES.contains(c) || "KEm".contains(c) => {
                set.insert(c);
            }
            _ => return Err("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".into()),
        }
    }
    let all = "g$lshzxetd".chars().all(|c| set.contains(&c));
    let mut out = String::new();
    if all {
        out.push('A');
        if set.contains(&'n') {
            out.push('n');
        }
    } else {
        out.extend(NOTIFY_CLASSES.chars().filter(|c| set.contains(c)));
    }
    out.extend("KEm".chars().filter(|c| set.contains(c)));
    Ok(out)
}

impl Param {
    /// Checks `args` and returns the value as CONFIG GET will show it; the
    /// error is Redis's text (what follows " - " in CONFIG SET's error).
    fn validate(&self, args: &[&str]) -> Result<String, String> {
        let one = || match args {
            [v] => Ok(*v),
            _ => Err("wrong number of arguments".to_string()),
        };
        match self.kind {
            Bool => match one()?.to_ascii_lowercase().as_str() {
                v @ ("yes" | "no") => Ok(v.to_string()),
                _ => Err("argument must be 'yes' or 'no'".into()),
            },
            Int(min, max) | Clamp(min, max) => {
                let v: i64 = one()?
                    .parse()
                    .map_err(|_| "argument couldn't be parsed into an integer".to_string())?;
                if let Clamp(..) = self.kind {
                    return Ok(v.clamp(min, max).to_string());
                }
                if v < min || v > max {
                    return Err(range_error(min, max));
                }
                Ok(v.to_string())
            }
            Mem(min, max) => {
                let v = parse_memory(one()?).ok_or("argument must be a memory value")?;
                if v < min || v > max {
                    return Err(range_error(min, max));
                }
                Ok(v.to_string())
            }
            Enum(vals) => {
                let v = one()?.to_ascii_lowercase();
                if vals.contains(&v.as_str()) {
                    Ok(v)
                } else {
                    Err(format!(
                        "argument(s) must be one of the following: {}",
                        vals.join(", ")
                    ))
                }
            }
            Str => Ok(args.join(" ")),
            CpuList => {
                let v = args.join(",");
                parse_cpulist(&v)?;
                Ok(v)
            }
            Save => {
                // Pairs of "seconds changes", several pairs in one value or
                // over several arguments; "" disables.
                let words: Vec<&str> = args.iter().flat_map(|a| a.split_whitespace()).collect();
                if words.len() % 2 != 0 || words.iter().any(|w| w.parse::<u64>().is_err()) {
                    return Err("Invalid save parameters".into());
                }
                Ok(words.join(" "))
            }
            Notify => parse_notify(one()?),
            Bind => {
                // One listener set per address would need an accept per
                // address per I/O thread: one address for now.
                let [addr] = args else {
                    return Err(format!(
                        "only one bind address is supported (got {})",
                        args.len()
                    ));
                };
                let a = addr.strip_prefix('-').unwrap_or(addr);
                let a = if a == "*" { "0.0.0.0" } else { a };
                a.parse::<IpAddr>()
                    .map(|_| a.to_string())
                    .map_err(|_| format!("invalid bind address '{addr}'"))
            }
            Dir => {
                let d = Path::new(one()?);
                match std::fs::canonicalize(d) {
                    Ok(p) if p.is_dir() => Ok(p.display().to_string()),
                    Ok(_) => Err("Not a directory".into()),
                    Err(e) => Err(e.to_string()),
                }
            }
            DbFilename => {
                let v = one()?;
                if v.contains('/') {
                    Err("dbfilename can't be a path, just a filename".into())
                } else {
                    Ok(v.to_string())
                }
            }
            Password => Ok(one()?.to_string()),
            OutputLimit => merge_output_limits(param_default(self.name), args),
        }
    }
}

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
            OutputLimit => merge_output_limits(&self.values[p.name], args)?,
            _ => p.validate(args)?,
        };
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
    /// client-output-buffer-limit: `[hard, soft, seconds]` per class of
    /// [`OUTPUT_CLASSES`] (0 = no limit).
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
            "maxmemory" => self.maxmemory.store(int() as u64, Ordering::Relaxed),
            "lazyfree-lazy-user-flush" => self.lazy_user_flush.store(v == "yes", Ordering::Relaxed),
            "requirepass" => self.requirepass_set.store(!v.is_empty(), Ordering::Relaxed),
            "protected-mode" => self.protected_mode.store(v == "yes", Ordering::Relaxed),
            "maxclients" => self.maxclients.store(int() as u64, Ordering::Relaxed),
            "notify-keyspace-events" => self
                .notify
                .store(crate::exec::notify::flags_of(v), Ordering::Relaxed),
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
            "lfu-log-factor" => self.keyspace.set_log_factor(int().max(0) as u64),
            "lfu-decay-time" => self.keyspace.set_decay_time(int().max(0) as u64),
            "maxmemory-samples" => self
                .maxmemory_samples
                .store(int() as u64, Ordering::Relaxed),
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
            if checked
                .iter()
                .any(|(q, _)| q.name == p.name || alias(q.name) == Some(p.name))
            {
                return Err(fail("duplicate parameter"));
            }
            match p.set {
                Set::Immutable => return Err(fail("can't set immutable config")),
                Set::Protected => return Err(fail("can't set protected config")),
                Set::Yes => {}
            }
            let value = String::from_utf8_lossy(value);
            let v = match p.kind {
                OutputLimit => merge_output_limits(&self.get(p.name), &[value.as_ref()]),
                _ => p.validate(&[value.as_ref()]),
            }
            .map_err(|e| fail(&e))?;
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
                            Save if !v.is_empty() => v,
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
            if !seen.contains(p.name) && v != p.default && p.set == Set::Yes {
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
        let text = include_str!("../kvserver.conf");
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
        assert_eq!(parse_notify("KEA").unwrap(), "AKE");
        assert_eq!(parse_notify("Elg").unwrap(), "glE");
    }
}
