//! tiktoken's ordinary encoding (`encode_ordinary`) over rank tables laid out at build
//! time: the same pre-tokenizer pattern per encoding, run by the same `fancy-regex`, and
//! the same byte-pair merge. Nothing is parsed or hashed at start; the pattern compiles on
//! first use.

mod layout;
mod merge;
mod ranks;

use std::sync::{LazyLock, OnceLock};

use fancy_regex::Regex;

pub use ranks::Rank;
use ranks::Ranks;

/// cl100k_base's pre-tokenizer, as in tiktoken (`tiktoken_ext/openai_public.py`).
const CL100K_PATTERN: &str = r"'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s";

/// o200k_base's pre-tokenizer, as in tiktoken.
const O200K_PATTERN: &str = concat!(
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
    "|",
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
    "|",
    r"\p{N}{1,3}",
    "|",
    r" ?[^\s\p{L}\p{N}]+[\r\n/]*",
    "|",
    r"\s*[\r\n]+",
    "|",
    r"\s+(?!\S)",
    "|",
    r"\s+",
);

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
    LazyLock::new(|| Bpe::new(&O200K_TABLE.0, O200K_PATTERN));

pub(crate) static CL100K_BASE: LazyLock<Bpe> =
    LazyLock::new(|| Bpe::new(&CL100K_TABLE.0, CL100K_PATTERN));

/// One encoding: its ranks and its pre-tokenizer.
pub(crate) struct Bpe {
    ranks: Ranks,
    pattern: &'static str,
    regex: OnceLock<Regex>,
}

impl Bpe {
    fn new(blob: &'static [u8], pattern: &'static str) -> Self {
        Self {
            ranks: Ranks::new(blob),
            pattern,
            regex: OnceLock::new(),
        }
    }

    fn regex(&self) -> &Regex {
        self.regex
            .get_or_init(|| Regex::new(self.pattern).expect("tiktoken's pattern compiles"))
    }

    /// The pieces the pre-tokenizer cuts `text` into, each given to `f`. Should the regex
    /// engine give up (its backtracking limit; tiktoken would panic), the rest of the text
    /// is one piece.
    fn pieces<'t>(&self, text: &'t str, mut f: impl FnMut(&'t [u8])) {
        let mut end = 0;
        for m in self.regex().find_iter(text) {
            let Ok(m) = m else {
                if end < text.len() {
                    f(&text.as_bytes()[end..]);
                }
                return;
            };
            f(m.as_str().as_bytes());
            end = m.end();
        }
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
}
