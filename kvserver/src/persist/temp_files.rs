//! Temporary files a killed kvserver leaves behind: a background save's
//! `temp-bgsave-<pid>.rdb` in `dir`, a rewrite's
//! `temp-rewriteaof-bg-<pid>.aof` in the AOF directory. They are complete
//! copies of the dataset, so a few crashes could fill the disk: at start
//! those of processes that no longer run are removed (redis-server 7.0.15
//! leaves its own in place; checked).

use std::path::Path;

/// The pid in `name` if it is one of our temporary files.
fn temp_pid(name: &str) -> Option<u32> {
    let rest = name
        .strip_prefix("temp-bgsave-")
        .and_then(|r| r.strip_suffix(".rdb"))
        .or_else(|| {
            name.strip_prefix("temp-rewriteaof-bg-")
                .and_then(|r| r.strip_suffix(".aof"))
        })?;
    rest.parse().ok()
}

/// Removes, in each of `dirs`, the temporary files of processes that no
/// longer run; says what it removed. A directory that cannot be read is
/// skipped (loading will report it if it matters).
pub fn remove_stale(dirs: &[&Path]) {
    let me = std::process::id();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            let Some(pid) = name.to_str().and_then(temp_pid) else {
                continue;
            };
            if pid == me || Path::new(&format!("/proc/{pid}")).exists() {
                continue;
            }
            let path = e.path();
            match std::fs::remove_file(&path) {
                Ok(()) => eprintln!(
                    "kvserver: removed {} (left by process {pid}, which no longer runs)",
                    path.display()
                ),
                Err(err) => eprintln!("kvserver: # cannot remove {}: {err}", path.display()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_temporary_files_of_dead_processes_go() {
        assert_eq!(temp_pid("temp-bgsave-123.rdb"), Some(123));
        assert_eq!(temp_pid("temp-rewriteaof-bg-77.aof"), Some(77));
        for other in [
            "dump.rdb",
            "temp-bgsave-x.rdb",
            "temp-appendonly.aof.manifest",
            "temp-12.rdb",
        ] {
            assert_eq!(temp_pid(other), None, "{other}");
        }
        let dir = std::env::temp_dir().join(format!("kv-temp-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // A pid far above pid_max (4194304 at most) never runs.
        let dead = dir.join("temp-bgsave-999999999.rdb");
        let alive = dir.join(format!("temp-bgsave-{}.rdb", std::process::id()));
        let other = dir.join("dump.rdb");
        for p in [&dead, &alive, &other] {
            std::fs::write(p, b"x").unwrap();
        }
        remove_stale(&[&dir]);
        assert!(!dead.exists());
        assert!(alive.exists() && other.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
