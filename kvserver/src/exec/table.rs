//! The command table: every command kvserver runs, bound to its handler by
//! name. Everything else about a command (arity, flags, key range, key
//! specs, ACL categories) comes from Redis 7.0's own metadata, generated
//! from `data/commands.resp` ([`super::meta`]) and taken at compile time
//! by [`Command::new`], so the table, COMMAND INFO and COMMAND DOCS cannot
//! disagree (a name Redis does not have does not compile).
//!
//! Subcommands are entries of their own, as in Redis 7.0 (`config|get`,
//! `client|list`, `xinfo|stream`): the pipeline looks the container up,
//! then its subcommand ([`CommandTable::lookup`]), so arity errors, stats,
//! CLIENT LIST's `cmd=` and COMMAND INFO are per subcommand. A container
//! runs on its own only where Redis's does (bare `COMMAND`).
//!
//! What is kvserver's own: how a command's shards are locked ([`Locks`]).

use super::context::Ctx;
use super::meta::{self, Meta};
use crate::cmd::{
    admin, bitops, client, connection, dump, hash, introspection, keys, list, lolwut, module,
    object, persistence, pubsub, replication, scripting, set, stream, string, zset,
};
use crate::exec::{monitor, multi};
use crate::proto::reply::Reply;
use hashbrown::HashMap;

pub type Handler = fn(&mut Ctx, &[&[u8]]);

/// Redis's command flags (COMMAND INFO's), as generated.
pub use super::meta::flag as flags;

/// Which shards a command holds while it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locks {
    /// Those of its keys (none for a keyless command), ascending.
    Keys,
    /// Every shard: it works on the whole keyspace (KEYS, DBSIZE,
    /// FLUSHALL, SWAPDB, INFO's keyspace section, SAVE, BGSAVE).
    All,
    /// It locks shards itself (SCAN: one at a time). Inside EXEC it is run
    /// with every shard held and uses those locks.
    Own,
}

pub struct Command {
    /// Lowercase, `container|sub` for a subcommand: as Redis reports it
    /// (errors, COMMAND, commandstats, CLIENT LIST's `cmd=`).
    pub name: &'static str,
    /// Redis's metadata of this command.
    pub meta: &'static Meta,
    /// N: exactly N arguments counting the name(s); -N: at least N.
    pub arity: i32,
    /// Redis's flags ([`flags`]).
    pub flags: u64,
    pub locks: Locks,
    /// None for a container that does not run without a subcommand.
    handler: Option<Handler>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// The key positions of one command line: `Range::step_by` would do, but
/// it divides to size itself, on every command, twice.
pub struct KeyIndices {
    next: usize,
    end: usize,
    step: usize,
}

impl Iterator for KeyIndices {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        (self.next < self.end).then(|| {
            let i = self.next;
            self.next += self.step;
            i
        })
    }
}

impl Command {
    /// The command `name` (`get`, `config|get`) with Redis's metadata,
    /// run by `handler`.
    const fn new(name: &'static str, handler: Handler) -> Command {
        let meta = meta::find(name);
        Command {
            name: meta.name,
            meta,
            arity: meta.arity,
            flags: meta.flags,
            locks: Locks::Keys,
            handler: Some(handler),
        }
    }

    /// A container (CLIENT, CONFIG...): only its subcommands run.
    const fn container_of(name: &'static str) -> Command {
        let meta = meta::find(name);
        Command {
            name: meta.name,
            meta,
            arity: meta.arity,
            flags: meta.flags,
            locks: Locks::Keys,
            handler: None,
        }
    }

    const fn locking(self, locks: Locks) -> Command {
        Command { locks, ..self }
    }

    /// What runs this command (None: a container called without a
    /// subcommand, which the arity check refuses first).
    pub fn handler(&self) -> Option<Handler> {
        self.handler
    }

