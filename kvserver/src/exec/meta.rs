//! Redis 7.0's command metadata, generated at build time from
//! `data/commands.resp` (`build.rs`): for every command and subcommand its
//! arity, flags, legacy key range, ACL categories, tips and key specs.
//! The command table takes each entry's fields at compile time
//! ([`find`]), COMMAND INFO is rendered from the entries ([`emit_info`]),
//! COMMAND GETKEYS / GETKEYSANDFLAGS evaluate the key specs
//! ([`keys_by_specs`]), and the shards a command locks come from its key
//! range or key specs ([`lock_range`]). So none of these can disagree.

use crate::proto::reply::Reply;

include!(concat!(env!("OUT_DIR"), "/command_meta.rs"));

/// One command's (or subcommand's) metadata: COMMAND INFO's fields.
#[derive(Debug)]
pub struct Meta {
    /// Lowercase; `container|sub` for a subcommand.
    pub name: &'static str,
    /// The container's name for a subcommand, "" for a command.
    pub container: &'static str,
    /// N: exactly N arguments counting the name(s); -N: at least N.
    pub arity: i32,
    /// [`flag`] bits.
    pub flags: u64,
    /// The legacy key range (COMMAND INFO's first key, last key, step).
    pub first_key: i32,
    pub last_key: i32,
    pub step: i32,
    /// [`acl`] bits.
    pub acl: u64,
    pub tips: &'static [&'static str],
    pub key_specs: &'static [KeySpec],
}

/// Where a key spec's search begins.
#[derive(Debug)]
pub enum Begin {
    /// At this argument.
    Index(i32),
    /// After `keyword`, searched from `startfrom` (negative: from the end,
    /// backwards).
    Keyword {
        keyword: &'static str,
        startfrom: i32,
    },
    Unknown,
}

/// How a key spec finds its keys from where the search began.
#[derive(Debug)]
pub enum Find {
    /// Keys up to `lastkey` (relative; -1 the last argument), every
    /// `keystep`; with `limit` > 1, only the first 1/limit of what is left.
    Range {
        lastkey: i32,
        keystep: i32,
        limit: i32,
    },
    /// The number of keys is at `keynumidx`, the first key at `firstkey`
    /// (both relative to the beginning).
    Keynum {
        keynumidx: i32,
        firstkey: i32,
        keystep: i32,
    },
    Unknown,
}

/// One key spec: a group of the command's keys and what it does to them.
#[derive(Debug)]
pub struct KeySpec {
    pub notes: &'static str,
    /// [`ks`] bits.
    pub flags: u64,
    pub begin: Begin,
    pub find: Find,
}

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The metadata of `name` (`get`, `config|get`). Evaluated at compile time
/// by the command table: a name Redis 7.0 does not have does not compile.
pub const fn find(name: &str) -> &'static Meta {
    let mut i = 0;
    while i < META.len() {
        if same(META[i].name, name) {
            return &META[i];
        }
        i += 1;
    }
    panic!("no Redis 7.0 command of this name in data/commands.resp");
}

/// Writes the names of the `bits` set, in Redis's order, as a set.
fn emit_names(out: &mut Reply, bits: u64, names: &[&str]) {
    out.set(bits.count_ones() as usize);
    for (i, n) in names.iter().enumerate() {
        if bits & (1 << i) != 0 {
            out.simple(n);
        }
    }
}

