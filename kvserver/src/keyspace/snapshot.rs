//! Point-in-time copies of the keyspace without stopping it (BGSAVE,
//! BGREWRITEAOF): the copy is started under every shard lock, which only
//! places a cursor on each database part, then walked a chunk at a time,
//! one shard lock at a time, while clients go on writing. A write to an
//! entry the walk has not reached yet first copies the entry as it was
//! (copy-on-write per entry, as Dragonfly's snapshots do), so the copy is
//! exactly the data at the start, whatever happens during the walk.
//!
//! Per database part (`Store`) a [`Cursor`] per snapshot in progress:
//! slots below `next` are done; of the slots that existed at the start
//! (below `cap`), a bit says "handled": copied already by a writer, or
//! freed and reused by a key born after the start (not part of the copy).
//! Entries in slots at or above `cap` were all born after the start.

use super::store::Store;
use crate::types::Value;
use bytes::Bytes;

/// One key of a copy: name, value, deadline.
pub type Item = (Bytes, Value, Option<u64>);

/// A snapshot in progress on one database part.
#[derive(Debug)]
pub struct Cursor {
    /// Which snapshot (several may run: a BGSAVE and a rewrite).
    pub(super) id: u64,
    /// The database these entries were in at the start (SWAPDB may move
    /// the part elsewhere meanwhile).
    pub(super) origin: usize,
    /// The start (ms): keys expired by then are left out.
    at: u64,
    /// Slots below are done.
    next: u32,
    /// Slots at the start; the ones above are new.
    cap: u32,
    /// A bit per slot below `cap`: copied by a writer, or born after.
    handled: Vec<u64>,
    /// Entries copied by writers, not yet taken by the walk.
    saved: Vec<Item>,
}

impl Cursor {
    fn is_handled(&self, i: u32) -> bool {
        self.handled[i as usize / 64] & (1 << (i % 64)) != 0
    }

    fn mark(&mut self, i: u32) {
        self.handled[i as usize / 64] |= 1 << (i % 64);
    }

    /// Whether slot `i` still waits for the walk.
    fn pending(&self, i: u32) -> bool {
        i >= self.next && i < self.cap && !self.is_handled(i)
    }
}

/// How many slots one step of the walk copies (under its shard's lock):
/// the bound on what a client can wait for.
pub const STEP_SLOTS: u32 = 256;

impl Store {
    /// Starts snapshot `id` of this part, database `origin`, as of `at`
    /// (under its lock).
    pub(super) fn snapshot_begin(&mut self, id: u64, origin: usize, at: u64) {
        let cap = self.slots.capacity() as u32;
        if cap == 0 {
            // Nothing to copy here.
            return;
        }
        self.snaps.push(Cursor {
            id,
            origin,
            at,
            next: 0,
            cap,
            handled: vec![0; (cap as usize).div_ceil(64)],
            saved: Vec::new(),
        });
    }

    /// Before slot `i`'s entry or deadline changes, or it is freed: each
    /// snapshot the walk has not brought there yet copies it first.
    #[inline]
    pub(super) fn before_write(&mut self, i: u32) {
        if self.snaps.is_empty() {
            return;
        }
        self.copy_pending(i);
    }

    fn copy_pending(&mut self, i: u32) {
        let Some(e) = self.slots.get(i) else {
            return;
        };
        let at = self.deadline(i);
        for c in &mut self.snaps {
            if c.pending(i) {
                c.mark(i);
                if at.is_none_or(|d| c.at <= d) {
                    c.saved
                        .push((Bytes::copy_from_slice(&e.key), e.value.clone(), at));
                }
            }
        }
    }

    /// Slot `i` was just given to a new key: not part of any copy.
    #[inline]
    pub(super) fn born(&mut self, i: u32) {
        for c in &mut self.snaps {
            if c.pending(i) {
                c.mark(i);
            }
        }
    }

    /// One step of the walk of snapshot `id`, database `origin`: the
    /// entries writers copied, then up to [`STEP_SLOTS`] slots, into `out`.
    /// None if this part holds no such walk; Some(true) once it is over
    /// (the cursor is gone).
    pub(super) fn snapshot_step(
        &mut self,
        id: u64,
        origin: usize,
        out: &mut Vec<Item>,
    ) -> Option<bool> {
        let pos = self
            .snaps
            .iter()
            .position(|c| c.id == id && c.origin == origin)?;
        let c = &mut self.snaps[pos];
        out.append(&mut c.saved);
        let end = c.cap.min(c.next.saturating_add(STEP_SLOTS));
        for i in c.next..end {
            if c.is_handled(i) {
                continue;
            }
            let Some(e) = self.slots.get(i) else {
                continue;
            };
            let at = self.expires.get(&i).copied();
            if at.is_none_or(|d| c.at <= d) {
                out.push((Bytes::copy_from_slice(&e.key), e.value.clone(), at));
            }
        }
        c.next = end;
        if end < c.cap {
            return Some(false);
        }
        self.snaps.swap_remove(pos);
        Some(true)
    }

    /// Forgets snapshot `id` here (it was abandoned).
    pub(super) fn snapshot_drop(&mut self, id: u64) {
        self.snaps.retain(|c| c.id != id);
    }
}

