//! One BERT-class ONNX graph and its forward pass, shared by the sentence embedder and
//! the token classifier: the session, which inputs the graph takes, padding a batch of
//! windows to its longest one, and the time spent inside the model.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use ort::session::Session;
use ort::value::Tensor;

use super::{NeuralError, runtime};

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
    /// Wall time opening the model's session (reading and optimising the graph), in
    /// seconds; the runtime library's own load is [`super::runtime::load_time`].
    pub load_seconds: f64,
}

/// Running totals behind [`ForwardStats`], shared by every model that times its passes.
#[derive(Debug, Default)]
pub(crate) struct ForwardCounters {
    batches: AtomicU64,
    tokens: AtomicU64,
    positions: AtomicU64,
    nanos: AtomicU64,
    load_nanos: AtomicU64,
}

impl ForwardCounters {
    /// Counts one forward pass of `elapsed` over `positions`, `tokens` of them real.
    pub fn record(&self, elapsed: std::time::Duration, positions: usize, tokens: usize) {
        self.nanos
            .fetch_add(elapsed.as_nanos() as u64, Ordering::Relaxed);
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.positions
            .fetch_add(positions as u64, Ordering::Relaxed);
        self.tokens.fetch_add(tokens as u64, Ordering::Relaxed);
    }

    /// Counts the time the model took to open.
    pub fn record_load(&self, elapsed: std::time::Duration) {
        self.load_nanos
            .fetch_add(elapsed.as_nanos() as u64, Ordering::Relaxed);
    }

    /// The totals so far.
    pub fn stats(&self) -> ForwardStats {
        ForwardStats {
            batches: self.batches.load(Ordering::Relaxed),
            tokens: self.tokens.load(Ordering::Relaxed),
            positions: self.positions.load(Ordering::Relaxed),
            seconds: self.nanos.load(Ordering::Relaxed) as f64 * 1e-9,
            load_seconds: self.load_nanos.load(Ordering::Relaxed) as f64 * 1e-9,
        }
    }
}

/// A loaded encoder graph.
#[derive(Debug)]
pub struct Encoder {
    session: Mutex<Session>,
    /// Whether the graph takes `token_type_ids` (BERT exports do; XLM-R's do not).
    token_types: bool,
    output: String,
    counters: ForwardCounters,
}

/// One forward pass's output: `[rows, len, width]`, row-major.
#[derive(Debug)]
pub struct Output {
    /// Positions per row.
    pub len: usize,
    /// Values per position.
    pub width: usize,
    /// `rows × len × width` values.
    pub data: Vec<f32>,
}

impl Output {
    /// The vector of position `c` of row `r`.
    pub fn at(&self, r: usize, c: usize) -> &[f32] {
        &self.data[(r * self.len + c) * self.width..][..self.width]
    }
}

impl Encoder {
    /// Opens `model` on the runtime `library` with `threads` intra-op threads (0: all
    /// cores); the output read is `output` when the graph has it, else its first.
    pub fn open(
        library: &Path,
        model: &Path,
        threads: usize,
        output: Option<&str>,
    ) -> Result<Self, NeuralError> {
        let env = runtime::environment(library)?;
        let model_err = |message: String| NeuralError::Model {
            path: model.to_owned(),
            message,
        };
        let started = Instant::now();
        let session = runtime::open_session(env, model, threads).map_err(model_err)?;
        let counters = ForwardCounters::default();
        counters.record_load(started.elapsed());
        let names: Vec<&str> = session.inputs().iter().map(|i| i.name()).collect();
        for needed in ["input_ids", "attention_mask"] {
            if !names.contains(&needed) {
                return Err(model_err(format!(
                    "the graph has no input {needed:?} (inputs: {names:?})"
                )));
            }
        }
        let token_types = names.contains(&"token_type_ids");
        let outputs: Vec<String> = session
            .outputs()
            .iter()
            .map(|o| o.name().to_owned())
            .collect();
        let output = output
            .and_then(|want| outputs.iter().find(|n| *n == want))
            .or(outputs.first())
            .cloned()
            .ok_or_else(|| model_err("the graph has no output".into()))?;
        Ok(Self {
            session: Mutex::new(session),
            token_types,
            output,
            counters,
        })
    }

    /// Time spent in the model so far.
    pub fn stats(&self) -> ForwardStats {
        self.counters.stats()
    }

