//! Token counting in the *target* model's tokenizer: budgets are promises in its tokens.

mod bpe;
#[cfg(feature = "hf")]
mod hf;
mod tiktoken;

use std::collections::HashMap;

pub use bpe::Rank;
#[cfg(feature = "hf")]
pub use hf::HfTokenizer;
pub use tiktoken::{Encoding, Tiktoken};

/// Counts tokens of text as the target model's tokenizer would.
pub trait TokenCounter: Send + Sync + std::fmt::Debug {
    /// Tokens in `text`, without special tokens.
    fn count(&self, text: &str) -> usize;

    /// A short name for reports (`o200k_base`, `tokenizer.json`).
    fn name(&self) -> &str;

    /// Tokens of `text` attributed to the pieces that end at `ends` (ascending, the last
    /// one `text.len()`), and whether they sum to `count(text)` exactly. By default each
    /// piece is counted alone, which need not sum to the whole; an encoder that knows
    /// where its tokens fall encodes the text once and gives each token to the piece its
    /// first byte is in, so the sum is the exact count — one pass instead of two for a
    /// long text cut into many small pieces.
    fn count_pieces(&self, text: &str, ends: &[usize]) -> (Vec<usize>, bool) {
        let mut start = 0;
        let counts = ends
            .iter()
            .map(|&end| {
                let n = self.count(&text[start..end]);
                start = end;
                n
            })
            .collect();
        (counts, false)
    }

    /// Whether [`TokenCounter::count_pieces`] is exact and counts add up over a text cut
    /// at line cuts (a newline before an ASCII character that is neither whitespace nor
    /// `/`): no token crosses such a cut, so a part between two of them
    /// counts alone what it counts within the whole. True for tiktoken's encodings.
    fn additive_at_line_cuts(&self) -> bool {
        false
    }

    /// Byte length of the longest prefix of `text`, ending on a char boundary, that has
    /// at most `max` tokens.
    fn prefix_len(&self, text: &str, max: usize) -> usize {
        // Token counts of prefixes grow with their length (up to a token at the cut), so
        // a binary search over the length finds the longest prefix that fits.
        let (mut lo, mut hi) = (0, text.len());
        while lo < hi {
            let mid = floor_char_boundary(text, lo + (hi - lo).div_ceil(2));
            if mid <= lo {
                break;
            }
            if self.count(&text[..mid]) <= max {
                lo = mid
            } else {
                hi = mid - 1
            }
        }
        let mut n = floor_char_boundary(text, lo);
        while n > 0 && self.count(&text[..n]) > max {
            n = floor_char_boundary(text, n - 1);
        }
        n
    }
}

/// Whether byte `at` of `b` starts a line with an ASCII character that is neither
/// whitespace nor `/`: no pattern of tiktoken's pre-tokenizers goes on past the newline
/// before such a character (a newline can end a punctuation token that goes on with `/`),
/// so no token crosses it.
pub(crate) fn line_cut(b: &[u8], at: usize) -> bool {
    at > 0
        && at < b.len()
        && b[at - 1] == b'\n'
        && !b[at].is_ascii_whitespace()
        && b[at] != b'/'
        && b[at].is_ascii()
}

/// Exact counts of texts that share most of their lines, such as the successive
/// renderings of a selection as the budget loop gives units back: with a counter whose
/// counts add up over [`line_cut`]s, each part between two cuts is encoded once and
/// remembered, so a rendering that differs from the last in a few lines costs a few
/// lines. Other counters count every text whole.
#[derive(Debug)]
pub(crate) struct LineMemo<'c> {
    counter: &'c dyn TokenCounter,
    /// Tokens of each part seen, alone.
    known: HashMap<String, usize>,
}

impl<'c> LineMemo<'c> {
    pub(crate) fn new(counter: &'c dyn TokenCounter) -> Self {
        Self {
            counter,
            known: HashMap::new(),
        }
    }

    /// Tokens of `text`, as `counter.count(text)` gives them.
    pub(crate) fn count(&mut self, text: &str) -> usize {
        if !self.counter.additive_at_line_cuts() {
            return self.counter.count(text);
        }
        let b = text.as_bytes();
        let mut ends: Vec<usize> = b
            .iter()
            .enumerate()
            .filter(|&(i, &c)| c == b'\n' && line_cut(b, i + 1))
            .map(|(i, _)| i + 1)
            .collect();
        ends.push(text.len());
        let parts = || {
            let mut start = 0;
            ends.iter().map(move |&end| {
                let part = &text[start..end];
                start = end;
                part
            })
        };
        let unknown: usize = parts()
            .filter(|p| !self.known.contains_key(*p))
            .map(str::len)
            .sum();
        if unknown > text.len() / 2 {
            // Mostly new: one pass over the whole gives every part its count.
            let (counts, _) = self.counter.count_pieces(text, &ends);
            for (part, n) in parts().zip(counts) {
                self.known.insert(part.to_owned(), n);
            }
        }
        parts()
            .map(|part| match self.known.get(part) {
                Some(&n) => n,
                None => {
                    let n = self.counter.count(part);
                    self.known.insert(part.to_owned(), n);
                    n
                }
            })
            .sum()
    }
}

/// The largest char boundary of `text` at or below `at`.
pub(crate) fn floor_char_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// The smallest char boundary of `text` at or above `at`.
#[cfg_attr(not(feature = "eval"), allow(dead_code))]
pub(crate) fn ceil_char_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at += 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Lines of the kinds tool output has (as in `tests/core/tokens.rs`): words, paths,
    /// punctuation, numbers, spaces, blank lines, `/` after a newline, non-ASCII.
    fn lines() -> impl Strategy<Value = Vec<String>> {
        proptest::collection::vec(
            "([a-z]{1,8}|/usr/lib|[0-9]{1,5}|[ \t]{1,4}|[.;:()\\[\\]=/'-]{1,3}|é|🙂|::|\\r){0,12}\n{0,3}",
            0..60,
        )
    }

    proptest! {
        /// Renderings that give lines back one after another count as the counter counts
        /// them whole, and every part remembered counts alone what it was credited with.
        #[test]
        fn a_memo_counts_like_the_counter(lines in lines(), drops in proptest::collection::vec(any::<u8>(), 0..8)) {
            for counter in [Tiktoken::new(Encoding::O200kBase), Tiktoken::new(Encoding::Cl100kBase)] {
                let mut memo = LineMemo::new(&counter);
                let mut kept = lines.clone();
                let text = kept.concat();
                prop_assert_eq!(memo.count(&text), counter.count(&text));
                for &d in &drops {
                    if kept.is_empty() {
                        break;
                    }
                    kept.remove(usize::from(d) % kept.len());
                    let text = kept.concat();
                    prop_assert_eq!(memo.count(&text), counter.count(&text));
                }
                for (part, &n) in &memo.known {
                    prop_assert_eq!(n, counter.count(part), "{:?}", part);
                }
            }
        }
    }
}
