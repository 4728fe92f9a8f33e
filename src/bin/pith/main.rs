//! The `pith` command: a thin layer over the library that parses arguments, reads and
//! writes files, and turns errors into exit codes (0 ok, 1 runtime error, 2 usage error).
//!
//! One module per subcommand (its arguments and its `run`); [`common`] holds what several
//! share: the tokenizer and file-walking flags, reading inputs and writing outputs.

mod common;
mod compress;
mod count;
mod eval;
mod models;
mod pack;
mod serve;

use std::io;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use common::Usage;

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
    Pack(pack::PackArgs),
    /// Compress one text (a file, or - for standard input).
    Compress(compress::CompressArgs),
    /// Count tokens of files.
    Count(count::CountArgs),
    /// Measure what survives compression on the evaluation data (../shared/eval).
    Eval(eval::EvalArgs),
    /// Run the proxy in front of OpenAI- and Anthropic-style APIs.
    Serve(serve::ServeArgs),
    /// Install, list and verify the neural models (see onnx_models/).
    Models(models::ModelsArgs),
}

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
        Command::Pack(args) => pack::run(args),
        Command::Compress(args) => compress::run(args),
        Command::Count(args) => count::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Models(args) => models::run(args),
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
