//! 0/1 knapsack (stub).

use super::{Costs, Selection, Selector, Similarity};

/// Maximises total value under the budget with fixed per-unit costs.
#[derive(Debug, Clone)]
pub struct Knapsack {
    /// Relative error bound of the approximation used when exact DP is too large.
    pub epsilon: f64,
}

impl Selector for Knapsack {
    fn select(
        &self,
        values: &[f64],
        s: &dyn Similarity,
        costs: &dyn Costs,
        budget: usize,
    ) -> Selection {
        super::MigGreedy { redundancy: 0.0 }.select(values, s, costs, budget)
    }
}
