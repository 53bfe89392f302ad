//! /dev/fastio's ioctl interface, driven directly with malformed input.
//! Needs the module: on a machine without /dev/fastio (the development
//! machines) every test here returns at once, saying so; `make vm-test` runs
//! them in a guest with the module loaded.

use fastio::abi::{self, Params, Stats, WaitArg, WorkerArg};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;

fn open() -> Option<File> {
    match OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/fastio")
    {
        Ok(f) => Some(f),
        Err(e) => {
            eprintln!("skipped: /dev/fastio: {e} (run in the VM: make vm-test)");
            None
        }
    }
}

fn ioctl<T>(f: &File, req: u32, arg: *mut T) -> Result<i32, i32> {
    // SAFETY: `arg` points at a live value of the type `req` encodes, or is
    // a deliberately bad pointer the kernel must reject with EFAULT.
    let r = unsafe { libc::ioctl(f.as_raw_fd(), req as _, arg) };
    if r < 0 {
        Err(io::Error::last_os_error().raw_os_error().unwrap())
    } else {
        Ok(r)
    }
}

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
fn malformed_setup_parameters_are_refused() {
    let Some(_) = open() else { return };
    type Case = (&'static str, fn(&mut Params), i32);
    let cases: Vec<Case> = vec![
        ("version", |p| p.version = 99, libc::EPROTO),
        ("flags", |p| p.flags = 1, libc::EINVAL),
        ("reserved", |p| p.resv1[2] = 7, libc::EINVAL),
        ("sq_entries 0", |p| p.sq_entries = 0, libc::EINVAL),
        ("sq_entries 3", |p| p.sq_entries = 3, libc::EINVAL),
        ("sq_entries huge", |p| p.sq_entries = 1 << 30, libc::EINVAL),
        ("cq below sq", |p| p.cq_entries = 4, libc::EINVAL),
        ("nr_rings 0", |p| p.nr_rings = 0, libc::EINVAL),
        ("nr_rings huge", |p| p.nr_rings = u32::MAX, libc::EINVAL),
        ("pollers 0", |p| p.max_ker_worker = 0, libc::EINVAL),
        ("blocking 65", |p| p.max_wq_worker = 65, libc::EINVAL),
        ("idle huge", |p| p.idle_us = u32::MAX, libc::EINVAL),
        ("affinity -5", |p| p.affinity_offset = -5, libc::EINVAL),
        (
            "map too big",
            |p| {
                p.sq_entries = abi::FASTIO_MAX_ENTRIES;
                p.nr_rings = abi::FASTIO_MAX_RINGS;
            },
            libc::ENOMEM,
        ),
    ];
    for (what, mutate, errno) in cases {
        let f = open().unwrap();
        let mut p = good();
        mutate(&mut p);
        assert_eq!(
            ioctl(&f, abi::FASTIO_IOC_SETUP, &mut p),
            Err(errno),
            "{what}"
        );
        // The context is still usable after a refused setup.
        let mut p = good();
        assert_eq!(
            ioctl(&f, abi::FASTIO_IOC_SETUP, &mut p),
            Ok(0),
            "{what}: retry"
        );
    }
    // A bad pointer is EFAULT, not a crash.
    let f = open().unwrap();
    assert_eq!(
        ioctl(&f, abi::FASTIO_IOC_SETUP, 8 as *mut Params),
        Err(libc::EFAULT)
    );
}

#[test]
fn ioctls_before_and_after_setup() {
    let Some(f) = open() else { return };
    let mut ring = 0u32;
    let mut stats = Stats::default();
    // Nothing but SETUP before setup; mmap neither.
    assert_eq!(ioctl(&f, abi::FASTIO_IOC_WAKE, &mut ring), Err(libc::ENXIO));
    assert_eq!(
        ioctl(&f, abi::FASTIO_IOC_STATS, &mut stats),
        Err(libc::ENXIO)
    );
    // SAFETY: mapping a device page range; the result is checked, not used.
    let m = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ,
            libc::MAP_SHARED,
            f.as_raw_fd(),
            0,
        )
    };
    assert_eq!(m, libc::MAP_FAILED);

    let mut p = good();
    assert_eq!(ioctl(&f, abi::FASTIO_IOC_SETUP, &mut p), Ok(0));
    assert_eq!(p.cq_entries, 16, "resolved cq_entries");
    assert_eq!(p.off.sqes, 512);
    let mut again = good();
    assert_eq!(
        ioctl(&f, abi::FASTIO_IOC_SETUP, &mut again),
        Err(libc::EBUSY),
        "setup twice"
    );

    // Out-of-range arguments.
    ring = 1;
    assert_eq!(
        ioctl(&f, abi::FASTIO_IOC_WAKE, &mut ring),
        Err(libc::EINVAL)
    );
    let mut w = WaitArg {
        ring: 5,
        min_complete: 1,
        timeout_ns: 1,
    };
    assert_eq!(ioctl(&f, abi::FASTIO_IOC_WAIT, &mut w), Err(libc::EINVAL));
    let mut w = WaitArg {
        ring: 0,
        min_complete: 17,
        timeout_ns: 1,
    };
    assert_eq!(ioctl(&f, abi::FASTIO_IOC_WAIT, &mut w), Err(libc::EINVAL));
    let mut w = WaitArg {
        ring: 0,
        min_complete: 1,
        timeout_ns: 1_000_000,
    };
    assert_eq!(
        ioctl(&f, abi::FASTIO_IOC_WAIT, &mut w),
        Err(libc::ETIME),
        "nothing completes"
    );
    for (kind, index) in [
        (abi::FASTIO_WORKER_POLLER, 1),
        (abi::FASTIO_WORKER_BLOCKING, 1),
        (7, 0),
    ] {
        let mut a = WorkerArg { kind, index };
        assert_eq!(
            ioctl(&f, abi::FASTIO_IOC_RUN_WORKER, &mut a),
            Err(libc::EINVAL),
            "{kind}/{index}"
        );
    }
    assert_eq!(
        ioctl(&f, 0xFA99, std::ptr::null_mut::<u8>()),
        Err(libc::ENOTTY)
    );

    // Mapping beyond the rings is refused; the rings themselves map.
    // SAFETY: as above.
    let m = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            8192,
            libc::PROT_READ,
            libc::MAP_SHARED,
            f.as_raw_fd(),
            0,
        )
    };
    assert_eq!(m, libc::MAP_FAILED, "larger than the ring area");
    // SAFETY: as above; unmapped right away.
    let m = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ,
            libc::MAP_SHARED,
            f.as_raw_fd(),
            0,
        )
    };
    assert_ne!(m, libc::MAP_FAILED);
    // SAFETY: the ring mask lives at offset 128 of the SQ header.
    let mask = unsafe { *(m as *const u8).add(128).cast::<u32>() };
    assert_eq!(mask, 7);
    // SAFETY: unmapping what we mapped.
    unsafe { libc::munmap(m, 4096) };

    // TEARDOWN, then a worker returns at once with 0.
    assert_eq!(
        ioctl(&f, abi::FASTIO_IOC_TEARDOWN, std::ptr::null_mut::<u8>()),
        Ok(0)
    );
    let mut a = WorkerArg {
        kind: abi::FASTIO_WORKER_POLLER,
        index: 0,
    };
    assert_eq!(ioctl(&f, abi::FASTIO_IOC_RUN_WORKER, &mut a), Ok(0));
    assert_eq!(ioctl(&f, abi::FASTIO_IOC_STATS, &mut stats), Ok(0));
}

