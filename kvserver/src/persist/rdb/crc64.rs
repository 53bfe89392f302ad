//! Redis's CRC-64 (Jones polynomial 0xad93d23594c935a9, reflected, init 0,
//! no final xor): the checksum at the end of an RDB file and of a DUMP
//! payload, stored little-endian.

const fn table() -> [u64; 256] {
    // The reflected polynomial.
    const POLY: u64 = 0x95ac_9329_ac4b_c9b5;
    let mut t = [0u64; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u64;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { (c >> 1) ^ POLY } else { c >> 1 };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
}

static TABLE: [u64; 256] = table();

/// Continues `crc` over `data` (start with 0).
pub fn update(mut crc: u64, data: &[u8]) -> u64 {
    for &b in data {
        crc = TABLE[((crc ^ b as u64) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        // Redis's crc64.c self-test values.
        assert_eq!(update(0, b"123456789"), 0xe9c6_d914_c4b8_d9ca);
        assert_eq!(update(0, b""), 0);
        // Incremental = one shot.
        let a = update(update(0, b"12345"), b"6789");
        assert_eq!(a, 0xe9c6_d914_c4b8_d9ca);
    }
}