    /// Whether `argc` arguments (the name counted) pass the arity check.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i64;
        let arity = self.arity as i64;
        if arity > 0 {
            argc == arity
        } else {
            argc >= -arity
        }
    }

    /// The argument indices whose shards the command locks (and whose
    /// owner runs it): its keys, by Redis's key range, or a superset for
    /// commands whose keys move (see [`meta::lock_range`]). `argv` passed
    /// the arity check.
    pub fn key_indices(&self, argv: &[&[u8]]) -> KeyIndices {
        let (first, last, step) = meta::lock_range(self.meta, argv);
        if first == 0 {
            return KeyIndices {
                next: 0,
                end: 0,
                step: 1,
            };
        }
        KeyIndices {
            next: first,
            end: last + 1,
            step,
        }
    }

    /// Whether it has all of `flags`.
    pub fn has(&self, flags: u64) -> bool {
        self.flags & flags == flags
    }

    /// Executed at once inside MULTI instead of queued (Redis's
    /// processCommand: EXEC DISCARD MULTI WATCH QUIT RESET).
    pub fn runs_in_multi(&self) -> bool {
        matches!(
            self.name,
            "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
        )
    }

    /// This command's index in [`COMMANDS`] (every `&Command` handed out
    /// points into it): its stats slot, and what CLIENT LIST's `cmd=`
    /// stores.
    pub fn index(&self) -> usize {
        let base = COMMANDS.as_ptr() as usize;
        let i = (self as *const Command as usize - base) / std::mem::size_of::<Command>();
        debug_assert!(std::ptr::eq(&COMMANDS[i], self));
        i
    }

    /// The container's name for a subcommand, "" for a command.
    pub fn container(&self) -> &'static str {
        self.meta.container
    }
}

