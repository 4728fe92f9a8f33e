//! The proxy's decision logic: the policy follows DESIGN.md §"The proxy's contract" rule
//! by rule on realistic bodies of all three APIs.
#![allow(clippy::unwrap_used)]

use pith::Lang;
use pith::proxy::policy::{Api, Content, Origin, Plan, PolicyError, PolicyOptions, plan};
use serde_json::{Value, json};

use crate::proxy_spans::pretty;

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

pub(crate) fn labels(p: &Plan) -> Vec<&str> {
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
