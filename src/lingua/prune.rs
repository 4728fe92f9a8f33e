//! pith's token pruning: LLMLingua-2's classifier, or a causal LM's surprisal
//! (Selective Context / LLMLingua-1), with the reference's known faults fixed.
//!
//! Only the per-token score differs between the two models ([`Scorer`]: `classifier.rs`,
//! `surprisal.rs`); words, groups, markup and the cut are one code path.
//!
//! - The output is cut from the original text by byte offsets, so kept words keep their
//!   own spelling, whitespace and newlines (the reference detokenizes).
//! - One threshold for the whole text, found on the rendered output's real token count,
//!   so the achieved rate meets the target and a budget is never exceeded (the
//!   reference thresholds each 512-token window on its own).
//! - Protected patterns are kept or dropped whole; JSON keeps its syntax; `<pith …>`
//!   markers set a part's rate or keep it verbatim (see `markup.rs`).
//!
//! Scoring (the forward pass) and selection are separate: one [`Scored`] text can be
//! cut to many targets without running the model again.

use std::ops::Range;
use std::sync::Arc;

use super::LinguaError;
use super::classifier::TokenClassifier;
use super::markup::{self, DEFAULT_PROTECT, Markup, MarkupOptions};
use super::reference::{WordProb, word_probs};
use super::surprisal;
use super::tokens::TokenScores;
use crate::lm::CausalLm;
use crate::neural::ForwardStats;
use crate::tokens::TokenCounter;

/// How much to keep.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// This share of the tokens (LLMLingua's `rate`): 0.33 keeps about a third.
    Rate(f64),
    /// At most this many tokens of the target tokenizer.
    Tokens(usize),
}

/// Settings of pith's pruning mode.
#[derive(Debug, Clone)]
pub struct PruneOptions {
    /// Sub-word → word score; `None`: the model's own (a classifier's `Mean`, as
    /// LLMLingua-2; surprisal's `Sum`, the word's self-information).
    pub word_prob: Option<WordProb>,
    /// Regular expressions whose matches are kept or dropped whole.
    pub protect: Vec<String>,
    /// Words always kept (e.g. `?`).
    pub force_tokens: Vec<String>,
    /// Words with a digit always kept.
    pub force_digits: bool,
    /// Honour `<pith …>` markers.
    pub markers: bool,
    /// Keep JSON valid: prune only inside string values.
    pub json: bool,
}

impl PruneOptions {
    /// The settings a preset's `[prune]` section asks for.
    pub fn from_config(config: &crate::preset::PruneConfig) -> Self {
        let mut o = Self {
            word_prob: config.word_prob,
            force_tokens: config.force_tokens.clone(),
            force_digits: config.force_digits,
            ..Default::default()
        };
        if let Some(p) = &config.protect {
            o.protect = p.clone();
        }
        o
    }
}

impl Default for PruneOptions {
    fn default() -> Self {
        Self {
            word_prob: None,
            protect: DEFAULT_PROTECT.iter().map(|s| (*s).to_owned()).collect(),
            force_tokens: Vec::new(),
            force_digits: false,
            markers: true,
            json: true,
        }
    }
}

/// Where the per-token scores come from. Either way a word's score is a keep score:
/// higher is kept first.
#[derive(Debug, Clone)]
pub enum Scorer {
    /// LLMLingua-2: a token classifier's keep probability.
    Classifier(Arc<TokenClassifier>),
    /// Selective Context / LLMLingua-1: how surprising each token is to a causal LM
    /// given the text before it; the most surprising (least predictable) are kept.
    Surprisal(Arc<CausalLm>),
}

impl Scorer {
    /// Time spent in the model so far.
    pub fn stats(&self) -> ForwardStats {
        match self {
            Self::Classifier(c) => c.stats(),
            Self::Surprisal(lm) => lm.stats(),
        }
    }

    /// What scores tokens, for messages: `token classifier` or `causal LM NAME`.
    pub fn describe(&self) -> String {
        match self {
            Self::Classifier(_) => "token classifier".into(),
            Self::Surprisal(lm) => format!("causal LM {} (surprisal)", lm.name()),
        }
    }
}

/// The token pruner: a scoring model and the settings that turn its scores into cuts.
#[derive(Debug, Clone)]
pub struct TokenPruner {
    scorer: Scorer,
    options: PruneOptions,
    markup: MarkupOptions,
}

