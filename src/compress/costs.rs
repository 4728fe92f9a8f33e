//! What keeping a unit costs in the rendered output, exactly as the renderer will charge
//! it: the unit's tokens, the companions it brings (its container's header and footer),
//! the change in the number of elision markers in its document, and the document's frame
//! when it is the first unit kept there.

use crate::select::Costs;

/// Where a unit sits, and what it costs on its own.
#[derive(Debug, Clone)]
pub(crate) struct UnitInfo {
    pub doc: usize,
    /// Tokens of the unit's own text.
    pub tokens: usize,
    /// Units kept together with this one (ancestor headers and their footers).
    pub companions: Vec<usize>,
    /// For a header: its footer, dropped and kept with it.
    pub footer: Option<usize>,
    /// A footer is never given back on its own: it goes with its header.
    pub is_footer: bool,
    /// For a header: the units that cannot be kept without it.
    pub dependents: Vec<usize>,
}

/// Per-document charges.
#[derive(Debug, Clone)]
pub(crate) struct DocInfo {
    /// Global index of the document's first unit; its units are `first..first + len`.
    pub first: usize,
    pub len: usize,
    /// Tokens of one elision marker in this document.
    pub marker: usize,
    /// Runs of at most this many dropped units get a short marker (0: none do).
    pub short_gap: usize,
    /// Tokens of that short marker.
    pub short_marker: usize,
    /// Tokens of the layout's opening and closing text, paid once the document shows.
    pub frame: usize,
}

#[derive(Debug)]
pub(crate) struct DocCosts {
    pub units: Vec<UnitInfo>,
    pub docs: Vec<DocInfo>,
    /// Whether a document with nothing kept disappears (packs) or shows as one marker.
    pub omit_empty: bool,
}

impl DocInfo {
    /// Tokens of the marker for a run of `n` dropped units (none for an empty run).
    fn marker_for(&self, n: usize) -> usize {
        match n {
            0 => 0,
            n if n <= self.short_gap => self.short_marker,
            _ => self.marker,
        }
    }

    /// Dropped units next to `j` on one side (`step` -1 or +1), counted up to one more
    /// than a short gap: all the marker price needs to know.
    fn gap(&self, is_kept: &dyn Fn(usize) -> bool, j: usize, step: isize) -> usize {
        let (first, end) = (self.first as isize, (self.first + self.len) as isize);
        let mut n = 0;
        let mut at = j as isize + step;
        while at >= first && at < end && !is_kept(at as usize) && n <= self.short_gap {
            n += 1;
            at += step;
        }
        n
    }
}

impl DocCosts {
    /// Change in marker tokens when `j`, dropped, is kept: its run of dropped units splits
    /// into the parts on either side of it.
    fn markers_delta(&self, doc: &DocInfo, is_kept: &dyn Fn(usize) -> bool, j: usize) -> isize {
        let (left, right) = (doc.gap(is_kept, j, -1), doc.gap(is_kept, j, 1));
        // A part counted to the cap is long, and so is the run it belongs to.
        let run = (left + right + 1).min(doc.short_gap + 1);
        (doc.marker_for(left) + doc.marker_for(right)) as isize - doc.marker_for(run) as isize
    }
}

impl Costs for DocCosts {
    fn delta(&self, kept: &[bool], i: usize) -> usize {
        if kept[i] {
            return 0;
        }
        let unit = &self.units[i];
        let doc = &self.docs[unit.doc];
        let mut adding: Vec<usize> = std::iter::once(i)
            .chain(unit.companions.iter().copied())
            .filter(|&j| !kept[j])
            .collect();
        adding.sort_unstable();
        adding.dedup();

        let mut total: isize = 0;
        let mut doc_shown =
            !self.omit_empty || kept[doc.first..doc.first + doc.len].iter().any(|&k| k);
        let mut applied: Vec<usize> = Vec::with_capacity(adding.len());
        for &j in &adding {
            total += self.units[j].tokens as isize;
            if doc_shown {
                let is_kept = |x: usize| kept[x] || applied.contains(&x);
                total += self.markers_delta(doc, &is_kept, j);
            } else {
                // The document appears: its frame, and a marker on each side of `j` that
                // has something dropped.
                let sides =
                    doc.marker_for(j - doc.first) + doc.marker_for(doc.first + doc.len - j - 1);
                total += (doc.frame + sides) as isize;
                doc_shown = true;
            }
            applied.push(j);
        }
        total.max(0) as usize
    }

    fn companions(&self, i: usize) -> &[usize] {
        &self.units[i].companions
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Marker tokens of a document as rendered: one marker for each run of dropped units.
    fn markers(doc: &DocInfo, kept: &[bool]) -> usize {
        let mut total = 0;
        let mut run = 0;
        for &k in kept.iter().chain([&true]) {
            if k {
                total += doc.marker_for(run);
                run = 0;
            } else {
                run += 1;
            }
        }
        total
    }

    proptest! {
        /// What selection is charged for keeping a unit is what it adds to the output:
        /// its tokens, and the change in marker tokens with short and long gaps.
        #[test]
        fn delta_is_the_change_in_rendered_tokens(
            kept in proptest::collection::vec(any::<bool>(), 1..30),
            short_gap in 0usize..5,
            marker in 3usize..10,
            tokens in 1usize..4,
        ) {
            let len = kept.len();
            let doc = DocInfo { first: 0, len, marker, short_gap, short_marker: 1, frame: 0 };
            let unit = UnitInfo {
                doc: 0,
                tokens,
                companions: Vec::new(),
                footer: None,
                is_footer: false,
                dependents: Vec::new(),
            };
            let costs = DocCosts { units: vec![unit; len], docs: vec![doc.clone()], omit_empty: false };
            for i in (0..len).filter(|&i| !kept[i]) {
                let mut with = kept.clone();
                with[i] = true;
                let change = (tokens + markers(&doc, &with)) as isize - markers(&doc, &kept) as isize;
                prop_assert_eq!(costs.delta(&kept, i), change.max(0) as usize);
            }
        }
    }
}
