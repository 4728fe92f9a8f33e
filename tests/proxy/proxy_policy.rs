//! The proxy's decision logic: the span parser agrees with serde_json, the policy follows
//! DESIGN.md §"The proxy's contract" rule by rule on realistic bodies of all three APIs,
//! and rewrites change the planned literals and not one other byte.
#![allow(clippy::unwrap_used)]

use pith::Lang;
use pith::proxy::policy::{Api, Block, Content, Origin, Plan, PolicyError, PolicyOptions, plan};
use pith::proxy::rewrite::apply;
use pith::proxy::spans::{self, Node};
use proptest::prelude::*;
use serde_json::{Value, json};

// ---------- writing JSON in varied styles ----------

/// How to spell a value: pretty or compact, and whether to escape non-ASCII and `/`.
#[derive(Debug, Clone, Copy)]
struct Style {
    pretty: bool,
    ascii: bool,
    slash: bool,
}

fn write(v: &Value, style: Style, depth: usize, out: &mut String) {
    let nl = |out: &mut String, d: usize| {
        if style.pretty {
            out.push('\n');
            out.push_str(&"  ".repeat(d));
        }
    };
    match v {
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                out.push_str(if i > 0 { "," } else { "" });
                nl(out, depth + 1);
                write_str(k, style, out);
                out.push_str(if style.pretty { ": " } else { ":" });
                write(v, style, depth + 1, out);
            }
            if !map.is_empty() {
                nl(out, depth);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                out.push_str(if i > 0 { "," } else { "" });
                nl(out, depth + 1);
                write(v, style, depth + 1, out);
            }
            if !items.is_empty() {
                nl(out, depth);
            }
            out.push(']');
        }
        Value::String(s) => write_str(s, style, out),
        other => out.push_str(&other.to_string()),
    }
}

fn write_str(s: &str, style: Style, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '/' if style.slash => out.push_str("\\/"),
            c if style.ascii && !c.is_ascii() => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{u:04X}"));
                }
            }
            c => {
                let lit = serde_json::to_string(&c.to_string()).unwrap();
                out.push_str(&lit[1..lit.len() - 1]);
            }
        }
    }
    out.push('"');
}

fn styled(v: &Value, style: Style) -> String {
    let mut out = String::new();
    write(v, style, 0, &mut out);
    out
}

fn pretty(v: &Value) -> Vec<u8> {
    let style = Style {
        pretty: true,
        ascii: false,
        slash: false,
    };
    styled(v, style).into_bytes()
}

fn style() -> impl Strategy<Value = Style> {
    (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(pretty, ascii, slash)| Style {
        pretty,
        ascii,
        slash,
    })
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e9f64..1e9).prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        "[a-z/\"\\\\\n\u{e9}\u{1F600} ]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_\u{e9}]{0,6}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn strings(node: &Node, out: &mut Vec<(std::ops::Range<usize>, String)>) {
    match node {
        Node::Object { members, .. } => members.iter().for_each(|(_, v)| strings(v, out)),
        Node::Array { items, .. } => items.iter().for_each(|v| strings(v, out)),
        Node::String { span, value } => out.push((span.clone(), value.clone())),
        Node::Other { .. } => {}
    }
}

fn all_nodes<'a>(node: &'a Node, out: &mut Vec<&'a Node>) {
    out.push(node);
    match node {
        Node::Object { members, .. } => members.iter().for_each(|(_, v)| all_nodes(v, out)),
        Node::Array { items, .. } => items.iter().for_each(|v| all_nodes(v, out)),
        _ => {}
    }
}

