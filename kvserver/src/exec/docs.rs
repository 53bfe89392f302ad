//! COMMAND DOCS: Redis 7.0's documentation of every command (summary,
//! since, group, complexity, history, arguments), the second reply held
//! in `data/commands.resp`. Parsed once, on the first COMMAND DOCS, into
//! a [`Node`] tree that is re-encoded per connection, so RESP2 clients get
//! flat arrays and RESP3 clients maps and sets.

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

/// Command name → its COMMAND DOCS map (subcommands are inside their
/// container's map, under `subcommands`), parsed on first use.
fn docs() -> &'static HashMap<&'static [u8], Node> {
    static DOCS: OnceLock<HashMap<&'static [u8], Node>> = OnceLock::new();
    DOCS.get_or_init(|| {
        let mut pos = 0;
        // The first value is COMMAND INFO (build.rs turned it into code).
        let _ = parse(DATA, &mut pos);
        let mut m = HashMap::new();
        if let Some(Node::Map(kv)) = parse(DATA, &mut pos) {
            for (k, v) in kv {
                if let Some(name) = k.str() {
                    m.insert(name, v);
                }
            }
        }
        m
    })
}

/// The docs map of `name` (`get`, or `config|get` inside CONFIG's).
pub fn find(name: &str) -> Option<&'static Node> {
    match name.split_once('|') {
        None => docs().get(name.as_bytes()),
        Some((container, _)) => docs()
            .get(container.as_bytes())?
            .get("subcommands")?
            .get(name),
    }
}

/// Writes the docs of `name`; in a container's, only the subcommands
/// `has` says exist here.
pub fn emit(out: &mut Reply, name: &str, has: &dyn Fn(&str) -> bool) {
    let Some(d) = find(name) else {
        return out.map(0);
    };
    let Node::Map(kv) = d else {
        return d.emit(out);
    };
    out.map(kv.len());
    for (k, v) in kv {
        k.emit(out);
        match (k.str(), v) {
            (Some(b"subcommands"), Node::Map(subs)) => {
                let subs: Vec<&(Node, Node)> = subs
                    .iter()
                    .filter(|(n, _)| n.str().is_some_and(|n| has(&String::from_utf8_lossy(n))))
                    .collect();
                out.map(subs.len());
                for (n, v) in subs {
                    n.emit(out);
                    v.emit(out);
                }
            }
            _ => v.emit(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_redis_command_has_docs() {
        for m in crate::exec::meta::META.iter() {
            assert!(find(m.name).is_some(), "{}: no docs", m.name);
        }
    }
}
