//! The parameters CONFIG GET/SET and the config file know: every one of
//! redis-server 7.0's (its names, aliases, defaults, types and ranges, and
//! whether CONFIG SET may change it, as 7.0.15 answers), plus kvserver's
//! own. How a value is checked is `values.rs`; which ones change what the
//! server does is [`INERT`]'s complement (kvserver/README.md lists them).

/// How a value is read and checked (`values.rs`).
#[derive(Debug, Clone, Copy)]
pub(super) enum Kind {
    Bool,
    Int(i64, i64),
    /// hz: Redis accepts 0..INT_MAX and clamps what it shows to 1..500.
    Hz,
    /// A memory value (`1gb`, `100mb`, `512k`), shown in bytes.
    Mem(u64, u64),
    /// maxmemory-clients: a memory value or a percentage (`10%`).
    MemOrPercent,
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
    /// into the current value (see `values::merge_output_limits`).
    OutputLimit,
    /// A CPU list (`0-3,8,10-14:2`), see `values::parse_cpulist`.
    CpuList,
    /// cluster-announce-hostname: letters, digits, `-` and `.`.
    Hostname,
    /// latency-tracking-info-percentiles: numbers in 0..100.
    Percentiles,
    /// oom-score-adj-values: three integers in -2000..2000.
    OomValues,
    /// proc-title-template: `{title}` and the other variables Redis knows.
    ProcTitle,
    /// replicaof / slaveof: `host port` (or `no one`).
    ReplicaOf,
    /// unixsocketperm: an octal mode.
    Octal,
}

/// Whether CONFIG SET may change a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Set {
    Yes,
    /// Redis: "can't set immutable config" (here also for port and bind,
    /// which Redis can change at run time but kvserver cannot).
    Immutable,
    /// Redis 7's `enable-protected-configs no` default: "can't set
    /// protected config".
    Protected,
}

