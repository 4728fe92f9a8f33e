//! Bad input against a real `pith` proxy: the in-process app on 127.0.0.1 with the real
//! [`Engine`](pith::proxy::engine::Engine) rewriter, in front of the mock upstream of
//! tests/proxy/mock.rs.
//!
//! Every case ends one of two ways: a clear error in the route's provider shape (OpenAI
//! `{"error":{…}}` on /v1/chat/completions and /v1/responses, Anthropic
//! `{"type":"error","error":{…}}` on /v1/messages) that never reached the upstream, or a
//! pass-through whose bytes the upstream saw exactly. Never a panic (pith must still
//! serve afterwards), never a lost request.
#![allow(clippy::unwrap_used)]

use crate::{mock, support};

use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderName, HeaderValue};
use mock::Mock;
use pith::proxy::config::Config;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

// ---- the proxy under test ---------------------------------------------------------------

struct Proxy {
    url: String,
    openai: Mock,
    anthropic: Mock,
}

impl Proxy {
    /// The real engine, as `pith serve` builds it, in front of two mocks.
    async fn start(tweak: impl FnOnce(Config) -> Config) -> Proxy {
        let (openai, anthropic) = (Mock::start().await, Mock::start().await);
        let config = tweak(support::config(&openai, &anthropic));
        let engine = Arc::new(config.engine());
        Proxy {
            url: support::start_proxy(config, engine).await,
            openai,
            anthropic,
        }
    }

    fn upstream(&self, path: &str) -> &Mock {
        if path.starts_with("/v1/messages") {
            &self.anthropic
        } else {
            &self.openai
        }
    }

    async fn send(&self, path: &str, headers: &[(&str, HeaderValue)], body: Vec<u8>) -> Reply {
        let mut request = client()
            .post(format!("{}{path}", self.url))
            .header("content-type", "application/json")
            .body(body);
        for (name, value) in headers {
            request = request.header(HeaderName::from_bytes(name.as_bytes()).unwrap(), value);
        }
        let response = request.send().await.unwrap();
        Reply {
            status: response.status().as_u16(),
            from_upstream: response.headers().contains_key("x-upstream"),
            saved: response.headers().contains_key("x-pith-tokens-saved"),
            pith_error: response
                .headers()
                .get("x-pith-error")
                .map(|v| v.to_str().unwrap().to_owned()),
            body: response.bytes().await.unwrap().to_vec(),
        }
    }

