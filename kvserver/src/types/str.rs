//! The byte string of keys, string values and collection elements.

use bytes::Bytes;

/// A short byte string stored inline, or a boxed one: the keys of the
/// keyspace, the values of string keys, list elements and hash fields and
/// values. Up to [`Str::INLINE`] bytes (`key:123456`, a 16-byte value, any
/// integer) take no allocation of their own; longer ones one exact-size
/// box. Dereferences to `[u8]`, and compares and hashes as its bytes (so
/// a map keyed by `Str` is looked up by `&[u8]`).
#[derive(Clone)]
pub enum Str {
    Inline { len: u8, buf: [u8; Str::INLINE] },
    Heap(Box<[u8]>),
}

impl Str {
    /// The longest string kept inline (the enum stays 24 bytes, the same
    /// as `Box<[u8]>` plus its tag, and `Value` with it).
    pub const INLINE: usize = 22;

    pub fn new(v: &[u8]) -> Str {
        if v.len() <= Str::INLINE {
            let mut buf = [0; Str::INLINE];
            buf[..v.len()].copy_from_slice(v);
            Str::Inline {
                len: v.len() as u8,
                buf,
            }
        } else {
            Str::Heap(v.into())
        }
    }

    /// The bytes as a vector (to grow or edit them), reusing the box.
    pub fn into_vec(self) -> Vec<u8> {
        match self {
            Str::Inline { len, buf } => buf[..len as usize].to_vec(),
            Str::Heap(b) => b.into_vec(),
        }
    }
}

impl From<Vec<u8>> for Str {
    fn from(v: Vec<u8>) -> Str {
        if v.len() <= Str::INLINE {
            Str::new(&v)
        } else {
            Str::Heap(v.into_boxed_slice())
        }
    }
}

impl From<&[u8]> for Str {
    fn from(v: &[u8]) -> Str {
        Str::new(v)
    }
}

impl Default for Str {
    fn default() -> Str {
        Str::Inline {
            len: 0,
            buf: [0; Str::INLINE],
        }
    }
}

impl std::ops::Deref for Str {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Str::Inline { len, buf } => &buf[..*len as usize],
            Str::Heap(b) => b,
        }
    }
}

impl std::ops::DerefMut for Str {
    fn deref_mut(&mut self) -> &mut [u8] {
        match self {
            Str::Inline { len, buf } => &mut buf[..*len as usize],
            Str::Heap(b) => b,
        }
    }
}

impl PartialEq for Str {
    fn eq(&self, other: &Str) -> bool {
        **self == **other
    }
}

impl Eq for Str {}

impl PartialEq<[u8]> for Str {
    fn eq(&self, other: &[u8]) -> bool {
        **self == *other
    }
}

impl PartialEq<&[u8]> for Str {
    fn eq(&self, other: &&[u8]) -> bool {
        **self == **other
    }
}

impl std::hash::Hash for Str {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        // As `[u8]` hashes, so `Borrow<[u8]>` lookups find it.
        (**self).hash(h)
    }
}

impl std::borrow::Borrow<[u8]> for Str {
    fn borrow(&self) -> &[u8] {
        self
    }
}

impl From<&Bytes> for Str {
    fn from(v: &Bytes) -> Str {
        Str::new(v)
    }
}

impl AsRef<[u8]> for Str {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl std::fmt::Debug for Str {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", Bytes::copy_from_slice(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{HashObj, SetObj};

    #[test]
    fn str_inline_and_heap() {
        for n in [0, 1, Str::INLINE, Str::INLINE + 1, 1000] {
            let v: Vec<u8> = (0..n).map(|i| i as u8).collect();
            let a = Str::new(&v);
            assert_eq!(&*a, &v[..]);
            assert_eq!(matches!(a, Str::Inline { .. }), n <= Str::INLINE);
            assert_eq!(Str::from(v.clone()), a);
            assert_eq!(a.into_vec(), v);
        }
    }

    #[test]
    fn str_keys_are_found_by_bytes() {
        // Hash and Eq agree with [u8]'s, inline or boxed.
        let mut h = HashObj::default();
        let long = vec![b'f'; Str::INLINE + 5];
        assert!(h.insert(b"short", Str::new(b"1")));
        assert!(h.insert(&long, Str::new(b"2")));
        assert!(!h.insert(b"short", Str::new(b"3")), "updates in place");
        assert!(!h.insert(&long, Str::new(b"4")));
        assert_eq!(h.map.get(&b"short"[..]).map(|v| &v[..]), Some(&b"3"[..]));
        assert_eq!(h.map.get(&long[..]).map(|v| &v[..]), Some(&b"4"[..]));
        assert_eq!(h.map.len(), 2);
        let mut set = SetObj::default();
        assert!(set.insert(b"m") && set.insert(&long));
        assert!(!set.insert(b"m") && !set.insert(&long));
        assert!(set.set.contains(&b"m"[..]) && set.set.contains(&long[..]));
        assert_eq!(Str::new(b"abc"), &b"abc"[..]);
    }
}
