//! Setup parameters: validation and the memory map of a ring pair.
//!
//! The kernel module applies the same rules in C; the userspace backends use
//! these functions so that a bad `fastio.conf` fails the same way everywhere.

use crate::abi::{self, MmapOffsets, Params, RingHdr};
use std::mem::size_of;

/// Page size used for ring layout. Rings are mapped per page, and 4 KiB is
/// the smallest page Linux uses on the targets we build for.
pub const PAGE_SIZE: u32 = 4096;

/// Why setup parameters were rejected (maps to `-EINVAL` in the module).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadParams(pub String);

impl std::fmt::Display for BadParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid FastIO setup parameters: {}", self.0)
    }
}

impl std::error::Error for BadParams {}

fn bad<T>(msg: String) -> Result<T, BadParams> {
    Err(BadParams(msg))
}

/// Checks every input field of `p` and returns a copy with `cq_entries`
/// resolved and `off` filled in, exactly as `FASTIO_IOC_SETUP` does.
pub fn validate(p: &Params) -> Result<Params, BadParams> {
    if p.version != abi::FASTIO_ABI_VERSION {
        return bad(format!(
            "ABI version {} (this build speaks {})",
            p.version,
            abi::FASTIO_ABI_VERSION
        ));
    }
    if p.flags != 0 || p.resv0 != 0 || p.resv1 != [0; 4] {
        return bad("unknown flags or non-zero reserved fields".into());
    }
    let sq = p.sq_entries;
    if sq == 0 || sq > abi::FASTIO_MAX_ENTRIES || !sq.is_power_of_two() {
        return bad(format!(
            "sq_entries {sq}: must be a power of two in 1..={}",
            abi::FASTIO_MAX_ENTRIES
        ));
    }
    let cq = if p.cq_entries == 0 {
        sq * 2
    } else {
        p.cq_entries
    };
    if cq < sq || cq > 2 * abi::FASTIO_MAX_ENTRIES || !cq.is_power_of_two() {
        return bad(format!(
            "cq_entries {cq}: must be a power of two in {sq}..={}",
            2 * abi::FASTIO_MAX_ENTRIES
        ));
    }
    if p.nr_rings == 0 || p.nr_rings > abi::FASTIO_MAX_RINGS {
        return bad(format!(
            "nr_rings {}: must be in 1..={}",
            p.nr_rings,
            abi::FASTIO_MAX_RINGS
        ));
    }
    for (name, v) in [
        ("max_ker_worker", p.max_ker_worker),
        ("max_wq_worker", p.max_wq_worker),
    ] {
        if v == 0 || v > abi::FASTIO_MAX_WORKERS {
            return bad(format!(
                "{name} {v}: must be in 1..={}",
                abi::FASTIO_MAX_WORKERS
            ));
        }
    }
    if p.idle_us > abi::FASTIO_MAX_IDLE_US {
        return bad(format!(
            "idle_us {}: at most {}",
            p.idle_us,
            abi::FASTIO_MAX_IDLE_US
        ));
    }
    if p.affinity_offset < -1 {
        return bad(format!(
            "affinity_offset {}: -1 (unpinned) or a CPU number",
            p.affinity_offset
        ));
    }
    let mut out = *p;
    out.cq_entries = cq;
    out.off = offsets(sq, cq);
    Ok(out)
}

/// The layout of one ring pair: two headers, then the SQE array, then the
/// CQE array, the whole rounded up to a page. Entry counts are bounded by
/// `validate`, so the arithmetic cannot overflow a u32.
pub fn offsets(sq_entries: u32, cq_entries: u32) -> MmapOffsets {
    // 256 rather than 192: keeps each header on its own group of cache lines
    // (and the SQE array 64-byte aligned) on CPUs with 128-byte prefetch pairs.
    let hdr = (size_of::<RingHdr>() as u32).next_multiple_of(256);
    let sq_hdr = 0;
    let cq_hdr = hdr;
    let sqes = 2 * hdr;
    let cqes = sqes + sq_entries * size_of::<abi::Sqe>() as u32;
    let end = cqes + cq_entries * size_of::<abi::Cqe>() as u32;
    MmapOffsets {
        sq_hdr,
        cq_hdr,
        sqes,
        cqes,
        ring_size: end.next_multiple_of(PAGE_SIZE),
        resv: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> Params {
        Params {
            version: abi::FASTIO_ABI_VERSION,
            sq_entries: 8,
            nr_rings: 1,
            max_ker_worker: 1,
            max_wq_worker: 1,
            affinity_offset: -1,
            ..Default::default()
        }
    }

    #[test]
    fn resolves_cq_entries_and_offsets() {
        let p = validate(&good()).unwrap();
        assert_eq!(p.cq_entries, 16);
        assert_eq!(p.off.sqes, 512);
        assert_eq!(p.off.cqes, 512 + 8 * 64);
        assert_eq!(p.off.ring_size, 4096);
    }

    #[test]
    fn rejects_each_bad_field() {
        let cases: Vec<fn(&mut Params)> = vec![
            |p| p.version = 99,
            |p| p.flags = 1,
            |p| p.resv0 = 1,
            |p| p.resv1[3] = 1,
            |p| p.sq_entries = 0,
            |p| p.sq_entries = 3,
            |p| p.sq_entries = abi::FASTIO_MAX_ENTRIES * 2,
            |p| p.cq_entries = 4,
            |p| p.cq_entries = 24,
            |p| p.nr_rings = 0,
            |p| p.nr_rings = abi::FASTIO_MAX_RINGS + 1,
            |p| p.max_ker_worker = 0,
            |p| p.max_wq_worker = abi::FASTIO_MAX_WORKERS + 1,
            |p| p.idle_us = abi::FASTIO_MAX_IDLE_US + 1,
            |p| p.affinity_offset = -2,
        ];
        for (i, mutate) in cases.iter().enumerate() {
            let mut p = good();
            mutate(&mut p);
            assert!(validate(&p).is_err(), "case {i} accepted: {p:?}");
        }
    }

    #[test]
    fn largest_layout_fits() {
        let off = offsets(abi::FASTIO_MAX_ENTRIES, 2 * abi::FASTIO_MAX_ENTRIES);
        assert!(off.cqes > off.sqes && off.ring_size >= off.cqes);
        assert_eq!(off.ring_size % PAGE_SIZE, 0);
    }
}
