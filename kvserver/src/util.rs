//! Small helpers with Redis's exact semantics: strict integer and float
//! parsing (string2ll / string2ld), INCRBYFLOAT's number format, glob
//! matching (stringmatchlen), the clock, and a tiny random generator.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (what TTL deadlines are in).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Microseconds since the epoch (command timing: one reading gives both a
/// command's `now` and its start).
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// The clock of one batch of pipelined commands (one connection's complete
/// requests, executed in a row): a command's closing reading (for its
/// statistics) is the next command's start, so n commands cost n + 1
/// clock readings instead of 2n. clock_gettime was a quarter of the
/// server's user time at `redis-benchmark -P 16`. The next command's
/// `now` is thus older than its true start by the parsing in between
/// (well under a millisecond); a batch never spans a wait on the ring.
#[derive(Default)]
pub struct BatchClock(u64);

impl BatchClock {
    /// The start of the next command, in µs since the epoch: the previous
    /// command's end, or a fresh reading for the first of the batch.
    pub fn start_us(&mut self) -> u64 {
        if self.0 == 0 {
            self.0 = now_us();
        }
        self.0
    }

    /// Records a command's end reading, the next command's start.
    pub fn ended_at(&mut self, us: u64) {
        self.0 = us;
    }
}

/// The Redis version we answer to (INFO, HELLO, the RDB's `redis-ver`):
/// clients pick features by it, and we implement Redis 7.0 semantics.
pub const REDIS_VERSION: &str = "7.0.15";

/// The process's resident set size in bytes (/proc/self/statm): INFO's
/// `used_memory_rss`, and `used_memory` where the C library has no count of
/// bytes in use (see `evict.rs`).
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

type Garbage = Box<dyn Send>;

/// The lazy-free thread (Redis's lazyfree bio thread): FLUSH* ASYNC drops
/// the old tables there, off the shard locks and off the I/O thread.
/// Started on first use; if it cannot be started, the caller's thread
/// frees.
#[derive(Debug, Default)]
pub struct LazyFree {
    tx: std::sync::OnceLock<Option<std::sync::Mutex<std::sync::mpsc::Sender<Garbage>>>>,
}

impl LazyFree {
    /// Drops `garbage` on the lazy-free thread.
    pub fn free(&self, garbage: Garbage) {
        let tx = self.tx.get_or_init(|| {
            let (tx, rx) = std::sync::mpsc::channel::<Garbage>();
            std::thread::Builder::new()
                .name("kv-lazyfree".into())
                .spawn(move || rx.into_iter().for_each(drop))
                .ok()
                .map(|_| std::sync::Mutex::new(tx))
        });
        if let Some(tx) = tx {
            let tx = tx.lock().unwrap_or_else(|e| e.into_inner());
            if let Err(e) = tx.send(garbage) {
                drop(e.0);
            }
        }
    }
}

/// Parses a decimal i64 exactly as Redis's string2ll: optional `-`, no `+`,
/// no leading zeros, no spaces, nothing after the digits.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if neg {
        if v > i64::MAX as u64 + 1 {
            None
        } else {
            Some((v as i64).wrapping_neg())
        }
    } else {
        i64::try_from(v).ok()
    }
}

/// Parses a float as Redis's string2ld: no leading space, the whole string,
/// and not NaN. (Redis uses long double; we use f64, see [`fmt_human`].)
pub fn parse_f64(s: &[u8]) -> Option<f64> {
    let t = std::str::from_utf8(s).ok()?;
    if t.is_empty() || t.starts_with(|c: char| c.is_ascii_whitespace()) {
        return None;
    }
    // Rust accepts "infinity"/"inf" like strtold; it does not accept hex
    // floats, which Redis clients do not send in practice.
    let v: f64 = t.parse().ok()?;
    (!v.is_nan()).then_some(v)
}

/// INCRBYFLOAT's result format: plain decimal, no exponent, trailing zeros
/// trimmed. Redis prints a long double with 17 decimals; an f64 carries
/// about 16 significant digits, so we print 15 significant ones, which gives
/// Redis's text for the usual cases (`0.1 + 0.2` is `0.3`). Values that need
/// more precision than an f64 has can differ in the last digits.
pub fn fmt_human(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let int_digits = if v.abs() >= 1.0 {
        v.abs().log10().floor() as i32 + 1
    } else {
        0
    };
    let decimals = (15 - int_digits).clamp(0, 17) as usize;
    let mut s = format!("{v:.decimals$}");
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    if s == "-0" {
        s = "0".into();
    }
    s
}

/// A double as Redis 7.0 replies it (addReplyDouble, ZSCORE, WITHSCORES,
/// RESP3 doubles): C's `%.17g` (`1.5`, `1`, `0.10000000000000001`,
/// `1e+20`), and `inf` / `-inf` spelled out.
pub fn fmt_double(d: f64) -> String {
    fmt_g(d, 17)
}

