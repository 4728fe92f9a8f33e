//! LLMLingua-2's second stage as a refinement: words pruned inside the kept prose. Each
//! run of consecutive kept sentences is scored as one text, so the model sees context;
//! the level is the keep rate, searched down to 2%.

use super::{Refiner, Rendering, Replaced};
use crate::compress::prepared::Prepared;
use crate::lingua::{Target, TokenPruner};
use crate::render::Rendered;
use crate::segment::ChunkKind;
use crate::tokens::TokenCounter;

/// Word pruning by a token classifier or by surprisal under a causal LM.
#[derive(Debug)]
pub(crate) struct WordPruning<'a> {
    pub pruner: &'a TokenPruner,
    /// The preset's `[prune] rate`.
    pub rate: f64,
}

impl Refiner for WordPruning<'_> {
    fn name(&self) -> &'static str {
        "token pruning"
    }

    fn rate(&self) -> f64 {
        self.rate
    }

    fn refine(
        &self,
        prepared: &Prepared,
        kept: &[bool],
        counter: &dyn TokenCounter,
        budget: usize,
        render: Rendering<'_>,
    ) -> Result<(Rendered, usize), String> {
        // (document, first chunk, end chunk) of each run of kept sentences.
        let mut runs: Vec<(usize, usize, usize)> = Vec::new();
        for d in 0..prepared.docs.len() {
            let (first, chunks) = (prepared.first[d], prepared.chunks(d));
            for (i, c) in chunks.iter().enumerate() {
                if !(kept[first + i] && c.kind == ChunkKind::Sentence) {
                    continue;
                }
                match runs.last_mut() {
                    Some(r) if r.0 == d && r.2 == i => r.2 = i + 1,
                    _ => runs.push((d, i, i + 1)),
                }
            }
        }
        let texts: Vec<&str> = runs
            .iter()
            .map(|&(d, a, b)| {
                let c = prepared.chunks(d);
                &prepared.docs[d].text[c[a].span.start..c[b - 1].span.end]
            })
            .collect();
        let scored = self
            .pruner
            .score(&texts)
            .map_err(|e| format!("token pruning failed ({e}); whole units selected instead"))?;
        // Costs and whole-run counts once; the search below only cuts.
        let cutters: Vec<_> = scored.iter().map(|s| s.cutter(counter)).collect();
        let attempt = |rate: f64| {
            let mut replaced: Replaced = prepared.no_replacements();
            for (c, &(d, a, b)) in cutters.iter().zip(&runs) {
                let text = c.select(Target::Rate(rate)).ok()?.text;
                replaced[d][a] = Some(text);
                for r in &mut replaced[d][a + 1..b] {
                    *r = Some(String::new());
                }
            }
            Some(render(&replaced))
        };
        super::highest_fitting(0.02, 1.0, 10, budget, attempt).ok_or_else(|| self.no_fit())
    }
}
