//! kvserver's own settings, redis.conf style: `name value...` per line, `#`
//! comments, the file given as the first positional argument, and the same
//! directives as `--name value` on the command line (which win).
//!
//! FastIO's settings are separate: fastio.conf via `--config PATH`,
//! `--backend`, `--workers`, `--fastio key=value` (see `fastio::FastioArgs`).

use std::net::IpAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub port: u16,
    pub bind: IpAddr,
    /// I/O threads, each with its own ring pair and listener.
    pub io_threads: usize,
    pub databases: usize,
    /// The redis-style file read at start, if any (INFO shows it).
    pub config_file: Option<PathBuf>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            port: 6379,
            bind: IpAddr::from([127, 0, 0, 1]),
            io_threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            databases: 16,
            config_file: None,
        }
    }
}

fn one<'a>(args: &'a [&'a str]) -> Result<&'a str, String> {
    match args {
        [v] => Ok(v),
        _ => Err(format!("expected one value, got {}", args.len())),
    }
}

impl ServerConfig {
    /// Applies one directive. The error says what is wrong with it.
    pub fn set(&mut self, name: &str, args: &[&str]) -> Result<(), String> {
        match name.to_ascii_lowercase().as_str() {
            "port" => {
                self.port = one(args)?
                    .parse()
                    .map_err(|_| format!("invalid port '{}'", args[0]))?
            }
            "bind" => {
                // Redis allows several addresses (and `-` for optional ones);
                // one listener set per address is future work.
                let [addr] = args else {
                    return Err("only one bind address is supported".into());
                };
                let addr = addr.strip_prefix('-').unwrap_or(addr);
                self.bind = addr
                    .parse()
                    .map_err(|_| format!("invalid bind address '{addr}'"))?;
            }
            "io-threads" => {
                let n: usize = one(args)?
                    .parse()
                    .map_err(|_| format!("invalid io-threads '{}'", args[0]))?;
                if !(1..=256).contains(&n) {
                    return Err("io-threads must be between 1 and 256".into());
                }
                self.io_threads = n;
            }
            "databases" => {
                let n: usize = one(args)?
                    .parse()
                    .map_err(|_| format!("invalid databases '{}'", args[0]))?;
                if !(1..=1_000_000).contains(&n) {
                    return Err("databases must be between 1 and 1000000".into());
                }
                self.databases = n;
            }
            other => return Err(format!("unknown directive '{other}'")),
        }
        Ok(())
    }

    /// Applies every directive of a file's text; `name` goes into errors as
    /// `name:line: message`.
    pub fn apply_text(&mut self, text: &str, name: &str) -> Result<(), String> {
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            // Redis quotes values that hold spaces; strip plain quotes.
            let args: Vec<&str> = words[1..].iter().map(|w| w.trim_matches('"')).collect();
            self.set(words[0], &args)
                .map_err(|e| format!("{name}:{}: {e}", i + 1))?;
        }
        Ok(())
    }

    pub fn apply_file(&mut self, path: &Path) -> Result<(), String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        self.apply_text(&text, &path.display().to_string())?;
        self.config_file = Some(path.to_path_buf());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_directives_and_errors() {
        let mut c = ServerConfig::default();
        c.apply_text(
            "# comment\nport 6380\n\nbind 0.0.0.0\ndatabases 4\n",
            "k.conf",
        )
        .unwrap();
        assert_eq!((c.port, c.databases), (6380, 4));
        assert_eq!(c.bind, IpAddr::from([0, 0, 0, 0]));
        let e = c
            .apply_text("port 1\nfrobnicate yes\n", "k.conf")
            .unwrap_err();
        assert_eq!(e, "k.conf:2: unknown directive 'frobnicate'");
        let e = c.apply_text("port x\n", "k.conf").unwrap_err();
        assert_eq!(e, "k.conf:1: invalid port 'x'");
    }
}
