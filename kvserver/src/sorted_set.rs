//! The sorted-set value: a member → score map plus an order-statistic tree
//! keyed by (score, member), so rank, "rank of a bound", "element at rank"
//! and range extraction are O(log n) (+ the size of the range).
//!
//! The tree is a treap (a binary search tree whose nodes also carry random
//! priorities kept in heap order, so its expected depth is O(log n) whatever
//! the insertion order), stored in an arena (`Vec` of nodes, `u32` links, a
//! free list) with subtree sizes in every node. Everything is built from
//! two primitives: `split` (by a monotone predicate or by a count) and
//! `merge`. Redis uses a skiplist with spans for the same job; a treap gives
//! the same bounds with less code and no per-level pointer arrays.
//!
//! The member map is an insertion-ordered `IndexMap` removing by swap (as
//! hashes and sets do, see `db.rs`): ZRANDMEMBER picks by index in O(1),
//! and ZSCAN walks indices with the same cursor guarantee as HSCAN.
//!
//! Ordering: by score, then by member bytes (memcmp), as Redis. Scores are
//! never NaN (every command rejects a NaN before it gets here); `-0.0` and
//! `0.0` compare equal, as in C.

use crate::db::{Hasher, Str};
use std::cmp::Ordering;

/// Redis 7.0's listpack thresholds for sorted sets (redis.conf defaults):
/// past either one the set is a skiplist, for OBJECT ENCODING.
pub const ZSET_MAX_LISTPACK_ENTRIES: usize = 128;
pub const ZSET_MAX_LISTPACK_VALUE: usize = 64;

const NIL: u32 = u32::MAX;

#[derive(Debug, Clone)]
struct Node {
    score: f64,
    member: Str,
    prio: u32,
    left: u32,
    right: u32,
    size: u32,
}

/// (score, member) order, as Redis's zslInsert compares.
fn cmp(s1: f64, m1: &[u8], s2: f64, m2: &[u8]) -> Ordering {
    s1.partial_cmp(&s2)
        .unwrap_or(Ordering::Equal)
        .then_with(|| m1.cmp(m2))
}

/// The order-statistic treap.
#[derive(Debug, Clone)]
pub struct Tree {
    nodes: Vec<Node>,
    free: Vec<u32>,
    root: u32,
    rng: u64,
}

impl Default for Tree {
    fn default() -> Tree {
        Tree {
            nodes: Vec::new(),
            free: Vec::new(),
            root: NIL,
            rng: 0x9e37_79b9_7f4a_7c15,
        }
    }
}

