//! The sentence embedder: a BERT-class encoder in ONNX, mean-pooled over the attention
//! mask and scaled to unit length (the all-MiniLM-L6-v2 recipe).
//!
//! Throughput matters more than latency here: a repository is tens of thousands of
//! chunks. Texts are cut into windows of at most `max_length` model tokens (longer texts
//! are not truncated: their windows are pooled together), windows are sorted by length
//! and batched with padding only up to the longest window in each batch, and every
//! embedding is cached by content hash.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::Tensor;
use tokenizers::Tokenizer;

use super::cache::{EmbeddingCache, Key, Vector};
use super::{NeuralError, normalize, runtime};

/// How the embedder runs.
#[derive(Debug, Clone)]
pub struct EmbedderConfig {
    /// Name that keys the cache (a different model must never share entries).
    pub name: String,
    /// Most model tokens in one window, [CLS] and [SEP] included.
    pub max_length: usize,
    /// Output width.
    pub dim: usize,
    /// Most positions (windows × padded length) in one forward pass.
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
            // Past a few thousand positions per batch the CPU is saturated; more only
            // grows the memory of the attention matrices.
            batch_positions: 8192,
            threads: 0,
            cache_entries: 200_000,
            disk_cache: None,
        }
    }
}

/// Time spent inside the model, for the throughput benchmark.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ForwardStats {
    /// Forward passes run.
    pub batches: u64,
    /// Real (unpadded) model tokens embedded.
    pub tokens: u64,
    /// Positions computed, padding included.
    pub positions: u64,
    /// Wall time inside `Session::run`, in seconds.
    pub seconds: f64,
}

#[derive(Debug)]
pub struct Embedder {
    config: EmbedderConfig,
    session: Mutex<Session>,
    tokenizer: Tokenizer,
    /// Whether the graph takes `token_type_ids` (BERT exports do; some others do not).
    token_types: bool,
    output: String,
    cls: u32,
    sep: u32,
    pad: u32,
    cache: EmbeddingCache,
    batches: AtomicU64,
    tokens: AtomicU64,
    positions: AtomicU64,
    nanos: AtomicU64,
}

/// One window of one text: its model tokens, [CLS] and [SEP] included.
struct Window {
    text: usize,
    ids: Vec<u32>,
}

