//! The LM presets end to end with the installed causal LM: `code-lm` (LongCodeZip's
//! coarse ranking, and its fine stage when `[lm.fine]` is set) and `rag-lm`
//! (LongLLMLingua's document ranking), the budget promise under both, and what happens
//! without the model.

use pith::models::ModelStore;
use pith::{Compressor, Document, Input, Preset, Tiktoken, TokenCounter};
use proptest::prelude::*;

/// A small Python module whose functions do clearly different things.
const MODULE: &str = r#"import math
import json


def area_of_circle(radius):
    """Area of a circle."""
    if radius < 0:
        raise ValueError("negative radius")
    return math.pi * radius * radius


def parse_config(path):
    with open(path) as f:
        data = json.load(f)
    if "name" not in data:
        raise KeyError("name")
    data.setdefault("debug", False)
    return data


def fibonacci(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def send_email(to, subject, body):
    message = f"To: {to}\nSubject: {subject}\n\n{body}"
    server = connect_smtp()
    server.send(message)
    server.close()
    return True


def merge_sorted(left, right):
    out = []
    i = j = 0
    while i < len(left) and j < len(right):
        if left[i] <= right[j]:
            out.append(left[i])
            i += 1
        else:
            out.append(right[j])
            j += 1
    out.extend(left[i:])
    out.extend(right[j:])
    return out
"#;

fn compressor(preset: Preset) -> Compressor {
    Compressor::builder()
        .preset(preset)
        .try_build()
        .expect("the LM presets load (scripts/setup installs minilm and smollm2)")
}

fn code_input(query: &str) -> Input {
    Input::documents(vec![Document::from_path_text("src/util.py", MODULE)]).query(query)
}

#[test]
fn code_lm_keeps_the_function_the_question_is_about() {
    let c = compressor(Preset::named("code-lm").expect("built in"));
    let budget = Tiktoken::default().count(MODULE) / 3;
    for (query, name) in [
        (
            "read the settings file and fill in defaults",
            "def parse_config",
        ),
        (
            "combine two ordered lists into one ordered list",
            "def merge_sorted",
        ),
        (
            "the n-th number of the sequence where each is the sum of the two before",
            "def fibonacci",
        ),
    ] {
        let out = c.compress(code_input(query), budget).expect("compresses");
        assert!(out.tokens_after <= budget);
        assert!(
            out.text.contains(name),
            "{query:?} lost {name}:\n{}",
            out.text
        );
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    }
}

#[test]
fn the_fine_stage_prunes_blocks_and_keeps_signatures() {
    let mut preset = Preset::named("code-lm").expect("built in");
    preset.lm.as_mut().expect("code-lm ranks with the LM").fine = Some(pith::preset::FineConfig {
        rate: 0.5,
        spike_sigma: 0.0,
    });
    let c = compressor(preset);
    let whole = Tiktoken::default().count(MODULE);
    let out = c
        .compress(
            code_input("combine two ordered lists into one ordered list"),
            whole / 3,
        )
        .expect("compresses");
    assert!(out.tokens_after <= whole / 3);
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    // Block pruning happened inside a kept function: its signature is there, and a
    // Python comment says how many lines went.
    assert!(
        out.text.contains("def merge_sorted(left, right):"),
        "{}",
        out.text
    );
    assert!(
        out.text
            .lines()
            .any(|l| l.trim_start().starts_with("# … ") && l.contains("omitted")),
        "{}",
        out.text
    );
}

/// Twenty short passages, one of which answers the question.
fn passages() -> (Vec<Document>, &'static str, usize) {
    let filler = [
        "The Amazon rainforest spans nine countries and holds a tenth of known species.",
        "Mount Kilimanjaro is a dormant volcano in Tanzania with three volcanic cones.",
        "The printing press was developed by Johannes Gutenberg around 1440 in Mainz.",
        "Photosynthesis converts light energy into chemical energy stored in glucose.",
        "The Great Barrier Reef is the world's largest coral reef system, off Queensland.",
        "Jazz originated in the African-American communities of New Orleans.",
        "The Treaty of Westphalia in 1648 ended the Thirty Years' War in Europe.",
        "Honeybees communicate the location of flowers through a waggle dance.",
        "The Sahara is the largest hot desert, covering much of North Africa.",
        "Penicillin was discovered by Alexander Fleming in 1928 at St Mary's Hospital.",
    ];
    let answer = "The Eiffel Tower was designed by the engineering firm of Gustave Eiffel \
                  and completed in 1889 for the World's Fair in Paris.";
    let mut docs: Vec<Document> = filler
        .iter()
        .enumerate()
        .map(|(i, t)| Document::from_path_text(format!("doc{i}.txt"), format!("{t} {t}")))
        .collect();
    let at = 6;
    docs.insert(
        at,
        Document::from_path_text("answer.txt", format!("{answer} {answer}")),
    );
    (docs, "Who designed the Eiffel Tower?", at)
}

#[test]
fn rag_lm_gives_the_answering_document_the_largest_share() {
    let c = compressor(Preset::named("rag-lm").expect("built in"));
    let (docs, question, at) = passages();
    let total: usize = docs
        .iter()
        .map(|d| Tiktoken::default().count(&d.text))
        .sum();
    let out = c
        .compress(Input::documents(docs).query(question), total / 4)
        .expect("compresses");
    assert!(out.tokens_after <= total / 4);
    assert!(out.text.contains("Gustave Eiffel"), "{}", out.text);
    let kept =
        |d: &pith::compress::DocReport| d.tokens_after as f64 / d.tokens_before.max(1) as f64;
    let answer = kept(&out.documents[at]);
    for (i, d) in out.documents.iter().enumerate() {
        if i != at {
            assert!(
                kept(d) <= answer,
                "doc {i} kept {} vs the answer's {answer}",
                kept(d)
            );
        }
    }
}

#[test]
fn without_the_model_the_lm_presets_say_so_and_still_compress() {
    let empty = tempfile::tempdir().expect("temp dir");
    let store = ModelStore::at(empty.path());
    let err = Compressor::builder()
        .preset(Preset::named("code-lm").expect("built in"))
        .try_build_with_store(&store)
        .expect_err("no models in an empty store");
    assert!(err.to_string().contains("pith models install"), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// The budget promise holds with the LM stages, coarse and fine.
    #[test]
    fn lm_presets_never_exceed_the_budget(
        budget in 20usize..400,
        fine in any::<bool>(),
        sigma in 0.0f64..2.0,
        q in 0usize..3,
    ) {
        let mut preset = Preset::named("code-lm").expect("built in");
        if fine {
            preset.lm.as_mut().expect("lm").fine =
                Some(pith::preset::FineConfig { rate: 0.5, spike_sigma: sigma });
        }
        let query = ["parse a json config", "sum of fibonacci numbers", "send an email"][q];
        let c = compressor(preset);
        match c.compress(code_input(query), budget) {
            Ok(out) => {
                prop_assert!(out.tokens_after <= budget);
                prop_assert_eq!(Tiktoken::default().count(&out.text), out.tokens_after);
            }
            Err(pith::CompressError::BudgetTooSmall { minimum, .. }) => prop_assert!(minimum > budget),
            Err(other) => prop_assert!(false, "unexpected error: {other}"),
        }
    }
}
