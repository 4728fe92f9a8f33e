//! Latency that `pith serve` adds on loopback: the same requests straight to a mock
//! upstream and through pith (with its real compression engine), interleaved so both see
//! the same machine noise. Non-streaming: full round trip; streaming: time to the first
//! byte of the body. Two clients: reqwest in this process, and `benches/sdk_client.py`,
//! which sends like the official Python SDKs do (httpx, keep-alive, headers and body in
//! separate writes). Prints markdown tables for BENCHMARKS.md.
//!
//!     cargo bench --bench proxy_latency

#[allow(dead_code, clippy::unwrap_used)]
#[path = "../tests/proxy/mock.rs"]
mod mock;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::response::Response;
use axum::serve::ListenerExt;
use futures_util::StreamExt;
use pith::proxy::config::Config;
use serde_json::{Value, json};
use tokio::net::TcpListener;

const ROUNDS: usize = 300;

/// Rounds of the Python client (each: one request direct, one through pith).
const SDK_ROUNDS: usize = 300;

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1e3
}

/// Time of one request: the whole response, or only up to its first body chunk.
async fn once(client: &reqwest::Client, url: &str, body: &[u8], first_byte: bool) -> Duration {
    let start = Instant::now();
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header("authorization", "Bearer test")
        .body(body.to_vec())
        .send()
        .await
        .expect("request");
    let mut stream = response.bytes_stream();
    let first = stream.next().await;
    assert!(first.is_some_and(|c| c.is_ok()), "no body");
    let at_first = start.elapsed();
    while stream.next().await.is_some() {}
    if first_byte {
        at_first
    } else {
        start.elapsed()
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let upstream = mock::Mock::start().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let proxy = format!("http://{}", listener.local_addr().expect("addr"));
    let config = Config {
        openai_upstream: upstream.url(),
        anthropic_upstream: upstream.url(),
        ..Config::default()
    };
    let engine = Arc::new(config.engine());
    tokio::spawn(pith::proxy::server::serve_on(listener, config, engine));
    tokio::time::sleep(Duration::from_millis(200)).await;

    let essay = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/eval/niah/founders.txt"
    ))
    .expect("../shared/eval beside the repository");
    let chat = |stream: bool, tool: &str| {
        serde_json::to_vec(&json!({
            "model": "gpt-test", "stream": stream,
            "messages": [
                {"role": "user", "content": "What does it say about determination?"},
                {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "fetch", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": tool},
                {"role": "user", "content": "Summarise."}
            ]
        }))
        .expect("json")
    };
    // (label, stream, tool text, a new text every request so the memo never hits)
    let cases = [
        (
            "non-streaming, small body (nothing to compress)",
            false,
            "sunny",
            false,
        ),
        (
            "non-streaming, 4.5 KB tool result, resent (memo hit)",
            false,
            essay.as_str(),
            false,
        ),
        (
            "non-streaming, 4.5 KB tool result, new each time",
            false,
            essay.as_str(),
            true,
        ),
        (
            "streaming, small body: time to first byte",
            true,
            "sunny",
            false,
        ),
        (
            "streaming, 4.5 KB tool result, resent: time to first byte",
            true,
            essay.as_str(),
            false,
        ),
    ];
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(4)
        .build()
        .expect("client");
    println!("| request | direct p50 | direct p99 | via pith p50 | via pith p99 | added p50 |");
    println!("|---|---|---|---|---|---|");
    for (label, first_byte, tool, fresh) in cases {
        let body_for = |i: usize| {
            if fresh {
                chat(first_byte, &format!("{tool}\n\nRequest {i}."))
            } else {
                chat(first_byte, tool)
            }
        };
        let body = &body_for(0);
        let direct_url = format!("{}/v1/chat/completions", upstream.url());
        let proxy_url = format!("{proxy}/v1/chat/completions");
        // Warm connections and the memo.
        for _ in 0..10 {
            once(&client, &direct_url, body, first_byte).await;
            once(&client, &proxy_url, body, first_byte).await;
        }
        let (mut direct, mut via) = (Vec::with_capacity(ROUNDS), Vec::with_capacity(ROUNDS));
        for i in 1..=ROUNDS {
            let body = body_for(i);
            direct.push(once(&client, &direct_url, &body, first_byte).await);
            via.push(once(&client, &proxy_url, &body, first_byte).await);
        }
        direct.sort();
        via.sort();
        let (d50, d99, v50, v99) = (
            percentile(&direct, 0.5),
            percentile(&direct, 0.99),
            percentile(&via, 0.5),
            percentile(&via, 0.99),
        );
        println!(
            "| {label} | {d50:.2} ms | {d99:.2} ms | {v50:.2} ms | {v99:.2} ms | {:.2} ms |",
            v50 - d50
        );
    }
    sdk_client(&upstream.url(), &proxy).await;
}

