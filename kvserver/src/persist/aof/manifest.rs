//! The manifest of the AOF directory (Redis 7.0's multi-part AOF): one
//! `file NAME seq N type b|i` line per file, written atomically.

use std::fs::File;
use std::io::Write;
use std::path::Path;

/// The files of the directory as the manifest lists them.
#[derive(Debug, Clone, Default)]
pub(super) struct Manifest {
    pub(super) base: Option<(String, u64)>,
    pub(super) incrs: Vec<(String, u64)>,
}

impl Manifest {
    pub(super) fn text(&self) -> String {
        let mut s = String::new();
        if let Some((f, seq)) = &self.base {
            s.push_str(&format!("file {f} seq {seq} type b\n"));
        }
        for (f, seq) in &self.incrs {
            s.push_str(&format!("file {f} seq {seq} type i\n"));
        }
        s
    }

    pub(super) fn next_seq(&self) -> u64 {
        let b = self.base.as_ref().map_or(0, |b| b.1);
        let i = self.incrs.iter().map(|x| x.1).max().unwrap_or(0);
        b.max(i) + 1
    }
}

pub(super) fn err_at(path: &Path, what: impl std::fmt::Display) -> String {
    format!("{}: {what}", path.display())
}

fn fsync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Writes `text` to `dir/name` atomically (temp file, fsync, rename, fsync
/// of the directory).
pub(super) fn write_atomic(dir: &Path, name: &str, text: &[u8]) -> std::io::Result<()> {
    let tmp = dir.join(format!("temp-{name}"));
    let mut f = File::create(&tmp)?;
    f.write_all(text)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, dir.join(name))?;
    fsync_dir(dir)
}

/// Reads the manifest at `path`.
pub(super) fn read(path: &Path) -> Result<Manifest, String> {
    let text = std::fs::read_to_string(path).map_err(|e| err_at(path, e))?;
    let mut m = Manifest::default();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let w: Vec<&str> = line.split_whitespace().collect();
        let field = |k: &str| {
            w.chunks(2)
                .find(|c| c[0] == k)
                .and_then(|c| c.get(1))
                .copied()
        };
        let bad = || {
            err_at(
                path,
                format!("line {}: invalid manifest line '{line}'", i + 1),
            )
        };
        let file = field("file").ok_or_else(bad)?.to_string();
        let seq: u64 = field("seq").and_then(|s| s.parse().ok()).ok_or_else(bad)?;
        match field("type").ok_or_else(bad)? {
            "b" => m.base = Some((file, seq)),
            "i" => m.incrs.push((file, seq)),
            "h" => {}
            _ => return Err(bad()),
        }
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_round_trip() {
        let m = Manifest {
            base: Some(("appendonly.aof.2.base.aof".into(), 2)),
            incrs: vec![("appendonly.aof.2.incr.aof".into(), 2)],
        };
        let dir = std::env::temp_dir().join(format!("kv-manifest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        write_atomic(&dir, "m", m.text().as_bytes()).unwrap();
        let r = read(&dir.join("m")).unwrap();
        assert_eq!(r.text(), m.text());
        assert_eq!(r.next_seq(), 3);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
