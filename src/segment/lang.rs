//! Languages pith can parse, and what a renderer needs to know about each.

use std::path::Path;

/// A language with a tree-sitter grammar and a chunk query in `grammars/<lang>/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Python (`.py`, `.pyi`).
    Python,
    /// Rust (`.rs`).
    Rust,
    /// JavaScript (`.js`, `.mjs`, `.cjs`, `.jsx`).
    JavaScript,
    /// TypeScript (`.ts`, `.mts`, `.cts`).
    TypeScript,
    /// TypeScript with JSX (`.tsx`).
    Tsx,
    /// Go (`.go`).
    Go,
    /// Java (`.java`).
    Java,
}

impl Lang {
    /// Every language with a grammar.
    pub const ALL: [Lang; 7] = [
        Lang::Python,
        Lang::Rust,
        Lang::JavaScript,
        Lang::TypeScript,
        Lang::Tsx,
        Lang::Go,
        Lang::Java,
    ];

    /// The language of a file, from its extension.
    pub fn from_path(path: &Path) -> Option<Lang> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "py" | "pyi" => Lang::Python,
            "rs" => Lang::Rust,
            "js" | "mjs" | "cjs" | "jsx" => Lang::JavaScript,
            "ts" | "mts" | "cts" => Lang::TypeScript,
            "tsx" => Lang::Tsx,
            "go" => Lang::Go,
            "java" => Lang::Java,
            _ => return None,
        })
    }

    /// The language from a user-facing name (`python`, `py`, `ts`, ...).
    pub fn from_name(name: &str) -> Option<Lang> {
        Some(match name.to_ascii_lowercase().as_str() {
            "python" | "py" => Lang::Python,
            "rust" | "rs" => Lang::Rust,
            "javascript" | "js" | "jsx" => Lang::JavaScript,
            "typescript" | "ts" => Lang::TypeScript,
            "tsx" => Lang::Tsx,
            "go" | "golang" => Lang::Go,
            "java" => Lang::Java,
            _ => return None,
        })
    }

    /// Folder name under `grammars/`, and the markdown fence tag.
    pub fn name(self) -> &'static str {
        match self {
            Lang::Python => "python",
            Lang::Rust => "rust",
            Lang::JavaScript => "javascript",
            Lang::TypeScript => "typescript",
            Lang::Tsx => "tsx",
            Lang::Go => "go",
            Lang::Java => "java",
        }
    }

    /// The line-comment prefix used for elision markers.
    pub fn line_comment(self) -> &'static str {
        match self {
            Lang::Python => "#",
            _ => "//",
        }
    }

    /// The tree-sitter grammar.
    pub fn language(self) -> tree_sitter::Language {
        match self {
            Lang::Python => tree_sitter_python::LANGUAGE.into(),
            Lang::Rust => tree_sitter_rust::LANGUAGE.into(),
            Lang::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
            Lang::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Lang::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
            Lang::Go => tree_sitter_go::LANGUAGE.into(),
            Lang::Java => tree_sitter_java::LANGUAGE.into(),
        }
    }

    /// The chunk query (`grammars/<lang>/chunks.scm`), embedded so the binary is
    /// self-contained.
    pub fn chunk_query(self) -> &'static str {
        match self {
            Lang::Python => include_str!("../../grammars/python/chunks.scm"),
            Lang::Rust => include_str!("../../grammars/rust/chunks.scm"),
            Lang::JavaScript => include_str!("../../grammars/javascript/chunks.scm"),
            // TSX's grammar names its definitions as TypeScript's does: one query serves both.
            Lang::TypeScript | Lang::Tsx => include_str!("../../grammars/typescript/chunks.scm"),
            Lang::Go => include_str!("../../grammars/go/chunks.scm"),
            Lang::Java => include_str!("../../grammars/java/chunks.scm"),
        }
    }
}
