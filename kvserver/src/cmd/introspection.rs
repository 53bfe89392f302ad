//! Introspection commands (Redis's server.c / slowlog.c / object.c /
//! latency.c handlers): INFO, TIME, COMMAND's subcommands, SLOWLOG,
//! MEMORY, LATENCY.

use crate::exec::context::Ctx;
use crate::exec::docs;
use crate::exec::meta::{self, Meta};
use crate::exec::stats::Counter;
use crate::exec::table::{arity_error, Command, COMMANDS};
use crate::proto::reply::err;
use crate::server::{Server, REDIS_VERSION};
use crate::types::memory;
use crate::util::{glob_match, parse_i64};
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};

/// Redis's bytesToHuman.
fn human(n: u64) -> String {
    let d = n as f64;
    const K: f64 = 1024.0;
    if d < K {
        format!("{n}B")
    } else if d < K * K {
        format!("{:.2}K", d / K)
    } else if d < K * K * K {
        format!("{:.2}M", d / (K * K))
    } else if d < K * K * K * K {
        format!("{:.2}G", d / (K * K * K))
    } else {
        format!("{:.2}T", d / (K * K * K * K))
    }
}

fn total_system_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            let l = s.lines().find(|l| l.starts_with("MemTotal:"))?;
            l.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |kb| kb * 1024)
}

/// The highest `used_memory` seen by INFO/MEMORY (Redis tracks it on
/// every allocation; we sample).
fn peak_memory(srv: &Server, used: u64) -> u64 {
    srv.peak_memory.fetch_max(used, Ordering::Relaxed).max(used)
}

/// INFO's section names in Redis 7.0's order, and whether `INFO` /
/// `INFO default` includes each.
const SECTIONS: &[(&str, bool)] = &[
    ("server", true),
    ("clients", true),
    ("memory", true),
    ("persistence", true),
    ("stats", true),
    ("replication", true),
    ("cpu", true),
    ("modules", true),
    ("commandstats", false),
    ("errorstats", true),
    ("cluster", true),
    ("keyspace", true),
];

/// Writes `key:value\r\n` lines.
macro_rules! fields {
    ($s:expr, $($k:literal => $v:expr),* $(,)?) => {
        $( let _ = write!($s, concat!($k, ":{}\r\n"), $v); )*
    };
}

