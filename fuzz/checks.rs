//! What each fuzz target checks, one function per target, shared by the fuzzers
//! (`fuzz_targets/*.rs`) and by `tests/core/fuzz_regressions.rs`, which replays every input a
//! fuzzer once failed on (`fuzz/regressions/<target>/`) under plain `cargo test`.
//!
//! Every input is one selector byte, then the bytes under test.

use std::sync::{Arc, OnceLock};

use pith::lingua::{LinguaError, PruneOptions, Target, TokenPruner};
use pith::lm::{CausalLm, DEFAULT_LM, shared_lm};
use pith::models::ModelStore;
use pith::proxy::policy::{self, Api, PolicyOptions};
use pith::proxy::{rewrite, spans};
use pith::segment::{
    Chunker, CodeChunker, JsonChunker, Lang, LineChunker, OutputChunker, OutputKind, ProseChunker,
    check_tiling,
};
use pith::{Tiktoken, TokenCounter};
use serde_json::Value;

/// The target names, as `fuzz/fuzz_targets/<name>.rs` and `fuzz/regressions/<name>/`.
pub const TARGETS: [&str; 4] = ["request", "rewrite", "segment", "prune"];

/// Runs the check of the named target.
pub fn run(target: &str, data: &[u8]) {
    match target {
        "request" => request(data),
        "rewrite" => rewrite(data),
        "segment" => segment(data),
        "prune" => prune(data),
        _ => panic!("no fuzz target {target}"),
    }
}

const APIS: [Api; 4] = [
    Api::ChatCompletions,
    Api::Responses,
    Api::Messages,
    Api::CountTokens,
];

/// The proxy's request parsing: the span parser against serde_json, then each API's
/// plan, whose blocks must be in order, disjoint, and string literals that decode to the
/// text the plan carries. Selector: the API and `min_chars`.
pub fn request(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    // Whatever serde_json reads, the span parser reads as the same value. It also takes
    // numbers beyond f64's range, where serde_json stops: they are valid JSON (RFC 8259
    // leaves range to the reader), and the proxy forwards them untouched. Whether the
    // rest of such a body is valid, serde_json does not say.
    let ours = spans::parse(body);
    match serde_json::from_slice::<Value>(body) {
        Ok(value) => match &ours {
            Ok(node) => assert_eq!(node.to_value(body), value),
            Err(e) => panic!("serde_json reads the body, the span parser says {e}"),
        },
        Err(e) if e.to_string().starts_with("number out of range") => {}
        Err(e) => assert!(
            ours.is_err(),
            "the span parser reads what serde_json refuses: {e}"
        ),
    }

    let api = APIS[usize::from(selector) % APIS.len()];
    let options = PolicyOptions {
        min_chars: usize::from(selector / 4),
        ..PolicyOptions::default()
    };
    let Ok(plan) = policy::plan(api, body, &options) else {
        return;
    };
    let mut end = 0;
    for block in &plan.blocks {
        assert!(
            block.span.start >= end,
            "blocks overlap or are out of order"
        );
        end = block.span.end;
        let literal = &body[block.span.clone()];
        let decoded: String =
            serde_json::from_slice(literal).expect("a block is a JSON string literal");
        assert_eq!(decoded, block.text);
        let mut after = 0;
        for m in &block.marked {
            assert!(after <= m.outer.start, "marked parts out of order");
            assert!(m.outer.start <= m.inner.start && m.inner.end <= m.outer.end);
            assert!(block.text.get(m.outer.clone()).is_some());
            assert!(block.text.get(m.inner.clone()).is_some());
            after = m.outer.end;
        }
    }
}

/// What the stand-in compressor of [`rewrite`] returns for a text: kept, cut, reversed,
/// or filled with the characters a JSON encoder must escape.
fn stand_in(mode: u8, i: usize, text: &str) -> Option<String> {
    let n = text.chars().count();
    match (usize::from(mode) + i) % 4 {
        0 => None,
        1 => Some(text.chars().take(n / 2).collect()),
        2 => Some(text.chars().rev().skip(1).collect()),
        _ => Some(
            "\"\\\u{0}\u{1f}\u{7f}\u{2028}\u{2029}\u{10ffff}</script>"
                .chars()
                .take(n.saturating_sub(1))
                .collect(),
        ),
    }
}

/// Equal except strings, which may differ only where `allowed` says.
fn same_shape(old: &Value, new: &Value, allowed: &dyn Fn(&str) -> bool) -> bool {
    match (old, new) {
        (Value::String(a), Value::String(b)) => a == b || allowed(a),
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same_shape(x, y, allowed))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|((ka, x), (kb, y))| ka == kb && same_shape(x, y, allowed))
        }
        _ => old == new,
    }
}

