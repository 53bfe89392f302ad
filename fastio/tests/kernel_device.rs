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