/// INFO [section ...]: Redis 7.0's sections and field names (tools parse
/// them); fields we do not measure are 0 (see the README).
pub fn info(ctx: &mut Ctx, argv: &[&[u8]]) {
    let args: Vec<Vec<u8>> = argv[1..].iter().map(|a| a.to_ascii_lowercase()).collect();
    let has = |s: &str| args.iter().any(|a| a == s.as_bytes());
    let all = has("all") || has("everything");
    let default = args.is_empty() || has("default");
    let wants = |name: &str, dflt: bool| all || (default && dflt) || has(name);
    let srv = ctx.server;
    let mut out: Vec<String> = Vec::new();
    for &(name, dflt) in SECTIONS {
        if !wants(name, dflt) {
            continue;
        }
        let mut s = String::new();
        match name {
            "server" => {
                let up = srv.started.elapsed().as_secs();
                let exe = std::env::current_exe()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                let conf = srv
                    .cfg
                    .config_file
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                let release =
                    std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
                let hz = srv.config.hz.load(Ordering::Relaxed);
                s.push_str("# Server\r\n");
                fields!(s,
                    "redis_version" => REDIS_VERSION,
                    "redis_git_sha1" => "00000000",
                    "redis_git_dirty" => 0,
                    "redis_build_id" => "0",
                    "redis_mode" => "standalone",
                    "os" => format!("Linux {} {}", release.trim(), std::env::consts::ARCH),
                    "arch_bits" => 64,
                    "monotonic_clock" => "POSIX clock_gettime",
                    "multiplexing_api" => "fastio",
                    "atomicvar_api" => "c11-builtin",
                    "gcc_version" => "0.0.0",
                    "process_id" => std::process::id(),
                    "process_supervised" => "no",
                    "run_id" => srv.run_id,
                    "tcp_port" => srv.cfg.port,
                    "server_time_usec" => crate::util::now_us(),
                    "uptime_in_seconds" => up,
                    "uptime_in_days" => up / 86400,
                    "hz" => hz,
                    "configured_hz" => hz,
                    "lru_clock" => (ctx.now / 1000) & ((1 << 24) - 1),
                    "executable" => exe,
                    "config_file" => conf,
                    "io_threads_active" => 1,
                    "io_threads" => srv.cfg.io_threads,
                    "fastio_backend" => srv.backend.replace(['\r', '\n'], " "),
                    "keyspace_shards" => srv.ks.shard_count(),
                );
            }
            "clients" => {
                s.push_str("# Clients\r\n");
                fields!(s,
                    "connected_clients" => srv.connected_clients.load(Ordering::Relaxed),
                    "cluster_connections" => 0,
                    "maxclients" => srv.config.get("maxclients"),
                    "client_recent_max_input_buffer" => 0,
                    "client_recent_max_output_buffer" => 0,
                    "blocked_clients" => srv.blocking.count(),
                    "tracking_clients" => srv.tracking.info()[0],
                    "clients_in_timeout_table" => 0,
                );
            }
            "memory" => {
                let used = crate::exec::evict::used_memory_now();
                let rss = crate::util::rss_bytes();
                let peak = peak_memory(srv, used);
                let maxmem = srv.config.maxmemory.load(Ordering::Relaxed);
                let total = total_system_memory();
                let a = crate::alloc::stats();
                let ratio = |x: u64, y: u64| format!("{:.2}", x as f64 / y.max(1) as f64);
                s.push_str("# Memory\r\n");
                fields!(s,
                    "used_memory" => used,
                    "used_memory_human" => human(used),
                    "used_memory_rss" => rss,
                    "used_memory_rss_human" => human(rss),
                    "used_memory_peak" => peak,
                    "used_memory_peak_human" => human(peak),
                    "used_memory_peak_perc" => format!("{:.2}%", used as f64 * 100.0 / peak.max(1) as f64),
                    "used_memory_startup" => srv.startup_rss,
                    "used_memory_dataset" => used.saturating_sub(srv.startup_rss),
                    "allocator_allocated" => a.allocated,
                    "allocator_active" => a.active,
                    "allocator_resident" => a.resident,
                    "total_system_memory" => total,
                    "total_system_memory_human" => human(total),
                );
                // Scripting: Lua states and cached scripts (no Functions
                // yet).
                let lua = crate::exec::script::run::vm_memory();
                let scripts = srv.scripts.memory();
                let (libraries, functions) = srv.functions.counts();
                fields!(s,
                    "used_memory_lua" => lua,
                    "used_memory_vm_eval" => lua,
                    "used_memory_lua_human" => human(lua),
                    "used_memory_scripts_eval" => scripts,
                    "number_of_cached_scripts" => srv.scripts.count(),
                    "number_of_functions" => functions,
                    "number_of_libraries" => libraries,
                    "used_memory_vm_functions" => 0,
                    "used_memory_vm_total" => lua,
                    "used_memory_vm_total_human" => human(lua),
                    "used_memory_functions" => 0,
                    "used_memory_scripts" => scripts,
                    "used_memory_scripts_human" => human(scripts),
                );
                fields!(s,
                    "maxmemory" => maxmem,
                    "maxmemory_human" => human(maxmem),
                    "maxmemory_policy" => srv.config.get("maxmemory-policy"),
                    "allocator_frag_ratio" => ratio(a.active, a.allocated),
                    "allocator_frag_bytes" => a.active.saturating_sub(a.allocated),
                    "allocator_rss_ratio" => ratio(a.resident, a.active),
                    "allocator_rss_bytes" => a.resident.saturating_sub(a.active),
                    "mem_fragmentation_ratio" => ratio(rss, used),
                    "mem_fragmentation_bytes" => rss as i64 - used as i64,
                    "mem_allocator" => crate::alloc::NAME,
                    "lazyfree_pending_objects" => 0,
                    "lazyfreed_objects" => srv.lazyfreed_objects.load(Ordering::Relaxed),
                );
            }
            "persistence" => {
                // What runs, not what CONFIG SET stored (that applies at
                // the next start).
                let aof = u8::from(ctx.server.aof().is_some());
                let rewriting = ctx
                    .server
                    .aof()
                    .map_or(0, |a| u8::from(a.rewrite_in_progress()));
                s.push_str("# Persistence\r\n");
                fields!(s,
                    "loading" => 0,
                    "async_loading" => 0,
                    "current_cow_peak" => 0,
                    "current_cow_size" => 0,
                    "current_cow_size_age" => 0,
                    "current_fork_perc" => "0.00",
                    "current_save_keys_processed" => 0,
                    "current_save_keys_total" => 0,
                );
                for (k, v) in srv.rdb.info_fields(srv.dirty()) {
                    let _ = write!(s, "{k}:{v}\r\n");
                }
                fields!(s,
                    "aof_enabled" => aof,
                    "aof_rewrite_in_progress" => rewriting,
                    "aof_rewrite_scheduled" => 0,
                );
                match ctx.server.aof() {
                    Some(a) => {
                        for (k, v) in a.info_fields() {
                            let _ = write!(s, "{k}:{v}\r\n");
                        }
                    }
                    None => {
                        fields!(s,
                            "aof_last_rewrite_time_sec" => -1,
                            "aof_current_rewrite_time_sec" => -1,
                            "aof_last_bgrewrite_status" => "ok",
                            "aof_rewrites" => 0,
                            "aof_rewrites_consecutive_failures" => 0,
                            "aof_last_write_status" => "ok",
                        );
                    }
                }
                fields!(s,
                    "aof_last_cow_size" => 0,
                    "module_fork_in_progress" => 0,
                    "module_fork_last_cow_size" => 0,
                );
                // With the AOF on: what is appended and not yet written
                // (Redis's aof_buf length).
                if let Some(a) = ctx.server.aof() {
                    fields!(s, "aof_buffer_length" => a.backlog());
                }
            }
            "stats" => {
                let st = &srv.stats;
                let (kbps_in, kbps_out) = st.net_kbps();
                let (hits, misses) = ctx.ks.lookup_counts();
                s.push_str("# Stats\r\n");
                fields!(s,
                    "total_connections_received" => srv.total_connections.load(Ordering::Relaxed),
                    "total_commands_processed" => srv.stats.total_calls(),
                    "instantaneous_ops_per_sec" => srv.stats.ops_per_sec(),
                    "total_net_input_bytes" => st.counter(Counter::NetInput),
                    "total_net_output_bytes" => st.counter(Counter::NetOutput),
                    "total_net_repl_input_bytes" => 0,
                    "total_net_repl_output_bytes" => 0,
                    "instantaneous_input_kbps" => format!("{kbps_in:.2}"),
                    "instantaneous_output_kbps" => format!("{kbps_out:.2}"),
                    "instantaneous_input_repl_kbps" => "0.00",
                    "instantaneous_output_repl_kbps" => "0.00",
                    "rejected_connections" => srv.rejected_connections.load(Ordering::Relaxed),
                    "sync_full" => 0,
                    "sync_partial_ok" => 0,
                    "sync_partial_err" => 0,
                    "expired_keys" => st.counter(Counter::ExpiredKeys),
                    "expired_stale_perc" => "0.00",
                    "expired_time_cap_reached_count" => 0,
                    "evicted_keys" => srv.evicted_keys.load(Ordering::Relaxed),
                    "evicted_clients" => 0,
                    "keyspace_hits" => hits,
                    "keyspace_misses" => misses,
                    "pubsub_channels" => srv.pubsub.channel_count(),
                    "pubsub_patterns" => srv.pubsub.pattern_count(),
                    "pubsubshard_channels" => srv.pubsub.shard_channel_count(),
                    "latest_fork_usec" => 0,
                    "total_forks" => 0,
                    "migrate_cached_sockets" => 0,
                    "tracking_total_keys" => srv.tracking.info()[1],
                    "tracking_total_items" => srv.tracking.info()[2],
                    "tracking_total_prefixes" => srv.tracking.info()[3],
                    "unexpected_error_replies" => 0,
                    "total_error_replies" => srv.stats.total_errors.load(Ordering::Relaxed),
                    "dump_payload_sanitizations" => 0,
                    "total_reads_processed" => st.counter(Counter::Reads),
                    "total_writes_processed" => st.counter(Counter::Writes),
                    "io_threaded_reads_processed" => 0,
                    "io_threaded_writes_processed" => 0,
                    // kvserver's own (dispatch.rs): commands their shards'
                    // owner ran for another I/O thread's connection.
                    "forwarded_commands" => srv.forwarded_commands.load(Ordering::Relaxed),
                );
            }
            "replication" => {
                s.push_str("# Replication\r\n");
                fields!(s,
                    "role" => "master",
                    "connected_slaves" => 0,
                    "master_failover_state" => "no-failover",
                    "master_replid" => srv.master_replid,
                    "master_replid2" => "0000000000000000000000000000000000000000",
                    "master_repl_offset" => 0,
                    "second_repl_offset" => -1,
                    "repl_backlog_active" => 0,
                    "repl_backlog_size" => 1048576,
                    "repl_backlog_first_byte_offset" => 0,
                    "repl_backlog_histlen" => 0,
                );
            }
            "cpu" => {
                let (sys, user, csys, cuser) = fastio::server::net::cpu_times();
                s.push_str("# CPU\r\n");
                fields!(s,
                    "used_cpu_sys" => format!("{sys:.6}"),
                    "used_cpu_user" => format!("{user:.6}"),
                    "used_cpu_sys_children" => format!("{csys:.6}"),
                    "used_cpu_user_children" => format!("{cuser:.6}"),
                );
            }
            "modules" => s.push_str("# Modules\r\n"),
            "commandstats" => {
                s.push_str("# Commandstats\r\n");
                for c in COMMANDS {
                    let st = srv.stats.cmd(c.index());
                    let calls = st.calls.load(Ordering::Relaxed);
                    let rejected = st.rejected.load(Ordering::Relaxed);
                    if calls == 0 && rejected == 0 {
                        continue;
                    }
                    let usec = st.usec.load(Ordering::Relaxed);
                    let per = if calls == 0 {
                        0.0
                    } else {
                        usec as f64 / calls as f64
                    };
                    let _ = write!(
                        s,
                        "cmdstat_{}:calls={calls},usec={usec},usec_per_call={per:.2},\
                         rejected_calls={rejected},failed_calls={}\r\n",
                        c.name,
                        st.failed.load(Ordering::Relaxed)
                    );
                }
            }
            "errorstats" => {
                s.push_str("# Errorstats\r\n");
                for (code, n) in srv.stats.error_counts() {
                    let _ = write!(s, "errorstat_{code}:count={n}\r\n");
                }
            }
            "cluster" => s.push_str("# Cluster\r\ncluster_enabled:0\r\n"),
            _ => {
                s.push_str("# Keyspace\r\n");
                for db in 0..srv.ks.databases {
                    let (mut keys, mut expires) = (0, 0);
                    for d in ctx.ks.dbs(db) {
                        keys += d.len();
                        expires += d.expires_len();
                    }
                    if keys > 0 {
                        let _ = write!(s, "db{db}:keys={keys},expires={expires},avg_ttl=0\r\n");
                    }
                }
            }
        }
        out.push(s);
    }
    ctx.out.verbatim(&out.join("\r\n"));
}