/// An upstream that writes to its socket the way API servers do: the head first, then the
/// body (each SSE event) a moment later in writes of their own, with TCP_NODELAY so each
/// one leaves at once. The answers are the mock's; the moment is 1 ms (a real API takes
/// longer to its first token; without a pause the in-process pith reads head and body in
/// one go).
async fn split_upstream() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let listener = listener.tap_io(|tcp| tcp.set_nodelay(true).expect("TCP_NODELAY"));
    let app = axum::Router::new().fallback(split_answer);
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    url
}

async fn split_answer(request: Request) -> Response {
    let path = request.uri().path().to_owned();
    let body = axum::body::to_bytes(request.into_body(), usize::MAX)
        .await
        .expect("body");
    let req: Value = serde_json::from_slice(&body).expect("json");
    let answer = Response::builder();
    let (answer, parts) = if req["stream"] == true {
        (
            answer.header("content-type", "text/event-stream"),
            mock::sse_chunks(&path),
        )
    } else {
        let json = mock::json_answer(&path, &req).to_string();
        (
            answer
                .header("content-type", "application/json")
                .header("content-length", json.len()),
            vec![json],
        )
    };
    let parts = futures_util::stream::iter(parts).then(|part| async move {
        tokio::time::sleep(Duration::from_millis(1)).await;
        Ok::<_, std::io::Error>(Bytes::from(part))
    });
    answer.body(Body::from_stream(parts)).expect("response")
}

/// The second table: `benches/sdk_client.py` times a ~2,000-token chat request (nothing
/// in it to compress: the text is the final user turn) direct and through pith, against
/// the mock (which writes its head and body at once) and against [`split_upstream`].
async fn sdk_client(mock: &str, mock_proxy: &str) {
    let split = split_upstream().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let split_proxy = format!("http://{}", listener.local_addr().expect("addr"));
    let config = Config {
        openai_upstream: split.clone(),
        anthropic_upstream: split.clone(),
        ..Config::default()
    };
    let engine = Arc::new(config.engine());
    tokio::spawn(pith::proxy::server::serve_on(listener, config, engine));

    let essay = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/eval/niah/aord.txt"
    ))
    .expect("../shared/eval beside the repository");
    let chat = json!({
        "model": "gpt-test",
        "messages": [
            {"role": "system", "content": "You are a careful reader."},
            {"role": "user", "content": format!("{essay}\n\nWhat is the essay's main point?")}
        ]
    });
    let mut body = tempfile::NamedTempFile::new().expect("temp file");
    serde_json::to_writer(&mut body, &chat).expect("write body");
    println!();
    println!(
        "| httpx (as the SDKs send), 2,000-token chat | direct p50 | p90 | p99 | max | via pith p50 | p90 | p99 | max | added p50 | added p99 |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for (upstream, proxy, which) in [
        (mock, mock_proxy, "mock: head and body in one write"),
        (&split, &split_proxy, "upstream: head, then body"),
    ] {
        let args = [
            concat!(env!("CARGO_MANIFEST_DIR"), "/benches/sdk_client.py").to_owned(),
            format!("{upstream}/v1/chat/completions"),
            format!("{proxy}/v1/chat/completions"),
            body.path().display().to_string(),
            SDK_ROUNDS.to_string(),
        ];
        // Blocking: the runtime keeps serving the upstreams and pith meanwhile.
        let output = tokio::task::spawn_blocking(move || {
            std::process::Command::new("python3").args(&args).output()
        })
        .await
        .expect("join")
        .expect("python3 runs");
        assert!(
            output.status.success(),
            "benches/sdk_client.py failed (scripts/setup installs httpx): {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let times: Value = serde_json::from_slice(&output.stdout).expect("json");
        let sorted = |case: &str, side: &str| -> Vec<Duration> {
            let mut v: Vec<Duration> = times[case][side]
                .as_array()
                .expect("times")
                .iter()
                .map(|ms| Duration::from_secs_f64(ms.as_f64().expect("ms") / 1e3))
                .collect();
            v.sort();
            v
        };
        for (label, case) in [
            ("non-streaming", "non-streaming"),
            ("streaming: time to first byte", "streaming"),
        ] {
            let (direct, via) = (sorted(case, "direct"), sorted(case, "pith"));
            let row = |v: &[Duration]| {
                [0.5, 0.9, 0.99, 1.0]
                    .map(|p| percentile(v, p))
                    .map(|ms| format!("{ms:.2} ms"))
                    .join(" | ")
            };
            println!(
                "| {which}, {label} | {} | {} | {:.2} ms | {:.2} ms |",
                row(&direct),
                row(&via),
                percentile(&via, 0.5) - percentile(&direct, 0.5),
                percentile(&via, 0.99) - percentile(&direct, 0.99),
            );
        }
    }
}
