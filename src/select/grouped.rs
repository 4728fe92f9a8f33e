//! COMI's coarse step: budget shares for groups (documents, files, tool results) by the
//! softmax of each group's marginal information gain, then MIG inside each group.
//!
//! A valuable group is compressed less: it may spend up to its share first. Whatever the
//! groups leave unspent is then filled by plain MIG over everything, so the budget is
//! never wasted on a group that had little worth keeping.

use std::cell::RefCell;

use super::mig::Run;
use super::{Costs, MigGreedy, Selection, Selector, Similarity, Tally};

/// MIG selection under per-group caps, then globally for what is left.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupedMig {
    /// The selector used in both phases.
    pub mig: MigGreedy,
    /// Group of each unit.
    pub group: Vec<usize>,
    /// Most tokens each group may spend in the first phase.
    pub caps: Vec<usize>,
}

impl Selector for GroupedMig {
    fn select(
        &self,
        values: &[f64],
        similarity: &dyn Similarity,
        costs: &dyn Costs,
        budget: usize,
    ) -> Selection {
        let mut run = Run::new(&self.mig, values, budget);
        // Tokens spent per group, brought up to date from the units kept since last look.
        let spent = RefCell::new((0usize, vec![0usize; self.caps.len()]));
        let within_cap = |tally: &Tally, i: usize| {
            let mut guard = spent.borrow_mut();
            let (seen, by_group) = &mut *guard;
            for &u in &tally.order[*seen..] {
                if let Some(g) = by_group.get_mut(self.group[u]) {
                    *g += tally.spent[u];
                }
            }
            *seen = tally.order.len();
            let g = self.group[i];
            let cap = self.caps.get(g).copied().unwrap_or(0);
            by_group[g].saturating_add(costs.delta(&tally.kept, i)) <= cap
        };
        run.fill(similarity, costs, &within_cap);
        run.fill(similarity, costs, &|_, _| true);
        run.tally.finish()
    }
}

/// Budget shares ∝ softmax(gain / temperature), summing to 1. Gains that are NaN get
/// no share; all-NaN (or no groups) gives equal shares.
pub fn group_shares(gains: &[f64], temperature: f64) -> Vec<f64> {
    let t = if temperature > 0.0 { temperature } else { 1.0 };
    let max = gains
        .iter()
        .copied()
        .filter(|g| !g.is_nan())
        .fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        let n = gains.len().max(1) as f64;
        return vec![1.0 / n; gains.len()];
    }
    let w: Vec<f64> = gains
        .iter()
        .map(|&g| {
            if g.is_nan() {
                0.0
            } else {
                ((g - max) / t).exp()
            }
        })
        .collect();
    let sum: f64 = w.iter().sum();
    w.iter().map(|x| x / sum).collect()
}
