//! The cascade's embedding stage: the lexical values rank every unit and only a
//! shortlist is embedded (LongCodeZip's coarse-to-fine idea, with BM25 as the coarse
//! ranker).
//!
//! Embedding every function of a repository takes a minute or more on a CPU, and a
//! function the lexical scores put in the last few hundred seldom makes it into an 8k
//! budget anyway. Units outside the shortlist keep their lexical values: their embedding
//! similarity counts as the lowest of the shortlist, so with hybrid relevance each one
//! sits below every shortlisted unit of at least its lexical value.

use crate::preset::ScoreConfig;

/// How many units the embedding stage embeds, and how much of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Cascade {
    /// Most units embedded (`None`: no limit).
    pub units: Option<usize>,
    /// Most target tokens of the embedded units together (`None`: no limit).
    pub tokens: Option<usize>,
    /// Embed only the first window of a long unit.
    pub first_window: bool,
}

impl Cascade {
    /// The preset's cascade (`score.shortlist`, `shortlist_tokens`, `embed_first_window`).
    pub fn of(score: &ScoreConfig) -> Self {
        Self {
            units: score.shortlist,
            tokens: score.shortlist_tokens,
            first_window: score.embed_first_window,
        }
    }

    /// Whether every unit with text is embedded.
    pub fn embeds_all(&self) -> bool {
        self.units.is_none() && self.tokens.is_none()
    }

    /// Which units to embed: among those with text, the best `values` first (earlier
    /// units first on ties) while both limits hold; at least one. Every unit with text
    /// without limits.
    pub fn shortlist(&self, values: &[f64], tokens: &[usize], has_text: &[bool]) -> Vec<bool> {
        if self.embeds_all() {
            return has_text.to_vec();
        }
        let mut rank: Vec<usize> = (0..has_text.len()).filter(|&i| has_text[i]).collect();
        rank.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
        let mut chosen = vec![false; has_text.len()];
        let (mut count, mut spent) = (0usize, 0usize);
        for i in rank {
            let over_units = self.units.is_some_and(|n| count >= n);
            let over_tokens = self.tokens.is_some_and(|t| spent + tokens[i] > t);
            if count > 0 && (over_units || over_tokens) {
                break;
            }
            chosen[i] = true;
            count += 1;
            spent += tokens[i];
        }
        chosen
    }
}

/// Gives each unit outside the shortlist (`embedded` false, `has_text` true) the lowest
/// similarity of the shortlist, so that only its lexical value orders it.
pub(super) fn fill_outside(relevance: &mut [f64], embedded: &[bool], has_text: &[bool]) {
    let floor = relevance
        .iter()
        .zip(embedded)
        .filter(|(_, e)| **e)
        .map(|(r, _)| *r)
        .reduce(f64::min);
    let Some(floor) = floor else {
        return;
    };
    for ((r, &e), &t) in relevance.iter_mut().zip(embedded).zip(has_text) {
        if t && !e {
            *r = floor;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cascade(units: Option<usize>, tokens: Option<usize>) -> Cascade {
        Cascade {
            units,
            tokens,
            first_window: false,
        }
    }

    #[test]
    fn without_limits_every_unit_with_text_is_embedded() {
        let has_text = [true, false, true];
        let all = cascade(None, None).shortlist(&[0.1, 0.9, 0.5], &[5, 5, 5], &has_text);
        assert_eq!(all, has_text);
    }

    #[test]
    fn the_shortlist_takes_the_best_values_within_both_limits() {
        let values = [0.1, 0.9, 0.5, 0.7, 0.5];
        let tokens = [10, 10, 10, 50, 10];
        let text = [true; 5];
        let chosen = |c: Cascade| -> Vec<usize> {
            let s = c.shortlist(&values, &tokens, &text);
            (0..s.len()).filter(|&i| s[i]).collect()
        };
        assert_eq!(chosen(cascade(Some(2), None)), vec![1, 3]);
        // Ties go to the earlier unit.
        assert_eq!(chosen(cascade(Some(3), None)), vec![1, 2, 3]);
        // The token cap stops at the first unit that would overflow it.
        assert_eq!(chosen(cascade(None, Some(59))), vec![1]);
        assert_eq!(chosen(cascade(Some(10), Some(60))), vec![1, 3]);
        // At least one unit, however small the cap.
        assert_eq!(chosen(cascade(None, Some(1))), vec![1]);
        assert_eq!(chosen(cascade(Some(100), None)), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn units_without_text_are_never_shortlisted() {
        let s =
            cascade(Some(2), None).shortlist(&[0.9, 0.8, 0.1], &[1, 1, 1], &[false, true, true]);
        assert_eq!(s, vec![false, true, true]);
    }

    #[test]
    fn units_outside_the_shortlist_get_its_lowest_similarity() {
        let mut r = vec![0.6, 0.9, 0.0, 0.3, 0.0];
        let embedded = [true, false, false, true, false];
        let has_text = [true, true, false, true, true];
        fill_outside(&mut r, &embedded, &has_text);
        assert_eq!(r, vec![0.6, 0.3, 0.0, 0.3, 0.3]);
        // Nothing embedded: nothing to compare with, nothing changes.
        let mut r = vec![0.5, 0.2];
        fill_outside(&mut r, &[false, false], &[true, true]);
        assert_eq!(r, vec![0.5, 0.2]);
    }
}
