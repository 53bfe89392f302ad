//! `fastio.conf`: settings shared by every FastIO program.
//!
//! The defaults are the top-level `fastio.conf` itself, compiled in, so the
//! documented file and the built-in behaviour cannot disagree. A program
//! reads `--config PATH` if given, then applies command-line overrides.

use crate::abi;
use std::fmt;
use std::path::{Path, PathBuf};

/// The top-level fastio.conf, embedded at build time.
pub const DEFAULT_CONF: &str = include_str!("../../fastio.conf");

/// Which implementation executes the rings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendChoice {
    Auto,
    Kernel,
    Uring,
    Threads,
}

impl BackendChoice {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "auto" => Self::Auto,
            "kernel" => Self::Kernel,
            "uring" => Self::Uring,
            "threads" => Self::Threads,
            _ => return None,
        })
    }
}

/// Parsed settings; see fastio.conf for what each one does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub backend: BackendChoice,
    pub max_ker_worker: u32,
    pub max_wq_worker: u32,
    pub ring_entries: u32,
    pub cq_entries: u32,
    pub poller_idle_us: u32,
    pub affinity_offset: i32,
    pub uring_sqpoll: bool,
}

/// A rejected setting, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// "fastio.conf:12", or "--fastio" for a command-line override.
    pub origin: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.origin, self.message)
    }
}

impl std::error::Error for ConfigError {}

impl Default for Config {
    fn default() -> Self {
        Config::parse(DEFAULT_CONF, "fastio.conf (built in)")
            .expect("the built-in fastio.conf is valid (checked by a unit test)")
    }
}

fn uint(value: &str, min: u32, max: u32) -> Result<u32, String> {
    match value.parse::<u32>() {
        Ok(v) if (min..=max).contains(&v) => Ok(v),
        _ => Err(format!(
            "expected an integer in {min}..={max}, got '{value}'"
        )),
    }
}

fn power_of_two(value: &str, min: u32, max: u32) -> Result<u32, String> {
    let v = uint(value, min, max)?;
    if v != 0 && !v.is_power_of_two() {
        return Err(format!("expected a power of two, got {v}"));
    }
    Ok(v)
}

impl Config {
    /// Parses a whole file's text. `name` is used in error messages.
    pub fn parse(text: &str, name: &str) -> Result<Config, ConfigError> {
        let mut cfg = Config {
            backend: BackendChoice::Auto,
            max_ker_worker: 1,
            max_wq_worker: 2,
            ring_entries: 256,
            cq_entries: 0,
            poller_idle_us: 200,
            affinity_offset: -1,
            uring_sqpoll: false,
        };
        for (i, raw) in text.lines().enumerate() {
            let origin = || format!("{name}:{}", i + 1);
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                return Err(ConfigError {
                    origin: origin(),
                    message: format!("expected 'key = value', got '{line}'"),
                });
            };
            cfg.set(key.trim(), value.trim())
                .map_err(|message| ConfigError {
                    origin: origin(),
                    message,
                })?;
        }
        cfg.check().map_err(|message| ConfigError {
            origin: name.to_string(),
            message,
        })?;
        Ok(cfg)
    }

    /// Reads and parses a file.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            origin: path.display().to_string(),
            message: format!("cannot read: {e}"),
        })?;
        Config::parse(&text, &path.display().to_string())
    }

    /// Sets one key. The error says what was wrong with the value.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        match key {
            "backend" => {
                self.backend = BackendChoice::parse(value).ok_or_else(|| {
                    format!("backend: expected auto, kernel, uring or threads, got '{value}'")
                })?
            }
            "max_ker_worker" => self.max_ker_worker = uint(value, 1, abi::FASTIO_MAX_WORKERS)?,
            "max_wq_worker" => self.max_wq_worker = uint(value, 1, abi::FASTIO_MAX_WORKERS)?,
            "ring_entries" => self.ring_entries = power_of_two(value, 1, abi::FASTIO_MAX_ENTRIES)?,
            "cq_entries" => self.cq_entries = power_of_two(value, 0, 2 * abi::FASTIO_MAX_ENTRIES)?,
            "poller_idle_us" => self.poller_idle_us = uint(value, 0, abi::FASTIO_MAX_IDLE_US)?,
            "affinity_offset" => {
                self.affinity_offset = match value.parse::<i32>() {
                    Ok(v) if (-1..=4095).contains(&v) => v,
                    _ => return Err(format!("expected -1 or a CPU number, got '{value}'")),
                }
            }
            "uring_sqpoll" => {
                self.uring_sqpoll = match value {
                    "yes" | "true" | "1" => true,
                    "no" | "false" | "0" => false,
                    _ => return Err(format!("expected yes or no, got '{value}'")),
                }
            }
            _ => return Err(format!("unknown key '{key}'")),
        }
        Ok(())
    }

    /// Rules that involve more than one key.
    fn check(&self) -> Result<(), String> {
        if self.cq_entries != 0 && self.cq_entries < self.ring_entries {
            return Err(format!(
                "cq_entries ({}) must be 0 or at least ring_entries ({})",
                self.cq_entries, self.ring_entries
            ));
        }
        Ok(())
    }

    /// Setup parameters for a context with `nr_rings` ring pairs.
    pub fn params(&self, nr_rings: u32) -> abi::Params {
        abi::Params {
            version: abi::FASTIO_ABI_VERSION,
            sq_entries: self.ring_entries,
            cq_entries: self.cq_entries,
            nr_rings,
            max_ker_worker: self.max_ker_worker,
            max_wq_worker: self.max_wq_worker,
            idle_us: self.poller_idle_us,
            affinity_offset: self.affinity_offset,
            ..Default::default()
        }
    }
}