/// TIME: [unix seconds, microseconds] as bulk strings.
pub fn time(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    ctx.out.array(2);
    ctx.out.bulk_i64(d.as_secs() as i64);
    ctx.out.bulk_i64(d.subsec_micros() as i64);
}

// ---------------------------------------------------------------------------
// COMMAND: the table as Redis 7.0 describes it (exec/meta.rs, exec/docs.rs).
// ---------------------------------------------------------------------------

/// One command's COMMAND INFO entry (under its own name, whatever
/// `rename-command` made clients call it), its subcommands inside.
fn command_entry(ctx: &mut Ctx, c: &'static Command) {
    let subs: Vec<&Meta> = ctx
        .server
        .commands
        .subcommands(c)
        .into_iter()
        .map(|s| s.meta)
        .collect();
    meta::emit_info(ctx.out, c.meta, c.name, &subs);
}

/// Every top-level command's COMMAND INFO entry.
fn all_entries(ctx: &mut Ctx) {
    let mut cmds: Vec<&'static Command> = ctx.server.commands.commands().map(|(_, c)| c).collect();
    cmds.sort_by_key(|c| c.name);
    ctx.out.array(cmds.len());
    for c in cmds {
        command_entry(ctx, c);
    }
}

/// COMMAND: every command's entry.
pub fn command(ctx: &mut Ctx, _argv: &[&[u8]]) {
    all_entries(ctx);
}

