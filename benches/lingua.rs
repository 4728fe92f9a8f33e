//! Speed of token pruning (`pith::lingua`) on 1k/10k/50k-token texts, and what an int8
//! classifier does to speed and to the keep/drop decisions.
//!
//! For each input, pith's default mode and the reference mode (the `llmlingua` package's
//! algorithm) at rate 0.33 with force tokens "\n" and "?" (the settings of
//! ../shared/anchors/anchor_llmlingua.py, which times Python llmlingua on the same
//! inputs): wall time, the time inside ONNX Runtime's `Session::run` (the classifier's
//! counters), the rest (pith's own work: tokenizing, windows, words, thresholds, token
//! counting, rendering) and o200k tokens/s. One warm-up, then the median of N runs. With
//! an int8 model also the share of words whose decision matches the fp32 model's.
//! Timings are printed, never asserted. Prints markdown.
//!
//!     PITH_LINGUA_MODEL=DIR [PITH_LINGUA_MODEL_INT8=DIR] PITH_LINGUA_INPUTS=DIR \
//!     [PITH_LINGUA_RUNS=3] [ORT_DYLIB_PATH=…/libonnxruntime.so] cargo bench --bench lingua
//!
//! PITH_LINGUA_INPUTS holds input_1k.txt, input_10k.txt, input_50k.txt (the anchor
//! writes them to its --work-dir); a model folder holds model.onnx and tokenizer.json
//! (the anchor's --onnx export; scripts/quantize_classifier.py makes the int8 one).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use pith::lingua::reference::{self, ReferenceParams};
use pith::lingua::{PruneOptions, Target, TokenClassifier, TokenPruner};
use pith::models::ModelStore;
use pith::{Tiktoken, TokenCounter};

const RATE: f64 = 0.33;
const INPUTS: [&str; 3] = ["1k", "10k", "50k"];

fn force_tokens() -> Vec<String> {
    vec!["\n".to_owned(), "?".to_owned()]
}

/// One timed run.
#[derive(Debug, Clone, Copy, Default)]
struct Run {
    total: f64,
    forward: f64,
    /// Default mode only: scoring (tokenize, windows, forward, words) and selection.
    score: f64,
    select: f64,
    batches: u64,
    tokens: u64,
    positions: u64,
}

/// The decisions of the last run, for agreement.
#[derive(Debug, Clone)]
enum Decisions {
    /// Default mode: per word, kept or not.
    Kept(Vec<bool>),
    /// Reference mode: the words and their labels, all chunks in order.
    Labels(Vec<String>, Vec<u8>),
}

