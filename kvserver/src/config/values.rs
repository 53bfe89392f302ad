//! How a parameter's value is read and checked: Redis 7.0's parsers
//! (memtoull, its CPU lists, client-output-buffer-limit groups, keyspace
//! event classes ...) with its error texts, which CONFIG SET puts after
//! " - ".

use super::params::{param, Kind, Param};
use std::net::IpAddr;
use std::path::Path;
use Kind::*;

/// Redis's CPU list syntax (setcpuaffinity.c): comma-separated CPUs and
/// ranges, a range optionally with a stride: `0-3,8,10-14:2` = 0 1 2 3 8
/// 10 12 14. Empty: no CPUs. Redis ignores a list it cannot parse; we
/// refuse it at start, with what is wrong.
pub fn parse_cpulist(list: &str) -> Result<Vec<usize>, String> {
    /// Beyond any machine's CPU count (Linux's NR_CPUS tops at 8192).
    const MAX_CPU: usize = 8191;
    let mut cpus = Vec::new();
    for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let bad = || format!("invalid CPU list item '{item}' (want N, N-M or N-M:STEP)");
        let (range, step) = match item.split_once(':') {
            Some((r, st)) => (r, st.parse::<usize>().map_err(|_| bad())?),
            None => (item, 1),
        };
        let (a, b) = match range.split_once('-') {
            Some((a, b)) => (a.parse::<usize>(), b.parse::<usize>()),
            None => (range.parse::<usize>(), range.parse::<usize>()),
        };
        let (a, b) = (a.map_err(|_| bad())?, b.map_err(|_| bad())?);
        if a > b || step == 0 {
            return Err(bad());
        }
        if b > MAX_CPU {
            return Err(format!("CPU {b} is out of range (0-{MAX_CPU})"));
        }
        cpus.extend((a..=b).step_by(step));
    }
    Ok(cpus)
}

/// The client classes of client-output-buffer-limit, in Redis's order
/// (`replica` is accepted for `slave`).
pub const OUTPUT_CLASSES: [&str; 3] = ["normal", "slave", "pubsub"];

/// Parses client-output-buffer-limit groups (`class hard soft seconds`,
/// several in one value or over several arguments) into `current` (the
/// value as CONFIG GET shows it) and returns the new value. Errors are
/// Redis's.
pub fn merge_output_limits(current: &str, args: &[&str]) -> Result<String, String> {
    let mut limits = parse_output_limits(current).unwrap_or_else(|| {
        parse_output_limits(param_default("client-output-buffer-limit")).unwrap_or_default()
    });
    let words: Vec<&str> = args.iter().flat_map(|a| a.split_whitespace()).collect();
    if words.len() % 4 != 0 {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    for g in words.chunks(4) {
        let class = match g[0].to_ascii_lowercase().as_str() {
            "normal" => 0,
            "slave" | "replica" => 1,
            "pubsub" => 2,
            _ => {
                return Err("Invalid client class specified in buffer limit configuration.".into())
            }
        };
        let bad = || "Error in hard, soft or soft-seconds setting in buffer limit configuration.";
        let hard = parse_memory(g[1]).ok_or_else(bad)?;
        let soft = parse_memory(g[2]).ok_or_else(bad)?;
        let secs = g[3]
            .parse::<i64>()
            .ok()
            .filter(|v| *v >= 0)
            .ok_or_else(bad)?;
        limits[class] = [hard, soft, secs as u64];
    }
    Ok(format_output_limits(&limits))
}

/// `[hard, soft, soft seconds]` per class of [`OUTPUT_CLASSES`].
pub fn parse_output_limits(v: &str) -> Option<[[u64; 3]; 3]> {
    let w: Vec<&str> = v.split_whitespace().collect();
    if w.len() != 12 {
        return None;
    }
    let mut out = [[0u64; 3]; 3];
    for (i, g) in w.chunks(4).enumerate() {
        if g[0] != OUTPUT_CLASSES[i] {
            return None;
        }
        for j in 0..3 {
            out[i][j] = g[j + 1].parse().ok()?;
        }
    }
    Some(out)
}

fn format_output_limits(l: &[[u64; 3]; 3]) -> String {
    let mut parts = Vec::new();
    for (i, c) in OUTPUT_CLASSES.iter().enumerate() {
        parts.push(format!("{c} {} {} {}", l[i][0], l[i][1], l[i][2]));
    }
    parts.join(" ")
}

pub(super) fn param_default(name: &str) -> &'static str {
    param(name).map_or("", |p| p.default)
}

