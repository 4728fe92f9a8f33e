//! Surprisal as the keep score: a causal LM's −log p(token | the text before it), the
//! self-information that Selective Context and LLMLingua-1 prune by. What the model
//! predicts well adds little to what the text already says and goes first; what
//! surprises it (names, numbers, the point of a sentence) stays.
//!
//! This is the default token scorer when no LLMLingua-2 classifier is installed: the LM
//! (SmolLM2-135M) installs from a package registry, the classifier does not.

use super::LinguaError;
use super::reference::WordProb;
use super::tokens::{TokenScores, cut_windows, trim_space};
use crate::lm::CausalLm;

/// Each text's tokens and their surprisal in nats. A text longer than the model's window
/// is scored in windows cut at a sentence or line end, so that a window's first tokens,
/// which lack the context before them, start a sentence rather than split one.
pub(super) fn token_scores(lm: &CausalLm, texts: &[&str]) -> Result<Vec<TokenScores>, LinguaError> {
    let mut spans_of = Vec::with_capacity(texts.len());
    let mut windows: Vec<&[u32]> = Vec::new();
    let tokens = texts
        .iter()
        .map(|t| lm.tokenize(t))
        .collect::<Result<Vec<_>, _>>()?;
    for (text, t) in texts.iter().zip(&tokens) {
        let spans: Vec<_> = t
            .offsets
            .iter()
            .map(|&(s, e)| trim_space(text, s..e))
            .collect();
        let first = windows.len();
        for cut in cut_windows(text, &spans, lm.window()) {
            windows.push(&t.ids[cut]);
        }
        spans_of.push((spans, first..windows.len()));
    }
    // One call: the LM sorts every window of every text by length into batches.
    let logprobs = lm.logprobs(&windows)?;
    Ok(spans_of
        .into_iter()
        .map(|(spans, ws)| TokenScores {
            spans,
            values: logprobs[ws]
                .iter()
                .flat_map(|lp| lp.iter().map(|&x| -x))
                .collect(),
        })
        .collect())
}

/// A word's keep score from its tokens' surprisal: `sum`, the word's whole
/// self-information −log p(word | before) by the chain rule (Selective Context's rule,
/// the default); `mean` nats per token; `first` the first token's. The sum keeps rare
/// multi-token words (names, terms) that the mean undervalues because their later pieces
/// follow from the first: on NQ-20's gold passages it keeps the answer 6–10 points more
/// often than the mean (BENCHMARKS.md, "Surprisal pruning").
pub(super) fn word_scores(pieces: &[Vec<f32>], rule: WordProb) -> Vec<f32> {
    pieces
        .iter()
        .map(|p| {
            let s = match rule {
                WordProb::Mean => p.iter().sum::<f32>() / p.len().max(1) as f32,
                WordProb::First => p.first().copied().unwrap_or(0.0),
                WordProb::Sum => p.iter().sum::<f32>(),
            };
            keep_score(s)
        })
        .collect()
}

/// Surprisal mapped into [0, 1), monotonically: only the order matters to the cut, and
/// unlike 1 − e^(−s) it does not saturate (f32 would tie every word above ~17 nats).
fn keep_score(surprisal: f32) -> f32 {
    let s = surprisal.max(0.0);
    s / (1.0 + s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn more_surprise_is_a_higher_keep_score() {
        let pieces = vec![vec![0.1f32], vec![2.0, 0.2], vec![9.0]];
        for rule in [WordProb::Mean, WordProb::First, WordProb::Sum] {
            let s = word_scores(&pieces, rule);
            assert!(s[0] < s[1] && s[1] < s[2], "{rule:?}: {s:?}");
            assert!(s.iter().all(|&k| (0.0..1.0).contains(&k)));
        }
        // Mean and sum differ on multi-token words.
        assert!(word_scores(&[vec![3.0, 3.0]], WordProb::Sum)[0] > keep_score(3.0));
        assert!(keep_score(40.0) > keep_score(30.0));
    }
}
