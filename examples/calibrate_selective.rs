//! Calibrates RECOMP's selective-augmentation threshold on the NQ-20 dev split.
//!
//! For each question, the best embedding similarity of any sentence to the question is
//! measured twice: with its own 20 passages (the gold one among them), and with the 20
//! distractors of the next question (none about it). A threshold below which pith
//! returns nothing should almost never fire on the first and usually on the second.
//! Prints both distributions and, for candidate thresholds, how often each fires.
//!
//! cargo run --release --example calibrate_selective -- [LIMIT]

use pith::{Compressor, DocKind, Document, Input, Preset};
use serde::Deserialize;

#[derive(Deserialize)]
struct Example {
    question: String,
    gold: Passage,
    distractors: Vec<Passage>,
}

#[derive(Deserialize, Clone)]
struct Passage {
    title: String,
    text: String,
}

fn docs(ps: &[Passage]) -> Vec<Document> {
    ps.iter()
        .enumerate()
        .map(|(k, p)| {
            let text = format!("Document [{}] (Title: {}) {}\n\n", k + 1, p.title, p.text);
            Document::new(text, DocKind::Prose)
        })
        .collect()
}

fn quantile(sorted: &[f32], q: f64) -> f32 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn main() -> anyhow::Result<()> {
    let limit: usize = std::env::args().nth(1).map_or(Ok(600), |s| s.parse())?;
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/eval/nq20/dev.jsonl.gz"
    );
    let file = std::fs::File::open(path)?;
    let text = std::io::read_to_string(flate2::read::GzDecoder::new(file))?;
    let examples: Vec<Example> = text
        .lines()
        .take(limit)
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    let c = Compressor::builder()
        .preset(Preset::named("rag-neural")?)
        .models(pith::models::ModelStore::discover())
        .try_build()?;
    let best = |input: Input| c.prepare(input).best_relevance().unwrap_or(f32::NAN);
    let (mut matched, mut mismatched) = (Vec::new(), Vec::new());
    for (i, ex) in examples.iter().enumerate() {
        let mut own = ex.distractors.clone();
        own.insert(0, ex.gold.clone());
        matched.push(best(
            Input::documents(docs(&own)).query(ex.question.clone()),
        ));
        let other = &examples[(i + 1) % examples.len()].distractors;
        mismatched.push(best(
            Input::documents(docs(other)).query(ex.question.clone()),
        ));
    }
    matched.sort_by(f32::total_cmp);
    mismatched.sort_by(f32::total_cmp);
    println!("{} questions", examples.len());
    for (name, v) in [("own passages", &matched), ("other passages", &mismatched)] {
        let qs: Vec<String> = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95]
            .iter()
            .map(|&q| format!("p{}={:.3}", (q * 100.0) as u32, quantile(v, q)))
            .collect();
        println!("{name:>15}: {}", qs.join(" "));
    }
    println!("threshold | empty with own passages | empty with other passages");
    for t in (20..=60).step_by(2).map(|t| t as f32 / 100.0) {
        let rate = |v: &[f32]| v.iter().filter(|&&b| b < t).count() as f64 / v.len() as f64;
        println!(
            "{t:.2} | {:.1}% | {:.1}%",
            100.0 * rate(&matched),
            100.0 * rate(&mismatched)
        );
    }
    Ok(())
}
