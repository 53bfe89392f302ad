//! Request parsing: RESP multibulk requests and inline commands.
//!
//! A request that starts with `*` is a multibulk array of bulk strings (what
//! every client library sends, in RESP2 and RESP3 alike):
//!
//! ```text
//! *3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n
//! ```
//!
//! Anything else is an inline command, one text line split like a shell
//! line (what telnet and `redis-cli` in some modes send): `SET k "a b"\r\n`.
//!
//! Multibulk frames are decoded by [`scan_headers`] in one pass over the
//! headers: it enforces Redis's limits with Redis's exact errors (a hostile
//! `$999999999` is refused, not waited for; nested arrays are refused),
//! skips each payload and the two bytes after it by its length (unchecked,
//! as Redis), and records each argument as a byte range of our input
//! buffer (no copy, no allocation beyond the caller's reused range
//! vector). A request still arriving is not walked from its start on every
//! receive: the connection keeps a [`Resume`].

use crate::util::parse_i64;
use std::ops::Range;

/// Largest bulk argument (Redis's proto-max-bulk-len default).
pub const MAX_BULK_LEN: i64 = 512 * 1024 * 1024;
/// Limits for a client that has not authenticated yet (Redis's: a request
/// announcing more arguments or a longer argument is a protocol error, so
/// a stranger cannot make the server buffer much).
pub const UNAUTH_MAX_MULTIBULK: i64 = 10;
pub const UNAUTH_MAX_BULK: i64 = 16384;

/// Most arguments in one request.
pub const MAX_MULTIBULK_LEN: i64 = 1024 * 1024;
/// Longest inline line, or multibulk header line (PROTO_INLINE_MAX_SIZE).
pub const MAX_INLINE: usize = 64 * 1024;

/// What is at the front of the input buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A multibulk request of `consumed` bytes; its arguments are in `ranges`.
    Multibulk { consumed: usize },
    /// An inline request of `consumed` bytes; its arguments are in `owned`
    /// (quotes and escapes make them differ from the input bytes).
    Inline { consumed: usize },
    /// Nothing to run (an empty line, `*0`); skip `consumed` bytes.
    Empty { consumed: usize },
    /// Wait for more bytes.
    Incomplete,
    /// A protocol error: reply `ERR <message>` and close the connection.
    Error(String),
}

/// Parses the request at the front of `buf` (the AOF, a request a
/// connection's thread already parsed), with Redis's default bulk limit.
pub fn parse(buf: &[u8], ranges: &mut Vec<Range<usize>>, owned: &mut Vec<Vec<u8>>) -> Parsed {
    parse_resuming(buf, ranges, owned, &mut Resume::default(), MAX_BULK_LEN)
}

/// Where the walk of an incomplete multibulk request stopped: the next
/// parse of the same request (with more bytes behind it) starts there
/// instead of walking every argument header again. A connection keeps
/// one, so a request of a million arguments arriving in hundreds of
/// receives is walked once (Redis keeps the same state in its client).
/// Offsets are from the request's start, which stays at the front of the
/// connection's input while the request is incomplete.
#[derive(Debug, Default)]
pub struct Resume {
    /// Bytes of the request walked so far: its first line and its
    /// complete arguments (0: nothing saved).
    pos: usize,
    /// The request's argument count, from its first line.
    count: i64,
    /// The complete arguments' ranges.
    ranges: Vec<Range<usize>>,
    /// Where the argument being received ends, when it is a big one
    /// (0 otherwise): see [`Resume::wants`].
    need: usize,
}

impl Resume {
    /// How many bytes the input must hold for the big argument being
    /// received to be complete (0: no big argument is being received). The
    /// connection reserves them at once, as Redis sizes its query buffer
    /// for a big argument: the buffer does not grow by doubling (each
    /// growth a copy of everything received so far).
    pub fn wants(&self) -> usize {
        self.need
    }
}

