//! Contrastive perplexity: how much a context lowers the surprise of a question.
//!
//! LongLLMLingua ranks documents and LongCodeZip ranks functions by
//! PPL(q) − PPL(q | context); in log space this is the mean negative log-likelihood of
//! the question's tokens alone minus the same given the context. One forward pass over
//! `context + question` also gives the context's own per-token surprisal, which the
//! fine stages split and prune by.

use super::model::{CausalLm, Tokens};
use crate::neural::NeuralError;

/// What joins a context and the question: a blank line, as a prompt would have it.
const JOIN: &str = "\n\n";

/// One context's scores.
#[derive(Debug, Clone, Default)]
pub struct Contrast {
    /// NLL(q) − NLL(q | context), mean nats per question token: above zero when the
    /// context makes the question more expected.
    pub gain: f64,
    /// Mean NLL of the question's tokens given the context.
    pub question_nll: f64,
    /// The context's tokens (only those scored: a context is cut to fit the window).
    pub context: Tokens,
    /// Surprisal −log p of each of `context`'s tokens.
    pub surprisal: Vec<f32>,
}

impl Contrast {
    /// Whether the context was cut to fit the window.
    pub fn truncated(&self, text: &str) -> bool {
        self.context
            .offsets
            .last()
            .is_some_and(|o| o.1 < text.trim_end().len())
    }
}

/// The question's mean NLL on its own, and each context's [`Contrast`]. A context too
/// long for the model's window keeps its beginning (a function's signature, a
/// document's title); the question keeps at most half the window.
pub fn contrast(
    lm: &CausalLm,
    contexts: &[&str],
    question: &str,
) -> Result<Vec<Contrast>, NeuralError> {
    let window = lm.window();
    let mut q = lm.tokenize(&format!("{JOIN}{question}"))?.ids;
    q.truncate(window / 2);
    let room = window - q.len();
    let mut ctx: Vec<Tokens> = Vec::with_capacity(contexts.len());
    let mut seqs: Vec<Vec<u32>> = Vec::with_capacity(contexts.len() + 1);
    seqs.push(q.clone());
    for text in contexts {
        let mut t = lm.tokenize(text)?;
        t.ids.truncate(room);
        t.offsets.truncate(room);
        let mut seq = t.ids.clone();
        seq.extend_from_slice(&q);
        seqs.push(seq);
        ctx.push(t);
    }
    let refs: Vec<&[u32]> = seqs.iter().map(Vec::as_slice).collect();
    let lps = lm.logprobs(&refs)?;
    let mean_nll = |lp: &[f32]| -> f64 {
        if lp.is_empty() {
            0.0
        } else {
            -lp.iter().map(|&x| f64::from(x)).sum::<f64>() / lp.len() as f64
        }
    };
    // The question's first token follows the start token alone here and the context
    // there, so its own surprise is part of the gain; that is the point.
    let base = mean_nll(&lps[0]);
    Ok(ctx
        .into_iter()
        .zip(&lps[1..])
        .map(|(context, lp)| {
            let n = context.ids.len();
            let question_nll = mean_nll(&lp[n..]);
            Contrast {
                gain: base - question_nll,
                question_nll,
                surprisal: lp[..n].iter().map(|&x| -x).collect(),
                context,
            }
        })
        .collect())
}

/// Mean surprisal of each line of `text` from per-token surprisal (a token belongs to
/// the line its first byte is on). Lines without tokens get 0; `lines` are byte ranges.
pub fn line_surprisal(
    lines: &[std::ops::Range<usize>],
    tokens: &Tokens,
    surprisal: &[f32],
) -> Vec<f64> {
    let mut sum = vec![0.0f64; lines.len()];
    let mut count = vec![0usize; lines.len()];
    let mut l = 0;
    for (&(start, _), &s) in tokens.offsets.iter().zip(surprisal) {
        while l + 1 < lines.len() && start >= lines[l].end {
            l += 1;
        }
        if l < lines.len() {
            sum[l] += f64::from(s);
            count[l] += 1;
        }
    }
    sum.iter()
        .zip(&count)
        .map(|(&s, &c)| if c == 0 { 0.0 } else { s / c as f64 })
        .collect()
}
