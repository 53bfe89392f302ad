//! Start-up replay of one AOF file: its commands are handed, in order, to
//! the caller's `replay` (the execution pipeline); a transaction's only
//! once its EXEC is read (one cut in the middle is dropped whole); an RDB
//! base (Redis 7.0's default `aof-use-rdb-preamble yes`) goes through the
//! RDB loader.

use super::manifest::err_at;
use super::Replay;
use crate::keyspace::Keyspace;
use crate::proto::request::{self, Parsed};
use std::fs::OpenOptions;
use std::path::Path;

/// Replays one file. A truncated last command is cut off the file when
/// `truncated_ok`, otherwise an error naming the file and the offset.
pub(super) fn file(
    ks: &Keyspace,
    path: &Path,
    truncated_ok: bool,
    replay: &mut Replay,
) -> Result<(), String> {
    let data = std::fs::read(path).map_err(|e| err_at(path, e))?;
    if data.starts_with(b"REDIS") {
        // Expired keys are loaded too: the AOF after the base says what
        // happened to them (Redis's RDBFLAGS_AOF_PREAMBLE).
        return crate::persist::rdb::load_into(ks, &data, false)
            .map(|_| ())
            .map_err(|b| {
                err_at(
                    path,
                    format!("Bad RDB base: {} at offset {}", b.what, b.offset),
                )
            });
    }
    let (mut ranges, mut owned) = (Vec::new(), Vec::new());
    let mut pos = 0;
    // Inside MULTI: where it started and the queued commands.
    let mut multi: Option<(usize, Vec<Vec<Vec<u8>>>)> = None;
    while pos < data.len() {
        let rest = &data[pos..];
        // As Redis's loader: a line starting with '#' is an annotation;
        // anything else but a command's '*' is a bad format (zero bytes
        // after a crash, say), not a truncation.
        match rest[0] {
            b'*' => {}
            b'#' => {
                pos += rest
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(rest.len(), |i| i + 1);
                continue;
            }
            _ => {
                return Err(err_at(
                    path,
                    format!(
                        "Bad file format reading the append only file at offset {pos}: make a \
                         backup of your AOF file, then fix it (redis-check-aof --fix)"
                    ),
                ))
            }
        }
        match request::parse(rest, &mut ranges, &mut owned) {
            Parsed::Multibulk { consumed } => {
                let argv: Vec<&[u8]> = ranges.iter().map(|r| &rest[r.clone()]).collect();
                let name = argv
                    .first()
                    .map(|a| a.to_ascii_lowercase())
                    .unwrap_or_default();
                match name.as_slice() {
                    b"multi" => multi = Some((pos, Vec::new())),
                    b"exec" => {
                        if let Some((_, q)) = multi.take() {
                            for args in q {
                                let a: Vec<&[u8]> = args.iter().map(|x| x.as_slice()).collect();
                                replay(&a)
                                    .map_err(|e| err_at(path, format!("{e} at offset {pos}")))?;
                            }
                        }
                    }
                    _ => match &mut multi {
                        Some((_, q)) => q.push(argv.iter().map(|a| a.to_vec()).collect()),
                        None => replay(&argv)
                            .map_err(|e| err_at(path, format!("{e} at offset {pos}")))?,
                    },
                }
                pos += consumed;
            }
            Parsed::Incomplete => break,
            Parsed::Empty { .. } | Parsed::Inline { .. } | Parsed::Error(_) => {
                return Err(err_at(
                    path,
                    format!("Bad file format reading the append only file at offset {pos}"),
                ));
            }
        }
    }
    // A MULTI without its EXEC counts as truncated at the MULTI.
    let valid = multi.map_or(pos, |(at, _)| at);
    if valid < data.len() {
        if !truncated_ok {
            return Err(err_at(
                path,
                format!(
                    "Unexpected end of file reading the append only file at offset {valid} \
                     (of {} bytes). Set aof-load-truncated yes to load it anyway, cutting the \
                     incomplete tail, or fix it with redis-check-aof --fix",
                    data.len()
                ),
            ));
        }
        eprintln!(
            "kvserver: # !!! Warning: short read while loading the AOF file {}!!! \
             AOF loaded anyway because aof-load-truncated is enabled; truncating it at offset \
             {valid} (of {} bytes)",
            path.display(),
            data.len()
        );
        let f = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| err_at(path, e))?;
        f.set_len(valid as u64).map_err(|e| err_at(path, e))?;
        f.sync_all().map_err(|e| err_at(path, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Redis 7.0's RDB base of an empty dataset (what a fresh AOF
    /// directory of redis-server starts with).
    const EMPTY_BASE: &[u8] = b"REDIS0010\xfa\x09redis-ver\x067.0.15\xfa\x0aredis-bits\xc0\x40\
        \xfa\x05ctime\xc2\xeb\xb2\x0c\x6b\xfa\x08used-mem\xc2\x40\x5f\x0d\x00\xfa\x08aof-base\
        \xc0\x01\xff\x13\x1e\x0f\xe5\x43\x0a\x2a\x47";

    fn load(data: &[u8]) -> Result<(Keyspace, usize), String> {
        let dir = std::env::temp_dir().join(format!("kv-rdb-base-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("base-{}.rdb", data.len()));
        std::fs::write(&path, data).unwrap();
        let ks = Keyspace::new(16, 16, Arc::default());
        let mut replayed = 0;
        let res = file(&ks, &path, false, &mut |_| {
            replayed += 1;
            Ok(())
        });
        let _ = std::fs::remove_file(&path);
        res.map(|()| (ks, replayed))
    }

    #[test]
    fn rdb_bases_load_through_the_rdb_loader() {
        let (ks, replayed) = load(EMPTY_BASE).unwrap();
        assert_eq!(replayed, 0);
        assert_eq!(
            ks.lock_all().dbs(0).iter().map(|d| d.len()).sum::<usize>(),
            0
        );
        // A base holding a key (checksum 0: not checked, as Redis).
        let mut with_key = EMPTY_BASE[..EMPTY_BASE.len() - 9].to_vec();
        with_key.extend_from_slice(b"\xfe\x00\x00\x01k\x01v\xff\0\0\0\0\0\0\0\0");
        let (ks, _) = load(&with_key).unwrap();
        let mut l = ks.lock(&[ks.shard_of(b"k")]);
        let e = l.db(0, b"k").get(b"k", 0).expect("loaded");
        assert_eq!(e.value.as_str().map(|s| s.to_vec()), Some(b"v".to_vec()));
        drop(l);
        let e = load(&EMPTY_BASE[..20]).unwrap_err();
        assert!(e.contains("Bad RDB base"), "{e}");
    }
}