#[test]
fn only_the_owning_process_may_run_workers() {
    let Some(f) = open() else { return };
    let mut p = good();
    assert_eq!(ioctl(&f, abi::FASTIO_IOC_SETUP, &mut p), Ok(0));
    // SAFETY: fork in a test: the child only makes one ioctl and _exits.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let mut a = WorkerArg {
            kind: abi::FASTIO_WORKER_POLLER,
            index: 0,
        };
        let code = match ioctl(&f, abi::FASTIO_IOC_RUN_WORKER, &mut a) {
            Err(libc::EPERM) => 0,
            _ => 1,
        };
        // SAFETY: leaving the forked child without running Rust destructors.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child got no EPERM"
    );
}

/// Runs `child` in a forked process and returns its exit code (the test
/// asserts inside the child by exiting non-zero).
fn in_child(child: impl FnOnce() -> i32) -> i32 {
    // SAFETY: fork in a test: the child runs `child`, which makes system
    // calls only, and _exits without running Rust destructors.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let code = child();
        // SAFETY: as above.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(libc::WIFEXITED(status), "child died: {status}");
    libc::WEXITSTATUS(status)
}

/// The device node is 0660 by default: only root and its group open it.
#[test]
fn the_device_is_not_world_writable() {
    let Some(_) = open() else { return };
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata("/dev/fastio")
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o660, "mode {mode:o}");
}

