//! The compressor: segment → score → select → render, under a budget that is a promise.
//!
//! Selection works on estimates (each unit's own token count, plus exact charges for the
//! markers and frames it changes); the promise is kept by rendering the result, counting
//! it with the target tokenizer, and giving back the last-chosen units until it fits.

mod cache;
mod costs;
mod fine;
pub(crate) mod input;
mod lm_rank;
mod output;
mod prepared;

use std::sync::Arc;

pub use input::{Input, QUERY_PART_CHARS, tool_query};
pub use output::{Compressed, DocReport, Dropped};
pub use prepared::Prepared;

use crate::lingua::{Target, TokenPruner, shared_classifier};
use crate::lm::CausalLm;
use crate::neural::{Embedder, dot};
use crate::preset::{Preset, PruneConfig, SelectMethod};
use crate::render::{self, Bare, Layout};
use crate::segment::ChunkKind;
use crate::select::cosine::above_floor;
use crate::select::{GroupedMig, Knapsack, MigGreedy, Selector, group_shares};
use crate::tokens::{LineMemo, Tiktoken, TokenCounter};
use cache::ChunkCache;
use costs::DocCosts;

/// A compressor could not be built: its preset needs a model that cannot be loaded.
#[derive(Debug, thiserror::Error)]
#[error("preset needs a model: {0}")]
pub struct BuildError(pub Box<crate::neural::NeuralError>);

/// Compression failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompressError {
    /// Not even the smallest possible output (markers saying everything was omitted) fits.
    #[error("budget of {budget} tokens is too small: the smallest output takes {minimum}")]
    BudgetTooSmall { budget: usize, minimum: usize },
}

/// Compresses documents to a token budget. Build one with [`Compressor::builder`]; it is
/// cheap to share across threads.
#[derive(Debug, Clone)]
pub struct Compressor {
    preset: Preset,
    counter: Arc<dyn TokenCounter>,
    layout: Arc<dyn Layout>,
    cache: Arc<ChunkCache>,
    embedder: Option<Arc<Embedder>>,
    /// Why the preset's embedder could not be loaded, reported with every result.
    embedder_error: Option<String>,
    /// Word pruning inside the kept prose (the preset's `[prune]`): LLMLingua-2's
    /// classifier, or surprisal under the causal LM.
    pruner: Option<Arc<TokenPruner>>,
    /// The causal LM of the preset's `[lm]` ranking.
    lm: Option<Arc<CausalLm>>,
}

/// Configures a [`Compressor`].
#[derive(Debug, Default)]
pub struct CompressorBuilder {
    preset: Option<Preset>,
    counter: Option<Arc<dyn TokenCounter>>,
    layout: Option<Arc<dyn Layout>>,
    embedder: Option<Arc<Embedder>>,
    pruner: Option<Arc<TokenPruner>>,
    lm: Option<Arc<CausalLm>>,
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

    /// The sentence embedder for presets that use embeddings. Without one such a
    /// preset falls back to lexical scores, with a warning in every result.
    pub fn embedder(mut self, embedder: Arc<Embedder>) -> Self {
        self.embedder = Some(embedder);
        self
    }

    /// The token pruner that prunes words inside kept prose after coarse selection.
    /// Without one, a preset with a `[prune]` section loads its `model` (or the folder
    /// in `PITH_PRUNE_MODEL`), else the installed causal LM for surprisal pruning.
    pub fn pruner(mut self, pruner: Arc<TokenPruner>) -> Self {
        self.pruner = Some(pruner);
        self
    }

    /// The causal LM for presets with an `[lm]` section. Without one such a preset
    /// loads its `model` from the installed models.
    pub fn lm(mut self, lm: Arc<CausalLm>) -> Self {
        self.lm = Some(lm);
        self
    }

    /// Builds, loading the preset's embedding model from the installed models when the
    /// preset needs one and none was given; if it cannot be loaded, the compressor
    /// falls back to lexical scores and says why in every result's warnings. Use
    /// [`CompressorBuilder::try_build`] to get the error instead.
    pub fn build(self) -> Compressor {
        let store = crate::models::ModelStore::discover();
        self.build_with_store(&store).unwrap_or_else(|failed| {
            let (builder, err, fallback) = *failed;
            let mut c = builder.finish();
            c.embedder_error = Some(format!("{err}; {fallback}"));
            c
        })
    }

