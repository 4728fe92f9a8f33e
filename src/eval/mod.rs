//! The measuring harness behind `pith eval`: real external data in, how much of what each
//! task needs survives compression out, for pith's presets and simple baselines alike.
//!
//! A [`Task`] turns a data file into [`Case`]s (an input, a query, and [`Check`]s of what
//! must survive); a [`Method`] compresses each case to each budget; [`report`] aggregates
//! the results into rows of metrics (fractions in 0..1), printed as a table or JSON.

mod check;
pub mod data;
mod funcret;
mod kv;
mod method;
mod niah;
mod nq20;
pub mod report;
mod toolout;

use std::path::Path;
use std::time::Instant;

pub use check::Check;
pub use funcret::{FuncRet, Variant};
pub use kv::Kv;
pub use method::Method;
pub use niah::Niah;
pub use nq20::{Nq20, Nq20Null};
pub use report::Row;
pub use toolout::ToolOut;

use crate::{Encoding, Format, Input};

/// The harness could not run.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// A data file is missing or malformed.
    #[error("cannot read {path}: {message}")]
    Data {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// No method has this name.
    #[error(
        "unknown method {0:?} (pith, pith:PRESET such as pith:rag-neural, pith:FILE.toml, truncate, tail, headtail, random, overlap)"
    )]
    UnknownMethod(String),
    /// No task has this name.
    #[error("unknown task {0:?} (nq20, nq20-null, kv, niah, funcret, toolout)")]
    UnknownTask(String),
    /// A `pith:PRESET` method names a preset that cannot be had.
    #[error("{0}")]
    Preset(#[from] crate::preset::PresetError),
    /// A method's compressor cannot be built (a model is missing).
    #[error("{0}")]
    Build(#[from] crate::compress::BuildError),
}

impl EvalError {
    pub(crate) fn data(path: &Path, message: impl std::fmt::Display) -> Self {
        EvalError::Data {
            path: path.display().to_string(),
            message: message.to_string(),
        }
    }
}

/// How much to compress: a ratio of the input's tokens, or a fixed budget.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Size {
    /// Input tokens divided by this (`4x`: a quarter of the input).
    Ratio(f64),
    /// This many tokens whatever the input.
    Budget(usize),
}

impl Size {
    /// The budget for an input of `tokens` tokens.
    pub fn budget(self, tokens: usize) -> usize {
        match self {
            Size::Ratio(r) => (tokens as f64 / r).floor() as usize,
            Size::Budget(b) => b,
        }
    }

    /// How tables name the size: `4x`, `2k`, `1500`.
    pub fn label(self) -> String {
        match self {
            Size::Ratio(r) => format!("{r}x"),
            Size::Budget(b) if b % 1000 == 0 => format!("{}k", b / 1000),
            Size::Budget(b) => b.to_string(),
        }
    }
}

/// One example: an input with its query, what must survive, and the group it is
/// reported in (gold position, haystack length × depth, repository).
#[derive(Debug, Clone)]
pub struct Case {
    /// Identifies the example in the data file.
    pub id: String,
    /// The group its metrics are reported in.
    pub group: String,
    /// The documents and the query.
    pub input: Input,
    /// What must survive compression.
    pub checks: Vec<Check>,
}

/// What a task is, apart from its cases.
#[derive(Debug, Clone)]
pub struct TaskInfo {
    /// The name `pith eval` takes.
    pub name: &'static str,
    /// Its dev data, relative to the repository root.
    pub default_data: &'static str,
    /// Sizes measured when none are asked for.
    pub default_sizes: Vec<Size>,
    /// The preset `pith` stands for on this task.
    pub default_preset: &'static str,
    /// How the documents of a case are framed (`None`: bare text, as `pith compress`).
    pub layout: Option<Format>,
    /// Whether baselines keep or drop whole documents (true) or pith's chunks (false).
    pub whole_documents: bool,
}

