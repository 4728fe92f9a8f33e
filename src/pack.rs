//! Gathering a repository's files for `pith pack` and `pith count`: directories walked
//! with .gitignore and hidden-file rules (the `ignore` crate, as ripgrep does),
//! include/exclude globs, and binary or huge files skipped with a reason.
//!
//! Nothing a repository holds may stop a walk: binary, non-UTF-8, empty, unreadable and
//! special files (named pipes, sockets, devices) are skipped with a reason, a folder that
//! cannot be listed is skipped, and symbolic links inside the walk are not followed (a
//! link to a parent folder would never end). Only a root path that cannot be read at all
//! is an error.

use std::io::Read;
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
    /// The file's path as walked.
    pub path: String,
    /// Why it was passed over (binary, too large, not a regular file, an I/O error).
    pub reason: String,
}

/// The documents found, in a stable order, and what was skipped.
#[derive(Debug, Default)]
pub struct Collected {
    /// The files to pack, each with its kind from its path and content.
    pub documents: Vec<Document>,
    /// Files passed over, with the reason.
    pub skipped: Vec<Skipped>,
    /// Empty files: read fine, but with nothing to pack (an `__init__.py` is common
    /// enough that reporting each would be noise).
    pub empty: Vec<String>,
}

/// A walk could not start.
#[derive(Debug, thiserror::Error)]
pub enum WalkError {
    /// A path given does not exist.
    #[error("{0}: no such file or directory")]
    NotFound(String),
    /// A path given is a symbolic link to nothing.
    #[error("{0}: dangling symbolic link")]
    Dangling(String),
    /// A path given cannot be read.
    #[error("{path}: {message}")]
    Unreadable {
        /// The path.
        path: String,
        /// The OS error.
        message: String,
    },
    /// An include or exclude glob does not parse.
    #[error("invalid glob {glob:?}: {message}")]
    Glob {
        /// The glob.
        glob: String,
        /// What is wrong with it.
        message: String,
    },
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
        check_root(root)?;
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
                    out.skipped.push(walk_skip(&e, root));
                    continue;
                }
            };
            // Folders are walked and links not followed; anything else that is not a
            // plain file would block or never end if read (a named pipe, a device).
            match entry.file_type() {
                Some(t) if t.is_file() => {}
                Some(t) if t.is_dir() || t.is_symlink() => continue,
                _ => {
                    out.skipped.push(Skipped {
                        path: display(entry.path()),
                        reason: "not a regular file".into(),
                    });
                    continue;
                }
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
                Ok(text) if text.is_empty() => out.empty.push(display(path)),
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

/// A root that cannot be walked: missing, a dangling or looping link, or unreadable.
/// A root that exists but holds nothing usable is not an error here.
fn check_root(root: &Path) -> Result<(), WalkError> {
    let name = || root.display().to_string();
    match std::fs::metadata(root) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if std::fs::symlink_metadata(root).is_ok() {
                Err(WalkError::Dangling(name()))
            } else {
                Err(WalkError::NotFound(name()))
            }
        }
        Err(e) => Err(WalkError::Unreadable {
            path: name(),
            message: e.to_string(),
        }),
    }
}

/// A walk error as a skipped path: the innermost path the error names, and its cause
/// (without the path repeated in it).
fn walk_skip(e: &ignore::Error, root: &Path) -> Skipped {
    fn path_of(e: &ignore::Error) -> Option<&Path> {
        match e {
            ignore::Error::WithPath { path, err } => path_of(err).or(Some(path)),
            ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
                path_of(err)
            }
            ignore::Error::Loop { child, .. } => Some(child),
            _ => None,
        }
    }
    Skipped {
        path: display(path_of(e).unwrap_or(root)),
        reason: match e.io_error() {
            Some(io) => io.to_string(),
            None => e.to_string(),
        },
    }
}

/// Reads a file as UTF-8 text, or says why it is not one: too large, binary (a NUL
/// byte anywhere, as in git's and ripgrep's test), not UTF-8 or unreadable.
fn read_text(path: &Path, max: u64) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    // Checked again here: opening a named pipe for reading waits for a writer.
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > max {
        return Err(format!("larger than {} bytes ({} bytes)", max, meta.len()));
    }
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    // Never more than the limit, even from a file that grows while it is read.
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > max {
        return Err(format!("larger than {max} bytes"));
    }
    if bytes.contains(&0) {
        return Err("binary".into());
    }
    String::from_utf8(bytes).map_err(|_| "binary or not UTF-8 text".into())
}
