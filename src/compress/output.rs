//! What a compression returns: the text, and an account of what was kept and dropped.

use serde::Serialize;

use super::Warning;
use crate::segment::ChunkKind;

/// The result of [`crate::Compressor::compress`]. Fields may be added: build none by
/// hand.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Compressed {
    /// The compressed text; at most `budget` tokens.
    pub text: String,
    /// Tokens of the input as rendered with nothing dropped.
    pub tokens_before: usize,
    /// Tokens of `text`.
    pub tokens_after: usize,
    /// The budget asked for.
    pub budget: usize,
    /// The tokenizer the counts are in.
    pub tokenizer: String,
    /// One report per input document, in input order.
    pub documents: Vec<DocReport>,
    /// RECOMP's selective augmentation: nothing in the input reached the preset's
    /// relevance threshold, so the output is empty on purpose.
    pub nothing_relevant: bool,
    /// The best embedding similarity of any unit to the query, when embeddings scored
    /// this input.
    pub best_relevance: Option<f32>,
    /// What the caller should know, e.g. that the embedder failed and lexical scores
    /// were used instead.
    pub warnings: Vec<Warning>,
}

impl Compressed {
    /// tokens_before / tokens_after (1.0 when nothing was dropped).
    pub fn ratio(&self) -> f64 {
        self.tokens_before as f64 / self.tokens_after.max(1) as f64
    }

    /// The output text of document `d` (in input order): its section of [`Compressed::text`]
    /// with the layout's frame, empty when the document was left out.
    pub fn document_text(&self, d: usize) -> &str {
        self.documents
            .get(d)
            .and_then(|r| self.text.get(r.section.clone()))
            .unwrap_or("")
    }

    /// Whether no chunk of any document was kept: the text is markers alone. A caller that
    /// must not lose its input (the proxy, [`crate::Compressor::compress_messages`])
    /// keeps the original instead.
    pub fn kept_nothing(&self) -> bool {
        self.documents.iter().all(|d| d.kept == 0)
    }

    /// Every dropped chunk of every document.
    pub fn dropped(&self) -> impl Iterator<Item = (&DocReport, &Dropped)> {
        self.documents
            .iter()
            .flat_map(|d| d.dropped.iter().map(move |x| (d, x)))
    }
}

/// What happened to one document.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct DocReport {
    /// The document's path, when it has one.
    pub path: Option<String>,
    /// Tokens of the document's section of the output, before and after.
    pub tokens_before: usize,
    /// Tokens of the document's section now (see [`DocReport::section`]).
    pub tokens_after: usize,
    /// Byte range of the document's section in [`Compressed::text`] (frame included;
    /// empty when the document was left out).
    pub section: std::ops::Range<usize>,
    /// Chunks the document was cut into.
    pub chunks: usize,
    /// Chunks kept.
    pub kept: usize,
    /// The chunks dropped, in document order.
    pub dropped: Vec<Dropped>,
}

/// One dropped chunk.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Dropped {
    /// What the chunk was (function, sentence, line, …).
    pub kind: ChunkKind,
    /// Its name, for a definition.
    pub name: Option<String>,
    /// 1-based first and last line.
    pub lines: (usize, usize),
    /// Byte span in the document: from `start`…
    pub start: usize,
    /// …to `end` (exclusive).
    pub end: usize,
}