impl Tree {
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.size(self.root)
    }

    fn size(&self, t: u32) -> usize {
        if t == NIL {
            0
        } else {
            self.nodes[t as usize].size as usize
        }
    }

    fn n(&self, t: u32) -> &Node {
        &self.nodes[t as usize]
    }

    fn fix(&mut self, t: u32) {
        let s = 1 + self.size(self.n(t).left) + self.size(self.n(t).right);
        self.nodes[t as usize].size = s as u32;
    }

    fn prio(&mut self) -> u32 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        (x >> 32) as u32
    }

    fn alloc(&mut self, score: f64, member: Str, prio: u32) -> u32 {
        let node = Node {
            score,
            member,
            prio,
            left: NIL,
            right: NIL,
            size: 1,
        };
        match self.free.pop() {
            Some(i) => {
                self.nodes[i as usize] = node;
                i
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        }
    }

    /// Splits `t` into (nodes where `before` holds, the rest); `before`
    /// must hold for a prefix of the order.
    fn split(&mut self, t: u32, before: &dyn Fn(f64, &[u8]) -> bool) -> (u32, u32) {
        if t == NIL {
            return (NIL, NIL);
        }
        let (s, l, r) = (self.n(t).score, self.n(t).left, self.n(t).right);
        if before(s, &self.n(t).member) {
            let (a, b) = self.split(r, before);
            self.nodes[t as usize].right = a;
            self.fix(t);
            (t, b)
        } else {
            let (a, b) = self.split(l, before);
            self.nodes[t as usize].left = b;
            self.fix(t);
            (a, t)
        }
    }

    /// Splits `t` into its first `k` nodes and the rest.
    fn split_at(&mut self, t: u32, k: usize) -> (u32, u32) {
        if t == NIL {
            return (NIL, NIL);
        }
        let (l, r) = (self.n(t).left, self.n(t).right);
        let ls = self.size(l);
        if k <= ls {
            let (a, b) = self.split_at(l, k);
            self.nodes[t as usize].left = b;
            self.fix(t);
            (a, t)
        } else {
            let (a, b) = self.split_at(r, k - ls - 1);
            self.nodes[t as usize].right = a;
            self.fix(t);
            (t, b)
        }
    }

    fn merge(&mut self, a: u32, b: u32) -> u32 {
        if a == NIL {
            return b;
        }
        if b == NIL {
            return a;
        }
        if self.n(a).prio > self.n(b).prio {
            let r = self.merge(self.n(a).right, b);
            self.nodes[a as usize].right = r;
            self.fix(a);
            a
        } else {
            let l = self.merge(a, self.n(b).left);
            self.nodes[b as usize].left = l;
            self.fix(b);
            b
        }
    }

    /// Inserts (score, member); the pair must not be present.
    ///
    /// One descent rather than split + merge of the whole tree: walk down
    /// while the nodes outrank the new one (counting it into their
    /// subtree sizes), then split only the subtree found there and hang
    /// its halves under the new node. The expected size of that subtree is
    /// O(1), so an insert touches about one root-to-leaf path.
    pub fn insert(&mut self, score: f64, member: Str) {
        let prio = self.prio();
        let (mut parent, mut went_left, mut t) = (NIL, false, self.root);
        while t != NIL && self.n(t).prio > prio {
            let node = &mut self.nodes[t as usize];
            node.size += 1;
            parent = t;
            went_left = cmp(node.score, &node.member, score, &member).is_gt();
            t = if went_left { node.left } else { node.right };
        }
        let (l, r) = self.split(t, &|s, x| cmp(s, x, score, &member).is_lt());
        let n = self.alloc(score, member, prio);
        self.nodes[n as usize].left = l;
        self.nodes[n as usize].right = r;
        self.fix(n);
        self.link(parent, went_left, n);
    }

    /// Makes `child` the left or right child of `parent` (the root if NIL).
    fn link(&mut self, parent: u32, left: bool, child: u32) {
        if parent == NIL {
            self.root = child;
        } else if left {
            self.nodes[parent as usize].left = child;
        } else {
            self.nodes[parent as usize].right = child;
        }
    }

    /// Removes (score, member); true if it was there. Like `insert`, one
    /// descent: find the node (a first walk, so that sizes change only if
    /// it is there), then walk again uncounting it from the sizes on the
    /// way, and replace it by the merge of its two children.
    pub fn remove(&mut self, score: f64, member: &[u8]) -> bool {
        let mut t = self.root;
        while t != NIL {
            let node = self.n(t);
            match cmp(node.score, &node.member, score, member) {
                Ordering::Equal => break,
                Ordering::Less => t = node.right,
                Ordering::Greater => t = node.left,
            }
        }
        if t == NIL {
            return false;
        }
        let (mut parent, mut went_left, mut t) = (NIL, false, self.root);
        loop {
            let node = &mut self.nodes[t as usize];
            let o = cmp(node.score, &node.member, score, member);
            if o == Ordering::Equal {
                break;
            }
            node.size -= 1;
            parent = t;
            went_left = o == Ordering::Greater;
            t = if went_left { node.left } else { node.right };
        }
        let (l, r) = (self.n(t).left, self.n(t).right);
        let m = self.merge(l, r);
        self.link(parent, went_left, m);
        let node = &mut self.nodes[t as usize];
        node.member = Str::default();
        node.left = NIL;
        node.right = NIL;
        self.free.push(t);
        true
    }

    /// Frees a detached subtree, returning its elements in order.
    fn release(&mut self, t: u32) -> Vec<(f64, Str)> {
        let mut out = Vec::with_capacity(self.size(t));
        self.walk(t, 0, 0, usize::MAX, &mut |s, m| out.push((s, m.clone())));
        let mut stack = vec![t];
        while let Some(t) = stack.pop() {
            if t == NIL {
                continue;
            }
            let n = &mut self.nodes[t as usize];
            stack.push(n.left);
            stack.push(n.right);
            n.member = Str::default();
            self.free.push(t);
        }
        out
    }

    /// How many elements satisfy `before` (a predicate true on a prefix).
    pub fn count_before(&self, before: impl Fn(f64, &[u8]) -> bool) -> usize {
        let (mut t, mut c) = (self.root, 0);
        while t != NIL {
            let n = self.n(t);
            if before(n.score, &n.member) {
                c += self.size(n.left) + 1;
                t = n.right;
            } else {
                t = n.left;
            }
        }
        c
    }

    /// The 0-based rank of (score, member), which must be present.
    pub fn rank(&self, score: f64, member: &[u8]) -> usize {
        self.count_before(|s, m| cmp(s, m, score, member).is_lt())
    }

    /// The element at rank `k` (< len).
    #[cfg(test)]
    pub fn get(&self, mut k: usize) -> (f64, &Str) {
        let mut t = self.root;
        loop {
            let n = self.n(t);
            let ls = self.size(n.left);
            match k.cmp(&ls) {
                Ordering::Less => t = n.left,
                Ordering::Equal => return (n.score, &n.member),
                Ordering::Greater => {
                    k -= ls + 1;
                    t = n.right;
                }
            }
        }
    }

    /// In-order walk of ranks [lo, hi) of subtree `t` whose first rank is
    /// `off`; visits only subtrees that overlap: O(log n + hi - lo).
    fn walk(&self, t: u32, off: usize, lo: usize, hi: usize, f: &mut dyn FnMut(f64, &Str)) {
        if t == NIL || off >= hi || off + self.size(t) <= lo {
            return;
        }
        let n = self.n(t);
        let ls = self.size(n.left);
        self.walk(n.left, off, lo, hi, f);
        let r = off + ls;
        if lo <= r && r < hi {
            f(n.score, &n.member);
        }
        self.walk(n.right, r + 1, lo, hi, f);
    }

    /// Visits ranks [lo, hi) in ascending order.
    pub fn for_range(&self, lo: usize, hi: usize, mut f: impl FnMut(f64, &Str)) {
        self.walk(self.root, 0, lo, hi, &mut f);
    }

    /// Removes ranks [lo, hi) and returns them in order: O(log n + m).
    pub fn remove_range(&mut self, lo: usize, hi: usize) -> Vec<(f64, Str)> {
        if lo >= hi {
            return Vec::new();
        }
        let (l, r) = self.split_at(self.root, lo);
        let (m, r) = self.split_at(r, hi - lo);
        let out = self.release(m);
        self.root = self.merge(l, r);
        out
    }
}

