//! Segmentation: a document becomes a flat list of chunks that tile it exactly.
//!
//! Every chunker upholds one invariant, checked by [`check_tiling`] in tests: the chunks
//! are non-empty, in order, contiguous, cover the whole text, and start and end on char
//! boundaries — so concatenating them reproduces the document byte for byte, and a
//! renderer can copy any kept span straight from the source.

pub mod code;
pub mod json;
pub mod lang;
pub mod lines;
pub mod numbered;
pub mod output;
pub mod prose;
pub mod shape;

use std::ops::Range;

pub use code::CodeChunker;
pub use json::JsonChunker;
pub use lang::Lang;
pub use lines::LineChunker;
pub use output::{OutputChunker, OutputKind};
pub use prose::ProseChunker;

/// What a chunk is; decides how it is scored, what its elision marker says, and which
/// chunks must be kept together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChunkKind {
    /// A function or method, with its decorators/attributes and doc comments.
    Function,
    /// A type-like definition kept whole: struct, enum, interface, type alias, or a
    /// class/impl with no members worth splitting.
    Type,
    /// The opening of a container (class, impl, trait, module) up to its first member.
    Header,
    /// The closing of a container (e.g. its `}`); kept exactly when its header is.
    Footer,
    /// Code between definitions: imports, constants, statements.
    TopLevel,
    /// A block of lines: the fallback when a file cannot be parsed or a gap is long.
    Lines,
    /// A markdown heading line.
    Heading,
    /// A prose sentence (or list item), with its trailing whitespace.
    Sentence,
    /// A fenced code block inside prose, kept or dropped whole.
    CodeFence,
    /// A markdown table, kept or dropped whole.
    Table,
    /// A member of a JSON object (`"key": value` with its trailing comma and whitespace;
    /// the key is the chunk's name) or an element of a JSON array.
    Member,
    /// A line of tool output (a traceback frame with its source line; a piece of a very
    /// long line).
    Line,
}

/// One piece of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Byte span in the document.
    pub span: Range<usize>,
    /// What the chunk is (function, sentence, line, …).
    pub kind: ChunkKind,
    /// Qualified name of a code definition (`Flask.make_response`), if it has one.
    pub name: Option<String>,
    /// Index (in the same chunk list) of the enclosing container's [`ChunkKind::Header`]:
    /// a member cannot be kept without its container's header and footer.
    pub parent: Option<usize>,
}

impl Chunk {
    /// A chunk without a name or a parent.
    pub fn new(span: Range<usize>, kind: ChunkKind) -> Self {
        Self {
            span,
            kind,
            name: None,
            parent: None,
        }
    }

    /// The chunk's text in `doc`.
    pub fn text<'a>(&self, doc: &'a str) -> &'a str {
        &doc[self.span.clone()]
    }
}

/// Splits one document into chunks that tile it (see the module docs).
pub trait Chunker {
    /// The chunks of `text`, in order, tiling it.
    fn chunk(&self, text: &str) -> Vec<Chunk>;
}

/// Checks the tiling invariant; returns what is wrong, if anything.
pub fn check_tiling(text: &str, chunks: &[Chunk]) -> Result<(), String> {
    let mut at = 0;
    for (i, c) in chunks.iter().enumerate() {
        if c.span.start != at {
            return Err(format!(
                "chunk {i} starts at {} but the previous ended at {at}",
                c.span.start
            ));
        }
        if c.span.is_empty() {
            return Err(format!("chunk {i} is empty at {at}"));
        }
        if !text.is_char_boundary(c.span.start) || !text.is_char_boundary(c.span.end) {
            return Err(format!("chunk {i} {:?} is not on char boundaries", c.span));
        }
        if let Some(p) = c.parent
            && (p >= chunks.len() || chunks[p].kind != ChunkKind::Header)
        {
            return Err(format!("chunk {i} has parent {p}, which is not a header"));
        }
        at = c.span.end;
    }
    if at != text.len() {
        return Err(format!("chunks end at {at}, text is {} bytes", text.len()));
    }
    Ok(())
}
