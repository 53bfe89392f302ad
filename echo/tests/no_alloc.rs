//! The proactor server's per-message buffer cycle (recv into `BytesMut`,
//! freeze for `send_all`, thaw the returned `Bytes` for the next recv) must
//! not allocate. A counting global allocator checks it; this file holds a
//! single test so no other test's allocations are counted.

use fastio_echo::buffer::{conn_buffer, recycle, CONN_BUF_CAPACITY};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Only the test's own thread is counted: the test harness's threads
    /// allocate when they please (output capture, bookkeeping).
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

fn count() {
    if COUNTING.with(|c| c.get()) {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: forwards to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn the_buffer_cycle_allocates_nothing_per_message() {
    let mut buf = conn_buffer();
    let data = vec![5u8; CONN_BUF_CAPACITY];
    let before = ALLOCS.load(Ordering::Relaxed);
    COUNTING.with(|c| c.set(true));
    for i in 0..10_000 {
        // What a recv of n bytes does to the buffer, then the send round.
        let n = 1 + i % CONN_BUF_CAPACITY;
        buf.extend_from_slice(&data[..n]);
        let sent = buf.freeze();
        buf = recycle(sent);
    }
    COUNTING.with(|c| c.set(false));
    let allocs = ALLOCS.load(Ordering::Relaxed) - before;
    assert_eq!(allocs, 0, "allocations in 10000 message cycles");
}
