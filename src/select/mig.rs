//! Marginal information gain, greedy (stub).

use super::{Costs, Selection, Selector, Similarity};

/// Greedy MIG: value minus `redundancy` × max similarity to units already chosen.
#[derive(Debug, Clone)]
pub struct MigGreedy {
    pub redundancy: f64,
}

impl Selector for MigGreedy {
    fn select(
        &self,
        values: &[f64],
        _s: &dyn Similarity,
        costs: &dyn Costs,
        budget: usize,
    ) -> Selection {
        let mut idx: Vec<usize> = (0..values.len()).collect();
        idx.sort_by(|a, b| values[*b].total_cmp(&values[*a]));
        let mut kept = vec![false; values.len()];
        let mut order = Vec::new();
        let mut used = 0;
        for i in idx {
            let d = costs.delta(&kept, i);
            if used + d <= budget {
                used += d;
                kept[i] = true;
                order.push(i);
                for &c in costs.companions(i) {
                    if !kept[c] {
                        kept[c] = true;
                        order.push(c);
                    }
                }
            }
        }
        Selection { order, kept }
    }
}

impl MigGreedy {
    pub fn new(redundancy: f64) -> Self {
        Self { redundancy }
    }
}
