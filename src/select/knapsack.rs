//! 0/1 knapsack: the largest total value whose total weight fits a capacity.
//!
//! [`solve`] uses the strongest method the input size allows, each with a proven bound:
//!
//! 1. exact dynamic programming over capacities, when `n × (C + 1) ≤ EXACT_CELLS`
//!    (`C` = capacity, capped by the total weight): optimal; time O(n·C), memory one
//!    f64 per capacity plus one *bit* per table cell (≤ 2.5 MB);
//! 2. an FPTAS over scaled values, when its table has `≤ APPROX_CELLS` cells: value
//!    ≥ (1 − ε)·OPT; time and bits O(n²/ε) (at most `n · (2n/ε + n + 1)` cells, see
//!    [`solve_approx`]), memory ≤ 12.5 MB of bits plus one word per scaled value;
//! 3. otherwise the better of greedy-by-density and the best single item: value
//!    ≥ OPT / 2; time O(n log n).
//!
//! In every method, items of weight 0 and positive value are always taken, and items
//! whose value is not a finite positive number are never taken. Results are sorted
//! item indices; ties are broken deterministically.

use super::{Costs, Selection, Selector, Similarity, Tally};

/// Largest exact table, in cells (bits), before switching to the FPTAS.
const EXACT_CELLS: usize = 20_000_000;
/// Largest FPTAS table, in cells (bits), before switching to the 1/2-approximation.
const APPROX_CELLS: usize = 100_000_000;
/// Smallest epsilon accepted; smaller, non-finite or non-positive values are raised.
const MIN_EPSILON: f64 = 1e-9;

/// Best set of items (sorted indices) whose weights sum to at most `capacity`.
///
/// `values.len()` must equal `weights.len()`. See the module docs for which method runs
/// and its guarantee; `epsilon` is clamped into `[1e-9, 1]`.
pub fn solve(weights: &[usize], values: &[f64], capacity: usize, epsilon: f64) -> Vec<usize> {
    let p = Problem::new(weights, values, capacity);
    let chosen = if p.items.is_empty() {
        Vec::new()
    } else if p.exact_cells() <= EXACT_CELLS {
        p.exact()
    } else {
        let greedy = p.greedy();
        let plan = p.plan(epsilon, &greedy);
        if plan.cells() <= APPROX_CELLS {
            // The FPTAS bound holds for its own answer; the greedy one can only help.
            let approx = p.fill(p.fptas(&plan));
            if p.value(&approx) >= p.value(&greedy) {
                approx
            } else {
                greedy
            }
        } else {
            greedy
        }
    };
    p.finish(chosen)
}

/// Optimal set by dynamic programming over capacities, whatever the table size
/// (time O(n·C), n·(C+1) bits); [`solve`] guards the size.
pub fn solve_exact(weights: &[usize], values: &[f64], capacity: usize) -> Vec<usize> {
    let p = Problem::new(weights, values, capacity);
    let chosen = if p.items.is_empty() {
        Vec::new()
    } else {
        p.exact()
    };
    p.finish(chosen)
}

/// FPTAS, whatever the table size; value ≥ (1 − ε)·OPT.
///
/// Why: let LB be the greedy value (OPT/2 ≤ LB ≤ OPT) and K = ε·LB/n. Values are scaled
/// to ⌊v/K⌋ and the DP finds, among feasible sets, one of largest scaled value S. For the
/// optimal set S*: value(S) ≥ K·Σ_S⌊v/K⌋ ≥ K·Σ_{S*}⌊v/K⌋ ≥ OPT − n·K = OPT − ε·LB
/// ≥ (1 − ε)·OPT. Feasible sets have scaled value ≤ UB/K ≤ 2n/ε (UB = the fractional
/// bound ≤ 2·LB), so the table has at most n·(2n/ε + n + 1) cells (n of slack for
/// rounding). Unused capacity is then filled greedily, which only adds value.
pub fn solve_approx(
    weights: &[usize],
    values: &[f64],
    capacity: usize,
    epsilon: f64,
) -> Vec<usize> {
    let p = Problem::new(weights, values, capacity);
    let chosen = if p.items.is_empty() {
        Vec::new()
    } else {
        let greedy = p.greedy();
        p.fill(p.fptas(&p.plan(epsilon, &greedy)))
    };
    p.finish(chosen)
}

/// The better of greedy-by-density (taking every item that still fits) and the best
/// single item; value ≥ OPT / 2, because the density prefix plus the first item that
/// does not fit is worth at least the fractional optimum ≥ OPT, and each of the two
/// fits on its own.
pub fn solve_greedy(weights: &[usize], values: &[f64], capacity: usize) -> Vec<usize> {
    let p = Problem::new(weights, values, capacity);
    let chosen = if p.items.is_empty() {
        Vec::new()
    } else {
        p.greedy()
    };
    p.finish(chosen)
}