/// An argument from this size on is received into a buffer reserved for
/// it (Redis's PROTO_MBULK_BIG_ARG).
const BIG_ARG: usize = 32 * 1024;

/// A client's request at the front of `buf`, with bulks of at most
/// `max_bulk` bytes (proto-max-bulk-len), resuming the walk `resume` saved
/// for this request, and saving it there again if the request is still
/// incomplete.
pub fn parse_resuming(
    buf: &[u8],
    ranges: &mut Vec<Range<usize>>,
    owned: &mut Vec<Vec<u8>>,
    resume: &mut Resume,
    max_bulk: i64,
) -> Parsed {
    ranges.clear();
    owned.clear();
    match buf.first() {
        None => Parsed::Incomplete,
        Some(b'*') => parse_multibulk(buf, ranges, resume, max_bulk),
        Some(_) => parse_inline(buf, owned),
    }
}

fn parse_multibulk(
    buf: &[u8],
    ranges: &mut Vec<Range<usize>>,
    resume: &mut Resume,
    max_bulk: i64,
) -> Parsed {
    let limits = (max_bulk, None);
    match scan_headers(buf, Some(ranges), limits, Some(resume)) {
        Ok(Some((len, count))) if count <= 0 => Parsed::Empty { consumed: len },
        Ok(Some((len, _))) => Parsed::Multibulk { consumed: len },
        Ok(None) => Parsed::Incomplete,
        Err(e) => Parsed::Error(e),
    }
}

/// Finds the end of the line starting at `from`: the index of its `\r`,
/// with a `\n` after it. `Ok(None)`: not all there yet.
fn line_end(buf: &[u8], from: usize, too_long: &str) -> Result<Option<usize>, String> {
    match buf[from..].iter().position(|&c| c == b'\r') {
        Some(i) if from + i + 1 < buf.len() => Ok(Some(from + i)),
        Some(_) => Ok(None),
        None if buf.len() - from > MAX_INLINE => Err(format!("Protocol error: {too_long}")),
        None => Ok(None),
    }
}

/// Checks the request at the front of `buf` against the limits for a
/// client that has not authenticated (Redis's `unauthenticated multibulk
/// length` / `unauthenticated bulk length` errors). `Err`: the protocol
/// error to answer before closing; `Ok`: parse it as usual.
pub fn check_unauthenticated(buf: &[u8], max_bulk: i64) -> Result<(), String> {
    if buf.first() != Some(&b'*') {
        return Ok(());
    }
    let limits = (max_bulk, Some((UNAUTH_MAX_MULTIBULK, UNAUTH_MAX_BULK)));
    scan_headers(buf, None, limits, None).map(|_| ())
}

/// (longest argument: proto-max-bulk-len; for a client that has not
/// authenticated, its tighter (most arguments, longest argument)).
type Limits = (i64, Option<(i64, i64)>);

