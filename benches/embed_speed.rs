//! Throughput of the sentence embedder alone, on short sentences and on long functions,
//! for each graph and batching side by side in one run (issue 19).
//!
//! Inputs: the sentences of NQ-20 passages (`rag`'s units, ~20 model tokens each) and the
//! functions of flask's Python sources (`code`'s units, many past the 256-token window).
//! Variants: the package's float graph in 8192-position batches (what pith did before),
//! the same graph in 1024-position batches of ≤ 10% padding, and the int8 graph the
//! installer makes in those batches. Each variant embeds each input once per round (a
//! fresh call of `embed_uncached`, no cache), rounds interleave the variants, and the
//! fastest round counts. The vectors of each graph are compared with the float graph's.
//! Prints markdown.
//!
//!     cargo bench --bench embed_speed
//!     EMBED_SPEED_ROUNDS=5 EMBED_SPEED_TOKENS=30000 cargo bench --bench embed_speed

use std::io::Read;
use std::path::PathBuf;
use std::time::Instant;

use pith::models::ModelStore;
use pith::models::manifest::{EMBEDDER_INT8_FILE, EMBEDDER_MODEL_FILE, EMBEDDER_TOKENIZER_FILE};
use pith::neural::{Embedder, EmbedderConfig};
use pith::{Compressor, DocKind, Document, Input, Lang, Preset, Tiktoken, TokenCounter};

#[path = "common/nq20.rs"]
mod nq20;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The units a preset would embed, until `target` o200k tokens.
fn units(preset: &str, docs: Vec<Document>, target: usize) -> (Vec<String>, usize) {
    let counter = Tiktoken::default();
    let c = Compressor::builder()
        .preset(Preset::named(preset).expect("built in"))
        .build();
    let prepared = c.prepare(Input::documents(docs));
    let mut out = Vec::new();
    let mut tokens = 0;
    for t in prepared.unit_texts() {
        if t.trim().is_empty() {
            continue;
        }
        tokens += counter.count(t);
        out.push(t.to_owned());
        if tokens >= target {
            break;
        }
    }
    (out, tokens)
}

fn sentences(target: usize) -> (Vec<String>, usize) {
    let mut docs = Vec::new();
    let mut chars = 0;
    for ex in nq20::examples() {
        for t in ex.passages() {
            chars += t.len();
            docs.push(Document::new(t, DocKind::Prose));
        }
        if chars > target * 8 {
            break;
        }
    }
    units("rag", docs, target)
}

fn functions(target: usize) -> (Vec<String>, usize) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/eval/code/flask-3.1.3.tar.gz"
    );
    let file = std::fs::File::open(path).expect("the shared eval data");
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut docs = Vec::new();
    for entry in archive.entries().expect("a tar") {
        let mut entry = entry.expect("an entry");
        let path = entry.path().expect("a path").to_string_lossy().into_owned();
        if !path.ends_with(".py") || path.contains("/tests/") {
            continue;
        }
        let mut text = String::new();
        if entry.read_to_string(&mut text).is_ok() {
            let mut d = Document::new(text, DocKind::Code(Lang::Python));
            d.path = Some(path);
            docs.push(d);
        }
    }
    units("code", docs, target)
}

struct Variant {
    label: &'static str,
    model: PathBuf,
    batch_positions: usize,
}

fn main() {
    let rounds = env_usize("EMBED_SPEED_ROUNDS", 3);
    let target = env_usize("EMBED_SPEED_TOKENS", 20_000);
    let store = ModelStore::discover();
    let model = store.locate("minilm").expect("run `pith models install`");
    let library = store.runtime_library().expect("run `pith models install`");
    let tokenizer = model.file(EMBEDDER_TOKENIZER_FILE);
    let variants = [
        Variant {
            label: "float graph, 8192-position batches (before)",
            model: model.file(EMBEDDER_MODEL_FILE),
            batch_positions: 8192,
        },
        Variant {
            label: "float graph, 1024-position batches",
            model: model.file(EMBEDDER_MODEL_FILE),
            batch_positions: 1024,
        },
        Variant {
            label: "int8 graph, 1024-position batches (default)",
            model: model.file(EMBEDDER_INT8_FILE),
            batch_positions: 1024,
        },
    ];
    let embedders: Vec<Embedder> = variants
        .iter()
        .map(|v| {
            let t = Instant::now();
            let e = Embedder::load(
                &library,
                &v.model,
                &tokenizer,
                EmbedderConfig {
                    batch_positions: v.batch_positions,
                    ..EmbedderConfig::default()
                },
            )
            .expect("loads");
            eprintln!("{}: loaded in {:.3} s", v.label, t.elapsed().as_secs_f64());
            e
        })
        .collect();

    let inputs = [
        ("NQ-20 sentences", sentences(target)),
        ("flask functions", functions(target)),
    ];
    println!(
        "threads: {}, rounds: {rounds} (fastest counts); PITH_ORT_SPINNING={}",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        std::env::var("PITH_ORT_SPINNING").unwrap_or_default()
    );
    println!();
    println!(
        "| input | variant | o200k tokens/s | model tokens/s | s | forward s | passes | padding | cosine to float (mean / min) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (name, (texts, tokens)) in &inputs {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let mut best = vec![f64::INFINITY; variants.len()];
        let mut shape = vec![(0.0, 0u64, 0u64, 0u64); variants.len()];
        let mut vectors = vec![Vec::new(); variants.len()];
        for _ in 0..rounds {
            for (i, e) in embedders.iter().enumerate() {
                let before = e.stats();
                let t = Instant::now();
                let v = e.embed_uncached(&refs).expect("embeds");
                let s = t.elapsed().as_secs_f64();
                let after = e.stats();
                if s < best[i] {
                    best[i] = s;
                    shape[i] = (
                        after.seconds - before.seconds,
                        after.batches - before.batches,
                        after.tokens - before.tokens,
                        after.positions - before.positions,
                    );
                }
                vectors[i] = v;
            }
        }
        for (i, v) in variants.iter().enumerate() {
            let (forward, passes, model_tokens, positions) = shape[i];
            let cos: Vec<f32> = vectors[i]
                .iter()
                .zip(&vectors[0])
                .map(|(a, b)| pith::neural::dot(a, b))
                .collect();
            let mean = cos.iter().sum::<f32>() / cos.len().max(1) as f32;
            let min = cos.iter().copied().fold(f32::INFINITY, f32::min);
            println!(
                "| {name} ({} texts, {tokens} o200k tokens) | {} | {:.0} | {:.0} | {:.2} | {:.2} | {passes} | {:.1}% | {mean:.4} / {min:.4} |",
                texts.len(),
                v.label,
                *tokens as f64 / best[i],
                model_tokens as f64 / best[i],
                best[i],
                forward,
                100.0 * (positions - model_tokens) as f64 / positions.max(1) as f64,
            );
        }
    }
}
