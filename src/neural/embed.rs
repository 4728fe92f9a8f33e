//! The sentence embedder: a BERT-class encoder in ONNX, mean-pooled over the attention
//! mask and scaled to unit length (the all-MiniLM-L6-v2 recipe).
//!
//! Throughput matters more than latency here: a repository is tens of thousands of
//! chunks. Texts are cut into windows of at most `max_length` model tokens (longer texts
//! are not truncated: their windows are pooled together), windows are sorted by length
//! and batched with little padding ([`length_batches`]), and every embedding is cached by
//! content hash.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use tokenizers::Tokenizer;

use super::cache::{EmbeddingCache, Key, Vector};
use super::encoder::{Encoder, length_batches};
use super::{ForwardStats, NeuralError, normalize};

/// How the embedder runs.
#[derive(Debug, Clone)]
pub struct EmbedderConfig {
    /// Name that keys the cache (a different model must never share entries).
    pub name: String,
    /// Most model tokens in one window, `[CLS]` and `[SEP]` included.
    pub max_length: usize,
    /// Output width.
    pub dim: usize,
    /// Most positions (windows × padded length) in one forward pass; batches also stop
    /// at a tenth of padding ([`length_batches`]).
    pub batch_positions: usize,
    /// Threads for one forward pass (0: all cores).
    pub threads: usize,
    /// Vectors kept in memory.
    pub cache_entries: usize,
    /// A folder that keeps vectors across runs.
    pub disk_cache: Option<PathBuf>,
}

impl Default for EmbedderConfig {
    fn default() -> Self {
        Self {
            name: "minilm".into(),
            max_length: 256,
            dim: 384,
            // Small batches are as fast per position as big ones on a CPU, and keep the
            // activations in cache (BENCHMARKS.md, "Neural path speed").
            batch_positions: 1024,
            threads: 0,
            cache_entries: 200_000,
            disk_cache: None,
        }
    }
}

/// A sentence embedder: texts in, unit vectors out, batched by length and cached by
/// content.
#[derive(Debug)]
pub struct Embedder {
    config: EmbedderConfig,
    /// Opened on the first text the cache misses: a warm run never loads the runtime.
    encoder: OnceLock<Encoder>,
    /// Where the encoder comes from, and a lock so two threads never open it twice.
    source: Mutex<(PathBuf, PathBuf)>,
    tokenizer: Tokenizer,
    cls: u32,
    sep: u32,
    pad: u32,
    cache: EmbeddingCache,
}

/// One window of one text: its model tokens, `[CLS]` and `[SEP]` included.
struct Window {
    text: usize,
    ids: Vec<u32>,
}

impl Embedder {
    /// Loads the `tokenizer.json`; the ONNX Runtime `library` and the `model` are opened
    /// when a text first has to be embedded (see [`Embedder::encoder_loaded`]).
    pub fn load(
        library: &Path,
        model: &Path,
        tokenizer: &Path,
        config: EmbedderConfig,
    ) -> Result<Self, NeuralError> {
        let model_err = |path: &Path, message: String| NeuralError::Model {
            path: path.to_owned(),
            message,
        };
        let mut tok =
            Tokenizer::from_file(tokenizer).map_err(|e| model_err(tokenizer, e.to_string()))?;
        // The file ships with truncation at 128 and fixed padding: windows are cut here.
        tok.with_truncation(None)
            .map_err(|e| model_err(tokenizer, e.to_string()))?;
        tok.with_padding(None);
        let special = |t: &str| {
            tok.token_to_id(t)
                .ok_or_else(|| model_err(tokenizer, format!("no {t} token")))
        };
        let (cls, sep, pad) = (special("[CLS]")?, special("[SEP]")?, special("[PAD]")?);
        if config.max_length < 3 {
            return Err(model_err(model, "max_length must be at least 3".into()));
        }
        Ok(Self {
            cache: EmbeddingCache::new(config.cache_entries, config.disk_cache.clone()),
            config,
            encoder: OnceLock::new(),
            source: Mutex::new((library.to_owned(), model.to_owned())),
            tokenizer: tok,
            cls,
            sep,
            pad,
        })
    }

    /// The model's name; part of every cache key.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// Length of the vectors.
    pub fn dim(&self) -> usize {
        self.config.dim
    }

    /// The cache, e.g. to see how much of a run it served.
    pub fn cache(&self) -> &EmbeddingCache {
        &self.cache
    }

    /// Time spent in the model so far.
    pub fn stats(&self) -> ForwardStats {
        self.encoder.get().map(Encoder::stats).unwrap_or_default()
    }

    /// Whether the ONNX session has been opened (it is, once a text missed the cache).
    pub fn encoder_loaded(&self) -> bool {
        self.encoder.get().is_some()
    }

    /// The encoder, opened on first use.
    fn encoder(&self) -> Result<&Encoder, NeuralError> {
        if let Some(e) = self.encoder.get() {
            return Ok(e);
        }
        let source = self.source.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = self.encoder.get() {
            return Ok(e);
        }
        let (library, model) = &*source;
        let encoder = Encoder::open(library, model, self.config.threads, None)?;
        Ok(self.encoder.get_or_init(|| encoder))
    }

