// The layout of a rank table and its hash function, shared word for word by `build.rs`
// (which writes the tables, through `include!`) and by `ranks.rs` (which reads them).
//
// A table is one little-endian blob:
//
//   header         HEADER bytes: `MAGIC`, then u32s n (tokens, ranks 0..n), bits (the
//                  hash table has 2^bits slots) and arena_len, then zeros
//   slots          2^bits slots of SLOT bytes: the token's key (`key_words`: its
//                  length, then its first INLINE bytes, zero padded), then u32 rank + 1;
//                  all zero if empty (no token is empty)
//   offsets        (n + 1) u32: token r is arena[offsets[r]..offsets[r + 1]]
//   arena          arena_len bytes, the tokens in rank order
//
// Slots are probed linearly from the top `bits` bits of `hash_words`. A probe compares 12
// bytes of the slot with the key of the bytes looked up, so it touches one cache line,
// and only a token longer than INLINE bytes needs the arena to be told apart.

/// The first bytes of a table.
pub(crate) const MAGIC: &[u8; 8] = b"PITHBPE2";
/// Bytes before the slots (a cache line, so slots do not straddle lines).
pub(crate) const HEADER: usize = 64;
/// Bytes of a slot.
pub(crate) const SLOT: usize = 16;
/// Bytes of a token kept in its slot (the key is 12 bytes: the length, then these).
pub(crate) const INLINE: usize = 11;
/// The longest token a table can hold.
pub(crate) const MAX_LEN: usize = 255;

/// A token's key, as the first 12 bytes of its slot hold it: its length (at most
/// `MAX_LEN`), then its first `INLINE` bytes, zero padded; read as a little-endian u64
/// and u32. Two tokens with the same key and length at most `INLINE` are the same. Made
/// in registers: no call to `memcpy` for a copy of a few bytes (most look-ups are of
/// pieces of 1 to 8 bytes).
#[inline]
pub(crate) fn key_words(bytes: &[u8]) -> (u64, u32) {
    let mut a = u64::from(bytes.len() as u8);
    let mut b = 0u32;
    for (i, &byte) in bytes.iter().take(INLINE).enumerate() {
        if i < 7 {
            a |= u64::from(byte) << (8 * (i + 1));
        } else {
            b |= u32::from(byte) << (8 * (i - 7));
        }
    }
    (a, b)
}

/// A fixed hash of a token (its key's words and the bytes past them); the table is laid
/// out with it at build time.
#[inline]
pub(crate) fn hash_words(a: u64, b: u32, bytes: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    #[inline]
    fn mix(h: u64, w: u64) -> u64 {
        (h.rotate_left(26) ^ w).wrapping_mul(K)
    }
    let mut h = mix(mix(0, a), u64::from(b));
    if bytes.len() > INLINE {
        for c in bytes[INLINE..].chunks(8) {
            let mut w = [0u8; 8];
            w[..c.len()].copy_from_slice(c);
            h = mix(h, u64::from_le_bytes(w));
        }
    }
    h
}

/// The slot a probe for `h` starts at, in a table of 2^bits slots.
#[inline]
pub(crate) fn home(h: u64, bits: u32) -> usize {
    (h >> (64 - bits)) as usize
}
