//! Selection: knapsack and MIG checked against brute force, MinHash against exact Jaccard.
#![allow(clippy::unwrap_used)]

use std::cell::Cell;

use pith::select::knapsack::{solve, solve_approx, solve_exact, solve_greedy};
use pith::select::{
    Additive, Cosine, Costs, GroupedMig, Jaccard, Knapsack, MigGreedy, MinHash, Selection,
    Selector, Similarity, SparseCosine, group_shares,
};
use proptest::prelude::*;

// ---------------------------------------------------------------- helpers

fn value_of(set: &[usize], values: &[f64]) -> f64 {
    set.iter().map(|&i| values[i]).sum()
}

fn weight_of(set: &[usize], weights: &[usize]) -> usize {
    set.iter().map(|&i| weights[i]).sum()
}

/// Largest total value over all subsets that fit.
fn brute_force(weights: &[usize], values: &[f64], capacity: usize) -> f64 {
    let n = weights.len();
    let mut best = 0.0f64;
    for mask in 0u32..(1 << n) {
        let set: Vec<usize> = (0..n).filter(|&i| mask >> i & 1 == 1).collect();
        if weight_of(&set, weights) <= capacity {
            best = best.max(value_of(&set, values));
        }
    }
    best
}

/// A knapsack answer is sorted, in range, without duplicates, and fits.
fn assert_feasible(set: &[usize], weights: &[usize], capacity: usize) {
    assert!(
        set.windows(2).all(|w| w[0] < w[1]),
        "sorted, distinct: {set:?}"
    );
    assert!(set.iter().all(|&i| i < weights.len()));
    assert!(
        weight_of(set, weights) <= capacity,
        "over capacity: {set:?}"
    );
}

/// A symmetric similarity matrix with 1 on the diagonal.
#[derive(Debug, Clone)]
struct Matrix(Vec<Vec<f64>>);

impl Matrix {
    fn from_upper(n: usize, upper: &[f64]) -> Self {
        let mut m = vec![vec![1.0; n]; n];
        let pairs = (0..n).flat_map(|i| (i + 1..n).map(move |j| (i, j)));
        for (k, (i, j)) in pairs.enumerate() {
            let s = upper[k % upper.len()];
            (m[i][j], m[j][i]) = (s, s);
        }
        Self(m)
    }
}

impl Similarity for Matrix {
    fn similarity(&self, i: usize, j: usize) -> f64 {
        self.0[i][j]
    }
}

/// Non-additive costs: a unit in a group brings its header (a companion) and pays for
/// it unless it is already kept; a unit with no kept neighbour pays 1 for a gap marker.
/// Deltas shrink as more is kept, like a real renderer's.
#[derive(Debug, Clone)]
struct Grouped {
    own: Vec<usize>,
    header: Vec<Option<usize>>,
    companions: Vec<Vec<usize>>,
}

impl Grouped {
    fn new(own: Vec<usize>, headers: usize, links: &[usize]) -> Self {
        let n = own.len();
        let header: Vec<Option<usize>> = (0..n)
            .map(|i| {
                let l = links[i % links.len()];
                (i >= headers && headers > 0 && !l.is_multiple_of(3)).then(|| l % headers)
            })
            .collect();
        let companions = header.iter().map(|h| h.iter().copied().collect()).collect();
        Self {
            own,
            header,
            companions,
        }
    }
}

impl Costs for Grouped {
    fn delta(&self, kept: &[bool], i: usize) -> usize {
        if kept[i] {
            return 0;
        }
        let header = match self.header[i] {
            Some(h) if !kept[h] => self.own[h],
            _ => 0,
        };
        let near = (i > 0 && kept[i - 1]) || (i + 1 < kept.len() && kept[i + 1]);
        self.own[i] + header + usize::from(!near)
    }

    fn companions(&self, i: usize) -> &[usize] {
        &self.companions[i]
    }
}

