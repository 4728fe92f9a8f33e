//! `pith serve` against a real mock upstream on 127.0.0.1:0: bytes, headers, streaming,
//! cancellation, limits and auth through real sockets, and the official Python SDKs
//! (tests/sdk/*.py) run straight at the mock and through pith, which must look the same.
#![allow(clippy::unwrap_used)]

use crate::{mock, support};

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, StatusCode};
use mock::{Mock, error_answer, json_answer, sse_chunks};
use pith::proxy::config::Config;
use pith::proxy::server::{
    self, Api, AppState, Control, Identity, Rewrite, RewriteError, Rewriter,
};
use serde_json::Value;
use support::{BODY, client, config, metrics_text, pith_serve, post, start_proxy};
use tokio::net::TcpListener;
use tower::ServiceExt;

#[tokio::test(flavor = "multi_thread")]
async fn unchanged_request_is_forwarded_byte_for_byte_and_the_answer_relayed() {
    let (openai, anthropic) = (Mock::start().await, Mock::start().await);
    let proxy = start_proxy(config(&openai, &anthropic), Arc::new(Identity)).await;
    // End-to-end headers, which reach the upstream as sent; then hop-by-hop ones and
    // pith's own.
    let kept = [
        ("authorization", "Bearer sk-test"),
        ("openai-organization", "org-1"),
        ("x-stainless-lang", "python"),
        ("x-custom", "a"),
        ("accept-encoding", "gzip, br"),
        ("content-type", "application/json"),
    ];
    let dropped = [
        ("connection", "keep-alive, x-hop"),
        ("x-hop", "1"),
        ("keep-alive", "timeout=5"),
        ("x-pith-budget", "100"),
    ];
    let r = post(
        format!("{proxy}/v1/chat/completions?api-version=2"),
        &[&kept[..], &dropped[..]].concat(),
        BODY,
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["x-upstream"], "mock");
    assert_eq!(r.headers["x-request-id"], "req_1");
    assert!(r.headers.contains_key("x-pith-compress-ms"));
    assert!(!r.headers.contains_key("x-pith-tokens-saved"));
    let req: Value = serde_json::from_str(BODY).unwrap();
    assert_eq!(
        r.body,
        json_answer("/v1/chat/completions", &req).to_string()
    );

    let seen = openai.seen();
    assert_eq!(seen.len(), 1);
    assert!(anthropic.seen().is_empty());
    let s = &seen[0];
    assert_eq!(
        (s.method.as_str(), s.uri.as_str()),
        ("POST", "/v1/chat/completions?api-version=2")
    );
    assert_eq!(s.body, BODY.as_bytes());
    for (k, v) in kept {
        assert_eq!(s.headers[k], v, "{k}");
    }
    assert_eq!(s.headers["content-length"], BODY.len().to_string());
    assert_eq!(s.headers["host"], openai.addr.to_string());
    for gone in ["x-hop", "keep-alive", "x-pith-budget"] {
        assert!(!s.headers.contains_key(gone), "{gone} was forwarded");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn upstream_errors_are_relayed_unchanged() {
    let (openai, anthropic) = (Mock::start().await, Mock::start().await);
    let proxy = start_proxy(config(&openai, &anthropic), Arc::new(Identity)).await;
    for (path, status) in [("/v1/chat/completions", 429), ("/v1/messages", 529)] {
        let body = format!("{{\"model\":\"status-{status}\",\"messages\":[]}}");
        let r = post(format!("{proxy}{path}"), &[], body).await;
        assert_eq!(r.status, status);
        assert_eq!(r.headers["retry-after"], "7");
        assert_eq!(r.body, error_answer(path, status).to_string());
    }
    assert_eq!((openai.seen().len(), anthropic.seen().len()), (1, 1));
}

#[tokio::test(flavor = "multi_thread")]
async fn sse_is_relayed_identically_and_incrementally() {
    let (openai, anthropic) = (Mock::start().await, Mock::start().await);
    let proxy = start_proxy(config(&openai, &anthropic), Arc::new(Identity)).await;
    let mut response = client()
        .post(format!("{proxy}/v1/messages"))
        .body("{\"model\":\"slow\",\"stream\":true,\"messages\":[]}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let chunks = sse_chunks("/v1/messages");
    // The upstream holds back everything after its first chunk until released: the first
    // chunk must reach the client before the upstream has finished.
    let first = tokio::time::timeout(Duration::from_secs(5), response.chunk())
        .await
        .expect("first chunk relayed before the upstream finished")
        .unwrap()
        .unwrap();
    assert_eq!(first, chunks[0].as_bytes());
    anthropic.state.release.notify_one();
    let mut all = first.to_vec();
    while let Some(c) = response.chunk().await.unwrap() {
        all.extend_from_slice(&c);
    }
    assert_eq!(all, chunks.concat().as_bytes());
}

#[tokio::test(flavor = "multi_thread")]
async fn client_disconnect_cancels_the_upstream_request() {
    let (openai, anthropic) = (Mock::start().await, Mock::start().await);
    let proxy = start_proxy(config(&openai, &anthropic), Arc::new(Identity)).await;
    let closed = openai.state.closed_notify.notified();
    tokio::pin!(closed);
    closed.as_mut().enable();
    let mut response = client()
        .post(format!("{proxy}/v1/chat/completions"))
        .body("{\"model\":\"hang\",\"stream\":true,\"messages\":[]}")
        .send()
        .await
        .unwrap();
    let first = response.chunk().await.unwrap().unwrap();
    assert!(first.starts_with(b"data: "));
    assert_eq!(openai.state.closed.load(Ordering::SeqCst), 0);
    drop(response);
    tokio::time::timeout(Duration::from_secs(5), closed)
        .await
        .expect("the upstream saw its connection closed");
    assert_eq!(openai.state.closed.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn other_v1_paths_pass_through_to_the_upstream_the_rule_picks() {
    let (openai, anthropic) = (Mock::start().await, Mock::start().await);
    let proxy = start_proxy(config(&openai, &anthropic), Arc::new(Identity)).await;
    let c = client();
    let r = c
        .get(format!("{proxy}/v1/models?limit=2&after=m%201"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    c.post(format!("{proxy}/v1/messages/batches?beta=true"))
        .body("{\"requests\":[]}")
        .send()
        .await
        .unwrap();
    c.get(format!("{proxy}/v1/models"))
        .header("anthropic-version", "2023-06-01")
        .send()
        .await
        .unwrap();
    c.delete(format!("{proxy}/v1/files/file-1"))
        .send()
        .await
        .unwrap();
    let o: Vec<(String, String)> = openai
        .seen()
        .into_iter()
        .map(|s| (s.method, s.uri))
        .collect();
    let a: Vec<(String, String, Bytes)> = anthropic
        .seen()
        .into_iter()
        .map(|s| (s.method, s.uri, s.body))
        .collect();
    assert_eq!(
        o,
        [
            ("GET".into(), "/v1/models?limit=2&after=m%201".into()),
            ("DELETE".into(), "/v1/files/file-1".into())
        ]
    );
    assert_eq!(a[0].1, "/v1/messages/batches?beta=true");
    assert_eq!(a[0].2, "{\"requests\":[]}");
    assert_eq!((a[1].0.as_str(), a[1].1.as_str()), ("GET", "/v1/models"));
    assert!(!openai.seen()[0].headers.contains_key("content-length"));
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_bodies_get_413_in_the_provider_shape() {
    let (openai, anthropic) = (Mock::start().await, Mock::start().await);
    let proxy = start_proxy(
        Config {
            max_body: 1000,
            ..config(&openai, &anthropic)
        },
        Arc::new(Identity),
    )
    .await;
    let big = "x".repeat(2000);
    let r = post(format!("{proxy}/v1/messages"), &[], big.clone()).await;
    assert_eq!(r.status, 413);
    let v = r.json();
    assert_eq!(
        (v["type"].as_str(), v["error"]["type"].as_str()),
        (Some("error"), Some("request_too_large"))
    );
    // Chunked, without Content-Length: the limit holds while reading.
    let stream = futures_util::stream::iter(
        (0..4).map(|_| Ok::<_, std::io::Error>(Bytes::from("y".repeat(400)))),
    );
    let body = reqwest::Body::wrap_stream(stream);
    let r = post(format!("{proxy}/v1/chat/completions"), &[], body).await;
    assert_eq!(r.status, 413);
    assert_eq!(r.json()["error"]["code"], "request_too_large");
    assert!(openai.seen().is_empty() && anthropic.seen().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn proxy_key_is_required_and_stripped() {
    let (openai, anthropic) = (Mock::start().await, Mock::start().await);
    let proxy = start_proxy(
        Config {
            proxy_key: Some("s3cret".into()),
            ..config(&openai, &anthropic)
        },
        Arc::new(Identity),
    )
    .await;
    let (messages, chat) = (
        format!("{proxy}/v1/messages"),
        format!("{proxy}/v1/chat/completions"),
    );
    for key in [None, Some(("x-pith-key", "wrong"))] {
        let r = post(&messages, key.as_slice(), "{}").await;
        assert_eq!(r.status, 401);
        assert_eq!(r.json()["error"]["type"], "authentication_error");
    }
    let r = post(&chat, &[], BODY).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"]["code"], "invalid_api_key");
    let r = post(&chat, &[("x-pith-key", "s3cret")], BODY).await;
    assert_eq!(r.status, 200);
    assert_eq!(openai.seen().len(), 1);
    assert!(!openai.seen()[0].headers.contains_key("x-pith-key"));
    assert!(anthropic.seen().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn unreachable_upstream_is_a_502_in_the_provider_shape() {
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let proxy = start_proxy(
        Config {
            openai_upstream: dead.clone(),
            anthropic_upstream: dead,
            ..Config::default()
        },
        Arc::new(Identity),
    )
    .await;
    let r = post(format!("{proxy}/v1/messages"), &[], "{}").await;
    assert_eq!(r.status, 502);
    assert!(r.headers.contains_key("x-pith-error"));
    assert_eq!(r.json()["error"]["type"], "api_error");
}

// ---- the rewrite hook -------------------------------------------------------------------

/// Panics with a message that quotes the body, as a slicing bug would.
struct PanickingRewriter;

impl Rewriter for PanickingRewriter {
    fn rewrite(
        &self,
        _: Api,
        _: &Control,
        _: &HeaderMap,
        body: &Bytes,
    ) -> Result<Option<Rewrite>, RewriteError> {
        panic!("bad index in {}", String::from_utf8_lossy(body));
    }
}

/// A panicking rewriter fails like any other failure, and what it said (which may quote
/// the request) stays out of the answer.
#[tokio::test(flavor = "multi_thread")]
async fn a_panicking_rewriter_fails_open_without_quoting_the_body() {
    let (openai, anthropic) = (Mock::start().await, Mock::start().await);
    let body = BODY.replace("hi", "SECRET-TEXT");
    let open = start_proxy(config(&openai, &anthropic), Arc::new(PanickingRewriter)).await;
    let r = post(format!("{open}/v1/chat/completions"), &[], body.clone()).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.headers["x-pith-error"],
        "compression failed: the compressor panicked"
    );
    assert_eq!(openai.seen()[0].body, body);
    let closed = start_proxy(
        Config {
            fail_closed: true,
            ..config(&openai, &anthropic)
        },
        Arc::new(PanickingRewriter),
    )
    .await;
    let r = post(format!("{closed}/v1/messages"), &[], body).await;
    assert_eq!(r.status, 500);
    let text = r.text();
    assert!(
        text.contains("panicked") && !text.contains("SECRET"),
        "{text}"
    );
    let m = metrics_text(&open).await;
    assert!(
        m.contains("pith_compress_failures_total{reason=\"error\"} 1\n"),
        "{m}"
    );
}

/// Replaces the body with a fixed one, or fails, and records the control it was given.
struct TestRewriter {
    fail: bool,
    calls: std::sync::Mutex<Vec<(Api, Control)>>,
}

impl Rewriter for TestRewriter {
    fn rewrite(
        &self,
        api: Api,
        control: &Control,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> Result<Option<Rewrite>, RewriteError> {
        assert!(!headers.keys().any(|k| k.as_str().starts_with("x-pith-")));
        self.calls.lock().unwrap().push((api, control.clone()));
        if self.fail {
            return Err("boom".into());
        }
        let text = std::str::from_utf8(body).map_err(|e| e.to_string())?;
        Ok(Some(Rewrite {
            body: Bytes::from(text.replace("hi", "h")),
            tokens_before: 10,
            tokens_after: 4,
            blocks: vec!["messages[0]".into(), "messages[2].content".into()],
            presets: vec!["test".into()],
        }))
    }
}

fn test_rewriter(fail: bool) -> Arc<TestRewriter> {
    Arc::new(TestRewriter {
        fail,
        calls: std::sync::Mutex::new(Vec::new()),
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn rewritten_bodies_are_forwarded_and_reported() {
    let (openai, anthropic) = (Mock::start().await, Mock::start().await);
    let rewriter = test_rewriter(false);
    let proxy = start_proxy(config(&openai, &anthropic), rewriter.clone()).await;
    let control = [("x-pith-budget", "50"), ("x-pith-preset", "chat")];
    let r = post(format!("{proxy}/v1/chat/completions"), &control, BODY).await;
    assert_eq!(r.status, 200);
    let h = &r.headers;
    assert_eq!(h["x-pith-tokens-before"], "10");
    assert_eq!(h["x-pith-tokens-after"], "4");
    assert_eq!(h["x-pith-tokens-saved"], "6");
    assert_eq!(h["x-pith-compressed"], "messages[0],messages[2].content");
    let seen = openai.seen();
    assert_eq!(seen[0].body, BODY.replace("hi", "h"));
    assert_eq!(
        seen[0].headers["content-length"],
        BODY.replace("hi", "h").len().to_string()
    );
    let calls = rewriter.calls.lock().unwrap().clone();
    assert_eq!(calls[0].0, Api::ChatCompletions);
    assert_eq!(
        (calls[0].1.budget, calls[0].1.preset.as_deref()),
        (Some(50), Some("chat"))
    );

    // Bypass: the rewriter is not asked and the original goes through.
    post(
        format!("{proxy}/v1/messages"),
        &[("x-pith-bypass", "1")],
        BODY,
    )
    .await;
    assert_eq!(anthropic.seen()[0].body, BODY);
    assert_eq!(rewriter.calls.lock().unwrap().len(), 1);

    // A malformed control header is the client's mistake.
    let r = post(
        format!("{proxy}/v1/messages"),
        &[("x-pith-ratio", "0.5")],
        BODY,
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["type"], "invalid_request_error");
}

#[tokio::test(flavor = "multi_thread")]
async fn failures_fail_open_unless_fail_closed() {
    let (openai, anthropic) = (Mock::start().await, Mock::start().await);
    let open = start_proxy(config(&openai, &anthropic), test_rewriter(true)).await;
    let r = post(format!("{open}/v1/responses"), &[], BODY).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["x-pith-error"], "compression failed: boom");
    assert_eq!(openai.seen()[0].body, BODY);

    let closed = start_proxy(
        Config {
            fail_closed: true,
            ..config(&openai, &anthropic)
        },
        test_rewriter(true),
    )
    .await;
    let r = post(format!("{closed}/v1/messages/count_tokens"), &[], BODY).await;
    assert_eq!(r.status, 500);
    let v = r.json();
    assert_eq!(v["type"], "error");
    assert!(v["error"]["message"].as_str().unwrap().contains("boom"));
    assert!(anthropic.seen().is_empty());
}

// ---- without a socket -----------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn healthz_metrics_and_non_v1_paths() {
    let state = AppState::new(Config::default(), Arc::new(Identity)).unwrap();
    state.metrics().request("messages", 200);
    state.metrics().tokens(30, 10);
    let app = server::app(state);
    let call = |uri: &str, body: &'static str| {
        let request = Request::builder()
            .uri(uri)
            .header("content-length", body.len())
            .body(Body::from(body))
            .unwrap();
        app.clone().oneshot(request)
    };
    let r = call("/healthz", "").await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = call("/metrics", "").await.unwrap();
    assert_eq!(r.headers()["content-type"], "text/plain; version=0.0.4");
    let text = axum::body::to_bytes(r.into_body(), usize::MAX)
        .await
        .unwrap();
    let text = std::str::from_utf8(&text).unwrap();
    assert!(text.contains("pith_requests_total{route=\"messages\",status=\"200\"} 1\n"));
    assert!(text.contains("pith_tokens_saved_total 20\n"));
    let r = call("/v2/whatever", "").await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = call("/metrics", "").await.unwrap();
    let text = axum::body::to_bytes(r.into_body(), usize::MAX)
        .await
        .unwrap();
    assert!(
        std::str::from_utf8(&text)
            .unwrap()
            .contains("route=\"other\",status=\"404\"} 1")
    );
}

/// Runs an SDK script against `base`; returns its standard output.
async fn run_sdk(script: &str, base: String) -> String {
    let path = format!("{}/tests/sdk/{script}", env!("CARGO_MANIFEST_DIR"));
    let out = tokio::task::spawn_blocking(move || {
        crate::prereq::python3()
            .arg(path)
            .env("PITH_BASE_URL", base)
            .output()
            .expect("python3 runs")
    })
    .await
    .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert_ne!(
        out.status.code(),
        Some(3),
        "{stderr}: run scripts/setup to install the SDKs"
    );
    assert!(out.status.success(), "{script} failed:\n{stdout}\n{stderr}");
    stdout
}

/// The SDK sees the same answers, errors and exceptions through pith as straight from
/// the upstream, and the upstream sees the same requests.
async fn sdk_same_through_pith(script: &str, anthropic_sdk: bool) {
    let (direct_mock, openai, anthropic) = (
        Mock::start().await,
        Mock::start().await,
        Mock::start().await,
    );
    let served = pith_serve(&openai, &anthropic);
    let suffix = if anthropic_sdk { "" } else { "/v1" };
    let direct = run_sdk(script, format!("{}{suffix}", direct_mock.url())).await;
    let proxied = run_sdk(script, format!("{}{suffix}", served.url)).await;
    assert_eq!(direct, proxied);
    assert!(direct.ends_with("ok\n"), "{direct}");
    let upstream = if anthropic_sdk { &anthropic } else { &openai };
    let other = if anthropic_sdk { &openai } else { &anthropic };
    let key = |s: mock::Seen| (s.method, s.uri, s.body);
    let expected: Vec<_> = direct_mock.seen().into_iter().map(key).collect();
    let got: Vec<_> = upstream.seen().into_iter().map(key).collect();
    assert_eq!(got, expected);
    assert!(other.seen().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn openai_sdk_through_pith() {
    sdk_same_through_pith("openai_client.py", false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn anthropic_sdk_through_pith() {
    sdk_same_through_pith("anthropic_client.py", true).await;
}

/// A long tool result sent by each SDK through `pith serve` reaches the upstream
/// compressed; every other byte of the request is what the SDK sent.
#[tokio::test(flavor = "multi_thread")]
async fn sdk_tool_results_arrive_compressed_and_the_rest_byte_identical() {
    let essay = crate::prereq::shared("eval/niah/founders.txt");
    assert!(essay.exists(), "{} is missing", essay.display());
    for (sdk, anthropic_sdk) in [("openai", false), ("anthropic", true)] {
        let (direct_mock, openai, anthropic) = (
            Mock::start().await,
            Mock::start().await,
            Mock::start().await,
        );
        let served = pith_serve(&openai, &anthropic);
        let suffix = if anthropic_sdk { "" } else { "/v1" };
        let run = |base: String| {
            let essay = essay.clone();
            tokio::task::spawn_blocking(move || {
                crate::prereq::python3()
                    .arg(format!(
                        "{}/tests/sdk/compress_client.py",
                        env!("CARGO_MANIFEST_DIR")
                    ))
                    .arg(sdk)
                    .env("PITH_BASE_URL", base)
                    .env("PITH_TOOL_TEXT", essay)
                    .output()
                    .expect("python3 runs")
            })
        };
        let direct = run(format!("{}{suffix}", direct_mock.url())).await.unwrap();
        let proxied = run(format!("{}{suffix}", served.url)).await.unwrap();
        for out in [&direct, &proxied] {
            assert_ne!(
                out.status.code(),
                Some(3),
                "run scripts/setup to install the SDKs"
            );
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let proxied_out = String::from_utf8_lossy(&proxied.stdout);
        assert!(
            proxied_out.contains("saved: ") && !proxied_out.contains("saved: None"),
            "{proxied_out}"
        );
        let sent = direct_mock.seen().pop().unwrap().body;
        let got = if anthropic_sdk {
            anthropic.seen()
        } else {
            openai.seen()
        }
        .pop()
        .unwrap()
        .body;
        assert!(
            got.len() < sent.len() * 3 / 4,
            "{} → {} bytes",
            sent.len(),
            got.len()
        );
        // The bytes that differ lie inside the tool result's JSON string.
        let prefix = sent
            .iter()
            .zip(got.iter())
            .take_while(|(a, b)| a == b)
            .count();
        let suffix = sent
            .iter()
            .rev()
            .zip(got.iter().rev())
            .take_while(|(a, b)| a == b)
            .count();
        let changed = String::from_utf8_lossy(&sent[prefix..sent.len() - suffix]).into_owned();
        let literal = serde_json::to_string(&std::fs::read_to_string(&essay).unwrap()).unwrap();
        assert!(
            literal.contains(&changed),
            "{sdk}: bytes outside the tool result changed: {changed:.200}"
        );
        let v: serde_json::Value = serde_json::from_slice(&got).unwrap();
        let text = if anthropic_sdk {
            &v["messages"][2]["content"][0]["content"]
        } else {
            &v["messages"][3]["content"]
        };
        assert!(text.as_str().unwrap().contains("[…]"), "{sdk}: {text}");
    }
}

/// The log says what happened to a request, never its credentials or (without
/// `--log-bodies`) its content.
#[tokio::test(flavor = "multi_thread")]
async fn logs_hold_no_keys_and_no_bodies() {
    let (openai, anthropic) = (Mock::start().await, Mock::start().await);
    let served = pith_serve(&openai, &anthropic);
    let url = served.url.clone();
    let json = ("content-type", "application/json");
    let r = post(
        format!("{url}/v1/chat/completions"),
        &[("authorization", "Bearer sk-SECRET-KEY-123"), json],
        r#"{"model":"gpt-test","messages":[{"role":"user","content":"SECRET-BODY-TEXT"}]}"#,
    )
    .await;
    assert_eq!(r.status, 200);
    let r = post(
        format!("{url}/v1/messages"),
        &[
            ("x-api-key", "sk-ant-SECRET-456"),
            ("anthropic-version", "2023-06-01"),
            json,
        ],
        r#"{"model":"claude-test","max_tokens":5,"messages":[{"role":"user","content":"SECRET-BODY-TEXT"}]}"#,
    )
    .await;
    assert_eq!(r.status, 200);
    let log = served.stop();
    assert!(
        log.iter()
            .any(|l| l.contains("POST /v1/chat/completions 200")),
        "{log:?}"
    );
    assert!(
        log.iter().any(|l| l.contains("POST /v1/messages 200")),
        "{log:?}"
    );
    for secret in ["SECRET-KEY", "sk-ant-SECRET", "SECRET-BODY-TEXT"] {
        assert!(
            log.iter().all(|l| !l.contains(secret)),
            "{secret} in the log: {log:?}"
        );
    }
}

// ---- compression limits ---------------------------------------------------------------

/// Blocks every rewrite until released (bounded, so a failing test cannot hang), then
/// rewrites like [`TestRewriter`].
struct GateRewriter {
    open: std::sync::Mutex<bool>,
    opened: std::sync::Condvar,
    started: std::sync::atomic::AtomicUsize,
}

impl GateRewriter {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            open: std::sync::Mutex::new(false),
            opened: std::sync::Condvar::new(),
            started: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    fn release(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }
}

impl Rewriter for GateRewriter {
    fn rewrite(
        &self,
        _: Api,
        _: &Control,
        _: &HeaderMap,
        body: &Bytes,
    ) -> Result<Option<Rewrite>, RewriteError> {
        self.started.fetch_add(1, Ordering::SeqCst);
        let open = self.open.lock().unwrap();
        let _open = self
            .opened
            .wait_timeout_while(open, Duration::from_secs(60), |open| !*open)
            .unwrap();
        Ok(Some(Rewrite {
            body: Bytes::from(std::str::from_utf8(body).unwrap().replace("hi", "h")),
            tokens_before: 2,
            tokens_after: 1,
            blocks: vec!["messages[0].content".into()],
            presets: vec!["test".into()],
        }))
    }
}

/// A compression past `compress_timeout_ms` fails open; the slot it still holds makes
/// the next request skip compression (`max_compressions = 1`) instead of piling up CPU
/// work; once it ends, compression resumes. Fail-closed answers 503 for both.
#[tokio::test(flavor = "multi_thread")]
async fn slow_compression_times_out_and_the_slots_bound_the_work() {
    let (openai, anthropic) = (Mock::start().await, Mock::start().await);
    let gate = GateRewriter::new();
    let limits = Config {
        compress_timeout_ms: 300,
        max_compressions: 1,
        ..config(&openai, &anthropic)
    };
    let proxy = start_proxy(limits.clone(), gate.clone()).await;
    let send = |proxy: &str| post(format!("{proxy}/v1/chat/completions"), &[], BODY);
    let r = send(&proxy).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.headers["x-pith-error"],
        "compression timed out after 300 ms"
    );
    assert!(!r.headers.contains_key("x-pith-tokens-saved"));
    assert_eq!(openai.seen()[0].body, BODY);

    // The timed-out rewrite still runs and holds the only slot.
    let r = send(&proxy).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.headers["x-pith-error"],
        "compression skipped: no free compression slot within 300 ms"
    );
    assert_eq!(openai.seen()[1].body, BODY);
    assert_eq!(
        gate.started.load(Ordering::SeqCst),
        1,
        "a second rewrite ran"
    );

    let closed = start_proxy(
        Config {
            fail_closed: true,
            ..limits
        },
        gate.clone(),
    )
    .await;
    let r = send(&closed).await;
    assert_eq!(r.status, 503);
    let v = r.json();
    assert_eq!(v["error"]["type"], "server_error");
    assert_eq!(v["error"]["code"], "pith_overloaded");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("timed out after 300 ms")
    );
    assert_eq!(openai.seen().len(), 2, "fail-closed forwarded a request");

    let m = metrics_text(&proxy).await;
    assert!(
        m.contains("pith_compress_failures_total{reason=\"timeout\"} 1\n"),
        "{m}"
    );
    assert!(
        m.contains("pith_compress_failures_total{reason=\"busy\"} 1\n"),
        "{m}"
    );

    // Released, the blocked rewrites end and give their slots back.
    gate.release();
    let mut rewritten = None;
    for _ in 0..100 {
        let r = send(&proxy).await;
        if r.headers.contains_key("x-pith-tokens-saved") {
            rewritten = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let r = rewritten.expect("compression resumed after the slot came back");
    assert_eq!(r.status, 200);
    assert_eq!(openai.seen().last().unwrap().body, BODY.replace("hi", "h"));
}
