//! A causal LM through ONNX Runtime: per-token log-probabilities log p(x_t | x_<t).
//!
//! The graph (made by `onnx_models/convert/gguf_llama.py`) takes `input_ids` [batch,
//! seq] and returns `logprobs` [batch, seq]. Padding goes on the right, where causal
//! attention keeps it from every real token, so no mask is needed. Every sequence starts
//! with the model's document separator, so the first real token has a context too.
//!
//! Sequences are sorted by length and batched with little padding, long ones are scored
//! in windows no longer than the configured context (the guard: a CPU cannot afford the
//! model's full 8k, and attention cost grows with its square), and results are kept by
//! content hash, because agents resend the same context and an evaluation asks many
//! questions of one repository.

use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use lru::LruCache;
use ort::session::Session;
use ort::value::Tensor;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokenizers::Tokenizer;

use crate::neural::encoder::ForwardCounters;
use crate::neural::{ForwardStats, NeuralError, runtime};

/// The ONNX graph in a causal LM's folder.
pub(crate) const MODEL_FILE: &str = "model.onnx";
/// The Hugging Face tokenizer in a causal LM's folder.
pub(crate) const TOKENIZER_FILE: &str = "tokenizer.json";
/// Special tokens and chat template in a causal LM's folder.
pub(crate) const INFO_FILE: &str = "lm.json";

/// How a causal LM runs.
#[derive(Debug, Clone)]
pub struct LmConfig {
    /// Name used in cache keys and messages.
    pub name: String,
    /// Intra-op threads (0: all cores).
    pub threads: usize,
    /// Most positions one sequence may take, the start token included (the guard).
    pub window: usize,
    /// Most positions, padding included, in one forward pass.
    pub batch_positions: usize,
    /// Sequences whose log-probs are kept in memory.
    pub cache_entries: usize,
}

impl Default for LmConfig {
    fn default() -> Self {
        Self {
            name: "lm".into(),
            threads: 0,
            window: 1024,
            batch_positions: 2048,
            cache_entries: 4096,
        }
    }
}

/// What the converter wrote about the model.
#[derive(Debug, Clone, Deserialize)]
struct Info {
    context_length: usize,
    /// The token that separates documents in training; it opens every sequence.
    #[serde(default)]
    start_token: Option<String>,
}

/// A text's model tokens and their byte spans in the text.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    /// Token ids.
    pub ids: Vec<u32>,
    /// Byte span of each token in the text.
    pub offsets: Vec<(usize, usize)>,
}

type Key = [u8; 32];

/// A loaded causal LM.
#[derive(Debug)]
pub struct CausalLm {
    config: LmConfig,
    session: Mutex<Session>,
    tokenizer: Tokenizer,
    /// Opens every sequence, and pads rows on the right (causal attention never lets a
    /// real token see it).
    start: u32,
    cache: Mutex<LruCache<Key, Arc<[f32]>>>,
    counters: ForwardCounters,
    hits: AtomicU64,
}

impl CausalLm {
    /// Loads `dir/model.onnx`, `dir/tokenizer.json` and `dir/lm.json` on the runtime
    /// `library`. The window is capped at the model's context length.
    pub fn load(library: &Path, dir: &Path, mut config: LmConfig) -> Result<Self, NeuralError> {
        let env = runtime::environment(library)?;
        let fail = |path: &Path, message: String| NeuralError::Model {
            path: path.to_owned(),
            message,
        };
        let info_path = dir.join(INFO_FILE);
        let info: Info = std::fs::read_to_string(&info_path)
            .map_err(|e| e.to_string())
            .and_then(|s| serde_json::from_str(&s).map_err(|e| e.to_string()))
            .map_err(|e| fail(&info_path, e))?;
        let tok_path = dir.join(TOKENIZER_FILE);
        let tokenizer =
            Tokenizer::from_file(&tok_path).map_err(|e| fail(&tok_path, e.to_string()))?;
        let start_name = info.start_token.as_deref().unwrap_or("<|endoftext|>");
        let start = tokenizer
            .token_to_id(start_name)
            .ok_or_else(|| fail(&tok_path, format!("no {start_name} token")))?;
        config.window = config.window.clamp(2, info.context_length.max(2));
        config.batch_positions = config.batch_positions.max(config.window);
        let model = dir.join(MODEL_FILE);
        let started = Instant::now();
        let session =
            runtime::open_session(env, &model, config.threads).map_err(|e| fail(&model, e))?;
        let counters = ForwardCounters::default();
        counters.record_load(started.elapsed());
        let has = |names: Vec<&str>, want: &str| names.contains(&want);
        if !has(
            session.inputs().iter().map(|i| i.name()).collect(),
            "input_ids",
        ) || !has(
            session.outputs().iter().map(|o| o.name()).collect(),
            "logprobs",
        ) {
            return Err(fail(
                &model,
                "not a pith causal-LM graph (input_ids → logprobs)".into(),
            ));
        }
        let cap = NonZeroUsize::new(config.cache_entries.max(1)).unwrap_or(NonZeroUsize::MIN);
        Ok(Self {
            session: Mutex::new(session),
            tokenizer,
            start,
            cache: Mutex::new(LruCache::new(cap)),
            config,
            counters,
            hits: AtomicU64::new(0),
        })
    }