/// COMMAND COUNT: the top-level commands.
pub fn command_count(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let n = ctx.server.commands.commands().count();
    ctx.out.int(n as i64);
}

/// Every command and subcommand clients can call, by their own (full)
/// names, in the table's order.
fn all_names(ctx: &Ctx) -> Vec<(&'static str, &'static Command)> {
    let t = &ctx.server.commands;
    let callable: Vec<&'static str> = t.commands().map(|(_, c)| c.name).collect();
    COMMANDS
        .iter()
        .filter(|c| {
            let top = c.name.split('|').next().unwrap_or(c.name);
            callable.contains(&top)
        })
        .map(|c| (c.name, c))
        .collect()
}

/// COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN glob]:
/// commands and subcommands.
pub fn command_list(ctx: &mut Ctx, argv: &[&[u8]]) {
    let all = all_names(ctx);
    let names: Vec<&str> = match argv.len() {
        2 => all.iter().map(|(n, _)| *n).collect(),
        5 if argv[2].eq_ignore_ascii_case(b"filterby") => {
            let (f, v) = (argv[3].to_ascii_lowercase(), argv[4]);
            match f.as_slice() {
                b"module" => Vec::new(),
                b"pattern" => all
                    .iter()
                    .filter(|(n, _)| glob_match(v, n.as_bytes(), true))
                    .map(|(n, _)| *n)
                    .collect(),
                b"aclcat" => {
                    let mut cat = b"@".to_vec();
                    cat.extend_from_slice(v);
                    let bit = meta::acl::NAMES
                        .iter()
                        .position(|n| n.as_bytes().eq_ignore_ascii_case(&cat));
                    match bit {
                        Some(b) => all
                            .iter()
                            .filter(|(_, c)| c.meta.acl & (1 << b) != 0)
                            .map(|(n, _)| *n)
                            .collect(),
                        None => Vec::new(),
                    }
                }
                _ => return ctx.out.error(err::SYNTAX),
            }
        }
        _ => return ctx.out.error(err::SYNTAX),
    };
    ctx.out.array(names.len());
    for n in names {
        ctx.out.bulk(n.as_bytes());
    }
}

