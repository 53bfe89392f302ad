//! Lua scripting (EVAL, EVALSHA, EVAL_RO, SCRIPT): replies and error texts
//! recorded from redis-server 7.0.15 (the tables below were captured from
//! it, script by script), the libraries people run (redis-py's Lock, a
//! BullMQ-style job script touching keys it did not declare) under
//! concurrent clients, EVAL inside MULTI and under WATCH, propagation (the
//! AOF replays scripts that used math.random, TIME and SPOP to the same
//! data), and hostile scripts that must get an error while the server
//! lives.

mod common;

use common::{Raw, Server};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

type Case = (&'static [&'static str], &'static [u8]);

/// Runs `cases` in order on one connection; every reply must be
/// byte-for-byte the recorded one.
fn expect_all(c: &mut Raw, cases: &[Case]) {
    for (args, want) in cases {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        let got = c.cmd(&a);
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(want),
            "{args:?}"
        );
    }
}

/// Error replies, sandbox and argument checks, as redis-server 7.0.15
/// words them (the `script: <sha>, on @user_script:<line>.` suffix, the
/// position prefix of Lua errors, `pcall` turning an error table into its
/// string).
const ERRORS: &[Case] = &[
        (&["EVAL", "x = 1", "0"], b"-ERR user_script:1: Attempt to modify a readonly table script: 34bce5f775de97f557a34088509c8bfe1ea17e52, on @user_script:1.\r\n"),
        (&["EVAL", "return y", "0"], b"-ERR user_script:1: Script attempted to access nonexistent global variable 'y' script: e278681ed961e2fb52881313e5c90fdd93749940, on @user_script:1.\r\n"),
        (&["EVAL", "string.x = 1", "0"], b"-ERR user_script:1: Attempt to modify a readonly table script: c3eb0a2a15b3d4790b323c4104029c1ae425a769, on @user_script:1.\r\n"),
        (&["EVAL", "rawset(_G, \"x\", 1)", "0"], b"-ERR Attempt to modify a readonly table script: 65ef3ec3263f0393f2c50ec499529357012d55c2, on @user_script:1.\r\n"),
        (&["EVAL", "return type(os)", "0"], b"-ERR user_script:1: Script attempted to access nonexistent global variable 'os' script: 88bfcb2247db0b6fa4925f3cddc3fd0651459f99, on @user_script:1.\r\n"),
        (&["EVAL", "return type(io)", "0"], b"-ERR user_script:1: Script attempted to access nonexistent global variable 'io' script: 918bbded8bab006be53c3db116d9c93508fc799a, on @user_script:1.\r\n"),
        (&["EVAL", "return type(loadfile)", "0"], b"-ERR user_script:1: Script attempted to access nonexistent global variable 'loadfile' script: dc6fbc079d0e6ef2af8c376dda4f3d362fa30d87, on @user_script:1.\r\n"),
        (&["EVAL", "return type(dofile)", "0"], b"-ERR user_script:1: Script attempted to access nonexistent global variable 'dofile' script: f14b399205539f5db37113032a1a25c72b8c6743, on @user_script:1.\r\n"),
        (&["EVAL", "return type(require)", "0"], b"-ERR user_script:1: Script attempted to access nonexistent global variable 'require' script: a10ff9bcfafac54cee41502b0e65e31ab05862c3, on @user_script:1.\r\n"),
        (&["EVAL", "return type(print)", "0"], b"-ERR user_script:1: Script attempted to access nonexistent global variable 'print' script: 296aa29e565df267b5e30e498f3872c9f9e8e8cc, on @user_script:1.\r\n"),
        (&["EVAL", "return type(debug)", "0"], b"-ERR user_script:1: Script attempted to access nonexistent global variable 'debug' script: 21bcbd6f0f3639ee18732cb6907e65a4859b9625, on @user_script:1.\r\n"),
        (&["EVAL", "return redis.call(\"nope\")", "0"], b"-ERR Unknown Redis command called from script script: 8a08f4b52efaa2014867874031e0f420f142f6b5, on @user_script:1.\r\n"),
        (&["SET", "kstr", "abc"], b"+OK\r\n"),
        (&["EVAL", "return redis.call(\"incr\", KEYS[1])", "1", "kstr"], b"-ERR value is not an integer or out of range script: 024f02195a7e52e1776d26af209f8a79d0470e0f, on @user_script:1.\r\n"),
        (&["EVAL", "return redis.pcall(\"incr\", KEYS[1])", "1", "kstr"], b"-ERR value is not an integer or out of range\r\n"),
        (&["EVAL", "local ok, e = pcall(redis.call, \"incr\", KEYS[1]) return e", "1", "kstr"], b"$43\r\nERR value is not an integer or out of range\r\n"),
        (&["EVAL", "return 1 +", "0"], b"-ERR Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'\r\n"),
        (&["EVAL", "error(\"boom\")", "0"], b"-ERR user_script:1: boom script: 872b3fcb081448525c6141cdfa3df8374d30d162, on @user_script:1.\r\n"),
        (&["EVAL", "\nlocal a = 1\nerror(\"x\")", "0"], b"-ERR user_script:3: x script: f885186ed3ae7e1a98e52180fbc058d7686f018b, on @user_script:3.\r\n"),
        (&["EVAL", "local function f() error(\"deep\") end\nf()", "0"], b"-ERR user_script:1: deep script: ab0a4919edc8bd03a2868f9bfcb1fa464a5770d9, on @user_script:1.\r\n"),
        (&["EVAL", "error({err=\"MY boom\"})", "0"], b"-MY boom script: 6f210a79061330ed689d8391066504f6e8d371f5, on @user_script:1.\r\n"),
        (&["EVAL", "error(\"x\", 0)", "0"], b"-ERR x script: e777b076e81c04cb1df465a6ec99de6666fd7d46, on @user_script:1.\r\n"),
        (&["EVAL", "error()", "0"], b"-ERR nil script: aca90d914519fdb9825352bdc0befb59f7c8510f, on @user_script:1.\r\n"),
        (&["EVAL", "return redis.error_reply(\"MY err\")", "0"], b"-MY err\r\n"),
        (&["EVAL", "return redis.error_reply(\"noprefix\")", "0"], b"-ERR noprefix\r\n"),
        (&["EVAL", "return redis.error_reply()", "0"], b"-ERR wrong number or type of arguments\r\n"),
        (&["EVAL", "return redis.status_reply(\"FINE\")", "0"], b"+FINE\r\n"),
        (&["EVAL", "return {err=\"x\"}", "0"], b"-x\r\n"),
        (&["EVAL", "return redis.call()", "0"], b"-ERR Please specify at least one argument for this redis lib call script: 0a907e1429221a4d85516cab7fd219a82a9439d8, on @user_script:1.\r\n"),
        (&["EVAL", "return redis.call(\"get\", {})", "0"], b"-ERR Lua redis lib command arguments must be strings or integers script: 7a5fe891c214c0fa43feaefd41f433083050825e, on @user_script:1.\r\n"),
        (&["EVAL", "return redis.call(\"get\")", "0"], b"-ERR Wrong number of args calling Redis command from script script: ad9cf9305028be601cfd2abed4ce895eb41a4a6f, on @user_script:1.\r\n"),
        (&["EVAL", "return redis.call(\"eval\", \"return 1\", 0)", "0"], b"-ERR This Redis command is not allowed from script script: 62d02e711a2b06c3562ad1d002157caec21dff05, on @user_script:1.\r\n"),
        (&["EVAL", "return redis.call(\"blpop\", \"l\", 0)", "0"], b"-ERR This Redis command is not allowed from script script: 03478ba6274c86a70b9a88415fc89c7f24118648, on @user_script:1.\r\n"),
        (&["EVAL", "return redis.call(\"multi\")", "0"], b"-ERR This Redis command is not allowed from script script: 211a39902cf76b98677003ff6f4c16cf0d1d5d6b, on @user_script:1.\r\n"),
        (&["EVAL", "#!lua flags=no-writes\nreturn redis.call(\"set\", \"a\", \"b\")", "0"], b"-ERR Write commands are not allowed from read-only scripts. script: c59ae619f907f1217bff98ea88dcd96fe2741b91, on @user_script:2.\r\n"),
        (&["EVAL_RO", "return redis.call(\"set\", \"a\", \"b\")", "0"], b"-ERR Write commands are not allowed from read-only scripts. script: bfdb07e8c2c5bf12105b9314e209274ffe67c02a, on @user_script:1.\r\n"),
        (&["EVAL_RO", "#!lua\nreturn 1", "0"], b"-ERR Can not execute a script with write flag using *_ro command.\r\n"),
        (&["EVAL", "#!lua flags=bogus\nreturn 1", "0"], b"-ERR Unexpected flag in script shebang: bogus\r\n"),
        (&["EVAL", "#!python\nreturn 1", "0"], b"-ERR Unexpected engine in script shebang: #!python\r\n"),
        (&["EVAL", "#!lua x=y\nreturn 1", "0"], b"-ERR Unknown lua shebang option: x=y\r\n"),
        (&["EVAL", "return redis.setresp(4)", "0"], b"-ERR RESP version must be 2 or 3. script: 921c0a48021d97dfd5884aeea41875972c7804d9, on @user_script:1.\r\n"),
        (&["EVAL", "return redis.set_repl(99)", "0"], b"-ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE. script: fae934173b6296d6836d5d5f52e192640f8897d9, on @user_script:1.\r\n"),
        (&["EVAL", "return redis.log(9, \"y\")", "0"], b"-ERR Invalid debug level. script: c3219e7c4bee2ed7b84760d58a564e631fd4116c, on @user_script:1.\r\n"),
        (&["EVAL", "return 1", "5", "a"], b"-ERR Number of keys can't be greater than number of args\r\n"),
        (&["EVAL", "return 1", "-1"], b"-ERR Number of keys can't be negative\r\n"),
        (&["EVAL", "return 1", "x"], b"-ERR value is not an integer or out of range\r\n"),
        (&["EVALSHA", "ffffffffffffffffffffffffffffffffffffffff", "0"], b"-NOSCRIPT No matching script. Please use EVAL.\r\n"),
        (&["EVALSHA", "abc", "0"], b"-NOSCRIPT No matching script. Please use EVAL.\r\n"),
        (&["EVAL", "return cjson.decode(\"{\")", "0"], b"-ERR user_script:1: Expected object key string but found T_END at character 2 script: 11c9a27f0575c57ad53dea0235e50ac048d289a5, on @user_script:1.\r\n"),
        (&["EVAL", "return cjson.encode(function() end)", "0"], b"-ERR user_script:1: Cannot serialise function: type not supported script: c6600573aa08cdf0af5da6e0ef682db69a3acc00, on @user_script:1.\r\n"),
        (&["EVAL", "return cjson.encode({[1]=1,[30]=3})", "0"], b"-ERR user_script:1: Cannot serialise table: excessively sparse array script: 192b3af9fff8485280fdaa0d9aacd2968bccc465, on @user_script:1.\r\n"),
        (&["EVAL", "return struct.pack(\"q\", 1)", "0"], b"-ERR user_script:1: bad argument #1 to 'pack' (invalid format option 'q') script: 29182d5f54445f10668fff8a89551c9557b5b9c1, on @user_script:1.\r\n"),
        (&["EVAL", "return bit.tobit({})", "0"], b"-ERR user_script:1: bad argument #1 to 'tobit' (number expected, got table) script: c9c355caabcd207bb2074ae3fd5cc71de2ef4e3e, on @user_script:1.\r\n"),
        (&["EVAL", "return string.rep()", "0"], b"-ERR user_script:1: bad argument #1 to 'rep' (string expected, got no value) script: 312a592c4be4cbcb6748209b815c8eb090f3ca71, on @user_script:1.\r\n"),
        (&["EVAL", "local ok, e = pcall(cjson.decode, \"{\") return e", "0"], b"$57\r\nExpected object key string but found T_END at character 2\r\n"),
        (&["EVAL", "return cmsgpack.pack()", "0"], b"-ERR user_script:1: bad argument #0 to 'pack' (MessagePack pack needs input.) script: 6bc235afa55de88253e203cc5fe5844792e25209, on @user_script:1.\r\n"),
        (&["EVAL", "return redis.call(\"xread\", \"block\", \"1000\", \"streams\", \"nos\", \"$\")", "0"], b"-ERR xread command is not allowed with BLOCK option from scripts script: 496bfa29123b19b60ff79b44dd55eea7d76d082e, on @user_script:1.\r\n"),
        (&["EVAL", "return redis.call(\"xread\", \"streams\", \"nos\", \"0\")", "0"], b"$-1\r\n"),
        (&["SCRIPT", "FLUSH", "BOGUS"], b"-ERR SCRIPT FLUSH only support SYNC|ASYNC option\r\n"),
        (&["SCRIPT", "KILL"], b"-NOTBUSY No scripts in execution right now.\r\n"),
];

