//! Code segmentation with tree-sitter: one chunk per function, method or type, containers
//! (classes, impls, traits, modules) split into header, members and footer, and the code
//! between definitions as top-level chunks.
//!
//! Which node kinds count as definitions lives in `grammars/<lang>/chunks.scm` (see
//! [`Lang::chunk_query`]); this file only turns the definitions into a tiling. Chunk
//! boundaries sit at line starts wherever the code allows it, so a renderer can drop
//! whole lines. Input that does not parse falls back to line blocks; nothing here errors.

mod defs;

use std::ops::{ControlFlow, Range};
use std::time::{Duration, Instant};

use tree_sitter::{Node, ParseOptions, ParseState, Parser, Tree};

use super::lines::line_blocks;
use super::{Chunk, ChunkKind, Chunker, Lang};
use defs::{Def, Role};

/// Longest run of lines between definitions kept as one chunk; longer runs are split
/// into `Lines` blocks of this size.
const MAX_GAP_LINES: usize = 40;

/// Parsing and querying may take this long, plus [`PARSE_TIME_PER_MB`] per megabyte of
/// text, before they are abandoned for line blocks (see [`parse_bounded`]).
const PARSE_TIME_BASE: Duration = Duration::from_secs(2);
const PARSE_TIME_PER_MB: Duration = Duration::from_secs(2);

/// Splits source code at function / method / class level.
///
/// - A function or method is one `Function` chunk with its decorators, attributes and
///   the comments directly above it (no blank line between); a struct, enum, interface
///   or alias, or a container without members, is one `Type` chunk. Definitions nested
///   in a function stay inside its chunk.
/// - A container (class, impl, trait, inline module, namespace) is a `Header` up to its
///   first member, the members (nested containers recurse), code between members as
///   `TopLevel`, and a `Footer` for the code after the last member, only if there is
///   any (a closing `}`; usually none in Python). All of these point at the header.
/// - Code between definitions is `TopLevel`, or `Lines` blocks beyond 40 lines;
///   whitespace between chunks joins the chunk before it.
/// - Text that mostly fails to parse and has no clean definition becomes `Lines`, and so
///   does text whose parse takes pathologically long.
///
/// Names are qualified by the enclosing containers with `.`: `Flask.make_response`; a
/// Rust `impl Trait for Type<T>` is named `Type` and so are its members' prefixes
/// (`Type.method`); Go methods are `Recv.Method`. A footer carries its header's name;
/// code between definitions has none.
#[derive(Debug, Clone)]
pub struct CodeChunker {
    lang: Lang,
}

impl CodeChunker {
    /// A chunker for source in `lang`.
    pub fn new(lang: Lang) -> Self {
        Self { lang }
    }

    /// The language it parses.
    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// The chunks, or `None` when the text should be chunked as plain lines.
    fn try_chunk(&self, text: &str) -> Option<Vec<Chunk>> {
        let mut parser = Parser::new();
        parser.set_language(&self.lang.language()).ok()?;
        // One time limit for the parse and the query (see `parse_bounded`).
        let deadline =
            Instant::now() + PARSE_TIME_BASE + PARSE_TIME_PER_MB.mul_f64(text.len() as f64 / 1e6);
        let tree = parse_bounded(&mut parser, text, deadline)?;
        let defs = defs::find(self.lang, &tree, text, deadline)?;
        // Clean definitions are worth keeping even in a broken file; without any, a tree
        // that is mostly error recovery is a guess, and line blocks are more honest.
        if defs.is_empty() && mostly_errors(&tree, text.len()) {
            return None;
        }
        let mut out = Tiler {
            text,
            chunks: Vec::new(),
        };
        out.scope(0..text.len(), &defs, None, "");
        Some(out.chunks)
    }
}

impl Chunker for CodeChunker {
    fn chunk(&self, text: &str) -> Vec<Chunk> {
        if text.is_empty() {
            return Vec::new();
        }
        self.try_chunk(text)
            .unwrap_or_else(|| line_blocks(text, 0, MAX_GAP_LINES))
    }
}

