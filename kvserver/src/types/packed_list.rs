//! A list's elements packed end to end in byte chunks (Redis's quicklist
//! of listpacks), the representation behind every list key.
//!
//! Why not a `VecDeque<Str>`: a slot is 24 bytes whatever the element
//! (48 right after the deque doubles, and each doubling copies the whole
//! deque), so a list of short elements costs 5-10x their bytes and a push
//! touches a fresh page every ~170 elements. Packed, `LPUSH mylist xxx`
//! costs 5 bytes and a new page every ~800 pushes, as in Redis.
//!
//! Layout:
//! - An entry is its length as a LEB128 varint, the bytes, then the same
//!   varint with its bytes reversed (listpack's "backlen"), so a chunk can
//!   be walked from either end.
//! - A chunk is a buffer whose occupied bytes are `buf[start..end]`, with
//!   free room on both sides: a push at the front writes just before
//!   `start`, a push at the back just after `end`, so pushes and pops at
//!   both ends of the list never move other entries. A chunk holds at
//!   most [`CHUNK_MAX`] bytes, except that an entry bigger than that gets
//!   a chunk of its own.
//! - The list is a deque of chunks plus the element count.
//!
//! Costs: pushes and pops at either end O(1); reading or writing at an
//! index walks chunks by their counts from the nearer end, then entries
//! inside one chunk (Redis's LINDEX is O(n) too); an edit in the middle
//! (LSET, LINSERT, LREM) rewrites the chunks it touches.
//!
//! Memory stays proportional to the bytes held: a chunk starts small and
//! doubles as it fills, gives at least half its buffer back when pops or
//! LTRIM leave it a quarter full, and after an edit in the middle
//! neighbours that fit in [`MERGE_MAX`] together are merged, so splits
//! cannot leave a trail of one-entry chunks.

use crate::types::Str;
use std::collections::VecDeque;

/// Most bytes a chunk holds. Redis's default listpack is 8 KB; 4 KB keeps
/// an edit in the middle and a walk inside a chunk short, and is still
/// ~800 three-byte entries per chunk.
const CHUNK_MAX: usize = 4096;

/// First capacity of a chunk: a short list stays small, and a chunk
/// doubles up to [`CHUNK_MAX`] as it fills.
const CHUNK_MIN: usize = 32;

/// Neighbouring chunks whose bytes add up to at most this are merged after
/// an edit in the middle. Under [`CHUNK_MAX`], so the two halves of a
/// split (each over half of it) never merge back.
const MERGE_MAX: usize = CHUNK_MAX * 3 / 4;

/// Bytes of `n` as a LEB128 varint.
fn varint_len(mut n: usize) -> usize {
    let mut k = 1;
    while n >= 0x80 {
        n >>= 7;
        k += 1;
    }
    k
}

/// Bytes an element of `len` bytes takes as an entry.
fn entry_size(len: usize) -> usize {
    2 * varint_len(len) + len
}

/// Writes `v` as an entry into `dst`, which is exactly `entry_size(v.len())`
/// bytes.
fn write_entry(dst: &mut [u8], v: &[u8]) {
    let k = varint_len(v.len());
    let (head, rest) = dst.split_at_mut(k);
    let (body, tail) = rest.split_at_mut(v.len());
    let mut n = v.len();
    for i in 0..k {
        let more = if i + 1 < k { 0x80 } else { 0 };
        let byte = (n & 0x7f) as u8 | more;
        head[i] = byte;
        // The backlen is the same bytes in reverse: read from the entry's
        // end, the low seven bits come first.
        tail[k - 1 - i] = byte;
        n >>= 7;
    }
    body.copy_from_slice(v);
}

/// The first entry of `b` (which starts at an entry): its bytes and the
/// entry's size.
fn read_front(b: &[u8]) -> (&[u8], usize) {
    let (mut n, mut k) = (0usize, 0);
    loop {
        let byte = b[k];
        n |= ((byte & 0x7f) as usize) << (7 * k);
        k += 1;
        if byte & 0x80 == 0 {
            break;
        }
    }
    (&b[k..k + n], 2 * k + n)
}