fn emit_key_spec(out: &mut Reply, s: &KeySpec) {
    out.map(if s.notes.is_empty() { 3 } else { 4 });
    if !s.notes.is_empty() {
        out.bulk(b"notes");
        out.bulk(s.notes.as_bytes());
    }
    out.bulk(b"flags");
    emit_names(out, s.flags, ks::NAMES);
    out.bulk(b"begin_search");
    out.map(2);
    out.bulk(b"type");
    match s.begin {
        Begin::Index(i) => {
            out.bulk(b"index");
            out.bulk(b"spec");
            out.map(1);
            out.bulk(b"index");
            out.int(i as i64);
        }
        Begin::Keyword { keyword, startfrom } => {
            out.bulk(b"keyword");
            out.bulk(b"spec");
            out.map(2);
            out.bulk(b"keyword");
            out.bulk(keyword.as_bytes());
            out.bulk(b"startfrom");
            out.int(startfrom as i64);
        }
        Begin::Unknown => {
            out.bulk(b"unknown");
            out.bulk(b"spec");
            out.map(0);
        }
    }
    out.bulk(b"find_keys");
    out.map(2);
    out.bulk(b"type");
    match s.find {
        Find::Range {
            lastkey,
            keystep,
            limit,
        } => {
            out.bulk(b"range");
            out.bulk(b"spec");
            out.map(3);
            for (k, v) in [("lastkey", lastkey), ("keystep", keystep), ("limit", limit)] {
                out.bulk(k.as_bytes());
                out.int(v as i64);
            }
        }
        Find::Keynum {
            keynumidx,
            firstkey,
            keystep,
        } => {
            out.bulk(b"keynum");
            out.bulk(b"spec");
            out.map(3);
            for (k, v) in [
                ("keynumidx", keynumidx),
                ("firstkey", firstkey),
                ("keystep", keystep),
            ] {
                out.bulk(k.as_bytes());
                out.int(v as i64);
            }
        }
        Find::Unknown => {
            out.bulk(b"unknown");
            out.bulk(b"spec");
            out.map(0);
        }
    }
}

/// One COMMAND INFO entry, as Redis 7.0 writes it: name (as clients call
/// it: `rename-command` applied), arity, flags, first key, last key, step,
/// ACL categories, tips, key specs, and the entries of the subcommands
/// (each written by `sub`).
pub fn emit_info(out: &mut Reply, m: &Meta, name: &str, subs: &[&Meta]) {
    out.array(10);
    out.bulk(name.as_bytes());
    out.int(m.arity as i64);
    emit_names(out, m.flags, flag::NAMES);
    out.int(m.first_key as i64);
    out.int(m.last_key as i64);
    out.int(m.step as i64);
    emit_names(out, m.acl, acl::NAMES);
    out.set(m.tips.len());
    for t in m.tips {
        out.bulk(t.as_bytes());
    }
    out.set(m.key_specs.len());
    for s in m.key_specs {
        emit_key_spec(out, s);
    }
    // Redis: an array of the subcommands' entries, or an empty set.
    if subs.is_empty() {
        out.set(0);
    } else {
        out.array(subs.len());
    }
    for s in subs {
        emit_info(out, s, s.name, &[]);
    }
}

/// Where the search of `spec` begins in `argv`, None when its keyword is
/// absent.
fn begin(spec: &KeySpec, argv: &[&[u8]]) -> Option<usize> {
    let argc = argv.len() as i64;
    match spec.begin {
        Begin::Index(i) => Some(i as usize),
        Begin::Keyword { keyword, startfrom } => {
            let kw = keyword.as_bytes();
            let from = startfrom as i64;
            let found = if from >= 0 {
                (from..argc).find(|&i| argv[i as usize].eq_ignore_ascii_case(kw))
            } else {
                (1..=argc + from)
                    .rev()
                    .find(|&i| argv[i as usize].eq_ignore_ascii_case(kw))
            };
            found.map(|i| i as usize + 1)
        }
        Begin::Unknown => None,
    }
}

/// The key arguments of `argv` by the command's key specs, each with its
/// spec's flags (Redis's getKeysUsingKeySpecs: COMMAND GETKEYS,
/// GETKEYSANDFLAGS). None when the arguments do not fit the specs (a
/// numkeys beyond the arguments).
pub fn keys_by_specs(m: &Meta, argv: &[&[u8]]) -> Option<Vec<(usize, u64)>> {
    let argc = argv.len() as i64;
    let mut keys = Vec::new();
    for spec in m.key_specs {
        let Some(first) = begin(spec, argv) else {
            continue;
        };
        let first = first as i64;
        let (last, step) = match spec.find {
            Find::Range {
                lastkey,
                keystep,
                limit,
            } => {
                let (lastkey, limit) = (lastkey as i64, limit as i64);
                let last = if lastkey >= 0 {
                    first + lastkey
                } else if limit <= 1 {
                    argc + lastkey
                } else {
                    first + ((argc - first) / limit + lastkey)
                };
                (last, keystep as i64)
            }
            Find::Keynum {
                keynumidx,
                firstkey,
                keystep,
            } => {
                let numidx = (first + keynumidx as i64) as usize;
                let n: i64 = std::str::from_utf8(argv.get(numidx)?).ok()?.parse().ok()?;
                if n <= 0 {
                    continue;
                }
                let step = keystep as i64;
                let kfirst = first + firstkey as i64;
                let last = kfirst + (n - 1) * step;
                if last >= argc {
                    return None;
                }
                let mut i = kfirst;
                while i <= last {
                    keys.push((i as usize, spec.flags));
                    i += step;
                }
                continue;
            }
            Find::Unknown => continue,
        };
        if last >= argc || first < 1 {
            return None;
        }
        let mut i = first;
        while i <= last {
            keys.push((i as usize, spec.flags));
            i += step.max(1);
        }
    }
    Some(keys)
}

