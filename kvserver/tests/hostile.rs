//! Hostile input over the network (issue 6 item 6): malformed frames
//! (negative and huge lengths, missing CRLF, nested arrays), non-UTF-8
//! bytes, 100,000 arguments, empty keys, wrong types, and every command
//! COMMAND lists with random arguments. Each is answered with an error or
//! a clean close, while a second client is served correctly throughout;
//! the server process is alive at the end. Runs on threads and uring.

mod common;

use common::{encode, Raw, Server};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The length of the complete RESP frame at the front of `buf`: error and
/// simple strings may hold any bytes (Redis echoes non-UTF-8 arguments in
/// errors), which the common client's decoder refuses.
fn frame_len(buf: &[u8]) -> Option<usize> {
    let cr = buf.windows(2).position(|w| w == b"\r\n")?;
    let n = || std::str::from_utf8(&buf[1..cr]).ok()?.parse::<i64>().ok();
    let mut pos = cr + 2;
    match buf.first()? {
        b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => Some(pos),
        b'$' | b'=' | b'!' => {
            let len = n()?;
            if len >= 0 {
                pos += len as usize + 2;
            }
            (pos <= buf.len()).then_some(pos)
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
        _ => panic!("not RESP: {:?}", String::from_utf8_lossy(buf)),
    }
}

/// A connection reading replies with [`frame_len`].
struct Lenient {
    s: TcpStream,
    buf: Vec<u8>,
}

impl Lenient {
    fn connect(port: u16) -> Lenient {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        Lenient { s, buf: Vec::new() }
    }

    fn reply(&mut self) -> Vec<u8> {
        loop {
            if let Some(n) = frame_len(&self.buf) {
                return self.buf.drain(..n).collect();
            }
            let mut chunk = [0u8; 65536];
            match self.s.read(&mut chunk) {
                Ok(0) => panic!("connection closed"),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => panic!("read: {e}"),
            }
        }
    }

    fn cmd(&mut self, args: &[&[u8]]) -> Vec<u8> {
        self.s.write_all(&encode(args)).unwrap();
        self.reply()
    }

    fn q(&mut self, args: &[&str]) -> String {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        String::from_utf8_lossy(&self.cmd(&a)).into_owned()
    }
}

/// Sends `bytes` on a fresh connection; returns what came back until EOF
/// (the server closed it) or a short quiet period.
fn poke(port: u16, bytes: &[u8]) -> (Vec<u8>, bool) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let _ = s.write_all(bytes);
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (got, true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return (got, true),
            Err(_) => return (got, false),
        }
    }
}

/// A client that keeps checking its own counter and value while the rest
/// of the test attacks the server; returns its rounds.
fn observer(port: u16, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut c = Raw::connect(port);
        let mut n = 0u64;
        while !stop.load(Ordering::Relaxed) {
            n += 1;
            let v = format!("value-{n}");
            assert_eq!(c.q(&["SET", "observer:v", &v]), "+OK\r\n");
            assert_eq!(
                c.q(&["GET", "observer:v"]),
                format!("${}\r\n{v}\r\n", v.len())
            );
            assert_eq!(c.q(&["INCR", "observer:n"]), format!(":{n}\r\n"));
            std::thread::sleep(Duration::from_millis(2));
        }
        n
    })
}

