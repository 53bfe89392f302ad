//! The keys of one database's part of a shard: the hash table of slot
//! numbers, the slot pages holding the entries, and the deadlines.

use super::entry::Entry;
use super::key_hash;
use crate::types::Hasher;

/// Entries by slot number, in pages of [`PAGE`] (so growth never moves
/// or copies the entries, and memory is touched only as it is used);
/// freed slots are reused first.
#[derive(Debug, Default)]
pub(super) struct Slots {
    pub(super) pages: Vec<Vec<Option<Entry>>>,
    pub(super) free: Vec<u32>,
}

const PAGE: usize = 1024;

impl Slots {
    pub(super) fn alloc(&mut self, e: Entry) -> u32 {
        if let Some(i) = self.free.pop() {
            self.pages[i as usize / PAGE][i as usize % PAGE] = Some(e);
            return i;
        }
        if self.pages.last().is_none_or(|p| p.len() == PAGE) {
            // The first page grows as needed (small databases stay small),
            // the next ones are allocated whole.
            let cap = if self.pages.is_empty() { 0 } else { PAGE };
            self.pages.push(Vec::with_capacity(cap));
        }
        let p = self.pages.len() - 1;
        let page = &mut self.pages[p];
        page.push(Some(e));
        (p * PAGE + page.len() - 1) as u32
    }

    pub(super) fn release(&mut self, i: u32) -> Option<Entry> {
        let e = self
            .pages
            .get_mut(i as usize / PAGE)?
            .get_mut(i as usize % PAGE)?
            .take();
        if e.is_some() {
            self.free.push(i);
        }
        e
    }

    pub(super) fn get(&self, i: u32) -> Option<&Entry> {
        self.pages
            .get(i as usize / PAGE)?
            .get(i as usize % PAGE)?
            .as_ref()
    }

    pub(super) fn get_mut(&mut self, i: u32) -> Option<&mut Entry> {
        self.pages
            .get_mut(i as usize / PAGE)?
            .get_mut(i as usize % PAGE)?
            .as_mut()
    }

    /// Slot numbers ever handed out (live or free).
    pub(super) fn capacity(&self) -> usize {
        self.pages.iter().map(|p| p.len()).sum()
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (u32, &Entry)> {
        self.pages.iter().enumerate().flat_map(|(p, page)| {
            page.iter()
                .enumerate()
                .filter_map(move |(j, e)| e.as_ref().map(|e| ((p * PAGE + j) as u32, e)))
        })
    }

    pub(super) fn key_is(&self, i: u32, key: &[u8]) -> bool {
        self.get(i).is_some_and(|e| *e.key == *key)
    }

    pub(super) fn hash_of(&self, i: u32) -> u64 {
        table_hash(self.get(i).map_or(&[][..], |e| &e.key))
    }
}

/// The hash of `key` in its shard's table: [`key_hash`] with its halves
/// swapped, because the shard is the low bits of `key_hash` (the same in
/// every key of a table) and hashbrown takes its bucket from the low bits
/// and its 7-bit tag from the top ones.
pub(super) fn table_hash(key: &[u8]) -> u64 {
    key_hash(key).rotate_right(32)
}

/// The keys of one database's part of a shard: the hash table of slot
/// numbers, the entries, and the deadlines.
#[derive(Debug, Default)]
pub struct Store {
    pub(super) table: hashbrown::HashTable<u32>,
    pub(super) slots: Slots,
    /// Deadline (ms since the epoch) by slot, for the keys that have one;
    /// indexed, so the active cycle samples it at random in O(1).
    pub(super) expires: indexmap::IndexMap<u32, u64, Hasher>,
    /// Snapshots walking this part (`snapshot.rs`; usually none).
    pub(super) snaps: Vec<super::snapshot::Cursor>,
}

impl Store {
    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    pub(super) fn find(&self, key: &[u8]) -> Option<u32> {
        self.table
            .find(table_hash(key), |&i| self.slots.key_is(i, key))
            .copied()
    }

    pub(super) fn deadline(&self, i: u32) -> Option<u64> {
        self.expires.get(&i).copied()
    }

    pub(super) fn expired(&self, i: u32, e: &Entry, now: u64) -> bool {
        e.ttl && self.deadline(i).is_some_and(|at| now > at)
    }

    /// Removes slot `i` (whose key is `key`) from the table, the deadlines
    /// and the slots.
    pub(super) fn remove_slot(&mut self, i: u32, key_hash: u64) -> Option<Entry> {
        if let Ok(o) = self.table.find_entry(key_hash, |&j| j == i) {
            o.remove();
        }
        let e = self.slots.release(i)?;
        if e.ttl {
            self.expires.swap_remove(&i);
        }
        if self.table.is_empty() {
            // Give the pages back once the database part is empty.
            self.slots = Slots::default();
        }
        Some(e)
    }
}
