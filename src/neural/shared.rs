//! Models shared across a process. Loading a model takes a moment (and its memory) and
//! an embedder's cache is worth keeping, so every compressor that asks for the same model
//! gets the same instance — the proxy builds compressors per preset and checks them at
//! start, an evaluation one per method.

use std::collections::HashMap;
use std::hash::Hash;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::{Embedder, EmbedderConfig, NeuralError};
use crate::models::manifest::{EMBEDDER_MODEL_FILE, EMBEDDER_TOKENIZER_FILE};
use crate::models::{ModelError, ModelStore};

/// Environment variable naming a folder that keeps embeddings across runs.
pub(crate) const DISK_CACHE_ENV: &str = "PITH_EMBED_CACHE";

/// Loaded models of one kind, by key.
pub type Registry<K, T> = Mutex<Option<HashMap<K, Arc<T>>>>;

/// The model under `key` in `registry`, loaded by `load` on first use. The lock is held
/// while loading, so two threads never load the same model twice.
pub fn get_or_load<K: Eq + Hash, T, E>(
    registry: &Registry<K, T>,
    key: K,
    load: impl FnOnce() -> Result<T, E>,
) -> Result<Arc<T>, E> {
    let mut shared = registry.lock().unwrap_or_else(|e| e.into_inner());
    let map = shared.get_or_insert_with(HashMap::new);
    if let Some(m) = map.get(&key) {
        return Ok(m.clone());
    }
    let m = Arc::new(load()?);
    map.insert(key, m.clone());
    Ok(m)
}

static EMBEDDERS: Registry<(PathBuf, String), Embedder> = Mutex::new(None);

/// The embedder `name` from `store`, loaded on first use.
pub fn embedder(store: &ModelStore, name: &str) -> Result<Arc<Embedder>, NeuralError> {
    let key = (store.root().to_owned(), name.to_owned());
    get_or_load(&EMBEDDERS, key, || load_embedder(store, name))
}

fn load_embedder(store: &ModelStore, name: &str) -> Result<Embedder, NeuralError> {
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
    Embedder::load(
        &library,
        &model.file(EMBEDDER_MODEL_FILE),
        &model.file(EMBEDDER_TOKENIZER_FILE),
        config,
    )
}