/// Walks the headers of the multibulk request at the front of `buf`
/// (`buf[0] == b'*'`). `Ok(Some((len, count)))`: a complete request of `len`
/// bytes with `count` arguments; `Ok(None)`: incomplete so far, and within
/// `limits`; `Err`: the protocol error Redis would send.
///
/// With `ranges`, the arguments' byte ranges are recorded there. With
/// `resume` (and `ranges`), the walk starts where the last one on this
/// request stopped, and an incomplete walk is saved there.
fn scan_headers(
    buf: &[u8],
    mut ranges: Option<&mut Vec<Range<usize>>>,
    (max_bulk, unauth): Limits,
    mut resume: Option<&mut Resume>,
) -> Result<Option<(usize, i64)>, String> {
    let saved = resume
        .as_deref_mut()
        .filter(|r| r.pos > 0 && r.pos <= buf.len());
    let (count, mut pos) = match saved {
        Some(r) => {
            if let Some(out) = ranges.as_deref_mut() {
                std::mem::swap(out, &mut r.ranges);
            }
            (r.count, r.pos)
        }
        None => {
            let Some(cr) = line_end(buf, 1, "too big mbulk count string")? else {
                return Ok(None);
            };
            let count = match parse_i64(&buf[1..cr]) {
                Some(n) if n <= MAX_MULTIBULK_LEN => n,
                _ => return Err("Protocol error: invalid multibulk length".into()),
            };
            if unauth.is_some_and(|(max_count, _)| count > max_count) {
                return Err("Protocol error: unauthenticated multibulk length".into());
            }
            (count, cr + 2)
        }
    };
    if let Some(r) = resume.as_deref_mut() {
        *r = Resume::default();
    }
    let done = ranges.as_deref().map_or(0, |r| r.len());
    // Not all there yet: remember how far the walk got.
    let mut incomplete = |pos: usize, ranges: Option<&mut Vec<Range<usize>>>, need: usize| {
        if let (Some(r), Some(out)) = (resume.as_deref_mut(), ranges) {
            r.pos = pos;
            r.count = count;
            r.need = need;
            std::mem::swap(&mut r.ranges, out);
        }
        Ok(None)
    };
    for _ in done..count.max(0) as usize {
        let Some(&c) = buf.get(pos) else {
            return incomplete(pos, ranges, 0);
        };
        if c != b'$' {
            return Err(format!(
                "Protocol error: expected '$', got '{}'",
                String::from_utf8_lossy(&[c])
            ));
        }
        let Some(cr) = line_end(buf, pos + 1, "too big bulk count string")? else {
            return incomplete(pos, ranges, 0);
        };
        let n = match parse_i64(&buf[pos + 1..cr]) {
            Some(n) if (0..=max_bulk).contains(&n) => n,
            _ => return Err("Protocol error: invalid bulk length".into()),
        };
        if unauth.is_some_and(|(_, bulk)| n > bulk) {
            return Err("Protocol error: unauthenticated bulk length".into());
        }
        let n = n as usize;
        let start = cr + 2;
        if start + n + 2 > buf.len() {
            let need = if n >= BIG_ARG { start + n + 2 } else { 0 };
            return incomplete(pos, ranges, need);
        }
        pos = start + n + 2;
        if let Some(r) = ranges.as_deref_mut() {
            // Like Redis, the two bytes after a payload are not looked at
            // (`$4\r\nPINGxx` is PING).
            r.push(start..start + n);
        }
    }
    Ok(Some((pos, count)))
}

