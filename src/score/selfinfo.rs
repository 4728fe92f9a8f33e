//! Self-information of terms from corpus statistics, for query-less compression.
//!
//! A unit's value is the total surprise of its distinct terms, in bits:
//!
//! ```text
//! value(d) = Σ_{t ∈ distinct terms of d} −log₂ p(t)
//! p(t)     = (c(t) + 1) / (C + V)
//! ```
//!
//! where `c(t)` is the number of units containing `t`, `C = Σ c(t)` and `V` is the
//! number of distinct terms in the corpus (add-one smoothing). Each term counts once per
//! unit, both in `c(t)` and in `value(d)`, so a unit that repeats itself gains nothing by
//! it, and boilerplate shared by many units (imports, licence headers, `self`) is cheap.
//! Since `c(t) ≤ C` and `V ≥ 1`, `p(t) ≤ 1` and every value is finite and non-negative.
//!
//! The value is a total, so longer units are worth more; a selector that pays per token
//! should divide by the unit's cost.

use std::collections::{HashMap, HashSet};

use super::Scorer;
use super::terms::TermSplitter;

/// Query-less value: how much information a unit carries, from term statistics.
#[derive(Debug, Clone, Default)]
pub struct SelfInformation;

impl Scorer for SelfInformation {
    fn score(&self, units: &[&str], _query: Option<&str>) -> Vec<f64> {
        let mut splitter = TermSplitter::new();
        let distinct: Vec<Vec<String>> = units
            .iter()
            .map(|u| distinct_terms(&mut splitter, u))
            .collect();

        let mut unit_freq: HashMap<&str, u64> = HashMap::new();
        for set in &distinct {
            for t in set {
                *unit_freq.entry(t.as_str()).or_insert(0) += 1;
            }
        }
        let total: u64 = unit_freq.values().sum();
        let denom = (total + unit_freq.len() as u64) as f64;

        distinct
            .iter()
            .map(|set| {
                set.iter()
                    .map(|t| {
                        let c = unit_freq.get(t.as_str()).copied().unwrap_or(0);
                        -((c + 1) as f64 / denom).log2()
                    })
                    .sum::<f64>()
                    // −log₂ 1 is −0.0 for a one-term corpus; report it as 0.
                    .max(0.0)
            })
            .collect()
    }
}

/// The distinct terms of `text` in first-seen order, so float sums are reproducible.
fn distinct_terms(splitter: &mut TermSplitter, text: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    splitter.for_each_term(text, |t| {
        if !seen.contains(t) {
            seen.insert(t.to_owned());
            out.push(t.to_owned());
        }
    });
    out
}
