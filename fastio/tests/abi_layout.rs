//! The Rust ABI mirror must match kmod/include/uapi/fastio.h exactly: this
//! compiles a C program against the header with the system C compiler and
//! compares every size, field offset, constant and ioctl number.

use fastio::abi::*;
use std::collections::HashMap;
use std::mem::{offset_of, size_of};
use std::process::Command;

const FIELDS: &[(&str, &[&str])] = &[
    (
        "fastio_sqe",
        &[
            "opcode",
            "flags",
            "buf_group",
            "fd",
            "off",
            "addr",
            "len",
            "op_flags",
            "user_data",
            "resv1",
        ],
    ),
    ("fastio_cqe", &["user_data", "res", "flags"]),
    ("fastio_buf", &["addr", "len", "bid", "resv"]),
    (
        "fastio_buf_reg",
        &["ring_addr", "ring_entries", "ring", "bgid", "flags", "resv"],
    ),
    (
        "fastio_ring_hdr",
        &[
            "head",
            "tail",
            "ring_mask",
            "ring_entries",
            "flags",
            "dropped",
            "overflow",
            "resv",
        ],
    ),
    (
        "fastio_mmap_offsets",
        &["sq_hdr", "cq_hdr", "sqes", "cqes", "ring_size", "resv"],
    ),
    (
        "fastio_params",
        &[
            "version",
            "flags",
            "sq_entries",
            "cq_entries",
            "nr_rings",
            "max_ker_worker",
            "max_wq_worker",
            "idle_us",
            "affinity_offset",
            "resv0",
            "off",
            "resv1",
        ],
    ),
    ("fastio_worker_arg", &["kind", "index"]),
    ("fastio_wait_arg", &["ring", "min_complete", "timeout_ns"]),
    (
        "fastio_stats",
        &[
            "submitted",
            "completed",
            "invalid",
            "parked",
            "requeued",
            "offloaded",
            "overflowed",
            "sleeps",
            "wakeups",
            "loops",
            "resv",
        ],
    ),
];

const CONSTANTS: &[&str] = &[
    "FASTIO_ABI_VERSION",
    "FASTIO_MAX_ENTRIES",
    "FASTIO_MAX_RINGS",
    "FASTIO_MAX_WORKERS",
    "FASTIO_MAX_IDLE_US",
    "FASTIO_MAX_IO_LEN",
    "FASTIO_MAX_IOVECS",
    "FASTIO_MAX_INFLIGHT",
    "FASTIO_MAX_BUF_GROUPS",
    "FASTIO_MAX_BUF_ENTRIES",
    "FASTIO_MSG_FLAGS",
    "FASTIO_OP_NOP",
    "FASTIO_OP_ACCEPT",
    "FASTIO_OP_RECV",
    "FASTIO_OP_SEND",
    "FASTIO_OP_SENDV",
    "FASTIO_OP_READ",
    "FASTIO_OP_WRITE",
    "FASTIO_OP_CLOSE",
    "FASTIO_OP_FSYNC",
    "FASTIO_OP_TIMEOUT",
    "FASTIO_OP_LAST",
    "FASTIO_OFF_CURRENT",
    "FASTIO_FSYNC_DATASYNC",
    "FASTIO_SQE_ASYNC",
    "FASTIO_SQE_BUFFER_SELECT",
    "FASTIO_SQE_MULTISHOT",
    "FASTIO_SQE_VALID_FLAGS",
    "FASTIO_CQE_F_BUFFER",
    "FASTIO_CQE_F_MORE",
    "FASTIO_CQE_BUFFER_SHIFT",
    "FASTIO_SQ_NEED_WAKEUP",
    "FASTIO_CQ_OVERFLOW",
    "FASTIO_CQ_WAITING",
    "FASTIO_WORKER_POLLER",
    "FASTIO_WORKER_BLOCKING",
    "FASTIO_IOC_MAGIC",
    "FASTIO_IOC_SETUP",
    "FASTIO_IOC_RUN_WORKER",
    "FASTIO_IOC_WAKE",
    "FASTIO_IOC_WAIT",
    "FASTIO_IOC_STATS",
    "FASTIO_IOC_TEARDOWN",
    "FASTIO_IOC_REGISTER_BUFS",
    "FASTIO_IOC_UNREGISTER_BUFS",
];

