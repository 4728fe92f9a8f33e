//! LLMLingua-2 as the `llmlingua` 0.2.2 package runs it (`compress_prompt_llmlingua2`),
//! kept for parity: the same windows, words, thresholds and output string, quirks
//! included, so that with the same weights it keeps the same words.
//!
//! The quirks, each copied on purpose (pith's own mode in `prune.rs` fixes them):
//! - windows are detokenized to strings and tokenized again before the forward pass;
//! - a window cut without a chunk-end token holds 511 pieces, so with `[CLS]` it fills
//!   all 512 positions and loses its `[SEP]`;
//! - each window has its own threshold, a percentile over its words weighted by their
//!   cl100k token counts (of the word as joined, `▁` included for SentencePiece);
//! - words are joined back with the tokenizer's decoder, so whitespace is not the
//!   original's;
//! - force tokens that are not one model token become `[NEWi]` added tokens.

use std::sync::LazyLock;

use regex::Regex;
use tokenizers::Decoder;

use super::LinguaError;
use super::classifier::{Family, TokenClassifier};
use crate::tokens::{Encoding, Tiktoken, TokenCounter};

pub use crate::preset::WordProb;

/// `compress_prompt_llmlingua2`'s keyword arguments.
#[derive(Debug, Clone)]
pub struct ReferenceParams {
    /// Share of tokens to keep when `target_token` is not positive.
    pub rate: f64,
    /// Tokens to aim for (cl100k); overrides `rate` when positive.
    pub target_token: i64,
    /// Drop whole contexts by mean word probability before pruning words.
    pub use_context_level_filter: bool,
    /// Prune words inside the contexts kept.
    pub use_token_level_filter: bool,
    /// Contexts the context filter keeps; overrides its rates when positive.
    pub target_context: i64,
    /// Share of contexts the context filter keeps.
    pub context_level_rate: f64,
    /// Tokens (cl100k) the context filter aims for; overrides its rate when positive.
    pub context_level_target_token: i64,
    /// Contexts the context filter always keeps, by index.
    pub force_context_ids: Vec<usize>,
    /// How a word's probability comes from its model tokens' probabilities.
    pub token_to_word: WordProb,
    /// Tokens always kept (e.g. `\n`, `?`).
    pub force_tokens: Vec<String>,
    /// Keep every word with a digit.
    pub force_reserve_digit: bool,
    /// Drop a force token that repeats the previous one with nothing kept between.
    pub drop_consecutive: bool,
    /// Tokens a window may be cut after.
    pub chunk_end_tokens: Vec<String>,
}

impl Default for ReferenceParams {
    fn default() -> Self {
        Self {
            rate: 0.5,
            target_token: -1,
            use_context_level_filter: false,
            use_token_level_filter: true,
            target_context: -1,
            context_level_rate: 1.0,
            context_level_target_token: -1,
            force_context_ids: Vec::new(),
            token_to_word: WordProb::Mean,
            force_tokens: Vec::new(),
            force_reserve_digit: false,
            drop_consecutive: false,
            chunk_end_tokens: vec![".".into(), "\n".into()],
        }
    }
}

/// What the reference returns, and the words with their labels.
#[derive(Debug, Clone, Default)]
pub struct ReferenceOutput {
    /// The compressed contexts joined by blank lines, as the package returns it.
    pub compressed_prompt: String,
    /// Each kept context, compressed.
    pub compressed_prompt_list: Vec<String>,
    /// cl100k tokens of the input and of the output.
    pub origin_tokens: usize,
    /// cl100k tokens of `compressed_prompt`.
    pub compressed_tokens: usize,
    /// Per context (of those the context filter kept): its words.
    pub words: Vec<Vec<String>>,
    /// Per context, one label per word: 1 = kept, 0 = dropped.
    pub labels: Vec<Vec<u8>>,
    /// Per window, in order: the word probabilities compared with its threshold.
    pub chunks: Vec<ChunkTrace>,
    /// The context filter's mean word probability per context, when it ran.
    pub context_probs: Vec<f32>,
}

