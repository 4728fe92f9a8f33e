//! Token counting in the *target* model's tokenizer: budgets are promises in its tokens.

mod hf;
mod tiktoken;

pub use hf::HfTokenizer;
pub use tiktoken::{Encoding, Tiktoken};

/// Counts tokens of text as the target model's tokenizer would.
pub trait TokenCounter: Send + Sync + std::fmt::Debug {
    /// Tokens in `text`, without special tokens.
    fn count(&self, text: &str) -> usize;

    /// A short name for reports (`o200k_base`, `tokenizer.json`).
    fn name(&self) -> &str;
}
