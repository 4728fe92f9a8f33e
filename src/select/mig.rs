//! Greedy marginal information gain (COMI): value minus redundancy with what is kept.
//!
//! At each step the unit with the highest gain
//! `value[i] − redundancy × max_{j kept} similarity(i, j)` (0 when nothing is kept)
//! among those whose current delta fits the remaining budget is kept, with its
//! companions. Companions count as kept for redundancy: their text is in the output.
//!
//! Evaluation is lazy (CELF): gains only fall as the kept set grows, so a max-heap of
//! possibly stale gains is an upper bound for every candidate. The popped candidate is
//! brought up to date by comparing it only with the units kept since it was last
//! evaluated; if it is still on top it is the true maximum. Each candidate is compared
//! with each kept unit at most once, and in practice only the few near the top are.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::{Costs, Selection, Selector, Similarity, Tally};

/// Greedy MIG: value minus `redundancy` × max similarity to units already kept.
///
/// Guarantees: the result fits the budget (the sum of the deltas charged when units
/// were kept); ties are broken by lower index, so the selection is deterministic. When
/// a unit's delta never shrinks as more is kept (e.g. [`super::Additive`]), every step
/// keeps a unit of maximal gain among those that fit at that moment, exactly. A
/// candidate that does not fit when it reaches the top is set aside; once the heap is
/// empty the set-aside ones are checked again (costs can shrink when shared headers
/// get kept) until none fits. So unless `min_gain` stopped it, no unit outside the
/// selection fits at the end. Units whose value is NaN are never kept.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MigGreedy {
    /// Weight of the redundancy term; negative or NaN counts as 0 (gains must not grow
    /// as more is kept, or the lazy evaluation would be wrong).
    pub redundancy: f64,
    /// Stop once the best gain falls below this; `None` fills the budget.
    pub min_gain: Option<f64>,
}

impl MigGreedy {
    pub fn new(redundancy: f64) -> Self {
        Self {
            redundancy,
            min_gain: None,
        }
    }
}

impl Default for MigGreedy {
    fn default() -> Self {
        Self::new(0.5)
    }
}

/// A heap entry: an upper bound on unit `i`'s gain. Ordered by bound, then by lower
/// index first, so ties pop in index order.
#[derive(Debug, Clone, Copy)]
struct Bound {
    gain: f64,
    i: usize,
}

impl Ord for Bound {
    fn cmp(&self, other: &Self) -> Ordering {
        self.gain
            .total_cmp(&other.gain)
            .then_with(|| other.i.cmp(&self.i))
    }
}

impl PartialOrd for Bound {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Bound {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Bound {}

impl Selector for MigGreedy {
    fn select(
        &self,
        values: &[f64],
        similarity: &dyn Similarity,
        costs: &dyn Costs,
        budget: usize,
    ) -> Selection {
        let n = values.len();
        let redundancy = if self.redundancy > 0.0 {
            self.redundancy.min(f64::MAX)
        } else {
            0.0
        };
        let mut tally = Tally::new(n, budget);
        // Per candidate: max similarity to the first `seen[i]` kept units.
        let mut max_sim = vec![0.0f64; n];
        let mut seen = vec![0usize; n];
        let gain = |i: usize, max_sim: &[f64]| values[i] - redundancy * max_sim[i];

        let mut heap: BinaryHeap<Bound> = (0..n)
            .filter(|&i| !values[i].is_nan())
            .map(|i| Bound { gain: values[i], i })
            .collect();
        let mut aside = Vec::new();
        loop {
            while let Some(Bound { gain: bound, i }) = heap.pop() {
                if tally.kept[i] {
                    continue; // kept meanwhile as a companion
                }
                // Checking the fit first keeps the tail cheap: once the budget is spent,
                // the rest are set aside without comparing them with everything kept.
                if !tally.fits(costs, i) {
                    aside.push(i);
                    continue;
                }
                let kept_now = tally.order.len();
                if seen[i] < kept_now {
                    for &j in &tally.order[seen[i]..] {
                        max_sim[i] = max_sim[i].max(similarity.similarity(i, j));
                    }
                    seen[i] = kept_now;
                    heap.push(Bound {
                        gain: gain(i, &max_sim),
                        i,
                    });
                    continue;
                }
                // Up to date and on top: no other candidate can do better.
                if self.min_gain.is_some_and(|m| bound < m) {
                    return tally.finish();
                }
                let kept = tally.try_keep(costs, i);
                debug_assert!(kept, "fit was checked on this pop");
            }
            // Second chance for the set-aside units whose cost has since shrunk. Each
            // round keeps at least one unit (nothing is kept between the check above
            // and the first pop that reaches `try_keep`), so this ends; with costs that
            // never shrink it is one pass that finds nothing.
            let (retry, still): (Vec<usize>, Vec<usize>) = aside
                .into_iter()
                .filter(|&i| !tally.kept[i])
                .partition(|&i| tally.fits(costs, i));
            if retry.is_empty() {
                return tally.finish();
            }
            aside = still;
            heap.extend(retry.into_iter().map(|i| Bound {
                gain: gain(i, &max_sim),
                i,
            }));
        }
    }
}
