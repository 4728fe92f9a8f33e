//! tiktoken's ordinary encoding (`encode_ordinary`) over rank tables laid out at build
//! time: the same pre-tokenizer pieces per encoding (scanned by hand, see `pretok`) and
//! the same byte-pair merge. Nothing is parsed or hashed at start.

mod layout;
mod merge;
mod pretok;
mod ranks;

use std::sync::LazyLock;

use pretok::Pattern;

pub use ranks::Rank;
use ranks::Ranks;

/// Bytes on a cache line boundary, so no slot of a table straddles two lines.
#[repr(C, align(64))]
struct Aligned<B: ?Sized>(B);

static O200K_TABLE: &Aligned<[u8]> =
    &Aligned(*include_bytes!(concat!(env!("OUT_DIR"), "/o200k_base.bin")));
static CL100K_TABLE: &Aligned<[u8]> = &Aligned(*include_bytes!(concat!(
    env!("OUT_DIR"),
    "/cl100k_base.bin"
)));

pub(crate) static O200K_BASE: LazyLock<Bpe> =
    LazyLock::new(|| Bpe::new(&O200K_TABLE.0, Pattern::O200k));

pub(crate) static CL100K_BASE: LazyLock<Bpe> =
    LazyLock::new(|| Bpe::new(&CL100K_TABLE.0, Pattern::Cl100k));

/// One encoding: its ranks and its pre-tokenizer.
pub(crate) struct Bpe {
    ranks: Ranks,
    pattern: Pattern,
}

impl Bpe {
    fn new(blob: &'static [u8], pattern: Pattern) -> Self {
        Self {
            ranks: Ranks::new(blob),
            pattern,
        }
    }

    /// The pieces the pre-tokenizer cuts `text` into, each given to `f`.
    fn pieces<'t>(&self, text: &'t str, f: impl FnMut(&'t [u8])) {
        pretok::pieces(self.pattern, text, f)
    }

    /// Gives `f` each token of `text` — its rank and its length in bytes — in order, as
    /// tiktoken's `encode_ordinary` (special tokens are text like any other).
    pub(crate) fn for_each_token(&self, text: &str, mut f: impl FnMut(Rank, usize)) {
        let mut scratch = merge::Scratch::default();
        self.pieces(text, |piece| match self.ranks.get(piece) {
            Some(rank) => f(rank, piece.len()),
            None => {
                let bounds = merge::split(&self.ranks, piece, &mut scratch);
                for w in bounds.windows(2) {
                    let token = &piece[w[0]..w[1]];
                    let rank = self
                        .ranks
                        .get(token)
                        .expect("every part a merge leaves is a token");
                    f(rank, token.len());
                }
            }
        });
    }

    /// Tokens of `text` (the length of `encode_ordinary(text)`).
    pub(crate) fn count(&self, text: &str) -> usize {
        let mut scratch = merge::Scratch::default();
        let mut n = 0;
        self.pieces(text, |piece| {
            n += match self.ranks.get(piece) {
                Some(_) => 1,
                None => merge::split(&self.ranks, piece, &mut scratch).len() - 1,
            }
        });
        n
    }

    /// The token ids of `text`, as tiktoken's `encode_ordinary`.
    pub(crate) fn encode_ordinary(&self, text: &str) -> Vec<Rank> {
        let mut out = Vec::new();
        self.for_each_token(text, |rank, _| out.push(rank));
        out
    }

    /// The bytes of token `rank`, if it is an ordinary token of this encoding.
    pub(crate) fn token(&self, rank: Rank) -> Option<&'static [u8]> {
        ((rank as usize) < self.ranks.len()).then(|| self.ranks.token(rank))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every token, valid UTF-8 or not, is found under its own bytes; bytes that are no
    /// token are not found.
    #[test]
    fn every_token_looks_up_to_its_rank() {
        for bpe in [&*O200K_BASE, &*CL100K_BASE] {
            let ranks = &bpe.ranks;
            for rank in 0..ranks.len() as Rank {
                assert_eq!(ranks.get(ranks.token(rank)), Some(rank));
            }
            assert_eq!(ranks.get(b""), None);
            assert_eq!(ranks.get("<|endoftext|>".as_bytes()), None);
            assert_eq!(ranks.get(&[0xff; 40]), None);
            assert_eq!(bpe.token(ranks.len() as Rank), None);
        }
    }

    proptest::proptest! {
        /// A key's words are the slot's first 12 bytes as `layout.rs` describes them: the
        /// length, then the first bytes, zero padded, little-endian.
        #[test]
        fn key_words_are_the_documented_bytes(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40)) {
            let mut key = [0u8; 12];
            key[0] = bytes.len() as u8;
            let n = bytes.len().min(layout::INLINE);
            key[1..1 + n].copy_from_slice(&bytes[..n]);
            let (a, b) = layout::key_words(&bytes);
            proptest::prop_assert_eq!(&a.to_le_bytes()[..], &key[..8]);
            proptest::prop_assert_eq!(&b.to_le_bytes()[..], &key[8..]);
        }
    }
}
