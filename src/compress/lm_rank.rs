//! The LM stage of the cascade: a causal LM re-ranks what the cheaper scores put first.
//!
//! Scoring every function of a repository with a 135M-parameter LM on a CPU takes
//! minutes, so the LM sees a shortlist: the units (or documents) the lexical/embedding
//! values rank highest, until their tokens reach the preset's `shortlist_tokens` (the
//! time budget; BENCHMARKS.md gives the LM's tokens per second). Each gets
//! gain = NLL(q) − NLL(q | text), LongCodeZip's and LongLLMLingua's contrastive
//! perplexity in log space.

use std::collections::HashMap;

use crate::lm::{CausalLm, Contrast, contrast};
use crate::neural::NeuralError;
use crate::preset::{LmRank, LmRankConfig};
use crate::segment::ChunkKind;

/// Units shorter than this (in target tokens) are not worth an LM pass: a brace, a
/// blank line, an import.
const MIN_UNIT_TOKENS: usize = 8;

/// What the LM said about an input.
#[derive(Debug, Default)]
pub(super) struct LmScores {
    /// Gain of each scored unit, by global unit index (units mode).
    pub units: HashMap<usize, Contrast>,
    /// Gain of each document, `None` when it was not shortlisted (documents mode).
    pub docs: Vec<Option<f64>>,
    /// LM tokens scored for this input.
    pub tokens: usize,
}

/// One unit the stage may score.
pub(super) struct Candidate<'a> {
    pub text: &'a str,
    pub kind: ChunkKind,
    /// Target tokens, an estimate of LM tokens.
    pub tokens: usize,
    pub value: f64,
}

