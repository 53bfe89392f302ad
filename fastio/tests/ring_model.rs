//! Property tests: the SPSC queue against a simple model, and random
//! submission entries against the validation rules and a live backend.

mod common;

use common::*;
use fastio::abi::{self, op, Cqe, Sqe};
use fastio::ring::{RawQueue, RingFull};
use proptest::prelude::*;
use std::collections::VecDeque;
use std::os::fd::AsRawFd;
use std::time::Duration;

#[derive(Debug, Clone)]
enum Step {
    Push(u8),
    Publish,
    Pop(u8),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (1u8..12).prop_map(Step::Push),
        Just(Step::Publish),
        (1u8..12).prop_map(Step::Pop),
    ]
}

proptest! {
    /// Any interleaving of pushes, publishes and pops behaves like a bounded
    /// FIFO whose consumer only sees what was published.
    #[test]
    fn queue_matches_a_bounded_fifo_model(
        log2 in 0u32..4,
        steps in prop::collection::vec(step(), 1..200),
    ) {
        let slots = 1u32 << log2;
        let mut hdr = vec![0u64; 32];
        let mut mem = vec![Cqe::default(); slots as usize];
        // SAFETY: both buffers outlive the queue and its two ends.
        let q = unsafe { RawQueue::new(hdr.as_mut_ptr().cast(), mem.as_mut_ptr(), slots) };
        let (mut p, mut c) = (q.producer(), q.consumer());
        let mut published: VecDeque<u64> = VecDeque::new();
        let mut pending: VecDeque<u64> = VecDeque::new();
        let mut next = 0u64;
        for s in steps {
            match s {
                Step::Push(n) => for _ in 0..n {
                    let full = published.len() + pending.len() == slots as usize;
                    let r = p.push(&Cqe { user_data: next, res: 0, flags: 0 });
                    if full {
                        prop_assert_eq!(r, Err(RingFull));
                    } else {
                        prop_assert_eq!(r, Ok(()));
                        pending.push_back(next);
                        next += 1;
                    }
                },
                Step::Publish => {
                    p.publish();
                    published.extend(pending.drain(..));
                }
                Step::Pop(n) => for _ in 0..n {
                    prop_assert_eq!(c.pop().map(|e| e.user_data), published.pop_front());
                },
            }
        }
        drop(hdr);
    }
}

/// Entries with random opcodes, flags, lengths and reserved fields, aimed at
/// fds that cannot block: every one completes, with the same verdict the
/// validation rules give, and nothing panics.
fn random_sqe() -> impl Strategy<Value = (u8, u8, u32, u32, u64, bool, u8)> {
    (
        prop_oneof![0u8..abi::op::LAST, any::<u8>()],
        prop_oneof![Just(0u8), any::<u8>()],
        prop_oneof![0u32..64, any::<u32>()],
        prop_oneof![Just(0u32), any::<u32>()],
        prop_oneof![Just(0u64), 0u64..2_000_000],
        any::<bool>(),
        0u8..3,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn random_entries_complete_with_errors_not_panics(
        entries in prop::collection::vec(random_sqe(), 1..24)
    ) {
        let file = tempfile::tempfile().unwrap();
        let mut buf = vec![0u8; 64];
        for b in backends() {
            let (_f, mut ring) = one_ring(&config(b));
            for (i, &(opcode, flags, len, op_flags, off, resv, fd_kind)) in entries.iter().enumerate() {
                let fd = match fd_kind {
                    0 => -1,
                    1 => 1_000_000,
                    _ => file.as_raw_fd(),
                };
                let mut e = Sqe {
                    opcode,
                    // ASYNC would send pipe-less ops to workers: still fine.
                    flags,
                    fd,
                    addr: buf.as_mut_ptr() as u64,
                    // Never beyond our buffer unless validation must refuse it.
                    len: if len > abi::FASTIO_MAX_IO_LEN { len } else { len.min(64) },
                    op_flags,
                    off,
                    user_data: i as u64,
                    ..Default::default()
                };
                if resv {
                    e.resv1[1] = 1;
                }
                // Ops that would act on a real fd in ways other tests could
                // see (closing it, accepting on it) only get the bad fds.
                if matches!(opcode, op::CLOSE | op::ACCEPT | op::SENDV) && fd_kind == 2 {
                    e.fd = 1_000_000;
                }
                if opcode == op::TIMEOUT {
                    e.off %= 1_000_000;
                }
                let verdict = fastio::validate::check(&e);
                // SAFETY: addr is `buf` (alive) with len <= 64, or the entry
                // is refused by validation before any pointer is used; SENDV
                // only ever meets a bad fd.
                let c = unsafe { run_one(&mut ring, e) };
                prop_assert_eq!(c.user_data, i as u64);
                if let Err(errno) = verdict {
                    prop_assert_eq!(c.res, -errno, "{:?} on {:?}", e, b);
                }
            }
            ring.wait(0, Some(Duration::ZERO)).unwrap();
        }
    }
}
