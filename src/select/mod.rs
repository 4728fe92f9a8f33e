//! Selection: choose units under a token budget.
//!
//! [`MigGreedy`] is marginal information gain in the COMI sense (value minus redundancy
//! with what is already chosen); [`Knapsack`] maximises total value where costs vary.
//! Costs come from a [`Costs`] oracle, so a renderer's markers and headers can be charged
//! exactly as keeping a unit changes them.

pub mod knapsack;
pub mod mig;
pub mod similarity;

pub use knapsack::Knapsack;
pub use mig::MigGreedy;
pub use similarity::{MinHash, Similarity};

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
    fn select(
        &self,
        values: &[f64],
        similarity: &dyn Similarity,
        costs: &dyn Costs,
        budget: usize,
    ) -> Selection;
}
