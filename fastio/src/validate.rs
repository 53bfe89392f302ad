//! Checks on one submission entry before it is executed. Every backend runs
//! these first, so a bad entry fails the same way everywhere: with a
//! completion carrying `-EINVAL`, never a panic and never a dropped entry.

use crate::abi::{self, op, Sqe};

/// SOCK_* flags ACCEPT may pass on to accept4.
const ACCEPT_FLAGS: u32 = (libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) as u32;

/// Returns `Err(errno)` (positive) if the entry must not be executed.
pub fn check(sqe: &Sqe) -> Result<(), i32> {
    let einval = Err(libc::EINVAL);
    if sqe.opcode >= op::LAST || sqe.flags & !abi::FASTIO_SQE_VALID_FLAGS != 0 {
        return einval;
    }
    if sqe.resv1 != [0; 3] {
        return einval;
    }
    let select = sqe.flags & abi::FASTIO_SQE_BUFFER_SELECT != 0;
    let multi = sqe.flags & abi::FASTIO_SQE_MULTISHOT != 0;
    let async_ = sqe.flags & abi::FASTIO_SQE_ASYNC != 0;
    if select {
        // The worker supplies the buffer: no address, a known group, and a
        // poller (a blocking worker has no group to take from).
        if sqe.opcode != op::RECV
            || sqe.addr != 0
            || sqe.buf_group as u32 >= abi::FASTIO_MAX_BUF_GROUPS
            || async_
        {
            return einval;
        }
    } else if sqe.buf_group != 0 {
        return einval;
    }
    if multi {
        let ok = match sqe.opcode {
            // One address buffer cannot serve many connections.
            op::ACCEPT => sqe.addr == 0 && sqe.off == 0,
            // Each completion fills at most one buffer (len 0); WAITALL
            // would make one wait for a whole buffer.
            op::RECV => select && sqe.len == 0 && sqe.op_flags & libc::MSG_WAITALL as u32 == 0,
            _ => false,
        };
        if !ok || async_ {
            return einval;
        }
    }
    match sqe.opcode {
        op::RECV | op::SEND | op::READ | op::WRITE if sqe.len > abi::FASTIO_MAX_IO_LEN => einval,
        op::SENDV if sqe.len > abi::FASTIO_MAX_IOVECS => einval,
        op::RECV | op::SEND | op::SENDV if sqe.op_flags & !abi::FASTIO_MSG_FLAGS != 0 => einval,
        op::ACCEPT if sqe.op_flags & !ACCEPT_FLAGS != 0 => einval,
        op::FSYNC if sqe.op_flags & !abi::FASTIO_FSYNC_DATASYNC != 0 => einval,
        // A relative timeout must fit a timespec; a negative one is a bug.
        op::TIMEOUT if sqe.off > i64::MAX as u64 => einval,
        _ => Ok(()),
    }
}