/// A pruned text.
#[derive(Debug, Clone, PartialEq)]
pub struct Pruned {
    /// The pruned text.
    pub text: String,
    /// Target-tokenizer tokens of the input (marker tags left out) and of `text`.
    pub tokens_before: usize,
    /// Target-tokenizer tokens of `text`.
    pub tokens_after: usize,
    /// Words the classifier scored, and how many were kept.
    pub words: usize,
    /// Words kept.
    pub kept_words: usize,
    /// Per scored word, in order: whether it was kept (for agreement checks).
    pub kept: Vec<bool>,
}

/// One word: a run of model tokens with no gap and no punctuation boundary inside.
#[derive(Debug, Clone)]
struct Word {
    span: Range<usize>,
    prob: f32,
}

/// Words that are kept or dropped together.
#[derive(Debug, Clone)]
struct Group {
    words: Range<usize>,
    span: Range<usize>,
    prob: f32,
    pinned: bool,
    /// Index into the segments (0: the unmarked text).
    segment: usize,
}

/// A text the classifier has scored, ready to be cut to any target.
#[derive(Debug, Clone)]
pub struct Scored {
    text: String,
    markup: Markup,
    words: Vec<Word>,
    groups: Vec<Group>,
}

impl TokenPruner {
    /// LLMLingua-2 pruning with a token classifier.
    pub fn new(
        classifier: Arc<TokenClassifier>,
        options: PruneOptions,
    ) -> Result<Self, LinguaError> {
        Self::with_scorer(Scorer::Classifier(classifier), options)
    }

    /// Surprisal pruning with a causal LM (the default when no classifier is installed).
    pub fn surprisal(lm: Arc<CausalLm>, options: PruneOptions) -> Result<Self, LinguaError> {
        Self::with_scorer(Scorer::Surprisal(lm), options)
    }

    /// Pruning with `scorer`; fails on options the scorer cannot honour (`word_prob = sum`
    /// with a classifier) and on protected patterns that do not compile.
    pub fn with_scorer(scorer: Scorer, options: PruneOptions) -> Result<Self, LinguaError> {
        if matches!(scorer, Scorer::Classifier(_)) && options.word_prob == Some(WordProb::Sum) {
            return Err(LinguaError::Unsupported(
                "word_prob = sum adds surprisal; a classifier's probabilities take mean or first"
                    .into(),
            ));
        }
        let markup = MarkupOptions::new(options.markers, options.json, &options.protect)?;
        Ok(Self {
            scorer,
            options,
            markup,
        })
    }

    /// What scores the words.
    pub fn scorer(&self) -> &Scorer {
        &self.scorer
    }

    /// Scores and cuts one text.
    pub fn prune(
        &self,
        text: &str,
        target: Target,
        counter: &dyn TokenCounter,
    ) -> Result<Pruned, LinguaError> {
        let scored = self.score(&[text])?;
        scored.into_iter().next().map_or_else(
            || Err(LinguaError::Tokenizer("nothing scored".into())),
            |s| s.select(target, counter),
        )
    }

    /// Scores texts: the model's per-token scores, then words, groups and markup.
    pub fn score(&self, texts: &[&str]) -> Result<Vec<Scored>, LinguaError> {
        let prepared = texts
            .iter()
            .map(|t| self.prepare(t))
            .collect::<Result<Vec<_>, _>>()?;
        let seen: Vec<&str> = prepared.iter().map(|p| p.2.as_str()).collect();
        let tokens = match &self.scorer {
            Scorer::Classifier(c) => c.token_scores(&seen)?,
            Scorer::Surprisal(lm) => surprisal::token_scores(lm, &seen)?,
        };
        Ok(prepared
            .into_iter()
            .zip(tokens)
            .map(|((text, markup, _), t)| self.build(text, markup, &t))
            .collect())
    }

