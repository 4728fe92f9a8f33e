//! No frame: the text itself, for one document (`pith compress`, the library default).

use super::Layout;
use crate::document::Document;

/// No frame: documents one after another as they are.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bare;

impl Layout for Bare {
    fn open(&self, _doc: &Document, _index: usize) -> String {
        String::new()
    }
    fn close(&self, _doc: &Document, _nl: bool) -> String {
        String::new()
    }
    fn end(&self, _rendered: usize, _omitted: usize) -> String {
        String::new()
    }
    fn omits_empty_documents(&self) -> bool {
        // A lone text with nothing kept still shows that something was there.
        false
    }
}
