//! Embedders shared across a process. Loading a model takes a moment and its cache is
//! worth keeping, so every compressor that asks for the same model from the same store
//! gets the same embedder — the proxy builds compressors per request, an evaluation one
//! per method.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::{Embedder, EmbedderConfig, NeuralError};
use crate::models::manifest::{EMBEDDER_MODEL_FILE, EMBEDDER_TOKENIZER_FILE};
use crate::models::{ModelError, ModelStore};

/// Environment variable naming a folder that keeps embeddings across runs.
pub const DISK_CACHE_ENV: &str = "PITH_EMBED_CACHE";

type Registry = HashMap<(PathBuf, String), Arc<Embedder>>;

static SHARED: Mutex<Option<Registry>> = Mutex::new(None);

/// The embedder `name` from `store`, loaded on first use.
pub fn embedder(store: &ModelStore, name: &str) -> Result<Arc<Embedder>, NeuralError> {
    let key = (store.root().to_owned(), name.to_owned());
    let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(e) = shared.as_ref().and_then(|m| m.get(&key)) {
        return Ok(e.clone());
    }
    let model = store.locate(name)?;
    let spec = model
        .manifest
        .embedder
        .clone()
        .ok_or_else(|| ModelError::Manifest {
            name: name.to_owned(),
            message: "not an embedding model".into(),
        })?;
    let library = store.runtime_library()?;
    let config = EmbedderConfig {
        name: name.to_owned(),
        max_length: spec.max_length,
        dim: spec.dim,
        // Agents and CI runs that resend the same context across processes keep the
        // vectors in a folder of their choosing.
        disk_cache: std::env::var_os(DISK_CACHE_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from),
        ..EmbedderConfig::default()
    };
    let e = Arc::new(Embedder::load(
        &library,
        &model.file(EMBEDDER_MODEL_FILE),
        &model.file(EMBEDDER_TOKENIZER_FILE),
        config,
    )?);
    shared
        .get_or_insert_with(HashMap::new)
        .insert(key, e.clone());
    Ok(e)
}
