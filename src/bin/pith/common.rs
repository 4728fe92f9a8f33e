//! What several subcommands share: usage errors, the tokenizer and file-walking flags,
//! reading the input files, and writing the output and the statistics.

use std::io::{self, BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use pith::auto::{self, AutoPolicy, Choice, Family};
use pith::cache::{CacheOptions, Kind, SharedCache};
use pith::models::ModelStore;
use pith::pack::{self, WalkOptions};
use pith::tokens::HfTokenizer;
use pith::{Compressed, Encoding, Preset, Tiktoken, TokenCounter};

/// A mistake in how pith was called: exit code 2, like clap's own usage errors.
#[derive(Debug)]
pub struct Usage(String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

pub fn usage(message: impl Into<String>) -> anyhow::Error {
    Usage(message.into()).into()
}

/// A built-in preset or a preset file; a bad name is a usage error.
pub fn preset(name: &str) -> Result<Preset> {
    Preset::resolve(name).map_err(|e| usage(e.to_string()))
}

/// `--preset auto`: when the neural preset is affordable.
#[derive(Args, Debug)]
pub struct AutoArgs {
    /// With --preset auto: the neural preset runs when its embedder is installed and the
    /// input is expected to embed within this many seconds; else the lexical one.
    #[arg(
        long,
        value_name = "SECONDS",
        env = "PITH_NEURAL_WITHIN",
        default_value_t = 2.0
    )]
    neural_within: f64,
}

impl AutoArgs {
    /// The preset `name` stands for; for `auto`, the choice for an input of `family` and
    /// `tokens` tokens, and why it was made.
    pub fn resolve(
        &self,
        name: &str,
        family: Family,
        tokens: usize,
        has_query: bool,
    ) -> Result<(Preset, Option<Choice>)> {
        if name != auto::AUTO {
            return Ok((preset(name)?, None));
        }
        let within = Duration::try_from_secs_f64(self.neural_within).map_err(|_| {
            usage(format!(
                "--neural-within must be a number of seconds (got {})",
                self.neural_within
            ))
        })?;
        let policy = AutoPolicy::default().within(within);
        let choice = auto::choose(family, tokens, has_query, &ModelStore::discover(), &policy);
        Ok((preset(choice.preset)?, Some(choice)))
    }
}

/// For --stats: which preset ran and, when `auto` chose it, why.
pub fn print_preset(name: &str, choice: Option<&Choice>) {
    match choice {
        Some(c) => eprintln!("preset auto: {c}"),
        None => eprintln!("preset {name}"),
    }
}

/// For --stats: what the models cost, when any was loaded — the runtime library's load,
/// each model's session and its forward passes. Nothing when the run was lexical.
pub fn print_model_stats() {
    let mut parts: Vec<String> = Vec::new();
    if let Some(t) = pith::neural::runtime::load_time() {
        parts.push(format!("runtime {:.3} s load", t.as_secs_f64()));
    }
    let embedders = pith::neural::shared::loaded_embedders();
    let lms = pith::lm::shared::loaded_lms();
    let models = embedders
        .iter()
        .map(|e| (e.name().to_owned(), e.stats()))
        .chain(lms.iter().map(|m| (m.name().to_owned(), m.stats())));
    for (name, s) in models {
        parts.push(format!(
            "{name} {:.3} s load, {:.3} s forward ({} tokens, {} passes, {} positions)",
            s.load_seconds, s.seconds, s.tokens, s.batches, s.positions
        ));
    }
    if !parts.is_empty() {
        eprintln!("models: {}", parts.join("; "));
    }
}

/// The shared cache of embedding vectors (the proxy's, or one a CI job and developers of
/// one repository share).
#[derive(Args, Debug)]
pub struct CacheArgs {
    /// Redis (or Valkey) server that keeps embedding vectors for every run that names it,
    /// e.g. redis://:PASSWORD@HOST:6379/0.
    #[arg(
        long,
        value_name = "URL",
        env = "PITH_CACHE_URL",
        hide_env_values = true
    )]
    cache_url: Option<String>,
    /// Time one shared-cache call may take before the work is done locally.
    #[arg(long, value_name = "MS", default_value_t = 20)]
    cache_timeout_ms: u64,
    /// Do not keep embedding vectors on disk. By default they are kept in
    /// $PITH_EMBED_CACHE, else $XDG_CACHE_HOME/pith/embed, else ~/.cache/pith/embed, so
    /// packing the same files again embeds only what changed.
    #[arg(long, env = "PITH_NO_CACHE", value_parser = clap::builder::FalseyValueParser::new())]
    no_cache: bool,
}

impl CacheArgs {
    /// The models folder, with the on-disk vector cache unless --no-cache.
    pub fn store(&self) -> ModelStore {
        let store = ModelStore::discover();
        if self.no_cache {
            store.without_embed_cache()
        } else {
            store.with_user_embed_cache()
        }
    }

    /// Puts the shared cache, if one is named, behind this process's embedders.
    pub fn apply(&self) -> Result<Option<Arc<SharedCache>>> {
        let Some(url) = &self.cache_url else {
            return Ok(None);
        };
        let options = CacheOptions {
            timeout: std::time::Duration::from_millis(self.cache_timeout_ms),
            ..CacheOptions::new(url.clone())
        };
        let cache = SharedCache::open(&options).map_err(|e| usage(e.to_string()))?;
        let cache = Arc::new(cache);
        pith::neural::shared::use_shared_cache(Some(cache.clone()));
        Ok(Some(cache))
    }
}

