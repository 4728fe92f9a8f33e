//! Needle in a haystack: essays concatenated to 2k–32k tokens, one generated needle
//! sentence inserted at depths 0–100%, the question it answers as the query; the needle
//! must survive intact. Needles and essay order come from a seed, so runs repeat exactly.

use std::path::Path;

use super::data::SplitMix;
use super::{Case, Check, EvalError, Size, Task, TaskInfo};
use crate::{DocKind, Document, Input, Tiktoken, TokenCounter};

/// Haystack lengths in o200k tokens, and needle depths in percent.
const LENGTHS: [usize; 5] = [2_000, 4_000, 8_000, 16_000, 32_000];
const DEPTHS: [usize; 5] = [0, 25, 50, 75, 100];
/// Needles per length × depth cell unless `--limit` says otherwise.
const PER_CELL: usize = 4;

const SUBJECTS: [&str; 16] = [
    "Lisbon",
    "Nairobi",
    "Osaka",
    "Quito",
    "Tallinn",
    "Hobart",
    "Accra",
    "Tromsø",
    "Cusco",
    "Tbilisi",
    "Valparaíso",
    "Da Nang",
    "Reykjavík",
    "Windhoek",
    "Ljubljana",
    "Ushuaia",
];

/// Needle in a haystack (see the module docs).
#[derive(Debug, Clone, Copy)]
pub struct Niah {
    /// Chooses the needles and the essay order.
    pub seed: u64,
}

impl Task for Niah {
    fn info(&self) -> TaskInfo {
        TaskInfo {
            name: "niah",
            default_data: "../shared/eval/niah",
            default_sizes: vec![Size::Ratio(10.0)],
            default_preset: "rag",
            layout: None,
            whole_documents: false,
        }
    }

    fn cases(
        &self,
        data: &Path,
        limit: Option<usize>,
        each: &mut dyn FnMut(Case),
    ) -> Result<(), EvalError> {
        let mut paths: Vec<_> = std::fs::read_dir(data)
            .map_err(|e| EvalError::data(data, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "txt"))
            .collect();
        paths.sort();
        if paths.is_empty() {
            return Err(EvalError::data(data, "no .txt essays in this folder"));
        }
        let essays: Vec<String> = paths
            .iter()
            .map(|p| std::fs::read_to_string(p).map_err(|e| EvalError::data(p, e)))
            .collect::<Result<_, _>>()?;
        let counter = Tiktoken::default();
        let mut rng = SplitMix(self.seed);
        for &length in &LENGTHS {
            for &depth in &DEPTHS {
                for k in 0..limit.unwrap_or(PER_CELL) {
                    let start = rng.below(essays.len());
                    let subject = SUBJECTS[rng.below(SUBJECTS.len())];
                    let number = 1_000_000 + rng.below(9_000_000);
                    let needle = format!("The special magic number for {subject} is {number}.");
                    let haystack = haystack(&essays, start, length, &counter);
                    let text = insert(&haystack, &needle, depth);
                    each(Case {
                        id: format!("{}k@{depth}%#{k}", length / 1000),
                        group: format!("{}k@{depth}%", length / 1000),
                        input: Input::documents(vec![Document::new(text, DocKind::Prose)])
                            .query(format!("What is the special magic number for {subject}?")),
                        checks: vec![Check::NeedleRecall(needle)],
                    });
                }
            }
        }
        Ok(())
    }
}

/// Essays from `start` on, joined and cut to about `tokens` tokens at a sentence end.
fn haystack(essays: &[String], start: usize, tokens: usize, counter: &Tiktoken) -> String {
    let mut text = String::new();
    let mut i = start;
    // o200k averages well over 3 bytes a token on English prose.
    while text.len() < tokens * 6 {
        text.push_str(essays[i % essays.len()].trim());
        text.push_str("\n\n");
        i += 1;
    }
    let cut = &text[..counter.prefix_len(&text, tokens)];
    let end = cut.rfind(". ").map_or(cut.len(), |p| p + 1);
    cut[..end].to_owned()
}

/// Inserts the needle as its own sentence at the sentence start nearest `depth`% of the
/// text (before the first sentence at 0%, after the last at 100%).
fn insert(haystack: &str, needle: &str, depth: usize) -> String {
    let target = haystack.len() * depth / 100;
    let at = if depth == 0 {
        0
    } else if depth >= 100 {
        haystack.len()
    } else {
        haystack[..target].rfind(". ").map_or(0, |p| p + 2)
    };
    let (head, tail) = haystack.split_at(at);
    match (head.is_empty(), tail.is_empty()) {
        (true, _) => format!("{needle} {tail}"),
        (_, true) => format!("{head} {needle}"),
        _ => format!("{head}{needle} {tail}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needles_go_between_sentences() {
        let h = "One two. Three four. Five six.";
        assert_eq!(insert(h, "N.", 0), "N. One two. Three four. Five six.");
        assert_eq!(insert(h, "N.", 100), "One two. Three four. Five six. N.");
        assert_eq!(insert(h, "N.", 50), "One two. N. Three four. Five six.");
    }
}
