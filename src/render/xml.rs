//! XML: each file in a `<file path="…">` element. Content is left as is (as repomix and
//! code2prompt do): models read it as text, and escaping would cost tokens.

use super::Layout;
use crate::document::Document;

/// Each document in a `<file path="…">` element, content unescaped.
#[derive(Debug, Clone, Copy, Default)]
pub struct Xml;

fn attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
}

impl Layout for Xml {
    fn begin(&self) -> String {
        "<files>\n".into()
    }
    fn open(&self, doc: &Document, _index: usize) -> String {
        format!(
            "<file path=\"{}\">\n",
            attr(doc.path.as_deref().unwrap_or(""))
        )
    }
    fn close(&self, _doc: &Document, nl: bool) -> String {
        format!("{}</file>\n", if nl { "" } else { "\n" })
    }
    fn end(&self, _rendered: usize, omitted: usize) -> String {
        if omitted == 0 {
            "</files>\n".into()
        } else {
            format!("<omitted files=\"{omitted}\"/>\n</files>\n")
        }
    }
}
