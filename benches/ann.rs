//! HNSW vs brute force on clustered 384-d unit vectors (shaped like sentence embeddings,
//! see tests/core/clustered.rs), side by side for each size, to place
//! `pith::ann::HNSW_THRESHOLD`. Prints a markdown table for BENCHMARKS.md.
//!
//!     cargo bench --bench ann
//!
//! The use that matters is MIG's: every unit's 10 nearest other units (all-pairs k-NN)
//! plus one query. Brute force's all-pairs time is measured on every vector up to
//! `FULL_BRUTE_UP_TO` and beyond that on a sample of rows, scaled by `n / sample` (every
//! row costs the same scan, so the estimate is exact up to noise); the sample also gives
//! the all-pairs recall of HNSW.

#[allow(dead_code, clippy::unwrap_used)]
#[path = "../tests/core/clustered.rs"]
mod clustered;

use std::time::Instant;

use clustered::{clustered_with_queries, recall};
use pith::ann::{BruteForce, Hnsw, HnswParams, VectorIndex, Vectors, neighbours};

const DIM: usize = 384;
const K: usize = 10;
const QUERIES: usize = 200;
/// One topic per 100 vectors, as in a corpus of many short documents.
const PER_CLUSTER: usize = 100;
/// Noise length relative to the unit centre (cosine to the centre ≈ 0.8).
const NOISE: f32 = 0.75;
const FULL_BRUTE_UP_TO: usize = 20_000;
const SAMPLE: usize = 4_000;

/// Comma-separated numbers from an environment variable, for sweeps
/// (`ANN_BENCH_SIZES=5000,20000`, `ANN_BENCH_PARAMS=16,100,64`, `ANN_BENCH_NOISE=1.0`).
fn env_list<T: std::str::FromStr>(name: &str) -> Option<Vec<T>> {
    let list = std::env::var(name).ok()?;
    Some(
        list.split(',')
            .filter_map(|s| s.trim().parse().ok())
            .collect(),
    )
}

fn sizes() -> Vec<usize> {
    env_list("ANN_BENCH_SIZES")
        .unwrap_or_else(|| vec![1_000, 2_000, 5_000, 10_000, 15_000, 20_000, 50_000, 100_000])
}

fn params() -> HnswParams {
    match env_list::<usize>("ANN_BENCH_PARAMS").as_deref() {
        Some(&[max_connections, ef_construction, ef_search]) => HnswParams {
            max_connections,
            ef_construction,
            ef_search,
        },
        _ => HnswParams::default(),
    }
}

/// Mean seconds per query, one query at a time on one thread.
fn per_query(index: &dyn VectorIndex, queries: &Vectors) -> (f64, Vec<Vec<pith::ann::Neighbour>>) {
    let start = Instant::now();
    let hits: Vec<_> = queries.rows().map(|q| index.search(q, K)).collect();
    (start.elapsed().as_secs_f64() / queries.len() as f64, hits)
}

/// The first `n` rows of `vectors`.
fn head(vectors: &Vectors, n: usize) -> Vectors {
    let dim = vectors.dim();
    Vectors::from_flat(dim, vectors.as_flat()[..n * dim].to_vec()).expect("rows of a valid set")
}

fn main() {
    let params = params();
    let noise = env_list::<f32>("ANN_BENCH_NOISE")
        .and_then(|v| v.first().copied())
        .unwrap_or(NOISE);
    println!("HNSW {params:?}, noise {noise}, k = {K}, {QUERIES} held-out queries\n");
    println!(
        "| N | brute query (ms) | brute all-pairs (s) | HNSW build (s) | HNSW query (ms) | \
         HNSW all-pairs (s) | HNSW build + all-pairs (s) | recall@10 query | \
         recall@10 all-pairs | faster for all-pairs + 1 query |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for n in sizes() {
        let (vectors, queries) =
            clustered_with_queries(n, QUERIES, DIM, (n / PER_CLUSTER).max(1), noise, n as u64);

        let brute = BruteForce::new(vectors.clone());
        let (brute_query, exact_hits) = per_query(&brute, &queries);
        // All-pairs k-NN: everything, or a sample of rows scaled up.
        let sample = if n <= FULL_BRUTE_UP_TO { n } else { SAMPLE };
        let sample_rows = head(&vectors, sample);
        let start = Instant::now();
        let exact_pairs: Vec<Vec<_>> = if sample == n {
            neighbours(&brute, K)
        } else {
            brute
                .search_many(&sample_rows, K + 1)
                .into_iter()
                .enumerate()
                .map(|(me, mut hits)| {
                    hits.retain(|h| h.index != me);
                    hits.truncate(K);
                    hits
                })
                .collect()
        };
        let brute_pairs = start.elapsed().as_secs_f64() * n as f64 / sample as f64;

        let start = Instant::now();
        let hnsw = Hnsw::with_params(vectors, params);
        let build = start.elapsed().as_secs_f64();
        let (hnsw_query, approx_hits) = per_query(&hnsw, &queries);
        let start = Instant::now();
        let approx_pairs = neighbours(&hnsw, K);
        let hnsw_pairs = start.elapsed().as_secs_f64();

        let query_recall = recall(&exact_hits, &approx_hits);
        let pairs_recall = recall(&exact_pairs, &approx_pairs[..sample]);
        let brute_total = brute_pairs + brute_query;
        let hnsw_total = build + hnsw_pairs + hnsw_query;
        let winner = if hnsw_total < brute_total {
            format!("HNSW ({:.1}x)", brute_total / hnsw_total)
        } else {
            format!("brute ({:.1}x)", hnsw_total / brute_total)
        };
        let estimated = if sample < n { " (est.)" } else { "" };
        println!(
            "| {n} | {:.3} | {brute_pairs:.2}{estimated} | {build:.2} | {:.3} | {hnsw_pairs:.2} | \
             {:.2} | {query_recall:.3} | {pairs_recall:.3} | {winner} |",
            brute_query * 1e3,
            hnsw_query * 1e3,
            build + hnsw_pairs,
        );
    }
}