/// Redis's memtoull: digits with an optional unit (b, k, kb, m, mb, g, gb;
/// k = 1000, kb = 1024), case-insensitive; no sign. As Redis's, no digits
/// read as 0, too many saturate and the unit's product wraps (a value past
/// the range is then refused by the range check or, unsigned, kept).
pub(super) fn parse_memory(s: &str) -> Option<u64> {
    let s = s.to_ascii_lowercase();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let mul: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    let n = num.bytes().fold(0u64, |n, d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    });
    Some(n.wrapping_mul(mul))
}

fn range_error(min: impl std::fmt::Display, max: impl std::fmt::Display) -> String {
    format!("argument must be between {min} and {max} inclusive")
}

/// Redis's keyspace-event classes, in keyspaceEventsFlagsToString's order.
const NOTIFY_CLASSES: &str = "g$lshzxetdn";

pub(super) fn parse_notify(s: &str) -> Result<String, String> {
    let mut set = std::collections::HashSet::new();
    for c in s.chars() {
        match c {
            'A' => set.extend("g$lshzxetd".chars()),
            c if NOTIFY_CLASSES.contains(c) || "KEm".contains(c) => {
                set.insert(c);
            }
            _ => return Err("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".into()),
        }
    }
    let all = "g$lshzxetd".chars().all(|c| set.contains(&c));
    let mut out = String::new();
    if all {
        out.push('A');
        if set.contains(&'n') {
            out.push('n');
        }
    } else {
        out.extend(NOTIFY_CLASSES.chars().filter(|c| set.contains(c)));
    }
    out.extend("KEm".chars().filter(|c| set.contains(c)));
    Ok(out)
}

