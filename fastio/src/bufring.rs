//! Buffer rings: the memory of a buffer group, and its two ends.
//!
//! A group (ABI version 2) is an array of `entries` [`BufDesc`]s in the
//! process, laid out as io_uring's provided-buffer rings so the `uring`
//! backend can register it as it is. The process *produces* descriptors of
//! free buffers; a worker *consumes* one when data arrives for an op that
//! asked for `FASTIO_SQE_BUFFER_SELECT`, and hands its id back in the
//! completion (`FASTIO_CQE_F_BUFFER`).
//!
//! - the producer's 16-bit tail overlays entry 0's `resv` (byte 14): it
//!   writes `bufs[tail & mask]`, then stores `tail + 1` with Release;
//! - the consumer keeps its head to itself, loads the tail with Acquire, and
//!   copies a descriptor out once before using it (the process may rewrite
//!   the array at any time; a copy cannot change under the consumer).
//!
//! [`BufRing`] owns the memory (a page-aligned anonymous mapping, as io_uring
//! requires) and is the producer; [`Consumer`] is the worker's view (the
//! `threads` backend's pollers).

use crate::abi::{self, BufDesc};
use memmap2::MmapMut;
use std::io;
use std::sync::atomic::{AtomicU16, Ordering};

/// The tail word of the ring starting at `base`.
///
/// # Safety
/// `base` must point to a live buffer ring (at least one descriptor),
/// aligned for `BufDesc`.
unsafe fn tail_word<'a>(base: *mut BufDesc) -> &'a AtomicU16 {
    // SAFETY: byte 14 of entry 0 is a naturally aligned u16 inside the ring
    // (caller's promise); it is only ever accessed atomically.
    unsafe { &*(base.cast::<u8>().add(abi::BUF_RING_TAIL_OFFSET) as *const AtomicU16) }
}

/// The producer end, owning the descriptor array.
pub struct BufRing {
    mem: MmapMut,
    mask: u16,
    /// Our copy of the tail: the shared word is written, never read back.
    tail: u16,
    /// Descriptors written since the last publish.
    unpublished: u16,
}

impl BufRing {
    /// A ring of `entries` descriptors (a power of two, at most
    /// `FASTIO_MAX_BUF_ENTRIES`), all empty.
    pub fn new(entries: u32) -> io::Result<BufRing> {
        if !entries.is_power_of_two() || entries > abi::FASTIO_MAX_BUF_ENTRIES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "buffer ring entries must be a power of two up to {}",
                    abi::FASTIO_MAX_BUF_ENTRIES
                ),
            ));
        }
        let bytes = entries as usize * std::mem::size_of::<BufDesc>();
        Ok(BufRing {
            mem: MmapMut::map_anon(bytes)?,
            mask: (entries - 1) as u16,
            tail: 0,
            unpublished: 0,
        })
    }

    /// Where the descriptors start (to register the group).
    pub fn addr(&self) -> *mut BufDesc {
        self.mem.as_ptr() as *mut BufDesc
    }

    pub fn entries(&self) -> u32 {
        self.mask as u32 + 1
    }

    /// Writes a descriptor for buffer `bid`; workers see it after
    /// [`BufRing::publish`]. The caller keeps at most `entries` buffers in
    /// the ring (one per id is the simple way): the producer cannot see the
    /// consumer's head, so it cannot check for overwrites itself.
    pub fn push(&mut self, addr: *mut u8, len: u32, bid: u16) {
        let slot = (self.tail.wrapping_add(self.unpublished) & self.mask) as usize;
        let p = self.addr();
        // SAFETY: slot <= mask < entries, inside the mapping. Only the 14
        // bytes before `resv` are written: entry 0's resv is the tail.
        unsafe {
            let d = p.add(slot);
            std::ptr::addr_of_mut!((*d).addr).write_volatile(addr as u64);
            std::ptr::addr_of_mut!((*d).len).write_volatile(len);
            std::ptr::addr_of_mut!((*d).bid).write_volatile(bid);
        }
        self.unpublished = self.unpublished.wrapping_add(1);
    }

    /// Makes pushed descriptors visible to the workers.
    pub fn publish(&mut self) {
        if self.unpublished == 0 {
            return;
        }
        self.tail = self.tail.wrapping_add(self.unpublished);
        self.unpublished = 0;
        // SAFETY: the mapping holds at least one descriptor.
        unsafe { tail_word(self.addr()) }.store(self.tail, Ordering::Release);
    }
}

