//! Lists, hashes, sets and the key-space commands that go with them (SCAN,
//! HSCAN/SSCAN, COPY, MOVE, SWAPDB, OBJECT, TYPE, WRONGTYPE), on the
//! threads and uring backends: Redis's exact replies and errors, RESP3
//! types, SCAN's guarantee under concurrent writes, and atomicity of SMOVE
//! and SUNIONSTORE across shards under concurrent clients.

mod common;

use common::{Raw, Server};
use std::collections::HashSet;

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

/// A RESP2 array of bulk strings.
fn arr(items: &[&str]) -> String {
    let mut s = format!("*{}\r\n", items.len());
    for i in items {
        s += &format!("${}\r\n{i}\r\n", i.len());
    }
    s
}

/// The bulk strings of a flat RESP2 array reply (sorted, for sets).
fn members(reply: &str) -> Vec<String> {
    let mut v: Vec<String> = reply
        .split("\r\n")
        .skip(1)
        .filter(|l| !l.starts_with('$') && !l.starts_with('*') && !l.is_empty())
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

fn lists(s: &Server) {
    let mut c = s.raw();
    assert_eq!(c.q(&["RPUSH", "l", "a", "b", "c"]), ":3\r\n");
    assert_eq!(c.q(&["LPUSH", "l", "z"]), ":4\r\n");
    assert_eq!(c.q(&["LRANGE", "l", "0", "-1"]), arr(&["z", "a", "b", "c"]));
    assert_eq!(c.q(&["LRANGE", "l", "-2", "100"]), arr(&["b", "c"]));
    assert_eq!(c.q(&["LRANGE", "l", "3", "1"]), "*0\r\n");
    assert_eq!(c.q(&["LPUSHX", "nol", "a"]), ":0\r\n");
    assert_eq!(c.q(&["RPUSHX", "l", "d"]), ":5\r\n");
    assert_eq!(c.q(&["LLEN", "l"]), ":5\r\n");
    assert_eq!(c.q(&["LINDEX", "l", "-1"]), "$1\r\nd\r\n");
    assert_eq!(c.q(&["LINDEX", "l", "9"]), "$-1\r\n");
    assert_eq!(c.q(&["LSET", "l", "0", "y"]), "+OK\r\n");
    assert_eq!(c.q(&["LSET", "l", "9", "y"]), "-ERR index out of range\r\n");
    assert_eq!(c.q(&["LSET", "nol", "0", "y"]), "-ERR no such key\r\n");
    assert_eq!(c.q(&["LINSERT", "l", "BEFORE", "b", "x"]), ":6\r\n");
    assert_eq!(c.q(&["LINSERT", "l", "AFTER", "nope", "x"]), ":-1\r\n");
    assert_eq!(c.q(&["LINSERT", "nol", "AFTER", "a", "x"]), ":0\r\n");
    assert_eq!(
        c.q(&["LINSERT", "l", "MIDDLE", "a", "x"]),
        "-ERR syntax error\r\n"
    );
    // y a x b c d
    assert_eq!(c.q(&["RPUSH", "l", "x", "a", "x"]), ":9\r\n");
    assert_eq!(c.q(&["LPOS", "l", "x"]), ":2\r\n");
    assert_eq!(c.q(&["LPOS", "l", "x", "RANK", "-1"]), ":8\r\n");
    assert_eq!(
        c.q(&["LPOS", "l", "x", "COUNT", "0"]),
        "*3\r\n:2\r\n:6\r\n:8\r\n"
    );
    assert_eq!(
        c.q(&["LPOS", "l", "x", "RANK", "2", "COUNT", "5"]),
        "*2\r\n:6\r\n:8\r\n"
    );
    assert_eq!(c.q(&["LPOS", "l", "x", "MAXLEN", "2"]), "$-1\r\n");
    assert_eq!(
        c.q(&["LPOS", "l", "x", "RANK", "0"]),
        "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list\r\n"
    );
    assert_eq!(
        c.q(&["LPOS", "l", "x", "COUNT", "-1"]),
        "-ERR COUNT can't be negative\r\n"
    );
    assert_eq!(c.q(&["LREM", "l", "-2", "x"]), ":2\r\n");
    assert_eq!(
        c.q(&["LRANGE", "l", "0", "-1"]),
        arr(&["y", "a", "x", "b", "c", "d", "a"])
    );
    assert_eq!(c.q(&["LREM", "l", "0", "a"]), ":2\r\n");
    assert_eq!(c.q(&["LTRIM", "l", "1", "-2"]), "+OK\r\n");
    assert_eq!(c.q(&["LRANGE", "l", "0", "-1"]), arr(&["x", "b", "c"]));
    assert_eq!(c.q(&["LPOP", "l"]), "$1\r\nx\r\n");
    assert_eq!(c.q(&["RPOP", "l", "5"]), arr(&["c", "b"]));
    assert_eq!(
        c.q(&["EXISTS", "l"]),
        ":0\r\n",
        "the last pop deletes the key"
    );
    assert_eq!(c.q(&["LPOP", "l", "2"]), "*-1\r\n");
    assert_eq!(c.q(&["LPOP", "l"]), "$-1\r\n");
    assert_eq!(
        c.q(&["LPOP", "l", "-1"]),
        "-ERR value is out of range, must be positive\r\n"
    );
    // LMOVE / RPOPLPUSH, including a rotation on one key.
    c.q(&["RPUSH", "src", "1", "2", "3"]);
    assert_eq!(
        c.q(&["LMOVE", "src", "dst", "LEFT", "RIGHT"]),
        "$1\r\n1\r\n"
    );
    assert_eq!(c.q(&["RPOPLPUSH", "src", "dst"]), "$1\r\n3\r\n");
    assert_eq!(c.q(&["LRANGE", "dst", "0", "-1"]), arr(&["3", "1"]));
    assert_eq!(
        c.q(&["LMOVE", "dst", "dst", "LEFT", "RIGHT"]),
        "$1\r\n3\r\n"
    );
    assert_eq!(c.q(&["LRANGE", "dst", "0", "-1"]), arr(&["1", "3"]));
    assert_eq!(c.q(&["LMOVE", "nol", "dst", "LEFT", "RIGHT"]), "$-1\r\n");
    assert_eq!(
        c.q(&["LMOVE", "src", "dst", "UP", "RIGHT"]),
        "-ERR syntax error\r\n"
    );
    // LMPOP: the first non-empty list.
    assert_eq!(
        c.q(&["LMPOP", "3", "nol", "dst", "src", "RIGHT", "COUNT", "5"]),
        "*2\r\n$3\r\ndst\r\n*2\r\n$1\r\n3\r\n$1\r\n1\r\n"
    );
    assert_eq!(c.q(&["LMPOP", "1", "nol", "LEFT"]), "*-1\r\n");
    assert_eq!(
        c.q(&["LMPOP", "0", "a", "LEFT"]),
        "-ERR numkeys should be greater than 0\r\n"
    );
    assert_eq!(
        c.q(&["LMPOP", "1", "src", "LEFT", "COUNT", "0"]),
        "-ERR count should be greater than 0\r\n"
    );
    // A blocking form with data answers at once (more in blocking.rs).
    c.q(&["RPUSH", "bl", "x"]);
    assert_eq!(c.q(&["BLPOP", "bl", "0"]), "*2\r\n$2\r\nbl\r\n$1\r\nx\r\n");
    assert_eq!(c.q(&["TYPE", "src"]), "+list\r\n");
    assert_eq!(c.q(&["OBJECT", "ENCODING", "src"]), "$9\r\nquicklist\r\n");
    c.q(&["SET", "str", "x"]);
    for cmd in [
        &["LPUSH", "str", "a"][..],
        &["LRANGE", "str", "0", "1"],
        &["LPOP", "str"],
        &["LLEN", "str"],
        &["LINDEX", "str", "0"],
        &["LMOVE", "src", "str", "LEFT", "LEFT"],
    ] {
        assert_eq!(c.q(cmd), WRONGTYPE, "{cmd:?}");
    }
    assert_eq!(c.q(&["GET", "src"]), WRONGTYPE);
    // The wrong-type destination left the source untouched.
    assert_eq!(c.q(&["LLEN", "src"]), ":1\r\n");
    // Rotating a one-element list onto itself never deletes it: its TTL
    // stays (redis-server 7.0.15: TTL 1000 after the LMOVE).
    c.q(&["RPUSH", "rot", "a"]);
    c.q(&["EXPIRE", "rot", "1000"]);
    assert_eq!(
        c.q(&["LMOVE", "rot", "rot", "LEFT", "RIGHT"]),
        "$1\r\na\r\n"
    );
    assert_ne!(c.q(&["TTL", "rot"]), ":-1\r\n");
}

fn hashes(s: &Server) {
    let mut c = s.raw();
    assert_eq!(c.q(&["HSET", "h", "a", "1", "b", "2"]), ":2\r\n");
    assert_eq!(c.q(&["HSET", "h", "a", "10", "c", "3"]), ":1\r\n");
    assert_eq!(
        c.q(&["HSET", "h", "a"]),
        "-ERR wrong number of arguments for 'hset' command\r\n"
    );
    assert_eq!(
        c.q(&["HMSET", "h", "a", "1", "b"]),
        "-ERR wrong number of arguments for 'hmset' command\r\n"
    );
    assert_eq!(c.q(&["HMSET", "h", "d", "4"]), "+OK\r\n");
    assert_eq!(c.q(&["HSETNX", "h", "a", "x"]), ":0\r\n");
    assert_eq!(c.q(&["HSETNX", "h", "e", "5"]), ":1\r\n");
    assert_eq!(c.q(&["HGET", "h", "a"]), "$2\r\n10\r\n");
    assert_eq!(c.q(&["HGET", "h", "zz"]), "$-1\r\n");
    assert_eq!(
        c.q(&["HMGET", "h", "a", "zz", "b"]),
        "*3\r\n$2\r\n10\r\n$-1\r\n$1\r\n2\r\n"
    );
    assert_eq!(c.q(&["HMGET", "noh", "a"]), "*1\r\n$-1\r\n");
    // A small hash keeps insertion order (as Redis's listpack does).
    assert_eq!(
        c.q(&["HGETALL", "h"]),
        arr(&["a", "10", "b", "2", "c", "3", "d", "4", "e", "5"])
    );
    assert_eq!(c.q(&["HKEYS", "h"]), arr(&["a", "b", "c", "d", "e"]));
    assert_eq!(c.q(&["HVALS", "h"]), arr(&["10", "2", "3", "4", "5"]));
    assert_eq!(c.q(&["HLEN", "h"]), ":5\r\n");
    assert_eq!(c.q(&["HEXISTS", "h", "a"]), ":1\r\n");
    assert_eq!(c.q(&["HEXISTS", "h", "zz"]), ":0\r\n");
    assert_eq!(c.q(&["HSTRLEN", "h", "a"]), ":2\r\n");
    assert_eq!(c.q(&["HDEL", "h", "a", "zz", "b"]), ":2\r\n");
    assert_eq!(c.q(&["HINCRBY", "h", "c", "-5"]), ":-2\r\n");
    assert_eq!(c.q(&["HINCRBY", "h", "new", "7"]), ":7\r\n");
    assert_eq!(
        c.q(&["HINCRBY", "h", "c", "x"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    c.q(&["HSET", "h", "s", "abc", "big", "9223372036854775807"]);
    assert_eq!(
        c.q(&["HINCRBY", "h", "s", "1"]),
        "-ERR hash value is not an integer\r\n"
    );
    assert_eq!(
        c.q(&["HINCRBY", "h", "big", "1"]),
        "-ERR increment or decrement would overflow\r\n"
    );
    assert_eq!(c.q(&["HINCRBYFLOAT", "h", "f", "0.1"]), "$3\r\n0.1\r\n");
    assert_eq!(c.q(&["HINCRBYFLOAT", "h", "f", "0.2"]), "$3\r\n0.3\r\n");
    assert_eq!(
        c.q(&["HINCRBYFLOAT", "h", "s", "1"]),
        "-ERR hash value is not a float\r\n"
    );
    assert_eq!(
        c.q(&["HINCRBYFLOAT", "h", "f", "inf"]),
        "-ERR value is NaN or Infinity\r\n"
    );
    assert_eq!(
        c.q(&["HINCRBYFLOAT", "h", "f", "x"]),
        "-ERR value is not a valid float\r\n"
    );
    // HRANDFIELD.
    c.q(&["DEL", "r"]);
    c.q(&["HSET", "r", "a", "1", "b", "2", "c", "3"]);
    let one = c.q(&["HRANDFIELD", "r"]);
    assert!(
        ["$1\r\na\r\n", "$1\r\nb\r\n", "$1\r\nc\r\n"].contains(&one.as_str()),
        "{one}"
    );
    assert_eq!(c.q(&["HRANDFIELD", "nor"]), "$-1\r\n");
    assert_eq!(c.q(&["HRANDFIELD", "nor", "3"]), "*0\r\n");
    assert_eq!(c.q(&["HRANDFIELD", "r", "0"]), "*0\r\n");
    assert_eq!(members(&c.q(&["HRANDFIELD", "r", "10"])), ["a", "b", "c"]);
    let two = members(&c.q(&["HRANDFIELD", "r", "2"]));
    assert!(two.len() == 2 && two[0] != two[1], "{two:?}");
    let reps = c.q(&["HRANDFIELD", "r", "-7"]);
    assert!(reps.starts_with("*7\r\n"), "{reps}");
    let wv = members(&c.q(&["HRANDFIELD", "r", "5", "WITHVALUES"]));
    assert_eq!(wv, ["1", "2", "3", "a", "b", "c"]);
    assert_eq!(
        c.q(&["HRANDFIELD", "r", "1", "FOO"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        c.q(&["HRANDFIELD", "r", "-9223372036854775808"]),
        "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"
    );
    // Encodings follow Redis's listpack thresholds: 512 fields, 64 bytes.
    assert_eq!(c.q(&["TYPE", "r"]), "+hash\r\n");
    assert_eq!(c.q(&["OBJECT", "ENCODING", "r"]), "$8\r\nlistpack\r\n");
    c.q(&["HSET", "r", "long", &"v".repeat(65)]);
    assert_eq!(c.q(&["OBJECT", "ENCODING", "r"]), "$9\r\nhashtable\r\n");
    c.q(&["HDEL", "r", "long"]);
    assert_eq!(
        c.q(&["OBJECT", "ENCODING", "r"]),
        "$9\r\nhashtable\r\n",
        "sticky"
    );
    // Deleting the last field deletes the key.
    c.q(&["HSET", "one", "f", "v"]);
    assert_eq!(c.q(&["HDEL", "one", "f"]), ":1\r\n");
    assert_eq!(c.q(&["EXISTS", "one"]), ":0\r\n");
    c.q(&["SET", "str", "x"]);
    for cmd in [
        &["HSET", "str", "a", "1"][..],
        &["HGET", "str", "a"],
        &["HGETALL", "str"],
        &["HINCRBY", "str", "a", "1"],
        &["HRANDFIELD", "str"],
        &["HSCAN", "str", "0"],
    ] {
        assert_eq!(c.q(cmd), WRONGTYPE, "{cmd:?}");
    }
    // RESP3: HGETALL is a map; HRANDFIELD WITHVALUES pairs are arrays.
    let mut c3 = s.raw();
    c3.resp3 = true;
    c3.q(&["HELLO", "3"]);
    c3.q(&["DEL", "m"]);
    c3.q(&["HSET", "m", "f", "v"]);
    assert_eq!(c3.q(&["HGETALL", "m"]), "%1\r\n$1\r\nf\r\n$1\r\nv\r\n");
    assert_eq!(c3.q(&["HGETALL", "nom"]), "%0\r\n");
    assert_eq!(
        c3.q(&["HRANDFIELD", "m", "1", "WITHVALUES"]),
        "*1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"
    );
    assert_eq!(c3.q(&["HGET", "m", "zz"]), "_\r\n");
}

fn sets(s: &Server) {
    let mut c = s.raw();
    assert_eq!(c.q(&["SADD", "s", "1", "2", "3", "2"]), ":3\r\n");
    assert_eq!(c.q(&["OBJECT", "ENCODING", "s"]), "$6\r\nintset\r\n");
    assert_eq!(c.q(&["SADD", "s", "a"]), ":1\r\n");
    assert_eq!(c.q(&["OBJECT", "ENCODING", "s"]), "$9\r\nhashtable\r\n");
    assert_eq!(c.q(&["TYPE", "s"]), "+set\r\n");
    assert_eq!(c.q(&["SCARD", "s"]), ":4\r\n");
    assert_eq!(members(&c.q(&["SMEMBERS", "s"])), ["1", "2", "3", "a"]);
    assert_eq!(c.q(&["SMEMBERS", "nos"]), "*0\r\n");
    assert_eq!(c.q(&["SISMEMBER", "s", "a"]), ":1\r\n");
    assert_eq!(c.q(&["SISMEMBER", "s", "z"]), ":0\r\n");
    assert_eq!(
        c.q(&["SMISMEMBER", "s", "a", "z", "1"]),
        "*3\r\n:1\r\n:0\r\n:1\r\n"
    );
    assert_eq!(c.q(&["SREM", "s", "a", "z"]), ":1\r\n");
    // Algebra.
    c.q(&["SADD", "t", "2", "3", "4"]);
    assert_eq!(members(&c.q(&["SINTER", "s", "t"])), ["2", "3"]);
    assert_eq!(c.q(&["SINTER", "s", "nos"]), "*0\r\n");
    assert_eq!(
        members(&c.q(&["SUNION", "s", "t", "nos"])),
        ["1", "2", "3", "4"]
    );
    assert_eq!(members(&c.q(&["SDIFF", "s", "t"])), ["1"]);
    assert_eq!(c.q(&["SINTERCARD", "2", "s", "t"]), ":2\r\n");
    assert_eq!(c.q(&["SINTERCARD", "2", "s", "t", "LIMIT", "1"]), ":1\r\n");
    assert_eq!(
        c.q(&["SINTERCARD", "3", "s", "t"]),
        "-ERR Number of keys can't be greater than number of args\r\n"
    );
    assert_eq!(
        c.q(&["SINTERCARD", "1", "s", "LIMIT", "-1"]),
        "-ERR LIMIT can't be negative\r\n"
    );
    c.q(&["SET", "dst", "x", "EX", "100"]);
    assert_eq!(c.q(&["SUNIONSTORE", "dst", "s", "t"]), ":4\r\n");
    assert_eq!(c.q(&["TYPE", "dst"]), "+set\r\n");
    assert_eq!(
        c.q(&["TTL", "dst"]),
        ":-1\r\n",
        "STORE replaces the TTL too"
    );
    assert_eq!(c.q(&["SINTERSTORE", "dst", "s", "nos"]), ":0\r\n");
    assert_eq!(c.q(&["EXISTS", "dst"]), ":0\r\n", "an empty result deletes");
    assert_eq!(c.q(&["SDIFFSTORE", "dst", "t", "s"]), ":1\r\n");
    assert_eq!(c.q(&["SMEMBERS", "dst"]), arr(&["4"]));
    // SMOVE.
    assert_eq!(c.q(&["SMOVE", "s", "t", "1"]), ":1\r\n");
    assert_eq!(c.q(&["SMOVE", "s", "t", "1"]), ":0\r\n");
    assert_eq!(c.q(&["SMOVE", "nos", "t", "1"]), ":0\r\n");
    assert_eq!(c.q(&["SISMEMBER", "t", "1"]), ":1\r\n");
    // SPOP / SRANDMEMBER.
    c.q(&["DEL", "p"]);
    c.q(&["SADD", "p", "a", "b", "c"]);
    let one = c.q(&["SRANDMEMBER", "p"]);
    assert!(one.starts_with("$1\r\n"), "{one}");
    assert_eq!(c.q(&["SRANDMEMBER", "p", "0"]), "*0\r\n");
    assert_eq!(members(&c.q(&["SRANDMEMBER", "p", "5"])), ["a", "b", "c"]);
    assert!(c.q(&["SRANDMEMBER", "p", "-6"]).starts_with("*6\r\n"));
    // A negative count asks for that many elements whatever the set's
    // size: beyond 16,777,216 it is refused (Redis 7.0 builds the reply
    // and is killed for memory), for every RANDMEMBER-like command.
    c.q(&["HSET", "rh", "f", "v"]);
    c.q(&["ZADD", "rz", "1", "m"]);
    let refused =
        "-ERR value is out of range, a negative count may ask for at most 16777216 elements\r\n";
    for cmd in [
        &["SRANDMEMBER", "p", "-9223372036854775807"][..],
        &["SRANDMEMBER", "p", "-16777217"],
        &["SRANDMEMBER", "nop", "-16777217"],
        &["HRANDFIELD", "rh", "-9223372036854775807", "WITHVALUES"],
        &["HRANDFIELD", "rh", "-16777217"],
        &["ZRANDMEMBER", "rz", "-16777217"],
    ] {
        assert_eq!(c.q(cmd), refused, "{cmd:?}");
    }
    // Where Redis has its own error first, it stays.
    assert_eq!(
        c.q(&["ZRANDMEMBER", "rz", "-9223372036854775807", "WITHSCORES"]),
        "-ERR value is out of range\r\n"
    );
    assert!(c.q(&["SRANDMEMBER", "p", "-3000"]).starts_with("*3000\r\n"));
    assert_eq!(c.q(&["SRANDMEMBER", "nop", "-6"]), "*0\r\n");
    let popped = c.q(&["SPOP", "p"]);
    assert!(popped.starts_with("$1\r\n"), "{popped}");
    assert_eq!(c.q(&["SCARD", "p"]), ":2\r\n");
    assert_eq!(members(&c.q(&["SPOP", "p", "1"])).len(), 1);
    assert_eq!(
        c.q(&["SPOP", "p", "-1"]),
        "-ERR value is out of range, must be positive\r\n"
    );
    assert!(c.q(&["SPOP", "p", "9"]).starts_with("*1\r\n"));
    assert_eq!(
        c.q(&["EXISTS", "p"]),
        ":0\r\n",
        "the last pop deletes the key"
    );
    assert_eq!(c.q(&["SPOP", "p"]), "$-1\r\n");
    assert_eq!(c.q(&["SPOP", "p", "2"]), "*0\r\n");
    // A set Redis 7.0 keeps as an intset (at most 512 integers) is listed
    // in ascending order by every command that lists a whole set (what
    // redis-server 7.0 replies to these, checked by hand); any other set
    // in hash order.
    c.q(&["SADD", "i", "30", "-5", "100", "2", "7"]);
    c.q(&["SADD", "j", "2", "99"]);
    let sorted = arr(&["-5", "2", "7", "30", "100"]);
    assert_eq!(c.q(&["SMEMBERS", "i"]), sorted);
    assert_eq!(c.q(&["SRANDMEMBER", "i", "10"]), sorted);
    assert_eq!(
        c.q(&["SSCAN", "i", "0"]),
        format!("*2\r\n$1\r\n0\r\n{sorted}")
    );
    assert_eq!(
        c.q(&["SUNION", "i", "j"]),
        arr(&["-5", "2", "7", "30", "99", "100"])
    );
    assert_eq!(c.q(&["SDIFF", "i", "j"]), arr(&["-5", "7", "30", "100"]));
    assert_eq!(c.q(&["SINTER", "j", "i", "i"]), arr(&["2"]));
    assert_eq!(c.q(&["SPOP", "i", "5"]), sorted);
    c.q(&["SET", "str", "x"]);
    for cmd in [
        &["SADD", "str", "a"][..],
        &["SMEMBERS", "str"],
        &["SINTER", "s", "str"],
        &["SUNION", "s", "str"],
        &["SUNIONSTORE", "d", "str"],
        &["SMOVE", "s", "str", "2"],
        &["SMOVE", "str", "s", "2"],
        &["SSCAN", "str", "0"],
    ] {
        assert_eq!(c.q(cmd), WRONGTYPE, "{cmd:?}");
    }
    // RESP3: sets where Redis returns sets.
    let mut c3 = s.raw();
    c3.resp3 = true;
    c3.q(&["HELLO", "3"]);
    c3.q(&["DEL", "q"]);
    c3.q(&["SADD", "q", "x"]);
    assert_eq!(c3.q(&["SMEMBERS", "q"]), "~1\r\n$1\r\nx\r\n");
    assert_eq!(c3.q(&["SINTER", "q", "q"]), "~1\r\n$1\r\nx\r\n");
    assert_eq!(c3.q(&["SUNION", "q"]), "~1\r\n$1\r\nx\r\n");
    assert_eq!(c3.q(&["SDIFF", "q", "noq"]), "~1\r\n$1\r\nx\r\n");
    assert_eq!(c3.q(&["SRANDMEMBER", "q", "1"]), "*1\r\n$1\r\nx\r\n");
    assert_eq!(c3.q(&["SPOP", "q", "1"]), "~1\r\n$1\r\nx\r\n");
    assert_eq!(c3.q(&["LPOP", "nol", "1"]), "_\r\n");
}

fn keyspace(s: &Server) {
    let mut c = s.raw();
    c.q(&["SELECT", "5"]);
    c.q(&["FLUSHDB"]);
    // OBJECT on strings.
    c.q(&["SET", "i", "123"]);
    c.q(&["SET", "e", "hello"]);
    c.q(&["SET", "r", &"x".repeat(45)]);
    c.q(&["SET", "big", "100000"]);
    assert_eq!(c.q(&["OBJECT", "ENCODING", "i"]), "$3\r\nint\r\n");
    assert_eq!(c.q(&["OBJECT", "ENCODING", "e"]), "$6\r\nembstr\r\n");
    assert_eq!(c.q(&["OBJECT", "ENCODING", "r"]), "$3\r\nraw\r\n");
    assert_eq!(c.q(&["OBJECT", "ENCODING", "nokey"]), "$-1\r\n");
    assert_eq!(c.q(&["OBJECT", "REFCOUNT", "i"]), ":2147483647\r\n");
    assert_eq!(c.q(&["OBJECT", "REFCOUNT", "big"]), ":1\r\n");
    // Whole seconds of an LRU clock (Redis's too): a second boundary can
    // fall between the SET above and this, on a loaded machine.
    let idle = c.q(&["OBJECT", "IDLETIME", "i"]);
    assert!(idle == ":0\r\n" || idle == ":1\r\n", "{idle}");
    assert!(c
        .q(&["OBJECT", "FREQ", "i"])
        .starts_with("-ERR An LFU maxmemory policy is not selected"));
    assert_eq!(
        c.q(&["OBJECT", "FOO", "i"]),
        "-ERR unknown subcommand 'FOO'. Try OBJECT HELP.\r\n"
    );
    assert_eq!(
        c.q(&["OBJECT", "ENCODING"]),
        "-ERR wrong number of arguments for 'object|encoding' command\r\n"
    );
    assert!(c
        .q(&["OBJECT", "HELP"])
        .starts_with("*15\r\n+OBJECT <subcommand>"));
    // COPY (deep, with TTL, across databases), MOVE, SWAPDB.
    c.q(&["RPUSH", "l", "a", "b"]);
    c.q(&["EXPIRE", "l", "100"]);
    assert_eq!(c.q(&["COPY", "l", "l2"]), ":1\r\n");
    assert_eq!(c.q(&["COPY", "l", "l2"]), ":0\r\n");
    assert_eq!(c.q(&["RPUSH", "l2", "c"]), ":3\r\n");
    assert_eq!(c.q(&["LLEN", "l"]), ":2\r\n", "the copy is deep");
    let ttl = c.q(&["TTL", "l2"]);
    assert!(ttl == ":100\r\n" || ttl == ":99\r\n", "{ttl}");
    assert_eq!(c.q(&["COPY", "l", "l2", "REPLACE"]), ":1\r\n");
    assert_eq!(c.q(&["LLEN", "l2"]), ":2\r\n");
    assert_eq!(c.q(&["COPY", "l", "l", "DB", "6"]), ":1\r\n");
    assert_eq!(
        c.q(&["COPY", "l", "l"]),
        "-ERR source and destination objects are the same\r\n"
    );
    assert_eq!(
        c.q(&["COPY", "l", "x", "DB", "16"]),
        "-ERR DB index is out of range\r\n"
    );
    assert_eq!(c.q(&["COPY", "l", "x", "FOO"]), "-ERR syntax error\r\n");
    assert_eq!(c.q(&["MOVE", "e", "6"]), ":1\r\n");
    assert_eq!(c.q(&["MOVE", "e", "6"]), ":0\r\n");
    assert_eq!(c.q(&["MOVE", "l", "6"]), ":0\r\n", "already there");
    assert_eq!(
        c.q(&["MOVE", "i", "5"]),
        "-ERR source and destination objects are the same\r\n"
    );
    assert_eq!(c.q(&["SWAPDB", "5", "6"]), "+OK\r\n");
    assert_eq!(c.q(&["GET", "e"]), "$5\r\nhello\r\n");
    assert_eq!(c.q(&["EXISTS", "i"]), ":0\r\n");
    assert_eq!(
        c.q(&["SWAPDB", "x", "6"]),
        "-ERR invalid first DB index\r\n"
    );
    assert_eq!(
        c.q(&["SWAPDB", "5", "99"]),
        "-ERR DB index is out of range\r\n"
    );
    c.q(&["SWAPDB", "5", "6"]);
    // SCAN: MATCH, TYPE, errors; full iteration with small COUNTs.
    c.q(&["FLUSHDB"]);
    for i in 0..200 {
        c.q(&["SET", &format!("k{i}"), "v"]);
    }
    c.q(&["SADD", "aset", "m"]);
    c.q(&["HSET", "ahash", "f", "v"]);
    let mut seen = Vec::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let r = c.q(&["SCAN", &cursor, "COUNT", "7"]);
        let lines: Vec<&str> = r.split("\r\n").collect();
        cursor = lines[2].to_string();
        seen.extend(members(&format!("*0\r\n{}", lines[3..].join("\r\n"))));
        calls += 1;
        if cursor == "0" {
            break;
        }
    }
    seen.sort();
    let n = seen.len();
    seen.dedup();
    assert_eq!(n, 202, "every key exactly once");
    assert_eq!(seen.len(), 202);
    assert!(calls > 10, "COUNT is honoured ({calls} calls)");
    assert_eq!(
        c.q(&["SCAN", "0", "COUNT", "1000", "TYPE", "SET"]),
        "*2\r\n$1\r\n0\r\n*1\r\n$4\r\naset\r\n"
    );
    assert_eq!(
        members(&c.q(&["SCAN", "0", "COUNT", "1000", "MATCH", "k1?"])).len(),
        1 + 10
    );
    assert_eq!(c.q(&["SCAN", "x"]), "-ERR invalid cursor\r\n");
    assert_eq!(c.q(&["SCAN", "0", "COUNT", "0"]), "-ERR syntax error\r\n");
    assert_eq!(c.q(&["SCAN", "0", "FOO", "1"]), "-ERR syntax error\r\n");
    // HSCAN/SSCAN: small collections in one call, cursor 0.
    assert_eq!(
        c.q(&["HSCAN", "ahash", "0"]),
        "*2\r\n$1\r\n0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"
    );
    assert_eq!(
        c.q(&["SSCAN", "aset", "0", "MATCH", "z*"]),
        "*2\r\n$1\r\n0\r\n*0\r\n"
    );
    assert_eq!(c.q(&["SSCAN", "noset", "0"]), "*2\r\n$1\r\n0\r\n*0\r\n");
    assert_eq!(
        c.q(&["HSCAN", "ahash", "0", "TYPE", "x"]),
        "-ERR syntax error\r\n"
    );
    c.q(&["FLUSHDB"]);
}

/// SCAN's guarantee while another client inserts (forcing the shards'
/// tables to grow and rehash) and deletes: every key present for the whole
/// scan is returned, and (our stronger property) none twice.
fn scan_under_writes(s: &Server) {
    let mut c = s.raw();
    c.q(&["SELECT", "7"]);
    c.q(&["FLUSHDB"]);
    let mut batch = Vec::new();
    for i in 0..3000 {
        batch.extend(common::encode(&[
            b"SET",
            format!("stay:{i}").as_bytes(),
            b"v",
        ]));
        batch.extend(common::encode(&[
            b"SET",
            format!("tmp:{i}").as_bytes(),
            b"v",
        ]));
    }
    c.send_raw(&batch);
    for _ in 0..6000 {
        c.read_reply().unwrap();
    }
    let port = s.port;
    let writer = std::thread::spawn(move || {
        let mut w = Raw::connect(port);
        w.q(&["SELECT", "7"]);
        for i in 0..3000 {
            w.q(&["SET", &format!("new:{i}"), "v"]);
            w.q(&["DEL", &format!("tmp:{i}")]);
        }
    });
    let mut seen = Vec::new();
    let mut cursor = "0".to_string();
    loop {
        let r = c.q(&["SCAN", &cursor, "COUNT", "25", "MATCH", "stay:*"]);
        let lines: Vec<&str> = r.split("\r\n").collect();
        cursor = lines[2].to_string();
        seen.extend(members(&format!("*0\r\n{}", lines[3..].join("\r\n"))));
        if cursor == "0" {
            break;
        }
    }
    writer.join().unwrap();
    let n = seen.len();
    let set: HashSet<String> = seen.into_iter().collect();
    assert_eq!(set.len(), n, "no key returned twice");
    for i in 0..3000 {
        assert!(set.contains(&format!("stay:{i}")), "stay:{i} missed");
    }
    // HSCAN over a big (hashtable) hash while fields come and go.
    c.q(&["DEL", "bh"]);
    for i in 0..300 {
        c.q(&[
            "HSET",
            "bh",
            &format!("stay{i}"),
            "v",
            &format!("tmp{i}"),
            "v",
        ]);
    }
    assert_eq!(c.q(&["OBJECT", "ENCODING", "bh"]), "$9\r\nhashtable\r\n");
    let mut fields = HashSet::new();
    let mut cursor = "0".to_string();
    let mut i = 0;
    loop {
        let r = c.q(&["HSCAN", "bh", &cursor, "COUNT", "10"]);
        let lines: Vec<&str> = r.split("\r\n").collect();
        cursor = lines[2].to_string();
        // Field/value pairs: every other bulk is a field.
        let bulks: Vec<&str> = lines[4..]
            .iter()
            .filter(|l| !l.starts_with('$') && !l.is_empty())
            .copied()
            .collect();
        fields.extend(bulks.iter().step_by(2).map(|f| f.to_string()));
        c.q(&["HDEL", "bh", &format!("tmp{i}")]);
        c.q(&["HSET", "bh", &format!("new{i}"), "v"]);
        i += 1;
        if cursor == "0" {
            break;
        }
    }
    for i in 0..300 {
        assert!(fields.contains(&format!("stay{i}")), "stay{i} missed");
    }
    c.q(&["FLUSHDB"]);
}

/// SMOVE and SUNIONSTORE hold both keys' shards: concurrent readers never
/// see a member in both sets or in neither, nor a partial STORE result.
fn cross_shard_atomicity(s: &Server) {
    let client = redis::Client::open(s.url()).unwrap();
    let mut con = client.get_connection().unwrap();
    let _: () = redis::cmd("SELECT").arg(8).query(&mut con).unwrap();
    let _: () = redis::cmd("FLUSHDB").query(&mut con).unwrap();
    let members: Vec<String> = (0..100).map(|i| format!("m{i}")).collect();
    let _: i64 = redis::cmd("SADD")
        .arg("A")
        .arg(&members)
        .query(&mut con)
        .unwrap();
    let _: i64 = redis::cmd("SUNIONSTORE")
        .arg("U")
        .arg("A")
        .arg("B")
        .query(&mut con)
        .unwrap();
    let movers: Vec<_> = (0..3)
        .map(|t| {
            let client = client.clone();
            std::thread::spawn(move || {
                let mut con = client.get_connection().unwrap();
                let _: () = redis::cmd("SELECT").arg(8).query(&mut con).unwrap();
                for i in 0..400 {
                    let m = format!("m{}", (i * 7 + t * 13) % 100);
                    let (from, to) = if i % 2 == 0 { ("A", "B") } else { ("B", "A") };
                    let _: i64 = redis::cmd("SMOVE")
                        .arg(from)
                        .arg(to)
                        .arg(&m)
                        .query(&mut con)
                        .unwrap();
                }
            })
        })
        .collect();
    let storer = {
        let client = client.clone();
        std::thread::spawn(move || {
            let mut con = client.get_connection().unwrap();
            let _: () = redis::cmd("SELECT").arg(8).query(&mut con).unwrap();
            for _ in 0..400 {
                let n: i64 = redis::cmd("SUNIONSTORE")
                    .arg("U")
                    .arg("A")
                    .arg("B")
                    .query(&mut con)
                    .unwrap();
                assert_eq!(n, 100, "SUNIONSTORE saw a half-done SMOVE");
            }
        })
    };
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let client = client.clone();
            std::thread::spawn(move || {
                let mut con = client.get_connection().unwrap();
                let _: () = redis::cmd("SELECT").arg(8).query(&mut con).unwrap();
                for _ in 0..400 {
                    let both: i64 = redis::cmd("SINTERCARD")
                        .arg(2)
                        .arg("A")
                        .arg("B")
                        .query(&mut con)
                        .unwrap();
                    assert_eq!(both, 0, "a member in both sets");
                    let all: Vec<String> = redis::cmd("SUNION")
                        .arg("A")
                        .arg("B")
                        .query(&mut con)
                        .unwrap();
                    assert_eq!(all.len(), 100, "a member in neither set");
                    let u: i64 = redis::cmd("SCARD").arg("U").query(&mut con).unwrap();
                    assert_eq!(u, 100, "a partial SUNIONSTORE result");
                }
            })
        })
        .collect();
    for t in movers.into_iter().chain([storer]).chain(readers) {
        t.join().unwrap();
    }
    let a: i64 = redis::cmd("SCARD").arg("A").query(&mut con).unwrap();
    let b: i64 = redis::cmd("SCARD").arg("B").query(&mut con).unwrap();
    assert_eq!(a + b, 100);
}

per_backend! {
    collection_semantics => [lists, hashes, sets, keyspace],
    scan_guarantee_under_concurrent_writes => [scan_under_writes],
    smove_and_sunionstore_are_atomic_across_shards => [cross_shard_atomicity],
}
