//! Synthetic unit vectors shaped like sentence embeddings, shared by tests/core/ann.rs and
//! benches/ann.rs (included with `#[path]`).
//!
//! Real embeddings are clustered: sentences on one topic sit close together and far from
//! other topics. Uniform random vectors in 384 dimensions are a pathological case for any
//! ANN graph (all pairwise similarities concentrate near 0, so "nearest" is noise), and
//! would understate HNSW's recall on real data. Here each vector is a random cluster
//! centre plus Gaussian noise, normalised: with `noise = 0.75` a vector's cosine to its
//! centre is about 0.8 and to a cluster mate about 0.64, to other clusters about 0.

use pith::ann::Vectors;

/// A small deterministic generator (SplitMix64), so runs are reproducible without a
/// dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f32 {
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
    }

    /// A random unit vector (uniform on the sphere).
    pub fn unit(&mut self, dim: usize) -> Vec<f32> {
        let mut v: Vec<f32> = (0..dim).map(|_| self.normal()).collect();
        normalise(&mut v);
        v
    }
}

pub fn normalise(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// `n` unit vectors of `dim` around `centres` random centres; `noise` is the noise
/// vector's length relative to the (unit) centre. Vectors are assigned to centres at
/// random, so clusters differ in size.
pub fn clustered(n: usize, dim: usize, centres: usize, noise: f32, seed: u64) -> Vectors {
    clustered_with_queries(n, 0, dim, centres, noise, seed).0
}

/// [`clustered`] plus `queries` more vectors drawn around the same centres (held out of
/// the index, like a query on the corpus's topics).
pub fn clustered_with_queries(
    n: usize,
    queries: usize,
    dim: usize,
    centres: usize,
    noise: f32,
    seed: u64,
) -> (Vectors, Vectors) {
    let mut rng = Rng::new(seed);
    let centres: Vec<Vec<f32>> = (0..centres.max(1)).map(|_| rng.unit(dim)).collect();
    let scale = noise / (dim as f32).sqrt();
    let mut draw = |count: usize| {
        let mut data = Vec::with_capacity(count * dim);
        for _ in 0..count {
            let centre = &centres[(rng.next_u64() % centres.len() as u64) as usize];
            let mut v: Vec<f32> = centre.iter().map(|c| c + scale * rng.normal()).collect();
            normalise(&mut v);
            data.extend_from_slice(&v);
        }
        Vectors::from_flat(dim, data).expect("finite, whole rows")
    };
    let stored = draw(n);
    (stored, draw(queries))
}

/// Mean fraction of `exact`'s neighbours (by index) that `approx` also found.
pub fn recall(exact: &[Vec<pith::ann::Neighbour>], approx: &[Vec<pith::ann::Neighbour>]) -> f64 {
    let mut found = 0usize;
    let mut total = 0usize;
    for (e, a) in exact.iter().zip(approx) {
        total += e.len();
        found += e
            .iter()
            .filter(|n| a.iter().any(|m| m.index == n.index))
            .count();
    }
    if total == 0 {
        1.0
    } else {
        found as f64 / total as f64
    }
}
