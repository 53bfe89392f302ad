//! Cross-thread delivery: one inbox per I/O thread, woken through the rings.
//!
//! A connection belongs to the I/O thread that accepted it: only that thread
//! touches its buffers and starts its operations. When another thread has
//! something for it (a pub/sub message, a MONITOR line, the reply of a
//! blocked command it served, the replies to requests it forwarded to
//! their shards' owner, a request to close it) it posts a [`Msg`] to
//! the owner's inbox, addressed by slab key *and* client id, so a message
//! for a client that is gone (its slot reused) is dropped.
//!
//! The wake goes through the rings too. Every I/O thread keeps a FastIO
//! RECV in flight on its end of an AF_UNIX socketpair; a poster that finds
//! the owner's `wake_pending` false sets it and submits a one-byte SEND to
//! the other end *on its own ring* (`post` says when one is owed; the
//! poster's loop submits it). Only I/O threads post: commands record
//! their deliveries in their effects, and their thread posts them. The
//! owner clears `wake_pending` before draining, so a message posted after
//! the drain always sends a new wake, and one posted before is drained:
//!
//! ```text
//! poster:  push msg (lock) ; if !wake_pending.swap(true) { SEND 1 byte }
//! owner:   RECV completes  ; wake_pending = false ; drain (lock) ; re-arm RECV
//! ```
//!
//! Not an eventfd with READ: on the threads and kernel backends a READ goes
//! to the blocking pool and would park a worker for good; a socket RECV is
//! polled like any connection. Posting to one's own thread needs no wake:
//! the loop drains its inbox after every batch of completions.

use crate::exec::effects::Delivery;
use bytes::Bytes;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Something for the owning thread.
#[derive(Debug)]
pub enum Msg {
    /// For one of its connections (a pub/sub message, a MONITOR line, a
    /// blocked client's reply, a kill), from a command run elsewhere.
    Deliver(Delivery),
    /// Requests for shards this thread owns, from a connection of another
    /// thread (`dispatch.rs`): for this thread, not for a connection.
    Exec(Box<crate::net::dispatch::Forward>),
    /// The replies to a connection's forwarded requests, in order; `appendfsync
    /// always` holds them until the AOF is fsynced up to `aof_need`.
    Executed {
        conn: usize,
        id: u64,
        reply: Bytes,
        aof_need: u64,
    },
}

#[derive(Debug)]
struct Inbox {
    msgs: Mutex<Vec<Msg>>,
    wake_pending: AtomicBool,
    /// The owner sleeps (or is about to) on its ring: a post must wake it.
    /// While it is up it drains after every batch of completions anyway.
    sleeping: AtomicBool,
    /// The end the others send the wake byte to.
    wake_tx: OwnedFd,
}

/// Every I/O thread's inbox.
#[derive(Debug)]
pub struct Mailboxes {
    boxes: Vec<Inbox>,
}

impl Mailboxes {
    /// Inboxes for `threads` I/O threads, and the receiving end of each
    /// one's wake socket (thread i keeps a RECV on the i-th).
    pub fn new(threads: usize) -> io::Result<(Mailboxes, Vec<OwnedFd>)> {
        let mut boxes = Vec::with_capacity(threads);
        let mut rx_ends = Vec::with_capacity(threads);
        for _ in 0..threads {
            let (tx, rx) = UnixStream::pair()?;
            // The backends poll a socket that would block, as for clients.
            tx.set_nonblocking(true)?;
            rx.set_nonblocking(true)?;
            boxes.push(Inbox {
                msgs: Mutex::new(Vec::new()),
                wake_pending: AtomicBool::new(false),
                sleeping: AtomicBool::new(true),
                wake_tx: OwnedFd::from(tx),
            });
            rx_ends.push(OwnedFd::from(rx));
        }
        Ok((Mailboxes { boxes }, rx_ends))
    }

    /// I/O thread `me` posts `msg` to `thread`'s inbox. True when `me` owes
    /// `thread` a wake byte (it sleeps, and no wake is pending), which its
    /// loop sends through its own ring.
    ///
    /// No lost wake: the owner marks itself sleeping *then* looks at its
    /// inbox under the lock ([`Mailboxes::sleep`]); a poster pushes under
    /// the lock *then* reads the mark. Whichever takes the lock second sees
    /// the other's write.
    #[must_use]
    pub fn post(&self, me: usize, thread: usize, msg: Msg) -> bool {
        let Some(b) = self.boxes.get(thread) else {
            return false;
        };
        b.msgs.lock().unwrap_or_else(|e| e.into_inner()).push(msg);
        if me == thread || !b.sleeping.load(Ordering::SeqCst) {
            return false;
        }
        !b.wake_pending.swap(true, Ordering::SeqCst)
    }

    /// Wakes `thread` without a message (the AOF's fsync released replies
    /// it holds). True when `me` owes it a wake byte: unless one is
    /// pending (whether it sleeps or not: it looks only at its inbox
    /// before sleeping).
    #[must_use]
    pub fn wake(&self, me: usize, thread: usize) -> bool {
        if me == thread || thread >= self.boxes.len() {
            return false;
        }
        !self.boxes[thread].wake_pending.swap(true, Ordering::SeqCst)
    }

    /// The fd to send `thread`'s wake byte to.
    pub fn wake_fd(&self, thread: usize) -> Option<RawFd> {
        self.boxes.get(thread).map(|b| b.wake_tx.as_raw_fd())
    }

    /// `thread` is about to wait on its ring: posts from now on wake it.
    /// False if mail is already there (drain it instead of sleeping).
    pub fn sleep(&self, thread: usize) -> bool {
        let Some(b) = self.boxes.get(thread) else {
            return true;
        };
        b.sleeping.store(true, Ordering::SeqCst);
        b.msgs.lock().unwrap_or_else(|e| e.into_inner()).is_empty()
    }

    /// `thread` is back from its wait: it drains before it sleeps again.
    pub fn awake(&self, thread: usize) {
        if let Some(b) = self.boxes.get(thread) {
            b.sleeping.store(false, Ordering::SeqCst);
        }
    }

    /// The owner's wake RECV completed: later posts must wake it again.
    /// Call before [`Mailboxes::drain`].
    pub fn woken(&self, thread: usize) {
        if let Some(b) = self.boxes.get(thread) {
            b.wake_pending.store(false, Ordering::SeqCst);
        }
    }

    /// Moves `thread`'s messages, oldest first, into `into`.
    pub fn drain(&self, thread: usize, into: &mut Vec<Msg>) {
        if let Some(b) = self.boxes.get(thread) {
            let mut m = b.msgs.lock().unwrap_or_else(|e| e.into_inner());
            if into.is_empty() {
                std::mem::swap(&mut *m, into);
            } else {
                into.append(&mut m);
            }
        }
    }
}
