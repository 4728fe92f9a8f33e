//! Exact search: the query's dot product with every stored vector, top k kept in a
//! bounded heap. Below a few ten thousand vectors this beats HNSW, whose build alone is
//! many searches.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::{IndexKind, Neighbour, VectorIndex, Vectors, best_first, dot, par_ranges};

/// Queries scored together against one tile of stored rows. All-pairs search reads the
/// stored vectors once per query block instead of once per query: a tile (64 × 384 f32 =
/// 96 KiB) stays in cache while the block's queries pass over it, so the scan is bound by
/// arithmetic rather than memory bandwidth.
const QUERY_BLOCK: usize = 64;
const ROW_TILE: usize = 64;

/// Exact nearest neighbours by scanning every stored vector.
#[derive(Debug)]
pub struct BruteForce {
    vectors: Vectors,
}

impl BruteForce {
    /// Nothing to build: the index is the vectors.
    pub fn new(vectors: Vectors) -> Self {
        Self { vectors }
    }
}

impl VectorIndex for BruteForce {
    fn vectors(&self) -> &Vectors {
        &self.vectors
    }

    fn kind(&self) -> IndexKind {
        IndexKind::BruteForce
    }

    fn search(&self, query: &[f32], k: usize) -> Vec<Neighbour> {
        if query.len() != self.vectors.dim() {
            return Vec::new();
        }
        let mut top = TopK::new(k);
        for (index, row) in self.vectors.rows().enumerate() {
            top.offer(index, dot(query, row));
        }
        top.into_sorted()
    }

    fn search_many(&self, queries: &Vectors, k: usize) -> Vec<Vec<Neighbour>> {
        if queries.dim() != self.vectors.dim() {
            return vec![Vec::new(); queries.len()];
        }
        let stored = self.vectors.as_flat();
        let dim = self.vectors.dim();
        par_ranges(queries.len(), |range| {
            let mut out = Vec::with_capacity(range.len());
            let block_rows = &queries.as_flat()[range.start * dim..range.end * dim];
            for block in block_rows.chunks(QUERY_BLOCK * dim) {
                let mut tops: Vec<TopK> = (0..block.len() / dim).map(|_| TopK::new(k)).collect();
                for (t, tile) in stored.chunks(ROW_TILE * dim).enumerate() {
                    let first = t * ROW_TILE;
                    for (q, top) in block.chunks_exact(dim).zip(&mut tops) {
                        for (r, row) in tile.chunks_exact(dim).enumerate() {
                            top.offer(first + r, dot(q, row));
                        }
                    }
                }
                out.extend(tops.into_iter().map(TopK::into_sorted));
            }
            out
        })
    }
}

/// The k best neighbours seen so far. A max-heap under "worse than", so the root is the
/// one to evict and each offer costs one comparison when it does not make the cut.
struct TopK {
    k: usize,
    heap: BinaryHeap<Worse>,
}

impl TopK {
    fn new(k: usize) -> Self {
        Self {
            k,
            heap: BinaryHeap::with_capacity(k.min(1024)),
        }
    }

    fn offer(&mut self, index: usize, similarity: f32) {
        if self.k == 0 {
            return;
        }
        let candidate = Worse(Neighbour { index, similarity });
        if self.heap.len() < self.k {
            self.heap.push(candidate);
        } else if let Some(mut worst) = self.heap.peek_mut()
            && candidate < *worst
        {
            *worst = candidate;
        }
    }

    /// Best first.
    fn into_sorted(self) -> Vec<Neighbour> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|w| w.0)
            .collect()
    }
}

/// Orders neighbours so that greater means worse (lower similarity, then higher index).
struct Worse(Neighbour);

impl Ord for Worse {
    fn cmp(&self, other: &Self) -> Ordering {
        best_first(&self.0, &other.0)
    }
}

impl PartialOrd for Worse {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Worse {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Worse {}