proptest! {
    /// The decoded tree is serde_json's value, and every node's span is that node.
    #[test]
    fn spans_agree_with_serde_json(v in json_value(), style in style()) {
        let body = styled(&v, style);
        let node = spans::parse(body.as_bytes()).unwrap();
        // Against serde_json's reading of the same text (its float parsing is not an exact
        // round trip, so not against `v`).
        let theirs: Value = serde_json::from_str(&body).unwrap();
        prop_assert_eq!(node.to_value(body.as_bytes()), theirs);
        prop_assert_eq!(node.span(), 0..body.len());
        let mut nodes = Vec::new();
        all_nodes(&node, &mut nodes);
        for n in nodes {
            let sub: Value = serde_json::from_str(&body[n.span()]).unwrap();
            prop_assert_eq!(sub, n.to_value(body.as_bytes()));
        }
        let mut strs = Vec::new();
        strings(&node, &mut strs);
        for (span, value) in strs {
            let decoded: String = serde_json::from_str(&body[span]).unwrap();
            prop_assert_eq!(decoded, value);
        }
    }

    /// Truncated or corrupted bodies are rejected exactly when serde_json rejects them.
    #[test]
    fn validity_agrees_with_serde_json(v in json_value(), cut in any::<prop::sample::Index>(),
                                       byte in any::<u8>()) {
        let body = serde_json::to_vec(&v).unwrap();
        let at = cut.index(body.len() + 1);
        let mut bad = body[..at].to_vec();
        if at < body.len() && byte.is_ascii() {
            bad.push(byte);
            bad.extend_from_slice(&body[at + 1..]);
        }
        let ours = spans::parse(&bad).is_ok();
        let theirs = serde_json::from_slice::<Value>(&bad);
        // serde_json also rejects numbers beyond f64; syntax is what spans checks.
        let range = theirs.as_ref().is_err_and(|e| e.to_string().contains("out of range"));
        prop_assert!(ours == theirs.is_ok() || (ours && range), "{}", String::from_utf8_lossy(&bad));
    }
}

// ---------- realistic requests ----------

/// About 2,600 characters of log-like prose mentioning `topic`.
fn long(topic: &str) -> String {
    (0..40)
        .map(|i| format!("Entry {i}: the {topic} service handled a request in {i}ms.\n"))
        .collect()
}

fn long_code() -> String {
    (0..60)
        .map(|i| format!("fn handler_{i}(x: u32) -> u32 {{\n    x + {i};\n}}\n"))
        .collect()
}

fn run(api: Api, v: &Value) -> Plan {
    plan(api, &pretty(v), &PolicyOptions::default()).unwrap()
}

fn labels(p: &Plan) -> Vec<&str> {
    p.blocks.iter().map(|b| b.label.as_str()).collect()
}

fn chat_body() -> Value {
    json!({
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": long("system")},
            {"role": "developer", "content": long("developer")},
            {"role": "user", "content": "Why is the billing service slow?"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function",
                 "function": {"name": "grep_logs", "arguments": "{\"service\":\"billing\"}"}},
                {"id": "call_2", "type": "function",
                 "function": {"name": "read_file", "arguments": "{\"path\":\"src/billing.rs\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": long("billing")},
            {"role": "tool", "tool_call_id": "call_2", "content": long_code()},
            {"role": "tool", "tool_call_id": "call_1",
             "content": [{"type": "text", "text": long("parts")}]},
            {"role": "user", "content": long("final question")}
        ],
        "tools": [{"type": "function", "function": {"name": "grep_logs", "description": long("tool")}}],
        "response_format": {"type": "json_schema", "json_schema": {"name": long("format")}}
    })
}

fn anthropic_body() -> Value {
    json!({
        "model": "claude-sonnet-4-5",
        "system": [{"type": "text", "text": long("system")}],
        "tools": [{"name": "Read", "description": long("tool"), "input_schema": {"type": "object"}}],
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "Summarise the incident."},
                {"type": "document", "source": {"type": "text", "media_type": "text/plain",
                                                "data": long("document")}},
                {"type": "document", "source": {"type": "text", "media_type": "text/plain",
                                                "data": long("cited")},
                 "citations": {"enabled": true}},
                {"type": "document", "source": {"type": "base64", "media_type": "application/pdf",
                                                "data": "A".repeat(4000)}},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                             "data": "B".repeat(4000)}}
            ]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": long("thinking"), "signature": "sig"},
                {"type": "redacted_thinking", "data": long("redacted")},
                {"type": "text", "text": long("assistant")},
                {"type": "tool_use", "id": "toolu_1", "name": "search_logs",
                 "input": {"query": "timeout", "file": "src/pay.py"}},
                {"type": "tool_use", "id": "toolu_2", "name": "Read",
                 "input": {"file_path": "/repo/src/main.rs"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": long("timeout")},
                {"type": "tool_result", "tool_use_id": "toolu_2", "content": long_code()},
                {"type": "search_result", "source": "https://example.org/a", "title": "A",
                 "content": [{"type": "text", "text": long("search")}]},
                {"type": "text", "text": long("final text")}
            ]}
        ]
    })
}