/// Ops run with the worker thread's files and credentials: a thread that
/// changed either since SETUP (unshare(CLONE_FILES), a per-thread
/// setresuid) may not lend itself nor tear the context down, and a forked
/// child has no mapping of the rings and no say either.
#[test]
fn workers_must_share_the_openers_files_memory_and_credentials() {
    let Some(f) = open() else { return };
    let mut p = good();
    assert_eq!(ioctl(&f, abi::FASTIO_IOC_SETUP, &mut p), Ok(0));
    let len = p.off.ring_size as usize * p.nr_rings as usize;
    // SAFETY: mapping the device's rings, as the library does.
    let map = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            f.as_raw_fd(),
            0,
        )
    };
    assert_ne!(map, libc::MAP_FAILED);
    let f = std::sync::Arc::new(f);
    let worker = |f: &File| {
        let mut a = WorkerArg {
            kind: abi::FASTIO_WORKER_POLLER,
            index: 0,
        };
        ioctl(f, abi::FASTIO_IOC_RUN_WORKER, &mut a)
    };
    // A thread with its own file table.
    let g = f.clone();
    let r = std::thread::spawn(move || {
        // SAFETY: unshare affects only this thread's file table.
        assert_eq!(unsafe { libc::unshare(libc::CLONE_FILES) }, 0);
        (
            worker(&g),
            ioctl(&g, abi::FASTIO_IOC_TEARDOWN, std::ptr::null_mut::<u8>()),
        )
    })
    .join()
    .unwrap();
    assert_eq!(
        r,
        (Err(libc::EPERM), Err(libc::EPERM)),
        "unshare(CLONE_FILES)"
    );
    // A thread with other credentials (the raw system call changes only
    // the calling thread's; glibc's setresuid would change every thread).
    let g = f.clone();
    let r = std::thread::spawn(move || {
        // SAFETY: setresuid on this thread only.
        let r = unsafe { libc::syscall(libc::SYS_setresuid, 0, 65534, 0) };
        assert_eq!(r, 0);
        worker(&g)
    })
    .join()
    .unwrap();
    assert_eq!(r, Err(libc::EPERM), "per-thread setresuid");
    // A forked child: the rings are not mapped there (VM_DONTCOPY), and
    // it may not tear the context down.
    let code = in_child(|| {
        // SAFETY: msync of a range that should not be mapped: ENOMEM.
        let r = unsafe { libc::msync(map, len, libc::MS_ASYNC) };
        let unmapped = r == -1 && io::Error::last_os_error().raw_os_error() == Some(libc::ENOMEM);
        let teardown = ioctl(&f, abi::FASTIO_IOC_TEARDOWN, std::ptr::null_mut::<u8>());
        match (unmapped, teardown) {
            (true, Err(libc::EPERM)) => 0,
            (false, _) => 1,
            _ => 2,
        }
    });
    assert_eq!(
        code, 0,
        "forked child: 1 = rings mapped, 2 = teardown allowed"
    );
    // The owner itself still may.
    assert_eq!(
        ioctl(&f, abi::FASTIO_IOC_TEARDOWN, std::ptr::null_mut::<u8>()),
        Ok(0)
    );
    // SAFETY: unmapping what was mapped above.
    assert_eq!(unsafe { libc::munmap(map, len) }, 0);
}