    /// Builds, failing when the preset needs an embedding model that cannot be loaded
    /// from the installed models (the error names the command that installs it).
    pub fn try_build(self) -> Result<Compressor, BuildError> {
        let store = crate::models::ModelStore::discover();
        self.try_build_with_store(&store)
    }

    /// Like [`CompressorBuilder::try_build`], with models from `store`.
    pub fn try_build_with_store(
        self,
        store: &crate::models::ModelStore,
    ) -> Result<Compressor, BuildError> {
        self.build_with_store(store)
            .map_err(|failed| BuildError(Box::new(failed.1)))
    }

    fn build_with_store(
        mut self,
        store: &crate::models::ModelStore,
    ) -> Result<Compressor, Box<(Self, crate::neural::NeuralError, &'static str)>> {
        let needs = self.preset.as_ref().is_some_and(Preset::needs_embedder);
        if needs && self.embedder.is_none() {
            let name = self
                .preset
                .as_ref()
                .map_or("minilm", |p| p.score.embedder.as_str());
            match crate::neural::shared::embedder(store, name) {
                Ok(e) => self.embedder = Some(e),
                Err(err) => {
                    return Err(Box::new((self, err, "lexical scores used instead")));
                }
            }
        }
        let prune = self.preset.as_ref().and_then(|p| p.prune.clone());
        if let (Some(config), None) = (prune, &self.pruner) {
            match load_pruner(store, &config) {
                Ok(p) => self.pruner = Some(p),
                Err(err) => {
                    // Without its classifier the preset selects whole units.
                    if let Some(p) = self.preset.as_mut() {
                        p.prune = None;
                    }
                    return Err(Box::new((
                        self,
                        err,
                        "whole units selected, no word pruning",
                    )));
                }
            }
        }
        let lm = self.preset.as_ref().and_then(|p| p.lm.clone());
        if let (Some(config), None) = (lm, &self.lm) {
            match crate::lm::shared_lm(store, &config.model) {
                Ok(lm) => self.lm = Some(lm),
                Err(err) => {
                    if let Some(p) = self.preset.as_mut() {
                        p.lm = None;
                    }
                    return Err(Box::new((self, err, "ranked without the causal LM")));
                }
            }
        }
        Ok(self.finish())
    }

    fn finish(self) -> Compressor {
        Compressor {
            preset: self.preset.unwrap_or_default(),
            counter: self
                .counter
                .unwrap_or_else(|| Arc::new(Tiktoken::default())),
            layout: self.layout.unwrap_or_else(|| Arc::new(Bare)),
            cache: Arc::default(),
            embedder: self.embedder,
            embedder_error: None,
            pruner: self.pruner,
            lm: self.lm,
        }
    }
}

/// The preset's token pruner: the token classifier in its `model` or
/// `PITH_PRUNE_MODEL`; with neither, surprisal under the installed causal LM.
fn load_pruner(
    store: &crate::models::ModelStore,
    config: &PruneConfig,
) -> Result<Arc<TokenPruner>, crate::neural::NeuralError> {
    use crate::neural::NeuralError;
    let dir = config
        .model
        .clone()
        .or_else(|| std::env::var_os("PITH_PRUNE_MODEL").map(std::path::PathBuf::from));
    let (pruner, path) = match dir {
        Some(dir) => {
            let classifier = shared_classifier(store, &dir)?;
            (
                TokenPruner::new(classifier, crate::lingua::PruneOptions::from_config(config)),
                dir,
            )
        }
        None => {
            let lm = crate::lm::shared_lm(store, crate::lm::DEFAULT_LM).map_err(|e| {
                NeuralError::Model {
                    path: crate::lm::DEFAULT_LM.into(),
                    message: format!(
                        "the preset prunes tokens and no model is installed ({e}): run `pith models install {}`, or give a token classifier with --model DIR, [prune] model or PITH_PRUNE_MODEL",
                        crate::lm::DEFAULT_LM
                    ),
                }
            })?;
            (
                TokenPruner::surprisal(lm, crate::lingua::PruneOptions::from_config(config)),
                crate::lm::DEFAULT_LM.into(),
            )
        }
    };
    pruner.map(Arc::new).map_err(|e| NeuralError::Model {
        path,
        message: e.to_string(),
    })
}

