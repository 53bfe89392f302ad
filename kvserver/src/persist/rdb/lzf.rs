//! LZF (liblzf's format, as Redis uses it for RDB strings longer than 20
//! bytes): a decompressor that checks every bound, and a compressor.
//!
//! Format: a control byte `c`; `c < 32`: `c + 1` literal bytes follow;
//! otherwise a back reference: length `c >> 5` (7: add the next byte) plus
//! 2, offset `((c & 31) << 8) + next byte + 1` back from the output end.

/// Decompresses `src` into exactly `len` bytes; None if it is malformed
/// or does not produce `len` bytes.
pub fn decompress(src: &[u8], len: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(len);
    let mut i = 0;
    while i < src.len() {
        let c = src[i] as usize;
        i += 1;
        if c < 32 {
            let n = c + 1;
            let lit = src.get(i..i + n)?;
            if out.len() + n > len {
                return None;
            }
            out.extend_from_slice(lit);
            i += n;
        } else {
            let mut n = c >> 5;
            if n == 7 {
                n += *src.get(i)? as usize;
                i += 1;
            }
            n += 2;
            let back = ((c & 31) << 8) + *src.get(i)? as usize + 1;
            i += 1;
            if back > out.len() || out.len() + n > len {
                return None;
            }
            let start = out.len() - back;
            // Overlapping copies repeat the pattern: byte by byte.
            for k in 0..n {
                let b = out[start + k];
                out.push(b);
            }
        }
    }
    (out.len() == len).then_some(out)
}

const HLOG: usize = 14;
const MAX_LIT: usize = 32;
const MAX_OFF: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3);

/// Compresses `src`; None if the result would not be shorter than
/// `max_out` bytes (Redis stores the string as it is then).
pub fn compress(src: &[u8], max_out: usize) -> Option<Vec<u8>> {
    let n = src.len();
    if n < 4 {
        return None;
    }
    let mut table = vec![0usize; 1 << HLOG]; // position + 1; 0 = empty
    let mut out: Vec<u8> = Vec::with_capacity(max_out);
    let mut lit_start = 0usize; // index in `out` of the current run's control byte
    let mut lit = 0usize;
    out.push(0);
    let hash = |p: usize| -> usize {
        let v = (src[p] as u32) << 16 | (src[p + 1] as u32) << 8 | src[p + 2] as u32;
        ((v.wrapping_mul(0x9E37_79B1)) >> (32 - HLOG as u32)) as usize
    };
    let mut ip = 0;
    while ip + 2 < n {
        let h = hash(ip);
        let cand = table[h];
        table[h] = ip + 1;
        if cand > 0 {
            let r = cand - 1;
            let off = ip - r - 1;
            if off < MAX_OFF && src[r..r + 3] == src[ip..ip + 3] {
                let maxlen = (n - ip).min(MAX_REF);
                let mut len = 3;
                while len < maxlen && src[r + len] == src[ip + len] {
                    len += 1;
                }
                // Close the literal run.
                if lit == 0 {
                    out.pop();
                } else {
                    out[lit_start] = (lit - 1) as u8;
                }
                let l = len - 2;
                if l < 7 {
                    out.push(((off >> 8) + (l << 5)) as u8);
                } else {
                    out.push(((off >> 8) + (7 << 5)) as u8);
                    out.push((l - 7) as u8);
                }
                out.push(off as u8);
                if out.len() + 1 >= max_out {
                    return None;
                }
                ip += len;
                lit = 0;
                lit_start = out.len();
                out.push(0);
                continue;
            }
        }
        out.push(src[ip]);
        lit += 1;
        ip += 1;
        if lit == MAX_LIT {
            out[lit_start] = (MAX_LIT - 1) as u8;
            lit = 0;
            lit_start = out.len();
            out.push(0);
        }
        if out.len() >= max_out {
            return None;
        }
    }
    while ip < n {
        out.push(src[ip]);
        lit += 1;
        ip += 1;
        if lit == MAX_LIT {
            out[lit_start] = (MAX_LIT - 1) as u8;
            lit = 0;
            lit_start = out.len();
            out.push(0);
        }
    }
    if lit == 0 {
        out.pop();
    } else {
        out[lit_start] = (lit - 1) as u8;
    }
    (out.len() < max_out).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_vector() {
        // "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" (50 'a') as
        // redis-server 7.0 stores it (lzf_compress output).
        let c = [0x01, b'a', b'a', 0xe0, 0x25, 0x00, 0x01, b'a', b'a'];
        assert_eq!(decompress(&c, 50).unwrap(), vec![b'a'; 50]);
        let ours = compress(&[b'a'; 50], 46).unwrap();
        assert_eq!(decompress(&ours, 50).unwrap(), vec![b'a'; 50]);
        assert!(decompress(&c, 49).is_none());
        assert!(
            decompress(&[0x20, 0x05], 10).is_none(),
            "reference before start"
        );
        assert!(decompress(&[0x05, b'a'], 6).is_none(), "truncated literal");
    }

    proptest! {
        #[test]
        fn round_trip(data in proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), any::<u8>()], 0..3000)) {
            if let Some(c) = compress(&data, data.len()) {
                prop_assert!(c.len() < data.len());
                prop_assert_eq!(decompress(&c, data.len()).unwrap(), data);
            }
        }

        #[test]
        fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200), len in 0usize..1000) {
            let _ = decompress(&data, len);
        }
    }
}
