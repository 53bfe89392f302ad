//! The stream value (Redis's stream.h / the data half of t_stream.c):
//! entries keyed by a 128-bit ID `ms-seq`, each a list of field/value
//! pairs, in ID order, plus the stream's counters (last generated ID,
//! entries added, max deleted ID).
//!
//! # Representation
//!
//! Entries live in a `BTreeMap<StreamId, Box<[u8]>>`: ordered (ranges,
//! XREVRANGE, first/last in O(log n)), and one allocation per entry. Each
//! entry's pairs are packed into that one byte block (a tag byte, a varint
//! pair count, then varint-length-prefixed strings) rather than a
//! `Vec<(Bytes, Bytes)>`, which would cost two 32-byte `Bytes` headers and
//! up to two allocations per pair. Field names are shared the way Redis's
//! listpack nodes share them with their "master entry": the stream keeps the
//! field names of its first entry ([`Stream::master`]), and an entry with
//! exactly those names (the common case: a stream of events with one
//! schema, as redis-benchmark's `XADD key * myfield value`) stores only its
//! values. A small entry thus costs its packed bytes (rounded up by the
//! allocator) plus its B-tree slot (16-byte key + 16-byte box), about 70
//! bytes, against Redis's ~10-20 in a listpack: compact enough, and much
//! simpler than a listpack.
//!
//! # Nodes (for trimming with `~` and XINFO)
//!
//! Redis stores entries in listpack nodes of at most
//! `stream-node-max-entries` (100) entries, deleted ones included, and `~`
//! trimming only removes whole nodes. We keep only each node's metadata
//! ([`Node`]: first ID, last ID, entries inserted, entries live), updated
//! exactly as Redis updates its nodes (a new node when the last one holds
//! 100 entries, a node removed when its last live entry is deleted or it is
//! trimmed whole), so `MAXLEN ~`/`MINID ~` (and LIMIT) remove what Redis
//! would remove. Deviation: Redis also starts a new node when the last one
//! would pass `stream-node-max-bytes` (4 KB), which we do not model: with
//! entries bigger than ~40 bytes Redis's nodes are smaller than 100 and its
//! `~` trims at a finer grain than ours (both leave at least the asked
//! number of entries).

use bytes::Bytes;
use std::collections::BTreeMap;
use std::ops::Bound;

/// Redis's `stream-node-max-entries` default.
pub const NODE_MAX_ENTRIES: u64 = 100;

/// A stream entry ID: milliseconds and a sequence number, ordered as a
/// pair (so as a 128-bit number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    pub fn new(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    /// The next ID (streamIncrID); None past the last possible one.
    pub fn incr(self) -> Option<StreamId> {
        if self.seq == u64::MAX {
            if self.ms == u64::MAX {
                return None;
            }
            return Some(StreamId::new(self.ms + 1, 0));
        }
        Some(StreamId::new(self.ms, self.seq + 1))
    }

    /// The previous ID (streamDecrID); None before 0-0.
    pub fn decr(self) -> Option<StreamId> {
        if self.seq == 0 {
            if self.ms == 0 {
                return None;
            }
            return Some(StreamId::new(self.ms - 1, u64::MAX));
        }
        Some(StreamId::new(self.ms, self.seq - 1))
    }

    /// `ms-seq`, as replies show it.
    pub fn to_bytes(self) -> Vec<u8> {
        format!("{}-{}", self.ms, self.seq).into_bytes()
    }
}

/// One of Redis's listpack nodes, reduced to what trimming and XINFO need.
#[derive(Debug, Clone)]
struct Node {
    /// The last ID ever inserted in the node (deleted or not: Redis's
    /// MINID trimming looks at the listpack's last entry, deleted or not).
    last: StreamId,
    /// Entries inserted (live and deleted): the node is full at 100.
    total: u64,
    /// Live entries.
    live: u64,
}

/// How to trim: keep at most N entries, or drop entries below an ID.
#[derive(Debug, Clone, Copy)]
pub enum Trim {
    MaxLen(u64),
    MinId(StreamId),
}

/// Entry encoding tags (first byte of an entry's block).
const OWN_FIELDS: u8 = 0;
const MASTER_FIELDS: u8 = 1;