impl Default for Compressor {
    fn default() -> Self {
        Self::builder().build()
    }
}

impl Compressor {
    pub fn builder() -> CompressorBuilder {
        CompressorBuilder::default()
    }

    pub fn preset(&self) -> &Preset {
        &self.preset
    }

    pub fn counter(&self) -> &dyn TokenCounter {
        self.counter.as_ref()
    }

    /// Compresses `input` to at most `budget` tokens of the target tokenizer.
    pub fn compress(
        &self,
        input: impl Into<Input>,
        budget: usize,
    ) -> Result<Compressed, CompressError> {
        self.compress_prepared(&self.prepare(input), budget)
    }

    /// Segments, counts and scores `input` once, for compressing it to several budgets.
    pub fn prepare(&self, input: impl Into<Input>) -> Prepared {
        Prepared::build(
            input.into(),
            &self.preset,
            self.counter.as_ref(),
            self.layout.as_ref(),
            &self.cache,
            self.embedder.as_deref(),
            self.lm.as_deref(),
        )
    }

    /// Compresses a prepared input with the preset's values and selector.
    pub fn compress_prepared(
        &self,
        prepared: &Prepared,
        budget: usize,
    ) -> Result<Compressed, CompressError> {
        let select = &self.preset.select;
        // RECOMP's selective augmentation: nothing relevant enough, nothing returned.
        if let (Some(threshold), Some(best), Some(query)) = (
            select.selective_threshold,
            prepared.best_relevance(),
            prepared.query(),
        ) && f64::from(best) < threshold
            && !mentions_identifier(query, prepared)
        {
            return Ok(self.nothing_relevant(prepared, budget));
        }
        let selector = |budget: usize| -> Box<dyn Selector> {
            let mig = MigGreedy::new(select.redundancy);
            if let (SelectMethod::Mig, Some(caps)) = (select.method, self.lm_caps(prepared, budget))
            {
                let group = prepared.costs.units.iter().map(|u| u.doc).collect();
                return Box::new(GroupedMig { mig, group, caps });
            }
            match (select.method, select.group_temperature) {
                (SelectMethod::Mig, Some(t)) if prepared.docs.len() > 1 => {
                    Box::new(self.grouped(prepared, mig, t, budget.saturating_sub(prepared.fixed)))
                }
                (SelectMethod::Mig, _) => Box::new(mig),
                (SelectMethod::Knapsack, _) => Box::new(Knapsack {
                    epsilon: select.epsilon,
                }),
            }
        };
        let mut warning = None;
        if let Some(pruner) = &self.pruner
            && prepared.tokens_before > budget
        {
            let rate = self.preset.prune.as_ref().map_or(0.5, |p| p.rate);
            let coarse = ((budget as f64 / rate) as usize).min(prepared.tokens_before);
            match self.compress_pruned(prepared, budget, selector(coarse).as_ref(), coarse, pruner)
            {
                Ok(out) => return Ok(out),
                Err(why) => warning = Some(why),
            }
        }
        if let (Some(fine), Some(scores)) = (
            self.preset.lm.as_ref().and_then(|l| l.fine.as_ref()),
            prepared.lm.as_ref(),
        ) && !scores.units.is_empty()
            && prepared.tokens_before > budget
        {
            let coarse = ((budget as f64 / fine.rate) as usize).min(prepared.tokens_before);
            match self.compress_fine(
                prepared,
                budget,
                selector(coarse).as_ref(),
                coarse,
                fine,
                scores,
            ) {
                Ok(out) => return Ok(out),
                Err(why) => warning = Some(why),
            }
        }
        // Values and the similarity do not depend on each other: on a long input (a log
        // of thousands of lines) make them on two cores.
        if prepared.tokens_before > budget {
            std::thread::scope(|s| {
                s.spawn(|| {
                    prepared.similarity();
                });
                prepared.values();
            });
        }
        let mut out = self.compress_with(
            prepared,
            budget,
            prepared.values(),
            selector(budget).as_ref(),
        )?;
        out.warnings.extend(warning);
        Ok(out)
    }