/// Every command and subcommand kvserver runs.
pub static COMMANDS: &[Command] = &[
    // Strings (cmd/string.rs).
    Command::new("get", string::get),
    Command::new("set", string::set),
    Command::new("setnx", string::setnx),
    Command::new("setex", string::setex),
    Command::new("psetex", string::psetex),
    Command::new("getset", string::getset),
    Command::new("getdel", string::getdel),
    Command::new("getex", string::getex),
    Command::new("mget", string::mget),
    Command::new("mset", string::mset),
    Command::new("msetnx", string::msetnx),
    Command::new("append", string::append),
    Command::new("strlen", string::strlen),
    Command::new("getrange", string::getrange),
    Command::new("substr", string::getrange),
    Command::new("setrange", string::setrange),
    Command::new("incr", string::incr),
    Command::new("decr", string::decr),
    Command::new("incrby", string::incrby),
    Command::new("decrby", string::decrby),
    Command::new("incrbyfloat", string::incrbyfloat),
    // Bit operations on strings (cmd/bitops.rs).
    Command::new("setbit", bitops::setbit),
    Command::new("getbit", bitops::getbit),
    Command::new("bitcount", bitops::bitcount),
    Command::new("bitpos", bitops::bitpos),
    Command::new("bitop", bitops::bitop),
    // Keys and databases (cmd/keys.rs).
    Command::new("del", keys::del),
    Command::new("unlink", keys::del),
    Command::new("exists", keys::exists),
    Command::new("touch", keys::touch),
    Command::new("type", keys::type_),
    Command::new("rename", keys::rename),
    Command::new("renamenx", keys::renamenx),
    Command::new("expire", keys::expire),
    Command::new("pexpire", keys::pexpire),
    Command::new("expireat", keys::expireat),
    Command::new("pexpireat", keys::pexpireat),
    Command::new("ttl", keys::ttl),
    Command::new("pttl", keys::pttl),
    Command::new("expiretime", keys::expiretime),
    Command::new("pexpiretime", keys::pexpiretime),
    Command::new("persist", keys::persist),
    Command::new("keys", keys::keys).locking(Locks::All),
    Command::new("dbsize", keys::dbsize).locking(Locks::All),
    Command::new("randomkey", keys::randomkey).locking(Locks::All),
    Command::new("flushdb", keys::flushdb).locking(Locks::All),
    Command::new("flushall", keys::flushall).locking(Locks::All),
    Command::new("scan", keys::scan).locking(Locks::Own),
    Command::new("copy", keys::copy),
    Command::new("move", keys::move_),
    Command::new("swapdb", keys::swapdb).locking(Locks::All),
    Command::container_of("object"),
    Command::new("object|encoding", object::encoding),
    Command::new("object|freq", object::freq),
    Command::new("object|idletime", object::idletime),
    Command::new("object|refcount", object::refcount),
    Command::new("object|help", object::help),
    // Hashes (cmd/hash.rs).
    Command::new("hset", hash::hset),
    Command::new("hmset", hash::hmset),
    Command::new("hsetnx", hash::hsetnx),
    Command::new("hget", hash::hget),
    Command::new("hmget", hash::hmget),
    Command::new("hgetall", hash::hgetall),
    Command::new("hkeys", hash::hkeys),
    Command::new("hvals", hash::hvals),
    Command::new("hlen", hash::hlen),
    Command::new("hexists", hash::hexists),
    Command::new("hstrlen", hash::hstrlen),
    Command::new("hdel", hash::hdel),
    Command::new("hincrby", hash::hincrby),
    Command::new("hincrbyfloat", hash::hincrbyfloat),
    Command::new("hrandfield", hash::hrandfield),
    Command::new("hscan", keys::hscan),
    // Sets (cmd/set.rs).
    Command::new("sadd", set::sadd),
    Command::new("srem", set::srem),
    Command::new("smembers", set::smembers),
    Command::new("sismember", set::sismember),
    Command::new("smismember", set::smismember),
    Command::new("scard", set::scard),
    Command::new("spop", set::spop),
    Command::new("srandmember", set::srandmember),
    Command::new("smove", set::smove),
    Command::new("sinter", set::sinter),
    Command::new("sintercard", set::sintercard),
    Command::new("sunion", set::sunion),
    Command::new("sdiff", set::sdiff),
    Command::new("sinterstore", set::sinterstore),
    Command::new("sunionstore", set::sunionstore),
    Command::new("sdiffstore", set::sdiffstore),
    Command::new("sscan", keys::sscan),
    // Lists (cmd/list.rs).
    Command::new("lpush", list::lpush),
    Command::new("rpush", list::rpush),
    Command::new("lpushx", list::lpushx),
    Command::new("rpushx", list::rpushx),
    Command::new("lpop", list::lpop),
    Command::new("rpop", list::rpop),
    Command::new("llen", list::llen),
    Command::new("lindex", list::lindex),
    Command::new("lset", list::lset),
    Command::new("lrange", list::lrange),
    Command::new("ltrim", list::ltrim),
    Command::new("lrem", list::lrem),
    Command::new("linsert", list::linsert),
    Command::new("lpos", list::lpos),
    Command::new("lmove", list::lmove),
    Command::new("rpoplpush", list::rpoplpush),
    Command::new("lmpop", list::lmpop),
    Command::new("blpop", list::blpop),
    Command::new("brpop", list::brpop),
    Command::new("blmove", list::blmove),
    Command::new("brpoplpush", list::brpoplpush),
    Command::new("blmpop", list::blmpop),
    // Sorted sets (cmd/zset.rs).
    Command::new("zadd", zset::zadd),
    Command::new("zincrby", zset::zincrby),
    Command::new("zrem", zset::zrem),
    Command::new("zscore", zset::zscore),
    Command::new("zmscore", zset::zmscore),
    Command::new("zcard", zset::zcard),
    Command::new("zcount", zset::zcount),
    Command::new("zlexcount", zset::zlexcount),
    Command::new("zrank", zset::zrank),
    Command::new("zrevrank", zset::zrevrank),
    Command::new("zrange", zset::zrange),
    Command::new("zrangestore", zset::zrangestore),
    Command::new("zrevrange", zset::zrevrange),
    Command::new("zrangebyscore", zset::zrangebyscore),
    Command::new("zrevrangebyscore", zset::zrevrangebyscore),
    Command::new("zrangebylex", zset::zrangebylex),
    Command::new("zrevrangebylex", zset::zrevrangebylex),
    Command::new("zremrangebyrank", zset::zremrangebyrank),
    Command::new("zremrangebyscore", zset::zremrangebyscore),
    Command::new("zremrangebylex", zset::zremrangebylex),
    Command::new("zpopmin", zset::zpopmin),
    Command::new("zpopmax", zset::zpopmax),
    Command::new("zmpop", zset::zmpop),
    Command::new("bzpopmin", zset::bzpopmin),
    Command::new("bzpopmax", zset::bzpopmax),
    Command::new("bzmpop", zset::bzmpop),
    Command::new("zunion", zset::zunion),
    Command::new("zinter", zset::zinter),
    Command::new("zdiff", zset::zdiff),
    Command::new("zunionstore", zset::zunionstore),
    Command::new("zinterstore", zset::zinterstore),
    Command::new("zdiffstore", zset::zdiffstore),
    Command::new("zintercard", zset::zintercard),
    Command::new("zrandmember", zset::zrandmember),
    Command::new("zscan", keys::zscan),
    // Streams (cmd/stream.rs).
    Command::new("xadd", stream::xadd),
    Command::new("xlen", stream::xlen),
    Command::new("xrange", stream::xrange),
    Command::new("xrevrange", stream::xrevrange),
    Command::new("xdel", stream::xdel),
    Command::new("xtrim", stream::xtrim),
    Command::new("xread", stream::xread),
    Command::container_of("xinfo"),
    Command::new("xinfo|stream", stream::xinfo_stream),
    Command::new("xinfo|groups", stream::xinfo_groups),
    Command::new("xinfo|consumers", stream::xinfo_consumers),
    Command::new("xinfo|help", stream::xinfo_help),
    Command::new("xsetid", stream::xsetid),
    // Connection (cmd/connection.rs).
    Command::new("ping", connection::ping),
    Command::new("echo", connection::echo),
    Command::new("quit", connection::quit),
    Command::new("hello", connection::hello),
    Command::new("auth", connection::auth),
    Command::new("select", connection::select),
    // CLIENT (cmd/client.rs).
    Command::container_of("client"),
    Command::new("client|id", client::id),
    Command::new("client|getname", client::getname),
    Command::new("client|setname", client::setname),
    Command::new("client|info", client::info),
    Command::new("client|list", client::list),
    Command::new("client|kill", client::kill),
    Command::new("client|no-evict", client::no_evict),
    Command::new("client|pause", client::pause),
    Command::new("client|unpause", client::unpause),
    Command::new("client|unblock", client::unblock),
    Command::new("client|tracking", client::tracking),
    Command::new("client|caching", client::caching),
    Command::new("client|getredir", client::getredir),
    Command::new("client|trackinginfo", client::trackinginfo),
    Command::new("client|reply", client::reply),
    Command::new("client|help", client::help),
    // Introspection (cmd/introspection.rs): COMMAND INFO TIME SLOWLOG MEMORY LATENCY.
    Command::new("command", introspection::command),
    Command::new("command|count", introspection::command_count),
    Command::new("command|list", introspection::command_list),
    Command::new("command|info", introspection::command_info),
    Command::new("command|docs", introspection::command_docs),
    Command::new("command|getkeys", introspection::command_getkeys),
    Command::new(
        "command|getkeysandflags",
        introspection::command_getkeysandflags,
    ),
    Command::new("command|help", introspection::command_help),
    Command::new("info", introspection::info).locking(Locks::All),
    Command::new("time", introspection::time),
    // Administration (cmd/admin.rs): CONFIG SHUTDOWN DEBUG.
    Command::container_of("config"),
    Command::new("config|get", admin::config_get),
    Command::new("config|set", admin::config_set),
    Command::new("config|resetstat", admin::config_resetstat).locking(Locks::All),
    Command::new("config|rewrite", admin::config_rewrite),
    Command::new("config|help", admin::config_help),
    Command::container_of("slowlog"),
    Command::new("slowlog|get", introspection::slowlog_get),
    Command::new("slowlog|len", introspection::slowlog_len),
    Command::new("slowlog|reset", introspection::slowlog_reset),
    Command::new("slowlog|help", introspection::slowlog_help),
    Command::container_of("memory"),
    Command::new("memory|usage", introspection::memory_usage),
    Command::new("memory|stats", introspection::memory_stats),
    Command::new("memory|doctor", introspection::memory_doctor),
    Command::new("memory|malloc-stats", introspection::memory_malloc_stats),
    Command::new("memory|purge", introspection::memory_purge),
    Command::new("memory|help", introspection::memory_help),
    // Persistence (cmd/persistence.rs, cmd/dump.rs).
    Command::new("lastsave", persistence::lastsave),
    Command::new("save", persistence::save).locking(Locks::All),
    Command::new("bgsave", persistence::bgsave).locking(Locks::All),
    Command::new("dump", dump::dump),
    Command::new("restore", dump::restore),
    Command::new("bgrewriteaof", persistence::bgrewriteaof),
    Command::new("shutdown", admin::shutdown),
    Command::new("lolwut", lolwut::lolwut),
    // MODULE (cmd/module.rs): none can be loaded.
    Command::container_of("module"),
    Command::new("module|list", module::list),
    Command::new("module|load", module::load),
    Command::new("module|loadex", module::load),
    Command::new("module|unload", module::unload),
    Command::new("module|help", module::help),
    // Replication (cmd/replication.rs).
    Command::new("wait", replication::wait),
    Command::new("debug", admin::debug),
    Command::container_of("latency"),
    Command::new("latency|latest", introspection::latency_latest),
    Command::new("latency|history", introspection::latency_history),
    Command::new("latency|reset", introspection::latency_reset),
    Command::new("latency|doctor", introspection::latency_doctor),
    Command::new("latency|graph", introspection::latency_graph),
    Command::new("latency|histogram", introspection::latency_histogram),
    Command::new("latency|help", introspection::latency_help),
    // Transactions (exec/multi.rs).
    Command::new("multi", multi::multi),
    Command::new("exec", multi::exec),
    Command::new("discard", multi::discard),
    Command::new("watch", multi::watch),
    Command::new("unwatch", multi::unwatch),
    // Pub/sub (cmd/pubsub.rs), MONITOR (exec/monitor.rs).
    Command::new("subscribe", pubsub::subscribe),
    Command::new("unsubscribe", pubsub::unsubscribe),
    Command::new("psubscribe", pubsub::psubscribe),
    Command::new("punsubscribe", pubsub::punsubscribe),
    Command::new("publish", pubsub::publish),
    Command::new("ssubscribe", pubsub::ssubscribe),
    Command::new("sunsubscribe", pubsub::sunsubscribe),
    Command::new("spublish", pubsub::spublish),
    Command::container_of("pubsub"),
    Command::new("pubsub|channels", pubsub::channels),
    Command::new("pubsub|numsub", pubsub::numsub),
    Command::new("pubsub|numpat", pubsub::numpat),
    Command::new("pubsub|shardchannels", pubsub::shardchannels),
    Command::new("pubsub|shardnumsub", pubsub::shardnumsub),
    Command::new("pubsub|help", pubsub::help),
    Command::new("monitor", monitor::monitor),
    // Scripting (cmd/scripting.rs, exec/script/). A script may touch
    // keys it did not declare: it holds every shard (exec/script/run.rs).
    Command::new("eval", scripting::eval).locking(Locks::All),
    Command::new("evalsha", scripting::evalsha).locking(Locks::All),
    Command::new("eval_ro", scripting::eval_ro).locking(Locks::All),
    Command::new("evalsha_ro", scripting::evalsha_ro).locking(Locks::All),
    Command::container_of("script"),
    Command::new("script|load", scripting::script_load),
    Command::new("script|exists", scripting::script_exists),
    Command::new("script|flush", scripting::script_flush),
    Command::new("script|kill", scripting::script_kill),
    Command::new("script|debug", scripting::script_debug),
    Command::new("script|help", scripting::script_help),
    Command::new("fcall", scripting::fcall).locking(Locks::All),
    Command::new("fcall_ro", scripting::fcall_ro).locking(Locks::All),
    Command::container_of("function"),
    Command::new("function|load", scripting::function_load),
    Command::new("function|delete", scripting::function_delete),
    Command::new("function|flush", scripting::function_flush),
    Command::new("function|list", scripting::function_list),
    Command::new("function|stats", scripting::function_stats),
    Command::new("function|kill", scripting::script_kill),
    Command::new("function|dump", scripting::function_dump),
    Command::new("function|restore", scripting::function_dump),
    Command::new("reset", connection::reset),
];