/// The last entry of `b` (which ends at an entry's end): its bytes and the
/// entry's size.
fn read_back(b: &[u8]) -> (&[u8], usize) {
    let (mut n, mut k) = (0usize, 0);
    loop {
        let byte = b[b.len() - 1 - k];
        n |= ((byte & 0x7f) as usize) << (7 * k);
        k += 1;
        if byte & 0x80 == 0 {
            break;
        }
    }
    let end = b.len() - k;
    (&b[end - n..end], 2 * k + n)
}

/// Which end of a chunk or list.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Side {
    Front,
    Back,
}

/// Entries packed in `buf[start..end]`.
#[derive(Clone)]
struct Chunk {
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    count: usize,
}

impl Chunk {
    /// An empty chunk of `cap` bytes whose free room is all on `side`
    /// (where it will be filled from).
    fn empty(cap: usize, side: Side) -> Chunk {
        let at = if side == Side::Front { cap } else { 0 };
        Chunk {
            buf: vec![0; cap].into_boxed_slice(),
            start: at,
            end: at,
            count: 0,
        }
    }

    /// A chunk holding exactly `bytes`: `count` entries, already encoded.
    fn packed(bytes: &[u8], count: usize) -> Chunk {
        Chunk {
            buf: bytes.into(),
            start: 0,
            end: bytes.len(),
            count,
        }
    }

    fn bytes(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    fn used(&self) -> usize {
        self.end - self.start
    }

    /// Whether an entry of `size` bytes may join this chunk.
    fn fits(&self, size: usize) -> bool {
        self.used() + size <= CHUNK_MAX
    }

    /// Makes `size` free bytes on `side`: grows the buffer (doubling, up
    /// to what the chunk may hold) or moves the entries over, leaving all
    /// the free room on `side`, where the next pushes will come.
    fn make_room(&mut self, size: usize, side: Side) {
        let free = match side {
            Side::Front => self.start,
            Side::Back => self.buf.len() - self.end,
        };
        if free >= size {
            return;
        }
        let used = self.used();
        let need = used + size;
        if need > self.buf.len() {
            let cap = need.max((self.buf.len() * 2).min(CHUNK_MAX));
            let mut buf = vec![0; cap].into_boxed_slice();
            let at = if side == Side::Front { cap - used } else { 0 };
            buf[at..at + used].copy_from_slice(self.bytes());
            self.buf = buf;
            (self.start, self.end) = (at, at + used);
        } else {
            let at = if side == Side::Front {
                self.buf.len() - used
            } else {
                0
            };
            self.buf.copy_within(self.start..self.end, at);
            (self.start, self.end) = (at, at + used);
        }
    }

    fn push(&mut self, v: &[u8], side: Side) {
        let size = entry_size(v.len());
        self.make_room(size, side);
        let at = match side {
            Side::Front => {
                self.start -= size;
                self.start
            }
            Side::Back => {
                self.end += size;
                self.end - size
            }
        };
        write_entry(&mut self.buf[at..at + size], v);
        self.count += 1;
    }

    /// Takes the entry at `side` out (the chunk is not empty).
    fn pop(&mut self, side: Side) -> Str {
        let (v, size) = match side {
            Side::Front => read_front(self.bytes()),
            Side::Back => read_back(self.bytes()),
        };
        let v = Str::new(v);
        match side {
            Side::Front => self.start += size,
            Side::Back => self.end -= size,
        }
        self.count -= 1;
        self.shrink_if_sparse();
        v
    }

    /// Gives at least half the buffer back once entries fill a quarter of
    /// it or less (the hysteresis keeps a push/pop pair at the boundary from
    /// reallocating each time). The entries go in the middle, free room on
    /// both sides.
    fn shrink_if_sparse(&mut self) {
        let (cap, used) = (self.buf.len(), self.used());
        if cap <= CHUNK_MIN || used * 4 > cap || self.count == 0 {
            return;
        }
        // Twice what is used: half the buffer or less (LTRIM may leave
        // far less than a quarter).
        let cap = (used * 2).next_power_of_two().max(CHUNK_MIN);
        let at = (cap - used) / 2;
        let mut buf = vec![0; cap].into_boxed_slice();
        buf[at..at + used].copy_from_slice(self.bytes());
        self.buf = buf;
        (self.start, self.end) = (at, at + used);
    }

    fn entries(&self) -> Entries<'_> {
        Entries { rest: self.bytes() }
    }

