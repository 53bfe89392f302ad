//! Buffer pools: the safe side of buffer groups.
//!
//! A [`Pool`] owns `count` buffers of `size` bytes in one mapping and the
//! descriptor ring that offers them to the workers. A receive that selected
//! one completes with a [`PoolBuf`]: the received bytes, readable as a
//! slice, owned by the application until it drops the `PoolBuf`, which
//! hands the buffer back. Returned buffers are published to the group in a
//! batch by the proactor (on `submit`, `wait` and `reap`), not one by one.
//!
//! Why it is sound: a buffer is in exactly one place at a time — offered in
//! the ring (the workers may write it), or in a completion / `PoolBuf` (only
//! the application reads it). The worker gives up a buffer when it posts
//! the completion that names it, and the pool offers it again only after
//! the `PoolBuf` is dropped. The mapping lives as long as the last
//! `PoolBuf` or the pool, whichever is later.

use crate::bufring::BufRing;
use memmap2::MmapMut;
use std::fmt;
use std::io;
use std::ops::Deref;
use std::sync::{Arc, Mutex};

/// The buffers' memory, shared by the pool and the buffers handed out.
struct Memory {
    mem: MmapMut,
    size: usize,
    /// Ids given back by dropped `PoolBuf`s, waiting to be offered again.
    returned: Mutex<Vec<u16>>,
}

impl Memory {
    fn ptr(&self, bid: u16) -> *mut u8 {
        // bid < count, checked where ids come from (`Pool::take`).
        self.mem.as_ptr().wrapping_add(bid as usize * self.size) as *mut u8
    }
}

/// Received bytes in a pool buffer. Dropping it gives the buffer back.
pub struct PoolBuf {
    mem: Arc<Memory>,
    bid: u16,
    len: usize,
}

impl PoolBuf {
    /// The buffer's id in its group.
    pub fn id(&self) -> u16 {
        self.bid
    }
}

impl Deref for PoolBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: the worker filled `len` (<= size) bytes of this buffer and
        // posted its completion: it will not touch it again until we offer it
        // anew, which happens only after this PoolBuf is dropped. The memory
        // is kept alive by `mem`.
        unsafe { std::slice::from_raw_parts(self.mem.ptr(self.bid), self.len) }
    }
}

impl AsRef<[u8]> for PoolBuf {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl fmt::Debug for PoolBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PoolBuf(id {}, {} bytes)", self.bid, self.len)
    }
}

impl Drop for PoolBuf {
    fn drop(&mut self) {
        self.mem
            .returned
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(self.bid);
    }
}

// SAFETY: a PoolBuf is the only holder of its buffer (see the module doc);
// the shared parts are a read-only mapping pointer and a mutex.
unsafe impl Send for PoolBuf {}
// SAFETY: as above; `&PoolBuf` only reads.
unsafe impl Sync for PoolBuf {}

/// One buffer group: its buffers and its descriptor ring.
pub struct Pool {
    pub(crate) bgid: u16,
    ring: BufRing,
    mem: Arc<Memory>,
    count: u16,
    /// Buffers the workers hold or may take (offered, not yet come back in
    /// a completion).
    offered: usize,
}

impl Pool {
    /// `count` buffers (1..=32768) of `size` bytes (1..=FASTIO_MAX_IO_LEN),
    /// all offered.
    pub(crate) fn new(bgid: u16, count: usize, size: usize) -> io::Result<Pool> {
        let max = crate::abi::FASTIO_MAX_BUF_ENTRIES as usize;
        if count == 0 || count > max || size == 0 || size > crate::abi::FASTIO_MAX_IO_LEN as usize {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("a pool holds 1..={max} buffers of 1 byte .. 1 GiB"),
            ));
        }
        let mem = Arc::new(Memory {
            mem: MmapMut::map_anon(count * size)?,
            size,
            returned: Mutex::new(Vec::new()),
        });
        let mut ring = BufRing::new((count as u32).next_power_of_two())?;
        for bid in 0..count as u16 {
            ring.push(mem.ptr(bid), size as u32, bid);
        }
        ring.publish();
        Ok(Pool {
            bgid,
            ring,
            mem,
            count: count as u16,
            offered: count,
        })
    }

    pub(crate) fn ring(&self) -> &BufRing {
        &self.ring
    }

    /// Wraps buffer `bid` that a completion handed back with `len` bytes.
    /// None for an id this pool never offered (a confused worker).
    pub(crate) fn take(&mut self, bid: u16, len: usize) -> Option<PoolBuf> {
        if bid >= self.count {
            return None;
        }
        self.offered = self.offered.saturating_sub(1);
        Some(PoolBuf {
            mem: self.mem.clone(),
            bid,
            len: len.min(self.mem.size),
        })
    }

    /// Offers the buffers dropped since the last call again. Returns how
    /// many.
    pub(crate) fn recycle(&mut self) -> usize {
        let ids = std::mem::take(&mut *self.mem.returned.lock().unwrap_or_else(|e| e.into_inner()));
        for &bid in &ids {
            self.ring.push(self.mem.ptr(bid), self.mem.size as u32, bid);
        }
        self.ring.publish();
        self.offered += ids.len();
        ids.len()
    }

    /// Buffers offered to the workers right now.
    pub fn offered(&self) -> usize {
        self.offered
    }
}