/// C's `%.{p}g` (`p` >= 1): `%.17g` for Redis's doubles, `%.14g` for Lua
/// 5.1's number-to-string (`tostring`, numbers passed to `redis.call`).
pub fn fmt_g(d: f64, p: usize) -> String {
    if d.is_nan() {
        return "nan".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf" } else { "-inf" }.into();
    }
    if d == 0.0 {
        return if d.is_sign_negative() { "-0" } else { "0" }.into();
    }
    // The exponent X of the %e form decides between %e and %f.
    let e = format!("{d:.prec$e}", prec = p - 1);
    let (mant, exp) = e.split_once('e').expect("exponent");
    let x: i32 = exp.parse().expect("exponent digits");
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if x < -4 || x >= p as i32 {
        let sign = if x < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim(mant), x.abs())
    } else {
        let prec = (p as i32 - 1 - x) as usize;
        trim(&format!("{d:.prec$}"))
    }
}

/// A score argument as Redis's getDoubleFromObject reads it (strtod): the
/// whole string, no leading space, not NaN, and no overflow to infinity
/// or underflow to zero (`inf`, `-inf`, `+inf`, `infinity` are fine).
pub fn parse_score(s: &[u8]) -> Option<f64> {
    let t = std::str::from_utf8(s).ok()?;
    if t.is_empty() || t.starts_with(|c: char| c.is_ascii_whitespace()) {
        return None;
    }
    let v: f64 = t.parse().ok()?;
    if v.is_nan() {
        return None;
    }
    let unsigned = t.trim_start_matches(['+', '-']).to_ascii_lowercase();
    if v.is_infinite() && unsigned != "inf" && unsigned != "infinity" {
        return None; // ERANGE
    }
    let mantissa = unsigned.split('e').next().unwrap_or("");
    if v == 0.0 && mantissa.bytes().any(|c| (b'1'..=b'9').contains(&c)) {
        return None; // underflow: ERANGE too
    }
    Some(v)
}

/// A bound of a score range as zslParseRange reads it (strtod without the
/// range checks: leading spaces pass, overflow is infinity, and an empty
/// string is 0). None if not a float.
pub fn parse_range_score(s: &[u8]) -> Option<f64> {
    let t = std::str::from_utf8(s).ok()?;
    if t.is_empty() {
        return Some(0.0);
    }
    let v: f64 = t
        .trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c'])
        .parse()
        .ok()?;
    (!v.is_nan()).then_some(v)
}

