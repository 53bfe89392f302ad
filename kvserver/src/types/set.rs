//! The set value.

use super::encoding::set_max_intset_entries;
use super::Str;

/// A set: members by position for O(1) random members and index cursors
/// (see `member_set.rs`). Members are [`Str`]s (a short one takes no
/// allocation of its own, and lies in the hash table's bucket).
#[derive(Debug, Clone, Default)]
pub struct SetObj {
    pub set: crate::types::member_set::MemberSet,
    /// Not an intset any more (a non-integer member, or too many): sticky,
    /// as in Redis 7.0 (which has no listpack sets yet).
    pub big: bool,
}

impl SetObj {
    /// Adds `m`; true if it is new.
    pub fn insert(&mut self, m: &[u8]) -> bool {
        // A short member is a Str without an allocation: one lookup; a
        // long one is only copied when new.
        if m.len() > Str::INLINE && self.set.contains(m) {
            return false;
        }
        self.insert_str(Str::new(m))
    }

    /// Adds an owned member (no copy); true if it is new.
    pub fn insert_str(&mut self, m: Str) -> bool {
        let big = !self.big && crate::util::parse_i64(&m).is_none();
        if !self.set.insert(m) {
            return false;
        }
        if big || (!self.big && self.set.len() > set_max_intset_entries()) {
            self.big = true;
        }
        true
    }

    /// Removes `m` (swapping the last member in: O(1)); true if it was there.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        self.set.swap_remove(m)
    }

    pub fn encoding(&self) -> &'static str {
        if self.big {
            "hashtable"
        } else {
            "intset"
        }
    }
}
