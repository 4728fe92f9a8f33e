//! LLMLingua-2 token pruning with real ONNX models: the committed fixture classifiers
//! (scripts/lingua_fixtures.py; a BERT/WordPiece one and an XLM-R/SentencePiece one)
//! against golden outputs of the Python `llmlingua` 0.2.2 package on the same weights,
//! and pith's own mode: whitespace, the achieved rate, protected patterns, markers, JSON,
//! and the budget promise.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use pith::lingua::reference::{self, ReferenceParams, WordProb};
use pith::lingua::{PruneOptions, Target, TokenClassifier, TokenPruner};
use pith::{Tiktoken, TokenCounter};
use serde::Deserialize;

fn root(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A fixture classifier, loaded once per test binary.
fn model(name: &str) -> Arc<TokenClassifier> {
    static BERT: OnceLock<Arc<TokenClassifier>> = OnceLock::new();
    static XLMR: OnceLock<Arc<TokenClassifier>> = OnceLock::new();
    let cell = if name == "bert" { &BERT } else { &XLMR };
    cell.get_or_init(|| {
        let library = crate::prereq::models()
            .runtime_library()
            .expect("ONNX Runtime is installed (scripts/setup runs `pith models install`)");
        Arc::new(
            TokenClassifier::load(&library, &root(&format!("tests/fixtures/lingua/{name}")))
                .expect("fixture model loads"),
        )
    })
    .clone()
}

fn pruner(name: &str) -> TokenPruner {
    TokenPruner::new(model(name), PruneOptions::default()).expect("default options")
}

#[derive(Deserialize)]
struct Goldens {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    model: String,
    context: Vec<String>,
    params: Params,
    compressed_prompt: String,
    origin_tokens: usize,
    compressed_tokens: usize,
    words: Vec<Vec<String>>,
    labels: Vec<Vec<u8>>,
    chunks: Vec<Chunk>,
    #[serde(default)]
    context_probs: Option<Vec<f32>>,
}

#[derive(Deserialize)]
struct Params {
    rate: f64,
    target_token: i64,
    use_context_level_filter: bool,
    target_context: i64,
    context_level_rate: f64,
    context_level_target_token: i64,
    force_tokens: Vec<String>,
    force_reserve_digit: bool,
    drop_consecutive: bool,
    token_to_word: String,
    chunk_end_tokens: Vec<String>,
    force_context_ids: Vec<usize>,
}

#[derive(Deserialize)]
struct Chunk {
    text: String,
    word_probs: Vec<f32>,
    threshold: f64,
    n_threshold_values: usize,
    words: Vec<String>,
    labels: Vec<u8>,
}

fn goldens() -> Goldens {
    let src = std::fs::read_to_string(root("tests/fixtures/lingua/goldens.json"))
        .expect("goldens (scripts/lingua_fixtures.py)");
    serde_json::from_str(&src).expect("valid goldens")
}

impl Params {
    fn reference(&self) -> ReferenceParams {
        ReferenceParams {
            rate: self.rate,
            target_token: self.target_token,
            use_context_level_filter: self.use_context_level_filter,
            use_token_level_filter: true,
            target_context: self.target_context,
            context_level_rate: self.context_level_rate,
            context_level_target_token: self.context_level_target_token,
            force_context_ids: self.force_context_ids.clone(),
            token_to_word: if self.token_to_word == "first" {
                WordProb::First
            } else {
                WordProb::Mean
            },
            force_tokens: self.force_tokens.clone(),
            force_reserve_digit: self.force_reserve_digit,
            drop_consecutive: self.drop_consecutive,
            chunk_end_tokens: self.chunk_end_tokens.clone(),
        }
    }
}

/// ONNX Runtime and torch differ in the last float bits: a word whose probability lies
/// this close to its window's threshold may fall either way.
const TIE: f64 = 1e-4;

fn check_parity(family: &str) {
    let goldens = goldens();
    let cases: Vec<&Case> = goldens.cases.iter().filter(|c| c.model == family).collect();
    assert!(cases.len() >= 10, "{family}: {} cases", cases.len());
    let m = model(family);
    let (mut words_total, mut ties) = (0, 0);
    for case in cases {
        let contexts: Vec<&str> = case.context.iter().map(String::as_str).collect();
        let out = reference::compress(&m, &contexts, &case.params.reference())
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let name = &case.name;
        assert_eq!(
            out.origin_tokens, case.origin_tokens,
            "{name}: origin tokens"
        );
        if let Some(want) = &case.context_probs {
            assert_eq!(out.context_probs.len(), want.len(), "{name}");
            for (a, b) in out.context_probs.iter().zip(want) {
                assert!((a - b).abs() < 1e-4, "{name}: context prob {a} vs {b}");
            }
        }
        assert_eq!(out.chunks.len(), case.chunks.len(), "{name}: windows");
        let mut tied_here = 0;
        for (k, (got, want)) in out.chunks.iter().zip(&case.chunks).enumerate() {
            assert_eq!(got.text, want.text, "{name} window {k}: text");
            assert_eq!(got.words, want.words, "{name} window {k}: words");
            for (i, (p, q)) in got.word_probs.iter().zip(&want.word_probs).enumerate() {
                assert!(
                    (p - q).abs() < 1e-4,
                    "{name} window {k} word {i}: p {p} vs {q}"
                );
            }
            assert_eq!(
                got.weighted, want.n_threshold_values,
                "{name} window {k}: weights"
            );
            assert!(
                (got.threshold - want.threshold).abs() < 1e-4,
                "{name} window {k}: threshold {} vs {}",
                got.threshold,
                want.threshold
            );
            for (i, (g, w)) in got.labels.iter().zip(&want.labels).enumerate() {
                let q = want.word_probs[i];
                words_total += 1;
                if g != w {
                    let margin = (f64::from(q) - want.threshold).abs();
                    assert!(
                        margin < TIE,
                        "{name} window {k}: word {i} {:?} label {g} vs {w} (p {q}, threshold {})",
                        want.words[i],
                        want.threshold
                    );
                    tied_here += 1;
                }
            }
        }
        ties += tied_here;
        assert_eq!(out.words, case.words, "{name}: words");
        if tied_here == 0 {
            assert_eq!(out.labels, case.labels, "{name}: labels");
            assert_eq!(
                out.compressed_prompt, case.compressed_prompt,
                "{name}: output"
            );
            assert_eq!(out.compressed_tokens, case.compressed_tokens, "{name}");
        }
    }
    eprintln!("{family}: {words_total} words, {ties} decided differently at a tie");
    assert!(
        ties * 1000 <= words_total,
        "{family}: {ties} ties of {words_total}"
    );
}

#[test]
fn reference_mode_matches_llmlingua_on_bert_wordpiece() {
    check_parity("bert");
}

#[test]
fn reference_mode_matches_llmlingua_on_xlmr_sentencepiece() {
    check_parity("xlmr");
}

// ---- pith's own mode ------------------------------------------------------------------

/// Essays from the evaluation data, joined: real English prose with paragraphs.
fn essays(min_chars: usize) -> String {
    let dir = crate::prereq::shared("eval/niah");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("../shared/eval/niah")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    let mut text = String::new();
    for f in files {
        text.push_str(&std::fs::read_to_string(f).expect("essay"));
        text.push_str("\n\n");
        if text.len() >= min_chars {
            break;
        }
    }
    text
}

/// A prefix of `text` cut at a char boundary near `n` bytes, ending on a newline.
fn cut(text: &str, n: usize) -> &str {
    let mut end = n.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    match text[..end].rfind('\n') {
        Some(i) if i > end / 2 => &text[..=i],
        _ => &text[..end],
    }
}

fn no_space(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

#[test]
fn pith_mode_cuts_from_the_original_text() {
    let o200k = Tiktoken::default();
    let all = essays(20_000);
    let text = cut(&all, 12_000);
    for family in ["bert", "xlmr"] {
        let p = pruner(family);
        // Rate 1 changes nothing, byte for byte.
        let all = p.prune(text, Target::Rate(1.0), &o200k).expect("prunes");
        let at = all.text.bytes().zip(text.bytes()).position(|(a, b)| a != b);
        assert_eq!(
            all.text,
            text,
            "{family}: first difference at byte {at:?}: {:?} vs {:?}",
            at.map(|i| &all.text[i.saturating_sub(20)..(i + 20).min(all.text.len())]),
            at.map(|i| &text[i.saturating_sub(20)..(i + 20).min(text.len())])
        );
        let scored = p.score(&[text]).expect("scores").remove(0);
        let words: Vec<&str> = scored.word_probs().map(|(w, _)| w).collect();
        for rate in [0.2, 0.5, 0.8] {
            let out = scored.select(Target::Rate(rate), &o200k).expect("selects");
            // Nothing invented, nothing reordered: without whitespace, the output is
            // exactly the kept words in order.
            let kept: String = words
                .iter()
                .zip(&out.kept)
                .filter(|(_, k)| **k)
                .map(|(w, _)| no_space(w))
                .collect();
            assert_eq!(no_space(&out.text), kept, "{family} rate {rate}");
            // Paragraph breaks survive (the reference joins everything with spaces).
            let paragraphs = |s: &str| s.matches("\n\n").count();
            assert!(
                paragraphs(&out.text) * 2 >= paragraphs(text),
                "{family} rate {rate}: {} of {} paragraph breaks",
                paragraphs(&out.text),
                paragraphs(text)
            );
        }
    }
    // The reference mode on the same text loses the newlines.
    let r = reference::compress(&model("bert"), &[text], &ReferenceParams::default())
        .expect("reference runs");
    assert!(!r.compressed_prompt.contains("\n\n"));
}

#[test]
fn achieved_rate_meets_the_target_within_one_percent() {
    let o200k = Tiktoken::default();
    let all = essays(60_000);
    for family in ["bert", "xlmr"] {
        let p = pruner(family);
        for (size, rates) in [
            (6_000, [0.25, 0.5]),
            (20_000, [0.33, 0.7]),
            (50_000, [0.2, 0.6]),
        ] {
            let text = cut(&all, size);
            let scored = p.score(&[text]).expect("scores").remove(0);
            for rate in rates {
                let out = scored.select(Target::Rate(rate), &o200k).expect("selects");
                assert!(out.tokens_before > 1_000, "input over 1k tokens");
                let achieved = out.tokens_after as f64 / out.tokens_before as f64;
                assert!(
                    (achieved - rate).abs() <= 0.01,
                    "{family}, {} tokens: rate {rate} achieved {achieved:.4}",
                    out.tokens_before
                );
            }
        }
    }
}

#[test]
fn small_inputs_are_still_compressed() {
    let o200k = Tiktoken::default();
    let p = pruner("bert");
    for text in [
        "The quick brown fox jumps over the lazy dog while the farmer watches from the porch.",
        "Please summarise the attached quarterly report and list the three largest risks.",
    ] {
        let out = p.prune(text, Target::Rate(0.5), &o200k).expect("prunes");
        let achieved = out.tokens_after as f64 / out.tokens_before as f64;
        assert!(
            (0.3..=0.7).contains(&achieved),
            "{text:?}: {achieved} ({:?})",
            out.text
        );
    }
}

#[test]
fn protected_patterns_are_kept_or_dropped_whole() {
    let o200k = Tiktoken::default();
    let protected = [
        "get_user_by_id",
        "parseHttpHeaders",
        "https://example.org/docs/v2/index.html?lang=en",
        "jane.doe@example.com",
        "src/lingua/prune.rs",
        "3.14159",
        "2024-01-05",
        "1,250,000",
        "`cargo test --release`",
    ];
    let all = essays(4_000);
    let prose = cut(&all, 3_000);
    let mut text = String::new();
    for (i, p) in protected.iter().enumerate() {
        text.push_str(&format!(
            "In step {} we rely on {p} to finish the work. ",
            [
                "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"
            ][i]
        ));
    }
    text.push_str(prose);
    let (mut whole, mut gone) = (0, 0);
    for family in ["bert", "xlmr"] {
        let scored = pruner(family).score(&[&text]).expect("scores").remove(0);
        for rate in [0.1, 0.3, 0.5, 0.7, 0.9] {
            let out = scored.select(Target::Rate(rate), &o200k).expect("selects");
            for p in protected {
                // Pieces of the pattern that occur nowhere else in the text.
                let pieces: Vec<&str> = p
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|s| s.len() >= 3 && text.matches(*s).count() == 1)
                    .collect();
                if out.text.contains(p) {
                    whole += 1;
                } else {
                    let left: Vec<&&str> =
                        pieces.iter().filter(|s| out.text.contains(**s)).collect();
                    assert!(
                        left.is_empty(),
                        "{family} rate {rate}: {p} split, {left:?} kept"
                    );
                    gone += 1;
                }
            }
        }
    }
    // Both outcomes happened, so the check above had something to check.
    assert!(whole > 0 && gone > 0, "kept {whole}, dropped {gone}");
}

#[test]
fn markers_set_a_parts_rate_or_keep_it_verbatim() {
    let o200k = Tiktoken::default();
    let all = essays(40_000);
    let a = cut(&all, 6_000);
    let b = cut(&all[8_000..], 6_000);
    let c = "Never touch this sentence, it is a contract term: 30 days notice.";
    let text =
        format!("{a}\nSTARTB <pith rate=0.9>{b}</pith> ENDB\n<pith compress=false>{c}</pith>\n");
    let options = PruneOptions {
        force_tokens: vec!["STARTB".into(), "ENDB".into()],
        ..PruneOptions::default()
    };
    for family in ["bert", "xlmr"] {
        let p = TokenPruner::new(model(family), options.clone()).expect("options");
        let out = p.prune(&text, Target::Rate(0.3), &o200k).expect("prunes");
        assert!(!out.text.contains("<pith") && !out.text.contains("</pith>"));
        assert!(
            out.text.contains(c),
            "{family}: the compress=false part is verbatim"
        );
        let (start, end) = (
            out.text.find("STARTB").expect("forced") + 6,
            out.text.find("ENDB").expect("forced"),
        );
        let b_rate = o200k.count(&out.text[start..end]) as f64 / o200k.count(b) as f64;
        let a_rate = o200k.count(&out.text[..start]) as f64 / o200k.count(a) as f64;
        assert!(
            (b_rate - 0.9).abs() < 0.05,
            "{family}: marked part kept {b_rate}"
        );
        assert!(
            (a_rate - 0.3).abs() < 0.05,
            "{family}: the rest kept {a_rate}"
        );
    }
    // Markers that cannot be read are errors, not silently ignored.
    let p = pruner("bert");
    for bad in ["<pith rate=1.5>x</pith>", "<pith mode=fast>x</pith>"] {
        assert!(p.prune(bad, Target::Rate(0.5), &o200k).is_err(), "{bad}");
    }
}

#[test]
fn json_inside_text_stays_valid_json() {
    let o200k = Tiktoken::default();
    let all = essays(3_000);
    let prose = cut(&all, 1_500);
    let sentences: Vec<&str> = prose.split(". ").filter(|s| s.len() > 20).collect();
    let value = serde_json::json!({
        "title": sentences[0],
        "tags": ["alpha release", sentences[1], "x\ny \"quoted\" \\ path"],
        "count": 42,
        "nested": {"summary": sentences[2], "ok": true, "none": null, "ratio": 0.25},
        "items": [{"id": 1, "note": sentences[3]}, {"id": 2, "note": sentences[4]}]
    });
    for pretty in [true, false] {
        let json = if pretty {
            serde_json::to_string_pretty(&value).expect("serialises")
        } else {
            serde_json::to_string(&value).expect("serialises")
        };
        let text = format!("Here is the record:\n{json}\nPlease check it.\n");
        for family in ["bert", "xlmr"] {
            for rate in [0.2, 0.5] {
                let out = pruner(family)
                    .prune(&text, Target::Rate(rate), &o200k)
                    .expect("prunes");
                let start = out.text.find('{').expect("the object is kept");
                let end = out.text.rfind('}').expect("the object is kept") + 1;
                let got: serde_json::Value = serde_json::from_str(&out.text[start..end])
                    .unwrap_or_else(|e| panic!("{family} {rate}: {e}\n{}", out.text));
                same_shape(&value, &got);
                assert!(out.tokens_after < out.tokens_before);
            }
        }
    }
}

/// Same keys, numbers, booleans and nulls; strings may only have lost words.
fn same_shape(want: &serde_json::Value, got: &serde_json::Value) {
    use serde_json::Value;
    match (want, got) {
        (Value::Object(a), Value::Object(b)) => {
            assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
            for (k, v) in a {
                same_shape(v, &b[k]);
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            assert_eq!(a.len(), b.len());
            a.iter().zip(b).for_each(|(x, y)| same_shape(x, y));
        }
        (Value::String(a), Value::String(b)) => assert!(b.len() <= a.len(), "{b:?} from {a:?}"),
        (a, b) => assert_eq!(a, b),
    }
}

// ---- the budget promise ---------------------------------------------------------------

mod budget {
    use super::*;
    use proptest::prelude::*;

    /// Text made of real sentences with random line structure, JSON and identifiers.
    fn text_strategy() -> impl Strategy<Value = String> {
        let all = essays(30_000);
        let sentences: Vec<String> = all
            .split_inclusive(". ")
            .map(str::to_owned)
            .filter(|s| !s.trim().is_empty())
            .collect();
        let extras = [
            "\n\n",
            "\n    ",
            " get_user_by_id(42) ",
            " https://example.org/a/b?c=1 ",
            "\n{\"key\": \"a value with words\", \"n\": [1, 2]}\n",
            " <pith rate=0.8>kept mostly here</pith> ",
            " <pith compress=false>verbatim</pith> ",
            " `inline code` ",
        ];
        let n = sentences.len();
        prop::collection::vec((0..n, 0..extras.len() * 3), 1..60).prop_map(move |picks| {
            let mut s = String::new();
            for (i, e) in picks {
                s.push_str(&sentences[i]);
                if let Some(x) = extras.get(e) {
                    s.push_str(x);
                }
            }
            s
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Target::Tokens never exceeds the budget, for either family; when it cannot
        /// be met (what must be kept is larger) that is an error, never a longer text.
        #[test]
        fn pruning_to_a_budget_never_exceeds_it(
            text in text_strategy(),
            share in 0.02f64..1.2,
            xlmr in any::<bool>(),
        ) {
            let o200k = Tiktoken::default();
            let p = pruner(if xlmr { "xlmr" } else { "bert" });
            let before = o200k.count(&text);
            let budget = ((before as f64) * share) as usize;
            match p.prune(&text, Target::Tokens(budget), &o200k) {
                Ok(out) => {
                    prop_assert!(out.tokens_after <= budget, "{} > {budget}", out.tokens_after);
                    prop_assert_eq!(out.tokens_after, o200k.count(&out.text));
                }
                Err(pith::lingua::LinguaError::BudgetTooSmall { minimum, .. }) => {
                    prop_assert!(minimum > budget);
                }
                Err(e) => prop_assert!(false, "{e}"),
            }
        }

        /// Through the compressor (coarse selection, then pruning), with a query.
        #[test]
        fn the_compressor_with_a_pruner_keeps_the_budget(
            text in text_strategy(),
            share in 0.05f64..1.0,
        ) {
            let compressor = pith::Compressor::builder()
                .preset(prune_preset())
                .pruner(Arc::new(pruner("bert")))
                .try_build()
                .expect("builds");
            let before = Tiktoken::default().count(&text);
            let budget = ((before as f64) * share) as usize;
            let input = pith::Input::documents(vec![pith::Document::new(
                text,
                pith::DocKind::Prose,
            )])
            .query("what did the founders learn about growth?");
            if let Ok(out) = compressor.compress(input, budget) {
                prop_assert!(out.tokens_after <= budget);
            }
        }
    }
}

/// The `rag` preset with a `[prune]` section (the model comes from the builder).
fn prune_preset() -> pith::Preset {
    let mut p = pith::Preset::named("rag").expect("built in");
    p.prune = Some(pith::preset::PruneConfig {
        rate: 0.5,
        ..Default::default()
    });
    p
}

#[test]
fn the_pipeline_prunes_words_inside_kept_sentences() {
    let all = essays(40_000);
    let text = cut(&all, 30_000);
    let query = "what did the founders learn about growth?".to_owned();
    let doc = || {
        pith::Input::documents(vec![pith::Document::new(text, pith::DocKind::Prose)])
            .query(query.clone())
    };
    let budget = Tiktoken::default().count(text) / 4;
    let whole = pith::Compressor::builder()
        .preset(pith::Preset::named("rag").expect("built in"))
        .build()
        .compress(doc(), budget)
        .expect("compresses");
    let pruned = pith::Compressor::builder()
        .preset(prune_preset())
        .pruner(Arc::new(pruner("bert")))
        .try_build()
        .expect("builds")
        .compress(doc(), budget)
        .expect("compresses");
    assert!(
        pruned.tokens_after <= budget && pruned.warnings.is_empty(),
        "{:?}",
        pruned.warnings
    );
    // Whole-unit selection keeps sentences verbatim; pruning keeps more of them, cut.
    let sentences = |s: &str| s.matches(". ").count() + s.matches(".\n").count();
    assert!(
        pruned.tokens_after as f64 >= 0.9 * whole.tokens_after as f64,
        "pruning uses the budget: {} vs {}",
        pruned.tokens_after,
        whole.tokens_after
    );
    assert!(
        sentences(&pruned.text) > sentences(&whole.text),
        "more sentences survive, shortened: {} vs {}",
        sentences(&pruned.text),
        sentences(&whole.text)
    );
    assert!(!text.contains(pruned.text.trim()));
}

#[test]
fn a_missing_model_is_a_clear_error_or_a_warned_fallback() {
    let mut preset = prune_preset();
    if let Some(p) = preset.prune.as_mut() {
        p.model = Some(root("tests/fixtures/lingua/no-such-model"));
    }
    let err = pith::Compressor::builder()
        .preset(preset.clone())
        .models(pith::models::ModelStore::discover())
        .try_build()
        .expect_err("no model there");
    assert!(err.to_string().contains("model.onnx"), "{err}");
    let c = pith::Compressor::builder()
        .preset(preset)
        .models(pith::models::ModelStore::discover())
        .build();
    let text = cut(&essays(10_000), 8_000).to_owned();
    let out = c
        .compress(
            pith::Input::text(text.clone()),
            Tiktoken::default().count(&text) / 3,
        )
        .expect("falls back to whole units");
    assert!(
        out.warnings
            .iter()
            .any(|w| w.to_string().contains("model.onnx")),
        "{:?}",
        out.warnings
    );
}

// ---- CLI and proxy --------------------------------------------------------------------

fn pith_cli(args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pith"))
        .env("PITH_NO_CACHE", "1")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs pith");
    // A usage error exits before reading: a broken pipe is then expected.
    let _ = child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes());
    child.wait_with_output().expect("finishes")
}

#[test]
fn cli_prunes_with_a_model_folder() {
    let all = essays(10_000);
    let text = cut(&all, 6_000);
    let bert = root("tests/fixtures/lingua/bert");
    let bert = bert.to_str().expect("utf-8 path");
    let o200k = Tiktoken::default();
    for extra in [&[][..], &["--reference"][..]] {
        let mut args = vec!["compress", "--model", bert, "--rate", "0.4"];
        args.extend_from_slice(extra);
        let out = pith_cli(&args, text);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got = String::from_utf8(out.stdout).expect("utf-8");
        let rate = o200k.count(&got) as f64 / o200k.count(text) as f64;
        assert!(rate < 0.6, "{extra:?}: {rate}");
    }
    // With a budget: coarse selection, then pruning, within the budget.
    let out = pith_cli(
        &[
            "compress", "--model", bert, "--budget", "300", "-q", "growth",
        ],
        text,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(o200k.count(&String::from_utf8(out.stdout).expect("utf-8")) <= 300);
    // Mistakes: one line on stderr, a non-zero exit.
    for (args, says) in [
        (
            vec!["compress", "--model", "/nonexistent", "--rate", "0.5"],
            "model.onnx",
        ),
        (vec!["compress", "--model", bert, "--rate", "1.5"], "--rate"),
        (vec!["compress", "--rate", "0.5", "--reference"], "--model"),
    ] {
        let out = pith_cli(&args, "some text");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(says),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn the_proxy_prunes_tool_results_with_prune_model() {
    use pith::proxy::engine::{Control, Engine, EngineConfig};
    use pith::proxy::policy::Api;
    let tool_output = cut(&essays(20_000), 12_000).to_owned();
    let body = serde_json::to_vec(&serde_json::json!({
        "model": "gpt-4.1",
        "messages": [
            {"role": "user", "content": "What does the essay say about growth?"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "fetch_page", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": tool_output},
            {"role": "user", "content": "Summarise it."}
        ]
    }))
    .expect("serialises");
    let rewrite = |prune_model: Option<PathBuf>| {
        let config = EngineConfig {
            prune_model,
            ..EngineConfig::default()
        };
        Engine::new(config, Arc::new(Tiktoken::default()))
            .rewrite(Api::ChatCompletions, &body, &Control::default())
            .expect("rewrites")
            .expect("the tool result is compressed")
    };
    let plain = rewrite(None);
    let pruned = rewrite(Some(root("tests/fixtures/lingua/bert")));
    assert!(pruned.tokens_after * 2 <= pruned.tokens_before + 1);
    assert_ne!(plain.body, pruned.body, "pruning changed what was kept");
    let v: serde_json::Value = serde_json::from_slice(&pruned.body).expect("valid JSON");
    assert!(
        v["messages"][2]["content"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );
}
