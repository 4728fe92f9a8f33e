//! Finding definitions: run a language's chunk query over the syntax tree and arrange the
//! matches into a tree of definitions (containers hold members; anything nested inside a
//! function or type stays inside it).

use std::cell::Cell;
use std::collections::HashMap;
use std::ops::{ControlFlow, Range};
use std::sync::OnceLock;
use std::time::Instant;

use tree_sitter::{
    Node, Query, QueryCursor, QueryCursorOptions, QueryCursorState, StreamingIterator, Tree,
};

use crate::segment::Lang;

/// How a definition is chunked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// Kept whole as a `Function` chunk.
    Function,
    /// Kept whole as a `Type` chunk.
    Type,
    /// Split into header, members and footer (or kept whole as `Type` without members).
    Container,
}

/// One definition found in the tree.
#[derive(Debug, Clone)]
pub(super) struct Def {
    /// Byte span of the definition node, widened backwards over the attributes and
    /// comments directly above it.
    pub span: Range<usize>,
    pub role: Role,
    /// The definition's own name, already prefixed by a receiver (Go) where there is one.
    pub name: Option<String>,
    /// Definitions directly inside this one (only ever non-empty for containers).
    pub members: Vec<Def>,
}

/// A compiled query and the capture indices the chunker reads.
#[derive(Debug)]
struct ChunkQuery {
    query: Query,
    function: Option<u32>,
    ty: Option<u32>,
    container: Option<u32>,
    name: Option<u32>,
    receiver: Option<u32>,
}

/// The compiled query for `lang`, built once per process; `None` if it does not compile
/// (a bug caught by the unit tests — the chunker then falls back to line blocks).
fn chunk_query(lang: Lang) -> Option<&'static ChunkQuery> {
    static QUERIES: [OnceLock<Option<ChunkQuery>>; Lang::ALL.len()] =
        [const { OnceLock::new() }; Lang::ALL.len()];
    let slot = Lang::ALL.iter().position(|l| *l == lang)?;
    QUERIES[slot]
        .get_or_init(|| {
            let query = Query::new(&lang.language(), lang.chunk_query()).ok()?;
            let idx = |n: &str| query.capture_index_for_name(n);
            Some(ChunkQuery {
                function: idx("function"),
                ty: idx("type"),
                container: idx("container"),
                name: idx("name"),
                receiver: idx("receiver"),
                query,
            })
        })
        .as_ref()
}

/// Compiles the query for `lang`, reporting the error (for tests).
#[cfg(test)]
pub(super) fn compile_error(lang: Lang) -> Option<String> {
    Query::new(&lang.language(), lang.chunk_query())
        .err()
        .map(|e| e.to_string())
}

/// A match before nesting: the definition node and what the query said about it.
struct Found<'t> {
    node: Node<'t>,
    role: Role,
    name_node: Option<Node<'t>>,
    name: Option<String>,
    has_receiver: bool,
}

/// The top-level definitions of `tree`, each holding its members. `None` if the query
/// for `lang` is unusable, or still running at `deadline` (on a deeply nested tree of
/// garbage a query takes time quadratic in its depth).
pub(super) fn find(lang: Lang, tree: &Tree, text: &str, deadline: Instant) -> Option<Vec<Def>> {
    let cq = chunk_query(lang)?;
    let found = matches(cq, tree, text, deadline)?;
    Some(nest(found, text))
}

