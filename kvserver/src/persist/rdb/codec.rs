//! The RDB serialization of values (Redis 7.0, RDB version 10): reading
//! every type and encoding Redis 7.0 (and 7.2's SET_LISTPACK /
//! STREAM_LISTPACKS_3) writes, and writing the plainest types Redis 7.0
//! loads. Shared by the file ([`super`]) and DUMP/RESTORE.
//!
//! Nothing here trusts its input: every length is checked against the bytes
//! that are left before anything is allocated, and malformed data is an
//! error with the offset where it was found, never a panic.

use super::{crc64, lzf};
use crate::types::packed_list::PackedList;
use crate::types::sorted_set::ZSetObj;
use crate::types::stream::{Stream, StreamId};
use crate::types::{HashObj, SetObj, Str, Value};
use bytes::Bytes;

pub const RDB_VERSION: u16 = 10;

pub const T_STRING: u8 = 0;
pub const T_LIST: u8 = 1;
pub const T_SET: u8 = 2;
pub const T_ZSET: u8 = 3;
pub const T_HASH: u8 = 4;
pub const T_ZSET_2: u8 = 5;
pub const T_MODULE: u8 = 6;
pub const T_MODULE_2: u8 = 7;
pub const T_HASH_ZIPMAP: u8 = 9;
pub const T_LIST_ZIPLIST: u8 = 10;
pub const T_SET_INTSET: u8 = 11;
pub const T_ZSET_ZIPLIST: u8 = 12;
pub const T_HASH_ZIPLIST: u8 = 13;
pub const T_LIST_QUICKLIST: u8 = 14;
pub const T_STREAM_LISTPACKS: u8 = 15;
pub const T_HASH_LISTPACK: u8 = 16;
pub const T_ZSET_LISTPACK: u8 = 17;
pub const T_LIST_QUICKLIST_2: u8 = 18;
pub const T_STREAM_LISTPACKS_2: u8 = 19;
pub const T_SET_LISTPACK: u8 = 20;
pub const T_STREAM_LISTPACKS_3: u8 = 21;

/// The longest string we accept (Redis's proto-max-bulk-len default).
const MAX_STRING: u64 = 512 << 20;

/// Malformed input: what and where (offset from the start of the data).
#[derive(Debug)]
pub struct Bad {
    pub offset: usize,
    pub what: String,
}

pub type Res<T> = Result<T, Bad>;

/// A cursor over RDB data.
pub struct Reader<'a> {
    pub d: &'a [u8],
    pub p: usize,
}

impl<'a> Reader<'a> {
    pub fn new(d: &'a [u8]) -> Reader<'a> {
        Reader { d, p: 0 }
    }

    pub fn bad<T>(&self, what: impl Into<String>) -> Res<T> {
        Err(Bad {
            offset: self.p,
            what: what.into(),
        })
    }

    pub fn left(&self) -> usize {
        self.d.len().saturating_sub(self.p)
    }

    pub fn bytes(&mut self, n: usize) -> Res<&'a [u8]> {
        if n > self.left() {
            return self.bad("unexpected end of data");
        }
        let s = &self.d[self.p..self.p + n];
        self.p += n;
        Ok(s)
    }

    pub fn u8(&mut self) -> Res<u8> {
        Ok(self.bytes(1)?[0])
    }

