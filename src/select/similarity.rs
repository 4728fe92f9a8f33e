//! Similarity between units, for the redundancy term of marginal information gain.
//!
//! Units are compared as sets of word shingles: lowercased runs of alphanumeric
//! characters, taken three at a time (units of one or two words fall back to single
//! words, so short lines still compare). [`Jaccard`] computes the exact set similarity;
//! [`MinHash`] estimates it from 64 minima per unit, so a comparison costs 64 word
//! compares however long the units are.
//!
//! Hashing is our own (FNV-1a, then a murmur3 finaliser with fixed seeds) so that
//! signatures, and therefore selections, are identical across runs and platforms.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Pairwise similarity between units.
///
/// Contract: values lie in `0..=1`, `similarity(i, j) == similarity(j, i)`, and a
/// non-empty unit has similarity 1 to itself.
pub trait Similarity {
    /// Similarity of units `i` and `j`, in `0..=1`.
    fn similarity(&self, i: usize, j: usize) -> f64;

    /// The largest similarity of `i` to any unit of `others` (0 when there is none).
    fn max_similarity(&self, i: usize, others: &[usize]) -> f64 {
        self.max_similarity_until(i, others, &|_| false).0
    }

    /// The largest similarity of `i` to the units of `others`, read in order, stopping
    /// as soon as `enough` holds of the largest so far: that largest, and how many of
    /// `others` were read.
    fn max_similarity_until(
        &self,
        i: usize,
        others: &[usize],
        enough: &dyn Fn(f64) -> bool,
    ) -> (f64, usize) {
        running_max(others, enough, |j| Some(self.similarity(i, j)))
    }

    /// For sparse similarities: every unit with a non-zero similarity to `i`, with it
    /// (all others are 0). Selection then pushes similarities from kept units to their
    /// neighbours instead of comparing candidates with everything kept.
    fn neighbours(&self, _i: usize) -> Option<&[(usize, f64)]> {
        None
    }
}

/// The maximum of `of(j)` over `others` in order (`None`: `j` is not compared), stopping
/// as soon as `enough` holds of it: the maximum, and how many of `others` were read.
pub(crate) fn running_max(
    others: &[usize],
    enough: &dyn Fn(f64) -> bool,
    of: impl Fn(usize) -> Option<f64>,
) -> (f64, usize) {
    let mut max: f64 = 0.0;
    for (k, &j) in others.iter().enumerate() {
        // `enough` only ever turns true as the maximum grows: ask it then only.
        if let Some(s) = of(j)
            && s > max
        {
            max = s;
            if enough(max) {
                return (max, k + 1);
            }
        }
    }
    (max, others.len())
}

/// Number of hash functions in a [`MinHash`] signature; the standard error of the
/// estimate is at most `sqrt(J (1 − J) / 64) ≤ 0.0625`.
pub(crate) const SIGNATURE_LEN: usize = 64;

/// Distinct shingles whose lane values [`MinHash::new`] remembers (8 MiB of them).
const CACHED_SHINGLES: usize = 1 << 14;

/// Words per shingle for units long enough to have one.
const SHINGLE: usize = 3;

/// Maximal runs of alphanumeric characters.
fn raw_words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// Lowercased maximal runs of alphanumeric characters.
fn words(text: &str) -> Vec<String> {
    raw_words(text).map(str::to_lowercase).collect()
}

/// The shingles of a unit as word windows: 3-word windows, or single words when the
/// unit has fewer than three words, or none for a unit without words.
fn windows<S>(words: &[S]) -> impl Iterator<Item = &[S]> {
    let size = if words.len() >= SHINGLE { SHINGLE } else { 1 };
    words.windows(size)
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01b3;

/// FNV-1a over the words of a shingle, separated by 0xFF (never a byte of UTF-8, so
/// different word splits cannot collide by concatenation), then mixed.
fn shingle_hash<S: AsRef<str>>(shingle: &[S]) -> u64 {
    let mut h = FNV_OFFSET;
    for (k, w) in shingle.iter().enumerate() {
        if k > 0 {
            h = (h ^ 0xFF).wrapping_mul(FNV_PRIME);
        }
        for &b in w.as_ref().as_bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(FNV_PRIME);
        }
    }
    fmix64(h)
}

