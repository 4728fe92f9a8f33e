//! The proxy's rewrite of real-looking requests with the real pipeline: what changes,
//! what stays byte-identical, determinism, and per-request control.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;

use pith::proxy::engine::{Control, Engine, EngineConfig};
use pith::proxy::policy::Api;
use pith::{Tiktoken, TokenCounter};
use serde_json::{Value, json};

fn essay() -> String {
    let p = crate::prereq::shared("eval/niah/founders.txt");
    std::fs::read_to_string(&p).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (the evaluation data must sit beside the repository)",
            p.display()
        )
    })
}

fn engine() -> Engine {
    Engine::new(EngineConfig::default(), Arc::new(Tiktoken::default()))
}

fn chat_body(tool_output: &str) -> Vec<u8> {
    serde_json::to_vec_pretty(&json!({
        "model": "gpt-4.1",
        "messages": [
            {"role": "system", "content": "You are terse. ".repeat(200)},
            {"role": "user", "content": "Find what the essay says about determination."},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "fetch_page", "arguments": "{\"url\": \"https://example.com/founders\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": tool_output},
            {"role": "user", "content": "Summarise the part about determination."}
        ],
        "tools": [{"type": "function", "function": {"name": "fetch_page", "parameters": {"type": "object"}}}]
    }))
    .unwrap()
}

#[test]
fn a_long_tool_result_is_compressed_and_nothing_else_changes() {
    let body = chat_body(&essay());
    let out = engine()
        .rewrite(Api::ChatCompletions, &body, &Control::default())
        .unwrap()
        .unwrap();
    assert_eq!(out.blocks, vec!["messages[3].content".to_owned()]);
    assert!(
        out.tokens_after * 2 <= out.tokens_before + 1,
        "default ratio 2: {} → {}",
        out.tokens_before,
        out.tokens_after
    );
    let before: Value = serde_json::from_slice(&body).unwrap();
    let after: Value = serde_json::from_slice(&out.body).unwrap();
    for i in [0, 1, 2, 4] {
        assert_eq!(before["messages"][i], after["messages"][i]);
    }
    assert_eq!(before["tools"], after["tools"]);
    let kept = after["messages"][3]["content"].as_str().unwrap();
    assert!(kept.len() < essay().len() && kept.contains("[…]"));
    // Byte for byte, the body is the original with that one string replaced.
    let mut expected = before.clone();
    expected["messages"][3]["content"] = Value::String(kept.to_owned());
    assert_eq!(serde_json::to_vec_pretty(&expected).unwrap(), out.body);
}

#[test]
fn the_same_request_rewrites_the_same_way() {
    let e = engine();
    let body = chat_body(&essay());
    let a = e
        .rewrite(Api::ChatCompletions, &body, &Control::default())
        .unwrap()
        .unwrap();
    let b = e
        .rewrite(Api::ChatCompletions, &body, &Control::default())
        .unwrap()
        .unwrap();
    let c = engine()
        .rewrite(Api::ChatCompletions, &body, &Control::default())
        .unwrap()
        .unwrap();
    assert_eq!(a.body, b.body);
    assert_eq!(
        a.body, c.body,
        "a fresh engine (no memo) gives the same bytes"
    );
}

#[test]
fn small_requests_bypass_and_exact_tools_are_left_alone() {
    let e = engine();
    assert!(
        e.rewrite(
            Api::ChatCompletions,
            &chat_body("short output"),
            &Control::default()
        )
        .unwrap()
        .is_none()
    );
    let body = chat_body(&essay());
    let bypass = Control {
        bypass: true,
        ..Control::default()
    };
    assert!(
        e.rewrite(Api::ChatCompletions, &body, &bypass)
            .unwrap()
            .is_none()
    );
    let read = String::from_utf8(body.clone())
        .unwrap()
        .replace("fetch_page", "read_file");
    assert!(
        e.rewrite(Api::ChatCompletions, read.as_bytes(), &Control::default())
            .unwrap()
            .is_none()
    );
    assert!(
        e.rewrite(Api::ChatCompletions, b"{not json", &Control::default())
            .is_err()
    );
    let bad = Control {
        ratio: Some(0.5),
        ..Control::default()
    };
    assert!(e.rewrite(Api::ChatCompletions, &body, &bad).is_err());
}

