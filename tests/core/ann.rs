//! The ANN index: brute force is exact, HNSW keeps recall on clustered data, `index_for`
//! switches by size, and edge cases answer sensibly.
#![allow(clippy::unwrap_used)]

use crate::clustered;

use clustered::{Rng, clustered, clustered_with_queries, recall};
use pith::ann::{
    AnnError, BruteForce, Hnsw, IndexKind, Neighbour, VectorIndex, Vectors, index_for, neighbours,
};
use proptest::prelude::*;

/// The reference: score every row with a plain sum, sort everything, cut at k.
fn naive(vectors: &Vectors, query: &[f32], k: usize) -> Vec<Neighbour> {
    let mut all: Vec<Neighbour> = vectors
        .rows()
        .enumerate()
        .map(|(index, row)| Neighbour {
            index,
            similarity: row.iter().zip(query).map(|(a, b)| a * b).sum(),
        })
        .collect();
    all.sort_by(|a, b| {
        b.similarity
            .partial_cmp(&a.similarity)
            .expect("finite")
            .then(a.index.cmp(&b.index))
    });
    all.truncate(k);
    all
}

/// Small integers, so every dot product is exact in f32 whatever the summation order,
/// and ties are frequent (they must order by index).
fn small_int_vectors(max_rows: usize) -> impl Strategy<Value = (usize, Vec<f32>, Vec<f32>)> {
    (1usize..40, 0usize..max_rows).prop_flat_map(|(dim, rows)| {
        (
            Just(dim),
            prop::collection::vec((-3i8..=3).prop_map(f32::from), dim * rows),
            prop::collection::vec((-3i8..=3).prop_map(f32::from), dim),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn brute_force_equals_a_full_sort((dim, data, query) in small_int_vectors(80), k in 0usize..100) {
        let vectors = Vectors::from_flat(dim, data).unwrap();
        let expected = naive(&vectors, &query, k);
        let index = BruteForce::new(vectors);
        prop_assert_eq!(index.search(&query, k), expected);
    }

    /// The blocked all-queries path (query blocks × row tiles, split over threads) must
    /// agree with one query at a time; up to 160 rows cross the 64-row tile and query-block
    /// boundaries.
    #[test]
    fn brute_force_batches_equal_single_queries((dim, data, _q) in small_int_vectors(160), k in 0usize..12) {
        let vectors = Vectors::from_flat(dim, data).unwrap();
        let index = BruteForce::new(vectors.clone());
        let batch = index.search_many(&vectors, k);
        prop_assert_eq!(batch.len(), vectors.len());
        for (row, got) in vectors.rows().zip(&batch) {
            prop_assert_eq!(got, &naive(&vectors, row, k));
        }
    }
}

/// Dimension of the HNSW recall test. Real embeddings have 384, and the benchmark
/// (release) measures recall there; here, in the dev profile, pith's code is unoptimised
/// and that includes hnsw_rs's graph code (generic, so compiled in this crate) and the
/// distance: 5k vectors of 384 dimensions take minutes to index and search, 64
/// dimensions keep the clustered structure at a sixth of the cost.
const TEST_DIM: usize = 64;
const TEST_N: usize = 5_000;

#[test]
fn hnsw_recall_at_10_on_clustered_vectors() {
    // 5k vectors around 50 centres, like embeddings of a corpus with 50 topics; queries
    // are held-out vectors around the same centres.
    let (vectors, queries) = clustered_with_queries(TEST_N, 200, TEST_DIM, 50, 0.75, 7);
    let brute = BruteForce::new(vectors.clone());
    let hnsw = Hnsw::new(vectors.clone());
    let exact = brute.search_many(&queries, 10);
    let approx = hnsw.search_many(&queries, 10);
    let r = recall(&exact, &approx);
    println!("HNSW recall@10 on {TEST_N} clustered vectors: {r:.4}");
    assert!(r >= 0.95, "recall@10 {r:.4} < 0.95");
    // Hits are re-scored with the exact similarity, best first.
    for (hits, query) in approx.iter().zip(queries.rows()) {
        assert_eq!(hits.len(), 10);
        assert!(hits.windows(2).all(|w| w[0].similarity >= w[1].similarity));
        for hit in hits {
            let row = vectors.row(hit.index).unwrap();
            let plain: f32 = row.iter().zip(query).map(|(a, b)| a * b).sum();
            assert!(
                (plain - hit.similarity).abs() < 1e-5,
                "{plain} vs {}",
                hit.similarity
            );
        }
    }

    // Every unit's neighbours (MIG's redundancy): never itself, recall checked on a
    // sample of units against exact all-pairs.
    let each = neighbours(&hnsw, 10);
    assert_eq!(each.len(), TEST_N);
    for (me, hits) in each.iter().enumerate() {
        assert_eq!(hits.len(), 10);
        assert!(
            hits.iter().all(|n| n.index != me),
            "unit {me} is its own neighbour"
        );
    }
    let sample: Vec<usize> = (0..TEST_N).step_by(25).collect();
    let exact_each: Vec<Vec<Neighbour>> = sample
        .iter()
        .map(|&me| {
            let mut hits = brute.search(vectors.row(me).unwrap(), 11);
            hits.retain(|n| n.index != me);
            hits.truncate(10);
            hits
        })
        .collect();
    let approx_each: Vec<Vec<Neighbour>> = sample.iter().map(|&me| each[me].clone()).collect();
    let r = recall(&exact_each, &approx_each);
    println!("HNSW all-pairs recall@10 on {TEST_N} clustered vectors: {r:.4}");
    assert!(r >= 0.95, "all-pairs recall@10 {r:.4} < 0.95");
}

#[test]
fn index_for_switches_at_the_threshold() {
    let below = clustered(99, 16, 4, 0.75, 1);
    let at = clustered(100, 16, 4, 0.75, 1);
    assert_eq!(index_for(below, 100).kind(), IndexKind::BruteForce);
    let index = index_for(at.clone(), 100);
    assert_eq!(index.kind(), IndexKind::Hnsw);
    assert_eq!((index.len(), index.dim()), (100, 16));
    // The switch changes the method, not the answer for a stored vector's own top hit.
    let first = at.row(0).unwrap();
    assert_eq!(index.search(first, 1)[0].index, 0);
    assert_eq!(
        index_for(Vectors::new(8).unwrap(), 0).kind(),
        IndexKind::Hnsw
    );
    assert_eq!(
        index_for(Vectors::new(8).unwrap(), 1).kind(),
        IndexKind::BruteForce
    );
}

/// Both implementations, built over the same vectors, for the edge cases.
fn both(vectors: &Vectors) -> [Box<dyn VectorIndex>; 2] {
    [
        Box::new(BruteForce::new(vectors.clone())),
        Box::new(Hnsw::new(vectors.clone())),
    ]
}

#[test]
fn k_zero_and_k_past_the_size() {
    let vectors = clustered(50, 32, 5, 0.75, 3);
    let query = vectors.row(7).unwrap().to_vec();
    // Brute force is checked against a plain sort above; here HNSW must match it.
    let expected = BruteForce::new(vectors.clone()).search(&query, 50);
    for index in both(&vectors) {
        assert!(index.search(&query, 0).is_empty(), "{:?}", index.kind());
        let all = index.search(&query, 1_000);
        assert_eq!(all.len(), 50, "{:?}", index.kind());
        let got: Vec<usize> = all.iter().map(|n| n.index).collect();
        let want: Vec<usize> = expected.iter().map(|n| n.index).collect();
        assert_eq!(got, want, "{:?}", index.kind());
        assert!(neighbours(index.as_ref(), 0).iter().all(Vec::is_empty));
        // Every other unit, none of them itself.
        let each = neighbours(index.as_ref(), 1_000);
        assert!(
            each.iter()
                .enumerate()
                .all(|(me, hits)| hits.len() == 49 && hits.iter().all(|n| n.index != me))
        );
    }
}

#[test]
fn empty_index_finds_nothing() {
    let empty = Vectors::new(384).unwrap();
    let query = Rng::new(5).unit(384);
    for index in both(&empty) {
        assert!(index.is_empty());
        assert!(index.search(&query, 10).is_empty());
        assert!(neighbours(index.as_ref(), 10).is_empty());
        let many = index.search_many(&clustered(3, 384, 1, 0.5, 2), 10);
        assert_eq!(many, vec![Vec::new(); 3]);
    }
}

#[test]
fn degenerate_queries_do_not_panic() {
    let vectors = clustered(300, 64, 6, 0.75, 9);
    for index in both(&vectors) {
        // A zero vector is equally (un)similar to everything: k hits, all similarity 0.
        let zero = index.search(&[0.0; 64], 5);
        assert_eq!(zero.len(), 5, "{:?}", index.kind());
        assert!(zero.iter().all(|n| n.similarity == 0.0));
        // Brute force breaks the all-way tie by index.
        if index.kind() == IndexKind::BruteForce {
            let got: Vec<usize> = zero.iter().map(|n| n.index).collect();
            assert_eq!(got, vec![0, 1, 2, 3, 4]);
        }
        // Wrong dimension matches nothing; a NaN query ranks nothing but does not panic.
        assert!(index.search(&[1.0; 63], 5).is_empty());
        assert!(index.search(&[f32::NAN; 64], 5).len() <= 5);
    }
}

#[test]
fn duplicates_are_each_others_neighbours() {
    let mut vectors = clustered(40, 16, 4, 0.75, 21);
    let copy = vectors.row(3).unwrap().to_vec();
    vectors.push(&copy).unwrap(); // unit 40 duplicates unit 3
    let index = BruteForce::new(vectors);
    let each = neighbours(&index, 3);
    assert_eq!(each[3][0].index, 40);
    assert_eq!(each[40][0].index, 3);
    assert!(each[3].iter().all(|n| n.index != 3));
}

#[test]
fn vectors_reject_malformed_input() {
    assert_eq!(Vectors::new(0), Err(AnnError::ZeroDimension));
    assert_eq!(
        Vectors::from_flat(3, vec![0.0; 7]),
        Err(AnnError::Ragged { len: 7, dim: 3 })
    );
    assert_eq!(
        Vectors::from_flat(2, vec![0.0, 1.0, f32::NAN, 0.0]),
        Err(AnnError::NonFinite { row: 1 })
    );
    let mut v = Vectors::new(2).unwrap();
    assert_eq!(
        v.push(&[1.0]),
        Err(AnnError::WrongDimension { got: 1, dim: 2 })
    );
    assert_eq!(
        v.push(&[f32::INFINITY, 0.0]),
        Err(AnnError::NonFinite { row: 0 })
    );
    v.push(&[0.6, 0.8]).unwrap();
    assert_eq!(
        (v.len(), v.row(0), v.row(1)),
        (1, Some(&[0.6, 0.8][..]), None)
    );
}