impl Embedder {
    /// Loads the ONNX Runtime `library`, the `model` and its `tokenizer.json`.
    pub fn load(
        library: &Path,
        model: &Path,
        tokenizer: &Path,
        config: EmbedderConfig,
    ) -> Result<Self, NeuralError> {
        let env = runtime::environment(library)?;
        let model_err = |path: &Path, message: String| NeuralError::Model {
            path: path.to_owned(),
            message,
        };
        let threads = match config.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        // Builder errors are not Send: keep their messages.
        let session = Session::builder(env)
            .map_err(|e| model_err(model, e.to_string()))?
            .with_optimization_level(GraphOptimizationLevel::Level3)
            .map_err(|e| model_err(model, e.to_string()))?
            .with_intra_threads(threads)
            .map_err(|e| model_err(model, e.to_string()))?
            .commit_from_file(model)
            .map_err(|e| model_err(model, e.to_string()))?;
        let names: Vec<&str> = session.inputs().iter().map(|i| i.name()).collect();
        for needed in ["input_ids", "attention_mask"] {
            if !names.contains(&needed) {
                return Err(model_err(
                    model,
                    format!("the graph has no input {needed:?} (inputs: {names:?})"),
                ));
            }
        }
        let token_types = names.contains(&"token_type_ids");
        let output = session
            .outputs()
            .first()
            .map(|o| o.name().to_owned())
            .ok_or_else(|| model_err(model, "the graph has no output".into()))?;

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
            session: Mutex::new(session),
            tokenizer: tok,
            token_types,
            output,
            cls,
            sep,
            pad,
            batches: AtomicU64::new(0),
            tokens: AtomicU64::new(0),
            positions: AtomicU64::new(0),
            nanos: AtomicU64::new(0),
        })
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    pub fn dim(&self) -> usize {
        self.config.dim
    }

    /// The cache, e.g. to see how much of a run it served.
    pub fn cache(&self) -> &EmbeddingCache {
        &self.cache
    }

    /// Time spent in the model so far.
    pub fn stats(&self) -> ForwardStats {
        ForwardStats {
            batches: self.batches.load(Ordering::Relaxed),
            tokens: self.tokens.load(Ordering::Relaxed),
            positions: self.positions.load(Ordering::Relaxed),
            seconds: self.nanos.load(Ordering::Relaxed) as f64 * 1e-9,
        }
    }

    /// One unit vector per text, in order. Texts seen before come from the cache.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vector>, NeuralError> {
        let keys: Vec<Key> = texts.iter().map(|t| Key::new(self.name(), t)).collect();
        let mut out: Vec<Option<Vector>> =
            keys.iter().map(|k| self.cache.get(k, self.dim())).collect();
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
            for (&i, v) in missing.iter().zip(self.embed_uncached(&todo)?) {
                self.cache.put(keys[i], v.clone());
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

        let mut order: Vec<usize> = (0..windows.len()).collect();
        order.sort_by_key(|&w| (windows[w].ids.len(), w));
        let mut start = 0;
        while start < order.len() {
            // Sorted by length, so the last window of a batch sets its padded length.
            let mut end = start + 1;
            while end < order.len()
                && (end + 1 - start) * windows[order[end]].ids.len() <= self.config.batch_positions
            {
                end += 1;
            }
            let batch: Vec<&Window> = order[start..end].iter().map(|&w| &windows[w]).collect();
            let pooled = self.forward(&batch)?;
            for (w, (sum, n)) in batch.iter().zip(pooled) {
                let acc = &mut sums[w.text * dim..(w.text + 1) * dim];
                acc.iter_mut().zip(&sum).for_each(|(a, s)| *a += s);
                counts[w.text] += n;
            }
            start = end;
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

    /// The model tokens of `text`, without [CLS] and [SEP].
    pub fn tokenize(&self, text: &str) -> Result<Vec<u32>, NeuralError> {
        let enc = self
            .tokenizer
            .encode(text, false)
            .map_err(|e| NeuralError::Tokenizer(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }

    /// The ids of [CLS] and [SEP], which frame every window.
    pub fn frame_ids(&self) -> (u32, u32) {
        (self.cls, self.sep)
    }

    /// Cuts each text into windows of at most `max_length` tokens with [CLS] and [SEP].
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
        let rows = batch.len();
        let len = batch.iter().map(|w| w.ids.len()).max().unwrap_or(0);
        let mut ids = vec![i64::from(self.pad); rows * len];
        let mut mask = vec![0i64; rows * len];
        for (r, w) in batch.iter().enumerate() {
            for (c, &id) in w.ids.iter().enumerate() {
                ids[r * len + c] = i64::from(id);
                mask[r * len + c] = 1;
            }
        }
        let infer = |e: ort::Error| NeuralError::Inference(e.to_string());
        let shape = [rows, len];
        let mut inputs = ort::inputs![
            "input_ids" => Tensor::from_array((shape, ids)).map_err(infer)?,
            "attention_mask" => Tensor::from_array((shape, mask.clone())).map_err(infer)?,
        ];
        if self.token_types {
            let types = Tensor::from_array((shape, vec![0i64; rows * len])).map_err(infer)?;
            inputs.push(("token_type_ids".into(), types.into()));
        }

        let started = Instant::now();
        let mut session = self.session.lock().unwrap_or_else(|e| e.into_inner());
        let outputs = session.run(inputs).map_err(infer)?;
        let forward = started.elapsed();
        let (out_shape, hidden) = outputs[self.output.as_str()]
            .try_extract_tensor::<f32>()
            .map_err(infer)?;
        let dim = self.dim();
        if out_shape.len() != 3 || out_shape[2] as usize != dim || hidden.len() != rows * len * dim
        {
            return Err(NeuralError::Inference(format!(
                "expected output [{rows}, {len}, {dim}], got {out_shape:?}"
            )));
        }
        let pooled = batch
            .iter()
            .enumerate()
            .map(|(r, w)| {
                let mut sum = vec![0.0f32; dim];
                for c in 0..w.ids.len() {
                    let h = &hidden[(r * len + c) * dim..(r * len + c + 1) * dim];
                    sum.iter_mut().zip(h).for_each(|(s, x)| *s += x);
                }
                (sum, w.ids.len())
            })
            .collect();
        drop(outputs);
        drop(session);
        self.nanos
            .fetch_add(forward.as_nanos() as u64, Ordering::Relaxed);
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.positions
            .fetch_add((rows * len) as u64, Ordering::Relaxed);
        self.tokens.fetch_add(
            batch.iter().map(|w| w.ids.len() as u64).sum(),
            Ordering::Relaxed,
        );
        Ok(pooled)
    }
}