/// Parses, giving up (`None`: line blocks) when the parse runs past `deadline`.
///
/// tree-sitter's error recovery is worse than quadratic on some garbage: 16 KB of
/// `=-+*` repeated takes seconds as JavaScript, 1 MB would take hours; and the chunk
/// query is quadratic in the depth of a tree such as 64 KB of `([` as Python. The work
/// is not visible in tree-sitter's operation counts, so the limit is wall time. It is
/// generous — real code parses at megabytes per second, so no real file comes near it
/// and the segmentation of real code stays deterministic — and grows with the text.
fn parse_bounded(parser: &mut Parser, text: &str, deadline: Instant) -> Option<Tree> {
    let mut progress = |_: &ParseState| {
        if Instant::now() > deadline {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let bytes = text.as_bytes();
    parser.parse_with_options(
        &mut |i, _| bytes.get(i..).unwrap_or_default(),
        None,
        Some(ParseOptions::new().progress_callback(&mut progress)),
    )
}

/// True when syntax errors cover more than half of the text: the tree is then a guess,
/// and line blocks are the honest segmentation.
fn mostly_errors(tree: &Tree, len: usize) -> bool {
    let root = tree.root_node();
    if !root.has_error() {
        return false;
    }
    if root.is_error() {
        return true;
    }
    error_bytes(root) * 2 > len
}

/// Bytes covered by outermost `ERROR` nodes under `root`; only descends where errors
/// are, and iteratively, since broken input can nest deeply.
fn error_bytes(root: Node) -> usize {
    let mut total = 0;
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        if node.is_error() {
            total += node.byte_range().len();
            continue;
        }
        let mut cursor = node.walk();
        stack.extend(node.children(&mut cursor).filter(|c| c.has_error()));
    }
    total
}

/// Builds the flat chunk list. Every method advances a cursor monotonically, so the
/// chunks tile the text whatever the definitions look like.
struct Tiler<'a> {
    text: &'a str,
    chunks: Vec<Chunk>,
}