/// Replays a selection against the oracle: checks `order` and `kept` agree, that no unit
/// appears twice, and returns the total charged (each unit not yet kept pays its delta
/// at the moment it appears; companions follow their unit and are free).
fn replay(sel: &Selection, costs: &dyn Costs, n: usize) -> usize {
    let mut kept = vec![false; n];
    let mut listed = vec![false; n];
    let mut total = 0;
    for &u in &sel.order {
        assert!(!listed[u], "unit {u} listed twice");
        listed[u] = true;
        if !kept[u] {
            total += costs.delta(&kept, u);
            kept[u] = true;
            for &c in costs.companions(u) {
                kept[c] = true;
            }
        }
    }
    assert_eq!(kept, sel.kept, "kept must be exactly the units in order");
    total
}

/// Units outside the selection that would still fit.
fn fitting_leftovers(
    sel: &Selection,
    costs: &dyn Costs,
    values: &[f64],
    budget: usize,
) -> Vec<usize> {
    let used = replay(sel, costs, values.len());
    (0..values.len())
        .filter(|&i| !sel.kept[i] && !values[i].is_nan())
        .filter(|&i| used + costs.delta(&sel.kept, i) <= budget)
        .collect()
}

fn gain(i: usize, kept: &[usize], values: &[f64], sim: &dyn Similarity, r: f64) -> f64 {
    let max_sim = kept
        .iter()
        .map(|&j| sim.similarity(i, j))
        .fold(0.0, f64::max);
    values[i] - r * max_sim
}

/// The textbook O(n·k) greedy: recompute every gain at every step.
fn naive_mig(
    values: &[f64],
    sim: &dyn Similarity,
    costs: &Additive,
    budget: usize,
    r: f64,
    min_gain: Option<f64>,
) -> Selection {
    let n = values.len();
    let mut kept = vec![false; n];
    let mut order = Vec::new();
    let mut used = 0;
    loop {
        let mut best: Option<(f64, usize)> = None;
        for i in 0..n {
            if kept[i] || values[i].is_nan() || used + costs.delta(&kept, i) > budget {
                continue;
            }
            let g = gain(i, &order, values, sim, r);
            if best.is_none_or(|(bg, _)| g > bg) {
                best = Some((g, i));
            }
        }
        match best {
            Some((g, i)) if min_gain.is_none_or(|m| g >= m) => {
                used += costs.delta(&kept, i);
                kept[i] = true;
                order.push(i);
            }
            _ => return Selection { order, kept },
        }
    }
}

/// Small deterministic generator for inputs too large for proptest to shrink usefully.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const VOCAB: [&str; 40] = [
    "alpha", "beta", "gamma", "delta", "token", "budget", "select", "unit", "value", "cost",
    "heap", "lazy", "gain", "shingle", "hash", "word", "text", "line", "code", "fn", "let",
    "match", "return", "if", "else", "for", "while", "loop", "struct", "impl", "trait", "pub",
    "mod", "use", "self", "super", "crate", "type", "const", "static",
];

fn random_text(rng: &mut Lcg, len: usize) -> Vec<&'static str> {
    (0..len)
        .map(|_| VOCAB[rng.below(VOCAB.len() as u64) as usize])
        .collect()
}

// ---------------------------------------------------------------- similarity

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just(" ,.; -- ".to_string()),
        prop::collection::vec(prop::sample::select(VOCAB.to_vec()), 1..12)
            .prop_map(|ws| ws.join(" ")),
        "[a-zA-Z0-9 ,.]{0,40}",
    ]
}

fn has_words(s: &str) -> bool {
    s.chars().any(char::is_alphanumeric)
}

