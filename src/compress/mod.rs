//! The compressor: segment → score → select → render, under a budget that is a promise.
//!
//! Selection works on estimates (each unit's own token count, plus exact charges for the
//! markers and frames it changes); the promise is kept by rendering the result, counting
//! it with the target tokenizer, and giving back the last-chosen units until it fits.

mod builder;
mod cache;
#[cfg(feature = "neural")]
mod cascade;
mod costs;
mod failure;
pub(crate) mod input;
#[cfg(feature = "neural")]
mod lm_rank;
#[cfg(feature = "neural")]
mod models;
#[cfg(not(feature = "neural"))]
#[path = "models_off.rs"]
mod models;
mod output;
mod prepared;
mod refine;
mod report;
#[cfg(feature = "neural")]
mod scored;
mod stop;
mod warning;

use std::sync::Arc;

pub use builder::CompressorBuilder;
pub use failure::{BuildError, ModelFailure};
pub use input::{Input, QUERY_PART_CHARS, tool_query};
pub use output::{Compressed, DocReport, Dropped};
pub use prepared::Prepared;
pub use stop::Stop;
pub use warning::Warning;

use crate::preset::{Preset, SelectMethod};
use crate::render::{self, Layout};
use crate::select::cosine::above_floor;
use crate::select::{GroupedMig, Knapsack, MigGreedy, Selector, group_shares};
use crate::tokens::{LineMemo, TokenCounter};
use crate::vector::dot;
use cache::ChunkCache;
use costs::DocCosts;
use models::Models;
use refine::{Refiner, Replaced};

/// Compression failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompressError {
    /// Not even the smallest possible output (markers saying everything was omitted) fits.
    #[error("budget of {budget} tokens is too small: the smallest output takes {minimum}")]
    BudgetTooSmall {
        /// The budget asked for.
        budget: usize,
        /// Tokens of the smallest output.
        minimum: usize,
    },
    /// The [`Stop`] given to [`Compressor::compress_until`] fired first.
    #[error("compression stopped: its deadline passed or it was cancelled")]
    Stopped,
    /// The preset's settings are out of range (see [`Preset::validate`]);
    /// [`CompressorBuilder::try_build`] reports this when building.
    #[error(transparent)]
    InvalidPreset(#[from] crate::preset::PresetError),
    /// [`Compressor::compress_with`] got a number of values other than one per unit.
    #[error("{got} values for {expected} units: give one value per unit")]
    Values {
        /// Units of the prepared input.
        expected: usize,
        /// Values given.
        got: usize,
    },
}

/// Compresses documents to a token budget. Build one with [`Compressor::builder`]; it is
/// cheap to share across threads.
#[derive(Debug, Clone)]
pub struct Compressor {
    preset: Preset,
    counter: Arc<dyn TokenCounter>,
    layout: Arc<dyn Layout>,
    cache: Arc<ChunkCache>,
    /// The embedder, token pruner and causal LM the preset uses.
    models: Models,
    /// Models the preset needs that could not be loaded, reported with every result.
    build_warnings: Vec<Warning>,
}

impl Default for Compressor {
    fn default() -> Self {
        Self::builder().build()
    }
}

impl Compressor {
    /// A builder with the defaults: the `code` preset, o200k_base, bare text.
    pub fn builder() -> CompressorBuilder {
        CompressorBuilder::default()
    }

    /// The pipeline settings it runs with.
    pub fn preset(&self) -> &Preset {
        &self.preset
    }

    /// The target tokenizer budgets are counted in.
    pub fn counter(&self) -> &dyn TokenCounter {
        self.counter.as_ref()
    }

    /// Compresses `input` to at most `budget` tokens of the target tokenizer.
    ///
    /// Fails only when not even the markers that say everything was dropped fit.
    ///
    /// ```
    /// use pith::Compressor;
    ///
    /// let compressor = Compressor::default();
    /// let text = "pith keeps what the task needs. ".repeat(40);
    /// let out = compressor.compress(text.as_str(), 30)?;
    /// assert!(out.tokens_after <= 30 && out.tokens_after < out.tokens_before);
    /// assert!(compressor.compress(text.as_str(), 0).is_err());
    /// # Ok::<(), pith::CompressError>(())
    /// ```
    pub fn compress(
        &self,
        input: impl Into<Input>,
        budget: usize,
    ) -> Result<Compressed, CompressError> {
        self.compress_until(input, budget, &Stop::never())
    }