/// Commands a RESP2 client may run while subscribed.
pub(super) fn allowed_when_subscribed(cmd: &Command) -> bool {
    matches!(
        cmd.name,
        "subscribe"
            | "unsubscribe"
            | "psubscribe"
            | "punsubscribe"
            | "ssubscribe"
            | "sunsubscribe"
            | "ping"
            | "quit"
            | "reset"
    )
}

/// Commands whose replies are pushes (Redis's CLIENT_PUSHING: the
/// subscription confirmations), sent even under CLIENT REPLY OFF or SKIP
/// (redis-server 7.0.15 sends them, and the messages, to such a client).
pub fn replies_are_pushes(cmd: &Command) -> bool {
    matches!(
        cmd.name,
        "subscribe" | "unsubscribe" | "psubscribe" | "punsubscribe" | "ssubscribe" | "sunsubscribe"
    )
}

/// Commands by (lowercase) name.
type ByName = HashMap<Box<[u8]>, &'static Command>;

/// The table as clients see it: commands by the names they call them
/// (`rename-command` applied, once at start), subcommands by container.
#[derive(Debug)]
pub struct CommandTable {
    by_name: ByName,
    /// Indexed like [`COMMANDS`]: a container's subcommands by the name
    /// after the `|` (None for the other commands: every request looks
    /// here, so it is an index, not a hash lookup).
    subs: Vec<Option<ByName>>,
    /// Whether `rename-command` changed any name (then a command's own
    /// name is not necessarily what clients call it: no hints).
    renamed: bool,
}

