//! Rendering: kept spans in their original order, with an elision marker for every run of
//! dropped chunks, framed by a [`Layout`] (markdown, xml, json, plain, or bare text).

mod bare;
mod json;
mod markdown;
pub mod marker;
mod plain;
mod view;
mod xml;

use std::borrow::Cow;
use std::ops::Range;

pub use bare::Bare;
pub use json::Json;
pub use markdown::Markdown;
pub use plain::Plain;
pub use view::{LineIndex, View};
pub use xml::Xml;

use crate::document::Document;

/// How documents are framed in the output. Everything a layout writes counts against the
/// budget like any other text.
pub trait Layout: std::fmt::Debug + Send + Sync {
    /// Text before the first document.
    fn begin(&self) -> String {
        String::new()
    }
    /// Text that opens the `index`-th rendered document.
    fn open(&self, doc: &Document, index: usize) -> String;
    /// Escapes document content (identity except for JSON).
    fn escape<'a>(&self, text: &'a str) -> Cow<'a, str> {
        Cow::Borrowed(text)
    }
    /// Text that closes a document; `body_ends_with_newline` tells whether it needs one.
    fn close(&self, doc: &Document, body_ends_with_newline: bool) -> String;
    /// Text after the last document: says how many documents were dropped entirely.
    fn end(&self, rendered: usize, omitted: usize) -> String;
    /// Whether a document with nothing kept is left out (and counted in [`Layout::end`]);
    /// otherwise it renders as a single marker.
    fn omits_empty_documents(&self) -> bool {
        true
    }
}

/// An output format that frames each document with its path (`pith pack --format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// [`Markdown`]: a heading and a fence per document.
    #[default]
    Markdown,
    /// [`Xml`]: a `<file path="…">` element per document.
    Xml,
    /// [`Json`]: an array of `{"path", "content"}` objects.
    Json,
    /// [`Plain`]: a `==> path <==` line per document.
    Plain,
}

impl Format {
    /// The layout that writes this format (for [`crate::CompressorBuilder::boxed_layout`]).
    pub fn layout(self) -> Box<dyn Layout> {
        match self {
            Format::Markdown => Box::new(Markdown),
            Format::Xml => Box::new(Xml),
            Format::Json => Box::new(Json),
            Format::Plain => Box::new(Plain),
        }
    }
}

/// The rendered output, and where each document's section lies in it.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    /// The output.
    pub text: String,
    /// Byte range of each document's section (empty when the document was left out).
    pub sections: Vec<Range<usize>>,
}

/// Renders the documents with `layout`; `prose_marker` replaces dropped prose runs.
pub fn render(views: &[View<'_>], layout: &dyn Layout, prose_marker: &str) -> Rendered {
    let mut out = layout.begin();
    let mut sections = Vec::with_capacity(views.len());
    let (mut rendered, mut omitted) = (0, 0);
    for view in views {
        let start = out.len();
        if layout.omits_empty_documents() && !view.any_kept() {
            sections.push(start..start);
            // A document without text lost nothing: no "file omitted" for it.
            omitted += usize::from(!view.chunks.is_empty());
            continue;
        }
        out.push_str(&layout.open(view.doc, rendered));
        let body = render_body(view, prose_marker);
        out.push_str(&layout.escape(&body));
        out.push_str(&layout.close(view.doc, body.is_empty() || body.ends_with('\n')));
        sections.push(start..out.len());
        rendered += 1;
    }
    out.push_str(&layout.end(rendered, omitted));
    Rendered {
        text: out,
        sections,
    }
}

/// One document's kept text with markers for the dropped runs.
pub fn render_body(view: &View<'_>, prose_marker: &str) -> String {
    let text = &view.doc.text;
    let mut out = String::with_capacity(text.len());
    let mut quoted = std::collections::HashSet::new();
    let mut i = 0;
    while i < view.chunks.len() {
        if view.kept[i] {
            match view.replaced.and_then(|r| r[i].as_deref()) {
                Some(pruned) => out.push_str(pruned),
                None => out.push_str(view.chunks[i].text(text)),
            }
            i += 1;
            continue;
        }
        let run_start = i;
        while i < view.chunks.len() && !view.kept[i] {
            i += 1;
        }
        out.push_str(&marker::marker(
            view,
            run_start..i,
            prose_marker,
            &mut quoted,
        ));
    }
    out
}