    /// The byte range of entry `i` within `bytes()`, walking from the
    /// nearer end.
    fn entry_range(&self, i: usize) -> std::ops::Range<usize> {
        let b = self.bytes();
        if i < self.count / 2 + 1 {
            let mut at = 0;
            for _ in 0..i {
                at += read_front(&b[at..]).1;
            }
            at..at + read_front(&b[at..]).1
        } else {
            let mut end = b.len();
            for _ in i + 1..self.count {
                end -= read_back(&b[..end]).1;
            }
            end - read_back(&b[..end]).1..end
        }
    }
}

/// The elements of a chunk, from either end.
#[derive(Clone)]
pub struct Entries<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Entries<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        let (v, size) = read_front(self.rest);
        self.rest = &self.rest[size..];
        Some(v)
    }
}

impl DoubleEndedIterator for Entries<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let (v, size) = read_back(self.rest);
        self.rest = &self.rest[..self.rest.len() - size];
        Some(v)
    }
}

/// A list of byte strings, packed (see the module doc).
#[derive(Clone, Default)]
pub struct PackedList {
    chunks: VecDeque<Chunk>,
    len: usize,
}

impl PackedList {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes this list holds on the heap: its header, the chunk deque and
    /// the chunks' buffers (MEMORY USAGE; allocator overhead not counted).
    pub fn allocated_bytes(&self) -> usize {
        std::mem::size_of::<PackedList>()
            + self.chunks.capacity() * std::mem::size_of::<Chunk>()
            + self.chunks.iter().map(|c| c.buf.len()).sum::<usize>()
    }

    pub fn clear(&mut self) {
        *self = PackedList::default();
    }

    pub fn push_front(&mut self, v: &[u8]) {
        self.push(v, Side::Front);
    }

    pub fn push_back(&mut self, v: &[u8]) {
        self.push(v, Side::Back);
    }

    fn push(&mut self, v: &[u8], side: Side) {
        let size = entry_size(v.len());
        let end = match side {
            Side::Front => self.chunks.front_mut(),
            Side::Back => self.chunks.back_mut(),
        };
        match end {
            Some(c) if c.fits(size) => c.push(v, side),
            _ => {
                if self.chunks.is_empty() {
                    // Most lists are short: room for one chunk, not the
                    // deque's default four.
                    self.chunks.reserve_exact(1);
                }
                let mut c = Chunk::empty(CHUNK_MIN.max(size), side);
                c.push(v, side);
                match side {
                    Side::Front => self.chunks.push_front(c),
                    Side::Back => self.chunks.push_back(c),
                }
            }
        }
        self.len += 1;
    }

    pub fn pop_front(&mut self) -> Option<Str> {
        self.pop(Side::Front)
    }

    pub fn pop_back(&mut self) -> Option<Str> {
        self.pop(Side::Back)
    }

    fn pop(&mut self, side: Side) -> Option<Str> {
        let c = match side {
            Side::Front => self.chunks.front_mut()?,
            Side::Back => self.chunks.back_mut()?,
        };
        let v = c.pop(side);
        if c.count == 0 {
            match side {
                Side::Front => self.chunks.pop_front(),
                Side::Back => self.chunks.pop_back(),
            };
        }
        self.len -= 1;
        Some(v)
    }

