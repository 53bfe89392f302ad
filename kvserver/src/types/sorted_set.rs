//! The sorted-set value: a member → score map plus an order-statistic tree
//! keyed by (score, member), so rank, "rank of a bound", "element at rank"
//! and range extraction are O(log n) (+ the size of the range).
//!
//! The tree is a B+tree whose inner nodes also count the elements under
//! each child. Why not a binary tree (it was a treap): a balanced binary
//! tree of 100k elements is ~25 levels deep and every level is a cache
//! miss, and a score update (ZADD's common case) walks such a path more
//! than once; on `redis-benchmark -t zadd -r 100000` that was over half of
//! the server's CPU. Here a leaf holds up to 64 elements and an inner node
//! up to 31 children, so 100k elements are 3 or 4 levels, and the search
//! within a node reads a few adjacent cache lines at once (see
//! `position`). Redis uses a skiplist with spans for the same job: as deep
//! as a binary tree.
//!
//! Layout (all in arenas, `Vec`s indexed by `u32`, with free lists, so the
//! tree is a few allocations rather than one or more per element):
//! - a leaf is its elements in order, as a `Vec` of scores and a `Vec` of
//!   members: a search scans the scores (8 bytes each) and reads a member
//!   only on a tie. A small set is one leaf grown as needed, so it costs
//!   what two plain `Vec`s would;
//! - an inner node has fixed arrays: its children (indices into the leaf
//!   arena for the inner nodes just above the leaves, else into the inner
//!   arena: the tree knows its height), the number of elements under each
//!   child, and the separators, scores and members apart as in a leaf.
//!   Separator `i` is a bound between children `i` and `i + 1`: everything
//!   under child `i` is below it, everything under child `i + 1` at or
//!   above it. The rank of an element is the sum of the counts of the
//!   children passed on the way down.
//!
//! A separator is a copy of the first element of a leaf, taken when a leaf
//! splits or evens out with a sibling (rare: the only time a long member
//! is cloned); removing elements leaves separators alone, so one may name
//! an element no longer in the set, which is still a correct bound. Nodes
//! other than the root stay at least a quarter full: one that drops below
//! evens out with a sibling or merges into it, and a root left with a
//! single child gives way to it. A range removal detaches the subtrees
//! inside the range whole, descends only into the (at most two) children
//! straddling an end on each level, and then repairs underfull nodes
//! along those two paths: O(log n + the size of the range).
//!
//! The member map is an insertion-ordered `IndexMap` removing by swap (as
//! hashes and sets do, see `hash.rs` and `member_set.rs`): ZRANDMEMBER
//! picks by index in O(1), and ZSCAN walks indices with the same cursor
//! guarantee as HSCAN.
//!
//! Ordering: by score, then by member bytes (memcmp), as Redis. Scores are
//! never NaN (every command rejects a NaN before it gets here); `-0.0` and
//! `0.0` compare equal, as in C.

use crate::types::encoding::{zset_max_entries, zset_max_value};
use crate::types::{Hasher, Str};

const NIL: u32 = u32::MAX;

/// (score, member) order, as Redis's zslInsert compares. The tree itself
/// searches with `position`, which is this order over a node's arrays.
#[cfg(test)]
fn cmp(s1: f64, m1: &[u8], s2: f64, m2: &[u8]) -> std::cmp::Ordering {
    s1.partial_cmp(&s2)
        .unwrap_or(std::cmp::Ordering::Equal)
        .then_with(|| m1.cmp(m2))
}

/// Where (s, m) falls among the pairs `(scores[i], members[i])`, in order:
/// the number of pairs below it (`Err`, or `Ok` if one equals it), or with
/// `le` at or below it (always `Err`).
///
/// It counts the smaller scores rather than binary-searching: the loads do
/// not depend on one another, so the few cache lines of a node's scores
/// are fetched at once (a binary search waits for each in turn), and the
/// loop has no branch to mispredict. Members are compared only among equal
/// scores: one or none with real scores, all of them in a lex set.
fn position(scores: &[f64], members: &[Str], s: f64, m: &[u8], le: bool) -> Result<usize, usize> {
    let (mut lt, mut eq) = (0, 0);
    for &x in scores {
        lt += (x < s) as usize;
        eq += (x == s) as usize;
    }
    let ties = &members[lt..lt + eq];
    if le {
        Err(lt + ties.partition_point(|x| **x <= *m))
    } else {
        match ties.binary_search_by(|x| (**x).cmp(m)) {
            Ok(i) => Ok(lt + i),
            Err(i) => Err(lt + i),
        }
    }
}