    /// /healthz answers and a plain request is relayed: nothing panicked or wedged. (The
    /// proxy key "k" is sent in case the proxy wants one; it is stripped either way.)
    async fn still_serves(&self) {
        let r = client()
            .get(format!("{}/healthz", self.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let r = self
            .send(
                "/v1/chat/completions",
                &[("x-pith-key", HeaderValue::from_static("k"))],
                br#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#.to_vec(),
            )
            .await;
        assert_eq!((r.status, r.from_upstream), (200, true));
    }

    /// Sends one case and checks it against `expect`.
    async fn check(
        &self,
        label: &str,
        path: &str,
        headers: &[(&str, HeaderValue)],
        body: &[u8],
        expect: Expect,
    ) {
        let upstream = self.upstream(path);
        let before = upstream.seen().len();
        let reply = self.send(path, headers, body.to_vec()).await;
        let seen = upstream.seen();
        match expect {
            Expect::Exact => {
                assert!(reply.from_upstream, "{label} {path}: {reply:?}");
                assert_eq!(seen.len(), before + 1, "{label} {path}: not forwarded once");
                assert!(
                    seen[before].body == body,
                    "{label} {path}: forwarded bytes differ"
                );
                assert!(!reply.saved, "{label} {path}: reported savings");
            }
            Expect::Forwarded => {
                assert!(reply.from_upstream, "{label} {path}: {reply:?}");
                assert_eq!(seen.len(), before + 1, "{label} {path}: not forwarded once");
                let sent = &seen[before].body;
                if sent != body {
                    // A rewrite: reported, still JSON, and smaller.
                    assert!(reply.saved, "{label} {path}: changed without a report");
                    serde_json::from_slice::<Value>(sent).unwrap();
                    assert!(sent.len() < body.len(), "{label} {path}: grew");
                }
            }
            Expect::Error(status) => {
                assert_eq!(reply.status, status, "{label} {path}: {reply:?}");
                assert!(!reply.from_upstream, "{label} {path}");
                assert_eq!(seen.len(), before, "{label} {path}: reached the upstream");
                assert_provider_shape(path, &reply.body);
                assert!(
                    reply.pith_error.is_some(),
                    "{label} {path}: no x-pith-error"
                );
            }
        }
        self.still_serves().await;
    }
}

#[derive(Debug)]
struct Reply {
    status: u16,
    /// The answer came from the mock (pith only relayed it).
    from_upstream: bool,
    saved: bool,
    pith_error: Option<String>,
    body: Vec<u8>,
}

#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Forwarded byte for byte.
    Exact,
    /// Forwarded, byte for byte or compressed (then reported and still JSON).
    Forwarded,
    /// Answered by pith with this status in the provider's shape; never forwarded.
    Error(u16),
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap()
}

/// The error envelope of the provider a route belongs to.
fn assert_provider_shape(path: &str, body: &[u8]) {
    let v: Value = serde_json::from_slice(body)
        .unwrap_or_else(|_| panic!("{path}: not JSON: {}", String::from_utf8_lossy(body)));
    if path.starts_with("/v1/messages") {
        assert_eq!(v["type"], "error", "{v}");
        assert!(v["error"]["type"].is_string(), "{v}");
        assert!(v["error"]["message"].is_string(), "{v}");
    } else {
        assert!(v["error"]["type"].is_string(), "{v}");
        assert!(v["error"]["message"].is_string(), "{v}");
        assert!(v["error"]["code"].is_string(), "{v}");
    }
}

const ROUTES: [&str; 3] = ["/v1/chat/completions", "/v1/responses", "/v1/messages"];

/// A tool result long enough to be compressed (deterministic prose).
fn long_text() -> String {
    (0..120)
        .map(|i| {
            format!(
                "Record {i}: the station at site {} measured {} millimetres of rain and a wind of {} knots. ",
                i * 7 % 31,
                i * 13 % 97,
                i % 40
            )
        })
        .collect()
}

/// A well-formed request for `path` whose one tool result is `result` (compressible by
/// default when long), then a final user turn.
fn with_tool_result(path: &str, result: &str, args: &str) -> Value {
    match path {
        "/v1/messages" => json!({
            "model": "claude-test", "max_tokens": 16,
            "messages": [
                {"role": "user", "content": "what was the rain at site 3?"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "search", "input": {"args": args}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": result}]}
            ]
        }),
        "/v1/responses" => json!({
            "model": "gpt-test",
            "input": [
                {"type": "message", "role": "user", "content": "what was the rain at site 3?"},
                {"type": "function_call", "call_id": "c1", "name": "search", "arguments": args},
                {"type": "function_call_output", "call_id": "c1", "output": result}
            ]
        }),
        _ => json!({
            "model": "gpt-test",
            "messages": [
                {"role": "user", "content": "what was the rain at site 3?"},
                {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "search", "arguments": args}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": result},
                {"role": "user", "content": "and at site 4?"}
            ]
        }),
    }
}

fn bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

// ---- bodies -----------------------------------------------------------------------------

/// Bodies the policy cannot read: forwarded as they are (fail-open, the upstream gives its
/// own error), or — fail-closed — a 400, since retrying the same bytes cannot help.
fn unreadable_bodies() -> Vec<(&'static str, Vec<u8>)> {
    let mut deep = "[".repeat(10_000).into_bytes();
    deep.extend("]".repeat(10_000).bytes());
    let mut deep_object = Vec::new();
    for _ in 0..10_000 {
        deep_object.extend_from_slice(b"{\"a\":");
    }
    deep_object.push(b'1');
    deep_object.extend("}".repeat(10_000).bytes());
    vec![
        (
            "malformed JSON",
            br#"{"model": "m", "messages": [{"role": "user""#.to_vec(),
        ),
        (
            "trailing garbage",
            br#"{"model": "m", "messages": []} x"#.to_vec(),
        ),
        ("empty body", Vec::new()),
        ("not an object", br#"["model", "m"]"#.to_vec()),
        ("null", b"null".to_vec()),
        (
            "messages a string",
            br#"{"model": "m", "messages": "hi", "input": 5}"#.to_vec(),
        ),
        (
            "invalid UTF-8",
            b"{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"\xff\xfe\"}]}"
                .to_vec(),
        ),
        (
            "raw NUL in a string",
            b"{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"a\0b\"}]}"
                .to_vec(),
        ),
        ("10,000-deep arrays", deep),
        ("10,000-deep objects", deep_object),
        (
            "lone surrogate",
            br#"{"model": "m", "messages": [{"role": "user", "content": "\ud800"}]}"#.to_vec(),
        ),
    ]
}

/// Odd but readable bodies: nothing to compress, so forwarded byte for byte.
fn odd_bodies(path: &str) -> Vec<(&'static str, Vec<u8>)> {
    let messages = |m: &str| format!(r#"{{"model": "m", "max_tokens": 5, "messages": {m}}}"#);
    let input = |i: &str| format!(r#"{{"model": "m", "input": {i}}}"#);
    let cases: Vec<(&'static str, String)> = if path == "/v1/responses" {
        vec![
            ("empty input", input("[]")),
            ("input a string", input(r#""hi""#)),
            (
                "input items of every type",
                input(
                    r#"[1, null, "x", [], {"type": 5}, {"type": "function_call_output", "output": 7}]"#,
                ),
            ),
            (
                "empty content",
                input(r#"[{"role": "user", "content": ""}]"#),
            ),
            (
                "content a number",
                input(r#"[{"role": "user", "content": 42}]"#),
            ),
        ]
    } else {
        vec![
            ("empty messages", messages("[]")),
            (
                "messages of every type",
                messages(r#"[1, null, "x", [], {"role": 5}, {"content": {}}]"#),
            ),
            (
                "empty content",
                messages(r#"[{"role": "user", "content": ""}]"#),
            ),
            (
                "content a number",
                messages(r#"[{"role": "user", "content": 42}]"#),
            ),
            (
                "content blocks of every type",
                messages(
                    r#"[{"role": "user", "content": [1, "x", null, {"type": 7}, {"type": "tool_result", "content": 3}, {"type": "tool_result", "content": [5, {"type": "text", "text": 1}]}]}]"#,
                ),
            ),
            (
                "tool result with a number for content",
                messages(
                    r#"[{"role": "tool", "tool_call_id": 5, "content": 5}, {"role": "user", "content": "x"}]"#,
                ),
            ),
            (
                "tool calls of every type",
                messages(
                    r#"[{"role": "assistant", "tool_calls": [1, {"id": 2, "function": 3}, {"id": "c", "function": {"name": 4, "arguments": 5}}]}, {"role": "tool", "tool_call_id": "c", "content": "x"}, {"role": "user", "content": "y"}]"#,
                ),
            ),
        ]
    };
    cases
        .into_iter()
        .map(|(l, b)| (l, b.into_bytes()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn unreadable_bodies_pass_through_or_get_400_fail_closed() {
    let open = Proxy::start(|c| c).await;
    let closed = Proxy::start(|c| Config {
        fail_closed: true,
        ..c
    })
    .await;
    for path in ROUTES {
        for (label, body) in unreadable_bodies() {
            open.check(label, path, &[], &body, Expect::Exact).await;
            closed
                .check(label, path, &[], &body, Expect::Error(400))
                .await;
        }
    }
    // Each was counted as not compressible, not as a compressor failure.
    let cases = ROUTES.len() * unreadable_bodies().len();
    for proxy in [&open, &closed] {
        let m = support::metrics_text(&proxy.url).await;
        assert!(
            m.contains(&format!(
                "pith_compress_failures_total{{reason=\"invalid\"}} {cases}\n"
            )),
            "{m}"
        );
        assert!(
            m.contains("pith_compress_failures_total{reason=\"error\"} 0\n"),
            "{m}"
        );
    }
    // The fail-open answer says why nothing was compressed.
    let r = open.send("/v1/chat/completions", &[], b"{".to_vec()).await;
    assert_eq!(r.status, 400, "the mock's own answer");
    assert!(
        r.pith_error
            .as_deref()
            .is_some_and(|e| e.starts_with("request not compressed: cannot read the request")),
        "{r:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn odd_but_readable_bodies_pass_through_byte_for_byte() {
    for fail_closed in [false, true] {
        let proxy = Proxy::start(|c| Config { fail_closed, ..c }).await;
        for path in ROUTES {
            for (label, body) in odd_bodies(path) {
                proxy.check(label, path, &[], &body, Expect::Exact).await;
            }
        }
    }
}

/// Unknown fields anywhere reach the upstream byte for byte, next to a compressed block
/// as well as in a request left alone.
#[tokio::test(flavor = "multi_thread")]
async fn unknown_fields_pass_through_byte_identical() {
    let proxy = Proxy::start(|c| c).await;
    for path in ROUTES {
        let mut v = with_tool_result(path, &long_text(), "{\"q\": \"rain\"}");
        v["x_unknown_top"] = json!({"nested": [1, 2.50, "\u{1F600}"], "z": null});
        let list = if path == "/v1/responses" {
            "input"
        } else {
            "messages"
        };
        v[list][0]["x_unknown_in_message"] = json!(true);
        let body = bytes(&v);
        let before = proxy.upstream(path).seen().len();
        let r = proxy.send(path, &[], body.clone()).await;
        assert_eq!((r.status, r.saved), (200, true), "{path}: {r:?}");
        let sent = proxy.upstream(path).seen()[before].body.clone();
        let text = String::from_utf8(sent.to_vec()).unwrap();
        for raw in [
            "\"x_unknown_top\":{\"nested\":[1,2.5,\"\u{1F600}\"],\"z\":null}",
            "\"x_unknown_in_message\":true",
        ] {
            assert!(text.contains(raw), "{path}: {raw} not forwarded as sent");
        }
        // Everything but the tool result is byte-identical.
        let prefix = body.iter().zip(&sent).take_while(|(a, b)| a == b).count();
        let suffix = body
            .iter()
            .rev()
            .zip(sent.iter().rev())
            .take_while(|(a, b)| a == b)
            .count();
        let changed = String::from_utf8_lossy(&body[prefix..body.len() - suffix]);
        assert!(
            serde_json::to_string(&long_text())
                .unwrap()
                .contains(&*changed),
            "{path}: bytes outside the tool result changed"
        );
        // And without anything to compress, the whole body is untouched.
        let small = bytes(
            &json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": "hi", "x_u": [{}]}], "input": "hi", "x_top": {"a": "\u{0}"}}),
        );
        proxy
            .check("unknown fields", path, &[], &small, Expect::Exact)
            .await;
    }
}

/// Escaped NULs (`\u0000`) are valid JSON text: a tool result full of them is compressed
/// or left alone like any other, and what reaches the upstream is still valid JSON.
#[tokio::test(flavor = "multi_thread")]
async fn escaped_nul_characters_are_handled() {
    let proxy = Proxy::start(|c| c).await;
    let text = long_text().replace(' ', "\u{0}");
    for path in ROUTES {
        let body = bytes(&with_tool_result(path, &text, "{}"));
        assert!(String::from_utf8_lossy(&body).contains("\\u0000"));
        proxy
            .check("escaped NULs", path, &[], &body, Expect::Forwarded)
            .await;
    }
}

/// Deep nesting inside a tool result's *text* (JSON, code) reaches the compressor's
/// segmenters, not the request parser: it must not overflow their stacks either.
#[tokio::test(flavor = "multi_thread")]
async fn deeply_nested_tool_results_do_not_crash_the_compressor() {
    let proxy = Proxy::start(|c| c).await;
    let n = 10_000;
    let json_text = format!("{}{}", "[".repeat(n), "]".repeat(n));
    let json_120 = format!(
        "{}{}{}",
        "[".repeat(120),
        "1,".repeat(3000) + "1",
        "]".repeat(120)
    );
    let python = format!(
        "import os\n\ndef main():\n    x = {}1{}\n    return x\n",
        "(".repeat(n),
        ")".repeat(n)
    );
    let js = format!(
        "function f() {{\n  const x = {}1{};\n  return x;\n}}\n",
        "[".repeat(n),
        "]".repeat(n)
    );
    let rust = format!(
        "fn main() {{\n    let x = {}1{};\n}}\n",
        "{".repeat(n),
        "}".repeat(n)
    );
    let cases = [
        ("10,000-deep JSON text", json_text.as_str(), "{}"),
        ("120-deep JSON text", json_120.as_str(), "{}"),
        (
            "10,000-deep Python",
            python.as_str(),
            "{\"path\": \"deep.py\"}",
        ),
        (
            "10,000-deep JavaScript",
            js.as_str(),
            "{\"path\": \"deep.js\"}",
        ),
        ("10,000-deep Rust", rust.as_str(), "{\"path\": \"deep.rs\"}"),
        ("10,000-deep code, no language", rust.as_str(), "{}"),
    ];
    for path in ROUTES {
        for (label, text, args) in cases {
            let body = bytes(&with_tool_result(path, text, args));
            proxy
                .check(label, path, &[], &body, Expect::Forwarded)
                .await;
        }
    }
}

// ---- sizes ------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn bodies_over_max_body_get_413_in_the_provider_shape() {
    let proxy = Proxy::start(|c| Config {
        max_body: 4096,
        ..c
    })
    .await;
    for path in ROUTES {
        let body = bytes(&with_tool_result(path, &long_text(), "{}"));
        assert!(body.len() > 4096);
        proxy
            .check("over max_body", path, &[], &body, Expect::Error(413))
            .await;
        let small = bytes(&with_tool_result(path, "short", "{}"));
        proxy
            .check("under max_body", path, &[], &small, Expect::Exact)
            .await;
    }
}

/// A ~100 MB body under a larger limit reaches the upstream intact. Its bulk is the final
/// user turn (never compressed), so this measures the relay, not the compressor.
#[tokio::test(flavor = "multi_thread")]
async fn a_100_mb_body_is_forwarded_intact() {
    let proxy = Proxy::start(|c| Config {
        max_body: 200 << 20,
        ..c
    })
    .await;
    let filler: String = (0..100_000_000u64)
        .map(|i| char::from(b'a' + (i * 7919 % 26) as u8))
        .collect();
    let body = bytes(&json!({
        "model": "gpt-test",
        "messages": [{"role": "user", "content": filler}]
    }));
    drop(filler);
    assert!(body.len() > 100_000_000);
    let want = Sha256::digest(&body);
    let r = proxy.send("/v1/chat/completions", &[], body.clone()).await;
    assert_eq!(
        (r.status, r.from_upstream),
        (200, true),
        "{:?}",
        r.pith_error
    );
    let seen = proxy.openai.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(Sha256::digest(&seen[0].body), want);
    proxy.still_serves().await;
}

// ---- control headers --------------------------------------------------------------------

fn text(v: &str) -> HeaderValue {
    HeaderValue::from_str(v).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn control_headers_are_checked() {
    let proxy = Proxy::start(|c| c).await;
    for path in ROUTES {
        let body = bytes(&with_tool_result(path, &long_text(), "{}"));
        let bad = [
            ("x-pith-budget", text("-5")),
            ("x-pith-budget", text("1.5")),
            ("x-pith-budget", text("99999999999999999999999999")),
            ("x-pith-budget", text("")),
            ("x-pith-ratio", text("abc")),
            ("x-pith-ratio", text("")),
            ("x-pith-ratio", text("0")),
            ("x-pith-ratio", text("-2")),
            ("x-pith-ratio", text("inf")),
            ("x-pith-ratio", text("NaN")),
            ("x-pith-bypass", text("maybe")),
            ("x-pith-preset", text("no-such-preset")),
            ("x-pith-preset", text("/etc/passwd")),
            ("x-pith-preset", text("compressors/rag.toml")),
            ("x-pith-budget", HeaderValue::from_bytes(b"\xff12").unwrap()),
            ("x-pith-ratio", HeaderValue::from_bytes(b"2\xfe").unwrap()),
            ("x-pith-preset", HeaderValue::from_bytes(b"r\xe9g").unwrap()),
        ];
        for (name, value) in bad {
            let label = format!("{name}: {value:?}");
            proxy
                .check(&label, path, &[(name, value)], &body, Expect::Error(400))
                .await;
        }
        let fine = [
            ("x-pith-budget", "0"),
            ("x-pith-budget", "1"),
            ("x-pith-budget", "18446744073709551615"),
            ("x-pith-ratio", "1"),
            ("x-pith-ratio", "1e308"),
            ("x-pith-ratio", " 3 "),
            ("x-pith-preset", "chat"),
            ("x-pith-preset", ""),
        ];
        for (name, value) in fine {
            let label = format!("{name}: {value:?}");
            proxy
                .check(
                    &label,
                    path,
                    &[(name, text(value))],
                    &body,
                    Expect::Forwarded,
                )
                .await;
        }
        // A budget at or above the whole request leaves it alone.
        for budget in ["1000000", "18446744073709551615"] {
            proxy
                .check(
                    "budget above the input",
                    path,
                    &[("x-pith-budget", text(budget))],
                    &body,
                    Expect::Exact,
                )
                .await;
        }
    }
}

/// Header values that are not UTF-8: a credential is forwarded as its exact bytes, a
/// control header is a 400, a proxy key a 401.
#[tokio::test(flavor = "multi_thread")]
async fn non_utf8_header_values() {
    let proxy = Proxy::start(|c| Config {
        proxy_key: Some("k".into()),
        ..c
    })
    .await;
    let body = br#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#;
    let key = ("x-pith-key", text("k"));
    let odd = HeaderValue::from_bytes(b"Bearer sk-\xff\xfe\x80").unwrap();
    let r = proxy
        .send(
            "/v1/chat/completions",
            &[key.clone(), ("authorization", odd.clone())],
            body.to_vec(),
        )
        .await;
    assert_eq!((r.status, r.from_upstream), (200, true));
    let seen = proxy.openai.seen();
    assert_eq!(seen[0].headers["authorization"].as_bytes(), odd.as_bytes());
    assert_eq!(seen[0].body, body.as_slice());
    let r = proxy
        .send(
            "/v1/messages",
            &[("x-pith-key", HeaderValue::from_bytes(b"k\xff").unwrap())],
            body.to_vec(),
        )
        .await;
    assert_eq!(r.status, 401);
    assert_provider_shape("/v1/messages", &r.body);

    // Over raw TCP, to send bytes no client library would.
    let addr = proxy.url.trim_start_matches("http://").to_owned();
    let raw = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nx-pith-key: k\r\nx-pith-ratio: \u{0}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let answer = raw_exchange(&addr, &[raw.as_bytes(), body].concat()).await;
    // hyper refuses a NUL in a header value before pith sees the request.
    assert!(
        answer.starts_with(b"HTTP/1.1 400"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    let mut raw =
        b"POST /v1/messages HTTP/1.1\r\nhost: x\r\nx-pith-key: k\r\nx-pith-budget: \xc3\x28\r\n"
            .to_vec();
    raw.extend(
        format!(
            "content-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        )
        .bytes(),
    );
    raw.extend_from_slice(body);
    let answer = raw_exchange(&addr, &raw).await;
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    let json_start = text.find("\r\n\r\n").unwrap() + 4;
    assert_provider_shape("/v1/messages", text[json_start..].as_bytes());
    assert_eq!(proxy.anthropic.seen().len(), 0);
    proxy.still_serves().await;
}

/// Writes `request` on a fresh connection and reads until the server closes it.
async fn raw_exchange(addr: &str, request: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut answer))
        .await
        .expect("the server answered and closed")
        .unwrap();
    answer
}

// ---- the upstream is not the request's to choose ----------------------------------------

/// Counts connections to a listener that must never be reached.
async fn evil_listener() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let h = hits.clone();
    tokio::spawn(async move {
        while let Ok((_stream, _)) = listener.accept().await {
            h.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    (addr, hits)
}

/// Host, absolute-form targets, forwarding headers and odd paths cannot send a request
/// anywhere but the configured upstream, nor out of its base path (`/gw` here).
#[tokio::test(flavor = "multi_thread")]
async fn requests_cannot_choose_the_upstream() {
    let (evil, hits) = evil_listener().await;
    let proxy = Proxy::start(|c| Config {
        openai_upstream: format!("{}/gw", c.openai_upstream),
        ..c
    })
    .await;
    let addr = proxy.url.trim_start_matches("http://").to_owned();
    let body = br#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#;
    let request = |line: &str, extra: &str| {
        let head = format!(
            "{line}\r\nhost: {evil}\r\n{extra}content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        [head.as_bytes(), body].concat()
    };
    // (request line, extra headers, status line prefix, the URI the mock must see)
    let cases: Vec<(String, String, &str, Option<String>)> = vec![
        (
            "POST /v1/chat/completions HTTP/1.1".into(),
            String::new(),
            "HTTP/1.1 200",
            Some("/gw/v1/chat/completions".into()),
        ),
        (
            format!("POST http://{evil}/v1/chat/completions HTTP/1.1"),
            String::new(),
            "HTTP/1.1 200",
            Some("/gw/v1/chat/completions".into()),
        ),
        (
            "POST /v1/chat/completions?x=1 HTTP/1.1".into(),
            format!(
                "x-forwarded-host: {evil}\r\nforwarded: host={evil};proto=http\r\nx-forwarded-proto: http\r\nx-original-url: http://{evil}/\r\n"
            ),
            "HTTP/1.1 200",
            Some("/gw/v1/chat/completions?x=1".into()),
        ),
        (
            format!("POST /v1/@{evil}/chat HTTP/1.1"),
            String::new(),
            "HTTP/1.1 200",
            Some(format!("/gw/v1/@{evil}/chat")),
        ),
        (
            format!("POST //{evil}/v1/chat/completions HTTP/1.1"),
            String::new(),
            "HTTP/1.1 404",
            None,
        ),
        (
            "POST /v1/../../x HTTP/1.1".into(),
            String::new(),
            "HTTP/1.1 400",
            None,
        ),
        (
            "POST /v1/%2e%2E/%2E%2e/x HTTP/1.1".into(),
            String::new(),
            "HTTP/1.1 400",
            None,
        ),
        (
            "POST /v1/./chat/completions HTTP/1.1".into(),
            String::new(),
            "HTTP/1.1 400",
            None,
        ),
        (
            "POST /v1\\..\\..\\x HTTP/1.1".into(),
            String::new(),
            "HTTP/1.1 404",
            None,
        ),
        (
            "POST /v1/chat\\..\\..\\x HTTP/1.1".into(),
            String::new(),
            "HTTP/1.1 400",
            None,
        ),
        (
            format!("CONNECT {evil} HTTP/1.1"),
            String::new(),
            "HTTP/1.1 4",
            None,
        ),
    ];
    for (line, extra, status, uri) in cases {
        let before = proxy.openai.seen().len();
        let answer = raw_exchange(&addr, &request(&line, &extra)).await;
        let text = String::from_utf8_lossy(&answer);
        assert!(text.starts_with(status), "{line}: {text}");
        let seen = proxy.openai.seen();
        match &uri {
            Some(uri) => {
                assert_eq!(seen.len(), before + 1, "{line}");
                assert_eq!(
                    (seen[before].method.as_str(), seen[before].uri.as_str()),
                    ("POST", uri.as_str()),
                    "{line}"
                );
                assert_eq!(seen[before].headers["host"], proxy.openai.addr.to_string());
            }
            None => assert_eq!(seen.len(), before, "{line}: forwarded"),
        }
        // A JSON error of pith's own is in the provider's shape.
        if let Some(i) = text.find("\r\n\r\n")
            && text.contains("x-pith-error")
        {
            assert_provider_shape("/v1/chat/completions", text[i + 4..].as_bytes());
        }
    }
    assert!(proxy.anthropic.seen().is_empty());
    assert_eq!(
        hits.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "the evil listener was reached"
    );
    proxy.still_serves().await;
}