/// What the name(s) of a request found.
pub enum Found {
    Command(&'static Command),
    /// No command of this name.
    Unknown,
    /// A container without this subcommand.
    UnknownSub,
}

impl CommandTable {
    /// The table with `rename-command` directives applied in order
    /// (name, new name; "" removes it).
    pub fn new(renames: &[(String, String)]) -> CommandTable {
        let mut subs: Vec<Option<ByName>> = vec![None; COMMANDS.len()];
        for c in COMMANDS {
            if let Some((container, sub)) = c.name.split_once('|') {
                let parent = COMMANDS
                    .iter()
                    .find(|p| p.name == container)
                    .expect("every subcommand's container is in the table");
                subs[parent.index()]
                    .get_or_insert_with(HashMap::new)
                    .insert(sub.as_bytes().into(), c);
            }
        }
        let by_name = names(renames)
            .into_iter()
            .map(|(n, c)| (n.into_bytes().into_boxed_slice(), c))
            .collect();
        CommandTable {
            by_name,
            subs,
            renamed: !renames.is_empty(),
        }
    }

    /// The command a request names: `argv[0]` (case-insensitive, as
    /// renamed), then `argv[1]` among a container's subcommands.
    pub fn lookup(&self, argv: &[&[u8]]) -> Found {
        let Some(cmd) = argv.first().and_then(|n| get(&self.by_name, n)) else {
            return Found::Unknown;
        };
        let (Some(subs), Some(sub)) = (self.subs_of(cmd), argv.get(1)) else {
            return Found::Command(cmd);
        };
        match get(subs, sub) {
            Some(c) => Found::Command(c),
            None => Found::UnknownSub,
        }
    }

