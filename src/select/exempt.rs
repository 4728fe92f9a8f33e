//! A similarity under which salient units are like nothing (tool output: sixteen
//! `FAILED` lines are sixteen facts, not repeats).

use super::Similarity;

/// Salience from which a tool-output line is its own: sixteen `FAILED` lines that differ
/// only in the test's name are sixteen facts, not repeats.
pub(crate) const EXEMPT_SALIENCE: f64 = 0.8;

/// A similarity under which the units marked `exempt` are like nothing: redundancy never
/// costs them, nor do they cost others.
#[derive(Debug)]
pub(crate) struct Exempt<S> {
    pub inner: S,
    pub exempt: Vec<bool>,
}

impl<S: Similarity> Similarity for Exempt<S> {
    fn similarity(&self, i: usize, j: usize) -> f64 {
        if self.exempt[i] || self.exempt[j] {
            0.0
        } else {
            self.inner.similarity(i, j)
        }
    }

    fn max_similarity(&self, i: usize, others: &[usize]) -> f64 {
        if self.exempt[i] {
            return 0.0;
        }
        // An exempt line is like nothing: skip the comparisons outright.
        others
            .iter()
            .filter(|&&j| !self.exempt[j])
            .map(|&j| self.inner.similarity(i, j))
            .fold(0.0, f64::max)
    }
}
