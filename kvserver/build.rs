//! Generates kvserver's command metadata from `data/commands.resp` (Redis
//! 7.0's own `COMMAND INFO` reply, captured by `data/capture_commands.py`):
//! for every command and subcommand its name, arity, flags, legacy key
//! range, ACL categories, tips and key specs, as Rust statics in
//! `$OUT_DIR/command_meta.rs` (included by `src/exec/meta.rs`). The
//! command table binds handlers to these entries by name at compile time,
//! so the table, COMMAND INFO and COMMAND DOCS cannot disagree.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// The RESP3 values Redis uses in COMMAND INFO.
#[derive(Debug, Clone)]
enum V {
    Str(String),
    Int(i64),
    Null,
    Arr(Vec<V>),
    Map(Vec<(V, V)>),
}

impl V {
    fn str(&self) -> &str {
        match self {
            V::Str(s) => s,
            _ => panic!("not a string: {self:?}"),
        }
    }

    fn int(&self) -> i64 {
        match self {
            V::Int(i) => *i,
            _ => panic!("not an integer: {self:?}"),
        }
    }

    fn items(&self) -> &[V] {
        match self {
            V::Arr(v) => v,
            _ => panic!("not an array: {self:?}"),
        }
    }

    fn get(&self, key: &str) -> Option<&V> {
        match self {
            V::Map(kv) => kv.iter().find(|(k, _)| k.str() == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

fn parse(d: &[u8], p: &mut usize) -> V {
    let nl = d[*p..].iter().position(|&c| c == b'\n').expect("line") + *p;
    let t = d[*p];
    let line = std::str::from_utf8(&d[*p + 1..nl - 1]).expect("utf-8");
    *p = nl + 1;
    let n = || line.parse::<i64>().expect("number");
    match t {
        b'+' => V::Str(line.to_string()),
        b':' => V::Int(n()),
        b'_' => V::Null,
        b'$' => {
            let len = n() as usize;
            let s = String::from_utf8(d[*p..*p + len].to_vec()).expect("utf-8");
            *p += len + 2;
            V::Str(s)
        }
        b'*' | b'~' => V::Arr((0..n()).map(|_| parse(d, p)).collect()),
        b'%' => V::Map(
            (0..n())
                .map(|_| {
                    let k = parse(d, p);
                    (k, parse(d, p))
                })
                .collect(),
        ),
        _ => panic!("unexpected RESP type {}", t as char),
    }
}

/// Names in an order consistent with every list they appear in (Redis
/// prints flags and categories in a fixed order; a topological sort of
/// the orders seen recovers it).
fn global_order(lists: &[Vec<String>]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut before: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for l in lists {
        for (i, n) in l.iter().enumerate() {
            if !names.contains(n) {
                names.push(n.clone());
            }
            for m in &l[i + 1..] {
                before.entry(m.clone()).or_default().push(n.clone());
            }
        }
    }
    let mut out: Vec<String> = Vec::new();
    while out.len() < names.len() {
        let next = names
            .iter()
            .find(|n| {
                !out.contains(n)
                    && before
                        .get(*n)
                        .is_none_or(|b| b.iter().all(|x| out.contains(x)))
            })
            .expect("a consistent order")
            .clone();
        out.push(next);
    }
    out
}

/// A Rust constant name for a flag or category.
fn ident(s: &str) -> String {
    s.trim_start_matches('@')
        .to_ascii_uppercase()
        .replace(['-', '|'], "_")
}

struct Entry {
    name: String,
    container: String,
    arity: i64,
    flags: Vec<String>,
    first: i64,
    last: i64,
    step: i64,
    acl: Vec<String>,
    tips: Vec<String>,
    specs: Vec<V>,
}

fn collect(e: &V, container: &str, out: &mut Vec<Entry>) {
    let it = e.items();
    let strs = |v: &V| v.items().iter().map(|x| x.str().to_string()).collect();
    out.push(Entry {
        name: it[0].str().to_string(),
        container: container.to_string(),
        arity: it[1].int(),
        flags: strs(&it[2]),
        first: it[3].int(),
        last: it[4].int(),
        step: it[5].int(),
        acl: strs(&it[6]),
        tips: strs(&it[7]),
        specs: it[8].items().to_vec(),
    });
    let name = it[0].str().to_string();
    for sub in it[9].items() {
        collect(sub, &name, out);
    }
}

fn bits(names: &[String], order: &[String], module: &str) -> String {
    if names.is_empty() {
        return "0".into();
    }
    names
        .iter()
        .map(|n| {
            assert!(order.contains(n));
            format!("{module}::{}", ident(n))
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

fn key_spec(s: &V, ks_order: &[String]) -> String {
    let notes = s.get("notes").map_or("", |n| n.str());
    let flags: Vec<String> = s
        .get("flags")
        .expect("flags")
        .items()
        .iter()
        .map(|x| x.str().to_string())
        .collect();
    let bs = s.get("begin_search").expect("begin_search");
    let bspec = bs.get("spec").expect("spec");
    let begin = match bs.get("type").expect("type").str() {
        "index" => format!("Begin::Index({})", bspec.get("index").expect("index").int()),
        "keyword" => format!(
            "Begin::Keyword {{ keyword: {:?}, startfrom: {} }}",
            bspec.get("keyword").expect("keyword").str(),
            bspec.get("startfrom").expect("startfrom").int()
        ),
        _ => "Begin::Unknown".into(),
    };
    let fk = s.get("find_keys").expect("find_keys");
    let fspec = fk.get("spec").expect("spec");
    let g = |k: &str| fspec.get(k).expect(k).int();
    let find = match fk.get("type").expect("type").str() {
        "range" => format!(
            "Find::Range {{ lastkey: {}, keystep: {}, limit: {} }}",
            g("lastkey"),
            g("keystep"),
            g("limit")
        ),
        "keynum" => format!(
            "Find::Keynum {{ keynumidx: {}, firstkey: {}, keystep: {} }}",
            g("keynumidx"),
            g("firstkey"),
            g("keystep")
        ),
        _ => "Find::Unknown".into(),
    };
    format!(
        "KeySpec {{ notes: {notes:?}, flags: {}, begin: {begin}, find: {find} }}",
        bits(&flags, ks_order, "ks")
    )
}

fn main() {
    let src = Path::new("data/commands.resp");
    println!("cargo:rerun-if-changed={}", src.display());
    let data = std::fs::read(src).expect("data/commands.resp");
    let mut p = 0;
    let info = parse(&data, &mut p);
    let mut entries = Vec::new();
    for e in info.items() {
        collect(e, "", &mut entries);
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    let flag_order = global_order(&entries.iter().map(|e| e.flags.clone()).collect::<Vec<_>>());
    let acl_order = global_order(&entries.iter().map(|e| e.acl.clone()).collect::<Vec<_>>());
    let spec_flags: Vec<Vec<String>> = entries
        .iter()
        .flat_map(|e| e.specs.iter())
        .map(|s| {
            s.get("flags")
                .expect("flags")
                .items()
                .iter()
                .map(|x| x.str().to_string())
                .collect()
        })
        .collect();
    let ks_order = global_order(&spec_flags);
    let mut out = String::new();
    out.push_str(
        "// @generated by kvserver/build.rs from data/commands.resp (Redis 7.0's\n\
         // COMMAND INFO). Do not edit: recapture with data/capture_commands.py.\n\n",
    );
    let consts = |out: &mut String, module: &str, doc: &str, order: &[String]| {
        assert!(order.len() <= 64, "{module}: more than 64 names");
        writeln!(out, "/// {doc}").unwrap();
        writeln!(out, "pub mod {module} {{").unwrap();
        for (i, n) in order.iter().enumerate() {
            writeln!(out, "    pub const {}: u64 = 1 << {i};", ident(n)).unwrap();
        }
        writeln!(
            out,
            "    /// The names, bit `i` being the `i`-th, in Redis's order."
        )
        .unwrap();
        writeln!(out, "    pub const NAMES: &[&str] = &{order:?};").unwrap();
        writeln!(out, "}}\n").unwrap();
    };
    consts(
        &mut out,
        "flag",
        "Command flags (COMMAND INFO's third element).",
        &flag_order,
    );
    consts(&mut out, "acl", "ACL categories.", &acl_order);
    consts(&mut out, "ks", "Key spec flags.", &ks_order);
    writeln!(
        out,
        "/// Every command and subcommand of Redis 7.0, by full name.\npub static META: [Meta; {}] = [",
        entries.len()
    )
    .unwrap();
    for e in &entries {
        let tips: Vec<&str> = e.tips.iter().map(String::as_str).collect();
        let specs: Vec<String> = e.specs.iter().map(|s| key_spec(s, &ks_order)).collect();
        writeln!(
            out,
            "    Meta {{ name: {:?}, container: {:?}, arity: {}, flags: {}, first_key: {}, \
             last_key: {}, step: {}, acl: {}, tips: &{:?}, key_specs: &[{}] }},",
            e.name,
            e.container,
            e.arity,
            bits(&e.flags, &flag_order, "flag"),
            e.first,
            e.last,
            e.step,
            bits(&e.acl, &acl_order, "acl"),
            tips,
            specs.join(", ")
        )
        .unwrap();
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("command_meta.rs");
    std::fs::write(dest, out).expect("writing command_meta.rs");
}
