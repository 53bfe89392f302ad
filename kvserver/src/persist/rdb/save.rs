//! Writing an RDB file: every byte through the CRC, through the background
//! ring, to a temporary file fsynced and renamed over the target.

use super::codec::{self, put_len, put_string, put_value};
use super::crc64;
use super::{OP_AUX, OP_EOF, OP_EXPIRETIME_MS, OP_RESIZEDB, OP_SELECTDB};
use crate::persist::ring_file::{BgIo, RingFile};
use crate::persist::snapshot::{Event, Walk};
use crate::types::Value;
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

/// An RDB file being written: every byte goes through the CRC.
pub(super) struct FileWriter {
    /// Through the background ring: writes and the fsync run on FastIO's
    /// blocking workers.
    w: RingFile,
    crc: u64,
    buf: Vec<u8>,
}

impl FileWriter {
    fn create(bg: &BgIo, path: &Path) -> std::io::Result<FileWriter> {
        let mut fw = FileWriter {
            w: RingFile::create(bg, path)?,
            crc: 0,
            buf: Vec::with_capacity(1 << 16),
        };
        fw.buf
            .extend_from_slice(format!("REDIS{:04}", codec::RDB_VERSION).as_bytes());
        let ctime = (crate::util::now_ms() / 1000).to_string();
        let mem = crate::util::rss_bytes().to_string();
        for (k, v) in [
            ("redis-ver", crate::util::REDIS_VERSION),
            ("redis-bits", "64"),
            ("ctime", &ctime),
            ("used-mem", &mem),
            ("aof-base", "0"),
        ] {
            fw.buf.push(OP_AUX);
            put_string(&mut fw.buf, k.as_bytes());
            put_string(&mut fw.buf, v.as_bytes());
        }
        Ok(fw)
    }

    fn flush_buf(&mut self) -> std::io::Result<()> {
        self.crc = crc64::update(self.crc, &self.buf);
        self.w.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    pub(super) fn select(&mut self, db: usize, keys: usize, expires: usize) {
        self.buf.push(OP_SELECTDB);
        put_len(&mut self.buf, db as u64);
        self.buf.push(OP_RESIZEDB);
        put_len(&mut self.buf, keys as u64);
        put_len(&mut self.buf, expires as u64);
    }

    pub(super) fn key(&mut self, key: &[u8], v: &Value, exp: Option<u64>) -> std::io::Result<()> {
        if let Some(at) = exp {
            self.buf.push(OP_EXPIRETIME_MS);
            self.buf.extend_from_slice(&at.to_le_bytes());
        }
        // Type byte, then key, then value: put_value writes the type first.
        let mut val = Vec::new();
        put_value(&mut val, v);
        self.buf.push(val[0]);
        put_string(&mut self.buf, key);
        self.buf.extend_from_slice(&val[1..]);
        if self.buf.len() >= 1 << 16 {
            self.flush_buf()?;
        }
        Ok(())
    }

    fn finish(mut self) -> std::io::Result<()> {
        self.buf.push(OP_EOF);
        self.flush_buf()?;
        let crc = self.crc;
        self.w.write_all(&crc.to_le_bytes())?;
        self.w.finish()
    }
}

/// Writes `tmp`, fsyncs, renames it to `dir/name`, fsyncs the directory.
pub(super) fn write_file(
    bg: &BgIo,
    file_lock: &Mutex<()>,
    dir: &Path,
    tmp_name: &str,
    name: &str,
    body: impl FnOnce(&mut FileWriter) -> std::io::Result<usize>,
) -> Result<usize, String> {
    let _g = file_lock.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = dir.join(tmp_name);
    let res = (|| {
        let mut w = FileWriter::create(bg, &tmp)?;
        let n = body(&mut w)?;
        w.finish()?;
        std::fs::rename(&tmp, dir.join(name))?;
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok::<usize, std::io::Error>(n)
    })();
    res.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("writing {}: {e}", tmp.display())
    })
}

/// Writes a background copy out.
pub(super) fn write_walk(w: &mut FileWriter, walk: Walk) -> std::io::Result<usize> {
    walk.write(|ev| match ev {
        Event::Db {
            index,
            keys,
            expires,
        } => {
            w.select(index, keys, expires);
            Ok(())
        }
        Event::Key((k, v, at)) => w.key(k, v, *at),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_empty_file_shape() {
        let dir = std::env::temp_dir().join(format!("kv-rdb-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bg = BgIo::for_tests();
        let n = write_file(&bg, &Mutex::new(()), &dir, "t.tmp", "e.rdb", |_| Ok(0)).unwrap();
        assert_eq!(n, 0);
        let d = std::fs::read(dir.join("e.rdb")).unwrap();
        assert!(d.starts_with(b"REDIS0010"));
        let end = d.len() - 8;
        assert_eq!(d[end - 1], OP_EOF);
        let mut c = [0u8; 8];
        c.copy_from_slice(&d[end..]);
        assert_eq!(u64::from_le_bytes(c), crc64::update(0, &d[..end]));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