#[derive(Debug)]
pub struct Param {
    pub name: &'static str,
    pub(super) kind: Kind,
    pub(super) default: &'static str,
    pub(super) set: Set,
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
/// The top of Redis's signed memory parameters (long long).
const I64: u64 = i64::MAX as u64;
pub(super) const EVICTION: &[&str] = &[
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
];

/// The parameters, by name, with Redis 7.0's defaults except where ours
/// differ in fact (bind: loopback only; save: nothing; io-threads: one per
/// CPU but one; dir: the working directory at start; daemonize: no).
pub static PARAMS: &[Param] = &[
    p(
        "acl-pubsub-default",
        Enum(&["allchannels", "resetchannels"]),
        "resetchannels",
        Yes,
    ),
    p("aclfile", Str, "", Immutable),
    p("acllog-max-len", Int(0, i64::MAX), "128", Yes),
    p("active-defrag-cycle-max", Int(1, 99), "25", Yes),
    p("active-defrag-cycle-min", Int(1, 99), "1", Yes),
    p("active-defrag-ignore-bytes", Mem(1, I64), "104857600", Yes),
    p(
        "active-defrag-max-scan-fields",
        Int(1, i64::MAX),
        "1000",
        Yes,
    ),
    p("active-defrag-threshold-lower", Int(0, 1000), "10", Yes),
    p("active-defrag-threshold-upper", Int(0, 1000), "100", Yes),
    p("active-expire-effort", Int(1, 10), "1", Yes),
    p("activedefrag", Bool, "no", Yes),
    p("activerehashing", Bool, "yes", Yes),
    p("always-show-logo", Bool, "no", Immutable),
    p("aof-disable-auto-gc", Bool, "no", Yes),
    p("aof-load-truncated", Bool, "yes", Yes),
    p("aof-rewrite-incremental-fsync", Bool, "yes", Yes),
    p("aof-timestamp-enabled", Bool, "no", Yes),
    p("aof-use-rdb-preamble", Bool, "yes", Yes),
    p("aof_rewrite_cpulist", Str, "", Immutable),
    p("appenddirname", Str, "appendonlydir", Immutable),
    p("appendfilename", Str, "appendonly.aof", Immutable),
    p(
        "appendfsync",
        Enum(&["everysec", "always", "no"]),
        "everysec",
        Yes,
    ),
    p("appendonly", Bool, "no", Yes),
    p("auto-aof-rewrite-min-size", Mem(0, I64), "67108864", Yes),
    p("auto-aof-rewrite-percentage", Int(0, I32), "100", Yes),
    p("bgsave_cpulist", Str, "", Immutable),
    // One address (net/io_thread.rs listens once per I/O thread); `*` is
    // 0.0.0.0. Loopback by default. Immutable here: Redis rebinds at run time.
    p("bind", Bind, "127.0.0.1", Immutable),
    p("bind-source-addr", Str, "", Yes),
    p("bio_cpulist", Str, "", Immutable),
    p("busy-reply-threshold", Int(0, i64::MAX), "5000", Yes),
    p(
        "client-output-buffer-limit",
        OutputLimit,
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
        Yes,
    ),
    p(
        "client-query-buffer-limit",
        Mem(1 << 20, I64),
        "1073741824",
        Yes,
    ),
    p("cluster-allow-pubsubshard-when-down", Bool, "yes", Yes),
    p("cluster-allow-reads-when-down", Bool, "no", Yes),
    p("cluster-allow-replica-migration", Bool, "yes", Yes),
    p("cluster-announce-bus-port", Int(0, 65535), "0", Yes),
    p("cluster-announce-hostname", Hostname, "", Yes),
    p("cluster-announce-ip", Str, "", Yes),
    p("cluster-announce-port", Int(0, 65535), "0", Yes),
    p("cluster-announce-tls-port", Int(0, 65535), "0", Yes),
    p("cluster-config-file", Str, "nodes.conf", Immutable),
    p("cluster-enabled", Bool, "no", Immutable),
    p("cluster-link-sendbuf-limit", Mem(0, u64::MAX), "0", Yes),
    p("cluster-migration-barrier", Int(0, I32), "1", Yes),
    p("cluster-node-timeout", Int(0, i64::MAX), "15000", Yes),
    p("cluster-port", Int(0, 65535), "0", Immutable),
    p(
        "cluster-preferred-endpoint-type",
        Enum(&["ip", "hostname", "unknown-endpoint"]),
        "ip",
        Yes,
    ),
    p("cluster-replica-no-failover", Bool, "no", Yes),
    p("cluster-replica-validity-factor", Int(0, I32), "10", Yes),
    p("cluster-require-full-coverage", Bool, "yes", Yes),
    p("cluster-slave-no-failover", Bool, "no", Yes),
    p("cluster-slave-validity-factor", Int(0, I32), "10", Yes),
    p("crash-log-enabled", Bool, "yes", Yes),
    p("crash-memcheck-enabled", Bool, "yes", Yes),
    // `yes` is refused at start: run it under a supervisor.
    p("daemonize", Bool, "no", Immutable),
    p("databases", Int(1, I32), "16", Immutable),
    p("dbfilename", DbFilename, "dump.rdb", Protected),
    // The working directory at start.
    p("dir", Dir, "", Protected),
    p("disable-thp", Bool, "yes", Immutable),
    p("dynamic-hz", Bool, "yes", Yes),
    p(
        "enable-debug-command",
        Enum(&["no", "yes", "local"]),
        "no",
        Immutable,
    ),
    p(
        "enable-module-command",
        Enum(&["no", "yes", "local"]),
        "no",
        Immutable,
    ),
    p(
        "enable-protected-configs",
        Enum(&["no", "yes", "local"]),
        "no",
        Immutable,
    ),
    p("hash-max-listpack-entries", Int(0, i64::MAX), "512", Yes),
    p("hash-max-listpack-value", Mem(0, I64), "64", Yes),
    p("hash-max-ziplist-entries", Int(0, i64::MAX), "512", Yes),
    p("hash-max-ziplist-value", Mem(0, I64), "64", Yes),
    p("hll-sparse-max-bytes", Mem(0, I64), "3000", Yes),
    // Redis accepts 0..INT_MAX and clamps what it uses to 1..500.
    p("hz", Hz, "10", Yes),
    p("ignore-warnings", Str, "", Yes),
    // kvserver's I/O threads run commands too (one ring pair each); the
    // default is one per CPU but one (see `default_io_threads`).
    p("io-threads", Int(1, 256), "", Immutable),
    p("io-threads-do-reads", Bool, "no", Immutable),
    p("jemalloc-bg-thread", Bool, "yes", Yes),
    p("latency-monitor-threshold", Int(0, i64::MAX), "0", Yes),
    p("latency-tracking", Bool, "yes", Yes),
    p(
        "latency-tracking-info-percentiles",
        Percentiles,
        "50 99 99.9",
        Yes,
    ),
    p("lazyfree-lazy-eviction", Bool, "no", Yes),
    p("lazyfree-lazy-expire", Bool, "no", Yes),
    p("lazyfree-lazy-server-del", Bool, "no", Yes),
    p("lazyfree-lazy-user-del", Bool, "no", Yes),
    p("lazyfree-lazy-user-flush", Bool, "no", Yes),
    p("lfu-decay-time", Int(0, I32), "1", Yes),
    p("lfu-log-factor", Int(0, I32), "10", Yes),
    p("list-compress-depth", Int(0, I32), "0", Yes),
    p(
        "list-max-listpack-size",
        Int(i32::MIN as i64, I32),
        "-2",
        Yes,
    ),
    p(
        "list-max-ziplist-size",
        Int(i32::MIN as i64, I32),
        "-2",
        Yes,
    ),
    p("logfile", Str, "", Immutable),
    p(
        "loglevel",
        Enum(&["debug", "verbose", "notice", "warning"]),
        "notice",
        Yes,
    ),
    // kvserver's own: the most memory one thread's Lua state may hold
    // (exec/script/sandbox.rs); Redis bounds scripts only by maxmemory.
    p("lua-memory-limit", Mem(1 << 20, I64), "1073741824", Yes),
    p("lua-time-limit", Int(0, i64::MAX), "5000", Yes),
    p("masterauth", Str, "", Yes),
    p("masteruser", Str, "", Yes),
    p("maxclients", Int(1, U32), "10000", Yes),
    p("maxmemory", Mem(0, u64::MAX), "0", Yes),
    p("maxmemory-clients", MemOrPercent, "0", Yes),
    p("maxmemory-eviction-tenacity", Int(0, 100), "10", Yes),
    p("maxmemory-policy", Enum(EVICTION), "noeviction", Yes),
    p("maxmemory-samples", Int(1, I32), "5", Yes),
    p("min-replicas-max-lag", Int(0, I32), "10", Yes),
    p("min-replicas-to-write", Int(0, I32), "0", Yes),
    p("min-slaves-max-lag", Int(0, I32), "10", Yes),
    p("min-slaves-to-write", Int(0, I32), "0", Yes),
    p("no-appendfsync-on-rewrite", Bool, "no", Yes),
    p("notify-keyspace-events", Notify, "", Yes),
    p(
        "oom-score-adj",
        Enum(&["no", "yes", "relative", "absolute"]),
        "no",
        Yes,
    ),
    p("oom-score-adj-values", OomValues, "0 200 800", Yes),
    p("pidfile", Str, "", Immutable),
    // Immutable here: Redis re-listens at run time; ours listen once per
    // I/O thread.
    p("port", Int(0, 65535), "6379", Immutable),
    p(
        "proc-title-template",
        ProcTitle,
        "{title} {listen-addr} {server-mode}",
        Yes,
    ),
    p(
        "propagation-error-behavior",
        Enum(&["ignore", "panic", "panic-on-replicas"]),
        "ignore",
        Yes,
    ),
    p("protected-mode", Bool, "yes", Yes),
    p("proto-max-bulk-len", Mem(1 << 20, I64), "536870912", Yes),
    p("rdb-del-sync-files", Bool, "no", Yes),
    p("rdb-save-incremental-fsync", Bool, "yes", Yes),
    p("rdbchecksum", Bool, "yes", Immutable),
    p("rdbcompression", Bool, "yes", Yes),
    p("repl-backlog-size", Mem(1, I64), "1048576", Yes),
    p("repl-backlog-ttl", Int(0, i64::MAX), "3600", Yes),
    p("repl-disable-tcp-nodelay", Bool, "no", Yes),
    p(
        "repl-diskless-load",
        Enum(&["disabled", "on-empty-db", "swapdb"]),
        "disabled",
        Yes,
    ),
    p("repl-diskless-sync", Bool, "yes", Yes),
    p("repl-diskless-sync-delay", Int(0, I32), "5", Yes),
    p("repl-diskless-sync-max-replicas", Int(0, I32), "0", Yes),
    p("repl-ping-replica-period", Int(1, I32), "10", Yes),
    p("repl-ping-slave-period", Int(1, I32), "10", Yes),
    p("repl-timeout", Int(1, I32), "60", Yes),
    p("replica-announce-ip", Str, "", Yes),
    p("replica-announce-port", Int(0, 65535), "0", Yes),
    p("replica-announced", Bool, "yes", Yes),
    p("replica-ignore-disk-write-errors", Bool, "no", Yes),
    p("replica-ignore-maxmemory", Bool, "yes", Yes),
    p("replica-lazy-flush", Bool, "no", Yes),
    p("replica-priority", Int(0, I32), "100", Yes),
    p("replica-read-only", Bool, "yes", Yes),
    p("replica-serve-stale-data", Bool, "yes", Yes),
    p("replicaof", ReplicaOf, "", Immutable),
    p("requirepass", Password, "", Yes),
    p(
        "sanitize-dump-payload",
        Enum(&["no", "yes", "clients"]),
        "no",
        Yes,
    ),
    // "": kvserver saves nothing by default (Redis 7.0: 3600 1 300 100 60 10000).
    p("save", Save, "", Yes),
    // Redis's name, with its underscore. Redis pins its threads to the
    // whole list; kvserver pins I/O thread i to the i-th CPU of it, so each
    // thread (and the shards it owns) has a core of its own.
    p("server_cpulist", CpuList, "", Immutable),
    p("set-max-intset-entries", Int(0, i64::MAX), "512", Yes),
    p("set-proc-title", Bool, "yes", Immutable),
    // kvserver's own: where a command runs (dispatch.rs). `owner`: on the
    // I/O thread owning its keys' shards; `local`: on its connection's.
    p(
        "shard-dispatch",
        Enum(&["owner", "local"]),
        "owner",
        Immutable,
    ),
    p(
        "shutdown-on-sigint",
        Enum(&["default", "save", "nosave", "now", "force"]),
        "default",
        Yes,
    ),
    p(
        "shutdown-on-sigterm",
        Enum(&["default", "save", "nosave", "now", "force"]),
        "default",
        Yes,
    ),
    p("shutdown-timeout", Int(0, I32), "10", Yes),
    p("slave-announce-ip", Str, "", Yes),
    p("slave-announce-port", Int(0, 65535), "0", Yes),
    p("slave-ignore-maxmemory", Bool, "yes", Yes),
    p("slave-lazy-flush", Bool, "no", Yes),
    p("slave-priority", Int(0, I32), "100", Yes),
    p("slave-read-only", Bool, "yes", Yes),
    p("slave-serve-stale-data", Bool, "yes", Yes),
    p("slaveof", ReplicaOf, "", Immutable),
    p("slowlog-log-slower-than", Int(-1, i64::MAX), "10000", Yes),
    p("slowlog-max-len", Int(0, i64::MAX), "128", Yes),
    p("socket-mark-id", Int(0, U32), "0", Immutable),
    p("stop-writes-on-bgsave-error", Bool, "yes", Yes),
    p("stream-node-max-bytes", Mem(0, I64), "4096", Yes),
    p("stream-node-max-entries", Int(0, i64::MAX), "100", Yes),
    p(
        "supervised",
        Enum(&["upstart", "systemd", "auto", "no"]),
        "no",
        Immutable,
    ),
    p("syslog-enabled", Bool, "no", Immutable),
    p(
        "syslog-facility",
        Enum(&[
            "user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
        ]),
        "local0",
        Immutable,
    ),
    p("syslog-ident", Str, "redis", Immutable),
    p("tcp-backlog", Int(0, I32), "511", Immutable),
    p("tcp-keepalive", Int(0, I32), "300", Yes),
    p("timeout", Int(0, I32), "0", Yes),
    p(
        "tls-auth-clients",
        Enum(&["no", "yes", "optional"]),
        "yes",
        Yes,
    ),
    p("tls-ca-cert-dir", Str, "", Yes),
    p("tls-ca-cert-file", Str, "", Yes),
    p("tls-cert-file", Str, "", Yes),
    p("tls-ciphers", Str, "", Yes),
    p("tls-ciphersuites", Str, "", Yes),
    p("tls-client-cert-file", Str, "", Yes),
    p("tls-client-key-file", Str, "", Yes),
    p("tls-client-key-file-pass", Str, "", Yes),
    p("tls-cluster", Bool, "no", Yes),
    p("tls-dh-params-file", Str, "", Yes),
    p("tls-key-file", Str, "", Yes),
    p("tls-key-file-pass", Str, "", Yes),
    p("tls-port", Int(0, 65535), "0", Yes),
    p("tls-prefer-server-ciphers", Bool, "no", Yes),
    p("tls-protocols", Str, "", Yes),
    p("tls-replication", Bool, "no", Yes),
    p("tls-session-cache-size", Int(0, I32), "20480", Yes),
    p("tls-session-cache-timeout", Int(0, I32), "300", Yes),
    p("tls-session-caching", Bool, "yes", Yes),
    p("tracking-table-max-keys", Int(0, i64::MAX), "1000000", Yes),
    p("unixsocket", Str, "", Immutable),
    p("unixsocketperm", Octal, "0", Immutable),
    p("zset-max-listpack-entries", Int(0, i64::MAX), "128", Yes),
    p("zset-max-listpack-value", Mem(0, I64), "64", Yes),
    p("zset-max-ziplist-entries", Int(0, i64::MAX), "128", Yes),
    p("zset-max-ziplist-value", Mem(0, I64), "64", Yes),
];

/// Redis 7.0's aliases (old name, new name): both names are parameters of
/// their own in CONFIG GET, and setting either sets both.
pub(super) const ALIASES: &[(&str, &str)] = &[
    ("lua-time-limit", "busy-reply-threshold"),
    ("slaveof", "replicaof"),
    ("slave-serve-stale-data", "replica-serve-stale-data"),
    ("slave-read-only", "replica-read-only"),
    ("slave-ignore-maxmemory", "replica-ignore-maxmemory"),
    ("slave-lazy-flush", "replica-lazy-flush"),
    ("slave-priority", "replica-priority"),
    ("slave-announce-ip", "replica-announce-ip"),
    ("slave-announce-port", "replica-announce-port"),
    ("repl-ping-slave-period", "repl-ping-replica-period"),
    ("min-slaves-to-write", "min-replicas-to-write"),
    ("min-slaves-max-lag", "min-replicas-max-lag"),
    (
        "cluster-slave-validity-factor",
        "cluster-replica-validity-factor",
    ),
    ("cluster-slave-no-failover", "cluster-replica-no-failover"),
    ("hash-max-ziplist-entries", "hash-max-listpack-entries"),
    ("hash-max-ziplist-value", "hash-max-listpack-value"),
    ("zset-max-ziplist-entries", "zset-max-listpack-entries"),
    ("zset-max-ziplist-value", "zset-max-listpack-value"),
    ("list-max-ziplist-size", "list-max-listpack-size"),
];

/// The other name of an aliased parameter.
pub(super) fn alias(name: &str) -> Option<&'static str> {
    ALIASES.iter().find_map(|(old, new)| {
        if *old == name {
            Some(*new)
        } else if *new == name {
            Some(*old)
        } else {
            None
        }
    })
}