/// Lua ⇄ RESP conversions (RESP2 client; `redis.setresp(3)` for the
/// script's side), the libraries' outputs, the `redis` table's contents.
const CONVERSIONS: &[Case] = &[
        (&["HSET", "h", "a", "1"], b":1\r\n"),
        (&["ZADD", "z", "1.5", "m"], b":1\r\n"),
        (&["SADD", "s", "x"], b":1\r\n"),
        (&["EVAL", "return {1, 2, 3.9, \"x\", nil, 5}", "0"], b"*4\r\n:1\r\n:2\r\n:3\r\n$1\r\nx\r\n"),
        (&["EVAL", "return {1, 2.5, {err=\"E x\"}, {ok=\"fine\"}, true, false}", "0"], b"*6\r\n:1\r\n:2\r\n-E x\r\n+fine\r\n:1\r\n$-1\r\n"),
        (&["EVAL", "return true", "0"], b":1\r\n"),
        (&["EVAL", "return false", "0"], b"$-1\r\n"),
        (&["EVAL", "return nil", "0"], b"$-1\r\n"),
        (&["EVAL", "return 3.99", "0"], b":3\r\n"),
        (&["EVAL", "return -2^63", "0"], b":-9223372036854775808\r\n"),
        (&["EVAL", "return 2^63", "0"], b":-9223372036854775808\r\n"),
        (&["EVAL", "return {ok=\"x\"}", "0"], b"+x\r\n"),
        (&["EVAL", "return {double=3.14}", "0"], b"$18\r\n3.1400000000000001\r\n"),
        (&["EVAL", "return {big_number=\"123\"}", "0"], b"$3\r\n123\r\n"),
        (&["EVAL", "return {map={a=1}}", "0"], b"*2\r\n$1\r\na\r\n:1\r\n"),
        (&["EVAL", "return {set={a=true}}", "0"], b"*1\r\n$1\r\na\r\n"),
        (&["EVAL", "return {verbatim_string={format=\"txt\", string=\"hi\"}}", "0"], b"$2\r\nhi\r\n"),
        (&["EVAL", "return redis.call(\"get\", \"nokey\")", "0"], b"$-1\r\n"),
        (&["EVAL", "return type(redis.call(\"get\", \"nokey\"))", "0"], b"$7\r\nboolean\r\n"),
        (&["EVAL", "return redis.call(\"set\", \"a\", \"b\")", "0"], b"+OK\r\n"),
        (&["EVAL", "return redis.call(\"set\", \"a\", \"b\").ok", "0"], b"$2\r\nOK\r\n"),
        (&["EVAL", "return redis.call(\"hgetall\", \"h\")", "0"], b"*2\r\n$1\r\na\r\n$1\r\n1\r\n"),
        (&["EVAL", "return redis.call(\"zscore\", \"z\", \"m\")", "0"], b"$3\r\n1.5\r\n"),
        (&["EVAL", "redis.setresp(3) return redis.call(\"hgetall\", \"h\")", "0"], b"*2\r\n$1\r\na\r\n$1\r\n1\r\n"),
        (&["EVAL", "redis.setresp(3) return redis.call(\"hgetall\", \"h\").map.a", "0"], b"$1\r\n1\r\n"),
        (&["EVAL", "redis.setresp(3) return type(redis.call(\"get\", \"nokey\"))", "0"], b"$3\r\nnil\r\n"),
        (&["EVAL", "redis.setresp(3) local d = redis.call(\"zscore\", \"z\", \"m\") return {type(d), tostring(d.double)}", "0"], b"*2\r\n$5\r\ntable\r\n$3\r\n1.5\r\n"),
        (&["EVAL", "redis.setresp(3) return redis.call(\"zscore\", \"z\", \"m\")", "0"], b"$3\r\n1.5\r\n"),
        (&["EVAL", "redis.setresp(3) return redis.call(\"smembers\", \"s\")", "0"], b"*1\r\n$1\r\nx\r\n"),
        (&["EVAL", "redis.setresp(3) return {true, false}", "0"], b"*2\r\n:1\r\n:0\r\n"),
        (&["EVAL", "redis.setresp(3) return redis.call(\"exists\", \"nokey\") == 0", "0"], b":1\r\n"),
        (&["EVAL", "return redis.call(\"set\", \"n\", 1/3)", "0"], b"+OK\r\n"),
        (&["GET", "n"], b"$19\r\n0.33333333333333331\r\n"),
        (&["EVAL", "return tostring(1/3)", "0"], b"$16\r\n0.33333333333333\r\n"),
        (&["EVAL", "return {KEYS[1], ARGV[1], ARGV[3], #KEYS, #ARGV}", "1", "k", "a", "b", "c"], b"*5\r\n$1\r\nk\r\n$1\r\na\r\n$1\r\nc\r\n:1\r\n:3\r\n"),
        (&["EVAL", "redis.call(\"select\", 3) return redis.call(\"set\", \"insel\", \"1\")", "0"], b"+OK\r\n"),
        (&["EXISTS", "insel"], b":0\r\n"),
        (&["EVAL", "return cjson.encode({1, 2, {a=1}, \"x\", cjson.null, 1.5, 1e20, 0.1})", "0"], b"$36\r\n[1,2,{\"a\":1},\"x\",null,1.5,1e+20,0.1]\r\n"),
        (&["EVAL", "return cjson.encode({})", "0"], b"$2\r\n{}\r\n"),
        (&["EVAL", "return cjson.encode({[1]=1,[3]=3})", "0"], b"$10\r\n[1,null,3]\r\n"),
        (&["EVAL", "return cjson.encode(\"a\\\\\"b/\\\n\\\\1\")", "0"], b"-ERR Error compiling script (new function): user_script:1: ')' expected near 'b'\r\n"),
        (&["EVAL", "return cjson.encode(123456789012345)", "0"], b"$19\r\n1.2345678901234e+14\r\n"),
        (&["EVAL", "local t = cjson.decode(\"[1,2.5,\\\\\"x\\\\\",null,{\\\\\"a\\\\\":[]}]\") return {t[1], tostring(t[2]), t[3], tostring(t[4] == cjson.null), type(t[5])}", "0"], b"-ERR Error compiling script (new function): user_script:1: ')' expected near 'x'\r\n"),
        (&["EVAL", "local t = cjson.decode(\"{\\\\\"a\\\\\":{\\\\\"b\\\\\":[1,2,3]},\\\\\"c\\\\\":\\\\\"\\\\\\\\u00e9\\\\\"}\") return {t.a.b[3], t.c}", "0"], b"-ERR Error compiling script (new function): user_script:1: ')' expected near 'a'\r\n"),
        (&["EVAL", "return cjson.decode(\"[1 2]\")", "0"], b"-ERR user_script:1: Expected comma or array end but found T_NUMBER at character 4 script: 43fe4160b69fdce8bf987bf753bf68a5610bb971, on @user_script:1.\r\n"),
        (&["EVAL", "return cjson.decode(\"{\\\\\"a\\\\\" 1}\")", "0"], b"-ERR Error compiling script (new function): user_script:1: ')' expected near 'a'\r\n"),
        (&["EVAL", "return cmsgpack.pack({1,2,3}, \"ab\", 1.5, -1, 300, {a=1})", "0"], b"$20\r\n\x93\x01\x02\x03\xa2ab\xca?\xc0\x00\x00\xff\xcd\x01,\x81\xa1a\x01\r\n"),
        (&["EVAL", "return cmsgpack.pack(string.rep(\"a\", 40), string.rep(\"b\", 300), 65536, -200, -40000, -3000000000, 2^40, 0.1)", "0"], b"$385\r\n\xd9(aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xda\x01,bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\xce\x00\x01\x00\x00\xd1\xff8\xd2\xff\xffc\xc0\xd3\xff\xff\xff\xffM/\xa2\x00\xcf\x00\x00\x01\x00\x00\x00\x00\x00\xcb?\xb9\x99\x99\x99\x99\x99\x9a\r\n"),
        (&["EVAL", "return {cmsgpack.unpack(cmsgpack.pack({1,2,3}, \"ab\", -1, 300, -40000, 2^40))}", "0"], b"*6\r\n*3\r\n:1\r\n:2\r\n:3\r\n$2\r\nab\r\n:-1\r\n:300\r\n:-40000\r\n:1099511627776\r\n"),
        (&["EVAL", "return {cmsgpack.unpack_limit(cmsgpack.pack(1,2,3), 2)}", "0"], b"*3\r\n:2\r\n:1\r\n:2\r\n"),
        (&["EVAL", "return struct.pack(\">i2<I4c3\", 1, 2, \"abc\")", "0"], b"$9\r\n\x00\x01\x02\x00\x00\x00abc\r\n"),
        (&["EVAL", "return {struct.unpack(\">i2<I4c3\", struct.pack(\">i2<I4c3\", -3, 2, \"abc\"))}", "0"], b"*4\r\n:-3\r\n:2\r\n$3\r\nabc\r\n:10\r\n"),
        (&["EVAL", "return {struct.unpack(\"bc0\", \"\\\\3abcd\")}", "0"], b"-ERR user_script:1: bad argument #2 to 'unpack' (data string too short) script: a6ffbb28709f87a545e8563520148be7a08efc1c, on @user_script:1.\r\n"),
        (&["EVAL", "return {struct.size(\"!4bi\"), struct.pack(\"!4bi\", 1, 2)}", "0"], b"*2\r\n:8\r\n$8\r\n\x01\x00\x00\x00\x02\x00\x00\x00\r\n"),
        (&["EVAL", "return {struct.unpack(\"<d>f\", struct.pack(\"<d>f\", 1.5, 2.25))}", "0"], b"*3\r\n:1\r\n:2\r\n:13\r\n"),
        (&["EVAL", "return {bit.tobit(2^32+5), bit.tohex(255), bit.tohex(-1, 4), bit.tohex(65535, -4), bit.band(7,3), bit.bor(1,2,4), bit.lshift(1,31), bit.rshift(-1, 28), bit.arshift(-16,2), bit.bswap(1), bit.rol(1,33), bit.ror(1,1), bit.bnot(0)}", "0"], b"*13\r\n:5\r\n$8\r\n000000ff\r\n$4\r\nffff\r\n$4\r\nFFFF\r\n:3\r\n:7\r\n:-2147483648\r\n:15\r\n:-4\r\n:16777216\r\n:2\r\n:-2147483648\r\n:-1\r\n"),
        (&["EVAL", "return redis.sha1hex(\"\")", "0"], b"$40\r\nda39a3ee5e6b4b0d3255bfef95601890afd80709\r\n"),
        (&["EVAL", "return {redis.REDIS_VERSION, redis.REDIS_VERSION_NUM}", "0"], b"*2\r\n$6\r\n7.0.15\r\n:458767\r\n"),
        (&["EVAL", "return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING, redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL}", "0"], b"*9\r\n:0\r\n:1\r\n:2\r\n:3\r\n:0\r\n:1\r\n:2\r\n:2\r\n:3\r\n"),
        (&["EVAL", "return {redis.breakpoint(), redis.replicate_commands(), redis.set_repl(redis.REPL_ALL)}", "0"], b"*2\r\n$-1\r\n:1\r\n"),
        (&["EVAL", "local t={} for k,v in pairs(_G) do t[#t+1]=k..\":\"..type(v) end table.sort(t) return t", "0"], b"*35\r\n$10\r\nARGV:table\r\n$10\r\nKEYS:table\r\n$8\r\n_G:table\r\n$15\r\n_VERSION:string\r\n$30\r\n__redis__err__handler:function\r\n$15\r\nassert:function\r\n$9\r\nbit:table\r\n$11\r\ncjson:table\r\n$14\r\ncmsgpack:table\r\n$23\r\ncollectgarbage:function\r\n$15\r\ncoroutine:table\r\n$14\r\nerror:function\r\n$15\r\ngcinfo:function\r\n$21\r\ngetmetatable:function\r\n$15\r\nipairs:function\r\n$13\r\nload:function\r\n$19\r\nloadstring:function\r\n$10\r\nmath:table\r\n$13\r\nnext:function\r\n$14\r\npairs:function\r\n$14\r\npcall:function\r\n$17\r\nrawequal:function\r\n$15\r\nrawget:function\r\n$15\r\nrawset:function\r\n$11\r\nredis:table\r\n$15\r\nselect:function\r\n$21\r\nsetmetatable:function\r\n$12\r\nstring:table\r\n$12\r\nstruct:table\r\n$11\r\ntable:table\r\n$17\r\ntonumber:function\r\n$17\r\ntostring:function\r\n$13\r\ntype:function\r\n$15\r\nunpack:function\r\n$15\r\nxpcall:function\r\n"),
        (&["EVAL", "local t={} for k,v in pairs(redis) do t[#t+1]=k..\":\"..type(v) end table.sort(t) return t", "0"], b"*23\r\n$16\r\nLOG_DEBUG:number\r\n$17\r\nLOG_NOTICE:number\r\n$18\r\nLOG_VERBOSE:number\r\n$18\r\nLOG_WARNING:number\r\n$20\r\nREDIS_VERSION:string\r\n$24\r\nREDIS_VERSION_NUM:number\r\n$15\r\nREPL_ALL:number\r\n$15\r\nREPL_AOF:number\r\n$16\r\nREPL_NONE:number\r\n$19\r\nREPL_REPLICA:number\r\n$17\r\nREPL_SLAVE:number\r\n$22\r\nacl_check_cmd:function\r\n$19\r\nbreakpoint:function\r\n$13\r\ncall:function\r\n$14\r\ndebug:function\r\n$20\r\nerror_reply:function\r\n$12\r\nlog:function\r\n$14\r\npcall:function\r\n$27\r\nreplicate_commands:function\r\n$17\r\nset_repl:function\r\n$16\r\nsetresp:function\r\n$16\r\nsha1hex:function\r\n$21\r\nstatus_reply:function\r\n"),
        (&["EVAL", "local r={} for _,lib in ipairs({\"string\",\"table\",\"math\",\"bit\",\"struct\",\"cjson\",\"cmsgpack\",\"coroutine\"}) do local t={} for k,v in pairs(_G[lib] or {}) do t[#t+1]=k end table.sort(t) r[#r+1]=lib..\"=\"..table.concat(t,\",\") end return r", "0"], b"*8\r\n$89\r\nstring=byte,char,dump,find,format,gfind,gmatch,gsub,len,lower,match,rep,reverse,sub,upper\r\n$63\r\ntable=concat,foreach,foreachi,getn,insert,maxn,remove,setn,sort\r\n$158\r\nmath=abs,acos,asin,atan,atan2,ceil,cos,cosh,deg,exp,floor,fmod,frexp,huge,ldexp,log,log10,max,min,mod,modf,pi,pow,rad,random,randomseed,sin,sinh,sqrt,tan,tanh\r\n$70\r\nbit=arshift,band,bnot,bor,bswap,bxor,lshift,rol,ror,rshift,tobit,tohex\r\n$23\r\nstruct=pack,size,unpack\r\n$186\r\ncjson=_NAME,_VERSION,decode,decode_invalid_numbers,decode_max_depth,encode,encode_invalid_numbers,encode_keep_buffer,encode_max_depth,encode_number_precision,encode_sparse_array,new,null\r\n$83\r\ncmsgpack=_COPYRIGHT,_DESCRIPTION,_NAME,_VERSION,pack,unpack,unpack_limit,unpack_one\r\n$49\r\ncoroutine=create,resume,running,status,wrap,yield\r\n"),
        (&["EVAL", "return getmetatable(\"\").__index == string", "0"], b":1\r\n"),
        (&["EVAL", "KEYS[1] = 5 return KEYS[1]", "1", "a"], b":5\r\n"),
        (&["EVAL", "return _VERSION", "0"], b"$7\r\nLua 5.1\r\n"),
];

