//! Redis 7.0's command metadata for COMMAND, COMMAND INFO, COMMAND DOCS
//! and COMMAND GETKEYS: the entries (ACL categories, tips, key specs,
//! subcommands) and docs (summary, since, group, complexity, arguments)
//! that clients and tools read (redis-cli's hints, cluster clients' key
//! specs).
//!
//! `data/commands.resp` holds, byte for byte, a real redis-server 7.0's
//! RESP3 replies to `COMMAND INFO <every command of our table>` and
//! `COMMAND DOCS <same>` (`data/capture_commands.py` regenerates it when the
//! table grows; a unit test checks that every command has its entry). It
//! is parsed once into a [`Node`] tree and re-encoded per connection, so
//! RESP2 clients get flat arrays and RESP3 clients maps and sets.

use crate::proto::reply::Reply;
use std::collections::HashMap;
use std::sync::OnceLock;

static DATA: &[u8] = include_bytes!("../../data/commands.resp");

#[derive(Debug)]
pub enum Node {
    Bulk(&'static [u8]),
    Simple(&'static [u8]),
    Int(i64),
    Null,
    Array(Vec<Node>),
    Set(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    pub fn str(&self) -> Option<&'static [u8]> {
        match self {
            Node::Bulk(s) | Node::Simple(s) => Some(s),
            _ => None,
        }
    }

    pub fn int(&self) -> Option<i64> {
        match self {
            Node::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// A map's value for `key`.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(kv) => kv
                .iter()
                .find(|(k, _)| k.str() == Some(key.as_bytes()))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn items(&self) -> &[Node] {
        match self {
            Node::Array(v) | Node::Set(v) => v,
            _ => &[],
        }
    }

    /// Writes this node in the connection's protocol.
    pub fn emit(&self, out: &mut Reply) {
        match self {
            Node::Bulk(s) => out.bulk(s),
            Node::Simple(s) => out.simple(&String::from_utf8_lossy(s)),
            Node::Int(i) => out.int(*i),
            Node::Null => out.null(),
            Node::Array(v) => {
                out.array(v.len());
                v.iter().for_each(|n| n.emit(out));
            }
            Node::Set(v) => {
                out.set(v.len());
                v.iter().for_each(|n| n.emit(out));
            }
            Node::Map(kv) => {
                out.map(kv.len());
                for (k, v) in kv {
                    k.emit(out);
                    v.emit(out);
                }
            }
        }
    }
}

/// Parses one RESP3 value at `*pos` (only the types Redis uses there).
fn parse(data: &'static [u8], pos: &mut usize) -> Option<Node> {
    let start = *pos;
    let nl = data[start..].iter().position(|&c| c == b'\n')? + start;
    let line = &data[start + 1..nl.checked_sub(1)?];
    *pos = nl + 1;
    let num = || -> Option<i64> { std::str::from_utf8(line).ok()?.parse().ok() };
    Some(match data[start] {
        b'+' => Node::Simple(line),
        b':' => Node::Int(num()?),
        b'_' => Node::Null,
        b'$' => {
            let n = usize::try_from(num()?).ok()?;
            let s = data.get(*pos..*pos + n)?;
            *pos += n + 2;
            Node::Bulk(s)
        }
        t @ (b'*' | b'~') => {
            let n = num()?;
            let v = (0..n)
                .map(|_| parse(data, pos))
                .collect::<Option<Vec<_>>>()?;
            if t == b'*' {
                Node::Array(v)
            } else {
                Node::Set(v)
            }
        }
        b'%' => {
            let n = num()?;
            let mut kv = Vec::new();
            for _ in 0..n {
                let k = parse(data, pos)?;
                kv.push((k, parse(data, pos)?));
            }
            Node::Map(kv)
        }
        _ => return None,
    })
}

pub struct Meta {
    /// Command name → its COMMAND INFO entry.
    pub info: HashMap<&'static [u8], Node>,
    /// Command name → its COMMAND DOCS map.
    pub docs: HashMap<&'static [u8], Node>,
}

pub fn meta() -> &'static Meta {
    static META: OnceLock<Meta> = OnceLock::new();
    META.get_or_init(|| {
        let mut pos = 0;
        let info = parse(DATA, &mut pos);
        let docs = parse(DATA, &mut pos);
        let mut m = Meta {
            info: HashMap::new(),
            docs: HashMap::new(),
        };
        if let Some(Node::Array(entries)) = info {
            for e in entries {
                if let Some(name) = e.items().first().and_then(Node::str) {
                    m.info.insert(name, e);
                }
            }
        }
        if let Some(Node::Map(kv)) = docs {
            for (k, v) in kv {
                if let Some(name) = k.str() {
                    m.docs.insert(name, v);
                }
            }
        }
        m
    })
}

/// The key arguments of `argv` by the command's key specs (Redis's
/// getKeysUsingKeySpecs: begin_search index|keyword, find_keys
/// range|keynum). None when the specs do not fit the arguments.
pub fn keys_by_specs(entry: &Node, argv: &[&[u8]]) -> Option<Vec<usize>> {
    let specs = entry.items().get(8)?.items();
    let argc = argv.len() as i64;
    let mut keys = Vec::new();
    for spec in specs {
        let bs = spec.get("begin_search")?;
        let bspec = bs.get("spec")?;
        let first = match bs.get("type")?.str()? {
            b"index" => bspec.get("index")?.int()?,
            b"keyword" => {
                let kw = bspec.get("keyword")?.str()?;
                let from = bspec.get("startfrom")?.int()?;
                let found = if from >= 0 {
                    (from..argc).find(|&i| argv[i as usize].eq_ignore_ascii_case(kw))
                } else {
                    (1..=argc + from)
                        .rev()
                        .find(|&i| argv[i as usize].eq_ignore_ascii_case(kw))
                };
                match found {
                    Some(i) => i + 1,
                    None => continue,
                }
            }
            _ => continue,
        };
        let fk = spec.get("find_keys")?;
        let fspec = fk.get("spec")?;
        let (last, step) = match fk.get("type")?.str()? {
            b"range" => {
                let lastkey = fspec.get("lastkey")?.int()?;
                let step = fspec.get("keystep")?.int()?;
                let limit = fspec.get("limit")?.int()?;
                let last = if lastkey >= 0 {
                    first + lastkey
                } else if limit <= 1 {
                    argc + lastkey
                } else {
                    first + ((argc - first) / limit + lastkey)
                };
                (last, step)
            }
            b"keynum" => {
                let numidx = first + fspec.get("keynumidx")?.int()?;
                let n: i64 = std::str::from_utf8(argv.get(numidx as usize)?)
                    .ok()?
                    .parse()
                    .ok()?;
                let step = fspec.get("keystep")?.int()?;
                let kfirst = first + fspec.get("firstkey")?.int()?;
                if n <= 0 {
                    continue;
                }
                let last = kfirst + (n - 1) * step;
                if last >= argc {
                    return None;
                }
                let mut i = kfirst;
                while i <= last {
                    keys.push(i as usize);
                    i += step;
                }
                continue;
            }
            _ => continue,
        };
        if last >= argc || first < 1 {
            return None;
        }
        let mut i = first;
        while i <= last {
            keys.push(i as usize);
            i += step.max(1);
        }
    }
    Some(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::table::COMMANDS;

    #[test]
    fn every_command_has_redis_metadata() {
        let m = meta();
        for c in COMMANDS {
            let e = m.info.get(c.name.as_bytes()).unwrap_or_else(|| {
                panic!(
                    "{}: no COMMAND INFO entry (run data/capture_commands.py)",
                    c.name
                )
            });
            assert_eq!(e.items().len(), 10, "{}", c.name);
            assert_eq!(e.items()[1].int(), Some(c.arity as i64), "{} arity", c.name);
            assert!(
                m.docs.contains_key(c.name.as_bytes()),
                "{}: no docs",
                c.name
            );
        }
    }

    #[test]
    fn getkeys_by_specs() {
        let keys = |argv: &[&[u8]]| {
            let name = argv[0].to_ascii_lowercase();
            keys_by_specs(&meta().info[name.as_slice()], argv)
        };
        assert_eq!(keys(&[b"mset", b"a", b"1", b"b", b"2"]), Some(vec![1, 3]));
        assert_eq!(
            keys(&[b"zunionstore", b"d", b"2", b"a", b"b"]),
            Some(vec![1, 3, 4])
        );
        assert_eq!(
            keys(&[b"lmpop", b"2", b"a", b"b", b"LEFT"]),
            Some(vec![2, 3])
        );
        assert_eq!(keys(&[b"zunionstore", b"d", b"5", b"a"]), None);
    }
}
