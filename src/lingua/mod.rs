//! Token-level pruning: the least needed words go. What scores the tokens is an
//! LLMLingua-2-style token classifier (a BERT-class encoder gives every token a keep
//! probability) or, by default when none is installed, a causal LM's surprisal
//! (`surprisal.rs`: Selective Context / LLMLingua-1); [`Scorer`] says which.
//!
//! Two modes share the classifier ([`classifier`]):
//! - [`mod@reference`]: the `llmlingua` package's algorithm, quirks included, for parity;
//! - [`prune`]: pith's default (either scorer), which keeps the original text's whitespace, hits the
//!   target rate with one global threshold, keeps protected patterns whole, honours
//!   `<pith …>` markers and keeps JSON valid.
//!
//! No registry ships Microsoft's weights: a user brings any ONNX token-classification
//! export (README: "Token pruning"), and the tests use small models the project makes.

pub mod classifier;
pub mod markup;
pub mod prune;
pub mod reference;
mod surprisal;
mod tokens;

pub use classifier::{Family, TokenClassifier, shared_classifier};
pub use prune::{Cutter, PruneOptions, Pruned, Scored, Scorer, Target, TokenPruner};
pub use reference::{ReferenceOutput, ReferenceParams, WordProb};

use crate::neural::NeuralError;

/// Token pruning failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LinguaError {
    /// The model could not be loaded or run.
    #[error(transparent)]
    Neural(#[from] NeuralError),
    /// The tokenizer failed on the text.
    #[error("tokenizer failed: {0}")]
    Tokenizer(String),
    /// The model or the settings cannot do what was asked.
    #[error("{0}")]
    Unsupported(String),
    /// A `<pith …>` marker is malformed.
    #[error("bad <pith> marker at byte {at}: {message}")]
    Marker {
        /// Byte offset of the marker in the text.
        at: usize,
        /// What is wrong with it.
        message: String,
    },
    /// A protected pattern is not a valid regex.
    #[error("bad protected pattern {pattern:?}: {message}")]
    Pattern {
        /// The pattern.
        pattern: String,
        /// The regex error.
        message: String,
    },
    /// A rate is outside (0, 1].
    #[error("rate must be a number in (0, 1], got {0}")]
    Rate(f64),
    /// What must be kept (pinned words, `compress=false` parts) is over the budget.
    #[error("budget of {budget} tokens is too small: what must be kept takes {minimum}")]
    BudgetTooSmall {
        /// The budget asked for.
        budget: usize,
        /// Tokens of what must be kept.
        minimum: usize,
    },
}