fn parse_inline(buf: &[u8], owned: &mut Vec<Vec<u8>>) -> Parsed {
    let Some(nl) = buf.iter().position(|&c| c == b'\n') else {
        if buf.len() > MAX_INLINE {
            return Parsed::Error("Protocol error: too big inline request".into());
        }
        return Parsed::Incomplete;
    };
    let mut line = &buf[..nl];
    if line.last() == Some(&b'\r') {
        line = &line[..line.len() - 1];
    }
    if !split_args(line, owned) {
        return Parsed::Error("Protocol error: unbalanced quotes in request".into());
    }
    if owned.is_empty() {
        Parsed::Empty { consumed: nl + 1 }
    } else {
        Parsed::Inline { consumed: nl + 1 }
    }
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Splits a line into arguments like Redis's sdssplitargs: whitespace
/// separates, `"..."` understands `\n \r \t \b \a \\ \" \xHH`, `'...'` only
/// `\'`, and a closing quote must be followed by whitespace or the end.
/// Returns false on unbalanced quotes.
pub fn split_args(line: &[u8], out: &mut Vec<Vec<u8>>) -> bool {
    let at = |i: usize| line.get(i).copied().unwrap_or(0);
    let mut p = 0;
    loop {
        while p < line.len() && line[p].is_ascii_whitespace() {
            p += 1;
        }
        if p >= line.len() {
            return true;
        }
        let (mut inq, mut insq) = (false, false);
        let mut cur = Vec::new();
        loop {
            let c = at(p);
            if inq {
                if c == b'\\'
                    && at(p + 1) == b'x'
                    && hex(at(p + 2)).is_some()
                    && hex(at(p + 3)).is_some()
                {
                    cur.push(hex(at(p + 2)).unwrap_or(0) * 16 + hex(at(p + 3)).unwrap_or(0));
                    p += 3;
                } else if c == b'\\' && p + 1 < line.len() {
                    p += 1;
                    cur.push(match line[p] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        o => o,
                    });
                } else if c == b'"' {
                    if p + 1 < line.len() && !line[p + 1].is_ascii_whitespace() {
                        return false;
                    }
                    p += 1;
                    break;
                } else if p >= line.len() {
                    return false;
                } else {
                    cur.push(c);
                }
            } else if insq {
                if c == b'\\' && at(p + 1) == b'\'' {
                    p += 1;
                    cur.push(b'\'');
                } else if c == b'\'' {
                    if p + 1 < line.len() && !line[p + 1].is_ascii_whitespace() {
                        return false;
                    }
                    p += 1;
                    break;
                } else if p >= line.len() {
                    return false;
                } else {
                    cur.push(c);
                }
            } else if p >= line.len() {
                break;
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => {
                        p += 1;
                        break;
                    }
                    b'"' => inq = true,
                    b'\'' => insq = true,
                    _ => cur.push(c),
                }
            }
            p += 1;
        }
        out.push(cur);
    }
}