proptest! {
    #[test]
    fn similarity_contract(units in prop::collection::vec(text(), 1..8)) {
        let refs: Vec<&str> = units.iter().map(String::as_str).collect();
        let sims: [&dyn Similarity; 2] = [&MinHash::new(&refs), &Jaccard::new(&refs)];
        for s in sims {
            for i in 0..refs.len() {
                let own = if has_words(refs[i]) { 1.0 } else { 0.0 };
                prop_assert_eq!(s.similarity(i, i), own);
                for (j, other) in refs.iter().enumerate() {
                    let v = s.similarity(i, j);
                    prop_assert!((0.0..=1.0).contains(&v));
                    prop_assert_eq!(v, s.similarity(j, i));
                    if !has_words(other) {
                        prop_assert_eq!(v, 0.0);
                    }
                }
            }
        }
    }

    /// A unit's signature depends on its text only: not on its neighbours or position.
    #[test]
    fn minhash_depends_only_on_text(a in text(), b in text(), c in text()) {
        let one = MinHash::new(&[&a, &b]);
        let two = MinHash::new(&[&c, &b, &a]);
        prop_assert_eq!(one.similarity(0, 1), two.similarity(2, 1));
        prop_assert_eq!(one.similarity(1, 0), two.similarity(1, 2));
    }

    /// Case and punctuation do not matter: the shingle sets are equal, hence also the
    /// signatures, so the estimate is exactly 1.
    #[test]
    fn case_and_punctuation_are_ignored(ws in prop::collection::vec(prop::sample::select(VOCAB.to_vec()), 1..10)) {
        let plain = ws.join(" ");
        let loud = ws.iter().map(|w| w.to_uppercase()).collect::<Vec<_>>().join(", ... ");
        let refs = [plain.as_str(), loud.as_str()];
        prop_assert_eq!(MinHash::new(&refs).similarity(0, 1), 1.0);
        prop_assert_eq!(Jaccard::new(&refs).similarity(0, 1), 1.0);
    }
}

#[test]
fn jaccard_counts_word_shingles() {
    let units = ["a b c d", "A b c e!", "one two", "two three", "a b"];
    let j = Jaccard::new(&units);
    // {abc, bcd} vs {abc, bce}.
    assert!((j.similarity(0, 1) - 1.0 / 3.0).abs() < 1e-12);
    // Short units fall back to words: {one, two} vs {two, three}.
    assert!((j.similarity(2, 3) - 1.0 / 3.0).abs() < 1e-12);
    // A 3-word shingle never equals a single word.
    assert_eq!(j.similarity(0, 4), 0.0);
}

/// Pairs of texts where the second is the first with a random share of words replaced,
/// so exact similarities spread over 0..1; MinHash must track them.
#[test]
fn minhash_estimates_jaccard() {
    let mut rng = Lcg(7);
    let mut texts = Vec::new();
    for _ in 0..400 {
        let len = 3 + rng.below(60) as usize;
        let a = random_text(&mut rng, len);
        let mut b = a.clone();
        let p = rng.below(101);
        for w in b.iter_mut() {
            if rng.below(100) < p {
                *w = VOCAB[rng.below(VOCAB.len() as u64) as usize];
            }
        }
        texts.push(a.join(" "));
        texts.push(b.join(" "));
    }
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let (est, exact) = (MinHash::new(&refs), Jaccard::new(&refs));
    let pairs = refs.len() / 2;
    let mut total_error = 0.0;
    let mut spread = [0usize; 3];
    for k in 0..pairs {
        let (e, x) = (
            est.similarity(2 * k, 2 * k + 1),
            exact.similarity(2 * k, 2 * k + 1),
        );
        total_error += (e - x).abs();
        assert!((e - x).abs() < 0.35, "pair {k}: estimate {e}, exact {x}");
        spread[((x * 3.0) as usize).min(2)] += 1;
    }
    let mean = total_error / pairs as f64;
    assert!(mean < 0.06, "mean absolute error {mean}");
    assert!(
        spread.iter().all(|&s| s >= 40),
        "test texts too uniform: {spread:?}"
    );
}

// ---------------------------------------------------------------- knapsack

fn instance() -> impl Strategy<Value = (Vec<usize>, Vec<f64>, usize)> {
    (0usize..=12).prop_flat_map(|n| {
        (
            prop::collection::vec(0usize..30, n),
            prop::collection::vec(-5.0f64..50.0, n),
            0usize..100,
        )
    })
}

