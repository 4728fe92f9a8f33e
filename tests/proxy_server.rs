//! `pith serve` against a real mock upstream on 127.0.0.1:0: bytes, headers, streaming,
//! cancellation, limits and auth through real sockets, and the official Python SDKs
//! (tests/sdk/*.py) run straight at the mock and through pith, which must look the same.
#![allow(clippy::unwrap_used)]

#[path = "sdk/mock.rs"]
mod mock;

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
use tokio::net::TcpListener;
use tower::ServiceExt;

// ---- the proxy under test -----------------------------------------------------------

fn config(openai: &Mock, anthropic: &Mock) -> Config {
    Config {
        openai_upstream: openai.url(),
        anthropic_upstream: anthropic.url(),
        ..Config::default()
    }
}

/// Serves the proxy on 127.0.0.1:0 in this process and returns its base URL.
async fn start_proxy(config: Config, rewriter: Arc<dyn Rewriter>) -> String {
    let state = AppState::new(config, rewriter).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, server::app(state)).await.unwrap() });
    format!("http://{addr}")
}

fn client() -> reqwest::Client {
    // reqwest is built without a crypto provider; the proxy installs one, a test that
    // only runs the binary has not.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().no_proxy().build().unwrap()
}

const BODY: &str =
    "{\"model\": \"gpt-test\",\n  \"messages\":[{\"role\":\"user\",\"content\":\"hi\"}] }";

