//! The command table: name, arity, flags, key positions and handler of
//! every command, and the lookup by the name clients use (`rename-command`
//! applied).

use super::context::Ctx;
use crate::cmd::{
    bitops, dump, hash, keys, list, persistence, pubsub, server_cmds, set, stream, string, zset,
};
use crate::exec::{monitor, multi, security};
use crate::proto::reply::Reply;
use hashbrown::HashMap;
use std::sync::OnceLock;

pub type Handler = fn(&mut Ctx, &[&[u8]]);

pub mod flags {
    pub const WRITE: u32 = 1;
    pub const READONLY: u32 = 1 << 1;
    pub const FAST: u32 = 1 << 2;
    /// Works on the whole keyspace (KEYS, DBSIZE, FLUSHALL...): lock all
    /// shards, in order.
    pub const ALL_SHARDS: u32 = 1 << 3;
    pub const ADMIN: u32 = 1 << 4;
    /// Executed at once even inside MULTI (MULTI EXEC DISCARD WATCH QUIT),
    /// as Redis's processCommand does.
    pub const NO_QUEUE: u32 = 1 << 5;
    /// Locks shards itself (SCAN: one at a time). Inside EXEC it is run
    /// with every shard held and uses those locks.
    pub const SELF_LOCKING: u32 = 1 << 6;
    /// May block the client (BLPOP & co., XREAD BLOCK): runs on the
    /// connection's own thread, which keeps its deadline (`dispatch.rs`).
    pub const MAY_BLOCK: u32 = 1 << 7;
}

pub struct Command {
    /// Lowercase, as Redis reports it in errors.
    pub name: &'static str,
    pub arity: i32,
    pub flags: u32,
    pub first_key: i32,
    pub last_key: i32,
    pub step: i32,
    pub handler: Handler,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// The key positions of one command line: `Range::step_by` would do, but
/// it divides to size itself, on every command, twice.
struct KeyIndices {
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