/// One window's decision, for tests and debugging.
#[derive(Debug, Clone, Default)]
pub struct ChunkTrace {
    /// The window's text as fed to the model.
    pub text: String,
    /// Its words.
    pub words: Vec<String>,
    /// Each word's keep probability.
    pub word_probs: Vec<f32>,
    /// The probability a word must exceed to be kept (a percentile of the window's).
    pub threshold: f64,
    /// How many values the threshold's percentile ran over (words × their cl100k tokens).
    pub weighted: usize,
    /// Per word: 1 = kept, 0 = dropped.
    pub labels: Vec<u8>,
}

/// A window's words: the strings, the probabilities used for the decision, and the
/// unforced ones the context filter averages.
struct Words {
    words: Vec<String>,
    probs: Vec<Vec<f32>>,
    probs_no_force: Vec<Vec<f32>>,
}

/// A window's pieces as the tokenizer names them, and their keep probabilities.
type Window = (Vec<String>, Vec<f32>);

/// Runs the reference algorithm on `contexts`.
pub fn compress(
    model: &TokenClassifier,
    contexts: &[&str],
    params: &ReferenceParams,
) -> Result<ReferenceOutput, LinguaError> {
    Reference::new(model, params)?.run(contexts)
}

struct Reference<'a> {
    model: &'a TokenClassifier,
    params: &'a ReferenceParams,
    cl100k: Tiktoken,
    /// Force token → the added token standing for it, in `force_tokens` order.
    token_map: Vec<(String, String)>,
    chunk_end: Vec<String>,
    /// Windows already run, by chunk text: the context filter and the token filter see
    /// the same chunks, and the reference runs the model on them twice.
    done: std::cell::RefCell<std::collections::HashMap<String, Window>>,
}

impl<'a> Reference<'a> {
    fn new(model: &'a TokenClassifier, params: &'a ReferenceParams) -> Result<Self, LinguaError> {
        if params.token_to_word == WordProb::Sum {
            return Err(LinguaError::Unsupported(
                "token_to_word is mean or first in the reference (sum is for surprisal)".into(),
            ));
        }
        if model.family() == Family::Other {
            return Err(LinguaError::Unsupported(
                "reference mode needs a WordPiece or SentencePiece tokenizer; pith's own mode works with any".into(),
            ));
        }
        let mut token_map = Vec::new();
        for (i, t) in params.force_tokens.iter().enumerate() {
            if tokenize(model, t)?.len() != 1 {
                let added = format!("[NEW{i}]");
                if model.tokenizer().token_to_id(&added).is_none() {
                    return Err(LinguaError::Unsupported(format!(
                        "force token {t:?} is not one model token and the tokenizer has no {added} (the reference adds [NEW0..99] to the vocabulary before export)"
                    )));
                }
                token_map.push((t.clone(), added));
            }
        }
        let mut chunk_end = params.chunk_end_tokens.clone();
        for c in &params.chunk_end_tokens {
            if let Some((_, new)) = token_map.iter().find(|(t, _)| t == c) {
                chunk_end.push(new.clone());
            }
        }
        Ok(Self {
            model,
            params,
            cl100k: Tiktoken::new(Encoding::Cl100kBase),
            token_map,
            chunk_end,
            done: Default::default(),
        })
    }