#[derive(Debug, Clone, Default)]
pub struct Stream {
    entries: BTreeMap<StreamId, Box<[u8]>>,
    /// The field names of the first entry added to the stream while it was
    /// empty; entries with the same names store only their values (see the
    /// module comment).
    master: Box<[Bytes]>,
    /// Node metadata keyed by each node's first ID (Redis's rax key).
    nodes: BTreeMap<StreamId, Node>,
    /// The last ID generated or set (XSETID): new IDs must be greater.
    pub last_id: StreamId,
    /// The greatest ID removed by XDEL (not by trimming, as in Redis 7.0).
    pub max_deleted: StreamId,
    /// Entries ever added (XADD), or what XSETID set.
    pub entries_added: u64,
}

fn put_varint(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Reads a varint at `*pos`. The blocks are built by [`Stream::append`]
/// only, so they are well formed; a truncated one reads as 0 rather than
/// panicking.
fn get_varint(b: &[u8], pos: &mut usize) -> usize {
    let mut n = 0usize;
    let mut shift = 0;
    while let Some(&c) = b.get(*pos) {
        *pos += 1;
        n |= ((c & 0x7f) as usize) << shift;
        if c & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    n
}

fn get_str<'a>(b: &'a [u8], pos: &mut usize) -> &'a [u8] {
    let n = get_varint(b, pos);
    let start = (*pos).min(b.len());
    let end = start.saturating_add(n).min(b.len());
    *pos = end;
    &b[start..end]
}

/// An entry's field/value pairs, read from its packed block.
#[derive(Clone)]
pub struct Pairs<'a> {
    block: &'a [u8],
    master: &'a [Bytes],
    pos: usize,
    i: usize,
    n: usize,
}

impl<'a> Pairs<'a> {
    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.n
    }
}

impl<'a> Iterator for Pairs<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.i >= self.n {
            return None;
        }
        let field: &'a [u8] = if self.block.first() == Some(&MASTER_FIELDS) {
            self.master.get(self.i).map_or(&[], |f| f.as_ref())
        } else {
            get_str(self.block, &mut self.pos)
        };
        let value = get_str(self.block, &mut self.pos);
        self.i += 1;
        Some((field, value))
    }
}