fn responses_body() -> Value {
    json!({
        "model": "gpt-5",
        "instructions": long("instructions"),
        "text": {"format": {"type": "json_schema", "name": long("format")}},
        "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "Check the queue."}]},
            {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": long("reasoning")}]},
            {"type": "function_call", "call_id": "fc_1", "name": "queue_stats",
             "arguments": "{\"queue\":\"orders\"}"},
            {"type": "function_call_output", "call_id": "fc_1", "output": long("orders")},
            {"type": "function_call", "call_id": "fc_2", "name": "view", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "fc_2", "output": long("viewed")},
            {"type": "message", "role": "assistant",
             "content": [{"type": "output_text", "text": long("assistant")}]},
            {"role": "user", "content": long("final question")}
        ]
    })
}

#[test]
fn chat_tool_results_are_compressed_as_strings_and_text_parts() {
    let p = run(Api::ChatCompletions, &chat_body());
    // call_2 is read_file (exact); system, developer, tools, format and the final user
    // turn are never planned.
    assert_eq!(
        labels(&p),
        ["messages[4].content", "messages[6].content[0].text"]
    );
    assert!(p.blocks.iter().all(|b| b.origin == Origin::ToolResult));
}

#[test]
fn anthropic_tool_results_documents_and_search_results_are_compressed() {
    let p = run(Api::Messages, &anthropic_body());
    assert_eq!(
        labels(&p),
        [
            "messages[0].content[1].source.data",
            "messages[2].content[0].content",
            "messages[2].content[2].content[0].text",
        ]
    );
    let origins: Vec<Origin> = p.blocks.iter().map(|b| b.origin).collect();
    assert_eq!(
        origins,
        [Origin::Document, Origin::ToolResult, Origin::SearchResult]
    );
}

#[test]
fn count_tokens_follows_the_messages_rules() {
    let v = anthropic_body();
    assert_eq!(run(Api::CountTokens, &v), run(Api::Messages, &v));
}

#[test]
fn responses_function_call_outputs_are_compressed() {
    let p = run(Api::Responses, &responses_body());
    // fc_2 is `view` (exact); instructions, text.format, reasoning, the assistant message
    // and the final user turn are never planned.
    assert_eq!(labels(&p), ["input[3].output"]);
    assert_eq!(
        p.blocks[0].query,
        "Check the queue.\nqueue_stats {\"queue\":\"orders\"}"
    );
}

#[test]
fn tool_results_nested_in_anthropic_tool_result_blocks_are_found() {
    let v = json!({"messages": [
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "fetch", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": [
            {"type": "text", "text": long("fetched")},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "C".repeat(3000)}},
            {"type": "search_result", "source": "s", "title": "t", "content": [{"type": "text", "text": long("nested")}]}
        ]}]}
    ]});
    let p = run(Api::Messages, &v);
    assert_eq!(
        labels(&p),
        [
            "messages[1].content[0].content[0].text",
            "messages[1].content[0].content[2].content[0].text"
        ]
    );
}

#[test]
fn never_touched_parts_stay_out_of_the_plan_even_with_markers() {
    let marked = format!("<pith>{}</pith>", long("marked"));
    let v = json!({
        "system": marked,
        "tools": [{"name": "x", "description": marked}],
        "messages": [
            {"role": "assistant", "content": [
                {"type": "text", "text": marked},
                {"type": "thinking", "thinking": marked, "signature": "s"},
                {"type": "tool_use", "id": "a", "name": "x", "input": {"text": marked}}
            ]},
            {"role": "user", "content": [
                {"type": "document", "source": {"type": "text", "data": marked},
                 "citations": {"enabled": true}},
                {"type": "search_result", "source": "s", "title": "t",
                 "content": [{"type": "text", "text": marked}], "citations": {"enabled": true}},
                {"type": "image", "source": {"type": "base64", "data": marked}}
            ]},
            {"role": "user", "content": marked}
        ]
    });
    assert_eq!(run(Api::Messages, &v), Plan::default());
}

#[test]
fn the_final_user_turn_text_is_never_compressed_but_its_tool_results_are() {
    let p = run(Api::Messages, &anthropic_body());
    assert!(!labels(&p).contains(&"messages[2].content[3].text"));
    assert!(labels(&p).contains(&"messages[2].content[0].content"));
    let chat = run(Api::ChatCompletions, &chat_body());
    assert!(!labels(&chat).contains(&"messages[7].content"));
}

