//! `pith pack`: files and folders into one prompt that fits the budget.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;
use pith::auto::{self, Family};
use pith::{Compressor, Format, Input};

use crate::common::{
    AutoArgs, CacheArgs, TokenizerArgs, WalkArgs, collect, input_paths, preset, print_cache_stats,
    print_model_stats, print_preset, print_stats, spinner, write_output,
};

#[derive(Args, Debug)]
pub struct PackArgs {
    /// Files and directories to pack.
    paths: Vec<PathBuf>,
    /// Most tokens the output may have.
    #[arg(long)]
    budget: usize,
    /// What the prompt is for: chunks are kept by relevance to it.
    #[arg(long, short)]
    query: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "markdown")]
    format: FormatArg,
    /// Preset: auto (code-neural when its embedder is installed and the files are small
    /// enough, else code; see --neural-within), code, rag, chat, code-neural, rag-neural,
    /// rag-prune, code-lm, rag-lm, or a path to a preset TOML file.
    #[arg(long, default_value = "auto")]
    preset: String,
    /// Write the output here (- for standard output).
    #[arg(long, short, default_value = "-")]
    output: String,
    /// Print a per-file token table to standard error.
    #[arg(long)]
    stats: bool,
    #[command(flatten)]
    walk: WalkArgs,
    #[command(flatten)]
    auto: AutoArgs,
    #[command(flatten)]
    tokenizer: TokenizerArgs,
    #[command(flatten)]
    cache: CacheArgs,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum FormatArg {
    Markdown,
    Xml,
    Json,
    Plain,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Markdown => Format::Markdown,
            FormatArg::Xml => Format::Xml,
            FormatArg::Json => Format::Json,
            FormatArg::Plain => Format::Plain,
        }
    }
}

pub fn run(args: PackArgs) -> Result<()> {
    let shared = args.cache.apply()?;
    let paths = input_paths(&args.paths, &args.walk)?;
    let collected = collect(&paths, &args.walk)?;
    if collected.documents.is_empty() {
        // Every path was binary, unreadable, special or empty: an empty prompt would
        // look like success.
        bail!(
            "nothing to pack: no readable text file in the given paths ({} skipped, {} empty)",
            collected.skipped.len(),
            collected.empty.len()
        );
    }
    let counter = args.tokenizer.counter()?;
    let (preset, choice) = match args.preset.as_str() {
        auto::AUTO => {
            let tokens = collected
                .documents
                .iter()
                .map(|d| counter.count(&d.text))
                .sum();
            // A repository is code even where some of its files are prose.
            args.auto
                .resolve(&args.preset, Family::Code, tokens, args.query.is_some())?
        }
        name => (preset(name)?, None),
    };
    let compressor = Compressor::builder()
        .preset(preset)
        .shared_counter(counter)
        .boxed_layout(Format::from(args.format).layout())
        .models(args.cache.store())
        .try_build()?;
    let mut input = Input::documents(collected.documents);
    input.query = args.query;
    let spinner = spinner();
    spinner.set_message("selecting");
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let result = compressor.compress(input, args.budget);
    spinner.finish_and_clear();
    let out = result?;
    if args.stats {
        print_preset(&args.preset, choice.as_ref());
        print_stats(&out);
        print_model_stats();
        if let Some(cache) = &shared {
            print_cache_stats(cache);
        }
    }
    write_output(&args.output, &out.text)
}
