//! The NQ-20 dev questions of `../shared/eval`, as the neural benches read them.

use serde::Deserialize;

#[derive(Deserialize)]
pub struct Example {
    #[allow(dead_code)] // not every bench asks the question
    pub question: String,
    pub gold: Passage,
    pub distractors: Vec<Passage>,
}

#[derive(Deserialize)]
pub struct Passage {
    title: String,
    text: String,
}

impl Example {
    /// The gold passage, then the distractors, each as `pith eval nq20` renders it.
    pub fn passages(&self) -> impl Iterator<Item = String> + '_ {
        std::iter::once(&self.gold)
            .chain(&self.distractors)
            .map(|p| format!("(Title: {}) {}\n\n", p.title, p.text))
    }
}

/// Every dev example, in file order.
pub fn examples() -> Vec<Example> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/eval/nq20/dev.jsonl.gz"
    );
    let file = std::fs::File::open(path).expect("the shared eval data");
    let text = std::io::read_to_string(flate2::read::GzDecoder::new(file)).expect("gzip");
    text.lines()
        .map(|line| serde_json::from_str(line).expect("an example"))
        .collect()
}