/// The byte-splicing rewriter: whatever the compressor returns, the rewritten body is
/// JSON of the same shape, and only planned strings differ; with no change, the bytes
/// are the original's. Selector: the API and how the stand-in compressor rewrites.
pub fn rewrite(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let api = APIS[usize::from(selector) % APIS.len()];
    let options = PolicyOptions {
        min_chars: 0,
        ..PolicyOptions::default()
    };
    let Ok(plan) = policy::plan(api, body, &options) else {
        return;
    };
    let mut calls = 0;
    let mut compress = |_: &policy::Block, text: &str| {
        calls += 1;
        stand_in(selector / 4, calls, text)
    };
    let out = rewrite::apply(body, &plan, &mut compress);
    if out.changed.is_empty() {
        assert_eq!(out.body, body, "nothing changed but the bytes differ");
        return;
    }
    let (Ok(old), new) = (
        serde_json::from_slice::<Value>(body),
        serde_json::from_slice::<Value>(&out.body),
    ) else {
        // Out-of-range numbers: serde_json cannot read the original either.
        assert!(
            spans::parse(&out.body).is_ok(),
            "the rewritten body is not JSON"
        );
        return;
    };
    let new = new.expect("the rewritten body is JSON");
    let planned: Vec<&str> = plan.blocks.iter().map(|b| b.text.as_str()).collect();
    assert!(
        same_shape(&old, &new, &|a| planned.contains(&a)),
        "the rewrite changed more than the planned strings"
    );
}

/// Every segmenter on arbitrary text: the chunks tile it exactly. Selector: which
/// segmenter (each code language, prose, JSON, lines). Invalid UTF-8 is replaced, as
/// pith's readers do.
pub fn segment(data: &[u8]) {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(bytes);
    let which = usize::from(selector) % (Lang::ALL.len() + 3);
    let chunks = match which {
        i if i < Lang::ALL.len() => CodeChunker::new(Lang::ALL[i]).chunk(&text),
        7 => ProseChunker.chunk(&text),
        8 => JsonChunker::default().chunk(&text),
        _ => {
            // Tool output is lines too: its chunker runs on the same inputs.
            let output = OutputChunker {
                kind: OutputKind::Log,
            }
            .chunk(&text);
            if let Err(e) = check_tiling(&text, &output) {
                panic!("the tool-output segmenter broke the tiling: {e}");
            }
            LineChunker {
                max_lines: usize::from(selector / 16) + 1,
            }
            .chunk(&text)
        }
    };
    if let Err(e) = check_tiling(&text, &chunks) {
        panic!("segmenter {which} broke the tiling: {e}");
    }
}

/// The causal LM and a pruner on it, loaded once per process.
fn pruner() -> &'static (Arc<CausalLm>, TokenPruner) {
    static LM: OnceLock<(Arc<CausalLm>, TokenPruner)> = OnceLock::new();
    LM.get_or_init(|| {
        let lm = shared_lm(&ModelStore::discover(), DEFAULT_LM)
            .expect("the causal LM is installed: pith models install smollm2");
        let options = PruneOptions {
            force_digits: true,
            force_tokens: vec!["?".into()],
            ..PruneOptions::default()
        };
        let pruner = TokenPruner::surprisal(lm.clone(), options).expect("default options");
        (lm, pruner)
    })
}

/// The token pruner on arbitrary text, with the real LM's tokenizer and arbitrary token
/// scores (the forward pass is left out: it is slow, and its output is only numbers):
/// scoring never panics, and a cut stays within its token budget. Selector: the target,
/// a rate or a token budget.
pub fn prune(data: &[u8]) {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(bytes);
    let (lm, pruner) = pruner();
    let tokens = lm.tokenize(&text).expect("the tokenizer takes any text");
    let spans: Vec<_> = tokens.offsets.iter().map(|&(s, e)| s..e).collect();
    // Scores from the input's own bytes: arbitrary, deterministic, with ties.
    let values: Vec<f32> = (0..spans.len())
        .map(|i| f32::from(bytes[(i * 7) % bytes.len().max(1)] % 16))
        .collect();
    let scored = match pruner.score_with(&text, &spans, &values) {
        Ok(s) => s,
        // Malformed `<pith>` markers are the input's fault, reported as such.
        Err(LinguaError::Marker { .. }) => return,
        Err(e) => panic!("the tokenizer's own spans were refused: {e}"),
    };
    // One cut per run: counting tokens is most of a run's time.
    let counter = Tiktoken::default();
    let cutter = scored.cutter(&counter);
    let target = match selector % 4 {
        0 => Target::Rate(f64::from(selector % 10 + 1) / 10.0),
        1 => Target::Tokens(0),
        2 => Target::Tokens(usize::from(selector)),
        _ => Target::Tokens(counter.count(&text) + 1),
    };
    match cutter.select(target) {
        Ok(p) => {
            if let Target::Tokens(budget) = target {
                assert!(p.tokens_after <= budget, "{} > {budget}", p.tokens_after);
            }
            assert_eq!(p.tokens_after, counter.count(&p.text));
        }
        Err(LinguaError::BudgetTooSmall { budget, minimum }) => assert!(minimum > budget),
        Err(e) => panic!("cut to {target:?}: {e}"),
    }
}
