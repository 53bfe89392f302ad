//! The values: one type per Redis data type, each a leaf that knows nothing
//! of keys, locks, persistence or networking.
//!
//! [`Value`] is what a key holds; its collections are boxed so that it is
//! 24 bytes, the size of a [`Str`] (the keyspace holds one per key).
//! `str.rs` holds [`Str`], the byte string of keys and elements (inline up
//! to 22 bytes, else boxed); [`packed_list`] the list, [`hash`] the hash,
//! [`set`] and [`member_set`] the set, [`sorted_set`] the sorted set (a
//! member map plus a counted B+tree), [`stream`] the stream; [`memory`]
//! estimates MEMORY USAGE; [`encoding`] holds Redis's encoding thresholds
//! (CONFIG SET changes them).
//!
//! May import only `util`. Start reading at [`Value`] and [`Str`]. See
//! docs/kvserver/types.md.

pub mod encoding;
pub mod hash;
pub mod member_set;
pub mod memory;
pub mod packed_list;
pub mod set;
pub mod sorted_set;
pub mod str;
pub mod stream;

pub use hash::HashObj;
pub use set::SetObj;
pub use str::Str;

/// The hasher of the collections inside values (hashbrown's fast default).
pub type Hasher = hashbrown::DefaultHashBuilder;

/// Strings up to this length are `embstr` (one allocation with the object).
pub const EMBSTR_MAX: usize = 44;

/// A value: one variant per Redis type, each type's commands in its own
/// file of `cmd/`. Collections are boxed so a `Value` is a string plus its
/// tag (24 bytes), not the size of the largest collection header (the
/// keyspace holds one per key).
#[derive(Debug, Clone)]
pub enum Value {
    String(Str),
    List(Box<crate::types::packed_list::PackedList>),
    Hash(Box<HashObj>),
    Set(Box<SetObj>),
    ZSet(Box<crate::types::sorted_set::ZSetObj>),
    Stream(Box<crate::types::stream::Stream>),
}

/// A command met a key of another type (the caller replies WRONGTYPE).
#[derive(Debug)]
pub struct WrongType;

impl Value {
    /// The string, if this is one (None for the other types: the caller
    /// replies WRONGTYPE).
    pub fn as_str(&self) -> Option<&Str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_list(&mut self) -> Option<&mut crate::types::packed_list::PackedList> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    pub fn as_hash(&mut self) -> Option<&mut HashObj> {
        match self {
            Value::Hash(h) => Some(h),
            _ => None,
        }
    }

    pub fn as_set(&mut self) -> Option<&mut SetObj> {
        match self {
            Value::Set(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_zset(&mut self) -> Option<&mut crate::types::sorted_set::ZSetObj> {
        match self {
            Value::ZSet(z) => Some(z),
            _ => None,
        }
    }

    pub fn as_stream(&mut self) -> Option<&mut crate::types::stream::Stream> {
        match self {
            Value::Stream(s) => Some(s),
            _ => None,
        }
    }

    /// The name TYPE reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            Value::Stream(_) => "stream",
        }
    }

    /// What OBJECT ENCODING reports, by Redis 7.0's rules: strings are
    /// `int` (an integer string2ll accepts), `embstr` (up to 44 bytes) or
    /// `raw`; lists are always `quicklist` in 7.0; hashes `listpack` until
    /// 512 fields (redis-server 7.0's built-in default; its sample redis.conf says 128) or a 64-byte field/value; sets `intset` while all members
    /// are integers and at most 512.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::String(s) => {
                if s.len() <= 20 && crate::util::parse_i64(s).is_some() {
                    "int"
                } else if s.len() <= EMBSTR_MAX {
                    "embstr"
                } else {
                    "raw"
                }
            }
            Value::List(_) => "quicklist",
            Value::Hash(h) => h.encoding(),
            Value::Set(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
            Value::Stream(_) => "stream",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::encoding::{
        HASH_MAX_LISTPACK_ENTRIES, HASH_MAX_LISTPACK_VALUE, SET_MAX_INTSET_ENTRIES,
    };
    use super::*;

    fn s(v: &str) -> Value {
        Value::String(Str::new(v.as_bytes()))
    }

    #[test]
    fn encodings_follow_redis_thresholds_and_stick() {
        let mut set = SetObj::default();
        for i in 0..SET_MAX_INTSET_ENTRIES {
            set.insert(i.to_string().as_bytes());
        }
        assert_eq!(set.encoding(), "intset");
        set.insert(b"512");
        assert_eq!(set.encoding(), "hashtable", "more than 512 members");
        set.remove(b"512");
        assert_eq!(set.encoding(), "hashtable", "never converts back");
        let mut s2 = SetObj::default();
        s2.insert(b"007");
        assert_eq!(s2.encoding(), "hashtable", "not a canonical integer");

        let mut h = HashObj::default();
        for i in 0..HASH_MAX_LISTPACK_ENTRIES {
            h.insert(i.to_string().as_bytes(), Str::new(b"v"));
        }
        assert_eq!(h.encoding(), "listpack");
        h.insert(b"one-more", Str::new(b"v"));
        assert_eq!(h.encoding(), "hashtable");
        let mut h2 = HashObj::default();
        h2.insert(b"f", Str::from(vec![b'x'; HASH_MAX_LISTPACK_VALUE + 1]));
        assert_eq!(h2.encoding(), "hashtable");

        assert_eq!(s("12345").encoding(), "int");
        assert_eq!(s("-0").encoding(), "embstr");
        assert_eq!(s(&"x".repeat(44)).encoding(), "embstr");
        assert_eq!(s(&"x".repeat(45)).encoding(), "raw");
        assert_eq!(Value::List(Box::default()).encoding(), "quicklist");
    }
}
