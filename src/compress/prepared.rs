//! Everything about an input that does not depend on the budget: its chunks and their
//! tokens, what each unit costs, the values of the units for the query, and the input
//! rendered whole. Prepared once, it can be compressed to many budgets (and by other
//! value functions, for baselines) without cutting or counting anything again.

use std::sync::{Arc, OnceLock};

use super::cache::{ChunkCache, Segmented};
use super::costs::{DocCosts, DocInfo, UnitInfo};
#[cfg(feature = "neural")]
use super::lm_rank::LmScores;
use super::models::Models;
use super::{Input, Warning};
use crate::ann::Vectors;
use crate::document::Document;
use crate::parallel;
use crate::preset::{Preset, Relevance, SimilarityKind};
use crate::render::marker::{LineIndex, Shapes};
use crate::render::{self, Layout, Rendered, View};
use crate::score::compose::{
    INFORMATION_PRIOR, QUERY_SHARE, SALIENCE, api_entries, clip_normalise, json_items,
    lift_neighbours, lift_records, normalise,
};
use crate::score::salience::{discount_repeats, salience};
use crate::score::{Bm25, Scorer, SelfInformation};
use crate::segment::{Chunk, ChunkKind};
use crate::select::exempt::{EXEMPT_SALIENCE, Exempt, diff_changes};
use crate::select::{Cosine, MinHash, Similarity, SparseCosine};
use crate::tokens::TokenCounter;
use crate::vector::Vector;

/// Units past which redundancy goes sparse. Measured (`cargo bench --bench sparse_mig`,
/// BENCHMARKS.md): dense lazy MIG took 2 s at 20k units, 20–40 s at 50k and 197 s at
/// 100k; sparse took 16 s, 53 s and 113 s, most of it building the HNSW graph.
const SPARSE_THRESHOLD: usize = 75_000;

/// Neighbours of each kept unit that its redundancy reaches, in large inputs:
/// near-duplicates are the nearest, and a passage rarely has more copies than this.
const SPARSE_NEIGHBOURS: usize = 64;

/// An input made ready for compression; see [`crate::Compressor::prepare`].
#[derive(Debug)]
pub struct Prepared {
    pub(super) docs: Vec<Document>,
    pub(super) query: Option<String>,
    pub(super) segmented: Vec<Arc<Segmented>>,
    pub(super) lines: Vec<LineIndex>,
    /// Global unit index of each document's first chunk.
    pub(super) first: Vec<usize>,
    pub(super) costs: DocCosts,
    pub(super) full: Rendered,
    pub(super) tokens_before: usize,
    pub(super) sections_before: Vec<usize>,
    /// Tokens of the layout's begin and end, paid whatever is kept.
    pub(super) fixed: usize,
    bm25: Bm25,
    pub(super) preset: Preset,
    /// Unit and query vectors, when the preset uses embeddings and they could be made.
    pub(super) embeddings: Option<Embeddings>,
    /// What the causal LM said, when the preset ranks with one and it could run.
    #[cfg(feature = "neural")]
    pub(super) lm: Option<LmScores>,
    /// The order documents are rendered in (LongLLMLingua's reorder); document order
    /// when `None`.
    pub(super) order: Option<Vec<usize>>,
    pub(super) warnings: Vec<Warning>,
    pub(super) values: OnceLock<Vec<f64>>,
    similarity: OnceLock<Box<dyn UnitSimilarity>>,
    salience: OnceLock<Vec<f64>>,
    /// Line templates of each tool-output document, for its markers.
    shapes: OnceLock<Vec<Option<Shapes>>>,
}

/// How far a test run's verdict ranks above the best other line of its output.
const VERDICT_GAP: f64 = 1e-3;

/// A similarity a `Prepared` can hold (and print).
trait UnitSimilarity: Similarity + std::fmt::Debug + Send + Sync {}
impl<T: Similarity + std::fmt::Debug + Send + Sync> UnitSimilarity for T {}

/// Sentence embeddings of an input.
#[derive(Debug)]
pub(super) struct Embeddings {
    /// One unit vector per unit (zero for units without text).
    pub units: Vec<Vector>,
    /// Cosine of each unit to the query (empty without a query).
    pub relevance: Vec<f64>,
    /// Per document: the normalised mean of its units' vectors.
    pub docs: Vec<Vec<f32>>,
}

