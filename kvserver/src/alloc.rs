//! The memory allocator, chosen at build time (cargo features; docs/
//! BENCHMARKS.md "Allocators" says why jemalloc is the default), and what
//! INFO, MEMORY and maxmemory read from it: the bytes in use (Redis's
//! `used_memory`), the pages it holds, its own statistics, and a purge.
//!
//! - `jemalloc` (default, as Redis on Linux): freed pages go back to the
//!   system from a background thread within seconds (`dirty_decay_ms`),
//!   so RSS comes down after a burst of connections or a big value.
//! - `mimalloc`: measured, not adopted.
//! - neither (`--no-default-features`): the C library's malloc.

#[cfg(feature = "jemalloc")]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read before `main`: a background thread returns
/// unused dirty pages (Redis's `jemalloc-bg-thread yes`).
#[cfg(feature = "jemalloc")]
#[allow(non_upper_case_globals)]
#[export_name = "_rjem_malloc_conf"]
pub static malloc_conf: &[u8; 23] = b"background_thread:true\0";

#[cfg(all(feature = "mimalloc", not(feature = "jemalloc")))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// INFO memory's `mem_allocator`.
pub const NAME: &str = if cfg!(feature = "jemalloc") {
    "jemalloc-5.3.0"
} else if cfg!(feature = "mimalloc") {
    "mimalloc"
} else {
    "libc"
};

/// The allocator's figures (bytes): what the program has allocated and
/// not freed, the pages holding it (allocated plus fragmentation), and
/// the pages it has from the system (active plus its caches). Zero where
/// the allocator does not say.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    pub allocated: u64,
    pub active: u64,
    pub resident: u64,
}

/// Bytes in use by the program as the allocator counts them (Redis's
/// `used_memory`), or None where it cannot say (the caller falls back to
/// the RSS). Reads the allocator's aggregated statistics: call at a
/// steady rate (a tick, INFO), not per command.
pub fn used() -> Option<u64> {
    #[cfg(feature = "jemalloc")]
    {
        Some(stats().allocated)
    }
    #[cfg(not(feature = "jemalloc"))]
    {
        if cfg!(feature = "mimalloc") {
            None
        } else {
            fastio::server::mem::heap_in_use()
        }
    }
}

/// The allocator's figures now.
pub fn stats() -> Stats {
    #[cfg(feature = "jemalloc")]
    {
        use tikv_jemalloc_ctl::{epoch, stats};
        // The counters are refreshed when the epoch advances.
        let _ = epoch::advance();
        Stats {
            allocated: stats::allocated::read().unwrap_or(0) as u64,
            active: stats::active::read().unwrap_or(0) as u64,
            resident: stats::resident::read().unwrap_or(0) as u64,
        }
    }
    #[cfg(not(feature = "jemalloc"))]
    {
        let allocated = used().unwrap_or(0);
        Stats {
            allocated,
            active: allocated,
            resident: crate::util::rss_bytes(),
        }
    }
}

/// MEMORY PURGE: gives the system back the free pages the allocator holds.
pub fn purge() {
    #[cfg(feature = "jemalloc")]
    {
        // Every arena (MALLCTL_ARENAS_ALL = 4096).
        // SAFETY: the name is NUL-terminated, and "arena.<i>.purge" takes
        // and returns nothing: every pointer is null, every length 0.
        let _ = unsafe {
            tikv_jemalloc_sys::mallctl(
                c"arena.4096.purge".as_ptr(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                0,
            )
        };
    }
    #[cfg(all(
        not(feature = "jemalloc"),
        not(feature = "mimalloc"),
        target_env = "gnu"
    ))]
    {
        // SAFETY: malloc_trim takes a size and touches only the allocator's
        // own state, under its locks.
        unsafe { libc::malloc_trim(0) };
    }
}

/// MEMORY MALLOC-STATS: the allocator's own report, or None.
pub fn report() -> Option<String> {
    #[cfg(feature = "jemalloc")]
    {
        let mut out = Vec::new();
        let _ = epoch_advance();
        tikv_jemalloc_ctl::stats_print::stats_print(&mut out, Default::default()).ok()?;
        Some(String::from_utf8_lossy(&out).into_owned())
    }
    #[cfg(not(feature = "jemalloc"))]
    {
        None
    }
}

#[cfg(feature = "jemalloc")]
fn epoch_advance() -> Option<u64> {
    tikv_jemalloc_ctl::epoch::advance().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_an_allocation_and_purges() {
        let Some(before) = used() else {
            return;
        };
        let v = vec![1u8; 8 << 20];
        // Other tests allocate and free meanwhile: only the order of size.
        let during = used().unwrap();
        assert!(during >= 8 << 20, "{before} -> {during}");
        drop(v);
        purge();
        let s = stats();
        assert!(s.active >= s.allocated && s.resident >= s.active, "{s:?}");
    }
}