/// Runs the C side: "name value" per line.
fn c_values() -> HashMap<String, u64> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let mut src = String::from(
        "#include <stdio.h>\n#include <stddef.h>\n#include \"fastio.h\"\nint main(void) {\n",
    );
    for (ty, fields) in FIELDS {
        src += &format!("printf(\"sizeof.{ty} %zu\\n\", sizeof(struct {ty}));\n");
        for f in *fields {
            src += &format!("printf(\"offsetof.{ty}.{f} %zu\\n\", offsetof(struct {ty}, {f}));\n");
        }
    }
    for c in CONSTANTS {
        src += &format!("printf(\"{c} %llu\\n\", (unsigned long long)({c}));\n");
    }
    src += "return 0;\n}\n";
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("abi.c");
    let exe = dir.path().join("abi");
    std::fs::write(&c, src).unwrap();
    let out = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args(["-Wall", "-Werror", "-std=gnu11", "-I"])
        .arg(format!("{root}/kmod/include/uapi"))
        .arg(&c)
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("a C compiler (cc) is needed for the ABI test");
    assert!(
        out.status.success(),
        "C side failed to build:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(&exe).output().unwrap();
    String::from_utf8(run.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (k, v) = l.split_once(' ').unwrap();
            (k.to_string(), v.parse().unwrap())
        })
        .collect()
}

macro_rules! rust_layout {
    ($m:ident, $cname:literal, $ty:ty, [$($f:ident),*]) => {{
        $m.insert(concat!("sizeof.", $cname).to_string(), size_of::<$ty>() as u64);
        $( $m.insert(concat!("offsetof.", $cname, ".", stringify!($f)).to_string(), offset_of!($ty, $f) as u64); )*
    }};
}