#[cfg(test)]
mod tests {
    use super::super::db::Db;
    use super::*;
    use crate::types::Str;

    fn s(v: &str) -> Value {
        Value::String(Str::new(v.as_bytes()))
    }

    /// The copied items as sorted (key, value, deadline) strings.
    fn strings(out: Vec<Item>) -> Vec<(String, String, Option<u64>)> {
        let mut v: Vec<_> = out
            .into_iter()
            .map(|(k, v, at)| {
                let Value::String(s) = v else { panic!() };
                (
                    String::from_utf8_lossy(&k).into_owned(),
                    String::from_utf8_lossy(&s).into_owned(),
                    at,
                )
            })
            .collect();
        v.sort();
        v
    }

    fn walk(db: &mut Db, id: u64) -> Vec<(String, String, Option<u64>)> {
        let mut out = Vec::new();
        while db.snapshot_step(id, 0, &mut out) == Some(false) {}
        strings(out)
    }

    #[test]
    fn the_copy_is_the_start_whatever_is_written_during_the_walk() {
        let mut db = Db::default();
        for i in 0..1000 {
            db.set(format!("k{i}").as_bytes(), s("old"), None, 0);
        }
        db.set(b"ttl", s("old"), Some(5_000), 0);
        db.set(b"gone", s("old"), Some(50), 0);
        db.snapshot_begin(7, 0, 100);
        let mut out = Vec::new();
        // Part of the walk, then writes everywhere: before and after the
        // cursor, new keys, deletes, deadlines, in-place changes, freed
        // slots reused, the part emptied and refilled.
        assert_eq!(db.snapshot_step(7, 0, &mut out), Some(false));
        for i in (0..1000).step_by(3) {
            db.set(format!("k{i}").as_bytes(), s("new"), None, 200);
        }
        for i in (1..1000).step_by(7) {
            db.remove(format!("k{i}").as_bytes());
        }
        for i in 0..50 {
            db.set(format!("born{i}").as_bytes(), s("new"), None, 200);
        }
        db.set_expire(b"ttl", Some(9_000));
        if let Some(e) = db.get(b"k2", 200) {
            e.value = s("changed");
        }
        for i in 0..1000 {
            db.remove(format!("k{i}").as_bytes());
        }
        db.set(b"k5", s("reborn"), None, 300);
        while db.snapshot_step(7, 0, &mut out) == Some(false) {}
        let got = strings(out);
        let mut want: Vec<_> = (0..1000)
            .map(|i| (format!("k{i}"), "old".to_string(), None))
            .collect();
        // "gone" had expired at the start.
        want.push(("ttl".into(), "old".into(), Some(5_000)));
        want.sort();
        assert_eq!(got, want);
        // The walk is over: no more copies on write.
        db.set(b"after", s("x"), None, 400);
        assert_eq!(db.snapshot_step(7, 0, &mut Vec::new()), None);
    }

    #[test]
    fn two_snapshots_and_an_abandoned_one() {
        let mut db = Db::default();
        for i in 0..600 {
            db.set(format!("k{i}").as_bytes(), s("a"), None, 0);
        }
        db.snapshot_begin(1, 0, 0);
        db.set(b"k1", s("b"), None, 0);
        db.snapshot_begin(2, 0, 0);
        db.snapshot_begin(3, 0, 0);
        db.set(b"k1", s("c"), None, 0);
        db.remove(b"k2");
        db.snapshot_drop(3);
        let one = walk(&mut db, 1);
        let two = walk(&mut db, 2);
        assert_eq!(one.len(), 600);
        assert!(one.contains(&("k1".into(), "a".into(), None)));
        assert_eq!(two.len(), 600);
        assert!(two.contains(&("k1".into(), "b".into(), None)));
        assert!(two.contains(&("k2".into(), "a".into(), None)));
    }

    #[test]
    fn flushdb_and_swapdb_during_the_walk() {
        let mut a = Db::default();
        let mut b = Db::default();
        for i in 0..700 {
            a.set(format!("a{i}").as_bytes(), s("a"), None, 0);
            b.set(format!("b{i}").as_bytes(), s("b"), None, 0);
        }
        a.snapshot_begin(1, 0, 0);
        b.snapshot_begin(1, 1, 0);
        let mut out = Vec::new();
        assert_eq!(a.snapshot_step(1, 0, &mut out), Some(false));
        // FLUSHDB on a: the walk gets the old table whole.
        a.clear();
        a.set(b"new", s("x"), None, 0);
        // SWAPDB a b: database 1's copy now lies in a's live part; database
        // 0's (flushed) stays with a, detached.
        Db::swap_contents(&mut a, &mut b);
        while a.snapshot_step(1, 0, &mut out) == Some(false) {}
        let got = strings(std::mem::take(&mut out));
        assert_eq!(got.len(), 700);
        assert!(got.iter().all(|(k, v, _)| k.starts_with('a') && v == "a"));
        let mut out = Vec::new();
        while a.snapshot_step(1, 1, &mut out) == Some(false) {}
        let got = strings(out);
        assert_eq!(got.len(), 700);
        assert!(got.iter().all(|(k, v, _)| k.starts_with('b') && v == "b"));
    }
}
