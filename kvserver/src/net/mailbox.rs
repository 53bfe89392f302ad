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
//! the other end *on its own ring* (collected in a thread-local list that
//! the poster's loop submits, since commands do not see the ring). The
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

use bytes::Bytes;
use std::cell::{Cell, RefCell};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Something for one connection of the owning thread.
#[derive(Debug)]
pub enum Msg {
    /// Bytes to append to the client's output as they are (MONITOR lines).
    Bytes { conn: usize, id: u64, data: Bytes },
    /// A pub/sub message; the owner encodes it for the client's protocol
    /// at delivery (RESP2 array or RESP3 push).
    Message {
        conn: usize,
        id: u64,
        pattern: Option<Bytes>,
        channel: Bytes,
        payload: Bytes,
    },
    /// The client was blocked and has been served (the serving thread
    /// removed it from the registry): its reply; it goes on with its input.
    Unblock { conn: usize, id: u64, reply: Bytes },
    /// Close the client now, without sending what is pending. For CLIENT
    /// KILL (server-commands branch): find the client's (thread, conn, id)
    /// and post this to its thread.
    Kill { conn: usize, id: u64 },
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

thread_local! {
    /// The I/O thread running here (posts to it need no wake).
    static CURRENT: Cell<usize> = const { Cell::new(usize::MAX) };
    /// Threads this one owes a wake byte, submitted by its loop.
    static WAKES: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
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

    /// Posts `msg` to `thread`'s inbox; a wake byte for it is owed by the
    /// calling thread's loop (see [`take_wakes`]) if it sleeps, unless one
    /// is pending.
    ///
    /// No lost wake: the owner marks itself sleeping *then* looks at its
    /// inbox under the lock ([`Mailboxes::sleep`]); a poster pushes under
    /// the lock *then* reads the mark. Whichever takes the lock second sees
    /// the other's write.
    pub fn post(&self, thread: usize, msg: Msg) {
        let Some(b) = self.boxes.get(thread) else {
            return;
        };
        b.msgs.lock().unwrap_or_else(|e| e.into_inner()).push(msg);
        if CURRENT.with(|c| c.get()) == thread || !b.sleeping.load(Ordering::SeqCst) {
            return;
        }
        if !b.wake_pending.swap(true, Ordering::SeqCst) {
            WAKES.with(|w| w.borrow_mut().push(thread));
        }
    }

    /// Wakes `thread` without a message (the AOF's fsync released replies
    /// it holds): a wake byte is owed unless one is pending (whether it
    /// sleeps or not: it looks only at its inbox before sleeping).
    pub fn wake(&self, thread: usize) {
        let Some(b) = self.boxes.get(thread) else {
            return;
        };
        if CURRENT.with(|c| c.get()) == thread {
            return;
        }
        if !b.wake_pending.swap(true, Ordering::SeqCst) {
            WAKES.with(|w| w.borrow_mut().push(thread));
        }
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

/// Marks the calling OS thread as I/O thread `id`.
pub fn set_current_thread(id: usize) {
    CURRENT.with(|c| c.set(id));
}

/// The threads this one must send a wake byte to (cleared).
pub fn take_wakes(into: &mut Vec<usize>) {
    WAKES.with(|w| into.append(&mut w.borrow_mut()));
}