fn malformed(srv: &Server) {
    let p = srv.port;
    let cases: &[(&[u8], &[u8])] = &[
        (
            b"*1\r\n$-5\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*1\r\n$2000000000\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*1\r\n$99999999999999999999\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*1\r\n$x\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*99999999999\r\n",
            b"-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*x\r\n",
            b"-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*1\r\n*1\r\n$4\r\nPING\r\n",
            b"-ERR Protocol error: expected '$', got '*'\r\n",
        ),
        (
            b"*2\r\n$4\r\nECHO\r\n:1\r\n",
            b"-ERR Protocol error: expected '$', got ':'\r\n",
        ),
        (
            b"\"unbalanced\r\n",
            b"-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
    ];
    for (req, want) in cases {
        let (got, closed) = poke(p, req);
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(want),
            "{:?}",
            String::from_utf8_lossy(req)
        );
        assert!(closed, "{:?} left open", String::from_utf8_lossy(req));
    }
    // No CRLF ever: an inline line past 64 KiB, a header past 64 KiB.
    let (got, closed) = poke(p, &vec![b'a'; 70_000]);
    assert_eq!(got, b"-ERR Protocol error: too big inline request\r\n");
    assert!(closed);
    let mut h = b"*".to_vec();
    h.extend(vec![b'1'; 70_000]);
    let (got, closed) = poke(p, &h);
    assert_eq!(got, b"-ERR Protocol error: too big mbulk count string\r\n");
    assert!(closed);
    // Like Redis, the two bytes after a bulk payload are skipped unchecked.
    let (got, closed) = poke(p, b"*1\r\n$4\r\nPINGxx");
    assert_eq!(got, b"+PONG\r\n");
    assert!(!closed);
    // `*-5` and `*0` are skipped; bare LF line endings work inline.
    let (got, _) = poke(p, b"*-5\r\n*0\r\nPING\nPING\r\n");
    assert_eq!(got, b"+PONG\r\n+PONG\r\n");
    // A half request, then the peer goes away: nothing to answer.
    let (got, _) = poke(p, b"*3\r\n$3\r\nSET\r\n$1\r\nk");
    assert!(got.is_empty());
}

fn odd_but_legal(srv: &Server) {
    let mut c = Lenient::connect(srv.port);
    // Non-UTF-8 everywhere.
    let k: &[u8] = b"\xff\xfe\x00key";
    let v: &[u8] = b"\x80\x81\r\n\x00";
    assert_eq!(c.cmd(&[b"SET", k, v]), b"+OK\r\n");
    assert_eq!(c.cmd(&[b"GET", k]), [&b"$5\r\n"[..], v, b"\r\n"].concat());
    let r = c.cmd(&[b"\xff\xfeCMD", b"\x80"]);
    assert!(r.starts_with(b"-ERR unknown command '\xff\xfeCMD'"));
    assert_eq!(
        c.cmd(&[b"HSET", b"\xc3\x28", b"\xa0\xa1", b"\xe2\x28\xa1"]),
        b":1\r\n"
    );
    // Empty keys, fields, members.
    assert_eq!(c.q(&["SET", "", ""]), "+OK\r\n");
    assert_eq!(c.q(&["GET", ""]), "$0\r\n\r\n");
    assert_eq!(c.q(&["DEL", ""]), ":1\r\n");
    assert_eq!(c.q(&["HSET", "", "", ""]), ":1\r\n");
    assert_eq!(c.q(&["ZADD", "ez", "0", ""]), ":1\r\n");
    assert_eq!(c.q(&["SADD", "es", ""]), ":1\r\n");
    assert_eq!(c.q(&["RPUSH", "el", ""]), ":1\r\n");
    assert_eq!(c.q(&["DEL", ""]), ":1\r\n");
    assert_eq!(
        c.q(&["XADD", "", "*", "", ""]).as_bytes()[0],
        b'$',
        "XADD with an empty key"
    );
    // 100,000 arguments in one request.
    let keys: Vec<String> = (0..99_999).map(|i| format!("many:{i}")).collect();
    let mut argv: Vec<&[u8]> = vec![b"RPUSH", b"big"];
    argv.extend(keys.iter().map(|k| k.as_bytes()));
    assert_eq!(c.cmd(&argv[..100_000]), b":99998\r\n");
    let mut argv: Vec<&[u8]> = vec![b"DEL"];
    argv.extend(keys.iter().map(|k| k.as_bytes()));
    assert_eq!(c.cmd(&argv), b":0\r\n");
    let mut argv: Vec<&[u8]> = vec![b"MSET"];
    for k in &keys[..49_999] {
        argv.push(k.as_bytes());
        argv.push(b"v");
    }
    assert_eq!(argv.len(), 99_999);
    assert_eq!(c.cmd(&argv), b"+OK\r\n");
    assert_eq!(c.q(&["EXISTS", "many:0", "many:49998"]), ":2\r\n");
    assert_eq!(c.q(&["LLEN", "big"]), ":99998\r\n");
    // (No FLUSHALL: the observer's keys must stay.)
    assert_eq!(c.q(&["DEL", "big"]), ":1\r\n");
}

