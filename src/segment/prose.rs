//! Prose segmentation: paragraphs, then sentences (stub).

use super::{Chunk, ChunkKind, Chunker};

/// Splits prose and markdown into headings, sentences, fenced code blocks and tables.
#[derive(Debug, Clone, Default)]
pub struct ProseChunker;

impl Chunker for ProseChunker {
    fn chunk(&self, text: &str) -> Vec<Chunk> {
        if text.is_empty() {
            return Vec::new();
        }
        vec![Chunk::new(0..text.len(), ChunkKind::Sentence)]
    }
}