    fn run(&self, contexts: &[&str]) -> Result<ReferenceOutput, LinguaError> {
        let p = self.params;
        let mut out = ReferenceOutput::default();
        let mut chunked = Vec::with_capacity(contexts.len());
        for c in contexts {
            out.origin_tokens += self.cl100k.count(c);
            let mut replaced = (*c).to_owned();
            for (ori, new) in &self.token_map {
                replaced = replaced.replace(ori.as_str(), new);
            }
            chunked.push(self.chunk_context(&replaced)?);
        }
        let mut rate = p.rate;
        let mut reserved: Vec<Vec<String>> = chunked.clone();
        // Which contexts the context filter kept, and every context's words.
        let mut context_filter: Option<(Vec<bool>, Vec<Vec<String>>)> = None;
        if contexts.len() > 1 && p.use_context_level_filter {
            let mut level_rate = p.context_level_rate;
            let mut level_target = p.context_level_target_token;
            if p.target_context <= 0 && level_rate >= 1.0 && level_target <= 0 {
                if p.target_token < 0 && rate < 1.0 {
                    level_rate = if p.use_token_level_filter {
                        (rate + 1.0) / 2.0
                    } else {
                        rate
                    };
                }
                if p.target_token >= 0 {
                    level_target = if p.use_token_level_filter {
                        p.target_token * 2
                    } else {
                        p.target_token
                    };
                }
            }
            if p.target_context >= 0 {
                level_rate = (p.target_context as f64 / contexts.len() as f64).min(1.0);
            }
            if level_target >= 0 {
                level_rate = (level_target as f64 / out.origin_tokens as f64).min(1.0);
            }
            let (context_probs, words) = self.context_probs(&chunked)?;
            let threshold = percentile(&context_probs, (100.0 * (1.0 - level_rate)) as i64);
            let keep: Vec<bool> = (0..chunked.len())
                .map(|i| {
                    f64::from(context_probs[i]) >= threshold || p.force_context_ids.contains(&i)
                })
                .collect();
            reserved = chunked
                .iter()
                .zip(&keep)
                .filter(|(_, k)| **k)
                .map(|(c, _)| c.clone())
                .collect();
            out.context_probs = context_probs;
            context_filter = Some((keep, words));
            let n_reserved: usize = reserved
                .iter()
                .flatten()
                .map(|c| self.cl100k.count(c))
                .sum();
            if p.target_token >= 0 {
                rate = (p.target_token as f64 / n_reserved as f64).min(1.0);
            }
        } else if p.target_token > 0 {
            rate = (p.target_token as f64 / out.origin_tokens as f64).min(1.0);
        }
        let reduce_rate = if p.use_token_level_filter {
            (1.0 - rate).max(0.0)
        } else {
            0.0
        };
        let compressed = self.compress_contexts(&reserved, reduce_rate, &mut out)?;
        if let Some((keep, words)) = context_filter {
            // Dropped contexts are reported with their words, all labelled 0.
            let mut kept_words = std::mem::take(&mut out.words).into_iter();
            let mut kept_labels = std::mem::take(&mut out.labels).into_iter();
            for (k, w) in keep.iter().zip(words) {
                if *k {
                    out.words.extend(kept_words.next());
                    out.labels.extend(kept_labels.next());
                } else {
                    out.labels.push(vec![0; w.len()]);
                    out.words.push(w);
                }
            }
        }
        out.compressed_tokens = compressed.iter().map(|c| self.cl100k.count(c)).sum();
        out.compressed_prompt = compressed.join("\n\n");
        out.compressed_prompt_list = compressed;
        Ok(out)
    }

    /// `__chunk_context`: windows of at most 510 pieces ending at the last chunk-end
    /// token, detokenized back to strings.
    fn chunk_context(&self, text: &str) -> Result<Vec<String>, LinguaError> {
        let max_len = self.model.max_len() - 2;
        let tokens = tokenize(self.model, text)?;
        let n = tokens.len();
        let mut chunks = Vec::new();
        let mut st = 0;
        while st < n {
            if st + max_len > n - 1 {
                chunks.push(self.detokenize(&tokens[st..n])?);
                break;
            }
            let mut ed = st + max_len;
            for j in 0..ed - st {
                if self.chunk_end.contains(&tokens[ed - j]) {
                    ed -= j;
                    break;
                }
            }
            chunks.push(self.detokenize(&tokens[st..=ed])?);
            st = ed + 1;
        }
        Ok(chunks)
    }

    fn detokenize(&self, tokens: &[String]) -> Result<String, LinguaError> {
        match self.model.tokenizer().get_decoder() {
            Some(d) => d
                .decode(tokens.to_vec())
                .map_err(|e| LinguaError::Tokenizer(e.to_string())),
            None => Ok(tokens.join(" ")),
        }
    }