/// Runs the query and removes duplicates (see [`dedup`]); `None` if it ran past
/// `deadline` (the matches found by then are not all of them).
fn matches<'t>(
    cq: &ChunkQuery,
    tree: &'t Tree,
    text: &str,
    deadline: Instant,
) -> Option<Vec<Found<'t>>> {
    let halted = Cell::new(false);
    let mut progress = |_: &QueryCursorState| {
        if Instant::now() > deadline {
            halted.set(true);
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let mut cursor = QueryCursor::new();
    let mut it = cursor.matches_with_options(
        &cq.query,
        tree.root_node(),
        text.as_bytes(),
        QueryCursorOptions::new().progress_callback(&mut progress),
    );
    let mut found: Vec<Found<'t>> = Vec::new();
    while let Some(m) = it.next() {
        let mut def = None;
        let mut name = None;
        let mut receiver = None;
        for c in m.captures() {
            let i = Some(c.index);
            if i == cq.function {
                def = Some((c.node, Role::Function));
            } else if i == cq.ty {
                def = Some((c.node, Role::Type));
            } else if i == cq.container {
                def = Some((c.node, Role::Container));
            } else if i == cq.name {
                name = Some(c.node);
            } else if i == cq.receiver {
                receiver = Some(c.node);
            }
        }
        let Some((node, role)) = def else { continue };
        // A definition with a syntax error inside is not trusted: its text becomes plain
        // code, and clean definitions inside it are still found.
        if node.has_error() {
            continue;
        }
        let node_text = |n: Node| text.get(n.byte_range()).map(str::to_owned);
        let name_text = name
            .and_then(node_text)
            .map(|n| match receiver.and_then(node_text) {
                Some(r) => format!("{r}.{n}"),
                None => n,
            });
        found.push(Found {
            node,
            role,
            name_node: name,
            name: name_text,
            has_receiver: receiver.is_some(),
        });
    }
    if halted.get() {
        return None;
    }
    Some(dedup(found))
}

/// Keeps one match per definition node — the most specific: named, with a receiver,
/// shortest name (a specific pattern before a catch-all) — and then one per name node,
/// the outermost (so `export` and decorator wrappers win over what they wrap).
fn dedup(mut found: Vec<Found<'_>>) -> Vec<Found<'_>> {
    let specificity = |f: &Found| {
        (
            f.name.is_some(),
            f.has_receiver,
            std::cmp::Reverse(f.name.as_ref().map_or(0, String::len)),
        )
    };
    let mut by_node: HashMap<usize, usize> = HashMap::new();
    let mut kept: Vec<Found<'_>> = Vec::new();
    for f in found.drain(..) {
        match by_node.get(&f.node.id()) {
            Some(&j) if specificity(&f) > specificity(&kept[j]) => kept[j] = f,
            Some(_) => {}
            None => {
                by_node.insert(f.node.id(), kept.len());
                kept.push(f);
            }
        }
    }
    let mut by_name: HashMap<usize, usize> = HashMap::new();
    let mut out: Vec<Found<'_>> = Vec::new();
    for f in kept {
        let Some(key) = f.name_node.map(|n| n.id()) else {
            out.push(f);
            continue;
        };
        match by_name.get(&key) {
            Some(&j) if f.node.byte_range().len() > out[j].node.byte_range().len() => out[j] = f,
            Some(_) => {}
            None => {
                by_name.insert(key, out.len());
                out.push(f);
            }
        }
    }
    out
}

/// Arranges definitions by containment. A definition inside a container becomes its
/// member; one inside a function or type is dropped (it stays in that chunk's text).
fn nest(mut found: Vec<Found<'_>>, text: &str) -> Vec<Def> {
    // Outer before inner; for equal spans the first stays outer.
    found.sort_by_key(|f| (f.node.start_byte(), std::cmp::Reverse(f.node.end_byte())));
    let mut roots: Vec<Def> = Vec::new();
    // Open containers: (node span, path of member indices from `roots`).
    let mut stack: Vec<(Range<usize>, Role)> = Vec::new();
    let mut path: Vec<usize> = Vec::new();
    for f in found {
        let r = f.node.byte_range();
        while let Some((top, _)) = stack.last() {
            if top.start <= r.start && r.end <= top.end {
                break;
            }
            stack.pop();
            path.pop();
        }
        if matches!(stack.last(), Some((_, Role::Function | Role::Type))) {
            continue;
        }
        let def = Def {
            span: widen(f.node, text)..f.node.end_byte(),
            role: f.role,
            name: f.name,
            members: Vec::new(),
        };
        let siblings = siblings_at(&mut roots, &path);
        path.push(siblings.len());
        siblings.push(def);
        stack.push((r, f.role));
    }
    roots
}

/// The member list reached by following `path` from `roots`.
fn siblings_at<'a>(roots: &'a mut Vec<Def>, path: &[usize]) -> &'a mut Vec<Def> {
    let mut list = roots;
    for &i in path {
        list = &mut list[i].members;
    }
    list
}

/// Node kinds that belong to the definition after them: comments (doc comments
/// included), Rust outer attributes, decorators parsed as siblings.
fn is_leading(kind: &str) -> bool {
    kind.ends_with("comment") || kind == "attribute_item" || kind == "decorator"
}

/// The start of `node` widened back over comments and attributes directly above it: each
/// must start its own line and be separated from what follows by no blank line.
fn widen(node: Node, text: &str) -> usize {
    let mut start = node.start_byte();
    let mut prev = node.prev_sibling();
    while let Some(p) = prev {
        if !is_leading(p.kind()) {
            break;
        }
        let between = text.get(p.end_byte()..start).unwrap_or("\n\n");
        let newlines = between.bytes().filter(|&b| b == b'\n').count();
        if newlines > 1 || !between.trim().is_empty() {
            break;
        }
        let before = text.get(..p.start_byte()).unwrap_or("x");
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        if !before[line_start..].trim().is_empty() {
            break;
        }
        start = p.start_byte();
        prev = p.prev_sibling();
    }
    start
}