impl Prepared {
    pub(super) fn build(
        input: Input,
        preset: &Preset,
        counter: &dyn TokenCounter,
        layout: &dyn Layout,
        cache: &ChunkCache,
        models: &Models,
    ) -> Self {
        let Input {
            documents: docs,
            query,
        } = input;
        let segmented = parallel::map(&docs, |d| {
            cache.get_or_insert(d.kind, &d.text, || {
                let chunks = d.kind.chunk(&d.text, &preset.segment);
                // Tool output is many small lines: one pass over the whole text gives
                // each line its tokens and, when exact, the whole its count.
                if matches!(d.kind, crate::DocKind::Output(_)) {
                    let ends: Vec<usize> = chunks.iter().map(|c| c.span.end).collect();
                    let (tokens, exact) = counter.count_pieces(&d.text, &ends);
                    if exact {
                        cache.count(&d.text, || tokens.iter().sum());
                    }
                    return Segmented { chunks, tokens };
                }
                let tokens = chunks
                    .iter()
                    .map(|c| counter.count(c.text(&d.text)))
                    .collect();
                Segmented { chunks, tokens }
            })
        });
        let lines: Vec<LineIndex> = docs.iter().map(|d| LineIndex::new(&d.text)).collect();
        let mut first = Vec::with_capacity(docs.len());
        let mut at = 0;
        for s in &segmented {
            first.push(at);
            at += s.chunks.len();
        }
        let mut prepared = Prepared {
            docs,
            query: query.filter(|q| !q.trim().is_empty()),
            segmented,
            lines,
            first,
            costs: DocCosts {
                units: Vec::new(),
                docs: Vec::new(),
                omit_empty: layout.omits_empty_documents(),
            },
            full: Rendered::default(),
            tokens_before: 0,
            sections_before: Vec::new(),
            fixed: counter.count(&(layout.begin() + &layout.end(1, 1))),
            bm25: Bm25 {
                k1: preset.score.bm25_k1,
                b: preset.score.bm25_b,
            },
            preset: preset.clone(),
            embeddings: None,
            #[cfg(feature = "neural")]
            lm: None,
            order: None,
            warnings: Vec::new(),
            values: OnceLock::new(),
            similarity: OnceLock::new(),
            salience: OnceLock::new(),
            shapes: OnceLock::new(),
        };
        let all = vec![true; at];
        prepared.full = render::render(
            &prepared.views(&all, None),
            layout,
            &preset.render.prose_marker,
        );
        // Remembered when the whole is one document's text (a bare layout), counted once.
        let full = &prepared.full.text;
        prepared.tokens_before = cache.count(full, || counter.count(full));
        prepared.sections_before = parallel::map(&prepared.full.sections, |s| {
            let section = &prepared.full.text[s.clone()];
            cache.count(section, || counter.count(section))
        });
        prepared.costs = prepared.costs(preset, counter, layout);
        #[cfg(feature = "neural")]
        prepared.run_models(preset, models);
        #[cfg(not(feature = "neural"))]
        let _ = models;
        prepared
    }

    /// Tokens of the input rendered whole.
    pub fn tokens_before(&self) -> usize {
        self.tokens_before
    }

    /// The input rendered whole, as the layout frames it.
    pub fn full_text(&self) -> &str {
        &self.full.text
    }

    /// The input's documents.
    pub fn documents(&self) -> &[Document] {
        &self.docs
    }

