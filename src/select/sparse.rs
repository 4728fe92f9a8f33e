//! Redundancy for large inputs: the nearest neighbours of each *kept* unit, from the ANN
//! index, instead of comparing every candidate with everything kept.
//!
//! Past a few thousand units, dense MIG costs O(n × kept) dot products. Near-duplicates
//! of a unit are by definition among its nearest neighbours, so when a unit is kept its
//! neighbours get its similarity pushed to them, and MIG never compares anything else:
//! selection costs one lookup per kept unit.
//!
//! Neighbours come from two places. The ANN index (HNSW past its threshold) gives the k
//! nearest; but HNSW strands tight clusters of near-identical vectors — exactly the
//! copies redundancy is for (measured: 300 units kept from 400 clusters of 50 copies
//! covered 12 clusters with HNSW alone). So units are also bucketed by random-hyperplane
//! signatures (SimHash, several tables): two vectors at cosine 0.99 share a 12-bit
//! bucket in one table with probability ≈ 0.6, in one of 8 tables with ≈ 0.999, while
//! unrelated ones almost never do. Every bucket mate is scored exactly.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::Similarity;
use super::cosine::above_floor;
use crate::ann::{self, VectorIndex, Vectors};
use crate::vector::dot;

/// Cosine redundancy through the nearest neighbours of each kept unit (see the module
/// docs), for inputs too large for [`Cosine`](super::Cosine).
#[derive(Debug)]
pub struct SparseCosine {
    index: Box<dyn VectorIndex>,
    k: usize,
    floor: f64,
    /// Per unit, found on first use: (neighbour, scaled similarity) above the floor.
    lists: Vec<OnceLock<Vec<(usize, f64)>>>,
    /// Per SimHash table: signature → units, and each unit's signature.
    tables: Vec<Table>,
}

/// One SimHash table: signature → units, and each unit's signature.
type Table = (HashMap<u16, Vec<usize>>, Vec<u16>);

/// SimHash tables and bits per table.
const TABLES: usize = 8;
const BITS: usize = 12;

/// Fixed pseudo-random hyperplanes (SplitMix64), so selections repeat across runs.
fn planes(dim: usize) -> Vec<f32> {
    let mut state = 0x005e_ed0f_c05e_u64;
    (0..TABLES * BITS * dim)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
        })
        .collect()
}

fn simhash_tables(vectors: &Vectors) -> Vec<Table> {
    let dim = vectors.dim();
    let planes = planes(dim);
    let mut tables: Vec<Table> = (0..TABLES)
        .map(|_| (HashMap::new(), Vec::with_capacity(vectors.len())))
        .collect();
    for (i, row) in vectors.rows().enumerate() {
        for (t, (buckets, sigs)) in tables.iter_mut().enumerate() {
            let mut sig = 0u16;
            for b in 0..BITS {
                let p = &planes[(t * BITS + b) * dim..(t * BITS + b + 1) * dim];
                if dot(row, p) >= 0.0 {
                    sig |= 1 << b;
                }
            }
            sigs.push(sig);
            buckets.entry(sig).or_default().push(i);
        }
    }
    tables
}

impl SparseCosine {
    /// Redundancy over `vectors` (unit length) through the `k` nearest neighbours of
    /// each kept unit, with the index [`ann::index_for`] picks for this many vectors.
    pub fn new(vectors: Vectors, k: usize, floor: f64) -> Self {
        let n = vectors.len();
        Self {
            tables: simhash_tables(&vectors),
            index: ann::index_for(vectors, ann::HNSW_THRESHOLD),
            k,
            floor,
            lists: (0..n).map(|_| OnceLock::new()).collect(),
        }
    }

    fn scale(&self, cosine: f64) -> f64 {
        above_floor(cosine, self.floor)
    }
}

impl Similarity for SparseCosine {
    /// Exact, like [`super::Cosine`]; MIG uses [`Similarity::neighbours`] instead.
    fn similarity(&self, i: usize, j: usize) -> f64 {
        if i == j {
            return 1.0;
        }
        let v = self.index.vectors();
        match (v.row(i), v.row(j)) {
            (Some(a), Some(b)) => self.scale(f64::from(dot(a, b))),
            _ => 0.0,
        }
    }

    fn neighbours(&self, i: usize) -> Option<&[(usize, f64)]> {
        let list = self.lists.get(i)?.get_or_init(|| {
            let Some(row) = self.index.vectors().row(i) else {
                return Vec::new();
            };
            let mut found: HashMap<usize, f64> = self
                .index
                .search(row, self.k.saturating_add(1))
                .into_iter()
                .map(|nb| (nb.index, self.scale(f64::from(nb.similarity))))
                .collect();
            for (buckets, sigs) in &self.tables {
                for &j in buckets.get(&sigs[i]).map_or(&[][..], Vec::as_slice) {
                    found.entry(j).or_insert_with(|| self.similarity(i, j));
                }
            }
            let mut list: Vec<(usize, f64)> = found
                .into_iter()
                .filter(|&(j, s)| j != i && s > 0.0)
                .collect();
            list.sort_by_key(|p| p.0);
            list
        });
        Some(list)
    }
}
