//! The lexical path on large tool outputs: the largest pytest log, git diff and JSON
//! response of the dev set, each cut to its last ~100k o200k tokens, compressed to 4x and
//! 8x with the default (`rag`) preset, as the proxy and `pith compress` do it: kind from
//! content, then prepare and compress, with a new compressor each run so nothing is
//! memoized between runs (the tokenizer's tables are built once, as in a serving
//! process). Also, on the log, the head cut (the cheapest thing an agent harness does)
//! and one count of the input, for scale. Prints markdown; "ms/100k" scales the median
//! to 100k input tokens.
//!
//!     cargo bench --bench toolout    # PITH_TOOLOUT_DATA=eval/toolout/dev.jsonl.gz PITH_BENCH_RUNS=20

use std::io::Read;
use std::sync::Arc;
use std::time::Instant;

use pith::{Compressor, DocKind, Document, Input, Preset, Tiktoken, TokenCounter};

/// Tokens of the log the bench cuts.
const TOKENS: usize = 100_000;

fn main() {
    let path =
        std::env::var("PITH_TOOLOUT_DATA").unwrap_or_else(|_| "eval/toolout/dev.jsonl.gz".into());
    let runs: usize = std::env::var("PITH_BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(20);
    let counter: Arc<dyn TokenCounter> = Arc::new(Tiktoken::default());
    let preset = Preset::named("rag").expect("built-in preset");
    println!("{runs} runs each, release build, from {path}\n");
    println!("| input | step | median ms | p90 ms | ms/100k | output tokens |");
    println!("|---|---|---|---|---|---|");
    for kinds in [&["pytest-v", "pytest-q"][..], &["git-diff"], &["json"]] {
        let (id, task, log) = largest(&path, kinds);
        let log = last_tokens(counter.as_ref(), &log, TOKENS);
        let tokens = counter.count(&log);
        let input = format!("`{id}`, {tokens} tokens, {} lines", log.lines().count());
        for ratio in [4usize, 8] {
            let budget = tokens / ratio;
            let mut out_tokens = 0;
            let times = time(runs, || {
                let compressor = Compressor::builder()
                    .preset(preset.clone())
                    .shared_counter(counter.clone())
                    .build();
                let kind = DocKind::from_content(&log, DocKind::Prose);
                let input =
                    Input::documents(vec![Document::new(log.clone(), kind)]).query(task.clone());
                let out = compressor.compress(input, budget).expect("fits");
                out_tokens = out.tokens_after;
            });
            row(
                &input,
                &format!("pith, {ratio}x (budget {budget})"),
                &times,
                tokens,
                out_tokens,
            );
        }
        if kinds[0] != "pytest-v" {
            continue;
        }
        let mut head_tokens = 0;
        let times = time(runs, || {
            let n = counter.prefix_len(&log, tokens / 4);
            head_tokens = counter.count(&log[..n]);
        });
        row(&input, "head cut to 4x", &times, tokens, head_tokens);
        let times = time(runs, || {
            std::hint::black_box(counter.count(&log));
        });
        row(&input, "counting the input once", &times, tokens, tokens);
    }
}

/// The `id`, task and output of the longest case of one of `kinds` in the data.
fn largest(path: &str, kinds: &[&str]) -> (String, String, String) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut text = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .expect("gzip");
    text.lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json"))
        .filter(|v| kinds.iter().any(|k| v["kind"] == *k))
        .map(|v| {
            let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
            (s("id"), s("task"), s("output"))
        })
        .max_by_key(|(_, _, out)| out.len())
        .unwrap_or_else(|| panic!("a case of {kinds:?}"))
}

/// The longest tail of whole lines of `text` with at most `max` tokens.
fn last_tokens(counter: &dyn TokenCounter, text: &str, max: usize) -> String {
    let mut start = text.len();
    let mut kept = 0;
    for line in text.split_inclusive('\n').rev() {
        let n = counter.count(line);
        if kept + n > max {
            break;
        }
        kept += n;
        start -= line.len();
    }
    text[start..].to_owned()
}

fn time(runs: usize, mut f: impl FnMut()) -> Vec<f64> {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times
}

fn row(input: &str, step: &str, sorted: &[f64], tokens: usize, out_tokens: usize) {
    let at =
        |q: f64| sorted[((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1];
    let per_100k = at(0.5) * 100_000.0 / tokens as f64;
    println!(
        "| {input} | {step} | {:.1} | {:.1} | {per_100k:.1} | {out_tokens} |",
        at(0.5),
        at(0.9)
    );
}
