//! Throughput of the causal-LM scorer (`pith::lm::CausalLm`) against the bare ONNX
//! forward pass, on 2 threads, over the functions of a real repository.
//!
//! The same sequences — every function of the `rich` sdist (../shared/eval/code), model
//! tokens cut at the scorer's window — go through, side by side in one run:
//! - `bare, one at a time`: `Session::run` on each sequence alone (no padding at all);
//! - `bare, batches of 8 in file order`: padded to the longest of each batch, as a naive
//!   caller would batch;
//! - `CausalLm::logprobs`: pith's scorer (length-sorted batches with at most a tenth of
//!   padding, the window guard, output unpacking), with its cache off.
//!
//! Tokens/s counts real tokens only. After one warm-up batch the three paths take turns
//! on fifths of the input (load from other processes hits all alike); timings are
//! printed, never asserted. Prints markdown.
//!
//!     [PITH_LM_FUNCTIONS=300] cargo bench --bench lm

use std::path::Path;
use std::time::Instant;

use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::Tensor;
use pith::lm::{CausalLm, LmConfig};
use pith::models::ModelStore;
use pith::segment::ChunkKind;
use pith::{DocKind, Document, Preset};

const THREADS: usize = 2;
/// Turns the paths take, each on its own share of the input.
const ROUNDS: usize = 5;

fn main() {
    let limit: usize = std::env::var("PITH_LM_FUNCTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let store = ModelStore::discover();
    let library = store.runtime_library().expect("ONNX Runtime installed");
    let dir = store
        .locate("smollm2")
        .expect("`pith models install smollm2`")
        .dir;
    let lm = CausalLm::load(
        &library,
        &dir,
        LmConfig {
            threads: THREADS,
            cache_entries: 1,
            ..LmConfig::default()
        },
    )
    .expect("the LM loads");

    // Every function of rich, in file order.
    let work = tempfile::tempdir().expect("temp dir");
    let sdist =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/eval/code/rich-15.0.0.tar.gz");
    pith::eval::data::unpack_tar_gz(&sdist, work.path()).expect("the rich sdist");
    let mut files: Vec<_> = walk(&work.path().join("rich-15.0.0/rich"));
    files.sort();
    let preset = Preset::named("code").expect("built in");
    let mut seqs: Vec<Vec<u32>> = Vec::new();
    'files: for path in files {
        let text = std::fs::read_to_string(&path).expect("utf-8 source");
        let doc = Document::from_path_text(path.to_string_lossy(), text);
        let DocKind::Code(_) = doc.kind else { continue };
        for chunk in doc.kind.chunk(&doc.text, &preset.segment) {
            if chunk.kind != ChunkKind::Function {
                continue;
            }
            let mut ids = lm.tokenize(chunk.text(&doc.text)).expect("tokenizes").ids;
            ids.truncate(lm.window());
            seqs.push(ids);
            if seqs.len() == limit {
                break 'files;
            }
        }
    }
    let tokens: usize = seqs.iter().map(Vec::len).sum();
    let longest = seqs.iter().map(Vec::len).max().unwrap_or(0);

    let env = pith::neural::runtime::environment(&library).expect("runtime");
    // Builder errors are not Send and carry the builder: keep their messages.
    let mut session = Session::builder(env)
        .map_err(|e| e.to_string())
        .and_then(|b| {
            b.with_optimization_level(GraphOptimizationLevel::Level3)
                .map_err(|e| e.to_string())
        })
        .and_then(|b| b.with_intra_threads(THREADS).map_err(|e| e.to_string()))
        .and_then(|mut b| {
            b.commit_from_file(dir.join("model.onnx"))
                .map_err(|e| e.to_string())
        })
        .expect("session");
    let mut bare = |batch: &[&[u32]]| {
        let len = 1 + batch.iter().map(|s| s.len()).max().unwrap_or(0);
        let mut ids = vec![0i64; batch.len() * len];
        for (r, s) in batch.iter().enumerate() {
            for (c, &id) in s.iter().enumerate() {
                ids[r * len + 1 + c] = i64::from(id);
            }
        }
        let input = Tensor::from_array(([batch.len(), len], ids)).expect("tensor");
        let out = session
            .run(ort::inputs!["input_ids" => input])
            .expect("runs");
        out["logprobs"]
            .try_extract_tensor::<f32>()
            .expect("f32")
            .1
            .len()
    };
    let refs: Vec<&[u32]> = seqs.iter().map(Vec::as_slice).collect();
    bare(&refs[..1]);

    // The three paths take turns on the same fifths of the input, so load from other
    // processes on the machine falls on all of them alike.
    let (mut one, mut naive, mut scorer) = (0.0, 0.0, 0.0);
    for part in refs.chunks(refs.len().div_ceil(ROUNDS).max(1)) {
        let start = Instant::now();
        for s in part {
            bare(std::slice::from_ref(s));
        }
        one += start.elapsed().as_secs_f64();
        let start = Instant::now();
        for b in part.chunks(8) {
            bare(b);
        }
        naive += start.elapsed().as_secs_f64();
        let start = Instant::now();
        lm.logprobs(part).expect("scores");
        scorer += start.elapsed().as_secs_f64();
    }
    let stats = lm.stats();

    println!(
        "{} functions of rich-15.0.0, {tokens} model tokens (longest {longest}), {THREADS} threads\n",
        seqs.len()
    );
    println!("| path | seconds | tokens/s | positions computed |");
    println!("|---|---|---|---|");
    let row = |name: &str, secs: f64, positions: String| {
        println!(
            "| {name} | {secs:.2} | {:.0} | {positions} |",
            tokens as f64 / secs
        );
    };
    row(
        "bare `Session::run`, one sequence at a time",
        one,
        (tokens + seqs.len()).to_string(),
    );
    let padded: usize = refs
        .chunks(refs.len().div_ceil(ROUNDS).max(1))
        .flat_map(|part| part.chunks(8))
        .map(|b| b.len() * (1 + b.iter().map(|s| s.len()).max().unwrap_or(0)))
        .sum();
    row(
        "bare, batches of 8 in file order",
        naive,
        padded.to_string(),
    );
    row(
        "`CausalLm::logprobs` (sorted batches, cache off)",
        scorer,
        format!(
            "{} in {} batches; {:.2} s inside the model",
            stats.positions, stats.batches, stats.seconds
        ),
    );
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("a folder").flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.extension().is_some_and(|e| e == "py") {
            out.push(p);
        }
    }
    out
}