proptest! {
    #[test]
    fn exact_is_optimal((w, v, cap) in instance()) {
        let opt = brute_force(&w, &v, cap);
        for set in [solve_exact(&w, &v, cap), solve(&w, &v, cap, 0.1)] {
            assert_feasible(&set, &w, cap);
            prop_assert!((value_of(&set, &v) - opt).abs() <= 1e-9, "{set:?} vs {opt}");
        }
    }

    #[test]
    fn approx_is_within_epsilon((w, v, cap) in instance(), eps in 0.01f64..0.9) {
        let opt = brute_force(&w, &v, cap);
        let set = solve_approx(&w, &v, cap, eps);
        assert_feasible(&set, &w, cap);
        prop_assert!(value_of(&set, &v) >= (1.0 - eps) * opt - 1e-9);
    }

    /// Near-equal densities and a coarse epsilon: here rounding in the scaled values
    /// really costs value, so a scale even 2× too coarse breaks the bound.
    #[test]
    fn approx_is_within_epsilon_when_rounding_bites(
        w in prop::collection::vec(1usize..20, 2..=12),
        noise in prop::collection::vec(0.0f64..0.05, 12),
        base in 1.0f64..100.0,
        cap in 0usize..60,
        eps in 0.3f64..0.95,
    ) {
        let v: Vec<f64> = w.iter().zip(&noise).map(|(&w, e)| base * w as f64 * (1.0 + e)).collect();
        let opt = brute_force(&w, &v, cap);
        let set = solve_approx(&w, &v, cap, eps);
        assert_feasible(&set, &w, cap);
        prop_assert!(value_of(&set, &v) >= (1.0 - eps) * opt - 1e-9);
    }

    /// The FPTAS loses at most ε·LB (LB = the greedy value); with integer values and
    /// ε·LB < 1 that loss is below one unit, so the answer must be optimal.
    #[test]
    fn approx_is_exact_when_the_loss_is_below_one(
        w in prop::collection::vec(1usize..20, 1..=12),
        v in prop::collection::vec(1u32..40, 12),
        cap in 0usize..80,
    ) {
        let v: Vec<f64> = v[..w.len()].iter().map(|&v| f64::from(v)).collect();
        let lower = value_of(&solve_greedy(&w, &v, cap), &v);
        prop_assume!(lower > 0.0);
        let set = solve_approx(&w, &v, cap, 0.99 / lower);
        assert_feasible(&set, &w, cap);
        prop_assert_eq!(value_of(&set, &v), brute_force(&w, &v, cap));
    }

    #[test]
    fn greedy_is_within_half((w, v, cap) in instance()) {
        let opt = brute_force(&w, &v, cap);
        let set = solve_greedy(&w, &v, cap);
        assert_feasible(&set, &w, cap);
        prop_assert!(value_of(&set, &v) >= opt / 2.0 - 1e-9);
    }

    /// Free positive items are always in; non-positive or non-finite ones never.
    #[test]
    fn free_and_worthless_items((w, mut v, cap) in instance(), nan in 0usize..12) {
        if nan < v.len() {
            v[nan] = f64::NAN;
        }
        let sets = [
            solve(&w, &v, cap, 0.2),
            solve_exact(&w, &v, cap),
            solve_approx(&w, &v, cap, 0.2),
            solve_greedy(&w, &v, cap),
        ];
        for set in sets {
            for i in 0..w.len() {
                if w[i] == 0 && v[i] > 0.0 {
                    prop_assert!(set.contains(&i));
                }
                if v[i].is_nan() || v[i] <= 0.0 {
                    prop_assert!(!set.contains(&i));
                }
            }
        }
    }
}

/// Large enough that `solve` cannot use the exact table (200 × 120 001 cells); the
/// exact answer is still computable here as the reference.
fn large_instance() -> (Vec<usize>, Vec<f64>, usize) {
    let mut rng = Lcg(11);
    let w: Vec<usize> = (0..200).map(|_| 1 + rng.below(2000) as usize).collect();
    let v: Vec<f64> = (0..200).map(|_| rng.below(100_000) as f64 / 37.0).collect();
    (w, v, 120_000)
}

