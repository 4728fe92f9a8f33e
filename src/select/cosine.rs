//! Redundancy from sentence embeddings: the cosine of two unit vectors, with a floor.
//!
//! Sentences of one text about one subject have cosines around 0.3–0.6 without repeating
//! each other; only near-paraphrases come close to 1. Below the floor a pair counts as
//! not redundant at all, and above it the cosine is rescaled so that the floor maps to 0
//! and 1 to 1 — MIG then penalises repeats, not relatedness.

use super::Similarity;
use crate::vector::{Vector, dot};

/// Redundancy as the floored, rescaled cosine of unit embeddings (see the module docs).
#[derive(Debug, Clone)]
pub struct Cosine {
    /// One unit-length embedding per unit.
    pub vectors: Vec<Vector>,
    /// Cosine at or below which a pair is not redundant at all.
    pub floor: f64,
}

impl Similarity for Cosine {
    fn similarity(&self, i: usize, j: usize) -> f64 {
        if i == j {
            return 1.0;
        }
        above_floor(
            f64::from(dot(&self.vectors[i], &self.vectors[j])),
            self.floor,
        )
    }
}

/// A cosine as redundancy: 0 up to `floor`, rising linearly to 1 at cosine 1.
pub fn above_floor(cosine: f64, floor: f64) -> f64 {
    let floor = floor.clamp(0.0, 0.999);
    ((cosine - floor) / (1.0 - floor)).clamp(0.0, 1.0)
}
