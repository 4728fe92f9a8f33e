//! Documents: the texts a compression works on, and how each is segmented.

use std::path::Path;

use crate::preset::{ProseUnit, SegmentConfig};
use crate::segment::{
    Chunk, ChunkKind, Chunker, CodeChunker, JsonChunker, Lang, LineChunker, OutputChunker,
    OutputKind, ProseChunker,
};

/// How a document is segmented and how its elision markers look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    /// Source code in a language with a grammar: function-level chunks.
    Code(Lang),
    /// Plain text or markdown: headings, sentences, fences, tables.
    Prose,
    /// Anything else line-oriented (config, other languages): blocks of lines, with the
    /// line-comment prefix for markers when one is known.
    Lines(Option<&'static str>),
    /// Kept or dropped as one unit (a retrieved passage, a search result).
    Whole,
    /// A JSON object or array: one chunk per member, markers that keep it valid JSON.
    Json,
    /// Tool output of a kind told from its content: lines, scored by what they say
    /// (errors, failures, summaries) as well as by the query.
    Output(OutputKind),
}

impl DocKind {
    /// The kind a file's name suggests.
    pub fn from_path(path: &Path) -> DocKind {
        if let Some(lang) = Lang::from_path(path) {
            return DocKind::Code(lang);
        }
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        match ext.as_str() {
            "json" => DocKind::Json,
            "md" | "markdown" | "mdx" | "txt" | "text" | "rst" | "adoc" | "org" => DocKind::Prose,
            "" if matches!(
                name,
                "README" | "LICENSE" | "CHANGELOG" | "NOTICE" | "AUTHORS"
            ) =>
            {
                DocKind::Prose
            }
            "sh" | "bash" | "zsh" | "toml" | "yaml" | "yml" | "rb" | "pl" | "r" | "cfg" | "ini"
            | "conf" | "mk" | "cmake" | "dockerfile" | "tf" => DocKind::Lines(Some("#")),
            "c" | "h" | "cc" | "cpp" | "hpp" | "cxx" | "cs" | "kt" | "kts" | "swift" | "scala"
            | "dart" | "php" | "proto" | "zig" | "css" | "scss" | "less" | "groovy" | "gradle" => {
                DocKind::Lines(Some("//"))
            }
            "sql" | "lua" | "hs" | "elm" => DocKind::Lines(Some("--")),
            _ if name == "Makefile" || name == "Dockerfile" => DocKind::Lines(Some("#")),
            _ => DocKind::Lines(None),
        }
    }

    /// The markdown fence tag for this kind.
    pub fn fence_tag(self, path: Option<&str>) -> &'static str {
        match self {
            DocKind::Code(lang) => lang.name(),
            DocKind::Prose | DocKind::Whole | DocKind::Output(_) => "",
            DocKind::Json => "json",
            DocKind::Lines(_) => {
                match path
                    .and_then(|p| Path::new(p).extension())
                    .and_then(|e| e.to_str())
                {
                    Some("toml") => "toml",
                    Some("yaml" | "yml") => "yaml",
                    Some("json") => "json",
                    Some("sh" | "bash") => "bash",
                    Some("c" | "h") => "c",
                    Some("cpp" | "cc" | "hpp") => "cpp",
                    Some("html") => "html",
                    Some("css") => "css",
                    Some("sql") => "sql",
                    _ => "",
                }
            }
        }
    }

    /// Segments `text` into chunks that tile it.
    pub fn chunk(self, text: &str, config: &SegmentConfig) -> Vec<Chunk> {
        match self {
            DocKind::Code(lang) => {
                // A file as a reading tool returns it, each line led by its number.
                let chunker = CodeChunker::new(lang);
                crate::segment::numbered::chunk_numbered(text, &chunker)
                    .unwrap_or_else(|| chunker.chunk(text))
            }
            DocKind::Prose => {
                let sentences = ProseChunker.chunk(text);
                match config.prose {
                    ProseUnit::Sentence => sentences,
                    ProseUnit::Paragraph => paragraphs(text, sentences),
                }
            }
            DocKind::Lines(_) => LineChunker {
                max_lines: config.max_block_lines,
            }
            .chunk(text),
            DocKind::Whole if text.is_empty() => Vec::new(),
            DocKind::Whole => vec![Chunk::new(0..text.len(), ChunkKind::Sentence)],
            DocKind::Json => JsonChunker {
                split_bytes: JsonChunker::default().split_bytes,
                fallback_lines: config.max_block_lines,
            }
            .chunk(text),
            DocKind::Output(kind) => OutputChunker { kind }.chunk(text),
        }
    }

    /// The kind of a text that has no name to go by (a pipe, a tool result): JSON, tool
    /// output of a kind its content shows, else `fallback`.
    pub fn from_content(text: &str, fallback: DocKind) -> DocKind {
        if looks_like_json(text) {
            DocKind::Json
        } else if let Some(kind) = crate::segment::output::detect(text) {
            DocKind::Output(kind)
        } else {
            fallback
        }
    }
}

