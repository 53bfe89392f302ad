//! Reply encoding: RESP2 or RESP3, whichever the connection speaks.
//!
//! Commands never build frames; they call these methods, which append the
//! wire bytes straight to the connection's output buffer. The same call
//! encodes differently per protocol version where RESP3 has a richer type
//! (null, map, set, double, verbatim string) and RESP2 has a fallback:
//!
//! ```text
//! call           RESP2                   RESP3
//! null()         $-1\r\n                 _\r\n
//! null_array()   *-1\r\n                 _\r\n
//! map(2)         *4\r\n (flat pairs)     %2\r\n
//! push(3)        *3\r\n                 >3\r\n
//! double(1.5)    $3\r\n1.5\r\n           ,1.5\r\n
//! ```
//!
//! Error strings shared by many commands live in [`err`], so every command
//! fails with Redis's exact words (clients match on them).

use bytes::{BufMut, BytesMut};

/// Redis's shared error replies, without the leading `-`.
pub mod err {
    pub const SYNTAX: &str = "ERR syntax error";
    pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
    pub const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
    pub const NOT_FLOAT: &str = "ERR value is not a valid float";
    pub const OVERFLOW: &str = "ERR increment or decrement would overflow";
    pub const NO_SUCH_KEY: &str = "ERR no such key";
    pub const DB_RANGE: &str = "ERR DB index is out of range";
}

/// The output buffer of one connection and the protocol it speaks.
#[derive(Debug)]
pub struct Reply {
    pub buf: BytesMut,
    /// 2 or 3 (switched by HELLO).
    pub resp: u8,
}

impl Reply {
    pub fn new(buf: BytesMut) -> Reply {
        Reply { buf, resp: 2 }
    }

    pub fn resp3(&self) -> bool {
        self.resp == 3
    }