/// Checks a buffer group registration (`FASTIO_IOC_REGISTER_BUFS`) for a
/// context of `nr_rings` ring pairs, as the module does.
pub fn check_buf_reg(reg: &abi::BufReg, nr_rings: u32) -> Result<(), i32> {
    let page = 4096u64;
    let ok = reg.ring < nr_rings
        && (reg.bgid as u32) < abi::FASTIO_MAX_BUF_GROUPS
        && reg.ring_entries.is_power_of_two()
        && reg.ring_entries <= abi::FASTIO_MAX_BUF_ENTRIES
        && reg.ring_addr != 0
        && reg.ring_addr % page == 0
        && reg.flags == 0
        && reg.resv == [0; 3];
    if ok {
        Ok(())
    } else {
        Err(libc::EINVAL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffer_group_registrations() {
        let ok = abi::BufReg {
            ring_addr: 0x10000,
            ring_entries: 8,
            ring: 1,
            bgid: 63,
            ..Default::default()
        };
        assert_eq!(check_buf_reg(&ok, 2), Ok(()));
        for bad in [
            abi::BufReg { ring: 2, ..ok },
            abi::BufReg { bgid: 64, ..ok },
            abi::BufReg {
                ring_entries: 6,
                ..ok
            },
            abi::BufReg {
                ring_entries: 0,
                ..ok
            },
            abi::BufReg {
                ring_entries: 65536,
                ..ok
            },
            abi::BufReg {
                ring_addr: 0x10010,
                ..ok
            },
            abi::BufReg { ring_addr: 0, ..ok },
            abi::BufReg { flags: 1, ..ok },
            abi::BufReg {
                resv: [0, 1, 0],
                ..ok
            },
        ] {
            assert_eq!(check_buf_reg(&bad, 2), Err(libc::EINVAL), "{bad:?}");
        }
    }

    #[test]
    fn rejects_what_no_backend_can_run() {
        let ok = Sqe {
            opcode: op::RECV,
            len: 16,
            ..Default::default()
        };
        assert_eq!(check(&ok), Ok(()));
        let peek = Sqe {
            op_flags: libc::MSG_PEEK as u32 | libc::MSG_WAITALL as u32,
            ..ok
        };
        assert_eq!(check(&peek), Ok(()));
        let select = Sqe {
            flags: abi::FASTIO_SQE_BUFFER_SELECT | abi::FASTIO_SQE_MULTISHOT,
            buf_group: 63,
            len: 0,
            ..ok
        };
        assert_eq!(check(&select), Ok(()));
        let multi_accept = Sqe {
            opcode: op::ACCEPT,
            flags: abi::FASTIO_SQE_MULTISHOT,
            ..Default::default()
        };
        assert_eq!(check(&multi_accept), Ok(()));
        let bad = [
            Sqe {
                opcode: op::LAST,
                ..ok
            },
            Sqe { opcode: 200, ..ok },
            Sqe { flags: 0x80, ..ok },
            Sqe { buf_group: 1, ..ok },
            // BUFFER_SELECT: RECV only, no address, a group in range, not
            // on a blocking worker.
            Sqe {
                flags: abi::FASTIO_SQE_BUFFER_SELECT,
                addr: 8,
                ..ok
            },
            Sqe {
                flags: abi::FASTIO_SQE_BUFFER_SELECT,
                buf_group: abi::FASTIO_MAX_BUF_GROUPS as u16,
                ..ok
            },
            Sqe {
                flags: abi::FASTIO_SQE_BUFFER_SELECT | abi::FASTIO_SQE_ASYNC,
                ..ok
            },
            Sqe {
                opcode: op::SEND,
                flags: abi::FASTIO_SQE_BUFFER_SELECT,
                ..ok
            },
            // MULTISHOT: ACCEPT, or RECV with BUFFER_SELECT and no WAITALL.
            Sqe {
                flags: abi::FASTIO_SQE_MULTISHOT,
                ..ok
            },
            Sqe {
                flags: abi::FASTIO_SQE_MULTISHOT | abi::FASTIO_SQE_BUFFER_SELECT,
                op_flags: libc::MSG_WAITALL as u32,
                ..ok
            },
            Sqe {
                opcode: op::SEND,
                flags: abi::FASTIO_SQE_MULTISHOT,
                ..ok
            },
            Sqe {
                flags: abi::FASTIO_SQE_MULTISHOT | abi::FASTIO_SQE_BUFFER_SELECT,
                len: 100,
                ..ok
            },
            Sqe {
                opcode: op::ACCEPT,
                flags: abi::FASTIO_SQE_MULTISHOT,
                addr: 64,
                ..ok
            },
            Sqe {
                opcode: op::ACCEPT,
                flags: abi::FASTIO_SQE_MULTISHOT | abi::FASTIO_SQE_ASYNC,
                ..ok
            },
            Sqe {
                resv1: [0, 0, 1],
                ..ok
            },
            Sqe {
                len: abi::FASTIO_MAX_IO_LEN + 1,
                ..ok
            },
            Sqe {
                len: u32::MAX,
                ..ok
            },
            Sqe {
                opcode: op::SENDV,
                len: abi::FASTIO_MAX_IOVECS + 1,
                ..ok
            },
            Sqe {
                opcode: op::ACCEPT,
                op_flags: 0x1,
                ..ok
            },
            Sqe {
                opcode: op::FSYNC,
                op_flags: 2,
                ..ok
            },
            Sqe {
                opcode: op::TIMEOUT,
                off: u64::MAX,
                ..ok
            },
        ];
        for sqe in bad {
            assert_eq!(check(&sqe), Err(libc::EINVAL), "{sqe:?}");
        }
    }
}