    /// One unit vector per text, in order. Texts seen before come from the cache.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vector>, NeuralError> {
        let keys: Vec<Key> = texts.iter().map(|t| Key::new(self.name(), t)).collect();
        let mut out = self.cache.get_many(&keys, self.dim());
        // Each distinct missing text once.
        let mut missing: Vec<usize> = Vec::new();
        let mut seen = std::collections::HashMap::new();
        for (i, k) in keys.iter().enumerate() {
            if out[i].is_none() && !seen.contains_key(k) {
                seen.insert(*k, i);
                missing.push(i);
            }
        }
        if !missing.is_empty() {
            let todo: Vec<&str> = missing.iter().map(|&i| texts[i]).collect();
            let vectors = self.embed_uncached(&todo)?;
            let fresh: Vec<(Key, Vector)> = missing
                .iter()
                .zip(vectors)
                .map(|(&i, v)| (keys[i], v))
                .collect();
            self.cache.put_many(&fresh);
            for (&i, (_, v)) in missing.iter().zip(fresh) {
                out[i] = Some(v);
            }
        }
        // Repeats of a text embedded just now share its first occurrence's vector.
        (0..out.len())
            .map(|i| {
                out[i]
                    .clone()
                    .or_else(|| seen.get(&keys[i]).and_then(|&first| out[first].clone()))
                    .ok_or_else(|| NeuralError::Inference("a text was not embedded".into()))
            })
            .collect()
    }

    /// Embeds without looking at the cache.
    pub fn embed_uncached(&self, texts: &[&str]) -> Result<Vec<Vector>, NeuralError> {
        let windows = self.windows(texts)?;
        let dim = self.dim();
        // Per text: the sum of its token vectors over all windows, and their count.
        let mut sums = vec![0.0f32; texts.len() * dim];
        let mut counts = vec![0usize; texts.len()];

        let lens: Vec<usize> = windows.iter().map(|w| w.ids.len()).collect();
        for batch in length_batches(&lens, self.config.batch_positions) {
            let batch: Vec<&Window> = batch.iter().map(|&w| &windows[w]).collect();
            let pooled = self.forward(&batch)?;
            for (w, (sum, n)) in batch.iter().zip(pooled) {
                let acc = &mut sums[w.text * dim..(w.text + 1) * dim];
                acc.iter_mut().zip(&sum).for_each(|(a, s)| *a += s);
                counts[w.text] += n;
            }
        }
        Ok(sums
            .chunks_exact(dim)
            .zip(counts)
            .map(|(sum, n)| {
                let mut v: Vec<f32> = sum.iter().map(|s| s / n.max(1) as f32).collect();
                normalize(&mut v);
                Vector::from(v)
            })
            .collect())
    }

    /// The model tokens of `text`, without `[CLS]` and `[SEP]`.
    pub fn tokenize(&self, text: &str) -> Result<Vec<u32>, NeuralError> {
        let enc = self
            .tokenizer
            .encode(text, false)
            .map_err(|e| NeuralError::Tokenizer(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }

    /// The part of `text` that its first window covers: all of it when it fits in one.
    /// Embedding only that keys the cache by what was embedded.
    pub fn first_window<'a>(&self, text: &'a str) -> Result<&'a str, NeuralError> {
        let enc = self
            .tokenizer
            .encode(text, false)
            .map_err(|e| NeuralError::Tokenizer(e.to_string()))?;
        let inner = self.config.max_length - 2;
        Ok(match enc.get_offsets().get(inner - 1) {
            Some(&(_, end)) if enc.get_ids().len() > inner => text.get(..end).unwrap_or(text),
            _ => text,
        })
    }

    /// The ids of `[CLS]` and `[SEP]`, which frame every window.
    pub fn frame_ids(&self) -> (u32, u32) {
        (self.cls, self.sep)
    }

    /// Cuts each text into windows of at most `max_length` tokens with `[CLS]` and `[SEP]`.
    fn windows(&self, texts: &[&str]) -> Result<Vec<Window>, NeuralError> {
        let inner = self.config.max_length - 2;
        let mut windows = Vec::new();
        for (t, text) in texts.iter().enumerate() {
            let ids = self.tokenize(text)?;
            // An empty text still gets one window, as the reference model sees it.
            let mut pieces: Vec<&[u32]> = ids.chunks(inner).collect();
            if pieces.is_empty() {
                pieces.push(&[]);
            }
            for piece in pieces {
                let mut w = Vec::with_capacity(piece.len() + 2);
                w.push(self.cls);
                w.extend_from_slice(piece);
                w.push(self.sep);
                windows.push(Window { text: t, ids: w });
            }
        }
        Ok(windows)
    }

    /// One forward pass; per window, the sum of its token vectors and its token count.
    fn forward(&self, batch: &[&Window]) -> Result<Vec<(Vec<f32>, usize)>, NeuralError> {
        let ids: Vec<&[u32]> = batch.iter().map(|w| w.ids.as_slice()).collect();
        let out = self.encoder()?.run(&ids, self.pad)?;
        let dim = self.dim();
        if out.width != dim {
            return Err(NeuralError::Inference(format!(
                "expected vectors of {dim}, got {}",
                out.width
            )));
        }
        Ok(batch
            .iter()
            .enumerate()
            .map(|(r, w)| {
                let mut sum = vec![0.0f32; dim];
                for c in 0..w.ids.len() {
                    sum.iter_mut().zip(out.at(r, c)).for_each(|(s, x)| *s += x);
                }
                (sum, w.ids.len())
            })
            .collect())
    }
}
