//! Okapi BM25 relevance of each unit to the query, with the units as the corpus.
//!
//! For unit `d` and query terms `q₁…qₙ` (from [`terms`], so code
//! identifiers match whole and by part):
//!
//! ```text
//! score(d) = Σᵢ IDF(qᵢ) · tf(qᵢ,d)·(k1+1) / (tf(qᵢ,d) + k1·(1 − b + b·|d|/avgdl))
//! IDF(q)   = ln(1 + (N − df(q) + 0.5) / (df(q) + 0.5))          (never negative)
//! ```
//!
//! `|d|` counts the unit's terms. The sum runs over query term *occurrences*, as in the
//! standard formula: a term the query repeats weighs that many times. For code this
//! matters: `get_encoding` in a query yields `get_encoding`, `get` and `encod`, and an
//! identifier the query names twice is likely central to it.
//!
//! [`Bm25Index`] holds the statistics (an inverted index: term → units and counts) so one
//! corpus can answer many queries; each query then costs only its terms' postings.

use std::collections::HashMap;

use rustc_hash::{FxHashMap, FxHashSet};

use super::Scorer;
use super::terms::{TermSplitter, terms};

/// Okapi BM25 of each unit against the query, with the units as the corpus.
///
/// `k1` (term-frequency saturation) is clamped to `[0, MAX_K1]`; `b` (length
/// normalisation) to `[0, 1]`; a non-finite value falls back to the default, so every
/// score is finite and non-negative.
#[derive(Debug, Clone)]
pub struct Bm25 {
    /// Term-frequency saturation.
    pub k1: f64,
    /// Length normalisation.
    pub b: f64,
}

/// Largest `k1` used. Past it the score no longer changes (term frequency is all but
/// unsaturated), and near `f64::MAX` `tf · (k1 + 1)` would overflow to infinity.
pub const MAX_K1: f64 = 1e9;

impl Default for Bm25 {
    fn default() -> Self {
        Self { k1: 1.2, b: 0.75 }
    }
}

impl Bm25 {
    /// Parameters made safe for the formula (see the type's documentation).
    fn sanitized(&self) -> (f64, f64) {
        let d = Self::default();
        let k1 = if self.k1.is_finite() {
            self.k1.clamp(0.0, MAX_K1)
        } else {
            d.k1
        };
        let b = if self.b.is_finite() {
            self.b.clamp(0.0, 1.0)
        } else {
            d.b
        };
        (k1, b)
    }
}

impl Scorer for Bm25 {
    fn score(&self, units: &[&str], query: Option<&str>) -> Vec<f64> {
        let query_terms = query.map(terms).unwrap_or_default();
        if query_terms.is_empty() {
            return vec![0.0; units.len()];
        }
        // One query: index only its terms, but still count every unit's full length.
        let wanted: FxHashSet<&str> = query_terms.iter().map(String::as_str).collect();
        let index = Bm25Index::build(units, |t| wanted.contains(t));
        index.score_terms(self, &query_terms)
    }
}

/// Corpus statistics for BM25: unit lengths and an inverted index.
#[derive(Debug, Clone, Default)]
pub struct Bm25Index {
    /// Number of terms in each unit.
    lens: Vec<u32>,
    avg_len: f64,
    /// term → (unit, term frequency), units ascending.
    postings: FxHashMap<String, Vec<(u32, u32)>>,
}

impl Bm25Index {
    /// Indexes every term of every unit, for scoring many queries against one corpus.
    pub fn new(units: &[&str]) -> Self {
        Self::build(units, |_| true)
    }

    /// Indexes the terms `keep` accepts; lengths always count all terms.
    fn build(units: &[&str], keep: impl Fn(&str) -> bool) -> Self {
        let mut postings: FxHashMap<String, Vec<(u32, u32)>> = FxHashMap::default();
        let mut lens = Vec::with_capacity(units.len());
        let mut splitter = TermSplitter::new();
        for (unit, text) in units.iter().enumerate() {
            // More than u32::MAX units cannot be scored meaningfully; saturate the id.
            let unit = u32::try_from(unit).unwrap_or(u32::MAX);
            let mut len = 0u32;
            splitter.for_each_term(text, |t| {
                len = len.saturating_add(1);
                if !keep(t) {
                    return;
                }
                // Units are visited in order, so this unit's posting, if any, is last.
                match postings.get_mut(t) {
                    Some(list) => match list.last_mut() {
                        Some((u, tf)) if *u == unit => *tf = tf.saturating_add(1),
                        _ => list.push((unit, 1)),
                    },
                    None => {
                        postings.insert(t.to_owned(), vec![(unit, 1)]);
                    }
                }
            });
            lens.push(len);
        }
        let total: f64 = lens.iter().map(|&l| f64::from(l)).sum();
        let avg_len = if lens.is_empty() {
            0.0
        } else {
            total / lens.len() as f64
        };
        Self {
            lens,
            avg_len,
            postings,
        }
    }

    /// Number of units in the corpus.
    pub fn len(&self) -> usize {
        self.lens.len()
    }

    /// Whether the corpus has no units.
    pub fn is_empty(&self) -> bool {
        self.lens.is_empty()
    }

    /// Number of units containing `term` (an already-extracted term, not raw text).
    pub fn doc_freq(&self, term: &str) -> usize {
        self.postings.get(term).map_or(0, Vec::len)
    }

    /// `ln(1 + (N − df + 0.5) / (df + 0.5))`: positive, larger for rarer terms.
    pub fn idf(&self, term: &str) -> f64 {
        let n = self.len() as f64;
        let df = self.doc_freq(term) as f64;
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
    }

    /// BM25 of every unit against the raw query text.
    pub fn score(&self, params: &Bm25, query: &str) -> Vec<f64> {
        self.score_terms(params, &terms(query))
    }

    /// BM25 of every unit against already-extracted query terms; each occurrence of a
    /// term counts.
    pub fn score_terms(&self, params: &Bm25, query_terms: &[String]) -> Vec<f64> {
        let (k1, b) = params.sanitized();
        let mut scores = vec![0.0; self.len()];
        // Weight repeated query terms once per occurrence, walking each posting list once.
        // Distinct terms keep query order so the float sums are the same on every run.
        let mut weights: Vec<(&str, f64)> = Vec::new();
        let mut slot: HashMap<&str, usize> = HashMap::new();
        for t in query_terms {
            let i = *slot.entry(t.as_str()).or_insert_with(|| {
                weights.push((t.as_str(), 0.0));
                weights.len() - 1
            });
            weights[i].1 += 1.0;
        }
        for (term, occurrences) in weights {
            let Some(list) = self.postings.get(term) else {
                continue;
            };
            let w = occurrences * self.idf(term);
            for &(unit, tf) in list {
                let i = unit as usize;
                let tf = f64::from(tf);
                let rel_len = if self.avg_len > 0.0 {
                    f64::from(self.lens[i]) / self.avg_len
                } else {
                    0.0
                };
                scores[i] += w * tf * (k1 + 1.0) / (tf + k1 * (1.0 - b + b * rel_len));
            }
        }
        scores
    }
}
