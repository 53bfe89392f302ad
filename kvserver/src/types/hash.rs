//! The hash value.

use super::encoding::{hash_max_entries, hash_max_value};
use super::{Hasher, Str};

/// A hash: an insertion-ordered map (so a small hash lists its fields in
/// the order Redis's listpack would, until a delete; and random fields and
/// HSCAN positions are O(1) by index). Fields and values are [`Str`]s, so
/// a short one (up to 22 bytes) takes no allocation of its own.
#[derive(Debug, Clone, Default)]
pub struct HashObj {
    pub map: indexmap::IndexMap<Str, Str, Hasher>,
    /// Redis converted it to a hashtable (too many or too long fields).
    /// Sticky: Redis never converts back.
    pub big: bool,
}

impl HashObj {
    /// Sets `field`; true if it is new.
    pub fn insert(&mut self, field: &[u8], value: Str) -> bool {
        if !self.big && (field.len() > hash_max_value() || value.len() > hash_max_value()) {
            self.big = true;
        }
        let new = if field.len() <= Str::INLINE {
            // A short field is a Str without an allocation: one lookup.
            match self.map.entry(Str::new(field)) {
                indexmap::map::Entry::Occupied(mut o) => {
                    o.insert(value);
                    false
                }
                indexmap::map::Entry::Vacant(v) => {
                    v.insert(value);
                    true
                }
            }
        } else {
            match self.map.get_mut(field) {
                Some(v) => {
                    *v = value;
                    false
                }
                None => {
                    self.map.insert(Str::new(field), value);
                    true
                }
            }
        };
        if !self.big && self.map.len() > hash_max_entries() {
            self.big = true;
        }
        new
    }

    /// Removes `field`; true if it was there. A small hash keeps its order
    /// (as a listpack does); a big one swaps the last entry in (O(1)).
    pub fn remove(&mut self, field: &[u8]) -> bool {
        if self.big {
            self.map.swap_remove(field).is_some()
        } else {
            self.map.shift_remove(field).is_some()
        }
    }

    pub fn encoding(&self) -> &'static str {
        if self.big {
            "hashtable"
        } else {
            "listpack"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_hashes_keep_insertion_order_on_delete() {
        let mut h = HashObj::default();
        for f in ["a", "b", "c", "d"] {
            h.insert(f.as_bytes(), Str::new(b"v"));
        }
        h.remove(b"b");
        let order: Vec<&[u8]> = h.map.keys().map(|k| k.as_ref()).collect();
        assert_eq!(order, [&b"a"[..], b"c", b"d"]);
    }
}
