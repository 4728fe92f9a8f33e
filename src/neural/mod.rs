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
    Runtime { path: PathBuf, message: String },
    /// A model file could not be opened or is not what its manifest says.
    #[error("cannot load model {path}: {message}")]
    Model { path: PathBuf, message: String },
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

/// Cosine similarity of two unit vectors: their dot product.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    // Eight independent sums let the compiler vectorise the loop.
    let mut acc = [0.0f32; 8];
    let (ca, ra) = a.as_chunks::<8>();
    let (cb, rb) = b.as_chunks::<8>();
    for (x, y) in ca.iter().zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    let tail: f32 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
}

/// Scales a vector to unit length (a zero vector stays zero).
pub fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 && norm.is_finite() {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}