/// Whether `text` is a JSON object or array: it starts with `{` or `[` (after whitespace)
/// and parses. Used to treat JSON content as JSON whatever its file is called.
pub fn looks_like_json(text: &str) -> bool {
    matches!(text.trim_start().as_bytes().first(), Some(b'{' | b'['))
        && serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
}

/// One text to compress, with an optional path that names it in the output. Build one
/// with [`Document::new`] or [`Document::from_path_text`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Document {
    /// Names the document in the output (a file's path).
    pub path: Option<String>,
    /// The text.
    pub text: String,
    /// How it is cut into chunks.
    pub kind: DocKind,
}

impl Document {
    /// A document whose kind follows from its path, or — for a name that says nothing
    /// (no known extension) — from content that is a JSON object or array. JSON Lines
    /// stay lines even when the file holds a single record.
    pub fn from_path_text(path: impl Into<String>, text: impl Into<String>) -> Self {
        let path = path.into();
        let text = text.into();
        let json_lines = Path::new(&path)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("jsonl") || e.eq_ignore_ascii_case("ndjson"));
        // Names that say nothing about the content (no or an unknown extension, `.txt`,
        // `.log`) leave it to the content: JSON, or tool output such as a saved test run.
        let vague = json_lines
            || matches!(
                Path::new(&path).extension().and_then(|e| e.to_str()),
                None | Some("txt" | "log" | "out")
            );
        let kind = match DocKind::from_path(Path::new(&path)) {
            DocKind::Lines(None) if !json_lines && looks_like_json(&text) => DocKind::Json,
            kind @ (DocKind::Lines(None) | DocKind::Prose) if vague => {
                match crate::segment::output::detect(&text) {
                    Some(output) => DocKind::Output(output),
                    None => kind,
                }
            }
            kind => kind,
        };
        Self {
            path: Some(path),
            text,
            kind,
        }
    }

    /// An unnamed document of the given kind.
    pub fn new(text: impl Into<String>, kind: DocKind) -> Self {
        Self {
            path: None,
            text: text.into(),
            kind,
        }
    }

    /// The same document named `path` (its kind stays as it is).
    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }
}

/// Merges consecutive sentences into paragraphs: a paragraph ends at a blank line or where
/// a chunk of another kind (heading, fence, table) begins. Tiling is preserved.
fn paragraphs(text: &str, chunks: Vec<Chunk>) -> Vec<Chunk> {
    let mut out: Vec<Chunk> = Vec::with_capacity(chunks.len());
    let mut open = false;
    for c in chunks {
        let is_sentence = c.kind == ChunkKind::Sentence;
        let ends_paragraph = {
            let t = c.text(text);
            t[t.trim_end().len()..].matches('\n').count() >= 2
        };
        match out.last_mut() {
            Some(last) if open && is_sentence => last.span.end = c.span.end,
            _ => out.push(c),
        }
        open = is_sentence && !ends_paragraph;
    }
    out
}