fn rust_values() -> HashMap<String, u64> {
    let mut m = HashMap::new();
    rust_layout!(
        m,
        "fastio_sqe",
        Sqe,
        [opcode, flags, buf_group, fd, off, addr, len, op_flags, user_data, resv1]
    );
    rust_layout!(m, "fastio_cqe", Cqe, [user_data, res, flags]);
    rust_layout!(m, "fastio_buf", BufDesc, [addr, len, bid, resv]);
    rust_layout!(
        m,
        "fastio_buf_reg",
        BufReg,
        [ring_addr, ring_entries, ring, bgid, flags, resv]
    );
    rust_layout!(
        m,
        "fastio_ring_hdr",
        RingHdr,
        [
            head,
            tail,
            ring_mask,
            ring_entries,
            flags,
            dropped,
            overflow,
            resv
        ]
    );
    rust_layout!(
        m,
        "fastio_mmap_offsets",
        MmapOffsets,
        [sq_hdr, cq_hdr, sqes, cqes, ring_size, resv]
    );
    rust_layout!(
        m,
        "fastio_params",
        Params,
        [
            version,
            flags,
            sq_entries,
            cq_entries,
            nr_rings,
            max_ker_worker,
            max_wq_worker,
            idle_us,
            affinity_offset,
            resv0,
            off,
            resv1
        ]
    );
    rust_layout!(m, "fastio_worker_arg", WorkerArg, [kind, index]);
    rust_layout!(
        m,
        "fastio_wait_arg",
        WaitArg,
        [ring, min_complete, timeout_ns]
    );
    rust_layout!(
        m,
        "fastio_stats",
        Stats,
        [
            submitted, completed, invalid, parked, requeued, offloaded, overflowed, sleeps,
            wakeups, loops, resv
        ]
    );
    let consts: &[(&str, u64)] = &[
        ("FASTIO_ABI_VERSION", FASTIO_ABI_VERSION as u64),
        ("FASTIO_MAX_ENTRIES", FASTIO_MAX_ENTRIES as u64),
        ("FASTIO_MAX_RINGS", FASTIO_MAX_RINGS as u64),
        ("FASTIO_MAX_WORKERS", FASTIO_MAX_WORKERS as u64),
        ("FASTIO_MAX_IDLE_US", FASTIO_MAX_IDLE_US as u64),
        ("FASTIO_MAX_IO_LEN", FASTIO_MAX_IO_LEN as u64),
        ("FASTIO_MAX_IOVECS", FASTIO_MAX_IOVECS as u64),
        ("FASTIO_MAX_INFLIGHT", FASTIO_MAX_INFLIGHT as u64),
        ("FASTIO_MAX_BUF_GROUPS", FASTIO_MAX_BUF_GROUPS as u64),
        ("FASTIO_MAX_BUF_ENTRIES", FASTIO_MAX_BUF_ENTRIES as u64),
        ("FASTIO_MSG_FLAGS", FASTIO_MSG_FLAGS as u64),
        ("FASTIO_OP_NOP", op::NOP as u64),
        ("FASTIO_OP_ACCEPT", op::ACCEPT as u64),
        ("FASTIO_OP_RECV", op::RECV as u64),
        ("FASTIO_OP_SEND", op::SEND as u64),
        ("FASTIO_OP_SENDV", op::SENDV as u64),
        ("FASTIO_OP_READ", op::READ as u64),
        ("FASTIO_OP_WRITE", op::WRITE as u64),
        ("FASTIO_OP_CLOSE", op::CLOSE as u64),
        ("FASTIO_OP_FSYNC", op::FSYNC as u64),
        ("FASTIO_OP_TIMEOUT", op::TIMEOUT as u64),
        ("FASTIO_OP_LAST", op::LAST as u64),
        ("FASTIO_OFF_CURRENT", FASTIO_OFF_CURRENT),
        ("FASTIO_FSYNC_DATASYNC", FASTIO_FSYNC_DATASYNC as u64),
        ("FASTIO_SQE_ASYNC", FASTIO_SQE_ASYNC as u64),
        ("FASTIO_SQE_BUFFER_SELECT", FASTIO_SQE_BUFFER_SELECT as u64),
        ("FASTIO_SQE_MULTISHOT", FASTIO_SQE_MULTISHOT as u64),
        ("FASTIO_SQE_VALID_FLAGS", FASTIO_SQE_VALID_FLAGS as u64),
        ("FASTIO_CQE_F_BUFFER", FASTIO_CQE_F_BUFFER as u64),
        ("FASTIO_CQE_F_MORE", FASTIO_CQE_F_MORE as u64),
        ("FASTIO_CQE_BUFFER_SHIFT", FASTIO_CQE_BUFFER_SHIFT as u64),
        ("FASTIO_SQ_NEED_WAKEUP", FASTIO_SQ_NEED_WAKEUP as u64),
        ("FASTIO_CQ_OVERFLOW", FASTIO_CQ_OVERFLOW as u64),
        ("FASTIO_CQ_WAITING", FASTIO_CQ_WAITING as u64),
        ("FASTIO_WORKER_POLLER", FASTIO_WORKER_POLLER as u64),
        ("FASTIO_WORKER_BLOCKING", FASTIO_WORKER_BLOCKING as u64),
        ("FASTIO_IOC_MAGIC", FASTIO_IOC_MAGIC as u64),
        ("FASTIO_IOC_SETUP", FASTIO_IOC_SETUP as u64),
        ("FASTIO_IOC_RUN_WORKER", FASTIO_IOC_RUN_WORKER as u64),
        ("FASTIO_IOC_WAKE", FASTIO_IOC_WAKE as u64),
        ("FASTIO_IOC_WAIT", FASTIO_IOC_WAIT as u64),
        ("FASTIO_IOC_STATS", FASTIO_IOC_STATS as u64),
        ("FASTIO_IOC_TEARDOWN", FASTIO_IOC_TEARDOWN as u64),
        ("FASTIO_IOC_REGISTER_BUFS", FASTIO_IOC_REGISTER_BUFS as u64),
        (
            "FASTIO_IOC_UNREGISTER_BUFS",
            FASTIO_IOC_UNREGISTER_BUFS as u64,
        ),
    ];
    for (k, v) in consts {
        m.insert(k.to_string(), *v);
    }
    m
}

#[test]
fn rust_mirror_matches_c_header() {
    let c = c_values();
    let rust = rust_values();
    let expected = FIELDS.iter().map(|(_, f)| f.len() + 1).sum::<usize>() + CONSTANTS.len();
    assert_eq!(c.len(), expected, "C program printed every item");
    let mut mismatches = Vec::new();
    for (k, cv) in &c {
        match rust.get(k) {
            Some(rv) if rv == cv => {}
            other => mismatches.push(format!("{k}: C {cv}, Rust {other:?}")),
        }
    }
    assert!(
        mismatches.is_empty(),
        "ABI mismatches:\n{}",
        mismatches.join("\n")
    );
    assert_eq!(
        rust.len(),
        c.len(),
        "Rust checks items the C side does not print"
    );
}
