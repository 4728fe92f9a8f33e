//! Token counting: pith's encoder (`src/tokens/bpe/`) against `tiktoken-rs`, the crate it
//! replaced, on large real texts — the largest tool output of the toolout set and all of
//! them together — for both encodings. `count` is one thread; `count_pieces` (one piece
//! per line) cuts the text on the machine's cores. Also the one-off cost of each at start:
//! tiktoken-rs builds its tables; pith reads the Unicode classes of its pre-tokenizer (once
//! per process, for both encodings). Prints markdown.
//!
//!     cargo bench --bench tokens    # PITH_BENCH_RUNS=10

use std::io::Read;
use std::time::Instant;

use pith::{Encoding, Tiktoken, TokenCounter};

fn main() {
    let runs: usize = std::env::var("PITH_BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(10);
    let mut outputs = Vec::new();
    for split in ["dev", "held"] {
        let mut text = String::new();
        flate2::read::GzDecoder::new(
            std::fs::File::open(format!("eval/toolout/{split}.jsonl.gz")).expect("toolout data"),
        )
        .read_to_string(&mut text)
        .expect("gzip");
        for line in text.lines() {
            let case: serde_json::Value = serde_json::from_str(line).expect("json");
            outputs.push(case["output"].as_str().expect("output").to_string());
        }
    }
    let largest = outputs
        .iter()
        .max_by_key(|o| o.len())
        .expect("cases")
        .clone();
    let all = outputs.concat();

    println!("| encoding | start-up: tiktoken-rs tables | start-up: pith first count |");
    println!("|---|---|---|");
    for encoding in [Encoding::O200kBase, Encoding::Cl100kBase] {
        let t = Instant::now();
        let oracle = match encoding {
            Encoding::O200kBase => tiktoken_rs::o200k_base_singleton(),
            Encoding::Cl100kBase => tiktoken_rs::cl100k_base_singleton(),
        };
        let theirs = t.elapsed();
        oracle.encode_ordinary("warm");
        let t = Instant::now();
        Tiktoken::new(encoding).count("warm");
        println!(
            "| {} | {:.1} ms | {:.1} ms |",
            encoding.name(),
            ms(theirs),
            ms(t.elapsed())
        );
    }
    println!("\n{runs} runs each, median, release build\n");
    println!(
        "| text | encoding | tiktoken-rs MB/s | pith `count` MB/s | pith `count_pieces` MB/s |"
    );
    println!("|---|---|---|---|---|");
    for (name, text) in [("largest output", &largest), ("all outputs", &all)] {
        let ends: Vec<usize> = text
            .match_indices('\n')
            .map(|(i, _)| i + 1)
            .chain((!text.ends_with('\n')).then_some(text.len()))
            .collect();
        for encoding in [Encoding::O200kBase, Encoding::Cl100kBase] {
            let oracle = match encoding {
                Encoding::O200kBase => tiktoken_rs::o200k_base_singleton(),
                Encoding::Cl100kBase => tiktoken_rs::cl100k_base_singleton(),
            };
            let counter = Tiktoken::new(encoding);
            let n = oracle.encode_ordinary(text).len();
            assert_eq!(counter.count(text), n);
            let theirs = median(runs, || {
                oracle.encode_ordinary(text).len();
            });
            let ours = median(runs, || {
                counter.count(text);
            });
            let pieces = median(runs, || {
                counter.count_pieces(text, &ends);
            });
            let mb = text.len() as f64 / 1e6;
            println!(
                "| {name} ({:.2} MB, {n} tokens) | {} | {:.1} | {:.1} | {:.1} |",
                mb,
                encoding.name(),
                mb / theirs,
                mb / ours,
                mb / pieces
            );
        }
    }
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Median seconds of `runs` runs of `f`.
fn median(runs: usize, mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}
