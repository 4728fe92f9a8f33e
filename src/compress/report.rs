//! The result of a compression: the rendered text, and per document what was kept and
//! dropped, counted in the target tokenizer.

use super::Compressor;
use super::output::{Compressed, DocReport, Dropped};
use super::prepared::Prepared;
use crate::render;

impl Compressor {
    pub(super) fn report(
        &self,
        prepared: &Prepared,
        kept: &[bool],
        out: &render::Rendered,
        tokens_after: usize,
        budget: usize,
    ) -> Compressed {
        // Sections come in rendering order; reports go in document order.
        // A section that is the whole text (one bare document) was counted already.
        let counted = crate::parallel::map(&out.sections, |s| {
            if *s == (0..out.text.len()) {
                tokens_after
            } else {
                self.counter.count(&out.text[s.clone()])
            }
        });
        let mut after = vec![0; prepared.docs.len()];
        let mut sections = vec![0..0; prepared.docs.len()];
        for ((d, n), s) in prepared.order().into_iter().zip(counted).zip(&out.sections) {
            after[d] = n;
            sections[d] = s.clone();
        }
        let documents = prepared
            .docs
            .iter()
            .enumerate()
            .map(|(d, doc)| {
                let base = prepared.first[d];
                let chunks = prepared.chunks(d);
                let lines = &prepared.lines[d];
                let dropped = chunks
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !kept[base + i])
                    .map(|(_, c)| Dropped {
                        kind: c.kind,
                        name: c.name.clone(),
                        lines: (
                            lines.line(c.span.start),
                            lines.line(c.span.end.saturating_sub(1).max(c.span.start)),
                        ),
                        start: c.span.start,
                        end: c.span.end,
                    })
                    .collect::<Vec<_>>();
                DocReport {
                    path: doc.path.clone(),
                    tokens_before: prepared.sections_before[d],
                    tokens_after: after[d],
                    section: sections[d].clone(),
                    chunks: chunks.len(),
                    kept: chunks.len() - dropped.len(),
                    dropped,
                }
            })
            .collect();
        Compressed {
            text: out.text.clone(),
            tokens_before: prepared.tokens_before,
            tokens_after,
            budget,
            tokenizer: self.counter.name().to_owned(),
            documents,
            nothing_relevant: false,
            best_relevance: prepared.best_relevance(),
            warnings: self
                .build_warnings
                .iter()
                .cloned()
                .chain(prepared.warnings.iter().cloned())
                .collect(),
        }
    }
}
