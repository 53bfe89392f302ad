//! Single-producer / single-consumer queues over shared memory.
//!
//! One `Producer` and one `Consumer` share a ring header and an entry array
//! that live in memory both sides can see (an anonymous mapping for the
//! userspace backends, pages of /dev/fastio for the kernel backend). Indices
//! are free-running `u32`s; entry `i` is slot `i & mask`.
//!
//! Ordering protocol (the same as io_uring's):
//! - the producer writes the entry, then stores `tail` with Release;
//! - the consumer loads `tail` with Acquire, copies the entry out once, then
//!   stores `head` with Release so the producer may reuse the slot;
//! - the producer loads `head` with Acquire before reusing a slot.
//!
//! Each side keeps its own copy of the index it owns and of `mask`, and never
//! trusts the other side's index beyond `entries` ahead: a corrupted header
//! can make a consumer read stale entries (which are validated like any
//! other input), never read or write outside the mapping.

use crate::abi::{Cqe, RingHdr, Sqe};
use std::marker::PhantomData;
use std::mem::offset_of;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// The submission ring is full: reap completions (or wait), then retry.
/// This is the documented backpressure of FastIO: nothing is dropped, the
/// caller keeps the entry and decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingFull;

impl std::fmt::Display for RingFull {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("submission ring is full")
    }
}

impl std::error::Error for RingFull {}

/// Raw pointers into one ring (header + entries). Shared by both ends.
pub struct RawQueue<T> {
    hdr: *mut u8,
    entries: *mut T,
    mask: u32,
    _marker: PhantomData<T>,
}

// SAFETY: a RawQueue only points at memory kept alive by its owner (see
// `RawQueue::new`); all shared fields are accessed through atomics, and entry
// slots are handed over with the acquire/release protocol described above.
unsafe impl<T: Send> Send for RawQueue<T> {}
// SAFETY: as above; the header words are atomics.
unsafe impl<T: Send> Sync for RawQueue<T> {}

impl<T: Copy> RawQueue<T> {
    /// # Safety
    /// `hdr` must point to a `fastio_ring_hdr` and `entries` to `nr` slots of
    /// `T`, both valid, aligned and alive for as long as this queue and every
    /// producer or consumer made from it exist. `nr` must be a power of two.
    /// The header's `ring_mask`/`ring_entries` are written here.
    pub unsafe fn new(hdr: *mut u8, entries: *mut T, nr: u32) -> Self {
        debug_assert!(nr.is_power_of_two());
        let q = RawQueue {
            hdr,
            entries,
            mask: nr - 1,
            _marker: PhantomData,
        };
        q.word(offset_of!(RingHdr, ring_mask))
            .store(nr - 1, Ordering::Relaxed);
        q.word(offset_of!(RingHdr, ring_entries))
            .store(nr, Ordering::Relaxed);
        q
    }

    /// Attaches to a ring whose header was initialised by someone else (the
    /// kernel). The mask is taken from `nr`, which the caller got from setup,
    /// not from the shared header.
    ///
    /// # Safety
    /// As for [`RawQueue::new`].
    pub unsafe fn attach(hdr: *mut u8, entries: *mut T, nr: u32) -> Self {
        RawQueue {
            hdr,
            entries,
            mask: nr - 1,
            _marker: PhantomData,
        }
    }

    fn word(&self, off: usize) -> &AtomicU32 {
        // SAFETY: `off` is a field offset inside fastio_ring_hdr, which is
        // 4-byte aligned and alive for our lifetime (constructor contract).
        unsafe { &*(self.hdr.add(off) as *const AtomicU32) }
    }

    fn head(&self) -> &AtomicU32 {
        self.word(offset_of!(RingHdr, head))
    }

    fn tail(&self) -> &AtomicU32 {
        self.word(offset_of!(RingHdr, tail))
    }

    /// The header's flag word (`FASTIO_SQ_*` / `FASTIO_CQ_*`).
    pub fn flags(&self) -> &AtomicU32 {
        self.word(offset_of!(RingHdr, flags))
    }

    /// Entries the consumer skipped because the header was inconsistent.
    pub fn dropped(&self) -> &AtomicU32 {
        self.word(offset_of!(RingHdr, dropped))
    }

