//! What goes into a compression: documents and an optional query.

use crate::document::{DocKind, Document};
use crate::segment::Lang;

/// Documents to compress together under one budget, and the question they should answer.
#[derive(Debug, Clone, Default)]
pub struct Input {
    /// The documents, in the order they are rendered.
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

/// Characters kept of each part of a tool result's query: the end of the user's task and
/// of the assistant's text (where the ask and the reason for the call usually are), the
/// start of the call (its name). A task pasted with a log in it should not turn the query
/// into the log.
pub const QUERY_PART_CHARS: usize = 2000;

/// The query a tool result is compressed for: the user's task (the last human text before
/// the call), the assistant's text before the call, and the call itself (`name arguments`),
/// each trimmed and bounded ([`QUERY_PART_CHARS`]), joined by newlines. It depends only on
/// what came before the result, so a result in history compresses the same way on every
/// later turn. The proxy and `pith eval toolout` both build it here.
pub fn tool_query(task: &str, assistant: &str, name: &str, args: &str) -> String {
    let call = format!("{name} {args}");
    [
        tail(task.trim(), QUERY_PART_CHARS),
        tail(assistant.trim(), QUERY_PART_CHARS),
        head(call.trim(), QUERY_PART_CHARS),
    ]
    .into_iter()
    .filter(|p| !p.is_empty())
    .collect::<Vec<_>>()
    .join("\n")
}

/// The last `n` characters of `s`.
pub(crate) fn tail(s: &str, n: usize) -> &str {
    let count = s.chars().count();
    let skip = count.saturating_sub(n);
    s.char_indices().nth(skip).map_or("", |(i, _)| &s[i..])
}

/// The first `n` characters of `s`.
pub(crate) fn head(s: &str, n: usize) -> &str {
    s.char_indices().nth(n).map_or(s, |(i, _)| &s[..i])
}
