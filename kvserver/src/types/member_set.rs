//! The members of a set: a hash table whose buckets hold the members
//! themselves, plus a position for each member (0..len) that SPOP,
//! SRANDMEMBER and SSCAN use.
//!
//! Why not `indexmap::IndexSet` (which sets used before): its table holds
//! indices into a separate entry vector, so finding a member touches three
//! cache lines (control bytes, index slot, entry) where this table touches
//! two (control bytes, bucket with the member inline). On a 100,000-member
//! set (`redis-benchmark -t sadd -P 16`) IndexSet's insert was 44% of
//! kvserver's CPU time, its entry load alone a fifth; this table takes
//! 0.81-0.91x the CPU per SADD of the IndexSet build (`bench/kv-ab.sh`).
//!
//! The price is memory: every bucket is 32 bytes (member + position),
//! empty or not, where IndexSet's empty buckets are 9. RSS per member
//! (`element:N`, measured): 46 bytes at 900,000 members, just before the
//! table doubles (IndexSet 42, Redis 7.0 68); 77 at 1,000,000, just after
//! (IndexSet 51, Redis 66). Hashes stay on IndexMap for that reason: their
//! 56-byte entries would cost up to 1.7x Redis's memory per field.
//! A set removed down to under an eighth of its capacity is rebuilt
//! smaller ([`MemberSet::swap_remove`]; IndexSet never gave memory back).
//!
//! Positions keep IndexSet's contract, which `keys::collection_scan` and the
//! random picks rely on:
//! - a new member takes position `len`;
//! - removing the member at position p moves the member at the last
//!   position into p (swap remove), and nothing else moves.
//!
//! The table stores each member's position; `order` maps a position back
//! to its bucket. Buckets only change when the table rehashes (grows, or
//! cleans out deleted slots in place), which hashbrown does only when an
//! insert finds no growth left: [`MemberSet::insert`] reserves that room
//! itself first and then rebuilds `order` from the positions stored in the
//! buckets (O(n), amortized like the rehash itself).
//!
//! This leans on how hashbrown 0.17 behaves, beyond what it documents (its
//! docs promise a bucket index only until the table is next modified):
//! buckets move only in a rehash (`reserve`, `shrink_to`, an insert with
//! no growth left), never on removal, and a clone keeps every bucket. The
//! tests below (a model-checked random mix, an in-place rehash, a shrink)
//! are the guard when hashbrown is upgraded.
//!
//! Iteration ([`MemberSet::iter`], [`MemberSet::drain`]) goes in bucket
//! order, which is sequential in memory; position order is only for
//! [`MemberSet::get_index`].

use crate::types::{Hasher, Str};
use hashbrown::HashTable;
use std::hash::BuildHasher;

/// Tables this small are never shrunk (not worth a rehash).
const SHRINK_FLOOR: usize = 64;

#[derive(Debug, Clone)]
struct Slot {
    member: Str,
    pos: usize,
}

/// A set of [`Str`]s with O(1) insert, lookup, remove, and access by
/// position (see the module documentation for the position rules).
#[derive(Debug, Clone, Default)]
pub struct MemberSet {
    table: HashTable<Slot>,
    /// Bucket index of the member at each position.
    order: Vec<usize>,
    hasher: Hasher,
    /// Rehashes seen (tests check that in-place ones happen).
    #[cfg(test)]
    rehashes: usize,
}

impl MemberSet {
    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    fn hash(&self, m: &[u8]) -> u64 {
        self.hasher.hash_one(m)
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        self.table.find(self.hash(m), |s| *s.member == *m).is_some()
    }

    /// Adds `m` at the last position; false (and `m` dropped) if it is
    /// already a member.
    pub fn insert(&mut self, m: Str) -> bool {
        if self.table.len() == self.table.capacity() {
            // No growth left: the entry below would rehash and move
            // buckets behind `order`'s back. Do it here and re-map.
            let hasher = &self.hasher;
            self.table
                .reserve(1, |s| hasher.hash_one(&*s.member as &[u8]));
            self.rebuild_order();
        }
        let h = self.hash(&m);
        let hasher = &self.hasher;
        let entry = self.table.entry(
            h,
            |s| *s.member == *m,
            |s| hasher.hash_one(&*s.member as &[u8]),
        );
        match entry {
            hashbrown::hash_table::Entry::Occupied(_) => false,
            hashbrown::hash_table::Entry::Vacant(v) => {
                let pos = self.order.len();
                let bucket = v.insert(Slot { member: m, pos }).bucket_index();
                self.order.push(bucket);
                true
            }
        }
    }

