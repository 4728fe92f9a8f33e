//! Agent loops through `pith serve` and prompt caches: a 12-turn loop replayed for each
//! API against a real mock upstream on 127.0.0.1, the client resending its (uncompressed)
//! history every turn and, for Anthropic, moving its `cache_control` breakpoint to the
//! newest block. Whatever pith forwarded before the previous breakpoint (for Chat
//! Completions and Responses: the whole previous messages/input array) must reach the
//! upstream byte for byte again, while the newest tool results are still compressed.
//! And provider-native context management passes through untouched.
//!
//! `cargo test --test proxy proxy_agent_loop -- --nocapture` prints the tokens saved.
#![allow(clippy::unwrap_used)]

use crate::{mock, support};

use std::path::{Path, PathBuf};

use mock::Mock;
use pith::proxy::spans::{self, Node};
use serde_json::{Value, json};
use support::{Answer, pith_serve, pith_serve_with, post};

const TURNS: usize = 12;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One tool call of the loop and the real text it returned.
struct Step {
    said: String,
    name: &'static str,
    args: Value,
    output: String,
}

/// Twelve calls with real outputs: source files of this repository, `git log` of it run
/// now, and essays from the evaluation data (`../shared/eval/niah`). No tool name is on
/// the exact-tools list.
fn steps() -> Vec<Step> {
    let git = std::process::Command::new("git")
        .args(["log", "--stat", "-n", "40", "--no-color"])
        .current_dir(repo())
        .output()
        .expect("git runs");
    assert!(git.status.success(), "git log failed");
    let git_log = String::from_utf8(git.stdout).unwrap();
    let niah = crate::prereq::shared("eval/niah");
    let essay = |name: &str| read(&niah.join(name));
    let source = |path: &str| read(&repo().join(path));
    let outputs: [(&str, &'static str, Value, String); TURNS] = [
        (
            "Let me look at the recent history.",
            "run_shell",
            json!({"command": "git log --stat -n 40"}),
            git_log,
        ),
        (
            "The proxy's policy decides what is compressed.",
            "grep_repo",
            json!({"pattern": "fn plan", "path": "src/proxy/policy.rs"}),
            source("src/proxy/policy.rs"),
        ),
        (
            "Now the engine that applies it.",
            "grep_repo",
            json!({"pattern": "block_budgets", "path": "src/proxy/engine.rs"}),
            source("src/proxy/engine.rs"),
        ),
        (
            "The founders essay the evaluation uses.",
            "fetch_page",
            json!({"url": "https://example.org/founders"}),
            essay("founders.txt"),
        ),
        (
            "How are rewrites spliced?",
            "grep_repo",
            json!({"pattern": "fn apply", "path": "src/proxy/rewrite.rs"}),
            source("src/proxy/rewrite.rs"),
        ),
        (
            "Another essay for comparison.",
            "fetch_page",
            json!({"url": "https://example.org/wisdom"}),
            essay("wisdom.txt"),
        ),
        (
            "The server module relays requests.",
            "grep_repo",
            json!({"pattern": "async fn handle", "path": "src/proxy/handler.rs"}),
            source("src/proxy/handler.rs"),
        ),
        (
            "And the architecture notes.",
            "grep_repo",
            json!({"pattern": "proxy", "path": "ARCHITECTURE.md"}),
            source("ARCHITECTURE.md"),
        ),
        (
            "One more essay.",
            "fetch_page",
            json!({"url": "https://example.org/love"}),
            essay("love.txt"),
        ),
        (
            "The span parser.",
            "grep_repo",
            json!({"pattern": "pub fn parse", "path": "src/spans.rs"}),
            source("src/spans.rs"),
        ),
        (
            "Configuration of the proxy.",
            "grep_repo",
            json!({"pattern": "struct Config", "path": "src/proxy/config.rs"}),
            source("src/proxy/config.rs"),
        ),
        (
            "Last, the essay on good taste.",
            "fetch_page",
            json!({"url": "https://example.org/goodtaste"}),
            essay("goodtaste.txt"),
        ),
    ];
    outputs
        .into_iter()
        .map(|(said, name, args, output)| {
            assert!(output.len() > 4000, "{name}: a real output to compress");
            Step {
                said: said.into(),
                name,
                args,
                output,
            }
        })
        .collect()
}

const TASK: &str = "Explain how the pith proxy keeps prompt caches working, with evidence.";

/// A user remark after some tool results (as clients add reminders or the user speaks up).
fn remark(turn: usize) -> Option<String> {
    (turn % 4 == 3).then(|| format!("Remark {turn}: focus on what is forwarded byte for byte."))
}

/// The body of request `n` (1-based: it carries the first `n` tool results).
fn request(api: &str, steps: &[Step], n: usize) -> Vec<u8> {
    let mut items = Vec::new();
    let v = match api {
        "messages" => {
            items.push(json!({"role": "user", "content": [{"type": "text", "text": TASK}]}));
            for (t, s) in steps[..n].iter().enumerate() {
                let id = format!("toolu_{t:02}");
                items.push(json!({"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "Next step.", "signature": format!("sig{t}")},
                    {"type": "text", "text": s.said},
                    {"type": "tool_use", "id": id, "name": s.name, "input": s.args}]}));
                let mut content =
                    vec![json!({"type": "tool_result", "tool_use_id": id, "content": s.output})];
                content.extend(remark(t).map(|r| json!({"type": "text", "text": r})));
                items.push(json!({"role": "user", "content": content}));
            }
            json!({
                "model": "claude-sonnet-4-5",
                "max_tokens": 4096,
                "system": [{"type": "text", "text": "You are a careful engineer.",
                            "cache_control": {"type": "ephemeral"}}],
                "tools": tools(api),
                "messages": items,
            })
        }
        "chat" => {
            items.push(json!({"role": "system", "content": "You are a careful engineer."}));
            items.push(json!({"role": "user", "content": TASK}));
            for (t, s) in steps[..n].iter().enumerate() {
                let id = format!("call_{t:02}");
                items.push(
                    json!({"role": "assistant", "content": s.said, "tool_calls": [
                    {"id": id, "type": "function",
                     "function": {"name": s.name, "arguments": s.args.to_string()}}]}),
                );
                items.push(json!({"role": "tool", "tool_call_id": id, "content": s.output}));
                items.extend(remark(t).map(|r| json!({"role": "user", "content": r})));
            }
            json!({"model": "gpt-4.1", "tools": tools(api), "messages": items})
        }
        _ => {
            items.push(json!({"type": "message", "role": "user",
                              "content": [{"type": "input_text", "text": TASK}]}));
            for (t, s) in steps[..n].iter().enumerate() {
                let id = format!("call_{t:02}");
                items.push(
                    json!({"type": "reasoning", "id": format!("rs_{t:02}"), "summary": [],
                                  "encrypted_content": format!("gAAAA{}", "x".repeat(200))}),
                );
                items.push(json!({"type": "message", "role": "assistant", "id": format!("msg_{t:02}"),
                                  "content": [{"type": "output_text", "text": s.said, "annotations": []}]}));
                items.push(
                    json!({"type": "function_call", "call_id": id, "name": s.name,
                                  "arguments": s.args.to_string()}),
                );
                items.push(
                    json!({"type": "function_call_output", "call_id": id, "output": s.output}),
                );
                items.extend(remark(t).map(|r| {
                    json!({"type": "message", "role": "user",
                    "content": [{"type": "input_text", "text": r}]})
                }));
            }
            json!({"model": "gpt-5", "instructions": "You are a careful engineer.",
                   "tools": tools(api), "input": items})
        }
    };
    let mut body = serde_json::to_vec(&v).unwrap();
    if api == "messages" {
        // The client marks its newest block, and only that one, in the messages — as its
        // last key, the way clients write it (serde_json would sort it first).
        let root = spans::parse(&body).unwrap();
        let messages = root.get("messages").and_then(Node::as_array).unwrap();
        let blocks = messages
            .last()
            .unwrap()
            .get("content")
            .and_then(Node::as_array);
        let at = blocks.unwrap().last().unwrap().span().end - 1;
        body.splice(at..at, *b",\"cache_control\":{\"type\":\"ephemeral\"}");
    }
    body
}