#[test]
fn marked_user_text_is_planned_in_earlier_turns_of_every_api() {
    let text = format!(
        "Context: <pith>{}</pith> and <LLMLINGUA>tiny</LLMLINGUA>.",
        long("m")
    );
    let chat = json!({"messages": [
        {"role": "user", "content": text},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": format!("<pith>{text}</pith>")}
    ]});
    let anthropic = json!({"messages": [
        {"role": "user", "content": [{"type": "text", "text": text}]},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": [{"type": "text", "text": text}]}
    ]});
    let responses = json!({"input": [
        {"role": "user", "content": [{"type": "input_text", "text": text}]},
        {"role": "user", "content": text}
    ]});
    for (api, v, label) in [
        (Api::ChatCompletions, chat, "messages[0].content"),
        (Api::Messages, anthropic, "messages[0].content[0].text"),
        (Api::Responses, responses, "input[0].content[0].text"),
    ] {
        let p = run(api, &v);
        assert_eq!(labels(&p), [label], "{api:?}");
        let b = &p.blocks[0];
        assert_eq!(b.origin, Origin::Marked);
        let inner: Vec<&str> = b.marked.iter().map(|m| &b.text[m.inner.clone()]).collect();
        assert_eq!(inner, [long("m").as_str(), "tiny"]);
        let off = PolicyOptions {
            compress_marked: false,
            ..PolicyOptions::default()
        };
        assert!(plan(api, &pretty(&v), &off).unwrap().blocks.is_empty());
    }
}

/// What a plan says about each block, without byte offsets (which move when a
/// breakpoint is added before a block).
fn summary(p: &Plan) -> Vec<(String, String, String, Origin)> {
    p.blocks
        .iter()
        .map(|b| (b.label.clone(), b.text.clone(), b.query.clone(), b.origin))
        .collect()
}

#[test]
fn cache_breakpoints_do_not_change_the_plan() {
    // Agent clients mark their newest turn every request: what pith forwards before a
    // breakpoint is forwarded the same way again, so breakpoints stop nothing.
    let plain = summary(&run(Api::Messages, &anthropic_body()));
    assert_eq!(plain.len(), 3);
    let mut v = anthropic_body();
    v["messages"][2]["content"][0]["cache_control"] = json!({"type": "ephemeral"});
    assert_eq!(summary(&run(Api::Messages, &v)), plain);
    v["messages"][2]["content"][2]["cache_control"] = json!({"type": "ephemeral", "ttl": "1h"});
    v["system"][0]["cache_control"] = json!({"type": "ephemeral"});
    assert_eq!(summary(&run(Api::Messages, &v)), plain);
    // A top-level breakpoint (automatic caching) neither.
    let mut top = anthropic_body();
    top["cache_control"] = json!({"type": "ephemeral"});
    assert_eq!(summary(&run(Api::Messages, &top)), plain);
    let mut none = anthropic_body();
    none["cache_control"] = Value::Null;
    assert_eq!(summary(&run(Api::Messages, &none)), plain);
    // Chat parts carrying cache_control (as some gateways forward) neither.
    let mut chat = chat_body();
    chat["messages"][6]["content"][0]["cache_control"] = json!({"type": "ephemeral"});
    assert_eq!(
        summary(&run(Api::ChatCompletions, &chat)),
        summary(&run(Api::ChatCompletions, &chat_body()))
    );
}

#[test]
fn exact_tools_keep_their_output_and_the_list_is_configurable() {
    // Default list, case-insensitive: READ_FILE is read_file.
    let mut chat = chat_body();
    chat["messages"][3]["tool_calls"][1]["function"]["name"] = json!("READ_FILE");
    assert!(!labels(&run(Api::ChatCompletions, &chat)).contains(&"messages[5].content"));
    // Anthropic `Read` (toolu_2) stays exact by default…
    let v = anthropic_body();
    assert!(!labels(&run(Api::Messages, &v)).contains(&"messages[2].content[1].content"));
    // …and is compressed once it is off the list, while a listed tool is not.
    let opts = PolicyOptions {
        exact_tools: vec!["SEARCH_LOGS".into()],
        ..PolicyOptions::default()
    };
    let p = plan(Api::Messages, &pretty(&v), &opts).unwrap();
    assert!(labels(&p).contains(&"messages[2].content[1].content"));
    assert!(!labels(&p).contains(&"messages[2].content[0].content"));
}

#[test]
fn blocks_below_min_chars_are_left_alone() {
    let v = json!({"messages": [
        {"role": "tool", "tool_call_id": "x", "content": "short output"},
        {"role": "tool", "tool_call_id": "y", "content": "x".repeat(1999)},
        {"role": "tool", "tool_call_id": "z", "content": "é".repeat(2000)},
        {"role": "user", "content": "q"}
    ]});
    assert_eq!(
        labels(&run(Api::ChatCompletions, &v)),
        ["messages[2].content"]
    );
    let opts = PolicyOptions {
        min_chars: 5,
        ..PolicyOptions::default()
    };
    assert_eq!(
        plan(Api::ChatCompletions, &pretty(&v), &opts)
            .unwrap()
            .blocks
            .len(),
        3
    );
}