/// The first `i < n` for which `pred(i)` is false, `pred` being true on a
/// prefix.
fn partition(n: usize, pred: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if pred(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// A leaf: its elements in order, the scores apart from the members so
/// that a search scans the scores alone.
#[derive(Debug, Clone, Default)]
struct Leaf {
    scores: Vec<f64>,
    members: Vec<Str>,
}

impl Leaf {
    fn len(&self) -> usize {
        self.scores.len()
    }

    /// An empty leaf with room for `n` elements.
    fn with_capacity(n: usize) -> Leaf {
        Leaf {
            scores: Vec::with_capacity(n),
            members: Vec::with_capacity(n),
        }
    }

    /// Moves elements `range` to the end of `to`.
    fn drain_to(&mut self, range: std::ops::Range<usize>, to: &mut Leaf) {
        to.scores.extend(self.scores.drain(range.clone()));
        to.members.extend(self.members.drain(range));
    }

    /// Moves elements `range` to the end of `out`.
    fn drain_out(&mut self, range: std::ops::Range<usize>, out: &mut Vec<(f64, Str)>) {
        out.extend(
            self.scores
                .drain(range.clone())
                .zip(self.members.drain(range)),
        );
    }
}

/// An inner node of a tree whose nodes have up to `B - 1` children (`B`
/// for a moment, before a split). Separator `i` is
/// (`scores[i]`, `members[i]`), for `i < len - 1`; the other members are
/// empty.
#[derive(Debug, Clone)]
struct Inner<const B: usize> {
    /// How many children.
    len: usize,
    scores: [f64; B],
    members: [Str; B],
    child: [u32; B],
    /// The number of elements under each child.
    count: [u32; B],
}

impl<const B: usize> Inner<B> {
    fn new() -> Inner<B> {
        Inner {
            len: 0,
            scores: [0.0; B],
            members: std::array::from_fn(|_| Str::default()),
            child: [NIL; B],
            count: [0; B],
        }
    }

    /// The child to descend into for (score, member): the first one whose
    /// right separator is above it.
    fn find(&self, score: f64, member: &[u8]) -> usize {
        let n = self.len - 1;
        position(&self.scores[..n], &self.members[..n], score, member, true).unwrap_or_else(|i| i)
    }

    /// Takes separator `i` out, leaving an empty member in its place.
    fn take_key(&mut self, i: usize) -> (f64, Str) {
        (self.scores[i], std::mem::take(&mut self.members[i]))
    }

    fn set_key(&mut self, i: usize, (s, m): (f64, Str)) {
        self.scores[i] = s;
        self.members[i] = m;
    }

    /// Drops separators `range` and moves the ones after it down.
    fn remove_keys(&mut self, range: std::ops::Range<usize>) {
        let n = self.len - 1;
        for m in &mut self.members[range.clone()] {
            *m = Str::default();
        }
        self.members[range.start..n].rotate_left(range.len());
        self.scores.copy_within(range.end..n, range.start);
    }

    /// Removes child `j` (and the separator on its left), its elements
    /// counted into child `j - 1`: `j` was merged into `j - 1`.
    fn remove_child(&mut self, j: usize) {
        let n = self.len;
        self.count[j - 1] += self.count[j];
        self.remove_keys(j - 1..j);
        self.child.copy_within(j + 1..n, j);
        self.count.copy_within(j + 1..n, j);
        self.len -= 1;
    }
}

/// Inserts `v` at `i` into the first `len` slots of `a` (`a[len]` is a
/// spare, dropped).
fn insert_at<T>(a: &mut [T], len: usize, i: usize, v: T) {
    a[i..=len].rotate_right(1);
    a[i] = v;
}

/// Mutable references to two distinct elements of a slice.
fn two_mut<T>(v: &mut [T], a: u32, b: u32) -> (&mut T, &mut T) {
    let (a, b) = (a as usize, b as usize);
    if a < b {
        let (x, y) = v.split_at_mut(b);
        (&mut x[a], &mut y[0])
    } else {
        let (x, y) = v.split_at_mut(a);
        (&mut y[0], &mut x[b])
    }
}

/// The order-statistic B+tree (see the module doc). `L` is the most
/// elements in a leaf, `B - 1` the most children of an inner node; the
/// tests also run it with tiny nodes, to make deep trees from few elements.
#[derive(Clone)]
pub struct Tree<const L: usize = 64, const B: usize = 32> {
    leaves: Vec<Leaf>,
    inners: Vec<Inner<B>>,
    free_leaves: Vec<u32>,
    free_inners: Vec<u32>,
    /// A leaf if `height` is 0, else an inner node; NIL when there is no
    /// node (new, or emptied by `remove_range`).
    root: u32,
    /// Inner levels above the leaves.
    height: usize,
    len: usize,
}

impl<const L: usize, const B: usize> Default for Tree<L, B> {
    fn default() -> Self {
        Tree {
            leaves: Vec::new(),
            inners: Vec::new(),
            free_leaves: Vec::new(),
            free_inners: Vec::new(),
            root: NIL,
            height: 0,
            len: 0,
        }
    }
}

impl<const L: usize, const B: usize> std::fmt::Debug for Tree<L, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut v = Vec::with_capacity(self.len);
        self.for_range(0, self.len, |s, m| v.push((s, m.clone())));
        f.debug_struct("Tree")
            .field("height", &self.height)
            .field("elements", &v)
            .finish()
    }
}