/// A task of `../shared/eval/README.md`.
pub trait Task {
    /// What the task is, apart from its cases.
    fn info(&self) -> TaskInfo;
    /// Calls `each` with every case in a stable order, at most `limit` source examples.
    fn cases(
        &self,
        data: &Path,
        limit: Option<usize>,
        each: &mut dyn FnMut(Case),
    ) -> Result<(), EvalError>;
}

/// A task by name.
pub fn task(name: &str, variant: Variant, seed: u64) -> Result<Box<dyn Task>, EvalError> {
    Ok(match name {
        "nq20" => Box::new(Nq20),
        "nq20-null" => Box::new(Nq20Null),
        "kv" => Box::new(Kv),
        "niah" => Box::new(Niah { seed }),
        "funcret" => Box::new(FuncRet { variant }),
        "toolout" => Box::new(ToolOut),
        other => return Err(EvalError::UnknownTask(other.into())),
    })
}

/// What one run measures.
#[derive(Debug, Clone)]
pub struct Options {
    /// Sizes to compress to (empty: the task's defaults).
    pub sizes: Vec<Size>,
    /// Method names, as [`Method::new`] takes them.
    pub methods: Vec<String>,
    /// At most this many source examples.
    pub limit: Option<usize>,
    /// Only every K-th case (1: all): a sample spread over the whole file, for methods
    /// too slow to run on all of it.
    pub every: usize,
    /// The tokenizer budgets are counted in.
    pub encoding: Encoding,
    /// Seed of the random baseline and of generated tasks.
    pub seed: u64,
}

/// One case compressed by one method to one size.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The case's id in its data file.
    pub id: String,
    /// The method's name.
    pub method: String,
    /// The size asked for.
    pub size: Size,
    /// The case's group.
    pub group: String,
    /// Tokens of the case's input.
    pub tokens_before: usize,
    /// Tokens of the method's output.
    pub tokens_after: usize,
    /// The budget the size gave.
    pub budget: usize,
    /// Wall time of the compression.
    pub latency_ms: f64,
    /// Metric name and whether the case passed it.
    pub passed: Vec<(&'static str, bool)>,
}

/// Runs every method on every case at every size; `progress` is called after each case.
pub fn run(
    task: &dyn Task,
    data: &Path,
    options: &Options,
    progress: &mut dyn FnMut(usize),
) -> Result<Vec<Outcome>, EvalError> {
    let sizes = if options.sizes.is_empty() {
        task.info().default_sizes
    } else {
        options.sizes.clone()
    };
    let methods = options
        .methods
        .iter()
        .map(|m| Method::new(m, task, options.encoding, options.seed))
        .collect::<Result<Vec<_>, _>>()?;
    let counter = crate::Tiktoken::new(options.encoding);
    let mut outcomes = Vec::new();
    let mut done = 0;
    let mut seen = 0;
    task.cases(data, options.limit, &mut |case| {
        seen += 1;
        if (seen - 1) % options.every.max(1) != 0 {
            return;
        }
        for method in &methods {
            let start = Instant::now();
            let prepared = method.prepare(&case);
            let prepare_ms = start.elapsed().as_secs_f64() * 1e3;
            for &size in &sizes {
                let budget = size.budget(prepared.tokens_before());
                let start = Instant::now();
                // A budget no output fits counts as nothing kept.
                let text = method.compress(&prepared, budget).unwrap_or_default();
                let latency_ms = prepare_ms + start.elapsed().as_secs_f64() * 1e3;
                let tokens_after = crate::TokenCounter::count(&counter, &text);
                outcomes.push(Outcome {
                    id: case.id.clone(),
                    method: method.name().to_owned(),
                    size,
                    group: case.group.clone(),
                    tokens_before: prepared.tokens_before(),
                    tokens_after,
                    budget,
                    latency_ms,
                    passed: case
                        .checks
                        .iter()
                        .map(|c| (c.metric(), c.passed(&text)))
                        .collect(),
                });
            }
        }
        done += 1;
        progress(done);
    })?;
    Ok(outcomes)
}
