//! Self-information of words from corpus statistics (stub).

use super::Scorer;

/// Query-less value: how much information a unit carries, from word statistics.
#[derive(Debug, Clone, Default)]
pub struct SelfInformation;

impl Scorer for SelfInformation {
    fn score(&self, units: &[&str], _query: Option<&str>) -> Vec<f64> {
        units.iter().map(|u| u.len() as f64).collect()
    }
}
