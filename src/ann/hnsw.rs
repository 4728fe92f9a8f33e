//! Approximate search on an HNSW graph (hnsw_rs), for inputs large enough that building
//! the graph costs less than scanning every vector for every query.
//!
//! Not deterministic: hnsw_rs seeds its layer sampler with a constant, but the graph is
//! built by parallel insertion, so which neighbours a point links to depends on thread
//! timing. Results can differ slightly between runs; tests check recall, not equality.

use std::fmt;

use hnsw_rs::anndists::dist::Distance;

use super::{IndexKind, Neighbour, VectorIndex, Vectors, best_first, dot};

/// Graph parameters. The defaults are the measured choice (BENCHMARKS.md, "ANN index:
/// HNSW vs brute force"). The build dominates the all-pairs cost, so `ef_construction`
/// is as low as recall allows (half the build time of 100 at the same recall on
/// clustered 384-d vectors); searches are cheap, so `ef_search` is generous (at 50k
/// vectors 32 gave recall@10 0.97, 64 gives 0.995). The fields are public so
/// benchmarks can sweep them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HnswParams {
    /// Links per node per layer (layer 0 keeps twice as many). Fewer links lose recall
    /// on clustered data; more slow the build with little gain at k ≈ 10.
    pub max_connections: usize,
    /// Candidates examined while linking a new node; build time grows about linearly.
    /// Keep it well above `2 × max_connections`, the links kept on layer 0: at equality
    /// every candidate becomes a link with no choice left to the pruning heuristic, and
    /// recall@10 collapsed (0.50 at 16 / 32 on the benchmark, 0.99 at 16 / 40).
    pub ef_construction: usize,
    /// Candidates examined per query (raised to k when k is larger); search time grows
    /// about linearly.
    pub ef_search: usize,
}

impl Default for HnswParams {
    fn default() -> Self {
        Self {
            max_connections: 16,
            ef_construction: 48,
            ef_search: 64,
        }
    }
}

/// hnsw_rs caps layers at 16; with 16 links per node even 10^7 points need fewer.
const MAX_LAYERS: usize = 16;

/// Cosine distance `1 - a·b` for unit vectors. anndists has `DistDot` for exactly this
/// case, but its scalar path asserts `1 - a·b >= 0`, which rounding breaks for a vector
/// against itself (a·a can come out as 1.0000001); this one clamps instead and uses the
/// vectorisable [`dot`].
#[derive(Clone, Copy, Default)]
struct UnitCosine;

impl Distance<f32> for UnitCosine {
    fn eval(&self, a: &[f32], b: &[f32]) -> f32 {
        let distance = 1.0 - dot(a, b);
        // hnsw_rs asserts distances are non-negative; NaN (a NaN query) is farthest.
        if distance.is_nan() {
            2.0
        } else {
            distance.max(0.0)
        }
    }
}

/// Approximate nearest neighbours on an HNSW graph. Keeps its own copy of the vectors
/// (hnsw_rs copies each inserted vector too) to re-score hits exactly and to answer
/// exhaustively when k reaches the size.
pub struct Hnsw {
    vectors: Vectors,
    params: HnswParams,
    graph: hnsw_rs::hnsw::Hnsw<'static, f32, UnitCosine>,
}

impl Hnsw {
    /// Builds the graph with the default parameters, inserting on all cores.
    pub fn new(vectors: Vectors) -> Self {
        Self::with_params(vectors, HnswParams::default())
    }

    /// Builds the graph, inserting on all cores. `max_connections` is capped at 255
    /// (hnsw_rs exits the process above 256).
    pub fn with_params(vectors: Vectors, params: HnswParams) -> Self {
        let params = HnswParams {
            max_connections: params.max_connections.clamp(2, 255),
            ..params
        };
        let mut graph = hnsw_rs::hnsw::Hnsw::new(
            params.max_connections,
            vectors.len(),
            MAX_LAYERS,
            params.ef_construction,
            UnitCosine,
        );
        let items: Vec<(&[f32], usize)> = vectors.rows().zip(0..).collect();
        graph.parallel_insert_slice(&items);
        graph.set_searching_mode(true);
        Self {
            vectors,
            params,
            graph,
        }
    }

    /// Every stored vector, best first: when k covers the index the graph adds nothing.
    fn exhaustive(&self, query: &[f32]) -> Vec<Neighbour> {
        let mut all: Vec<Neighbour> = self
            .vectors
            .rows()
            .enumerate()
            .map(|(index, row)| Neighbour {
                index,
                similarity: dot(query, row),
            })
            .collect();
        all.sort_by(best_first);
        all
    }
}

impl VectorIndex for Hnsw {
    fn vectors(&self) -> &Vectors {
        &self.vectors
    }

    fn kind(&self) -> IndexKind {
        IndexKind::Hnsw
    }

    fn search(&self, query: &[f32], k: usize) -> Vec<Neighbour> {
        if k == 0 || self.vectors.is_empty() || query.len() != self.vectors.dim() {
            return Vec::new();
        }
        if k >= self.vectors.len() {
            return self.exhaustive(query);
        }
        // Re-score with the same dot product as brute force, so similarities agree
        // exactly and ties order by index the same way.
        let mut hits: Vec<Neighbour> = self
            .graph
            .search(query, k, self.params.ef_search.max(k))
            .into_iter()
            .filter_map(|hit| {
                let row = self.vectors.row(hit.d_id)?;
                Some(Neighbour {
                    index: hit.d_id,
                    similarity: dot(query, row),
                })
            })
            .collect();
        hits.sort_by(best_first);
        hits.truncate(k);
        hits
    }
}

impl fmt::Debug for Hnsw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hnsw")
            .field("len", &self.vectors.len())
            .field("dim", &self.vectors.dim())
            .field("params", &self.params)
            .finish()
    }
}
