//! Redundancy for large inputs: each unit's nearest neighbours by embedding cosine, from
//! the ANN index, instead of every pair.
//!
//! Past a few thousand units, comparing each candidate with everything kept costs
//! O(n × kept) dot products. Near-duplicates are by definition among a unit's nearest
//! neighbours, so keeping only the k nearest (both directions, floor-scaled like
//! [`super::Cosine`]) loses little, and lets MIG push each kept unit's similarity to its
//! neighbours instead of pulling it from every kept unit: selection stays near-linear.

use super::Similarity;
use crate::ann::{self, Vectors};

#[derive(Debug, Clone)]
pub struct SparseCosine {
    /// Per unit: (neighbour, scaled similarity), sorted by neighbour, only those above
    /// the floor.
    lists: Vec<Vec<(usize, f64)>>,
}

impl SparseCosine {
    /// The `k` nearest neighbours of every unit, found with the index [`ann::index_for`]
    /// picks for this many vectors (HNSW past [`ann::HNSW_THRESHOLD`]).
    pub fn new(vectors: Vectors, k: usize, floor: f64) -> Self {
        let n = vectors.len();
        let index = ann::index_for(vectors, ann::HNSW_THRESHOLD);
        let found = ann::neighbours(index.as_ref(), k);
        Self::from_neighbours(n, found.into_iter().enumerate().flat_map(|(i, ns)| {
            ns.into_iter()
                .map(move |nb| (i, nb.index, f64::from(nb.similarity)))
        }), floor)
    }

    /// From (unit, neighbour, cosine) triples; made symmetric.
    pub fn from_neighbours(
        n: usize,
        pairs: impl IntoIterator<Item = (usize, usize, f64)>,
        floor: f64,
    ) -> Self {
        let floor = floor.clamp(0.0, 0.999);
        let mut lists: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
        for (i, j, c) in pairs {
            let s = ((c - floor) / (1.0 - floor)).clamp(0.0, 1.0);
            if i != j && i < n && j < n && s > 0.0 {
                lists[i].push((j, s));
                lists[j].push((i, s));
            }
        }
        for l in &mut lists {
            l.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)));
            l.dedup_by_key(|p| p.0);
        }
        Self { lists }
    }
}

impl Similarity for SparseCosine {
    fn similarity(&self, i: usize, j: usize) -> f64 {
        if i == j {
            return 1.0;
        }
        let list = &self.lists[i];
        list.binary_search_by_key(&j, |p| p.0)
            .map_or(0.0, |k| list[k].1)
    }

    fn neighbours(&self, i: usize) -> Option<&[(usize, f64)]> {
        Some(&self.lists[i])
    }
}
