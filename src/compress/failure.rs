//! What building a compressor reports: each model its preset needs that could not be
//! had, and what runs instead.

/// A model the preset needs that could not be had, and what the compressor does instead.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ModelFailure {
    /// The stage: `embedder`, `token pruner` or `causal LM`.
    pub stage: &'static str,
    /// Why it could not be loaded (the message names the command that installs it).
    pub reason: String,
    /// What the compressor does without it.
    pub fallback: &'static str,
}

impl ModelFailure {
    pub(crate) fn new(stage: &'static str, reason: String, fallback: &'static str) -> Self {
        Self {
            stage,
            reason,
            fallback,
        }
    }
}

impl std::fmt::Display for ModelFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}; {}", self.stage, self.reason, self.fallback)
    }
}

/// A compressor could not be built: models its preset needs cannot be loaded. Each one
/// that failed is listed.
#[derive(Debug, thiserror::Error)]
#[error("preset needs a model: {}", .failures.iter().map(|f| format!("{}: {}", f.stage, f.reason)).collect::<Vec<_>>().join("; "))]
#[non_exhaustive]
pub struct BuildError {
    /// Every model that could not be loaded, with the command that installs it.
    pub failures: Vec<ModelFailure>,
}