    pub fn u32_le(&mut self) -> Res<u32> {
        let b = self.bytes(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn u64_le(&mut self) -> Res<u64> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// A length, or (second) a special string encoding number.
    fn len_enc(&mut self) -> Res<(u64, bool)> {
        let b = self.u8()?;
        Ok(match b >> 6 {
            0 => ((b & 0x3f) as u64, false),
            1 => (((b & 0x3f) as u64) << 8 | self.u8()? as u64, false),
            2 if b == 0x80 => {
                let x = self.bytes(4)?;
                (u32::from_be_bytes([x[0], x[1], x[2], x[3]]) as u64, false)
            }
            2 if b == 0x81 => {
                let x = self.bytes(8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(x);
                (u64::from_be_bytes(a), false)
            }
            3 => ((b & 0x3f) as u64, true),
            _ => {
                self.p -= 1;
                return self.bad(format!("unknown length encoding 0x{b:02x}"));
            }
        })
    }

    pub fn len(&mut self) -> Res<u64> {
        match self.len_enc()? {
            (n, false) => Ok(n),
            _ => self.bad("a length was expected, found a string encoding"),
        }
    }

    /// A count of items that each take at least `min` bytes: bounded by
    /// what is left, so a corrupt count cannot make us allocate.
    pub fn count(&mut self, min: usize) -> Res<usize> {
        let at = self.p;
        let n = self.len()?;
        if n > (self.left() / min.max(1)) as u64 {
            self.p = at;
            return self.bad(format!("count {n} exceeds the data left"));
        }
        Ok(n as usize)
    }

    pub fn string(&mut self) -> Res<Bytes> {
        let at = self.p;
        let (n, special) = self.len_enc()?;
        if !special {
            if n > MAX_STRING {
                self.p = at;
                return self.bad(format!("string length {n} too large"));
            }
            return Ok(Bytes::copy_from_slice(self.bytes(n as usize)?));
        }
        Ok(match n {
            0 => Bytes::from((self.u8()? as i8).to_string()),
            1 => {
                let b = self.bytes(2)?;
                Bytes::from(i16::from_le_bytes([b[0], b[1]]).to_string())
            }
            2 => Bytes::from((self.u32_le()? as i32).to_string()),
            3 => {
                let clen = self.len()?;
                let len = self.len()?;
                if len > MAX_STRING || clen > self.left() as u64 || len > clen.saturating_mul(140) {
                    self.p = at;
                    return self.bad("invalid LZF string lengths");
                }
                let src = self.bytes(clen as usize)?;
                match lzf::decompress(src, len as usize) {
                    Some(v) => Bytes::from(v),
                    None => {
                        self.p = at;
                        return self.bad("invalid LZF compressed string");
                    }
                }
            }
            _ => {
                self.p = at;
                return self.bad(format!("unknown string encoding {n}"));
            }
        })
    }

    /// ZSET (type 3)'s score: a length byte and ASCII, or 253/254/255 for
    /// NaN/+inf/-inf.
    fn text_double(&mut self) -> Res<f64> {
        let n = self.u8()?;
        match n {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            _ => {
                let s = self.bytes(n as usize)?;
                match std::str::from_utf8(s)
                    .ok()
                    .and_then(|s| s.parse::<f64>().ok())
                {
                    Some(v) => Ok(v),
                    None => self.bad("invalid score"),
                }
            }
        }
    }

    fn bin_double(&mut self) -> Res<f64> {
        Ok(f64::from_bits(self.u64_le()?))
    }
}

/// The elements of a ziplist (Redis < 7 compact encoding), as strings.
fn ziplist(r: &Reader, blob: &[u8]) -> Res<Vec<Bytes>> {
    let bad = |what: &str| -> Res<Vec<Bytes>> {
        Err(Bad {
            offset: r.p,
            what: format!("invalid ziplist: {what}"),
        })
    };
    if blob.len() < 11 {
        return bad("too short");
    }
    let mut z = Reader::new(blob);
    z.p = 10;
    let mut out = Vec::new();
    loop {
        let Ok(first) = z.u8() else {
            return bad("no end marker");
        };
        if first == 0xff {
            break;
        }
        // prevlen
        if first == 0xfe && z.bytes(4).is_err() {
            return bad("truncated");
        }
        let Ok(enc) = z.u8() else {
            return bad("truncated");
        };
        let v: Res<Bytes> = (|| {
            Ok(match enc >> 6 {
                0 => Bytes::copy_from_slice(z.bytes((enc & 0x3f) as usize)?),
                1 => {
                    let n = ((enc & 0x3f) as usize) << 8 | z.u8()? as usize;
                    Bytes::copy_from_slice(z.bytes(n)?)
                }
                2 => {
                    let b = z.bytes(4)?;
                    let n = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
                    Bytes::copy_from_slice(z.bytes(n)?)
                }
                _ => {
                    let i: i64 = match enc {
                        0xc0 => {
                            let b = z.bytes(2)?;
                            i16::from_le_bytes([b[0], b[1]]) as i64
                        }
                        0xd0 => z.u32_le()? as i32 as i64,
                        0xe0 => z.u64_le()? as i64,
                        0xf0 => {
                            let b = z.bytes(3)?;
                            (i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8) as i64
                        }
                        0xfe => z.u8()? as i8 as i64,
                        0xf1..=0xfd => (enc & 0x0f) as i64 - 1,
                        _ => return z.bad("bad entry encoding"),
                    };
                    Bytes::from(i.to_string())
                }
            })
        })();
        match v {
            Ok(v) => out.push(v),
            Err(_) => return bad("bad entry"),
        }
    }
    Ok(out)
}

/// The elements of a listpack, as strings (integers as their text).
fn listpack(r: &Reader, blob: &[u8]) -> Res<Vec<Bytes>> {
    let bad = |what: &str| -> Res<Vec<Bytes>> {
        Err(Bad {
            offset: r.p,
            what: format!("invalid listpack: {what}"),
        })
    };
    if blob.len() < 7 {
        return bad("too short");
    }
    let total = u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize;
    if total != blob.len() {
        return bad("header size mismatch");
    }
    let mut z = Reader::new(blob);
    z.p = 6;
    let mut out = Vec::new();
    loop {
        let start = z.p;
        let Ok(enc) = z.u8() else {
            return bad("no end marker");
        };
        if enc == 0xff {
            break;
        }
        let v: Res<Bytes> = (|| {
            Ok(if enc & 0x80 == 0 {
                Bytes::from((enc as i64).to_string())
            } else if enc & 0xc0 == 0x80 {
                Bytes::copy_from_slice(z.bytes((enc & 0x3f) as usize)?)
            } else if enc & 0xe0 == 0xc0 {
                let u = ((enc & 0x1f) as i64) << 8 | z.u8()? as i64;
                let v = if u >= 1 << 12 { u - (1 << 13) } else { u };
                Bytes::from(v.to_string())
            } else if enc & 0xf0 == 0xe0 {
                let n = ((enc & 0x0f) as usize) << 8 | z.u8()? as usize;
                Bytes::copy_from_slice(z.bytes(n)?)
            } else {
                match enc {
                    0xf0 => {
                        let n = z.u32_le()? as usize;
                        Bytes::copy_from_slice(z.bytes(n)?)
                    }
                    0xf1 => {
                        let b = z.bytes(2)?;
                        Bytes::from(i16::from_le_bytes([b[0], b[1]]).to_string())
                    }
                    0xf2 => {
                        let b = z.bytes(3)?;
                        Bytes::from((i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8).to_string())
                    }
                    0xf3 => Bytes::from((z.u32_le()? as i32).to_string()),
                    0xf4 => Bytes::from((z.u64_le()? as i64).to_string()),
                    _ => return z.bad("bad entry encoding"),
                }
            })
        })();
        let Ok(v) = v else {
            return bad("bad entry");
        };
        let l = z.p - start;
        if z.bytes(backlen_size(l)).is_err() {
            return bad("truncated");
        }
        out.push(v);
    }
    if z.p != blob.len() {
        return bad("data after the end marker");
    }
    Ok(out)
}

fn backlen_size(l: usize) -> usize {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// The members of an intset, as strings.
fn intset(r: &Reader, blob: &[u8]) -> Res<Vec<Bytes>> {
    let bad = || -> Res<Vec<Bytes>> {
        Err(Bad {
            offset: r.p,
            what: "invalid intset".into(),
        })
    };
    if blob.len() < 8 {
        return bad();
    }
    let w = u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize;
    let n = u32::from_le_bytes([blob[4], blob[5], blob[6], blob[7]]) as usize;
    if !matches!(w, 2 | 4 | 8) || Some(blob.len()) != n.checked_mul(w).map(|x| x + 8) {
        return bad();
    }
    Ok(blob[8..]
        .chunks_exact(w)
        .map(|c| {
            let v = match w {
                2 => i16::from_le_bytes([c[0], c[1]]) as i64,
                4 => i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64,
                _ => i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]),
            };
            Bytes::from(v.to_string())
        })
        .collect())
}

fn set_from(r: &Reader, items: impl IntoIterator<Item = Bytes>) -> Res<Value> {
    let mut s = SetObj::default();
    for m in items {
        if !s.insert_str(Str::from(&m)) {
            return r.bad("duplicate set member");
        }
    }
    Ok(Value::Set(Box::new(s)))
}

fn hash_from_pairs(r: &Reader, items: Vec<Bytes>) -> Res<Value> {
    if items.len() % 2 != 0 {
        return r.bad("odd number of hash elements");
    }
    let mut h = HashObj::default();
    let mut it = items.into_iter();
    while let (Some(f), Some(v)) = (it.next(), it.next()) {
        if !h.insert(&f, Str::from(&v)) {
            return r.bad("duplicate hash field");
        }
    }
    Ok(Value::Hash(Box::new(h)))
}

fn zset_from_pairs(r: &Reader, items: Vec<Bytes>) -> Res<Value> {
    if items.len() % 2 != 0 {
        return r.bad("odd number of sorted set elements");
    }
    let mut z = ZSetObj::default();
    let mut it = items.into_iter();
    while let (Some(m), Some(s)) = (it.next(), it.next()) {
        let Some(score) = crate::util::parse_f64(&s).filter(|s| !s.is_nan()) else {
            return r.bad("invalid score in a sorted set");
        };
        if !z.insert(&m, score) {
            return r.bad("duplicate sorted set member");
        }
    }
    Ok(Value::ZSet(Box::new(z)))
}

/// The value of type `t` at the reader. `None`: an empty collection, which
/// Redis skips when loading too.
pub fn read_value(r: &mut Reader, t: u8) -> Res<Option<Value>> {
    let v = match t {
        T_STRING => return Ok(Some(Value::String(Str::from(&r.string()?[..])))),
        T_LIST => {
            let n = r.count(1)?;
            let mut l = PackedList::default();
            for _ in 0..n {
                l.push_back(&r.string()?);
            }
            Value::List(Box::new(l))
        }
        T_SET => {
            let n = r.count(1)?;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                items.push(r.string()?);
            }
            set_from(r, items)?
        }
        T_ZSET | T_ZSET_2 => {
            let n = r.count(2)?;
            let mut z = ZSetObj::default();
            for _ in 0..n {
                let m = r.string()?;
                let s = if t == T_ZSET {
                    r.text_double()?
                } else {
                    r.bin_double()?
                };
                if s.is_nan() {
                    return r.bad("sorted set with a NaN score");
                }
                if !z.insert(&m, s) {
                    return r.bad("duplicate sorted set member");
                }
            }
            Value::ZSet(Box::new(z))
        }
        T_HASH => {
            let n = r.count(2)?;
            let mut items = Vec::with_capacity(n * 2);
            for _ in 0..n * 2 {
                items.push(r.string()?);
            }
            hash_from_pairs(r, items)?
        }
        T_SET_INTSET => {
            let blob = r.string()?;
            set_from(r, intset(r, &blob)?)?
        }
        T_SET_LISTPACK => {
            let blob = r.string()?;
            set_from(r, listpack(r, &blob)?)?
        }
        T_LIST_ZIPLIST => {
            let blob = r.string()?;
            Value::List(Box::new(ziplist(r, &blob)?.iter().collect()))
        }
        T_ZSET_ZIPLIST | T_ZSET_LISTPACK => {
            let blob = r.string()?;
            let items = if t == T_ZSET_ZIPLIST {
                ziplist(r, &blob)?
            } else {
                listpack(r, &blob)?
            };
            zset_from_pairs(r, items)?
        }
        T_HASH_ZIPLIST | T_HASH_LISTPACK => {
            let blob = r.string()?;
            let items = if t == T_HASH_ZIPLIST {
                ziplist(r, &blob)?
            } else {
                listpack(r, &blob)?
            };
            hash_from_pairs(r, items)?
        }
        T_LIST_QUICKLIST | T_LIST_QUICKLIST_2 => {
            let nodes = r.count(1)?;
            let mut l = PackedList::default();
            for _ in 0..nodes {
                let container = if t == T_LIST_QUICKLIST_2 { r.len()? } else { 2 };
                let blob = r.string()?;
                match container {
                    // PLAIN: one element.
                    1 => l.push_back(&blob),
                    2 if t == T_LIST_QUICKLIST => l.extend(ziplist(r, &blob)?),
                    2 => l.extend(listpack(r, &blob)?),
                    _ => return r.bad("unknown quicklist container"),
                }
            }
            Value::List(Box::new(l))
        }
        T_STREAM_LISTPACKS | T_STREAM_LISTPACKS_2 | T_STREAM_LISTPACKS_3 => {
            return read_stream(r, t).map(|s| Some(Value::Stream(Box::new(s))));
        }
        T_HASH_ZIPMAP => return r.bad("zipmap-encoded hashes (RDB < 4) are not supported"),
        T_MODULE | T_MODULE_2 => return r.bad("module values are not supported"),
        _ => return r.bad(format!("unknown value type {t}")),
    };
    let empty = match &v {
        Value::List(l) => l.is_empty(),
        Value::Set(s) => s.set.is_empty(),
        Value::Hash(h) => h.map.is_empty(),
        Value::ZSet(z) => z.is_empty(),
        _ => false,
    };
    Ok((!empty).then_some(v))
}

fn int_of(r: &Reader, b: Option<&Bytes>) -> Res<i64> {
    match b.and_then(|b| crate::util::parse_i64(b)) {
        Some(v) => Ok(v),
        None => r.bad("invalid stream listpack: an integer was expected"),
    }
}

fn read_stream(r: &mut Reader, t: u8) -> Res<Stream> {
    let nodes = r.count(2)?;
    let mut s = Stream::default();
    let mut last_added: Option<StreamId> = None;
    for _ in 0..nodes {
        let key = r.string()?;
        if key.len() != 16 {
            return r.bad("stream node key is not 128 bits");
        }
        let mut a = [0u8; 8];
        a.copy_from_slice(&key[..8]);
        let ms = u64::from_be_bytes(a);
        a.copy_from_slice(&key[8..]);
        let seq = u64::from_be_bytes(a);
        let blob = r.string()?;
        let items = listpack(r, &blob)?;
        if items.is_empty() {
            return r.bad("empty listpack inside a stream");
        }
        let mut i = 0;
        let mut next = |r: &Reader| -> Res<i64> {
            let v = int_of(r, items.get(i));
            i += 1;
            v
        };
        let count = next(r)?;
        let deleted = next(r)?;
        let nmaster = next(r)?;
        if count < 0 || deleted < 0 || nmaster < 0 || nmaster as usize > items.len() {
            return r.bad("invalid stream master entry");
        }
        let master: Vec<Bytes> = items.get(3..3 + nmaster as usize).unwrap_or(&[]).to_vec();
        let mut i = 3 + nmaster as usize;
        if int_of(r, items.get(i))? != 0 {
            return r.bad("invalid stream master entry terminator");
        }
        i += 1;
        let total = count as u64 + deleted as u64;
        let mut fv: Vec<Bytes> = Vec::new();
        for _ in 0..total {
            let flags = int_of(r, items.get(i))?;
            let dms = int_of(r, items.get(i + 1))?;
            let dseq = int_of(r, items.get(i + 2))?;
            i += 3;
            fv.clear();
            if flags & 2 != 0 {
                for f in &master {
                    let Some(v) = items.get(i) else {
                        return r.bad("truncated stream entry");
                    };
                    fv.push(f.clone());
                    fv.push(v.clone());
                    i += 1;
                }
            } else {
                let n = int_of(r, items.get(i))?;
                i += 1;
                if n < 0 || n as usize > items.len() {
                    return r.bad("invalid stream entry field count");
                }
                let Some(pairs) = items.get(i..i + 2 * n as usize) else {
                    return r.bad("truncated stream entry");
                };
                fv.extend_from_slice(pairs);
                i += 2 * n as usize;
            }
            // lp-count
            int_of(r, items.get(i))?;
            i += 1;
            if flags & 1 != 0 {
                continue;
            }
            let id = StreamId::new(ms.wrapping_add(dms as u64), seq.wrapping_add(dseq as u64));
            if last_added.is_some_and(|l| id <= l) {
                return r.bad("stream entry IDs out of order");
            }
            last_added = Some(id);
            let refs: Vec<&[u8]> = fv.iter().map(|b| b.as_ref()).collect();
            s.append(id, &refs);
        }
        if i != items.len() {
            return r.bad("stream listpack holds more than its entries");
        }
    }
    let length = r.len()?;
    if length != s.len() as u64 {
        return r.bad("stream length inconsistent with its entries");
    }
    let last = StreamId::new(r.len()?, r.len()?);
    let added = s.entries_added;
    s.last_id = last;
    if t >= T_STREAM_LISTPACKS_2 {
        let _first = (r.len()?, r.len()?);
        s.max_deleted = StreamId::new(r.len()?, r.len()?);
        s.entries_added = r.len()?;
    } else {
        s.entries_added = added;
    }
    if last_added.is_some_and(|l| l > last) {
        return r.bad("stream last ID below its entries");
    }
    // Consumer groups: read past them (kvserver has none), with a warning.
    let groups = r.count(4)?;
    for _ in 0..groups {
        r.string()?;
        r.len()?;
        r.len()?;
        if t >= T_STREAM_LISTPACKS_2 {
            r.len()?;
        }
        let pel = r.count(17)?;
        for _ in 0..pel {
            r.bytes(16)?;
            r.bytes(8)?;
            r.len()?;
        }
        let consumers = r.count(10)?;
        for _ in 0..consumers {
            r.string()?;
            r.bytes(8)?;
            if t >= T_STREAM_LISTPACKS_3 {
                r.bytes(8)?;
            }
            let n = r.count(16)?;
            r.bytes(n * 16)?;
        }
    }
    if groups > 0 {
        eprintln!(
            "kvserver: # a stream's {groups} consumer group(s) were dropped while loading \
             (kvserver has no consumer groups)"
        );
    }
    Ok(s)
}

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

pub fn put_len(out: &mut Vec<u8>, n: u64) {
    if n < 1 << 6 {
        out.push(n as u8);
    } else if n < 1 << 14 {
        out.push(0x40 | (n >> 8) as u8);
        out.push(n as u8);
    } else if n <= u32::MAX as u64 {
        out.push(0x80);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// A string as Redis's rdbSaveRawString: short canonical integers as
/// int8/16/32, strings over 20 bytes LZF-compressed when that saves at
/// least 4 bytes, else raw.
pub fn put_string(out: &mut Vec<u8>, s: &[u8]) {
    if s.len() <= 11 {
        if let Some(v) = crate::util::parse_i64(s) {
            if let Ok(v) = i8::try_from(v) {
                out.push(0xc0);
                out.push(v as u8);
                return;
            }
            if let Ok(v) = i16::try_from(v) {
                out.push(0xc1);
                out.extend_from_slice(&v.to_le_bytes());
                return;
            }
            if let Ok(v) = i32::try_from(v) {
                out.push(0xc2);
                out.extend_from_slice(&v.to_le_bytes());
                return;
            }
        }
    }
    if s.len() > 20 {
        if let Some(c) = lzf::compress(s, s.len() - 4) {
            out.push(0xc3);
            put_len(out, c.len() as u64);
            put_len(out, s.len() as u64);
            out.extend_from_slice(&c);
            return;
        }
    }
    put_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// A listpack being built.
struct Listpack {
    buf: Vec<u8>,
    n: usize,
}

impl Listpack {
    fn new() -> Listpack {
        Listpack {
            buf: vec![0; 6],
            n: 0,
        }
    }

    fn backlen(&mut self, l: usize) {
        let b = &mut self.buf;
        let l = l as u64;
        match backlen_size(l as usize) {
            1 => b.push(l as u8),
            2 => b.extend_from_slice(&[(l >> 7) as u8, (l & 127) as u8 | 128]),
            3 => b.extend_from_slice(&[
                (l >> 14) as u8,
                ((l >> 7) & 127) as u8 | 128,
                (l & 127) as u8 | 128,
            ]),
            4 => b.extend_from_slice(&[
                (l >> 21) as u8,
                ((l >> 14) & 127) as u8 | 128,
                ((l >> 7) & 127) as u8 | 128,
                (l & 127) as u8 | 128,
            ]),
            _ => b.extend_from_slice(&[
                (l >> 28) as u8,
                ((l >> 21) & 127) as u8 | 128,
                ((l >> 14) & 127) as u8 | 128,
                ((l >> 7) & 127) as u8 | 128,
                (l & 127) as u8 | 128,
            ]),
        }
    }

    fn int(&mut self, v: i64) {
        let start = self.buf.len();
        let b = &mut self.buf;
        if (0..=127).contains(&v) {
            b.push(v as u8);
        } else if (-4096..=4095).contains(&v) {
            let u = (v as u64) & 0x1fff;
            b.push(0xc0 | (u >> 8) as u8);
            b.push(u as u8);
        } else if let Ok(x) = i16::try_from(v) {
            b.push(0xf1);
            b.extend_from_slice(&x.to_le_bytes());
        } else if (-(1 << 23)..(1 << 23)).contains(&v) {
            b.push(0xf2);
            b.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
        } else if let Ok(x) = i32::try_from(v) {
            b.push(0xf3);
            b.extend_from_slice(&x.to_le_bytes());
        } else {
            b.push(0xf4);
            b.extend_from_slice(&v.to_le_bytes());
        }
        let l = self.buf.len() - start;
        self.backlen(l);
        self.n += 1;
    }

    fn str(&mut self, s: &[u8]) {
        if s.len() <= 20 {
            if let Some(v) = crate::util::parse_i64(s) {
                return self.int(v);
            }
        }
        let start = self.buf.len();
        let b = &mut self.buf;
        if s.len() < 64 {
            b.push(0x80 | s.len() as u8);
        } else if s.len() < 4096 {
            b.push(0xe0 | (s.len() >> 8) as u8);
            b.push(s.len() as u8);
        } else {
            b.push(0xf0);
            b.extend_from_slice(&(s.len() as u32).to_le_bytes());
        }
        b.extend_from_slice(s);
        let l = self.buf.len() - start;
        self.backlen(l);
        self.n += 1;
    }

    fn finish(mut self) -> Vec<u8> {
        self.buf.push(0xff);
        let total = self.buf.len() as u32;
        self.buf[..4].copy_from_slice(&total.to_le_bytes());
        let n = self.n.min(65535) as u16;
        self.buf[4..6].copy_from_slice(&n.to_le_bytes());
        self.buf
    }
}

/// Entries per stream listpack node (Redis's stream-node-max-entries).
const STREAM_NODE_ENTRIES: usize = 100;

/// Appends `v`'s type byte and serialization.
pub fn put_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::String(s) => {
            out.push(T_STRING);
            put_string(out, s);
        }
        Value::List(l) => {
            out.push(T_LIST);
            put_len(out, l.len() as u64);
            for x in l.iter() {
                put_string(out, x);
            }
        }
        Value::Set(s) => {
            out.push(T_SET);
            put_len(out, s.set.len() as u64);
            for m in s.set.iter() {
                put_string(out, m);
            }
        }
        Value::Hash(h) => {
            out.push(T_HASH);
            put_len(out, h.map.len() as u64);
            for (f, v) in &h.map {
                put_string(out, f);
                put_string(out, v);
            }
        }
        Value::ZSet(z) => {
            out.push(T_ZSET_2);
            put_len(out, z.len() as u64);
            // Redis writes from the tail (highest score first) so its
            // loader's skiplist inserts are at the head; any order loads.
            for (s, m) in z.range(0, z.len()).iter().rev() {
                put_string(out, m);
                out.extend_from_slice(&s.to_le_bytes());
            }
        }
        Value::Stream(s) => put_stream(out, s),
    }
}

fn put_stream(out: &mut Vec<u8>, s: &Stream) {
    out.push(T_STREAM_LISTPACKS_2);
    let entries = s.range(StreamId::MIN, StreamId::MAX, false, 0);
    let chunks: Vec<_> = entries.chunks(STREAM_NODE_ENTRIES).collect();
    put_len(out, chunks.len() as u64);
    for chunk in chunks {
        let (master_id, master_pairs) = &chunk[0];
        let master: Vec<&[u8]> = master_pairs.clone().map(|(f, _)| f).collect();
        let mut lp = Listpack::new();
        lp.int(chunk.len() as i64);
        lp.int(0);
        lp.int(master.len() as i64);
        for f in &master {
            lp.str(f);
        }
        lp.int(0);
        for (id, pairs) in chunk {
            let same = pairs.len() == master.len()
                && pairs.clone().zip(master.iter()).all(|((f, _), m)| f == *m);
            lp.int(if same { 2 } else { 0 });
            lp.int(id.ms.wrapping_sub(master_id.ms) as i64);
            lp.int(id.seq.wrapping_sub(master_id.seq) as i64);
            if same {
                for (_, v) in pairs.clone() {
                    lp.str(v);
                }
                lp.int(pairs.len() as i64 + 3);
            } else {
                lp.int(pairs.len() as i64);
                for (f, v) in pairs.clone() {
                    lp.str(f);
                    lp.str(v);
                }
                lp.int(2 * pairs.len() as i64 + 4);
            }
        }
        let mut key = Vec::with_capacity(16);
        key.extend_from_slice(&master_id.ms.to_be_bytes());
        key.extend_from_slice(&master_id.seq.to_be_bytes());
        put_string(out, &key);
        put_string(out, &lp.finish());
    }
    put_len(out, s.len() as u64);
    put_len(out, s.last_id.ms);
    put_len(out, s.last_id.seq);
    let first = s.first_id();
    put_len(out, first.ms);
    put_len(out, first.seq);
    put_len(out, s.max_deleted.ms);
    put_len(out, s.max_deleted.seq);
    put_len(out, s.entries_added);
    put_len(out, 0); // consumer groups
}

// ---------------------------------------------------------------------------
// DUMP / RESTORE payloads
// ---------------------------------------------------------------------------

/// DUMP's payload: type byte, value, RDB version (2 bytes LE), CRC64 of
/// all that (8 bytes LE).
pub fn dump(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    put_value(&mut out, v);
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64::update(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Why a payload was refused (RESTORE's two errors).
#[derive(Debug, PartialEq, Eq)]
pub enum PayloadError {
    VersionOrChecksum,
    BadFormat,
}

/// The value of a DUMP payload (None: an empty collection).
pub fn undump(p: &[u8]) -> Result<Option<Value>, PayloadError> {
    if p.len() < 10 {
        return Err(PayloadError::VersionOrChecksum);
    }
    let (body, footer) = p.split_at(p.len() - 10);
    let ver = u16::from_le_bytes([footer[0], footer[1]]);
    let mut c = [0u8; 8];
    c.copy_from_slice(&footer[2..]);
    if ver > RDB_VERSION || crc64::update(0, &p[..p.len() - 8]) != u64::from_le_bytes(c) {
        return Err(PayloadError::VersionOrChecksum);
    }
    let mut r = Reader::new(body);
    let t = r.u8().map_err(|_| PayloadError::BadFormat)?;
    let v = read_value(&mut r, t).map_err(|_| PayloadError::BadFormat)?;
    if r.left() != 0 {
        return Err(PayloadError::BadFormat);
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(v: &Value) -> Value {
        undump(&dump(v)).unwrap().unwrap()
    }

    #[test]
    fn values_round_trip() {
        for s in [
            "",
            "0",
            "-1",
            "127",
            "-128",
            "300",
            "-70000",
            "12345678901",
            "007",
            &"ab".repeat(40),
        ] {
            match round(&Value::String(Str::from(s.as_bytes()))) {
                Value::String(x) => assert_eq!(&x[..], s.as_bytes()),
                _ => panic!(),
            }
        }
        let l: PackedList = ["a", "1", "", &"x".repeat(100)].iter().collect();
        match round(&Value::List(Box::new(l.clone()))) {
            Value::List(x) => assert_eq!(*x, l),
            _ => panic!(),
        }
        let mut z = ZSetObj::default();
        z.insert(b"a", 1.5);
        z.insert(b"b", f64::INFINITY);
        z.insert(b"c", -0.25);
        match round(&Value::ZSet(Box::new(z.clone()))) {
            Value::ZSet(x) => assert_eq!(x.range(0, 3), z.range(0, 3)),
            _ => panic!(),
        }
        let mut s = Stream::default();
        for i in 1..=250u64 {
            let f: &[u8] = if i % 7 == 0 { b"other" } else { b"f" };
            s.append(StreamId::new(i, i % 3), &[f, i.to_string().as_bytes()]);
        }
        s.delete(StreamId::new(5, 2));
        s.max_deleted = StreamId::new(5, 2);
        match round(&Value::Stream(Box::new(s.clone()))) {
            Value::Stream(x) => {
                assert_eq!(x.len(), s.len());
                assert_eq!(x.last_id, s.last_id);
                assert_eq!(x.max_deleted, s.max_deleted);
                assert_eq!(x.entries_added, s.entries_added);
                let a = x.range(StreamId::MIN, StreamId::MAX, false, 0);
                let e = s.range(StreamId::MIN, StreamId::MAX, false, 0);
                for ((i1, p1), (i2, p2)) in a.into_iter().zip(e) {
                    assert_eq!(i1, i2);
                    assert_eq!(p1.collect::<Vec<_>>(), p2.collect::<Vec<_>>());
                }
            }
            _ => panic!(),
        }
    }

    #[test]
    fn listpack_ints_round_trip() {
        let vals = [
            0i64,
            127,
            128,
            -1,
            -4096,
            4095,
            4096,
            -32768,
            32767,
            40000,
            -8388608,
            8388607,
            1 << 30,
            i64::MIN,
            i64::MAX,
        ];
        let mut lp = Listpack::new();
        for v in vals {
            lp.int(v);
        }
        lp.str(&[b'x'; 70]);
        lp.str(&[b'y'; 5000]);
        let blob = lp.finish();
        let r = Reader::new(&[]);
        let got = listpack(&r, &blob).unwrap();
        for (g, v) in got.iter().zip(vals) {
            assert_eq!(g, &Bytes::from(v.to_string()));
        }
        assert_eq!(got[vals.len()].len(), 70);
        assert_eq!(got[vals.len() + 1].len(), 5000);
    }

    #[test]
    fn bad_payloads_are_refused() {
        let mut p = dump(&Value::String(Str::from(&b"hello"[..])));
        assert!(undump(&p[..5]).is_err());
        let n = p.len();
        p[n - 1] ^= 1;
        assert_eq!(undump(&p).err(), Some(PayloadError::VersionOrChecksum));
        // A huge count with a valid checksum: refused, no allocation.
        let mut body = vec![T_LIST, 0x81];
        body.extend_from_slice(&u64::MAX.to_be_bytes());
        body.extend_from_slice(&RDB_VERSION.to_le_bytes());
        let crc = crc64::update(0, &body);
        body.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(undump(&body).err(), Some(PayloadError::BadFormat));
    }
}
