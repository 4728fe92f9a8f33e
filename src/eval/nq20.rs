//! NQ-20: multi-document question answering (the lost-in-the-middle oracle file). The
//! gold passage goes at each of `gold_positions` among the 19 distractors, each passage
//! rendered `Document [k] (Title: TITLE) TEXT`, as in the LongLLMLingua protocol.

use std::path::Path;

use serde::Deserialize;

use super::{Case, Check, EvalError, Size, Task, TaskInfo, data};
use crate::{DocKind, Document, Input};

/// NQ-20 multi-document question answering, gold passage at each position.
#[derive(Debug, Clone, Copy)]
pub struct Nq20;

/// NQ-20 with the wrong context: each question gets the 20 distractors of the next
/// question in the file, none of which is about it. What a compressor should return is
/// nothing (RECOMP's selective augmentation); `nothing_returned` measures how often it
/// does, and the same threshold's cost on the real task shows in `nq20`'s recall.
#[derive(Debug, Clone, Copy)]
pub struct Nq20Null;

#[derive(Debug, Deserialize)]
struct Example {
    id: serde_json::Value,
    question: String,
    answers: Vec<String>,
    gold: Passage,
    distractors: Vec<Passage>,
    gold_positions: Vec<usize>,
}

#[derive(Debug, Clone, Deserialize)]
struct Passage {
    title: String,
    text: String,
}

impl Task for Nq20 {
    fn info(&self) -> TaskInfo {
        TaskInfo {
            name: "nq20",
            default_data: "../shared/eval/nq20/dev.jsonl.gz",
            default_sizes: vec![Size::Ratio(2.0), Size::Ratio(4.0), Size::Ratio(8.0)],
            default_preset: "rag",
            layout: None,
            whole_documents: true,
        }
    }

    fn cases(
        &self,
        data: &Path,
        limit: Option<usize>,
        each: &mut dyn FnMut(Case),
    ) -> Result<(), EvalError> {
        for ex in data::read_jsonl::<Example>(data, limit)? {
            for &pos in &ex.gold_positions {
                let mut passages = ex.distractors.clone();
                passages.insert(pos.min(passages.len()), ex.gold.clone());
                let documents = render(&passages);
                each(Case {
                    id: format!("{}@{pos}", ex.id),
                    group: format!("gold@{pos}"),
                    input: Input::documents(documents).query(ex.question.clone()),
                    checks: vec![
                        Check::AnswerRecall(ex.answers.clone()),
                        Check::GoldKept(ex.gold.text.clone()),
                    ],
                });
            }
        }
        Ok(())
    }
}

/// Passages as `Document [k] (Title: TITLE) TEXT`, one document each.
fn render(passages: &[Passage]) -> Vec<Document> {
    passages
        .iter()
        .enumerate()
        .map(|(k, p)| {
            Document::new(
                format!("Document [{}] (Title: {}) {}\n\n", k + 1, p.title, p.text),
                DocKind::Prose,
            )
        })
        .collect()
}

impl Task for Nq20Null {
    fn info(&self) -> TaskInfo {
        TaskInfo {
            name: "nq20-null",
            ..Nq20.info()
        }
    }

    fn cases(
        &self,
        data: &Path,
        limit: Option<usize>,
        each: &mut dyn FnMut(Case),
    ) -> Result<(), EvalError> {
        let examples = data::read_jsonl::<Example>(data, limit)?;
        for (i, ex) in examples.iter().enumerate() {
            let other = &examples[(i + 1) % examples.len()];
            if examples.len() < 2 || other.question == ex.question {
                continue;
            }
            each(Case {
                id: format!("{}", ex.id),
                group: "mismatched".into(),
                input: Input::documents(render(&other.distractors)).query(ex.question.clone()),
                checks: vec![Check::NothingReturned],
            });
        }
        Ok(())
    }
}
