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
    /// MIG with this redundancy weight, filling the budget.
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
        let mut run = Run::new(self, values, budget);
        run.fill(similarity, costs, &|_, _| true);
        run.tally.finish()
    }
}

/// The state of one greedy selection, so that it can be run in phases: first under
/// per-group caps ([`super::GroupedMig`]), then for whatever budget is left.
#[derive(Debug)]
pub(crate) struct Run<'a> {
    mig: &'a MigGreedy,
    values: &'a [f64],
    redundancy: f64,
    pub(crate) tally: Tally,
    /// Per candidate: max similarity to the first `seen[i]` kept units.
    max_sim: Vec<f64>,
    seen: Vec<usize>,
    /// Kept units (a prefix of the order) whose similarities were pushed already.
    pushed: usize,
}

impl<'a> Run<'a> {
    pub(crate) fn new(mig: &'a MigGreedy, values: &'a [f64], budget: usize) -> Self {
        let n = values.len();
        let redundancy = if mig.redundancy > 0.0 {
            mig.redundancy.min(f64::MAX)
        } else {
            0.0
        };
        Self {
            mig,
            values,
            redundancy,
            tally: Tally::new(n, budget),
            max_sim: vec![0.0; n],
            seen: vec![0; n],
            pushed: 0,
        }
    }

    /// Pushes the similarity of every unit kept since the last push to its neighbours.
    fn push_kept(&mut self, similarity: &dyn Similarity) {
        for &u in &self.tally.order[self.pushed..] {
            for &(v, s) in similarity.neighbours(u).unwrap_or(&[]) {
                self.max_sim[v] = self.max_sim[v].max(s);
            }
        }
        self.pushed = self.tally.order.len();
    }

    fn gain(&self, i: usize) -> f64 {
        self.values[i] - self.redundancy * self.max_sim[i]
    }

    /// Keeps units by greedy gain while they fit the budget and `allowed(tally, i)`
    /// (checked with the unit's current delta, like the budget).
    pub(crate) fn fill(
        &mut self,
        similarity: &dyn Similarity,
        costs: &dyn Costs,
        allowed: &dyn Fn(&Tally, usize) -> bool,
    ) {
        let fits = |tally: &Tally, i: usize| tally.fits(costs, i) && allowed(tally, i);
        // Sparse similarities are pushed from each kept unit to its neighbours; dense
        // ones are pulled lazily from the units kept since a candidate was last seen.
        let push = !self.values.is_empty() && similarity.neighbours(0).is_some();
        if push {
            self.push_kept(similarity);
        }
        let mut heap: BinaryHeap<Bound> = (0..self.values.len())
            .filter(|&i| !self.values[i].is_nan() && !self.tally.kept[i])
            .map(|i| Bound {
                gain: self.gain(i),
                i,
            })
            .collect();
        let mut aside = Vec::new();
        loop {
            while let Some(Bound { gain: bound, i }) = heap.pop() {
                if self.tally.kept[i] {
                    continue; // kept meanwhile as a companion
                }
                // Checking the fit first keeps the tail cheap: once the budget is spent,
                // the rest are set aside without comparing them with everything kept.
                if !fits(&self.tally, i) {
                    aside.push(i);
                    continue;
                }
                let kept_now = self.tally.order.len();
                if push {
                    // Similarities were pushed from each kept unit to its neighbours:
                    // the gain is current.
                    let g = self.gain(i);
                    if g < bound {
                        heap.push(Bound { gain: g, i });
                        continue;
                    }
                } else if self.seen[i] < kept_now {
                    // Compare only until the candidate falls below the next bound: it
                    // cannot win this round, and its bound stays an upper bound (the
                    // rest of the comparisons wait for its next turn on top).
                    let next = heap.peek().map_or(f64::NEG_INFINITY, |b| b.gain);
                    let (value, known) = (self.values[i], self.max_sim[i]);
                    let r = self.redundancy;
                    let (since, read) = similarity.max_similarity_until(
                        i,
                        &self.tally.order[self.seen[i]..],
                        &|m| value - r * known.max(m) < next,
                    );
                    self.max_sim[i] = known.max(since);
                    self.seen[i] += read;
                    heap.push(Bound {
                        gain: self.gain(i),
                        i,
                    });
                    continue;
                }
                // Up to date and on top: no other candidate can do better.
                if self.mig.min_gain.is_some_and(|m| bound < m) {
                    return;
                }
                let kept = self.tally.try_keep(costs, i);
                debug_assert!(kept, "fit was checked on this pop");
                if push {
                    self.push_kept(similarity);
                }
            }
            // Second chance for the set-aside units whose cost has since shrunk. Each
            // round keeps at least one unit (nothing is kept between the check above
            // and the first pop that reaches `try_keep`), so this ends; with costs that
            // never shrink it is one pass that finds nothing.
            let (retry, still): (Vec<usize>, Vec<usize>) = aside
                .into_iter()
                .filter(|&i| !self.tally.kept[i])
                .partition(|&i| fits(&self.tally, i));
            if retry.is_empty() {
                return;
            }
            aside = still;
            heap.extend(retry.into_iter().map(|i| Bound {
                gain: self.gain(i),
                i,
            }));
        }
    }
}
