//! Commands to propagate: what the AOF appends (and, later, what replicas
//! receive), each RESP-encoded with the database it ran in. An execution
//! unit (one command, or a transaction) fills one [`Records`]; its
//! consumer appends it whole, under the unit's shard locks, so the file
//! order is the execution order on every key.

use crate::proto::request::encode;
use std::ops::Range;

/// RESP commands back to back in one buffer, each with its database.
#[derive(Debug, Default)]
pub struct Records {
    buf: Vec<u8>,
    list: Vec<(usize, Range<usize>)>,
}

impl Records {
    /// Appends `args` as a command run in database `db`.
    pub fn push(&mut self, db: usize, args: &[&[u8]]) {
        let start = self.buf.len();
        encode(&mut self.buf, args);
        self.list.push((db, start..self.buf.len()));
    }

    /// Moves every record of `other` to the end of this one.
    pub fn append(&mut self, other: &mut Records) {
        let base = self.buf.len();
        self.buf.extend_from_slice(&other.buf);
        self.list.extend(
            other
                .list
                .drain(..)
                .map(|(db, r)| (db, r.start + base..r.end + base)),
        );
        other.buf.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// How many commands (a script propagates its commands as a
    /// transaction when it ran more than one).
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// The records in order: (database, RESP bytes).
    pub fn iter(&self) -> impl Iterator<Item = (usize, &[u8])> {
        self.list.iter().map(|(db, r)| (*db, &self.buf[r.clone()]))
    }

    pub fn clear(&mut self) {
        self.buf.clear();
        self.list.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_keep_order_and_databases() {
        let mut a = Records::default();
        a.push(0, &[b"SET", b"k", b"v"]);
        let mut b = Records::default();
        b.push(3, &[b"DEL", b"x"]);
        b.push(3, &[b"INCR", b"n"]);
        a.append(&mut b);
        assert!(b.is_empty());
        let all: Vec<(usize, &[u8])> = a.iter().collect();
        assert_eq!(
            all,
            vec![
                (0, &b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"[..]),
                (3, &b"*2\r\n$3\r\nDEL\r\n$1\r\nx\r\n"[..]),
                (3, &b"*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n"[..]),
            ]
        );
        a.clear();
        assert!(a.is_empty());
    }
}
