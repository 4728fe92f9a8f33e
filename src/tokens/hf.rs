//! Any Hugging Face `tokenizer.json`, for models whose tokenizer is not tiktoken.

use std::path::Path;

use tokenizers::Tokenizer;

use super::TokenCounter;

/// Counts tokens with a `tokenizer.json` (no special tokens added).
#[derive(Debug)]
pub struct HfTokenizer {
    tokenizer: Tokenizer,
    name: String,
}

/// A `tokenizer.json` could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("cannot load tokenizer {path}: {message}")]
pub struct LoadError {
    path: String,
    message: String,
}

impl HfTokenizer {
    /// Loads a Hugging Face `tokenizer.json`.
    pub fn from_file(path: &Path) -> Result<Self, LoadError> {
        let tokenizer = Tokenizer::from_file(path).map_err(|e| LoadError {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Ok(Self {
            tokenizer,
            name: path.display().to_string(),
        })
    }
}

impl TokenCounter for HfTokenizer {
    fn count(&self, text: &str) -> usize {
        // Encoding only fails on internal errors of the tokenizer; a byte-length
        // estimate keeps the budget conservative rather than panicking.
        self.tokenizer
            .encode(text, false)
            .map(|e| e.len())
            .unwrap_or(text.len())
    }

    fn name(&self) -> &str {
        &self.name
    }
}
