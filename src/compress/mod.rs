//! The compressor: segment → score → select → render, under a budget that is a promise.
//!
//! Selection works on estimates (each unit's own token count, plus exact charges for the
//! markers and frames it changes); the promise is kept by rendering the result, counting
//! it with the target tokenizer, and giving back the last-chosen units until it fits.

mod costs;
mod input;
mod output;

use std::sync::Arc;

pub use input::Input;
pub use output::{Compressed, DocReport, Dropped};

use crate::document::Document;
use crate::preset::{Preset, SelectMethod};
use crate::render::marker::LineIndex;
use crate::render::{self, Bare, Layout, View};
use crate::score::{Bm25, Scorer, SelfInformation};
use crate::segment::{Chunk, ChunkKind};
use crate::select::{Knapsack, MigGreedy, MinHash, Selector};
use crate::tokens::{Tiktoken, TokenCounter};
use costs::{DocCosts, DocInfo, UnitInfo};

/// Compression failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompressError {
    /// Not even the smallest possible output (markers saying everything was omitted) fits.
    #[error("budget of {budget} tokens is too small: the smallest output takes {minimum}")]
    BudgetTooSmall { budget: usize, minimum: usize },
}

/// Weight of query-less information in a query-aware score: it only orders units the
/// query says nothing about (relevance is normalised to 0..=1).
const INFORMATION_PRIOR: f64 = 0.05;

/// Compresses documents to a token budget. Build one with [`Compressor::builder`]; it is
/// cheap to share across threads.
#[derive(Debug, Clone)]
pub struct Compressor {
    preset: Preset,
    counter: Arc<dyn TokenCounter>,
    layout: Arc<dyn Layout>,
}

/// Configures a [`Compressor`].
#[derive(Debug, Default)]
pub struct CompressorBuilder {
    preset: Option<Preset>,
    counter: Option<Arc<dyn TokenCounter>>,
    layout: Option<Arc<dyn Layout>>,
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

    pub fn build(self) -> Compressor {
        Compressor {
            preset: self.preset.unwrap_or_default(),
            counter: self
                .counter
                .unwrap_or_else(|| Arc::new(Tiktoken::default())),
            layout: self.layout.unwrap_or_else(|| Arc::new(Bare)),
        }
    }
}

impl Default for Compressor {
    fn default() -> Self {
        Self::builder().build()
    }
}

/// Everything known about the input once it is segmented.
struct Prepared<'a> {
    docs: &'a [Document],
    chunks: Vec<Vec<Chunk>>,
    lines: Vec<LineIndex>,
    /// Global unit index of each document's first chunk.
    first: Vec<usize>,
}

