//! The budget is a promise: for every input and every budget, the output has at most
//! `budget` tokens of the target tokenizer — or, when not even the markers saying what was
//! dropped fit, a clear error whose `minimum` really is over the budget.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use pith::render::{Bare, Layout};
use pith::segment::OutputKind;
use pith::{
    CompressError, Compressor, DocKind, Document, Encoding, Format, Input, Lang, Preset, Tiktoken,
    TokenCounter,
};
use proptest::prelude::*;

/// Real source files of every language, and real prose.
fn corpus() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/code");
    let mut files = Vec::new();
    for lang in ["go", "java", "javascript", "rust", "tsx", "typescript"] {
        for entry in std::fs::read_dir(root.join(lang)).unwrap() {
            let path = entry.unwrap().path();
            files.push((
                path.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&path).unwrap(),
            ));
        }
    }
    files.push(("README.md".into(), include_str!("../../README.md").into()));
    files.push((
        "DESIGN.md".into(),
        include_str!("../../ARCHITECTURE.md").into(),
    ));
    files
}

/// A slice of `text` on char boundaries.
fn slice(text: &str, a: usize, b: usize) -> &str {
    let mut a = a.min(text.len());
    let mut b = b.min(text.len()).max(a);
    while !text.is_char_boundary(a) {
        a -= 1;
    }
    while !text.is_char_boundary(b) {
        b += 1;
    }
    &text[a..b]
}

/// Real tool outputs of every kind (the first case of each in the toolout dev data).
fn tool_outputs() -> Vec<String> {
    use std::io::Read;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("eval/toolout/dev.jsonl.gz");
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let mut seen = std::collections::HashSet::new();
    text.lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| seen.insert(v["kind"].as_str().unwrap().to_owned()))
        .map(|v| v["output"].as_str().unwrap().to_owned())
        .collect()
}

const OUTPUT_KINDS: [OutputKind; 9] = [
    OutputKind::TestRun,
    OutputKind::Traceback,
    OutputKind::Compiler,
    OutputKind::Search,
    OutputKind::Diff,
    OutputKind::GitLog,
    OutputKind::Listing,
    OutputKind::Ndjson,
    OutputKind::Log,
];

fn document() -> impl Strategy<Value = Document> {
    let files = corpus();
    let n = files.len();
    let outputs = tool_outputs();
    let m = outputs.len();
    prop_oneof![
        // A piece of a real tool output, its kind told from its content.
        (0..m, any::<u32>(), 0..6000usize).prop_map(move |(i, a, len)| {
            let text = &outputs[i];
            let a = a as usize % text.len().max(1);
            let piece = slice(text, a, a + len);
            Document::new(piece, DocKind::from_content(piece, DocKind::Prose))
        }),
        // Arbitrary lines as each kind of tool output.
        ("(\\PC{0,60}\n){0,30}", 0..OUTPUT_KINDS.len())
            .prop_map(|(text, k)| Document::new(text, DocKind::Output(OUTPUT_KINDS[k]))),
        // A piece of a real file, named so that its kind follows from the path.
        (0..n, any::<u16>(), any::<u16>()).prop_map(move |(i, a, len)| {
            let (name, text) = &files[i];
            let a = a as usize % text.len().max(1);
            Document::from_path_text(format!("src/{name}"), slice(text, a, a + len as usize))
        }),
        // Arbitrary text of each kind, including broken code.
        ("\\PC{0,400}", 0..4usize).prop_map(|(text, k)| {
            let kind = [
                DocKind::Prose,
                DocKind::Code(Lang::Python),
                DocKind::Code(Lang::Rust),
                DocKind::Lines(Some("#")),
            ][k];
            Document::new(text, kind)
        }),
        // Sentences of common words, so relevance and redundancy have something to do.
        proptest::collection::vec(
            proptest::sample::select(vec![
                "the", "budget", "token", "is", "kept", "marker", "code", "fn", "class", "def",
                "x.y", "3.14", "\n", "\n\n", ". ", "é", "🙂"
            ]),
            0..200
        )
        .prop_map(|w| Document::new(w.join(" "), DocKind::Prose)),
    ]
}