    /// A text scored outside this pruner's model (a cached pass, another model, a
    /// fuzzer): `spans` are the tokens' byte ranges in `text`, in order, and `values`
    /// their scores in the scorer's terms (keep probability or surprisal). Spans out of
    /// range, off char boundaries or out of order are an error, not a panic.
    pub fn score_with(
        &self,
        text: &str,
        spans: &[Range<usize>],
        values: &[f32],
    ) -> Result<Scored, LinguaError> {
        if spans.len() != values.len() {
            return Err(LinguaError::Unsupported(format!(
                "{} token spans but {} scores",
                spans.len(),
                values.len()
            )));
        }
        let mut last = 0;
        for s in spans {
            if s.start > s.end
                || s.end > text.len()
                || s.start < last
                || !text.is_char_boundary(s.start)
                || !text.is_char_boundary(s.end)
            {
                return Err(LinguaError::Tokenizer(format!(
                    "token span {s:?} is not an ordered char range of a {}-byte text",
                    text.len()
                )));
            }
            last = s.start;
        }
        let (text, markup, _) = self.prepare(text)?;
        let tokens = TokenScores {
            spans: spans.to_vec(),
            values: values.to_vec(),
        };
        Ok(self.build(text, markup, &tokens))
    }

    /// The text, its markup, and what the model sees: the tags blanked to spaces, so
    /// offsets stay put and the model never reads them.
    fn prepare(&self, text: &str) -> Result<(String, Markup, String), LinguaError> {
        let markup = markup::analyse(text, &self.markup)?;
        let mut seen = text.as_bytes().to_vec();
        for t in &markup.tags {
            seen[t.clone()].fill(b' ');
        }
        let seen = String::from_utf8(seen).map_err(|e| LinguaError::Tokenizer(e.to_string()))?;
        Ok((text.to_string(), markup, seen))
    }

    /// Joins tokens into words and words into groups.
    fn build(&self, text: String, markup: Markup, tokens: &TokenScores) -> Scored {
        let mut words: Vec<Word> = Vec::new();
        let mut pieces: Vec<Vec<f32>> = Vec::new();
        let mut prev: Option<Range<usize>> = None;
        for (span, &p) in tokens.spans.iter().zip(&tokens.values) {
            if span.is_empty() {
                continue;
            }
            // Tokens may overlap (a normalizer expanded a character, a lone `▁` took the
            // next character's offsets): each byte belongs to the first token that has
            // it, and a token left with none adds its probability to the word before.
            let span = &(prev.as_ref().map_or(span.start, |q| span.start.max(q.end))..span.end);
            if span.is_empty() {
                if let Some(ps) = pieces.last_mut() {
                    ps.push(p);
                }
                continue;
            }
            let joins = prev.as_ref().is_some_and(|q| {
                q.end >= span.start && !is_punct(&text[q.clone()]) && !is_punct(&text[span.clone()])
            });
            match (joins, words.last_mut(), pieces.last_mut()) {
                (true, Some(w), Some(ps)) => {
                    w.span.end = w.span.end.max(span.end);
                    ps.push(p);
                }
                _ => {
                    words.push(Word {
                        span: span.clone(),
                        prob: 0.0,
                    });
                    pieces.push(vec![p]);
                }
            }
            prev = Some(span.clone());
        }
        let scores = match &self.scorer {
            Scorer::Classifier(_) => {
                word_probs(&pieces, self.options.word_prob.unwrap_or(WordProb::Mean))
            }
            Scorer::Surprisal(_) => {
                surprisal::word_scores(&pieces, self.options.word_prob.unwrap_or(WordProb::Sum))
            }
        };
        for (w, p) in words.iter_mut().zip(scores) {
            w.prob = p;
        }
        let groups = self.group(&text, &markup, &words);
        Scored {
            text,
            markup,
            words,
            groups,
        }
    }