    /// Coarse selection to `coarse` tokens, then word pruning inside the
    /// kept prose, at the highest keep rate whose output fits the budget. Each run of
    /// consecutive kept sentences is scored as one text, so the model sees context.
    /// On failure says why, and the caller selects whole units instead.
    fn compress_pruned(
        &self,
        prepared: &Prepared,
        budget: usize,
        selector: &dyn Selector,
        coarse: usize,
        pruner: &TokenPruner,
    ) -> Result<Compressed, String> {
        let kept = coarse_kept(prepared, selector, coarse);
        // (document, first chunk, end chunk) of each run of kept sentences.
        let mut runs: Vec<(usize, usize, usize)> = Vec::new();
        for d in 0..prepared.docs.len() {
            let (first, chunks) = (prepared.first[d], prepared.chunks(d));
            for (i, c) in chunks.iter().enumerate() {
                if !(kept[first + i] && c.kind == ChunkKind::Sentence) {
                    continue;
                }
                match runs.last_mut() {
                    Some(r) if r.0 == d && r.2 == i => r.2 = i + 1,
                    _ => runs.push((d, i, i + 1)),
                }
            }
        }
        let texts: Vec<&str> = runs
            .iter()
            .map(|&(d, a, b)| {
                let c = prepared.chunks(d);
                &prepared.docs[d].text[c[a].span.start..c[b - 1].span.end]
            })
            .collect();
        let scored = pruner
            .score(&texts)
            .map_err(|e| format!("token pruning failed ({e}); whole units selected instead"))?;
        // Costs and whole-run counts once; the search below only cuts.
        let cutters: Vec<_> = scored
            .iter()
            .map(|s| s.cutter(self.counter.as_ref()))
            .collect();
        let layout = self.layout.as_ref();
        let marker = self.preset.render.prose_marker.as_str();
        let attempt = |rate: f64| -> Option<(render::Rendered, usize)> {
            let mut replaced: Vec<Vec<Option<String>>> = (0..prepared.docs.len())
                .map(|d| vec![None; prepared.chunks(d).len()])
                .collect();
            for (c, &(d, a, b)) in cutters.iter().zip(&runs) {
                let text = c.select(Target::Rate(rate)).ok()?.text;
                replaced[d][a] = Some(text);
                for r in &mut replaced[d][a + 1..b] {
                    *r = Some(String::new());
                }
            }
            let views = prepared.views(&kept, Some(&replaced));
            let out = render::render(&views, layout, marker);
            let tokens = self.counter.count(&out.text);
            Some((out, tokens))
        };
        // The highest rate that fits, by bisection; rates are tried down to 2%.
        let mut best = None;
        let (mut lo, mut hi) = (0.02, 1.0);
        if let Some((out, tokens)) = attempt(lo).filter(|a| a.1 <= budget) {
            best = Some((out, tokens));
            for _ in 0..10 {
                let mid = (lo + hi) / 2.0;
                match attempt(mid) {
                    Some((out, tokens)) if tokens <= budget => {
                        lo = mid;
                        best = Some((out, tokens));
                    }
                    _ => hi = mid,
                }
            }
        }
        let (out, tokens) = best.ok_or_else(|| {
            "token pruning could not fit the budget; whole units selected instead".to_string()
        })?;
        Ok(self.report(prepared, &kept, &out, tokens, budget))
    }

