//! Hostile input, in process (issue 6 item 6): random and mutated byte
//! strings through the request parser, random argument vectors through
//! command dispatch. Bounded (a few thousand cases each, fixed by
//! proptest's default seed handling) so they run in seconds.
//!
//! Properties: nothing panics; the parser always makes progress or asks
//! for more bytes, never consumes past the input, and every prefix of a
//! valid request is `Incomplete`; every command's output is well-formed
//! RESP (a sequence of complete frames).

use crate::exec::effects::Effects;
use crate::exec::pipeline;
use crate::exec::table::COMMANDS;
use crate::proto::reply::Reply;
use crate::proto::request::{self, Parsed};
use crate::server::{Client, Server};
use crate::util::Rng;
use proptest::prelude::*;
use std::sync::Arc;

/// Real requests: what clients send.
const SEEDS: &[&[u8]] = &[
    b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n",
    b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
    b"*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n",
    b"*4\r\n$4\r\nZADD\r\n$1\r\nz\r\n$3\r\n1.5\r\n$1\r\nm\r\n",
    b"*5\r\n$4\r\nXADD\r\n$1\r\nx\r\n$1\r\n*\r\n$1\r\nf\r\n$1\r\nv\r\n",
    b"*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n",
    b"*0\r\n",
    b"*-1\r\n",
    b"PING\r\n",
    b"SET k \"a b\\x41\\n\" 'it\\'s'\r\n",
    b"\r\n",
    b"GET k\n",
    b"*1\r\n$0\r\n\r\n",
];

fn mutated() -> impl Strategy<Value = Vec<u8>> {
    let seed = proptest::sample::select(SEEDS).prop_map(|s| s.to_vec());
    let op = (
        0u8..6,
        any::<usize>(),
        any::<u8>(),
        proptest::collection::vec(any::<u8>(), 0..8),
    );
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        (seed, proptest::collection::vec(op, 0..4)).prop_map(|(mut b, ops)| {
            for (kind, at, byte, bytes) in ops {
                let i = if b.is_empty() { 0 } else { at % b.len() };
                match kind {
                    0 if !b.is_empty() => b[i] = byte,
                    1 => b.splice(i..i, bytes).for_each(drop),
                    2 => b.truncate(i),
                    3 if !b.is_empty() => drop(b.remove(i)),
                    4 => {
                        // Header-like noise: digits and signs.
                        let d = [b'-', b'9', b'0', b'*', b'$', b'\r', b'\n'];
                        b.insert(i, d[byte as usize % d.len()]);
                    }
                    _ => {
                        let c = b.clone();
                        b.extend_from_slice(&c);
                    }
                }
            }
            b
        }),
    ]
}