/// The fill bounds fit together: a split leaves two halves of at least
/// half the maximum; two siblings are merged only if the result fits
/// (`*_MERGE` is below the maximum), else evened out, each then getting
/// more than `*_MERGE / 2`, which is at least the minimum; and two
/// underfull siblings always fit in one. (For the sizes used; `check`
/// asserts the bounds in the tests.)
impl<const L: usize, const B: usize> Tree<L, B> {
    /// Fewest elements in a leaf other than the root.
    const LEAF_MIN: usize = L / 4;
    /// Two leaves are merged (rather than evened out) if the result has at
    /// most this many: room is left so that a few inserts into the merged
    /// leaf do not split it again at once.
    const LEAF_MERGE: usize = L - L / 4;
    const INNER_MAX: usize = B - 1;
    /// At least 2, so that removing elements one by one never leaves a
    /// non-root inner node with a single child.
    const INNER_MIN: usize = if B / 4 > 2 { B / 4 } else { 2 };
    const INNER_MERGE: usize = B - 1 - (B - 1) / 4;

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.len
    }

    fn alloc_leaf(&mut self, v: Leaf) -> u32 {
        match self.free_leaves.pop() {
            Some(i) => {
                self.leaves[i as usize] = v;
                i
            }
            None => {
                self.leaves.push(v);
                (self.leaves.len() - 1) as u32
            }
        }
    }

    /// Frees a leaf, returning its elements.
    fn free_leaf(&mut self, t: u32) -> Leaf {
        self.free_leaves.push(t);
        std::mem::take(&mut self.leaves[t as usize])
    }

    fn alloc_inner(&mut self, n: Inner<B>) -> u32 {
        match self.free_inners.pop() {
            Some(i) => {
                self.inners[i as usize] = n;
                i
            }
            None => {
                self.inners.push(n);
                (self.inners.len() - 1) as u32
            }
        }
    }

    /// Frees an inner node (dropping its separators), returning its
    /// children.
    fn free_inner(&mut self, t: u32) -> ([u32; B], usize) {
        self.free_inners.push(t);
        let n = &mut self.inners[t as usize];
        let len = std::mem::take(&mut n.len);
        for m in &mut n.members[..len.saturating_sub(1)] {
            *m = Str::default();
        }
        (n.child, len)
    }

    /// How full node `t` on `level` (0: leaves) is, and the least it may be.
    fn fill(&self, level: usize, t: u32) -> (usize, usize) {
        if level == 0 {
            (self.leaves[t as usize].len(), Self::LEAF_MIN)
        } else {
            (self.inners[t as usize].len, Self::INNER_MIN)
        }
    }

    /// Inserts (score, member); the pair must not be present.
    pub fn insert(&mut self, score: f64, member: Str) {
        if self.root == NIL {
            // Most sets never have a second leaf (a first push would make
            // room for four).
            self.leaves.reserve_exact(1);
            self.root = self.alloc_leaf(Leaf::default());
        }
        self.len += 1;
        if let Some((sep, right, n)) = self.insert_in(self.height, self.root, score, member) {
            // The root split: a new root above the two halves.
            let mut r = Inner::new();
            r.len = 2;
            r.set_key(0, sep);
            r.child[0] = self.root;
            r.child[1] = right;
            r.count[0] = (self.len - n as usize) as u32;
            r.count[1] = n;
            self.root = self.alloc_inner(r);
            self.height += 1;
        }
    }

    /// Inserts into subtree `t` on `level`; if `t` split, returns the
    /// separator, the new right sibling and its element count.
    fn insert_in(
        &mut self,
        level: usize,
        t: u32,
        score: f64,
        member: Str,
    ) -> Option<((f64, Str), u32, u32)> {
        if level == 0 {
            let leaf = &mut self.leaves[t as usize];
            let i =
                position(&leaf.scores, &leaf.members, score, &member, false).unwrap_or_else(|i| i);
            leaf.scores.insert(i, score);
            leaf.members.insert(i, member);
            if leaf.len() <= L {
                return None;
            }
            // Full: the upper half goes to a new leaf, with room for the
            // elements it will get (a root leaf grew from empty instead).
            let mut right = Leaf::with_capacity(L + 1);
            leaf.drain_to(leaf.len() / 2..leaf.len(), &mut right);
            let sep = (right.scores[0], right.members[0].clone());
            let n = right.len() as u32;
            return Some((sep, self.alloc_leaf(right), n));
        }
        let node = &mut self.inners[t as usize];
        let j = node.find(score, &member);
        node.count[j] += 1;
        let c = node.child[j];
        let ((s, m), right, n) = self.insert_in(level - 1, c, score, member)?;
        let node = &mut self.inners[t as usize];
        insert_at(&mut node.scores, node.len - 1, j, s);
        insert_at(&mut node.members, node.len - 1, j, m);
        insert_at(&mut node.child, node.len, j + 1, right);
        insert_at(&mut node.count, node.len, j + 1, n);
        node.count[j] -= n;
        node.len += 1;
        if node.len <= Self::INNER_MAX {
            return None;
        }
        // Full: the upper half of the children go to a new node, and the
        // separator between the halves goes up.
        let mut r = Inner::new();
        let (len, h) = (node.len, node.len / 2);
        r.len = len - h;
        r.child[..r.len].copy_from_slice(&node.child[h..len]);
        r.count[..r.len].copy_from_slice(&node.count[h..len]);
        r.scores[..r.len - 1].copy_from_slice(&node.scores[h..len - 1]);
        r.members[..r.len - 1].swap_with_slice(&mut node.members[h..len - 1]);
        let sep = node.take_key(h - 1);
        node.len = h;
        let n = r.count[..r.len].iter().sum();
        Some((sep, self.alloc_inner(r), n))
    }

    /// Removes (score, member); true if it was there.
    pub fn remove(&mut self, score: f64, member: &[u8]) -> bool {
        if self.root == NIL || !self.remove_in(self.height, self.root, score, member) {
            return false;
        }
        self.len -= 1;
        self.shrink_root();
        true
    }

    /// Removes from subtree `t` on `level`, which may be left underfull
    /// (its parent repairs it); counts change only if the pair is found.
    fn remove_in(&mut self, level: usize, t: u32, score: f64, member: &[u8]) -> bool {
        if level == 0 {
            let leaf = &mut self.leaves[t as usize];
            let Ok(i) = position(&leaf.scores, &leaf.members, score, member, false) else {
                return false;
            };
            leaf.scores.remove(i);
            leaf.members.remove(i);
            return true;
        }
        let node = &self.inners[t as usize];
        let j = node.find(score, member);
        let c = node.child[j];
        if !self.remove_in(level - 1, c, score, member) {
            return false;
        }
        self.inners[t as usize].count[j] -= 1;
        self.repair(level, t, j, j);
        true
    }

    /// While the root is an inner node with one child, that child becomes
    /// the root.
    fn shrink_root(&mut self) {
        while self.height > 0 && self.inners[self.root as usize].len == 1 {
            let (child, _) = self.free_inner(self.root);
            self.root = child[0];
            self.height -= 1;
        }
    }

    /// Makes children `from..=to` of inner node `p` (on `level`) at least
    /// minimally full, by evening them out with or merging them into a
    /// sibling, as long as `p` has two children or more.
    fn repair(&mut self, level: usize, p: u32, from: usize, mut to: usize) {
        let mut k = from;
        loop {
            let n = self.inners[p as usize].len;
            if n < 2 || k > to || k >= n {
                return;
            }
            let (fill, min) = self.fill(level - 1, self.inners[p as usize].child[k]);
            if fill >= min {
                k += 1;
                continue;
            }
            let left = if k + 1 < n { k } else { k - 1 };
            if self.rebalance(level, p, left) && left < to {
                to -= 1;
            }
            // Look again at the merged node (it may still be underfull),
            // or at the left one of the pair.
            k = left;
        }
    }

    /// Evens out children `i` and `i + 1` of inner node `p` (on `level`),
    /// or merges them into child `i` if the result is small enough (true).
    fn rebalance(&mut self, level: usize, p: u32, i: usize) -> bool {
        let (a, b) = (
            self.inners[p as usize].child[i],
            self.inners[p as usize].child[i + 1],
        );
        if level == 1 {
            let (x, y) = two_mut(&mut self.leaves, a, b);
            let (na, nb) = (x.len(), y.len());
            if na + nb <= Self::LEAF_MERGE {
                y.drain_to(0..nb, x);
                self.free_leaf(b);
                self.inners[p as usize].remove_child(i + 1);
                return true;
            }
            if na < nb {
                y.drain_to(0..(nb - na) / 2, x);
            } else {
                let from = na - (na - nb) / 2;
                y.scores.splice(0..0, x.scores.drain(from..));
                y.members.splice(0..0, x.members.drain(from..));
            }
            let sep = (y.scores[0], y.members[0].clone());
            let (na, nb) = (x.len() as u32, y.len() as u32);
            let node = &mut self.inners[p as usize];
            node.set_key(i, sep);
            node.count[i] = na;
            node.count[i + 1] = nb;
            return false;
        }
        // Inner children: the separator between them comes down, and
        // children move across through the parent's separator.
        let (s, m) = self.inners[p as usize].take_key(i);
        let (x, y) = two_mut(&mut self.inners, a, b);
        let (na, nb) = (x.len, y.len);
        // A child with a single child is what a range removal can leave
        // on its paths; that grandchild may itself be underfull, and is
        // repaired below once it has siblings.
        let deep = na == 1 || nb == 1;
        if na + nb <= Self::INNER_MERGE {
            x.set_key(na - 1, (s, m));
            x.scores[na..na + nb - 1].copy_from_slice(&y.scores[..nb - 1]);
            x.members[na..na + nb - 1].swap_with_slice(&mut y.members[..nb - 1]);
            x.child[na..na + nb].copy_from_slice(&y.child[..nb]);
            x.count[na..na + nb].copy_from_slice(&y.count[..nb]);
            x.len = na + nb;
            self.free_inner(b);
            self.inners[p as usize].remove_child(i + 1);
            if deep {
                self.repair(level - 1, a, 0, usize::MAX);
            }
            return true;
        }
        let (sep, moved) = if na < nb {
            // The first t children of y go to the end of x.
            let t = (nb - na) / 2;
            x.set_key(na - 1, (s, m));
            x.scores[na..na + t - 1].copy_from_slice(&y.scores[..t - 1]);
            x.members[na..na + t - 1].swap_with_slice(&mut y.members[..t - 1]);
            x.child[na..na + t].copy_from_slice(&y.child[..t]);
            x.count[na..na + t].copy_from_slice(&y.count[..t]);
            let up = y.take_key(t - 1);
            y.remove_keys(0..t);
            y.child.copy_within(t..nb, 0);
            y.count.copy_within(t..nb, 0);
            x.len += t;
            y.len -= t;
            (up, x.count[na..na + t].iter().sum::<u32>() as i64)
        } else {
            // The last t children of x go to the front of y.
            let t = (na - nb) / 2;
            y.scores.copy_within(0..nb - 1, t);
            y.members[..nb - 1 + t].rotate_right(t);
            y.set_key(t - 1, (s, m));
            y.scores[..t - 1].copy_from_slice(&x.scores[na - t..na - 1]);
            y.members[..t - 1].swap_with_slice(&mut x.members[na - t..na - 1]);
            let up = x.take_key(na - t - 1);
            y.child.copy_within(0..nb, t);
            y.count.copy_within(0..nb, t);
            y.child[..t].copy_from_slice(&x.child[na - t..na]);
            y.count[..t].copy_from_slice(&x.count[na - t..na]);
            x.len -= t;
            y.len += t;
            (up, -(y.count[..t].iter().sum::<u32>() as i64))
        };
        let node = &mut self.inners[p as usize];
        node.set_key(i, sep);
        node.count[i] = (node.count[i] as i64 + moved) as u32;
        node.count[i + 1] = (node.count[i + 1] as i64 - moved) as u32;
        if deep {
            self.repair(level - 1, a, 0, usize::MAX);
            self.repair(level - 1, b, 0, usize::MAX);
        }
        false
    }

    /// How many elements satisfy `before` (a predicate true on a prefix).
    ///
    /// `before` is applied to separators too, which need not be elements
    /// of the set: it must be monotone over the whole order, not only over
    /// the elements (true of every caller's predicate; a lex bound is
    /// monotone when all scores are equal, and a separator then lies
    /// between two elements, so it has their score).
    pub fn count_before(&self, before: impl Fn(f64, &[u8]) -> bool) -> usize {
        if self.root == NIL {
            return 0;
        }
        let (mut t, mut c) = (self.root, 0);
        for _ in 0..self.height {
            let n = &self.inners[t as usize];
            let j = partition(n.len - 1, |i| before(n.scores[i], &n.members[i]));
            c += n.count[..j].iter().map(|&x| x as usize).sum::<usize>();
            t = n.child[j];
        }
        let leaf = &self.leaves[t as usize];
        c + partition(leaf.len(), |i| before(leaf.scores[i], &leaf.members[i]))
    }

    /// The 0-based rank of (score, member), which must be present.
    pub fn rank(&self, score: f64, member: &[u8]) -> usize {
        // count_before(< (score, member)), with the faster search.
        if self.root == NIL {
            return 0;
        }
        let (mut t, mut c) = (self.root, 0);
        for _ in 0..self.height {
            let n = &self.inners[t as usize];
            let j = n.find(score, member);
            c += n.count[..j].iter().map(|&x| x as usize).sum::<usize>();
            t = n.child[j];
        }
        // The element is there: if no other has its score, its rank is
        // known without reading its member (a cache miss when long).
        let leaf = &self.leaves[t as usize];
        let lt = leaf.scores.iter().filter(|&&x| x < score).count();
        if leaf.scores.get(lt + 1).is_none_or(|&x| x != score) {
            return c + lt;
        }
        c + position(&leaf.scores, &leaf.members, score, member, false).unwrap_or_else(|i| i)
    }

    /// The element at rank `k` (< len).
    #[cfg(test)]
    pub fn get(&self, mut k: usize) -> (f64, &Str) {
        let mut t = self.root;
        for _ in 0..self.height {
            let n = &self.inners[t as usize];
            let mut j = 0;
            while k >= n.count[j] as usize {
                k -= n.count[j] as usize;
                j += 1;
            }
            t = n.child[j];
        }
        let leaf = &self.leaves[t as usize];
        (leaf.scores[k], &leaf.members[k])
    }

    /// Visits ranks [lo, hi) of subtree `t` on `level`, lo < hi <= its
    /// size: O(log n + hi - lo).
    fn walk<F: FnMut(f64, &Str)>(&self, level: usize, t: u32, lo: usize, hi: usize, f: &mut F) {
        if level == 0 {
            let leaf = &self.leaves[t as usize];
            for (&s, m) in leaf.scores[lo..hi].iter().zip(&leaf.members[lo..hi]) {
                f(s, m);
            }
            return;
        }
        let n = &self.inners[t as usize];
        let mut off = 0;
        for j in 0..n.len {
            let c = n.count[j] as usize;
            if off + c > lo {
                self.walk(
                    level - 1,
                    n.child[j],
                    lo.saturating_sub(off),
                    c.min(hi - off),
                    f,
                );
            }
            off += c;
            if off >= hi {
                break;
            }
        }
    }

    /// Visits ranks [lo, hi) in ascending order.
    pub fn for_range(&self, lo: usize, hi: usize, mut f: impl FnMut(f64, &Str)) {
        let hi = hi.min(self.len);
        if lo < hi {
            self.walk(self.height, self.root, lo, hi, &mut f);
        }
    }

    /// Removes ranks [lo, hi) and returns them in order: O(log n + m).
    pub fn remove_range(&mut self, lo: usize, hi: usize) -> Vec<(f64, Str)> {
        let hi = hi.min(self.len);
        if lo >= hi {
            return Vec::new();
        }
        let mut out = Vec::with_capacity(hi - lo);
        if hi - lo == self.len {
            self.detach(self.height, self.root, &mut out);
            *self = Tree::default();
            return out;
        }
        self.remove_range_in(self.height, self.root, lo, hi, &mut out);
        self.len -= hi - lo;
        self.shrink_root();
        out
    }

    /// Frees subtree `t` on `level`, appending its elements to `out`.
    fn detach(&mut self, level: usize, t: u32, out: &mut Vec<(f64, Str)>) {
        if level == 0 {
            let mut leaf = self.free_leaf(t);
            leaf.drain_out(0..leaf.len(), out);
            return;
        }
        let (child, len) = self.free_inner(t);
        for &c in &child[..len] {
            self.detach(level - 1, c, out);
        }
    }

    /// Removes ranks [lo, hi) of subtree `t` on `level` (not all of it),
    /// appending them to `out`; `t` is left with underfull nodes at most on
    /// its own level, or as the single child of a node on a path to an end
    /// of the range (see `rebalance`).
    fn remove_range_in(
        &mut self,
        level: usize,
        t: u32,
        lo: usize,
        hi: usize,
        out: &mut Vec<(f64, Str)>,
    ) {
        if level == 0 {
            self.leaves[t as usize].drain_out(lo..hi, out);
            return;
        }
        // Children wholly inside the range are [a, b); those straddling an
        // end are `first` and `last`.
        let (mut a, mut b, mut first, mut last) = (usize::MAX, 0, usize::MAX, 0);
        let mut off = 0;
        for j in 0..self.inners[t as usize].len {
            let (c, child) = {
                let n = &self.inners[t as usize];
                (n.count[j] as usize, n.child[j])
            };
            let start = off;
            off += c;
            if off <= lo {
                continue;
            }
            if start >= hi {
                break;
            }
            first = first.min(j);
            last = j;
            if lo <= start && off <= hi {
                self.detach(level - 1, child, out);
                a = a.min(j);
                b = j + 1;
            } else {
                let (l, h) = (lo.max(start) - start, hi.min(off) - start);
                self.remove_range_in(level - 1, child, l, h, out);
                self.inners[t as usize].count[j] -= (h - l) as u32;
            }
        }
        if a < b {
            // Keep the separator on one side of the gap: it bounds the two
            // children that become neighbours as well.
            let n = &mut self.inners[t as usize];
            n.remove_keys(if a > 0 { a - 1..b - 1 } else { 0..b });
            n.child.copy_within(b..n.len, a);
            n.count.copy_within(b..n.len, a);
            n.len -= b - a;
            if last >= b {
                last -= b - a;
            } else {
                last = a.saturating_sub(1);
            }
            first = first.min(last);
        }
        self.repair(level, t, first, last);
    }
}

