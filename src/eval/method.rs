//! What is measured: pith with a preset, or a baseline. Every method goes through the same
//! segmentation, rendering and budget check, so they differ only in what they keep.

use std::hash::{Hash, Hasher};

use super::{Case, EvalError, Task};
use crate::compress::Prepared;
use crate::preset::SelectMethod;
use crate::render::Bare;
use crate::select::MigGreedy;
use crate::{CompressError, Compressor, DocKind, Encoding, Preset, Tiktoken};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// pith's own selection with the preset.
    Pith,
    /// Keep the head of the input, cut at the budget.
    Truncate,
    /// Keep the tail of the input, cut at the budget.
    Tail,
    /// Keep half the budget of head and the rest of tail, with a marker between.
    HeadTail,
    /// Whole units in a seeded random order.
    Random(u64),
    /// Whole units ranked by how many distinct question words they contain.
    Overlap,
}

/// A method by name: `pith` (the task's default preset), `pith:PRESET` (a built-in name or
/// a .toml path), `truncate`, `random`, `overlap`.
#[derive(Debug)]
pub struct Method {
    name: String,
    kind: Kind,
    compressor: Compressor,
    /// Baselines keep whole documents rather than pith's chunks.
    whole_documents: bool,
}

impl Method {
    /// The method called `name` (`pith`, `pith:PRESET`, or a baseline) for `task`,
    /// counting in `encoding`; `seed` drives the `random` baseline.
    pub fn new(
        name: &str,
        task: &dyn Task,
        encoding: Encoding,
        seed: u64,
    ) -> Result<Self, EvalError> {
        let task = task.info();
        let (kind, preset) = match name {
            "pith" => (Kind::Pith, Preset::named(task.default_preset)?),
            _ if name.starts_with("pith:") => {
                (Kind::Pith, Preset::resolve(&name["pith:".len()..])?)
            }
            "truncate" | "tail" | "headtail" | "random" | "overlap" => {
                // Baselines rank whole units and take them in order: no redundancy term.
                let mut preset = Preset::named(task.default_preset)?;
                preset.select.method = SelectMethod::Mig;
                preset.select.redundancy = 0.0;
                let kind = match name {
                    "truncate" => Kind::Truncate,
                    "tail" => Kind::Tail,
                    "headtail" => Kind::HeadTail,
                    "random" => Kind::Random(seed),
                    _ => Kind::Overlap,
                };
                (kind, preset)
            }
            other => return Err(EvalError::UnknownMethod(other.into())),
        };
        let builder = Compressor::builder()
            .preset(preset)
            .counter(Tiktoken::new(encoding));
        let compressor = match task.layout {
            Some(format) => builder.boxed_layout(format.layout()),
            None => builder.layout(Bare),
        }
        .models(crate::models::ModelStore::discover())
        .try_build()?;
        Ok(Self {
            name: name.to_owned(),
            kind,
            compressor,
            whole_documents: kind != Kind::Pith && task.whole_documents,
        })
    }

    /// The name it was made from.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Segments, counts and scores a case once for all sizes.
    pub fn prepare(&self, case: &Case) -> Prepared {
        let mut input = case.input.clone();
        if self.whole_documents {
            for doc in &mut input.documents {
                doc.kind = DocKind::Whole;
            }
        }
        self.compressor.prepare(input)
    }

