//! Neural scoring through ONNX Runtime: the runtime library, loaded once per process, and
//! the sentence embedder that gives relevance to a query and similarity between units.
//!
//! Everything here is optional: without an installed model pith runs on its lexical
//! scorers, and asking for a neural preset says which command installs what it needs.

pub mod cache;
pub mod embed;
pub mod encoder;
pub mod runtime;
pub mod shared;

pub use crate::vector::{dot, normalize};
pub use cache::EmbeddingCache;
pub use embed::{Embedder, EmbedderConfig};
pub use encoder::{Encoder, ForwardStats};

use std::path::PathBuf;

/// A neural stage could not be set up or run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NeuralError {
    /// The ONNX Runtime library could not be loaded.
    #[error("cannot load the ONNX Runtime library {path}: {message}")]
    Runtime {
        /// The library file.
        path: PathBuf,
        /// Why it could not be loaded.
        message: String,
    },
    /// A model file could not be opened or is not what its manifest says.
    #[error("cannot load model {path}: {message}")]
    Model {
        /// The model file.
        path: PathBuf,
        /// Why it could not be loaded.
        message: String,
    },
    /// Running the model failed.
    #[error("model inference failed: {0}")]
    Inference(String),
    /// Tokenizing the input failed.
    #[error("tokenizer failed: {0}")]
    Tokenizer(String),
    /// A model is needed but not installed, or the installer failed.
    #[error(transparent)]
    Store(#[from] crate::models::ModelError),
}
