//! Compress one file to a budget, optionally for a query, and show what was dropped.
//!
//!     cargo run --example compress -- FILE BUDGET [QUERY]

use std::path::Path;

use pith::{Compressor, DocKind, Document, Input};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(file), Some(budget)) = (args.next(), args.next()) else {
        eprintln!("usage: compress FILE BUDGET [QUERY]");
        std::process::exit(2);
    };
    let text = std::fs::read_to_string(&file)?;
    let doc = Document::new(text, DocKind::from_path(Path::new(&file))).with_path(file);
    let mut input = Input::documents(vec![doc]);
    input.query = args.next();

    let compressor = Compressor::builder().build();
    let out = compressor.compress(input, budget.parse()?)?;

    println!("{}", out.text);
    eprintln!(
        "{} → {} tokens ({})",
        out.tokens_before, out.tokens_after, out.tokenizer
    );
    for (_, dropped) in out.dropped() {
        let name = dropped.name.as_deref().unwrap_or("");
        eprintln!(
            "dropped {:?} {name} lines {}–{}",
            dropped.kind, dropped.lines.0, dropped.lines.1
        );
    }
    Ok(())
}
