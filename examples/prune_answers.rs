//! Word pruning alone, on the passage that answers: each NQ-20 dev question's gold
//! passage is pruned to a rate, and the answer string must survive (`answer_recall`, as
//! `pith eval` checks it). Compares the surprisal pruner's word rules (`mean`, `first`,
//! `sum`) and protected patterns (the default ones, or the default without the names
//! pattern), against a control whose scores carry no information: the random-weight
//! classifier of tests/fixtures/lingua. Each passage is scored once per
//! pruner; the LM's cache makes the other rules free.
//!
//! cargo run --release --example prune_answers -- [LIMIT] [RATES, e.g. 0.33,0.5,0.7]

use std::path::Path;

use pith::eval::Check;
use pith::eval::data::read_jsonl;
use pith::lingua::markup::NAMES;
use pith::lingua::{PruneOptions, Target, TokenPruner, WordProb, shared_classifier};
use pith::lm::{DEFAULT_LM, shared_lm};
use pith::models::ModelStore;
use pith::{Tiktoken, TokenCounter};
use serde::Deserialize;

#[derive(Deserialize)]
struct Example {
    answers: Vec<String>,
    gold: Passage,
}

#[derive(Deserialize)]
struct Passage {
    title: String,
    text: String,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let limit: usize = args.next().map_or(Ok(600), |a| a.parse())?;
    let rates: Vec<f64> = args.next().map_or(Ok(vec![0.33, 0.5, 0.7]), |a| {
        a.split(',').map(str::parse).collect()
    })?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let examples: Vec<Example> =
        read_jsonl(&root.join("../shared/eval/nq20/dev.jsonl.gz"), Some(limit))?;
    let store = ModelStore::discover();
    let lm = shared_lm(&store, DEFAULT_LM)?;
    let control = shared_classifier(&store, &root.join("tests/fixtures/lingua/bert"))?;
    let without_names: Vec<String> = PruneOptions::default()
        .protect
        .into_iter()
        .filter(|p| p != NAMES)
        .collect();
    let mut pruners: Vec<(String, TokenPruner)> = Vec::new();
    for (protect, label) in [(None, "default"), (Some(&without_names), "without names")] {
        for rule in [WordProb::Mean, WordProb::First, WordProb::Sum] {
            let mut options = PruneOptions {
                word_prob: Some(rule),
                ..PruneOptions::default()
            };
            if let Some(p) = protect {
                options.protect = p.clone();
            }
            let name = format!("surprisal {rule:?} {label}").to_lowercase();
            pruners.push((name, TokenPruner::surprisal(lm.clone(), options)?));
        }
        let mut options = PruneOptions::default();
        if let Some(p) = protect {
            options.protect = p.clone();
        }
        let name = format!("random-weight classifier {label}");
        pruners.push((name, TokenPruner::new(control.clone(), options)?));
    }
    let o200k = Tiktoken::default();
    let texts: Vec<String> = examples
        .iter()
        .map(|e| format!("(Title: {}) {}", e.gold.title, e.gold.text))
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let tokens: usize = refs.iter().map(|t| o200k.count(t)).sum();
    println!(
        "{} gold passages, {tokens} o200k tokens; answer recall after pruning\n",
        refs.len()
    );
    let header: Vec<String> = rates.iter().map(|r| format!("rate {r}")).collect();
    println!("| pruner | {} | s |", header.join(" | "));
    println!("|---|{}---|", "---|".repeat(rates.len()));
    for (name, pruner) in &pruners {
        let start = std::time::Instant::now();
        let scored = pruner.score(&refs)?;
        let mut hits = vec![0usize; rates.len()];
        for (s, e) in scored.iter().zip(&examples) {
            let check = Check::AnswerRecall(e.answers.clone());
            let cutter = s.cutter(&o200k);
            for (h, &r) in hits.iter_mut().zip(&rates) {
                *h += usize::from(check.passed(&cutter.select(Target::Rate(r))?.text));
            }
        }
        let cells: Vec<String> = hits
            .iter()
            .map(|&h| format!("{:.1}%", 100.0 * h as f64 / examples.len() as f64))
            .collect();
        println!(
            "| {name} | {} | {:.1} |",
            cells.join(" | "),
            start.elapsed().as_secs_f64()
        );
    }
    // What survives unpruned: the ceiling.
    let whole = examples
        .iter()
        .zip(&texts)
        .filter(|(e, t)| Check::AnswerRecall(e.answers.clone()).passed(t))
        .count();
    println!(
        "\nunpruned: {:.1}%",
        100.0 * whole as f64 / examples.len() as f64
    );
    Ok(())
}