    /// `TokenClfDataset` and the forward pass: each chunk tokenized again, framed, cut to
    /// the model's positions; the pieces and their keep probabilities.
    fn forward(&self, chunks: &[&String]) -> Result<Vec<Window>, LinguaError> {
        let todo: Vec<&String> = {
            let done = self.done.borrow();
            let mut todo: Vec<&String> = chunks
                .iter()
                .copied()
                .filter(|c| !done.contains_key(*c))
                .collect();
            todo.sort();
            todo.dedup();
            todo
        };
        let fresh = self.run_windows(&todo)?;
        let mut done = self.done.borrow_mut();
        for (c, w) in todo.into_iter().zip(fresh) {
            done.insert(c.clone(), w);
        }
        Ok(chunks.iter().map(|c| done[*c].clone()).collect())
    }

    fn run_windows(&self, chunks: &[&String]) -> Result<Vec<Window>, LinguaError> {
        let (cls, sep) = self.model.reference_frame_ids();
        let mut windows = Vec::with_capacity(chunks.len());
        for c in chunks {
            let enc = self
                .model
                .tokenizer()
                .encode(c.as_str(), false)
                .map_err(|e| LinguaError::Tokenizer(e.to_string()))?;
            let mut ids = Vec::with_capacity(enc.get_ids().len() + 2);
            ids.push(cls);
            ids.extend_from_slice(enc.get_ids());
            ids.push(sep);
            ids.truncate(self.model.max_len());
            windows.push(ids);
        }
        let probs = self.model.keep_probs(&windows)?;
        let vocab = self.model.tokenizer();
        Ok(windows
            .iter()
            .zip(probs)
            .map(|(ids, p)| {
                let tokens = ids
                    .iter()
                    .map(|&id| vocab.id_to_token(id).unwrap_or_default())
                    .collect();
                (tokens, p)
            })
            .collect())
    }

    /// `__get_context_prob`: each context's mean unforced word probability.
    fn context_probs(
        &self,
        chunked: &[Vec<String>],
    ) -> Result<(Vec<f32>, Vec<Vec<String>>), LinguaError> {
        let flat: Vec<&String> = chunked.iter().flatten().collect();
        let windows = self.forward(&flat)?;
        let mut per_chunk = Vec::with_capacity(windows.len());
        let mut chunk_words = Vec::with_capacity(windows.len());
        for (tokens, probs) in &windows {
            let w = self.merge(tokens, probs);
            per_chunk.push(word_probs(&w.probs_no_force, self.params.token_to_word));
            chunk_words.push(self.shown(&w.words));
        }
        let mut out = Vec::with_capacity(chunked.len());
        let mut words = Vec::with_capacity(chunked.len());
        let mut next = 0;
        for c in chunked {
            let probs: Vec<f32> = per_chunk[next..next + c.len()].concat();
            words.push(chunk_words[next..next + c.len()].concat());
            next += c.len();
            // Python's sum() over numpy float32 values stays in float32.
            let sum = probs.iter().fold(0.0f32, |a, &b| a + b);
            out.push(if probs.is_empty() {
                f32::NAN
            } else {
                sum / probs.len() as f32
            });
        }
        Ok((out, words))
    }

    /// Words as the reference reports them: without SentencePiece's `▁`.
    fn shown(&self, words: &[String]) -> Vec<String> {
        match self.model.family() {
            Family::SentencePiece => words
                .iter()
                .map(|w| w.trim_start_matches('▁').to_owned())
                .collect(),
            _ => words.to_vec(),
        }
    }

