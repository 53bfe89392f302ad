//! MEMORY USAGE's estimate of a key's bytes (also what eviction counts as
//! freed), modelled on Redis 7.0's own layout rather than measured: the
//! system allocator cannot tell what one value holds.

use super::stream::StreamId;
use super::{Str, Value};
use crate::util::parse_i64;

/// Bytes of an sds string holding `n` bytes: header (sdshdr8/16/32/64),
/// content and terminator.
fn sds(n: usize) -> usize {
    let hdr = match n {
        0..=255 => 3,
        256..=65535 => 5,
        _ if n as u64 <= u32::MAX as u64 => 9,
        _ => 17,
    };
    hdr + n + 1
}

/// Averages `size` over the first `samples` items (all if 0) and scales it
/// to `len` items, as Redis's objectComputeSize samples.
fn sampled<'a, T: 'a>(
    items: impl Iterator<Item = T>,
    len: usize,
    samples: usize,
    size: impl Fn(T) -> usize,
) -> usize {
    let limit = if samples == 0 { usize::MAX } else { samples };
    let (mut n, mut total) = (0usize, 0usize);
    for it in items.take(limit) {
        total += size(it);
        n += 1;
    }
    (total * len).checked_div(n).unwrap_or(0)
}

/// MEMORY USAGE's estimate of a key's bytes, modelled on Redis's own
/// layout rather than measured (the system allocator cannot tell):
/// key = dict entry (24) + robj (16) + sds(key), plus 24 for a deadline;
/// value = per type, with the element sizes averaged over `samples`
/// elements (all if 0):
/// - string: an integer fits in the robj (0), else sds(len);
/// - list: the bytes the packed list really holds (its chunks are laid
///   out as Redis's listpacks are; no sampling needed);
/// - hash: listpack 24 + per field (field + value + 4); hashtable 96 +
///   per field (sds(field) + sds(value) + 24 dict entry);
/// - set: intset 16 + 8 per member; hashtable 96 + per member (sds + 24);
/// - zset: listpack 24 + per member (member + 10); skiplist 96 + per
///   member (sds + 24 dict entry + 48 skiplist node).
pub fn memory_usage(key: &[u8], v: &Value, has_ttl: bool, samples: usize) -> usize {
    let mut n = 24 + 16 + sds(key.len()) + if has_ttl { 24 } else { 0 };
    n += match v {
        Value::String(s) => {
            if s.len() <= 20 && parse_i64(s).is_some() {
                0
            } else {
                sds(s.len())
            }
        }
        // Measured, not modelled: the packed layout is Redis's.
        Value::List(l) => l.allocated_bytes(),
        Value::Hash(h) => {
            let big = h.encoding() == "hashtable";
            let per = |(f, v): (&Str, &Str)| {
                if big {
                    sds(f.len()) + sds(v.len()) + 24
                } else {
                    f.len() + v.len() + 4
                }
            };
            (if big { 96 } else { 24 }) + sampled(h.map.iter(), h.map.len(), samples, per)
        }
        Value::Set(s) => {
            if s.encoding() == "intset" {
                16 + 8 * s.set.len()
            } else {
                96 + sampled(s.set.iter(), s.set.len(), samples, |m| sds(m.len()) + 24)
            }
        }
        Value::ZSet(z) => {
            let big = z.encoding() == "skiplist";
            let per = |(m, _): (&Str, &f64)| {
                if big {
                    sds(m.len()) + 24 + 48
                } else {
                    m.len() + 10
                }
            };
            (if big { 96 } else { 24 }) + sampled(z.dict.iter(), z.dict.len(), samples, per)
        }
        // stream: 64 for the stream struct, 4096-byte listpack nodes of
        // up to 100 entries (Redis's stream-node-max-*) each with a rax
        // node (~40), the entries sampled from the front: id delta (2) +
        // per pair field + value + 2 headers.
        Value::Stream(st) => {
            let nodes = st.node_count();
            let sample = if samples == 0 { st.len() } else { samples };
            let front = st.range(StreamId::new(0, 0), StreamId::MAX, false, sample);
            let per = |(_, p): &(StreamId, crate::types::stream::Pairs<'_>)| {
                2 + p.clone().map(|(f, v)| f.len() + v.len() + 2).sum::<usize>()
            };
            64 + nodes * 40 + sampled(front.iter(), st.len(), 0, per)
        }
    };
    n
}