    /// As [`CommandTable::lookup`], trying first `hint`, the index of the
    /// client's previous command: a pipeline repeats its command, and a
    /// name compared is cheaper than one hashed. Only plain commands
    /// (not containers, not subcommands) and only without renames.
    #[inline]
    pub fn lookup_hinted(&self, argv: &[&[u8]], hint: usize) -> Found {
        if let (Some(c), Some(name), false) = (COMMANDS.get(hint), argv.first(), self.renamed) {
            if name.eq_ignore_ascii_case(c.name.as_bytes())
                && c.container().is_empty()
                && self.subs_of(c).is_none()
            {
                return Found::Command(c);
            }
        }
        self.lookup(argv)
    }

    fn subs_of(&self, cmd: &Command) -> Option<&ByName> {
        self.subs.get(cmd.index())?.as_ref()
    }

    /// The command a request names, if it names one (COMMAND GETKEYS,
    /// request routing).
    pub fn find(&self, argv: &[&[u8]]) -> Option<&'static Command> {
        match self.lookup(argv) {
            Found::Command(c) => Some(c),
            _ => None,
        }
    }

    /// The top-level command a client calls `name` (COMMAND INFO / DOCS
    /// take full names: `config|get` too).
    pub fn by_full_name(&self, name: &[u8]) -> Option<&'static Command> {
        let lower = name.to_ascii_lowercase();
        match lower.iter().position(|&c| c == b'|') {
            None => get(&self.by_name, &lower),
            Some(p) => {
                let c = get(&self.by_name, &lower[..p])?;
                get(self.subs_of(c)?, &lower[p + 1..])
            }
        }
    }

    /// The top-level commands as clients call them, with their names.
    pub fn commands(&self) -> impl Iterator<Item = (&[u8], &'static Command)> {
        self.by_name.iter().map(|(n, c)| (&n[..], *c))
    }

    /// A container's subcommands (none for a plain command).
    pub fn subcommands(&self, cmd: &'static Command) -> Vec<&'static Command> {
        let mut v: Vec<&'static Command> = self
            .subs_of(cmd)
            .map(|m| m.values().copied().collect())
            .unwrap_or_default();
        v.sort_by_key(|c| c.name);
        v
    }
}