/// A separator, to check against.
#[cfg(test)]
type Key<'a> = (f64, &'a [u8]);

#[cfg(test)]
impl<const L: usize, const B: usize> Tree<L, B> {
    /// Asserts the invariants: every count is its subtree's real size,
    /// elements are in strict order and within their separators, nodes
    /// other than the root are within their fill bounds (the root: a leaf,
    /// or an inner node with two children or more), every node is reached
    /// once, and freed nodes are unreachable and hold nothing.
    pub fn check(&self) {
        if self.root == NIL {
            assert_eq!((self.len, self.height), (0, 0));
            assert!(self.leaves.is_empty() && self.inners.is_empty());
            return;
        }
        let mut seen_leaves = vec![false; self.leaves.len()];
        let mut seen_inners = vec![false; self.inners.len()];
        let mut seen = (&mut seen_leaves[..], &mut seen_inners[..]);
        let n = self.check_node(self.height, self.root, (None, None), true, &mut seen);
        assert_eq!(n, self.len);
        for &f in &self.free_leaves {
            assert!(
                !seen_leaves[f as usize],
                "free leaf {f} in use or freed twice"
            );
            seen_leaves[f as usize] = true;
            let l = &self.leaves[f as usize];
            assert_eq!((l.scores.capacity(), l.members.capacity()), (0, 0));
        }
        for &f in &self.free_inners {
            assert!(
                !seen_inners[f as usize],
                "free node {f} in use or freed twice"
            );
            seen_inners[f as usize] = true;
            let n = &self.inners[f as usize];
            assert_eq!(n.len, 0);
            assert!(n.members.iter().all(|m| m.is_empty()));
        }
        assert!(
            seen_leaves.iter().all(|&s| s),
            "a leaf neither in use nor free"
        );
        assert!(
            seen_inners.iter().all(|&s| s),
            "a node neither in use nor free"
        );
    }

