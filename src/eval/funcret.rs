//! Function retrieval in real repositories: the repository (every non-test, non-doc,
//! non-example `.py` file of an sdist) is the context, the first sentence of a function's
//! docstring the query, and the whole function must survive verbatim. Variant B — the one
//! that counts — removes the target's docstring from the source first.

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

#[derive(Debug, Deserialize)]
struct Item {
    package: String,
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
        let mut packages: Vec<&str> = Vec::new();
        for it in &items {
            if !packages.contains(&it.package.as_str()) {
                packages.push(&it.package);
            }
        }
        for package in packages {
            let tmp = tempfile::tempdir().map_err(|e| EvalError::data(dir, e))?;
            data::unpack_tar_gz(&dir.join(format!("{package}.tar.gz")), tmp.path())?;
            let root = tmp.path().join(package);
            let files = context_files(&root)?;
            for it in items.iter().filter(|it| it.package == package) {
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

/// The repository context: `.py` files that are not tests, docs or examples, as
/// (path below the package root, text), sorted by path.
fn context_files(root: &Path) -> Result<Vec<(String, String)>, EvalError> {
    const SKIP_DIRS: [&str; 6] = ["tests", "test", "docs", "doc", "examples", "example"];
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
            } else if name.ends_with(".py")
                && !name.starts_with("test_")
                && !name.ends_with("_test.py")
                && name != "conftest.py"
            {
                let rel = path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .into_owned();
                let text = std::fs::read_to_string(&path).map_err(|e| EvalError::data(&path, e))?;
                out.push((rel, text));
            }
        }
    }
    out.sort();
    Ok(out)
}
