//! A token → rank table that costs nothing at start: `build.rs` lays it out (an open
//! addressing hash table over a fixed hash, see `layout.rs`) and the binary carries it as
//! bytes, read in place.

use super::layout::{self, INLINE, SLOT};

/// A token id.
pub type Rank = u32;

/// The ordinary tokens of one encoding: bytes → rank and rank → bytes.
#[derive(Clone, Copy)]
pub(crate) struct Ranks {
    offsets: &'static [u8],
    slots: &'static [u8],
    arena: &'static [u8],
    bits: u32,
    mask: usize,
    len: usize,
}

/// The little-endian u32 at byte `at` of `bytes`.
#[inline]
fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let w = &bytes[at..at + 4];
    u32::from_le_bytes([w[0], w[1], w[2], w[3]])
}

/// The `i`-th little-endian u32 of `bytes`.
#[inline]
fn word(bytes: &[u8], i: usize) -> u32 {
    let w = &bytes[4 * i..4 * i + 4];
    u32::from_le_bytes([w[0], w[1], w[2], w[3]])
}

impl Ranks {
    /// The table in `blob`, as `build.rs` wrote it. Reads the header only.
    pub(crate) fn new(blob: &'static [u8]) -> Self {
        assert_eq!(&blob[..8], layout::MAGIC, "a rank table from build.rs");
        let header = &blob[8..layout::HEADER];
        let (n, bits, arena_len) = (
            word(header, 0) as usize,
            word(header, 1),
            word(header, 2) as usize,
        );
        let (slots, rest) = blob[layout::HEADER..].split_at(SLOT << bits);
        let (offsets, arena) = rest.split_at(4 * (n + 1));
        assert_eq!(arena.len(), arena_len, "a whole rank table");
        Self {
            offsets,
            slots,
            arena,
            bits,
            mask: (1 << bits) - 1,
            len: n,
        }
    }

    /// The rank of the token `bytes`, if it is one.
    #[inline]
    pub(crate) fn get(&self, bytes: &[u8]) -> Option<Rank> {
        if bytes.len() > layout::MAX_LEN {
            return None;
        }
        let (a, b) = layout::key_words(bytes);
        let mut i = layout::home(layout::hash_words(a, b, bytes), self.bits);
        loop {
            let slot = &self.slots[SLOT * i..SLOT * i + SLOT];
            let sa = u64::from_le_bytes([
                slot[0], slot[1], slot[2], slot[3], slot[4], slot[5], slot[6], slot[7],
            ]);
            if slot[0] == 0 {
                return None; // empty: no token has length 0
            }
            if sa == a && u32_at(slot, 8) == b {
                let rank = u32_at(slot, 12) - 1;
                if bytes.len() <= INLINE || self.token(rank)[INLINE..] == bytes[INLINE..] {
                    return Some(rank);
                }
            }
            i = (i + 1) & self.mask;
        }
    }

    /// The bytes of token `rank` (`rank < len()`).
    #[inline]
    pub(crate) fn token(&self, rank: Rank) -> &'static [u8] {
        let r = rank as usize;
        &self.arena[word(self.offsets, r) as usize..word(self.offsets, r + 1) as usize]
    }

    /// How many tokens there are (ranks `0..len`).
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}
