//! What goes into a compression: documents and an optional query.

use crate::document::{DocKind, Document};
use crate::segment::Lang;

/// Documents to compress together under one budget, and the question they should answer.
#[derive(Debug, Clone, Default)]
pub struct Input {
    pub documents: Vec<Document>,
    /// With a query, units are kept by relevance to it; without, by information.
    pub query: Option<String>,
}

impl Input {
    /// One prose text.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            documents: vec![Document::new(text, DocKind::Prose)],
            query: None,
        }
    }

    /// One source file in `lang`.
    pub fn code(text: impl Into<String>, lang: Lang) -> Self {
        Self {
            documents: vec![Document::new(text, DocKind::Code(lang))],
            query: None,
        }
    }

    /// Several documents (files of a repository, retrieved passages).
    pub fn documents(documents: Vec<Document>) -> Self {
        Self {
            documents,
            query: None,
        }
    }

    /// Sets the query.
    pub fn query(mut self, query: impl Into<String>) -> Self {
        self.query = Some(query.into());
        self
    }
}

impl From<&str> for Input {
    fn from(text: &str) -> Self {
        Input::text(text)
    }
}

impl From<String> for Input {
    fn from(text: String) -> Self {
        Input::text(text)
    }
}

impl From<Document> for Input {
    fn from(doc: Document) -> Self {
        Input::documents(vec![doc])
    }
}

/// Longest part of a tool result's query, in characters: a task pasted with a log in it
/// should not turn the query into the log.
const QUERY_PART_CHARS: usize = 2000;

/// The query a tool result is compressed for: the user's task (the last human text before
/// the call), the assistant's text before the call, and the call itself (`name arguments`),
/// each trimmed and bounded, joined by newlines. It depends only on what came before the
/// result, so a result in history compresses the same way on every later turn.
pub fn tool_query(task: &str, assistant: &str, name: &str, args: &str) -> String {
    let call = format!("{} {}", name.trim(), args.trim());
    [task, assistant, call.as_str()]
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .map(|p| match p.char_indices().nth(QUERY_PART_CHARS) {
            Some((at, _)) => &p[..at],
            None => p,
        })
        .collect::<Vec<_>>()
        .join("\n")
}
