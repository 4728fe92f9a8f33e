//! Plain text: a `==> path <==` line before each file, as `head` prints several files.

use super::Layout;
use super::markdown::files;
use crate::document::Document;

/// A `==> path <==` line before each document.
#[derive(Debug, Clone, Copy, Default)]
pub struct Plain;

impl Layout for Plain {
    fn open(&self, doc: &Document, index: usize) -> String {
        let sep = if index > 0 { "\n" } else { "" };
        format!("{sep}==> {} <==\n", doc.path.as_deref().unwrap_or("(text)"))
    }
    fn close(&self, _doc: &Document, nl: bool) -> String {
        if nl { String::new() } else { "\n".into() }
    }
    fn end(&self, rendered: usize, omitted: usize) -> String {
        match (omitted, rendered) {
            (0, _) => String::new(),
            (n, 0) => format!("… {n} {} omitted\n", files(n)),
            (n, _) => format!("\n… {n} more {} omitted\n", files(n)),
        }
    }
}
