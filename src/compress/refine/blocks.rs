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

use super::{Refiner, Rendering, Replaced};
use crate::compress::lm_rank::LmScores;
use crate::compress::prepared::Prepared;
use crate::lm::{Contrast, line_surprisal};
use crate::preset::FineConfig;
use crate::render::marker::indentation;
use crate::score::compose::normalise;
use crate::score::{Bm25, Scorer};
use crate::segment::ChunkKind;
use crate::select::knapsack;
use crate::tokens::TokenCounter;

/// Weight of a block's surprisal in its value, against relevance (both in 0..=1).
const SURPRISAL_WEIGHT: f64 = 0.5;
/// Value every block has, so a block the query does not mention still beats nothing.
const BASE_VALUE: f64 = 0.1;
/// Lines after the first that may still belong to a signature.
const SIGNATURE_LINES: usize = 8;

/// LongCodeZip's fine stage as a refinement: the kept functions the LM scored keep a
/// share of their tokens that grows with their gain; the level scales all shares together.
#[derive(Debug)]
pub(crate) struct BlockPruning<'a> {
    pub config: &'a FineConfig,
    pub scores: &'a LmScores,
    /// The knapsack's approximation (the preset's `select.epsilon`).
    pub epsilon: f64,
}

impl Refiner for BlockPruning<'_> {
    fn name(&self) -> &'static str {
        "block pruning"
    }

    fn rate(&self) -> f64 {
        self.config.rate
    }

    fn refine(
        &self,
        prepared: &Prepared,
        kept: &[bool],
        counter: &dyn TokenCounter,
        budget: usize,
        render: Rendering<'_>,
    ) -> Result<(crate::render::Rendered, usize), String> {
        let query = prepared.query().unwrap_or("");
        let best = self
            .scores
            .units
            .values()
            .map(|c| c.gain)
            .fold(0.0f64, f64::max);
        // (document, chunk, blocks, weight, tokens, comment) of each prunable function.
        let mut funcs = Vec::new();
        for (d, doc) in prepared.docs.iter().enumerate() {
            let crate::DocKind::Code(lang) = doc.kind else {
                continue;
            };
            for (i, c) in prepared.chunks(d).iter().enumerate() {
                let u = prepared.first[d] + i;
                let Some(contrast) = self.scores.units.get(&u) else {
                    continue;
                };
                if !kept[u] || c.kind != ChunkKind::Function {
                    continue;
                }
                let text = c.text(&doc.text);
                let blocks = blocks(text, contrast, query, self.config.spike_sigma, counter);
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
        // Level 0 keeps only fixed lines; at `top` every function is whole.
        let attempt = |scale: f64| {
            let mut replaced: Replaced = prepared.no_replacements();
            for (d, i, blocks, weight, tokens, comment) in &funcs {
                let ratio = (scale * weight / mean).min(1.0);
                let keep = choose(blocks, (ratio * *tokens as f64) as usize, self.epsilon);
                if keep.iter().all(|&k| k) {
                    continue;
                }
                let text = prepared.chunks(*d)[*i].text(&prepared.docs[*d].text);
                replaced[*d][*i] = Some(self::render(text, blocks, &keep, comment));
            }
            Some(render(&replaced))
        };
        let top = funcs.iter().map(|f| mean / f.3).fold(1.0f64, f64::max);
        super::highest_fitting(0.0, top, 12, budget, attempt).ok_or_else(|| self.no_fit())
    }
}

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
        let mut last = i;
        while i < blocks.len() && !keep[i] {
            lines += blocks[i].lines;
            last = i;
            i += 1;
        }
        // Blank lines that end the run stay: they separate what follows.
        let dropped = &text[blocks[last].span.clone()];
        let body = dropped.trim_end_matches(['\n', '\r', ' ', '\t']);
        let blank = dropped[body.len()..]
            .matches('\n')
            .count()
            .saturating_sub(1)
            .min(lines.saturating_sub(1));
        let lines = lines - blank;
        let indent = indentation(first);
        let plural = if lines == 1 { "" } else { "s" };
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&format!(
            "{indent}{comment} … {lines} line{plural} omitted\n"
        ));
        out.push_str(&"\n".repeat(blank));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tiktoken;
    use crate::lm::Tokens;

    const FUNC: &str = "@cache\ndef total(items):\n    s = 0\n    for x in items:\n        s += x\n    return s\n\n\n";

    /// One "token" per line, with the given surprisal per line.
    fn scores(text: &str, per_line: &[f32]) -> Contrast {
        let mut offsets = Vec::new();
        let mut at = 0;
        for l in text.split_inclusive('\n') {
            offsets.push((at, at + l.len()));
            at += l.len();
        }
        Contrast {
            context: Tokens {
                ids: vec![0; offsets.len()],
                offsets,
            },
            surprisal: per_line.to_vec(),
            ..Contrast::default()
        }
    }

    #[test]
    fn blocks_split_at_surprisal_peaks_after_the_signature() {
        // Lines: @cache, def, s = 0, for, s += x, return, blank, blank.
        let c = scores(FUNC, &[1.0, 1.0, 1.0, 5.0, 1.0, 4.0, 0.5, 0.5]);
        let b = blocks(FUNC, &c, "sum", 0.0, &Tiktoken::default());
        let spans: Vec<&str> = b.iter().map(|b| &FUNC[b.span.clone()]).collect();
        assert_eq!(
            spans,
            [
                "@cache\ndef total(items):\n",
                "    s = 0\n",
                "    for x in items:\n        s += x\n",
                "    return s\n\n\n"
            ]
        );
        assert_eq!(
            b.iter().map(|b| b.fixed).collect::<Vec<_>>(),
            [true, false, false, false]
        );
        // The blocks tile the function.
        assert_eq!(spans.concat(), FUNC);
    }

    #[test]
    fn choose_keeps_fixed_blocks_and_fits_the_rest() {
        let c = scores(FUNC, &[1.0, 1.0, 1.0, 5.0, 1.0, 4.0, 0.5, 0.5]);
        let b = blocks(FUNC, &c, "sum", 0.0, &Tiktoken::default());
        let keep = choose(&b, 0, 0.05);
        assert_eq!(keep, [true, false, false, false]);
        let all: usize = b.iter().map(|b| b.tokens).sum();
        assert!(choose(&b, all, 0.05).iter().all(|&k| k));
        for cap in 0..=all {
            let k = choose(&b, cap, 0.05);
            let used: usize = b
                .iter()
                .zip(&k)
                .filter(|(_, k)| **k)
                .map(|(b, _)| b.tokens)
                .sum();
            let fixed: usize = b.iter().filter(|b| b.fixed).map(|b| b.tokens).sum();
            assert!(used <= cap.max(fixed), "cap {cap}: {used}");
        }
    }

    #[test]
    fn render_marks_each_dropped_run_once_and_keeps_separating_blank_lines() {
        let c = scores(FUNC, &[1.0, 1.0, 1.0, 5.0, 1.0, 4.0, 0.5, 0.5]);
        let b = blocks(FUNC, &c, "sum", 0.0, &Tiktoken::default());
        let out = render(FUNC, &b, &[true, true, false, false], "#");
        assert_eq!(
            out,
            "@cache\ndef total(items):\n    s = 0\n    # … 3 lines omitted\n\n\n"
        );
        assert_eq!(render(FUNC, &b, &[true; 4], "#"), FUNC);
    }

    #[test]
    fn signatures_span_decorators_and_multi_line_definitions() {
        let rust = "/// Doc.\n#[inline]\npub fn f(\n    a: u32,\n) -> u32 {\n    a\n}\n";
        let lines: Vec<Range<usize>> = {
            let mut at = 0;
            rust.split_inclusive('\n')
                .map(|l| {
                    at += l.len();
                    at - l.len()..at
                })
                .collect()
        };
        assert_eq!(signature_end(rust, &lines), 5);
        assert_eq!(closing_line(rust, &lines), Some(6));
    }
}
