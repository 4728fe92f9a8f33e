//! The embedding cascade with the real embedder: BM25 shortlists the units to embed
//! (`score.shortlist`, `shortlist_tokens`), long units are embedded by their first window
//! (`embed_first_window`), and a warm vector cache spares the model altogether.

use std::path::Path;
use std::sync::Arc;

use pith::neural::cache::Key;
use pith::neural::{Embedder, EmbedderConfig};
use pith::{Compressed, Compressor, Document, Input, Preset};

const QUERY: &str = "how is a Cookie header parsed into names and values?";
const TARGET: &str = "def parse_cookie_header";

/// An embedder of its own (not the process's shared one), so its cache counts only what
/// one test embedded; with `disk`, vectors are kept in that folder.
fn embedder(disk: Option<&Path>) -> Arc<Embedder> {
    let store = crate::prereq::models();
    let model = store
        .locate("minilm")
        .expect("the embedding model is installed (scripts/setup)");
    let library = store.runtime_library().expect("installed");
    let config = EmbedderConfig {
        disk_cache: disk.map(Path::to_owned),
        ..EmbedderConfig::default()
    };
    let e = Embedder::load(
        &library,
        &model.file("model.onnx"),
        &model.file("tokenizer.json"),
        config,
    )
    .expect("loads");
    Arc::new(e)
}

/// A small Python package: six modules of fifteen functions, one of them the answer.
fn package() -> Vec<Document> {
    let topics = [
        "routing", "sessions", "forms", "uploads", "headers", "caching",
    ];
    topics
        .iter()
        .enumerate()
        .map(|(m, topic)| {
            let mut src = format!("\"\"\"Helpers for {topic}.\"\"\"\n\nimport os\n\n");
            for f in 0..15 {
                src.push_str(&format!(
                    "def {topic}_step_{f}(request, value):\n    \"\"\"Step {f} of the {topic} pipeline.\"\"\"\n    total = value * {f} + len(request.path)\n    if total > {m}:\n        return total - {f}\n    return total\n\n\n"
                ));
            }
            if *topic == "headers" {
                src.push_str(
                    "def parse_cookie_header(header):\n    \"\"\"Parse a Cookie header into a dict of cookie names and values.\"\"\"\n    out = {}\n    for part in header.split(';'):\n        name, _, value = part.strip().partition('=')\n        out[name] = value\n    return out\n",
                );
            }
            Document::from_path_text(format!("pkg/{topic}.py"), src)
        })
        .collect()
}

fn preset(shortlist: Option<usize>, tokens: Option<usize>, first_window: bool) -> Preset {
    let mut p = Preset::named("code-neural").expect("built in");
    p.score.shortlist = shortlist;
    p.score.shortlist_tokens = tokens;
    p.score.embed_first_window = first_window;
    p
}

fn pack(preset: Preset, e: &Arc<Embedder>, budget: usize) -> Compressed {
    let compressor = Compressor::builder()
        .preset(preset)
        .embedder(e.clone())
        .try_build()
        .expect("builds");
    let out = compressor
        .compress(Input::documents(package()).query(QUERY), budget)
        .expect("compresses");
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    assert!(
        out.tokens_after <= budget,
        "{} > {budget}",
        out.tokens_after
    );
    out
}

#[test]
fn the_shortlist_bounds_what_is_embedded_and_keeps_the_answer() {
    let all = embedder(None);
    let full = pack(preset(None, None, false), &all, 300);
    // Every function, module docstring and import, and the query.
    assert!(all.cache().len() > 90, "{}", all.cache().len());

    let few = embedder(None);
    let out = pack(preset(Some(10), None, false), &few, 300);
    // Ten units and the query.
    assert_eq!(few.cache().len(), 11);
    assert!(out.text.contains(TARGET), "{}", out.text);
    assert!(full.text.contains(TARGET), "{}", full.text);

    let capped = embedder(None);
    let out = pack(preset(None, Some(200), false), &capped, 300);
    let n = capped.cache().len();
    assert!(
        (2..=10).contains(&n),
        "{n} texts embedded within 200 tokens"
    );
    assert!(out.text.contains(TARGET), "{}", out.text);
}

#[test]
fn a_warm_cache_never_loads_the_encoder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cold = embedder(Some(dir.path()));
    assert!(!cold.encoder_loaded(), "loading opens only the tokenizer");
    let first = pack(preset(Some(20), None, true), &cold, 300);
    assert!(cold.encoder_loaded());

    // Another process: the same folder serves every vector.
    let warm = embedder(Some(dir.path()));
    let second = pack(preset(Some(20), None, true), &warm, 300);
    assert!(!warm.encoder_loaded(), "a warm run loaded the model");
    assert_eq!(warm.stats().batches, 0);
    assert_eq!(first.text, second.text);
}

#[test]
fn only_the_first_window_of_a_long_unit_is_embedded() {
    let e = embedder(None);
    let body: String = (0..200)
        .map(|i| format!("    step_{i} = compute(value, {i})\n"))
        .collect();
    let long = format!("def long_function(value):\n    \"\"\"Many steps.\"\"\"\n{body}");
    let head = e.first_window(&long).expect("tokenizes");
    assert!(head.len() < long.len() && long.starts_with(head));
    // The first window: max_length (256) less [CLS] and [SEP].
    assert_eq!(e.tokenize(head).expect("tokenizes").len(), 254);
    assert_eq!(
        e.first_window("def short(): pass").expect("tokenizes"),
        "def short(): pass"
    );

    let doc = Document::from_path_text("long.py", format!("{long}\n\n{}", package()[4].text));
    let compressor = Compressor::builder()
        .preset(preset(None, None, true))
        .embedder(e.clone())
        .try_build()
        .expect("builds");
    compressor
        .compress(Input::documents(vec![doc]).query(QUERY), 200)
        .expect("compresses");
    // The cache holds what was embedded: the head, not the whole function.
    let (name, dim) = (e.name().to_owned(), e.dim());
    assert!(e.cache().get(&Key::new(&name, head), dim).is_some());
    assert!(e.cache().get(&Key::new(&name, &long), dim).is_none());
}

/// The CLI keeps vectors in $PITH_EMBED_CACHE by default and nowhere with --no-cache;
/// a second run reads them back and gives the same output.
#[test]
fn the_cli_keeps_vectors_unless_told_not_to() {
    let dir = tempfile::tempdir().expect("tempdir");
    for d in package() {
        let path = dir.path().join(d.path.as_deref().expect("path"));
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, &d.text).expect("writes");
    }
    let repo = dir.path().join("pkg");
    let vectors = tempfile::tempdir().expect("tempdir");
    let run = |extra: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_pith"))
            .env_remove("PITH_NO_CACHE")
            .env("PITH_EMBED_CACHE", vectors.path())
            .args(["pack", repo.to_str().expect("utf-8"), "--budget", "300"])
            .args(["--preset", "code-neural", "--query", QUERY])
            .args(extra)
            .output()
            .expect("runs");
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{err}");
        String::from_utf8(out.stdout).expect("utf-8")
    };
    let files = || std::fs::read_dir(vectors.path()).map_or(0, |d| d.count());
    let off = run(&["--no-cache"]);
    assert_eq!(files(), 0, "--no-cache wrote vectors");
    let cold = run(&[]);
    assert!(files() > 0, "no vectors kept");
    let warm = run(&[]);
    assert_eq!(cold, warm);
    assert_eq!(off, cold);
    assert!(cold.contains(TARGET), "{cold}");
}