/// COMMAND INFO [name ...]: entries (nil for a name we do not have); a
/// subcommand by its full name (`config|get`).
pub fn command_info(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() == 2 {
        return all_entries(ctx);
    }
    ctx.out.array(argv.len() - 2);
    for name in &argv[2..] {
        match ctx.server.commands.by_full_name(name) {
            Some(c) => command_entry(ctx, c),
            None => ctx.out.null_array(),
        }
    }
}

/// COMMAND DOCS [name ...]: a map of name to docs, for the names we have.
pub fn command_docs(ctx: &mut Ctx, argv: &[&[u8]]) {
    let cmds: Vec<&'static Command> = if argv.len() == 2 {
        all_names(ctx)
            .into_iter()
            .map(|(_, c)| c)
            .filter(|c| c.container().is_empty())
            .collect()
    } else {
        argv[2..]
            .iter()
            .filter_map(|n| ctx.server.commands.by_full_name(n))
            .collect()
    };
    ctx.out.map(cmds.len());
    for c in cmds {
        ctx.out.bulk(c.name.as_bytes());
        let subs = ctx.server.commands.subcommands(c);
        let has = |name: &str| subs.iter().any(|s| s.name == name);
        docs::emit(ctx.out, c.name, &has);
    }
}

/// The command named by `args` (a subcommand too) for GETKEYS, with its
/// keys by Redis's key specs and their flags; the error replied if not.
fn command_keys(ctx: &mut Ctx, args: &[&[u8]]) -> Option<Vec<(usize, u64)>> {
    let Some(c) = ctx.server.commands.find(args) else {
        ctx.out.error("ERR Invalid command specified");
        return None;
    };
    if c.meta.key_specs.is_empty() {
        ctx.out.error("ERR The command has no key arguments");
        return None;
    }
    if !c.arity_ok(args.len()) {
        ctx.out
            .error("ERR Invalid number of arguments specified for command");
        return None;
    }
    match meta::keys_by_specs(c.meta, args) {
        Some(k) if !k.is_empty() => Some(k),
        Some(_) => {
            ctx.out.error("ERR The command has no key arguments");
            None
        }
        None => {
            ctx.out.error("ERR Invalid arguments specified for command");
            None
        }
    }
}