/// murmur3's 64-bit finaliser: a bijection with full avalanche.
const fn fmix64(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// Fixed per-function seeds from a splitmix64 stream, computed at compile time.
const SEEDS: [u64; SIGNATURE_LEN] = {
    let mut seeds = [0u64; SIGNATURE_LEN];
    let mut state: u64 = 0x9d2c_5680_1b87_3f2a;
    let mut k = 0;
    while k < SIGNATURE_LEN {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        seeds[k] = z ^ (z >> 31);
        k += 1;
    }
    seeds
};

/// Signature lanes as 16-bit ids when fewer than 2¹⁶ − 1 distinct shingles make them
/// (eight lanes to an SSE2 compare, and half the memory to read), else 32-bit ones.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Signatures {
    Narrow(Vec<[u16; SIGNATURE_LEN]>),
    Wide(Vec<[u32; SIGNATURE_LEN]>),
}

/// MinHash estimate of the Jaccard similarity of word shingles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinHash {
    /// `SIGNATURE_LEN` per unit: in lane k, a dense id of the shingle with the smallest
    /// `fmix64(hash ^ SEEDS[k])`. The finaliser is a bijection, so two units have the
    /// same minimum in a lane exactly when the same shingle gave it: comparing ids is
    /// comparing minima, and narrow lanes compare faster than 64-bit ones (selection
    /// compares signatures more than anything else).
    signatures: Signatures,
    /// Units without words: similarity 0 to everything, themselves included.
    empty: Vec<bool>,
}

impl MinHash {
    /// Signatures of the word shingles of each unit.
    pub fn new(units: &[&str]) -> Self {
        Self::build(units, usize::from(u16::MAX), CACHED_SHINGLES)
    }

    /// [`MinHash::new`], with 16-bit lanes when fewer than `narrow_below` distinct
    /// shingles make the signatures, remembering the lane values of the first `cached`
    /// distinct shingles.
    fn build(units: &[&str], narrow_below: usize, cached: usize) -> Self {
        let mut signatures = vec![[u32::MAX; SIGNATURE_LEN]; units.len()];
        let mut empty = vec![true; units.len()];
        // A dense id per distinct shingle hash. The hashes are mixed already, so they
        // index the map as they are.
        let mut ids: HashMap<u64, u32, BuildHasherDefault<AsIs>> =
            HashMap::with_capacity_and_hasher(units.len() * 4, BuildHasherDefault::default());
        // The lane values of the first distinct shingles, by id: a log repeats most of
        // its shingles (three in four on a pytest log), and a lookup costs less than 64
        // hashes.
        let mut lanes: Vec<[u64; SIGNATURE_LEN]> = Vec::new();
        // The lane values of a shingle not remembered.
        let mut fresh = [0u64; SIGNATURE_LEN];
        // Lowercased words of a unit, one after another in `lower`, reused across units.
        let mut lower = String::new();
        let mut ends = Vec::new();
        for (u, text) in units.iter().enumerate() {
            lower.clear();
            ends.clear();
            for w in raw_words(text) {
                if w.is_ascii() {
                    let start = lower.len();
                    lower.push_str(w);
                    lower[start..].make_ascii_lowercase();
                } else {
                    lower.push_str(&w.to_lowercase());
                }
                ends.push(lower.len());
            }
            let mut start = 0;
            let ws: Vec<&str> = ends
                .iter()
                .map(|&end| {
                    let w = &lower[start..end];
                    start = end;
                    w
                })
                .collect();
            let mut minima = [u64::MAX; SIGNATURE_LEN];
            let sig = &mut signatures[u];
            for shingle in windows(&ws) {
                empty[u] = false;
                let h = shingle_hash(shingle);
                // 2³² distinct shingles would take a text of billions of words.
                let next = ids.len() as u32;
                let id = *ids.entry(h).or_insert(next);
                let i = id as usize;
                let values = if i < lanes.len() {
                    &lanes[i]
                } else {
                    for (v, seed) in fresh.iter_mut().zip(SEEDS) {
                        *v = fmix64(h ^ seed);
                    }
                    if i == lanes.len() && i < cached {
                        lanes.push(fresh);
                    }
                    &fresh
                };
                for ((min, slot), &v) in minima.iter_mut().zip(sig.iter_mut()).zip(values) {
                    if v < *min {
                        *min = v;
                        *slot = id;
                    }
                }
            }
        }
        // `u32::MAX` (a lane of a unit without shingles) stays the largest id.
        let signatures = if ids.len() < narrow_below.min(usize::from(u16::MAX)) {
            let narrow = |id: u32| u16::try_from(id).unwrap_or(u16::MAX);
            Signatures::Narrow(signatures.iter().map(|s| s.map(narrow)).collect())
        } else {
            Signatures::Wide(signatures)
        };
        Self { signatures, empty }
    }

