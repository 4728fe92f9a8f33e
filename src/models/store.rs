//! The models folder: where installed models live and how pith finds them.
//!
//! Layout: `<root>/<model name>/<dest>` for every file of a manifest. The root is, in
//! order: `--models-dir` (the caller passes it to [`ModelStore::at`]), `$PITH_MODELS_DIR`,
//! `onnx_models/cache` of the source checkout the current directory is in (so commands and
//! tests run in a checkout find what `scripts/setup` installed), then the user's cache
//! folder. Only [`ModelStore::discover`] reads the environment, and only when a caller
//! (the CLI, the proxy) asks it to: the library itself never looks for models.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::ModelError;
use super::manifest::{self, Manifest, Role};

/// A models folder, and where the runtime library and the embedder's disk cache are when
/// the caller says so (nothing here is read from the environment unless the caller asks:
/// [`ModelStore::discover`], [`ModelStore::with_environment`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelStore {
    root: PathBuf,
    /// An ONNX Runtime library to use instead of the installed one.
    runtime_library: Option<PathBuf>,
    /// A folder that keeps embeddings across processes.
    embed_cache: Option<PathBuf>,
}

/// A model whose files are all present.
#[derive(Debug, Clone)]
pub struct InstalledModel {
    /// Its built-in manifest.
    pub manifest: Manifest,
    /// The model's folder, `<root>/<name>`.
    pub dir: PathBuf,
}

impl InstalledModel {
    /// Path of the file a manifest calls `dest` (e.g. `"model.onnx"`).
    pub fn file(&self, dest: &str) -> PathBuf {
        self.dir.join(dest)
    }
}

/// Whether a model is installed, as `pith models list` shows it.
#[derive(Debug, Clone)]
pub struct ModelStatus {
    /// Its built-in manifest.
    pub manifest: Manifest,
    /// Where it is or would be installed.
    pub dir: PathBuf,
    /// Installed, missing, or damaged.
    pub state: ModelState,
}

/// Whether a model's files are all present with the right sizes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelState {
    /// Every file is present with the right size.
    Installed,
    /// At least one file is missing.
    Missing,
    /// A file has the wrong size; the message says which.
    Damaged(String),
}

/// What the root resolution reads from the environment, gathered so it can be tested.
struct RootEnv {
    models_dir: Option<OsString>,
    /// The source checkout the current directory is in (a folder with `onnx_models/`).
    checkout: Option<PathBuf>,
    xdg_cache_home: Option<OsString>,
    home: Option<OsString>,
}

impl ModelStore {
    /// The models folder when no `--models-dir` is given (see the module docs).
    /// `$ORT_DYLIB_PATH` and `$PITH_EMBED_CACHE` are read too
    /// ([`ModelStore::with_environment`]).
    pub fn discover() -> Self {
        Self::at(resolve_root(&RootEnv {
            models_dir: std::env::var_os("PITH_MODELS_DIR"),
            checkout: std::env::current_dir().ok().and_then(|cwd| {
                cwd.ancestors()
                    .find(|dir| dir.join("onnx_models").is_dir())
                    .map(Path::to_path_buf)
            }),
            xdg_cache_home: std::env::var_os("XDG_CACHE_HOME"),
            home: std::env::var_os("HOME"),
        }))
        .with_environment()
    }