/// Scores the best units (units mode) or documents (documents mode) within the
/// shortlist budget.
pub(super) fn score(
    lm: &CausalLm,
    config: &LmRankConfig,
    query: &str,
    units: &[Candidate<'_>],
    docs: &[(&str, f64)],
) -> Result<LmScores, NeuralError> {
    let window = lm.window();
    let mut scores = LmScores {
        docs: vec![None; docs.len()],
        ..LmScores::default()
    };
    match config.rank {
        LmRank::Units => {
            let items = units.iter().enumerate().filter_map(|(i, u)| {
                (u.kind != ChunkKind::Footer
                    && u.tokens >= MIN_UNIT_TOKENS
                    && !u.text.trim().is_empty())
                .then_some((i, u.tokens, u.value))
            });
            let (list, spent) = shortlist(items.collect(), window, config.shortlist_tokens);
            let texts: Vec<&str> = list.iter().map(|&i| units[i].text).collect();
            for (&i, c) in list.iter().zip(contrast(lm, &texts, query)?) {
                scores.units.insert(i, c);
            }
            scores.tokens = spent;
        }
        LmRank::Documents => {
            // Documents are counted by bytes here: four to a token is close enough for
            // a time budget.
            let items = docs
                .iter()
                .enumerate()
                .filter(|(_, d)| !d.0.trim().is_empty())
                .map(|(i, d)| (i, d.0.len() / 4, d.1));
            let (list, spent) = shortlist(items.collect(), window, config.shortlist_tokens);
            let texts: Vec<&str> = list.iter().map(|&i| docs[i].0).collect();
            for (&i, c) in list.iter().zip(contrast(lm, &texts, query)?) {
                scores.docs[i] = Some(c.gain);
            }
            scores.tokens = spent;
        }
    }
    Ok(scores)
}

/// Indices of `items` (index, tokens, value) to score: best value first, until their
/// tokens (each capped at the LM's window) reach `budget`; at least one.
fn shortlist(
    mut items: Vec<(usize, usize, f64)>,
    window: usize,
    budget: usize,
) -> (Vec<usize>, usize) {
    items.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
    let mut spent = 0;
    let mut out = Vec::new();
    for (i, tokens, _) in items {
        let cost = tokens.min(window);
        if spent + cost > budget && !out.is_empty() {
            break;
        }
        spent += cost;
        out.push(i);
    }
    (out, spent)
}

/// Unit values with the LM's verdict: the shortlisted units rank above everything
/// else, in order of gain (LongCodeZip ranks by the gain's order, whatever its sign: a
/// question phrased unlike code can make every context look unhelpful); the rest keep
/// their order below them. All values stay in 0..=1.
pub(super) fn unit_values(base: &[f64], scores: &LmScores) -> Vec<f64> {
    let gains = || scores.units.values().map(|c| c.gain);
    let (lo, hi) = (
        gains().fold(f64::INFINITY, f64::min),
        gains().fold(f64::NEG_INFINITY, f64::max),
    );
    base.iter()
        .enumerate()
        .map(|(i, &v)| match scores.units.get(&i) {
            Some(c) => {
                let norm = if hi > lo {
                    (c.gain - lo) / (hi - lo)
                } else {
                    1.0
                };
                0.5 + 0.5 * (0.1 + 0.9 * norm)
            }
            None => 0.5 * v,
        })
        .collect()
}

/// Token caps of documents by LM rank, LongLLMLingua's dynamic ratio: with overall
/// keep rate τ = budget / tokens, the document ranked r of n keeps at most
/// clamp(τ + spread · (1 − 2r/(n−1)), 0, 1) of its tokens, so the best document is
/// compressed least and the worst may be dropped; the caps sum to about the budget.
/// Unscored documents rank after the scored ones, in their order.
pub(super) fn doc_caps(
    gains: &[Option<f64>],
    spread: f64,
    budget: usize,
    tokens: &[usize],
) -> Vec<usize> {
    let total: usize = tokens.iter().sum();
    let rate = if total == 0 {
        1.0
    } else {
        budget as f64 / total as f64
    };
    let order = doc_order(gains);
    let n = order.len();
    let mut caps = vec![0; gains.len()];
    for (r, &d) in order.iter().enumerate() {
        let t = if n > 1 {
            1.0 - 2.0 * r as f64 / (n - 1) as f64
        } else {
            1.0
        };
        let keep = (rate + spread * t).clamp(0.0, 1.0);
        caps[d] = (keep * tokens[d] as f64).floor() as usize;
    }
    caps
}

/// Document order by LM rank, best first; unscored documents keep their order after.
pub(super) fn doc_order(gains: &[Option<f64>]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..gains.len()).collect();
    order.sort_by(|&a, &b| match (gains[a], gains[b]) {
        (Some(x), Some(y)) => y.total_cmp(&x).then(a.cmp(&b)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.cmp(&b),
    });
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_follow_rank_and_sum_to_about_the_budget() {
        let gains = [Some(0.1), Some(0.9), None, Some(-0.2), Some(0.4)];
        let tokens = [100; 5];
        let caps = doc_caps(&gains, 0.3, 125, &tokens);
        // Rank: doc 1, 4, 0, 3, then unscored 2; τ = 0.25, δτ = 0.3.
        assert_eq!(caps, vec![25, 55, 0, 10, 40]);
        assert!(caps[1] > caps[4] && caps[4] > caps[0] && caps[0] > caps[3]);
        let sum: usize = caps.iter().sum();
        assert!(sum.abs_diff(125) <= 5, "{sum}");
    }

    #[test]
    fn unit_values_put_helpful_units_first_and_stay_in_range() {
        let base = [0.9, 0.2, 0.5, 1.0];
        let mut scores = LmScores::default();
        for (i, gain) in [(1, 0.5), (2, 1.0), (3, -0.3)] {
            scores.units.insert(
                i,
                Contrast {
                    gain,
                    ..Contrast::default()
                },
            );
        }
        let v = unit_values(&base, &scores);
        assert!(v.iter().all(|x| (0.0..=1.0).contains(x)));
        // Scored units above everything, by gain; the rest keep their base order.
        assert!(v[2] > v[1] && v[1] > v[3] && v[3] > v[0]);
        assert_eq!(v[0], 0.45);
    }

    #[test]
    fn the_shortlist_takes_the_best_first_within_the_token_budget() {
        let items = vec![(0, 300, 0.1), (1, 500, 0.9), (2, 400, 0.5), (3, 2000, 0.7)];
        // Item 3 is capped at the window (1000) but would overflow: the list stops.
        assert_eq!(shortlist(items.clone(), 1000, 1000), (vec![1], 500));
        assert_eq!(shortlist(items.clone(), 1000, 2000), (vec![1, 3, 2], 1900));
        assert_eq!(
            shortlist(items.clone(), 1000, 3000),
            (vec![1, 3, 2, 0], 2200)
        );
        // At least one item, however small the budget.
        assert_eq!(shortlist(items, 1000, 1).0, vec![1]);
    }
}
