//! The token classifier: any ONNX token-classification export (an LLMLingua-2 model, or
//! anything shaped like one) that gives each model token a keep probability.
//!
//! A model folder holds `model.onnx` and `tokenizer.json` (an optimum export, or the
//! fixtures `scripts/lingua_fixtures.py` makes); `config.json` is read when present for
//! the position limit. Nothing is keyed on the model's name: the tokenizer's own model
//! type says how sub-words join into words.
//!
//! Speed: the reference pads every window to 512 positions; here windows are sorted by
//! length and batched with padding only up to the longest window of each batch.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokenizers::Tokenizer;

use super::LinguaError;
use super::tokens::{TokenScores, cut_windows, trim_space};
use crate::models::ModelStore;
use crate::neural::encoder::length_batches;
use crate::neural::{Encoder, ForwardStats, NeuralError, shared};

/// How the tokenizer marks words, which decides how sub-word probabilities join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// BERT's WordPiece: a piece starting with `##` continues the word before it.
    WordPiece,
    /// SentencePiece (XLM-RoBERTa's Unigram with metaspace): a piece starting with `▁`
    /// starts a word.
    SentencePiece,
    /// Anything else (byte-level BPE, …): words come from byte offsets only.
    Other,
}

/// A loaded token classifier.
#[derive(Debug)]
pub struct TokenClassifier {
    encoder: Encoder,
    tokenizer: Tokenizer,
    family: Family,
    /// Most positions in one window, the frame tokens included.
    max_len: usize,
    cls: u32,
    sep: u32,
    pad: u32,
    unk: Option<u32>,
    /// Token strings the reference skips when joining pieces into words.
    special: Vec<String>,
    /// Most positions (windows × padded length) in one forward pass.
    batch_positions: usize,
}

static CLASSIFIERS: shared::Registry<PathBuf, TokenClassifier> = std::sync::Mutex::new(None);

/// The classifier at `path` with the runtime from `store`, loaded once per process (an
/// XLM-R-large export is 2 GB; the proxy asks for it per preset and at start).
pub fn shared_classifier(
    store: &ModelStore,
    path: &Path,
) -> Result<Arc<TokenClassifier>, NeuralError> {
    let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    shared::get_or_load(&CLASSIFIERS, key, || {
        TokenClassifier::load(&store.runtime_library()?, path)
    })
}

/// Where a model folder's files are.
fn model_files(path: &Path) -> (PathBuf, PathBuf, PathBuf) {
    if path.is_file() {
        let dir = path.parent().unwrap_or(Path::new(".")).to_owned();
        return (
            path.to_owned(),
            dir.join("tokenizer.json"),
            dir.join("config.json"),
        );
    }
    (
        path.join("model.onnx"),
        path.join("tokenizer.json"),
        path.join("config.json"),
    )
}

impl TokenClassifier {
    /// Loads the ONNX Runtime `library` and the model at `path`: a folder with
    /// `model.onnx` and `tokenizer.json`, or an `.onnx` file with `tokenizer.json` beside.
    pub fn load(library: &Path, path: &Path) -> Result<Self, NeuralError> {
        let (model, tokenizer_path, config) = model_files(path);
        let model_err = |p: &Path, message: String| NeuralError::Model {
            path: p.to_owned(),
            message,
        };
        for needed in [&model, &tokenizer_path] {
            if !needed.is_file() {
                return Err(model_err(
                    needed,
                    "no such file (a token-classifier folder holds model.onnx and tokenizer.json)"
                        .into(),
                ));
            }
        }
        let encoder = Encoder::open(library, &model, 0, Some("logits"))?;

        let mut tok = Tokenizer::from_file(&tokenizer_path)
            .map_err(|e| model_err(&tokenizer_path, e.to_string()))?;
        tok.with_truncation(None)
            .map_err(|e| model_err(&tokenizer_path, e.to_string()))?;
        tok.with_padding(None);
        let family = family_of(&tokenizer_path)?;
        let find = |names: &[&str]| names.iter().find_map(|n| tok.token_to_id(n));
        let missing = |what: &str| model_err(&tokenizer_path, format!("no {what} token"));
        let cls = find(&["[CLS]", "<s>"]).ok_or_else(|| missing("[CLS] or <s>"))?;
        let sep = find(&["[SEP]", "</s>"]).ok_or_else(|| missing("[SEP] or </s>"))?;
        let pad = find(&["[PAD]", "<pad>"]).unwrap_or(0);
        let unk = find(&["[UNK]", "<unk>"]);
        let special = ["[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]"]
            .iter()
            .chain(&["<s>", "</s>", "<pad>", "<unk>", "<mask>"])
            .filter(|t| tok.token_to_id(t).is_some())
            .map(|t| (*t).to_owned())
            .collect();
        Ok(Self {
            encoder,
            tokenizer: tok,
            family,
            max_len: max_positions(&config, family),
            cls,
            sep,
            pad,
            unk,
            special,
            // On a CPU, batches past four 512-token windows run slower than smaller ones
            // (scripts/probe_batching.py: 16 × 512 as one call 12% slower than four calls
            // of four on the mBERT-size model).
            batch_positions: 2048,
        })
    }

    /// How the tokenizer marks word starts, which decides how pieces join into words.
    pub fn family(&self) -> Family {
        self.family
    }

    /// The model's tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Most positions in one window, `[CLS]` and `[SEP]` included (512 for BERT-class models).
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// The ids that frame every window.
    pub fn frame_ids(&self) -> (u32, u32) {
        (self.cls, self.sep)
    }