    /// A store at an explicit folder (the `--models-dir` flag); it need not exist yet.
    pub fn at(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            runtime_library: None,
            embed_cache: None,
        }
    }

    /// The same store with what the environment says: `$ORT_DYLIB_PATH` (an ONNX Runtime
    /// library to use instead of the installed one) and `$PITH_EMBED_CACHE` (a folder that
    /// keeps embeddings across processes). Empty values count as unset.
    pub fn with_environment(mut self) -> Self {
        let var = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        self.runtime_library = var("ORT_DYLIB_PATH").or(self.runtime_library);
        self.embed_cache = var("PITH_EMBED_CACHE").or(self.embed_cache);
        self
    }

    /// The same store with an ONNX Runtime library of the caller's.
    pub fn with_runtime_library(mut self, path: impl Into<PathBuf>) -> Self {
        self.runtime_library = Some(path.into());
        self
    }

    /// The same store with a folder that keeps embeddings across processes.
    pub fn with_embed_cache(mut self, dir: impl Into<PathBuf>) -> Self {
        self.embed_cache = Some(dir.into());
        self
    }

    /// The same store keeping embeddings across processes in the user's cache folder,
    /// `$XDG_CACHE_HOME/pith/embed` or else `~/.cache/pith/embed`, unless a folder is set
    /// already (`$PITH_EMBED_CACHE`, [`ModelStore::with_embed_cache`]). The CLI's default:
    /// packing a repository again for another question embeds only what changed.
    pub fn with_user_embed_cache(mut self) -> Self {
        if self.embed_cache.is_none() {
            let xdg = std::env::var_os("XDG_CACHE_HOME");
            let home = std::env::var_os("HOME");
            self.embed_cache = Some(user_cache(xdg.as_ref(), home.as_ref()).join("embed"));
        }
        self
    }

    /// The same store without a folder for embeddings (`--no-cache`).
    pub fn without_embed_cache(mut self) -> Self {
        self.embed_cache = None;
        self
    }

    /// The folder that keeps embeddings across processes, if any.
    pub fn embed_cache(&self) -> Option<&Path> {
        self.embed_cache.as_deref()
    }

    /// The folder, `<root>/<model name>/` for each model.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The built-in manifests, in list order.
    pub fn manifests() -> Vec<Manifest> {
        manifest::builtin()
    }

    /// The built-in manifest called `name`.
    pub fn manifest(name: &str) -> Result<Manifest, ModelError> {
        manifest::builtin_named(name)
    }

    /// The model called `name` if all its files (converter outputs included) are present
    /// with the right sizes (a cheap check; `verify` rehashes).
    pub fn locate(&self, name: &str) -> Result<InstalledModel, ModelError> {
        let manifest = Self::manifest(name)?;
        let dir = self.root.join(&manifest.name);
        for f in manifest.installed_files() {
            let path = dir.join(f.dest);
            let detail = match std::fs::metadata(&path) {
                Ok(meta) if meta.is_file() && meta.len() == f.size => continue,
                Ok(meta) if meta.is_file() => {
                    format!("has {} bytes, expected {}", meta.len(), f.size)
                }
                Ok(_) => "is not a file".to_owned(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(ModelError::NotInstalled {
                        label: manifest.role.label(),
                        name: manifest.name.clone(),
                        root: self.root.clone(),
                        command: self.install_command(&manifest.name),
                    });
                }
                Err(e) => return Err(ModelError::io("read", &path)(e)),
            };
            return Err(ModelError::Damaged {
                label: manifest.role.label(),
                name: manifest.name.clone(),
                path,
                detail,
                command: self.install_command(&manifest.name),
            });
        }
        Ok(InstalledModel { manifest, dir })
    }

    /// The folder of the causal LM `name`, with its [`CAUSAL_LM_MODEL_FILE`],
    /// [`CAUSAL_LM_TOKENIZER_FILE`] and [`CAUSAL_LM_CONFIG_FILE`]; an error naming the
    /// install command when it is missing or cut short.
    ///
    /// [`CAUSAL_LM_MODEL_FILE`]: manifest::CAUSAL_LM_MODEL_FILE
    /// [`CAUSAL_LM_TOKENIZER_FILE`]: manifest::CAUSAL_LM_TOKENIZER_FILE
    /// [`CAUSAL_LM_CONFIG_FILE`]: manifest::CAUSAL_LM_CONFIG_FILE
    pub fn causal_lm(&self, name: &str) -> Result<PathBuf, ModelError> {
        let model = self.locate(name)?;
        if model.manifest.role != Role::CausalLm {
            return Err(ModelError::Manifest {
                name: name.to_owned(),
                message: format!(
                    "not a {} (role {})",
                    Role::CausalLm.label(),
                    model.manifest.role.as_str()
                ),
            });
        }
        Ok(model.dir)
    }

    /// The ONNX Runtime shared library: the caller's ([`ModelStore::with_runtime_library`],
    /// `$ORT_DYLIB_PATH` through [`ModelStore::with_environment`]), else the installed
    /// runtime model's library.
    pub fn runtime_library(&self) -> Result<PathBuf, ModelError> {
        self.runtime_library_from(self.runtime_library.clone().map(OsString::from))
    }

    fn runtime_library_from(&self, env: Option<OsString>) -> Result<PathBuf, ModelError> {
        if let Some(path) = env.filter(|p| !p.is_empty()).map(PathBuf::from) {
            return if path.is_file() {
                Ok(path)
            } else {
                Err(ModelError::RuntimePath { path })
            };
        }
        let runtime = Self::manifests()
            .into_iter()
            .find(|m| m.role == Role::Runtime)
            .ok_or_else(|| ModelError::UnknownModel {
                name: "(runtime)".to_owned(),
                known: manifest::BUILTIN.map(|(n, _)| n).join(", "),
            })?;
        let installed = self.locate(&runtime.name)?;
        // A runtime manifest's first file is the library; validation keeps it non-empty.
        let dest = installed
            .manifest
            .files
            .first()
            .map(|f| f.dest.clone())
            .unwrap_or_default();
        Ok(installed.file(&dest))
    }

    /// Every built-in model and whether it is installed here.
    pub fn list(&self) -> Result<Vec<ModelStatus>, ModelError> {
        Self::manifests()
            .into_iter()
            .map(|manifest| {
                let dir = self.root.join(&manifest.name);
                let state = match self.locate(&manifest.name) {
                    Ok(_) => ModelState::Installed,
                    Err(ModelError::NotInstalled { .. }) => ModelState::Missing,
                    Err(ModelError::Damaged { path, detail, .. }) => {
                        ModelState::Damaged(format!("{} {detail}", path.display()))
                    }
                    Err(e) => return Err(e),
                };
                Ok(ModelStatus {
                    manifest,
                    dir,
                    state,
                })
            })
            .collect()
    }

    /// The command that installs `name` into this store: with `--models-dir` unless this
    /// is the folder pith finds by itself.
    pub(crate) fn install_command(&self, name: &str) -> String {
        if self.root == Self::discover().root {
            format!("pith models install {name}")
        } else {
            let dir = self.root.display().to_string();
            let dir = if dir.contains(char::is_whitespace) {
                format!("'{dir}'")
            } else {
                dir
            };
            format!("pith models install --models-dir {dir} {name}")
        }
    }
}

