//! Surprisal pruning (Selective Context / LLMLingua-1) with the installed causal LM: the
//! default token pruner when no LLMLingua-2 classifier is configured. The same cut as the
//! classifier's (tests/neural/lingua.rs), so the same promises: the rate is met, a budget is
//! never exceeded, whitespace survives, protected patterns and markers are honoured;
//! and what the LM finds predictable goes first.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use pith::lingua::{LinguaError, PruneOptions, Scorer, Target, TokenPruner, WordProb};
use pith::lm::{CausalLm, DEFAULT_LM, LmConfig, shared_lm};
use pith::models::ModelStore;
use pith::{Tiktoken, TokenCounter};

fn root(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The installed causal LM (scripts/setup installs it), as the compressor loads it.
fn lm() -> Arc<CausalLm> {
    static LM: OnceLock<Arc<CausalLm>> = OnceLock::new();
    LM.get_or_init(|| {
        shared_lm(&crate::prereq::models(), DEFAULT_LM)
            .expect("the causal LM is installed (scripts/setup runs `pith models install smollm2`)")
    })
    .clone()
}

fn pruner() -> TokenPruner {
    TokenPruner::surprisal(lm(), PruneOptions::default()).expect("default options")
}

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
fn rate_targets_are_met_and_only_kept_words_appear() {
    let o200k = Tiktoken::default();
    let all = essays(30_000);
    let p = pruner();
    // Both over the LM's window (1023 tokens): scored in windows.
    for size in [6_000, 20_000] {
        let text = cut(&all, size);
        let scored = p.score(&[text]).expect("scores").remove(0);
        let words: Vec<&str> = scored.word_probs().map(|(w, _)| w).collect();
        let full = scored.select(Target::Rate(1.0), &o200k).expect("selects");
        assert_eq!(full.text, text, "rate 1 changes nothing");
        for rate in [0.25, 0.5, 0.7] {
            let out = scored.select(Target::Rate(rate), &o200k).expect("selects");
            assert!(out.tokens_before > 1_000);
            let achieved = out.tokens_after as f64 / out.tokens_before as f64;
            assert!(
                (achieved - rate).abs() <= 0.01,
                "{} tokens: rate {rate} achieved {achieved:.4}",
                out.tokens_before
            );
            let kept: String = words
                .iter()
                .zip(&out.kept)
                .filter(|(_, k)| **k)
                .map(|(w, _)| no_space(w))
                .collect();
            assert_eq!(no_space(&out.text), kept, "rate {rate}: nothing invented");
        }
    }
}

/// Function words of English: what a language model predicts best.
const FILLER: [&str; 20] = [
    "the", "a", "an", "of", "to", "in", "and", "is", "was", "that", "it", "for", "on", "with",
    "as", "at", "by", "be", "this", "from",
];

#[test]
fn predictable_words_go_before_surprising_ones() {
    let o200k = Tiktoken::default();
    let p = pruner();
    // A clear case: the sentence's filler words go, its rare content stays.
    let text = "After the long meeting, the committee finally decided to send the \
                archaeologist to Kyrgyzstan with a hydrophone and two axolotls.";
    let out = p.prune(text, Target::Rate(0.5), &o200k).expect("prunes");
    for rare in ["Kyrgyzstan", "hydrophone", "axolotls"] {
        assert!(out.text.contains(rare), "{rare} dropped: {:?}", out.text);
    }
    let words = |s: &str| -> Vec<String> {
        s.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    let filler_in = |s: &str| {
        words(s)
            .iter()
            .filter(|w| FILLER.contains(&w.as_str()))
            .count()
    };
    assert!(
        filler_in(&out.text) * 3 <= filler_in(text),
        "most filler words go first: {:?}",
        out.text
    );
    // On real prose: filler words are dropped far more often than the rest.
    let essays = essays(8_000);
    let essay = cut(&essays, 6_000);
    let scored = p.score(&[essay]).expect("scores").remove(0);
    let out = scored.select(Target::Rate(0.5), &o200k).expect("selects");
    let (mut filler, mut other) = ((0, 0), (0, 0));
    for ((w, _), &k) in scored.word_probs().zip(&out.kept) {
        if !w.chars().any(char::is_alphabetic) {
            continue;
        }
        let bucket = if FILLER.contains(&w.to_lowercase().as_str()) {
            &mut filler
        } else {
            &mut other
        };
        bucket.0 += usize::from(k);
        bucket.1 += 1;
    }
    let share = |(k, n): (usize, usize)| k as f64 / n.max(1) as f64;
    assert!(
        share(filler) + 0.2 < share(other),
        "filler kept {:.2}, other words kept {:.2}",
        share(filler),
        share(other)
    );
}

#[test]
fn word_scores_follow_the_rule() {
    // Multi-token words: the rules differ, and each still orders by surprisal.
    let text = "Photosynthesis in chloroplasts converts sunlight into chemical energy.";
    let scores = |rule| -> Vec<(String, f32)> {
        let p = TokenPruner::surprisal(
            lm(),
            PruneOptions {
                word_prob: Some(rule),
                ..PruneOptions::default()
            },
        )
        .expect("options");
        p.score(&[text])
            .expect("scores")
            .remove(0)
            .word_probs()
            .map(|(w, s)| (w.to_owned(), s))
            .collect()
    };
    let (mean, first, sum) = (
        scores(WordProb::Mean),
        scores(WordProb::First),
        scores(WordProb::Sum),
    );
    assert_eq!(mean.len(), sum.len());
    for ((m, f), s) in mean.iter().zip(&first).zip(&sum) {
        assert!((0.0..1.0).contains(&m.1) && (0.0..1.0).contains(&f.1));
        // A word's whole self-information is at least its mean per token.
        assert!(s.1 >= m.1 - 1e-6, "{}: sum {} < mean {}", m.0, s.1, m.1);
    }
    assert!(
        mean.iter().zip(&sum).any(|(m, s)| s.1 > m.1 + 1e-3),
        "some word is more than one token"
    );
    // Without a rule, surprisal adds up a word's pieces.
    let default = TokenPruner::surprisal(lm(), PruneOptions::default())
        .expect("options")
        .score(&[text])
        .expect("scores")
        .remove(0)
        .word_probs()
        .map(|(w, s)| (w.to_owned(), s))
        .collect::<Vec<_>>();
    assert_eq!(default, sum);
    // A classifier's probabilities do not add up: `sum` is refused there.
    let store = crate::prereq::models();
    let classifier = pith::lingua::shared_classifier(&store, &root("tests/fixtures/lingua/bert"))
        .expect("fixture");
    let refused = TokenPruner::new(
        classifier,
        PruneOptions {
            word_prob: Some(WordProb::Sum),
            ..PruneOptions::default()
        },
    );
    assert!(matches!(refused, Err(LinguaError::Unsupported(_))));
}

#[test]
fn whitespace_and_indentation_are_kept() {
    let o200k = Tiktoken::default();
    let text = "Release notes\n\n\
        The new scheduler replaces the old round-robin queue with a priority heap.\n\
        \x20   Jobs that wait too long are promoted so that nothing starves forever.\n\
        \x20   Workers now report their load every few seconds to the coordinator.\n\n\
        Known problems\n\n\
        \x20       Restarting a worker while it holds a lease can still lose one job.\n\
        \x20       The dashboard shows stale numbers until the page is refreshed.\n";
    let p = pruner();
    let indents = |s: &str| -> std::collections::BTreeSet<String> {
        s.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l[..l.len() - l.trim_start().len()].to_owned())
            .collect()
    };
    for rate in [0.4, 0.6] {
        let out = p.prune(text, Target::Rate(rate), &o200k).expect("prunes");
        assert!(out.tokens_after < out.tokens_before);
        // Every line keeps an indentation of the input, deeper ones included.
        assert!(
            indents(&out.text).is_subset(&indents(text)),
            "{:?}",
            out.text
        );
        assert!(
            out.text.lines().any(|l| l.starts_with("        ")),
            "{:?}",
            out.text
        );
        // Blank lines between paragraphs survive.
        assert!(
            out.text.matches("\n\n").count() >= 2,
            "paragraph breaks: {:?}",
            out.text
        );
    }
}

#[test]
fn protected_patterns_and_markers_are_honoured() {
    let o200k = Tiktoken::default();
    let protected = [
        "get_user_by_id",
        "https://example.org/docs/v2/index.html",
        "3.14159",
        "src/lib/parser.rs",
        "`cargo test --release`",
    ];
    let verbatim = "Never rotate the signing key during a deploy, whatever the dashboard says.";
    let text = format!(
        "The handler calls {} when the session starts, as documented at {} for the \
         current release. The constant used for the circle is {} and the parser lives in \
         {} next to the lexer. Run {} before you push anything to the main branch. \
         <pith compress=false>{verbatim}</pith> Most of the remaining paragraph is padding \
         about how the team usually works and what they like to eat for lunch on Fridays. \
         <pith rate=0.9>The on-call engineer must acknowledge every page within five minutes.</pith>",
        protected[0], protected[1], protected[2], protected[3], protected[4]
    );
    let p = pruner();
    let scored = p.score(&[&text]).expect("scores").remove(0);
    for rate in [0.2, 0.4, 0.6] {
        let out = scored.select(Target::Rate(rate), &o200k).expect("selects");
        assert!(!out.text.contains("<pith") && !out.text.contains("</pith>"));
        assert!(out.text.contains(verbatim), "{rate}: {:?}", out.text);
        for pat in protected {
            // Whole or not at all: no piece of a protected pattern survives alone.
            let head = &pat[..pat.len() / 2];
            let tail = &pat[pat.len() / 2..];
            assert_eq!(
                out.text.contains(head) || out.text.contains(tail),
                out.text.contains(pat),
                "{rate}: {pat} split in {:?}",
                out.text
            );
        }
        // The rate=0.9 part keeps more of itself than the rest does.
        let marked = "The on-call engineer must acknowledge every page within five minutes.";
        let kept = marked
            .split(' ')
            .filter(|w| out.text.contains(w.trim_end_matches('.')))
            .count();
        assert!(
            kept as f64 >= 0.7 * marked.split(' ').count() as f64,
            "{rate}: {:?}",
            out.text
        );
    }
}

#[test]
fn long_texts_are_windowed_at_sentence_ends() {
    // A small window: the second sentence run starts a window of its own, so its words
    // score exactly as they do on their own (same tokens, no context before them).
    let store = crate::prereq::models();
    let dir = store
        .locate(DEFAULT_LM)
        .expect("the causal LM is installed")
        .dir;
    let small = Arc::new(
        CausalLm::load(
            &store.runtime_library().expect("runtime"),
            &dir,
            LmConfig {
                window: 48,
                ..LmConfig::default()
            },
        )
        .expect("loads"),
    );
    let p = TokenPruner::surprisal(small.clone(), PruneOptions::default()).expect("options");
    let first = "The river rose all night and by morning the bridge was under water again. \
                 The farmers moved their animals to the hills before the roads were closed.";
    let second = " Nobody in the village could remember a flood like it in forty years, and \
                  the old mill by the ford was gone.";
    let both = format!("{first}{second}");
    assert!(small.tokenize(&both).expect("tokens").ids.len() > small.window());
    let scores = |t: &str| -> Vec<(String, f32)> {
        p.score(&[t])
            .expect("scores")
            .remove(0)
            .word_probs()
            .map(|(w, s)| (w.to_owned(), s))
            .collect()
    };
    let (whole, alone) = (scores(&both), scores(second));
    let tail = &whole[whole.len() - alone.len()..];
    for ((w, a), (v, b)) in tail.iter().zip(&alone) {
        assert_eq!(w, v);
        assert!((a - b).abs() < 1e-4, "{w}: {a} in the long text, {b} alone");
    }
    // Every word of the long text has a score.
    assert!(whole.iter().all(|(_, s)| *s > 0.0));
}

mod budget {
    use super::*;
    use proptest::prelude::*;

    /// Real sentences with random line structure, JSON, identifiers and markers.
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
        prop::collection::vec((0..n, 0..extras.len() * 3), 1..30).prop_map(move |picks| {
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
        // The LM scores ~500 tokens a second on two cores: few cases.
        #![proptest_config(ProptestConfig::with_cases(12))]

        /// Target::Tokens never exceeds the budget; when what must be kept does not
        /// fit, that is an error, never a longer text.
        #[test]
        fn pruning_to_a_budget_never_exceeds_it(
            text in text_strategy(),
            share in 0.02f64..1.2,
        ) {
            let o200k = Tiktoken::default();
            let before = o200k.count(&text);
            let budget = ((before as f64) * share) as usize;
            match pruner().prune(&text, Target::Tokens(budget), &o200k) {
                Ok(out) => {
                    prop_assert!(out.tokens_after <= budget, "{} > {budget}", out.tokens_after);
                    prop_assert_eq!(out.tokens_after, o200k.count(&out.text));
                }
                Err(LinguaError::BudgetTooSmall { minimum, .. }) => {
                    prop_assert!(minimum > budget);
                }
                Err(e) => prop_assert!(false, "{e}"),
            }
        }
    }
}

// ---- the default pruner: compressor, CLI, proxy -----------------------------------------

fn no_classifier_configured() -> bool {
    // The tests check the default; a classifier in the environment would replace it.
    let set = std::env::var_os("PITH_PRUNE_MODEL").is_some();
    if set {
        eprintln!("skipped: PITH_PRUNE_MODEL is set, so the classifier is the pruner");
    }
    !set
}

#[test]
fn a_prune_preset_without_a_classifier_prunes_by_surprisal() {
    if !no_classifier_configured() {
        return;
    }
    let text = cut(&essays(20_000), 12_000).to_owned();
    let doc = || {
        pith::Input::documents(vec![pith::Document::new(
            text.clone(),
            pith::DocKind::Prose,
        )])
        .query("what did the founders learn about growth?")
    };
    let budget = Tiktoken::default().count(&text) / 4;
    let preset = pith::Preset::named("rag-prune").expect("built in");
    assert!(preset.prune.as_ref().is_some_and(|p| p.model.is_none()));
    let pruned = pith::Compressor::builder()
        .preset(preset)
        .models(pith::models::ModelStore::discover())
        .try_build()
        .expect("the installed LM is the pruner")
        .compress(doc(), budget)
        .expect("compresses");
    let whole = pith::Compressor::builder()
        .preset(pith::Preset::named("rag").expect("built in"))
        .build()
        .compress(doc(), budget)
        .expect("compresses");
    assert!(pruned.tokens_after <= budget);
    assert!(pruned.warnings.is_empty(), "{:?}", pruned.warnings);
    // Whole-unit selection keeps sentences verbatim; pruning drops their filler, so the
    // same budget carries more of the text's distinct long words.
    let long_words = |s: &str| -> std::collections::HashSet<String> {
        s.split(|c: char| !c.is_alphabetic())
            .filter(|w| w.chars().count() >= 7)
            .map(str::to_lowercase)
            .collect()
    };
    assert!(!text.contains(pruned.text.trim()), "words were dropped");
    assert!(
        long_words(&pruned.text).len() > long_words(&whole.text).len(),
        "{} vs {}",
        long_words(&pruned.text).len(),
        long_words(&whole.text).len()
    );
    // The same through the library's own pruner, given explicitly.
    let preset = pith::Preset::named("rag-prune").expect("built in");
    let options = pith::lingua::PruneOptions::from_config(preset.prune.as_ref().expect("[prune]"));
    let given = pith::Compressor::builder()
        .preset(preset)
        .pruner(Arc::new(
            TokenPruner::surprisal(lm(), options).expect("options"),
        ))
        .try_build()
        .expect("builds")
        .compress(doc(), budget)
        .expect("compresses");
    assert_eq!(given.text, pruned.text);
}

#[test]
fn without_any_model_the_error_names_the_install_command() {
    let empty = tempfile::tempdir().expect("temp dir");
    let store = ModelStore::at(empty.path());
    let mut preset = pith::Preset::named("rag-prune").expect("built in");
    if let Some(p) = preset.prune.as_mut() {
        p.model = None;
    }
    if !no_classifier_configured() {
        return;
    }
    let err = pith::Compressor::builder()
        .preset(preset)
        .models(store.clone())
        .try_build()
        .expect_err("no model in an empty store");
    assert!(
        err.to_string().contains("pith models install smollm2"),
        "{err}"
    );
    // The CLI: one line on stderr, a non-zero exit.
    let out = pith_cli(
        &["compress", "--rate", "0.5"],
        "some text to prune",
        Some(empty.path()),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("pith models install smollm2"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}

fn pith_cli(args: &[&str], stdin: &str, models: Option<&std::path::Path>) -> std::process::Output {
    use std::io::Write;
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_pith"));
    // Neither read nor fill the user's vector cache.
    cmd.env("PITH_NO_CACHE", "1");
    cmd.args(args)
        .env_remove("PITH_PRUNE_MODEL")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if let Some(dir) = models {
        cmd.env("PITH_MODELS_DIR", dir);
    }
    let mut child = cmd.spawn().expect("runs pith");
    // A usage error exits before reading: a broken pipe is then expected.
    let _ = child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes());
    child.wait_with_output().expect("finishes")
}

#[test]
fn cli_prunes_by_surprisal_without_a_model() {
    let essays = essays(10_000);
    let text = cut(&essays, 6_000);
    let o200k = Tiktoken::default();
    let out = pith_cli(&["compress", "--rate", "0.5", "--stats"], text, None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let got = String::from_utf8(out.stdout).expect("utf-8");
    let rate = o200k.count(&got) as f64 / o200k.count(text) as f64;
    assert!((rate - 0.5).abs() <= 0.02, "rate {rate}");
    assert!(
        stderr.contains("causal LM"),
        "the stats name the model: {stderr}"
    );
    // A budget with the pruning preset: coarse selection, then surprisal pruning.
    let out = pith_cli(
        &[
            "compress",
            "--preset",
            "rag-prune",
            "--budget",
            "300",
            "-q",
            "growth",
        ],
        text,
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(o200k.count(&String::from_utf8(out.stdout).expect("utf-8")) <= 300);
    // --reference is llmlingua's algorithm: it needs a classifier, and says so.
    let out = pith_cli(&["compress", "--rate", "0.5", "--reference"], text, None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--model"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}

#[test]
fn the_proxy_prunes_with_the_lm_when_its_preset_prunes() {
    use pith::proxy::engine::{Control, Engine, EngineConfig};
    use pith::proxy::policy::Api;
    if !no_classifier_configured() {
        return;
    }
    let tool_output = cut(&essays(10_000), 6_000).to_owned();
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
    let rewrite = |prose_preset: &str| {
        let config = EngineConfig {
            prose_preset: prose_preset.into(),
            ..EngineConfig::default()
        };
        Engine::new(config, Arc::new(Tiktoken::default()))
            .rewrite(Api::ChatCompletions, &body, &Control::default())
            .expect("rewrites")
            .expect("the tool result is compressed")
    };
    let plain = rewrite("rag");
    let pruned = rewrite("rag-prune");
    assert!(pruned.tokens_after * 2 <= pruned.tokens_before + 1);
    assert_ne!(plain.body, pruned.body, "pruning changed what was kept");
    let v: serde_json::Value = serde_json::from_slice(&pruned.body).expect("valid JSON");
    let content = v["messages"][2]["content"].as_str().expect("a string");
    assert!(!content.is_empty());
}

#[test]
fn the_scorer_says_what_it_is() {
    let p = pruner();
    assert!(matches!(p.scorer(), Scorer::Surprisal(_)));
    assert!(p.scorer().describe().contains(DEFAULT_LM));
    // Nothing to score is not an error.
    let out = p
        .prune("   \n\n  ", Target::Rate(0.5), &Tiktoken::default())
        .expect("prunes");
    assert_eq!(out.words, 0);
}

/// Scores from elsewhere: the tokenizer's own spans are taken and cut like the model's;
/// spans that are out of range, off a char boundary or out of order are an error.
#[test]
fn scores_from_elsewhere_are_checked_and_cut_within_budget() {
    let p = pruner();
    let text = "Ünïcode words: the capital of France is Paris, said the guide.";
    let tokens = lm().tokenize(text).expect("tokenize");
    let spans: Vec<_> = tokens.offsets.iter().map(|&(s, e)| s..e).collect();
    let values: Vec<f32> = (0..spans.len()).map(|i| (i % 5) as f32).collect();
    let scored = p
        .score_with(text, &spans, &values)
        .expect("the tokenizer's spans");
    let counter = Tiktoken::default();
    let cut = scored.select(Target::Tokens(6), &counter).expect("fits");
    assert!(cut.tokens_after <= 6 && cut.tokens_after == counter.count(&cut.text));
    assert!(cut.kept_words < cut.words);

    let refused = |spans: Vec<std::ops::Range<usize>>| {
        p.score_with(text, &spans, &vec![1.0; spans.len()]).is_err()
    };
    assert!(refused(vec![0..1, 1..3]), "the two-byte Ü cut in two");
    assert!(refused(vec![0..2, 2..text.len() + 1]), "past the end");
    assert!(refused(vec![10..12, 2..4]), "out of order");
    assert!(
        p.score_with(text, &[0..2, 2..4], &[1.0]).is_err(),
        "two spans, one score"
    );
}
