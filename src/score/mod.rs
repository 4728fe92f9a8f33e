//! Scoring: each unit gets a value saying how much it is worth keeping.
//!
//! Lexical scorers need no model and are the embedded default: [`Bm25`] for relevance to
//! a query, [`SelfInformation`] when there is no query.

pub mod bm25;
pub(crate) mod compose;
pub(crate) mod details;
pub(crate) mod names;
pub mod salience;
pub(crate) mod sections;
pub mod selfinfo;
pub(crate) mod signature;
pub mod terms;

pub use bm25::Bm25;
pub use selfinfo::SelfInformation;

/// Gives every unit a value; the units are the whole corpus the statistics come from.
pub trait Scorer {
    /// One finite, non-negative value per unit; higher means more worth keeping.
    /// `query` is `None` for query-less compression.
    fn score(&self, units: &[&str], query: Option<&str>) -> Vec<f64>;
}