impl Stream {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The first live entry's ID (Redis's recorded first entry ID), 0-0 if
    /// the stream is empty.
    pub fn first_id(&self) -> StreamId {
        self.entries.keys().next().copied().unwrap_or_default()
    }

    /// The last live entry's ID (streamLastValidID), 0-0 if empty.
    pub fn last_valid_id(&self) -> StreamId {
        self.entries.keys().next_back().copied().unwrap_or_default()
    }

    /// Listpack nodes Redis would have (XINFO's radix-tree-keys).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    fn pairs<'a>(&'a self, block: &'a [u8]) -> Pairs<'a> {
        let mut pos = 1;
        let n = get_varint(block, &mut pos);
        Pairs {
            block,
            master: &self.master,
            pos,
            i: 0,
            n,
        }
    }

    /// Appends an entry with an ID the caller checked is greater than
    /// `last_id`. `fv` is field, value, field, value...
    pub fn append(&mut self, id: StreamId, fv: &[&[u8]]) {
        // No entry refers to the master names while the stream is empty:
        // take this entry's (so a stream whose schema changed can start
        // sharing again once emptied).
        if self.entries.is_empty() {
            self.master = fv
                .iter()
                .step_by(2)
                .map(|f| Bytes::copy_from_slice(f))
                .collect();
        }
        let same = fv.len() / 2 == self.master.len()
            && fv
                .iter()
                .step_by(2)
                .zip(self.master.iter())
                .all(|(a, b)| *a == b.as_ref());
        let size: usize = fv.iter().map(|s| s.len() + 2).sum::<usize>() + 4;
        let mut block = Vec::with_capacity(size);
        block.push(if same { MASTER_FIELDS } else { OWN_FIELDS });
        put_varint(&mut block, fv.len() / 2);
        for (i, s) in fv.iter().enumerate() {
            if same && i % 2 == 0 {
                continue;
            }
            put_varint(&mut block, s.len());
            block.extend_from_slice(s);
        }
        self.entries.insert(id, block.into_boxed_slice());
        // An empty stream whose top ID XSETID lowered can get an ID below
        // its leftover node (a trimmed node stays, entries gone): that node
        // cannot hold it (a node spans start..=last), so the empty nodes go
        // and the stream starts afresh.
        if self.entries.len() == 1 && self.nodes.keys().next_back().is_some_and(|&k| id < k) {
            self.nodes.clear();
        }
        match self.nodes.iter_mut().next_back() {
            Some((_, n)) if n.total < NODE_MAX_ENTRIES => {
                n.total += 1;
                n.live += 1;
                n.last = id;
            }
            _ => {
                self.nodes.insert(
                    id,
                    Node {
                        last: id,
                        total: 1,
                        live: 1,
                    },
                );
            }
        }
        self.last_id = id;
        self.entries_added += 1;
    }

    /// Deletes one entry (XDEL); true if it was there. A node whose last
    /// live entry goes is removed, as Redis does.
    pub fn delete(&mut self, id: StreamId) -> bool {
        if self.entries.remove(&id).is_none() {
            return false;
        }
        if let Some((&start, n)) = self.nodes.range_mut(..=id).next_back() {
            n.live = n.live.saturating_sub(1);
            if n.live == 0 {
                self.nodes.remove(&start);
            }
        }
        true
    }

    /// Redis's streamTrim: whole nodes from the front while they can go;
    /// then, unless `approx`, single entries of the next node. `limit` (0:
    /// none) caps the entries removed, checked per node against a full
    /// node's size as Redis does. Returns how many entries were removed.
    pub fn trim(&mut self, how: Trim, approx: bool, limit: u64) -> u64 {
        if let Trim::MaxLen(max) = how {
            if self.len() as u64 <= max {
                return 0;
            }
        }
        let mut deleted = 0u64;
        while let Some((&start, node)) = self.nodes.iter().next() {
            // Redis counts the node's live entries against LIMIT.
            if limit != 0 && deleted + node.live > limit {
                break;
            }
            let len = self.len() as u64;
            let whole = match how {
                Trim::MaxLen(max) => len - node.live.min(len) >= max,
                Trim::MinId(min) => node.last < min,
            };
            if whole {
                let last = node.last.max(start);
                let ids: Vec<StreamId> =
                    self.entries.range(start..=last).map(|(k, _)| *k).collect();
                for id in &ids {
                    self.entries.remove(id);
                }
                deleted += ids.len() as u64;
                self.nodes.remove(&start);
                continue;
            }
            if approx {
                break;
            }
            let last = node.last.max(start);
            let mut gone = 0u64;
            while let Some((&id, _)) = self.entries.range(start..=last).next() {
                let stop = match how {
                    Trim::MaxLen(max) => self.len() as u64 <= max,
                    Trim::MinId(min) => id >= min,
                };
                if stop {
                    break;
                }
                self.entries.remove(&id);
                gone += 1;
            }
            if let Some(n) = self.nodes.get_mut(&start) {
                // A partly trimmed node stays even with no live entry left,
                // as Redis's listpack does.
                n.live = n.live.saturating_sub(gone);
            }
            deleted += gone;
            break;
        }
        deleted
    }

    /// Entries with `start <= id <= end`, in order (or reversed), at most
    /// `count` (0: all).
    pub fn range(
        &self,
        start: StreamId,
        end: StreamId,
        rev: bool,
        count: usize,
    ) -> Vec<(StreamId, Pairs<'_>)> {
        if start > end {
            return Vec::new();
        }
        let limit = if count == 0 { usize::MAX } else { count };
        let r = self
            .entries
            .range((Bound::Included(start), Bound::Included(end)));
        if rev {
            r.rev()
                .take(limit)
                .map(|(id, b)| (*id, self.pairs(b)))
                .collect()
        } else {
            r.take(limit).map(|(id, b)| (*id, self.pairs(b))).collect()
        }
    }

    /// The first or last live entry.
    pub fn edge(&self, last: bool) -> Option<(StreamId, Pairs<'_>)> {
        let e = if last {
            self.entries.iter().next_back()
        } else {
            self.entries.iter().next()
        };
        e.map(|(id, b)| (*id, self.pairs(b)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(s: &Stream) -> Vec<u64> {
        s.range(StreamId::MIN, StreamId::MAX, false, 0)
            .iter()
            .map(|(id, _)| id.ms)
            .collect()
    }

    fn fill(n: u64) -> Stream {
        let mut s = Stream::default();
        for i in 1..=n {
            s.append(StreamId::new(i, 0), &[b"f", b"v"]);
        }
        s
    }

    #[test]
    fn pairs_round_trip_shared_and_own_fields() {
        let mut s = Stream::default();
        s.append(StreamId::new(1, 0), &[b"a", b"1", b"b", b""]);
        s.append(StreamId::new(2, 0), &[b"a", b"x", b"b", b"y"]);
        s.append(StreamId::new(3, 0), &[b"b", b"x", b"a", &[0u8; 300]]);
        s.append(StreamId::new(4, 0), &[b"a", b"1"]);
        let all = s.range(StreamId::MIN, StreamId::MAX, false, 0);
        let got: Vec<Vec<(Vec<u8>, Vec<u8>)>> = all
            .into_iter()
            .map(|(_, p)| p.map(|(f, v)| (f.to_vec(), v.to_vec())).collect())
            .collect();
        let p = |f: &str, v: &[u8]| (f.as_bytes().to_vec(), v.to_vec());
        assert_eq!(got[0], vec![p("a", b"1"), p("b", b"")]);
        assert_eq!(got[1], vec![p("a", b"x"), p("b", b"y")]);
        assert_eq!(got[2], vec![p("b", b"x"), p("a", &[0u8; 300])]);
        assert_eq!(got[3], vec![p("a", b"1")]);
        // Shared names: the block holds only the values.
        assert_eq!(s.entries[&StreamId::new(2, 0)].len(), 1 + 1 + 2 + 2);
    }

    #[test]
    fn ids_step_and_stop_at_the_ends() {
        assert_eq!(StreamId::new(1, u64::MAX).incr(), Some(StreamId::new(2, 0)));
        assert_eq!(StreamId::MAX.incr(), None);
        assert_eq!(StreamId::new(2, 0).decr(), Some(StreamId::new(1, u64::MAX)));
        assert_eq!(StreamId::MIN.decr(), None);
    }

    #[test]
    fn approximate_trimming_removes_whole_nodes_as_redis() {
        // Recorded from redis-server 7.0: 1000 entries, MAXLEN ~ 850 -> 100;
        // then MAXLEN ~ 10 LIMIT 250 -> 200; LIMIT 99 -> 0.
        let mut s = fill(1000);
        assert_eq!(s.node_count(), 10);
        assert_eq!(s.trim(Trim::MaxLen(850), true, 10_000), 100);
        assert_eq!(s.trim(Trim::MaxLen(10), true, 250), 200);
        assert_eq!(s.trim(Trim::MaxLen(10), true, 99), 0);
        assert_eq!(s.len(), 700);
        assert_eq!(s.trim(Trim::MaxLen(10), false, 0), 690);
        assert_eq!(ids(&s), (991..=1000).collect::<Vec<_>>());
        assert_eq!(s.trim(Trim::MinId(StreamId::new(995, 1)), false, 0), 5);
        assert_eq!(ids(&s), (996..=1000).collect::<Vec<_>>());
        assert_eq!(s.trim(Trim::MinId(StreamId::new(2000, 0)), true, 0), 5);
        assert!(s.is_empty());
        assert_eq!(s.node_count(), 0);
    }

    #[test]
    fn deleting_a_nodes_last_entry_drops_the_node() {
        let mut s = fill(150);
        assert_eq!(s.node_count(), 2);
        for i in 101..=150 {
            assert!(s.delete(StreamId::new(i, 0)));
        }
        assert!(!s.delete(StreamId::new(150, 0)));
        assert_eq!(s.node_count(), 1);
        // The first node is full (deleted entries count): a new one starts.
        s.append(StreamId::new(151, 0), &[b"f", b"v"]);
        assert_eq!(s.node_count(), 2);
        assert_eq!(s.last_valid_id(), StreamId::new(151, 0));
        assert_eq!(s.first_id(), StreamId::new(1, 0));
    }
}