    /// The ids the reference frames windows with: it asks for the strings `[CLS]` and
    /// `[SEP]` whatever the model, so an XLM-R vocabulary, which lacks them, gets its
    /// unknown token at both ends (the Microsoft XLM-R model was run that way too).
    pub fn reference_frame_ids(&self) -> (u32, u32) {
        let id = |t: &str, own: u32| self.tokenizer.token_to_id(t).or(self.unk).unwrap_or(own);
        (id("[CLS]", self.cls), id("[SEP]", self.sep))
    }

    /// Whether `token` is one of the tokenizer's special tokens (`[CLS]`, `<unk>`, …).
    pub fn is_special(&self, token: &str) -> bool {
        self.special.iter().any(|s| s == token)
    }

    /// Time spent in the model so far.
    pub fn stats(&self) -> ForwardStats {
        self.encoder.stats()
    }

    /// The keep probability of every position of every window (frame tokens included):
    /// `softmax(logits)[1]`, LLMLingua-2's label "preserve".
    pub fn keep_probs(&self, windows: &[Vec<u32>]) -> Result<Vec<Vec<f32>>, NeuralError> {
        let mut out: Vec<Vec<f32>> = vec![Vec::new(); windows.len()];
        // On a CPU a batch saves little, and padding costs its full share of the forward.
        let lens: Vec<usize> = windows.iter().map(Vec::len).collect();
        for batch in length_batches(&lens, self.batch_positions) {
            let ids: Vec<&[u32]> = batch.iter().map(|&w| windows[w].as_slice()).collect();
            for (&w, probs) in batch.iter().zip(self.forward(&ids)?) {
                out[w] = probs;
            }
        }
        Ok(out)
    }

    /// Each text's tokens and keep probabilities, with all their windows (≤ 510 tokens,
    /// cut at a sentence or line end, framed by `[CLS]` … `[SEP]`) in one batch queue.
    pub(super) fn token_scores(&self, texts: &[&str]) -> Result<Vec<TokenScores>, LinguaError> {
        let max_inner = self.max_len - 2;
        let mut spans_of = Vec::with_capacity(texts.len());
        let mut windows: Vec<Vec<u32>> = Vec::new();
        for text in texts {
            let enc = self
                .tokenizer
                .encode(*text, false)
                .map_err(|e| LinguaError::Tokenizer(e.to_string()))?;
            let spans: Vec<Range<usize>> = enc
                .get_offsets()
                .iter()
                .map(|&(s, e)| trim_space(text, s..e))
                .collect();
            let ids = enc.get_ids();
            let first_window = windows.len();
            for cut in cut_windows(text, &spans, max_inner) {
                let mut w = Vec::with_capacity(cut.len() + 2);
                w.push(self.cls);
                w.extend_from_slice(&ids[cut]);
                w.push(self.sep);
                windows.push(w);
            }
            spans_of.push((spans, first_window..windows.len()));
        }
        let probs = self.keep_probs(&windows)?;
        Ok(spans_of
            .into_iter()
            .map(|(spans, ws)| TokenScores {
                spans,
                // Frame positions dropped: one probability per token, in order.
                values: probs[ws]
                    .iter()
                    .flat_map(|p| p[1..p.len().saturating_sub(1)].iter().copied())
                    .collect(),
            })
            .collect())
    }

    fn forward(&self, batch: &[&[u32]]) -> Result<Vec<Vec<f32>>, NeuralError> {
        if batch.iter().all(|w| w.is_empty()) {
            return Ok(vec![Vec::new(); batch.len()]);
        }
        let out = self.encoder.run(batch, self.pad)?;
        if out.width < 2 {
            return Err(NeuralError::Inference(format!(
                "expected logits over 2 labels, got {}",
                out.width
            )));
        }
        Ok(batch
            .iter()
            .enumerate()
            .map(|(r, w)| (0..w.len()).map(|c| keep_prob(out.at(r, c))).collect())
            .collect())
    }
}

/// `softmax(logits)[1]`, computed as torch does (shifted by the maximum).
fn keep_prob(logits: &[f32]) -> f32 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f32 = logits.iter().map(|l| (l - max).exp()).sum();
    (logits[1] - max).exp() / sum
}

/// The tokenizer's model type, read from the file (the crate hides it behind an enum).
fn family_of(tokenizer: &Path) -> Result<Family, NeuralError> {
    let text = std::fs::read_to_string(tokenizer).map_err(|e| NeuralError::Model {
        path: tokenizer.to_owned(),
        message: e.to_string(),
    })?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| NeuralError::Model {
        path: tokenizer.to_owned(),
        message: e.to_string(),
    })?;
    Ok(match json["model"]["type"].as_str() {
        Some("WordPiece") => Family::WordPiece,
        Some("Unigram") => Family::SentencePiece,
        _ => Family::Other,
    })
}

/// Positions one window may take: 512, or less when `config.json` says the model has
/// fewer (XLM-R counts two offset positions in `max_position_embeddings`).
fn max_positions(config: &Path, family: Family) -> usize {
    let declared = std::fs::read_to_string(config)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|j| j["max_position_embeddings"].as_u64())
        .map(|n| n as usize);
    let offset = if family == Family::SentencePiece {
        2
    } else {
        0
    };
    declared.map_or(512, |n| n.saturating_sub(offset).clamp(3, 512))
}
