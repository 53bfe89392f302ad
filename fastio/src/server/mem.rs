//! The allocator's own count of the bytes the process has in use, for a
//! server's `maxmemory` (Redis's `used_memory` is its allocator's count,
//! not the RSS, which does not shrink when memory is freed).

/// Bytes allocated with malloc and not yet freed (glibc's `mallinfo2`:
/// in-use bytes of the arenas plus mmapped chunks). None where the C
/// library offers no such count (the caller falls back to the RSS).
///
/// It walks the allocator's free lists: call it at a steady rate (a
/// server's periodic tick), not per request.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn heap_in_use() -> Option<u64> {
    // SAFETY: mallinfo2 takes no arguments and returns a plain struct by
    // value; glibc locks each arena while it reads it.
    let mi = unsafe { libc::mallinfo2() };
    Some(mi.uordblks as u64 + mi.hblkhd as u64)
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn heap_in_use() -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_an_allocation() {
        let Some(before) = super::heap_in_use() else {
            return;
        };
        // Other tests of this process allocate and free concurrently, so
        // compare with a wide margin: 64 MiB in, at least 32 MiB counted.
        let v = vec![1u8; 64 << 20];
        let during = super::heap_in_use().unwrap_or(0);
        assert!(during >= before + (32 << 20), "{before} {during}");
        drop(v);
    }
}