/// The last `n` characters of `s`.
fn last_chars(s: &str, n: usize) -> String {
    let skip = s.chars().count().saturating_sub(n);
    s.chars().skip(skip).collect()
}

#[test]
fn the_query_is_task_assistant_text_and_call_or_else_the_user_text() {
    use pith::proxy::policy::QUERY_PART_CHARS;
    let p = run(Api::Messages, &anthropic_body());
    let by_label = |l: &str| p.blocks.iter().find(|b| b.label == l).unwrap();
    // The task, the end of what the assistant said before the call (its text block, not
    // its thinking), then the call; the final message's text (after the call) is not in it.
    let query = &by_label("messages[2].content[0].content").query;
    let (said, args) = query.rsplit_once("\nsearch_logs ").unwrap();
    let expected = format!(
        "Summarise the incident.\n{}",
        last_chars(long("assistant").trim(), QUERY_PART_CHARS)
    );
    assert_eq!(said, expected);
    // Anthropic arguments are the raw JSON of the `input` object.
    let args: Value = serde_json::from_str(args).unwrap();
    assert_eq!(args, json!({"query": "timeout", "file": "src/pay.py"}));
    assert!(!query.contains("final text"));
    // Documents and search results: the user text of their own message.
    assert_eq!(
        by_label("messages[0].content[1].source.data").query,
        "Summarise the incident."
    );
    assert_eq!(
        by_label("messages[2].content[2].content[0].text").query,
        last_chars(long("final text").trim(), QUERY_PART_CHARS)
    );
    let chat = run(Api::ChatCompletions, &chat_body());
    assert_eq!(
        chat.blocks[0].query,
        "Why is the billing service slow?\ngrep_logs {\"service\":\"billing\"}"
    );
}

/// `turns` turns of an agent loop for `api`: a task, then per turn an assistant text and a
/// call, and its result; every third result comes with a user remark after it.
fn agent_loop(api: Api, turns: usize) -> Value {
    let mut items = vec![match api {
        Api::Responses => json!({"type": "message", "role": "user",
                                  "content": [{"type": "input_text", "text": "Find the slow query."}]}),
        Api::ChatCompletions => json!({"role": "user", "content": "Find the slow query."}),
        _ => json!({"role": "user", "content": [{"type": "text", "text": "Find the slow query."}]}),
    }];
    for t in 0..turns {
        let (id, said, args) = (
            format!("call_{t}"),
            format!("Step {t}: I will grep the logs."),
            format!("{{\"n\":{t}}}"),
        );
        let remark = (t % 3 == 2).then(|| format!("Remark {t}: look at the database."));
        match api {
            Api::ChatCompletions => {
                items.push(json!({"role": "assistant", "content": said, "tool_calls": [
                    {"id": id, "type": "function", "function": {"name": "grep_logs", "arguments": args}}]}));
                items.push(
                    json!({"role": "tool", "tool_call_id": id, "content": long(&format!("t{t}"))}),
                );
                items.extend(remark.map(|r| json!({"role": "user", "content": r})));
            }
            Api::Responses => {
                items.push(json!({"type": "reasoning", "id": format!("rs_{t}"), "summary": []}));
                items.push(json!({"type": "message", "role": "assistant",
                                  "content": [{"type": "output_text", "text": said}]}));
                items.push(json!({"type": "function_call", "call_id": id, "name": "grep_logs", "arguments": args}));
                items.push(json!({"type": "function_call_output", "call_id": id, "output": long(&format!("t{t}"))}));
                items.extend(remark.map(|r| json!({"role": "user", "content": r})));
            }
            _ => {
                let input: Value = serde_json::from_str(&args).unwrap();
                items.push(json!({"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "hmm", "signature": "s"},
                    {"type": "text", "text": said},
                    {"type": "tool_use", "id": id, "name": "grep_logs", "input": input}]}));
                let mut content = vec![json!({"type": "tool_result", "tool_use_id": id,
                                              "content": long(&format!("t{t}"))})];
                content.extend(remark.map(|r| json!({"type": "text", "text": r})));
                items.push(json!({"role": "user", "content": content}));
            }
        }
    }
    match api {
        Api::Responses => json!({"model": "m", "input": items}),
        _ => json!({"model": "m", "messages": items}),
    }
}