    /// Like [`Compressor::compress`], giving up with [`CompressError::Stopped`] when
    /// `stop` fires (checked between stages: a stage already running finishes first).
    pub fn compress_until(
        &self,
        input: impl Into<Input>,
        budget: usize,
        stop: &Stop,
    ) -> Result<Compressed, CompressError> {
        self.preset.validate()?;
        stop.check()?;
        let prepared = self.prepare(input);
        self.compress_prepared_until(&prepared, budget, stop)
    }

    /// Segments, counts and scores `input` once, for compressing it to several budgets.
    pub fn prepare(&self, input: impl Into<Input>) -> Prepared {
        Prepared::build(
            input.into(),
            &self.preset,
            self.counter.as_ref(),
            self.layout.as_ref(),
            &self.cache,
            &self.models,
        )
    }

    /// Compresses a prepared input with the preset's values and selector.
    pub fn compress_prepared(
        &self,
        prepared: &Prepared,
        budget: usize,
    ) -> Result<Compressed, CompressError> {
        self.compress_prepared_until(prepared, budget, &Stop::never())
    }

    /// Like [`Compressor::compress_prepared`], giving up when `stop` fires.
    pub fn compress_prepared_until(
        &self,
        prepared: &Prepared,
        budget: usize,
        stop: &Stop,
    ) -> Result<Compressed, CompressError> {
        self.preset.validate()?;
        stop.check()?;
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
        if prepared.tokens_before > budget {
            for refiner in self.refiners(prepared) {
                stop.check()?;
                match self.refine(prepared, budget, &selector, refiner.as_ref()) {
                    Ok(out) => return Ok(out),
                    Err(reason) => {
                        warning = Some(Warning::RefinementSkipped {
                            stage: refiner.name(),
                            reason,
                        })
                    }
                }
            }
        }
        // Values and the similarity do not depend on each other: on a long input (a log
        // of thousands of lines) make them on two cores, and the line shapes the markers
        // will name beside the similarity.
        if prepared.tokens_before > budget {
            std::thread::scope(|s| {
                s.spawn(|| {
                    prepared.similarity();
                    prepared.shapes();
                });
                prepared.values();
            });
        }
        stop.check()?;
        let mut out = self.select_and_fit(
            prepared,
            budget,
            prepared.values(),
            selector(budget).as_ref(),
            stop,
        )?;
        out.warnings.extend(warning);
        Ok(out)
    }

    /// The refinement stages the preset asks for, in the order they are tried: word
    /// pruning inside kept prose, then LongCodeZip's blocks inside kept functions.
    fn refiners<'a>(&'a self, prepared: &'a Prepared) -> Vec<Box<dyn Refiner + 'a>> {
        #[allow(unused_mut)]
        let mut out: Vec<Box<dyn Refiner + 'a>> = Vec::new();
        #[cfg(feature = "neural")]
        if let Some(pruner) = &self.models.pruner {
            let rate = self.preset.prune.as_ref().map_or(0.5, |p| p.rate);
            out.push(Box::new(refine::words::WordPruning { pruner, rate }));
        }
        #[cfg(feature = "neural")]
        if let (Some(config), Some(scores)) = (
            self.preset.lm.as_ref().and_then(|l| l.fine.as_ref()),
            prepared.lm.as_ref(),
        ) && !scores.units.is_empty()
        {
            let epsilon = self.preset.select.epsilon;
            out.push(Box::new(refine::blocks::BlockPruning {
                config,
                scores,
                epsilon,
            }));
        }
        #[cfg(not(feature = "neural"))]
        let _ = prepared;
        out
    }

    /// Coarse selection to `budget / rate` tokens, then `refiner` cuts inside the kept
    /// units down to the budget. On failure says why, and the caller selects whole units.
    fn refine(
        &self,
        prepared: &Prepared,
        budget: usize,
        selector: &dyn Fn(usize) -> Box<dyn Selector>,
        refiner: &dyn Refiner,
    ) -> Result<Compressed, String> {
        let coarse = ((budget as f64 / refiner.rate()) as usize).min(prepared.tokens_before);
        let kept = coarse_kept(prepared, selector(coarse).as_ref(), coarse);
        let (layout, marker) = (
            self.layout.as_ref(),
            self.preset.render.prose_marker.as_str(),
        );
        let rendering = |replaced: &Replaced| {
            let out = render::render(&prepared.views(&kept, Some(replaced)), layout, marker);
            let tokens = self.counter.count(&out.text);
            (out, tokens)
        };
        let (out, tokens) =
            refiner.refine(prepared, &kept, self.counter.as_ref(), budget, &rendering)?;
        Ok(self.report(prepared, &kept, &out, tokens, budget))
    }