/// A score range (ZRANGEBYSCORE's `min max`, `(` for exclusive).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreRange {
    pub min: f64,
    pub minex: bool,
    pub max: f64,
    pub maxex: bool,
}

/// One end of a lex range: `-`, `+`, `[x` or `(x`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexBound {
    NegInf,
    PosInf,
    Incl(Vec<u8>),
    Excl(Vec<u8>),
}

/// A sorted set: the member → score map and the (score, member) tree.
#[derive(Debug, Clone, Default)]
pub struct ZSetObj {
    pub dict: indexmap::IndexMap<Str, f64, Hasher>,
    tree: Tree,
    /// Redis would hold it as a skiplist (past 128 entries or a 64-byte
    /// member). Sticky, as in Redis, except that STORE results start over.
    pub big: bool,
}

impl ZSetObj {
    pub fn len(&self) -> usize {
        self.dict.len()
    }

    pub fn is_empty(&self) -> bool {
        self.dict.is_empty()
    }

    pub fn score(&self, m: &[u8]) -> Option<f64> {
        self.dict.get(m).copied()
    }

    /// Sets `m`'s score (adding it if new); true if it was new.
    pub fn insert(&mut self, m: &[u8], raw: f64) -> bool {
        // An update leaves the encoding as it is, so `stored` may look first.
        let score = self.stored(raw);
        if let Some((_, member, old)) = self.dict.get_full_mut(m) {
            if *old != score || old.is_sign_negative() != score.is_sign_negative() {
                let o = *old;
                *old = score;
                let member = member.clone();
                self.tree.remove(o, m);
                self.tree.insert(score, member);
            }
            return false;
        }
        if m.len() > ZSET_MAX_LISTPACK_VALUE || self.dict.len() >= ZSET_MAX_LISTPACK_ENTRIES {
            self.big = true;
        }
        let score = self.stored(raw);
        // A member of up to `Str::INLINE` bytes is copied, not allocated.
        let member = Str::new(m);
        self.dict.insert(member.clone(), score);
        self.tree.insert(score, member);
        true
    }