/// Whether `name` is an alias's old name (CONFIG REWRITE writes the new).
pub(super) fn is_old_name(name: &str) -> bool {
    ALIASES.iter().any(|(old, _)| *old == name)
}

/// Parameters accepted, checked, stored, shown and rewritten, that change
/// nothing here (as aliases: by their new names). kvserver/README.md lists
/// them; a test keeps the two in step. Replication, cluster, TLS, modules,
/// defragmentation, the process's OOM score and title, syslog, latency
/// tracking, lazy freeing (freeing is always done in place here) and
/// Redis's internal encodings of lists and streams.
pub const INERT: &[&str] = &[
    "acl-pubsub-default",
    "aclfile",
    "acllog-max-len",
    "active-defrag-cycle-max",
    "active-defrag-cycle-min",
    "active-defrag-ignore-bytes",
    "active-defrag-max-scan-fields",
    "active-defrag-threshold-lower",
    "active-defrag-threshold-upper",
    "activedefrag",
    "activerehashing",
    "always-show-logo",
    "aof-disable-auto-gc",
    "aof-rewrite-incremental-fsync",
    "aof-timestamp-enabled",
    "aof_rewrite_cpulist",
    "auto-aof-rewrite-min-size",
    "auto-aof-rewrite-percentage",
    "bgsave_cpulist",
    "bind-source-addr",
    "bio_cpulist",
    "cluster-*",
    "crash-log-enabled",
    "crash-memcheck-enabled",
    "disable-thp",
    "dynamic-hz",
    "enable-module-command",
    "enable-protected-configs",
    "hll-sparse-max-bytes",
    "ignore-warnings",
    "io-threads-do-reads",
    "jemalloc-bg-thread",
    "latency-monitor-threshold",
    "latency-tracking",
    "latency-tracking-info-percentiles",
    "lazyfree-lazy-eviction",
    "lazyfree-lazy-expire",
    "lazyfree-lazy-server-del",
    "lazyfree-lazy-user-del",
    "list-compress-depth",
    "list-max-listpack-size",
    "logfile",
    "loglevel",
    "masterauth",
    "masteruser",
    "maxmemory-clients",
    "maxmemory-eviction-tenacity",
    "min-replicas-max-lag",
    "min-replicas-to-write",
    "no-appendfsync-on-rewrite",
    "oom-score-adj",
    "oom-score-adj-values",
    "pidfile",
    "proc-title-template",
    "propagation-error-behavior",
    "rdb-del-sync-files",
    "rdb-save-incremental-fsync",
    "rdbchecksum",
    "rdbcompression",
    "repl-*",
    "replica-*",
    "replicaof",
    "sanitize-dump-payload",
    "set-proc-title",
    "shutdown-on-sigint",
    "shutdown-on-sigterm",
    "shutdown-timeout",
    "socket-mark-id",
    "stream-node-max-bytes",
    "stream-node-max-entries",
    "supervised",
    "syslog-*",
    "tcp-backlog",
    "tcp-keepalive",
    "tls-*",
    "unixsocketperm",
];

/// Whether `name` is one of [`INERT`] (or an alias of one).
pub fn is_inert(name: &str) -> bool {
    let inert = |n: &str| {
        INERT
            .iter()
            .any(|i| crate::util::glob_match(i.as_bytes(), n.as_bytes(), true))
    };
    inert(name) || alias(name).is_some_and(inert)
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

/// Parameters whose values are secrets (Redis 7.0's SENSITIVE_CONFIG):
/// CONFIG SET shows them as `(redacted)` in the slow log.
pub fn is_sensitive(name: &[u8]) -> bool {
    [
        &b"requirepass"[..],
        b"masterauth",
        b"masteruser",
        b"tls-key-file-pass",
        b"tls-client-key-file-pass",
    ]
    .iter()
    .any(|s| name.eq_ignore_ascii_case(s))
}
