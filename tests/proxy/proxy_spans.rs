//! The proxy's JSON span parser agrees with serde_json on bodies written in every style
//! (pretty or compact, escaped or not), and rejects exactly what serde_json rejects. The
//! writers here are shared by the policy and rewrite tests.
#![allow(clippy::unwrap_used)]

use pith::proxy::spans::{self, Node};
use proptest::prelude::*;
use serde_json::Value;

// ---------- writing JSON in varied styles ----------

/// How to spell a value: pretty or compact, and whether to escape non-ASCII and `/`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
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

pub(crate) fn styled(v: &Value, style: Style) -> String {
    let mut out = String::new();
    write(v, style, 0, &mut out);
    out
}

pub(crate) fn pretty(v: &Value) -> Vec<u8> {
    let style = Style {
        pretty: true,
        ascii: false,
        slash: false,
    };
    styled(v, style).into_bytes()
}

pub(crate) fn style() -> impl Strategy<Value = Style> {
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