/// Command-line options every FastIO program flattens into its own parser.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct FastioArgs {
    /// FastIO settings file (default: the built-in copy of fastio.conf)
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Backend: auto, kernel, uring or threads
    #[arg(long)]
    pub backend: Option<String>,
    /// Polling workers (max_ker_worker)
    #[arg(long)]
    pub workers: Option<u32>,
    /// Any fastio.conf key, as key=value (repeatable)
    #[arg(long = "fastio", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
}

impl FastioArgs {
    /// The settings: the file (or built-in defaults), then the overrides.
    pub fn load(&self) -> Result<Config, ConfigError> {
        let mut cfg = match &self.config {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        let mut pairs: Vec<(String, String, &str)> = Vec::new();
        if let Some(b) = &self.backend {
            pairs.push(("backend".into(), b.clone(), "--backend"));
        }
        if let Some(w) = self.workers {
            pairs.push(("max_ker_worker".into(), w.to_string(), "--workers"));
        }
        for kv in &self.overrides {
            let Some((k, v)) = kv.split_once('=') else {
                return Err(ConfigError {
                    origin: "--fastio".into(),
                    message: format!("expected KEY=VALUE, got '{kv}'"),
                });
            };
            pairs.push((k.trim().into(), v.trim().into(), "--fastio"));
        }
        for (k, v, origin) in pairs {
            cfg.set(&k, &v).map_err(|message| ConfigError {
                origin: origin.into(),
                message,
            })?;
        }
        cfg.check().map_err(|message| ConfigError {
            origin: "command line".into(),
            message,
        })?;
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_file_parses_to_documented_defaults() {
        let c = Config::parse(DEFAULT_CONF, "fastio.conf").unwrap();
        assert_eq!(c.backend, BackendChoice::Auto);
        assert_eq!(c.max_ker_worker, 1);
        assert_eq!(c.ring_entries, 256);
        assert_eq!(c, Config::default());
    }

    #[test]
    fn every_documented_key_is_settable() {
        // Each `key = value` line of the shipped file goes through `set`.
        let mut c = Config::default();
        for line in DEFAULT_CONF.lines() {
            let line = line.split('#').next().unwrap().trim();
            if let Some((k, v)) = line.split_once('=') {
                c.set(k.trim(), v.trim()).unwrap();
            }
        }
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = Config::parse("backend = auto\n\nfoo = 1\n", "x.conf").unwrap_err();
        assert_eq!(e.origin, "x.conf:3");
        assert!(e.message.contains("unknown key 'foo'"), "{e}");

        let e = Config::parse("ring_entries = 100\n", "x.conf").unwrap_err();
        assert_eq!(e.to_string(), "x.conf:1: expected a power of two, got 100");

        for bad in [
            "max_ker_worker = 0",
            "max_ker_worker = 65",
            "max_wq_worker = -1",
            "ring_entries = 65536",
            "poller_idle_us = lots",
            "affinity_offset = -2",
            "backend = epoll",
            "uring_sqpoll = maybe",
            "no equals sign",
        ] {
            let e = Config::parse(bad, "b.conf").unwrap_err();
            assert_eq!(e.origin, "b.conf:1", "{bad}: {e}");
        }
        let e = Config::parse("ring_entries = 64\ncq_entries = 32", "c.conf").unwrap_err();
        assert!(e.message.contains("cq_entries"), "{e}");
    }

    #[test]
    fn command_line_overrides_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.conf");
        std::fs::write(&path, "backend = uring\nmax_ker_worker = 2\n").unwrap();
        let args = FastioArgs {
            config: Some(path),
            backend: Some("threads".into()),
            workers: None,
            overrides: vec!["poller_idle_us=0".into()],
        };
        let c = args.load().unwrap();
        assert_eq!(c.backend, BackendChoice::Threads);
        assert_eq!(c.max_ker_worker, 2);
        assert_eq!(c.poller_idle_us, 0);

        let bad = FastioArgs {
            overrides: vec!["ring_entries".into()],
            ..Default::default()
        };
        assert_eq!(bad.load().unwrap_err().origin, "--fastio");
        let missing = FastioArgs {
            config: Some("/nonexistent/fastio.conf".into()),
            ..Default::default()
        };
        assert!(missing.load().unwrap_err().message.contains("cannot read"));
    }
}
