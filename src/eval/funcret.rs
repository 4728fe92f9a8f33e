//! Function retrieval in real repositories: the repository (every non-test, non-doc,
//! non-example source file of the item's language in a package archive) is the context,
//! the first sentence of a function's doc comment the query, and the whole function must
//! survive verbatim. Variant B — the one that counts — removes the target's doc comment
//! from the source first.
//!
//! Items name their archive (`archive`, a `.tar.gz`, `.crate` or npm `.tgz`), the
//! repository root inside it (`root`) and the `language`; without them an item is a Python
//! sdist `{package}.tar.gz` with root `{package}` (the shared dev file). Archives are
//! looked up in `archives/` beside the data file, then beside it.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{Case, Check, EvalError, Size, Task, TaskInfo, data};
use crate::{Document, Format, Input};

/// Whether the target keeps its docstring (A, easy) or loses it (B).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Variant {
    /// The target keeps its docstring.
    A,
    /// The target's docstring is removed (the variant that counts).
    #[default]
    B,
}

/// Function retrieval in real repositories (see the module docs).
#[derive(Debug, Clone, Copy)]
pub struct FuncRet {
    /// Whether the target keeps its docstring.
    pub variant: Variant,
}

/// The language of a repository, which decides its context files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Language {
    #[default]
    Python,
    Rust,
    Javascript,
    Typescript,
}

impl Language {
    fn extensions(self) -> &'static [&'static str] {
        match self {
            Language::Python => &["py"],
            Language::Rust => &["rs"],
            // A JS or TS repository's source is both.
            Language::Javascript | Language::Typescript => {
                &["js", "mjs", "cjs", "jsx", "ts", "tsx", "mts", "cts"]
            }
        }
    }
}

#[derive(Debug, Deserialize)]
struct Item {
    package: String,
    #[serde(default)]
    language: Language,
    archive: Option<String>,
    root: Option<String>,
    file: String,
    qualname: String,
    query: String,
    lineno: usize,
    end_lineno: usize,
    doc_lines: (usize, usize),
}

impl Task for FuncRet {
    fn info(&self) -> TaskInfo {
        TaskInfo {
            name: "funcret",
            default_data: "../shared/eval/code/funcret-dev.jsonl",
            default_sizes: vec![
                Size::Ratio(4.0),
                Size::Ratio(8.0),
                Size::Ratio(16.0),
                Size::Budget(8_000),
                Size::Budget(32_000),
            ],
            default_preset: "code",
            layout: Some(Format::Markdown),
            whole_documents: false,
        }
    }

    fn cases(
        &self,
        data: &Path,
        limit: Option<usize>,
        each: &mut dyn FnMut(Case),
    ) -> Result<(), EvalError> {
        let items: Vec<Item> = data::read_jsonl(data, limit)?;
        let dir = data.parent().unwrap_or(Path::new("."));
        // One unpacking per repository, in the order the items first name it.
        let mut repos: Vec<Repo> = Vec::new();
        for it in &items {
            let repo = Repo::of(it);
            if !repos.contains(&repo) {
                repos.push(repo);
            }
        }
        for repo in repos {
            let tmp = tempfile::tempdir().map_err(|e| EvalError::data(dir, e))?;
            let archive = [
                dir.join("archives").join(&repo.archive),
                dir.join(&repo.archive),
            ]
            .into_iter()
            .find(|p| p.exists())
            .unwrap_or_else(|| dir.join(&repo.archive));
            data::unpack_tar_gz(&archive, tmp.path())?;
            let root = tmp.path().join(&repo.root);
            let files = context_files(&root, repo.language)?;
            let package = repo.package.as_str();
            for it in items.iter().filter(|it| Repo::of(it) == repo) {
                let Some(target) = files.iter().position(|(rel, _)| *rel == it.file) else {
                    return Err(EvalError::data(
                        &root.join(&it.file),
                        "target file is not in the context",
                    ));
                };
                let (a, b) = it.doc_lines;
                let drop = |n: usize| self.variant == Variant::B && (a..=b).contains(&n);
                let lines: Vec<&str> = files[target].1.split_inclusive('\n').collect();
                let function: String = (it.lineno..=it.end_lineno)
                    .filter(|n| !drop(*n))
                    .filter_map(|n| lines.get(n - 1).copied())
                    .collect();
                let modified: String = lines
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !drop(i + 1))
                    .map(|(_, l)| *l)
                    .collect();
                let documents = files
                    .iter()
                    .enumerate()
                    .map(|(i, (rel, text))| {
                        Document::from_path_text(
                            rel.clone(),
                            if i == target {
                                modified.clone()
                            } else {
                                text.clone()
                            },
                        )
                    })
                    .collect();
                each(Case {
                    id: format!("{package}:{}", it.qualname),
                    group: package.to_owned(),
                    input: Input::documents(documents).query(it.query.clone()),
                    checks: vec![Check::FunctionRecall(function)],
                });
            }
        }
        Ok(())
    }
}

/// Where an item's repository comes from.
#[derive(Debug, PartialEq)]
struct Repo {
    package: String,
    archive: String,
    root: String,
    language: Language,
}

impl Repo {
    fn of(it: &Item) -> Repo {
        Repo {
            package: it.package.clone(),
            archive: it
                .archive
                .clone()
                .unwrap_or_else(|| format!("{}.tar.gz", it.package)),
            root: it.root.clone().unwrap_or_else(|| it.package.clone()),
            language: it.language,
        }
    }
}

/// Directories that hold no library source, or only generated copies of it.
const SKIP_DIRS: [&str; 14] = [
    "tests",
    "test",
    "__tests__",
    "docs",
    "doc",
    "examples",
    "example",
    "benches",
    "bench",
    "benchmarks",
    "fixtures",
    "fixture",
    "dist",
    "node_modules",
];

/// Whether a file is library source of the language: not a test, not generated (type
/// declarations, minified bundles). `scripts/funcret/generate.py` applies the same rule.
fn is_source(name: &str, language: Language) -> bool {
    let Some((stem, ext)) = name.rsplit_once('.') else {
        return false;
    };
    if !language.extensions().contains(&ext) {
        return false;
    }
    let declarations = [".d.ts", ".d.mts", ".d.cts"]
        .iter()
        .any(|d| name.ends_with(d));
    !(declarations
        || name.contains(".min.")
        || name.starts_with("test_")
        || name == "conftest.py"
        || stem.ends_with("_test")
        || stem.contains(".test")
        || stem.contains(".spec"))
}

/// The repository context: source files of the language outside test, doc, example,
/// bench, fixture and dist folders, as (path below the root, text), sorted by path. Files
/// that are not UTF-8 are left out.
fn context_files(root: &Path, language: Language) -> Result<Vec<(String, String)>, EvalError> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).map_err(|e| EvalError::data(&dir, e))? {
            let path = entry.map_err(|e| EvalError::data(&dir, e))?.path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_owned();
            if path.is_dir() {
                if !SKIP_DIRS.contains(&name.as_str()) {
                    stack.push(path);
                }
            } else if is_source(&name, language) {
                let rel = path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .into_owned();
                let bytes = std::fs::read(&path).map_err(|e| EvalError::data(&path, e))?;
                if let Ok(text) = String::from_utf8(bytes) {
                    out.push((rel, text));
                }
            }
        }
    }
    out.sort();
    Ok(out)
}