/// An instance reduced to the items that matter.
struct Problem<'a> {
    weights: &'a [usize],
    values: &'a [f64],
    capacity: usize,
    /// Weight 0, positive value: always taken, never in a table.
    free: Vec<usize>,
    /// Positive weight ≤ capacity and finite positive value, by index.
    items: Vec<usize>,
}

/// Scaling chosen for an FPTAS run.
struct Plan {
    /// Scaled value of each entry of `Problem::items`.
    scaled: Vec<usize>,
    /// Largest scaled total the table tracks.
    top: usize,
}

impl Plan {
    fn cells(&self) -> usize {
        self.scaled.len().saturating_mul(self.top.saturating_add(1))
    }
}

impl<'a> Problem<'a> {
    fn new(weights: &'a [usize], values: &'a [f64], capacity: usize) -> Self {
        assert_eq!(weights.len(), values.len(), "one value per weight");
        let useful = |i: &usize| values[*i].is_finite() && values[*i] > 0.0;
        let free = (0..weights.len())
            .filter(useful)
            .filter(|&i| weights[i] == 0)
            .collect();
        let items = (0..weights.len())
            .filter(useful)
            .filter(|&i| weights[i] > 0 && weights[i] <= capacity)
            .collect();
        Self {
            weights,
            values,
            capacity,
            free,
            items,
        }
    }

    fn value(&self, set: &[usize]) -> f64 {
        set.iter().map(|&i| self.values[i]).sum()
    }

    /// Capacity the exact table needs: no more than everything weighs.
    fn exact_capacity(&self) -> usize {
        let total = self
            .items
            .iter()
            .fold(0usize, |s, &i| s.saturating_add(self.weights[i]));
        self.capacity.min(total)
    }

    fn exact_cells(&self) -> usize {
        self.items
            .len()
            .saturating_mul(self.exact_capacity().saturating_add(1))
    }

    /// `best[c]` = most value within weight `c` using the items seen so far; a bit per
    /// (item, capacity) records whether the item was taken, for the walk back.
    fn exact(&self) -> Vec<usize> {
        let cap = self.exact_capacity();
        let mut best = vec![0.0f64; cap + 1];
        let mut took = Bits::new(self.items.len(), cap + 1);
        for (row, &i) in self.items.iter().enumerate() {
            let (w, v) = (self.weights[i], self.values[i]);
            for c in (w..=cap).rev() {
                let with = best[c - w] + v;
                if with > best[c] {
                    best[c] = with;
                    took.set(row, c);
                }
            }
        }
        let mut c = cap;
        let mut chosen = Vec::new();
        for row in (0..self.items.len()).rev() {
            if took.get(row, c) {
                let i = self.items[row];
                chosen.push(i);
                c -= self.weights[i];
            }
        }
        chosen
    }

    /// Items by decreasing value per unit of weight, ties by index.
    fn by_density(&self) -> Vec<usize> {
        let density = |i: usize| self.values[i] / self.weights[i] as f64;
        let mut order = self.items.clone();
        order.sort_by(|&a, &b| density(b).total_cmp(&density(a)).then(a.cmp(&b)));
        order
    }

    /// Greedy by density (skipping what no longer fits) vs the best single item.
    fn greedy(&self) -> Vec<usize> {
        let packed = self.fill(Vec::new());
        let single = self
            .items
            .iter()
            .copied()
            .max_by(|&a, &b| self.values[a].total_cmp(&self.values[b]).then(b.cmp(&a)));
        match single {
            Some(s) if self.values[s] > self.value(&packed) => vec![s],
            _ => packed,
        }
    }

    /// Adds, by density, every item that still fits next to `chosen`.
    fn fill(&self, mut chosen: Vec<usize>) -> Vec<usize> {
        let mut taken = vec![false; self.weights.len()];
        let mut room = self.capacity;
        for &i in &chosen {
            taken[i] = true;
            room -= self.weights[i];
        }
        for i in self.by_density() {
            if !taken[i] && self.weights[i] <= room {
                taken[i] = true;
                room -= self.weights[i];
                chosen.push(i);
            }
        }
        chosen
    }

    /// Fractional (Dantzig) upper bound on OPT.
    fn fractional_bound(&self) -> f64 {
        let mut room = self.capacity;
        let mut bound = 0.0;
        for i in self.by_density() {
            let (w, v) = (self.weights[i], self.values[i]);
            if w <= room {
                room -= w;
                bound += v;
            } else {
                bound += v * (room as f64 / w as f64);
                break;
            }
        }
        bound
    }