impl Tiler<'_> {
    /// Chunks `range`, which holds `defs` (in order) and the code between them. Inside a
    /// container (`parent` is its header) the code after the last member is the footer.
    fn scope(&mut self, range: Range<usize>, defs: &[Def], parent: Option<usize>, prefix: &str) {
        let mut cursor = range.start;
        let mut i = 0;
        while i < defs.len() {
            let def = &defs[i];
            let start = self.line_start(def.span.start).max(cursor);
            let mut end = self.line_end(def.span.end).min(range.end);
            // Definitions that follow on the line this one ends on join its chunk, so that
            // no chunk starts mid-line (`function a() {} function b() {}`).
            let mut last = i;
            while last + 1 < defs.len() && self.same_line(end, defs[last + 1].span.start) {
                last += 1;
                end = self.line_end(defs[last].span.end).clamp(end, range.end);
            }
            let joined = last > i;
            i = last + 1;
            // A definition sharing its first line with the previous chunk is already in it.
            if end <= start {
                continue;
            }
            let start = self.gap(cursor..start, parent);
            let name = qualify(prefix, def.name.as_deref());
            if joined {
                // Several definitions in one chunk: named and kinded after the first.
                self.push(start..end, whole_kind(def.role), name, parent);
            } else {
                self.definition(start..end, def, parent, name);
            }
            cursor = end;
        }
        let tail = cursor..range.end;
        match parent {
            Some(_) => self.footer(tail, parent),
            None => {
                let start = self.gap(tail.clone(), None);
                if start < tail.end {
                    // Whitespace-only text with nothing to attach it to.
                    self.push(start..tail.end, ChunkKind::TopLevel, None, None);
                }
            }
        }
    }

    /// One definition spanning `span`: a single chunk, or header + members + footer.
    fn definition(
        &mut self,
        span: Range<usize>,
        def: &Def,
        parent: Option<usize>,
        name: Option<String>,
    ) {
        let header_end = def
            .members
            .first()
            .map(|m| self.line_start(m.span.start).clamp(span.start, span.end));
        match header_end {
            Some(header_end) if def.role == Role::Container && header_end > span.start => {
                let prefix = name.clone().unwrap_or_default();
                let header = self.push(span.start..header_end, ChunkKind::Header, name, parent);
                self.scope(header_end..span.end, &def.members, Some(header), &prefix);
            }
            _ => {
                self.push(span, whole_kind(def.role), name, parent);
            }
        }
    }

    /// Code between definitions, from `range.start`; returns where the next chunk starts.
    /// Whitespace joins the previous chunk (or, at the very start, the next one), and so
    /// do blank lines leading the code.
    fn gap(&mut self, range: Range<usize>, parent: Option<usize>) -> usize {
        let range = self.shed_blank_lines(range);
        if range.is_empty() {
            return range.start;
        }
        let slice = &self.text[range.clone()];
        if slice.trim().is_empty() {
            return range.start;
        }
        if slice.split_inclusive('\n').count() > MAX_GAP_LINES {
            for mut block in line_blocks(slice, range.start, MAX_GAP_LINES) {
                block.parent = parent;
                self.chunks.push(block);
            }
        } else {
            self.push(range.clone(), ChunkKind::TopLevel, None, parent);
        }
        range.end
    }

    /// What follows a container's last member: a `Footer` if it holds any code (the last
    /// `MAX_GAP_LINES` lines of it, earlier lines as `Lines`), else joined to the member.
    fn footer(&mut self, range: Range<usize>, parent: Option<usize>) {
        let range = self.shed_blank_lines(range);
        if range.is_empty() {
            return;
        }
        let slice = &self.text[range.clone()];
        let name = parent.and_then(|p| self.chunks[p].name.clone());
        let mut blocks = line_blocks(slice, range.start, MAX_GAP_LINES);
        if let Some(last) = blocks.last_mut() {
            last.kind = ChunkKind::Footer;
            last.name = name;
        }
        for mut block in blocks {
            block.parent = parent;
            self.chunks.push(block);
        }
    }

    /// Moves the whitespace lines at the start of `range` (all of it, if it is only
    /// whitespace) into the previous chunk, and returns what is left.
    fn shed_blank_lines(&mut self, range: Range<usize>) -> Range<usize> {
        let Some(last) = self.chunks.last_mut() else {
            return range;
        };
        let slice = &self.text[range.clone()];
        let keep_from = match slice.find(|c: char| !c.is_whitespace()) {
            Some(i) => slice[..i].rfind('\n').map_or(0, |j| j + 1),
            None => slice.len(),
        };
        last.span.end = range.start + keep_from;
        range.start + keep_from..range.end
    }

    /// Appends a chunk and returns its index.
    fn push(
        &mut self,
        span: Range<usize>,
        kind: ChunkKind,
        name: Option<String>,
        parent: Option<usize>,
    ) -> usize {
        self.chunks.push(Chunk {
            span,
            kind,
            name,
            parent,
        });
        self.chunks.len() - 1
    }

    /// True if `end` is mid-line and `next` lies on that same line.
    fn same_line(&self, end: usize, next: usize) -> bool {
        if end == 0 || self.text.as_bytes().get(end - 1) == Some(&b'\n') || next < end {
            return false;
        }
        !self.text.get(end..next).is_some_and(|s| s.contains('\n'))
    }

    /// `pos` moved back to the start of its line if only whitespace precedes it there.
    fn line_start(&self, pos: usize) -> usize {
        let pos = floor_char_boundary(self.text, pos);
        let line = self.text[..pos].rfind('\n').map_or(0, |i| i + 1);
        if self.text[line..pos].trim().is_empty() {
            line
        } else {
            pos
        }
    }

    /// `pos` moved past the end of its line if only whitespace (or a `;` / `,`) follows.
    fn line_end(&self, pos: usize) -> usize {
        let pos = floor_char_boundary(self.text, pos);
        let rest = &self.text[pos..];
        let line = rest.find('\n').map_or(rest.len(), |i| i + 1);
        match rest[..line].trim() {
            "" | ";" | "," => pos + line,
            _ => pos,
        }
    }
}

/// The kind of a definition kept as one chunk.
fn whole_kind(role: Role) -> ChunkKind {
    match role {
        Role::Function => ChunkKind::Function,
        Role::Type | Role::Container => ChunkKind::Type,
    }
}

/// `prefix.name`, or whichever of the two exists.
fn qualify(prefix: &str, name: Option<&str>) -> Option<String> {
    match (prefix, name) {
        (_, None) => None,
        ("", Some(n)) => Some(n.to_owned()),
        (p, Some(n)) => Some(format!("{p}.{n}")),
    }
}

/// The largest char boundary at or before `pos` (clamped to the text).
fn floor_char_boundary(text: &str, pos: usize) -> usize {
    let mut pos = pos.min(text.len());
    while !text.is_char_boundary(pos) {
        pos -= 1;
    }
    pos
}

#[cfg(test)]
mod tests;
