//! Token counting in the *target* model's tokenizer: budgets are promises in its tokens.

mod hf;
mod tiktoken;

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

/// The largest char boundary of `text` at or below `at`.
pub(crate) fn floor_char_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// The smallest char boundary of `text` at or above `at`.
pub(crate) fn ceil_char_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at += 1;
    }
    at
}
