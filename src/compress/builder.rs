//! Building a [`Compressor`]: the preset, the target tokenizer, the layout, and the
//! models the preset needs, given or loaded from the models folder the caller passes.

use std::sync::Arc;

use super::Compressor;
use super::failure::{BuildError, ModelFailure};
use super::models::Models;
use crate::preset::Preset;
use crate::render::{Bare, Layout};
use crate::tokens::{Tiktoken, TokenCounter};
#[cfg(feature = "neural")]
use crate::{lingua::TokenPruner, lm::CausalLm, models::ModelStore, neural::Embedder};

/// Configures a [`Compressor`].
#[derive(Debug, Default)]
pub struct CompressorBuilder {
    preset: Option<Preset>,
    counter: Option<Arc<dyn TokenCounter>>,
    layout: Option<Arc<dyn Layout>>,
    models: Models,
    #[cfg(feature = "neural")]
    store: Option<ModelStore>,
}

impl CompressorBuilder {
    /// Pipeline settings (default: the `code` preset).
    pub fn preset(mut self, preset: Preset) -> Self {
        self.preset = Some(preset);
        self
    }

    /// The target model's tokenizer (default: o200k_base).
    pub fn counter(mut self, counter: impl TokenCounter + 'static) -> Self {
        self.counter = Some(Arc::new(counter));
        self
    }

    /// Like [`CompressorBuilder::counter`], for a shared counter.
    pub fn shared_counter(mut self, counter: Arc<dyn TokenCounter>) -> Self {
        self.counter = Some(counter);
        self
    }

    /// How documents are framed (default: bare text, for one document).
    pub fn layout(mut self, layout: impl Layout + 'static) -> Self {
        self.layout = Some(Arc::new(layout));
        self
    }

    /// Like [`CompressorBuilder::layout`], for a boxed layout such as
    /// [`crate::render::Format::layout`] returns.
    pub fn boxed_layout(mut self, layout: Box<dyn Layout>) -> Self {
        self.layout = Some(Arc::from(layout));
        self
    }

    /// The models folder the preset's models are loaded from when they are not given
    /// (the CLI and the proxy pass [`ModelStore::discover`]'s). Without one, a preset that
    /// needs a model it was not given runs without that stage.
    #[cfg(feature = "neural")]
    pub fn models(mut self, store: ModelStore) -> Self {
        self.store = Some(store);
        self
    }

    /// The sentence embedder for presets that use embeddings. Without one such a
    /// preset falls back to lexical scores, with a warning in every result.
    #[cfg(feature = "neural")]
    pub fn embedder(mut self, embedder: Arc<Embedder>) -> Self {
        self.models.embedder = Some(embedder);
        self
    }

    /// The token pruner that prunes words inside kept prose after coarse selection.
    /// Without one, a preset with a `[prune]` section loads its `model`, else the
    /// installed causal LM for surprisal pruning.
    #[cfg(feature = "neural")]
    pub fn pruner(mut self, pruner: Arc<TokenPruner>) -> Self {
        self.models.pruner = Some(pruner);
        self
    }

    /// The causal LM for presets with an `[lm]` section. Without one such a preset
    /// loads its `model` from the models folder.
    #[cfg(feature = "neural")]
    pub fn lm(mut self, lm: Arc<CausalLm>) -> Self {
        self.models.lm = Some(lm);
        self
    }

    /// Builds, loading every model the preset needs and was not given. A stage whose
    /// model cannot be loaded is left out (embeddings fall back to lexical scores, word
    /// and block pruning to whole units, LM ranking to the preset's own scores), and every
    /// result's warnings say which and why. [`CompressorBuilder::try_build`] returns the
    /// failures instead. An invalid preset is not an error here: every compression with
    /// it returns [`crate::CompressError::InvalidPreset`].
    pub fn build(self) -> Compressor {
        self.assemble().0
    }

    /// Builds, failing with every model the preset needs that cannot be loaded.
    /// The preset is validated first ([`Preset::validate`]).
    pub fn try_build(self) -> Result<Compressor, BuildError> {
        if let Some(preset) = &self.preset {
            preset.validate()?;
        }
        match self.assemble() {
            (c, failures) if failures.is_empty() => Ok(c),
            (_, failures) => Err(BuildError::Models(failures)),
        }
    }

    fn assemble(mut self) -> (Compressor, Vec<ModelFailure>) {
        let mut preset = self.preset.take().unwrap_or_default();
        #[cfg(feature = "neural")]
        let failures = self.models.complete(&mut preset, self.store.as_ref());
        #[cfg(not(feature = "neural"))]
        let failures = self.models.complete(&mut preset);
        let compressor = Compressor {
            preset,
            counter: self
                .counter
                .unwrap_or_else(|| Arc::new(Tiktoken::default())),
            layout: self.layout.unwrap_or_else(|| Arc::new(Bare)),
            cache: Arc::default(),
            models: self.models,
            build_warnings: failures
                .iter()
                .cloned()
                .map(super::Warning::ModelUnavailable)
                .collect(),
        };
        (compressor, failures)
    }
}
