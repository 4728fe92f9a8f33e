//! Refinement after coarse selection: a stage that cuts inside the units coarse selection
//! kept — LLMLingua-2's word pruning ([`words`]), LongCodeZip's block pruning
//! ([`blocks`]) — at the loosest level whose rendering still fits the budget. Coarse
//! selection aims at `budget / rate` tokens; the refinement brings that down to the budget.

#[cfg(feature = "neural")]
pub(super) mod blocks;
#[cfg(feature = "neural")]
pub(super) mod words;

use crate::compress::prepared::Prepared;
use crate::render::Rendered;
use crate::tokens::TokenCounter;

/// Replacement texts by document and chunk: `Some(text)` replaces a kept chunk's own.
pub(crate) type Replaced = Vec<Vec<Option<String>>>;

/// Renders the kept units with replacements and counts the result in target tokens.
pub(crate) type Rendering<'a> = &'a dyn Fn(&Replaced) -> (Rendered, usize);

/// A stage that cuts inside kept units.
#[cfg_attr(not(feature = "neural"), allow(dead_code))]
pub(crate) trait Refiner {
    /// What the stage is called in warnings.
    fn name(&self) -> &'static str;

    /// Share of the coarse selection's tokens the stage keeps.
    fn rate(&self) -> f64;

    /// The cut of the units in `kept` with the most text whose rendering fits `budget`,
    /// or why there is none (the caller then selects whole units).
    fn refine(
        &self,
        prepared: &Prepared,
        kept: &[bool],
        counter: &dyn TokenCounter,
        budget: usize,
        render: Rendering<'_>,
    ) -> Result<(Rendered, usize), String>;

    /// The warning when not even the lowest level fits.
    fn no_fit(&self) -> String {
        format!(
            "{} could not fit the budget; whole units selected instead",
            self.name()
        )
    }
}

/// The highest level in `lo..=hi` whose attempt fits `budget`, by `steps` bisections;
/// `None` when not even `lo` fits. An attempt returns `None` for a level it cannot cut.
/// Levels are monotone: a higher one keeps at least as much.
#[cfg_attr(not(feature = "neural"), allow(dead_code))]
pub(crate) fn highest_fitting<T>(
    mut lo: f64,
    mut hi: f64,
    steps: usize,
    budget: usize,
    attempt: impl Fn(f64) -> Option<(T, usize)>,
) -> Option<(T, usize)> {
    let mut best = attempt(lo).filter(|a| a.1 <= budget)?;
    for _ in 0..steps {
        let mid = (lo + hi) / 2.0;
        match attempt(mid) {
            Some(found) if found.1 <= budget => {
                lo = mid;
                best = found;
            }
            _ => hi = mid,
        }
    }
    Some(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bisection_finds_the_highest_level_that_fits() {
        // Tokens grow with the level: 100 * level.
        let attempt = |level: f64| Some(((), (100.0 * level) as usize));
        let (_, tokens) = highest_fitting(0.0, 1.0, 12, 37, attempt).expect("fits");
        assert!((36..=37).contains(&tokens), "{tokens}");
        assert!(highest_fitting(0.5, 1.0, 12, 10, attempt).is_none());
        // A level that cannot be cut counts as too large.
        let partial = |level: f64| (level < 0.3).then_some(((), 0));
        let (_, t) = highest_fitting(0.0, 1.0, 12, 5, partial).expect("fits");
        assert_eq!(t, 0);
    }
}