#[test]
fn tool_result_queries_are_fixed_once_in_history_in_every_api() {
    for api in [Api::ChatCompletions, Api::Responses, Api::Messages] {
        let plans: Vec<Plan> = (1..=6).map(|n| run(api, &agent_loop(api, n))).collect();
        for (n, p) in plans.iter().enumerate() {
            assert_eq!(p.blocks.len(), n + 1, "{api:?}");
            for (t, b) in p.blocks.iter().enumerate() {
                // The task is the latest user text before the call's turn: the first
                // message, or the remark that followed an earlier result.
                let task = match t {
                    0..=2 => "Find the slow query.".to_string(),
                    _ => format!("Remark {}: look at the database.", (t / 3) * 3 - 1),
                };
                // (Anthropic arguments are the raw `input` object, spacing included.)
                let (said, args) = b.query.split_once("\ngrep_logs ").unwrap();
                assert_eq!(
                    said,
                    format!("{task}\nStep {t}: I will grep the logs."),
                    "{api:?}"
                );
                let args: Value = serde_json::from_str(args).unwrap();
                assert_eq!(args, json!({"n": t}), "{api:?} turn {t} of {}", n + 1);
            }
            // Later turns change nothing about the blocks already there.
            if let Some(next) = plans.get(n + 1) {
                assert_eq!(summary(p)[..], summary(next)[..=n], "{api:?}");
            }
        }
    }
}

#[test]
fn queries_are_bounded() {
    use pith::proxy::policy::QUERY_PART_CHARS;
    let huge = "déjà vu ".repeat(3000);
    let v = json!({"messages": [
        {"role": "user", "content": format!("{huge}Find it.")},
        {"role": "assistant", "content": format!("{huge}Looking."), "tool_calls": [
            {"id": "c", "function": {"name": "grep", "arguments": format!("{{\"q\":\"{huge}\"}}")}}]},
        {"role": "tool", "tool_call_id": "c", "content": long("x")}
    ]});
    let p = run(Api::ChatCompletions, &v);
    let q = &p.blocks[0].query;
    assert!(q.chars().count() <= 3 * QUERY_PART_CHARS + 2, "{}", q.len());
    let parts: Vec<&str> = q.split('\n').collect();
    assert_eq!(parts.len(), 3);
    assert!(parts[0].ends_with("Find it.") && parts[1].ends_with("Looking."));
    assert!(parts[2].starts_with("grep {\"q\":\"déjà"));
    assert_eq!(p, run(Api::ChatCompletions, &v), "deterministic");
}

#[test]
fn content_is_json_code_with_language_or_prose() {
    let json_out =
        serde_json::to_string_pretty(&json!({"rows": (0..600).collect::<Vec<_>>()})).unwrap();
    let v = json!({"messages": [
        {"role": "assistant", "content": [
            {"type": "tool_use", "id": "a", "name": "sh", "input": {"cmd": "cat src/lib.rs"}},
            {"type": "tool_use", "id": "b", "name": "sh", "input": {"cmd": "curl api"}},
            {"type": "tool_use", "id": "c", "name": "sh", "input": {"cmd": "git diff"}},
            {"type": "tool_use", "id": "d", "name": "sh", "input": {"cmd": "journalctl"}}
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "a", "content": long_code()},
            {"type": "tool_result", "tool_use_id": "b", "content": json_out},
            {"type": "tool_result", "tool_use_id": "c", "content": long_code()},
            {"type": "tool_result", "tool_use_id": "d", "content": long("journal")}
        ]}
    ]});
    let kinds: Vec<Content> = run(Api::Messages, &v)
        .blocks
        .iter()
        .map(|b| b.content)
        .collect();
    assert_eq!(
        kinds,
        [
            Content::Code(Some(Lang::Rust)),
            Content::Json,
            Content::Code(None),
            Content::Prose
        ]
    );
}

#[test]
fn unknown_or_unparsable_bodies_are_errors() {
    let cases: [(Api, &[u8]); 6] = [
        (Api::ChatCompletions, b"{\"messages\": [}"),
        (Api::ChatCompletions, b"[1, 2]"),
        (Api::ChatCompletions, b"{\"prompt\": \"hi\"}"),
        (Api::Messages, b"{\"messages\": {}}"),
        (Api::Responses, b"{\"input\": 3}"),
        (Api::Responses, b"{\"model\": \"x\"}\n{}"),
    ];
    for (api, body) in cases {
        let err = plan(api, body, &PolicyOptions::default());
        assert!(err.is_err(), "{}", String::from_utf8_lossy(body));
    }
    let err = plan(Api::Messages, b"{\"a\": tru}", &PolicyOptions::default()).unwrap_err();
    assert!(matches!(err, PolicyError::Json(e) if e.offset == 6));
    // A bare string input is only the final user turn: nothing to do, not an error.
    let p = plan(
        Api::Responses,
        b"{\"input\": \"hello\"}",
        &PolicyOptions::default(),
    );
    assert_eq!(p.unwrap(), Plan::default());
}