    /// The model's name (its folder's).
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// Most tokens one scored sequence takes (the start token excluded).
    pub fn window(&self) -> usize {
        self.config.window - 1
    }

    /// Time spent in the model so far; `tokens` counts real tokens scored.
    pub fn stats(&self) -> ForwardStats {
        self.counters.stats()
    }

    /// Sequences served from the cache so far.
    pub fn cache_hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// The model tokens of `text` (special-token strings in it count as text too, as
    /// the tokenizer treats them) with their byte spans.
    pub fn tokenize(&self, text: &str) -> Result<Tokens, NeuralError> {
        let enc = self
            .tokenizer
            .encode(text, false)
            .map_err(|e| NeuralError::Tokenizer(e.to_string()))?;
        Ok(Tokens {
            ids: enc.get_ids().to_vec(),
            offsets: enc.get_offsets().to_vec(),
        })
    }

    /// For each sequence, log p(x_t | start, x_<t) for every token t. Sequences longer
    /// than [`CausalLm::window`] are scored in consecutive windows, each opened by the
    /// start token again. Sequences seen before come from the cache.
    pub fn logprobs(&self, seqs: &[&[u32]]) -> Result<Vec<Arc<[f32]>>, NeuralError> {
        let w = self.window();
        // Every window of every sequence: (sequence, start offset, tokens).
        let mut pieces: Vec<(usize, usize, &[u32])> = Vec::new();
        for (s, seq) in seqs.iter().enumerate() {
            for (k, piece) in seq.chunks(w).enumerate() {
                pieces.push((s, k * w, piece));
            }
        }
        let keys: Vec<Key> = pieces.iter().map(|p| self.key(p.2)).collect();
        let mut scored: Vec<Option<Arc<[f32]>>> = {
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            keys.iter().map(|k| cache.get(k).cloned()).collect()
        };
        let hits = scored.iter().filter(|s| s.is_some()).count();
        self.hits.fetch_add(hits as u64, Ordering::Relaxed);
        // The rest, shortest first, in batches with at most a tenth of padding.
        let mut todo: Vec<usize> = (0..pieces.len()).filter(|&i| scored[i].is_none()).collect();
        todo.sort_by_key(|&i| (pieces[i].2.len(), i));
        let mut at = 0;
        while at < todo.len() {
            let mut end = at + 1;
            let first = pieces[todo[at]].2.len() + 1;
            while end < todo.len() {
                let len = pieces[todo[end]].2.len() + 1;
                let rows = end - at + 1;
                if rows * len > self.config.batch_positions || len * 10 > first * 11 + 10 {
                    break;
                }
                end += 1;
            }
            let batch: Vec<&[u32]> = todo[at..end].iter().map(|&i| pieces[i].2).collect();
            for (&i, lp) in todo[at..end].iter().zip(self.forward(&batch)?) {
                let lp: Arc<[f32]> = lp.into();
                self.cache
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .put(keys[i], lp.clone());
                scored[i] = Some(lp);
            }
            at = end;
        }
        let mut out: Vec<Vec<f32>> = seqs.iter().map(|s| vec![0.0; s.len()]).collect();
        for ((s, offset, piece), lp) in pieces.iter().zip(scored) {
            if let Some(lp) = lp {
                out[*s][*offset..offset + piece.len()].copy_from_slice(&lp);
            }
        }
        Ok(out.into_iter().map(Arc::from).collect())
    }

    fn key(&self, ids: &[u32]) -> Key {
        let mut h = Sha256::new();
        h.update(self.config.name.as_bytes());
        h.update([0u8]);
        for id in ids {
            h.update(id.to_le_bytes());
        }
        h.finalize().into()
    }

    /// One forward pass: each row is `[start] + ids`, right-padded.
    fn forward(&self, batch: &[&[u32]]) -> Result<Vec<Vec<f32>>, NeuralError> {
        let rows = batch.len();
        let len = 1 + batch.iter().map(|b| b.len()).max().unwrap_or(0);
        let mut ids = vec![i64::from(self.start); rows * len];
        for (r, row) in batch.iter().enumerate() {
            ids[r * len] = i64::from(self.start);
            for (c, &id) in row.iter().enumerate() {
                ids[r * len + 1 + c] = i64::from(id);
            }
        }
        let infer = |e: ort::Error| NeuralError::Inference(e.to_string());
        let input = Tensor::from_array(([rows, len], ids)).map_err(infer)?;
        let started = Instant::now();
        let mut session = self.session.lock().unwrap_or_else(|e| e.into_inner());
        let outputs = session
            .run(ort::inputs!["input_ids" => input])
            .map_err(infer)?;
        let elapsed = started.elapsed();
        let (shape, data) = outputs["logprobs"]
            .try_extract_tensor::<f32>()
            .map_err(infer)?;
        if data.len() != rows * len {
            return Err(NeuralError::Inference(format!(
                "expected logprobs [{rows}, {len}], got {shape:?}"
            )));
        }
        let out = batch
            .iter()
            .enumerate()
            .map(|(r, row)| data[r * len + 1..r * len + 1 + row.len()].to_vec())
            .collect();
        drop(outputs);
        drop(session);
        self.counters
            .record(elapsed, rows * len, batch.iter().map(|b| b.len()).sum());
        Ok(out)
    }
}
