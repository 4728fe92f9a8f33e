//! MIG selection with embedding redundancy on large inputs: dense (every candidate pulls
//! its similarity to each unit kept since it was last looked at) against sparse (each
//! kept unit pushes its similarity to its neighbours from the ANN index and SimHash
//! buckets), side by side in one run on the same vectors and values. Keeps N/10 units.
//! Prints markdown.
//!
//!     cargo bench --bench sparse_mig            # SPARSE_MIG_SIZES=20000,50000,100000

#[allow(dead_code, clippy::unwrap_used)]
#[path = "../tests/core/clustered.rs"]
mod clustered;

use std::time::Instant;

use pith::neural::cache::Vector;
use pith::select::{Additive, Cosine, MigGreedy, Selector, SparseCosine};

fn main() {
    let sizes: Vec<usize> = std::env::var("SPARSE_MIG_SIZES")
        .unwrap_or_else(|_| "20000,50000,100000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    println!(
        "| units | kept | dense MIG (s) | sparse: index + buckets (s) | sparse: select (s) | sparse total (s) | kept sets agree |"
    );
    println!("|---|---|---|---|---|---|---|");
    for n in sizes {
        // Clusters of 100 around random centres; a few hundred exact-ish copies too.
        let vectors = clustered::clustered(n, 384, n / 100, 0.75, 7);
        let rows: Vec<Vector> = vectors.rows().map(|r| Vector::from(r.to_vec())).collect();
        let mut rng = clustered::Rng::new(11);
        let values: Vec<f64> = (0..n).map(|_| rng.uniform()).collect();
        let costs = Additive(vec![1; n]);
        let budget = n / 10;
        let mig = MigGreedy::new(1.0);

        let t = Instant::now();
        let dense = mig.select(
            &values,
            &Cosine {
                vectors: rows,
                floor: 0.6,
            },
            &costs,
            budget,
        );
        let dense_s = t.elapsed().as_secs_f64();

        let t = Instant::now();
        let sparse_sim = SparseCosine::new(vectors, 64, 0.6);
        let build_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let sparse = mig.select(&values, &sparse_sim, &costs, budget);
        let select_s = t.elapsed().as_secs_f64();

        let same = dense
            .kept
            .iter()
            .zip(&sparse.kept)
            .filter(|(a, b)| a == b && **a)
            .count();
        println!(
            "| {n} | {budget} | {dense_s:.2} | {build_s:.2} | {select_s:.2} | {:.2} | {:.1}% |",
            build_s + select_s,
            100.0 * same as f64 / budget as f64
        );
    }
}