    /// The argument indices that are keys, for `argc` arguments (argc
    /// already passed the arity check).
    pub fn key_indices(&self, argc: usize) -> impl Iterator<Item = usize> {
        let first = self.first_key.max(0) as usize;
        let last = if self.last_key < 0 {
            argc as i64 + self.last_key as i64
        } else {
            self.last_key as i64
        };
        let last = last.min(argc as i64 - 1);
        let step = self.step.max(1) as usize;
        let (next, end) = if first == 0 || last < first as i64 {
            (0, 0)
        } else {
            (first, last as usize + 1)
        };
        KeyIndices { next, end, step }
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

    pub fn flag_names(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        for (f, n) in [
            (flags::WRITE, "write"),
            (flags::READONLY, "readonly"),
            (flags::ADMIN, "admin"),
            (flags::FAST, "fast"),
        ] {
            if self.flags & f != 0 {
                v.push(n);
            }
        }
        v
    }
}

macro_rules! cmd {
    ($name:literal, $arity:expr, $flags:expr, $first:expr, $last:expr, $step:expr, $h:path) => {
        Command {
            name: $name,
            arity: $arity,
            flags: $flags,
            first_key: $first,
            last_key: $last,
            step: $step,
            handler: $h,
        }
    };
}

use flags::*;

/// Every command. Key positions follow Redis's `COMMAND INFO`.
pub static COMMANDS: &[Command] = &[
    // Strings (t_string.rs).
    cmd!("get", 2, READONLY | FAST, 1, 1, 1, string::get),
    cmd!("set", -3, WRITE, 1, 1, 1, string::set),
    cmd!("setnx", 3, WRITE | FAST, 1, 1, 1, string::setnx),
    cmd!("setex", 4, WRITE, 1, 1, 1, string::setex),
    cmd!("psetex", 4, WRITE, 1, 1, 1, string::psetex),
    cmd!("getset", 3, WRITE | FAST, 1, 1, 1, string::getset),
    cmd!("getdel", 2, WRITE | FAST, 1, 1, 1, string::getdel),
    cmd!("getex", -2, WRITE | FAST, 1, 1, 1, string::getex),
    cmd!("mget", -2, READONLY | FAST, 1, -1, 1, string::mget),
    cmd!("mset", -3, WRITE, 1, -1, 2, string::mset),
    cmd!("msetnx", -3, WRITE, 1, -1, 2, string::msetnx),
    cmd!("append", 3, WRITE | FAST, 1, 1, 1, string::append),
    cmd!("strlen", 2, READONLY | FAST, 1, 1, 1, string::strlen),
    cmd!("getrange", 4, READONLY, 1, 1, 1, string::getrange),
    cmd!("substr", 4, READONLY, 1, 1, 1, string::getrange),
    cmd!("setrange", 4, WRITE, 1, 1, 1, string::setrange),
    cmd!("incr", 2, WRITE | FAST, 1, 1, 1, string::incr),
    cmd!("decr", 2, WRITE | FAST, 1, 1, 1, string::decr),
    cmd!("incrby", 3, WRITE | FAST, 1, 1, 1, string::incrby),
    cmd!("decrby", 3, WRITE | FAST, 1, 1, 1, string::decrby),
    cmd!("incrbyfloat", 3, WRITE | FAST, 1, 1, 1, string::incrbyfloat),
    // Bit operations on strings (bitops.rs). BITOP locks its destination
    // and every source.
    cmd!("setbit", 4, WRITE, 1, 1, 1, bitops::setbit),
    cmd!("getbit", 3, READONLY | FAST, 1, 1, 1, bitops::getbit),
    cmd!("bitcount", -2, READONLY, 1, 1, 1, bitops::bitcount),
    cmd!("bitpos", -3, READONLY, 1, 1, 1, bitops::bitpos),
    cmd!("bitop", -4, WRITE, 2, -1, 1, bitops::bitop),
    // Keys and databases (keys.rs).
    cmd!("del", -2, WRITE, 1, -1, 1, keys::del),
    cmd!("unlink", -2, WRITE | FAST, 1, -1, 1, keys::del),
    cmd!("exists", -2, READONLY | FAST, 1, -1, 1, keys::exists),
    cmd!("touch", -2, READONLY | FAST, 1, -1, 1, keys::touch),
    cmd!("type", 2, READONLY | FAST, 1, 1, 1, keys::type_),
    cmd!("rename", 3, WRITE, 1, 2, 1, keys::rename),
    cmd!("renamenx", 3, WRITE | FAST, 1, 2, 1, keys::renamenx),
    cmd!("expire", -3, WRITE | FAST, 1, 1, 1, keys::expire),
    cmd!("pexpire", -3, WRITE | FAST, 1, 1, 1, keys::pexpire),
    cmd!("expireat", -3, WRITE | FAST, 1, 1, 1, keys::expireat),
    cmd!("pexpireat", -3, WRITE | FAST, 1, 1, 1, keys::pexpireat),
    cmd!("ttl", 2, READONLY | FAST, 1, 1, 1, keys::ttl),
    cmd!("pttl", 2, READONLY | FAST, 1, 1, 1, keys::pttl),
    cmd!("expiretime", 2, READONLY | FAST, 1, 1, 1, keys::expiretime),
    cmd!(
        "pexpiretime",
        2,
        READONLY | FAST,
        1,
        1,
        1,
        keys::pexpiretime
    ),
    cmd!("persist", 2, WRITE | FAST, 1, 1, 1, keys::persist),
    cmd!("keys", 2, READONLY | ALL_SHARDS, 0, 0, 0, keys::keys),
    cmd!(
        "dbsize",
        1,
        READONLY | FAST | ALL_SHARDS,
        0,
        0,
        0,
        keys::dbsize
    ),
    cmd!(
        "randomkey",
        1,
        READONLY | ALL_SHARDS,
        0,
        0,
        0,
        keys::randomkey
    ),
    cmd!("flushdb", -1, WRITE | ALL_SHARDS, 0, 0, 0, keys::flushdb),
    cmd!("flushall", -1, WRITE | ALL_SHARDS, 0, 0, 0, keys::flushall),
    cmd!("scan", -2, READONLY | SELF_LOCKING, 0, 0, 0, keys::scan),
    cmd!("copy", -3, WRITE, 1, 2, 1, keys::copy),
    cmd!("move", 3, WRITE | FAST, 1, 1, 1, keys::move_),
    cmd!(
        "swapdb",
        3,
        WRITE | FAST | ALL_SHARDS,
        0,
        0,
        0,
        keys::swapdb
    ),
    cmd!("object", -2, READONLY, 2, 2, 1, keys::object),
    // Hashes (t_hash.rs).
    cmd!("hset", -4, WRITE | FAST, 1, 1, 1, hash::hset),
    cmd!("hmset", -4, WRITE | FAST, 1, 1, 1, hash::hmset),
    cmd!("hsetnx", 4, WRITE | FAST, 1, 1, 1, hash::hsetnx),
    cmd!("hget", 3, READONLY | FAST, 1, 1, 1, hash::hget),
    cmd!("hmget", -3, READONLY | FAST, 1, 1, 1, hash::hmget),
    cmd!("hgetall", 2, READONLY, 1, 1, 1, hash::hgetall),
    cmd!("hkeys", 2, READONLY, 1, 1, 1, hash::hkeys),
    cmd!("hvals", 2, READONLY, 1, 1, 1, hash::hvals),
    cmd!("hlen", 2, READONLY | FAST, 1, 1, 1, hash::hlen),
    cmd!("hexists", 3, READONLY | FAST, 1, 1, 1, hash::hexists),
    cmd!("hstrlen", 3, READONLY | FAST, 1, 1, 1, hash::hstrlen),
    cmd!("hdel", -3, WRITE | FAST, 1, 1, 1, hash::hdel),
    cmd!("hincrby", 4, WRITE | FAST, 1, 1, 1, hash::hincrby),
    cmd!("hincrbyfloat", 4, WRITE | FAST, 1, 1, 1, hash::hincrbyfloat),
    cmd!("hrandfield", -2, READONLY, 1, 1, 1, hash::hrandfield),
    cmd!("hscan", -3, READONLY, 1, 1, 1, keys::hscan),
    // Sets (t_set.rs). The multi-key ones lock every key's shard.
    cmd!("sadd", -3, WRITE | FAST, 1, 1, 1, set::sadd),
    cmd!("srem", -3, WRITE | FAST, 1, 1, 1, set::srem),
    cmd!("smembers", 2, READONLY, 1, 1, 1, set::smembers),
    cmd!("sismember", 3, READONLY | FAST, 1, 1, 1, set::sismember),
    cmd!("smismember", -3, READONLY | FAST, 1, 1, 1, set::smismember),
    cmd!("scard", 2, READONLY | FAST, 1, 1, 1, set::scard),
    cmd!("spop", -2, WRITE | FAST, 1, 1, 1, set::spop),
    cmd!("srandmember", -2, READONLY, 1, 1, 1, set::srandmember),
    cmd!("smove", 4, WRITE | FAST, 1, 2, 1, set::smove),
    cmd!("sinter", -2, READONLY, 1, -1, 1, set::sinter),
    // numkeys-style commands lock every argument's shard from the first
    // key on: a superset of their keys (options included), which is
    // harmless and keeps the table static.
    cmd!("sintercard", -3, READONLY, 2, -1, 1, set::sintercard),
    cmd!("sunion", -2, READONLY, 1, -1, 1, set::sunion),
    cmd!("sdiff", -2, READONLY, 1, -1, 1, set::sdiff),
    cmd!("sinterstore", -3, WRITE, 1, -1, 1, set::sinterstore),
    cmd!("sunionstore", -3, WRITE, 1, -1, 1, set::sunionstore),
    cmd!("sdiffstore", -3, WRITE, 1, -1, 1, set::sdiffstore),
    cmd!("sscan", -3, READONLY, 1, 1, 1, keys::sscan),
    // Lists (t_list.rs). The blocking forms lock every key (BLMPOP: every
    // argument from the first key on) and block through blocking.rs.
    cmd!("lpush", -3, WRITE | FAST, 1, 1, 1, list::lpush),
    cmd!("rpush", -3, WRITE | FAST, 1, 1, 1, list::rpush),
    cmd!("lpushx", -3, WRITE | FAST, 1, 1, 1, list::lpushx),
    cmd!("rpushx", -3, WRITE | FAST, 1, 1, 1, list::rpushx),
    cmd!("lpop", -2, WRITE | FAST, 1, 1, 1, list::lpop),
    cmd!("rpop", -2, WRITE | FAST, 1, 1, 1, list::rpop),
    cmd!("llen", 2, READONLY | FAST, 1, 1, 1, list::llen),
    cmd!("lindex", 3, READONLY, 1, 1, 1, list::lindex),
    cmd!("lset", 4, WRITE, 1, 1, 1, list::lset),
    cmd!("lrange", 4, READONLY, 1, 1, 1, list::lrange),
    cmd!("ltrim", 4, WRITE, 1, 1, 1, list::ltrim),
    cmd!("lrem", 4, WRITE, 1, 1, 1, list::lrem),
    cmd!("linsert", 5, WRITE, 1, 1, 1, list::linsert),
    cmd!("lpos", -3, READONLY, 1, 1, 1, list::lpos),
    cmd!("lmove", 5, WRITE, 1, 2, 1, list::lmove),
    cmd!("rpoplpush", 3, WRITE, 1, 2, 1, list::rpoplpush),
    cmd!("lmpop", -4, WRITE, 2, -1, 1, list::lmpop),
    cmd!("blpop", -3, WRITE | MAY_BLOCK, 1, -2, 1, list::blpop),
    cmd!("brpop", -3, WRITE | MAY_BLOCK, 1, -2, 1, list::brpop),
    cmd!("blmove", 6, WRITE | MAY_BLOCK, 1, 2, 1, list::blmove),
    cmd!(
        "brpoplpush",
        4,
        WRITE | MAY_BLOCK,
        1,
        2,
        1,
        list::brpoplpush
    ),
    cmd!("blmpop", -5, WRITE | MAY_BLOCK, 3, -1, 1, list::blmpop),
    // Sorted sets (t_zset.rs). numkeys-style commands lock every argument
    // from the first key on (a superset, as for SINTERCARD).
    cmd!("zadd", -4, WRITE | FAST, 1, 1, 1, zset::zadd),
    cmd!("zincrby", 4, WRITE | FAST, 1, 1, 1, zset::zincrby),
    cmd!("zrem", -3, WRITE | FAST, 1, 1, 1, zset::zrem),
    cmd!("zscore", 3, READONLY | FAST, 1, 1, 1, zset::zscore),
    cmd!("zmscore", -3, READONLY | FAST, 1, 1, 1, zset::zmscore),
    cmd!("zcard", 2, READONLY | FAST, 1, 1, 1, zset::zcard),
    cmd!("zcount", 4, READONLY | FAST, 1, 1, 1, zset::zcount),
    cmd!("zlexcount", 4, READONLY | FAST, 1, 1, 1, zset::zlexcount),
    cmd!("zrank", 3, READONLY | FAST, 1, 1, 1, zset::zrank),
    cmd!("zrevrank", 3, READONLY | FAST, 1, 1, 1, zset::zrevrank),
    cmd!("zrange", -4, READONLY, 1, 1, 1, zset::zrange),
    cmd!("zrangestore", -5, WRITE, 1, 2, 1, zset::zrangestore),
    cmd!("zrevrange", -4, READONLY, 1, 1, 1, zset::zrevrange),
    cmd!("zrangebyscore", -4, READONLY, 1, 1, 1, zset::zrangebyscore),
    cmd!(
        "zrevrangebyscore",
        -4,
        READONLY,
        1,
        1,
        1,
        zset::zrevrangebyscore
    ),
    cmd!("zrangebylex", -4, READONLY, 1, 1, 1, zset::zrangebylex),
    cmd!(
        "zrevrangebylex",
        -4,
        READONLY,
        1,
        1,
        1,
        zset::zrevrangebylex
    ),
    cmd!("zremrangebyrank", 4, WRITE, 1, 1, 1, zset::zremrangebyrank),
    cmd!(
        "zremrangebyscore",
        4,
        WRITE,
        1,
        1,
        1,
        zset::zremrangebyscore
    ),
    cmd!("zremrangebylex", 4, WRITE, 1, 1, 1, zset::zremrangebylex),
    cmd!("zpopmin", -2, WRITE | FAST, 1, 1, 1, zset::zpopmin),
    cmd!("zpopmax", -2, WRITE | FAST, 1, 1, 1, zset::zpopmax),
    cmd!("zmpop", -4, WRITE, 2, -1, 1, zset::zmpop),
    cmd!(
        "bzpopmin",
        -3,
        WRITE | FAST | MAY_BLOCK,
        1,
        -2,
        1,
        zset::bzpopmin
    ),
    cmd!(
        "bzpopmax",
        -3,
        WRITE | FAST | MAY_BLOCK,
        1,
        -2,
        1,
        zset::bzpopmax
    ),
    cmd!("bzmpop", -5, WRITE | MAY_BLOCK, 3, -1, 1, zset::bzmpop),
    cmd!("zunion", -3, READONLY, 2, -1, 1, zset::zunion),
    cmd!("zinter", -3, READONLY, 2, -1, 1, zset::zinter),
    cmd!("zdiff", -3, READONLY, 2, -1, 1, zset::zdiff),
    cmd!("zunionstore", -4, WRITE, 1, -1, 1, zset::zunionstore),
    cmd!("zinterstore", -4, WRITE, 1, -1, 1, zset::zinterstore),
    cmd!("zdiffstore", -4, WRITE, 1, -1, 1, zset::zdiffstore),
    cmd!("zintercard", -3, READONLY, 2, -1, 1, zset::zintercard),
    cmd!("zrandmember", -2, READONLY, 1, 1, 1, zset::zrandmember),
    cmd!("zscan", -3, READONLY, 1, 1, 1, keys::zscan),
    // Streams (t_stream.rs). XREAD's keys follow STREAMS: it locks every
    // argument from the first possible key position on (a superset, as for
    // the numkeys commands).
    cmd!("xadd", -5, WRITE | FAST, 1, 1, 1, stream::xadd),
    cmd!("xlen", 2, READONLY | FAST, 1, 1, 1, stream::xlen),
    cmd!("xrange", -4, READONLY, 1, 1, 1, stream::xrange),
    cmd!("xrevrange", -4, READONLY, 1, 1, 1, stream::xrevrange),
    cmd!("xdel", -3, WRITE | FAST, 1, 1, 1, stream::xdel),
    cmd!("xtrim", -4, WRITE, 1, 1, 1, stream::xtrim),
    cmd!("xread", -4, READONLY | MAY_BLOCK, 2, -1, 1, stream::xread),
    cmd!("xinfo", -2, READONLY, 2, 2, 1, stream::xinfo),
    cmd!("xsetid", -3, WRITE | FAST, 1, 1, 1, stream::xsetid),
    // Connection and server (server_cmds.rs).
    cmd!("ping", -1, FAST, 0, 0, 0, server_cmds::ping),
    cmd!("echo", 2, FAST, 0, 0, 0, server_cmds::echo),
    cmd!("quit", -1, FAST | NO_QUEUE, 0, 0, 0, server_cmds::quit),
    cmd!("hello", -1, FAST, 0, 0, 0, server_cmds::hello),
    // AUTH is ADMIN here only to keep it (and its password) out of MONITOR.
    cmd!("auth", -2, FAST | ADMIN, 0, 0, 0, security::auth),
    cmd!("select", 2, FAST, 0, 0, 0, server_cmds::select),
    cmd!("client", -2, 0, 0, 0, 0, server_cmds::client),
    cmd!("command", -1, 0, 0, 0, 0, server_cmds::command),
    cmd!("info", -1, ALL_SHARDS, 0, 0, 0, server_cmds::info),
    cmd!("time", 1, FAST, 0, 0, 0, server_cmds::time),
    cmd!("config", -2, ADMIN, 0, 0, 0, server_cmds::config),
    cmd!("slowlog", -2, ADMIN, 0, 0, 0, server_cmds::slowlog),
    // MEMORY USAGE key: the key is argument 2 (as OBJECT's).
    cmd!("memory", -2, READONLY, 2, 2, 1, server_cmds::memory),
    // RDB (rdb.rs): SAVE writes from, and BGSAVE copies, the whole
    // keyspace with every shard locked.
    cmd!("lastsave", 1, FAST, 0, 0, 0, persistence::lastsave),
    cmd!("save", 1, ADMIN | ALL_SHARDS, 0, 0, 0, persistence::save),
    cmd!(
        "bgsave",
        -1,
        ADMIN | ALL_SHARDS,
        0,
        0,
        0,
        persistence::bgsave
    ),
    cmd!("dump", 2, READONLY, 1, 1, 1, dump::dump),
    cmd!("restore", -4, WRITE, 1, 1, 1, dump::restore),
    cmd!("bgrewriteaof", 1, ADMIN, 0, 0, 0, persistence::bgrewriteaof),
    cmd!("shutdown", -1, ADMIN, 0, 0, 0, server_cmds::shutdown),
    cmd!("debug", -2, ADMIN, 0, 0, 0, server_cmds::debug),
    cmd!("latency", -2, ADMIN, 0, 0, 0, server_cmds::latency),
    // Transactions (multi.rs). EXEC locks the union of its queued
    // commands' shards itself; WATCH locks its keys' shards here.
    cmd!("multi", 1, FAST | NO_QUEUE, 0, 0, 0, multi::multi),
    cmd!("exec", 1, NO_QUEUE, 0, 0, 0, multi::exec),
    cmd!("discard", 1, FAST | NO_QUEUE, 0, 0, 0, multi::discard),
    cmd!("watch", -2, FAST | NO_QUEUE, 1, -1, 1, multi::watch),
    cmd!("unwatch", 1, FAST, 0, 0, 0, multi::unwatch),
    // Pub/sub (pubsub.rs), MONITOR (monitor.rs), RESET.
    cmd!("subscribe", -2, 0, 0, 0, 0, pubsub::subscribe),
    cmd!("unsubscribe", -1, 0, 0, 0, 0, pubsub::unsubscribe),
    cmd!("psubscribe", -2, 0, 0, 0, 0, pubsub::psubscribe),
    cmd!("punsubscribe", -1, 0, 0, 0, 0, pubsub::punsubscribe),
    cmd!("publish", 3, FAST, 0, 0, 0, pubsub::publish),
    cmd!("pubsub", -2, 0, 0, 0, 0, pubsub::pubsub),
    cmd!("monitor", 1, ADMIN, 0, 0, 0, monitor::monitor),
    cmd!("reset", 1, FAST | NO_QUEUE, 0, 0, 0, server_cmds::reset),
];

/// Commands a RESP2 client may run while subscribed.
pub(super) fn allowed_when_subscribed(cmd: &Command) -> bool {
    matches!(
        cmd.name,
        "subscribe" | "unsubscribe" | "psubscribe" | "punsubscribe" | "ping" | "quit" | "reset"
    )
}

/// The name Redis 7 reports for a command: `client|id` for a container's
/// subcommand.
pub(super) fn full_name(cmd: &Command, argv: &[&[u8]]) -> String {
    const CONTAINERS: &[&str] = &["client", "command", "config", "object", "pubsub"];
    match argv.get(1) {
        Some(sub) if CONTAINERS.contains(&cmd.name) => {
            format!(
                "{}|{}",
                cmd.name,
                String::from_utf8_lossy(sub).to_lowercase()
            )
        }
        _ => cmd.name.to_string(),
    }
}

/// `rename-command` directives (name, new name; "" = removed), set once
/// at start before any lookup ([`set_renames`]).
static RENAMES: OnceLock<Vec<(String, String)>> = OnceLock::new();

/// Installs the configuration's `rename-command` directives. Call before
/// the first [`lookup`] (the table is built once); false if too late.
pub fn set_renames(renames: Vec<(String, String)>) -> bool {
    RENAMES.set(renames).is_ok() && TABLE.get().is_none()
}

/// The command names after applying `renames` in order (for checking a
/// further `rename-command` as Redis does).
pub fn names_after(renames: &[(String, String)]) -> Vec<String> {
    build(renames).into_keys().collect()
}

fn build(renames: &[(String, String)]) -> HashMap<String, &'static Command> {
    let mut t: HashMap<String, &'static Command> =
        COMMANDS.iter().map(|c| (c.name.to_string(), c)).collect();
    for (from, to) in renames {
        if let Some(c) = t.remove(from) {
            if !to.is_empty() {
                t.insert(to.clone(), c);
            }
        }
    }
    t
}

static TABLE: OnceLock<HashMap<Box<[u8]>, &'static Command>> = OnceLock::new();

/// Name (as clients call it: renamed by `rename-command`) → command, built
/// once.
fn table() -> &'static HashMap<Box<[u8]>, &'static Command> {
    TABLE.get_or_init(|| {
        let renames = RENAMES.get().map_or(&[][..], |r| r.as_slice());
        build(renames)
            .into_iter()
            .map(|(n, c)| (n.into_bytes().into_boxed_slice(), c))
            .collect()
    })
}

/// Looks a command up by the name clients use (`rename-command` applied),
/// case-insensitively. The last command found on this thread is tried
/// first (a pipeline repeats its command) — only without renames, since
/// the cache compares the command's own name.
pub fn lookup(name: &[u8]) -> Option<&'static Command> {
    thread_local! {
        static LAST: std::cell::Cell<Option<&'static Command>> =
            const { std::cell::Cell::new(None) };
    }
    let cacheable = RENAMES.get().map_or(true, |r| r.is_empty());
    if cacheable {
        if let Some(c) = LAST.with(|l| l.get()) {
            if name.eq_ignore_ascii_case(c.name.as_bytes()) {
                return Some(c);
            }
        }
    }
    let found = lookup_table(name);
    if cacheable && found.is_some() {
        LAST.with(|l| l.set(found));
    }
    found
}

