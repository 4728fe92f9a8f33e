//! Gathering a repository's files for `pith pack` and `pith count`: directories walked
//! with .gitignore and hidden-file rules (the `ignore` crate, as ripgrep does),
//! include/exclude globs, and binary or huge files skipped with a reason.

use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::document::Document;

/// Which files a walk takes.
#[derive(Debug, Clone)]
pub struct WalkOptions {
    /// Include hidden files and folders.
    pub hidden: bool,
    /// Do not read .gitignore, .ignore and git's exclude files.
    pub no_ignore: bool,
    /// Keep only files matching one of these globs (all files when empty).
    pub include: Vec<String>,
    /// Leave out files matching any of these globs.
    pub exclude: Vec<String>,
    /// Files larger than this are skipped.
    pub max_file_bytes: u64,
}

impl Default for WalkOptions {
    fn default() -> Self {
        Self {
            hidden: false,
            no_ignore: false,
            include: Vec::new(),
            exclude: Vec::new(),
            max_file_bytes: 1 << 20,
        }
    }
}

/// A file that was passed over, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub path: String,
    pub reason: String,
}

/// The documents found, in a stable order, and what was skipped.
#[derive(Debug, Default)]
pub struct Collected {
    pub documents: Vec<Document>,
    pub skipped: Vec<Skipped>,
}

/// A walk could not start.
#[derive(Debug, thiserror::Error)]
pub enum WalkError {
    #[error("{0}: no such file or directory")]
    NotFound(String),
    #[error("invalid glob {glob:?}: {message}")]
    Glob { glob: String, message: String },
}

fn globset(globs: &[String]) -> Result<Option<GlobSet>, WalkError> {
    if globs.is_empty() {
        return Ok(None);
    }
    let mut builder = GlobSetBuilder::new();
    for g in globs {
        let glob = Glob::new(g).map_err(|e| WalkError::Glob {
            glob: g.clone(),
            message: e.to_string(),
        })?;
        builder.add(glob);
    }
    builder.build().map(Some).map_err(|e| WalkError::Glob {
        glob: globs.join(","),
        message: e.to_string(),
    })
}

/// Walks `paths` (files or directories) and reads every text file they hold;
/// `on_file` is called once per file read, for progress.
pub fn collect(
    paths: &[PathBuf],
    options: &WalkOptions,
    on_file: &mut dyn FnMut(&Path),
) -> Result<Collected, WalkError> {
    let include = globset(&options.include)?;
    let exclude = globset(&options.exclude)?;
    let mut out = Collected::default();
    for root in paths {
        if !root.exists() {
            return Err(WalkError::NotFound(root.display().to_string()));
        }
        let walk = ignore::WalkBuilder::new(root)
            .hidden(!options.hidden)
            .ignore(!options.no_ignore)
            .git_ignore(!options.no_ignore)
            .git_global(!options.no_ignore)
            .git_exclude(!options.no_ignore)
            .parents(!options.no_ignore)
            // Without this, .gitignore only counts inside a git checkout.
            .require_git(false)
            .sort_by_file_path(|a, b| a.cmp(b))
            .build();
        for entry in walk {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    out.skipped.push(Skipped {
                        path: root.display().to_string(),
                        reason: e.to_string(),
                    });
                    continue;
                }
            };
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                continue;
            }
            let path = entry.path();
            // Globs match the path below the root that was named, so `*.py` and
            // `src/**` mean what they say whatever the root is.
            let rel = path.strip_prefix(root).unwrap_or(path);
            let rel = if rel.as_os_str().is_empty() {
                path
            } else {
                rel
            };
            if include.as_ref().is_some_and(|g| !g.is_match(rel))
                || exclude.as_ref().is_some_and(|g| g.is_match(rel))
            {
                continue;
            }
            on_file(path);
            match read_text(path, options.max_file_bytes) {
                Ok(text) => out
                    .documents
                    .push(Document::from_path_text(display(path), text)),
                Err(reason) => out.skipped.push(Skipped {
                    path: display(path),
                    reason,
                }),
            }
        }
    }
    Ok(out)
}

/// The path as the user would write it (no leading `./`).
fn display(path: &Path) -> String {
    let s = path.to_string_lossy();
    s.strip_prefix("./").unwrap_or(&s).to_owned()
}

/// Reads a file as UTF-8 text, or says why it is not one.
fn read_text(path: &Path, max: u64) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if meta.len() > max {
        return Err(format!("larger than {} bytes ({} bytes)", max, meta.len()));
    }
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    if bytes[..bytes.len().min(8192)].contains(&0) {
        return Err("binary".into());
    }
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text".into())
}
