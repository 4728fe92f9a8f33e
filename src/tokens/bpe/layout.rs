// The layout of a rank table and its hash function, shared word for word by `build.rs`
// (which writes the tables, through `include!`) and by `ranks.rs` (which reads them).
//
// A table is one little-endian blob:
//
//   magic          8 bytes, `MAGIC`
//   n              u32: tokens, with ranks 0..n
//   bits           u32: the hash table has 2^bits slots
//   arena_len      u32: bytes of all tokens together
//   offsets        (n + 1) u32: token r is arena[offsets[r]..offsets[r + 1]]
//   slots          2^bits u32: 0 if empty, else (tag << RANK_BITS) | (rank + 1)
//   arena          arena_len bytes, the tokens in rank order
//
// Slots are probed linearly from the top `bits` bits of `hash`; `tag` is the next
// `TAG_BITS` bits, so most probes that miss never touch the arena.

/// The first bytes of a table.
pub(crate) const MAGIC: &[u8; 8] = b"PITHBPE1";
/// Bytes before the offsets.
pub(crate) const HEADER: usize = 20;
/// Bits of a slot that hold rank + 1.
pub(crate) const RANK_BITS: u32 = 18;
/// Bits of a slot that hold the tag.
pub(crate) const TAG_BITS: u32 = 32 - RANK_BITS;

/// A fixed hash of a token's bytes (the table is laid out with it at build time).
#[inline]
pub(crate) fn hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    #[inline]
    fn mix(h: u64, w: u64) -> u64 {
        (h.rotate_left(26) ^ w).wrapping_mul(K)
    }
    let mut h = (bytes.len() as u64).wrapping_mul(K);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = mix(h, u64::from_le_bytes(w));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = mix(h, u64::from_le_bytes(w));
    }
    h
}

/// The slot a probe for `h` starts at, in a table of 2^bits slots.
#[inline]
pub(crate) fn home(h: u64, bits: u32) -> usize {
    (h >> (64 - bits)) as usize
}

/// The tag of `h` stored beside the rank, in a table of 2^bits slots.
#[inline]
pub(crate) fn tag(h: u64, bits: u32) -> u32 {
    ((h >> (64 - bits - TAG_BITS)) as u32) & ((1 << TAG_BITS) - 1)
}
