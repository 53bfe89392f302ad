//! Reading an RDB file into the keyspace (start-up, an AOF's RDB base).

use super::codec::{self, Reader};
use super::crc64;
use super::{
    OP_AUX, OP_EOF, OP_EXPIRETIME, OP_EXPIRETIME_MS, OP_FREQ, OP_FUNCTION2, OP_FUNCTION_PRE_GA,
    OP_IDLE, OP_MODULE_AUX, OP_RESIZEDB, OP_SELECTDB,
};
use crate::keyspace::Keyspace;

/// Parses a whole RDB file into the keyspace: (keys loaded, expired keys
/// skipped). `skip_expired`: keys whose deadline passed are not loaded
/// (a master loading its RDB; an AOF's RDB base loads them all, its tail
/// says what became of them).
pub fn load_into(ks: &Keyspace, data: &[u8], skip_expired: bool) -> Result<(u64, u64), codec::Bad> {
    let mut r = Reader::new(data);
    let magic = r.bytes(9)?;
    if &magic[..5] != b"REDIS" {
        r.p = 0;
        return r.bad("wrong signature (not an RDB file)");
    }
    let ver: u32 = match std::str::from_utf8(&magic[5..])
        .ok()
        .and_then(|s| s.parse().ok())
    {
        Some(v) if (1..=11).contains(&v) => v,
        _ => {
            r.p = 5;
            return r.bad("can't handle this RDB format version");
        }
    };
    let now = crate::util::now_ms();
    let mut db = 0usize;
    let mut expire: Option<u64> = None;
    let (mut idle, mut freq): (Option<u64>, Option<u8>) = (None, None);
    let (mut keys, mut expired) = (0u64, 0u64);
    loop {
        let at = r.p;
        let op = r.u8()?;
        match op {
            OP_EXPIRETIME_MS => expire = Some(r.u64_le()?),
            OP_EXPIRETIME => expire = Some(r.u32_le()? as u64 * 1000),
            // A key's access data, applied as Redis's objectSetLRUOrLFU.
            OP_FREQ => freq = Some(r.u8()?),
            OP_IDLE => idle = Some(r.len()?),
            OP_AUX => {
                r.string()?;
                r.string()?;
            }
            OP_RESIZEDB => {
                r.len()?;
                r.len()?;
            }
            OP_SELECTDB => {
                let n = r.len()?;
                if n >= ks.databases as u64 {
                    r.p = at;
                    return r.bad(format!(
                        "database {n} is out of range (databases {})",
                        ks.databases
                    ));
                }
                db = n as usize;
            }
            OP_MODULE_AUX => {
                r.p = at;
                return r.bad("module data (MODULE_AUX) is not supported");
            }
            OP_FUNCTION2 | OP_FUNCTION_PRE_GA => {
                r.p = at;
                return r.bad("functions (FUNCTION LOAD libraries) are not supported");
            }
            OP_EOF => {
                if ver >= 5 {
                    let end = r.p;
                    let sum = r.u64_le()?;
                    if sum != 0 && sum != crc64::update(0, &data[..end]) {
                        r.p = end;
                        return r.bad("RDB CRC64 checksum mismatch");
                    }
                }
                if r.left() != 0 {
                    return r.bad("data after the end of the RDB file");
                }
                return Ok((keys, expired));
            }
            t => {
                let key = r.string()?;
                let key_at = r.p;
                let v = codec::read_value(&mut r, t)?;
                let exp = expire.take();
                let (key_idle, key_freq) = (idle.take(), freq.take());
                let Some(v) = v else {
                    continue; // an empty collection: Redis skips it too
                };
                if skip_expired && exp.is_some_and(|e| e < now) {
                    expired += 1;
                    continue;
                }
                let mut l = ks.lock(&[ks.shard_of(&key)]);
                let d = l.db(db, &key);
                if d.contains(&key, 0) {
                    r.p = key_at;
                    return r.bad(format!(
                        "duplicated key '{}' in database {db}",
                        String::from_utf8_lossy(&key)
                    ));
                }
                d.set(&key, v, exp, now);
                d.set_idle_or_freq(&key, key_idle, key_freq, now);
                keys += 1;
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------
