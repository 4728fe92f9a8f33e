//! `pith compress`: one text to a budget or a ratio, or pruned word by word to a rate.

use std::io::{self, Read};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use pith::auto::Family;
use pith::{Compressor, DocKind, Document, Input, Lang, TokenCounter};

use crate::common::{
    AutoArgs, CacheArgs, TokenizerArgs, print_cache_stats, print_model_stats, print_preset,
    print_stats, usage, write_output,
};

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("size").required(true).args(["budget", "ratio", "rate"])))]
pub struct CompressArgs {
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
    /// Preset: auto (the neural preset when its embedder is installed and the input is
    /// small enough, else the lexical one; see --neural-within), code, rag, chat,
    /// code-neural, rag-neural, rag-prune, code-lm, rag-lm, or a path to a preset TOML file.
    #[arg(long, default_value = "auto")]
    preset: String,
    /// Write the output here (- for standard output).
    #[arg(long, short, default_value = "-")]
    output: String,
    /// Print token counts before and after to standard error.
    #[arg(long)]
    stats: bool,
    #[command(flatten)]
    auto: AutoArgs,
    #[command(flatten)]
    tokenizer: TokenizerArgs,
    #[command(flatten)]
    cache: CacheArgs,
}

pub fn run(args: CompressArgs) -> Result<()> {
    let shared = args.cache.apply()?;
    // "\n" on the command line stands for a newline.
    let force_tokens: Vec<String> = args
        .force_tokens
        .iter()
        .map(|t| t.replace("\\n", "\n"))
        .collect();
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
    let tokens = counter.count(&text);
    // With a token classifier the run prunes prose word by word: a lexical base keeps the
    // choice of what model runs the user's.
    let family = if args.model.is_some() {
        Family::Lexical
    } else {
        Family::of(kind)
    };
    let (mut preset, choice) =
        args.auto
            .resolve(&args.preset, family, tokens, args.query.is_some())?;
    if let Some(model) = &args.model {
        // --model turns on word pruning after coarse selection.
        preset = preset.with_prune_model(model.clone());
        if let Some(prune) = preset.prune.as_mut() {
            prune.force_tokens.extend(force_tokens.iter().cloned());
        }
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
        (None, Some(r)) if r >= 1.0 && r.is_finite() => (tokens as f64 / r).floor() as usize,
        (None, Some(r)) => bail!(usage(format!("--ratio must be at least 1 (got {r})"))),
        (None, None) => bail!(usage("give --budget or --ratio")),
    };
    let compressor = Compressor::builder()
        .preset(preset)
        .shared_counter(counter)
        .models(args.cache.store())
        .try_build()?;
    let mut doc = Document::new(text, kind);
    doc.path = path;
    let mut input = Input::documents(vec![doc]);
    input.query = args.query;
    let out = compressor.compress(input, budget)?;
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