impl Param {
    /// Checks `args` and returns the value as CONFIG GET will show it; the
    /// error is Redis's text (what follows " - " in CONFIG SET's error).
    pub(super) fn validate(&self, args: &[&str]) -> Result<String, String> {
        let one = || match args {
            [v] => Ok(*v),
            _ => Err("wrong number of arguments".to_string()),
        };
        let int = |v: &str| {
            v.parse::<i64>()
                .map_err(|_| "argument couldn't be parsed into an integer".to_string())
        };
        match self.kind {
            Bool => match one()?.to_ascii_lowercase().as_str() {
                v @ ("yes" | "no") => Ok(v.to_string()),
                _ => Err("argument must be 'yes' or 'no'".into()),
            },
            Int(min, max) => {
                let v = int(one()?)?;
                if v < min || v > max {
                    return Err(range_error(min, max));
                }
                Ok(v.to_string())
            }
            Hz => {
                let v = int(one()?)?;
                if v < 0 || v > i32::MAX as i64 {
                    return Err(range_error(0, i32::MAX as i64));
                }
                Ok(v.clamp(1, 500).to_string())
            }
            Mem(min, max) => {
                let v = parse_memory(one()?).ok_or("argument must be a memory value")?;
                if v < min || v > max {
                    return Err(range_error(min, max));
                }
                // Redis raises a smaller backlog to its 16 KiB minimum.
                if self.name == "repl-backlog-size" {
                    return Ok(v.max(16 * 1024).to_string());
                }
                Ok(v.to_string())
            }
            MemOrPercent => {
                let v = one()?;
                if let Some(pc) = v.strip_suffix('%') {
                    let n = pc
                        .parse::<i64>()
                        .ok()
                        .filter(|n| *n >= 0)
                        .ok_or("argument must be a memory or percent value")?;
                    if n > 100 {
                        return Err("percentage argument must be less or equal to 100".into());
                    }
                    return Ok(format!("{n}%"));
                }
                parse_memory(v)
                    .map(|n| n.to_string())
                    .ok_or_else(|| "argument must be a memory or percent value".into())
            }
            Enum(vals) => {
                let v = one()?.to_ascii_lowercase();
                if vals.contains(&v.as_str()) {
                    Ok(v)
                } else {
                    Err(format!(
                        "argument(s) must be one of the following: {}",
                        vals.join(", ")
                    ))
                }
            }
            Str => Ok(one()?.to_string()),
            CpuList => {
                let v = args.join(",");
                parse_cpulist(&v)?;
                Ok(v)
            }
            Save => {
                // Pairs of "seconds changes", several pairs in one value or
                // over several arguments; "" disables.
                let words: Vec<&str> = args.iter().flat_map(|a| a.split_whitespace()).collect();
                if words.len() % 2 != 0 || words.iter().any(|w| w.parse::<u64>().is_err()) {
                    return Err("Invalid save parameters".into());
                }
                Ok(words.join(" "))
            }
            Notify => parse_notify(one()?),
            Bind => {
                // One listener set per address would need an accept per
                // address per I/O thread: one address for now.
                let [addr] = args else {
                    return Err(format!(
                        "only one bind address is supported (got {})",
                        args.len()
                    ));
                };
                let a = addr.strip_prefix('-').unwrap_or(addr);
                let a = if a == "*" { "0.0.0.0" } else { a };
                a.parse::<IpAddr>()
                    .map(|_| a.to_string())
                    .map_err(|_| format!("invalid bind address '{addr}'"))
            }
            Dir => {
                let d = Path::new(one()?);
                match std::fs::canonicalize(d) {
                    Ok(p) if p.is_dir() => Ok(p.display().to_string()),
                    Ok(_) => Err("Not a directory".into()),
                    Err(e) => Err(e.to_string()),
                }
            }
            DbFilename => {
                let v = one()?;
                if v.contains('/') {
                    Err("dbfilename can't be a path, just a filename".into())
                } else {
                    Ok(v.to_string())
                }
            }
            Password => Ok(one()?.to_string()),
            OutputLimit => merge_output_limits(param_default(self.name), args),
            Hostname => {
                let v = one()?;
                if v.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.')
                {
                    Ok(v.to_string())
                } else {
                    Err(
                        "Hostnames may only contain alphanumeric characters, hyphens or dots"
                            .into(),
                    )
                }
            }
            Percentiles => {
                let words: Vec<&str> = args.iter().flat_map(|a| a.split_whitespace()).collect();
                let mut shown = Vec::with_capacity(words.len());
                for w in words {
                    let v: f64 = w
                        .parse()
                        .ok()
                        .filter(|v: &f64| v.is_finite())
                        .ok_or("Invalid latency-tracking-info-percentiles parameters")?;
                    if !(0.0..=100.0).contains(&v) {
                        return Err("latency-tracking-info-percentiles parameters should sit \
                                    between [0.0,100.0]"
                            .into());
                    }
                    // Redis shows them with %f's precision, trailing zeros cut.
                    shown.push(format!("{v}"));
                }
                Ok(shown.join(" "))
            }
            OomValues => {
                let words: Vec<&str> = args.iter().flat_map(|a| a.split_whitespace()).collect();
                if words.len() != 3 {
                    return Err("wrong number of arguments".into());
                }
                let bad = "Invalid oom-score-adj-values, elements must be between -2000 and 2000.";
                let vals = words
                    .iter()
                    .map(|w| w.parse::<i64>().ok().filter(|v| (-2000..=2000).contains(v)))
                    .collect::<Option<Vec<i64>>>()
                    .ok_or(bad)?;
                Ok(vals
                    .iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(" "))
            }
            ProcTitle => {
                let v = one()?;
                if proc_title_is_valid(v) {
                    Ok(v.to_string())
                } else {
                    Err("template format is invalid or contains unknown variables".into())
                }
            }
            ReplicaOf => match args {
                [] | [""] => Ok(String::new()),
                [no, one] if no.eq_ignore_ascii_case("no") && one.eq_ignore_ascii_case("one") => {
                    Ok(String::new())
                }
                [host, port] => {
                    let port: u16 = port
                        .parse()
                        .ok()
                        .filter(|p| *p > 0)
                        .ok_or("Invalid master port")?;
                    Ok(format!("{host} {port}"))
                }
                _ => Err("wrong number of arguments".into()),
            },
            Octal => {
                let v = one()?;
                u32::from_str_radix(v, 8)
                    .ok()
                    .filter(|m| *m <= 0o777)
                    .map(|m| format!("{m:o}"))
                    .ok_or_else(|| "argument couldn't be parsed as an octal number".into())
            }
        }
    }
}

/// Redis's validateProcTitleTemplate: the template expanded with an empty
/// title must leave something, and name only variables Redis knows.
fn proc_title_is_valid(t: &str) -> bool {
    let mut out = String::new();
    let mut rest = t;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            return false;
        };
        match &rest[open + 1..open + close] {
            "title" | "server-mode" => {}
            "name" | "listen-addr" | "port" | "tls-port" | "unixsocket" | "config-file" => {
                out.push('x')
            }
            _ => return false,
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    !rest.contains('}') && !out.trim().is_empty()
}

/// A value kvserver cannot honour, though Redis would (a listener or mode
/// it does not have): refused with a clear reason rather than stored and
/// silently not acted on.
pub(super) fn unsupported(name: &str, value: &str) -> Option<String> {
    match name {
        "tls-port" if value != "0" => {
            Some("kvserver has no TLS listener (tls-port must be 0)".into())
        }
        "cluster-enabled" if value == "yes" => Some("cluster mode is not supported".into()),
        "tls-replication" | "tls-cluster" if value == "yes" => {
            Some("kvserver has no TLS (it can only be 'no')".into())
        }
        "unixsocket" if !value.is_empty() => {
            Some("kvserver listens on TCP only (unixsocket is not supported)".into())
        }
        _ => None,
    }
}