    /// Words overlapping one protected span form one group; the group's probability is
    /// its best word's, so an identifier is as likely kept as its most needed piece.
    fn group(&self, text: &str, markup: &Markup, words: &[Word]) -> Vec<Group> {
        let mut groups: Vec<Group> = Vec::new();
        let mut atomic = 0;
        let mut pinned = 0;
        // The atomic span the current group extends to.
        let mut reach = 0..0;
        for (i, w) in words.iter().enumerate() {
            while atomic < markup.atomic.len() && markup.atomic[atomic].end <= w.span.start {
                atomic += 1;
            }
            let covering = markup.atomic[atomic..]
                .iter()
                .take_while(|a| a.start < w.span.end)
                .fold(None::<Range<usize>>, |acc, a| {
                    Some(acc.map_or(a.clone(), |r| r.start.min(a.start)..r.end.max(a.end)))
                });
            while pinned < markup.pinned.len() && markup.pinned[pinned].end <= w.span.start {
                pinned += 1;
            }
            let segment = markup
                .segments
                .iter()
                .position(|s| s.span.contains(&w.span.start))
                .map_or(0, |s| s + 1);
            let word_text = &text[w.span.clone()];
            let is_pinned = markup
                .pinned
                .get(pinned)
                .is_some_and(|p| p.start < w.span.end)
                || (segment > 0 && !markup.segments[segment - 1].compress)
                || self.options.force_tokens.iter().any(|f| f == word_text)
                || (self.options.force_digits && word_text.chars().any(|c| c.is_ascii_digit()));
            let extends = groups.last().is_some_and(|g| {
                g.segment == segment && w.span.start < reach.end && reach.start < w.span.end
            });
            match (extends, groups.last_mut()) {
                (true, Some(g)) => {
                    g.words.end = i + 1;
                    g.span.end = w.span.end;
                    g.prob = g.prob.max(w.prob);
                    g.pinned |= is_pinned;
                    if let Some(c) = &covering {
                        reach = reach.start.min(c.start)..reach.end.max(c.end);
                    }
                }
                _ => {
                    groups.push(Group {
                        words: i..i + 1,
                        span: w.span.clone(),
                        prob: w.prob,
                        pinned: is_pinned,
                        segment,
                    });
                    reach = covering.unwrap_or(0..0);
                }
            }
        }
        groups
    }
}

impl Scored {
    /// Each word's text and keep probability, in order.
    pub fn word_probs(&self) -> impl Iterator<Item = (&str, f32)> {
        self.words
            .iter()
            .map(|w| (&self.text[w.span.clone()], w.prob))
    }

    /// Cuts the text to `target` (see [`Cutter::select`]).
    pub fn select(
        &self,
        target: Target,
        counter: &dyn TokenCounter,
    ) -> Result<Pruned, LinguaError> {
        self.cutter(counter).select(target)
    }

    /// Makes the text ready to be cut with `counter`, for any number of targets.
    pub fn cutter<'a>(&'a self, counter: &'a dyn TokenCounter) -> Cutter<'a> {
        let full = self.render(&vec![true; self.groups.len()]);
        Cutter {
            scored: self,
            counter,
            plan: Plan::new(self, counter),
            before: counter.count(&full),
            full,
        }
    }

    /// The kept groups' text, cut from the original: kept neighbours keep the exact
    /// text between them; where words were dropped, a newline (or two, for a paragraph
    /// break) or a space stands in, and line indentation is kept.
    fn render(&self, kept_groups: &[bool]) -> String {
        let kept = self.kept_words(kept_groups);
        let text = &self.text;
        let mut out = String::with_capacity(text.len());
        let mut gap_start = 0;
        let mut dropped = false;
        for (w, &k) in self.words.iter().zip(&kept) {
            if !k {
                dropped = true;
                continue;
            }
            let gap = self.untagged(gap_start..w.span.start);
            if dropped {
                out.push_str(&separator(
                    &gap,
                    out.chars().last(),
                    text[w.span.clone()].chars().next(),
                ));
            } else {
                out.push_str(&gap);
            }
            out.push_str(&text[w.span.clone()]);
            gap_start = w.span.end;
            dropped = false;
        }
        let tail = self.untagged(gap_start..text.len());
        if dropped {
            let newlines = tail.matches('\n').count().min(2);
            if !out.is_empty() {
                out.push_str(&"\n".repeat(newlines));
            }
        } else {
            out.push_str(&tail);
        }
        out
    }

    /// Per word: whether its group is kept.
    fn kept_words(&self, kept_groups: &[bool]) -> Vec<bool> {
        let mut kept = vec![false; self.words.len()];
        for (g, &k) in self.groups.iter().zip(kept_groups) {
            if k {
                kept[g.words.clone()].fill(true);
            }
        }
        kept
    }

    /// `range` of the text without marker tags.
    fn untagged(&self, range: Range<usize>) -> String {
        let mut s = String::new();
        let mut at = range.start;
        for t in &self.markup.tags {
            if t.end <= at || t.start >= range.end {
                continue;
            }
            if t.start > at {
                s.push_str(&self.text[at..t.start]);
            }
            at = at.max(t.end);
        }
        if at < range.end {
            s.push_str(&self.text[at..range.end]);
        }
        s
    }
}

/// A scored text with its group costs and whole-text count computed once for one
/// token counter, so that cutting it to many targets (the compressor's search for the
/// rate that fits) pays only for the cuts.
#[derive(Debug)]
pub struct Cutter<'a> {
    scored: &'a Scored,
    counter: &'a dyn TokenCounter,
    plan: Plan,
    full: String,
    before: usize,
}