/// The arguments of `argv` whose shards a command locks: its legacy key
/// range (exactly Redis's first key, last key, step), or, for a command
/// whose keys move (`movablekeys`: numkeys arguments, a keyword before
/// them), every argument from the first place a key spec can begin on: a
/// superset of its keys that may hold options too, which is harmless
/// (a shard too many is locked) and never misses a key the handler
/// touches, whatever the arguments say. `(first, last inclusive, step)`;
/// empty when `first` is 0.
pub fn lock_range(m: &Meta, argv: &[&[u8]]) -> (usize, usize, usize) {
    let argc = argv.len();
    if m.flags & flag::MOVABLEKEYS == 0 {
        let first = m.first_key.max(0) as usize;
        let last = if m.last_key < 0 {
            argc as i64 + m.last_key as i64
        } else {
            m.last_key as i64
        };
        let last = last.min(argc as i64 - 1);
        if first == 0 || last < first as i64 {
            return (0, 0, 1);
        }
        return (first, last as usize, m.step.max(1) as usize);
    }
    let first = m
        .key_specs
        .iter()
        .filter_map(|s| begin(s, argv))
        .filter(|&i| i >= 1)
        .min();
    match first {
        Some(f) if f < argc => (f, argc - 1, 1),
        _ => (0, 0, 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(argv: &[&[u8]]) -> Option<Vec<usize>> {
        let name = String::from_utf8_lossy(argv[0]).to_lowercase();
        keys_by_specs(find(&name), argv).map(|k| k.into_iter().map(|(i, _)| i).collect())
    }

    #[test]
    fn getkeys_by_specs() {
        assert_eq!(keys(&[b"mset", b"a", b"1", b"b", b"2"]), Some(vec![1, 3]));
        assert_eq!(
            keys(&[b"zunionstore", b"d", b"2", b"a", b"b"]),
            Some(vec![1, 3, 4])
        );
        assert_eq!(
            keys(&[b"lmpop", b"2", b"a", b"b", b"LEFT"]),
            Some(vec![2, 3])
        );
        assert_eq!(
            keys(&[b"xread", b"COUNT", b"1", b"STREAMS", b"a", b"b", b"0", b"0"]),
            Some(vec![4, 5])
        );
        assert_eq!(keys(&[b"zunionstore", b"d", b"5", b"a"]), None);
    }

    #[test]
    fn lock_ranges_cover_every_key() {
        let range = |argv: &[&[u8]]| {
            let name = String::from_utf8_lossy(argv[0]).to_lowercase();
            lock_range(find(&name), argv)
        };
        assert_eq!(range(&[b"get", b"k"]), (1, 1, 1));
        assert_eq!(range(&[b"mset", b"a", b"1", b"b", b"2"]), (1, 4, 2));
        assert_eq!(range(&[b"blpop", b"a", b"b", b"0"]), (1, 2, 1));
        assert_eq!(range(&[b"ping"]).0, 0);
        // Moving keys: from the first possible key on.
        assert_eq!(
            range(&[
                b"zunionstore",
                b"d",
                b"2",
                b"a",
                b"b",
                b"WEIGHTS",
                b"1",
                b"2"
            ]),
            (1, 7, 1)
        );
        assert_eq!(
            range(&[b"xread", b"COUNT", b"1", b"STREAMS", b"a", b"0"]),
            (4, 5, 1)
        );
        assert_eq!(range(&[b"xread", b"COUNT", b"1"]).0, 0, "no STREAMS");
        // Every key of every spec evaluation lies in the lock range.
        for argv in [
            &[&b"sintercard"[..], b"2", b"a", b"b", b"LIMIT", b"1"][..],
            &[b"zinterstore", b"d", b"2", b"a", b"b"],
            &[b"blmpop", b"0", b"2", b"a", b"b", b"LEFT"],
            &[b"zunion", b"2", b"a", b"b", b"WITHSCORES"],
        ] {
            let (f, l, s) = range(argv);
            for k in keys(argv).unwrap() {
                assert!(k >= f && k <= l && (k - f) % s == 0, "{argv:?}: {k}");
            }
        }
    }

    #[test]
    fn info_entries_are_redis_bytes() {
        // COMMAND INFO as redis-server 7.0.15 answers it (RESP3), for a
        // command with two key specs, one with notes.
        let mut out = Reply::new(bytes::BytesMut::new());
        out.resp = 3;
        let m = find("get");
        emit_info(&mut out, m, "get", &[]);
        assert_eq!(
            &out.buf[..],
            &b"*10\r\n$3\r\nget\r\n:2\r\n~2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n~3\r\n\
               +@read\r\n+@string\r\n+@fast\r\n~0\r\n~1\r\n%3\r\n$5\r\nflags\r\n~2\r\n+RO\r\n\
               +access\r\n$12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n\
               %1\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n$5\r\nrange\r\n\
               $4\r\nspec\r\n%3\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n\
               :0\r\n~0\r\n"[..]
        );
    }

    /// The end of the RESP3 value starting at `p` in `d`.
    fn skip(d: &[u8], p: usize) -> usize {
        let nl = p + d[p..].iter().position(|&c| c == b'\n').unwrap();
        let n: i64 = std::str::from_utf8(&d[p + 1..nl - 1])
            .unwrap()
            .parse()
            .unwrap_or(0);
        let mut q = nl + 1;
        match d[p] {
            b'$' => q + n as usize + 2,
            b'*' | b'~' => {
                for _ in 0..n {
                    q = skip(d, q);
                }
                q
            }
            b'%' => {
                for _ in 0..2 * n {
                    q = skip(d, q);
                }
                q
            }
            _ => q,
        }
    }

    /// The bulk string at `p`.
    fn bulk(d: &[u8], p: usize) -> &str {
        let nl = p + d[p..].iter().position(|&c| c == b'\n').unwrap();
        let n: usize = std::str::from_utf8(&d[p + 1..nl - 1])
            .unwrap()
            .parse()
            .unwrap();
        std::str::from_utf8(&d[nl + 1..nl + 1 + n]).unwrap()
    }

    /// The start of each element of the aggregate at `p`.
    fn elements(d: &[u8], p: usize) -> Vec<usize> {
        let nl = p + d[p..].iter().position(|&c| c == b'\n').unwrap();
        let n: usize = std::str::from_utf8(&d[p + 1..nl - 1])
            .unwrap()
            .parse()
            .unwrap();
        let mut q = nl + 1;
        (0..n)
            .map(|_| {
                let at = q;
                q = skip(d, q);
                at
            })
            .collect()
    }

    #[test]
    fn every_info_entry_renders_as_redis_does() {
        // Each top-level entry of Redis's own COMMAND INFO reply (RESP3),
        // byte for byte, from the generated metadata: names, flags and
        // categories in order, key specs, subcommands.
        let d: &[u8] = include_bytes!("../../data/commands.resp");
        let entries = elements(d, 0);
        assert_eq!(entries.len(), 240, "Redis 7.0's commands");
        for at in entries {
            let end = skip(d, at);
            let fields = elements(d, at);
            let name = bulk(d, fields[0]);
            let subs: Vec<&Meta> = elements(d, fields[9])
                .into_iter()
                .map(|s| find(bulk(d, elements(d, s)[0])))
                .collect();
            let mut out = Reply::new(bytes::BytesMut::new());
            out.resp = 3;
            emit_info(&mut out, find(name), name, &subs);
            assert_eq!(
                String::from_utf8_lossy(&out.buf),
                String::from_utf8_lossy(&d[at..end]),
                "{name}"
            );
        }
    }
}
