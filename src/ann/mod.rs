//! Nearest-neighbour search over L2-normalised sentence embeddings.
//!
//! Relevance (top-k units for a query) and redundancy (each unit's closest other units)
//! both need "which stored vectors are most similar to this one". Exact search costs
//! `len × dim` per query, so all-pairs neighbours are quadratic; an HNSW graph makes them
//! roughly `n log n` but only pays off on large inputs (building the graph is itself many
//! searches). [`VectorIndex`] hides the choice; [`index_for`] makes it by size, switching
//! at [`HNSW_THRESHOLD`] (measured: BENCHMARKS.md, "ANN index: HNSW vs brute force").
//!
//! Vectors are expected to be unit length, so cosine similarity is the dot product.
//! Nothing here normalises for the caller: a vector that is not unit length simply scores
//! its dot product.

mod brute;
#[cfg(feature = "neural")]
mod hnsw;

use std::cmp::Ordering;
use std::fmt;
use std::ops::Range;

pub use brute::BruteForce;
#[cfg(feature = "neural")]
pub use hnsw::{Hnsw, HnswParams};

/// Stored vectors from which [`index_for`] builds HNSW rather than brute force.
///
/// Measured for the use that matters, every unit's 10 nearest other units plus one query
/// (384-d clustered unit vectors, release build, 2 shared cores): the two break even
/// around 10k vectors (at 5k and 10k run-to-run noise picked the winner), and from 15k on
/// HNSW's build plus all-pairs search won every run (1.1–1.4x at 15k, 3.8x at 100k).
/// Below this, brute force costs about the same and is exact.
pub const HNSW_THRESHOLD: usize = 15_000;

/// Errors building [`Vectors`].
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AnnError {
    /// The dimension is 0.
    #[error("vector dimension must be at least 1")]
    ZeroDimension,
    /// The flat values are not a whole number of rows.
    #[error("{len} values do not split into rows of {dim}")]
    Ragged {
        /// Values given.
        len: usize,
        /// The dimension.
        dim: usize,
    },
    /// A row has the wrong length.
    #[error("vector has {got} components, expected {dim}")]
    WrongDimension {
        /// The row's length.
        got: usize,
        /// The dimension.
        dim: usize,
    },
    /// A row holds NaN or an infinity.
    #[error("row {row} has a non-finite component")]
    NonFinite {
        /// The row's index.
        row: usize,
    },
}

/// Vectors of one dimension stored flat, row after row, so an index scans contiguous
/// memory and callers never build a `Vec<Vec<f32>>`.
#[derive(Clone, Debug, PartialEq)]
pub struct Vectors {
    dim: usize,
    data: Vec<f32>,
}

impl Vectors {
    /// An empty set of `dim`-dimensional vectors.
    pub fn new(dim: usize) -> Result<Self, AnnError> {
        Self::from_flat(dim, Vec::new())
    }

    /// Wraps row-major `data` (`len / dim` rows). Every value must be finite: a NaN would
    /// make similarities unordered.
    pub fn from_flat(dim: usize, data: Vec<f32>) -> Result<Self, AnnError> {
        if dim == 0 {
            return Err(AnnError::ZeroDimension);
        }
        if !data.len().is_multiple_of(dim) {
            return Err(AnnError::Ragged {
                len: data.len(),
                dim,
            });
        }
        if let Some(at) = data.iter().position(|x| !x.is_finite()) {
            return Err(AnnError::NonFinite { row: at / dim });
        }
        Ok(Self { dim, data })
    }

    /// Appends one vector.
    pub fn push(&mut self, row: &[f32]) -> Result<(), AnnError> {
        if row.len() != self.dim {
            return Err(AnnError::WrongDimension {
                got: row.len(),
                dim: self.dim,
            });
        }
        if row.iter().any(|x| !x.is_finite()) {
            return Err(AnnError::NonFinite { row: self.len() });
        }
        self.data.extend_from_slice(row);
        Ok(())
    }

    /// Values per row.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.data.len() / self.dim
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Row `i`, if there is one.
    pub fn row(&self, i: usize) -> Option<&[f32]> {
        let start = i.checked_mul(self.dim)?;
        self.data.get(start..start.checked_add(self.dim)?)
    }

    /// All rows in order.
    pub fn rows(&self) -> std::slice::ChunksExact<'_, f32> {
        self.data.chunks_exact(self.dim)
    }

    /// The flat row-major values.
    pub fn as_flat(&self) -> &[f32] {
        &self.data
    }
}

/// One search hit: the stored vector's position and its cosine similarity to the query.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Neighbour {
    /// Row of the stored vector.
    pub index: usize,
    /// Its cosine similarity to the query.
    pub similarity: f32,
}

