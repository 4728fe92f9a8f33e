//! The models a preset needs — the sentence embedder, the token pruner, the causal LM —
//! given to the builder or loaded from the [`ModelStore`] the caller passes. Each one that
//! cannot be had turns its stage off, and the reason is kept to be reported with every
//! result (or returned all at once by [`super::CompressorBuilder::try_build`]).

use std::sync::Arc;

use crate::lingua::{PruneOptions, TokenPruner, shared_classifier};
use crate::lm::{CausalLm, DEFAULT_LM, shared_lm};
use crate::models::ModelStore;
use crate::neural::{Embedder, NeuralError};
use crate::preset::{Preset, PruneConfig};

use super::failure::ModelFailure;

/// The models of one compressor.
#[derive(Debug, Clone, Default)]
pub(crate) struct Models {
    pub embedder: Option<Arc<Embedder>>,
    pub pruner: Option<Arc<TokenPruner>>,
    pub lm: Option<Arc<CausalLm>>,
}

impl Models {
    /// Loads every model `preset` needs and was not given; a stage whose model fails is
    /// turned off in `preset` (the embedder's stays on: without vectors its scores fall
    /// back to lexical ones) and its failure returned.
    pub fn complete(
        &mut self,
        preset: &mut Preset,
        store: Option<&ModelStore>,
    ) -> Vec<ModelFailure> {
        let mut failures = Vec::new();
        if preset.needs_embedder() && self.embedder.is_none() {
            match store.map(|s| crate::neural::shared::embedder(s, &preset.score.embedder)) {
                Some(Ok(e)) => self.embedder = Some(e),
                other => failures.push(ModelFailure::new(
                    "embedder",
                    reason(other),
                    "lexical scores used instead",
                )),
            }
        }
        if let (Some(config), None) = (&preset.prune, &self.pruner) {
            match store.map(|s| load_pruner(s, config)) {
                Some(Ok(p)) => self.pruner = Some(p),
                other => {
                    preset.prune = None;
                    failures.push(ModelFailure::new(
                        "token pruner",
                        reason(other),
                        "whole units selected, no word pruning",
                    ));
                }
            }
        }
        if let (Some(config), None) = (&preset.lm, &self.lm) {
            match store.map(|s| shared_lm(s, &config.model)) {
                Some(Ok(lm)) => self.lm = Some(lm),
                other => {
                    preset.lm = None;
                    failures.push(ModelFailure::new(
                        "causal LM",
                        reason(other),
                        "ranked without the causal LM",
                    ));
                }
            }
        }
        failures
    }
}

/// Why a model could not be had: its loading error, or no models folder to load it from.
fn reason<T>(loaded: Option<Result<T, NeuralError>>) -> String {
    match loaded {
        Some(Err(e)) => e.to_string(),
        _ => "no models folder was given (CompressorBuilder::models)".to_owned(),
    }
}

/// The preset's token pruner: the token classifier in its `model`; without one, surprisal
/// under the installed causal LM.
fn load_pruner(store: &ModelStore, config: &PruneConfig) -> Result<Arc<TokenPruner>, NeuralError> {
    let options = PruneOptions::from_config(config);
    let (pruner, path) = match &config.model {
        Some(dir) => {
            let classifier = shared_classifier(store, dir)?;
            (TokenPruner::new(classifier, options), dir.clone())
        }
        None => {
            let lm = shared_lm(store, DEFAULT_LM).map_err(|e| NeuralError::Model {
                path: DEFAULT_LM.into(),
                message: format!(
                    "the preset prunes tokens and no model is installed ({e}): run `pith models install {DEFAULT_LM}`, or give a token classifier with --model DIR, [prune] model or PITH_PRUNE_MODEL"
                ),
            })?;
            (TokenPruner::surprisal(lm, options), DEFAULT_LM.into())
        }
    };
    pruner.map(Arc::new).map_err(|e| NeuralError::Model {
        path,
        message: e.to_string(),
    })
}
