//! What a result tells its caller besides the text: a stage that did not run, and what ran
//! instead. Typed, so an agent framework can act on the kind (install a model, log, retry)
//! rather than parse a sentence; `Display` gives the sentence.

use serde::Serialize;

use super::failure::ModelFailure;

/// Something the caller should know about how a result was made. Serialized as its
/// sentence (the CLI's `--stats`, JSON output).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Warning {
    /// A model the preset needs could not be loaded when the compressor was built, so its
    /// stage never runs.
    ModelUnavailable(ModelFailure),
    /// The embedder failed on this input; lexical scores were used instead.
    EmbeddingFailed {
        /// The embedder's error.
        reason: String,
    },
    /// The causal LM failed on this input; it was ranked without the LM.
    LmFailed {
        /// The model's error.
        reason: String,
    },
    /// A refinement step after coarse selection (word or block pruning) could not run or
    /// fit the budget; whole units were selected instead.
    RefinementSkipped {
        /// `token pruning` or `block pruning`.
        stage: &'static str,
        /// Why, with what was done instead.
        reason: String,
    },
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Warning::ModelUnavailable(failure) => write!(f, "{failure}"),
            Warning::EmbeddingFailed { reason } => {
                write!(f, "{reason}; lexical scores used instead")
            }
            Warning::LmFailed { reason } => write!(f, "{reason}; ranked without the causal LM"),
            Warning::RefinementSkipped { reason, .. } => f.write_str(reason),
        }
    }
}

impl Serialize for Warning {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}
