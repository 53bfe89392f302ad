//! Many entries through the rings from several threads at once: nothing lost,
//! nothing duplicated, order kept per ring.

mod common;

use common::*;
use fastio::abi::{op, Cqe, Sqe};
use fastio::ring::RawQueue;
use fastio::Fastio;
use memmap2::MmapMut;
use std::time::Duration;

/// Raw SPSC queue, two threads, four million entries through a 64-slot ring:
/// the consumer must see 0, 1, 2, ... with no gap and no repeat.
#[test]
fn spsc_queue_a_million_entries_in_order() {
    const N: u64 = 1_000_000;
    const SLOTS: u32 = 64;
    let mut mem = MmapMut::map_anon(4096 + SLOTS as usize * 16).unwrap();
    let base = mem.as_mut_ptr();
    // SAFETY: header at 0 and 64 16-byte slots at 4096, all inside `mem`,
    // which outlives both threads (they are joined below).
    let q = unsafe { RawQueue::<Cqe>::new(base, base.add(4096).cast(), SLOTS) };
    let mut producer = q.producer();
    let mut consumer = q.consumer();
    std::thread::scope(|s| {
        s.spawn(move || {
            let mut i = 0;
            while i < N {
                let c = Cqe {
                    user_data: i,
                    res: i as i32,
                    flags: 0,
                };
                if producer.push(&c).is_ok() {
                    i += 1;
                    // Publish in uneven batches to exercise partial batches.
                    if i % 7 == 0 || i == N {
                        producer.publish();
                    }
                } else {
                    producer.publish();
                    // Yield, not spin: in a guest whose vCPUs share one
                    // busy host core, a spinning side keeps the other from
                    // running for a whole time slice per 64 entries.
                    std::thread::yield_now();
                }
            }
        });
        s.spawn(move || {
            let mut expect = 0;
            while expect < N {
                match consumer.pop() {
                    Some(c) => {
                        assert_eq!(c.user_data, expect, "lost or reordered entry");
                        assert_eq!(c.res, expect as i32, "torn entry");
                        expect += 1;
                    }
                    None => std::thread::yield_now(),
                }
            }
            assert!(consumer.pop().is_none(), "duplicate entry after the last");
        });
    });
    drop(mem);
}

/// Four application threads, four rings, two pollers: every NOP completes
/// exactly once on its own ring, in submission order.
#[test]
fn backends_complete_every_op_exactly_once_under_load() {
    const PER_THREAD: u64 = 150_000;
    for b in backends() {
        eprintln!("backend {b:?}");
        let mut cfg = config(b);
        cfg.max_ker_worker = 2;
        cfg.ring_entries = 64;
        let mut f = Fastio::new(&cfg, 4).unwrap();
        let rings = f.take_rings();
        std::thread::scope(|s| {
            for (t, mut ring) in rings.into_iter().enumerate() {
                s.spawn(move || {
                    let tag = (t as u64) << 32;
                    let (mut sent, mut next) = (0u64, 0u64);
                    while next < PER_THREAD {
                        while sent < PER_THREAD && sent - next < 48 {
                            let nop = Sqe {
                                opcode: op::NOP,
                                user_data: tag | sent,
                                ..Default::default()
                            };
                            // SAFETY: NOP carries no pointers.
                            if unsafe { ring.push(&nop) }.is_err() {
                                break;
                            }
                            sent += 1;
                        }
                        ring.wait(1, Some(Duration::from_secs(10))).unwrap();
                        while let Some(c) = ring.pop() {
                            assert_eq!(
                                c.user_data,
                                tag | next,
                                "ring {t}: lost, duplicated or reordered"
                            );
                            assert_eq!(c.res, 0);
                            next += 1;
                        }
                    }
                    assert!(ring.pop().is_none());
                });
            }
        });
        let s = f.stats();
        assert_eq!(s.submitted, 4 * PER_THREAD, "{b:?}: {s:?}");
        assert_eq!(s.completed, 4 * PER_THREAD, "{b:?}: {s:?}");
    }
}