/// Ring memory counts against the opener's RLIMIT_MEMLOCK (without
/// CAP_IPC_LOCK): past it SETUP fails with ENOMEM, within it succeeds.
#[test]
fn ring_memory_is_charged_to_memlock() {
    let Some(_) = open() else { return };
    let setup_as_nobody = |limit: u64| {
        in_child(move || {
            let Some(f) = open() else { return 3 };
            let lim = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            // SAFETY: plain system calls on this (forked, single-threaded)
            // process: a memlock limit, then an unprivileged user (no
            // CAP_IPC_LOCK).
            unsafe {
                if libc::setrlimit(libc::RLIMIT_MEMLOCK, &lim) != 0
                    || libc::setgid(65534) != 0
                    || libc::setuid(65534) != 0
                {
                    return 4;
                }
            }
            let mut p = Params {
                sq_entries: 4096,
                nr_rings: 4,
                ..good()
            };
            match ioctl(&f, abi::FASTIO_IOC_SETUP, &mut p) {
                Ok(_) => 0,
                Err(libc::ENOMEM) => 1,
                Err(_) => 2,
            }
        })
    };
    // Four rings of 4096 SQEs and 8192 CQEs: about 1.5 MB.
    assert_eq!(setup_as_nobody(64 << 10), 1, "SETUP past RLIMIT_MEMLOCK");
    assert_eq!(setup_as_nobody(64 << 20), 0, "SETUP within RLIMIT_MEMLOCK");
}

// ---------------------------------------------------------------------------
// Teardown, the owner's exit and CLOSE, through the library's kernel backend.

use fastio::abi::{op, Cqe, Sqe};
use fastio::config::{BackendChoice, Config};
use fastio::{Fastio, Ring};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

fn kernel_context(pollers: u32, blocking: u32, rings: u32) -> (Fastio, Vec<Ring>) {
    let cfg = Config {
        backend: BackendChoice::Kernel,
        max_ker_worker: pollers,
        max_wq_worker: blocking,
        ring_entries: 2048,
        ..Config::default()
    };
    let mut f = Fastio::new(&cfg, rings).expect("kernel context");
    let r = f.take_rings();
    (f, r)
}

/// The module's reference count: one per open /dev/fastio file.
fn module_refs() -> u32 {
    std::fs::read_to_string("/sys/module/fastio/refcnt")
        .expect("/sys/module/fastio/refcnt")
        .trim()
        .parse()
        .unwrap()
}

/// Waits (up to 30 s) for `cond`, polling every 10 ms; false on timeout.
fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(30);
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    cond()
}

fn pair(kind: i32) -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: fds is a valid out-array of two ints.
    assert_eq!(
        unsafe {
            libc::socketpair(
                libc::AF_UNIX,
                kind | libc::SOCK_CLOEXEC,
                0,
                fds.as_mut_ptr(),
            )
        },
        0
    );
    // SAFETY: both fds were just created and belong to nobody else.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

fn sqe(opcode: u8, fd: RawFd, user_data: u64) -> Sqe {
    Sqe {
        opcode,
        fd,
        user_data,
        ..Default::default()
    }
}

/// Pushes and submits one entry.
///
/// # Safety
/// As `Ring::push`: its buffers outlive its completion.
unsafe fn submit(ring: &mut Ring, e: Sqe) {
    ring.push(&e).expect("ring has room");
    ring.submit().unwrap();
}

/// The next completion on `ring`, waiting up to 30 s.
fn next_cqe(ring: &mut Ring) -> Cqe {
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(c) = ring.pop() {
            return c;
        }
        assert!(Instant::now() < end, "no completion within 30 s");
        ring.wait(1, Some(Duration::from_millis(100))).unwrap();
    }
}

/// The fd this process has open on /dev/fastio (the library keeps it).
fn device_fd() -> RawFd {
    for e in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
        if std::fs::read_link(e.path()).is_ok_and(|l| l == std::path::Path::new("/dev/fastio")) {
            return e.file_name().to_str().unwrap().parse().unwrap();
        }
    }
    panic!("no /dev/fastio fd");
}

/// Sends `fd` over the unix socket `via` with SCM_RIGHTS.
fn send_fd(via: RawFd, fd: RawFd) -> bool {
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    // SAFETY: CMSG_SPACE is a pure computation.
    let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) } as usize;
    let mut cbuf = vec![0u64; space.div_ceil(8)];
    // SAFETY: msghdr is plain data; every pointer set below outlives sendmsg.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr().cast();
    msg.msg_controllen = space;
    // SAFETY: the control buffer has room for one cmsg carrying one fd.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32) as usize;
        std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<RawFd>(), fd);
        libc::sendmsg(via, &msg, 0) == 1
    }
}

