//! The ring ABI: a `#[repr(C)]` mirror of `kmod/include/uapi/fastio.h`.
//!
//! The C header is the source of truth. `tests/abi_layout.rs` compiles a C
//! program against it and checks every size, field offset, constant and ioctl
//! number below, so the two cannot drift apart silently.

pub const FASTIO_ABI_VERSION: u32 = 2;

pub const FASTIO_MAX_ENTRIES: u32 = 32768;
pub const FASTIO_MAX_RINGS: u32 = 256;
pub const FASTIO_MAX_WORKERS: u32 = 64;
pub const FASTIO_MAX_IDLE_US: u32 = 10_000_000;
pub const FASTIO_MAX_IO_LEN: u32 = 1 << 30;
pub const FASTIO_MAX_IOVECS: u32 = 1024;
pub const FASTIO_MAX_INFLIGHT: u32 = 65536;
pub const FASTIO_MAX_BUF_GROUPS: u32 = 64;
pub const FASTIO_MAX_BUF_ENTRIES: u32 = 32768;
/// MSG_* bits RECV/SEND/SENDV accept in `op_flags`.
pub const FASTIO_MSG_FLAGS: u32 = 0xc9e7;

/// Opcodes (`enum fastio_op`).
pub mod op {
    pub const NOP: u8 = 0;
    pub const ACCEPT: u8 = 1;
    pub const RECV: u8 = 2;
    pub const SEND: u8 = 3;
    pub const SENDV: u8 = 4;
    pub const READ: u8 = 5;
    pub const WRITE: u8 = 6;
    pub const CLOSE: u8 = 7;
    pub const FSYNC: u8 = 8;
    pub const TIMEOUT: u8 = 9;
    /// Not an opcode: the number of opcodes.
    pub const LAST: u8 = 10;

    /// Human-readable opcode name, for tables and error messages.
    pub fn name(op: u8) -> &'static str {
        match op {
            NOP => "NOP",
            ACCEPT => "ACCEPT",
            RECV => "RECV",
            SEND => "SEND",
            SENDV => "SENDV",
            READ => "READ",
            WRITE => "WRITE",
            CLOSE => "CLOSE",
            FSYNC => "FSYNC",
            TIMEOUT => "TIMEOUT",
            _ => "UNKNOWN",
        }
    }
}

pub const FASTIO_OFF_CURRENT: u64 = !0;
pub const FASTIO_FSYNC_DATASYNC: u32 = 1 << 0;

pub const FASTIO_SQE_ASYNC: u8 = 1 << 0;
/// RECV: the worker picks a buffer of group `buf_group` once data is ready.
pub const FASTIO_SQE_BUFFER_SELECT: u8 = 1 << 1;
/// ACCEPT, and RECV with BUFFER_SELECT: one completion per result, with
/// [`FASTIO_CQE_F_MORE`] while the op goes on.
pub const FASTIO_SQE_MULTISHOT: u8 = 1 << 2;
pub const FASTIO_SQE_VALID_FLAGS: u8 =
    FASTIO_SQE_ASYNC | FASTIO_SQE_BUFFER_SELECT | FASTIO_SQE_MULTISHOT;

/// The completion's buffer id is in `flags >> FASTIO_CQE_BUFFER_SHIFT`.
pub const FASTIO_CQE_F_BUFFER: u32 = 1 << 0;
/// A multishot op goes on: more completions with this user_data follow.
pub const FASTIO_CQE_F_MORE: u32 = 1 << 1;
pub const FASTIO_CQE_BUFFER_SHIFT: u32 = 16;

pub const FASTIO_SQ_NEED_WAKEUP: u32 = 1 << 0;
pub const FASTIO_CQ_OVERFLOW: u32 = 1 << 0;
pub const FASTIO_CQ_WAITING: u32 = 1 << 1;

/// Submission entry (`struct fastio_sqe`, 64 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sqe {
    pub opcode: u8,
    pub flags: u8,
    /// With `FASTIO_SQE_BUFFER_SELECT`: the buffer group; else 0.
    pub buf_group: u16,
    pub fd: i32,
    pub off: u64,
    pub addr: u64,
    pub len: u32,
    pub op_flags: u32,
    pub user_data: u64,
    pub resv1: [u64; 3],
}

/// Completion entry (`struct fastio_cqe`, 16 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cqe {
    pub user_data: u64,
    /// Result: a value, or `-errno`.
    pub res: i32,
    pub flags: u32,
}

/// One buffer descriptor of a buffer group (`struct fastio_buf`, 16 bytes).
/// In a group's ring, the `resv` of entry 0 is the producer's 16-bit tail.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BufDesc {
    pub addr: u64,
    pub len: u32,
    pub bid: u16,
    pub resv: u16,
}

