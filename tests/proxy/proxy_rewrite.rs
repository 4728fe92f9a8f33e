//! The proxy's rewrites: on random conversations of all three APIs, planned blocks are
//! disjoint string literals, a rewrite changes the planned literals and not one other
//! byte, and declining every compression keeps the exact bytes.
#![allow(clippy::unwrap_used)]

use pith::proxy::policy::{Api, Block, Origin, PolicyOptions, plan};
use pith::proxy::rewrite::apply;
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::proxy_policy::labels;
use crate::proxy_spans::{pretty, style, styled};

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
