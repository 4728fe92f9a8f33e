//! Selection: choose units under a token budget.
//!
//! [`MigGreedy`] is marginal information gain in the COMI sense (value minus redundancy
//! with what is already chosen); [`Knapsack`] maximises total value where costs vary.
//! Costs come from a [`Costs`] oracle, so a renderer's markers and headers can be charged
//! exactly as keeping a unit changes them.

pub mod cosine;
pub(crate) mod exempt;
pub mod grouped;
pub mod knapsack;
pub mod mig;
pub mod similarity;
pub mod sparse;

pub use cosine::Cosine;
pub use grouped::{GroupedMig, group_shares};
pub use knapsack::Knapsack;
pub use mig::MigGreedy;
pub use similarity::{Jaccard, MinHash, Similarity};
pub use sparse::SparseCosine;

/// What keeping a unit costs, in tokens of the target tokenizer.
pub trait Costs {
    /// Tokens that keeping unit `i` adds to the output, given the units kept so far
    /// (its own tokens, plus any markers, headers or companions it brings in).
    fn delta(&self, kept: &[bool], i: usize) -> usize;

    /// Units that are kept together with `i` (e.g. its container's header and footer).
    fn companions(&self, _i: usize) -> &[usize] {
        &[]
    }
}

/// Each unit costs a fixed number of tokens, whatever else is kept.
#[derive(Debug, Clone)]
pub struct Additive(pub Vec<usize>);

impl Costs for Additive {
    fn delta(&self, kept: &[bool], i: usize) -> usize {
        if kept[i] { 0 } else { self.0[i] }
    }
}

/// The outcome of a selection.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    /// Units in the order they were chosen (companions right after the unit that
    /// brought them in); later ones are the first to give up if the output runs over.
    pub order: Vec<usize>,
    /// `kept[i]`: unit `i` is kept.
    pub kept: Vec<bool>,
}

/// Chooses units with the highest values whose total cost stays within the budget.
pub trait Selector {
    /// Chooses among units valued `values`, where keeping unit `i` costs what `costs`
    /// says and a unit similar to one already kept is worth less.
    fn select(
        &self,
        values: &[f64],
        similarity: &dyn Similarity,
        costs: &dyn Costs,
        budget: usize,
    ) -> Selection;
}

/// Bookkeeping shared by the selectors: what is kept, in what order, at what cost.
///
/// Keeping a unit charges its current `delta` and marks its companions kept right after
/// it, so every selector honours the [`Costs`] contract in the same way.
#[derive(Debug)]
pub(crate) struct Tally {
    pub(crate) kept: Vec<bool>,
    pub(crate) order: Vec<usize>,
    pub(crate) used: usize,
    pub(crate) budget: usize,
    /// Tokens charged when each unit was kept (0 for companions and units not kept).
    pub(crate) spent: Vec<usize>,
}

impl Tally {
    pub(crate) fn new(n: usize, budget: usize) -> Self {
        Self {
            kept: vec![false; n],
            order: Vec::new(),
            used: 0,
            budget,
            spent: vec![0; n],
        }
    }

    /// Whether keeping `i` now would stay within the budget.
    pub(crate) fn fits(&self, costs: &dyn Costs, i: usize) -> bool {
        self.used.saturating_add(costs.delta(&self.kept, i)) <= self.budget
    }

    /// Keeps `i` and its companions if its current delta fits; says whether it did.
    pub(crate) fn try_keep(&mut self, costs: &dyn Costs, i: usize) -> bool {
        let total = self.used.saturating_add(costs.delta(&self.kept, i));
        if self.kept[i] || total > self.budget {
            return false;
        }
        self.spent[i] = total - self.used;
        self.used = total;
        self.kept[i] = true;
        self.order.push(i);
        for &c in costs.companions(i) {
            if !self.kept[c] {
                self.kept[c] = true;
                self.order.push(c);
            }
        }
        true
    }

    pub(crate) fn finish(self) -> Selection {
        Selection {
            order: self.order,
            kept: self.kept,
        }
    }
}
