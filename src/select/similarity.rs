//! Similarity between units for redundancy (stub).

/// Pairwise similarity in 0..=1 between units.
pub trait Similarity {
    fn similarity(&self, i: usize, j: usize) -> f64;
}

/// MinHash estimate of the Jaccard similarity of word shingles.
#[derive(Debug, Clone)]
pub struct MinHash {
    n: usize,
}

impl MinHash {
    pub fn new(units: &[&str]) -> Self {
        Self { n: units.len() }
    }
}

impl Similarity for MinHash {
    fn similarity(&self, i: usize, j: usize) -> f64 {
        debug_assert!(i < self.n && j < self.n);
        if i == j { 1.0 } else { 0.0 }
    }
}