    /// Removes `m`; the last member takes its position.
    pub fn swap_remove(&mut self, m: &[u8]) -> bool {
        let h = self.hash(m);
        match self.table.find_entry(h, |s| *s.member == *m) {
            Ok(found) => {
                let (slot, _) = found.remove();
                self.fill_hole(slot.pos);
                true
            }
            Err(_) => false,
        }
    }

    /// Removes and returns the member at position `i`; the last member
    /// takes its position.
    pub fn swap_remove_index(&mut self, i: usize) -> Option<Str> {
        let bucket = *self.order.get(i)?;
        let (slot, _) = self.table.get_bucket_entry(bucket).ok()?.remove();
        self.fill_hole(i);
        Some(slot.member)
    }

    /// The member at position `i`.
    pub fn get_index(&self, i: usize) -> Option<&Str> {
        let bucket = *self.order.get(i)?;
        self.table.get_bucket(bucket).map(|s| &s.member)
    }

    /// Every member, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Str> + '_ {
        self.table.iter().map(|s| &s.member)
    }

    /// Takes every member out, leaving the set empty.
    pub fn drain(&mut self) -> impl Iterator<Item = Str> + '_ {
        self.order.clear();
        self.table.drain().map(|s| s.member)
    }

    /// The member at position `p` is gone: the last position moves there.
    fn fill_hole(&mut self, p: usize) {
        self.order.swap_remove(p);
        if let Some(&bucket) = self.order.get(p) {
            if let Some(moved) = self.table.get_bucket_mut(bucket) {
                moved.pos = p;
            }
        }
        self.maybe_shrink();
    }

    /// Gives memory back once the set is under an eighth of its capacity
    /// (Redis shrinks a dict under a tenth full): the table is rebuilt for
    /// twice the members left, so whole-set walks (SMEMBERS, which go
    /// over every bucket) stay proportional to the size too. Amortized
    /// O(1): the next shrink needs most of the rest removed.
    fn maybe_shrink(&mut self) {
        let (len, cap) = (self.table.len(), self.table.capacity());
        if cap > SHRINK_FLOOR && len * 8 < cap {
            let hasher = &self.hasher;
            self.table
                .shrink_to(len * 2, |s| hasher.hash_one(&*s.member as &[u8]));
            self.order.shrink_to(len * 2);
            self.rebuild_order();
        }
    }

    /// After a rehash: find each position's bucket again.
    fn rebuild_order(&mut self) {
        #[cfg(test)]
        {
            self.rehashes += 1;
        }
        for bucket in self.table.iter_buckets() {
            if let Some(s) = self.table.get_bucket(bucket) {
                self.order[s.pos] = bucket;
            }
        }
    }
}