    /// Every element, front to back (or back to front with `.rev()`).
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &[u8]> + Clone + '_ {
        self.chunks.iter().flat_map(Chunk::entries)
    }

    /// Elements `from..=to` (positions in range, `from <= to`), front to
    /// back: whole chunks before `from` are skipped by their counts.
    pub fn range(&self, from: usize, to: usize) -> impl Iterator<Item = &[u8]> + '_ {
        let (ci, i) = self.locate(from);
        self.chunks
            .range(ci..)
            .flat_map(Chunk::entries)
            .skip(i)
            .take(to - from + 1)
    }

    /// The chunk holding position `pos` (< len) and the position within it,
    /// counting chunks from the nearer end.
    fn locate(&self, pos: usize) -> (usize, usize) {
        if pos < self.len / 2 {
            let mut before = 0;
            for (ci, c) in self.chunks.iter().enumerate() {
                if pos < before + c.count {
                    return (ci, pos - before);
                }
                before += c.count;
            }
        } else {
            let mut from = self.len;
            for (ci, c) in self.chunks.iter().enumerate().rev() {
                from -= c.count;
                if pos >= from {
                    return (ci, pos - from);
                }
            }
        }
        // Not reached for pos < len (the chunks' counts add up to len).
        (self.chunks.len(), 0)
    }

    /// The element at `pos`, if in range.
    pub fn get(&self, pos: usize) -> Option<&[u8]> {
        if pos >= self.len {
            return None;
        }
        let (ci, i) = self.locate(pos);
        let c = &self.chunks[ci];
        Some(read_front(&c.bytes()[c.entry_range(i)]).0)
    }

    /// Replaces the element at `pos` (< len).
    pub fn set(&mut self, pos: usize, v: &[u8]) {
        let (ci, i) = self.locate(pos);
        let c = &self.chunks[ci];
        let (r, count) = (c.entry_range(i), c.count);
        self.splice_entry(ci, r, v, count);
    }

    /// Inserts `v` so that it is at position `pos` (<= len).
    pub fn insert(&mut self, pos: usize, v: &[u8]) {
        if pos == 0 {
            return self.push_front(v);
        }
        if pos == self.len {
            return self.push_back(v);
        }
        let (ci, i) = self.locate(pos);
        // At the start of a chunk, the end of the one before is the same
        // place: append there if it has room (no rewrite).
        if i == 0 && ci > 0 && self.chunks[ci - 1].fits(entry_size(v.len())) {
            self.chunks[ci - 1].push(v, Side::Back);
            self.len += 1;
            return;
        }
        let c = &self.chunks[ci];
        let (at, count) = (c.entry_range(i).start, c.count + 1);
        self.splice_entry(ci, at..at, v, count);
        self.len += 1;
    }

    /// Rewrites chunk `ci` with its bytes `r` (one entry for LSET, none for
    /// LINSERT) replaced by `v`'s entry; it then holds `count` entries.
    fn splice_entry(&mut self, ci: usize, r: std::ops::Range<usize>, v: &[u8], count: usize) {
        let b = self.chunks[ci].bytes();
        let mut bytes = Vec::with_capacity(b.len() - r.len() + entry_size(v.len()));
        bytes.extend_from_slice(&b[..r.start]);
        append_entry(&mut bytes, v);
        bytes.extend_from_slice(&b[r.end..]);
        self.replace_chunk(ci, &bytes, count);
    }

    /// Puts the `count` encoded entries `bytes` in place of chunk `ci`:
    /// one chunk, or several when they outgrew [`CHUNK_MAX`].
    fn replace_chunk(&mut self, ci: usize, bytes: &[u8], count: usize) {
        if bytes.len() <= CHUNK_MAX || count == 1 {
            self.chunks[ci] = Chunk::packed(bytes, count);
            return self.merge_range(ci.saturating_sub(1), ci + 1);
        }
        self.chunks.remove(ci);
        let parts = split(bytes);
        let n = parts.len();
        for (k, c) in parts.into_iter().enumerate() {
            self.chunks.insert(ci + k, c);
        }
        self.merge_range(ci.saturating_sub(1), ci + n);
    }

    /// Merges adjacent chunks among `lo..=hi` (the ones an edit rewrote
    /// and one on each side; `hi` may be past the end) while two fit in
    /// [`MERGE_MAX`] together.
    fn merge_range(&mut self, lo: usize, hi: usize) {
        let mut ci = lo;
        let mut last = hi.min(self.chunks.len().saturating_sub(1));
        while ci < last {
            let (a, b) = (&self.chunks[ci], &self.chunks[ci + 1]);
            if a.used() + b.used() <= MERGE_MAX {
                let mut bytes = Vec::with_capacity(a.used() + b.used());
                bytes.extend_from_slice(a.bytes());
                bytes.extend_from_slice(b.bytes());
                self.chunks[ci] = Chunk::packed(&bytes, a.count + b.count);
                self.chunks.remove(ci + 1);
                last -= 1;
            } else {
                ci += 1;
            }
        }
    }

    /// Keeps only positions `from..=to` (in range, `from <= to`).
    pub fn keep_range(&mut self, from: usize, to: usize) {
        self.drop_end(self.len - 1 - to, Side::Back);
        self.drop_end(from, Side::Front);
    }

    /// Removes `n` (<= len) elements from `side`: whole chunks by their
    /// counts, then entry by entry.
    fn drop_end(&mut self, mut n: usize, side: Side) {
        self.len -= n;
        while n > 0 {
            let c = match side {
                Side::Front => self.chunks.front_mut(),
                Side::Back => self.chunks.back_mut(),
            }
            .expect("n <= len");
            if c.count <= n {
                n -= c.count;
                match side {
                    Side::Front => self.chunks.pop_front(),
                    Side::Back => self.chunks.pop_back(),
                };
            } else {
                for _ in 0..n {
                    let size = match side {
                        Side::Front => read_front(c.bytes()).1,
                        Side::Back => read_back(c.bytes()).1,
                    };
                    match side {
                        Side::Front => c.start += size,
                        Side::Back => c.end -= size,
                    }
                }
                c.count -= n;
                c.shrink_if_sparse();
                n = 0;
            }
        }
    }

    /// Removes up to `max` elements equal to `elem`, the first ones from
    /// the front, or from the back if `from_back` (LREM); returns how many.
    /// Only the chunks holding a removed element are rewritten, and the
    /// walk stops at the last removal.
    pub fn remove_matching(&mut self, elem: &[u8], max: usize, from_back: bool) -> usize {
        let mut removed = 0;
        let (mut touched_first, mut touched_last) = (usize::MAX, 0);
        let n = self.chunks.len();
        for k in 0..n {
            if removed == max {
                break;
            }
            let ci = if from_back { n - 1 - k } else { k };
            let c = &self.chunks[ci];
            // Allocated at the first match: most chunks have none.
            let mut drop = Vec::new();
            let mut hits = 0;
            let mut mark = |i: usize, v: &[u8]| {
                if removed + hits < max && v == elem {
                    drop.resize(c.count, false);
                    drop[i] = true;
                    hits += 1;
                }
            };
            if from_back {
                for (j, v) in c.entries().rev().enumerate() {
                    mark(c.count - 1 - j, v);
                }
            } else {
                for (i, v) in c.entries().enumerate() {
                    mark(i, v);
                }
            }
            if hits == 0 {
                continue;
            }
            let mut bytes = Vec::with_capacity(c.used());
            for (i, v) in c.entries().enumerate() {
                if !drop[i] {
                    append_entry(&mut bytes, v);
                }
            }
            self.chunks[ci] = Chunk::packed(&bytes, c.count - hits);
            removed += hits;
            touched_first = touched_first.min(ci);
            touched_last = touched_last.max(ci);
        }
        if removed > 0 {
            self.len -= removed;
            // Emptied chunks go (all of them among the touched ones, so
            // the touched range shrinks by their number), then the
            // touched chunks and their neighbours may merge.
            let before = self.chunks.len();
            self.chunks.retain(|c| c.count > 0);
            let emptied = before - self.chunks.len();
            self.merge_range(touched_first.saturating_sub(1), touched_last + 1 - emptied);
        }
        removed
    }
}