    /// The input's query, if it has one.
    pub fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }

    /// The text of every unit, in document order.
    pub fn unit_texts(&self) -> Vec<&str> {
        self.units()
            .map(|(d, c)| c.text(&self.docs[d].text))
            .collect()
    }

    /// Kind of every unit, in document order.
    pub fn unit_kinds(&self) -> Vec<ChunkKind> {
        self.units().map(|(_, c)| c.kind).collect()
    }

    /// The preset's value of every unit, computed on first use (baselines bring their own).
    pub(super) fn values(&self) -> &[f64] {
        self.values.get_or_init(|| self.compute_values())
    }

    /// Whether any document is tool output.
    fn has_output(&self) -> bool {
        self.docs
            .iter()
            .any(|d| matches!(d.kind, crate::DocKind::Output(_)))
    }

    /// Salience of every unit (see [`crate::score::salience`]): 0 outside tool output.
    fn salience(&self) -> &[f64] {
        self.salience.get_or_init(|| {
            let texts = self.unit_texts();
            let mut out = vec![0.0; texts.len()];
            for (d, doc) in self.docs.iter().enumerate() {
                if let crate::DocKind::Output(kind) = doc.kind {
                    let range = self.first[d]..self.first[d] + self.chunks(d).len();
                    let s = salience(kind, &texts[range.clone()], self.query.as_deref());
                    out[range].copy_from_slice(&s);
                }
            }
            out
        })
    }

    pub(super) fn similarity(&self) -> &dyn Similarity {
        self.similarity
            .get_or_init(|| match (&self.embeddings, self.preset.select.similarity) {
                (Some(e), SimilarityKind::Embedding) if e.units.len() >= SPARSE_THRESHOLD => {
                    let dim = e.units.first().map_or(1, |v| v.len());
                    let flat: Vec<f32> = e.units.iter().flat_map(|v| v.iter().copied()).collect();
                    match Vectors::from_flat(dim, flat) {
                        Ok(vectors) => Box::new(SparseCosine::new(
                            vectors,
                            SPARSE_NEIGHBOURS,
                            self.preset.select.similarity_floor,
                        )),
                        Err(_) => Box::new(self.dense(e)),
                    }
                }
                (Some(e), SimilarityKind::Embedding) => Box::new(self.dense(e)),
                _ if self.has_output() => {
                    let texts = self.unit_texts();
                    // Signatures first: `values` makes the salience meanwhile (on the
                    // other core, see `compress_prepared_until`).
                    let inner = MinHash::new(&texts);
                    let mut exempt: Vec<bool> = self
                        .salience()
                        .iter()
                        .map(|&s| s >= EXEMPT_SALIENCE)
                        .collect();
                    // A diagnostic's notes (`Superclass:` and `Subclass:` signatures that
                    // differ in one argument) are each a fact of their own, as the
                    // diagnostic is.
                    self.mark_notes(&texts, &mut exempt);
                    Box::new(Exempt {
                        inner,
                        exempt,
                        changes: self.changes_in_diffs(&texts),
                    })
                }
                _ => Box::new(MinHash::new(&self.unit_texts())),
            })
            .as_ref() as &dyn Similarity
    }

    /// Marks the notes of each compiler output's diagnostics (see
    /// [`crate::score::sections::note_owners`]).
    fn mark_notes(&self, texts: &[&str], marks: &mut [bool]) {
        let compiler = crate::DocKind::Output(crate::segment::OutputKind::Compiler);
        for (d, doc) in self.docs.iter().enumerate() {
            if doc.kind == compiler {
                let range = self.first[d]..self.first[d] + self.chunks(d).len();
                let owners = crate::score::sections::note_owners(&texts[range.clone()]);
                for (m, owner) in marks[range].iter_mut().zip(owners) {
                    *m |= owner.is_some();
                }
            }
        }
    }

    /// The changed lines of every diff among the documents, by hunk (see
    /// [`diff_changes`]); empty when there is no diff.
    fn changes_in_diffs(&self, texts: &[&str]) -> Vec<Option<(usize, bool)>> {
        let diff = crate::DocKind::Output(crate::segment::OutputKind::Diff);
        if !self.docs.iter().any(|d| d.kind == diff) {
            return Vec::new();
        }
        let mut changes = vec![None; texts.len()];
        for (d, doc) in self.docs.iter().enumerate() {
            if doc.kind == diff {
                let range = self.first[d]..self.first[d] + self.chunks(d).len();
                let first = range.start;
                for (c, h) in changes[range.clone()]
                    .iter_mut()
                    .zip(diff_changes(&texts[range]))
                {
                    *c = h.map(|(r, added)| (first + r, added));
                }
            }
        }
        changes
    }

    fn dense(&self, e: &Embeddings) -> Cosine {
        Cosine {
            vectors: e.units.clone(),
            floor: self.preset.select.similarity_floor,
        }
    }

    /// Warnings about how this input was scored.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// The best embedding similarity of any unit to the query.
    pub fn best_relevance(&self) -> Option<f32> {
        let e = self.embeddings.as_ref()?;
        e.relevance.iter().map(|&r| r as f32).reduce(f32::max)
    }

    pub(super) fn chunks(&self, d: usize) -> &[Chunk] {
        &self.segmented[d].chunks
    }

    pub(super) fn units(&self) -> impl Iterator<Item = (usize, &Chunk)> {
        self.segmented
            .iter()
            .enumerate()
            .flat_map(|(d, s)| s.chunks.iter().map(move |c| (d, c)))
    }

    /// The documents in the order they are rendered in: the `d`-th view and section of
    /// a rendering belong to document `order()[d]`.
    pub(super) fn order(&self) -> Vec<usize> {
        self.order
            .clone()
            .unwrap_or_else(|| (0..self.docs.len()).collect())
    }

    /// No chunk's text replaced: one empty slot per chunk of each document.
    #[cfg_attr(not(feature = "neural"), allow(dead_code))]
    pub(super) fn no_replacements(&self) -> Vec<Vec<Option<String>>> {
        (0..self.docs.len())
            .map(|d| vec![None; self.chunks(d).len()])
            .collect()
    }

    /// One view per document, in rendering order, with `replaced` texts (indexed by
    /// document) when given.
    pub(super) fn views<'b>(
        &'b self,
        kept: &'b [bool],
        replaced: Option<&'b [Vec<Option<String>>]>,
    ) -> Vec<View<'b>> {
        self.order()
            .into_iter()
            .map(|d| {
                let kept = &kept[self.first[d]..self.first[d] + self.chunks(d).len()];
                View {
                    doc: &self.docs[d],
                    chunks: self.chunks(d),
                    kept,
                    lines: &self.lines[d],
                    replaced: replaced.map(|r| r[d].as_slice()),
                    // Only a tool output with dropped lines has markers that name shapes.
                    shapes: if kept.iter().all(|&k| k) {
                        None
                    } else {
                        self.shapes()[d].as_ref()
                    },
                }
            })
            .collect()
    }

    /// The line templates of each tool-output document, made on first use.
    pub(super) fn shapes(&self) -> &[Option<Shapes>] {
        self.shapes.get_or_init(|| {
            self.docs
                .iter()
                .enumerate()
                .map(|(d, doc)| {
                    matches!(doc.kind, crate::DocKind::Output(_))
                        .then(|| Shapes::new(&doc.text, self.chunks(d)))
                })
                .collect()
        })
    }

    /// Value of each unit: relevance to the query when there is one (with a small
    /// information prior to order the rest), else self-information; all in 0..=1.
    pub(super) fn compute_values(&self) -> Vec<f64> {
        // Salience first: the similarity, made meanwhile, needs it too.
        if self.has_output() {
            self.salience();
        }
        let texts = self.unit_texts();
        // Self-information orders what the query does not; in tool output salience does
        // that (and costs far less on a long log), so it is not computed for it.
        let all_output = self
            .docs
            .iter()
            .all(|d| matches!(d.kind, crate::DocKind::Output(_)));
        let info = if all_output && self.query.is_some() {
            vec![0.0; texts.len()]
        } else {
            normalise(SelfInformation.score(&texts, None))
        };
        let mut values: Vec<f64> = match &self.query {
            Some(q) => {
                let relevance = match (&self.embeddings, self.preset.score.relevance) {
                    (Some(e), Relevance::Embedding) => clip_normalise(e.relevance.clone()),
                    (Some(e), Relevance::Hybrid) => {
                        let w = self.preset.score.hybrid_weight;
                        clip_normalise(e.relevance.clone())
                            .into_iter()
                            .zip(normalise(self.bm25.score(&texts, Some(q))))
                            .map(|(n, l)| w * n + (1.0 - w) * l)
                            .collect()
                    }
                    _ => normalise(self.bm25.score(&texts, Some(q))),
                };
                relevance
                    .into_iter()
                    .zip(&info)
                    .map(|(r, i)| r + INFORMATION_PRIOR * i)
                    .collect()
            }
            None => info,
        };
        // Tool output: what a line says (errors, failures, summaries) counts whatever the
        // query; the query's own value keeps the rest of the weight.
        let paths = self
            .query
            .as_deref()
            .map(crate::score::names::query_paths)
            .unwrap_or_default();
        for (d, doc) in self.docs.iter().enumerate() {
            if let crate::DocKind::Output(kind) = doc.kind {
                let range = self.first[d]..self.first[d] + self.chunks(d).len();
                let mut salience = self.salience()[range.clone()].to_vec();
                discount_repeats(&texts[range.clone()], &mut salience);
                // An exception is about what the frame that raised it is about: a query
                // that points at the frame points at it too, so what raised never ranks
                // below where.
                let texts_d = &texts[range.clone()];
                let at = range.start;
                for (e, f) in crate::score::salience::raised_at(texts_d) {
                    values[at + e] = values[at + e].max(values[at + f]);
                }
                // unittest's `FAIL: test_x (…)` names the failure its section explains: it
                // is about what the section is about, as much as its exception.
                for (h, section) in crate::score::sections::unittest_sections(texts_d) {
                    let best = section.map(|i| values[at + i]).fold(0.0, f64::max);
                    values[at + h] = values[at + h].max(best);
                }
                let relevance = values[range.clone()].to_vec();
                let summaries: Vec<bool> = texts_d
                    .iter()
                    .map(|t| crate::segment::output::is_run_summary(t.trim()))
                    .collect();
                for (((v, s), t), &summary) in values[range.clone()]
                    .iter_mut()
                    .zip(salience)
                    .zip(texts_d)
                    .zip(&summaries)
                {
                    // A banner's few words (`== short test summary info ==`) and a test
                    // runner's closing lines (`Ran 1002 tests in 0.7s`) are the program's,
                    // not the subject's: the query's words in them are chance.
                    let share = if summary || crate::segment::output::is_banner(t) {
                        0.0
                    } else {
                        QUERY_SHARE
                    };
                    *v = SALIENCE * s + share * *v;
                }
                lift_records(
                    kind,
                    &texts[range.clone()],
                    &relevance,
                    &mut values[range.clone()],
                );
                if let Some(q) = &self.query {
                    // Salience before repeats are discounted: a repeated error is one.
                    crate::score::signature::parameter_diagnostics(
                        texts_d,
                        &self.salience()[range.clone()],
                        q,
                        &mut values[range.clone()],
                    );
                }
                if kind == crate::segment::OutputKind::Compiler {
                    let eslint = crate::score::sections::eslint_files(texts_d);
                    crate::score::sections::named_file_diagnostics(
                        texts_d,
                        &eslint,
                        &paths,
                        &mut values[range.clone()],
                    );
                    crate::score::sections::diagnostic_notes(texts_d, &mut values[range.clone()]);
                    // ESLint's path over a file's problems is where they are: without it
                    // they are places in no file, so it is worth what they are.
                    for (h, problems) in eslint {
                        let best = problems.map(|i| values[at + i]).fold(0.0, f64::max);
                        values[at + h] = values[at + h].max(best);
                    }
                }
                // A test run is read top-down, a traceback bottom-up: each later failure,
                // each frame further above the one that raised, is worth a little less.
                use crate::score::sections::{FRAME_DECAY, failure_decay, frame_depth};
                let decays = match kind {
                    crate::segment::OutputKind::TestRun => Some(failure_decay(texts_d)),
                    crate::segment::OutputKind::Traceback => Some(
                        frame_depth(texts_d)
                            .into_iter()
                            .map(|k| k.map(|k| FRAME_DECAY * k as f64))
                            .collect(),
                    ),
                    _ => None,
                };
                for (v, d) in values[range.clone()]
                    .iter_mut()
                    .zip(decays.unwrap_or_default())
                {
                    if let Some(d) = d {
                        *v /= 1.0 + d;
                    }
                }
                // A run's verdict (`FAILED (failures=51)`, `6 failed, 26 passed in 0.2s`)
                // is the one line that says how it went: first, however many failures
                // outrank each other.
                let doc_values = &mut values[range];
                let top = doc_values.iter().copied().fold(0.0, f64::max);
                for ((v, t), summary) in doc_values.iter_mut().zip(texts_d).zip(summaries) {
                    if summary && !crate::segment::output::is_test_count(t.trim()) {
                        *v = top + VERDICT_GAP;
                    }
                }
            }
        }
        if let Some(q) = &self.query {
            let names = crate::score::names::query_names(q);
            let options = crate::score::names::query_options(q);
            for (d, doc) in self.docs.iter().enumerate() {
                if doc.kind == crate::DocKind::Prose {
                    let range = self.first[d]..self.first[d] + self.chunks(d).len();
                    api_entries(&texts[range.clone()], &names, &options, &mut values[range]);
                }
            }
        }
        for (d, doc) in self.docs.iter().enumerate() {
            if doc.kind == crate::DocKind::Json {
                let range = self.first[d]..self.first[d] + self.chunks(d).len();
                json_items(
                    &doc.text,
                    self.chunks(d),
                    self.query.as_deref(),
                    &mut values[range],
                );
            }
        }
        let share = self.preset.score.neighbour_share;
        if share > 0.0 && self.query.is_some() {
            for (d, doc) in self.docs.iter().enumerate() {
                if matches!(doc.kind, crate::DocKind::Code(_)) {
                    let range = self.first[d]..self.first[d] + self.chunks(d).len();
                    lift_neighbours(self.chunks(d), share, &mut values[range]);
                }
            }
        }
        // Footers carry nothing of their own: they come with their header.
        for (v, (_, c)) in values.iter_mut().zip(self.units()) {
            if c.kind == ChunkKind::Footer {
                *v = 0.0;
            }
        }
        values
    }

    fn costs(&self, preset: &Preset, counter: &dyn TokenCounter, layout: &dyn Layout) -> DocCosts {
        let mut units = Vec::new();
        for (d, seg) in self.segmented.iter().enumerate() {
            let base = self.first[d];
            let chunks = &seg.chunks;
            // The footer of each header, to keep both together.
            let mut footer = vec![None; chunks.len()];
            for (i, c) in chunks.iter().enumerate() {
                if let (ChunkKind::Footer, Some(p)) = (c.kind, c.parent) {
                    footer[p] = Some(base + i);
                }
            }
            // A chaining line (`The above exception was the direct cause …`) says how the
            // exception above it led to the one below: without that exception it says
            // nothing, so it comes only with it.
            let causes = if let crate::DocKind::Output(_) = self.docs[d].kind {
                let texts: Vec<&str> = chunks.iter().map(|c| c.text(&self.docs[d].text)).collect();
                crate::score::salience::chain_causes(&texts)
            } else {
                vec![None; chunks.len()]
            };
            for (i, c) in chunks.iter().enumerate() {
                let mut companions: Vec<usize> = causes[i].map(|e| base + e).into_iter().collect();
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
                    tokens: seg.tokens[i],
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
        let docs = self
            .docs
            .iter()
            .enumerate()
            .map(|(d, doc)| {
                let len = self.chunks(d).len();
                let marker = if len == 0 {
                    0
                } else {
                    let none = vec![false; len];
                    let view = View {
                        doc,
                        chunks: self.chunks(d),
                        kept: &none,
                        lines: &self.lines[d],
                        replaced: None,
                        shapes: self.shapes()[d].as_ref(),
                    };
                    counter.count(&render::marker::marker(
                        &view,
                        0..len,
                        &preset.render.prose_marker,
                        &mut Default::default(),
                    )) + 1
                };
                let frame = counter.count(&(layout.open(doc, 1) + &layout.close(doc, true)));
                let short_gap = render::marker::short_gap(doc.kind);
                DocInfo {
                    first: self.first[d],
                    len,
                    marker,
                    short_gap,
                    short_marker: if short_gap > 0 {
                        counter.count(render::marker::SHORT)
                    } else {
                        0
                    },
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
}
