//! `Compressor::compress_messages` applies the proxy's policy to typed turns: the same
//! agent loop, sent through the proxy's engine as an Anthropic Messages body and given to
//! the library as `Message`s, gets the same text for every tool result — and history keeps
//! its text as the loop grows.
#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use pith::chat::{ChatOptions, Message, Part, Role};
use pith::proxy::engine::{Control, Engine, EngineConfig};
use pith::proxy::policy::Api;
use pith::{Compressor, Preset, Tiktoken};
use serde_json::{Value, json};

/// Real tool outputs (the committed toolout cases): task, assistant text, call, output.
fn cases() -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("eval/toolout/dev.jsonl.gz");
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let all: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // One small case of each of a few kinds, so the test stays quick, each long enough
    // to be compressed by default.
    let min_chars = ChatOptions::default().min_chars;
    let mut out: Vec<Value> = Vec::new();
    for kind in [
        "cargo-test",
        "git-log",
        "grep",
        "pytest-q",
        "traceback",
        "json",
    ] {
        if let Some(c) = all
            .iter()
            .filter(|c| {
                let n = c["output"].as_str().unwrap().chars().count();
                c["kind"] == kind && (min_chars..30_000).contains(&n)
            })
            .min_by_key(|c| c["output"].as_str().unwrap().len())
        {
            out.push(c.clone());
        }
    }
    assert!(out.len() >= 4, "found {} cases", out.len());
    out
}

/// The loop as typed turns: each case is a user task, an assistant turn with a call, and
/// a user turn with its result.
fn typed(cases: &[Value]) -> Vec<Message> {
    let mut out = vec![Message::text(Role::System, "You are a coding agent.")];
    for (k, c) in cases.iter().enumerate() {
        let id = format!("call_{k}");
        out.push(Message::text(Role::User, c["task"].as_str().unwrap()));
        out.push(Message::new(
            Role::Assistant,
            vec![
                Part::Text(c["assistant"].as_str().unwrap().to_owned()),
                Part::ToolCall {
                    id: id.clone(),
                    name: c["tool"]["name"].as_str().unwrap().to_owned(),
                    arguments: serde_json::to_string(&c["tool"]["input"]).unwrap(),
                },
            ],
        ));
        out.push(Message::new(
            Role::User,
            vec![Part::ToolResult {
                call_id: id,
                text: c["output"].as_str().unwrap().to_owned(),
            }],
        ));
    }
    out
}

/// The same loop as an Anthropic Messages body.
fn messages_body(cases: &[Value]) -> Vec<u8> {
    let mut messages = Vec::new();
    for (k, c) in cases.iter().enumerate() {
        let id = format!("call_{k}");
        messages.push(json!({"role": "user", "content": c["task"]}));
        messages.push(json!({"role": "assistant", "content": [
            {"type": "text", "text": c["assistant"]},
            {"type": "tool_use", "id": id, "name": c["tool"]["name"], "input": c["tool"]["input"]},
        ]}));
        messages.push(json!({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": id, "content": c["output"]},
        ]}));
    }
    serde_json::to_vec(&json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "system": "You are a coding agent.",
        "messages": messages,
    }))
    .unwrap()
}

fn tool_results(messages: &[Message]) -> Vec<String> {
    messages
        .iter()
        .flat_map(|m| &m.parts)
        .filter_map(|p| match p {
            Part::ToolResult { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn typed_turns_compress_as_the_proxy_compresses_the_same_loop() {
    let cases = cases();
    let mut options = ChatOptions::default();
    options.ratio = 4.0;
    let compressor = Compressor::builder()
        .preset(Preset::named("rag").unwrap())
        .build();
    let typed_out = compressor
        .compress_messages(&typed(&cases), &options)
        .unwrap();
    assert!(
        typed_out.compressed.len() >= 3 && typed_out.tokens_after * 3 < typed_out.tokens_before,
        "{} blocks, {} -> {} tokens",
        typed_out.compressed.len(),
        typed_out.tokens_before,
        typed_out.tokens_after
    );
    // The proxy's engine, with the same preset for every kind and the same ratio.
    let engine = Engine::new(
        EngineConfig {
            default_ratio: 4.0,
            prose_preset: "rag".into(),
            code_preset: "rag".into(),
            ..EngineConfig::default()
        },
        Arc::new(Tiktoken::default()),
    );
    let body = messages_body(&cases);
    let outcome = engine
        .rewrite(Api::Messages, &body, &Control::default())
        .unwrap()
        .expect("the proxy compresses the loop");
    let forwarded: Value = serde_json::from_slice(&outcome.body).unwrap();
    let proxied: Vec<String> = forwarded["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["content"].as_array())
        .flatten()
        .filter(|b| b["type"] == "tool_result")
        .map(|b| b["content"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(tool_results(&typed_out.messages), proxied);
    assert_eq!(outcome.tokens_after, typed_out.tokens_after);
    // System, user and assistant turns come back as they were.
    let before = typed(&cases);
    for (a, b) in before.iter().zip(&typed_out.messages) {
        if a.role != Role::User || !matches!(a.parts[0], Part::ToolResult { .. }) {
            assert_eq!(a, b);
        }
    }
}

#[test]
fn history_keeps_its_text_as_the_loop_grows() {
    let cases = cases();
    let compressor = Compressor::default();
    let options = ChatOptions::default();
    let mut seen: Vec<String> = Vec::new();
    for n in 1..=cases.len() {
        let out = compressor
            .compress_messages(&typed(&cases[..n]), &options)
            .unwrap();
        let results = tool_results(&out.messages);
        assert_eq!(results[..seen.len()], seen[..], "turn {n}");
        seen = results;
    }
    // File readers stay exact.
    let first = compressor
        .compress_messages(&typed(&cases[..1]), &options)
        .unwrap();
    assert_eq!(first.compressed, [(3, 0)]);
    let mut loop_ = typed(&cases[..1]);
    if let Part::ToolCall { name, .. } = &mut loop_[2].parts[1] {
        *name = "read_file".into();
    }
    let out = compressor.compress_messages(&loop_, &options).unwrap();
    assert!(out.compressed.is_empty());
}