/// `name` in `map`, case-insensitively (the keys are lowercase).
fn get(map: &ByName, name: &[u8]) -> Option<&'static Command> {
    let mut buf = [0u8; 32];
    if name.len() > buf.len() {
        // Longer names exist only through rename-command.
        return map.get(&*name.to_ascii_lowercase()).copied();
    }
    let lower = &mut buf[..name.len()];
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    map.get(&*lower).copied()
}

/// The top-level commands by name after applying `renames` in order.
fn names(renames: &[(String, String)]) -> HashMap<String, &'static Command> {
    let mut t: HashMap<String, &'static Command> = COMMANDS
        .iter()
        .filter(|c| c.container().is_empty())
        .map(|c| (c.name.to_string(), c))
        .collect();
    for (from, to) in renames {
        if let Some(c) = t.remove(from) {
            if !to.is_empty() {
                t.insert(to.clone(), c);
            }
        }
    }
    t
}

/// The command names after applying `renames` in order (for checking a
/// further `rename-command` as Redis does).
pub fn names_after(renames: &[(String, String)]) -> Vec<String> {
    names(renames).into_keys().collect()
}

/// The command named `name` in the table, whatever `rename-command` did
/// (for commands the server builds itself: a blocked client's retry).
pub fn by_own_name(name: &[u8]) -> Option<&'static Command> {
    COMMANDS
        .iter()
        .find(|c| c.name.as_bytes().eq_ignore_ascii_case(name))
}

/// `ERR wrong number of arguments for 'get' command`.
pub fn arity_error(out: &mut Reply, name: &str) {
    out.error(&format!(
        "ERR wrong number of arguments for '{name}' command"
    ));
}

