//! What rendering reads: a document, its chunks, which of them are kept, and where its
//! lines start (markers name the lines they stand for).

use super::marker::Shapes;
use crate::document::Document;
use crate::segment::Chunk;

/// A document with its chunks and which of them are kept.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    /// The document.
    pub doc: &'a Document,
    /// Its chunks, tiling its text in order.
    pub chunks: &'a [Chunk],
    /// `kept[i]`: chunk `i` is rendered; runs of dropped chunks become markers.
    pub kept: &'a [bool],
    /// Line starts of the document's text, for the line numbers markers name.
    pub lines: &'a LineIndex,
    /// Per chunk, text that replaces a kept chunk's own (a token-pruned sentence).
    pub replaced: Option<&'a [Option<String>]>,
    /// The line templates of a tool output, made once for many renderings; markers make
    /// them from the text when `None`.
    pub shapes: Option<&'a Shapes>,
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
    /// Indexes the line starts of `text`.
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