impl Cutter<'_> {
    /// Cuts the text to `target`. With [`Target::Tokens`] the output never has more
    /// tokens than asked; when even the words that must be kept (pinned words,
    /// `compress=false` parts) do not fit, that is an error.
    pub fn select(&self, target: Target) -> Result<Pruned, LinguaError> {
        let s = self.scored;
        let before = self.before;
        let all = vec![true; s.groups.len()];
        let result = |kept: &[bool], text: String, tokens: usize| {
            let words = s.kept_words(kept);
            Pruned {
                kept_words: words.iter().filter(|&&k| k).count(),
                words: s.words.len(),
                kept: words,
                text,
                tokens_before: before,
                tokens_after: tokens,
            }
        };
        match target {
            Target::Rate(r) if !(r > 0.0 && r.is_finite()) => Err(LinguaError::Rate(r)),
            Target::Rate(r)
                if r >= 1.0 && s.markup.segments.iter().all(|seg| seg.rate.is_none()) =>
            {
                Ok(result(&all, self.full.clone(), before))
            }
            Target::Rate(r) => {
                let goal = self.plan.goal(r, before);
                // λ scales every part's allowance; find the one whose real count meets
                // the goal, by bisection on the rendered output.
                let (mut lo, mut hi) = (0.0, self.plan.lambda_max(r));
                let mut best: Option<(usize, Vec<bool>, String, usize)> = None;
                let mut lambda = 1.0;
                for _ in 0..24 {
                    let kept = self.plan.keep(r, lambda);
                    let text = s.render(&kept);
                    let tokens = self.counter.count(&text);
                    let miss = tokens.abs_diff(goal);
                    if best.as_ref().is_none_or(|b| miss < b.0) {
                        best = Some((miss, kept, text, tokens));
                    }
                    if miss as f64 <= (goal as f64 * 0.002).max(0.5) {
                        break;
                    }
                    if tokens > goal {
                        hi = lambda;
                    } else {
                        lo = lambda;
                    }
                    lambda = (lo + hi) / 2.0;
                }
                let (_, kept, text, tokens) =
                    best.unwrap_or_else(|| (0, all.clone(), self.full.clone(), before));
                Ok(result(&kept, text, tokens))
            }
            Target::Tokens(budget) if before <= budget => {
                Ok(result(&all, self.full.clone(), before))
            }
            Target::Tokens(budget) => {
                let r = budget as f64 / before.max(1) as f64;
                let floor = self.plan.keep(r, 0.0);
                let floor_text = s.render(&floor);
                let floor_tokens = self.counter.count(&floor_text);
                if floor_tokens > budget {
                    return Err(LinguaError::BudgetTooSmall {
                        budget,
                        minimum: floor_tokens,
                    });
                }
                // The largest λ whose output fits.
                let mut fit = (floor, floor_text, floor_tokens);
                let (mut lo, mut hi) = (0.0, self.plan.lambda_max(r));
                // λ = 1 is the estimate's answer; bisection corrects it.
                let mut lambda = 1.0;
                for _ in 0..24 {
                    let kept = self.plan.keep(r, lambda);
                    let text = s.render(&kept);
                    let tokens = self.counter.count(&text);
                    if tokens <= budget {
                        lo = lambda;
                        let close = tokens as f64 >= budget as f64 * 0.998;
                        fit = (kept, text, tokens);
                        if close {
                            break;
                        }
                    } else {
                        hi = lambda;
                    }
                    lambda = (lo + hi) / 2.0;
                }
                Ok(result(&fit.0, fit.1, fit.2))
            }
        }
    }
}

/// What stands in for dropped words: their newlines (at most a blank line) with the
/// next line's indentation; else a space where the next kept word had one before it or
/// two words would fuse; else nothing (`word.` stays `word.`).
fn separator(gap: &str, before: Option<char>, after: Option<char>) -> String {
    let newlines = gap.matches('\n').count();
    if newlines > 0 {
        let indent = gap.rsplit('\n').next().unwrap_or("");
        let indent = if indent.chars().all(char::is_whitespace) {
            indent
        } else {
            ""
        };
        if before.is_none() {
            return indent.to_owned();
        }
        return format!("{}{indent}", "\n".repeat(newlines.min(2)));
    }
    let spaced = gap.ends_with(char::is_whitespace);
    let fuse =
        before.is_some_and(char::is_alphanumeric) && after.is_some_and(char::is_alphanumeric);
    if before.is_some() && (spaced || fuse) {
        " ".into()
    } else {
        String::new()
    }
}

