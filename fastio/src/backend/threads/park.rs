//! Ops parked until their socket is ready.
//!
//! A socket op that would block is never retried in a loop: it is put here,
//! the socket is armed in the poller's epoll set (EPOLLONESHOT, one
//! registration per fd covering every op waiting on it), and when epoll says
//! the socket is ready the poller takes the waiting ops back and tries them
//! again. This is the userspace twin of the module's poll arming on the
//! socket's wait queue.

use super::exec::Interest;
use crate::abi::Sqe;
use crate::sys::Epoll;
use std::collections::{HashMap, VecDeque};

/// An op waiting for readiness: which of the poller's rings it came from
/// and the entry itself (copied once, at submission).
#[derive(Debug, Clone, Copy)]
pub struct Parked {
    pub ring: usize,
    pub sqe: Sqe,
}

#[derive(Default)]
struct Waiters {
    read: VecDeque<Parked>,
    write: VecDeque<Parked>,
    /// The fd has a registration in the epoll set (possibly disarmed).
    registered: bool,
}

#[derive(Default)]
pub struct ParkTable {
    fds: HashMap<i32, Waiters>,
    count: usize,
}

const READ_EVENTS: u32 = (libc::EPOLLIN | libc::EPOLLRDHUP) as u32;
const WRITE_EVENTS: u32 = libc::EPOLLOUT as u32;
const ERROR_EVENTS: u32 = (libc::EPOLLERR | libc::EPOLLHUP) as u32;

impl ParkTable {
    /// Ops parked right now.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Parks `op` until its fd is ready for `interest`. On failure to arm
    /// (the fd was closed meanwhile, or cannot be polled) the op is handed
    /// back with the errno it should complete with.
    pub fn park(
        &mut self,
        ep: &Epoll,
        interest: Interest,
        op: Parked,
    ) -> Result<(), (Parked, i32)> {
        let fd = op.sqe.fd;
        let w = self.fds.entry(fd).or_default();
        match interest {
            Interest::Read => w.read.push_back(op),
            Interest::Write => w.write.push_back(op),
        }
        self.count += 1;
        if let Err(e) = Self::arm(ep, fd, w) {
            let op = match interest {
                Interest::Read => w.read.pop_back(),
                Interest::Write => w.write.pop_back(),
            };
            self.count -= 1;
            return Err((
                op.unwrap_or(Parked {
                    ring: 0,
                    sqe: Sqe::default(),
                }),
                e,
            ));
        }
        Ok(())
    }

    /// Takes the ops that `events` (from epoll, for `fd`) may have made
    /// runnable, oldest first, and re-arms the fd for the ones still waiting.
    pub fn take(&mut self, ep: &Epoll, fd: i32, events: u32) -> Vec<Parked> {
        let Some(w) = self.fds.get_mut(&fd) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if events & (READ_EVENTS | ERROR_EVENTS) != 0 {
            out.extend(w.read.drain(..));
        }
        if events & (WRITE_EVENTS | ERROR_EVENTS) != 0 {
            out.extend(w.write.drain(..));
        }
        self.count -= out.len();
        if !w.read.is_empty() || !w.write.is_empty() {
            // Disarmed by EPOLLONESHOT; the remaining direction still waits.
            // If re-arming fails the fd is gone: hand those ops back too.
            if Self::arm(ep, fd, w).is_err() {
                self.count -= w.read.len() + w.write.len();
                out.extend(w.read.drain(..));
                out.extend(w.write.drain(..));
            }
        }
        out
    }

    /// Removes every op parked on `fd` and its epoll registration (before
    /// the fd is closed through the ring).
    pub fn cancel(&mut self, ep: &Epoll, fd: i32) -> Vec<Parked> {
        let Some(mut w) = self.fds.remove(&fd) else {
            return Vec::new();
        };
        if w.registered {
            ep.ctl(libc::EPOLL_CTL_DEL, fd, 0, 0);
        }
        let out: Vec<Parked> = w.read.drain(..).chain(w.write.drain(..)).collect();
        self.count -= out.len();
        out
    }

    fn arm(ep: &Epoll, fd: i32, w: &mut Waiters) -> Result<(), i32> {
        let mut events = libc::EPOLLONESHOT as u32;
        if !w.read.is_empty() {
            events |= READ_EVENTS;
        }
        if !w.write.is_empty() {
            events |= WRITE_EVENTS;
        }
        let data = fd as u32 as u64;
        // A registration survives in epoll only while the file is open, so
        // "registered" may be stale after a close behind our back: fall back
        // from MOD to ADD and the other way round.
        let (first, second) = if w.registered {
            (libc::EPOLL_CTL_MOD, libc::EPOLL_CTL_ADD)
        } else {
            (libc::EPOLL_CTL_ADD, libc::EPOLL_CTL_MOD)
        };
        let mut r = ep.ctl(first, fd, events, data);
        if r == -libc::ENOENT || r == -libc::EEXIST {
            r = ep.ctl(second, fd, events, data);
        }
        if r < 0 {
            w.registered = false;
            return Err(-r);
        }
        w.registered = true;
        Ok(())
    }
}