/// The consumer end: a worker's view of a registered group.
pub struct Consumer {
    base: *mut BufDesc,
    mask: u16,
    head: u16,
}

// SAFETY: the consumer only reads the ring through volatile and atomic
// accesses; the registration's contract keeps the memory alive.
unsafe impl Send for Consumer {}

impl Consumer {
    /// # Safety
    /// `base` must point to `entries` descriptors (a power of two, at most
    /// `FASTIO_MAX_BUF_ENTRIES`), aligned, mapped and alive until this
    /// consumer is dropped.
    pub unsafe fn new(base: *mut BufDesc, entries: u32) -> Consumer {
        Consumer {
            base,
            mask: (entries - 1) as u16,
            head: 0,
        }
    }

    /// Descriptors published and not yet taken. A tail more than `entries`
    /// ahead (a confused or hostile producer) counts as `entries`: old slots
    /// are then read again, which is the producer's problem, never ours.
    pub fn available(&self) -> u32 {
        // SAFETY: `new`'s contract.
        let tail = unsafe { tail_word(self.base) }.load(Ordering::Acquire);
        (tail.wrapping_sub(self.head) as u32).min(self.mask as u32 + 1)
    }

    /// A copy of the next descriptor, without taking it (an op that finds
    /// its socket not ready after all leaves it for later).
    pub fn peek(&self) -> Option<BufDesc> {
        if self.available() == 0 {
            return None;
        }
        let slot = (self.head & self.mask) as usize;
        // SAFETY: slot < entries, inside the ring (`new`'s contract); the
        // copy is taken once and the caller checks it before using it.
        let d = unsafe {
            let d = self.base.add(slot);
            BufDesc {
                addr: std::ptr::addr_of!((*d).addr).read_volatile(),
                len: std::ptr::addr_of!((*d).len).read_volatile(),
                bid: std::ptr::addr_of!((*d).bid).read_volatile(),
                resv: 0,
            }
        };
        Some(d)
    }

    /// Takes the descriptor `peek` returned.
    pub fn advance(&mut self) {
        self.head = self.head.wrapping_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn produced_descriptors_are_consumed_in_order_and_wrap() {
        let mut r = BufRing::new(4).unwrap();
        // SAFETY: the ring outlives the consumer.
        let mut c = unsafe { Consumer::new(r.addr(), r.entries()) };
        assert_eq!(c.peek(), None);
        for round in 0..5u16 {
            for i in 0..4u16 {
                r.push(
                    (0x1000 * (i as usize + 1)) as *mut u8,
                    100 + i as u32,
                    i + round,
                );
            }
            assert_eq!(c.available(), 0, "nothing visible before publish");
            r.publish();
            assert_eq!(c.available(), 4);
            for i in 0..4u16 {
                let d = c.peek().unwrap();
                assert_eq!(
                    (d.addr, d.len, d.bid),
                    (0x1000 * (i as u64 + 1), 100 + i as u32, i + round)
                );
                c.advance();
            }
            assert_eq!(c.peek(), None);
        }
    }

    #[test]
    fn bad_sizes_are_refused() {
        assert!(BufRing::new(3).is_err());
        assert!(BufRing::new(0).is_err());
        assert!(BufRing::new(abi::FASTIO_MAX_BUF_ENTRIES * 2).is_err());
    }
}