#[test]
fn solve_falls_back_with_bounds() {
    let (w, v, cap) = large_instance();
    let opt = value_of(&solve_exact(&w, &v, cap), &v);
    // FPTAS path.
    let eps = 0.05;
    let approx = solve(&w, &v, cap, eps);
    assert_feasible(&approx, &w, cap);
    assert!(value_of(&approx, &v) >= (1.0 - eps) * opt - 1e-9);
    assert!(value_of(&approx, &v) >= value_of(&solve_greedy(&w, &v, cap), &v));
    // Epsilon so small that the FPTAS table is too large too: the 1/2 fallback.
    let half = solve(&w, &v, cap, 1e-9);
    assert_feasible(&half, &w, cap);
    assert!(value_of(&half, &v) >= opt / 2.0);
    assert_eq!(half, solve_greedy(&w, &v, cap));
}

proptest! {
    #[test]
    fn knapsack_selector_is_optimal_for_additive((w, v, cap) in instance()) {
        let sel = Knapsack { epsilon: 0.1 }.select(&v, &Matrix(vec![]), &Additive(w.clone()), cap);
        prop_assert!(replay(&sel, &Additive(w.clone()), w.len()) <= cap);
        let opt = brute_force(&w, &v, cap);
        prop_assert!((value_of(&sel.order, &v) - opt).abs() <= 1e-9);
        // Chosen units come by decreasing value.
        prop_assert!(sel.order.windows(2).all(|p| v[p[0]] >= v[p[1]]));
    }

    #[test]
    fn knapsack_selector_fits_grouped_costs(
        own in prop::collection::vec(0usize..20, 1..12),
        v in prop::collection::vec(-5.0f64..50.0, 12),
        headers in 0usize..4,
        links in prop::collection::vec(0usize..100, 1..12),
        budget in 0usize..80,
    ) {
        let n = own.len();
        let costs = Grouped::new(own, headers, &links);
        let sel = Knapsack { epsilon: 0.1 }.select(&v[..n], &Matrix(vec![]), &costs, budget);
        prop_assert!(replay(&sel, &costs, n) <= budget);
        // The fill pass leaves nothing of positive value that still fits.
        let left = fitting_leftovers(&sel, &costs, &v[..n], budget);
        prop_assert!(left.iter().all(|&i| v[i] <= 0.0), "{:?}", left);
    }
}

// ---------------------------------------------------------------- MIG

fn mig_instance() -> impl Strategy<Value = (Vec<f64>, Matrix, Vec<usize>, usize)> {
    (1usize..=10).prop_flat_map(|n| {
        (
            prop::collection::vec(-2.0f64..10.0, n),
            prop::collection::vec(0.0f64..=1.0, n * n),
            prop::collection::vec(0usize..15, n),
            0usize..60,
        )
            .prop_map(move |(v, upper, c, b)| (v, Matrix::from_upper(n, &upper), c, b))
    })
}

