//! Tool output: what a coding agent needs from real programs' output — test runs with an
//! injected bug, tracebacks, compiler errors, search hits, API responses, diffs, logs,
//! listings — must survive compression. Data: `eval/toolout/*.jsonl.gz`, made by
//! `scripts/toolout/generate.py` from real packages (see `eval/toolout/README.md`).
//!
//! Each case is one tool result as an agent loop would carry it: the output, the user's
//! task, the assistant's text and the tool call. The query is built from them exactly as
//! the proxy builds it ([`crate::tool_query`]), and the text's kind comes from its content
//! ([`DocKind::from_content`]), as in the proxy and `pith compress -`.

use std::path::Path;

use serde::Deserialize;

use super::{Case, Check, EvalError, Size, Task, TaskInfo, data};
use crate::{DocKind, Document, Input};

/// Tool output an agent needs (see the module docs).
#[derive(Debug, Clone, Copy)]
pub struct ToolOut;

#[derive(Debug, Deserialize)]
struct Example {
    id: String,
    kind: String,
    task: String,
    #[serde(default)]
    assistant: String,
    tool: Tool,
    output: String,
    gold: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Tool {
    name: String,
    input: serde_json::Value,
}

impl Task for ToolOut {
    fn info(&self) -> TaskInfo {
        TaskInfo {
            name: "toolout",
            default_data: "eval/toolout/dev.jsonl.gz",
            default_sizes: vec![Size::Ratio(4.0), Size::Ratio(8.0)],
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
        for ex in data::read_jsonl::<Example>(data, limit)? {
            let args = ex.tool.input.to_string();
            let query = crate::tool_query(&ex.task, &ex.assistant, &ex.tool.name, &args);
            let kind = DocKind::from_content(&ex.output, DocKind::Prose);
            let mut checks: Vec<Check> =
                ex.gold.iter().map(|g| gold_check(&ex.output, g)).collect();
            checks.push(Check::AllGold(checks.clone()));
            each(Case {
                id: ex.id,
                group: ex.kind,
                input: Input::documents(vec![Document::new(ex.output, kind)]).query(query),
                checks,
            });
        }
        Ok(())
    }
}

/// A gold string that is a whole line of the output must survive as a whole line; one that
/// is only part of a line (an item of one-line JSON) must survive verbatim.
fn gold_check(output: &str, gold: &str) -> Check {
    if output.lines().any(|l| l == gold) {
        Check::GoldLine(gold.to_owned())
    } else {
        Check::GoldText(gold.to_owned())
    }
}
