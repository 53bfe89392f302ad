//! Blocking workers: threads that run ops which may sleep (regular-file
//! read/write, fsync, anything flagged FASTIO_SQE_ASYNC), so that a poller
//! never stalls on a disk. A plain shared queue: these ops are slow anyway,
//! and the queue lock is taken once per op, never on the socket fast path.

use super::{exec, RingShared};
use crate::abi::{Cqe, Sqe};
use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};

struct Job {
    ring: Arc<RingShared>,
    sqe: Sqe,
}

pub(crate) struct Pool {
    queue: Mutex<VecDeque<Job>>,
    ready: Condvar,
    stop: AtomicBool,
}

impl Pool {
    pub fn new() -> Pool {
        Pool {
            queue: Mutex::new(VecDeque::new()),
            ready: Condvar::new(),
            stop: AtomicBool::new(false),
        }
    }

    pub fn spawn_worker(pool: &Arc<Pool>, index: u32) -> io::Result<()> {
        let pool = pool.clone();
        std::thread::Builder::new()
            .name(format!("fastio-wq-{index}"))
            .spawn(move || pool.work())?;
        Ok(())
    }

    /// Queues an op; its completion is posted to `ring` when it finishes.
    pub fn submit(&self, ring: Arc<RingShared>, sqe: Sqe) {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.push_back(Job { ring, sqe });
        drop(q);
        self.ready.notify_one();
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        let _q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        self.ready.notify_all();
    }

    fn work(&self) {
        loop {
            let job = {
                let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
                loop {
                    if self.stop.load(Ordering::SeqCst) {
                        return;
                    }
                    if let Some(job) = q.pop_front() {
                        break job;
                    }
                    q = self.ready.wait(q).unwrap_or_else(|e| e.into_inner());
                }
            };
            let res = exec::blocking(&job.sqe);
            job.ring.post(Cqe {
                user_data: job.sqe.user_data,
                res,
                flags: 0,
            });
        }
    }
}