#[test]
fn a_total_budget_takes_the_excess_from_the_compressible_blocks() {
    let body = chat_body(&essay());
    let counter = Tiktoken::default();
    let total = counter.count(std::str::from_utf8(&body).unwrap());
    let budget = total - 600;
    let out = engine()
        .rewrite(
            Api::ChatCompletions,
            &body,
            &Control {
                budget: Some(budget),
                ..Control::default()
            },
        )
        .unwrap()
        .unwrap();
    let after = counter.count(std::str::from_utf8(&out.body).unwrap());
    assert!(
        after <= budget + 10,
        "{after} tokens for a budget of {budget}"
    );
    assert!(out.tokens_before - out.tokens_after >= 590);
    let ratio = Control {
        ratio: Some(8.0),
        ..Control::default()
    };
    let out8 = engine()
        .rewrite(Api::ChatCompletions, &body, &ratio)
        .unwrap()
        .unwrap();
    assert!(out8.tokens_after * 8 <= out8.tokens_before + 8);
}

#[test]
fn anthropic_tool_results_of_code_keep_code_shape() {
    let code = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/code/go/errors.go"),
    )
    .unwrap();
    let body = serde_json::to_vec(&json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "system": "You review Go code.",
        "messages": [
            {"role": "user", "content": "How are errors wrapped with a stack?"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "grep_repo", "input": {"pattern": "Wrap", "path": "errors.go"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": code}, {"type": "text", "text": "Explain Wrap."}]}
        ]
    }))
    .unwrap();
    let out = engine()
        .rewrite(Api::Messages, &body, &Control::default())
        .unwrap()
        .unwrap();
    let after: Value = serde_json::from_slice(&out.body).unwrap();
    let kept = after["messages"][2]["content"][0]["content"]
        .as_str()
        .unwrap();
    assert!(kept.contains("// … "), "Go elision comments: {kept}");
    assert!(kept.contains("func Wrap("), "{kept}");
    assert_eq!(after["messages"][2]["content"][1]["text"], "Explain Wrap.");
    assert_eq!(after["system"], "You review Go code.");
}

#[test]
fn marked_user_text_is_compressed_and_unmarked() {
    let marked = format!("Background: <pith>{}</pith> That is all.", essay());
    let body = serde_json::to_vec(&json!({
        "model": "gpt-4.1",
        "messages": [
            {"role": "user", "content": marked},
            {"role": "assistant", "content": "Noted."},
            {"role": "user", "content": "What matters most in founders?"}
        ]
    }))
    .unwrap();
    let out = engine()
        .rewrite(Api::ChatCompletions, &body, &Control::default())
        .unwrap()
        .unwrap();
    let after: Value = serde_json::from_slice(&out.body).unwrap();
    let text = after["messages"][0]["content"].as_str().unwrap();
    assert!(
        text.starts_with("Background: ") && text.ends_with(" That is all."),
        "{text}"
    );
    assert!(!text.contains("<pith>") && !text.contains("</pith>"));
    assert!(text.len() < marked.len() * 2 / 3);
}

#[test]
fn the_config_file_sets_ratio_size_threshold_and_exact_tools() {
    use pith::proxy::config::Config;
    let config = Config::from_toml("ratio = 4.0\nmin_chars = 500\nexact_tools = [\"fetch_page\"]\nencoding = \"cl100k_base\"\n").unwrap();
    config.validate().unwrap();
    // fetch_page is now exact: nothing to do.
    assert!(
        config
            .engine()
            .rewrite(
                Api::ChatCompletions,
                &chat_body(&essay()),
                &Control::default()
            )
            .unwrap()
            .is_none()
    );
    let config = Config::from_toml("ratio = 4.0\nmin_chars = 500\n").unwrap();
    let out = config
        .engine()
        .rewrite(
            Api::ChatCompletions,
            &chat_body(&essay()),
            &Control::default(),
        )
        .unwrap()
        .unwrap();
    assert!(
        out.tokens_after * 4 <= out.tokens_before + 4,
        "{} → {}",
        out.tokens_before,
        out.tokens_after
    );
    assert!(
        Config::from_toml("ratio = 0.5\n")
            .unwrap()
            .validate()
            .is_err()
    );
    assert!(
        Config::from_toml("ratio_x = 2\n").is_err(),
        "unknown keys are rejected"
    );
}