    /// The compressed text for `budget` tokens.
    pub fn compress(&self, prepared: &Prepared, budget: usize) -> Result<String, CompressError> {
        let greedy = MigGreedy::new(0.0);
        let out = match self.kind {
            Kind::Pith => self.compressor.compress_prepared(prepared, budget)?,
            Kind::Truncate => {
                let full = prepared.full_text();
                return Ok(full[..self.compressor.counter().prefix_len(full, budget)].to_owned());
            }
            Kind::Tail => {
                let full = prepared.full_text();
                return Ok(
                    full[suffix_start(self.compressor.counter(), full, budget)..].to_owned(),
                );
            }
            Kind::HeadTail => {
                let counter = self.compressor.counter();
                let full = prepared.full_text();
                if counter.count(full) <= budget {
                    return Ok(full.to_owned());
                }
                let head = &full[..counter.prefix_len(full, budget / 2)];
                let rest =
                    budget.saturating_sub(counter.count(head) + counter.count(HEAD_TAIL_MARK));
                let mut start = suffix_start(counter, full, rest).max(head.len());
                // Tokens can merge across the joins: give back tail until the whole fits.
                loop {
                    let out = format!("{head}{HEAD_TAIL_MARK}{}", &full[start..]);
                    if counter.count(&out) <= budget || start >= full.len() {
                        return Ok(out);
                    }
                    start = crate::tokens::ceil_char_boundary(full, start + 1);
                }
            }
            Kind::Random(seed) => {
                let values: Vec<f64> = prepared
                    .unit_texts()
                    .iter()
                    .map(|t| random_value(seed, t))
                    .collect();
                self.compressor
                    .compress_with(prepared, budget, &values, &greedy)?
            }
            Kind::Overlap => {
                let query = words(prepared.query().unwrap_or(""));
                let values: Vec<f64> = prepared
                    .unit_texts()
                    .iter()
                    .map(|t| {
                        let unit = words(t);
                        query.iter().filter(|w| unit.contains(*w)).count() as f64
                    })
                    .collect();
                self.compressor
                    .compress_with(prepared, budget, &values, &greedy)?
            }
        };
        Ok(out.text)
    }
}

/// What stands between head and tail in the `headtail` baseline.
const HEAD_TAIL_MARK: &str = "\n[…]\n";

/// Start of the longest suffix of `text`, on a char boundary, with at most `max` tokens.
fn suffix_start(counter: &dyn crate::TokenCounter, text: &str, max: usize) -> usize {
    let (mut lo, mut hi) = (0, text.len());
    // Suffix counts shrink as the start moves right: find the leftmost start that fits.
    while lo < hi {
        let mid = crate::tokens::ceil_char_boundary(text, lo + (hi - lo) / 2);
        if mid >= hi {
            break;
        }
        if counter.count(&text[mid..]) <= max {
            hi = mid;
        } else {
            lo = crate::tokens::ceil_char_boundary(text, mid + 1);
        }
    }
    let mut start = crate::tokens::ceil_char_boundary(text, hi);
    while start < text.len() && counter.count(&text[start..]) > max {
        start = crate::tokens::ceil_char_boundary(text, start + 1);
    }
    start
}

/// A seeded value in 0..1 that depends only on the unit's text.
fn random_value(seed: u64, text: &str) -> f64 {
    let mut h = std::hash::DefaultHasher::new();
    seed.hash(&mut h);
    text.hash(&mut h);
    super::data::SplitMix(h.finish()).unit()
}

/// Distinct lowercase words, without the most common English function words.
fn words(text: &str) -> std::collections::HashSet<String> {
    const STOP: [&str; 24] = [
        "the", "a", "an", "of", "in", "on", "to", "is", "was", "and", "or", "for", "by", "with",
        "what", "who", "when", "where", "which", "how", "did", "does", "do", "are",
    ];
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .filter(|w| !STOP.contains(&w.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_values_are_seeded_and_spread() {
        assert_eq!(random_value(1, "a"), random_value(1, "a"));
        assert_ne!(random_value(1, "a"), random_value(2, "a"));
        let v: Vec<f64> = (0..1000).map(|i| random_value(7, &i.to_string())).collect();
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        assert!((0.45..0.55).contains(&mean) && v.iter().all(|x| (0.0..1.0).contains(x)));
    }

    #[test]
    fn question_words_skip_function_words() {
        let w = words("Who got the first Nobel prize in physics?");
        assert!(
            w.contains("nobel")
                && w.contains("physics")
                && !w.contains("the")
                && !w.contains("who")
        );
    }
}