/// Encodes a command as a RESP multibulk request (what the AOF and
/// forwarded requests hold).
pub fn encode(out: &mut Vec<u8>, args: &[&[u8]]) {
    let mut num = [0u8; 20];
    out.push(b'*');
    out.extend_from_slice(crate::proto::reply::fmt_i64(&mut num, args.len() as i64));
    out.extend_from_slice(b"\r\n");
    for a in args {
        out.push(b'$');
        out.extend_from_slice(crate::proto::reply::fmt_i64(&mut num, a.len() as i64));
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(buf: &[u8]) -> (Parsed, Vec<Vec<u8>>) {
        let (mut r, mut o) = (Vec::new(), Vec::new());
        let p = parse(buf, &mut r, &mut o);
        let a = if matches!(p, Parsed::Multibulk { .. }) {
            r.iter().map(|r| buf[r.clone()].to_vec()).collect()
        } else {
            o
        };
        (p, a)
    }

    #[test]
    fn multibulk_complete_and_partial() {
        let req = b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
        let (p, a) = args(req);
        assert_eq!(
            p,
            Parsed::Multibulk {
                consumed: req.len()
            }
        );
        assert_eq!(a, vec![b"GET".to_vec(), b"k".to_vec()]);
        for cut in 1..req.len() {
            assert_eq!(args(&req[..cut]).0, Parsed::Incomplete, "cut {cut}");
        }
    }

    proptest::proptest! {
        /// A request fed a prefix at a time, with the walk resumed on each
        /// (what a connection does as receives come in), parses exactly as
        /// the whole request does: incomplete until its last byte, then the
        /// same arguments; and a bad header after the resumed part gives the
        /// same error as a fresh parse.
        #[test]
        fn resumed_parse_is_the_fresh_parse(
            argv in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..40), 1..60),
            cuts in proptest::collection::vec(1usize..200, 1..40),
            corrupt in proptest::bool::ANY,
        ) {
            let mut req = Vec::new();
            let args: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
            crate::proto::request::encode(&mut req, &args);
            if corrupt {
                // The last argument's header becomes `!...`: a protocol error.
                let last = req.len() - argv[argv.len() - 1].len() - 2;
                let hdr = req[..last].iter().rposition(|&c| c == b'$').unwrap();
                req[hdr] = b'!';
            }
            let (mut r, mut o) = (Vec::new(), Vec::new());
            let fresh = parse(&req, &mut r, &mut o);
            let want: Vec<Range<usize>> = r.clone();
            let mut resume = Resume::default();
            let mut end = 0usize;
            for c in cuts.iter().chain(std::iter::repeat(&usize::MAX)) {
                end = end.saturating_add(*c).min(req.len());
                let got = parse_resuming(&req[..end], &mut r, &mut o, &mut resume, MAX_BULK_LEN);
                if end < req.len() && got == Parsed::Incomplete {
                    continue;
                }
                if end < req.len() {
                    // Only an error may come before the last byte.
                    proptest::prop_assert!(corrupt && matches!(got, Parsed::Error(_)), "{got:?}");
                    proptest::prop_assert_eq!(&got, &fresh);
                    break;
                }
                proptest::prop_assert_eq!(&got, &fresh);
                if !corrupt {
                    proptest::prop_assert_eq!(&r, &want);
                }
                break;
            }
        }
    }

    /// An incomplete request leaves its walk in the resume state, so the
    /// next parse starts after the arguments already complete.
    #[test]
    fn incomplete_walk_is_saved() {
        let req = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nval";
        let (mut r, mut o, mut resume) = (Vec::new(), Vec::new(), Resume::default());
        assert_eq!(
            parse_resuming(req, &mut r, &mut o, &mut resume, MAX_BULK_LEN),
            Parsed::Incomplete
        );
        assert_eq!((resume.count, resume.ranges.len()), (3, 2));
        assert_eq!(&req[resume.pos..resume.pos + 2], b"$5");
        let whole = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n";
        let got = parse_resuming(whole, &mut r, &mut o, &mut resume, MAX_BULK_LEN);
        assert_eq!(
            got,
            Parsed::Multibulk {
                consumed: whole.len()
            }
        );
        let a: Vec<&[u8]> = r.iter().map(|x| &whole[x.clone()]).collect();
        assert_eq!(a, [&b"SET"[..], b"k", b"value"]);
        assert_eq!(resume.pos, 0, "a complete request leaves nothing saved");
    }

    #[test]
    fn limits_give_redis_errors() {
        let e = |b: &[u8]| match args(b).0 {
            Parsed::Error(e) => e,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            e(b"*1\r\n$536870913\r\n"),
            "Protocol error: invalid bulk length"
        );
        assert_eq!(e(b"*1\r\n$-1\r\n"), "Protocol error: invalid bulk length");
        assert_eq!(
            e(b"*1048577\r\n"),
            "Protocol error: invalid multibulk length"
        );
        assert_eq!(e(b"*x\r\n"), "Protocol error: invalid multibulk length");
        assert_eq!(e(b"*1\r\n*1\r\n"), "Protocol error: expected '$', got '*'");
        assert_eq!(
            e(b"\"abc\r\n"),
            "Protocol error: unbalanced quotes in request"
        );
        assert_eq!(
            e(&vec![b'a'; MAX_INLINE + 1]),
            "Protocol error: too big inline request"
        );
        // A legal but huge announced length just waits for the bytes.
        assert_eq!(args(b"*1\r\n$536870912\r\nab").0, Parsed::Incomplete);
    }

    #[test]
    fn inline_splits_like_sdssplitargs() {
        let (p, a) = args(b"set k \"a b\\x41\\n\" 'it\\'s'\r\nrest");
        assert_eq!(p, Parsed::Inline { consumed: 27 });
        assert_eq!(
            a,
            vec![
                b"set".to_vec(),
                b"k".to_vec(),
                b"a bA\n".to_vec(),
                b"it's".to_vec()
            ]
        );
        assert_eq!(args(b"\r\n").0, Parsed::Empty { consumed: 2 });
        assert!(matches!(args(b"get \"a\"b\n").0, Parsed::Error(_)));
        assert_eq!(args(b"*0\r\n").0, Parsed::Empty { consumed: 4 });
    }
}