    /// Completions that went through the overflow backlog.
    pub fn overflow(&self) -> &AtomicU64 {
        // SAFETY: `overflow` is 8-byte aligned within the header (checked by
        // the layout test) and the header is alive for our lifetime.
        unsafe { &*(self.hdr.add(offset_of!(RingHdr, overflow)) as *const AtomicU64) }
    }

    /// The published tail, for futex waits on it.
    pub fn tail_word(&self) -> &AtomicU32 {
        self.tail()
    }

    pub fn entries(&self) -> u32 {
        self.mask + 1
    }

    /// Entries published and not yet consumed, as seen right now.
    pub fn len(&self) -> u32 {
        let tail = self.tail().load(Ordering::Acquire);
        let head = self.head().load(Ordering::Acquire);
        tail.wrapping_sub(head).min(self.entries())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Splits the queue into its two ends. Call once per ring; each end must
    /// then be used by one thread at a time (they are `Send`, not `Sync`).
    pub fn producer(&self) -> Producer<T> {
        Producer {
            q: self.clone_raw(),
            tail: self.tail().load(Ordering::Acquire),
            head: self.head().load(Ordering::Acquire),
        }
    }

    pub fn consumer(&self) -> Consumer<T> {
        Consumer {
            q: self.clone_raw(),
            head: self.head().load(Ordering::Acquire),
            tail: self.tail().load(Ordering::Acquire),
        }
    }

    fn clone_raw(&self) -> RawQueue<T> {
        RawQueue {
            hdr: self.hdr,
            entries: self.entries,
            mask: self.mask,
            _marker: PhantomData,
        }
    }
}

/// The producing end: writes entries and publishes them.
pub struct Producer<T> {
    q: RawQueue<T>,
    /// Next index to write (published up to the last `publish`).
    tail: u32,
    /// Last head seen: slots before it are free.
    head: u32,
}

impl<T: Copy> Producer<T> {
    /// Free slots, refreshing the consumer's head if needed.
    pub fn space(&mut self) -> u32 {
        self.head = self.q.head().load(Ordering::Acquire);
        self.q.entries() - self.tail.wrapping_sub(self.head).min(self.q.entries())
    }

    /// Writes `entry` into the next slot without publishing it.
    pub fn push(&mut self, entry: &T) -> Result<(), RingFull> {
        if self.tail.wrapping_sub(self.head) >= self.q.entries() {
            self.head = self.q.head().load(Ordering::Acquire);
            if self.tail.wrapping_sub(self.head) >= self.q.entries() {
                return Err(RingFull);
            }
        }
        let slot = (self.tail & self.q.mask) as usize;
        // SAFETY: slot <= mask < entries, within the array (constructor
        // contract); the consumer has released it (head acquired above).
        unsafe { self.q.entries.add(slot).write_volatile(*entry) };
        self.tail = self.tail.wrapping_add(1);
        Ok(())
    }

    /// Makes every pushed entry visible to the consumer.
    pub fn publish(&mut self) {
        self.q.tail().store(self.tail, Ordering::Release);
    }

    /// Entries pushed but not yet published.
    pub fn unpublished(&self) -> u32 {
        self.tail
            .wrapping_sub(self.q.tail().load(Ordering::Relaxed))
    }

    pub fn queue(&self) -> &RawQueue<T> {
        &self.q
    }
}

/// The consuming end: copies entries out and releases their slots.
pub struct Consumer<T> {
    q: RawQueue<T>,
    head: u32,
    tail: u32,
}

impl<T: Copy> Consumer<T> {
    /// Reloads the producer's tail, never believing it more than a ring
    /// ahead of us: a bogus tail is counted in `dropped` and clamped.
    fn refresh_tail(&mut self) -> u32 {
        self.tail = self.q.tail().load(Ordering::Acquire);
        let ahead = self.tail.wrapping_sub(self.head);
        if ahead > self.q.entries() {
            self.q.dropped().fetch_add(1, Ordering::Relaxed);
            self.tail = self.head.wrapping_add(self.q.entries());
            return self.q.entries();
        }
        ahead
    }