// ---------- rewriting ----------

/// A random text: sometimes long, sometimes with markers, any Unicode.
fn text() -> impl Strategy<Value = String> {
    (any::<String>(), 1..40usize, 0..4u8).prop_map(|(s, n, mark)| {
        let s = format!("{s} line\n").repeat(n);
        match mark {
            0 => format!("before <pith>{s}</pith> after"),
            1 => format!("<LLMLINGUA>{s}</LLMLINGUA><pith></pith>"),
            _ => s,
        }
    })
}

/// A random conversation for `api`: turns of user text, tool calls and their results.
fn body(api: Api) -> impl Strategy<Value = Value> {
    let turn = (0..3u8, 0..3usize, text());
    prop::collection::vec(turn, 1..8).prop_map(move |turns| {
        let names = ["Read", "grep", "fetch"];
        let mut items = Vec::new();
        for (i, (kind, tool, text)) in turns.into_iter().enumerate() {
            let id = format!("id{i}");
            let name = names[tool];
            match (api, kind) {
                (_, 0) => items.push(json!({"role": "user", "content": text})),
                (Api::ChatCompletions, _) => {
                    items.push(json!({"role": "assistant", "tool_calls": [
                        {"id": id, "function": {"name": name, "arguments": "{}"}}]}));
                    let content = if kind == 1 { json!(text) } else { json!([{"type": "text", "text": text}]) };
                    items.push(json!({"role": "tool", "tool_call_id": id, "content": content}));
                }
                (Api::Responses, _) => {
                    items.push(json!({"type": "function_call", "call_id": id, "name": name, "arguments": "{}"}));
                    items.push(json!({"type": "function_call_output", "call_id": id, "output": text}));
                }
                (_, _) => {
                    items.push(json!({"role": "assistant", "content": [
                        {"type": "tool_use", "id": id, "name": name, "input": {}}]}));
                    let block = if kind == 1 {
                        json!({"type": "tool_result", "tool_use_id": id, "content": text})
                    } else {
                        json!({"type": "document", "source": {"type": "text", "data": text}})
                    };
                    items.push(json!({"role": "user", "content": [block]}));
                }
            }
        }
        items.push(json!({"role": "user", "content": "the question"}));
        match api {
            Api::Responses => json!({"model": "m", "input": items}),
            _ => json!({"model": "m", "messages": items}),
        }
    })
}

fn any_api() -> impl Strategy<Value = Api> {
    prop_oneof![
        Just(Api::ChatCompletions),
        Just(Api::Responses),
        Just(Api::Messages)
    ]
}

/// `messages[2].content[0].text` as a JSON pointer.
fn pointer(label: &str) -> String {
    label
        .split(['.', '['])
        .map(|part| format!("/{}", part.trim_end_matches(']')))
        .collect()
}

