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
        .models(pith::models::ModelStore::discover())
        .try_build()
        .expect("the LM presets load (scripts/setup installs minilm and smollm2)")
}

fn code_input(query: &str) -> Input {
    Input::documents(vec![Document::from_path_text("src/util.py", MODULE)]).query(query)
}

#[test]
fn code_lm_keeps_the_function_the_lm_ranks_first() {
    // Which function the LM prefers is the evaluation's business (BENCHMARKS.md); here,
    // whatever it prefers must survive: the unit with the highest gain is kept.
    let c = compressor(Preset::named("code-lm").expect("built in"));
    let lm = pith::lm::shared_lm(&crate::prereq::models(), "smollm2").expect("installed");
    // Half the module: room for its largest function.
    let budget = Tiktoken::default().count(MODULE) / 2;
    for query in [
        "read the settings file and fill in defaults",
        "combine two ordered lists into one ordered list",
        "the n-th number of the sequence where each is the sum of the two before",
    ] {
        let prepared = c.prepare(code_input(query));
        let units: Vec<&str> = prepared
            .unit_texts()
            .into_iter()
            .filter(|t| t.trim_start().starts_with("def "))
            .collect();
        let gains = pith::lm::contrast(&lm, &units, query).expect("scores");
        let best = (0..units.len())
            .max_by(|&a, &b| gains[a].gain.total_cmp(&gains[b].gain))
            .expect("functions");
        let out = c.compress_prepared(&prepared, budget).expect("compresses");
        assert!(out.tokens_after <= budget);
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
        let signature = units[best].lines().next().expect("a line");
        assert!(
            out.text.contains(signature),
            "{query:?} lost {signature}:\n{}",
            out.text
        );
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
    // Block pruning happened inside kept functions: a Python comment says how many
    // lines went, right after a kept line of the module, and every definition line in
    // the output is whole.
    let module: Vec<&str> = MODULE.lines().collect();
    let lines: Vec<&str> = out.text.lines().collect();
    let markers: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].trim_start().starts_with("# … ") && lines[i].ends_with("omitted"))
        .collect();
    assert!(!markers.is_empty(), "{}", out.text);
    for l in &lines {
        if l.starts_with("def ") {
            assert!(module.contains(l) && l.ends_with(':'), "{l:?}");
        }
    }
    for &m in &markers {
        assert!(m > 0 && module.contains(&lines[m - 1]), "{}", out.text);
    }
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
        .map(|(i, t)| Document::from_path_text(format!("doc{i}.txt"), format!("{t} {t} {t}")))
        .collect();
    let at = 6;
    docs.insert(
        at,
        Document::from_path_text("answer.txt", format!("{answer} {answer}")),
    );
    (docs, "Who designed the Eiffel Tower?", at)
}

#[test]
fn rag_lm_ranks_the_answering_document_first_and_keeps_it() {
    let c = compressor(Preset::named("rag-lm").expect("built in"));
    let lm = pith::lm::shared_lm(&crate::prereq::models(), "smollm2").expect("installed");
    let (docs, question, at) = passages();
    let texts: Vec<&str> = docs.iter().map(|d| d.text.as_str()).collect();
    let gains = pith::lm::contrast(&lm, &texts, question).expect("scores");
    let best = (0..texts.len())
        .max_by(|&a, &b| gains[a].gain.total_cmp(&gains[b].gain))
        .expect("documents");
    assert_eq!(
        best,
        at,
        "{:?}",
        gains.iter().map(|g| g.gain).collect::<Vec<_>>()
    );
    let total: usize = texts.iter().map(|t| Tiktoken::default().count(t)).sum();
    let out = c
        .compress(Input::documents(docs.clone()).query(question), total / 4)
        .expect("compresses");
    assert!(out.tokens_after <= total / 4);
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    assert!(out.text.contains("Gustave Eiffel"), "{}", out.text);
}

#[test]
fn rag_lm_reorder_puts_the_best_ranked_document_first() {
    let mut preset = Preset::named("rag-lm").expect("built in");
    preset
        .lm
        .as_mut()
        .expect("rag-lm ranks with the LM")
        .reorder = true;
    let c = compressor(preset);
    let (docs, question, at) = passages();
    let total: usize = docs
        .iter()
        .map(|d| Tiktoken::default().count(&d.text))
        .sum();
    let out = c
        .compress(Input::documents(docs).query(question), total / 2)
        .expect("compresses");
    assert!(out.tokens_after <= total / 2);
    assert!(
        out.text.trim_start().starts_with("The Eiffel Tower"),
        "{}",
        out.text
    );
    // Reports stay in input order whatever the output order.
    assert_eq!(out.documents[at].path.as_deref(), Some("answer.txt"));
    assert!(out.documents[at].tokens_after > 0);
}