/// Which implementation an index is, for reports and tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexKind {
    /// Exact: every stored vector is compared.
    BruteForce,
    /// Approximate: a hierarchical navigable small world graph.
    Hnsw,
}

/// The k stored vectors most similar to a query by cosine similarity (vectors are unit
/// length, so the dot product), best first; equal similarities by lower index.
///
/// `k = 0`, an empty index or a query of the wrong dimension give no neighbours; `k`
/// past the size gives every stored vector. Exact implementations return exactly the top
/// k; approximate ones may miss some (recall is measured in tests and BENCHMARKS.md).
pub trait VectorIndex: Send + Sync + fmt::Debug {
    /// The stored vectors, in insertion order (a neighbour's `index` points here).
    fn vectors(&self) -> &Vectors;

    /// Which implementation this is.
    fn kind(&self) -> IndexKind;

    /// The `k` stored vectors most similar to `query`, most similar first.
    fn search(&self, query: &[f32], k: usize) -> Vec<Neighbour>;

    /// [`search`](Self::search) for every row of `queries`, spread over the cores.
    fn search_many(&self, queries: &Vectors, k: usize) -> Vec<Vec<Neighbour>> {
        par_ranges(queries.len(), |range| {
            range
                .filter_map(|i| queries.row(i))
                .map(|q| self.search(q, k))
                .collect()
        })
    }

    /// Number of stored vectors.
    fn len(&self) -> usize {
        self.vectors().len()
    }

    /// Whether nothing is stored.
    fn is_empty(&self) -> bool {
        self.vectors().is_empty()
    }

    /// Length of the stored vectors.
    fn dim(&self) -> usize {
        self.vectors().dim()
    }
}

/// Brute force below `threshold` stored vectors, HNSW at or above it. Pass
/// [`HNSW_THRESHOLD`] unless measuring. The threshold is set for all-pairs use
/// ([`neighbours`]); to rank units against a single query, [`BruteForce`] is faster at any
/// size, since building the graph costs thousands of queries.
pub fn index_for(vectors: Vectors, threshold: usize) -> Box<dyn VectorIndex> {
    // Without the `neural` feature there is no HNSW (nor embeddings to index).
    #[cfg(feature = "neural")]
    if vectors.len() >= threshold {
        return Box::new(Hnsw::new(vectors));
    }
    #[cfg(not(feature = "neural"))]
    let _ = threshold;
    Box::new(BruteForce::new(vectors))
}

/// Each stored vector's `k` nearest *other* stored vectors, best first (MIG's redundancy
/// neighbours). An exact duplicate of a unit counts as another unit.
pub fn neighbours(index: &dyn VectorIndex, k: usize) -> Vec<Vec<Neighbour>> {
    if k == 0 {
        return vec![Vec::new(); index.len()];
    }
    // One extra hit makes room for the unit itself, which is dropped by index (not by
    // position: a duplicate with a lower index ranks before it).
    let mut all = index.search_many(index.vectors(), k.saturating_add(1));
    for (me, hits) in all.iter_mut().enumerate() {
        hits.retain(|n| n.index != me);
        hits.truncate(k);
    }
    all
}

/// Dot product in 16 independent lanes, so the compiler can keep them in SIMD registers
/// (a single running sum is a dependency chain it may not reorder).
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 16;
    let (a_chunks, a_rest) = a.as_chunks::<LANES>();
    let (b_chunks, b_rest) = b.as_chunks::<LANES>();
    let mut acc = [0.0f32; LANES];
    for (x, y) in a_chunks.iter().zip(b_chunks) {
        for lane in 0..LANES {
            acc[lane] += x[lane] * y[lane];
        }
    }
    let tail: f32 = a_rest.iter().zip(b_rest).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
}

/// Best-first order: higher similarity, then lower index. NaN (only from a NaN query)
/// ranks last rather than making the order partial.
pub(crate) fn best_first(a: &Neighbour, b: &Neighbour) -> Ordering {
    rank_key(b.similarity)
        .total_cmp(&rank_key(a.similarity))
        .then(a.index.cmp(&b.index))
}

fn rank_key(similarity: f32) -> f32 {
    if similarity.is_nan() {
        f32::NEG_INFINITY
    } else {
        similarity
    }
}

/// Splits `0..n` into one contiguous range per core, runs `f` on each in a scoped thread
/// and concatenates the results in order.
pub(crate) fn par_ranges<R: Send>(n: usize, f: impl Fn(Range<usize>) -> Vec<R> + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    if threads < 2 || n < 2 {
        return f(0..n);
    }
    let per = n.div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .step_by(per)
            .map(|start| {
                let f = &f;
                s.spawn(move || f(start..(start + per).min(n)))
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| match h.join() {
                Ok(part) => part,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}
