//! A token → rank table that costs nothing at start: `build.rs` lays it out (an open
//! addressing hash table over a fixed hash, see `layout.rs`) and the binary carries it as
//! bytes, read in place.

use super::layout::{self, RANK_BITS};

/// A token id.
pub type Rank = u32;

const RANK_MASK: u32 = (1 << RANK_BITS) - 1;

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
        let (offsets, rest) = blob[layout::HEADER..].split_at(4 * (n + 1));
        let (slots, arena) = rest.split_at(4 << bits);
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
        let h = layout::hash(bytes);
        let tag = layout::tag(h, self.bits);
        let mut i = layout::home(h, self.bits);
        loop {
            let slot = word(self.slots, i);
            if slot == 0 {
                return None;
            }
            if slot >> RANK_BITS == tag {
                let rank = (slot & RANK_MASK) - 1;
                if self.token(rank) == bytes {
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