fn niah(name: &str) -> String {
    let p = crate::prereq::shared("eval/niah").join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A Chat Completions agent loop of `n` turns, one essay fetched per turn.
fn chat_loop(essays: &[String], n: usize) -> Vec<u8> {
    let mut messages = vec![
        json!({"role": "user", "content": "Compare what these essays say about determination."}),
    ];
    for (t, essay) in essays[..n].iter().enumerate() {
        let id = format!("call_{t}");
        messages.push(json!({"role": "assistant", "content": format!("Fetching essay {t}."), "tool_calls": [
            {"id": id, "type": "function", "function": {"name": "fetch_page", "arguments": format!("{{\"n\": {t}}}")}}]}));
        messages.push(json!({"role": "tool", "tool_call_id": id, "content": essay}));
    }
    serde_json::to_vec(&json!({"model": "gpt-4.1", "messages": messages})).unwrap()
}

/// With a total budget, each turn's blocks are compressed by the ratio the request needed
/// when that turn was the newest: what was forwarded once is forwarded the same way again
/// as the conversation grows, and later turns are compressed harder.
#[test]
fn a_total_budget_keeps_history_bytes_as_turns_arrive() {
    let essays: Vec<String> = ["founders.txt", "wisdom.txt", "love.txt", "gap.txt"]
        .iter()
        .map(|n| niah(n))
        .collect();
    let counter = Tiktoken::default();
    let count = |b: &[u8]| counter.count(std::str::from_utf8(b).unwrap());
    let budget = count(&chat_loop(&essays, 1)) * 3 / 4;
    let control = Control {
        budget: Some(budget),
        ..Control::default()
    };
    let e = engine();
    let mut previous: Option<Vec<u8>> = None;
    let mut ratios = Vec::new();
    for n in 1..=essays.len() {
        let body = chat_loop(&essays, n);
        let out = e
            .rewrite(Api::ChatCompletions, &body, &control)
            .unwrap()
            .unwrap();
        if n == 1 {
            // One turn: the excess comes off its block, as it always did.
            let after = count(&out.body);
            assert!(
                after <= budget + 10,
                "{after} tokens for a budget of {budget}"
            );
        }
        if let Some(prev) = &previous {
            // The previous request's messages, but their closing bracket, come back as sent.
            let close = prev.len() - 1 - prev.iter().rev().position(|&b| b == b']').unwrap();
            assert!(
                out.body.starts_with(&prev[..close]),
                "turn {n} changed what was forwarded before"
            );
        }
        let v: Value = serde_json::from_slice(&out.body).unwrap();
        let newest = v["messages"][2 * n]["content"].as_str().unwrap();
        ratios.push(count(essays[n - 1].as_bytes()) as f64 / counter.count(newest) as f64);
        previous = Some(out.body);
    }
    assert!(
        ratios.windows(2).all(|w| w[1] > w[0]),
        "later turns are compressed harder: {ratios:?}"
    );
    // A fresh engine forwards the last request the same way (nothing hangs on the memo).
    let last = chat_loop(&essays, essays.len());
    let again = engine()
        .rewrite(Api::ChatCompletions, &last, &control)
        .unwrap()
        .unwrap();
    assert_eq!(Some(again.body), previous);
}

/// A real `pytest -v` log from the toolout data (click with an injected bug): its task and
/// output.
fn pytest_log() -> (String, String) {
    use std::io::Read;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("eval/toolout/dev.jsonl.gz");
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    text.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| {
            v["kind"] == "pytest-v" && v["source"].as_str().unwrap_or("").starts_with("click")
        })
        .map(|v| {
            (
                v["task"].as_str().unwrap().to_owned(),
                v["output"].as_str().unwrap().to_owned(),
            )
        })
        .unwrap()
}