#[derive(Debug)]
struct Measured {
    runs: Vec<Run>,
    decisions: Decisions,
    tokens_after: usize,
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

/// One warm-up and `runs` timed runs of `once`, which returns its output and, for
/// default mode, the seconds of scoring and of selection; the last output is kept.
fn timed<T>(
    classifier: &TokenClassifier,
    runs: usize,
    mut once: impl FnMut() -> (T, f64, f64),
) -> (Vec<Run>, T) {
    let mut out = Vec::new();
    let mut last = None;
    for i in 0..=runs {
        let before = classifier.stats();
        let t = Instant::now();
        let (result, score, select) = once();
        let total = t.elapsed().as_secs_f64();
        let after = classifier.stats();
        if i > 0 {
            out.push(Run {
                total,
                forward: after.seconds - before.seconds,
                score,
                select,
                batches: after.batches - before.batches,
                tokens: after.tokens - before.tokens,
                positions: after.positions - before.positions,
            });
        }
        last = Some(result);
    }
    (out, last.expect("at least the warm-up ran"))
}

fn default_mode(
    classifier: &Arc<TokenClassifier>,
    text: &str,
    counter: &Tiktoken,
    runs: usize,
) -> Measured {
    let options = PruneOptions {
        force_tokens: force_tokens(),
        ..PruneOptions::default()
    };
    let pruner = TokenPruner::new(classifier.clone(), options).expect("pruner");
    let (runs, last) = timed(classifier, runs, || {
        let t = Instant::now();
        let scored = pruner.score(&[text]).expect("scores");
        let score = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let pruned = scored[0]
            .select(Target::Rate(RATE), counter)
            .expect("selects");
        (pruned, score, t.elapsed().as_secs_f64())
    });
    Measured {
        runs,
        tokens_after: last.tokens_after,
        decisions: Decisions::Kept(last.kept),
    }
}

fn reference_mode(
    classifier: &Arc<TokenClassifier>,
    text: &str,
    counter: &Tiktoken,
    runs: usize,
) -> Measured {
    let params = ReferenceParams {
        rate: RATE,
        force_tokens: force_tokens(),
        ..ReferenceParams::default()
    };
    let (runs, last) = timed(classifier, runs, || {
        let r = reference::compress(classifier, &[text], &params).expect("compresses");
        (r, 0.0, 0.0)
    });
    Measured {
        runs,
        tokens_after: counter.count(&last.compressed_prompt),
        decisions: Decisions::Labels(
            last.words.into_iter().flatten().collect(),
            last.labels.into_iter().flatten().collect(),
        ),
    }
}

/// Share of words with the same decision; None when the word lists differ.
fn agreement(a: &Decisions, b: &Decisions) -> Option<(f64, usize)> {
    let same = |n: usize, eq: usize| (n > 0).then(|| (eq as f64 / n as f64, n));
    match (a, b) {
        (Decisions::Kept(x), Decisions::Kept(y)) if x.len() == y.len() => {
            same(x.len(), x.iter().zip(y).filter(|(p, q)| p == q).count())
        }
        (Decisions::Labels(wx, x), Decisions::Labels(wy, y)) if wx == wy && x.len() == y.len() => {
            same(x.len(), x.iter().zip(y).filter(|(p, q)| p == q).count())
        }
        _ => None,
    }
}

fn env_dir(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn load(library: &Path, dir: &Path) -> (Arc<TokenClassifier>, f64) {
    let t = Instant::now();
    let c = TokenClassifier::load(library, dir)
        .unwrap_or_else(|e| panic!("loading {}: {e}", dir.display()));
    (Arc::new(c), t.elapsed().as_secs_f64())
}

fn main() {
    let (Some(fp32_dir), Some(inputs_dir)) =
        (env_dir("PITH_LINGUA_MODEL"), env_dir("PITH_LINGUA_INPUTS"))
    else {
        println!(
            "lingua bench skipped: set PITH_LINGUA_MODEL (token-classifier folder) and PITH_LINGUA_INPUTS \
             (folder with input_1k.txt, input_10k.txt, input_50k.txt); see the header of benches/lingua.rs"
        );
        return;
    };
    let int8_dir = env_dir("PITH_LINGUA_MODEL_INT8");
    let runs: usize = std::env::var("PITH_LINGUA_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(3);
    let library = match ModelStore::discover().runtime_library() {
        Ok(l) => l,
        Err(e) => {
            println!("lingua bench skipped: no ONNX Runtime library ({e}); set ORT_DYLIB_PATH");
            return;
        }
    };
    let counter = Tiktoken::default();
    let mut texts = Vec::new();
    for name in INPUTS {
        let path = inputs_dir.join(format!("input_{name}.txt"));
        match std::fs::read_to_string(&path) {
            Ok(t) => texts.push((name, t)),
            Err(e) => println!("{}: {e}; skipped", path.display()),
        }
    }

    let mut models = vec![("fp32", fp32_dir)];
    models.extend(int8_dir.map(|d| ("int8", d)));
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "lingua bench: rate {RATE}, force tokens \"\\n\" \"?\", 1 warm-up + median of {runs} runs, {threads} threads"
    );
    for (name, dir) in &models {
        println!("- {name}: {}", dir.display());
    }
    println!();
    println!(
        "| input | o200k tokens | model | mode | total s | forward s | overhead s | overhead % of forward | o200k tok/s | model tokens | positions | batches | out o200k | agreement with fp32 |"
    );
    println!("|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    let mut load_times = Vec::new();
    let mut splits = Vec::new();
    let loaded: Vec<_> = models
        .iter()
        .map(|(name, dir)| {
            let (c, s) = load(&library, dir);
            load_times.push((*name, s));
            (*name, c)
        })
        .collect();
    for (name, text) in &texts {
        let tokens = counter.count(text);
        // The fp32 model's decisions on this input, per mode.
        let mut fp32_decisions = HashMap::new();
        for (model, classifier) in &loaded {
            for mode in ["default", "reference"] {
                let m = if mode == "default" {
                    default_mode(classifier, text, &counter, runs)
                } else {
                    reference_mode(classifier, text, &counter, runs)
                };
                let total = median(m.runs.iter().map(|r| r.total).collect());
                let forward = median(m.runs.iter().map(|r| r.forward).collect());
                let overhead = median(m.runs.iter().map(|r| r.total - r.forward).collect());
                let r0 = m.runs[0];
                let agree = if *model == "fp32" {
                    fp32_decisions.insert(mode, m.decisions.clone());
                    "—".to_owned()
                } else {
                    match fp32_decisions
                        .get(mode)
                        .and_then(|b| agreement(b, &m.decisions))
                    {
                        Some((share, n)) => format!("{:.2}% of {n} words", 100.0 * share),
                        None => "n/a (word lists differ)".to_owned(),
                    }
                };
                println!(
                    "| {name} | {tokens} | {model} | {mode} | {total:.3} | {forward:.3} | {overhead:.3} | {:.1}% | {:.0} | {} | {} | {} | {} | {agree} |",
                    100.0 * overhead / forward,
                    tokens as f64 / total,
                    r0.tokens,
                    r0.positions,
                    r0.batches,
                    m.tokens_after,
                );
                if mode == "default" {
                    splits.push(format!(
                        "| {name} | {model} | {:.3} | {:.3} | {forward:.3} | {:.3} |",
                        median(m.runs.iter().map(|r| r.score).collect()),
                        median(m.runs.iter().map(|r| r.score - r.forward).collect()),
                        median(m.runs.iter().map(|r| r.select).collect()),
                    ));
                }
            }
        }
    }
    println!();
    println!("Default mode, where the time goes (medians, seconds):");
    println!();
    println!("| input | model | score() | of it outside the forward | forward | select() |");
    println!("|---|---|---:|---:|---:|---:|");
    for s in splits {
        println!("{s}");
    }
    println!();
    for (name, s) in load_times {
        println!("model load {name}: {s:.2} s (not in the totals)");
    }
}
