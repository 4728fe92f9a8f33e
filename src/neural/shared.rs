//! Models shared across a process. Loading a model takes a moment (and its memory) and
//! an embedder's cache is worth keeping, so every compressor that asks for the same model
//! gets the same instance — the proxy builds compressors per preset and checks them at
//! start, an evaluation one per method.

use std::collections::HashMap;
use std::hash::Hash;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::cache::SharedCache;
use super::{Embedder, EmbedderConfig, NeuralError};
use crate::models::manifest::{EMBEDDER_INT8_FILE, EMBEDDER_MODEL_FILE, EMBEDDER_TOKENIZER_FILE};
use crate::models::{InstalledModel, ModelError, ModelStore};

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

/// Every model loaded into `registry` so far.
pub fn loaded<K, T>(registry: &Registry<K, T>) -> Vec<Arc<T>> {
    let shared = registry.lock().unwrap_or_else(|e| e.into_inner());
    shared
        .as_ref()
        .map(|m| m.values().cloned().collect())
        .unwrap_or_default()
}

static EMBEDDERS: Registry<(PathBuf, String), Embedder> = Mutex::new(None);

/// The shared cache every embedder of this process uses behind its own.
static SHARED: Mutex<Option<Arc<SharedCache>>> = Mutex::new(None);

/// The embedder `name` from `store`, loaded on first use.
pub fn embedder(store: &ModelStore, name: &str) -> Result<Arc<Embedder>, NeuralError> {
    let key = (store.root().to_owned(), name.to_owned());
    get_or_load(&EMBEDDERS, key, || {
        let e = load_embedder(store, name)?;
        e.cache()
            .set_shared(SHARED.lock().unwrap_or_else(|e| e.into_inner()).clone());
        Ok(e)
    })
}

/// Puts `cache` behind the vector cache of every embedder of this process, those loaded
/// already and those loaded later (an embedder is per process, so its caches are too).
pub fn use_shared_cache(cache: Option<Arc<SharedCache>>) {
    *SHARED.lock().unwrap_or_else(|e| e.into_inner()) = cache.clone();
    for e in loaded_embedders() {
        e.cache().set_shared(cache.clone());
    }
}

/// The embedders loaded so far, e.g. to report how much model time they took.
pub fn loaded_embedders() -> Vec<Arc<Embedder>> {
    loaded(&EMBEDDERS)
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
    let (file, name) = graph(&model, name);
    let config = EmbedderConfig {
        name,
        max_length: spec.max_length,
        dim: spec.dim,
        // Agents and CI runs that resend the same context across processes keep the
        // vectors in a folder of their choosing.
        disk_cache: store.embed_cache().map(PathBuf::from),
        ..EmbedderConfig::default()
    };
    Embedder::load(
        &library,
        &file,
        &model.file(EMBEDDER_TOKENIZER_FILE),
        config,
    )
}

/// The graph an embedder runs and the name its vectors are cached under: the int8 graph
/// when the model has one (about twice as fast) unless `PITH_EMBEDDER_INT8=0`. Its
/// vectors differ slightly from the float graph's, so they are keyed apart and never mixed.
pub fn graph(model: &InstalledModel, name: &str) -> (PathBuf, String) {
    let int8 = model.file(EMBEDDER_INT8_FILE);
    let wanted = std::env::var("PITH_EMBEDDER_INT8").map_or(true, |v| v != "0");
    if wanted && int8.is_file() {
        (int8, format!("{name}+int8"))
    } else {
        (model.file(EMBEDDER_MODEL_FILE), name.to_owned())
    }
}
