//! JSON: an array of `{"path", "content"}` objects, always valid JSON.

use std::borrow::Cow;

use super::Layout;
use crate::document::Document;

/// A JSON array of `{"path", "content"}` objects.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json;

fn quote(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

impl Layout for Json {
    fn begin(&self) -> String {
        "[".into()
    }
    fn open(&self, doc: &Document, index: usize) -> String {
        let sep = if index > 0 { "," } else { "" };
        let path = doc
            .path
            .as_deref()
            .map(quote)
            .unwrap_or_else(|| "null".into());
        format!("{sep}\n{{\"path\": {path}, \"content\": \"")
    }
    fn escape<'a>(&self, text: &'a str) -> Cow<'a, str> {
        // A JSON string literal without its quotes.
        let q = quote(text);
        Cow::Owned(q[1..q.len() - 1].to_owned())
    }
    fn close(&self, _doc: &Document, _nl: bool) -> String {
        "\"}".into()
    }
    fn end(&self, rendered: usize, omitted: usize) -> String {
        match (omitted, rendered) {
            (0, _) => "\n]\n".into(),
            (n, 0) => format!("\n{{\"omitted_files\": {n}}}\n]\n"),
            (n, _) => format!(",\n{{\"omitted_files\": {n}}}\n]\n"),
        }
    }
}