    /// `__compress`: per window, words, a weighted percentile threshold, the kept words.
    fn compress_contexts(
        &self,
        contexts: &[Vec<String>],
        reduce_rate: f64,
        out: &mut ReferenceOutput,
    ) -> Result<Vec<String>, LinguaError> {
        if reduce_rate <= 0.0 {
            return Ok(self.keep_all(contexts, out));
        }
        let p = self.params;
        let flat: Vec<&String> = contexts.iter().flatten().collect();
        let windows = self.forward(&flat)?;
        let mut compressed_chunks = Vec::with_capacity(windows.len());
        let mut chunk_words = Vec::with_capacity(windows.len());
        let mut chunk_labels = Vec::with_capacity(windows.len());
        for ((tokens, probs), text) in windows.iter().zip(&flat) {
            let merged = self.merge(tokens, probs);
            let words = merged.words;
            let mut probs = word_probs(&merged.probs, p.token_to_word);
            if p.drop_consecutive {
                let threshold = percentile(&probs, (100.0 * reduce_rate) as i64);
                let mut between = false;
                let mut prev: Option<&String> = None;
                for (i, word) in words.iter().enumerate() {
                    if p.force_tokens.contains(word) {
                        if between {
                            between = false;
                        } else if prev == Some(word) {
                            probs[i] = 0.0;
                        }
                        prev = Some(word);
                    } else {
                        between |= f64::from(probs[i]) > threshold;
                    }
                }
            }
            let mut weighted = Vec::new();
            for (word, &prob) in words.iter().zip(&probs) {
                let n = self.cl100k.count(word);
                weighted.extend(std::iter::repeat_n(prob, n));
            }
            let threshold = percentile(&weighted, (100.0 * reduce_rate + 1.0) as i64);
            let mut keep = Vec::new();
            let mut labels = Vec::with_capacity(words.len());
            for (word, &prob) in words.iter().zip(&probs) {
                let prob = f64::from(prob);
                if prob > threshold || (threshold == 1.0 && prob == threshold) {
                    if p.drop_consecutive
                        && p.force_tokens.contains(word)
                        && keep.last() == Some(word)
                    {
                        labels.push(0);
                    } else {
                        keep.push(word.clone());
                        labels.push(1);
                    }
                } else {
                    labels.push(0);
                }
            }
            compressed_chunks.push(self.detokenize(&keep)?);
            let shown = self.shown(&words);
            out.chunks.push(ChunkTrace {
                text: (*text).clone(),
                words: shown.clone(),
                word_probs: probs,
                threshold,
                weighted: weighted.len(),
                labels: labels.clone(),
            });
            chunk_words.push(shown);
            chunk_labels.push(labels);
        }
        let mut result = Vec::with_capacity(contexts.len());
        let mut next = 0;
        for c in contexts {
            let range = next..next + c.len();
            next += c.len();
            result.push(compressed_chunks[range.clone()].concat());
            out.words.push(chunk_words[range.clone()].concat());
            out.labels.push(chunk_labels[range].concat());
        }
        Ok(result)
    }

    /// `reduce_rate <= 0`: every context whole, words by the reference's regex.
    fn keep_all(&self, contexts: &[Vec<String>], out: &mut ReferenceOutput) -> Vec<String> {
        let mut result = Vec::with_capacity(contexts.len());
        for chunks in contexts {
            let mut words = Vec::new();
            let mut joined = String::new();
            for chunk in chunks {
                let mut c = chunk.clone();
                for (ori, new) in &self.token_map {
                    c = c.replace(new.as_str(), ori);
                }
                words.extend(reference_words(&c));
                joined.push_str(&c);
            }
            out.labels.push(vec![1; words.len()]);
            out.words.push(words);
            result.push(joined);
        }
        result
    }

    /// `__merge_token_to_word`.
    fn merge(&self, tokens: &[String], probs: &[f32]) -> Words {
        let p = self.params;
        let digit = |t: &str| p.force_reserve_digit && t.chars().any(|c| c.is_ascii_digit());
        let mut w = Words {
            words: Vec::new(),
            probs: Vec::new(),
            probs_no_force: Vec::new(),
        };
        // The reference reuses the last word start's unforced probability for the
        // pieces after it (a stale variable); copied so context means match.
        let mut prob_no_force = 0.0f32;
        for (token, &prob) in tokens.iter().zip(probs) {
            if self.model.is_special(token) {
                continue;
            }
            if self.begins_word(token) || w.words.is_empty() {
                let pure = self.pure(token);
                prob_no_force = prob;
                let forced = p.force_tokens.iter().any(|f| f == pure)
                    || self.token_map.iter().any(|(_, n)| n == pure);
                let prob = if forced { 1.0 } else { prob };
                let mut word = token.clone();
                for (ori, new) in &self.token_map {
                    word = word.replace(new.as_str(), ori);
                }
                w.probs.push(vec![if digit(&word) { 1.0 } else { prob }]);
                w.probs_no_force.push(vec![prob_no_force]);
                w.words.push(word);
            } else if let (Some(last), Some(lp), Some(lnf)) = (
                w.words.last_mut(),
                w.probs.last_mut(),
                w.probs_no_force.last_mut(),
            ) {
                last.push_str(self.pure(token));
                lp.push(if digit(token) { 1.0 } else { prob });
                lnf.push(prob_no_force);
            }
        }
        w
    }