    /// Scaling for the FPTAS from the greedy answer (see [`solve_approx`]).
    fn plan(&self, epsilon: f64, greedy: &[usize]) -> Plan {
        let epsilon = if epsilon.is_finite() {
            epsilon.clamp(MIN_EPSILON, 1.0)
        } else {
            MIN_EPSILON
        };
        let n = self.items.len();
        let lower = self.value(greedy);
        let k = epsilon * lower / n as f64;
        // `as` saturates, so absurd ratios cannot wrap.
        let scaled: Vec<usize> = self
            .items
            .iter()
            .map(|&i| (self.values[i] / k).floor() as usize)
            .collect();
        let total = scaled.iter().fold(0usize, |s, &v| s.saturating_add(v));
        let reachable = ((self.fractional_bound() / k).floor() as usize).saturating_add(n);
        Plan {
            scaled,
            top: total.min(reachable),
        }
    }

    /// `lightest[s]` = least weight reaching scaled value exactly `s`; the answer is
    /// the largest `s` whose weight fits.
    fn fptas(&self, plan: &Plan) -> Vec<usize> {
        let top = plan.top;
        let mut lightest = vec![usize::MAX; top + 1];
        lightest[0] = 0;
        let mut took = Bits::new(self.items.len(), top + 1);
        for (row, &i) in self.items.iter().enumerate() {
            let (w, sv) = (self.weights[i], plan.scaled[row]);
            if sv == 0 {
                continue;
            }
            for s in (sv..=top).rev() {
                let with = lightest[s - sv].saturating_add(w);
                if with < lightest[s] {
                    lightest[s] = with;
                    took.set(row, s);
                }
            }
        }
        let mut s = (0..=top)
            .rev()
            .find(|&s| lightest[s] <= self.capacity)
            .unwrap_or(0);
        let mut chosen = Vec::new();
        for row in (0..self.items.len()).rev() {
            if took.get(row, s) {
                chosen.push(self.items[row]);
                s -= plan.scaled[row];
            }
        }
        chosen
    }

    /// Adds the free items and sorts.
    fn finish(&self, mut chosen: Vec<usize>) -> Vec<usize> {
        chosen.extend_from_slice(&self.free);
        chosen.sort_unstable();
        chosen
    }
}

/// A rows × width table of bits.
struct Bits {
    width: usize,
    words: Vec<u64>,
}

impl Bits {
    fn new(rows: usize, width: usize) -> Self {
        Self {
            width,
            words: vec![0; (rows * width).div_ceil(64)],
        }
    }

    fn set(&mut self, row: usize, col: usize) {
        let k = row * self.width + col;
        self.words[k / 64] |= 1 << (k % 64);
    }

    fn get(&self, row: usize, col: usize) -> bool {
        let k = row * self.width + col;
        self.words[k / 64] >> (k % 64) & 1 == 1
    }
}

/// Maximises total value under the budget, charging each unit what it costs alone.
///
/// Weights are `costs.delta(nothing kept, i)`. The chosen units are then kept by
/// decreasing value (companions right after their unit), each charged its *current*
/// delta and skipped if that no longer fits, so the result stays within the budget
/// even for costs that are not additive. Budget left over (e.g. shared headers that
/// were charged once per unit) is filled by density with units that still fit, until
/// no unit of positive value fits; those come last in `order`. With [`super::Additive`] costs the result has the value
/// guarantee of [`solve`].
#[derive(Debug, Clone)]
pub struct Knapsack {
    /// Relative error bound of the FPTAS used when exact DP is too large.
    pub epsilon: f64,
}

impl Default for Knapsack {
    fn default() -> Self {
        Self { epsilon: 0.05 }
    }
}

impl Selector for Knapsack {
    fn select(
        &self,
        values: &[f64],
        _similarity: &dyn Similarity,
        costs: &dyn Costs,
        budget: usize,
    ) -> Selection {
        let n = values.len();
        let nothing = vec![false; n];
        let weights: Vec<usize> = (0..n).map(|i| costs.delta(&nothing, i)).collect();
        let mut chosen = solve(&weights, values, budget, self.epsilon);
        chosen.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));

        let mut tally = Tally::new(n, budget);
        for &i in &chosen {
            if !tally.kept[i] {
                tally.try_keep(costs, i);
            }
        }
        let density = |i: usize| values[i] / weights[i] as f64;
        let mut rest: Vec<usize> = (0..n)
            .filter(|&i| !tally.kept[i] && values[i].is_finite() && values[i] > 0.0)
            .collect();
        rest.sort_by(|&a, &b| density(b).total_cmp(&density(a)).then(a.cmp(&b)));
        // Repeat until a pass keeps nothing: keeping a unit can make others cheaper.
        while rest.iter().any(|&i| !tally.kept[i] && tally.fits(costs, i)) {
            for &i in &rest {
                if !tally.kept[i] {
                    tally.try_keep(costs, i);
                }
            }
        }
        tally.finish()
    }
}