proptest! {
    #[test]
    fn mig_fits_and_is_maximal(
        (v, sim, c, budget) in mig_instance(),
        r in 0.0f64..2.0,
        headers in 0usize..3,
        links in prop::collection::vec(0usize..100, 1..10),
    ) {
        let n = v.len();
        let additive = Additive(c.clone());
        let grouped = Grouped::new(c, headers, &links);
        let costs: [&dyn Costs; 2] = [&additive, &grouped];
        for costs in costs {
            let sel = MigGreedy::new(r).select(&v, &sim, costs, budget);
            prop_assert!(replay(&sel, costs, n) <= budget);
            prop_assert!(fitting_leftovers(&sel, costs, &v, budget).is_empty());
        }
    }

    /// With no redundancy and equal costs, m slots go to the m best values.
    #[test]
    fn mig_without_redundancy_is_top_m(
        (v, sim, _, _) in mig_instance(),
        cost in 1usize..5,
        m in 0usize..12,
    ) {
        let n = v.len();
        let sel = MigGreedy::new(0.0).select(&v, &sim, &Additive(vec![cost; n]), m * cost);
        let size = m.min(n);
        let mut best = f64::NEG_INFINITY;
        for mask in 0u32..(1 << n) {
            if mask.count_ones() as usize == size {
                let set: Vec<usize> = (0..n).filter(|&i| mask >> i & 1 == 1).collect();
                best = best.max(value_of(&set, &v));
            }
        }
        prop_assert_eq!(sel.order.len(), size);
        prop_assert!((value_of(&sel.order, &v) - best).abs() <= 1e-9);
    }

    /// Every step keeps a unit of maximal gain among those that fit at that moment
    /// (recomputed from scratch), ties going to the lower index.
    #[test]
    fn mig_each_step_has_max_gain((v, sim, c, budget) in mig_instance(), r in 0.01f64..3.0) {
        let costs = Additive(c.clone());
        let sel = MigGreedy::new(r).select(&v, &sim, &costs, budget);
        let mut used = 0;
        for (step, &p) in sel.order.iter().enumerate() {
            let before = &sel.order[..step];
            let g = gain(p, before, &v, &sim, r);
            prop_assert!(used + c[p] <= budget);
            for u in (0..v.len()).filter(|u| !before.contains(u) && used + c[*u] <= budget) {
                let gu = gain(u, before, &v, &sim, r);
                prop_assert!(gu < g || (gu == g && p <= u), "step {}: {} ({}) beat {} ({})", step, u, gu, p, g);
            }
            used += c[p];
        }
        prop_assert!(fitting_leftovers(&sel, &costs, &v, budget).is_empty());
    }

    #[test]
    fn mig_lazy_equals_naive(
        (v, sim, c, budget) in mig_instance(),
        r in 0.0f64..3.0,
        min_gain in prop::option::of(-1.0f64..8.0),
    ) {
        let costs = Additive(c);
        let lazy = MigGreedy { redundancy: r, min_gain }.select(&v, &sim, &costs, budget);
        prop_assert_eq!(lazy, naive_mig(&v, &sim, &costs, budget, r, min_gain));
    }
}

/// Lazy == naive on a realistic input: MinHash over overlapping texts, varied costs,
/// many ties in value.
#[test]
fn mig_lazy_equals_naive_on_texts() {
    let mut rng = Lcg(3);
    let texts: Vec<String> = (0..300)
        .map(|_| {
            let len = 1 + rng.below(25) as usize;
            random_text(&mut rng, len).join(" ")
        })
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let sim = MinHash::new(&refs);
    let values: Vec<f64> = (0..300).map(|_| rng.below(20) as f64 / 4.0).collect();
    let costs = Additive((0..300).map(|_| 1 + rng.below(40) as usize).collect());
    for (r, budget) in [(0.5, 500), (1.0, 2000), (3.0, 4000), (0.25, 100_000)] {
        let lazy = MigGreedy::new(r).select(&values, &sim, &costs, budget);
        assert!(!lazy.order.is_empty());
        assert_eq!(lazy, naive_mig(&values, &sim, &costs, budget, r, None));
    }
}

/// Counts similarity calls, to show that lazy evaluation does far less than n·k.
struct Counting<'a> {
    inner: &'a dyn Similarity,
    calls: Cell<usize>,
}

impl Similarity for Counting<'_> {
    fn similarity(&self, i: usize, j: usize) -> f64 {
        self.calls.set(self.calls.get() + 1);
        self.inner.similarity(i, j)
    }
}

/// Units fall into 50 topics: similar within a topic, dissimilar across.
struct Topics;

impl Similarity for Topics {
    fn similarity(&self, i: usize, j: usize) -> f64 {
        if i == j {
            1.0
        } else if i % 50 == j % 50 {
            0.8
        } else {
            0.05
        }
    }
}

#[test]
fn mig_scales_lazily() {
    let n = 20_000;
    let mut rng = Lcg(5);
    let values: Vec<f64> = (0..n).map(|_| rng.below(1_000_000) as f64 / 1e5).collect();
    let costs = Additive(vec![10; n]);
    let sim = Counting {
        inner: &Topics,
        calls: Cell::new(0),
    };
    let start = std::time::Instant::now();
    let sel = MigGreedy::new(0.5).select(&values, &sim, &costs, 20_000);
    let elapsed = start.elapsed();
    assert_eq!(sel.order.len(), 2_000);
    let calls = sim.calls.get();
    eprintln!("n = {n}, k = 2000: {calls} similarity calls in {elapsed:?}");
    // Naive greedy makes n·k = 4e7 calls. Each kept unit must still be compared with
    // every unit kept before it (k²/2 = 2e6), so the lazy floor is a little above that.
    assert!(calls < n * 2_000 / 10, "{calls} calls: not lazy");
}