/// Redis's unknown-subcommand error: `ERR unknown subcommand 'x'. Try
/// CONFIG HELP.` (the container's name as typed, uppercased).
pub(super) fn unknown_subcommand(out: &mut Reply, argv: &[&[u8]]) {
    let mut m = b"ERR unknown subcommand '".to_vec();
    m.extend_from_slice(&argv[1][..argv[1].len().min(128)]);
    m.extend_from_slice(b"'. Try ");
    m.extend_from_slice(&argv[0].to_ascii_uppercase());
    m.extend_from_slice(b" HELP.");
    out.error_bytes(&m);
}

/// Redis's unknown-command error: the name and up to 128 bytes of the
/// arguments, each quoted and followed by a space.
pub(super) fn unknown_command(out: &mut Reply, argv: &[&[u8]]) {
    let mut args = Vec::new();
    for a in &argv[1..] {
        if args.len() >= 128 {
            break;
        }
        let room = 128 - args.len();
        args.push(b'\'');
        args.extend_from_slice(&a[..a.len().min(room)]);
        args.extend_from_slice(b"' ");
    }
    let name = &argv[0][..argv[0].len().min(128)];
    let mut msg = b"ERR unknown command '".to_vec();
    msg.extend_from_slice(name);
    msg.extend_from_slice(b"', with args beginning with: ");
    msg.extend_from_slice(&args);
    out.error_bytes(&msg);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(argv: &[&str]) -> &'static Command {
        let argv: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
        CommandTable::new(&[]).find(&argv).expect("a command")
    }

    fn keys(argv: &[&str]) -> Vec<usize> {
        let v: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
        find(argv).key_indices(&v).collect()
    }

    #[test]
    fn key_positions() {
        assert_eq!(keys(&["MSET", "a", "1", "b", "2"]), vec![1, 3]);
        assert_eq!(keys(&["del", "a", "b", "c"]), vec![1, 2, 3]);
        assert_eq!(keys(&["rename", "a", "b"]), vec![1, 2]);
        // numkeys commands lock from the first possible key to the end (a
        // superset).
        assert_eq!(keys(&["lmpop", "2", "a", "b", "LEFT"]), vec![1, 2, 3, 4]);
        assert_eq!(keys(&["object", "encoding", "k"]), vec![2]);
        assert_eq!(keys(&["memory", "usage", "k"]), vec![2]);
        assert_eq!(keys(&["object", "help"]), Vec::<usize>::new());
        assert_eq!(keys(&["ping", "x"]), Vec::<usize>::new());
    }

    #[test]
    fn names_are_unique_lowercase_and_resolve() {
        let mut seen = std::collections::HashSet::new();
        let t = CommandTable::new(&[]);
        for c in COMMANDS {
            assert!(seen.insert(c.name), "{} twice", c.name);
            assert_eq!(c.name, c.name.to_lowercase());
            let argv: Vec<&[u8]> = c.name.split('|').map(str::as_bytes).collect();
            assert!(std::ptr::eq(t.find(&argv).unwrap(), c), "{}", c.name);
            assert!(
                c.handler.is_some() || !t.subcommands(c).is_empty(),
                "{}",
                c.name
            );
        }
        let none = |argv: &[&[u8]]| t.find(argv).is_none();
        assert!(none(&[b"nosuchcommand"]));
        assert!(none(&[&[b'x'; 100]]));
        assert!(matches!(
            t.lookup(&[b"CONFIG", b"nosuch"]),
            Found::UnknownSub
        ));
        assert_eq!(t.by_full_name(b"CONFIG|GET").unwrap().name, "config|get");
    }

    #[test]
    fn renames_apply_to_commands() {
        let t = CommandTable::new(&[
            ("config".into(), "cfg".into()),
            ("flushall".into(), "".into()),
        ]);
        assert!(t.find(&[b"config", b"get"]).is_none());
        assert_eq!(t.find(&[b"CFG", b"get"]).unwrap().name, "config|get");
        assert!(t.find(&[b"flushall"]).is_none());
        assert_eq!(by_own_name(b"flushall").unwrap().name, "flushall");
    }
}
