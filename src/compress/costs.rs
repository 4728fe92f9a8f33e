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

impl DocCosts {
    /// Markers the document shows for a given kept state.
    fn runs_delta(&self, doc: &DocInfo, is_kept: &dyn Fn(usize) -> bool, j: usize) -> isize {
        let left = j > doc.first && !is_kept(j - 1);
        let right = j + 1 < doc.first + doc.len && !is_kept(j + 1);
        match (left, right) {
            (true, true) => 1,
            (false, false) => -1,
            _ => 0,
        }
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
                total += self.runs_delta(doc, &is_kept, j) * doc.marker as isize;
            } else {
                // The document appears: its frame, and a marker on each side of `j` that
                // has something dropped.
                let sides = usize::from(j > doc.first) + usize::from(j + 1 < doc.first + doc.len);
                total += (doc.frame + sides * doc.marker) as isize;
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
