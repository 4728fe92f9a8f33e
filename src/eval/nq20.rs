//! NQ-20: multi-document question answering (the lost-in-the-middle oracle file). The
//! gold passage goes at each of `gold_positions` among the 19 distractors, each passage
//! rendered `Document [k] (Title: TITLE) TEXT`, as in the LongLLMLingua protocol.

use std::path::Path;

use serde::Deserialize;

use super::{Case, Check, EvalError, Size, Task, TaskInfo, data};
use crate::{DocKind, Document, Input};

#[derive(Debug, Clone, Copy)]
pub struct Nq20;

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
                let documents = passages
                    .iter()
                    .enumerate()
                    .map(|(k, p)| {
                        Document::new(
                            format!("Document [{}] (Title: {}) {}\n\n", k + 1, p.title, p.text),
                            DocKind::Prose,
                        )
                    })
                    .collect();
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