impl std::ops::Index<usize> for MemberSet {
    type Output = Str;
    /// The member at position `i`; `i` must be below `len()`.
    fn index(&self, i: usize) -> &Str {
        self.get_index(i).expect("set position in range")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every position maps to a bucket holding a member that records that
    /// position, and the members are exactly `model` in position order.
    fn check(s: &MemberSet, model: &[Vec<u8>]) {
        assert_eq!(s.len(), model.len());
        assert_eq!(s.table.len(), model.len());
        for (i, m) in model.iter().enumerate() {
            let b = s.order[i];
            let slot = s
                .table
                .get_bucket(b)
                .expect("position maps to a full bucket");
            assert_eq!(slot.pos, i);
            assert_eq!(&*slot.member, &m[..]);
            assert_eq!(&*s[i], &m[..]);
            assert!(s.contains(m));
        }
        assert_eq!(s.iter().count(), model.len());
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u16),
        Remove(u16),
        RemoveAt(u16),
        Clone,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => any::<u16>().prop_map(Op::Insert),
            2 => any::<u16>().prop_map(Op::Remove),
            1 => any::<u16>().prop_map(Op::RemoveAt),
            1 => Just(Op::Clone),
        ]
    }

    /// A member from a small range (so removes hit), some longer than a
    /// Str keeps inline.
    fn member(n: u16) -> Vec<u8> {
        let n = n % 600;
        if n % 7 == 0 {
            format!("a-long-member-stored-out-of-line-{n}").into_bytes()
        } else {
            n.to_string().into_bytes()
        }
    }

    proptest! {
        /// Against a Vec with IndexSet's position rules: same members at
        /// the same positions after any mix of inserts, removes by member
        /// and by position, and clones, through growth and in-place
        /// rehashes.
        #[test]
        fn positions_follow_swap_remove_rules(ops in prop::collection::vec(op(), 1..1500)) {
            let mut s = MemberSet::default();
            let mut model: Vec<Vec<u8>> = Vec::new();
            for o in ops {
                match o {
                    Op::Insert(n) => {
                        let m = member(n);
                        let new = !model.contains(&m);
                        prop_assert_eq!(s.insert(Str::new(&m)), new);
                        if new {
                            model.push(m);
                        }
                    }
                    Op::Remove(n) => {
                        let m = member(n);
                        let at = model.iter().position(|x| *x == m);
                        prop_assert_eq!(s.swap_remove(&m), at.is_some());
                        if let Some(p) = at {
                            model.swap_remove(p);
                        }
                    }
                    Op::RemoveAt(n) => {
                        let i = n as usize % (model.len() + 1);
                        let got = s.swap_remove_index(i).map(|m| m.to_vec());
                        let want = (i < model.len()).then(|| model.swap_remove(i));
                        prop_assert_eq!(got, want);
                    }
                    Op::Clone => s = s.clone(),
                }
            }
            check(&s, &model);
        }
    }

    /// Churn that leaves the table full of deleted slots makes hashbrown
    /// rehash in place (same bucket count, members moved): positions must
    /// survive that too.
    #[test]
    fn survives_in_place_rehash() {
        let mut s = MemberSet::default();
        let mut model = Vec::new();
        // 110 members fill 128 buckets to 7/8; keep 50 (under half) and
        // churn: each insert may take an empty slot, each remove may leave
        // a deleted one, until no growth is left and the table rehashes
        // at the same size.
        for i in 0..110u32 {
            let m = format!("k{i}").into_bytes();
            s.insert(Str::new(&m));
            model.push(m);
        }
        for _ in 0..60 {
            let gone = s.swap_remove_index(7).expect("member at 7");
            assert_eq!(gone.to_vec(), model.swap_remove(7));
        }
        let (buckets, grown) = (s.table.num_buckets(), s.rehashes);
        // How soon the deleted slots use up the growth depends on the
        // hash seed (an erase next to an empty slot frees its slot for
        // good): churn until the table has rehashed in place and 300
        // rounds more, so the positions are checked after it.
        let mut rehashed_at = None;
        for round in 0..20_000u32 {
            if rehashed_at.is_none() && s.rehashes > grown {
                rehashed_at = Some(round);
            }
            if rehashed_at.is_some_and(|r| round >= r + 300) {
                break;
            }
            for i in 0..5u32 {
                let m = format!("r{round}-{i}").into_bytes();
                assert!(s.insert(Str::new(&m)));
                model.push(m);
            }
            for _ in 0..5 {
                let gone = s.swap_remove_index(round as usize % 40).expect("member");
                assert_eq!(gone.to_vec(), model.swap_remove(round as usize % 40));
            }
        }
        assert_eq!(
            s.table.num_buckets(),
            buckets,
            "churn at a steady size does not grow"
        );
        assert!(rehashed_at.is_some(), "the churn rehashed in place");
        check(&s, &model);
        let drained: std::collections::HashSet<Vec<u8>> = s.drain().map(|m| m.to_vec()).collect();
        assert_eq!(drained, model.into_iter().collect());
        assert!(s.is_empty() && s.get_index(0).is_none());
        assert!(s.insert(Str::new(b"again")) && s[0].as_ref() == b"again");
    }

    /// A set emptied down to a few members gives its table back, and the
    /// positions survive the rehash.
    #[test]
    fn shrinks_when_mostly_removed() {
        let mut s = MemberSet::default();
        let mut model = Vec::new();
        for i in 0..10_000u32 {
            let m = format!("member:{i}").into_bytes();
            s.insert(Str::new(&m));
            model.push(m);
        }
        let big = s.table.num_buckets();
        while model.len() > 100 {
            let i = model.len() / 3;
            assert_eq!(
                s.swap_remove_index(i).map(|m| m.to_vec()),
                Some(model.swap_remove(i))
            );
            let m = model.pop().expect("members left");
            assert!(s.swap_remove(&m));
        }
        assert!(
            s.table.num_buckets() * 16 <= big,
            "{} buckets of {big} left",
            s.table.num_buckets()
        );
        assert!(s.order.capacity() <= 1000);
        check(&s, &model);
    }
}
