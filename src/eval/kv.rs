//! KV retrieval: a JSON object of 75 UUID → UUID pairs; the query names one key and its
//! exact value must survive. A stress test for identifiers and structured data.

use std::path::Path;

use serde::Deserialize;

use super::{Case, Check, EvalError, Size, Task, TaskInfo, data};
use crate::{DocKind, Document, Input};

/// KV retrieval: the value of one key among 75 UUID pairs must survive.
#[derive(Debug, Clone, Copy)]
pub struct Kv;

#[derive(Debug, Deserialize)]
struct Example {
    ordered_kv_records: Vec<(String, String)>,
    key: String,
    value: String,
}

/// A JSON string literal.
fn quote(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

impl Task for Kv {
    fn info(&self) -> TaskInfo {
        TaskInfo {
            name: "kv",
            default_data: "../shared/eval/kv/kv-retrieval-75_keys.jsonl.gz",
            default_sizes: vec![Size::Ratio(2.0), Size::Ratio(4.0), Size::Ratio(8.0)],
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
        for (i, ex) in data::read_jsonl::<Example>(data, limit)?
            .into_iter()
            .enumerate()
        {
            // The object as Python's json.dumps writes it: one line, ", " and ": ".
            let pairs: Vec<String> = ex
                .ordered_kv_records
                .iter()
                .map(|(k, v)| format!("{}: {}", quote(k), quote(v)))
                .collect();
            let json = format!("{{{}}}", pairs.join(", "));
            let query = format!(
                "Extract the value corresponding to the specified key in the JSON object. Key: {}",
                quote(&ex.key)
            );
            each(Case {
                id: i.to_string(),
                group: "all".into(),
                input: Input::documents(vec![Document::new(json, DocKind::Json)]).query(query),
                checks: vec![Check::ValueRecall(ex.value.clone())],
            });
        }
        Ok(())
    }
}