/// The same with a RESP3 client: booleans follow the script's protocol
/// (true is 1 and false a null under `setresp(2)`, the default), the
/// rest the client's.
const RESP3_CLIENT: &[Case] = &[
    (&["EVAL", "return true", "0"], b":1\r\n"),
    (&["EVAL", "return false", "0"], b"_\r\n"),
    (&["EVAL", "return nil", "0"], b"_\r\n"),
    (
        &["EVAL", "redis.setresp(3) return {true, false}", "0"],
        b"*2\r\n#t\r\n#f\r\n",
    ),
    (
        &["EVAL", "return {double=3.14}", "0"],
        b",3.1400000000000001\r\n",
    ),
    (
        &["EVAL", "return {map={a=1}}", "0"],
        b"%1\r\n$1\r\na\r\n:1\r\n",
    ),
    (&["EVAL", "return {big_number=\"12\"}", "0"], b"(12\r\n"),
];

/// Redis Functions: FUNCTION LOAD's errors (metadata, the load-time API
/// without `redis.call` or `error`, register_function's arguments),
/// FCALL / FCALL_RO, errors raised in functions (`script: <function>, on
/// @user_function:N.`), REPLACE, DELETE, LIST (LIBRARYNAME, WITHCODE),
/// STATS, KILL, FLUSH, as redis-server 7.0.15 answers them.
const FUNCTIONS: &[Case] = &[
        (&["FLUSHALL"], b"+OK\r\n"),
        (&["FUNCTION", "FLUSH"], b"+OK\r\n"),
        (&["FUNCTION", "LOAD", "#!lua name=bad\nredis.call('get','x')"], b"-ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'call'\r\n"),
        (&["FUNCTION", "LOAD", "#!lua name=bad2\nredis.register_function('f', 5)"], b"-ERR Error registering functions: ERR second argument to redis.register_function must be a function\r\n"),
        (&["FUNCTION", "LOAD", "#!lua name=bad3\nerror('boom')"], b"-ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'error'\r\n"),
        (&["FUNCTION", "LOAD", "#!lua\nreturn 1"], b"-ERR Library name was not given\r\n"),
        (&["FUNCTION", "LOAD", "#!lua name=bad4 x=y\nreturn 1"], b"-ERR Invalid metadata value given: x=y\r\n"),
        (&["FUNCTION", "LOAD", "#!lua name=bad5\nreturn 1"], b"-ERR No functions registered\r\n"),
        (&["FUNCTION", "LOAD", "#!lua name=bad6\nredis.register_function('f', function() end)\nredis.register_function('f', function() end)"], b"-ERR Error registering functions: ERR Function already exists in the library\r\n"),
        (&["FUNCTION", "LOAD", "#!lua name=bad7\nredis.register_function('1f', function() end)"], b"$4\r\nbad7\r\n"),
        (&["FUNCTION", "LOAD", "#!lua name=bad8\nredis.register_function{function_name='f', callback=function() end, flags={'bogus'}}"], b"-ERR Error registering functions: ERR unknown flag given\r\n"),
        (&["FUNCTION", "LOAD", "#!lua name=bad9\nredis.register_function{function_name='f', callback=function() end, foo=1}"], b"-ERR Error registering functions: ERR unknown argument given to redis.register_function\r\n"),
        (&["FUNCTION", "LOAD", "#!lua name=bad10\nlocal x = ("], b"-ERR Error compiling function: user_function:2: unexpected symbol near '<eof>'\r\n"),
        (&["FUNCTION", "LOAD", "#!lua name=l2\nredis.register_function('f2', function(keys, args) return {keys[1], args[1], #keys, #args} end)"], b"$2\r\nl2\r\n"),
        (&["FCALL", "f2", "1", "k", "a", "b"], b"*4\r\n$1\r\nk\r\n$1\r\na\r\n:1\r\n:2\r\n"),
        (&["FUNCTION", "LOAD", "#!lua name=l3\nredis.register_function('f3', function() error('x') end)"], b"$2\r\nl3\r\n"),
        (&["FCALL", "f3", "0"], b"-ERR user_function:2: x script: f3, on @user_function:2.\r\n"),
        (&["FUNCTION", "LOAD", "#!lua name=l4\nlocal function g() return redis.call('ping') end\nredis.register_function('f4', function() return g() end)"], b"$2\r\nl4\r\n"),
        (&["FCALL", "f4", "0"], b"+PONG\r\n"),
        (&["FUNCTION", "LOAD", "#!lua name=l5\nredis.register_function('f5', function() x = 1 end)"], b"$2\r\nl5\r\n"),
        (&["FCALL", "f5", "0"], b"-ERR user_function:2: Attempt to modify a readonly table script: f5, on @user_function:2.\r\n"),
        (&["FUNCTION", "LOAD", "#!lua name=l6\nredis.register_function('f6', function() return y end)"], b"$2\r\nl6\r\n"),
        (&["FCALL", "f6", "0"], b"-ERR user_function:2: Script attempted to access nonexistent global variable 'y' script: f6, on @user_function:2.\r\n"),
        (&["FUNCTION", "LOAD", "#!lua name=l7\nredis.register_function('f7', function() return redis.call('nope') end)"], b"$2\r\nl7\r\n"),
        (&["FCALL", "f7", "0"], b"-ERR Unknown Redis command called from script script: f7, on @user_function:2.\r\n"),
        (&["FUNCTION", "LOAD", "#!lua name=l8\nredis.register_function('f8', function() return KEYS end)"], b"$2\r\nl8\r\n"),
        (&["FCALL", "f8", "0"], b"-ERR user_function:2: Script attempted to access nonexistent global variable 'KEYS' script: f8, on @user_function:2.\r\n"),
        (&["FUNCTION", "LOAD", "#!lua name=l9\nredis.register_function('f9', function() return redis.setresp end)"], b"$2\r\nl9\r\n"),
        (&["FUNCTION", "LOAD", "#!lua name=l10\nlocal t = redis.call\nredis.register_function('f10', function() return 1 end)"], b"-ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'call'\r\n"),
        (&["FUNCTION", "LOAD", "#!lua name=l11\nredis.register_function('f11', function() return redis.call('set', 'a', 'b') end)"], b"$3\r\nl11\r\n"),
        (&["FCALL_RO", "f11", "0"], b"-ERR Can not execute a script with write flag using *_ro command.\r\n"),
        (&["FUNCTION", "LOAD", "REPLACE", "#!lua name=l11\nredis.register_function{function_name='f11', callback=function() return redis.call('set', 'a', 'b') end, flags={'no-writes'}}"], b"$3\r\nl11\r\n"),
        (&["FCALL", "f11", "0"], b"-ERR Write commands are not allowed from read-only scripts. script: f11, on @user_function:2.\r\n"),
        (&["FUNCTION", "LOAD", "#!lua name=l12\nredis.register_function('f2', function() return 1 end)"], b"-ERR Function f2 already exists\r\n"),
        (&["FUNCTION", "DELETE", "l2"], b"+OK\r\n"),
        (&["FCALL", "f2", "0"], b"-ERR Function not found\r\n"),
        (&["FUNCTION", "LIST", "LIBRARYNAME", "l1"], b"*0\r\n"),
        (&["FUNCTION", "LOAD", "REPLACE"], b"-ERR Missing library metadata\r\n"),
        (&["FUNCTION", "LIST", "BOGUS"], b"-ERR Unknown argument BOGUS\r\n"),
        (&["FUNCTION", "FLUSH", "SYNC"], b"+OK\r\n"),
        (&["FUNCTION", "LIST"], b"*0\r\n"),
        (&["FUNCTION", "LOAD", "#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return redis.call('incr', keys[1]) end)\nredis.register_function{function_name='ro', callback=function(keys, args) return args[1] end, flags={'no-writes'}, description='d'}"], b"$5\r\nmylib\r\n"),
        (&["FCALL", "myfunc", "1", "fk"], b":1\r\n"),
        (&["FCALL", "ro", "0", "hello"], b"$5\r\nhello\r\n"),
        (&["FCALL_RO", "myfunc", "1", "fk"], b"-ERR Can not execute a script with write flag using *_ro command.\r\n"),
        (&["FCALL_RO", "ro", "0", "x"], b"$1\r\nx\r\n"),
        (&["FCALL", "nope", "0"], b"-ERR Function not found\r\n"),
        (&["FUNCTION", "LOAD", "#!lua name=mylib\nredis.register_function('myfunc', function() return 1 end)"], b"-ERR Library 'mylib' already exists\r\n"),
        (&["FUNCTION", "LIST"], b"*1\r\n*6\r\n$12\r\nlibrary_name\r\n$5\r\nmylib\r\n$6\r\nengine\r\n$3\r\nLUA\r\n$9\r\nfunctions\r\n*2\r\n*6\r\n$4\r\nname\r\n$6\r\nmyfunc\r\n$11\r\ndescription\r\n$-1\r\n$5\r\nflags\r\n*0\r\n*6\r\n$4\r\nname\r\n$2\r\nro\r\n$11\r\ndescription\r\n$1\r\nd\r\n$5\r\nflags\r\n*1\r\n+no-writes\r\n"),
        (&["FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "my*"], b"*1\r\n*8\r\n$12\r\nlibrary_name\r\n$5\r\nmylib\r\n$6\r\nengine\r\n$3\r\nLUA\r\n$9\r\nfunctions\r\n*2\r\n*6\r\n$4\r\nname\r\n$6\r\nmyfunc\r\n$11\r\ndescription\r\n$-1\r\n$5\r\nflags\r\n*0\r\n*6\r\n$4\r\nname\r\n$2\r\nro\r\n$11\r\ndescription\r\n$1\r\nd\r\n$5\r\nflags\r\n*1\r\n+no-writes\r\n$12\r\nlibrary_code\r\n$243\r\n#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return redis.call('incr', keys[1]) end)\nredis.register_function{function_name='ro', callback=function(keys, args) return args[1] end, flags={'no-writes'}, description='d'}\r\n"),
        (&["FUNCTION", "LOAD", "return 1"], b"-ERR Missing library metadata\r\n"),
        (&["FUNCTION", "LOAD", "#!lua name=x"], b"-ERR Invalid library metadata\r\n"),
        (&["FUNCTION", "STATS"], b"*4\r\n$14\r\nrunning_script\r\n$-1\r\n$7\r\nengines\r\n*2\r\n$3\r\nLUA\r\n*4\r\n$15\r\nlibraries_count\r\n:1\r\n$15\r\nfunctions_count\r\n:2\r\n"),
        (&["FCALL", "myfunc", "-1"], b"-ERR Number of keys can't be negative\r\n"),
        (&["FCALL", "myfunc", "5", "a"], b"-ERR Number of keys can't be greater than number of args\r\n"),
        (&["FUNCTION", "KILL"], b"-NOTBUSY No scripts in execution right now.\r\n"),
        (&["FUNCTION", "DELETE", "mylib"], b"+OK\r\n"),
        (&["FUNCTION", "DELETE", "mylib"], b"-ERR Library not found\r\n"),
        (&["FUNCTION", "STATS"], b"*4\r\n$14\r\nrunning_script\r\n$-1\r\n$7\r\nengines\r\n*2\r\n$3\r\nLUA\r\n*4\r\n$15\r\nlibraries_count\r\n:0\r\n$15\r\nfunctions_count\r\n:0\r\n"),
        (&["FUNCTION", "FLUSH", "BOGUS"], b"-ERR FUNCTION FLUSH only supports SYNC|ASYNC option\r\n"),
];

fn errors_and_conversions(s: &Server) {
    let mut c = s.raw();
    assert_eq!(c.q(&["FLUSHALL"]), "+OK\r\n");
    expect_all(&mut c, ERRORS);
    assert_eq!(c.q(&["FLUSHALL"]), "+OK\r\n");
    expect_all(&mut c, CONVERSIONS);
    let mut c3 = s.raw();
    c3.resp3 = true;
    assert!(c3.q(&["HELLO", "3"]).starts_with('%'));
    expect_all(&mut c3, RESP3_CLIENT);
    expect_all(&mut c, FUNCTIONS);
    assert_eq!(c.q(&["PING"]), "+PONG\r\n");
}

/// redis-py's `Lock` scripts, as redis-py 5 ships them.
const LOCK_RELEASE: &str = "
    local token = redis.call('get', KEYS[1])
    if not token or token ~= ARGV[1] then
        return 0
    end
    redis.call('del', KEYS[1])
    return 1
";
const LOCK_EXTEND: &str = "
    local token = redis.call('get', KEYS[1])
    if not token or token ~= ARGV[1] then
        return 0
    end
    local expiration = redis.call('pttl', KEYS[1])
    if not expiration then
        expiration = 0
    end
    if expiration < 0 then
        return 0
    end
    local newttl = ARGV[2]
    if ARGV[3] == '0' then
        newttl = ARGV[2] + expiration
    end
    redis.call('pexpire', KEYS[1], newttl)
    return 1
";
const LOCK_REACQUIRE: &str = "
    local token = redis.call('get', KEYS[1])
    if not token or token ~= ARGV[1] then
        return 0
    end
    redis.call('pexpire', KEYS[1], ARGV[2])
    return 1
";

fn load(c: &mut Raw, body: &str) -> String {
    let r = c.q(&["SCRIPT", "LOAD", body]);
    assert!(r.starts_with("$40\r\n"), "{r}");
    r[5..45].to_string()
}

/// The Lock's protocol step by step (acquire, a second owner refused,
/// extend, reacquire, release with the wrong token refused, release), then
/// 4 clients × 50 rounds of a non-atomic read-modify-write under the lock:
/// no increment is lost, so no two clients ever held it at once.
fn redis_py_lock(s: &Server) {
    let mut a = s.raw();
    let (release, extend, reacquire) = (
        load(&mut a, LOCK_RELEASE),
        load(&mut a, LOCK_EXTEND),
        load(&mut a, LOCK_REACQUIRE),
    );
    assert_eq!(
        a.q(&["SET", "lock", "tok-a", "NX", "PX", "10000"]),
        "+OK\r\n"
    );
    assert_eq!(
        a.q(&["SET", "lock", "tok-b", "NX", "PX", "10000"]),
        "$-1\r\n"
    );
    assert_eq!(
        a.q(&["EVALSHA", &extend, "1", "lock", "tok-a", "5000", "0"]),
        ":1\r\n"
    );
    let pttl: i64 = a.q(&["PTTL", "lock"])[1..].trim().parse().unwrap();
    assert!(pttl > 10_000 && pttl <= 15_000, "extended (added): {pttl}");
    assert_eq!(
        a.q(&["EVALSHA", &extend, "1", "lock", "tok-a", "3000", "1"]),
        ":1\r\n"
    );
    let pttl: i64 = a.q(&["PTTL", "lock"])[1..].trim().parse().unwrap();
    assert!(pttl > 2_000 && pttl <= 3_000, "extended (replaced): {pttl}");
    assert_eq!(
        a.q(&["EVALSHA", &reacquire, "1", "lock", "tok-a", "20000"]),
        ":1\r\n"
    );
    assert_eq!(a.q(&["EVALSHA", &release, "1", "lock", "tok-b"]), ":0\r\n");
    assert_eq!(
        a.q(&["EVALSHA", &extend, "1", "lock", "tok-b", "1000", "0"]),
        ":0\r\n"
    );
    assert_eq!(a.q(&["EVALSHA", &release, "1", "lock", "tok-a"]), ":1\r\n");
    assert_eq!(a.q(&["EXISTS", "lock"]), ":0\r\n");
    assert_eq!(a.q(&["EVALSHA", &release, "1", "lock", "tok-a"]), ":0\r\n");

    const CLIENTS: usize = 4;
    const ROUNDS: usize = 50;
    let threads: Vec<_> = (0..CLIENTS)
        .map(|t| {
            let (port, release) = (s.port, release.clone());
            std::thread::spawn(move || {
                let mut c = Raw::connect(port);
                let token = format!("client-{t}");
                for _ in 0..ROUNDS {
                    while c.q(&["SET", "mutex", &token, "NX", "PX", "30000"]) != "+OK\r\n" {}
                    let n: i64 = match c.q(&["GET", "counter"]).as_str() {
                        "$-1\r\n" => 0,
                        r => r.lines().nth(1).unwrap().parse().unwrap(),
                    };
                    c.q(&["SET", "counter", &(n + 1).to_string()]);
                    assert_eq!(c.q(&["EVALSHA", &release, "1", "mutex", &token]), ":1\r\n");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(
        a.q(&["GET", "counter"]),
        format!(
            "${}\r\n{}\r\n",
            (CLIENTS * ROUNDS).to_string().len(),
            CLIENTS * ROUNDS
        )
    );
}

/// A BullMQ-style "add job" script: it declares only the queue's id key
/// and builds the others from it (the job hash, the wait list, the event
/// stream), keys that hash to other shards and, with 2 I/O threads, to
/// other threads. Writers add jobs while a reader checks in MULTI that the
/// id counter, the wait list's length and the number of job hashes always
/// agree: the script is atomic across shards.
const ADD_JOB: &str = "
    local prefix = ARGV[1]
    local id = redis.call('incr', KEYS[1])
    local jobKey = prefix .. 'job:' .. id
    redis.call('hset', jobKey, 'name', ARGV[2], 'data', ARGV[3], 'id', id)
    redis.call('lpush', prefix .. 'wait', id)
    redis.call('xadd', prefix .. 'events', '*', 'event', 'added', 'jobId', id)
    redis.call('sadd', prefix .. 'jobs', jobKey)
    return id
";

fn bullmq_style_undeclared_keys(s: &Server) {
    let mut c = s.raw();
    let add = load(&mut c, ADD_JOB);
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (port, stop) = (s.port, stop.clone());
        std::thread::spawn(move || {
            let mut r = Raw::connect(port);
            let mut checks = 0;
            while !stop.load(Ordering::Relaxed) || checks == 0 {
                r.q(&["MULTI"]);
                r.q(&["GET", "bull:q:id"]);
                r.q(&["LLEN", "bull:q:wait"]);
                r.q(&["SCARD", "bull:q:jobs"]);
                r.q(&["XLEN", "bull:q:events"]);
                let exec = r.q(&["EXEC"]);
                let ints: Vec<i64> = exec
                    .lines()
                    .filter_map(|l| l.strip_prefix(':').map(|n| n.parse().unwrap()))
                    .collect();
                // GET's reply: `$-1` (no job yet: 0) or `$n` and the id.
                let mut lines = exec.lines().skip_while(|l| !l.starts_with('$'));
                let id = match lines.next() {
                    Some("$-1") | None => 0,
                    Some(_) => lines.next().unwrap().parse().unwrap(),
                };
                assert_eq!(ints, vec![id, id, id], "a half-added job: {exec:?}");
                checks += 1;
            }
            checks
        })
    };
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let (port, add) = (s.port, add.clone());
            std::thread::spawn(move || {
                let mut c = Raw::connect(port);
                for i in 0..100 {
                    let r = c.q(&[
                        "EVALSHA",
                        &add,
                        "1",
                        "bull:q:id",
                        "bull:q:",
                        "send",
                        &format!("{w}-{i}"),
                    ]);
                    assert!(r.starts_with(':'), "{r}");
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    assert!(reader.join().unwrap() > 0);
    assert_eq!(c.q(&["GET", "bull:q:id"]), "$3\r\n300\r\n");
    assert_eq!(c.q(&["HGET", "bull:q:job:300", "id"]), "$3\r\n300\r\n");
}

/// A sliding-window rate limiter as libraries write it (a sorted set of
/// request times, trimmed to the window; the caller passes its clock):
/// `limit` requests per window, then refusals until old ones leave it.
const RATE_LIMIT: &str = "
    local key, now, window, limit, id = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
    redis.call('zremrangebyscore', key, '-inf', now - window)
    if redis.call('zcard', key) >= limit then
        return 0
    end
    redis.call('zadd', key, now, id)
    redis.call('pexpire', key, window)
    return 1
";

/// The limiter admits exactly `limit` of many concurrent requests in one
/// window (the script is atomic), refuses the rest, and admits again once
/// the window has moved past them.
fn sliding_window_rate_limiter(s: &Server) {
    let mut c = s.raw();
    let sha = load(&mut c, RATE_LIMIT);
    const CLIENTS: usize = 4;
    const TRIES: usize = 50;
    let threads: Vec<_> = (0..CLIENTS)
        .map(|t| {
            let (port, sha) = (s.port, sha.clone());
            std::thread::spawn(move || {
                let mut c = Raw::connect(port);
                (0..TRIES)
                    .filter(|i| {
                        let id = format!("{t}-{i}");
                        let r = c.q(&["EVALSHA", &sha, "1", "rl", "1000000", "60000", "37", &id]);
                        r == ":1\r\n"
                    })
                    .count()
            })
        })
        .collect();
    let admitted: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(admitted, 37);
    assert_eq!(c.q(&["ZCARD", "rl"]), ":37\r\n");
    assert_eq!(
        c.q(&["EVALSHA", &sha, "1", "rl", "1059999", "60000", "37", "x"]),
        ":0\r\n"
    );
    // One window later the old requests are trimmed away.
    assert_eq!(
        c.q(&["EVALSHA", &sha, "1", "rl", "1060000", "60000", "37", "y"]),
        ":1\r\n"
    );
    assert_eq!(c.q(&["ZCARD", "rl"]), ":1\r\n");
}

/// EVAL queued in MULTI runs at EXEC with the transaction's other
/// commands (its errors in place); a WATCHed key written by a script
/// aborts the watcher's EXEC; a script's writes serve a blocked client.
fn eval_in_multi_and_watch(s: &Server) {
    let mut a = s.raw();
    let mut b = s.raw();
    assert_eq!(a.q(&["MULTI"]), "+OK\r\n");
    assert_eq!(
        a.q(&["EVAL", "return redis.call('incr', KEYS[1])", "1", "m"]),
        "+QUEUED\r\n"
    );
    assert_eq!(
        a.q(&["EVAL", "return redis.call('nope')", "0"]),
        "+QUEUED\r\n"
    );
    assert_eq!(a.q(&["INCR", "m"]), "+QUEUED\r\n");
    let exec = a.q(&["EXEC"]);
    assert!(
        exec.starts_with("*3\r\n:1\r\n-ERR Unknown Redis command called from script"),
        "{exec}"
    );
    assert!(exec.ends_with(":2\r\n"), "{exec}");

    assert_eq!(a.q(&["WATCH", "w"]), "+OK\r\n");
    assert_eq!(
        b.q(&["EVAL", "return redis.call('set', 'w', 'x')", "0"]),
        "+OK\r\n"
    );
    assert_eq!(a.q(&["MULTI"]), "+OK\r\n");
    assert_eq!(a.q(&["SET", "w", "y"]), "+QUEUED\r\n");
    assert_eq!(a.q(&["EXEC"]), "*-1\r\n");
    // A read-only script does not touch the watched key.
    assert_eq!(a.q(&["WATCH", "w"]), "+OK\r\n");
    assert_eq!(
        b.q(&["EVAL_RO", "return redis.call('get', 'w')", "0"]),
        "$1\r\nx\r\n"
    );
    assert_eq!(a.q(&["MULTI"]), "+OK\r\n");
    assert_eq!(a.q(&["SET", "w", "y"]), "+QUEUED\r\n");
    assert_eq!(a.q(&["EXEC"]), "*1\r\n+OK\r\n");

    // BLPOP waits; a script's LPUSH serves it.
    a.send_raw(&common::encode(&[b"BLPOP", b"jobs", b"0"]));
    while !b.q(&["CLIENT", "LIST"]).contains("cmd=blpop") {}
    assert_eq!(
        b.q(&["EVAL", "return redis.call('lpush', 'jobs', 'j1')", "0"]),
        ":1\r\n"
    );
    assert_eq!(
        String::from_utf8(a.read_reply().unwrap()).unwrap(),
        "*2\r\n$4\r\njobs\r\n$2\r\nj1\r\n"
    );
}

/// SCRIPT LOAD / EXISTS / FLUSH and the INFO fields: EVAL caches its
/// script too, FLUSHALL keeps the cache (as redis-server 7.0.15), SCRIPT
/// FLUSH empties it.
fn script_cache(s: &Server) {
    let mut c = s.raw();
    let info = |c: &mut Raw, f: &str| -> i64 {
        let text = c.q(&["INFO", "memory"]);
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{f}:")))
            .unwrap();
        line[f.len() + 1..].parse().unwrap()
    };
    assert_eq!(c.q(&["SCRIPT", "FLUSH"]), "+OK\r\n");
    assert_eq!(info(&mut c, "number_of_cached_scripts"), 0);
    let sha = load(&mut c, "return 1");
    assert_eq!(sha, "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
    assert_eq!(c.q(&["EVAL", "return 2", "0"]), ":2\r\n");
    assert_eq!(info(&mut c, "number_of_cached_scripts"), 2);
    assert_eq!(info(&mut c, "used_memory_scripts_eval"), 272);
    assert!(info(&mut c, "used_memory_lua") > 0);
    let two = "7f923f79fe76194c868d7e1d0820de36700eb649";
    assert_eq!(
        c.q(&["SCRIPT", "EXISTS", &sha, two, "ffff"]),
        "*3\r\n:1\r\n:1\r\n:0\r\n"
    );
    assert_eq!(c.q(&["EVALSHA", &sha.to_uppercase(), "0"]), ":1\r\n");
    assert_eq!(c.q(&["FLUSHALL"]), "+OK\r\n");
    assert_eq!(info(&mut c, "number_of_cached_scripts"), 2);
    assert_eq!(c.q(&["SCRIPT", "FLUSH", "ASYNC"]), "+OK\r\n");
    assert_eq!(info(&mut c, "number_of_cached_scripts"), 0);
    assert_eq!(
        c.q(&["EVALSHA", &sha, "0"]),
        "-NOSCRIPT No matching script. Please use EVAL.\r\n"
    );
    assert_eq!(c.q(&["SCRIPT", "EXISTS", &sha]), "*1\r\n:0\r\n");
    // A script that does not compile is not cached.
    assert!(c
        .q(&["SCRIPT", "LOAD", "return +"])
        .starts_with("-ERR Error compiling script"));
    assert!(c
        .q(&["EVAL", "return +", "0"])
        .starts_with("-ERR Error compiling script"));
    assert_eq!(info(&mut c, "number_of_cached_scripts"), 0);
    // Another thread's Lua state saw the flush too.
    let mut d = s.raw();
    assert_eq!(d.q(&["EVAL", "return 3", "0"]), ":3\r\n");
    assert_eq!(d.q(&["SCRIPT", "HELP"]).lines().next(), Some("*17"));
}

/// Hostile scripts: each gets an error (Redis's where it has one) and the
/// server goes on serving.
fn bad_scripts_leave_the_server_alive(s: &Server) {
    let mut c = s.raw();
    assert_eq!(
        c.q(&["CONFIG", "SET", "lua-memory-limit", "64mb"]),
        "+OK\r\n"
    );
    assert_eq!(c.q(&["SCRIPT", "FLUSH"]), "+OK\r\n");
    let err = |c: &mut Raw, body: &str| -> String {
        let r = c.q(&["EVAL", body, "0"]);
        assert!(r.starts_with('-'), "{body}: {r}");
        r
    };
    assert!(err(&mut c, "return (").contains("Error compiling script"));
    assert!(err(&mut c, "local x = nil; return x.y").contains("attempt to index local 'x'"));
    // Unbounded recursion: Lua's own limit.
    assert!(err(
        &mut c,
        "local function f(n) return 1 + f(n + 1) end return f(1)"
    )
    .contains("stack overflow"));
    // More memory than a Lua state may hold.
    // More memory than a Lua state may hold (lua-memory-limit, 64 MB
    // here).
    assert!(err(
        &mut c,
        "local s = string.rep('x', 2^20) local t = {} for i = 1, 4096 do t[i] = s .. i end"
    )
    .contains("not enough memory"));
    assert!(err(
        &mut c,
        "local t = {} for i = 1, 2^40 do t[i] = {i, i + 1, tostring(i)} end"
    )
    .contains("not enough memory"));
    // A table that contains itself: nested arrays down to Lua's stack
    // limit, as redis-server 7.0.15 answers.
    // (The test's RESP decoder recurses: a thread with room for it.)
    let port = s.port;
    let r = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || Raw::connect(port).cmd(&[b"EVAL", b"local t = {} t[1] = t return t", b"0"]))
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(r.len(), 7995 * 4 + "-ERR reached lua stack limit\r\n".len());
    assert!(r.ends_with(b"*1\r\n-ERR reached lua stack limit\r\n"));
    // A huge but finite table is returned.
    let r = c.cmd(&[
        b"EVAL",
        b"local t = {} for i = 1, 100000 do t[i] = i end return t",
        b"0",
    ]);
    assert!(r.starts_with(b"*100000\r\n:1\r\n"));
    assert_eq!(
        c.q(&["EVAL", "return 1", "3", "a"]),
        "-ERR Number of keys can't be greater than number of args\r\n"
    );
    assert_eq!(
        c.q(&["EVAL", "return 1", "99999999999999999999"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert!(
        err(&mut c, "return cmsgpack.unpack(string.rep('\\145', 100))")
            .contains("Missing bytes in input.")
    );
    assert!(err(
        &mut c,
        "return cmsgpack.unpack(string.rep('\\145', 100000))"
    )
    .contains("stack overflow"));
    assert!(err(&mut c, "return cjson.decode(string.rep('[', 100000))")
        .contains("Found too many nested data structures (1001)"));
    assert!(
        err(&mut c, "local t = {} t[1] = t return cjson.encode(t)").contains("excessive nesting")
    );
    // The Lua state is still usable, and so is the server.
    assert_eq!(c.q(&["EVAL", "return #KEYS", "1", "k"]), ":1\r\n");
    assert_eq!(c.q(&["PING"]), "+PONG\r\n");
}

/// A connection of `s` on another I/O thread than the one running the
/// busy script: connections are spread over the threads by the kernel; one
/// that answers `-BUSY` is served by another thread (one on the script's
/// thread gets no answer until the script ends: it is kept, its PING
/// answered later, in `stuck`).
fn connection_answering_busy(s: &Server, stuck: &mut Vec<Raw>) -> Raw {
    for _ in 0..64 {
        let mut c = s.raw();
        c.s.set_read_timeout(Some(std::time::Duration::from_millis(200)))
            .unwrap();
        loop {
            c.send_raw(&common::encode(&[b"PING"]));
            match c.try_read_reply() {
                Ok(Some(r)) if r.starts_with(b"-BUSY ") => {
                    c.s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
                        .unwrap();
                    return c;
                }
                // Not busy yet (busy-reply-threshold): ask again.
                Ok(Some(r)) => assert_eq!(r, b"+PONG\r\n"),
                Ok(None) => panic!("connection closed"),
                Err(_) => {
                    stuck.push(c);
                    break;
                }
            }
        }
    }
    panic!("no connection on another I/O thread than the script's");
}

/// busy-reply-threshold and SCRIPT KILL (2 I/O threads): past the
/// threshold other clients get `-BUSY` at once (even for a key the script
/// holds the shard of), SCRIPT KILL stops a script that wrote nothing
/// (its caller gets Redis's error), answers UNKILLABLE for one that
/// wrote, and SHUTDOWN NOSAVE still stops the server.
fn busy_script_and_script_kill(s: &Server) {
    let mut c = s.raw();
    assert_eq!(
        c.q(&["CONFIG", "SET", "busy-reply-threshold", "100"]),
        "+OK\r\n"
    );
    assert_eq!(
        c.q(&["SCRIPT", "KILL"]),
        "-NOTBUSY No scripts in execution right now.\r\n"
    );
    let mut a = s.raw();
    a.send_raw(&common::encode(&[
        b"EVAL",
        b"local i = 0 while true do i = i + 1 end",
        b"0",
    ]));
    let mut stuck = Vec::new();
    let mut other = connection_answering_busy(s, &mut stuck);
    let busy = "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n";
    assert_eq!(other.q(&["GET", "x"]), busy);
    assert_eq!(other.q(&["SCRIPT", "KILL"]), "+OK\r\n");
    assert_eq!(
        String::from_utf8(a.read_reply().unwrap()).unwrap(),
        "-ERR Script killed by user with SCRIPT KILL... script: \
         3fcf51a9b854b8f66cb8685600b0d7df968f4398, on @user_script:1.\r\n"
    );
    assert_eq!(other.q(&["PING"]), "+PONG\r\n");
    for mut c in stuck.drain(..) {
        c.s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        assert_eq!(c.read_reply().unwrap(), b"+PONG\r\n");
    }
    assert_eq!(a.q(&["SET", "w", "0"]), "+OK\r\n");

    a.send_raw(&common::encode(&[
        b"EVAL",
        b"redis.call('set', 'w', '1') while true do end",
        b"0",
    ]));
    let mut other = connection_answering_busy(s, &mut stuck);
    assert_eq!(
        other.q(&["SCRIPT", "KILL"]),
        "-UNKILLABLE Sorry the script already executed write commands against the dataset. You \
         can either wait the script termination or kill the server in a hard way using the \
         SHUTDOWN NOSAVE command.\r\n"
    );
    other.send_raw(&common::encode(&[b"SHUTDOWN", b"NOSAVE"]));
    assert!(a
        .read_reply()
        .is_some_and(|r| r.starts_with(b"-ERR Script killed")));
}

#[test]
fn busy_script_kill_and_shutdown() {
    let mut s = Server::kvserver("threads");
    busy_script_and_script_kill(&s);
    assert!(common::wait_exit(
        &mut s,
        std::time::Duration::from_secs(20)
    ));
}

/// Redis 7.0.15's OOM rules for scripts, above maxmemory: a script with a
/// shebang that may write is refused before it runs; `no-writes` and
/// `allow-oom` ones run; a script without a shebang has its first denyoom
/// command refused (raised, or returned by pcall) unless it already wrote.
const OOM_CASES: &[Case] = &[
        (&["EVAL", "#!lua\nreturn 1", "0"], b"-OOM command not allowed when used memory > 'maxmemory'.\r\n"),
        (&["EVAL", "#!lua flags=no-writes\nreturn redis.call(\"get\", \"big\")", "0"], b"$39\r\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"),
        (&["EVAL", "#!lua flags=allow-oom\nreturn redis.call(\"set\", \"x\", \"1\")", "0"], b"+OK\r\n"),
        (&["EVAL", "return redis.call(\"set\", \"y\", \"1\")", "0"], b"-OOM command not allowed when used memory > 'maxmemory'. script: f7595d94b8c6738c884bf69c86f9e0da008514a8, on @user_script:1.\r\n"),
        (&["EVAL", "return redis.call(\"get\", \"big\")", "0"], b"$39\r\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"),
        (&["EVAL", "redis.call(\"del\", \"x\") return redis.call(\"set\", \"y\", \"1\")", "0"], b"+OK\r\n"),
        (&["EVAL_RO", "return redis.call(\"get\", \"big\")", "0"], b"$39\r\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"),
        (&["EVAL", "return redis.pcall(\"set\", \"y\", \"1\")", "0"], b"-OOM command not allowed when used memory > 'maxmemory'.\r\n"),
];

fn scripts_under_maxmemory(s: &Server) {
    let mut c = s.raw();
    assert_eq!(c.q(&["FLUSHALL"]), "+OK\r\n");
    assert_eq!(c.q(&["SET", "big", &"x".repeat(39)]), "+OK\r\n");
    assert_eq!(c.q(&["CONFIG", "SET", "maxmemory", "1"]), "+OK\r\n");
    // The memory figure the rules read is sampled (every 100 ms): wait
    // until it is above the limit.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !c.q(&["EVAL", "#!lua\nreturn 1", "0"]).starts_with("-OOM") {
        assert!(
            std::time::Instant::now() < deadline,
            "never above maxmemory"
        );
    }
    expect_all(&mut c, OOM_CASES);
    assert_eq!(c.q(&["CONFIG", "SET", "maxmemory", "0"]), "+OK\r\n");
}

per_backend! {
    scripts_follow_the_oom_rules => [scripts_under_maxmemory],
    same_errors_and_conversions_as_redis => [errors_and_conversions],
    redis_py_lock_protocol_and_mutual_exclusion => [redis_py_lock],
    bullmq_style_script_is_atomic_across_shards => [bullmq_style_undeclared_keys],
    sliding_window_rate_limiter_admits_exactly_the_limit => [sliding_window_rate_limiter],
    eval_inside_multi_and_under_watch => [eval_in_multi_and_watch],
    script_cache_and_info => [script_cache],
    hostile_scripts_get_errors => [bad_scripts_leave_the_server_alive],
}

/// Scripts replicate by effects: the AOF holds the commands a script ran
/// (several as one MULTI ... EXEC), so a restart rebuilds the same data
/// even from scripts that used math.random, TIME and SPOP.
/// Libraries come back after a restart from the AOF (FUNCTION LOAD,
/// REPLACE and DELETE are propagated as they were sent), and a function
/// loaded on one I/O thread runs on another (each thread's Lua state loads
/// the library on first use, and again after REPLACE).
#[test]
fn functions_survive_restart_through_the_aof() {
    let dir = common::TempDir::new("fn-aof");
    let d = dir.s();
    let start = || {
        Server::spawn(env!("CARGO_BIN_EXE_kvserver"), |port| {
            [
                "--port",
                &port.to_string(),
                "--io-threads",
                "2",
                "--dir",
                &d,
            ]
            .iter()
            .chain(&["--appendonly", "yes", "--appendfsync", "always"])
            .map(|s| s.to_string())
            .collect()
        })
    };
    let lib = |v: &str| {
        format!(
            "#!lua name=counters\nredis.register_function('bump', function(keys, args) \
             return redis.call('incrby', keys[1], {v}) end)"
        )
    };
    let kv = start();
    let mut c = kv.raw();
    assert_eq!(c.q(&["FUNCTION", "LOAD", &lib("1")]), "$8\r\ncounters\r\n");
    assert_eq!(
        c.q(&[
            "FUNCTION",
            "LOAD",
            "#!lua name=gone\nredis.register_function('g', function() return 1 end)"
        ]),
        "$4\r\ngone\r\n"
    );
    assert_eq!(c.q(&["FUNCTION", "DELETE", "gone"]), "+OK\r\n");
    // Connections land on both I/O threads: every one sees the library,
    // and REPLACE reaches every thread's Lua state.
    let mut conns: Vec<Raw> = (0..8).map(|_| kv.raw()).collect();
    for (i, k) in conns.iter_mut().enumerate() {
        assert_eq!(k.q(&["FCALL", "bump", "1", "n"]), format!(":{}\r\n", i + 1));
    }
    assert_eq!(
        c.q(&["FUNCTION", "LOAD", "REPLACE", &lib("10")]),
        "$8\r\ncounters\r\n"
    );
    for (i, k) in conns.iter_mut().enumerate() {
        assert_eq!(
            k.q(&["FCALL", "bump", "1", "n"]),
            format!(":{}\r\n", 8 + 10 * (i + 1))
        );
    }
    drop(conns);
    drop(c);
    drop(kv); // SIGKILL
    let kv = start();
    let mut c = kv.raw();
    assert_eq!(c.q(&["GET", "n"]), "$2\r\n88\r\n");
    assert_eq!(c.q(&["FCALL", "bump", "1", "n"]), ":98\r\n");
    assert_eq!(c.q(&["FCALL", "g", "0"]), "-ERR Function not found\r\n");
    let info = c.q(&["INFO", "memory"]);
    assert!(info.contains("number_of_functions:1\r\n"), "{info}");
    assert!(info.contains("number_of_libraries:1\r\n"), "{info}");
}

#[test]
fn aof_replays_scripts_by_effects() {
    let dir = common::TempDir::new("script-aof");
    let d = dir.s();
    let start = |extra: &[&str]| {
        Server::spawn(env!("CARGO_BIN_EXE_kvserver"), |port| {
            let mut v: Vec<String> = [
                "--port",
                &port.to_string(),
                "--io-threads",
                "2",
                "--dir",
                &d,
            ]
            .iter()
            .chain(&["--appendonly", "yes"])
            .map(|s| s.to_string())
            .collect();
            v.extend(extra.iter().map(|s| s.to_string()));
            v
        })
    };
    let kv = start(&["--appendfsync", "always"]);
    let mut c = kv.raw();
    let script = "
        local t = redis.call('time')
        redis.call('set', KEYS[1], math.random(1000000) .. ':' .. t[1] .. t[2])
        redis.call('sadd', KEYS[2], 'a', 'b', 'c', 'd', 'e', 'f')
        local popped = redis.call('spop', KEYS[2])
        redis.call('rpush', KEYS[3], popped, math.random())
        redis.call('hincrbyfloat', 'undeclared:h', 'f', math.random())
        return popped
    ";
    for i in 0..20 {
        let (k, s2, l) = (format!("k{i}"), format!("s{i}"), format!("l{i}"));
        let r = c.q(&["EVAL", script, "3", &k, &s2, &l]);
        assert!(r.starts_with("$1\r\n"), "{r}");
    }
    // A script that fails half-way keeps (and propagates) what it did.
    let r = c.q(&[
        "EVAL",
        "redis.call('set', 'half', '1') redis.call('incr', 'k0')",
        "0",
    ]);
    assert!(r.contains("value is not an integer"), "{r}");
    // redis.set_repl(REPL_NONE): the write stays out of the AOF.
    c.q(&[
        "EVAL",
        "redis.set_repl(redis.REPL_NONE) redis.call('set', 'unlogged', '1')",
        "0",
    ]);
    let before = common::dataset(kv.port, false);
    assert!(before.contains_key("0:half") || before.keys().any(|k| k.contains("half")));
    drop(c);
    drop(kv); // SIGKILL: with `always`, everything acknowledged is in the file.
    let kv = start(&[]);
    let mut after = common::dataset(kv.port, false);
    let unlogged: Vec<String> = before
        .keys()
        .filter(|k| k.contains("unlogged"))
        .cloned()
        .collect();
    assert_eq!(unlogged.len(), 1, "{before:?}");
    assert!(
        after.remove(&unlogged[0]).is_none(),
        "a REPL_NONE write was replayed"
    );
    let mut before = before;
    before.remove(&unlogged[0]);
    assert_eq!(before, after);
}