/// Parses `buf` as the connection loop does until it stops; checks
/// progress and bounds.
fn parse_all(buf: &[u8]) {
    let (mut ranges, mut owned) = (Vec::new(), Vec::new());
    let mut pos = 0;
    while pos < buf.len() {
        let data = &buf[pos..];
        let _ = request::check_unauthenticated(data, request::MAX_BULK_LEN);
        match request::parse(data, &mut ranges, &mut owned) {
            Parsed::Incomplete | Parsed::Error(_) => return,
            Parsed::Empty { consumed } => {
                assert!(consumed > 0 && consumed <= data.len());
                pos += consumed;
            }
            Parsed::Multibulk { consumed } => {
                assert!(consumed > 0 && consumed <= data.len());
                assert!(!ranges.is_empty());
                for r in &ranges {
                    assert!(r.start <= r.end && r.end <= consumed);
                }
                pos += consumed;
            }
            Parsed::Inline { consumed } => {
                assert!(consumed > 0 && consumed <= data.len());
                assert!(!owned.is_empty());
                pos += consumed;
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn parser_survives_random_and_mutated_input(buf in mutated()) {
        parse_all(&buf);
    }
}

#[test]
fn every_prefix_of_a_request_is_incomplete() {
    let (mut r, mut o) = (Vec::new(), Vec::new());
    for seed in SEEDS.iter().filter(|s| s.starts_with(b"*") && s.len() > 5) {
        for cut in 1..seed.len() {
            let p = request::parse(&seed[..cut], &mut r, &mut o);
            assert!(
                matches!(
                    p,
                    Parsed::Incomplete | Parsed::Empty { .. } | Parsed::Multibulk { .. }
                ),
                "{:?} cut at {cut}: {p:?}",
                String::from_utf8_lossy(seed)
            );
        }
    }
}

/// Arguments that reach many code paths: keys of every type, numbers at
/// the edges, option words, ids, and non-UTF-8 bytes.
const WORDS: &[&str] = &[
    "s",
    "l",
    "h",
    "st",
    "z",
    "x",
    "nokey",
    "",
    "-1",
    "0",
    "1",
    "2",
    "3",
    "10",
    "100",
    "-100",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551616",
    "1.5",
    "-0.5",
    "inf",
    "-inf",
    "+inf",
    "nan",
    "(1",
    "[a",
    "(a",
    "-",
    "+",
    "*",
    "$",
    "~",
    "=",
    "0-1",
    "1-0",
    "COUNT",
    "LIMIT",
    "WITHSCORES",
    "NX",
    "XX",
    "GT",
    "LT",
    "CH",
    "INCR",
    "EX",
    "PX",
    "EXAT",
    "KEEPTTL",
    "GET",
    "BYSCORE",
    "BYLEX",
    "REV",
    "MATCH",
    "TYPE",
    "STREAMS",
    "BLOCK",
    "MAXLEN",
    "MINID",
    "LEFT",
    "RIGHT",
    "BEFORE",
    "AFTER",
    "AND",
    "OR",
    "XOR",
    "NOT",
    "BIT",
    "BYTE",
    "WEIGHTS",
    "AGGREGATE",
    "SUM",
    "MIN",
    "MAX",
    "FULL",
    "SAMPLES",
    "ENCODING",
    "FREQ",
    "RANK",
    "LIST",
    "INFO",
    "HELP",
    "ID",
    "SETNAME",
    "GETNAME",
    "USAGE",
    "STATS",
    "DOCS",
    "GETKEYS",
    "CHANNELS",
    "NUMSUB",
    "RESETSTAT",
    "REPLY",
    "OFF",
    "SKIP",
    "ON",
    "MULTI",
    "ASYNC",
    "SYNC",
    "REPLACE",
    "DB",
    "WITHVALUES",
    "IDLETIME",
    "REFCOUNT",
    "ENTRIESADDED",
    "MAXDELETEDID",
];

fn arg() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => proptest::sample::select(WORDS).prop_map(|w| w.as_bytes().to_vec()),
        1 => proptest::collection::vec(any::<u8>(), 0..12),
    ]
}

/// Commands a fuzzer must not run in process: SHUTDOWN stops the process's
/// servers, DEBUG SLEEP sleeps, SAVE/BGSAVE/BGREWRITEAOF write files into
/// the working directory (rdb.rs and aof.rs test them with their own).
fn excluded(name: &str) -> bool {
    matches!(
        name,
        "shutdown" | "debug" | "save" | "bgsave" | "bgrewriteaof"
    )
}

struct Harness {
    server: Server,
    _wake: Vec<std::os::fd::OwnedFd>,
    rng: Rng,
    next_id: u64,
}

impl Harness {
    fn new() -> Harness {
        let (mail, wake) = crate::net::mailbox::Mailboxes::new(2).expect("socketpairs");
        let server = Server::new(
            crate::config::ServerConfig::default(),
            "test".into(),
            mail,
            Default::default(),
        );
        Harness {
            server,
            _wake: wake,
            rng: Rng::new(7),
            next_id: 1_000_000,
        }
    }

    fn client(&mut self) -> Client {
        self.next_id += 1;
        let info = Arc::new(crate::exec::clients::ClientInfo::detached(self.next_id));
        Client::new(self.next_id, info)
    }

    /// Runs `argv` on `c`; returns the reply bytes.
    fn run(&mut self, c: &mut Client, resp: u8, argv: &[&[u8]]) -> Vec<u8> {
        let mut out = Reply::new(bytes::BytesMut::new());
        out.resp = resp;
        pipeline::execute(
            &self.server,
            c,
            &mut out,
            &mut self.rng,
            &mut Default::default(),
            &mut Effects::default(),
            argv,
        );
        out.buf.to_vec()
    }

    /// One key of every type.
    fn populate(&mut self) {
        let mut c = self.client();
        for argv in [
            &[&b"SET"[..], b"s", b"12"][..],
            &[b"RPUSH", b"l", b"a", b"b", b"1"],
            &[b"HSET", b"h", b"f", b"1", b"g", b"x"],
            &[b"SADD", b"st", b"1", b"a"],
            &[b"ZADD", b"z", b"1", b"a", b"2", b"b"],
            &[b"XADD", b"x", b"*", b"f", b"v"],
        ] {
            self.run(&mut c, 2, argv);
        }
    }
}

/// The length of the complete RESP2/RESP3 frame at the front of `buf`
/// (error and simple strings may hold any bytes but CR LF, as on Redis's
/// wire; the `redis-protocol` decoder wants UTF-8 there).
fn frame_len(buf: &[u8]) -> Option<usize> {
    let cr = buf.windows(2).position(|w| w == b"\r\n")?;
    let head = std::str::from_utf8(&buf[1..cr]).ok();
    let n = || head?.parse::<i64>().ok();
    let mut pos = cr + 2;
    match buf.first()? {
        b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => Some(pos),
        b'$' | b'=' | b'!' => {
            let len = n()?;
            if len < 0 {
                return Some(pos);
            }
            pos += len as usize;
            (buf.get(pos..pos + 2)? == b"\r\n").then_some(pos + 2)
        }
        t @ (b'*' | b'~' | b'>' | b'%' | b'|') => {
            let count = n()?;
            let items = if matches!(t, b'%' | b'|') {
                count * 2
            } else {
                count
            };
            for _ in 0..items.max(0) {
                pos += frame_len(&buf[pos..])?;
            }
            Some(pos)
        }
        _ => None,
    }
}

/// Whether `buf` is a sequence of complete RESP2/RESP3 frames.
fn well_formed(buf: &[u8]) -> bool {
    let mut pos = 0;
    while pos < buf.len() {
        match frame_len(&buf[pos..]) {
            Some(n) => pos += n,
            None => return false,
        }
    }
    true
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn dispatch_survives_random_arguments(
        cmd in 0..COMMANDS.len(),
        args in proptest::collection::vec(arg(), 0..7),
        resp3 in any::<bool>(),
        case_flip in any::<bool>(),
    ) {
        thread_local! {
            static H: std::cell::RefCell<Option<Harness>> = const { std::cell::RefCell::new(None) };
        }
        let c = &COMMANDS[cmd];
        prop_assume!(!excluded(c.name));
        H.with(|h| {
            let mut h = h.borrow_mut();
            let h = h.get_or_insert_with(Harness::new);
            if h.rng.below(20) == 0 {
                h.populate();
            }
            let name = if case_flip { c.name.to_uppercase() } else { c.name.to_string() };
            let mut argv: Vec<&[u8]> = vec![name.as_bytes()];
            argv.extend(args.iter().map(|a| a.as_slice()));
            let mut client = h.client();
            let resp = if resp3 { 3 } else { 2 };
            let out = h.run(&mut client, resp, &argv);
            // HELLO may switch the protocol mid-reply; CLIENT REPLY OFF
            // and a blocking command may answer nothing.
            let ok = well_formed(&out);
            assert!(ok, "{argv:?} gave malformed {:?}", String::from_utf8_lossy(&out));
            crate::exec::multi::client_gone(&h.server, &mut client);
            crate::cmd::pubsub::unsubscribe_all(&h.server, &mut client);
            if client.blocked.take().is_some() {
                h.server.blocking.remove(client.id);
            }
        });
    }
}

#[test]
fn wrong_types_everywhere() {
    // Every command with a key of each type in every position.
    let mut h = Harness::new();
    for c in COMMANDS.iter().filter(|c| !excluded(c.name)) {
        for key in [&b"s"[..], b"l", b"h", b"st", b"z", b"x"] {
            h.populate();
            for n in 1..5 {
                let mut argv: Vec<&[u8]> = vec![c.name.as_bytes()];
                argv.extend(std::iter::repeat_n(key, n));
                let mut client = h.client();
                let out = h.run(&mut client, 2, &argv);
                assert!(well_formed(&out), "{argv:?}");
                crate::cmd::pubsub::unsubscribe_all(&h.server, &mut client);
                crate::exec::multi::client_gone(&h.server, &mut client);
                if client.blocked.take().is_some() {
                    h.server.blocking.remove(client.id);
                }
            }
        }
    }
}