    /// `is_begin_of_new_word`.
    fn begins_word(&self, token: &str) -> bool {
        let forced = |t: &str| {
            self.params.force_tokens.iter().any(|f| f == t)
                || self.token_map.iter().any(|(_, n)| n == t)
        };
        match self.model.family() {
            Family::WordPiece => forced(self.pure(token)) || !token.starts_with("##"),
            // `token in string.punctuation` is a substring test in Python.
            _ => PUNCTUATION.contains(token) || forced(token) || token.starts_with('▁'),
        }
    }

    /// `get_pure_token`: `lstrip` of the marker's characters.
    fn pure<'t>(&self, token: &'t str) -> &'t str {
        match self.model.family() {
            Family::WordPiece => token.trim_start_matches('#'),
            _ => token.trim_start_matches('▁'),
        }
    }
}

/// Python's `string.punctuation`.
const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

/// A window's pieces as the tokenizer names them (`tokenizer.tokenize`).
fn tokenize(model: &TokenClassifier, text: &str) -> Result<Vec<String>, LinguaError> {
    let enc = model
        .tokenizer()
        .encode(text, false)
        .map_err(|e| LinguaError::Tokenizer(e.to_string()))?;
    Ok(enc.get_tokens().to_vec())
}

/// `__token_prob_to_word_prob`, in float32 as the reference's numpy values are.
pub(super) fn word_probs(pieces: &[Vec<f32>], mode: WordProb) -> Vec<f32> {
    pieces
        .iter()
        .map(|p| match mode {
            WordProb::Mean => p.iter().fold(0.0f32, |a, &b| a + b) / p.len().max(1) as f32,
            WordProb::First => p.first().copied().unwrap_or(0.0),
            WordProb::Sum => p.iter().fold(0.0f32, |a, &b| a + b),
        })
        .collect()
}

/// `numpy.percentile(values, q)` with its default linear interpolation (NaN when empty).
pub fn percentile(values: &[f32], q: i64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted: Vec<f64> = values.iter().map(|&v| f64::from(v)).collect();
    sorted.sort_by(f64::total_cmp);
    let q = (q as f64 / 100.0).clamp(0.0, 1.0);
    let virtual_index = (sorted.len() - 1) as f64 * q;
    let lo = virtual_index.floor();
    let t = virtual_index - lo;
    let lo = lo as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    let (a, b) = (sorted[lo], sorted[hi]);
    // numpy's _lerp: from the nearer end, for accuracy.
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

/// The reference's word split when nothing is compressed.
fn reference_words(text: &str) -> Vec<String> {
    static WORDS: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"\b\w+\b|[<>=/!@#$%^&*()?":{}|\\`~;_+-]"#).expect("a constant pattern")
    });
    let re = &*WORDS;
    re.find_iter(text).map(|m| m.as_str().to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_matches_numpy_linear() {
        // numpy.percentile([1, 2, 3, 4], q) for q = 0, 25, 50, 68, 100.
        let v = [4.0f32, 1.0, 3.0, 2.0];
        assert_eq!(percentile(&v, 0), 1.0);
        assert_eq!(percentile(&v, 25), 1.75);
        assert_eq!(percentile(&v, 50), 2.5);
        assert!((percentile(&v, 68) - 3.04).abs() < 1e-12);
        assert_eq!(percentile(&v, 100), 4.0);
        assert!(percentile(&[], 50).is_nan());
    }

    #[test]
    fn reference_words_split_like_python() {
        assert_eq!(
            reference_words("Hello, world! a_b (x)"),
            ["Hello", "world", "!", "a_b", "(", "x", ")"]
        );
    }

    #[test]
    fn word_probs_mean_and_first() {
        let p = vec![vec![0.5f32, 0.25], vec![1.0]];
        assert_eq!(word_probs(&p, WordProb::Mean), [0.375, 1.0]);
        assert_eq!(word_probs(&p, WordProb::First), [0.5, 1.0]);
    }
}