/// A device fd sent with SCM_RIGHTS into the receive queue of a socket
/// that one of the context's own ops pins (a SEND parked on it) would keep
/// the context alive forever after the process exits: the op holds the
/// socket, the socket's queue holds the device. The module breaks the cycle
/// when the owner goes away (->flush): the module's refcount comes back.
#[test]
fn a_device_fd_in_flight_in_a_socket_its_op_pins_does_not_leak_the_context() {
    let Some(_) = open() else { return };
    let before = module_refs();
    let code = in_child(|| {
        let (_f, mut rings) = kernel_context(1, 1, 1);
        let ring = &mut rings[0];
        let (a, b) = pair(libc::SOCK_STREAM);
        // Fill b's receive queue so that a SEND on a parks.
        // SAFETY: fcntl on our own fd.
        unsafe { libc::fcntl(raw_fd(&a), libc::F_SETFL, libc::O_NONBLOCK) };
        let chunk = [0u8; 4096];
        // SAFETY: chunk is a live buffer.
        while unsafe { libc::write(raw_fd(&a), chunk.as_ptr().cast(), chunk.len()) } > 0 {}
        let send = Sqe {
            addr: chunk.as_ptr() as u64,
            len: chunk.len() as u32,
            ..sqe(op::SEND, raw_fd(&a), 1)
        };
        // SAFETY: chunk outlives the process (we _exit below).
        unsafe { submit(ring, send) };
        if !eventually(|| _f.stats().parked >= 1) {
            return 10;
        }
        // The device into a's receive queue (b -> a), then exit without
        // tearing anything down: the SEND still pins a.
        if !send_fd(raw_fd(&b), device_fd()) {
            return 11;
        }
        // Exit as a crash would: no teardown from the library's Drop.
        std::mem::forget(rings);
        std::mem::forget(_f);
        std::mem::forget((a, b));
        0
    });
    assert_eq!(code, 0, "child failed at step {code}");
    assert!(
        eventually(|| module_refs() == before),
        "module refcount {} after the child exited, {before} before: the context leaked",
        module_refs()
    );
}

fn raw_fd(fd: &OwnedFd) -> RawFd {
    fd.as_raw_fd()
}

fn threads_named(prefix: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.starts_with(prefix))
        })
        .count()
}

fn thread_in(prefix: &str, wchan: &str) -> bool {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .flatten()
        .any(|t| {
            std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.starts_with(prefix))
                && std::fs::read_to_string(t.path().join("wchan")).is_ok_and(|w| w.trim() == wchan)
        })
}

/// A blocking worker asleep inside a pipe read (nobody ever writes) is
/// interrupted by teardown: every worker thread returns, the read completes
/// -ECANCELED... and the context is freed.
#[test]
fn teardown_interrupts_a_blocking_worker_inside_a_pipe_read() {
    let Some(_) = open() else { return };
    let before = module_refs();
    let mut fds = [0; 2];
    // SAFETY: fds is a valid out-array of two ints.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: both fds were just created and belong to nobody else.
    let (rd, _wr) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    {
        let (f, mut rings) = kernel_context(1, 1, 1);
        let mut buf = [0u8; 16];
        let read = Sqe {
            addr: buf.as_mut_ptr() as u64,
            len: buf.len() as u32,
            off: abi::FASTIO_OFF_CURRENT,
            ..sqe(op::READ, raw_fd(&rd), 7)
        };
        // SAFETY: buf outlives the context (dropped at the end of this block,
        // after teardown has taken every op back).
        unsafe { submit(&mut rings[0], read) };
        assert!(
            eventually(|| f.stats().offloaded >= 1),
            "READ not offloaded"
        );
        assert!(
            eventually(|| thread_in("fastio-kwq", "pipe_read")),
            "the blocking worker never slept in pipe_read"
        );
        drop(rings);
        drop(f); // TEARDOWN, pollers joined, the fd closed
    }
    assert!(
        eventually(|| threads_named("fastio-kwq") == 0),
        "a blocking worker is still inside the module after teardown"
    );
    assert!(
        eventually(|| module_refs() == before),
        "the context was not freed: module refcount {} (was {before})",
        module_refs()
    );
}

