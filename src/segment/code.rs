//! Code segmentation with tree-sitter (owned by the code-segmenter work; stub).

use super::{Chunk, Chunker, Lang};

/// Splits source code at function / method / class level.
#[derive(Debug, Clone)]
pub struct CodeChunker {
    lang: Lang,
}

impl CodeChunker {
    pub fn new(lang: Lang) -> Self {
        Self { lang }
    }

    pub fn lang(&self) -> Lang {
        self.lang
    }
}

impl Chunker for CodeChunker {
    fn chunk(&self, text: &str) -> Vec<Chunk> {
        super::lines::line_blocks(text, 0, 40)
    }
}