/// The root when no flag is given: the variable, the source checkout, the cache folder.
fn resolve_root(env: &RootEnv) -> PathBuf {
    if let Some(dir) = env.models_dir.as_ref().filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Some(checkout) = &env.checkout {
        return checkout.join("onnx_models").join("cache");
    }
    user_cache(env.xdg_cache_home.as_ref(), env.home.as_ref()).join("models")
}

/// The user's folder for pith's caches: `$XDG_CACHE_HOME/pith`, else `~/.cache/pith`.
fn user_cache(xdg_cache_home: Option<&OsString>, home: Option<&OsString>) -> PathBuf {
    // XDG says a relative XDG_CACHE_HOME is invalid and must be ignored.
    if let Some(xdg) = xdg_cache_home
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
    {
        return xdg.join("pith");
    }
    match home.filter(|h| !h.is_empty()) {
        Some(home) => PathBuf::from(home).join(".cache").join("pith"),
        None => PathBuf::from(".cache").join("pith"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn env(models_dir: Option<&str>, manifest_dir: &Path, xdg: Option<&str>) -> RootEnv {
        RootEnv {
            models_dir: models_dir.map(OsString::from),
            checkout: manifest_dir
                .join("onnx_models")
                .is_dir()
                .then(|| manifest_dir.to_path_buf()),
            xdg_cache_home: xdg.map(OsString::from),
            home: Some(OsString::from("/home/u")),
        }
    }

    #[test]
    fn user_cache_folder() {
        let (xdg, home) = (OsString::from("/x"), OsString::from("/home/u"));
        assert_eq!(
            user_cache(Some(&xdg), Some(&home)),
            PathBuf::from("/x/pith")
        );
        // A relative XDG_CACHE_HOME is ignored.
        let relative = OsString::from("x");
        assert_eq!(
            user_cache(Some(&relative), Some(&home)),
            PathBuf::from("/home/u/.cache/pith")
        );
        let set = ModelStore::at("/m").with_embed_cache("/e");
        assert_eq!(set.clone().with_user_embed_cache(), set);
        assert_eq!(set.without_embed_cache().embed_cache(), None);
    }

    #[test]
    fn root_resolution_order() {
        let checkout = tempfile::tempdir().unwrap();
        let nowhere = checkout.path().join("gone");
        // The variable wins over everything.
        assert_eq!(
            resolve_root(&env(Some("/m"), checkout.path(), Some("/x"))),
            PathBuf::from("/m")
        );
        // A checkout without onnx_models/ falls through to XDG, then HOME.
        assert_eq!(
            resolve_root(&env(Some(""), &nowhere, Some("/x"))),
            PathBuf::from("/x/pith/models")
        );
        assert_eq!(
            resolve_root(&env(None, &nowhere, Some("relative"))),
            PathBuf::from("/home/u/.cache/pith/models")
        );
        // With onnx_models/ present the checkout's cache is used.
        std::fs::create_dir(checkout.path().join("onnx_models")).unwrap();
        assert_eq!(
            resolve_root(&env(None, checkout.path(), Some("/x"))),
            checkout.path().join("onnx_models/cache")
        );
    }

    #[test]
    fn ort_dylib_path_comes_first_and_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        let store = ModelStore::at(dir.path());
        let lib = dir.path().join("libonnxruntime.so");
        std::fs::write(&lib, b"not really").unwrap();
        assert_eq!(
            store
                .runtime_library_from(Some(lib.clone().into()))
                .unwrap(),
            lib
        );
        let missing = dir.path().join("nope.so");
        let err = store
            .runtime_library_from(Some(missing.into()))
            .unwrap_err();
        assert!(matches!(err, ModelError::RuntimePath { .. }), "{err}");
        // Without the variable, the (absent) installed runtime is asked for.
        let err = store.runtime_library_from(None).unwrap_err();
        assert!(
            err.to_string().contains("pith models install")
                && err.to_string().contains("onnxruntime"),
            "{err}"
        );
    }

    #[test]
    fn the_folder_pith_finds_needs_no_flag_in_the_command() {
        let store = ModelStore::discover();
        assert_eq!(
            store.install_command("minilm"),
            "pith models install minilm"
        );
        let other = ModelStore::at(store.root().join("elsewhere"));
        assert_eq!(
            other.install_command("minilm"),
            format!(
                "pith models install --models-dir {} minilm",
                other.root().display()
            )
        );
    }
}