/// Appends `v` encoded as an entry.
fn append_entry(out: &mut Vec<u8>, v: &[u8]) {
    let at = out.len();
    out.resize(at + entry_size(v.len()), 0);
    write_entry(&mut out[at..], v);
}

/// Cuts encoded entries into chunks of about equal size, each at most
/// [`CHUNK_MAX`] bytes (an entry bigger than that alone). Equal, not
/// greedy: a greedy cut of a chunk that one LINSERT overfilled would
/// leave a full chunk and a one-entry one, and inserting there again would
/// do it again, one tiny chunk per insert; halves take many inserts to
/// fill.
fn split(bytes: &[u8]) -> Vec<Chunk> {
    let parts = bytes.len().div_ceil(CHUNK_MAX);
    let target = bytes.len().div_ceil(parts);
    let mut chunks = Vec::new();
    let (mut from, mut at, mut count) = (0, 0, 0);
    while at < bytes.len() {
        let size = read_front(&bytes[at..]).1;
        // Cut before an entry that would overfill the chunk, and after
        // one that brings it to the target (so only the last chunk may be
        // under it).
        if count > 0 && at + size - from > CHUNK_MAX {
            chunks.push(Chunk::packed(&bytes[from..at], count));
            (from, count) = (at, 0);
        }
        at += size;
        count += 1;
        if at - from >= target {
            chunks.push(Chunk::packed(&bytes[from..at], count));
            (from, count) = (at, 0);
        }
    }
    if count > 0 {
        chunks.push(Chunk::packed(&bytes[from..at], count));
    }
    chunks
}

