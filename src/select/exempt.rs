//! A similarity under which salient units are like nothing (tool output: sixteen
//! `FAILED` lines are sixteen facts, not repeats), nor is a diff's removed line like the
//! added line of its own hunk.

use super::Similarity;
use super::similarity::running_max;

/// Salience from which a tool-output line is its own: sixteen `FAILED` lines that differ
/// only in the test's name are sixteen facts, not repeats.
pub(crate) const EXEMPT_SALIENCE: f64 = 0.8;

/// A similarity under which the units marked `exempt` are like nothing: redundancy never
/// costs them, nor do they cost others. A diff's `-` line and a `+` line of the same hunk
/// are not alike either: the added line is by construction nearly the removed one, and
/// their difference is what the diff says.
#[derive(Debug)]
pub(crate) struct Exempt<S> {
    pub inner: S,
    pub exempt: Vec<bool>,
    /// Per unit: the hunk a diff line is in and whether it was added (`true`) or removed;
    /// `None` for every other unit (empty when there is no diff).
    pub changes: Vec<Option<(usize, bool)>>,
}

impl<S> Exempt<S> {
    /// Whether `i` and `j` are the two sides of one change.
    fn change_pair(&self, i: usize, j: usize) -> bool {
        match (self.changes.get(i), self.changes.get(j)) {
            (Some(Some((a, added_a))), Some(Some((b, added_b)))) => a == b && added_a != added_b,
            _ => false,
        }
    }
}

impl<S: Similarity> Similarity for Exempt<S> {
    fn similarity(&self, i: usize, j: usize) -> f64 {
        if self.exempt[i] || self.exempt[j] || self.change_pair(i, j) {
            0.0
        } else {
            self.inner.similarity(i, j)
        }
    }

    fn max_similarity_until(
        &self,
        i: usize,
        others: &[usize],
        enough: &dyn Fn(f64) -> bool,
    ) -> (f64, usize) {
        if self.exempt[i] {
            return (0.0, others.len());
        }
        // An exempt line is like nothing: skip the comparisons outright.
        running_max(others, enough, |j| {
            (!self.exempt[j] && !self.change_pair(i, j)).then(|| self.inner.similarity(i, j))
        })
    }
}

/// For each unit of a diff, its hunk (the unit that opens it) and whether it is an added
/// line, for the changed lines inside hunks; `None` elsewhere.
pub(crate) fn diff_changes(texts: &[&str]) -> Vec<Option<(usize, bool)>> {
    let (record, _) = crate::segment::output::records(crate::segment::OutputKind::Diff, texts);
    texts
        .iter()
        .zip(record)
        .map(|(t, r)| {
            let added = t.starts_with('+') && !t.starts_with("+++ ");
            let removed = t.starts_with('-') && !t.starts_with("--- ");
            r.filter(|_| added || removed).map(|r| (r, added))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::select::MinHash;

    #[test]
    fn a_change_is_not_a_repeat_but_a_copy_elsewhere_is() {
        let texts = [
            "diff --git a/x.rs b/x.rs\n",
            "--- a/x.rs\n",
            "+++ b/x.rs\n",
            "@@ -1,1 +1,1 @@ fn a\n",
            "-let total = compute(first, second);\n",
            "+let total = compute(first, second, third);\n",
            "@@ -9,1 +9,1 @@ fn b\n",
            "+let total = compute(first, second, third);\n",
        ];
        let changes = diff_changes(&texts);
        assert_eq!(changes[4], Some((3, false)));
        assert_eq!(changes[5], Some((3, true)));
        assert_eq!(changes[7], Some((6, true)));
        assert!(changes[..4].iter().all(Option::is_none), "{changes:?}");
        let s = Exempt {
            inner: MinHash::new(&texts),
            exempt: vec![false; texts.len()],
            changes,
        };
        assert!(MinHash::new(&texts).similarity(4, 5) > 0.3);
        assert_eq!(s.similarity(4, 5), 0.0);
        assert_eq!(s.max_similarity(5, &[4]), 0.0);
        // The same addition in another hunk, and the removal against it, still repeat.
        assert!(s.similarity(5, 7) > 0.9);
        assert!(s.similarity(4, 7) > 0.3);
        assert!(s.max_similarity(7, &[4, 5]) > 0.9);
    }
}