impl Prepared<'_> {
    fn views<'b>(&'b self, kept: &'b [bool]) -> Vec<View<'b>> {
        self.docs
            .iter()
            .enumerate()
            .map(|(d, doc)| View {
                doc,
                chunks: &self.chunks[d],
                kept: &kept[self.first[d]..self.first[d] + self.chunks[d].len()],
                lines: &self.lines[d],
            })
            .collect()
    }

    fn units(&self) -> impl Iterator<Item = (usize, &Chunk)> {
        self.chunks
            .iter()
            .enumerate()
            .flat_map(|(d, cs)| cs.iter().map(move |c| (d, c)))
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
        let input = input.into();
        let prepared = self.prepare(&input.documents);
        let n_units: usize = prepared.chunks.iter().map(Vec::len).sum();
        let layout = self.layout.as_ref();
        let prose_marker = self.preset.render.prose_marker.as_str();

        let all = vec![true; n_units];
        let full = render::render(&prepared.views(&all), layout, prose_marker);
        let tokens_before = self.counter.count(&full.text);
        if tokens_before <= budget {
            return Ok(self.report(&prepared, &all, &full, &full, tokens_before, budget));
        }

        let texts: Vec<&str> = prepared
            .units()
            .map(|(d, c)| c.text(&prepared.docs[d].text))
            .collect();
        let values = self.values(&prepared, &texts, input.query.as_deref());
        let costs = self.costs(&prepared, &texts);
        let fixed = self.counter.count(&(layout.begin() + &layout.end(1, 1)));
        let similarity = MinHash::new(&texts);
        let selector: Box<dyn Selector> = match self.preset.select.method {
            SelectMethod::Mig => Box::new(MigGreedy::new(self.preset.select.redundancy)),
            SelectMethod::Knapsack => Box::new(Knapsack {
                epsilon: self.preset.select.epsilon,
            }),
        };
        let selection = selector.select(&values, &similarity, &costs, budget.saturating_sub(fixed));

        // Render, count, and give back the last choices until the output fits.
        let mut order = selection.order;
        let mut kept = selection.kept;
        loop {
            let out = render::render(&prepared.views(&kept), layout, prose_marker);
            let tokens = self.counter.count(&out.text);
            if tokens <= budget {
                return Ok(self.report(&prepared, &kept, &full, &out, tokens_before, budget));
            }
            let mut freed = 0;
            let mut gave_back = false;
            while freed < tokens - budget {
                let Some(u) = pop_droppable(&mut order, &kept, &costs) else {
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

    fn prepare<'a>(&self, docs: &'a [Document]) -> Prepared<'a> {
        let chunks: Vec<Vec<Chunk>> = docs
            .iter()
            .map(|d| d.kind.chunk(&d.text, &self.preset.segment))
            .collect();
        let lines = docs.iter().map(|d| LineIndex::new(&d.text)).collect();
        let mut first = Vec::with_capacity(docs.len());
        let mut at = 0;
        for c in &chunks {
            first.push(at);
            at += c.len();
        }
        Prepared {
            docs,
            chunks,
            lines,
            first,
        }
    }

    /// Value of each unit: relevance to the query when there is one (with a small
    /// information prior to order the rest), else self-information; all in 0..=1.
    fn values(&self, prepared: &Prepared<'_>, texts: &[&str], query: Option<&str>) -> Vec<f64> {
        let info = normalise(SelfInformation.score(texts, None));
        let query = query.filter(|q| !q.trim().is_empty());
        let mut values = match query {
            Some(q) => {
                let bm25 = Bm25 {
                    k1: self.preset.score.bm25_k1,
                    b: self.preset.score.bm25_b,
                };
                normalise(bm25.score(texts, Some(q)))
                    .into_iter()
                    .zip(&info)
                    .map(|(r, i)| r + INFORMATION_PRIOR * i)
                    .collect()
            }
            None => info,
        };
        // Footers carry nothing of their own: they come with their header.
        for (v, (_, c)) in values.iter_mut().zip(prepared.units()) {
            if c.kind == ChunkKind::Footer {
                *v = 0.0;
            }
        }
        values
    }

    fn costs(&self, prepared: &Prepared<'_>, texts: &[&str]) -> DocCosts {
        let layout = self.layout.as_ref();
        let mut units = Vec::with_capacity(texts.len());
        for (d, chunks) in prepared.chunks.iter().enumerate() {
            let base = prepared.first[d];
            // The footer of each header, to keep both together.
            let mut footer = vec![None; chunks.len()];
            for (i, c) in chunks.iter().enumerate() {
                if let (ChunkKind::Footer, Some(p)) = (c.kind, c.parent) {
                    footer[p] = Some(base + i);
                }
            }
            for (i, c) in chunks.iter().enumerate() {
                let mut companions = Vec::new();
                let mut parent = c.parent;
                while let Some(p) = parent {
                    companions.push(base + p);
                    companions.extend(footer[p]);
                    parent = chunks[p].parent;
                }
                if c.kind == ChunkKind::Header {
                    companions.extend(footer[i]);
                }
                units.push(UnitInfo {
                    doc: d,
                    tokens: self.counter.count(texts[base + i]),
                    companions,
                    footer: footer[i],
                    is_footer: c.kind == ChunkKind::Footer,
                    dependents: Vec::new(),
                });
            }
        }
        for i in 0..units.len() {
            for c in units[i].companions.clone() {
                units[c].dependents.push(i);
            }
        }
        let docs = prepared
            .docs
            .iter()
            .enumerate()
            .map(|(d, doc)| {
                let len = prepared.chunks[d].len();
                let marker = match len {
                    0 => 0,
                    _ => {
                        let none = vec![false; len];
                        let view = View {
                            doc,
                            chunks: &prepared.chunks[d],
                            kept: &none,
                            lines: &prepared.lines[d],
                        };
                        let m =
                            render::marker::marker(&view, 0..len, &self.preset.render.prose_marker);
                        self.counter.count(&m) + 1
                    }
                };
                let frame = self
                    .counter
                    .count(&(layout.open(doc, 1) + &layout.close(doc, true)));
                DocInfo {
                    first: prepared.first[d],
                    len,
                    marker,
                    frame,
                }
            })
            .collect();
        DocCosts {
            units,
            docs,
            omit_empty: layout.omits_empty_documents(),
        }
    }

    fn report(
        &self,
        prepared: &Prepared<'_>,
        kept: &[bool],
        full: &render::Rendered,
        out: &render::Rendered,
        tokens_before: usize,
        budget: usize,
    ) -> Compressed {
        let documents = prepared
            .docs
            .iter()
            .enumerate()
            .map(|(d, doc)| {
                let base = prepared.first[d];
                let chunks = &prepared.chunks[d];
                let dropped = chunks
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !kept[base + i])
                    .map(|(_, c)| Dropped {
                        kind: c.kind,
                        name: c.name.clone(),
                        lines: (
                            prepared.lines[d].line(c.span.start),
                            prepared.lines[d].line(c.span.end.saturating_sub(1).max(c.span.start)),
                        ),
                        start: c.span.start,
                        end: c.span.end,
                    })
                    .collect::<Vec<_>>();
                DocReport {
                    path: doc.path.clone(),
                    tokens_before: self.counter.count(&full.text[full.sections[d].clone()]),
                    tokens_after: self.counter.count(&out.text[out.sections[d].clone()]),
                    chunks: chunks.len(),
                    kept: chunks.len() - dropped.len(),
                    dropped,
                }
            })
            .collect();
        Compressed {
            tokens_after: self.counter.count(&out.text),
            text: out.text.clone(),
            tokens_before,
            budget,
            tokenizer: self.counter.name().to_owned(),
            documents,
        }
    }
}

/// Takes the most recently chosen unit that no kept unit depends on.
fn pop_droppable(order: &mut Vec<usize>, kept: &[bool], costs: &DocCosts) -> Option<usize> {
    let pos = order.iter().rposition(|&u| {
        let info = &costs.units[u];
        kept[u] && !info.is_footer && !info.dependents.iter().any(|&j| kept[j])
    })?;
    Some(order.remove(pos))
}

/// Scales values into 0..=1 by the largest one.
fn normalise(values: Vec<f64>) -> Vec<f64> {
    let max = values.iter().copied().fold(0.0_f64, f64::max);
    if max > 0.0 && max.is_finite() {
        values.into_iter().map(|v| v / max).collect()
    } else {
        vec![0.0; values.len()]
    }
}