    /// Checks subtree `t` on `level`, whose elements must lie within
    /// [lo, hi); returns its size.
    fn check_node(
        &self,
        level: usize,
        t: u32,
        (lo, hi): (Option<Key>, Option<Key>),
        root: bool,
        seen: &mut (&mut [bool], &mut [bool]),
    ) -> usize {
        let within = |s: f64, m: &[u8]| {
            if let Some(l) = lo {
                assert!(cmp(l.0, l.1, s, m).is_le(), "{s} {m:?} below {l:?}");
            }
            if let Some(h) = hi {
                assert!(cmp(s, m, h.0, h.1).is_lt(), "{s} {m:?} not below {h:?}");
            }
        };
        let sorted = |scores: &[f64], members: &[Str]| {
            assert_eq!(scores.len(), members.len());
            for i in 1..scores.len() {
                let o = cmp(scores[i - 1], &members[i - 1], scores[i], &members[i]);
                assert!(o.is_lt(), "{i}: {scores:?} {members:?} out of order");
            }
        };
        if level == 0 {
            assert!(
                !std::mem::replace(&mut seen.0[t as usize], true),
                "leaf {t} twice"
            );
            let leaf = &self.leaves[t as usize];
            assert!(leaf.len() <= L);
            assert!(
                root || leaf.len() >= Self::LEAF_MIN,
                "leaf of {}",
                leaf.len()
            );
            sorted(&leaf.scores, &leaf.members);
            for (&s, m) in leaf.scores.iter().zip(&leaf.members) {
                within(s, m);
            }
            return leaf.len();
        }
        assert!(
            !std::mem::replace(&mut seen.1[t as usize], true),
            "node {t} twice"
        );
        let n = &self.inners[t as usize];
        assert!(n.len <= Self::INNER_MAX);
        assert!(
            n.len >= if root { 2 } else { Self::INNER_MIN },
            "node of {}",
            n.len
        );
        sorted(&n.scores[..n.len - 1], &n.members[..n.len - 1]);
        assert!(n.members[n.len - 1..].iter().all(|m| m.is_empty()));
        let key = |i: usize| (n.scores[i], &n.members[i][..]);
        let mut total = 0;
        for j in 0..n.len {
            let l = if j == 0 { lo } else { Some(key(j - 1)) };
            let h = if j == n.len - 1 { hi } else { Some(key(j)) };
            let size = self.check_node(level - 1, n.child[j], (l, h), false, seen);
            assert_eq!(n.count[j] as usize, size, "count of child {j} of node {t}");
            total += size;
        }
        total
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
        if !self.big && (m.len() > zset_max_value() || self.dict.len() >= zset_max_entries()) {
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
        let big = pairs.len() > zset_max_entries()
            || pairs.iter().any(|(m, _)| m.len() > zset_max_value());
        ZSetObj::build(pairs, big)
    }

    /// A set as Redis's ZUNION/ZINTER/ZDIFF build their result before
    /// replying it: a skiplist whatever its size, so a `-0` score (a
    /// negative score times weight 0) is replied `-0`, where a stored
    /// small result would be a listpack and say `0`.
    pub fn unconverted(pairs: impl IntoIterator<Item = (Str, f64)>) -> ZSetObj {
        ZSetObj::build(pairs.into_iter().collect(), true)
    }

    fn build(pairs: Vec<(Str, f64)>, big: bool) -> ZSetObj {
        let mut z = ZSetObj {
            big,
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
        for i in 0..crate::types::encoding::ZSET_MAX_LISTPACK_ENTRIES {
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

    /// An operation on a bare `Tree`, for `tree_matches_a_sorted_vec`.
    #[derive(Debug, Clone)]
    enum TreeOp {
        Insert(u16, u16),
        /// Inserts this many pairs, from a seed: grows the tree fast.
        Grow(u16, u16),
        /// Removes the element at this index (mod len), or (false) a pair
        /// that is not there.
        Remove(u16, bool),
        RemoveRange(u16, u16),
        Rank(u16),
        CountBefore(u16, bool),
        CountBeforeLex(u16, bool),
        ForRange(u16, u16),
        Get(u16),
    }

    fn tree_op() -> impl Strategy<Value = TreeOp> {
        prop_oneof![
            4 => (any::<u16>(), 0u16..2000).prop_map(|(s, m)| TreeOp::Insert(s, m)),
            1 => (0u16..400, any::<u16>()).prop_map(|(n, k)| TreeOp::Grow(n, k)),
            4 => (any::<u16>(), any::<bool>()).prop_map(|(i, p)| TreeOp::Remove(i, p)),
            1 => (any::<u16>(), 0u16..6).prop_map(|(a, n)| TreeOp::RemoveRange(a, n)),
            1 => (any::<u16>(), 0u16..3000).prop_map(|(a, n)| TreeOp::RemoveRange(a, n)),
            1 => any::<u16>().prop_map(TreeOp::Rank),
            1 => (any::<u16>(), any::<bool>()).prop_map(|(s, i)| TreeOp::CountBefore(s, i)),
            1 => (0u16..2000, any::<bool>()).prop_map(|(m, i)| TreeOp::CountBeforeLex(m, i)),
            1 => (any::<u16>(), 0u16..300).prop_map(|(a, n)| TreeOp::ForRange(a, n)),
            1 => any::<u16>().prop_map(TreeOp::Get),
        ]
    }

    /// Member `i`: every fifth one too long to be inline.
    fn member(i: u32) -> Vec<u8> {
        if i % 5 == 0 {
            format!("{i}-a-member-longer-than-inline").into_bytes()
        } else {
            i.to_string().into_bytes()
        }
    }

    /// Runs `ops` on a `Tree<L, B>` and on a sorted Vec of pairs, checking
    /// the tree's invariants after each. Scores are drawn from `scores`
    /// values (1: all equal, as in a set used for lex ranges), around 0 so
    /// that `-0.0` and `0.0` meet.
    fn run_tree_ops<const L: usize, const B: usize>(
        scores: u16,
        ops: &[TreeOp],
    ) -> Result<(), TestCaseError> {
        let score = |s: u16| {
            let v = (s % scores) as f64 - (scores / 2) as f64;
            if v == 0.0 && s & 1 == 1 {
                -0.0
            } else {
                v
            }
        };
        let mut t = Tree::<L, B>::default();
        let mut model: Vec<(f64, Vec<u8>)> = Vec::new();
        let find = |model: &[(f64, Vec<u8>)], s: f64, m: &[u8]| {
            model.binary_search_by(|e| cmp(e.0, &e.1, s, m))
        };
        for op in ops {
            match *op {
                TreeOp::Insert(s, m) => {
                    let (s, m) = (score(s), member(m as u32));
                    if let Err(i) = find(&model, s, &m) {
                        t.insert(s, Str::new(&m));
                        model.insert(i, (s, m));
                    }
                }
                TreeOp::Grow(n, k) => {
                    for j in 0..n as u32 {
                        let x = (k as u32).wrapping_mul(7919).wrapping_add(j * 104_729);
                        let (s, m) = (score(x as u16), member(x % 2000));
                        if let Err(i) = find(&model, s, &m) {
                            t.insert(s, Str::new(&m));
                            model.insert(i, (s, m));
                        }
                    }
                }
                TreeOp::Remove(i, true) if !model.is_empty() => {
                    let (s, m) = model.remove(i as usize % model.len());
                    prop_assert!(t.remove(s, &m));
                }
                TreeOp::Remove(i, _) => {
                    // Members from 2000 up are never inserted.
                    prop_assert!(!t.remove(score(i), &member(2000 + i as u32)));
                }
                TreeOp::RemoveRange(lo, n) => {
                    let lo = lo as usize % (model.len() + 2);
                    let hi = lo + n as usize;
                    let (a, b) = (lo.min(model.len()), hi.min(model.len()));
                    let want: Vec<_> = model.drain(a..b).collect();
                    let got: Vec<_> = t
                        .remove_range(lo, hi)
                        .into_iter()
                        .map(|(s, m)| (s, m.to_vec()))
                        .collect();
                    prop_assert_eq!(got, want);
                }
                TreeOp::Rank(i) if !model.is_empty() => {
                    let i = i as usize % model.len();
                    prop_assert_eq!(t.rank(model[i].0, &model[i].1), i);
                }
                TreeOp::Get(i) if !model.is_empty() => {
                    let i = i as usize % model.len();
                    let (s, m) = t.get(i);
                    prop_assert_eq!((s, m.to_vec()), model[i].clone());
                }
                TreeOp::Rank(_) | TreeOp::Get(_) => {}
                TreeOp::CountBefore(s, incl) => {
                    let b = score(s) + if s & 2 == 0 { 0.5 } else { 0.0 };
                    let before = |x: f64| if incl { x <= b } else { x < b };
                    let want = model.iter().filter(|e| before(e.0)).count();
                    prop_assert_eq!(t.count_before(|x, _| before(x)), want);
                }
                TreeOp::CountBeforeLex(m, incl) if scores == 1 => {
                    let b = member(m as u32);
                    let before = |x: &[u8]| if incl { x <= &b[..] } else { x < &b[..] };
                    let want = model.iter().filter(|e| before(&e.1)).count();
                    prop_assert_eq!(t.count_before(|_, x| before(x)), want);
                }
                TreeOp::CountBeforeLex(..) => {}
                TreeOp::ForRange(lo, n) => {
                    let lo = lo as usize % (model.len() + 2);
                    let hi = lo + n as usize;
                    let mut got = Vec::new();
                    t.for_range(lo, hi, |s, m| got.push((s, m.to_vec())));
                    let (a, b) = (lo.min(model.len()), hi.min(model.len()));
                    prop_assert_eq!(&got[..], &model[a..b]);
                }
            }
            t.check();
            prop_assert_eq!(t.len(), model.len());
        }
        let mut all = Vec::new();
        t.for_range(0, usize::MAX, |s, m| all.push((s, m.to_vec())));
        prop_assert_eq!(all, model);
        Ok(())
    }

    fn scores() -> impl Strategy<Value = u16> {
        prop_oneof![Just(1u16), 2u16..6, Just(1000u16)]
    }

    proptest! {
        // Tiny nodes: deep trees from a few hundred elements, so splits,
        // merges, evening out and range removals through many levels.
        #[test]
        fn tree_matches_a_sorted_vec_4_4(
            scores in scores(),
            ops in proptest::collection::vec(tree_op(), 1..150),
        ) {
            run_tree_ops::<4, 4>(scores, &ops)?;
        }

        #[test]
        fn tree_matches_a_sorted_vec_8_5(
            scores in scores(),
            ops in proptest::collection::vec(tree_op(), 1..150),
        ) {
            run_tree_ops::<8, 5>(scores, &ops)?;
        }

        // The sizes the server uses (fewer, larger cases).
        #[test]
        fn tree_matches_a_sorted_vec(
            scores in scores(),
            ops in proptest::collection::vec(tree_op(), 1..150),
        ) {
            run_tree_ops::<64, 32>(scores, &ops)?;
        }
    }

    /// 100k elements inserted in ascending, descending and random order,
    /// then removed in each order and by ranges, checking the invariants on
    /// the way.
    #[test]
    fn large_trees_keep_their_invariants() {
        const N: u32 = 100_000;
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut shuffled: Vec<u32> = (0..N).collect();
        for i in (1..shuffled.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            shuffled.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let asc: Vec<u32> = (0..N).collect();
        let desc: Vec<u32> = (0..N).rev().collect();
        // (score, member): a few distinct scores, so members order ties.
        let key = |i: u32| ((i / 1000) as f64, member(i));
        let orders = [&asc, &desc, &shuffled];
        let mut sorted: Vec<_> = (0..N).map(key).collect();
        sorted.sort_by(|a, b| cmp(a.0, &a.1, b.0, &b.1));
        for (o, ins) in orders.iter().enumerate() {
            for (p, del) in orders.iter().enumerate() {
                let mut t = Tree::<64, 32>::default();
                for (n, &i) in ins.iter().enumerate() {
                    let (s, m) = key(i);
                    t.insert(s, Str::from(m));
                    if n % 20_000 == 0 {
                        t.check();
                    }
                }
                t.check();
                assert_eq!(t.len(), N as usize);
                assert!(t.height <= 4, "height {} for {N}", t.height);
                for k in (0..N as usize).step_by(997) {
                    assert_eq!(t.rank(sorted[k].0, &sorted[k].1), k);
                    let (s, m) = t.get(k);
                    assert_eq!((s, &m[..]), (sorted[k].0, &sorted[k].1[..]));
                }
                if o == p {
                    // Half by one-element removals, then ranges of
                    // growing size from the middle.
                    for &i in &del[..N as usize / 2] {
                        let (s, m) = key(i);
                        assert!(t.remove(s, &m));
                    }
                    t.check();
                    let mut w = 1;
                    while t.len() > 0 {
                        let lo = t.len() / 3;
                        let gone = t.remove_range(lo, lo + w);
                        assert!(!gone.is_empty());
                        w = w * 3 / 2 + 1;
                        t.check();
                    }
                } else {
                    for (n, &i) in del.iter().enumerate() {
                        let (s, m) = key(i);
                        assert!(t.remove(s, &m));
                        assert!(!t.remove(s, &m));
                        if n % 20_000 == 0 {
                            t.check();
                        }
                    }
                }
                t.check();
                assert_eq!(t.len(), 0);
            }
        }
    }

    /// Not a check: the cost of a score update, ZADD's tree work under
    /// `redis-benchmark -t zadd -r 100000` (100k members of 20 bytes, and of 41, random
    /// integer scores). Run by hand: `cargo test --release -p kvserver
    /// --bin kvserver score_update_speed -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn score_update_speed() {
        const N: u64 = 100_000;
        const UPDATES: u32 = 1_000_000;
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for long in [false, true] {
            let names: Vec<Vec<u8>> = (0..N)
                .map(|i| {
                    let pad = if long { "-a-longer-member-name" } else { "" };
                    format!("element:{i:012}{pad}").into_bytes()
                })
                .collect();
            let mut z = ZSetObj::default();
            for m in &names {
                z.insert(m, (rnd() % N) as f64);
            }
            let t = std::time::Instant::now();
            for _ in 0..UPDATES {
                let m = &names[(rnd() % N) as usize];
                z.insert(m, (rnd() % N) as f64);
            }
            let zadd = t.elapsed().as_nanos() as f64 / UPDATES as f64;
            // The tree alone: the remove + insert pair an update does
            // (the scores in a Vec rather than the dict).
            let strs: Vec<Str> = names.iter().map(|m| Str::new(m)).collect();
            let mut scores: Vec<f64> = names.iter().map(|m| z.dict[m.as_slice()]).collect();
            let mut tr = z.tree.clone();
            let t = std::time::Instant::now();
            for _ in 0..UPDATES {
                let i = (rnd() % N) as usize;
                let new = (rnd() % N) as f64;
                tr.remove(scores[i], &strs[i]);
                tr.insert(new, strs[i].clone());
                scores[i] = new;
            }
            let tree = t.elapsed().as_nanos() as f64 / UPDATES as f64;
            // Reads: rank of a random member, and a 10-element range.
            let t = std::time::Instant::now();
            let mut sum = 0;
            for _ in 0..UPDATES {
                let i = (rnd() % N) as usize;
                sum += tr.rank(scores[i], &strs[i]);
            }
            let rank = t.elapsed().as_nanos() as f64 / UPDATES as f64;
            let t = std::time::Instant::now();
            for _ in 0..UPDATES {
                let lo = (rnd() % (N - 10)) as usize;
                tr.for_range(lo, lo + 10, |s, _| sum += s as usize);
            }
            let range = t.elapsed().as_nanos() as f64 / UPDATES as f64;
            let len = names[0].len();
            eprintln!(
                "{len}-byte members: ZSetObj::insert update {zadd:.0} ns, \
                 tree alone: remove+insert {tree:.0} ns, rank {rank:.0} ns, \
                 10-element range {range:.0} ns ({sum})"
            );
            assert_eq!(z.len(), N as usize);
        }
    }
}