/// For --stats: what the shared cache served and what the model still had to run.
pub fn print_cache_stats(cache: &SharedCache) {
    let s = cache.stats(Kind::Vector);
    let passes: u64 = pith::neural::shared::loaded_embedders()
        .iter()
        .map(|e| e.stats().batches)
        .sum();
    eprintln!(
        "shared cache {}: {} vectors read, {} missing, {} rejected, {} written, {} failed calls; {passes} embedder forward passes",
        cache.address(),
        s.hits,
        s.misses,
        s.rejected,
        s.writes,
        cache.errors() + cache.skipped()
    );
}

#[derive(Args, Debug)]
pub struct TokenizerArgs {
    /// Token encoding of the target model.
    #[arg(long, default_value = "o200k_base", value_parser = ["o200k_base", "cl100k_base"])]
    encoding: String,
    /// Count in the tokens of a Hugging Face tokenizer.json instead of an encoding.
    #[arg(long, value_name = "FILE", conflicts_with = "encoding")]
    pub tokenizer: Option<PathBuf>,
}

impl TokenizerArgs {
    pub fn encoding(&self) -> Encoding {
        self.encoding.parse().unwrap_or_default()
    }

    /// The target model's tokenizer: a tokenizer.json if given, else the encoding.
    pub fn counter(&self) -> Result<Arc<dyn TokenCounter>> {
        Ok(match &self.tokenizer {
            Some(path) => Arc::new(HfTokenizer::from_file(path)?),
            None => Arc::new(Tiktoken::new(self.encoding())),
        })
    }
}

#[derive(Args, Debug)]
pub struct WalkArgs {
    /// Only files matching this glob (repeatable).
    #[arg(long, value_name = "GLOB")]
    include: Vec<String>,
    /// Leave out files matching this glob (repeatable).
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// Also read hidden files and folders.
    #[arg(long)]
    hidden: bool,
    /// Do not respect .gitignore and .ignore files.
    #[arg(long)]
    no_ignore: bool,
    /// Skip files larger than this many bytes.
    #[arg(long, default_value_t = 1 << 20, value_name = "BYTES")]
    max_file_size: u64,
    /// Read the paths to pack from standard input, one per line.
    #[arg(long)]
    stdin: bool,
}

impl WalkArgs {
    fn options(&self) -> WalkOptions {
        WalkOptions {
            hidden: self.hidden,
            no_ignore: self.no_ignore,
            include: self.include.clone(),
            exclude: self.exclude.clone(),
            max_file_bytes: self.max_file_size,
        }
    }
}

/// Paths from the arguments, plus one per line of standard input with `--stdin`.
pub fn input_paths(paths: &[PathBuf], walk: &WalkArgs) -> Result<Vec<PathBuf>> {
    let mut all = paths.to_vec();
    if walk.stdin {
        for line in io::stdin().lock().lines() {
            let line = line.context("reading paths from standard input")?;
            if !line.trim().is_empty() {
                all.push(PathBuf::from(line.trim()));
            }
        }
    }
    if all.is_empty() {
        return Err(usage(
            "no paths given (name files or directories, or use --stdin)",
        ));
    }
    Ok(all)
}

/// A spinner on standard error when it is a terminal; hidden otherwise.
pub fn spinner() -> ProgressBar {
    if io::stderr().is_terminal() {
        ProgressBar::new_spinner()
    } else {
        ProgressBar::hidden()
    }
}

/// Reads the files with a progress bar when standard error is a terminal.
pub fn collect(paths: &[PathBuf], walk: &WalkArgs) -> Result<pack::Collected> {
    let bar = spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} reading {pos} files {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let collected = pack::collect(paths, &walk.options(), &mut |p: &Path| {
        bar.inc(1);
        bar.set_message(p.display().to_string());
    });
    bar.finish_and_clear();
    let collected = collected.map_err(|e| match e {
        pack::WalkError::Glob { .. } => usage(e.to_string()),
        other => anyhow::Error::new(other),
    })?;
    for s in &collected.skipped {
        eprintln!("pith: skipped {}: {}", s.path, s.reason);
    }
    Ok(collected)
}

/// Writes to a file, or to standard output for `-`.
pub fn write_output(output: &str, text: &str) -> Result<()> {
    if output == "-" {
        let mut out = io::stdout().lock();
        out.write_all(text.as_bytes())?;
        out.flush()?;
    } else {
        std::fs::write(output, text).with_context(|| format!("writing {output}"))?;
    }
    Ok(())
}

/// The per-file token table of `--stats`, on standard error.
pub fn print_stats(out: &Compressed) {
    let mut err = io::stderr().lock();
    let _ = writeln!(err, "{:>9}   {:>9}  file", "before", "after");
    for d in &out.documents {
        let _ = writeln!(
            err,
            "{:>9} → {:>9}  {}",
            d.tokens_before,
            d.tokens_after,
            d.path.as_deref().unwrap_or("(text)")
        );
    }
    let _ = writeln!(
        err,
        "{:>9} → {:>9}  total, {:.1}x, budget {} {} tokens",
        out.tokens_before,
        out.tokens_after,
        out.ratio(),
        out.budget,
        out.tokenizer
    );
}