impl<T: AsRef<[u8]>> Extend<T> for PackedList {
    fn extend<I: IntoIterator<Item = T>>(&mut self, items: I) {
        for v in items {
            self.push_back(v.as_ref());
        }
    }
}

impl<T: AsRef<[u8]>> FromIterator<T> for PackedList {
    fn from_iter<I: IntoIterator<Item = T>>(items: I) -> PackedList {
        let mut l = PackedList::default();
        l.extend(items);
        l
    }
}

impl PartialEq for PackedList {
    fn eq(&self, other: &PackedList) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl Eq for PackedList {}

impl std::fmt::Debug for PackedList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.iter().map(String::from_utf8_lossy))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The chunks' own bookkeeping agrees with their bytes.
    fn check_invariants(l: &PackedList) {
        let mut total = 0;
        for c in &l.chunks {
            assert!(c.count > 0, "no empty chunk stays");
            assert_eq!(c.entries().count(), c.count);
            assert_eq!(c.entries().rev().count(), c.count);
            assert!(c.used() <= CHUNK_MAX || c.count == 1, "chunk over size");
            total += c.count;
        }
        assert_eq!(total, l.len());
    }

    #[test]
    fn entry_round_trip_at_varint_edges() {
        for len in [0, 1, 127, 128, 300, 16383, 16384, 70000] {
            let v: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let mut b = Vec::new();
            append_entry(&mut b, &v);
            assert_eq!(b.len(), entry_size(len));
            assert_eq!(read_front(&b), (&v[..], b.len()));
            assert_eq!(read_back(&b), (&v[..], b.len()));
        }
    }

    #[test]
    fn pushes_fill_chunks_without_moving_entries() {
        let mut l = PackedList::default();
        for i in 0..10_000u32 {
            l.push_front(format!("item:{i}").as_bytes());
        }
        check_invariants(&l);
        // 10k entries of ~11 bytes: about 27 chunks of 4 KB, each full.
        assert!(l.chunks.len() <= 30, "{} chunks", l.chunks.len());
        assert_eq!(l.get(0), Some(&b"item:9999"[..]));
        assert_eq!(l.get(9999), Some(&b"item:0"[..]));
        assert_eq!(l.get(10_000), None);
        let back: Vec<_> = l.iter().rev().take(2).collect();
        assert_eq!(back, [&b"item:0"[..], b"item:1"]);
    }

    /// Inserting again and again at one place splits chunks into halves,
    /// not a full chunk and a one-entry one each time.
    #[test]
    fn inserts_in_the_middle_keep_chunks_well_filled() {
        let mut l: PackedList = (0..2_000u32).map(|i| format!("e{i:05}")).collect();
        for i in 0..20_000u32 {
            l.insert(1, format!("i{i:05}").as_bytes());
        }
        check_invariants(&l);
        let bytes: usize = l.chunks.iter().map(Chunk::used).sum();
        assert!(
            l.chunks.len() <= 2 * bytes.div_ceil(CHUNK_MAX) + 1,
            "{} chunks for {bytes} bytes",
            l.chunks.len()
        );
        assert_eq!(l.get(0), Some(&b"e00000"[..]));
        assert_eq!(l.get(1), Some(&b"i19999"[..]));
    }

    /// Bytes allocated for chunk buffers, and bytes of entries.
    fn footprint(l: &PackedList) -> (usize, usize) {
        let cap = l.chunks.iter().map(|c| c.buf.len()).sum();
        (cap, l.chunks.iter().map(Chunk::used).sum())
    }

    /// The patterns a review found leaving memory or chunks behind: each
    /// now stays within a small factor of the bytes held.
    #[test]
    fn memory_stays_proportional_to_the_bytes_held() {
        let big = vec![b'B'; 5000];
        // LINSERT before a big element, again and again.
        let mut l: PackedList = [&big[..]].into_iter().collect();
        for i in 0..5_000u32 {
            let pos = l.len() - 1;
            l.insert(pos, format!("e{i}").as_bytes());
        }
        check_invariants(&l);
        let (cap, used) = footprint(&l);
        assert!(l.chunks.len() < 20, "{} chunks", l.chunks.len());
        assert!(cap < 2 * used, "{cap} bytes allocated for {used}");
        // LSET growing then shrinking every element of a long list.
        let mut l: PackedList = (0..20_000u32).map(|i| format!("s{i:07}")).collect();
        for i in (0..20_000).step_by(7) {
            l.set(i, &big);
            l.set(i, b"short");
        }
        check_invariants(&l);
        let (cap, used) = footprint(&l);
        assert!(
            l.chunks.len() < 3 * used.div_ceil(CHUNK_MAX),
            "{} chunks for {used} bytes",
            l.chunks.len()
        );
        assert!(cap < 2 * used, "{cap} bytes allocated for {used}");
        // Elements of a bit over half a chunk, one per chunk.
        let mut l = PackedList::default();
        for _ in 0..100 {
            l.push_back(&[7; 2100]);
        }
        let (cap, used) = footprint(&l);
        assert!(cap < used * 5 / 4, "{cap} bytes allocated for {used}");
        // Pushes then pops down to one element give the buffer back.
        let mut l = PackedList::default();
        for i in 0..500u32 {
            l.push_back(format!("{i:08}").as_bytes());
        }
        for _ in 0..499 {
            l.pop_back();
        }
        let (cap, _) = footprint(&l);
        assert!(cap <= 64, "{cap} bytes kept for one element");
        // LTRIM down to a few elements of one chunk.
        let mut l: PackedList = (0..500u32).map(|i| format!("{i:08}")).collect();
        l.keep_range(10, 12);
        let (cap, _) = footprint(&l);
        assert!(cap <= 128, "{cap} bytes kept for three elements");
    }

    /// LREM's removal rewrites the chunks it removes from and merges what
    /// it left small, from either end.
    #[test]
    fn remove_matching_from_either_end() {
        let mut l: PackedList = (0..30_000u32)
            .map(|i| {
                if i % 3 == 0 {
                    "x".to_string()
                } else {
                    format!("v{i}")
                }
            })
            .collect();
        assert_eq!(l.remove_matching(b"x", 2, true), 2);
        // x at 29997 and 29994 went; the one at 29991 stays.
        let tail: Vec<&[u8]> = l.iter().rev().take(7).collect();
        let want: [&[u8]; 7] = [
            b"v29999", b"v29998", b"v29996", b"v29995", b"v29993", b"v29992", b"x",
        ];
        assert_eq!(tail, want);
        assert_eq!(l.remove_matching(b"x", 1, false), 1);
        assert_eq!(l.get(0), Some(&b"v1"[..]));
        assert_eq!(l.remove_matching(b"nope", usize::MAX, false), 0);
        assert_eq!(l.remove_matching(b"x", usize::MAX, false), 10_000 - 3);
        check_invariants(&l);
        assert_eq!(l.len(), 20_000);
        assert!(l.iter().all(|v| v != b"x"));
        let (cap, used) = footprint(&l);
        assert!(cap < 2 * used, "{cap} bytes allocated for {used}");
    }

    #[test]
    fn an_element_bigger_than_a_chunk_gets_its_own() {
        let big = vec![7u8; CHUNK_MAX * 3];
        let mut l: PackedList = [&b"a"[..], b"b"].into_iter().collect();
        l.insert(1, &big);
        l.push_back(&big);
        l.set(0, &big);
        check_invariants(&l);
        let got: Vec<&[u8]> = l.iter().collect();
        assert_eq!(got, [&big[..], &big[..], b"b", &big[..]]);
        assert_eq!(l.pop_back().as_deref(), Some(&big[..]));
    }

    /// One operation on the list and on a `VecDeque` model.
    #[derive(Debug, Clone)]
    enum Op {
        Push(bool, Vec<u8>),
        Pop(bool),
        Set(usize, Vec<u8>),
        Insert(usize, Vec<u8>),
        KeepRange(usize, usize),
        RemoveMatching(u8, usize, bool),
    }

    fn element() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            // A few values that repeat, for LREM-style removals.
            4 => proptest::sample::select(vec![vec![], b"a".to_vec(), b"bb".to_vec()]),
            8 => proptest::collection::vec(any::<u8>(), 0..20),
            2 => proptest::collection::vec(any::<u8>(), 100..400),
            1 => proptest::collection::vec(any::<u8>(), 4000..5000),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            40 => (any::<bool>(), element()).prop_map(|(f, v)| Op::Push(f, v)),
            10 => any::<bool>().prop_map(Op::Pop),
            5 => (any::<usize>(), element()).prop_map(|(i, v)| Op::Set(i, v)),
            5 => (any::<usize>(), element()).prop_map(|(i, v)| Op::Insert(i, v)),
            1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Op::KeepRange(a, b)),
            2 => (any::<u8>(), 0..4usize, any::<bool>())
                .prop_map(|(x, n, back)| Op::RemoveMatching(x, n, back)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(100))]
        #[test]
        fn behaves_as_a_deque(ops in proptest::collection::vec(op(), 1..400)) {
            let mut l = PackedList::default();
            let mut m: VecDeque<Vec<u8>> = VecDeque::new();
            for op in ops {
                match op {
                    Op::Push(true, v) => { l.push_front(&v); m.push_front(v) }
                    Op::Push(false, v) => { l.push_back(&v); m.push_back(v) }
                    Op::Pop(front) => {
                        let (a, b) = if front {
                            (l.pop_front(), m.pop_front())
                        } else {
                            (l.pop_back(), m.pop_back())
                        };
                        prop_assert_eq!(a.as_deref(), b.as_deref());
                    }
                    Op::Set(i, v) if !m.is_empty() => {
                        let i = i % m.len();
                        l.set(i, &v);
                        m[i] = v;
                    }
                    Op::Insert(i, v) => {
                        let i = i % (m.len() + 1);
                        l.insert(i, &v);
                        m.insert(i, v);
                    }
                    Op::KeepRange(a, b) if !m.is_empty() => {
                        let (a, b) = (a % m.len(), b % m.len());
                        let (a, b) = (a.min(b), a.max(b));
                        l.keep_range(a, b);
                        m.truncate(b + 1);
                        m.drain(..a);
                    }
                    Op::RemoveMatching(x, n, back) => {
                        // Elements starting with byte x; n = 0: all of them.
                        // Compared as whole elements: pick the first match's
                        // exact bytes, as LREM does.
                        let Some(elem) = m.iter().find(|v| v.first() == Some(&x)).cloned() else {
                            continue;
                        };
                        let max = if n == 0 { usize::MAX } else { n };
                        let got = l.remove_matching(&elem, max, back);
                        let mut want = 0;
                        let mut kept: VecDeque<Vec<u8>> = VecDeque::new();
                        let order: Vec<Vec<u8>> = if back {
                            m.iter().rev().cloned().collect()
                        } else {
                            m.iter().cloned().collect()
                        };
                        for v in order {
                            if want < max && v == elem {
                                want += 1;
                            } else if back {
                                kept.push_front(v);
                            } else {
                                kept.push_back(v);
                            }
                        }
                        m = kept;
                        prop_assert_eq!(got, want);
                    }
                    _ => {}
                }
                check_invariants(&l);
                prop_assert_eq!(l.len(), m.len());
            }
            let got: Vec<&[u8]> = l.iter().collect();
            let want: Vec<&[u8]> = m.iter().map(|v| &v[..]).collect();
            prop_assert_eq!(&got, &want);
            let got: Vec<&[u8]> = l.iter().rev().collect();
            let want: Vec<&[u8]> = m.iter().rev().map(|v| &v[..]).collect();
            prop_assert_eq!(&got, &want);
            for (i, want) in m.iter().enumerate() {
                prop_assert_eq!(l.get(i), Some(&want[..]));
            }
            if !m.is_empty() {
                let (a, b) = (m.len() / 3, m.len() - 1 - m.len() / 4);
                let got: Vec<&[u8]> = l.range(a, b).collect();
                let want: Vec<&[u8]> = m.range(a..=b).map(|v| &v[..]).collect();
                prop_assert_eq!(got, want);
            }
        }
    }
}
