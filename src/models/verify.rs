//! `pith models verify`: rehash every installed file against its manifest.
//!
//! A model none of whose files is present is simply not installed, which is fine; a model
//! with some files present must have all of them, each with the right size and sha256.
//! Converter outputs are checked like files. A converter input that is not kept is
//! checked only when it is there (an install that stopped before converting left it).

use std::path::PathBuf;

use super::manifest::{PinnedFile, Role};
use super::store::ModelStore;
use super::{ModelError, sha256_file};

/// The check of one model's files.
#[derive(Debug, Clone)]
pub struct VerifyReport {
    /// The model's name.
    pub model: String,
    /// What the model does in the pipeline.
    pub role: Role,
    /// Its folder in the store.
    pub dir: PathBuf,
    /// Each pinned file, converter outputs included.
    pub files: Vec<FileCheck>,
    /// The command that repairs this model in this store.
    pub repair: String,
}

/// The check of one file.
#[derive(Debug, Clone)]
pub struct FileCheck {
    /// File name in the model's folder.
    pub dest: String,
    /// Where it is.
    pub path: PathBuf,
    /// What the check found.
    pub status: FileStatus,
}

/// What the check of one file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileStatus {
    /// Right size and sha256.
    Ok,
    /// Not there.
    Missing,
    /// Size differs from the manifest's.
    WrongSize {
        /// Bytes the manifest pins.
        expected: u64,
        /// Bytes on disk.
        actual: u64,
    },
    /// sha256 differs from the manifest's.
    WrongHash {
        /// sha256 the manifest pins.
        expected: String,
        /// sha256 of the file on disk.
        actual: String,
    },
}

impl FileStatus {
    /// What is wrong, as it follows the file's path in a message ("" when nothing is).
    pub fn detail(&self) -> String {
        match self {
            FileStatus::Ok => String::new(),
            FileStatus::Missing => "is missing".to_owned(),
            FileStatus::WrongSize { expected, actual } => {
                format!("has {actual} bytes, expected {expected}")
            }
            FileStatus::WrongHash { expected, actual } => {
                format!("has sha256 {actual}, expected {expected}")
            }
        }
    }
}

impl VerifyReport {
    /// Whether any file of the model is present.
    pub fn installed(&self) -> bool {
        self.files.iter().any(|f| f.status != FileStatus::Missing)
    }

    /// The first problem of an installed model, as the error the CLI reports.
    pub fn failure(&self) -> Option<ModelError> {
        if !self.installed() {
            return None;
        }
        let bad = self.files.iter().find(|f| f.status != FileStatus::Ok)?;
        Some(ModelError::Damaged {
            label: self.role.label(),
            name: self.model.clone(),
            path: bad.path.clone(),
            detail: bad.status.detail(),
            command: self.repair.clone(),
        })
    }
}

impl ModelStore {
    /// Rehashes the files of every built-in model found in this store.
    pub fn verify(&self) -> Result<Vec<VerifyReport>, ModelError> {
        let mut reports = Vec::new();
        for m in Self::manifests() {
            let dir = self.root().join(&m.name);
            let mut expected = m.installed_files();
            if let Some(c) = m.convert.as_ref().filter(|c| !c.keep_input)
                && let Some(input) = m.files.iter().find(|f| f.dest == c.input)
                && dir.join(&input.dest).exists()
            {
                expected.insert(
                    0,
                    PinnedFile {
                        dest: &input.dest,
                        size: input.size,
                        sha256: &input.sha256,
                    },
                );
            }
            let mut files = Vec::new();
            for f in expected {
                let path = dir.join(f.dest);
                let status = match std::fs::metadata(&path) {
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => FileStatus::Missing,
                    Err(e) => return Err(ModelError::io("read", &path)(e)),
                    Ok(meta) if meta.len() != f.size => FileStatus::WrongSize {
                        expected: f.size,
                        actual: meta.len(),
                    },
                    Ok(_) => {
                        let actual = sha256_file(&path).map_err(ModelError::io("read", &path))?;
                        if actual == f.sha256 {
                            FileStatus::Ok
                        } else {
                            FileStatus::WrongHash {
                                expected: f.sha256.to_owned(),
                                actual,
                            }
                        }
                    }
                };
                files.push(FileCheck {
                    dest: f.dest.to_owned(),
                    path,
                    status,
                });
            }
            reports.push(VerifyReport {
                model: m.name.clone(),
                role: m.role,
                dir,
                files,
                repair: self.install_command(&m.name),
            });
        }
        Ok(reports)
    }
}
