//! What must survive compression, and how each metric decides it did.

use std::collections::HashMap;

/// One thing a case needs kept; each names the metric it counts toward.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    /// Some answer string occurs in the output, case- and whitespace-normalised.
    AnswerRecall(Vec<String>),
    /// At least 80% of the gold passage's words survive (as a multiset).
    GoldKept(String),
    /// The exact value string survives.
    ValueRecall(String),
    /// The needle sentence survives intact.
    NeedleRecall(String),
    /// The whole target function survives verbatim.
    FunctionRecall(String),
    /// Nothing is returned: the context was not about the query (RECOMP's selective
    /// augmentation should give an empty output).
    NothingReturned,
    /// A line an agent needs from a tool's output survives as a whole line.
    GoldLine(String),
    /// A part of a line an agent needs (an item of one-line JSON) survives verbatim;
    /// counted with [`Check::GoldLine`].
    GoldText(String),
    /// Every one of a case's gold checks passes.
    AllGold(Vec<Check>),
}

/// Share of the gold passage's words that must survive for `gold_kept`.
const GOLD_KEPT: f64 = 0.8;

impl Check {
    /// The metric this check counts toward (`answer_recall`, `gold_kept`, …).
    pub fn metric(&self) -> &'static str {
        match self {
            Check::AnswerRecall(_) => "answer_recall",
            Check::GoldKept(_) => "gold_kept",
            Check::ValueRecall(_) => "value_recall",
            Check::NeedleRecall(_) => "needle_recall",
            Check::FunctionRecall(_) => "function_recall",
            Check::NothingReturned => "nothing_returned",
            Check::GoldLine(_) | Check::GoldText(_) => "gold_line_recall",
            Check::AllGold(_) => "all_gold_kept",
        }
    }

    /// Whether `output`, a compression of the case, passes this check.
    pub fn passed(&self, output: &str) -> bool {
        match self {
            Check::AnswerRecall(answers) => {
                let out = normalise(output);
                answers
                    .iter()
                    .map(|a| normalise(a))
                    .any(|a| !a.is_empty() && out.contains(&a))
            }
            Check::GoldKept(gold) => {
                let mut have: HashMap<&str, usize> = HashMap::new();
                for w in output.split_whitespace() {
                    *have.entry(w).or_default() += 1;
                }
                let words: Vec<&str> = gold.split_whitespace().collect();
                let mut kept = 0;
                for w in &words {
                    if let Some(n) = have.get_mut(w).filter(|n| **n > 0) {
                        *n -= 1;
                        kept += 1;
                    }
                }
                !words.is_empty() && kept as f64 >= GOLD_KEPT * words.len() as f64
            }
            Check::ValueRecall(s) | Check::NeedleRecall(s) | Check::FunctionRecall(s) => {
                output.contains(s.as_str())
            }
            Check::NothingReturned => output.trim().is_empty(),
            Check::GoldLine(line) => output.lines().any(|l| l == line),
            Check::GoldText(s) => output.contains(s.as_str()),
            Check::AllGold(checks) => checks.iter().all(|c| c.passed(output)),
        }
    }
}

/// Lowercase with runs of whitespace folded to one space.
fn normalise(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_match_across_case_and_whitespace() {
        let c = Check::AnswerRecall(vec!["Wilhelm Conrad  Röntgen".into()]);
        assert!(c.passed("awarded to wilhelm\nconrad röntgen of Germany"));
        assert!(!c.passed("awarded to Röntgen"));
        assert!(!Check::AnswerRecall(vec![" ".into()]).passed("anything"));
    }

    #[test]
    fn gold_kept_counts_words_once_each() {
        let c = Check::GoldKept("a b c d e".into());
        assert!(c.passed("a b c d [...]"));
        assert!(!c.passed("a b c"));
        assert!(!Check::GoldKept("a a a a a".into()).passed("a a a"));
    }
}
