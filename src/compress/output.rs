//! What a compression returns: the text, and an account of what was kept and dropped.

use serde::Serialize;

use crate::segment::ChunkKind;

/// The result of [`crate::Compressor::compress`].
#[derive(Debug, Clone, Serialize)]
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
    pub warnings: Vec<String>,
}

impl Compressed {
    /// tokens_before / tokens_after (1.0 when nothing was dropped).
    pub fn ratio(&self) -> f64 {
        self.tokens_before as f64 / self.tokens_after.max(1) as f64
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
pub struct DocReport {
    /// The document's path, if it has one.
    pub path: Option<String>,
    /// Tokens of the document's section of the output, before and after.
    pub tokens_before: usize,
    /// Tokens of the document's section of the output.
    pub tokens_after: usize,
    /// Chunks the document was cut into.
    pub chunks: usize,
    /// Chunks kept.
    pub kept: usize,
    /// Chunks dropped, in document order.
    pub dropped: Vec<Dropped>,
}

/// One dropped chunk.
#[derive(Debug, Clone, Serialize)]
pub struct Dropped {
    /// What the chunk was (function, sentence, line, …).
    pub kind: ChunkKind,
    /// Qualified name of a code definition, if it had one.
    pub name: Option<String>,
    /// 1-based first and last line.
    pub lines: (usize, usize),
    /// Byte span in the document: start…
    pub start: usize,
    /// …and end (exclusive).
    pub end: usize,
}