/// Arguments for random commands: keys of every type, edge numbers,
/// option words and junk. No word that blocks (BLOCK), nor CLIENT KILL's
/// filters, nor configuration names.
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
    "10",
    "-100",
    "9223372036854775807",
    "-9223372036854775807",
    "-9223372036854775808",
    "1.5",
    "inf",
    "-inf",
    "nan",
    "(1",
    "[a",
    "-",
    "+",
    "*",
    "$",
    "~",
    "0-1",
    "COUNT",
    "LIMIT",
    "WITHSCORES",
    "NX",
    "XX",
    "GT",
    "CH",
    "EX",
    "PX",
    "GET",
    "BYSCORE",
    "BYLEX",
    "REV",
    "MATCH",
    "STREAMS",
    "MAXLEN",
    "LEFT",
    "RIGHT",
    "AND",
    "NOT",
    "BIT",
    "WEIGHTS",
    "AGGREGATE",
    "FULL",
    "SAMPLES",
    "ENCODING",
    "LIST",
    "INFO",
    "HELP",
    "GETNAME",
    "USAGE",
    "DOCS",
    "GETKEYS",
    "NUMSUB",
    "\u{0}",
    "\u{ff}",
];

/// Commands not sent with random arguments: they block, stop the server,
/// or change the other client's world (tested elsewhere).
const SKIP: &[&str] = &[
    "shutdown",
    "debug",
    "monitor",
    "blpop",
    "brpop",
    "blmove",
    "brpoplpush",
    "blmpop",
    "bzpopmin",
    "bzpopmax",
    "bzmpop",
    "xread",
    "client",
    "config",
    "quit",
    "flushall",
    "flushdb",
    "swapdb",
    "auth",
    "hello",
];

fn populate(c: &mut Lenient) {
    for a in [
        &["SET", "s", "12"][..],
        &["RPUSH", "l", "a", "1"],
        &["HSET", "h", "f", "1"],
        &["SADD", "st", "1", "a"],
        &["ZADD", "z", "1", "a"],
        &["XADD", "x", "*", "f", "v"],
    ] {
        c.q(a);
    }
}

/// Reads replies until RESET's (whatever the random command sent before).
fn until_reset(c: &mut Lenient) {
    while c.reply() != b"+RESET\r\n" {}
}

fn every_command_with_random_args(srv: &Server) {
    let mut c = Lenient::connect(srv.port);
    let list = c.q(&["COMMAND", "LIST"]);
    let names: Vec<String> = list
        .split("\r\n")
        .filter(|l| !l.is_empty() && !l.starts_with(['*', '$']))
        .map(str::to_string)
        .collect();
    assert!(names.len() > 150, "{}", names.len());
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for name in names.iter().filter(|n| !SKIP.contains(&n.as_str())) {
        for round in 0..6 {
            if round % 3 == 0 {
                populate(&mut c);
            }
            let argc = (next() % 6) as usize;
            let mut argv: Vec<Vec<u8>> = vec![name.as_bytes().to_vec()];
            for _ in 0..argc {
                let r = next();
                if r % 5 == 0 {
                    argv.push((0..(r >> 8) % 9).map(|i| (r >> (i * 7)) as u8).collect());
                } else {
                    argv.push(WORDS[(r >> 3) as usize % WORDS.len()].as_bytes().to_vec());
                }
            }
            let refs: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
            let mut req = encode(&refs);
            req.extend(encode(&[b"RESET"]));
            c.s.write_all(&req).unwrap();
            until_reset(&mut c);
        }
    }
}

#[test]
fn hostile_clients_do_not_hurt_the_server_or_others() {
    for backend in ["threads", "uring"] {
        let Some(mut srv) = Server::kvserver_if_available(backend) else {
            continue;
        };
        let stop = Arc::new(AtomicBool::new(false));
        let obs = observer(srv.port, stop.clone());
        malformed(&srv);
        odd_but_legal(&srv);
        every_command_with_random_args(&srv);
        stop.store(true, Ordering::Relaxed);
        let rounds = obs.join().expect("the observer saw a wrong reply");
        assert!(rounds > 10, "observer rounds: {rounds}");
        assert!(srv.child.try_wait().unwrap().is_none(), "server died");
        assert_eq!(srv.raw().q(&["PING"]), "+PONG\r\n");
    }
}
