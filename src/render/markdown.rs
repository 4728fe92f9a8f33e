//! Markdown: a heading with the path, then the content in a fence long enough that no
//! backtick run inside can close it.

use super::Layout;
use crate::document::Document;

/// A heading with the path, then the content in a fence.
#[derive(Debug, Clone, Copy, Default)]
pub struct Markdown;

fn fence(doc: &Document) -> String {
    let longest = doc
        .text
        .split(|c| c != '`')
        .map(str::len)
        .max()
        .unwrap_or(0);
    "`".repeat((longest + 1).max(3))
}

impl Layout for Markdown {
    fn open(&self, doc: &Document, index: usize) -> String {
        let sep = if index > 0 { "\n" } else { "" };
        let path = doc.path.as_deref().unwrap_or("(text)");
        let tag = doc.kind.fence_tag(doc.path.as_deref());
        format!("{sep}## {path}\n\n{}{tag}\n", fence(doc))
    }
    fn close(&self, doc: &Document, nl: bool) -> String {
        format!("{}{}\n", if nl { "" } else { "\n" }, fence(doc))
    }
    fn end(&self, rendered: usize, omitted: usize) -> String {
        match (omitted, rendered) {
            (0, _) => String::new(),
            (n, 0) => format!("… {n} {} omitted\n", files(n)),
            (n, _) => format!("\n… {n} more {} omitted\n", files(n)),
        }
    }
}

pub(super) fn files(n: usize) -> &'static str {
    if n == 1 { "file" } else { "files" }
}
