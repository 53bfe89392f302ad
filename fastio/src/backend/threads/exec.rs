//! Executing one submission entry with libc, the way a poller or a blocking
//! worker of the threads backend does it.
//!
//! Pointers in an entry come from the submitter, who promised when pushing it
//! (`Ring::push` is `unsafe`) that they stay valid until the completion. They
//! are passed to the kernel, never dereferenced here: a bad pointer gives
//! `-EFAULT` in the completion, not a crash.

use crate::abi::{self, op, Sqe};
use crate::sys::result;

/// What a poller's non-blocking attempt came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Finished: post this result.
    Done(i32),
    /// The socket is not ready: park the op until it is.
    WouldBlock(Interest),
    /// The op may sleep (file I/O, fsync): hand it to a blocking worker.
    Offload,
}

/// Which readiness a parked op waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interest {
    Read,
    Write,
}

const DONTWAIT: i32 = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;

fn buf(sqe: &Sqe) -> *mut libc::c_void {
    sqe.addr as usize as *mut libc::c_void
}

fn would_block(res: i32, interest: Interest) -> Outcome {
    if res == -libc::EAGAIN || res == -libc::EWOULDBLOCK {
        Outcome::WouldBlock(interest)
    } else {
        Outcome::Done(res)
    }
}

/// True if `fd` is a socket, `Err(errno)` if it is no open fd at all.
fn is_socket(fd: i32) -> Result<bool, i32> {
    // SAFETY: fstat writes into a zeroed, live stat struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid out-pointer; the kernel validates `fd`.
    if unsafe { libc::fstat(fd, &mut st) } < 0 {
        return Err(crate::sys::errno());
    }
    Ok(st.st_mode & libc::S_IFMT == libc::S_IFSOCK)
}

fn recv(sqe: &Sqe, flags: i32) -> i32 {
    recv_raw(sqe.fd, sqe.addr, sqe.len, flags)
}

fn recv_raw(fd: i32, addr: u64, len: u32, flags: i32) -> i32 {
    // SAFETY: buffer validity is the submitter's promise (see module doc; a
    // group's buffers: `Ring::register_buf_ring`'s); the kernel checks the
    // range and fails with EFAULT if it is not mapped.
    result(unsafe { libc::recv(fd, addr as usize as *mut libc::c_void, len as usize, flags) })
}

/// A non-blocking receive into a buffer a group supplied.
pub fn recv_into(fd: i32, addr: u64, len: u32, op_flags: u32) -> i32 {
    recv_raw(fd, addr, len, op_flags as i32 | DONTWAIT)
}

/// Whether a receive on `fd` would find something (data, end of stream or
/// an error) without taking it: -EAGAIN when nothing is there yet. Used
/// only when a group is empty, to tell "wait for the socket" from "wait
/// for buffers".
pub fn peek_ready(fd: i32) -> i32 {
    let mut b = [0u8; 1];
    // SAFETY: a one-byte buffer on our stack.
    result(unsafe { libc::recv(fd, b.as_mut_ptr().cast(), 1, libc::MSG_PEEK | DONTWAIT) })
}

fn send(sqe: &Sqe, flags: i32) -> i32 {
    // SAFETY: as for recv; the kernel only reads the buffer.
    result(unsafe { libc::send(sqe.fd, buf(sqe), sqe.len as usize, flags) })
}

fn sendv(sqe: &Sqe, flags: i32) -> i32 {
    // SAFETY: msghdr is plain data; zeroed is a valid empty header.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = sqe.addr as usize as *mut libc::iovec;
    msg.msg_iovlen = sqe.len as usize; // <= FASTIO_MAX_IOVECS (validated)
                                       // SAFETY: the kernel copies the iovec array in with copy_from_user and
                                       // checks every element; a bad pointer gives EFAULT.
    result(unsafe { libc::sendmsg(sqe.fd, &msg, flags) })
}

fn accept(sqe: &Sqe) -> i32 {
    // accept4 has no MSG_DONTWAIT: make the listener non-blocking so that a
    // poller racing another acceptor for one connection gets EAGAIN instead
    // of sleeping. (The kernel module passes O_NONBLOCK to kernel_accept and
    // needs no such side effect.)
    // SAFETY: fcntl on an fd number; the kernel validates it.
    let fl = unsafe { libc::fcntl(sqe.fd, libc::F_GETFL) };
    if fl < 0 {
        return -crate::sys::errno();
    }
    if fl & libc::O_NONBLOCK == 0 {
        // SAFETY: as above.
        unsafe { libc::fcntl(sqe.fd, libc::F_SETFL, fl | libc::O_NONBLOCK) };
    }
    let addr = sqe.addr as usize as *mut libc::sockaddr;
    let len = sqe.off as usize as *mut libc::socklen_t;
    // SAFETY: addr/len are null or submitter-provided out-pointers, checked
    // by the kernel (EFAULT); flags were validated to SOCK_NONBLOCK|CLOEXEC.
    result(unsafe { libc::accept4(sqe.fd, addr, len, sqe.op_flags as i32) } as isize)
}