    fn line(&mut self, prefix: u8, n: i64) {
        self.buf.put_u8(prefix);
        let mut b = itoa_buf();
        self.buf.extend_from_slice(fmt_i64(&mut b, n));
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    /// A status reply (`+PONG`). `s` must not contain CR or LF.
    pub fn simple(&mut self, s: &str) {
        self.buf.put_u8(b'+');
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    /// An error reply; `msg` starts with its code (`ERR ...`). Newlines are
    /// replaced by spaces, as Redis does, so the reply stays one line.
    pub fn error(&mut self, msg: &str) {
        self.error_bytes(msg.as_bytes());
    }

    /// [`Reply::error`] for messages that quote client bytes.
    pub fn error_bytes(&mut self, msg: &[u8]) {
        self.buf.put_u8(b'-');
        for &c in msg {
            self.buf
                .put_u8(if c == b'\r' || c == b'\n' { b' ' } else { c });
        }
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn int(&mut self, n: i64) {
        self.line(b':', n);
    }

    pub fn bulk(&mut self, data: &[u8]) {
        self.line(b'$', data.len() as i64);
        self.buf.extend_from_slice(data);
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn bulk_i64(&mut self, n: i64) {
        let mut b = itoa_buf();
        let s = fmt_i64(&mut b, n);
        let s = s.to_vec();
        self.bulk(&s);
    }

    /// The null bulk string (a missing key).
    pub fn null(&mut self) {
        if self.resp3() {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"$-1\r\n");
        }
    }

    /// The null array (e.g. an aborted EXEC).
    pub fn null_array(&mut self) {
        if self.resp3() {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"*-1\r\n");
        }
    }

    pub fn array(&mut self, n: usize) {
        self.line(b'*', n as i64);
    }

    /// A push of `n` elements (pub/sub messages); in RESP2 an array.
    pub fn push(&mut self, n: usize) {
        if self.resp3() {
            self.line(b'>', n as i64);
        } else {
            self.line(b'*', n as i64);
        }
    }

    /// A map of `n` pairs; in RESP2 a flat array of 2n elements.
    pub fn map(&mut self, n: usize) {
        if self.resp3() {
            self.line(b'%', n as i64);
        } else {
            self.line(b'*', 2 * n as i64);
        }
    }

    /// A set of `n` members; in RESP2 an array.
    pub fn set(&mut self, n: usize) {
        if self.resp3() {
            self.line(b'~', n as i64);
        } else {
            self.line(b'*', n as i64);
        }
    }

    /// A double (`%.17g`, as Redis 7.0); in RESP2 its text as a bulk
    /// string.
    pub fn double(&mut self, d: f64) {
        let s = crate::util::fmt_double(d);
        if self.resp3() {
            self.buf.put_u8(b',');
            self.buf.extend_from_slice(s.as_bytes());
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(s.as_bytes());
        }
    }

    /// Free text (INFO); RESP3 marks it as a `txt` verbatim string.
    pub fn verbatim(&mut self, text: &str) {
        if self.resp3() {
            self.line(b'=', text.len() as i64 + 4);
            self.buf.extend_from_slice(b"txt:");
            self.buf.extend_from_slice(text.as_bytes());
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text.as_bytes());
        }
    }
}

fn itoa_buf() -> [u8; 20] {
    [0; 20]
}

/// Formats `n` in decimal into `b` without allocating (20 bytes hold any i64).
pub fn fmt_i64(b: &mut [u8; 20], n: i64) -> &[u8] {
    let mut i = b.len();
    let neg = n < 0;
    let mut u = n.unsigned_abs();
    loop {
        i -= 1;
        b[i] = b'0' + (u % 10) as u8;
        u /= 10;
        if u == 0 {
            break;
        }
    }
    if neg {
        i -= 1;
        b[i] = b'-';
    }
    &b[i..]
}

/// How many whole replies `buf` holds (replies this module encoded: a
/// connection's unsent output), to answer each of them otherwise.
pub fn count_replies(buf: &[u8]) -> usize {
    let mut pos = 0;
    let mut n = 0;
    while pos < buf.len() {
        match skip_reply(buf, pos) {
            Some(next) => pos = next,
            None => break,
        }
        n += 1;
    }
    n
}

/// The end of the reply that starts at `pos`.
fn skip_reply(buf: &[u8], pos: usize) -> Option<usize> {
    let line_end = pos + buf.get(pos..)?.windows(2).position(|w| w == b"\r\n")?;
    let next = line_end + 2;
    let n = || -> Option<i64> {
        std::str::from_utf8(&buf[pos + 1..line_end])
            .ok()?
            .parse()
            .ok()
    };
    match buf[pos] {
        // Bulk and verbatim strings, blob errors: a length, then the data.
        b'$' | b'=' | b'!' => match n()? {
            len if len < 0 => Some(next),
            len => Some(next + len as usize + 2),
        },
        // Aggregates: their elements (maps and attributes: pairs).
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let count = n()?;
            let items = if matches!(buf[pos], b'%' | b'|') {
                count * 2
            } else {
                count
            };
            let mut p = next;
            for _ in 0..items.max(0) {
                p = skip_reply(buf, p)?;
            }
            // An attribute precedes the reply it describes.
            if buf[pos] == b'|' {
                return skip_reply(buf, p);
            }
            Some(p)
        }
        // One line: + - : _ # , (
        _ => Some(next),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_counted_whole() {
        let out = enc(3, |r| {
            r.ok();
            r.bulk(b"a\r\nb");
            r.map(1);
            r.bulk(b"k");
            r.array(2);
            r.int(1);
            r.null();
            r.error("ERR x");
            r.double(2.5);
            r.push(2);
            r.bulk(b"message");
            r.bulk(b"");
        });
        assert_eq!(count_replies(&out), 6);
        assert_eq!(count_replies(&enc(2, |r| r.null_array())), 1);
        assert_eq!(count_replies(b""), 0);
        // A cut reply is not counted.
        assert_eq!(count_replies(&out[..out.len() - 3]), 5);
    }

    fn enc(resp: u8, f: impl FnOnce(&mut Reply)) -> Vec<u8> {
        let mut r = Reply::new(BytesMut::new());
        r.resp = resp;
        f(&mut r);
        r.buf.to_vec()
    }

    #[test]
    fn integers_cover_the_extremes() {
        let mut b = itoa_buf();
        assert_eq!(fmt_i64(&mut b, i64::MIN), b"-9223372036854775808");
        assert_eq!(fmt_i64(&mut b, 0), b"0");
        assert_eq!(fmt_i64(&mut b, i64::MAX), b"9223372036854775807");
    }

    #[test]
    fn resp2_and_resp3_differ_where_resp3_has_types() {
        assert_eq!(enc(2, |r| r.null()), b"$-1\r\n");
        assert_eq!(enc(3, |r| r.null()), b"_\r\n");
        assert_eq!(enc(2, |r| r.map(2)), b"*4\r\n");
        assert_eq!(enc(3, |r| r.map(2)), b"%2\r\n");
        assert_eq!(enc(3, |r| r.double(1.5)), b",1.5\r\n");
        assert_eq!(enc(2, |r| r.double(1.5)), b"$3\r\n1.5\r\n");
        assert_eq!(enc(2, |r| r.error("ERR a\r\nb")), b"-ERR a  b\r\n");
    }
}