    /// Copies out the next entry, if any, and releases its slot.
    pub fn pop(&mut self) -> Option<T> {
        if self.head == self.tail && self.refresh_tail() == 0 {
            return None;
        }
        let slot = (self.head & self.q.mask) as usize;
        // SAFETY: slot < entries; the producer published this slot (tail
        // acquired above) and will not touch it until we release head.
        let entry = unsafe { self.q.entries.add(slot).read_volatile() };
        self.head = self.head.wrapping_add(1);
        self.q.head().store(self.head, Ordering::Release);
        Some(entry)
    }

    /// Entries ready to pop.
    pub fn ready(&mut self) -> u32 {
        self.refresh_tail()
    }

    pub fn queue(&self) -> &RawQueue<T> {
        &self.q
    }
}

/// Submission side of a ring pair.
pub type SqProducer = Producer<Sqe>;
pub type SqConsumer = Consumer<Sqe>;
/// Completion side of a ring pair.
pub type CqProducer = Producer<Cqe>;
pub type CqConsumer = Consumer<Cqe>;

#[cfg(test)]
mod tests {
    use super::*;

    /// A header plus `n` u64 slots in one heap block, for single-thread tests.
    struct Mem {
        hdr: Box<[u64; 32]>,
        slots: Vec<u64>,
    }

    fn queue(n: u32) -> (Mem, RawQueue<u64>) {
        let mut mem = Mem {
            hdr: Box::new([0; 32]),
            slots: vec![0; n as usize],
        };
        // SAFETY: both allocations outlive the queue within each test.
        let q =
            unsafe { RawQueue::new(mem.hdr.as_mut_ptr() as *mut u8, mem.slots.as_mut_ptr(), n) };
        (mem, q)
    }

    #[test]
    fn empty_full_and_wrap_around() {
        let (_mem, q) = queue(4);
        let mut p = q.producer();
        let mut c = q.consumer();
        assert_eq!(c.pop(), None, "new ring is empty");
        // Go round the ring many times, so the u32 indices and slots wrap.
        let mut next = 0u64;
        let mut expect = 0u64;
        for round in 0..1000 {
            let burst = 1 + round % 4;
            for _ in 0..burst {
                p.push(&next).unwrap();
                next += 1;
            }
            if burst == 4 {
                assert_eq!(p.push(&999), Err(RingFull), "a fifth entry must not fit");
            }
            assert_eq!(c.pop(), None, "nothing visible before publish");
            p.publish();
            for _ in 0..burst {
                assert_eq!(c.pop(), Some(expect));
                expect += 1;
            }
            assert_eq!(c.pop(), None);
        }
    }

    #[test]
    fn indices_wrap_past_u32_max() {
        let (mem, q) = queue(8);
        // Start both indices just below the u32 wrap point.
        let start = u32::MAX - 3;
        let words = mem.hdr.as_ptr() as *mut u32;
        // SAFETY: head is word 0 and tail word 16 of the header block.
        unsafe {
            *words = start;
            *words.add(16) = start;
        }
        let mut p = q.producer();
        let mut c = q.consumer();
        for i in 0..8u64 {
            p.push(&i).unwrap();
        }
        assert_eq!(p.push(&8), Err(RingFull));
        p.publish();
        assert_eq!(c.ready(), 8);
        for i in 0..8u64 {
            assert_eq!(c.pop(), Some(i));
        }
        assert_eq!(p.space(), 8);
        drop(mem);
    }

    #[test]
    fn garbage_tail_is_bounded_and_counted() {
        let (mem, q) = queue(4);
        let words = mem.hdr.as_ptr() as *mut u32;
        // SAFETY: tail is word 16 of the header block.
        unsafe { *words.add(16) = 1_000_000 };
        let mut c = q.consumer();
        // One look at the bogus tail yields at most one ring's worth of
        // (stale, to-be-validated) entries, never an index past the array.
        assert_eq!(c.ready(), 4);
        for _ in 0..4 {
            assert!(c.pop().is_some());
        }
        assert_eq!(q.dropped().load(Ordering::Relaxed), 1);
    }
}
