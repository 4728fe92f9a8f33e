//! BM25 relevance (stub).

use super::Scorer;

/// Okapi BM25 of each unit against the query, with the units as the corpus.
#[derive(Debug, Clone)]
pub struct Bm25 {
    pub k1: f64,
    pub b: f64,
}

impl Default for Bm25 {
    fn default() -> Self {
        Self { k1: 1.2, b: 0.75 }
    }
}

impl Scorer for Bm25 {
    fn score(&self, units: &[&str], query: Option<&str>) -> Vec<f64> {
        let q = query.map(super::terms::terms).unwrap_or_default();
        units
            .iter()
            .map(|u| {
                let t = super::terms::terms(u);
                q.iter().filter(|w| t.contains(w)).count() as f64
            })
            .collect()
    }
}
