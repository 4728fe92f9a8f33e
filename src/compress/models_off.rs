//! Without the `neural` feature there are no models: a preset that needs one runs
//! without that stage, and says so.

use crate::preset::Preset;

use super::failure::ModelFailure;

/// No models: this build has no neural stages.
#[derive(Debug, Clone, Default)]
pub(crate) struct Models;

impl Models {
    /// Turns off every stage of `preset` that needs a model, and says why.
    pub fn complete(&mut self, preset: &mut Preset) -> Vec<ModelFailure> {
        let why = "pith was built without its `neural` feature";
        let mut failures = Vec::new();
        if preset.needs_embedder() {
            failures.push(ModelFailure::new(
                "embedder",
                why.into(),
                "lexical scores used instead",
            ));
        }
        if preset.prune.take().is_some() {
            failures.push(ModelFailure::new(
                "token pruner",
                why.into(),
                "whole units selected, no word pruning",
            ));
        }
        if preset.lm.take().is_some() {
            failures.push(ModelFailure::new(
                "causal LM",
                why.into(),
                "ranked without the causal LM",
            ));
        }
        failures
    }
}