fn tools(api: &str) -> Value {
    let names = ["run_shell", "grep_repo", "fetch_page"];
    let schema = json!({"type": "object", "properties": {}});
    let tools: Vec<Value> = names
        .iter()
        .map(|n| match api {
            "messages" => json!({"name": n, "description": "A tool.", "input_schema": schema}),
            "chat" => json!({"type": "function",
                             "function": {"name": n, "description": "A tool.", "parameters": schema}}),
            _ => json!({"type": "function", "name": n, "description": "A tool.", "parameters": schema}),
        })
        .collect();
    Value::Array(tools)
}

/// The span of `key`'s array in `body`.
fn array_span(body: &[u8], key: &str) -> std::ops::Range<usize> {
    let root = spans::parse(body).unwrap();
    match root.get(key) {
        Some(node @ Node::Array { .. }) => node.span(),
        _ => panic!("no {key} array"),
    }
}

/// How much of the forwarded body of a request must come back unchanged in the next:
/// up to the last `cache_control` in its messages (Anthropic), or its whole
/// messages/input array but the closing bracket.
fn cached_prefix(api: &str, forwarded: &[u8]) -> usize {
    match api {
        "messages" => {
            let messages = array_span(forwarded, "messages");
            let text = std::str::from_utf8(&forwarded[..messages.end]).unwrap();
            // Compact JSON: inside a string literal the quote would be escaped.
            text.rfind(",\"cache_control\"")
                .expect("a breakpoint in the messages")
        }
        "chat" => array_span(forwarded, "messages").end - 1,
        _ => array_span(forwarded, "input").end - 1,
    }
}