/// Allowances per part, and the order in which each part's groups are kept.
#[derive(Debug)]
struct Plan {
    /// Per segment (0: unmarked text): its rate override, whether it compresses, its
    /// tokens, the tokens of its pinned groups, and its free groups best first.
    parts: Vec<Part>,
    costs: Vec<usize>,
    pinned: Vec<bool>,
}

#[derive(Debug)]
struct Part {
    rate: Option<f64>,
    compress: bool,
    tokens: usize,
    pinned_tokens: usize,
    order: Vec<usize>,
}

impl Plan {
    fn new(s: &Scored, counter: &dyn TokenCounter) -> Self {
        let mut parts: Vec<Part> = std::iter::once((None, true))
            .chain(s.markup.segments.iter().map(|seg| (seg.rate, seg.compress)))
            .map(|(rate, compress)| Part {
                rate,
                compress,
                tokens: 0,
                pinned_tokens: 0,
                order: Vec::new(),
            })
            .collect();
        // A group's cost: its tokens with the whitespace before it (newlines are tokens
        // too), so that the costs add up to about the text's real count.
        let mut prev_end = 0;
        let costs: Vec<usize> = s
            .groups
            .iter()
            .map(|g| {
                let gap = &s.text[prev_end.min(g.span.start)..g.span.start];
                let lead = gap.len() - gap.trim_end_matches(char::is_whitespace).len();
                prev_end = g.span.end;
                counter.count(&s.text[g.span.start - lead..g.span.end])
            })
            .collect();
        let mut pinned = Vec::with_capacity(s.groups.len());
        for (i, g) in s.groups.iter().enumerate() {
            let part = &mut parts[g.segment];
            part.tokens += costs[i];
            let pin = g.pinned || !part.compress;
            if pin {
                part.pinned_tokens += costs[i];
            } else {
                part.order.push(i);
            }
            pinned.push(pin);
        }
        for part in &mut parts {
            part.order.sort_by(|&a, &b| {
                s.groups[b]
                    .prob
                    .total_cmp(&s.groups[a].prob)
                    .then(a.cmp(&b))
            });
        }
        Self {
            parts,
            costs,
            pinned,
        }
    }

    /// Tokens the output should have at `rate`, for a text of `before` tokens (the
    /// group costs only estimate it: BPE merges differ at their seams).
    fn goal(&self, rate: f64, before: usize) -> usize {
        let estimated: usize = self.parts.iter().map(|p| p.tokens).sum();
        let scale = before as f64 / estimated.max(1) as f64;
        let goal: f64 = self
            .parts
            .iter()
            .map(|p| {
                if p.compress {
                    (p.rate.unwrap_or(rate) * p.tokens as f64).max(p.pinned_tokens as f64)
                } else {
                    p.tokens as f64
                }
            })
            .sum();
        (goal * scale).round() as usize
    }

    /// The λ at which every part keeps everything.
    fn lambda_max(&self, rate: f64) -> f64 {
        self.parts
            .iter()
            .filter(|p| p.compress && p.tokens > 0)
            .map(|p| 1.0 / p.rate.unwrap_or(rate).max(1e-6))
            .fold(1.0, f64::max)
            * 1.01
    }

    /// Each part keeps its best groups while they fit λ × its share; a threshold on
    /// probability per part, one for the whole unmarked text.
    fn keep(&self, rate: f64, lambda: f64) -> Vec<bool> {
        let mut kept = self.pinned.clone();
        for p in self.parts.iter().filter(|p| p.compress) {
            let allowance =
                lambda * p.rate.unwrap_or(rate) * p.tokens as f64 - p.pinned_tokens as f64;
            let mut spent = 0usize;
            for &g in &p.order {
                if (spent + self.costs[g]) as f64 > allowance {
                    break;
                }
                spent += self.costs[g];
                kept[g] = true;
            }
        }
        kept
    }
}

/// Whether a token is punctuation only (a word of its own, as BERT splits it).
fn is_punct(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| !c.is_alphanumeric() && !c.is_whitespace())
}