/// Byte offset of a buffer ring's tail (`bufs[0].resv`).
pub const BUF_RING_TAIL_OFFSET: usize = 14;

/// Buffer group registration (`struct fastio_buf_reg`, 32 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BufReg {
    pub ring_addr: u64,
    pub ring_entries: u32,
    pub ring: u32,
    pub bgid: u16,
    pub flags: u16,
    pub resv: [u32; 3],
}

/// Ring header (`struct fastio_ring_hdr`, 192 bytes). Only ever accessed
/// through atomics by `ring.rs`; this struct exists for layout checks.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct RingHdr {
    pub head: u32,
    pub pad0: [u32; 15],
    pub tail: u32,
    pub pad1: [u32; 15],
    pub ring_mask: u32,
    pub ring_entries: u32,
    pub flags: u32,
    pub dropped: u32,
    pub overflow: u64,
    pub resv: [u32; 10],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MmapOffsets {
    pub sq_hdr: u32,
    pub cq_hdr: u32,
    pub sqes: u32,
    pub cqes: u32,
    pub ring_size: u32,
    pub resv: u32,
}

/// Setup parameters (`struct fastio_params`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Params {
    pub version: u32,
    pub flags: u32,
    pub sq_entries: u32,
    pub cq_entries: u32,
    pub nr_rings: u32,
    pub max_ker_worker: u32,
    pub max_wq_worker: u32,
    pub idle_us: u32,
    pub affinity_offset: i32,
    pub resv0: u32,
    pub off: MmapOffsets,
    pub resv1: [u64; 4],
}

pub const FASTIO_WORKER_POLLER: u32 = 0;
pub const FASTIO_WORKER_BLOCKING: u32 = 1;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct WorkerArg {
    pub kind: u32,
    pub index: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct WaitArg {
    pub ring: u32,
    pub min_complete: u32,
    pub timeout_ns: u64,
}

/// Per-context counters (`struct fastio_stats`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub submitted: u64,
    pub completed: u64,
    pub invalid: u64,
    pub parked: u64,
    pub requeued: u64,
    pub offloaded: u64,
    pub overflowed: u64,
    pub sleeps: u64,
    pub wakeups: u64,
    pub loops: u64,
    pub resv: [u64; 6],
}

pub const FASTIO_IOC_MAGIC: u32 = 0xFA;

const IOC_WRITE: u32 = 1;
const IOC_READ: u32 = 2;

/// Linux's `_IOC(dir, type, nr, size)` for x86 and arm64.
const fn ioc(dir: u32, nr: u32, size: usize) -> u32 {
    (dir << 30) | ((size as u32) << 16) | (FASTIO_IOC_MAGIC << 8) | nr
}

pub const FASTIO_IOC_SETUP: u32 = ioc(IOC_READ | IOC_WRITE, 1, std::mem::size_of::<Params>());
pub const FASTIO_IOC_RUN_WORKER: u32 = ioc(IOC_WRITE, 2, std::mem::size_of::<WorkerArg>());
pub const FASTIO_IOC_WAKE: u32 = ioc(IOC_WRITE, 3, std::mem::size_of::<u32>());
pub const FASTIO_IOC_WAIT: u32 = ioc(IOC_WRITE, 4, std::mem::size_of::<WaitArg>());
pub const FASTIO_IOC_STATS: u32 = ioc(IOC_READ, 5, std::mem::size_of::<Stats>());
pub const FASTIO_IOC_TEARDOWN: u32 = ioc(0, 6, 0);
pub const FASTIO_IOC_REGISTER_BUFS: u32 = ioc(IOC_WRITE, 7, std::mem::size_of::<BufReg>());
pub const FASTIO_IOC_UNREGISTER_BUFS: u32 = ioc(IOC_WRITE, 8, std::mem::size_of::<BufReg>());

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::size_of;

    #[test]
    fn entry_sizes_are_what_the_header_promises() {
        assert_eq!(size_of::<Sqe>(), 64);
        assert_eq!(size_of::<Cqe>(), 16);
        assert_eq!(size_of::<BufDesc>(), 16);
        assert_eq!(std::mem::offset_of!(BufDesc, resv), BUF_RING_TAIL_OFFSET);
        assert_eq!(size_of::<BufReg>(), 32);
        assert_eq!(size_of::<RingHdr>(), 192);
        assert_eq!(std::mem::offset_of!(RingHdr, tail), 64);
        assert_eq!(std::mem::offset_of!(RingHdr, ring_mask), 128);
    }
}