fn layout(i: usize) -> Box<dyn Layout> {
    match i {
        0 => Box::new(Bare),
        1 => Format::Markdown.layout(),
        2 => Format::Xml.layout(),
        3 => Format::Json.layout(),
        _ => Format::Plain.layout(),
    }
}

fn check(
    docs: Vec<Document>,
    query: Option<String>,
    budget_frac: f64,
    layout_i: usize,
    preset: &str,
    enc: Encoding,
) -> Result<(), TestCaseError> {
    let counter = Tiktoken::new(enc);
    let compressor = Compressor::builder()
        .preset(Preset::named(preset).unwrap())
        .counter(counter)
        .boxed_layout(layout(layout_i))
        .build();
    let all = Compressor::builder()
        .counter(counter)
        .boxed_layout(layout(layout_i))
        .build();
    let before = all
        .compress(Input::documents(docs.clone()), usize::MAX)
        .unwrap()
        .tokens_before;
    let budget = (before as f64 * budget_frac) as usize;
    let mut input = Input::documents(docs.clone());
    input.query = query;
    match compressor.compress(input, budget) {
        Ok(out) => {
            let n = counter.count(&out.text);
            prop_assert!(n <= budget, "{n} tokens > budget {budget}");
            prop_assert_eq!(n, out.tokens_after);
            prop_assert_eq!(out.tokens_before, before);
            if budget >= before && layout_i == 0 {
                let joined: String = docs.iter().map(|d| d.text.as_str()).collect();
                prop_assert_eq!(&out.text, &joined, "nothing may change when it fits");
            }
            if layout_i == 3 {
                prop_assert!(
                    serde_json::from_str::<serde_json::Value>(&out.text).is_ok(),
                    "json output must parse"
                );
            }
        }
        Err(CompressError::BudgetTooSmall { budget: b, minimum }) => {
            prop_assert_eq!(b, budget);
            prop_assert!(
                minimum > budget,
                "error although {minimum} fits in {budget}"
            );
        }
        Err(e) => return Err(TestCaseError::fail(e.to_string())),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn output_never_exceeds_the_budget(
        docs in proptest::collection::vec(document(), 1..5),
        query in proptest::option::of("[a-z ]{0,30}"),
        frac in prop_oneof![0.0..0.05, 0.0..1.2],
        layout_i in 0..5usize,
        preset in proptest::sample::select(vec!["code", "rag", "chat"]),
        enc in proptest::sample::select(vec![Encoding::O200kBase, Encoding::Cl100kBase]),
    ) {
        check(docs, query, frac, layout_i, preset, enc)?;
    }

    #[test]
    fn tiny_budgets_give_output_or_a_clear_error(
        doc in document(),
        budget in 0usize..12,
        layout_i in 0..5usize,
    ) {
        let compressor = Compressor::builder().boxed_layout(layout(layout_i)).build();
        match compressor.compress(Input::documents(vec![doc]), budget) {
            Ok(out) => prop_assert!(Tiktoken::default().count(&out.text) <= budget),
            Err(CompressError::BudgetTooSmall { minimum, .. }) => prop_assert!(minimum > budget),
            Err(e) => return Err(TestCaseError::fail(e.to_string())),
        }
    }
}

#[test]
fn knapsack_presets_keep_the_promise_too() {
    let preset = Preset::from_toml("k", "[select]\nmethod = \"knapsack\"\n").unwrap();
    let counter = Tiktoken::default();
    let compressor = Compressor::builder()
        .preset(preset)
        .boxed_layout(Format::Markdown.layout())
        .build();
    let docs: Vec<Document> = corpus()
        .into_iter()
        .map(|(n, t)| Document::from_path_text(n, t))
        .collect();
    for budget in [50, 400, 3000, 20000] {
        let out = compressor
            .compress(
                Input::documents(docs.clone()).query("error stack frame"),
                budget,
            )
            .unwrap();
        assert!(counter.count(&out.text) <= budget);
    }
}