#[test]
fn a_test_run_in_an_agent_loop_keeps_its_failures_under_the_cache_breakpoint() {
    let (task, log) = pytest_log();
    // As an agent client sends it: the newest turn carries the cache breakpoint.
    let body = serde_json::to_vec(&json!({
        "model": "claude-test",
        "max_tokens": 64,
        "messages": [
            {"role": "user", "content": task},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Let me run the tests."},
                {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "python -m pytest -v tests/"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": log, "cache_control": {"type": "ephemeral"}}
            ]}
        ]
    }))
    .unwrap();
    let control = Control {
        ratio: Some(8.0),
        ..Control::default()
    };
    let out = engine()
        .rewrite(Api::Messages, &body, &control)
        .unwrap()
        .unwrap();
    let after: Value = serde_json::from_slice(&out.body).unwrap();
    let kept = after["messages"][2]["content"][0]["content"]
        .as_str()
        .unwrap();
    let counter = Tiktoken::default();
    assert!(counter.count(kept) * 8 <= counter.count(&log));
    // Every failing test, and the summary, survive 8x; the passes collapse with a count.
    let wanted: Vec<&str> = log
        .lines()
        .filter(|l| l.ends_with("FAILED") || l.contains(" FAILED [") || l.starts_with("FAILED "))
        .chain(
            log.lines()
                .filter(|l| l.starts_with("===") && l.contains(" failed")),
        )
        .collect();
    assert!(wanted.len() > 10, "{} lines", wanted.len());
    for line in wanted {
        assert!(kept.lines().any(|k| k == line), "lost {line:?}");
    }
    assert!(kept.contains("more lines like"), "{kept}");
    // The same request compresses to the same bytes (the prompt cache depends on it).
    let again = engine()
        .rewrite(Api::Messages, &body, &control)
        .unwrap()
        .unwrap();
    assert_eq!(again.body, out.body);
}

#[test]
fn a_block_no_unit_of_which_fits_is_forwarded_whole() {
    use pith::segment::{Chunker, ProseChunker};
    // An essay as one run of words without punctuation or line breaks (as some tools
    // print text) is prose cut into pieces of up to 2,000 bytes. Two such pieces, each
    // larger than a quarter of both: the compressor can keep markers alone.
    let essay = std::fs::read_to_string(crate::prereq::shared("eval/niah/avg.txt")).unwrap();
    let run: String = essay
        .split_whitespace()
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join(" ");
    let counter = Tiktoken::default();
    let pieces = ProseChunker.chunk(&run);
    let tokens: Vec<usize> = pieces.iter().map(|c| counter.count(c.text(&run))).collect();
    let i = (0..pieces.len() - 1)
        .find(|&i| tokens[i].min(tokens[i + 1]) * 3 > tokens[i] + tokens[i + 1])
        .unwrap();
    let text = run[pieces[i].span.start..pieces[i + 1].span.end].trim_end();
    assert!(text.len() > 2000);
    let body = chat_body(text);
    let quarter = Control {
        ratio: Some(4.0),
        ..Control::default()
    };
    let out = engine()
        .rewrite(Api::ChatCompletions, &body, &quarter)
        .unwrap();
    // Markers alone would have replaced the whole result: it goes through as it was.
    let blocks = out.map(|o| o.blocks).unwrap_or_default();
    assert!(blocks.is_empty(), "{blocks:?}");
}

#[test]
fn a_numbered_file_read_is_compressed_as_its_code_with_its_numbers() {
    // An agent reads a Rust file with `cat -n` and asks about one function. (Its own file
    // tool, `Read`, numbers lines the same way but is in `exact_tools`: left as it is.)
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/compress/mod.rs");
    let source = std::fs::read_to_string(path).unwrap();
    let numbered: String = source
        .lines()
        .enumerate()
        .map(|(i, l)| format!("{:>6}\t{l}\n", i + 1))
        .collect();
    let body = serde_json::to_vec(&json!({
        "model": "gpt-4.1",
        "messages": [
            {"role": "user", "content": "How does refill decide which units to offer again?"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "Bash", "arguments": "{\"command\": \"cat -n src/compress/mod.rs\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": numbered}
        ]
    }))
    .unwrap();
    let quarter = Control {
        ratio: Some(4.0),
        ..Control::default()
    };
    let out = engine()
        .rewrite(Api::ChatCompletions, &body, &quarter)
        .unwrap()
        .unwrap();
    let after: Value = serde_json::from_slice(&out.body).unwrap();
    let kept = after["messages"][2]["content"].as_str().unwrap();
    // The function comes whole, each line with its number, and what is dropped is said
    // in the file's own comments, with its lines.
    assert!(kept.contains(" omitted (lines "), "{kept}");
    let start = source
        .lines()
        .position(|l| l.starts_with("fn refill("))
        .unwrap();
    let end = start + source.lines().skip(start).position(|l| l == "}").unwrap();
    for i in start..=end {
        let line = numbered.lines().nth(i).unwrap();
        assert!(kept.lines().any(|l| l == line), "{line}\n{kept}");
    }
}
