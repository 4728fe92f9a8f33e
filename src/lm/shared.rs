//! One loaded causal LM per model per process, like the embedder: the proxy builds a
//! compressor per preset, an evaluation one per method, and they share the model and its
//! cache.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::model::{CausalLm, LmConfig};
use crate::models::ModelStore;
use crate::neural::NeuralError;
use crate::neural::shared::{Registry, get_or_load, loaded};

pub use crate::preset::DEFAULT_LM;

static MODELS: Registry<(PathBuf, String), CausalLm> = Mutex::new(None);

/// The causal LM `name` from `store`, loaded on first use.
pub fn shared_lm(store: &ModelStore, name: &str) -> Result<Arc<CausalLm>, NeuralError> {
    let key = (store.root().to_owned(), name.to_owned());
    get_or_load(&MODELS, key, || {
        let model = store.locate(name)?;
        let library = store.runtime_library()?;
        let config = LmConfig {
            name: name.to_owned(),
            ..LmConfig::default()
        };
        CausalLm::load(&library, &model.dir, config)
    })
}

/// The causal LMs loaded so far, e.g. to report how much model time they took.
pub fn loaded_lms() -> Vec<Arc<CausalLm>> {
    loaded(&MODELS)
}
