//! Prose and markdown segmentation: headings, fenced code, tables, and sentences.
//!
//! Two passes, both linear. `blocks` walks the lines and finds markdown structure:
//! an ATX (`# Title`) or setext (`Title` over `===`) heading, a fenced block (``` or
//! `~~~`, to its closing fence or the end of the text), and a table (lines starting
//! with `|`, or a pipe-less GFM table over a `--|--` row) are each one chunk. The other
//! lines form paragraphs — a blank line, a list item and a block quote each start a new
//! one — and `sentences` splits each paragraph into sentences.
//!
//! A chunk holds its text and the whitespace after it; whitespace at the very start of
//! the document goes to the first chunk. So every chunk but the first begins with a
//! non-whitespace character, and the chunks tile the document.
//!
//! Finally, a sentence longer than [`ProseOptions::max_sentence_bytes`] (a run-on
//! paragraph, a scraped page with no punctuation) is cut at its last whitespace before
//! the limit, or at a char boundary if it has none, so that no unit is too large to
//! select or drop on its own. Headings, fences and tables are never cut.

mod blocks;
mod sentences;

use super::{Chunk, ChunkKind, Chunker};

/// Splits prose and markdown into headings, sentences, fenced code blocks and tables,
/// with the default [`ProseOptions`].
#[derive(Debug, Clone, Default)]
pub struct ProseChunker;

impl Chunker for ProseChunker {
    fn chunk(&self, text: &str) -> Vec<Chunk> {
        chunk_prose(text, &ProseOptions::default())
    }
}

/// Tuning for [`chunk_prose`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProseOptions {
    /// Longest sentence, in bytes without its trailing whitespace, before it is cut.
    pub max_sentence_bytes: usize,
}

impl Default for ProseOptions {
    fn default() -> Self {
        Self {
            max_sentence_bytes: 2000,
        }
    }
}

/// Chunks `text` as prose/markdown (see the module docs).
pub fn chunk_prose(text: &str, options: &ProseOptions) -> Vec<Chunk> {
    if text.is_empty() {
        return Vec::new();
    }
    let starts = blocks::block_starts(text);
    if starts.is_empty() {
        // Only whitespace.
        return vec![Chunk::new(0..text.len(), ChunkKind::Sentence)];
    }
    let max = options.max_sentence_bytes.max(1);
    let mut chunks = Vec::with_capacity(starts.len());
    for (i, &(start, kind)) in starts.iter().enumerate() {
        let end = starts.get(i + 1).map_or(text.len(), |&(s, _)| s);
        let start = if i == 0 { 0 } else { start };
        if kind == ChunkKind::Sentence {
            split_long(text, start, end, max, &mut chunks);
        } else {
            chunks.push(Chunk::new(start..end, kind));
        }
    }
    chunks
}

/// Pushes `text[start..end]` as sentence chunks whose text (without trailing
/// whitespace) is at most `max` bytes, cutting after the last whitespace run that
/// begins within the limit, else at the last char boundary within it.
fn split_long(text: &str, start: usize, end: usize, max: usize, out: &mut Vec<Chunk>) {
    let mut from = start;
    let content_end = from + text[from..end].trim_end().len();
    // Leading whitespace of the document does not count against the first sentence.
    let mut body = from + (text[from..end].len() - text[from..end].trim_start().len());
    while content_end.saturating_sub(body) > max {
        let limit = floor_boundary(text, body + max);
        // The last whitespace char starting after the body's first char and at or before
        // the limit, so the piece before it is at most `max` bytes.
        let first = body + char_len_at(text, body);
        let window_end = limit + char_len_at(text, limit);
        let cut = text
            .get(first..window_end)
            .and_then(|w| w.char_indices().rev().find(|(_, c)| c.is_whitespace()))
            .map(|(i, _)| first + i);
        let next = match cut {
            // Cut after the whole whitespace run, so the next piece starts with text.
            Some(ws) => ws + leading_ws(&text[ws..content_end]),
            None if limit > body => limit,
            // The first char alone reaches the limit: cut right after it, unless it
            // is all that is left.
            None if first < content_end => first + leading_ws(&text[first..content_end]),
            None => break,
        };
        out.push(Chunk::new(from..next, ChunkKind::Sentence));
        from = next;
        body = next;
    }
    out.push(Chunk::new(from..end, ChunkKind::Sentence));
}

fn char_len_at(s: &str, at: usize) -> usize {
    s[at..].chars().next().map_or(0, char::len_utf8)
}

fn leading_ws(s: &str) -> usize {
    s.find(|c: char| !c.is_whitespace()).unwrap_or(s.len())
}

fn floor_boundary(s: &str, mut at: usize) -> usize {
    at = at.min(s.len());
    while at > 0 && !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}