fn header(a: &Answer, name: &str) -> usize {
    a.headers
        .get(name)
        .map_or(0, |v| v.to_str().unwrap().parse().unwrap())
}

/// Replays the loop for `api` through `pith serve`; returns (tokens before, tokens saved)
/// summed over the requests.
async fn replay(api: &str, extra: &[(&str, &str)]) -> (usize, usize) {
    let steps = steps();
    let (openai, anthropic) = (Mock::start().await, Mock::start().await);
    // The default presets (`auto`): with the embedder installed the loop's tool results
    // go through the neural presets, which a debug build on a loaded CI machine may run
    // for seconds; the test is about prefixes, not speed, so the deadline is generous.
    let (o, a) = (openai.url(), anthropic.url());
    let served = pith_serve_with(
        &[
            "--openai-upstream",
            &o,
            "--anthropic-upstream",
            &a,
            "--compress-timeout-ms",
            "300000",
        ],
        &[],
    );
    let (path, upstream) = match api {
        "messages" => ("/v1/messages", &anthropic),
        "chat" => ("/v1/chat/completions", &openai),
        _ => ("/v1/responses", &openai),
    };
    let mut headers = vec![("content-type", "application/json")];
    headers.extend_from_slice(extra);
    let (mut before, mut saved) = (0, 0);
    let mut previous: Option<Vec<u8>> = None;
    for n in 1..=TURNS {
        let body = request(api, &steps, n);
        let a = post(format!("{}{path}", served.url), &headers, body.clone()).await;
        assert_eq!(a.status, 200, "{api} turn {n}: {}", a.text());
        assert!(!a.headers.contains_key("x-pith-error"), "{api} turn {n}");
        let forwarded = upstream.seen().last().unwrap().body.to_vec();
        assert_eq!(upstream.seen().len(), n);
        // The newest tool result — under the client's breakpoint for Anthropic — is
        // compressed too.
        let newest = serde_json::to_string(&steps[n - 1].output).unwrap();
        let newest = &newest[1..newest.len() - 1];
        assert!(
            !String::from_utf8_lossy(&forwarded).contains(newest),
            "{api} turn {n}: the newest tool result was forwarded uncompressed"
        );
        assert!(
            header(&a, "x-pith-tokens-saved") > 0,
            "{api} turn {n}: nothing saved"
        );
        // Which presets ran is said, `auto` resolved to a real one.
        let presets = a.headers["x-pith-presets"].to_str().unwrap();
        assert!(
            !presets.is_empty()
                && presets
                    .split(',')
                    .all(|p| p.starts_with("rag") || p.starts_with("code")),
            "{api} turn {n}: {presets}"
        );
        if let Some(prev) = &previous {
            let cut = cached_prefix(api, prev);
            let same = prev
                .iter()
                .zip(&forwarded)
                .take_while(|(a, b)| a == b)
                .count();
            assert!(
                same >= cut,
                "{api} turn {n}: the cached prefix ({cut} bytes) differs from byte {same}: \
                 {:?} vs {:?}",
                String::from_utf8_lossy(&prev[same..(same + 80).min(prev.len())]),
                String::from_utf8_lossy(&forwarded[same..(same + 80).min(forwarded.len())]),
            );
        }
        if std::env::var_os("PITH_LOOP_TRACE").is_some() {
            use pith::TokenCounter;
            let count = |b: &[u8]| pith::Tiktoken::default().count(std::str::from_utf8(b).unwrap());
            eprintln!(
                "{api} turn {n}: request {} tokens, forwarded {}, blocks {} -> {}",
                count(&body),
                count(&forwarded),
                header(&a, "x-pith-tokens-before"),
                header(&a, "x-pith-tokens-after")
            );
        }
        before += header(&a, "x-pith-tokens-before");
        saved += header(&a, "x-pith-tokens-saved");
        previous = Some(forwarded);
    }
    (before, saved)
}

async fn replay_and_report(api: &str, extra: &[(&str, &str)]) {
    let (before, saved) = replay(api, extra).await;
    println!(
        "{api} {extra:?}: {TURNS} requests, compressed tool-result tokens {before} -> {}, \
         saved {saved} ({:.1}%)",
        before - saved,
        100.0 * saved as f64 / before as f64
    );
    assert!(saved * 4 > before, "{api}: at least a quarter saved");
}

