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
    if sqe.resv0 != 0 || sqe.resv1 != [0; 3] {
        return einval;
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let bad = [
            Sqe {
                opcode: op::LAST,
                ..ok
            },
            Sqe { opcode: 200, ..ok },
            Sqe { flags: 0x80, ..ok },
            Sqe { resv0: 1, ..ok },
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
