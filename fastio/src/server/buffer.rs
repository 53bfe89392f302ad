//! The per-connection buffer of the proactor server, and how it is recycled
//! without allocating.
//!
//! The cycle is: `recv` fills a `BytesMut`; `freeze()` turns it into `Bytes`
//! for `send_all`; the send completion hands the `Bytes` back, and
//! `Bytes::try_into_mut` turns it into a `BytesMut` again because nobody else
//! holds a reference.
//!
//! Whether that allocates depends on the `BytesMut`'s internal kind. A fresh
//! `BytesMut::with_capacity` is Vec-backed, and `freeze()` of a Vec-backed
//! buffer that is not exactly full allocates a small shared header every
//! time (bytes 1.x `From<Vec<u8>>`), which `try_into_mut` frees again: one
//! malloc/free pair per message. A buffer that is already in the shared
//! (Arc) representation freezes and thaws by moving pointers only. So each
//! connection's buffer is put into that representation once, when it is
//! created; `tests/no_alloc.rs` checks the cycle allocates nothing.

use bytes::{Bytes, BytesMut};

/// Initial (and, in practice, permanent) capacity of a connection buffer.
pub const CONN_BUF_CAPACITY: usize = 16 * 1024;

/// A new, empty connection buffer of [`CONN_BUF_CAPACITY`] bytes, already in
/// the representation that freezes and thaws without allocating.
pub fn conn_buffer() -> BytesMut {
    let mut buf = BytesMut::with_capacity(CONN_BUF_CAPACITY);
    // Splitting off an empty head promotes the buffer to the shared
    // representation (one small allocation, here, once per connection);
    // dropping the head leaves `buf` the only owner.
    drop(buf.split_to(0));
    buf
}

/// Turns a buffer given back by a send completion into an empty buffer for
/// the next recv, reusing its memory. Falls back to a new buffer only if
/// someone else still holds a reference (never the case in the servers).
pub fn recycle(sent: Bytes) -> BytesMut {
    match sent.try_into_mut() {
        Ok(mut buf) => {
            buf.clear();
            buf
        }
        Err(_) => conn_buffer(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recycling_keeps_the_same_memory_and_capacity() {
        let mut buf = conn_buffer();
        let base = buf.as_ptr();
        for n in [1, 100, CONN_BUF_CAPACITY - 1, CONN_BUF_CAPACITY] {
            buf.resize(n, 7);
            let sent = buf.freeze();
            assert_eq!(sent.len(), n);
            buf = recycle(sent);
            assert_eq!(buf.as_ptr(), base, "len {n}: memory was not reused");
            assert_eq!(buf.len(), 0);
            assert!(buf.capacity() >= CONN_BUF_CAPACITY);
        }
    }

    #[test]
    fn a_shared_buffer_is_not_reused() {
        let mut buf = conn_buffer();
        buf.extend_from_slice(b"hello");
        let sent = buf.freeze();
        let other = sent.clone();
        let fresh = recycle(sent);
        assert_eq!(fresh.len(), 0);
        assert_eq!(&other[..], b"hello", "the other holder's bytes are intact");
    }
}
