//! Line blocks: the fallback for files with no grammar or that fail to parse, and for
//! long stretches of code between definitions.

use super::{Chunk, ChunkKind, Chunker};

/// Chunks text into blocks of whole lines.
#[derive(Debug, Clone)]
pub struct LineChunker {
    /// Most lines in one block.
    pub max_lines: usize,
}

impl Default for LineChunker {
    fn default() -> Self {
        Self { max_lines: 40 }
    }
}

impl Chunker for LineChunker {
    fn chunk(&self, text: &str) -> Vec<Chunk> {
        line_blocks(text, 0, self.max_lines)
    }
}

/// Splits `text` (which starts at byte `offset` of its document) into blocks of at most
/// `max_lines` lines, preferring to end a block after a blank line in its second half.
pub fn line_blocks(text: &str, offset: usize, max_lines: usize) -> Vec<Chunk> {
    let max_lines = max_lines.max(1);
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut lines = 0;
    let mut last_blank_end = None;
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        pos += line.len();
        lines += 1;
        if line.trim().is_empty() && lines * 2 >= max_lines {
            last_blank_end = Some(pos);
        }
        if lines >= max_lines {
            let end = last_blank_end.unwrap_or(pos);
            chunks.push(Chunk::new(offset + start..offset + end, ChunkKind::Lines));
            start = end;
            lines = text[start..pos].split_inclusive('\n').count();
            last_blank_end = None;
        }
    }
    if start < text.len() {
        chunks.push(Chunk::new(
            offset + start..offset + text.len(),
            ChunkKind::Lines,
        ));
    }
    chunks
}