/// Keeps the first half of the characters.
fn halve(_: &Block, text: &str) -> Option<String> {
    Some(text.chars().take(text.chars().count() / 2).collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Blocks are sorted, disjoint string literals holding their text.
    #[test]
    fn plans_are_disjoint_literals((api, v) in any_api().prop_flat_map(|a| (Just(a), body(a))),
                                   style in style()) {
        let raw = styled(&v, style);
        let opts = PolicyOptions { min_chars: 10, ..PolicyOptions::default() };
        let p = plan(api, raw.as_bytes(), &opts).unwrap();
        for pair in p.blocks.windows(2) {
            prop_assert!(pair[0].span.end <= pair[1].span.start);
        }
        for b in &p.blocks {
            let decoded: String = serde_json::from_str(&raw[b.span.clone()]).unwrap();
            prop_assert_eq!(&decoded, &b.text);
            prop_assert_eq!(v.pointer(&pointer(&b.label)), Some(&json!(b.text)));
        }
    }

    /// The rewritten body is the original with exactly the planned strings replaced:
    /// same JSON otherwise, and every byte between the replaced literals unchanged.
    #[test]
    fn rewrites_change_only_planned_literals(
        (api, v) in any_api().prop_flat_map(|a| (Just(a), body(a))), style in style())
    {
        let raw = styled(&v, style);
        let opts = PolicyOptions { min_chars: 10, ..PolicyOptions::default() };
        let p = plan(api, raw.as_bytes(), &opts).unwrap();
        let out = apply(raw.as_bytes(), &p, &mut halve);
        let parsed: Value = serde_json::from_slice(&out.body).unwrap();
        let mut expected = v.clone();
        let mut at = 0; // position in `raw`
        let mut shift = 0isize; // out offset minus raw offset
        for (label, before, after) in &out.changed {
            let b = p.blocks.iter().find(|b| &b.label == label).unwrap();
            prop_assert_eq!(*before, b.text.chars().count());
            prop_assert!(after < before || b.origin == Origin::Marked);
            let new = parsed.pointer(&pointer(label)).unwrap().as_str().unwrap();
            prop_assert_eq!(new.chars().count(), *after);
            if b.origin == Origin::Marked {
                prop_assert!(!new.contains("<pith>") && !new.to_lowercase().contains("<llmlingua>"));
            }
            *expected.pointer_mut(&pointer(label)).unwrap() = json!(new);
            let gap = &raw.as_bytes()[at..b.span.start];
            let start = (at as isize + shift) as usize;
            prop_assert_eq!(&out.body[start..start + gap.len()], gap);
            let lit_len = serde_json::to_string(new).unwrap().len();
            shift += lit_len as isize - b.span.len() as isize;
            at = b.span.end;
        }
        let tail = &raw.as_bytes()[at..];
        prop_assert_eq!(&out.body[out.body.len() - tail.len()..], tail);
        prop_assert_eq!(out.body.len() as isize, raw.len() as isize + shift);
        prop_assert_eq!(parsed, expected);
    }

    /// Declining every compression changes nothing unless markers must go.
    #[test]
    fn declining_keeps_the_exact_bytes(
        (api, v) in any_api().prop_flat_map(|a| (Just(a), body(a))), style in style())
    {
        let raw = styled(&v, style);
        let opts = PolicyOptions { min_chars: 10, compress_marked: false, ..PolicyOptions::default() };
        let p = plan(api, raw.as_bytes(), &opts).unwrap();
        let out = apply(raw.as_bytes(), &p, &mut |_, _| None);
        prop_assert!(out.changed.is_empty());
        prop_assert_eq!(out.body, raw.into_bytes());
    }
}

#[test]
fn end_to_end_markers_go_and_unplanned_bytes_stay() {
    let raw = br#"{"messages":[{"role":"user","content":"Use <pith>aaaa bbbb cccc</pith> and <LLMLINGUA>zz</LLMLINGUA>."},
  {"role":"assistant","content":"ok \u00e9"},   {"role":"user","content":"<pith>q</pith>"}], "x": 1.50}"#;
    let p = plan(Api::ChatCompletions, raw, &PolicyOptions::default()).unwrap();
    assert_eq!(labels(&p), ["messages[0].content"]);
    let out = apply(raw, &p, &mut |_, t| {
        (t.len() > 2).then(|| "abc".to_string())
    });
    let expected = br#"{"messages":[{"role":"user","content":"Use abc and zz."},
  {"role":"assistant","content":"ok \u00e9"},   {"role":"user","content":"<pith>q</pith>"}], "x": 1.50}"#;
    assert_eq!(
        String::from_utf8(out.body).unwrap(),
        String::from_utf8(expected.to_vec()).unwrap()
    );
    assert_eq!(
        out.changed,
        vec![("messages[0].content".to_string(), 62, 15)]
    );
}

/// The random bodies above do reach every kind of rewrite (the properties are not vacuous).
#[test]
fn random_bodies_exercise_tool_results_and_markers() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let opts = PolicyOptions {
        min_chars: 10,
        ..PolicyOptions::default()
    };
    let mut origins = std::collections::HashSet::new();
    for api in [Api::ChatCompletions, Api::Responses, Api::Messages] {
        for _ in 0..32 {
            let v = body(api).new_tree(&mut runner).unwrap().current();
            let raw = pretty(&v);
            let p = plan(api, &raw, &opts).unwrap();
            let out = apply(&raw, &p, &mut halve);
            for (label, ..) in &out.changed {
                origins.insert(p.blocks.iter().find(|b| &b.label == label).unwrap().origin);
            }
        }
    }
    assert_eq!(origins.len(), 3, "{origins:?}"); // tool results, documents, marked
}