#[test]
fn without_the_model_the_lm_presets_name_the_install_command() {
    let empty = tempfile::tempdir().expect("temp dir");
    let store = ModelStore::at(empty.path());
    let err = Compressor::builder()
        .preset(Preset::named("code-lm").expect("built in"))
        .models(store.clone())
        .try_build()
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

/// The proxy runs the LM presets too: a retrieved-documents tool result compressed with
/// `rag-lm` named by the request's control header keeps the answer.
#[test]
fn the_proxy_compresses_with_an_lm_preset() {
    use pith::proxy::engine::{Control, Engine, EngineConfig};
    use pith::proxy::policy::Api;
    use std::sync::Arc;
    let engine = Engine::new(EngineConfig::default(), Arc::new(Tiktoken::default()));
    let (docs, question, _) = passages();
    let context: String = docs.iter().map(|d| format!("{}\n\n", d.text)).collect();
    let body = serde_json::to_vec(&serde_json::json!({
        "model": "gpt-4.1",
        "messages": [
            {"role": "user", "content": "Look this up."},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "search", "arguments": serde_json::json!({"query": question}).to_string()}}]},
            {"role": "tool", "tool_call_id": "c1", "content": context},
            {"role": "user", "content": question},
        ]
    }))
    .expect("json");
    let control = Control {
        preset: Some("rag-lm".into()),
        ratio: Some(4.0),
        ..Control::default()
    };
    let out = engine
        .rewrite(Api::ChatCompletions, &body, &control)
        .expect("rewrites")
        .expect("compressed");
    assert!(
        out.tokens_after * 3 <= out.tokens_before,
        "{} → {}",
        out.tokens_before,
        out.tokens_after
    );
    let v: serde_json::Value = serde_json::from_slice(&out.body).expect("valid JSON");
    let kept = v["messages"][2]["content"].as_str().expect("a string");
    assert!(kept.contains("Gustave Eiffel"), "{kept}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// And with document shares from the LM's gains, by softmax or by rank.
    #[test]
    fn rag_lm_never_exceeds_the_budget(
        budget in 10usize..600,
        keep in proptest::collection::vec(any::<bool>(), 11),
        by_rank in any::<bool>(),
        reorder in any::<bool>(),
    ) {
        let mut preset = Preset::named("rag-lm").expect("built in");
        if by_rank {
            preset.select.group_temperature = None;
        }
        preset.lm.as_mut().expect("lm").reorder = reorder;
        let (docs, question, _) = passages();
        let docs: Vec<Document> = docs.into_iter().zip(&keep).filter(|(_, k)| **k).map(|(d, _)| d).collect();
        let c = compressor(preset);
        match c.compress(Input::documents(docs).query(question), budget) {
            Ok(out) => {
                prop_assert!(out.tokens_after <= budget);
                prop_assert_eq!(Tiktoken::default().count(&out.text), out.tokens_after);
            }
            Err(pith::CompressError::BudgetTooSmall { minimum, .. }) => prop_assert!(minimum > budget),
            Err(other) => prop_assert!(false, "unexpected error: {other}"),
        }
    }
}

/// The builder loads every model the preset needs and reports each one that fails: with
/// the causal LM installed and no embedder, `rag-lm` still ranks with the LM (before,
/// the first failure stopped the loading and the installed LM was never used).
#[test]
fn the_builder_loads_what_is_installed_and_reports_each_failure() {
    let installed = ModelStore::discover();
    let partial = tempfile::tempdir().expect("temp dir");
    // A store with the runtime and the LM, without the embedder.
    for name in ["onnxruntime", "smollm2"] {
        let from = installed.root().join(name);
        assert!(from.is_dir(), "{name} is installed (scripts/setup)");
        std::os::unix::fs::symlink(&from, partial.path().join(name)).expect("link");
    }
    let preset = Preset::named("rag-lm").expect("built in");
    let err = Compressor::builder()
        .preset(preset.clone())
        .models(ModelStore::at(partial.path()))
        .try_build()
        .expect_err("no embedder");
    assert_eq!(err.failures().len(), 1, "{err}");
    assert_eq!(err.failures()[0].stage, "embedder");
    let c = Compressor::builder()
        .preset(preset.clone())
        .models(ModelStore::at(partial.path()))
        .build();
    assert!(c.preset().lm.is_some(), "the LM loaded and ranks");
    // An empty store: both failures, each named.
    let empty = tempfile::tempdir().expect("temp dir");
    let err = Compressor::builder()
        .preset(preset.clone())
        .models(ModelStore::at(empty.path()))
        .try_build()
        .expect_err("nothing installed");
    let stages: Vec<_> = err.failures().iter().map(|f| f.stage).collect();
    assert_eq!(stages, ["embedder", "causal LM"], "{err}");
    // No store at all: the library looks for nothing on its own.
    let err = Compressor::builder()
        .preset(preset)
        .try_build()
        .expect_err("no models folder given");
    assert!(err.to_string().contains("no models folder"), "{err}");
}