    /// LongCodeZip: coarse selection to `coarse` tokens, then blocks inside the kept
    /// functions the LM scored, each function keeping a share of its tokens that grows
    /// with its gain; the shares are scaled together to the largest that fits the
    /// budget. On failure says why, and the caller selects whole units instead.
    fn compress_fine(
        &self,
        prepared: &Prepared,
        budget: usize,
        selector: &dyn Selector,
        coarse: usize,
        config: &crate::preset::FineConfig,
        scores: &lm_rank::LmScores,
    ) -> Result<Compressed, String> {
        let kept = coarse_kept(prepared, selector, coarse);
        let query = prepared.query().unwrap_or("");
        let best = scores.units.values().map(|c| c.gain).fold(0.0f64, f64::max);
        // (document, chunk, blocks, weight, tokens, comment) of each prunable function.
        let mut funcs = Vec::new();
        for (d, doc) in prepared.docs.iter().enumerate() {
            let crate::DocKind::Code(lang) = doc.kind else {
                continue;
            };
            for (i, c) in prepared.chunks(d).iter().enumerate() {
                let u = prepared.first[d] + i;
                let Some(contrast) = scores.units.get(&u) else {
                    continue;
                };
                if !kept[u] || c.kind != ChunkKind::Function {
                    continue;
                }
                let text = c.text(&doc.text);
                let blocks = fine::blocks(
                    text,
                    contrast,
                    query,
                    config.spike_sigma,
                    self.counter.as_ref(),
                );
                if blocks.iter().filter(|b| !b.fixed).count() == 0 {
                    continue;
                }
                let weight = 0.5
                    + if best > 0.0 {
                        contrast.gain.max(0.0) / best
                    } else {
                        0.0
                    };
                let tokens = prepared.costs.units[u].tokens;
                funcs.push((d, i, blocks, weight, tokens, lang.line_comment()));
            }
        }
        if funcs.is_empty() {
            return Err("no kept function to prune into blocks; whole units selected".into());
        }
        let mean = funcs.iter().map(|f| f.3).sum::<f64>() / funcs.len() as f64;
        let layout = self.layout.as_ref();
        let marker = self.preset.render.prose_marker.as_str();
        let epsilon = self.preset.select.epsilon;
        // Scale 0 keeps only fixed lines; at `top` every function is whole.
        let attempt = |scale: f64| -> (render::Rendered, usize) {
            let mut replaced: Vec<Vec<Option<String>>> = (0..prepared.docs.len())
                .map(|d| vec![None; prepared.chunks(d).len()])
                .collect();
            for (d, i, blocks, weight, tokens, comment) in &funcs {
                let ratio = (scale * weight / mean).min(1.0);
                let keep = fine::choose(blocks, (ratio * *tokens as f64) as usize, epsilon);
                if keep.iter().all(|&k| k) {
                    continue;
                }
                let text = prepared.chunks(*d)[*i].text(&prepared.docs[*d].text);
                replaced[*d][*i] = Some(fine::render(text, blocks, &keep, comment));
            }
            let views = prepared.views(&kept, Some(&replaced));
            let out = render::render(&views, layout, marker);
            let tokens = self.counter.count(&out.text);
            (out, tokens)
        };
        let top = funcs.iter().map(|f| mean / f.3).fold(1.0f64, f64::max);
        let (mut lo, mut hi) = (0.0, top);
        let mut best_out = Some(attempt(lo)).filter(|a| a.1 <= budget);
        if best_out.is_none() {
            return Err("block pruning could not fit the budget; whole units selected".into());
        }
        for _ in 0..12 {
            let mid = (lo + hi) / 2.0;
            let (out, tokens) = attempt(mid);
            if tokens <= budget {
                lo = mid;
                best_out = Some((out, tokens));
            } else {
                hi = mid;
            }
        }
        let (out, tokens) = best_out.ok_or("block pruning found nothing")?;
        Ok(self.report(prepared, &kept, &out, tokens, budget))
    }

    /// LongLLMLingua's dynamic ratio: per-document caps by the LM's rank, when the
    /// preset ranks documents and the LM scored them.
    fn lm_caps(&self, prepared: &Prepared, budget: usize) -> Option<Vec<usize>> {
        let config = self.preset.lm.as_ref()?;
        let scores = prepared.lm.as_ref()?;
        if config.rank != crate::preset::LmRank::Documents || prepared.docs.len() < 2 {
            return None;
        }
        let budget = budget.saturating_sub(prepared.fixed);
        // With a group temperature, COMI's softmax shares over the LM's gains instead.
        if let Some(t) = self.preset.select.group_temperature {
            let gains: Vec<f64> = scores.docs.iter().map(|g| g.unwrap_or(f64::NAN)).collect();
            return Some(share_caps(&gains, t, budget));
        }
        Some(lm_rank::doc_caps(
            &scores.docs,
            config.rank_spread,
            budget,
            &prepared.sections_before,
        ))
    }