    /// Number of units.
    pub fn len(&self) -> usize {
        self.empty.len()
    }

    /// Whether there are no units.
    pub fn is_empty(&self) -> bool {
        self.empty.is_empty()
    }
}

impl Similarity for MinHash {
    fn similarity(&self, i: usize, j: usize) -> f64 {
        if self.empty[i] || self.empty[j] {
            return 0.0;
        }
        if i == j {
            return 1.0;
        }
        // Summed in lanes as wide as the ids, so the comparison stays many to a vector.
        let same = match &self.signatures {
            Signatures::Narrow(s) => {
                let n: u16 = s[i].iter().zip(&s[j]).map(|(a, b)| u16::from(a == b)).sum();
                u32::from(n)
            }
            Signatures::Wide(s) => s[i].iter().zip(&s[j]).map(|(a, b)| u32::from(a == b)).sum(),
        };
        f64::from(same) / SIGNATURE_LEN as f64
    }
}

/// A hasher that takes a `u64` as its own hash, for keys that are hashes already.
#[derive(Default)]
struct AsIs(u64);

impl Hasher for AsIs {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `u64` keys are hashed; fold anything else in anyway.
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(FNV_PRIME);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Exact Jaccard similarity of the same shingles MinHash estimates; memory grows with
/// the text, so it is the reference for tests and small inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jaccard {
    /// Sorted, deduplicated shingles of each unit (words joined by a space).
    sets: Vec<Vec<String>>,
}

impl Jaccard {
    /// The word shingles of each unit.
    pub fn new(units: &[&str]) -> Self {
        let sets = units
            .iter()
            .map(|text| {
                let ws = words(text);
                let mut set: Vec<String> = windows(&ws).map(|s| s.join(" ")).collect();
                set.sort_unstable();
                set.dedup();
                set
            })
            .collect();
        Self { sets }
    }

    /// Number of units.
    pub fn len(&self) -> usize {
        self.sets.len()
    }

    /// Whether there are no units.
    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }
}

impl Similarity for Jaccard {
    fn similarity(&self, i: usize, j: usize) -> f64 {
        let (a, b) = (&self.sets[i], &self.sets[j]);
        if a.is_empty() || b.is_empty() {
            return 0.0;
        }
        // Merge the two sorted sets to count the intersection.
        let (mut x, mut y, mut common) = (0, 0, 0usize);
        while x < a.len() && y < b.len() {
            match a[x].cmp(&b[y]) {
                std::cmp::Ordering::Less => x += 1,
                std::cmp::Ordering::Greater => y += 1,
                std::cmp::Ordering::Equal => {
                    common += 1;
                    x += 1;
                    y += 1;
                }
            }
        }
        common as f64 / (a.len() + b.len() - common) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// 16-bit lanes compare as the 32-bit ones do.
        #[test]
        fn narrow_and_wide_lanes_agree(units in proptest::collection::vec("([a-d]{1,2} ?){0,8}", 1..12)) {
            let units: Vec<&str> = units.iter().map(String::as_str).collect();
            let (narrow, wide) = (
                MinHash::build(&units, usize::MAX, CACHED_SHINGLES),
                MinHash::build(&units, 0, CACHED_SHINGLES),
            );
            prop_assert!(matches!(narrow.signatures, Signatures::Narrow(_)));
            prop_assert!(matches!(wide.signatures, Signatures::Wide(_)));
            for i in 0..units.len() {
                for j in 0..units.len() {
                    prop_assert_eq!(narrow.similarity(i, j), wide.similarity(i, j));
                }
            }
        }

        /// Remembered lane values give the signatures that hashing every shingle gives,
        /// whether all, some or none of the shingles are remembered.
        #[test]
        fn remembered_lanes_change_nothing(
            units in proptest::collection::vec("([a-d]{1,2} ?){0,8}", 1..12),
            cached in 0usize..8,
        ) {
            let units: Vec<&str> = units.iter().map(String::as_str).collect();
            let hashed = MinHash::build(&units, usize::MAX, 0);
            prop_assert_eq!(MinHash::build(&units, usize::MAX, cached), hashed.clone());
            prop_assert_eq!(MinHash::build(&units, usize::MAX, CACHED_SHINGLES), hashed);
        }
    }
}
