//! Throughput of neural compression on ~100k tokens: sentence embedding plus selection,
//! against the time the ONNX Runtime forward passes themselves take on the same batches.
//!
//! One run, side by side: a fresh embedder (empty cache) embeds every sentence of ~100k
//! tokens of NQ passages while `rag-neural` compresses them 4x; the embedder's counters
//! give the time spent inside `Session::run`, the rest is pith's glue (tokenizing,
//! batching, pooling) and selection (segmenting, counting, MIG, rendering). The lexical
//! `rag` preset on the same input shows what selection alone costs. Prints markdown.
//!
//!     cargo bench --bench neural

use std::sync::Arc;
use std::time::Instant;

use pith::models::ModelStore;
use pith::models::manifest::{EMBEDDER_MODEL_FILE, EMBEDDER_TOKENIZER_FILE};
use pith::neural::{Embedder, EmbedderConfig};
use pith::{Compressor, DocKind, Document, Input, Preset, Tiktoken, TokenCounter};

const TARGET_TOKENS: usize = 100_000;

#[path = "common/nq20.rs"]
mod nq20;

fn main() {
    let counter = Tiktoken::default();
    let mut docs = Vec::new();
    let mut tokens = 0;
    let mut query = String::new();
    for ex in nq20::examples() {
        if query.is_empty() {
            query = ex.question.clone();
        }
        for t in ex.passages() {
            tokens += counter.count(&t);
            docs.push(Document::new(t, DocKind::Prose));
        }
        if tokens >= TARGET_TOKENS {
            break;
        }
    }
    let input = Input::documents(docs).query(query);
    let budget = tokens / 4;

    let store = ModelStore::discover();
    let model = store.locate("minilm").expect("run `pith models install`");
    let library = store.runtime_library().expect("run `pith models install`");
    let fresh = || {
        Arc::new(
            Embedder::load(
                &library,
                &model.file(EMBEDDER_MODEL_FILE),
                &model.file(EMBEDDER_TOKENIZER_FILE),
                EmbedderConfig::default(),
            )
            .expect("loads"),
        )
    };
    let mut preset = Preset::named("rag-neural").expect("built in");
    preset.select.selective_threshold = None;

    // Lexical selection alone, for the cost of everything but the embedder.
    let lexical = Compressor::builder()
        .preset(Preset::named("rag").expect("built in"))
        .build();
    let t = Instant::now();
    let out = lexical.compress(input.clone(), budget).expect("compresses");
    let lexical_s = t.elapsed().as_secs_f64();
    assert!(out.tokens_after <= budget);

    // The embedder alone on every unit the compressor will embed.
    let texts: Vec<String> = lexical
        .prepare(input.clone())
        .unit_texts()
        .into_iter()
        .filter(|t| !t.trim().is_empty())
        .map(str::to_owned)
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let e = fresh();
    let t = Instant::now();
    e.embed_uncached(&refs).expect("embeds");
    let embed_s = t.elapsed().as_secs_f64();
    let embed_stats = e.stats();

    // The whole neural compression with a fresh (empty) cache.
    let e = fresh();
    let neural = Compressor::builder()
        .preset(preset)
        .embedder(e.clone())
        .build();
    let t = Instant::now();
    let out = neural.compress(input, budget).expect("compresses");
    let total_s = t.elapsed().as_secs_f64();
    assert!(out.tokens_after <= budget && out.warnings.is_empty());
    let s = e.stats();

    let pct = |x: f64| format!("{:.1}%", 100.0 * x / s.seconds);
    println!(
        "input: {tokens} o200k tokens, {} sentences, {} model tokens in {} batches ({} positions with padding); budget {budget}",
        texts.len(),
        s.tokens,
        s.batches,
        s.positions
    );
    println!();
    println!("| measured | seconds | o200k tokens/s | vs ORT forward |");
    println!("|---|---|---|---|");
    println!(
        "| ORT forward (inside Session::run), rag-neural run | {:.2} | {:.0} | 100% |",
        s.seconds,
        tokens as f64 / s.seconds
    );
    println!(
        "| embedder alone (tokenize, batch, forward, pool) | {embed_s:.2} | {:.0} | {} |",
        tokens as f64 / embed_s,
        pct(embed_s)
    );
    println!(
        "| rag-neural compress 4x, whole | {total_s:.2} | {:.0} | {} |",
        tokens as f64 / total_s,
        pct(total_s)
    );
    println!(
        "| glue and selection on top of the forward | {:.2} | | {} |",
        total_s - s.seconds,
        pct(total_s - s.seconds)
    );
    println!(
        "| rag (lexical) compress 4x, whole | {lexical_s:.2} | {:.0} | {} |",
        tokens as f64 / lexical_s,
        pct(lexical_s)
    );
    println!();
    println!(
        "embedder-alone forward: {:.2} s in {} batches",
        embed_stats.seconds, embed_stats.batches
    );
}