    /// COMI's coarse step: each document's gain is its best unit value minus the
    /// redundancy of its mean vector with the documents ranked above it; budget shares
    /// follow the softmax of the gains.
    fn grouped(
        &self,
        prepared: &Prepared,
        mig: MigGreedy,
        temperature: f64,
        budget: usize,
    ) -> GroupedMig {
        let values = prepared.values();
        let costs = &prepared.costs;
        let group: Vec<usize> = costs.units.iter().map(|u| u.doc).collect();
        let mut best = vec![0.0f64; prepared.docs.len()];
        for (i, &g) in group.iter().enumerate() {
            best[g] = best[g].max(values[i]);
        }
        let mut gains = best.clone();
        if let Some(e) = &prepared.embeddings {
            let floor = self.preset.select.similarity_floor;
            let mut rank: Vec<usize> = (0..best.len()).collect();
            rank.sort_by(|&a, &b| best[b].total_cmp(&best[a]).then(a.cmp(&b)));
            for (k, &d) in rank.iter().enumerate() {
                let redundancy = rank[..k]
                    .iter()
                    .map(|&h| above_floor(f64::from(dot(&e.docs[d], &e.docs[h])), floor))
                    .fold(0.0, f64::max);
                gains[d] = best[d] - mig.redundancy * redundancy;
            }
        }
        let caps = share_caps(&gains, temperature, budget);
        GroupedMig { mig, group, caps }
    }

    /// The empty result of selective augmentation.
    fn nothing_relevant(&self, prepared: &Prepared, budget: usize) -> Compressed {
        let none = vec![false; prepared.costs.units.len()];
        let empty = render::Rendered {
            text: String::new(),
            sections: vec![0..0; prepared.docs.len()],
        };
        let mut out = self.report(prepared, &none, &empty, 0, budget);
        out.nothing_relevant = true;
        out
    }

    /// Compresses a prepared input with other unit values (one per unit, in the order of
    /// [`Prepared::unit_texts`]) and another selector: how baselines and experiments
    /// share the segmentation, costs, rendering and the budget promise.
    pub fn compress_with(
        &self,
        prepared: &Prepared,
        budget: usize,
        values: &[f64],
        selector: &dyn Selector,
    ) -> Result<Compressed, CompressError> {
        let n_units = prepared.costs.units.len();
        assert_eq!(values.len(), n_units, "one value per unit");
        if prepared.tokens_before <= budget {
            let all = vec![true; n_units];
            return Ok(self.report(
                prepared,
                &all,
                &prepared.full,
                prepared.tokens_before,
                budget,
            ));
        }
        let layout = self.layout.as_ref();
        let prose_marker = self.preset.render.prose_marker.as_str();
        let costs = &prepared.costs;
        let selection = selector.select(
            values,
            prepared.similarity(),
            costs,
            budget.saturating_sub(prepared.fixed),
        );

        // Render, count, and give back the last choices until the output fits.
        let mut order = selection.order;
        let mut kept = selection.kept;
        // Each rendering differs from the last in a few lines: count only those again.
        let mut counts = LineMemo::new(self.counter.as_ref());
        loop {
            let out = render::render(&prepared.views(&kept, None), layout, prose_marker);
            let tokens = counts.count(&out.text);
            if tokens <= budget {
                return Ok(self.report(prepared, &kept, &out, tokens, budget));
            }
            let mut freed = 0;
            let mut gave_back = false;
            while freed < tokens - budget {
                let Some(u) = pop_droppable(&mut order, &kept, costs) else {
                    break;
                };
                for j in std::iter::once(u).chain(costs.units[u].footer) {
                    if kept[j] {
                        kept[j] = false;
                        freed += costs.units[j].tokens.max(1);
                    }
                }
                gave_back = true;
            }
            if !gave_back {
                // Nothing is kept any more: this is the smallest output there is.
                return Err(CompressError::BudgetTooSmall {
                    budget,
                    minimum: tokens,
                });
            }
        }
    }