#[test]
fn selections_are_deterministic() {
    let mut rng = Lcg(9);
    let texts: Vec<String> = (0..200)
        .map(|_| {
            let len = rng.below(20) as usize;
            random_text(&mut rng, len).join(" ")
        })
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let values: Vec<f64> = (0..200).map(|_| rng.below(10) as f64).collect();
    let costs = Additive((0..200).map(|_| rng.below(30) as usize).collect());
    let (a, b) = (MinHash::new(&refs), MinHash::new(&refs));
    assert_eq!(a, b);
    let selectors: [&dyn Selector; 2] = [&MigGreedy::default(), &Knapsack::default()];
    for s in selectors {
        let one = s.select(&values, &a, &costs, 700);
        let two = s.select(&values, &b, &costs, 700);
        assert!(!one.order.is_empty());
        assert_eq!(one, two);
    }
}

// ---------------------------------------------------------------- group shares

proptest! {
    #[test]
    fn group_shares_are_a_softmax(gains in prop::collection::vec(-5.0f64..5.0, 1..12), t in 0.01f64..5.0) {
        let s = group_shares(&gains, t);
        prop_assert_eq!(s.len(), gains.len());
        prop_assert!((s.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        // A higher gain never gets a smaller share.
        for i in 0..gains.len() {
            for j in 0..gains.len() {
                if gains[i] > gains[j] {
                    prop_assert!(s[i] >= s[j]);
                }
            }
        }
    }

    /// Grouped MIG fits the budget, keeps each group within its cap while any group has
    /// room, and then spends what the caps left: nothing that fits is left out.
    #[test]
    fn grouped_mig_fits_and_fills(
        costs in prop::collection::vec(1usize..20, 2..14),
        values in prop::collection::vec(0.0f64..1.0, 14),
        groups in prop::collection::vec(0usize..3, 14),
        caps in prop::collection::vec(0usize..40, 3),
        budget in 0usize..120,
    ) {
        let n = costs.len();
        let values = &values[..n];
        let group = groups[..n].to_vec();
        let sel = GroupedMig { mig: MigGreedy::new(0.0), group: group.clone(), caps: caps.clone() }
            .select(values, &NoSimilarity, &Additive(costs.clone()), budget);
        let used: usize = (0..n).filter(|&i| sel.kept[i]).map(|i| costs[i]).sum();
        prop_assert!(used <= budget);
        for (i, &c) in costs.iter().enumerate() {
            prop_assert!(sel.kept[i] || used + c > budget, "unit {} fits but was left out", i);
        }
    }
}

#[derive(Debug)]
struct NoSimilarity;

impl Similarity for NoSimilarity {
    fn similarity(&self, i: usize, j: usize) -> f64 {
        if i == j { 1.0 } else { 0.0 }
    }
}

/// With generous caps grouped selection is plain MIG; with a tight cap on the best
/// group, the other group's units are chosen first.
#[test]
fn group_caps_steer_the_first_phase() {
    let costs = Additive(vec![10; 6]);
    let values = [0.9, 0.8, 0.7, 0.3, 0.2, 0.1];
    let group = vec![0, 0, 0, 1, 1, 1];
    let plain = MigGreedy::new(0.0).select(&values, &NoSimilarity, &costs, 30);
    let wide = GroupedMig {
        mig: MigGreedy::new(0.0),
        group: group.clone(),
        caps: vec![30, 30],
    }
    .select(&values, &NoSimilarity, &costs, 30);
    assert_eq!(plain.kept, wide.kept);
    let tight = GroupedMig {
        mig: MigGreedy::new(0.0),
        group,
        caps: vec![10, 20],
    }
    .select(&values, &NoSimilarity, &costs, 30);
    assert_eq!(tight.kept, vec![true, false, false, true, true, false]);
    assert_eq!(tight.order, vec![0, 3, 4]);
}

// ---------------------------------------------------------------- sparse redundancy

fn unit_vectors(raw: &[Vec<f32>]) -> Vec<pith::neural::cache::Vector> {
    raw.iter()
        .map(|v| {
            let mut v = v.clone();
            pith::neural::normalize(&mut v);
            v.into()
        })
        .collect()
}

proptest! {
    /// With every pair in its neighbour lists, sparse MIG (similarities pushed from kept
    /// units) chooses exactly what dense MIG (pulled lazily) chooses.
    #[test]
    fn sparse_mig_equals_dense_mig_with_complete_neighbours(
        raw in prop::collection::vec(prop::collection::vec(-1.0f32..1.0, 6), 2..14),
        values in prop::collection::vec(0.0f64..1.0, 14),
        costs in prop::collection::vec(1usize..12, 14),
        floor in 0.0f64..0.9,
        budget in 0usize..60,
    ) {
        let n = raw.len();
        let vectors = unit_vectors(&raw);
        let dense = Cosine { vectors: vectors.clone(), floor };
        let flat: Vec<f32> = vectors.iter().flat_map(|v| v.iter().copied()).collect();
        // Neighbour lists as long as the input: every pair is seen.
        let sparse = SparseCosine::new(pith::ann::Vectors::from_flat(6, flat).unwrap(), n, floor);
        for i in 0..n {
            for j in 0..n {
                prop_assert!((sparse.similarity(i, j) - dense.similarity(i, j)).abs() < 1e-12);
            }
        }
        let costs = Additive(costs[..n].to_vec());
        let mig = MigGreedy::new(1.0);
        let a = mig.select(&values[..n], &dense, &costs, budget);
        let b = mig.select(&values[..n], &sparse, &costs, budget);
        prop_assert_eq!(a.kept, b.kept);
    }
}

/// On 20k clustered unit vectors (past the HNSW threshold; 400 clusters of 50 near-copies),
/// sparse MIG keeps no two units of one cluster, where plain selection by value would
/// take six clusters whole. (HNSW alone strands such near-identical points: with only
/// its neighbours the 300 kept covered 12 clusters; the SimHash buckets catch them.)
#[test]
fn sparse_mig_spreads_over_clusters_at_scale() {
    let (n, dim, clusters) = (20_000usize, 16usize, 400usize);
    let mut state = 7u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as f32 / (1u64 << 31) as f32) * 2.0 - 1.0
    };
    let centres: Vec<Vec<f32>> = (0..clusters)
        .map(|_| (0..dim).map(|_| next()).collect())
        .collect();
    let raw: Vec<Vec<f32>> = (0..n)
        .map(|i| {
            centres[i / (n / clusters)]
                .iter()
                .map(|c| c + 0.01 * next())
                .collect()
        })
        .collect();
    let vectors = unit_vectors(&raw);
    let flat: Vec<f32> = vectors.iter().flat_map(|v| v.iter().copied()).collect();
    let sparse = SparseCosine::new(pith::ann::Vectors::from_flat(dim, flat).unwrap(), 64, 0.9);
    // Values fall with the index, so without redundancy the 300 kept would be the
    // first six clusters.
    let values: Vec<f64> = (0..n).map(|i| 1.0 - i as f64 * 1e-6).collect();
    let sel = MigGreedy::new(1.0).select(&values, &sparse, &Additive(vec![1; n]), 300);
    let mut seen = vec![0; clusters];
    for (i, &k) in sel.kept.iter().enumerate() {
        if k {
            seen[i / (n / clusters)] += 1;
        }
    }
    assert_eq!(sel.kept.iter().filter(|&&k| k).count(), 300);
    let distinct = seen.iter().filter(|&&s| s > 0).count();
    eprintln!("300 kept units cover {distinct} clusters");
    assert_eq!(distinct, 300, "a cluster kept twice");
}
