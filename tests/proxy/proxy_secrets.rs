//! Secrets and shutdown through `pith serve`: credentials never reach the log, /metrics or
//! pith's own errors; refusals before the body is read close cleanly; the bodies held at
//! once are bounded; SIGTERM does not wait for abandoned compressions.
#![allow(clippy::unwrap_used)]

use crate::{mock, support};

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use mock::Mock;
use pith::proxy::config::Config;
use pith::proxy::server::Identity;
use serde_json::Value;
use support::{BODY, Served, client, config, pith_serve_with, post, post_on, start_proxy};
use tokio::net::TcpListener;

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
    for c in cases {
        let (label, path, body) = (c.label, c.path, c.body);
        let method = if body.is_empty() { "GET" } else { "POST" };
        let mut r = http
            .request(
                method.parse().unwrap(),
                format!("{}{path}?api_key=SECRET-QUERY-KEY&limit=1", c.server.url),
            )
            .header("authorization", "Bearer sk-SECRET-AUTH-KEY")
            .header("x-api-key", "sk-ant-SECRET-API-KEY")
            .header("anthropic-version", "2023-06-01")
            .header("content-type", "application/json");
        if !c.key.is_empty() {
            r = r.header("x-pith-key", c.key);
        }
        if let Some((k, v)) = c.extra {
            r = r.header(k, v);
        }
        if !body.is_empty() {
            r = r.body(body);
        }
        let r = r.send().await.unwrap_or_else(|e| panic!("{label}: {e:?}"));
        assert_eq!(r.status().as_u16(), c.status, "{label}");
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

/// The request bodies held at once are bounded (`max_inflight_bytes`): a request that
/// would go past it gets a retryable 503 in the provider's shape, others within it pass,
/// and the bytes are given back when a request ends.
#[tokio::test(flavor = "multi_thread")]
async fn request_bodies_in_flight_are_bounded() {
    let (openai, anthropic) = (Mock::start().await, Mock::start().await);
    let proxy = start_proxy(
        Config {
            max_body: 100_000,
            max_inflight_bytes: 150_000,
            ..config(&openai, &anthropic)
        },
        Arc::new(Identity),
    )
    .await;
    let c = client();
    // A: 99,000 bytes sent, the rest held back, so pith holds them.
    let start_a = || {
        let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(4);
        let held = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|b| (Ok::<_, std::io::Error>(b), rx))
        });
        let head = format!(
            "{{\"model\": \"m\", \"messages\": [{{\"role\": \"user\", \"content\": \"{}",
            "y".repeat(99_000)
        );
        tx.try_send(Bytes::from(head)).unwrap();
        let a = tokio::spawn(
            c.post(format!("{proxy}/v1/chat/completions"))
                .body(reqwest::Body::wrap_stream(held))
                .send(),
        );
        (tx, a)
    };
    let send = |path: &'static str, size: usize| {
        let body = format!(
            "{{\"model\": \"m\", \"max_tokens\": 1, \"messages\": [{{\"role\": \"user\", \"content\": \"{}\"}}]}}",
            "z".repeat(size)
        );
        post_on(&c, format!("{proxy}{path}"), &[], body)
    };
    // B: 60,000 more bytes would pass 150,000 once pith has read A's. A probe that is
    // still held when A's bytes arrive gets A refused instead (the same rule, the other
    // way round): then A is ended and started again.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let (tx, a, refused) = 'outer: loop {
        let (tx, a) = start_a();
        let attempt = std::time::Instant::now() + Duration::from_secs(2);
        while std::time::Instant::now() < attempt {
            let r = send("/v1/chat/completions", 60_000).await;
            if r.status == 503 {
                break 'outer (tx, a, r);
            }
            assert_eq!(r.status, 200);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(std::time::Instant::now() < deadline, "never refused");
        drop(tx);
        a.abort();
    };
    assert!(refused.headers.contains_key("x-pith-error"));
    let v = refused.json();
    assert_eq!(v["error"]["code"], "pith_overloaded", "{v}");
    let r = send("/v1/messages", 60_000).await;
    assert_eq!(r.status, 503);
    let v = r.json();
    assert_eq!(v["error"]["type"], "overloaded_error", "{v}");
    // Within what is left: forwarded.
    assert_eq!(send("/v1/chat/completions", 30_000).await.status, 200);
    // A finishes; its bytes are given back and B now passes.
    tx.send(Bytes::from("\"}]}")).await.unwrap();
    drop(tx);
    let a = a.await.unwrap().unwrap();
    assert_eq!(a.status(), 200);
    let _ = a.bytes().await.unwrap();
    assert_eq!(send("/v1/chat/completions", 60_000).await.status, 200);
    let sizes: Vec<usize> = openai.seen().iter().map(|s| s.body.len()).collect();
    assert!(
        sizes.iter().any(|&n| n > 99_000),
        "A forwarded whole: {sizes:?}"
    );
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
    let r = post(format!("{}/v1/chat/completions", served.url), &[], body).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.headers["x-pith-error"],
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
