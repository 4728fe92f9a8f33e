//! `auto` with the models installed: the neural preset while the input embeds within the
//! limit, the lexical one past it, and what the proxy reports it ran.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use pith::auto::{self, AutoPolicy, Family, Reason};
use pith::proxy::engine::{Control, Engine, EngineConfig};
use pith::proxy::policy::Api;
use pith::{Compressor, Preset, Tiktoken};

use crate::prereq;

#[test]
fn the_neural_preset_runs_while_the_input_embeds_in_time() {
    let store = prereq::models();
    let policy = AutoPolicy::default().within(Duration::from_secs(1));
    let fits = (policy.tokens_per_second * 0.9) as usize;
    let c = auto::choose(Family::Prose, fits, true, &store, &policy);
    assert_eq!(c.preset, "rag-neural", "{c}");
    assert!(c.is_neural());
    let c = auto::choose(Family::Code, fits, true, &store, &policy);
    assert_eq!(c.preset, "code-neural", "{c}");
    // Past the limit, and without a query, the lexical preset runs and says why.
    let c = auto::choose(Family::Prose, fits * 2, true, &store, &policy);
    assert_eq!(c.preset, "rag");
    assert!(matches!(c.reason, Reason::TooLarge { .. }), "{c}");
    assert!(c.to_string().contains("over 1.00 s"), "{c}");
    let c = auto::choose(Family::Prose, 10, false, &store, &policy);
    assert_eq!((c.preset, c.reason), ("rag", Reason::NoQuery));
    // code-neural embeds a shortlist, so its estimate stops growing with the input;
    // rag-neural embeds everything.
    let roomy = AutoPolicy::default().within(Duration::from_secs(60));
    let huge = 100_000_000;
    let c = auto::choose(Family::Code, huge, true, &store, &roomy);
    assert_eq!(c.preset, "code-neural", "{c}");
    let c = auto::choose(Family::Prose, huge, true, &store, &roomy);
    assert!(matches!(c.reason, Reason::TooLarge { .. }), "{c}");
    // Whatever is chosen builds with the installed models.
    for family in [Family::Prose, Family::Code] {
        let c = auto::choose(family, 10, true, &store, &policy);
        Compressor::builder()
            .preset(Preset::named(c.preset).unwrap())
            .models(store.clone())
            .try_build()
            .unwrap_or_else(|e| panic!("{}: {e}", c.preset));
    }
}

#[test]
fn the_proxy_says_which_presets_ran() {
    let _ = prereq::models();
    let engine = |within_ms: u64| {
        let config = EngineConfig {
            prose_preset: auto::AUTO.into(),
            code_preset: auto::AUTO.into(),
            neural_within: Duration::from_millis(within_ms),
            ..EngineConfig::default()
        };
        Engine::new(config, std::sync::Arc::new(Tiktoken::default()))
    };
    let prose: String = (0..40)
        .map(|i| format!("Passage {i} says the river town of Marl{i} trades in wool and salt. "))
        .collect();
    let question = "Which town trades in salt and wool first?";
    let body = serde_json::json!({
        "model": "m",
        "messages": [
            {"role": "user", "content": "Look this up."},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "search", "arguments": serde_json::json!({"query": question}).to_string()}}]},
            {"role": "tool", "tool_call_id": "c1", "content": prose},
            {"role": "user", "content": question}
        ]
    })
    .to_string();
    let control = Control::default();
    let run = |ms| {
        engine(ms)
            .rewrite(Api::ChatCompletions, body.as_bytes(), &control)
            .unwrap()
            .expect("the long message is compressed")
            .presets
    };
    assert_eq!(run(10_000), vec!["rag-neural".to_owned()]);
    // A limit no block fits: the lexical preset.
    assert_eq!(run(1), vec!["rag".to_owned()]);
}

/// The CLI's default is `auto`: with the embedder installed a small input gets the neural
/// preset, and `--neural-within` moves the line.
#[test]
fn the_cli_runs_the_neural_preset_when_it_fits() {
    let _ = prereq::models();
    let readme = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "compress",
            readme,
            "--budget",
            "300",
            "-q",
            "run the tests",
            "--stats",
        ];
        args.extend_from_slice(extra);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_pith"))
            .env("PITH_NO_CACHE", "1")
            .args(&args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(0), "{err}");
        err
    };
    let err = run(&["--neural-within", "100"]);
    assert!(
        err.contains("preset auto: rag-neural (embedding estimated at"),
        "{err}"
    );
    // What the models cost: the runtime, the int8 graph's session and its passes.
    let models = err
        .lines()
        .find(|l| l.starts_with("models: "))
        .unwrap_or("");
    assert!(
        models.starts_with("models: runtime ")
            && models.contains("; minilm+int8 ")
            && models.contains(" s forward ("),
        "{err}"
    );
    let err = run(&["--neural-within", "0.001"]);
    // A lexical run never loads the runtime, so there is no models line.
    assert!(!err.contains("models:"), "{err}");
    assert!(
        err.contains("preset auto: rag (embedding estimated at") && err.contains("over 0.00 s"),
        "{err}"
    );
}