/// CLOSE through one ring cancels the fd's ops parked through another ring
/// (another poller): the RECV completes -ECANCELED and the peer sees the
/// end of the stream at once.
#[test]
fn close_cancels_the_fds_ops_on_every_poller() {
    let Some(_) = open() else { return };
    let (f, mut rings) = kernel_context(2, 1, 2);
    let (a, b) = pair(libc::SOCK_STREAM);
    let mut buf = [0u8; 64];
    let recv = Sqe {
        addr: buf.as_mut_ptr() as u64,
        len: buf.len() as u32,
        ..sqe(op::RECV, raw_fd(&a), 1)
    };
    // SAFETY: buf outlives the op (its completion is awaited below).
    unsafe { submit(&mut rings[1], recv) };
    assert!(eventually(|| f.stats().parked >= 1), "RECV not parked");
    let a = std::mem::ManuallyDrop::new(a); // CLOSE closes it
                                            // SAFETY: CLOSE carries no pointers.
    unsafe { submit(&mut rings[0], sqe(op::CLOSE, raw_fd(&a), 2)) };
    let c = next_cqe(&mut rings[0]);
    assert_eq!((c.user_data, c.res), (2, 0));
    let c = next_cqe(&mut rings[1]);
    assert_eq!((c.user_data, c.res), (1, -libc::ECANCELED));
    // The peer: end of stream, not a wait (a timeout would be EAGAIN).
    let tv = libc::timeval {
        tv_sec: 10,
        tv_usec: 0,
    };
    // SAFETY: setsockopt with a timeval on our own socket.
    unsafe {
        libc::setsockopt(
            raw_fd(&b),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as u32,
        )
    };
    // SAFETY: buf is a live buffer.
    let n = unsafe { libc::read(raw_fd(&b), buf.as_mut_ptr().cast(), buf.len()) };
    assert_eq!(n, 0, "the peer did not see the end of the stream");
}

