//! LongCodeZip's fine stage: inside each function that coarse selection keeps, blocks of
//! lines — split where the LM's per-line surprisal peaks — chosen by 0/1 knapsack under
//! the function's share of the budget. Signature lines (decorators, doc comments before
//! the definition, the definition up to its opening) and a closing brace line are always
//! kept; each run of dropped blocks becomes one comment in the language's syntax.
//!
//! The per-line surprisal comes from the coarse stage's forward pass over
//! `function + query`, so the fine stage runs no model of its own. A block's value is its
//! BM25 relevance to the query among the function's blocks, plus its mean surprisal (what
//! the LM could not predict is what a reader cannot either), times its tokens: the
//! knapsack then keeps the densest blocks.

use std::ops::Range;

use crate::lm::{Contrast, line_surprisal};
use crate::score::{Bm25, Scorer};
use crate::select::knapsack;
use crate::tokens::TokenCounter;

/// Weight of a block's surprisal in its value, against relevance (both in 0..=1).
const SURPRISAL_WEIGHT: f64 = 0.5;
/// Value every block has, so a block the query does not mention still beats nothing.
const BASE_VALUE: f64 = 0.1;
/// Lines after the first that may still belong to a signature.
const SIGNATURE_LINES: usize = 8;

/// A run of lines of one function.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Block {
    /// Byte span in the function's text, whole lines.
    pub span: Range<usize>,
    pub lines: usize,
    pub tokens: usize,
    pub value: f64,
    /// Always kept: the signature, a closing line.
    pub fixed: bool,
}

/// Cuts a function into blocks and values them.
pub(super) fn blocks(
    text: &str,
    scores: &Contrast,
    query: &str,
    spike_sigma: f64,
    counter: &dyn TokenCounter,
) -> Vec<Block> {
    let mut lines: Vec<Range<usize>> = Vec::new();
    let mut at = 0;
    for l in text.split_inclusive('\n') {
        lines.push(at..at + l.len());
        at += l.len();
    }
    if lines.is_empty() {
        return Vec::new();
    }
    let surprisal = line_surprisal(&lines, &scores.context, &scores.surprisal);
    let signature_end = signature_end(text, &lines);
    let closing = closing_line(text, &lines);
    // Spikes: local peaks above mean + σ·std over the lines that have tokens.
    let seen: Vec<f64> = surprisal.iter().copied().filter(|&s| s > 0.0).collect();
    let mean = seen.iter().sum::<f64>() / seen.len().max(1) as f64;
    let std =
        (seen.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / seen.len().max(1) as f64).sqrt();
    let spike = |i: usize| {
        let s = surprisal[i];
        s > 0.0
            && s > mean + spike_sigma * std
            && i > 0
            && s > surprisal[i - 1]
            && surprisal.get(i + 1).is_none_or(|&n| s >= n)
    };
    let mut starts = vec![0];
    for i in 1..lines.len() {
        let boundary = i == signature_end || Some(i) == closing || Some(i - 1) == closing;
        if boundary || (i > signature_end && spike(i)) {
            starts.push(i);
        }
    }
    starts.dedup();
    let mut out: Vec<Block> = Vec::new();
    for (k, &s) in starts.iter().enumerate() {
        let e = starts.get(k + 1).copied().unwrap_or(lines.len());
        let span = lines[s].start..lines[e - 1].end;
        let mean_surprisal = surprisal[s..e].iter().sum::<f64>() / (e - s).max(1) as f64;
        out.push(Block {
            tokens: counter.count(&text[span.clone()]),
            span,
            lines: e - s,
            value: mean_surprisal,
            fixed: s < signature_end || Some(s) == closing,
        });
    }
    // Values: relevance among this function's blocks, plus normalised surprisal.
    let texts: Vec<&str> = out.iter().map(|b| &text[b.span.clone()]).collect();
    let relevance = normalise(Bm25::default().score(&texts, Some(query)));
    let surprise = normalise(out.iter().map(|b| b.value).collect());
    for ((b, r), s) in out.iter_mut().zip(relevance).zip(surprise) {
        b.value = (BASE_VALUE + r + SURPRISAL_WEIGHT * s) * b.tokens.max(1) as f64;
    }
    out
}

/// The blocks to keep so the function takes at most `capacity` tokens (fixed blocks
/// always; they may exceed it alone).
pub(super) fn choose(blocks: &[Block], capacity: usize, epsilon: f64) -> Vec<bool> {
    let fixed: usize = blocks.iter().filter(|b| b.fixed).map(|b| b.tokens).sum();
    let free: Vec<usize> = (0..blocks.len()).filter(|&i| !blocks[i].fixed).collect();
    let weights: Vec<usize> = free.iter().map(|&i| blocks[i].tokens).collect();
    let values: Vec<f64> = free.iter().map(|&i| blocks[i].value).collect();
    let mut keep: Vec<bool> = blocks.iter().map(|b| b.fixed).collect();
    for k in knapsack::solve(&weights, &values, capacity.saturating_sub(fixed), epsilon) {
        keep[free[k]] = true;
    }
    keep
}

/// The function with only the kept blocks; each run of dropped blocks becomes one
/// comment line, indented like the first dropped line.
pub(super) fn render(text: &str, blocks: &[Block], keep: &[bool], comment: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < blocks.len() {
        if keep[i] {
            out.push_str(&text[blocks[i].span.clone()]);
            i += 1;
            continue;
        }
        let first = &text[blocks[i].span.clone()];
        let mut lines = 0;
        while i < blocks.len() && !keep[i] {
            lines += blocks[i].lines;
            i += 1;
        }
        let indent = indentation(first);
        let plural = if lines == 1 { "" } else { "s" };
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&format!(
            "{indent}{comment} … {lines} line{plural} omitted\n"
        ));
    }
    out
}

/// The first line after the signature: decorators, comments and the definition up to
/// the line that opens its body (`:` or `{` at its end, or `=>`).
fn signature_end(text: &str, lines: &[Range<usize>]) -> usize {
    let def = lines
        .iter()
        .position(|l| {
            let t = text[l.clone()].trim_start();
            !(t.is_empty()
                || t.starts_with('@')
                || t.starts_with('#')
                || t.starts_with("//")
                || t.starts_with("/*")
                || t.starts_with('*'))
        })
        .unwrap_or(0);
    for (i, l) in lines.iter().enumerate().skip(def).take(SIGNATURE_LINES + 1) {
        let t = text[l.clone()].trim_end();
        if t.ends_with(':') || t.ends_with('{') || t.contains("=>") || t.ends_with(';') {
            return i + 1;
        }
    }
    def + 1
}

/// The last line when it only closes the body (`}`, `};`, `end`).
fn closing_line(text: &str, lines: &[Range<usize>]) -> Option<usize> {
    let last = lines
        .iter()
        .rposition(|l| !text[l.clone()].trim().is_empty())?;
    let t = text[lines[last].clone()].trim();
    (last > 0 && matches!(t, "}" | "};" | "})" | "end")).then_some(last)
}

fn indentation(text: &str) -> &str {
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    &line[..line.len() - line.trim_start().len()]
}

fn normalise(values: Vec<f64>) -> Vec<f64> {
    super::prepared::normalise(values)
}