/// A poller's attempt: never sleeps. CLOSE and TIMEOUT are the poller's own
/// business (they touch its parking and timer state) and are not handled here.
pub fn try_nonblocking(sqe: &Sqe) -> Outcome {
    if sqe.flags & abi::FASTIO_SQE_ASYNC != 0 {
        return Outcome::Offload;
    }
    let flags = sqe.op_flags as i32 | DONTWAIT;
    match sqe.opcode {
        op::NOP => Outcome::Done(0),
        op::RECV => would_block(recv(sqe, flags), Interest::Read),
        op::SEND => would_block(send(sqe, flags), Interest::Write),
        op::SENDV => would_block(sendv(sqe, flags), Interest::Write),
        op::ACCEPT => would_block(accept(sqe), Interest::Read),
        op::READ | op::WRITE => match is_socket(sqe.fd) {
            Err(e) => Outcome::Done(-e),
            Ok(false) => Outcome::Offload,
            Ok(true) if sqe.opcode == op::READ => would_block(recv(sqe, DONTWAIT), Interest::Read),
            Ok(true) => would_block(send(sqe, DONTWAIT), Interest::Write),
        },
        op::FSYNC => Outcome::Offload,
        _ => Outcome::Done(-libc::EINVAL),
    }
}

/// Waits (on a blocking worker) until `fd` is ready for `events`.
fn wait_ready(fd: i32, events: i16) {
    let mut p = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: one live pollfd.
    unsafe { libc::poll(&mut p, 1, -1) };
}

/// Runs a socket op to completion on a blocking worker, sleeping in poll(2)
/// between attempts if the socket is non-blocking and not ready.
fn until_ready(fd: i32, events: i16, mut attempt: impl FnMut() -> i32) -> i32 {
    loop {
        let r = attempt();
        if r != -libc::EAGAIN {
            return r;
        }
        wait_ready(fd, events);
    }
}

/// A blocking worker's execution: may sleep as long as the op needs.
pub fn blocking(sqe: &Sqe) -> i32 {
    let fl = sqe.op_flags as i32 | libc::MSG_NOSIGNAL;
    match sqe.opcode {
        op::NOP => 0,
        op::READ | op::WRITE => {
            let (fd, p, n) = (sqe.fd, buf(sqe), sqe.len as usize);
            let off = sqe.off as libc::off_t;
            let at_position = sqe.off == abi::FASTIO_OFF_CURRENT;
            // SAFETY: buffer validity is the submitter's promise; the kernel
            // checks the range (EFAULT). WRITE only reads the buffer.
            let r = unsafe {
                match (sqe.opcode == op::READ, at_position) {
                    (true, true) => libc::read(fd, p, n),
                    (true, false) => libc::pread(fd, p, n, off),
                    (false, true) => libc::write(fd, p, n),
                    (false, false) => libc::pwrite(fd, p, n, off),
                }
            };
            result(r)
        }
        op::FSYNC => {
            // SAFETY: plain syscalls on an fd number.
            let r = unsafe {
                if sqe.op_flags & abi::FASTIO_FSYNC_DATASYNC != 0 {
                    libc::fdatasync(sqe.fd)
                } else {
                    libc::fsync(sqe.fd)
                }
            };
            result(r as isize)
        }
        op::RECV => until_ready(sqe.fd, libc::POLLIN, || recv(sqe, sqe.op_flags as i32)),
        op::SEND => until_ready(sqe.fd, libc::POLLOUT, || send(sqe, fl)),
        op::SENDV => until_ready(sqe.fd, libc::POLLOUT, || sendv(sqe, fl)),
        op::ACCEPT => until_ready(sqe.fd, libc::POLLIN, || accept(sqe)),
        // SAFETY: closing an fd number is memory-safe; ownership of the fd is
        // the submitter's business, as with close(2).
        op::CLOSE => result(unsafe { libc::close(sqe.fd) } as isize),
        _ => -libc::EINVAL,
    }
}
