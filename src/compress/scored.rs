//! What the preset's models add to a prepared input: unit and query embeddings, and the
//! causal LM's ranking of the shortlist.

use super::Warning;
use super::cascade::{self, Cascade};
use super::lm_rank::{self, Candidate};
use super::models::Models;
use super::prepared::{Embeddings, Prepared};
use crate::lm::CausalLm;
use crate::neural::Embedder;
use crate::preset::Preset;
use crate::vector::{Vector, dot, normalize};

impl Prepared {
    /// Embeds the units when the preset scores with embeddings, and ranks with the causal
    /// LM when it has one and a query; each stage that fails leaves a warning.
    pub(super) fn run_models(&mut self, preset: &Preset, models: &Models) {
        if preset.needs_embedder() {
            // Without an embedder the compressor reports why it has none.
            if let Some(e) = &models.embedder {
                match self.embed(e) {
                    Ok(emb) => self.embeddings = Some(emb),
                    Err(err) => self.warnings.push(Warning::EmbeddingFailed {
                        reason: err.to_string(),
                    }),
                }
            }
        }
        if let (Some(config), Some(lm), Some(query)) = (&preset.lm, &models.lm, self.query.clone())
        {
            self.rank_with_lm(lm, config, &query);
        }
    }

    /// The cascade's LM stage: re-ranks the shortlist the values above make. On failure
    /// the values stand, with a warning.
    fn rank_with_lm(&mut self, lm: &CausalLm, config: &crate::preset::LmRankConfig, query: &str) {
        let base = self.compute_values();
        let texts = self.unit_texts();
        let kinds = self.unit_kinds();
        let units: Vec<Candidate<'_>> = (0..texts.len())
            .map(|i| Candidate {
                text: texts[i],
                kind: kinds[i],
                tokens: self.costs.units[i].tokens,
                value: base[i],
            })
            .collect();
        let mut doc_values = vec![0.0f64; self.docs.len()];
        for (i, u) in self.costs.units.iter().enumerate() {
            doc_values[u.doc] = doc_values[u.doc].max(base[i]);
        }
        let docs: Vec<(&str, f64)> = self
            .docs
            .iter()
            .zip(&doc_values)
            .map(|(d, &v)| (d.text.as_str(), v))
            .collect();
        match lm_rank::score(lm, config, query, &units, &docs) {
            Ok(scores) => {
                let values = if scores.units.is_empty() {
                    base
                } else {
                    lm_rank::unit_values(&base, &scores)
                };
                let _ = self.values.set(values);
                if config.reorder && config.rank == crate::preset::LmRank::Documents {
                    self.order = Some(lm_rank::doc_order(&scores.docs));
                }
                self.lm = Some(scores);
            }
            Err(err) => self.warnings.push(Warning::LmFailed {
                reason: err.to_string(),
            }),
        }
    }

    /// Embeds the units with text the cascade shortlists (all by default), and the query.
    fn embed(&self, embedder: &Embedder) -> Result<Embeddings, crate::neural::NeuralError> {
        let texts = self.unit_texts();
        let has_text: Vec<bool> = texts.iter().map(|t| !t.trim().is_empty()).collect();
        let stage = Cascade::of(&self.preset.score);
        let embedded = if stage.embeds_all() {
            has_text.clone()
        } else {
            // Without embeddings yet, these are the lexical values.
            let tokens: Vec<usize> = self.costs.units.iter().map(|u| u.tokens).collect();
            stage.shortlist(&self.compute_values(), &tokens, &has_text)
        };
        let with_text: Vec<usize> = (0..texts.len()).filter(|&i| embedded[i]).collect();
        let mut batch: Vec<&str> = with_text.iter().map(|&i| texts[i]).collect();
        if stage.first_window {
            for t in &mut batch {
                *t = embedder.first_window(t)?;
            }
        }
        if let Some(q) = &self.query {
            batch.push(q);
        }
        let mut vectors = embedder.embed(&batch)?;
        let query = self.query.as_ref().and_then(|_| vectors.pop());
        let zero: Vector = vec![0.0; embedder.dim()].into();
        let mut units = vec![zero; texts.len()];
        for (&i, v) in with_text.iter().zip(vectors) {
            units[i] = v;
        }
        let docs = (0..self.docs.len())
            .map(|d| {
                let mut mean = vec![0.0f32; embedder.dim()];
                let range = self.first[d]..self.first[d] + self.chunks(d).len();
                for u in &units[range] {
                    mean.iter_mut().zip(u.iter()).for_each(|(m, x)| *m += x);
                }
                normalize(&mut mean);
                mean
            })
            .collect();
        let relevance = match &query {
            Some(q) => {
                let mut r: Vec<f64> = units.iter().map(|u| f64::from(dot(u, q))).collect();
                cascade::fill_outside(&mut r, &embedded, &has_text);
                r
            }
            None => Vec::new(),
        };
        Ok(Embeddings {
            units,
            relevance,
            docs,
        })
    }
}
