//! `pith eval`: what survives compression on the evaluation data, per method and size.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use indicatif::ProgressStyle;

use crate::common::{TokenizerArgs, spinner, usage, write_output};

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// nq20, nq20-null, kv, niah, funcret or toolout.
    task: String,
    /// The data: a .jsonl(.gz) file, or the folder of essays for niah [default: the
    /// task's dev file under ../shared/eval]. funcret reads each item's package archive
    /// from archives/ beside the file, else beside it (eval/funcret/dev.jsonl, held.jsonl).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Compression ratios, comma-separated (budget = tokens / ratio).
    #[arg(long, value_delimiter = ',')]
    ratio: Vec<f64>,
    /// Fixed budgets in tokens, comma-separated.
    #[arg(long, value_delimiter = ',')]
    budget: Vec<usize>,
    /// Methods, comma-separated: pith, pith:PRESET, truncate, tail, headtail, random,
    /// overlap; all (pith and truncate, random, overlap) or baselines (truncate, tail,
    /// headtail, overlap).
    #[arg(long, value_delimiter = ',', default_value = "pith")]
    method: Vec<String>,
    /// Use only the first K examples (for niah: K needles per length × depth cell).
    #[arg(long)]
    limit: Option<usize>,
    /// Use only every K-th case: a sample spread over the whole file.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    every: u64,
    /// Also write the rows as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Also write every case's outcome here, one JSON object per line (id, method, size,
    /// tokens, and which checks passed): which cases a method loses, not just how many.
    #[arg(long)]
    cases: Option<PathBuf>,
    /// Seed of the random baseline and of generated needles.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// funcret: a keeps the target's docstring, b removes it.
    #[arg(long, default_value = "b", value_parser = ["a", "b"])]
    variant: String,
    /// Print only the rows over all groups, not one per group.
    #[arg(long)]
    overall: bool,
    #[command(flatten)]
    tokenizer: TokenizerArgs,
}

pub fn run(args: EvalArgs) -> Result<()> {
    use pith::eval::{self, Size, Variant};
    let variant = if args.variant == "a" {
        Variant::A
    } else {
        Variant::B
    };
    let task = eval::task(&args.task, variant, args.seed).map_err(|e| usage(e.to_string()))?;
    if args.tokenizer.tokenizer.is_some() {
        return Err(usage(
            "eval counts in an encoding (--encoding), not a tokenizer.json",
        ));
    }
    let info = task.info();
    let data = args
        .data
        .clone()
        .unwrap_or_else(|| PathBuf::from(info.default_data));
    if let Some(r) = args.ratio.iter().find(|r| !(**r >= 1.0 && r.is_finite())) {
        return Err(usage(format!("--ratio must be at least 1 (got {r})")));
    }
    let mut sizes: Vec<Size> = args.ratio.iter().map(|&r| Size::Ratio(r)).collect();
    sizes.extend(args.budget.iter().map(|&b| Size::Budget(b)));
    if sizes.is_empty() {
        sizes = info.default_sizes;
    }
    let methods: Vec<String> = args
        .method
        .iter()
        .flat_map(|m| match m.as_str() {
            "all" => vec![
                "pith".to_owned(),
                "truncate".into(),
                "random".into(),
                "overlap".into(),
            ],
            // What an agent harness would do with a long tool output.
            "baselines" => vec![
                "truncate".to_owned(),
                "tail".into(),
                "headtail".into(),
                "overlap".into(),
            ],
            _ => vec![m.clone()],
        })
        .collect();
    let options = eval::Options {
        sizes: sizes.clone(),
        methods: methods.clone(),
        limit: args.limit,
        every: usize::try_from(args.every).unwrap_or(usize::MAX),
        encoding: args.tokenizer.encoding(),
        seed: args.seed,
    };
    let bar = spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {pos} cases {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let outcomes = eval::run(task.as_ref(), &data, &options, &mut |n| {
        bar.set_position(n as u64)
    })
    .map_err(|e| match e {
        eval::EvalError::UnknownMethod(_) | eval::EvalError::Preset(_) => usage(e.to_string()),
        other => anyhow::Error::new(other),
    })?;
    bar.finish_and_clear();
    let mut rows = eval::report::rows(info.name, &outcomes, &methods, &sizes);
    if args.overall {
        rows.retain(|r| r.group == "all");
    }
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&rows)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &args.cases {
        write_cases(path, &outcomes)?;
    }
    write_output("-", &eval::report::table(&rows))
}

/// One JSON line per outcome; per metric, `[passed, checks]`.
fn write_cases(path: &std::path::Path, outcomes: &[pith::eval::Outcome]) -> Result<()> {
    let mut out = String::new();
    for o in outcomes {
        let metrics = pith::eval::report::tally([o]);
        let line = serde_json::json!({
            "id": o.id,
            "method": o.method,
            "size": o.size.label(),
            "group": o.group,
            "tokens_before": o.tokens_before,
            "tokens_after": o.tokens_after,
            "budget": o.budget,
            "passed": metrics,
        });
        out.push_str(&line.to_string());
        out.push('\n');
    }
    std::fs::write(path, out).with_context(|| format!("writing {}", path.display()))
}
