//! The causal LM converted from GGUF at install time (`pith models install smollm2`),
//! against an independent implementation: Hugging Face transformers reading the same
//! GGUF file with its own dequantizer, Llama code and tokenizer
//! (tests/fixtures/lm/goldens.json, made by scripts/lm_goldens.py). Then the scorer's
//! batching, window guard and cache, and contrastive perplexity.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use pith::lm::{CausalLm, LmConfig, contrast, line_surprisal};
use serde::Deserialize;

/// The installed model (scripts/setup installs it), loaded once per test binary, with a
/// small window so the window guard is exercised by ordinary texts.
fn lm() -> Arc<CausalLm> {
    static LM: OnceLock<Arc<CausalLm>> = OnceLock::new();
    LM.get_or_init(|| Arc::new(load(LmConfig::default())))
        .clone()
}

fn load(config: LmConfig) -> CausalLm {
    let store = crate::prereq::models();
    let library = store
        .runtime_library()
        .expect("ONNX Runtime is installed (scripts/setup runs `pith models install`)");
    let dir = store
        .locate("smollm2")
        .expect("the causal LM is installed (scripts/setup runs `pith models install smollm2`)")
        .dir;
    CausalLm::load(&library, &dir, config).expect("the converted model loads")
}

#[derive(Deserialize)]
struct Goldens {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    text: String,
    ids: Vec<u32>,
    logprobs: Vec<f32>,
}

fn goldens() -> Vec<Case> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lm/goldens.json");
    let text = std::fs::read_to_string(&path).expect("goldens are committed");
    serde_json::from_str::<Goldens>(&text)
        .expect("goldens parse")
        .cases
}

fn ppl(lp: &[f32]) -> f64 {
    (-lp.iter().map(|&x| f64::from(x)).sum::<f64>() / lp.len() as f64).exp()
}

#[test]
fn tokenizer_matches_the_independent_one() {
    let lm = lm();
    for case in goldens() {
        let ids = lm.tokenize(&case.text).expect("tokenizes").ids;
        // The goldens open with the start token, as the scorer feeds every sequence.
        assert_eq!(ids, case.ids[1..], "tokens of {:?}", case.text);
    }
}

#[test]
fn logprobs_match_transformers_on_the_same_gguf() {
    let lm = lm();
    let cases = goldens();
    let seqs: Vec<&[u32]> = cases.iter().map(|c| &c.ids[1..]).collect();
    // All at once: batched, padded on the right, sorted by length.
    let got = lm.logprobs(&seqs).expect("scores");
    for (case, lp) in cases.iter().zip(&got) {
        let want = &case.logprobs[1..];
        assert_eq!(lp.len(), want.len());
        let worst = lp
            .iter()
            .zip(want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 2e-3, "{:?}: max |Δ log p| = {worst}", case.text);
        let (a, b) = (ppl(lp), ppl(want));
        assert!(
            (a / b - 1.0).abs() < 1e-3,
            "{:?}: PPL {a} vs {b}",
            case.text
        );
    }
}

#[test]
fn correct_code_is_far_less_surprising_than_broken_code() {
    // The check: a correct snippet and a broken variant of it.
    let lm = lm();
    let good = lm
        .tokenize("def add(a, b): return a + b")
        .expect("tokenizes")
        .ids;
    let bad = lm
        .tokenize("def add(a, b) return + a b):")
        .expect("tokenizes")
        .ids;
    let lp = lm.logprobs(&[&good, &bad]).expect("scores");
    let (g, b) = (ppl(&lp[0]), ppl(&lp[1]));
    assert!(
        g < 20.0 && b > 100.0 && b > 10.0 * g,
        "PPL correct {g}, broken {b}"
    );
}

#[test]
fn batching_and_the_cache_do_not_change_results() {
    let lm = lm();
    let cases = goldens();
    let alone: Vec<Arc<[f32]>> = cases
        .iter()
        .map(|c| lm.logprobs(&[&c.ids[1..]]).expect("scores").remove(0))
        .collect();
    let hits = lm.cache_hits();
    let seqs: Vec<&[u32]> = cases.iter().rev().map(|c| &c.ids[1..]).collect();
    let together = lm.logprobs(&seqs).expect("scores");
    assert!(
        lm.cache_hits() >= hits + cases.len() as u64,
        "second pass is served by the cache"
    );
    for (a, b) in alone.iter().zip(together.iter().rev()) {
        assert_eq!(a, b);
    }
    // A fresh model (no cache) batching several sequences agrees within float noise.
    let fresh = load(LmConfig {
        cache_entries: 1,
        ..LmConfig::default()
    });
    let batched = fresh.logprobs(&seqs).expect("scores");
    for (a, b) in batched.iter().zip(together.iter()) {
        let worst = a
            .iter()
            .zip(b.iter())
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-3, "batched vs single: {worst}");
    }
}

#[test]
fn long_sequences_are_scored_in_windows() {
    let small = load(LmConfig {
        window: 17,
        ..LmConfig::default()
    });
    let case = &goldens()[2]; // 39 tokens: three windows of 16
    let ids = &case.ids[1..];
    assert!(ids.len() > 32);
    let lp = small.logprobs(&[ids]).expect("scores").remove(0);
    assert_eq!(lp.len(), ids.len());
    // Each window restarts after the start token: its log-probs are those of the window
    // scored alone.
    for (k, piece) in ids.chunks(16).enumerate() {
        let alone = small.logprobs(&[piece]).expect("scores").remove(0);
        assert_eq!(&lp[k * 16..k * 16 + piece.len()], &alone[..]);
    }
    // The first window is exactly the unwindowed model's.
    let full = lm().logprobs(&[ids]).expect("scores").remove(0);
    let worst = lp[..16]
        .iter()
        .zip(&full[..16])
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-3);
}

#[test]
fn a_relevant_context_lowers_the_question_perplexity() {
    let lm = lm();
    let question = "What is the capital of France?";
    let contexts = [
        "Paris is the capital and most populous city of France.",
        "The mitochondrion is the powerhouse of the cell.",
        "def add(a, b):\n    return a + b\n",
    ];
    let scores = contrast(&lm, &contexts, question).expect("scores");
    assert_eq!(scores.len(), 3);
    assert!(
        scores[0].gain > scores[1].gain && scores[0].gain > scores[2].gain,
        "{scores:?}"
    );
    assert!(scores[0].gain > 0.0);
    for (s, c) in scores.iter().zip(contexts) {
        assert_eq!(s.surprisal.len(), s.context.ids.len());
        assert!(!s.truncated(c));
    }
}

#[test]
fn line_surprisal_finds_the_broken_line() {
    let lm = lm();
    let code = "def area(w, h):\n    return w * h\n\ndef add(a, b) return + a b):\n";
    let scores = contrast(&lm, &[code], "area of a rectangle").expect("scores");
    let mut lines = Vec::new();
    let mut at = 0;
    for l in code.split_inclusive('\n') {
        lines.push(at..at + l.len());
        at += l.len();
    }
    let per_line = line_surprisal(&lines, &scores[0].context, &scores[0].surprisal);
    assert_eq!(per_line.len(), 4);
    // The tokenizer gives the blank line its own newline token, so it has a value too.
    assert!(per_line.iter().all(|&s| s > 0.0), "{per_line:?}");
    assert!(per_line[3] > per_line[1], "{per_line:?}");
}