/// COMMAND GETKEYS command [arg ...]: its keys.
pub fn command_getkeys(ctx: &mut Ctx, argv: &[&[u8]]) {
    let args = &argv[2..];
    let Some(keys) = command_keys(ctx, args) else {
        return;
    };
    ctx.out.array(keys.len());
    for (i, _) in keys {
        ctx.out.bulk(args[i]);
    }
}

/// COMMAND GETKEYSANDFLAGS command [arg ...]: each key with its key
/// spec's flags.
pub fn command_getkeysandflags(ctx: &mut Ctx, argv: &[&[u8]]) {
    let args = &argv[2..];
    let Some(keys) = command_keys(ctx, args) else {
        return;
    };
    ctx.out.array(keys.len());
    for (i, flags) in keys {
        ctx.out.array(2);
        ctx.out.bulk(args[i]);
        ctx.out.array(flags.count_ones() as usize);
        for (b, n) in meta::ks::NAMES.iter().enumerate() {
            if flags & (1 << b) != 0 {
                ctx.out.simple(n);
            }
        }
    }
}

/// COMMAND HELP
pub fn command_help(ctx: &mut Ctx, _argv: &[&[u8]]) {
    super::help(
        ctx,
        "COMMAND",
        &[
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
            "GETKEYSANDFLAGS <full-command>",
            "    Return the keys and the access flags from a full Redis command.",
        ],
    );
}

// ---------------------------------------------------------------------------
// SLOWLOG
// ---------------------------------------------------------------------------

/// `SLOWLOG GET [count]`: the newest entries (10; -1: all).
pub fn slowlog_get(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() > 3 {
        return arity_error(ctx.out, "slowlog|get");
    }
    let count = match argv.get(2) {
        None => 10,
        Some(a) => match parse_i64(a) {
            Some(-1) => usize::MAX,
            Some(n) if n >= 0 => n as usize,
            Some(_) => {
                return ctx
                    .out
                    .error("ERR count should be greater than or equal to -1")
            }
            None => return ctx.out.error(err::NOT_INTEGER),
        },
    };
    let entries = ctx.server.stats.slowlog_get(count);
    ctx.out.array(entries.len());
    for e in entries {
        ctx.out.array(6);
        ctx.out.int(e.id as i64);
        ctx.out.int(e.time as i64);
        ctx.out.int(e.usec as i64);
        ctx.out.array(e.argv.len());
        for a in &e.argv {
            ctx.out.bulk(a);
        }
        ctx.out.bulk(e.addr.as_bytes());
        ctx.out.bulk(&e.name);
    }
}

/// SLOWLOG LEN
pub fn slowlog_len(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.out.int(ctx.server.stats.slowlog_len() as i64);
}

/// SLOWLOG RESET
pub fn slowlog_reset(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.server.stats.slowlog_reset();
    ctx.out.ok();
}

/// SLOWLOG HELP
pub fn slowlog_help(ctx: &mut Ctx, _argv: &[&[u8]]) {
    super::help(
        ctx,
        "SLOWLOG",
        &[
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
        ],
    );
}

// ---------------------------------------------------------------------------
// MEMORY
// ---------------------------------------------------------------------------

/// MEMORY USAGE key [SAMPLES n]: the key's estimated bytes
/// (`types::memory`), or nil.
pub fn memory_usage(ctx: &mut Ctx, argv: &[&[u8]]) {
    let mut samples = 5;
    let mut j = 3;
    while j < argv.len() {
        if argv[j].eq_ignore_ascii_case(b"samples") && j + 1 < argv.len() {
            match parse_i64(argv[j + 1]) {
                Some(n) if n >= 0 => samples = n as usize,
                Some(_) => return ctx.out.error(err::SYNTAX),
                None => return ctx.out.error(err::NOT_INTEGER),
            }
            j += 2;
        } else {
            return ctx.out.error(err::SYNTAX);
        }
    }
    let now = ctx.now;
    let key = argv[2];
    let db = ctx.db(key);
    let ttl = db.expire_at(key).is_some();
    match db.peek_quiet(key, now) {
        Some(e) => {
            let n = memory::memory_usage(key, &e.value, ttl, samples);
            ctx.out.int(n as i64);
        }
        None => ctx.out.null(),
    }
}