/// Thousands of socket ops parked across 4 pollers, connections closed at
/// random through random rings: every op completes exactly once, with
/// -ECANCELED (its fd closed), 0 (its peer closed) or its data.
#[test]
fn parked_ops_across_four_pollers_survive_random_closes() {
    let Some(_) = open() else { return };
    // SAFETY: raising our own soft fd limit to the hard one.
    unsafe {
        let mut l: libc::rlimit = std::mem::zeroed();
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut l);
        l.rlim_cur = l.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &l);
    }
    const PAIRS: usize = 1000;
    let (f, mut rings) = kernel_context(4, 1, 4);
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rand = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let pairs: Vec<(OwnedFd, OwnedFd)> = (0..PAIRS).map(|_| pair(libc::SOCK_STREAM)).collect();
    let mut bufs = vec![[0u8; 8]; 2 * PAIRS];
    // user_data 2i: RECV on pair i's a side, 2i+1: on its b side; each
    // through a random ring (so a random poller).
    let mut ring_of = vec![0usize; 2 * PAIRS];
    for (i, (a, b)) in pairs.iter().enumerate() {
        for (k, fd) in [raw_fd(a), raw_fd(b)].into_iter().enumerate() {
            let ud = 2 * i + k;
            let e = Sqe {
                addr: bufs[ud].as_mut_ptr() as u64,
                len: 8,
                ..sqe(op::RECV, fd, ud as u64)
            };
            ring_of[ud] = rand(4);
            // SAFETY: bufs outlives every op: the context is torn down
            // before bufs is dropped.
            unsafe { submit(&mut rings[ring_of[ud]], e) };
        }
    }
    assert!(
        eventually(|| f.stats().parked >= 2 * PAIRS as u64),
        "not all RECVs parked"
    );
    // Half the pairs: CLOSE the a side; the others: SEND a message a -> b.
    // Each through a random ring.
    let mut closed = vec![false; PAIRS];
    let mut expect = [0usize; 4];
    let msg = *b"fastio!!";
    for (i, (a, _)) in pairs.iter().enumerate() {
        let r = rand(4);
        closed[i] = rand(2) == 0;
        let e = if closed[i] {
            sqe(op::CLOSE, raw_fd(a), (1 << 32) | i as u64)
        } else {
            Sqe {
                addr: msg.as_ptr() as u64,
                len: 8,
                ..sqe(op::SEND, raw_fd(a), (2 << 32) | i as u64)
            }
        };
        // SAFETY: msg outlives the op; CLOSE carries no pointers.
        unsafe { submit(&mut rings[r], e) };
        expect[r] += 1;
        // What completes before teardown: b's RECV always (data or end of
        // stream), a's RECV only if a was closed.
        expect[ring_of[2 * i + 1]] += 1;
        if closed[i] {
            expect[ring_of[2 * i]] += 1;
        }
    }
    let mut seen = vec![false; 2 * PAIRS];
    for (r, ring) in rings.iter_mut().enumerate() {
        for _ in 0..expect[r] {
            let c = next_cqe(ring);
            let (kind, i) = (c.user_data >> 32, (c.user_data & 0xffff_ffff) as usize);
            match kind {
                1 => assert_eq!(c.res, 0, "CLOSE of pair {i}"),
                2 => assert_eq!(c.res, 8, "SEND on pair {i}"),
                _ => {
                    assert!(!seen[i], "RECV {i} completed twice");
                    seen[i] = true;
                    let (p, a_side) = (i / 2, i % 2 == 0);
                    let want = match (closed[p], a_side) {
                        (true, true) => -libc::ECANCELED,
                        (true, false) => 0,
                        (false, false) => 8,
                        (false, true) => {
                            panic!("RECV on open pair {p}'s a side completed: {}", c.res)
                        }
                    };
                    assert_eq!(c.res, want, "RECV {i} (pair {p} closed: {})", closed[p]);
                    if want == 8 {
                        assert_eq!(bufs[i], msg);
                    }
                }
            }
        }
    }
    drop(rings);
    drop(f);
    drop(bufs);
    for (i, (a, b)) in pairs.into_iter().enumerate() {
        if closed[i] {
            std::mem::forget(a); // CLOSE closed it
        }
        drop(b);
    }
}

/// READs at the file position (FASTIO_OFF_CURRENT) from several blocking
/// workers at once take f_pos_lock, as read(2) does: each 4-byte record of
/// the file is read exactly once, none twice, none skipped.
#[test]
fn reads_at_the_file_position_take_each_record_once() {
    let Some(_) = open() else { return };
    const RECORDS: u32 = 4096;
    let path = std::env::temp_dir().join(format!("fastio-fpos-{}", std::process::id()));
    let data: Vec<u8> = (0..RECORDS).flat_map(|i| i.to_le_bytes()).collect();
    std::fs::write(&path, &data).unwrap();
    let file = std::fs::File::open(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let (_f, mut rings) = kernel_context(1, 4, 1);
    let ring = &mut rings[0];
    let mut bufs = vec![[0u8; 4]; RECORDS as usize];
    let mut seen = vec![false; RECORDS as usize];
    let mut pushed = 0usize;
    let mut done = 0usize;
    while done < RECORDS as usize {
        while pushed < RECORDS as usize && ring.sq_space() > 0 {
            let e = Sqe {
                addr: bufs[pushed].as_mut_ptr() as u64,
                len: 4,
                off: abi::FASTIO_OFF_CURRENT,
                ..sqe(op::READ, file.as_raw_fd(), pushed as u64)
            };
            // SAFETY: bufs outlives every op (all are awaited below).
            unsafe { ring.push(&e).unwrap() };
            pushed += 1;
        }
        ring.submit().unwrap();
        let c = next_cqe(ring);
        assert_eq!(c.res, 4, "READ {}", c.user_data);
        let v = u32::from_le_bytes(bufs[c.user_data as usize]);
        assert!(v < RECORDS, "record {v} out of range");
        assert!(!seen[v as usize], "record {v} read twice");
        seen[v as usize] = true;
        done += 1;
    }
    assert!(seen.iter().all(|s| *s));
}