    /// LongLLMLingua's dynamic ratio: per-document caps by the LM's rank, when the
    /// preset ranks documents and the LM scored them.
    #[cfg(not(feature = "neural"))]
    fn lm_caps(&self, _: &Prepared, _: usize) -> Option<Vec<usize>> {
        None
    }

    #[cfg(feature = "neural")]
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
        let expected = prepared.costs.units.len();
        if values.len() != expected {
            return Err(CompressError::Values {
                expected,
                got: values.len(),
            });
        }
        self.select_and_fit(prepared, budget, values, selector, &Stop::never())
    }

    /// Selects under the budget, renders, and gives back the last choices until the
    /// output fits.
    fn select_and_fit(
        &self,
        prepared: &Prepared,
        budget: usize,
        values: &[f64],
        selector: &dyn Selector,
        stop: &Stop,
    ) -> Result<Compressed, CompressError> {
        let n_units = prepared.costs.units.len();
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
        let mut given_back = Vec::new();
        loop {
            stop.check()?;
            let out = render::render(&prepared.views(&kept, None), layout, prose_marker);
            let tokens = counts.count(&out.text);
            if tokens <= budget {
                let (out, tokens) = refill(
                    prepared,
                    values,
                    &mut kept,
                    (out, tokens),
                    &given_back,
                    budget,
                    |kept| {
                        let out = render::render(&prepared.views(kept, None), layout, prose_marker);
                        let tokens = counts.count(&out.text);
                        (tokens <= budget).then_some((out, tokens))
                    },
                );
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
                given_back.push(u);
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

/// Units a fitting output is offered again, at most.
const REFILL_TRIES: usize = 8;

/// Selection prices markers by estimate, and giving back frees whole units, often more
/// than the output ran over, so a small output can end well under its budget. When it
/// ends more than 5% under, the units given back (the one chosen first first), then the
/// most valuable ones never kept, are offered again, each kept only if `fits` renders the
/// output with it within the budget.
fn refill(
    prepared: &Prepared,
    values: &[f64],
    kept: &mut Vec<bool>,
    fitting: (render::Rendered, usize),
    given_back: &[usize],
    budget: usize,
    mut fits: impl FnMut(&[bool]) -> Option<(render::Rendered, usize)>,
) -> (render::Rendered, usize) {
    let costs = &prepared.costs;
    let mut best = fitting;
    // Within 5% of the budget there is little to win, and on a long log each offer is a
    // rendering of thousands of lines.
    if (budget - best.1) * 20 < budget {
        return best;
    }
    let mut offered = vec![false; kept.len()];
    for &u in given_back {
        offered[u] = true;
    }
    let mut unkept: Vec<usize> = (0..kept.len())
        .filter(|&u| !kept[u] && !offered[u] && values[u] > 0.0)
        .collect();
    unkept.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
    let offers = given_back.iter().rev().copied().chain(unkept);
    // Only a unit whose own text fits what is left is worth a rendering.
    let room = |u: usize, left: usize| {
        let info = &costs.units[u];
        !kept[u]
            && info.companions.iter().all(|&c| kept[c])
            && info.tokens + info.footer.map_or(0, |f| costs.units[f].tokens) <= left
    };
    for u in offers
        .filter(|&u| room(u, budget - best.1))
        .take(REFILL_TRIES)
        .collect::<Vec<_>>()
    {
        // Keeping a unit only adds to `kept`: its companions are still kept, but it
        // may have come in as another's footer.
        if kept[u] {
            continue;
        }
        let mut trial = kept.clone();
        for j in std::iter::once(u).chain(costs.units[u].footer) {
            trial[j] = true;
        }
        if let Some(out) = fits(&trial) {
            *kept = trial;
            best = out;
        }
    }
    best
}

/// Takes the most recently chosen unit that no kept unit depends on.
fn pop_droppable(order: &mut Vec<usize>, kept: &[bool], costs: &DocCosts) -> Option<usize> {
    let pos = order.iter().rposition(|&u| {
        let info = &costs.units[u];
        kept[u] && !info.is_footer && !info.dependents.iter().any(|&j| kept[j])
    })?;
    Some(order.remove(pos))
}