/// MEMORY STATS (the fields kvserver knows).
pub fn memory_stats(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let used = crate::exec::evict::used_memory_now();
    let peak = peak_memory(ctx.server, used);
    let srv = ctx.server;
    ctx.out.map(5);
    ctx.out.bulk(b"peak.allocated");
    ctx.out.int(peak as i64);
    ctx.out.bulk(b"total.allocated");
    ctx.out.int(used as i64);
    ctx.out.bulk(b"startup.allocated");
    ctx.out.int(srv.startup_rss as i64);
    ctx.out.bulk(b"dataset.bytes");
    ctx.out.int(used.saturating_sub(srv.startup_rss) as i64);
    ctx.out.bulk(b"lazyfreed.objects");
    ctx.out
        .int(srv.lazyfreed_objects.load(Ordering::Relaxed) as i64);
}

/// MEMORY DOCTOR
pub fn memory_doctor(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.out.verbatim(
        "Hi Sam, I can't find any memory issue in your instance. \
         I can only account for what occurs on this base.",
    );
}

/// MEMORY MALLOC-STATS
pub fn memory_malloc_stats(ctx: &mut Ctx, _argv: &[&[u8]]) {
    match crate::alloc::report() {
        Some(r) => ctx.out.verbatim(&r),
        None => ctx
            .out
            .verbatim("Stats not supported for the current allocator"),
    }
}

/// MEMORY PURGE
pub fn memory_purge(ctx: &mut Ctx, _argv: &[&[u8]]) {
    crate::alloc::purge();
    ctx.out.ok();
}

/// MEMORY HELP
pub fn memory_help(ctx: &mut Ctx, _argv: &[&[u8]]) {
    super::help(
        ctx,
        "MEMORY",
        &[
            "DOCTOR",
            "    Return memory problems reports.",
            "MALLOC-STATS",
            "    Return internal statistics report from the memory allocator.",
            "PURGE",
            "    Attempt to purge dirty pages for reclamation by the allocator.",
            "STATS",
            "    Return information about the memory usage of the server.",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
        ],
    );
}

// ---------------------------------------------------------------------------
// LATENCY: the latency monitor is not implemented (latency-monitor-threshold
// 0 means "off" in Redis too), so there are never samples.
// ---------------------------------------------------------------------------

/// LATENCY LATEST
pub fn latency_latest(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.out.array(0);
}

/// LATENCY HISTORY event
pub fn latency_history(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.out.array(0);
}

/// LATENCY RESET [event ...]
pub fn latency_reset(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.out.int(0);
}

/// LATENCY HISTOGRAM [command ...]
pub fn latency_histogram(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.out.map(0);
}

/// LATENCY GRAPH event
pub fn latency_graph(ctx: &mut Ctx, argv: &[&[u8]]) {
    let mut m = b"ERR No samples available for event '".to_vec();
    m.extend_from_slice(argv[2]);
    m.push(b'\'');
    ctx.out.error_bytes(&m);
}

/// LATENCY DOCTOR
pub fn latency_doctor(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.out.verbatim(
        "Dave, no latency spike was observed during the lifetime of this Redis instance, \
         not in the slightest bit. I honestly think you ought to sleep better.\n",
    );
}

/// LATENCY HELP
pub fn latency_help(ctx: &mut Ctx, _argv: &[&[u8]]) {
    super::help(
        ctx,
        "LATENCY",
        &[
            "DOCTOR",
            "    Return a human readable latency analysis report.",
            "GRAPH <event>",
            "    Return an ASCII latency graph for the <event> class.",
            "HISTORY <event>",
            "    Return time-latency samples for the <event> class.",
            "LATEST",
            "    Return the latest latency samples for all events.",
            "RESET [<event> ...]",
            "    Reset latency data of one or more <event> classes.",
            "    (default: reset all data for all event classes)",
            "HISTOGRAM [COMMAND ...]",
            "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
            "    If no commands are specified then all histograms are replied.",
        ],
    );
}