fn lookup_table(name: &[u8]) -> Option<&'static Command> {
    // Longer names exist only through rename-command.
    let mut buf = [0u8; 32];
    if name.len() > buf.len() {
        return table().get(&*name.to_ascii_lowercase()).copied();
    }
    let lower = &mut buf[..name.len()];
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    table().get(&*lower).copied()
}

/// As [`lookup`], falling back to the original names: for commands the
/// server builds itself (a blocked client's retry), which must work
/// whatever `rename-command` did.
pub fn lookup_internal(name: &[u8]) -> Option<&'static Command> {
    lookup(name).or_else(|| {
        let lower = name.to_ascii_lowercase();
        COMMANDS.iter().find(|c| c.name.as_bytes() == lower)
    })
}

/// `ERR wrong number of arguments for 'get' command`.
pub fn arity_error(out: &mut Reply, name: &str) {
    out.error(&format!(
        "ERR wrong number of arguments for '{name}' command"
    ));
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

    #[test]
    fn key_positions() {
        let mset = lookup(b"MSET").unwrap();
        assert_eq!(mset.key_indices(5).collect::<Vec<_>>(), vec![1, 3]);
        let del = lookup(b"del").unwrap();
        assert_eq!(del.key_indices(4).collect::<Vec<_>>(), vec![1, 2, 3]);
        let rename = lookup(b"rename").unwrap();
        assert_eq!(rename.key_indices(3).collect::<Vec<_>>(), vec![1, 2]);
        // numkeys commands lock from the first key to the end (a superset).
        let lmpop = lookup(b"lmpop").unwrap();
        assert_eq!(lmpop.key_indices(5).collect::<Vec<_>>(), vec![2, 3, 4]);
        let object = lookup(b"object").unwrap();
        assert_eq!(object.key_indices(3).collect::<Vec<_>>(), vec![2]);
        assert_eq!(object.key_indices(2).count(), 0, "OBJECT HELP has no key");
        let ping = lookup(b"ping").unwrap();
        assert_eq!(ping.key_indices(2).count(), 0);
        assert!(lookup(b"nosuchcommand").is_none());
        assert!(lookup(&[b'x'; 100]).is_none());
    }

    #[test]
    fn names_are_unique_and_lowercase() {
        let mut seen = std::collections::HashSet::new();
        for c in COMMANDS {
            assert!(seen.insert(c.name), "{} twice", c.name);
            assert_eq!(c.name, c.name.to_lowercase());
        }
    }
}