    /// The score as stored: a listpack keeps integral scores within
    /// ±2^62 as integers, so `-0` comes back as `0` (a skiplist keeps the
    /// double as it is).
    fn stored(&self, score: f64) -> f64 {
        if !self.big && score == 0.0 {
            0.0
        } else {
            score
        }
    }

    /// A score's text in ZSCAN: the listpack's integer form for integral
    /// scores within ±2^62 (`123456789012345680`), else `%.17g`.
    pub fn scan_text(&self, score: f64) -> String {
        const LIM: f64 = (i64::MAX / 2) as f64;
        if !self.big && (-LIM..=LIM).contains(&score) && score == (score as i64) as f64 {
            (score as i64).to_string()
        } else {
            crate::util::fmt_double(score)
        }
    }

    /// Removes `m`; true if it was there.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match self.dict.swap_remove(m) {
            Some(s) => {
                self.tree.remove(s, m);
                true
            }
            None => false,
        }
    }

    /// The 0-based rank of `m` in ascending order.
    pub fn rank(&self, m: &[u8]) -> Option<usize> {
        let s = self.score(m)?;
        Some(self.tree.rank(s, m))
    }

    /// The element at rank `k` (< len).
    #[cfg(test)]
    pub fn at(&self, k: usize) -> (f64, &Str) {
        self.tree.get(k)
    }

    /// Ranks [lo, hi) in ascending order.
    pub fn range(&self, lo: usize, hi: usize) -> Vec<(f64, Str)> {
        let mut v = Vec::with_capacity(hi.saturating_sub(lo));
        self.tree.for_range(lo, hi, |s, m| v.push((s, m.clone())));
        v
    }

    /// Removes ranks [lo, hi) and returns them in ascending order.
    pub fn remove_range(&mut self, lo: usize, hi: usize) -> Vec<(f64, Str)> {
        let out = self.tree.remove_range(lo, hi);
        for (_, m) in &out {
            self.dict.swap_remove(m);
        }
        out
    }

    /// The ranks [lo, hi) of the elements within `r` (lo >= hi: none).
    pub fn score_ranks(&self, r: &ScoreRange) -> (usize, usize) {
        let lo = self
            .tree
            .count_before(|s, _| if r.minex { s <= r.min } else { s < r.min });
        let hi = self
            .tree
            .count_before(|s, _| if r.maxex { s < r.max } else { s <= r.max });
        (lo, hi.max(lo))
    }

    /// The ranks [lo, hi) of the members within `[min, max]` (lex order;
    /// meaningful when all scores are equal, as in Redis).
    pub fn lex_ranks(&self, min: &LexBound, max: &LexBound) -> (usize, usize) {
        let lo = match min {
            LexBound::NegInf => 0,
            LexBound::PosInf => self.len(),
            LexBound::Incl(b) => self.tree.count_before(|_, m| m < b.as_slice()),
            LexBound::Excl(b) => self.tree.count_before(|_, m| m <= b.as_slice()),
        };
        let hi = match max {
            LexBound::NegInf => 0,
            LexBound::PosInf => self.len(),
            LexBound::Incl(b) => self.tree.count_before(|_, m| m <= b.as_slice()),
            LexBound::Excl(b) => self.tree.count_before(|_, m| m < b.as_slice()),
        };
        (lo, hi.max(lo))
    }

    /// What OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        if self.big {
            "skiplist"
        } else {
            "listpack"
        }
    }

    /// A fresh set from computed (member, score) pairs (STORE results:
    /// the encoding is decided afresh, as Redis converts a result back to
    /// a listpack when it is small).
    pub fn from_pairs(pairs: impl IntoIterator<Item = (Str, f64)>) -> ZSetObj {
        let pairs: Vec<(Str, f64)> = pairs.into_iter().collect();
        let mut z = ZSetObj {
            big: pairs.len() > ZSET_MAX_LISTPACK_ENTRIES
                || pairs.iter().any(|(m, _)| m.len() > ZSET_MAX_LISTPACK_VALUE),
            ..Default::default()
        };
        for (m, s) in pairs {
            let s = z.stored(s);
            if z.dict.insert(m.clone(), s).is_none() {
                z.tree.insert(s, m);
            }
        }
        z
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The model: a Vec of (score, member) kept sorted.
    fn model_sorted(v: &[(f64, Vec<u8>)]) -> Vec<(f64, Vec<u8>)> {
        let mut v = v.to_vec();
        v.sort_by(|a, b| cmp(a.0, &a.1, b.0, &b.1));
        v
    }

    fn contents(z: &ZSetObj) -> Vec<(f64, Vec<u8>)> {
        z.range(0, z.len())
            .into_iter()
            .map(|(s, m)| (s, m.to_vec()))
            .collect()
    }

    #[test]
    fn basic_rank_and_ranges() {
        let mut z = ZSetObj::default();
        for (i, m) in ["e", "d", "c", "b", "a"].iter().enumerate() {
            assert!(z.insert(m.as_bytes(), i as f64));
        }
        assert!(!z.insert(b"a", 0.5), "update, not new");
        // e 0, a 0.5, d 1, c 2, b 3
        assert_eq!(z.rank(b"a"), Some(1));
        assert_eq!(z.rank(b"e"), Some(0));
        assert_eq!(z.at(4).1.as_ref(), b"b");
        let r = ScoreRange {
            min: 1.0,
            minex: true,
            max: 3.0,
            maxex: false,
        };
        assert_eq!(z.score_ranks(&r), (3, 5));
        assert!(z.remove(b"c"));
        assert!(!z.remove(b"c"));
        assert_eq!(z.len(), 4);
        let gone = z.remove_range(1, 3);
        assert_eq!(gone.len(), 2);
        assert_eq!(z.len(), 2);
        assert_eq!(z.dict.len(), 2);
        // Equal scores: lex order.
        let mut l = ZSetObj::default();
        for m in ["b", "a", "d", "c"] {
            l.insert(m.as_bytes(), 0.0);
        }
        assert_eq!(
            l.lex_ranks(
                &LexBound::Excl(b"a".to_vec()),
                &LexBound::Incl(b"c".to_vec())
            ),
            (1, 3)
        );
        assert_eq!(l.lex_ranks(&LexBound::NegInf, &LexBound::PosInf), (0, 4));
        assert_eq!(l.lex_ranks(&LexBound::PosInf, &LexBound::NegInf), (4, 4));
    }

    #[test]
    fn encoding_thresholds() {
        let mut z = ZSetObj::default();
        for i in 0..ZSET_MAX_LISTPACK_ENTRIES {
            z.insert(i.to_string().as_bytes(), 1.0);
        }
        assert_eq!(z.encoding(), "listpack");
        z.insert(b"x", 1.0);
        assert_eq!(z.encoding(), "skiplist");
        z.remove(b"x");
        assert_eq!(z.encoding(), "skiplist", "sticky");
        let mut z = ZSetObj::default();
        z.insert(&[b'm'; 65], 1.0);
        assert_eq!(z.encoding(), "skiplist");
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u8, i8),
        Remove(u8),
        RemoveRange(u8, u8),
        Check(i8, bool, i8, bool),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u8..40, -5i8..5).prop_map(|(m, s)| Op::Insert(m, s)),
            2 => (0u8..40).prop_map(Op::Remove),
            1 => (0u8..50, 0u8..8).prop_map(|(a, b)| Op::RemoveRange(a, b)),
            2 => (-6i8..6, any::<bool>(), -6i8..6, any::<bool>())
                .prop_map(|(a, ax, b, bx)| Op::Check(a, ax, b, bx)),
        ]
    }

    proptest! {
        #[test]
        fn matches_a_sorted_vec_model(ops in proptest::collection::vec(op(), 1..300)) {
            let mut z = ZSetObj::default();
            let mut model: Vec<(f64, Vec<u8>)> = Vec::new();
            for o in ops {
                match o {
                    Op::Insert(m, s) => {
                        let m = format!("m{m}").into_bytes();
                        let s = s as f64 / 2.0;
                        let new = !model.iter().any(|e| e.1 == m);
                        model.retain(|e| e.1 != m);
                        model.push((s, m.clone()));
                        prop_assert_eq!(z.insert(&m, s), new);
                    }
                    Op::Remove(m) => {
                        let m = format!("m{m}").into_bytes();
                        let had = model.iter().any(|e| e.1 == m);
                        model.retain(|e| e.1 != m);
                        prop_assert_eq!(z.remove(&m), had);
                    }
                    Op::RemoveRange(lo, n) => {
                        let sorted = model_sorted(&model);
                        let lo = (lo as usize).min(sorted.len());
                        let hi = (lo + n as usize).min(sorted.len());
                        let gone: Vec<_> = z.remove_range(lo, hi)
                            .into_iter().map(|(s, m)| (s, m.to_vec())).collect();
                        prop_assert_eq!(&gone[..], &sorted[lo..hi]);
                        model = sorted[..lo].iter().chain(&sorted[hi..]).cloned().collect();
                    }
                    Op::Check(a, ax, b, bx) => {
                        let sorted = model_sorted(&model);
                        let r = ScoreRange { min: a as f64 / 2.0, minex: ax, max: b as f64 / 2.0, maxex: bx };
                        let inr = |s: f64| (if ax { s > r.min } else { s >= r.min })
                            && (if bx { s < r.max } else { s <= r.max });
                        let want: Vec<_> = sorted.iter().filter(|e| inr(e.0)).cloned().collect();
                        let (lo, hi) = z.score_ranks(&r);
                        let got: Vec<_> = z.range(lo, hi).into_iter().map(|(s, m)| (s, m.to_vec())).collect();
                        prop_assert_eq!(got, want);
                        for (i, e) in sorted.iter().enumerate() {
                            prop_assert_eq!(z.rank(&e.1), Some(i));
                            let (s, m) = z.at(i);
                            prop_assert_eq!((s, m.to_vec()), e.clone());
                        }
                    }
                }
                prop_assert_eq!(z.len(), model.len());
                prop_assert_eq!(z.tree.len(), model.len());
            }
            prop_assert_eq!(contents(&z), model_sorted(&model));
        }
    }

    #[test]
    fn large_sets_stay_balanced_enough() {
        let mut z = ZSetObj::default();
        for i in 0..100_000u32 {
            z.insert(&i.to_be_bytes(), i as f64);
        }
        assert_eq!(z.rank(&77_777u32.to_be_bytes()), Some(77_777));
        assert_eq!(z.at(5).0, 5.0);
        assert_eq!(z.remove_range(10, 99_990).len(), 99_980);
        assert_eq!(z.len(), 20);
        assert_eq!(z.at(10).0, 99_990.0);
    }
}