/// Glob-style matching as Redis's stringmatchlen (KEYS, CONFIG GET):
/// `*`, `?`, `[abc]`, `[^a-z]`, `\x`. Iterative for `*` with one backtrack
/// point, so a hostile pattern cannot recurse deeply or blow up.
pub fn glob_match(pattern: &[u8], s: &[u8], nocase: bool) -> bool {
    let eq = |a: u8, b: u8| {
        if nocase {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let (mut p, mut i) = (0usize, 0usize);
    // Where to resume after the last `*`: (pattern index after it, string index).
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        let mut matched = false;
        let mut next_p = p;
        if p < pattern.len() {
            match pattern[p] {
                b'*' => {
                    // Collapse runs of '*'.
                    while p < pattern.len() && pattern[p] == b'*' {
                        p += 1;
                    }
                    if p == pattern.len() {
                        return true;
                    }
                    star = Some((p, i));
                    continue;
                }
                b'?' => {
                    matched = true;
                    next_p = p + 1;
                }
                b'[' => {
                    let (ok, end) = match_class(pattern, p, s[i], nocase);
                    matched = ok;
                    next_p = end;
                }
                b'\\' if p + 1 < pattern.len() => {
                    matched = eq(pattern[p + 1], s[i]);
                    next_p = p + 2;
                }
                c => {
                    matched = eq(c, s[i]);
                    next_p = p + 1;
                }
            }
        }
        if matched {
            p = next_p;
            i += 1;
        } else if let Some((sp, si)) = star {
            // Let the last '*' swallow one more byte and retry.
            star = Some((sp, si + 1));
            p = sp;
            i = si + 1;
        } else {
            return false;
        }
    }
    while p < pattern.len() && pattern[p] == b'*' {
        p += 1;
    }
    p == pattern.len()
}

/// Matches `c` against the class starting at `pattern[p] == b'['`; returns
/// whether it matched and the index after the class.
fn match_class(pattern: &[u8], p: usize, c: u8, nocase: bool) -> (bool, usize) {
    let low = |x: u8| if nocase { x.to_ascii_lowercase() } else { x };
    let mut j = p + 1;
    let not = j < pattern.len() && pattern[j] == b'^';
    if not {
        j += 1;
    }
    let mut hit = false;
    loop {
        if j >= pattern.len() {
            // Unterminated class: Redis treats the end as closing it.
            break;
        }
        let pc = pattern[j];
        if pc == b']' {
            j += 1;
            break;
        }
        if pc == b'\\' && j + 1 < pattern.len() {
            if pattern[j + 1] == c {
                hit = true;
            }
            j += 2;
        } else if j + 2 < pattern.len() && pattern[j + 1] == b'-' {
            let (mut a, mut b) = (low(pc), low(pattern[j + 2]));
            if a > b {
                std::mem::swap(&mut a, &mut b);
            }
            let x = low(c);
            if x >= a && x <= b {
                hit = true;
            }
            j += 3;
        } else {
            if low(pc) == low(c) {
                hit = true;
            }
            j += 1;
        }
    }
    (hit != not, j)
}

/// xorshift64*: fast, good enough for sampling keys; not for secrets.
#[derive(Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform-ish in 0..n (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// `k` distinct random indices below `len` (k < len): a partial
/// Fisher-Yates when k is a large share of len, rejection sampling when
/// it is small (O(k) either way, never O(len) for a few picks).
pub fn distinct_indices(rng: &mut Rng, len: usize, k: usize) -> Vec<usize> {
    if k * 4 >= len {
        let mut all: Vec<usize> = (0..len).collect();
        for i in 0..k {
            let j = i + rng.below(len - i);
            all.swap(i, j);
        }
        all.truncate(k);
        all
    } else {
        let mut seen = hashbrown::HashSet::with_capacity(k);
        let mut out = Vec::with_capacity(k);
        while out.len() < k {
            let i = rng.below(len);
            if seen.insert(i) {
                out.push(i);
            }
        }
        out
    }
}

/// The C library's text for `errno` (strerror), as Redis prints it:
/// "No space left on device".
pub fn strerror(errno: i32) -> String {
    let s = std::io::Error::from_raw_os_error(errno).to_string();
    match s.rfind(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_strict_like_string2ll() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        for bad in [
            &b""[..],
            b"-0",
            b"01",
            b"+1",
            b" 1",
            b"1 ",
            b"9223372036854775808",
            b"1.0",
            b"-",
        ] {
            assert_eq!(parse_i64(bad), None, "{:?}", bad);
        }
    }

    #[test]
    fn human_floats_trim_like_redis() {
        assert_eq!(fmt_human(0.1 + 0.2), "0.3");
        assert_eq!(fmt_human(10.5), "10.5");
        assert_eq!(fmt_human(3.0), "3");
        assert_eq!(fmt_human(-1.25), "-1.25");
        assert_eq!(fmt_human(5000.0), "5000");
    }

    #[test]
    fn doubles_format_like_printf_17g() {
        assert_eq!(fmt_double(1.5), "1.5");
        assert_eq!(fmt_double(1.0), "1");
        assert_eq!(fmt_double(1e20), "1e+20");
        assert_eq!(fmt_double(0.1), "0.10000000000000001");
        assert_eq!(fmt_double(-2.5e-5), "-2.5000000000000001e-05");
        assert_eq!(fmt_double(1e16), "10000000000000000");
        assert_eq!(fmt_double(1e17), "1e+17");
        assert_eq!(fmt_double(0.0001), "0.0001");
        assert_eq!(fmt_double(123456789.0), "123456789");
        assert_eq!(fmt_double(f64::INFINITY), "inf");
        assert_eq!(fmt_double(f64::NEG_INFINITY), "-inf");
        assert_eq!(fmt_double(-0.0), "-0");
    }

    #[test]
    fn scores_parse_like_strtod() {
        assert_eq!(parse_score(b"1.5"), Some(1.5));
        assert_eq!(parse_score(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_score(b"+Infinity"), Some(f64::INFINITY));
        for bad in [&b""[..], b" 1", b"nan", b"1e400", b"1e-400", b"abc", b"1x"] {
            assert_eq!(parse_score(bad), None, "{:?}", bad);
        }
        assert_eq!(parse_range_score(b""), Some(0.0));
        assert_eq!(parse_range_score(b" 2"), Some(2.0));
        assert_eq!(parse_range_score(b"1e400"), Some(f64::INFINITY));
        assert_eq!(parse_range_score(b"nan"), None);
    }

    #[test]
    fn distinct_indices_are_distinct_and_in_range() {
        let mut rng = Rng::new(7);
        for (len, k) in [(10, 9), (1000, 3), (5, 0), (100, 50)] {
            let mut v = distinct_indices(&mut rng, len, k);
            assert_eq!(v.len(), k);
            assert!(v.iter().all(|&i| i < len));
            v.sort_unstable();
            v.dedup();
            assert_eq!(v.len(), k);
        }
    }

    #[test]
    fn glob_matches_like_stringmatchlen() {
        assert!(glob_match(b"*", b"anything", false));
        assert!(glob_match(b"h?llo", b"hello", false));
        assert!(glob_match(b"h*llo", b"heeeello", false));
        assert!(glob_match(b"h[ae]llo", b"hallo", false));
        assert!(!glob_match(b"h[^e]llo", b"hello", false));
        assert!(glob_match(b"h[a-b]llo", b"hbllo", false));
        assert!(glob_match(b"h\\*llo", b"h*llo", false));
        assert!(!glob_match(b"h\\*llo", b"hello", false));
        assert!(!glob_match(b"a*b", b"aaac", false));
        assert!(glob_match(b"*a*b*c*", b"xxaxxbxxc", false));
        assert!(glob_match(b"MAX*", b"maxmemory", true));
        assert!(glob_match(b"", b"", false));
        assert!(!glob_match(b"", b"a", false));
    }
}