    fn report(
        &self,
        prepared: &Prepared,
        kept: &[bool],
        out: &render::Rendered,
        tokens_after: usize,
        budget: usize,
    ) -> Compressed {
        // Sections come in rendering order; reports go in document order.
        // A section that is the whole text (one bare document) was counted already.
        let counted = crate::parallel::map(&out.sections, |s| {
            if *s == (0..out.text.len()) {
                tokens_after
            } else {
                self.counter.count(&out.text[s.clone()])
            }
        });
        let mut after = vec![0; prepared.docs.len()];
        for (d, n) in prepared.order().into_iter().zip(counted) {
            after[d] = n;
        }
        let documents = prepared
            .docs
            .iter()
            .enumerate()
            .map(|(d, doc)| {
                let base = prepared.first[d];
                let chunks = prepared.chunks(d);
                let lines = &prepared.lines[d];
                let dropped = chunks
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !kept[base + i])
                    .map(|(_, c)| Dropped {
                        kind: c.kind,
                        name: c.name.clone(),
                        lines: (
                            lines.line(c.span.start),
                            lines.line(c.span.end.saturating_sub(1).max(c.span.start)),
                        ),
                        start: c.span.start,
                        end: c.span.end,
                    })
                    .collect::<Vec<_>>();
                DocReport {
                    path: doc.path.clone(),
                    tokens_before: prepared.sections_before[d],
                    tokens_after: after[d],
                    chunks: chunks.len(),
                    kept: chunks.len() - dropped.len(),
                    dropped,
                }
            })
            .collect();
        Compressed {
            text: out.text.clone(),
            tokens_before: prepared.tokens_before,
            tokens_after,
            budget,
            tokenizer: self.counter.name().to_owned(),
            documents,
            nothing_relevant: false,
            best_relevance: prepared.best_relevance(),
            warnings: self
                .embedder_error
                .iter()
                .cloned()
                .chain(prepared.warnings.iter().cloned())
                .collect(),
        }
    }
}

/// Whether the query names an identifier (a key, a version, a function name: a word
/// with a digit, `_`, `-`, `.` or an inner capital, six characters or more) that occurs
/// verbatim in the input. Sentence embeddings see such strings as noise, so their
/// similarity says nothing; an exact occurrence is relevance no threshold should veto.
fn mentions_identifier(query: &str, prepared: &Prepared) -> bool {
    let identifiers: Vec<&str> = query
        .split(|c: char| c.is_whitespace() || "\"'`()[]{},;:?!<>".contains(c))
        .map(|w| w.trim_end_matches('.'))
        .filter(|w| w.chars().count() >= 6)
        .filter(|w| {
            w.chars().any(|c| c.is_ascii_digit() || "_-.".contains(c))
                || w.chars().skip(1).any(char::is_uppercase)
        })
        .collect();
    !identifiers.is_empty()
        && prepared
            .docs
            .iter()
            .any(|d| identifiers.iter().any(|id| d.text.contains(id)))
}

/// Token caps of groups: `budget` split by the softmax of their gains (COMI).
fn share_caps(gains: &[f64], temperature: f64, budget: usize) -> Vec<usize> {
    group_shares(gains, temperature)
        .into_iter()
        .map(|s| (s * budget as f64).floor() as usize)
        .collect()
}

/// The units coarse selection keeps within `coarse` tokens, before a finer stage cuts
/// inside them.
fn coarse_kept(prepared: &Prepared, selector: &dyn Selector, coarse: usize) -> Vec<bool> {
    selector
        .select(
            prepared.values(),
            prepared.similarity(),
            &prepared.costs,
            coarse.saturating_sub(prepared.fixed),
        )
        .kept
}

/// Takes the most recently chosen unit that no kept unit depends on.
fn pop_droppable(order: &mut Vec<usize>, kept: &[bool], costs: &DocCosts) -> Option<usize> {
    let pos = order.iter().rposition(|&u| {
        let info = &costs.units[u];
        kept[u] && !info.is_footer && !info.dependents.iter().any(|&j| kept[j])
    })?;
    Some(order.remove(pos))
}