#[tokio::test(flavor = "multi_thread")]
async fn anthropic_loop_with_moving_breakpoints_keeps_the_cached_prefix() {
    replay_and_report("messages", &[]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn chat_completions_loop_keeps_the_previous_request_as_prefix() {
    replay_and_report("chat", &[]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn responses_loop_keeps_the_previous_request_as_prefix() {
    replay_and_report("responses", &[]).await;
}

/// With a total budget (here three quarters of the first request) each new turn is
/// compressed harder and history keeps its bytes.
#[tokio::test(flavor = "multi_thread")]
async fn loops_with_a_total_budget_keep_the_cached_prefix() {
    use pith::{Tiktoken, TokenCounter};
    let steps = steps();
    for api in ["messages", "chat", "responses"] {
        let first = request(api, &steps, 1);
        let budget = Tiktoken::default().count(std::str::from_utf8(&first).unwrap()) * 3 / 4;
        replay_and_report(api, &[("x-pith-budget", &budget.to_string())]).await;
    }
}

/// Anthropic `context_management` (and its beta header) and Responses `compaction` items
/// reach the upstream byte for byte, while tool results elsewhere are compressed.
#[tokio::test(flavor = "multi_thread")]
async fn provider_context_management_passes_through_untouched() {
    let steps = steps();
    let (openai, anthropic) = (Mock::start().await, Mock::start().await);
    let served = pith_serve(&openai, &anthropic);
    let summary = "The user asked about prompt caches. ".repeat(100);
    let edits = json!({"edits": [
        {"type": "clear_tool_uses_20250919",
         "trigger": {"type": "input_tokens", "value": 30000},
         "keep": {"type": "tool_uses", "value": 3},
         "clear_at_least": {"type": "input_tokens", "value": 5000},
         "exclude_tools": ["web_search"]},
        {"type": "clear_thinking_20251015", "keep": {"type": "thinking_turns", "value": 1}}
    ]});
    let body = serde_json::to_vec(&json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "context_management": edits,
        "messages": [
            {"role": "user", "content": TASK},
            {"role": "assistant", "content": [
                {"type": "compaction", "content": summary},
                {"type": "tool_use", "id": "toolu_1", "name": steps[3].name, "input": steps[3].args}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": steps[3].output}]}
        ]
    }))
    .unwrap();
    let beta = "context-management-2025-06-27,compact-2026-01-12";
    let a = post(
        format!("{}/v1/messages", served.url),
        &[
            ("anthropic-beta", beta),
            ("anthropic-version", "2023-06-01"),
        ],
        body.clone(),
    )
    .await;
    assert_eq!(a.status, 200);
    assert_eq!(
        a.headers["x-pith-compressed"],
        "messages[2].content[0].content"
    );
    let seen = anthropic.seen().pop().unwrap();
    assert_eq!(seen.headers["anthropic-beta"], beta);
    let raw = |body: &[u8], pointer: &[&str]| {
        let root = spans::parse(body).unwrap();
        let mut node = &root;
        for key in pointer {
            node = match key.parse::<usize>() {
                Ok(i) => &node.as_array().unwrap()[i],
                Err(_) => node.get(key).unwrap(),
            };
        }
        body[node.span()].to_vec()
    };
    for pointer in [&["context_management"][..], &["messages", "1"]] {
        assert_eq!(raw(&seen.body, pointer), raw(&body, pointer), "{pointer:?}");
    }
    assert!(seen.body.len() + steps[3].output.len() / 3 < body.len());

    let compaction = json!({"type": "compaction", "id": "cmp_1",
                            "encrypted_content": format!("gAAAAB{}", "QUJD".repeat(2000))});
    let body = serde_json::to_vec(&json!({
        "model": "gpt-5",
        "context_management": [{"type": "compaction", "compact_threshold": 200000}],
        "input": [
            compaction,
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": TASK}]},
            {"type": "function_call", "call_id": "c1", "name": steps[5].name,
             "arguments": steps[5].args.to_string()},
            {"type": "function_call_output", "call_id": "c1", "output": steps[5].output}
        ]
    }))
    .unwrap();
    let a = post(format!("{}/v1/responses", served.url), &[], body.clone()).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.headers["x-pith-compressed"], "input[3].output");
    let seen = openai.seen().pop().unwrap();
    for pointer in [
        &["context_management"][..],
        &["input", "0"],
        &["input", "2"],
    ] {
        assert_eq!(raw(&seen.body, pointer), raw(&body, pointer), "{pointer:?}");
    }
    assert!(seen.body.len() + steps[5].output.len() / 3 < body.len());
}
