//! What rendering reads: a document, its chunks, which of them are kept, and where its
//! lines start (markers name the lines they stand for).

use crate::document::Document;
use crate::segment::Chunk;

/// A document with its chunks and which of them are kept.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    pub doc: &'a Document,
    pub chunks: &'a [Chunk],
    pub kept: &'a [bool],
    pub lines: &'a LineIndex,
    /// Per chunk, text that replaces a kept chunk's own (a token-pruned sentence).
    pub replaced: Option<&'a [Option<String>]>,
}

impl View<'_> {
    pub(super) fn any_kept(&self) -> bool {
        self.kept.iter().any(|&k| k)
    }
}

/// Line numbers of byte offsets in one document.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self { starts }
    }

    /// 1-based line of the byte at `offset`.
    pub fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset)
    }
}
