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
        // Each distinct template once (a log has far fewer shapes than lines), numbered
        // as it comes, then renumbered in sorted order.
        let mut index: rustc_hash::FxHashMap<String, u32> = Default::default();
        let first: Vec<Option<u32>> = chunks
            .iter()
            .map(|c| {
                let t = c.text(text).trim();
                (!t.is_empty()).then(|| {
                    let next = index.len() as u32;
                    *index.entry(template(t)).or_insert(next)
                })
            })
            .collect();
        let mut sorted: Vec<(String, u32)> = index.into_iter().collect();
        sorted.sort_unstable();
        let mut rank = vec![0u32; sorted.len()];
        for (r, (_, id)) in sorted.iter().enumerate() {
            rank[*id as usize] = r as u32;
        }
        let ids = first
            .into_iter()
            .map(|id| id.map(|id| rank[id as usize]))
            .collect();
        let names = sorted.into_iter().map(|(name, _)| name).collect();
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