    /// One forward pass over `batch`, padded with `pad` to its longest window.
    pub fn run(&self, batch: &[&[u32]], pad: u32) -> Result<Output, NeuralError> {
        let rows = batch.len();
        let len = batch.iter().map(|w| w.len()).max().unwrap_or(0);
        if rows == 0 || len == 0 {
            return Ok(Output {
                len,
                width: 0,
                data: Vec::new(),
            });
        }
        let mut ids = vec![i64::from(pad); rows * len];
        let mut mask = vec![0i64; rows * len];
        for (r, w) in batch.iter().enumerate() {
            for (c, &id) in w.iter().enumerate() {
                ids[r * len + c] = i64::from(id);
                mask[r * len + c] = 1;
            }
        }
        let infer = |e: ort::Error| NeuralError::Inference(e.to_string());
        let shape = [rows, len];
        let mut inputs = ort::inputs![
            "input_ids" => Tensor::from_array((shape, ids)).map_err(infer)?,
            "attention_mask" => Tensor::from_array((shape, mask)).map_err(infer)?,
        ];
        if self.token_types {
            let types = Tensor::from_array((shape, vec![0i64; rows * len])).map_err(infer)?;
            inputs.push(("token_type_ids".into(), types.into()));
        }
        let started = Instant::now();
        let mut session = self.session.lock().unwrap_or_else(|e| e.into_inner());
        let outputs = session.run(inputs).map_err(infer)?;
        let forward = started.elapsed();
        let (out_shape, data) = outputs[self.output.as_str()]
            .try_extract_tensor::<f32>()
            .map_err(infer)?;
        let width = out_shape.last().copied().unwrap_or(0).max(0) as usize;
        if out_shape.len() != 3 || data.len() != rows * len * width {
            return Err(NeuralError::Inference(format!(
                "expected an output [{rows}, {len}, width], got {out_shape:?}"
            )));
        }
        let data = data.to_vec();
        drop(outputs);
        drop(session);
        self.counters
            .record(forward, rows * len, batch.iter().map(|w| w.len()).sum());
        Ok(Output { len, width, data })
    }
}

/// Groups windows of lengths `lens` into forward passes: indices sorted by length (ties by
/// index), each batch at most `max_positions` positions once padded to its longest window
/// (a longer window runs alone) and with padding at most a tenth of its real positions. On a CPU a
/// bigger batch saves almost nothing per position, while every padded position costs as
/// much as a real one and attention grows with the square of the padded length; small
/// batches also keep the activations in cache.
pub fn length_batches(lens: &[usize], max_positions: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lens.len()).collect();
    order.sort_by_key(|&w| (lens[w], w));
    let mut batches = Vec::new();
    let mut start = 0;
    while start < order.len() {
        // Sorted by length: the last window of a batch sets its padded length.
        let mut end = start + 1;
        let mut real = lens[order[start]];
        while end < order.len() {
            let len = lens[order[end]];
            let padded = (end + 1 - start) * len;
            if padded > max_positions || padded * 10 > (real + len) * 11 {
                break;
            }
            real += len;
            end += 1;
        }
        batches.push(order[start..end].to_vec());
        start = end;
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn padded(lens: &[usize], batch: &[usize]) -> usize {
        batch.len() * batch.iter().map(|&w| lens[w]).max().unwrap_or(0)
    }

    #[test]
    fn short_sentences_share_a_batch_and_long_windows_do_not() {
        let lens = [20, 22, 21, 256, 20, 200];
        let b = length_batches(&lens, 1024);
        assert_eq!(b, vec![vec![0, 4, 2, 1], vec![5], vec![3]]);
    }

    #[test]
    fn a_window_longer_than_a_batch_runs_alone() {
        assert_eq!(length_batches(&[2000, 3], 1024), vec![vec![1], vec![0]]);
        assert!(length_batches(&[], 1024).is_empty());
    }

    #[test]
    fn equal_lengths_fill_a_batch_to_its_limit() {
        let b = length_batches(&[64; 40], 1024);
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), vec![16, 16, 8]);
    }

    proptest! {
        #[test]
        fn every_window_once_within_the_limits(
            lens in proptest::collection::vec(1usize..300, 0..200),
            max in 1usize..3000,
        ) {
            let batches = length_batches(&lens, max);
            let mut seen: Vec<usize> = batches.iter().flatten().copied().collect();
            seen.sort_unstable();
            prop_assert_eq!(seen, (0..lens.len()).collect::<Vec<_>>());
            for b in &batches {
                prop_assert!(!b.is_empty());
                if b.len() > 1 {
                    let real: usize = b.iter().map(|&w| lens[w]).sum();
                    prop_assert!(padded(&lens, b) <= max);
                    prop_assert!(padded(&lens, b) * 10 <= real * 11);
                }
            }
            // Sorted by length across batches, so a batch never waits on a longer window.
            let flat: Vec<usize> = batches.iter().flatten().map(|&w| lens[w]).collect();
            prop_assert!(flat.windows(2).all(|p| p[0] <= p[1]));
        }
    }
}
