//! What rendering reads: a document, its chunks, which of them are kept, and where its
//! lines start (markers name the lines they stand for).

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

/// The template (`segment::output::template`) of every line of a tool output, made once
/// so that the many renderings of one compression do not make them again: per chunk an
/// id, numbered in the templates' sorted order (so the smallest id is the smallest
/// template), `None` for a blank line.
#[derive(Debug, Clone, Default)]
pub struct Shapes {
    ids: Vec<Option<u32>>,
    names: Vec<String>,
}

impl Shapes {
    /// The shapes of `chunks` of `text`.
    pub fn new(text: &str, chunks: &[Chunk]) -> Self {
        use crate::segment::output::template;
        let templates: Vec<Option<String>> = chunks
            .iter()
            .map(|c| {
                Some(c.text(text).trim())
                    .filter(|t| !t.is_empty())
                    .map(template)
            })
            .collect();
        let mut names: Vec<String> = templates.iter().flatten().cloned().collect();
        names.sort_unstable();
        names.dedup();
        let ids = templates
            .iter()
            .map(|t| {
                t.as_ref()
                    .and_then(|t| names.binary_search(t).ok())
                    .map(|i| i as u32)
            })
            .collect();
        Self { ids, names }
    }

    /// The most common template of the lines `run` and how many have it, ties to the
    /// smallest template.
    pub(super) fn top(&self, run: std::ops::Range<usize>) -> Option<(&str, usize)> {
        let mut ids: Vec<u32> = self.ids[run].iter().flatten().copied().collect();
        ids.sort_unstable();
        let mut best: Option<(u32, usize)> = None;
        for group in ids.chunk_by(|a, b| a == b) {
            if best.is_none_or(|(_, n)| group.len() > n) {
                best = Some((group[0], group.len()));
            }
        }
        best.map(|(id, n)| (self.names[id as usize].as_str(), n))
    }
}
