//! `pith count`: the tokens of each file and their total.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::common::{TokenizerArgs, WalkArgs, collect, input_paths, write_output};

#[derive(Args, Debug)]
pub struct CountArgs {
    /// Files and directories to count.
    paths: Vec<PathBuf>,
    #[command(flatten)]
    walk: WalkArgs,
    #[command(flatten)]
    tokenizer: TokenizerArgs,
}

pub fn run(args: CountArgs) -> Result<()> {
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