#[tokio::test(flavor = "multi_thread")]
async fn unchanged_request_is_forwarded_byte_for_byte_and_the_answer_relayed() {
    let (openai, anthropic) = (Mock::start().await, Mock::start().await);
    let proxy = start_proxy(config(&openai, &anthropic), Arc::new(Identity)).await;
    let response = client()
        .post(format!("{proxy}/v1/chat/completions?api-version=2"))
        .header("authorization", "Bearer sk-test")
        .header("openai-organization", "org-1")
        .header("x-stainless-lang", "python")
        .header("x-custom", "a")
        .header("accept-encoding", "gzip, br")
        .header("connection", "keep-alive, x-hop")
        .header("x-hop", "1")
        .header("keep-alive", "timeout=5")
        .header("x-pith-budget", "100")
        .header("content-type", "application/json")
        .body(BODY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-upstream"], "mock");
    assert_eq!(response.headers()["x-request-id"], "req_1");
    assert!(response.headers().contains_key("x-pith-compress-ms"));
    assert!(!response.headers().contains_key("x-pith-tokens-saved"));
    let got = response.bytes().await.unwrap();
    let req: Value = serde_json::from_str(BODY).unwrap();
    assert_eq!(got, json_answer("/v1/chat/completions", &req).to_string());

    let seen = openai.seen();
    assert_eq!(seen.len(), 1);
    assert!(anthropic.seen().is_empty());
    let s = &seen[0];
    assert_eq!(
        (s.method.as_str(), s.uri.as_str()),
        ("POST", "/v1/chat/completions?api-version=2")
    );
    assert_eq!(s.body, BODY.as_bytes());
    for (k, v) in [
        ("authorization", "Bearer sk-test"),
        ("openai-organization", "org-1"),
        ("x-stainless-lang", "python"),
        ("x-custom", "a"),
        ("accept-encoding", "gzip, br"),
        ("content-type", "application/json"),
    ] {
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
        let response = client()
            .post(format!("{proxy}{path}"))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status);
        assert_eq!(response.headers()["retry-after"], "7");
        let got = response.bytes().await.unwrap();
        assert_eq!(got, error_answer(path, status).to_string());
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
    let r = client()
        .post(format!("{proxy}/v1/messages"))
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let v: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(
        (v["type"].as_str(), v["error"]["type"].as_str()),
        (Some("error"), Some("request_too_large"))
    );
    // Chunked, without Content-Length: the limit holds while reading.
    let stream = futures_util::stream::iter(
        (0..4).map(|_| Ok::<_, std::io::Error>(Bytes::from("y".repeat(400)))),
    );
    let r = client()
        .post(format!("{proxy}/v1/chat/completions"))
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let v: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(v["error"]["code"], "request_too_large");
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
    for key in [None, Some("wrong")] {
        let mut r = client().post(format!("{proxy}/v1/messages")).body("{}");
        if let Some(k) = key {
            r = r.header("x-pith-key", k);
        }
        let r = r.send().await.unwrap();
        assert_eq!(r.status(), 401);
        let v: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
        assert_eq!(v["error"]["type"], "authentication_error");
    }
    let r = client()
        .post(format!("{proxy}/v1/chat/completions"))
        .body(BODY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let v: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(v["error"]["code"], "invalid_api_key");
    let r = client()
        .post(format!("{proxy}/v1/chat/completions"))
        .header("x-pith-key", "s3cret")
        .body(BODY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
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
    let r = client()
        .post(format!("{proxy}/v1/messages"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    assert!(r.headers().contains_key("x-pith-error"));
    let v: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(v["error"]["type"], "api_error");
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
    let r = client()
        .post(format!("{open}/v1/chat/completions"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["x-pith-error"],
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
    let r = client()
        .post(format!("{closed}/v1/messages"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    let text = r.text().await.unwrap();
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
    let r = client()
        .post(format!("{proxy}/v1/chat/completions"))
        .header("x-pith-budget", "50")
        .header("x-pith-preset", "chat")
        .body(BODY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let h = r.headers();
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
    client()
        .post(format!("{proxy}/v1/messages"))
        .header("x-pith-bypass", "1")
        .body(BODY)
        .send()
        .await
        .unwrap();
    assert_eq!(anthropic.seen()[0].body, BODY);
    assert_eq!(rewriter.calls.lock().unwrap().len(), 1);

    // A malformed control header is the client's mistake.
    let r = client()
        .post(format!("{proxy}/v1/messages"))
        .header("x-pith-ratio", "0.5")
        .body(BODY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(v["error"]["type"], "invalid_request_error");
}

#[tokio::test(flavor = "multi_thread")]
async fn failures_fail_open_unless_fail_closed() {
    let (openai, anthropic) = (Mock::start().await, Mock::start().await);
    let open = start_proxy(config(&openai, &anthropic), test_rewriter(true)).await;
    let r = client()
        .post(format!("{open}/v1/responses"))
        .body(BODY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-pith-error"], "compression failed: boom");
    assert_eq!(openai.seen()[0].body, BODY);

    let closed = start_proxy(
        Config {
            fail_closed: true,
            ..config(&openai, &anthropic)
        },
        test_rewriter(true),
    )
    .await;
    let r = client()
        .post(format!("{closed}/v1/messages/count_tokens"))
        .body(BODY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    let v: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
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

// ---- the official SDKs through the `pith serve` binary ----------------------------------

/// `pith serve` as a child process, killed when dropped.
struct Served {
    child: std::process::Child,
    url: String,
    log: Option<std::thread::JoinHandle<Vec<String>>>,
}

impl Served {
    /// Stops the server and returns what it logged.
    fn stop(mut self) -> Vec<String> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.log
            .take()
            .map(|h| h.join().unwrap())
            .unwrap_or_default()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pith_serve(openai: &Mock, anthropic: &Mock) -> Served {
    let (openai, anthropic) = (openai.url(), anthropic.url());
    pith_serve_with(
        &[
            "--openai-upstream",
            &openai,
            "--anthropic-upstream",
            &anthropic,
        ],
        &[],
    )
}

/// `pith serve --listen 127.0.0.1:0` with more arguments and environment variables.
fn pith_serve_with(args: &[&str], envs: &[(&str, &std::ffi::OsStr)]) -> Served {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pith"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .envs(envs.iter().copied())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .to_owned();
    // Keep draining the log so the child never blocks on a full pipe; the lines after
    // the first are what the thread returns once the child is gone.
    let log = std::thread::spawn(move || lines.map_while(Result::ok).collect());
    Served {
        child,
        url,
        log: Some(log),
    }
}

/// Runs an SDK script against `base`; returns its standard output.
async fn run_sdk(script: &str, base: String) -> String {
    let path = format!("{}/tests/sdk/{script}", env!("CARGO_MANIFEST_DIR"));
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
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
    let essay =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/eval/niah/founders.txt");
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
                std::process::Command::new("python3")
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
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let body = r#"{"model":"gpt-test","messages":[{"role":"user","content":"SECRET-BODY-TEXT"}]}"#;
    let r = client
        .post(format!("{url}/v1/chat/completions"))
        .header("authorization", "Bearer sk-SECRET-KEY-123")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = client
        .post(format!("{url}/v1/messages"))
        .header("x-api-key", "sk-ant-SECRET-456")
        .header("anthropic-version", "2023-06-01")
        .header("content-type", "application/json")
        .body(r#"{"model":"claude-test","max_tokens":5,"messages":[{"role":"user","content":"SECRET-BODY-TEXT"}]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
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
        }))
    }
}

async fn metrics_text(proxy: &str) -> String {
    client()
        .get(format!("{proxy}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
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
    let send = |proxy: String| async move {
        client()
            .post(format!("{proxy}/v1/chat/completions"))
            .body(BODY)
            .send()
            .await
            .unwrap()
    };
    let r = send(proxy.clone()).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["x-pith-error"],
        "compression timed out after 300 ms"
    );
    assert!(!r.headers().contains_key("x-pith-tokens-saved"));
    assert_eq!(openai.seen()[0].body, BODY);

    // The timed-out rewrite still runs and holds the only slot.
    let r = send(proxy.clone()).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["x-pith-error"],
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
    let r = send(closed.clone()).await;
    assert_eq!(r.status(), 503);
    let v: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
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
        let r = send(proxy.clone()).await;
        if r.headers().contains_key("x-pith-tokens-saved") {
            rewritten = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let r = rewritten.expect("compression resumed after the slot came back");
    assert_eq!(r.status(), 200);
    assert_eq!(openai.seen().last().unwrap().body, BODY.replace("hi", "h"));
}

// ---- secrets ----------------------------------------------------------------------------

/// Accepts connections and never answers (reads until the peer leaves).
async fn silent_upstream() -> String {
    use tokio::io::AsyncReadExt;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut sink = [0u8; 1024];
                while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
            });
        }
    });
    url
}

/// Credentials in every place a client puts them — `Authorization`, `x-api-key`, the
/// proxy's own `x-pith-key`, the query string, the body — never show up in pith's log, in
/// /metrics, or in an error pith writes itself, on success and on every failure path:
/// wrong proxy key, 413, unreachable upstream, compression failure (fail-closed), bad
/// control header and unreadable body (fail-closed), upstream timeout, compression
/// timeout. Every secret below contains `SECRET`, and nothing else does.
#[tokio::test(flavor = "multi_thread")]
async fn secrets_never_leak_into_logs_metrics_or_errors() {
    let mock = Mock::start().await;
    let dead = {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let silent = silent_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let no_models = dir.path().join("no-models");
    std::fs::create_dir(&no_models).unwrap();
    let write = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    // A: fail-closed, small body limit, a proxy key, the Anthropic upstream dead, and no
    // models installed (a neural preset fails to build: a compression failure).
    let a_config = write(
        "a.toml",
        format!(
            "openai_upstream = \"{}\"\nanthropic_upstream = \"{dead}\"\nfail_closed = true\nmax_body = 60000\nproxy_key = \"pk-SECRET-PROXY-KEY\"\n",
            mock.url()
        ),
    );
    // B: the OpenAI upstream never answers (1 s timeout), compression gets 1 ms.
    let b_config = write(
        "b.toml",
        format!(
            "openai_upstream = \"{silent}\"\nanthropic_upstream = \"{}\"\ntimeout_secs = 1\ncompress_timeout_ms = 1\n",
            mock.url()
        ),
    );
    let serve = |config: &std::path::Path| {
        pith_serve_with(
            &["--config", config.to_str().unwrap()],
            &[("PITH_MODELS_DIR", no_models.as_os_str())],
        )
    };
    let (a, b) = (serve(&a_config), serve(&b_config));
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();

    let essay = (0..400)
        .map(|i| {
            format!(
                "Line {i} of the log says the job SECRET-BODY-{i} finished after {} s. ",
                i * 37 % 101
            )
        })
        .collect::<String>();
    let chat = |tool: &str| {
        serde_json::json!({"model": "gpt-test", "messages": [
            {"role": "user", "content": "which job took longest? SECRET-BODY-Q"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "logs", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": tool},
            {"role": "user", "content": "and the shortest?"}
        ]})
        .to_string()
    };
    let messages = |tool: &str| {
        serde_json::json!({"model": "claude-test", "max_tokens": 5, "messages": [
            {"role": "user", "content": "which job took longest? SECRET-BODY-Q"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "logs", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": tool}]}
        ]})
        .to_string()
    };
    let small = chat("short SECRET-BODY-S");

    /// One request: where it goes, with which proxy key and extra header, what it carries.
    struct Case<'a> {
        label: &'static str,
        server: &'a Served,
        path: &'static str,
        key: &'static str,
        extra: Option<(&'static str, &'static str)>,
        body: String,
        status: u16,
    }
    let case = |label, server, path, key, extra, body, status| Case {
        label,
        server,
        path,
        key,
        extra,
        body,
        status,
    };
    let good_key = "pk-SECRET-PROXY-KEY";
    let (chat_path, messages_path) = ("/v1/chat/completions", "/v1/messages");
    let cases = [
        case("success", &a, chat_path, good_key, None, small.clone(), 200),
        case(
            "passthrough",
            &b,
            "/v1/models",
            "",
            None,
            String::new(),
            200,
        ),
        case(
            "wrong proxy key",
            &a,
            chat_path,
            "pk-WRONG-SECRET-KEY",
            None,
            small.clone(),
            401,
        ),
        case(
            "too large",
            &a,
            chat_path,
            good_key,
            None,
            chat(&essay.repeat(4)),
            413,
        ),
        case(
            "unreachable upstream",
            &a,
            messages_path,
            good_key,
            None,
            messages("short SECRET-BODY-M"),
            502,
        ),
        case(
            "compression failure",
            &a,
            chat_path,
            good_key,
            Some(("x-pith-preset", "rag-neural")),
            chat(&essay),
            500,
        ),
        case(
            "bad control header",
            &a,
            chat_path,
            good_key,
            Some(("x-pith-ratio", "zero")),
            small.clone(),
            400,
        ),
        case(
            "unreadable body",
            &a,
            chat_path,
            good_key,
            None,
            format!("{{\"SECRET-BODY-BAD\": {small}"),
            400,
        ),
        case(
            "upstream timeout",
            &b,
            chat_path,
            "",
            None,
            small.clone(),
            504,
        ),
        case(
            "compression timeout",
            &b,
            messages_path,
            "",
            None,
            messages(&essay.repeat(8)),
            200,
        ),
    ];
    for Case {
        label,
        server,
        path,
        key,
        extra,
        body,
        status,
    } in cases
    {
        let method = if body.is_empty() { "GET" } else { "POST" };
        let mut r = http
            .request(
                method.parse().unwrap(),
                format!("{}{path}?api_key=SECRET-QUERY-KEY&limit=1", server.url),
            )
            .header("authorization", "Bearer sk-SECRET-AUTH-KEY")
            .header("x-api-key", "sk-ant-SECRET-API-KEY")
            .header("anthropic-version", "2023-06-01")
            .header("content-type", "application/json");
        if !key.is_empty() {
            r = r.header("x-pith-key", key);
        }
        if let Some((k, v)) = extra {
            r = r.header(k, v);
        }
        if !body.is_empty() {
            r = r.body(body);
        }
        let r = r.send().await.unwrap_or_else(|e| panic!("{label}: {e:?}"));
        assert_eq!(r.status().as_u16(), status, "{label}");
        let from_pith = !r.headers().contains_key("x-upstream");
        let pith_error = r
            .headers()
            .get("x-pith-error")
            .map(|v| v.to_str().unwrap().to_owned());
        if label == "compression timeout" {
            assert_eq!(
                pith_error.as_deref(),
                Some("compression timed out after 1 ms")
            );
        }
        if label == "compression failure" {
            assert!(
                pith_error.as_deref().unwrap().contains("models install"),
                "{pith_error:?}"
            );
        }
        let text = r.text().await.unwrap();
        assert!(
            !pith_error.unwrap_or_default().contains("SECRET"),
            "{label}: x-pith-error"
        );
        if from_pith {
            assert!(!text.contains("SECRET"), "{label}: {text}");
        }
    }
    for server in [&a, &b] {
        let mut m = http.get(format!("{}/metrics", server.url));
        if std::ptr::eq(server, &a) {
            m = m.header("x-pith-key", good_key);
        }
        let text = m.send().await.unwrap().text().await.unwrap();
        assert!(text.contains("pith_requests_total"), "{text}");
        assert!(!text.contains("SECRET"), "{text}");
    }
    let log: Vec<String> = a.stop().into_iter().chain(b.stop()).collect();
    for status in ["200", "401", "413", "502", "500", "400", "504"] {
        assert!(
            log.iter().any(|l| l.contains(&format!(" {status} "))),
            "no {status} in {log:?}"
        );
    }
    let leaks: Vec<&String> = log.iter().filter(|l| l.contains("SECRET")).collect();
    assert!(leaks.is_empty(), "secrets in the log: {leaks:?}");
}

/// Answers given without reading the whole body (413, 401, 400 on a header) close the
/// connection and say so, after reading what the client is still sending: the client gets
/// the answer rather than a reset, and its next request goes on a fresh connection rather
/// than failing on this one.
#[tokio::test(flavor = "multi_thread")]
async fn refusals_before_the_body_is_read_close_the_connection_cleanly() {
    let (openai, anthropic) = (Mock::start().await, Mock::start().await);
    let proxy = start_proxy(
        Config {
            max_body: 100_000,
            proxy_key: Some("k".into()),
            ..config(&openai, &anthropic)
        },
        Arc::new(Identity),
    )
    .await;
    // One pooled client for everything, as an SDK has.
    let c = client();
    let big = "x".repeat(3_000_000);
    for round in 0..5 {
        // (x-pith-key, bad x-pith-ratio, chunked body, status)
        let refusals = [
            ("k", false, false, 413),
            ("wrong", false, false, 401),
            ("k", true, false, 400),
            ("k", false, true, 413),
        ];
        for (key, bad_ratio, chunked, status) in refusals {
            let mut r = c
                .post(format!("{proxy}/v1/chat/completions"))
                .header("x-pith-key", key);
            if bad_ratio {
                r = r.header("x-pith-ratio", "0");
            }
            let r = if chunked {
                // No Content-Length: the limit is found while reading.
                let chunks =
                    (0..30).map(|_| Ok::<_, std::io::Error>(Bytes::from("y".repeat(100_000))));
                r.body(reqwest::Body::wrap_stream(futures_util::stream::iter(
                    chunks,
                )))
            } else {
                r.body(big.clone())
            };
            let r = r
                .send()
                .await
                .unwrap_or_else(|e| panic!("round {round}, {status}: {e:?}"));
            assert_eq!(r.status().as_u16(), status);
            assert_eq!(r.headers()["connection"], "close", "{status}");
            let v: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
            assert!(v["error"]["message"].is_string());
            // The next request on the same client goes through.
            let ok = c
                .post(format!("{proxy}/v1/chat/completions"))
                .header("x-pith-key", "k")
                .body(BODY)
                .send()
                .await
                .unwrap_or_else(|e| panic!("round {round}, after {status}: {e:?}"));
            assert_eq!(ok.status(), 200);
            assert!(!ok.headers().contains_key("connection"));
        }
    }
    assert_eq!(openai.seen().len(), 20);
}

/// SIGTERM stops `pith serve` promptly even while a compression that outlived its
/// request is still running (it cannot be interrupted; the exit does not wait for it).
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_does_not_wait_for_abandoned_compressions() {
    let (openai, anthropic) = (Mock::start().await, Mock::start().await);
    let (o, a) = (openai.url(), anthropic.url());
    let mut served = pith_serve_with(
        &[
            "--openai-upstream",
            &o,
            "--anthropic-upstream",
            &a,
            "--compress-timeout-ms",
            "200",
        ],
        &[],
    );
    // Several MB of compressible tool output: far more than 200 ms of work.
    let text: String = (0..60_000)
        .map(|i| {
            format!(
                "Record {i}: site {} measured {} mm of rain on day {i}. ",
                i * 7 % 31,
                i * 13 % 97
            )
        })
        .collect();
    let body = serde_json::json!({"model": "m", "messages": [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "c", "type": "function", "function": {"name": "s", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c", "content": text},
        {"role": "user", "content": "x"}
    ]})
    .to_string();
    let r = client()
        .post(format!("{}/v1/chat/completions", served.url))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["x-pith-error"],
        "compression timed out after 200 ms"
    );
    let pid = served.child.id().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    // Generous: the abandoned compression alone takes minutes in a debug build.
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = served.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "pith serve still running 30 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "{status:?}");
}
